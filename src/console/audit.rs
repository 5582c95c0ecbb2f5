//! The audit log for the oversight roles (admins and the regulator, as
//! `GET /api/v1/audit`): filters, newest first, pages by sequence number, and the
//! chain's verification through the same cache as `GET /api/v1/audit/verify`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{Days, NaiveDate, NaiveDateTime};
use maud::{Markup, html};

use crate::audit::handlers::recent_entries;
use crate::audit::{AuditEntry, AuditFilter, Verification};
use crate::auth::caller::OVERSIGHT;
use crate::console::session::{Posted, Signed};
use crate::console::{PageError, layout, render};
use crate::domain::zone;
use crate::error::ApiError;
use crate::state::AppState;

/// The audit log's address.
pub const AUDIT_PATH: &str = "/console/audit";
const VERIFY_PATH: &str = "/console/audit/verify";
/// Entries on one page.
const PAGE_ENTRIES: usize = 50;

/// The oversight roles only; any other role finds no such page (404, as the API's
/// refusal tells nothing either).
fn oversight(signed: &Signed) -> Result<(), PageError> {
    if OVERSIGHT.allows(signed.caller.role) {
        Ok(())
    } else {
        Err(ApiError::not_found().into())
    }
}

/// A time as the zone reads it, to the second.
fn zone_second(time: NaiveDateTime) -> String {
    zone::local(time).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// The filters as typed in the form (GET query).
#[derive(Debug, Default)]
struct AuditQuery {
    action: Option<String>,
    actor: Option<String>,
    object_type: Option<String>,
    object_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<String>,
}

fn day(field: &str, raw: Option<&str>) -> Result<Option<NaiveDate>, ApiError> {
    raw.map(|raw| {
        zone::parse_day(raw)
            .ok_or_else(|| ApiError::field(field, "invalid_date", "日期格式应为 YYYY-MM-DD"))
    })
    .transpose()
}

impl AuditQuery {
    fn read(req: &HttpRequest) -> Result<Self, ApiError> {
        let query = Posted::parse(req.query_string().as_bytes());
        Ok(Self {
            action: query.text("action")?,
            actor: query.text("actor")?,
            object_type: query.text("object_type")?,
            object_id: query.text("object_id")?,
            from: query.text("from")?,
            to: query.text("to")?,
            before: query.text("before")?,
        })
    }

    /// The list's filter (days in the zone, `to` included) and the sequence number
    /// the page ends before.
    fn filter(&self) -> Result<(AuditFilter, Option<i64>), ApiError> {
        let from = day("from", self.from.as_deref())?;
        let to = day("to", self.to.as_deref())?;
        let before = self
            .before
            .as_deref()
            .map(|raw| {
                raw.parse::<i64>()
                    .ok()
                    .filter(|seq| *seq > 0)
                    .ok_or_else(|| {
                        ApiError::field("before", "invalid_cursor", "页码无效，请从第一页重新查询")
                    })
            })
            .transpose()?;
        let filter = AuditFilter {
            action: self.action.clone(),
            actor_id: self.actor.clone(),
            object_type: self.object_type.clone(),
            object_id: self.object_id.clone(),
            from: from.map(zone::day_start),
            to: to
                .map(|day| day.checked_add_days(Days::new(1)).unwrap_or(day))
                .map(zone::day_start),
        };
        Ok((filter, before))
    }

    /// The query string of these filters with `before`.
    fn next_page(&self, before: i64) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("action", &self.action),
            ("actor", &self.actor),
            ("object_type", &self.object_type),
            ("object_id", &self.object_id),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if let Some(value) = value {
                query.append_pair(name, value);
            }
        }
        query.append_pair("before", &before.to_string());
        format!("{AUDIT_PATH}?{}", query.finish())
    }
}

/// The log filtered by these fields alone.
fn filtered(fields: &[(&str, &str)]) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.extend_pairs(fields);
    format!("{AUDIT_PATH}?{}", query.finish())
}

