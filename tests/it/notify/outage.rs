//! Outages: a notification that cannot get through is retried for a time (48 hours in these
//! tests, as by default), not a number of attempts, rate limits included; then it is given up
//! and admins see it. The clock is stepped to each retry.

use chrono::{DateTime, Duration, Utc};
use masterclass_bot::domain::{Channel, NoticeKind, UserId};
use masterclass_bot::service::{describe, DeliveryProblem, HostRequest};
use masterclass_bot::store::outbox::Notice;

use super::{Harness, ADA};
use crate::helpers::{self, admin, member, now, GUILD, MENTOR};
use crate::support::fake_discord::{FailRule, Failure, Method};

const BUDGET: i64 = 48; // hours: `test_settings().give_up_after`, the default

/// Ada (with a verified address) joins a masterclass four days ahead: her "you're in" email is
/// due at `now()`.
async fn ada_joins(h: &Harness) {
    let request = HostRequest {
        capacity: Some("40".into()),
        ..helpers::request("Rust ownership")
    };
    let mc = h.host(request).await;
    h.verify_email(ADA, "ada@example.org").await;
    h.app.service.join(&member(1), mc.id, now()).await.unwrap();
}

/// Which notification a test follows.
type Which = (NoticeKind, Channel, UserId);
const ADA_EMAIL: Which = (NoticeKind::JoinConfirmed, Channel::Email, ADA);
const HOST_DM: Which = (NoticeKind::Joined, Channel::Dm, MENTOR);

async fn row(h: &Harness, (kind, channel, to): Which) -> Notice {
    h.rows(kind)
        .await
        .into_iter()
        .find(|n| n.channel == channel && n.recipient_id == Some(to))
        .unwrap_or_else(|| panic!("no {channel:?} {kind:?} row for {to}"))
}

/// Steps the worker from `now()`, then at each time the row says it is due again, while it is
/// neither delivered nor given up and its next try is before `until`. Checks after every step
/// that the row waits, that its budget runs from its first failed attempt, at `now()`, and that
/// its payload is as the event wrote it. Returns the row and the time of its next try (or of the
/// step that settled it).
async fn retry_until(h: &Harness, which: Which, until: DateTime<Utc>) -> (Notice, DateTime<Utc>) {
    let written = row(h, which).await.payload;
    let mut at = now();
    loop {
        h.worker.step(at).await.unwrap();
        let notice = row(h, which).await;
        if notice.delivered_at.is_some() || notice.failed_at.is_some() {
            return (notice, at);
        }
        assert_eq!(notice.retrying_since, Some(now()), "{notice:?}");
        assert_eq!(notice.payload, written, "retries leave the payload alone");
        assert!(notice.due_at > at, "due again later: {notice:?}");
        assert!(
            notice.due_at <= now() + Duration::hours(BUDGET),
            "the last try is when the budget runs out: {notice:?}"
        );
        at = notice.due_at;
        if at >= until {
            return (notice, at);
        }
    }
}

