use crate::helpers::*;
use chrono::Duration;
use masterclass_bot::domain::{Channel, MasterclassStatus, NoticeKind, UserError, UserId};
use masterclass_bot::service::{Error, MasterclassEdit, ParticipantStatus};
use masterclass_bot::store::outbox::Notice;

fn rows(notices: &[Notice], kind: NoticeKind, user: UserId) -> Vec<&Notice> {
    notices
        .iter()
        .filter(|n| n.kind == kind && n.recipient_id == Some(user))
        .collect()
}

fn channels(notices: &[&Notice]) -> Vec<Channel> {
    let mut channels: Vec<Channel> = notices.iter().map(|n| n.channel).collect();
    channels.sort_by_key(|c| c.as_str());
    channels
}

fn user_error(result: Result<impl std::fmt::Debug, Error>) -> UserError {
    match result {
        Err(Error::User(e)) => e,
        other => panic!("expected a user error, got {other:?}"),
    }
}

#[tokio::test]
async fn hosting_with_guests_seats_them_and_writes_their_notices() {
    let app = spawn_service().await;
    let (ada, bob, cy) = (UserId(501), UserId(502), UserId(503));
    let mut req = request("Rust ownership");
    req.guests = vec![(ada, false), (bob, false), (cy, false)];
    let hosted = app.host(req).await;

    let mc = &hosted.masterclass;
    assert_eq!(mc.status, MasterclassStatus::Scheduled);
    assert_eq!(mc.capacity, 2);
    assert_eq!(mc.duration_minutes, 90);
    assert_eq!(mc.starts_at, now() + Duration::days(4) + Duration::hours(6));
    assert_eq!(hosted.attending, vec![ada, bob]);
    assert_eq!(hosted.waitlisted, vec![cy], "guests beyond capacity wait");

    let outbox = app.outbox().await;
    for guest in [ada, bob, cy] {
        let invites = rows(&outbox, NoticeKind::GuestAdded, guest);
        assert_eq!(
            channels(&invites),
            vec![Channel::Dm, Channel::Email],
            "guest {guest}"
        );
        assert!(invites.iter().all(|n| n.due_at == now()));
    }
    assert_eq!(
        rows(&outbox, NoticeKind::GuestAdded, cy)[0].payload["position"],
        1
    );
    // Attending guests: one DM and one email per offset (24 h and 15 min), due at start - offset.
    for guest in [ada, bob] {
        let reminders = rows(&outbox, NoticeKind::Reminder, guest);
        let mut due: Vec<_> = reminders
            .iter()
            .map(|n| (n.due_at, n.channel.as_str()))
            .collect();
        due.sort();
        let day_before = mc.starts_at - Duration::hours(24);
        let quarter = mc.starts_at - Duration::minutes(15);
        assert_eq!(
            due,
            vec![
                (day_before, "dm"),
                (day_before, "email"),
                (quarter, "dm"),
                (quarter, "email")
            ]
        );
    }
    assert!(
        rows(&outbox, NoticeKind::Reminder, cy).is_empty(),
        "the waitlist gets no reminders"
    );
    // The host is reminded too, like an attendee, and the payload says whose they are.
    let to_host = rows(&outbox, NoticeKind::Reminder, MENTOR);
    let mut due: Vec<_> = to_host
        .iter()
        .map(|n| (n.due_at, n.channel.as_str()))
        .collect();
    due.sort();
    let (day_before, quarter) = (
        mc.starts_at - Duration::hours(24),
        mc.starts_at - Duration::minutes(15),
    );
    assert_eq!(
        due,
        vec![
            (day_before, "dm"),
            (day_before, "email"),
            (quarter, "dm"),
            (quarter, "email")
        ]
    );
    assert!(to_host.iter().all(|n| n.payload["host"] == true));
    let thread: Vec<_> = outbox
        .iter()
        .filter(|n| n.channel == Channel::Thread)
        .map(|n| (n.kind, n.due_at))
        .collect();
    assert_eq!(
        thread,
        vec![
            (NoticeKind::Reminder, mc.starts_at - Duration::hours(24)),
            (NoticeKind::Reminder, mc.starts_at - Duration::minutes(15)),
            (NoticeKind::Starting, mc.starts_at),
        ]
    );
    assert!(
        rows(&outbox, NoticeKind::GuestAdded, MENTOR).is_empty(),
        "the host is not told of their own guests"
    );
}

