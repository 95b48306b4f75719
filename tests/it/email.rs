//! The email adapter against a real SMTP server running in this process.

use crate::support::ics::{ics_value, parse_ics};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use mail_parser::{MessagePart, MimeHeaders};
use masterclass_bot::calendar::{masterclass_ics, IcsEvent};
use masterclass_bot::config::{EmailSettings, Secret, SmtpSecurity};
use masterclass_bot::email::Mailer;
use masterclass_bot::notify::templates::{
    calendar_method, render, EmailNotice, MasterclassView, NoticeKind,
};
use masterclass_bot::notify::{CalendarAttachment, OutgoingEmail, SendError};

use crate::support::smtp::TestSmtp;

const WAIT: Duration = Duration::from_secs(10);
const FOOTER: &str = "You receive this because email notifications are on. Turn them off in Discord with /settings notifications email:off.";

fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 3, 17, 0, 0).unwrap()
}

fn smtp_settings(port: u16) -> EmailSettings {
    EmailSettings {
        smtp_host: "127.0.0.1".into(),
        smtp_port: port,
        smtp_security: SmtpSecurity::Plain,
        from: "Masterclass Bot <bot@example.org>".into(),
        reply_to: "Mentors <mentors@example.org>".into(),
        pool_max_size: 4,
        timeout_seconds: 5,
        ..EmailSettings::default()
    }
}

fn masterclass(title: &str) -> MasterclassView {
    MasterclassView {
        title: title.into(),
        host_name: "Grace".into(),
        description: "We read tokio's scheduler.\n\nBring questions.".into(),
        start_utc: start_time(),
        duration_minutes: 90,
        time_zone: chrono_tz::Europe::Paris,
        location: Some("Stage channel".into()),
        location_url: Some("https://discord.com/channels/1/9".into()),
        thread_url: Some("https://discord.com/channels/1/2/3".into()),
    }
}

fn ics_event(title: &str, sequence: u32) -> IcsEvent {
    IcsEvent {
        uid: "masterclass-42@masterclass-bot".into(),
        sequence,
        title: title.into(),
        description: "We read tokio's scheduler.".into(),
        start: start_time(),
        end: start_time() + chrono::Duration::minutes(90),
        location: Some("Stage channel".into()),
        url: Some("https://discord.com/channels/1/2/3".into()),
        organizer_name: Some("Grace".into()),
        organizer_email: Some("bot@example.org".into()),
        attendee_email: Some("ada@example.org".into()),
        cancelled: false,
    }
}

/// The email a member gets for `kind`, with the matching calendar object.
fn member_email(kind: NoticeKind, title: &str, sequence: u32) -> OutgoingEmail {
    let mut notice = EmailNotice::new(kind, "Ada", Some(masterclass(title)));
    notice.reason = Some("Grace is ill".into());
    let calendar = calendar_method(kind).map(|method| CalendarAttachment {
        method,
        ics: masterclass_ics(&ics_event(title, sequence), method),
    });
    render(&notice)
        .unwrap()
        .into_email("Ada <ada@example.org>", calendar)
}

fn plain_email(to: &str, subject: &str) -> OutgoingEmail {
    OutgoingEmail {
        to: to.into(),
        subject: subject.into(),
        text: "text".into(),
        html: "<p>html</p>".into(),
        calendar: None,
    }
}

fn part_with_type<'a>(
    parts: &'a [MessagePart<'a>],
    ctype: &str,
    subtype: &str,
) -> &'a MessagePart<'a> {
    parts
        .iter()
        .find(|part| {
            part.content_type()
                .is_some_and(|ct| ct.ctype() == ctype && ct.subtype() == Some(subtype))
                && part.attachment_name().is_none()
        })
        .unwrap_or_else(|| panic!("no {ctype}/{subtype} part"))
}

