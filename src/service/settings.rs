use super::{Error, Result, Service};
use crate::domain::{
    hash_code, Caller, Capacity, Channel, ChannelId, EmailAddress, GuildId, GuildSettings,
    MemberSettings, NoticeKind, ReminderOffsets, RoleId, SupportText, TimeZone, UserError, UserId,
    VerificationCode, CODE_LIFETIME_MINUTES, MAX_CODES_PER_HOUR, MAX_CODE_FAILURES,
};
use crate::store::outbox::{self, NewNotice};
use crate::store::{activity, settings};
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::SqliteConnection;

/// Server settings to change; `None` leaves a setting as it is.
#[derive(Clone, Debug, Default)]
pub struct GuildSettingsChange {
    pub enabled: Option<bool>,
    pub host_role_id: Option<RoleId>,
    pub announcement_channel_id: Option<ChannelId>,
    pub default_capacity: Option<i64>,
    /// Text such as `24h, 15m`.
    pub reminder_offsets: Option<String>,
    pub time_zone: Option<String>,
    pub support_text: Option<String>,
    pub public_threads: Option<bool>,
}

impl Service {
    pub async fn guild_settings(&self, guild: GuildId) -> Result<GuildSettings> {
        let mut conn = self.db.reader().acquire().await?;
        Ok(settings::guild(&mut conn, guild).await?)
    }

    /// Admins only. Every value is checked before anything is saved.
    pub async fn update_guild_settings(
        &self,
        caller: &Caller,
        change: GuildSettingsChange,
        now: DateTime<Utc>,
    ) -> Result<GuildSettings> {
        if !caller.is_admin {
            return Err(UserError::NotAdmin.into());
        }
        let caller = caller.clone();
        self.db
            .write(move |conn| Box::pin(in_tx::update_guild(conn, caller, change, now)))
            .await
    }

    pub async fn member_settings(&self, user: UserId) -> Result<MemberSettings> {
        let mut conn = self.db.reader().acquire().await?;
        Ok(settings::member(&mut conn, user).await?)
    }

    pub async fn set_member_time_zone(
        &self,
        user: UserId,
        zone: &str,
        now: DateTime<Utc>,
    ) -> Result<MemberSettings> {
        let zone = TimeZone::parse(zone)?;
        self.update_member(user, now, move |m| m.time_zone = Some(zone))
            .await
    }

    /// Turns DMs and/or emails on or off.
    pub async fn set_notifications(
        &self,
        user: UserId,
        dm: Option<bool>,
        email: Option<bool>,
        now: DateTime<Utc>,
    ) -> Result<MemberSettings> {
        if dm.is_none() && email.is_none() {
            return Err(UserError::NothingToChange.into());
        }
        self.update_member(user, now, move |m| {
            m.dm_enabled = dm.unwrap_or(m.dm_enabled);
            m.email_enabled = email.unwrap_or(m.email_enabled);
        })
        .await
    }

    async fn update_member(
        &self,
        user: UserId,
        now: DateTime<Utc>,
        change: impl FnOnce(&mut MemberSettings) + Send + 'static,
    ) -> Result<MemberSettings> {
        self.db
            .write(move |conn| {
                Box::pin(async move {
                    let mut member = settings::member(conn, user).await?;
                    change(&mut member);
                    settings::save_member(conn, &member, now).await?;
                    Ok(member)
                })
            })
            .await
    }

    /// Sets a pending address and sends it a 6-digit code (through the outbox). At most 3 codes
    /// an hour. The member's settings keep only the code's hash; the code itself is in its
    /// outbox row until the email is sent, then scrubbed.
    pub async fn request_email_code(
        &self,
        guild: GuildId,
        user: UserId,
        address: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let address = EmailAddress::parse(address)?;
        self.db
            .write(move |conn| Box::pin(in_tx::email_code(conn, guild, user, address, now)))
            .await
    }

    /// Checks a code: on success the pending address becomes the verified one.
    /// A wrong code counts against the 5 allowed tries.
    pub async fn verify_email(
        &self,
        user: UserId,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<MemberSettings> {
        let code = code.to_owned();
        self.db
            .write(move |conn| Box::pin(in_tx::verify_email(conn, user, code, now)))
            .await?
            .map_err(Into::into)
    }
}

/// The use cases' transactions: each runs on the writer's connection, inside group commit.
mod in_tx {
    use super::*;

