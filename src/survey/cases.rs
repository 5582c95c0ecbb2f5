//! Survey cases: one per campaign and enterprise. The `Case` model, the scoped
//! queries behind the lists (a campaign's cases, a surveyor's own), and applying
//! assignments with an audit entry per change.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use diesel::helper_types::{InnerJoin, IntoBoxed};
use diesel::prelude::*;
use serde::Serialize;

use crate::audit::{self, Actor, Event};
use crate::db::schema::{enterprises, registrations, survey_campaigns, survey_cases};
use crate::db::{DbConnection, MultiBackend, now, on_backend};
use crate::domain::id::{CampaignId, CaseId, EnterpriseId, OrgUnitId, RegistrationId, UserId};
use crate::error::ApiError;
use crate::survey::assignment::Surveyor;
use crate::survey::{
    CampaignStatus, CaseState, ReviewState, SurveyScope, VisitMethod, VisitOutcome, display_names,
    stale_case, urgency,
};

/// A stored case.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = survey_cases, treat_none_as_default_value = false)]
pub struct Case {
    /// Id.
    pub id: CaseId,
    /// Its campaign.
    pub campaign_id: CampaignId,
    /// The enterprise to survey.
    pub enterprise_id: EnterpriseId,
    /// The surveyor it is assigned to.
    pub assignee_id: Option<UserId>,
    /// State.
    pub state: CaseState,
    /// The method the escalation ladder asks for next.
    pub next_method: VisitMethod,
    /// Visits so far.
    pub attempts: i32,
    /// The last visit's method.
    pub last_method: Option<VisitMethod>,
    /// The last visit's outcome.
    pub last_outcome: Option<VisitOutcome>,
    /// When the last visit took place.
    pub last_visit_at: Option<NaiveDateTime>,
    /// Order in a surveyor's list ([`urgency`]).
    pub urgency: i32,
    /// Grows with every change (optimistic concurrency).
    pub version: i32,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Last changed.
    pub updated_at: NaiveDateTime,
    /// Where its answers stand in review.
    pub review: ReviewState,
    /// Its enterprise's sector, kept with the case for the ledger.
    pub sector_id: OrgUnitId,
    /// Its enterprise's park.
    pub park_id: OrgUnitId,
    /// Its enterprise has truck traffic (an approved filing).
    pub active: bool,
}

/// What a new case is of: its enterprise, the enterprise's sector and park, and
/// whether it has truck traffic.
pub type Subject = (EnterpriseId, OrgUnitId, OrgUnitId, bool);

