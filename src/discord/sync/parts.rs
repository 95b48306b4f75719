//! One masterclass reconciled, part by part: announcement, thread, scheduled event.

use super::{SyncError, SyncWorker};
use crate::discord::delivery::RestError;
use crate::discord::render::{self, Action};
use crate::domain::{
    truncate, ChannelId, GuildSettings, Location, Masterclass, MasterclassId, MasterclassStatus,
    UserId,
};
use crate::service::Counts;
use crate::store::participants::{self, Status};
use crate::store::sync::{self, SyncState, ThreadState};
use crate::store::{masterclasses, outbox, settings};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use serenity::all as discord;
use serenity::builder::{CreateAllowedMentions, CreateMessage, EditMessage};
use serenity::http::{LightMethod, Request, Route};
use sha2::Digest as _;
use std::collections::BTreeSet;

/// How the thread's opening message starts (and is recognised after a crash).
const INTRO_MARK: &str = "👋 Welcome to the thread of";

/// What, when, where, who hosts, how to leave. Nobody is pinged by it.
fn intro_text(mc: &Masterclass) -> String {
    let text = format!(
        "{INTRO_MARK} **{}**.\n\
         When: {}\n\
         Where: {}\n\
         Host: {}\n\
         Ask questions and share notes here. Attendees are added when they join; \
         press **Leave** on the announcement to give up your seat (you leave the thread too).",
        crate::notify::texts::escape(&mc.title),
        render::when(mc.starts_at),
        render::location_text(mc.location.as_ref()),
        render::person(mc.host_id),
    );
    truncate(&text, 2000)
}

/// Discord's "thread is archived" refusal.
const THREAD_ARCHIVED: i64 = 50083;
/// How often a cancelled masterclass looks whether its thread posts are all settled.
const POSTS_CHECK: chrono::Duration = chrono::Duration::seconds(2);

const SCHEDULED: u8 = 1;
const ACTIVE: u8 = 2;
const COMPLETED: u8 = 3;
const CANCELED: u8 = 4;

/// What the database says, read in one go.
struct Desired {
    mc: Masterclass,
    server: GuildSettings,
    counts: Counts,
    attending: Vec<UserId>,
}

