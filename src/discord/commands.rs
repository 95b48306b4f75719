//! Slash commands and the user context menu. Each one: read the options, call the service,
//! render the answer (ephemeral: only the caller sees it).

use super::flows::{self, caller_of, masterclass_id};
use super::pending::{CancelRequest, Draft};
use super::render::{self, Action};
use super::{Ctx, Data, Error};
use crate::domain::{Caller, ChannelId, Location, RoleId, TimeZone, UserError, UserId};
use crate::email::{calendar_of, IcsEvent};
use crate::service::{GuildSettingsChange, MasterclassEdit, SessionFilter, SessionRole};
use chrono::Utc;
use poise::serenity_prelude as serenity;
use poise::CreateReply;
use serenity::{
    AutocompleteChoice, ButtonStyle, CreateActionRow, CreateAttachment, CreateAutocompleteResponse,
    CreateButton, CreateEmbed, CreateInputText, CreateInteractionResponse, CreateModal,
    InputTextStyle,
};

pub fn all() -> Vec<poise::Command<Data, Error>> {
    vec![
        masterclass(),
        settings(),
        masterclass_admin(),
        help(),
        masterclasses_of(),
    ]
}

fn caller(ctx: Ctx<'_>) -> Result<Caller, Error> {
    let poise::Context::Application(app) = ctx else {
        return Err(UserError::GuildOnly.into());
    };
    caller_of(
        ctx.guild_id(),
        app.interaction.member.as_deref(),
        ctx.author(),
    )
}

async fn say(ctx: Ctx<'_>, text: impl Into<String>) -> Result<(), Error> {
    let text = render::truncate(&text.into(), 2000);
    answer(ctx, CreateReply::default().content(text)).await
}

/// The one way commands answer: ephemeral, pinging nobody; the initial response, or once the
/// command deferred, an edit of it (Discord refuses a second initial response).
pub async fn answer(ctx: Ctx<'_>, reply: CreateReply) -> Result<(), Error> {
    let reply = reply
        .ephemeral(true)
        .allowed_mentions(serenity::CreateAllowedMentions::new());
    if let poise::Context::Application(app) = ctx {
        if app
            .has_sent_initial_response
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            let edit =
                reply.to_slash_initial_response_edit(serenity::EditInteractionResponse::new());
            app.interaction.edit_response(ctx, edit).await?;
            return Ok(());
        }
    }
    ctx.send(reply).await?;
    Ok(())
}

/// Commands that write acknowledge first: under a burst the change may take longer than
/// Discord's 3 s, and a member must never see "did not respond" for a change that committed.
async fn defer(ctx: Ctx<'_>) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    Ok(())
}

async fn complete_masterclass(ctx: Ctx<'_>, partial: &str) -> CreateAutocompleteResponse {
    let Some(guild) = ctx.guild_id() else {
        return CreateAutocompleteResponse::new();
    };
    let found = ctx
        .data()
        .service
        .search(crate::domain::GuildId(guild.get()), partial, Utc::now())
        .await;
    let choices = found
        .unwrap_or_else(|error| {
            tracing::warn!(%error, "autocomplete search failed");
            Vec::new()
        })
        .iter()
        .map(|mc| AutocompleteChoice::new(render::choice_label(mc), mc.id.0.to_string()))
        .collect();
    CreateAutocompleteResponse::new().set_choices(choices)
}

async fn complete_zone(_ctx: Ctx<'_>, partial: &str) -> CreateAutocompleteResponse {
    let choices = TimeZone::search(partial, 25)
        .into_iter()
        .map(|z| AutocompleteChoice::new(z, z))
        .collect();
    CreateAutocompleteResponse::new().set_choices(choices)
}

/// Host, find, join and leave masterclasses.
#[poise::command(
    slash_command,
    guild_only,
    subcommands(
        "host",
        "list",
        "join",
        "leave",
        "participants",
        "cancel",
        "edit",
        "remove",
        "sessions",
        "calendar"
    )
)]
pub async fn masterclass(_ctx: Ctx<'_>) -> Result<(), Error> {
    Ok(())
}

