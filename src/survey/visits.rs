//! Visits: each attempt on a case (phone call, site visit, door-knock) with its
//! outcome. Recording one moves the case's state and its place on the escalation
//! ladder; a retry with the same client id is the same visit.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::audit::{self, Actor, Event};
use crate::db::schema::{survey_cases, survey_visits};
use crate::db::{DbConnection, now};
use crate::domain::enterprise::Coordinates;
use crate::domain::id::{CaseId, UserId, VisitId};
use crate::domain::survey::ClientId;
use crate::error::{ApiError, ErrorCode};
use crate::survey::cases::{Case, PlacedCase};
use crate::survey::{
    CaseState, VisitMethod, VisitOutcome, Written, display_names, next_method, stale_case, urgency,
};

/// A stored visit.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = survey_visits)]
pub struct Visit {
    /// Id.
    pub id: VisitId,
    /// The case.
    pub case_id: CaseId,
    /// Who recorded it.
    pub surveyor_id: UserId,
    /// Method.
    pub method: VisitMethod,
    /// Outcome.
    pub outcome: VisitOutcome,
    /// Notes (may be empty).
    pub notes: String,
    /// When it took place (UTC).
    pub visited_at: NaiveDateTime,
    /// The device's id for it.
    pub client_id: String,
    /// Recorded.
    pub created_at: NaiveDateTime,
    /// Where, as the phone located it.
    pub longitude: Option<f64>,
    /// Where, as the phone located it.
    pub latitude: Option<f64>,
}

/// A validated visit to record.
#[derive(Clone, Debug)]
pub struct NewVisit {
    /// Method.
    pub method: VisitMethod,
    /// Outcome.
    pub outcome: VisitOutcome,
    /// Notes.
    pub notes: String,
    /// When (UTC, microseconds); `None` for now.
    pub visited_at: Option<NaiveDateTime>,
    /// The device's id for it.
    pub client_id: ClientId,
    /// The case's version the surveyor saw, if the device sent it.
    pub case_version: Option<i32>,
    /// Where it took place, if the phone located it.
    pub coordinates: Option<Coordinates>,
}

/// A visit as the API shows it.
#[derive(Clone, Debug, Serialize)]
pub struct VisitView {
    /// Id.
    pub id: VisitId,
    /// The case.
    pub case_id: CaseId,
    /// Who recorded it.
    pub surveyor_id: UserId,
    /// Their display name.
    pub surveyor_name: Option<String>,
    /// Method.
    pub method: VisitMethod,
    /// Outcome.
    pub outcome: VisitOutcome,
    /// Notes.
    pub notes: String,
    /// When it took place (UTC).
    pub visited_at: chrono::DateTime<chrono::Utc>,
    /// The device's id for it.
    pub client_id: String,
    /// Recorded (UTC).
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Where, as the phone located it.
    pub longitude: Option<f64>,
    /// Where, as the phone located it.
    pub latitude: Option<f64>,
}

