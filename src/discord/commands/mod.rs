//! Slash commands and the user context menu, a module per feature. Each one: read the options,
//! call the service, render the answer (ephemeral: only the caller sees it).

mod admin;
mod help;
pub(super) mod host;
mod manage;
mod membership;
mod place;
mod settings;

use super::flows::caller_of;
use super::render;
use super::{Ctx, Data, Error};
use crate::domain::{Caller, TimeZone, UserError};
use chrono::Utc;
use poise::serenity_prelude as serenity;
use poise::CreateReply;
use serenity::{AutocompleteChoice, CreateAutocompleteResponse};

use place::place;

/// Every command registered with Discord, in registration order. What Discord sees (names,
/// options, descriptions) comes from the functions, their attributes and doc comments, not from
/// the module they live in.
pub fn all() -> Vec<poise::Command<Data, Error>> {
    vec![
        masterclass(),
        settings::settings(),
        admin::masterclass_admin(),
        help::help(),
        membership::masterclasses_of(),
    ]
}

/// Host, find, join and leave masterclasses.
#[poise::command(
    slash_command,
    guild_only,
    subcommands(
        "host::host",
        "membership::list",
        "membership::join",
        "membership::leave",
        "membership::participants",
        "manage::cancel",
        "manage::edit",
        "manage::remove",
        "membership::sessions",
        "membership::calendar"
    )
)]
pub async fn masterclass(_ctx: Ctx<'_>) -> Result<(), Error> {
    Ok(())
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
