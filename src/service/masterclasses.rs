use super::notices::{self, HostNews, Notices, FUTURE_KINDS};
use super::{Counts, Error, ParticipantStatus, Result, Service};
use crate::domain::{
    ensure_not_flapping, Caller, CancelReason, Capacity, Description, Duration, Guests, GuildId,
    GuildSettings, Location, Masterclass, MasterclassId, NewMasterclass, NoticeKind, Seat,
    SeatChange, StartTime, TimeZone, Title, UserError, UserId, SIGN_UP_CHANGES_WINDOW_SECONDS,
};
use crate::store::masterclasses::{Period, Role};
use crate::store::participants::Participant;
use crate::store::{activity, masterclasses, participants, settings};
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::SqliteConnection;

/// What a host typed, unchecked. Numbers arrive as text because they come from a form.
#[derive(Clone, Debug, Default)]
pub struct HostRequest {
    pub title: String,
    pub description: String,
    pub start: String,
    pub duration_minutes: Option<String>,
    pub capacity: Option<String>,
    /// Checked by the adapter (a voice/stage channel of this server, or a URL).
    pub location: Option<Location>,
    /// Each guest with whether it is a bot.
    pub guests: Vec<(UserId, bool)>,
    /// An IANA zone chosen for this masterclass; else the host's own, else the server's.
    pub time_zone: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Hosted {
    pub masterclass: Masterclass,
    pub attending: Vec<UserId>,
    pub waitlisted: Vec<UserId>,
}

#[derive(Clone, Debug)]
pub struct JoinOutcome {
    pub masterclass: Masterclass,
    pub status: ParticipantStatus,
    /// Waitlist position (1-based) when waitlisted.
    pub position: Option<u32>,
    pub counts: Counts,
}

#[derive(Clone, Debug)]
pub struct LeaveOutcome {
    pub masterclass: Masterclass,
    pub left: UserId,
    pub promoted: Option<UserId>,
    pub counts: Counts,
}

/// Fields to change; `start` and `duration` exist only to be refused with the explanation.
#[derive(Clone, Debug, Default)]
pub struct MasterclassEdit {
    pub title: Option<String>,
    pub description: Option<String>,
    pub location: Option<Location>,
    pub capacity: Option<i64>,
    pub start: Option<String>,
    pub duration_minutes: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct EditOutcome {
    pub masterclass: Masterclass,
    pub promoted: Vec<UserId>,
    pub counts: Counts,
}

#[derive(Clone, Debug)]
pub struct Participants {
    pub masterclass: Masterclass,
    pub attending: Vec<UserId>,
    /// In order: the first is position 1.
    pub waitlist: Vec<UserId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionFilter {
    Upcoming,
    Past,
    Cancelled,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionRole {
    Hosting,
    Attending,
    Waitlisted,
}

#[derive(Clone, Debug)]
pub struct Session {
    pub masterclass: Masterclass,
    pub role: SessionRole,
}

fn ensure_can_host(settings: &GuildSettings, caller: &Caller) -> Result<(), UserError> {
    if !settings.enabled {
        return Err(UserError::NotEnabled);
    }
    let role = settings.host_role_id.ok_or(UserError::NoHostRole)?;
    if !caller.has_role(role) {
        return Err(UserError::NotHostRole);
    }
    if settings.announcement_channel_id.is_none() {
        return Err(UserError::NoAnnouncementChannel);
    }
    Ok(())
}

fn ensure_host_or_admin(mc: &Masterclass, caller: &Caller) -> Result<(), UserError> {
    if mc.host_id == caller.user_id || caller.is_admin {
        Ok(())
    } else {
        Err(UserError::NotHostOrAdmin)
    }
}

fn parse_number(text: &str, out_of_range: UserError) -> Result<i64, UserError> {
    text.trim().parse().map_err(|_| out_of_range)
}

async fn find(
    conn: &mut SqliteConnection,
    caller: &Caller,
    id: MasterclassId,
) -> Result<Masterclass> {
    masterclasses::get(conn, caller.guild_id, id)
        .await?
        .ok_or(Error::User(UserError::NotFound))
}

impl Service {
    /// Checks that the caller may host here, before any form is shown.
    pub async fn ensure_can_host(&self, caller: &Caller) -> Result<GuildSettings> {
        let mut conn = self.db.reader().acquire().await?;
        let settings = settings::guild(&mut conn, caller.guild_id).await?;
        ensure_can_host(&settings, caller)?;
        Ok(settings)
    }

    /// Checks everything a host typed and returns the masterclass to preview. Stores nothing.
    #[tracing::instrument(name = "prepare_host", skip_all, fields(guild = %caller.guild_id, user = %caller.user_id))]
    pub async fn prepare_host(
        &self,
        caller: &Caller,
        request: HostRequest,
        now: DateTime<Utc>,
    ) -> Result<NewMasterclass> {
        let server = self.ensure_can_host(caller).await?;
        let mut conn = self.db.reader().acquire().await?;
        let member = settings::member(&mut conn, caller.user_id).await?;
        let time_zone = match request
            .time_zone
            .as_deref()
            .filter(|z| !z.trim().is_empty())
        {
            Some(name) => TimeZone::parse(name)?,
            None => member.time_zone.unwrap_or(server.time_zone),
        };
        let duration = match request
            .duration_minutes
            .as_deref()
            .filter(|d| !d.trim().is_empty())
        {
            Some(text) => {
                Duration::from_minutes(parse_number(text, UserError::DurationOutOfRange)?)?
            }
            None => Duration::from_minutes(Duration::DEFAULT_MINUTES.into())?,
        };
        let capacity = match request.capacity.as_deref().filter(|c| !c.trim().is_empty()) {
            Some(text) => Capacity::new(parse_number(text, UserError::CapacityOutOfRange)?)?,
            None => server.default_capacity,
        };
        Ok(NewMasterclass {
            title: Title::parse(&request.title)?,
            description: Description::parse(&request.description)?,
            start: StartTime::parse(&request.start, time_zone, now)?,
            duration,
            capacity,
            location: request.location,
            guests: Guests::new(caller.user_id, &request.guests)?,
            time_zone,
        })
    }

    /// Saves a previewed masterclass: guests attend at once (beyond capacity, they wait).
    #[tracing::instrument(name = "host", skip_all, fields(guild = %caller.guild_id, user = %caller.user_id))]
    pub async fn host(
        &self,
        caller: &Caller,
        new: NewMasterclass,
        now: DateTime<Utc>,
    ) -> Result<Hosted> {
        let caller = caller.clone();
        self.db
            .write(move |conn| Box::pin(in_tx::host(conn, caller, new, now)))
            .await
    }

    /// Takes a seat, or a place at the end of the waitlist. The transaction decides.
    #[tracing::instrument(name = "join", skip_all, fields(guild = %caller.guild_id, user = %caller.user_id, masterclass = %id))]
    pub async fn join(
        &self,
        caller: &Caller,
        id: MasterclassId,
        now: DateTime<Utc>,
    ) -> Result<JoinOutcome> {
        let (caller, window) = (caller.clone(), self.host_digest);
        self.db
            .write(move |conn| Box::pin(in_tx::join(conn, caller, id, window, now)))
            .await
    }

    /// Gives up a seat or a waitlist place; a freed seat goes to the first waitlisted member.
    #[tracing::instrument(name = "leave", skip_all, fields(guild = %caller.guild_id, user = %caller.user_id, masterclass = %id))]
    pub async fn leave(
        &self,
        caller: &Caller,
        id: MasterclassId,
        now: DateTime<Utc>,
    ) -> Result<LeaveOutcome> {
        let (caller, window) = (caller.clone(), self.host_digest);
        self.db
            .write(move |conn| Box::pin(in_tx::leave(conn, caller, id, window, now)))
            .await
    }

    /// The host (or an admin) takes a member off the masterclass; the member is told.
    #[tracing::instrument(name = "remove_participant", skip_all, fields(guild = %caller.guild_id, user = %caller.user_id, masterclass = %id, member = %member))]
    pub async fn remove_participant(
        &self,
        caller: &Caller,
        id: MasterclassId,
        member: UserId,
        now: DateTime<Utc>,
    ) -> Result<LeaveOutcome> {
        let (caller, window) = (caller.clone(), self.host_digest);
        self.db
            .write(move |conn| Box::pin(in_tx::remove(conn, caller, id, member, window, now)))
            .await
    }

    /// The checks of [`Service::cancel`] without the change: for a confirmation step.
    pub async fn check_cancel(
        &self,
        caller: &Caller,
        id: MasterclassId,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(Masterclass, String)> {
        let mut conn = self.db.reader().acquire().await?;
        let mc = find(&mut conn, caller, id).await?;
        ensure_host_or_admin(&mc, caller)?;
        mc.ensure_open(now)?;
        let reason = CancelReason::parse(reason)?.into_inner();
        Ok((mc, reason))
    }

    /// Cancels for good, with the reason every participant is told.
    #[tracing::instrument(name = "cancel", skip_all, fields(guild = %caller.guild_id, user = %caller.user_id, masterclass = %id))]
    pub async fn cancel(
        &self,
        caller: &Caller,
        id: MasterclassId,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Participants> {
        let (caller, reason) = (caller.clone(), reason.to_owned());
        self.db
            .write(move |conn| Box::pin(in_tx::cancel(conn, caller, id, reason, now)))
            .await
    }

    /// Changes title, description, location or capacity. Never the time.
    #[tracing::instrument(name = "edit", skip_all, fields(guild = %caller.guild_id, user = %caller.user_id, masterclass = %id))]
    pub async fn edit(
        &self,
        caller: &Caller,
        id: MasterclassId,
        edit: MasterclassEdit,
        now: DateTime<Utc>,
    ) -> Result<EditOutcome> {
        if edit.start.is_some() || edit.duration_minutes.is_some() {
            return Err(UserError::TimeIsImmutable.into());
        }
        if edit.title.is_none()
            && edit.description.is_none()
            && edit.location.is_none()
            && edit.capacity.is_none()
        {
            return Err(UserError::NothingToChange.into());
        }
        let (caller, window) = (caller.clone(), self.host_digest);
        self.db
            .write(move |conn| Box::pin(in_tx::edit(conn, caller, id, edit, window, now)))
            .await
    }

    /// A masterclass of the caller's server.
    pub async fn masterclass(&self, caller: &Caller, id: MasterclassId) -> Result<Masterclass> {
        let mut conn = self.db.reader().acquire().await?;
        find(&mut conn, caller, id).await
    }

    /// Same, by guild only (button handlers know the guild from the interaction).
    pub async fn masterclass_in(&self, guild: GuildId, id: MasterclassId) -> Result<Masterclass> {
        let mut conn = self.db.reader().acquire().await?;
        masterclasses::get(&mut conn, guild, id)
            .await?
            .ok_or(Error::User(UserError::NotFound))
    }

    pub async fn counts(&self, id: MasterclassId) -> Result<Counts> {
        let mut conn = self.db.reader().acquire().await?;
        Ok(participants::counts(&mut conn, id).await?)
    }

    /// Upcoming masterclasses of a server, optionally of one host, soonest first (at most 25),
    /// with their counts.
    pub async fn upcoming(
        &self,
        guild: GuildId,
        host: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<Vec<(Masterclass, Counts)>> {
        let mut conn = self.db.reader().acquire().await?;
        Ok(masterclasses::upcoming(&mut conn, guild, host, now, 25).await?)
    }

    /// A member's own sessions in a server, hosting and attending (at most 100).
    pub async fn sessions(
        &self,
        guild: GuildId,
        user: UserId,
        filter: SessionFilter,
        now: DateTime<Utc>,
    ) -> Result<Vec<Session>> {
        let mut conn = self.db.reader().acquire().await?;
        let period = match filter {
            SessionFilter::Upcoming => Period::Upcoming,
            SessionFilter::Past => Period::Past,
            SessionFilter::Cancelled => Period::Cancelled,
        };
        let found = masterclasses::of_member(&mut conn, guild, user, period, now, 100).await?;
        let mut sessions: Vec<Session> = found
            .into_iter()
            .map(|(masterclass, role)| Session {
                masterclass,
                role: match role {
                    Role::Hosting => SessionRole::Hosting,
                    Role::Attending => SessionRole::Attending,
                    Role::Waitlisted => SessionRole::Waitlisted,
                },
            })
            .collect();
        if filter != SessionFilter::Upcoming {
            sessions.reverse(); // Most recent first when looking back.
        }
        Ok(sessions)
    }

    /// Attendees, then the waitlist in order.
    pub async fn participants(&self, caller: &Caller, id: MasterclassId) -> Result<Participants> {
        let mut conn = self.db.reader().acquire().await?;
        let mc = find(&mut conn, caller, id).await?;
        let everyone = participants::list(&mut conn, mc.id).await?;
        Ok(split(mc, everyone))
    }

    /// Title search for autocomplete: at most 25 upcoming masterclasses, soonest first.
    pub async fn search(
        &self,
        guild: GuildId,
        fragment: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Masterclass>> {
        let mut conn = self.db.reader().acquire().await?;
        Ok(masterclasses::search(&mut conn, guild, fragment, now, 25).await?)
    }

    /// Stores the ids of the Discord objects that mirror a masterclass (set-up in tests; the
    /// sync worker stores its own).
    pub async fn set_discord_ids(
        &self,
        id: MasterclassId,
        ids: crate::domain::DiscordIds,
    ) -> Result<()> {
        self.db
            .write(move |conn| {
                Box::pin(async move {
                    masterclasses::set_discord_ids(conn, id, ids).await?;
                    Ok(())
                })
            })
            .await
    }
}

/// The use cases' transactions: each runs on the writer's connection, inside group commit.
pub(super) mod in_tx {
    use super::*;

    pub async fn host(
        conn: &mut SqliteConnection,
        caller: Caller,
        new: NewMasterclass,
        now: DateTime<Utc>,
    ) -> Result<Hosted> {
        let mut notices = Notices::default();
        let server = settings::guild(conn, caller.guild_id).await?;
        ensure_can_host(&server, &caller)?;
        StartTime::new(new.start.get(), now)?; // The preview may have sat there past the start.
        let offsets = &server.reminder_offsets;
        let channel = server
            .announcement_channel_id
            .ok_or(UserError::NoAnnouncementChannel)?;
        let (guild, host) = (caller.guild_id, caller.user_id);
        let mc = masterclasses::insert(conn, guild, host, &new, offsets, channel, now).await?;
        let detail =
            json!({ "title": mc.title, "starts_at": mc.starts_at, "guests": new.guests.ids() });
        let hosted =
            activity::record(conn, Some(guild), Some(mc.id), host, "hosted", detail, now).await?;
        notices.schedule_host_reminders(&mc, hosted, offsets, now);
        let (mut attending, mut waitlisted) = (Vec::new(), Vec::new());
        for &guest in new.guests.ids() {
            let status = if attending.len() < mc.capacity as usize {
                ParticipantStatus::Attending
            } else {
                ParticipantStatus::Waitlisted
            };
            // Each guest's sign-up is an event of its own (recorded with it): it orders the seats.
            let seat = participants::insert(conn, mc.id, guest, status, true, now).await?;
            let event = seat.arrival;
            let payload = match status {
                ParticipantStatus::Attending => {
                    attending.push(guest);
                    notices.schedule_reminders(&mc, guest, seat.arrival, offsets, now);
                    json!({ "status": "attending" })
                }
                ParticipantStatus::Waitlisted => {
                    waitlisted.push(guest);
                    json!({ "status": "waitlisted", "position": waitlisted.len() })
                }
            };
            notices.tell_member(event, &mc, guest, NoticeKind::GuestAdded, payload, now);
        }
        notices.schedule_thread_messages(&mc, offsets, now);
        notices.write(conn, now).await?;
        Ok(Hosted {
            masterclass: mc,
            attending,
            waitlisted,
        })
    }

    /// One read decides (the masterclass, its counts and the member's own sign-up), then two
    /// writes: the sign-up (with its activity entry) and the notifications. The host hears of
    /// it at once, or in the digest of `window` (see [`notices::tell_host`]).
    pub async fn join(
        conn: &mut SqliteConnection,
        caller: Caller,
        id: MasterclassId,
        window: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<JoinOutcome> {
        let since = changes_window_start(now);
        let found = masterclasses::with_sign_up(conn, caller.guild_id, id, caller.user_id, since);
        let view = found.await?.ok_or(UserError::NotFound)?;
        let (mc, before, mine) = (view.masterclass, view.counts, view.mine);
        if mc.host_id == caller.user_id {
            return Err(UserError::OwnMasterclass.into());
        }
        mc.ensure_open(now)?;
        if let Some(existing) = mine {
            return Err(match existing.status {
                ParticipantStatus::Attending => UserError::AlreadyAttending,
                ParticipantStatus::Waitlisted => UserError::AlreadyWaitlisted {
                    position: participants::waitlist_position(conn, mc.id, existing.arrival)
                        .await?,
                },
            }
            .into());
        }
        ensure_not_flapping(view.recent_changes)?;
        let status = if before.attending < mc.capacity {
            ParticipantStatus::Attending
        } else {
            ParticipantStatus::Waitlisted
        };
        let (counts, position) = match status {
            ParticipantStatus::Attending => (
                Counts {
                    attending: before.attending + 1,
                    ..before
                },
                None,
            ),
            ParticipantStatus::Waitlisted => (
                Counts {
                    waitlisted: before.waitlisted + 1,
                    ..before
                },
                Some(before.waitlisted + 1),
            ),
        };
        let status_name = if position.is_some() {
            "waitlisted"
        } else {
            "attending"
        };
        let member = caller.user_id;
        // The sign-up is recorded in the activity log with it; its number is the event's.
        let seat = participants::insert(conn, mc.id, member, status, false, now).await?;
        let event = seat.arrival;
        let mut notices = Notices::default();
        let change = SeatChange::new(member, Seat::Out, status.into());
        let news = HostNews::Join { event };
        notices::tell_host(
            conn,
            &mut notices,
            &mc,
            news,
            &[change],
            counts,
            window,
            now,
        )
        .await?;
        let to_joiner = json!({ "status": status_name, "position": position });
        let confirmed = NoticeKind::JoinConfirmed;
        // Discord just answered the join on screen: no DM repeating it, only the email with
        // the calendar file.
        notices.email_member(event, &mc, member, confirmed, to_joiner, now);
        if status == ParticipantStatus::Attending {
            let offsets = &mc.reminder_offsets;
            notices.schedule_reminders(&mc, member, seat.arrival, offsets, now);
        }
        notices.write(conn, now).await?;
        Ok(JoinOutcome {
            masterclass: mc,
            status,
            position,
            counts,
        })
    }

    /// A member's own leave (the button, the command): refused when they flip too fast; the
    /// host hears of it as `window` says.
    /// A member's own leave: refused if they change their mind too often.
    pub async fn leave(
        conn: &mut SqliteConnection,
        caller: Caller,
        id: MasterclassId,
        window: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<LeaveOutcome> {
        leave_with(conn, caller, id, window, Pace::Checked, now).await
    }

    /// A leave on the member's behalf (forgetting them): never refused for its pace; the host
    /// hears of it as of any leave.
    pub async fn leave_unpaced(
        conn: &mut SqliteConnection,
        caller: Caller,
        id: MasterclassId,
        window: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<LeaveOutcome> {
        leave_with(conn, caller, id, window, Pace::Unchecked, now).await
    }

    #[derive(PartialEq)]
    enum Pace {
        Checked,
        Unchecked,
    }

    async fn leave_with(
        conn: &mut SqliteConnection,
        caller: Caller,
        id: MasterclassId,
        window: chrono::Duration,
        pace: Pace,
        now: DateTime<Utc>,
    ) -> Result<LeaveOutcome> {
        let since = changes_window_start(now);
        let found = masterclasses::with_sign_up(conn, caller.guild_id, id, caller.user_id, since);
        let view = found.await?.ok_or(UserError::NotFound)?;
        let (mc, seat) = (
            view.masterclass,
            view.mine.ok_or(UserError::NotParticipant)?,
        );
        mc.ensure_open(now)?;
        if pace == Pace::Checked {
            ensure_not_flapping(view.recent_changes)?;
        }
        let left = Departure::Left;
        drop_participant(conn, mc, seat, caller.user_id, left, window, now).await
    }

    pub async fn remove(
        conn: &mut SqliteConnection,
        caller: Caller,
        id: MasterclassId,
        member: UserId,
        window: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<LeaveOutcome> {
        let since = changes_window_start(now);
        let found = masterclasses::with_sign_up(conn, caller.guild_id, id, member, since);
        let view = found.await?.ok_or(UserError::NotFound)?;
        let (mc, theirs) = (view.masterclass, view.mine);
        ensure_host_or_admin(&mc, &caller)?;
        let seat = theirs.ok_or(UserError::MemberNotParticipant)?;
        mc.ensure_open(now)?;
        let removed = Departure::Removed;
        drop_participant(conn, mc, seat, caller.user_id, removed, window, now).await
    }

    pub async fn cancel(
        conn: &mut SqliteConnection,
        caller: Caller,
        id: MasterclassId,
        reason: String,
        now: DateTime<Utc>,
    ) -> Result<Participants> {
        let mc = find(conn, &caller, id).await?;
        ensure_host_or_admin(&mc, &caller)?;
        mc.ensure_open(now)?;
        let reason = CancelReason::parse(&reason)?;
        masterclasses::cancel(conn, mc.id, reason.as_str(), now).await?;
        notices::void_future(conn, &mc, now).await?;
        let mc = find(conn, &caller, id).await?;
        let detail = json!({ "reason": reason.as_str() });
        let (guild, actor) = (mc.guild_id, caller.user_id);
        let event = activity::record(
            conn,
            Some(guild),
            Some(mc.id),
            actor,
            "cancelled",
            detail,
            now,
        )
        .await?;
        let everyone = participants::list(conn, mc.id).await?;
        let payload = json!({ "reason": reason.as_str() });
        let mut notices = Notices::default();
        for member in &everyone {
            let kind = NoticeKind::Cancelled;
            let payload = seat_payload(payload.clone(), member.status);
            notices.tell_member(event, &mc, member.user_id, kind, payload, now);
        }
        let key = format!("cancelled:{}:thread", mc.id);
        notices.tell_thread(&mc, NoticeKind::Cancelled, payload, now, key);
        notices.write(conn, now).await?;
        Ok(split(mc, everyone))
    }

    pub async fn edit(
        conn: &mut SqliteConnection,
        caller: Caller,
        id: MasterclassId,
        edit: MasterclassEdit,
        window: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<EditOutcome> {
        let mut mc = find(conn, &caller, id).await?;
        ensure_host_or_admin(&mc, &caller)?;
        mc.ensure_open(now)?;
        let before = mc.clone();
        if let Some(title) = &edit.title {
            mc.title = Title::parse(title)?.into_inner();
        }
        if let Some(description) = &edit.description {
            mc.description = Description::parse(description)?.into_inner();
        }
        if let Some(location) = edit.location {
            mc.location = Some(location);
        }
        let counts = participants::counts(conn, mc.id).await?;
        if let Some(capacity) = edit.capacity {
            let capacity = Capacity::new(capacity)?.get();
            if capacity < counts.attending {
                let attending = counts.attending;
                return Err(UserError::CapacityBelowAttendees { attending }.into());
            }
            mc.capacity = capacity;
        }
        masterclasses::update_details(conn, &mc).await?;
        let changed: Vec<&str> = [
            ("title", before.title != mc.title),
            ("description", before.description != mc.description),
            ("location", before.location != mc.location),
            ("capacity", before.capacity != mc.capacity),
        ]
        .into_iter()
        .filter_map(|(field, changed)| changed.then_some(field))
        .collect();
        let detail = json!({ "changed": changed });
        let (guild, actor) = (mc.guild_id, caller.user_id);
        let event =
            activity::record(conn, Some(guild), Some(mc.id), actor, "edited", detail, now).await?;
        let mut notices = Notices::default();
        if changed.iter().any(|f| matches!(*f, "title" | "location")) {
            for member in participants::list(conn, mc.id).await? {
                if member.status == ParticipantStatus::Attending {
                    let payload = json!({ "changed": changed });
                    let kind = NoticeKind::DetailsChanged;
                    notices.tell_member(event, &mc, member.user_id, kind, payload, now);
                }
            }
        }
        let free = mc.capacity.saturating_sub(counts.attending);
        let promoted = promote(conn, &mut notices, &mc, free, event, now).await?;
        let counts = participants::counts(conn, mc.id).await?;
        let mc = find(conn, &caller, id).await?;
        // The host (or an admin) made these seats: a digest still open only stays true.
        let moved_up: Vec<SeatChange> = (promoted.iter())
            .map(|&m| SeatChange::new(m, Seat::Waitlisted, Seat::Attending))
            .collect();
        let news = HostNews::Aside;
        notices::tell_host(
            conn,
            &mut notices,
            &mc,
            news,
            &moved_up,
            counts,
            window,
            now,
        )
        .await?;
        notices.write(conn, now).await?;
        Ok(EditOutcome {
            masterclass: mc,
            promoted,
            counts,
        })
    }
}

fn split(masterclass: Masterclass, everyone: Vec<Participant>) -> Participants {
    let (attending, waitlist): (Vec<_>, Vec<_>) = everyone
        .into_iter()
        .partition(|p| p.status == ParticipantStatus::Attending);
    Participants {
        masterclass,
        attending: attending.into_iter().map(|p| p.user_id).collect(),
        waitlist: waitlist.into_iter().map(|p| p.user_id).collect(),
    }
}

/// A waitlisted member was never sent a calendar invitation: the payload says so, and their
/// email about losing the place carries no calendar cancellation.
fn seat_payload(mut payload: serde_json::Value, status: ParticipantStatus) -> serde_json::Value {
    if status == ParticipantStatus::Waitlisted {
        payload["waitlisted"] = true.into();
    }
    payload
}

/// How a member stopped being signed up.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Departure {
    Left,
    /// By the host or an admin: the member is told.
    Removed,
}

/// Removes a sign-up, voids its reminders, hands a freed seat to the first in line, and tells
/// the host as `window` says; everyone it tells is written in the same transaction.
async fn drop_participant(
    conn: &mut SqliteConnection,
    mc: Masterclass,
    seat: Participant,
    actor: UserId,
    departure: Departure,
    window: chrono::Duration,
    now: DateTime<Utc>,
) -> Result<LeaveOutcome> {
    let mut notices = Notices::default();
    participants::delete(conn, mc.id, seat.user_id).await?;
    crate::store::outbox::void_for_member(conn, mc.id, seat.user_id, FUTURE_KINDS, now).await?;
    let event = activity::record(
        conn,
        Some(mc.guild_id),
        Some(mc.id),
        actor,
        match departure {
            Departure::Left => "left",
            Departure::Removed => "removed",
        },
        json!({ "member": seat.user_id }),
        now,
    )
    .await?;
    if departure == Departure::Removed {
        notices.tell_member(
            event,
            &mc,
            seat.user_id,
            NoticeKind::Removed,
            seat_payload(json!({}), seat.status),
            now,
        );
    }
    let promoted = if seat.status == ParticipantStatus::Attending {
        promote(conn, &mut notices, &mc, 1, event, now)
            .await?
            .first()
            .copied()
    } else {
        None
    };
    let counts = participants::counts(conn, mc.id).await?;
    let mut changes = vec![SeatChange::new(seat.user_id, seat.status.into(), Seat::Out)];
    changes.extend(promoted.map(|m| SeatChange::new(m, Seat::Waitlisted, Seat::Attending)));
    let news = match departure {
        Departure::Left => HostNews::Leave { event },
        Departure::Removed => HostNews::Aside,
    };
    notices::tell_host(conn, &mut notices, &mc, news, &changes, counts, window, now).await?;
    notices.write(conn, now).await?;
    Ok(LeaveOutcome {
        masterclass: mc,
        left: seat.user_id,
        promoted,
        counts,
    })
}

/// Where the window of [`crate::domain::MAX_SIGN_UP_CHANGES`] starts: a member's joins and
/// leaves since then are counted in the activity log, in the transaction that would write the
/// next one (durable and exact), and one more is refused before anything is written.
fn changes_window_start(now: DateTime<Utc>) -> DateTime<Utc> {
    now - chrono::Duration::seconds(SIGN_UP_CHANGES_WINDOW_SECONDS)
}

/// Moves up to `seats` waitlisted members to attending, tells them, and schedules their reminders.
async fn promote(
    conn: &mut SqliteConnection,
    notices: &mut Notices,
    mc: &Masterclass,
    seats: u32,
    event: i64,
    now: DateTime<Utc>,
) -> Result<Vec<UserId>> {
    if seats == 0 {
        return Ok(Vec::new());
    }
    let promoted = participants::promote(conn, mc.id, seats).await?;
    if promoted.is_empty() {
        return Ok(Vec::new());
    }
    for member in &promoted {
        notices.tell_member(
            event,
            mc,
            member.user_id,
            NoticeKind::Promoted,
            json!({}),
            now,
        );
        notices.schedule_reminders(
            mc,
            member.user_id,
            member.arrival,
            &mc.reminder_offsets,
            now,
        );
    }
    Ok(promoted.into_iter().map(|p| p.user_id).collect())
}
