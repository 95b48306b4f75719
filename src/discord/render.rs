//! How masterclasses look in Discord: the announcement embed and its buttons, previews, lists,
//! custom_ids, and text that always fits Discord's limits.

pub use crate::domain::truncate;
use crate::domain::{
    Location, Masterclass, MasterclassId, MasterclassStatus, NewMasterclass, RepeatedTime, UserId,
};
use crate::service::Counts;
use chrono::{DateTime, FixedOffset, Utc};
use poise::serenity_prelude as serenity;
use serenity::{ButtonStyle, CreateActionRow, CreateButton, CreateEmbed};

/// A Discord timestamp: every reader sees it in their own zone.
pub fn when(at: DateTime<Utc>) -> String {
    format!("<t:{0}:F> (<t:{0}:R>)", at.timestamp())
}

pub fn location_text(location: Option<&Location>) -> String {
    location.map_or_else(|| "Announced in the thread".to_owned(), |l| l.to_string())
}

/// What a button or form does, as carried in its custom_id (`mc:<verb>:<number>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Join(MasterclassId),
    Leave(MasterclassId),
    Participants(MasterclassId),
    Calendar(MasterclassId),
    /// The host form of a draft.
    HostForm(u64),
    /// Reopen the host form of a draft, filled in with what was typed.
    FixForm(u64),
    Save(u64),
    Discard(u64),
    ConfirmCancel(u64),
    KeepMasterclass(u64),
    /// Forget-me's confirmation, for the member whose id it carries.
    ForgetMe(u64),
    KeepMyData(u64),
}

impl Action {
    pub fn custom_id(self) -> String {
        let (verb, number) = match self {
            Action::Join(id) => ("join", id.0 as u64),
            Action::Leave(id) => ("leave", id.0 as u64),
            Action::Participants(id) => ("who", id.0 as u64),
            Action::Calendar(id) => ("ics", id.0 as u64),
            Action::HostForm(key) => ("form", key),
            Action::FixForm(key) => ("fix", key),
            Action::Save(key) => ("save", key),
            Action::Discard(key) => ("discard", key),
            Action::ConfirmCancel(key) => ("cancel", key),
            Action::KeepMasterclass(key) => ("keep", key),
            Action::ForgetMe(user) => ("forget", user),
            Action::KeepMyData(user) => ("keepdata", user),
        };
        format!("mc:{verb}:{number}")
    }

