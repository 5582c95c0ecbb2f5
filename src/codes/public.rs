//! `GET /api/v1/public/codes/{token}`: what a mini-program or app learns from a
//! scanned poster: the enterprise, whether it accepts registrations, and the extra
//! fields its form asks for (the zone's and the enterprise's), with their versions.

use actix_web::http::StatusCode;
use actix_web::web;
use serde::Serialize;

use crate::codes;
use crate::enterprises::Enterprise;
use crate::error::ApiError;
use crate::forms::fields::Fields;
use crate::forms::template::{self, TemplateView};
use crate::registrations::settings;
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

/// A current code opened by the JSON API, with its form.
pub struct OpenCode {
    /// The code's id, to count the scan by.
    pub code_id: String,
    /// Its enterprise.
    pub enterprise: Enterprise,
    /// Not suspended, and the enterprise is operating.
    pub accepting: bool,
    /// The zone's current template.
    pub zone: TemplateView,
    /// The enterprise's own current template.
    pub own: TemplateView,
    /// Whether the enterprise approves registrations at once.
    pub auto_approve: bool,
}

/// Opens a scanned code for the JSON API, reading its enterprise and form in one go;
/// an unknown code is 404 `code_not_found`, a replaced one 410 `code_replaced` (its
/// scan counted). The scan of a current code is left to the caller to count, with
/// `state.scans`.
pub async fn open_current(state: &AppState, token: &str) -> Result<OpenCode, ApiError> {
    let found = codes::look_up(state, token, |conn, enterprise| {
        let (zone, own) = template::current_pair(conn, &enterprise.id)?;
        Ok((zone, own, settings::auto_approves(conn, &enterprise.id)?))
    })
    .await?;
    let Some((code, enterprise, (zone, own, auto_approve))) = found else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "code_not_found",
            "未找到该企业码，请确认扫描的是企业门口张贴的二维码",
        ));
    };
    if code.retired_at.is_some() {
        state.scans.add(&code.id);
        return Err(ApiError::new(StatusCode::GONE, "code_replaced", REPLACED));
    }
    Ok(OpenCode {
        accepting: codes::accepting(&code, &enterprise),
        code_id: code.id,
        enterprise,
        zone,
        own,
        auto_approve,
    })
}

/// `GET /api/v1/public/codes/{token}`.
pub async fn find_public_code(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<web::Json<PublicCode>, ApiError> {
    let OpenCode {
        code_id,
        enterprise,
        accepting,
        zone,
        own,
        ..
    } = open_current(&state, &token).await?;
    state.scans.add(&code_id);
    Ok(web::Json(PublicCode {
        zone_name: state.settings.zone_name.clone(),
        enterprise_name: enterprise.name,
        accepting,
        notice: (!accepting).then_some(PAUSED),
        form: PublicForm {
            zone_version: zone.version,
            zone_fields: zone.fields,
            enterprise_version: own.version,
            enterprise_fields: own.fields,
        },
    }))
}
