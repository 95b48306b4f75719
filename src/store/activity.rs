//! The append-only log of who did what, when.

use super::{db_id, db_time};
use crate::domain::{GuildId, MasterclassId, UserId};
use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

/// Appends one entry and returns its id (notifications use it to stay unique per event).
pub async fn record(
    conn: &mut SqliteConnection,
    guild: Option<GuildId>,
    masterclass: Option<MasterclassId>,
    actor: UserId,
    action: &str,
    detail: serde_json::Value,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO activity (guild_id, masterclass_id, actor_id, action, detail, at)
         VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(guild.map(|g| db_id(g.0)))
    .bind(masterclass.map(|m| m.0))
    .bind(db_id(actor.0))
    .bind(action)
    .bind(detail.to_string())
    .bind(db_time(now))
    .fetch_one(conn)
    .await
}

/// How many times `actor` did `action` since `since`.
pub async fn count_since(
    conn: &mut SqliteConnection,
    actor: UserId,
    action: &str,
    since: DateTime<Utc>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM activity WHERE actor_id = ? AND action = ? AND at >= ?",
    )
    .bind(db_id(actor.0))
    .bind(action)
    .bind(db_time(since))
    .fetch_one(conn)
    .await
}
