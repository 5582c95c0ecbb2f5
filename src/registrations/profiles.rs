//! Fill once (一次填报): after a registration the driver's browser keeps a random
//! driver key; with it the next enterprise's form comes pre-filled. Each driver has a
//! stable random id, stored with their registrations; the key that reaches it is
//! issued by the server only, stored hashed, and replaced by a new one at every
//! registration, so a key planted in a browser, or copied from it, is worth nothing
//! after the driver's next registration. The profile is sealed, its document number
//! and phone are only ever sent back masked, and the driver can erase it.

use actix_web::cookie::{Cookie, SameSite, time::Duration};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{NaiveDateTime, TimeDelta};
use data_encoding::BASE64URL_NOPAD;
use diesel::backend::Backend;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::query_dsl::methods::ExecuteDsl;
use diesel::serialize::ToSql;
use diesel::sql_types::{Text, Timestamp};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::audit::{self, Actor, Event};
use crate::client::client_ip;
use crate::config::Settings;
use crate::db::schema::driver_profiles;
use crate::db::together::Insertion;
use crate::db::{Db, DbConnection, new_id, now, on_backend};
use crate::domain::person::{DocumentNumber, DocumentType, Mobile};
use crate::domain::text;
use crate::domain::vehicle::VehicleType;
use crate::error::{ApiError, ErrorCode};
use crate::personal::Vault;
use crate::registrations::submit::Registrar;
use crate::state::AppState;

/// Request and response header carrying the driver key.
pub const DRIVER_KEY_HEADER: &str = "x-driver-key";
/// The pages' cookie carrying the driver key: `HttpOnly`, so page scripts never read
/// it (see [`HANDOFF_COOKIE`] for the page script's copy).
pub const DRIVER_KEY_COOKIE: &str = "tp_driver";
/// A short-lived cookie that hands a newly issued key to the page script once, which
/// keeps a copy in localStorage (browsers in some apps drop cookies) and deletes it.
pub const HANDOFF_COOKIE: &str = "tp_driver_new";
const CONTEXT: &str = "driver_profiles.profile";

/// What the next form is pre-filled with.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Profile {
    /// Name.
    pub driver_name: String,
    /// Document type.
    pub document_type: DocumentType,
    /// Document number (masked whenever it leaves the server).
    pub document_number: String,
    /// Mobile (masked whenever it leaves the server).
    pub phone: String,
    /// Plate.
    pub plate: String,
    /// Trailer plate.
    pub trailer_plate: Option<String>,
    /// Vehicle type.
    pub vehicle_type: VehicleType,
    /// Origin region code.
    pub origin_region: String,
}

impl Profile {
    /// The profile as a browser or client may see it: document number and phone
    /// masked.
    pub fn masked(&self) -> Profile {
        Profile {
            document_number: DocumentNumber::mask_stored(self.document_type, &self.document_number),
            phone: Mobile::mask_stored(&self.phone),
            ..self.clone()
        }
    }

    /// Seals the profile for storage.
    pub fn seal(&self, vault: &Vault) -> Result<String, ApiError> {
        let json = serde_json::to_string(self).map_err(ApiError::internal)?;
        vault.seal(CONTEXT, &json).map_err(ApiError::internal)
    }
}

/// A driver key, as issued by the server: 256 random bits, base64url.
#[derive(Clone, PartialEq, Eq)]
pub struct DriverKey(String);

impl std::fmt::Debug for DriverKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DriverKey(..)")
    }
}

impl DriverKey {
    /// A new random key.
    pub fn new() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self(BASE64URL_NOPAD.encode(&bytes))
    }

    /// A presented key, if well-formed (whether the server issued it is for the
    /// database to say).
    fn parse(raw: &str) -> Option<Self> {
        text::is_key(raw, 32..=128).then(|| Self(raw.to_owned()))
    }

    /// The key as sent to the client.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What is stored of it.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }

    /// The key a page request's cookie carries; a malformed one counts as none.
    pub fn of_cookie(req: &HttpRequest) -> Option<Self> {
        req.cookie(DRIVER_KEY_COOKIE)
            .and_then(|cookie| Self::parse(cookie.value()))
    }

    /// The key an API request's header carries; a malformed one is a 400.
    pub fn of_header(req: &HttpRequest) -> Result<Option<Self>, ApiError> {
        let Some(value) = req.headers().get(DRIVER_KEY_HEADER) else {
            return Ok(None);
        };
        Self::parse(value.to_str().unwrap_or_default())
            .map(Some)
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidDriverKey,
                    "司机密钥格式不正确，请清除本机保存的信息后重新填写",
                )
            })
    }
}

impl Default for DriverKey {
    fn default() -> Self {
        Self::new()
    }
}

