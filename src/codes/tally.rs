//! Page opens of codes are counted in memory and written every few seconds, one row
//! per code and day: the counter row of a popular code is then written once per
//! interval instead of by every driver who opens its page, and opening pages in a
//! loop makes no writes at all. Counts not yet written when the process is killed
//! outright (at most [`FLUSH_INTERVAL`] of them) are lost: they are statistics.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::codes::EnterpriseCode;
use crate::db::Db;
use crate::domain::id::CodeId;
use crate::domain::zone;
use crate::error::ApiError;

/// How often counted opens are written.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(2);

/// Opens counted since the last write, by (code id, zone day).
#[derive(Debug, Default)]
pub struct ScanTally {
    pending: Mutex<HashMap<(CodeId, String), i64>>,
}

impl ScanTally {
    fn pending(&self) -> MutexGuard<'_, HashMap<(CodeId, String), i64>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one open of a code now.
    pub fn add(&self, code_id: &CodeId) {
        let day = zone::today_text();
        *self.pending().entry((code_id.to_owned(), day)).or_default() += 1;
    }

    /// Writes what was counted since the last write, in one transaction; on failure
    /// the counts are kept for the next try.
    pub async fn flush(&self, db: &Db) -> Result<(), ApiError> {
        let taken = std::mem::take(&mut *self.pending());
        if taken.is_empty() {
            return Ok(());
        }
        let batch = Arc::new(taken);
        let written = Arc::clone(&batch);
        let result = db
            .write_aside(move |conn| {
                for ((code_id, day), scans) in written.iter() {
                    EnterpriseCode::record_scans(conn, code_id, day, *scans)?;
                }
                Ok(())
            })
            .await;
        if result.is_err() {
            let mut pending = self.pending();
            for (key, scans) in Arc::unwrap_or_clone(batch) {
                *pending.entry(key).or_default() += scans;
            }
        }
        result
    }
}
