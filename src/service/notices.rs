//! The notifications each change causes, collected while the change runs and written to the
//! outbox in one statement at the end of its transaction.

use crate::domain::{
    Channel, Counts, HostDigest, Masterclass, NoticeKind, ReminderOffsets, Seat, SeatChange, UserId,
};
use crate::store::digests;
use crate::store::outbox::{self, NewNotice};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sqlx::SqliteConnection;

/// Kinds that only make sense while the masterclass is still ahead: voided on cancel or leave.
pub const FUTURE_KINDS: &[NoticeKind] = &[
    NoticeKind::Reminder,
    NoticeKind::Starting,
    NoticeKind::HostDigest,
];

/// Why a digest was voided before it was due.
const NETTED_OUT: &str = "nothing to tell: the sign-up changes of the window cancelled out";

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

/// What made the host's masterclass change, which decides whether the host hears of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostNews {
    /// A member joined (`event` is the sign-up): told at once when the host heard nothing from
    /// us within the window, else said in the window's digest.
    Join { event: i64 },
    /// A member left (`event` is the departure): said in the digest of a window already open
    /// or just ended; a leave in a quiet spell is not news of its own.
    Leave { event: i64 },
    /// A consequence the host or an admin caused (a removal, promotions after an edit): folded
    /// into a digest still open, so what it says stays true, and nothing else.
    Aside,
}

/// Tells the host of sign-up `changes` (a join, a leave and the promotion it caused...), in the
/// caller's transaction. The first join of a quiet spell goes out at once, as a `joined`
/// notice; within `window` after the host was last told, changes go into one digest per
/// channel, due when the window ends, where each member's state when the host was last told
/// is kept, so a join and a leave within the window cancel out. A digest left with nothing to
/// say is voided at once. `counts` are the seats after the change; `window` zero tells every
/// join at once (digests still open take what follows).
#[allow(clippy::too_many_arguments)]
pub async fn tell_host(
    conn: &mut SqliteConnection,
    notices: &mut Notices,
    mc: &Masterclass,
    news: HostNews,
    changes: &[SeatChange],
    counts: Counts,
    window: chrono::Duration,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let latest = outbox::latest_host_notices(conn, mc.id, mc.host_id, now).await?;
    let open: Vec<_> = latest.iter().filter(|n| n.open).collect();
    if let Some(first) = open.first() {
        // The window's changes are kept once for both channels, keyed by its end; the seats
        // are read when it goes out.
        let until = serde_json::from_value::<HostDigest>(first.payload.clone())?.until;
        let mut took_out = false;
        for &change in changes {
            took_out |= digests::fold(conn, mc.id, until, change).await?;
        }
        if took_out && digests::is_empty(conn, mc.id, until).await? {
            for notice in open {
                outbox::mark_voided(conn, notice.id, NETTED_OUT, now).await?;
            }
        }
        return Ok(());
    }
    let event = match news {
        HostNews::Aside => return Ok(()),
        HostNews::Join { event } | HostNews::Leave { event } => event,
    };
    let told_at = latest.iter().map(|n| n.told_at).max();
    let window_open = told_at.filter(|&at| window > chrono::Duration::zero() && at > now - window);
    if let Some(told_at) = window_open {
        let until = told_at + window;
        for &change in changes {
            digests::fold(conn, mc.id, until, change).await?;
        }
        let mut digest = HostDigest::new(until);
        digest.set_seats(counts, mc.capacity);
        if !digests::is_empty(conn, mc.id, until).await? {
            let payload = serde_json::to_value(&digest)?;
            for channel in [Channel::Dm, Channel::Email] {
                notices.rows.push(NewNotice {
                    guild_id: mc.guild_id,
                    masterclass_id: Some(mc.id),
                    recipient_id: Some(mc.host_id),
                    channel,
                    kind: NoticeKind::HostDigest,
                    payload: payload.clone(),
                    due_at: until,
                    dedupe_key: format!("host_digest:{event}:{}", channel.as_str()),
                });
            }
        }
        return Ok(());
    }
    if let HostNews::Join { event } = news {
        for change in changes.iter().filter(|c| c.before == Seat::Out) {
            let status = match change.now {
                Seat::Waitlisted => "waitlisted",
                _ => "attending",
            };
            let to_host = json!({
                "member": change.member, "status": status,
                "attending": counts.attending, "capacity": mc.capacity, "waitlisted": counts.waitlisted,
            });
            notices.tell_member(event, mc, mc.host_id, NoticeKind::Joined, to_host, now);
        }
    }
    Ok(())
}

/// Voids every pending reminder, start message and host digest of a masterclass.
pub async fn void_future(
    conn: &mut SqliteConnection,
    mc: &Masterclass,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    outbox::void_for_masterclass(conn, mc.id, FUTURE_KINDS, now).await
}
