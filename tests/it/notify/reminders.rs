//! Reminders and the start message under a controlled clock.

use chrono::{DateTime, Duration, Utc};
use masterclass_bot::domain::{Channel, Location, Masterclass, NoticeKind, UserId};
use masterclass_bot::service::HostRequest;
use serde_json::json;

use super::{allowed_mentions, Harness, ADA, BARBARA, LINUS, WAIT};
use crate::helpers::{self, member, mentor, now, GUILD, MENTOR};
use crate::support::fake_discord::Recorded;

async fn hosted(h: &Harness) -> Masterclass {
    let request = HostRequest {
        capacity: Some("40".into()),
        location: Some(Location::url("https://meet.example.org/rust").unwrap()),
        ..helpers::request("Rust ownership")
    };
    h.host(request).await
}

fn before(mc: &Masterclass, minutes: i64) -> DateTime<Utc> {
    mc.starts_at - Duration::minutes(minutes)
}

fn reminders_to(h: &Harness, user: UserId) -> Vec<Recorded> {
    h.dms_to(user)
        .into_iter()
        .filter(|r| r.body["content"].as_str().unwrap().starts_with("Reminder:"))
        .collect()
}

fn thread_since(h: &Harness, mark: usize) -> Vec<Recorded> {
    h.thread_messages()
        .into_iter()
        .filter(|r| r.seq >= mark)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_go_out_when_due_to_the_current_attendees() {
    let h = Harness::start().await;
    let mc = hosted(&h).await;
    h.verify_email(ADA, "ada@example.org").await;
    for n in 1..=2 {
        h.app.service.join(&member(n), mc.id, now()).await.unwrap();
    }
    h.step_all(now()).await;
    let mark = h.fake.mark();

    assert_eq!(
        h.step_all(before(&mc, 24 * 60) - Duration::seconds(1))
            .await
            .claimed,
        0
    );
    let report = h.step_all(before(&mc, 24 * 60)).await;

    // Ada, Linus and the host: a DM and an email each (only Ada has an address); one thread
    // reminder.
    assert_eq!(report.claimed, 7, "{report:?}");
    assert_eq!(reminders_to(&h, MENTOR).len(), 1, "the host too");
    assert_eq!(
        (reminders_to(&h, ADA).len(), reminders_to(&h, LINUS).len()),
        (1, 1)
    );
    let mails = h.smtp.wait_for_messages(2, WAIT).await; // the confirmation, then this
    assert_eq!(
        mails.last().unwrap().parse().subject(),
        Some("Reminder: “Rust ownership” starts in 24 hours")
    );
    let thread = thread_since(&h, mark);
    assert_eq!(thread.len(), 1);
    let content = thread[0].body["content"].as_str().unwrap();
    assert!(
        content.starts_with("⏰ **Rust ownership** starts <t:"),
        "{content}"
    );
    assert!(content.contains("Where: https://meet.example.org/rust"));
    let (mut users, parse) = allowed_mentions(&thread[0]);
    users.sort();
    assert_eq!(
        (users, parse),
        (vec![ADA.to_string(), LINUS.to_string()], json!([]))
    );

    // Linus leaves, Barbara joins: the 15-minute reminder follows who attends now.
    let later = before(&mc, 24 * 60) + Duration::hours(1);
    h.app.service.leave(&member(2), mc.id, later).await.unwrap();
    h.app.service.join(&member(3), mc.id, later).await.unwrap();
    h.step_all(later).await;
    let mark = h.fake.mark();
    assert_eq!(
        h.step_all(before(&mc, 15) - Duration::seconds(1))
            .await
            .claimed,
        0
    );
    h.step_all(before(&mc, 15)).await;

    assert_eq!(reminders_to(&h, ADA).len(), 2);
    assert_eq!(reminders_to(&h, LINUS).len(), 1, "Linus left");
    assert_eq!(reminders_to(&h, BARBARA).len(), 1);
    let thread = thread_since(&h, mark);
    assert_eq!(thread.len(), 1);
    let (mut users, _) = allowed_mentions(&thread[0]);
    users.sort();
    assert_eq!(users, [ADA.to_string(), BARBARA.to_string()]);
    assert!(!thread[0].body["content"]
        .as_str()
        .unwrap()
        .contains(&LINUS.to_string()));

    // At the start: the location, mentioning the host and whoever attends now.
    let mark = h.fake.mark();
    h.step_all(mc.starts_at + Duration::minutes(1)).await;
    let thread = thread_since(&h, mark);
    assert_eq!(thread.len(), 1);
    assert_eq!(
        thread[0].body["content"],
        format!(
            "🎙️ **Rust ownership** is starting now! Join here: https://meet.example.org/rust\n<@{MENTOR}> <@{ADA}> <@{BARBARA}>"
        )
    );
    let (mut users, parse) = allowed_mentions(&thread[0]);
    users.sort();
    let mut expected = vec![MENTOR.to_string(), ADA.to_string(), BARBARA.to_string()];
    expected.sort();
    assert_eq!((users, parse), (expected, json!([])));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_is_reminded_of_their_own_masterclass() {
    let h = Harness::start().await;
    let mc = hosted(&h).await;
    h.verify_email(MENTOR, "grace@example.org").await;
    h.step_all(now()).await;

    h.step_all(before(&mc, 24 * 60)).await;

    let dms = reminders_to(&h, MENTOR);
    assert_eq!(dms.len(), 1, "{}", h.fake.dump());
    let content = dms[0].body["content"].as_str().unwrap();
    let at = mc.starts_at.timestamp();
    assert!(
        content.starts_with(&format!(
            "Reminder: your masterclass **Rust ownership** starts <t:{at}:R> (<t:{at}:F>)."
        )),
        "{content}"
    );
    assert!(
        content.contains("https://meet.example.org/rust"),
        "{content}"
    );
    let mails = h.smtp.wait_for_messages(1, WAIT).await;
    assert_eq!(mails[0].to, ["grace@example.org"]);
    assert_eq!(
        mails[0].parse().subject(),
        Some("Reminder: “Rust ownership” starts in 24 hours")
    );

    // Nobody else signed up: the host alone is still reminded at 15 minutes, and the start
    // mentions the host.
    h.step_all(before(&mc, 15)).await;
    assert_eq!(reminders_to(&h, MENTOR).len(), 2);
    let mark = h.fake.mark();
    h.step_all(mc.starts_at).await;
    let thread = thread_since(&h, mark);
    assert_eq!(thread.len(), 1, "{}", h.fake.dump());
    assert_eq!(
        allowed_mentions(&thread[0]),
        (vec![MENTOR.to_string()], json!([]))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reminder_due_while_the_bot_was_down_is_sent_late_before_the_start() {
    let h = Harness::start().await;
    let mc = hosted(&h).await;
    h.verify_email(ADA, "ada@example.org").await;
    h.app.service.join(&member(1), mc.id, now()).await.unwrap();
    h.step_all(now()).await;

    // Down from before the 24-hour reminder until 10 minutes before the start.
    h.step_all(before(&mc, 10)).await;

    assert_eq!(reminders_to(&h, ADA).len(), 2, "both reminders, late");
    let mails = h.smtp.wait_for_messages(3, WAIT).await;
    let reminder = mails
        .iter()
        .map(|m| m.parse().subject().unwrap_or_default().to_owned())
        .filter(|s| s.starts_with("Reminder"))
        .collect::<Vec<_>>();
    assert_eq!(
        reminder, ["Reminder: “Rust ownership” starts in 10 minutes"; 2],
        "the time actually left"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reminder_due_while_the_bot_was_down_is_skipped_after_the_start() {
    let h = Harness::start().await;
    let mc = hosted(&h).await;
    h.app.service.join(&member(1), mc.id, now()).await.unwrap();
    h.step_all(now()).await;
    let mark = h.fake.mark();

    // Back 5 minutes after the start.
    h.step_all(mc.starts_at + Duration::minutes(5)).await;

    assert!(reminders_to(&h, ADA).is_empty());
    let reminders = h.rows(NoticeKind::Reminder).await;
    assert_eq!(
        reminders.len(),
        10,
        "2 offsets × (DM and email for Ada and for the host, thread)"
    );
    for row in &reminders {
        assert!(
            row.voided_at.is_some() && row.delivered_at.is_none(),
            "{row:?}"
        );
        assert_eq!(
            row.last_error.as_deref(),
            Some("the masterclass had started by the time the reminder could be sent")
        );
    }
    // The masterclass runs: the start message still goes out.
    let thread = thread_since(&h, mark);
    assert_eq!(thread.len(), 1);
    assert!(thread[0].body["content"]
        .as_str()
        .unwrap()
        .contains("is starting now!"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_or_leaving_silences_the_reminders() {
    let h = Harness::start().await;
    let mc = hosted(&h).await;
    for n in 1..=2 {
        h.app.service.join(&member(n), mc.id, now()).await.unwrap();
    }
    h.app.service.leave(&member(2), mc.id, now()).await.unwrap();
    h.step_all(now()).await;
    h.step_all(before(&mc, 24 * 60)).await;
    assert_eq!(reminders_to(&h, ADA).len(), 1);
    assert!(reminders_to(&h, LINUS).is_empty(), "Linus left");

    h.app
        .service
        .cancel(&mentor(GUILD), mc.id, "Grace is ill", before(&mc, 60))
        .await
        .unwrap();
    h.step_all(before(&mc, 60)).await;
    let mark = h.fake.mark();
    let report = h.step_all(mc.starts_at + Duration::minutes(1)).await;

    assert_eq!(report.claimed, 0, "nothing left to send: {report:?}");
    assert_eq!(reminders_to(&h, ADA).len(), 1);
    assert!(
        thread_since(&h, mark).is_empty(),
        "no reminder, no start message"
    );
    let pending = h
        .app
        .outbox()
        .await
        .into_iter()
        .filter(|n| n.delivered_at.is_none() && n.voided_at.is_none() && n.failed_at.is_none())
        .count();
    assert_eq!(pending, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_start_message_goes_out_only_while_the_masterclass_runs() {
    let h = Harness::start().await;
    let mc = hosted(&h).await;
    h.step_all(now()).await;
    let mark = h.fake.mark();

    h.step_all(mc.ends_at() + Duration::minutes(1)).await;

    assert!(thread_since(&h, mark).is_empty());
    let starting = h.rows(NoticeKind::Starting).await.remove(0);
    assert_eq!(starting.channel, Channel::Thread);
    assert_eq!(
        starting.last_error.as_deref(),
        Some("the masterclass is over")
    );
    assert!(starting.voided_at.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_start_message_mentions_everyone_in_messages_discord_accepts() {
    let h = Harness::start().await;
    let request = HostRequest {
        capacity: Some("200".into()),
        ..helpers::request("Rust ownership")
    };
    let mc = h.host(request).await;
    for n in 1..=150 {
        h.app.service.join(&member(n), mc.id, now()).await.unwrap();
    }
    h.step_all(now()).await;
    let mark = h.fake.mark();

    h.step_all(mc.starts_at).await;

    let thread = thread_since(&h, mark);
    assert_eq!(thread.len(), 2, "151 people: two messages of at most 100");
    let mut everyone = Vec::new();
    for message in &thread {
        let content = message.body["content"].as_str().unwrap();
        assert!(
            content.starts_with("🎙️ **Rust ownership** is starting now!"),
            "{content}"
        );
        assert!(content.chars().count() <= 2000);
        let (users, parse) = allowed_mentions(message);
        assert!(users.len() <= 100 && parse == json!([]));
        for user in &users {
            assert!(content.contains(&format!("<@{user}>")), "{content}");
        }
        everyone.extend(users);
    }
    let mut expected: Vec<String> = std::iter::once(MENTOR.to_string())
        .chain((1..=150).map(|n| member(n).user_id.to_string()))
        .collect();
    everyone.sort();
    expected.sort();
    assert_eq!(everyone, expected, "each exactly once");
}
