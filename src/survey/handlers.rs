//! `/api/v1/survey/...` and `/api/v1/me/cases`: campaigns, their cases and
//! assignment, visits and their photos, and the coverage ledger, each scoped to the caller
//! ([`SurveyScope`]).

use std::sync::Arc;

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::audit::{self, Event};
use crate::auth::caller::{Caller, audit_refusal};
use crate::body;
use crate::db::{DbConnection, now};
use crate::domain::enterprise::Coordinates;
use crate::domain::id::{CampaignId, CaseId, OrgUnitId, PhotoId, UserId, VisitId};
use crate::domain::survey::{
    CampaignName, CampaignPeriod, ClientId, parse_campaign_day, parse_visit_notes, parse_visited_at,
};
use crate::error::{ApiError, ErrorCode, FieldError, FieldErrors};
use crate::pagination::{Page, PageRequest};
use crate::state::AppState;
use crate::survey::assignment::{self, Surveyor};
use crate::survey::campaigns::{
    Campaign, CampaignChanges, CampaignScope, CampaignView, NewCampaign,
};
use crate::survey::cases::{Case, CaseFilter, CaseView};
use crate::survey::coverage::{Coverage, Progress, SurveyorFigureList, SurveyorFigures};
use crate::survey::photos::{self, NewPhoto, Photo, PhotoView};
use crate::survey::questionnaire::{Questionnaire, QuestionnaireVersion};
use crate::survey::scoring::{ScoringRules, ScoringVersion};
use crate::survey::visits::{self, NewVisit, Visit, VisitView};
use crate::survey::{
    CampaignStatus, CaseState, ReviewState, SurveyScope, VisitMethod, VisitOutcome, written_answer,
};

/// Most surveyors one balanced assignment spreads cases over.
pub const MAX_SURVEYORS: usize = 500;
/// Most cases one assignment by hand names.
pub const MAX_CASES: usize = 1000;

/// Body of a create.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateCampaignBody {
    /// Name.
    pub name: String,
    /// First day, `YYYY-MM-DD`.
    pub starts_on: String,
    /// Last day, `YYYY-MM-DD`.
    pub ends_on: String,
    /// Sectors of the scope (none and no parks: the whole zone).
    #[serde(default)]
    pub sector_ids: Vec<OrgUnitId>,
    /// Parks of the scope.
    #[serde(default)]
    pub park_ids: Vec<OrgUnitId>,
}

/// Body of an update; absent fields stay as they are.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateCampaignBody {
    /// New name.
    #[serde(default, deserialize_with = "body::non_null")]
    pub name: Option<String>,
    /// New first day.
    #[serde(default, deserialize_with = "body::non_null")]
    pub starts_on: Option<String>,
    /// New last day.
    #[serde(default, deserialize_with = "body::non_null")]
    pub ends_on: Option<String>,
    /// New status (starting creates the cases).
    #[serde(default, deserialize_with = "body::non_null")]
    pub status: Option<CampaignStatus>,
}

/// Query of the campaign list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignListQuery {
    /// Page size.
    pub limit: Option<i64>,
    /// Where the page starts.
    pub cursor: Option<String>,
}

/// Query of a campaign's case list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[derive(Default)]
pub struct CaseListQuery {
    /// Page size.
    pub limit: Option<i64>,
    /// Where the page starts.
    pub cursor: Option<String>,
    /// In this state.
    pub state: Option<CaseState>,
    /// Assigned to this surveyor.
    pub assignee_id: Option<UserId>,
    /// Of this sector.
    pub sector_id: Option<OrgUnitId>,
    /// Of this park.
    pub park_id: Option<OrgUnitId>,
    /// Not yet reached (or, false, the others).
    pub unreached: Option<bool>,
    /// Whose answers stand so in review.
    pub review: Option<ReviewState>,
}

/// Query of a surveyor's own list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MyCasesQuery {
    limit: Option<i64>,
    cursor: Option<String>,
}

/// How an assignment picks surveyors.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AssignMode {
    /// `case_ids` to `surveyor_id`.
    Manual,
    /// Every unassigned case the caller sees, spread over `surveyor_ids`.
    Balanced,
}

