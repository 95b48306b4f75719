//! The Discord side of each masterclass: when the sync worker must look at it again, and what
//! Discord shows as far as the worker knows (ids live on the masterclass row).

use super::{db_id, db_time, from_db_id, from_db_time};
use crate::domain::{ChannelId, GuildId, MasterclassId, UserId};
use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqliteConnection};

/// The thread as the worker left it (or as Discord told us, for an auto-archive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThreadState {
    Open,
    /// Archived, not locked: anyone posting reopens it.
    Archived,
    /// Archived and locked: a cancelled masterclass's last word was said.
    Closed,
}

impl ThreadState {
    fn as_str(self) -> &'static str {
        match self {
            ThreadState::Open => "open",
            ThreadState::Archived => "archived",
            ThreadState::Closed => "closed",
        }
    }

    fn from_stored(text: &str) -> Self {
        match text {
            "archived" => ThreadState::Archived,
            "closed" => ThreadState::Closed,
            _ => ThreadState::Open,
        }
    }
}

/// Everything the worker remembers about one masterclass's Discord objects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncState {
    pub masterclass_id: MasterclassId,
    pub announcement_channel_id: Option<ChannelId>,
    pub announcement_message_id: Option<u64>,
    pub thread_id: Option<ChannelId>,
    pub event_id: Option<u64>,
    pub announcement_intent_at: Option<DateTime<Utc>>,
    pub thread_intent_at: Option<DateTime<Utc>>,
    pub event_intent_at: Option<DateTime<Utc>>,
    /// Fingerprint of the announcement as last sent.
    pub announcement_shown: Option<String>,
    pub thread_name: Option<String>,
    pub thread_state: ThreadState,
    pub event_shown: Option<String>,
    pub event_status: Option<u8>,
}

#[derive(FromRow)]
struct Row {
    masterclass_id: i64,
    announcement_channel_id: Option<i64>,
    announcement_message_id: Option<i64>,
    thread_id: Option<i64>,
    event_id: Option<i64>,
    announcement_intent_at: Option<i64>,
    thread_intent_at: Option<i64>,
    event_intent_at: Option<i64>,
    announcement_shown: Option<String>,
    thread_name: Option<String>,
    thread_state: String,
    event_shown: Option<String>,
    event_status: Option<i64>,
}

impl From<Row> for SyncState {
    fn from(row: Row) -> Self {
        SyncState {
            masterclass_id: MasterclassId(row.masterclass_id),
            announcement_channel_id: row
                .announcement_channel_id
                .map(|id| ChannelId(from_db_id(id))),
            announcement_message_id: row.announcement_message_id.map(from_db_id),
            thread_id: row.thread_id.map(|id| ChannelId(from_db_id(id))),
            event_id: row.event_id.map(from_db_id),
            announcement_intent_at: row.announcement_intent_at.map(from_db_time),
            thread_intent_at: row.thread_intent_at.map(from_db_time),
            event_intent_at: row.event_intent_at.map(from_db_time),
            announcement_shown: row.announcement_shown,
            thread_name: row.thread_name,
            thread_state: ThreadState::from_stored(&row.thread_state),
            event_shown: row.event_shown,
            event_status: row.event_status.map(|s| s as u8),
        }
    }
}

/// Marks a masterclass's Discord side as out of step: the worker looks at it at once. Called in
/// the transaction of every change Discord should show (and re-arms a sync that gave up).
pub async fn touch(
    conn: &mut SqliteConnection,
    guild: GuildId,
    id: MasterclassId,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO discord_sync (masterclass_id, guild_id, due_at, version) VALUES (?1, ?2, ?3, 1)
         ON CONFLICT (masterclass_id) DO UPDATE SET
             due_at = MIN(COALESCE(due_at, ?3), ?3), version = version + 1,
             attempts = 0, failed_at = NULL",
    )
    .bind(id.0)
    .bind(db_id(guild.0))
    .bind(db_time(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// Discord archived a masterclass's thread on its own (inactivity): the worker reopens it while
/// the masterclass is ahead. Returns whether the thread is one of ours.
pub async fn thread_archived_by_discord(
    conn: &mut SqliteConnection,
    thread: ChannelId,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let updated = sqlx::query(
        "UPDATE discord_sync SET thread_state = 'archived', due_at = MIN(COALESCE(due_at, ?2), ?2),
             version = version + 1, attempts = 0, failed_at = NULL
         WHERE thread_state = 'open'
           AND masterclass_id = (SELECT id FROM masterclasses WHERE thread_id = ?1)",
    )
    .bind(db_id(thread.0))
    .bind(db_time(now))
    .execute(conn)
    .await?;
    Ok(updated.rows_affected() > 0)
}

/// A masterclass taken by a worker for a while.
#[derive(Clone, Copy, Debug)]
pub struct Claim {
    pub masterclass_id: MasterclassId,
    /// The change count when claimed: a change made meanwhile keeps the row due.
    pub version: i64,
    pub attempts: u32,
}

/// Takes up to `limit` due masterclasses for `lease`, counting the attempt.
pub async fn claim_due(
    conn: &mut SqliteConnection,
    now: DateTime<Utc>,
    lease: chrono::Duration,
    limit: i64,
) -> sqlx::Result<Vec<Claim>> {
    let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
        "UPDATE discord_sync SET claimed_until = ?1, attempts = attempts + 1
         WHERE masterclass_id IN (
             SELECT masterclass_id FROM discord_sync
             WHERE due_at <= ?2 AND failed_at IS NULL
               AND (claimed_until IS NULL OR claimed_until <= ?2)
             ORDER BY due_at LIMIT ?3)
         RETURNING masterclass_id, version, attempts",
    )
    .bind(db_time(now + lease))
    .bind(db_time(now))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, version, attempts)| Claim {
            masterclass_id: MasterclassId(id),
            version,
            attempts: attempts as u32,
        })
        .collect())
}

