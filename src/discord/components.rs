//! Buttons and forms, handled from their custom_id and the database alone, so they keep working
//! after a restart. A custom_id is parsed strictly; anything else is refused and changes nothing.

use super::flows::{self, caller_of};
use super::render::{self, Action};
use super::{mirror, Data, Error};
use crate::domain::{Caller, MasterclassId, UserError};
use crate::email::{masterclass_ics, IcsEvent, IcsMethod};
use crate::service::HostRequest;
use chrono::Utc;
use poise::serenity_prelude as serenity;
use serenity::{
    ActionRowComponent, ComponentInteraction, CreateAttachment, CreateEmbed,
    CreateInteractionResponse, CreateInteractionResponseMessage, EditInteractionResponse,
    ModalInteraction,
};

pub async fn on_event(
    framework: poise::FrameworkContext<'_, Data, Error>,
    event: &serenity::FullEvent,
) -> Result<(), Error> {
    let serenity::FullEvent::InteractionCreate { interaction } = event else {
        return Ok(());
    };
    let ctx = framework.serenity_context;
    let data = framework.user_data;
    match interaction {
        serenity::Interaction::Component(click) => {
            let outcome = on_click(ctx, data, click).await;
            answer_failure(ctx, &click.data.custom_id, outcome, |reply| {
                click.create_response(ctx, reply)
            })
            .await
        }
        serenity::Interaction::Modal(form) => {
            let outcome = on_form(ctx, data, form).await;
            answer_failure(ctx, &form.data.custom_id, outcome, |reply| {
                form.create_response(ctx, reply)
            })
            .await
        }
        _ => {}
    }
    Ok(())
}

/// Turns a failed handler into an ephemeral answer (handlers answer themselves on success).
async fn answer_failure<F, Fut>(
    _ctx: &serenity::Context,
    custom_id: &str,
    outcome: Result<(), Error>,
    respond: F,
) where
    F: FnOnce(CreateInteractionResponse) -> Fut,
    Fut: std::future::Future<Output = serenity::Result<()>>,
{
    if let Err(error) = outcome {
        let text = error.user_message(&format!("component {custom_id}"));
        let reply = CreateInteractionResponseMessage::new()
            .content(text)
            .ephemeral(true);
        if let Err(e) = respond(CreateInteractionResponse::Message(reply)).await {
            tracing::warn!(error = %e, custom_id, "could not answer an interaction");
        }
    }
}

/// Fills in a deferred answer with the result or the refusal.
async fn answer_deferred(
    ctx: &serenity::Context,
    click: &ComponentInteraction,
    outcome: Result<String, Error>,
) -> Result<(), Error> {
    let text = match outcome {
        Ok(text) => text,
        Err(error) => error.user_message(&format!("component {}", click.data.custom_id)),
    };
    let edit = EditInteractionResponse::new().content(render::truncate(&text, 2000));
    click.edit_response(ctx, edit).await?;
    Ok(())
}

fn click_caller(click: &ComponentInteraction) -> Result<Caller, Error> {
    caller_of(click.guild_id, click.member.as_ref(), &click.user)
}

async fn on_click(
    ctx: &serenity::Context,
    data: &Data,
    click: &ComponentInteraction,
) -> Result<(), Error> {
    // A custom_id we did not make (or that someone forged) is refused before anything else.
    let action = Action::parse(&click.data.custom_id).ok_or(UserError::Expired)?;
    let caller = click_caller(click)?;
    match action {
        // Seats are decided one transaction at a time: under a burst of clicks the answer may
        // take longer than Discord's 3 s, so acknowledge first and answer in the same message.
        Action::Join(id) => {
            click.defer_ephemeral(ctx).await?;
            let outcome = flows::join(ctx, data, &caller, id).await;
            answer_deferred(ctx, click, outcome).await?;
        }
        Action::Leave(id) => {
            click.defer_ephemeral(ctx).await?;
            let outcome = flows::leave(ctx, data, &caller, id).await;
            answer_deferred(ctx, click, outcome).await?;
        }
        Action::Participants(id) => {
            let embed = participants_embed(data, &caller, id).await?;
            let reply = CreateInteractionResponseMessage::new()
                .embed(embed)
                .ephemeral(true);
            click
                .create_response(ctx, CreateInteractionResponse::Message(reply))
                .await?;
        }
        Action::Calendar(id) => {
            let mc = data.service.masterclass(&caller, id).await?;
            let ics = masterclass_ics(&IcsEvent::of(&mc), IcsMethod::Publish);
            let file = CreateAttachment::bytes(ics.into_bytes(), "masterclass.ics");
            let reply = CreateInteractionResponseMessage::new()
                .content("Open the file to add this masterclass to your calendar.")
                .add_file(file)
                .ephemeral(true);
            click
                .create_response(ctx, CreateInteractionResponse::Message(reply))
                .await?;
        }
        Action::Save(key) => save(ctx, data, click, &caller, key).await?,
        Action::Discard(key) => {
            let draft = data.pending.take_draft(key).ok_or(UserError::Expired)?;
            if draft.host_id != caller.user_id {
                return Err(UserError::NotYours.into());
            }
            let update = CreateInteractionResponseMessage::new()
                .content("Discarded. Nothing was saved.")
                .embeds(vec![])
                .components(vec![]);
            click
                .create_response(ctx, CreateInteractionResponse::UpdateMessage(update))
                .await?;
        }
        Action::ConfirmCancel(key) => {
            let request = data.pending.take_cancel(key).ok_or(UserError::Expired)?;
            if request.user_id != caller.user_id || request.guild_id != caller.guild_id {
                return Err(UserError::NotYours.into());
            }
            click
                .create_response(ctx, CreateInteractionResponse::Acknowledge)
                .await?;
            let cancelled = data
                .service
                .cancel(&caller, request.masterclass_id, &request.reason, Utc::now())
                .await?;
            data.wake_worker.notify_one();
            let mc = &cancelled.masterclass;
            data.refresher.refresh(&ctx.http, &data.service, mc).await;
            mirror::sync_event(&ctx.http, mc).await;
            let told = cancelled.attending.len() + cancelled.waitlist.len();
            let edit = EditInteractionResponse::new()
                .content(format!(
                    "**{}** is cancelled. {told} member(s) are being told why.",
                    render::truncate(&mc.title, 100)
                ))
                .components(vec![]);
            click.edit_response(ctx, edit).await?;
        }
        Action::KeepMasterclass(key) => {
            data.pending.take_cancel(key);
            let update = CreateInteractionResponseMessage::new()
                .content("Nothing changed.")
                .components(vec![]);
            click
                .create_response(ctx, CreateInteractionResponse::UpdateMessage(update))
                .await?;
        }
        Action::HostForm(_) => return Err(UserError::Expired.into()),
    }
    Ok(())
}

