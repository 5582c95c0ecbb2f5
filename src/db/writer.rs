//! SQLite group commit: one thread owns the write connection and commits the writes
//! that queued up while it was busy in one transaction, so that one fsync serves the
//! whole batch.
//!
//! A write's `Err`, or panic, must roll back only its own work. Most writes therefore
//! run in a savepoint of their own. A savepoint is not free: SQLite copies every page
//! a write touches into the savepoint's journal first, and the savepoint's two
//! statements cost as much again. Writes whose `Err` is exceptional (a database error,
//! never a refusal) and which may run again can skip it ([`GroupCommit::write_replayable`]):
//! the batch runs them first, bare; should one of them fail, the whole transaction
//! rolls back, and the batch runs again with every write in a savepoint of its own.

use crossbeam_channel::{Receiver, Sender};
use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use diesel::Connection;
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::r2d2::R2D2Connection;
use tokio::sync::oneshot;

use super::{ConnectionManager, DbConnection};
use crate::error::ApiError;

/// Most writes committed together. A bound keeps a batch's transaction (and the WAL
/// it grows before the next checkpoint) short; under load it is rarely reached.
pub const MAX_BATCH: usize = 512;

/// Told the outcome of the batch's commit (`Err` with its cause), answers the caller.
type Completer = Box<dyn FnOnce(Result<(), &str>) + Send>;

/// A queued write.
enum Job {
    /// Runs once, in a savepoint of its own, and returns how to answer once the
    /// batch's commit is known.
    Once(OnceJob),
    /// May run more than once; bare while its batch goes well.
    Replayable(Box<dyn Replay>),
}

/// A write that can run again after its work was rolled back.
trait Replay: Send {
    /// Runs the write, in a savepoint of its own or bare, keeping its result; whether
    /// it succeeded.
    fn run(&mut self, conn: &mut DbConnection, savepoint: bool) -> bool;

    /// How to answer, with the result of its last run, once the batch's commit is
    /// known.
    fn finish(self: Box<Self>) -> Completer;
}

/// A replayable write and the result of its last run.
struct Replayed<F, T> {
    f: F,
    result: Option<Result<T, ApiError>>,
    reply: oneshot::Sender<Result<T, ApiError>>,
}

impl<F, T> Replay for Replayed<F, T>
where
    T: Send + 'static,
    F: Fn(&mut DbConnection) -> Result<T, ApiError> + Send,
{
    fn run(&mut self, conn: &mut DbConnection, savepoint: bool) -> bool {
        let f = &self.f;
        let result = if savepoint {
            guarded(conn, f)
        } else {
            panic::catch_unwind(AssertUnwindSafe(|| f(conn)))
                .unwrap_or_else(|payload| Err(panicked(payload.as_ref(), None)))
        };
        let succeeded = result.is_ok();
        self.result = Some(result);
        succeeded
    }

    fn finish(self: Box<Self>) -> Completer {
        // Not run: the batch failed before it came to this write.
        let result = self.result.unwrap_or_else(|| {
            Err(ApiError::unavailable(anyhow::anyhow!(
                "the batch failed before this write ran"
            )))
        });
        completer(result, self.reply)
    }
}

/// Answers `reply` with `result` once the batch's commit is known: a commit that
/// failed rolled back the write's work too.
fn completer<T: Send + 'static>(
    result: Result<T, ApiError>,
    reply: oneshot::Sender<Result<T, ApiError>>,
) -> Completer {
    Box::new(move |commit| {
        let result = match (result, commit) {
            (Ok(_), Err(cause)) => Err(ApiError::unavailable(anyhow::anyhow!(
                "the batch's commit failed: {cause}"
            ))),
            (result, _) => result,
        };
        // Nobody to tell when the caller stopped waiting.
        let _ = reply.send(result);
    })
}

/// The writer thread's queue and connection. The thread stops when the last
/// [`GroupCommit`] is dropped (its queue then closes).
pub struct GroupCommit {
    jobs: Sender<Job>,
    conn: Arc<Mutex<DbConnection>>,
    manager: ConnectionManager,
}