fn fingerprint(value: &Value) -> String {
    let digest = sha2::Sha256::digest(value.to_string().as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

fn id_of(value: &Value) -> Option<u64> {
    value.as_str().and_then(|id| id.parse().ok())
}

fn earliest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn body(value: &impl serde::Serialize) -> Option<Vec<u8>> {
    Some(serde_json::to_vec(value).expect("a JSON body"))
}

impl SyncWorker {
    /// Makes Discord show masterclass `id` as stored. Returns when to look again for a change
    /// driven by time alone (the start, the end, archiving), if any.
    #[tracing::instrument(name = "sync", skip_all, fields(masterclass = %id))]
    pub(super) async fn reconcile(
        &self,
        id: MasterclassId,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, SyncError> {
        let Some((desired, mut state)) = self.load(id).await? else {
            return Ok(None);
        };
        // Parts are independent enough to try each; the first failure decides the retry.
        let mut first_error = None;
        if let Err(error) = self.announcement(&desired, &mut state, now).await {
            first_error.get_or_insert(error);
        }
        let mut next = None;
        match self.thread(&desired, &mut state, now).await {
            Ok(at) => next = earliest(next, at),
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
        match self.event(&desired, &mut state, now).await {
            Ok(at) => next = earliest(next, at),
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
        self.save(&state).await?;
        match first_error {
            Some(error) => Err(error),
            None => Ok(next),
        }
    }

    async fn load(&self, id: MasterclassId) -> anyhow::Result<Option<(Desired, SyncState)>> {
        let mut conn = self.db.reader().acquire().await?;
        let Some(mc) = masterclasses::get_any(&mut conn, id).await? else {
            return Ok(None);
        };
        let Some(state) = sync::get(&mut conn, id).await? else {
            return Ok(None);
        };
        let server = settings::guild(&mut conn, mc.guild_id).await?;
        let everyone = participants::list(&mut conn, id).await?;
        let attending: Vec<UserId> = everyone
            .iter()
            .filter(|p| p.status == Status::Attending)
            .map(|p| p.user_id)
            .collect();
        let counts = Counts {
            attending: attending.len() as u32,
            waitlisted: (everyone.len() - attending.len()) as u32,
        };
        let desired = Desired {
            mc,
            server,
            counts,
            attending,
        };
        Ok(Some((desired, state)))
    }

    async fn save(&self, state: &SyncState) -> anyhow::Result<()> {
        let state = state.clone();
        self.db
            .write(move |conn| Box::pin(async move { sync::save(conn, &state).await }))
            .await?;
        Ok(())
    }

    async fn bot_user(&self) -> Result<u64, SyncError> {
        let id = self
            .bot_user
            .get_or_try_init(|| async {
                let me = self
                    .discord
                    .send_json(Request::new(Route::UserMe, LightMethod::Get))
                    .await?;
                id_of(&me["id"]).ok_or_else(|| RestError::Transient("no id in /users/@me".into()))
            })
            .await?;
        Ok(*id)
    }

    // ---- the announcement ----

    async fn announcement(
        &self,
        desired: &Desired,
        state: &mut SyncState,
        now: DateTime<Utc>,
    ) -> Result<(), SyncError> {
        let mc = &desired.mc;
        let cancelled = mc.status == MasterclassStatus::Cancelled;
        if state.announcement_message_id.is_none() && cancelled {
            return Ok(()); // Never announced: nothing to take back.
        }
        let channel = state
            .announcement_channel_id
            .ok_or_else(|| SyncError::Retry("no announcement channel is set".into()))?;
        let route_channel = discord::ChannelId::new(channel.0);
        let embed = render::announcement_embed(mc, desired.counts);
        let buttons = render::announcement_buttons(mc.id, cancelled);
        let create = CreateMessage::new()
            .embed(embed.clone())
            .components(buttons.clone())
            .allowed_mentions(CreateAllowedMentions::new());
        let shown = fingerprint(&serde_json::to_value(&create).expect("a message"));

        if state.announcement_message_id.is_none() && state.announcement_intent_at.is_some() {
            state.announcement_message_id = self.find_announcement(channel, mc.id).await?;
            state.announcement_shown = None; // found, but maybe with old counts
        }
        if state.announcement_message_id.is_none() {
            state.announcement_intent_at = Some(now);
            self.save(state).await?;
            let route = Route::ChannelMessages {
                channel_id: route_channel,
            };
            let message = self
                .discord
                .send_json(Request::new(route, LightMethod::Post).body(body(&create)))
                .await?;
            state.announcement_message_id = id_of(&message["id"]);
            state.announcement_shown = Some(shown);
            self.save(state).await?;
            return Ok(());
        }
        if state.announcement_shown.as_deref() == Some(shown.as_str()) {
            return Ok(());
        }
        let message = state.announcement_message_id.expect("set above");
        let edit = EditMessage::new()
            .embed(embed)
            .components(buttons)
            .allowed_mentions(CreateAllowedMentions::new());
        let route = Route::ChannelMessage {
            channel_id: route_channel,
            message_id: discord::MessageId::new(message),
        };
        self.discord
            .send(Request::new(route, LightMethod::Patch).body(body(&edit)))
            .await?;
        state.announcement_shown = Some(shown);
        Ok(())
    }

    /// After a crash between posting and storing the id: the bot's recent message whose Join
    /// button is this masterclass's.
    async fn find_announcement(
        &self,
        channel: ChannelId,
        id: MasterclassId,
    ) -> Result<Option<u64>, SyncError> {
        let bot = self.bot_user().await?;
        let route = Route::ChannelMessages {
            channel_id: discord::ChannelId::new(channel.0),
        };
        let request =
            Request::new(route, LightMethod::Get).params(Some(vec![("limit", "100".into())]));
        let messages = self.discord.send_json(request).await?;
        let join = Action::Join(id).custom_id();
        let found = messages.as_array().into_iter().flatten().find(|m| {
            id_of(&m["author"]["id"]) == Some(bot)
                && m["components"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|row| row["components"].as_array().into_iter().flatten())
                    .any(|button| button["custom_id"] == join.as_str())
        });
        Ok(found.and_then(|m| id_of(&m["id"])))
    }

    // ---- the thread ----

    async fn thread(
        &self,
        desired: &Desired,
        state: &mut SyncState,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, SyncError> {
        let mc = &desired.mc;
        let cancelled = mc.status == MasterclassStatus::Cancelled;
        let name = truncate(&mc.title, 100);
        if state.thread_id.is_none() {
            if cancelled {
                return Ok(None); // Nothing to discuss any more.
            }
            self.create_thread(desired, state, &name, now).await?;
        }
        let thread = state.thread_id.expect("created above");
        if state.archived_by_discord > state.archived_handled {
            // Discord archived it for inactivity (THREAD_UPDATE): the steps below reopen it if
            // the masterclass is still ahead.
            if state.thread_state == ThreadState::Open {
                state.thread_state = ThreadState::Archived;
            }
            state.archived_handled = state.archived_by_discord;
        }
        let ends = mc.ends_at();
        let archive_at = ends + self.settings.archive_after;

        if cancelled {
            if state.thread_state == ThreadState::Closed {
                return Ok(None);
            }
            let mut conn = self.db.reader().acquire().await?;
            if outbox::pending_thread_posts(&mut conn, mc.id).await? > 0 {
                // The reason and the mentions of members we could not DM come first.
                return Ok(Some(now + POSTS_CHECK));
            }
            drop(conn);
            self.patch_thread(thread, json!({ "archived": true, "locked": true }))
                .await?;
            state.thread_state = ThreadState::Closed;
            return Ok(None);
        }
        if now >= archive_at {
            if state.thread_state == ThreadState::Open {
                self.patch_thread(thread, json!({ "archived": true }))
                    .await?;
                state.thread_state = ThreadState::Archived;
            }
            return Ok(None);
        }
        if state.thread_name.as_deref() != Some(name.as_str()) {
            // An archived thread must be reopened to change; one request does both.
            self.patch_thread(thread, json!({ "name": name, "archived": false }))
                .await?;
            state.thread_name = Some(name);
            state.thread_state = ThreadState::Open;
        }
        if now < ends {
            if state.thread_state != ThreadState::Open {
                self.patch_thread(thread, json!({ "archived": false }))
                    .await?;
                state.thread_state = ThreadState::Open;
            }
            // The opening message first, so members find it when they are added.
            self.intro(desired, state, thread, now).await?;
            self.thread_members(desired, state, thread).await?;
            return Ok(Some(archive_at));
        }
        // Over, not yet archived by us: leave it as members left it.
        Ok(Some(archive_at))
    }

    async fn create_thread(
        &self,
        desired: &Desired,
        state: &mut SyncState,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<(), SyncError> {
        let channel = state
            .announcement_channel_id
            .ok_or_else(|| SyncError::Retry("no announcement channel is set".into()))?;
        let public = desired.server.public_threads;
        if public && state.announcement_message_id.is_none() {
            return Err(SyncError::Retry(
                "the thread starts from the announcement, which is not posted yet".into(),
            ));
        }
        if state.thread_intent_at.is_some() {
            if let Some(found) = self.find_thread(desired, state, channel, name).await? {
                state.thread_id = Some(ChannelId(found));
                state.thread_name = Some(name.to_owned());
                state.thread_state = ThreadState::Open;
                self.save(state).await?;
                self.thread_created(desired.mc.id);
                return Ok(());
            }
        }
        state.thread_intent_at = Some(now);
        self.save(state).await?;
        let channel_id = discord::ChannelId::new(channel.0);
        // A week of quiet archives a thread; the worker reopens it while the masterclass is ahead.
        let thread = match (public, state.announcement_message_id) {
            (true, Some(message)) => {
                let route = Route::ChannelMessageThreads {
                    channel_id,
                    message_id: discord::MessageId::new(message),
                };
                let create = json!({ "name": name, "auto_archive_duration": 10080 });
                self.discord
                    .send_json(Request::new(route, LightMethod::Post).body(body(&create)))
                    .await?
            }
            _ => {
                let route = Route::ChannelThreads { channel_id };
                let create = json!({
                    "name": name, "type": 12, "invitable": false, "auto_archive_duration": 10080,
                });
                self.discord
                    .send_json(Request::new(route, LightMethod::Post).body(body(&create)))
                    .await?
            }
        };
        state.thread_id = id_of(&thread["id"]).map(ChannelId);
        state.thread_name = Some(name.to_owned());
        state.thread_state = ThreadState::Open;
        self.save(state).await?;
        self.thread_created(desired.mc.id);
        Ok(())
    }

    /// After a crash between creating the thread and storing its id. A thread started from the
    /// announcement has the announcement's id; a private one is the bot's active thread of that
    /// name in the channel that no other masterclass owns.
    async fn find_thread(
        &self,
        desired: &Desired,
        state: &SyncState,
        channel: ChannelId,
        name: &str,
    ) -> Result<Option<u64>, SyncError> {
        if desired.server.public_threads {
            let Some(message) = state.announcement_message_id else {
                return Ok(None);
            };
            let route = Route::Channel {
                channel_id: discord::ChannelId::new(message),
            };
            return match self
                .discord
                .send_json(Request::new(route, LightMethod::Get))
                .await
            {
                Ok(thread) => Ok(id_of(&thread["id"])),
                Err(RestError::Refused { status: 404, .. }) => Ok(None),
                Err(error) => Err(error.into()),
            };
        }
        let bot = self.bot_user().await?;
        let route = Route::GuildThreadsActive {
            guild_id: discord::GuildId::new(desired.mc.guild_id.0),
        };
        let active = self
            .discord
            .send_json(Request::new(route, LightMethod::Get))
            .await?;
        let candidates: Vec<u64> = active["threads"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| {
                id_of(&t["parent_id"]) == Some(channel.0)
                    && id_of(&t["owner_id"]) == Some(bot)
                    && t["name"] == name
            })
            .filter_map(|t| id_of(&t["id"]))
            .collect();
        let mut conn = self.db.reader().acquire().await?;
        for candidate in candidates {
            if !sync::owned_by_another(&mut conn, desired.mc.id, Some(candidate), None).await? {
                return Ok(Some(candidate));
            }
        }
        Ok(None)
    }

    /// The thread's opening message: what, when, where, who hosts, how to leave. Posted once:
    /// after a crash between posting and recording it, the thread is searched for it first.
    async fn intro(
        &self,
        desired: &Desired,
        state: &mut SyncState,
        thread: ChannelId,
        now: DateTime<Utc>,
    ) -> Result<(), SyncError> {
        if state.intro_posted {
            return Ok(());
        }
        let channel_id = discord::ChannelId::new(thread.0);
        if state.intro_intent_at.is_some() {
            let bot = self.bot_user().await?;
            let route = Route::ChannelMessages { channel_id };
            let request =
                Request::new(route, LightMethod::Get).params(Some(vec![("limit", "100".into())]));
            let messages = self.discord.send_json(request).await?;
            let found = messages.as_array().into_iter().flatten().any(|m| {
                id_of(&m["author"]["id"]) == Some(bot)
                    && m["content"]
                        .as_str()
                        .is_some_and(|c| c.starts_with(INTRO_MARK))
            });
            if found {
                state.intro_posted = true;
                return Ok(());
            }
        }
        state.intro_intent_at = Some(now);
        self.save(state).await?;
        let message = CreateMessage::new()
            .content(intro_text(&desired.mc))
            .allowed_mentions(CreateAllowedMentions::new());
        let route = Route::ChannelMessages { channel_id };
        self.discord
            .send(Request::new(route, LightMethod::Post).body(body(&message)))
            .await?;
        state.intro_posted = true;
        Ok(())
    }

    async fn patch_thread(&self, thread: ChannelId, change: Value) -> Result<(), RestError> {
        let route = Route::Channel {
            channel_id: discord::ChannelId::new(thread.0),
        };
        self.discord
            .send(Request::new(route, LightMethod::Patch).body(body(&change)))
            .await
            .map(drop)
    }

    /// Thread members = host + attendees. Discord refuses member changes in an archived thread
    /// (50083): reopen it and try again.
    async fn thread_members(
        &self,
        desired: &Desired,
        state: &mut SyncState,
        thread: ChannelId,
    ) -> Result<(), SyncError> {
        let id = desired.mc.id;
        let want: BTreeSet<UserId> = std::iter::once(desired.mc.host_id)
            .chain(desired.attending.iter().copied())
            .filter(|member| !member.is_forgotten())
            .collect();
        let have: BTreeSet<UserId> = {
            let mut conn = self.db.reader().acquire().await?;
            sync::thread_members(&mut conn, id)
                .await?
                .into_iter()
                .collect()
        };
        let changes: Vec<(UserId, bool)> = want
            .difference(&have)
            .map(|&user| (user, true))
            .chain(have.difference(&want).map(|&user| (user, false)))
            .collect();
        let mut done = Vec::with_capacity(changes.len());
        let mut failure = None;
        for (user, add) in changes {
            let result = match self.change_member(thread, user, add).await {
                Err(error) if error.code() == Some(THREAD_ARCHIVED) => {
                    match self
                        .patch_thread(thread, json!({ "archived": false }))
                        .await
                    {
                        Ok(()) => {
                            state.thread_state = ThreadState::Open;
                            self.change_member(thread, user, add).await
                        }
                        Err(error) => Err(error),
                    }
                }
                other => other,
            };
            match result {
                Ok(()) => done.push((user, add)),
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            }
        }
        if !done.is_empty() {
            self.db
                .write(move |conn| {
                    Box::pin(async move { sync::set_thread_members(conn, id, &done).await })
                })
                .await?;
        }
        match failure {
            Some(error) => Err(error.into()),
            None => Ok(()),
        }
    }

    async fn change_member(
        &self,
        thread: ChannelId,
        user: UserId,
        add: bool,
    ) -> Result<(), RestError> {
        let route = Route::ChannelThreadMember {
            channel_id: discord::ChannelId::new(thread.0),
            user_id: discord::UserId::new(user.0),
        };
        let method = if add {
            LightMethod::Put
        } else {
            LightMethod::Delete
        };
        self.discord
            .send(Request::new(route, method))
            .await
            .map(drop)
    }

    // ---- the scheduled event ----

    async fn event(
        &self,
        desired: &Desired,
        state: &mut SyncState,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, SyncError> {
        let mc = &desired.mc;
        let cancelled = mc.status == MasterclassStatus::Cancelled;
        if state.event_id.is_none() {
            if cancelled || now >= mc.starts_at {
                return Ok(None); // Too late to put it in the server's calendar.
            }
            self.create_event(desired, state, now).await?;
            return Ok(self.event_next(mc, state, now));
        }
        let event = state.event_id.expect("checked above");
        let status = state.event_status.unwrap_or(SCHEDULED);
        if status == COMPLETED || status == CANCELED {
            return Ok(None); // Discord allows no change any more.
        }
        if cancelled {
            if status == SCHEDULED {
                self.set_event_status(mc, state, event, CANCELED).await?;
            }
            return Ok(None);
        }
        if now < mc.starts_at {
            let fields = self.event_fields(mc, state.thread_id).await?;
            let shown = fingerprint(&fields);
            if state.event_shown.as_deref() != Some(shown.as_str()) {
                let answer = self.patch_event(mc, event, &fields).await?;
                state.event_shown = Some(shown);
                state.event_status = answer["status"].as_u64().map(|s| s as u8);
            }
            return Ok(self.event_next(mc, state, now));
        }
        // Voice and stage events are started and ended by the bot; external ones by Discord,
        // which we never fight.
        if !matches!(mc.location, Some(Location::Channel(_))) {
            return Ok(None);
        }
        if now < mc.ends_at() {
            if status == SCHEDULED {
                self.set_event_status(mc, state, event, ACTIVE).await?;
            }
        } else if status == ACTIVE {
            // Discord may have ended it already (everyone left the channel): look first.
            let current = self.get_event(mc, event).await?;
            state.event_status = current["status"].as_u64().map(|s| s as u8);
            if state.event_status == Some(ACTIVE) {
                self.set_event_status(mc, state, event, COMPLETED).await?;
            }
        }
        Ok(self.event_next(mc, state, now))
    }

    /// When the event's status must change next: the start and end of a voice or stage
    /// masterclass.
    fn event_next(
        &self,
        mc: &Masterclass,
        state: &SyncState,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let in_channel = matches!(mc.location, Some(Location::Channel(_)));
        match state.event_status {
            Some(SCHEDULED) if in_channel && now < mc.starts_at => Some(mc.starts_at),
            Some(ACTIVE) if in_channel => Some(mc.ends_at()),
            _ => None,
        }
    }

    async fn create_event(
        &self,
        desired: &Desired,
        state: &mut SyncState,
        now: DateTime<Utc>,
    ) -> Result<(), SyncError> {
        let mc = &desired.mc;
        let fields = self.event_fields(mc, state.thread_id).await?;
        if state.event_intent_at.is_some() {
            if let Some(found) = self.find_event(mc, &fields).await? {
                state.event_id = id_of(&found["id"]);
                state.event_status = found["status"].as_u64().map(|s| s as u8);
                state.event_shown = None; // found; its fields may be older
                self.save(state).await?;
                return Ok(());
            }
        }
        state.event_intent_at = Some(now);
        self.save(state).await?;
        let mut create = fields.clone();
        create["privacy_level"] = 2.into();
        let route = Route::GuildScheduledEvents {
            guild_id: discord::GuildId::new(mc.guild_id.0),
        };
        let event = self
            .discord
            .send_json(Request::new(route, LightMethod::Post).body(body(&create)))
            .await?;
        state.event_id = id_of(&event["id"]);
        state.event_status = Some(SCHEDULED);
        state.event_shown = Some(fingerprint(&fields));
        self.save(state).await?;
        Ok(())
    }

    /// After a crash between creating the event and storing its id: the bot's event with this
    /// name and start that no other masterclass owns.
    async fn find_event(
        &self,
        mc: &Masterclass,
        fields: &Value,
    ) -> Result<Option<Value>, SyncError> {
        let bot = self.bot_user().await?;
        let route = Route::GuildScheduledEvents {
            guild_id: discord::GuildId::new(mc.guild_id.0),
        };
        let events = self
            .discord
            .send_json(Request::new(route, LightMethod::Get))
            .await?;
        let start = mc.starts_at.timestamp();
        let candidates: Vec<Value> = events
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| {
                id_of(&e["creator_id"]) == Some(bot)
                    && e["name"] == fields["name"]
                    && e["scheduled_start_time"]
                        .as_str()
                        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                        .is_some_and(|t| t.timestamp() == start)
            })
            .cloned()
            .collect();
        let mut conn = self.db.reader().acquire().await?;
        for candidate in candidates {
            let id = id_of(&candidate["id"]);
            if !sync::owned_by_another(&mut conn, mc.id, None, id).await? {
                return Ok(Some(candidate));
            }
        }
        Ok(None)
    }

    /// Name, description, place and times as Discord should show them. An external event needs
    /// a place and an end: the link, else the thread.
    async fn event_fields(
        &self,
        mc: &Masterclass,
        thread: Option<ChannelId>,
    ) -> Result<Value, SyncError> {
        let start = mc.starts_at.to_rfc3339();
        let end = mc.ends_at().to_rfc3339();
        let mut fields = json!({
            "name": truncate(&mc.title, 100),
            "description": truncate(&mc.description, 1000),
            "scheduled_start_time": start,
        });
        match &mc.location {
            Some(Location::Channel(channel)) => {
                let kind = if self.is_stage(*channel).await? { 1 } else { 2 };
                fields["entity_type"] = kind.into();
                fields["channel_id"] = channel.0.to_string().into();
                fields["entity_metadata"] = Value::Null;
            }
            other => {
                let place = match other {
                    Some(Location::Url(url)) => url.clone(),
                    _ => thread
                        .map(|t| format!("https://discord.com/channels/{}/{t}", mc.guild_id))
                        .unwrap_or_else(|| "Discord".into()),
                };
                fields["entity_type"] = 3.into();
                fields["channel_id"] = Value::Null;
                fields["entity_metadata"] = json!({ "location": truncate(&place, 100) });
                fields["scheduled_end_time"] = end.into();
            }
        }
        Ok(fields)
    }

    async fn is_stage(&self, channel: ChannelId) -> Result<bool, SyncError> {
        if let Some(&stage) = self.stages.lock().expect("stages").get(&channel.0) {
            return Ok(stage);
        }
        let route = Route::Channel {
            channel_id: discord::ChannelId::new(channel.0),
        };
        let found = self
            .discord
            .send_json(Request::new(route, LightMethod::Get))
            .await?;
        let stage = found["type"] == 13;
        self.stages.lock().expect("stages").insert(channel.0, stage);
        Ok(stage)
    }

    async fn patch_event(
        &self,
        mc: &Masterclass,
        event: u64,
        change: &Value,
    ) -> Result<Value, RestError> {
        let route = Route::GuildScheduledEvent {
            guild_id: discord::GuildId::new(mc.guild_id.0),
            event_id: discord::ScheduledEventId::new(event),
        };
        self.discord
            .send_json(Request::new(route, LightMethod::Patch).body(body(change)))
            .await
    }

    async fn get_event(&self, mc: &Masterclass, event: u64) -> Result<Value, RestError> {
        let route = Route::GuildScheduledEvent {
            guild_id: discord::GuildId::new(mc.guild_id.0),
            event_id: discord::ScheduledEventId::new(event),
        };
        self.discord
            .send_json(Request::new(route, LightMethod::Get))
            .await
    }

    /// Moves the event on. If Discord refuses, it moved on by itself (its automation, or a
    /// moderator): take its status as it is.
    async fn set_event_status(
        &self,
        mc: &Masterclass,
        state: &mut SyncState,
        event: u64,
        status: u8,
    ) -> Result<(), SyncError> {
        match self
            .patch_event(mc, event, &json!({ "status": status }))
            .await
        {
            Ok(answer) => {
                state.event_status = answer["status"].as_u64().map(|s| s as u8).or(Some(status));
                Ok(())
            }
            Err(RestError::Refused { status: 400, .. }) => {
                let current = self.get_event(mc, event).await?;
                state.event_status = current["status"].as_u64().map(|s| s as u8);
                Ok(())
            }
            Err(RestError::Refused { status: 404, .. }) => {
                state.event_status = Some(CANCELED); // deleted by a moderator
                Ok(())
            }
            Err(error) => Err(error.into()),
        }
    }
}
