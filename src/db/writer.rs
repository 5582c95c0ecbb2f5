//! SQLite group commit: one thread owns the write connection and commits the writes
//! that queued up while it was busy in one transaction, each in a savepoint of its
//! own, so that one fsync serves the whole batch.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use diesel::Connection;
use diesel::connection::{SimpleConnection, TransactionManager};
use diesel::r2d2::R2D2Connection;
use tokio::sync::oneshot;

use super::{ConnectionManager, DbConnection};
use crate::error::ApiError;

/// Most writes committed together. A bound keeps a batch's transaction (and the WAL
/// it grows before the next checkpoint) short; under load it is rarely reached.
pub const MAX_BATCH: usize = 512;

/// Told the outcome of the batch's commit (`Err` with its cause), answers the caller.
type Completer = Box<dyn FnOnce(Result<(), &str>) + Send>;

/// A queued write: runs in its savepoint and returns how to answer once the batch's
/// commit is known.
type Job = Box<dyn FnOnce(&mut DbConnection) -> Completer + Send>;

/// The writer thread's queue and connection. The thread stops when the last
/// [`GroupCommit`] is dropped (its queue then closes).
pub struct GroupCommit {
    jobs: Sender<Job>,
    conn: Arc<Mutex<DbConnection>>,
    queued: Arc<AtomicUsize>,
    manager: ConnectionManager,
}

impl GroupCommit {
    /// Opens the write connection and starts the writer thread.
    pub fn start(manager: ConnectionManager) -> anyhow::Result<Self> {
        let conn =
            open(&manager).map_err(|e| anyhow::anyhow!("cannot open the write connection: {e}"))?;
        let conn = Arc::new(Mutex::new(conn));
        let queued = Arc::new(AtomicUsize::new(0));
        let (jobs, receiver) = mpsc::channel();
        let writer = Writer {
            conn: Arc::clone(&conn),
            queued: Arc::clone(&queued),
            manager: manager.clone(),
        };
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer.run(&receiver))
            .map_err(|e| anyhow::anyhow!("cannot start the SQLite writer thread: {e}"))?;
        Ok(Self {
            jobs,
            conn,
            queued,
            manager,
        })
    }

    /// Queues `f` for the next batch and waits until that batch has committed.
    pub async fn write<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let result = guarded(conn, f);
            Box::new(move |commit| {
                let result = match (result, commit) {
                    // Its own work was rolled back with the batch.
                    (Ok(_), Err(cause)) => Err(ApiError::unavailable(anyhow::anyhow!(
                        "the batch's commit failed: {cause}"
                    ))),
                    (result, _) => result,
                };
                // Nobody to tell when the caller stopped waiting.
                let _ = reply.send(result);
            })
        });
        self.queued.fetch_add(1, Ordering::Relaxed);
        if self.jobs.send(job).is_err() {
            self.queued.fetch_sub(1, Ordering::Relaxed);
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
        let result = guarded(&mut conn, f);
        if conn.is_broken() {
            recover(&mut conn, &self.manager);
            return Err(ApiError::internal(anyhow::anyhow!(
                "a write left its transaction open"
            )));
        }
        result
    }

    /// Writes waiting for the writer thread.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }
}

/// The writer thread's side.
struct Writer {
    conn: Arc<Mutex<DbConnection>>,
    queued: Arc<AtomicUsize>,
    manager: ConnectionManager,
}

