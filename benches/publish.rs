//! Benchmark: the Discord side of masterclasses, through the real bot and the fake Discord
//! (which answers 429 beyond 50 requests/s, as Discord does).
//!
//! 1. 100 hostings one after another: time from the click on Save to the announcement, the
//!    thread and the scheduled event all created (p50/p99).
//! 2. A Discord outage (every REST route but the interaction endpoints answers 500) while 100
//!    members click Join: time from the end of the outage until thread members and the
//!    announcement's counts are right again. `BENCH_OUTAGE_SECONDS` sets its length (30).
//!
//! `cargo bench --bench publish`

#[allow(dead_code)]
#[path = "../tests/it/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};
use support::bot::{spawn_bot_configured, TestBot, ANNOUNCE, GUILD, MENTEE, MENTOR};
use support::fake_discord::{FailRule, Failure, Method, Recorded};

const HOSTINGS: usize = 100;
const JOINERS: u64 = 100;
const WAIT: Duration = Duration::from_secs(300);

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::print_stdout)]
async fn main() {
    // Production's retry policy (the tests' gives up quickly).
    let bot = spawn_bot_configured(JOINERS, |settings| {
        settings.notifications.max_attempts = 8;
        settings.notifications.backoff_base_seconds = 1;
        settings.notifications.backoff_max_seconds = 10;
    })
    .await;
    bot.fake.set_rate_limit(Some(50));
    bot.admin_setup().await;
    let mode = if cfg!(debug_assertions) {
        "debug build"
    } else {
        "release build"
    };
    println!("publish benchmark ({mode}), Discord allowing 50 requests/s");

    let mut published = Vec::with_capacity(HOSTINGS);
    for n in 0..HOSTINGS {
        let title = format!("Bench {n}");
        let save_id = bot.preview(&title, 200, &[]).await;
        let mark = bot.fake.mark();
        let clicked = Instant::now();
        bot.click(MENTOR, &save_id, 1).await;
        let done = all_three(&bot, mark, &title).await;
        published.push(done.duration_since(clicked));
    }
    report(
        &format!("{HOSTINGS} hostings, Save -> announcement + thread + event"),
        published,
    );

    let outage = std::env::var("BENCH_OUTAGE_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30u64);
    let hosted = bot.host("Outage", 200, &[]).await;
    let join = format!("mc:join:{}", hosted.masterclass);
    for path in ["/channels/", "/guilds/", "/users/"] {
        for method in [Method::POST, Method::PATCH, Method::PUT, Method::DELETE] {
            bot.fake
                .fail(FailRule::always(method, path, Failure::ServerError));
        }
    }
    let down = Instant::now();
    let mut clicks = Vec::new();
    for n in 0..JOINERS {
        clicks.push(bot.click(MENTEE + n, &join, hosted.message_id).await);
    }
    for click in &clicks {
        click.original_edit(WAIT).await;
    }
    tokio::time::sleep(Duration::from_secs(outage).saturating_sub(down.elapsed())).await;
    bot.fake.clear_failures();
    let back = Instant::now();
    let seats = format!("{JOINERS}/200");
    let in_step = |bot: &TestBot| {
        let members = bot.fake.thread_members(hosted.thread_id).len() as u64;
        let counts = bot
            .fake
            .message(hosted.message_id)
            .map(|m| m.to_string().contains(&seats))
            .unwrap_or(false);
        // The bot itself, the host and every joiner.
        members == JOINERS + 2 && counts
    };
    wait_until(&bot, in_step).await;
    println!(
        "{JOINERS} joins during a {outage} s outage: in step {:.1} s after Discord came back",
        back.elapsed().as_secs_f64()
    );
    println!("requests answered 429: {}", bot.fake.rate_limited_count());
}

/// When the last of the masterclass's announcement, thread and event was created.
async fn all_three(bot: &TestBot, mark: usize, title: &str) -> Instant {
    let created = |route: String, matches: Box<dyn Fn(&Recorded) -> bool + Send + Sync>| {
        let fake = bot.fake.clone();
        async move {
            fake.wait_for(
                "a create",
                move |r| r.seq >= mark && r.status == 200 && r.is("POST", &route) && matches(r),
                WAIT,
            )
            .await
            .at
        }
    };
    let title = title.to_owned();
    let (t1, t2, t3) = (title.clone(), title.clone(), title);
    let (announcement, thread, event) = tokio::join!(
        created(
            format!("/channels/{ANNOUNCE}/messages"),
            Box::new(move |r| r.body["embeds"][0]["title"] == t1.as_str())
        ),
        created(
            format!("/channels/{ANNOUNCE}/threads"),
            Box::new(move |r| r.body["name"] == t2.as_str())
        ),
        created(
            format!("/guilds/{GUILD}/scheduled-events"),
            Box::new(move |r| r.body["name"] == t3.as_str())
        ),
    );
    announcement.max(thread).max(event)
}

/// Waits for `done`, looking again at every request the bot makes.
async fn wait_until(bot: &TestBot, done: impl Fn(&TestBot) -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done(bot) {
        assert!(Instant::now() < deadline, "not in step after {WAIT:?}");
        let next = bot.fake.mark();
        bot.fake.wait_for("progress", |r| r.seq >= next, WAIT).await;
    }
}

#[allow(clippy::print_stdout)]
fn report(what: &str, mut latencies: Vec<Duration>) {
    latencies.sort();
    let percentile =
        |p: f64| latencies[((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1)];
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{what}: p50 {:.1} ms, p99 {:.1} ms",
        ms(percentile(0.5)),
        ms(percentile(0.99))
    );
}
