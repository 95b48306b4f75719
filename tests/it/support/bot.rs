//! The real bot (serenity client + poise framework + our database) started against the fake
//! Discord, and the moves of its users. Shared by the end-to-end tests and the benchmarks.

use super::fake_discord::{
    ChannelKind, FakeDiscord, Fixture, GuildFixture, InteractionHandle, Recorded,
};
use masterclass_bot::app::App;
use masterclass_bot::config::{
    DatabaseSettings, DiscordSettings, EmailSettings, LogSettings, NotificationSettings,
    RetentionSettings, Secret, Settings,
};
use serde_json::{json, Value};
use std::time::Duration;
use tempfile::TempDir;
use tokio::sync::oneshot;

pub const T: Duration = Duration::from_secs(15);
pub const APP_ID: u64 = 910_000_000_000_000_001;
pub const BOT: u64 = 910_000_000_000_000_002;
pub const GUILD: u64 = 920_000_000_000_000_001;
pub const ANNOUNCE: u64 = 920_000_000_000_000_010;
pub const GENERAL: u64 = 920_000_000_000_000_011;
pub const VOICE: u64 = 920_000_000_000_000_012;
pub const MENTOR_ROLE: u64 = 920_000_000_000_000_020;
pub const ADMIN: u64 = 930_000_000_000_000_001;
pub const MENTOR: u64 = 930_000_000_000_000_002;
pub const GUEST_A: u64 = 930_000_000_000_000_003;
pub const GUEST_B: u64 = 930_000_000_000_000_004;
pub const MENTEE: u64 = 930_000_000_000_000_010; // MENTEE + n for n in 0..mentees
pub const OTHER_GUILD: u64 = 940_000_000_000_000_001;
pub const OTHER_CHANNEL: u64 = 940_000_000_000_000_010;
pub const OTHER_ADMIN: u64 = 940_000_000_000_000_002;

fn fixture(mentees: u64) -> Fixture {
    let mut guild = GuildFixture::new(GUILD, "Mentoring", ADMIN)
        .channel(ANNOUNCE, "masterclasses", ChannelKind::Text)
        .channel(GENERAL, "general", ChannelKind::Text)
        .channel(VOICE, "Classroom", ChannelKind::Voice)
        .role(MENTOR_ROLE, "Mentor", 0)
        .admin(ADMIN, "admin")
        .member(MENTOR, "mentor", &[MENTOR_ROLE])
        .member(GUEST_A, "guest-a", &[])
        .member(GUEST_B, "guest-b", &[]);
    for n in 0..mentees {
        guild = guild.member(MENTEE + n, &format!("mentee-{n}"), &[]);
    }
    let other = GuildFixture::new(OTHER_GUILD, "Elsewhere", OTHER_ADMIN)
        .channel(OTHER_CHANNEL, "general", ChannelKind::Text)
        .admin(OTHER_ADMIN, "other-admin");
    Fixture::new(APP_ID, BOT).guild(guild).guild(other)
}

pub fn settings(fake: &FakeDiscord, dir: &TempDir) -> Settings {
    Settings {
        discord: DiscordSettings {
            token: Secret::new("fake-token"),
            dev_guild_id: GUILD,
            api_proxy: fake.base_url(),
            max_requests_per_second: 48.0,
            archive_threads_after_hours: 24,
        },
        database: DatabaseSettings {
            path: dir.path().join("bot.db"),
            max_readers: 4,
        },
        email: EmailSettings {
            outbox_dir: dir.path().join("mail"),
            ..EmailSettings::default()
        },
        notifications: NotificationSettings {
            poll_interval_seconds: 3600,
            host_digest_minutes: 10,
            give_up_after_hours: 48,
            max_attempts: 5,
            backoff_base_seconds: 1,
            backoff_max_seconds: 60,
            batch_size: 50,
        },
        log: LogSettings {
            filter: "info".into(),
            format: Default::default(),
        },
        retention: RetentionSettings {
            outbox_days: 30,
            activity_days: 400,
        },
    }
}

pub struct TestBot {
    pub fake: FakeDiscord,
    pub dir: TempDir,
    /// Changes to the test settings (benchmarks use production-like retries).
    pub configure: fn(&mut Settings),
    pub app: Option<(
        oneshot::Sender<()>,
        tokio::task::JoinHandle<anyhow::Result<()>>,
    )>,
}

