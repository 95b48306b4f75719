//! Benchmark: the size of the database after 10,000 joins and 10,000 leaves (all on the first
//! day) and 30 days of stepped time after them, with retention on (the defaults: 30 days of
//! finished notifications, 400 days of activity) and off. Every simulated hour the real delivery
//! worker sends what is due (the host's join notices and reminders by email, written as .eml
//! files; DMs are off for the host so no Discord pacing slows the run) and the daily sweep runs
//! when a day has passed.
//!
//! `cargo bench --bench retention [-- JOINS]`

#[allow(dead_code)]
#[path = "../tests/it/support/mod.rs"]
mod support;

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use masterclass_bot::config::EmailSettings;
use masterclass_bot::discord::delivery::{DiscordPacer, SerenityDiscord};
use masterclass_bot::domain::{
    Caller, ChannelId, GuildId, MasterclassId, NoticeKind, RoleId, UserId,
};
use masterclass_bot::email::Mailer;
use masterclass_bot::notify::{Worker, WorkerSettings};
use masterclass_bot::service::{GuildSettingsChange, HostRequest, Retention, Service};
use masterclass_bot::store::{outbox, Db};
use serenity::all::HttpBuilder;
use std::path::Path;
use std::sync::Arc;
use support::fake_discord::{FakeDiscord, Fixture, GuildFixture};

const GUILD: GuildId = GuildId(800_000_000_000_000_001);
const HOST: UserId = UserId(700_000_000_000_000_001);
const HOST_ROLE: RoleId = RoleId(800_000_000_000_000_020);
const CHANNEL: ChannelId = ChannelId(800_000_000_000_000_010);
const MEMBERS: u64 = 700_000_000_000_100_000;
const DAYS: i64 = 30;

fn main() -> anyhow::Result<()> {
    let joins: u64 = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(10_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let on = Retention {
            outbox_days: Some(30),
            activity_days: Some(400),
        };
        let off = Retention {
            outbox_days: None,
            activity_days: None,
        };
        println!(
            "{joins} joins and {joins} leaves on days 0-1, then {DAYS} more days of stepped time"
        );
        let with = measure(joins, on).await?;
        let without = measure(joins, off).await?;
        for (name, size) in [("retention on ", &with), ("retention off", &without)] {
            println!(
                "{name}: file {:>6.2} MiB, in use {:>6.2} MiB, outbox {:>6} rows, activity {:>6} rows",
                mib(size.file),
                mib(size.in_use),
                size.outbox_rows,
                size.activity_rows
            );
        }
        println!(
            "ratio on/off: file {:.2}, in use {:.2}",
            with.file as f64 / without.file as f64,
            with.in_use as f64 / without.in_use as f64
        );
        Ok(())
    })
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

struct Size {
    file: u64,
    in_use: u64,
    outbox_rows: i64,
    activity_rows: i64,
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 8, 0, 0).unwrap()
}

