//! The merge queue of a campaign's field discoveries (摸排新发现): the enterprises
//! surveyors found that may be on the roster already, waiting first, and a
//! discovery's page with its roster candidates (name, credit code, address, why and
//! how close) where an official merges it into one of them or adds it to the roster.
//! The API's handlers do the work (the same scope, checks and audit entry
//! `survey.discovery.resolve`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};

use crate::console::enterprises::detail_path;
use crate::console::session::{Posted, Signed};
use crate::console::survey::office::Units;
use crate::console::survey::{
    CAMPAIGNS_PATH, CASE_ROWS, campaign_links, campaign_of, campaign_path, runners_only,
};
use crate::console::{PageError, layout, render, see_other};
use crate::domain::id::{CampaignId, DiscoveryId, EnterpriseId};
use crate::domain::zone;
use crate::error::ApiError;
use crate::state::AppState;
use crate::survey::discoveries::{DiscoveryState, DiscoveryView, ResolveAction};
use crate::survey::discovery_handlers::{
    DiscoveryListQuery, ResolveBody, find_discovery, list_discoveries, resolve_discovery,
};

/// Where a discovery's page lives, before its id.
const DISCOVERY_PATH: &str = "/console/survey/discoveries";

fn discovery_path(id: &DiscoveryId) -> String {
    format!("{DISCOVERY_PATH}/{id}")
}

/// A campaign's merge queue.
pub fn queue_path(id: &CampaignId) -> String {
    format!("{}/discoveries", campaign_path(id))
}

fn state_badge(state: DiscoveryState) -> Markup {
    let class = match state {
        DiscoveryState::PendingReview => "s-pending",
        DiscoveryState::Merged | DiscoveryState::Added => "s-approved",
    };
    html! { span class=(class) { (state.label()) } }
}

fn page(state: &AppState, signed: &Signed, title: &str, body: Markup) -> HttpResponse {
    render(
        StatusCode::OK,
        layout::page(
            &state.settings.zone_name,
            signed,
            CAMPAIGNS_PATH,
            title,
            body,
        ),
    )
}

/// `GET /console/survey/campaigns/{id}/discoveries?state=`: the campaign's
/// discoveries the caller sees in a state (waiting for a decision by default).
pub async fn queue_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    id: web::Path<CampaignId>,
) -> Result<HttpResponse, PageError> {
    runners_only(&signed)?;
    let id = id.into_inner();
    let query = Posted::parse(req.query_string().as_bytes());
    let shown = match query.text("state")? {
        None => DiscoveryState::PendingReview,
        Some(raw) => DiscoveryState::from_stored(&raw)
            .ok_or_else(|| ApiError::field("state", "invalid_value", "没有这种状态"))?,
    };
    let campaign = campaign_of(&state, &signed, &id).await?;
    let listed = DiscoveryListQuery {
        limit: Some(CASE_ROWS),
        cursor: query.text("cursor")?,
        state: Some(shown),
    };
    let discoveries = list_discoveries(
        state.clone(),
        signed.caller.clone(),
        web::Path::from(id.clone()),
        web::Query(listed),
    )
    .await?
    .into_inner();
    let path = queue_path(&id);
    let body = html! {
        (campaign_links(&id))
        h1 { (campaign.name) " · 新发现企业" }
        nav.actions.card {
            @for each in DiscoveryState::ALL {
                @if *each == shown {
                    b { (each.label()) }
                } @else {
                    a href={ (path) "?state=" (each.as_str()) } { (each.label()) }
                }
            }
        }
        section.card {
            @if discoveries.items.is_empty() {
                p.muted { "没有" (shown.label()) "的新发现企业。" }
            } @else {
                div.scroll { table #discoveries {
                    thead { tr {
                        th { "企业名称" } th { "统一社会信用代码" } th { "地址" } th { "摸排人员" }
                        th { "疑似重复" } th { "登记时间" } th {}
                    } }
                    tbody {
                        @for discovery in &discoveries.items {
                            tr {
                                td.wrap { (discovery.name) }
                                td { (discovery.credit_code.as_deref().unwrap_or("—")) }
                                td.wrap { (discovery.address) }
                                td { (discovery.reported_by_name.as_deref().unwrap_or("—")) }
                                td.wrap {
                                    @if discovery.candidates.is_empty() { "—" }
                                    @for candidate in &discovery.candidates {
                                        (candidate.enterprise_name) br;
                                    }
                                }
                                td { (zone::shown_minute(discovery.created_at)) }
                                td { a href=(discovery_path(&discovery.id)) {
                                    @if shown == DiscoveryState::PendingReview { "处理" } @else { "查看" }
                                } }
                            }
                        }
                    }
                } }
            }
            @if let Some(next) = &discoveries.next_cursor {
                p { a href={ (path) "?state=" (shown.as_str()) "&cursor=" (next) } { "下一页" } }
            }
        }
    };
    Ok(page(&state, &signed, "新发现企业", body))
}

