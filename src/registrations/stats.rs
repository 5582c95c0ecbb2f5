//! Filings counted for the officials' dashboard: per zone day of filing, per status,
//! sector, park and origin, the share approved automatically and the time from filing
//! to a person's decision. Everything is over the filings made since an instant at
//! the enterprises of a caller's scope, so each query reads the registrations'
//! `(enterprise_id, created_at)` index; the counts are grouped in SQL and only rolled
//! up (to sectors, parks, provinces, cities) here.

use std::collections::HashMap;

use chrono::{NaiveDateTime, TimeDelta};
use diesel::dsl::{count, count_star, sql};
use diesel::expression::SqlLiteral;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

use crate::db::schema::registrations;
use crate::db::{DbConnection, MultiBackend, now};
use crate::domain::id::{EnterpriseId, OrgUnitId};
use crate::domain::{region, zone};
use crate::enterprises::Placement;
use crate::error::ApiError;
use crate::registrations::RegistrationStatus;

/// How many of the latest decisions by a person the decision times are taken from.
pub const DECISIONS_SAMPLED: i64 = 2000;

/// Filings counted over a scope since an instant.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FilingStats {
    /// Filings in all.
    pub total: i64,
    /// Filings per zone day of filing (`YYYY-MM-DD`), in day order; days without
    /// filings are left out.
    pub days: Vec<(String, i64)>,
    /// Filings per status as staff see it (live ones past their validity are
    /// expired), in the order of [`RegistrationStatus::ALL`], statuses without
    /// filings left out.
    pub statuses: Vec<(RegistrationStatus, i64)>,
    /// Filings per sector, most first.
    pub sectors: Vec<(OrgUnitId, i64)>,
    /// Filings per park, most first.
    pub parks: Vec<(OrgUnitId, i64)>,
    /// Filings per origin province (its name), most first.
    pub provinces: Vec<(String, i64)>,
    /// Filings per origin city (its full name), most first.
    pub cities: Vec<(String, i64)>,
    /// Filings approved or rejected, by a person or automatically (also those the
    /// driver cancelled afterwards).
    pub decided: i64,
    /// Filings approved automatically on filing.
    pub auto_approved: i64,
    /// From filing to a person's decision.
    pub decision_times: DecisionTimes,
}

/// How long filings waited for a person's decision, over the latest
/// [`DECISIONS_SAMPLED`] such decisions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecisionTimes {
    /// Decisions the times are taken from.
    pub sampled: usize,
    /// Half of them took at most this long.
    pub median: Option<TimeDelta>,
    /// Nine in ten took at most this long.
    pub p90: Option<TimeDelta>,
}

/// Counts by name, most first.
type Named = Vec<(String, i64)>;

/// One grouped row: an enterprise's filings with one stored status, how many of them
/// were decided and how many of those by a person.
type StatusRow = (EnterpriseId, RegistrationStatus, i64, i64, i64);

impl FilingStats {
    /// Counts the filings made since `since` at the enterprises `placed` (the
    /// caller's visible ones, with their sectors and parks); `only` is their ids, or
    /// `None` when the caller sees every enterprise (then no list of ids is bound).
    pub fn collect(
        conn: &mut DbConnection,
        placed: &[Placement],
        only: Option<&[EnterpriseId]>,
        since: NaiveDateTime,
    ) -> Result<Self, ApiError> {
        let in_scope =
            || -> Box<dyn BoxableExpression<registrations::table, MultiBackend, SqlType = Bool>> {
                let recent = registrations::created_at.ge(since);
                match only {
                    // The index's columns, in its order.
                    Some(ids) => Box::new(
                        registrations::enterprise_id
                            .eq_any(ids.to_vec())
                            .and(recent),
                    ),
                    None => Box::new(recent),
                }
            };
        let by_status: Vec<StatusRow> = registrations::table
            .filter(in_scope())
            .group_by((registrations::enterprise_id, registrations::status))
            .select((
                registrations::enterprise_id,
                registrations::status,
                count_star(),
                count(registrations::decided_at),
                count(registrations::decided_by),
            ))
            .load(conn)?;
        let expired: Vec<(RegistrationStatus, i64)> = registrations::table
            .filter(in_scope())
            .filter(
                registrations::status
                    .eq_any([RegistrationStatus::Pending, RegistrationStatus::Approved]),
            )
            .filter(registrations::valid_until.lt(now()))
            .group_by(registrations::status)
            .select((registrations::status, count_star()))
            .load(conn)?;
        let day = created_day(conn);
        let mut days: Vec<(String, i64)> = registrations::table
            .filter(in_scope())
            .group_by(day.clone())
            .select((day, count_star()))
            .load(conn)?;
        days.sort();
        let origins: Vec<(String, i64)> = registrations::table
            .filter(in_scope())
            .group_by(registrations::origin_region)
            .select((registrations::origin_region, count_star()))
            .load(conn)?;
        let decisions: Vec<(NaiveDateTime, Option<NaiveDateTime>)> = registrations::table
            .filter(in_scope())
            .filter(registrations::decided_by.is_not_null())
            .filter(registrations::decided_at.is_not_null())
            .order(registrations::decided_at.desc())
            .limit(DECISIONS_SAMPLED)
            .select((registrations::created_at, registrations::decided_at))
            .load(conn)?;
        let waits = decisions
            .into_iter()
            .filter_map(|(created, decided)| decided.map(|decided| decided - created))
            .collect();
        let mut stats = Self::from_rows(placed, &by_status, &expired, &origins);
        stats.days = days;
        stats.decision_times = DecisionTimes::of(waits);
        Ok(stats)
    }

