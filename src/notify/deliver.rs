//! One notification: is it still relevant, what does it say, and did it get through.

use super::emails::{verification_email, MasterclassEmail, GREETING_NAME};
use super::texts::{self, UNKNOWN_HOST, UNKNOWN_MEMBER};
use super::worker::Worker;
use super::{DiscordError, DiscordMessage, DiscordPort, EmailPort, OutgoingEmail, SendError};
use crate::domain::{
    Channel, ChannelId, GuildId, HostDigest, Masterclass, MasterclassStatus, MemberSettings,
    NoticeKind, Phase, UserId,
};
use crate::store::outbox::{self, Notice};
use crate::store::participants::{self, Participant, Status};
use crate::store::{digests, masterclasses, settings, sync};
use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;
use std::time::Duration;

/// What became of one row.
#[derive(Clone, Debug)]
pub(super) enum Outcome {
    Delivered,
    /// Not sent, and never will be: no longer relevant, or not wanted on this channel.
    Voided(String),
    /// The DM was refused: said in the thread instead (the row is voided and a thread mention
    /// written in the same transaction).
    MentionInThread(String),
    /// Try again after a backoff (or give up once `give_up_after` has passed since the first
    /// failed attempt).
    Retry(String),
    /// Not now, for a reason that says nothing about the notification (Discord's rate limit,
    /// a thread still being created): due again `after`, without counting the attempt. The
    /// time still counts: past `give_up_after` it is given up like a retry.
    Postponed {
        why: String,
        after: Duration,
    },
    /// Retrying cannot help.
    Failed(String),
}

/// The sync worker is creating the thread: look again shortly, without counting an attempt.
fn waiting_for_thread() -> Outcome {
    Outcome::Postponed {
        why: "waiting for the masterclass's thread to be created".into(),
        after: Duration::from_secs(2),
    }
}

fn voided(why: &str) -> Outcome {
    Outcome::Voided(why.to_owned())
}

fn discord_failure(error: DiscordError) -> Outcome {
    match error {
        DiscordError::RateLimited { retry_after } => Outcome::Postponed {
            why: error.to_string(),
            after: retry_after,
        },
        DiscordError::Transient(_) => Outcome::Retry(error.to_string()),
        DiscordError::DmsClosed | DiscordError::Permanent(_) => Outcome::Failed(error.to_string()),
    }
}

fn email_failure(error: SendError) -> Outcome {
    match error {
        SendError::Transient(_) => Outcome::Retry(error.to_string()),
        SendError::Permanent(_) => Outcome::Failed(error.to_string()),
    }
}

/// Why a notification about `mc` no longer matters to `member`, whose sign-up is `seat`, if so.
/// The host has no sign-up: their reminders stay as long as they host.
fn irrelevance(
    kind: NoticeKind,
    mc: &Masterclass,
    member: UserId,
    seat: Option<&Participant>,
    now: DateTime<Utc>,
) -> Option<&'static str> {
    let cancelled = mc.status == MasterclassStatus::Cancelled;
    let attending = matches!(seat, Some(s) if s.status == Status::Attending);
    match kind {
        NoticeKind::Reminder if cancelled => Some("the masterclass was cancelled"),
        NoticeKind::Reminder if now >= mc.starts_at => {
            Some("the masterclass had started by the time the reminder could be sent")
        }
        NoticeKind::Reminder if !attending && mc.host_id != member => Some("no longer attending"),
        NoticeKind::Joined
        | NoticeKind::HostDigest
        | NoticeKind::JoinConfirmed
        | NoticeKind::GuestAdded
        | NoticeKind::Promoted
        | NoticeKind::DetailsChanged
            if cancelled =>
        {
            Some("the masterclass was cancelled since")
        }
        NoticeKind::Joined
        | NoticeKind::HostDigest
        | NoticeKind::JoinConfirmed
        | NoticeKind::GuestAdded
        | NoticeKind::Promoted
        | NoticeKind::DetailsChanged
            if now >= mc.ends_at() =>
        {
            Some("the masterclass is over")
        }
        NoticeKind::JoinConfirmed
        | NoticeKind::GuestAdded
        | NoticeKind::Promoted
        | NoticeKind::DetailsChanged
            if seat.is_none() =>
        {
            Some("no longer signed up")
        }
        _ => None,
    }
}

