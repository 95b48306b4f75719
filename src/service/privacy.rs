//! Members own their data: everything the bot keeps about one member, on request; forgetting a
//! member; and retention, which deletes old notifications and activity.

use super::masterclasses::in_tx;
use super::{Result, Service};
use crate::domain::{
    Caller, Masterclass, MasterclassStatus, ParticipantStatus, Tombstone, UserId, FORMER_MEMBER,
};
use crate::store::privacy::{self, ActivityEntry, OutboxEntry, Swept};
use crate::store::{activity, masterclasses, settings};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::json;
use serde_json::Value;
use sqlx::SqliteConnection;

/// Everything stored about one member, as the JSON file `/settings my-data` gives them.
#[derive(Debug, Serialize)]
pub struct MemberData {
    pub user_id: String,
    pub generated_at: DateTime<Utc>,
    pub settings: Value,
    pub sign_ups: Vec<Value>,
    pub hosted: Vec<Value>,
    /// Entries of the activity log by the member or naming them.
    pub activity: Vec<Value>,
    /// Notifications to the member not yet delivered.
    pub pending_notifications: Vec<Value>,
    /// Masterclasses whose discussion thread the bot added the member to.
    pub threads: Vec<i64>,
}

/// How long retention keeps things; `None` keeps them for ever.
#[derive(Clone, Copy, Debug)]
pub struct Retention {
    pub outbox_days: Option<u32>,
    pub activity_days: Option<u32>,
}

/// A sweep runs at most this often.
pub const SWEEP_EVERY: Duration = Duration::hours(24);

/// What forgetting a member did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Forgotten {
    pub left: usize,
    pub cancelled: usize,
}

impl Service {
    /// Everything the bot stores about `user`, read in one snapshot.
    #[tracing::instrument(skip_all)]
    pub async fn member_data(&self, user: UserId, now: DateTime<Utc>) -> Result<MemberData> {
        let mut conn = self.db.reader().begin().await?;
        let member = settings::member(&mut conn, user).await?;
        let code = settings::pending_code(&mut conn, user).await?;
        let settings = serde_json::json!({
            "time_zone": member.time_zone.map(|zone| zone.name()),
            "dm_enabled": member.dm_enabled,
            "email_enabled": member.email_enabled,
            "email": member.email.as_ref().map(|e| e.as_str()),
            "email_waiting_for_code": member.pending_email.as_ref().map(|e| e.as_str()),
            "code_expires_at": code.as_ref().and_then(|c| c.expires_at()),
            "wrong_codes": code.as_ref().map_or(0, |c| c.code_failures),
        });
        let sign_ups = masterclasses::signed_up_by(&mut conn, user)
            .await?
            .into_iter()
            .map(|(mc, seat, joined_at)| {
                serde_json::json!({
                    "masterclass_id": mc.id.0,
                    "server_id": mc.guild_id.0.to_string(),
                    "title": mc.title,
                    "starts_at": mc.starts_at,
                    "cancelled": mc.status == MasterclassStatus::Cancelled,
                    "status": match seat.status {
                        ParticipantStatus::Attending => "attending",
                        ParticipantStatus::Waitlisted => "waitlisted",
                    },
                    "added_by_host": seat.is_guest,
                    "joined_at": joined_at,
                })
            })
            .collect();
        let hosted = masterclasses::hosted_by(&mut conn, user)
            .await?
            .into_iter()
            .map(|mc| {
                serde_json::json!({
                    "masterclass_id": mc.id.0,
                    "server_id": mc.guild_id.0.to_string(),
                    "title": mc.title,
                    "description": mc.description,
                    "starts_at": mc.starts_at,
                    "duration_minutes": mc.duration_minutes,
                    "capacity": mc.capacity,
                    "cancelled": mc.status == MasterclassStatus::Cancelled,
                    "cancel_reason": mc.cancel_reason,
                })
            })
            .collect();
        let activity = privacy::activity_of(&mut conn, user)
            .await?
            .into_iter()
            .map(|entry| activity_json(entry, user))
            .collect();
        let pending_notifications = privacy::outbox_of(&mut conn, user)
            .await?
            .into_iter()
            .filter(|n| n.pending && n.recipient == Some(user))
            .map(notification_json)
            .collect();
        let threads = privacy::thread_memberships(&mut conn, user).await?;
        conn.commit().await?;
        Ok(MemberData {
            user_id: user.0.to_string(),
            generated_at: now,
            settings,
            sign_ups,
            hosted,
            activity,
            pending_notifications,
            threads,
        })
    }

