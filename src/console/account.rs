//! Signing in and out of the console, activating an account with its one-time code
//! and changing one's password, through the same services as the API's `/auth/login`,
//! `/auth/activate` and `/me/password` (throttling, password policy, audit entries).

use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};

use crate::audit::{self, Event};
use crate::auth::handlers::{Credentials, PasswordChange, change_password, sign_in};
use crate::console::gate::GATE_PATH;
use crate::console::session::{self, Account, CSRF_FIELD, Posted, Signed, same_secret};
use crate::console::survey::field::MY_PATH;
use crate::console::{ACTIVATE_PATH, HOME_PATH, LOGIN_PATH, PageError, layout, render, see_other};
use crate::domain::account::Role;
use crate::domain::text::random_token;
use crate::error::ApiError;
use crate::state::AppState;
use crate::users::activation::handlers::{ActivateBody, activate_account};

/// The CSRF cookie of the forms posted before there is a session (sign-in,
/// activation): the form carries the same random value, which another site cannot
/// read.
const LOGIN_COOKIE: &str = "tp_console_login";

fn login_cookie(path: &'static str, token: String, secure: bool) -> Cookie<'static> {
    Cookie::build(LOGIN_COOKIE, token)
        .path(path)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .max_age(time::Duration::hours(12))
        .finish()
}

fn login_form(zone_name: &str, csrf: &str, username: &str, error: Option<&str>) -> Markup {
    let body = html! {
        p.muted { (zone_name) }
        h1 { "登录通行登记管理" }
        @if let Some(error) = error { p.notice.bad role="alert" { (error) } }
        form method="post" action=(LOGIN_PATH) {
            input type="hidden" name=(CSRF_FIELD) value=(csrf);
            div.f {
                label for="username" { "用户名" }
                input #username type="text" name="username" value=(username)
                    autocomplete="username" required autofocus;
            }
            div.f {
                label for="password" { "密码" }
                input #password type="password" name="password"
                    autocomplete="current-password" required;
            }
            button.btn type="submit" { "登录" }
        }
    };
    layout::bare("登录", body)
}

/// Where a role starts: surveyors at their own cases and gate guards at the gate (on
/// the phone), everyone else at home.
pub fn landing(role: Role) -> &'static str {
    match role {
        Role::Surveyor => MY_PATH,
        Role::GateGuard => GATE_PATH,
        _ => HOME_PATH,
    }
}

/// `GET /console/login`: the sign-in form; a signed-in user goes where the role starts.
pub async fn show_login(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    if let Ok(signed) = session::authenticate(&req).await {
        return see_other(landing(signed.caller.role));
    }
    let csrf = random_token();
    let mut response = render(
        StatusCode::OK,
        login_form(&state.settings.zone_name, &csrf, "", None),
    );
    // Only fails for an invalid cookie, which ours is not.
    let _ = response.add_cookie(&login_cookie(LOGIN_PATH, csrf, state.settings.is_https()));
    response
}

/// `POST /console/login`: signs in as the API does; on success a new session and a
/// 303 home (or to the change-password page), else the form again with the reason.
pub async fn submit_login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (posted, expected) = posted_before_session(&req, &body)?;
    let username = posted.value("username").unwrap_or_default().to_owned();
    let credentials = Credentials {
        username: username.clone(),
        password: posted.value("password").unwrap_or_default().to_owned(),
    };
    let secure = state.settings.is_https();
    let signed_in = sign_in(&state, &req, credentials, LOGIN_PATH, |conn, user| {
        session::open(conn, &user).map(|session| (session, user.role))
    })
    .await;
    match signed_in {
        Ok(signed_in) => {
            let (session, role) = signed_in.session;
            let mut response = HttpResponse::SeeOther();
            response
                .insert_header((actix_web::http::header::LOCATION, landing(role)))
                .cookie(session::cookie(session, secure))
                .cookie(expire(login_cookie(LOGIN_PATH, String::new(), secure)));
            if let Some(device) = signed_in.device_cookie {
                response.cookie(device);
            }
            Ok(response.finish())
        }
        Err(error) => Ok(refused(
            &error,
            login_form(
                &state.settings.zone_name,
                &expected,
                &username,
                Some(&error.message()),
            ),
        )),
    }
}

