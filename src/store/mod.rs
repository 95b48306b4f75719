//! SQLite through sqlx: the pools, migrations, and every query of the bot.
//!
//! Writes go through one connection, so write transactions queue fairly in-process instead of
//! fighting over SQLite's lock; reads use a small pool of their own (WAL lets them run alongside).
//!
//! Writes are group-committed: [`Db::write`] queues a unit of work; a writer task runs every
//! queued unit in one transaction, each inside its own savepoint (a failing unit rolls back alone),
//! commits once, then answers each caller. Under a burst of clicks one fsync serves many joins;
//! alone, a unit costs one transaction as before. Nobody hears "done" before the commit.
//!
//! The queue is bounded ([`WRITE_QUEUE`] units): when it is full, callers wait for room rather
//! than memory growing without limit while the disk is slow.

pub mod activity;
pub mod digests;
pub mod masterclasses;
pub mod outbox;
pub mod participants;
pub mod privacy;
pub mod settings;
pub mod sync;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use futures::future::{BoxFuture, FutureExt as _};
use sqlx::sqlite::{
    SqliteAutoVacuum, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, SqliteConnection, SqlitePool, Transaction};
use std::path::Path;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

pub type Tx = Transaction<'static, Sqlite>;

/// Units of work committed together at most.
const MAX_BATCH: usize = 256;
/// Units of work waiting for the writer at most (beside the batch it is running); further
/// writers wait in [`Db::write`] until there is room.
pub const WRITE_QUEUE: usize = 4 * MAX_BATCH;

/// A queued unit of work: runs on the writer's connection, says whether to keep its changes,
/// and returns how to answer its caller once the commit's outcome is known.
type Unit =
    Box<dyn for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, (bool, Answer)> + Send>;
type Answer = Box<dyn FnOnce(Result<(), String>) + Send>;

/// The database of the bot.
#[derive(Clone, Debug)]
pub struct Db {
    writer: SqlitePool,
    reader: SqlitePool,
    units: mpsc::Sender<Unit>,
    /// Closed when the writer task ends (it only does by a bug): see [`Db::writer_stopped`].
    writer_alive: watch::Receiver<()>,
}

