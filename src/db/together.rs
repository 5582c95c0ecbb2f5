//! Several INSERTs in one round trip: PostgreSQL runs them as one statement
//! (`WITH w0 AS (INSERT …), w1 AS (INSERT …) INSERT …`, its writable common table
//! expressions), so a registration's rows cost one trip to the server instead of one
//! each; SQLite, which has no such statement and no trip to save, runs them one after
//! another. Each part is an INSERT as diesel builds it, so a chain of statements that
//! diesel prepares once is prepared once too.

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::query_dsl::methods::ExecuteDsl;
use diesel::{PgConnection, SqliteConnection};

use crate::db::DbConnection;
use crate::error::ApiError;

/// An INSERT that can take part in a chain: a statement on both backends.
pub trait Insertion:
    QueryFragment<Pg> + QueryId + ExecuteDsl<PgConnection> + ExecuteDsl<SqliteConnection>
{
}

impl<T> Insertion for T where
    T: QueryFragment<Pg> + QueryId + ExecuteDsl<PgConnection> + ExecuteDsl<SqliteConnection>
{
}

/// `first`, then the rest of the chain.
pub struct Then<A, B>(pub A, pub B);

/// The chain's last statement.
pub struct Last<S>(pub S);

/// What follows the first statement of a chain.
pub trait Rest {
    /// Writes `, wN AS (…)` for each further statement and the last one itself.
    fn walk_rest<'b>(&'b self, out: AstPass<'_, 'b, Pg>, n: usize) -> QueryResult<()>;

    /// Runs each statement in turn on SQLite.
    fn run_each(self, conn: &mut SqliteConnection) -> QueryResult<()>;
}

impl<S: Insertion> Rest for Last<S> {
    fn walk_rest<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>, _: usize) -> QueryResult<()> {
        out.push_sql(" ");
        self.0.walk_ast(out)
    }

    fn run_each(self, conn: &mut SqliteConnection) -> QueryResult<()> {
        ExecuteDsl::execute(self.0, conn).map(drop)
    }
}

impl<A: Insertion, B: Rest> Rest for Then<A, B> {
    fn walk_rest<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>, n: usize) -> QueryResult<()> {
        out.push_sql(&format!(", w{n} AS ("));
        self.0.walk_ast(out.reborrow())?;
        out.push_sql(")");
        self.1.walk_rest(out, n + 1)
    }

    fn run_each(self, conn: &mut SqliteConnection) -> QueryResult<()> {
        ExecuteDsl::execute(self.0, conn)?;
        self.1.run_each(conn)
    }
}

impl<A: Insertion, B: Rest> QueryFragment<Pg> for Then<A, B> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH w0 AS (");
        self.0.walk_ast(out.reborrow())?;
        out.push_sql(")");
        self.1.walk_rest(out, 1)
    }
}

impl<A: QueryId, B: QueryId> QueryId for Then<A, B> {
    type QueryId = Then<A::QueryId, B::QueryId>;
    const HAS_STATIC_QUERY_ID: bool = A::HAS_STATIC_QUERY_ID && B::HAS_STATIC_QUERY_ID;
}

impl<S: QueryId> QueryId for Last<S> {
    type QueryId = Last<S::QueryId>;
    const HAS_STATIC_QUERY_ID: bool = S::HAS_STATIC_QUERY_ID;
}

impl<A, B> RunQueryDsl<PgConnection> for Then<A, B> {}

/// Runs a chain of INSERTs: one statement on PostgreSQL, one after another on SQLite.
pub fn insert_together<A, B>(conn: &mut DbConnection, chain: Then<A, B>) -> Result<(), ApiError>
where
    A: Insertion,
    B: Rest + QueryId,
{
    match conn {
        DbConnection::Postgresql(pg) => {
            chain.execute(pg)?;
        }
        DbConnection::Sqlite(sqlite) => {
            ExecuteDsl::execute(chain.0, sqlite)?;
            chain.1.run_each(sqlite)?;
        }
    }
    Ok(())
}
