//! Login throttling. Failures live in the database so that every replica sees the
//! same counts.
//!
//! A sign-in from an unknown client is counted per (account, IP), per IP and per
//! account; IPv6 addresses count by /64. The first two are hard limits. The account-wide
//! count, which anyone can run up from many addresses, only makes new clients wait a
//! doubling delay after the latest failure, and blocks them at a much higher limit. A
//! browser that signed in to the account before (a device, see [`devices`]) is counted
//! per (account, device) only, so guesses from elsewhere never lock the user out.
//!
//! An attempt reserves its failure before the password is checked: the check and the
//! insert run in one write transaction, serialised per counter, so that a burst of
//! concurrent attempts cannot all pass a check that counts only finished ones. A
//! successful sign-in takes its reservation back and clears the client's and the
//! account's failures; a failed one settles it. A limit reached only because of
//! attempts still in flight asks for a second's wait, not the window's.
//!
//! [`devices`]: crate::auth::devices

use chrono::{NaiveDateTime, TimeDelta};
use diesel::dsl::{count_star, max};
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use sha2::{Digest, Sha256};

use crate::config::Settings;
use crate::db::schema::login_failures;
use crate::db::{DbConnection, new_id};
use crate::error::ApiError;

/// The longest account-wide delay between attempts of new clients.
const MAX_DELAY_SECS: i64 = 60;
/// A reservation still pending after this long belongs to an attempt that never
/// finished (a crash): it counts as a failure like any other.
const IN_FLIGHT_SECS: i64 = 30;

/// The limits of the settings.
#[derive(Clone, Copy, Debug)]
pub struct LoginLimits {
    /// Failures per (account, IP) and per (account, device); past as many failures
    /// of the account from anywhere, the delay starts.
    pub per_client: u32,
    /// Failures per IP.
    pub per_ip: u32,
    /// Failures per account before new clients are blocked.
    pub per_account: u32,
    /// How long a failure counts.
    pub window: TimeDelta,
}

impl LoginLimits {
    /// The limits the settings name.
    pub fn new(settings: &Settings) -> Result<Self, ApiError> {
        Ok(Self {
            per_client: settings.login_max_failures_per_account_ip,
            per_ip: settings.login_max_failures_per_ip,
            per_account: settings.login_max_failures_per_account,
            window: TimeDelta::from_std(settings.login_window()).map_err(ApiError::internal)?,
        })
    }
}

