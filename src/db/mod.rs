//! The database: one code path over SQLite and PostgreSQL, connection pools, pragmas,
//! embedded migrations and the blocking boundary.
//!
//! Reads run on a pool of connections, on the blocking thread pool. Writes differ by
//! backend. PostgreSQL runs each write in its own transaction on a pooled connection
//! and groups concurrent commits itself. SQLite allows one writer, and with
//! `synchronous = FULL` every commit waits for an fsync, which caps one-transaction-
//! per-write near the disk's fsync rate; so on SQLite [`Db::write`] queues the write
//! for one writer thread ([`writer`]) that owns the write connection. The thread takes
//! the first queued write and then whatever else has queued meanwhile (up to
//! [`writer::MAX_BATCH`], never waiting for more), opens one transaction, runs each
//! write in a savepoint of its own (a write's `Err`, or panic, rolls back only its own
//! work; writes that may run twice, [`Db::write_replayable`], skip the savepoint and
//! the batch starts over should one of them fail), commits once, and only then answers
//! every write: with its own result, or, when the commit failed, with an error. A
//! caller therefore learns of success only once its write is durable, exactly as
//! before, and writes of one batch see each other's changes as consecutive
//! transactions would, in the order they ran (the replayable ones first, each kind in
//! queue order: writes queued together were concurrent, so any order is one they
//! could have had).

mod connection;
pub mod schema;
pub mod writer;

pub use connection::{DbConnection, MultiBackend};

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use chrono::{NaiveDateTime, SubsecRound, Utc};
use diesel::connection::SimpleConnection;
use diesel::r2d2::R2D2Connection;
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::config::SqliteSynchronous;
use crate::db::writer::GroupCommit;
use crate::error::ApiError;

/// A pooled connection.
pub type Pool = r2d2::Pool<ConnectionManager>;

/// How long a request waits for a database connection before it answers 503
/// `database_unavailable`: long enough for a busy pool, short enough that a database
/// that is down or restarting is reported within seconds, not after the client gave up.
pub const POOL_WAIT: Duration = Duration::from_secs(3);

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Which database to use, decided from the URL scheme alone. `Debug` shows it
/// [redacted](DatabaseUrl::redacted).
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection string.
    Postgres(String),
}

impl DatabaseUrl {
    /// Accepts `postgres://`, `postgresql://`, `sqlite://PATH` and `sqlite:PATH`; any
    /// other scheme is an error, so a typo never falls back to an empty SQLite file.
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                anyhow::bail!("DATABASE_URL: sqlite:// needs a file path");
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        let scheme = url.split(':').next().unwrap_or_default();
        anyhow::bail!(
            "DATABASE_URL: unsupported scheme '{scheme}' (use postgres://... or sqlite://PATH)"
        )
    }

    /// A description safe to log: no password.
    pub fn redacted(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite://{}", path.display()),
            Self::Postgres(url) => match url::Url::parse(url) {
                Ok(parsed) => format!(
                    "postgres://{}/{}",
                    parsed.host_str().unwrap_or("localhost"),
                    parsed.path().trim_start_matches('/')
                ),
                Err(_) => "postgres://(unparseable)".into(),
            },
        }
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Opens connections for r2d2, choosing the backend from the URL and applying the
/// SQLite pragmas to every new connection.
#[derive(Clone, Debug)]
pub struct ConnectionManager {
    url: DatabaseUrl,
    synchronous: SqliteSynchronous,
}

impl ConnectionManager {
    /// A manager for `url`.
    pub fn new(url: DatabaseUrl, synchronous: SqliteSynchronous) -> Self {
        Self { url, synchronous }
    }
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        match &self.url {
            DatabaseUrl::Postgres(url) => PgConnection::establish(url)
                .map(DbConnection::Postgresql)
                .map_err(diesel::r2d2::Error::ConnectionError),
            DatabaseUrl::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                let synchronous = match self.synchronous {
                    SqliteSynchronous::Full => "FULL",
                    SqliteSynchronous::Normal => "NORMAL",
                };
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = {synchronous}; PRAGMA foreign_keys = ON;"
                ))
                .map_err(diesel::r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        conn.is_broken()
    }
}

