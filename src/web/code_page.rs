//! `/r/{token}`: what a driver sees after scanning an enterprise's poster: the
//! registration form. It works without JavaScript (a plain form posting back here;
//! the origin's city and county lists come by a step button), keeps everything typed
//! when something is wrong, and lands on the pass. A replaced code answers 410, an
//! unknown one 404 without hints, a paused one says so.

use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::audit::Actor;
use crate::body;
use crate::client::client_ip;
use std::sync::Arc;

use crate::codes::public::{PAUSED, REPLACED};
use crate::codes::{self, Scanned};
use crate::error::{ApiError, FieldError};
use crate::registrations::profiles::{self, DriverKey, Profile};
use crate::registrations::public::{
    self, PUBLIC_BODY_LIMIT, RegistrationBody, Submission, is_retry_key, limit_ip, new_pass_token,
};
use crate::state::AppState;
use crate::web::form::{self, FormPage, Values};
use crate::web::{foreign_post, from_own_page, page};

/// How a rendering of the form came about.
#[derive(Default)]
struct Shown<'a> {
    errors: &'a [FieldError],
    nonce: Option<String>,
    prefilled: bool,
    cleared: bool,
    stale_key: bool,
}

/// The form for an enterprise, with the values and errors given.
fn form_page(
    state: &AppState,
    token: &str,
    form: &Scanned,
    values: &Values,
    shown: Shown<'_>,
    status: StatusCode,
) -> HttpResponse {
    let nonce = shown.nonce.unwrap_or_else(new_pass_token);
    let html = form::render(&FormPage {
        token,
        enterprise_name: &form.enterprise.name,
        zone_fields: &form.zone.fields,
        enterprise_fields: &form.own.fields,
        values,
        errors: shown.errors,
        nonce: &nonce,
        prefilled: shown.prefilled,
        cleared: shown.cleared,
        stale_key: shown.stale_key,
        retention_days: state.settings.retention_days,
    });
    page(
        status,
        &state.settings.zone_name,
        &form.enterprise.name,
        &html,
    )
}

fn notice(state: &AppState, status: StatusCode, title: &str, text: &str) -> HttpResponse {
    crate::web::notice(status, &state.settings.zone_name, title, text)
}

fn not_found(state: &AppState) -> HttpResponse {
    notice(
        state,
        StatusCode::NOT_FOUND,
        "未找到该企业码",
        "请确认扫描的是企业门口张贴的二维码。",
    )
}

/// The form behind a scanned code when it takes registrations; otherwise the page to
/// show instead. `count` counts the scan (page opens, not re-renders).
async fn open_form(
    state: &AppState,
    token: &str,
    count: bool,
) -> Result<Result<Arc<Scanned>, HttpResponse>, ApiError> {
    let Some(scanned) = codes::scanned(state, token).await? else {
        return Ok(Err(not_found(state)));
    };
    if count {
        state.scans.add(&scanned.code.id);
    }
    let name = &scanned.enterprise.name;
    if scanned.code.retired_at.is_some() {
        return Ok(Err(notice(state, StatusCode::GONE, name, REPLACED)));
    }
    if !scanned.accepting() {
        return Ok(Err(notice(state, StatusCode::OK, name, PAUSED)));
    }
    Ok(Ok(scanned))
}

/// `GET /r/{token}`: the form, pre-filled (document number and phone masked) when the
/// browser carries a current driver key. A key that no longer reaches a profile is
/// dropped, with the page script's copy.
pub async fn show_code_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let form = match open_form(&state, &token, true).await? {
        Ok(form) => form,
        Err(page) => return Ok(page),
    };
    let key = DriverKey::of_cookie(&req);
    let profile = match &key {
        Some(key) => profiles::find(&state.db, &state.vault, key).await?,
        None => None,
    };
    let shown = Shown {
        prefilled: profile.is_some(),
        stale_key: key.is_some() && profile.is_none(),
        ..Shown::default()
    };
    let values = Values::fresh(profile.as_ref().map(Profile::masked).as_ref());
    let mut response = form_page(&state, &token, &form, &values, shown, StatusCode::OK);
    let cookies = match (key, profile.is_some()) {
        // Set anew: a cookie the script restored from its copy becomes `HttpOnly`.
        (Some(key), true) => vec![profiles::key_cookie(&state.settings, &key)],
        (Some(_), false) => profiles::forget_cookies(&state.settings).to_vec(),
        (None, _) => Vec::new(),
    };
    for cookie in &cookies {
        response.add_cookie(cookie).map_err(ApiError::internal)?;
    }
    Ok(response)
}

async fn form_pairs(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<Vec<(String, String)>, ApiError> {
    let is_form = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "请通过登记页面提交",
        ));
    }
    let bytes = body::read_limited(payload, PUBLIC_BODY_LIMIT).await?;
    Ok(url::form_urlencoded::parse(&bytes).into_owned().collect())
}

