//! Crashes, restarts and shutdown.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use chrono::{Duration, Utc};
use masterclass_bot::discord::delivery::{DiscordPacer, SerenityDiscord};
use masterclass_bot::domain::{Channel, ChannelId, GuildId, NoticeKind, UserId};
use masterclass_bot::email::Mailer;
use masterclass_bot::notify::{DiscordError, DiscordMessage, DiscordPort, Worker, WorkerSettings};
use masterclass_bot::service::HostRequest;
use masterclass_bot::store::Db;
use tokio::sync::watch;

use super::{new_worker, serenity_discord, smtp_settings, step_all, test_settings, Harness, WAIT};
use crate::helpers::{self, member, mentor, now, GUILD};
use crate::support::fake_discord::{FakeDiscord, Recorded};
use crate::support::smtp::TestSmtp;

/// The real port until `crash_after` sends have reached Discord; then the process "dies": sends
/// in flight reach Discord but never return (so they are never recorded), new ones never start.
struct CrashingDiscord {
    inner: SerenityDiscord,
    crash_after: usize,
    reached: AtomicUsize,
    crashed: watch::Sender<bool>,
}

impl CrashingDiscord {
    async fn guard<T>(&self, send: impl std::future::Future<Output = T>) -> T {
        if *self.crashed.borrow() {
            std::future::pending::<()>().await;
        }
        let result = send.await;
        if self.reached.fetch_add(1, Ordering::SeqCst) + 1 >= self.crash_after {
            self.crashed.send_replace(true);
        }
        if *self.crashed.borrow() {
            std::future::pending::<()>().await;
        }
        result
    }
}

impl DiscordPort for CrashingDiscord {
    async fn send_dm(&self, user: UserId, message: &DiscordMessage) -> Result<(), DiscordError> {
        self.guard(self.inner.send_dm(user, message)).await
    }
    async fn send_to_channel(
        &self,
        channel: ChannelId,
        message: &DiscordMessage,
    ) -> Result<(), DiscordError> {
        self.guard(self.inner.send_to_channel(channel, message))
            .await
    }
    async fn display_name(&self, guild: GuildId, user: UserId) -> Option<String> {
        self.inner.display_name(guild, user).await
    }
}

/// Cancels a masterclass of 200 attendees, crashes the worker after 60 of the DMs, restarts on
/// the same database; returns how many cancellation DMs each member got.
async fn crash_in_a_fan_out_of_200(concurrency: usize) -> HashMap<String, usize> {
    let settings = WorkerSettings {
        concurrency,
        ..test_settings()
    };
    let h = Harness::start_with(TestSmtp::start(), settings.clone()).await;
    let request = HostRequest {
        capacity: Some("250".into()),
        ..helpers::request("Rust ownership")
    };
    let mc = h.host(request).await;
    for n in 1..=200 {
        h.app.service.join(&member(n), mc.id, now()).await.unwrap();
    }
    h.step_all(now()).await;
    let mark = h.fake.mark();
    h.app
        .service
        .cancel(&mentor(GUILD), mc.id, "Grace is ill", now())
        .await
        .unwrap();

    let (crashed, mut crash) = watch::channel(false);
    let port = CrashingDiscord {
        inner: serenity_discord(&h.fake, DiscordPacer::new(10_000.0)),
        crash_after: 60,
        reached: AtomicUsize::new(0),
        crashed,
    };
    // The doomed worker has its own connections, as another process would.
    let path = h.app._dir.path().join("test.db");
    let doomed_db = Db::open(&path, 4).await.unwrap();
    let mailer = Mailer::new(&smtp_settings(h.smtp.port())).unwrap();
    let doomed = Arc::new(Worker::new(doomed_db, port, mailer, settings.clone()));
    let running = tokio::spawn({
        let doomed = Arc::clone(&doomed);
        async move { step_all(&doomed, now()).await }
    });
    tokio::time::timeout(WAIT, crash.wait_for(|crashed| *crashed))
        .await
        .expect("the worker crashes")
        .unwrap();
    running.abort();
    assert!(running.await.unwrap_err().is_cancelled());
    // The process is gone, and its connections with it (SQLite rolls back what they had open).
    drop(doomed);

    let restarted = new_worker(&h.app, &h.fake, h.smtp.port(), settings);
    restarted.resume_after_restart().await.unwrap();
    step_all(&restarted, now()).await;

    let cancelled = h.rows(NoticeKind::Cancelled).await;
    let dms: Vec<_> = cancelled
        .iter()
        .filter(|n| n.channel == Channel::Dm)
        .collect();
    assert_eq!(dms.len(), 200);
    assert!(dms.iter().all(|n| n.delivered_at.is_some()), "all recorded");
    cancellation_dms_per_member(&h.fake, mark)
}

