//! Sessions: refresh tokens, stored hashed, rotated on every use; a reused token
//! revokes its whole family.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use crate::auth::tokens::{hash_opaque_token, new_opaque_token};
use crate::db::schema::refresh_tokens;
use crate::db::{DbConnection, new_id, now};
use crate::domain::id::UserId;
use crate::error::ApiError;
use crate::users::User;

/// A stored refresh token.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshToken {
    /// Id.
    pub id: String,
    /// All tokens rotated from one sign-in share a family.
    pub family_id: String,
    /// Owner.
    pub user_id: UserId,
    /// The owner's token version when issued.
    pub token_version: i64,
    /// Expiry.
    pub expires_at: NaiveDateTime,
    /// Set when rotated.
    pub used_at: Option<NaiveDateTime>,
    /// Set when revoked.
    pub revoked_at: Option<NaiveDateTime>,
}

/// What presenting a refresh token led to.
#[derive(Debug)]
pub enum Rotation {
    /// A fresh token of the same family, for this user.
    Rotated {
        /// The new token, to hand to the client.
        token: String,
        /// The user.
        user: User,
    },
    /// The token had been used before: the family is now revoked.
    Reused {
        /// The owner.
        user_id: UserId,
    },
    /// Unknown, expired, revoked, or the user's sessions were ended.
    Invalid,
}

impl RefreshToken {
    /// Issues the first token of a new family.
    pub fn issue(conn: &mut DbConnection, user: &User, ttl: TimeDelta) -> Result<String, ApiError> {
        Self::insert(conn, &new_id(), user, ttl)
    }

    fn insert(
        conn: &mut DbConnection,
        family_id: &str,
        user: &User,
        ttl: TimeDelta,
    ) -> Result<String, ApiError> {
        let (token, hash) = new_opaque_token();
        let at = now();
        diesel::insert_into(refresh_tokens::table)
            .values((
                refresh_tokens::id.eq(new_id()),
                refresh_tokens::family_id.eq(family_id),
                refresh_tokens::user_id.eq(&user.id),
                refresh_tokens::token_hash.eq(hash),
                refresh_tokens::token_version.eq(user.token_version),
                refresh_tokens::created_at.eq(at),
                refresh_tokens::expires_at.eq(at + ttl),
            ))
            .execute(conn)?;
        Ok(token)
    }

    /// Rotates a presented token. Writes happen even when the answer is a refusal
    /// (revoking a family), so the caller commits and then refuses.
    pub fn rotate(
        conn: &mut DbConnection,
        presented: &str,
        ttl: TimeDelta,
    ) -> Result<Rotation, ApiError> {
        let stored: Option<RefreshToken> = refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(hash_opaque_token(presented)))
            .select(RefreshToken::as_select())
            .first(conn)
            .optional()?;
        let Some(stored) = stored else {
            return Ok(Rotation::Invalid);
        };
        let at = now();
        if stored.used_at.is_some() {
            return Self::reused(conn, stored, at);
        }
        if stored.revoked_at.is_some() || stored.expires_at <= at {
            return Ok(Rotation::Invalid);
        }
        let user = User::find(conn, &stored.user_id)?;
        if !user.active || user.token_version != stored.token_version {
            Self::revoke_family(conn, &stored.family_id, at)?;
            return Ok(Rotation::Invalid);
        }
        // Conditional: of concurrent rotations of one token (on PostgreSQL each read
        // it unused), the first marks it used and the others, waiting on its row lock,
        // then find it used, update nothing and count as a reuse.
        let marked = diesel::update(
            refresh_tokens::table
                .find(&stored.id)
                .filter(refresh_tokens::used_at.is_null()),
        )
        .set(refresh_tokens::used_at.eq(at))
        .execute(conn)?;
        if marked == 0 {
            return Self::reused(conn, stored, at);
        }
        let token = Self::insert(conn, &stored.family_id, &user, ttl)?;
        Ok(Rotation::Rotated { token, user })
    }

    /// A used token presented again: revokes its family.
    fn reused(
        conn: &mut DbConnection,
        stored: RefreshToken,
        at: NaiveDateTime,
    ) -> Result<Rotation, ApiError> {
        Self::revoke_family(conn, &stored.family_id, at)?;
        Ok(Rotation::Reused {
            user_id: stored.user_id,
        })
    }

    fn revoke_family(
        conn: &mut DbConnection,
        family_id: &str,
        at: NaiveDateTime,
    ) -> Result<(), ApiError> {
        diesel::update(
            refresh_tokens::table
                .filter(refresh_tokens::family_id.eq(family_id))
                .filter(refresh_tokens::revoked_at.is_null()),
        )
        .set(refresh_tokens::revoked_at.eq(at))
        .execute(conn)?;
        Ok(())
    }
}