#[tokio::test]
async fn join_takes_seats_then_waitlists_and_tells_the_host_every_time() {
    let app = spawn_service().await;
    let id = app.host_default().await;
    let (a, b, c) = (member(1), member(2), member(3));

    let first = app.service.join(&a, id, now()).await.unwrap();
    assert_eq!(
        (first.status, first.position, first.counts.attending),
        (ParticipantStatus::Attending, None, 1)
    );
    app.service.join(&b, id, now()).await.unwrap();
    let third = app.service.join(&c, id, now()).await.unwrap();
    assert_eq!(third.status, ParticipantStatus::Waitlisted);
    assert_eq!(third.position, Some(1));
    assert_eq!((third.counts.attending, third.counts.waitlisted), (2, 1));

    let outbox = app.outbox().await;
    let to_host = rows(&outbox, NoticeKind::Joined, MENTOR);
    assert_eq!(
        to_host.len(),
        6,
        "a DM and an email for each of the three joins"
    );
    let last = to_host
        .iter()
        .rfind(|n| n.channel == Channel::Email)
        .unwrap();
    assert_eq!(last.payload["member"], c.user_id.0);
    assert_eq!(last.payload["status"], "waitlisted");
    assert_eq!(
        (
            last.payload["attending"].as_u64(),
            last.payload["capacity"].as_u64()
        ),
        (Some(2), Some(2))
    );
    for joiner in [&a, &b, &c] {
        assert_eq!(
            channels(&rows(&outbox, NoticeKind::JoinConfirmed, joiner.user_id)),
            vec![Channel::Email],
            "Discord answered on screen: no DM repeating it, only the email"
        );
    }
    assert_eq!(rows(&outbox, NoticeKind::Reminder, a.user_id).len(), 4);
    assert!(rows(&outbox, NoticeKind::Reminder, c.user_id).is_empty());
}

#[tokio::test]
async fn leaving_promotes_the_first_waitlisted_and_moves_the_reminders() {
    let app = spawn_service().await;
    let id = app.host_default().await;
    let (a, b, c, d) = (member(1), member(2), member(3), member(4));
    for m in [&a, &b, &c, &d] {
        app.service.join(m, id, now()).await.unwrap();
    }
    let out = app.service.leave(&a, id, now()).await.unwrap();
    assert_eq!(out.promoted, Some(c.user_id), "first come, first served");
    assert_eq!((out.counts.attending, out.counts.waitlisted), (2, 1));

    let outbox = app.outbox().await;
    assert!(rows(&outbox, NoticeKind::Reminder, a.user_id)
        .iter()
        .all(|n| n.voided_at.is_some()));
    assert_eq!(
        channels(&rows(&outbox, NoticeKind::Promoted, c.user_id)),
        vec![Channel::Dm, Channel::Email]
    );
    let c_reminders = rows(&outbox, NoticeKind::Reminder, c.user_id);
    assert_eq!(c_reminders.len(), 4);
    assert!(c_reminders.iter().all(|n| n.voided_at.is_none()));
    assert_eq!(
        user_error(app.service.join(&d, id, now()).await),
        UserError::AlreadyWaitlisted { position: 1 }
    );

    // A waitlisted member leaving frees no seat.
    let out = app.service.leave(&d, id, now()).await.unwrap();
    assert_eq!(out.promoted, None);
    // Coming back is a new sign-up with fresh reminders, and the host is told again.
    app.service.join(&a, id, now()).await.unwrap();
    let outbox = app.outbox().await;
    let live = rows(&outbox, NoticeKind::Reminder, a.user_id)
        .into_iter()
        .filter(|n| n.voided_at.is_none())
        .count();
    assert_eq!(live, 0, "a is waitlisted now: no reminders");
    assert_eq!(rows(&outbox, NoticeKind::Joined, MENTOR).len(), 10);
}