    /// The counts of the grouped rows, rolled up.
    fn from_rows(
        placed: &[Placement],
        by_status: &[StatusRow],
        expired: &[(RegistrationStatus, i64)],
        origins: &[(String, i64)],
    ) -> Self {
        let places: HashMap<&EnterpriseId, &Placement> =
            placed.iter().map(|place| (&place.id, place)).collect();
        let mut statuses: HashMap<RegistrationStatus, i64> = HashMap::new();
        let mut sectors: HashMap<OrgUnitId, i64> = HashMap::new();
        let mut parks: HashMap<OrgUnitId, i64> = HashMap::new();
        let mut stats = Self::default();
        for (enterprise_id, status, filings, decided, by_person) in by_status {
            stats.total += filings;
            stats.decided += decided;
            stats.auto_approved += decided - by_person;
            *statuses.entry(*status).or_default() += filings;
            if let Some(place) = places.get(enterprise_id) {
                *sectors.entry(place.sector_id.clone()).or_default() += filings;
                *parks.entry(place.park_id.clone()).or_default() += filings;
            }
        }
        for (status, count) in expired {
            *statuses.entry(*status).or_default() -= count;
            *statuses.entry(RegistrationStatus::Expired).or_default() += count;
        }
        stats.statuses = RegistrationStatus::ALL
            .iter()
            .filter_map(|status| {
                let count = statuses.get(status).copied().unwrap_or(0);
                (count > 0).then_some((*status, count))
            })
            .collect();
        stats.sectors = most_first(sectors);
        stats.parks = most_first(parks);
        let (provinces, cities) = by_origin(origins);
        stats.provinces = provinces;
        stats.cities = cities;
        stats
    }
}

/// The zone day (`YYYY-MM-DD`) of a registration's filing, in the SQL of the
/// connection's backend: the two have no common function for it.
fn created_day(conn: &DbConnection) -> SqlLiteral<Text> {
    let hours = zone::OFFSET_HOURS;
    match conn {
        DbConnection::Postgresql(_) => sql(&format!(
            "to_char(registrations.created_at + interval '{hours} hours', 'YYYY-MM-DD')"
        )),
        DbConnection::Sqlite(_) => sql(&format!(
            "strftime('%Y-%m-%d', registrations.created_at, '+{hours} hours')"
        )),
    }
}

/// Counts by key, the largest first (then by key, so that the order is stable).
fn most_first<K: Ord>(counts: HashMap<K, i64>) -> Vec<(K, i64)> {
    let mut counts: Vec<(K, i64)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    counts
}

/// Filings per origin code rolled up to provinces (by name) and cities (by
/// [`region::city_name`]). Codes not in the table count nowhere, a province's own
/// code for no city.
fn by_origin(origins: &[(String, i64)]) -> (Named, Named) {
    let mut provinces: HashMap<String, i64> = HashMap::new();
    let mut cities: HashMap<String, i64> = HashMap::new();
    for (code, count) in origins {
        let lineage = region::lineage(code);
        if let Some(province) = lineage.first() {
            *provinces.entry(province.name.to_owned()).or_default() += count;
        }
        if let Some(city) = region::city_name(code) {
            *cities.entry(city).or_default() += count;
        }
    }
    (most_first(provinces), most_first(cities))
}

