//! The gate (门岗): an enterprise's named gates ([`Gate`]), the check of a pass at a
//! gate ([`redeem`], pretix's redeem: entry or exit, a device nonce that makes a
//! retry the same answer, a named reason for every refusal), the undoing of a scan
//! just made ([`annul`]), which trucks are inside now and the scan log.
//!
//! Every scan, accepted or refused, is a row of `gate_scans`; the trucks inside are
//! the rows of `gate_presence`, one per pass between its entry and its exit, so that
//! a second entry of the same pass (at another gate, at the same moment) finds the
//! row and is refused. Gate changes and annulments are audited; scans are their own
//! record.

pub mod guards;
pub mod handlers;
pub mod offline;

use std::collections::HashMap;

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::audit::{self, Actor, Event};
use crate::blacklist;
use crate::db::mapping::text_enum;
use crate::db::schema::{
    enterprises, gate_presence, gate_scans, gate_settings, gates, registrations,
};
use crate::db::{DbConnection, now, on_backend};
use crate::domain::gate::{CodeNames, Nonce, ReadCode};
use crate::domain::id::{EnterpriseId, GateId, GateScanId, OrgUnitId, RegistrationId, UserId};
use crate::domain::vehicle::VehicleType;
use crate::domain::zone;
use crate::enterprises::Visibility;
use crate::error::{ApiError, ErrorCode};
use crate::registrations::{Registration, RegistrationStatus, masked_name, masked_plate, utc};

/// How long after an accepted scan it may still be annulled.
pub const ANNUL_WINDOW: TimeDelta = TimeDelta::minutes(5);
/// Most trucks listed as inside (the count is always whole).
const INSIDE_LISTED: i64 = 500;

text_enum! {
    /// Which way a truck passes the gate.
    pub enum ScanKind {
        /// Into the enterprise.
        Entry = "entry" / "入园",
        /// Out of it.
        Exit = "exit" / "离园",
    }
}

text_enum! {
    /// What the gate answered.
    pub enum ScanResult {
        /// Let through.
        Accepted = "accepted" / "准予通行",
        /// Turned back, with a [`Refusal`].
        Refused = "refused" / "拒绝通行",
    }
}

text_enum! {
    /// Why a scan was refused, each with the words the guard reads.
    pub enum Refusal {
        /// The code names no pass.
        UnknownCode = "unknown_code" / "无效通行码：未找到该通行证",
        /// A pass for another enterprise.
        OtherEnterprise = "other_enterprise" / "非本企业通行证",
        /// Not yet approved.
        Pending = "pending" / "通行证尚未审核通过",
        /// Rejected by the enterprise.
        Rejected = "rejected" / "通行证未通过审核",
        /// Cancelled by the driver.
        Cancelled = "cancelled" / "通行证已被取消",
        /// Before its validity.
        NotYetValid = "not_yet_valid" / "通行证尚未生效",
        /// After its validity.
        Expired = "expired" / "通行证已过期",
        /// An entry of a truck already inside.
        AlreadyInside = "already_inside" / "该车辆已在园内，不能重复入园",
        /// An exit of a truck that never entered.
        NotInside = "not_inside" / "该车辆未入园，不能离园",
        /// The guard found that person, truck and pass do not agree (人车证不符).
        PlateMismatch = "plate_mismatch" / "人、车、证不符",
        /// A live blacklist entry names the truck, its trailer or its driver.
        Blacklisted = "blacklisted" / "车辆或驾驶员在黑名单中",
        /// The enterprise suspended the pass (暂停) until further notice.
        Suspended = "suspended" / "通行证已被企业暂停使用",
        /// A gate without network read a code it cannot check offline: no signed
        /// payload (a typed plate, a pass not yet approved when its page was shown),
        /// or a signature that does not verify.
        Unverifiable = "unverifiable" / "离线无法核验此码，请联网后再扫",
    }
}

/// A gate of an enterprise.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = gates)]
pub struct Gate {
    /// Id.
    pub id: GateId,
    /// Its enterprise.
    pub enterprise_id: EnterpriseId,
    /// Its name (东门).
    pub name: String,
    /// Whether it takes scans.
    pub active: bool,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Last changed.
    pub updated_at: NaiveDateTime,
}

/// A gate as the API shows it.
#[derive(Clone, Debug, Serialize)]
pub struct GateView {
    /// Id.
    pub id: GateId,
    /// Its enterprise.
    pub enterprise_id: EnterpriseId,
    /// Its name.
    pub name: String,
    /// Whether it takes scans.
    pub active: bool,
    /// Created (UTC).
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// A change of a gate: a new name, or taking it out of (or back into) use.
#[derive(Debug, Default)]
pub struct GateChanges {
    /// The new name.
    pub name: Option<String>,
    /// Whether it takes scans.
    pub active: Option<bool>,
}

impl Gate {
    /// The gates of `enterprise`, by name.
    pub fn of_enterprise(
        conn: &mut DbConnection,
        enterprise: &EnterpriseId,
    ) -> Result<Vec<Gate>, ApiError> {
        Ok(gates::table
            .filter(gates::enterprise_id.eq(enterprise))
            .order(gates::name.asc())
            .select(Gate::as_select())
            .load(conn)?)
    }

    /// The gate `id` of `enterprise`; anything else is 404.
    pub fn find(
        conn: &mut DbConnection,
        enterprise: &EnterpriseId,
        id: &GateId,
    ) -> Result<Gate, ApiError> {
        Ok(gates::table
            .filter(gates::id.eq(id))
            .filter(gates::enterprise_id.eq(enterprise))
            .select(Gate::as_select())
            .first(conn)?)
    }

