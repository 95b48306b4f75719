//! DMs and thread messages through serenity against the fake Discord.

use chrono::Duration;
use masterclass_bot::domain::{Channel, NoticeKind, UserId};
use masterclass_bot::service::HostRequest;
use serde_json::json;

use super::{allowed_mentions, Harness, ADA, BARBARA, LINUS, WAIT};
use crate::helpers::{self, member, mentor, now, GUILD, MENTOR};
use crate::support::fake_discord::{FailRule, Failure, Method};

fn with_capacity(title: &str, seats: u32) -> HostRequest {
    HostRequest {
        capacity: Some(seats.to_string()),
        ..helpers::request(title)
    }
}

fn dm_row(
    rows: &[masterclass_bot::store::outbox::Notice],
    user: UserId,
) -> &masterclass_bot::store::outbox::Notice {
    rows.iter()
        .find(|n| n.channel == Channel::Dm && n.recipient_id == Some(user))
        .unwrap_or_else(|| panic!("no DM row for {user}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dm_costs_one_request_once_the_channel_is_known() {
    let h = Harness::start().await;
    let rust = h.host(with_capacity("Rust ownership", 40)).await;
    let go = h.host(with_capacity("Go channels", 40)).await;
    h.app
        .service
        .join(&member(1), rust.id, now())
        .await
        .unwrap();
    h.app.service.join(&member(1), go.id, now()).await.unwrap();

    let report = h.step_all(now()).await;

    assert_eq!(report.failed + report.retried, 0, "{report:?}");
    // The host hears of both joins: two DMs, one DM channel.
    assert_eq!(h.dm_channel_creations(MENTOR), 1);
    let to_host = h.dms_to(MENTOR);
    assert_eq!(to_host.len(), 2, "{}", h.fake.dump());
    assert!(to_host.iter().any(|m| m.body["content"]
        == "**ada** joined your masterclass **Rust ownership**: 1/40 seats taken."));
    assert!(to_host.iter().any(|m| m.body["content"]
        == "**ada** joined your masterclass **Go channels**: 1/40 seats taken."));
    for dm in &to_host {
        assert_eq!(allowed_mentions(dm), (vec![], json!([])), "{dm}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_is_answered_on_screen_not_repeated_by_dm_but_mailed() {
    let h = Harness::start().await;
    let mc = h.host(with_capacity("Rust ownership", 40)).await;
    h.verify_email(ADA, "ada@example.org").await;

    h.app.service.join(&member(1), mc.id, now()).await.unwrap();
    let report = h.step_all(now()).await;

    assert_eq!(report.failed + report.retried, 0, "{report:?}");
    assert!(h.dms_to(ADA).is_empty(), "{}", h.fake.dump());
    assert_eq!(h.dm_channel_creations(ADA), 0);
    let rows = h.rows(NoticeKind::JoinConfirmed).await;
    assert!(rows.iter().all(|n| n.channel == Channel::Email), "{rows:?}");
    // The email stays: it brings the calendar file.
    let mails = h.smtp.wait_for_messages(1, WAIT).await;
    assert_eq!(mails[0].to, ["ada@example.org"]);
    assert_eq!(
        mails[0].parse().subject(),
        Some("You're in: “Rust ownership”")
    );
    // The host's notice keeps its DM.
    assert_eq!(h.dms_to(MENTOR).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dms_off_means_no_dm() {
    let h = Harness::start().await;
    let mc = h.host(with_capacity("Rust ownership", 40)).await;
    h.app
        .service
        .set_notifications(MENTOR, Some(false), None, now())
        .await
        .unwrap();
    h.app.service.join(&member(1), mc.id, now()).await.unwrap();

    h.step_all(now()).await;

    let rows = h.rows(NoticeKind::Joined).await;
    let dm = dm_row(&rows, MENTOR);
    assert!(dm.voided_at.is_some() && dm.delivered_at.is_none());
    assert_eq!(dm.last_error.as_deref(), Some("DMs off"));
    assert_eq!(h.dm_channel_creations(MENTOR), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_dm_is_covered_by_email_or_by_one_thread_mention() {
    let h = Harness::start().await;
    let mc = h.host(with_capacity("Rust ownership", 40)).await;
    h.verify_email(ADA, "ada@example.org").await;
    for n in 1..=4 {
        h.app.service.join(&member(n), mc.id, now()).await.unwrap();
    }
    h.step_all(now()).await;
    for user in [ADA, LINUS, BARBARA] {
        h.fake.fail_dms_to(user.0);
    }
    let mark = h.fake.mark();

    h.app
        .service
        .cancel(&mentor(GUILD), mc.id, "@everyone Grace is ill", now())
        .await
        .unwrap();
    h.step_all(now()).await;

    // One refused attempt each: 50007 is never retried.
    h.step_all(now() + Duration::hours(2)).await;
    for user in [ADA, LINUS, BARBARA] {
        let route = format!("/channels/{}/messages", h.fake.dm_channel_id(user.0));
        let attempts: Vec<_> = h
            .fake
            .requests()
            .into_iter()
            .filter(|r| r.seq >= mark && r.is("POST", &route))
            .collect();
        assert_eq!(attempts.len(), 1, "{user}: {}", h.fake.dump());
        assert_eq!(attempts[0].status, 403);
    }
    let rows = h.rows(NoticeKind::Cancelled).await;
    assert_eq!(
        dm_row(&rows, ADA).last_error.as_deref(),
        Some("DMs closed; reached by email")
    );
    for user in [LINUS, BARBARA] {
        assert_eq!(
            dm_row(&rows, user).last_error.as_deref(),
            Some("DMs closed and no email; mentioned in the thread")
        );
    }
    assert!(dm_row(&rows, member(4).user_id).delivered_at.is_some());
    let mails = h.smtp.wait_for_messages(2, WAIT).await; // the confirmation, then this
    let last = mails.last().unwrap();
    assert_eq!(last.to, ["ada@example.org"]);
    assert_eq!(last.parse().subject(), Some("Cancelled: “Rust ownership”"));

    // The thread: the cancellation, then one message for everyone the bot could not reach.
    let thread: Vec<_> = h
        .thread_messages()
        .into_iter()
        .filter(|r| r.seq >= mark)
        .collect();
    assert_eq!(thread.len(), 2, "{}", h.fake.dump());
    let cancellation = &thread[0];
    assert_eq!(
        cancellation.body["content"],
        "This masterclass was cancelled.\nReason: \\@everyone Grace is ill"
    );
    assert_eq!(allowed_mentions(cancellation), (vec![], json!([])));
    let mention = &thread[1];
    let content = mention.body["content"].as_str().unwrap();
    assert!(content.starts_with("I couldn't reach you by DM, so here it is:\n**Rust ownership**"));
    assert!(content.contains("was cancelled."), "{content}");
    for user in [LINUS, BARBARA] {
        assert!(content.contains(&format!("<@{user}>")), "{content}");
    }
    assert!(!content.contains(&format!("<@{ADA}>")), "email reached Ada");
    let (mut users, parse) = allowed_mentions(mention);
    users.sort();
    assert_eq!(users, [LINUS.to_string(), BARBARA.to_string()]);
    assert_eq!(parse, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_without_email_is_mentioned_in_the_thread_alone() {
    let h = Harness::start().await;
    let mc = h.host(with_capacity("Rust ownership", 1)).await;
    h.app.service.join(&member(1), mc.id, now()).await.unwrap();
    h.app.service.join(&member(2), mc.id, now()).await.unwrap(); // waitlisted
    h.step_all(now()).await;
    h.fake.fail_dms_to(LINUS.0);
    let mark = h.fake.mark();

    h.app.service.leave(&member(1), mc.id, now()).await.unwrap();
    h.step_all(now()).await;

    let thread: Vec<_> = h
        .thread_messages()
        .into_iter()
        .filter(|r| r.seq >= mark)
        .collect();
    assert_eq!(thread.len(), 1, "{}", h.fake.dump());
    let content = thread[0].body["content"].as_str().unwrap();
    assert!(content.contains("A seat opened up: you're now attending **Rust ownership**"));
    assert!(content.ends_with(&format!("<@{LINUS}>")), "{content}");
    assert_eq!(
        allowed_mentions(&thread[0]),
        (vec![LINUS.to_string()], json!([]))
    );
    let rows = h.rows(NoticeKind::Promoted).await;
    let stand_in = rows
        .iter()
        .find(|n| n.channel == Channel::Thread)
        .expect("a thread row stands in for the DM");
    assert!(stand_in.delivered_at.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_dm_waits_for_retry_after_without_losing_an_attempt() {
    let h = Harness::start().await;
    let mc = h.host(with_capacity("Rust ownership", 40)).await;
    h.app.service.join(&member(1), mc.id, now()).await.unwrap();
    let route = format!("/channels/{}/messages", h.fake.dm_channel_id(MENTOR.0));
    let limited = Failure::RateLimited { retry_after: 3.0 };
    h.fake.fail(FailRule::once(Method::POST, &route, limited));

    let report = h.worker.step(now()).await.unwrap();

    assert_eq!(report.retried, 1, "{report:?}");
    let rows = h.rows(NoticeKind::Joined).await;
    let dm = dm_row(&rows, MENTOR);
    assert!(dm.delivered_at.is_none());
    assert_eq!(
        dm.due_at,
        now() + Duration::seconds(3),
        "Retry-After is 3 s"
    );
    assert_eq!(dm.attempts, 0, "a rate limit is not an attempt");
    assert!(dm.last_error.as_deref().unwrap().contains("rate limited"));

    assert_eq!(
        h.worker
            .step(now() + Duration::seconds(2))
            .await
            .unwrap()
            .claimed,
        0
    );
    let report = h.worker.step(now() + Duration::seconds(3)).await.unwrap();

    assert_eq!(report.delivered, 1, "{report:?}");
    let rows = h.rows(NoticeKind::Joined).await;
    assert!(dm_row(&rows, MENTOR).delivered_at.is_some());
    let attempts: Vec<u16> = h
        .fake
        .requests()
        .iter()
        .filter(|r| r.is("POST", &route))
        .map(|r| r.status)
        .collect();
    assert_eq!(attempts, [429, 200]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_join_receipt_is_not_repeated_in_the_thread() {
    let h = Harness::start().await;
    let mc = h.host(with_capacity("Rust ownership", 40)).await;
    h.fake.fail_dms_to(MENTOR.0);

    h.app.service.join(&member(2), mc.id, now()).await.unwrap();
    h.step_all(now()).await;

    let rows = h.rows(NoticeKind::Joined).await;
    assert_eq!(
        dm_row(&rows, MENTOR).last_error.as_deref(),
        Some("DMs closed and no email")
    );
    assert!(h.thread_messages().is_empty(), "{}", h.fake.dump());
}
