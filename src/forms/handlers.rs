//! `/api/v1/form-template` (the zone's extra fields) and
//! `/api/v1/enterprises/{id}/form-template` (an enterprise's own extra fields).

use actix_web::web;
use serde::Deserialize;

use crate::audit::{self, Event};
use crate::auth::caller::Caller;
use crate::db::DbConnection;
use crate::domain::id::EnterpriseId;
use crate::enterprises::{Enterprise, Visibility};
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::forms::BUILTIN_FIELD_KEYS;
use crate::forms::fields::{FieldSpec, Fields};
use crate::forms::template::{self, TemplateScope, TemplateView};
use crate::state::AppState;

/// Body of a save: the whole new list of extra fields.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateBody {
    fields: Vec<FieldSpec>,
}

/// Validates a whole new list of extra fields against the built-in form's keys.
pub fn parse_specs(specs: Vec<FieldSpec>) -> Result<Fields, Vec<FieldError>> {
    Fields::parse(specs, &BUILTIN_FIELD_KEYS)
}

fn parse_fields(body: TemplateBody) -> Result<Fields, ApiError> {
    parse_specs(body.fields).map_err(|errors| {
        let mut collected = FieldErrors::default();
        for error in errors {
            collected.push(error);
        }
        collected.into_error()
    })
}

/// Whose extra fields a caller reads or writes.
#[derive(Clone, Debug)]
pub enum Target {
    /// The zone's.
    Zone,
    /// An enterprise's, when the caller can see it (else not found).
    Enterprise(EnterpriseId),
}

impl Target {
    /// The template's scope, the enterprise checked against the caller's visibility.
    fn scope(self, conn: &mut DbConnection, caller: &Caller) -> Result<TemplateScope, ApiError> {
        match self {
            Target::Zone => Ok(TemplateScope::Zone),
            Target::Enterprise(id) => Enterprise::find(conn, &Visibility::of(caller), &id)
                .map(|enterprise| TemplateScope::Enterprise(enterprise.id)),
        }
    }
}

/// The current template of a target (the API's and the console's).
pub async fn find_template(
    state: &AppState,
    caller: &Caller,
    target: Target,
) -> Result<TemplateView, ApiError> {
    let caller = caller.clone();
    state
        .db
        .read(move |conn| {
            let scope = target.scope(conn, &caller)?;
            template::current(conn, &scope)
        })
        .await
}

/// Saves a new version of a target's template unless the fields are unchanged, and
/// audits it (the API's and the console's).
pub async fn save_template(
    state: &AppState,
    caller: Caller,
    target: Target,
    fields: Fields,
) -> Result<TemplateView, ApiError> {
    let saved = state
        .db
        .write(move |conn| {
            let scope = target.scope(conn, &caller)?;
            let current = template::current(conn, &scope)?;
            if current.fields == fields {
                return Ok(current);
            }
            let saved = template::save(conn, &scope, &fields, &caller.user_id)?;
            let object = match &scope {
                TemplateScope::Zone => "zone".to_owned(),
                TemplateScope::Enterprise(id) => id.to_string(),
            };
            let event = Event::success("form_template.update", "form_template", object)
                .with_details(
                    serde_json::json!({ "version": saved.version, "fields": fields.specs().len() }),
                );
            audit::append(conn, &caller.actor(), event)?;
            Ok(saved)
        })
        .await;
    // The drivers' forms change with it.
    state.code_forms.forget_all();
    saved
}

/// `GET /api/v1/form-template`.
pub async fn find_zone_template(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<web::Json<TemplateView>, ApiError> {
    Ok(web::Json(
        find_template(&state, &caller, Target::Zone).await?,
    ))
}

/// `PUT /api/v1/form-template`: the admin sets the zone's extra fields.
pub async fn update_zone_template(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<TemplateBody>,
) -> Result<web::Json<TemplateView>, ApiError> {
    let fields = parse_fields(body.into_inner())?;
    let view = save_template(&state, caller, Target::Zone, fields).await?;
    Ok(web::Json(view))
}

/// `GET /api/v1/enterprises/{id}/form-template`.
pub async fn find_enterprise_template(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<EnterpriseId>,
) -> Result<web::Json<TemplateView>, ApiError> {
    let target = Target::Enterprise(id.into_inner());
    Ok(web::Json(find_template(&state, &caller, target).await?))
}

/// `PUT /api/v1/enterprises/{id}/form-template`: an admin or the enterprise's contact
/// sets the enterprise's extra fields.
pub async fn update_enterprise_template(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<EnterpriseId>,
    body: web::Json<TemplateBody>,
) -> Result<web::Json<TemplateView>, ApiError> {
    let fields = parse_fields(body.into_inner())?;
    let target = Target::Enterprise(id.into_inner());
    let view = save_template(&state, caller, target, fields).await?;
    Ok(web::Json(view))
}
