//! Members own their data: a copy of everything (my-data), forgetting them (forget-me), and
//! retention under a stepped clock. "Forgotten" is proved on a dump of every table.

use crate::helpers::{self, member, mentor, names_id, now, request, spawn_service, TestApp, GUILD};
use chrono::Duration;
use masterclass_bot::domain::{Caller, MasterclassId, NoticeKind, UserId};
use masterclass_bot::service::Retention;
use masterclass_bot::store::privacy::Swept;

const ADDRESS: &str = "ada.lovelace@example.org";

/// A verified address for `user`, through the real code flow.
async fn verify(app: &TestApp, user: UserId) {
    app.service
        .request_email_code(GUILD, user, ADDRESS, now())
        .await
        .unwrap();
    let code = app
        .outbox()
        .await
        .iter()
        .rev()
        .find(|n| n.kind == NoticeKind::VerificationCode)
        .and_then(|n| n.payload["code"].as_str().map(str::to_owned))
        .expect("a code was sent");
    app.service.verify_email(user, &code, now()).await.unwrap();
}

/// A masterclass starting at `start` (local to UTC) with `capacity` seats.
async fn host_at(app: &TestApp, title: &str, start: &str, capacity: u32) -> MasterclassId {
    let mut request = request(title);
    request.start = start.into();
    request.capacity = Some(capacity.to_string());
    app.host(request).await.masterclass.id
}

fn mentions(dump: &[String], id: u64) -> Vec<&String> {
    dump.iter().filter(|row| names_id(row, id)).collect()
}

#[tokio::test]
async fn my_data_holds_settings_address_sign_ups_activity_and_what_is_still_to_come() {
    let app = spawn_service().await;
    let ada = member(1);
    verify(&app, ada.user_id).await;
    let id = host_at(&app, "Rust ownership", "2026-03-14 18:00", 5).await;
    app.service.join(&ada, id, now()).await.unwrap();

    let data = app.service.member_data(ada.user_id, now()).await.unwrap();
    let json = serde_json::to_value(&data).unwrap();
    assert_eq!(json["user_id"], ada.user_id.0.to_string());
    assert_eq!(json["settings"]["email"], ADDRESS);
    assert_eq!(json["sign_ups"][0]["title"], "Rust ownership");
    assert_eq!(json["sign_ups"][0]["status"], "attending");
    let actions: Vec<&str> = data
        .activity
        .iter()
        .filter_map(|entry| entry["action"].as_str())
        .collect();
    assert_eq!(actions, ["email_code_sent", "email_verified", "joined"]);
    // Their reminders are still to come; the code that was mailed is not repeated in the file.
    assert!(data
        .pending_notifications
        .iter()
        .any(|n| n["kind"] == "reminder"));
    assert!(data.pending_notifications.iter().all(|n| n["content"]
        .get("code")
        .is_none_or(|c| c == "(sent by email only)")));
    assert!(data.hosted.is_empty());

    // Someone else's file says nothing of Ada.
    let other = app
        .service
        .member_data(member(2).user_id, now())
        .await
        .unwrap();
    assert!(other.sign_ups.is_empty() && other.activity.is_empty());
    assert!(!names_id(
        &serde_json::to_string(&other).unwrap(),
        ada.user_id.0
    ));
}

#[tokio::test]
async fn forget_me_leaves_frees_the_seat_and_leaves_no_trace_of_the_member() {
    let app = spawn_service().await;
    let (ada, bo) = (member(1), member(2));
    verify(&app, ada.user_id).await;
    let past = host_at(&app, "Past class", "2026-03-14 18:00", 5).await;
    let ahead = host_at(&app, "Class ahead", "2026-04-20 18:00", 1).await;
    app.service.join(&ada, past, now()).await.unwrap();
    app.service.join(&ada, ahead, now()).await.unwrap();
    app.service.join(&bo, ahead, now()).await.unwrap();
    let later = now() + Duration::days(10); // the first class is over, the second ahead
    let activity_before = count(&app, "SELECT COUNT(*) FROM activity").await;

    let forgotten = app.service.forget_member(ada.user_id, later).await.unwrap();
    assert_eq!((forgotten.left, forgotten.cancelled), (1, 0));

    // The seat went to the waitlist, as for any leave, and Bo is told.
    let seats = app
        .service
        .participants(&mentor(GUILD), ahead)
        .await
        .unwrap();
    assert_eq!(seats.attending, [bo.user_id]);
    assert!(app
        .outbox()
        .await
        .iter()
        .any(|n| n.kind == NoticeKind::Promoted && n.recipient_id == Some(bo.user_id)));
    // The past class keeps its count, not the person.
    assert_eq!(app.service.counts(past).await.unwrap().attending, 1);
    let old = app
        .service
        .participants(&mentor(GUILD), past)
        .await
        .unwrap();
    assert!(old.attending.iter().all(|user| user.is_forgotten()));
    // The log keeps every entry (one more: the forgetting), under a tombstone.
    let activity_after = count(&app, "SELECT COUNT(*) FROM activity").await;
    assert_eq!(
        activity_after,
        activity_before + 2,
        "the leave and the forgetting"
    );
    // What was still to be sent to them is void.
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM outbox WHERE recipient_id < 0 AND delivered_at IS NULL
             AND voided_at IS NULL AND failed_at IS NULL"
        )
        .await,
        0
    );

    let dump = app.dump().await;
    assert!(
        mentions(&dump, ada.user_id.0).is_empty(),
        "{:#?}",
        mentions(&dump, ada.user_id.0)
    );
    let address: Vec<_> = dump.iter().filter(|row| row.contains(ADDRESS)).collect();
    assert!(address.is_empty(), "{address:#?}");
    assert!(!mentions(&dump, bo.user_id.0).is_empty(), "others are kept");
    let data = app.service.member_data(ada.user_id, later).await.unwrap();
    assert!(data.sign_ups.is_empty() && data.activity.is_empty() && data.threads.is_empty());
    assert!(data.settings["email"].is_null());
}

