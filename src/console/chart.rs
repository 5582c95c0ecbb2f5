//! Charts drawn on the server as inline SVG, so that no chart script is needed: one
//! bar a day over a run of zone days, labelled horizontal bars, and lines of running
//! totals a day. Each bar and point carries its count as a tooltip (a bar also as
//! text); the chart's `aria-label` says what it shows.

use std::collections::HashMap;

use chrono::NaiveDate;
use maud::{Markup, html};

/// The bars' colour (the console's blue).
const BAR_FILL: &str = "#0f4c81";

/// Index `index` of a chart's bars as an SVG coordinate step (a chart has a few dozen
/// bars at most).
fn step(index: usize) -> i64 {
    i64::try_from(index).unwrap_or(0)
}

/// The largest count of a chart's rows, at least 1 (the full length of a bar).
fn largest<T>(rows: &[(T, i64)]) -> i64 {
    rows.iter()
        .map(|(_, count)| *count)
        .max()
        .unwrap_or(0)
        .max(1)
}

/// One bar a day from `from` to `to` (days without a count too, as no bar), each with
/// its count above it; every seventh day is labelled. `counts` are by `YYYY-MM-DD`;
/// `unit` follows a count in the tooltips (`次`, `条`).
pub fn daily(
    from: NaiveDate,
    to: NaiveDate,
    counts: &[(String, i64)],
    unit: &str,
    label: &str,
) -> Markup {
    const BAR: i64 = 24;
    const TOP: i64 = 24;
    const HEIGHT: i64 = 140;
    const BOTTOM: i64 = 26;
    const LABEL_EVERY: usize = 7;
    let by_day: HashMap<&str, i64> = counts
        .iter()
        .map(|(day, count)| (day.as_str(), *count))
        .collect();
    let days: Vec<(NaiveDate, i64)> = from
        .iter_days()
        .take_while(|day| *day <= to)
        .map(|day| {
            let text = day.format("%Y-%m-%d").to_string();
            (day, by_day.get(text.as_str()).copied().unwrap_or(0))
        })
        .collect();
    let most = largest(&days);
    let width = BAR * step(days.len());
    html! {
        div.scroll {
            svg.chart viewBox={ "-24 0 " (width + 48) " " (TOP + HEIGHT + BOTTOM) }
                role="img" aria-label=(label) {
                line x1="0" y1=(TOP + HEIGHT) x2=(width) y2=(TOP + HEIGHT) stroke="#9aa5b1" {}
                @for (index, (day, count)) in days.iter().enumerate() {
                    @let x = BAR * step(index);
                    @let height = count * HEIGHT / most;
                    g {
                        title { (day.format("%m-%d")) "：" (count) " " (unit) }
                        rect x=(x + 3) y=(TOP + HEIGHT - height) width=(BAR - 6) height=(height) fill=(BAR_FILL) {}
                        @if *count > 0 {
                            text x=(x + BAR / 2) y=(TOP + HEIGHT - height - 3) text-anchor="middle" fill="#1a1a1a" { (count) }
                        }
                        @if index % LABEL_EVERY == 0 {
                            text x=(x + BAR / 2) y=(TOP + HEIGHT + 21) text-anchor="middle" fill="#555" { (day.format("%m-%d")) }
                        }
                    }
                }
            }
        }
    }
}

/// One horizontal bar a row, in the order given, the longest for the largest count,
/// its short name (a few characters: the names are not wrapped) before it and its
/// count after it.
pub fn bars(rows: &[(&str, i64)], unit: &str, label: &str) -> Markup {
    const ROW: i64 = 36;
    const NAME: i64 = 110;
    const LENGTH: i64 = 400;
    const COUNT: i64 = 90;
    let most = largest(rows);
    html! {
        svg.chart viewBox={ "0 0 " (NAME + LENGTH + COUNT) " " (ROW * step(rows.len()) + 8) }
            role="img" aria-label=(label) {
            @for (index, (name, count)) in rows.iter().enumerate() {
                @let y = ROW * step(index) + 4;
                @let length = count * LENGTH / most;
                g {
                    title { (name) "：" (count) " " (unit) }
                    text x=(NAME - 10) y=(y + ROW / 2 + 7) text-anchor="end" fill="#555" { (name) }
                    rect x=(NAME) y=(y + 5) width=(length) height=(ROW - 10) fill=(BAR_FILL) {}
                    text x=(NAME + length + 8) y=(y + ROW / 2 + 7) fill="#1a1a1a" { (count) }
                }
            }
        }
    }
}

/// The colour of the running total of what was covered (the console's blue).
pub const COVERED: &str = BAR_FILL;
/// The colour of the running total of what was approved (green).
pub const APPROVED: &str = "#047857";

/// Lines of running totals, one point a day, on a scale from 0 to `whole` (drawn as a
/// dashed line at the top): each series `(name, colour, values by day)` a polyline
/// with its last value at its end and a legend; the first day and every seventh are
/// labelled. `days` are `YYYY-MM-DD`.
pub fn running(
    days: &[String],
    series: &[(&str, &str, &[i64])],
    whole: i64,
    label: &str,
) -> Markup {
    const STEP: i64 = 24;
    const TOP: i64 = 40;
    const HEIGHT: i64 = 140;
    const BOTTOM: i64 = 26;
    const LABEL_EVERY: usize = 7;
    let top = series
        .iter()
        .flat_map(|(_, _, values)| values.iter().copied())
        .max()
        .unwrap_or(0)
        .max(whole)
        .max(1);
    let width = STEP * step(days.len().saturating_sub(1)).max(1);
    let y = |value: i64| TOP + HEIGHT - value * HEIGHT / top;
    let short = |day: &str| day.get(5..).unwrap_or(day).to_owned();
    html! {
        div.scroll {
            svg.chart viewBox={ "-24 0 " (width + 96) " " (TOP + HEIGHT + BOTTOM) }
                role="img" aria-label=(label) {
                line x1="0" y1=(TOP + HEIGHT) x2=(width) y2=(TOP + HEIGHT) stroke="#9aa5b1" {}
                line x1="0" y1=(y(whole)) x2=(width) y2=(y(whole)) stroke="#9aa5b1" stroke-dasharray="4 4" {}
                text x=(width + 6) y=(y(whole) + 6) fill="#555" { (whole) }
                @for (index, (name, colour, _)) in series.iter().enumerate() {
                    @let x = 110 * step(index);
                    rect x=(x) y="6" width="14" height="14" fill=(colour) {}
                    text x=(x + 20) y="19" fill="#1a1a1a" { (name) }
                }
                @for (index, day) in days.iter().enumerate() {
                    @if index % LABEL_EVERY == 0 {
                        text x=(STEP * step(index)) y=(TOP + HEIGHT + 21) text-anchor="middle" fill="#555" { (short(day)) }
                    }
                }
                @for (name, colour, values) in series {
                    @let points: Vec<String> = values.iter().enumerate().map(|(index, value)| format!("{},{}", STEP * step(index), y(*value))).collect();
                    g {
                        title { (name) "：" (values.last().copied().unwrap_or(0)) " / " (whole) }
                        polyline points=(points.join(" ")) fill="none" stroke=(colour) stroke-width="3" {}
                        @for (index, value) in values.iter().enumerate() {
                            circle cx=(STEP * step(index)) cy=(y(*value)) r="3" fill=(colour) {
                                title { (short(&days.get(index).cloned().unwrap_or_default())) " " (name) "：" (value) }
                            }
                        }
                    }
                }
            }
        }
    }
}