impl GroupCommit {
    /// Opens the write connection and starts the writer thread.
    pub fn start(manager: ConnectionManager) -> anyhow::Result<Self> {
        let conn =
            open(&manager).map_err(|e| anyhow::anyhow!("cannot open the write connection: {e}"))?;
        let conn = Arc::new(Mutex::new(conn));
        let (jobs, receiver) = crossbeam_channel::unbounded();
        let writer = Writer {
            conn: Arc::clone(&conn),
            manager: manager.clone(),
        };
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer.run(&receiver))
            .map_err(|e| anyhow::anyhow!("cannot start the SQLite writer thread: {e}"))?;
        Ok(Self {
            jobs,
            conn,
            manager,
        })
    }

    /// Queues `f` for the next batch, to run in a savepoint of its own, and waits
    /// until that batch has committed.
    pub async fn write<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.enqueue(
            Job::Once(Box::new(move |conn| completer(guarded(conn, f), reply))),
            answer,
        )
        .await
    }

    /// Like [`GroupCommit::write`] for a write whose `Err` is exceptional (a database
    /// error, never a refusal): `f` runs without a savepoint and may run again (see
    /// the module documentation), so it must not change anything but the database.
    pub async fn write_replayable<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: Fn(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Replayed {
            f,
            result: None,
            reply,
        };
        self.enqueue(Job::Replayable(Box::new(job)), answer).await
    }

    async fn enqueue<T>(
        &self,
        job: Job,
        answer: oneshot::Receiver<Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        if self.jobs.send(job).is_err() {
            return Err(ApiError::unavailable(anyhow::anyhow!(
                "the SQLite writer thread has stopped"
            )));
        }
        answer.await.map_err(|_| {
            ApiError::unavailable(anyhow::anyhow!("the SQLite writer thread dropped a write"))
        })?
    }

    /// Runs `f` in a transaction of its own on the write connection, between batches;
    /// for start-up and command-line tools, which may hold borrowed data.
    pub fn write_blocking<T>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let mut conn = lock(&self.conn);
        let result = immediate(&mut conn, |conn| guarded(conn, f));
        if result.as_ref().is_err_and(ApiError::connection_lost) {
            recover(&mut conn, &self.manager);
        } else if conn.is_broken() {
            recover(&mut conn, &self.manager);
            return Err(ApiError::internal(anyhow::anyhow!(
                "a write left its transaction open"
            )));
        }
        result
    }

    /// Writes waiting for the writer thread.
    pub fn queued(&self) -> usize {
        self.jobs.len()
    }
}

/// The writer thread's side.
struct Writer {
    conn: Arc<Mutex<DbConnection>>,
    manager: ConnectionManager,
}

impl Writer {
    /// Waits for a write, takes whatever else is queued (no waiting for more: an idle
    /// writer commits a lone write at once), commits them together, then answers each.
    fn run(self, jobs: &Receiver<Job>) {
        while let Ok(first) = jobs.recv() {
            let mut replayable = Vec::new();
            let mut once = Vec::new();
            for job in std::iter::once(first).chain(jobs.try_iter().take(MAX_BATCH - 1)) {
                match job {
                    Job::Once(job) => once.push(job),
                    Job::Replayable(job) => replayable.push(job),
                }
            }
            let writes = replayable.len() + once.len();
            let mut conn = lock(&self.conn);
            let mut completers = Vec::with_capacity(writes);
            let mut committed = run_batch(
                &mut conn,
                &mut replayable,
                &mut once,
                &mut completers,
                false,
            );
            if let Err(diesel::result::Error::RollbackTransaction) = committed {
                // A bare write failed (or panicked, and may have left transactions
                // of its own open): start over, each write in a savepoint.
                tracing::warn!(
                    writes,
                    "a replayable write failed; its batch runs again in savepoints"
                );
                if conn.is_broken() {
                    recover(&mut conn, &self.manager);
                }
                committed = run_batch(&mut conn, &mut replayable, &mut once, &mut completers, true);
            }
            // Still in a transaction after COMMIT: a write panicked inside nested
            // transactions, so COMMIT only released a savepoint.
            let lost = committed.as_ref().is_err_and(connection_lost);
            let failure = match committed {
                Ok(()) if !conn.is_broken() => None,
                Ok(()) => Some("a write left its transaction open".to_owned()),
                Err(error) => Some(error.to_string()),
            };
            completers.extend(replayable.into_iter().map(|job| job.finish()));
            if let Some(cause) = &failure {
                tracing::error!(
                    writes = completers.len(),
                    cause,
                    "SQLite group commit failed"
                );
                if conn.is_broken() || lost {
                    recover(&mut conn, &self.manager);
                }
            }
            drop(conn);
            for complete in completers {
                complete(failure.as_deref().map_or(Ok(()), Err));
            }
        }
    }
}

/// A once-only write, queued.
type OnceJob = Box<dyn FnOnce(&mut DbConnection) -> Completer + Send>;

