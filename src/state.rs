//! What every handler shares: the database, token keys, settings, metrics and limits.

use std::sync::Arc;

use crate::audit::VerificationCache;
use crate::auth::passwords::HashingLimit;
use crate::auth::tokens::TokenKeys;
use crate::codes::tally::ScanTally;
use crate::config::Settings;
use crate::console::uploads::PendingImports;
use crate::db::Db;
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
