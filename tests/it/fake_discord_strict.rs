//! The fake Discord refuses what Discord refuses (a wrong token, late or premature interaction
//! answers, changes to archived threads, invalid scheduled events and messages) and runs
//! Discord's own timers on demand, so the bot's tests fail where production would.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use poise::serenity_prelude as serenity;
use serde_json::{json, Value};
use serenity::{ChannelId, GuildId, HttpError, InteractionId, UserId};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::support::fake_discord::{
    ChannelKind, FailRule, Failure, FakeDiscord, Fixture, GuildFixture, Method,
};

const APP: u64 = 600_000_000_000_000_001;
const BOT: u64 = 600_000_000_000_000_002;
const GUILD: u64 = 610_000_000_000_000_001;
const GENERAL: u64 = 610_000_000_000_000_010;
const VOICE: u64 = 610_000_000_000_000_011;
const ALICE: u64 = 620_000_000_000_000_001;
const BOB: u64 = 620_000_000_000_000_002;
const T: Duration = Duration::from_secs(15);

type Gateway =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn fixture() -> Fixture {
    Fixture::new(APP, BOT).guild(
        GuildFixture::new(GUILD, "Mentors", ALICE)
            .channel(GENERAL, "general", ChannelKind::Text)
            .channel(VOICE, "voice", ChannelKind::Voice)
            .admin(ALICE, "alice")
            .member(BOB, "bob", &[]),
    )
}

fn http(fake: &FakeDiscord, token: &str) -> serenity::Http {
    let http = serenity::HttpBuilder::new(token)
        .proxy(fake.base_url())
        .ratelimiter_disabled(true)
        .build();
    http.set_application_id(APP.into());
    http
}

/// HTTP status and Discord code of a refused request.
fn refusal<T: std::fmt::Debug>(result: Result<T, serenity::Error>) -> (u16, isize) {
    match result.expect_err("Discord refuses this") {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(e)) => {
            (e.status_code.as_u16(), e.error.code)
        }
        other => panic!("expected an HTTP error response, got {other:?}"),
    }
}

/// A bare gateway client: reads HELLO, sends IDENTIFY with `token`.
async fn identify(fake: &FakeDiscord, token: &str) -> Gateway {
    let (mut ws, _) = tokio_tungstenite::connect_async(fake.gateway_url())
        .await
        .expect("gateway connects");
    next_frame(&mut ws).await; // HELLO
    let properties = json!({"os": "linux", "browser": "test", "device": "test"});
    let d = json!({"token": token, "intents": 0, "properties": properties});
    let frame = json!({"op": 2, "d": d}).to_string();
    ws.send(WsMessage::Text(frame))
        .await
        .expect("IDENTIFY sent");
    ws
}

async fn next_frame(ws: &mut Gateway) -> WsMessage {
    let frame = tokio::time::timeout(T, ws.next()).await.expect("a frame");
    frame.expect("connection open").expect("a valid frame")
}

/// Reads dispatches until one named `event`; its `d`.
async fn next_dispatch(ws: &mut Gateway, event: &str) -> Value {
    loop {
        let text = next_frame(ws).await.into_text().expect("a text frame");
        let v: Value = serde_json::from_str(&text).expect("JSON");
        if v["t"] == event {
            return v["d"].clone();
        }
    }
}

fn slash(fake: &FakeDiscord) -> Value {
    fake.slash_command(GENERAL, ALICE, "ping", None, json!([]))
}

#[tokio::test]
async fn a_wrong_token_is_refused() {
    let fake = FakeDiscord::start(fixture()).await;
    let wrong = http(&fake, "wrong-token");
    assert_eq!(refusal(wrong.get_current_user().await), (401, 0));
    assert_eq!(fake.requests().last().map(|r| r.status), Some(401));
    let user = http(&fake, "fake-token").get_current_user().await;
    assert_eq!(user.expect("the right token works").id, BOT);

    // The gateway closes with 4004; "Bot <token>" works like the bare token.
    let mut ws = identify(&fake, "wrong-token").await;
    match next_frame(&mut ws).await {
        WsMessage::Close(Some(frame)) => assert_eq!(u16::from(frame.code), 4004),
        other => panic!("expected close 4004, got {other:?}"),
    }
    assert!(fake.identifies().is_empty());
    let _ws = identify(&fake, "Bot fake-token").await;
    fake.wait_until_ready(T).await;

    // The interaction token, not the bot token, authenticates an interaction's answers.
    let h = fake.interact(slash(&fake)).await;
    let reply = json!({"type": 4, "data": {"content": "pong"}});
    let id = InteractionId::new(h.id);
    let answered = wrong.create_interaction_response(id, &h.token, &reply, vec![]);
    answered.await.expect("no bot token needed");
}

