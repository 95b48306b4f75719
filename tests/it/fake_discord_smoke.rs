//! Proves the fake Discord works with real serenity + poise: gateway (identify, resume,
//! restart), interactions of every kind, REST shapes, and failure injection.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use poise::serenity_prelude as serenity;
use serde_json::json;
use serenity::{
    ChannelId, CreateActionRow, CreateButton, CreateInteractionResponse,
    CreateInteractionResponseMessage, CreateMessage, CreateScheduledEvent, CreateThread,
    EditScheduledEvent, GuildId, HttpError, ScheduledEventId, ScheduledEventType, UserId,
};

use crate::support::fake_discord::{
    ChannelKind, FailRule, Failure, FakeDiscord, Fixture, GuildFixture, Method,
};

const APP: u64 = 900_000_000_000_000_001;
const BOT: u64 = 900_000_000_000_000_002;
const GUILD: u64 = 800_000_000_000_000_001;
const GENERAL: u64 = 800_000_000_000_000_010;
const STAGE: u64 = 800_000_000_000_000_011;
const MENTOR_ROLE: u64 = 800_000_000_000_000_020;
const ALICE: u64 = 700_000_000_000_000_001; // admin
const BOB: u64 = 700_000_000_000_000_002; // mentor
const T: Duration = Duration::from_secs(15);

type Error = Box<dyn std::error::Error + Send + Sync>;
type Ctx<'a> = poise::Context<'a, Data, Error>;

/// What the bot's handlers observed, for assertions.
#[derive(Clone, Default)]
struct Data {
    seen: Arc<Mutex<Vec<String>>>,
}

fn fixture() -> Fixture {
    Fixture::new(APP, BOT).guild(
        GuildFixture::new(GUILD, "Mentors", ALICE)
            .channel(GENERAL, "general", ChannelKind::Text)
            .channel(STAGE, "stage", ChannelKind::Stage)
            .role(MENTOR_ROLE, "Mentor", 0)
            .admin(ALICE, "alice")
            .member(BOB, "bob", &[MENTOR_ROLE]),
    )
}

#[poise::command(slash_command, subcommands("ping", "slow"))]
async fn demo(_ctx: Ctx<'_>) -> Result<(), Error> {
    Ok(())
}

