//! Benchmark: one server at scale. Seeds 50,000 masterclasses, 500,000 sign-ups and 1.5 million
//! pending notifications, then times what members and admins ask for through the use cases
//! (p50/p99 over many calls with varied inputs), the start-up release of claims, and the RSS.
//! `cargo bench --bench scale`

use chrono::{DateTime, Duration, Utc};
use masterclass_bot::calendar::{calendar_of, IcsEvent};
use masterclass_bot::domain::{Caller, GuildId, MasterclassId, UserId};
use masterclass_bot::service::{Service, SessionFilter};
use masterclass_bot::store::{connect_options, outbox, Db};
use sqlx::sqlite::SqlitePoolOptions;
use std::time::Instant;

const MASTERCLASSES: i64 = 50_000;
const SIGN_UPS_EACH: i64 = 10;
const PENDING: i64 = 1_500_000;
const CLAIMED: i64 = 2_000;
const GUILD: GuildId = GuildId(1);
/// A member signed up for 200 masterclasses (and hosting none).
const BUSY_MEMBER: UserId = UserId(9_999_999);
const HOSTS: i64 = 500;
const CALLS: usize = 200;

#[tokio::main]
#[allow(clippy::print_stdout)]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("scale.db");
    let now = Utc::now();
    let db = Db::open(&path, 4).await?;
    let seeding = Instant::now();
    seed(&path, now).await?;
    println!(
        "scale benchmark: {MASTERCLASSES} masterclasses, {} sign-ups, {PENDING} pending notifications in one server (seeded in {:.0} s)",
        MASTERCLASSES * SIGN_UPS_EACH + 200,
        seeding.elapsed().as_secs_f64()
    );
    let service = Service::new(db.clone());
    let admin = Caller {
        guild_id: GUILD,
        user_id: UserId(1),
        role_ids: vec![],
        is_admin: true,
    };

    report(
        "list",
        time(CALLS, |_| service.upcoming(GUILD, None, now)).await,
    );
    report(
        "list of one mentor",
        time(CALLS, |n| {
            service.upcoming(GUILD, Some(UserId(1000 + n as u64 % HOSTS as u64)), now)
        })
        .await,
    );
    let fragments = [
        "",
        "r",
        "ru",
        "rus",
        "rust",
        "python 4",
        "clinic 12",
        "workshop 4999",
        "zzz",
        "ops",
    ];
    report(
        "autocomplete",
        time(CALLS, |n| {
            service.search(GUILD, fragments[n % fragments.len()], now)
        })
        .await,
    );
    report(
        "sessions",
        time(CALLS, |_| {
            service.sessions(GUILD, BUSY_MEMBER, SessionFilter::Upcoming, now)
        })
        .await,
    );
    report(
        "participants",
        time(CALLS, |n| {
            service.participants(&admin, MasterclassId(1 + (n as i64 * 97) % MASTERCLASSES))
        })
        .await,
    );
    report(
        "calendar",
        time(CALLS, |_| async {
            let sessions = service
                .sessions(GUILD, BUSY_MEMBER, SessionFilter::Upcoming, now)
                .await?;
            let events: Vec<_> = sessions
                .iter()
                .map(|s| IcsEvent::of(&s.masterclass))
                .collect();
            Ok::<_, anyhow::Error>(calendar_of(&events).len())
        })
        .await,
    );
    report(
        "deliveries",
        time(CALLS, |_| service.delivery_problems(&admin, 20)).await,
    );

    // Start-up: a stopped worker left claims; the next one releases them.
    let mut releases = Vec::new();
    for round in 0..20 {
        claim_some(&path, round).await?;
        let started = Instant::now();
        let released = db
            .write(|conn| Box::pin(async move { outbox::release_claims(conn).await }))
            .await?;
        releases.push(started.elapsed());
        assert_eq!(released, CLAIMED as u64);
    }
    report("start-up claim release", releases);
    println!("rss: {} MB", rss_mb());
    db.close().await;
    Ok(())
}