#[tokio::test]
async fn reminders_already_past_are_not_written() {
    let app = spawn_service().await;
    let id = app.host_default().await;
    // 20 hours before the start: the 24 h reminder is moot, the 15 min one stands.
    let late = now() + Duration::days(3) + Duration::hours(10);
    app.service.join(&member(1), id, late).await.unwrap();
    let outbox = app.outbox().await;
    let due: Vec<_> = rows(&outbox, NoticeKind::Reminder, member(1).user_id)
        .iter()
        .map(|n| n.due_at)
        .collect();
    let start = app
        .service
        .masterclass(&member(1), id)
        .await
        .unwrap()
        .starts_at;
    assert_eq!(due, vec![start - Duration::minutes(15); 2]);
}

#[tokio::test]
async fn cancelling_tells_everyone_with_the_reason_and_voids_reminders() {
    let app = spawn_service().await;
    let mut req = request("Rust ownership");
    req.guests = vec![(UserId(501), false)];
    let id = app.host(req).await.masterclass.id;
    let (a, b) = (member(1), member(2));
    app.service.join(&a, id, now()).await.unwrap();
    app.service.join(&b, id, now()).await.unwrap(); // waitlisted

    assert_eq!(
        user_error(app.service.cancel(&a, id, "I'm ill", now()).await),
        UserError::NotHostOrAdmin
    );
    let cancelled = app
        .service
        .cancel(&mentor(GUILD), id, "  I'm ill, sorry  ", now())
        .await
        .unwrap();
    assert_eq!(cancelled.masterclass.status, MasterclassStatus::Cancelled);
    assert_eq!(
        cancelled.masterclass.cancel_reason.as_deref(),
        Some("I'm ill, sorry")
    );
    assert_eq!(cancelled.attending, vec![UserId(501), a.user_id]);
    assert_eq!(cancelled.waitlist, vec![b.user_id]);

    let outbox = app.outbox().await;
    for user in [UserId(501), a.user_id, b.user_id] {
        let told = rows(&outbox, NoticeKind::Cancelled, user);
        assert_eq!(channels(&told), vec![Channel::Dm, Channel::Email]);
        assert!(told.iter().all(|n| n.payload["reason"] == "I'm ill, sorry"));
        // Only the waitlisted member is marked: they never got a calendar invitation to cancel.
        let waitlisted = user == b.user_id;
        assert!(told
            .iter()
            .all(|n| (n.payload["waitlisted"] == true) == waitlisted));
    }
    assert!(rows(&outbox, NoticeKind::Cancelled, MENTOR).is_empty());
    let thread = outbox
        .iter()
        .find(|n| n.channel == Channel::Thread && n.kind == NoticeKind::Cancelled)
        .unwrap();
    assert_eq!(thread.payload["reason"], "I'm ill, sorry");
    let future: Vec<_> = outbox
        .iter()
        .filter(|n| matches!(n.kind, NoticeKind::Reminder | NoticeKind::Starting))
        .collect();
    assert!(!future.is_empty());
    assert!(
        future.iter().all(|n| n.voided_at.is_some()),
        "no reminder may fire for a cancelled masterclass"
    );

    assert_eq!(
        user_error(app.service.join(&member(3), id, now()).await),
        UserError::Cancelled
    );
    assert_eq!(
        user_error(app.service.cancel(&admin(GUILD), id, "again", now()).await),
        UserError::Cancelled
    );
}

