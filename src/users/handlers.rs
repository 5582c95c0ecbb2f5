//! `/api/v1/users`: the admin manages accounts.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::audit::{self, Event};
use crate::auth::caller::Caller;
use crate::auth::passwords;
use crate::body;
use crate::db::now;
use crate::domain::account::{DisplayName, NewPassword, Role, Scope, Username};
use crate::domain::id::{EnterpriseId, OrgUnitId, UserId};
use crate::error::{ApiError, ErrorCode, FieldErrors};
use crate::gate;
use crate::pagination::{Page, PageRequest};
use crate::state::AppState;
use crate::survey::assignment::Surveyor;
use crate::survey::cases::Case;
use crate::users::{NewUser, User, UserChanges, UserFilter, UserView, activation};

/// Query of the list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    limit: Option<i64>,
    cursor: Option<String>,
    role: Option<Role>,
    active: Option<bool>,
    q: Option<String>,
}

/// Body of a create (also what the console's form makes).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Initial password (the user must change it at first sign-in).
    pub password: String,
    /// Role.
    pub role: Role,
    /// Sectors of the role's scope.
    #[serde(default)]
    pub sector_ids: Vec<OrgUnitId>,
    /// Parks of the role's scope.
    #[serde(default)]
    pub park_ids: Vec<OrgUnitId>,
    /// The enterprise of a contact.
    #[serde(default, deserialize_with = "body::non_null")]
    pub enterprise_id: Option<EnterpriseId>,
}

/// Body of an update (also what the console's forms make); absent fields stay as
/// they are.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    /// New display name.
    #[serde(default, deserialize_with = "body::non_null")]
    pub display_name: Option<String>,
    /// New role.
    #[serde(default, deserialize_with = "body::non_null")]
    pub role: Option<Role>,
    /// New sectors.
    #[serde(default, deserialize_with = "body::non_null")]
    pub sector_ids: Option<Vec<OrgUnitId>>,
    /// New parks.
    #[serde(default, deserialize_with = "body::non_null")]
    pub park_ids: Option<Vec<OrgUnitId>>,
    /// New enterprise.
    #[serde(default, deserialize_with = "body::non_null")]
    pub enterprise_id: Option<EnterpriseId>,
    /// Enable or disable.
    #[serde(default, deserialize_with = "body::non_null")]
    pub active: Option<bool>,
}

/// Body of a password reset.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordBody {
    new_password: String,
}

