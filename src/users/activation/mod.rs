//! One-time activation codes: an account created in bulk (or given a fresh code) has
//! no usable password until its owner sets one with the code, from a printed sheet or
//! its QR code. One code per account, stored only as a hash, valid for
//! `activation_code_ttl_days`, used once; a new code voids the old one.
//!
//! By concern: the code, its storage and the sheet's card holders here; `handlers`
//! (issue one, redeem, the printed sheet), `bulk` (many accounts at once, and
//! enterprise contacts from the roster).

pub mod bulk;
pub mod handlers;

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use diesel::prelude::*;
use rand::Rng;
use serde::Serialize;

use crate::auth::passwords::NO_PASSWORD;
use crate::auth::tokens::hash_opaque_token;
use crate::db::schema::{activation_codes, enterprises, org_units, user_scopes, users};
use crate::db::{DbConnection, now};
use crate::domain::id::UserId;
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::users::{User, UserChanges};

/// Characters of a code: digits and capitals without look-alikes (0 O 1 I L).
const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// Characters in a code (about 59 bits), shown in groups of [`GROUP`].
const CODE_CHARS: usize = 12;
/// Characters per group when shown.
const GROUP: usize = 4;

/// A code just issued: in full, shown once, never stored or logged (its `Debug` shows
/// neither the code nor the URL that carries it).
#[derive(Clone, Serialize)]
pub struct IssuedCode {
    /// The code as printed, `K7QM-3XPA-9RTD`.
    pub code: String,
    /// The page that consumes it, with user name and code filled in (the sheet's QR).
    pub url: String,
    /// When it stops working (UTC).
    pub expires_at: DateTime<Utc>,
}

impl fmt::Debug for IssuedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedCode")
            .field("code", &"***")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A stored code.
#[derive(Insertable)]
#[diesel(table_name = activation_codes, treat_none_as_default_value = false)]
struct NewActivationCode<'a> {
    user_id: &'a UserId,
    code_hash: String,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
}

/// A new random code, grouped for reading.
fn generate() -> String {
    let mut rng = rand::rng();
    let chars: Vec<char> = (0..CODE_CHARS)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    chars
        .chunks(GROUP)
        .map(|group| group.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// A presented code in its stored form: upper case, without separators or spaces;
/// `None` when it cannot be a code at all.
fn normalise(raw: &str) -> Option<String> {
    let code: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let valid = code.len() == CODE_CHARS && code.bytes().all(|b| ALPHABET.contains(&b));
    valid.then_some(code)
}

/// The stored hash, bound to the account so that one table of hashes cannot serve
/// for every account.
fn code_hash(user_id: &UserId, normalised: &str) -> String {
    hash_opaque_token(&format!("{}:{normalised}", user_id.as_str()))
}

/// The URL of the page that consumes a code.
pub fn activation_url(public_base_url: &str, username: &str, code: &str) -> String {
    format!("{public_base_url}/console/activate?u={username}&c={code}")
}

/// Issues a fresh code for `user` (replacing any older one), valid for `ttl`.
pub fn issue(
    conn: &mut DbConnection,
    user: &User,
    ttl: TimeDelta,
    public_base_url: &str,
) -> Result<IssuedCode, ApiError> {
    void(conn, &user.id)?;
    let code = generate();
    let created_at = now();
    let expires_at = created_at + ttl;
    let stored = normalise(&code)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("a generated code does not parse")))?;
    diesel::insert_into(activation_codes::table)
        .values(NewActivationCode {
            user_id: &user.id,
            code_hash: code_hash(&user.id, &stored),
            created_at,
            expires_at,
        })
        .execute(conn)?;
    Ok(IssuedCode {
        url: activation_url(public_base_url, &user.username, &code),
        code,
        expires_at: expires_at.and_utc(),
    })
}

/// Takes an existing account's password away, ends its sessions and issues a fresh
/// code: until its owner uses the code, nobody can sign in to it.
pub fn restart(
    conn: &mut DbConnection,
    user: &User,
    ttl: TimeDelta,
    public_base_url: &str,
) -> Result<IssuedCode, ApiError> {
    let changes = UserChanges {
        password_hash: Some(NO_PASSWORD.to_owned()),
        must_change_password: Some(true),
        updated_at: Some(now()),
        ..UserChanges::default()
    };
    User::update(conn, &user.id, &changes)?;
    User::end_sessions(conn, &user.id)?;
    issue(conn, user, ttl, public_base_url)
}

/// Forgets the account's code, if any (a password was set another way).
pub fn void(conn: &mut DbConnection, user_id: &UserId) -> Result<(), ApiError> {
    diesel::delete(activation_codes::table.find(user_id)).execute(conn)?;
    Ok(())
}

/// Whether `raw` is the account's current code and still valid at `at`.
pub fn matches(
    conn: &mut DbConnection,
    user_id: &UserId,
    raw: &str,
    at: NaiveDateTime,
) -> Result<bool, ApiError> {
    let Some(code) = normalise(raw) else {
        return Ok(false);
    };
    Ok(activation_codes::table
        .find(user_id)
        .filter(activation_codes::code_hash.eq(code_hash(user_id, &code)))
        .filter(activation_codes::expires_at.gt(at))
        .select(activation_codes::user_id)
        .first::<UserId>(conn)
        .optional()?
        .is_some())
}