impl DecisionTimes {
    /// The median and the 90th percentile (nearest rank) of `waits`.
    fn of(mut waits: Vec<TimeDelta>) -> Self {
        waits.sort();
        let rank = |percent: usize| {
            // The smallest wait that at least `percent` % of them do not exceed.
            let at = (waits.len() * percent).div_ceil(100).max(1) - 1;
            waits.get(at).copied()
        };
        Self {
            sampled: waits.len(),
            median: rank(50),
            p90: rank(90),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn minutes(values: &[i64]) -> Vec<TimeDelta> {
        values.iter().map(|m| TimeDelta::minutes(*m)).collect()
    }

    #[test]
    fn decision_times_are_the_nearest_rank_median_and_90th_percentile() {
        let times = DecisionTimes::of(minutes(&[10, 1, 9, 2, 8, 3, 7, 4, 6, 5]));
        assert_eq!(times.sampled, 10);
        assert_eq!(times.median, Some(TimeDelta::minutes(5)));
        assert_eq!(times.p90, Some(TimeDelta::minutes(9)));
        let one = DecisionTimes::of(minutes(&[42]));
        assert_eq!(
            (one.median, one.p90),
            (Some(TimeDelta::minutes(42)), Some(TimeDelta::minutes(42)))
        );
        let none = DecisionTimes::of(Vec::new());
        assert_eq!((none.sampled, none.median, none.p90), (0, None, None));
    }

    #[test]
    fn origins_roll_up_to_provinces_and_cities() {
        let origins = [
            ("350102".to_owned(), 3),
            ("350100".to_owned(), 1),
            ("350000".to_owned(), 2),
            ("110105".to_owned(), 4),
            ("320102".to_owned(), 1),
            ("999999".to_owned(), 7),
        ];
        let (provinces, cities) = by_origin(&origins);
        assert_eq!(
            provinces,
            [
                ("福建省".to_owned(), 6),
                ("北京市".to_owned(), 4),
                ("江苏省".to_owned(), 1)
            ]
        );
        assert_eq!(
            cities,
            [
                ("北京市".to_owned(), 4),
                ("福建省福州市".to_owned(), 4),
                ("江苏省南京市".to_owned(), 1)
            ]
        );
    }

    #[test]
    fn grouped_rows_roll_up_to_statuses_sectors_parks_and_auto_approvals() {
        let place = |id: &str, sector: &str, park: &str| Placement {
            id: EnterpriseId::from(id.to_owned()),
            sector_id: OrgUnitId::from(sector.to_owned()),
            park_id: OrgUnitId::from(park.to_owned()),
        };
        let placed = [place("e1", "s1", "p1"), place("e2", "s2", "p1")];
        let e = |id: &str| EnterpriseId::from(id.to_owned());
        let rows = [
            (e("e1"), RegistrationStatus::Pending, 4, 0, 0),
            (e("e1"), RegistrationStatus::Approved, 3, 3, 1),
            (e("e2"), RegistrationStatus::Rejected, 2, 2, 2),
            (e("e2"), RegistrationStatus::Cancelled, 1, 1, 0),
        ];
        let expired = [(RegistrationStatus::Pending, 1)];
        let stats = FilingStats::from_rows(&placed, &rows, &expired, &[]);
        assert_eq!(stats.total, 10);
        assert_eq!(stats.decided, 6);
        assert_eq!(stats.auto_approved, 3);
        assert_eq!(
            stats.statuses,
            [
                (RegistrationStatus::Pending, 3),
                (RegistrationStatus::Approved, 3),
                (RegistrationStatus::Rejected, 2),
                (RegistrationStatus::Cancelled, 1),
                (RegistrationStatus::Expired, 1),
            ]
        );
        let unit = |id: &str| OrgUnitId::from(id.to_owned());
        assert_eq!(stats.sectors, [(unit("s1"), 7), (unit("s2"), 3)]);
        assert_eq!(stats.parks, [(unit("p1"), 10)]);
    }
}
