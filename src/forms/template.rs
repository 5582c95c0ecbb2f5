//! Stored form templates: every save is a new version; the newest one is current.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::form_templates;
use crate::db::{DbConnection, new_id, now, on_backend};
use crate::domain::id::EnterpriseId;
use crate::domain::id::UserId;
use crate::error::ApiError;
use crate::forms::fields::Fields;

/// Whose extra fields a template holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplateScope {
    /// The zone's fields, asked at every enterprise.
    Zone,
    /// One enterprise's own fields.
    Enterprise(EnterpriseId),
}

impl TemplateScope {
    fn key(&self) -> &str {
        match self {
            TemplateScope::Zone => "zone",
            TemplateScope::Enterprise(id) => id.as_str(),
        }
    }
}

/// A template version as the API shows it.
#[derive(Clone, Debug, Serialize)]
pub struct TemplateView {
    /// 0 before the first save.
    pub version: i32,
    /// The extra fields, in order.
    pub fields: Fields,
    /// When this version was saved.
    pub updated_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The current version of a scope's template (version 0, no fields, when never saved).
pub fn current(conn: &mut DbConnection, scope: &TemplateScope) -> Result<TemplateView, ApiError> {
    // The newest version by MAX, not ORDER BY … LIMIT: SQLite plans a statement with
    // a bound LIMIT anew on every run, and every public registration reads this.
    let newest: Option<i32> = on_backend!(conn, |c| {
        form_templates::table
            .filter(form_templates::scope.eq(scope.key()))
            .select(diesel::dsl::max(form_templates::version))
            .get_result(c)
    })?;
    let Some(newest) = newest else {
        return Ok(TemplateView {
            version: 0,
            fields: Fields::default(),
            updated_at: None,
        });
    };
    let row: Option<(i32, String, NaiveDateTime)> = on_backend!(conn, |c| {
        form_templates::table
            .filter(form_templates::scope.eq(scope.key()))
            .filter(form_templates::version.eq(newest))
            .select((
                form_templates::version,
                form_templates::fields,
                form_templates::created_at,
            ))
            .get_result(c)
            .optional()
    })?;
    match row {
        None => Ok(TemplateView {
            version: 0,
            fields: Fields::default(),
            updated_at: None,
        }),
        Some((version, fields, at)) => Ok(TemplateView {
            version,
            fields: Fields::from_stored(&fields)
                .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?,
            updated_at: Some(at.and_utc()),
        }),
    }
}

/// Saves validated fields as the scope's next version.
pub fn save(
    conn: &mut DbConnection,
    scope: &TemplateScope,
    fields: &Fields,
    author: &UserId,
) -> Result<TemplateView, ApiError> {
    let version = current(conn, scope)?.version + 1;
    let json = serde_json::to_string(fields).map_err(ApiError::internal)?;
    diesel::insert_into(form_templates::table)
        .values((
            form_templates::id.eq(new_id()),
            form_templates::scope.eq(scope.key()),
            form_templates::version.eq(version),
            form_templates::fields.eq(json),
            form_templates::created_at.eq(now()),
            form_templates::created_by.eq(author),
        ))
        .execute(conn)?;
    current(conn, scope)
}

/// The current zone template and an enterprise's own, which together make its form.
pub fn current_pair(
    conn: &mut DbConnection,
    enterprise_id: &EnterpriseId,
) -> Result<(TemplateView, TemplateView), ApiError> {
    let zone = current(conn, &TemplateScope::Zone)?;
    let own = current(conn, &TemplateScope::Enterprise(enterprise_id.to_owned()))?;
    Ok((zone, own))
}