/// `GET /api/v1/users`.
pub async fn list_users(
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<web::Json<Page<UserView>>, ApiError> {
    let query = query.into_inner();
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let filter = UserFilter {
        role: query.role,
        active: query.active,
        q: query
            .q
            .map(|q| q.trim().to_owned())
            .filter(|q| !q.is_empty()),
    };
    let fetch = page.clone();
    let rows = state
        .db
        .read(move |conn| User::list(conn, &filter, fetch.after.as_deref(), fetch.fetch()))
        .await?;
    Ok(web::Json(page.page(rows, |user| user.id.to_string())))
}

/// `GET /api/v1/users/{id}`.
pub async fn find_user(
    state: web::Data<AppState>,
    id: web::Path<UserId>,
) -> Result<web::Json<UserView>, ApiError> {
    let (user, scope) = state
        .db
        .read(move |conn| User::find_with_scope(conn, &id))
        .await?;
    Ok(web::Json(UserView::new(user, scope)))
}

/// `POST /api/v1/users`.
pub async fn create_user(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<CreateBody>,
) -> Result<HttpResponse, ApiError> {
    let view = create_account(&state, caller, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(view))
}

/// Creates an account (audit `user.create`): the API's create and the console's.
pub async fn create_account(
    state: &AppState,
    caller: Caller,
    body: CreateBody,
) -> Result<UserView, ApiError> {
    let mut errors = FieldErrors::default();
    let username = errors.check(Username::parse(&body.username));
    let display_name = errors.check(DisplayName::parse(&body.display_name));
    let scope = errors.check(Scope::for_role(
        body.role,
        body.sector_ids,
        body.park_ids,
        body.enterprise_id,
    ));
    let inputs = [body.username.as_str(), body.display_name.as_str()];
    let password = errors.check(NewPassword::parse("password", &body.password, &inputs));
    let (Some(username), Some(display_name), Some(scope), Some(password)) =
        (username, display_name, scope, password)
    else {
        return Err(errors.into_error());
    };
    let permit = state.hashing.permit().await?;
    let password_hash = permit.run(move || passwords::hash(&password)).await??;
    let new = NewUser {
        username,
        display_name,
        password_hash,
        role: body.role,
        scope,
        must_change_password: true,
    };
    state
        .db
        .write(move |conn| {
            let user = User::create(conn, &new)?;
            let event = Event::success("user.create", "user", &user.id)
                .with_details(serde_json::json!({ "role": new.role.as_str() }));
            audit::append(conn, &caller.actor(), event)?;
            let (user, scope) = User::find_with_scope(conn, &user.id)?;
            Ok(UserView::new(user, scope))
        })
        .await
}

/// `PATCH /api/v1/users/{id}`: display name, role and scope, enable or disable. A
/// changed role starts from an empty scope: name the new role's sectors, parks or
/// enterprise in the same request.
/// Disabling ends the user's sessions; the last enabled admin cannot be demoted or disabled.
/// A surveyor moved to another team (new `sector_ids` or `park_ids`) or disabled keeps
/// their history: visits stay theirs, finished cases too; their open cases whose
/// enterprise the new team does not cover go back to the campaign's pool (audit
/// `survey.case.release`).
pub async fn update_user(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<UserId>,
    body: web::Json<UpdateBody>,
) -> Result<web::Json<UserView>, ApiError> {
    let view = update_account(&state, caller, id.into_inner(), body.into_inner()).await?;
    Ok(web::Json(view))
}

/// Changes an account (audit `user.update`), as [`update_user`] describes: the API's
/// update and the console's.
pub async fn update_account(
    state: &AppState,
    caller: Caller,
    id: UserId,
    body: UpdateBody,
) -> Result<UserView, ApiError> {
    let display_name = body
        .display_name
        .as_deref()
        .map(DisplayName::parse)
        .transpose()?;
    state
        .write_accounts(move |conn| {
            let (user, current) = User::find_with_scope(conn, &id)?;
            let before = UserView::new(user.clone(), current.clone());
            let current_role = user.role;
            let role = body.role.unwrap_or(current_role);
            let scope_changed = body.role.is_some()
                || body.sector_ids.is_some()
                || body.park_ids.is_some()
                || body.enterprise_id.is_some();
            if scope_changed {
                // A new role starts from an empty scope; otherwise unnamed parts stay.
                let keep = if role == current_role {
                    current
                } else {
                    Scope::default()
                };
                let scope = Scope::for_role(
                    role,
                    body.sector_ids.unwrap_or(keep.sector_ids),
                    body.park_ids.unwrap_or(keep.park_ids),
                    body.enterprise_id.or(keep.enterprise_id),
                )?;
                User::set_scope(conn, &user.id, &scope)?;
            }
            let loses_admin = current_role == Role::Admin
                && user.active
                && (role != Role::Admin || body.active == Some(false));
            if loses_admin && User::count_active_admins(conn)? <= 1 {
                return Err(ApiError::new(
                    ErrorCode::LastAdmin,
                    "不能停用或降级最后一个启用的管理员",
                ));
            }
            let changes = UserChanges {
                display_name: display_name.map(|name| name.as_str().to_owned()),
                role: body.role,
                active: body.active,
                updated_at: Some(now()),
                ..UserChanges::default()
            };
            User::update(conn, &user.id, &changes)?;
            if body.active == Some(false) && user.active {
                User::end_sessions(conn, &user.id)?;
            }
            let (updated, scope) = User::find_with_scope(conn, &user.id)?;
            // A surveyor moved to another team, or disabled, keeps the visits made and
            // the cases finished; open cases the new team does not cover go back to
            // their campaign's pool.
            if current_role == Role::Surveyor && (scope_changed || body.active == Some(false)) {
                let team = (updated.active && updated.role == Role::Surveyor).then(|| Surveyor {
                    id: updated.id.clone(),
                    scope: scope.clone(),
                });
                Case::release(conn, &caller.actor(), &user.id, team.as_ref())?;
            }
            // A guard moved to another role or enterprise no longer stands at the
            // old enterprise's gates.
            if current_role == Role::GateGuard
                && (updated.role != Role::GateGuard || scope.enterprise_id != before.enterprise_id)
            {
                gate::guards::forget(conn, &user.id)?;
            }
            let after = UserView::new(updated, scope);
            let event = Event::success("user.update", "user", &user.id)
                .with_details(audit::changes(&before.audited(), &after.audited()));
            audit::append(conn, &caller.actor(), event)?;
            Ok(after)
        })
        .await
}

/// `PUT /api/v1/users/{id}/password`: the admin sets a new password; the user must
/// change it at next sign-in and every session of theirs ends.
pub async fn reset_user_password(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<UserId>,
    body: web::Json<ResetPasswordBody>,
) -> Result<HttpResponse, ApiError> {
    let raw = body.into_inner().new_password;
    reset_password(&state, caller, id.into_inner(), &raw).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Sets a user's password (audit `user.reset_password`), as [`reset_user_password`]
/// describes: the API's reset and the console's.
pub async fn reset_password(
    state: &AppState,
    caller: Caller,
    id: UserId,
    raw: &str,
) -> Result<(), ApiError> {
    let lookup = id.clone();
    let user = state.db.read(move |conn| User::find(conn, &lookup)).await?;
    let inputs = [user.username.as_str(), user.display_name.as_str()];
    let password = NewPassword::parse("new_password", raw, &inputs)?;
    let permit = state.hashing.permit().await?;
    let password_hash = permit.run(move || passwords::hash(&password)).await??;
    state
        .write_accounts(move |conn| {
            let changes = UserChanges {
                password_hash: Some(password_hash),
                must_change_password: Some(true),
                updated_at: Some(now()),
                ..UserChanges::default()
            };
            User::update(conn, &id, &changes)?;
            User::end_sessions(conn, &id)?;
            // A password set by the admin replaces a pending activation.
            activation::void(conn, &id)?;
            audit::append(
                conn,
                &caller.actor(),
                Event::success("user.reset_password", "user", &id),
            )
            .map(drop)
        })
        .await
}
