//! Which gates an enterprise's guards stand at. A guard with no gates listed scans at
//! every gate of the enterprise; with some, at those only: a scan or an annulment at
//! another gate is refused (403) before anything is written ([`Post`]). The enterprise's
//! contacts (and admins) set the list; every change is audited.

use std::collections::HashMap;

use diesel::dsl::exists;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use serde::Serialize;
use serde_json::json;

use crate::audit::{self, Actor, Event};
use crate::db::schema::{gates, guard_gates, users};
use crate::db::{DbConnection, MultiBackend};
use crate::domain::account::Role;
use crate::domain::id::{EnterpriseId, GateId, UserId};
use crate::error::{ApiError, ErrorCode, FieldError, FieldErrors};
use crate::gate::Gate;

/// A gate guard of an enterprise and the gates they stand at.
#[derive(Clone, Debug, Serialize)]
pub struct GuardView {
    /// The guard's account.
    pub user_id: UserId,
    /// Login name.
    pub username: String,
    /// Name shown.
    pub display_name: String,
    /// Enabled.
    pub active: bool,
    /// Scans at every gate of the enterprise (no gates listed).
    pub every_gate: bool,
    /// The gates they scan at, by id; empty for every gate.
    pub gate_ids: Vec<GateId>,
}

/// An account row as a guard's view starts from.
type GuardRow = (UserId, String, String, bool);

/// The accounts of `enterprise`'s gate guards, as their views start from.
fn guards(
    enterprise: &EnterpriseId,
) -> users::BoxedQuery<'static, MultiBackend, (Text, Text, Text, Bool)> {
    users::table
        .filter(users::role.eq(Role::GateGuard))
        .filter(users::enterprise_id.eq(enterprise.clone()))
        .select((
            users::id,
            users::username,
            users::display_name,
            users::active,
        ))
        .into_boxed()
}

/// The gate guards of `enterprise`, by login name, each with their gates.
pub fn of_enterprise(
    conn: &mut DbConnection,
    enterprise: &EnterpriseId,
) -> Result<Vec<GuardView>, ApiError> {
    let rows: Vec<GuardRow> = guards(enterprise).order(users::username.asc()).load(conn)?;
    let ids: Vec<&UserId> = rows.iter().map(|(id, ..)| id).collect();
    let mut posts: HashMap<UserId, Vec<GateId>> = HashMap::new();
    for (user, gate) in guard_gates::table
        .filter(guard_gates::user_id.eq_any(ids))
        .order((guard_gates::user_id, guard_gates::gate_id))
        .select((guard_gates::user_id, guard_gates::gate_id))
        .load::<(UserId, GateId)>(conn)?
    {
        posts.entry(user).or_default().push(gate);
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let gates = posts.remove(&row.0).unwrap_or_default();
            view(row, gates)
        })
        .collect())
}

fn view((user_id, username, display_name, active): GuardRow, gate_ids: Vec<GateId>) -> GuardView {
    GuardView {
        user_id,
        username,
        display_name,
        active,
        every_gate: gate_ids.is_empty(),
        gate_ids,
    }
}

/// Sets the gates the guard `user` of `enterprise` stands at (none: every gate); a
/// user who is not one of its guards is 404, a gate not of `enterprise` 422. Audited
/// (`gate.guard.gates`).
pub fn set_gates(
    conn: &mut DbConnection,
    actor: &Actor,
    enterprise: &EnterpriseId,
    user: &UserId,
    gate_ids: Vec<GateId>,
) -> Result<GuardView, ApiError> {
    let row: GuardRow = guards(enterprise)
        .filter(users::id.eq(user.clone()))
        .first(conn)?;
    let known: Vec<GateId> = gates::table
        .filter(gates::enterprise_id.eq(enterprise))
        .filter(gates::id.eq_any(&gate_ids))
        .select(gates::id)
        .load(conn)?;
    let mut errors = FieldErrors::default();
    for (index, gate) in gate_ids.iter().enumerate() {
        if !known.contains(gate) {
            errors.push(FieldError::new(
                format!("gate_ids[{index}]"),
                "unknown_gate",
                "本企业没有该门岗",
            ));
        }
    }
    errors.finish()?;
    let mut gate_ids = gate_ids;
    gate_ids.sort();
    gate_ids.dedup();
    forget(conn, user)?;
    for gate in &gate_ids {
        diesel::insert_into(guard_gates::table)
            .values((guard_gates::user_id.eq(user), guard_gates::gate_id.eq(gate)))
            .execute(conn)?;
    }
    let event = Event::success("gate.guard.gates", "user", user).with_details(json!({
        "enterprise_id": enterprise,
        "gate_ids": gate_ids,
    }));
    audit::append(conn, actor, event)?;
    Ok(view(row, gate_ids))
}

/// Drops the gates of `user`: a guard moved to another enterprise or role.
pub fn forget(conn: &mut DbConnection, user: &UserId) -> Result<(), ApiError> {
    diesel::delete(guard_gates::table.filter(guard_gates::user_id.eq(user))).execute(conn)?;
    Ok(())
}

/// The gates `user` is limited to; empty for every gate of their enterprise.
pub fn posts(conn: &mut DbConnection, user: &UserId) -> Result<Vec<GateId>, ApiError> {
    Ok(guard_gates::table
        .filter(guard_gates::user_id.eq(user))
        .select(guard_gates::gate_id)
        .load(conn)?)
}

/// A gate of the scanner's enterprise as the scanner finds it: the gate, and whether
/// they stand at it (a guard posted at some gates stands at those only).
#[derive(Debug)]
pub struct Post {
    /// The gate.
    pub gate: Gate,
    stands: bool,
}

impl Post {
    /// The gate `id` of `enterprise` for `scanner` (404 when it has none): one query,
    /// since every scan asks it.
    pub fn find(
        conn: &mut DbConnection,
        scanner: &UserId,
        enterprise: &EnterpriseId,
        id: &GateId,
    ) -> Result<Self, ApiError> {
        let posted = guard_gates::table.filter(guard_gates::user_id.eq(scanner));
        let posted_here = guard_gates::table
            .filter(guard_gates::user_id.eq(scanner))
            .filter(guard_gates::gate_id.eq(id));
        let (gate, posted, here): (Gate, bool, bool) = gates::table
            .filter(gates::id.eq(id))
            .filter(gates::enterprise_id.eq(enterprise))
            .select((Gate::as_select(), exists(posted), exists(posted_here)))
            .first(conn)?;
        Ok(Self {
            gate,
            stands: !posted || here,
        })
    }

    /// 403 unless the scanner stands at the gate.
    pub fn refuse_elsewhere(&self) -> Result<(), ApiError> {
        if self.stands {
            return Ok(());
        }
        Err(ApiError::new(
            ErrorCode::Forbidden,
            format!("您未被安排在门岗“{}”值守，不能在此扫码", self.gate.name),
        ))
    }
}