    pub async fn update_guild(
        conn: &mut SqliteConnection,
        caller: Caller,
        change: GuildSettingsChange,
        now: DateTime<Utc>,
    ) -> Result<GuildSettings> {
        let mut s = settings::guild(conn, caller.guild_id).await?;
        if let Some(enabled) = change.enabled {
            s.enabled = enabled;
        }
        if let Some(role) = change.host_role_id {
            s.host_role_id = Some(role);
        }
        if let Some(channel) = change.announcement_channel_id {
            s.announcement_channel_id = Some(channel);
        }
        if let Some(capacity) = change.default_capacity {
            s.default_capacity = Capacity::new(capacity)?;
        }
        if let Some(offsets) = &change.reminder_offsets {
            s.reminder_offsets = ReminderOffsets::parse(offsets)?;
        }
        if let Some(zone) = &change.time_zone {
            s.time_zone = TimeZone::parse(zone)?;
        }
        if let Some(text) = &change.support_text {
            s.support_text = Some(SupportText::parse(text)?.into_inner());
        }
        if let Some(public) = change.public_threads {
            s.public_threads = public;
        }
        settings::save_guild(conn, &s, now).await?;
        activity::record(
            conn,
            Some(caller.guild_id),
            None,
            caller.user_id,
            "settings_changed",
            json!({
                "enabled": s.enabled,
                "offsets": s.reminder_offsets.minutes(),
                "zone": s.time_zone.name(),
            }),
            now,
        )
        .await?;
        Ok(s)
    }

    pub async fn email_code(
        conn: &mut SqliteConnection,
        guild: GuildId,
        user: UserId,
        address: EmailAddress,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let hour_ago = now - chrono::Duration::hours(1);
        let recent = activity::count_since(conn, user, "email_code_sent", hour_ago).await?;
        if recent >= MAX_CODES_PER_HOUR {
            return Err(UserError::TooManyCodes.into());
        }
        let mut member = settings::member(conn, user).await?;
        member.pending_email = Some(address.clone());
        settings::save_member(conn, &member, now).await?;
        let code = VerificationCode::generate();
        let expires_at = now + chrono::Duration::minutes(CODE_LIFETIME_MINUTES);
        let hash = hash_code(user, code.as_str());
        settings::set_pending_code(conn, user, Some(&hash), Some(expires_at), 0).await?;
        let (guild_id, detail) = (Some(guild), json!({}));
        let event =
            activity::record(conn, guild_id, None, user, "email_code_sent", detail, now).await?;
        // The code itself waits in its outbox row until sent; every final state scrubs it.
        let notice = NewNotice {
            guild_id: guild,
            masterclass_id: None,
            recipient_id: Some(user),
            channel: Channel::Email,
            kind: NoticeKind::VerificationCode,
            payload: json!({ "email": address.as_str(), "code": code.as_str() }),
            due_at: now,
            dedupe_key: format!("{event}:verification_code"),
        };
        outbox::enqueue_all(conn, &[notice], now).await?;
        Ok(())
    }

    /// A wrong code is a refusal that must still commit (the try counts): it travels as the
    /// inner `Err`, inside a successful transaction.
    pub async fn verify_email(
        conn: &mut SqliteConnection,
        user: UserId,
        code: String,
        now: DateTime<Utc>,
    ) -> Result<Result<MemberSettings, UserError>> {
        let mut member = settings::member(conn, user).await?;
        let pending = settings::pending_code(conn, user).await?;
        let (Some(address), Some(pending)) = (member.pending_email.clone(), pending) else {
            return Err(Error::User(UserError::NoPendingEmail));
        };
        let Some(hash) = pending.code_hash.as_deref() else {
            return Err(Error::User(UserError::NoPendingEmail));
        };
        if pending.code_failures >= i64::from(MAX_CODE_FAILURES) {
            return Err(Error::User(UserError::TooManyWrongCodes));
        }
        if pending.expires_at().is_none_or(|at| at <= now) {
            return Err(Error::User(UserError::CodeExpired));
        }
        if hash_code(user, &code) != hash {
            let failures = pending.code_failures + 1;
            let expires_at = pending.expires_at();
            settings::set_pending_code(conn, user, Some(hash), expires_at, failures).await?;
            let remaining = i64::from(MAX_CODE_FAILURES) - failures;
            return Ok(Err(if remaining > 0 {
                UserError::WrongCode {
                    remaining: remaining as u32,
                }
            } else {
                UserError::TooManyWrongCodes
            }));
        }
        member.email = Some(address);
        member.pending_email = None;
        settings::save_member(conn, &member, now).await?;
        settings::set_pending_code(conn, user, None, None, 0).await?;
        activity::record(conn, None, None, user, "email_verified", json!({}), now).await?;
        Ok(Ok(member))
    }
}
