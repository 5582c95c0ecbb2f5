//! The campaigns (摸排任务) of the officials' scope: the list and the form that
//! creates a draft, a campaign's page with its status, start and close, and its
//! assignment, balanced over the surveyors of the caller's units or by hand (cases
//! ticked in a filtered list to one surveyor). Everything goes through the survey
//! API's handlers: the same checks, scope and audit entries.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};

use crate::auth::caller::TEAM_KEEPERS;
use crate::console::session::{Posted, Signed};
use crate::console::survey::discoveries::queue_path;
use crate::console::survey::surveyors::IMPORT_PATH;
use crate::console::survey::{
    CAMPAIGNS_PATH, CASE_ROWS, campaign_badge, campaign_links, campaign_of, campaign_path,
    case_badge, cases_of, review_badge, runners_only,
};
use crate::console::{PageError, layout, render, see_other};
use crate::domain::id::{CampaignId, CaseId, OrgUnitId, UserId};
use crate::domain::zone;
use crate::error::ApiError;
use crate::org::{OrgKind, OrgUnit};
use crate::pagination::Page;
use crate::state::AppState;
use crate::survey::assignment::Surveyor;
use crate::survey::campaigns::CampaignView;
use crate::survey::cases::CaseView;
use crate::survey::discoveries::{Discovery, DiscoveryState};
use crate::survey::handlers::{
    AssignBody, AssignMode, CampaignListQuery, CaseListQuery, CreateCampaignBody,
    UpdateCampaignBody, assign_cases, create, list_campaigns, update_campaign,
};
use crate::survey::{CampaignStatus, CaseState, SurveyScope};
use crate::users::UserView;

/// Campaigns a page of the list shows (the API's largest page).
const CAMPAIGN_ROWS: i64 = 100;
/// Most sectors or parks offered.
const UNITS_OFFERED: i64 = 500;

/// The sectors and parks of the zone, for names and choices.
pub struct Units {
    /// The sectors.
    pub sectors: Vec<OrgUnit>,
    /// The parks.
    pub parks: Vec<OrgUnit>,
}

impl Units {
    /// Every sector and park (up to a few hundred of each).
    pub async fn load(state: &AppState) -> Result<Units, ApiError> {
        state
            .db
            .read(|conn| {
                Ok(Units {
                    sectors: OrgUnit::list(conn, OrgKind::Sector, None, UNITS_OFFERED)?,
                    parks: OrgUnit::list(conn, OrgKind::Park, None, UNITS_OFFERED)?,
                })
            })
            .await
    }

    /// The units a caller may put in a campaign's scope: every one for the whole
    /// zone, an official's own otherwise.
    fn offered(&self, scope: &SurveyScope) -> (Vec<&OrgUnit>, Vec<&OrgUnit>) {
        match scope {
            SurveyScope::All => (within(&self.sectors, None), within(&self.parks, None)),
            SurveyScope::Sectors(ids) => (within(&self.sectors, Some(ids)), Vec::new()),
            SurveyScope::Parks(ids) => (Vec::new(), within(&self.parks, Some(ids))),
            SurveyScope::Assignee(_) | SurveyScope::Nothing => (Vec::new(), Vec::new()),
        }
    }

    /// The name of a sector or park.
    pub fn name<'a>(&'a self, id: &OrgUnitId) -> &'a str {
        self.sectors
            .iter()
            .chain(&self.parks)
            .find(|unit| unit.id == *id)
            .map_or("（已删除）", |unit| unit.name.as_str())
    }

    /// What a campaign covers, in words.
    fn scope_text(&self, campaign: &CampaignView) -> String {
        if campaign.sector_ids.is_empty() && campaign.park_ids.is_empty() {
            return "全园区".to_owned();
        }
        let named = |ids: &[OrgUnitId]| {
            ids.iter()
                .map(|id| self.name(id))
                .collect::<Vec<_>>()
                .join("、")
        };
        let mut parts = Vec::new();
        if !campaign.sector_ids.is_empty() {
            parts.push(format!("行业：{}", named(&campaign.sector_ids)));
        }
        if !campaign.park_ids.is_empty() {
            parts.push(format!("园区：{}", named(&campaign.park_ids)));
        }
        parts.join("；")
    }
}