    /// Adds a gate named `name` to `enterprise` (409 when it has one of that name).
    /// Audited (`gate.create`).
    pub fn create(
        conn: &mut DbConnection,
        actor: &Actor,
        enterprise: &EnterpriseId,
        name: String,
    ) -> Result<Gate, ApiError> {
        refuse_taken_name(conn, enterprise, &name, None)?;
        let at = now();
        let gate = Gate {
            id: GateId::generate(),
            enterprise_id: enterprise.clone(),
            name,
            active: true,
            created_at: at,
            updated_at: at,
        };
        diesel::insert_into(gates::table)
            .values(&gate)
            .execute(conn)?;
        let event = Event::success("gate.create", "gate", &gate.id)
            .with_details(json!({ "enterprise_id": gate.enterprise_id, "name": gate.name }));
        audit::append(conn, actor, event)?;
        Ok(gate)
    }

    /// Renames the gate or takes it out of (back into) use. Audited (`gate.update`).
    pub fn update(
        self,
        conn: &mut DbConnection,
        actor: &Actor,
        changes: GateChanges,
    ) -> Result<Gate, ApiError> {
        if let Some(name) = &changes.name {
            refuse_taken_name(conn, &self.enterprise_id, name, Some(&self.id))?;
        }
        let gate = Gate {
            name: changes.name.clone().unwrap_or(self.name),
            active: changes.active.unwrap_or(self.active),
            updated_at: now(),
            ..self
        };
        diesel::update(gates::table.find(&gate.id))
            .set((
                gates::name.eq(&gate.name),
                gates::active.eq(gate.active),
                gates::updated_at.eq(gate.updated_at),
            ))
            .execute(conn)?;
        let event = Event::success("gate.update", "gate", &gate.id).with_details(json!({
            "enterprise_id": gate.enterprise_id,
            "name": changes.name,
            "active": changes.active,
        }));
        audit::append(conn, actor, event)?;
        Ok(gate)
    }

    /// The gate as the API shows it.
    pub fn view(self) -> GateView {
        GateView {
            id: self.id,
            enterprise_id: self.enterprise_id,
            name: self.name,
            active: self.active,
            created_at: utc(self.created_at),
        }
    }
}

/// 409 `already_exists` when another gate of `enterprise` is named `name`.
fn refuse_taken_name(
    conn: &mut DbConnection,
    enterprise: &EnterpriseId,
    name: &str,
    except: Option<&GateId>,
) -> Result<(), ApiError> {
    let holder: Option<GateId> = gates::table
        .filter(gates::enterprise_id.eq(enterprise))
        .filter(gates::name.eq(name))
        .select(gates::id)
        .first(conn)
        .optional()?;
    match holder {
        Some(holder) if Some(&holder) != except => Err(ApiError::new(
            ErrorCode::AlreadyExists,
            format!("本企业已有名为“{name}”的门岗"),
        )),
        _ => Ok(()),
    }
}

/// A stored scan.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = gate_scans, treat_none_as_default_value = false)]
pub struct Scan {
    /// Id.
    pub id: GateScanId,
    /// The enterprise of the gate.
    pub enterprise_id: EnterpriseId,
    /// The gate.
    pub gate_id: GateId,
    /// The device's nonce.
    pub nonce: String,
    /// Entry or exit.
    pub kind: ScanKind,
    /// What was read, for the log.
    pub raw_code: String,
    /// The pass it named, if one of this enterprise's.
    pub registration_id: Option<RegistrationId>,
    /// Accepted or refused.
    pub result: ScanResult,
    /// Why refused.
    pub reason: Option<Refusal>,
    /// An exit: seconds since the entry.
    pub dwell_seconds: Option<i32>,
    /// An exit of the automatic check-out.
    pub automatic: bool,
    /// The guard or contact who scanned (nobody for the automatic check-out).
    pub scanned_by: Option<UserId>,
    /// When, by the device's clock.
    pub client_time: Option<NaiveDateTime>,
    /// When, by the server's.
    pub created_at: NaiveDateTime,
    /// When annulled.
    pub annulled_at: Option<NaiveDateTime>,
    /// Who annulled it.
    pub annulled_by: Option<UserId>,
    /// Made while the gate had no network, uploaded afterwards.
    pub offline: bool,
    /// An offline scan the gate let through that the server would have refused:
    /// why (a double entry at two gates, an exit without an entry, a revoked pass).
    pub conflict: Option<Refusal>,
}

/// What the guard sees of the pass of a scan: enough to check person, truck and pass
/// (人车证), personal data masked.
#[derive(Clone, Debug, Serialize)]
pub struct PassFacts {
    /// The registration.
    pub registration_id: RegistrationId,
    /// Masked driver name.
    pub driver_name: String,
    /// Masked plate.
    pub plate: String,
    /// Masked trailer plate.
    pub trailer_plate: Option<String>,
    /// Vehicle type.
    pub vehicle_type: VehicleType,
    /// Its Chinese name.
    pub vehicle_type_label: &'static str,
    /// The pass's status now.
    pub status: RegistrationStatus,
    /// Start of validity (UTC).
    pub valid_from: chrono::DateTime<chrono::Utc>,
    /// End of validity (UTC).
    pub valid_until: chrono::DateTime<chrono::Utc>,
}

/// A scan as the API shows it.
#[derive(Clone, Debug, Serialize)]
pub struct ScanView {
    /// Id.
    pub id: GateScanId,
    /// The device's nonce.
    pub nonce: String,
    /// The gate.
    pub gate_id: GateId,
    /// Its name.
    pub gate_name: String,
    /// Entry or exit.
    #[serde(rename = "type")]
    pub kind: ScanKind,
    /// Accepted or refused.
    pub result: ScanResult,
    /// Why refused.
    pub reason: Option<Refusal>,
    /// What the guard reads: 准予入园, 准予离园 or the reason.
    pub message: String,
    /// What was read.
    pub code: String,
    /// The pass, when the code named one of this enterprise's.
    pub pass: Option<PassFacts>,
    /// An exit: minutes since the entry.
    pub dwell_minutes: Option<i32>,
    /// An exit of the automatic check-out at the enterprise's hour.
    pub automatic: bool,
    /// When, by the device's clock (UTC).
    pub client_time: Option<chrono::DateTime<chrono::Utc>>,
    /// When, by the server's (UTC).
    pub scanned_at: chrono::DateTime<chrono::Utc>,
    /// When annulled (UTC).
    pub annulled_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Made while the gate had no network, uploaded afterwards.
    pub offline: bool,
    /// An offline scan let through that the server would have refused: why.
    pub conflict: Option<Refusal>,
}

/// One scan to check, as the device sent it.
#[derive(Debug)]
pub struct Redeem {
    /// The device's nonce.
    pub nonce: Nonce,
    /// The gate.
    pub gate_id: GateId,
    /// Entry or exit.
    pub kind: ScanKind,
    /// What was read.
    pub code: ReadCode,
    /// When, by the device's clock.
    pub client_time: Option<NaiveDateTime>,
    /// The guard refuses it: person, truck and pass do not agree.
    pub plate_mismatch: bool,
    /// What the gate decided while it had no network (uploaded afterwards).
    pub offline: Option<Offline>,
}

/// What a gate without network decided for a scan: the truck went through (pretix's
/// `force`: recorded as it happened, a conflict flagged), or it was turned back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Offline {
    /// Let through on the pass's signature.
    Accepted,
    /// Turned back, for this reason.
    Refused(Refusal),
}