#[tokio::test]
async fn invitation_arrives_with_text_html_and_calendar() {
    let server = TestSmtp::start();
    let mailer = Mailer::new(&smtp_settings(server.port())).unwrap();
    let title = "<script>alert('x')</script> Rust async";

    mailer
        .send(&member_email(NoticeKind::JoinConfirmed, title, 1))
        .await
        .unwrap();

    let received = server.wait_for_messages(1, WAIT).await;
    let mail = &received[0];
    assert_eq!(mail.from, "bot@example.org");
    assert_eq!(mail.to, vec!["ada@example.org".to_owned()]);

    let message = mail.parse();
    assert_eq!(
        message.subject(),
        Some("You're in: “<script>alert('x')</script> Rust async”")
    );
    assert_eq!(
        message
            .from()
            .and_then(|a| a.first())
            .and_then(|a| a.address()),
        Some("bot@example.org")
    );
    assert_eq!(
        message
            .reply_to()
            .and_then(|a| a.first())
            .and_then(|a| a.address()),
        Some("mentors@example.org")
    );
    assert!(message
        .message_id()
        .is_some_and(|id| id.ends_with("@example.org")));
    // A notification, not a person: no auto-replies, and providers can offer to unsubscribe.
    assert_eq!(
        message.header_raw("Auto-Submitted").map(str::trim),
        Some("auto-generated")
    );
    assert_eq!(
        message.header_raw("List-Unsubscribe").map(str::trim),
        Some("<mailto:bot@example.org?subject=unsubscribe>")
    );

    let text = message.body_text(0).unwrap();
    let html = message.body_html(0).unwrap();
    for body in [&text, &html] {
        assert!(
            body.contains("Tuesday 3 March 2026, 18:00 (Europe/Paris, CET)"),
            "{body}"
        );
        assert!(body.contains("Tuesday 3 March 2026, 17:00 UTC"));
        assert!(body.contains("1 hour 30 minutes"));
        assert!(body.contains("Stage channel"));
        assert!(body.contains("https://discord.com/channels/1/2/3"));
        assert!(body.contains(FOOTER));
    }
    assert!(text.contains("<script>alert('x')</script> Rust async"));
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Rust async"));

    // The invitation part inside multipart/alternative, with its iTIP method…
    let calendar = part_with_type(&message.parts, "text", "calendar");
    let content_type = calendar.content_type().unwrap();
    assert_eq!(content_type.attribute("method"), Some("REQUEST"));
    assert_eq!(content_type.attribute("charset"), Some("utf-8"));
    let ics = calendar.text_contents().unwrap();
    let properties = parse_ics(ics);
    assert_eq!(ics_value(&properties, "METHOD"), "REQUEST");
    assert_eq!(
        ics_value(&properties, "UID"),
        "masterclass-42@masterclass-bot"
    );
    assert_eq!(ics_value(&properties, "SEQUENCE"), "1");
    assert_eq!(ics_value(&properties, "DTSTART"), "20260303T170000Z");
    assert_eq!(ics_value(&properties, "DTEND"), "20260303T183000Z");
    assert_eq!(ics_value(&properties, "STATUS"), "CONFIRMED");
    assert!(ics_value(&properties, "DTSTAMP").ends_with('Z'));

    // …and the same calendar as a downloadable masterclass.ics.
    let attachment = message
        .attachments()
        .find(|part| part.attachment_name() == Some("masterclass.ics"))
        .expect("masterclass.ics attachment");
    assert_eq!(attachment.text_contents(), Some(ics));
}

#[tokio::test]
async fn cancellation_carries_method_cancel() {
    let server = TestSmtp::start();
    let mailer = Mailer::new(&smtp_settings(server.port())).unwrap();

    mailer
        .send(&member_email(NoticeKind::Cancelled, "Rust async", 3))
        .await
        .unwrap();

    let received = server.wait_for_messages(1, WAIT).await;
    let message = received[0].parse();
    assert_eq!(message.subject(), Some("Cancelled: “Rust async”"));
    assert!(message
        .body_text(0)
        .unwrap()
        .contains("Reason: Grace is ill"));
    let calendar = part_with_type(&message.parts, "text", "calendar");
    assert_eq!(
        calendar.content_type().unwrap().attribute("method"),
        Some("CANCEL")
    );
    let properties = parse_ics(calendar.text_contents().unwrap());
    assert_eq!(ics_value(&properties, "METHOD"), "CANCEL");
    assert_eq!(ics_value(&properties, "STATUS"), "CANCELLED");
    assert_eq!(
        ics_value(&properties, "UID"),
        "masterclass-42@masterclass-bot"
    );
    assert_eq!(ics_value(&properties, "SEQUENCE"), "3");
}

#[tokio::test]
async fn without_smtp_each_email_becomes_an_eml_file() {
    let outbox = tempfile::tempdir().unwrap();
    let settings = EmailSettings {
        outbox_dir: outbox.path().join("mail"),
        from: "Masterclass Bot <bot@example.org>".into(),
        ..EmailSettings::default()
    };
    let mailer = Mailer::new(&settings).unwrap();

    mailer
        .send(&member_email(NoticeKind::JoinConfirmed, "Rust async", 1))
        .await
        .unwrap();
    mailer
        .send(&plain_email("ada@example.org", "second"))
        .await
        .unwrap();
    mailer
        .send(&plain_email("bob@example.org", "third"))
        .await
        .unwrap();

    let files = list_dir(&settings.outbox_dir);
    assert_eq!(files.len(), 3, "{files:?}");
    let mut subjects = BTreeSet::new();
    for name in &files {
        assert!(name.ends_with(".eml"), "unexpected file {name}");
        let bytes = std::fs::read(settings.outbox_dir.join(name)).unwrap();
        let message = mail_parser::MessageParser::default().parse(&bytes).unwrap();
        subjects.insert(message.subject().unwrap().to_owned());
    }
    assert_eq!(
        subjects,
        BTreeSet::from([
            "You're in: “Rust async”".into(),
            "second".into(),
            "third".into()
        ])
    );
}