/// The read pool and the way to write. SQLite allows one writer, so writes go to the
/// group-commit writer thread and reads have their own pool; on PostgreSQL both use
/// the same pool.
#[derive(Clone)]
pub struct Db {
    reader: Pool,
    writes: Writes,
    backend: Backend,
}

/// Where writes run.
#[derive(Clone)]
enum Writes {
    /// PostgreSQL: a transaction per write on a pooled connection.
    Pooled(Pool),
    /// SQLite: batches on the one write connection (see the module documentation).
    Grouped(Arc<GroupCommit>),
}

/// The backend in use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Backend {
    /// Lower-case name for metrics and logs.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl Db {
    /// Connects (once, directly, so that a bad URL fails with its real cause), applies
    /// pending migrations and builds the pools.
    pub fn connect(
        url: &DatabaseUrl,
        synchronous: SqliteSynchronous,
        pool_size: u32,
    ) -> anyhow::Result<Self> {
        let manager = ConnectionManager::new(url.clone(), synchronous);
        let mut first = r2d2::ManageConnection::connect(&manager).map_err(|e| {
            let cause = e
                .to_string()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            anyhow::anyhow!("cannot connect to {}: {cause}", url.redacted())
        })?;
        run_migrations(&mut first)?;
        drop(first);
        let build = |size: u32| {
            r2d2::Pool::builder()
                .max_size(size)
                .min_idle(Some(1))
                .connection_timeout(POOL_WAIT)
                .build(manager.clone())
                .map_err(|e| anyhow::anyhow!("cannot open the connection pool: {e}"))
        };
        Ok(match url {
            DatabaseUrl::Sqlite(_) => Self {
                writes: Writes::Grouped(Arc::new(GroupCommit::start(manager.clone())?)),
                reader: build(pool_size)?,
                backend: Backend::Sqlite,
            },
            DatabaseUrl::Postgres(_) => {
                let pool = build(pool_size)?;
                Self {
                    writes: Writes::Pooled(pool.clone()),
                    reader: pool,
                    backend: Backend::Postgres,
                }
            }
        })
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs `f` with a read connection on the blocking pool.
    pub async fn read<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    {
        let pool = self.reader.clone();
        web::block(move || {
            let mut conn = pool.get().map_err(ApiError::unavailable)?;
            f(&mut conn)
        })
        .await
        .map_err(ApiError::internal)?
    }

    /// Runs `f` as one transaction: everything `f` writes (including its audit
    /// entries) commits together or not at all, and this returns once it has
    /// committed. On PostgreSQL a pooled connection runs it on the blocking pool; on
    /// SQLite the writer thread runs it in a savepoint of the next group commit.
    pub async fn write<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    {
        match &self.writes {
            Writes::Grouped(writer) => writer.write(f).await,
            Writes::Pooled(pool) => {
                let pool = pool.clone();
                web::block(move || {
                    let mut conn = pool.get().map_err(ApiError::unavailable)?;
                    let conn: &mut DbConnection = &mut conn;
                    conn.transaction(f)
                })
                .await
                .map_err(ApiError::internal)?
            }
        }
    }

    /// Like [`Db::write`], for a write whose `Err` is exceptional (a database error,
    /// never a refusal) and which changes nothing but the database: `f` may run more
    /// than once, its earlier work rolled back, and so on SQLite it runs without a
    /// savepoint of its own (see [`writer`]).
    pub async fn write_replayable<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: Fn(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    {
        match &self.writes {
            Writes::Grouped(writer) => writer.write_replayable(f).await,
            Writes::Pooled(_) => self.write(f).await,
        }
    }

    /// A write transaction for start-up and command-line tools, on the calling thread
    /// (on SQLite on the write connection, between two group commits).
    pub fn write_blocking<T>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        match &self.writes {
            Writes::Grouped(writer) => writer.write_blocking(f),
            Writes::Pooled(pool) => {
                let mut conn = pool.get().map_err(ApiError::unavailable)?;
                let conn: &mut DbConnection = &mut conn;
                conn.transaction(f)
            }
        }
    }

    /// A read connection for command-line tools running outside the web server.
    pub fn read_blocking<T>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let mut conn = self.reader.get().map_err(ApiError::unavailable)?;
        f(&mut conn)
    }

    /// Pool state for `/metrics`: (pool name, connections, idle connections).
    pub fn pool_states(&self) -> Vec<(&'static str, u32, u32)> {
        let reader = self.reader.state();
        vec![("read", reader.connections, reader.idle_connections)]
    }

    /// Writes waiting for the SQLite writer thread, for `/metrics`; `None` on PostgreSQL.
    pub fn write_queue(&self) -> Option<usize> {
        match &self.writes {
            Writes::Grouped(writer) => Some(writer.queued()),
            Writes::Pooled(_) => None,
        }
    }
}

