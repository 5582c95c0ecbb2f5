//! The issue ledger (诉求台账): the demands and problems enterprises raise in their
//! survey answers. Approving a case's answers takes each row of the questionnaire's
//! `demands` field as a demand, once: a row is keyed by its case and a digest of its
//! category and description, so approving again after a return adds only rows not
//! seen before (an edited row is a new demand). Un-approving retracts the demands of
//! the case that nobody has started on (open, unassigned, without notes); the others
//! stay, with their history. A demand is assigned to a unit (a sector authority or a
//! park) with a deadline, followed up with progress notes (a retry with the same
//! client id is the same note) and closed (销号). The summary counts open, closed and
//! overdue demands per sector × park and per unit in GROUP BY queries.
//!
//! Who sees what: admins and the zone command every demand; a sector or park official
//! the demands of the enterprises in their sectors or parks and those assigned to
//! their units ([`seen_by`]). Whoever sees a demand may add notes and close it; only
//! the zone and the officials whose scope holds the enterprise assign it.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::IntoSql;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use serde::Serialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::audit::{self, Actor, Event};
use crate::db::mapping::text_enum;
use crate::db::schema::{enterprises, org_units, survey_demand_notes, survey_demands};
use crate::db::{DbConnection, MultiBackend, new_id, now, on_backend};
use crate::domain::id::{CampaignId, CaseId, DemandId, EnterpriseId, OrgUnitId, UserId};
use crate::domain::survey::ClientId;
use crate::domain::zone;
use crate::error::{ApiError, ErrorCode, FieldError};
use crate::survey::answers::Submission;
use crate::survey::cases::PlacedCase;
use crate::survey::coverage::{Cell, Line, Matrix, lines};
use crate::survey::unit_names;
use crate::survey::{SurveyScope, Written, display_names};

/// The questionnaire's field whose rows are demands, and the keys of a row.
const DEMANDS_FIELD: &str = "demands";
const CATEGORY_KEY: &str = "category";
const DESCRIPTION_KEY: &str = "description";

text_enum! {
    /// Where a demand stands.
    pub enum DemandState {
        /// Being dealt with.
        Open = "open" / "办理中",
        /// Closed (销号).
        Closed = "closed" / "已销号",
    }
}

/// A stored demand.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = survey_demands, treat_none_as_default_value = false)]
pub struct Demand {
    /// Id.
    pub id: DemandId,
    /// The campaign.
    pub campaign_id: CampaignId,
    /// The case whose answers raised it.
    pub case_id: CaseId,
    /// The enterprise.
    pub enterprise_id: EnterpriseId,
    /// The enterprise's sector when it was raised.
    pub sector_id: OrgUnitId,
    /// The enterprise's park when it was raised.
    pub park_id: OrgUnitId,
    /// Keys the row within its case ([`RaisedDemand::digest`]).
    pub row_digest: String,
    /// The answers' version it was first approved in.
    pub answer_version: i32,
    /// Category (用地, 融资, ...).
    pub category: String,
    /// What the enterprise asks for.
    pub description: String,
    /// State.
    pub state: DemandState,
    /// The unit it is assigned to.
    pub unit_id: Option<OrgUnitId>,
    /// Its deadline, a zone day (`YYYY-MM-DD`).
    pub due_on: Option<String>,
    /// Who assigned it last.
    pub assigned_by: Option<UserId>,
    /// When.
    pub assigned_at: Option<NaiveDateTime>,
    /// How it was resolved (when closed).
    pub resolution: Option<String>,
    /// Who closed it.
    pub closed_by: Option<UserId>,
    /// When.
    pub closed_at: Option<NaiveDateTime>,
    /// Who approved the answers that raised it.
    pub created_by: UserId,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Last changed.
    pub updated_at: NaiveDateTime,
}

/// One demand row of a case's answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RaisedDemand {
    /// Category.
    pub category: String,
    /// Description.
    pub description: String,
}

