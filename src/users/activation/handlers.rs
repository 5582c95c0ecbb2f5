//! `POST /api/v1/auth/activate` (the owner sets a password with the code),
//! `POST /api/v1/users/{id}/activation` (a fresh code for one account) and
//! `POST /api/v1/users/activation-sheet` (fresh codes for many, printed).

use std::io::Write;

use actix_web::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use crate::audit::{self, Actor, Event};
use crate::auth::caller::{Caller, audit_refusal};
use crate::auth::handlers::{TokenResponse, open_session, too_many_login_attempts, user_actor};
use crate::auth::passwords;
use crate::auth::throttle::{self, Admission, Client, LoginLimits, Reservation};
use crate::client::{client_ip, ip_bucket};
use crate::codes::handlers::disposition;
use crate::codes::render::{self, Sheet, SheetCard};
use crate::db::{DbConnection, now};
use crate::domain::account::NewPassword;
use crate::domain::id::UserId;
use crate::domain::zone;
use crate::error::{ApiError, ErrorCode};
use crate::heavy::Slot;
use crate::state::AppState;
use crate::users::activation::{self, IssuedCode};
use crate::users::{User, UserChanges, UserView};

/// Most accounts on one sheet (50 pages).
pub const MAX_SHEET_USERS: usize = 400;

/// Body of an activation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivateBody {
    /// The account's user name.
    pub username: String,
    /// Its one-time code.
    pub code: String,
    /// The password its owner chooses.
    pub password: String,
}

/// Body of a sheet.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SheetBody {
    user_ids: Vec<UserId>,
}

/// An account and its fresh code (shown once).
#[derive(Debug, Serialize)]
pub struct Activation {
    /// The account.
    pub user: UserView,
    /// Its code.
    pub activation: IssuedCode,
}

/// How long a code lives.
pub fn code_ttl(state: &AppState) -> TimeDelta {
    TimeDelta::days(i64::from(state.settings.activation_code_ttl_days))
}

fn invalid_code() -> ApiError {
    ApiError::new(
        ErrorCode::ActivationCodeInvalid,
        "用户名或激活码不正确，或激活码已过期、已使用，请联系管理员重新获取",
    )
}

/// What the first look at an activation found.
enum Check {
    /// Too many failures: wait this many seconds.
    Throttled(u64, Option<User>),
    /// Wrong (already settled and audited).
    Invalid,
    /// The account's current code; its failure is reserved until the password is set.
    Valid(User, Reservation),
}

/// `POST /api/v1/auth/activate`: with the account's current code, its owner sets a
/// password and is signed in. Throttled like sign-ins (the same counters), so codes
/// cannot be guessed; a wrong, expired, used or replaced code, an unknown or disabled
/// account all get the same 401 `activation_code_invalid`. A password the policy
/// refuses (422) leaves the code usable.
pub async fn activate(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<ActivateBody>,
) -> Result<web::Json<TokenResponse>, ApiError> {
    let session_state = state.clone();
    activate_account(&state, &req, body.into_inner(), move |conn, user| {
        open_session(&session_state, conn, user)
    })
    .await
    .map(web::Json)
}

