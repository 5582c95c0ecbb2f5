//! The accounts behind recent access tokens, kept for a moment: every API request
//! checks that its token's user is still active at the token's version, with the
//! role and scope stored now, and at a gate's pace (thousands of check-ins a second)
//! reading that from the database was a fifth of each request's cost. A change made
//! through this replica ([`KnownUsers::forget_all`], called once the change has
//! committed, by [`crate::state::AppState::write_accounts`]) shows at once; another replica's
//! within [`KNOWN_TTL`].
//!
//! A read that began before a change committed may still bring back the account as it
//! was: it is kept only if no change was reported since the read began (each entry
//! carries the generation it was read at), so that it cannot outlive the change.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::db::Db;
use crate::domain::account::{Role, Scope};
use crate::domain::id::UserId;
use crate::error::ApiError;
use crate::users::User;

/// How long an account is believed without reading it again.
pub const KNOWN_TTL: Duration = Duration::from_secs(1);
/// Accounts kept at most; past it the cache starts afresh.
const MAX_ENTRIES: usize = 10_000;

/// What a request's authentication needs of its user.
#[derive(Debug)]
pub struct KnownUser {
    /// User name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// Sectors, parks, enterprise.
    pub scope: Scope,
    /// Enabled.
    pub active: bool,
    /// The version every access token must carry.
    pub token_version: i64,
    /// The user must change the password before doing anything else.
    pub must_change_password: bool,
}

impl KnownUser {
    fn of((user, scope): (User, Scope)) -> Self {
        Self {
            username: user.username,
            role: user.role,
            scope,
            active: user.active,
            token_version: user.token_version,
            must_change_password: user.must_change_password,
        }
    }
}

/// An account as read, when, and at which generation.
#[derive(Debug)]
struct Entry {
    at: Instant,
    generation: u64,
    user: Arc<KnownUser>,
}

/// The accounts read a moment ago, by id.
#[derive(Debug, Default)]
pub struct KnownUsers {
    /// Bumped by every change reported.
    generation: AtomicU64,
    entries: Mutex<HashMap<UserId, Entry>>,
}

impl KnownUsers {
    fn entries(&self) -> MutexGuard<'_, HashMap<UserId, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Forgets every account: one changed (role, scope, status, password or
    /// sessions) and the change has committed.
    pub fn forget_all(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.entries().clear();
    }

    /// The account `id` from the cache, or else from the database (an unknown id is
    /// an error, as the read's).
    pub async fn find(&self, db: &Db, id: &UserId) -> Result<Arc<KnownUser>, ApiError> {
        let generation = self.generation.load(Ordering::SeqCst);
        if let Some(entry) = self.entries().get(id)
            && entry.generation == generation
            && entry.at.elapsed() < KNOWN_TTL
        {
            return Ok(Arc::clone(&entry.user));
        }
        let lookup = id.clone();
        let user = Arc::new(KnownUser::of(
            db.read(move |conn| User::find_with_scope(conn, &lookup))
                .await?,
        ));
        let mut entries = self.entries();
        // A change reported meanwhile may have committed after this read began.
        if self.generation.load(Ordering::SeqCst) == generation {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            let entry = Entry {
                at: Instant::now(),
                generation,
                user: Arc::clone(&user),
            };
            entries.insert(id.clone(), entry);
        }
        Ok(user)
    }
}
