//! Staff accounts: the `User` model, its scope (sectors and parks) and queries.

pub mod activation;
pub mod handlers;

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::audit::{self, Actor, Event};
use crate::auth::passwords;
use crate::db::schema::{enterprises, org_units, refresh_tokens, user_scopes, users};
use crate::db::{DbConnection, now};
use crate::domain::account::{DisplayName, NewPassword, Role, Scope, Username};
use crate::domain::id::{EnterpriseId, OrgUnitId, UserId};
use crate::error::{ApiError, ErrorCode, FieldError, FieldErrors};
use crate::org::OrgKind;
use crate::personal::SealedMobile;

/// A stored account.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    /// Id.
    pub id: UserId,
    /// Login name (lower case).
    pub username: String,
    /// Name shown in the console.
    pub display_name: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Role name.
    pub role: Role,
    /// Disabled users cannot sign in and lose their sessions.
    pub active: bool,
    /// Set after an admin reset; cleared when the user picks a password.
    pub must_change_password: bool,
    /// Bumped to end every session of the user.
    pub token_version: i64,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Last changed.
    pub updated_at: NaiveDateTime,
    /// The enterprise of an enterprise contact.
    pub enterprise_id: Option<EnterpriseId>,
    /// The mobile, masked (empty when none): the full number is sealed under
    /// [`USER_PHONE`] and never leaves the server.
    pub phone_masked: String,
}

/// The vault context of a staff member's mobile.
pub const USER_PHONE: &str = "users.phone";

/// A new account, validated.
#[derive(Debug)]
pub struct NewUser {
    /// Login name.
    pub username: Username,
    /// Display name.
    pub display_name: DisplayName,
    /// Hash of the initial password.
    pub password_hash: String,
    /// Role.
    pub role: Role,
    /// Scope fitting the role.
    pub scope: Scope,
    /// Whether the user must pick a new password at first sign-in.
    pub must_change_password: bool,
}

/// Changes to an account; `None` leaves a field alone.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    /// New display name.
    pub display_name: Option<String>,
    /// New role.
    pub role: Option<Role>,
    /// Enable or disable.
    pub active: Option<bool>,
    /// New password hash.
    pub password_hash: Option<String>,
    /// Must change password flag.
    pub must_change_password: Option<bool>,
    /// Change time.
    pub updated_at: Option<NaiveDateTime>,
}

/// An account as the API shows it: no hash, with its scope.
#[derive(Clone, Debug, Serialize)]
pub struct UserView {
    /// Id.
    pub id: UserId,
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Sectors (sector officials, sector surveyors).
    pub sector_ids: Vec<OrgUnitId>,
    /// Parks (park officials, park surveyors).
    pub park_ids: Vec<OrgUnitId>,
    /// The enterprise (enterprise contacts).
    pub enterprise_id: Option<EnterpriseId>,
    /// Mobile, masked (`138****5678`); `None` when none is known.
    pub phone: Option<String>,
    /// Enabled.
    pub active: bool,
    /// Must pick a new password.
    pub must_change_password: bool,
    /// Created (UTC).
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last changed (UTC).
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl UserView {
    /// What an audit entry records of a change: role, scope, state and name.
    pub fn audited(&self) -> serde_json::Value {
        serde_json::json!({
            "display_name": self.display_name,
            "role": self.role,
            "active": self.active,
            "sector_ids": self.sector_ids,
            "park_ids": self.park_ids,
            "enterprise_id": self.enterprise_id,
        })
    }

    /// Combines a row and its scope.
    pub fn new(user: User, scope: Scope) -> Self {
        Self {
            id: user.id,
            username: user.username,
            display_name: user.display_name,
            role: user.role,
            sector_ids: scope.sector_ids,
            park_ids: scope.park_ids,
            enterprise_id: scope.enterprise_id,
            phone: (!user.phone_masked.is_empty()).then_some(user.phone_masked),
            active: user.active,
            must_change_password: user.must_change_password,
            created_at: user.created_at.and_utc(),
            updated_at: user.updated_at.and_utc(),
        }
    }
}

/// List filters.
#[derive(Debug, Default)]
pub struct UserFilter {
    /// Only this role.
    pub role: Option<Role>,
    /// Only enabled or disabled users.
    pub active: Option<bool>,
    /// Substring of user name or display name.
    pub q: Option<String>,
}

impl User {
    /// By id.
    pub fn find(conn: &mut DbConnection, id: &UserId) -> Result<User, ApiError> {
        Ok(users::table
            .find(id)
            .select(User::as_select())
            .first(conn)?)
    }

    /// By id, with scope.
    pub fn find_with_scope(
        conn: &mut DbConnection,
        id: &UserId,
    ) -> Result<(User, Scope), ApiError> {
        let user = Self::find(conn, id)?;
        let scope = Self::scopes(conn, std::slice::from_ref(&user))?
            .remove(&user.id)
            .unwrap_or_default();
        Ok((user, scope))
    }

