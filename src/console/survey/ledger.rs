//! A campaign's coverage ledger (摸排台账) over the caller's scope: the sector × park
//! matrix with each cell's counts, each cell linked to the enterprises not yet
//! reached, the progress day by day as a chart drawn on the server, each surveyor's
//! figures, and the ledger's XLSX and CSV exports. The numbers are the API's own
//! (`.../coverage`, `.../coverage/progress`, `.../coverage/surveyors`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};

use crate::console::chart;
use crate::console::session::{Posted, Signed};
use crate::console::survey::{
    CAMPAIGNS_PATH, CASE_ROWS, campaign_links, campaign_of, campaign_path, case_badge, cases_of,
    runners_only,
};
use crate::console::{PageError, layout, render};
use crate::domain::id::{CampaignId, OrgUnitId};
use crate::domain::zone;
use crate::state::AppState;
use crate::survey::coverage::{Cell, Counts, Line};
use crate::survey::coverage_export::{export_coverage_csv, export_coverage_xlsx};
use crate::survey::handlers::{
    CaseListQuery, campaign_coverage, campaign_progress, campaign_surveyor_figures, find_campaign,
};

/// The ledger of a campaign.
fn ledger_path(id: &CampaignId) -> String {
    format!("{}/ledger", campaign_path(id))
}

/// The drill-down of a cell: its enterprises not yet reached.
fn cell_path(id: &CampaignId, sector: &OrgUnitId, park: &OrgUnitId) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("sector_id", sector.as_str())
        .append_pair("park_id", park.as_str())
        .finish();
    format!("{}/cases?{query}", ledger_path(id))
}

/// The count columns of the ledger, with their headings.
const COLUMNS: [&str; 9] = [
    "总数",
    "未分配",
    "已分配",
    "已尝试",
    "已摸排",
    "已通过",
    "失联",
    "已关闭",
    "有货运",
];

fn figures(counts: &Counts) -> [i64; 9] {
    [
        counts.total,
        counts.unassigned,
        counts.assigned,
        counts.attempted,
        counts.reached,
        counts.approved,
        counts.lost,
        counts.closed,
        counts.active,
    ]
}

fn count_cells(counts: &Counts) -> Markup {
    html! { @for figure in figures(counts) { td.n { (figure) } } }
}

/// `GET /console/survey/campaigns/{id}/ledger`.
pub async fn ledger_page(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<CampaignId>,
) -> Result<HttpResponse, PageError> {
    runners_only(&signed)?;
    let id = id.into_inner();
    let caller = signed.caller.clone();
    let path = || web::Path::from(id.clone());
    let campaign = find_campaign(state.clone(), caller.clone(), path())
        .await?
        .into_inner();
    let coverage = campaign_coverage(state.clone(), caller.clone(), path())
        .await?
        .into_inner();
    let progress = campaign_progress(state.clone(), caller.clone(), path())
        .await?
        .into_inner();
    let surveyors = campaign_surveyor_figures(state.clone(), caller, path())
        .await?
        .into_inner();
    let days: Vec<String> = progress.days.iter().map(|day| day.day.clone()).collect();
    let covered: Vec<i64> = progress
        .days
        .iter()
        .map(|day| day.covered_to_date)
        .collect();
    let approved: Vec<i64> = progress
        .days
        .iter()
        .map(|day| day.approved_to_date)
        .collect();
    let total = coverage.total;
    let chart_label = format!("每日累计已摸排和已通过的企业数，共 {} 家", progress.total);
    let body = html! {
        (campaign_links(&id))
        h1 { (campaign.name) " · 台账" }
        div.stats {
            div.stat { b { (total.total) } "摸排对象" }
            div.stat { b { (total.reached + total.closed) } "已摸排或已关闭" }
            div.stat { b { (total.approved) } "问卷已通过" }
            div.stat { b { (total.lost) } "失联" }
            div.stat { b { (total.unassigned) } "未分配" }
        }
        section.card {
            h2 { "行业 × 园区" }
            div.actions {
                a.btn.alt href={ (ledger_path(&id)) "/coverage.xlsx" } { "导出 Excel" }
                a.btn.alt href={ (ledger_path(&id)) "/coverage.csv" } { "导出 CSV" }
            }
            @if coverage.cells.is_empty() {
                p.muted { "范围内还没有摸排对象（任务开始后建立）。" }
            } @else {
                (matrix(&id, &coverage.cells))
                p.muted { "格中为“已通过 / 总数”；点开看该行业该园区尚未摸排到的企业。" }
                div.scroll { table #ledger {
                    thead { tr { th { "行业" } th { "园区" } @for column in COLUMNS { th.n { (column) } } th {} } }
                    tbody {
                        @for cell in &coverage.cells {
                            tr {
                                td { (cell.sector_name) } td { (cell.park_name) }
                                (count_cells(&cell.counts))
                                td { a href=(cell_path(&id, &cell.sector_id, &cell.park_id)) { "未摸排企业" } }
                            }
                        }
                        (lines("行业合计", &coverage.sectors))
                        (lines("园区合计", &coverage.parks))
                        tr { th { "合计" } td {} (count_cells(&total)) td {} }
                    }
                } }
            }
        }
        section.card {
            h2 { "进度" }
            @if days.is_empty() {
                p.muted { "还没有进度。" }
            } @else {
                (chart::running(&days, &[("已摸排", chart::COVERED, covered.as_slice()), ("已通过", chart::APPROVED, approved.as_slice())], progress.total, &chart_label))
            }
        }
        section.card {
            h2 { "摸排人员" }
            @if surveyors.items.is_empty() {
                p.muted { "还没有分配给摸排人员的对象。" }
            } @else {
                div.scroll { table.tally {
                    thead { tr {
                        th { "摸排人员" } th.n { "分配" } th.n { "走访次数" } th.n { "已摸排" }
                        th.n { "失联" } th.n { "已关闭" } th.n { "被退回" } th.n { "已通过" }
                    } }
                    tbody {
                        @for figures in &surveyors.items {
                            @let counts = &figures.counts;
                            tr {
                                td { (figures.surveyor_name) }
                                td.n { (counts.assigned) } td.n { (counts.attempts) } td.n { (counts.reached) }
                                td.n { (counts.lost) } td.n { (counts.closed) } td.n { (counts.returned) }
                                td.n { (counts.approved) }
                            }
                        }
                    }
                } }
            }
        }
    };
    Ok(render(
        StatusCode::OK,
        layout::page(
            &state.settings.zone_name,
            &signed,
            CAMPAIGNS_PATH,
            "摸排台账",
            body,
        ),
    ))
}