/// Mentions in free text: `<@123>` or `<@!123>`, separated by spaces or commas.
fn mentioned_users(text: &str) -> Result<Vec<u64>, Error> {
    text.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.strip_prefix("<@")
                .and_then(|rest| rest.strip_suffix('>'))
                .map(|id| id.trim_start_matches('!'))
                .and_then(|id| id.parse::<u64>().ok())
                .ok_or_else(|| UserError::BadGuestList.into())
        })
        .collect()
}

/// Host a masterclass: pick guests, a place and a time zone here, then fill in the form.
#[poise::command(slash_command, guild_only)]
pub async fn host(
    ctx: Ctx<'_>,
    #[description = "A guest to invite (attending at once)"] guest: Option<serenity::User>,
    #[description = "More guests, as @mentions"] guests: Option<String>,
    #[description = "A voice or stage channel to meet in"]
    #[channel_types("Voice", "Stage")]
    channel: Option<serenity::GuildChannel>,
    #[description = "Or a link to meet at (https://…)"] link: Option<String>,
    #[description = "The time zone you'll type the start in"]
    #[autocomplete = "complete_zone"]
    time_zone: Option<String>,
) -> Result<(), Error> {
    let caller = caller(ctx)?;
    let settings = ctx.data().service.ensure_can_host(&caller).await?;
    let location = match (channel, link) {
        (Some(_), Some(_)) => return Err(UserError::TwoLocations.into()),
        (Some(channel), None) => {
            let voice = matches!(
                channel.kind,
                serenity::ChannelType::Voice | serenity::ChannelType::Stage
            );
            if !voice || channel.guild_id.get() != caller.guild_id.0 {
                return Err(UserError::BadLocation.into());
            }
            Some(Location::Channel(ChannelId(channel.id.get())))
        }
        (None, Some(link)) => Some(Location::url(&link)?),
        (None, None) => None,
    };
    if let Some(zone) = &time_zone {
        TimeZone::parse(zone)?;
    }
    let mut guest_list = Vec::new();
    if let Some(user) = guest {
        guest_list.push((UserId(user.id.get()), user.bot));
    }
    for id in mentioned_users(guests.as_deref().unwrap_or(""))? {
        let user = serenity::UserId::new(id).to_user(ctx).await?;
        guest_list.push((UserId(id), user.bot));
    }
    let draft = Draft {
        guild_id: caller.guild_id,
        host_id: caller.user_id,
        guests: guest_list,
        location,
        time_zone,
        checked: None,
    };
    let key = ctx.data().pending.add_draft(draft);
    let input = |style, label: &str, id: &str| CreateInputText::new(style, label, id);
    let modal = CreateModal::new(Action::HostForm(key).custom_id(), "Host a masterclass")
        .components(vec![
            CreateActionRow::InputText(
                input(InputTextStyle::Short, "Title", "title")
                    .min_length(1)
                    .max_length(100),
            ),
            CreateActionRow::InputText(
                input(InputTextStyle::Paragraph, "Description", "description")
                    .min_length(1)
                    .max_length(1000),
            ),
            CreateActionRow::InputText(
                input(InputTextStyle::Short, "Start", "start")
                    .placeholder("2026-03-14 18:00, or tomorrow 18:00")
                    .max_length(100),
            ),
            CreateActionRow::InputText(
                input(
                    InputTextStyle::Short,
                    "Duration in minutes (15–480)",
                    "duration",
                )
                .placeholder("60")
                .required(false)
                .max_length(3),
            ),
            CreateActionRow::InputText(
                input(
                    InputTextStyle::Short,
                    "Capacity (seats, 1–1000)",
                    "capacity",
                )
                .placeholder(settings.default_capacity.get().to_string())
                .required(false)
                .max_length(4),
            ),
        ]);
    if let poise::Context::Application(app) = ctx {
        app.interaction
            .create_response(ctx, CreateInteractionResponse::Modal(modal))
            .await?;
    }
    Ok(())
}

fn join_buttons(
    ids: impl Iterator<Item = (crate::domain::MasterclassId, String)>,
) -> Vec<CreateActionRow> {
    let buttons: Vec<CreateButton> = ids
        .take(25)
        .map(|(id, title)| {
            CreateButton::new(Action::Join(id).custom_id())
                .label(render::truncate(&format!("Join: {title}"), 80))
                .style(ButtonStyle::Success)
        })
        .collect();
    buttons
        .chunks(5)
        .map(|row| CreateActionRow::Buttons(row.to_vec()))
        .collect()
}

