//! Emails through the worker: real SMTP, parsed as MIME, calendar objects checked.

use crate::support::ics::{ics_value, parse_ics};
use std::collections::HashMap;

use chrono::Duration;
use mail_parser::{MessagePart, MimeHeaders};
use masterclass_bot::domain::{Channel, Location, NoticeKind, UserId};
use masterclass_bot::service::HostRequest;

use super::{Harness, ADA, BARBARA, LINUS, THREAD, WAIT};
use crate::helpers::{self, member, mentor, now, GUILD, MENTOR};
use crate::support::smtp::ReceivedMail;

fn rust_ownership() -> HostRequest {
    HostRequest {
        capacity: Some("40".into()),
        location: Some(Location::url("https://meet.example.org/rust").unwrap()),
        ..helpers::request("Rust ownership")
    }
}

fn mail_to<'a>(mails: &'a [ReceivedMail], address: &str) -> Vec<&'a ReceivedMail> {
    mails
        .iter()
        .filter(|m| m.to.iter().any(|to| to == address))
        .collect()
}

fn calendar_part<'a>(parts: &'a [MessagePart<'a>]) -> &'a MessagePart<'a> {
    parts
        .iter()
        .find(|part| {
            part.content_type()
                .is_some_and(|ct| ct.ctype() == "text" && ct.subtype() == Some("calendar"))
        })
        .expect("a text/calendar part")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_brings_an_invitation_and_tells_the_host_who_joined() {
    let h = Harness::start().await;
    let mc = h.host(rust_ownership()).await;
    h.verify_email(ADA, "ada@example.org").await;
    h.verify_email(MENTOR, "grace@example.org").await;
    h.app
        .service
        .set_member_time_zone(ADA, "Europe/Paris", now())
        .await
        .unwrap();
    h.app.service.join(&member(1), mc.id, now()).await.unwrap();

    let report = h.step_all(now()).await;

    assert_eq!(report.failed, 0, "{report:?}");
    let mails = h.smtp.wait_for_messages(2, WAIT).await;
    let joiner = mail_to(&mails, "ada@example.org");
    assert_eq!(joiner.len(), 1);
    let message = joiner[0].parse();
    assert_eq!(message.subject(), Some("You're in: “Rust ownership”"));
    let text = message.body_text(0).unwrap();
    let html = message.body_html(0).unwrap();
    let thread = format!("https://discord.com/channels/{GUILD}/{THREAD}");
    for body in [&text, &html] {
        // The member's zone, named, and UTC.
        assert!(
            body.contains("Saturday 14 March 2026, 19:00 (Europe/Paris, CET)"),
            "{body}"
        );
        assert!(body.contains("Saturday 14 March 2026, 18:00 UTC"), "{body}");
        assert!(body.contains("https://meet.example.org/rust"), "{body}");
        assert!(body.contains(&thread), "{body}");
        assert!(body.contains("grace"), "the host's name: {body}");
        assert!(body.contains("/settings notifications email:off"), "{body}");
    }
    // Greeted by the name the server shows; the meeting link is a link.
    assert!(text.starts_with("Hi ada,"), "{text}");
    assert!(html.contains("Hi ada,"), "{html}");
    assert!(
        html.contains(r#"<a href="https://meet.example.org/rust""#),
        "{html}"
    );
    let calendar = calendar_part(&message.parts);
    assert_eq!(
        calendar.content_type().unwrap().attribute("method"),
        Some("REQUEST")
    );
    let ics = parse_ics(calendar.text_contents().unwrap());
    assert_eq!(ics_value(&ics, "METHOD"), "REQUEST");
    assert_eq!(
        ics_value(&ics, "UID"),
        format!("masterclass-{}@masterclass-bot", mc.id)
    );
    assert_eq!(ics_value(&ics, "DTSTART"), "20260314T180000Z");
    assert_eq!(ics_value(&ics, "DTEND"), "20260314T193000Z");
    assert_eq!(ics_value(&ics, "SEQUENCE"), mc.sequence.to_string());
    assert_eq!(ics_value(&ics, "ORGANIZER"), "mailto:bot@example.org");
    assert!(message
        .attachments()
        .any(|a| a.attachment_name() == Some("masterclass.ics")));

    let host = mail_to(&mails, "grace@example.org");
    assert_eq!(host.len(), 1);
    let message = host[0].parse();
    assert_eq!(
        message.subject(),
        Some("ada joined “Rust ownership” (1/40)")
    );
    let text = message.body_text(0).unwrap();
    assert!(text.starts_with("Hi grace,"), "{text}");
    assert!(text.contains("ada joined your masterclass"), "{text}");
    assert!(text.contains("1 of 40 seats taken"), "{text}");
    assert!(
        message
            .parts
            .iter()
            .filter_map(|p| p.content_type())
            .all(|ct| ct.subtype() != Some("calendar")),
        "no calendar for the host's notice"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancellation_cancels_the_calendar_event() {
    let h = Harness::start().await;
    let mc = h.host(rust_ownership()).await;
    h.verify_email(ADA, "ada@example.org").await;
    h.app.service.join(&member(1), mc.id, now()).await.unwrap();
    h.step_all(now()).await;
    let before = h.smtp.messages().len();

    h.app
        .service
        .cancel(&mentor(GUILD), mc.id, "Grace is ill", now())
        .await
        .unwrap();
    h.step_all(now()).await;

    let mails = h.smtp.wait_for_messages(before + 1, WAIT).await;
    let message = mails[before].parse();
    assert_eq!(message.subject(), Some("Cancelled: “Rust ownership”"));
    assert!(message
        .body_text(0)
        .unwrap()
        .contains("Reason: Grace is ill"));
    let calendar = calendar_part(&message.parts);
    assert_eq!(
        calendar.content_type().unwrap().attribute("method"),
        Some("CANCEL")
    );
    let ics = parse_ics(calendar.text_contents().unwrap());
    assert_eq!(ics_value(&ics, "METHOD"), "CANCEL");
    assert_eq!(ics_value(&ics, "STATUS"), "CANCELLED");
    assert_eq!(
        ics_value(&ics, "UID"),
        format!("masterclass-{}@masterclass-bot", mc.id)
    );
    assert_eq!(ics_value(&ics, "DTSTART"), "20260314T180000Z");
    // The cancellation bumped the sequence, so calendars take it over the invitation.
    assert_eq!(ics_value(&ics, "SEQUENCE"), (mc.sequence + 1).to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emails_go_only_to_verified_addresses_with_email_on() {
    let h = Harness::start().await;
    let mc = h.host(rust_ownership()).await;
    h.verify_email(ADA, "ada@example.org").await;
    h.verify_email(BARBARA, "barbara@example.org").await;
    h.app
        .service
        .set_notifications(BARBARA, None, Some(false), now())
        .await
        .unwrap();
    for n in 1..=3 {
        h.app.service.join(&member(n), mc.id, now()).await.unwrap();
    }

    h.step_all(now()).await;

    let confirmations: HashMap<UserId, _> = h
        .rows(NoticeKind::JoinConfirmed)
        .await
        .into_iter()
        .filter(|n| n.channel == Channel::Email)
        .map(|n| (n.recipient_id.unwrap(), n))
        .collect();
    assert!(confirmations[&ADA].delivered_at.is_some());
    let linus = &confirmations[&LINUS];
    assert!(linus.voided_at.is_some() && linus.delivered_at.is_none());
    assert_eq!(
        linus.last_error.as_deref(),
        Some("no verified email address")
    );
    let barbara = &confirmations[&BARBARA];
    assert!(barbara.voided_at.is_some() && barbara.delivered_at.is_none());
    assert_eq!(barbara.last_error.as_deref(), Some("emails off"));
    let mails = h.smtp.wait_for_messages(1, WAIT).await;
    assert_eq!(mails.len(), 1, "only Ada is mailed");
    assert_eq!(mails[0].to, ["ada@example.org"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verification_code_goes_to_the_pending_address_and_is_not_kept() {
    let h = Harness::start().await;
    h.verify_email(ADA, "old@example.org").await;
    h.app
        .service
        .request_email_code(GUILD, ADA, "new@example.org", now())
        .await
        .unwrap();
    let row = h.rows(NoticeKind::VerificationCode).await.remove(0);
    let code = row.payload["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 6);

    let report = h.step_all(now()).await;

    assert_eq!(report.delivered, 1, "{report:?}");
    let mails = h.smtp.wait_for_messages(1, WAIT).await;
    assert_eq!(mails[0].to, ["new@example.org"], "the pending address");
    let message = mails[0].parse();
    assert!(
        !message.subject().unwrap().contains(&code),
        "never in the subject"
    );
    assert!(message.body_text(0).unwrap().contains(&code));
    let row = h.rows(NoticeKind::VerificationCode).await.remove(0);
    assert!(row.delivered_at.is_some());
    assert_eq!(row.payload, serde_json::json!({}), "the code is scrubbed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_down_then_up_loses_nothing() {
    let mut h = Harness::start().await;
    let mc = h.host(rust_ownership()).await;
    for n in 1..=3 {
        let user = member(n).user_id;
        h.verify_email(user, &format!("member{n}@example.org"))
            .await;
        h.app.service.join(&member(n), mc.id, now()).await.unwrap();
    }
    h.smtp.stop();

    let report = h.step_all(now()).await;

    assert_eq!(report.retried, 3, "three confirmations wait: {report:?}");
    let waiting: Vec<_> = h
        .rows(NoticeKind::JoinConfirmed)
        .await
        .into_iter()
        .filter(|n| n.channel == Channel::Email)
        .collect();
    assert_eq!(waiting.len(), 3);
    for row in &waiting {
        assert!(row.delivered_at.is_none() && row.failed_at.is_none());
        assert_eq!(row.attempts, 1);
        assert!(
            row.last_error.as_deref().unwrap().contains("temporary"),
            "{row:?}"
        );
        // First backoff: 10 s with jitter, between 5 and 10 s.
        let delay = row.due_at - now();
        assert!(
            (Duration::seconds(5)..=Duration::seconds(10)).contains(&delay),
            "{delay:?}"
        );
    }
    assert_eq!(h.step_all(now() + Duration::seconds(4)).await.claimed, 0);

    h.smtp.restart();
    let report = h.step_all(now() + Duration::seconds(10)).await;

    assert_eq!(report.delivered, 3, "{report:?}");
    let mails = h.smtp.wait_for_messages(3, WAIT).await;
    let mut to: Vec<_> = mails.iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    assert_eq!(
        to,
        [
            "member1@example.org",
            "member2@example.org",
            "member3@example.org"
        ]
    );
    assert!(h
        .rows(NoticeKind::JoinConfirmed)
        .await
        .iter()
        .filter(|n| n.channel == Channel::Email)
        .all(|n| n.delivered_at.is_some()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waitlisted_member_is_mailed_when_promoted_not_before() {
    let h = Harness::start().await;
    let request = HostRequest {
        capacity: Some("1".into()),
        ..rust_ownership()
    };
    let mc = h.host(request).await;
    h.verify_email(ADA, "ada@example.org").await;
    h.verify_email(LINUS, "linus@example.org").await;
    h.app.service.join(&member(1), mc.id, now()).await.unwrap();
    h.app.service.join(&member(2), mc.id, now()).await.unwrap(); // waitlisted

    h.step_all(now()).await;

    let confirmation = h
        .rows(NoticeKind::JoinConfirmed)
        .await
        .into_iter()
        .find(|n| n.channel == Channel::Email && n.recipient_id == Some(LINUS))
        .unwrap();
    assert_eq!(
        confirmation.last_error.as_deref(),
        Some("waitlisted: the email templates only confirm seats")
    );
    assert!(mail_to(&h.smtp.messages(), "linus@example.org").is_empty());

    h.app.service.leave(&member(1), mc.id, now()).await.unwrap();
    h.step_all(now()).await;

    let mails = h.smtp.wait_for_messages(2, WAIT).await;
    let promoted = mail_to(&mails, "linus@example.org");
    assert_eq!(promoted.len(), 1);
    let message = promoted[0].parse();
    assert_eq!(
        message.subject(),
        Some("A seat opened: you're attending “Rust ownership”")
    );
    let ics = parse_ics(calendar_part(&message.parts).text_contents().unwrap());
    assert_eq!(ics_value(&ics, "METHOD"), "REQUEST");
}

fn has_calendar(message: &mail_parser::Message) -> bool {
    message
        .parts
        .iter()
        .filter_map(|p| p.content_type())
        .any(|ct| ct.subtype() == Some("calendar"))
        || message.attachments().next().is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waitlisted_member_gets_a_plain_cancellation_without_a_calendar() {
    let h = Harness::start().await;
    let request = HostRequest {
        capacity: Some("1".into()),
        ..rust_ownership()
    };
    let mc = h.host(request).await;
    h.verify_email(ADA, "ada@example.org").await;
    h.verify_email(LINUS, "linus@example.org").await;
    h.app.service.join(&member(1), mc.id, now()).await.unwrap();
    h.app.service.join(&member(2), mc.id, now()).await.unwrap(); // waitlisted
    h.step_all(now()).await;
    let before = h.smtp.messages().len();

    h.app
        .service
        .cancel(&mentor(GUILD), mc.id, "Grace is ill", now())
        .await
        .unwrap();
    h.step_all(now()).await;

    let mails = h.smtp.wait_for_messages(before + 2, WAIT).await;
    let to_linus = mail_to(&mails[before..], "linus@example.org");
    assert_eq!(to_linus.len(), 1);
    let message = to_linus[0].parse();
    assert_eq!(message.subject(), Some("Cancelled: “Rust ownership”"));
    assert!(message
        .body_text(0)
        .unwrap()
        .contains("Reason: Grace is ill"));
    assert!(
        !has_calendar(&message),
        "never invited, nothing to cancel in the calendar"
    );
    // The attendee's cancellation still cancels the event in their calendar.
    let to_ada = mail_to(&mails[before..], "ada@example.org");
    let message = to_ada[0].parse();
    let calendar = calendar_part(&message.parts);
    assert_eq!(
        calendar.content_type().unwrap().attribute("method"),
        Some("CANCEL")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reminder_links_to_the_meeting_and_names_the_member() {
    let h = Harness::start().await;
    let mc = h.host(rust_ownership()).await;
    let unnamed = member(4).user_id; // not known to the fake Discord by name
    h.verify_email(ADA, "ada@example.org").await;
    h.verify_email(unnamed, "member4@example.org").await;
    h.app.service.join(&member(1), mc.id, now()).await.unwrap();
    h.app.service.join(&member(4), mc.id, now()).await.unwrap();
    h.step_all(now()).await;
    let before = h.smtp.messages().len();

    h.step_all(mc.starts_at - Duration::hours(24)).await;

    let mails = h.smtp.wait_for_messages(before + 2, WAIT).await;
    let to_ada = mail_to(&mails[before..], "ada@example.org");
    assert_eq!(to_ada.len(), 1);
    let message = to_ada[0].parse();
    assert_eq!(
        message.subject(),
        Some("Reminder: “Rust ownership” starts in 24 hours")
    );
    let html = message.body_html(0).unwrap();
    assert!(html.contains("Hi ada,"), "{html}");
    assert!(
        html.contains(r#"<a href="https://meet.example.org/rust""#) && html.contains(">Join</a>"),
        "a clear Join link: {html}"
    );
    let text = message.body_text(0).unwrap();
    assert!(text.starts_with("Hi ada,"), "{text}");
    assert!(
        text.contains("Join: https://meet.example.org/rust"),
        "{text}"
    );

    // A name Discord does not give: the greeting falls back.
    let to_unnamed = mail_to(&mails[before..], "member4@example.org");
    let text = to_unnamed[0].parse().body_text(0).unwrap().into_owned();
    assert!(text.starts_with("Hi there,"), "{text}");
}
