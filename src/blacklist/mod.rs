//! The blacklist (黑名单): plates and drivers that one enterprise's gates, or every
//! gate of the zone, refuse. Contacts keep their enterprise's entries, the zone
//! command the zone-wide ones; an entry has a reason, may expire, and is lifted
//! rather than deleted. A driver is held by the blind index of their document (the
//! index registrations keep), so the number is never stored in clear here.
//!
//! A blacklisted plate or driver can still register: staff see the filing flagged
//! ([`reasons_for`]) and the gate refuses its entry ([`bars`]).

pub mod handlers;

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::audit::{self, Actor, Event};
use crate::db::mapping::text_enum;
use crate::db::schema::blacklist;
use crate::db::{DbConnection, MultiBackend, now};
use crate::domain::id::{BlacklistId, EnterpriseId, RegistrationId, UserId};
use crate::domain::person::{DocumentNumber, DocumentType};
use crate::domain::vehicle::Plate;
use crate::enterprises::Enterprise;
use crate::error::{ApiError, ErrorCode};
use crate::personal::Vault;
use crate::registrations::{Registration, document_index, masked_plate, utc};

text_enum! {
    /// What an entry holds.
    pub enum ListedKind {
        /// A vehicle, by its plate (as a truck's or a trailer's).
        Plate = "plate" / "车牌",
        /// A driver, by their document.
        Driver = "driver" / "驾驶员",
    }
}

/// A stored entry.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = blacklist, treat_none_as_default_value = false)]
pub struct Entry {
    /// Id.
    pub id: BlacklistId,
    /// The enterprise whose gates refuse; `None` for every gate of the zone.
    pub enterprise_id: Option<EnterpriseId>,
    /// Plate or driver.
    pub kind: ListedKind,
    /// The normalised plate (a plate entry).
    pub plate: Option<String>,
    /// The document's type (a driver entry).
    pub document_type: Option<DocumentType>,
    /// The document's blind index (a driver entry), as registrations keep it.
    pub document_index: Option<String>,
    /// The masked document number (a driver entry).
    pub document_masked: Option<String>,
    /// Why.
    pub reason: String,
    /// When it stops holding; `None` for never.
    pub expires_at: Option<NaiveDateTime>,
    /// Who added it.
    pub created_by: UserId,
    /// When.
    pub created_at: NaiveDateTime,
    /// When lifted.
    pub lifted_at: Option<NaiveDateTime>,
    /// Who lifted it.
    pub lifted_by: Option<UserId>,
}

/// Who or what is listed, validated.
#[derive(Clone, Debug)]
pub enum Listed {
    /// A plate.
    Plate(Plate),
    /// A driver's document.
    Driver(DocumentNumber),
}

impl Listed {
    /// What kind of entry holds it.
    pub fn kind(&self) -> ListedKind {
        match self {
            Listed::Plate(_) => ListedKind::Plate,
            Listed::Driver(_) => ListedKind::Driver,
        }
    }
}

/// A new entry, validated.
#[derive(Clone, Debug)]
pub struct NewEntry {
    /// Who or what.
    pub listed: Listed,
    /// Why (1 to 200 characters).
    pub reason: String,
    /// When it stops holding (in the future).
    pub expires_at: Option<NaiveDateTime>,
}

/// An entry as the API shows it: the plate and the document masked.
#[derive(Clone, Debug, Serialize)]
pub struct EntryView {
    /// Id.
    pub id: BlacklistId,
    /// The enterprise whose gates refuse; null for the whole zone.
    pub enterprise_id: Option<EnterpriseId>,
    /// Its name.
    pub enterprise_name: Option<String>,
    /// Plate or driver.
    pub kind: ListedKind,
    /// The masked plate.
    pub plate: Option<String>,
    /// The document's type.
    pub document_type: Option<DocumentType>,
    /// The masked document number.
    pub document_number: Option<String>,
    /// Why.
    pub reason: String,
    /// When it stops holding (UTC).
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Whether it holds now: neither lifted nor expired.
    pub live: bool,
    /// Who added it.
    pub created_by: UserId,
    /// When (UTC).
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When lifted (UTC).
    pub lifted_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Who lifted it.
    pub lifted_by: Option<UserId>,
}

/// Which entries a caller sees: all of them, or the zone-wide ones and those of
/// some enterprises.
#[derive(Clone, Debug)]
pub enum EntryScope {
    /// The zone command and admins.
    All,
    /// Zone-wide entries and those of these enterprises.
    ZoneAnd(Vec<EnterpriseId>),
}

type Boxed<'a> = blacklist::BoxedQuery<'a, MultiBackend>;

/// Entries that hold at `at`: not lifted, not expired.
fn live_at<'a>(at: NaiveDateTime) -> Boxed<'a> {
    blacklist::table
        .filter(blacklist::lifted_at.is_null())
        .filter(
            blacklist::expires_at
                .is_null()
                .or(blacklist::expires_at.gt(at)),
        )
        .into_boxed()
}

