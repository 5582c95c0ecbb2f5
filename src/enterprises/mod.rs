//! The enterprise roster: the `Enterprise` model, who may see which enterprise, and
//! its queries. Every query takes the caller's [`Visibility`], so a forgotten check
//! cannot leak a row: an enterprise outside it is simply not found.

pub mod exports;
pub mod handlers;
pub mod import;
pub mod roster;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::auth::caller::Caller;
use crate::codes::EnterpriseCode;
use crate::db::schema::{enterprises, org_units};
use crate::db::{DbConnection, MultiBackend, now};
use crate::domain::account::Role;
use crate::domain::enterprise::{Coordinates, CreditCode, EnterpriseName, EnterpriseStatus};
use crate::domain::id::{EnterpriseId, OrgUnitId};
use crate::error::{ApiError, ErrorCode};
use crate::personal::SealedMobile;
use crate::survey::cases::Case;

/// Which enterprises a caller may see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Visibility {
    /// Admins and the zone command.
    All,
    /// Sector officials and sector survey teams.
    Sectors(Vec<OrgUnitId>),
    /// Park officials and park survey teams.
    Parks(Vec<OrgUnitId>),
    /// An enterprise contact: their own enterprise.
    Enterprise(EnterpriseId),
}

impl Visibility {
    /// The caller's view of the roster.
    pub fn of(caller: &Caller) -> Self {
        let scope = &caller.scope;
        match caller.role {
            Role::Admin | Role::Regulator => Visibility::All,
            Role::SectorOfficial => Visibility::Sectors(scope.sector_ids.clone()),
            Role::ParkOfficial => Visibility::Parks(scope.park_ids.clone()),
            Role::Surveyor if !scope.sector_ids.is_empty() => {
                Visibility::Sectors(scope.sector_ids.clone())
            }
            Role::Surveyor => Visibility::Parks(scope.park_ids.clone()),
            Role::EnterpriseContact | Role::GateGuard => {
                Visibility::Enterprise(
                    // A contact without an enterprise sees none: no id is empty.
                    scope
                        .enterprise_id
                        .clone()
                        .unwrap_or_else(|| EnterpriseId::from(String::new())),
                )
            }
        }
    }

    /// Whether the enterprise `id` of `sector` and `park` is visible (for rows read
    /// with their enterprise's place).
    pub fn admits(&self, id: &EnterpriseId, sector: &OrgUnitId, park: &OrgUnitId) -> bool {
        match self {
            Visibility::All => true,
            Visibility::Sectors(ids) => ids.contains(sector),
            Visibility::Parks(ids) => ids.contains(park),
            Visibility::Enterprise(own) => own == id,
        }
    }

    /// Restricts a query of enterprises to what is visible.
    pub fn apply<'a>(
        &self,
        query: enterprises::BoxedQuery<'a, MultiBackend>,
    ) -> enterprises::BoxedQuery<'a, MultiBackend> {
        match self {
            Visibility::All => query,
            Visibility::Sectors(ids) => query.filter(enterprises::sector_id.eq_any(ids.clone())),
            Visibility::Parks(ids) => query.filter(enterprises::park_id.eq_any(ids.clone())),
            Visibility::Enterprise(id) => query.filter(enterprises::id.eq(id.clone())),
        }
    }
}

/// Where an enterprise sits: its sector and park, for statistics over a scope.
#[derive(Clone, Debug, PartialEq, Eq, Queryable)]
pub struct Placement {
    /// The enterprise.
    pub id: EnterpriseId,
    /// Its sector.
    pub sector_id: OrgUnitId,
    /// Its park.
    pub park_id: OrgUnitId,
}

impl Placement {
    /// Where each visible enterprise sits.
    pub fn of_visible(
        conn: &mut DbConnection,
        visibility: &Visibility,
    ) -> Result<Vec<Placement>, ApiError> {
        Ok(visibility
            .apply(enterprises::table.into_boxed())
            .select((
                enterprises::id,
                enterprises::sector_id,
                enterprises::park_id,
            ))
            .load(conn)?)
    }
}