/// When the next masterclass falls due, if any.
pub async fn next_due(conn: &mut SqliteConnection) -> sqlx::Result<Option<DateTime<Utc>>> {
    let due: Option<i64> = sqlx::query_scalar(
        "SELECT MIN(due_at) FROM discord_sync WHERE due_at IS NOT NULL AND failed_at IS NULL",
    )
    .fetch_one(conn)
    .await?;
    Ok(due.map(from_db_time))
}

/// Frees every claim at start-up (only one worker runs per database).
pub async fn release_claims(conn: &mut SqliteConnection) -> sqlx::Result<u64> {
    let result = sqlx::query(
        "UPDATE discord_sync SET claimed_until = NULL
         WHERE claimed_until IS NOT NULL AND due_at IS NOT NULL AND failed_at IS NULL",
    )
    .execute(conn)
    .await?;
    Ok(result.rows_affected())
}

pub async fn get(
    conn: &mut SqliteConnection,
    id: MasterclassId,
) -> sqlx::Result<Option<SyncState>> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT s.masterclass_id, m.announcement_channel_id, m.announcement_message_id,
                m.thread_id, m.event_id, s.announcement_intent_at, s.thread_intent_at,
                s.event_intent_at, s.announcement_shown, s.thread_name, s.thread_state,
                s.event_shown, s.event_status
         FROM discord_sync s JOIN masterclasses m ON m.id = s.masterclass_id
         WHERE s.masterclass_id = ?",
    )
    .bind(id.0)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Into::into))
}

/// Stores the ids, intents and what Discord shows, as the worker now knows them.
pub async fn save(conn: &mut SqliteConnection, state: &SyncState) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE masterclasses SET announcement_channel_id = ?2, announcement_message_id = ?3,
             thread_id = ?4, event_id = ?5
         WHERE id = ?1",
    )
    .bind(state.masterclass_id.0)
    .bind(state.announcement_channel_id.map(|c| db_id(c.0)))
    .bind(state.announcement_message_id.map(db_id))
    .bind(state.thread_id.map(|c| db_id(c.0)))
    .bind(state.event_id.map(db_id))
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE discord_sync SET announcement_intent_at = ?2, thread_intent_at = ?3,
             event_intent_at = ?4, announcement_shown = ?5, thread_name = ?6, thread_state = ?7,
             event_shown = ?8, event_status = ?9
         WHERE masterclass_id = ?1",
    )
    .bind(state.masterclass_id.0)
    .bind(state.announcement_intent_at.map(db_time))
    .bind(state.thread_intent_at.map(db_time))
    .bind(state.event_intent_at.map(db_time))
    .bind(&state.announcement_shown)
    .bind(&state.thread_name)
    .bind(state.thread_state.as_str())
    .bind(&state.event_shown)
    .bind(state.event_status.map(i64::from))
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether another masterclass already owns this thread or event (crash recovery adopts only
/// objects nobody owns).
pub async fn owned_by_another(
    conn: &mut SqliteConnection,
    id: MasterclassId,
    thread: Option<u64>,
    event: Option<u64>,
) -> sqlx::Result<bool> {
    let owner: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM masterclasses WHERE id <> ?1 AND (thread_id = ?2 OR event_id = ?3) LIMIT 1",
    )
    .bind(id.0)
    .bind(thread.map(db_id))
    .bind(event.map(db_id))
    .fetch_optional(conn)
    .await?;
    Ok(owner.is_some())
}

/// Members the worker has added to the thread.
pub async fn thread_members(
    conn: &mut SqliteConnection,
    id: MasterclassId,
) -> sqlx::Result<Vec<UserId>> {
    let rows: Vec<i64> =
        sqlx::query_scalar("SELECT user_id FROM thread_members WHERE masterclass_id = ?")
            .bind(id.0)
            .fetch_all(conn)
            .await?;
    Ok(rows.into_iter().map(|u| UserId(from_db_id(u))).collect())
}