fn entries_table(entries: &[AuditEntry]) -> Markup {
    html! {
        @if entries.is_empty() {
            p.muted { "没有符合条件的审计记录。" }
        } @else {
            div.scroll {
                table {
                    thead { tr {
                        th { "序号" } th { "时间" } th { "操作人" } th { "操作" }
                        th { "对象" } th { "结果" } th { "IP" } th { "详情" }
                    } }
                    tbody {
                        @for entry in entries {
                            tr {
                                td { (entry.seq) }
                                td { (zone_second(entry.at)) }
                                td {
                                    @let name = entry.actor_name.as_deref().unwrap_or("系统");
                                    @if let Some(actor) = &entry.actor_id {
                                        a href=(filtered(&[("actor", actor)])) title="只看此人的操作" { (name) }
                                    } @else {
                                        (name)
                                    }
                                    @if let Some(role) = &entry.actor_role { br; span.muted { (role) } }
                                }
                                td { (entry.action) }
                                td {
                                    (entry.object_type.as_deref().unwrap_or("—"))
                                    @if let (Some(kind), Some(id)) = (&entry.object_type, &entry.object_id) {
                                        br;
                                        a.muted href=(filtered(&[("object_type", kind), ("object_id", id)]))
                                            title="只看此对象的记录" { (id) }
                                    }
                                }
                                td { (if entry.outcome == "success" { "成功" } else { "失败" }) }
                                td { (entry.ip.as_deref().unwrap_or("—")) }
                                td.wrap { code { (entry.details) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The verification's result, in the section `#verification`.
fn verification_section(verification: Option<&Verification>) -> Markup {
    html! {
        section.card #verification {
            h2 { "审计链校验" }
            @match verification {
                None => {
                    p.muted { "重新计算每条记录的哈希，检查审计链是否完整、未被篡改。" }
                }
                Some(v) => {
                    @if v.ok {
                        p.notice.ok { "审计链完整：已校验 " (v.checked) " 条记录，全部一致。" }
                    } @else {
                        p.notice.bad {
                            "审计链校验失败：已校验 " (v.checked) " 条记录"
                            @if let Some(broken) = &v.first_broken {
                                "，第一条异常记录序号 " (broken.seq) "（" (broken_reason(broken.reason)) "）"
                            }
                            "。"
                        }
                    }
                    @if v.waiting > 0 {
                        p.muted { (v.waiting) " 条新记录等待链接，下次校验时检查。" }
                    }
                    p.muted { "校验时间 " (zone_second(v.verified_at.naive_utc())) }
                }
            }
            form method="get" action=(VERIFY_PATH) hx-get=(VERIFY_PATH) hx-target="#verification"
                hx-select="#verification" hx-swap="outerHTML" {
                button.btn.alt type="submit" { "校验审计链" }
            }
        }
    }
}

fn broken_reason(reason: &str) -> &'static str {
    match reason {
        "hash_mismatch" => "记录内容与哈希不符",
        "prev_hash_mismatch" => "与上一条记录的链接不符",
        "missing_entry" => "记录缺失",
        _ => "链头与记录不符",
    }
}

fn page(state: &AppState, signed: &Signed, title: &str, body: Markup) -> HttpResponse {
    render(
        StatusCode::OK,
        layout::page(&state.settings.zone_name, signed, AUDIT_PATH, title, body),
    )
}

/// `GET /console/audit`: entries newest first, 50 a page, filtered by action, actor,
/// object and days; admins and the regulator only (others: 404 page).
pub async fn audit_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
) -> Result<HttpResponse, PageError> {
    oversight(&signed)?;
    let query = AuditQuery::read(&req)?;
    let (filter, before) = query.filter()?;
    let mut entries = recent_entries(&state, filter, before, PAGE_ENTRIES as i64 + 1).await?;
    let more = entries.len() > PAGE_ENTRIES;
    entries.truncate(PAGE_ENTRIES);
    let next = entries.last().filter(|_| more).map(|last| last.seq);
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    let body = html! {
        h1 { "审计日志" }
        form.card.filters method="get" action=(AUDIT_PATH) {
            label { "操作" input type="text" name="action" value=(text(&query.action)) placeholder="如 registration.approve" maxlength="64"; }
            label { "操作人 ID" input type="text" name="actor" value=(text(&query.actor)) maxlength="64"; }
            label { "对象类型" input type="text" name="object_type" value=(text(&query.object_type)) placeholder="如 enterprise" maxlength="64"; }
            label { "对象 ID" input type="text" name="object_id" value=(text(&query.object_id)) maxlength="64"; }
            label { "起始日期" input type="date" name="from" value=(text(&query.from)); }
            label { "截止日期" input type="date" name="to" value=(text(&query.to)); }
            button.btn type="submit" { "筛选" }
            a href=(AUDIT_PATH) { "清除" }
        }
        (verification_section(None))
        section.card {
            (entries_table(&entries))
            div.actions {
                @if before.is_some() { a href=(AUDIT_PATH) { "回到最新" } }
                @if let Some(next) = next { a href=(query.next_page(next)) { "更早的记录" } }
            }
        }
    };
    Ok(page(&state, &signed, "审计日志", body))
}

/// `GET /console/audit/verify`: the chain's verification (as
/// `GET /api/v1/audit/verify`): whole, or its first broken entry, and how many entries
/// wait to be linked.
pub async fn verify_page(
    state: web::Data<AppState>,
    signed: Signed,
) -> Result<HttpResponse, PageError> {
    oversight(&signed)?;
    let verification = state.verification.verify(&state.db).await?;
    let body = html! {
        p { a href=(AUDIT_PATH) { "← 审计日志" } }
        (verification_section(Some(&verification)))
    };
    Ok(page(&state, &signed, "审计链校验", body))
}
