//! `GET /r/{token}`: what a driver sees after scanning an enterprise's poster. Until
//! the registration form arrives it shows the enterprise and whether it accepts
//! registrations; a replaced code answers 410, an unknown one 404 without hints.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use crate::codes::public::{PAUSED, REPLACED};
use crate::codes::{self, Scan};
use crate::error::ApiError;
use crate::state::AppState;
use crate::web::{escape, page};

/// `GET /r/{token}`.
pub async fn show_code_page(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let zone = state.settings.zone_name.clone();
    let (enterprise, accepting) = match codes::open(&state, &token).await? {
        Scan::Unknown => return Ok(not_found(&zone)),
        Scan::Replaced(enterprise) => {
            let body = format!(
                "<h1>{}</h1><p class=\"notice bad\">{REPLACED}</p>",
                escape(&enterprise.name)
            );
            return Ok(page(StatusCode::GONE, &zone, "此码已更换", &body));
        }
        Scan::Current {
            enterprise,
            accepting,
            ..
        } => (enterprise, accepting),
    };
    let name = escape(&enterprise.name);
    let body = if accepting {
        format!(
            "<h1>{name}</h1><p class=\"notice ok\">外来货车司机请扫码登记。登记表即将开放，请按企业门岗指引办理。</p>"
        )
    } else {
        format!("<h1>{name}</h1><p class=\"notice\">{PAUSED}</p>")
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
