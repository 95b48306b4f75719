//! The notifications each change causes, collected while the change runs and written to the
//! outbox in one statement at the end of its transaction.

use crate::domain::{Channel, Masterclass, NoticeKind, ReminderOffsets, UserId};
use crate::store::outbox::{self, NewNotice};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sqlx::SqliteConnection;

/// Kinds that only make sense while the masterclass is still ahead: voided on cancel or leave.
pub const FUTURE_KINDS: &[NoticeKind] = &[NoticeKind::Reminder, NoticeKind::Starting];

#[derive(Debug, Default)]
pub struct Notices {
    rows: Vec<NewNotice>,
}

impl Notices {
    /// Tells a member about an event, by DM and by email. `event` (an activity id) keeps the
    /// rows unique per event: the same member joining twice in a row is two events.
    pub fn tell_member(
        &mut self,
        event: i64,
        mc: &Masterclass,
        member: UserId,
        kind: NoticeKind,
        payload: Value,
        now: DateTime<Utc>,
    ) {
        let on = [Channel::Dm, Channel::Email];
        self.tell_member_on(&on, event, mc, member, kind, payload, now);
    }

    /// Tells a member by email only: for news Discord already showed them on screen (their own
    /// join), where a DM would repeat it but the email brings what the screen cannot (the
    /// calendar file).
    pub fn email_member(
        &mut self,
        event: i64,
        mc: &Masterclass,
        member: UserId,
        kind: NoticeKind,
        payload: Value,
        now: DateTime<Utc>,
    ) {
        self.tell_member_on(&[Channel::Email], event, mc, member, kind, payload, now);
    }

    #[allow(clippy::too_many_arguments)]
    fn tell_member_on(
        &mut self,
        channels: &[Channel],
        event: i64,
        mc: &Masterclass,
        member: UserId,
        kind: NoticeKind,
        payload: Value,
        now: DateTime<Utc>,
    ) {
        for &channel in channels {
            self.rows.push(NewNotice {
                guild_id: mc.guild_id,
                masterclass_id: Some(mc.id),
                recipient_id: Some(member),
                channel,
                kind,
                payload: payload.clone(),
                due_at: now,
                dedupe_key: format!("{event}:{}:{}:{member}", kind.as_str(), channel.as_str()),
            });
        }
    }

    /// A message in the masterclass thread.
    pub fn tell_thread(
        &mut self,
        mc: &Masterclass,
        kind: NoticeKind,
        payload: Value,
        due_at: DateTime<Utc>,
        dedupe_key: String,
    ) {
        self.rows.push(NewNotice {
            guild_id: mc.guild_id,
            masterclass_id: Some(mc.id),
            recipient_id: None,
            channel: Channel::Thread,
            kind,
            payload,
            due_at,
            dedupe_key,
        });
    }

    /// One DM and one email reminder per offset still ahead, for an attendee. `arrival`
    /// identifies this sign-up, so a member who leaves and comes back gets fresh reminders.
    pub fn schedule_reminders(
        &mut self,
        mc: &Masterclass,
        member: UserId,
        arrival: i64,
        offsets: &ReminderOffsets,
        now: DateTime<Utc>,
    ) {
        self.reminders(mc, member, arrival, offsets, false, now);
    }

    /// The host's own reminders, like an attendee's (each channel still per their settings).
    /// `hosted` is the hosting event. The host has no sign-up: the payload says whose they
    /// are, and the worker keeps them as long as the masterclass is ahead.
    pub fn schedule_host_reminders(
        &mut self,
        mc: &Masterclass,
        hosted: i64,
        offsets: &ReminderOffsets,
        now: DateTime<Utc>,
    ) {
        self.reminders(mc, mc.host_id, hosted, offsets, true, now);
    }

    fn reminders(
        &mut self,
        mc: &Masterclass,
        member: UserId,
        arrival: i64,
        offsets: &ReminderOffsets,
        host: bool,
        now: DateTime<Utc>,
    ) {
        for &minutes in offsets.minutes() {
            let due_at = mc.starts_at - chrono::Duration::minutes(minutes.into());
            if due_at <= now {
                continue; // Joining 10 minutes before the start needs no "in 24 hours" reminder.
            }
            for channel in [Channel::Dm, Channel::Email] {
                self.rows.push(NewNotice {
                    guild_id: mc.guild_id,
                    masterclass_id: Some(mc.id),
                    recipient_id: Some(member),
                    channel,
                    kind: NoticeKind::Reminder,
                    payload: if host {
                        json!({ "minutes_before": minutes, "host": true })
                    } else {
                        json!({ "minutes_before": minutes })
                    },
                    due_at,
                    dedupe_key: format!(
                        "reminder:{}:{member}:{arrival}:{minutes}:{}",
                        mc.id,
                        channel.as_str()
                    ),
                });
            }
        }
    }

    /// The thread's own reminders (one message per offset, mentioning attendees) and its
    /// "starting now" message (mentioning the host and attendees).
    pub fn schedule_thread_messages(
        &mut self,
        mc: &Masterclass,
        offsets: &ReminderOffsets,
        now: DateTime<Utc>,
    ) {
        for &minutes in offsets.minutes() {
            let due_at = mc.starts_at - chrono::Duration::minutes(minutes.into());
            if due_at > now {
                let payload = json!({ "minutes_before": minutes });
                let key = format!("reminder:{}:thread:{minutes}", mc.id);
                self.tell_thread(mc, NoticeKind::Reminder, payload, due_at, key);
            }
        }
        let key = format!("starting:{}:thread", mc.id);
        self.tell_thread(mc, NoticeKind::Starting, json!({}), mc.starts_at, key);
    }

    /// Writes everything collected, in the caller's transaction.
    pub async fn write(self, conn: &mut SqliteConnection, now: DateTime<Utc>) -> sqlx::Result<()> {
        outbox::enqueue_all(conn, &self.rows, now).await
    }
}

/// Voids every pending reminder and start message of a masterclass.
pub async fn void_future(
    conn: &mut SqliteConnection,
    mc: &Masterclass,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    outbox::void_for_masterclass(conn, mc.id, FUTURE_KINDS, now).await
}