#[tokio::test]
async fn a_forgotten_host_cancels_what_they_host_and_attendees_read_why() {
    let app = spawn_service().await;
    app.enable(GUILD).await;
    // An id like Discord's, so a dump can be searched for it.
    let grace = Caller {
        role_ids: vec![helpers::HOST_ROLE],
        ..helpers::caller(GUILD, UserId(777_000_000_000_000_123))
    };
    let mut request = request("Class ahead");
    request.start = "2026-04-20 18:00".into();
    let new = app
        .service
        .prepare_host(&grace, request, now())
        .await
        .unwrap();
    let ahead = app
        .service
        .host(&grace, new, now())
        .await
        .unwrap()
        .masterclass
        .id;
    let ada = member(1);
    app.service.join(&ada, ahead, now()).await.unwrap();

    let forgotten = app
        .service
        .forget_member(grace.user_id, now())
        .await
        .unwrap();
    assert_eq!((forgotten.left, forgotten.cancelled), (0, 1));
    let told = app
        .outbox()
        .await
        .into_iter()
        .find(|n| n.kind == NoticeKind::Cancelled && n.recipient_id == Some(ada.user_id))
        .expect("the attendee is told");
    assert_eq!(told.payload["reason"], "the host left the community");
    let mc = app.service.masterclass_in(GUILD, ahead).await.unwrap();
    assert!(mc.host_id.is_forgotten());
    let dump = app.dump().await;
    assert!(mentions(&dump, grace.user_id.0).is_empty(), "{dump:#?}");
    // A second forgetting finds nothing left to forget.
    let again = app
        .service
        .forget_member(grace.user_id, now())
        .await
        .unwrap();
    assert_eq!((again.left, again.cancelled), (0, 0));
}

#[tokio::test]
async fn the_activity_log_refuses_any_other_change() {
    let app = spawn_service().await;
    let id = host_at(&app, "Rust ownership", "2026-03-14 18:00", 5).await;
    app.service.join(&member(1), id, now()).await.unwrap();
    let mut tx = app.db.begin().await.unwrap();
    for sql in [
        "UPDATE activity SET actor_id = -5",
        "UPDATE activity SET detail = '{}'",
        "DELETE FROM activity",
    ] {
        let refused = sqlx::query(sql).execute(&mut *tx).await.unwrap_err();
        assert!(
            refused.to_string().contains("append-only"),
            "{sql}: {refused}"
        );
    }
}

#[tokio::test]
async fn while_a_member_is_forgotten_the_log_takes_their_tombstone_and_nothing_else() {
    let app = spawn_service().await;
    let id = host_at(&app, "Rust ownership", "2026-03-14 18:00", 5).await;
    let ada = member(1);
    app.service.join(&ada, id, now()).await.unwrap();
    let ada_id = ada.user_id.0 as i64;
    let mut tx = app.db.begin().await.unwrap();
    sqlx::query("INSERT INTO forgetting (user_id, tombstone) VALUES (?, -9)")
        .bind(ada_id)
        .execute(&mut *tx)
        .await
        .unwrap();
    let entry = format!("WHERE actor_id = {ada_id}");
    for (sql, why) in [
        ("UPDATE activity SET action = 'left'", "the action"),
        ("UPDATE activity SET actor_id = -10", "another tombstone"),
        ("UPDATE activity SET at = at + 1", "the time"),
        (
            "UPDATE activity SET detail = '{\"member\":10001,\"x\":1}'",
            "the member stays",
        ),
        ("UPDATE activity SET detail = 'not json'", "not JSON"),
    ] {
        let refused = sqlx::query(&format!("{sql} {entry}"))
            .execute(&mut *tx)
            .await;
        assert!(refused.is_err(), "{why}: {sql}");
    }
    // Exactly the rewrite: the tombstone for the actor and in the detail.
    sqlx::query(&format!(
        "UPDATE activity SET actor_id = -9,
             detail = '{{\"member\":-9,\"status\":\"attending\"}}' {entry}"
    ))
    .execute(&mut *tx)
    .await
    .unwrap();
}