    /// Forgets `user` everywhere, in one transaction: leaves every masterclass still ahead (seats
    /// freed, the waitlist served, hosts told as for any leave), cancels those they host, voids
    /// what was still to be sent to them, deletes their settings and address, and puts a
    /// tombstone where the activity log, sign-ups and hosted masterclasses named them.
    #[tracing::instrument(skip_all)]
    pub async fn forget_member(&self, user: UserId, now: DateTime<Utc>) -> Result<Forgotten> {
        let window = self.host_digest;
        self.db
            .write(move |conn| Box::pin(forget(conn, user, window, now)))
            .await
    }

    /// Deletes what retention no longer keeps, if the last sweep is a day old (or never ran).
    /// Returns what it deleted, or `None` when it was not time yet.
    #[tracing::instrument(skip_all)]
    pub async fn sweep_if_due(
        &self,
        retention: Retention,
        now: DateTime<Utc>,
    ) -> Result<Option<Swept>> {
        self.db
            .write(move |conn| Box::pin(sweep_if_due(conn, retention, now)))
            .await
    }
}

async fn sweep_if_due(
    conn: &mut SqliteConnection,
    retention: Retention,
    now: DateTime<Utc>,
) -> Result<Option<Swept>> {
    if privacy::last_sweep(conn)
        .await?
        .is_some_and(|last| now - last < SWEEP_EVERY)
    {
        return Ok(None);
    }
    let before = |days: Option<u32>| days.map(|days| now - Duration::days(i64::from(days)));
    let outbox_before = before(retention.outbox_days);
    let activity_before = before(retention.activity_days);
    Ok(Some(
        privacy::sweep(conn, outbox_before, activity_before, now).await?,
    ))
}

/// Why a forgotten host's masterclasses are cancelled.
pub const HOST_LEFT: &str = "the host left the community";

async fn forget(
    conn: &mut SqliteConnection,
    user: UserId,
    host_digest: Duration,
    now: DateTime<Utc>,
) -> Result<Forgotten> {
    let mut forgotten = Forgotten::default();
    let ahead = |mc: &Masterclass| mc.status == MasterclassStatus::Scheduled && mc.starts_at > now;
    let as_member = |mc: &Masterclass| Caller {
        guild_id: mc.guild_id,
        user_id: user,
        role_ids: Vec::new(),
        is_admin: false,
    };
    for (mc, _, _) in masterclasses::signed_up_by(conn, user).await? {
        if ahead(&mc) {
            in_tx::leave_unpaced(conn, as_member(&mc), mc.id, host_digest, now).await?;
            forgotten.left += 1;
        }
    }
    for mc in masterclasses::hosted_by(conn, user).await? {
        if ahead(&mc) {
            in_tx::cancel(conn, as_member(&mc), mc.id, HOST_LEFT.to_owned(), now).await?;
            forgotten.cancelled += 1;
        }
    }
    let event = activity::record(conn, None, None, user, "forgotten", json!({}), now).await?;
    // Unique per forgotten member, never a Discord id, and not derived from the id.
    let tombstone = Tombstone::numbered(event);
    privacy::start_forgetting(conn, user, tombstone).await?;
    for mut entry in privacy::activity_of(conn, user).await? {
        let detail_changed = replace_member(&mut entry.detail, user, tombstone);
        let by_them = entry.actor == user;
        if by_them {
            entry.actor = tombstone.as_user();
        }
        if detail_changed || by_them {
            privacy::rewrite_activity(conn, &entry).await?;
        }
    }
    let text = user.0.to_string();
    for mut entry in privacy::outbox_of(conn, user).await? {
        let addressed = entry.recipient == Some(user);
        let mut changed = addressed;
        if addressed {
            // What was written to them (an address, a code, an error quoting the address)
            // goes with them.
            entry.recipient = Some(tombstone.as_user());
            entry.payload = json!({});
            entry.last_error = None;
        } else {
            changed |= replace_member(&mut entry.payload, user, tombstone);
        }
        let key: Vec<String> = entry
            .dedupe_key
            .split(':')
            .map(|part| match part == text {
                true => tombstone.get().to_string(),
                false => part.to_owned(),
            })
            .collect();
        let key = key.join(":");
        changed |= key != entry.dedupe_key;
        entry.dedupe_key = key;
        if changed {
            let void_at = (addressed && entry.pending).then_some(now);
            privacy::rewrite_outbox(conn, &entry, void_at).await?;
        }
    }
    for mc in privacy::masterclasses_mentioning(conn, user).await? {
        let (title, description) = (unmention(&mc.title, user), unmention(&mc.description, user));
        let reason = mc.cancel_reason.as_deref().map(|r| unmention(r, user));
        privacy::rewrite_masterclass_text(conn, mc.id, &title, &description, reason.as_deref())
            .await?;
    }
    privacy::forget_rows(conn, user, tombstone, now).await?;
    privacy::finish_forgetting(conn, user).await?;
    Ok(forgotten)
}

