//! Many accounts at once, each with an activation code: `POST /api/v1/users/bulk`
//! (rows from a sheet, any role and scope) and `POST /api/v1/users/contacts-from-roster`
//! (an enterprise contact for every enterprise of the roster that has none). All or
//! nothing: every bad row is reported, and nothing is written while one is bad.

use std::collections::{HashMap, HashSet};

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::TimeDelta;
use diesel::prelude::*;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::audit::{self, Actor, Event};
use crate::auth::caller::Caller;
use crate::auth::passwords::NO_PASSWORD;
use crate::body;
use crate::db::DbConnection;
use crate::db::schema::{enterprises, users};
use crate::domain::account::{DisplayName, Role, Scope, Username};
use crate::domain::id::{EnterpriseId, OrgUnitId, UserId};
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::personal::SealedMobile;
use crate::state::AppState;
use crate::users::activation::handlers::code_ttl;
use crate::users::activation::{self, IssuedCode};
use crate::users::{NewUser, User};

/// Most accounts created by one call.
pub const MAX_ACCOUNTS: usize = 1000;
/// Largest body of a bulk call (a thousand rows with their ids).
const BODY_LIMIT: usize = 512 * 1024;

/// One account to create, as sent.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkRow {
    display_name: String,
    /// Derived when absent (see [`derive_username`]).
    #[serde(default, deserialize_with = "body::non_null")]
    username: Option<String>,
    /// Checked per row, so that a bad role is reported with its row.
    role: String,
    #[serde(default)]
    sector_ids: Vec<OrgUnitId>,
    #[serde(default)]
    park_ids: Vec<OrgUnitId>,
    #[serde(default, deserialize_with = "body::non_null")]
    enterprise_id: Option<EnterpriseId>,
    /// The mobile, sealed (from a surveyors' sheet; never from a request body).
    #[serde(skip)]
    phone: Option<SealedMobile>,
}

impl BulkRow {
    /// A surveyor of one team (one sector or one park) with their sealed mobile.
    pub fn surveyor(display_name: String, team: Scope, phone: SealedMobile) -> Self {
        Self {
            display_name,
            username: None,
            role: Role::Surveyor.as_str().to_owned(),
            sector_ids: team.sector_ids,
            park_ids: team.park_ids,
            enterprise_id: None,
            phone: Some(phone),
        }
    }
}

/// Body of `POST /api/v1/users/bulk`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkBody {
    #[serde(default)]
    dry_run: bool,
    rows: Vec<BulkRow>,
}

/// Body of `POST /api/v1/users/contacts-from-roster`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RosterBody {
    /// The enterprises wanted (or none, with `all_without_contact`).
    #[serde(default)]
    pub enterprise_ids: Vec<EnterpriseId>,
    /// Every enterprise without a contact.
    #[serde(default)]
    pub all_without_contact: bool,
    /// Only check, write nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// A valid row, ready to create.
#[derive(Debug)]
struct Planned {
    row: usize,
    username: Username,
    display_name: DisplayName,
    role: Role,
    scope: Scope,
    phone: Option<SealedMobile>,
}

/// An account created (with its code) or, on a dry run, to be created.
#[derive(Debug, Serialize)]
pub struct AccountOutcome {
    /// Index of the row in `rows` (bulk) or of the enterprise in the roster's order.
    row: usize,
    /// Id; `null` on a dry run.
    pub id: Option<UserId>,
    /// User name (derived when not given).
    pub username: String,
    /// Name shown.
    pub display_name: String,
    role: Role,
    /// The sectors of its scope (a surveyor's team).
    pub sector_ids: Vec<OrgUnitId>,
    /// The parks of its scope (a surveyor's team).
    pub park_ids: Vec<OrgUnitId>,
    /// The enterprise of a contact.
    pub enterprise_id: Option<EnterpriseId>,
    /// The mobile, masked (accounts from a surveyors' sheet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// The code, shown this once; `null` on a dry run.
    pub activation: Option<IssuedCode>,
}

/// What a bulk call did, or would do.
#[derive(Debug, Serialize)]
pub struct BulkOutcome {
    /// Whether nothing was written.
    pub dry_run: bool,
    /// The accounts created, or to be created.
    pub accounts: Vec<AccountOutcome>,
    /// Enterprises named that have an enabled contact already (roster only).
    pub skipped_enterprise_ids: Vec<EnterpriseId>,
    /// Enterprises without a contact left for another call (roster only).
    pub remaining: usize,
}

impl BulkOutcome {
    /// 200 for a dry run, 201 when created.
    fn into_response(self) -> HttpResponse {
        if self.dry_run {
            HttpResponse::Ok().json(self)
        } else {
            HttpResponse::Created().json(self)
        }
    }
}

