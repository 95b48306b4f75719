//! Benchmark: joins/s through the join use case against raw single-row INSERT transactions/s
//! on the same SQLite file and pragmas: one member after another, and members clicking at once
//! (where group commit lets one fsync serve many joins). `cargo bench --bench joins [-- JOINS]`

use anyhow::Context as _;
use chrono::{Duration, Utc};
use masterclass_bot::domain::{Caller, ChannelId, GuildId, RoleId, UserId};
use masterclass_bot::service::{GuildSettingsChange, HostRequest, Service};
use masterclass_bot::store::{connect_options, Db};
use sqlx::sqlite::SqlitePoolOptions;
use std::time::Instant;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // `cargo bench` passes flags such as `--bench`; the first number is the join count.
    let joins: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2000);
    let dir = tempfile::tempdir()?;
    run(&dir.path().join("bench.db"), joins).await
}

async fn run(path: &std::path::Path, joins: u64) -> anyhow::Result<()> {
    let db = Db::open(path, 4).await?;
    // As the bot runs it: host notices digested over 10 minutes.
    let service = Service::new(db.clone()).with_host_digest(Duration::minutes(10));
    let now = Utc::now();
    let guild = GuildId(1);
    let admin = Caller {
        guild_id: guild,
        user_id: UserId(1),
        role_ids: vec![],
        is_admin: true,
    };
    let settings = GuildSettingsChange {
        enabled: Some(true),
        host_role_id: Some(RoleId(2)),
        announcement_channel_id: Some(ChannelId(3)),
        ..Default::default()
    };
    service.update_guild_settings(&admin, settings, now).await?;
    let host = Caller {
        role_ids: vec![RoleId(2)],
        ..admin
    };
    let request = HostRequest {
        title: "Benchmark".into(),
        description: "Joins per second".into(),
        start: (now + Duration::days(7)).to_rfc3339(),
        capacity: Some("1000".into()),
        ..Default::default()
    };
    let member = |n: u64| Caller {
        guild_id: guild,
        user_id: UserId(1000 + n),
        role_ids: vec![],
        is_admin: false,
    };

    // One after another: half take a seat (writing reminders), half go to the waitlist.
    let new = service.prepare_host(&host, request.clone(), now).await?;
    let id = service.host(&host, new, now).await?.masterclass.id;
    let started = Instant::now();
    for n in 0..joins {
        service.join(&member(n), id, now).await.context("join")?;
    }
    let sequential = joins as f64 / started.elapsed().as_secs_f64();

    // All at once, as a burst of clicks on a fresh masterclass.
    let new = service.prepare_host(&host, request, now).await?;
    let id = service.host(&host, new, now).await?.masterclass.id;
    let started = Instant::now();
    let burst: Vec<_> = (0..joins)
        .map(|n| {
            let service = service.clone();
            let member = member(n);
            tokio::spawn(async move { service.join(&member, id, now).await })
        })
        .collect();
    for join in burst {
        join.await?.context("join")?;
    }
    let concurrent = joins as f64 / started.elapsed().as_secs_f64();
    db.close().await;

    // Raw: one INSERT per transaction, same file, same pragmas, one connection.
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(connect_options(path))
        .await?;
    sqlx::query("CREATE TABLE raw_bench (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)")
        .execute(&pool)
        .await?;
    let started = Instant::now();
    for n in 0..joins {
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("INSERT INTO raw_bench (value) VALUES (?)")
            .bind(n as i64)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    let inserts_per_sec = joins as f64 / started.elapsed().as_secs_f64();
    pool.close().await;

    let mode = if cfg!(debug_assertions) {
        "debug build"
    } else {
        "release build"
    };
    report(joins, sequential, concurrent, inserts_per_sec, mode);
    Ok(())
}

/// A benchmark's output is its product: plain lines on stdout.
#[allow(clippy::print_stdout)]
fn report(joins: u64, sequential: f64, concurrent: f64, inserts: f64, mode: &str) {
    println!("{joins} joins, SQLite WAL + synchronous=FULL, {mode}");
    println!("raw single-row INSERT transactions/s:      {inserts:>8.0}");
    println!(
        "joins/s, one member after another:         {sequential:>8.0}   ratio {:.2}",
        sequential / inserts
    );
    println!(
        "joins/s, all members clicking at once:     {concurrent:>8.0}   ratio {:.2}",
        concurrent / inserts
    );
    println!("(goal: ratio >= 0.5)");
}
