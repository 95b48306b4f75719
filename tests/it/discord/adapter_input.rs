//! The adapter's own reading of options, end to end through the fake Discord: what Discord's
//! client would not send (a text channel where the picker offers voice, an id autocomplete never
//! offered) and what a member can get wrong (two places, guests that aren't mentions). Each is
//! refused with its own sentence, and nothing changes: no request to Discord but the answer, not
//! a row in the database.

use super::wait::{changes_since, settled};
use crate::support::bot::*;
use crate::support::fake_discord::InteractionHandle;
use serde_json::{json, Value};

fn pick(masterclass: &str) -> Value {
    json!({"name": "masterclass", "type": 3, "value": masterclass})
}

/// The member reads exactly `refusal`, and neither Discord nor the database changed since
/// `before` was settled.
async fn refused(
    bot: &TestBot,
    before: &(Vec<String>, usize),
    handle: InteractionHandle,
    refusal: &str,
    what: &str,
) {
    assert_eq!(bot.reply_text(&handle).await, refusal, "{what}");
    let changes = changes_since(bot, before.1);
    assert!(changes.is_empty(), "{what}: asked Discord for {changes:#?}");
    assert_eq!(
        super::wait::dump(bot).await,
        before.0,
        "{what} changed the database"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edit_refuses_a_text_channel_as_the_place() {
    let bot = spawn_bot().await;
    bot.admin_setup().await;
    let hosted = bot.host("Placed", 5, &[]).await;
    let before = settled(&bot).await;
    // The picker offers voice and stage channels only; the interaction can still name any.
    let text = json!({"name": "channel", "type": 7, "value": GENERAL.to_string()});
    let h = bot
        .command(MENTOR, "edit", json!([pick(&hosted.masterclass), text]))
        .await;
    refused(
        &bot,
        &before,
        h,
        "The location must be a voice or stage channel of this server, or an http(s) link.",
        "a text channel",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_refuses_two_places_and_guests_that_are_not_mentions() {
    let bot = spawn_bot().await;
    bot.admin_setup().await;
    let before = settled(&bot).await;
    let both = json!([
        {"name": "channel", "type": 7, "value": VOICE.to_string()},
        {"name": "link", "type": 3, "value": "https://meet.example.org/rust"},
    ]);
    let h = bot.command(MENTOR, "host", both).await;
    refused(
        &bot,
        &before,
        h,
        "Give either a channel or a link as the location, not both.",
        "a channel and a link",
    )
    .await;

    // Someone who isn't in the server can't be a guest: named in the refusal.
    let stranger = json!([{"name": "guests", "type": 3, "value": format!("<@{GUEST_A}> <@123>")}]);
    let h = bot.command(MENTOR, "host", stranger).await;
    refused(
        &bot,
        &before,
        h,
        "<@123> isn't a member of this server, so they can't be a guest.",
        "a guest from outside the server",
    )
    .await;

    let guests = json!([{"name": "guests", "type": 3, "value": "<@123> not-a-mention"}]);
    let h = bot.command(MENTOR, "host", guests).await;
    refused(
        &bot,
        &before,
        h,
        "List guests as @mentions, separated by spaces.",
        "a guest list with a word in it",
    )
    .await;
}

/// Requests to Discord for a user's profile since `mark`.
fn user_lookups(bot: &TestBot, mark: usize) -> Vec<String> {
    bot.fake
        .requests()
        .into_iter()
        .filter(|r| r.seq >= mark && r.is("GET", "/users/*"))
        .map(|r| r.route().to_owned())
        .collect()
}

fn mentions(ids: impl IntoIterator<Item = u64>) -> String {
    let all: Vec<String> = ids.into_iter().map(|id| format!("<@{id}>")).collect();
    all.join(" ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_counts_mentioned_guests_once_each_before_looking_anyone_up() {
    let bot = spawn_bot().await;
    bot.admin_setup().await;
    let before = settled(&bot).await;
    // Strangers: in no server the bot shares, so each would be a request (and a 404 here).
    let thirty = mentions((0..30).map(|n| 990_000_000_000_000_000 + n));
    let h = bot
        .command(
            MENTOR,
            "host",
            json!([{"name": "guests", "type": 3, "value": thirty}]),
        )
        .await;
    refused(
        &bot,
        &before,
        h,
        "At most 25 guests can be invited.",
        "30 guests",
    )
    .await;
    assert_eq!(user_lookups(&bot, before.1), Vec::<String>::new());

    // The same member listed again is one guest, not a refusal.
    let repeated = format!("<@{GUEST_A}> <@!{GUEST_A}> {}", mentions([GUEST_B; 3]));
    let h = bot
        .command(
            MENTOR,
            "host",
            json!([
                {"name": "guest", "type": 6, "value": GUEST_A.to_string()},
                {"name": "guests", "type": 3, "value": repeated},
            ]),
        )
        .await;
    let modal = h.callback(T).await;
    assert_eq!(modal.body["type"], 9, "the form opens: {modal}");
    let form_id = modal.body["data"]["custom_id"].as_str().unwrap();
    let start = (chrono::Utc::now() + chrono::Duration::days(3))
        .format("%Y-%m-%d 18:00")
        .to_string();
    let fields = [
        ("title", "Twice invited"),
        ("description", "Guests once each"),
        ("start", start.as_str()),
    ];
    let submit = bot
        .fake
        .interact(bot.fake.modal_submit(GENERAL, MENTOR, form_id, &fields))
        .await;
    let preview = submit.callback(T).await;
    assert_eq!(
        field(&preview.body["data"], "Guests"),
        format!("<@{GUEST_A}> <@{GUEST_B}>"),
        "{preview}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_autocomplete_never_offered_are_not_found() {
    let bot = spawn_bot().await;
    bot.admin_setup().await;
    let hosted = bot.host("Real one", 5, &[]).await;
    let before = settled(&bot).await;
    let not_found = "I can't find that masterclass on this server.";
    for value in ["abc", "99999999999999999999", "-1", "0", "", "1 OR 1=1"] {
        let h = bot.command(MENTEE, "join", json!([pick(value)])).await;
        refused(&bot, &before, h, not_found, &format!("join {value:?}")).await;
    }
    // Every command that names a masterclass reads it the same way.
    let reason = json!({"name": "reason", "type": 3, "value": "because"});
    let member = json!({"name": "member", "type": 6, "value": MENTEE.to_string()});
    let title = json!({"name": "title", "type": 3, "value": "New"});
    for (sub, options) in [
        ("leave", json!([pick("abc")])),
        ("participants", json!([pick("abc")])),
        ("cancel", json!([pick("abc"), reason])),
        ("edit", json!([pick("abc"), title])),
        ("remove", json!([pick("abc"), member])),
    ] {
        let h = bot.command(MENTOR, sub, options).await;
        refused(&bot, &before, h, not_found, sub).await;
    }
    // The real one is still there, and still empty.
    let h = bot
        .command(MENTEE, "participants", json!([pick(&hosted.masterclass)]))
        .await;
    let list = h.callback(T).await;
    assert_eq!(field(&list.body["data"], "Attending (0/5)"), "Nobody yet.");
}