/// Uses the code up: true when `raw` was the account's current, valid code (and is
/// now gone), false when it was not (or a concurrent request used it first).
pub fn consume(
    conn: &mut DbConnection,
    user_id: &UserId,
    raw: &str,
    at: NaiveDateTime,
) -> Result<bool, ApiError> {
    let Some(code) = normalise(raw) else {
        return Ok(false);
    };
    let deleted = diesel::delete(
        activation_codes::table
            .find(user_id)
            .filter(activation_codes::code_hash.eq(code_hash(user_id, &code)))
            .filter(activation_codes::expires_at.gt(at)),
    )
    .execute(conn)?;
    Ok(deleted == 1)
}

/// An account as its card on the printed sheet shows it.
pub struct CardHolder {
    /// The account.
    pub user: User,
    /// Its role and unit (`企业联系人 · 福州第一化工有限公司`).
    pub unit: String,
}

/// The accounts in the order asked for, each with its role and unit as the card shows
/// them; every unknown id is a 422 naming it.
pub fn card_holders(conn: &mut DbConnection, ids: &[UserId]) -> Result<Vec<CardHolder>, ApiError> {
    let found: Vec<User> = users::table
        .filter(users::id.eq_any(ids))
        .select(User::as_select())
        .load(conn)?;
    let mut by_id: HashMap<UserId, User> = found
        .into_iter()
        .map(|user| (user.id.clone(), user))
        .collect();
    let mut errors = FieldErrors::default();
    for (index, id) in ids.iter().enumerate() {
        if !by_id.contains_key(id) {
            errors.push(FieldError::new(
                format!("user_ids[{index}]"),
                "unknown_user",
                "账号不存在",
            ));
        }
    }
    errors.finish()?;
    let units: Vec<(UserId, String)> = user_scopes::table
        .inner_join(org_units::table)
        .filter(user_scopes::user_id.eq_any(ids))
        .select((user_scopes::user_id, org_units::name))
        .order((user_scopes::user_id, org_units::name))
        .load(conn)?;
    let enterprise_ids: Vec<String> = by_id
        .values()
        .filter_map(|user| user.enterprise_id.as_ref().map(String::from))
        .collect();
    let enterprise_names: HashMap<String, String> = enterprises::table
        .filter(enterprises::id.eq_any(enterprise_ids))
        .select((enterprises::id, enterprises::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let mut names: HashMap<UserId, Vec<String>> = HashMap::new();
    for (user_id, name) in units {
        names.entry(user_id).or_default().push(name);
    }
    Ok(ids
        .iter()
        .filter_map(|id| by_id.remove(id))
        .map(|user| {
            let mut parts = names.remove(&user.id).unwrap_or_default();
            if let Some(name) = user
                .enterprise_id
                .as_ref()
                .and_then(|id| enterprise_names.get(id.as_str()))
            {
                parts.push(name.clone());
            }
            let role = user.role.label();
            let unit = if parts.is_empty() {
                role.to_owned()
            } else {
                format!("{role} · {}", parts.join("、"))
            };
            CardHolder { user, unit }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_grouped_from_the_unambiguous_alphabet_and_read_back() {
        for _ in 0..50 {
            let code = generate();
            assert_eq!(code.len(), 14, "{code}");
            assert_eq!(code.matches('-').count(), 2, "{code}");
            assert!(!code.contains(['0', 'O', '1', 'I', 'L']), "{code}");
            let plain = code.replace('-', "");
            assert_eq!(normalise(&code).as_deref(), Some(plain.as_str()));
            let typed = format!(" {} ", plain.to_lowercase());
            assert_eq!(normalise(&typed).as_deref(), Some(plain.as_str()));
        }
        assert_ne!(generate(), generate());
    }

    #[test]
    fn anything_else_is_not_a_code() {
        for bad in [
            "",
            "K7QM-3XPA-9RT",
            "K7QM-3XPA-9RTDX",
            "K7QM-3XPA-9RT0",
            "ÄÄÄÄ-ÄÄÄÄ-ÄÄÄÄ",
        ] {
            assert_eq!(normalise(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn debug_output_never_shows_the_code() {
        let code = generate();
        let issued = IssuedCode {
            url: activation_url("https://example.cn", "li.na", &code),
            code: code.clone(),
            expires_at: now().and_utc(),
        };
        let shown = format!("{issued:?} {issued:#?}");
        assert!(!shown.contains(&code), "{shown}");
        assert!(!shown.contains(&code.replace('-', "")), "{shown}");
    }

    #[test]
    fn the_hash_is_bound_to_the_account() {
        let (a, b) = (UserId::from("a".to_owned()), UserId::from("b".to_owned()));
        assert_ne!(code_hash(&a, "K7QM3XPA9RTD"), code_hash(&b, "K7QM3XPA9RTD"));
        assert!(!code_hash(&a, "K7QM3XPA9RTD").contains("K7QM"));
    }
}
