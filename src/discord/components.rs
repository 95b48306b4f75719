//! Buttons and forms, handled from their custom_id and the database alone, so they keep working
//! after a restart. A custom_id is parsed strictly; anything else is refused and changes nothing.

use super::commands::host;
use super::error::user_message;
use super::flows::{self, caller_of};
use super::pending::{FormValues, SaveStart};
use super::render::{self, Action};
use super::{reply, Data, Error};
use crate::calendar::{masterclass_ics, IcsEvent, IcsMethod};
use crate::domain::{plural, Caller, Masterclass, MasterclassId, UserError, UserId};
use crate::service::HostRequest;
use chrono::Utc;
use futures::FutureExt as _;
use poise::serenity_prelude as serenity;
use serenity::{
    ActionRowComponent, ComponentInteraction, CreateAttachment, CreateEmbed,
    CreateInteractionResponse, EditInteractionResponse, ModalInteraction,
};

pub async fn on_event(
    framework: poise::FrameworkContext<'_, Data, Error>,
    event: &serenity::FullEvent,
) -> Result<(), Error> {
    let ctx = framework.serenity_context;
    let data = framework.user_data;
    match event {
        serenity::FullEvent::InteractionCreate { interaction } => match interaction {
            // The interaction's span (id, guild, user, custom_id) is opened around the whole
            // dispatch: see `Traced` in the parent module.
            serenity::Interaction::Component(click) => {
                let mut acked = false;
                let outcome = guarded(on_click(ctx, data, click, &mut acked)).await;
                answer_failure(
                    ctx,
                    &click.data.custom_id,
                    outcome,
                    acked,
                    |reply| click.create_response(ctx, reply),
                    |edit| click.edit_response(ctx, edit),
                )
                .await
            }
            serenity::Interaction::Modal(form) => {
                let outcome = guarded(on_form(ctx, data, form)).await;
                answer_failure(
                    ctx,
                    &form.data.custom_id,
                    outcome,
                    false,
                    |reply| form.create_response(ctx, reply),
                    |edit| form.edit_response(ctx, edit),
                )
                .await
            }
            _ => {}
        },
        serenity::FullEvent::ThreadUpdate { new, .. } => {
            let archived = new.thread_metadata.is_some_and(|meta| meta.archived);
            if archived {
                let thread = crate::domain::ChannelId(new.id.get());
                match data.service.thread_archived(thread).await {
                    Ok(true) => data.wake_sync.notify_one(),
                    Ok(false) => {}
                    Err(error) => {
                        tracing::warn!(%error, %thread, "could not note an archived thread")
                    }
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// A panicking handler (a bug) still gets the user an answer.
async fn guarded(
    handler: impl std::future::Future<Output = Result<(), Error>>,
) -> Result<(), Error> {
    std::panic::AssertUnwindSafe(handler)
        .catch_unwind()
        .await
        .unwrap_or_else(|_| Err(anyhow::anyhow!("the handler panicked").into()))
}

/// Turns a failed handler into an ephemeral answer (handlers answer themselves on success):
/// the initial response, or an edit of it once the interaction was acknowledged (Discord
/// refuses a second initial response).
async fn answer_failure<R, RFut, E, EFut>(
    _ctx: &serenity::Context,
    custom_id: &str,
    outcome: Result<(), Error>,
    acked: bool,
    respond: R,
    edit: E,
) where
    R: FnOnce(CreateInteractionResponse) -> RFut,
    RFut: std::future::Future<Output = serenity::Result<()>>,
    E: FnOnce(EditInteractionResponse) -> EFut,
    EFut: std::future::Future<Output = serenity::Result<serenity::Message>>,
{
    let Err(error) = outcome else { return };
    let text = user_message(&error, &format!("component {custom_id}"));
    let sent = if acked {
        let change = reply::edit()
            .content(text)
            .embeds(vec![])
            .components(vec![]);
        edit(change).await.map(drop)
    } else {
        let message = reply::private().content(text);
        respond(CreateInteractionResponse::Message(message)).await
    };
    if let Err(e) = sent {
        tracing::warn!(error = %e, custom_id, "could not answer an interaction");
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
        Err(error) => user_message(&error, &format!("component {}", click.data.custom_id)),
    };
    let edit = reply::edit().content(render::truncate(&text, 2000));
    click.edit_response(ctx, edit).await?;
    Ok(())
}

fn click_caller(click: &ComponentInteraction) -> Result<Caller, Error> {
    caller_of(click.guild_id, click.member.as_ref(), &click.user)
}

/// Handles a click; `acked` tells the caller whether Discord has the initial response already.
async fn on_click(
    ctx: &serenity::Context,
    data: &Data,
    click: &ComponentInteraction,
    acked: &mut bool,
) -> Result<(), Error> {
    // A custom_id we did not make (or that someone forged) is refused before anything else.
    let action = Action::parse(&click.data.custom_id).ok_or(UserError::Expired)?;
    // Forget-me works wherever `/settings` does, in a DM too: it needs no server.
    if let Action::ForgetMe(user) | Action::KeepMyData(user) = action {
        return forget_me(ctx, data, click, action, UserId(user), acked).await;
    }
    let caller = click_caller(click)?;
    let reply = |text: String| {
        let message = reply::private().content(render::truncate(&text, 2000));
        CreateInteractionResponse::Message(message)
    };
    match action {
        // Seats are decided one transaction at a time: under a burst of clicks the answer may
        // take longer than Discord's 3 s, so acknowledge first and answer in the same message.
        Action::Join(id) => {
            click.defer_ephemeral(ctx).await?;
            *acked = true;
            let outcome = flows::join(data, &caller, id).await;
            answer_deferred(ctx, click, outcome).await?;
        }
        Action::Leave(id) => {
            click.defer_ephemeral(ctx).await?;
            *acked = true;
            let outcome = flows::leave(data, &caller, id).await;
            answer_deferred(ctx, click, outcome).await?;
        }
        Action::Participants(id) => {
            let embed = participants_embed(data, &caller, id).await?;
            let message = reply::private().embed(embed);
            click
                .create_response(ctx, CreateInteractionResponse::Message(message))
                .await?;
        }
        Action::Calendar(id) => {
            let mc = data.service.masterclass(&caller, id).await?;
            let ics = masterclass_ics(&IcsEvent::of(&mc), IcsMethod::Publish);
            let file = CreateAttachment::bytes(ics.into_bytes(), "masterclass.ics");
            let message = reply::private()
                .content("Open the file to add this masterclass to your calendar.")
                .add_file(file);
            click
                .create_response(ctx, CreateInteractionResponse::Message(message))
                .await?;
        }
        Action::Save(key) => save(ctx, data, click, &caller, key, acked).await?,
        Action::Discard(key) => {
            data.pending.discard_draft(key, &caller)?;
            let update = reply::update()
                .content("Discarded. Nothing was saved.")
                .embeds(vec![])
                .components(vec![]);
            click
                .create_response(ctx, CreateInteractionResponse::UpdateMessage(update))
                .await?;
        }
        Action::ConfirmCancel(key) => {
            let request = data.pending.take_cancel(key, &caller)?;
            click
                .create_response(ctx, CreateInteractionResponse::Acknowledge)
                .await?;
            *acked = true;
            let cancelled = data
                .service
                .cancel(&caller, request.masterclass_id, &request.reason, Utc::now())
                .await?;
            data.changed();
            let mc = &cancelled.masterclass;
            let told = cancelled.attending.len() + cancelled.waitlist.len();
            let edit = reply::edit()
                .content(format!(
                    "**{}** is cancelled. Telling {} why.",
                    render::truncate(&mc.title, 100),
                    plural(told as u64, "member", "members")
                ))
                .components(vec![]);
            click.edit_response(ctx, edit).await?;
        }
        Action::KeepMasterclass(key) => {
            data.pending.take_cancel(key, &caller)?;
            let update = reply::update()
                .content("Nothing changed.")
                .components(vec![]);
            click
                .create_response(ctx, CreateInteractionResponse::UpdateMessage(update))
                .await?;
        }
        // The form again, as typed: only for the host, and only while they may still host.
        Action::FixForm(key) => {
            let draft = data.pending.own_draft(key, &caller)?;
            let settings = data.service.ensure_can_host(&caller).await?;
            let form = host::form(key, settings.default_capacity.get(), &draft.typed);
            click
                .create_response(ctx, CreateInteractionResponse::Modal(form))
                .await?;
        }
        Action::ForgetMe(_) | Action::KeepMyData(_) => unreachable!("answered above"),
        Action::HostForm(_) => {
            click
                .create_response(ctx, reply(UserError::Expired.to_string()))
                .await?;
        }
    }
    Ok(())
}

/// Forget-me's answer: only the member it was shown to may press it.
async fn forget_me(
    ctx: &serenity::Context,
    data: &Data,
    click: &ComponentInteraction,
    action: Action,
    user: UserId,
    acked: &mut bool,
) -> Result<(), Error> {
    if click.user.id.get() != user.0 {
        return Err(UserError::NotYours.into());
    }
    if action == Action::KeepMyData(user.0) {
        let update = reply::update()
            .content("Nothing changed; your data stays.")
            .components(vec![]);
        click
            .create_response(ctx, CreateInteractionResponse::UpdateMessage(update))
            .await?;
        return Ok(());
    }
    click
        .create_response(ctx, CreateInteractionResponse::Acknowledge)
        .await?;
    *acked = true;
    let forgotten = data.service.forget_member(user, Utc::now()).await?;
    data.changed();
    let mut text = format!(
        "Done. You left {}.",
        plural(
            forgotten.left as u64,
            "upcoming masterclass",
            "upcoming masterclasses"
        )
    );
    if forgotten.cancelled > 0 {
        text += &format!(
            " {} you hosted {} cancelled; attendees are told.",
            plural(forgotten.cancelled as u64, "masterclass", "masterclasses"),
            if forgotten.cancelled == 1 {
                "is"
            } else {
                "are"
            },
        );
    }
    text += " Everything else I stored about you is erased.";
    let edit = reply::edit().content(text).components(vec![]);
    click.edit_response(ctx, edit).await?;
    Ok(())
}

/// Save: store the masterclass with everything it causes; the sync worker announces it, opens
/// its thread and creates its event.
async fn save(
    ctx: &serenity::Context,
    data: &Data,
    click: &ComponentInteraction,
    caller: &Caller,
    key: u64,
    acked: &mut bool,
) -> Result<(), Error> {
    let new = match data.pending.begin_save(key, caller)? {
        SaveStart::Draft(new) => new,
        SaveStart::Saving => {
            let message = reply::private().content("This masterclass is being saved already.");
            click
                .create_response(ctx, CreateInteractionResponse::Message(message))
                .await?;
            return Ok(());
        }
        SaveStart::Saved(id) => {
            let mc = data.service.masterclass(caller, id).await?;
            let message = reply::private().content(render::truncate(&saved_text(&mc), 2000));
            click
                .create_response(ctx, CreateInteractionResponse::Message(message))
                .await?;
            return Ok(());
        }
    };
    click
        .create_response(ctx, CreateInteractionResponse::Acknowledge)
        .await?;
    *acked = true;
    // Listening before the change: the sync worker may publish it before we look.
    let mut published = data.published.subscribe();
    let hosted = match data.service.host(caller, new, Utc::now()).await {
        Ok(hosted) => hosted,
        Err(error) => {
            data.pending.end_save(key, None);
            return Err(error);
        }
    };
    data.pending.end_save(key, Some(hosted.masterclass.id));
    data.changed();
    let mc = once_published(data, caller, hosted.masterclass, &mut published).await;
    // The whole preview goes: its embed and "check the time" footer describe a draft.
    let edit = reply::edit()
        .content(render::truncate(&saved_text(&mc), 2000))
        .embeds(vec![])
        .components(vec![]);
    click.edit_response(ctx, edit).await?;
    Ok(())
}

/// How long Save's answer waits for the announcement and the thread, to link them. They come
/// within a second when Discord answers; if not, the answer names the channel instead.
const PUBLISH_PATIENCE: std::time::Duration = std::time::Duration::from_secs(3);

/// The masterclass once its announcement and thread exist (as the sync worker tells), or as it
/// is after [`PUBLISH_PATIENCE`].
async fn once_published(
    data: &Data,
    caller: &Caller,
    saved: Masterclass,
    published: &mut tokio::sync::broadcast::Receiver<MasterclassId>,
) -> Masterclass {
    let deadline = tokio::time::Instant::now() + PUBLISH_PATIENCE;
    let mut mc = saved;
    loop {
        if mc.announcement_message_id.is_some() && mc.thread_id.is_some() {
            return mc;
        }
        match tokio::time::timeout_at(deadline, published.recv()).await {
            Ok(Ok(id)) if id != mc.id => continue,
            Ok(Ok(_)) | Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {}
            Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) | Err(_) => return mc,
        }
        match data.service.masterclass(caller, mc.id).await {
            Ok(now) => mc = now,
            Err(_) => return mc,
        }
    }
}

/// Where to look now: links to the announcement and the thread once they exist, else the
/// channel where they are about to appear.
fn saved_text(mc: &Masterclass) -> String {
    let title = render::truncate(&mc.title, 100);
    match (
        mc.announcement_channel_id,
        mc.announcement_message_id,
        mc.thread_id,
    ) {
        (Some(channel), Some(message), Some(thread)) => format!(
            "Saved! **{title}** is announced: https://discord.com/channels/{}/{channel}/{message} \
             Its discussion thread is <#{thread}>; the server event follows.",
            mc.guild_id
        ),
        (Some(channel), _, _) => format!(
            "Saved! **{title}** is announced in <#{channel}>; its discussion thread and server \
             event follow there."
        ),
        _ => {
            format!("Saved! **{title}** is announced with its discussion thread and server event.")
        }
    }
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
    let typed = FormValues {
        title: field("title").unwrap_or_default(),
        description: field("description").unwrap_or_default(),
        start: field("start").unwrap_or_default(),
        duration: field("duration").unwrap_or_default(),
        capacity: field("capacity").unwrap_or_default(),
    };
    let request = HostRequest {
        title: typed.title.clone(),
        description: typed.description.clone(),
        start: typed.start.clone(),
        duration_minutes: Some(typed.duration.clone()),
        capacity: Some(typed.capacity.clone()),
        location: draft.location.clone(),
        guests: draft.guests.clone(),
        time_zone: draft.time_zone.clone(),
    };
    // Kept before the check, so a refusal can reopen the form with it.
    draft.typed = typed;
    data.pending.update_draft(key, draft.clone());
    let new = match data
        .service
        .prepare_host(&caller, request, Utc::now())
        .await
    {
        Ok(new) => new,
        Err(Error::User(refusal)) if typed_wrong(&refusal) => {
            let message = reply::private()
                .content(refusal.to_string())
                .components(render::fix_button(key));
            form.create_response(ctx, CreateInteractionResponse::Message(message))
                .await?;
            return Ok(());
        }
        Err(error) => return Err(error),
    };
    let embed = render::preview(&new, caller.user_id);
    draft.checked = Some(new);
    data.pending.update_draft(key, draft);
    let message = reply::private()
        .content(
            "Here's your masterclass. Check it, then **Save** (nothing is stored before that).",
        )
        .embed(embed)
        .components(render::preview_buttons(key));
    form.create_response(ctx, CreateInteractionResponse::Message(message))
        .await?;
    Ok(())
}

/// A refusal of something typed in the host form, which the host can correct there: the
/// refusal carries **Fix it** (the rest, such as a missing role or a bad option of the command,
/// can't be fixed in the form).
fn typed_wrong(refusal: &UserError) -> bool {
    matches!(
        refusal,
        UserError::Empty { .. }
            | UserError::TooLong { .. }
            | UserError::ControlCharacters { .. }
            | UserError::StartInPast
            | UserError::StartTooFar
            | UserError::UnreadableStart(_)
            | UserError::SkippedStart { .. }
            | UserError::DurationOutOfRange
            | UserError::CapacityOutOfRange
    )
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
    Ok(embed.field("Host", render::person(mc.host_id), false))
}