/// Sets the password of the account whose current code `body` presents, as
/// [`activate`] describes, and signs its owner in with `open` (the API's tokens or a
/// console session).
pub async fn activate_account<T, F>(
    state: &AppState,
    req: &HttpRequest,
    body: ActivateBody,
    open: F,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection, User) -> Result<T, ApiError> + Send + 'static,
{
    let ActivateBody {
        username,
        code,
        password,
    } = body;
    if username.chars().count() > 64 || code.chars().count() > 64 {
        return Err(invalid_code());
    }
    let ip = client_ip(req, state.settings.trust_proxy_headers);
    let bucket = ip_bucket(&ip);
    let limits = LoginLimits::new(&state.settings)?;
    // Before the reservation: an attempt refused for want of a permit leaves no failure.
    let permit = state.hashing.permit().await?;
    let name = username.trim().to_lowercase();
    let at = now();
    let presented = code.clone();
    let failure_ip = ip.clone();
    let check = state
        .db
        .write(move |conn| {
            let user = User::find_by_username(conn, &name)?;
            let reservation =
                match throttle::reserve(conn, &name, Client::Address(&bucket), &limits, at)? {
                    Admission::Reserved(reservation) => reservation,
                    Admission::Throttled { retry_after_secs } => {
                        return Ok(Check::Throttled(retry_after_secs, user));
                    }
                };
            let valid = match &user {
                Some(user) if user.active => activation::matches(conn, &user.id, &presented, at)?,
                _ => false,
            };
            match user.filter(|_| valid) {
                Some(user) => Ok(Check::Valid(user, reservation)),
                None => {
                    throttle::settle(conn, &reservation)?;
                    audit_failure(conn, failure_ip, ErrorCode::ActivationCodeInvalid.as_str())?;
                    Ok(Check::Invalid)
                }
            }
        })
        .await?;
    let (user, reservation) = match check {
        Check::Valid(user, reservation) => (user, reservation),
        Check::Invalid => return Err(invalid_code()),
        Check::Throttled(seconds, user) => {
            drop(permit);
            let actor = user
                .as_ref()
                .map_or_else(|| Actor::anonymous(ip.clone()), |u| user_actor(u, &ip));
            let event = Event::failure("auth.activate")
                .with_details(serde_json::json!({ "reason": "throttled" }));
            audit_refusal(state, &ip, actor, event).await?;
            return Err(too_many_login_attempts(seconds));
        }
    };
    let inputs = [user.username.clone(), user.display_name.clone()];
    let hashed = permit
        .run(move || {
            let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
            passwords::hash(&NewPassword::parse("password", &password, &inputs)?)
        })
        .await?;
    let hashed = match hashed {
        Ok(hashed) => hashed,
        Err(error) => {
            // A weak password is no guess at the code: the attempt does not count.
            state
                .db
                .write(move |conn| throttle::release(conn, &reservation))
                .await?;
            return Err(error);
        }
    };
    let signed_in = state
        .write_accounts(move |conn| {
            if !activation::consume(conn, &user.id, &code, now())? {
                // Used by a concurrent request in the meantime.
                throttle::settle(conn, &reservation)?;
                audit_failure(conn, ip, ErrorCode::ActivationCodeInvalid.as_str())?;
                return Ok(None);
            }
            throttle::release(conn, &reservation)?;
            let changes = UserChanges {
                password_hash: Some(hashed),
                must_change_password: Some(false),
                updated_at: Some(now()),
                ..UserChanges::default()
            };
            User::update(conn, &user.id, &changes)?;
            User::end_sessions(conn, &user.id)?;
            audit::append(
                conn,
                &user_actor(&user, &ip),
                Event::success("auth.activate", "user", &user.id),
            )?;
            let user = User::find(conn, &user.id)?;
            open(conn, user).map(Some)
        })
        .await?;
    signed_in.ok_or_else(invalid_code)
}

/// Audits a failed activation (never the code or the user name typed).
fn audit_failure(conn: &mut DbConnection, ip: String, reason: &str) -> Result<(), ApiError> {
    let event =
        Event::failure("auth.activate").with_details(serde_json::json!({ "reason": reason }));
    audit::append(conn, &Actor::anonymous(ip), event).map(drop)
}

