//! What the bot says in DMs and in masterclass threads. Pure: every input is an argument.
//!
//! User text (titles, reasons, names) is escaped so it cannot format or fake mentions, and
//! every message fits Discord's limits: 2000 characters and 100 pinged users.

use super::DiscordMessage;
use crate::domain::truncate;
use crate::domain::{HostDigest, Masterclass, NoticeKind, UserId};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

/// Discord's limit on a message's content, in characters.
pub const MAX_CONTENT_CHARS: usize = 2000;
/// Discord's limit on users pinged by one message.
pub const MAX_MENTIONS: usize = 100;
/// Stands in for a name Discord would not tell us (it starts the sentences it is used in).
pub const UNKNOWN_MEMBER: &str = "A member";
/// Stands in for the host's name.
pub const UNKNOWN_HOST: &str = "The host";

/// The DM a member gets for `kind`. `other_name` is the other person the text names: the
/// joiner when telling the host, the host when telling a guest.
pub fn dm_text(kind: NoticeKind, payload: &Value, mc: &Masterclass, other_name: &str) -> String {
    let title = escape(&mc.title);
    let when = full_time(mc.starts_at);
    let soon = relative_time(mc.starts_at);
    let position = payload["position"].as_u64().unwrap_or(0);
    let waitlisted = payload["status"] == "waitlisted";
    let text = match kind {
        NoticeKind::Joined => {
            let seats = format!(
                "{}/{} seats taken",
                payload["attending"].as_u64().unwrap_or(0),
                payload["capacity"].as_u64().unwrap_or(0)
            );
            let waiting = payload["waitlisted"].as_u64().unwrap_or(0);
            let who = escape(other_name);
            if waitlisted {
                format!("**{who}** joined the waitlist of your masterclass **{title}** ({waiting} waiting, {seats}).")
            } else if waiting > 0 {
                format!("**{who}** joined your masterclass **{title}**: {seats}, {waiting} on the waitlist.")
            } else {
                format!("**{who}** joined your masterclass **{title}**: {seats}.")
            }
        }
        NoticeKind::HostDigest => match HostDigest::deserialize(payload) {
            Ok(digest) => format!(
                "Since my last message about **{title}**: {}.",
                digest.summary(|member| match digest_name(payload, member) {
                    Some(name) => format!("**{}**", escape(name)),
                    None if member.is_forgotten() => crate::domain::FORMER_MEMBER.to_owned(),
                    // Discord shows a mention as the member's name; nobody is pinged.
                    None => format!("<@{member}>"),
                })
            ),
            Err(_) => format!("Sign-ups changed on your masterclass **{title}**."),
        },
        NoticeKind::JoinConfirmed if waitlisted => format!(
            "You're on the waitlist for **{title}** (position {position}). I'll message you if a seat opens up."
        ),
        NoticeKind::JoinConfirmed => {
            format!("You're in! **{title}** starts {when} ({soon}).{}", details(mc))
        }
        NoticeKind::GuestAdded if waitlisted => format!(
            "**{}** invited you to **{title}**, but it's full: you're on the waitlist (position {position}). I'll message you if a seat opens up.",
            escape(other_name)
        ),
        NoticeKind::GuestAdded => format!(
            "**{}** added you to **{title}**: your seat is reserved. It starts {when} ({soon}).{}{}\nCan't make it? Please leave the masterclass so someone else can take your seat.",
            escape(other_name),
            details(mc),
            calendar_line(mc)
        ),
        NoticeKind::Promoted => format!(
            "A seat opened up: you're now attending **{title}**, {when} ({soon}).{}",
            details(mc)
        ),
        NoticeKind::Cancelled => format!(
            "**{title}** ({when}) was cancelled.{}",
            reason_line(payload)
        ),
        NoticeKind::Reminder if payload["host"] == true => format!(
            "Reminder: your masterclass **{title}** starts {soon} ({when}).{}",
            details(mc)
        ),
        NoticeKind::Reminder => {
            format!("Reminder: **{title}** starts {soon} ({when}).{}", details(mc))
        }
        NoticeKind::Removed => format!("The host removed you from **{title}** ({when})."),
        NoticeKind::DetailsChanged => {
            let changed: Vec<&str> = payload["changed"]
                .as_array()
                .map(|fields| fields.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let changed = if changed.is_empty() {
                String::new()
            } else {
                format!(" (new {})", changed.join(" and "))
            };
            format!(
                "**{title}** was updated{changed}. It starts {when} ({soon}).{}",
                details(mc)
            )
        }
        NoticeKind::Starting => starting_text(mc),
        NoticeKind::VerificationCode => {
            "Check your email for your verification code.".to_owned()
        }
    };
    truncate(&text, MAX_CONTENT_CHARS)
}

/// The name of a member a host digest lists, as the worker found it (`payload.names`).
pub fn digest_name(payload: &Value, member: UserId) -> Option<&str> {
    payload["names"][member.to_string()].as_str()
}

/// The thread message when a masterclass is cancelled.
pub fn thread_cancelled(payload: &Value) -> String {
    truncate(
        &format!("This masterclass was cancelled.{}", reason_line(payload)),
        MAX_CONTENT_CHARS,
    )
}

/// The thread reminder; the attendees' mentions are added by [`with_mentions`].
pub fn thread_reminder(mc: &Masterclass) -> String {
    let title = escape(&mc.title);
    let text = format!(
        "⏰ **{title}** starts {} ({}).{}",
        relative_time(mc.starts_at),
        full_time(mc.starts_at),
        where_line(mc)
    );
    truncate(&text, MAX_CONTENT_CHARS)
}

/// The thread message at the start, with the location; the host's and attendees' mentions are
/// added by [`with_mentions`].
pub fn starting_text(mc: &Masterclass) -> String {
    let title = escape(&mc.title);
    let text = match &mc.location {
        Some(location) => format!("🎙️ **{title}** is starting now! Join here: {location}"),
        None => format!("🎙️ **{title}** is starting now!"),
    };
    truncate(&text, MAX_CONTENT_CHARS)
}

/// A DM that could not be delivered, said in the thread instead.
pub fn unreachable_by_dm(dm_text: &str) -> String {
    truncate(
        &format!("I couldn't reach you by DM, so here it is:\n{dm_text}"),
        MAX_CONTENT_CHARS,
    )
}

/// `text` followed by the mentions of `users`, split into as many messages as Discord's limits
/// need (content length and pinged users). Each message pings exactly the users it mentions.
pub fn with_mentions(text: &str, users: &[UserId]) -> Vec<DiscordMessage> {
    // Room for a line break and at least one mention, so every message moves the list forward.
    let text = truncate(text, MAX_CONTENT_CHARS - 25);
    let mut messages = Vec::new();
    let mut rest = users;
    while !rest.is_empty() {
        let mut content = format!("{text}\n");
        let mut mentions = Vec::new();
        for &user in rest {
            let mention = format!("<@{user}> ");
            let fits =
                content.chars().count() + mention.trim_end().chars().count() <= MAX_CONTENT_CHARS;
            if mentions.len() == MAX_MENTIONS || !fits {
                break;
            }
            content.push_str(&mention);
            mentions.push(user);
        }
        rest = &rest[mentions.len()..];
        messages.push(DiscordMessage {
            content: content.trim_end().to_owned(),
            mentions,
        });
    }
    messages
}

/// Backslash-escapes what Discord would read as formatting, a mention or a masked link, so
/// user text shows as typed.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut line_start = true;
    for c in text.chars() {
        let inline = matches!(
            c,
            '\\' | '*' | '_' | '~' | '`' | '|' | '[' | ']' | '<' | '@'
        );
        let block = line_start && matches!(c, '#' | '>' | '-');
        if inline || block {
            out.push('\\');
        }
        out.push(c);
        line_start = c == '\n' || (line_start && c == ' ');
    }
    out
}