/// `POST /api/v1/users/bulk`: creates every row's account with an activation code,
/// or none when any row is bad (422, each error's field `rows[i].field`);
/// `dry_run` only checks.
pub async fn bulk_create_users(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body: BulkBody = body::json(&req, payload, BODY_LIMIT).await?;
    if body.rows.is_empty() {
        return Err(ApiError::field("rows", "required", "请至少提供一行"));
    }
    if body.rows.len() > MAX_ACCOUNTS {
        return Err(ApiError::field(
            "rows",
            "too_many_accounts",
            format!("一次最多创建 {MAX_ACCOUNTS} 个账号，请分批提交"),
        ));
    }
    run(
        &state,
        caller,
        body.rows,
        body.dry_run,
        "bulk",
        Vec::new(),
        0,
    )
    .await
    .map(BulkOutcome::into_response)
}

/// `POST /api/v1/users/contacts-from-roster`: an enterprise contact, with an activation
/// code, for each named enterprise (or every one, `all_without_contact`) that has no
/// enabled contact yet, at most [`MAX_ACCOUNTS`] a call (`remaining` says how many are
/// left); the contact is named after the enterprise.
pub async fn contacts_from_roster(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<RosterBody>,
) -> Result<HttpResponse, ApiError> {
    roster_contacts(&state, caller, body.into_inner())
        .await
        .map(BulkOutcome::into_response)
}

/// The service of [`contacts_from_roster`] (and of the console's page): the same
/// checks, accounts and audit entries.
pub async fn roster_contacts(
    state: &AppState,
    caller: Caller,
    body: RosterBody,
) -> Result<BulkOutcome, ApiError> {
    if body.all_without_contact != body.enterprise_ids.is_empty() {
        return Err(ApiError::field(
            "enterprise_ids",
            "invalid_value",
            "请指定 enterprise_ids 或 all_without_contact 其中之一",
        ));
    }
    if body.enterprise_ids.len() > MAX_ACCOUNTS {
        return Err(ApiError::field(
            "enterprise_ids",
            "too_many_accounts",
            format!("一次最多创建 {MAX_ACCOUNTS} 个账号，请分批提交"),
        ));
    }
    let wanted = (!body.all_without_contact).then_some(body.enterprise_ids);
    let (rows, skipped, remaining) = state
        .db
        .read(move |conn| without_contact(conn, wanted))
        .await?;
    run(
        state,
        caller,
        rows,
        body.dry_run,
        "roster",
        skipped,
        remaining,
    )
    .await
}

/// Creates the accounts of `rows` (checked already by the caller's own rules) with
/// their activation codes in one transaction, or only plans them on a dry run, as
/// the bulk calls do; `via` names the source in each `user.create` audit entry.
pub async fn create_accounts(
    state: &AppState,
    caller: Caller,
    rows: Vec<BulkRow>,
    dry_run: bool,
    via: &'static str,
) -> Result<BulkOutcome, ApiError> {
    run(state, caller, rows, dry_run, via, Vec::new(), 0).await
}