/// The cookie that keeps a key in the browser: `HttpOnly`, for as long as profiles
/// are kept.
pub fn key_cookie(settings: &Settings, key: &DriverKey) -> Cookie<'static> {
    let lifetime = Duration::days(i64::from(settings.retention_days.max(1)));
    cookie(settings, DRIVER_KEY_COOKIE, key.as_str(), lifetime, true)
}

/// The cookies that keep a newly issued key in the browser: the key itself and the
/// script's one-time copy.
pub fn key_cookies(settings: &Settings, key: &DriverKey) -> [Cookie<'static>; 2] {
    [
        key_cookie(settings, key),
        cookie(
            settings,
            HANDOFF_COOKIE,
            key.as_str(),
            Duration::minutes(5),
            false,
        ),
    ]
}

/// The cookies that make a browser forget its key.
pub fn forget_cookies(settings: &Settings) -> [Cookie<'static>; 2] {
    [DRIVER_KEY_COOKIE, HANDOFF_COOKIE].map(|name| {
        cookie(
            settings,
            name,
            "",
            Duration::ZERO,
            name == DRIVER_KEY_COOKIE,
        )
    })
}

fn cookie(
    settings: &Settings,
    name: &'static str,
    value: &str,
    max_age: Duration,
    http_only: bool,
) -> Cookie<'static> {
    Cookie::build(name, value.to_owned())
        .path("/")
        .max_age(max_age)
        .same_site(SameSite::Lax)
        .http_only(http_only)
        .secure(settings.is_https())
        .finish()
}

/// The driver a presented key belongs to, if the server issued it and it is current.
pub fn driver_of(conn: &mut DbConnection, key: &DriverKey) -> Result<Option<String>, ApiError> {
    let hash = key.hash();
    Ok(on_backend!(conn, |c| {
        driver_profiles::table
            .filter(driver_profiles::key_hash.eq(&hash))
            .select(driver_profiles::id)
            .get_result(c)
            .optional()
    })?)
}

/// Where a registration's profile is kept, inside its transaction.
pub struct Keeping<'a> {
    /// The key the request presented, if any.
    pub presented: Option<&'a DriverKey>,
    /// The new key.
    pub new_key: &'a DriverKey,
    /// The sealed profile.
    pub sealed: &'a str,
}

impl Keeping<'_> {
    /// Keeps the profile under the presented key's driver, now reached by the new key
    /// only; when the presented key is not current, under `fallback_driver` (a retry
    /// of a registration whose answer, with the key it issued, was lost); otherwise
    /// under a new driver id. Returns the driver's id.
    pub fn save(
        &self,
        conn: &mut DbConnection,
        fallback_driver: Option<&str>,
    ) -> Result<String, ApiError> {
        if let Some(driver) = self.existing(conn, fallback_driver)? {
            return Ok(driver);
        }
        let id = new_id();
        on_backend!(conn, |c| {
            ExecuteDsl::execute(self.new_driver(&id).insertion(), c)
        })?;
        Ok(id)
    }

    /// Keeps the profile under the presented key's driver or `fallback_driver`, as
    /// [`Keeping::save`] does, and returns that driver's id; `None`, writing nothing,
    /// when neither is known (a new driver, see [`Keeping::new_driver`]).
    pub fn existing(
        &self,
        conn: &mut DbConnection,
        fallback_driver: Option<&str>,
    ) -> Result<Option<String>, ApiError> {
        let at = now();
        let new_hash = self.new_key.hash();
        if let Some(presented) = self.presented {
            let old_hash = presented.hash();
            let rotate = RotateKey {
                old_hash: &old_hash,
                new_hash: &new_hash,
                sealed: self.sealed,
                at,
            };
            let rotated: Option<String> = on_backend!(conn, |c| rotate.get_result(c).optional())?;
            if rotated.is_some() {
                return Ok(rotated);
            }
        }
        if let Some(driver) = fallback_driver {
            let changed = diesel::update(driver_profiles::table.find(driver))
                .set((
                    driver_profiles::key_hash.eq(&new_hash),
                    driver_profiles::profile.eq(self.sealed),
                    driver_profiles::updated_at.eq(at),
                ))
                .execute(conn)?;
            if changed == 1 {
                return Ok(Some(driver.to_owned()));
            }
        }
        Ok(None)
    }

    /// The row of a new driver with id `id`, reached by the new key.
    pub fn new_driver<'a>(&'a self, id: &'a str) -> NewDriver<'a> {
        NewDriver {
            id,
            key_hash: self.new_key.hash(),
            profile: self.sealed,
            updated_at: now(),
        }
    }
}