impl RaisedDemand {
    /// The rows of the answers' `demands` field that have a description, in order,
    /// each once (a row repeated word for word is the same demand). Answers to a
    /// questionnaire without the field raise none.
    pub fn of_answers(answers: &Map<String, Value>) -> Vec<RaisedDemand> {
        let text = |row: &Value, key: &str| {
            row.get(key)
                .and_then(Value::as_str)
                .map(str::trim)
                .unwrap_or_default()
                .to_owned()
        };
        let mut seen = HashSet::new();
        answers
            .get(DEMANDS_FIELD)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|row| RaisedDemand {
                category: text(row, CATEGORY_KEY),
                description: text(row, DESCRIPTION_KEY),
            })
            .filter(|raised| !raised.description.is_empty())
            .filter(|raised| seen.insert(raised.digest()))
            .collect()
    }

    /// What keys the row within its case: SHA-256 of its category and description.
    pub fn digest(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.category.as_bytes());
        hasher.update([0]);
        hasher.update(self.description.as_bytes());
        hex::encode(hasher.finalize())
    }
}

/// A stored progress note.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = survey_demand_notes)]
pub struct DemandNote {
    /// Id.
    pub id: String,
    /// The demand.
    pub demand_id: DemandId,
    /// Who wrote it.
    pub author_id: UserId,
    /// The note.
    pub text: String,
    /// The device's id for it.
    pub client_id: String,
    /// When.
    pub created_at: NaiveDateTime,
}

/// A validated note to add.
#[derive(Clone, Debug)]
pub struct NewNote {
    /// The note.
    pub text: String,
    /// The device's id for it.
    pub client_id: ClientId,
}

/// A validated assignment.
#[derive(Clone, Debug)]
pub struct NewAssignment {
    /// The unit (sector or park).
    pub unit_id: OrgUnitId,
    /// The deadline.
    pub due_on: NaiveDate,
}

