//! Rate limits of the public (anonymous) endpoints: per client IP and per enterprise
//! code, in fixed one-minute windows. On PostgreSQL the counters live in the database
//! (`rate_counters`, one upsert per check) so that every replica counts together; a
//! SQLite deployment is one process, which counts in memory.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::Utc;
use diesel::PgConnection;
use diesel::prelude::*;

use crate::db::schema::rate_counters;
use crate::db::{Backend, Db, DbConnection};
use crate::error::ApiError;

/// Length of a window in seconds.
const WINDOW_SECS: i64 = 60;
/// Entries kept in memory before old windows are dropped.
const MEMORY_SWEEP_AT: usize = 50_000;

/// A limit to check: a bucket (`ip:…`, `code:…`) and the hits allowed per window;
/// 0 means no limit.
#[derive(Clone, Debug)]
pub struct Limit {
    /// What is counted.
    pub bucket: String,
    /// Hits allowed per window.
    pub per_minute: u32,
}

/// Counts hits per bucket and window.
pub struct RateLimiter {
    backend: Backend,
    memory: Mutex<HashMap<String, (i64, u32)>>,
}

impl RateLimiter {
    /// A limiter counting where `backend` says.
    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            memory: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one hit in the limit's bucket; 429 `too_many_requests` with the seconds
    /// until the window ends when the bucket is over its limit.
    pub async fn hit(&self, db: &Db, limit: Limit) -> Result<(), ApiError> {
        if limit.per_minute == 0 {
            return Ok(());
        }
        let now = Utc::now().timestamp();
        let window = now - now.rem_euclid(WINDOW_SECS);
        let over = match self.backend {
            Backend::Sqlite => self.hit_memory(&limit, window),
            Backend::Postgres => {
                db.read(move |conn| match conn {
                    DbConnection::Postgresql(pg) => hit_database(pg, &limit, window),
                    DbConnection::Sqlite(_) => Ok(false),
                })
                .await?
            }
        };
        if over {
            let wait = (window + WINDOW_SECS - now).max(1);
            return Err(ApiError::too_many_requests(
                "too_many_requests",
                format!("提交过于频繁，请 {wait} 秒后再试"),
                u64::try_from(wait).unwrap_or(1),
            ));
        }
        Ok(())
    }

    fn hit_memory(&self, limit: &Limit, window: i64) -> bool {
        let mut memory = self
            .memory
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if memory.len() > MEMORY_SWEEP_AT {
            memory.retain(|_, (start, _)| *start == window);
        }
        let entry = memory.entry(limit.bucket.clone()).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        entry.1 > limit.per_minute
    }
}

/// One upsert, outside any transaction: the count is right under concurrency
/// because PostgreSQL serialises the conflicting updates.
fn hit_database(conn: &mut PgConnection, limit: &Limit, window: i64) -> Result<bool, ApiError> {
    let hits: i32 = diesel::insert_into(rate_counters::table)
        .values((
            rate_counters::bucket.eq(&limit.bucket),
            rate_counters::window_start.eq(window),
            rate_counters::hits.eq(1),
        ))
        .on_conflict((rate_counters::bucket, rate_counters::window_start))
        .do_update()
        .set(rate_counters::hits.eq(rate_counters::hits + 1))
        .returning(rate_counters::hits)
        .get_result(conn)?;
    Ok(i64::from(hits) > i64::from(limit.per_minute))
}

/// Forgets windows that ended more than an hour ago (run by the hourly job).
pub fn sweep(conn: &mut DbConnection) -> Result<usize, ApiError> {
    let cutoff = Utc::now().timestamp() - 3600;
    Ok(
        diesel::delete(rate_counters::table.filter(rate_counters::window_start.lt(cutoff)))
            .execute(conn)?,
    )
}
