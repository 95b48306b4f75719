//! Server settings and member settings.

use super::{db_id, db_time, from_db_id, from_db_time};
use crate::domain::{
    Capacity, ChannelId, EmailAddress, GuildId, GuildSettings, MemberSettings, ReminderOffsets,
    RoleId, TimeZone, UserId,
};
use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

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
    let guild = db_id(guild_id.0);
    let row = sqlx::query_as!(
        GuildRow,
        r#"SELECT enabled AS "enabled: bool", host_role_id, announcement_channel_id,
               default_capacity, reminder_offsets, time_zone, support_text,
               public_threads AS "public_threads: bool"
           FROM guild_settings WHERE guild_id = ?"#,
        guild,
    )
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
    let guild = db_id(settings.guild_id.0);
    let role = settings.host_role_id.map(|id| db_id(id.0));
    let channel = settings.announcement_channel_id.map(|id| db_id(id.0));
    let capacity = i64::from(settings.default_capacity.get());
    let offsets =
        serde_json::to_string(settings.reminder_offsets.minutes()).expect("a list of numbers");
    let (zone, now) = (settings.time_zone.name(), db_time(now));
    sqlx::query!(
        "INSERT INTO guild_settings (guild_id, enabled, host_role_id, announcement_channel_id,
             default_capacity, reminder_offsets, time_zone, support_text, public_threads, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (guild_id) DO UPDATE SET
             enabled = excluded.enabled, host_role_id = excluded.host_role_id,
             announcement_channel_id = excluded.announcement_channel_id,
             default_capacity = excluded.default_capacity, reminder_offsets = excluded.reminder_offsets,
             time_zone = excluded.time_zone, support_text = excluded.support_text,
             public_threads = excluded.public_threads, updated_at = excluded.updated_at",
        guild,
        settings.enabled,
        role,
        channel,
        capacity,
        offsets,
        zone,
        settings.support_text,
        settings.public_threads,
        now,
    )
    .execute(conn)
    .await?;
    Ok(())
}

struct MemberRow {
    time_zone: Option<String>,
    dm_enabled: bool,
    email_enabled: bool,
    email: Option<String>,
    pending_email: Option<String>,
}

pub async fn member(conn: &mut SqliteConnection, user: UserId) -> anyhow::Result<MemberSettings> {
    let id = db_id(user.0);
    let row = sqlx::query_as!(
        MemberRow,
        r#"SELECT time_zone, dm_enabled AS "dm_enabled: bool",
               email_enabled AS "email_enabled: bool", email, pending_email
           FROM member_settings WHERE user_id = ?"#,
        id,
    )
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
    let user = db_id(settings.user_id.0);
    let zone = settings.time_zone.map(|tz| tz.name());
    let email = settings.email.as_ref().map(|e| e.as_str());
    let pending = settings.pending_email.as_ref().map(|e| e.as_str());
    let now = db_time(now);
    sqlx::query!(
        "INSERT INTO member_settings (user_id, time_zone, dm_enabled, email_enabled, email, pending_email, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (user_id) DO UPDATE SET
             time_zone = excluded.time_zone, dm_enabled = excluded.dm_enabled,
             email_enabled = excluded.email_enabled, email = excluded.email,
             pending_email = excluded.pending_email, updated_at = excluded.updated_at",
        user,
        zone,
        settings.dm_enabled,
        settings.email_enabled,
        email,
        pending,
        now,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The pending verification code of a member, as stored.
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
    let user = db_id(user.0);
    sqlx::query_as!(
        PendingCode,
        "SELECT code_hash, code_expires_at, code_failures FROM member_settings WHERE user_id = ?",
        user,
    )
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
    let (expires_at, user) = (expires_at.map(db_time), db_id(user.0));
    sqlx::query!(
        "UPDATE member_settings SET code_hash = ?, code_expires_at = ?, code_failures = ? WHERE user_id = ?",
        code_hash,
        expires_at,
        failures,
        user,
    )
    .execute(conn)
    .await?;
    Ok(())
}