/// Plans the rows and, unless a dry run, creates them in one transaction.
async fn run(
    state: &AppState,
    caller: Caller,
    rows: Vec<BulkRow>,
    dry_run: bool,
    via: &'static str,
    skipped_enterprise_ids: Vec<EnterpriseId>,
    remaining: usize,
) -> Result<BulkOutcome, ApiError> {
    let outcome = |accounts| BulkOutcome {
        dry_run,
        accounts,
        skipped_enterprise_ids,
        remaining,
    };
    if dry_run {
        let planned = state.db.read(move |conn| plan(conn, &rows)).await?;
        let accounts = planned.into_iter().map(|p| p.outcome(None, None)).collect();
        return Ok(outcome(accounts));
    }
    let ttl = code_ttl(state);
    let base = state.settings.public_base_url();
    let actor = caller.actor();
    let accounts = state
        .db
        .write(move |conn| {
            let planned = plan(conn, &rows)?;
            planned
                .into_iter()
                .map(|p| create(conn, p, ttl, &base, &actor, via))
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
    Ok(outcome(accounts))
}

/// Creates one planned account without a password, with its code; audited.
fn create(
    conn: &mut DbConnection,
    planned: Planned,
    ttl: TimeDelta,
    base: &str,
    actor: &Actor,
    via: &'static str,
) -> Result<AccountOutcome, ApiError> {
    let new = NewUser {
        username: planned.username.clone(),
        display_name: planned.display_name.clone(),
        password_hash: NO_PASSWORD.to_owned(),
        role: planned.role,
        scope: planned.scope.clone(),
        must_change_password: true,
    };
    let user = User::create(conn, &new)?;
    if let Some(phone) = &planned.phone {
        User::set_phone(conn, &user.id, phone)?;
    }
    let issued = activation::issue(conn, &user, ttl, base)?;
    let event = Event::success("user.create", "user", &user.id)
        .with_details(serde_json::json!({ "role": user.role.as_str(), "via": via }));
    audit::append(conn, actor, event)?;
    Ok(planned.outcome(Some(user.id), Some(issued)))
}

impl Planned {
    fn outcome(self, id: Option<UserId>, activation: Option<IssuedCode>) -> AccountOutcome {
        AccountOutcome {
            row: self.row,
            id,
            username: self.username.as_str().to_owned(),
            display_name: self.display_name.as_str().to_owned(),
            role: self.role,
            sector_ids: self.scope.sector_ids,
            park_ids: self.scope.park_ids,
            enterprise_id: self.scope.enterprise_id,
            phone: self.phone.map(|phone| phone.masked),
            activation,
        }
    }
}

/// Checks every row (fields, role and scope, units that exist, user names free and
/// not repeated) and derives the missing user names; a 422 with every row's errors
/// when any is bad.
fn plan(conn: &mut DbConnection, rows: &[BulkRow]) -> Result<Vec<Planned>, ApiError> {
    let mut errors = FieldErrors::default();
    let in_row = |row: usize, error: FieldError| {
        FieldError::new(
            format!("rows[{row}].{}", error.field),
            error.code,
            error.message,
        )
    };
    let given: Vec<&str> = rows.iter().filter_map(|r| r.username.as_deref()).collect();
    let lowered: Vec<String> = given
        .iter()
        .map(|u| u.trim().to_ascii_lowercase())
        .collect();
    let taken_given: HashSet<String> = users::table
        .filter(users::username.eq_any(&lowered))
        .select(users::username)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let mut first_row_of: HashMap<String, usize> = HashMap::new();
    let mut valid = Vec::with_capacity(rows.len());
    for (index, row) in rows.iter().enumerate() {
        let mut row_errors = FieldErrors::default();
        let display_name = row_errors.check(DisplayName::parse(&row.display_name));
        let username = match row.username.as_deref() {
            Some(raw) => row_errors.check(Username::parse(raw)).map(Some),
            None => Some(None),
        };
        let role = Role::from_stored(&row.role);
        if role.is_none() {
            row_errors.push(FieldError::new("role", "invalid_value", "角色不存在"));
        }
        let scope = role.and_then(|role| {
            row_errors.check(Scope::for_role(
                role,
                row.sector_ids.clone(),
                row.park_ids.clone(),
                row.enterprise_id.clone(),
            ))
        });
        if let Some(scope) = &scope {
            for error in User::check_scope(conn, scope)?.into_list() {
                row_errors.push(error);
            }
        }
        if let Some(Some(name)) = &username {
            if taken_given.contains(name.as_str()) {
                row_errors.push(FieldError::new(
                    "username",
                    "username_taken",
                    "该用户名已被使用",
                ));
            } else if let Some(first) = first_row_of.get(name.as_str()) {
                row_errors.push(FieldError::new(
                    "username",
                    "duplicate_username",
                    format!("与 rows[{first}] 的用户名重复"),
                ));
            } else {
                first_row_of.insert(name.as_str().to_owned(), index);
            }
        }
        for error in row_errors.into_list() {
            errors.push(in_row(index, error));
        }
        if let (Some(display_name), Some(username), Some(role), Some(scope)) =
            (display_name, username, role, scope)
        {
            valid.push((
                index,
                display_name,
                username,
                role,
                scope,
                row.phone.clone(),
            ));
        }
    }
    errors.finish()?;
    let mut claimed: HashSet<String> = first_row_of.into_keys().collect();
    let mut planned = Vec::with_capacity(valid.len());
    for (row, display_name, username, role, scope, phone) in valid {
        let username = match username {
            Some(username) => username,
            None => derive_username(conn, role, &scope, &mut claimed)?,
        };
        planned.push(Planned {
            row,
            username,
            display_name,
            role,
            scope,
            phone,
        });
    }
    Ok(planned)
}

/// A free user name for a row without one: an enterprise contact's is `ent-` and the
/// enterprise's credit code (`ent-91350100m000100y1`, then `-2`, `-3` …), anyone
/// else's the role's prefix and six random characters (`survey-k7qm3x`).
fn derive_username(
    conn: &mut DbConnection,
    role: Role,
    scope: &Scope,
    claimed: &mut HashSet<String>,
) -> Result<Username, ApiError> {
    const SUFFIX: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
    let credit_code = match &scope.enterprise_id {
        Some(id) => enterprises::table
            .find(id)
            .select(enterprises::credit_code)
            .first::<String>(conn)
            .optional()?,
        None => None,
    };
    let mut rng = rand::rng();
    for attempt in 1..=20 {
        let candidate = match &credit_code {
            Some(code) if attempt == 1 => format!("ent-{}", code.to_ascii_lowercase()),
            Some(code) => format!("ent-{}-{attempt}", code.to_ascii_lowercase()),
            None => {
                let suffix: String = (0..6)
                    .map(|_| char::from(SUFFIX[rng.random_range(0..SUFFIX.len())]))
                    .collect();
                format!("{}-{suffix}", prefix(role))
            }
        };
        let free =
            !claimed.contains(&candidate) && User::find_by_username(conn, &candidate)?.is_none();
        if free {
            let username = Username::parse(&candidate).map_err(|error| {
                ApiError::internal(anyhow::anyhow!("derived user name refused: {}", error.code))
            })?;
            claimed.insert(candidate);
            return Ok(username);
        }
    }
    Err(ApiError::internal(anyhow::anyhow!(
        "no free user name for a {role:?}"
    )))
}

/// The start of a derived user name.
fn prefix(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::Regulator => "reg",
        Role::SectorOfficial => "sector",
        Role::ParkOfficial => "park",
        Role::Surveyor => "survey",
        Role::EnterpriseContact => "ent",
        Role::GateGuard => "gate",
    }
}

/// The rows of a contact for each wanted enterprise (every one when `None`) without
/// an enabled contact, in roster order, at most [`MAX_ACCOUNTS`]; the named ones
/// skipped because they have one; how many more are left. An unknown id is a 422.
fn without_contact(
    conn: &mut DbConnection,
    wanted: Option<Vec<EnterpriseId>>,
) -> Result<(Vec<BulkRow>, Vec<EnterpriseId>, usize), ApiError> {
    let contacted: HashSet<EnterpriseId> = users::table
        .filter(users::role.eq(Role::EnterpriseContact.as_str()))
        .filter(users::active.eq(true))
        .filter(users::enterprise_id.is_not_null())
        .select(users::enterprise_id.assume_not_null())
        .load::<EnterpriseId>(conn)?
        .into_iter()
        .collect();
    let mut query = enterprises::table
        .select((enterprises::id, enterprises::name))
        .order(enterprises::id.asc())
        .into_boxed();
    if let Some(ids) = &wanted {
        query = query.filter(enterprises::id.eq_any(ids.clone()));
    }
    let found: Vec<(EnterpriseId, String)> = query.load(conn)?;
    let mut skipped = Vec::new();
    if let Some(ids) = &wanted {
        let known: HashSet<&EnterpriseId> = found.iter().map(|(id, _)| id).collect();
        let mut errors = FieldErrors::default();
        for (index, id) in ids.iter().enumerate() {
            if !known.contains(id) {
                errors.push(FieldError::new(
                    format!("enterprise_ids[{index}]"),
                    "unknown_enterprise",
                    "企业不存在",
                ));
            } else if contacted.contains(id) && !skipped.contains(id) {
                skipped.push(id.clone());
            }
        }
        errors.finish()?;
    }
    let open: Vec<(EnterpriseId, String)> = found
        .into_iter()
        .filter(|(id, _)| !contacted.contains(id))
        .collect();
    let remaining = open.len().saturating_sub(MAX_ACCOUNTS);
    let rows = open
        .into_iter()
        .take(MAX_ACCOUNTS)
        .map(|(id, name)| BulkRow {
            display_name: contact_name(&name),
            username: None,
            role: Role::EnterpriseContact.as_str().to_owned(),
            sector_ids: Vec::new(),
            park_ids: Vec::new(),
            enterprise_id: Some(id),
            phone: None,
        })
        .collect();
    Ok((rows, skipped, remaining))
}

/// `{enterprise name}联系人`, the name shortened to fit a display name (50 characters).
fn contact_name(enterprise: &str) -> String {
    const SUFFIX: &str = "联系人";
    let room = 50 - SUFFIX.chars().count();
    let name: String = enterprise.trim().chars().take(room).collect();
    format!("{name}{SUFFIX}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_names_fit_a_display_name() {
        assert_eq!(
            contact_name("福州第一化工有限公司"),
            "福州第一化工有限公司联系人"
        );
        let long = contact_name(&"很长的企业名称".repeat(20));
        assert_eq!(long.chars().count(), 50);
        assert!(DisplayName::parse(&long).is_ok());
    }
}