impl Redeem {
    /// Whether an earlier scan with this nonce was this same scan.
    fn repeats(&self, earlier: &Scan) -> bool {
        earlier.gate_id == self.gate_id
            && earlier.kind == self.kind
            && earlier.raw_code == self.code.logged
    }

    /// An earlier scan with this nonce, as the answer to this one: the same scan
    /// again, or 422 `idempotency_key_reused` when it was another.
    pub fn replayed(&self, earlier: Scan) -> Result<Scan, ApiError> {
        if self.repeats(&earlier) {
            Ok(earlier)
        } else {
            Err(ApiError::new(
                ErrorCode::IdempotencyKeyReused,
                "该 nonce 已用于另一次扫码，请为新的扫码生成新的 nonce",
            ))
        }
    }
}

/// What a checked scan does to the trucks inside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Move {
    /// The truck goes in.
    Enter,
    /// The truck comes out.
    Leave,
}

impl Move {
    fn of(kind: ScanKind) -> Self {
        match kind {
            ScanKind::Entry => Self::Enter,
            ScanKind::Exit => Self::Leave,
        }
    }
}

/// A scan checked against what was read a moment ago, ready to record: the row, what
/// it does to the trucks inside (which the record decides again, since another gate
/// may have moved the same truck in between), and what its answer shows.
#[derive(Debug)]
pub struct Checked {
    row: Scan,
    moves: Option<Move>,
    gate_name: String,
    pass: Option<PassFacts>,
}

/// A scan checked: new, or a retry of one recorded before.
#[derive(Debug)]
pub enum Check {
    /// Not seen before: to be recorded.
    New(Checked),
    /// Recorded before with this nonce.
    Seen(Scan),
}

/// Checks a scan at a gate of `enterprise` (the scanner's), reading only: the nonce,
/// the gate, the pass, the blacklist and whether the truck is inside. A nonce seen
/// before gives that scan back (422 `idempotency_key_reused` when it was another
/// scan). An unknown or foreign gate is 422; one the scanner does not stand at
/// ([`guards`]) 403, except for a scan made offline; an inactive one 409.
///
/// A scan made offline is recorded as the gate decided: an entry or exit it let
/// through moves the truck, and what the server would have refused it for is its
/// `conflict`; one it turned back keeps the gate's reason.
pub fn check(
    conn: &mut DbConnection,
    scanner: &UserId,
    enterprise: &EnterpriseId,
    scan: &Redeem,
) -> Result<Check, ApiError> {
    if let Some(earlier) = by_nonce(conn, enterprise, scan.nonce.as_str())? {
        return scan.replayed(earlier).map(Check::Seen);
    }
    let post = guards::Post::find(conn, scanner, enterprise, &scan.gate_id).map_err(|error| {
        if error.code() != ErrorCode::NotFound {
            return error;
        }
        ApiError::validation(vec![crate::error::FieldError::new(
            "gate_id",
            "unknown_gate",
            "本企业没有该门岗",
        )])
    })?;
    // A scan made offline already happened where the guard stood then: it is
    // recorded even if the guard has been posted elsewhere since.
    if scan.offline.is_none() {
        post.refuse_elsewhere()?;
    }
    let gate = post.gate;
    if !gate.active {
        return Err(ApiError::new(
            ErrorCode::InvalidTransition,
            format!("门岗“{}”已停用，不能扫码", gate.name),
        ));
    }
    let at = now();
    // A scan made offline is judged at the time it was made.
    let judged_at = match scan.offline {
        Some(_) => scan.client_time.unwrap_or(at),
        None => at,
    };
    let pass = named_pass(conn, enterprise, scan)?;
    let refusal = match &pass {
        None => Some(Refusal::UnknownCode),
        Some(pass) if pass.enterprise_id != *enterprise => Some(Refusal::OtherEnterprise),
        Some(pass) => refused(pass, scan, judged_at),
    };
    let pass = pass.filter(|pass| pass.enterprise_id == *enterprise);
    // A blacklisted truck or driver is not let in; one inside still gets out.
    let refusal = match (&pass, refusal) {
        (Some(pass), None) if scan.kind == ScanKind::Entry && blacklist::bars(conn, pass)? => {
            Some(Refusal::Blacklisted)
        }
        (_, refusal) => refusal,
    };
    let entered_at = match &pass {
        Some(pass) => entry_time(conn, &pass.id)?,
        None => None,
    };
    let inside_refusal = match (scan.kind, entered_at) {
        (ScanKind::Entry, Some(_)) => Some(Refusal::AlreadyInside),
        (ScanKind::Exit, None) => Some(Refusal::NotInside),
        _ => None,
    };
    let mut row = Scan {
        id: GateScanId::generate(),
        enterprise_id: enterprise.clone(),
        gate_id: gate.id.clone(),
        nonce: scan.nonce.as_str().to_owned(),
        kind: scan.kind,
        raw_code: scan.code.logged.clone(),
        registration_id: pass.as_ref().map(|pass| pass.id.clone()),
        result: ScanResult::Refused,
        reason: None,
        dwell_seconds: None,
        automatic: false,
        scanned_by: Some(scanner.clone()),
        client_time: scan.client_time,
        created_at: at,
        annulled_at: None,
        annulled_by: None,
        offline: scan.offline.is_some(),
        conflict: None,
    };
    let mut moves = None;
    match scan.offline {
        Some(Offline::Refused(reason)) => row.reason = Some(reason),
        Some(Offline::Accepted) => {
            row.result = ScanResult::Accepted;
            row.conflict = refusal.or(inside_refusal);
            if pass.is_some() && inside_refusal.is_none() {
                moves = Some(Move::of(scan.kind));
            }
        }
        None => match refusal.or(inside_refusal) {
            Some(reason) => row.reason = Some(reason),
            None => {
                row.result = ScanResult::Accepted;
                moves = Some(Move::of(scan.kind));
            }
        },
    }
    if moves == Some(Move::Leave) {
        row.dwell_seconds = entered_at.map(|entered| {
            i32::try_from((judged_at - entered).num_seconds().max(0)).unwrap_or(i32::MAX)
        });
    }
    Ok(Check::New(Checked {
        row,
        moves,
        gate_name: gate.name,
        pass: pass.map(PassFacts::of),
    }))
}

