//! The drivers' JSON API: register at an enterprise by its code, see and cancel the
//! pass. Nothing is stored without consent; a retry never creates a second record.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{NaiveDateTime, TimeDelta, Utc};
use data_encoding::BASE32_NOPAD;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::audit::{self, Actor, Event};
use crate::body;
use crate::client::client_ip;
use crate::codes::public::{OpenCode, PAUSED, open_current};
use crate::codes::{self, EnterpriseCode};
use crate::db::{DbConnection, new_id, now};
use crate::domain::person::{DocumentNumber, DocumentType, Mobile, PersonName};
use crate::domain::region::{self, RegionCode};
use crate::domain::text::{self, bounded};
use crate::domain::vehicle::Plate;
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::ratelimit::Limit;
use crate::registrations::profiles::{self, Profile};
use crate::registrations::{CONSENT_VERSION, Pass, PassView, Registration, status};
use crate::state::AppState;

/// Largest public request body.
pub const PUBLIC_BODY_LIMIT: usize = 16 * 1024;

/// Vehicle type keys.
pub const VEHICLE_TYPES: [&str; 7] = [
    "heavy_truck",
    "medium_truck",
    "light_truck",
    "hazmat",
    "van",
    "reefer",
    "other",
];
/// Purpose keys.
pub const PURPOSES: [&str; 3] = ["deliver", "pick_up", "other"];

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

impl RegistrationBody {
    /// The page's form (`application/x-www-form-urlencoded` pairs) as the API's body.
    /// Extra answers are named `answers.zone.KEY` and `answers.enterprise.KEY`; a key
    /// sent more than once (ticked boxes of a multiple choice) becomes a list, blank
    /// values count as absent. The origin comes as three selects, `origin_province`,
    /// `origin_city` and `origin_county`: the deepest one that belongs to the one
    /// above it is the origin, so a province changed without re-choosing the city
    /// does not keep the old city.
    pub fn from_form(pairs: &[(String, String)]) -> Self {
        let value = |name: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.trim().to_owned())
                .unwrap_or_default()
        };
        let mut answers = Answers::default();
        for (key, raw) in pairs {
            let raw = raw.trim();
            let (map, key) = if let Some(key) = key.strip_prefix("answers.zone.") {
                (&mut answers.zone, key)
            } else if let Some(key) = key.strip_prefix("answers.enterprise.") {
                (&mut answers.enterprise, key)
            } else {
                continue;
            };
            if raw.is_empty() {
                continue;
            }
            let raw = serde_json::Value::String(raw.to_owned());
            match map.get_mut(key) {
                None => {
                    map.insert(key.to_owned(), raw);
                }
                Some(serde_json::Value::Array(list)) => list.push(raw),
                Some(first) => *first = serde_json::Value::Array(vec![first.take(), raw]),
            }
        }
        let trailer = value("trailer_plate");
        Self {
            consent: !value("consent").is_empty(),
            driver_name: value("driver_name"),
            document_type: value("document_type"),
            document_number: value("document_number"),
            phone: value("phone"),
            plate: value("plate"),
            trailer_plate: (!trailer.is_empty()).then_some(trailer),
            vehicle_type: value("vehicle_type"),
            origin_region: region::deepest(&[
                &value("origin_province"),
                &value("origin_city"),
                &value("origin_county"),
            ])
            .unwrap_or_default()
            .to_owned(),
            cargo: value("cargo"),
            purpose: value("purpose"),
            expected_arrival: value("expected_arrival"),
            people_in_cab: value("people_in_cab").parse().unwrap_or(0),
            answers,
        }
    }
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

/// Whether a retry key (`Idempotency-Key`, the page's nonce) is well-formed: 8 to 64
/// letters, digits, `_` or `-`.
pub fn is_retry_key(key: &str) -> bool {
    text::is_key(key, 8..=64)
}

fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    let key = value.to_str().unwrap_or_default();
    if !is_retry_key(key) {
        return Err(ApiError::bad_request(
            "invalid_idempotency_key",
            "Idempotency-Key 须为 8 到 64 位字母、数字、_ 或 -",
        ));
    }
    Ok(Some(key.to_owned()))
}

