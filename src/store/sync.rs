//! The Discord side of each masterclass: when the sync worker must look at it again, and what
//! Discord shows as far as the worker knows (ids live on the masterclass row).

use super::{db_id, db_time, from_db_id, from_db_time};
use crate::domain::{ChannelId, GuildId, MasterclassId, UserId};
use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

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
    /// The thread's opening message: being posted since, and whether it is there.
    pub intro_intent_at: Option<DateTime<Utc>>,
    pub intro_posted: bool,
    pub thread_state: ThreadState,
    /// Discord archived the thread this many times; the worker has handled `archived_handled`.
    pub archived_by_discord: i64,
    pub archived_handled: i64,
    pub event_shown: Option<String>,
    pub event_status: Option<u8>,
}

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
    intro_intent_at: Option<i64>,
    intro_posted: bool,
    thread_state: String,
    archived_by_discord: i64,
    archived_handled: i64,
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
            intro_intent_at: row.intro_intent_at.map(from_db_time),
            intro_posted: row.intro_posted,
            thread_state: ThreadState::from_stored(&row.thread_state),
            archived_by_discord: row.archived_by_discord,
            archived_handled: row.archived_handled,
            event_shown: row.event_shown,
            event_status: row.event_status.map(|s| s as u8),
        }
    }
}

/// Discord archived a masterclass's thread on its own (inactivity): the worker reopens it while
/// the masterclass is ahead. Returns whether the thread is one of ours. (Changes to the
/// masterclass itself mark it due through triggers: see the migrations.)
pub async fn thread_archived_by_discord(
    conn: &mut SqliteConnection,
    thread: ChannelId,
) -> sqlx::Result<bool> {
    let thread = db_id(thread.0);
    let updated = sqlx::query!(
        "UPDATE discord_sync SET archived_by_discord = archived_by_discord + 1, due_at = 0,
             version = version + 1, attempts = 0, failed_at = NULL, retrying_since = NULL
         WHERE thread_state = 'open'
           AND masterclass_id = (SELECT id FROM masterclasses WHERE thread_id = ?)",
        thread,
    )
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
    /// The first failed attempt since the masterclass was last in step or changed, if any: its
    /// time budget (`give_up_after`) runs from then.
    pub retrying_since: Option<DateTime<Utc>>,
}

/// Takes up to `limit` due masterclasses for `lease`, counting the attempt.
pub async fn claim_due(
    conn: &mut SqliteConnection,
    now: DateTime<Utc>,
    lease: chrono::Duration,
    limit: i64,
) -> sqlx::Result<Vec<Claim>> {
    let (until, now) = (db_time(now + lease), db_time(now));
    let rows = sqlx::query!(
        r#"UPDATE discord_sync SET claimed_until = ?1, attempts = attempts + 1
           WHERE masterclass_id IN (
               SELECT masterclass_id FROM discord_sync INDEXED BY discord_sync_due
               WHERE due_at <= ?2 AND due_at IS NOT NULL AND failed_at IS NULL
                 AND (claimed_until IS NULL OR claimed_until <= ?2)
               ORDER BY due_at LIMIT ?3)
           RETURNING masterclass_id AS "masterclass_id!", version AS "version!",
               attempts AS "attempts!", retrying_since AS "retrying_since?""#,
        until,
        now,
        limit,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Claim {
            masterclass_id: MasterclassId(row.masterclass_id),
            version: row.version,
            attempts: row.attempts as u32,
            retrying_since: row.retrying_since.map(from_db_time),
        })
        .collect())
}

/// When the next masterclass falls due, if any.
pub async fn next_due(conn: &mut SqliteConnection) -> sqlx::Result<Option<DateTime<Utc>>> {
    let due = sqlx::query_scalar!(
        r#"SELECT due_at AS "due_at!" FROM discord_sync INDEXED BY discord_sync_due
           WHERE due_at IS NOT NULL AND failed_at IS NULL ORDER BY due_at LIMIT 1"#
    )
    .fetch_optional(conn)
    .await?;
    Ok(due.map(from_db_time))
}

/// Frees every claim at start-up (only one worker runs per database).
pub async fn release_claims(conn: &mut SqliteConnection) -> sqlx::Result<u64> {
    let result = sqlx::query!(
        "UPDATE discord_sync INDEXED BY discord_sync_claimed SET claimed_until = NULL
         WHERE claimed_until IS NOT NULL"
    )
    .execute(conn)
    .await?;
    Ok(result.rows_affected())
}