/// Upcoming masterclasses, each with a Join button.
async fn show_upcoming(ctx: Ctx<'_>, host: Option<&serenity::User>) -> Result<(), Error> {
    let caller = caller(ctx)?;
    let list = ctx
        .data()
        .service
        .upcoming(
            caller.guild_id,
            host.map(|h| UserId(h.id.get())),
            Utc::now(),
        )
        .await?;
    if list.is_empty() {
        let whose = host.map(|h| format!(" by <@{}>", h.id)).unwrap_or_default();
        return say(ctx, format!("No upcoming masterclasses{whose}.")).await;
    }
    let lines: Vec<String> = list
        .iter()
        .map(|(mc, counts)| render::list_line(mc, Some(*counts)))
        .collect();
    let embed = CreateEmbed::new()
        .title("Upcoming masterclasses")
        .description(render::truncate(&lines.join("\n"), 4096));
    let buttons = join_buttons(list.iter().map(|(mc, _)| (mc.id, mc.title.clone())));
    answer(ctx, CreateReply::default().embed(embed).components(buttons)).await
}

/// Upcoming masterclasses, optionally of one mentor.
#[poise::command(slash_command, guild_only)]
pub async fn list(
    ctx: Ctx<'_>,
    #[description = "Only this mentor's"] mentor: Option<serenity::User>,
) -> Result<(), Error> {
    show_upcoming(ctx, mentor.as_ref()).await
}

/// A mentor's upcoming masterclasses.
#[poise::command(context_menu_command = "Masterclasses", guild_only)]
pub async fn masterclasses_of(ctx: Ctx<'_>, mentor: serenity::User) -> Result<(), Error> {
    show_upcoming(ctx, Some(&mentor)).await
}

/// Take a seat (or a place on the waitlist).
#[poise::command(slash_command, guild_only)]
pub async fn join(
    ctx: Ctx<'_>,
    #[description = "Which masterclass"]
    #[autocomplete = "complete_masterclass"]
    masterclass: String,
) -> Result<(), Error> {
    let caller = caller(ctx)?;
    let id = masterclass_id(&masterclass)?;
    defer(ctx).await?;
    let text = flows::join(ctx.data(), &caller, id).await?;
    say(ctx, text).await
}

/// Give up your seat or waitlist place.
#[poise::command(slash_command, guild_only)]
pub async fn leave(
    ctx: Ctx<'_>,
    #[description = "Which masterclass"]
    #[autocomplete = "complete_masterclass"]
    masterclass: String,
) -> Result<(), Error> {
    let caller = caller(ctx)?;
    let id = masterclass_id(&masterclass)?;
    defer(ctx).await?;
    let text = flows::leave(ctx.data(), &caller, id).await?;
    say(ctx, text).await
}

/// Who is attending, and who is waiting.
#[poise::command(slash_command, guild_only)]
pub async fn participants(
    ctx: Ctx<'_>,
    #[description = "Which masterclass"]
    #[autocomplete = "complete_masterclass"]
    masterclass: String,
) -> Result<(), Error> {
    let caller = caller(ctx)?;
    let embed =
        super::components::participants_embed(ctx.data(), &caller, masterclass_id(&masterclass)?)
            .await?;
    answer(ctx, CreateReply::default().embed(embed)).await
}