    /// By login name.
    pub fn find_by_username(
        conn: &mut DbConnection,
        username: &str,
    ) -> Result<Option<User>, ApiError> {
        Ok(users::table
            .filter(users::username.eq(username))
            .select(User::as_select())
            .first(conn)
            .optional()?)
    }

    /// Accounts in creation order after the id `after`.
    pub fn list(
        conn: &mut DbConnection,
        filter: &UserFilter,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<UserView>, ApiError> {
        let mut query = users::table.select(User::as_select()).into_boxed();
        if let Some(role) = filter.role {
            query = query.filter(users::role.eq(role));
        }
        if let Some(active) = filter.active {
            query = query.filter(users::active.eq(active));
        }
        if let Some(q) = &filter.q {
            let pattern = format!(
                "%{}%",
                q.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            query = query.filter(
                users::username
                    .like(pattern.clone())
                    .escape('\\')
                    .or(users::display_name.like(pattern).escape('\\')),
            );
        }
        if let Some(after) = after {
            query = query.filter(users::id.gt(after.to_owned()));
        }
        let rows: Vec<User> = query.order(users::id.asc()).limit(limit).load(conn)?;
        let mut scopes = Self::scopes(conn, &rows)?;
        Ok(rows
            .into_iter()
            .map(|user| {
                let scope = scopes.remove(&user.id).unwrap_or_default();
                UserView::new(user, scope)
            })
            .collect())
    }

    /// Scopes of several users, keyed by user id.
    fn scopes(conn: &mut DbConnection, users: &[User]) -> Result<HashMap<UserId, Scope>, ApiError> {
        let user_ids: Vec<&str> = users.iter().map(|user| user.id.as_str()).collect();
        let mut scopes: HashMap<UserId, Scope> = users
            .iter()
            .map(|user| {
                let scope = Scope {
                    enterprise_id: user.enterprise_id.clone(),
                    ..Scope::default()
                };
                (user.id.clone(), scope)
            })
            .collect();
        let rows: Vec<(UserId, OrgUnitId, String)> = user_scopes::table
            .inner_join(org_units::table)
            .filter(user_scopes::user_id.eq_any(user_ids))
            .select((user_scopes::user_id, org_units::id, org_units::kind))
            .order((user_scopes::user_id, org_units::id))
            .load(conn)?;
        for (user_id, unit_id, kind) in rows {
            let scope = scopes.entry(user_id).or_default();
            match OrgKind::parse(&kind) {
                Some(OrgKind::Sector) => scope.sector_ids.push(unit_id),
                Some(OrgKind::Park) => scope.park_ids.push(unit_id),
                None => {
                    return Err(ApiError::internal(anyhow::anyhow!(
                        "unknown org kind {kind}"
                    )));
                }
            }
        }
        Ok(scopes)
    }

    /// Inserts a new account with its scope; a taken user name is a 409.
    pub fn create(conn: &mut DbConnection, new: &NewUser) -> Result<User, ApiError> {
        if Self::find_by_username(conn, new.username.as_str())?.is_some() {
            return Err(ApiError::new(ErrorCode::UsernameTaken, "该用户名已被使用"));
        }
        let id = UserId::generate();
        let at = now();
        diesel::insert_into(users::table)
            .values((
                users::id.eq(&id),
                users::username.eq(new.username.as_str()),
                users::display_name.eq(new.display_name.as_str()),
                users::password_hash.eq(&new.password_hash),
                users::role.eq(new.role),
                users::active.eq(true),
                users::must_change_password.eq(new.must_change_password),
                users::token_version.eq(0),
                users::created_at.eq(at),
                users::updated_at.eq(at),
            ))
            .execute(conn)?;
        Self::set_scope(conn, &id, &new.scope)?;
        Self::find(conn, &id)
    }

    /// Stores a user's mobile, sealed (see [`USER_PHONE`]).
    pub fn set_phone(
        conn: &mut DbConnection,
        id: &UserId,
        phone: &SealedMobile,
    ) -> Result<(), ApiError> {
        diesel::update(users::table.find(id))
            .set((
                users::phone_sealed.eq(&phone.sealed),
                users::phone_index.eq(&phone.index),
                users::phone_masked.eq(&phone.masked),
            ))
            .execute(conn)?;
        Ok(())
    }

    /// Which of the blind indexes `indexes` (under [`USER_PHONE`]) an account has.
    pub fn phones_taken(
        conn: &mut DbConnection,
        indexes: &[String],
    ) -> Result<std::collections::HashSet<String>, ApiError> {
        Ok(users::table
            .filter(users::phone_index.eq_any(indexes))
            .select(users::phone_index)
            .load::<String>(conn)?
            .into_iter()
            .collect())
    }

    /// What is wrong with a scope: sectors, parks or an enterprise that do not exist.
    pub fn check_scope(conn: &mut DbConnection, scope: &Scope) -> Result<FieldErrors, ApiError> {
        let mut errors = FieldErrors::default();
        for (kind, ids) in [
            (OrgKind::Sector, &scope.sector_ids),
            (OrgKind::Park, &scope.park_ids),
        ] {
            let found: Vec<OrgUnitId> = org_units::table
                .filter(org_units::kind.eq(kind.as_str()))
                .filter(org_units::id.eq_any(ids))
                .select(org_units::id)
                .load(conn)?;
            for (index, id) in ids.iter().enumerate() {
                if !found.contains(id) {
                    errors.push(FieldError::new(
                        format!("{}[{index}]", kind.scope_field()),
                        "unknown_org_unit",
                        format!("{}不存在", kind.label()),
                    ));
                }
            }
        }
        if let Some(enterprise_id) = &scope.enterprise_id {
            let exists = enterprises::table
                .find(enterprise_id)
                .select(enterprises::id)
                .first::<String>(conn)
                .optional()?
                .is_some();
            if !exists {
                errors.push(FieldError::new(
                    "enterprise_id",
                    "unknown_enterprise",
                    "企业不存在",
                ));
            }
        }
        Ok(errors)
    }

    /// Replaces a user's scope; every id must be an existing unit of the right kind,
    /// and the enterprise must exist.
    pub fn set_scope(
        conn: &mut DbConnection,
        user_id: &UserId,
        scope: &Scope,
    ) -> Result<(), ApiError> {
        Self::check_scope(conn, scope)?.finish()?;
        diesel::update(users::table.find(user_id))
            .set(users::enterprise_id.eq(&scope.enterprise_id))
            .execute(conn)?;
        diesel::delete(user_scopes::table.filter(user_scopes::user_id.eq(user_id)))
            .execute(conn)?;
        for unit_id in scope.sector_ids.iter().chain(&scope.park_ids) {
            diesel::insert_into(user_scopes::table)
                .values((
                    user_scopes::user_id.eq(user_id),
                    user_scopes::org_unit_id.eq(unit_id),
                ))
                .execute(conn)?;
        }
        Ok(())
    }

    /// Applies changes.
    pub fn update(
        conn: &mut DbConnection,
        id: &UserId,
        changes: &UserChanges,
    ) -> Result<User, ApiError> {
        diesel::update(users::table.find(id))
            .set(changes)
            .execute(conn)?;
        Self::find(conn, id)
    }

    /// Ends every session of the user: access tokens carry the old version and stop
    /// working, refresh tokens are revoked.
    pub fn end_sessions(conn: &mut DbConnection, id: &UserId) -> Result<(), ApiError> {
        diesel::update(users::table.find(id))
            .set(users::token_version.eq(users::token_version + 1))
            .execute(conn)?;
        diesel::update(
            refresh_tokens::table
                .filter(refresh_tokens::user_id.eq(id))
                .filter(refresh_tokens::revoked_at.is_null()),
        )
        .set(refresh_tokens::revoked_at.eq(now()))
        .execute(conn)?;
        Ok(())
    }

    /// Number of enabled admins.
    pub fn count_active_admins(conn: &mut DbConnection) -> Result<i64, ApiError> {
        Ok(users::table
            .filter(users::role.eq(Role::Admin.as_str()))
            .filter(users::active.eq(true))
            .count()
            .get_result(conn)?)
    }
}

impl User {
    /// On a database without an enabled admin, creates `admin` with the given password
    /// (checked against the policy) or a random one, which is returned to be shown once.
    pub fn bootstrap_admin(
        conn: &mut DbConnection,
        password: Option<&str>,
    ) -> Result<Option<String>, ApiError> {
        if Self::count_active_admins(conn)? > 0 {
            return Ok(None);
        }
        let username = Username::parse("admin")?;
        let (user, generated) = Self::create_admin(conn, username, password)?;
        audit::append(
            conn,
            &Actor::system(),
            Event::success("user.bootstrap_admin", "user", &user.id),
        )?;
        Ok(generated)
    }

    /// Creates an admin account with the given password or a random one (returned).
    pub fn create_admin(
        conn: &mut DbConnection,
        username: Username,
        password: Option<&str>,
    ) -> Result<(User, Option<String>), ApiError> {
        let generated = password.is_none().then(passwords::random_password);
        let raw = password.or(generated.as_deref()).unwrap_or_default();
        let password = NewPassword::parse("TRUCKPASS_ADMIN_PASSWORD", raw, &[username.as_str()])?;
        let new = NewUser {
            display_name: DisplayName::parse("系统管理员")?,
            username,
            password_hash: passwords::hash(&password)?,
            role: Role::Admin,
            scope: Scope::default(),
            must_change_password: generated.is_some(),
        };
        Ok((Self::create(conn, &new)?, generated))
    }
}
