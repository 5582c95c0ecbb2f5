//! Drivers' registrations (登记) and their passes: the model, its visibility and
//! lifecycle (pending → approved / rejected, cancelled by the driver, expired after
//! the validity window). Personal data is sealed before it reaches this module's
//! queries, and only masked copies are read back for lists.

pub mod cancel;
pub mod exports;
pub mod handlers;
pub mod input;
pub mod open;
pub mod profiles;
pub mod public;
pub mod retention;
pub mod settings;
pub mod stats;
pub mod submit;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::blacklist;
use crate::db::mapping::text_enum;
use crate::db::schema::{enterprises, registrations};
use crate::db::together::Insertion;
use crate::db::{DbConnection, MultiBackend, now, on_backend};
use crate::domain::id::{EnterpriseId, RegistrationId, UserId};
use crate::domain::person::{DocumentNumber, DocumentType, PersonName};
use crate::domain::region;
use crate::domain::text::stored_token;
use crate::domain::vehicle::{Plate, VehicleType};
use crate::domain::visit::Purpose;
use crate::enterprises::{Enterprise, Visibility};
use crate::error::ApiError;
use crate::personal::Vault;
use crate::survey::cases::Case;

/// Version of the privacy notice drivers consent to; stored with each registration.
pub const CONSENT_VERSION: &str = "2026-11-v1";

/// A stored registration.
// `None` inserts NULL (no column has a default), so that the INSERT is one statement
// that SQLite prepares once, not one per combination of missing values.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = registrations, treat_none_as_default_value = false)]
pub struct Registration {
    /// Id.
    pub id: RegistrationId,
    /// The enterprise visited.
    pub enterprise_id: EnterpriseId,
    /// The pass's random token.
    pub pass_token: String,
    /// The client's retry key, if it sent one.
    pub idempotency_key: Option<String>,
    /// Pending, approved, rejected or cancelled (expiry is computed).
    pub status: RegistrationStatus,
    /// The driver's name.
    pub driver_name: String,
    /// Document type.
    pub document_type: DocumentType,
    /// Sealed document number.
    pub document_sealed: String,
    /// Blind index of the document number.
    pub document_index: String,
    /// Masked document number.
    pub document_masked: String,
    /// Sealed mobile number.
    pub phone_sealed: String,
    /// Blind index of the mobile number.
    pub phone_index: String,
    /// Masked mobile number.
    pub phone_masked: String,
    /// Normalised plate.
    pub plate: String,
    /// Trailer plate.
    pub trailer_plate: Option<String>,
    /// Vehicle type.
    pub vehicle_type: VehicleType,
    /// GB/T 2260 code of the origin.
    pub origin_region: String,
    /// Cargo description.
    pub cargo: String,
    /// Purpose of the visit.
    pub purpose: Purpose,
    /// Expected arrival (UTC).
    pub expected_arrival: NaiveDateTime,
    /// Zone day of the expected arrival, `YYYY-MM-DD`.
    pub arrival_day: String,
    /// People in the cab.
    pub people_in_cab: i32,
    /// Extra answers: `{"zone": {...}, "enterprise": {...}}`.
    pub answers: String,
    /// Zone template version answered.
    pub zone_form_version: i32,
    /// Enterprise template version answered.
    pub enterprise_form_version: i32,
    /// Privacy notice version consented to.
    pub consent_version: String,
    /// Start of validity (UTC).
    pub valid_from: NaiveDateTime,
    /// End of validity (UTC).
    pub valid_until: NaiveDateTime,
    /// Why it was rejected.
    pub reject_reason: Option<String>,
    /// When approved or rejected.
    pub decided_at: Option<NaiveDateTime>,
    /// Who approved or rejected.
    pub decided_by: Option<UserId>,
    /// Created, which is also when consent was given.
    pub created_at: NaiveDateTime,
    /// The driver who registered (their key cancels the pass).
    pub driver_id: Option<String>,
    /// Keyed fingerprint of the request as sent, so that its retry key cannot be
    /// reused with another body.
    pub request_hash: Option<String>,
    /// When the enterprise suspended the pass (暂停): the gate refuses its entry
    /// until it is resumed.
    pub suspended_at: Option<NaiveDateTime>,
    /// Who suspended it.
    pub suspended_by: Option<UserId>,
    /// Why.
    pub suspend_reason: Option<String>,
}