/// The scan of `enterprise` with `nonce`, if any.
fn by_nonce(
    conn: &mut DbConnection,
    enterprise: &EnterpriseId,
    nonce: &str,
) -> Result<Option<Scan>, ApiError> {
    Ok(gate_scans::table
        .filter(gate_scans::enterprise_id.eq(enterprise))
        .filter(gate_scans::nonce.eq(nonce))
        .select(Scan::as_select())
        .first(conn)
        .optional()?)
}

/// What recording a checked scan came to.
#[derive(Debug)]
pub enum Recorded {
    /// Recorded now, as it finally stands.
    Now(Scan),
    /// Another try with the same nonce was recorded first: that scan.
    Earlier(Scan),
}

impl Checked {
    /// Records the scan: the row, then the truck's move, which only one scan of the
    /// same truck can make (two gates letting it in at once give one entry); the
    /// other is refused, or for a scan made offline flagged as a conflict. Writes
    /// nothing but these rows and may run again, so it suits
    /// [`crate::db::Db::write_replayable`].
    pub fn record(&self, conn: &mut DbConnection) -> Result<Recorded, ApiError> {
        let mut row = self.row.clone();
        let written = on_backend!(conn, |c| diesel::insert_into(gate_scans::table)
            .values(&row)
            .on_conflict_do_nothing()
            .execute(c))?;
        if written == 0 {
            let earlier = by_nonce(conn, &row.enterprise_id, &row.nonce)?;
            return earlier.map(Recorded::Earlier).ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!(
                    "a scan's insert met a conflict but no nonce"
                ))
            });
        }
        let (Some(moves), Some(pass)) = (self.moves, &row.registration_id) else {
            return Ok(Recorded::Now(row));
        };
        let raced = match moves {
            Move::Enter => !enter(conn, pass, &row)?,
            Move::Leave => !leave(conn, pass)?,
        };
        if raced {
            let reason = match moves {
                Move::Enter => Refusal::AlreadyInside,
                Move::Leave => Refusal::NotInside,
            };
            if row.offline {
                row.conflict = Some(reason);
            } else {
                row.result = ScanResult::Refused;
                row.reason = Some(reason);
            }
            row.dwell_seconds = None;
            diesel::update(gate_scans::table.find(&row.id))
                .set((
                    gate_scans::result.eq(row.result),
                    gate_scans::reason.eq(row.reason),
                    gate_scans::conflict.eq(row.conflict),
                    gate_scans::dwell_seconds.eq(None::<i32>),
                ))
                .execute(conn)?;
        }
        Ok(Recorded::Now(row))
    }

    /// The answer to the scan as recorded (`scan` is this one's row, or an earlier
    /// try's, of the same gate and code).
    pub fn answer(&self, scan: Scan) -> ScanView {
        scan.view(self.gate_name.clone(), self.pass.clone())
    }
}

/// The pass a scan's code names: by token; by plate, the one inside (an exit) or
/// the next one not yet over at this enterprise (an entry).
fn named_pass(
    conn: &mut DbConnection,
    enterprise: &EnterpriseId,
    scan: &Redeem,
) -> Result<Option<Registration>, ApiError> {
    match &scan.code.names {
        CodeNames::Token(token) => Ok(registrations::table
            .filter(registrations::pass_token.eq(token))
            .select(Registration::as_select())
            .first(conn)
            .optional()?),
        CodeNames::Plate(plate) => match scan.kind {
            ScanKind::Exit => Ok(gate_presence::table
                .inner_join(registrations::table)
                .filter(gate_presence::enterprise_id.eq(enterprise))
                .filter(registrations::plate.eq(plate))
                .select(Registration::as_select())
                .first(conn)
                .optional()?),
            // Of the plate's passes here not yet over, the one that starts first: the
            // pass of this visit (refused for its own reason if it is not approved).
            ScanKind::Entry => Ok(registrations::table
                .filter(registrations::enterprise_id.eq(enterprise))
                .filter(registrations::plate.eq(plate))
                .filter(registrations::valid_until.gt(now()))
                .order((registrations::valid_from.asc(), registrations::id.asc()))
                .select(Registration::as_select())
                .first(conn)
                .optional()?),
        },
        CodeNames::Nothing => Ok(None),
    }
}