/// A new random token (128 bits, base32): passes' tokens and the form's nonces.
pub fn new_pass_token() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    BASE32_NOPAD.encode(&bytes)
}

/// A registration as submitted through either front door (the JSON API or the page).
pub struct Submission {
    /// The form.
    pub body: RegistrationBody,
    /// The client's retry key (the API's `Idempotency-Key`, the page's nonce).
    pub idempotency_key: Option<String>,
    /// The driver key the profile is kept under.
    pub driver_key: String,
    /// Who submitted, for the audit log.
    pub actor: Actor,
}

/// The pass a submission led to, and whether it is new.
pub struct Submitted {
    /// The pass.
    pub pass: PassView,
    /// False when an earlier attempt or a live registration of the plate answered.
    pub created: bool,
}

/// Registers at the enterprise behind a code: validates everything, seals personal
/// data, keeps the driver's profile and stores the registration with its audit entry
/// (and the code's scan) in one transaction. A repeated idempotency key, or a live
/// registration of the same plate there on the same day, answers with the existing
/// pass.
pub async fn submit(
    state: &AppState,
    token: &str,
    submission: Submission,
) -> Result<Submitted, ApiError> {
    let Submission {
        body,
        idempotency_key: key,
        driver_key,
        actor,
    } = submission;
    limit_ip(state, actor.ip.as_deref().unwrap_or_default()).await?;
    let opened = open_current(state, token).await?;
    let per_code = Limit {
        bucket: format!("code:{}", opened.enterprise.id),
        per_minute: state.settings.public_rate_per_code,
    };
    state.limits.hit(&state.db, per_code).await?;
    let code_id = opened.code_id.clone();
    let (registration, profile) = match prepare(state, &opened, &body, key) {
        Ok(prepared) => prepared,
        Err(error) => {
            // The scan counts whatever the answer.
            codes::count_scan(state, code_id).await?;
            return Err(error);
        }
    };
    let auto_approve = opened.auto_approve;
    let profile = profile.seal(&state.vault, &driver_key)?;
    let registration = Arc::new(registration);
    let new = Arc::clone(&registration);
    // Every `Err` here is a database error: the write may run again.
    let earlier = state
        .db
        .write_replayable(move |conn| {
            profiles::save(conn, &profile)?;
            let earlier = store(conn, &new, &actor, auto_approve)?;
            // The scan shares the registration's transaction (a write that fails, on a
            // database error, never a refused form, loses its scan too), and comes
            // last: its row, like the audit chain's head, is updated by every
            // registration, and on PostgreSQL stays locked until the commit.
            EnterpriseCode::record_scan(conn, &code_id)?;
            Ok(earlier)
        })
        .await?;
    let created = earlier.is_none();
    let stored = earlier.unwrap_or_else(|| Arc::unwrap_or_clone(registration));
    Ok(Submitted {
        pass: Pass::from(stored).view(opened.enterprise.name, &state.settings.public_base_url()),
        created,
    })
}

/// Stores a new registration with its audit entries, unless an earlier attempt (the
/// same retry key) or a live registration of the plate there that day answers
/// instead: then that one, and nothing is stored.
fn store(
    conn: &mut DbConnection,
    new: &Registration,
    actor: &Actor,
    auto_approve: bool,
) -> Result<Option<Registration>, ApiError> {
    if let Some(key) = &new.idempotency_key
        && let Some(earlier) = Registration::by_idempotency_key(conn, &new.enterprise_id, key)?
    {
        return Ok(Some(earlier));
    }
    let existing =
        Registration::active_for_plate(conn, &new.enterprise_id, &new.plate, &new.arrival_day)?;
    if existing.is_some() {
        return Ok(existing);
    }
    Registration::insert(conn, new)?;
    audit::append(
        conn,
        actor,
        Event::success("registration.create", "registration", &new.id),
    )?;
    if auto_approve {
        audit::append(
            conn,
            &Actor::system(),
            Event::success("registration.auto_approve", "registration", &new.id),
        )?;
    }
    Ok(None)
}