text_enum! {
    /// Where a registration stands. The first four are stored; `Expired` is only shown,
    /// for pending or approved passes past their validity.
    pub enum RegistrationStatus {
        /// Waiting for the enterprise.
        Pending = "pending" / "待审核",
        /// Approved.
        Approved = "approved" / "已通过",
        /// Rejected with a reason.
        Rejected = "rejected" / "未通过",
        /// Cancelled by the driver.
        Cancelled = "cancelled" / "已取消",
        /// Past its validity while pending or approved (never stored).
        Expired = "expired" / "已过期",
    }
}

impl RegistrationStatus {
    /// A status a registration can be stored with, by name (`expired` is not one).
    pub fn stored(name: &str) -> Option<Self> {
        Self::from_stored(name).filter(|status| *status != RegistrationStatus::Expired)
    }

    /// Whether a pass with this status may still be used or cancelled.
    pub fn is_live(self) -> bool {
        matches!(
            self,
            RegistrationStatus::Pending | RegistrationStatus::Approved
        )
    }

    /// The status to show at `at`: live passes expire after their window.
    pub(crate) fn shown(self, valid_until: NaiveDateTime, at: NaiveDateTime) -> Self {
        if self.is_live() && at > valid_until {
            RegistrationStatus::Expired
        } else {
            self
        }
    }
}

/// The blind index of a driver's document, as registrations keep it
/// (`document_index`) and the blacklist matches it: keyed by type and number.
pub fn document_index(vault: &Vault, document: &DocumentNumber) -> String {
    vault.blind_index(
        "registrations.document",
        &format!("{}:{}", document.kind().as_str(), document.as_str()),
    )
}

pub(crate) fn utc(time: NaiveDateTime) -> chrono::DateTime<chrono::Utc> {
    time.and_utc()
}

pub(crate) fn masked_name(name: &str) -> String {
    PersonName::parse(name).map_or_else(|_| "*".repeat(name.chars().count()), |n| n.masked())
}

/// Masks a stored plate; plates anonymised by retention are stored masked already.
pub(crate) fn masked_plate(plate: &str) -> String {
    if plate.contains('*') {
        return plate.to_owned();
    }
    Plate::parse(plate, "plate").map_or_else(|_| "*".repeat(plate.chars().count()), |p| p.masked())
}