/// Runs a batch in one transaction: the replayable writes first, bare or each in a
/// savepoint, then the once-only writes, each in a savepoint. Bare, the first
/// replayable write to fail rolls the transaction back before anything else has run
/// (`Err(RollbackTransaction)`), so that the batch can start over.
fn run_batch(
    conn: &mut DbConnection,
    replayable: &mut [Box<dyn Replay>],
    once: &mut Vec<OnceJob>,
    completers: &mut Vec<Completer>,
    savepoints: bool,
) -> diesel::QueryResult<()> {
    immediate(conn, |conn| {
        for job in replayable {
            if !job.run(conn, savepoints) && !savepoints {
                return Err(diesel::result::Error::RollbackTransaction);
            }
        }
        completers.extend(once.drain(..).map(|job| job(conn)));
        Ok(())
    })
}

/// Runs `f` in a transaction that takes the database's write lock at `BEGIN
/// IMMEDIATE`, waiting for it as long as the busy timeout allows. A deferred `BEGIN`
/// would take it at the first write, after the transaction's reads: should another
/// process (a second instance on the same file) have committed in between, SQLite
/// refuses that write at once (`SQLITE_BUSY_SNAPSHOT`) instead of waiting. Writes
/// inside run in savepoints of this transaction, as with diesel's own.
fn immediate<T, E>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    type Manager = <DbConnection as Connection>::TransactionManager;
    match conn {
        DbConnection::Sqlite(sqlite) => {
            AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
        }
        DbConnection::Postgresql(_) => Manager::begin_transaction(conn)?,
    }
    match f(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(error) => {
            // A failed rollback leaves the connection broken; the writer replaces it.
            let _ = Manager::rollback_transaction(conn);
            Err(error)
        }
    }
}

/// Runs `f` in a transaction of its own (inside a batch, a savepoint), so that its
/// `Err` rolls back only its own work. A panic in `f` is caught, its savepoint rolled
/// back, and it becomes a 500: the writer thread and its batch carry on.
fn guarded<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    match panic::catch_unwind(AssertUnwindSafe(|| conn.transaction(f))) {
        Ok(result) => result,
        Err(payload) => {
            // diesel's `transaction` does not roll back when unwound through. Should `f`
            // have panicked inside transactions of its own, more levels stay open and
            // the batch fails as a whole (see `Writer::run`).
            let rollback =
                <DbConnection as Connection>::TransactionManager::rollback_transaction(conn);
            Err(panicked(payload.as_ref(), rollback.err()))
        }
    }
}

/// A write's panic as a 500, with the failure of its rollback, if any.
fn panicked(payload: &(dyn Any + Send), rollback: Option<diesel::result::Error>) -> ApiError {
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    ApiError::internal(anyhow::anyhow!(
        "a database write panicked: {message}{}",
        rollback
            .map(|e| format!(" (and its rollback failed: {e})"))
            .unwrap_or_default()
    ))
}

/// The write connection; a panic is never raised while it is held (writes are
/// `guarded`), and a connection left mid-transaction is replaced, so poisoning carries
/// no meaning here.
fn lock(conn: &Mutex<DbConnection>) -> MutexGuard<'_, DbConnection> {
    conn.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Opens the write connection. Every write's savepoint keeps a sub-journal of the
/// pages it changes; in memory that costs no system calls, where a temporary file
/// cost one per page (most of the writer's time under load).
fn open(manager: &ConnectionManager) -> Result<DbConnection, diesel::r2d2::Error> {
    let mut conn = manager.open()?;
    // Savepoint journals in memory; a page cache that holds the hot B-tree pages of
    // the tables written most (the default 2 MB had the writer re-reading pages from
    // the file on every batch); the log copied into the database file every 500 pages
    // instead of 1,000, so that the batch whose commit copies it waits half as long
    // (the gate benchmark's p99 went from 18-21 ms to 15 ms, at the same rate). A
    // checkpoint on a thread of its own never waited, but under steady writes the log
    // then never started over and grew by gigabytes.
    if let DbConnection::Sqlite(sqlite) = &mut conn {
        sqlite
            .batch_execute(
                "PRAGMA temp_store = MEMORY; PRAGMA cache_size = -65536; \
                 PRAGMA wal_autocheckpoint = 500",
            )
            .map_err(diesel::r2d2::Error::QueryError)?;
    }
    Ok(conn)
}

/// Whether an error says the connection is gone (the database went away, restarts or
/// fails over): the writer then opens a new one.
fn connection_lost(error: &diesel::result::Error) -> bool {
    use diesel::result::DatabaseErrorKind::{ClosedConnection, UnableToSendCommand};
    matches!(
        error,
        diesel::result::Error::DatabaseError(ClosedConnection | UnableToSendCommand, _)
    )
}