/// Why the pass of a scan at its own enterprise is refused before looking at who is
/// inside, if it is. An exit is never held back by the pass: a truck inside always
/// gets out.
fn refused(pass: &Registration, scan: &Redeem, at: NaiveDateTime) -> Option<Refusal> {
    if scan.plate_mismatch {
        return Some(Refusal::PlateMismatch);
    }
    if scan.kind == ScanKind::Exit {
        return None;
    }
    match pass.status {
        RegistrationStatus::Pending => Some(Refusal::Pending),
        RegistrationStatus::Rejected => Some(Refusal::Rejected),
        RegistrationStatus::Cancelled => Some(Refusal::Cancelled),
        RegistrationStatus::Approved | RegistrationStatus::Expired
            if pass.suspended_at.is_some() =>
        {
            Some(Refusal::Suspended)
        }
        RegistrationStatus::Approved | RegistrationStatus::Expired if at < pass.valid_from => {
            Some(Refusal::NotYetValid)
        }
        RegistrationStatus::Approved | RegistrationStatus::Expired if at > pass.valid_until => {
            Some(Refusal::Expired)
        }
        RegistrationStatus::Approved | RegistrationStatus::Expired => None,
    }
}

/// When the truck of `pass` entered, if it is inside.
fn entry_time(
    conn: &mut DbConnection,
    pass: &RegistrationId,
) -> Result<Option<NaiveDateTime>, ApiError> {
    Ok(gate_presence::table
        .find(pass)
        .select(gate_presence::entered_at)
        .first(conn)
        .optional()?)
}

/// Puts the truck of `pass` inside by the entry `scan` (at the time it was made);
/// whether it went in (else it was inside already, and nothing is written).
fn enter(conn: &mut DbConnection, pass: &RegistrationId, scan: &Scan) -> Result<bool, ApiError> {
    let entered_at = match (scan.offline, scan.client_time) {
        (true, Some(at)) => at,
        _ => scan.created_at,
    };
    let row = (
        gate_presence::registration_id.eq(pass),
        gate_presence::enterprise_id.eq(&scan.enterprise_id),
        gate_presence::gate_id.eq(&scan.gate_id),
        gate_presence::entry_scan_id.eq(&scan.id),
        gate_presence::entered_at.eq(entered_at),
    );
    let written = on_backend!(conn, |c| diesel::insert_into(gate_presence::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(written == 1)
}

/// Takes the truck of `pass` out; whether it was inside.
fn leave(conn: &mut DbConnection, pass: &RegistrationId) -> Result<bool, ApiError> {
    let deleted = diesel::delete(gate_presence::table.find(pass)).execute(conn)?;
    Ok(deleted == 1)
}

/// Undoes the accepted scan with `nonce` at `enterprise` within [`ANNUL_WINDOW`] (403
/// at a gate `by` does not stand at, see [`guards`]),
/// when it is still its pass's last accepted scan: an entry takes the truck out
/// again, an exit puts it back inside as it entered. Annulling twice gives the scan
/// back. Audited (`gate.scan.annul`).
pub fn annul(
    conn: &mut DbConnection,
    actor: &Actor,
    by: &UserId,
    enterprise: &EnterpriseId,
    nonce: &Nonce,
) -> Result<Scan, ApiError> {
    let scan: Scan = gate_scans::table
        .filter(gate_scans::enterprise_id.eq(enterprise))
        .filter(gate_scans::nonce.eq(nonce.as_str()))
        .select(Scan::as_select())
        .first(conn)?;
    guards::Post::find(conn, by, enterprise, &scan.gate_id)?.refuse_elsewhere()?;
    if scan.annulled_at.is_some() {
        return Ok(scan);
    }
    let (ScanResult::Accepted, Some(pass)) = (scan.result, scan.registration_id.clone()) else {
        return Err(ApiError::new(
            ErrorCode::InvalidTransition,
            "被拒绝的扫码未放行车辆，无需撤销",
        ));
    };
    let at = now();
    if at - scan.created_at > ANNUL_WINDOW {
        return Err(ApiError::new(
            ErrorCode::InvalidTransition,
            format!("放行超过 {} 分钟，不能撤销", ANNUL_WINDOW.num_minutes()),
        ));
    }
    let last: Option<GateScanId> = live_scans(&pass, ScanResult::Accepted)
        .select(gate_scans::id)
        .first(conn)
        .optional()?;
    if last.as_ref() != Some(&scan.id) {
        return Err(ApiError::new(
            ErrorCode::InvalidTransition,
            "该车辆此后已有新的通行记录，不能撤销这次扫码",
        ));
    }
    match scan.kind {
        ScanKind::Entry => {
            diesel::delete(gate_presence::table.filter(gate_presence::entry_scan_id.eq(&scan.id)))
                .execute(conn)?;
        }
        ScanKind::Exit => {
            let entry: Option<(GateScanId, GateId, NaiveDateTime)> =
                live_scans(&pass, ScanResult::Accepted)
                    .filter(gate_scans::kind.eq(ScanKind::Entry))
                    .select((gate_scans::id, gate_scans::gate_id, gate_scans::created_at))
                    .first(conn)
                    .optional()?;
            if let Some((entry, gate, entered_at)) = entry {
                diesel::insert_into(gate_presence::table)
                    .values((
                        gate_presence::registration_id.eq(&pass),
                        gate_presence::enterprise_id.eq(enterprise),
                        gate_presence::gate_id.eq(gate),
                        gate_presence::entry_scan_id.eq(entry),
                        gate_presence::entered_at.eq(entered_at),
                    ))
                    .execute(conn)?;
            }
        }
    }
    diesel::update(gate_scans::table.find(&scan.id))
        .set((
            gate_scans::annulled_at.eq(at),
            gate_scans::annulled_by.eq(by),
        ))
        .execute(conn)?;
    let event = Event::success("gate.scan.annul", "gate_scan", &scan.id).with_details(json!({
        "enterprise_id": enterprise,
        "registration_id": pass,
        "type": scan.kind,
    }));
    audit::append(conn, actor, event)?;
    Ok(Scan {
        annulled_at: Some(at),
        annulled_by: Some(by.clone()),
        ..scan
    })
}

/// The scans of `pass` with `result` that were not annulled, newest first.
fn live_scans(
    pass: &RegistrationId,
    result: ScanResult,
) -> gate_scans::BoxedQuery<'static, crate::db::MultiBackend> {
    gate_scans::table
        .filter(gate_scans::registration_id.eq(pass.clone()))
        .filter(gate_scans::result.eq(result))
        .filter(gate_scans::annulled_at.is_null())
        .order(gate_scans::id.desc())
        .into_boxed()
}

/// Which scans a log lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFilter {
    /// Every scan.
    All,
    /// The refused ones: the failed-scan log.
    Refused,
    /// Offline scans let through that the server would have refused.
    Conflicts,
}

