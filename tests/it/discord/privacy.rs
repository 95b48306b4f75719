//! `/settings my-data` and `/settings forget-me`, through the real bot and the fake Discord.

use crate::helpers::{dump, names_id};
use crate::support::bot::*;
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_downloads_their_data_then_is_forgotten_everywhere() {
    let bot = spawn_bot().await;
    bot.admin_setup().await;
    let hosted = bot.host("Forgettable", 1, &[]).await;
    let thread_member = |user: u64| format!("/channels/{}/thread-members/{user}", hosted.thread_id);
    let join = format!("mc:join:{}", hosted.masterclass);
    for user in [MENTEE, MENTEE + 1] {
        let h = bot.click(user, &join, hosted.message_id).await;
        bot.reply_text(&h).await;
    }
    bot.fake
        .wait_for(
            "the mentee in the thread",
            |r| r.is("PUT", &thread_member(MENTEE)),
            T,
        )
        .await;

    // A copy of everything, as a file only they see.
    let h = bot
        .command_in(GENERAL, MENTEE, "settings", "my-data", json!([]))
        .await;
    assert_eq!(h.callback(T).await.body["data"]["flags"], 64, "private");
    let answer = h.original_edit(T).await;
    assert_eq!(answer.files[0].filename.as_deref(), Some("my-data.json"));
    let data: Value = serde_json::from_slice(&answer.files[0].data).unwrap();
    assert_eq!(data["user_id"], MENTEE.to_string());
    assert_eq!(data["sign_ups"][0]["title"], "Forgettable");
    assert_eq!(data["sign_ups"][0]["status"], "attending");
    assert_eq!(data["activity"][0]["action"], "joined");
    assert!(answer.body["content"]
        .as_str()
        .unwrap()
        .contains("`/settings forget-me` erases it"));

    // Forget-me asks first; only they can answer; "keep" changes nothing.
    let h = bot
        .command_in(GENERAL, MENTEE, "settings", "forget-me", json!([]))
        .await;
    let prompt = h.callback(T).await;
    assert_eq!(prompt.body["data"]["flags"], 64);
    assert!(prompt.body["data"]["content"]
        .as_str()
        .unwrap()
        .contains("This can't be undone."));
    let buttons = &prompt.body["data"]["components"][0]["components"];
    let forget = buttons[0]["custom_id"].as_str().unwrap().to_owned();
    let keep = buttons[1]["custom_id"].as_str().unwrap().to_owned();
    assert_eq!(forget, format!("mc:forget:{MENTEE}"));
    let signed_up = format!("SELECT COUNT(*) FROM participants WHERE user_id = {MENTEE}");
    let h = bot.click(MENTEE + 2, &forget, 1).await;
    assert_eq!(bot.reply_text(&h).await, "That isn't yours to press.");
    let h = bot.click(MENTEE, &keep, 1).await;
    assert_eq!(
        bot.reply_text(&h).await,
        "Nothing changed; your data stays."
    );
    assert_eq!(bot.count(&signed_up).await, 1, "still signed up");

    let h = bot.click(MENTEE, &forget, 1).await;
    assert_eq!(
        bot.reply_text(&h).await,
        "Done. You left 1 upcoming masterclass. Everything else I stored about you is erased."
    );
    // The seat went to the waitlist: the thread changes as for any leave.
    bot.fake
        .wait_for(
            "the member out of the thread",
            |r| r.is("DELETE", &thread_member(MENTEE)),
            T,
        )
        .await;
    bot.fake
        .wait_for(
            "the promoted member in",
            |r| r.is("PUT", &thread_member(MENTEE + 1)),
            T,
        )
        .await;
    let sql = format!("SELECT COUNT(*) FROM thread_members WHERE user_id = {MENTEE}");
    let deadline = tokio::time::Instant::now() + T;
    while bot.count(&sql).await > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the thread row stays"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let dump = bot_dump(&bot).await;
    let left: Vec<_> = dump.iter().filter(|row| names_id(row, MENTEE)).collect();
    assert!(left.is_empty(), "{left:#?}");
    assert!(dump.iter().any(|row| names_id(row, MENTEE + 1)));
}

async fn bot_dump(bot: &TestBot) -> Vec<String> {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(bot.dir.path().join("bot.db"))
        .read_only(true);
    let mut conn = sqlx::ConnectOptions::connect(&options).await.unwrap();
    dump(&mut conn).await
}
