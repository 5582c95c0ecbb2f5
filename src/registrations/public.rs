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
use crate::client::{client_ip, ip_bucket};
use crate::codes::Scanned;
use crate::codes::public::{PAUSED, open_current};
use crate::db::together::{Last, Then, insert_together};
use crate::db::{DbConnection, new_id, now};
use crate::domain::person::{DocumentNumber, DocumentType, Mobile, PersonName};
use crate::domain::region::{self, RegionCode};
use crate::domain::text::{self, bounded};
use crate::domain::vehicle::Plate;
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::personal::Vault;
use crate::ratelimit::Limit;
use crate::registrations::profiles::{self, DriverKey, Keeping, Profile};
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
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Answers {
    #[serde(default)]
    zone: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    enterprise: serde_json::Map<String, serde_json::Value>,
}

/// The driver's form.
#[derive(Debug, Deserialize, Serialize)]
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
    /// The driver key the client presented, if any.
    pub driver_key: Option<DriverKey>,
    /// Who submitted, for the audit log.
    pub actor: Actor,
}

/// The pass a submission led to, whether it is new, and the driver's new key.
pub struct Submitted {
    /// The pass.
    pub pass: PassView,
    /// False when an earlier attempt or the same driver's registration of the plate
    /// answered.
    pub created: bool,
    /// The key that reaches the driver's profile from now on (the presented one no
    /// longer does).
    pub driver_key: DriverKey,
}

/// What the write of a submission came to.
enum Stored {
    /// A new registration.
    Created(Box<Registration>),
    /// The same driver's registration, answered again.
    Existing(Box<Registration>),
    /// Another driver's live registration of the plate there that day.
    PlateTaken,
    /// The retry key came with another body.
    KeyReused,
}

/// Registers at the enterprise behind a code: validates everything, seals personal
/// data, and stores the registration with its audit entry and the driver's profile
/// (under a new key) in one transaction. A retry (same retry key, same body) or the
/// same driver registering the plate there again that day gets the existing pass; the
/// same plate from anyone else is 409 `plate_already_registered`, the retry key with
/// another body 422 `idempotency_key_reused`.
pub async fn submit(
    state: &AppState,
    token: &str,
    submission: Submission,
) -> Result<Submitted, ApiError> {
    let Submission {
        mut body,
        idempotency_key: key,
        driver_key: presented,
        actor,
    } = submission;
    limit_ip(state, actor.ip.as_deref().unwrap_or_default())?;
    let request_hash = fingerprint(&state.vault, &body)?;
    let opened = open_current(state, token).await?;
    // The scan counts whatever the answer.
    state.scans.add(&opened.code.id);
    unmask(
        state,
        &opened,
        &mut body,
        presented.as_ref(),
        &key,
        &request_hash,
    )
    .await?;
    let (registration, profile) = prepare(state, &opened, &body, key, request_hash)?;
    // Only valid submissions count against the enterprise, so that junk sent from a
    // few addresses cannot keep its drivers out.
    let per_code = Limit {
        bucket: format!("code:{}", opened.enterprise.id),
        per_minute: state.settings.public_rate_per_code,
    };
    state.limits.hit(&per_code)?;
    let auto_approve = opened.auto_approve;
    let sealed = profile.seal(&state.vault)?;
    let new_key = DriverKey::new();
    let registration = Arc::new(registration);
    let new = Arc::clone(&registration);
    let issued = new_key.clone();
    // Every `Err` here is a database error (refusals are `Ok`): the write may run again.
    let stored = state
        .db
        .write_replayable(move |conn| {
            let keeping = Keeping {
                presented: presented.as_ref(),
                new_key: &issued,
                sealed: &sealed,
            };
            store(conn, &new, &actor, auto_approve, &keeping)
        })
        .await?;
    let (stored, created) = match stored {
        Stored::Created(registration) => (registration, true),
        Stored::Existing(registration) => (registration, false),
        Stored::PlateTaken => {
            return Err(ApiError::conflict(
                "plate_already_registered",
                "该车牌今天已在本企业登记。如是您本人登记，请用登记时的手机查看通行凭证；如有疑问请联系企业门岗。",
            ));
        }
        Stored::KeyReused => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "此重试标识已用于另一份登记，请刷新页面后重新提交",
            ));
        }
    };
    Ok(Submitted {
        pass: Pass::from(*stored).view(
            opened.enterprise.name.clone(),
            &state.settings.public_base_url(),
        ),
        created,
        driver_key: new_key,
    })
}