/// Records members added to (`true`) or removed from (`false`) the thread.
pub async fn set_thread_members(
    conn: &mut SqliteConnection,
    id: MasterclassId,
    changes: &[(UserId, bool)],
) -> sqlx::Result<()> {
    for &(user, present) in changes {
        let sql = if present {
            "INSERT OR IGNORE INTO thread_members (masterclass_id, user_id) VALUES (?, ?)"
        } else {
            "DELETE FROM thread_members WHERE masterclass_id = ? AND user_id = ?"
        };
        sqlx::query(sql)
            .bind(id.0)
            .bind(db_id(user.0))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// In step: nothing to do until `next` (a time-driven change such as the start), unless a
/// change arrived since the claim.
pub async fn finish(
    conn: &mut SqliteConnection,
    claim: Claim,
    next: Option<DateTime<Utc>>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE discord_sync SET claimed_until = NULL, attempts = 0, last_error = NULL,
             due_at = CASE WHEN version = ?2 THEN ?3 ELSE due_at END
         WHERE masterclass_id = ?1",
    )
    .bind(claim.masterclass_id.0)
    .bind(claim.version)
    .bind(next.map(db_time))
    .execute(conn)
    .await?;
    Ok(())
}

/// Not in step yet: try again at `at`. `counted: false` gives the attempt back (a rate limit
/// says nothing about the work).
pub async fn retry(
    conn: &mut SqliteConnection,
    claim: Claim,
    error: &str,
    at: DateTime<Utc>,
    counted: bool,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE discord_sync SET claimed_until = NULL, last_error = ?2,
             due_at = MIN(?3, CASE WHEN version = ?4 THEN ?3 ELSE COALESCE(due_at, ?3) END),
             attempts = CASE WHEN ?5 THEN attempts ELSE MAX(attempts - 1, 0) END
         WHERE masterclass_id = ?1",
    )
    .bind(claim.masterclass_id.0)
    .bind(error)
    .bind(db_time(at))
    .bind(claim.version)
    .bind(counted)
    .execute(conn)
    .await?;
    Ok(())
}

/// Gives up until the next change; admins see it in `/masterclass-admin deliveries`.
pub async fn give_up(
    conn: &mut SqliteConnection,
    claim: Claim,
    error: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE discord_sync SET claimed_until = NULL, last_error = ?2,
             failed_at = CASE WHEN version = ?4 THEN ?3 ELSE NULL END
         WHERE masterclass_id = ?1",
    )
    .bind(claim.masterclass_id.0)
    .bind(error)
    .bind(db_time(now))
    .bind(claim.version)
    .execute(conn)
    .await?;
    Ok(())
}

/// A masterclass whose Discord side is failing or was given up, for admins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncProblem {
    pub masterclass_id: MasterclassId,
    pub title: String,
    pub attempts: u32,
    pub last_error: String,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
}

pub async fn problems(
    conn: &mut SqliteConnection,
    guild: GuildId,
    limit: i64,
) -> sqlx::Result<Vec<SyncProblem>> {
    let rows: Vec<ProblemRow> = sqlx::query_as(
        "SELECT s.masterclass_id, m.title, s.attempts, s.last_error, s.due_at, s.failed_at
         FROM discord_sync s JOIN masterclasses m ON m.id = s.masterclass_id
         WHERE s.guild_id = ? AND (s.failed_at IS NOT NULL OR s.last_error IS NOT NULL)
         ORDER BY s.masterclass_id DESC LIMIT ?",
    )
    .bind(db_id(guild.0))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| SyncProblem {
            masterclass_id: MasterclassId(row.masterclass_id),
            title: row.title,
            attempts: row.attempts as u32,
            last_error: row.last_error,
            next_attempt_at: row
                .failed_at
                .is_none()
                .then(|| row.due_at.map(from_db_time))
                .flatten(),
            failed_at: row.failed_at.map(from_db_time),
        })
        .collect())
}

#[derive(FromRow)]
struct ProblemRow {
    masterclass_id: i64,
    title: String,
    attempts: i64,
    last_error: String,
    due_at: Option<i64>,
    failed_at: Option<i64>,
}

/// Whether the worker gave up bringing this masterclass's Discord side in step (a notification
/// waiting for its thread stops waiting then).
pub async fn gave_up(conn: &mut SqliteConnection, id: MasterclassId) -> sqlx::Result<bool> {
    let failed: Option<Option<i64>> =
        sqlx::query_scalar("SELECT failed_at FROM discord_sync WHERE masterclass_id = ?")
            .bind(id.0)
            .fetch_optional(conn)
            .await?;
    Ok(!matches!(failed, Some(None)))
}
