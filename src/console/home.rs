//! The home page: today's numbers over the caller's scope (pending and approved
//! filings arriving today or later, expected arrivals today and tomorrow in the zone's
//! days) and the pending filings that wait for a decision.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use chrono::Days;
use maud::html;

use crate::console::registrations::{LIST_PATH, rows};
use crate::console::session::Signed;
use crate::console::{HOME_PATH, PageError, layout, render};
use crate::domain::zone;
use crate::enterprises::Visibility;
use crate::registrations::{Registration, RegistrationFilter, RegistrationStatus};
use crate::state::AppState;

/// Pending filings listed on the home page.
const PENDING_SHOWN: i64 = 10;

/// `GET /console/`: every signed-in role's home over its own scope.
pub async fn home_page(
    state: web::Data<AppState>,
    signed: Signed,
) -> Result<HttpResponse, PageError> {
    let visibility = Visibility::of(&signed.caller);
    let today = zone::today();
    let tomorrow = today.checked_add_days(Days::new(1)).unwrap_or(today);
    let (counts, pending) = state
        .db
        .read(move |conn| {
            // Filings arriving today or later: what still needs doing, read through
            // the index on the day of arrival however many filings the years hold.
            let with_status = |status| RegistrationFilter {
                status: Some(status),
                from: Some(zone::day_text(today)),
                ..RegistrationFilter::default()
            };
            let arriving = |day| RegistrationFilter {
                from: Some(zone::day_text(day)),
                to: Some(zone::day_text(day)),
                ..with_status(RegistrationStatus::Approved)
            };
            let mut counts = Vec::new();
            for filter in [
                with_status(RegistrationStatus::Pending),
                with_status(RegistrationStatus::Approved),
                arriving(today),
                arriving(tomorrow),
            ] {
                counts.push(Registration::count(conn, &visibility, &filter)?);
            }
            let pending = Registration::list(
                conn,
                &visibility,
                &with_status(RegistrationStatus::Pending),
                None,
                PENDING_SHOWN,
            )?;
            Ok((counts, Registration::views(conn, pending)?))
        })
        .await?;
    let labels = ["待审核", "已通过", "今日预计到达", "明日预计到达"];
    let pending_list = format!("{LIST_PATH}?status=pending&from={}", zone::day_text(today));
    let body = html! {
        h1 { "今日概览 " span.muted { (zone::day_text(today)) } }
        div.stats {
            @for (label, count) in labels.iter().zip(&counts) {
                div.stat { b { (count) } (label) }
            }
        }
        p.muted { "只计今日及以后到达的登记；预计到达只计已通过的登记。" }
        section.card {
            h2 { "待处理的登记" }
            (rows(&pending, false))
            p { a href=(pending_list) { "查看全部待审核登记" } }
        }
    };
    Ok(render(
        StatusCode::OK,
        layout::page(&state.settings.zone_name, &signed, HOME_PATH, "首页", body),
    ))
}
