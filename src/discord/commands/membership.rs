//! Finding masterclasses and taking part: the list (and the "Masterclasses" context menu), join,
//! leave, participants, your sessions and their calendar file.

use super::{answer, caller, complete_masterclass, defer, say, Ctx, Error};
use crate::calendar::{calendar_of, IcsEvent};
use crate::discord::flows::{self, masterclass_id};
use crate::discord::render::{self, Action};
use crate::domain::{plural, MasterclassId, UserId};
use crate::service::{SessionFilter, SessionRole};
use chrono::Utc;
use poise::serenity_prelude as serenity;
use poise::CreateReply;
use serenity::{ButtonStyle, CreateActionRow, CreateAttachment, CreateButton, CreateEmbed};

fn join_buttons(ids: impl Iterator<Item = (MasterclassId, String)>) -> Vec<CreateActionRow> {
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
    let embed = crate::discord::components::participants_embed(
        ctx.data(),
        &caller,
        masterclass_id(&masterclass)?,
    )
    .await?;
    answer(ctx, CreateReply::default().embed(embed)).await
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
    let text = calendar_text(events.len());
    answer(ctx, CreateReply::default().content(text).attachment(file)).await
}

/// "1 upcoming session. Open the file to add it to your calendar." (the pronoun follows the count).
fn calendar_text(sessions: usize) -> String {
    format!(
        "{}. Open the file to add {} to your calendar.",
        plural(sessions as u64, "upcoming session", "upcoming sessions"),
        if sessions == 1 { "it" } else { "them" }
    )
}

#[cfg(test)]
mod tests {
    use super::calendar_text;

    #[test]
    fn the_calendar_answer_counts_in_words() {
        assert_eq!(
            calendar_text(1),
            "1 upcoming session. Open the file to add it to your calendar."
        );
        assert_eq!(
            calendar_text(3),
            "3 upcoming sessions. Open the file to add them to your calendar."
        );
    }
}
