//! Every email is rendered from minijinja templates: a short per-kind subject
//! and intro (below), wrapped in a shared layout (`templates/layout.*`) that
//! shows the masterclass details and the opt-out footer.
//!
//! The minijinja build has no `multi_template` feature (no include/extends),
//! so the layout receives the rendered intro as a variable instead.

use std::fmt::Write as _;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use minijinja::{context, AutoEscape, Environment, Output, State, UndefinedBehavior, Value};
use serde::Serialize;

use super::{CalendarAttachment, OutgoingEmail};
use crate::calendar::IcsMethod;
use crate::domain::plural;

/// Emails use the domain's kinds; `Starting` exists only as a thread message and has no email.
pub use crate::domain::NoticeKind;

/// Which calendar object (if any) suits an email of this kind: invitations for seats,
/// cancellations when the seat or the masterclass is gone.
pub fn calendar_method(kind: NoticeKind) -> Option<IcsMethod> {
    match kind {
        NoticeKind::JoinConfirmed
        | NoticeKind::GuestAdded
        | NoticeKind::Promoted
        | NoticeKind::DetailsChanged => Some(IcsMethod::Request),
        NoticeKind::Cancelled | NoticeKind::Removed => Some(IcsMethod::Cancel),
        NoticeKind::Joined
        | NoticeKind::HostDigest
        | NoticeKind::Reminder
        | NoticeKind::Starting
        | NoticeKind::VerificationCode => None,
    }
}

/// What the templates need to know about one email.
#[derive(Clone, Debug)]
pub struct EmailNotice {
    pub kind: NoticeKind,
    pub recipient_name: String,
    /// `None` only for [`NoticeKind::VerificationCode`].
    pub masterclass: Option<MasterclassView>,
    /// Joined: who joined.
    pub joiner_name: Option<String>,
    /// Joined: "12 of 40 seats taken, 3 on the waitlist". No capacity = unlimited.
    pub seats_taken: Option<u32>,
    pub capacity: Option<u32>,
    pub waitlist: Option<u32>,
    /// HostDigest: the sentence ("Ana, Bo and 3 others joined; Cy left — 12/40 seats") and
    /// the counts for the subject ("5 joined, 1 left").
    pub summary: Option<String>,
    pub tally: Option<String>,
    /// Cancelled / Removed: optional explanation from the host.
    pub reason: Option<String>,
    /// Reminder: "in 24 hours" / "in 15 minutes".
    pub starts_in: Option<String>,
    /// VerificationCode: the code (valid 30 minutes).
    pub code: Option<String>,
}

impl EmailNotice {
    /// A notice with every optional field empty.
    pub fn new(
        kind: NoticeKind,
        recipient_name: impl Into<String>,
        masterclass: Option<MasterclassView>,
    ) -> Self {
        EmailNotice {
            kind,
            recipient_name: recipient_name.into(),
            masterclass,
            joiner_name: None,
            seats_taken: None,
            capacity: None,
            waitlist: None,
            summary: None,
            tally: None,
            reason: None,
            starts_in: None,
            code: None,
        }
    }
}

/// A masterclass as one member sees it (times in their zone).
#[derive(Clone, Debug)]
pub struct MasterclassView {
    pub title: String,
    pub host_name: String,
    pub description: String,
    pub start_utc: DateTime<Utc>,
    pub duration_minutes: u32,
    /// The recipient's zone.
    pub time_zone: Tz,
    pub location: Option<String>,
    /// Where to click to join (the meeting link, or the voice channel's link): `location` is
    /// linked to it, and reminders show a "Join" link.
    pub location_url: Option<String>,
    pub thread_url: Option<String>,
}

/// A rendered email, ready to address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedEmail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl RenderedEmail {
    pub fn into_email(
        self,
        to: impl Into<String>,
        calendar: Option<CalendarAttachment>,
    ) -> OutgoingEmail {
        OutgoingEmail {
            to: to.into(),
            subject: self.subject,
            text: self.text,
            html: self.html,
            calendar,
        }
    }
}

