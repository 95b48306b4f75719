//! Benchmark: joins/s through the join use case against raw single-row INSERT transactions/s
//! on the same SQLite file and pragmas. `cargo bench --bench joins [-- JOINS]`

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
    let service = Service::new(db.clone());
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
    let new = service.prepare_host(&host, request, now).await?;
    let id = service.host(&host, new, now).await?.masterclass.id;

    // Joins: half take a seat (writing reminders), half go to the waitlist.
    let started = Instant::now();
    for n in 0..joins {
        let member = Caller {
            guild_id: guild,
            user_id: UserId(1000 + n),
            role_ids: vec![],
            is_admin: false,
        };
        service.join(&member, id, now).await.context("join")?;
    }
    let joins_per_sec = joins as f64 / started.elapsed().as_secs_f64();
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
    tracing_free_report(joins, joins_per_sec, inserts_per_sec, mode);
    Ok(())
}

/// A benchmark's output is its product: plain lines on stdout.
#[allow(clippy::print_stdout)]
fn tracing_free_report(joins: u64, joins_per_sec: f64, inserts_per_sec: f64, mode: &str) {
    println!("{joins} joins, SQLite WAL + synchronous=FULL, {mode}");
    println!("joins/s through the use case:        {joins_per_sec:>10.0}");
    println!("raw single-row INSERT transactions/s: {inserts_per_sec:>10.0}");
    println!(
        "ratio (goal >= 0.5):                  {:>10.2}",
        joins_per_sec / inserts_per_sec
    );
}
