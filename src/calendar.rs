//! RFC 5545 calendars for masterclasses, built with the `icalendar` crate.
//!
//! The crate writes CRLF line endings, folds content lines at 75 octets and
//! escapes TEXT values; we only clean inputs it does not handle (bare CR,
//! control characters, quotes in parameter values).

use crate::domain::{Masterclass, MasterclassStatus};
use chrono::{DateTime, Utc};
use icalendar::{Calendar, Component, Event, EventLike, EventStatus, Property};

/// Identifies this program in the PRODID of every calendar it writes.
const PRODUCT_ID: &str = "-//masterclass-bot//Masterclass Bot//EN";

/// The iTIP method (RFC 5546) of a calendar object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IcsMethod {
    /// An invitation or an update: calendars add or update the event with this UID.
    Request,
    /// The event is off for the recipient: calendars remove or strike it.
    Cancel,
    /// A plain feed (a member's calendar download), no scheduling semantics.
    Publish,
}

impl IcsMethod {
    /// The value used in `METHOD:` and in the MIME `method=` parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            IcsMethod::Request => "REQUEST",
            IcsMethod::Cancel => "CANCEL",
            IcsMethod::Publish => "PUBLISH",
        }
    }
}

/// One masterclass as a calendar event.
#[derive(Clone, Debug)]
pub struct IcsEvent {
    /// Stable per masterclass (e.g. "masterclass-42@masterclass-bot") so that
    /// updates and cancellations replace the event the calendar already has.
    pub uid: String,
    /// Bumped on every change of time/details; calendars ignore updates whose
    /// SEQUENCE is not higher than the one they know.
    pub sequence: u32,
    pub title: String,
    pub description: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub location: Option<String>,
    /// Link to the Discord thread.
    pub url: Option<String>,
    /// The host's display name (shown as ORGANIZER CN and in the description).
    pub organizer_name: Option<String>,
    /// Address used as ORGANIZER (normally the bot's From address). iTIP
    /// requires an ORGANIZER in REQUEST/CANCEL, and Gmail/Outlook match a
    /// CANCEL to the event through UID + ORGANIZER, so keep it constant.
    pub organizer_email: Option<String>,
    /// The recipient, listed as an ATTENDEE that has already accepted
    /// (RSVP=FALSE: joining happens in Discord, not by answering the invite).
    pub attendee_email: Option<String>,
    pub cancelled: bool,
}

impl IcsEvent {
    /// The calendar event of a masterclass, with no organizer or attendee named.
    pub fn of(mc: &Masterclass) -> IcsEvent {
        IcsEvent {
            uid: mc.calendar_uid(),
            sequence: mc.sequence,
            title: mc.title.clone(),
            description: mc.description.clone(),
            start: mc.starts_at,
            end: mc.ends_at(),
            location: mc.location_link(),
            url: mc.thread_url(),
            organizer_name: None,
            organizer_email: None,
            attendee_email: None,
            cancelled: mc.status == MasterclassStatus::Cancelled,
        }
    }
}

/// A calendar with one event, for an invitation (REQUEST) or a cancellation (CANCEL).
pub fn masterclass_ics(event: &IcsEvent, method: IcsMethod) -> String {
    let mut calendar = base_calendar(method);
    calendar.push(build_event(event, method, Utc::now()));
    calendar.to_string()
}

/// A member's calendar download: every masterclass they attend (METHOD:PUBLISH).
pub fn calendar_of(events: &[IcsEvent]) -> String {
    let mut calendar = base_calendar(IcsMethod::Publish);
    calendar.append_property(Property::new("X-WR-CALNAME", "Masterclasses"));
    let now = Utc::now();
    for event in events {
        calendar.push(build_event(event, IcsMethod::Publish, now));
    }
    calendar.to_string()
}

fn base_calendar(method: IcsMethod) -> Calendar {
    // `Calendar::new()` would write the crate's own PRODID; we want ours.
    let mut calendar = Calendar::empty();
    calendar
        .append_property(Property::new("VERSION", "2.0"))
        .append_property(Property::new("PRODID", PRODUCT_ID))
        .append_property(Property::new("CALSCALE", "GREGORIAN"))
        .append_property(Property::new("METHOD", method.as_str()));
    calendar
}

fn build_event(event: &IcsEvent, method: IcsMethod, stamp: DateTime<Utc>) -> Event {
    let cancelled = event.cancelled || method == IcsMethod::Cancel;
    let mut vevent = Event::new();
    vevent
        .uid(&single_line(&event.uid))
        .timestamp(stamp)
        .sequence(event.sequence)
        .summary(&single_line(&event.title))
        .description(&clean_text(&full_description(event)))
        // `DateTime<Utc>` is written as a UTC DATE-TIME ("...Z"), so no VTIMEZONE is needed.
        .starts(event.start)
        .ends(event.end)
        .status(if cancelled {
            EventStatus::Cancelled
        } else {
            EventStatus::Confirmed
        });
    if let Some(location) = non_empty(&event.location) {
        vevent.location(&single_line(location));
    }
    if let Some(url) = non_empty(&event.url) {
        vevent.url(&uri_value(url));
    }
    if let Some(organizer) = non_empty(&event.organizer_email) {
        let mut property = Property::new("ORGANIZER", format!("mailto:{}", uri_value(organizer)));
        if let Some(name) = non_empty(&event.organizer_name) {
            property.add_parameter("CN", &param_value(name));
        }
        vevent.append_property(property);
    }
    if let Some(attendee) = non_empty(&event.attendee_email) {
        let mut property = Property::new("ATTENDEE", format!("mailto:{}", uri_value(attendee)));
        property
            .add_parameter("ROLE", "REQ-PARTICIPANT")
            .add_parameter("RSVP", "FALSE");
        if !cancelled {
            // Joining happened in Discord: nothing to answer.
            property.add_parameter("PARTSTAT", "ACCEPTED");
        }
        vevent.append_multi_property(property);
    }
    vevent.done()
}

