//! The drivers' JSON API: register at an enterprise by its code, see and cancel the
//! pass. Nothing is stored without consent; a retry never creates a second record.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{NaiveDateTime, TimeDelta, Utc};
use data_encoding::BASE32_NOPAD;
use diesel::Connection;
use rand::RngCore;
use serde::Deserialize;

use crate::audit::{self, Actor, Event};
use crate::body;
use crate::client::client_ip;
use crate::codes::public::{OpenCode, PAUSED, open_current};
use crate::codes::{self, EnterpriseCode};
use crate::db::{DbConnection, new_id, now};
use crate::domain::person::{DocumentNumber, DocumentType, Mobile, PersonName};
use crate::domain::region::RegionCode;
use crate::domain::text::bounded;
use crate::domain::vehicle::Plate;
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::registrations::profiles::{self, Profile};
use crate::registrations::{CONSENT_VERSION, Registration, VALID_AFTER, VALID_BEFORE, status};
use crate::state::AppState;

/// Largest public request body.
pub const PUBLIC_BODY_LIMIT: usize = 16 * 1024;

const VEHICLE_TYPES: [&str; 7] = [
    "heavy_truck",
    "medium_truck",
    "light_truck",
    "hazmat",
    "van",
    "reefer",
    "other",
];
const PURPOSES: [&str; 3] = ["deliver", "pick_up", "other"];

/// Extra answers, by template.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answers {
    #[serde(default)]
    zone: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    enterprise: serde_json::Map<String, serde_json::Value>,
}

/// The driver's form.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationBody {
    consent: bool,
    driver_name: String,
    document_type: String,
    document_number: String,
    phone: String,
    plate: String,
    trailer_plate: Option<String>,
    vehicle_type: String,
    origin_region: String,
    cargo: String,
    purpose: String,
    expected_arrival: String,
    people_in_cab: i64,
    #[serde(default)]
    answers: Answers,
}

/// The validated form, before sealing.
struct Driver {
    name: PersonName,
    document: DocumentNumber,
    phone: Mobile,
    plate: Plate,
    trailer: Option<Plate>,
    vehicle_type: String,
    origin: RegionCode,
    cargo: String,
    purpose: String,
    arrival: NaiveDateTime,
    people: i32,
}

fn one_of(field: &str, value: &str, allowed: &[&str], message: &str) -> Result<String, FieldError> {
    if allowed.contains(&value) {
        Ok(value.to_owned())
    } else {
        Err(FieldError::new(field, "invalid_value", message))
    }
}

/// Local zone time (UTC+8) `YYYY-MM-DDTHH:MM`, from a day ago to 30 days ahead, as UTC.
fn parse_arrival(raw: &str) -> Result<NaiveDateTime, FieldError> {
    let local = NaiveDateTime::parse_from_str(raw.trim(), "%Y-%m-%dT%H:%M").map_err(|_| {
        FieldError::new(
            "expected_arrival",
            "invalid_date_time",
            "请填写预计到达日期和时间",
        )
    })?;
    let arrival = local - TimeDelta::hours(8);
    let current = Utc::now().naive_utc();
    if arrival < current - TimeDelta::days(1) || arrival > current + TimeDelta::days(30) {
        return Err(FieldError::new(
            "expected_arrival",
            "out_of_range",
            "预计到达时间应在今天起 30 天内",
        ));
    }
    Ok(arrival)
}

fn parse_driver(body: &RegistrationBody, errors: &mut FieldErrors) -> Option<Driver> {
    if !body.consent {
        errors.push(FieldError::new(
            "consent",
            "consent_required",
            "请阅读并同意个人信息处理规则后再提交",
        ));
    }
    let today = (Utc::now() + TimeDelta::hours(8)).date_naive();
    let name = errors.check(PersonName::parse(&body.driver_name));
    let document = match DocumentType::parse(&body.document_type) {
        Some(kind) => errors.check(DocumentNumber::parse(kind, &body.document_number, today)),
        None => {
            errors.push(FieldError::new(
                "document_type",
                "invalid_value",
                "请选择证件类型",
            ));
            None
        }
    };
    let phone = errors.check(Mobile::parse(&body.phone));
    let plate = errors.check(Plate::parse(&body.plate, "plate"));
    let trailer = match body
        .trailer_plate
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        None => Some(None),
        Some(raw) => errors
            .check(Plate::parse(raw, "trailer_plate").and_then(|plate| {
                if plate.is_trailer() {
                    Ok(plate)
                } else {
                    Err(FieldError::new(
                        "trailer_plate",
                        "invalid_plate",
                        "挂车号牌应以“挂”结尾，如 闽A1234挂",
                    ))
                }
            }))
            .map(Some),
    };
    let vehicle_type = errors.check(one_of(
        "vehicle_type",
        &body.vehicle_type,
        &VEHICLE_TYPES,
        "请选择车辆类型",
    ));
    let origin = errors.check(RegionCode::parse(&body.origin_region));
    let cargo = errors.check(bounded("cargo", &body.cargo, 1, 100));
    let purpose = errors.check(one_of(
        "purpose",
        &body.purpose,
        &PURPOSES,
        "请选择来访事由",
    ));
    let arrival = errors.check(parse_arrival(&body.expected_arrival));
    let people = if (1..=9).contains(&body.people_in_cab) {
        i32::try_from(body.people_in_cab).ok()
    } else {
        errors.push(FieldError::new(
            "people_in_cab",
            "out_of_range",
            "驾驶室人数应为 1 到 9 人",
        ));
        None
    };
    Some(Driver {
        name: name?,
        document: document?,
        phone: phone?,
        plate: plate?,
        trailer: trailer?,
        vehicle_type: vehicle_type?,
        origin: origin?,
        cargo: cargo?,
        purpose: purpose?,
        arrival: arrival?,
        people: people?,
    })
}

fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    let key = value.to_str().unwrap_or_default();
    let valid = (8..=64).contains(&key.len())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid {
        return Err(ApiError::bad_request(
            "invalid_idempotency_key",
            "Idempotency-Key 须为 8 到 64 位字母、数字、_ 或 -",
        ));
    }
    Ok(Some(key.to_owned()))
}

fn new_pass_token() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    BASE32_NOPAD.encode(&bytes)
}

/// `POST /api/v1/public/codes/{token}/registrations`.
pub async fn create_registration(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let key = idempotency_key(&req)?;
    let driver_key = profiles::key_of(&req)?.unwrap_or_else(profiles::new_key);
    let body: RegistrationBody = body::json(&req, payload, PUBLIC_BODY_LIMIT).await?;
    let opened = open_current(&state, &token).await?;
    let code_id = opened.code_id.clone();
    let (registration, profile) = match prepare(&state, &opened, &body, key) {
        Ok(prepared) => prepared,
        Err(error) => {
            // The scan counts whatever the answer.
            codes::count_scan(&state, code_id).await?;
            return Err(error);
        }
    };
    let actor = Actor::anonymous(client_ip(&req, state.settings.trust_proxy_headers));
    let profile_vault = state.vault.clone();
    let profile_key = driver_key.clone();
    let (stored, created) = state
        .db
        .write(move |conn| {
            EnterpriseCode::record_scan(conn, &code_id)?;
            // A savepoint of its own, so that a refused registration keeps the scan.
            Ok(conn.transaction::<_, ApiError, _>(|conn| {
                profiles::save(conn, &profile_vault, &profile_key, &profile)?;
                if let Some(key) = &registration.idempotency_key
                    && let Some(earlier) =
                        Registration::by_idempotency_key(conn, &registration.enterprise_id, key)?
                {
                    return Ok((earlier, false));
                }
                let existing = Registration::active_for_plate(
                    conn,
                    &registration.enterprise_id,
                    &registration.plate,
                    &registration.arrival_day,
                )?;
                if let Some(existing) = existing {
                    return Ok((existing, false));
                }
                Registration::insert(conn, &registration)?;
                audit::append(
                    conn,
                    &actor,
                    Event::success("registration.create", "registration", &registration.id),
                )?;
                Ok((registration, true))
            }))
        })
        .await??;
    let pass = stored.pass_view(&opened.enterprise.name, &state.settings.public_base_url());
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(HttpResponse::build(status)
        .insert_header((profiles::DRIVER_KEY_HEADER, driver_key))
        .json(pass))
}