/// `POST /r/{token}`: the form submitted. Valid: the pass (303 to `/p/{token}`), with
/// the driver's new key in cookies. Invalid: the form again, everything kept, each
/// error under its field (422). The step button of the origin only re-renders the
/// form. A post from another site is refused (403).
pub async fn submit_code_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    if !from_own_page(&req, &state.settings.public_base_url()) {
        return Ok(foreign_post(&state.settings.zone_name));
    }
    let pairs = form_pairs(&req, payload).await?;
    let values = Values::from_pairs(&pairs);
    let nonce = pairs
        .iter()
        .find(|(key, _)| key == "nonce")
        .map(|(_, value)| value.clone())
        .filter(|nonce| is_retry_key(nonce));
    if pairs
        .iter()
        .any(|(key, value)| key == "step" && value == "region")
    {
        let shown = Shown {
            nonce,
            ..Shown::default()
        };
        return rerender(&state, &token, &values, shown, StatusCode::OK).await;
    }
    let submission = Submission {
        body: RegistrationBody::from_form(&pairs),
        idempotency_key: nonce.clone(),
        driver_key: DriverKey::of_cookie(&req),
        actor: Actor::anonymous(client_ip(&req, state.settings.trust_proxy_headers)),
    };
    match public::submit(&state, &token, submission).await {
        Ok(submitted) => {
            let mut response = HttpResponse::SeeOther();
            response.insert_header((LOCATION, format!("/p/{}", submitted.pass.token)));
            for cookie in profiles::key_cookies(&state.settings, &submitted.driver_key) {
                response.cookie(cookie);
            }
            Ok(response.finish())
        }
        Err(error) if error.code() == "validation_failed" => {
            let shown = Shown {
                errors: error.field_errors(),
                nonce,
                ..Shown::default()
            };
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            rerender(&state, &token, &values, shown, status).await
        }
        Err(error) => error_page(&state, error),
    }
}

/// The form once more, as submitted (the scan was counted when the page opened), or
/// the page to show instead when the code no longer takes registrations.
async fn rerender(
    state: &AppState,
    token: &str,
    values: &Values,
    shown: Shown<'_>,
    status: StatusCode,
) -> Result<HttpResponse, ApiError> {
    Ok(match open_form(state, token, false).await? {
        Ok(form) => form_page(state, token, &form, values, shown, status),
        Err(page) => page,
    })
}

/// A refusal the driver can act on, as a page; anything else stays an API error.
fn error_page(state: &AppState, error: ApiError) -> Result<HttpResponse, ApiError> {
    Ok(match error.code() {
        "code_not_found" => not_found(state),
        "code_replaced" => notice(state, StatusCode::GONE, "此码已更换", REPLACED),
        "not_accepting" => notice(state, StatusCode::CONFLICT, "暂停登记", PAUSED),
        "plate_already_registered" => notice(
            state,
            StatusCode::CONFLICT,
            "该车牌今天已登记",
            "这辆车今天已在本企业登记过。如是您本人登记，请在登记时使用的手机上查看通行凭证；如有疑问请联系企业门岗。",
        ),
        "idempotency_key_reused" => notice(
            state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "请重新提交",
            "这份表单已经提交过。请刷新页面，核对后重新提交。",
        ),
        "too_many_requests" => too_many(state, &error),
        _ => return Err(error),
    })
}

/// The friendly 429: what happened, how long to wait, and that nothing typed is lost
/// by going back.
pub fn too_many(state: &AppState, error: &ApiError) -> HttpResponse {
    let wait = error.retry_after().unwrap_or(60);
    let mut response = notice(
        state,
        StatusCode::TOO_MANY_REQUESTS,
        "请稍后再试",
        &format!(
            "提交太频繁了，请等 {wait} 秒后返回上一页再点“提交登记”，已填写的内容不会丢失。如急需入园，请联系企业门岗。"
        ),
    );
    response.headers_mut().insert(
        actix_web::http::header::RETRY_AFTER,
        actix_web::http::header::HeaderValue::from(wait),
    );
    response
}

/// `POST /r/{token}/forget`: 「清除我的信息」: erases the profile behind the cookie
/// (audited) and the cookies (the page's script drops its copy), then shows an empty
/// form.
pub async fn forget_driver_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    if !from_own_page(&req, &state.settings.public_base_url()) {
        return Ok(foreign_post(&state.settings.zone_name));
    }
    if let Some(key) = DriverKey::of_cookie(&req) {
        let ip = client_ip(&req, state.settings.trust_proxy_headers);
        if let Err(error) = limit_ip(&state, &ip) {
            return error_page(&state, error);
        }
        profiles::erase(&state.db, &key, Actor::anonymous(ip)).await?;
    }
    let form = match open_form(&state, &token, false).await? {
        Ok(form) => form,
        Err(page) => return Ok(page),
    };
    let shown = Shown {
        cleared: true,
        ..Shown::default()
    };
    let mut response = form_page(
        &state,
        &token,
        &form,
        &Values::fresh(None),
        shown,
        StatusCode::OK,
    );
    for cookie in profiles::forget_cookies(&state.settings) {
        response.add_cookie(&cookie).map_err(ApiError::internal)?;
    }
    Ok(response)
}