/// The units among `units` that are `own` (all of them without `own`).
fn within<'a>(units: &'a [OrgUnit], own: Option<&[OrgUnitId]>) -> Vec<&'a OrgUnit> {
    units
        .iter()
        .filter(|unit| own.is_none_or(|ids| ids.contains(&unit.id)))
        .collect()
}

/// `GET /console/survey/campaigns`: the campaigns the caller sees and the form that
/// creates one.
pub async fn campaigns_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
) -> Result<HttpResponse, PageError> {
    runners_only(&signed)?;
    let query = Posted::parse(req.query_string().as_bytes());
    let listed = CampaignListQuery {
        limit: Some(CAMPAIGN_ROWS),
        cursor: query.text("cursor")?,
    };
    let page = list_campaigns(state.clone(), signed.caller.clone(), web::Query(listed))
        .await?
        .into_inner();
    let units = Units::load(&state).await?;
    let (sectors, parks) = units.offered(&SurveyScope::of(&signed.caller));
    let today = zone::today_text();
    let body = html! {
        h1 { "摸排任务" }
        @if TEAM_KEEPERS.allows(signed.caller.role) {
            p.actions { a href=(IMPORT_PATH) { "导入摸排人员" } }
        }
        section.card {
            @if page.items.is_empty() {
                p.muted { "还没有摸排任务。" }
            } @else {
                div.scroll { table {
                    thead { tr { th { "名称" } th { "时间" } th { "范围" } th { "状态" } th {} } }
                    tbody {
                        @for campaign in &page.items {
                            tr {
                                td.wrap { a href=(campaign_path(&campaign.id)) { (campaign.name) } }
                                td { (campaign.starts_on) " 至 " (campaign.ends_on) }
                                td.wrap { (units.scope_text(campaign)) }
                                td { (campaign_badge(campaign.status)) }
                                td { a href={ (campaign_path(&campaign.id)) "/ledger" } { "台账" } }
                            }
                        }
                    }
                } }
            }
            @if let Some(next) = &page.next_cursor {
                p { a href={ (CAMPAIGNS_PATH) "?cursor=" (next) } { "下一页" } }
            }
        }
        form.card #create method="post" action=(CAMPAIGNS_PATH) {
            h2 { "新建摸排任务" }
            (signed.csrf_field())
            div.f { label for="name" { "名称" }
                input #name type="text" name="name" required maxlength="100" placeholder="如：2026 年四季度重点企业摸排"; }
            div.cols {
                div.f { label for="starts_on" { "开始日期" }
                    input #starts_on type="date" name="starts_on" required value=(today); }
                div.f { label for="ends_on" { "结束日期" }
                    input #ends_on type="date" name="ends_on" required; }
            }
            @if !sectors.is_empty() {
                fieldset.row { legend { "行业" }
                    @for unit in &sectors {
                        div.f { label.check { input type="checkbox" name="sector_id" value=(unit.id); (unit.name) } }
                    }
                }
            }
            @if !parks.is_empty() {
                fieldset.row { legend { "园区" }
                    @for unit in &parks {
                        div.f { label.check { input type="checkbox" name="park_id" value=(unit.id); (unit.name) } }
                    }
                }
            }
            p.muted { "不选行业和园区即为全园区（仅指挥部和管理员）；行业和园区主管部门只能选择本单位。" }
            button.btn type="submit" { "创建" }
        }
    };
    Ok(render(
        StatusCode::OK,
        layout::page(
            &state.settings.zone_name,
            &signed,
            CAMPAIGNS_PATH,
            "摸排任务",
            body,
        ),
    ))
}

/// `POST /console/survey/campaigns`: creates the draft through the API's service and
/// goes to its page.
pub async fn create_campaign(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = signed.posted(&req, &body)?;
    runners_only(&signed)?;
    let body = CreateCampaignBody {
        name: posted.text("name")?.unwrap_or_default(),
        starts_on: posted.text("starts_on")?.unwrap_or_default(),
        ends_on: posted.text("ends_on")?.unwrap_or_default(),
        sector_ids: posted.ids("sector_id"),
        park_ids: posted.ids("park_id"),
    };
    let view = create(&state, &signed.caller, body).await?;
    Ok(see_other(&campaign_path(&view.id)))
}

/// The filters of a campaign's case list (GET query), as the API takes them.
struct CaseQuery {
    state: Option<CaseState>,
    sector_id: Option<OrgUnitId>,
    park_id: Option<OrgUnitId>,
    cursor: Option<String>,
}

impl CaseQuery {
    fn read(req: &HttpRequest) -> Result<CaseQuery, ApiError> {
        let query = Posted::parse(req.query_string().as_bytes());
        let state = query
            .text("state")?
            .map(|raw| {
                CaseState::from_stored(&raw)
                    .ok_or_else(|| ApiError::field("state", "invalid_value", "没有这种状态"))
            })
            .transpose()?;
        Ok(CaseQuery {
            state,
            sector_id: query.text("sector_id")?.map(OrgUnitId::from),
            park_id: query.text("park_id")?.map(OrgUnitId::from),
            cursor: query.text("cursor")?,
        })
    }

    fn encoded(&self, cursor: Option<&str>) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(state) = self.state {
            query.append_pair("state", state.as_str());
        }
        if let Some(sector) = &self.sector_id {
            query.append_pair("sector_id", sector.as_str());
        }
        if let Some(park) = &self.park_id {
            query.append_pair("park_id", park.as_str());
        }
        if let Some(cursor) = cursor {
            query.append_pair("cursor", cursor);
        }
        query.finish()
    }
}

/// `GET /console/survey/campaigns/{id}`: the campaign, its start and close, and its
/// assignment.
pub async fn campaign_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    id: web::Path<CampaignId>,
) -> Result<HttpResponse, PageError> {
    runners_only(&signed)?;
    let id = id.into_inner();
    let query = CaseQuery::read(&req)?;
    let campaign = campaign_of(&state, &signed, &id).await?;
    let units = Units::load(&state).await?;
    let running = campaign.status == CampaignStatus::Running;
    let (cases, surveyors) = if running {
        let listed = CaseListQuery {
            limit: Some(CASE_ROWS),
            cursor: query.cursor.clone(),
            state: query.state,
            sector_id: query.sector_id.clone(),
            park_id: query.park_id.clone(),
            ..CaseListQuery::default()
        };
        let cases = cases_of(&state, &signed, &id, listed).await?;
        let scope = SurveyScope::of(&signed.caller);
        let surveyors = state
            .db
            .read(move |conn| Surveyor::of_scope(conn, &scope))
            .await?;
        (cases, surveyors)
    } else {
        (
            Page {
                items: Vec::new(),
                next_cursor: None,
            },
            Vec::new(),
        )
    };
    let scope = SurveyScope::of(&signed.caller);
    let campaign_id = id.clone();
    let waiting = state
        .db
        .read(move |conn| {
            Discovery::count(conn, &scope, &campaign_id, DiscoveryState::PendingReview)
        })
        .await?;
    let notice = Posted::parse(req.query_string().as_bytes());
    let path = campaign_path(&id);
    let body = html! {
        (campaign_links(&id))
        h1 { (campaign.name) " " (campaign_badge(campaign.status)) }
        @if let Some(assigned) = notice.value("assigned") {
            p.notice.ok {
                "已分配 " (assigned) " 个摸排对象。"
                @if let Some(uncovered) = notice.value("uncovered").filter(|n| *n != "0") {
                    (uncovered) " 个不在所选摸排人员的行业或园区内，仍未分配。"
                }
            }
        }
        section.card {
            dl {
                dt { "时间" } dd { (campaign.starts_on) " 至 " (campaign.ends_on) }
                dt { "范围" } dd { (units.scope_text(&campaign)) }
                dt { "状态" } dd { (campaign_badge(campaign.status)) }
            }
            div.actions {
                @if campaign.status.may_become(CampaignStatus::Running) {
                    (status_form(&signed, &path, CampaignStatus::Running, "开始摸排", "btn"))
                }
                @if campaign.status.may_become(CampaignStatus::Closed) {
                    (status_form(&signed, &path, CampaignStatus::Closed, "结束摸排", "btn alt"))
                }
            }
            @if campaign.status == CampaignStatus::Draft {
                p.muted { "开始后为范围内每家企业建立摸排对象，之后才能分配。" }
            }
            p #waiting {
                a href=(queue_path(&id)) { "新发现企业待核对：" (waiting) " 家" }
            }
        }
        @if running {
            (balanced_form(&signed, &path, &surveyors, &units))
            (manual_form(&signed, &path, &query, &cases, &surveyors, &units))
        }
    };
    Ok(render(
        StatusCode::OK,
        layout::page(
            &state.settings.zone_name,
            &signed,
            CAMPAIGNS_PATH,
            &campaign.name,
            body,
        ),
    ))
}

