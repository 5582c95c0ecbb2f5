//! The coverage ledger (台账): a campaign's cases counted by state (and those whose
//! answers are approved) in a sector × park matrix over the caller's scope, with the
//! totals of each sector, each park and the whole, from one GROUP BY query; and the
//! same cases' figures per surveyor ([`SurveyorFigures`]).

use std::collections::BTreeMap;

use diesel::prelude::*;
use serde::Serialize;

use crate::db::DbConnection;
use crate::db::MultiBackend;
use crate::db::schema::{enterprises, survey_cases, survey_reviews};
use crate::domain::id::CaseId;
use crate::domain::id::{CampaignId, OrgUnitId, UserId};
use crate::error::ApiError;
use crate::survey::{
    CaseState, ReviewDecision, ReviewState, SurveyScope, display_names, unit_names,
};

/// The cases of `campaign` that `scope` sees, as a condition on a query of cases joined
/// to their enterprises (a boxed query cannot be grouped).
fn in_scope<Source>(
    scope: &SurveyScope,
    campaign: &CampaignId,
) -> Box<dyn BoxableExpression<Source, MultiBackend, SqlType = diesel::sql_types::Bool>>
where
    survey_cases::campaign_id: SelectableExpression<Source>,
    diesel::dsl::AssumeNotNull<survey_cases::assignee_id>: SelectableExpression<Source>,
    survey_cases::id: SelectableExpression<Source>,
    enterprises::sector_id: SelectableExpression<Source>,
    enterprises::park_id: SelectableExpression<Source>,
{
    let of_campaign = survey_cases::campaign_id.eq(campaign.clone());
    match scope {
        SurveyScope::All => Box::new(of_campaign),
        SurveyScope::Sectors(ids) => {
            Box::new(of_campaign.and(enterprises::sector_id.eq_any(ids.clone())))
        }
        SurveyScope::Parks(ids) => {
            Box::new(of_campaign.and(enterprises::park_id.eq_any(ids.clone())))
        }
        SurveyScope::Assignee(user) => {
            Box::new(of_campaign.and(survey_cases::assignee_id.assume_not_null().eq(user.clone())))
        }
        SurveyScope::Nothing => {
            Box::new(of_campaign.and(survey_cases::id.eq_any(Vec::<CaseId>::new())))
        }
    }
}

/// Cases by state; the states partition `total`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Every case.
    pub total: i64,
    /// Nobody assigned yet.
    pub unassigned: i64,
    /// Assigned, not yet attempted.
    pub assigned: i64,
    /// Attempted, not reached.
    pub attempted: i64,
    /// Reached.
    pub reached: i64,
    /// Lost (失联).
    pub lost: i64,
    /// Closed, moved or not found.
    pub closed: i64,
    /// Whose answers are approved (across the states): only these count.
    pub approved: i64,
}

impl Counts {
    fn add(&mut self, state: CaseState, review: ReviewState, count: i64) {
        self.total += count;
        if review == ReviewState::Approved {
            self.approved += count;
        }
        let slot = match state {
            CaseState::Unassigned => &mut self.unassigned,
            CaseState::Assigned => &mut self.assigned,
            CaseState::Attempted => &mut self.attempted,
            CaseState::Reached => &mut self.reached,
            CaseState::Lost => &mut self.lost,
            CaseState::Closed => &mut self.closed,
        };
        *slot += count;
    }
}

/// One cell of the matrix.
#[derive(Clone, Debug, Serialize)]
pub struct Cell {
    /// Sector.
    pub sector_id: OrgUnitId,
    /// Sector name.
    pub sector_name: String,
    /// Park.
    pub park_id: OrgUnitId,
    /// Park name.
    pub park_name: String,
    /// Its cases.
    #[serde(flatten)]
    pub counts: Counts,
}

/// A row or column total: one sector's or one park's cases.
#[derive(Clone, Debug, Serialize)]
pub struct Line {
    /// The sector or park.
    pub id: OrgUnitId,
    /// Its name.
    pub name: String,
    /// Its cases.
    #[serde(flatten)]
    pub counts: Counts,
}

