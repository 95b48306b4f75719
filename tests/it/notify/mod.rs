//! The delivery worker end to end: real SQLite files, the in-process SMTP server, the fake
//! Discord behind a real serenity `Http`. The worker is stepped with a controlled clock; nothing
//! sleeps to wait for work.

mod admin;
mod crash;
mod digest;
mod dms;
mod emails;
mod outage;
mod reminders;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use masterclass_bot::config::{EmailSettings, SmtpSecurity};
use masterclass_bot::discord::delivery::{DiscordPacer, SerenityDiscord};
use masterclass_bot::domain::DiscordIds;
use masterclass_bot::domain::{
    ChannelId, EmailAddress, Masterclass, MasterclassId, NoticeKind, UserId,
};
use masterclass_bot::email::Mailer;
use masterclass_bot::notify::{DiscordPort, EmailPort, StepReport, Worker, WorkerSettings};
use masterclass_bot::service::HostRequest;
use masterclass_bot::store::outbox::Notice;
use masterclass_bot::store::settings;
use serde_json::Value;
use serenity::all::HttpBuilder;

use crate::helpers::{self, TestApp, ADMIN, ANNOUNCEMENTS, GUILD, MENTOR};
use crate::support::fake_discord::{ChannelKind, FakeDiscord, Fixture, GuildFixture, Recorded};
use crate::support::smtp::TestSmtp;

pub const THREAD: ChannelId = ChannelId(800_000_000_000_000_050);
pub const WAIT: Duration = Duration::from_secs(15);
const APP: u64 = 900_000_000_000_000_100;
const BOT: u64 = 900_000_000_000_000_101;

/// Members the fake Discord knows by name (others exist but have no name there).
pub const ADA: UserId = UserId(10_001);
pub const LINUS: UserId = UserId(10_002);
pub const BARBARA: UserId = UserId(10_003);

pub type TestWorker = Worker<SerenityDiscord, Mailer>;

/// A service on its own database, the fake Discord, an SMTP server and a worker on them.
pub struct Harness {
    pub app: TestApp,
    pub fake: FakeDiscord,
    pub smtp: TestSmtp,
    pub worker: TestWorker,
}

impl Harness {
    pub async fn start() -> Harness {
        Self::start_with(TestSmtp::start(), test_settings()).await
    }

    pub async fn start_with(smtp: TestSmtp, settings: WorkerSettings) -> Harness {
        let app = helpers::spawn_service().await;
        let fake = FakeDiscord::start(fixture()).await;
        let worker = new_worker(&app, &fake, smtp.port(), settings);
        Harness {
            app,
            fake,
            smtp,
            worker,
        }
    }

    /// The mentor hosts `request`; the masterclass gets its thread.
    pub async fn host(&self, request: HostRequest) -> Masterclass {
        let id = self.app.host(request).await.masterclass.id;
        self.give_thread(id).await
    }

    pub async fn give_thread(&self, id: MasterclassId) -> Masterclass {
        let ids = DiscordIds {
            thread_id: Some(THREAD),
            ..DiscordIds::default()
        };
        self.app.service.set_discord_ids(id, ids).await.unwrap();
        self.app
            .service
            .masterclass_in(GUILD, id)
            .await
            .expect("masterclass")
    }

