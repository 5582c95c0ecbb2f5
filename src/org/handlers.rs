//! `/api/v1/sectors` and `/api/v1/parks`: one set of handlers, generic over the kind.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::audit::{self, Event};
use crate::auth::caller::Caller;
use crate::body;
use crate::domain::id::OrgUnitId;
use crate::domain::org::{OrgCode, OrgName};
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::org::{NewOrgUnit, OrgKind, OrgUnit, OrgUnitChanges, OrgUnitView};
use crate::pagination::{Page, PageRequest};
use crate::state::AppState;

/// Chooses the kind a handler works on at compile time.
pub trait Kind {
    /// The kind.
    const KIND: OrgKind;
}

/// `/api/v1/sectors`.
pub struct Sectors;
impl Kind for Sectors {
    const KIND: OrgKind = OrgKind::Sector;
}

/// `/api/v1/parks`.
pub struct Parks;
impl Kind for Parks {
    const KIND: OrgKind = OrgKind::Park;
}

/// Query of the list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    limit: Option<i64>,
    cursor: Option<String>,
}

/// Body of a create.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    code: String,
    name: String,
    #[serde(default, deserialize_with = "body::non_null")]
    authority: Option<String>,
}

/// Body of an update.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    #[serde(default, deserialize_with = "body::non_null")]
    code: Option<String>,
    #[serde(default, deserialize_with = "body::non_null")]
    name: Option<String>,
    #[serde(default, deserialize_with = "body::non_null")]
    authority: Option<String>,
}

/// Validates the authority: required for new sectors, refused for parks.
fn parse_authority(
    kind: OrgKind,
    raw: Option<&str>,
    required: bool,
) -> Result<Option<OrgName>, FieldError> {
    match (kind, raw) {
        (OrgKind::Park, Some(_)) => Err(FieldError::new(
            "authority",
            "not_allowed",
            "园区没有主管部门字段",
        )),
        (OrgKind::Sector, Some(raw)) => OrgName::parse("authority", raw).map(Some),
        (OrgKind::Sector, None) if required => Err(FieldError::new(
            "authority",
            "required",
            "请填写行业主管部门",
        )),
        _ => Ok(None),
    }
}

impl TryFrom<(OrgKind, CreateBody)> for NewOrgUnit {
    type Error = ApiError;

    fn try_from((kind, body): (OrgKind, CreateBody)) -> Result<Self, ApiError> {
        let mut errors = FieldErrors::default();
        let code = errors.check(OrgCode::parse(&body.code));
        let name = errors.check(OrgName::parse("name", &body.name));
        let authority = errors.check(parse_authority(kind, body.authority.as_deref(), true));
        match (code, name, authority) {
            (Some(code), Some(name), Some(authority)) => Ok(Self {
                kind,
                code,
                name,
                authority,
            }),
            _ => Err(errors.into_error()),
        }
    }
}

impl TryFrom<(OrgKind, UpdateBody)> for OrgUnitChanges {
    type Error = ApiError;

    fn try_from((kind, body): (OrgKind, UpdateBody)) -> Result<Self, ApiError> {
        let mut errors = FieldErrors::default();
        let code = body.code.map(|raw| errors.check(OrgCode::parse(&raw)));
        let name = body
            .name
            .map(|raw| errors.check(OrgName::parse("name", &raw)));
        let authority = errors.check(parse_authority(kind, body.authority.as_deref(), false));
        errors.finish()?;
        Ok(Self {
            code: code.flatten(),
            name: name.flatten(),
            authority: authority.flatten(),
        })
    }
}

/// `GET`: units of the kind, ordered by code.
pub async fn list_org_units<K: Kind>(
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<web::Json<Page<OrgUnitView>>, ApiError> {
    let query = query.into_inner();
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let fetch = page.clone();
    let rows = state
        .db
        .read(move |conn| OrgUnit::list(conn, K::KIND, fetch.after.as_deref(), fetch.fetch()))
        .await?;
    let page = page.page(rows.into_iter().map(OrgUnitView::from).collect(), |unit| {
        unit.code.clone()
    });
    Ok(web::Json(page))
}

/// `GET /{id}`.
pub async fn find_org_unit<K: Kind>(
    state: web::Data<AppState>,
    id: web::Path<OrgUnitId>,
) -> Result<web::Json<OrgUnitView>, ApiError> {
    let unit = state
        .db
        .read(move |conn| OrgUnit::find(conn, K::KIND, &id))
        .await?;
    Ok(web::Json(unit.into()))
}

/// `POST`: admin creates a unit.
pub async fn create_org_unit<K: Kind>(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<CreateBody>,
) -> Result<HttpResponse, ApiError> {
    let new = NewOrgUnit::try_from((K::KIND, body.into_inner()))?;
    let unit = state
        .db
        .write(move |conn| {
            let unit = OrgUnit::create(conn, &new)?;
            audit::append(
                conn,
                &caller.actor(),
                Event::success("org_unit.create", K::KIND.as_str(), &unit.id),
            )?;
            Ok(unit)
        })
        .await?;
    Ok(HttpResponse::Created().json(OrgUnitView::from(unit)))
}

/// `PATCH /{id}`: admin changes code, name or authority.
pub async fn update_org_unit<K: Kind>(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<OrgUnitId>,
    body: web::Json<UpdateBody>,
) -> Result<web::Json<OrgUnitView>, ApiError> {
    let changes = OrgUnitChanges::try_from((K::KIND, body.into_inner()))?;
    let unit = state
        .db
        .write(move |conn| {
            let unit = OrgUnit::update(conn, K::KIND, &id, &changes)?;
            audit::append(
                conn,
                &caller.actor(),
                Event::success("org_unit.update", K::KIND.as_str(), &unit.id),
            )?;
            Ok(unit)
        })
        .await?;
    Ok(web::Json(unit.into()))
}

/// `DELETE /{id}`: admin removes a unit no account belongs to.
pub async fn delete_org_unit<K: Kind>(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<OrgUnitId>,
) -> Result<HttpResponse, ApiError> {
    state
        .db
        .write(move |conn| {
            OrgUnit::delete(conn, K::KIND, &id)?;
            audit::append(
                conn,
                &caller.actor(),
                Event::success("org_unit.delete", K::KIND.as_str(), &*id),
            )
            .map(drop)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