/// A case as the API shows it: with its enterprise's name and place and the
/// assignee's name.
#[derive(Clone, Debug, Serialize)]
pub struct CaseView {
    /// Id.
    pub id: CaseId,
    /// Campaign.
    pub campaign_id: CampaignId,
    /// Enterprise.
    pub enterprise_id: EnterpriseId,
    /// Enterprise name.
    pub enterprise_name: String,
    /// The enterprise's sector.
    pub sector_id: OrgUnitId,
    /// The enterprise's park.
    pub park_id: OrgUnitId,
    /// Assigned surveyor.
    pub assignee_id: Option<UserId>,
    /// Their display name.
    pub assignee_name: Option<String>,
    /// State.
    pub state: CaseState,
    /// The method to try next.
    pub next_method: VisitMethod,
    /// Visits so far.
    pub attempts: i32,
    /// Last visit's method.
    pub last_method: Option<VisitMethod>,
    /// Last visit's outcome.
    pub last_outcome: Option<VisitOutcome>,
    /// Last visit's time (UTC).
    pub last_visit_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Where its answers stand in review.
    pub review: ReviewState,
    /// Version, to send back as `case_version` with a visit or answers.
    pub version: i32,
    /// Last changed (UTC).
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// A case with where its enterprise sits.
#[derive(Clone, Debug)]
pub struct PlacedCase {
    /// The case.
    pub case: Case,
    /// Enterprise name.
    pub enterprise_name: String,
}

/// Filters of a campaign's case list.
#[derive(Clone, Debug, Default)]
pub struct CaseFilter {
    /// In this state.
    pub state: Option<CaseState>,
    /// Assigned to this surveyor.
    pub assignee_id: Option<UserId>,
    /// Of an enterprise in this sector.
    pub sector_id: Option<OrgUnitId>,
    /// Of an enterprise in this park.
    pub park_id: Option<OrgUnitId>,
    /// Not yet reached ([`CaseState::NOT_REACHED`]) when true, the others when false.
    pub unreached: Option<bool>,
    /// Whose answers stand so in review.
    pub review: Option<ReviewState>,
}

/// Cases joined to their enterprises, boxed.
type CaseQuery<'a> =
    IntoBoxed<'a, InnerJoin<survey_cases::table, enterprises::table>, MultiBackend>;

/// Between the urgency and the id in a key of a surveyor's list.
const URGENCY_KEY_SEPARATOR: char = '\n';

/// Cases one UPDATE of [`Case::assign`] names: well under the bind limits.
const UPDATE_CHUNK: usize = 1000;

/// The cases `scope` sees, joined to their enterprises: officials those of their
/// sectors' or parks' enterprises, a surveyor those assigned to them.
fn scoped<'a>(scope: &SurveyScope) -> CaseQuery<'a> {
    let query = survey_cases::table
        .inner_join(enterprises::table)
        .into_boxed();
    match scope {
        SurveyScope::All => query,
        SurveyScope::Sectors(ids) => query.filter(survey_cases::sector_id.eq_any(ids.clone())),
        SurveyScope::Parks(ids) => query.filter(survey_cases::park_id.eq_any(ids.clone())),
        SurveyScope::Assignee(user) => query.filter(survey_cases::assignee_id.eq(user.clone())),
        SurveyScope::Nothing => query.filter(survey_cases::id.eq_any(Vec::<CaseId>::new())),
    }
}

/// The columns of a [`PlacedCase`].
type PlacedRow = (Case, String);

fn placed((case, enterprise_name): PlacedRow) -> PlacedCase {
    PlacedCase {
        case,
        enterprise_name,
    }
}

impl Case {
    /// A new, unassigned case of `subject` in `campaign`.
    pub fn new_unassigned(
        campaign: &CampaignId,
        (enterprise, sector, park, active): Subject,
        at: NaiveDateTime,
    ) -> Self {
        Self {
            id: CaseId::generate(),
            campaign_id: campaign.clone(),
            enterprise_id: enterprise,
            sector_id: sector,
            park_id: park,
            active,
            assignee_id: None,
            state: CaseState::Unassigned,
            next_method: VisitMethod::Phone,
            attempts: 0,
            last_method: None,
            last_outcome: None,
            last_visit_at: None,
            urgency: urgency(CaseState::Unassigned, None),
            version: 1,
            created_at: at,
            updated_at: at,
            review: ReviewState::Unsubmitted,
        }
    }

    /// Moves the cases of `enterprise` with it when the roster changes its sector or
    /// park, so that the ledger counts them where the enterprise now is.
    pub fn follow_enterprise(
        conn: &mut DbConnection,
        enterprise: &EnterpriseId,
        sector: Option<&OrgUnitId>,
        park: Option<&OrgUnitId>,
    ) -> Result<(), ApiError> {
        diesel::update(survey_cases::table.filter(survey_cases::enterprise_id.eq(enterprise)))
            .set((
                sector.map(|sector| survey_cases::sector_id.eq(sector.clone())),
                park.map(|park| survey_cases::park_id.eq(park.clone())),
                survey_cases::updated_at.eq(now()),
            ))
            .execute(conn)?;
        Ok(())
    }

    /// Marks the cases of the enterprise of `registration`, just approved, as having
    /// truck traffic (the ledger's `active`).
    pub fn note_traffic(
        conn: &mut DbConnection,
        registration: &RegistrationId,
    ) -> Result<(), ApiError> {
        let enterprise = registrations::table
            .filter(registrations::id.eq(registration))
            .select(registrations::enterprise_id);
        diesel::update(
            survey_cases::table
                .filter(survey_cases::enterprise_id.eq_any(enterprise))
                .filter(survey_cases::active.eq(false)),
        )
        .set((
            survey_cases::active.eq(true),
            survey_cases::updated_at.eq(now()),
        ))
        .execute(conn)?;
        Ok(())
    }

