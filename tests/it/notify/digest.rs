//! Host digests: the first join of a quiet spell is told to the host at once; what follows
//! within `notifications.host_digest_minutes` goes out as one DM and one email when the window
//! ends. A stepped clock, the real SMTP server, the fake Discord.

use chrono::{DateTime, Duration, Utc};
use masterclass_bot::domain::{Masterclass, NoticeKind, UserId};
use masterclass_bot::service::Service;

use super::{new_worker, test_settings, Harness, ADA, BARBARA, LINUS, WAIT};
use crate::helpers::{self, caller, now, GUILD, MENTOR};
use crate::support::fake_discord::Recorded;

const HOST_ADDRESS: &str = "grace@example.org";
/// A member the fake Discord has no name for.
const NAMELESS: UserId = UserId(10_004);

/// The production default.
fn window() -> Duration {
    Duration::minutes(10)
}

/// The service as the app builds it, with digests on.
fn digesting(h: &Harness) -> Service {
    h.app.service.clone().with_host_digest(window())
}

fn at(minutes: i64) -> DateTime<Utc> {
    now() + Duration::minutes(minutes)
}

/// A masterclass with 40 seats whose host has a verified address.
async fn hosted(h: &Harness) -> Masterclass {
    let mc = h
        .host(masterclass_bot::service::HostRequest {
            capacity: Some("40".into()),
            ..helpers::request("Rust ownership")
        })
        .await;
    h.verify_email(MENTOR, HOST_ADDRESS).await;
    mc
}

async fn join(service: &Service, mc: &Masterclass, user: UserId, when: DateTime<Utc>) {
    service
        .join(&caller(GUILD, user), mc.id, when)
        .await
        .expect("joins");
}

async fn leave(service: &Service, mc: &Masterclass, user: UserId, when: DateTime<Utc>) {
    service
        .leave(&caller(GUILD, user), mc.id, when)
        .await
        .expect("leaves");
}

