//! User stories, end to end through the real framework.

use super::wait::wait_request;
use crate::support::bot::*;
use crate::support::fake_discord::{FailRule, Failure, Method, Recorded};
use serde_json::{json, Value};

fn pick(masterclass: &str) -> Value {
    json!({"name": "masterclass", "type": 3, "value": masterclass})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_without_the_role_and_disabled_servers_are_refused() {
    let bot = spawn_bot().await;
    // Not enabled yet: the article's answer.
    let h = bot.command(MENTOR, "host", json!([])).await;
    assert_eq!(
        bot.reply_text(&h).await,
        "Masterclasses aren't enabled on this server yet. Ask a server admin to switch them on \
         with `/masterclass-admin enable`; `/help` explains how masterclasses work."
    );

    bot.admin_setup().await;
    let h = bot.command(MENTEE, "host", json!([])).await;
    let refusal = h.callback(T).await;
    assert_eq!(
        refusal.body["type"], 4,
        "no form for a member without the role: {refusal}"
    );
    assert_eq!(refusal.body["data"]["flags"], 64);
    assert_eq!(
        refusal.body["data"]["content"],
        "Only members with the host role can host masterclasses here."
    );

    // A member can't change server settings either, nor view them.
    let admins_only = "Only server admins (Manage Server) can see or change this server's \
                       masterclass settings and delivery reports.";
    for sub in ["enable", "show"] {
        let h = bot
            .command_in(GENERAL, MENTEE, "masterclass-admin", sub, json!([]))
            .await;
        assert_eq!(bot.reply_text(&h).await, admins_only, "{sub}");
    }

    // Another server never enabled masterclasses.
    let h = bot
        .command_in(OTHER_CHANNEL, OTHER_ADMIN, "masterclass", "host", json!([]))
        .await;
    assert!(bot
        .reply_text(&h)
        .await
        .contains("aren't enabled on this server"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mentor_hosts_with_two_guests_and_everything_appears() {
    let bot = spawn_bot().await;
    bot.admin_setup().await;
    let hosted = bot.host("Rust ownership", 10, &[GUEST_A, GUEST_B]).await;

    let body = &hosted.announcement.body;
    assert_eq!(body["embeds"][0]["title"], "Rust ownership");
    assert_eq!(field(body, "Seats"), "2/10", "guests attend at once");
    assert_eq!(field(body, "Host"), format!("<@{MENTOR}>"));
    assert!(field(body, "Starts").starts_with("<t:"));
    assert_eq!(
        body["allowed_mentions"]["parse"],
        json!([]),
        "user text can't ping anyone: {body}"
    );
    let labels: Vec<&str> = body["components"][0]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["Join", "Leave", "Participants", "Add to calendar"]);

    assert_eq!(hosted.thread.body["type"], 12, "a private thread");
    assert_eq!(hosted.thread.body["name"], "Rust ownership");
    for member in [MENTOR, GUEST_A, GUEST_B] {
        let route = format!("/channels/{}/thread-members/{member}", hosted.thread_id);
        bot.fake
            .wait_for("a thread member", |r| r.is("PUT", &route), T)
            .await;
    }
    let event = bot
        .fake
        .wait_for(
            "the scheduled event",
            |r| r.is("POST", &format!("/guilds/{GUILD}/scheduled-events")),
            T,
        )
        .await;
    assert_eq!(event.body["entity_type"], 3, "external: {event}");
    assert_eq!(event.body["name"], "Rust ownership");
    assert!(event.body["entity_metadata"]["location"]
        .as_str()
        .unwrap()
        .contains(&hosted.thread_id.to_string()));
    assert!(event.body["scheduled_end_time"].is_string());

    // The masterclass is found by autocomplete, by title and time.
    let typed = bot.fake.autocomplete(
        GENERAL,
        MENTEE,
        "masterclass",
        Some("join"),
        json!([]),
        "masterclass",
        "rust",
    );
    let choices = bot.fake.interact(typed).await.callback(T).await;
    assert_eq!(choices.body["type"], 8, "{choices}");
    let choice = &choices.body["data"]["choices"][0];
    assert!(
        choice["name"]
            .as_str()
            .unwrap()
            .starts_with("Rust ownership — "),
        "{choice}"
    );
    assert_eq!(choice["value"], hosted.masterclass);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joining_by_button_adds_to_the_thread_and_updates_the_counts() {
    let bot = spawn_bot().await;
    bot.admin_setup().await;
    let hosted = bot.host("Async Rust", 2, &[]).await;
    let join = format!("mc:join:{}", hosted.masterclass);
    let leave = format!("mc:leave:{}", hosted.masterclass);
    let edit_route = format!("/channels/{ANNOUNCE}/messages/{}", hosted.message_id);

    let mark = bot.fake.mark();
    let h = bot.click(MENTEE, &join, hosted.message_id).await;
    let ack = h.callback(T).await;
    assert_eq!(
        (
            ack.body["type"].as_u64(),
            ack.body["data"]["flags"].as_u64()
        ),
        (Some(5), Some(64)),
        "acknowledged at once, ephemerally: {ack}"
    );
    assert!(bot.reply_text(&h).await.starts_with("You're in!"));
    // The host is told by DM, every time.
    let host_dm = format!("/channels/{}/messages", bot.fake.dm_channel_id(MENTOR));
    let dm = wait_request(&bot, "the host's DM", "POST", &host_dm, mark).await;
    assert!(
        dm.body["content"].as_str().unwrap().contains("joined"),
        "{dm}"
    );
    let route = format!("/channels/{}/thread-members/{MENTEE}", hosted.thread_id);
    wait_request(&bot, "the joiner in the thread", "PUT", &route, mark).await;
    bot.fake
        .wait_for(
            "counts 1/2",
            |r| r.seq >= mark && r.is("PATCH", &edit_route) && field(&r.body, "Seats") == "1/2",
            T,
        )
        .await;

    let second = bot.click(MENTEE + 1, &join, hosted.message_id).await;
    assert!(bot.reply_text(&second).await.starts_with("You're in!"));
    let mark = bot.fake.mark();
    let third = bot.click(MENTEE + 2, &join, hosted.message_id).await;
    assert!(bot
        .reply_text(&third)
        .await
        .contains("number 1 on the waitlist"));
    bot.fake
        .wait_for(
            "waitlist 1",
            |r| r.seq >= mark && r.is("PATCH", &edit_route) && field(&r.body, "Waitlist") == "1",
            T,
        )
        .await;
    let waiting = format!(
        "/channels/{}/thread-members/{}",
        hosted.thread_id,
        MENTEE + 2
    );
    assert!(
        !bot.fake.requests().iter().any(|r| r.is("PUT", &waiting)),
        "the waitlist is not in the thread"
    );

    // Joining twice is refused and changes nothing.
    let again = bot.click(MENTEE, &join, hosted.message_id).await;
    assert_eq!(
        bot.reply_text(&again).await,
        "You're already attending this masterclass."
    );

    // A leave promotes the first in line, who joins the thread.
    let mark = bot.fake.mark();
    let h = bot.click(MENTEE, &leave, hosted.message_id).await;
    assert!(bot.reply_text(&h).await.starts_with("You've left"));
    wait_request(&bot, "promoted into the thread", "PUT", &waiting, mark).await;
    let left = format!("/channels/{}/thread-members/{MENTEE}", hosted.thread_id);
    wait_request(&bot, "the leaver out of the thread", "DELETE", &left, mark).await;

    // Participants: attendees, then the waitlist.
    let h = bot
        .click(
            MENTEE + 3,
            &format!("mc:who:{}", hosted.masterclass),
            hosted.message_id,
        )
        .await;
    let list = h.callback(T).await;
    assert_eq!(list.body["data"]["flags"], 64);
    assert_eq!(
        field(&list.body["data"], "Attending (2/2)"),
        format!("<@{}>\n<@{}>", MENTEE + 1, MENTEE + 2)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_asks_for_confirmation_then_updates_announcement_and_event() {
    let bot = spawn_bot().await;
    bot.admin_setup().await;
    let hosted = bot.host("Will be cancelled", 5, &[GUEST_A]).await;

    let h = bot
        .command(
            MENTEE,
            "cancel",
            json!([pick(&hosted.masterclass), {"name": "reason", "type": 3, "value": "mine"}]),
        )
        .await;
    assert_eq!(
        bot.reply_text(&h).await,
        "Only the host or a server admin can do that."
    );

    let reason = json!({"name": "reason", "type": 3, "value": "I'm ill, sorry"});
    let h = bot
        .command(MENTOR, "cancel", json!([pick(&hosted.masterclass), reason]))
        .await;
    let confirm = h.callback(T).await;
    let text = confirm.body["data"]["content"].as_str().unwrap();
    assert!(
        text.contains("I'm ill, sorry") && text.contains("can't be undone"),
        "{text}"
    );
    assert!(
        text.starts_with("Cancel **Will be cancelled**, <t:") && !text.contains("))"),
        "no nested parentheses: {text}"
    );
    let confirm_id = confirm.body["data"]["components"][0]["components"][0]["custom_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        !bot.fake
            .requests()
            .iter()
            .any(|r| r.is("PATCH", &format!("/guilds/{GUILD}/scheduled-events/*"))),
        "nothing changes before the confirmation"
    );

    let mark = bot.fake.mark();
    let done = bot.click(MENTOR, &confirm_id, 1).await;
    assert_eq!(
        bot.reply_text(&done).await,
        "**Will be cancelled** is cancelled. Telling 1 member why."
    );
    let edit_route = format!("/channels/{ANNOUNCE}/messages/{}", hosted.message_id);
    let edit = wait_request(
        &bot,
        "the cancelled announcement",
        "PATCH",
        &edit_route,
        mark,
    )
    .await;
    assert_eq!(
        edit.body["embeds"][0]["title"],
        "Cancelled: Will be cancelled"
    );
    assert_eq!(field(&edit.body, "Cancelled"), "I'm ill, sorry");
    assert!(edit.body["components"][0]["components"]
        .as_array()
        .unwrap()
        .iter()
        .all(|b| b["disabled"] == true));
    let event = wait_request(
        &bot,
        "the cancelled event",
        "PATCH",
        &format!("/guilds/{GUILD}/scheduled-events/*"),
        mark,
    )
    .await;
    assert_eq!(event.body["status"], 4, "CANCELED");

    // The worker posts the reason in the thread, then archives and locks it.
    let thread_messages = format!("/channels/{}/messages", hosted.thread_id);
    let is_reason = |r: &Recorded| {
        r.seq >= mark
            && r.is("POST", &thread_messages)
            && r.body["content"]
                .as_str()
                .is_some_and(|c| c.contains("This masterclass was cancelled"))
    };
    let post = bot
        .fake
        .wait_for("the reason in the thread", is_reason, T)
        .await;
    assert!(
        post.body["content"]
            .as_str()
            .unwrap()
            .contains("I'm ill, sorry"),
        "{post}"
    );
    assert_eq!(post.body["allowed_mentions"]["parse"], json!([]));
    let thread_route = format!("/channels/{}", hosted.thread_id);
    let closed = wait_request(
        &bot,
        "the thread closed",
        "PATCH",
        &thread_route,
        post.seq + 1,
    )
    .await;
    assert_eq!(
        (
            closed.body["archived"].as_bool(),
            closed.body["locked"].as_bool()
        ),
        (Some(true), Some(true))
    );
    // The guest hears it by DM.
    let guest_dm = format!("/channels/{}/messages", bot.fake.dm_channel_id(GUEST_A));
    let told = |r: &Recorded| {
        r.is("POST", &guest_dm)
            && r.body["content"]
                .as_str()
                .unwrap_or("")
                .contains("I'm ill, sorry")
    };
    bot.fake
        .wait_for("the guest's DM with the reason", told, T)
        .await;

    // The old Join button is refused now.
    let h = bot
        .click(
            MENTEE,
            &format!("mc:join:{}", hosted.masterclass),
            hosted.message_id,
        )
        .await;
    assert_eq!(bot.reply_text(&h).await, "This masterclass was cancelled.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_malformed_buttons_are_refused_and_change_nothing() {
    let bot = spawn_bot().await;
    bot.admin_setup().await;
    let hosted = bot.host("Guarded", 5, &[]).await;
    let mark = bot.fake.mark();
    // A click in another server naming this server's masterclass.
    let forged = bot.fake.button_click(
        OTHER_CHANNEL,
        OTHER_ADMIN,
        &format!("mc:join:{}", hosted.masterclass),
        1,
    );
    let h = bot.fake.interact(forged).await;
    assert_eq!(
        bot.reply_text(&h).await,
        "I can't find that masterclass on this server."
    );
    for bad in [
        "mc:join:01",
        "mc:join:+1",
        "mc:join",
        "mc:nuke:1",
        "x".repeat(100).as_str(),
    ] {
        let h = bot.click(MENTEE, bad, hosted.message_id).await;
        assert_eq!(
            bot.reply_text(&h).await,
            "This button or form has expired. Please start again.",
            "{bad}"
        );
    }
    let changed = bot
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.seq >= mark)
        .filter(|r| {
            !r.route().starts_with("/interactions/") && !r.route().starts_with("/webhooks/")
        })
        .count();
    assert_eq!(changed, 0, "nothing but the answers:\n{}", bot.fake.dump());
    // And the masterclass still has nobody.
    let h = bot
        .command(MENTEE, "participants", json!([pick(&hosted.masterclass)]))
        .await;
    let list = h.callback(T).await;
    assert_eq!(field(&list.body["data"], "Attending (0/5)"), "Nobody yet.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_time_can_never_be_edited_but_the_title_can() {
    let bot = spawn_bot().await;
    bot.admin_setup().await;
    let hosted = bot.host("Fixed time", 5, &[]).await;
    let h = bot.command(MENTOR, "edit", json!([pick(&hosted.masterclass), {"name": "start", "type": 3, "value": "tomorrow 10:00"}])).await;
    let text = bot.reply_text(&h).await;
    assert!(
        text.contains("can't be changed") && text.contains("cancel it"),
        "{text}"
    );

    let mark = bot.fake.mark();
    let h = bot.command(MENTOR, "edit", json!([pick(&hosted.masterclass), {"name": "title", "type": 3, "value": "Fixed time, new name"}])).await;
    assert!(bot.reply_text(&h).await.starts_with("Updated"));
    let edit_route = format!("/channels/{ANNOUNCE}/messages/{}", hosted.message_id);
    let edit = wait_request(&bot, "the renamed announcement", "PATCH", &edit_route, mark).await;
    assert_eq!(edit.body["embeds"][0]["title"], "Fixed time, new name");
    let events = format!("/guilds/{GUILD}/scheduled-events/*");
    let event = wait_request(&bot, "the renamed event", "PATCH", &events, mark).await;
    assert_eq!(event.body["name"], "Fixed time, new name");

    // A new link moves the event too.
    let mark = bot.fake.mark();
    let link = json!({"name": "link", "type": 3, "value": "https://meet.example.org/rust"});
    let h = bot
        .command(MENTOR, "edit", json!([pick(&hosted.masterclass), link]))
        .await;
    assert!(bot.reply_text(&h).await.starts_with("Updated"));
    let event = wait_request(&bot, "the moved event", "PATCH", &events, mark).await;
    assert_eq!(
        event.body["entity_metadata"]["location"],
        "https://meet.example.org/rust"
    );
    let bad = json!({"name": "link", "type": 3, "value": "javascript:alert(1)"});
    let h = bot
        .command(MENTOR, "edit", json!([pick(&hosted.masterclass), bad]))
        .await;
    assert!(bot.reply_text(&h).await.starts_with("The location must be"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buttons_keep_working_after_a_restart() {
    let mut bot = spawn_bot().await;
    bot.admin_setup().await;
    let hosted = bot.host("Survives restarts", 5, &[]).await;
    bot.restart().await;
    assert_eq!(bot.fake.identifies().len(), 2, "a new client identified");
    let mark = bot.fake.mark();
    let h = bot
        .click(
            MENTEE,
            &format!("mc:join:{}", hosted.masterclass),
            hosted.message_id,
        )
        .await;
    assert!(bot.reply_text(&h).await.starts_with("You're in!"));
    let route = format!("/channels/{}/thread-members/{MENTEE}", hosted.thread_id);
    wait_request(&bot, "the joiner in the thread", "PUT", &route, mark).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_find_masterclasses_their_sessions_and_calendar_files() {
    let bot = spawn_bot().await;
    bot.admin_setup().await;
    let hosted = bot.host("Findable", 5, &[GUEST_A]).await;

    // /masterclass list: a line per masterclass and a Join button for each.
    let h = bot.command(MENTEE, "list", json!([])).await;
    let list = h.callback(T).await;
    assert!(list.body["data"]["embeds"][0]["description"]
        .as_str()
        .unwrap()
        .contains("**Findable**"));
    let button = &list.body["data"]["components"][0]["components"][0];
    assert_eq!(
        button["custom_id"],
        format!("mc:join:{}", hosted.masterclass)
    );
    assert_eq!(button["label"], "Join: Findable");

    // The context menu on the mentor shows theirs; on someone else, none.
    let menu = bot
        .fake
        .interact(
            bot.fake
                .user_context_menu(GENERAL, MENTEE, "Masterclasses", MENTOR),
        )
        .await;
    assert!(
        menu.callback(T).await.body["data"]["embeds"][0]["description"]
            .as_str()
            .unwrap()
            .contains("Findable")
    );
    let menu = bot
        .fake
        .interact(
            bot.fake
                .user_context_menu(GENERAL, MENTEE, "Masterclasses", GUEST_B),
        )
        .await;
    assert_eq!(
        bot.reply_text(&menu).await,
        format!("No upcoming masterclasses by <@{GUEST_B}>.")
    );

    // The guest's own sessions, and a calendar file with the masterclass in it.
    let h = bot.command(GUEST_A, "sessions", json!([])).await;
    let sessions = h.callback(T).await;
    let text = sessions.body["data"]["embeds"][0]["description"]
        .as_str()
        .unwrap();
    assert!(
        text.contains("Findable") && text.contains("*attending*"),
        "{text}"
    );
    let h = bot.command(GUEST_A, "calendar", json!([])).await;
    let file = h.callback(T).await;
    let ics = String::from_utf8(file.files[0].data.to_vec()).unwrap();
    assert_eq!(file.files[0].filename.as_deref(), Some("masterclasses.ics"));
    assert_eq!(
        file.body["data"]["content"],
        "1 upcoming session. Open the file to add it to your calendar."
    );
    assert!(
        ics.contains("BEGIN:VEVENT")
            && ics.contains(&format!(
                "UID:masterclass-{}@masterclass-bot",
                hosted.masterclass
            )),
        "{ics}"
    );
    let h = bot.command(MENTEE, "calendar", json!([])).await;
    assert_eq!(
        bot.reply_text(&h).await,
        "0 upcoming sessions. Open the file to add them to your calendar."
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_set_their_zone_and_notifications_and_read_help() {
    let bot = spawn_bot().await;
    let zone = json!([{"name": "zone", "type": 3, "value": "Europe/Paris"}]);
    let h = bot
        .command_in(GENERAL, MENTEE, "settings", "timezone", zone)
        .await;
    assert_eq!(
        bot.reply_text(&h).await,
        "Your time zone is now Europe/Paris."
    );
    let bad = json!([{"name": "zone", "type": 3, "value": "Mars/Olympus"}]);
    let h = bot
        .command_in(GENERAL, MENTEE, "settings", "timezone", bad)
        .await;
    assert!(bot.reply_text(&h).await.contains("not a time zone I know"));
    let off = json!([{"name": "dm", "type": 5, "value": false}]);
    let h = bot
        .command_in(GENERAL, MENTEE, "settings", "notifications", off)
        .await;
    assert_eq!(bot.reply_text(&h).await, "DMs are off, emails are on.");
    let h = bot
        .command_in(
            GENERAL,
            MENTEE,
            "settings",
            "email set",
            json!([{"name": "address", "type": 3, "value": "nope"}]),
        )
        .await;
    assert_eq!(
        bot.reply_text(&h).await,
        "“nope” doesn't look like an email address."
    );

    let support = json!([{"name": "text", "type": 3, "value": "Ask in #help"}]);
    let h = bot
        .command_in(GENERAL, ADMIN, "masterclass-admin", "support", support)
        .await;
    assert!(bot.reply_text(&h).await.contains("Support: Ask in #help"));
    let h = bot.command_in(GENERAL, MENTEE, "help", "", json!([])).await;
    let help = bot.reply_text(&h).await;
    assert!(
        help.contains("Masterclasses") && help.ends_with("Ask in #help"),
        "{help}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_see_notifications_that_keep_failing() {
    let bot = spawn_bot().await;
    bot.admin_setup().await;
    bot.fake.fail(FailRule::always(
        Method::POST,
        "/users/@me/channels",
        Failure::ServerError,
    ));
    let hosted = bot.host("Hard to reach", 5, &[GUEST_A]).await;
    // The second attempt (after the backoff) comes once the first failure was recorded.
    let attempts = |r: &Recorded| r.is("POST", "/users/@me/channels") && r.status == 500;
    let first = bot.fake.wait_for("a DM attempt", attempts, T).await;
    bot.fake
        .wait_for("a retry", |r| r.seq > first.seq && attempts(r), T)
        .await;
    let h = bot
        .command_in(GENERAL, ADMIN, "masterclass-admin", "deliveries", json!([]))
        .await;
    let list = h.callback(T).await;
    let text = list.body["data"]["embeds"][0]["description"]
        .as_str()
        .unwrap_or_default();
    assert!(text.contains(&format!("DM to <@{GUEST_A}>")), "{list}");
    assert!(
        text.contains(&format!("masterclass {}", hosted.masterclass)),
        "{text}"
    );
    let h = bot
        .command_in(
            GENERAL,
            MENTEE,
            "masterclass-admin",
            "deliveries",
            json!([]),
        )
        .await;
    assert!(bot.reply_text(&h).await.contains("Only server admins"));
}