/// Cancel a masterclass: everyone signed up is told your reason.
#[poise::command(slash_command, guild_only)]
pub async fn cancel(
    ctx: Ctx<'_>,
    #[description = "Which masterclass"]
    #[autocomplete = "complete_masterclass"]
    masterclass: String,
    #[description = "Why (everyone signed up will read it)"] reason: String,
) -> Result<(), Error> {
    let caller = caller(ctx)?;
    let id = masterclass_id(&masterclass)?;
    let (mc, reason) = ctx
        .data()
        .service
        .check_cancel(&caller, id, &reason, Utc::now())
        .await?;
    let counts = ctx.data().service.counts(id).await?;
    let key = ctx.data().pending.add_cancel(CancelRequest {
        guild_id: caller.guild_id,
        user_id: caller.user_id,
        masterclass_id: id,
        reason: reason.clone(),
    });
    let text = format!(
        "Cancel **{}** ({})? {} attending and {} waiting will be told:\n> {}\nThis can't be undone.",
        render::truncate(&mc.title, 100),
        render::when(mc.starts_at),
        counts.attending,
        counts.waitlisted,
        render::truncate(&reason, 500).replace('\n', "\n> ")
    );
    let buttons = vec![CreateActionRow::Buttons(vec![
        CreateButton::new(Action::ConfirmCancel(key).custom_id())
            .label("Cancel the masterclass")
            .style(ButtonStyle::Danger),
        CreateButton::new(Action::KeepMasterclass(key).custom_id())
            .label("Keep it")
            .style(ButtonStyle::Secondary),
    ])];
    answer(
        ctx,
        CreateReply::default().content(text).components(buttons),
    )
    .await
}

/// Change the title, description, place or capacity. The date and time can't change.
#[allow(clippy::too_many_arguments)]
#[poise::command(slash_command, guild_only)]
pub async fn edit(
    ctx: Ctx<'_>,
    #[description = "Which masterclass"]
    #[autocomplete = "complete_masterclass"]
    masterclass: String,
    #[description = "New title"] title: Option<String>,
    #[description = "New description"] description: Option<String>,
    #[description = "New capacity"] capacity: Option<i64>,
    #[description = "New voice or stage channel"]
    #[channel_types("Voice", "Stage")]
    channel: Option<serenity::GuildChannel>,
    #[description = "New link"] link: Option<String>,
    #[description = "New start (not possible: you'll be told how to reschedule)"] start: Option<
        String,
    >,
    #[description = "New duration (not possible either)"] duration: Option<i64>,
) -> Result<(), Error> {
    let caller = caller(ctx)?;
    let id = masterclass_id(&masterclass)?;
    let location = match (channel, link) {
        (Some(_), Some(_)) => return Err(UserError::TwoLocations.into()),
        (Some(c), None) if c.guild_id.get() == caller.guild_id.0 => {
            Some(Location::Channel(ChannelId(c.id.get())))
        }
        (Some(_), None) => return Err(UserError::BadLocation.into()),
        (None, Some(link)) => Some(Location::url(&link)?),
        (None, None) => None,
    };
    let change = MasterclassEdit {
        title,
        description,
        location,
        capacity,
        start,
        duration_minutes: duration,
    };
    defer(ctx).await?;
    let outcome = ctx
        .data()
        .service
        .edit(&caller, id, change, Utc::now())
        .await?;
    ctx.data().changed();
    let promoted = match outcome.promoted.len() {
        0 => String::new(),
        n => format!(" {n} from the waitlist got a seat."),
    };
    say(
        ctx,
        format!(
            "Updated **{}**.{promoted}",
            render::truncate(&outcome.masterclass.title, 100)
        ),
    )
    .await
}

/// Take a member off your masterclass (they're told).
#[poise::command(slash_command, guild_only)]
pub async fn remove(
    ctx: Ctx<'_>,
    #[description = "Which masterclass"]
    #[autocomplete = "complete_masterclass"]
    masterclass: String,
    #[description = "Who to remove"] member: serenity::User,
) -> Result<(), Error> {
    let caller = caller(ctx)?;
    let id = masterclass_id(&masterclass)?;
    defer(ctx).await?;
    let text = flows::remove(ctx.data(), &caller, id, UserId(member.id.get())).await?;
    say(ctx, text).await
}

#[derive(Debug, poise::ChoiceParameter)]
pub enum Which {
    Upcoming,
    Past,
    Cancelled,
}

