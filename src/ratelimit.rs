//! Rate limits of the public (anonymous) endpoints: per client IP and per enterprise
//! code, in fixed one-minute windows. Every process counts its own hits in memory, in
//! a fixed amount of it whatever the number of clients (a count-min sketch), so a
//! check costs no database round trip and locks no row. A SQLite deployment is one
//! process, so that is all. On PostgreSQL, where replicas must count together, each
//! replica also adds its hits to shared counters (`rate_counters`) every
//! [`SYNC_INTERVAL`], in one statement, and reads back the totals: its checks then
//! count the other replicas' hits too, at most that interval late.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::Utc;
use diesel::QueryableByName;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Text};

use crate::db::schema::rate_counters;
use crate::db::{Backend, Db, DbConnection};
use crate::error::{ApiError, ErrorCode};

/// Length of a window in seconds.
const WINDOW_SECS: i64 = 60;
/// Rows of the in-memory sketch: a bucket is over-counted only when it collides with
/// busier buckets in every row.
const SKETCH_DEPTH: usize = 4;
/// Counters per row (4 x 32768 x 4 bytes: 512 KiB in all).
const SKETCH_WIDTH: usize = 1 << 15;
/// How often a replica adds its hits to the shared counters and reads them back.
pub const SYNC_INTERVAL: Duration = Duration::from_millis(250);
/// Buckets a replica shares per window; past them (thousands of clients a minute) it
/// counts new clients on its own only.
const MAX_SHARED_BUCKETS: usize = 100_000;

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
    own: Mutex<Sketch>,
    shared: Option<Mutex<Shared>>,
}

/// A replica's view of the shared counters of the current window.
#[derive(Default)]
struct Shared {
    window: i64,
    buckets: HashMap<String, Synced>,
}

/// One bucket's shared count: this replica's hits not yet added, those added, the
/// total the counter last had (everyone's), and the bucket's limit.
#[derive(Default)]
struct Synced {
    unsent: u32,
    sent: u32,
    total: u32,
    limit: u32,
}

impl Synced {
    /// Whether the next sync should add to or read back this bucket: it has new hits,
    /// or it is half-way to its limit, where the other replicas' hits start to matter.
    fn due(&self) -> bool {
        self.unsent > 0 || self.total.saturating_add(self.unsent).saturating_mul(2) >= self.limit
    }
}

/// A bucket over its limit: the client may try again after `retry_after_secs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exceeded {
    /// Seconds until the window ends.
    pub retry_after_secs: u64,
}

impl From<Exceeded> for ApiError {
    /// 429 `too_many_requests` with `Retry-After`.
    fn from(exceeded: Exceeded) -> Self {
        let wait = exceeded.retry_after_secs;
        ApiError::new(
            ErrorCode::TooManyRequests,
            format!("提交过于频繁，请 {wait} 秒后再试"),
        )
        .with_retry_after(wait)
    }
}

impl RateLimiter {
    /// A limiter for `backend`: shared counters on PostgreSQL.
    pub fn new(backend: Backend) -> Self {
        Self {
            own: Mutex::new(Sketch::new()),
            shared: (backend == Backend::Postgres).then(|| Mutex::new(Shared::default())),
        }
    }

    /// Counts one hit in the limit's bucket; [`Exceeded`], with the seconds until the
    /// window ends, when the bucket is over its limit.
    pub fn hit(&self, limit: &Limit) -> Result<(), Exceeded> {
        if limit.per_minute == 0 {
            return Ok(());
        }
        let now = Utc::now().timestamp();
        let window = now - now.rem_euclid(WINDOW_SECS);
        let own = lock(&self.own).hit(&limit.bucket, window);
        let others = self
            .shared
            .as_ref()
            .map_or(0, |shared| lock(shared).hit(limit, window));
        if own.saturating_add(others) > limit.per_minute {
            let wait = (window + WINDOW_SECS - now).max(1);
            return Err(Exceeded {
                retry_after_secs: u64::try_from(wait).unwrap_or(1),
            });
        }
        Ok(())
    }