/// A demand as the API shows it.
#[derive(Clone, Debug, Serialize)]
pub struct DemandView {
    /// Id.
    pub id: DemandId,
    /// Campaign.
    pub campaign_id: CampaignId,
    /// Case.
    pub case_id: CaseId,
    /// Enterprise.
    pub enterprise_id: EnterpriseId,
    /// Its name.
    pub enterprise_name: String,
    /// The enterprise's sector.
    pub sector_id: OrgUnitId,
    /// The enterprise's park.
    pub park_id: OrgUnitId,
    /// Category.
    pub category: String,
    /// Description.
    pub description: String,
    /// State.
    pub state: DemandState,
    /// Open past its deadline.
    pub overdue: bool,
    /// Assigned unit.
    pub unit_id: Option<OrgUnitId>,
    /// Its name.
    pub unit_name: Option<String>,
    /// Deadline (zone day).
    pub due_on: Option<String>,
    /// Who assigned it.
    pub assigned_by: Option<UserId>,
    /// When (UTC).
    pub assigned_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Resolution (closed only).
    pub resolution: Option<String>,
    /// Who closed it.
    pub closed_by: Option<UserId>,
    /// Their display name.
    pub closed_by_name: Option<String>,
    /// When (UTC).
    pub closed_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Created (UTC).
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// A note as the API shows it.
#[derive(Clone, Debug, Serialize)]
pub struct NoteView {
    /// Id.
    pub id: String,
    /// Who wrote it.
    pub author_id: UserId,
    /// Their display name.
    pub author_name: Option<String>,
    /// The note.
    pub text: String,
    /// The device's id for it.
    pub client_id: String,
    /// When (UTC).
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Filters of the demand list.
#[derive(Clone, Debug, Default)]
pub struct DemandFilter {
    /// Of this campaign.
    pub campaign_id: Option<CampaignId>,
    /// In this state.
    pub state: Option<DemandState>,
    /// Of an enterprise of this sector.
    pub sector_id: Option<OrgUnitId>,
    /// Of an enterprise of this park.
    pub park_id: Option<OrgUnitId>,
    /// Assigned to this unit.
    pub unit_id: Option<OrgUnitId>,
    /// Open past the deadline (true) or not (false).
    pub overdue: Option<bool>,
}

/// A condition on demands, boxed (a boxed query cannot be grouped).
type Condition = Box<dyn BoxableExpression<survey_demands::table, MultiBackend, SqlType = Bool>>;

/// The demands `scope` sees: all for the zone; for an official those of their
/// sectors' (parks') enterprises and those assigned to their sectors (parks); none for
/// anyone else.
pub fn seen_by(scope: &SurveyScope) -> Condition {
    let unit = survey_demands::unit_id.assume_not_null();
    match scope {
        SurveyScope::All => Box::new(true.into_sql::<Bool>()),
        SurveyScope::Sectors(ids) => Box::new(
            survey_demands::sector_id
                .eq_any(ids.clone())
                .or(unit.eq_any(ids.clone())),
        ),
        SurveyScope::Parks(ids) => Box::new(
            survey_demands::park_id
                .eq_any(ids.clone())
                .or(unit.eq_any(ids.clone())),
        ),
        SurveyScope::Assignee(_) | SurveyScope::Nothing => {
            Box::new(survey_demands::id.eq_any(Vec::<DemandId>::new()))
        }
    }
}

/// Open demands past their deadline (`today` in the zone, `YYYY-MM-DD`).
fn overdue(today: String) -> Condition {
    Box::new(
        survey_demands::state
            .eq(DemandState::Open)
            .and(survey_demands::due_on.is_not_null())
            .and(survey_demands::due_on.assume_not_null().lt(today)),
    )
}

/// 403: a demand the caller sees but may not assign.
fn not_yours() -> ApiError {
    ApiError::new(
        ErrorCode::Forbidden,
        "该企业不在您负责的行业或园区内，只能办理交办给本单位的诉求，不能交办",
    )
}

/// 409: the demand is closed.
fn closed_already() -> ApiError {
    ApiError::new(ErrorCode::InvalidTransition, "该诉求已销号")
}

impl Demand {
    /// Takes the demands of `submission` (the answers of `placed` being approved by
    /// `approver`) that the case does not hold yet, in the caller's transaction, with
    /// an audit entry each (`survey.demand.create`). Returns how many were taken.
    pub fn take(
        conn: &mut DbConnection,
        actor: &Actor,
        approver: &UserId,
        placed: &PlacedCase,
        submission: &Submission,
    ) -> Result<usize, ApiError> {
        let answers: Map<String, Value> =
            serde_json::from_str(&submission.answers).map_err(ApiError::internal)?;
        let raised = RaisedDemand::of_answers(&answers);
        if raised.is_empty() {
            return Ok(0);
        }
        let case = &placed.case;
        let known: HashSet<String> = survey_demands::table
            .filter(survey_demands::case_id.eq(&case.id))
            .select(survey_demands::row_digest)
            .load::<String>(conn)?
            .into_iter()
            .collect();
        let at = now();
        let demands: Vec<Demand> = raised
            .into_iter()
            .filter(|raised| !known.contains(&raised.digest()))
            .map(|raised| Demand {
                id: DemandId::generate(),
                campaign_id: case.campaign_id.clone(),
                case_id: case.id.clone(),
                enterprise_id: case.enterprise_id.clone(),
                sector_id: placed.case.sector_id.clone(),
                park_id: placed.case.park_id.clone(),
                row_digest: raised.digest(),
                answer_version: submission.version,
                category: raised.category,
                description: raised.description,
                state: DemandState::Open,
                unit_id: None,
                due_on: None,
                assigned_by: None,
                assigned_at: None,
                resolution: None,
                closed_by: None,
                closed_at: None,
                created_by: approver.clone(),
                created_at: at,
                updated_at: at,
            })
            .collect();
        if demands.is_empty() {
            return Ok(0);
        }
        // The multi-backend connection has no multi-row INSERT.
        on_backend!(conn, |c| diesel::insert_into(survey_demands::table)
            .values(&demands)
            .execute(c))?;
        let events = demands
            .iter()
            .map(|demand| {
                Event::success("survey.demand.create", "survey_demand", &demand.id).with_details(
                    json!({
                        "case_id": demand.case_id,
                        "enterprise_id": demand.enterprise_id,
                        "answer_version": demand.answer_version,
                        "category": demand.category,
                    }),
                )
            })
            .collect();
        audit::append_all(conn, actor, events)?;
        Ok(demands.len())
    }