/// A keyed fingerprint of a submission as sent (before masked values are filled in):
/// it tells a retry from another body under the same retry key, and reveals nothing.
fn fingerprint(vault: &Vault, body: &RegistrationBody) -> Result<String, ApiError> {
    let canonical = serde_json::to_string(body).map_err(ApiError::internal)?;
    Ok(vault.blind_index("registrations.request", &canonical))
}

/// Fills in a masked document number and phone as the pre-filled form sends them
/// back unchanged, from the profile behind the presented key or, for a retry of a
/// registration (same retry key, same body) whose answer carried the key this request
/// lacks, from that registration. A masked value that matches neither is emptied, so
/// the driver is asked to type it.
async fn unmask(
    state: &AppState,
    opened: &Scanned,
    body: &mut RegistrationBody,
    presented: Option<&DriverKey>,
    retry_key: &Option<String>,
    request_hash: &str,
) -> Result<(), ApiError> {
    let is_masked = |value: &str| value.contains('*');
    if !is_masked(&body.document_number) && !is_masked(&body.phone) {
        return Ok(());
    }
    let mut source = match presented {
        Some(key) => profiles::find(&state.db, &state.vault, key)
            .await?
            .map(|profile| {
                (
                    profile.document_type,
                    profile.document_number,
                    profile.phone,
                )
            }),
        None => None,
    };
    if source.is_none()
        && let Some(retry_key) = retry_key.clone()
    {
        let enterprise = opened.enterprise.id.clone();
        let earlier = state
            .db
            .read(move |conn| Registration::by_idempotency_key(conn, &enterprise, &retry_key))
            .await?
            .filter(|earlier| earlier.request_hash.as_deref() == Some(request_hash));
        if let Some(earlier) = earlier {
            let open = |context: &str, sealed: &str| {
                state
                    .vault
                    .open(context, sealed)
                    .map_err(ApiError::internal)
            };
            source = Some((
                earlier.document_type.clone(),
                open("registrations.document", &earlier.document_sealed)?,
                open("registrations.phone", &earlier.phone_sealed)?,
            ));
        }
    }
    let (kind, document, phone) = source.unwrap_or_default();
    let masked_document = DocumentType::parse(&kind)
        .filter(|_| DocumentType::parse(&body.document_type) == DocumentType::parse(&kind))
        .map(|kind| DocumentNumber::mask_stored(kind, &document));
    if is_masked(&body.document_number) {
        body.document_number = if masked_document.as_deref() == Some(body.document_number.trim()) {
            document
        } else {
            String::new()
        };
    }
    if is_masked(&body.phone) {
        body.phone = if !phone.is_empty() && Mobile::mask_stored(&phone) == body.phone.trim() {
            phone
        } else {
            String::new()
        };
    }
    Ok(())
}

/// Stores a new registration with its audit entries and keeps the driver's profile,
/// unless an earlier attempt (the same retry key) or a live registration of the plate
/// there that day answers instead. Refusals are `Ok` (the refused plate is audited).
fn store(
    conn: &mut DbConnection,
    new: &Registration,
    actor: &Actor,
    auto_approve: bool,
    keeping: &Keeping<'_>,
) -> Result<Stored, ApiError> {
    if let Some(key) = &new.idempotency_key
        && let Some(earlier) = Registration::by_idempotency_key(conn, &new.enterprise_id, key)?
    {
        if earlier.request_hash != new.request_hash {
            return Ok(Stored::KeyReused);
        }
        // The retry of a registration whose answer was lost: the driver it made keeps
        // its profile under the new key, even though the presented key has moved on.
        keeping.save(conn, earlier.driver_id.as_deref())?;
        return Ok(Stored::Existing(Box::new(earlier)));
    }
    let live =
        Registration::active_for_plate(conn, &new.enterprise_id, &new.plate, &new.arrival_day)?;
    if let Some(existing) = live {
        let same_person = existing.document_index == new.document_index
            && existing.phone_index == new.phone_index;
        let same_driver = match keeping.presented {
            Some(key) if existing.driver_id.is_some() => {
                profiles::driver_of(conn, key)? == existing.driver_id
            }
            _ => false,
        };
        if !(same_person || same_driver) {
            let event = Event::failure("registration.create").with_details(serde_json::json!({
                "reason": "plate_already_registered",
                "enterprise_id": new.enterprise_id,
                "registration_id": existing.id,
            }));
            audit::append(conn, actor, event)?;
            return Ok(Stored::PlateTaken);
        }
        keeping.save(conn, None)?;
        return Ok(Stored::Existing(Box::new(existing)));
    }
    // The registration, its audit entry and (for a new driver) the driver's row are
    // written together: one statement on PostgreSQL.
    let existing = keeping.existing(conn, None)?;
    let driver = existing.clone().unwrap_or_else(new_id);
    let row = Registration {
        driver_id: Some(driver.clone()),
        ..new.clone()
    };
    let created = audit::entry(
        actor,
        Event::success("registration.create", "registration", &row.id),
    );
    let registered = Then(row.insertion(), Last(audit::insertion(&created)));
    match existing {
        Some(_) => insert_together(conn, registered)?,
        None => {
            let new_driver = keeping.new_driver(&driver);
            insert_together(conn, Then(new_driver.insertion(), registered))?;
        }
    }
    if auto_approve {
        audit::append(
            conn,
            &Actor::system(),
            Event::success("registration.auto_approve", "registration", &row.id),
        )?;
    }
    Ok(Stored::Created(Box::new(row)))
}