    /// Inserts new cases in one statement (the multi-backend connection has no
    /// multi-row INSERT, so on the connection behind it).
    pub fn insert_all(conn: &mut DbConnection, cases: &[Case]) -> Result<(), ApiError> {
        on_backend!(conn, |c| diesel::insert_into(survey_cases::table)
            .values(cases)
            .execute(c))?;
        Ok(())
    }

    /// A case `scope` sees, with its enterprise's place; anything else is 404.
    pub fn find(
        conn: &mut DbConnection,
        scope: &SurveyScope,
        id: &CaseId,
    ) -> Result<PlacedCase, ApiError> {
        let row: PlacedRow = scoped(scope)
            .filter(survey_cases::id.eq(id.clone()))
            .select(Self::placed_columns())
            .first(conn)?;
        Ok(placed(row))
    }

    fn placed_columns() -> (diesel::dsl::AsSelect<Case, MultiBackend>, enterprises::name) {
        (Case::as_select(), enterprises::name)
    }

    /// The cases of `campaign` that `scope` sees, matching the filter, in id order
    /// after `after`.
    pub fn list(
        conn: &mut DbConnection,
        scope: &SurveyScope,
        campaign: &CampaignId,
        filter: &CaseFilter,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<PlacedCase>, ApiError> {
        let mut query = scoped(scope).filter(survey_cases::campaign_id.eq(campaign.clone()));
        if let Some(state) = filter.state {
            query = query.filter(survey_cases::state.eq(state));
        }
        if let Some(assignee) = &filter.assignee_id {
            query = query.filter(survey_cases::assignee_id.eq(assignee.clone()));
        }
        if let Some(sector) = &filter.sector_id {
            query = query.filter(survey_cases::sector_id.eq(sector.clone()));
        }
        if let Some(park) = &filter.park_id {
            query = query.filter(survey_cases::park_id.eq(park.clone()));
        }
        if let Some(review) = filter.review {
            query = query.filter(survey_cases::review.eq(review));
        }
        match filter.unreached {
            Some(true) => query = query.filter(survey_cases::state.eq_any(CaseState::NOT_REACHED)),
            Some(false) => {
                query = query.filter(survey_cases::state.ne_all(CaseState::NOT_REACHED));
            }
            None => {}
        }
        if let Some(after) = after {
            query = query.filter(survey_cases::id.gt(after.to_owned()));
        }
        let rows: Vec<PlacedRow> = query
            .order(survey_cases::id.asc())
            .limit(limit)
            .select(Self::placed_columns())
            .load(conn)?;
        Ok(rows.into_iter().map(placed).collect())
    }

    /// The unassigned cases of `campaign` that `scope` sees, in id order (what a
    /// balanced assignment spreads).
    pub fn unassigned(
        conn: &mut DbConnection,
        scope: &SurveyScope,
        campaign: &CampaignId,
    ) -> Result<Vec<PlacedCase>, ApiError> {
        let rows: Vec<PlacedRow> = scoped(scope)
            .filter(survey_cases::campaign_id.eq(campaign.clone()))
            .filter(survey_cases::assignee_id.is_null())
            .order(survey_cases::id.asc())
            .select(Self::placed_columns())
            .load(conn)?;
        Ok(rows.into_iter().map(placed).collect())
    }

    /// The cases `ids` of `campaign` that `scope` sees, by id.
    pub fn of_campaign(
        conn: &mut DbConnection,
        scope: &SurveyScope,
        campaign: &CampaignId,
        ids: &[CaseId],
    ) -> Result<HashMap<CaseId, PlacedCase>, ApiError> {
        let mut found = HashMap::new();
        for chunk in ids.chunks(UPDATE_CHUNK) {
            let rows: Vec<PlacedRow> = scoped(scope)
                .filter(survey_cases::campaign_id.eq(campaign.clone()))
                .filter(survey_cases::id.eq_any(chunk.to_vec()))
                .select(Self::placed_columns())
                .load(conn)?;
            found.extend(rows.into_iter().map(|row| (row.0.id.clone(), placed(row))));
        }
        Ok(found)
    }

    /// The cases assigned to `user` in running campaigns, by what needs doing
    /// ([`urgency`]), then id, after the key `after` ([`Case::mine_key`]).
    pub fn mine(
        conn: &mut DbConnection,
        user: &UserId,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<PlacedCase>, ApiError> {
        let running = survey_campaigns::table
            .filter(survey_campaigns::status.eq(CampaignStatus::Running))
            .select(survey_campaigns::id);
        let mut query = scoped(&SurveyScope::Assignee(user.clone()))
            .filter(survey_cases::campaign_id.eq_any(running));
        if let Some(after) = after {
            let (rank, id) = after
                .split_once(URGENCY_KEY_SEPARATOR)
                .unwrap_or(("", after));
            let rank: i32 = rank.parse().unwrap_or_default();
            query = query.filter(
                survey_cases::urgency.gt(rank).or(survey_cases::urgency
                    .eq(rank)
                    .and(survey_cases::id.gt(id.to_owned()))),
            );
        }
        let rows: Vec<PlacedRow> = query
            .order((survey_cases::urgency.asc(), survey_cases::id.asc()))
            .limit(limit)
            .select(Self::placed_columns())
            .load(conn)?;
        Ok(rows.into_iter().map(placed).collect())
    }

    /// The key that a page of [`Case::mine`] continues after.
    pub fn mine_key(view: &CaseView) -> String {
        let rank = urgency(view.state, view.last_outcome);
        format!("{rank}{URGENCY_KEY_SEPARATOR}{}", view.id)
    }

    /// Adds the assignees' names for the API.
    pub fn views(
        conn: &mut DbConnection,
        rows: Vec<PlacedCase>,
    ) -> Result<Vec<CaseView>, ApiError> {
        let names = display_names(
            conn,
            rows.iter().filter_map(|row| row.case.assignee_id.as_ref()),
        )?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let case = row.case;
                CaseView {
                    assignee_name: case
                        .assignee_id
                        .as_ref()
                        .and_then(|id| names.get(id).cloned()),
                    id: case.id,
                    campaign_id: case.campaign_id,
                    enterprise_id: case.enterprise_id,
                    enterprise_name: row.enterprise_name,
                    sector_id: case.sector_id,
                    park_id: case.park_id,
                    assignee_id: case.assignee_id,
                    state: case.state,
                    next_method: case.next_method,
                    attempts: case.attempts,
                    last_method: case.last_method,
                    last_outcome: case.last_outcome,
                    last_visit_at: case.last_visit_at.map(|at| at.and_utc()),
                    review: case.review,
                    version: case.version,
                    updated_at: case.updated_at.and_utc(),
                }
            })
            .collect())
    }

