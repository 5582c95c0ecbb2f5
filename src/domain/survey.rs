//! What the survey (企业摸排) takes from its users: a campaign's name and period, a
//! visit's notes, time and the device's id for it.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SubsecRound, TimeDelta};

use crate::domain::text::{bounded, is_key};
use crate::domain::zone;
use crate::error::FieldError;

/// A campaign's name: 1 to 60 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CampaignName(String);

impl CampaignName {
    /// Trims and checks a name.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        bounded("name", raw, 1, 60).map(Self)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A zone day (`YYYY-MM-DD`) of a campaign's period; `field` names the input.
pub fn parse_campaign_day(field: &str, raw: &str) -> Result<NaiveDate, FieldError> {
    zone::parse_day(raw)
        .ok_or_else(|| FieldError::new(field, "invalid_date", "日期格式应为 YYYY-MM-DD"))
}

/// A campaign's period: the zone days it starts and ends on, the end not before the
/// start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CampaignPeriod {
    starts_on: NaiveDate,
    ends_on: NaiveDate,
}

impl CampaignPeriod {
    /// Checks that `ends_on` is not before `starts_on`.
    pub fn new(starts_on: NaiveDate, ends_on: NaiveDate) -> Result<Self, FieldError> {
        if ends_on < starts_on {
            return Err(FieldError::new(
                "ends_on",
                "invalid_range",
                "结束日期不能早于开始日期",
            ));
        }
        Ok(Self { starts_on, ends_on })
    }

    /// The first day.
    pub fn starts_on(&self) -> NaiveDate {
        self.starts_on
    }

    /// The last day.
    pub fn ends_on(&self) -> NaiveDate {
        self.ends_on
    }
}

/// The id a surveyor's device gives a visit, so that a retry is the same visit: 8 to
/// 64 ASCII letters, digits, `_` or `-` (a UUID fits).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientId(String);

impl ClientId {
    /// Checks an id.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        if is_key(raw, 8..=64) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(FieldError::new(
                "client_id",
                "invalid_client_id",
                "client_id 须为 8 到 64 位字母、数字、_ 或 -",
            ))
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A visit's notes: up to 2000 characters, trimmed, possibly empty.
pub fn parse_visit_notes(raw: &str) -> Result<String, FieldError> {
    bounded("notes", raw, 0, 2000)
}

/// How far in the future a device's clock may put a visit.
const CLOCK_SKEW: TimeDelta = TimeDelta::minutes(10);

/// When a visit took place: an RFC 3339 time, not in the future (beyond a device's
/// clock skew) nor more than a year ago; in UTC, to the microsecond (as both
/// databases keep it, so that a retry compares equal).
pub fn parse_visited_at(raw: &str, now: NaiveDateTime) -> Result<NaiveDateTime, FieldError> {
    let at = DateTime::parse_from_rfc3339(raw.trim())
        .map_err(|_| {
            FieldError::new(
                "visited_at",
                "invalid_date_time",
                "时间格式应为 RFC 3339（如 2026-12-03T09:30:00+08:00）",
            )
        })?
        .naive_utc()
        .trunc_subsecs(6);
    if at > now + CLOCK_SKEW || at < now - TimeDelta::days(366) {
        return Err(FieldError::new(
            "visited_at",
            "out_of_range",
            "走访时间不能晚于现在，也不能早于一年前",
        ));
    }
    Ok(at)
}

/// How far ahead a demand's deadline may lie.
const DEADLINE_HORIZON_DAYS: i64 = 366;

/// A demand's deadline (`due_on`): a zone day, counted to its end, so it may be
/// `today` (still ahead until midnight) but not before it, nor more than a year ahead.
pub fn parse_demand_deadline(raw: &str, today: NaiveDate) -> Result<NaiveDate, FieldError> {
    let day = parse_campaign_day("due_on", raw)?;
    if day < today || day > today + TimeDelta::days(DEADLINE_HORIZON_DAYS) {
        return Err(FieldError::new(
            "due_on",
            "out_of_range",
            "办理期限不能早于今天，也不能晚于一年后",
        ));
    }
    Ok(day)
}

/// A progress note on a demand, or the resolution it is closed with (`field`): 1 to
/// 1000 characters, trimmed.
pub fn parse_demand_text(field: &str, raw: &str) -> Result<String, FieldError> {
    bounded(field, raw, 1, 1000)
}

/// The address of an enterprise found in the field (where the surveyor stood): 1 to
/// 200 characters, trimmed.
pub fn parse_discovery_address(raw: &str) -> Result<String, FieldError> {
    bounded("address", raw, 1, 200)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_lies_between_today_and_a_year_ahead() {
        let today = parse_campaign_day("d", "2026-12-03").unwrap_or_default();
        assert!(parse_demand_deadline("2026-12-03", today).is_ok());
        assert!(parse_demand_deadline("2027-12-04", today).is_ok());
        for (raw, code) in [
            ("2026-12-02", "out_of_range"),
            ("2027-12-05", "out_of_range"),
            ("12/31/2026", "invalid_date"),
        ] {
            assert_eq!(
                parse_demand_deadline(raw, today).map_err(|e| (e.field, e.code)),
                Err(("due_on".to_owned(), code)),
                "{raw}"
            );
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            CampaignName::parse(" 2026 年冬季摸排 ").map(|n| n.0),
            Ok("2026 年冬季摸排".to_owned())
        );
        assert!(CampaignName::parse("   ").is_err());
        assert!(CampaignName::parse(&"名".repeat(61)).is_err());
    }

    #[test]
    fn a_period_ends_on_or_after_its_start() {
        let day = |raw| parse_campaign_day("d", raw);
        let (Ok(a), Ok(b)) = (day("2026-12-01"), day("2026-12-31")) else {
            panic!("days parse");
        };
        assert!(CampaignPeriod::new(a, b).is_ok());
        assert!(CampaignPeriod::new(a, a).is_ok());
        assert_eq!(
            CampaignPeriod::new(b, a).map_err(|e| e.code),
            Err("invalid_range")
        );
        assert!(day("2026-13-01").is_err());
        assert!(day("12/01/2026").is_err());
    }

    #[test]
    fn client_ids_are_keys() {
        assert!(ClientId::parse("0193a6f2-7b1c-7d3e-9f00-112233445566").is_ok());
        assert!(ClientId::parse("short").is_err());
        assert!(ClientId::parse("has space in it").is_err());
    }

    #[test]
    fn visit_times_are_rfc3339_and_not_in_the_future() {
        let now = crate::db::now();
        let text = |at: NaiveDateTime| at.and_utc().to_rfc3339();
        assert_eq!(
            parse_visited_at(&text(now), now).map(|at| at.and_utc().timestamp()),
            Ok(now.and_utc().timestamp())
        );
        assert!(parse_visited_at(&text(now + TimeDelta::hours(1)), now).is_err());
        assert!(parse_visited_at(&text(now - TimeDelta::days(400)), now).is_err());
        assert!(parse_visited_at("2026-12-03 09:30", now).is_err());
    }
}
