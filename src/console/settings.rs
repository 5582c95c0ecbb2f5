//! The enterprise contact's settings: whether new filings are approved at once
//! (auto-approval), through the same service as
//! `PUT /api/v1/enterprises/{id}/registration-settings`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::html;

use crate::console::session::Signed;
use crate::console::{PageError, layout, render, see_other};
use crate::domain::id::EnterpriseId;
use crate::error::ApiError;
use crate::registrations::settings::{find_settings, set_auto_approve};
use crate::state::AppState;

/// This page's address.
pub const SETTINGS_PATH: &str = "/console/settings";

/// The caller's own enterprise; other roles have none here (404 page).
fn own_enterprise(signed: &Signed) -> Result<EnterpriseId, PageError> {
    signed
        .caller
        .scope
        .enterprise_id
        .clone()
        .ok_or_else(|| ApiError::not_found().into())
}

/// `GET /console/settings`: the enterprise's auto-approval setting.
pub async fn settings_page(
    state: web::Data<AppState>,
    signed: Signed,
) -> Result<HttpResponse, PageError> {
    let enterprise = own_enterprise(&signed)?;
    let settings = find_settings(&state, &signed.caller, enterprise).await?;
    let body = html! {
        h1 { "设置" }
        form.card method="post" action=(SETTINGS_PATH) {
            (signed.csrf_field())
            h2 { "自动通过" }
            p.muted { "开启后，司机提交的新登记立即通过，无需人工审核；已有登记的状态不变。" }
            div.f {
                label { input type="radio" name="auto_approve" value="on" checked[settings.auto_approve]; " 开启：新登记自动通过" }
                label { input type="radio" name="auto_approve" value="off" checked[!settings.auto_approve]; " 关闭：新登记由本企业审核" }
            }
            button.btn type="submit" { "保存" }
        }
    };
    Ok(render(
        StatusCode::OK,
        layout::page(
            &state.settings.zone_name,
            &signed,
            SETTINGS_PATH,
            "设置",
            body,
        ),
    ))
}

/// `POST /console/settings`: `auto_approve=on|off`; 303 back to the page.
pub async fn update_settings(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = signed.posted(&req, &body)?;
    let enterprise = own_enterprise(&signed)?;
    let auto_approve = match posted.value("auto_approve") {
        Some("on") => true,
        Some("off") => false,
        _ => {
            let error = ApiError::field("auto_approve", "invalid_value", "请选择开启或关闭");
            return Err(error.into());
        }
    };
    set_auto_approve(&state, signed.caller.clone(), enterprise, auto_approve).await?;
    Ok(see_other(SETTINGS_PATH))
}