    /// Retracts the demands of `case` nobody has started on (open, unassigned and
    /// without notes) when its answers are un-approved, in the caller's transaction,
    /// with an audit entry each (`survey.demand.retract`). Returns how many.
    pub fn retract(
        conn: &mut DbConnection,
        actor: &Actor,
        case: &CaseId,
    ) -> Result<usize, ApiError> {
        let noted = survey_demand_notes::table.select(survey_demand_notes::demand_id);
        let untouched: Vec<(DemandId, EnterpriseId)> = survey_demands::table
            .filter(survey_demands::case_id.eq(case))
            .filter(survey_demands::state.eq(DemandState::Open))
            .filter(survey_demands::unit_id.is_null())
            .filter(diesel::dsl::not(survey_demands::id.eq_any(noted)))
            .select((survey_demands::id, survey_demands::enterprise_id))
            .load(conn)?;
        if untouched.is_empty() {
            return Ok(0);
        }
        let ids: Vec<&DemandId> = untouched.iter().map(|(id, _)| id).collect();
        diesel::delete(survey_demands::table.filter(survey_demands::id.eq_any(ids)))
            .execute(conn)?;
        let events = untouched
            .iter()
            .map(|(id, enterprise)| {
                Event::success("survey.demand.retract", "survey_demand", id)
                    .with_details(json!({ "case_id": case, "enterprise_id": enterprise }))
            })
            .collect();
        audit::append_all(conn, actor, events)?;
        Ok(untouched.len())
    }

    /// A demand `scope` sees; anything else is 404.
    pub fn find(
        conn: &mut DbConnection,
        scope: &SurveyScope,
        id: &DemandId,
    ) -> Result<Demand, ApiError> {
        Ok(survey_demands::table
            .filter(seen_by(scope))
            .filter(survey_demands::id.eq(id.clone()))
            .select(Demand::as_select())
            .first(conn)?)
    }