impl Db {
    /// Opens (creating if needed) the SQLite file at `path` and applies pending migrations.
    pub async fn open(path: &Path, max_readers: u32) -> anyhow::Result<Db> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating the database folder {}", dir.display()))?;
        }
        let options = connect_options(path);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            // The writer's one connection is ours alone: no ping before every batch.
            .test_before_acquire(false)
            // Under a burst every writer waits its turn here; the queue, not a timeout, is the limit.
            .acquire_timeout(Duration::from_secs(120))
            // Incremental: the retention sweep gives the pages it frees back to the file system
            // (only a new file takes it at once; an older one is converted below).
            .connect_with(
                options
                    .clone()
                    .create_if_missing(true)
                    .auto_vacuum(SqliteAutoVacuum::Incremental),
            )
            .await
            .with_context(|| format!("opening the database {}", path.display()))?;
        sqlx::migrate!("./migrations")
            .run(&writer)
            .await
            .context("applying database migrations")?;
        let vacuum = sqlx::query_scalar!("PRAGMA auto_vacuum")
            .fetch_one(&writer)
            .await?;
        if vacuum != Some(INCREMENTAL_VACUUM) {
            tracing::info!("converting the database to incremental vacuum (once; takes a moment on a large file)");
            sqlx::query!("VACUUM")
                .execute(&writer)
                .await
                .context("converting the database to incremental vacuum")?;
        }
        let reader = SqlitePoolOptions::new()
            .max_connections(max_readers.max(1))
            .connect_with(options.read_only(true))
            .await
            .with_context(|| format!("opening the database {} for reading", path.display()))?;
        let (units, queue) = mpsc::channel(WRITE_QUEUE);
        let (alive, writer_alive) = watch::channel(());
        // Owned through `writer_alive`: the app watches `Db::writer_stopped` and stops (to be
        // restarted) if the writer ever ends; a unit in flight then fails and commits nothing.
        tokio::spawn(group_commit(writer.clone(), queue, alive));
        Ok(Db {
            writer,
            reader,
            units,
            writer_alive,
        })
    }

    /// Runs `work` in a write transaction (shared with other queued work, each in its own
    /// savepoint) and returns its result once committed. An `Err` undoes only this work. Waits
    /// for room first if [`WRITE_QUEUE`] units are already queued.
    pub async fn write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<sqlx::Error> + Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T, E>> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<Result<T, E>>();
        let unit: Unit = Box::new(move |conn| {
            Box::pin(async move {
                let result = work(conn).await;
                let keep = result.is_ok();
                let answer: Answer = Box::new(move |committed: Result<(), String>| {
                    let outcome = match committed {
                        Ok(()) => result,
                        Err(error) => Err(E::from(sqlx::Error::Protocol(error))),
                    };
                    let _ = reply.send(outcome);
                });
                (keep, answer)
            })
        });
        let stopped = || E::from(sqlx::Error::Protocol(WRITER_STOPPED.into()));
        self.units.send(unit).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Resolves if the writer task ends, which only a bug can cause: nothing could be written
    /// any more, so the app stops and its supervisor restarts it.
    pub async fn writer_stopped(&self) {
        let mut alive = self.writer_alive.clone();
        while alive.changed().await.is_ok() {}
    }

    /// A plain write transaction, outside group commit: for set-up in tests and benchmarks.
    /// The bot writes through [`Db::write`]. `BEGIN IMMEDIATE` takes the write lock up front, so
    /// a transaction that reads and then writes can never fail half-way on a lock upgrade.
    pub async fn begin(&self) -> sqlx::Result<Tx> {
        self.writer.begin_with("BEGIN IMMEDIATE").await
    }

    pub fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

const WRITER_STOPPED: &str = "the database writer has stopped";

/// The writer task: takes whatever is queued (up to [`MAX_BATCH`]), runs it in one transaction,
/// commits, answers. Ends when every [`Db`] handle is dropped; `_alive` drops with it, however
/// it ends, which tells [`Db::writer_stopped`].
async fn group_commit(
    writer: SqlitePool,
    mut queue: mpsc::Receiver<Unit>,
    _alive: watch::Sender<()>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (answers, committed) = run_batch(&writer, std::mem::take(&mut batch)).await;
        if let Err(error) = &committed {
            tracing::error!(%error, units = answers.len(), "group commit failed");
        }
        for answer in answers {
            answer(committed.clone());
        }
    }
}

async fn run_batch(writer: &SqlitePool, units: Vec<Unit>) -> (Vec<Answer>, Result<(), String>) {
    let mut answers = Vec::with_capacity(units.len());
    let mut pooled = match writer.acquire().await {
        Ok(conn) => conn,
        Err(error) => return (answers, Err(error.to_string())), // dropped units tell their callers
    };
    let conn: &mut SqliteConnection = &mut pooled;
    if let Err(error) = exec(conn, "BEGIN IMMEDIATE").await {
        return (answers, Err(error.to_string()));
    }
    // A unit alone needs no savepoint: the transaction is its own.
    let alone = units.len() == 1;
    let (mut failed, mut kept_all) = (None, true);
    for unit in units {
        if failed.is_some() {
            continue; // dropped: its caller hears the batch failed
        }
        if !alone {
            if let Err(error) = exec(conn, "SAVEPOINT unit").await {
                failed = Some(error.to_string());
                continue;
            }
        }
        // A panicking unit (a bug) is undone alone; its caller hears the writer failed.
        let keep = match std::panic::AssertUnwindSafe(unit(conn))
            .catch_unwind()
            .await
        {
            Ok((keep, answer)) => {
                answers.push(answer);
                keep
            }
            Err(_) => {
                tracing::error!("a database write panicked; it was rolled back");
                false
            }
        };
        kept_all &= keep;
        if !alone {
            let undone = if keep {
                Ok(())
            } else {
                exec(conn, "ROLLBACK TO unit").await
            };
            if let Err(error) = undone.and(exec(conn, "RELEASE unit").await) {
                failed = Some(error.to_string());
            }
        }
    }
    let outcome = match failed {
        // The lone unit failed: undo it; its own error is its answer.
        None if alone && !kept_all => exec(conn, "ROLLBACK").await.map_err(|e| e.to_string()),
        None => exec(conn, "COMMIT").await.map_err(|e| e.to_string()),
        Some(error) => Err(error),
    };
    if outcome.is_err() {
        let _ = exec(conn, "ROLLBACK").await;
    }
    (answers, outcome)
}