/// A button that moves the campaign to `to`.
fn status_form(
    signed: &Signed,
    path: &str,
    to: CampaignStatus,
    label: &str,
    class: &str,
) -> Markup {
    html! {
        form method="post" action={ (path) "/status" } {
            (signed.csrf_field())
            input type="hidden" name="status" value=(to.as_str());
            button class=(class) type="submit" { (label) }
        }
    }
}

/// A surveyor's name with their team.
fn surveyor_label(surveyor: &UserView, units: &Units) -> String {
    let team: Vec<&str> = surveyor
        .sector_ids
        .iter()
        .chain(&surveyor.park_ids)
        .map(|id| units.name(id))
        .collect();
    format!("{}（{}）", surveyor.display_name, team.join("、"))
}

/// The balanced assignment: every unassigned case the caller sees, spread over the
/// surveyors ticked.
fn balanced_form(signed: &Signed, path: &str, surveyors: &[UserView], units: &Units) -> Markup {
    html! {
        form.card #balanced method="post" action={ (path) "/assign" } {
            h2 { "自动均衡分配" }
            (signed.csrf_field())
            input type="hidden" name="mode" value="balanced";
            @if surveyors.is_empty() {
                p.muted { "本单位还没有摸排人员。" }
            } @else {
                p.muted { "把尚未分配的摸排对象平均分给勾选的摸排人员（每人只分到本行业或本园区的企业，同一园区尽量分给同一人）。" }
                @for surveyor in surveyors {
                    div.f { label.check {
                        input type="checkbox" name="surveyor_id" value=(surveyor.id) checked;
                        (surveyor_label(surveyor, units))
                    } }
                }
                button.btn type="submit" { "自动分配" }
            }
        }
    }
}

