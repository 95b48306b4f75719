//! Turns a notification into an email: the templates of `super::templates` filled from the
//! masterclass and the payload, with a calendar object where a time is involved.

use super::templates::{calendar_method, format_duration, render, EmailNotice, MasterclassView};
use super::texts::digest_name;
use super::{CalendarAttachment, OutgoingEmail};
use crate::calendar::{masterclass_ics, IcsEvent};
use crate::domain::{HostDigest, Location, Masterclass, NoticeKind};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

/// The greeting's name when Discord would not tell us the member's ("Hi there,").
pub const GREETING_NAME: &str = "there";

/// A member a digest lists whose name Discord would not tell us.
const UNNAMED_MEMBER: &str = "a member";

/// Everything an email about a masterclass needs besides the masterclass itself.
pub struct MasterclassEmail<'a> {
    pub kind: NoticeKind,
    pub payload: &'a Value,
    pub masterclass: &'a Masterclass,
    /// The verified address.
    pub to: &'a str,
    /// The member's display name in the server, else [`GREETING_NAME`].
    pub recipient_name: &'a str,
    /// The member's zone, else the server's.
    pub zone: chrono_tz::Tz,
    pub host_name: &'a str,
    /// Joined: who joined.
    pub joiner_name: &'a str,
    /// The bot's own address, named as the organizer of calendar invitations.
    pub organizer: &'a str,
    pub now: DateTime<Utc>,
}

impl MasterclassEmail<'_> {
    pub fn build(&self) -> anyhow::Result<OutgoingEmail> {
        let mc = self.masterclass;
        let mut notice = EmailNotice::new(self.kind, self.recipient_name, Some(self.view()));
        match self.kind {
            NoticeKind::Joined => {
                notice.joiner_name = Some(self.joiner_name.to_owned());
                notice.seats_taken = self.count("attending");
                notice.capacity = self.count("capacity");
                notice.waitlist = self.count("waitlisted");
            }
            NoticeKind::HostDigest => {
                let digest = HostDigest::deserialize(self.payload)?;
                let named = |member| match digest_name(self.payload, member) {
                    Some(name) => name.to_owned(),
                    None => UNNAMED_MEMBER.to_owned(),
                };
                notice.summary = Some(digest.summary(named));
                notice.tally = Some(digest.tally());
            }
            NoticeKind::Cancelled => {
                notice.reason = self.payload["reason"].as_str().map(str::to_owned);
            }
            NoticeKind::Reminder => notice.starts_in = Some(starts_in(mc.starts_at - self.now)),
            _ => {}
        }
        // A waitlisted member never got the invitation: nothing in their calendar to cancel.
        let never_invited = self.payload["waitlisted"] == true;
        let method = calendar_method(self.kind).filter(|_| !never_invited);
        let calendar = method.map(|method| CalendarAttachment {
            method,
            ics: masterclass_ics(&self.ics_event(), method),
        });
        Ok(render(&notice)?.into_email(self.to, calendar))
    }

    fn count(&self, field: &str) -> Option<u32> {
        self.payload[field].as_u64().map(|n| n as u32)
    }

    fn view(&self) -> MasterclassView {
        let mc = self.masterclass;
        MasterclassView {
            title: mc.title.clone(),
            host_name: self.host_name.to_owned(),
            description: mc.description.clone(),
            start_utc: mc.starts_at,
            duration_minutes: mc.duration_minutes,
            time_zone: self.zone,
            location: location_text(mc),
            location_url: mc.location_link(),
            thread_url: mc.thread_url(),
        }
    }

    fn ics_event(&self) -> IcsEvent {
        IcsEvent {
            organizer_name: Some(self.host_name.to_owned()),
            organizer_email: Some(self.organizer.to_owned()),
            attendee_email: Some(self.to.to_owned()),
            ..IcsEvent::of(self.masterclass)
        }
    }
}

/// A channel mention means nothing in an email: link to the channel instead.
fn location_text(mc: &Masterclass) -> Option<String> {
    let link = mc.location_link()?;
    Some(match mc.location {
        Some(Location::Channel(_)) => format!("Discord channel {link}"),
        _ => link,
    })
}

/// "in 15 minutes", "in 24 hours", "in 3 days": the time actually left, as a reminder sent late
/// must not claim more than there is.
fn starts_in(left: chrono::Duration) -> String {
    let minutes = ((left.num_seconds().max(0) + 59) / 60) as u32;
    match minutes {
        0 => "now".to_owned(),
        m if m < 48 * 60 => format!("in {}", format_duration(m)),
        m => format!("in {} days", (m + 12 * 60) / (24 * 60)),
    }
}

/// The verification email: the code, to the address waiting to be verified.
pub fn verification_email(to: &str, code: &str, name: &str) -> anyhow::Result<OutgoingEmail> {
    let mut notice = EmailNotice::new(NoticeKind::VerificationCode, name, None);
    notice.code = Some(code.to_owned());
    Ok(render(&notice)?.into_email(to, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reminders_say_the_time_actually_left() {
        let minutes = chrono::Duration::minutes;
        assert_eq!(starts_in(minutes(15)), "in 15 minutes");
        assert_eq!(
            starts_in(minutes(14) + chrono::Duration::seconds(30)),
            "in 15 minutes"
        );
        assert_eq!(starts_in(minutes(24 * 60)), "in 24 hours");
        assert_eq!(starts_in(minutes(90)), "in 1 hour 30 minutes");
        assert_eq!(starts_in(minutes(3 * 24 * 60)), "in 3 days");
        assert_eq!(starts_in(minutes(-5)), "now");
    }
}