fn list_dir(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[tokio::test]
async fn connection_refused_is_transient() {
    let port = TestSmtp::reserve_port();
    let mailer = Mailer::new(&smtp_settings(port)).unwrap();

    let error = mailer
        .send(&plain_email("ada@example.org", "hello"))
        .await
        .unwrap_err();

    assert!(matches!(error, SendError::Transient(_)), "{error:?}");
}

#[tokio::test]
async fn smtp_down_then_up_recovers() {
    let port = TestSmtp::reserve_port();
    let mailer = Mailer::new(&smtp_settings(port)).unwrap();
    let email = plain_email("ada@example.org", "hello");

    // Down: nothing listens yet.
    assert!(mailer.send(&email).await.unwrap_err().is_transient());

    // Up on the same port: the same mailer delivers.
    let mut server = TestSmtp::start_on(port);
    mailer.send(&email).await.unwrap();
    server.wait_for_messages(1, WAIT).await;

    // Down again while the pool holds an idle connection: lettre's NOOP check
    // drops the dead connection, the reconnect is refused.
    server.stop();
    assert!(mailer.send(&email).await.unwrap_err().is_transient());

    server.restart();
    mailer.send(&email).await.unwrap();
    server.wait_for_messages(2, WAIT).await;
}

#[tokio::test]
async fn rejected_recipients_are_classified() {
    let server = TestSmtp::start();
    let mailer = Mailer::new(&smtp_settings(server.port())).unwrap();

    let bounced = mailer
        .send(&plain_email("bounce@example.org", "x"))
        .await
        .unwrap_err();
    assert!(matches!(bounced, SendError::Permanent(_)), "{bounced:?}");

    let busy = mailer
        .send(&plain_email("busy@example.org", "x"))
        .await
        .unwrap_err();
    assert!(matches!(busy, SendError::Transient(_)), "{busy:?}");

    let invalid = mailer
        .send(&plain_email("not an address", "x"))
        .await
        .unwrap_err();
    assert!(matches!(invalid, SendError::Permanent(_)), "{invalid:?}");

    // The connection survives rejected transactions.
    mailer
        .send(&plain_email("ada@example.org", "ok"))
        .await
        .unwrap();
    assert_eq!(server.wait_for_messages(1, WAIT).await.len(), 1);
}

#[tokio::test]
async fn credentials_are_sent_when_a_username_is_set() {
    let server = TestSmtp::start_with_login("bot", "s3cret");
    let settings = EmailSettings {
        smtp_username: "bot".into(),
        smtp_password: Secret::new("s3cret"),
        ..smtp_settings(server.port())
    };
    Mailer::new(&settings)
        .unwrap()
        .send(&plain_email("ada@example.org", "authenticated"))
        .await
        .unwrap();
    server.wait_for_messages(1, WAIT).await;

    // A wrong password is an admin problem, not the email's: keep it for a retry.
    let wrong = EmailSettings {
        smtp_password: Secret::new("wrong"),
        ..settings
    };
    let error = Mailer::new(&wrong)
        .unwrap()
        .send(&plain_email("ada@example.org", "x"))
        .await
        .unwrap_err();
    assert!(matches!(error, SendError::Transient(_)), "{error:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_emails_arrive_through_the_pool() {
    let server = TestSmtp::start();
    let settings = smtp_settings(server.port());
    let mailer = Mailer::new(&settings).unwrap();

    let mut sends = tokio::task::JoinSet::new();
    for i in 0..50 {
        let mailer = mailer.clone();
        sends.spawn(async move {
            mailer
                .send(&plain_email(
                    &format!("member{i}@example.org"),
                    &format!("email {i}"),
                ))
                .await
        });
    }
    while let Some(result) = sends.join_next().await {
        result.unwrap().unwrap();
    }

    let received = server.wait_for_messages(50, WAIT).await;
    let subjects: BTreeSet<String> = received
        .iter()
        .map(|mail| mail.parse().subject().unwrap().to_owned())
        .collect();
    assert_eq!(subjects.len(), 50);

    let stats = server.session_stats();
    tracing::info!(?stats, "SMTP sessions for 50 emails");
    // Sessions are capped by the mailer; connections get reused.
    assert!(
        stats.max_open <= 2 * settings.pool_max_size as usize,
        "{stats:?}"
    );
    assert!(stats.total < 50, "connections were not reused: {stats:?}");
}