/// A form posted before there is a session, once its CSRF field matches the cookie
/// its page set: its fields and that token.
fn posted_before_session(req: &HttpRequest, body: &[u8]) -> Result<(Posted, String), PageError> {
    let posted = Posted::parse(body);
    let expected = req
        .cookie(LOGIN_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    let presented = posted.value(CSRF_FIELD).unwrap_or_default();
    if expected.is_empty() || !same_secret(presented, &expected) {
        return Err(PageError::Forged);
    }
    Ok((posted, expected))
}

/// A form shown again after the service refused it, with the refusal's status (and
/// `Retry-After` when throttled).
fn refused(error: &ApiError, form: Markup) -> HttpResponse {
    let mut response = render(error.code().status(), form);
    if let Some(seconds) = error.retry_after() {
        let _ = response
            .headers_mut()
            .insert(actix_web::http::header::RETRY_AFTER, seconds.into());
    }
    response
}

/// The account to activate as the sheet's link names it.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ActivationLink {
    /// User name.
    #[serde(default)]
    u: String,
    /// The one-time code.
    #[serde(default)]
    c: String,
}

fn activation_form(
    zone_name: &str,
    csrf: &str,
    link: &ActivationLink,
    error: Option<&str>,
) -> Markup {
    let body = html! {
        p.muted { (zone_name) }
        h1 { "激活账号" }
        p { "请核对用户名和激活码（见管理员发给您的激活单），然后设置您自己的登录密码。激活码只能使用一次。" }
        @if let Some(error) = error { p.notice.bad role="alert" { (error) } }
        form method="post" action=(ACTIVATE_PATH) {
            input type="hidden" name=(CSRF_FIELD) value=(csrf);
            div.f {
                label for="username" { "用户名" }
                input #username type="text" name="username" value=(link.u)
                    autocomplete="username" required;
            }
            div.f {
                label for="code" { "激活码" }
                input #code type="text" name="code" value=(link.c)
                    autocomplete="one-time-code" autocapitalize="characters" required;
            }
            div.f {
                label for="new" { "新密码" }
                input #new type="password" name="new_password"
                    autocomplete="new-password" minlength="8" required;
            }
            div.f {
                label for="again" { "再次输入新密码" }
                input #again type="password" name="new_password_again"
                    autocomplete="new-password" required;
            }
            p.muted { "至少 8 个字符，不能是常见密码，也不能包含用户名。" }
            button.btn type="submit" { "激活并登录" }
        }
    };
    layout::bare("激活账号", body)
}

/// `GET /console/activate?u=&c=`: where the activation sheet's QR code leads: the
/// user name and code filled in, a new password to choose.
pub async fn show_activation(
    state: web::Data<AppState>,
    link: web::Query<ActivationLink>,
) -> HttpResponse {
    let csrf = random_token();
    let mut response = render(
        StatusCode::OK,
        activation_form(&state.settings.zone_name, &csrf, &link, None),
    );
    let _ = response.add_cookie(&login_cookie(
        ACTIVATE_PATH,
        csrf,
        state.settings.is_https(),
    ));
    response
}

/// `POST /console/activate`: sets the password with the code, as
/// `POST /api/v1/auth/activate` does (throttling, policy, audit), and signs in with a
/// new session; else the form again with the reason.
pub async fn submit_activation(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (posted, expected) = posted_before_session(&req, &body)?;
    let field = |name| posted.value(name).unwrap_or_default().to_owned();
    let link = ActivationLink {
        u: field("username"),
        c: field("code"),
    };
    let form = |error: &ApiError| {
        let again = activation_form(
            &state.settings.zone_name,
            &expected,
            &link,
            Some(&error.message()),
        );
        refused(error, again)
    };
    let password = field("new_password");
    if password != field("new_password_again") {
        let mismatch = ApiError::field("new_password_again", "mismatch", "两次输入的新密码不一致");
        return Ok(form(&mismatch));
    }
    let activation = ActivateBody {
        username: link.u.clone(),
        code: link.c.clone(),
        password,
    };
    let opened = activate_account(&state, &req, activation, |conn, user| {
        session::open(conn, &user).map(|token| (token, user.role))
    })
    .await;
    match opened {
        Ok((token, role)) => {
            let secure = state.settings.is_https();
            Ok(HttpResponse::SeeOther()
                .insert_header((actix_web::http::header::LOCATION, landing(role)))
                .cookie(session::cookie(token, secure))
                .cookie(expire(login_cookie(ACTIVATE_PATH, String::new(), secure)))
                .finish())
        }
        Err(error) if error.code().status().is_client_error() => Ok(form(&error)),
        Err(error) => Err(error.into()),
    }
}