/// A stored enterprise.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = enterprises)]
pub struct Enterprise {
    /// Id.
    pub id: EnterpriseId,
    /// Registered Chinese name.
    pub name: String,
    /// Unified social credit code.
    pub credit_code: String,
    /// Sector (行业).
    pub sector_id: OrgUnitId,
    /// Park (园区).
    pub park_id: OrgUnitId,
    /// Address.
    pub address: String,
    /// Key enterprise (重点企业).
    pub key_enterprise: bool,
    /// `operating`, `suspended` or `closed`.
    pub status: EnterpriseStatus,
    /// Longitude.
    pub longitude: Option<f64>,
    /// Latitude.
    pub latitude: Option<f64>,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Last changed.
    pub updated_at: NaiveDateTime,
    /// Contact person (联系人), empty when unknown.
    pub contact_person: String,
    /// Contact phone sealed under [`CONTACT_PHONE`], empty when unknown.
    pub contact_phone_sealed: String,
    /// Its blind index, empty when unknown.
    pub contact_phone_index: String,
    /// Its masked form, empty when unknown.
    pub contact_phone_masked: String,
}

/// The vault context of an enterprise's contact phone.
pub const CONTACT_PHONE: &str = "enterprises.contact_phone";

/// A validated enterprise to create, or the full new state of one to update.
#[derive(Clone, Debug)]
pub struct NewEnterprise {
    /// Name.
    pub name: EnterpriseName,
    /// Credit code.
    pub credit_code: CreditCode,
    /// Sector id (checked to exist).
    pub sector_id: OrgUnitId,
    /// Park id (checked to exist).
    pub park_id: OrgUnitId,
    /// Address.
    pub address: String,
    /// Key enterprise flag.
    pub key_enterprise: bool,
    /// Status.
    pub status: EnterpriseStatus,
    /// Map position.
    pub coordinates: Option<Coordinates>,
    /// Contact person (may be empty).
    pub contact_person: String,
    /// Contact phone, sealed.
    pub contact_phone: Option<SealedMobile>,
}

/// Validated changes; `None` leaves a field alone.
#[derive(Clone, Debug, Default)]
pub struct EnterpriseChanges {
    /// New name.
    pub name: Option<EnterpriseName>,
    /// New sector.
    pub sector_id: Option<OrgUnitId>,
    /// New park.
    pub park_id: Option<OrgUnitId>,
    /// New address.
    pub address: Option<String>,
    /// New key flag.
    pub key_enterprise: Option<bool>,
    /// New status.
    pub status: Option<EnterpriseStatus>,
    /// New position (`Some(None)` clears it).
    pub coordinates: Option<Option<Coordinates>>,
    /// New contact person.
    pub contact_person: Option<String>,
    /// New contact phone (`Some(None)` clears it).
    pub contact_phone: Option<Option<SealedMobile>>,
}

impl EnterpriseChanges {
    /// The changes that turn `current` into `new` (what an import row asks for).
    pub fn between(current: &Enterprise, new: &NewEnterprise) -> Self {
        let coordinates = new.coordinates.map(|c| (c.longitude, c.latitude));
        let differs = |a: Option<f64>, b: Option<f64>| a != b;
        Self {
            name: (current.name != new.name.as_str()).then(|| new.name.clone()),
            sector_id: (current.sector_id != new.sector_id).then(|| new.sector_id.clone()),
            park_id: (current.park_id != new.park_id).then(|| new.park_id.clone()),
            address: (current.address != new.address).then(|| new.address.clone()),
            key_enterprise: (current.key_enterprise != new.key_enterprise)
                .then_some(new.key_enterprise),
            status: (current.status != new.status).then_some(new.status),
            coordinates: (differs(current.longitude, coordinates.map(|c| c.0))
                || differs(current.latitude, coordinates.map(|c| c.1)))
            .then_some(new.coordinates),
            contact_person: (current.contact_person != new.contact_person)
                .then(|| new.contact_person.clone()),
            contact_phone: (current.contact_phone_index
                != new.contact_phone.as_ref().map_or("", |p| p.index.as_str()))
            .then(|| new.contact_phone.clone()),
        }
    }

    /// The same changes, except a contact phone equal to `current`'s (the same number
    /// sealed anew), which is left alone rather than re-sealed and audited as a change.
    pub fn keeping_phone_of(mut self, current: &Enterprise) -> Self {
        if let Some(Some(phone)) = &self.contact_phone
            && phone.index == current.contact_phone_index
        {
            self.contact_phone = None;
        }
        self
    }

    /// True when nothing would change.
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.sector_id.is_none()
            && self.park_id.is_none()
            && self.address.is_none()
            && self.key_enterprise.is_none()
            && self.status.is_none()
            && self.coordinates.is_none()
            && self.contact_person.is_none()
            && self.contact_phone.is_none()
    }
}

