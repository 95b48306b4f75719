//! What the bot keeps about one member, read whole (`/settings my-data`) or forgotten
//! (`/settings forget-me`), and the retention sweep that deletes what is old.
//!
//! Reading every row that *mentions* a member (activity details, notification payloads) walks
//! those tables once: both use cases are rare and on demand (see tests/it/core/plans.rs).

use super::{db_id, db_time, from_db_id, from_db_time};
use crate::domain::{GuildId, MasterclassId, Tombstone, UserId};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::SqliteConnection;

/// An activity entry by the member or naming them.
#[derive(Clone, Debug)]
pub struct ActivityEntry {
    pub id: i64,
    pub guild_id: Option<GuildId>,
    pub masterclass_id: Option<MasterclassId>,
    pub actor: UserId,
    pub action: String,
    pub detail: Value,
    pub at: DateTime<Utc>,
}

pub async fn activity_of(
    conn: &mut SqliteConnection,
    user: UserId,
) -> sqlx::Result<Vec<ActivityEntry>> {
    let (id, text) = (db_id(user.0), user.0.to_string());
    let rows = sqlx::query!(
        "SELECT id, guild_id, masterclass_id, actor_id, action, detail, at FROM activity
         WHERE actor_id = ? OR instr(detail, ?) > 0 ORDER BY id",
        id,
        text,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| ActivityEntry {
            id: row.id,
            guild_id: row.guild_id.map(|g| GuildId(from_db_id(g))),
            masterclass_id: row.masterclass_id.map(MasterclassId),
            actor: UserId(from_db_id(row.actor_id)),
            action: row.action,
            detail: serde_json::from_str(&row.detail).unwrap_or(Value::Null),
            at: from_db_time(row.at),
        })
        .collect())
}

/// A notification addressed to the member or naming them.
#[derive(Clone, Debug)]
pub struct OutboxEntry {
    pub id: i64,
    pub recipient: Option<UserId>,
    pub channel: String,
    pub kind: String,
    pub payload: Value,
    pub dedupe_key: String,
    pub due_at: DateTime<Utc>,
    pub attempts: i64,
    pub last_error: Option<String>,
    /// Still to be sent (or being sent): not delivered, voided nor given up.
    pub pending: bool,
}

pub async fn outbox_of(
    conn: &mut SqliteConnection,
    user: UserId,
) -> sqlx::Result<Vec<OutboxEntry>> {
    let (id, text) = (db_id(user.0), user.0.to_string());
    let rows = sqlx::query!(
        r#"SELECT id, recipient_id, channel, kind, payload, dedupe_key, due_at, attempts,
             last_error,
             (delivered_at IS NULL AND voided_at IS NULL AND failed_at IS NULL) AS "pending!: bool"
         FROM outbox
         WHERE recipient_id = ?1 OR instr(payload, ?2) > 0 OR instr(dedupe_key, ?2) > 0
         ORDER BY id"#,
        id,
        text,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| OutboxEntry {
            id: row.id,
            recipient: row.recipient_id.map(|u| UserId(from_db_id(u))),
            channel: row.channel,
            kind: row.kind,
            payload: serde_json::from_str(&row.payload).unwrap_or(Value::Null),
            dedupe_key: row.dedupe_key,
            due_at: from_db_time(row.due_at),
            attempts: row.attempts,
            last_error: row.last_error,
            pending: row.pending,
        })
        .collect())
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
    tombstone: Tombstone,
) -> sqlx::Result<()> {
    let (id, tombstone) = (db_id(user.0), tombstone.get());
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
    entry: &ActivityEntry,
) -> sqlx::Result<()> {
    let (actor, detail) = (db_id(entry.actor.0), entry.detail.to_string());
    sqlx::query!(
        "UPDATE activity SET actor_id = ?, detail = ? WHERE id = ?",
        actor,
        detail,
        entry.id
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
    let (void_at, payload) = (void_at.map(db_time), entry.payload.to_string());
    let recipient = entry.recipient.map(|user| db_id(user.0));
    sqlx::query!(
        "UPDATE outbox SET recipient_id = ?, payload = ?, dedupe_key = ?, last_error = ?,
             voided_at = COALESCE(voided_at, ?), claimed_until = CASE WHEN ? IS NULL THEN claimed_until END
         WHERE id = ?",
        recipient,
        payload,
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

/// The rows that name the member outright: past sign-ups (their masterclasses keep the
/// counts), masterclasses they host and host digests still to be sent take the tombstone; the
/// threads the bot put them in are forgotten, but for masterclasses still ahead (the sync
/// worker takes them out of those threads, then forgets the row); their settings and address
/// are deleted.
pub async fn forget_rows(
    conn: &mut SqliteConnection,
    user: UserId,
    tombstone: Tombstone,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let (id, tombstone, now) = (db_id(user.0), tombstone.get(), db_time(now));
    sqlx::query!(
        "UPDATE participants SET user_id = ? WHERE user_id = ?",
        tombstone,
        id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE masterclasses SET host_id = ? WHERE host_id = ?",
        tombstone,
        id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE host_digest_changes SET member = ? WHERE member = ?",
        tombstone,
        id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "DELETE FROM thread_members WHERE user_id = ?1 AND masterclass_id IN (
             SELECT m.id FROM thread_members t JOIN masterclasses m ON m.id = t.masterclass_id
             WHERE t.user_id = ?1
               AND (m.status = 'cancelled' OR m.starts_at + m.duration_minutes * 60 <= ?2))",
        id,
        now,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("DELETE FROM member_settings WHERE user_id = ?", id)
        .execute(&mut *conn)
        .await?;
    Ok(())
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
    sqlx::query!("PRAGMA incremental_vacuum")
        .execute(&mut *conn)
        .await?;
    let now = db_time(now);
    sqlx::query!("UPDATE retention SET last_run_at = ? WHERE id = 1", now)
        .execute(&mut *conn)
        .await?;
    Ok(swept)
}