/// `POST /api/v1/users/{id}/activation`: takes the account's password away, ends its
/// sessions and issues a fresh code (voiding any older one), returned once; audited
/// without the code.
pub async fn issue_activation(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<UserId>,
) -> Result<HttpResponse, ApiError> {
    let ttl = code_ttl(&state);
    let base = state.settings.public_base_url();
    let issued = state
        .write_accounts(move |conn| {
            let user = User::find(conn, &id)?;
            let activation = activation::restart(conn, &user, ttl, &base)?;
            audit::append(
                conn,
                &caller.actor(),
                Event::success("user.activation_issue", "user", &user.id),
            )?;
            let (user, scope) = User::find_with_scope(conn, &user.id)?;
            Ok(Activation {
                user: UserView::new(user, scope),
                activation,
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(issued))
}

/// `POST /api/v1/users/activation-sheet`: fresh codes for the accounts (each loses its
/// password and sessions until its owner uses the code), printed: one A4 PNG for up to
/// eight accounts, a ZIP of pages beyond; audited per account without the codes.
pub async fn activation_sheet(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<SheetBody>,
) -> Result<HttpResponse, ApiError> {
    print_sheet(&state, caller, body.into_inner().user_ids)
        .await
        .map(Printed::into_response)
}

/// The service of [`activation_sheet`] (and of the console's print button): the same
/// checks, fresh codes and audit entries.
pub async fn print_sheet(
    state: &AppState,
    caller: Caller,
    mut user_ids: Vec<UserId>,
) -> Result<Printed, ApiError> {
    if user_ids.is_empty() {
        return Err(ApiError::field(
            "user_ids",
            "required",
            "请至少选择一个账号",
        ));
    }
    if user_ids.len() > MAX_SHEET_USERS {
        return Err(ApiError::field(
            "user_ids",
            "too_many_accounts",
            format!("一次最多打印 {MAX_SHEET_USERS} 个账号的激活码，请分批打印"),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    user_ids.retain(|id| seen.insert(id.clone()));
    let slot = state.heavy.sheets.take(caller.user_id.as_str())?;
    print_taken(state, caller, slot, user_ids).await
}

/// [`print_sheet`] for a caller who holds a sheet slot already (taken before the
/// accounts were written, so that printing them is not refused as busy), for at most
/// [`MAX_SHEET_USERS`] distinct accounts.
pub async fn print_taken(
    state: &AppState,
    caller: Caller,
    slot: Slot,
    user_ids: Vec<UserId>,
) -> Result<Printed, ApiError> {
    let ttl = code_ttl(state);
    let base = state.settings.public_base_url();
    let url_base = base.clone();
    let actor = caller.actor();
    let cards = state
        .write_accounts(move |conn| {
            let holders = activation::card_holders(conn, &user_ids)?;
            let mut cards = Vec::with_capacity(holders.len());
            for holder in holders {
                let issued = activation::restart(conn, &holder.user, ttl, &url_base)?;
                let event = Event::success("user.activation_issue", "user", &holder.user.id)
                    .with_details(serde_json::json!({ "via": "sheet" }));
                audit::append(conn, &actor, event)?;
                cards.push((holder, issued));
            }
            Ok(cards)
        })
        .await?;
    let expires = cards
        .first()
        .map(|(_, issued)| {
            let local = zone::local(issued.expires_at.naive_utc());
            local.format("%Y-%m-%d %H:%M").to_string()
        })
        .unwrap_or_default();
    let instructions = format!(
        "请用手机扫描本人卡片上的二维码，或访问 {base}/console/activate 输入用户名和激活码，设置密码后即可登录。激活码仅可使用一次，{expires} 前有效；请勿转交他人。"
    );
    let zone_name = state.settings.zone_name.clone();
    web::block(move || {
        let _slot = slot;
        let texts: Vec<SheetCard<'_>> = cards
            .iter()
            .map(|(holder, issued)| SheetCard {
                display_name: &holder.user.display_name,
                username: &holder.user.username,
                unit: &holder.unit,
                code: &issued.code,
                url: &issued.url,
            })
            .collect();
        let pages = render::activation_sheet_pngs(&Sheet {
            zone_name: &zone_name,
            instructions: &instructions,
            cards: &texts,
        })
        .map_err(ApiError::internal)?;
        bundle(pages)
    })
    .await
    .map_err(ApiError::internal)?
}

/// A printed sheet: one page as a PNG, or several in a ZIP.
pub enum Printed {
    /// One page, a PNG.
    Page(Vec<u8>),
    /// A ZIP of pages.
    Pages(Vec<u8>),
}

impl Printed {
    /// The download, saved under its Chinese name.
    pub fn into_response(self) -> HttpResponse {
        let (content_type, fallback, name, bytes) = match self {
            Printed::Page(png) => ("image/png", "activation-codes.png", "账号激活码.png", png),
            Printed::Pages(zip) => (
                "application/zip",
                "activation-codes.zip",
                "账号激活码.zip",
                zip,
            ),
        };
        HttpResponse::Ok()
            .insert_header((CONTENT_TYPE, content_type))
            .insert_header((
                CONTENT_DISPOSITION,
                disposition("attachment", fallback, name),
            ))
            .body(bytes)
    }
}

/// One page stays a PNG; several go into a ZIP (stored: PNGs are compressed already),
/// named in print order.
fn bundle(mut pages: Vec<Vec<u8>>) -> Result<Printed, ApiError> {
    if pages.len() == 1
        && let Some(page) = pages.pop()
    {
        return Ok(Printed::Page(page));
    }
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (index, page) in pages.iter().enumerate() {
        zip.start_file(format!("page-{:03}.png", index + 1), options)
            .map_err(ApiError::internal)?;
        zip.write_all(page).map_err(ApiError::internal)?;
    }
    let cursor = zip.finish().map_err(ApiError::internal)?;
    Ok(Printed::Pages(cursor.into_inner()))
}
