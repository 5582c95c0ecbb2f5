//! A campaign's issue ledger (诉求台账): the demands raised in its approved answers,
//! filtered by state and overdue, and a demand's page where an official hands it to
//! a unit with a deadline, adds progress notes and closes it (销号). The API's
//! handlers do the work (the same scope, checks and audit entries).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::html;

use crate::console::session::{Posted, Signed};
use crate::console::survey::office::Units;
use crate::console::survey::{
    CAMPAIGNS_PATH, CASE_ROWS, campaign_links, campaign_of, campaign_path, runners_only,
};
use crate::console::{PageError, layout, render, see_other};
use crate::domain::id::{CampaignId, DemandId, OrgUnitId};
use crate::domain::text::random_token;
use crate::domain::zone;
use crate::error::ApiError;
use crate::state::AppState;
use crate::survey::demand_handlers::{
    AssignDemandBody, CloseDemandBody, DemandListQuery, DemandNoteBody, assign_demand,
    close_demand, create_demand_note, find_demand, list_demands,
};
use crate::survey::demands::{DemandState, DemandView};

/// Where a demand's page lives, before its id.
const DEMAND_PATH: &str = "/console/survey/demands";

fn demand_path(id: &DemandId) -> String {
    format!("{DEMAND_PATH}/{id}")
}

fn state_badge(demand: &DemandView) -> maud::Markup {
    html! {
        span class={ "s-" (demand.state.as_str()) } { (demand.state.label()) }
        @if demand.overdue { " " span.s-rejected { "已逾期" } }
    }
}

/// `GET /console/survey/campaigns/{id}/demands?state=&overdue=`: the campaign's
/// demands the caller sees.
pub async fn demands_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    id: web::Path<CampaignId>,
) -> Result<HttpResponse, PageError> {
    runners_only(&signed)?;
    let id = id.into_inner();
    let query = Posted::parse(req.query_string().as_bytes());
    let chosen = query
        .text("state")?
        .map(|raw| {
            DemandState::from_stored(&raw)
                .ok_or_else(|| ApiError::field("state", "invalid_value", "没有这种状态"))
        })
        .transpose()?;
    let overdue = query.text("overdue")?.is_some_and(|raw| raw == "true");
    let listed = DemandListQuery {
        limit: Some(CASE_ROWS),
        cursor: query.text("cursor")?,
        campaign_id: Some(id.clone()),
        state: chosen,
        overdue: overdue.then_some(true),
        ..DemandListQuery::default()
    };
    let caller = signed.caller.clone();
    let campaign = campaign_of(&state, &signed, &id).await?;
    let demands = list_demands(state.clone(), caller, web::Query(listed))
        .await?
        .into_inner();
    let path = format!("{}/demands", campaign_path(&id));
    let body = html! {
        (campaign_links(&id))
        h1 { (campaign.name) " · 诉求台账" }
        form.card.filters method="get" action=(path) {
            label { "状态"
                select name="state" {
                    option value="" { "全部" }
                    @for each in DemandState::ALL {
                        option value=(each.as_str()) selected[chosen == Some(*each)] { (each.label()) }
                    }
                }
            }
            label.check { input type="checkbox" name="overdue" value="true" checked[overdue]; "只看逾期" }
            button.btn.alt type="submit" { "筛选" }
        }
        section.card {
            @if demands.items.is_empty() {
                p.muted { "没有诉求（问卷通过审核后，其中的诉求列入台账）。" }
            } @else {
                div.scroll { table #demands {
                    thead { tr { th { "企业" } th { "类别" } th { "诉求" } th { "承办单位" } th { "期限" } th { "状态" } th {} } }
                    tbody {
                        @for demand in &demands.items {
                            tr {
                                td.wrap { (demand.enterprise_name) }
                                td { (demand.category) }
                                td.wrap { (demand.description) }
                                td { (demand.unit_name.as_deref().unwrap_or("未交办")) }
                                td { (demand.due_on.as_deref().unwrap_or("—")) }
                                td { (state_badge(demand)) }
                                td { a href=(demand_path(&demand.id)) { "办理" } }
                            }
                        }
                    }
                } }
            }
            @if let Some(next) = &demands.next_cursor {
                p { a href={ (path) "?cursor=" (next) } { "下一页" } }
            }
        }
    };
    Ok(render(
        StatusCode::OK,
        layout::page(
            &state.settings.zone_name,
            &signed,
            CAMPAIGNS_PATH,
            "诉求台账",
            body,
        ),
    ))
}

