//! The officials' dashboard (数据看板) for sector and park officials, the regulator and
//! admins, over the caller's scope and the last 30 zone days: filings and code scans
//! per day and filings per status as charts drawn on the server, filings per sector,
//! park, origin province and city, the share approved automatically, the time from
//! filing to a person's decision, and the enterprises whose code is suspended or was
//! never scanned. Counts only: no driver's personal data is read.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use chrono::{Days, TimeDelta};
use maud::{Markup, html};

use crate::auth::caller::OFFICIALS;
use crate::codes::EnterpriseCode;
use crate::console::chart;
use crate::console::enterprises::detail_path;
use crate::console::session::Signed;
use crate::console::{PageError, allowed, layout, render};
use crate::domain::id::{EnterpriseId, OrgUnitId};
use crate::domain::zone;
use crate::enterprises::{Placement, Visibility};
use crate::org::{OrgKind, OrgUnit};
use crate::registrations::stats::FilingStats;
use crate::state::AppState;

/// The dashboard's address.
pub const DASHBOARD_PATH: &str = "/console/dashboard";
/// Zone days counted, today included.
const PERIOD_DAYS: u64 = 30;
/// Origin provinces and cities listed.
const TOP_ORIGINS: usize = 10;
/// Enterprises listed under a suspended or never scanned code.
const LISTED: usize = 20;
/// Most sectors or parks named.
const UNITS_NAMED: i64 = 500;

/// What the page shows, read in one go.
struct Board {
    filings: FilingStats,
    scans: Vec<(String, i64)>,
    suspended: Vec<(EnterpriseId, String)>,
    unscanned: Vec<(EnterpriseId, String)>,
    sectors: Vec<OrgUnit>,
    parks: Vec<OrgUnit>,
}

/// `GET /console/dashboard`: the dashboard of the caller's scope; the 404 page for
/// surveyors and enterprise contacts.
pub async fn dashboard_page(
    state: web::Data<AppState>,
    signed: Signed,
) -> Result<HttpResponse, PageError> {
    allowed(OFFICIALS.allows(signed.caller.role))?;
    let visibility = Visibility::of(&signed.caller);
    let to = zone::today();
    let from = to
        .checked_sub_days(Days::new(PERIOD_DAYS - 1))
        .unwrap_or(to);
    let since = zone::day_start(from);
    let (from_text, to_text) = (zone::day_text(from), zone::day_text(to));
    let range = (from_text.clone(), to_text.clone());
    // This process's latest code scans first, as the code page does.
    state.scans.flush(&state.db).await?;
    let board = state
        .db
        .read(move |conn| {
            let placed = Placement::of_visible(conn, &visibility)?;
            // A zone-wide caller's queries bind no list of ids (a zone may hold more
            // enterprises than SQLite takes parameters).
            let ids: Option<Vec<EnterpriseId>> = (visibility != Visibility::All)
                .then(|| placed.iter().map(|place| place.id.clone()).collect());
            let only = ids.as_deref();
            Ok(Board {
                filings: FilingStats::collect(conn, &placed, only, since)?,
                scans: EnterpriseCode::scans(conn, only, &range.0, &range.1)?,
                suspended: EnterpriseCode::suspended_among(conn, only)?,
                unscanned: EnterpriseCode::never_scanned_among(conn, only)?,
                sectors: OrgUnit::list(conn, OrgKind::Sector, None, UNITS_NAMED)?,
                parks: OrgUnit::list(conn, OrgKind::Park, None, UNITS_NAMED)?,
            })
        })
        .await?;
    let filings = &board.filings;
    let scanned: i64 = board.scans.iter().map(|(_, scans)| scans).sum();
    let statuses: Vec<(&str, i64)> = filings
        .statuses
        .iter()
        .map(|(status, count)| (status.label(), *count))
        .collect();
    let body = html! {
        h1 { "数据看板" }
        div.stats {
            div.stat { b { (filings.total) } "登记" }
            div.stat { b { (scanned) } "扫码" }
            div.stat { b { (share(filings.auto_approved, filings.decided)) } "自动通过占比" }
            div.stat { b { (waited(filings.decision_times.median)) } "审核用时中位数" }
            div.stat { b { (board.suspended.len()) } "企业码已暂停" }
            div.stat { b { (board.unscanned.len()) } "企业码从未扫码" }
        }
        p.muted {
            "统计范围：" (scope_text(&signed)) "；统计期：近 30 天（" (from_text) " 至 " (to_text)
            "，按登记时间的园区日期）。只含数量，不含司机个人信息。"
        }
        div.cols {
            section.card {
                h2 { "每日登记" }
                (chart::daily(from, to, &filings.days, "条", &format!("近 30 天每日登记数，共 {} 条", filings.total)))
            }
            section.card {
                h2 { "每日扫码" }
                (chart::daily(from, to, &board.scans, "次", &format!("近 30 天每日扫码次数，共 {scanned} 次")))
            }
        }
        div.cols {
            section.card {
                h2 { "登记状态" }
                @if statuses.is_empty() {
                    p.muted { "统计期内没有登记。" }
                } @else {
                    (chart::bars(&statuses, "条", "近 30 天登记按状态"))
                    p.muted { "按当前状态；待审核或已通过但已过有效期的计为已过期。" }
                }
            }
            section.card {
                h2 { "审核" }
                dl {
                    dt { "自动通过" }
                    dd { (filings.auto_approved) " / " (filings.decided) " 条已审核（" (share(filings.auto_approved, filings.decided)) "）" }
                    dt { "审核用时中位数" } dd { (waited(filings.decision_times.median)) }
                    dt { "审核用时 90% 在" } dd { (waited(filings.decision_times.p90)) " 以内" }
                }
                p.muted { "审核用时：从登记到人工通过或驳回，取统计期内最近 " (filings.decision_times.sampled) " 条人工审核。" }
            }
        }
        div.cols {
            (tally("按行业", "行业", &named(&filings.sectors, &board.sectors)))
            (tally("按园区", "园区", &named(&filings.parks, &board.parks)))
        }
        div.cols {
            (tally("来源省份（前 10）", "省份", &top(&filings.provinces)))
            (tally("来源城市（前 10）", "城市", &top(&filings.cities)))
        }
        div.cols {
            (enterprises("企业码已暂停", &board.suspended))
            (enterprises("企业码从未被扫码", &board.unscanned))
        }
        p.muted { "企业码只统计在营企业；扫码包括打开登记页和提交登记。" }
    };
    Ok(render(
        StatusCode::OK,
        layout::page(
            &state.settings.zone_name,
            &signed,
            DASHBOARD_PATH,
            "数据看板",
            body,
        ),
    ))
}

