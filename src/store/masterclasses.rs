//! Masterclass rows.

use super::{db_id, db_time, from_db_id, from_db_time};
use crate::domain::{
    ChannelId, GuildId, Location, Masterclass, MasterclassId, MasterclassStatus, NewMasterclass,
    ReminderOffsets, UserId,
};
use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqliteConnection};

#[derive(FromRow)]
struct Row {
    id: i64,
    guild_id: i64,
    host_id: i64,
    title: String,
    description: String,
    starts_at: i64,
    duration_minutes: i64,
    capacity: i64,
    location: Option<String>,
    time_zone: String,
    reminder_offsets: String,
    status: String,
    cancel_reason: Option<String>,
    sequence: i64,
    announcement_channel_id: Option<i64>,
    announcement_message_id: Option<i64>,
    thread_id: Option<i64>,
    event_id: Option<i64>,
}

impl From<Row> for Masterclass {
    fn from(row: Row) -> Self {
        Masterclass {
            id: MasterclassId(row.id),
            guild_id: GuildId(from_db_id(row.guild_id)),
            host_id: UserId(from_db_id(row.host_id)),
            title: row.title,
            description: row.description,
            starts_at: from_db_time(row.starts_at),
            duration_minutes: row.duration_minutes as u32,
            capacity: row.capacity as u32,
            location: row.location.as_deref().and_then(Location::from_stored),
            time_zone: row.time_zone,
            reminder_offsets: serde_json::from_str(&row.reminder_offsets)
                .ok()
                .and_then(|minutes| ReminderOffsets::new(minutes).ok())
                .unwrap_or_default(),
            status: if row.status == "cancelled" {
                MasterclassStatus::Cancelled
            } else {
                MasterclassStatus::Scheduled
            },
            cancel_reason: row.cancel_reason,
            sequence: row.sequence as u32,
            announcement_channel_id: row
                .announcement_channel_id
                .map(|id| ChannelId(from_db_id(id))),
            announcement_message_id: row.announcement_message_id.map(from_db_id),
            thread_id: row.thread_id.map(|id| ChannelId(from_db_id(id))),
            event_id: row.event_id.map(from_db_id),
        }
    }
}

const COLUMNS: &str =
    "id, guild_id, host_id, title, description, starts_at, duration_minutes, capacity,
    location, time_zone, reminder_offsets, status, cancel_reason, sequence, announcement_channel_id,
    announcement_message_id, thread_id, event_id";

pub async fn insert(
    conn: &mut SqliteConnection,
    guild: GuildId,
    host: UserId,
    new: &NewMasterclass,
    offsets: &ReminderOffsets,
    announcement_channel: ChannelId,
    now: DateTime<Utc>,
) -> sqlx::Result<Masterclass> {
    let row: Row = sqlx::query_as(&format!(
        "INSERT INTO masterclasses (guild_id, host_id, title, description, starts_at, duration_minutes,
             capacity, location, time_zone, reminder_offsets, status, announcement_channel_id, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'scheduled', ?, ?) RETURNING {COLUMNS}"
    ))
    .bind(db_id(guild.0))
    .bind(db_id(host.0))
    .bind(new.title.as_str())
    .bind(new.description.as_str())
    .bind(db_time(new.start.get()))
    .bind(i64::from(new.duration.minutes()))
    .bind(i64::from(new.capacity.get()))
    .bind(new.location.as_ref().map(Location::to_stored))
    .bind(new.time_zone.name())
    .bind(serde_json::to_string(offsets.minutes()).expect("numbers"))
    .bind(db_id(announcement_channel.0))
    .bind(db_time(now))
    .fetch_one(conn)
    .await?;
    Ok(row.into())
}

/// A masterclass of this guild; another guild's is simply not there.
pub async fn get(
    conn: &mut SqliteConnection,
    guild: GuildId,
    id: MasterclassId,
) -> sqlx::Result<Option<Masterclass>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM masterclasses WHERE id = ? AND guild_id = ?"
    ))
    .bind(id.0)
    .bind(db_id(guild.0))
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Into::into))
}