/// Where a sign-in attempt comes from.
#[derive(Clone, Copy, Debug)]
pub enum Client<'a> {
    /// An unknown client: its IP bucket (`ip_bucket`).
    Address(&'a str),
    /// A device that signed in to the account before: its id.
    Device(&'a str),
}

/// How a counter limits attempts.
#[derive(Clone, Copy, Debug)]
enum Rule {
    /// At most this many failures within the window.
    Limit(u32),
    /// Past this many failures within the window, each attempt waits 1, 2, 4 …
    /// (at most [`MAX_DELAY_SECS`]) seconds after the latest failure.
    Delay(u32),
}

/// A key failures are counted under, and its rule.
#[derive(Debug)]
struct Counter {
    key: String,
    rule: Rule,
}

/// The counter of the client's own failures for the account.
fn client_key(username: &str, client: Client<'_>) -> String {
    match client {
        // An IP bucket holds no `|`: the key names one pair.
        Client::Address(ip) => format!("account_ip:{ip}|{username}"),
        Client::Device(id) => format!("device:{id}"),
    }
}

fn account_key(username: &str) -> String {
    format!("account:{username}")
}

fn counters(username: &str, client: Client<'_>, limits: &LoginLimits) -> Vec<Counter> {
    let own = Counter {
        key: client_key(username, client),
        rule: Rule::Limit(limits.per_client),
    };
    let Client::Address(ip) = client else {
        return vec![own];
    };
    let account = account_key(username);
    vec![
        own,
        Counter {
            key: format!("ip:{ip}"),
            rule: Rule::Limit(limits.per_ip),
        },
        Counter {
            key: account.clone(),
            rule: Rule::Limit(limits.per_account),
        },
        Counter {
            key: account,
            rule: Rule::Delay(limits.per_client),
        },
    ]
}

/// A failure recorded in advance.
#[derive(Debug)]
pub struct Reservation {
    ids: Vec<String>,
    /// The counters a success clears: the client's own and the account's.
    cleared: [String; 2],
}

/// Whether an attempt may go on to the password check.
#[derive(Debug)]
pub enum Admission {
    /// Yes; its failure is recorded already.
    Reserved(Reservation),
    /// No: a limit is reached for this many more seconds.
    Throttled {
        /// Seconds until the attempt would be allowed.
        retry_after_secs: u64,
    },
}

/// In the caller's write transaction: checks an attempt of `username` (trimmed, lower
/// case) from `client` against every counter and, when no limit is reached, records its
/// failure under each in advance.
pub fn reserve(
    conn: &mut DbConnection,
    username: &str,
    client: Client<'_>,
    limits: &LoginLimits,
    now: NaiveDateTime,
) -> Result<Admission, ApiError> {
    let counters = counters(username, client, limits);
    let mut keys: Vec<&str> = counters.iter().map(|c| c.key.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    lock(conn, &keys)?;
    let mut wait: Option<u64> = None;
    for counter in &counters {
        if let Some(seconds) = retry_after(conn, counter, limits.window, now)? {
            wait = Some(wait.map_or(seconds, |w| w.max(seconds)));
        }
    }
    if let Some(retry_after_secs) = wait {
        return Ok(Admission::Throttled { retry_after_secs });
    }
    let mut ids = Vec::with_capacity(keys.len());
    for key in keys {
        let id = new_id();
        diesel::insert_into(login_failures::table)
            .values((
                login_failures::id.eq(&id),
                login_failures::throttle_key.eq(key),
                login_failures::failed_at.eq(now),
                login_failures::pending.eq(true),
            ))
            .execute(conn)?;
        ids.push(id);
    }
    Ok(Admission::Reserved(Reservation {
        ids,
        cleared: [client_key(username, client), account_key(username)],
    }))
}

/// After a successful sign-in: takes the reservation back and forgets the failures of
/// the client and of the account, so that a user's occasional typos never add up to a
/// delay. The IP's failures stay: other accounts may have been guessed from there.
///
/// Two sign-ins of one account that succeed at once each delete their own row and
/// then the other's, which on PostgreSQL can deadlock (and fail one with a 500): the
/// keys are locked first, as [`reserve`] locks them, so they take turns.
pub fn release(conn: &mut DbConnection, reservation: &Reservation) -> Result<(), ApiError> {
    let keys: Vec<&str> = reservation.cleared.iter().map(String::as_str).collect();
    lock(conn, &keys)?;
    diesel::delete(login_failures::table.filter(login_failures::id.eq_any(&reservation.ids)))
        .execute(conn)?;
    diesel::delete(
        login_failures::table.filter(login_failures::throttle_key.eq_any(&reservation.cleared)),
    )
    .execute(conn)?;
    Ok(())
}

/// After a wrong password: the reserved failure is settled.
pub fn settle(conn: &mut DbConnection, reservation: &Reservation) -> Result<(), ApiError> {
    diesel::update(login_failures::table.filter(login_failures::id.eq_any(&reservation.ids)))
        .set(login_failures::pending.eq(false))
        .execute(conn)?;
    Ok(())
}

/// Forgets failures that left the window (run by the hourly job). Not part of a
/// sign-in: on PostgreSQL concurrent sign-ins deleting the same old rows could
/// deadlock.
pub fn sweep(
    conn: &mut DbConnection,
    window: TimeDelta,
    now: NaiveDateTime,
) -> Result<usize, ApiError> {
    Ok(
        diesel::delete(login_failures::table.filter(login_failures::failed_at.le(now - window)))
            .execute(conn)?,
    )
}

/// On PostgreSQL, concurrent transactions would each count the failures before any of
/// them inserts its own: attempts are serialised per key with transaction-scoped
/// advisory locks, taken in the order of their lock ids so that two attempts never
/// wait on each other. SQLite's one writer already runs write transactions one at a
/// time.
fn lock(conn: &mut DbConnection, keys: &[&str]) -> Result<(), ApiError> {
    match conn {
        DbConnection::Postgresql(pg) => {
            let mut ids: Vec<i64> = keys.iter().map(|key| lock_id(key)).collect();
            ids.sort_unstable();
            ids.dedup();
            for id in ids {
                diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
                    .bind::<BigInt, _>(id)
                    .execute(pg)?;
            }
        }
        DbConnection::Sqlite(_) => {}
    }
    Ok(())
}

/// A 64-bit advisory lock id for a key (the first bytes of its SHA-256).
fn lock_id(key: &str) -> i64 {
    let digest = Sha256::digest(format!("login_failures:{key}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// Seconds until a counter allows the next attempt, if it does not now.
fn retry_after(
    conn: &mut DbConnection,
    counter: &Counter,
    window: TimeDelta,
    now: NaiveDateTime,
) -> Result<Option<u64>, ApiError> {
    let counted = login_failures::table
        .filter(login_failures::throttle_key.eq(&counter.key))
        .filter(login_failures::failed_at.gt(now - window));
    let allowed_from = match counter.rule {
        Rule::Limit(max_failures) => {
            // The max_failures-th most recent failure: while it is inside the window,
            // the limit is reached, until it leaves the window.
            let offset = i64::from(max_failures.saturating_sub(1));
            let reached = counted
                .select(login_failures::failed_at)
                .order(login_failures::failed_at.desc())
                .offset(offset)
                .first::<NaiveDateTime>(conn)
                .optional()?
                .is_some();
            if !reached {
                return Ok(None);
            }
            let settled = counted
                .filter(
                    login_failures::pending
                        .eq(false)
                        .or(login_failures::failed_at.le(now - TimeDelta::seconds(IN_FLIGHT_SECS))),
                )
                .select(login_failures::failed_at)
                .order(login_failures::failed_at.desc())
                .offset(offset)
                .first::<NaiveDateTime>(conn)
                .optional()?;
            // Reached only with attempts in flight: they finish within a second.
            Some(settled.map_or(now + TimeDelta::seconds(1), |at| at + window))
        }
        Rule::Delay(free) => {
            let (failures, latest): (i64, Option<NaiveDateTime>) = counted
                .select((count_star(), max(login_failures::failed_at)))
                .first(conn)?;
            let excess = failures - i64::from(free);
            latest
                .filter(|_| excess > 0)
                .map(|at| at + TimeDelta::seconds(delay_secs(excess)))
        }
    };
    Ok(allowed_from
        .map(|at| at - now)
        .filter(|wait| *wait > TimeDelta::zero())
        .map(|wait| wait.num_milliseconds().unsigned_abs().div_ceil(1000)))
}

/// The account-wide delay after `excess` failures past the free ones: 1, 2, 4 … s.
fn delay_secs(excess: i64) -> i64 {
    let doublings = u32::try_from(excess.saturating_sub(1))
        .unwrap_or(u32::MAX)
        .min(6);
    (1_i64 << doublings).min(MAX_DELAY_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_doubles_up_to_a_minute() {
        let delays: Vec<i64> = (1..=9).map(delay_secs).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(delay_secs(i64::MAX), 60);
    }

    #[test]
    fn a_device_is_counted_on_its_own_and_an_address_three_ways() {
        let limits = LoginLimits {
            per_client: 5,
            per_ip: 20,
            per_account: 100,
            window: TimeDelta::minutes(15),
        };
        let keys = |client| -> Vec<String> {
            counters("li", client, &limits)
                .into_iter()
                .map(|c| c.key)
                .collect()
        };
        assert_eq!(keys(Client::Device("d1")), ["device:d1"]);
        assert_eq!(
            keys(Client::Address("2001:db8::/64")),
            [
                "account_ip:2001:db8::/64|li",
                "ip:2001:db8::/64",
                "account:li",
                "account:li"
            ]
        );
    }
}