impl Scan {
    /// The scans of `enterprise` that `shown` selects, newest first, after the
    /// cursor's id.
    pub fn log(
        conn: &mut DbConnection,
        enterprise: &EnterpriseId,
        shown: LogFilter,
        before: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Scan>, ApiError> {
        let mut query = gate_scans::table
            .filter(gate_scans::enterprise_id.eq(enterprise))
            .into_boxed();
        match shown {
            LogFilter::All => {}
            LogFilter::Refused => query = query.filter(gate_scans::result.eq(ScanResult::Refused)),
            LogFilter::Conflicts => query = query.filter(gate_scans::conflict.is_not_null()),
        }
        if let Some(before) = before {
            query = query.filter(gate_scans::id.lt(before.to_owned()));
        }
        Ok(query
            .order(gate_scans::id.desc())
            .limit(limit)
            .select(Scan::as_select())
            .load(conn)?)
    }

    /// The scans as the API shows them, with their gates' names and their passes.
    pub fn views(conn: &mut DbConnection, rows: Vec<Scan>) -> Result<Vec<ScanView>, ApiError> {
        let gate_ids: Vec<&GateId> = rows.iter().map(|s| &s.gate_id).collect();
        let gate_names: HashMap<GateId, String> = gates::table
            .filter(gates::id.eq_any(gate_ids))
            .select((gates::id, gates::name))
            .load::<(GateId, String)>(conn)?
            .into_iter()
            .collect();
        let pass_ids: Vec<&RegistrationId> = rows
            .iter()
            .filter_map(|s| s.registration_id.as_ref())
            .collect();
        let passes: HashMap<RegistrationId, PassFacts> = if pass_ids.is_empty() {
            HashMap::new()
        } else {
            registrations::table
                .filter(registrations::id.eq_any(pass_ids))
                .select(Registration::as_select())
                .load(conn)?
                .into_iter()
                .map(|pass| (pass.id.clone(), PassFacts::of(pass)))
                .collect()
        };
        Ok(rows
            .into_iter()
            .map(|scan| {
                let gate_name = gate_names.get(&scan.gate_id).cloned().unwrap_or_default();
                let pass = scan
                    .registration_id
                    .as_ref()
                    .and_then(|id| passes.get(id).cloned());
                scan.view(gate_name, pass)
            })
            .collect())
    }

    /// The scan as the API shows it, at `gate_name`, of `pass`.
    fn view(self, gate_name: String, pass: Option<PassFacts>) -> ScanView {
        ScanView {
            message: message(self.kind, self.reason),
            gate_name,
            pass,
            dwell_minutes: self.dwell_seconds.map(|seconds| seconds / 60),
            automatic: self.automatic,
            client_time: self.client_time.map(utc),
            scanned_at: utc(self.created_at),
            annulled_at: self.annulled_at.map(utc),
            offline: self.offline,
            conflict: self.conflict,
            id: self.id,
            nonce: self.nonce,
            gate_id: self.gate_id,
            kind: self.kind,
            result: self.result,
            reason: self.reason,
            code: self.raw_code,
        }
    }
}

/// What the guard reads for a scan.
fn message(kind: ScanKind, reason: Option<Refusal>) -> String {
    match (reason, kind) {
        (Some(reason), _) => reason.label().to_owned(),
        (None, ScanKind::Entry) => "准予入园".to_owned(),
        (None, ScanKind::Exit) => "准予离园".to_owned(),
    }
}

impl PassFacts {
    fn of(pass: Registration) -> Self {
        PassFacts {
            driver_name: masked_name(&pass.driver_name),
            plate: masked_plate(&pass.plate),
            trailer_plate: pass.trailer_plate.as_deref().map(masked_plate),
            vehicle_type_label: pass.vehicle_type.label(),
            vehicle_type: pass.vehicle_type,
            status: pass.status.shown(pass.valid_until, now()),
            valid_from: utc(pass.valid_from),
            valid_until: utc(pass.valid_until),
            registration_id: pass.id,
        }
    }
}

/// A truck inside now.
#[derive(Clone, Debug, Serialize)]
pub struct InsideView {
    /// The pass.
    pub pass: PassFacts,
    /// The gate it came in by.
    pub gate_id: GateId,
    /// When it came in (UTC).
    pub entered_at: chrono::DateTime<chrono::Utc>,
    /// Minutes inside so far.
    pub dwell_minutes: i64,
    /// Inside longer than the enterprise's overstay hours.
    pub overstay: bool,
}

/// An enterprise's gate now: who is inside and today's scans.
#[derive(Clone, Debug, Serialize)]
pub struct GateStatus {
    /// The enterprise.
    pub enterprise_id: EnterpriseId,
    /// Trucks inside now.
    pub inside_count: i64,
    /// Of the trucks listed, those overstaying.
    pub overstay_count: i64,
    /// The enterprise's gate rules.
    pub rules: GateRules,
    /// Accepted entries today (the zone's day), annulled ones left out.
    pub entries_today: i64,
    /// Accepted exits today.
    pub exits_today: i64,
    /// Refused scans today.
    pub refused_today: i64,
    /// The trucks inside, longest inside first (at most 500).
    pub inside: Vec<InsideView>,
}

impl GateStatus {
    /// The gate status of `enterprise`.
    pub fn of(conn: &mut DbConnection, enterprise: &EnterpriseId) -> Result<Self, ApiError> {
        let inside_count: i64 = gate_presence::table
            .filter(gate_presence::enterprise_id.eq(enterprise))
            .count()
            .get_result(conn)?;
        let rows: Vec<(Registration, GateId, NaiveDateTime)> = gate_presence::table
            .inner_join(registrations::table)
            .filter(gate_presence::enterprise_id.eq(enterprise))
            .order(gate_presence::entered_at.asc())
            .limit(INSIDE_LISTED)
            .select((
                Registration::as_select(),
                gate_presence::gate_id,
                gate_presence::entered_at,
            ))
            .load(conn)?;
        let at = now();
        let since = zone::day_start(zone::today());
        let today: Vec<(ScanKind, ScanResult, i64)> = gate_scans::table
            .filter(gate_scans::enterprise_id.eq(enterprise))
            .filter(gate_scans::created_at.ge(since))
            .filter(gate_scans::annulled_at.is_null())
            .group_by((gate_scans::kind, gate_scans::result))
            .select((
                gate_scans::kind,
                gate_scans::result,
                diesel::dsl::count_star(),
            ))
            .load(conn)?;
        let counted = |kind: Option<ScanKind>, result: ScanResult| {
            today
                .iter()
                .filter(|(k, r, _)| *r == result && kind.is_none_or(|kind| kind == *k))
                .map(|(_, _, n)| n)
                .sum()
        };
        let rules = GateRules::of(conn, enterprise)?;
        let inside: Vec<InsideView> = rows
            .into_iter()
            .map(|(pass, gate_id, entered_at)| InsideView {
                pass: PassFacts::of(pass),
                gate_id,
                entered_at: utc(entered_at),
                dwell_minutes: (at - entered_at).num_minutes(),
                overstay: rules.overstays(entered_at, at),
            })
            .collect();
        Ok(GateStatus {
            enterprise_id: enterprise.clone(),
            inside_count,
            overstay_count: inside.iter().map(|truck| i64::from(truck.overstay)).sum(),
            rules,
            entries_today: counted(Some(ScanKind::Entry), ScanResult::Accepted),
            exits_today: counted(Some(ScanKind::Exit), ScanResult::Accepted),
            refused_today: counted(None, ScanResult::Refused),
            inside,
        })
    }
}

/// An enterprise's gate rules: the zone hour at which trucks still inside are checked
/// out automatically, and the hours inside after which a truck overstays.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GateRules {
    /// The zone hour (0-23) of the automatic check-out; none without.
    pub checkout_hour: Option<i32>,
    /// Hours inside after which a truck overstays; none without.
    pub overstay_hours: Option<i32>,
}