/// Body of an assignment: `{"mode":"balanced","surveyor_ids":[..]}` or
/// `{"case_ids":[..],"surveyor_id":".."}` (mode `manual`, the default).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    /// How (by hand when absent).
    #[serde(default, deserialize_with = "body::non_null")]
    pub mode: Option<AssignMode>,
    /// Balanced: the surveyors to spread over.
    #[serde(default, deserialize_with = "body::non_null")]
    pub surveyor_ids: Option<Vec<UserId>>,
    /// By hand: the cases.
    #[serde(default, deserialize_with = "body::non_null")]
    pub case_ids: Option<Vec<CaseId>>,
    /// By hand: who takes them.
    #[serde(default, deserialize_with = "body::non_null")]
    pub surveyor_id: Option<UserId>,
}

/// What an assignment did.
#[derive(Debug, Serialize)]
pub struct AssignResult {
    /// Cases that changed hands (one audit entry each).
    pub assigned: usize,
    /// Unassigned cases no named surveyor's team covers (balanced only).
    pub uncovered: usize,
}

/// Body of a visit.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VisitBody {
    /// `phone`, `site_visit` or `door_knock`.
    pub method: String,
    /// The outcome's stored name.
    pub outcome: String,
    /// Notes.
    #[serde(default)]
    pub notes: String,
    /// When (RFC 3339); absent for now.
    #[serde(default, deserialize_with = "body::non_null")]
    pub visited_at: Option<String>,
    /// The device's id for the visit.
    pub client_id: String,
    /// The case's version the surveyor saw.
    #[serde(default, deserialize_with = "body::non_null")]
    pub case_version: Option<i32>,
    /// Where (both or neither), as the phone located it.
    pub longitude: Option<f64>,
    /// Where (both or neither), as the phone located it.
    pub latitude: Option<f64>,
}

/// A case with its visits.
#[derive(Debug, Serialize)]
pub struct CaseDetail {
    /// The case.
    #[serde(flatten)]
    pub case: CaseView,
    /// Its visits, in the order they took place.
    pub visits: Vec<VisitView>,
}

/// A recorded visit and the case after it.
#[derive(Debug, Serialize)]
pub struct VisitResult {
    /// The visit.
    pub visit: VisitView,
    /// The case now.
    pub case: CaseView,
}

/// Audits a refusal by scope (403 `forbidden`: a campaign outside an official's
/// sectors or parks) as the route policies audit theirs; passes anything else on.
pub async fn audit_if_refused<T>(
    state: &AppState,
    caller: &Caller,
    route: &'static str,
    result: Result<T, ApiError>,
) -> Result<T, ApiError> {
    match result {
        Err(error) if error.code() == ErrorCode::Forbidden => {
            let event =
                Event::failure("authz.denied").with_details(serde_json::json!({ "route": route }));
            audit_refusal(state, &caller.ip, caller.actor(), event).await?;
            Err(error)
        }
        other => other,
    }
}

/// A zone day of a body, checked.
fn day(errors: &mut FieldErrors, field: &str, raw: &str) -> Option<chrono::NaiveDate> {
    errors.check(parse_campaign_day(field, raw))
}

/// `POST /api/v1/survey/campaigns`: a draft campaign, with the zone's default
/// questionnaire and scoring rules as their version 1. Admins and the zone command
/// create any; an official only one within their sectors or parks (403).
pub async fn create_campaign(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<CreateCampaignBody>,
) -> Result<HttpResponse, ApiError> {
    let view = create(&state, &caller, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(view))
}

/// Creates a draft campaign as [`create_campaign`] does (the API's and the console's
/// use case): checked, written with its version 1 questionnaire and scoring rules,
/// audited.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    body: CreateCampaignBody,
) -> Result<CampaignView, ApiError> {
    let mut errors = FieldErrors::default();
    let name = errors.check(CampaignName::parse(&body.name));
    let starts_on = day(&mut errors, "starts_on", &body.starts_on);
    let ends_on = day(&mut errors, "ends_on", &body.ends_on);
    let period = match (starts_on, ends_on) {
        (Some(starts_on), Some(ends_on)) => errors.check(CampaignPeriod::new(starts_on, ends_on)),
        _ => None,
    };
    let (Some(name), Some(period)) = (name, period) else {
        return Err(errors.into_error());
    };
    errors.finish()?;
    let (sector_ids, park_ids) = (body.sector_ids, body.park_ids);
    let writer = caller.clone();
    let written = state
        .db
        .write(move |conn| {
            let caller = writer;
            let scope = CampaignScope::check(conn, sector_ids, park_ids)?;
            let new = NewCampaign {
                name,
                period,
                scope,
            };
            let campaign = Campaign::create(conn, &caller, &new)?;
            QuestionnaireVersion::save(
                conn,
                &campaign.id,
                &Questionnaire::zone_default()?,
                &caller.user_id,
            )?;
            ScoringVersion::save(
                conn,
                &campaign.id,
                &ScoringRules::zone_default()?,
                &caller.user_id,
            )?;
            let event = Event::success("survey.campaign.create", "survey_campaign", &campaign.id)
                .with_details(serde_json::json!({
                    "name": campaign.name,
                    "sector_ids": new.scope.sector_ids,
                    "park_ids": new.scope.park_ids,
                }));
            audit::append(conn, &caller.actor(), event)?;
            Campaign::view(conn, campaign)
        })
        .await;
    audit_if_refused(state, caller, "POST /api/v1/survey/campaigns", written).await
}

