//! Charts drawn on the server as inline SVG, so that no chart script is needed: one
//! bar a day over a run of zone days, and labelled horizontal bars. Each bar carries
//! its count as a tooltip and as text; the chart's `aria-label` says what it shows.

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
