//! The registration form behind a scanned code: the code, its enterprise, the two
//! templates of the form and the enterprise's registration settings, kept for a
//! moment. Every page open and every registration needs it, and it rarely changes. A
//! change made through this replica clears the cache at once; another replica's shows
//! within [`CACHE_TTL`]. This spares each registration a pooled connection and four
//! queries (deploy/bench/register.sh measures it).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::codes::{self, EnterpriseCode};
use crate::db::Db;
use crate::domain::text::stored_token;
use crate::enterprises::Enterprise;
use crate::error::ApiError;
use crate::forms::template::{self, TemplateView};
use crate::registrations::settings;

/// Said when a rotated code is scanned.
pub const REPLACED: &str = "此码已更换，请扫描企业门口的新码。";
/// Said when registrations through a code are paused.
pub const PAUSED: &str = "该企业暂停接受外来车辆登记，请联系企业门岗。";

/// How long a scanned token's answer is kept.
pub const CACHE_TTL: Duration = Duration::from_secs(1);
/// Tokens kept at most; past it the cache starts afresh.
const MAX_ENTRIES: usize = 10_000;

/// What a scanned token leads to: the code (in any state), its enterprise, the form's
/// two templates and whether the enterprise approves at once.
#[derive(Debug)]
pub struct CodeForm {
    /// The code.
    pub code: EnterpriseCode,
    /// Its enterprise.
    pub enterprise: Enterprise,
    /// The zone's current template.
    pub zone: TemplateView,
    /// The enterprise's own current template.
    pub own: TemplateView,
    /// Whether the enterprise approves registrations at once.
    pub auto_approve: bool,
}

impl CodeForm {
    /// Whether the code was replaced by a newer one.
    pub fn replaced(&self) -> bool {
        self.code.retired_at.is_some()
    }

    /// Whether the code takes registrations (see [`codes::accepting`]).
    pub fn accepting(&self) -> bool {
        codes::accepting(&self.code, &self.enterprise)
    }
}

/// The forms behind scanned tokens, by (upper-case) token.
#[derive(Debug, Default)]
pub struct CodeForms {
    entries: Mutex<HashMap<String, (Instant, Arc<CodeForm>)>>,
}

impl CodeForms {
    fn entries(&self) -> MutexGuard<'_, HashMap<String, (Instant, Arc<CodeForm>)>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn get(&self, token: &str) -> Option<Arc<CodeForm>> {
        self.entries()
            .get(token)
            .filter(|(at, _)| at.elapsed() < CACHE_TTL)
            .map(|(_, form)| Arc::clone(form))
    }

    fn put(&self, token: String, form: Arc<CodeForm>) {
        let mut entries = self.entries();
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(token, (Instant::now(), form));
    }

    /// Forgets every answer: a code, an enterprise, a template or a registration
    /// setting changed.
    pub fn forget_all(&self) {
        self.entries().clear();
    }

    /// Looks up a scanned token (case-blind) without counting the scan, in one read
    /// or from the cache; `None` when no code has the token.
    pub async fn find(&self, db: &Db, token: &str) -> Result<Option<Arc<CodeForm>>, ApiError> {
        let Some(token) = stored_token(token) else {
            return Ok(None);
        };
        if let Some(hit) = self.get(&token) {
            return Ok(Some(hit));
        }
        let key = token.clone();
        let found = db
            .read(move |conn| {
                let Some((code, enterprise)) = EnterpriseCode::by_token(conn, &key)? else {
                    return Ok(None);
                };
                let (zone, own) = template::current_pair(conn, &enterprise.id)?;
                let auto_approve = settings::auto_approves(conn, &enterprise.id)?;
                Ok(Some(Arc::new(CodeForm {
                    code,
                    enterprise,
                    zone,
                    own,
                    auto_approve,
                })))
            })
            .await?;
        if let Some(form) = &found {
            self.put(token, Arc::clone(form));
        }
        Ok(found)
    }
}