pub async fn get(
    conn: &mut SqliteConnection,
    id: MasterclassId,
) -> sqlx::Result<Option<SyncState>> {
    let row = sqlx::query_as!(
        Row,
        r#"SELECT s.masterclass_id, m.announcement_channel_id, m.announcement_message_id,
                m.thread_id, m.event_id, s.announcement_intent_at, s.thread_intent_at,
                s.event_intent_at, s.announcement_shown, s.thread_name, s.intro_intent_at,
                s.intro_posted AS "intro_posted: bool", s.thread_state,
                s.archived_by_discord, s.archived_handled, s.event_shown, s.event_status
           FROM discord_sync s JOIN masterclasses m ON m.id = s.masterclass_id
           WHERE s.masterclass_id = ?"#,
        id.0,
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Into::into))
}

/// Stores the ids, intents and what Discord shows, as the worker now knows them.
pub async fn save(conn: &mut SqliteConnection, state: &SyncState) -> sqlx::Result<()> {
    let id = state.masterclass_id.0;
    let channel = state.announcement_channel_id.map(|c| db_id(c.0));
    let message = state.announcement_message_id.map(db_id);
    let thread = state.thread_id.map(|c| db_id(c.0));
    let event = state.event_id.map(db_id);
    sqlx::query!(
        "UPDATE masterclasses SET announcement_channel_id = ?2, announcement_message_id = ?3,
             thread_id = ?4, event_id = ?5
         WHERE id = ?1",
        id,
        channel,
        message,
        thread,
        event,
    )
    .execute(&mut *conn)
    .await?;
    let announcement_intent = state.announcement_intent_at.map(db_time);
    let thread_intent = state.thread_intent_at.map(db_time);
    let event_intent = state.event_intent_at.map(db_time);
    let thread_state = state.thread_state.as_str();
    let event_status = state.event_status.map(i64::from);
    let intro_intent = state.intro_intent_at.map(db_time);
    sqlx::query!(
        "UPDATE discord_sync SET announcement_intent_at = ?2, thread_intent_at = ?3,
             event_intent_at = ?4, announcement_shown = ?5, thread_name = ?6, thread_state = ?7,
             event_shown = ?8, event_status = ?9, intro_intent_at = ?10, intro_posted = ?11,
             archived_handled = ?12
         WHERE masterclass_id = ?1",
        id,
        announcement_intent,
        thread_intent,
        event_intent,
        state.announcement_shown,
        state.thread_name,
        thread_state,
        state.event_shown,
        event_status,
        intro_intent,
        state.intro_posted,
        state.archived_handled,
    )
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
    let (thread, event) = (thread.map(db_id), event.map(db_id));
    let owners = sqlx::query_scalar!(
        r#"SELECT COUNT(*) AS "n!: i64" FROM (
               SELECT id FROM masterclasses INDEXED BY masterclasses_by_thread
               WHERE thread_id = ?2 AND thread_id IS NOT NULL AND id <> ?1
               UNION ALL
               SELECT id FROM masterclasses INDEXED BY masterclasses_by_event
               WHERE event_id = ?3 AND event_id IS NOT NULL AND id <> ?1)"#,
        id.0,
        thread,
        event,
    )
    .fetch_one(conn)
    .await?;
    Ok(owners > 0)
}