    /// Strict: exactly `mc:<known verb>:<decimal without sign or leading zero>`.
    pub fn parse(custom_id: &str) -> Option<Action> {
        let mut parts = custom_id.split(':');
        let (Some("mc"), Some(verb), Some(number), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let well_formed = !number.is_empty()
            && number.len() <= 19
            && number.bytes().all(|b| b.is_ascii_digit())
            && !number.starts_with('0');
        if !well_formed {
            return None;
        }
        let number: u64 = number.parse().ok()?;
        let id = || i64::try_from(number).ok().map(MasterclassId);
        Some(match verb {
            "join" => Action::Join(id()?),
            "leave" => Action::Leave(id()?),
            "who" => Action::Participants(id()?),
            "ics" => Action::Calendar(id()?),
            "form" => Action::HostForm(number),
            "fix" => Action::FixForm(number),
            "save" => Action::Save(number),
            "discard" => Action::Discard(number),
            "cancel" => Action::ConfirmCancel(number),
            "keep" => Action::KeepMasterclass(number),
            "forget" => Action::ForgetMe(number),
            "keepdata" => Action::KeepMyData(number),
            _ => return None,
        })
    }
}

/// The announcement: everything a member needs to decide, and the seat count.
pub fn announcement_embed(mc: &Masterclass, counts: Counts) -> CreateEmbed {
    let mut embed = CreateEmbed::new()
        .title(truncate(&mc.title, 256))
        .description(truncate(&mc.description, 4096))
        .field("Host", person(mc.host_id), true)
        .field("Starts", when(mc.starts_at), true)
        .field("Duration", format!("{} min", mc.duration_minutes), true)
        .field(
            "Location",
            truncate(&location_text(mc.location.as_ref()), 1024),
            true,
        )
        .field(
            "Seats",
            format!("{}/{}", counts.attending, mc.capacity),
            true,
        )
        .field("Waitlist", counts.waitlisted.to_string(), true)
        .colour(0x5865F2);
    if mc.status == MasterclassStatus::Cancelled {
        let reason = mc.cancel_reason.as_deref().unwrap_or("");
        embed = embed
            .title(truncate(&format!("Cancelled: {}", mc.title), 256))
            .field("Cancelled", truncate(reason, 1024), false)
            .colour(0x99AAB5);
    }
    embed
}

pub fn announcement_buttons(id: MasterclassId, disabled: bool) -> Vec<CreateActionRow> {
    let button = |action: Action, label: &str, style: ButtonStyle| {
        CreateButton::new(action.custom_id())
            .label(label)
            .style(style)
            .disabled(disabled)
    };
    vec![CreateActionRow::Buttons(vec![
        button(Action::Join(id), "Join", ButtonStyle::Success),
        button(Action::Leave(id), "Leave", ButtonStyle::Secondary),
        button(
            Action::Participants(id),
            "Participants",
            ButtonStyle::Secondary,
        ),
        button(
            Action::Calendar(id),
            "Add to calendar",
            ButtonStyle::Secondary,
        ),
    ])]
}

/// The host's preview before Save. The zone it was read in makes DST mistakes visible.
pub fn preview(new: &NewMasterclass, host: UserId) -> CreateEmbed {
    let start = new.start.get();
    let local = start.with_timezone(&new.time_zone.tz());
    let guests = if new.guests.ids().is_empty() {
        "None".to_owned()
    } else {
        new.guests
            .ids()
            .iter()
            .map(|g| format!("<@{g}>"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    CreateEmbed::new()
        .title(truncate(new.title.as_str(), 256))
        .description(truncate(new.description.as_str(), 4096))
        .field("Host", format!("<@{host}>"), true)
        .field("Starts", when(start), true)
        .field(
            "Read as",
            format!(
                "{} ({})",
                local.format("%a %-d %b %Y, %H:%M"),
                new.time_zone.name()
            ),
            true,
        )
        .fields(
            new.start
                .repeated_in(new.time_zone)
                .map(|repeated| ("Repeated hour", repeated_line(repeated, new), false)),
        )
        .field("Duration", format!("{} min", new.duration.minutes()), true)
        .field("Capacity", new.capacity.get().to_string(), true)
        .field(
            "Location",
            truncate(&location_text(new.location.as_ref()), 1024),
            true,
        )
        .field("Guests", truncate(&guests, 1024), false)
        .footer(serenity::CreateEmbedFooter::new(
            "Check the time: the date and time can't be changed after saving.",
        ))
}

/// The wall time of a start the clocks show twice, which of the two was taken, and its offset.
fn repeated_line(repeated: RepeatedTime, new: &NewMasterclass) -> String {
    format!(
        "{} happens twice in {}; this is the {} (UTC{})",
        repeated.local.format("%-d %B %H:%M"),
        new.time_zone.name(),
        if repeated.first { "first" } else { "second" },
        utc_offset(repeated.utc_offset)
    )
}

/// `+05:30`, `−04:00` (a real minus sign), `+00:00`.
fn utc_offset(offset: FixedOffset) -> String {
    let seconds = offset.local_minus_utc();
    let sign = if seconds < 0 { '−' } else { '+' };
    let minutes = seconds.unsigned_abs() / 60;
    format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60)
}

/// Under a refusal of the host form: reopen it with what was typed.
pub fn fix_button(draft: u64) -> Vec<CreateActionRow> {
    vec![CreateActionRow::Buttons(vec![CreateButton::new(
        Action::FixForm(draft).custom_id(),
    )
    .label("Fix it")
    .style(ButtonStyle::Primary)])]
}

pub fn preview_buttons(draft: u64) -> Vec<CreateActionRow> {
    vec![CreateActionRow::Buttons(vec![
        CreateButton::new(Action::Save(draft).custom_id())
            .label("Save")
            .style(ButtonStyle::Success),
        CreateButton::new(Action::Discard(draft).custom_id())
            .label("Discard")
            .style(ButtonStyle::Danger),
    ])]
}

/// A line per masterclass for lists: title, time, seats.
pub fn list_line(mc: &Masterclass, counts: Option<Counts>) -> String {
    let seats = counts
        .map(|c| format!(" · {}/{} seats", c.attending, mc.capacity))
        .unwrap_or_default();
    let waitlist = counts
        .filter(|c| c.waitlisted > 0)
        .map(|c| format!(", {} waiting", c.waitlisted))
        .unwrap_or_default();
    format!(
        "**{}** — <t:{}:F> · host {}{seats}{waitlist}",
        truncate(&mc.title, 100),
        mc.starts_at.timestamp(),
        person(mc.host_id)
    )
}

/// A member as Discord shows them (a mention), or who they were if they asked to be forgotten.
pub fn person(user: UserId) -> String {
    if user.is_forgotten() {
        crate::domain::FORMER_MEMBER.to_owned()
    } else {
        format!("<@{user}>")
    }
}

/// Autocomplete label: title and start (in UTC, as the label can't show a Discord timestamp).
pub fn choice_label(mc: &Masterclass) -> String {
    let cancelled = if mc.status == MasterclassStatus::Cancelled {
        " (cancelled)"
    } else {
        ""
    };
    let label = format!(
        "{} — {} UTC{cancelled}",
        mc.title,
        mc.starts_at.format("%a %-d %b %H:%M")
    );
    truncate(&label, 100)
}

/// Splits mentions into lines that fit a message.
pub fn mention_list(users: &[UserId], numbered: bool, max_chars: usize) -> String {
    let mut out = String::new();
    for (i, user) in users.iter().enumerate() {
        let line = if numbered {
            format!("{}. <@{user}>\n", i + 1)
        } else {
            format!("<@{user}>\n")
        };
        if out.len() + line.len() > max_chars {
            out.push_str(&format!("…and {} more\n", users.len() - i));
            break;
        }
        out.push_str(&line);
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_never_splits_a_character() {
        assert_eq!(truncate("héllo", 10), "héllo");
        assert_eq!(truncate("ééééé", 3), "éé…");
        assert_eq!(truncate("👩‍💻👩‍💻", 2).chars().count(), 2);
    }

    fn draft(start: &str, zone: &str) -> NewMasterclass {
        use crate::domain::{Capacity, Description, Duration, Guests, StartTime, TimeZone, Title};
        use chrono::TimeZone as _;
        let zone = TimeZone::parse(zone).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 10, 1, 12, 0, 0).unwrap();
        NewMasterclass {
            title: Title::parse("Night owls").unwrap(),
            description: Description::parse("Late").unwrap(),
            start: StartTime::parse(start, zone, now).unwrap(),
            duration: Duration::from_minutes(60).unwrap(),
            capacity: Capacity::new(5).unwrap(),
            location: None,
            guests: Guests::default(),
            time_zone: zone,
        }
    }

    fn embed_field(embed: CreateEmbed, name: &str) -> Option<String> {
        let embed = serde_json::to_value(embed).unwrap();
        embed["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .map(|f| f["value"].as_str().unwrap().to_owned())
    }

    #[test]
    fn preview_names_a_repeated_hour_and_its_offset() {
        let first = draft("2026-11-01 01:30", "America/New_York");
        assert_eq!(
            embed_field(preview(&first, UserId(1)), "Repeated hour").as_deref(),
            Some(
                "1 November 01:30 happens twice in America/New_York; this is the first (UTC−04:00)"
            )
        );
        let second = draft("2026-11-01T01:30:00-05:00", "America/New_York");
        assert_eq!(
            embed_field(preview(&second, UserId(1)), "Repeated hour").as_deref(),
            Some("1 November 01:30 happens twice in America/New_York; this is the second (UTC−05:00)")
        );
        let plain = draft("2026-11-01 18:00", "America/New_York");
        assert_eq!(
            embed_field(preview(&plain, UserId(1)), "Repeated hour"),
            None
        );
        assert_eq!(utc_offset(FixedOffset::east_opt(19_800).unwrap()), "+05:30");
        assert_eq!(utc_offset(FixedOffset::east_opt(0).unwrap()), "+00:00");
    }

    #[test]
    fn custom_ids_round_trip_and_parse_strictly() {
        for action in [
            Action::Join(MasterclassId(42)),
            Action::Save(7),
            Action::FixForm(9),
            Action::HostForm(3),
            Action::Calendar(MasterclassId(1)),
        ] {
            assert_eq!(Action::parse(&action.custom_id()), Some(action));
        }
        for bad in [
            "mc:join:",
            "mc:join:+1",
            "mc:join:01",
            "mc:join:1:2",
            "xx:join:1",
            "mc:nuke:1",
            "mc:fix:",
            "mc:fix:0",
            "mc:fix:1 ",
            "mc:join:-1",
            "mc:join:99999999999999999999",
            "mc:join:9223372036854775808",
        ] {
            assert_eq!(Action::parse(bad), None, "{bad}");
        }
    }
}
