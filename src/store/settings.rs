//! Server settings and member settings.

use super::{db_id, db_time, from_db_id, from_db_time};
use crate::domain::{
    Capacity, ChannelId, EmailAddress, GuildId, GuildSettings, MemberSettings, ReminderOffsets,
    RoleId, TimeZone, UserId,
};
use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqliteConnection};

#[derive(FromRow)]
struct GuildRow {
    enabled: bool,
    host_role_id: Option<i64>,
    announcement_channel_id: Option<i64>,
    default_capacity: i64,
    reminder_offsets: String,
    time_zone: String,
    support_text: Option<String>,
    public_threads: bool,
}

pub async fn guild(
    conn: &mut SqliteConnection,
    guild_id: GuildId,
) -> anyhow::Result<GuildSettings> {
    let row: Option<GuildRow> = sqlx::query_as("SELECT * FROM guild_settings WHERE guild_id = ?")
        .bind(db_id(guild_id.0))
        .fetch_optional(conn)
        .await?;
    let Some(row) = row else {
        return Ok(GuildSettings::defaults(guild_id));
    };
    Ok(GuildSettings {
        guild_id,
        enabled: row.enabled,
        host_role_id: row.host_role_id.map(|id| RoleId(from_db_id(id))),
        announcement_channel_id: row
            .announcement_channel_id
            .map(|id| ChannelId(from_db_id(id))),
        default_capacity: Capacity::new(row.default_capacity)?,
        reminder_offsets: ReminderOffsets::new(serde_json::from_str(&row.reminder_offsets)?)?,
        time_zone: TimeZone::parse(&row.time_zone)?,
        support_text: row.support_text,
        public_threads: row.public_threads,
    })
}

pub async fn save_guild(
    conn: &mut SqliteConnection,
    settings: &GuildSettings,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO guild_settings (guild_id, enabled, host_role_id, announcement_channel_id,
             default_capacity, reminder_offsets, time_zone, support_text, public_threads, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (guild_id) DO UPDATE SET
             enabled = excluded.enabled, host_role_id = excluded.host_role_id,
             announcement_channel_id = excluded.announcement_channel_id,
             default_capacity = excluded.default_capacity, reminder_offsets = excluded.reminder_offsets,
             time_zone = excluded.time_zone, support_text = excluded.support_text,
             public_threads = excluded.public_threads, updated_at = excluded.updated_at",
    )
    .bind(db_id(settings.guild_id.0))
    .bind(settings.enabled)
    .bind(settings.host_role_id.map(|id| db_id(id.0)))
    .bind(settings.announcement_channel_id.map(|id| db_id(id.0)))
    .bind(i64::from(settings.default_capacity.get()))
    .bind(serde_json::to_string(settings.reminder_offsets.minutes()).expect("a list of numbers"))
    .bind(settings.time_zone.name())
    .bind(&settings.support_text)
    .bind(settings.public_threads)
    .bind(db_time(now))
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(FromRow)]
struct MemberRow {
    time_zone: Option<String>,
    dm_enabled: bool,
    email_enabled: bool,
    email: Option<String>,
    pending_email: Option<String>,
}

pub async fn member(conn: &mut SqliteConnection, user: UserId) -> anyhow::Result<MemberSettings> {
    let row: Option<MemberRow> = sqlx::query_as("SELECT * FROM member_settings WHERE user_id = ?")
        .bind(db_id(user.0))
        .fetch_optional(conn)
        .await?;
    let Some(row) = row else {
        return Ok(MemberSettings::defaults(user));
    };
    Ok(MemberSettings {
        user_id: user,
        time_zone: row.time_zone.as_deref().map(TimeZone::parse).transpose()?,
        dm_enabled: row.dm_enabled,
        email_enabled: row.email_enabled,
        email: row.email.as_deref().map(EmailAddress::parse).transpose()?,
        pending_email: row
            .pending_email
            .as_deref()
            .map(EmailAddress::parse)
            .transpose()?,
    })
}

/// Saves the preferences (not the pending-code fields, which have their own queries).
pub async fn save_member(
    conn: &mut SqliteConnection,
    settings: &MemberSettings,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO member_settings (user_id, time_zone, dm_enabled, email_enabled, email, pending_email, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (user_id) DO UPDATE SET
             time_zone = excluded.time_zone, dm_enabled = excluded.dm_enabled,
             email_enabled = excluded.email_enabled, email = excluded.email,
             pending_email = excluded.pending_email, updated_at = excluded.updated_at",
    )
    .bind(db_id(settings.user_id.0))
    .bind(settings.time_zone.map(|tz| tz.name()))
    .bind(settings.dm_enabled)
    .bind(settings.email_enabled)
    .bind(settings.email.as_ref().map(|e| e.as_str()))
    .bind(settings.pending_email.as_ref().map(|e| e.as_str()))
    .bind(db_time(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// The pending verification code of a member, as stored.
#[derive(FromRow)]
pub struct PendingCode {
    pub code_hash: Option<String>,
    pub code_expires_at: Option<i64>,
    pub code_failures: i64,
}

impl PendingCode {
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.code_expires_at.map(from_db_time)
    }
}

pub async fn pending_code(
    conn: &mut SqliteConnection,
    user: UserId,
) -> sqlx::Result<Option<PendingCode>> {
    sqlx::query_as(
        "SELECT code_hash, code_expires_at, code_failures FROM member_settings WHERE user_id = ?",
    )
    .bind(db_id(user.0))
    .fetch_optional(conn)
    .await
}

pub async fn set_pending_code(
    conn: &mut SqliteConnection,
    user: UserId,
    code_hash: Option<&str>,
    expires_at: Option<DateTime<Utc>>,
    failures: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE member_settings SET code_hash = ?, code_expires_at = ?, code_failures = ? WHERE user_id = ?",
    )
    .bind(code_hash)
    .bind(expires_at.map(db_time))
    .bind(failures)
    .bind(db_id(user.0))
    .execute(conn)
    .await?;
    Ok(())
}