#[tokio::test]
async fn an_admin_can_cancel_any_masterclass() {
    let app = spawn_service().await;
    let id = app.host_default().await;
    let out = app
        .service
        .cancel(&admin(GUILD), id, "Server maintenance", now())
        .await
        .unwrap();
    assert_eq!(out.masterclass.status, MasterclassStatus::Cancelled);
}

#[tokio::test]
async fn editing_never_moves_the_time_and_capacity_rules_hold() {
    let app = spawn_service().await;
    let id = app.host_default().await;
    let host = mentor(GUILD);
    for m in 1..=4 {
        app.service.join(&member(m), id, now()).await.unwrap();
    }
    let time = MasterclassEdit {
        start: Some("2026-03-15 18:00".into()),
        ..Default::default()
    };
    let err = user_error(app.service.edit(&host, id, time, now()).await);
    assert_eq!(err, UserError::TimeIsImmutable);
    assert!(
        err.to_string().contains("cancel it"),
        "the refusal explains how to reschedule"
    );
    let shrink = MasterclassEdit {
        capacity: Some(1),
        ..Default::default()
    };
    assert_eq!(
        user_error(app.service.edit(&host, id, shrink, now()).await),
        UserError::CapacityBelowAttendees { attending: 2 }
    );

    let grow = MasterclassEdit {
        capacity: Some(3),
        title: Some("Rust ownership, revisited".into()),
        ..Default::default()
    };
    let out = app.service.edit(&host, id, grow, now()).await.unwrap();
    assert_eq!(out.promoted, vec![member(3).user_id]);
    assert_eq!((out.counts.attending, out.counts.waitlisted), (3, 1));
    assert_eq!(out.masterclass.title, "Rust ownership, revisited");
    assert_eq!(
        out.masterclass.sequence, 1,
        "calendar clients see the update"
    );

    let outbox = app.outbox().await;
    assert_eq!(
        rows(&outbox, NoticeKind::Promoted, member(3).user_id).len(),
        2
    );
    for m in 1..=2 {
        assert_eq!(
            rows(&outbox, NoticeKind::DetailsChanged, member(m).user_id).len(),
            2,
            "attendee {m} told"
        );
    }
    // The promoted member learns the new details with their promotion; the waitlist hears nothing.
    assert!(rows(&outbox, NoticeKind::DetailsChanged, member(3).user_id).is_empty());
    assert!(rows(&outbox, NoticeKind::DetailsChanged, member(4).user_id).is_empty());
    assert_eq!(
        user_error(
            app.service
                .edit(
                    &member(1),
                    id,
                    MasterclassEdit {
                        title: Some("x".into()),
                        ..Default::default()
                    },
                    now()
                )
                .await
        ),
        UserError::NotHostOrAdmin
    );
}

#[tokio::test]
async fn the_host_can_remove_a_participant_who_is_told() {
    let app = spawn_service().await;
    let id = app.host_default().await;
    for m in 1..=3 {
        app.service.join(&member(m), id, now()).await.unwrap();
    }
    assert_eq!(
        user_error(
            app.service
                .remove_participant(&member(2), id, member(1).user_id, now())
                .await
        ),
        UserError::NotHostOrAdmin
    );
    let out = app
        .service
        .remove_participant(&mentor(GUILD), id, member(1).user_id, now())
        .await
        .unwrap();
    assert_eq!(out.promoted, Some(member(3).user_id));
    let outbox = app.outbox().await;
    assert_eq!(
        rows(&outbox, NoticeKind::Removed, member(1).user_id).len(),
        2
    );
    assert!(rows(&outbox, NoticeKind::Reminder, member(1).user_id)
        .iter()
        .all(|n| n.voided_at.is_some()));
    assert_eq!(
        user_error(
            app.service
                .remove_participant(&mentor(GUILD), id, member(1).user_id, now())
                .await
        ),
        UserError::MemberNotParticipant
    );
}

