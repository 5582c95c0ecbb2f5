//! Rate limits of the public (anonymous) endpoints: per client IP and per enterprise
//! code, in fixed one-minute windows. On PostgreSQL the counters live in the database
//! (`rate_counters`, one upsert per check) so that every replica counts together; a
//! SQLite deployment is one process, which counts in memory, in a fixed amount of it
//! whatever the number of clients (a count-min sketch).

use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;

use chrono::Utc;
use diesel::PgConnection;
use diesel::prelude::*;

use crate::db::schema::rate_counters;
use crate::db::{Backend, Db, DbConnection};
use crate::error::ApiError;

/// Length of a window in seconds.
const WINDOW_SECS: i64 = 60;
/// Rows of the in-memory sketch: a bucket is over-counted only when it collides with
/// busier buckets in every row.
const SKETCH_DEPTH: usize = 4;
/// Counters per row (4 x 32768 x 4 bytes: 512 KiB in all).
const SKETCH_WIDTH: usize = 1 << 15;

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
    memory: Mutex<Sketch>,
}

impl RateLimiter {
    /// A limiter counting where `backend` says.
    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            memory: Mutex::new(Sketch::new()),
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
        self.memory
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .hit(&limit.bucket, window)
            > limit.per_minute
    }
}

/// The current window's counts in fixed memory: a count-min sketch with conservative
/// update. Each bucket maps to one counter per row (keyed by a per-process random
/// hash, so that nobody can aim collisions); its count is the least of them, never
/// below the truth and above it only when every row collides with busier buckets.
struct Sketch {
    window: i64,
    hasher: RandomState,
    counters: Vec<u32>,
}

impl Sketch {
    fn new() -> Self {
        Self {
            window: i64::MIN,
            hasher: RandomState::new(),
            counters: vec![0; SKETCH_DEPTH * SKETCH_WIDTH],
        }
    }

    /// Counts one hit of `bucket` in `window` and returns its count there.
    fn hit(&mut self, bucket: &str, window: i64) -> u32 {
        if self.window != window {
            self.counters.fill(0);
            self.window = window;
        }
        let cells: [usize; SKETCH_DEPTH] = std::array::from_fn(|row| {
            let hash = self.hasher.hash_one((row, bucket));
            row * SKETCH_WIDTH + (hash % SKETCH_WIDTH as u64) as usize
        });
        let count = cells
            .iter()
            .map(|&cell| self.counters[cell])
            .min()
            .unwrap_or_default()
            .saturating_add(1);
        for cell in cells {
            self.counters[cell] = self.counters[cell].max(count);
        }
        count
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sketch_counts_each_bucket_in_fixed_memory_and_forgets_old_windows() {
        let mut sketch = Sketch::new();
        // A hundred thousand clients once each, as from a spread of addresses...
        for n in 0..100_000 {
            sketch.hit(
                &format!("ip:10.{}.{}.{}", n / 65536, n / 256 % 256, n % 256),
                60,
            );
        }
        assert_eq!(
            sketch.counters.len(),
            SKETCH_DEPTH * SKETCH_WIDTH,
            "no growth"
        );
        // ...neither hide a busy bucket's count nor push a new client near a limit.
        let busy: Vec<u32> = (0..61).map(|_| sketch.hit("ip:busy", 60)).collect();
        assert!(busy[59] >= 60 && busy[60] > 60, "{busy:?}");
        assert!(sketch.hit("ip:newcomer", 60) < 10);
        // The next window starts from zero.
        assert_eq!(sketch.hit("ip:busy", 120), 1);
    }
}
