//! `/api/v1/blacklist[/{id}]`: list, read, add and lift blacklist entries. Enterprise
//! contacts keep their enterprise's entries and see the zone-wide ones too (the gate
//! refuses by them as well); the zone command adds zone-wide entries (or an
//! enterprise's) and lifts any; admins and officials read within their scope.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDateTime, SubsecRound};
use serde::Deserialize;

use crate::auth::caller::Caller;
use crate::blacklist::{Entry, EntryScope, EntryView, Listed, ListedKind, NewEntry};
use crate::body;
use crate::db::{DbConnection, now};
use crate::domain::account::Role;
use crate::domain::id::{BlacklistId, EnterpriseId};
use crate::domain::person::{DocumentNumber, DocumentType};
use crate::domain::text::bounded;
use crate::domain::vehicle::Plate;
use crate::domain::zone;
use crate::enterprises::{Enterprise, Visibility};
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::pagination::{Page, PageRequest};
use crate::registrations::visible_enterprises;
use crate::state::AppState;

/// Body of a new entry: a plate, or a driver's document, with a reason.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddBody {
    /// `plate` or `driver`.
    pub kind: String,
    /// The plate (`plate`).
    #[serde(default, deserialize_with = "body::non_null")]
    pub plate: Option<String>,
    /// The document's type (`driver`).
    #[serde(default, deserialize_with = "body::non_null")]
    pub document_type: Option<String>,
    /// The document's number (`driver`): blind-indexed, never stored.
    #[serde(default, deserialize_with = "body::non_null")]
    pub document_number: Option<String>,
    /// Why.
    #[serde(default)]
    pub reason: String,
    /// When it stops holding (RFC 3339, in the future); absent for never.
    #[serde(default, deserialize_with = "body::non_null")]
    pub expires_at: Option<String>,
    /// The enterprise whose gates refuse. Absent: a contact's own enterprise, the
    /// zone command's whole zone.
    #[serde(default, deserialize_with = "body::non_null")]
    pub enterprise_id: Option<EnterpriseId>,
}

impl AddBody {
    /// The entry, or every field's error (422).
    fn parse(&self, at: NaiveDateTime) -> Result<NewEntry, ApiError> {
        let mut errors = FieldErrors::default();
        let listed = match ListedKind::from_stored(&self.kind) {
            Some(ListedKind::Plate) => errors
                .check(Plate::parse(
                    self.plate.as_deref().unwrap_or_default(),
                    "plate",
                ))
                .map(Listed::Plate),
            Some(ListedKind::Driver) => {
                match self.document_type.as_deref().and_then(DocumentType::parse) {
                    Some(kind) => errors
                        .check(DocumentNumber::parse(
                            kind,
                            self.document_number.as_deref().unwrap_or_default(),
                            zone::today(),
                        ))
                        .map(Listed::Driver),
                    None => {
                        errors.push(FieldError::new(
                            "document_type",
                            "invalid_value",
                            "请选择证件类型",
                        ));
                        None
                    }
                }
            }
            None => {
                errors.push(FieldError::new(
                    "kind",
                    "invalid_value",
                    "kind 须为 plate（车牌）或 driver（驾驶员）",
                ));
                None
            }
        };
        let reason = errors.check(bounded("reason", &self.reason, 1, 200));
        let expires_at = match self.expires_at.as_deref() {
            Some(raw) => errors.check(expiry(raw, at)).map(Some),
            None => Some(None),
        };
        let (Some(listed), Some(reason), Some(expires_at)) = (listed, reason, expires_at) else {
            return Err(errors.into_error());
        };
        Ok(NewEntry {
            listed,
            reason,
            expires_at,
        })
    }
}

/// An entry's expiry: an RFC 3339 time after `at`, in UTC to the microsecond.
fn expiry(raw: &str, at: NaiveDateTime) -> Result<NaiveDateTime, FieldError> {
    let expires = DateTime::parse_from_rfc3339(raw.trim())
        .map(|time| time.naive_utc().trunc_subsecs(6))
        .map_err(|_| {
            FieldError::new(
                "expires_at",
                "invalid_date_time",
                "时间格式应为 RFC 3339（如 2027-01-01T00:00:00+08:00）",
            )
        })?;
    if expires <= at {
        return Err(FieldError::new(
            "expires_at",
            "in_the_past",
            "到期时间须晚于现在",
        ));
    }
    Ok(expires)
}

/// Query of the list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Page size.
    pub limit: Option<i64>,
    /// Where the page starts.
    pub cursor: Option<String>,
    /// Only the entries of this plate.
    pub plate: Option<String>,
}