/// Renders subject, plain text and HTML (auto-escaped) for a notice.
///
/// Fails on a template bug, a masterclass notice without a masterclass, or a
/// verification notice without a code.
pub fn render(notice: &EmailNotice) -> anyhow::Result<RenderedEmail> {
    anyhow::ensure!(
        notice.kind != NoticeKind::Starting,
        "\"starting\" is a thread message, not an email"
    );
    if notice.kind == NoticeKind::VerificationCode {
        anyhow::ensure!(notice.code.is_some(), "verification email needs a code");
    } else {
        anyhow::ensure!(
            notice.masterclass.is_some(),
            "{:?} email needs a masterclass",
            notice.kind
        );
    }
    let env = environment();
    let base = Value::from_serialize(NoticeContext::new(notice));

    let subject = env
        .get_template(&template_name(notice.kind, "subject.txt"))?
        .render(&base)?;
    // Headers are one line; templates may not contain stray newlines.
    let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");

    let intro_text = env
        .get_template(&template_name(notice.kind, "txt"))?
        .render(&base)?;
    let text = env.get_template("layout.txt")?.render(context! {
        intro => intro_text.trim(),
        subject => &subject,
        ..base.clone()
    })?;

    let intro_html = env
        .get_template(&template_name(notice.kind, "html"))?
        .render(&base)?;
    let html = env.get_template("layout.html")?.render(context! {
        // Already escaped by its own .html template.
        intro => Value::from_safe_string(intro_html.trim().to_owned()),
        subject => &subject,
        ..base
    })?;

    Ok(RenderedEmail {
        subject,
        text,
        html,
    })
}

/// The start time in the member's zone, named, e.g.
/// "Tuesday 3 March 2026, 18:00 (Europe/Paris, CET)".
pub fn format_local_start(start: DateTime<Utc>, zone: Tz) -> String {
    let local = start.with_timezone(&zone);
    let abbreviation = local.format("%Z").to_string();
    let zone_label = if abbreviation == zone.name() {
        abbreviation
    } else {
        format!("{}, {abbreviation}", zone.name())
    };
    format!("{} ({zone_label})", local.format("%A %-d %B %Y, %H:%M"))
}

/// The same instant in UTC, e.g. "Tuesday 3 March 2026, 17:00 UTC".
pub fn format_utc_start(start: DateTime<Utc>) -> String {
    start.format("%A %-d %B %Y, %H:%M UTC").to_string()
}

/// "45 minutes", "1 hour", "1 hour 30 minutes", "2 hours".
pub fn format_duration(minutes: u32) -> String {
    let hours = |h: u32| plural(h, "hour", "hours");
    let mins = |m: u32| plural(m, "minute", "minutes");
    match (minutes / 60, minutes % 60) {
        (0, m) => mins(m),
        (h, 0) => hours(h),
        (h, m) => format!("{} {}", hours(h), mins(m)),
    }
}

