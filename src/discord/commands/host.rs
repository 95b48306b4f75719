//! `/masterclass host`: guests, a place and a time zone as options, then the form.

use super::{caller, complete_zone, place, Ctx, Error};
use crate::discord::pending::{Draft, FormValues};
use crate::discord::render::Action;
use crate::domain::{TimeZone, UserError, UserId, MAX_GUESTS};
use poise::serenity_prelude as serenity;
use serenity::{
    CreateActionRow, CreateInputText, CreateInteractionResponse, CreateModal, InputTextStyle,
};

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

/// Everyone invited, once each (`guest` first, then the mentions), counted before anyone is
/// looked up: 200 mentions must not become 200 requests before a form due within 3 seconds.
fn invited(guest: Option<u64>, mentions: Vec<u64>) -> Result<Vec<u64>, UserError> {
    let mut ids: Vec<u64> = Vec::new();
    for id in guest.into_iter().chain(mentions) {
        if !ids.contains(&id) {
            ids.push(id);
        }
        if ids.len() > MAX_GUESTS {
            return Err(UserError::TooManyGuests);
        }
    }
    Ok(ids)
}

/// Each guest with whether it is a bot. A guest must be a member of this server (one who is
/// not would take a seat and get DMs about a server they never joined): the interaction says so
/// for the users it resolved; the others are looked up (the cache first, then Discord).
async fn with_bot_flags(
    ctx: Ctx<'_>,
    guild: serenity::GuildId,
    ids: Vec<u64>,
) -> Result<Vec<(UserId, bool)>, Error> {
    let resolved = match ctx {
        poise::Context::Application(app) => Some(&app.interaction.data.resolved),
        poise::Context::Prefix(_) => None,
    };
    let mut guests = Vec::with_capacity(ids.len());
    for id in ids {
        let user = serenity::UserId::new(id);
        let resolved_member = resolved
            .filter(|r| r.members.contains_key(&user))
            .and_then(|r| r.users.get(&user));
        let is_bot = match resolved_member {
            Some(member) => member.bot,
            None => match guild.member(ctx, user).await {
                Ok(member) => member.user.bot,
                Err(serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(answer)))
                    if answer.error.code == UNKNOWN_MEMBER =>
                {
                    return Err(UserError::GuestNotMember { user: UserId(id) }.into());
                }
                Err(error) => return Err(error.into()),
            },
        };
        guests.push((UserId(id), is_bot));
    }
    Ok(guests)
}

/// Discord's answer for a user who is not a member of the server.
const UNKNOWN_MEMBER: isize = 10007;

/// The host form of draft `key`, filled in with `typed` (blank on first opening; what the host
/// typed when **Fix it** reopens it after a refusal).
pub fn form(key: u64, default_capacity: u32, typed: &FormValues) -> CreateModal {
    let input = |style, label: &str, id: &str, value: &str| {
        let input = CreateInputText::new(style, label, id);
        // Discord refuses an empty value where a minimum length is set: blank stays unset.
        if value.is_empty() {
            input
        } else {
            input.value(value)
        }
    };
    CreateModal::new(Action::HostForm(key).custom_id(), "Host a masterclass").components(vec![
        CreateActionRow::InputText(
            input(InputTextStyle::Short, "Title", "title", &typed.title)
                .min_length(1)
                .max_length(100),
        ),
        CreateActionRow::InputText(
            input(
                InputTextStyle::Paragraph,
                "Description",
                "description",
                &typed.description,
            )
            .min_length(1)
            .max_length(1000),
        ),
        CreateActionRow::InputText(
            input(InputTextStyle::Short, "Start", "start", &typed.start)
                .placeholder("2026-03-14 18:00, or tomorrow 18:00")
                .max_length(100),
        ),
        CreateActionRow::InputText(
            input(
                InputTextStyle::Short,
                "Duration in minutes (15–480)",
                "duration",
                &typed.duration,
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
                &typed.capacity,
            )
            .placeholder(default_capacity.to_string())
            .required(false)
            .max_length(4),
        ),
    ])
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
    let location = place(&caller, channel, link)?;
    if let Some(zone) = &time_zone {
        TimeZone::parse(zone)?;
    }
    let mentions = mentioned_users(guests.as_deref().unwrap_or(""))?;
    let ids = invited(guest.map(|user| user.id.get()), mentions)?;
    let guild = serenity::GuildId::new(caller.guild_id.0);
    let guest_list = with_bot_flags(ctx, guild, ids).await?;
    let draft = Draft {
        guild_id: caller.guild_id,
        host_id: caller.user_id,
        guests: guest_list,
        location,
        time_zone,
        typed: FormValues::default(),
        checked: None,
    };
    let key = ctx.data().pending.add_draft(draft);
    let modal = form(key, settings.default_capacity.get(), &FormValues::default());
    if let poise::Context::Application(app) = ctx {
        app.interaction
            .create_response(ctx, CreateInteractionResponse::Modal(modal))
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guests_are_counted_once_each_and_at_most_25() {
        assert_eq!(invited(Some(1), vec![2, 1, 2, 3]), Ok(vec![1, 2, 3]));
        let many: Vec<u64> = (1..=25).cycle().take(60).collect();
        assert_eq!(invited(None, many).map(|ids| ids.len()), Ok(25));
        assert_eq!(
            invited(Some(100), (1..=25).collect()),
            Err(UserError::TooManyGuests)
        );
    }

    #[test]
    fn guests_are_mentions_and_anything_else_is_refused() {
        assert_eq!(mentioned_users("<@1> <@!2>,<@3>").ok(), Some(vec![1, 2, 3]));
        assert_eq!(mentioned_users("  ").ok(), Some(vec![]));
        for bad in ["<@123> not-a-mention", "@someone", "<@x>", "<#5>"] {
            assert!(
                matches!(
                    mentioned_users(bad),
                    Err(Error::User(UserError::BadGuestList))
                ),
                "{bad}"
            );
        }
    }
}