/// An enterprise as the API shows it, with its sector's and park's names.
#[derive(Clone, Debug, Serialize)]
pub struct EnterpriseView {
    /// Id.
    pub id: EnterpriseId,
    /// Name.
    pub name: String,
    /// Credit code.
    pub credit_code: String,
    /// Sector id.
    pub sector_id: OrgUnitId,
    /// Sector name.
    pub sector_name: String,
    /// Park id.
    pub park_id: OrgUnitId,
    /// Park name.
    pub park_name: String,
    /// Address.
    pub address: String,
    /// Key enterprise.
    pub key_enterprise: bool,
    /// Status.
    pub status: EnterpriseStatus,
    /// Longitude.
    pub longitude: Option<f64>,
    /// Latitude.
    pub latitude: Option<f64>,
    /// Contact person (联系人), empty when unknown.
    pub contact_person: String,
    /// Contact phone, masked (`138****5678`); the full number only through the
    /// audited reveal.
    pub contact_phone: Option<String>,
    /// Created (UTC).
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last changed (UTC).
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// List filters.
#[derive(Clone, Debug, Default)]
pub struct EnterpriseFilter {
    /// In this sector.
    pub sector_id: Option<OrgUnitId>,
    /// In this park.
    pub park_id: Option<OrgUnitId>,
    /// With this status.
    pub status: Option<EnterpriseStatus>,
    /// Key enterprises only (or only others).
    pub key_enterprise: Option<bool>,
    /// Part of the name or credit code.
    pub q: Option<String>,
    /// Only these ids.
    pub ids: Option<Vec<EnterpriseId>>,
}

/// Between the name and the id in a key of [`EnterpriseOrder::Name`] (ids hold no
/// line break, so the last one splits).
const NAME_KEY_SEPARATOR: char = '\n';

/// The order of a roster list (ids are time-ordered, so id order is creation order).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EnterpriseOrder {
    /// Oldest first (the API's order).
    #[default]
    Created,
    /// Newest first.
    Newest,
    /// By name, then id.
    Name,
}

impl EnterpriseOrder {
    /// The key that a page in this order continues after, for the enterprise with `id`
    /// and `name`.
    pub fn key(self, id: &EnterpriseId, name: &str) -> String {
        match self {
            EnterpriseOrder::Created | EnterpriseOrder::Newest => id.to_string(),
            EnterpriseOrder::Name => format!("{name}{NAME_KEY_SEPARATOR}{id}"),
        }
    }
}

