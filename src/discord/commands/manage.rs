//! The host's (or an admin's) changes to a masterclass: cancel, edit, remove a member.

use super::{answer, caller, complete_masterclass, defer, place, say, Ctx, Error};
use crate::discord::flows::{self, masterclass_id};
use crate::discord::pending::CancelRequest;
use crate::discord::render::{self, Action};
use crate::domain::UserId;
use crate::service::MasterclassEdit;
use chrono::Utc;
use poise::serenity_prelude as serenity;
use poise::CreateReply;
use serenity::{ButtonStyle, CreateActionRow, CreateButton};

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
        "Cancel **{}**, {}? {} attending and {} waiting will be told:\n> {}\nThis can't be undone.",
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
    let location = place(&caller, channel, link)?;
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
