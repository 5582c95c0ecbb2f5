//! The enterprise survey (企业摸排): campaigns over a scope of sectors and parks
//! ([`campaigns`]), one case per in-scope roster enterprise, assigned to surveyors by
//! hand or balanced ([`cases`], [`assignment`]), the visits that drive a case's state
//! up the escalation ladder ([`visits`]), the photos taken on a case ([`photos`]), the
//! campaign's questionnaire with its three tiers of validation rules
//! ([`questionnaire`]), the answers a surveyor submits and their review ([`answers`],
//! [`review`]), the sector × park coverage ledger ([`coverage`]), the issue ledger of
//! the demands raised in approved answers ([`demands`]), the enterprises found in the
//! field that are not on the roster ([`discoveries`]) and the scoring of potential
//! enterprises ([`scoring`]). The JSON API is in [`handlers`], [`answer_handlers`],
//! [`demand_handlers`], [`discovery_handlers`] and [`scoring_handlers`].
//!
//! Who sees what: admins and the zone command see every campaign and case; a sector
//! or park official sees the campaigns that reach into their sectors or parks and the
//! cases of their enterprises ([`SurveyScope`]); a surveyor sees only the cases
//! assigned to them. Anything else is not found.

/// The reads every versioned document of a campaign shares (its questionnaire, its
/// scoring rules): a table with one row a version, keyed by `campaign_id` and
/// `version`. Implements `current`, `at` and `next_version` on `$document` from the
/// calling module's `StoredRow`, `stored_columns()` and `$document::of_row`.
macro_rules! campaign_versions {
    ($document:ty, $table:ident) => {
        impl $document {
            /// The campaign's newest version.
            pub fn current(
                conn: &mut DbConnection,
                campaign: &CampaignId,
            ) -> Result<Self, ApiError> {
                let row: StoredRow = $table::table
                    .filter($table::campaign_id.eq(campaign))
                    .order($table::version.desc())
                    .select(stored_columns())
                    .first(conn)?;
                Self::of_row(campaign, row)
            }

            /// A given version (404 when the campaign has no such version).
            pub fn at(
                conn: &mut DbConnection,
                campaign: &CampaignId,
                version: i32,
            ) -> Result<Self, ApiError> {
                let row: StoredRow = $table::table
                    .filter($table::campaign_id.eq(campaign))
                    .filter($table::version.eq(version))
                    .select(stored_columns())
                    .first(conn)?;
                Self::of_row(campaign, row)
            }

            /// The number the campaign's next version takes (1 when it has none).
            fn next_version(
                conn: &mut DbConnection,
                campaign: &CampaignId,
            ) -> Result<i32, ApiError> {
                let newest: Option<i32> = $table::table
                    .filter($table::campaign_id.eq(campaign))
                    .select(diesel::dsl::max($table::version))
                    .first(conn)?;
                Ok(newest.unwrap_or(0) + 1)
            }
        }
    };
}
pub(crate) use campaign_versions;

pub mod answer_handlers;
pub mod answers;
pub mod assignment;
pub mod campaigns;
pub mod cases;
pub mod coverage;
pub mod coverage_export;
pub mod demand_handlers;
pub mod demands;
pub mod discoveries;
pub mod discovery_handlers;
pub mod handlers;
pub mod photos;
pub mod questionnaire;
pub mod review;
pub mod scoring;
pub mod scoring_handlers;
pub mod surveyors;
pub mod visits;

use std::collections::HashMap;

use actix_web::HttpResponse;
use diesel::prelude::*;

use crate::auth::caller::Caller;
use crate::db::DbConnection;
use crate::db::mapping::text_enum;
use crate::db::schema::{org_units, users};
use crate::domain::account::Role;
use crate::domain::id::{OrgUnitId, UserId};
use crate::error::{ApiError, ErrorCode};

/// The display names of users, by id (for the API's views).
pub fn display_names<'a>(
    conn: &mut DbConnection,
    ids: impl Iterator<Item = &'a UserId>,
) -> Result<HashMap<UserId, String>, ApiError> {
    let ids: Vec<&UserId> = ids.collect();
    Ok(users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::display_name))
        .load::<(UserId, String)>(conn)?
        .into_iter()
        .collect())
}