impl GateRules {
    /// The rules of `enterprise` (none set: neither).
    pub fn of(conn: &mut DbConnection, enterprise: &EnterpriseId) -> Result<Self, ApiError> {
        Ok(gate_settings::table
            .find(enterprise)
            .select((gate_settings::checkout_hour, gate_settings::overstay_hours))
            .first::<(Option<i32>, Option<i32>)>(conn)
            .optional()?
            .map(|(checkout_hour, overstay_hours)| GateRules {
                checkout_hour,
                overstay_hours,
            })
            .unwrap_or_default())
    }

    /// Sets the rules of `enterprise`. Audited (`gate.settings`).
    pub fn set(
        self,
        conn: &mut DbConnection,
        actor: &Actor,
        enterprise: &EnterpriseId,
    ) -> Result<Self, ApiError> {
        diesel::delete(gate_settings::table.find(enterprise)).execute(conn)?;
        diesel::insert_into(gate_settings::table)
            .values((
                gate_settings::enterprise_id.eq(enterprise),
                gate_settings::checkout_hour.eq(self.checkout_hour),
                gate_settings::overstay_hours.eq(self.overstay_hours),
                gate_settings::updated_at.eq(now()),
            ))
            .execute(conn)?;
        let event = Event::success("gate.settings", "enterprise", enterprise).with_details(json!({
            "checkout_hour": self.checkout_hour,
            "overstay_hours": self.overstay_hours,
        }));
        audit::append(conn, actor, event)?;
        Ok(self)
    }

    /// Whether a truck that entered at `entered_at` overstays at `at`.
    fn overstays(self, entered_at: NaiveDateTime, at: NaiveDateTime) -> bool {
        self.overstay_hours
            .is_some_and(|hours| at - entered_at > TimeDelta::hours(i64::from(hours)))
    }
}