/// Save: store the masterclass, then announce it, open its thread and create its event.
async fn save(
    ctx: &serenity::Context,
    data: &Data,
    click: &ComponentInteraction,
    caller: &Caller,
    key: u64,
) -> Result<(), Error> {
    let draft = data.pending.draft(key).ok_or(UserError::Expired)?;
    if draft.host_id != caller.user_id || draft.guild_id != caller.guild_id {
        return Err(UserError::NotYours.into());
    }
    let new = draft.checked.ok_or(UserError::Expired)?;
    // Publishing takes several requests: acknowledge now, edit the preview when done.
    click
        .create_response(ctx, CreateInteractionResponse::Acknowledge)
        .await?;
    let hosted = data.service.host(caller, new, Utc::now()).await?;
    data.pending.take_draft(key);
    data.wake_worker.notify_one();
    let settings = data.service.guild_settings(caller.guild_id).await?;
    let (ids, problems) =
        mirror::publish(ctx, &settings, &hosted.masterclass, &hosted.attending).await;
    data.service
        .set_discord_ids(hosted.masterclass.id, ids)
        .await?;
    let mut text = format!(
        "Saved! **{}** is announced",
        render::truncate(&hosted.masterclass.title, 100)
    );
    if let Some(channel) = ids.announcement_channel_id {
        text.push_str(&format!(" in <#{channel}>"));
    }
    if let Some(thread) = ids.thread_id {
        text.push_str(&format!("; its thread is <#{thread}>"));
    }
    text.push('.');
    if !problems.is_empty() {
        text.push_str(&format!("\nBut: {}.", problems.join("; ")));
    }
    let edit = EditInteractionResponse::new()
        .content(render::truncate(&text, 2000))
        .components(vec![]);
    click.edit_response(ctx, edit).await?;
    Ok(())
}

async fn on_form(
    ctx: &serenity::Context,
    data: &Data,
    form: &ModalInteraction,
) -> Result<(), Error> {
    let Some(Action::HostForm(key)) = Action::parse(&form.data.custom_id) else {
        return Err(UserError::Expired.into());
    };
    let caller = caller_of(form.guild_id, form.member.as_ref(), &form.user)?;
    let mut draft = data.pending.draft(key).ok_or(UserError::Expired)?;
    if draft.host_id != caller.user_id || draft.guild_id != caller.guild_id {
        return Err(UserError::NotYours.into());
    }
    let field = |name: &str| -> Option<String> {
        form.data
            .components
            .iter()
            .flat_map(|row| &row.components)
            .find_map(|c| match c {
                ActionRowComponent::InputText(input) if input.custom_id == name => {
                    input.value.clone()
                }
                _ => None,
            })
    };
    let request = HostRequest {
        title: field("title").unwrap_or_default(),
        description: field("description").unwrap_or_default(),
        start: field("start").unwrap_or_default(),
        duration_minutes: field("duration"),
        capacity: field("capacity"),
        location: draft.location.clone(),
        guests: draft.guests.clone(),
        time_zone: draft.time_zone.clone(),
    };
    let new = data
        .service
        .prepare_host(&caller, request, Utc::now())
        .await?;
    let embed = render::preview(&new, caller.user_id);
    draft.checked = Some(new);
    data.pending.update_draft(key, draft);
    let reply = CreateInteractionResponseMessage::new()
        .content(
            "Here's your masterclass. Check it, then **Save** (nothing is stored before that).",
        )
        .embed(embed)
        .components(render::preview_buttons(key))
        .ephemeral(true);
    form.create_response(ctx, CreateInteractionResponse::Message(reply))
        .await?;
    Ok(())
}

/// Attendees, then the waitlist with positions.
pub async fn participants_embed(
    data: &Data,
    caller: &Caller,
    id: MasterclassId,
) -> Result<CreateEmbed, Error> {
    let list = data.service.participants(caller, id).await?;
    let mc = &list.masterclass;
    let attending = if list.attending.is_empty() {
        "Nobody yet.".to_owned()
    } else {
        render::mention_list(&list.attending, false, 1000)
    };
    let mut embed = CreateEmbed::new()
        .title(render::truncate(
            &format!("Participants: {}", mc.title),
            256,
        ))
        .field(
            format!("Attending ({}/{})", list.attending.len(), mc.capacity),
            attending,
            false,
        );
    if !list.waitlist.is_empty() {
        embed = embed.field(
            format!("Waitlist ({})", list.waitlist.len()),
            render::mention_list(&list.waitlist, true, 1000),
            false,
        );
    }
    Ok(embed.field("Host", format!("<@{}>", mc.host_id), false))
}