/// The names of sectors and parks, by id (for the API's views and exports).
pub fn unit_names<'a>(
    conn: &mut DbConnection,
    ids: impl Iterator<Item = &'a OrgUnitId>,
) -> Result<HashMap<OrgUnitId, String>, ApiError> {
    let ids: Vec<&OrgUnitId> = ids.collect();
    Ok(org_units::table
        .filter(org_units::id.eq_any(ids))
        .select((org_units::id, org_units::name))
        .load::<(OrgUnitId, String)>(conn)?
        .into_iter()
        .collect())
}

/// What came of a device's write that carries a client id: a new record, or the one
/// an earlier try with the same client id wrote (and nothing new is written).
#[derive(Debug)]
pub enum Written<T> {
    /// Written now.
    Created(T),
    /// Written by an earlier try.
    Replayed(T),
}

impl<T> Written<T> {
    /// The record, and whether it was written now.
    pub fn split(self) -> (T, bool) {
        match self {
            Written::Created(record) => (record, true),
            Written::Replayed(record) => (record, false),
        }
    }
}

/// The answer to a device's write: 201 with `body` when it was written now, 200 with
/// the same body for a retry.
pub fn written_answer(created: bool, body: impl serde::Serialize) -> HttpResponse {
    if created {
        HttpResponse::Created().json(body)
    } else {
        HttpResponse::Ok().json(body)
    }
}

/// 409 `case_version_conflict`: the case changed since the version the client saw.
pub fn stale_case() -> ApiError {
    ApiError::new(
        ErrorCode::CaseVersionConflict,
        "该摸排任务已被他人更新，请刷新后再提交",
    )
}

text_enum! {
    /// Where a campaign stands: cases exist from the start on, visits are taken while
    /// it runs.
    pub enum CampaignStatus {
        /// Being prepared: no cases yet.
        Draft = "draft" / "草稿",
        /// Under way: its cases are assigned and visited.
        Running = "running" / "进行中",
        /// Over: read only.
        Closed = "closed" / "已结束",
    }
}

impl CampaignStatus {
    /// Whether a campaign may go from `self` to `to` (staying put is no change).
    pub fn may_become(self, to: CampaignStatus) -> bool {
        matches!(
            (self, to),
            (CampaignStatus::Draft, CampaignStatus::Running)
                | (
                    CampaignStatus::Draft | CampaignStatus::Running,
                    CampaignStatus::Closed
                )
        )
    }
}

text_enum! {
    /// Where a case stands.
    pub enum CaseState {
        /// Nobody is assigned.
        Unassigned = "unassigned" / "未分配",
        /// Assigned, not yet attempted.
        Assigned = "assigned" / "已分配",
        /// Attempted without reaching the enterprise.
        Attempted = "attempted" / "已尝试",
        /// The enterprise was reached.
        Reached = "reached" / "已摸排",
        /// Every method of the ladder failed (失联).
        Lost = "lost" / "失联",
        /// The enterprise closed, moved away or cannot be found.
        Closed = "closed" / "已关闭",
    }
}

impl CaseState {
    /// The states of a case not yet reached: what the ledger's drill-down lists.
    pub const NOT_REACHED: [CaseState; 3] = [
        CaseState::Unassigned,
        CaseState::Assigned,
        CaseState::Attempted,
    ];
}

text_enum! {
    /// Where a case's answers stand in review. Only approved answers count.
    pub enum ReviewState {
        /// No answers yet.
        Unsubmitted = "unsubmitted" / "未提交",
        /// Submitted, waiting for an official.
        Received = "received" / "待审核",
        /// Sent back to the surveyor with comments: they may submit again.
        Returned = "returned" / "已退回",
        /// Approved: the answers count.
        Approved = "approved" / "已通过",
        /// Rejected.
        Rejected = "rejected" / "已驳回",
    }
}

text_enum! {
    /// What a reviewer decides on a case's answers.
    pub enum ReviewDecision {
        /// Received → approved.
        Approve = "approve" / "通过",
        /// Received → returned to the surveyor with comments.
        Return = "return" / "退回修改",
        /// Received → rejected.
        Reject = "reject" / "驳回",
        /// Approved → received again (撤销通过), with a reason.
        Unapprove = "unapprove" / "撤销通过",
    }
}