    /// One case for the API.
    pub fn view(conn: &mut DbConnection, row: PlacedCase) -> Result<CaseView, ApiError> {
        Self::views(conn, vec![row])?
            .pop()
            .ok_or_else(ApiError::not_found)
    }

    /// Moves `case` to the review state `to` as a new version, unless another write
    /// changed it since it was read (409 `case_version_conflict`).
    pub fn move_review(
        conn: &mut DbConnection,
        case: &Case,
        to: ReviewState,
        at: NaiveDateTime,
    ) -> Result<(), ApiError> {
        let changed = diesel::update(
            survey_cases::table
                .filter(survey_cases::id.eq(&case.id))
                .filter(survey_cases::version.eq(case.version)),
        )
        .set((
            survey_cases::review.eq(to),
            survey_cases::version.eq(survey_cases::version + 1),
            survey_cases::updated_at.eq(at),
        ))
        .execute(conn)?;
        if changed == 0 {
            return Err(stale_case());
        }
        Ok(())
    }

    /// Assigns each case to its surveyor, skipping those already theirs: an
    /// unassigned case becomes assigned, every changed case a new version, and each
    /// change an audit entry (`survey.case.assign`, from whom to whom) in the same
    /// transaction. Returns how many cases changed hands.
    pub fn assign(
        conn: &mut DbConnection,
        actor: &Actor,
        moves: Vec<(Case, UserId)>,
    ) -> Result<usize, ApiError> {
        let moves: Vec<(Case, UserId)> = moves
            .into_iter()
            .filter(|(case, to)| case.assignee_id.as_ref() != Some(to))
            .collect();
        let mut by_surveyor: BTreeMap<&UserId, Vec<CaseId>> = BTreeMap::new();
        for (case, to) in &moves {
            by_surveyor.entry(to).or_default().push(case.id.clone());
        }
        let at = now();
        for (surveyor, ids) in &by_surveyor {
            for chunk in ids.chunks(UPDATE_CHUNK) {
                diesel::update(survey_cases::table.filter(survey_cases::id.eq_any(chunk)))
                    .set((
                        survey_cases::assignee_id.eq(Some((*surveyor).clone())),
                        survey_cases::version.eq(survey_cases::version + 1),
                        survey_cases::updated_at.eq(at),
                    ))
                    .execute(conn)?;
            }
        }
        let ids: Vec<CaseId> = moves.iter().map(|(case, _)| case.id.clone()).collect();
        for chunk in ids.chunks(UPDATE_CHUNK) {
            diesel::update(
                survey_cases::table
                    .filter(survey_cases::id.eq_any(chunk))
                    .filter(survey_cases::state.eq(CaseState::Unassigned)),
            )
            .set((
                survey_cases::state.eq(CaseState::Assigned),
                survey_cases::urgency.eq(urgency(CaseState::Assigned, None)),
                survey_cases::updated_at.eq(at),
            ))
            .execute(conn)?;
        }
        let events = moves
            .iter()
            .map(|(case, to)| {
                Event::success("survey.case.assign", "survey_case", &case.id).with_details(
                    serde_json::json!({
                        "campaign_id": case.campaign_id,
                        "enterprise_id": case.enterprise_id,
                        "from": case.assignee_id,
                        "to": to,
                    }),
                )
            })
            .collect();
        audit::append_all(conn, actor, events)?;
        Ok(moves.len())
    }

