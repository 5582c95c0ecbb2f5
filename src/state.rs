//! What every handler shares: the database, token keys, settings, metrics and limits.

use std::sync::Arc;

use crate::audit::VerificationCache;
use crate::auth::known::KnownUsers;
use crate::auth::passwords::HashingLimit;
use crate::auth::tokens::TokenKeys;
use crate::codes::tally::ScanTally;
use crate::config::Settings;
use crate::console::uploads::PendingImports;
use crate::db::{Db, DbConnection};
use crate::error::ApiError;
use crate::gate::offline::PassSigner;
use crate::heavy::HeavyWork;
use crate::personal::Vault;
use crate::ratelimit::RateLimiter;
use crate::registrations::open::CodeForms;
use crate::survey::coverage::LedgerCache;
use crate::telemetry::Metrics;
use crate::web::pass_qr::PassQrs;

/// Shared application state, cloned cheaply into every worker.
#[derive(Clone)]
pub struct AppState {
    /// Database pools.
    pub db: Db,
    /// Access token keys.
    pub tokens: Arc<TokenKeys>,
    /// The accounts behind recent access tokens, a moment ago.
    pub known_users: Arc<KnownUsers>,
    /// Settings, read once.
    pub settings: Arc<Settings>,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Seals and indexes personal data.
    pub vault: Vault,
    /// Rate limits of the public endpoints.
    pub limits: Arc<RateLimiter>,
    /// Pass QR codes already drawn.
    pub pass_qrs: Arc<PassQrs>,
    /// Signs passes and revocation lists for gates without network.
    pub signer: Arc<PassSigner>,
    /// Code page opens not yet written.
    pub scans: Arc<ScanTally>,
    /// The registration forms behind scanned tokens, a moment ago.
    pub code_forms: Arc<CodeForms>,
    /// The survey ledger's counts of each campaign, while its cases are unchanged.
    pub ledgers: Arc<LedgerCache>,
    /// Limits of poster bundles and roster imports.
    pub heavy: Arc<HeavyWork>,
    /// The last verification of the audit chain.
    pub verification: Arc<VerificationCache>,
    /// The cap on password hashes running at once.
    pub hashing: HashingLimit,
    /// Roster files the console previewed, waiting for their confirmation.
    pub console_imports: Arc<PendingImports>,
}

impl AppState {
    /// Runs `f` as [`crate::db::Db::write`] does, for a write that may change an
    /// account's role, scope, status, password or sessions: once it has committed (or
    /// failed), the accounts behind recent tokens are read afresh, so that the change
    /// holds for the very next request.
    pub async fn write_accounts<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    {
        let written = self.db.write(f).await;
        self.known_users.forget_all();
        written
    }
}
