//! `/api/v1/survey/demands[/{id}]`: the issue ledger (诉求台账) of the demands raised in
//! approved survey answers: the list and its summary, a demand with its progress notes,
//! and assigning, following up and closing (销号) one, each scoped to the caller
//! ([`crate::survey::demands::seen_by`]).

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::auth::caller::Caller;
use crate::domain::id::{CampaignId, DemandId, OrgUnitId};
use crate::domain::survey::{ClientId, parse_demand_deadline, parse_demand_text};
use crate::domain::zone;
use crate::error::{ApiError, FieldErrors};
use crate::pagination::{Page, PageRequest};
use crate::state::AppState;
use crate::survey::demands::{
    Demand, DemandFilter, DemandNote, DemandState, DemandSummary, DemandView, NewAssignment,
    NewNote, NoteView,
};
use crate::survey::{SurveyScope, written_answer};

/// Query of the demand list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[derive(Default)]
pub struct DemandListQuery {
    /// Page size.
    pub limit: Option<i64>,
    /// Where the page starts.
    pub cursor: Option<String>,
    /// Of this campaign.
    pub campaign_id: Option<CampaignId>,
    /// In this state.
    pub state: Option<DemandState>,
    /// Of this sector.
    pub sector_id: Option<OrgUnitId>,
    /// Of this park.
    pub park_id: Option<OrgUnitId>,
    /// Assigned to this unit.
    pub unit_id: Option<OrgUnitId>,
    /// Open past the deadline.
    pub overdue: Option<bool>,
}

/// Query of the summary.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemandSummaryQuery {
    campaign_id: Option<CampaignId>,
}

/// Body of an assignment.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignDemandBody {
    /// The unit that deals with it.
    pub unit_id: OrgUnitId,
    /// Its deadline, `YYYY-MM-DD`.
    pub due_on: String,
}

/// Body of a progress note.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemandNoteBody {
    /// The note.
    pub text: String,
    /// The device's id for it (a retry is the same note).
    pub client_id: String,
}

/// Body of a closure.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseDemandBody {
    /// How it was resolved.
    pub resolution: String,
}

/// A demand with its progress notes.
#[derive(Debug, Serialize)]
pub struct DemandDetail {
    /// The demand.
    pub demand: DemandView,
    /// Its notes, oldest first.
    pub notes: Vec<NoteView>,
}

/// `GET /api/v1/survey/demands`: the demands the caller sees, oldest first, filtered.
pub async fn list_demands(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<DemandListQuery>,
) -> Result<web::Json<Page<DemandView>>, ApiError> {
    let query = query.into_inner();
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let filter = DemandFilter {
        campaign_id: query.campaign_id,
        state: query.state,
        sector_id: query.sector_id,
        park_id: query.park_id,
        unit_id: query.unit_id,
        overdue: query.overdue,
    };
    let scope = SurveyScope::of(&caller);
    let fetch = page.clone();
    let views = state
        .db
        .read(move |conn| {
            let rows = Demand::list(conn, &scope, &filter, fetch.after.as_deref(), fetch.fetch())?;
            Demand::views(conn, rows)
        })
        .await?;
    Ok(web::Json(page.page(views, |d| d.id.to_string())))
}

/// `GET /api/v1/survey/demands/summary`: the demands the caller sees (of one campaign
/// with `campaign_id`) counted per sector × park and per unit.
pub async fn demand_summary(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<DemandSummaryQuery>,
) -> Result<web::Json<DemandSummary>, ApiError> {
    let campaign = query.into_inner().campaign_id;
    let scope = SurveyScope::of(&caller);
    let summary = state
        .db
        .read(move |conn| DemandSummary::of(conn, &scope, campaign.as_ref()))
        .await?;
    Ok(web::Json(summary))
}

/// `GET /api/v1/survey/demands/{id}`: a demand the caller sees, with its notes.
pub async fn find_demand(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<DemandId>,
) -> Result<web::Json<DemandDetail>, ApiError> {
    let scope = SurveyScope::of(&caller);
    let id = id.into_inner();
    let detail = state
        .db
        .read(move |conn| {
            let demand = Demand::find(conn, &scope, &id)?;
            let notes = DemandNote::of_demand(conn, &demand.id)?;
            Ok(DemandDetail {
                demand: Demand::view(conn, demand)?,
                notes: DemandNote::views(conn, notes)?,
            })
        })
        .await?;
    Ok(web::Json(detail))
}

/// `POST /api/v1/survey/demands/{id}/assign`: hands a demand to a unit with a deadline
/// (or hands it on), as the zone or an official whose scope holds the enterprise.
pub async fn assign_demand(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<DemandId>,
    body: web::Json<AssignDemandBody>,
) -> Result<web::Json<DemandView>, ApiError> {
    let body = body.into_inner();
    let due_on = parse_demand_deadline(&body.due_on, zone::today())
        .map_err(|e| ApiError::validation(vec![e]))?;
    let new = NewAssignment {
        unit_id: body.unit_id,
        due_on,
    };
    let scope = SurveyScope::of(&caller);
    let id = id.into_inner();
    let view = state
        .db
        .write(move |conn| {
            let demand = Demand::find(conn, &scope, &id)?;
            let assigned = demand.assign(conn, &caller.actor(), &scope, &caller.user_id, &new)?;
            Demand::view(conn, assigned)
        })
        .await?;
    Ok(web::Json(view))
}

/// `POST /api/v1/survey/demands/{id}/notes`: a progress note on a demand the caller
/// sees: 201 with the note, or 200 with the same note when the client id was seen
/// before (nothing written).
pub async fn create_demand_note(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<DemandId>,
    body: web::Json<DemandNoteBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let mut errors = FieldErrors::default();
    let text = errors.check(parse_demand_text("text", &body.text));
    let client_id = errors.check(ClientId::parse(&body.client_id));
    let (Some(text), Some(client_id)) = (text, client_id) else {
        return Err(errors.into_error());
    };
    let new = NewNote { text, client_id };
    let scope = SurveyScope::of(&caller);
    let id = id.into_inner();
    let (created, view) = state
        .db
        .write(move |conn| {
            let demand = Demand::find(conn, &scope, &id)?;
            let (note, created) =
                DemandNote::add(conn, &caller.actor(), &caller.user_id, &demand, &new)?.split();
            let view = DemandNote::views(conn, vec![note])?
                .pop()
                .ok_or_else(ApiError::not_found)?;
            Ok((created, view))
        })
        .await?;
    Ok(written_answer(created, view))
}

/// `POST /api/v1/survey/demands/{id}/close`: closes (销号) a demand the caller sees,
/// with its resolution.
pub async fn close_demand(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<DemandId>,
    body: web::Json<CloseDemandBody>,
) -> Result<web::Json<DemandView>, ApiError> {
    let resolution = parse_demand_text("resolution", &body.into_inner().resolution)
        .map_err(|e| ApiError::validation(vec![e]))?;
    let scope = SurveyScope::of(&caller);
    let id = id.into_inner();
    let view = state
        .db
        .write(move |conn| {
            let demand = Demand::find(conn, &scope, &id)?;
            let closed = demand.close(conn, &caller.actor(), &caller.user_id, &resolution)?;
            Demand::view(conn, closed)
        })
        .await?;
    Ok(web::Json(view))
}