    /// Adds this replica's new hits to the shared counters and reads their totals
    /// back (PostgreSQL; nothing to do on SQLite). Hits whose adding failed are added
    /// at the next sync.
    pub async fn sync(&self, db: &Db) -> Result<(), ApiError> {
        let Some(shared) = &self.shared else {
            return Ok(());
        };
        let (window, buckets, hits) = lock(shared).take_unsent();
        if buckets.is_empty() {
            return Ok(());
        }
        let sent = (buckets.clone(), hits.clone());
        let totals = db
            .write_aside(move |conn| match conn {
                DbConnection::Postgresql(pg) => Ok(diesel::sql_query(
                    "INSERT INTO rate_counters (bucket, window_start, hits) \
                     SELECT bucket, $2, hits FROM unnest($1, $3) AS t(bucket, hits) \
                     ON CONFLICT (bucket, window_start) \
                     DO UPDATE SET hits = rate_counters.hits + excluded.hits \
                     RETURNING bucket, hits",
                )
                .bind::<Array<Text>, _>(&sent.0)
                .bind::<BigInt, _>(window)
                .bind::<Array<Integer>, _>(&sent.1)
                .load::<Counter>(pg)?),
                DbConnection::Sqlite(_) => Ok(Vec::new()),
            })
            .await;
        let mut shared = lock(shared);
        match totals {
            Ok(totals) => {
                shared.record(window, totals);
                Ok(())
            }
            Err(error) => {
                shared.give_back(window, buckets, hits);
                Err(error)
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A shared counter's total, as the sync reads it back.
#[derive(QueryableByName)]
struct Counter {
    #[diesel(sql_type = Text)]
    bucket: String,
    #[diesel(sql_type = Integer)]
    hits: i32,
}

impl Shared {
    /// Counts a hit to be shared; the other replicas' hits last seen in the bucket.
    fn hit(&mut self, limit: &Limit, window: i64) -> u32 {
        if self.window != window {
            self.window = window;
            self.buckets.clear();
        }
        if let Some(synced) = self.buckets.get_mut(&limit.bucket) {
            synced.unsent = synced.unsent.saturating_add(1);
            return synced.total.saturating_sub(synced.sent);
        }
        if self.buckets.len() < MAX_SHARED_BUCKETS {
            let first = Synced {
                unsent: 1,
                limit: limit.per_minute,
                ..Synced::default()
            };
            self.buckets.insert(limit.bucket.clone(), first);
        }
        0
    }

    /// The buckets due to be synced and the hits to add to each (moved from unsent to
    /// sent).
    fn take_unsent(&mut self) -> (i64, Vec<String>, Vec<i32>) {
        let (mut buckets, mut hits) = (Vec::new(), Vec::new());
        for (bucket, synced) in &mut self.buckets {
            if synced.due() {
                buckets.push(bucket.clone());
                hits.push(i32::try_from(synced.unsent).unwrap_or(i32::MAX));
                synced.sent = synced.sent.saturating_add(synced.unsent);
                synced.unsent = 0;
            }
        }
        (self.window, buckets, hits)
    }

    /// Takes the totals read back, unless the window has moved on meanwhile.
    fn record(&mut self, window: i64, totals: Vec<Counter>) {
        if self.window != window {
            return;
        }
        for counter in totals {
            if let Some(synced) = self.buckets.get_mut(&counter.bucket) {
                synced.total = u32::try_from(counter.hits).unwrap_or(0);
            }
        }
    }

    /// Hits whose adding failed, to be added at the next sync.
    fn give_back(&mut self, window: i64, buckets: Vec<String>, hits: Vec<i32>) {
        if self.window != window {
            return;
        }
        for (bucket, count) in buckets.into_iter().zip(hits) {
            if let Some(synced) = self.buckets.get_mut(&bucket) {
                let count = u32::try_from(count).unwrap_or(0);
                synced.sent = synced.sent.saturating_sub(count);
                synced.unsent = synced.unsent.saturating_add(count);
            }
        }
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

    fn limit(bucket: &str, per_minute: u32) -> Limit {
        Limit {
            bucket: bucket.into(),
            per_minute,
        }
    }

    #[test]
    fn a_replica_adds_its_hits_once_and_counts_the_others_it_reads_back() {
        let mut shared = Shared::default();
        let (busy, quiet) = (limit("ip:busy", 4), limit("ip:quiet", 1000));
        assert_eq!(shared.hit(&busy, 60), 0);
        assert_eq!(shared.hit(&busy, 60), 0);
        shared.hit(&quiet, 60);
        let (window, buckets, hits) = shared.take_unsent();
        assert_eq!(window, 60);
        let mut sent: Vec<(String, i32)> = buckets.into_iter().zip(hits).collect();
        sent.sort();
        assert_eq!(sent, [("ip:busy".into(), 2), ("ip:quiet".into(), 1)]);
        // Another replica added 3 meanwhile.
        let totals = vec![Counter {
            bucket: "ip:busy".into(),
            hits: 5,
        }];
        shared.record(60, totals);
        assert_eq!(shared.hit(&busy, 60), 3, "the others' hits");
        // Half-way to its limit, a bucket is read back even without new hits; a quiet
        // one is not.
        let (_, buckets, hits) = shared.take_unsent();
        assert_eq!((buckets, hits), (vec!["ip:busy".to_owned()], vec![1]));
        let (_, buckets, _) = shared.take_unsent();
        assert_eq!(buckets, ["ip:busy"]);
        // Hits whose adding failed are added next time; a new window starts afresh.
        shared.give_back(60, vec!["ip:busy".into()], vec![1]);
        assert_eq!(shared.take_unsent().2, [1]);
        assert_eq!(shared.hit(&busy, 120), 0);
        assert_eq!(shared.take_unsent().2, [1]);
    }

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