/// `POST /api/v1/public/codes/{token}/registrations`.
pub async fn create_registration(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let idempotency_key = idempotency_key(&req)?;
    let driver_key = DriverKey::of_header(&req)?;
    let body: RegistrationBody = body::json(&req, payload, PUBLIC_BODY_LIMIT).await?;
    let submission = Submission {
        body,
        idempotency_key,
        driver_key,
        actor: Actor::anonymous(client_ip(&req, state.settings.trust_proxy_headers)),
    };
    let submitted = submit(&state, &token, submission).await?;
    let status = if submitted.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(HttpResponse::build(status)
        .insert_header((profiles::DRIVER_KEY_HEADER, submitted.driver_key.as_str()))
        .json(submitted.pass))
}

/// Counts a public submission (registration, cancellation, erasure) against its
/// client's limit (an IPv4 address, or an IPv6 /64); 429 past it.
pub fn limit_ip(state: &AppState, ip: &str) -> Result<(), ApiError> {
    let limit = Limit {
        bucket: format!("ip:{}", ip_bucket(ip)),
        per_minute: state.settings.public_rate_per_ip,
    };
    state.limits.hit(&limit)
}

/// Checks the form against the code's state and templates and seals its personal
/// data: the registration to store and the driver's profile.
fn prepare(
    state: &AppState,
    opened: &Scanned,
    body: &RegistrationBody,
    key: Option<String>,
    request_hash: String,
) -> Result<(Registration, Profile), ApiError> {
    if !opened.accepting() {
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
        driver_id: None,
        request_hash: Some(request_hash),
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

/// Cancels a live pass by token and audits it, for the driver who registered it
/// only (their current key): 403 `cancel_not_allowed` for anyone else, such as a
/// gate that scanned the pass; 409 `pass_closed` when it has ended.
pub fn cancel(
    conn: &mut DbConnection,
    token: &str,
    key: Option<&DriverKey>,
    actor: &Actor,
) -> Result<(Pass, String), ApiError> {
    let (pass, _) = Pass::by_token(conn, token)?;
    let owner = match key {
        Some(key) => profiles::driver_of(conn, key)?,
        None => None,
    };
    if owner.is_none() || owner != pass.driver_id {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "cancel_not_allowed",
            "只能在登记时使用的手机上取消此通行凭证",
        ));
    }
    Registration::cancel(conn, &pass.id)
        .map_err(|_| ApiError::conflict("pass_closed", "该通行凭证已结束，无法取消"))?;
    audit::append(
        conn,
        actor,
        Event::success("registration.cancel", "registration", &pass.id),
    )?;
    Pass::by_token(conn, token)
}

/// `DELETE /api/v1/public/passes/{token}`: the driver cancels, with the driver key
/// of the registration (`X-Driver-Key`).
pub async fn cancel_pass(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let token = token.into_inner().to_ascii_uppercase();
    let key = DriverKey::of_header(&req)?;
    let ip = client_ip(&req, state.settings.trust_proxy_headers);
    limit_ip(&state, &ip)?;
    let actor = Actor::anonymous(ip);
    let (pass, name) = state
        .db
        .write(move |conn| cancel(conn, &token, key.as_ref(), &actor))
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
