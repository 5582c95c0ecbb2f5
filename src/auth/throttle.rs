//! Login throttling per account and per client IP. Failures live in the database so
//! that every replica sees the same counts.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use crate::db::schema::login_failures;
use crate::db::{DbConnection, new_id};
use crate::error::ApiError;

/// A counter key and how many failures it may have within the window.
#[derive(Clone, Debug)]
pub struct Limit {
    /// `account:NAME` or `ip:ADDRESS`.
    pub key: String,
    /// Failures allowed within the window.
    pub max_failures: u32,
}

/// The keys of a login attempt.
pub fn limits(username: &str, ip: &str, per_account: u32, per_ip: u32) -> [Limit; 2] {
    [
        Limit {
            key: format!("account:{}", username.trim().to_lowercase()),
            max_failures: per_account,
        },
        Limit {
            key: format!("ip:{ip}"),
            max_failures: per_ip,
        },
    ]
}

/// Seconds until the next attempt is allowed, if any limit is reached.
pub fn retry_after(
    conn: &mut DbConnection,
    limits: &[Limit],
    window: TimeDelta,
    now: NaiveDateTime,
) -> Result<Option<u64>, ApiError> {
    let mut wait: Option<i64> = None;
    for limit in limits {
        let offset = i64::from(limit.max_failures.saturating_sub(1));
        // The max_failures-th most recent failure: while it is inside the window, the
        // limit is reached, until it leaves the window.
        let oldest_counted: Option<NaiveDateTime> = login_failures::table
            .filter(login_failures::throttle_key.eq(&limit.key))
            .filter(login_failures::failed_at.gt(now - window))
            .select(login_failures::failed_at)
            .order(login_failures::failed_at.desc())
            .offset(offset)
            .first(conn)
            .optional()?;
        if let Some(at) = oldest_counted {
            let seconds = (at + window - now).num_seconds().max(1);
            wait = Some(wait.map_or(seconds, |w| w.max(seconds)));
        }
    }
    Ok(wait.map(|seconds| seconds as u64))
}

/// Records a failed attempt under every key and forgets failures older than the window.
pub fn record_failure(
    conn: &mut DbConnection,
    limits: &[Limit],
    window: TimeDelta,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    diesel::delete(login_failures::table.filter(login_failures::failed_at.le(now - window)))
        .execute(conn)?;
    for limit in limits {
        diesel::insert_into(login_failures::table)
            .values((
                login_failures::id.eq(new_id()),
                login_failures::throttle_key.eq(&limit.key),
                login_failures::failed_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// After a successful sign-in the account's failures no longer count.
pub fn clear_account(conn: &mut DbConnection, limits: &[Limit]) -> Result<(), ApiError> {
    if let Some(account) = limits
        .iter()
        .find(|limit| limit.key.starts_with("account:"))
    {
        diesel::delete(login_failures::table.filter(login_failures::throttle_key.eq(&account.key)))
            .execute(conn)?;
    }
    Ok(())
}