/// The compact matrix: sectors down, parks across, each non-empty cell "approved /
/// total" linked to its drill-down.
fn matrix(id: &CampaignId, cells: &[Cell]) -> Markup {
    let mut sectors: Vec<(&OrgUnitId, &str)> = Vec::new();
    let mut parks: Vec<(&OrgUnitId, &str)> = Vec::new();
    for cell in cells {
        if !sectors.iter().any(|(unit, _)| *unit == &cell.sector_id) {
            sectors.push((&cell.sector_id, &cell.sector_name));
        }
        if !parks.iter().any(|(unit, _)| *unit == &cell.park_id) {
            parks.push((&cell.park_id, &cell.park_name));
        }
    }
    html! {
        div.scroll { table.tally #matrix {
            thead { tr { th { "行业＼园区" } @for (_, name) in &parks { th.n { (name) } } } }
            tbody {
                @for (sector, sector_name) in &sectors {
                    tr {
                        th { (sector_name) }
                        @for (park, _) in &parks {
                            @match cells.iter().find(|cell| cell.sector_id == **sector && cell.park_id == **park) {
                                Some(cell) => td.n { a href=(cell_path(id, sector, park)) { (cell.counts.approved) " / " (cell.counts.total) } },
                                None => td.n { span.muted { "—" } },
                            }
                        }
                    }
                }
            }
        } }
    }
}

fn lines(title: &str, lines: &[Line]) -> Markup {
    html! {
        @for line in lines {
            tr { th { (title) } td { (line.name) } (count_cells(&line.counts)) td {} }
        }
    }
}

/// `GET /console/survey/campaigns/{id}/ledger/cases?sector_id=&park_id=`: the
/// enterprises of a cell (or of a sector or park) not yet reached.
pub async fn cell_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    id: web::Path<CampaignId>,
) -> Result<HttpResponse, PageError> {
    runners_only(&signed)?;
    let id = id.into_inner();
    let query = Posted::parse(req.query_string().as_bytes());
    let (sector, park) = (query.text("sector_id")?, query.text("park_id")?);
    let listed = CaseListQuery {
        limit: Some(CASE_ROWS),
        cursor: query.text("cursor")?,
        sector_id: sector.clone().map(OrgUnitId::from),
        park_id: park.clone().map(OrgUnitId::from),
        unreached: Some(true),
        ..CaseListQuery::default()
    };
    let campaign = campaign_of(&state, &signed, &id).await?;
    let cases = cases_of(&state, &signed, &id, listed).await?;
    let next = cases.next_cursor.as_ref().map(|cursor| {
        let mut more = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [("sector_id", &sector), ("park_id", &park)] {
            if let Some(value) = value {
                more.append_pair(name, value);
            }
        }
        more.append_pair("cursor", cursor);
        format!("{}/cases?{}", ledger_path(&id), more.finish())
    });
    let body = html! {
        (campaign_links(&id))
        h1 { (campaign.name) " · 尚未摸排到的企业" }
        section.card {
            @if cases.items.is_empty() {
                p.muted { "这一格的企业都已摸排到。" }
            } @else {
                div.scroll { table {
                    thead { tr { th { "企业" } th { "状态" } th { "摸排人员" } th.n { "走访次数" } th { "上次走访" } th { "下一步" } } }
                    tbody {
                        @for case in &cases.items {
                            tr {
                                td.wrap { (case.enterprise_name) }
                                td { (case_badge(case.state)) }
                                td { (case.assignee_name.as_deref().unwrap_or("未分配")) }
                                td.n { (case.attempts) }
                                td {
                                    @if let Some(at) = case.last_visit_at { (zone::shown_minute(at)) " " }
                                    @if let Some(outcome) = case.last_outcome { (outcome.label()) }
                                }
                                td { (case.next_method.label()) }
                            }
                        }
                    }
                } }
            }
            @if let Some(next) = next {
                p { a href=(next) { "下一页" } }
            }
            p { a href=(ledger_path(&id)) { "← 返回台账" } }
        }
    };
    Ok(render(
        StatusCode::OK,
        layout::page(
            &state.settings.zone_name,
            &signed,
            CAMPAIGNS_PATH,
            "尚未摸排到的企业",
            body,
        ),
    ))
}

/// `GET /console/survey/campaigns/{id}/ledger/coverage.xlsx`: the API's export
/// (audited `survey.coverage.export`).
pub async fn export_xlsx(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<CampaignId>,
) -> Result<HttpResponse, PageError> {
    runners_only(&signed)?;
    Ok(export_coverage_xlsx(state, signed.caller, id).await?)
}

/// `GET /console/survey/campaigns/{id}/ledger/coverage.csv`: the API's export
/// (audited `survey.coverage.export`).
pub async fn export_csv(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<CampaignId>,
) -> Result<HttpResponse, PageError> {
    runners_only(&signed)?;
    Ok(export_coverage_csv(state, signed.caller, id).await?)
}