/// Starts the fake Discord and the real bot, and waits until its commands are registered.
pub async fn spawn_bot() -> TestBot {
    spawn_bot_with(10).await
}

/// The same with `mentees` members without roles (`MENTEE + n`).
pub async fn spawn_bot_with(mentees: u64) -> TestBot {
    spawn_bot_configured(mentees, |_| {}).await
}

/// The same with settings changed by `configure`.
pub async fn spawn_bot_configured(mentees: u64, configure: fn(&mut Settings)) -> TestBot {
    let fake = FakeDiscord::start(fixture(mentees)).await;
    let dir = tempfile::tempdir().unwrap();
    let mut bot = TestBot {
        fake,
        dir,
        configure,
        app: None,
    };
    bot.start().await;
    bot
}

impl TestBot {
    async fn start(&mut self) {
        crate::support::log::init();
        let mark = self.fake.mark();
        let mut settings = settings(&self.fake, &self.dir);
        (self.configure)(&mut settings);
        let app = App::build(&settings).await.expect("the bot builds");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        self.app = Some((stop, task));
        self.fake.wait_until_ready(T).await;
        let route = format!("/applications/{APP_ID}/guilds/{GUILD}/commands");
        self.fake
            .wait_for(
                "command registration",
                |r| r.seq >= mark && r.is("PUT", &route),
                T,
            )
            .await;
    }

    /// One number from the bot's database (read-only, beside the running bot).
    pub async fn count(&self, sql: &str) -> i64 {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(self.dir.path().join("bot.db"))
            .read_only(true);
        let mut conn = sqlx::ConnectOptions::connect(&options).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
    }

    /// Stops the bot (as SIGTERM would) and starts a new one on the same database.
    pub async fn restart(&mut self) {
        let (stop, task) = self.app.take().expect("running");
        stop.send(()).ok();
        tokio::time::timeout(T, task)
            .await
            .expect("stops in time")
            .unwrap()
            .expect("clean stop");
        self.start().await;
    }

    pub async fn command(&self, user: u64, sub: &str, options: Value) -> InteractionHandle {
        self.command_in(GENERAL, user, "masterclass", sub, options)
            .await
    }

    pub async fn command_in(
        &self,
        channel: u64,
        user: u64,
        name: &str,
        sub: &str,
        options: Value,
    ) -> InteractionHandle {
        let sub = (!sub.is_empty()).then_some(sub);
        self.fake
            .interact(self.fake.slash_command(channel, user, name, sub, options))
            .await
    }

    pub async fn click(&self, user: u64, custom_id: &str, message_id: u64) -> InteractionHandle {
        self.fake
            .interact(
                self.fake
                    .button_click(ANNOUNCE, user, custom_id, message_id),
            )
            .await
    }

    /// The ephemeral text of an interaction's answer (a message callback or, after a defer, the edit).
    pub async fn reply_text(&self, handle: &InteractionHandle) -> String {
        let callback = handle.callback(T).await;
        match callback.body["type"].as_u64() {
            Some(4) | Some(7) => callback.body["data"]["content"]
                .as_str()
                .unwrap_or("")
                .to_owned(),
            Some(5) | Some(6) => handle.original_edit(T).await.body["content"]
                .as_str()
                .unwrap_or("")
                .to_owned(),
            other => panic!("unexpected callback type {other:?}: {callback}"),
        }
    }

    /// The admin enables masterclasses, chooses the channel and the host role.
    pub async fn admin_setup(&self) {
        for (sub, options) in [
            ("enable", json!([])),
            (
                "channel",
                json!([{"name": "channel", "type": 7, "value": ANNOUNCE.to_string()}]),
            ),
            (
                "host-role",
                json!([{"name": "role", "type": 8, "value": MENTOR_ROLE.to_string()}]),
            ),
        ] {
            let h = self
                .command_in(GENERAL, ADMIN, "masterclass-admin", sub, options)
                .await;
            let text = self.reply_text(&h).await;
            assert!(text.starts_with("Saved."), "{sub}: {text}");
        }
    }

