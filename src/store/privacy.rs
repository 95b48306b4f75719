//! What the bot keeps about one member, read whole (`/settings my-data`) or forgotten
//! (`/settings forget-me`), and the retention sweep that deletes what is old.
//!
//! Reading every row that *mentions* a member (activity details, notification payloads) walks
//! those tables once: both use cases are rare and on demand (see tests/it/core/plans.rs).

use super::{db_id, db_time, from_db_time};
use crate::domain::UserId;
use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

/// An activity entry by the member or naming them.
#[derive(Clone, Debug)]
pub struct ActivityEntry {
    pub id: i64,
    pub guild_id: Option<i64>,
    pub masterclass_id: Option<i64>,
    pub actor_id: i64,
    pub action: String,
    pub detail: String,
    pub at: i64,
}

pub async fn activity_of(
    conn: &mut SqliteConnection,
    user: UserId,
) -> sqlx::Result<Vec<ActivityEntry>> {
    let (id, text) = (db_id(user.0), user.0.to_string());
    sqlx::query_as!(
        ActivityEntry,
        "SELECT id, guild_id, masterclass_id, actor_id, action, detail, at FROM activity
         WHERE actor_id = ? OR instr(detail, ?) > 0 ORDER BY id",
        id,
        text,
    )
    .fetch_all(conn)
    .await
}

/// A notification addressed to the member or naming them, as stored.
#[derive(Clone, Debug)]
pub struct OutboxEntry {
    pub id: i64,
    pub recipient_id: Option<i64>,
    pub channel: String,
    pub kind: String,
    pub payload: String,
    pub dedupe_key: String,
    pub due_at: i64,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub delivered_at: Option<i64>,
    pub voided_at: Option<i64>,
    pub failed_at: Option<i64>,
}

impl OutboxEntry {
    /// Still to be sent (or being sent).
    pub fn is_pending(&self) -> bool {
        self.delivered_at.is_none() && self.voided_at.is_none() && self.failed_at.is_none()
    }
}

pub async fn outbox_of(
    conn: &mut SqliteConnection,
    user: UserId,
) -> sqlx::Result<Vec<OutboxEntry>> {
    let (id, text) = (db_id(user.0), user.0.to_string());
    sqlx::query_as!(
        OutboxEntry,
        "SELECT id, recipient_id, channel, kind, payload, dedupe_key, due_at, attempts, last_error,
             delivered_at, voided_at, failed_at
         FROM outbox
         WHERE recipient_id = ?1 OR instr(payload, ?2) > 0 OR instr(dedupe_key, ?2) > 0
         ORDER BY id",
        id,
        text,
    )
    .fetch_all(conn)
    .await
}

/// Masterclasses whose thread the bot put the member in.
pub async fn thread_memberships(
    conn: &mut SqliteConnection,
    user: UserId,
) -> sqlx::Result<Vec<i64>> {
    let id = db_id(user.0);
    sqlx::query_scalar!(
        r#"SELECT masterclass_id AS "id!" FROM thread_members WHERE user_id = ?"#,
        id
    )
    .fetch_all(conn)
    .await
}