/// Per-kind templates: (kind, subject, text intro, HTML intro).
/// Subjects stay short: the title is cut to `short_title`.
const KIND_TEMPLATES: &[(NoticeKind, &str, &str, &str)] = &[
    (
        NoticeKind::Joined,
        "{{ joiner_name }} joined “{{ mc.short_title }}”{% if seats_taken is not none and capacity %} ({{ seats_taken }}/{{ capacity }}){% endif %}",
        "{{ joiner_name }} joined your masterclass “{{ mc.title }}”.{% if seats_taken is not none %} {{ seats_line }}.{% endif %}",
        "<strong>{{ joiner_name }}</strong> joined your masterclass <strong>{{ mc.title }}</strong>.{% if seats_taken is not none %} {{ seats_line }}.{% endif %}",
    ),
    (
        NoticeKind::HostDigest,
        "{{ tally }}: “{{ mc.short_title }}”",
        "Since my last message about your masterclass “{{ mc.title }}”: {{ summary }}.",
        "Since my last message about your masterclass <strong>{{ mc.title }}</strong>: {{ summary }}.",
    ),
    (
        NoticeKind::JoinConfirmed,
        "You're in: “{{ mc.short_title }}”",
        "You're attending “{{ mc.title }}” hosted by {{ mc.host_name }}.",
        "You're attending <strong>{{ mc.title }}</strong> hosted by {{ mc.host_name }}.",
    ),
    (
        NoticeKind::GuestAdded,
        "You were added to “{{ mc.short_title }}”",
        "{{ mc.host_name }} added you to “{{ mc.title }}”. Your seat is reserved.",
        "{{ mc.host_name }} added you to <strong>{{ mc.title }}</strong>. Your seat is reserved.",
    ),
    (
        NoticeKind::Promoted,
        "A seat opened: you're attending “{{ mc.short_title }}”",
        "A seat opened up, so you moved from the waitlist: you're now attending “{{ mc.title }}”.",
        "A seat opened up, so you moved from the waitlist: you're now attending <strong>{{ mc.title }}</strong>.",
    ),
    (
        NoticeKind::Cancelled,
        "Cancelled: “{{ mc.short_title }}”",
        "{{ mc.host_name }} cancelled “{{ mc.title }}”.\n{% if reason %}Reason: {{ reason }}{% endif %}",
        "{{ mc.host_name }} cancelled <strong>{{ mc.title }}</strong>.{% if reason %}<br>Reason: {{ reason }}{% endif %}",
    ),
    (
        NoticeKind::Reminder,
        "Reminder: “{{ mc.short_title }}” starts {{ starts_in }}",
        "“{{ mc.title }}” starts {{ starts_in }}.\n\n{% if mc.location_url %}Join: {{ mc.location_url }}{% endif %}",
        "<strong>{{ mc.title }}</strong> starts {{ starts_in }}.{% if mc.location_url %}</p>\n<p style=\"margin:0 0 16px;\"><a href=\"{{ mc.location_url }}\" style=\"display:inline-block;padding:8px 16px;background-color:#1f883d;color:#ffffff;border-radius:6px;font-weight:600;text-decoration:none;\">Join</a>{% endif %}",
    ),
    (
        NoticeKind::Removed,
        "You were removed from “{{ mc.short_title }}”",
        "You are no longer attending “{{ mc.title }}”: the host removed you.\n{% if reason %}Reason: {{ reason }}{% endif %}",
        "You are no longer attending <strong>{{ mc.title }}</strong>: the host removed you.{% if reason %}<br>Reason: {{ reason }}{% endif %}",
    ),
    (
        NoticeKind::DetailsChanged,
        "Updated: “{{ mc.short_title }}”",
        "The details of “{{ mc.title }}” changed. This is the current information:",
        "The details of <strong>{{ mc.title }}</strong> changed. This is the current information:",
    ),
    (
        NoticeKind::VerificationCode,
        // Never the code in the subject: subjects show in notification previews, mail server
        // logs and lock screens. The body has it.
        "Your Masterclass Bot verification code",
        "Your verification code is: {{ code }}\n\nEnter it in Discord to confirm this email address. It expires in 30 minutes.\n\nIf you did not ask for this, ignore this email: nothing changes unless the code is entered.",
        "Your verification code is:</p>\n<p style=\"margin:0 0 16px;font-family:Menlo,Consolas,monospace;font-size:24px;font-weight:600;letter-spacing:4px;\">{{ code }}</p>\n<p style=\"margin:0 0 16px;\">Enter it in Discord to confirm this email address. It expires in 30 minutes.</p>\n<p style=\"margin:0 0 16px;\">If you did not ask for this, ignore this email: nothing changes unless the code is entered.",
    ),
];

const LAYOUT_TEXT: &str = include_str!("templates/layout.txt");
const LAYOUT_HTML: &str = include_str!("templates/layout.html");

/// Template names end in .txt/.html so minijinja's default callback
/// auto-escapes the HTML ones only.
fn template_name(kind: NoticeKind, part: &str) -> String {
    format!("{kind:?}.{part}")
}

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_formatter(html_formatter);
        // A typo in a template fails the tests instead of rendering "".
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.add_template("layout.txt", LAYOUT_TEXT)
            .expect("layout.txt parses");
        env.add_template("layout.html", LAYOUT_HTML)
            .expect("layout.html parses");
        for (kind, subject, text, html) in KIND_TEMPLATES {
            for (part, source) in [("subject.txt", subject), ("txt", text), ("html", html)] {
                let name = template_name(*kind, part);
                if let Err(err) = env.add_template_owned(name.clone(), *source) {
                    panic!("template {name} does not parse: {err}");
                }
            }
        }
        env
    })
}