#[tokio::test]
async fn a_member_mentioned_in_a_title_or_a_reason_is_forgotten_there_too() {
    let app = spawn_service().await;
    let ada = member(1);
    let title = format!("Pairing with <@{}>", ada.user_id);
    let id = host_at(&app, &title, "2026-04-20 18:00", 5).await;
    app.service.join(&ada, id, now()).await.unwrap();
    let reason = format!("Sorry, <@!{}> is ill", ada.user_id);
    app.service
        .cancel(&mentor(GUILD), id, &reason, now())
        .await
        .unwrap();

    app.service.forget_member(ada.user_id, now()).await.unwrap();
    let mc = app.service.masterclass_in(GUILD, id).await.unwrap();
    assert_eq!(mc.title, "Pairing with a former member");
    assert_eq!(
        mc.cancel_reason.as_deref(),
        Some("Sorry, a former member is ill")
    );
    let dump = app.dump().await;
    assert!(mentions(&dump, ada.user_id.0).is_empty(), "{dump:#?}");
}

#[tokio::test]
async fn retention_deletes_old_notifications_and_activity_once_a_day() {
    let app = spawn_service().await;
    let id = host_at(&app, "Rust ownership", "2026-03-14 18:00", 1).await;
    for n in 1..=4 {
        app.service.join(&member(n), id, now()).await.unwrap();
    }
    app.service.leave(&member(1), id, now()).await.unwrap();
    let finished =
        "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NOT NULL OR voided_at IS NOT NULL";
    let voided = count(&app, finished).await;
    assert!(voided > 0, "the leave voided Ada's reminders");
    let pending = "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL AND voided_at IS NULL";
    let pending_before = count(&app, pending).await;
    let activity = count(&app, "SELECT COUNT(*) FROM activity").await;
    let on = Retention {
        outbox_days: Some(30),
        activity_days: Some(400),
    };

    // Day one: nothing is old yet; the same day, the job does not run again.
    let swept = app.service.sweep_if_due(on, now()).await.unwrap();
    assert_eq!(swept, Some(Swept::default()));
    let again = now() + Duration::hours(23);
    assert_eq!(app.service.sweep_if_due(on, again).await.unwrap(), None);

    // A month on: finished notifications go (the newest row stays, so ids keep growing);
    // pending ones stay whatever their age.
    let month = now() + Duration::days(31);
    let swept = app.service.sweep_if_due(on, month).await.unwrap().unwrap();
    let newest_finished = count(
        &app,
        "SELECT (SELECT MAX(id) FROM outbox) IN (SELECT id FROM outbox WHERE voided_at IS NOT NULL)",
    )
    .await;
    assert_eq!(swept.notifications as i64, voided - newest_finished);
    assert_eq!(count(&app, finished).await, newest_finished);
    assert_eq!(count(&app, pending).await, pending_before);
    assert_eq!(swept.activity, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM activity").await, activity);

    // Over 400 days on: the activity goes, but for the newest entry.
    let years = now() + Duration::days(401);
    let swept = app.service.sweep_if_due(on, years).await.unwrap().unwrap();
    assert_eq!(swept.activity as i64, activity - 1);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM activity").await, 1);
}

#[tokio::test]
async fn with_retention_off_nothing_is_deleted() {
    let app = spawn_service().await;
    let id = host_at(&app, "Rust ownership", "2026-03-14 18:00", 1).await;
    app.service.join(&member(1), id, now()).await.unwrap();
    app.service.leave(&member(1), id, now()).await.unwrap();
    let before = app.dump().await;
    let off = Retention {
        outbox_days: None,
        activity_days: None,
    };
    let years = now() + Duration::days(1000);
    let swept = app.service.sweep_if_due(off, years).await.unwrap();
    assert_eq!(swept, Some(Swept::default()));
    let after: Vec<_> = app
        .dump()
        .await
        .into_iter()
        .filter(|row| !row.starts_with("retention:"))
        .collect();
    let before: Vec<_> = before
        .into_iter()
        .filter(|row| !row.starts_with("retention:"))
        .collect();
    assert_eq!(after, before);
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    let mut conn = app.db.reader().acquire().await.unwrap();
    sqlx::query_scalar(sql).fetch_one(&mut *conn).await.unwrap()
}

#[tokio::test]
async fn a_database_from_before_retention_is_converted_to_give_pages_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true);
    let mut old = sqlx::ConnectOptions::connect(&options).await.unwrap();
    sqlx::query("CREATE TABLE made_before (x)")
        .execute(&mut old)
        .await
        .unwrap();
    let mode: i64 = sqlx::query_scalar("PRAGMA auto_vacuum")
        .fetch_one(&mut old)
        .await
        .unwrap();
    assert_eq!(mode, 0, "made without auto-vacuum");
    drop(old);
    let db = masterclass_bot::store::Db::open(&path, 1).await.unwrap();
    let mut conn = db.reader().acquire().await.unwrap();
    let mode: i64 = sqlx::query_scalar("PRAGMA auto_vacuum")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(mode, 2, "incremental");
}