async fn measure(joins: u64, retention: Retention) -> anyhow::Result<Size> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bench.db");
    let db = Db::open(&path, 4).await?;
    // As the bot runs it: the host's joins digested over 10 minutes.
    let service = Service::new(db.clone()).with_host_digest(Duration::minutes(10));
    let fake = FakeDiscord::start(
        Fixture::new(900_000_000_000_000_001, 900_000_000_000_000_002)
            .guild(GuildFixture::new(GUILD.0, "Mentors", HOST.0).member(HOST.0, "grace", &[])),
    )
    .await;
    let http = HttpBuilder::new("fake-token")
        .proxy(fake.base_url())
        .ratelimiter_disabled(true)
        .build();
    let discord = SerenityDiscord::new(Arc::new(http), DiscordPacer::new(48.0));
    let mail = Mailer::new(&EmailSettings {
        outbox_dir: dir.path().join("mail"),
        ..EmailSettings::default()
    })?;
    let worker = Worker::new(db.clone(), discord, mail, WorkerSettings::default());
    set_up_host(&service, &db).await?;

    // On the first day the host opens masterclasses a week ahead and members join them, each
    // leaving again an hour later; then the clock steps on, hour by hour, for 30 days.
    let per_hour = joins.div_ceil(24);
    let host = Caller {
        guild_id: GUILD,
        user_id: HOST,
        role_ids: vec![HOST_ROLE],
        is_admin: false,
    };
    let mut joined: Vec<(Caller, MasterclassId)> = Vec::new();
    let mut next_member = 0;
    // A day for the joins, a day for the last leaves to be swept too, then `DAYS`.
    for hour in 0..=(DAYS + 2) * 24 {
        let now = start() + Duration::hours(hour);
        for (member, id) in joined.drain(..) {
            service.leave(&member, id, now).await?;
        }
        if next_member < joins {
            let request = HostRequest {
                title: format!("Hour {hour}"),
                description: "A week from now.".into(),
                start: (now + Duration::days(7))
                    .format("%Y-%m-%d %H:%M")
                    .to_string(),
                duration_minutes: Some("60".into()),
                capacity: Some("1000".into()),
                ..HostRequest::default()
            };
            let new = service.prepare_host(&host, request, now).await?;
            let id = service.host(&host, new, now).await?.masterclass.id;
            for _ in 0..per_hour.min(joins - next_member) {
                let member = Caller {
                    guild_id: GUILD,
                    user_id: UserId(MEMBERS + next_member),
                    role_ids: vec![],
                    is_admin: false,
                };
                next_member += 1;
                service.join(&member, id, now).await?;
                joined.push((member, id));
            }
        }
        while worker.step(now).await?.claimed > 0 {}
        if let Some(swept) = service.sweep_if_due(retention, now).await? {
            if swept.notifications + swept.activity > 0 {
                eprintln!("  day {:>2}: swept {swept:?}", hour / 24);
            }
        }
    }

    let mut conn = db.begin().await?;
    let count = |table: &'static str| format!("SELECT COUNT(*) FROM {table}");
    let outbox_rows: i64 = sqlx::query_scalar(&count("outbox"))
        .fetch_one(&mut *conn)
        .await?;
    let activity_rows: i64 = sqlx::query_scalar(&count("activity"))
        .fetch_one(&mut *conn)
        .await?;
    let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
        .fetch_one(&mut *conn)
        .await?;
    let free: i64 = sqlx::query_scalar("PRAGMA freelist_count")
        .fetch_one(&mut *conn)
        .await?;
    let page_size: i64 = sqlx::query_scalar("PRAGMA page_size")
        .fetch_one(&mut *conn)
        .await?;
    conn.commit().await?;
    db.close().await;
    Ok(Size {
        file: file_size(&path),
        in_use: ((pages - free) * page_size) as u64,
        outbox_rows,
        activity_rows,
    })
}

/// The database file with its write-ahead log (both are on disk).
fn file_size(path: &Path) -> u64 {
    let wal = path.with_extension("db-wal");
    [path, wal.as_path()]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

/// Masterclasses on, the host with a verified address and DMs off.
async fn set_up_host(service: &Service, db: &Db) -> anyhow::Result<()> {
    let admin = Caller {
        guild_id: GUILD,
        user_id: UserId(1),
        role_ids: vec![],
        is_admin: true,
    };
    let change = GuildSettingsChange {
        enabled: Some(true),
        host_role_id: Some(HOST_ROLE),
        announcement_channel_id: Some(CHANNEL),
        ..Default::default()
    };
    service
        .update_guild_settings(&admin, change, start())
        .await?;
    service
        .request_email_code(GUILD, HOST, "grace@example.org", start())
        .await?;
    let mut conn = db.reader().acquire().await?;
    let code = outbox::all(&mut conn)
        .await?
        .into_iter()
        .find(|n| n.kind == NoticeKind::VerificationCode)
        .and_then(|n| n.payload["code"].as_str().map(str::to_owned))
        .expect("a code");
    drop(conn);
    service.verify_email(HOST, &code, start()).await?;
    service
        .set_notifications(HOST, Some(false), None, start())
        .await?;
    Ok(())
}