fn cancellation_dms_per_member(fake: &FakeDiscord, mark: usize) -> HashMap<String, usize> {
    let mut per_member = HashMap::new();
    let sent = fake.requests().into_iter().filter(|r: &Recorded| {
        r.seq >= mark
            && r.is("POST", "/channels/*/messages")
            && r.status == 200
            && r.body["content"]
                .as_str()
                .is_some_and(|c| c.contains("was cancelled"))
            && !r.body["content"]
                .as_str()
                .unwrap()
                .starts_with("This masterclass")
    });
    for request in sent {
        *per_member.entry(request.path.clone()).or_default() += 1;
    }
    per_member
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_mid_fan_out_costs_at_most_one_duplicate() {
    let per_member = crash_in_a_fan_out_of_200(1).await;

    assert_eq!(per_member.len(), 200, "every member got the cancellation");
    let duplicates: usize = per_member.values().map(|n| n - 1).sum();
    assert_eq!(
        duplicates, 1,
        "the one DM cut off between sending and recording"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_deliveries_in_parallel_a_crash_duplicates_at_most_those_in_flight() {
    let concurrency = 4;
    let per_member = crash_in_a_fan_out_of_200(concurrency).await;

    assert_eq!(per_member.len(), 200, "every member got the cancellation");
    assert!(
        per_member.values().all(|&n| n <= 2),
        "never more than once again"
    );
    let duplicates: usize = per_member.values().map(|n| n - 1).sum();
    assert!(duplicates <= concurrency, "{duplicates} duplicates");
}

/// Waits until the fake saw `count` requests matching `pred` (no sleeping: each turn waits for
/// the next request).
async fn wait_for_count(fake: &FakeDiscord, count: usize, pred: impl Fn(&Recorded) -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let requests = fake.requests();
        if requests.iter().filter(|r| pred(r)).count() >= count {
            return;
        }
        let next = requests.len();
        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
        fake.wait_for("the next request", |r| r.seq >= next, remaining)
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_delivers_when_poked_and_finishes_what_is_in_flight_on_shutdown() {
    let settings = WorkerSettings {
        poll_interval: std::time::Duration::from_secs(60),
        ..test_settings()
    };
    let h = Harness::start_with(TestSmtp::start(), settings.clone()).await;
    // `run` reads the real clock: this masterclass is a week from now.
    let real_now = Utc::now();
    h.app.enable(GUILD).await;
    let request = HostRequest {
        start: (real_now + Duration::days(7)).to_rfc3339(),
        capacity: Some("40".into()),
        ..helpers::request("Rust ownership")
    };
    let new = h
        .app
        .service
        .prepare_host(&mentor(GUILD), request, real_now)
        .await
        .unwrap();
    let mc = h
        .app
        .service
        .host(&mentor(GUILD), new, real_now)
        .await
        .unwrap()
        .masterclass;
    h.give_thread(mc.id).await;
    for n in 1..=20 {
        h.app
            .service
            .join(&member(n), mc.id, real_now)
            .await
            .unwrap();
    }
    // Paced like Discord, so the fan-out below takes a while.
    let discord = serenity_discord(&h.fake, DiscordPacer::new(50.0));
    let mailer = Mailer::new(&smtp_settings(h.smtp.port())).unwrap();
    let worker = Worker::new(h.app.db.clone(), discord, mailer, settings);
    let wake = worker.wake();
    let (stop, stopped) = watch::channel(false);
    let running = tokio::spawn(worker.run(stopped));
    let is_dm_post = |r: &Recorded, text: &str| {
        r.is("POST", "/channels/*/messages")
            && r.body["content"].as_str().is_some_and(|c| c.contains(text))
    };
    // The host hears of each join by DM (the joiners saw Discord's answer on screen).
    wait_for_count(&h.fake, 20, |r| is_dm_post(r, "joined your masterclass")).await;

    let cancelled_at = Utc::now();
    h.app
        .service
        .cancel(&mentor(GUILD), mc.id, "Grace is ill", cancelled_at)
        .await
        .unwrap();
    wake.notify_one(); // The poll interval is a minute: only the poke brings it sooner.
    wait_for_count(&h.fake, 1, |r| is_dm_post(r, "was cancelled.\nReason")).await;
    stop.send_replace(true);
    tokio::time::timeout(WAIT, running)
        .await
        .expect("the worker stops")
        .unwrap();

    let dms: Vec<_> = h
        .rows(NoticeKind::Cancelled)
        .await
        .into_iter()
        .filter(|n| n.channel == Channel::Dm)
        .collect();
    assert_eq!(dms.len(), 20);
    assert!(
        dms.iter().all(|n| n.delivered_at.is_some()),
        "the fan-out in flight was finished: {:?}",
        dms.iter()
            .filter(|n| n.delivered_at.is_none())
            .map(|n| (n.id, n.attempts, &n.last_error, n.voided_at, n.due_at))
            .collect::<Vec<_>>()
    );
    let mut conn = h.app.db.reader().acquire().await.unwrap();
    let claimed: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE claimed_until IS NOT NULL")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_eq!(claimed, 0, "nothing left claimed");
}

/// A Discord port with a bug: every send panics.
struct PanickingDiscord;

impl DiscordPort for PanickingDiscord {
    async fn send_dm(&self, _: UserId, _: &DiscordMessage) -> Result<(), DiscordError> {
        panic!("a bug in the Discord port")
    }
    async fn send_to_channel(&self, _: ChannelId, _: &DiscordMessage) -> Result<(), DiscordError> {
        panic!("a bug in the Discord port")
    }
    async fn display_name(&self, _: GuildId, _: UserId) -> Option<String> {
        None
    }
}

#[tokio::test]
async fn a_panicking_lane_stops_the_worker_so_the_app_restarts() {
    let h = Harness::start().await;
    // The worker runs on the real clock: a masterclass still ahead of it.
    let real_now = Utc::now();
    h.app.enable(GUILD).await;
    let request = HostRequest {
        start: (real_now + Duration::days(7)).to_rfc3339(),
        ..helpers::request("Rust ownership")
    };
    let host = mentor(GUILD);
    let new = h.app.service.prepare_host(&host, request, real_now).await;
    let hosted = h.app.service.host(&host, new.unwrap(), real_now).await;
    let mc = h.give_thread(hosted.unwrap().masterclass.id).await;
    h.app
        .service
        .join(&member(1), mc.id, real_now)
        .await
        .unwrap();
    let mailer = Mailer::new(&smtp_settings(h.smtp.port())).unwrap();
    let worker = Worker::new(h.app.db.clone(), PanickingDiscord, mailer, test_settings());
    let wake = worker.wake();
    // Nobody asks it to stop: it must end by itself, not deliver email while Discord is stuck.
    let (_keep_running, running) = watch::channel(false);
    let run = tokio::spawn(worker.run(running));
    wake.notify_one();
    tokio::time::timeout(WAIT, run)
        .await
        .expect("the worker stops by itself")
        .expect("and reports it instead of panicking itself");
}
