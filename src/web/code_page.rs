//! `/r/{token}`: what a driver sees after scanning an enterprise's poster: the
//! registration form. It works without JavaScript (a plain form posting back here;
//! the origin's city and county lists come by a step button), keeps everything typed
//! when something is wrong, and lands on the pass. A replaced code answers 410, an
//! unknown one 404 without hints, a paused one says so.

use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};

use std::sync::Arc;

use crate::audit::Actor;
use crate::body;
use crate::client::client_ip;
use crate::domain::text::random_token;
use crate::error::{ApiError, ErrorCode, FieldError};
use crate::ratelimit::Exceeded;
use crate::registrations::input::{RegistrationBody, RetryKey};
use crate::registrations::open::{CodeForm, PAUSED, REPLACED};
use crate::registrations::profiles::{self, DriverKey, Profile};
use crate::registrations::public::PUBLIC_BODY_LIMIT;
use crate::registrations::submit::{Outcome, Refusal, Registrar, Scan, Submission};
use crate::state::AppState;
use crate::web::form::{self, FormPage, Values};
use crate::web::{foreign_post, from_own_page, page};

/// How a rendering of the form came about.
#[derive(Default)]
struct Shown<'a> {
    errors: &'a [FieldError],
    nonce: Option<RetryKey>,
    prefilled: bool,
    cleared: bool,
    stale_key: bool,
}

/// The form for an enterprise, with the values and errors given.
fn form_page(
    state: &AppState,
    token: &str,
    form: &CodeForm,
    values: &Values,
    shown: Shown<'_>,
    status: StatusCode,
) -> HttpResponse {
    let nonce = shown.nonce.map_or_else(random_token, RetryKey::into_string);
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
        html,
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
) -> Result<Result<Arc<CodeForm>, HttpResponse>, ApiError> {
    Ok(match Registrar::of(state).scan(token, count).await? {
        Scan::Unknown => Err(not_found(state)),
        Scan::Replaced(form) => Err(notice(
            state,
            StatusCode::GONE,
            &form.enterprise.name,
            REPLACED,
        )),
        Scan::Current(form) if !form.accepting() => {
            Err(notice(state, StatusCode::OK, &form.enterprise.name, PAUSED))
        }
        Scan::Current(form) => Ok(form),
    })
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
            ErrorCode::UnsupportedMediaType,
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
        .and_then(|(_, value)| RetryKey::parse(value));
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
        retry_key: nonce.clone(),
        driver_key: DriverKey::of_cookie(&req),
        actor: Actor::anonymous(client_ip(&req, state.settings.trust_proxy_headers)),
    };
    let submitted = match Registrar::of(&state).submit(&token, submission).await? {
        Outcome::Created(submitted) | Outcome::Existing(submitted) => submitted,
        Outcome::Refused(Refusal::Invalid(errors)) => {
            let shown = Shown {
                errors: &errors,
                nonce,
                ..Shown::default()
            };
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return rerender(&state, &token, &values, shown, status).await;
        }
        Outcome::Refused(refusal) => return Ok(refusal_page(&state, refusal)),
    };
    let mut response = HttpResponse::SeeOther();
    response.insert_header((LOCATION, format!("/p/{}", submitted.pass.token)));
    for cookie in profiles::key_cookies(&state.settings, &submitted.driver_key) {
        response.cookie(cookie);
    }
    Ok(response.finish())
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

/// A refusal as a page the driver can act on.
fn refusal_page(state: &AppState, refusal: Refusal) -> HttpResponse {
    match refusal {
        Refusal::CodeNotFound => not_found(state),
        Refusal::CodeReplaced => notice(state, StatusCode::GONE, "此码已更换", REPLACED),
        Refusal::NotAccepting => notice(state, StatusCode::CONFLICT, "暂停登记", PAUSED),
        Refusal::PlateTaken => notice(
            state,
            StatusCode::CONFLICT,
            "该车牌今天已登记",
            "这辆车今天已在本企业登记过。如是您本人登记，请在登记时使用的手机上查看通行凭证；如有疑问请联系企业门岗。",
        ),
        Refusal::RetryKeyReused => notice(
            state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "请重新提交",
            "这份表单已经提交过。请刷新页面，核对后重新提交。",
        ),
        Refusal::Invalid(_) => notice(
            state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "请重新填写",
            "表单内容有误，请返回上一页核对后重新提交。",
        ),
        Refusal::TooMany(exceeded) => too_many(state, exceeded),
    }
}

/// The friendly 429: what happened, how long to wait, and that nothing typed is lost
/// by going back.
pub fn too_many(state: &AppState, exceeded: Exceeded) -> HttpResponse {
    let wait = exceeded.retry_after_secs;
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
        if let Err(exceeded) = Registrar::of(&state).limit_ip(&ip) {
            return Ok(too_many(&state, exceeded));
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
