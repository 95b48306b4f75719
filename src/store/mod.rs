//! SQLite through sqlx: the pools, migrations, and every query of the bot.
//!
//! Writes go through one connection, so write transactions queue fairly in-process instead of
//! fighting over SQLite's lock; reads use a small pool of their own (WAL lets them run alongside).

pub mod activity;
pub mod masterclasses;
pub mod outbox;
pub mod participants;
pub mod settings;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use std::path::Path;
use std::time::Duration;

pub type Tx = Transaction<'static, Sqlite>;

/// The database of the bot.
#[derive(Clone, Debug)]
pub struct Db {
    writer: SqlitePool,
    reader: SqlitePool,
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
            // Under a burst every writer waits its turn here; the queue, not a timeout, is the limit.
            .acquire_timeout(Duration::from_secs(120))
            .connect_with(options.clone().create_if_missing(true))
            .await
            .with_context(|| format!("opening the database {}", path.display()))?;
        sqlx::migrate!("./migrations")
            .run(&writer)
            .await
            .context("applying database migrations")?;
        let reader = SqlitePoolOptions::new()
            .max_connections(max_readers.max(1))
            .connect_with(options.read_only(true))
            .await
            .with_context(|| format!("opening the database {} for reading", path.display()))?;
        Ok(Db { writer, reader })
    }

    /// Starts a write transaction. `BEGIN IMMEDIATE` takes the write lock up front, so a
    /// transaction that reads and then writes can never fail half-way on a lock upgrade.
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

/// The pragmas every connection gets, benchmarks included.
pub fn connect_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .journal_mode(SqliteJournalMode::Wal)
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
