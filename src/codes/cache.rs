//! What a scanned token leads to (the code, its enterprise, the two templates of the
//! form and the enterprise's registration settings), kept for a moment: every page
//! open and every registration needs it, and it rarely changes. A change made through
//! this replica clears the cache at once; another replica's shows within
//! [`CACHE_TTL`]. This spares each registration a pooled connection and four queries
//! (deploy/bench/register.sh measures it).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::codes::Scanned;

/// How long a scanned token's answer is kept.
pub const CACHE_TTL: Duration = Duration::from_secs(1);
/// Tokens kept at most; past it the cache starts afresh.
const MAX_ENTRIES: usize = 10_000;

/// Scanned tokens by (upper-case) token.
#[derive(Debug, Default)]
pub struct ScannedCodes {
    entries: Mutex<HashMap<String, (Instant, Arc<Scanned>)>>,
}

impl ScannedCodes {
    fn entries(&self) -> MutexGuard<'_, HashMap<String, (Instant, Arc<Scanned>)>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A token's answer, if read within [`CACHE_TTL`].
    pub fn get(&self, token: &str) -> Option<Arc<Scanned>> {
        self.entries()
            .get(token)
            .filter(|(at, _)| at.elapsed() < CACHE_TTL)
            .map(|(_, scanned)| Arc::clone(scanned))
    }

    /// Keeps a token's answer.
    pub fn put(&self, token: String, scanned: Arc<Scanned>) {
        let mut entries = self.entries();
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(token, (Instant::now(), scanned));
    }

    /// Forgets every answer: a code, an enterprise, a template or a registration
    /// setting changed.
    pub fn forget_all(&self) {
        self.entries().clear();
    }
}