/// The ledger of a campaign.
#[derive(Clone, Debug, Serialize)]
pub struct Coverage {
    /// The campaign.
    pub campaign_id: CampaignId,
    /// Non-empty cells, by sector then park.
    pub cells: Vec<Cell>,
    /// Per sector.
    pub sectors: Vec<Line>,
    /// Per park.
    pub parks: Vec<Line>,
    /// The whole.
    pub total: Counts,
}

impl Coverage {
    /// The ledger of `campaign` over the cases `scope` sees.
    pub fn of(
        conn: &mut DbConnection,
        scope: &SurveyScope,
        campaign: &CampaignId,
    ) -> Result<Coverage, ApiError> {
        let rows: Vec<(OrgUnitId, OrgUnitId, CaseState, ReviewState, i64)> = survey_cases::table
            .inner_join(enterprises::table)
            .filter(in_scope(scope, campaign))
            .group_by((
                enterprises::sector_id,
                enterprises::park_id,
                survey_cases::state,
                survey_cases::review,
            ))
            .select((
                enterprises::sector_id,
                enterprises::park_id,
                survey_cases::state,
                survey_cases::review,
                diesel::dsl::count_star(),
            ))
            .load(conn)?;
        let mut cells: BTreeMap<(OrgUnitId, OrgUnitId), Counts> = BTreeMap::new();
        let mut sectors: BTreeMap<OrgUnitId, Counts> = BTreeMap::new();
        let mut parks: BTreeMap<OrgUnitId, Counts> = BTreeMap::new();
        let mut total = Counts::default();
        for (sector, park, state, review, count) in rows {
            cells
                .entry((sector.clone(), park.clone()))
                .or_default()
                .add(state, review, count);
            sectors.entry(sector).or_default().add(state, review, count);
            parks.entry(park).or_default().add(state, review, count);
            total.add(state, review, count);
        }
        let names = unit_names(conn, sectors.keys().chain(parks.keys()))?;
        let name_of = |id: &OrgUnitId| names.get(id).cloned().unwrap_or_default();
        let lines = |counts: BTreeMap<OrgUnitId, Counts>| {
            counts
                .into_iter()
                .map(|(id, counts)| Line {
                    name: name_of(&id),
                    id,
                    counts,
                })
                .collect()
        };
        Ok(Coverage {
            campaign_id: campaign.clone(),
            cells: cells
                .into_iter()
                .map(|((sector_id, park_id), counts)| Cell {
                    sector_name: name_of(&sector_id),
                    park_name: name_of(&park_id),
                    sector_id,
                    park_id,
                    counts,
                })
                .collect(),
            sectors: lines(sectors),
            parks: lines(parks),
            total,
        })
    }
}

/// One surveyor's figures over the cases of a campaign in the caller's scope that are
/// assigned to them now (a reassigned case's figures move with it).
#[derive(Clone, Debug, Serialize)]
pub struct SurveyorFigures {
    /// The surveyor.
    pub surveyor_id: UserId,
    /// Their display name.
    pub surveyor_name: String,
    /// Their figures.
    #[serde(flatten)]
    pub counts: SurveyorCounts,
}

/// What a surveyor's cases count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SurveyorCounts {
    /// Cases assigned to them.
    pub assigned: i64,
    /// Visits recorded on those cases.
    pub attempts: i64,
    /// Of those cases, reached.
    pub reached: i64,
    /// Lost (失联).
    pub lost: i64,
    /// Closed, moved or not found.
    pub closed: i64,
    /// Times their answers were returned to them for changes.
    pub returned: i64,
    /// Cases whose answers are approved.
    pub approved: i64,
}

/// The per-surveyor figures of a campaign.
#[derive(Clone, Debug, Serialize)]
pub struct SurveyorFigureList {
    /// The campaign.
    pub campaign_id: CampaignId,
    /// One per surveyor with cases in scope, by name.
    pub items: Vec<SurveyorFigures>,
}

impl SurveyorCounts {
    fn add(&mut self, state: CaseState, review: ReviewState, cases: i64, attempts: i64) {
        self.assigned += cases;
        self.attempts += attempts;
        match state {
            CaseState::Reached => self.reached += cases,
            CaseState::Lost => self.lost += cases,
            CaseState::Closed => self.closed += cases,
            CaseState::Unassigned | CaseState::Assigned | CaseState::Attempted => {}
        }
        if review == ReviewState::Approved {
            self.approved += cases;
        }
    }
}