/// `GET /console/survey/discoveries/{id}`: a discovery, its roster candidates and,
/// while it waits, the merge and add forms.
pub async fn discovery_page(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<DiscoveryId>,
) -> Result<HttpResponse, PageError> {
    runners_only(&signed)?;
    let discovery = find_discovery(state.clone(), signed.caller.clone(), id)
        .await?
        .into_inner();
    let units = Units::load(&state).await?;
    let d = &discovery;
    let body = html! {
        (campaign_links(&d.campaign_id))
        p { a href=(queue_path(&d.campaign_id)) { "← 新发现企业" } }
        h1 { (d.name) " " (state_badge(d.state)) }
        section.card {
            dl {
                dt { "统一社会信用代码" } dd { (d.credit_code.as_deref().unwrap_or("—")) }
                dt { "地址" } dd { (d.address) }
                dt { "行业" } dd { (units.name(&d.sector_id)) }
                dt { "园区" } dd { (units.name(&d.park_id)) }
                dt { "联系人" } dd { @if d.contact_person.is_empty() { "—" } @else { (d.contact_person) } }
                dt { "联系电话" } dd { (d.contact_phone.as_deref().unwrap_or("—")) }
                dt { "说明" } dd { @if d.notes.is_empty() { "—" } @else { (d.notes) } }
                dt { "摸排人员" } dd { (d.reported_by_name.as_deref().unwrap_or("—")) " · " (zone::shown_minute(d.created_at)) }
                @if let Some(enterprise) = &d.enterprise_id {
                    dt { "名录中的企业" } dd { a href=(detail_path(enterprise)) { "查看企业" } }
                }
                @if let Some(at) = d.resolved_at {
                    dt { "处理" } dd { (d.resolved_by_name.as_deref().unwrap_or("自动入库")) " · " (zone::shown_minute(at)) }
                }
            }
        }
        (decision_forms(&signed, d))
    };
    Ok(page(&state, &signed, "新发现企业", body))
}

/// The candidates and, while the discovery waits, the forms that merge it into one
/// of them or add it to the roster.
fn decision_forms(signed: &Signed, d: &DiscoveryView) -> Markup {
    let path = format!("{}/resolve", discovery_path(&d.id));
    let waiting = d.state == DiscoveryState::PendingReview;
    html! {
        form.card #merge method="post" action=(path) {
            h2 { "名录中的疑似同一企业" }
            (signed.csrf_field())
            input type="hidden" name="action" value=(ResolveAction::Merge.as_str());
            @if d.candidates.is_empty() {
                p.muted { "名录中没有名称、信用代码或地址相近的企业。" }
            } @else {
                div.scroll { table #candidates {
                    thead { tr {
                        @if waiting { th { span.muted { "选择" } } }
                        th { "企业名称" } th { "统一社会信用代码" } th { "地址" } th { "依据" } th.n { "相似度" }
                    } }
                    tbody {
                        @for candidate in &d.candidates {
                            tr {
                                @if waiting {
                                    td { input type="radio" name="enterprise_id" value=(candidate.enterprise_id)
                                        required aria-label={ "合并到 " (candidate.enterprise_name) }; }
                                }
                                td.wrap { (candidate.enterprise_name) }
                                td { (candidate.enterprise_credit_code) }
                                td.wrap { (candidate.enterprise_address) }
                                td { (candidate.reason.label()) }
                                td.n { (format!("{:.0}%", candidate.similarity * 100.0)) }
                            }
                        }
                    }
                } }
                @if waiting {
                    button.btn type="submit" { "合并到所选企业" }
                    p.muted { "合并后不新增企业：该企业在本次摸排中的对象如无人负责，分配给登记的摸排人员。" }
                }
            }
        }
        @if waiting {
            form.card #add method="post" action=(path) {
                h2 { "加入企业名录" }
                (signed.csrf_field())
                input type="hidden" name="action" value=(ResolveAction::Add.as_str());
                div.f { label for="credit_code" { "统一社会信用代码" }
                    input #credit_code type="text" name="credit_code" maxlength="18"
                        value=(d.credit_code.as_deref().unwrap_or_default()); }
                p.muted { "确认不是名录中已有的企业时加入名录；没有信用代码的须填写。" }
                button.btn.alt type="submit" { "加入企业名录" }
            }
        }
    }
}

/// `POST /console/survey/discoveries/{id}/resolve`: merges the discovery into the
/// chosen enterprise or adds it to the roster through the API; back to its page.
pub async fn resolve(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    id: web::Path<DiscoveryId>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = signed.posted(&req, &body)?;
    runners_only(&signed)?;
    let action = posted
        .text("action")?
        .and_then(|raw| ResolveAction::from_stored(&raw))
        .ok_or_else(|| ApiError::field("action", "invalid_value", "请选择合并或加入名录"))?;
    let body = ResolveBody {
        action,
        enterprise_id: posted.text("enterprise_id")?.map(EnterpriseId::from),
        credit_code: posted.text("credit_code")?,
    };
    let view = resolve_discovery(state, signed.caller, id, web::Json(body))
        .await?
        .into_inner();
    Ok(see_other(&discovery_path(&view.id)))
}