/// The entries `caller` sees: all for admins and the zone command; the zone-wide
/// ones and those of the enterprises they see for everyone else.
fn scope_of(conn: &mut DbConnection, caller: &Caller) -> Result<EntryScope, ApiError> {
    Ok(match visible_enterprises(conn, &Visibility::of(caller))? {
        None => EntryScope::All,
        Some(ids) => EntryScope::ZoneAnd(ids.into_iter().map(EnterpriseId::from).collect()),
    })
}

/// The entry `id` that `caller` sees and may change: a contact only their
/// enterprise's (a zone-wide one they see is 403), the zone command any.
fn kept_entry(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &BlacklistId,
) -> Result<Entry, ApiError> {
    let scope = scope_of(conn, caller)?;
    let entry = Entry::find(conn, &scope, id)?;
    let keeps = match caller.role {
        Role::Regulator => true,
        _ => entry.enterprise_id.is_some() && entry.enterprise_id == caller.scope.enterprise_id,
    };
    if keeps {
        Ok(entry)
    } else {
        Err(ApiError::forbidden())
    }
}

/// The enterprise a new entry is for: a contact's own (naming another is 404), or
/// for the zone command the one named (404 when unknown) or none (the zone).
fn entry_enterprise(
    conn: &mut DbConnection,
    caller: &Caller,
    named: Option<EnterpriseId>,
) -> Result<Option<EnterpriseId>, ApiError> {
    match (caller.role, named) {
        (Role::Regulator, None) => Ok(None),
        (_, Some(id)) => Ok(Some(
            Enterprise::find(conn, &Visibility::of(caller), &id)?.id,
        )),
        (_, None) => caller
            .scope
            .enterprise_id
            .clone()
            .map(Some)
            .ok_or_else(ApiError::forbidden),
    }
}

fn one_view(conn: &mut DbConnection, entry: Entry) -> Result<EntryView, ApiError> {
    Entry::views(conn, vec![entry])?
        .pop()
        .ok_or_else(ApiError::not_found)
}

/// `GET /api/v1/blacklist`: the entries the caller sees, newest first, lifted and
/// expired ones included.
pub async fn list_blacklist(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> Result<web::Json<Page<EntryView>>, ApiError> {
    let query = query.into_inner();
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let plate = query
        .plate
        .as_deref()
        .map(|raw| Plate::parse(raw, "plate"))
        .transpose()
        .map_err(|e| ApiError::validation(vec![e]))?;
    let fetch = page.clone();
    let views = state
        .db
        .read(move |conn| {
            let scope = scope_of(conn, &caller)?;
            let rows = Entry::list(
                conn,
                &scope,
                plate.as_ref(),
                fetch.after.as_deref(),
                fetch.fetch(),
            )?;
            Entry::views(conn, rows)
        })
        .await?;
    Ok(web::Json(page.page(views, |entry| entry.id.to_string())))
}

/// `GET /api/v1/blacklist/{id}`: an entry the caller sees (else 404).
pub async fn find_blacklist_entry(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<BlacklistId>,
) -> Result<web::Json<EntryView>, ApiError> {
    let id = id.into_inner();
    let view = state
        .db
        .read(move |conn| {
            let scope = scope_of(conn, &caller)?;
            let entry = Entry::find(conn, &scope, &id)?;
            one_view(conn, entry)
        })
        .await?;
    Ok(web::Json(view))
}

/// `POST /api/v1/blacklist`: adds a plate or a driver to the caller's enterprise's
/// list (a contact) or the zone's (the zone command); 201 with the entry, the
/// document masked.
pub async fn add_blacklist_entry(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<AddBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let new = body.parse(now())?;
    let vault = state.vault.clone();
    let view = state
        .db
        .write(move |conn| {
            let enterprise = entry_enterprise(conn, &caller, body.enterprise_id)?;
            let entry = Entry::add(
                conn,
                &caller.actor(),
                &caller.user_id,
                &vault,
                enterprise,
                new,
            )?;
            one_view(conn, entry)
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// `DELETE /api/v1/blacklist/{id}`: lifts an entry the caller keeps; the entry stays
/// listed, lifted.
pub async fn lift_blacklist_entry(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<BlacklistId>,
) -> Result<web::Json<EntryView>, ApiError> {
    let id = id.into_inner();
    let view = state
        .db
        .write(move |conn| {
            let entry = kept_entry(conn, &caller, &id)?;
            let entry = entry.lift(conn, &caller.actor(), &caller.user_id)?;
            one_view(conn, entry)
        })
        .await?;
    Ok(web::Json(view))
}