/// `GET /api/v1/survey/campaigns`: the campaigns the caller sees, oldest first.
pub async fn list_campaigns(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<CampaignListQuery>,
) -> Result<web::Json<Page<CampaignView>>, ApiError> {
    let query = query.into_inner();
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let scope = SurveyScope::of(&caller);
    let fetch = page.clone();
    let views = state
        .db
        .read(move |conn| {
            let rows = Campaign::list(conn, &scope, fetch.after.as_deref(), fetch.fetch())?;
            Campaign::views(conn, rows)
        })
        .await?;
    Ok(web::Json(page.page(views, |c| c.id.to_string())))
}

/// `GET /api/v1/survey/campaigns/{id}`.
pub async fn find_campaign(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CampaignId>,
) -> Result<web::Json<CampaignView>, ApiError> {
    let scope = SurveyScope::of(&caller);
    let id = id.into_inner();
    let view = state
        .db
        .read(move |conn| {
            let campaign = Campaign::find(conn, &scope, &id)?;
            Campaign::view(conn, campaign)
        })
        .await?;
    Ok(web::Json(view))
}

/// `PATCH /api/v1/survey/campaigns/{id}`: name, period, status. Starting a campaign
/// creates its cases in the same transaction.
pub async fn update_campaign(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CampaignId>,
    body: web::Json<UpdateCampaignBody>,
) -> Result<web::Json<CampaignView>, ApiError> {
    let body = body.into_inner();
    let mut errors = FieldErrors::default();
    let name = body
        .name
        .as_deref()
        .map(|raw| errors.check(CampaignName::parse(raw)));
    let starts_on = body
        .starts_on
        .as_deref()
        .map(|raw| day(&mut errors, "starts_on", raw));
    let ends_on = body
        .ends_on
        .as_deref()
        .map(|raw| day(&mut errors, "ends_on", raw));
    errors.finish()?;
    let changes = CampaignChanges {
        name: name.flatten(),
        starts_on: starts_on.flatten(),
        ends_on: ends_on.flatten(),
        status: body.status,
    };
    let scope = SurveyScope::of(&caller);
    let id = id.into_inner();
    let writer = caller.clone();
    let written = state
        .db
        .write(move |conn| {
            let caller = writer;
            let (before, campaign_scope) = Campaign::find_to_run(conn, &scope, &id)?;
            let (after, started) = Campaign::update(conn, &before, &campaign_scope, &changes)?;
            let mut details = audit::changes(&before.audited(), &after.audited());
            if let Some(cases) = started {
                details["cases_created"] = serde_json::json!(cases);
            }
            let event = Event::success("survey.campaign.update", "survey_campaign", &after.id)
                .with_details(details);
            audit::append(conn, &caller.actor(), event)?;
            Campaign::view(conn, after)
        })
        .await;
    let route = "PATCH /api/v1/survey/campaigns/{id}";
    Ok(web::Json(
        audit_if_refused(&state, &caller, route, written).await?,
    ))
}