/// The assignment by hand: cases ticked in the filtered list, to one surveyor.
fn manual_form(
    signed: &Signed,
    path: &str,
    query: &CaseQuery,
    cases: &Page<CaseView>,
    surveyors: &[UserView],
    units: &Units,
) -> Markup {
    html! {
        section.card {
            h2 { "手动分配" }
            form.filters method="get" action=(path) {
                label { "状态"
                    select name="state" {
                        option value="" { "全部" }
                        @for state in CaseState::ALL {
                            option value=(state.as_str()) selected[query.state == Some(*state)] { (state.label()) }
                        }
                    }
                }
                label { "行业"
                    select name="sector_id" {
                        option value="" { "全部" }
                        @for unit in &units.sectors {
                            option value=(unit.id) selected[query.sector_id.as_ref() == Some(&unit.id)] { (unit.name) }
                        }
                    }
                }
                label { "园区"
                    select name="park_id" {
                        option value="" { "全部" }
                        @for unit in &units.parks {
                            option value=(unit.id) selected[query.park_id.as_ref() == Some(&unit.id)] { (unit.name) }
                        }
                    }
                }
                button.btn.alt type="submit" { "筛选" }
            }
            form #manual method="post" action={ (path) "/assign" } {
                (signed.csrf_field())
                input type="hidden" name="mode" value="manual";
                @if cases.items.is_empty() {
                    p.muted { "没有符合条件的摸排对象。" }
                } @else {
                    div.scroll { table {
                        thead { tr {
                            th { span.muted { "选择" } } th { "企业" } th { "行业" } th { "园区" }
                            th { "状态" } th { "摸排人员" } th { "问卷" }
                        } }
                        tbody {
                            @for case in &cases.items {
                                tr {
                                    td { input type="checkbox" name="case_id" value=(case.id)
                                        aria-label={ "选择 " (case.enterprise_name) }; }
                                    td.wrap { (case.enterprise_name) }
                                    td { (units.name(&case.sector_id)) }
                                    td { (units.name(&case.park_id)) }
                                    td { (case_badge(case.state)) }
                                    td { (case.assignee_name.as_deref().unwrap_or("—")) }
                                    td { (review_badge(case.review)) }
                                }
                            }
                        }
                    } }
                }
                div.actions {
                    label { "分配给 "
                        select name="surveyor_id" {
                            option value="" { "请选择摸排人员" }
                            @for surveyor in surveyors {
                                option value=(surveyor.id) { (surveyor_label(surveyor, units)) }
                            }
                        }
                    }
                    button.btn type="submit" { "分配所选" }
                    @if let Some(next) = &cases.next_cursor {
                        a href={ (path) "?" (query.encoded(Some(next))) } { "下一页" }
                    }
                }
                p.muted { "改派会保留原分配记录；摸排人员只能接收本行业或本园区的企业。" }
            }
        }
    }
}