/// Your own sessions: hosting and attending.
#[poise::command(slash_command, guild_only)]
pub async fn sessions(
    ctx: Ctx<'_>,
    #[description = "Which ones (upcoming by default)"] which: Option<Which>,
) -> Result<(), Error> {
    let caller = caller(ctx)?;
    let filter = match which.unwrap_or(Which::Upcoming) {
        Which::Upcoming => SessionFilter::Upcoming,
        Which::Past => SessionFilter::Past,
        Which::Cancelled => SessionFilter::Cancelled,
    };
    let sessions = ctx
        .data()
        .service
        .sessions(caller.guild_id, caller.user_id, filter, Utc::now())
        .await?;
    if sessions.is_empty() {
        return say(ctx, "Nothing here yet.").await;
    }
    let lines: Vec<String> = sessions
        .iter()
        .map(|s| {
            let role = match s.role {
                SessionRole::Hosting => "hosting",
                SessionRole::Attending => "attending",
                SessionRole::Waitlisted => "waitlisted",
            };
            format!("{} · *{role}*", render::list_line(&s.masterclass, None))
        })
        .collect();
    let embed = CreateEmbed::new()
        .title("Your sessions")
        .description(render::truncate(&lines.join("\n"), 4096));
    answer(ctx, CreateReply::default().embed(embed)).await
}

/// A calendar file of your upcoming sessions.
#[poise::command(slash_command, guild_only)]
pub async fn calendar(ctx: Ctx<'_>) -> Result<(), Error> {
    let caller = caller(ctx)?;
    let sessions = ctx
        .data()
        .service
        .sessions(
            caller.guild_id,
            caller.user_id,
            SessionFilter::Upcoming,
            Utc::now(),
        )
        .await?;
    let events: Vec<_> = sessions
        .iter()
        .filter(|s| s.role != SessionRole::Waitlisted)
        .map(|s| IcsEvent::of(&s.masterclass))
        .collect();
    let file = CreateAttachment::bytes(calendar_of(&events).into_bytes(), "masterclasses.ics");
    let text = format!(
        "{} upcoming session(s). Open the file to add them to your calendar.",
        events.len()
    );
    answer(ctx, CreateReply::default().content(text).attachment(file)).await
}

/// Your own settings: time zone, notifications, email.
#[poise::command(slash_command, subcommands("timezone", "notifications", "email"))]
pub async fn settings(_ctx: Ctx<'_>) -> Result<(), Error> {
    Ok(())
}

/// The time zone you type times in.
#[poise::command(slash_command)]
pub async fn timezone(
    ctx: Ctx<'_>,
    #[description = "An IANA zone such as Europe/Paris"]
    #[autocomplete = "complete_zone"]
    zone: String,
) -> Result<(), Error> {
    let user = UserId(ctx.author().id.get());
    let s = ctx
        .data()
        .service
        .set_member_time_zone(user, &zone, Utc::now())
        .await?;
    say(
        ctx,
        format!(
            "Your time zone is now {}.",
            s.time_zone.map_or("UTC", |z| z.name())
        ),
    )
    .await
}

/// Turn DMs and emails from the bot on or off.
#[poise::command(slash_command)]
pub async fn notifications(
    ctx: Ctx<'_>,
    #[description = "Direct messages"] dm: Option<bool>,
    #[description = "Emails (to a verified address)"] email: Option<bool>,
) -> Result<(), Error> {
    let user = UserId(ctx.author().id.get());
    let s = ctx
        .data()
        .service
        .set_notifications(user, dm, email, Utc::now())
        .await?;
    let on_off = |on: bool| if on { "on" } else { "off" };
    say(
        ctx,
        format!(
            "DMs are {}, emails are {}.",
            on_off(s.dm_enabled),
            on_off(s.email_enabled)
        ),
    )
    .await
}

/// Your email address for notifications.
#[poise::command(slash_command, subcommands("email_set", "email_verify"))]
pub async fn email(_ctx: Ctx<'_>) -> Result<(), Error> {
    Ok(())
}

/// Set your address: a 6-digit code is sent to it.
#[poise::command(slash_command, rename = "set")]
pub async fn email_set(
    ctx: Ctx<'_>,
    #[description = "Your email address"] address: String,
) -> Result<(), Error> {
    let guild = ctx.guild_id().ok_or(UserError::GuildOnly)?;
    let user = UserId(ctx.author().id.get());
    ctx.data()
        .service
        .request_email_code(
            crate::domain::GuildId(guild.get()),
            user,
            &address,
            Utc::now(),
        )
        .await?;
    ctx.data().wake_worker.notify_one();
    say(ctx, "I've sent a 6-digit code to that address. Run `/settings email verify` with it within 30 minutes.").await
}

