//! `/api/v1/auth/*` and `/api/v1/me`: sign in, refresh, sign out, who am I, change
//! my password.

use actix_web::cookie::Cookie;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use crate::audit::{self, Actor, Event};
use crate::auth::caller::{Caller, audit_refusal};
use crate::auth::sessions::{RefreshToken, Rotation};
use crate::auth::throttle::{self, Admission, Client, LoginLimits};
use crate::auth::{devices, passwords};
use crate::client::{client_ip, ip_bucket};
use crate::db::{DbConnection, now};
use crate::domain::account::{NewPassword, PASSWORD_MAX_CHARS};
use crate::error::{ApiError, ErrorCode};
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
    ApiError::new(ErrorCode::InvalidCredentials, "用户名或密码错误")
}

fn refresh_ttl(state: &AppState) -> TimeDelta {
    TimeDelta::days(i64::from(state.settings.refresh_token_ttl_days))
}

/// Opens a new session for `user` inside the caller's transaction.
pub(crate) fn open_session(
    state: &AppState,
    conn: &mut DbConnection,
    user: User,
) -> Result<TokenResponse, ApiError> {
    let refresh_token = RefreshToken::issue(conn, &user, refresh_ttl(state))?;
    session_response(state, conn, user, refresh_token)
}

fn session_response(
    state: &AppState,
    conn: &mut DbConnection,
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

/// A signed-in (or signing-in) user as an audit actor.
pub(crate) fn user_actor(user: &User, ip: &str) -> Actor {
    Actor {
        id: Some(user.id.to_string()),
        name: Some(user.username.clone()),
        role: Some(user.role),
        ip: Some(ip.to_owned()),
    }
}

/// `POST /api/v1/auth/login`: [`sign_in`], answered with a fresh pair of tokens.
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    let LoginBody { username, password } = body.into_inner();
    let session_state = state.clone();
    let signed_in = sign_in(
        &state,
        &req,
        Credentials { username, password },
        devices::API_PATH,
        move |conn, user| open_session(&session_state, conn, user),
    )
    .await?;
    let mut response = HttpResponse::Ok();
    if let Some(cookie) = signed_in.device_cookie {
        response.cookie(cookie);
    }
    Ok(response.json(signed_in.session))
}

/// A user name and password as typed.
pub struct Credentials {
    /// User name (any case, blanks around it ignored).
    pub username: String,
    /// Password.
    pub password: String,
}

/// A successful sign-in: the session its caller opened, and the device cookie to set
/// when the browser had none.
pub struct SignedIn<T> {
    /// What `open` returned.
    pub session: T,
    /// A new device cookie.
    pub device_cookie: Option<Cookie<'static>>,
}