/// `POST /console/survey/campaigns/{id}/status`: starts or closes the campaign
/// through the API's update.
pub async fn set_status(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    id: web::Path<CampaignId>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = signed.posted(&req, &body)?;
    runners_only(&signed)?;
    let status = posted
        .text("status")?
        .and_then(|raw| CampaignStatus::from_stored(&raw))
        .ok_or_else(|| ApiError::field("status", "invalid_value", "请选择开始或结束"))?;
    let changes = UpdateCampaignBody {
        name: None,
        starts_on: None,
        ends_on: None,
        status: Some(status),
    };
    let view = update_campaign(state, signed.caller, id, web::Json(changes))
        .await?
        .into_inner();
    Ok(see_other(&campaign_path(&view.id)))
}

/// `POST /console/survey/campaigns/{id}/assign`: a balanced assignment over the
/// ticked surveyors, or the ticked cases to one surveyor, through the API's
/// assignment; back to the campaign's page with what was done.
pub async fn assign(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    id: web::Path<CampaignId>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = signed.posted(&req, &body)?;
    runners_only(&signed)?;
    let id = id.into_inner();
    let body = match posted.value("mode") {
        Some("balanced") => AssignBody {
            mode: Some(AssignMode::Balanced),
            surveyor_ids: Some(posted.ids::<UserId>("surveyor_id")),
            case_ids: None,
            surveyor_id: None,
        },
        Some("manual") => AssignBody {
            mode: Some(AssignMode::Manual),
            surveyor_ids: None,
            case_ids: Some(posted.ids::<CaseId>("case_id")),
            surveyor_id: posted.text("surveyor_id")?.map(UserId::from),
        },
        _ => return Err(ApiError::field("mode", "invalid_value", "请选择分配方式").into()),
    };
    let done = assign_cases(
        state,
        signed.caller,
        web::Path::from(id.clone()),
        web::Json(body),
    )
    .await?
    .into_inner();
    Ok(see_other(&format!(
        "{}?assigned={}&uncovered={}",
        campaign_path(&id),
        done.assigned,
        done.uncovered
    )))
}
