//! `/api/v1/audit`: read and verify the chain.

use actix_web::web;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::{self, AuditEntry, AuditFilter, Linking, Verification};
use crate::error::{ApiError, FieldError};
use crate::pagination::{Page, PageRequest};
use crate::state::AppState;

/// Query of the list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    limit: Option<i64>,
    cursor: Option<String>,
    action: Option<String>,
    actor_id: Option<String>,
    object_type: Option<String>,
    object_id: Option<String>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
}

/// An entry as the API shows it.
#[derive(Debug, Serialize)]
pub struct AuditEntryView {
    seq: i64,
    at: DateTime<Utc>,
    actor_id: Option<String>,
    actor_name: Option<String>,
    actor_role: Option<String>,
    action: String,
    object_type: Option<String>,
    object_id: Option<String>,
    ip: Option<String>,
    outcome: String,
    details: serde_json::Value,
    prev_hash: String,
    hash: String,
}

impl From<AuditEntry> for AuditEntryView {
    fn from(entry: AuditEntry) -> Self {
        Self {
            seq: entry.seq,
            at: entry.at.and_utc(),
            actor_id: entry.actor_id,
            actor_name: entry.actor_name,
            actor_role: entry.actor_role,
            action: entry.action,
            object_type: entry.object_type,
            object_id: entry.object_id,
            ip: entry.ip,
            outcome: entry.outcome,
            details: serde_json::from_str(&entry.details).unwrap_or(serde_json::Value::Null),
            prev_hash: entry.prev_hash,
            hash: entry.hash,
        }
    }
}

/// `GET /api/v1/audit`: newest first, filtered.
pub async fn list_audit(
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<web::Json<Page<AuditEntryView>>, ApiError> {
    let query = query.into_inner();
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let before = page
        .after
        .as_deref()
        .map(|raw| {
            raw.parse::<i64>().map_err(|_| {
                ApiError::validation(vec![FieldError::new(
                    "cursor",
                    "invalid_cursor",
                    "分页游标无效，请从第一页重新查询",
                )])
            })
        })
        .transpose()?;
    let filter = AuditFilter {
        action: query.action,
        actor_id: query.actor_id,
        object_type: query.object_type,
        object_id: query.object_id,
        from: query.from.map(|t| t.naive_utc()),
        to: query.to.map(|t| t.naive_utc()),
    };
    let rows = recent_entries(&state, filter, before, page.fetch()).await?;
    let views = rows.into_iter().map(AuditEntryView::from).collect();
    Ok(web::Json(page.page(views, |entry| entry.seq.to_string())))
}

/// The newest linked entries matching `filter`, before sequence number `before` (the
/// list of the API and of the console).
pub async fn recent_entries(
    state: &AppState,
    filter: AuditFilter,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditEntry>, ApiError> {
    // Entries written a moment ago are linked first, so that the list shows them.
    state
        .db
        .write_aside(|conn| audit::link(conn, Linking::Wait))
        .await?;
    state
        .db
        .read(move |conn| audit::list(conn, &filter, before, limit))
        .await
}

/// `GET /api/v1/audit/verify`: recomputes the chain and reports the first broken link
/// (one check at a time; an unchanged chain is answered from the last check for up to
/// a minute).
pub async fn verify_audit(state: web::Data<AppState>) -> Result<web::Json<Verification>, ApiError> {
    Ok(web::Json(state.verification.verify(&state.db).await?))
}