impl Entry {
    /// Whether the entry holds for `registration` (which it was loaded as a candidate
    /// for): its scope is the zone or the registration's enterprise, and it names the
    /// registration's plate, its trailer's, or its driver's document.
    fn applies_to(&self, registration: &Registration) -> bool {
        let in_scope = self
            .enterprise_id
            .as_ref()
            .is_none_or(|id| *id == registration.enterprise_id);
        let names = match self.kind {
            ListedKind::Plate => self.plate.as_deref().is_some_and(|plate| {
                plate == registration.plate || Some(plate) == registration.trailer_plate.as_deref()
            }),
            ListedKind::Driver => self
                .document_index
                .as_deref()
                .is_some_and(|index| !index.is_empty() && index == registration.document_index),
        };
        in_scope && names
    }

    /// Whether it holds at `at`.
    fn is_live(&self, at: NaiveDateTime) -> bool {
        self.lifted_at.is_none() && self.expires_at.is_none_or(|expires| expires > at)
    }

    /// Adds an entry for `enterprise` (`None`: the zone), its driver's document
    /// blind-indexed with `vault`. 409 `already_exists` when a live entry of the same
    /// scope already holds the plate or driver. Audited (`blacklist.add`), the plate
    /// and document masked.
    pub fn add(
        conn: &mut DbConnection,
        actor: &Actor,
        by: &UserId,
        vault: &Vault,
        enterprise: Option<EnterpriseId>,
        new: NewEntry,
    ) -> Result<Entry, ApiError> {
        let at = now();
        let (plate, document) = match &new.listed {
            Listed::Plate(plate) => (Some(plate.as_str().to_owned()), None),
            Listed::Driver(document) => (None, Some(document)),
        };
        let entry = Entry {
            id: BlacklistId::generate(),
            enterprise_id: enterprise,
            kind: new.listed.kind(),
            plate,
            document_type: document.map(DocumentNumber::kind),
            document_index: document.map(|document| document_index(vault, document)),
            document_masked: document.map(DocumentNumber::masked),
            reason: new.reason,
            expires_at: new.expires_at,
            created_by: by.clone(),
            created_at: at,
            lifted_at: None,
            lifted_by: None,
        };
        let mut same = live_at(at).filter(blacklist::kind.eq(entry.kind));
        same = match &entry.enterprise_id {
            Some(id) => same.filter(blacklist::enterprise_id.eq(id.clone())),
            None => same.filter(blacklist::enterprise_id.is_null()),
        };
        same = match entry.kind {
            ListedKind::Plate => same.filter(blacklist::plate.eq(entry.plate.clone())),
            ListedKind::Driver => {
                same.filter(blacklist::document_index.eq(entry.document_index.clone()))
            }
        };
        let held: Option<BlacklistId> = same.select(blacklist::id).first(conn).optional()?;
        if held.is_some() {
            return Err(ApiError::new(
                ErrorCode::AlreadyExists,
                format!("该{}已在黑名单中，无需重复添加", entry.kind.label()),
            ));
        }
        diesel::insert_into(blacklist::table)
            .values(&entry)
            .execute(conn)?;
        audit::append(conn, actor, entry.event("blacklist.add"))?;
        Ok(entry)
    }

    /// Lifts the entry (409 `invalid_transition` when it was lifted already); the
    /// row stays. Audited (`blacklist.lift`).
    pub fn lift(
        self,
        conn: &mut DbConnection,
        actor: &Actor,
        by: &UserId,
    ) -> Result<Entry, ApiError> {
        if self.lifted_at.is_some() {
            return Err(ApiError::new(
                ErrorCode::InvalidTransition,
                "该黑名单条目已解除",
            ));
        }
        let entry = Entry {
            lifted_at: Some(now()),
            lifted_by: Some(by.clone()),
            ..self
        };
        diesel::update(blacklist::table.find(&entry.id))
            .set((
                blacklist::lifted_at.eq(entry.lifted_at),
                blacklist::lifted_by.eq(&entry.lifted_by),
            ))
            .execute(conn)?;
        audit::append(conn, actor, entry.event("blacklist.lift"))?;
        Ok(entry)
    }

    /// The audit entry of a change: what the entry holds, masked.
    fn event(&self, action: &'static str) -> Event {
        Event::success(action, "blacklist", &self.id).with_details(json!({
            "enterprise_id": self.enterprise_id,
            "kind": self.kind,
            "plate": self.plate.as_deref().map(masked_plate),
            "document_type": self.document_type,
            "document_number": self.document_masked,
            "reason": self.reason,
            "expires_at": self.expires_at.map(utc),
        }))
    }