async fn exec(conn: &mut SqliteConnection, sql: &'static str) -> sqlx::Result<()> {
    sqlx::query(sql).execute(conn).await.map(drop)
}

/// `PRAGMA auto_vacuum` of a file in incremental mode.
const INCREMENTAL_VACUUM: i64 = 2;

/// The pragmas every connection gets, benchmarks included.
pub fn connect_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .journal_mode(SqliteJournalMode::Wal)
        // After a big write (a retention sweep) the write-ahead log shrinks back to this.
        .pragma("journal_size_limit", (8 << 20).to_string())
        // FULL: an acknowledged join survives a power cut, not only a crash of the bot.
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
}

/// Discord ids are u64; SQLite integers are i64. Every id crosses through these two, bit for bit.
pub fn db_id(id: u64) -> i64 {
    id as i64
}

pub fn from_db_id(id: i64) -> u64 {
    id as u64
}

pub fn db_time(at: DateTime<Utc>) -> i64 {
    at.timestamp()
}

pub fn from_db_time(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Units waiting in the queue (not counting the batch the writer is running).
    fn queued(db: &Db) -> usize {
        db.units.max_capacity() - db.units.capacity()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writers_wait_for_room_in_the_bounded_queue_and_all_commit() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("queue.db"), 1).await.unwrap();
        db.write(|conn| Box::pin(exec(conn, "CREATE TABLE queued (n INTEGER NOT NULL)")))
            .await
            .unwrap();
        assert_eq!(
            db.units.max_capacity(),
            WRITE_QUEUE,
            "bounded by construction"
        );

        // Holding the writer's only connection stops the writer at its first batch.
        let blocker = db.begin().await.unwrap();
        let writers = WRITE_QUEUE + MAX_BATCH + 100;
        let tasks: Vec<_> = (0..writers)
            .map(|n| {
                let db = db.clone();
                tokio::spawn(async move {
                    db.write(move |conn| {
                        Box::pin(async move {
                            sqlx::query("INSERT INTO queued (n) VALUES (?)")
                                .bind(n as i64)
                                .execute(conn)
                                .await
                                .map(drop)
                        })
                    })
                    .await
                })
            })
            .collect();
        // The queue fills up and stays full: at most one batch is out of it, so at least 100
        // writers are waiting for room instead of queueing more.
        tokio::time::timeout(Duration::from_secs(30), async {
            while queued(&db) < WRITE_QUEUE {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the queue fills up");
        assert_eq!(queued(&db), WRITE_QUEUE);
        assert!(
            tasks.iter().all(|task| !task.is_finished()),
            "nothing committed yet"
        );

        blocker.rollback().await.unwrap();
        for task in tasks {
            task.await.unwrap().expect("every write commits");
        }
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(DISTINCT n) FROM queued")
            .fetch_one(db.reader())
            .await
            .unwrap();
        assert_eq!(rows, writers as i64);
        db.close().await;
    }

    #[test]
    fn ids_round_trip_bit_for_bit() {
        for id in [
            0,
            1,
            1_100_000_000_000_000_001,
            u64::MAX,
            i64::MAX as u64 + 1,
        ] {
            assert_eq!(from_db_id(db_id(id)), id);
        }
    }
}