fn texts(dms: &[Recorded]) -> Vec<String> {
    dms.iter()
        .map(|dm| dm.body["content"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Subjects of the emails the host received.
fn host_subjects(h: &Harness) -> Vec<String> {
    h.smtp
        .messages()
        .iter()
        .filter(|m| m.to.iter().any(|to| to == HOST_ADDRESS))
        .map(|m| m.parse().subject().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_join_is_told_at_once_and_what_follows_in_one_digest() {
    let h = Harness::start().await;
    let service = digesting(&h);
    let mc = hosted(&h).await;

    join(&service, &mc, ADA, at(0)).await;
    h.step_all(at(0)).await;
    h.smtp.wait_for_messages(1, WAIT).await;
    assert_eq!(
        texts(&h.dms_to(MENTOR)),
        ["**ada** joined your masterclass **Rust ownership**: 1/40 seats taken."]
    );
    assert_eq!(host_subjects(&h), ["ada joined “Rust ownership” (1/40)"]);

    // Three joins and a leave within the window: nothing goes out until it ends.
    join(&service, &mc, LINUS, at(1)).await;
    join(&service, &mc, BARBARA, at(2)).await;
    join(&service, &mc, NAMELESS, at(3)).await;
    leave(&service, &mc, ADA, at(4)).await;
    let report = h.step_all(at(9)).await;
    assert_eq!(report.delivered, 0, "{report:?}");
    assert_eq!(h.dms_to(MENTOR).len(), 1);
    assert_eq!(host_subjects(&h).len(), 1);

    let report = h.step_all(at(10)).await;

    assert_eq!(report.delivered, 2, "one DM and one email: {report:?}");
    assert_eq!(
        texts(&h.dms_to(MENTOR))[1],
        format!(
            "Since my last message about **Rust ownership**: **linus**, **barbara** and \
             <@{NAMELESS}> joined; **ada** left — 3/40 seats."
        )
    );
    let mails = h.smtp.wait_for_messages(2, WAIT).await;
    assert_eq!(
        host_subjects(&h),
        [
            "ada joined “Rust ownership” (1/40)",
            "3 joined, 1 left: “Rust ownership”"
        ]
    );
    let digest = mails.last().unwrap().parse();
    let text = digest.body_text(0).unwrap();
    assert!(text.starts_with("Hi grace,"), "{text}");
    assert!(
        text.contains(
            "Since my last message about your masterclass “Rust ownership”: linus, barbara and \
             a member joined; ada left — 3/40 seats."
        ),
        "{text}"
    );
    // Every join reached the host: one at once, the others in the digest; nothing else is owed.
    assert_eq!(h.rows(NoticeKind::Joined).await.len(), 2);
    assert_eq!(h.rows(NoticeKind::HostDigest).await.len(), 2);
    let report = h.step_all(at(60)).await;
    assert_eq!(report.claimed, 0, "{report:?}");
    assert_eq!(h.dms_to(MENTOR).len(), 2);
    assert_eq!(h.smtp.messages().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_and_a_leave_within_the_window_send_nothing() {
    let h = Harness::start().await;
    let service = digesting(&h);
    let mc = hosted(&h).await;
    join(&service, &mc, ADA, at(0)).await;
    h.step_all(at(0)).await;
    h.smtp.wait_for_messages(1, WAIT).await;

    join(&service, &mc, LINUS, at(1)).await;
    leave(&service, &mc, LINUS, at(2)).await;
    let report = h.step_all(at(30)).await;

    assert_eq!(report.delivered, 0, "{report:?}");
    assert_eq!(h.dms_to(MENTOR).len(), 1);
    assert_eq!(host_subjects(&h).len(), 1);
    let digests = h.rows(NoticeKind::HostDigest).await;
    assert_eq!(digests.len(), 2, "one per channel, voided");
    for row in digests {
        assert!(row.delivered_at.is_none() && row.voided_at == Some(at(2)));
        assert_eq!(
            row.last_error.as_deref(),
            Some("nothing to tell: the sign-up changes of the window cancelled out")
        );
    }
    let mut conn = h.app.db.reader().acquire().await.unwrap();
    let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM host_digest_changes WHERE member = ?")
        .bind(LINUS.0 as i64)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(kept, 0, "the digest keeps no trace of the member");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_masterclass_tells_its_host_once_per_window() {
    let h = Harness::start().await;
    let service = digesting(&h);
    let mc = hosted(&h).await;

    join(&service, &mc, ADA, at(0)).await;
    h.step_all(at(0)).await;
    join(&service, &mc, LINUS, at(5)).await;
    h.step_all(at(10)).await;
    // Right after a digest went out, the next change waits for the next window.
    join(&service, &mc, BARBARA, at(12)).await;
    let report = h.step_all(at(19)).await;
    assert_eq!(report.delivered, 0, "{report:?}");
    h.step_all(at(20)).await;
    // After a quiet window, a join is told at once again.
    join(&service, &mc, NAMELESS, at(31)).await;
    h.step_all(at(31)).await;

    h.smtp.wait_for_messages(4, WAIT).await;
    let since = "Since my last message about **Rust ownership**:";
    assert_eq!(
        texts(&h.dms_to(MENTOR)),
        [
            "**ada** joined your masterclass **Rust ownership**: 1/40 seats taken.".to_owned(),
            format!("{since} **linus** joined — 2/40 seats."),
            format!("{since} **barbara** joined — 3/40 seats."),
            "**A member** joined your masterclass **Rust ownership**: 4/40 seats taken.".to_owned(),
        ]
    );
    assert_eq!(
        host_subjects(&h),
        [
            "ada joined “Rust ownership” (1/40)",
            "1 joined: “Rust ownership”",
            "1 joined: “Rust ownership”",
            "A member joined “Rust ownership” (4/40)",
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_survives_a_restart() {
    let h = Harness::start().await;
    let mc = hosted(&h).await;
    join(&digesting(&h), &mc, ADA, at(0)).await;
    h.step_all(at(0)).await;
    join(&digesting(&h), &mc, LINUS, at(1)).await;

    // A new process: a new service and a new worker on the same database.
    let service = Service::new(h.app.db.clone()).with_host_digest(window());
    let worker = new_worker(&h.app, &h.fake, h.smtp.port(), test_settings());
    join(&service, &mc, BARBARA, at(2)).await;
    let report = super::step_all(&worker, at(10)).await;

    assert_eq!(report.delivered, 2, "{report:?}");
    assert_eq!(
        h.rows(NoticeKind::HostDigest).await.len(),
        2,
        "folded, not doubled"
    );
    assert_eq!(
        texts(&h.dms_to(MENTOR))[1],
        "Since my last message about **Rust ownership**: **linus** and **barbara** joined \
         — 3/40 seats."
    );
    h.smtp.wait_for_messages(2, WAIT).await;
    assert_eq!(host_subjects(&h)[1], "2 joined: “Rust ownership”");
}