/// Any masterclass by id, for the delivery worker (which works across guilds).
pub async fn get_any(
    conn: &mut SqliteConnection,
    id: MasterclassId,
) -> sqlx::Result<Option<Masterclass>> {
    let row: Option<Row> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM masterclasses WHERE id = ?"))
            .bind(id.0)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(Into::into))
}

/// Writes the editable fields back and bumps the calendar sequence.
pub async fn update_details(conn: &mut SqliteConnection, mc: &Masterclass) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE masterclasses SET title = ?, description = ?, location = ?, capacity = ?,
             sequence = sequence + 1 WHERE id = ?",
    )
    .bind(&mc.title)
    .bind(&mc.description)
    .bind(mc.location.as_ref().map(Location::to_stored))
    .bind(i64::from(mc.capacity))
    .bind(mc.id.0)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn cancel(
    conn: &mut SqliteConnection,
    id: MasterclassId,
    reason: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE masterclasses SET status = 'cancelled', cancel_reason = ?, cancelled_at = ?,
             sequence = sequence + 1 WHERE id = ?",
    )
    .bind(reason)
    .bind(db_time(now))
    .bind(id.0)
    .execute(conn)
    .await?;
    Ok(())
}

/// The Discord objects that mirror a masterclass, stored once they exist.
#[derive(Clone, Copy, Debug, Default)]
pub struct DiscordIds {
    pub announcement_channel_id: Option<ChannelId>,
    pub announcement_message_id: Option<u64>,
    pub thread_id: Option<ChannelId>,
    pub event_id: Option<u64>,
}

pub async fn set_discord_ids(
    conn: &mut SqliteConnection,
    id: MasterclassId,
    ids: DiscordIds,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE masterclasses SET
             announcement_channel_id = COALESCE(?, announcement_channel_id),
             announcement_message_id = COALESCE(?, announcement_message_id),
             thread_id = COALESCE(?, thread_id), event_id = COALESCE(?, event_id)
         WHERE id = ?",
    )
    .bind(ids.announcement_channel_id.map(|c| db_id(c.0)))
    .bind(ids.announcement_message_id.map(db_id))
    .bind(ids.thread_id.map(|c| db_id(c.0)))
    .bind(ids.event_id.map(db_id))
    .bind(id.0)
    .execute(conn)
    .await?;
    Ok(())
}

/// Scheduled masterclasses of a guild that have not started, soonest first.
pub async fn upcoming(
    conn: &mut SqliteConnection,
    guild: GuildId,
    host: Option<UserId>,
    now: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<Vec<Masterclass>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM masterclasses
         WHERE guild_id = ? AND status = 'scheduled' AND starts_at > ? AND (? IS NULL OR host_id = ?)
         ORDER BY starts_at, id LIMIT ?"
    ))
    .bind(db_id(guild.0))
    .bind(db_time(now))
    .bind(host.map(|h| db_id(h.0)))
    .bind(host.map(|h| db_id(h.0)))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Masterclasses of a guild that a member hosts or is signed up for.
pub async fn of_member(
    conn: &mut SqliteConnection,
    guild: GuildId,
    user: UserId,
) -> sqlx::Result<Vec<Masterclass>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM masterclasses
         WHERE guild_id = ?1 AND (host_id = ?2 OR id IN (SELECT masterclass_id FROM participants WHERE user_id = ?2))
         ORDER BY starts_at, id"
    ))
    .bind(db_id(guild.0))
    .bind(db_id(user.0))
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Title search for autocomplete: upcoming first (soonest first), then the rest (latest first).
pub async fn search(
    conn: &mut SqliteConnection,
    guild: GuildId,
    fragment: &str,
    now: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<Vec<Masterclass>> {
    let pattern = format!(
        "%{}%",
        fragment
            .trim()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM masterclasses
         WHERE guild_id = ?1 AND title LIKE ?2 ESCAPE '\\'
         ORDER BY (status = 'scheduled' AND starts_at > ?3) DESC,
                  CASE WHEN status = 'scheduled' AND starts_at > ?3 THEN starts_at ELSE -starts_at END, id
         LIMIT ?4"
    ))
    .bind(db_id(guild.0))
    .bind(pattern)
    .bind(db_time(now))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}
