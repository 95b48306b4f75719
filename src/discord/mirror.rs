//! The Discord objects that mirror a masterclass: the announcement, its thread, its scheduled
//! event. Failures here never undo a stored change; they are logged and reported to the caller.

use super::render;
use crate::domain::{GuildSettings, Location, Masterclass, MasterclassStatus, UserId};
use crate::service::{Counts, Service};
use crate::store::masterclasses::DiscordIds;
use poise::serenity_prelude as serenity;
use serenity::{
    AutoArchiveDuration, ChannelId, ChannelType, CreateAllowedMentions, CreateMessage,
    CreateScheduledEvent, CreateThread, EditMessage, EditScheduledEvent, GuildId, MessageId,
    ScheduledEventId, ScheduledEventStatus, ScheduledEventType, Timestamp,
};

/// Posts the announcement, opens the thread with the host and attendees, and creates the
/// scheduled event. Returns the ids that exist and a sentence per part that failed.
pub async fn publish(
    ctx: &serenity::Context,
    settings: &GuildSettings,
    mc: &Masterclass,
    attending: &[UserId],
) -> (DiscordIds, Vec<String>) {
    let http = &ctx.http;
    let mut ids = DiscordIds::default();
    let mut problems = Vec::new();
    let Some(channel) = settings
        .announcement_channel_id
        .map(|c| ChannelId::new(c.0))
    else {
        return (ids, vec!["no announcement channel is set".into()]);
    };
    let counts = Counts {
        attending: attending.len() as u32,
        waitlisted: 0,
    };
    let message = CreateMessage::new()
        .embed(render::announcement_embed(mc, counts))
        .components(render::announcement_buttons(mc.id, false))
        .allowed_mentions(CreateAllowedMentions::new());
    let message = match channel.send_message(http, message).await {
        Ok(message) => {
            ids.announcement_channel_id = Some(crate::domain::ChannelId(channel.get()));
            ids.announcement_message_id = Some(message.id.get());
            Some(message)
        }
        Err(error) => {
            tracing::warn!(%error, masterclass = %mc.id, "could not post the announcement");
            problems.push(format!(
                "I couldn't post the announcement in <#{channel}> (check my permissions there)"
            ));
            None
        }
    };

    let name = render::truncate(&mc.title, 100);
    let thread = if settings.public_threads {
        match &message {
            Some(message) => {
                let builder =
                    CreateThread::new(name).auto_archive_duration(AutoArchiveDuration::OneWeek);
                channel
                    .create_thread_from_message(http, message.id, builder)
                    .await
            }
            None => Err(serenity::Error::Other(
                "no announcement to start the thread from",
            )),
        }
    } else {
        let builder = CreateThread::new(name)
            .kind(ChannelType::PrivateThread)
            .invitable(false)
            .auto_archive_duration(AutoArchiveDuration::OneWeek);
        channel.create_thread(http, builder).await
    };
    match thread {
        Ok(thread) => {
            ids.thread_id = Some(crate::domain::ChannelId(thread.id.get()));
            for &member in std::iter::once(&mc.host_id).chain(attending) {
                if let Err(error) = thread
                    .id
                    .add_thread_member(http, serenity::UserId::new(member.0))
                    .await
                {
                    tracing::warn!(%error, %member, "could not add a member to the thread");
                }
            }
        }
        Err(error) => {
            tracing::warn!(%error, masterclass = %mc.id, "could not open the thread");
            problems.push(
                "I couldn't open the discussion thread (I need Create Private Threads)".into(),
            );
        }
    }

    let event = scheduled_event(ctx, mc, ids.thread_id);
    match GuildId::new(mc.guild_id.0)
        .create_scheduled_event(http, event)
        .await
    {
        Ok(event) => ids.event_id = Some(event.id.get()),
        Err(error) => {
            tracing::warn!(%error, masterclass = %mc.id, "could not create the scheduled event");
            problems.push("I couldn't add it to the server's events (I need Manage Events)".into());
        }
    }
    (ids, problems)
}

fn scheduled_event(
    ctx: &serenity::Context,
    mc: &Masterclass,
    thread: Option<crate::domain::ChannelId>,
) -> CreateScheduledEvent<'static> {
    let start = Timestamp::from_unix_timestamp(mc.starts_at.timestamp()).expect("a valid time");
    let end = Timestamp::from_unix_timestamp(mc.ends_at().timestamp()).expect("a valid time");
    let name = render::truncate(&mc.title, 100);
    let builder = match &mc.location {
        Some(Location::Channel(channel)) => {
            let stage = ctx
                .cache
                .guild(GuildId::new(mc.guild_id.0))
                .is_some_and(|guild| {
                    guild
                        .channels
                        .get(&serenity::ChannelId::new(channel.0))
                        .is_some_and(|c| c.kind == ChannelType::Stage)
                });
            let kind = if stage {
                ScheduledEventType::StageInstance
            } else {
                ScheduledEventType::Voice
            };
            CreateScheduledEvent::new(kind, name, start)
                .channel_id(serenity::ChannelId::new(channel.0))
        }
        other => {
            // External events need a place and an end: the link, else the thread.
            let place = match other {
                Some(Location::Url(url)) => url.clone(),
                _ => thread
                    .map(|t| format!("https://discord.com/channels/{}/{t}", mc.guild_id))
                    .unwrap_or_else(|| "Discord".into()),
            };
            CreateScheduledEvent::new(ScheduledEventType::External, name, start)
                .location(render::truncate(&place, 100))
                .end_time(end)
        }
    };
    builder.description(render::truncate(&mc.description, 1000))
}