impl Visit {
    /// Records a visit of `recorder` on `case` (which the caller may see): a client id
    /// seen before on the case gives that visit back unchanged (422
    /// `idempotency_key_reused` when the body differs); a campaign that is not
    /// `running` is 409 `campaign_not_running`; a `case_version` other than the
    /// case's is 409 `case_version_conflict`. Otherwise
    /// the visit is stored, the case moves ([`VisitOutcome::case_state`], the
    /// [`crate::survey::LADDER`]) to a new version, and an audit entry is written,
    /// all in the caller's transaction.
    pub fn record(
        conn: &mut DbConnection,
        actor: &Actor,
        recorder: &UserId,
        placed: &PlacedCase,
        running: bool,
        new: &NewVisit,
    ) -> Result<Written<Visit>, ApiError> {
        let case = &placed.case;
        let earlier: Option<Visit> = survey_visits::table
            .filter(survey_visits::case_id.eq(&case.id))
            .filter(survey_visits::client_id.eq(new.client_id.as_str()))
            .select(Visit::as_select())
            .first(conn)
            .optional()?;
        if let Some(earlier) = earlier {
            let same = earlier.method == new.method
                && earlier.outcome == new.outcome
                && new.visited_at.is_none_or(|at| at == earlier.visited_at)
                && earlier.notes == new.notes
                && earlier.longitude == new.coordinates.map(|c| c.longitude)
                && earlier.latitude == new.coordinates.map(|c| c.latitude);
            if !same {
                return Err(ApiError::new(
                    ErrorCode::IdempotencyKeyReused,
                    "该 client_id 已用于另一条走访记录，请为新的走访生成新的 client_id",
                ));
            }
            return Ok(Written::Replayed(earlier));
        }
        if !running {
            return Err(ApiError::new(
                ErrorCode::CampaignNotRunning,
                "该摸排任务未在进行中，不能记录走访",
            ));
        }
        if new.case_version.is_some_and(|seen| seen != case.version) {
            return Err(stale_case());
        }
        let at = now();
        let visited_at = new.visited_at.unwrap_or(at);
        let visit = Visit {
            id: VisitId::generate(),
            case_id: case.id.clone(),
            surveyor_id: recorder.clone(),
            method: new.method,
            outcome: new.outcome,
            notes: new.notes.clone(),
            visited_at,
            client_id: new.client_id.as_str().to_owned(),
            created_at: at,
            longitude: new.coordinates.map(|c| c.longitude),
            latitude: new.coordinates.map(|c| c.latitude),
        };
        diesel::insert_into(survey_visits::table)
            .values(&visit)
            .execute(conn)?;
        let failed: Vec<VisitOutcome> = VisitOutcome::ALL
            .iter()
            .copied()
            .filter(|outcome| outcome.is_failure())
            .collect();
        let failures: HashMap<VisitMethod, i64> = survey_visits::table
            .filter(survey_visits::case_id.eq(&case.id))
            .filter(survey_visits::outcome.eq_any(failed))
            .group_by(survey_visits::method)
            .select((survey_visits::method, diesel::dsl::count_star()))
            .load::<(VisitMethod, i64)>(conn)?
            .into_iter()
            .collect();
        let ladder = next_method(|method| failures.get(&method).copied().unwrap_or(0));
        let state = match new.outcome.case_state() {
            // A failed try after the enterprise was reached or closed changes nothing.
            CaseState::Attempted
                if matches!(case.state, CaseState::Reached | CaseState::Closed) =>
            {
                case.state
            }
            CaseState::Attempted if ladder.is_none() && new.outcome.is_failure() => CaseState::Lost,
            other => other,
        };
        let changed = diesel::update(
            survey_cases::table
                .filter(survey_cases::id.eq(&case.id))
                .filter(survey_cases::version.eq(case.version)),
        )
        .set((
            survey_cases::state.eq(state),
            survey_cases::next_method.eq(ladder.unwrap_or(case.next_method)),
            survey_cases::attempts.eq(survey_cases::attempts + 1),
            survey_cases::last_method.eq(Some(new.method)),
            survey_cases::last_outcome.eq(Some(new.outcome)),
            survey_cases::last_visit_at.eq(Some(visited_at)),
            survey_cases::urgency.eq(urgency(state, Some(new.outcome))),
            survey_cases::version.eq(survey_cases::version + 1),
            survey_cases::updated_at.eq(at),
        ))
        .execute(conn)?;
        if changed == 0 {
            // Changed by another write since it was read.
            return Err(stale_case());
        }
        let event = Event::success("survey.visit.create", "survey_visit", &visit.id).with_details(
            serde_json::json!({
                "case_id": case.id,
                "enterprise_id": case.enterprise_id,
                "method": new.method,
                "outcome": new.outcome,
                "state": state,
            }),
        );
        audit::append(conn, actor, event)?;
        Ok(Written::Created(visit))
    }

    /// The visits of a case, in the order they took place.
    pub fn of_case(conn: &mut DbConnection, case: &CaseId) -> Result<Vec<Visit>, ApiError> {
        Ok(survey_visits::table
            .filter(survey_visits::case_id.eq(case))
            .order((survey_visits::visited_at.asc(), survey_visits::id.asc()))
            .select(Visit::as_select())
            .load(conn)?)
    }

    /// Adds the recorders' names for the API.
    pub fn views(conn: &mut DbConnection, rows: Vec<Visit>) -> Result<Vec<VisitView>, ApiError> {
        let names = display_names(conn, rows.iter().map(|v| &v.surveyor_id))?;
        Ok(rows
            .into_iter()
            .map(|v| VisitView {
                surveyor_name: names.get(&v.surveyor_id).cloned(),
                id: v.id,
                case_id: v.case_id,
                surveyor_id: v.surveyor_id,
                method: v.method,
                outcome: v.outcome,
                notes: v.notes,
                visited_at: v.visited_at.and_utc(),
                client_id: v.client_id,
                created_at: v.created_at.and_utc(),
                longitude: v.longitude,
                latitude: v.latitude,
            })
            .collect())
    }
}

/// The case as it is now, after a visit (for the answer).
pub fn reload(conn: &mut DbConnection, placed: &PlacedCase) -> Result<PlacedCase, ApiError> {
    let case: Case = survey_cases::table
        .find(&placed.case.id)
        .select(Case::as_select())
        .first(conn)?;
    Ok(PlacedCase {
        case,
        ..placed.clone()
    })
}
