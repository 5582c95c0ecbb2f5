//! Enterprise codes (一企一码): the random token behind each poster, its lifecycle
//! (rotate, suspend, resume), daily scan counts, QR images and posters.

pub mod handlers;
pub mod render;
pub mod tally;

use chrono::{NaiveDateTime, Utc};
use diesel::backend::Backend;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Text};
use serde::Serialize;

use crate::db::schema::{code_scans, enterprise_codes, enterprises};
use crate::db::{DbConnection, now, on_backend};
use crate::domain::enterprise::EnterpriseStatus;
use crate::domain::id::{CodeId, EnterpriseId};
use crate::domain::text::random_token;
use crate::enterprises::Enterprise;
use crate::error::ApiError;

/// A code as stored.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = enterprise_codes)]
pub struct EnterpriseCode {
    /// Id (never shown on posters).
    pub id: CodeId,
    /// Owner.
    pub enterprise_id: EnterpriseId,
    /// 128 random bits, base32 without padding: the only thing the QR carries.
    pub token: String,
    /// While suspended the page says registrations are paused.
    pub suspended: bool,
    /// Issued.
    pub created_at: NaiveDateTime,
    /// Set when replaced by rotation; the poster then answers 410.
    pub retired_at: Option<NaiveDateTime>,
}

/// A code as the API shows it.
#[derive(Clone, Debug, Serialize)]
pub struct CodeView {
    /// The token.
    pub token: String,
    /// What the QR code encodes.
    pub url: String,
    /// Paused.
    pub suspended: bool,
    /// Issued (UTC).
    pub created_at: chrono::DateTime<Utc>,
}

impl EnterpriseCode {
    /// The URL printed in the QR code.
    pub fn url(&self, public_base_url: &str) -> String {
        format!("{public_base_url}/r/{}", self.token)
    }

    /// For the API.
    pub fn view(&self, public_base_url: &str) -> CodeView {
        CodeView {
            token: self.token.clone(),
            url: self.url(public_base_url),
            suspended: self.suspended,
            created_at: self.created_at.and_utc(),
        }
    }

    /// Issues a new current code for an enterprise.
    pub fn issue(
        conn: &mut DbConnection,
        enterprise_id: &EnterpriseId,
        suspended: bool,
    ) -> Result<EnterpriseCode, ApiError> {
        let id = CodeId::generate();
        diesel::insert_into(enterprise_codes::table)
            .values((
                enterprise_codes::id.eq(&id),
                enterprise_codes::enterprise_id.eq(enterprise_id),
                enterprise_codes::token.eq(random_token()),
                enterprise_codes::suspended.eq(suspended),
                enterprise_codes::created_at.eq(now()),
            ))
            .execute(conn)?;
        Ok(enterprise_codes::table
            .find(&id)
            .select(EnterpriseCode::as_select())
            .first(conn)?)
    }

    /// The enterprise's current (not retired) code.
    pub fn current(
        conn: &mut DbConnection,
        enterprise_id: &EnterpriseId,
    ) -> Result<EnterpriseCode, ApiError> {
        Ok(enterprise_codes::table
            .filter(enterprise_codes::enterprise_id.eq(enterprise_id))
            .filter(enterprise_codes::retired_at.is_null())
            .select(EnterpriseCode::as_select())
            .first(conn)?)
    }

    /// Current codes of several enterprises, keyed by enterprise id.
    pub fn current_of(
        conn: &mut DbConnection,
        enterprise_ids: &[EnterpriseId],
    ) -> Result<std::collections::HashMap<EnterpriseId, EnterpriseCode>, ApiError> {
        Ok(enterprise_codes::table
            .filter(enterprise_codes::enterprise_id.eq_any(enterprise_ids))
            .filter(enterprise_codes::retired_at.is_null())
            .select(EnterpriseCode::as_select())
            .load::<EnterpriseCode>(conn)?
            .into_iter()
            .map(|code| (code.enterprise_id.clone(), code))
            .collect())
    }

    /// Retires the current code and issues a new one in the same state.
    pub fn rotate(
        conn: &mut DbConnection,
        enterprise_id: &EnterpriseId,
    ) -> Result<EnterpriseCode, ApiError> {
        let current = Self::current(conn, enterprise_id)?;
        diesel::update(enterprise_codes::table.find(&current.id))
            .set(enterprise_codes::retired_at.eq(now()))
            .execute(conn)?;
        Self::issue(conn, enterprise_id, current.suspended)
    }

    /// Pauses or resumes registrations through the current code.
    pub fn set_suspended(
        conn: &mut DbConnection,
        enterprise_id: &EnterpriseId,
        suspended: bool,
    ) -> Result<EnterpriseCode, ApiError> {
        let current = Self::current(conn, enterprise_id)?;
        diesel::update(enterprise_codes::table.find(&current.id))
            .set(enterprise_codes::suspended.eq(suspended))
            .execute(conn)?;
        Self::current(conn, enterprise_id)
    }