impl Writer {
    /// Waits for a write, takes whatever else is queued (no waiting for more: an idle
    /// writer commits a lone write at once), commits them together, then answers each.
    fn run(self, jobs: &Receiver<Job>) {
        while let Ok(first) = jobs.recv() {
            let mut batch = Vec::with_capacity(MAX_BATCH.min(self.queued() + 1));
            batch.push(first);
            batch.extend(jobs.try_iter().take(MAX_BATCH - 1));
            self.queued.fetch_sub(batch.len(), Ordering::Relaxed);
            let mut conn = lock(&self.conn);
            let mut completers = Vec::with_capacity(batch.len());
            let committed = conn.transaction(|conn| {
                completers.extend(batch.into_iter().map(|job| job(conn)));
                diesel::QueryResult::Ok(())
            });
            // Still in a transaction after COMMIT: a write panicked inside nested
            // transactions, so COMMIT only released a savepoint.
            let failure = match committed {
                Ok(()) if !conn.is_broken() => None,
                Ok(()) => Some("a write left its transaction open".to_owned()),
                Err(error) => Some(error.to_string()),
            };
            if let Some(cause) = &failure {
                tracing::error!(
                    writes = completers.len(),
                    cause,
                    "SQLite group commit failed"
                );
                if conn.is_broken() {
                    recover(&mut conn, &self.manager);
                }
            }
            drop(conn);
            for complete in completers {
                complete(failure.as_deref().map_or(Ok(()), Err));
            }
        }
    }

    fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
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
            Err(ApiError::internal(anyhow::anyhow!(
                "a database write panicked: {}{}",
                panic_message(payload.as_ref()),
                rollback
                    .err()
                    .map(|e| format!(" (and its rollback failed: {e})"))
                    .unwrap_or_default()
            )))
        }
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
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
    let mut conn = r2d2::ManageConnection::connect(manager)?;
    // Savepoint journals in memory; a page cache that holds the hot B-tree pages of
    // the tables written most (the default 2 MB had the writer re-reading pages from
    // the file on every batch).
    conn.batch_execute("PRAGMA temp_store = MEMORY; PRAGMA cache_size = -65536")
        .map_err(diesel::r2d2::Error::QueryError)?;
    Ok(conn)
}

/// Replaces a connection whose transaction state is unknown; closing it rolls back
/// whatever it left open.
fn recover(conn: &mut DbConnection, manager: &ConnectionManager) {
    match open(manager) {
        Ok(fresh) => *conn = fresh,
        Err(error) => tracing::error!(%error, "cannot reopen the SQLite write connection"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::sync::mpsc as std_mpsc;

    use super::*;
    use crate::audit::{self, Actor, Event};
    use crate::config::SqliteSynchronous;
    use crate::db::{DatabaseUrl, Db};

    fn sqlite(dir: &tempfile::TempDir) -> Db {
        let url = DatabaseUrl::Sqlite(dir.path().join("group.db"));
        Db::connect(&url, SqliteSynchronous::Full, 2).unwrap()
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
        while db.write_queue() != Some(count) {
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
                        _ if id % 10 == 3 => Err(ApiError::conflict("test_refused", "refused")),
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
                Err(error) if id == 7 => assert_eq!(error.code(), "internal_error"),
                Err(error) if id % 10 == 3 => assert_eq!(error.code(), "test_refused"),
                Ok(returned) if id != 7 && id % 10 != 3 => committed.push(returned),
                other => panic!("write {id}: {other:?}"),
            }
        }
        assert_eq!(committed.len(), 269);
        let report = db.read_blocking(audit::verify).unwrap();
        assert!(report.ok);
        assert_eq!(report.checked, 269);
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
        assert_eq!(stored, committed);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batch_that_cannot_commit_answers_every_write_with_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite(&dir);
        let (release, holder) = hold_writer(&db).await;
        let mut writes = Vec::new();
        for id in 0..20 {
            let db = db.clone();
            writes.push(tokio::spawn(async move {
                db.write(move |conn| {
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
                })
                .await
            }));
        }
        wait_until_queued(&db, 20).await;
        release.send(()).unwrap();
        holder.await.unwrap();
        for write in writes {
            assert!(write.await.unwrap().is_err());
        }
        assert_eq!(db.read_blocking(audit::verify).unwrap().checked, 0);

        // The writer recovered: the next write commits.
        db.write(|conn| append(conn, 1)).await.unwrap();
        db.write_blocking(|conn| append(conn, 2)).unwrap();
        let report = db.read_blocking(audit::verify).unwrap();
        assert!(report.ok);
        assert_eq!(report.checked, 2);
    }
}
