//! `/help`: what the bot does, and where this server offers support.

use super::{say, Ctx, Error};

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