/// Replaces a connection whose transaction state is unknown, or that is lost; closing
/// it rolls back whatever it left open.
fn recover(conn: &mut DbConnection, manager: &ConnectionManager) {
    match open(manager) {
        Ok(fresh) => *conn = fresh,
        Err(error) => tracing::error!(%error, "cannot reopen the SQLite write connection"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc as std_mpsc;

    use super::*;
    use crate::audit::{self, Actor, Event};
    use crate::config::SqliteSynchronous;
    use crate::db::{DatabaseUrl, Db};
    use crate::error::ErrorCode;

    fn sqlite(dir: &tempfile::TempDir) -> Db {
        let url = DatabaseUrl::Sqlite(dir.path().join("group.db"));
        Db::connect(&url, SqliteSynchronous::Full, 2, 1).unwrap()
    }

    fn append(conn: &mut DbConnection, id: usize) -> Result<(), ApiError> {
        audit::append(
            conn,
            &Actor::system(),
            Event::success("test.group", "test", id.to_string()),
        )
        .map(drop)
    }

    /// Holds the writer thread inside a write until `release` is sent, so that the
    /// writes queued meanwhile make up the next batch together.
    async fn hold_writer(db: &Db) -> (std_mpsc::Sender<()>, tokio::task::JoinHandle<()>) {
        let (release, gate) = std_mpsc::channel::<()>();
        let (started, running) = oneshot::channel();
        let held = db.clone();
        let holder = tokio::spawn(async move {
            held.write(move |_| {
                let _ = started.send(());
                gate.recv().map_err(ApiError::internal)
            })
            .await
            .unwrap();
        });
        running.await.unwrap();
        (release, holder)
    }

    async fn wait_until_queued(db: &Db, count: usize) {
        while db.write_queue() != count {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_or_panicking_write_rolls_back_only_itself_within_its_batch() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite(&dir);
        let (release, holder) = hold_writer(&db).await;
        let mut writes = Vec::new();
        for id in 0..300 {
            let db = db.clone();
            writes.push(tokio::spawn(async move {
                db.write(move |conn| {
                    append(conn, id)?;
                    match id {
                        7 => panic!("write {id} panics"),
                        _ if id % 10 == 3 => {
                            Err(ApiError::new(ErrorCode::InvalidTransition, "refused"))
                        }
                        _ => Ok(id),
                    }
                })
                .await
            }));
        }
        wait_until_queued(&db, 300).await;
        release.send(()).unwrap();
        holder.await.unwrap();

        let mut committed = Vec::new();
        for (id, write) in writes.into_iter().enumerate() {
            match write.await.unwrap() {
                Err(error) if id == 7 => assert_eq!(error.code(), ErrorCode::InternalError),
                Err(error) if id % 10 == 3 => {
                    assert_eq!(error.code(), ErrorCode::InvalidTransition)
                }
                Ok(returned) if id != 7 && id % 10 != 3 => committed.push(returned),
                other => panic!("write {id}: {other:?}"),
            }
        }
        assert_eq!(committed.len(), 269);
        let report = linked_and_verified(&db);
        assert!(report.ok);
        assert_eq!(report.checked, 269);
        assert_eq!(stored_ids(&db), committed);
    }

    /// Links every entry written, then verifies the chain.
    fn linked_and_verified(db: &Db) -> audit::Verification {
        while db
            .write_blocking(|conn| audit::link(conn, audit::Linking::Wait))
            .unwrap()
            > 0
        {}
        db.read_blocking(audit::verify).unwrap()
    }

    /// The ids of the audit entries written by `append`, in order.
    fn stored_ids(db: &Db) -> Vec<usize> {
        let mut stored: Vec<usize> = db
            .read_blocking(|conn| {
                use diesel::prelude::*;

                use crate::db::schema::audit_log;
                Ok(audit_log::table
                    .select(audit_log::object_id)
                    .load::<Option<String>>(conn)?)
            })
            .unwrap()
            .into_iter()
            .map(|id| id.unwrap().parse().unwrap())
            .collect();
        stored.sort_unstable();
        stored
    }

    /// Queues replayable writes 0..100 (each appends an entry and counts its runs;
    /// those in `failing` refuse, `panicking` panics) and once-only writes 100..110
    /// into one batch; returns each write's outcome and runs.
    async fn replayable_batch(
        failing: &'static [usize],
        panicking: Option<usize>,
    ) -> (Db, tempfile::TempDir, Vec<(Result<usize, ApiError>, usize)>) {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite(&dir);
        let (release, holder) = hold_writer(&db).await;
        let mut writes = Vec::new();
        for id in 0..110 {
            let queue = db.clone();
            let runs = Arc::new(AtomicUsize::new(0));
            let counted = Arc::clone(&runs);
            let write = move |conn: &mut DbConnection| {
                counted.fetch_add(1, Ordering::Relaxed);
                append(conn, id)?;
                if failing.contains(&id) {
                    return Err(ApiError::new(ErrorCode::InvalidTransition, "refused"));
                }
                if panicking == Some(id) {
                    panic!("write {id} panics");
                }
                Ok(id)
            };
            writes.push((
                tokio::spawn(async move {
                    if id < 100 {
                        queue.write_replayable(write).await
                    } else {
                        queue.write(write).await
                    }
                }),
                runs,
            ));
            // In order of their ids.
            wait_until_queued(&db, id + 1).await;
        }
        release.send(()).unwrap();
        holder.await.unwrap();
        let mut outcomes = Vec::new();
        for (write, runs) in writes {
            outcomes.push((write.await.unwrap(), runs.load(Ordering::Relaxed)));
        }
        (db, dir, outcomes)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn replayable_writes_run_once_while_none_fails() {
        let (db, _dir, outcomes) = replayable_batch(&[], None).await;
        for (id, (result, runs)) in outcomes.into_iter().enumerate() {
            assert_eq!(result.unwrap(), id);
            assert_eq!(runs, 1, "write {id}");
        }
        assert!(linked_and_verified(&db).ok);
        assert_eq!(stored_ids(&db), (0..110).collect::<Vec<_>>());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_or_panicking_replayable_write_rolls_back_only_itself() {
        for (failing, panicking) in [(&[20, 70][..], None), (&[70][..], Some(20))] {
            let (db, _dir, outcomes) = replayable_batch(failing, panicking).await;
            let mut committed = Vec::new();
            for (id, (result, runs)) in outcomes.into_iter().enumerate() {
                match result {
                    Err(error) if failing.contains(&id) => {
                        assert_eq!(error.code(), ErrorCode::InvalidTransition);
                    }
                    Err(error) if panicking == Some(id) => {
                        assert_eq!(error.code(), ErrorCode::InternalError);
                    }
                    Ok(returned) => committed.push(returned),
                    Err(error) => panic!("write {id}: {error:?}"),
                }
                // Up to the first failure (write 20) replayable writes ran bare, then
                // all ran again in savepoints; once-only writes ran once.
                assert_eq!(runs, if id <= 20 { 2 } else { 1 }, "write {id}");
            }
            let expected: Vec<usize> = (0..110)
                .filter(|id| !failing.contains(id) && panicking != Some(*id))
                .collect();
            assert_eq!(committed, expected);
            assert!(linked_and_verified(&db).ok);
            assert_eq!(stored_ids(&db), expected);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batch_that_cannot_commit_answers_every_write_with_an_error() {
        // Once-only writes, then replayable ones (the nested panic then comes in the
        // bare run first, and again when the batch starts over in savepoints).
        for replayable in [false, true] {
            batch_with_a_nested_panic(replayable).await;
        }
    }

    async fn batch_with_a_nested_panic(replayable: bool) {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite(&dir);
        let (release, holder) = hold_writer(&db).await;
        let mut writes = Vec::new();
        for id in 0..20 {
            let db = db.clone();
            let write = move |conn: &mut DbConnection| {
                append(conn, id)?;
                if id == 10 {
                    // Unwinds through a transaction of its own: the batch's state is
                    // then unknown, so nothing of it may commit.
                    conn.transaction(|conn| -> Result<(), ApiError> {
                        append(conn, 1000)?;
                        panic!("nested panic")
                    })?;
                }
                Ok(id)
            };
            writes.push(tokio::spawn(async move {
                if replayable {
                    db.write_replayable(write).await
                } else {
                    db.write(write).await
                }
            }));
        }
        wait_until_queued(&db, 20).await;
        release.send(()).unwrap();
        holder.await.unwrap();
        for write in writes {
            assert!(write.await.unwrap().is_err());
        }
        assert_eq!(linked_and_verified(&db).checked, 0);

        // The writer recovered: the next write commits.
        db.write(|conn| append(conn, 1)).await.unwrap();
        db.write_blocking(|conn| append(conn, 2)).unwrap();
        let report = linked_and_verified(&db);
        assert!(report.ok);
        assert_eq!(report.checked, 2);
    }
}
