use crate::helpers::*;
use chrono::Duration;
use masterclass_bot::domain::UserId;
use masterclass_bot::service::{SessionFilter, SessionRole};

#[tokio::test]
async fn participants_lists_attendees_then_the_waitlist_in_order() {
    let app = spawn_service().await;
    let id = app.host_default().await;
    for m in [5, 3, 9, 1] {
        app.service.join(&member(m), id, now()).await.unwrap();
    }
    let list = app.service.participants(&member(5), id).await.unwrap();
    assert_eq!(list.attending, vec![member(5).user_id, member(3).user_id]);
    assert_eq!(list.waitlist, vec![member(9).user_id, member(1).user_id]);
}

#[tokio::test]
async fn upcoming_lists_soonest_first_and_filters_by_host() {
    let app = spawn_service().await;
    let mut later = request("Later one");
    later.start = "2026-04-01 10:00".into();
    let later = app.host(later).await.masterclass.id;
    let sooner = app.host(request("Sooner one")).await.masterclass.id;
    let list = app.service.upcoming(GUILD, None, now()).await.unwrap();
    assert_eq!(
        list.iter().map(|(mc, _)| mc.id).collect::<Vec<_>>(),
        vec![sooner, later]
    );
    assert!(app
        .service
        .upcoming(GUILD, Some(UserId(12345)), now())
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        app.service
            .upcoming(GUILD, Some(MENTOR), now())
            .await
            .unwrap()
            .len(),
        2
    );
    // Started ones are no longer upcoming.
    let after_sooner = now() + Duration::days(5);
    let list = app
        .service
        .upcoming(GUILD, None, after_sooner)
        .await
        .unwrap();
    assert_eq!(
        list.iter().map(|(mc, _)| mc.id).collect::<Vec<_>>(),
        vec![later]
    );
}

#[tokio::test]
async fn sessions_split_upcoming_past_and_cancelled_for_hosts_and_attendees() {
    let app = spawn_service().await;
    let past = app.host(request("Will be past")).await.masterclass.id;
    let mut cancelled = request("Will be cancelled");
    cancelled.start = "2026-03-20 10:00".into();
    let cancelled = app.host(cancelled).await.masterclass.id;
    let mut upcoming = request("Still ahead");
    upcoming.start = "2026-05-20 10:00".into();
    let upcoming = app.host(upcoming).await.masterclass.id;
    let m = member(1);
    for id in [past, cancelled, upcoming] {
        app.service.join(&m, id, now()).await.unwrap();
    }
    app.service
        .cancel(&mentor(GUILD), cancelled, "Venue closed", now())
        .await
        .unwrap();
    let later = now() + Duration::days(30);

    let ids = |sessions: Vec<masterclass_bot::service::Session>| {
        sessions
            .into_iter()
            .map(|s| (s.masterclass.id, s.role))
            .collect::<Vec<_>>()
    };
    let s = app
        .service
        .sessions(GUILD, m.user_id, SessionFilter::Upcoming, later)
        .await
        .unwrap();
    assert_eq!(ids(s), vec![(upcoming, SessionRole::Attending)]);
    let s = app
        .service
        .sessions(GUILD, m.user_id, SessionFilter::Past, later)
        .await
        .unwrap();
    assert_eq!(ids(s), vec![(past, SessionRole::Attending)]);
    let s = app
        .service
        .sessions(GUILD, m.user_id, SessionFilter::Cancelled, later)
        .await
        .unwrap();
    assert_eq!(ids(s), vec![(cancelled, SessionRole::Attending)]);
    let s = app
        .service
        .sessions(GUILD, MENTOR, SessionFilter::Upcoming, later)
        .await
        .unwrap();
    assert_eq!(ids(s), vec![(upcoming, SessionRole::Hosting)]);
    assert!(app
        .service
        .sessions(OTHER_GUILD, m.user_id, SessionFilter::Upcoming, now())
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn search_finds_upcoming_titles_soonest_first_at_most_25() {
    let app = spawn_service().await;
    for day in 1..=30 {
        let mut req = request(&format!("Rust session {day}"));
        req.start = format!("2026-04-{day:02} 10:00");
        app.host(req).await;
    }
    let mut old = request("Rust from the past");
    old.start = "2026-03-11 10:00".into();
    app.host(old).await;
    let mut other = request("Python basics");
    other.start = "2026-03-12 10:00".into();
    app.host(other).await;

    let later = now() + Duration::days(3); // the "past" one has completed by then
    let found = app.service.search(GUILD, "rust", later).await.unwrap();
    assert_eq!(found.len(), 25);
    assert_eq!(found[0].title, "Rust session 1");
    assert!(found.iter().all(|mc| mc.title.starts_with("Rust session")));
    // Through the trigram index (three characters or more), soonest first.
    let found = app.service.search(GUILD, "SION 3", later).await.unwrap();
    let titles: Vec<&str> = found.iter().map(|mc| mc.title.as_str()).collect();
    assert_eq!(titles, ["Rust session 3", "Rust session 30"]);
    // Only what can still be joined: a masterclass that is over is not offered.
    let found = app.service.search(GUILD, "past", later).await.unwrap();
    assert!(found.is_empty(), "{found:?}");
    // Short fragments walk the upcoming ones in order.
    let found = app.service.search(GUILD, "py", now()).await.unwrap();
    assert_eq!(found.len(), 1);
    // LIKE wildcards in the query are literal characters.
    assert!(app
        .service
        .search(GUILD, "%", later)
        .await
        .unwrap()
        .is_empty());
}
