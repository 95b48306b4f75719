//! `/masterclass-admin …`: the server's settings (Manage Server), and the deliveries that failed.

use super::{answer, caller, complete_zone, say, Ctx, Error};
use crate::discord::render;
use crate::domain::{ChannelId, RoleId, UserError};
use crate::service::GuildSettingsChange;
use chrono::Utc;
use poise::serenity_prelude as serenity;
use poise::CreateReply;
use serenity::CreateEmbed;

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