    /// The mentor runs /masterclass host, fills the form and presses Save.
    /// Returns the announcement message and the thread.
    pub async fn host(&self, title: &str, capacity: u32, guests: &[u64]) -> Hosted {
        let save_id = self.preview(title, capacity, guests).await;
        let mark = self.fake.mark();
        let save = self.click(MENTOR, &save_id, 1).await;
        let saved = self.reply_text(&save).await;
        let hosted = self.published(mark).await;
        // Save waits for the announcement and the thread, and links them.
        assert_eq!(
            saved,
            format!(
                "Saved! **{title}** is announced: https://discord.com/channels/{GUILD}/{ANNOUNCE}/{} \
                 Its discussion thread is <#{}>; the server event follows.",
                hosted.message_id, hosted.thread_id
            )
        );
        let edit = save.original_edit(T).await;
        assert_eq!(edit.body["embeds"], json!([]), "the preview is gone");
        assert_eq!(edit.body["components"], json!([]), "no buttons left");
        hosted
    }

    /// The announcement and thread the bot makes for a masterclass saved after `mark`.
    pub async fn published(&self, mark: usize) -> Hosted {
        let announcement = self
            .fake
            .wait_for(
                "the announcement",
                |r| {
                    r.seq >= mark
                        && r.status == 200
                        && r.is("POST", &format!("/channels/{ANNOUNCE}/messages"))
                },
                T,
            )
            .await;
        let thread = self
            .fake
            .wait_for(
                "the thread",
                |r| {
                    r.seq >= mark
                        && r.status == 200
                        && r.is("POST", &format!("/channels/{ANNOUNCE}/threads"))
                },
                T,
            )
            .await;
        let join_id = announcement.body["components"][0]["components"][0]["custom_id"]
            .as_str()
            .unwrap()
            .to_owned();
        Hosted {
            message_id: id(&announcement.response["id"]),
            thread_id: id(&thread.response["id"]),
            masterclass: join_id.trim_start_matches("mc:join:").to_owned(),
            announcement,
            thread,
        }
    }

    /// The mentor runs /masterclass host and fills the form; returns the Save button's id.
    pub async fn preview(&self, title: &str, capacity: u32, guests: &[u64]) -> String {
        let options: Value = match guests {
            [] => json!([]),
            [one] => json!([{"name": "guest", "type": 6, "value": one.to_string()}]),
            [one, rest @ ..] => {
                let mentions: Vec<String> = rest.iter().map(|g| format!("<@{g}>")).collect();
                json!([
                    {"name": "guest", "type": 6, "value": one.to_string()},
                    {"name": "guests", "type": 3, "value": mentions.join(" ")},
                ])
            }
        };
        let h = self.command(MENTOR, "host", options).await;
        let modal = h.callback(T).await;
        assert_eq!(modal.body["type"], 9, "a form opens: {modal}");
        let form_id = modal.body["data"]["custom_id"].as_str().unwrap().to_owned();
        let start = (chrono::Utc::now() + chrono::Duration::days(3))
            .format("%Y-%m-%d 18:00")
            .to_string();
        let capacity = capacity.to_string();
        let fields = [
            ("title", title),
            ("description", "Hands-on session @everyone"),
            ("start", start.as_str()),
            ("duration", "90"),
            ("capacity", capacity.as_str()),
        ];
        let submit = self
            .fake
            .interact(self.fake.modal_submit(GENERAL, MENTOR, &form_id, &fields))
            .await;
        let preview = submit.callback(T).await;
        assert_eq!(preview.body["type"], 4, "{preview}");
        assert_eq!(
            preview.body["data"]["flags"], 64,
            "the preview is ephemeral"
        );
        let save_id = preview.body["data"]["components"][0]["components"][0]["custom_id"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(save_id.starts_with("mc:save:"), "{save_id}");
        save_id
    }
}

pub struct Hosted {
    /// Our id of the masterclass (what autocomplete offers).
    pub masterclass: String,
    pub message_id: u64,
    pub thread_id: u64,
    pub announcement: Recorded,
    pub thread: Recorded,
}

pub fn id(value: &Value) -> u64 {
    value
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an id: {value}"))
}

/// The value of an embed field by name.
pub fn field(body: &Value, name: &str) -> String {
    body["embeds"][0]["fields"]
        .as_array()
        .and_then(|fields| fields.iter().find(|f| f["name"] == name))
        .and_then(|f| f["value"].as_str())
        .unwrap_or_default()
        .to_owned()
}
