//! `GET /api/v1/public/codes/{token}`: what a mini-program or app learns from a
//! scanned poster: the enterprise, whether it accepts registrations, and the extra
//! fields its form asks for (the zone's and the enterprise's), with their versions.

use actix_web::http::StatusCode;
use actix_web::web;
use serde::Serialize;

use std::sync::Arc;

use crate::codes::{self, Scanned};
use crate::error::ApiError;
use crate::forms::fields::Fields;
use crate::state::AppState;

/// Said when a rotated code is scanned.
pub const REPLACED: &str = "此码已更换，请扫描企业门口的新码。";
/// Said when registrations through a code are paused.
pub const PAUSED: &str = "该企业暂停接受外来车辆登记，请联系企业门岗。";

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

/// Opens a scanned code for the JSON API: an unknown code is 404 `code_not_found`, a
/// replaced one 410 `code_replaced` (its scan counted). The scan of a current code is
/// left to the caller to count, with `state.scans`.
pub async fn open_current(state: &AppState, token: &str) -> Result<Arc<Scanned>, ApiError> {
    let Some(scanned) = codes::scanned(state, token).await? else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "code_not_found",
            "未找到该企业码，请确认扫描的是企业门口张贴的二维码",
        ));
    };
    if scanned.code.retired_at.is_some() {
        state.scans.add(&scanned.code.id);
        return Err(ApiError::new(StatusCode::GONE, "code_replaced", REPLACED));
    }
    Ok(scanned)
}

/// `GET /api/v1/public/codes/{token}`.
pub async fn find_public_code(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<web::Json<PublicCode>, ApiError> {
    let scanned = open_current(&state, &token).await?;
    state.scans.add(&scanned.code.id);
    let accepting = scanned.accepting();
    Ok(web::Json(PublicCode {
        zone_name: state.settings.zone_name.clone(),
        enterprise_name: scanned.enterprise.name.clone(),
        accepting,
        notice: (!accepting).then_some(PAUSED),
        form: PublicForm {
            zone_version: scanned.zone.version,
            zone_fields: scanned.zone.fields.clone(),
            enterprise_version: scanned.own.version,
            enterprise_fields: scanned.own.fields.clone(),
        },
    }))
}
