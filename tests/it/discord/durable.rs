//! The Discord side survives double clicks, refusals after an acknowledgement, restarts and
//! bursts: the real bot against the fake Discord.

use crate::support::bot::*;
use crate::support::fake_discord::{FailRule, Failure, Method, Recorded};
use serde_json::json;

fn ok_posts(bot: &TestBot, route: &str) -> Vec<Recorded> {
    bot.fake
        .requests()
        .into_iter()
        .filter(|r| r.is("POST", route) && r.status == 200)
        .collect()
}

#[tokio::test]
async fn a_double_save_hosts_once_and_answers_both_clicks() {
    let bot = spawn_bot().await;
    bot.admin_setup().await;
    let save_id = bot.preview("Rust ownership", 10, &[GUEST_A]).await;
    let mark = bot.fake.mark();
    let first = bot.click(MENTOR, &save_id, 1).await;
    let second = bot.click(MENTOR, &save_id, 1).await;
    let answers = [bot.reply_text(&first).await, bot.reply_text(&second).await];
    assert!(
        answers.iter().any(|a| a.starts_with("Saved!")),
        "{answers:?}"
    );
    assert!(
        answers.iter().all(|a| !a.is_empty()),
        "both clicks answered: {answers:?}"
    );
    bot.published(mark).await;
    bot.fake
        .wait_for(
            "the event",
            |r| r.is("POST", &format!("/guilds/{GUILD}/scheduled-events")),
            T,
        )
        .await;
    assert_eq!(bot.count("SELECT COUNT(*) FROM masterclasses").await, 1);
    assert_eq!(
        ok_posts(&bot, &format!("/channels/{ANNOUNCE}/messages")).len(),
        1
    );
    assert_eq!(
        ok_posts(&bot, &format!("/channels/{ANNOUNCE}/threads")).len(),
        1
    );
}

#[tokio::test]
async fn a_refusal_after_save_was_acknowledged_is_shown() {
    let bot = spawn_bot().await;
    bot.admin_setup().await;
    let save_id = bot.preview("Rust ownership", 10, &[]).await;
    // While the preview is open, the admin switches masterclasses off.
    let h = bot
        .command_in(GENERAL, ADMIN, "masterclass-admin", "disable", json!([]))
        .await;
    bot.reply_text(&h).await;
    let save = bot.click(MENTOR, &save_id, 1).await;
    assert_eq!(save.callback(T).await.body["type"], 6, "acknowledged first");
    let edit = save.original_edit(T).await;
    let text = edit.body["content"].as_str().unwrap_or_default();
    assert!(text.contains("enabled"), "the host sees why: {text}");
    assert_eq!(edit.body["components"], json!([]), "no Save button left");
    assert_eq!(bot.count("SELECT COUNT(*) FROM masterclasses").await, 0);
}

#[tokio::test]
async fn a_restart_before_publishing_publishes_exactly_once() {
    let mut bot = spawn_bot().await;
    bot.admin_setup().await;
    // Discord is down for announcements, threads and events: Save commits, nothing shows.
    for path in [
        format!("/channels/{ANNOUNCE}/"),
        format!("/guilds/{GUILD}/scheduled-events"),
    ] {
        bot.fake
            .fail(FailRule::always(Method::POST, &path, Failure::ServerError));
    }
    let save_id = bot.preview("Rust ownership", 10, &[GUEST_A]).await;
    let save = bot.click(MENTOR, &save_id, 1).await;
    assert!(bot.reply_text(&save).await.starts_with("Saved!"));
    bot.fake
        .wait_for(
            "a failed announcement",
            |r| r.is("POST", &format!("/channels/{ANNOUNCE}/messages")) && r.status == 500,
            T,
        )
        .await;
    bot.restart().await;
    let mark = bot.fake.mark();
    bot.fake.clear_failures();
    // Restarting wakes the worker at once; nothing else is needed.
    let hosted = bot.published(0).await;
    bot.fake
        .wait_for(
            "the event",
            |r| r.is("POST", &format!("/guilds/{GUILD}/scheduled-events")) && r.status == 200,
            T,
        )
        .await;
    // Members are added in id order: the guest comes last.
    let guest = format!("/channels/{}/thread-members/{GUEST_A}", hosted.thread_id);
    bot.fake
        .wait_for(
            "the guest in the thread",
            |r| r.seq >= mark && r.is("PUT", &guest) && r.status == 204,
            T,
        )
        .await;
    let members = bot.fake.thread_members(hosted.thread_id);
    for member in [BOT, MENTOR, GUEST_A] {
        assert!(members.contains(&member), "{members:?}");
    }
    assert_eq!(
        ok_posts(&bot, &format!("/channels/{ANNOUNCE}/messages")).len(),
        1
    );
    assert_eq!(
        ok_posts(&bot, &format!("/channels/{ANNOUNCE}/threads")).len(),
        1
    );
    assert_eq!(
        ok_posts(&bot, &format!("/guilds/{GUILD}/scheduled-events")).len(),
        1
    );
}

#[tokio::test]
async fn two_hundred_slash_joins_are_all_answered_in_time() {
    let bot = spawn_bot_with(200).await;
    bot.admin_setup().await;
    let hosted = bot.host("Rust ownership", 50, &[]).await;
    let option = json!([{"name": "masterclass", "type": 3, "value": hosted.masterclass}]);
    let mut handles = Vec::new();
    for n in 0..200 {
        handles.push(bot.command(MENTEE + n, "join", option.clone()).await);
    }
    let mut seated = 0;
    let mut waiting = 0;
    for h in &handles {
        let text = bot.reply_text(h).await;
        if text.starts_with("You're in!") {
            seated += 1;
        } else if text.contains("waitlist") {
            waiting += 1;
        } else {
            panic!("unexpected answer: {text}");
        }
    }
    assert_eq!(
        bot.fake.late_callbacks(),
        0,
        "every initial response within 3 s"
    );
    assert_eq!((seated, waiting), (50, 150));
    assert_eq!(
        bot.count("SELECT COUNT(*) FROM participants WHERE status = 'attending'")
            .await,
        50
    );
}

#[tokio::test]
async fn a_thread_discord_archived_is_reopened_while_the_masterclass_is_ahead() {
    let bot = spawn_bot().await;
    bot.admin_setup().await;
    let hosted = bot.host("Rust ownership", 10, &[]).await;
    let mark = bot.fake.mark();
    bot.fake.archive_thread(hosted.thread_id).await;
    let route = format!("/channels/{}", hosted.thread_id);
    let reopened = bot
        .fake
        .wait_for(
            "the thread reopened",
            |r| r.seq >= mark && r.is("PATCH", &route),
            T,
        )
        .await;
    assert_eq!(reopened.body["archived"], false);
    assert!(!bot.fake.thread_state(hosted.thread_id).unwrap().0);
}

#[tokio::test]
async fn someone_elses_click_on_discard_changes_nothing() {
    let bot = spawn_bot().await;
    bot.admin_setup().await;
    let save_id = bot.preview("Rust ownership", 10, &[]).await;
    let discard = save_id.replace("mc:save:", "mc:discard:");
    let h = bot.click(GUEST_A, &discard, 1).await;
    let text = bot.reply_text(&h).await;
    assert!(!text.is_empty() && !text.starts_with("Discarded"), "{text}");
    // The host can still save it.
    let save = bot.click(MENTOR, &save_id, 1).await;
    assert!(bot.reply_text(&save).await.starts_with("Saved!"));
}
