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
}