/// `GET /api/v1/survey/campaigns/{id}/cases`: the campaign's cases the caller sees
/// (an official: of their sectors' or parks' enterprises), in id order.
pub async fn list_cases(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CampaignId>,
    query: web::Query<CaseListQuery>,
) -> Result<web::Json<Page<CaseView>>, ApiError> {
    let query = query.into_inner();
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let filter = CaseFilter {
        state: query.state,
        assignee_id: query.assignee_id,
        sector_id: query.sector_id,
        park_id: query.park_id,
        unreached: query.unreached,
        review: query.review,
    };
    let scope = SurveyScope::of(&caller);
    let id = id.into_inner();
    let fetch = page.clone();
    let views = state
        .db
        .read(move |conn| {
            let campaign = Campaign::find(conn, &scope, &id)?;
            let rows = Case::list(
                conn,
                &scope,
                &campaign.id,
                &filter,
                fetch.after.as_deref(),
                fetch.fetch(),
            )?;
            Case::views(conn, rows)
        })
        .await?;
    Ok(web::Json(page.page(views, |c| c.id.to_string())))
}

/// A validated assignment.
enum Assignment {
    Manual {
        case_ids: Vec<CaseId>,
        surveyor_id: UserId,
    },
    Balanced {
        surveyor_ids: Vec<UserId>,
    },
}

impl TryFrom<AssignBody> for Assignment {
    type Error = ApiError;

    fn try_from(body: AssignBody) -> Result<Self, ApiError> {
        let not_allowed =
            |field: &str| FieldError::new(field, "not_allowed", "此分配方式不使用该字段");
        let mut errors = FieldErrors::default();
        match body.mode.unwrap_or(AssignMode::Manual) {
            AssignMode::Balanced => {
                if body.case_ids.is_some() {
                    errors.push(not_allowed("case_ids"));
                }
                if body.surveyor_id.is_some() {
                    errors.push(not_allowed("surveyor_id"));
                }
                let mut ids = body.surveyor_ids.unwrap_or_default();
                ids.dedup();
                if ids.is_empty() || ids.len() > MAX_SURVEYORS {
                    errors.push(FieldError::new(
                        "surveyor_ids",
                        "out_of_range",
                        format!("请指定 1 到 {MAX_SURVEYORS} 名摸排人员"),
                    ));
                }
                errors.finish()?;
                Ok(Assignment::Balanced { surveyor_ids: ids })
            }
            AssignMode::Manual => {
                if body.surveyor_ids.is_some() {
                    errors.push(not_allowed("surveyor_ids"));
                }
                let case_ids = body.case_ids.unwrap_or_default();
                if case_ids.is_empty() || case_ids.len() > MAX_CASES {
                    errors.push(FieldError::new(
                        "case_ids",
                        "out_of_range",
                        format!("请指定 1 到 {MAX_CASES} 个摸排对象"),
                    ));
                }
                if body.surveyor_id.is_none() {
                    errors.push(FieldError::new("surveyor_id", "required", "此项必填"));
                }
                match body.surveyor_id {
                    Some(surveyor_id) if errors.is_empty() => Ok(Assignment::Manual {
                        case_ids,
                        surveyor_id,
                    }),
                    _ => Err(errors.into_error()),
                }
            }
        }
    }
}

/// `POST /api/v1/survey/campaigns/{id}/cases/assign`: by hand (cases to one
/// surveyor, in bulk) or balanced (every unassigned case the caller sees, spread
/// over the surveyors named). A surveyor takes only cases of their team's sector or
/// park; every change is audited.
pub async fn assign_cases(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CampaignId>,
    body: web::Json<AssignBody>,
) -> Result<web::Json<AssignResult>, ApiError> {
    let assignment = Assignment::try_from(body.into_inner())?;
    let scope = SurveyScope::of(&caller);
    let id = id.into_inner();
    let result = state
        .db
        .write(move |conn| {
            let campaign = Campaign::find(conn, &scope, &id)?;
            if campaign.status != CampaignStatus::Running {
                return Err(ApiError::new(
                    ErrorCode::CampaignNotRunning,
                    "只有进行中的摸排任务可以分配",
                ));
            }
            let actor = caller.actor();
            match assignment {
                Assignment::Manual {
                    case_ids,
                    surveyor_id,
                } => {
                    let surveyor = Surveyor::load_all(
                        conn,
                        std::slice::from_ref(&surveyor_id),
                        "surveyor_id",
                        false,
                    )?
                    .pop()
                    .ok_or_else(ApiError::not_found)?;
                    let mut found = Case::of_campaign(conn, &scope, &campaign.id, &case_ids)?;
                    let mut errors = FieldErrors::default();
                    let mut moves = Vec::with_capacity(case_ids.len());
                    for (index, case_id) in case_ids.iter().enumerate() {
                        let field = format!("case_ids[{index}]");
                        match found.remove(case_id) {
                            None => errors.push(FieldError::new(
                                field,
                                "unknown_case",
                                "该摸排对象不存在或不在您的范围内",
                            )),
                            Some(placed)
                                if !surveyor
                                    .covers(&placed.case.sector_id, &placed.case.park_id) =>
                            {
                                errors.push(FieldError::new(
                                    field,
                                    "outside_team",
                                    "该企业不在此摸排人员所属行业或园区内",
                                ));
                            }
                            Some(placed) => moves.push((placed.case, surveyor.id.clone())),
                        }
                    }
                    errors.finish()?;
                    let assigned = Case::assign(conn, &actor, moves)?;
                    Ok(AssignResult {
                        assigned,
                        uncovered: 0,
                    })
                }
                Assignment::Balanced { surveyor_ids } => {
                    let surveyors = Surveyor::load_all(conn, &surveyor_ids, "surveyor_ids", true)?;
                    let cases = Case::unassigned(conn, &scope, &campaign.id)?;
                    let plan = assignment::balance(&cases, &surveyors);
                    let moves = plan
                        .moves
                        .iter()
                        .map(|(case, surveyor)| {
                            (cases[*case].case.clone(), surveyors[*surveyor].id.clone())
                        })
                        .collect();
                    let assigned = Case::assign(conn, &actor, moves)?;
                    Ok(AssignResult {
                        assigned,
                        uncovered: plan.uncovered,
                    })
                }
            }
        })
        .await?;
    Ok(web::Json(result))
}

