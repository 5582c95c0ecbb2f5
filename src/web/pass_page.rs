//! `GET /p/{token}`: the pass a driver shows at the gate: status, enterprise, masked
//! name and plate, validity window and a QR code of the pass's own URL for the gate
//! to scan; while it is live the driver who registered it (their browser's key) can
//! cancel it (a plain form, no JavaScript). Anyone else, a gate that scans it say,
//! sees no cancel button and cannot cancel.

use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};
use std::fmt;

use chrono::{DateTime, Datelike, Timelike, Utc};
use maud::html;

use crate::audit::Actor;
use crate::client::client_ip;
use crate::domain::zone;
use crate::error::ApiError;
use crate::registrations::cancel::{self, CancelRefusal};
use crate::registrations::profiles::{self, DriverKey};
use crate::registrations::submit::Registrar;
use crate::registrations::{Pass, PassView, RegistrationStatus};
use crate::state::AppState;
use crate::web::{code_page, foreign_post, from_own_page, notice, page};

fn label(status: RegistrationStatus, suspended: bool) -> (&'static str, &'static str) {
    match status {
        RegistrationStatus::Approved if suspended => {
            ("已被企业暂停使用，门岗将拒绝入园，请联系企业", "notice bad")
        }
        RegistrationStatus::Pending => ("待企业审核", "notice"),
        RegistrationStatus::Approved => ("已通过，请向门岗出示本码", "notice ok"),
        status => (status.label(), "notice bad"),
    }
}

/// A time as the zone reads it, written straight into the page: chrono's format
/// strings are parsed anew on every call, three times a pass view.
struct Local(DateTime<Utc>);

impl fmt::Display for Local {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let zone = zone::local(self.0.naive_utc());
        write!(
            f,
            "{:02}月{:02}日 {:02}:{:02}",
            zone.month(),
            zone.day(),
            zone.hour(),
            zone.minute()
        )
    }
}

fn not_found(zone: &str) -> HttpResponse {
    notice(
        StatusCode::NOT_FOUND,
        zone,
        "未找到通行凭证",
        "请重新扫描企业门口的二维码登记。",
    )
}

/// A pass by token, whether `key` is its driver's current key, and what its QR code
/// encodes (the page's address, signed for gates without network when approved).
async fn load(
    state: &AppState,
    token: &str,
    key: Option<DriverKey>,
) -> Result<Option<(PassView, bool, String)>, ApiError> {
    let token = token.to_owned();
    let base = state.settings.public_base_url();
    let found = state
        .db
        .read(move |conn| {
            let Some((pass, name)) = Pass::by_token(conn, &token)? else {
                return Ok(None);
            };
            let owner = match &key {
                Some(key) => profiles::driver_of(conn, key)?,
                None => None,
            };
            let is_owner = owner.is_some() && owner == pass.driver_id;
            Ok(Some((pass, name, is_owner)))
        })
        .await?;
    let Some((pass, name, is_owner)) = found else {
        return Ok(None);
    };
    let code = state.signer.pass_code(&pass.url(&base), &pass)?;
    Ok(Some((pass.view(name, &base), is_owner, code)))
}

/// `GET /p/{token}`.
pub async fn show_pass_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let zone = state.settings.zone_name.clone();
    let Some((pass, is_owner, code)) = load(&state, &token, DriverKey::of_cookie(&req)).await?
    else {
        return Ok(not_found(&zone));
    };
    let qr = state.pass_qrs.base64_png(&code).await?;
    let (status_text, status_class) = label(pass.status, pass.suspended);
    let body = html! {
        h1 { (pass.enterprise_name) }
        p class=(status_class) { (status_text) }
        @if let Some(reason) = &pass.reject_reason {
            p { "原因：" (reason) }
        }
        img src={ "data:image/png;base64," (qr) } alt="通行凭证二维码"
            style="width:100%;max-width:320px;display:block;margin:1rem auto";
        p { "司机：" (pass.driver_name) "　车牌：" (pass.plate) }
        p { "预计到达：" (Local(pass.expected_arrival)) }
        p { "有效期：" (Local(pass.valid_from)) " 至 " (Local(pass.valid_until)) }
        @if pass.status.is_live() && is_owner {
            form method="post" action={ "/p/" (pass.token) "/cancel" } {
                button type="submit"
                    style="width:100%;padding:.9rem;font-size:1.1rem;margin-top:1rem" {
                    "取消本次登记"
                }
            }
        }
    };
    Ok(page(StatusCode::OK, &zone, "通行凭证", body))
}

/// `POST /p/{token}/cancel`: the page's cancel button, for the driver who registered
/// (403 page for anyone else); back to the pass afterwards (also when it had ended
/// already: the page then shows why).
pub async fn cancel_pass_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let zone = state.settings.zone_name.clone();
    if !from_own_page(&req, &state.settings.public_base_url()) {
        return Ok(foreign_post(&zone));
    }
    let key = DriverKey::of_cookie(&req);
    let Some((pass, _, _)) = load(&state, &token, None).await? else {
        return Ok(not_found(&zone));
    };
    let ip = client_ip(&req, state.settings.trust_proxy_headers);
    if let Err(exceeded) = Registrar::of(&state).limit_ip(&ip) {
        return Ok(code_page::too_many(&state, exceeded));
    }
    let actor = Actor::anonymous(ip);
    let pass_token = pass.token.clone();
    let result = state
        .db
        .write(move |conn| cancel::cancel(conn, &pass_token, key.as_ref(), &actor))
        .await?;
    match result {
        Ok(_) | Err(CancelRefusal::Closed) => {}
        Err(CancelRefusal::NotFound) => return Ok(not_found(&zone)),
        Err(CancelRefusal::NotAllowed) => {
            return Ok(notice(
                StatusCode::FORBIDDEN,
                &zone,
                "无法取消",
                "只能在登记时使用的手机上取消此通行凭证。如需取消，请联系企业门岗。",
            ));
        }
    }
    Ok(HttpResponse::SeeOther()
        .insert_header((LOCATION, format!("/p/{}", pass.token)))
        .finish())
}