/// What the driver sees of a pass.
#[derive(Clone, Debug, Serialize)]
pub struct PassView {
    /// The pass token.
    pub token: String,
    /// The pass page.
    pub url: String,
    /// Effective status.
    pub status: RegistrationStatus,
    /// The enterprise visited.
    pub enterprise_name: String,
    /// Masked driver name.
    pub driver_name: String,
    /// Masked plate.
    pub plate: String,
    /// Expected arrival (UTC).
    pub expected_arrival: chrono::DateTime<chrono::Utc>,
    /// Start of validity (UTC).
    pub valid_from: chrono::DateTime<chrono::Utc>,
    /// End of validity (UTC).
    pub valid_until: chrono::DateTime<chrono::Utc>,
    /// Why it was rejected.
    pub reject_reason: Option<String>,
    /// The enterprise has suspended it: the gate turns the truck back until it is
    /// resumed.
    pub suspended: bool,
    /// Registered (UTC).
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Template versions a registration answered.
#[derive(Clone, Debug, Serialize)]
pub struct FormVersions {
    /// The zone's template version.
    pub zone: i32,
    /// The enterprise's template version.
    pub enterprise: i32,
}

/// What staff see of a registration: personal data masked.
#[derive(Clone, Debug, Serialize)]
pub struct RegistrationView {
    /// Id.
    pub id: RegistrationId,
    /// Enterprise id.
    pub enterprise_id: EnterpriseId,
    /// Enterprise name.
    pub enterprise_name: String,
    /// Status.
    pub status: RegistrationStatus,
    /// Masked driver name.
    pub driver_name: String,
    /// Document type.
    pub document_type: DocumentType,
    /// Masked document number.
    pub document_number: String,
    /// Masked mobile number.
    pub phone: String,
    /// Masked plate.
    pub plate: String,
    /// Trailer plate.
    pub trailer_plate: Option<String>,
    /// Vehicle type.
    pub vehicle_type: VehicleType,
    /// Origin region.
    pub origin_region: String,
    /// Full name of the origin region.
    pub origin_name: Option<String>,
    /// Cargo.
    pub cargo: String,
    /// Purpose.
    pub purpose: Purpose,
    /// Expected arrival.
    pub expected_arrival: chrono::DateTime<chrono::Utc>,
    /// People in cab.
    pub people_in_cab: i32,
    /// Extra answers.
    pub answers: serde_json::Value,
    /// Form versions.
    pub form_versions: FormVersions,
    /// Valid from.
    pub valid_from: chrono::DateTime<chrono::Utc>,
    /// Valid until.
    pub valid_until: chrono::DateTime<chrono::Utc>,
    /// Reject reason.
    pub reject_reason: Option<String>,
    /// Decided at.
    pub decided_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Who approved or rejected.
    pub decided_by: Option<UserId>,
    /// Created at.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Whether a live blacklist entry (the zone's or the enterprise's) names its
    /// plate, trailer or driver: the gate refuses its entry.
    pub blacklisted: bool,
    /// The reason of that entry.
    pub blacklist_reason: Option<String>,
    /// When the enterprise suspended the pass: the gate refuses its entry until it
    /// is resumed.
    pub suspended_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Who suspended it.
    pub suspended_by: Option<UserId>,
    /// Why.
    pub suspend_reason: Option<String>,
}

/// Registrations, filtered, not yet selected. Without their enterprises: a count
/// need not visit them, and a page names its own few ([`Registration::list`]).
type Filtered<'a> = registrations::BoxedQuery<'a, MultiBackend>;

/// Filters of the staff list.
#[derive(Clone, Debug, Default)]
pub struct RegistrationFilter {
    /// Stored status.
    pub status: Option<RegistrationStatus>,
    /// One enterprise.
    pub enterprise_id: Option<EnterpriseId>,
    /// Enterprises whose name contains this text (a `LIKE` pattern, escaped with `\\`).
    pub enterprise_name: Option<String>,
    /// Exact normalised plate.
    pub plate: Option<String>,
    /// Origin: the code prefix that a province's, city's or county's regions share.
    pub origin: Option<String>,
    /// First zone day of arrival.
    pub from: Option<String>,
    /// Last zone day of arrival.
    pub to: Option<String>,
}

/// The enterprises a caller may see, or `None` for all of them.
pub(crate) fn visible_enterprises(
    conn: &mut DbConnection,
    visibility: &Visibility,
) -> Result<Option<Vec<String>>, ApiError> {
    if *visibility == Visibility::All {
        return Ok(None);
    }
    let ids = visibility
        .apply(enterprises::table.into_boxed())
        .select(enterprises::id)
        .load(conn)?;
    Ok(Some(ids))
}

impl RegistrationView {
    /// The registration's id.
    pub fn id(&self) -> &RegistrationId {
        &self.id
    }
}

/// What the pass shows of a registration: the pass page is the busiest read, so it
/// loads these columns only.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = registrations)]
pub struct Pass {
    /// The registration's id.
    pub id: RegistrationId,
    /// The pass's random token.
    pub pass_token: String,
    /// As stored (expiry is computed).
    pub status: RegistrationStatus,
    /// The driver's name.
    pub driver_name: String,
    /// Normalised plate.
    pub plate: String,
    /// Expected arrival (UTC).
    pub expected_arrival: NaiveDateTime,
    /// Start of validity (UTC).
    pub valid_from: NaiveDateTime,
    /// End of validity (UTC).
    pub valid_until: NaiveDateTime,
    /// Why it was rejected.
    pub reject_reason: Option<String>,
    /// Created.
    pub created_at: NaiveDateTime,
    /// The driver who registered.
    pub driver_id: Option<String>,
    /// The enterprise visited.
    pub enterprise_id: EnterpriseId,
    /// Vehicle type.
    pub vehicle_type: VehicleType,
    /// When the enterprise suspended it, if it is suspended.
    pub suspended_at: Option<NaiveDateTime>,
}

impl From<Registration> for Pass {
    fn from(registration: Registration) -> Self {
        Self {
            id: registration.id,
            pass_token: registration.pass_token,
            status: registration.status,
            driver_name: registration.driver_name,
            plate: registration.plate,
            expected_arrival: registration.expected_arrival,
            valid_from: registration.valid_from,
            valid_until: registration.valid_until,
            reject_reason: registration.reject_reason,
            created_at: registration.created_at,
            driver_id: registration.driver_id,
            enterprise_id: registration.enterprise_id,
            vehicle_type: registration.vehicle_type,
            suspended_at: registration.suspended_at,
        }
    }
}

impl Pass {
    /// A pass and its enterprise's name by token (case-blind); `None` for no pass.
    pub fn by_token(
        conn: &mut DbConnection,
        token: &str,
    ) -> Result<Option<(Pass, String)>, ApiError> {
        let Some(token) = stored_token(token) else {
            return Ok(None);
        };
        // Pass tokens are unique: no LIMIT, which SQLite would re-plan on every run.
        Ok(on_backend!(conn, |c| {
            registrations::table
                .inner_join(enterprises::table)
                .filter(registrations::pass_token.eq(&token))
                .select((Pass::as_select(), enterprises::name))
                .get_result(c)
                .optional()
        })?)
    }