/// Whether a refused DM of this kind is said in the thread instead: news the member did not
/// cause and must not miss. Not reminders (the thread's own reminder mentions every attendee),
/// not join receipts (the member just saw Discord answer, and the host would be pinged in public
/// at every join), not removals (not something to say in public).
fn said_in_thread_when_dm_refused(kind: NoticeKind) -> bool {
    matches!(
        kind,
        NoticeKind::GuestAdded
            | NoticeKind::Promoted
            | NoticeKind::Cancelled
            | NoticeKind::DetailsChanged
    )
}

/// What the worker knows about a member notification before sending it.
struct Facts {
    masterclass: Masterclass,
    member: MemberSettings,
}

impl<D: DiscordPort + 'static, M: EmailPort + 'static> Worker<D, M> {
    /// Delivers one row (not a thread mention standing in for a DM: see `deliver_stand_ins`).
    #[tracing::instrument(name = "notification", skip_all, fields(
        id = notice.id,
        kind = notice.kind.as_str(),
        channel = notice.channel.as_str(),
        masterclass = notice.masterclass_id.map(|m| m.0),
        attempts = notice.attempts,
    ))]
    pub(super) async fn deliver(&self, notice: &Notice, now: DateTime<Utc>) -> Outcome {
        let result = match (notice.channel, notice.recipient_id) {
            (Channel::Email, Some(user)) if notice.kind == NoticeKind::VerificationCode => {
                self.deliver_code(notice, user, now).await
            }
            (Channel::Email, Some(user)) => self.deliver_email(notice, user, now).await,
            (Channel::Dm, Some(user)) => self.deliver_dm(notice, user, now).await,
            (Channel::Thread, None) => self.deliver_to_thread(notice, now).await,
            _ => Ok(Outcome::Failed(
                "a member notification without a member".into(),
            )),
        };
        // Only our own database can fail here; it will be back.
        result.unwrap_or_else(|error| Outcome::Retry(format!("{error:#}")))
    }

    /// The masterclass, the member's settings and sign-up; `Err(outcome)` when the notification
    /// has become pointless.
    async fn facts(
        &self,
        notice: &Notice,
        user: UserId,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Result<Facts, Outcome>> {
        let mut conn = self.db.reader().acquire().await?;
        let member = settings::member(&mut conn, user).await?;
        let found = match notice.masterclass_id {
            Some(id) => masterclasses::get_any(&mut conn, id).await?,
            None => None,
        };
        let Some(masterclass) = found else {
            return Ok(Err(voided("the masterclass no longer exists")));
        };
        let seat = participants::get(&mut conn, masterclass.id, user).await?;
        if let Some(why) = irrelevance(notice.kind, &masterclass, user, seat.as_ref(), now) {
            return Ok(Err(voided(why)));
        }
        // An invitation links the thread: it waits until the thread exists.
        if notice.kind == NoticeKind::GuestAdded
            && masterclass.thread_id.is_none()
            && !sync::gave_up(&mut conn, masterclass.id).await?
        {
            return Ok(Err(waiting_for_thread()));
        }
        Ok(Ok(Facts {
            masterclass,
            member,
        }))
    }

    /// A member's name in a server; none to look up outside one (a code asked for in a DM).
    async fn name_of(&self, guild: GuildId, user: UserId, fallback: &str) -> String {
        // Nobody to look up: a DM-only request, or a member who asked to be forgotten.
        if guild == GuildId::NONE || user.is_forgotten() {
            return fallback.to_owned();
        }
        match self.discord.display_name(guild, user).await {
            Some(name) => name,
            None => fallback.to_owned(),
        }
    }

    /// The other person a text names: who joined (to the host), who invited (to a guest).
    async fn other_name(&self, notice: &Notice, mc: &Masterclass) -> String {
        match notice.kind {
            NoticeKind::Joined => match notice.payload["member"].as_u64() {
                Some(member) => {
                    self.name_of(mc.guild_id, UserId(member), UNKNOWN_MEMBER)
                        .await
                }
                None => UNKNOWN_MEMBER.to_owned(),
            },
            NoticeKind::GuestAdded => self.name_of(mc.guild_id, mc.host_id, UNKNOWN_HOST).await,
            _ => String::new(),
        }
    }

    /// The payload, with what a host digest says: its members' changes (kept in their own
    /// table) and the names of those it names (`names`: id → name; one unknown is left out,
    /// and the text says "a member" or mentions them).
    async fn with_names(
        &self,
        notice: &Notice,
        mc: &Masterclass,
    ) -> anyhow::Result<serde_json::Value> {
        let payload = notice.payload.clone();
        if notice.kind != NoticeKind::HostDigest {
            return Ok(payload);
        }
        let mut digest = serde_json::from_value::<HostDigest>(payload)?;
        let mut conn = self.db.reader().acquire().await?;
        digest.changes = digests::changes(&mut conn, mc.id, digest.until).await?;
        digest.set_seats(participants::counts(&mut conn, mc.id).await?, mc.capacity);
        drop(conn);
        let mut payload = serde_json::to_value(&digest)?;
        let mut names = serde_json::Map::new();
        for member in digest.named_members() {
            if member.is_forgotten() {
                continue;
            }
            if let Some(name) = self.discord.display_name(mc.guild_id, member).await {
                names.insert(member.to_string(), name.into());
            }
        }
        payload["names"] = names.into();
        Ok(payload)
    }

    async fn deliver_dm(
        &self,
        notice: &Notice,
        user: UserId,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Outcome> {
        let facts = match self.facts(notice, user, now).await? {
            Ok(facts) => facts,
            Err(outcome) => return Ok(outcome),
        };
        if !facts.member.dm_enabled {
            return Ok(voided("DMs off"));
        }
        let mc = &facts.masterclass;
        let other = self.other_name(notice, mc).await;
        let payload = self.with_names(notice, mc).await?;
        let text = texts::dm_text(notice.kind, &payload, mc, &other);
        Ok(
            match self
                .discord
                .send_dm(user, &DiscordMessage::quiet(text))
                .await
            {
                Ok(()) => Outcome::Delivered,
                Err(DiscordError::DmsClosed) => dm_refused(notice.kind, &facts),
                Err(error) => discord_failure(error),
            },
        )
    }

    async fn deliver_email(
        &self,
        notice: &Notice,
        user: UserId,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Outcome> {
        let facts = match self.facts(notice, user, now).await? {
            Ok(facts) => facts,
            Err(outcome) => return Ok(outcome),
        };
        // The email templates only know "you're in"; the DM tells a waitlisted member where
        // they stand, and the promotion email follows when a seat opens.
        if matches!(
            notice.kind,
            NoticeKind::JoinConfirmed | NoticeKind::GuestAdded
        ) && notice.payload["status"] == "waitlisted"
        {
            return Ok(voided("waitlisted: the email templates only confirm seats"));
        }
        let Some(address) = facts.member.email_to_use() else {
            return Ok(voided(if facts.member.email.is_none() {
                "no verified email address"
            } else {
                "emails off"
            }));
        };
        let zone = match facts.member.time_zone {
            Some(zone) => zone,
            None => {
                let mut conn = self.db.reader().acquire().await?;
                settings::guild(&mut conn, notice.guild_id).await?.time_zone
            }
        };
        let mc = &facts.masterclass;
        let host_name = self.name_of(mc.guild_id, mc.host_id, UNKNOWN_HOST).await;
        let joiner_name = self.other_name(notice, mc).await;
        let recipient_name = self.name_of(mc.guild_id, user, GREETING_NAME).await;
        let payload = self.with_names(notice, mc).await?;
        let email = MasterclassEmail {
            kind: notice.kind,
            payload: &payload,
            masterclass: mc,
            to: address.as_str(),
            recipient_name: &recipient_name,
            zone: zone.tz(),
            host_name: &host_name,
            joiner_name: &joiner_name,
            organizer: &self.mail.sender_address(),
            now,
        }
        .build();
        Ok(self.send_email(email).await)
    }

    async fn send_email(&self, email: anyhow::Result<OutgoingEmail>) -> Outcome {
        match email {
            Ok(email) => self
                .mail
                .send(&email)
                .await
                .map_or_else(email_failure, |()| Outcome::Delivered),
            Err(error) => Outcome::Failed(format!("cannot write the email: {error:#}")),
        }
    }

    /// The code goes to the address waiting for verification, as long as it still waits.
    async fn deliver_code(
        &self,
        notice: &Notice,
        user: UserId,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Outcome> {
        let (Some(to), Some(code)) = (
            notice.payload["email"].as_str(),
            notice.payload["code"].as_str(),
        ) else {
            return Ok(voided("no code to send"));
        };
        let mut conn = self.db.reader().acquire().await?;
        let member = settings::member(&mut conn, user).await?;
        let expires_at = settings::pending_code(&mut conn, user)
            .await?
            .and_then(|pending| pending.expires_at());
        drop(conn);
        if member.pending_email.as_ref().map(|e| e.as_str()) != Some(to) {
            return Ok(voided("the address no longer waits for verification"));
        }
        if !matches!(expires_at, Some(at) if at > now) {
            return Ok(voided("the code expired before it could be sent"));
        }
        let name = self.name_of(notice.guild_id, user, GREETING_NAME).await;
        Ok(self.send_email(verification_email(to, code, &name)).await)
    }

    /// A message in the masterclass thread: the cancellation, a reminder, the start.
    async fn deliver_to_thread(
        &self,
        notice: &Notice,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Outcome> {
        let mut conn = self.db.reader().acquire().await?;
        let found = match notice.masterclass_id {
            Some(id) => masterclasses::get_any(&mut conn, id).await?,
            None => None,
        };
        let Some(mc) = found else {
            return Ok(voided("the masterclass no longer exists"));
        };
        let Some(thread) = mc.thread_id else {
            if mc.status == MasterclassStatus::Cancelled {
                return Ok(voided(
                    "the masterclass was cancelled before its thread existed",
                ));
            }
            if sync::gave_up(&mut conn, mc.id).await? {
                return Ok(Outcome::Failed(
                    "the masterclass has no thread: Discord refused to create it".into(),
                ));
            }
            return Ok(waiting_for_thread());
        };
        let message = match notice.kind {
            NoticeKind::Cancelled => texts::thread_cancelled(&notice.payload),
            NoticeKind::Starting => match mc.phase(now) {
                Phase::InProgress => {
                    // The host first, then whoever attends now.
                    let mut people = vec![mc.host_id];
                    people.extend(attendees(&mut conn, &mc).await?);
                    people.retain(|person| !person.is_forgotten());
                    drop(conn);
                    let text = texts::starting_text(&mc);
                    return self.post_mentioning(notice, thread, &text, people).await;
                }
                Phase::Cancelled => return Ok(voided("the masterclass was cancelled")),
                Phase::Completed => return Ok(voided("the masterclass is over")),
                Phase::Upcoming => return Ok(Outcome::Retry("not started yet".into())),
            },
            NoticeKind::Reminder => {
                if mc.status == MasterclassStatus::Cancelled {
                    return Ok(voided("the masterclass was cancelled"));
                }
                if now >= mc.starts_at {
                    return Ok(voided(
                        "the masterclass had started by the time the reminder could be sent",
                    ));
                }
                let attendees = attendees(&mut conn, &mc).await?;
                drop(conn);
                if attendees.is_empty() {
                    return Ok(voided("nobody is attending"));
                }
                let text = texts::thread_reminder(&mc);
                return self.post_mentioning(notice, thread, &text, attendees).await;
            }
            other => {
                return Ok(Outcome::Failed(format!(
                    "no thread message for {} notifications",
                    other.as_str()
                )))
            }
        };
        drop(conn);
        if let Err(error) = self
            .discord
            .send_to_channel(thread, &DiscordMessage::quiet(message))
            .await
        {
            return Ok(discord_failure(error));
        }
        Ok(Outcome::Delivered)
    }

    /// `text` mentioning `people` (a reminder: the attendees; the start: the host and the
    /// attendees), split by Discord's limits. Who was mentioned is saved after each message, so
    /// a retry mentions only the others.
    async fn post_mentioning(
        &self,
        notice: &Notice,
        thread: ChannelId,
        text: &str,
        people: Vec<UserId>,
    ) -> anyhow::Result<Outcome> {
        // Read one by one: a member forgotten since is a tombstone there (not a user id).
        let mut mentioned: Vec<UserId> = notice.payload["mentioned"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|member| member.as_u64().map(UserId))
            .collect();
        let pending: Vec<UserId> = people
            .into_iter()
            .filter(|a| !mentioned.contains(a))
            .collect();
        let messages = texts::with_mentions(text, &pending);
        let last = messages.len().saturating_sub(1);
        for (n, message) in messages.into_iter().enumerate() {
            if let Err(error) = self.discord.send_to_channel(thread, &message).await {
                return Ok(discord_failure(error));
            }
            mentioned.extend(message.mentions);
            if n < last {
                let mut payload = notice.payload.clone();
                payload["mentioned"] = serde_json::to_value(&mentioned)?;
                let id = notice.id;
                self.db
                    .write(move |conn| {
                        Box::pin(async move { outbox::set_payload(conn, id, &payload).await })
                    })
                    .await?;
            }
        }
        Ok(Outcome::Delivered)
    }

    /// Thread mentions standing in for refused DMs of one event: one message mentions them all
    /// (split by Discord's limits). Each row is recorded as soon as its message is sent.
    #[tracing::instrument(name = "stand_ins", skip_all, fields(
        ids = ?group.iter().map(|n| n.id).collect::<Vec<_>>(),
        kind = group.first().map(|n| n.kind.as_str()),
        masterclass = group.first().and_then(|n| n.masterclass_id).map(|m| m.0),
    ))]
    pub(super) async fn deliver_stand_ins(
        &self,
        group: &[Notice],
        now: DateTime<Utc>,
    ) -> Vec<Outcome> {
        let mut outcomes = Vec::with_capacity(group.len());
        let plan = match self.plan_stand_ins(group, now).await {
            Ok(plan) => plan,
            Err(error) => {
                let why = format!("{error:#}");
                for notice in group {
                    let outcome = Outcome::Retry(why.clone());
                    outcomes.push(self.record(notice, outcome, now).await);
                }
                return outcomes;
            }
        };
        for (notice, why) in &plan.dropped {
            let outcome = Outcome::Voided(why.clone());
            outcomes.push(self.record(notice, outcome, now).await);
        }
        // Once a message fails, the rest wait for the retry with it.
        let mut failure: Option<DiscordError> = None;
        for message in &plan.messages {
            if failure.is_none() {
                failure = self
                    .discord
                    .send_to_channel(plan.thread, message)
                    .await
                    .err();
            }
            let mentioned = plan.to_mention.iter().filter(|n| {
                n.recipient_id
                    .is_some_and(|user| message.mentions.contains(&user))
            });
            for notice in mentioned {
                let outcome = match &failure {
                    None => Outcome::Delivered,
                    Some(error) => discord_failure(error.clone()),
                };
                outcomes.push(self.record(notice, outcome, now).await);
            }
        }
        outcomes
    }

    async fn plan_stand_ins(
        &self,
        group: &[Notice],
        now: DateTime<Utc>,
    ) -> anyhow::Result<StandInPlan> {
        let first = &group[0];
        let mut conn = self.db.reader().acquire().await?;
        let found = match first.masterclass_id {
            Some(id) => masterclasses::get_any(&mut conn, id).await?,
            None => None,
        };
        let Some(mc) = found else {
            let dropped = group
                .iter()
                .map(|n| (n.clone(), "the masterclass no longer exists".to_owned()))
                .collect();
            return Ok(StandInPlan::nothing_to_send(dropped));
        };
        let Some(thread) = mc.thread_id else {
            anyhow::bail!("the masterclass has no thread yet");
        };
        let (mut to_mention, mut dropped) = (Vec::new(), Vec::new());
        for notice in group {
            let Some(user) = notice.recipient_id else {
                continue;
            };
            let seat = participants::get(&mut conn, mc.id, user).await?;
            match irrelevance(notice.kind, &mc, user, seat.as_ref(), now) {
                Some(why) => dropped.push((notice.clone(), why.to_owned())),
                None => to_mention.push(notice.clone()),
            }
        }
        drop(conn);
        let mut users: Vec<UserId> = to_mention.iter().filter_map(|n| n.recipient_id).collect();
        users.sort_unstable();
        users.dedup();
        let other = self.other_name(first, &mc).await;
        let text =
            texts::unreachable_by_dm(&texts::dm_text(first.kind, &first.payload, &mc, &other));
        Ok(StandInPlan {
            thread,
            messages: texts::with_mentions(&text, &users),
            to_mention,
            dropped,
        })
    }
}

/// Who attends `mc` now, in sign-up order.
async fn attendees(conn: &mut SqliteConnection, mc: &Masterclass) -> sqlx::Result<Vec<UserId>> {
    Ok(participants::list(conn, mc.id)
        .await?
        .into_iter()
        .filter(|p| p.status == Status::Attending)
        .map(|p| p.user_id)
        .collect())
}

/// What to do with a group of thread mentions.
struct StandInPlan {
    /// Unused when there are no messages.
    thread: ChannelId,
    messages: Vec<DiscordMessage>,
    to_mention: Vec<Notice>,
    dropped: Vec<(Notice, String)>,
}

impl StandInPlan {
    fn nothing_to_send(dropped: Vec<(Notice, String)>) -> Self {
        Self {
            thread: ChannelId(0),
            messages: Vec::new(),
            to_mention: Vec::new(),
            dropped,
        }
    }
}

/// A refused DM: email covers members who have it; else the thread, where that makes sense.
fn dm_refused(kind: NoticeKind, facts: &Facts) -> Outcome {
    if kind == NoticeKind::Reminder {
        voided("DMs closed; the thread reminder mentions every attendee")
    } else if facts.member.email_to_use().is_some() {
        voided("DMs closed; reached by email")
    } else if said_in_thread_when_dm_refused(kind) && facts.masterclass.thread_id.is_some() {
        Outcome::MentionInThread("DMs closed and no email; mentioned in the thread".into())
    } else {
        voided("DMs closed and no email")
    }
}