/// The date and time, shown by Discord in each reader's own time zone.
fn full_time(at: DateTime<Utc>) -> String {
    format!("<t:{}:F>", at.timestamp())
}

/// "in 2 hours", kept current by Discord.
fn relative_time(at: DateTime<Utc>) -> String {
    format!("<t:{}:R>", at.timestamp())
}

/// Where it happens and where to talk about it, each on its own line when known.
fn details(mc: &Masterclass) -> String {
    let mut lines = where_line(mc);
    if let Some(thread) = mc.thread_id {
        lines.push_str(&format!(
            "\nThread: https://discord.com/channels/{}/{thread}",
            mc.guild_id
        ));
    }
    lines
}

/// The announcement, whose "Add to calendar" button gives the `.ics` file.
fn calendar_line(mc: &Masterclass) -> String {
    match (mc.announcement_channel_id, mc.announcement_message_id) {
        (Some(channel), Some(message)) => format!(
            "\nAdd it to your calendar: https://discord.com/channels/{}/{channel}/{message}",
            mc.guild_id
        ),
        _ => String::new(),
    }
}

fn where_line(mc: &Masterclass) -> String {
    mc.location
        .as_ref()
        .map(|location| format!("\nWhere: {location}"))
        .unwrap_or_default()
}

fn reason_line(payload: &Value) -> String {
    match payload["reason"].as_str().map(str::trim) {
        Some(reason) if !reason.is_empty() => format!("\nReason: {}", escape(reason)),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn user_text_cannot_format_or_mention() {
        assert_eq!(
            escape("**Free** @everyone <@&5> [click](https://evil)"),
            r"\*\*Free\*\* \@everyone \<\@&5> \[click\](https://evil)"
        );
        assert_eq!(
            escape("# big\n> quote\n- item"),
            "\\# big\n\\> quote\n\\- item"
        );
        assert_eq!(escape("C# and x-y"), "C# and x-y");
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        let reason = "é".repeat(3000);
        let text = thread_cancelled(&json!({ "reason": reason }));
        assert_eq!(text.chars().count(), MAX_CONTENT_CHARS);
        assert!(text.ends_with('…'));
        assert_eq!(truncate("short", 10), "short");
    }

    #[test]
    fn mentions_are_split_by_count_and_length() {
        let users: Vec<UserId> = (0..250)
            .map(|n| UserId(1_100_000_000_000_000_000 + n))
            .collect();
        let text = "⏰ **Rust** starts soon. ".repeat(20);
        let messages = with_mentions(&text, &users);
        assert!(messages.len() >= 3);
        let mut seen = Vec::new();
        for message in &messages {
            assert!(message.content.chars().count() <= MAX_CONTENT_CHARS);
            assert!(message.mentions.len() <= MAX_MENTIONS);
            assert!(message.content.starts_with(text.trim_end()));
            for user in &message.mentions {
                assert!(message.content.contains(&format!("<@{user}>")));
            }
            seen.extend(message.mentions.iter().copied());
        }
        assert_eq!(seen, users);
        assert!(with_mentions("text", &[]).is_empty());
    }
}