/// minijinja's HTML escaping also turns '/' into "&#x2f;", which makes URLs
/// and zone names ("Europe/Paris") unreadable in the source that spam filters
/// and tests see. Escaping `& < > " '` is all HTML needs.
fn html_formatter(out: &mut Output, state: &State, value: &Value) -> Result<(), minijinja::Error> {
    match value.as_str() {
        Some(text) if state.auto_escape() == AutoEscape::Html && !value.is_safe() => {
            for c in text.chars() {
                match c {
                    '&' => out.write_str("&amp;")?,
                    '<' => out.write_str("&lt;")?,
                    '>' => out.write_str("&gt;")?,
                    '"' => out.write_str("&quot;")?,
                    '\'' => out.write_str("&#39;")?,
                    c => out.write_char(c)?,
                }
            }
            Ok(())
        }
        _ => minijinja::escape_formatter(out, state, value),
    }
}

#[derive(Serialize)]
struct NoticeContext<'a> {
    recipient_name: &'a str,
    mc: Option<MasterclassContext>,
    joiner_name: &'a str,
    seats_taken: Option<u32>,
    capacity: Option<u32>,
    waitlist: Option<u32>,
    seats_line: String,
    summary: &'a str,
    tally: &'a str,
    reason: Option<&'a str>,
    starts_in: &'a str,
    code: Option<&'a str>,
}

impl<'a> NoticeContext<'a> {
    fn new(notice: &'a EmailNotice) -> Self {
        NoticeContext {
            recipient_name: &notice.recipient_name,
            mc: notice.masterclass.as_ref().map(MasterclassContext::new),
            // Fallbacks keep a missing field from rendering as "none".
            joiner_name: notice.joiner_name.as_deref().unwrap_or("Someone"),
            seats_taken: notice.seats_taken,
            capacity: notice.capacity,
            waitlist: notice.waitlist,
            seats_line: seats_line(notice),
            summary: notice.summary.as_deref().unwrap_or("sign-ups changed"),
            tally: notice.tally.as_deref().unwrap_or("Sign-ups changed"),
            reason: notice.reason.as_deref().filter(|r| !r.trim().is_empty()),
            starts_in: notice.starts_in.as_deref().unwrap_or("soon"),
            code: notice.code.as_deref(),
        }
    }
}

/// "12 of 40 seats taken, 3 on the waitlist" / "12 attending".
fn seats_line(notice: &EmailNotice) -> String {
    let Some(taken) = notice.seats_taken else {
        return String::new();
    };
    let mut line = match notice.capacity {
        Some(capacity) => format!("{taken} of {capacity} seats taken"),
        None => format!("{taken} attending"),
    };
    if let Some(waiting) = notice.waitlist.filter(|w| *w > 0) {
        line.push_str(&format!(", {waiting} on the waitlist"));
    }
    line
}

#[derive(Serialize)]
struct MasterclassContext {
    title: String,
    short_title: String,
    host_name: String,
    description_paragraphs: Vec<Vec<String>>,
    start_local: String,
    start_utc: String,
    /// No second line when the member's zone is UTC anyway.
    show_utc: bool,
    duration: String,
    location: Option<String>,
    location_url: Option<String>,
    thread_url: Option<String>,
}

impl MasterclassContext {
    fn new(view: &MasterclassView) -> Self {
        let title = one_line(&view.title);
        let is_utc = view
            .start_utc
            .with_timezone(&view.time_zone)
            .format("%Z")
            .to_string()
            == "UTC";
        MasterclassContext {
            short_title: shorten(&title, 60),
            title,
            host_name: one_line(&view.host_name),
            description_paragraphs: paragraphs(&view.description),
            start_local: format_local_start(view.start_utc, view.time_zone),
            start_utc: format_utc_start(view.start_utc),
            show_utc: !is_utc,
            duration: format_duration(view.duration_minutes),
            location: view
                .location
                .as_deref()
                .map(one_line)
                .filter(|l| !l.is_empty()),
            location_url: web_link(view.location_url.as_deref()),
            thread_url: web_link(view.thread_url.as_deref()),
        }
    }
}

/// Only web links: the URL ends up in an href.
fn web_link(url: Option<&str>) -> Option<String> {
    url.map(str::trim)
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .map(str::to_owned)
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn shorten(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max_chars - 1).collect();
    format!("{}…", cut.trim_end())
}