impl ReviewDecision {
    /// The state a decision leads from `from` to, or `None` when it does not apply.
    pub fn apply(self, from: ReviewState) -> Option<ReviewState> {
        match (self, from) {
            (ReviewDecision::Approve, ReviewState::Received) => Some(ReviewState::Approved),
            (ReviewDecision::Return, ReviewState::Received) => Some(ReviewState::Returned),
            (ReviewDecision::Reject, ReviewState::Received) => Some(ReviewState::Rejected),
            (ReviewDecision::Unapprove, ReviewState::Approved) => Some(ReviewState::Received),
            _ => None,
        }
    }
}

impl ReviewState {
    /// Whether a surveyor may (re)submit answers: before the first submission, while
    /// waiting for review, and after a return.
    pub fn takes_answers(self) -> bool {
        matches!(
            self,
            ReviewState::Unsubmitted | ReviewState::Received | ReviewState::Returned
        )
    }
}

text_enum! {
    /// How a surveyor tried to reach an enterprise.
    pub enum VisitMethod {
        /// A phone call.
        Phone = "phone" / "电话",
        /// A visit to the site.
        SiteVisit = "site_visit" / "实地走访",
        /// Knocking on the door (上门敲门).
        DoorKnock = "door_knock" / "上门敲门",
    }
}

text_enum! {
    /// How a visit ended.
    pub enum VisitOutcome {
        /// The enterprise was reached and surveyed.
        Completed = "completed" / "已完成",
        /// Nobody answered.
        NoAnswer = "no_answer" / "无人应答",
        /// The enterprise refused.
        Refused = "refused" / "拒绝",
        /// The enterprise asked to be contacted later.
        CallBack = "call_back" / "约定再联系",
        /// The enterprise has closed down.
        Closed = "closed" / "已关闭",
        /// The enterprise moved away.
        Moved = "moved" / "已迁出",
        /// No such enterprise at the address.
        NotFound = "not_found" / "查无此企业",
    }
}

impl VisitOutcome {
    /// The state a case takes after a visit with this outcome, before the ladder.
    pub fn case_state(self) -> CaseState {
        match self {
            VisitOutcome::Completed => CaseState::Reached,
            VisitOutcome::Closed | VisitOutcome::Moved | VisitOutcome::NotFound => {
                CaseState::Closed
            }
            VisitOutcome::NoAnswer | VisitOutcome::Refused | VisitOutcome::CallBack => {
                CaseState::Attempted
            }
        }
    }

    /// Whether the attempt failed and counts towards the escalation ladder (a call
    /// back later is an appointment, not a failure).
    pub fn is_failure(self) -> bool {
        matches!(self, VisitOutcome::NoAnswer | VisitOutcome::Refused)
    }
}

/// One rung of the escalation ladder: after `failures` failed attempts by `method`,
/// the case asks for the next rung's method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rung {
    /// The method of this rung.
    pub method: VisitMethod,
    /// Failed attempts by it before the case moves on.
    pub failures: i64,
}

/// The escalation ladder (as census practice runs it: phone first, then the site,
/// then the door); past its last rung the case is lost (失联) and goes to the
/// official.
pub const LADDER: &[Rung] = &[
    Rung {
        method: VisitMethod::Phone,
        failures: 2,
    },
    Rung {
        method: VisitMethod::SiteVisit,
        failures: 1,
    },
    Rung {
        method: VisitMethod::DoorKnock,
        failures: 1,
    },
];

/// Where a case stands on the [`LADDER`], given its failed attempts per method: the
/// method to try next, or `None` once every rung has failed.
pub fn next_method(failures: impl Fn(VisitMethod) -> i64) -> Option<VisitMethod> {
    LADDER
        .iter()
        .find(|rung| failures(rung.method) < rung.failures)
        .map(|rung| rung.method)
}

/// The order of a surveyor's list, by what needs doing (smaller first): promised
/// call-backs, then attempted cases, then new ones; lost, reached and closed cases
/// last.
pub fn urgency(state: CaseState, last_outcome: Option<VisitOutcome>) -> i32 {
    match (state, last_outcome) {
        (CaseState::Attempted, Some(VisitOutcome::CallBack)) => 0,
        (CaseState::Attempted, _) => 1,
        (CaseState::Assigned | CaseState::Unassigned, _) => 2,
        (CaseState::Lost, _) => 3,
        (CaseState::Reached | CaseState::Closed, _) => 4,
    }
}