    /// The demands `scope` sees, matching the filter, oldest first, after the id
    /// `after`.
    pub fn list(
        conn: &mut DbConnection,
        scope: &SurveyScope,
        filter: &DemandFilter,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Demand>, ApiError> {
        let mut query = survey_demands::table.filter(seen_by(scope)).into_boxed();
        if let Some(campaign) = &filter.campaign_id {
            query = query.filter(survey_demands::campaign_id.eq(campaign.clone()));
        }
        if let Some(state) = filter.state {
            query = query.filter(survey_demands::state.eq(state));
        }
        if let Some(sector) = &filter.sector_id {
            query = query.filter(survey_demands::sector_id.eq(sector.clone()));
        }
        if let Some(park) = &filter.park_id {
            query = query.filter(survey_demands::park_id.eq(park.clone()));
        }
        if let Some(unit) = &filter.unit_id {
            query = query.filter(survey_demands::unit_id.eq(unit.clone()));
        }
        match filter.overdue {
            Some(true) => query = query.filter(overdue(zone::today_text())),
            Some(false) => query = query.filter(diesel::dsl::not(overdue(zone::today_text()))),
            None => {}
        }
        if let Some(after) = after {
            query = query.filter(survey_demands::id.gt(after.to_owned()));
        }
        Ok(query
            .order(survey_demands::id.asc())
            .limit(limit)
            .select(Demand::as_select())
            .load(conn)?)
    }

    /// Whether the demand is open past its deadline on `today` (`YYYY-MM-DD`).
    pub fn is_overdue(&self, today: &str) -> bool {
        self.state == DemandState::Open && self.due_on.as_deref().is_some_and(|due| due < today)
    }

    /// Assigns `self` (which `scope` sees) to a unit with a deadline, or assigns it
    /// anew: only the zone and the officials whose scope holds the enterprise may
    /// (403); a closed demand is 409 `invalid_transition`; an unknown unit 422
    /// `unknown_unit` at `unit_id`. Audited (`survey.demand.assign`, from and to).
    pub fn assign(
        self,
        conn: &mut DbConnection,
        actor: &Actor,
        scope: &SurveyScope,
        by: &UserId,
        new: &NewAssignment,
    ) -> Result<Demand, ApiError> {
        let holds_enterprise = match scope {
            SurveyScope::All => true,
            SurveyScope::Sectors(ids) => ids.contains(&self.sector_id),
            SurveyScope::Parks(ids) => ids.contains(&self.park_id),
            SurveyScope::Assignee(_) | SurveyScope::Nothing => false,
        };
        if !holds_enterprise {
            return Err(not_yours());
        }
        if self.state == DemandState::Closed {
            return Err(closed_already());
        }
        let unit: Option<OrgUnitId> = org_units::table
            .filter(org_units::id.eq(&new.unit_id))
            .select(org_units::id)
            .first(conn)
            .optional()?;
        if unit.is_none() {
            return Err(ApiError::validation(vec![FieldError::new(
                "unit_id",
                "unknown_unit",
                "没有该行业主管部门或园区",
            )]));
        }
        let at = now();
        let due_on = zone::day_text(new.due_on);
        diesel::update(survey_demands::table.find(&self.id))
            .set((
                survey_demands::unit_id.eq(Some(&new.unit_id)),
                survey_demands::due_on.eq(Some(&due_on)),
                survey_demands::assigned_by.eq(Some(by)),
                survey_demands::assigned_at.eq(Some(at)),
                survey_demands::updated_at.eq(at),
            ))
            .execute(conn)?;
        let event =
            Event::success("survey.demand.assign", "survey_demand", &self.id).with_details(json!({
                "enterprise_id": self.enterprise_id,
                "from": { "unit_id": self.unit_id, "due_on": self.due_on },
                "to": { "unit_id": new.unit_id, "due_on": due_on },
            }));
        audit::append(conn, actor, event)?;
        Ok(Demand {
            unit_id: Some(new.unit_id.clone()),
            due_on: Some(due_on),
            assigned_by: Some(by.clone()),
            assigned_at: Some(at),
            updated_at: at,
            ..self
        })
    }

    /// Closes (销号) `self` with its resolution: a closed demand is 409
    /// `invalid_transition`. Audited (`survey.demand.close`).
    pub fn close(
        self,
        conn: &mut DbConnection,
        actor: &Actor,
        by: &UserId,
        resolution: &str,
    ) -> Result<Demand, ApiError> {
        if self.state == DemandState::Closed {
            return Err(closed_already());
        }
        let at = now();
        let overdue = self.is_overdue(&zone::today_text());
        let changed = diesel::update(
            survey_demands::table
                .find(&self.id)
                .filter(survey_demands::state.eq(DemandState::Open)),
        )
        .set((
            survey_demands::state.eq(DemandState::Closed),
            survey_demands::resolution.eq(Some(resolution)),
            survey_demands::closed_by.eq(Some(by)),
            survey_demands::closed_at.eq(Some(at)),
            survey_demands::updated_at.eq(at),
        ))
        .execute(conn)?;
        if changed == 0 {
            return Err(closed_already());
        }
        let event =
            Event::success("survey.demand.close", "survey_demand", &self.id).with_details(json!({
                "enterprise_id": self.enterprise_id,
                "unit_id": self.unit_id,
                "due_on": self.due_on,
                "overdue": overdue,
            }));
        audit::append(conn, actor, event)?;
        Ok(Demand {
            state: DemandState::Closed,
            resolution: Some(resolution.to_owned()),
            closed_by: Some(by.clone()),
            closed_at: Some(at),
            updated_at: at,
            ..self
        })
    }

    /// Adds the names of enterprises, units and closers for the API.
    pub fn views(conn: &mut DbConnection, rows: Vec<Demand>) -> Result<Vec<DemandView>, ApiError> {
        let enterprise_ids: Vec<&EnterpriseId> = rows.iter().map(|d| &d.enterprise_id).collect();
        let enterprise_names: HashMap<EnterpriseId, String> = enterprises::table
            .filter(enterprises::id.eq_any(enterprise_ids))
            .select((enterprises::id, enterprises::name))
            .load::<(EnterpriseId, String)>(conn)?
            .into_iter()
            .collect();
        let units = unit_names(conn, rows.iter().filter_map(|d| d.unit_id.as_ref()))?;
        let closers = display_names(conn, rows.iter().filter_map(|d| d.closed_by.as_ref()))?;
        let today = zone::today_text();
        Ok(rows
            .into_iter()
            .map(|d| DemandView {
                overdue: d.is_overdue(&today),
                enterprise_name: enterprise_names
                    .get(&d.enterprise_id)
                    .cloned()
                    .unwrap_or_default(),
                unit_name: d.unit_id.as_ref().and_then(|id| units.get(id).cloned()),
                closed_by_name: d.closed_by.as_ref().and_then(|id| closers.get(id).cloned()),
                id: d.id,
                campaign_id: d.campaign_id,
                case_id: d.case_id,
                enterprise_id: d.enterprise_id,
                sector_id: d.sector_id,
                park_id: d.park_id,
                category: d.category,
                description: d.description,
                state: d.state,
                unit_id: d.unit_id,
                due_on: d.due_on,
                assigned_by: d.assigned_by,
                assigned_at: d.assigned_at.map(|at| at.and_utc()),
                resolution: d.resolution,
                closed_by: d.closed_by,
                closed_at: d.closed_at.map(|at| at.and_utc()),
                created_at: d.created_at.and_utc(),
            })
            .collect())
    }

    /// One demand for the API.
    pub fn view(conn: &mut DbConnection, row: Demand) -> Result<DemandView, ApiError> {
        Self::views(conn, vec![row])?
            .pop()
            .ok_or_else(ApiError::not_found)
    }
}

impl DemandNote {
    /// Adds a progress note of `author` to `demand` (which the caller sees), in the
    /// caller's transaction: a client id seen before on the demand gives that note
    /// back (422 `idempotency_key_reused` when the text differs); a closed demand is
    /// 409 `invalid_transition`. Audited (`survey.demand.note`).
    pub fn add(
        conn: &mut DbConnection,
        actor: &Actor,
        author: &UserId,
        demand: &Demand,
        new: &NewNote,
    ) -> Result<Written<DemandNote>, ApiError> {
        let earlier: Option<DemandNote> = survey_demand_notes::table
            .filter(survey_demand_notes::demand_id.eq(&demand.id))
            .filter(survey_demand_notes::client_id.eq(new.client_id.as_str()))
            .select(DemandNote::as_select())
            .first(conn)
            .optional()?;
        if let Some(earlier) = earlier {
            if earlier.text != new.text {
                return Err(ApiError::new(
                    ErrorCode::IdempotencyKeyReused,
                    "该 client_id 已用于另一条办理进展，请为新的进展生成新的 client_id",
                ));
            }
            return Ok(Written::Replayed(earlier));
        }
        if demand.state == DemandState::Closed {
            return Err(closed_already());
        }
        let note = DemandNote {
            id: new_id(),
            demand_id: demand.id.clone(),
            author_id: author.clone(),
            text: new.text.clone(),
            client_id: new.client_id.as_str().to_owned(),
            created_at: now(),
        };
        diesel::insert_into(survey_demand_notes::table)
            .values(&note)
            .execute(conn)?;
        diesel::update(survey_demands::table.find(&demand.id))
            .set(survey_demands::updated_at.eq(note.created_at))
            .execute(conn)?;
        let event =
            Event::success("survey.demand.note", "survey_demand", &demand.id).with_details(json!({
                "enterprise_id": demand.enterprise_id,
                "note_id": note.id,
            }));
        audit::append(conn, actor, event)?;
        Ok(Written::Created(note))
    }