/// A `LIKE` pattern (escaped with `\\`) that matches text containing `text`.
pub fn like_pattern(text: &str) -> String {
    format!(
        "%{}%",
        text.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

impl Enterprise {
    /// What an audit entry records of a change: the fields staff can change.
    pub fn audited(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "sector_id": self.sector_id,
            "park_id": self.park_id,
            "address": self.address,
            "key_enterprise": self.key_enterprise,
            "status": self.status,
            "longitude": self.longitude,
            "latitude": self.latitude,
            "contact_person": self.contact_person,
            "contact_phone": self.contact_phone(),
        })
    }

    /// The contact phone, masked; `None` when the roster gave none.
    pub fn contact_phone(&self) -> Option<String> {
        (!self.contact_phone_masked.is_empty()).then(|| self.contact_phone_masked.clone())
    }

    /// The contact phone as stored, `None` when the roster gave none.
    pub fn sealed_contact_phone(&self) -> Option<SealedMobile> {
        (!self.contact_phone_sealed.is_empty()).then(|| SealedMobile {
            sealed: self.contact_phone_sealed.clone(),
            index: self.contact_phone_index.clone(),
            masked: self.contact_phone_masked.clone(),
        })
    }

    /// A visible enterprise by id; anything else is 404.
    pub fn find(
        conn: &mut DbConnection,
        visibility: &Visibility,
        id: &EnterpriseId,
    ) -> Result<Enterprise, ApiError> {
        let query = enterprises::table
            .filter(enterprises::id.eq(id.to_owned()))
            .into_boxed();
        Ok(visibility
            .apply(query)
            .select(Enterprise::as_select())
            .first(conn)?)
    }

    /// The names of the enterprises `ids`, regardless of visibility (the admin's pages).
    pub fn names(
        conn: &mut DbConnection,
        ids: &[EnterpriseId],
    ) -> Result<std::collections::HashMap<EnterpriseId, String>, ApiError> {
        Ok(enterprises::table
            .filter(enterprises::id.eq_any(ids))
            .select((enterprises::id, enterprises::name))
            .load::<(EnterpriseId, String)>(conn)?
            .into_iter()
            .collect())
    }

    /// By credit code, regardless of visibility (imports and uniqueness).
    pub fn find_by_credit_code(
        conn: &mut DbConnection,
        code: &CreditCode,
    ) -> Result<Option<Enterprise>, ApiError> {
        Ok(enterprises::table
            .filter(enterprises::credit_code.eq(code.as_str()))
            .select(Enterprise::as_select())
            .first(conn)
            .optional()?)
    }

    /// Visible enterprises matching the filter, in creation order after `after`.
    pub fn list(
        conn: &mut DbConnection,
        visibility: &Visibility,
        filter: &EnterpriseFilter,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Enterprise>, ApiError> {
        Self::list_in(
            conn,
            visibility,
            filter,
            EnterpriseOrder::Created,
            after,
            limit,
        )
    }

    /// Visible enterprises matching the filter, in `order`, after the row whose
    /// [`EnterpriseOrder::key`] is `after`.
    pub fn list_in(
        conn: &mut DbConnection,
        visibility: &Visibility,
        filter: &EnterpriseFilter,
        order: EnterpriseOrder,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Enterprise>, ApiError> {
        let mut query = Self::matching(visibility, filter);
        if let Some(after) = after {
            query = match order {
                EnterpriseOrder::Created => query.filter(enterprises::id.gt(after.to_owned())),
                EnterpriseOrder::Newest => query.filter(enterprises::id.lt(after.to_owned())),
                EnterpriseOrder::Name => {
                    let (name, id) = after.rsplit_once(NAME_KEY_SEPARATOR).unwrap_or((after, ""));
                    query.filter(
                        enterprises::name.gt(name.to_owned()).or(enterprises::name
                            .eq(name.to_owned())
                            .and(enterprises::id.gt(id.to_owned()))),
                    )
                }
            };
        }
        query = match order {
            EnterpriseOrder::Created => query.order(enterprises::id.asc()),
            EnterpriseOrder::Newest => query.order(enterprises::id.desc()),
            EnterpriseOrder::Name => query.order((enterprises::name.asc(), enterprises::id.asc())),
        };
        Ok(query
            .limit(limit)
            .select(Enterprise::as_select())
            .load(conn)?)
    }

    /// How many visible enterprises match the filter.
    pub fn count(
        conn: &mut DbConnection,
        visibility: &Visibility,
        filter: &EnterpriseFilter,
    ) -> Result<i64, ApiError> {
        Ok(Self::matching(visibility, filter)
            .count()
            .get_result(conn)?)
    }

    /// The visible enterprises matching the filter, as a query.
    fn matching<'a>(
        visibility: &Visibility,
        filter: &EnterpriseFilter,
    ) -> enterprises::BoxedQuery<'a, MultiBackend> {
        let mut query = visibility.apply(enterprises::table.into_boxed());
        if let Some(sector_id) = &filter.sector_id {
            query = query.filter(enterprises::sector_id.eq(sector_id.clone()));
        }
        if let Some(park_id) = &filter.park_id {
            query = query.filter(enterprises::park_id.eq(park_id.clone()));
        }
        if let Some(status) = filter.status {
            query = query.filter(enterprises::status.eq(status.as_str()));
        }
        if let Some(key) = filter.key_enterprise {
            query = query.filter(enterprises::key_enterprise.eq(key));
        }
        if let Some(q) = &filter.q {
            let pattern = like_pattern(q);
            query = query.filter(
                enterprises::name
                    .like(pattern.clone())
                    .escape('\\')
                    .or(enterprises::credit_code
                        .like(pattern.to_uppercase())
                        .escape('\\')),
            );
        }
        if let Some(ids) = &filter.ids {
            query = query.filter(enterprises::id.eq_any(ids.clone()));
        }
        query
    }

    /// Adds sector and park names for the API.
    pub fn views(
        conn: &mut DbConnection,
        rows: Vec<Enterprise>,
    ) -> Result<Vec<EnterpriseView>, ApiError> {
        let unit_ids: Vec<&OrgUnitId> = rows
            .iter()
            .flat_map(|e| [&e.sector_id, &e.park_id])
            .collect();
        let names: std::collections::HashMap<OrgUnitId, String> = org_units::table
            .filter(org_units::id.eq_any(unit_ids))
            .select((org_units::id, org_units::name))
            .load::<(OrgUnitId, String)>(conn)?
            .into_iter()
            .collect();
        let name_of = |id: &OrgUnitId| names.get(id).cloned().unwrap_or_default();
        Ok(rows
            .into_iter()
            .map(|e| EnterpriseView {
                sector_name: name_of(&e.sector_id),
                park_name: name_of(&e.park_id),
                contact_phone: e.contact_phone(),
                contact_person: e.contact_person,
                id: e.id,
                name: e.name,
                credit_code: e.credit_code,
                sector_id: e.sector_id,
                park_id: e.park_id,
                address: e.address,
                key_enterprise: e.key_enterprise,
                status: e.status,
                longitude: e.longitude,
                latitude: e.latitude,
                created_at: e.created_at.and_utc(),
                updated_at: e.updated_at.and_utc(),
            })
            .collect())
    }

    /// One enterprise for the API.
    pub fn view(conn: &mut DbConnection, row: Enterprise) -> Result<EnterpriseView, ApiError> {
        Self::views(conn, vec![row])?
            .pop()
            .ok_or_else(ApiError::not_found)
    }

    /// Creates an enterprise with its first code; the credit code must be new.
    pub fn create(conn: &mut DbConnection, new: &NewEnterprise) -> Result<Enterprise, ApiError> {
        if Self::find_by_credit_code(conn, &new.credit_code)?.is_some() {
            return Err(ApiError::new(
                ErrorCode::CreditCodeTaken,
                "该统一社会信用代码的企业已在名录中",
            ));
        }
        let id = EnterpriseId::generate();
        let at = now();
        let sealed = new.contact_phone.clone().unwrap_or_default();
        diesel::insert_into(enterprises::table)
            .values((
                enterprises::id.eq(&id),
                enterprises::name.eq(new.name.as_str()),
                enterprises::credit_code.eq(new.credit_code.as_str()),
                enterprises::sector_id.eq(&new.sector_id),
                enterprises::park_id.eq(&new.park_id),
                enterprises::address.eq(&new.address),
                enterprises::key_enterprise.eq(new.key_enterprise),
                enterprises::status.eq(new.status),
                enterprises::longitude.eq(new.coordinates.map(|c| c.longitude)),
                enterprises::latitude.eq(new.coordinates.map(|c| c.latitude)),
                enterprises::contact_person.eq(&new.contact_person),
                enterprises::contact_phone_sealed.eq(sealed.sealed),
                enterprises::contact_phone_index.eq(sealed.index),
                enterprises::contact_phone_masked.eq(sealed.masked),
                enterprises::created_at.eq(at),
                enterprises::updated_at.eq(at),
            ))
            .execute(conn)?;
        EnterpriseCode::issue(conn, &id, false)?;
        Self::find(conn, &Visibility::All, &id)
    }

    /// Applies changes to an enterprise.
    pub fn update(
        conn: &mut DbConnection,
        id: &EnterpriseId,
        changes: &EnterpriseChanges,
    ) -> Result<Enterprise, ApiError> {
        let coordinates = changes
            .coordinates
            .map(|c| (c.map(|c| c.longitude), c.map(|c| c.latitude)));
        // `Some(None)` clears the phone: empty text, as tables store none.
        let cleared = SealedMobile::default();
        let phone = changes
            .contact_phone
            .as_ref()
            .map(|phone| phone.as_ref().unwrap_or(&cleared));
        diesel::update(enterprises::table.find(id))
            .set((
                changes
                    .name
                    .as_ref()
                    .map(|name| enterprises::name.eq(name.as_str().to_owned())),
                changes
                    .sector_id
                    .as_ref()
                    .map(|sector| enterprises::sector_id.eq(sector.clone())),
                changes
                    .park_id
                    .as_ref()
                    .map(|park| enterprises::park_id.eq(park.clone())),
                changes
                    .address
                    .as_ref()
                    .map(|address| enterprises::address.eq(address.clone())),
                changes
                    .key_enterprise
                    .map(|key| enterprises::key_enterprise.eq(key)),
                changes
                    .status
                    .map(|status| enterprises::status.eq(status.as_str())),
                coordinates.map(|(longitude, _)| enterprises::longitude.eq(longitude)),
                coordinates.map(|(_, latitude)| enterprises::latitude.eq(latitude)),
                changes
                    .contact_person
                    .as_ref()
                    .map(|person| enterprises::contact_person.eq(person.clone())),
                phone.map(|p| enterprises::contact_phone_sealed.eq(p.sealed.clone())),
                phone.map(|p| enterprises::contact_phone_index.eq(p.index.clone())),
                phone.map(|p| enterprises::contact_phone_masked.eq(p.masked.clone())),
                enterprises::updated_at.eq(now()),
            ))
            .execute(conn)?;
        if changes.sector_id.is_some() || changes.park_id.is_some() {
            Case::follow_enterprise(
                conn,
                id,
                changes.sector_id.as_ref(),
                changes.park_id.as_ref(),
            )?;
        }
        Self::find(conn, &Visibility::All, id)
    }
}
