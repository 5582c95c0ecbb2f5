//! `/api/v1/auth/*` and `/api/v1/me`: sign in, refresh, sign out, who am I, change
//! my password.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use crate::audit::{self, Actor, Event};
use crate::auth::caller::Caller;
use crate::auth::sessions::{RefreshToken, Rotation};
use crate::auth::{passwords, throttle};
use crate::client::client_ip;
use crate::db::now;
use crate::domain::account::{NewPassword, PASSWORD_MAX_CHARS, Role};
use crate::error::ApiError;
use crate::state::AppState;
use crate::users::{User, UserChanges, UserView};

/// Sign-in body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    username: String,
    password: String,
}

/// Refresh body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    refresh_token: String,
}

/// Password change body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordBody {
    current_password: String,
    new_password: String,
}

/// A session's tokens.
#[derive(Serialize)]
pub struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    refresh_token: String,
    refresh_expires_in: u64,
    user: UserView,
}

fn invalid_credentials() -> ApiError {
    ApiError::unauthorized("invalid_credentials", "用户名或密码错误")
}

fn refresh_ttl(state: &AppState) -> TimeDelta {
    TimeDelta::days(i64::from(state.settings.refresh_token_ttl_days))
}

/// Opens a new session for `user` inside the caller's transaction.
fn open_session(
    state: &AppState,
    conn: &mut crate::db::DbConnection,
    user: User,
) -> Result<TokenResponse, ApiError> {
    let refresh_token = RefreshToken::issue(conn, &user, refresh_ttl(state))?;
    session_response(state, conn, user, refresh_token)
}

fn session_response(
    state: &AppState,
    conn: &mut crate::db::DbConnection,
    user: User,
    refresh_token: String,
) -> Result<TokenResponse, ApiError> {
    let access_token = state.tokens.issue(&user.id, user.token_version)?;
    let (user, scope) = User::find_with_scope(conn, &user.id)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: state.tokens.ttl().as_secs(),
        refresh_token,
        refresh_expires_in: refresh_ttl(state).num_seconds().unsigned_abs(),
        user: UserView::new(user, scope),
    })
}

fn user_actor(user: &User, ip: &str) -> Actor {
    Actor {
        id: Some(user.id.clone()),
        name: Some(user.username.clone()),
        role: Role::parse(&user.role),
        ip: Some(ip.to_owned()),
    }
}

/// `POST /api/v1/auth/login`. Unknown user and wrong password get the same answer
/// and take the same time; repeated failures per account and per IP are throttled.
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<LoginBody>,
) -> Result<web::Json<TokenResponse>, ApiError> {
    let LoginBody { username, password } = body.into_inner();
    if username.chars().count() > 64 || password.chars().count() > PASSWORD_MAX_CHARS {
        return Err(invalid_credentials());
    }
    let ip = client_ip(&req, state.settings.trust_proxy_headers);
    let settings = &state.settings;
    let limits = throttle::limits(
        &username,
        &ip,
        settings.login_max_failures_per_account,
        settings.login_max_failures_per_ip,
    );
    let window = TimeDelta::from_std(settings.login_window()).map_err(ApiError::internal)?;

    let lookup_limits = limits.clone();
    let lookup_name = username.trim().to_lowercase();
    let (wait, user) = state
        .db
        .read(move |conn| {
            let wait = throttle::retry_after(conn, &lookup_limits, window, now())?;
            let user = User::find_by_username(conn, &lookup_name)?;
            Ok((wait, user))
        })
        .await?;

    if let Some(seconds) = wait {
        let actor = user
            .as_ref()
            .map_or_else(|| Actor::anonymous(ip.clone()), |u| user_actor(u, &ip));
        state
            .db
            .write(move |conn| {
                let event = Event::failure("auth.login")
                    .with_details(serde_json::json!({ "reason": "throttled" }));
                audit::append(conn, &actor, event).map(drop)
            })
            .await?;
        return Err(ApiError::too_many_requests(
            "too_many_login_attempts",
            format!("登录失败次数过多，请 {} 分钟后再试", seconds.div_ceil(60)),
            seconds,
        ));
    }

    let stored_hash = user.as_ref().map(|u| u.password_hash.clone());
    let matches = web::block(move || passwords::verify(stored_hash.as_deref(), &password))
        .await
        .map_err(ApiError::internal)?;
    let signed_in = user.filter(|u| matches && u.active);

    let session_state = state.clone();
    let result = state
        .db
        .write(move |conn| match signed_in {
            Some(user) => {
                throttle::clear_account(conn, &limits)?;
                audit::append(
                    conn,
                    &user_actor(&user, &ip),
                    Event::success("auth.login", "user", &user.id),
                )?;
                open_session(&session_state, conn, user).map(Some)
            }
            None => {
                throttle::record_failure(conn, &limits, window, now())?;
                let event = Event::failure("auth.login")
                    .with_details(serde_json::json!({ "reason": "invalid_credentials" }));
                audit::append(conn, &Actor::anonymous(ip), event)?;
                Ok(None)
            }
        })
        .await?;
    result.map(web::Json).ok_or_else(invalid_credentials)
}