/// Keeps announcements up to date without flooding Discord: under a burst of joins, one edit
/// runs at a time per masterclass, and one more follows if anything changed meanwhile, so the
/// last edit always shows the final state.
#[derive(Default)]
pub struct Refresher {
    /// Masterclasses being refreshed, and whether they changed again since the edit started.
    running: std::sync::Mutex<std::collections::HashMap<crate::domain::MasterclassId, bool>>,
}

impl Refresher {
    pub async fn refresh(&self, http: &serenity::Http, service: &Service, mc: &Masterclass) {
        {
            let mut running = self.running.lock().expect("refresher lock");
            if let Some(changed_again) = running.get_mut(&mc.id) {
                *changed_again = true;
                return;
            }
            running.insert(mc.id, false);
        }
        loop {
            match service.masterclass_in(mc.guild_id, mc.id).await {
                Ok(current) => refresh_announcement(http, service, &current).await,
                Err(error) => {
                    tracing::warn!(%error, masterclass = %mc.id, "could not reload a masterclass")
                }
            }
            let mut running = self.running.lock().expect("refresher lock");
            if running.get(&mc.id).copied().unwrap_or(false) {
                running.insert(mc.id, false);
            } else {
                running.remove(&mc.id);
                return;
            }
        }
    }
}

/// Brings the announcement up to date (seats, details, cancellation).
async fn refresh_announcement(http: &serenity::Http, service: &Service, mc: &Masterclass) {
    let (Some(channel), Some(message)) = (mc.announcement_channel_id, mc.announcement_message_id)
    else {
        return;
    };
    let counts = match service.counts(mc.id).await {
        Ok(counts) => counts,
        Err(error) => {
            tracing::warn!(%error, masterclass = %mc.id, "could not count seats");
            return;
        }
    };
    let cancelled = mc.status == MasterclassStatus::Cancelled;
    let edit = EditMessage::new()
        .embed(render::announcement_embed(mc, counts))
        .components(render::announcement_buttons(mc.id, cancelled))
        .allowed_mentions(CreateAllowedMentions::new());
    let result = ChannelId::new(channel.0)
        .edit_message(http, MessageId::new(message), edit)
        .await;
    if let Err(error) = result {
        tracing::warn!(%error, masterclass = %mc.id, "could not update the announcement");
    }
}

pub async fn add_to_thread(http: &serenity::Http, mc: &Masterclass, member: UserId) {
    if let Some(thread) = mc.thread_id {
        let result = ChannelId::new(thread.0)
            .add_thread_member(http, serenity::UserId::new(member.0))
            .await;
        if let Err(error) = result {
            tracing::warn!(%error, %member, masterclass = %mc.id, "could not add a member to the thread");
        }
    }
}

pub async fn remove_from_thread(http: &serenity::Http, mc: &Masterclass, member: UserId) {
    if let Some(thread) = mc.thread_id {
        let result = ChannelId::new(thread.0)
            .remove_thread_member(http, serenity::UserId::new(member.0))
            .await;
        if let Err(error) = result {
            tracing::warn!(%error, %member, masterclass = %mc.id, "could not remove a member from the thread");
        }
    }
}

/// Keeps the scheduled event's name and description in step with the masterclass, or cancels it.
pub async fn sync_event(http: &serenity::Http, mc: &Masterclass) {
    let Some(event) = mc.event_id else { return };
    let edit = if mc.status == MasterclassStatus::Cancelled {
        EditScheduledEvent::new().status(ScheduledEventStatus::Canceled)
    } else {
        let edit = EditScheduledEvent::new()
            .name(render::truncate(&mc.title, 100))
            .description(render::truncate(&mc.description, 1000));
        // Best effort: Discord refuses to turn a channel event into an external one and back,
        // which is logged below; the announcement and emails carry the new place anyway.
        match &mc.location {
            Some(Location::Url(url)) => edit.location(render::truncate(url, 100)),
            Some(Location::Channel(channel)) => {
                edit.channel_id(serenity::ChannelId::new(channel.0))
            }
            None => edit,
        }
    };
    let result = GuildId::new(mc.guild_id.0)
        .edit_scheduled_event(http, ScheduledEventId::new(event), edit)
        .await;
    if let Err(error) = result {
        tracing::warn!(%error, masterclass = %mc.id, "could not update the scheduled event");
    }
}
