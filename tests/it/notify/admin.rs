//! What admins see of deliveries that ran into trouble.

use chrono::Duration;
use masterclass_bot::domain::{Channel, NoticeKind, UserError};
use masterclass_bot::notify::WorkerSettings;
use masterclass_bot::service::{describe, Error, HostRequest};

use super::{test_settings, Harness, ADA};
use crate::helpers::{self, admin, member, now, GUILD};
use crate::support::smtp::TestSmtp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_see_retries_and_what_was_given_up() {
    let settings = WorkerSettings {
        give_up_after: std::time::Duration::from_secs(60),
        ..test_settings()
    };
    let mut h = Harness::start_with(TestSmtp::start(), settings).await;
    h.smtp.stop();
    let request = HostRequest {
        capacity: Some("40".into()),
        ..helpers::request("Rust ownership")
    };
    let mc = h.host(request).await;
    h.verify_email(ADA, "ada@example.org").await;
    h.app.service.join(&member(1), mc.id, now()).await.unwrap();

    h.step_all(now()).await;

    let problems = h
        .app
        .service
        .delivery_problems(&admin(GUILD), 25)
        .await
        .unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    let retrying = &problems[0];
    assert_eq!(
        (
            retrying.kind,
            retrying.channel,
            retrying.recipient,
            retrying.attempts
        ),
        (NoticeKind::JoinConfirmed, Channel::Email, Some(ADA), 1)
    );
    assert!(retrying.failed_at.is_none() && retrying.next_attempt_at.is_some());
    assert!(describe(retrying).contains("join_confirmed · email to <@10001>"));
    let since = format!(
        "1 attempt · failing since <t:{}:R> · next try <t:",
        now().timestamp()
    );
    assert!(
        describe(retrying).contains(&since),
        "{}",
        describe(retrying)
    );

    let report = h.step_all(now() + Duration::minutes(1)).await;

    assert_eq!(report.failed, 1, "{report:?}");
    let problems = h
        .app
        .service
        .delivery_problems(&admin(GUILD), 25)
        .await
        .unwrap();
    let given_up = &problems[0];
    assert_eq!(given_up.attempts, 2);
    assert!(given_up.failed_at.is_some() && given_up.next_attempt_at.is_none());
    assert!(
        given_up
            .last_error
            .starts_with("gave up after 1 minute of failed attempts: temporary email failure"),
        "{given_up:?}"
    );
    let line = describe(given_up);
    assert!(line.contains("2 attempts · gave up <t:"), "{line}");
    assert!(line.contains("temporary email failure"), "{line}");

    let refused = h.app.service.delivery_problems(&member(1), 25).await;
    assert!(matches!(refused, Err(Error::User(UserError::NotAdmin))));
}
