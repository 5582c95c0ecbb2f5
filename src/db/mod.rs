//! The database: one code path over SQLite and PostgreSQL, connection pools, pragmas,
//! embedded migrations and the blocking boundary.
//!
//! Reads run on a pool of connections, on reader threads of their own, as many as the
//! pool has connections ([`Readers`]). Writes go to
//! writer threads ([`writer`]), each owning a connection of its own: one on SQLite,
//! which allows one writer at a time; on PostgreSQL one per core (or
//! `TRUCKPASS_DB_WRITERS`), taken in turn. A writer takes the first queued write and
//! then whatever else has queued meanwhile (up to [`writer::MAX_BATCH`], never waiting
//! for more), opens one transaction, runs each write in a savepoint of its own (a
//! write's `Err`, or panic, rolls back only its own work; writes that may run twice,
//! [`Db::write_replayable`], skip the savepoint and the batch starts over should one
//! of them fail), commits once, and only then answers every write: with its own
//! result, or, when the commit failed, with an error. One commit, one fsync with
//! `synchronous = FULL` on SQLite and one WAL flush on PostgreSQL, so serves a whole
//! batch, and PostgreSQL sees a few busy connections instead of one per request. A
//! caller learns of success only once its write is durable, and writes of one batch
//! see each other's changes as consecutive transactions would, in the order they ran
//! (the replayable ones first, each kind in queue order: writes queued together were
//! concurrent, so any order is one they could have had).

mod connection;
pub(crate) mod mapping;
pub mod schema;
pub mod together;
pub mod writer;

pub use connection::{DbConnection, MultiBackend};

use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{NaiveDateTime, SubsecRound, Utc};
use diesel::connection::SimpleConnection;
use diesel::r2d2::R2D2Connection;
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use tokio::sync::oneshot;

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

impl ConnectionManager {
    /// Opens a connection: PostgreSQL, or SQLite with its pragmas.
    pub fn open(&self) -> Result<DbConnection, diesel::r2d2::Error> {
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
}

/// A pooled connection, and whether it turned out to be lost (the database went
/// away under it). Connections are not pinged when taken from the pool, which would
/// cost a round trip per request: a lost one is found by the query that fails on it
/// (503 `database_unavailable`), marked, and dropped by the pool when given back.
pub struct Pooled {
    conn: DbConnection,
    lost: bool,
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = Pooled;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Pooled, Self::Error> {
        self.open().map(|conn| Pooled { conn, lost: false })
    }

    fn is_valid(&self, pooled: &mut Pooled) -> Result<(), Self::Error> {
        pooled.conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, pooled: &mut Pooled) -> bool {
        pooled.lost || pooled.conn.is_broken()
    }
}

/// Runs `f` on a connection of `pool`, marking the connection lost when `f` failed
/// because it was.
fn with_pooled<T>(
    pool: &Pool,
    f: impl FnOnce(&mut DbConnection) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let mut pooled = pool.get().map_err(ApiError::unavailable)?;
    let result = f(&mut pooled.conn);
    if result.as_ref().is_err_and(ApiError::connection_lost) {
        pooled.lost = true;
    }
    result
}

/// The read pool and the way to write. SQLite allows one writer, so writes go to the
/// group-commit writer thread and reads have their own pool; on PostgreSQL both use
/// the same pool.
#[derive(Clone)]
pub struct Db {
    reader: Pool,
    readers: Readers,
    writes: Writes,
    backend: Backend,
}

/// A queued read: runs on a reader thread and answers its caller.
type ReadJob = Box<dyn FnOnce(&Pool) + Send>;

/// The threads that run reads (and, on PostgreSQL, the writes set aside), one per
/// connection of the read pool, taking them from one queue. On the blocking thread
/// pool, which grows to hundreds of threads for slow work (password hashes, exports,
/// posters), each request waiting on the database had a thread of its own, and under
/// load dozens of them queued for the pool's few connections, waking one another:
/// the gate benchmark answered 15% more check-ins a second, and its slowest ones
/// sooner, with as many threads as connections.
#[derive(Clone)]
struct Readers {
    jobs: crossbeam_channel::Sender<ReadJob>,
}

impl Readers {
    fn start(pool: &Pool, threads: u32) -> anyhow::Result<Self> {
        let (jobs, queue) = crossbeam_channel::unbounded::<ReadJob>();
        for n in 0..threads.max(1) {
            let (pool, queue) = (pool.clone(), queue.clone());
            std::thread::Builder::new()
                .name(format!("db-reader-{n}"))
                .spawn(move || {
                    for job in queue {
                        job(&pool);
                    }
                })
                .map_err(|e| anyhow::anyhow!("cannot start a database reader thread: {e}"))?;
        }
        Ok(Self { jobs })
    }