/// The description plus the host and the thread link, because many calendar
/// apps show neither ORGANIZER CN nor URL.
fn full_description(event: &IcsEvent) -> String {
    let mut text = event.description.trim().to_owned();
    if let Some(host) = non_empty(&event.organizer_name) {
        push_paragraph(&mut text, &format!("Host: {host}"));
    }
    if let Some(url) = non_empty(&event.url) {
        push_paragraph(&mut text, &format!("Discord thread: {url}"));
    }
    text
}

fn push_paragraph(text: &mut String, paragraph: &str) {
    if !text.is_empty() {
        text.push_str("\n\n");
    }
    text.push_str(paragraph);
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// TEXT values: the crate escapes `\n` but would write a bare CR as is, which
/// breaks the content line; normalise line breaks and drop other controls.
fn clean_text(value: &str) -> String {
    value
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .chars()
        .filter(|c| *c == '\n' || *c == '\t' || !c.is_control())
        .collect()
}

/// SUMMARY/LOCATION/UID: one line.
fn single_line(value: &str) -> String {
    clean_text(value)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// URI and CAL-ADDRESS values are not escaped by the crate: no whitespace or controls.
fn uri_value(value: &str) -> String {
    value
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect()
}

/// Parameter values may not contain DQUOTE (RFC 5545 §3.1); the crate quotes
/// values with `:;,` itself.
fn param_value(value: &str) -> String {
    single_line(value).replace('"', "'")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn sample() -> IcsEvent {
        IcsEvent {
            uid: "masterclass-42@masterclass-bot".into(),
            sequence: 2,
            title: "Rust async; deep, dive".into(),
            description: "Line one\r\nLine two with a very long sentence that certainly needs folding because it goes on and on — with ünïcödé 老虎 characters".into(),
            start: Utc.with_ymd_and_hms(2026, 3, 3, 17, 0, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2026, 3, 3, 18, 30, 0).unwrap(),
            location: Some("Voice: Stage".into()),
            url: Some("https://discord.com/channels/1/2/3".into()),
            organizer_name: Some("Ada \"the host\", Lovelace".into()),
            organizer_email: Some("bot@example.org".into()),
            attendee_email: Some("member@example.org".into()),
            cancelled: false,
        }
    }

    /// RFC 5545 §3.1 unfolding: a CRLF followed by one space or tab is removed.
    fn unfold(ics: &str) -> Vec<String> {
        ics.replace("\r\n ", "")
            .replace("\r\n\t", "")
            .split("\r\n")
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn uses_crlf_and_folds_at_75_octets() {
        let ics = masterclass_ics(&sample(), IcsMethod::Request);
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        assert!(
            !ics.replace("\r\n", "").contains('\n'),
            "bare LF in {ics:?}"
        );
        assert!(
            !ics.replace("\r\n", "").contains('\r'),
            "bare CR in {ics:?}"
        );
        for line in ics.split("\r\n") {
            assert!(line.len() <= 75, "line longer than 75 octets: {line:?}");
        }
        assert!(
            ics.contains("\r\n "),
            "long description should have been folded"
        );
    }

    #[test]
    fn request_has_method_uid_sequence_and_utc_times() {
        let lines = unfold(&masterclass_ics(&sample(), IcsMethod::Request));
        let has = |l: &str| lines.iter().any(|x| x == l);
        assert!(has("METHOD:REQUEST"));
        assert!(has("UID:masterclass-42@masterclass-bot"));
        assert!(has("SEQUENCE:2"));
        assert!(has("DTSTART:20260303T170000Z"));
        assert!(has("DTEND:20260303T183000Z"));
        assert!(has("STATUS:CONFIRMED"));
        assert!(has(r"SUMMARY:Rust async\; deep\, dive"));
        assert!(has(r"LOCATION:Voice: Stage"));
        assert!(has(
            "ORGANIZER;CN=\"Ada 'the host', Lovelace\":mailto:bot@example.org"
        ));
        assert!(lines
            .iter()
            .any(|l| l.starts_with("DTSTAMP:") && l.ends_with('Z')));
        assert!(lines
            .iter()
            .any(|l| l.starts_with("ATTENDEE;") && l.contains("PARTSTAT=ACCEPTED")));
        let description = lines
            .iter()
            .find(|l| l.starts_with("DESCRIPTION:"))
            .unwrap();
        assert!(description.starts_with(r"DESCRIPTION:Line one\nLine two"));
        assert!(description.contains(r"Discord thread: https://discord.com/channels/1/2/3"));
    }

    #[test]
    fn cancel_marks_event_cancelled() {
        let lines = unfold(&masterclass_ics(&sample(), IcsMethod::Cancel));
        assert!(lines.iter().any(|l| l == "METHOD:CANCEL"));
        assert!(lines.iter().any(|l| l == "STATUS:CANCELLED"));
        assert!(lines
            .iter()
            .any(|l| l == "UID:masterclass-42@masterclass-bot"));
    }

    #[test]
    fn calendar_of_publishes_every_event() {
        let mut second = sample();
        second.uid = "masterclass-43@masterclass-bot".into();
        second.cancelled = true;
        let lines = unfold(&calendar_of(&[sample(), second]));
        assert!(lines.iter().any(|l| l == "METHOD:PUBLISH"));
        assert_eq!(lines.iter().filter(|l| *l == "BEGIN:VEVENT").count(), 2);
        assert!(lines.iter().any(|l| l == "STATUS:CANCELLED"));
        assert!(lines.iter().any(|l| l == "STATUS:CONFIRMED"));
    }
}