/// Signs a user in, for the API and the console alike: unknown user and wrong
/// password get the same answer and take the same time. Failures are throttled per
/// (account, client), per IP and per account (see [`throttle`]), the attempt's failure
/// reserved before the password is checked; every outcome is audited (`auth.login`).
/// `open` opens the caller's kind of session in the sign-in's transaction; a browser
/// without a device cookie (sent to `device_path`) gets one.
pub async fn sign_in<T, F>(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    credentials: Credentials,
    device_path: &'static str,
    open: F,
) -> Result<SignedIn<T>, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection, User) -> Result<T, ApiError> + Send + 'static,
{
    let Credentials { username, password } = credentials;
    if username.chars().count() > 64 || password.chars().count() > PASSWORD_MAX_CHARS {
        return Err(invalid_credentials());
    }
    let settings = &state.settings;
    let ip = client_ip(req, settings.trust_proxy_headers);
    let bucket = ip_bucket(&ip);
    let presented = req.cookie(devices::COOKIE).map(|c| c.value().to_owned());
    let limits = LoginLimits::new(settings)?;
    let device_ttl = TimeDelta::days(i64::from(settings.login_device_ttl_days));
    let secure_cookie = settings.is_https();
    // Before the reservation: an attempt refused for want of a permit leaves no failure.
    let permit = state.hashing.permit().await?;

    let name = username.trim().to_lowercase();
    let at = now();
    let (user, device, admission) = state
        .db
        .write(move |conn| {
            let user = User::find_by_username(conn, &name)?;
            let device = match (&user, &presented) {
                (Some(user), Some(token)) => devices::recognise(conn, &user.id, token, at)?,
                _ => None,
            };
            let client = match &device {
                Some(id) => Client::Device(id),
                None => Client::Address(&bucket),
            };
            let admission = throttle::reserve(conn, &name, client, &limits, at)?;
            Ok((user, device, admission))
        })
        .await?;
    let reservation = match admission {
        Admission::Reserved(reservation) => reservation,
        Admission::Throttled { retry_after_secs } => {
            drop(permit);
            let actor = user
                .as_ref()
                .map_or_else(|| Actor::anonymous(ip.clone()), |u| user_actor(u, &ip));
            let event = Event::failure("auth.login")
                .with_details(serde_json::json!({ "reason": "throttled" }));
            audit_refusal(state, &ip, actor, event).await?;
            return Err(too_many_login_attempts(retry_after_secs));
        }
    };

    let stored_hash = user.as_ref().map(|u| u.password_hash.clone());
    let matches = permit
        .run(move || passwords::verify(stored_hash.as_deref(), &password))
        .await?;
    let signed_in = user.filter(|u| matches && u.active);

    let outcome = state
        .db
        .write(move |conn| match signed_in {
            Some(user) => {
                throttle::release(conn, &reservation)?;
                audit::append(
                    conn,
                    &user_actor(&user, &ip),
                    Event::success("auth.login", "user", &user.id),
                )?;
                let new_device = match device {
                    Some(_) => None,
                    None => Some(devices::register(conn, &user.id, device_ttl, now())?),
                };
                let session = open(conn, user)?;
                Ok(Some((session, new_device)))
            }
            None => {
                throttle::settle(conn, &reservation)?;
                let event = Event::failure("auth.login").with_details(
                    serde_json::json!({ "reason": ErrorCode::InvalidCredentials.as_str() }),
                );
                audit::append(conn, &Actor::anonymous(ip), event)?;
                Ok(None)
            }
        })
        .await?;
    let (session, new_device) = outcome.ok_or_else(invalid_credentials)?;
    Ok(SignedIn {
        session,
        device_cookie: new_device
            .map(|token| devices::cookie(token, device_ttl, secure_cookie, device_path)),
    })
}

/// 429 after too many failed sign-ins (or activations), with `Retry-After`.
pub(crate) fn too_many_login_attempts(seconds: u64) -> ApiError {
    let wait = if seconds < 60 {
        format!("{seconds} 秒")
    } else {
        format!("{} 分钟", seconds.div_ceil(60))
    };
    ApiError::new(
        ErrorCode::TooManyLoginAttempts,
        format!("登录失败次数过多，请 {wait}后再试"),
    )
    .with_retry_after(seconds)
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
                        id: Some(user_id.to_string()),
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
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidRefreshToken, "登录已失效，请重新登录"))
}

/// `POST /api/v1/auth/logout`: ends every session of the caller.
pub async fn logout(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    state
        .write_accounts(move |conn| {
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

/// `PUT /api/v1/me/password`: [`change_password`], answered with a fresh session for
/// this client.
pub async fn change_my_password(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<ChangePasswordBody>,
) -> Result<web::Json<TokenResponse>, ApiError> {
    let ChangePasswordBody {
        current_password,
        new_password,
    } = body.into_inner();
    let session_state = state.clone();
    let response = change_password(
        &state,
        caller,
        PasswordChange {
            current: current_password,
            new: new_password,
        },
        move |conn, user| open_session(&session_state, conn, user),
    )
    .await?;
    Ok(web::Json(response))
}

/// The current and the new password, as typed.
pub struct PasswordChange {
    /// The current password.
    pub current: String,
    /// The new one.
    pub new: String,
}

/// Changes the caller's password, for the API and the console alike: checks the
/// current password and the policy, sets the new one, ends every session of the user
/// (audited `user.change_password`); `open` then keeps the caller's own session going
/// in the same transaction.
pub async fn change_password<T, F>(
    state: &web::Data<AppState>,
    caller: Caller,
    change: PasswordChange,
    open: F,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection, User) -> Result<T, ApiError> + Send + 'static,
{
    let PasswordChange {
        current: current_password,
        new: new_password,
    } = change;
    let user_id = caller.user_id.clone();
    let user = state
        .db
        .read(move |conn| User::find(conn, &user_id))
        .await?;
    let inputs = [user.username.clone(), user.display_name.clone()];
    let stored = user.password_hash.clone();
    let permit = state.hashing.permit().await?;
    let hashed = permit
        .run(move || {
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
        .await??;
    state
        .write_accounts(move |conn| {
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
            open(conn, user)
        })
        .await
}
