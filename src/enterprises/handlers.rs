//! `/api/v1/enterprises`: the roster, scoped to the caller, and its import (exports are
//! in [`super::exports`]).

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::audit::{self, Event};
use crate::auth::caller::Caller;
use crate::body;
use crate::db::DbConnection;
use crate::domain::enterprise::{
    Coordinates, CreditCode, EnterpriseName, EnterpriseStatus, parse_address, parse_contact_person,
};
use crate::domain::id::{EnterpriseId, OrgUnitId};
use crate::domain::person::Mobile;
use crate::enterprises::import::{self, ImportOptions, ImportReport};
use crate::enterprises::roster;
use crate::enterprises::{
    CONTACT_PHONE, Enterprise, EnterpriseChanges, EnterpriseFilter, EnterpriseView, NewEnterprise,
    Visibility,
};
use crate::error::{ApiError, ErrorCode, FieldError, FieldErrors};
use crate::heavy::Slot;
use crate::org::{OrgKind, OrgUnit};
use crate::pagination::{Page, PageRequest};
use crate::personal::SealedMobile;
use crate::registrations::handlers::{RevealBody, reveal_reason};
use crate::state::AppState;

/// Largest roster file accepted.
pub const IMPORT_LIMIT: usize = 20 * 1024 * 1024;

/// Filters shared by the list and the exports.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterQuery {
    sector_id: Option<OrgUnitId>,
    park_id: Option<OrgUnitId>,
    status: Option<EnterpriseStatus>,
    key_enterprise: Option<bool>,
    q: Option<String>,
}

impl From<FilterQuery> for EnterpriseFilter {
    fn from(query: FilterQuery) -> Self {
        Self {
            sector_id: query.sector_id,
            park_id: query.park_id,
            status: query.status,
            key_enterprise: query.key_enterprise,
            q: query
                .q
                .map(|q| q.trim().to_owned())
                .filter(|q| !q.is_empty()),
            ids: None,
        }
    }
}

/// Query of the list: the filters plus paging. (Not `#[serde(flatten)]`: query
/// strings lose their types through it.)
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    limit: Option<i64>,
    cursor: Option<String>,
    sector_id: Option<OrgUnitId>,
    park_id: Option<OrgUnitId>,
    status: Option<EnterpriseStatus>,
    key_enterprise: Option<bool>,
    q: Option<String>,
}

/// Body of a create.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    name: String,
    credit_code: String,
    sector_id: OrgUnitId,
    park_id: OrgUnitId,
    #[serde(default)]
    address: String,
    #[serde(default)]
    key_enterprise: bool,
    #[serde(default, deserialize_with = "body::non_null")]
    status: Option<EnterpriseStatus>,
    longitude: Option<f64>,
    latitude: Option<f64>,
    #[serde(default)]
    contact_person: String,
    #[serde(default, deserialize_with = "body::non_null")]
    contact_phone: Option<String>,
}

/// Body of an update; absent fields stay as they are.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    #[serde(default, deserialize_with = "body::non_null")]
    name: Option<String>,
    #[serde(default, deserialize_with = "body::non_null")]
    sector_id: Option<OrgUnitId>,
    #[serde(default, deserialize_with = "body::non_null")]
    park_id: Option<OrgUnitId>,
    #[serde(default, deserialize_with = "body::non_null")]
    address: Option<String>,
    #[serde(default, deserialize_with = "body::non_null")]
    key_enterprise: Option<bool>,
    #[serde(default, deserialize_with = "body::non_null")]
    status: Option<EnterpriseStatus>,
    /// `null` for both clears the location.
    #[serde(default, deserialize_with = "body::nullable")]
    longitude: Option<Option<f64>>,
    #[serde(default, deserialize_with = "body::nullable")]
    latitude: Option<Option<f64>>,
    #[serde(default, deserialize_with = "body::non_null")]
    contact_person: Option<String>,
    /// `null` clears the contact phone.
    #[serde(default, deserialize_with = "body::nullable")]
    contact_phone: Option<Option<String>>,
}

/// Query of the import.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    partial: bool,
}

/// Checks that sector and park ids name existing units.
fn check_units(
    conn: &mut DbConnection,
    sector_id: Option<&OrgUnitId>,
    park_id: Option<&OrgUnitId>,
) -> Result<(), ApiError> {
    let mut errors = FieldErrors::default();
    for (kind, id, field) in [
        (OrgKind::Sector, sector_id, "sector_id"),
        (OrgKind::Park, park_id, "park_id"),
    ] {
        if let Some(id) = id
            && OrgUnit::find(conn, kind, id).is_err()
        {
            errors.push(FieldError::new(
                field,
                "unknown_org_unit",
                format!("{}不存在", kind.label()),
            ));
        }
    }
    errors.finish()
}

