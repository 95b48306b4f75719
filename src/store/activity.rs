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
    let guild = guild.map(|g| db_id(g.0));
    let masterclass = masterclass.map(|m| m.0);
    let (actor, detail, now) = (db_id(actor.0), detail.to_string(), db_time(now));
    sqlx::query_scalar!(
        r#"INSERT INTO activity (guild_id, masterclass_id, actor_id, action, detail, at)
           VALUES (?, ?, ?, ?, ?, ?) RETURNING id AS "id!""#,
        guild,
        masterclass,
        actor,
        action,
        detail,
        now,
    )
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
    let (actor, since) = (db_id(actor.0), db_time(since));
    sqlx::query_scalar!(
        r#"SELECT COUNT(*) AS "n!: i64" FROM activity WHERE actor_id = ? AND action = ? AND at >= ?"#,
        actor,
        action,
        since,
    )
    .fetch_one(conn)
    .await
}