#[poise::command(slash_command)]
async fn ping(ctx: Ctx<'_>) -> Result<(), Error> {
    ctx.send(
        poise::CreateReply::default()
            .content("pong")
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

/// Defers, edits the original response, then sends a followup.
#[poise::command(slash_command)]
async fn slow(ctx: Ctx<'_>) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    if let poise::Context::Application(app) = ctx {
        let edit = serenity::EditInteractionResponse::new().content("working");
        app.interaction.edit_response(ctx, edit).await?;
    }
    ctx.say("done").await?;
    Ok(())
}

async fn complete_topic(_ctx: Ctx<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    let topics = ["rust", "ruby", "go"]
        .into_iter()
        .filter(|t| t.starts_with(partial));
    serenity::CreateAutocompleteResponse::new()
        .set_choices(topics.map(serenity::AutocompleteChoice::from).collect())
}

#[poise::command(slash_command)]
async fn pick(
    ctx: Ctx<'_>,
    who: serenity::Member,
    room: serenity::GuildChannel,
    #[autocomplete = "complete_topic"] topic: Option<String>,
) -> Result<(), Error> {
    ctx.data()
        .seen
        .lock()
        .unwrap()
        .push(format!("pick {} {} {topic:?}", who.user.id, room.id));
    ctx.say(format!("picked {} in {}", who.user.name, room.name))
        .await?;
    Ok(())
}

#[poise::command(context_menu_command = "Masterclasses")]
async fn masterclasses(ctx: Ctx<'_>, user: serenity::User) -> Result<(), Error> {
    ctx.say(format!("classes of {}", user.id)).await?;
    Ok(())
}

/// Buttons get an UPDATE_MESSAGE (7), modals a CHANNEL_MESSAGE (4).
async fn on_event(ctx: &serenity::Context, event: &serenity::FullEvent) -> Result<(), Error> {
    let serenity::FullEvent::InteractionCreate { interaction } = event else {
        return Ok(());
    };
    let msg = CreateInteractionResponseMessage::new;
    match interaction {
        serenity::Interaction::Component(c) => {
            let text = format!("clicked {} by {}", c.data.custom_id, c.user.id);
            c.create_response(
                ctx,
                CreateInteractionResponse::UpdateMessage(msg().content(text)),
            )
            .await?
        }
        serenity::Interaction::Modal(m) => {
            let serenity::ActionRowComponent::InputText(input) =
                &m.data.components[0].components[0]
            else {
                return Err("not a text input".into());
            };
            let text = format!(
                "{}={}",
                input.custom_id,
                input.value.clone().unwrap_or_default()
            );
            m.create_response(ctx, CreateInteractionResponse::Message(msg().content(text)))
                .await?
        }
        _ => {}
    }
    Ok(())
}

struct Bot {
    http: Arc<serenity::Http>,
    shards: Arc<serenity::ShardManager>,
    cache: Arc<serenity::Cache>,
    task: tokio::task::JoinHandle<Result<(), serenity::Error>>,
}

/// A real serenity client + poise framework pointed at the fake.
async fn start_bot(fake: &FakeDiscord, data: Data) -> Bot {
    let http = serenity::HttpBuilder::new("fake-token")
        .proxy(fake.base_url())
        .ratelimiter_disabled(true)
        .build();
    let options = poise::FrameworkOptions {
        commands: vec![demo(), pick(), masterclasses()],
        event_handler: |framework, event| Box::pin(on_event(framework.serenity_context, event)),
        ..Default::default()
    };
    let framework = poise::Framework::builder()
        .options(options)
        .initialize_owners(false)
        .setup(move |ctx, _ready, framework| {
            Box::pin(async move {
                let commands = &framework.options().commands;
                poise::builtins::register_in_guild(ctx, commands, GuildId::new(GUILD)).await?;
                Ok(data)
            })
        })
        .build();
    let mut client =
        serenity::ClientBuilder::new_with_http(http, serenity::GatewayIntents::non_privileged())
            .framework(framework)
            .await
            .expect("client");
    let (http, shards, cache) = (
        client.http.clone(),
        client.shard_manager.clone(),
        client.cache.clone(),
    );
    let task = tokio::spawn(async move { client.start().await });
    Bot {
        http,
        shards,
        cache,
        task,
    }
}

/// Starts a bot and waits until poise's setup registered the commands.
async fn start_ready_bot(fake: &FakeDiscord, data: Data) -> Bot {
    let mark = fake.mark();
    let bot = start_bot(fake, data).await;
    fake.wait_until_ready(T).await;
    let route = format!("/applications/{APP}/guilds/{GUILD}/commands");
    fake.wait_for(
        "guild command registration",
        |r| r.seq >= mark && r.is("PUT", &route),
        T,
    )
    .await;
    bot
}

async fn ping_pong(fake: &FakeDiscord) {
    let handle = fake
        .interact(fake.slash_command(GENERAL, BOB, "demo", Some("ping"), json!([])))
        .await;
    let cb = handle.callback(T).await;
    assert_eq!(cb.body["type"], 4, "{cb}");
    assert_eq!(cb.body["data"]["content"], "pong");
    assert_eq!(cb.body["data"]["flags"], 64);
}

fn http_error(e: serenity::Error) -> serenity::ErrorResponse {
    match e {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(resp)) => resp,
        other => panic!("expected an HTTP error response, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_serenity_and_poise_run_against_the_fake() {
    let fake = FakeDiscord::start(fixture()).await;
    let data = Data::default();
    let bot = start_ready_bot(&fake, data.clone()).await;
    assert_eq!(fake.identifies().len(), 1);
    let registered = fake.registered_commands(Some(GUILD));
    let names: Vec<_> = registered
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["demo", "pick", "Masterclasses"]);

    // Slash subcommand, ephemeral reply.
    ping_pong(&fake).await;
    // GUILD_CREATE was fully understood (serenity skips bad channels with only a warning).
    let (channels, members, roles) = {
        let g = bot.cache.guild(GUILD).expect("guild cached");
        (g.channels.len(), g.members.len(), g.roles.len())
    };
    assert_eq!((channels, members, roles), (2, 3, 4)); // + bot member; + @everyone, Admin, bot role

    // Deferred response, edit of @original, followup.
    let slow = fake
        .interact(fake.slash_command(GENERAL, BOB, "demo", Some("slow"), json!([])))
        .await;
    let cb = slow.callback(T).await;
    assert_eq!(
        (cb.body["type"].as_u64(), cb.body["data"]["flags"].as_u64()),
        (Some(5), Some(64))
    );
    assert_eq!(slow.original_edit(T).await.body["content"], "working");
    assert_eq!(slow.followup(T).await.body["content"], "done");

    // User + channel options are parsed from `resolved`.
    let opts = json!([
        {"name": "who", "type": 6, "value": BOB.to_string()},
        {"name": "room", "type": 7, "value": STAGE.to_string()},
    ]);
    let cb = fake
        .interact(fake.slash_command(GENERAL, ALICE, "pick", None, opts))
        .await
        .callback(T)
        .await;
    assert_eq!(cb.body["data"]["content"], "picked bob in stage");
    assert_eq!(
        data.seen.lock().unwrap().as_slice(),
        [format!("pick {BOB} {STAGE} None")]
    );

    // Autocomplete answers with choices (type 8).
    let before = json!([{"name": "who", "type": 6, "value": BOB.to_string()}]);
    let ac = fake.autocomplete(GENERAL, BOB, "pick", None, before, "topic", "ru");
    let cb = fake.interact(ac).await.callback(T).await;
    assert_eq!(cb.body["type"], 8);
    assert_eq!(
        cb.body["data"]["choices"],
        json!([{"name": "rust", "value": "rust"}, {"name": "ruby", "value": "ruby"}])
    );

    // User context menu.
    let cb = fake
        .interact(fake.user_context_menu(GENERAL, ALICE, "Masterclasses", BOB))
        .await
        .callback(T)
        .await;
    assert_eq!(cb.body["data"]["content"], format!("classes of {BOB}"));

    // A bot message with a button (REST, recorded), then a click on it → UPDATE_MESSAGE.
    let button = CreateButton::new("rsvp").label("RSVP");
    let create = CreateMessage::new()
        .content("join?")
        .components(vec![CreateActionRow::Buttons(vec![button])]);
    let sent = ChannelId::new(GENERAL)
        .send_message(&bot.http, create)
        .await
        .expect("send_message");
    let post = fake
        .wait_for(
            "bot message",
            |r| r.is("POST", &format!("/channels/{GENERAL}/messages")),
            T,
        )
        .await;
    assert_eq!(post.body["content"], "join?");
    assert_eq!(
        post.body["components"][0]["components"][0]["custom_id"],
        "rsvp"
    );
    let cb = fake
        .interact(fake.button_click(GENERAL, BOB, "rsvp", sent.id.get()))
        .await
        .callback(T)
        .await;
    assert_eq!(cb.body["type"], 7);
    assert_eq!(
        fake.message(sent.id.get()).unwrap()["content"],
        format!("clicked rsvp by {BOB}")
    );

    // A button in a DM (interaction with `user`, no `member`).
    let dm_button = CreateButton::new("cancel").label("Cancel");
    let create = CreateMessage::new()
        .content("reminder")
        .components(vec![CreateActionRow::Buttons(vec![dm_button])]);
    let dm_msg = UserId::new(ALICE)
        .direct_message(&bot.http, create)
        .await
        .expect("DM");
    let click = fake.button_click(dm_msg.channel_id.get(), ALICE, "cancel", dm_msg.id.get());
    fake.interact(click).await.callback(T).await;
    assert_eq!(
        fake.message(dm_msg.id.get()).unwrap()["content"],
        format!("clicked cancel by {ALICE}")
    );

    // Modal submit → message.
    let modal = fake.modal_submit(GENERAL, BOB, "host-form", &[("title", "Intro to Rust")]);
    let cb = fake.interact(modal).await.callback(T).await;
    assert_eq!(
        (cb.body["type"].clone(), cb.body["data"]["content"].clone()),
        (json!(4), json!("title=Intro to Rust"))
    );

    // 429 with the ratelimiter disabled: serenity does NOT retry; the caller gets the error,
    // with status 429 and code -1 (the 429 body has no `code`; headers are not exposed).
    let say = format!("/channels/{GENERAL}/messages");
    fake.fail(FailRule::once(
        Method::POST,
        &say,
        Failure::RateLimited { retry_after: 0.1 },
    ));
    let mark = fake.mark();
    let e = http_error(
        ChannelId::new(GENERAL)
            .say(&bot.http, "hi")
            .await
            .expect_err("429 surfaces"),
    );
    assert_eq!((e.status_code.as_u16(), e.error.code), (429, -1), "{e:?}");
    assert_eq!(
        fake.requests()
            .iter()
            .filter(|r| r.seq >= mark && r.route() == say)
            .count(),
        1,
        "no retry"
    );
    ChannelId::new(GENERAL)
        .say(&bot.http, "hi")
        .await
        .expect("second attempt succeeds");

    // A DM to a user who closed DMs → 403 / 50007.
    fake.fail_dms_to(BOB);
    let dm = UserId::new(BOB)
        .direct_message(&bot.http, CreateMessage::new().content("reminder"))
        .await;
    let e = http_error(dm.expect_err("50007"));
    assert_eq!((e.status_code.as_u16(), e.error.code), (403, 50007));
    let dm_route = format!("/channels/{}/messages", fake.dm_channel_id(BOB));
    assert!(fake
        .requests()
        .iter()
        .any(|r| r.is("POST", &dm_route) && r.body["content"] == "reminder"));

    // Disconnect: the running client RESUMEs on a new connection and keeps working.
    fake.drop_gateway().await;
    fake.wait_until_ready(T).await;
    assert_eq!((fake.resumes(), fake.identifies().len()), (1, 1));
    ping_pong(&fake).await;

    // Restart: shut the client down, start a new one; it IDENTIFYs afresh.
    bot.shards.shutdown_all().await;
    bot.task.await.unwrap().expect("client stopped cleanly");
    let _bot2 = start_ready_bot(&fake, Data::default()).await;
    assert_eq!(fake.identifies().len(), 2);
    ping_pong(&fake).await;
}

/// Serenity's own HTTP methods deserialize every REST answer of the fake.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_answers_deserialize_in_serenity() {
    let fake = FakeDiscord::start(fixture()).await;
    let http = serenity::HttpBuilder::new("fake-token")
        .proxy(fake.base_url())
        .ratelimiter_disabled(true)
        .build();
    http.set_application_id(APP.into());
    let guild = GuildId::new(GUILD);
    let general = ChannelId::new(GENERAL);

    assert_eq!(http.get_current_user().await.unwrap().id, BOT);
    assert_eq!(
        http.get_current_application_info()
            .await
            .unwrap()
            .owner
            .unwrap()
            .id,
        ALICE
    );
    assert_eq!(http.get_bot_gateway().await.unwrap().shards, 1);
    assert_eq!(http.get_user(BOB.into()).await.unwrap().name, "bob");
    let member = guild.member(&http, BOB).await.unwrap();
    assert_eq!(member.roles, [serenity::RoleId::new(MENTOR_ROLE)]);
    assert_eq!(guild.to_partial_guild(&http).await.unwrap().name, "Mentors");
    assert_eq!(guild.channels(&http).await.unwrap().len(), 2);

    // Threads: standalone (private) and from a message (id = message id).
    let thread = general
        .create_thread(&http, CreateThread::new("Rust 101"))
        .await
        .unwrap();
    assert_eq!(
        (thread.kind, thread.parent_id),
        (serenity::ChannelType::PrivateThread, Some(general))
    );
    thread
        .id
        .add_thread_member(&http, BOB.into())
        .await
        .unwrap();
    assert_eq!(fake.thread_members(thread.id.get()), [BOB, BOT]);
    let msg = general.say(&http, "class thread").await.unwrap();
    let public = general
        .create_thread_from_message(&http, msg.id, CreateThread::new("Q&A"))
        .await
        .unwrap();
    assert_eq!(public.id.get(), msg.id.get());
    let archived = thread
        .id
        .edit_thread(&http, serenity::EditThread::new().archived(true))
        .await
        .unwrap();
    assert!(archived.thread_metadata.unwrap().archived);
    let edited = msg
        .channel_id
        .edit_message(&http, msg.id, serenity::EditMessage::new().content("v2"))
        .await
        .unwrap();
    assert_eq!(edited.content, "v2");
    assert_eq!(general.message(&http, msg.id).await.unwrap().content, "v2");

    // Attachments go multipart; the JSON part is parsed, files are kept.
    let file = serenity::CreateAttachment::bytes(b"BEGIN:VCALENDAR".to_vec(), "class.ics");
    let sent = general
        .send_message(&http, CreateMessage::new().content("cal").add_file(file))
        .await
        .unwrap();
    assert_eq!(
        (
            sent.attachments[0].filename.as_str(),
            sent.attachments[0].size
        ),
        ("class.ics", 15)
    );
    let r = fake.wait_for("upload", |r| !r.files.is_empty(), T).await;
    assert_eq!(
        (r.body["content"].as_str(), r.files[0].data.as_slice()),
        (Some("cal"), &b"BEGIN:VCALENDAR"[..])
    );

    // DM channels are stable per recipient.
    let dm = UserId::new(BOB).create_dm_channel(&http).await.unwrap();
    assert_eq!(dm.id.get(), fake.dm_channel_id(BOB));
    assert_eq!(dm.recipient.id, BOB);

    // Scheduled events.
    let start = serenity::Timestamp::parse("2030-01-01T18:00:00Z").unwrap();
    let create = CreateScheduledEvent::new(ScheduledEventType::StageInstance, "Rust 101", start)
        .channel_id(STAGE);
    let ev = guild.create_scheduled_event(&http, create).await.unwrap();
    assert_eq!(
        (ev.creator_id, ev.channel_id),
        (Some(BOT.into()), Some(STAGE.into()))
    );
    let edit = EditScheduledEvent::new().status(serenity::ScheduledEventStatus::Active);
    let ev = guild
        .edit_scheduled_event(&http, ev.id, edit)
        .await
        .unwrap();
    assert_eq!(ev.status, serenity::ScheduledEventStatus::Active);
    assert_eq!(
        guild
            .scheduled_event(&http, ev.id, false)
            .await
            .unwrap()
            .name,
        "Rust 101"
    );
    let missing = guild
        .scheduled_event(&http, ScheduledEventId::new(1), false)
        .await
        .unwrap_err();
    assert_eq!(http_error(missing).error.code, 10070);

    // Unknown routes are recorded and answered 404 / code 0.
    let e = http_error(guild.bans(&http, None, None).await.unwrap_err());
    assert_eq!((e.status_code.as_u16(), e.error.code), (404, 0));
    assert!(fake
        .requests()
        .iter()
        .any(|r| r.is("GET", &format!("/guilds/{GUILD}/bans"))));

    // Injected 500, then the global limiter.
    fake.fail(FailRule::once(Method::GET, "/users/", Failure::ServerError));
    assert_eq!(
        http_error(http.get_user(BOB.into()).await.unwrap_err())
            .status_code
            .as_u16(),
        500
    );
    fake.set_rate_limit(Some(2));
    let mut statuses = vec![];
    for _ in 0..4 {
        statuses.push(
            http.get_user(BOB.into())
                .await
                .map_err(|e| http_error(e).status_code.as_u16())
                .err(),
        );
    }
    assert_eq!(statuses, [None, None, Some(429), Some(429)]);
    assert_eq!(fake.rate_limited_count(), 2);
    let last = fake.requests().pop().unwrap();
    assert_eq!((last.status, &last.response["global"]), (429, &json!(true)));
}