/// Which enterprises' survey work a caller sees: the whole zone, their sectors or
/// parks, or only the cases assigned to them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SurveyScope {
    /// Admins and the zone command.
    All,
    /// A sector official.
    Sectors(Vec<OrgUnitId>),
    /// A park official.
    Parks(Vec<OrgUnitId>),
    /// A surveyor: the cases assigned to them.
    Assignee(UserId),
    /// Anyone else (enterprise contacts): nothing.
    Nothing,
}

impl SurveyScope {
    /// The caller's view of the survey.
    pub fn of(caller: &Caller) -> Self {
        match caller.role {
            Role::Admin | Role::Regulator => SurveyScope::All,
            Role::SectorOfficial => SurveyScope::Sectors(caller.scope.sector_ids.clone()),
            Role::ParkOfficial => SurveyScope::Parks(caller.scope.park_ids.clone()),
            Role::Surveyor => SurveyScope::Assignee(caller.user_id.clone()),
            Role::EnterpriseContact | Role::GateGuard => SurveyScope::Nothing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ladder_goes_phone_twice_then_site_then_door_then_lost() {
        let after = |phone: i64, site: i64, door: i64| {
            next_method(|method| match method {
                VisitMethod::Phone => phone,
                VisitMethod::SiteVisit => site,
                VisitMethod::DoorKnock => door,
            })
        };
        assert_eq!(after(0, 0, 0), Some(VisitMethod::Phone));
        assert_eq!(after(1, 0, 0), Some(VisitMethod::Phone));
        assert_eq!(after(2, 0, 0), Some(VisitMethod::SiteVisit));
        assert_eq!(after(2, 1, 0), Some(VisitMethod::DoorKnock));
        assert_eq!(after(2, 1, 1), None);
        // A failed site visit before any call still leaves the phone to try.
        assert_eq!(after(0, 1, 0), Some(VisitMethod::Phone));
    }

    #[test]
    fn outcomes_drive_the_case_state() {
        assert_eq!(VisitOutcome::Completed.case_state(), CaseState::Reached);
        for closed in [
            VisitOutcome::Closed,
            VisitOutcome::Moved,
            VisitOutcome::NotFound,
        ] {
            assert_eq!(closed.case_state(), CaseState::Closed);
        }
        assert_eq!(VisitOutcome::CallBack.case_state(), CaseState::Attempted);
        assert!(!VisitOutcome::CallBack.is_failure());
        assert!(VisitOutcome::NoAnswer.is_failure());
    }

    #[test]
    fn campaigns_go_draft_running_closed() {
        use CampaignStatus::{Closed, Draft, Running};
        assert!(Draft.may_become(Running));
        assert!(Running.may_become(Closed));
        assert!(Draft.may_become(Closed));
        assert!(!Running.may_become(Draft));
        assert!(!Closed.may_become(Running));
        assert!(!Closed.may_become(Draft));
    }

    #[test]
    fn reviews_go_received_to_approved_returned_or_rejected() {
        use ReviewDecision::{Approve, Reject, Return, Unapprove};
        use ReviewState::{Approved, Received, Rejected, Returned, Unsubmitted};
        assert_eq!(Approve.apply(Received), Some(Approved));
        assert_eq!(Return.apply(Received), Some(Returned));
        assert_eq!(Reject.apply(Received), Some(Rejected));
        assert_eq!(Unapprove.apply(Approved), Some(Received));
        for decision in ReviewDecision::ALL {
            assert_eq!(decision.apply(Unsubmitted), None);
            assert_eq!(decision.apply(Rejected), None);
            assert_eq!(decision.apply(Returned), None);
        }
        assert_eq!(Approve.apply(Approved), None);
        assert!(Returned.takes_answers() && Received.takes_answers());
        assert!(!Approved.takes_answers() && !Rejected.takes_answers());
    }

    #[test]
    fn call_backs_come_first_and_finished_cases_last() {
        let call_back = urgency(CaseState::Attempted, Some(VisitOutcome::CallBack));
        let attempted = urgency(CaseState::Attempted, Some(VisitOutcome::NoAnswer));
        let assigned = urgency(CaseState::Assigned, None);
        let reached = urgency(CaseState::Reached, Some(VisitOutcome::Completed));
        assert!(call_back < attempted && attempted < assigned && assigned < reached);
    }
}
