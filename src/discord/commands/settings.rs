//! `/settings …`: a member's own time zone, notifications and email address, and their data:
//! a copy of all of it, or forgetting it.

use super::{answer, complete_zone, defer, say, Ctx, Error};
use crate::discord::render::Action;
use crate::domain::UserId;
use chrono::Utc;
use poise::serenity_prelude as serenity;
use poise::CreateReply;
use serenity::{ButtonStyle, CreateActionRow, CreateAttachment, CreateButton};

/// Your own settings: time zone, notifications, email, and your data.
#[poise::command(
    slash_command,
    subcommands("timezone", "notifications", "email", "my_data", "forget_me")
)]
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

// Works in a DM with the bot too (typing an address there is more private): member settings
// are the same in every server.
/// Set your address: a 6-digit code is sent to it.
#[poise::command(slash_command, rename = "set")]
pub async fn email_set(
    ctx: Ctx<'_>,
    #[description = "Your email address"] address: String,
) -> Result<(), Error> {
    let guild = ctx.guild_id().map_or(crate::domain::GuildId::NONE, |g| {
        crate::domain::GuildId(g.get())
    });
    let user = UserId(ctx.author().id.get());
    ctx.data()
        .service
        .request_email_code(guild, user, &address, Utc::now())
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

/// A file of everything the bot stores about you.
#[poise::command(slash_command, rename = "my-data")]
pub async fn my_data(ctx: Ctx<'_>) -> Result<(), Error> {
    defer(ctx).await?;
    let user = UserId(ctx.author().id.get());
    let data = ctx.data().service.member_data(user, Utc::now()).await?;
    let json = serde_json::to_vec_pretty(&data).map_err(anyhow::Error::from)?;
    let file = CreateAttachment::bytes(json, "my-data.json");
    let text = "Everything I store about you, in every server: settings, email address, sign-ups, \
                masterclasses you host, your activity and notifications not yet sent. \
                `/settings forget-me` erases it.";
    answer(ctx, CreateReply::default().content(text).attachment(file)).await
}

/// Erase everything about you: leave upcoming masterclasses, cancel those you host.
#[poise::command(slash_command, rename = "forget-me")]
pub async fn forget_me(ctx: Ctx<'_>) -> Result<(), Error> {
    let user = ctx.author().id.get();
    let buttons = CreateActionRow::Buttons(vec![
        CreateButton::new(Action::ForgetMe(user).custom_id())
            .label("Forget me")
            .style(ButtonStyle::Danger),
        CreateButton::new(Action::KeepMyData(user).custom_id())
            .label("Keep my data")
            .style(ButtonStyle::Secondary),
    ]);
    answer(
        ctx,
        CreateReply::default()
            .content(FORGET_ME_WARNING)
            .components(vec![buttons]),
    )
    .await
}

pub const FORGET_ME_WARNING: &str = "**Forget you everywhere this bot runs?** You leave every \
    upcoming masterclass (as for any leave: your seat goes to the waitlist), the upcoming masterclasses you host \
    are cancelled (attendees read \"the host left the community\"), notifications not yet sent \
    to you are dropped, and your settings and email address are deleted. Past masterclasses keep \
    their numbers, not you. This can't be undone.";
