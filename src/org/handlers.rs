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

/// Body of a create (also what the console's form makes).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// Short code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Sector authority (sectors only).
    #[serde(default, deserialize_with = "body::non_null")]
    pub authority: Option<String>,
}

/// Body of an update (also what the console's form makes).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    /// New code.
    #[serde(default, deserialize_with = "body::non_null")]
    pub code: Option<String>,
    /// New name.
    #[serde(default, deserialize_with = "body::non_null")]
    pub name: Option<String>,
    /// New authority (sectors only).
    #[serde(default, deserialize_with = "body::non_null")]
    pub authority: Option<String>,
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
    let unit = create_unit(&state, caller, K::KIND, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(OrgUnitView::from(unit)))
}

/// Creates a sector or park (audit `org_unit.create`): the API's create and the
/// console's.
pub async fn create_unit(
    state: &AppState,
    caller: Caller,
    kind: OrgKind,
    body: CreateBody,
) -> Result<OrgUnit, ApiError> {
    let new = NewOrgUnit::try_from((kind, body))?;
    state
        .db
        .write(move |conn| {
            let unit = OrgUnit::create(conn, &new)?;
            audit::append(
                conn,
                &caller.actor(),
                Event::success("org_unit.create", kind.as_str(), &unit.id),
            )?;
            Ok(unit)
        })
        .await
}

/// `PATCH /{id}`: admin changes code, name or authority.
pub async fn update_org_unit<K: Kind>(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<OrgUnitId>,
    body: web::Json<UpdateBody>,
) -> Result<web::Json<OrgUnitView>, ApiError> {
    let unit = update_unit(&state, caller, K::KIND, id.into_inner(), body.into_inner()).await?;
    Ok(web::Json(unit.into()))
}

/// Changes a sector or park (audit `org_unit.update`): the API's update and the
/// console's.
pub async fn update_unit(
    state: &AppState,
    caller: Caller,
    kind: OrgKind,
    id: OrgUnitId,
    body: UpdateBody,
) -> Result<OrgUnit, ApiError> {
    let changes = OrgUnitChanges::try_from((kind, body))?;
    state
        .db
        .write(move |conn| {
            let unit = OrgUnit::update(conn, kind, &id, &changes)?;
            audit::append(
                conn,
                &caller.actor(),
                Event::success("org_unit.update", kind.as_str(), &unit.id),
            )?;
            Ok(unit)
        })
        .await
}

/// `DELETE /{id}`: admin removes a unit no account belongs to.
pub async fn delete_org_unit<K: Kind>(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<OrgUnitId>,
) -> Result<HttpResponse, ApiError> {
    delete_unit(&state, caller, K::KIND, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Deletes a sector or park no account or enterprise belongs to (audit
/// `org_unit.delete`; else 409 `org_unit_in_use`): the API's delete and the console's.
pub async fn delete_unit(
    state: &AppState,
    caller: Caller,
    kind: OrgKind,
    id: OrgUnitId,
) -> Result<(), ApiError> {
    state
        .db
        .write(move |conn| {
            OrgUnit::delete(conn, kind, &id)?;
            audit::append(
                conn,
                &caller.actor(),
                Event::success("org_unit.delete", kind.as_str(), &id),
            )
            .map(drop)
        })
        .await
}
