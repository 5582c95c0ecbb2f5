//! Devices that signed in before. A successful sign-in leaves a device token in the
//! browser (a cookie); a later sign-in to the same account presenting it comes from a
//! browser that knew the password, and is throttled per device only, so that guesses
//! from elsewhere cannot lock the account's own user out. Tokens are stored hashed.

use actix_web::cookie::{Cookie, SameSite, time};
use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use crate::auth::tokens::{hash_opaque_token, new_opaque_token};
use crate::db::schema::login_devices;
use crate::db::{DbConnection, new_id};
use crate::domain::id::UserId;
use crate::error::ApiError;

/// Name of the device cookie.
pub const COOKIE: &str = "truckpass_device";
/// The API's device cookie goes to its sign-in (and its neighbours) only.
pub const API_PATH: &str = "/api/v1/auth";
/// Longest token looked up; ours are 43 characters.
const MAX_TOKEN_CHARS: usize = 64;

/// The id of the device whose token `presented` is, when it belongs to `user_id` and
/// has not expired.
pub fn recognise(
    conn: &mut DbConnection,
    user_id: &UserId,
    presented: &str,
    now: NaiveDateTime,
) -> Result<Option<String>, ApiError> {
    if presented.len() > MAX_TOKEN_CHARS {
        return Ok(None);
    }
    Ok(login_devices::table
        .filter(login_devices::token_hash.eq(hash_opaque_token(presented)))
        .filter(login_devices::user_id.eq(user_id))
        .filter(login_devices::expires_at.gt(now))
        .select(login_devices::id)
        .first(conn)
        .optional()?)
}

/// Registers a new device of `user_id` for `ttl` and forgets the user's expired ones;
/// returns the token for the cookie.
pub fn register(
    conn: &mut DbConnection,
    user_id: &UserId,
    ttl: TimeDelta,
    now: NaiveDateTime,
) -> Result<String, ApiError> {
    diesel::delete(
        login_devices::table
            .filter(login_devices::user_id.eq(user_id))
            .filter(login_devices::expires_at.le(now)),
    )
    .execute(conn)?;
    let (token, hash) = new_opaque_token();
    diesel::insert_into(login_devices::table)
        .values((
            login_devices::id.eq(new_id()),
            login_devices::user_id.eq(user_id),
            login_devices::token_hash.eq(hash),
            login_devices::created_at.eq(now),
            login_devices::expires_at.eq(now + ttl),
        ))
        .execute(conn)?;
    Ok(token)
}

/// The cookie carrying a device token: sent to the sign-in at `path` only (the API's
/// or the console's), hidden from scripts, never sent cross-site, `Secure` when the
/// service is reached over https.
pub fn cookie(token: String, ttl: TimeDelta, secure: bool, path: &'static str) -> Cookie<'static> {
    Cookie::build(COOKIE, token)
        .path(path)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .max_age(time::Duration::seconds(ttl.num_seconds()))
        .finish()
}
