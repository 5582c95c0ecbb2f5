//! Console sessions: a random token in the `tp_console` cookie, stored hashed next to
//! the user's token version at sign-in (so that sign-out, password change, disabling
//! and an admin's reset end it like the API's tokens), a CSRF token that every form
//! post must carry, and idle and absolute timeouts. [`Signed`] is the signed-in user
//! of a page.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use maud::{Markup, html};

use crate::auth::caller::Caller;
use crate::auth::tokens::{hash_opaque_token, new_opaque_token};
use crate::client::client_ip;
use crate::console::PageError;
use crate::db::schema::console_sessions;
use crate::db::{DbConnection, now};
use crate::domain::account::Role;
use crate::domain::id::UserId;
use crate::domain::text::random_token;
use crate::error::ApiError;
use crate::state::AppState;
use crate::users::User;

/// Name of the session cookie.
pub const COOKIE: &str = "tp_console";
/// The session cookie goes to the console only.
pub const COOKIE_PATH: &str = "/console";
/// The form field carrying the CSRF token.
pub const CSRF_FIELD: &str = "csrf";
/// The header carrying the CSRF token on htmx requests.
pub const CSRF_HEADER: &str = "X-CSRF-Token";
/// A session unused this long is over.
pub const IDLE_TIMEOUT: TimeDelta = TimeDelta::minutes(30);
/// A session is over this long after sign-in, however busy.
pub const ABSOLUTE_TIMEOUT: TimeDelta = TimeDelta::hours(12);
/// `last_seen_at` is written at most this often, not on every page.
const TOUCH_AFTER: TimeDelta = TimeDelta::minutes(1);
/// Longest cookie value looked up; ours are 43 characters.
const MAX_TOKEN_CHARS: usize = 64;

/// A stored console session.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = console_sessions)]
struct ConsoleSession {
    token_hash: String,
    user_id: UserId,
    token_version: i64,
    csrf_token: String,
    created_at: NaiveDateTime,
    last_seen_at: NaiveDateTime,
}

impl ConsoleSession {
    fn is_over(&self, at: NaiveDateTime) -> bool {
        at - self.last_seen_at > IDLE_TIMEOUT || at - self.created_at > ABSOLUTE_TIMEOUT
    }
}

/// Opens a session for `user` (inside the sign-in's transaction); returns the token
/// for the cookie.
pub fn open(conn: &mut DbConnection, user: &User) -> Result<String, ApiError> {
    let (token, hash) = new_opaque_token();
    let at = now();
    diesel::insert_into(console_sessions::table)
        .values((
            console_sessions::token_hash.eq(hash),
            console_sessions::user_id.eq(&user.id),
            console_sessions::token_version.eq(user.token_version),
            console_sessions::csrf_token.eq(random_token()),
            console_sessions::created_at.eq(at),
            console_sessions::last_seen_at.eq(at),
        ))
        .execute(conn)?;
    Ok(token)
}

/// Keeps a session going after its user's own password change (which ended every
/// session of the user): it moves to the user's new token version.
pub fn follow(conn: &mut DbConnection, token_hash: &str, user: &User) -> Result<(), ApiError> {
    diesel::update(console_sessions::table.find(token_hash))
        .set(console_sessions::token_version.eq(user.token_version))
        .execute(conn)?;
    Ok(())
}

/// Ends a session.
pub fn end(conn: &mut DbConnection, token_hash: &str) -> Result<(), ApiError> {
    diesel::delete(console_sessions::table.find(token_hash)).execute(conn)?;
    Ok(())
}

/// Forgets sessions past a timeout (the hourly retention job); returns how many.
pub fn sweep(conn: &mut DbConnection, at: NaiveDateTime) -> Result<usize, ApiError> {
    Ok(diesel::delete(
        console_sessions::table.filter(
            console_sessions::last_seen_at
                .lt(at - IDLE_TIMEOUT)
                .or(console_sessions::created_at.lt(at - ABSOLUTE_TIMEOUT)),
        ),
    )
    .execute(conn)?)
}

/// The session cookie: hidden from scripts, never sent cross-site, for the console
/// only, `Secure` behind https; it lasts as long as the browser, the server ends it
/// sooner.
pub fn cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build(COOKIE, token)
        .path(COOKIE_PATH)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .finish()
}

/// The cookie that removes the session cookie.
pub fn removal(secure: bool) -> Cookie<'static> {
    let mut cookie = cookie(String::new(), secure);
    cookie.set_max_age(time::Duration::ZERO);
    cookie
}

/// Whether a presented secret equals the expected one, in a time that does not tell
/// how much of it matched (the hashes are compared).
pub fn same_secret(presented: &str, expected: &str) -> bool {
    hash_opaque_token(presented) == hash_opaque_token(expected)
}

/// A form as posted: its fields in order, names repeated for several values.
#[derive(Debug, Default)]
pub struct Posted(Vec<(String, String)>);

impl Posted {
    /// Reads an `application/x-www-form-urlencoded` body; anything else reads as
    /// fields that are simply not there.
    pub fn parse(body: &[u8]) -> Self {
        Self(url::form_urlencoded::parse(body).into_owned().collect())
    }