/// Reads something of a campaign the caller sees (404 otherwise), over the caller's
/// scope.
pub async fn read_campaign<T, F>(
    state: &AppState,
    caller: &Caller,
    id: CampaignId,
    read: F,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection, &SurveyScope, Campaign) -> Result<T, ApiError> + Send + 'static,
{
    let scope = SurveyScope::of(caller);
    state
        .db
        .read(move |conn| {
            let campaign = Campaign::find(conn, &scope, &id)?;
            read(conn, &scope, campaign)
        })
        .await
}

/// `GET /api/v1/survey/campaigns/{id}/coverage`: the sector × park ledger over the
/// caller's scope.
pub async fn campaign_coverage(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CampaignId>,
) -> Result<web::Json<Coverage>, ApiError> {
    let ledgers = Arc::clone(&state.ledgers);
    let coverage = read_campaign(
        &state,
        &caller,
        id.into_inner(),
        move |conn, scope, campaign| Coverage::of(conn, &ledgers, scope, &campaign.id),
    )
    .await?;
    Ok(web::Json(coverage))
}

/// `GET /api/v1/survey/campaigns/{id}/coverage/progress`: the ledger over time, day by
/// day, over the caller's scope.
pub async fn campaign_progress(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CampaignId>,
) -> Result<web::Json<Progress>, ApiError> {
    let progress = read_campaign(&state, &caller, id.into_inner(), |conn, scope, campaign| {
        Progress::of(conn, scope, &campaign)
    })
    .await?;
    Ok(web::Json(progress))
}

/// `GET /api/v1/survey/campaigns/{id}/coverage/surveyors`: the figures of each
/// surveyor with cases in the caller's scope.
pub async fn campaign_surveyor_figures(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CampaignId>,
) -> Result<web::Json<SurveyorFigureList>, ApiError> {
    let figures = read_campaign(&state, &caller, id.into_inner(), |conn, scope, campaign| {
        SurveyorFigures::of(conn, scope, &campaign.id)
    })
    .await?;
    Ok(web::Json(figures))
}

/// `GET /api/v1/me/cases`: the caller's own cases in running campaigns, by what
/// needs doing (call-backs and attempted cases first, then new ones).
pub async fn list_my_cases(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<MyCasesQuery>,
) -> Result<web::Json<Page<CaseView>>, ApiError> {
    let query = query.into_inner();
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let fetch = page.clone();
    let user = caller.user_id.clone();
    let views = state
        .db
        .read(move |conn| {
            let rows = Case::mine(conn, &user, fetch.after.as_deref(), fetch.fetch())?;
            Case::views(conn, rows)
        })
        .await?;
    Ok(web::Json(page.page(views, Case::mine_key)))
}

/// `GET /api/v1/survey/cases/{id}`: a case the caller sees, with its visits.
pub async fn find_case(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CaseId>,
) -> Result<web::Json<CaseDetail>, ApiError> {
    let scope = SurveyScope::of(&caller);
    let id = id.into_inner();
    let detail = state
        .db
        .read(move |conn| case_detail(conn, &scope, &id))
        .await?;
    Ok(web::Json(detail))
}