/// Confirm your address with the code you received.
#[poise::command(slash_command, rename = "verify")]
pub async fn email_verify(
    ctx: Ctx<'_>,
    #[description = "The 6-digit code"] code: String,
) -> Result<(), Error> {
    let user = UserId(ctx.author().id.get());
    let s = ctx
        .data()
        .service
        .verify_email(user, &code, Utc::now())
        .await?;
    let address = s.email.map(|e| e.as_str().to_owned()).unwrap_or_default();
    say(ctx, format!("Verified: emails go to {address}.")).await
}

/// Server settings for masterclasses (Manage Server).
#[poise::command(
    slash_command,
    guild_only,
    rename = "masterclass-admin",
    default_member_permissions = "MANAGE_GUILD",
    subcommands(
        "show",
        "enable",
        "disable",
        "host_role",
        "channel",
        "capacity",
        "reminders",
        "server_timezone",
        "support",
        "threads",
        "deliveries"
    )
)]
pub async fn masterclass_admin(_ctx: Ctx<'_>) -> Result<(), Error> {
    Ok(())
}

async fn change_settings(ctx: Ctx<'_>, change: GuildSettingsChange) -> Result<(), Error> {
    let caller = caller(ctx)?;
    ctx.data()
        .service
        .update_guild_settings(&caller, change, Utc::now())
        .await?;
    show_settings(ctx, "Saved.").await
}

async fn show_settings(ctx: Ctx<'_>, heading: &str) -> Result<(), Error> {
    let caller = caller(ctx)?;
    if !caller.is_admin {
        return Err(UserError::NotAdmin.into());
    }
    let s = ctx.data().service.guild_settings(caller.guild_id).await?;
    let text = format!(
        "{heading}\nMasterclasses: **{}**\nHost role: {}\nAnnouncement channel: {}\nDefault capacity: {}\n\
         Reminders: {} before\nServer time zone: {}\nThreads: {}\nSupport: {}",
        if s.enabled { "on" } else { "off" },
        s.host_role_id.map_or("not set".into(), |r| format!("<@&{r}>")),
        s.announcement_channel_id.map_or("not set".into(), |c| format!("<#{c}>")),
        s.default_capacity.get(),
        s.reminder_offsets.describe(),
        s.time_zone.name(),
        if s.public_threads { "public" } else { "private" },
        s.support_text.as_deref().unwrap_or("not set"),
    );
    say(ctx, text).await
}

/// Show the current settings.
#[poise::command(slash_command)]
pub async fn show(ctx: Ctx<'_>) -> Result<(), Error> {
    show_settings(ctx, "Masterclass settings:").await
}

/// Switch masterclasses on.
#[poise::command(slash_command)]
pub async fn enable(ctx: Ctx<'_>) -> Result<(), Error> {
    change_settings(
        ctx,
        GuildSettingsChange {
            enabled: Some(true),
            ..Default::default()
        },
    )
    .await
}

/// Switch masterclasses off (existing ones stay).
#[poise::command(slash_command)]
pub async fn disable(ctx: Ctx<'_>) -> Result<(), Error> {
    change_settings(
        ctx,
        GuildSettingsChange {
            enabled: Some(false),
            ..Default::default()
        },
    )
    .await
}

/// Who may host: members with this role.
#[poise::command(slash_command, rename = "host-role")]
pub async fn host_role(
    ctx: Ctx<'_>,
    #[description = "The host role"] role: serenity::Role,
) -> Result<(), Error> {
    change_settings(
        ctx,
        GuildSettingsChange {
            host_role_id: Some(RoleId(role.id.get())),
            ..Default::default()
        },
    )
    .await
}

/// Where masterclasses are announced (their threads open there too).
#[poise::command(slash_command)]
pub async fn channel(
    ctx: Ctx<'_>,
    #[description = "A text channel"]
    #[channel_types("Text")]
    channel: serenity::GuildChannel,
) -> Result<(), Error> {
    let change = GuildSettingsChange {
        announcement_channel_id: Some(ChannelId(channel.id.get())),
        ..Default::default()
    };
    change_settings(ctx, change).await
}

