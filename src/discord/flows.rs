//! A join, a leave, a removal: the change, and the answer for the member. What Discord shows
//! (thread members, the announcement's counts) follows through the sync worker, which the
//! change marked due in its own transaction.

use super::{render, Data, Error};
use crate::domain::{Caller, GuildId, MasterclassId, RoleId, UserError, UserId};
use crate::service::ParticipantStatus;
use chrono::Utc;
use poise::serenity_prelude as serenity;

/// The caller of an interaction. Permissions come from the interaction itself, as Discord
/// computed them for this member in this channel.
pub fn caller_of(
    guild: Option<serenity::GuildId>,
    member: Option<&serenity::Member>,
    user: &serenity::User,
) -> Result<Caller, Error> {
    let (Some(guild), Some(member)) = (guild, member) else {
        return Err(UserError::GuildOnly.into());
    };
    let is_admin = member
        .permissions
        .is_some_and(|p| p.manage_guild() || p.administrator());
    Ok(Caller {
        guild_id: GuildId(guild.get()),
        user_id: UserId(user.id.get()),
        role_ids: member.roles.iter().map(|r| RoleId(r.get())).collect(),
        is_admin,
    })
}

/// Parses an autocomplete value back into an id. Anything else reads as "not found".
pub fn masterclass_id(value: &str) -> Result<MasterclassId, Error> {
    let valid = !value.is_empty() && value.len() <= 18 && value.bytes().all(|b| b.is_ascii_digit());
    let id = valid
        .then(|| value.parse::<i64>().ok())
        .flatten()
        .filter(|&id| id > 0);
    id.map(MasterclassId)
        .ok_or_else(|| UserError::NotFound.into())
}

pub async fn join(data: &Data, caller: &Caller, id: MasterclassId) -> Result<String, Error> {
    let outcome = data.service.join(caller, id, Utc::now()).await?;
    data.changed();
    let mc = &outcome.masterclass;
    Ok(match outcome.status {
        ParticipantStatus::Attending => format!(
            "You're in! **{}** starts {}.{}",
            render::truncate(&mc.title, 100),
            render::when(mc.starts_at),
            mc.thread_id
                .map(|t| format!(" Say hello in <#{t}> (you're being added to it)."))
                .unwrap_or_default()
        ),
        ParticipantStatus::Waitlisted => format!(
            "**{}** is full, so you're number {} on the waitlist. I'll tell you as soon as a seat opens.",
            render::truncate(&mc.title, 100),
            outcome.position.unwrap_or(0)
        ),
    })
}

pub async fn leave(data: &Data, caller: &Caller, id: MasterclassId) -> Result<String, Error> {
    let outcome = data.service.leave(caller, id, Utc::now()).await?;
    data.changed();
    Ok(format!(
        "You've left **{}**.",
        render::truncate(&outcome.masterclass.title, 100)
    ))
}

pub async fn remove(
    data: &Data,
    caller: &Caller,
    id: MasterclassId,
    member: UserId,
) -> Result<String, Error> {
    let outcome = data
        .service
        .remove_participant(caller, id, member, Utc::now())
        .await?;
    data.changed();
    Ok(format!(
        "<@{member}> is no longer signed up for **{}**; they've been told.",
        render::truncate(&outcome.masterclass.title, 100)
    ))
}