/// A case `scope` sees, with its visits (404 otherwise).
pub fn case_detail(
    conn: &mut DbConnection,
    scope: &SurveyScope,
    id: &CaseId,
) -> Result<CaseDetail, ApiError> {
    let placed = Case::find(conn, scope, id)?;
    let visits = Visit::of_case(conn, &placed.case.id)?;
    Ok(CaseDetail {
        case: Case::view(conn, placed)?,
        visits: Visit::views(conn, visits)?,
    })
}

impl VisitBody {
    /// The validated visit, every invalid field reported at once.
    pub fn parse(self) -> Result<NewVisit, ApiError> {
        let mut errors = FieldErrors::default();
        let method = VisitMethod::from_stored(&self.method);
        if method.is_none() {
            errors.push(FieldError::new(
                "method",
                "invalid_value",
                "走访方式须为 phone、site_visit 或 door_knock",
            ));
        }
        let outcome = VisitOutcome::from_stored(&self.outcome);
        if outcome.is_none() {
            errors.push(FieldError::new(
                "outcome",
                "invalid_value",
                "走访结果须为 completed、no_answer、refused、call_back、closed、moved 或 not_found",
            ));
        }
        let notes = errors.check(parse_visit_notes(&self.notes));
        // Absent: now, as the visit is recorded (and a retry then matches any time).
        let visited_at = match self.visited_at.as_deref() {
            Some(raw) => errors.check(parse_visited_at(raw, now())).map(Some),
            None => Some(None),
        };
        let client_id = errors.check(ClientId::parse(&self.client_id));
        let coordinates = errors.check(Coordinates::parse(self.longitude, self.latitude));
        if self.case_version.is_some_and(|version| version < 1) {
            errors.push(FieldError::new(
                "case_version",
                "out_of_range",
                "case_version 须为正整数",
            ));
        }
        let (
            Some(method),
            Some(outcome),
            Some(notes),
            Some(visited_at),
            Some(client_id),
            Some(coordinates),
        ) = (method, outcome, notes, visited_at, client_id, coordinates)
        else {
            return Err(errors.into_error());
        };
        errors.finish()?;
        Ok(NewVisit {
            method,
            outcome,
            notes,
            visited_at,
            client_id,
            case_version: self.case_version,
            coordinates,
        })
    }
}

/// `POST /api/v1/survey/cases/{id}/visits`: records an attempt (the assigned
/// surveyor, or an official in scope): 201 with the visit and the case after it, or
/// 200 with the same visit when the client id was seen before (nothing written).
pub async fn create_visit(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CaseId>,
    body: web::Json<VisitBody>,
) -> Result<HttpResponse, ApiError> {
    let new = body.into_inner().parse()?;
    let (recorded, result) = record_visit(&state, caller, id.into_inner(), new).await?;
    Ok(written_answer(recorded, result))
}

/// Records a visit on case `id` of the caller's scope (the API's and the surveyor's
/// page's one way): whether it was new, the visit and the case after it.
pub async fn record_visit(
    state: &AppState,
    caller: Caller,
    id: CaseId,
    new: NewVisit,
) -> Result<(bool, VisitResult), ApiError> {
    let scope = SurveyScope::of(&caller);
    state
        .db
        .write(move |conn| {
            let placed = Case::find(conn, &scope, &id)?;
            let campaign = Campaign::find(conn, &SurveyScope::All, &placed.case.campaign_id)?;
            let running = campaign.status == CampaignStatus::Running;
            let recorded = Visit::record(
                conn,
                &caller.actor(),
                &caller.user_id,
                &placed,
                running,
                &new,
            )?;
            let (visit, created) = recorded.split();
            let case = visits::reload(conn, &placed)?;
            let result = VisitResult {
                visit: Visit::views(conn, vec![visit])?
                    .pop()
                    .ok_or_else(ApiError::not_found)?,
                case: Case::view(conn, case)?,
            };
            Ok((created, result))
        })
        .await
}

/// Query of a photo upload.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhotoQuery {
    client_id: String,
    visit_id: Option<VisitId>,
}

/// The photos of a case.
#[derive(Debug, Serialize)]
pub struct PhotoList {
    /// The photos, oldest first.
    pub items: Vec<PhotoView>,
}

