//! The admin's poster bundles: the posters ZIP of one park's or one sector's
//! enterprises, through the API's bundle ([`posters_bundle`], audited as
//! `code.download`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};

use crate::codes::handlers::{MAX_POSTERS, posters_bundle};
use crate::console::org::Units;
use crate::console::session::{Posted, Signed};
use crate::console::{PageError, admin_only, layout, render};
use crate::domain::id::OrgUnitId;
use crate::enterprises::EnterpriseFilter;
use crate::error::ApiError;
use crate::org::{OrgKind, OrgUnit};
use crate::state::AppState;

/// The page's address (and the navigation entry).
pub const POSTERS_PATH: &str = "/console/posters";
const ZIP_PATH: &str = "/console/posters.zip";

fn pick(kind: OrgKind, field: &str, units: &[OrgUnit]) -> Markup {
    html! {
        form.card.filters method="get" action=(ZIP_PATH) {
            label { "按" (kind.label())
                select name=(field) required {
                    @for unit in units { option value=(unit.id) { (unit.name) } }
                }
            }
            button.btn type="submit" disabled[units.is_empty()] { "下载海报包" }
        }
    }
}

/// `GET /console/posters`: pick a park or a sector to download its posters.
pub async fn posters_page(
    state: web::Data<AppState>,
    signed: Signed,
) -> Result<HttpResponse, PageError> {
    admin_only(&signed)?;
    let units = Units::load(&state).await?;
    let body = html! {
        h1 { "企业码海报" }
        p.muted { "下载一个园区或一个行业所有企业的海报（PNG，打包为 ZIP），一次最多 " (MAX_POSTERS) " 张。" }
        (pick(OrgKind::Park, "park_id", &units.parks))
        (pick(OrgKind::Sector, "sector_id", &units.sectors))
    };
    let zone_name = &state.settings.zone_name;
    Ok(render(
        StatusCode::OK,
        layout::page(zone_name, &signed, POSTERS_PATH, "企业码海报", body),
    ))
}

/// `GET /console/posters.zip?park_id=|sector_id=`: the API's bundle for one park or
/// one sector.
pub async fn posters_zip_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
) -> Result<HttpResponse, PageError> {
    admin_only(&signed)?;
    let query = Posted::parse(req.query_string().as_bytes());
    let unit = |name| {
        query
            .value(name)
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(|id| OrgUnitId::from(id.to_owned()))
    };
    let filter = EnterpriseFilter {
        park_id: unit("park_id"),
        sector_id: unit("sector_id"),
        ..EnterpriseFilter::default()
    };
    if filter.park_id.is_none() && filter.sector_id.is_none() {
        let error = ApiError::field("park_id", "required", "请选择园区或行业");
        return Err(error.into());
    }
    Ok(posters_bundle(&state, &signed.caller, filter).await?)
}
