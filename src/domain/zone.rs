//! The zone's clock: China Standard Time (UTC+8, no daylight saving). Times are stored
//! in UTC; days (`YYYY-MM-DD`) and the minutes people type and read
//! (`YYYY-MM-DDTHH:MM`, an HTML `datetime-local`) are the zone's. Nothing here does IO
//! beyond reading the clock.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Utc};

/// The zone's offset from UTC in hours (for SQL that computes zone days).
pub const OFFSET_HOURS: i64 = 8;
/// The zone's offset from UTC.
const OFFSET: TimeDelta = TimeDelta::hours(OFFSET_HOURS);
/// A day as stored and sent.
const DAY: &str = "%Y-%m-%d";
/// A minute as typed into a form.
const MINUTE: &str = "%Y-%m-%dT%H:%M";

/// The zone's wall-clock time at a UTC instant.
pub fn local(utc: NaiveDateTime) -> NaiveDateTime {
    utc + OFFSET
}

/// The UTC instant of a zone wall-clock time.
fn to_utc(local: NaiveDateTime) -> NaiveDateTime {
    local - OFFSET
}

/// Today in the zone.
pub fn today() -> NaiveDate {
    local(Utc::now().naive_utc()).date()
}

/// A UTC instant as the zone reads it, to the minute (`2026-12-03 09:30`).
pub fn shown_minute(time: DateTime<Utc>) -> String {
    local(time.naive_utc()).format("%Y-%m-%d %H:%M").to_string()
}

/// A date as stored and sent, `YYYY-MM-DD`.
pub fn day_text(day: NaiveDate) -> String {
    day.format(DAY).to_string()
}

/// A day typed as `YYYY-MM-DD` (surrounding blanks ignored; four-digit years only,
/// which both databases can hold).
pub fn parse_day(raw: &str) -> Option<NaiveDate> {
    let raw = raw.trim();
    if raw.len() != "YYYY-MM-DD".len() {
        return None;
    }
    NaiveDate::parse_from_str(raw, DAY).ok()
}

/// The UTC instant at which a zone day begins.
pub fn day_start(day: NaiveDate) -> NaiveDateTime {
    to_utc(day.and_time(chrono::NaiveTime::MIN))
}

/// The zone's day of a UTC instant.
pub fn date_of(utc: NaiveDateTime) -> NaiveDate {
    local(utc).date()
}

/// The zone's day of a UTC instant, `YYYY-MM-DD`.
pub fn day_of(utc: NaiveDateTime) -> String {
    day_text(date_of(utc))
}

/// Today in the zone, `YYYY-MM-DD`.
pub fn today_text() -> String {
    day_text(today())
}

/// A zone time typed as `YYYY-MM-DDTHH:MM` (surrounding blanks ignored), in UTC.
pub fn parse_minute(raw: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(raw.trim(), MINUTE)
        .ok()
        .map(to_utc)
}

/// A UTC instant as the zone's `YYYY-MM-DDTHH:MM`, for a form's field.
pub fn minute_text(utc: NaiveDateTime) -> String {
    local(utc).format(MINUTE).to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").expect("time")
    }

    #[test]
    fn zone_time_is_eight_hours_ahead_of_utc() {
        assert_eq!(local(at("2026-12-03 16:30")), at("2026-12-04 00:30"));
        assert_eq!(to_utc(at("2026-12-04 00:30")), at("2026-12-03 16:30"));
        assert_eq!(day_of(at("2026-12-03 15:59")), "2026-12-03");
        assert_eq!(day_of(at("2026-12-03 16:00")), "2026-12-04");
        let day = parse_day(" 2026-12-04 ").expect("day");
        assert_eq!(day_start(day), at("2026-12-03 16:00"));
        assert_eq!(parse_day("2026-02-30"), None);
        assert_eq!(parse_day("-5000-01-01"), None);
    }

    #[test]
    fn typed_minutes_round_trip_through_utc() {
        let utc = parse_minute(" 2026-12-04T08:05 ").expect("parsed");
        assert_eq!(utc, at("2026-12-04 00:05"));
        assert_eq!(minute_text(utc), "2026-12-04T08:05");
        assert_eq!(parse_minute("2026-12-04 08:05"), None);
        assert_eq!(parse_minute("2026-13-04T08:05"), None);
    }
}