/// `POST /api/v1/survey/cases/{id}/photos?client_id=&visit_id=`: the body is the
/// picture itself (JPEG, PNG or WebP, at most 12 MB), stored re-encoded without its
/// metadata ([`photos::process`]); 201 with the photo, or 200 with the same photo
/// when the client id was seen before with the same upload. Two pictures are
/// processed at a time, one per user (429 `too_busy` past that).
pub async fn upload_photo(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<CaseId>,
    query: web::Query<PhotoQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let client_id = ClientId::parse(&query.client_id).map_err(|e| ApiError::validation(vec![e]))?;
    let upload = PhotoUpload {
        client_id,
        visit_id: query.visit_id,
    };
    let (created, view) =
        store_photo(&state, caller, &req, id.into_inner(), upload, payload).await?;
    Ok(written_answer(created, view))
}

/// What names an uploaded photo: the device's id for it and, if any, its visit.
#[derive(Debug)]
pub struct PhotoUpload {
    /// The device's id for the photo.
    pub client_id: ClientId,
    /// The visit it belongs to.
    pub visit_id: Option<VisitId>,
}

/// Stores the picture of the request's body on case `id` of the caller's scope (the
/// API's and the surveyor's page's one way): whether it was new, and the photo.
pub async fn store_photo(
    state: &AppState,
    caller: Caller,
    req: &HttpRequest,
    id: CaseId,
    upload: PhotoUpload,
    payload: web::Payload,
) -> Result<(bool, PhotoView), ApiError> {
    let content_type = body::media_type(req);
    if !(content_type.starts_with("image/") || content_type.starts_with("application/octet-stream"))
    {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "请直接上传照片文件（Content-Type: image/jpeg、image/png 或 image/webp）",
        ));
    }
    let scope = SurveyScope::of(&caller);
    // A case the caller cannot see is 404 before any picture is read.
    let (seen_scope, seen_id) = (scope.clone(), id.clone());
    state
        .db
        .read(move |conn| Case::find(conn, &seen_scope, &seen_id).map(drop))
        .await?;
    let slot = state.heavy.photos.take(caller.user_id.as_str())?;
    let bytes = body::read_limited(payload, photos::UPLOAD_LIMIT).await?;
    let picture = web::block(move || photos::process(&bytes))
        .await
        .map_err(ApiError::internal)??;
    drop(slot);
    let new = NewPhoto {
        client_id: upload.client_id,
        visit_id: upload.visit_id,
        picture,
    };
    state
        .db
        .write(move |conn| {
            let placed = Case::find(conn, &scope, &id)?;
            let campaign = Campaign::find(conn, &SurveyScope::All, &placed.case.campaign_id)?;
            let running = campaign.status == CampaignStatus::Running;
            let stored = Photo::store(
                conn,
                &caller.actor(),
                &caller.user_id,
                &placed,
                running,
                new,
            )?;
            let (photo, created) = stored.split();
            let view = Photo::views(conn, vec![photo])?
                .pop()
                .ok_or_else(ApiError::not_found)?;
            Ok((created, view))
        })
        .await
}

/// `GET /api/v1/survey/cases/{id}/photos`: a case's photos, oldest first.
pub async fn list_photos(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CaseId>,
) -> Result<web::Json<PhotoList>, ApiError> {
    let scope = SurveyScope::of(&caller);
    let id = id.into_inner();
    let items = state
        .db
        .read(move |conn| {
            let placed = Case::find(conn, &scope, &id)?;
            let rows = Photo::of_case(conn, &placed.case.id)?;
            Photo::views(conn, rows)
        })
        .await?;
    Ok(web::Json(PhotoList { items }))
}

/// `GET /api/v1/survey/photos/{id}`: the picture (JPEG) of a photo on a case the
/// caller sees; anything else is 404.
pub async fn photo_picture(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<PhotoId>,
) -> Result<HttpResponse, ApiError> {
    let scope = SurveyScope::of(&caller);
    let id = id.into_inner();
    let jpeg = state
        .db
        .read(move |conn| {
            let (case, jpeg) = Photo::picture(conn, &id)?.ok_or_else(ApiError::not_found)?;
            Case::find(conn, &scope, &case)?;
            Ok(jpeg)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "image/jpeg"))
        .insert_header((CACHE_CONTROL, "private, max-age=86400, immutable"))
        .body(jpeg))
}
