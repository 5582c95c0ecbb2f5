//! Fill once (一次填报): after a registration the driver's browser keeps a random
//! driver key; with it the next enterprise's form comes pre-filled. The key is the
//! only way to read the profile (it is stored hashed, the profile sealed), and the
//! driver can erase it.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{NaiveDateTime, TimeDelta};
use data_encoding::BASE64URL_NOPAD;
use diesel::backend::Backend;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{Text, Timestamp};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::db::schema::driver_profiles;
use crate::db::{DbConnection, now, on_backend};
use crate::domain::text;
use crate::error::ApiError;
use crate::personal::Vault;
use crate::state::AppState;

/// Request and response header carrying the driver key.
pub const DRIVER_KEY_HEADER: &str = "x-driver-key";
/// The pages' cookie carrying the driver key (the page's script also keeps it in
/// localStorage and restores the cookie from there).
pub const DRIVER_KEY_COOKIE: &str = "tp_driver";
const CONTEXT: &str = "driver_profiles.profile";

/// What the next form is pre-filled with.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Profile {
    /// Name.
    pub driver_name: String,
    /// Document type.
    pub document_type: String,
    /// Document number.
    pub document_number: String,
    /// Mobile.
    pub phone: String,
    /// Plate.
    pub plate: String,
    /// Trailer plate.
    pub trailer_plate: Option<String>,
    /// Vehicle type.
    pub vehicle_type: String,
    /// Origin region code.
    pub origin_region: String,
}

/// A new random driver key (256 bits, base64url).
pub fn new_key() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    BASE64URL_NOPAD.encode(&bytes)
}

fn key_hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

fn is_well_formed(key: &str) -> bool {
    text::is_key(key, 32..=128)
}

/// The driver key the page's cookie carries; a malformed one counts as none.
pub fn key_of_cookie(req: &HttpRequest) -> Option<String> {
    req.cookie(DRIVER_KEY_COOKIE)
        .map(|cookie| cookie.value().to_owned())
        .filter(|key| is_well_formed(key))
}

/// The driver key a request's header carries; a malformed one is a 400.
pub fn key_of(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get(DRIVER_KEY_HEADER) else {
        return Ok(None);
    };
    let key = value.to_str().unwrap_or_default();
    if !is_well_formed(key) {
        return Err(ApiError::bad_request(
            "invalid_driver_key",
            "司机密钥格式不正确，请清除本机保存的信息后重新填写",
        ));
    }
    Ok(Some(key.to_owned()))
}

/// A profile sealed for storage under its driver key (sealing and hashing are done
/// before the write, off the database's writer).
pub struct SealedProfile {
    key_hash: String,
    sealed: String,
}

impl Profile {
    /// Seals the profile for storage under `key`.
    pub fn seal(&self, vault: &Vault, key: &str) -> Result<SealedProfile, ApiError> {
        let json = serde_json::to_string(self).map_err(ApiError::internal)?;
        Ok(SealedProfile {
            key_hash: key_hash(key),
            sealed: vault.seal(CONTEXT, &json).map_err(ApiError::internal)?,
        })
    }
}

/// Stores (replaces) a profile, inside the caller's transaction.
pub fn save(conn: &mut DbConnection, profile: &SealedProfile) -> Result<(), ApiError> {
    let upsert = SaveProfile { profile, at: now() };
    on_backend!(conn, |c| upsert.execute(c))?;
    Ok(())
}

/// `INSERT ... ON CONFLICT (key_hash) DO UPDATE`, written out: diesel prepares the
/// upserts it builds anew on every run, and this one runs with every registration.
struct SaveProfile<'a> {
    profile: &'a SealedProfile,
    at: NaiveDateTime,
}

impl QueryId for SaveProfile<'_> {
    type QueryId = SaveProfile<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<DB> QueryFragment<DB> for SaveProfile<'_>
where
    DB: Backend,
    str: ToSql<Text, DB>,
    NaiveDateTime: ToSql<Timestamp, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("INSERT INTO driver_profiles (key_hash, profile, updated_at) VALUES (");
        out.push_bind_param::<Text, str>(&self.profile.key_hash)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, str>(&self.profile.sealed)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, NaiveDateTime>(&self.at)?;
        out.push_sql(
            ") ON CONFLICT (key_hash) DO UPDATE SET profile = excluded.profile, \
             updated_at = excluded.updated_at",
        );
        Ok(())
    }
}

impl<Conn> RunQueryDsl<Conn> for SaveProfile<'_> {}

/// Erases profiles not used within the retention period; returns how many.
pub fn purge(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    retention_days: u32,
) -> Result<usize, ApiError> {
    let cutoff = now - TimeDelta::days(i64::from(retention_days));
    Ok(
        diesel::delete(driver_profiles::table.filter(driver_profiles::updated_at.lt(cutoff)))
            .execute(conn)?,
    )
}

fn required_key(req: &HttpRequest) -> Result<String, ApiError> {
    key_of(req)?
        .ok_or_else(|| ApiError::bad_request("driver_key_required", "缺少司机密钥（X-Driver-Key）"))
}

/// The profile kept under a driver key, if there is one.
pub async fn find(state: &AppState, key: &str) -> Result<Option<Profile>, ApiError> {
    let hash = key_hash(key);
    let sealed: Option<String> = state
        .db
        .read(move |conn| {
            // By key without LIMIT (`first`), which SQLite would plan anew every time.
            Ok(driver_profiles::table
                .find(&hash)
                .select(driver_profiles::profile)
                .get_result(conn)
                .optional()?)
        })
        .await?;
    let Some(sealed) = sealed else {
        return Ok(None);
    };
    let json = state
        .vault
        .open(CONTEXT, &sealed)
        .map_err(ApiError::internal)?;
    Ok(Some(
        serde_json::from_str(&json).map_err(ApiError::internal)?,
    ))
}

/// Erases the profile kept under a driver key (nothing when there is none).
pub async fn erase(state: &AppState, key: &str) -> Result<(), ApiError> {
    let hash = key_hash(key);
    state
        .db
        .write(move |conn| {
            diesel::delete(driver_profiles::table.find(&hash)).execute(conn)?;
            Ok(())
        })
        .await
}

/// `GET /api/v1/public/drivers/me`: the profile behind the driver key.
pub async fn find_driver_profile(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    match find(&state, &required_key(&req)?).await? {
        Some(profile) => Ok(HttpResponse::Ok().json(profile)),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "profile_not_found",
            "没有保存的司机信息，请完整填写",
        )),
    }
}

/// `DELETE /api/v1/public/drivers/me`: 「清除我的信息」.
pub async fn erase_driver_profile(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    erase(&state, &required_key(&req)?).await?;
    Ok(HttpResponse::NoContent().finish())
}