fn activity_json(entry: ActivityEntry, user: UserId) -> Value {
    serde_json::json!({
        "id": entry.id,
        "server_id": entry.guild_id.map(|g| g.0.to_string()),
        "masterclass_id": entry.masterclass_id,
        "by_you": entry.actor == user,
        "action": entry.action,
        "detail": entry.detail,
        "at": entry.at,
    })
}

fn notification_json(entry: OutboxEntry) -> Value {
    let mut payload = entry.payload;
    // A verification code is for the inbox it was asked for, not for a file in Discord.
    if let Some(code) = payload.get_mut("code") {
        *code = Value::String("(sent by email only)".into());
    }
    serde_json::json!({
        "id": entry.id,
        "channel": entry.channel,
        "kind": entry.kind,
        "due_at": entry.due_at,
        "attempts": entry.attempts,
        "last_error": entry.last_error,
        "content": payload,
    })
}

/// Replaces every mention of `user` in a stored JSON value: numbers and strings equal to the id
/// become `tombstone`, `<@id>` mentions in text become "a former member". Returns whether
/// anything changed.
fn replace_member(value: &mut Value, user: UserId, tombstone: Tombstone) -> bool {
    let text = user.0.to_string();
    match value {
        Value::Number(n) if n.as_u64() == Some(user.0) => {
            *value = Value::from(tombstone.get());
            true
        }
        Value::String(s) if *s == text => {
            *s = tombstone.get().to_string();
            true
        }
        Value::String(s) if mentions(s, user) => {
            *s = unmention(s, user);
            true
        }
        Value::Array(items) => items.iter_mut().fold(false, |changed, item| {
            replace_member(item, user, tombstone) | changed
        }),
        Value::Object(fields) => fields.values_mut().fold(false, |changed, item| {
            replace_member(item, user, tombstone) | changed
        }),
        _ => false,
    }
}

/// Whether `text` mentions `user` (`<@id>`, or `<@!id>` as older clients write it).
fn mentions(text: &str, user: UserId) -> bool {
    text.contains(&format!("<@{user}>")) || text.contains(&format!("<@!{user}>"))
}

/// `text` with every mention of `user` replaced by "a former member".
fn unmention(text: &str, user: UserId) -> String {
    text.replace(&format!("<@{user}>"), FORMER_MEMBER)
        .replace(&format!("<@!{user}>"), FORMER_MEMBER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_is_replaced_wherever_a_value_names_them() {
        let user = UserId(4242);
        let mut value = serde_json::json!({
            "member": 4242, "other": 42421, "guests": [1, 4242],
            "text": "<@4242> joined", "id": "4242", "title": "Room 4242", "old": "<@!4242>",
        });
        assert!(replace_member(&mut value, user, Tombstone::numbered(7)));
        assert_eq!(
            value,
            serde_json::json!({
                "member": -7, "other": 42421, "guests": [1, -7],
                "text": "a former member joined", "id": "-7", "title": "Room 4242",
                "old": "a former member",
            })
        );
        let mut untouched = serde_json::json!({ "member": 1, "n": [2, 3] });
        assert!(!replace_member(
            &mut untouched,
            user,
            Tombstone::numbered(7)
        ));
    }
}