/// The capacity a new masterclass gets unless the host chooses one.
#[poise::command(slash_command)]
pub async fn capacity(
    ctx: Ctx<'_>,
    #[description = "Seats, 1–1000"] seats: i64,
) -> Result<(), Error> {
    change_settings(
        ctx,
        GuildSettingsChange {
            default_capacity: Some(seats),
            ..Default::default()
        },
    )
    .await
}

/// When reminders go out, e.g. `24h, 15m`.
#[poise::command(slash_command)]
pub async fn reminders(
    ctx: Ctx<'_>,
    #[description = "Offsets before the start, e.g. 24h, 15m"] offsets: String,
) -> Result<(), Error> {
    change_settings(
        ctx,
        GuildSettingsChange {
            reminder_offsets: Some(offsets),
            ..Default::default()
        },
    )
    .await
}

/// The server's time zone (used when a host has none).
#[poise::command(slash_command, rename = "timezone")]
pub async fn server_timezone(
    ctx: Ctx<'_>,
    #[description = "An IANA zone such as Europe/Paris"]
    #[autocomplete = "complete_zone"]
    zone: String,
) -> Result<(), Error> {
    change_settings(
        ctx,
        GuildSettingsChange {
            time_zone: Some(zone),
            ..Default::default()
        },
    )
    .await
}

/// What /help says about getting support here.
#[poise::command(slash_command)]
pub async fn support(
    ctx: Ctx<'_>,
    #[description = "e.g. Ask in #help or DM a moderator"] text: String,
) -> Result<(), Error> {
    change_settings(
        ctx,
        GuildSettingsChange {
            support_text: Some(text),
            ..Default::default()
        },
    )
    .await
}

/// Private threads (default) or public ones.
#[poise::command(slash_command)]
pub async fn threads(
    ctx: Ctx<'_>,
    #[description = "Public threads?"] public: bool,
) -> Result<(), Error> {
    change_settings(
        ctx,
        GuildSettingsChange {
            public_threads: Some(public),
            ..Default::default()
        },
    )
    .await
}

/// Notifications and Discord objects that failed or are being retried.
#[poise::command(slash_command)]
pub async fn deliveries(ctx: Ctx<'_>) -> Result<(), Error> {
    let caller = caller(ctx)?;
    let service = &ctx.data().service;
    let problems = service.delivery_problems(&caller, 20).await?;
    let discord_side = service.sync_problems(&caller, 10).await?;
    if problems.is_empty() && discord_side.is_empty() {
        return say(
            ctx,
            "Every notification so far was delivered (or is simply not due yet), and every announcement, thread and event is in step.",
        )
        .await;
    }
    let lines: Vec<String> = discord_side
        .iter()
        .map(crate::service::describe_sync)
        .chain(problems.iter().map(crate::service::describe))
        .collect();
    let embed = CreateEmbed::new()
        .title("Notifications and Discord objects with problems")
        .description(render::truncate(&lines.join("\n"), 4096));
    answer(ctx, CreateReply::default().embed(embed)).await
}

/// What this bot does and how to get help.
#[poise::command(slash_command)]
pub async fn help(ctx: Ctx<'_>) -> Result<(), Error> {
    let support = match ctx.guild_id() {
        Some(guild) => {
            ctx.data()
                .service
                .guild_settings(crate::domain::GuildId(guild.get()))
                .await?
                .support_text
        }
        None => None,
    };
    let text = format!(
        "**Masterclasses** are group sessions hosted by mentors.\n\
         • `/masterclass list` shows what's coming; press **Join** to take a seat (or a waitlist place).\n\
         • Each masterclass has a thread for questions; attendees are added to it.\n\
         • `/masterclass sessions` lists yours; `/masterclass calendar` gives a calendar file.\n\
         • Mentors: `/masterclass host`. The date and time can't change later: to reschedule, cancel and host again.\n\
         • `/settings` for your time zone, DMs and email.\n\n**Support:** {}",
        support.as_deref().unwrap_or("ask a server admin.")
    );
    say(ctx, text).await
}