    /// The entry `id` if `scope` sees it; anything else is 404.
    pub fn find(
        conn: &mut DbConnection,
        scope: &EntryScope,
        id: &BlacklistId,
    ) -> Result<Entry, ApiError> {
        Ok(scoped(scope)
            .filter(blacklist::id.eq(id.clone()))
            .select(Entry::as_select())
            .first(conn)?)
    }

    /// The entries `scope` sees, newest first, after the cursor's id; only those of
    /// `plate` when given.
    pub fn list(
        conn: &mut DbConnection,
        scope: &EntryScope,
        plate: Option<&Plate>,
        before: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Entry>, ApiError> {
        let mut query = scoped(scope);
        if let Some(plate) = plate {
            query = query.filter(blacklist::plate.eq(plate.as_str().to_owned()));
        }
        if let Some(before) = before {
            query = query.filter(blacklist::id.lt(before.to_owned()));
        }
        Ok(query
            .order(blacklist::id.desc())
            .limit(limit)
            .select(Entry::as_select())
            .load(conn)?)
    }

    /// The entries as the API shows them, with their enterprises' names.
    pub fn views(conn: &mut DbConnection, rows: Vec<Entry>) -> Result<Vec<EntryView>, ApiError> {
        let ids: Vec<EnterpriseId> = rows
            .iter()
            .filter_map(|entry| entry.enterprise_id.clone())
            .collect();
        let names = Enterprise::names(conn, &ids)?;
        let at = now();
        Ok(rows
            .into_iter()
            .map(|entry| EntryView {
                enterprise_name: entry
                    .enterprise_id
                    .as_ref()
                    .and_then(|id| names.get(id).cloned()),
                live: entry.is_live(at),
                plate: entry.plate.as_deref().map(masked_plate),
                expires_at: entry.expires_at.map(utc),
                created_at: utc(entry.created_at),
                lifted_at: entry.lifted_at.map(utc),
                id: entry.id,
                enterprise_id: entry.enterprise_id,
                kind: entry.kind,
                document_type: entry.document_type,
                document_number: entry.document_masked,
                reason: entry.reason,
                created_by: entry.created_by,
                lifted_by: entry.lifted_by,
            })
            .collect())
    }
}

/// The entries `scope` sees.
fn scoped(scope: &EntryScope) -> Boxed<'static> {
    let query = blacklist::table.into_boxed();
    match scope {
        EntryScope::All => query,
        EntryScope::ZoneAnd(ids) => query.filter(
            blacklist::enterprise_id
                .is_null()
                .or(blacklist::enterprise_id.eq_any(ids.clone())),
        ),
    }
}

/// Whether a live entry bars `pass` from entering its enterprise: the gate's check,
/// one query of fixed shape.
pub fn bars(conn: &mut DbConnection, pass: &Registration) -> Result<bool, ApiError> {
    let trailer = pass.trailer_plate.as_deref().unwrap_or(&pass.plate);
    let candidates: Vec<Entry> = live_at(now())
        .filter(
            blacklist::enterprise_id
                .is_null()
                .or(blacklist::enterprise_id.eq(pass.enterprise_id.clone())),
        )
        .filter(
            blacklist::plate
                .eq(pass.plate.clone())
                .or(blacklist::plate.eq(trailer.to_owned()))
                .or(blacklist::document_index.eq(pass.document_index.clone())),
        )
        .select(Entry::as_select())
        .load(conn)?;
    Ok(candidates.iter().any(|entry| entry.applies_to(pass)))
}

/// The reason of a live entry holding each of `registrations` that one holds (the
/// newest entry's), in one query for them all: the flag staff see on a filing.
pub fn reasons_for(
    conn: &mut DbConnection,
    registrations: &[&Registration],
) -> Result<HashMap<RegistrationId, String>, ApiError> {
    if registrations.is_empty() {
        return Ok(HashMap::new());
    }
    let enterprises: Vec<&EnterpriseId> = registrations.iter().map(|r| &r.enterprise_id).collect();
    let plates: Vec<&str> = registrations
        .iter()
        .flat_map(|r| std::iter::once(r.plate.as_str()).chain(r.trailer_plate.as_deref()))
        .collect();
    let indexes: Vec<&str> = registrations
        .iter()
        .map(|r| r.document_index.as_str())
        .filter(|index| !index.is_empty())
        .collect();
    let candidates: Vec<Entry> = live_at(now())
        .filter(
            blacklist::enterprise_id
                .is_null()
                .or(blacklist::enterprise_id.eq_any(enterprises)),
        )
        .filter(
            blacklist::plate
                .eq_any(plates)
                .or(blacklist::document_index.eq_any(indexes)),
        )
        .order(blacklist::id.desc())
        .select(Entry::as_select())
        .load(conn)?;
    Ok(registrations
        .iter()
        .filter_map(|registration| {
            candidates
                .iter()
                .find(|entry| entry.applies_to(registration))
                .map(|entry| (registration.id.clone(), entry.reason.clone()))
        })
        .collect())
}