/// Opens the one window in which the activity log may name `tombstone` instead of `user`.
pub async fn start_forgetting(
    conn: &mut SqliteConnection,
    user: UserId,
    tombstone: i64,
) -> sqlx::Result<()> {
    let id = db_id(user.0);
    sqlx::query!(
        "INSERT INTO forgetting (user_id, tombstone) VALUES (?, ?)",
        id,
        tombstone
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Closes the window (in the same transaction): afterwards no table holds the id.
pub async fn finish_forgetting(conn: &mut SqliteConnection, user: UserId) -> sqlx::Result<()> {
    let id = db_id(user.0);
    sqlx::query!("DELETE FROM forgetting WHERE user_id = ?", id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn rewrite_activity(
    conn: &mut SqliteConnection,
    id: i64,
    actor_id: i64,
    detail: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE activity SET actor_id = ?, detail = ? WHERE id = ?",
        actor_id,
        detail,
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Rewrites a notification that named a forgotten member; `void_at` ends it if still pending.
pub async fn rewrite_outbox(
    conn: &mut SqliteConnection,
    entry: &OutboxEntry,
    void_at: Option<DateTime<Utc>>,
) -> sqlx::Result<()> {
    let void_at = void_at.map(db_time);
    sqlx::query!(
        "UPDATE outbox SET recipient_id = ?, payload = ?, dedupe_key = ?, last_error = ?,
             voided_at = COALESCE(voided_at, ?), claimed_until = CASE WHEN ? IS NULL THEN claimed_until END
         WHERE id = ?",
        entry.recipient_id,
        entry.payload,
        entry.dedupe_key,
        entry.last_error,
        void_at,
        void_at,
        entry.id,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Sign-ups that stay (past or cancelled masterclasses keep their counts): under the tombstone.
pub async fn tombstone_sign_ups(
    conn: &mut SqliteConnection,
    user: UserId,
    tombstone: i64,
) -> sqlx::Result<u64> {
    let id = db_id(user.0);
    let done = sqlx::query!(
        "UPDATE participants SET user_id = ? WHERE user_id = ?",
        tombstone,
        id
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Host digests still to be sent keep their counts, not the member.
pub async fn tombstone_digest_changes(
    conn: &mut SqliteConnection,
    user: UserId,
    tombstone: i64,
) -> sqlx::Result<u64> {
    let id = db_id(user.0);
    let done = sqlx::query!(
        "UPDATE host_digest_changes SET member = ? WHERE member = ?",
        tombstone,
        id
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// The words of a masterclass, where a member may be mentioned (`<@id>`).
pub struct MasterclassText {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub cancel_reason: Option<String>,
}

pub async fn masterclasses_mentioning(
    conn: &mut SqliteConnection,
    user: UserId,
) -> sqlx::Result<Vec<MasterclassText>> {
    let (plain, old) = (format!("<@{}>", user.0), format!("<@!{}>", user.0));
    sqlx::query_as!(
        MasterclassText,
        "SELECT id, title, description, cancel_reason FROM masterclasses
         WHERE instr(title || description || COALESCE(cancel_reason, ''), ?1) > 0
            OR instr(title || description || COALESCE(cancel_reason, ''), ?2) > 0",
        plain,
        old,
    )
    .fetch_all(conn)
    .await
}

pub async fn rewrite_masterclass_text(
    conn: &mut SqliteConnection,
    id: i64,
    title: &str,
    description: &str,
    cancel_reason: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE masterclasses SET title = ?, description = ?, cancel_reason = ? WHERE id = ?",
        title,
        description,
        cancel_reason,
        id,
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn tombstone_hosting(
    conn: &mut SqliteConnection,
    user: UserId,
    tombstone: i64,
) -> sqlx::Result<u64> {
    let id = db_id(user.0);
    let done = sqlx::query!(
        "UPDATE masterclasses SET host_id = ? WHERE host_id = ?",
        tombstone,
        id
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Forgets which threads the member was put in, except the ones of masterclasses still ahead:
/// the sync worker takes the member out of those, then forgets the row itself.
pub async fn forget_thread_memberships(
    conn: &mut SqliteConnection,
    user: UserId,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    let (id, now) = (db_id(user.0), db_time(now));
    let done = sqlx::query!(
        "DELETE FROM thread_members WHERE user_id = ?1 AND masterclass_id IN (
             SELECT m.id FROM thread_members t JOIN masterclasses m ON m.id = t.masterclass_id
             WHERE t.user_id = ?1
               AND (m.status = 'cancelled' OR m.starts_at + m.duration_minutes * 60 <= ?2))",
        id,
        now,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

pub async fn delete_member_settings(
    conn: &mut SqliteConnection,
    user: UserId,
) -> sqlx::Result<u64> {
    let id = db_id(user.0);
    let done = sqlx::query!("DELETE FROM member_settings WHERE user_id = ?", id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// When the retention sweep last ran.
pub async fn last_sweep(conn: &mut SqliteConnection) -> sqlx::Result<Option<DateTime<Utc>>> {
    let at = sqlx::query_scalar!("SELECT last_run_at FROM retention WHERE id = 1")
        .fetch_optional(conn)
        .await?;
    Ok(at.flatten().map(from_db_time))
}

/// What one sweep deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub notifications: u64,
    pub activity: u64,
}

/// Deletes notifications delivered or voided before `outbox_before` and activity older than
/// `activity_before` (`None` keeps them). The newest row of each table always stays, so ids
/// keep growing: a sign-up's number and a notification's id are never given twice.
pub async fn sweep(
    conn: &mut SqliteConnection,
    outbox_before: Option<DateTime<Utc>>,
    activity_before: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> sqlx::Result<Swept> {
    let mut swept = Swept::default();
    if let Some(before) = outbox_before.map(db_time) {
        let done = sqlx::query!(
            "DELETE FROM outbox
             WHERE (delivered_at IS NOT NULL OR voided_at IS NOT NULL)
               AND COALESCE(delivered_at, voided_at) < ?
               AND id < (SELECT MAX(id) FROM outbox)",
            before
        )
        .execute(&mut *conn)
        .await?;
        swept.notifications = done.rows_affected();
        // The members of digests whose window ended as long ago (sent or not, by now).
        sqlx::query!("DELETE FROM host_digest_changes WHERE until < ?", before)
            .execute(&mut *conn)
            .await?;
    }
    if let Some(before) = activity_before.map(db_time) {
        // The log's delete guard lets exactly this horizon through.
        sqlx::query!(
            "UPDATE retention SET activity_before = MAX(activity_before, ?) WHERE id = 1",
            before
        )
        .execute(&mut *conn)
        .await?;
        let done = sqlx::query!(
            "DELETE FROM activity WHERE at < ? AND id < (SELECT MAX(id) FROM activity)",
            before
        )
        .execute(&mut *conn)
        .await?;
        swept.activity = done.rows_affected();
    }
    // The freed pages go back to the file system (the file is in incremental-vacuum mode), so
    // the file shrinks instead of only keeping the room for new rows.
    sqlx::query("PRAGMA incremental_vacuum")
        .execute(&mut *conn)
        .await?;
    let now = db_time(now);
    sqlx::query!("UPDATE retention SET last_run_at = ? WHERE id = 1", now)
        .execute(&mut *conn)
        .await?;
    Ok(swept)
}
