//! `GET /p/{token}`: the pass a driver shows at the gate: status, enterprise, masked
//! name and plate, validity window and a QR code of the pass's own URL for the gate
//! to scan; while it is live the driver who registered it (their browser's key) can
//! cancel it (a plain form, no JavaScript). Anyone else, a gate that scans it say,
//! sees no cancel button and cannot cancel.

use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Datelike, TimeDelta, Timelike, Utc};

use crate::audit::Actor;
use crate::client::client_ip;
use crate::error::ApiError;
use crate::registrations::profiles::{self, DriverKey};
use crate::registrations::{Pass, PassView, public, status};
use crate::state::AppState;
use crate::web::{code_page, escape, foreign_post, from_own_page, notice, page};

fn label(status: &str) -> (&'static str, &'static str) {
    match status {
        status::PENDING => ("待企业审核", "notice"),
        status::APPROVED => ("已通过，请向门岗出示本码", "notice ok"),
        status::REJECTED => ("未通过", "notice bad"),
        status::CANCELLED => ("已取消", "notice bad"),
        _ => ("已过期", "notice bad"),
    }
}

fn local(time: DateTime<Utc>) -> String {
    // Written out: chrono's format strings are parsed anew on every call, three times
    // a pass view.
    let zone = time + TimeDelta::hours(8);
    format!(
        "{:02}月{:02}日 {:02}:{:02}",
        zone.month(),
        zone.day(),
        zone.hour(),
        zone.minute()
    )
}

fn not_found(zone: &str) -> HttpResponse {
    page(
        StatusCode::NOT_FOUND,
        zone,
        "未找到通行凭证",
        "<h1>未找到通行凭证</h1><p class=\"notice bad\">请重新扫描企业门口的二维码登记。</p>",
    )
}

/// A pass by token, and whether `key` is its driver's current key.
async fn load(
    state: &AppState,
    token: &str,
    key: Option<DriverKey>,
) -> Result<Option<(PassView, bool)>, ApiError> {
    if token.len() > 64 || !token.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Ok(None);
    }
    let token = token.to_ascii_uppercase();
    let base = state.settings.public_base_url();
    let found = state
        .db
        .read(move |conn| {
            let (pass, name) = Pass::by_token(conn, &token)?;
            let owner = match &key {
                Some(key) => profiles::driver_of(conn, key)?,
                None => None,
            };
            let is_owner = owner.is_some() && owner == pass.driver_id;
            Ok((pass, name, is_owner))
        })
        .await;
    match found {
        Ok((pass, name, is_owner)) => Ok(Some((pass.view(name, &base), is_owner))),
        Err(error) if error.code() == "not_found" => Ok(None),
        Err(error) => Err(error),
    }
}

/// `GET /p/{token}`.
pub async fn show_pass_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let zone = state.settings.zone_name.clone();
    let Some((pass, is_owner)) = load(&state, &token, DriverKey::of_cookie(&req)).await? else {
        return Ok(not_found(&zone));
    };
    let qr = state.pass_qrs.base64_png(&pass.url).await?;
    let (status_text, status_class) = label(pass.status);
    let reason = pass
        .reject_reason
        .as_deref()
        .map(|reason| format!("<p>原因：{}</p>", escape(reason)))
        .unwrap_or_default();
    let live = matches!(pass.status, status::PENDING | status::APPROVED);
    let cancel = if live && is_owner {
        format!(
            "<form method=\"post\" action=\"/p/{}/cancel\"><button type=\"submit\" \
             style=\"width:100%;padding:.9rem;font-size:1.1rem;margin-top:1rem\">取消本次登记</button></form>",
            escape(&pass.token)
        )
    } else {
        String::new()
    };
    let body = format!(
        "<h1>{enterprise}</h1><p class=\"{status_class}\">{status_text}</p>{reason}\
         <img src=\"data:image/png;base64,{qr}\" alt=\"通行凭证二维码\" style=\"width:100%;max-width:320px;display:block;margin:1rem auto\">\
         <p>司机：{driver}　车牌：{plate}</p><p>预计到达：{arrival}</p>\
         <p>有效期：{from} 至 {until}</p>{cancel}",
        enterprise = escape(&pass.enterprise_name),
        driver = escape(&pass.driver_name),
        plate = escape(&pass.plate),
        arrival = local(pass.expected_arrival),
        from = local(pass.valid_from),
        until = local(pass.valid_until),
    );
    Ok(page(StatusCode::OK, &zone, "通行凭证", &body))
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
    let Some((pass, _)) = load(&state, &token, None).await? else {
        return Ok(not_found(&zone));
    };
    let ip = client_ip(&req, state.settings.trust_proxy_headers);
    if let Err(error) = public::limit_ip(&state, &ip) {
        return match error.code() {
            "too_many_requests" => Ok(code_page::too_many(&state, &error)),
            _ => Err(error),
        };
    }
    let actor = Actor::anonymous(ip);
    let pass_token = pass.token.clone();
    let result = state
        .db
        .write(move |conn| public::cancel(conn, &pass_token, key.as_ref(), &actor))
        .await;
    match result {
        Ok(_) => {}
        Err(error) if error.code() == "pass_closed" => {}
        Err(error) if error.code() == "cancel_not_allowed" => {
            return Ok(notice(
                StatusCode::FORBIDDEN,
                &zone,
                "无法取消",
                "只能在登记时使用的手机上取消此通行凭证。如需取消，请联系企业门岗。",
            ));
        }
        Err(error) => return Err(error),
    }
    Ok(HttpResponse::SeeOther()
        .insert_header((LOCATION, format!("/p/{}", pass.token)))
        .finish())
}