#[tokio::test]
async fn interactions_are_answered_in_time_and_in_order() {
    let fake = FakeDiscord::start(fixture()).await;
    let _ws = identify(&fake, "fake-token").await;
    let http = http(&fake, "fake-token");
    let reply = json!({"type": 4, "data": {"content": "pong"}});
    let more = json!({"content": "more"});

    // No followup nor edit before the initial response; one initial response only.
    let h = fake.interact(slash(&fake)).await;
    let id = InteractionId::new(h.id);
    let early = http.create_followup_message(&h.token, &more, vec![]).await;
    assert_eq!(refusal(early), (404, 10015));
    let early = http.edit_original_interaction_response(&h.token, &more, vec![]);
    assert_eq!(refusal(early.await), (404, 10015));
    let long = json!({"type": 4, "data": {"content": "x".repeat(2001)}});
    let too_long = http.create_interaction_response(id, &h.token, &long, vec![]);
    assert_eq!(refusal(too_long.await), (400, 50035));
    let answer = http.create_interaction_response(id, &h.token, &reply, vec![]);
    answer.await.expect("in time");
    let again = http.create_interaction_response(id, &h.token, &reply, vec![]);
    assert_eq!(refusal(again.await), (400, 40060));
    let followup = http.create_followup_message(&h.token, &more, vec![]).await;
    assert_eq!(followup.expect("after the response").content, "more");

    // Past the deadline: 10062, and the interaction stays unanswered.
    fake.set_interaction_deadline(Duration::ZERO);
    let late = fake.interact(slash(&fake)).await;
    let id = InteractionId::new(late.id);
    let answer = http.create_interaction_response(id, &late.token, &reply, vec![]);
    assert_eq!(refusal(answer.await), (404, 10062));
    assert_eq!(fake.late_callbacks(), 1);
    let followup = http.create_followup_message(&late.token, &more, vec![]);
    assert_eq!(refusal(followup.await), (404, 10015));
}

#[tokio::test]
async fn archived_threads_refuse_members_and_unarchive_on_post() {
    let fake = FakeDiscord::start(fixture()).await;
    let mut ws = identify(&fake, "fake-token").await;
    fake.wait_until_ready(T).await;
    let http = http(&fake, "fake-token");
    let general = ChannelId::new(GENERAL);
    let active = || async {
        let data = http.get_guild_active_threads(GUILD.into()).await.unwrap();
        data.threads.iter().map(|t| t.id.get()).collect::<Vec<_>>()
    };

    let unnamed = json!({"name": "", "type": 12});
    let unnamed = http.create_thread(general, &unnamed, None).await;
    assert_eq!(refusal(unnamed), (400, 50035));
    let new = json!({"name": "Rust 101", "type": 12, "auto_archive_duration": 1440});
    let thread = http.create_thread(general, &new, None).await.unwrap();
    let tid = thread.id.get();
    assert_eq!(active().await, [tid]);

    // Discord archives it: THREAD_UPDATE; members can't change; it is no longer listed.
    fake.archive_thread(tid).await;
    let update = next_dispatch(&mut ws, "THREAD_UPDATE").await;
    assert_eq!(update["thread_metadata"]["archived"], true);
    assert_eq!(
        fake.thread_state(tid),
        Some((true, false, "Rust 101".into()))
    );
    let add = http.add_thread_channel_member(thread.id, UserId::new(BOB));
    assert_eq!(refusal(add.await), (400, 50083));
    assert!(active().await.is_empty());
    assert_eq!(fake.threads_in(GENERAL)[0]["id"], tid.to_string());

    // Posting unarchives it.
    thread.id.say(&http, "still here").await.expect("posted");
    assert_eq!(fake.thread_state(tid).map(|s| s.0), Some(false));
    let add = http.add_thread_channel_member(thread.id, UserId::new(BOB));
    add.await.expect("member added");
    assert_eq!(active().await, [tid]);

    // Archived and locked: no posts, no edits but unarchiving.
    let lock = json!({"archived": true, "locked": true});
    http.edit_thread(thread.id, &lock, None).await.unwrap();
    assert_eq!(refusal(thread.id.say(&http, "hello?").await), (400, 50083));
    let rename = json!({"name": "Rust 102"});
    let rename = http.edit_thread(thread.id, &rename, None).await;
    assert_eq!(refusal(rename), (400, 50083));
    let reopen = json!({"archived": false, "name": "Rust 102"});
    let t = http.edit_thread(thread.id, &reopen, None).await.unwrap();
    assert_eq!(t.name, "Rust 102");
    assert_eq!(
        fake.thread_state(tid),
        Some((false, true, "Rust 102".into()))
    );
    let long = json!({"name": "x".repeat(101)});
    let rename = http.edit_thread(thread.id, &long, None);
    assert_eq!(refusal(rename.await), (400, 50035));
}

fn at(rfc3339: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .with_timezone(&chrono::Utc)
}

fn external(name: &str) -> Value {
    json!({
        "name": name, "privacy_level": 2, "entity_type": 3,
        "scheduled_start_time": "2030-01-01T18:00:00Z", "scheduled_end_time": "2030-01-01T19:00:00Z",
        "entity_metadata": {"location": "Online"},
    })
}