    /// The notes of a demand, oldest first.
    pub fn of_demand(
        conn: &mut DbConnection,
        demand: &DemandId,
    ) -> Result<Vec<DemandNote>, ApiError> {
        Ok(survey_demand_notes::table
            .filter(survey_demand_notes::demand_id.eq(demand))
            .order((
                survey_demand_notes::created_at.asc(),
                survey_demand_notes::id.asc(),
            ))
            .select(DemandNote::as_select())
            .load(conn)?)
    }

    /// Adds the authors' names for the API.
    pub fn views(
        conn: &mut DbConnection,
        rows: Vec<DemandNote>,
    ) -> Result<Vec<NoteView>, ApiError> {
        let names = display_names(conn, rows.iter().map(|n| &n.author_id))?;
        Ok(rows
            .into_iter()
            .map(|n| NoteView {
                author_name: names.get(&n.author_id).cloned(),
                id: n.id,
                author_id: n.author_id,
                text: n.text,
                client_id: n.client_id,
                created_at: n.created_at.and_utc(),
            })
            .collect())
    }
}

/// Demands counted: by state, the open ones past their deadline, and the rates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct DemandCounts {
    /// Every demand.
    pub total: i64,
    /// Open.
    pub open: i64,
    /// Closed (销号).
    pub closed: i64,
    /// Open and not yet assigned to a unit.
    pub unassigned: i64,
    /// Open past the deadline.
    pub overdue: i64,
    /// `closed / total` (0 when there are none), to four places.
    pub closure_rate: f64,
    /// `overdue / total` (0 when there are none), to four places.
    pub overdue_rate: f64,
}

impl DemandCounts {
    fn add(&mut self, state: DemandState, assigned: bool, count: i64) {
        self.total += count;
        match state {
            DemandState::Open => self.open += count,
            DemandState::Closed => self.closed += count,
        }
        if state == DemandState::Open && !assigned {
            self.unassigned += count;
        }
        self.closure_rate = rate(self.closed, self.total);
        self.overdue_rate = rate(self.overdue, self.total);
    }