fn expire(mut cookie: Cookie<'static>) -> Cookie<'static> {
    cookie.set_max_age(time::Duration::ZERO);
    cookie
}

/// `POST /console/logout`: ends this session (audited `auth.logout`) and goes to the
/// sign-in.
pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    Account(signed): Account,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    signed.posted(&req, &body)?;
    let actor = signed.caller.actor();
    let user_id = signed.caller.user_id.clone();
    let token_hash = signed.token_hash().to_owned();
    state
        .db
        .write(move |conn| {
            session::end(conn, &token_hash)?;
            let event = Event::success("auth.logout", "user", &user_id)
                .with_details(serde_json::json!({ "session": "console" }));
            audit::append(conn, &actor, event)
        })
        .await?;
    let mut response = see_other(LOGIN_PATH);
    let _ = response.add_cookie(&session::removal(state.settings.is_https()));
    Ok(response)
}

fn password_form(signed: &Signed, error: Option<&str>) -> Markup {
    let body = html! {
        h1 { "修改密码" }
        @if signed.caller.must_change_password {
            p.notice { "请先设置新密码，然后才能使用其他功能。" }
        }
        @if let Some(error) = error { p.notice.bad role="alert" { (error) } }
        form method="post" action=(crate::console::PASSWORD_PATH) {
            (signed.csrf_field())
            div.f {
                label for="current" { "当前密码" }
                input #current type="password" name="current_password"
                    autocomplete="current-password" required;
            }
            div.f {
                label for="new" { "新密码" }
                input #new type="password" name="new_password"
                    autocomplete="new-password" minlength="8" required;
            }
            div.f {
                label for="again" { "再次输入新密码" }
                input #again type="password" name="new_password_again"
                    autocomplete="new-password" required;
            }
            p.muted { "至少 8 个字符，不能是常见密码，也不能包含用户名。" }
            div.actions {
                button.btn type="submit" { "保存新密码" }
                @if !signed.caller.must_change_password {
                    a href=(landing(signed.caller.role)) { "取消" }
                }
            }
        }
        form method="post" action="/console/logout" {
            (signed.csrf_field())
            button.btn.alt type="submit" { "退出登录" }
        }
    };
    layout::bare("修改密码", body)
}

/// `GET /console/password`: the change-password form, the only page of a user who
/// must change the password.
pub async fn show_password(Account(signed): Account) -> HttpResponse {
    render(StatusCode::OK, password_form(&signed, None))
}

/// `POST /console/password`: changes the password as the API does (its policy, its
/// audit entry, every other session ended); this session goes on, 303 home.
pub async fn submit_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    Account(signed): Account,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = signed.posted(&req, &body)?;
    let field = |name| posted.value(name).unwrap_or_default().to_owned();
    let new = field("new_password");
    if new != field("new_password_again") {
        let again = ApiError::field("new_password_again", "mismatch", "两次输入的新密码不一致");
        return Ok(password_refused(&signed, &again));
    }
    let change = PasswordChange {
        current: field("current_password"),
        new,
    };
    let token_hash = signed.token_hash().to_owned();
    let changed = change_password(&state, signed.caller.clone(), change, move |conn, user| {
        session::follow(conn, &token_hash, &user)
    })
    .await;
    match changed {
        Ok(()) => Ok(see_other(landing(signed.caller.role))),
        Err(error) if error.code().status().is_client_error() => {
            Ok(password_refused(&signed, &error))
        }
        Err(error) => Err(error.into()),
    }
}

fn password_refused(signed: &Signed, error: &ApiError) -> HttpResponse {
    render(
        error.code().status(),
        password_form(signed, Some(&error.message())),
    )
}