#[tokio::test]
async fn scheduled_events_follow_discords_rules_and_timers() {
    let fake = FakeDiscord::start(fixture()).await;
    let http = http(&fake, "fake-token");
    let guild = GuildId::new(GUILD);

    let mut no_end = external("Rust 101");
    no_end["scheduled_end_time"] = Value::Null;
    let mut far = external("Rust 101");
    far["entity_metadata"]["location"] = "x".repeat(101).into();
    let voice_nowhere = json!({
        "name": "Office hours", "privacy_level": 2, "entity_type": 2,
        "scheduled_start_time": "2030-01-02T18:00:00Z",
    });
    for bad in [
        no_end,
        far,
        external(&"x".repeat(101)),
        voice_nowhere.clone(),
    ] {
        let created = http.create_scheduled_event(guild, &bad, None).await;
        assert_eq!(refusal(created), (400, 50035), "{bad}");
    }
    let ev = external("Rust 101");
    let ev = http.create_scheduled_event(guild, &ev, None).await.unwrap();
    let mut voice = voice_nowhere;
    voice["channel_id"] = VOICE.to_string().into();
    let voice = http
        .create_scheduled_event(guild, &voice, None)
        .await
        .unwrap();

    // SCHEDULED → COMPLETED skips ACTIVE.
    let done = json!({"status": 3});
    let done = http.edit_scheduled_event(guild, ev.id, &done, None).await;
    assert_eq!(refusal(done), (400, 50035));

    // Discord's timers: EXTERNAL starts and ends by itself; a late VOICE event is canceled.
    let status = |id: serenity::ScheduledEventId| {
        let events = fake.events();
        let ev = events.iter().find(|e| e["id"] == id.to_string()).cloned();
        ev.map(|e| e["status"].clone())
    };
    fake.run_event_automation(at("2030-01-01T18:00:00Z"));
    assert_eq!(
        (status(ev.id), status(voice.id)),
        (Some(json!(2)), Some(json!(1)))
    );
    fake.run_event_automation(at("2030-01-02T21:00:00Z"));
    assert_eq!(
        (status(ev.id), status(voice.id)),
        (Some(json!(3)), Some(json!(4)))
    );
    let rename = json!({"name": "Rust 102"});
    let rename = http.edit_scheduled_event(guild, ev.id, &rename, None).await;
    assert_eq!(refusal(rename), (400, 180000));
    let listed = http.get_scheduled_events(guild, false).await.unwrap();
    let ids: Vec<_> = listed.iter().map(|e| e.id).collect();
    assert_eq!(ids, [ev.id, voice.id]);

    // At most 100 SCHEDULED or ACTIVE events per guild (the two above are over).
    for n in 0..100 {
        let ev = external(&format!("class {n}"));
        http.create_scheduled_event(guild, &ev, None).await.unwrap();
    }
    let one_more = external("class 100");
    let one_more = http.create_scheduled_event(guild, &one_more, None).await;
    assert_eq!(refusal(one_more), (400, 30038));
}

#[tokio::test]
async fn a_lost_response_still_does_the_work() {
    let fake = FakeDiscord::start(fixture()).await;
    let http = http(&fake, "fake-token");
    let general = ChannelId::new(GENERAL);
    let route = format!("/channels/{GENERAL}/messages");
    fake.fail(FailRule::once(Method::POST, &route, Failure::LostResponse));
    assert_eq!(refusal(general.say(&http, "once").await), (500, 0));
    assert_eq!(fake.requests().last().map(|r| r.status), Some(500));
    assert_eq!(fake.messages_in(GENERAL)[0]["content"], "once");
    general.say(&http, "twice").await.unwrap();

    // Listing, newest first, finds the message whose answer was lost.
    let contents = |list: Vec<serenity::Message>| {
        let texts = list.into_iter().map(|m| m.content);
        texts.collect::<Vec<_>>()
    };
    let all = http.get_messages(general, None, None).await.unwrap();
    assert_eq!(contents(all), ["twice", "once"]);
    let newest = http.get_messages(general, None, Some(1)).await.unwrap();
    assert_eq!(contents(newest), ["twice"]);
}

#[tokio::test]
async fn messages_beyond_discords_limits_are_refused() {
    let fake = FakeDiscord::start(fixture()).await;
    let http = http(&fake, "fake-token");
    let general = ChannelId::new(GENERAL);
    let embeds: Vec<Value> = (0..11).map(|n| json!({"title": n.to_string()})).collect();
    let users: Vec<String> = (0..101).map(|n| n.to_string()).collect();
    let too_much = [
        json!({"content": "x".repeat(2001)}),
        json!({"embeds": embeds}),
        json!({"content": "hi", "allowed_mentions": {"users": users}}),
    ];
    for body in too_much {
        let sent = http.send_message(general, vec![], &body).await;
        assert_eq!(refusal(sent), (400, 50035));
    }
    let ok = json!({"content": "x".repeat(2000)});
    let msg = http.send_message(general, vec![], &ok).await.unwrap();
    let long = json!({"content": "x".repeat(2001)});
    let edit = http.edit_message(general, msg.id, &long, vec![]);
    assert_eq!(refusal(edit.await), (400, 50035));
}