    fn add_overdue(&mut self, count: i64) {
        self.overdue += count;
        self.overdue_rate = rate(self.overdue, self.total);
    }
}

/// `part / whole` to four places; 0 for an empty whole.
fn rate(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    // Counts of demands are far below 2^52: the conversions are exact.
    let ratio = part as f64 / whole as f64;
    (ratio * 10_000.0).round() / 10_000.0
}

/// The summary of the demands a caller sees.
#[derive(Clone, Debug, Serialize)]
pub struct DemandSummary {
    /// The campaign summed up, if one was named.
    pub campaign_id: Option<CampaignId>,
    /// Non-empty sector × park cells of the enterprises, by sector then park.
    pub cells: Vec<Cell<DemandCounts>>,
    /// Per sector of the enterprises.
    pub sectors: Vec<Line<DemandCounts>>,
    /// Per park of the enterprises.
    pub parks: Vec<Line<DemandCounts>>,
    /// Per assigned unit (unassigned demands count in the other figures only).
    pub units: Vec<Line<DemandCounts>>,
    /// The whole.
    pub total: DemandCounts,
}

impl DemandSummary {
    /// The demands `scope` sees (of `campaign`, if named), counted per sector × park
    /// and per unit: two GROUP BY queries, one by state and one of the overdue.
    pub fn of(
        conn: &mut DbConnection,
        scope: &SurveyScope,
        campaign: Option<&CampaignId>,
    ) -> Result<DemandSummary, ApiError> {
        let of_campaign = || -> Condition {
            match campaign {
                Some(id) => Box::new(survey_demands::campaign_id.eq(id.clone())),
                None => Box::new(true.into_sql::<Bool>()),
            }
        };
        type Row = (OrgUnitId, OrgUnitId, Option<OrgUnitId>, DemandState, i64);
        let by_state: Vec<Row> = survey_demands::table
            .filter(seen_by(scope))
            .filter(of_campaign())
            .group_by((
                survey_demands::sector_id,
                survey_demands::park_id,
                survey_demands::unit_id,
                survey_demands::state,
            ))
            .select((
                survey_demands::sector_id,
                survey_demands::park_id,
                survey_demands::unit_id,
                survey_demands::state,
                diesel::dsl::count_star(),
            ))
            .load(conn)?;
        let overdue_rows: Vec<(OrgUnitId, OrgUnitId, Option<OrgUnitId>, i64)> =
            survey_demands::table
                .filter(seen_by(scope))
                .filter(of_campaign())
                .filter(overdue(zone::today_text()))
                .group_by((
                    survey_demands::sector_id,
                    survey_demands::park_id,
                    survey_demands::unit_id,
                ))
                .select((
                    survey_demands::sector_id,
                    survey_demands::park_id,
                    survey_demands::unit_id,
                    diesel::dsl::count_star(),
                ))
                .load(conn)?;
        let mut matrix = Matrix::<DemandCounts>::default();
        let mut units: BTreeMap<OrgUnitId, DemandCounts> = BTreeMap::new();
        for (sector, park, unit, state, count) in by_state {
            let assigned = unit.is_some();
            matrix.add(&sector, &park, |counts| counts.add(state, assigned, count));
            if let Some(unit) = unit {
                units.entry(unit).or_default().add(state, true, count);
            }
        }
        for (sector, park, unit, count) in overdue_rows {
            matrix.add(&sector, &park, |counts| counts.add_overdue(count));
            if let Some(unit) = unit {
                units.entry(unit).or_default().add_overdue(count);
            }
        }
        let (cells, sectors, parks, total) = matrix.finish(conn)?;
        let names = unit_names(conn, units.keys())?;
        Ok(DemandSummary {
            campaign_id: campaign.cloned(),
            cells,
            sectors,
            parks,
            units: lines(units, &names),
            total,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers(rows: Value) -> Map<String, Value> {
        let mut answers = Map::new();
        answers.insert("demands".to_owned(), rows);
        answers
    }

    #[test]
    fn each_described_row_is_a_demand_once() {
        let raised = RaisedDemand::of_answers(&answers(json!([
            { "category": "物流", "description": " 园区道路限高 " },
            { "category": "用地", "description": "" },
            { "category": "物流", "description": "园区道路限高" },
            { "category": "融资", "description": "贷款贴息" },
        ])));
        let described: Vec<&str> = raised.iter().map(|r| r.description.as_str()).collect();
        assert_eq!(described, ["园区道路限高", "贷款贴息"]);
        assert!(RaisedDemand::of_answers(&Map::new()).is_empty());
        assert!(RaisedDemand::of_answers(&answers(json!("不是列表"))).is_empty());
    }

    #[test]
    fn the_digest_tells_category_from_description() {
        let a = RaisedDemand {
            category: "物流".into(),
            description: "限高".into(),
        };
        let b = RaisedDemand {
            category: "物流限".into(),
            description: "高".into(),
        };
        assert_ne!(a.digest(), b.digest());
        assert_eq!(a.digest(), a.clone().digest());
    }

    #[test]
    fn rates_take_the_total_and_four_places() {
        let mut counts = DemandCounts::default();
        counts.add(DemandState::Open, true, 2);
        counts.add(DemandState::Open, false, 1);
        counts.add(DemandState::Closed, true, 3);
        counts.add_overdue(1);
        assert_eq!((counts.total, counts.open, counts.closed), (6, 3, 3));
        assert_eq!((counts.unassigned, counts.overdue), (1, 1));
        assert_eq!(counts.closure_rate, 0.5);
        assert_eq!(counts.overdue_rate, 0.1667);
        assert_eq!(rate(0, 0), 0.0);
    }
}