    /// Gives `user` a verified address (as if they had entered the code).
    pub async fn verify_email(&self, user: UserId, address: &str) {
        let mut member = self.app.service.member_settings(user).await.unwrap();
        member.email = Some(EmailAddress::parse(address).unwrap());
        let mut tx = self.app.db.begin().await.unwrap();
        settings::save_member(&mut tx, &member, helpers::now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    /// Steps at `now` until nothing is due any more.
    pub async fn step_all(&self, now: DateTime<Utc>) -> StepReport {
        step_all(&self.worker, now).await
    }

    pub async fn rows(&self, kind: NoticeKind) -> Vec<Notice> {
        self.app
            .outbox()
            .await
            .into_iter()
            .filter(|n| n.kind == kind)
            .collect()
    }

    /// Messages the bot posted in the DM channel of `user`.
    pub fn dms_to(&self, user: UserId) -> Vec<Recorded> {
        let route = format!("/channels/{}/messages", self.fake.dm_channel_id(user.0));
        self.posts(&route)
    }

    pub fn thread_messages(&self) -> Vec<Recorded> {
        self.posts(&format!("/channels/{THREAD}/messages"))
    }

    fn posts(&self, route: &str) -> Vec<Recorded> {
        self.fake
            .requests()
            .into_iter()
            .filter(|r| r.is("POST", route) && r.status == 200)
            .collect()
    }

    /// `POST /users/@me/channels` for `user`.
    pub fn dm_channel_creations(&self, user: UserId) -> usize {
        self.fake
            .requests()
            .iter()
            .filter(|r| {
                r.is("POST", "/users/@me/channels") && r.body["recipient_id"] == user.to_string()
            })
            .count()
    }
}

/// A worker on the service's database and the fakes. A second one is a restart (empty caches).
pub fn new_worker(
    app: &TestApp,
    fake: &FakeDiscord,
    smtp_port: u16,
    settings: WorkerSettings,
) -> TestWorker {
    // Pacing is the benchmark's business; here it only must not slow the tests down.
    let discord = serenity_discord(fake, DiscordPacer::new(10_000.0));
    let mailer = Mailer::new(&smtp_settings(smtp_port)).expect("mailer");
    Worker::new(app.db.clone(), discord, mailer, settings)
}

/// The real serenity implementation, pointed at the fake.
pub fn serenity_discord(fake: &FakeDiscord, pacer: DiscordPacer) -> SerenityDiscord {
    let http = HttpBuilder::new("fake-token")
        .proxy(fake.base_url())
        .ratelimiter_disabled(true)
        .build();
    SerenityDiscord::new(Arc::new(http), pacer)
}

pub fn test_settings() -> WorkerSettings {
    WorkerSettings {
        backoff_base: Duration::from_secs(10),
        backoff_max: Duration::from_secs(3600),
        give_up_after: Duration::from_secs(48 * 3600),
        ..WorkerSettings::default()
    }
}

pub fn smtp_settings(port: u16) -> EmailSettings {
    EmailSettings {
        smtp_host: "127.0.0.1".into(),
        smtp_port: port,
        smtp_security: SmtpSecurity::Plain,
        from: "Masterclass Bot <bot@example.org>".into(),
        pool_max_size: 4,
        timeout_seconds: 5,
        ..EmailSettings::default()
    }
}

pub async fn step_all<D, M>(worker: &Worker<D, M>, now: DateTime<Utc>) -> StepReport
where
    D: DiscordPort + 'static,
    M: EmailPort + 'static,
{
    let mut total = StepReport::default();
    loop {
        let report = worker.step(now).await.expect("step");
        if report.claimed == 0 {
            return total;
        }
        total.claimed += report.claimed;
        total.delivered += report.delivered;
        total.voided += report.voided;
        total.retried += report.retried;
        total.failed += report.failed;
    }
}

fn fixture() -> Fixture {
    Fixture::new(APP, BOT).guild(
        GuildFixture::new(GUILD.0, "Mentors", ADMIN.0)
            .channel(ANNOUNCEMENTS.0, "masterclasses", ChannelKind::Text)
            .channel(THREAD.0, "rust-ownership", ChannelKind::Text)
            .member(MENTOR.0, "grace", &[])
            .member(ADA.0, "ada", &[])
            .member(LINUS.0, "linus", &[])
            .member(BARBARA.0, "barbara", &[]),
    )
}

/// The `allowed_mentions` a message was sent with.
pub fn allowed_mentions(message: &Recorded) -> (Vec<String>, Value) {
    let allowed = &message.body["allowed_mentions"];
    let users = allowed["users"]
        .as_array()
        .unwrap_or_else(|| panic!("no allowed_mentions.users in {message}"))
        .iter()
        .map(|u| u.as_str().map_or_else(|| u.to_string(), str::to_owned))
        .collect();
    (users, allowed["parse"].clone())
}