/// `POST /api/v1/public/codes/{token}/registrations`.
pub async fn create_registration(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let idempotency_key = idempotency_key(&req)?;
    let driver_key = profiles::key_of(&req)?.unwrap_or_else(profiles::new_key);
    let body: RegistrationBody = body::json(&req, payload, PUBLIC_BODY_LIMIT).await?;
    let submission = Submission {
        body,
        idempotency_key,
        driver_key: driver_key.clone(),
        actor: Actor::anonymous(client_ip(&req, state.settings.trust_proxy_headers)),
    };
    let submitted = submit(&state, &token, submission).await?;
    let status = if submitted.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(HttpResponse::build(status)
        .insert_header((profiles::DRIVER_KEY_HEADER, driver_key))
        .json(submitted.pass))
}

/// Counts a public submission (registration, cancellation) against its client IP's
/// limit; 429 past it.
pub async fn limit_ip(state: &AppState, ip: &str) -> Result<(), ApiError> {
    let limit = Limit {
        bucket: format!("ip:{ip}"),
        per_minute: state.settings.public_rate_per_ip,
    };
    state.limits.hit(&state.db, limit).await
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
    let (valid_before, valid_after) = state.settings.pass_validity();
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
        status: if opened.auto_approve {
            status::APPROVED
        } else {
            status::PENDING
        }
        .to_owned(),
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
        valid_from: driver.arrival - valid_before,
        valid_until: driver.arrival + valid_after,
        reject_reason: None,
        decided_at: opened.auto_approve.then(now),
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
    let (pass, name) = state
        .db
        .read(move |conn| Pass::by_token(conn, &token))
        .await
        .map_err(pass_not_found)?;
    Ok(HttpResponse::Ok().json(pass.view(name, &state.settings.public_base_url())))
}

/// Cancels a live pass by token and audits it; 409 `pass_closed` when it has ended.
pub fn cancel(
    conn: &mut DbConnection,
    token: &str,
    actor: &Actor,
) -> Result<(Pass, String), ApiError> {
    let (pass, _) = Pass::by_token(conn, token)?;
    Registration::transition(
        conn,
        &pass.id,
        &[status::PENDING, status::APPROVED],
        status::CANCELLED,
        None,
        None,
    )
    .map_err(|_| ApiError::conflict("pass_closed", "该通行凭证已结束，无法取消"))?;
    audit::append(
        conn,
        actor,
        Event::success("registration.cancel", "registration", &pass.id),
    )?;
    Pass::by_token(conn, token)
}

/// `DELETE /api/v1/public/passes/{token}`: the driver cancels.
pub async fn cancel_pass(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let token = token.into_inner().to_ascii_uppercase();
    let ip = client_ip(&req, state.settings.trust_proxy_headers);
    limit_ip(&state, &ip).await?;
    let actor = Actor::anonymous(ip);
    let (pass, name) = state
        .db
        .write(move |conn| cancel(conn, &token, &actor))
        .await
        .map_err(pass_not_found)?;
    Ok(HttpResponse::Ok().json(pass.view(name, &state.settings.public_base_url())))
}

/// Query of `GET /api/v1/public/regions`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionQuery {
    parent: Option<String>,
}

/// A region in a picker.
#[derive(Debug, Serialize)]
pub struct RegionItem {
    code: &'static str,
    name: &'static str,
}

/// `GET /api/v1/public/regions?parent=`: the provinces, or the regions directly under
/// `parent` (empty under a county), for the origin picker. The table only changes with
/// a release, so answers may be cached for a day.
pub async fn list_regions(query: web::Query<RegionQuery>) -> Result<HttpResponse, ApiError> {
    let regions = match query.parent.as_deref() {
        None => region::provinces(),
        Some(parent) => region::children(
            RegionCode::parse(parent)
                .map_err(|mut error| {
                    error.field = "parent".into();
                    ApiError::validation(vec![error])
                })?
                .as_str(),
        ),
    };
    let items: Vec<RegionItem> = regions
        .into_iter()
        .map(|region| RegionItem {
            code: region.code,
            name: region.name,
        })
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "public, max-age=86400"))
        .json(items))
}