/// A new driver's row.
// Without `treat_none_as_default_value = false` diesel wraps every field as optional,
// which on PostgreSQL makes the INSERT (and the registration's statement it is part
// of) one that is planned anew on every run instead of prepared once.
#[derive(Debug, Insertable)]
#[diesel(table_name = driver_profiles, treat_none_as_default_value = false)]
pub struct NewDriver<'a> {
    id: &'a str,
    key_hash: String,
    profile: &'a str,
    updated_at: NaiveDateTime,
}

impl NewDriver<'_> {
    /// Its INSERT, to write it together with its registration
    /// ([`crate::db::together`]).
    pub fn insertion(&self) -> impl Insertion + '_ {
        diesel::insert_into(driver_profiles::table).values(self)
    }
}

/// `UPDATE driver_profiles SET key_hash = $new, profile = $p, updated_at = $t WHERE
/// key_hash = $old RETURNING id`, written out: diesel prepares the updates it builds
/// anew on every run, and this one runs with every registration of a returning driver.
struct RotateKey<'a> {
    old_hash: &'a str,
    new_hash: &'a str,
    sealed: &'a str,
    at: NaiveDateTime,
}

impl QueryId for RotateKey<'_> {
    type QueryId = RotateKey<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<DB> QueryFragment<DB> for RotateKey<'_>
where
    DB: Backend,
    str: ToSql<Text, DB>,
    NaiveDateTime: ToSql<Timestamp, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("UPDATE driver_profiles SET key_hash = ");
        out.push_bind_param::<Text, str>(self.new_hash)?;
        out.push_sql(", profile = ");
        out.push_bind_param::<Text, str>(self.sealed)?;
        out.push_sql(", updated_at = ");
        out.push_bind_param::<Timestamp, NaiveDateTime>(&self.at)?;
        out.push_sql(" WHERE key_hash = ");
        out.push_bind_param::<Text, str>(self.old_hash)?;
        out.push_sql(" RETURNING id");
        Ok(())
    }
}

impl Query for RotateKey<'_> {
    type SqlType = Text;
}

impl<Conn> RunQueryDsl<Conn> for RotateKey<'_> {}

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

fn required_key(req: &HttpRequest) -> Result<DriverKey, ApiError> {
    DriverKey::of_header(req)?
        .ok_or_else(|| ApiError::new(ErrorCode::DriverKeyRequired, "缺少司机密钥（X-Driver-Key）"))
}

/// The profile kept under a driver key, in full (for the server's own use), if the
/// key is current.
pub async fn find(db: &Db, vault: &Vault, key: &DriverKey) -> Result<Option<Profile>, ApiError> {
    let hash = key.hash();
    let sealed: Option<String> = db
        .read(move |conn| {
            Ok(on_backend!(conn, |c| {
                driver_profiles::table
                    .filter(driver_profiles::key_hash.eq(&hash))
                    .select(driver_profiles::profile)
                    .get_result(c)
                    .optional()
            })?)
        })
        .await?;
    let Some(sealed) = sealed else {
        return Ok(None);
    };
    let json = vault.open(CONTEXT, &sealed).map_err(ApiError::internal)?;
    Ok(Some(
        serde_json::from_str(&json).map_err(ApiError::internal)?,
    ))
}

/// Erases the profile kept under a driver key, auditing it when there was one;
/// whether there was.
pub async fn erase(db: &Db, key: &DriverKey, actor: Actor) -> Result<bool, ApiError> {
    let hash = key.hash();
    db.write(move |conn| {
        let driver: Option<String> = driver_profiles::table
            .filter(driver_profiles::key_hash.eq(&hash))
            .select(driver_profiles::id)
            .get_result(conn)
            .optional()?;
        let Some(driver) = driver else {
            return Ok(false);
        };
        diesel::delete(driver_profiles::table.find(&driver)).execute(conn)?;
        audit::append(
            conn,
            &actor,
            Event::success("driver.erase", "driver", driver),
        )?;
        Ok(true)
    })
    .await
}

/// `GET /api/v1/public/drivers/me`: the profile behind the driver key, its document
/// number and phone masked.
pub async fn find_driver_profile(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    match find(&state.db, &state.vault, &required_key(&req)?).await? {
        Some(profile) => Ok(HttpResponse::Ok().json(profile.masked())),
        None => Err(ApiError::new(
            ErrorCode::ProfileNotFound,
            "没有保存的司机信息，请完整填写",
        )),
    }
}

/// `DELETE /api/v1/public/drivers/me`: 「清除我的信息」.
pub async fn erase_driver_profile(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let key = required_key(&req)?;
    let ip = client_ip(&req, state.settings.trust_proxy_headers);
    Registrar::of(&state).limit_ip(&ip)?;
    erase(&state.db, &key, Actor::anonymous(ip)).await?;
    Ok(HttpResponse::NoContent().finish())
}