/// Checks the form against the code's state and templates and seals its personal
/// data: the registration to store and the driver's profile.
fn prepare(
    state: &AppState,
    opened: &OpenCode,
    body: &RegistrationBody,
    key: Option<String>,
) -> Result<(Registration, Profile), ApiError> {
    if !opened.accepting {
        return Err(ApiError::conflict("not_accepting", PAUSED));
    }
    let mut errors = FieldErrors::default();
    let driver = parse_driver(body, &mut errors);
    let (zone, own) = (&opened.zone, &opened.own);
    let zone_answers = zone
        .fields
        .validate_answers(&body.answers.zone, "answers.zone.");
    let own_answers = own
        .fields
        .validate_answers(&body.answers.enterprise, "answers.enterprise.");
    let mut answer_errors = |result: Result<_, Vec<FieldError>>| {
        result
            .map_err(|list| list.into_iter().for_each(|e| errors.push(e)))
            .ok()
    };
    let zone_answers = answer_errors(zone_answers);
    let own_answers = answer_errors(own_answers);
    let (Some(driver), Some(zone_answers), Some(own_answers)) = (driver, zone_answers, own_answers)
    else {
        return Err(errors.into_error());
    };
    errors.finish()?;

    let profile = Profile {
        driver_name: driver.name.as_str().to_owned(),
        document_type: driver.document.kind().as_str().to_owned(),
        document_number: driver.document.as_str().to_owned(),
        phone: driver.phone.as_str().to_owned(),
        plate: driver.plate.as_str().to_owned(),
        trailer_plate: driver.trailer.as_ref().map(|t| t.as_str().to_owned()),
        vehicle_type: driver.vehicle_type.clone(),
        origin_region: driver.origin.as_str().to_owned(),
    };
    let vault = &state.vault;
    let document_plain = driver.document.as_str().to_owned();
    let document_index = vault.blind_index(
        "registrations.document",
        &format!("{}:{document_plain}", driver.document.kind().as_str()),
    );
    let seal = |context: &str, plain: &str| vault.seal(context, plain).map_err(ApiError::internal);
    let arrival_day = (driver.arrival + TimeDelta::hours(8))
        .format("%Y-%m-%d")
        .to_string();
    let registration = Registration {
        id: new_id(),
        enterprise_id: opened.enterprise.id.clone(),
        pass_token: new_pass_token(),
        idempotency_key: key,
        status: status::PENDING.to_owned(),
        driver_name: driver.name.as_str().to_owned(),
        document_type: driver.document.kind().as_str().to_owned(),
        document_sealed: seal("registrations.document", &document_plain)?,
        document_index,
        document_masked: driver.document.masked(),
        phone_sealed: seal("registrations.phone", driver.phone.as_str())?,
        phone_index: vault.blind_index("registrations.phone", driver.phone.as_str()),
        phone_masked: driver.phone.masked(),
        plate: driver.plate.as_str().to_owned(),
        trailer_plate: driver.trailer.as_ref().map(|t| t.as_str().to_owned()),
        vehicle_type: driver.vehicle_type,
        origin_region: driver.origin.as_str().to_owned(),
        cargo: driver.cargo,
        purpose: driver.purpose,
        expected_arrival: driver.arrival,
        arrival_day,
        people_in_cab: driver.people,
        answers: serde_json::json!({ "zone": zone_answers, "enterprise": own_answers }).to_string(),
        zone_form_version: zone.version,
        enterprise_form_version: own.version,
        consent_version: CONSENT_VERSION.to_owned(),
        valid_from: driver.arrival - VALID_BEFORE,
        valid_until: driver.arrival + VALID_AFTER,
        reject_reason: None,
        decided_at: None,
        decided_by: None,
        created_at: now(),
    };
    Ok((registration, profile))
}

/// A missing pass gets its own code; other errors pass through.
fn pass_not_found(error: ApiError) -> ApiError {
    if error.code() == "not_found" {
        ApiError::new(StatusCode::NOT_FOUND, "pass_not_found", "未找到该通行凭证")
    } else {
        error
    }
}

/// `GET /api/v1/public/passes/{token}`.
pub async fn find_pass(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let token = token.into_inner().to_ascii_uppercase();
    let (registration, name) = state
        .db
        .read(move |conn| Registration::by_pass_token(conn, &token))
        .await
        .map_err(pass_not_found)?;
    Ok(HttpResponse::Ok().json(registration.pass_view(&name, &state.settings.public_base_url())))
}

/// Cancels a live pass by token and audits it; 409 `pass_closed` when it has ended.
pub fn cancel(
    conn: &mut DbConnection,
    token: &str,
    actor: &Actor,
) -> Result<(Registration, String), ApiError> {
    let (registration, _) = Registration::by_pass_token(conn, token)?;
    Registration::transition(
        conn,
        &registration.id,
        &[status::PENDING, status::APPROVED],
        status::CANCELLED,
        None,
        None,
    )
    .map_err(|_| ApiError::conflict("pass_closed", "该通行凭证已结束，无法取消"))?;
    audit::append(
        conn,
        actor,
        Event::success("registration.cancel", "registration", &registration.id),
    )?;
    Registration::by_pass_token(conn, token)
}

/// `DELETE /api/v1/public/passes/{token}`: the driver cancels.
pub async fn cancel_pass(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let token = token.into_inner().to_ascii_uppercase();
    let actor = Actor::anonymous(client_ip(&req, state.settings.trust_proxy_headers));
    let (registration, name) = state
        .db
        .write(move |conn| cancel(conn, &token, &actor))
        .await
        .map_err(pass_not_found)?;
    Ok(HttpResponse::Ok().json(registration.pass_view(&name, &state.settings.public_base_url())))
}