    /// Returns a surveyor's open cases (assigned or attempted) to their campaign's
    /// pool when `team` no longer covers the enterprise, or all of them when `team`
    /// is `None` (the surveyor was disabled or is one no longer): the case loses its
    /// assignee, an untried one is unassigned again, and its attempts and visits stay
    /// as they were (the visits keep their surveyor). Finished cases (reached, lost,
    /// closed) stay theirs. Each release is a new version and an audit entry
    /// (`survey.case.release`). Returns how many were released.
    pub fn release(
        conn: &mut DbConnection,
        actor: &Actor,
        surveyor: &UserId,
        team: Option<&Surveyor>,
    ) -> Result<usize, ApiError> {
        let rows: Vec<PlacedRow> = scoped(&SurveyScope::Assignee(surveyor.clone()))
            .filter(
                survey_cases::state
                    .eq(CaseState::Assigned)
                    .or(survey_cases::state.eq(CaseState::Attempted)),
            )
            .order(survey_cases::id.asc())
            .select(Self::placed_columns())
            .load(conn)?;
        let released: Vec<Case> = rows
            .into_iter()
            .map(placed)
            .map(|c| c.case)
            .filter(|c| !team.is_some_and(|team| team.covers(&c.sector_id, &c.park_id)))
            .collect();
        let at = now();
        for case in &released {
            let state = match case.state {
                CaseState::Assigned => CaseState::Unassigned,
                other => other,
            };
            diesel::update(survey_cases::table.find(&case.id))
                .set((
                    survey_cases::assignee_id.eq(None::<UserId>),
                    survey_cases::state.eq(state),
                    survey_cases::urgency.eq(urgency(state, case.last_outcome)),
                    survey_cases::version.eq(survey_cases::version + 1),
                    survey_cases::updated_at.eq(at),
                ))
                .execute(conn)?;
        }
        let events = released
            .iter()
            .map(|case| {
                Event::success("survey.case.release", "survey_case", &case.id).with_details(
                    serde_json::json!({
                        "campaign_id": case.campaign_id,
                        "enterprise_id": case.enterprise_id,
                        "from": surveyor,
                    }),
                )
            })
            .collect();
        audit::append_all(conn, actor, events)?;
        Ok(released.len())
    }
}
