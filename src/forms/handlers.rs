//! `/api/v1/form-template` (the zone's extra fields) and
//! `/api/v1/enterprises/{id}/form-template` (an enterprise's own extra fields).

use actix_web::web;
use serde::Deserialize;

use crate::audit::{self, Event};
use crate::auth::caller::Caller;
use crate::domain::id::EnterpriseId;
use crate::enterprises::{Enterprise, Visibility};
use crate::error::{ApiError, FieldErrors};
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

fn parse_fields(body: TemplateBody) -> Result<Fields, ApiError> {
    Fields::parse(body.fields, &BUILTIN_FIELD_KEYS).map_err(|errors| {
        let mut collected = FieldErrors::default();
        for error in errors {
            collected.push(error);
        }
        collected.into_error()
    })
}

/// Saves a new version unless the fields are unchanged, and audits it.
async fn save(
    state: &AppState,
    caller: Caller,
    scope_of: impl FnOnce(&mut crate::db::DbConnection) -> Result<TemplateScope, ApiError>
    + Send
    + 'static,
    fields: Fields,
) -> Result<TemplateView, ApiError> {
    let saved = state
        .db
        .write(move |conn| {
            let scope = scope_of(conn)?;
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
) -> Result<web::Json<TemplateView>, ApiError> {
    let view = state
        .db
        .read(|conn| template::current(conn, &TemplateScope::Zone))
        .await?;
    Ok(web::Json(view))
}

/// `PUT /api/v1/form-template`: the admin sets the zone's extra fields.
pub async fn update_zone_template(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<TemplateBody>,
) -> Result<web::Json<TemplateView>, ApiError> {
    let fields = parse_fields(body.into_inner())?;
    let view = save(&state, caller, |_| Ok(TemplateScope::Zone), fields).await?;
    Ok(web::Json(view))
}

/// `GET /api/v1/enterprises/{id}/form-template`.
pub async fn find_enterprise_template(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<EnterpriseId>,
) -> Result<web::Json<TemplateView>, ApiError> {
    let visibility = Visibility::of(&caller);
    let view = state
        .db
        .read(move |conn| {
            let enterprise = Enterprise::find(conn, &visibility, &id)?;
            template::current(conn, &TemplateScope::Enterprise(enterprise.id))
        })
        .await?;
    Ok(web::Json(view))
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
    let visibility = Visibility::of(&caller);
    let scope_of = move |conn: &mut crate::db::DbConnection| {
        Enterprise::find(conn, &visibility, &id)
            .map(|enterprise| TemplateScope::Enterprise(enterprise.id))
    };
    let view = save(&state, caller, scope_of, fields).await?;
    Ok(web::Json(view))
}