/// `POST /api/v1/auth/refresh`: trades a refresh token for a new pair.
pub async fn refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<RefreshBody>,
) -> Result<web::Json<TokenResponse>, ApiError> {
    let presented = body.into_inner().refresh_token;
    let ip = client_ip(&req, state.settings.trust_proxy_headers);
    let session_state = state.clone();
    let result = state
        .db
        .write(move |conn| {
            match RefreshToken::rotate(conn, &presented, refresh_ttl(&session_state))? {
                Rotation::Rotated { token, user } => {
                    session_response(&session_state, conn, user, token).map(Some)
                }
                Rotation::Reused { user_id } => {
                    let actor = Actor {
                        id: Some(user_id),
                        ip: Some(ip),
                        ..Actor::default()
                    };
                    let event = Event::failure("auth.refresh_reused")
                        .with_details(serde_json::json!({ "effect": "session_family_revoked" }));
                    audit::append(conn, &actor, event)?;
                    Ok(None)
                }
                Rotation::Invalid => Ok(None),
            }
        })
        .await?;
    result
        .map(web::Json)
        .ok_or_else(|| ApiError::unauthorized("invalid_refresh_token", "登录已失效，请重新登录"))
}

/// `POST /api/v1/auth/logout`: ends every session of the caller.
pub async fn logout(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    state
        .db
        .write(move |conn| {
            User::end_sessions(conn, &caller.user_id)?;
            audit::append(
                conn,
                &caller.actor(),
                Event::success("auth.logout", "user", &caller.user_id),
            )
            .map(drop)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /api/v1/me`.
pub async fn find_me(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<web::Json<UserView>, ApiError> {
    let (user, scope) = state
        .db
        .read(move |conn| User::find_with_scope(conn, &caller.user_id))
        .await?;
    Ok(web::Json(UserView::new(user, scope)))
}

/// `PUT /api/v1/me/password`: checks the current password, sets the new one, ends
/// every other session and returns a fresh one for this client.
pub async fn change_my_password(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<ChangePasswordBody>,
) -> Result<web::Json<TokenResponse>, ApiError> {
    let ChangePasswordBody {
        current_password,
        new_password,
    } = body.into_inner();
    let user_id = caller.user_id.clone();
    let user = state
        .db
        .read(move |conn| User::find(conn, &user_id))
        .await?;
    let inputs = [user.username.clone(), user.display_name.clone()];
    let stored = user.password_hash.clone();
    let hashed = web::block(move || {
        if !passwords::verify(Some(&stored), &current_password) {
            return Err(ApiError::field(
                "current_password",
                "wrong_password",
                "当前密码不正确",
            ));
        }
        if new_password == current_password {
            return Err(ApiError::field(
                "new_password",
                "password_unchanged",
                "新密码不能与当前密码相同",
            ));
        }
        let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let new_password = NewPassword::parse("new_password", &new_password, &inputs)?;
        passwords::hash(&new_password)
    })
    .await
    .map_err(ApiError::internal)??;
    let session_state = state.clone();
    let response = state
        .db
        .write(move |conn| {
            let changes = UserChanges {
                password_hash: Some(hashed),
                must_change_password: Some(false),
                updated_at: Some(now()),
                ..UserChanges::default()
            };
            User::update(conn, &caller.user_id, &changes)?;
            User::end_sessions(conn, &caller.user_id)?;
            audit::append(
                conn,
                &caller.actor(),
                Event::success("user.change_password", "user", &caller.user_id),
            )?;
            let user = User::find(conn, &caller.user_id)?;
            open_session(&session_state, conn, user)
        })
        .await?;
    Ok(web::Json(response))
}
