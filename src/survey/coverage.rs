//! The coverage ledger (台账): a campaign's cases counted by state (and those whose
//! answers are approved) in a sector × park matrix over the caller's scope, with the
//! totals of each sector, each park and the whole, from one GROUP BY query (kept
//! between requests while the campaign's cases stay unchanged, [`LedgerCache`]); and
//! the same cases' figures per surveyor ([`SurveyorFigures`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use crate::db::DbConnection;
use crate::db::MultiBackend;
use crate::db::schema::{survey_cases, survey_reviews, survey_visits};
use crate::domain::id::CaseId;
use crate::domain::id::{CampaignId, OrgUnitId, UserId};
use crate::domain::zone;
use crate::error::ApiError;
use crate::survey::campaigns::Campaign;
use crate::survey::{
    CaseState, ReviewDecision, ReviewState, SurveyScope, VisitOutcome, display_names, unit_names,
};

/// The cases of `campaign` that `scope` sees, as a condition on a query of cases (a
/// boxed query cannot be grouped).
fn in_scope<Source>(
    scope: &SurveyScope,
    campaign: &CampaignId,
) -> Box<dyn BoxableExpression<Source, MultiBackend, SqlType = diesel::sql_types::Bool>>
where
    survey_cases::campaign_id: SelectableExpression<Source>,
    diesel::dsl::AssumeNotNull<survey_cases::assignee_id>: SelectableExpression<Source>,
    survey_cases::id: SelectableExpression<Source>,
    survey_cases::sector_id: SelectableExpression<Source>,
    survey_cases::park_id: SelectableExpression<Source>,
{
    let of_campaign = survey_cases::campaign_id.eq(campaign.clone());
    match scope {
        SurveyScope::All => Box::new(of_campaign),
        SurveyScope::Sectors(ids) => {
            Box::new(of_campaign.and(survey_cases::sector_id.eq_any(ids.clone())))
        }
        SurveyScope::Parks(ids) => {
            Box::new(of_campaign.and(survey_cases::park_id.eq_any(ids.clone())))
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
    /// Whose enterprise has truck traffic (an approved filing), across the states.
    pub active: i64,
}

/// A group of the ledger's query: cases of one place by state, review and activity.
type Group = (OrgUnitId, OrgUnitId, CaseState, ReviewState, bool, i64);

impl Counts {
    fn add(&mut self, &(_, _, state, review, active, count): &Group) {
        self.total += count;
        if review == ReviewState::Approved {
            self.approved += count;
        }
        if active {
            self.active += count;
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

/// One cell of a sector × park matrix (of cases by default).
#[derive(Clone, Debug, Serialize)]
pub struct Cell<C = Counts> {
    /// Sector.
    pub sector_id: OrgUnitId,
    /// Sector name.
    pub sector_name: String,
    /// Park.
    pub park_id: OrgUnitId,
    /// Park name.
    pub park_name: String,
    /// What it counts.
    #[serde(flatten)]
    pub counts: C,
}

/// A row or column total (one sector's or one park's), or one unit's figures.
#[derive(Clone, Debug, Serialize)]
pub struct Line<C = Counts> {
    /// The sector or park.
    pub id: OrgUnitId,
    /// Its name.
    pub name: String,
    /// What it counts.
    #[serde(flatten)]
    pub counts: C,
}

/// A sector × park matrix being counted: each row of a GROUP BY query adds to its
/// cell, its sector's and its park's totals and the whole.
#[derive(Debug)]
pub struct Matrix<C> {
    cells: BTreeMap<(OrgUnitId, OrgUnitId), C>,
    sectors: BTreeMap<OrgUnitId, C>,
    parks: BTreeMap<OrgUnitId, C>,
    total: C,
}

/// A counted matrix, named: non-empty cells by sector then park, the sectors' and the
/// parks' totals, and the whole.
pub type Tallied<C> = (Vec<Cell<C>>, Vec<Line<C>>, Vec<Line<C>>, C);

impl<C: Default> Default for Matrix<C> {
    fn default() -> Self {
        Self {
            cells: BTreeMap::new(),
            sectors: BTreeMap::new(),
            parks: BTreeMap::new(),
            total: C::default(),
        }
    }
}

impl<C: Default> Matrix<C> {
    /// Adds to the cell of `sector` × `park` and its totals.
    pub fn add(&mut self, sector: &OrgUnitId, park: &OrgUnitId, add: impl Fn(&mut C)) {
        add(self
            .cells
            .entry((sector.clone(), park.clone()))
            .or_default());
        add(self.sectors.entry(sector.clone()).or_default());
        add(self.parks.entry(park.clone()).or_default());
        add(&mut self.total);
    }

    /// The counted matrix with the units' names.
    pub fn finish(self, conn: &mut DbConnection) -> Result<Tallied<C>, ApiError> {
        let names = unit_names(conn, self.sectors.keys().chain(self.parks.keys()))?;
        let name_of = |id: &OrgUnitId| names.get(id).cloned().unwrap_or_default();
        let cells = self
            .cells
            .into_iter()
            .map(|((sector_id, park_id), counts)| Cell {
                sector_name: name_of(&sector_id),
                park_name: name_of(&park_id),
                sector_id,
                park_id,
                counts,
            })
            .collect();
        Ok((
            cells,
            lines(self.sectors, &names),
            lines(self.parks, &names),
            self.total,
        ))
    }
}

/// Counts by unit as named lines, in id order.
pub fn lines<C>(
    counts: BTreeMap<OrgUnitId, C>,
    names: &HashMap<OrgUnitId, String>,
) -> Vec<Line<C>> {
    counts
        .into_iter()
        .map(|(id, counts)| Line {
            name: names.get(&id).cloned().unwrap_or_default(),
            id,
            counts,
        })
        .collect()
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

/// How long a campaign's groups may be served without being read again even when its
/// cases look unchanged: the bound on a stale ledger should two writers' clocks and
/// commits cross (one reads its time, another commits a later one first).
const LEDGER_FRESH_FOR: Duration = Duration::from_secs(5);
/// Most campaigns kept; past it the cache starts over.
const LEDGER_CAMPAIGNS: usize = 64;

/// The ledger's groups of each campaign's cases (the whole campaign, any scope cut
/// from it in memory), with the newest `updated_at` of its cases when they were read:
/// every change of a case sets it (and a new case has it), so a request first reads
/// that one value through the index `survey_cases_changed` and reuses the groups
/// while it is the same. Each replica keeps its own; none can serve a change late by
/// more than [`LEDGER_FRESH_FOR`] (and the one request then reading them again, while
/// the others go on with the kept ones).
#[derive(Debug, Default)]
pub struct LedgerCache {
    entries: Mutex<HashMap<CampaignId, CachedGroups>>,
}

#[derive(Debug)]
struct CachedGroups {
    stamp: Option<NaiveDateTime>,
    read_at: Instant,
    groups: Arc<Vec<Group>>,
    /// A request is reading the unchanged groups again, past their time.
    renewing: bool,
}

impl LedgerCache {
    fn entries(&self) -> MutexGuard<'_, HashMap<CampaignId, CachedGroups>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The groups of every case of `campaign`, from the cache while they are current.
    fn groups(
        &self,
        conn: &mut DbConnection,
        campaign: &CampaignId,
    ) -> Result<Arc<Vec<Group>>, ApiError> {
        let stamp: Option<NaiveDateTime> = survey_cases::table
            .filter(survey_cases::campaign_id.eq(campaign))
            .select(diesel::dsl::max(survey_cases::updated_at))
            .first(conn)?;
        if let Some(cached) = self.entries().get_mut(campaign)
            && cached.stamp == stamp
        {
            if cached.read_at.elapsed() < LEDGER_FRESH_FOR || cached.renewing {
                return Ok(Arc::clone(&cached.groups));
            }
            cached.renewing = true;
        }
        let groups = match Coverage::groups(conn, &SurveyScope::All, campaign) {
            Ok(groups) => Arc::new(groups),
            Err(error) => {
                // The next request renews them instead.
                if let Some(cached) = self.entries().get_mut(campaign) {
                    cached.renewing = false;
                }
                return Err(error);
            }
        };
        let mut entries = self.entries();
        if entries.len() >= LEDGER_CAMPAIGNS {
            entries.clear();
        }
        let cached = CachedGroups {
            stamp,
            read_at: Instant::now(),
            groups: Arc::clone(&groups),
            renewing: false,
        };
        entries.insert(campaign.clone(), cached);
        Ok(groups)
    }
}

impl Coverage {
    /// The ledger of `campaign` over the cases `scope` sees: a sector's or a park's
    /// official gets the cells of their units cut from the whole campaign's groups
    /// (which `cache` keeps); a surveyor's own cases are counted afresh.
    pub fn of(
        conn: &mut DbConnection,
        cache: &LedgerCache,
        scope: &SurveyScope,
        campaign: &CampaignId,
    ) -> Result<Coverage, ApiError> {
        let groups = match scope {
            SurveyScope::Assignee(_) | SurveyScope::Nothing => {
                Arc::new(Self::groups(conn, scope, campaign)?)
            }
            SurveyScope::All | SurveyScope::Sectors(_) | SurveyScope::Parks(_) => {
                cache.groups(conn, campaign)?
            }
        };
        let sees = |(sector, park, ..): &&Group| match scope {
            SurveyScope::Sectors(ids) => ids.contains(sector),
            SurveyScope::Parks(ids) => ids.contains(park),
            SurveyScope::All | SurveyScope::Assignee(_) | SurveyScope::Nothing => true,
        };
        let mut matrix = Matrix::<Counts>::default();
        for group in groups.iter().filter(sees) {
            matrix.add(&group.0, &group.1, |counts| counts.add(group));
        }
        let (cells, sectors, parks, total) = matrix.finish(conn)?;
        Ok(Coverage {
            campaign_id: campaign.clone(),
            cells,
            sectors,
            parks,
            total,
        })
    }

    /// The cases of `campaign` that `scope` sees, by place, state, review and activity.
    fn groups(
        conn: &mut DbConnection,
        scope: &SurveyScope,
        campaign: &CampaignId,
    ) -> Result<Vec<Group>, ApiError> {
        Ok(survey_cases::table
            .filter(in_scope(scope, campaign))
            .group_by((
                survey_cases::sector_id,
                survey_cases::park_id,
                survey_cases::state,
                survey_cases::review,
                survey_cases::active,
            ))
            .select((
                survey_cases::sector_id,
                survey_cases::park_id,
                survey_cases::state,
                survey_cases::review,
                survey_cases::active,
                diesel::dsl::count_star(),
            ))
            .load(conn)?)
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

/// The visit outcomes that cover a case (摸排到): reached, or found closed, moved or
/// gone.
const COVERING: [VisitOutcome; 4] = [
    VisitOutcome::Completed,
    VisitOutcome::Closed,
    VisitOutcome::Moved,
    VisitOutcome::NotFound,
];

/// One zone day of a campaign's progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProgressDay {
    /// The zone day, `YYYY-MM-DD`.
    pub day: String,
    /// Cases first covered that day.
    pub covered: i64,
    /// Cases covered by the end of the day.
    pub covered_to_date: i64,
    /// Approvals that day, less un-approvals.
    pub approved: i64,
    /// Cases approved by the end of the day.
    pub approved_to_date: i64,
}

/// A campaign's progress over time in the caller's scope.
#[derive(Clone, Debug, Serialize)]
pub struct Progress {
    /// The campaign.
    pub campaign_id: CampaignId,
    /// Its cases in the caller's scope.
    pub total: i64,
    /// Every day from the campaign's first (or its first activity) to today, the
    /// campaign's last or its last activity, whichever is latest of the last two.
    pub days: Vec<ProgressDay>,
}

impl Progress {
    /// The progress of `campaign` over the cases `scope` sees: when each case was first
    /// covered, and each day's approvals.
    pub fn of(
        conn: &mut DbConnection,
        scope: &SurveyScope,
        campaign: &Campaign,
    ) -> Result<Progress, ApiError> {
        let total: i64 = survey_cases::table
            .filter(in_scope(scope, &campaign.id))
            .count()
            .get_result(conn)?;
        let first_covered: Vec<Option<NaiveDateTime>> = survey_visits::table
            .inner_join(survey_cases::table)
            .filter(in_scope(scope, &campaign.id))
            .filter(survey_visits::outcome.eq_any(COVERING))
            .group_by(survey_visits::case_id)
            .select(diesel::dsl::min(survey_visits::visited_at))
            .load(conn)?;
        let decisions: Vec<(ReviewDecision, NaiveDateTime)> = survey_reviews::table
            .inner_join(survey_cases::table)
            .filter(in_scope(scope, &campaign.id))
            .filter(
                survey_reviews::decision
                    .eq_any([ReviewDecision::Approve, ReviewDecision::Unapprove]),
            )
            .select((survey_reviews::decision, survey_reviews::created_at))
            .load(conn)?;
        let mut by_day: BTreeMap<NaiveDate, (i64, i64)> = BTreeMap::new();
        for at in first_covered.into_iter().flatten() {
            by_day.entry(zone::date_of(at)).or_default().0 += 1;
        }
        for (decision, at) in decisions {
            let change = if decision == ReviewDecision::Approve {
                1
            } else {
                -1
            };
            by_day.entry(zone::date_of(at)).or_default().1 += change;
        }
        let period = [&campaign.starts_on, &campaign.ends_on].map(|day| zone::parse_day(day));
        let (Some(starts_on), Some(ends_on)) = (period[0], period[1]) else {
            return Err(ApiError::internal(anyhow::anyhow!(
                "a stored campaign period is not a day"
            )));
        };
        let first = by_day
            .keys()
            .next()
            .map_or(starts_on, |day| starts_on.min(*day));
        let last = by_day
            .keys()
            .next_back()
            .map_or(ends_on.min(zone::today()), |day| {
                ends_on.min(zone::today()).max(*day)
            });
        let (mut covered_to_date, mut approved_to_date) = (0, 0);
        let days = first
            .iter_days()
            .take_while(|day| *day <= last)
            .map(|day| {
                let (covered, approved) = by_day.get(&day).copied().unwrap_or_default();
                covered_to_date += covered;
                approved_to_date += approved;
                ProgressDay {
                    day: zone::day_text(day),
                    covered,
                    covered_to_date,
                    approved,
                    approved_to_date,
                }
            })
            .collect();
        Ok(Progress {
            campaign_id: campaign.id.clone(),
            total,
            days,
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
        let place = || {
            (
                OrgUnitId::from("SA".to_owned()),
                OrgUnitId::from("P1".to_owned()),
            )
        };
        for (state, review, active, count) in [
            (CaseState::Reached, ReviewState::Approved, true, 3),
            (CaseState::Reached, ReviewState::Received, false, 1),
            (CaseState::Lost, ReviewState::Unsubmitted, true, 1),
            (CaseState::Unassigned, ReviewState::Unsubmitted, false, 2),
        ] {
            let (sector, park) = place();
            counts.add(&(sector, park, state, review, active, count));
        }
        assert_eq!(counts.total, 7);
        assert_eq!(counts.approved, 3);
        assert_eq!(counts.active, 4);
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
