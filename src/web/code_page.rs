//! `GET /r/{token}`: what a driver sees after scanning an enterprise's poster. Until
//! the registration form arrives it shows the enterprise and whether it accepts
//! registrations; a replaced code answers 410, an unknown one 404 without hints.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use crate::codes::EnterpriseCode;
use crate::domain::enterprise::EnterpriseStatus;
use crate::error::ApiError;
use crate::state::AppState;
use crate::web::{escape, page};

/// The longest token we bother looking up (ours are 26 characters).
const MAX_TOKEN_LEN: usize = 64;

/// `GET /r/{token}`.
pub async fn show_code_page(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let zone = state.settings.zone_name.clone();
    let token = token.into_inner();
    if token.len() > MAX_TOKEN_LEN || !token.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Ok(not_found(&zone));
    }
    let lookup = token.to_ascii_uppercase();
    let found = state
        .db
        .read(move |conn| EnterpriseCode::by_token(conn, &lookup))
        .await?;
    let Some((code, enterprise)) = found else {
        return Ok(not_found(&zone));
    };
    let code_id = code.id.clone();
    state
        .db
        .write(move |conn| EnterpriseCode::record_scan(conn, &code_id))
        .await?;
    let name = escape(&enterprise.name);
    if code.retired_at.is_some() {
        let body = format!(
            "<h1>{name}</h1><p class=\"notice bad\">此码已更换，请扫描企业门口的新码。</p>"
        );
        return Ok(page(StatusCode::GONE, &zone, "此码已更换", &body));
    }
    let operating = EnterpriseStatus::parse(&enterprise.status) == Ok(EnterpriseStatus::Operating);
    let body = if code.suspended || !operating {
        format!(
            "<h1>{name}</h1><p class=\"notice\">该企业暂停接受外来车辆登记，请联系企业门岗。</p>"
        )
    } else {
        format!(
            "<h1>{name}</h1><p class=\"notice ok\">外来货车司机请扫码登记。登记表即将开放，请按企业门岗指引办理。</p>"
        )
    };
    Ok(page(StatusCode::OK, &zone, &enterprise.name, &body))
}

fn not_found(zone: &str) -> HttpResponse {
    page(
        StatusCode::NOT_FOUND,
        zone,
        "未找到",
        "<h1>未找到该企业码</h1><p class=\"notice bad\">请确认扫描的是企业门口张贴的二维码。</p>",
    )
}