/// The latest check-out at zone hour `hour` not after `at`.
fn last_checkout(at: NaiveDateTime, hour: i32) -> NaiveDateTime {
    let today = zone::date_of(at);
    let checkout = zone::day_start(today) + TimeDelta::hours(i64::from(hour));
    if checkout > at {
        checkout - TimeDelta::days(1)
    } else {
        checkout
    }
}

/// Checks out the trucks still inside, at every enterprise with a check-out hour, that
/// entered before its latest check-out: each gets an automatic exit at the gate it came
/// in by, its stay counted to the check-out. A truck another check-out (another
/// replica's) took out meanwhile is left to it. How many were checked out.
pub fn check_out_overdue(conn: &mut DbConnection, at: NaiveDateTime) -> Result<usize, ApiError> {
    let hours: Vec<(EnterpriseId, Option<i32>)> = gate_settings::table
        .filter(gate_settings::checkout_hour.is_not_null())
        .select((gate_settings::enterprise_id, gate_settings::checkout_hour))
        .load(conn)?;
    let mut checked_out = 0;
    for (enterprise, hour) in hours {
        let Some(hour) = hour else { continue };
        let cutoff = last_checkout(at, hour);
        let inside: Vec<(RegistrationId, GateId, GateScanId, NaiveDateTime)> = gate_presence::table
            .filter(gate_presence::enterprise_id.eq(&enterprise))
            .filter(gate_presence::entered_at.lt(cutoff))
            .select((
                gate_presence::registration_id,
                gate_presence::gate_id,
                gate_presence::entry_scan_id,
                gate_presence::entered_at,
            ))
            .load(conn)?;
        for (pass, gate, entry, entered_at) in inside {
            let taken = diesel::delete(
                gate_presence::table
                    .filter(gate_presence::registration_id.eq(&pass))
                    .filter(gate_presence::entry_scan_id.eq(&entry)),
            )
            .execute(conn)?;
            if taken == 0 {
                continue;
            }
            let id = GateScanId::generate();
            let exit = Scan {
                nonce: format!("auto-{id}"),
                id,
                enterprise_id: enterprise.clone(),
                gate_id: gate,
                kind: ScanKind::Exit,
                raw_code: String::new(),
                registration_id: Some(pass),
                result: ScanResult::Accepted,
                reason: None,
                dwell_seconds: Some(
                    i32::try_from((cutoff - entered_at).num_seconds()).unwrap_or(i32::MAX),
                ),
                automatic: true,
                scanned_by: None,
                client_time: None,
                created_at: at,
                annulled_at: None,
                annulled_by: None,
                offline: false,
                conflict: None,
            };
            diesel::insert_into(gate_scans::table)
                .values(&exit)
                .execute(conn)?;
            checked_out += 1;
        }
    }
    Ok(checked_out)
}

/// How often the automatic check-out looks for trucks to check out.
pub const CHECKOUT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// One enterprise's trucks inside now, for the zone's view.
#[derive(Clone, Debug, Serialize)]
pub struct EnterpriseInside {
    /// The enterprise.
    pub enterprise_id: EnterpriseId,
    /// Its name.
    pub enterprise_name: String,
    /// Trucks inside.
    pub inside_count: i64,
    /// Of them, overstaying.
    pub overstay_count: i64,
}

/// The trucks inside the enterprises a caller sees (the zone, a sector, a park).
#[derive(Clone, Debug, Serialize)]
pub struct ZoneInside {
    /// Trucks inside.
    pub inside_count: i64,
    /// Of them, overstaying at their enterprise.
    pub overstay_count: i64,
    /// The enterprises with trucks inside, most first.
    pub enterprises: Vec<EnterpriseInside>,
}

impl ZoneInside {
    /// The trucks inside the enterprises `visibility` shows.
    pub fn of(conn: &mut DbConnection, visibility: &Visibility) -> Result<Self, ApiError> {
        // Every truck inside the zone with its enterprise's place: a few thousand at
        // most, cut to the caller's view here.
        type Row = (
            EnterpriseId,
            String,
            OrgUnitId,
            OrgUnitId,
            NaiveDateTime,
            Option<i32>,
        );
        let rows: Vec<Row> = gate_presence::table
            .inner_join(enterprises::table.on(enterprises::id.eq(gate_presence::enterprise_id)))
            .left_join(
                gate_settings::table
                    .on(gate_settings::enterprise_id.eq(gate_presence::enterprise_id)),
            )
            .select((
                gate_presence::enterprise_id,
                enterprises::name,
                enterprises::sector_id,
                enterprises::park_id,
                gate_presence::entered_at,
                gate_settings::overstay_hours.nullable(),
            ))
            .load(conn)?;
        let at = now();
        let mut by_enterprise: HashMap<EnterpriseId, EnterpriseInside> = HashMap::new();
        for (enterprise_id, enterprise_name, sector, park, entered_at, overstay_hours) in rows {
            if !visibility.admits(&enterprise_id, &sector, &park) {
                continue;
            }
            let rules = GateRules {
                checkout_hour: None,
                overstay_hours,
            };
            let entry = by_enterprise
                .entry(enterprise_id.clone())
                .or_insert_with(|| EnterpriseInside {
                    enterprise_id,
                    enterprise_name,
                    inside_count: 0,
                    overstay_count: 0,
                });
            entry.inside_count += 1;
            entry.overstay_count += i64::from(rules.overstays(entered_at, at));
        }
        let mut enterprises: Vec<EnterpriseInside> = by_enterprise.into_values().collect();
        enterprises.sort_by(|a, b| {
            b.inside_count
                .cmp(&a.inside_count)
                .then_with(|| a.enterprise_name.cmp(&b.enterprise_name))
        });
        Ok(ZoneInside {
            inside_count: enterprises.iter().map(|e| e.inside_count).sum(),
            overstay_count: enterprises.iter().map(|e| e.overstay_count).sum(),
            enterprises,
        })
    }
}