impl SurveyorFigures {
    /// The figures of each surveyor with cases of `campaign` that `scope` sees.
    pub fn of(
        conn: &mut DbConnection,
        scope: &SurveyScope,
        campaign: &CampaignId,
    ) -> Result<SurveyorFigureList, ApiError> {
        type Row = (Option<UserId>, CaseState, ReviewState, i64, Option<i64>);
        let rows: Vec<Row> = survey_cases::table
            .inner_join(enterprises::table)
            .filter(in_scope(scope, campaign))
            .filter(survey_cases::assignee_id.is_not_null())
            .group_by((
                survey_cases::assignee_id,
                survey_cases::state,
                survey_cases::review,
            ))
            .select((
                survey_cases::assignee_id,
                survey_cases::state,
                survey_cases::review,
                diesel::dsl::count_star(),
                diesel::dsl::sum(survey_cases::attempts),
            ))
            .load(conn)?;
        let returns: Vec<(Option<UserId>, i64)> = survey_cases::table
            .inner_join(enterprises::table)
            .inner_join(survey_reviews::table)
            .filter(in_scope(scope, campaign))
            .filter(survey_reviews::decision.eq(ReviewDecision::Return))
            .filter(survey_cases::assignee_id.is_not_null())
            .group_by(survey_cases::assignee_id)
            .select((survey_cases::assignee_id, diesel::dsl::count_star()))
            .load(conn)?;
        let mut by_surveyor: BTreeMap<UserId, SurveyorCounts> = BTreeMap::new();
        for (surveyor, state, review, cases, attempts) in rows {
            if let Some(surveyor) = surveyor {
                by_surveyor.entry(surveyor).or_default().add(
                    state,
                    review,
                    cases,
                    attempts.unwrap_or_default(),
                );
            }
        }
        for (surveyor, returned) in returns {
            if let Some(counts) = surveyor.and_then(|id| by_surveyor.get_mut(&id)) {
                counts.returned = returned;
            }
        }
        let names = display_names(conn, by_surveyor.keys())?;
        let mut items: Vec<SurveyorFigures> = by_surveyor
            .into_iter()
            .map(|(surveyor_id, counts)| SurveyorFigures {
                surveyor_name: names.get(&surveyor_id).cloned().unwrap_or_default(),
                surveyor_id,
                counts,
            })
            .collect();
        items.sort_by(|a, b| {
            (&a.surveyor_name, &a.surveyor_id).cmp(&(&b.surveyor_name, &b.surveyor_id))
        });
        Ok(SurveyorFigureList {
            campaign_id: campaign.clone(),
            items,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_surveyors_counts_take_the_settled_states_and_the_approved() {
        let mut counts = SurveyorCounts::default();
        counts.add(CaseState::Reached, ReviewState::Approved, 2, 3);
        counts.add(CaseState::Attempted, ReviewState::Unsubmitted, 1, 2);
        counts.add(CaseState::Closed, ReviewState::Unsubmitted, 1, 1);
        counts.add(CaseState::Lost, ReviewState::Unsubmitted, 1, 4);
        assert_eq!(
            counts,
            SurveyorCounts {
                assigned: 5,
                attempts: 10,
                reached: 2,
                lost: 1,
                closed: 1,
                returned: 0,
                approved: 2,
            }
        );
    }

    #[test]
    fn states_partition_the_total() {
        let mut counts = Counts::default();
        counts.add(CaseState::Reached, ReviewState::Approved, 3);
        counts.add(CaseState::Reached, ReviewState::Received, 1);
        counts.add(CaseState::Lost, ReviewState::Unsubmitted, 1);
        counts.add(CaseState::Unassigned, ReviewState::Unsubmitted, 2);
        assert_eq!(counts.total, 7);
        assert_eq!(counts.approved, 3);
        assert_eq!(
            counts.unassigned
                + counts.assigned
                + counts.attempted
                + counts.reached
                + counts.lost
                + counts.closed,
            counts.total
        );
    }
}