/// `GET /console/survey/demands/{id}`: a demand, its notes, and its handing over,
/// notes and closure.
pub async fn demand_page(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<DemandId>,
) -> Result<HttpResponse, PageError> {
    runners_only(&signed)?;
    let detail = find_demand(state.clone(), signed.caller.clone(), id)
        .await?
        .into_inner();
    let units = Units::load(&state).await?;
    let demand = &detail.demand;
    let path = demand_path(&demand.id);
    let open = demand.state == DemandState::Open;
    let body = html! {
        (campaign_links(&demand.campaign_id))
        h1 { (demand.enterprise_name) " " (state_badge(demand)) }
        section.card {
            dl {
                dt { "类别" } dd { (demand.category) }
                dt { "诉求" } dd { (demand.description) }
                dt { "承办单位" } dd { (demand.unit_name.as_deref().unwrap_or("未交办")) }
                dt { "期限" } dd { (demand.due_on.as_deref().unwrap_or("—")) }
                @if let Some(resolution) = &demand.resolution {
                    dt { "办理结果" } dd { (resolution) }
                }
            }
        }
        @if !detail.notes.is_empty() {
            section.card {
                h2 { "办理进展" }
                ul {
                    @for note in &detail.notes {
                        li { (zone::shown_minute(note.created_at)) " " (note.author_name.as_deref().unwrap_or("—")) "：" (note.text) }
                    }
                }
            }
        }
        @if open {
            div.cols {
                form.card #assign method="post" action={ (path) "/assign" } {
                    h2 { "交办" }
                    (signed.csrf_field())
                    div.f { label for="unit_id" { "承办单位" }
                        select #unit_id name="unit_id" {
                            option value="" { "请选择" }
                            @for unit in units.sectors.iter().chain(&units.parks) {
                                option value=(unit.id) selected[demand.unit_id.as_ref() == Some(&unit.id)] { (unit.name) }
                            }
                        }
                    }
                    div.f { label for="due_on" { "办理期限" }
                        input #due_on type="date" name="due_on" value=(demand.due_on.as_deref().unwrap_or_default()); }
                    button.btn type="submit" { "交办" }
                }
                div {
                    form.card #note method="post" action={ (path) "/notes" } {
                        h2 { "记录进展" }
                        (signed.csrf_field())
                        input type="hidden" name="client_id" value=(random_token());
                        div.f { textarea name="text" rows="2" maxlength="500" aria-label="进展" {} }
                        button.btn.alt type="submit" { "记录" }
                    }
                    form.card #close method="post" action={ (path) "/close" } {
                        h2 { "销号" }
                        (signed.csrf_field())
                        div.f { textarea name="resolution" rows="2" maxlength="500" aria-label="办理结果" {} }
                        button.btn.bad type="submit" { "销号" }
                    }
                }
            }
        }
    };
    Ok(render(
        StatusCode::OK,
        layout::page(
            &state.settings.zone_name,
            &signed,
            CAMPAIGNS_PATH,
            "诉求",
            body,
        ),
    ))
}

/// `POST /console/survey/demands/{id}/assign`: hands the demand to a unit with a
/// deadline through the API.
pub async fn assign(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    id: web::Path<DemandId>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = signed.posted(&req, &body)?;
    runners_only(&signed)?;
    let unit_id = posted
        .text("unit_id")?
        .map(OrgUnitId::from)
        .ok_or_else(|| ApiError::field("unit_id", "required", "请选择承办单位"))?;
    let body = AssignDemandBody {
        unit_id,
        due_on: posted.text("due_on")?.unwrap_or_default(),
    };
    let view = assign_demand(state, signed.caller, id, web::Json(body))
        .await?
        .into_inner();
    Ok(see_other(&demand_path(&view.id)))
}

/// `POST /console/survey/demands/{id}/notes`: a progress note through the API (the
/// form's client id makes a second submission the same note).
pub async fn note(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    id: web::Path<DemandId>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = signed.posted(&req, &body)?;
    runners_only(&signed)?;
    let id = id.into_inner();
    let body = DemandNoteBody {
        text: posted.text("text")?.unwrap_or_default(),
        client_id: posted.text("client_id")?.unwrap_or_default(),
    };
    create_demand_note(
        state,
        signed.caller,
        web::Path::from(id.clone()),
        web::Json(body),
    )
    .await?;
    Ok(see_other(&demand_path(&id)))
}

/// `POST /console/survey/demands/{id}/close`: closes the demand with its resolution
/// through the API.
pub async fn close(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    id: web::Path<DemandId>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = signed.posted(&req, &body)?;
    runners_only(&signed)?;
    let body = CloseDemandBody {
        resolution: posted.text("resolution")?.unwrap_or_default(),
    };
    let view = close_demand(state, signed.caller, id, web::Json(body))
        .await?
        .into_inner();
    Ok(see_other(&demand_path(&view.id)))
}
