//! What a join, a leave, a removal does beyond the database: the answer for the member, and
//! (in the background, so the answer is fast) the thread and the announcement brought in step.

use super::{mirror, render, Data, Error};
use crate::domain::{Caller, GuildId, MasterclassId, RoleId, UserError, UserId};
use crate::service::{LeaveOutcome, ParticipantStatus};
use chrono::Utc;
use poise::serenity_prelude as serenity;
use std::sync::Arc;

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

pub async fn join(
    ctx: &serenity::Context,
    data: &Data,
    caller: &Caller,
    id: MasterclassId,
) -> Result<String, Error> {
    let outcome = data.service.join(caller, id, Utc::now()).await?;
    data.wake_worker.notify_one();
    let mc = outcome.masterclass.clone();
    let text = match outcome.status {
        ParticipantStatus::Attending => format!(
            "You're in! **{}** starts {}.{}",
            render::truncate(&mc.title, 100),
            render::when(mc.starts_at),
            mc.thread_id.map(|t| format!(" Say hello in <#{t}>.")).unwrap_or_default()
        ),
        ParticipantStatus::Waitlisted => format!(
            "**{}** is full, so you're number {} on the waitlist. I'll tell you as soon as a seat opens.",
            render::truncate(&mc.title, 100),
            outcome.position.unwrap_or(0)
        ),
    };
    let (http, service, member) = (Arc::clone(&ctx.http), data.service.clone(), caller.user_id);
    let refresher = Arc::clone(&data.refresher);
    tokio::spawn(async move {
        if outcome.status == ParticipantStatus::Attending {
            mirror::add_to_thread(&http, &mc, member).await;
        }
        refresher.refresh(&http, &service, &mc).await;
    });
    Ok(text)
}

pub async fn leave(
    ctx: &serenity::Context,
    data: &Data,
    caller: &Caller,
    id: MasterclassId,
) -> Result<String, Error> {
    let outcome = data.service.leave(caller, id, Utc::now()).await?;
    let text = format!(
        "You've left **{}**.",
        render::truncate(&outcome.masterclass.title, 100)
    );
    after_leave(ctx, data, outcome);
    Ok(text)
}

pub async fn remove(
    ctx: &serenity::Context,
    data: &Data,
    caller: &Caller,
    id: MasterclassId,
    member: UserId,
) -> Result<String, Error> {
    let outcome = data
        .service
        .remove_participant(caller, id, member, Utc::now())
        .await?;
    let text = format!(
        "<@{member}> is no longer signed up for **{}**; they've been told.",
        render::truncate(&outcome.masterclass.title, 100)
    );
    after_leave(ctx, data, outcome);
    Ok(text)
}

fn after_leave(ctx: &serenity::Context, data: &Data, outcome: LeaveOutcome) {
    data.wake_worker.notify_one();
    let (http, service) = (Arc::clone(&ctx.http), data.service.clone());
    let refresher = Arc::clone(&data.refresher);
    tokio::spawn(async move {
        let mc = &outcome.masterclass;
        mirror::remove_from_thread(&http, mc, outcome.left).await;
        if let Some(promoted) = outcome.promoted {
            mirror::add_to_thread(&http, mc, promoted).await;
        }
        refresher.refresh(&http, &service, mc).await;
    });
}
