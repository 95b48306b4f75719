//! One member flipping Join/Leave can't flood a host: the fifth change on one masterclass within
//! a minute is refused with a sentence, and nothing is written or sent.

use super::wait::{changes_since, dump, settled, wait_request};
use crate::helpers::{self, member, spawn_service};
use crate::support::bot::*;
use chrono::Duration;
use masterclass_bot::domain::{UserError, MAX_SIGN_UP_CHANGES};
use masterclass_bot::service::Error;

const SLOW_DOWN: &str = "Slow down: you've joined or left this masterclass 4 times in the last \
                         minute. Wait a minute, then try again.";

fn user_error<T: std::fmt::Debug>(result: Result<T, Error>) -> UserError {
    match result {
        Err(Error::User(e)) => e,
        other => panic!("expected a user error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fifth_flip_in_a_minute_is_refused_and_changes_nothing() {
    assert_eq!(MAX_SIGN_UP_CHANGES, 4);
    let bot = spawn_bot().await;
    bot.admin_setup().await;
    let hosted = bot.host("Async Rust", 5, &[]).await;
    let join = format!("mc:join:{}", hosted.masterclass);
    let leave = format!("mc:leave:{}", hosted.masterclass);
    let host_dm = format!("/channels/{}/messages", bot.fake.dm_channel_id(MENTOR));

    let mark = bot.fake.mark();
    for (n, button) in [&join, &leave, &join, &leave].into_iter().enumerate() {
        let h = bot.click(MENTEE, button, hosted.message_id).await;
        let answer = bot.reply_text(&h).await;
        let expected = if n % 2 == 0 {
            "You're in!"
        } else {
            "You've left"
        };
        assert!(answer.starts_with(expected), "click {}: {answer}", n + 1);
    }
    // The first join is told to the host at once.
    wait_request(&bot, "the host's DM", "POST", &host_dm, mark).await;
    let before = settled(&bot).await;

    let h = bot.click(MENTEE, &join, hosted.message_id).await;

    let ack = h.callback(T).await;
    assert_eq!(ack.body["data"]["flags"], 64, "ephemeral: {ack}");
    assert_eq!(bot.reply_text(&h).await, SLOW_DOWN);
    let changes = changes_since(&bot, before.1);
    assert!(changes.is_empty(), "asked Discord for {changes:#?}");
    assert_eq!(dump(&bot).await, before.0, "the refusal wrote nothing");

    // No storm: one DM to the host so far, and one message per channel owed at the end of the
    // window (the leave; the join and leave before it cancelled out).
    let host_dms = bot
        .fake
        .requests()
        .iter()
        .filter(|r| r.is("POST", &host_dm))
        .count();
    assert_eq!(host_dms, 1);
    let host_rows = |kind: &str| {
        format!(
            "SELECT COUNT(*) FROM outbox WHERE recipient_id = {MENTOR} AND kind = '{kind}' \
             AND voided_at IS NULL AND delivered_at IS NULL"
        )
    };
    assert_eq!(bot.count(&host_rows("host_digest")).await, 2);
    let told = format!(
        "SELECT COUNT(*) FROM outbox WHERE recipient_id = {MENTOR} AND kind = 'joined' \
         AND delivered_at IS NOT NULL"
    );
    assert_eq!(bot.count(&told).await, 1);
}

#[tokio::test]
async fn a_minute_after_a_flip_the_member_may_change_again() {
    let app = spawn_service().await;
    let id = app.host_default().await;
    let other = app
        .host(helpers::request("Async Rust"))
        .await
        .masterclass
        .id;
    let m = member(1);
    let t = |seconds: i64| helpers::now() + Duration::seconds(seconds);
    app.service.join(&m, id, t(0)).await.unwrap();
    app.service.leave(&m, id, t(10)).await.unwrap();
    app.service.join(&m, id, t(20)).await.unwrap();
    app.service.leave(&m, id, t(30)).await.unwrap();
    let before = app.dump().await;

    let refused = user_error(app.service.join(&m, id, t(40)).await);

    assert_eq!(refused, UserError::TooManyChanges { changes: 4 });
    assert_eq!(refused.to_string(), SLOW_DOWN);
    assert_eq!(app.dump().await, before, "nothing written");
    // Only this masterclass: another one is joined as usual.
    app.service.join(&m, other, t(40)).await.unwrap();
    // The window slides: once the first change is a minute old, one more is allowed...
    app.service.join(&m, id, t(60)).await.unwrap();
    // ...and the next waits for the second one to age.
    let refused = user_error(app.service.leave(&m, id, t(61)).await);
    assert_eq!(refused, UserError::TooManyChanges { changes: 4 });
    app.service.leave(&m, id, t(71)).await.unwrap();
}