/// Runs a query on the concrete connection behind a [`DbConnection`]:
/// `on_backend!(conn, |c| query.execute(c))`. Through the multi-backend connection a
/// query's SQL text is rebuilt on every execution, even when its prepared statement
/// is cached; on the concrete connection a cached statement is only bound and run.
/// For the queries of the public registration and the pass page, which run thousands
/// of times a second.
macro_rules! on_backend {
    ($conn:expr, |$inner:ident| $query:expr) => {
        match $conn {
            $crate::db::DbConnection::Postgresql($inner) => $query,
            $crate::db::DbConnection::Sqlite($inner) => $query,
        }
    };
}
pub(crate) use on_backend;

/// Applies every pending embedded migration of the connection's backend.
pub fn run_migrations(conn: &mut DbConnection) -> anyhow::Result<()> {
    let result = match conn {
        DbConnection::Postgresql(pg) => {
            // Replicas starting together must not migrate concurrently.
            pg.batch_execute("SELECT pg_advisory_lock(727370001)")?;
            let result = pg.run_pending_migrations(POSTGRES_MIGRATIONS).map(drop);
            pg.batch_execute("SELECT pg_advisory_unlock(727370001)")?;
            result
        }
        DbConnection::Sqlite(sqlite) => sqlite.run_pending_migrations(SQLITE_MIGRATIONS).map(drop),
    };
    result.map_err(|e| anyhow::anyhow!("database migration failed: {e}"))
}

/// The current UTC time, truncated to microseconds: PostgreSQL keeps microseconds and
/// SQLite nanoseconds, and audit hashes must not depend on the backend.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// A new time-ordered identifier (UUIDv7 as text).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_alone_picks_the_backend() -> anyhow::Result<()> {
        assert_eq!(
            DatabaseUrl::parse("postgres://u@h/db")?,
            DatabaseUrl::Postgres("postgres://u@h/db".into())
        );
        assert!(matches!(
            DatabaseUrl::parse("postgresql://h/db")?,
            DatabaseUrl::Postgres(_)
        ));
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/x.db")?,
            DatabaseUrl::Sqlite("data/x.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/x.db")?,
            DatabaseUrl::Sqlite("/var/x.db".into())
        );
        for bad in ["mysql://h/db", "postgress://h/db", "x.db", "sqlite://", ""] {
            assert!(DatabaseUrl::parse(bad).is_err(), "{bad} accepted");
        }
        Ok(())
    }

    #[test]
    fn redacted_urls_carry_no_password() -> anyhow::Result<()> {
        let url = DatabaseUrl::parse("postgres://app:s3cret@db.internal:5432/truckpass")?;
        assert_eq!(url.redacted(), "postgres://db.internal/truckpass");
        Ok(())
    }

    #[test]
    fn times_are_truncated_to_microseconds() {
        assert_eq!(now().and_utc().timestamp_subsec_nanos() % 1000, 0);
    }
}