    /// The address of the pass page.
    pub fn url(&self, public_base_url: &str) -> String {
        format!("{public_base_url}/p/{}", self.pass_token)
    }

    /// The pass as the driver sees it.
    pub fn view(self, enterprise_name: String, public_base_url: &str) -> PassView {
        PassView {
            url: self.url(public_base_url),
            token: self.pass_token,
            status: self.status.shown(self.valid_until, now()),
            enterprise_name,
            driver_name: masked_name(&self.driver_name),
            plate: masked_plate(&self.plate),
            expected_arrival: utc(self.expected_arrival),
            valid_from: utc(self.valid_from),
            valid_until: utc(self.valid_until),
            reject_reason: self.reject_reason,
            suspended: self.suspended_at.is_some(),
            created_at: utc(self.created_at),
        }
    }
}

impl Registration {
    /// The registrations, each with its enterprise's name, as staff see them: with
    /// the blacklist's flag, looked up for them all at once.
    pub fn views(
        conn: &mut DbConnection,
        rows: Vec<(Registration, String)>,
    ) -> Result<Vec<RegistrationView>, ApiError> {
        let registrations: Vec<&Registration> = rows.iter().map(|(r, _)| r).collect();
        let mut reasons = blacklist::reasons_for(conn, &registrations)?;
        Ok(rows
            .into_iter()
            .map(|(registration, name)| {
                let reason = reasons.remove(&registration.id);
                registration.view(name, reason)
            })
            .collect())
    }

    /// One registration as staff see it ([`Registration::views`]).
    pub fn viewed(
        conn: &mut DbConnection,
        row: (Registration, String),
    ) -> Result<RegistrationView, ApiError> {
        Self::views(conn, vec![row])?
            .pop()
            .ok_or_else(ApiError::not_found)
    }

    /// The registration as staff see it, with the reason of the blacklist entry
    /// that holds it, if one does.
    fn view(self, enterprise_name: String, blacklist_reason: Option<String>) -> RegistrationView {
        RegistrationView {
            blacklisted: blacklist_reason.is_some(),
            blacklist_reason,
            status: self.status.shown(self.valid_until, now()),
            driver_name: masked_name(&self.driver_name),
            plate: masked_plate(&self.plate),
            origin_name: region::full_name(&self.origin_region),
            answers: serde_json::from_str(&self.answers).unwrap_or_default(),
            form_versions: FormVersions {
                zone: self.zone_form_version,
                enterprise: self.enterprise_form_version,
            },
            expected_arrival: utc(self.expected_arrival),
            valid_from: utc(self.valid_from),
            valid_until: utc(self.valid_until),
            decided_at: self.decided_at.map(utc),
            decided_by: self.decided_by,
            created_at: utc(self.created_at),
            id: self.id,
            enterprise_id: self.enterprise_id,
            enterprise_name,
            document_type: self.document_type,
            document_number: self.document_masked,
            phone: self.phone_masked,
            trailer_plate: self.trailer_plate,
            vehicle_type: self.vehicle_type,
            origin_region: self.origin_region,
            cargo: self.cargo,
            purpose: self.purpose,
            people_in_cab: self.people_in_cab,
            reject_reason: self.reject_reason,
            suspended_at: self.suspended_at.map(utc),
            suspended_by: self.suspended_by,
            suspend_reason: self.suspend_reason,
        }
    }