    /// Runs `f` with a connection of the pool on a reader thread; a panic in `f` is a
    /// 500 and the thread carries on.
    async fn run<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: ReadJob = Box::new(move |pool| {
            let result = panic::catch_unwind(AssertUnwindSafe(|| with_pooled(pool, f)))
                .unwrap_or_else(|_| {
                    Err(ApiError::internal(anyhow::anyhow!(
                        "a database read panicked"
                    )))
                });
            // Nobody to tell when the caller stopped waiting.
            let _ = reply.send(result);
        });
        self.jobs.send(job).map_err(|_| {
            ApiError::unavailable(anyhow::anyhow!("the database reader threads have stopped"))
        })?;
        answer.await.map_err(|_| {
            ApiError::internal(anyhow::anyhow!("a database reader thread dropped a read"))
        })?
    }
}

/// The writer threads, each with a connection of its own (see the module
/// documentation), taken in turn.
#[derive(Clone)]
struct Writes {
    writers: Arc<[GroupCommit]>,
    next: Arc<AtomicUsize>,
}

impl Writes {
    fn start(manager: &ConnectionManager, count: usize) -> anyhow::Result<Self> {
        let writers = (0..count.max(1))
            .map(|_| GroupCommit::start(manager.clone()))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self {
            writers: writers.into(),
            next: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// The writer the next write goes to.
    fn next(&self) -> &GroupCommit {
        let turn = self.next.fetch_add(1, Ordering::Relaxed);
        &self.writers[turn % self.writers.len()]
    }
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
        writers: usize,
    ) -> anyhow::Result<Self> {
        let manager = ConnectionManager::new(url.clone(), synchronous);
        let mut first = manager.open().map_err(|e| {
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
                .test_on_check_out(false)
                .build(manager.clone())
                .map_err(|e| anyhow::anyhow!("cannot open the connection pool: {e}"))
        };
        let (backend, writers) = match url {
            // One writer: SQLite allows one at a time anyway.
            DatabaseUrl::Sqlite(_) => (Backend::Sqlite, 1),
            DatabaseUrl::Postgres(_) => (
                Backend::Postgres,
                match writers {
                    0 => std::thread::available_parallelism().map_or(2, usize::from),
                    n => n,
                },
            ),
        };
        let reader = build(pool_size)?;
        Ok(Self {
            writes: Writes::start(&manager, writers)?,
            readers: Readers::start(&reader, pool_size)?,
            reader,
            backend,
        })
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs `f` with a read connection on a reader thread.
    pub async fn read<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    {
        self.readers.run(f).await
    }

    /// Runs `f` as one transaction: everything `f` writes (including its audit
    /// entries) commits together or not at all, and this returns once it has
    /// committed: a writer thread runs it in a savepoint of its next group commit.
    pub async fn write<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    {
        self.writes.next().write(f).await
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
        self.writes.next().write_replayable(f).await
    }

    /// Like [`Db::write`], for background work (linking the audit chain, sharing
    /// counts) that must not hold up the writers' batches of requests: on PostgreSQL
    /// a transaction on a pooled connection; on SQLite, which has one writer, through
    /// it.
    pub async fn write_aside<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    {
        match self.backend {
            Backend::Sqlite => self.write(f).await,
            Backend::Postgres => self.readers.run(|conn| conn.transaction(f)).await,
        }
    }

    /// A write transaction for start-up and command-line tools, on the calling thread
    /// (on SQLite on the write connection, between two group commits).
    pub fn write_blocking<T>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        self.writes.next().write_blocking(f)
    }

    /// A read connection for command-line tools running outside the web server.
    pub fn read_blocking<T>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        with_pooled(&self.reader, f)
    }

    /// Pool state for `/metrics`: (pool name, connections, idle connections).
    pub fn pool_states(&self) -> Vec<(&'static str, u32, u32)> {
        let reader = self.reader.state();
        vec![("read", reader.connections, reader.idle_connections)]
    }

    /// Writes waiting for the writer threads, for `/metrics`.
    pub fn write_queue(&self) -> usize {
        self.writes.writers.iter().map(GroupCommit::queued).sum()
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

    /// One compile option of the bundled SQLite.
    #[derive(diesel::QueryableByName)]
    struct CompileOption {
        #[diesel(sql_type = diesel::sql_types::Text)]
        compile_options: String,
    }

    /// `.cargo/config.toml` builds SQLite with the query planner stability guarantee:
    /// without it every statement with `LIMIT ?` is planned again on every run.
    #[test]
    fn sqlite_is_built_with_the_query_planner_stability_guarantee() -> anyhow::Result<()> {
        use diesel::RunQueryDsl;
        let mut conn = SqliteConnection::establish(":memory:")?;
        let options: Vec<CompileOption> =
            diesel::sql_query("PRAGMA compile_options").load(&mut conn)?;
        assert!(
            options.iter().any(|o| o.compile_options == "ENABLE_QPSG"),
            "compile options: {:?}",
            options
                .iter()
                .map(|o| &o.compile_options)
                .collect::<Vec<_>>()
        );
        Ok(())
    }

    #[test]
    fn times_are_truncated_to_microseconds() {
        assert_eq!(now().and_utc().timestamp_subsec_nanos() % 1000, 0);
    }
}