async fn problems(h: &Harness) -> Vec<DeliveryProblem> {
    h.app
        .service
        .delivery_problems(&admin(GUILD), 25)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_smtp_server_down_for_47_hours_loses_nothing() {
    let mut h = Harness::start().await;
    h.smtp.stop();
    ada_joins(&h).await;

    let back_up = now() + Duration::hours(47);
    let (waiting, next_try) = retry_until(&h, ADA_EMAIL, back_up).await;

    assert!(waiting.delivered_at.is_none() && waiting.failed_at.is_none());
    assert!(
        waiting.attempts > 8,
        "more tries than the old limit of 8: {waiting:?}"
    );
    assert!(waiting
        .last_error
        .as_deref()
        .unwrap()
        .contains("temporary email failure"));
    assert!(h.smtp.messages().is_empty());
    let retrying = problems(&h).await;
    assert_eq!(retrying.len(), 1, "{retrying:?}");
    assert_eq!(retrying[0].failing_since, Some(now()));
    assert!(describe(&retrying[0]).contains("failing since <t:"));

    h.smtp.restart();
    let report = h.step_all(next_try).await;

    assert_eq!(report.delivered, 1, "{report:?}");
    let sent = row(&h, ADA_EMAIL).await;
    assert_eq!(sent.delivered_at, Some(next_try));
    assert!(sent.failed_at.is_none());
    assert_eq!(sent.attempts, waiting.attempts + 1);
    let mails = h.smtp.messages();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, ["ada@example.org"]);
    assert!(
        problems(&h).await.is_empty(),
        "a delivered notification is no problem"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_smtp_server_down_past_the_budget_ends_in_the_deliveries_report() {
    let mut h = Harness::start().await;
    h.smtp.stop();
    ada_joins(&h).await;

    let end = now() + Duration::hours(BUDGET + 1);
    let (given_up, at) = retry_until(&h, ADA_EMAIL, end).await;

    let deadline = now() + Duration::hours(BUDGET);
    assert_eq!(
        (given_up.failed_at, at),
        (Some(deadline), deadline),
        "given up at the last try, when the budget ran out: {given_up:?}"
    );
    assert!(given_up.delivered_at.is_none());
    let error = given_up.last_error.as_deref().unwrap();
    assert!(
        error.starts_with("gave up after 48 hours of failed attempts: temporary email failure"),
        "{error}"
    );
    let listed = problems(&h).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    let problem = &listed[0];
    assert_eq!(
        (problem.id, problem.failed_at, problem.next_attempt_at),
        (given_up.id, Some(deadline), None)
    );
    let line = describe(problem);
    assert!(
        line.contains("join_confirmed · email to <@10001>"),
        "{line}"
    );
    assert!(
        line.contains(&format!(
            "{} attempts · gave up <t:{}:R> · gave up after 48 hours",
            given_up.attempts,
            deadline.timestamp()
        )),
        "{line}"
    );

    // Given up is final: the server coming back sends nothing.
    h.smtp.restart();
    let report = h.step_all(deadline + Duration::hours(1)).await;
    assert_eq!(report.claimed, 0, "{report:?}");
    assert!(h.smtp.messages().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dm_route_rate_limited_for_ever_ends_in_the_report_without_counting_attempts() {
    let h = Harness::start().await;
    let route = format!("/channels/{}/messages", h.fake.dm_channel_id(MENTOR.0));
    let limited = Failure::RateLimited {
        retry_after: 3600.0,
    };
    h.fake.fail(FailRule::always(Method::POST, &route, limited));
    ada_joins(&h).await;

    // One look an hour, as Discord asks; none counts as an attempt.
    let written = row(&h, HOST_DM).await.payload;
    let (mut at, mut looks) = (now(), 0);
    let given_up = loop {
        h.worker.step(at).await.unwrap();
        looks += 1;
        let dm = row(&h, HOST_DM).await;
        if dm.failed_at.is_some() {
            break dm;
        }
        assert!(dm.delivered_at.is_none());
        assert!(looks <= BUDGET, "still waiting after {looks} looks: {dm:?}");
        assert_eq!(dm.attempts, 0, "a rate limit is not an attempt: {dm:?}");
        assert_eq!(dm.retrying_since, Some(now()));
        assert_eq!(dm.payload, written, "postponements leave the payload alone");
        assert_eq!(dm.due_at, at + Duration::hours(1), "Retry-After is an hour");
        let error = dm.last_error.as_deref().unwrap();
        assert!(error.starts_with("rate limited by Discord"), "{error}");
        if looks == 2 {
            let line = describe(&problems(&h).await[0]);
            let state = format!(
                "0 attempts · failing since <t:{}:R> · next try <t:{}:R>",
                now().timestamp(),
                dm.due_at.timestamp()
            );
            assert!(line.contains(&state), "{line}");
        }
        at = dm.due_at;
    };

    let deadline = now() + Duration::hours(BUDGET);
    assert_eq!((given_up.failed_at, given_up.attempts), (Some(deadline), 0));
    assert_eq!(given_up.retrying_since, Some(now()), "kept once given up");
    assert_eq!(looks, BUDGET + 1, "one a hour from 0 to 48 hours");
    let error = given_up.last_error.as_deref().unwrap();
    assert!(
        error.starts_with("gave up after 48 hours: rate limited by Discord"),
        "{error}"
    );
    let statuses: Vec<u16> = h
        .fake
        .requests()
        .iter()
        .filter(|r| r.is("POST", &route))
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, vec![429; looks as usize]);
    let listed = problems(&h).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    let line = describe(&listed[0]);
    assert!(
        line.contains(&format!(
            "joined · DM to <@{MENTOR}> · masterclass {} · 0 attempts · gave up <t:{}:R> · gave up after 48 hours: rate limited by Discord",
            listed[0].masterclass_id.unwrap(),
            deadline.timestamp()
        )),
        "{line}"
    );

    // Nothing more is tried.
    let report = h.step_all(deadline + Duration::hours(2)).await;
    assert_eq!(report.claimed, 0, "{report:?}");
}