#[tokio::test]
async fn started_and_completed_masterclasses_refuse_changes() {
    let app = spawn_service().await;
    let id = app.host_default().await;
    app.service.join(&member(1), id, now()).await.unwrap();
    let start = app
        .service
        .masterclass(&member(1), id)
        .await
        .unwrap()
        .starts_at;
    let during = start + Duration::minutes(5);
    assert_eq!(
        user_error(app.service.join(&member(2), id, during).await),
        UserError::AlreadyStarted
    );
    assert_eq!(
        user_error(app.service.leave(&member(1), id, during).await),
        UserError::AlreadyStarted
    );
    assert_eq!(
        user_error(app.service.cancel(&mentor(GUILD), id, "late", during).await),
        UserError::AlreadyStarted
    );
    assert_eq!(
        user_error(app.service.join(&mentor(GUILD), id, now()).await),
        UserError::OwnMasterclass
    );
}

#[tokio::test]
async fn another_servers_masterclass_is_not_found() {
    let app = spawn_service().await;
    let id = app.host_default().await;
    let stranger = caller(OTHER_GUILD, UserId(10_001));
    let foreign_admin = admin(OTHER_GUILD);
    assert_eq!(
        user_error(app.service.join(&stranger, id, now()).await),
        UserError::NotFound
    );
    assert_eq!(
        user_error(app.service.leave(&stranger, id, now()).await),
        UserError::NotFound
    );
    assert_eq!(
        user_error(
            app.service
                .cancel(&foreign_admin, id, "mine now", now())
                .await
        ),
        UserError::NotFound
    );
    assert_eq!(
        user_error(app.service.participants(&stranger, id).await),
        UserError::NotFound
    );
    let edit = MasterclassEdit {
        title: Some("hijacked".into()),
        ..Default::default()
    };
    assert_eq!(
        user_error(app.service.edit(&foreign_admin, id, edit, now()).await),
        UserError::NotFound
    );
    assert!(app
        .service
        .search(OTHER_GUILD, "Rust", now())
        .await
        .unwrap()
        .is_empty());
    assert!(app
        .service
        .upcoming(OTHER_GUILD, None, now())
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_member_who_leaves_and_comes_back_gets_fresh_reminders() {
    let app = spawn_service().await;
    let id = app.host_default().await;
    let m = member(1);
    // Alone and last in line each time: a sign-up's number must still never repeat.
    for _ in 0..2 {
        app.service.join(&m, id, now()).await.unwrap();
        app.service.leave(&m, id, now()).await.unwrap();
    }
    // A fifth change within a minute would be refused (the per-member cooldown).
    let later = now() + chrono::Duration::minutes(1);
    app.service.join(&m, id, later).await.unwrap();
    let pending: Vec<_> = app
        .outbox()
        .await
        .into_iter()
        .filter(|n| n.kind == NoticeKind::Reminder && n.recipient_id == Some(m.user_id))
        .filter(|n| n.voided_at.is_none())
        .collect();
    assert_eq!(pending.len(), 4, "24 h and 15 min before, by DM and email");
}

#[tokio::test]
async fn every_sign_up_is_in_the_activity_log_under_its_number() {
    let app = spawn_service().await;
    let mut req = request("Rust ownership");
    req.guests = vec![(UserId(777), false)];
    let id = app.host(req).await.masterclass.id;
    app.service.join(&member(1), id, now()).await.unwrap();
    let mut conn = app.db.reader().acquire().await.unwrap();
    let logged: Vec<(String, i64, String)> = sqlx::query_as(
        "SELECT a.action, a.actor_id, a.detail FROM participants p
         JOIN activity a ON a.id = p.arrival ORDER BY p.arrival",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let actions: Vec<(&str, i64)> = logged.iter().map(|(a, u, _)| (a.as_str(), *u)).collect();
    assert_eq!(
        actions,
        [
            ("guest_added", MENTOR.0 as i64),
            ("joined", member(1).user_id.0 as i64)
        ]
    );
    assert!(
        logged[1].2.contains("\"status\":\"attending\""),
        "{}",
        logged[1].2
    );
}