    /// The first value of a field.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// A typed-in text field, trimmed: `None` when absent or blank; 422 when it holds
    /// NUL, which no field has a use for (and PostgreSQL cannot compare).
    pub fn text(&self, name: &str) -> Result<Option<String>, ApiError> {
        let value = self.value(name).unwrap_or_default().trim();
        if value.contains('\0') {
            return Err(ApiError::field(
                name,
                "invalid_value",
                "含有不允许的空字符（U+0000）",
            ));
        }
        Ok(Some(value.to_owned()).filter(|value| !value.is_empty()))
    }

    /// Every value of a field.
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Every value of `name` as an id (ticked boxes, hidden fields).
    pub fn ids<T: From<String>>(&self, name: &str) -> Vec<T> {
        self.values(name).map(|id| T::from(id.to_owned())).collect()
    }
}

/// The signed-in user of a console desk page who may work (has no password to change
/// first); refuses with a 303 to the sign-in or to the change-password page, and a
/// gate guard with the 404 page.
#[derive(Debug)]
pub struct Signed {
    /// The user, as the API's handlers see a caller.
    pub caller: Caller,
    /// The session's CSRF token.
    pub csrf: String,
    token_hash: String,
}

impl Signed {
    /// The form posted as `body`, when it carries this session's CSRF token (in its
    /// field, or in the header htmx sends); else [`PageError::Forged`].
    pub fn posted(&self, req: &HttpRequest, body: &[u8]) -> Result<Posted, PageError> {
        let posted = Posted::parse(body);
        self.check_csrf(req, posted.value(CSRF_FIELD))?;
        Ok(posted)
    }

    /// Whether a form's CSRF field (or else the header htmx sends) carries this
    /// session's token; else [`PageError::Forged`]. For forms [`Signed::posted`]
    /// does not read (file uploads).
    pub fn check_csrf(&self, req: &HttpRequest, field: Option<&str>) -> Result<(), PageError> {
        let header = req
            .headers()
            .get(CSRF_HEADER)
            .and_then(|value| value.to_str().ok());
        match field.or(header) {
            Some(token) if same_secret(token, &self.csrf) => Ok(()),
            _ => Err(PageError::Forged),
        }
    }

    /// The hidden field of every form.
    pub fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name=(CSRF_FIELD) value=(self.csrf); }
    }

    /// The stored key of the session.
    pub fn token_hash(&self) -> &str {
        &self.token_hash
    }
}

impl FromRequest for Signed {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, PageError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let signed = working(&req).await?;
            // Gate guards see none of the console's desk pages: only the gate's pages
            // (`console::gate::Scanner`) and their own account's ([`Account`]).
            if signed.caller.role == Role::GateGuard {
                return Err(ApiError::not_found().into());
            }
            Ok(signed)
        })
    }
}

/// The signed-in user of a request, of any role, who may work (has no password to
/// change first); else the 303 to the sign-in or to the change-password page.
pub async fn working(req: &HttpRequest) -> Result<Signed, PageError> {
    let signed = authenticate(req).await?;
    if signed.caller.must_change_password {
        return Err(PageError::ChangePassword);
    }
    Ok(signed)
}

/// A signed-in user, also one who must still change the password: the
/// change-password page and sign-out.
#[derive(Debug)]
pub struct Account(pub Signed);

impl FromRequest for Account {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, PageError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(&req).await.map(Account) })
    }
}

/// The user of the request's session cookie: the session must exist and be within
/// its timeouts, its user active at the session's token version. A session found
/// over is deleted; a live one is marked seen (at most once a minute).
pub async fn authenticate(req: &HttpRequest) -> Result<Signed, PageError> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        let missing = anyhow::anyhow!("the application state is not registered");
        return Err(ApiError::internal(missing).into());
    };
    let token = req
        .cookie(COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|token| !token.is_empty() && token.len() <= MAX_TOKEN_CHARS)
        .ok_or(PageError::SignIn)?;
    let hash = hash_opaque_token(&token);
    let lookup = hash.clone();
    let found = state
        .db
        .read(move |conn| {
            let session: Option<ConsoleSession> = console_sessions::table
                .find(&lookup)
                .select(ConsoleSession::as_select())
                .first(conn)
                .optional()?;
            session
                .map(|session| {
                    User::find_with_scope(conn, &session.user_id).map(|found| (session, found))
                })
                .transpose()
        })
        .await?;
    let Some((session, (user, scope))) = found else {
        return Err(PageError::SignIn);
    };
    let at = now();
    if session.is_over(at) || !user.active || user.token_version != session.token_version {
        let over = session.token_hash.clone();
        state.db.write(move |conn| end(conn, &over)).await?;
        return Err(PageError::SignIn);
    }
    if at - session.last_seen_at > TOUCH_AFTER {
        let seen = session.token_hash.clone();
        state
            .db
            .write(move |conn| {
                diesel::update(console_sessions::table.find(&seen))
                    .set(console_sessions::last_seen_at.eq(at))
                    .execute(conn)
                    .map(drop)
                    .map_err(ApiError::from)
            })
            .await?;
    }
    Ok(Signed {
        caller: Caller {
            user_id: user.id,
            username: user.username,
            role: user.role,
            scope,
            ip: client_ip(req, state.settings.trust_proxy_headers),
            must_change_password: user.must_change_password,
        },
        csrf: session.csrf_token,
        token_hash: hash,
    })
}