    /// A visible registration and its enterprise's name; anything else is 404.
    pub fn find(
        conn: &mut DbConnection,
        visibility: &Visibility,
        id: &RegistrationId,
    ) -> Result<(Registration, String), ApiError> {
        let mut query = registrations::table
            .inner_join(enterprises::table)
            .filter(registrations::id.eq(id.to_owned()))
            .select((Registration::as_select(), enterprises::name))
            .into_boxed();
        if let Some(ids) = visible_enterprises(conn, visibility)? {
            query = query.filter(registrations::enterprise_id.eq_any(ids));
        }
        Ok(query.first(conn)?)
    }

    /// Visible registrations, newest first, before the id `before`.
    pub fn list(
        conn: &mut DbConnection,
        visibility: &Visibility,
        filter: &RegistrationFilter,
        before: Option<&str>,
        limit: i64,
    ) -> Result<Vec<(Registration, String)>, ApiError> {
        let mut query = Self::filtered(conn, visibility, filter)?.select(Registration::as_select());
        if let Some(before) = before {
            query = query.filter(registrations::id.lt(before.to_owned()));
        }
        let rows: Vec<Registration> = query
            .order(registrations::id.desc())
            .limit(limit)
            .load(conn)?;
        let ids: Vec<EnterpriseId> = rows.iter().map(|r| r.enterprise_id.clone()).collect();
        let names = Enterprise::names(conn, &ids)?;
        Ok(rows
            .into_iter()
            .map(|registration| {
                let name = names
                    .get(&registration.enterprise_id)
                    .cloned()
                    .unwrap_or_default();
                (registration, name)
            })
            .collect())
    }

    /// How many visible registrations the filter matches.
    pub fn count(
        conn: &mut DbConnection,
        visibility: &Visibility,
        filter: &RegistrationFilter,
    ) -> Result<i64, ApiError> {
        Ok(Self::filtered(conn, visibility, filter)?
            .count()
            .get_result(conn)?)
    }

    /// Visible registrations that the filter matches.
    fn filtered(
        conn: &mut DbConnection,
        visibility: &Visibility,
        filter: &RegistrationFilter,
    ) -> Result<Filtered<'static>, ApiError> {
        let mut query = registrations::table.into_boxed();
        if let Some(ids) = visible_enterprises(conn, visibility)? {
            query = query.filter(registrations::enterprise_id.eq_any(ids));
        }
        if let Some(status) = filter.status {
            query = query.filter(registrations::status.eq(status));
        }
        if let Some(enterprise_id) = &filter.enterprise_id {
            query = query.filter(registrations::enterprise_id.eq(enterprise_id.clone()));
        }
        if let Some(name) = &filter.enterprise_name {
            let named = enterprises::table
                .filter(enterprises::name.like(name.clone()).escape('\\'))
                .select(enterprises::id);
            query = query.filter(registrations::enterprise_id.eq_any(named));
        }
        if let Some(plate) = &filter.plate {
            query = query.filter(registrations::plate.eq(plate.clone()));
        }
        if let Some(origin) = &filter.origin {
            query = query.filter(registrations::origin_region.like(format!("{origin}%")));
        }
        match (&filter.from, &filter.to) {
            // One day as an equality, which the index on (arrival_day, id) serves in
            // the list's order.
            (Some(from), Some(to)) if from == to => {
                query = query.filter(registrations::arrival_day.eq(from.clone()));
            }
            (from, to) => {
                if let Some(from) = from {
                    query = query.filter(registrations::arrival_day.ge(from.clone()));
                }
                if let Some(to) = to {
                    query = query.filter(registrations::arrival_day.le(to.clone()));
                }
            }
        }
        Ok(query)
    }

    /// A live (pending or approved) registration for the plate at the enterprise on that day.
    pub fn active_for_plate(
        conn: &mut DbConnection,
        enterprise_id: &EnterpriseId,
        plate: &str,
        arrival_day: &str,
    ) -> Result<Option<Registration>, ApiError> {
        // Runs on every public registration: not `eq_any` (an IN list is prepared
        // anew on every run) and no LIMIT (SQLite re-plans a bound LIMIT on every run);
        // a plate has a handful of registrations a day at most.
        let mut ids: Vec<String> = on_backend!(conn, |c| {
            registrations::table
                .filter(registrations::enterprise_id.eq(enterprise_id))
                .filter(registrations::plate.eq(plate))
                .filter(registrations::arrival_day.eq(arrival_day))
                .filter(
                    registrations::status
                        .eq(RegistrationStatus::Pending)
                        .or(registrations::status.eq(RegistrationStatus::Approved)),
                )
                .filter(registrations::valid_until.gt(now()))
                .order(registrations::id.asc())
                .select(registrations::id)
                .load(c)
        })?;
        if ids.is_empty() {
            return Ok(None);
        }
        let first = ids.swap_remove(0);
        Ok(Some(
            registrations::table
                .find(first)
                .select(Registration::as_select())
                .get_result(conn)?,
        ))
    }

