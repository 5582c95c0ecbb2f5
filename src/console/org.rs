//! The admin's sectors and parks: both lists on one page, with forms to create,
//! rename and delete, through the API's services ([`create_unit`], [`update_unit`],
//! [`delete_unit`]): the same validation and audit entries; deleting a unit still in
//! use shows the API's refusal.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};

use crate::console::session::{Posted, Signed};
use crate::console::{PageError, admin_only, layout, render, see_other};
use crate::domain::id::OrgUnitId;
use crate::error::ApiError;
use crate::org::handlers::{CreateBody, Kind, UpdateBody, create_unit, delete_unit, update_unit};
use crate::org::{OrgKind, OrgUnit};
use crate::state::AppState;

/// The page's address (and the navigation entry).
pub const ORG_PATH: &str = "/console/org";
/// Most units of a kind listed or offered.
const MAX_UNITS: i64 = 500;

/// The zone's sectors and parks, ordered by code: to list, and to pick from (a
/// scope, a bundle).
pub struct Units {
    /// Sectors.
    pub sectors: Vec<OrgUnit>,
    /// Parks.
    pub parks: Vec<OrgUnit>,
}

impl Units {
    /// Loads both kinds.
    pub async fn load(state: &AppState) -> Result<Self, ApiError> {
        state
            .db
            .read(|conn| {
                Ok(Units {
                    sectors: OrgUnit::list(conn, OrgKind::Sector, None, MAX_UNITS)?,
                    parks: OrgUnit::list(conn, OrgKind::Park, None, MAX_UNITS)?,
                })
            })
            .await
    }
}

/// Where a kind's forms post.
fn kind_path(kind: OrgKind) -> &'static str {
    match kind {
        OrgKind::Sector => "/console/org/sectors",
        OrgKind::Park => "/console/org/parks",
    }
}

/// A field of a posted form, `None` when left empty.
fn given(posted: &Posted, name: &str) -> Option<String> {
    posted
        .value(name)
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .map(str::to_owned)
}

fn section(signed: &Signed, kind: OrgKind, units: &[OrgUnit]) -> Markup {
    let path = kind_path(kind);
    let sector = kind == OrgKind::Sector;
    html! {
        section.card {
            h2 { (kind.label()) }
            @if units.is_empty() { p.muted { "尚未建立" (kind.label()) "。" } }
            @for unit in units {
                div.actions style="border-bottom:1px solid #e3e8ee;padding:.5rem 0" {
                    form.filters method="post" action={ (path) "/" (unit.id) } {
                        (signed.csrf_field())
                        label { "编码" input type="text" name="code" value=(unit.code) required maxlength="32"; }
                        label { "名称" input type="text" name="name" value=(unit.name) required maxlength="64"; }
                        @if sector {
                            label { "主管部门" input type="text" name="authority" value=(unit.authority.as_deref().unwrap_or_default()) maxlength="64"; }
                        }
                        button.btn.alt type="submit" { "保存" }
                    }
                    form method="post" action={ (path) "/" (unit.id) "/delete" } {
                        (signed.csrf_field())
                        button.btn.bad type="submit" { "删除" }
                    }
                }
            }
            h2 { "新建" (kind.label()) }
            form.filters method="post" action=(path) {
                (signed.csrf_field())
                label { "编码" input type="text" name="code" required maxlength="32"; }
                label { "名称" input type="text" name="name" required maxlength="64"; }
                @if sector {
                    label { "主管部门" input type="text" name="authority" required maxlength="64"; }
                }
                button.btn type="submit" { "新建" }
            }
        }
    }
}

/// `GET /console/org`: the zone's sectors and parks with their forms.
pub async fn org_page(
    state: web::Data<AppState>,
    signed: Signed,
) -> Result<HttpResponse, PageError> {
    admin_only(&signed)?;
    let units = Units::load(&state).await?;
    let body = html! {
        h1 { "行业和园区" }
        p.muted { "仍有账号或企业属于的行业、园区不能删除，须先调整它们。" }
        (section(&signed, OrgKind::Sector, &units.sectors))
        (section(&signed, OrgKind::Park, &units.parks))
    };
    let zone_name = &state.settings.zone_name;
    Ok(render(
        StatusCode::OK,
        layout::page(zone_name, &signed, ORG_PATH, "行业和园区", body),
    ))
}

/// `POST /console/org/sectors` and `/parks`: the API's create; 303 back.
pub async fn create<K: Kind>(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = signed.posted(&req, &body)?;
    admin_only(&signed)?;
    let request = CreateBody {
        code: posted.value("code").unwrap_or_default().to_owned(),
        name: posted.value("name").unwrap_or_default().to_owned(),
        authority: given(&posted, "authority"),
    };
    create_unit(&state, signed.caller.clone(), K::KIND, request).await?;
    Ok(see_other(ORG_PATH))
}

/// `POST /console/org/sectors/{id}` and `/parks/{id}`: the API's update (code, name,
/// a sector's authority); 303 back.
pub async fn rename<K: Kind>(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    id: web::Path<OrgUnitId>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = signed.posted(&req, &body)?;
    admin_only(&signed)?;
    let request = UpdateBody {
        // Absent stays as it is; typed empty is refused by the API's validation.
        code: posted.value("code").map(str::to_owned),
        name: posted.value("name").map(str::to_owned),
        authority: given(&posted, "authority"),
    };
    update_unit(
        &state,
        signed.caller.clone(),
        K::KIND,
        id.into_inner(),
        request,
    )
    .await?;
    Ok(see_other(ORG_PATH))
}

/// `POST /console/org/sectors/{id}/delete` and `/parks/{id}/delete`: the API's delete
/// (refused, 409, while accounts or enterprises belong to it); 303 back.
pub async fn delete<K: Kind>(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    id: web::Path<OrgUnitId>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    signed.posted(&req, &body)?;
    admin_only(&signed)?;
    delete_unit(&state, signed.caller.clone(), K::KIND, id.into_inner()).await?;
    Ok(see_other(ORG_PATH))
}