/// Whose enterprises the numbers are of.
fn scope_text(signed: &Signed) -> &'static str {
    match Visibility::of(&signed.caller) {
        Visibility::Sectors(_) => "所管行业的企业",
        Visibility::Parks(_) => "所管园区的企业",
        Visibility::All | Visibility::Enterprise(_) => "全部企业",
    }
}

/// `part` of `whole` as a percentage to one decimal, `—` when there is no whole.
fn share(part: i64, whole: i64) -> String {
    if whole <= 0 {
        return "—".to_owned();
    }
    let permille = (part * 1000 + whole / 2) / whole;
    format!("{}.{}%", permille / 10, permille % 10)
}

/// A waiting time in minutes, hours or days, `—` when there is none.
fn waited(time: Option<TimeDelta>) -> String {
    let Some(time) = time else {
        return "—".to_owned();
    };
    let minutes = time.num_minutes().max(0);
    if minutes < 60 {
        format!("{minutes} 分钟")
    } else if minutes < 48 * 60 {
        format!("{}.{} 小时", minutes / 60, minutes % 60 * 10 / 60)
    } else {
        format!("{}.{} 天", minutes / 1440, minutes % 1440 * 10 / 1440)
    }
}

/// Counts by unit id with the units' names (a unit deleted since is named so).
fn named(counts: &[(OrgUnitId, i64)], units: &[OrgUnit]) -> Vec<(String, i64)> {
    counts
        .iter()
        .map(|(id, count)| {
            let name = units
                .iter()
                .find(|unit| unit.id == *id)
                .map_or_else(|| "（已删除）".to_owned(), |unit| unit.name.clone());
            (name, *count)
        })
        .collect()
}

/// The first [`TOP_ORIGINS`] counts.
fn top(counts: &[(String, i64)]) -> Vec<(String, i64)> {
    counts.iter().take(TOP_ORIGINS).cloned().collect()
}

/// A card with a table of names and their filings.
fn tally(title: &str, column: &str, rows: &[(String, i64)]) -> Markup {
    html! {
        section.card {
            h2 { (title) }
            @if rows.is_empty() {
                p.muted { "统计期内没有登记。" }
            } @else {
                table.tally {
                    thead { tr { th { (column) } th.n { "登记数" } } }
                    tbody {
                        @for (name, count) in rows {
                            tr { td { (name) } td.n { (count) } }
                        }
                    }
                }
            }
        }
    }
}

/// A card listing the first [`LISTED`] enterprises, each linked to its page, and how
/// many there are.
fn enterprises(title: &str, listed: &[(EnterpriseId, String)]) -> Markup {
    html! {
        section.card {
            h2 { (title) " " span.muted { "共 " (listed.len()) " 家" } }
            @if listed.is_empty() {
                p.muted { "没有。" }
            } @else {
                ul {
                    @for (id, name) in listed.iter().take(LISTED) {
                        li { a href=(detail_path(id)) { (name) } }
                    }
                }
                @if listed.len() > LISTED {
                    p.muted { "只列出前 " (LISTED) " 家（按名称）。" }
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_percentages_to_one_decimal() {
        assert_eq!(share(1, 2), "50.0%");
        assert_eq!(share(1, 3), "33.3%");
        assert_eq!(share(2, 3), "66.7%");
        assert_eq!(share(0, 5), "0.0%");
        assert_eq!(share(0, 0), "—");
    }

    #[test]
    fn waiting_times_read_in_minutes_hours_or_days() {
        assert_eq!(waited(None), "—");
        assert_eq!(waited(Some(TimeDelta::seconds(59))), "0 分钟");
        assert_eq!(waited(Some(TimeDelta::minutes(45))), "45 分钟");
        assert_eq!(waited(Some(TimeDelta::minutes(90))), "1.5 小时");
        assert_eq!(waited(Some(TimeDelta::hours(72))), "3.0 天");
    }
}
