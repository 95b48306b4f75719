//! Benchmark: 500 Join clicks sent through the fake gateway as fast as it can send them, on a
//! masterclass of capacity 50. Prints p50 and p99 from dispatch to the interaction callback the
//! bot sends, and how many callbacks, seats and waitlist places there were.
//! `cargo bench --bench clicks`

#[allow(dead_code)]
#[path = "../tests/it/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};
use support::bot::{spawn_bot_with, MENTEE};

const CLICKS: u64 = 500;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::print_stdout)]
async fn main() {
    let bot = spawn_bot_with(CLICKS).await;
    bot.admin_setup().await;
    let hosted = bot.host("Benchmark", 50, &[]).await;
    let join = format!("mc:join:{}", hosted.masterclass);

    let mut sent = Vec::with_capacity(CLICKS as usize);
    for n in 0..CLICKS {
        let click =
            bot.fake
                .button_click(support::bot::ANNOUNCE, MENTEE + n, &join, hosted.message_id);
        let at = Instant::now();
        sent.push((bot.fake.interact(click).await, at));
    }
    let (mut latencies, mut answers, mut seats, mut waiting) = (Vec::new(), Vec::new(), 0, 0);
    for (handle, at) in &sent {
        let callback = handle.callback(Duration::from_secs(60)).await;
        latencies.push(callback.at.duration_since(*at));
        // The callback acknowledges (ephemeral, deferred); the answer edits it.
        let answer = handle.original_edit(Duration::from_secs(60)).await;
        answers.push(answer.at.duration_since(*at));
        let text = answer.body["content"].as_str().unwrap_or_default();
        if text.starts_with("You're in!") {
            seats += 1;
        } else if text.contains("on the waitlist") {
            waiting += 1;
        }
    }
    let mode = if cfg!(debug_assertions) {
        "debug build"
    } else {
        "release build"
    };
    println!("{CLICKS} Join clicks through the fake gateway, capacity 50, {mode}");
    report("dispatch -> interaction callback", latencies);
    report("dispatch -> answer (edit of the deferred reply)", answers);
    println!("callbacks: {} (goal {CLICKS}); attending: {seats} (goal 50); waitlisted: {waiting} (goal 450)", sent.len());
}

#[allow(clippy::print_stdout)]
fn report(what: &str, mut latencies: Vec<Duration>) {
    latencies.sort();
    let percentile =
        |p: f64| latencies[((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1)];
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{what}: p50 {:.1} ms, p99 {:.1} ms (goal p99 < 100 ms for the callback)",
        ms(percentile(0.5)),
        ms(percentile(0.99))
    );
}