/// Bulk rows straight into the file (set-up, not what is measured): one transaction.
async fn seed(path: &std::path::Path, now: DateTime<Utc>) -> anyhow::Result<()> {
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(connect_options(path))
        .await?;
    let mut tx = pool.begin().await?;
    let start = (now - Duration::days(180)).timestamp();
    // Half past, half ahead, 5 % cancelled; titles from a few words and a number.
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
         INSERT INTO masterclasses (guild_id, host_id, title, description, starts_at,
             duration_minutes, capacity, location, time_zone, reminder_offsets, status,
             announcement_channel_id, created_at)
         SELECT ?2, 1000 + i % ?3,
             CASE i % 5 WHEN 0 THEN 'Rust workshop ' WHEN 1 THEN 'Python clinic '
                 WHEN 2 THEN 'Career talk ' WHEN 3 THEN 'DevOps basics ' ELSE 'Design review ' END || i,
             'A session of the scale benchmark.', ?4 + i * 622, 60, 40, NULL, 'UTC', '[1440,15]',
             CASE WHEN i % 20 = 0 THEN 'cancelled' ELSE 'scheduled' END, 3, ?4
         FROM n",
    )
    .bind(MASTERCLASSES)
    .bind(GUILD.0 as i64)
    .bind(HOSTS)
    .bind(start)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?1 * ?2 - 1)
         INSERT INTO participants (masterclass_id, user_id, status, arrival, is_guest, joined_at)
         SELECT 1 + i / ?2, 100000 + (i * 7919) % 200000, 'attending', 1 + i, 0, ?3 FROM n
         WHERE true ON CONFLICT DO NOTHING",
    )
    .bind(MASTERCLASSES)
    .bind(SIGN_UPS_EACH)
    .bind(start)
    .execute(&mut *tx)
    .await?;
    // The busy member: 200 masterclasses spread over the year. (Arrivals are activity ids: the
    // sign-ups' activity entries are written with them.)
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
         INSERT INTO participants (masterclass_id, user_id, status, arrival, is_guest, joined_at)
         SELECT i * 249, ?1, 'attending', 10000000 + i, 0, ?2 FROM n
         WHERE true ON CONFLICT DO NOTHING",
    )
    .bind(BUSY_MEMBER.0 as i64)
    .bind(start)
    .execute(&mut *tx)
    .await?;
    // Pending reminders far ahead, and a few that ran into trouble.
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
         INSERT INTO outbox (guild_id, masterclass_id, recipient_id, channel, kind, payload,
             due_at, attempts, last_error, dedupe_key, created_at)
         SELECT ?2, 1 + i % ?3, 100000 + i % 200000, CASE i % 2 WHEN 0 THEN 'dm' ELSE 'email' END,
             'reminder', '{\"minutes_before\":1440}', ?4 + i,
             CASE WHEN i % 15000 = 0 THEN 3 ELSE 0 END,
             CASE WHEN i % 15000 = 0 THEN 'Discord is unreachable' END,
             'seed:' || i, ?4
         FROM n",
    )
    .bind(PENDING)
    .bind(GUILD.0 as i64)
    .bind(MASTERCLASSES)
    .bind(now.timestamp() + 86_400)
    .execute(&mut *tx)
    .await?;
    // The Discord side is in step: nothing for the sync worker.
    sqlx::query("UPDATE discord_sync SET due_at = NULL")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    sqlx::query("ANALYZE").execute(&pool).await?;
    pool.close().await;
    Ok(())
}

/// Claims `CLAIMED` pending rows, as a worker that then stopped would have.
async fn claim_some(path: &std::path::Path, round: i64) -> anyhow::Result<()> {
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(connect_options(path))
        .await?;
    sqlx::query("UPDATE outbox SET claimed_until = 1 WHERE id > ? AND id <= ?")
        .bind(round * CLAIMED)
        .bind((round + 1) * CLAIMED)
        .execute(&pool)
        .await?;
    pool.close().await;
    Ok(())
}

async fn time<F, Fut, T, E>(calls: usize, call: F) -> Vec<std::time::Duration>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
    E: std::fmt::Debug,
{
    let mut took = Vec::with_capacity(calls);
    for n in 0..calls {
        let started = Instant::now();
        call(n).await.expect("the call works");
        took.push(started.elapsed());
    }
    took
}

#[allow(clippy::print_stdout)]
fn report(what: &str, mut took: Vec<std::time::Duration>) {
    took.sort();
    let at = |p: f64| took[((took.len() as f64 * p).ceil() as usize).saturating_sub(1)];
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    println!(
        "{what}: p50 {:.2} ms, p99 {:.2} ms",
        ms(at(0.5)),
        ms(at(0.99))
    );
}

fn rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}