    /// The registration an earlier attempt with the same idempotency key created.
    pub fn by_idempotency_key(
        conn: &mut DbConnection,
        enterprise_id: &EnterpriseId,
        key: &str,
    ) -> Result<Option<Registration>, ApiError> {
        // Unique per enterprise: no LIMIT, which SQLite would re-plan on every run.
        Ok(on_backend!(conn, |c| {
            registrations::table
                .filter(registrations::enterprise_id.eq(enterprise_id))
                .filter(registrations::idempotency_key.eq(key))
                .select(Registration::as_select())
                .get_result(c)
                .optional()
        })?)
    }

    /// The INSERT of a new registration, to write it together with its other rows
    /// ([`crate::db::together`]).
    pub fn insertion(&self) -> impl Insertion + '_ {
        diesel::insert_into(registrations::table).values(self)
    }

    /// Approves or rejects a pending registration in time, recording who decided;
    /// false, changing nothing, when it is not pending or its time has passed.
    pub fn decide(
        conn: &mut DbConnection,
        id: &RegistrationId,
        to: RegistrationStatus,
        reason: Option<String>,
        decided_by: &UserId,
    ) -> Result<bool, ApiError> {
        let changed = diesel::update(
            registrations::table
                .filter(registrations::id.eq(id))
                .filter(registrations::status.eq(RegistrationStatus::Pending))
                .filter(registrations::valid_until.gt(now())),
        )
        .set((
            registrations::status.eq(to),
            registrations::reject_reason.eq(reason),
            registrations::decided_at.eq(now()),
            registrations::decided_by.eq(decided_by),
        ))
        .execute(conn)?;
        if changed == 1 && to == RegistrationStatus::Approved {
            Case::note_traffic(conn, id)?;
        }
        Ok(changed == 1)
    }

    /// Suspends an approved pass not yet over, for `reason`, recording who did;
    /// false, changing nothing, when it is not approved, is over or is suspended
    /// already.
    pub fn suspend(
        conn: &mut DbConnection,
        id: &RegistrationId,
        reason: &str,
        by: &UserId,
    ) -> Result<bool, ApiError> {
        let changed = diesel::update(
            registrations::table
                .filter(registrations::id.eq(id))
                .filter(registrations::status.eq(RegistrationStatus::Approved))
                .filter(registrations::valid_until.gt(now()))
                .filter(registrations::suspended_at.is_null()),
        )
        .set((
            registrations::suspended_at.eq(now()),
            registrations::suspended_by.eq(by),
            registrations::suspend_reason.eq(reason),
        ))
        .execute(conn)?;
        Ok(changed == 1)
    }

    /// Lifts the suspension of a pass; false, changing nothing, when it is not
    /// suspended.
    pub fn resume(conn: &mut DbConnection, id: &RegistrationId) -> Result<bool, ApiError> {
        let changed = diesel::update(
            registrations::table
                .filter(registrations::id.eq(id))
                .filter(registrations::suspended_at.is_not_null()),
        )
        .set((
            registrations::suspended_at.eq(None::<NaiveDateTime>),
            registrations::suspended_by.eq(None::<UserId>),
            registrations::suspend_reason.eq(None::<String>),
        ))
        .execute(conn)?;
        Ok(changed == 1)
    }

    /// Cancels a live (pending or approved) registration in time; who approved it,
    /// and when, stay recorded. False, changing nothing, when it is not live.
    pub fn cancel(conn: &mut DbConnection, id: &RegistrationId) -> Result<bool, ApiError> {
        let changed = diesel::update(
            registrations::table
                .filter(registrations::id.eq(id))
                .filter(
                    registrations::status
                        .eq_any([RegistrationStatus::Pending, RegistrationStatus::Approved]),
                )
                .filter(registrations::valid_until.gt(now())),
        )
        .set(registrations::status.eq(RegistrationStatus::Cancelled))
        .execute(conn)?;
        Ok(changed == 1)
    }
}