/// Members the worker has added to the thread.
pub async fn thread_members(
    conn: &mut SqliteConnection,
    id: MasterclassId,
) -> sqlx::Result<Vec<UserId>> {
    let rows = sqlx::query_scalar!(
        "SELECT user_id FROM thread_members WHERE masterclass_id = ?",
        id.0,
    )
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
        let user = db_id(user.0);
        if present {
            sqlx::query!(
                "INSERT OR IGNORE INTO thread_members (masterclass_id, user_id) VALUES (?, ?)",
                id.0,
                user,
            )
            .execute(&mut *conn)
            .await?;
        } else {
            sqlx::query!(
                "DELETE FROM thread_members WHERE masterclass_id = ? AND user_id = ?",
                id.0,
                user,
            )
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// In step: nothing to do until `next` (a time-driven change such as the start), unless a
/// change arrived since the claim. The next failure starts a new budget.
pub async fn finish(
    conn: &mut SqliteConnection,
    claim: Claim,
    next: Option<DateTime<Utc>>,
) -> sqlx::Result<()> {
    let next = next.map(db_time);
    sqlx::query!(
        "UPDATE discord_sync SET claimed_until = NULL, attempts = 0, last_error = NULL,
             retrying_since = NULL,
             due_at = CASE WHEN version = ?2 THEN ?3 ELSE due_at END
         WHERE masterclass_id = ?1",
        claim.masterclass_id.0,
        claim.version,
        next,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Not in step yet: try again at `at` (or sooner, if a change arrived since the claim).
/// `counted: false` gives the attempt back (a rate limit says nothing about the work). `since`
/// (the claim's first failed attempt, or this one) is kept as `retrying_since` unless a change
/// arrived since the claim: that change starts a new budget.
pub async fn retry(
    conn: &mut SqliteConnection,
    claim: Claim,
    error: &str,
    at: DateTime<Utc>,
    counted: bool,
    since: DateTime<Utc>,
) -> sqlx::Result<()> {
    let (at, since) = (db_time(at), db_time(since));
    sqlx::query!(
        "UPDATE discord_sync SET claimed_until = NULL, last_error = ?2,
             due_at = CASE WHEN version = ?4 THEN ?3 ELSE MIN(?3, COALESCE(due_at, ?3)) END,
             attempts = CASE WHEN ?5 THEN attempts ELSE MAX(attempts - 1, 0) END,
             retrying_since = CASE WHEN version = ?4 THEN COALESCE(retrying_since, ?6)
                                   ELSE retrying_since END
         WHERE masterclass_id = ?1",
        claim.masterclass_id.0,
        error,
        at,
        claim.version,
        counted,
        since,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Gives up until the next change; admins see it in `/masterclass-admin deliveries`.
/// `counted: false` gives the attempt back (it ran out of time while Discord rate-limited it).
pub async fn give_up(
    conn: &mut SqliteConnection,
    claim: Claim,
    error: &str,
    now: DateTime<Utc>,
    counted: bool,
) -> sqlx::Result<()> {
    let now = db_time(now);
    sqlx::query!(
        "UPDATE discord_sync SET claimed_until = NULL, last_error = ?2,
             failed_at = CASE WHEN version = ?4 THEN ?3 ELSE NULL END,
             attempts = CASE WHEN ?5 THEN attempts ELSE MAX(attempts - 1, 0) END
         WHERE masterclass_id = ?1",
        claim.masterclass_id.0,
        error,
        now,
        claim.version,
        counted,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A masterclass whose Discord side is failing or was given up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trouble {
    pub masterclass_id: MasterclassId,
    pub title: String,
    pub attempts: u32,
    pub last_error: String,
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Its first failed attempt since it was last in step or changed.
    pub retrying_since: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
}

struct ProblemRow {
    masterclass_id: i64,
    title: String,
    attempts: i64,
    last_error: String,
    due_at: Option<i64>,
    retrying_since: Option<i64>,
    failed_at: Option<i64>,
}

pub async fn problems(
    conn: &mut SqliteConnection,
    guild: GuildId,
    limit: i64,
) -> sqlx::Result<Vec<Trouble>> {
    let guild = db_id(guild.0);
    let rows = sqlx::query_as!(
        ProblemRow,
        r#"SELECT s.masterclass_id AS "masterclass_id!", m.title, s.attempts AS "attempts!",
               s.last_error AS "last_error!",
               s.due_at, s.retrying_since, s.failed_at
           FROM discord_sync s INDEXED BY discord_sync_failed
           JOIN masterclasses m ON m.id = s.masterclass_id
           WHERE s.guild_id = ? AND (s.failed_at IS NOT NULL OR s.last_error IS NOT NULL)
           ORDER BY s.masterclass_id DESC LIMIT ?"#,
        guild,
        limit,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Trouble {
            masterclass_id: MasterclassId(row.masterclass_id),
            title: row.title,
            attempts: row.attempts as u32,
            last_error: row.last_error,
            next_attempt_at: row
                .failed_at
                .is_none()
                .then(|| row.due_at.map(from_db_time))
                .flatten(),
            retrying_since: row.retrying_since.map(from_db_time),
            failed_at: row.failed_at.map(from_db_time),
        })
        .collect())
}

/// Whether the worker gave up bringing this masterclass's Discord side in step (a notification
/// waiting for its thread stops waiting then).
pub async fn gave_up(conn: &mut SqliteConnection, id: MasterclassId) -> sqlx::Result<bool> {
    let failed = sqlx::query_scalar!(
        "SELECT failed_at FROM discord_sync WHERE masterclass_id = ?",
        id.0,
    )
    .fetch_optional(conn)
    .await?;
    Ok(!matches!(failed, Some(None)))
}
