use crate::helpers::*;
use masterclass_bot::service::ParticipantStatus;
use std::collections::BTreeSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_joins_never_exceed_capacity() {
    let app = spawn_service().await;
    let mut req = request("Crowded");
    req.capacity = Some("50".into());
    let id = app.host(req).await.masterclass.id;

    let joins: Vec<_> = (1..=1000)
        .map(|n| {
            let service = app.service.clone();
            tokio::spawn(async move { service.join(&member(n), id, now()).await })
        })
        .collect();
    let mut positions = BTreeSet::new();
    let mut attending = 0;
    for join in joins {
        let outcome = join.await.expect("task").expect("every join succeeds");
        match outcome.status {
            ParticipantStatus::Attending => attending += 1,
            ParticipantStatus::Waitlisted => {
                assert!(
                    positions.insert(outcome.position.unwrap()),
                    "a position given twice"
                );
            }
        }
    }
    assert_eq!(attending, 50);
    assert_eq!(
        positions,
        (1..=950).collect::<BTreeSet<u32>>(),
        "positions 1..950, no gaps"
    );

    let list = app.service.participants(&member(1), id).await.unwrap();
    assert_eq!(list.attending.len(), 50);
    assert_eq!(list.waitlist.len(), 950);
    let everyone: BTreeSet<_> = list.attending.iter().chain(&list.waitlist).collect();
    assert_eq!(everyone.len(), 1000, "no duplicates");

    let first_in_line = list.waitlist[0];
    let leaver = crate::helpers::caller(GUILD, list.attending[0]);
    let out = app.service.leave(&leaver, id, now()).await.unwrap();
    assert_eq!(out.promoted, Some(first_in_line));
    let list = app.service.participants(&member(1), id).await.unwrap();
    assert_eq!((list.attending.len(), list.waitlist.len()), (50, 949));
    assert!(list.attending.contains(&first_in_line));
    // The counts kept on the masterclass agree with the sign-ups themselves.
    let counts = app.service.counts(id).await.unwrap();
    assert_eq!((counts.attending, counts.waitlisted), (50, 949));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refusals_in_a_group_commit_undo_only_themselves() {
    let app = spawn_service().await;
    let mut req = request("Batched");
    req.capacity = Some("1000".into());
    let id = app.host(req).await.masterclass.id;
    // Every member joins twice at once: one join wins, the other is refused, in shared batches.
    let joins: Vec<_> = (1..=100)
        .flat_map(|n| [n, n])
        .map(|n| {
            let service = app.service.clone();
            tokio::spawn(async move { service.join(&member(n), id, now()).await.is_ok() })
        })
        .collect();
    let mut accepted = 0;
    for join in joins {
        accepted += usize::from(join.await.unwrap());
    }
    assert_eq!(accepted, 100);
    let list = app.service.participants(&member(1), id).await.unwrap();
    assert_eq!(list.attending.len(), 100);
    let counts = app.service.counts(id).await.unwrap();
    assert_eq!(
        (counts.attending, counts.waitlisted),
        (100, 0),
        "refused joins leave the counts alone"
    );
    let joined = app
        .outbox()
        .await
        .into_iter()
        .filter(|n| n.kind == masterclass_bot::domain::NoticeKind::Joined)
        .count();
    assert_eq!(
        joined, 200,
        "a DM and an email to the host per accepted join, none for refusals"
    );
}