/// `GET /api/v1/enterprises`.
pub async fn list_enterprises(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> Result<web::Json<Page<EnterpriseView>>, ApiError> {
    let ListQuery {
        limit,
        cursor,
        sector_id,
        park_id,
        status,
        key_enterprise,
        q,
    } = query.into_inner();
    let page = PageRequest::parse(limit, cursor.as_deref())?;
    let filter = EnterpriseFilter::from(FilterQuery {
        sector_id,
        park_id,
        status,
        key_enterprise,
        q,
    });
    let visibility = Visibility::of(&caller);
    let fetch = page.clone();
    let views = state
        .db
        .read(move |conn| {
            let rows = Enterprise::list(
                conn,
                &visibility,
                &filter,
                fetch.after.as_deref(),
                fetch.fetch(),
            )?;
            Enterprise::views(conn, rows)
        })
        .await?;
    Ok(web::Json(page.page(views, |e| e.id.to_string())))
}

/// `GET /api/v1/enterprises/{id}`.
pub async fn find_enterprise(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<EnterpriseId>,
) -> Result<web::Json<EnterpriseView>, ApiError> {
    Ok(web::Json(
        visible_enterprise(&state, &caller, id.into_inner()).await?,
    ))
}

/// An enterprise visible to `caller` (else 404), with its sector's and park's names.
pub async fn visible_enterprise(
    state: &AppState,
    caller: &Caller,
    id: EnterpriseId,
) -> Result<EnterpriseView, ApiError> {
    let visibility = Visibility::of(caller);
    state
        .db
        .read(move |conn| {
            let row = Enterprise::find(conn, &visibility, &id)?;
            Enterprise::view(conn, row)
        })
        .await
}

/// A contact phone sealed as the roster stores it.
fn seal_contact_phone(state: &AppState, mobile: &Mobile) -> Result<SealedMobile, ApiError> {
    state
        .vault
        .seal_mobile(CONTACT_PHONE, mobile)
        .map_err(ApiError::internal)
}

/// `POST /api/v1/enterprises`: adds an enterprise and issues its code.
pub async fn create_enterprise(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<CreateBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let mut errors = FieldErrors::default();
    let name = errors.check(EnterpriseName::parse(&body.name));
    let credit_code = errors.check(CreditCode::parse(&body.credit_code));
    let address = errors.check(parse_address(&body.address));
    let coordinates = errors.check(Coordinates::parse(body.longitude, body.latitude));
    let contact_person = errors.check(parse_contact_person(&body.contact_person));
    let contact_phone = body
        .contact_phone
        .as_deref()
        .map(|raw| errors.check(Mobile::parse(raw).map_err(|e| e.named("contact_phone"))));
    let (Some(name), Some(credit_code), Some(address), Some(coordinates), Some(contact_person)) =
        (name, credit_code, address, coordinates, contact_person)
    else {
        return Err(errors.into_error());
    };
    errors.finish()?;
    let contact_phone = contact_phone
        .flatten()
        .map(|mobile| seal_contact_phone(&state, &mobile))
        .transpose()?;
    let new = NewEnterprise {
        name,
        credit_code,
        sector_id: body.sector_id,
        park_id: body.park_id,
        address,
        key_enterprise: body.key_enterprise,
        status: body.status.unwrap_or(EnterpriseStatus::Operating),
        coordinates,
        contact_person,
        contact_phone,
    };
    let view = state
        .db
        .write(move |conn| {
            check_units(conn, Some(&new.sector_id), Some(&new.park_id))?;
            let enterprise = Enterprise::create(conn, &new)?;
            audit::append(
                conn,
                &caller.actor(),
                Event::success("enterprise.create", "enterprise", &enterprise.id),
            )?;
            Enterprise::view(conn, enterprise)
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// `PATCH /api/v1/enterprises/{id}`: details and status (在营/停产/关闭).
pub async fn update_enterprise(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<EnterpriseId>,
    body: web::Json<UpdateBody>,
) -> Result<web::Json<EnterpriseView>, ApiError> {
    let body = body.into_inner();
    let mut errors = FieldErrors::default();
    let name = body
        .name
        .as_deref()
        .map(|raw| errors.check(EnterpriseName::parse(raw)));
    let address = body
        .address
        .as_deref()
        .map(|raw| errors.check(parse_address(raw)));
    // Both numbers set the location, both `null` clear it.
    let coordinates = match (body.longitude, body.latitude) {
        (None, None) => None,
        (Some(longitude), Some(latitude)) => {
            Some(errors.check(Coordinates::parse(longitude, latitude)))
        }
        (Some(_), None) => {
            errors.push(Coordinates::unpaired("latitude"));
            None
        }
        (None, Some(_)) => {
            errors.push(Coordinates::unpaired("longitude"));
            None
        }
    };
    let contact_person = body
        .contact_person
        .as_deref()
        .map(|raw| errors.check(parse_contact_person(raw)));
    let contact_phone = body.contact_phone.map(|phone| {
        phone.map(|raw| errors.check(Mobile::parse(&raw).map_err(|e| e.named("contact_phone"))))
    });
    errors.finish()?;
    let contact_phone = match contact_phone {
        None => None,
        Some(None) => Some(None),
        Some(Some(mobile)) => Some(
            mobile
                .map(|mobile| seal_contact_phone(&state, &mobile))
                .transpose()?,
        ),
    };
    let changes = EnterpriseChanges {
        name: name.flatten(),
        sector_id: body.sector_id,
        park_id: body.park_id,
        address: address.flatten(),
        key_enterprise: body.key_enterprise,
        status: body.status,
        coordinates: coordinates.flatten(),
        contact_person: contact_person.flatten(),
        contact_phone,
    };
    let visibility = Visibility::of(&caller);
    let view = state
        .db
        .write(move |conn| {
            let before = Enterprise::find(conn, &visibility, &id)?;
            check_units(conn, changes.sector_id.as_ref(), changes.park_id.as_ref())?;
            let changes = changes.keeping_phone_of(&before);
            let enterprise = Enterprise::update(conn, &before.id, &changes)?;
            let event = Event::success("enterprise.update", "enterprise", &enterprise.id)
                .with_details(audit::changes(&before.audited(), &enterprise.audited()));
            audit::append(conn, &caller.actor(), event)?;
            Enterprise::view(conn, enterprise)
        })
        .await?;
    // Its status decides whether its code takes registrations.
    state.code_forms.forget_all();
    Ok(web::Json(view))
}

/// An enterprise's contact in full, as the audited reveal gives it.
#[derive(Debug, Serialize)]
pub struct RevealedContact {
    /// Contact person (联系人), empty when unknown.
    pub contact_person: String,
    /// The full mobile number; `None` when the roster gave none.
    pub contact_phone: Option<String>,
}

/// `POST /api/v1/enterprises/{id}/contact/reveal`: the contact's full phone, for a
/// stated reason that goes into the audit entry `enterprise.contact_reveal` (the
/// reason only, never the number). Allowed to those who may reveal a driver's data
/// (the zone command, and the enterprise's own contact); an enterprise outside the
/// caller's view is 404.
pub async fn reveal_enterprise_contact(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<EnterpriseId>,
    body: web::Json<RevealBody>,
) -> Result<web::Json<RevealedContact>, ApiError> {
    let reason = reveal_reason(&body.into_inner().reason)?;
    let visibility = Visibility::of(&caller);
    let id = id.into_inner();
    let enterprise = state
        .db
        .write(move |conn| {
            let enterprise = Enterprise::find(conn, &visibility, &id)?;
            let event = Event::success("enterprise.contact_reveal", "enterprise", &enterprise.id)
                .with_details(serde_json::json!({ "reason": reason }));
            audit::append(conn, &caller.actor(), event)?;
            Ok(enterprise)
        })
        .await?;
    let contact_phone = enterprise
        .sealed_contact_phone()
        .map(|phone| state.vault.open(CONTACT_PHONE, &phone.sealed))
        .transpose()
        .map_err(ApiError::internal)?;
    Ok(web::Json(RevealedContact {
        contact_person: enterprise.contact_person,
        contact_phone,
    }))
}

/// `POST /api/v1/enterprises/import?dry_run=&partial=`: the body is the CSV or XLSX
/// file itself. Nothing is written when any row is bad, unless `partial=true`. One
/// import per user and two in all at a time (429 `too_busy` past that).
pub async fn import_enterprises(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    query: web::Query<ImportQuery>,
    payload: web::Payload,
) -> Result<web::Json<ImportReport>, ApiError> {
    let slot = state.heavy.imports.take(caller.user_id.as_str())?;
    let body = sheet_file(&req, payload).await?;
    let options = ImportOptions {
        dry_run: query.dry_run,
        partial: query.partial,
    };
    let report = import_roster(&state, &caller, &slot, body, options).await?;
    Ok(web::Json(report))
}

/// The body of an upload of a sheet: a CSV or XLSX file of at most [`IMPORT_LIMIT`]
/// bytes (415 for another content type).
pub async fn sheet_file(req: &HttpRequest, payload: web::Payload) -> Result<web::Bytes, ApiError> {
    let content_type = body::media_type(req);
    let accepted = [
        "text/csv",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/octet-stream",
    ];
    if !accepted.iter().any(|t| content_type.starts_with(t)) {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "请上传 CSV 或 XLSX 文件（Content-Type: text/csv 或 XLSX）",
        ));
    }
    Ok(body::read_limited(payload, IMPORT_LIMIT).await?.into())
}

/// Imports a roster file (CSV or XLSX) as [`import_enterprises`] describes, for the
/// API and the console; the caller holds one of the import slots while the file is
/// read and imported.
pub async fn import_roster(
    state: &AppState,
    caller: &Caller,
    _slot: &Slot,
    file: web::Bytes,
    options: ImportOptions,
) -> Result<ImportReport, ApiError> {
    let rows = web::block(move || roster::read(&file))
        .await
        .map_err(ApiError::internal)?
        .map_err(|error| ApiError::new(error.code(), error.message()))?;
    let actor = caller.actor();
    let vault = state.vault.clone();
    let report = state
        .db
        .write(move |conn| import::run(conn, &vault, &actor, rows, options))
        .await?;
    state.code_forms.forget_all();
    Ok(report)
}