/// Blank lines separate paragraphs; single newlines become line breaks.
fn paragraphs(text: &str) -> Vec<Vec<String>> {
    let normalized = text.replace("\r\n", "\n");
    normalized
        .split("\n\n")
        .map(|block| {
            block
                .lines()
                .map(str::trim_end)
                .filter(|line| !line.trim().is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter(|lines| !lines.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn view(title: &str) -> MasterclassView {
        MasterclassView {
            title: title.into(),
            host_name: "Grace".into(),
            description: "We read tokio's source.\n\nBring questions.".into(),
            start_utc: Utc.with_ymd_and_hms(2026, 3, 3, 17, 0, 0).unwrap(),
            duration_minutes: 90,
            time_zone: chrono_tz::Europe::Paris,
            location: Some("Stage channel".into()),
            location_url: Some("https://discord.com/channels/1/9".into()),
            thread_url: Some("https://discord.com/channels/1/2/3".into()),
        }
    }

    #[test]
    fn local_time_names_the_zone_across_the_march_dst_change() {
        // Paris switches from CET (+1) to CEST (+2) on Sunday 29 March 2026.
        let before = Utc.with_ymd_and_hms(2026, 3, 28, 17, 0, 0).unwrap();
        let after = Utc.with_ymd_and_hms(2026, 3, 29, 17, 0, 0).unwrap();
        let paris = chrono_tz::Europe::Paris;
        assert_eq!(
            format_local_start(before, paris),
            "Saturday 28 March 2026, 18:00 (Europe/Paris, CET)"
        );
        assert_eq!(
            format_local_start(after, paris),
            "Sunday 29 March 2026, 19:00 (Europe/Paris, CEST)"
        );
        assert_eq!(format_utc_start(after), "Sunday 29 March 2026, 17:00 UTC");
    }

    #[test]
    fn local_time_in_utc_and_across_midnight() {
        let start = Utc.with_ymd_and_hms(2026, 3, 3, 23, 30, 0).unwrap();
        assert_eq!(
            format_local_start(start, chrono_tz::UTC),
            "Tuesday 3 March 2026, 23:30 (UTC)"
        );
        assert_eq!(
            format_local_start(start, chrono_tz::Asia::Tokyo),
            "Wednesday 4 March 2026, 08:30 (Asia/Tokyo, JST)"
        );
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration(45), "45 minutes");
        assert_eq!(format_duration(60), "1 hour");
        assert_eq!(format_duration(90), "1 hour 30 minutes");
        assert_eq!(format_duration(121), "2 hours 1 minute");
    }

    #[test]
    fn every_kind_renders_with_details_and_footer() {
        let kinds = [
            NoticeKind::Joined,
            NoticeKind::HostDigest,
            NoticeKind::JoinConfirmed,
            NoticeKind::GuestAdded,
            NoticeKind::Promoted,
            NoticeKind::Cancelled,
            NoticeKind::Reminder,
            NoticeKind::Removed,
            NoticeKind::DetailsChanged,
        ];
        for kind in kinds {
            let mut notice = EmailNotice::new(kind, "Ada", Some(view("Rust async deep dive")));
            notice.joiner_name = Some("Linus".into());
            notice.seats_taken = Some(12);
            notice.capacity = Some(40);
            notice.starts_in = Some("in 15 minutes".into());
            notice.summary = Some("Ana joined — 12/40 seats".into());
            notice.tally = Some("1 joined".into());
            let email = render(&notice).unwrap();
            for body in [&email.text, &email.html] {
                assert!(body.contains("Rust async deep dive"), "{kind:?}: {body}");
                assert!(body.contains("Grace"), "{kind:?}");
                assert!(
                    body.contains("Tuesday 3 March 2026, 18:00 (Europe/Paris, CET)"),
                    "{kind:?}"
                );
                assert!(body.contains("Tuesday 3 March 2026, 17:00 UTC"), "{kind:?}");
                assert!(body.contains("1 hour 30 minutes"), "{kind:?}");
                assert!(body.contains("Stage channel"), "{kind:?}");
                assert!(
                    body.contains("https://discord.com/channels/1/2/3"),
                    "{kind:?}"
                );
                assert!(
                    body.contains(
                        "Turn them off in Discord with /settings notifications email:off."
                    ),
                    "{kind:?}"
                );
            }
            assert!(!email.subject.is_empty() && !email.subject.contains('\n'));
        }
    }

    #[test]
    fn subjects_are_short_and_specific() {
        let mut joined = EmailNotice::new(
            NoticeKind::Joined,
            "Grace",
            Some(view("Rust async deep dive")),
        );
        joined.joiner_name = Some("Ada".into());
        joined.seats_taken = Some(12);
        joined.capacity = Some(40);
        joined.waitlist = Some(3);
        let email = render(&joined).unwrap();
        assert_eq!(email.subject, "Ada joined “Rust async deep dive” (12/40)");
        assert!(email
            .text
            .contains("12 of 40 seats taken, 3 on the waitlist."));

        let mut reminder = EmailNotice::new(
            NoticeKind::Reminder,
            "Ada",
            Some(view("Rust async deep dive")),
        );
        reminder.starts_in = Some("in 15 minutes".into());
        assert_eq!(
            render(&reminder).unwrap().subject,
            "Reminder: “Rust async deep dive” starts in 15 minutes"
        );

        let long = "A very long title that goes on and on about everything one could learn";
        let cancelled = EmailNotice::new(NoticeKind::Cancelled, "Ada", Some(view(long)));
        let subject = render(&cancelled).unwrap().subject;
        assert!(subject.starts_with("Cancelled: “A very long title"));
        assert!(subject.ends_with("…”"), "{subject}");
        assert!(subject.chars().count() < 80);
    }

    #[test]
    fn a_digest_says_what_changed_in_one_email() {
        let mut digest = EmailNotice::new(
            NoticeKind::HostDigest,
            "Grace",
            Some(view("Rust async deep dive")),
        );
        digest.summary = Some("Ana, <Bo> and 3 others joined; Cy left — 12/40 seats".into());
        digest.tally = Some("5 joined, 1 left".into());
        let email = render(&digest).unwrap();
        assert_eq!(email.subject, "5 joined, 1 left: “Rust async deep dive”");
        assert!(email.text.contains(
            "Since my last message about your masterclass “Rust async deep dive”: \
             Ana, <Bo> and 3 others joined; Cy left — 12/40 seats."
        ));
        assert!(email
            .html
            .contains("Ana, &lt;Bo&gt; and 3 others joined; Cy left — 12/40 seats."));
    }

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let mut notice = EmailNotice::new(
            NoticeKind::Cancelled,
            "Ada <b>",
            Some(view("<script>alert(1)</script> & more")),
        );
        notice.reason = Some("Host is ill <3".into());
        let email = render(&notice).unwrap();
        assert!(!email.html.contains("<script>"));
        assert!(email
            .html
            .contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; more"));
        assert!(email.html.contains("Host is ill &lt;3"));
        assert!(email.html.contains("Ada &lt;b&gt;"));
        assert!(email.text.contains("<script>alert(1)</script> & more"));
        assert!(email.text.contains("Reason: Host is ill <3"));
    }

    #[test]
    fn verification_email_shows_code_and_expiry() {
        let mut notice = EmailNotice::new(NoticeKind::VerificationCode, "Ada", None);
        notice.code = Some("482913".into());
        let email = render(&notice).unwrap();
        assert_eq!(email.subject, "Your Masterclass Bot verification code");
        for body in [&email.text, &email.html] {
            assert!(body.contains("482913"));
            assert!(body.contains("expires in 30 minutes"));
            assert!(body.contains("ignore this email"));
            assert!(!body.contains("/settings notifications"));
        }
    }

    #[test]
    fn the_place_is_a_link_and_reminders_say_join() {
        let mut reminder = EmailNotice::new(NoticeKind::Reminder, "Ada", Some(view("Rust")));
        reminder.starts_in = Some("in 15 minutes".into());
        let email = render(&reminder).unwrap();
        assert!(email.html.contains(
            r#"<a href="https://discord.com/channels/1/9" style="color:#0969da;">Stage channel</a>"#
        ));
        assert!(email.html.contains(">Join</a>"), "{}", email.html);
        assert!(email
            .text
            .contains("starts in 15 minutes.\n\nJoin: https://discord.com/channels/1/9"));

        // Only reminders carry the Join link; a place without a web link is plain text.
        let mut plain = view("Rust");
        plain.location_url = Some("javascript:alert(1)".into());
        let cancelled = render(&EmailNotice::new(NoticeKind::Cancelled, "Ada", Some(plain)));
        let html = cancelled.unwrap().html;
        assert!(!html.contains(">Join</a>") && !html.contains("javascript:"));
        assert!(html.contains(">Stage channel</td>"), "{html}");
    }

    #[test]
    fn masterclass_notice_without_masterclass_is_an_error() {
        assert!(render(&EmailNotice::new(NoticeKind::Reminder, "Ada", None)).is_err());
    }
}
