//! The notifications each change writes into the outbox.

use crate::domain::{Channel, Masterclass, NoticeKind, ReminderOffsets, UserId};
use crate::store::outbox::{self, NewNotice};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::SqliteConnection;

/// Kinds that only make sense while the masterclass is still ahead: voided on cancel or leave.
pub const FUTURE_KINDS: &[NoticeKind] = &[NoticeKind::Reminder, NoticeKind::Starting];

/// Tells a member about an event, by DM and by email. `event` (an activity id) keeps the rows
/// unique per event: the same member joining twice in a row is two events.
pub async fn tell_member(
    conn: &mut SqliteConnection,
    event: i64,
    mc: &Masterclass,
    member: UserId,
    kind: NoticeKind,
    payload: Value,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    for channel in [Channel::Dm, Channel::Email] {
        let notice = NewNotice {
            guild_id: mc.guild_id,
            masterclass_id: Some(mc.id),
            recipient_id: Some(member),
            channel,
            kind,
            payload: payload.clone(),
            due_at: now,
            dedupe_key: format!("{event}:{}:{}:{member}", kind.as_str(), channel.as_str()),
        };
        outbox::enqueue(conn, &notice, now).await?;
    }
    Ok(())
}

/// A message in the masterclass thread.
pub async fn tell_thread(
    conn: &mut SqliteConnection,
    mc: &Masterclass,
    kind: NoticeKind,
    payload: Value,
    due_at: DateTime<Utc>,
    dedupe_key: String,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let notice = NewNotice {
        guild_id: mc.guild_id,
        masterclass_id: Some(mc.id),
        recipient_id: None,
        channel: Channel::Thread,
        kind,
        payload,
        due_at,
        dedupe_key,
    };
    outbox::enqueue(conn, &notice, now).await
}

/// One DM and one email reminder per offset still ahead, for an attendee. `arrival` identifies
/// this sign-up, so a member who leaves and comes back gets fresh reminders.
pub async fn schedule_reminders(
    conn: &mut SqliteConnection,
    mc: &Masterclass,
    member: UserId,
    arrival: i64,
    offsets: &ReminderOffsets,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    for &minutes in offsets.minutes() {
        let due_at = mc.starts_at - chrono::Duration::minutes(minutes.into());
        if due_at <= now {
            continue; // Joining 10 minutes before the start needs no "in 24 hours" reminder.
        }
        for channel in [Channel::Dm, Channel::Email] {
            let notice = NewNotice {
                guild_id: mc.guild_id,
                masterclass_id: Some(mc.id),
                recipient_id: Some(member),
                channel,
                kind: NoticeKind::Reminder,
                payload: serde_json::json!({ "minutes_before": minutes }),
                due_at,
                dedupe_key: format!(
                    "reminder:{}:{member}:{arrival}:{minutes}:{}",
                    mc.id,
                    channel.as_str()
                ),
            };
            outbox::enqueue(conn, &notice, now).await?;
        }
    }
    Ok(())
}

/// The thread's own reminders (one message per offset, mentioning attendees) and its
/// "starting now" message.
pub async fn schedule_thread_messages(
    conn: &mut SqliteConnection,
    mc: &Masterclass,
    offsets: &ReminderOffsets,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    for &minutes in offsets.minutes() {
        let due_at = mc.starts_at - chrono::Duration::minutes(minutes.into());
        if due_at > now {
            let payload = serde_json::json!({ "minutes_before": minutes });
            let key = format!("reminder:{}:thread:{minutes}", mc.id);
            tell_thread(conn, mc, NoticeKind::Reminder, payload, due_at, key, now).await?;
        }
    }
    let key = format!("starting:{}:thread", mc.id);
    tell_thread(
        conn,
        mc,
        NoticeKind::Starting,
        serde_json::json!({}),
        mc.starts_at,
        key,
        now,
    )
    .await
}

/// Voids every pending reminder and start message of a masterclass.
pub async fn void_future(
    conn: &mut SqliteConnection,
    mc: &Masterclass,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    outbox::void_for_masterclass(conn, mc.id, FUTURE_KINDS, now).await
}
