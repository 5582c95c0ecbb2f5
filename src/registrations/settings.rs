//! Each enterprise's registration settings: whether new registrations are approved
//! at once (auto-approval) instead of waiting for a contact. Off until turned on.

use actix_web::web;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::audit::{self, Event};
use crate::auth::caller::Caller;
use crate::db::schema::enterprise_settings;
use crate::db::{DbConnection, now, on_backend};
use crate::domain::id::EnterpriseId;
use crate::enterprises::{Enterprise, Visibility};
use crate::error::ApiError;
use crate::state::AppState;

/// The settings as the API shows them.
#[derive(Debug, Serialize)]
pub struct RegistrationSettings {
    /// The enterprise.
    pub enterprise_id: EnterpriseId,
    /// New registrations are approved at once.
    pub auto_approve: bool,
    /// Last changed; never, while off by default.
    pub updated_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Body of an update.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsBody {
    auto_approve: bool,
}

fn load(
    conn: &mut DbConnection,
    enterprise_id: &EnterpriseId,
) -> Result<RegistrationSettings, ApiError> {
    // By key without LIMIT (`first`): SQLite plans a statement with a bound LIMIT anew
    // on every run, and every public registration reads this.
    let row: Option<(bool, NaiveDateTime)> = on_backend!(conn, |c| {
        enterprise_settings::table
            .find(enterprise_id)
            .select((
                enterprise_settings::auto_approve,
                enterprise_settings::updated_at,
            ))
            .get_result(c)
            .optional()
    })?;
    Ok(RegistrationSettings {
        enterprise_id: enterprise_id.to_owned(),
        auto_approve: row.is_some_and(|(auto, _)| auto),
        updated_at: row.map(|(_, at)| at.and_utc()),
    })
}

/// Whether the enterprise approves new registrations at once.
pub fn auto_approves(
    conn: &mut DbConnection,
    enterprise_id: &EnterpriseId,
) -> Result<bool, ApiError> {
    Ok(load(conn, enterprise_id)?.auto_approve)
}

/// `GET /api/v1/enterprises/{id}/registration-settings`.
pub async fn find_registration_settings(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<EnterpriseId>,
) -> Result<web::Json<RegistrationSettings>, ApiError> {
    find_settings(&state, &caller, id.into_inner())
        .await
        .map(web::Json)
}

/// The settings of an enterprise the caller can see (else 404).
pub async fn find_settings(
    state: &AppState,
    caller: &Caller,
    id: EnterpriseId,
) -> Result<RegistrationSettings, ApiError> {
    let visibility = Visibility::of(caller);
    state
        .db
        .read(move |conn| {
            let enterprise = Enterprise::find(conn, &visibility, &id)?;
            load(conn, &enterprise.id)
        })
        .await
}

/// `PUT /api/v1/enterprises/{id}/registration-settings`: an admin or the enterprise's
/// contact turns auto-approval on or off; audited. Registrations already made keep
/// their status.
pub async fn update_registration_settings(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<EnterpriseId>,
    body: web::Json<SettingsBody>,
) -> Result<web::Json<RegistrationSettings>, ApiError> {
    set_auto_approve(
        &state,
        caller,
        id.into_inner(),
        body.into_inner().auto_approve,
    )
    .await
    .map(web::Json)
}

/// Turns auto-approval of an enterprise the caller can see (else 404) on or off, for
/// the API and the console alike; audited (`enterprise.auto_approve_on` / `_off`).
pub async fn set_auto_approve(
    state: &AppState,
    caller: Caller,
    id: EnterpriseId,
    auto_approve: bool,
) -> Result<RegistrationSettings, ApiError> {
    let visibility = Visibility::of(&caller);
    let settings = state
        .db
        .write(move |conn| {
            let enterprise = Enterprise::find(conn, &visibility, &id)?;
            diesel::delete(enterprise_settings::table.find(&enterprise.id)).execute(conn)?;
            diesel::insert_into(enterprise_settings::table)
                .values((
                    enterprise_settings::enterprise_id.eq(&enterprise.id),
                    enterprise_settings::auto_approve.eq(auto_approve),
                    enterprise_settings::updated_at.eq(now()),
                ))
                .execute(conn)?;
            let action = if auto_approve {
                "enterprise.auto_approve_on"
            } else {
                "enterprise.auto_approve_off"
            };
            audit::append(
                conn,
                &caller.actor(),
                Event::success(action, "enterprise", &enterprise.id),
            )?;
            load(conn, &enterprise.id)
        })
        .await?;
    state.code_forms.forget_all();
    Ok(settings)
}
