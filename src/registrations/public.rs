//! The drivers' JSON API: what a scanned code asks for, registering at an enterprise by
//! its code, seeing and cancelling the pass, and the regions of the origin picker.
//! Thin adapters over [`Registrar`] and [`cancel`].

use actix_web::http::StatusCode;
use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::audit::Actor;
use crate::body;
use crate::client::client_ip;
use crate::domain::region::{self, RegionCode};
use crate::error::{ApiError, ErrorCode};
use crate::forms::fields::Fields;
use crate::registrations::Pass;
use crate::registrations::cancel::{self, pass_not_found};
use crate::registrations::input::{RegistrationBody, RetryKey};
use crate::registrations::open::PAUSED;
use crate::registrations::profiles::{self, DriverKey};
use crate::registrations::submit::{Outcome, Refusal, Registrar, Scan, Submission};
use crate::state::AppState;

/// Largest public request body.
pub const PUBLIC_BODY_LIMIT: usize = 16 * 1024;

/// The extra fields of the form in two groups (their keys may coincide), and the
/// template versions they come from.
#[derive(Debug, Serialize)]
pub struct PublicForm {
    zone_version: i32,
    zone_fields: Fields,
    enterprise_version: i32,
    enterprise_fields: Fields,
}

/// A scanned code as the public API shows it.
#[derive(Debug, Serialize)]
pub struct PublicCode {
    zone_name: String,
    enterprise_name: String,
    accepting: bool,
    notice: Option<&'static str>,
    form: PublicForm,
}

/// `GET /api/v1/public/codes/{token}`: what a mini-program or app learns from a
/// scanned poster: the enterprise, whether it accepts registrations, and the extra
/// fields its form asks for. An unknown code is 404 `code_not_found`, a replaced one
/// 410 `code_replaced`; the scan counts either way.
pub async fn find_public_code(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<web::Json<PublicCode>, ApiError> {
    let form = match Registrar::of(&state).scan(&token, true).await? {
        Scan::Unknown => return Err(Refusal::CodeNotFound.into()),
        Scan::Replaced(_) => return Err(Refusal::CodeReplaced.into()),
        Scan::Current(form) => form,
    };
    let accepting = form.accepting();
    Ok(web::Json(PublicCode {
        zone_name: state.settings.zone_name.clone(),
        enterprise_name: form.enterprise.name.clone(),
        accepting,
        notice: (!accepting).then_some(PAUSED),
        form: PublicForm {
            zone_version: form.zone.version,
            zone_fields: form.zone.fields.clone(),
            enterprise_version: form.own.version,
            enterprise_fields: form.own.fields.clone(),
        },
    }))
}

fn idempotency_key(req: &HttpRequest) -> Result<Option<RetryKey>, ApiError> {
    let Some(value) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    RetryKey::parse(value.to_str().unwrap_or_default())
        .map(Some)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidIdempotencyKey,
                "Idempotency-Key 须为 8 到 64 位字母、数字、_ 或 -",
            )
        })
}

/// `POST /api/v1/public/codes/{token}/registrations`: 201 with the pass and the
/// driver's new key (`X-Driver-Key`), 200 when an earlier attempt or the same driver's
/// registration answers.
pub async fn create_registration(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let retry_key = idempotency_key(&req)?;
    let driver_key = DriverKey::of_header(&req)?;
    let body: RegistrationBody = body::json(&req, payload, PUBLIC_BODY_LIMIT).await?;
    let submission = Submission {
        body,
        retry_key,
        driver_key,
        actor: Actor::anonymous(client_ip(&req, state.settings.trust_proxy_headers)),
    };
    let (status, submitted) = match Registrar::of(&state).submit(&token, submission).await? {
        Outcome::Created(submitted) => (StatusCode::CREATED, submitted),
        Outcome::Existing(submitted) => (StatusCode::OK, submitted),
        Outcome::Refused(refusal) => return Err(refusal.into()),
    };
    Ok(HttpResponse::build(status)
        .insert_header((profiles::DRIVER_KEY_HEADER, submitted.driver_key.as_str()))
        .json(submitted.pass))
}

/// `GET /api/v1/public/passes/{token}`.
pub async fn find_pass(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let token = token.into_inner();
    let (pass, name) = state
        .db
        .read(move |conn| Pass::by_token(conn, &token))
        .await?
        .ok_or_else(pass_not_found)?;
    Ok(HttpResponse::Ok().json(pass.view(name, &state.settings.public_base_url())))
}

/// `DELETE /api/v1/public/passes/{token}`: the driver cancels, with the driver key
/// of the registration (`X-Driver-Key`): 403 `cancel_not_allowed` for anyone else,
/// 409 `pass_closed` when it has ended.
pub async fn cancel_pass(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let token = token.into_inner();
    let key = DriverKey::of_header(&req)?;
    let ip = client_ip(&req, state.settings.trust_proxy_headers);
    Registrar::of(&state).limit_ip(&ip)?;
    let actor = Actor::anonymous(ip);
    let (pass, name) = state
        .db
        .write(move |conn| cancel::cancel(conn, &token, key.as_ref(), &actor))
        .await??;
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
