//! The staff console under `/console/`: server-rendered pages (maud templates, escaping
//! by default) for enterprise contacts, officials, the regulator and admins, in zh-CN,
//! for a phone at the gate and an office screen, progressively enhanced by the vendored
//! htmx ([`assets`]). Nothing is loaded from elsewhere.
//!
//! Every page is a thin adapter: it calls the same services and scoped queries as the
//! JSON API (so the same audit entries are written and nothing outside the caller's
//! scope is listed; a foreign id is the 404 page). Sign-in is a server-side session
//! behind an `HttpOnly` cookie with a CSRF token on every form ([`session`]).
//!
//! - [`layout`]: the page frame, its style and the navigation by role;
//! - [`session`]: the session model, its cookie, who is signed in, posted forms;
//! - [`account`]: sign in, sign out, change password;
//! - [`home`], [`registrations`], [`settings`], [`code`], [`fields`]: the pages of the
//!   enterprise's own work;
//! - [`gate`]: the gate's pages (门岗) for its guards and the enterprise's contacts:
//!   scanning passes by camera, picture or typing, who is inside, the failed scans;
//! - [`enterprise`]: which enterprise a page is about;
//! - [`enterprises`]: the roster of a caller's scope, its exports, an enterprise's page;
//! - [`dashboard`]: the officials' dashboard of their scope, its charts from [`chart`];
//! - [`audit`]: the audit log and its verification, for the oversight roles.
//! - [`survey`]: the survey's campaigns, assignment, ledger and review, for the
//!   officials who run it.
//! - [`users`], [`activation`], [`org`], [`roster`], [`posters`]: the admin's pages.

pub mod account;
pub mod activation;
pub mod assets;
pub mod audit;
pub mod chart;
pub mod code;
pub mod dashboard;
pub mod enterprise;
pub mod enterprises;
pub mod fields;
pub mod gate;
pub mod home;
pub mod layout;
pub mod org;
pub mod posters;
pub mod registrations;
pub mod roster;
pub mod session;
pub mod settings;
pub mod survey;
pub mod uploads;
pub mod users;

use actix_web::body::BoxBody;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, ResponseError};
use maud::{Markup, html};

use crate::auth::caller::ADMIN;
use crate::console::session::Signed;
use crate::error::ApiError;

/// The Content-Security-Policy of every console page: scripts only from our own
/// assets (no inline script), styles inline, requests (htmx) and forms only to
/// ourselves, never framed.
pub const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; \
     frame-ancestors 'none'";

/// Where a signed-out visitor is sent.
pub const LOGIN_PATH: &str = "/console/login";
/// Where an activation sheet's QR code leads.
pub const ACTIVATE_PATH: &str = "/console/activate";
/// Where a user who must change the password is sent.
pub const PASSWORD_PATH: &str = "/console/password";
/// The home page.
pub const HOME_PATH: &str = "/console/";

/// An HTML response of the console with its security headers.
pub fn render(status: StatusCode, markup: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::CONTENT_SECURITY_POLICY, POLICY))
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .body(markup.into_string())
}

/// A 303 to `location` (after a form post, or to the sign-in).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_owned()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// Why a console request ends without its page.
#[derive(Debug)]
pub enum PageError {
    /// Not signed in, or the session ended: 303 to the sign-in.
    SignIn,
    /// The password must be changed first: 303 to the change-password page.
    ChangePassword,
    /// A form post without the session's CSRF token: 403 page.
    Forged,
    /// What the API would have answered: its status and message as a page (an
    /// out-of-scope id is the 404 page).
    Api(ApiError),
}

impl From<ApiError> for PageError {
    fn from(error: ApiError) -> Self {
        PageError::Api(error)
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PageError::SignIn => f.write_str("sign-in required"),
            PageError::ChangePassword => f.write_str("password change required"),
            PageError::Forged => f.write_str("missing or wrong CSRF token"),
            PageError::Api(error) => error.fmt(f),
        }
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::SignIn | PageError::ChangePassword => StatusCode::SEE_OTHER,
            PageError::Forged => StatusCode::FORBIDDEN,
            PageError::Api(error) => error.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        match self {
            PageError::SignIn => see_other(LOGIN_PATH),
            PageError::ChangePassword => see_other(PASSWORD_PATH),
            PageError::Forged => problem_page(
                StatusCode::FORBIDDEN,
                "无法提交",
                "页面已过期或来源不明，请返回后刷新页面再试。",
            ),
            PageError::Api(error) => {
                // The API's response logs a server error's cause chain and carries
                // Retry-After; the page keeps those and shows the message.
                let api = error.error_response();
                let mut page = problem_page(api.status(), "无法完成", &error.message());
                if let Some(retry) = api.headers().get(header::RETRY_AFTER) {
                    page.headers_mut()
                        .insert(header::RETRY_AFTER, retry.clone());
                }
                page
            }
        }
    }
}

/// 404 for an action the caller's role may not take: as for a foreign id, nothing
/// tells what exists.
pub fn allowed(allowed: bool) -> Result<(), PageError> {
    if allowed {
        Ok(())
    } else {
        Err(ApiError::not_found().into())
    }
}

/// The admin's pages are the 404 page for every other role.
pub fn admin_only(signed: &Signed) -> Result<(), PageError> {
    allowed(ADMIN.allows(signed.caller.role))
}

/// The console's page for an unknown address (the route table's fallback under
/// `/console/`).
pub fn not_found_page() -> HttpResponse {
    problem_page(
        StatusCode::NOT_FOUND,
        "未找到",
        "您要找的页面不存在，或不在您的管理范围内。",
    )
}

/// A page with a heading, a message and a way home.
fn problem_page(status: StatusCode, title: &str, text: &str) -> HttpResponse {
    let body = html! {
        h1 { (title) }
        p.notice.bad { (text) }
        p { a href=(HOME_PATH) { "返回首页" } }
    };
    render(status, layout::bare(title, body))
}