    /// A code and its enterprise by token (any state), for the public page.
    pub fn by_token(
        conn: &mut DbConnection,
        token: &str,
    ) -> Result<Option<(EnterpriseCode, Enterprise)>, ApiError> {
        // Tokens are unique: no LIMIT, which SQLite would re-plan on every run.
        Ok(on_backend!(conn, |c| {
            enterprise_codes::table
                .inner_join(enterprises::table)
                .filter(enterprise_codes::token.eq(token))
                .select((EnterpriseCode::as_select(), Enterprise::as_select()))
                .get_result(c)
                .optional()
        })?)
    }

    /// Adds `scans` page opens of a code on a zone day (`YYYY-MM-DD`).
    pub fn record_scans(
        conn: &mut DbConnection,
        code_id: &CodeId,
        day: &str,
        scans: i64,
    ) -> Result<(), ApiError> {
        let upsert = CountScans {
            code_id,
            day,
            scans,
        };
        on_backend!(conn, |c| upsert.execute(c))?;
        Ok(())
    }

    /// Page opens per day for all codes the enterprises have had (`None`: every
    /// enterprise), between two days.
    pub fn scans(
        conn: &mut DbConnection,
        only: Option<&[EnterpriseId]>,
        from: &str,
        to: &str,
    ) -> Result<Vec<(String, i64)>, ApiError> {
        let mut query = code_scans::table
            .inner_join(enterprise_codes::table)
            .into_boxed();
        if let Some(ids) = only {
            query = query.filter(enterprise_codes::enterprise_id.eq_any(ids));
        }
        let rows: Vec<(String, i64)> = query
            .filter(code_scans::day.ge(from))
            .filter(code_scans::day.le(to))
            .select((code_scans::day, code_scans::scans))
            .order(code_scans::day.asc())
            .load(conn)?;
        let mut days: Vec<(String, i64)> = Vec::new();
        for (day, count) in rows {
            match days.last_mut() {
                Some((last, total)) if *last == day => *total += count,
                _ => days.push((day, count)),
            }
        }
        Ok(days)
    }

    /// The operating enterprises among `only` (`None`: all) whose current code is
    /// suspended: (id, name), by name.
    pub fn suspended_among(
        conn: &mut DbConnection,
        only: Option<&[EnterpriseId]>,
    ) -> Result<Vec<(EnterpriseId, String)>, ApiError> {
        let mut query = enterprise_codes::table
            .inner_join(enterprises::table)
            .into_boxed();
        if let Some(ids) = only {
            query = query.filter(enterprise_codes::enterprise_id.eq_any(ids));
        }
        Ok(query
            .filter(enterprise_codes::retired_at.is_null())
            .filter(enterprise_codes::suspended.eq(true))
            .filter(enterprises::status.eq(EnterpriseStatus::Operating))
            .select((enterprises::id, enterprises::name))
            .order(enterprises::name.asc())
            .load(conn)?)
    }

    /// The operating enterprises among `only` (`None`: all) none of whose codes was
    /// ever opened or used to register: (id, name), by name.
    pub fn never_scanned_among(
        conn: &mut DbConnection,
        only: Option<&[EnterpriseId]>,
    ) -> Result<Vec<(EnterpriseId, String)>, ApiError> {
        let scanned = code_scans::table
            .inner_join(enterprise_codes::table)
            .select(enterprise_codes::enterprise_id);
        let mut query = enterprises::table.into_boxed();
        if let Some(ids) = only {
            query = query.filter(enterprises::id.eq_any(ids));
        }
        Ok(query
            .filter(enterprises::status.eq(EnterpriseStatus::Operating))
            .filter(enterprises::id.ne_all(scanned))
            .select((enterprises::id, enterprises::name))
            .order(enterprises::name.asc())
            .load(conn)?)
    }
}

/// `INSERT INTO code_scans … ON CONFLICT (code_id, day) DO UPDATE SET scans = scans + n`,
/// the same SQL on both backends, written out so that it is prepared once per
/// connection (diesel prepares an upsert it builds anew on every run).
#[derive(Clone, Copy, Debug)]
struct CountScans<'a> {
    code_id: &'a CodeId,
    day: &'a str,
    scans: i64,
}

impl QueryId for CountScans<'_> {
    type QueryId = CountScans<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<DB> QueryFragment<DB> for CountScans<'_>
where
    DB: Backend,
    str: ToSql<Text, DB>,
    i64: ToSql<BigInt, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("INSERT INTO code_scans (code_id, day, scans) VALUES (");
        out.push_bind_param::<Text, str>(self.code_id.as_str())?;
        out.push_sql(", ");
        out.push_bind_param::<Text, str>(self.day)?;
        out.push_sql(", ");
        out.push_bind_param::<BigInt, i64>(&self.scans)?;
        out.push_sql(
            ") ON CONFLICT (code_id, day) DO UPDATE SET scans = code_scans.scans + excluded.scans",
        );
        Ok(())
    }
}

impl<Conn> RunQueryDsl<Conn> for CountScans<'_> {}

/// Whether a current code takes registrations: not suspended, and the enterprise is
/// operating.
pub fn accepting(code: &EnterpriseCode, enterprise: &Enterprise) -> bool {
    enterprise.status == EnterpriseStatus::Operating && !code.suspended
}
