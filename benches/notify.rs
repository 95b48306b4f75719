//! Benchmark: a masterclass of 1,000 attendees (verified emails, DMs on) is cancelled and the
//! delivery worker fans the notice out.
//!
//! - Email: emails/s through the worker and the bot's pooled `Mailer`, against a plain lettre
//!   send loop to the same SMTP server (in process). Goal: ratio ≥ 0.8.
//! - Discord: the fake Discord answers 429 beyond 50 requests/s; the worker's pacing should get
//!   ≥ 45 requests/s through it and deliver all 1,000 DMs.
//!
//! `cargo bench --bench notify`

#[allow(dead_code)]
#[path = "../tests/it/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::Utc;
use futures::StreamExt as _;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use masterclass_bot::calendar::{masterclass_ics, IcsEvent, IcsMethod};
use masterclass_bot::config::{EmailSettings, SmtpSecurity};
use masterclass_bot::discord::delivery::{DiscordPacer, SerenityDiscord};
use masterclass_bot::domain::DiscordIds;
use masterclass_bot::domain::{
    Caller, ChannelId, EmailAddress, GuildId, Location, MemberSettings, NoticeKind, RoleId, UserId,
};
use masterclass_bot::email::Mailer;
use masterclass_bot::notify::templates::{render, EmailNotice, MasterclassView};
use masterclass_bot::notify::{Worker, WorkerSettings};
use masterclass_bot::service::{GuildSettingsChange, HostRequest, Service};
use masterclass_bot::store::{settings, Db};
use serenity::all::HttpBuilder;
use support::fake_discord::{ChannelKind, FakeDiscord, Fixture, GuildFixture};
use support::smtp::TestSmtp;
use tokio::sync::watch;

const ATTENDEES: u64 = 1000;
const DISCORD_LIMIT: u32 = 50;
const GUILD: GuildId = GuildId(800_000_000_000_000_001);
const THREAD: ChannelId = ChannelId(800_000_000_000_000_050);
const HOST: UserId = UserId(700_000_000_000_000_001);
const HOST_ROLE: RoleId = RoleId(800_000_000_000_000_020);
const WAIT: Duration = Duration::from_secs(180);

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let dir = tempfile::tempdir()?;
    runtime.block_on(run(&dir.path().join("bench.db")))
}

async fn run(path: &std::path::Path) -> anyhow::Result<()> {
    let db = Db::open(path, 4).await?;
    let service = Service::new(db.clone());
    let mc = cancellable_masterclass(&service, &db).await?;
    let smtp = TestSmtp::start();
    let fake = FakeDiscord::start(
        Fixture::new(900_000_000_000_000_001, 900_000_000_000_000_002).guild(
            GuildFixture::new(GUILD.0, "Mentors", HOST.0)
                .channel(THREAD.0, "masterclass", ChannelKind::Text)
                .member(HOST.0, "grace", &[HOST_ROLE.0]),
        ),
    )
    .await;

    // Baselines: the same email with plain lettre, one after the other as asked, and 4 at a time
    // like the worker. On loopback each email stalls ~40 ms (lettre's socket keeps Nagle on and
    // the receiver delays its ACK), so a sample is enough and keeps the run short.
    let plain_per_second = plain_lettre(smtp.port(), 1).await?;
    let plain_parallel_per_second = plain_lettre(smtp.port(), 4).await?;
    let sent_before = smtp.messages().len();

    // The worker: email through the bot's pooled Mailer, DMs through serenity to the fake.
    fake.set_rate_limit(Some(DISCORD_LIMIT));
    let http = HttpBuilder::new("fake-token")
        .proxy(fake.base_url())
        .ratelimiter_disabled(true)
        .build();
    let discord = SerenityDiscord::new(Arc::new(http), DiscordPacer::default());
    let mailer = Mailer::new(&smtp_settings(smtp.port()))?;
    let worker = Worker::new(db.clone(), discord, mailer, WorkerSettings::default());
    let wake = worker.wake();
    let (stop, stopped) = watch::channel(false);
    let running = tokio::spawn(worker.run(stopped));

    let mark = fake.mark();
    let host = Caller {
        guild_id: GUILD,
        user_id: HOST,
        role_ids: vec![HOST_ROLE],
        is_admin: false,
    };
    let started = Instant::now();
    service
        .cancel(&host, mc, "The host is ill", Utc::now())
        .await?;
    wake.notify_one();
    smtp.wait_for_messages(sent_before + ATTENDEES as usize, WAIT)
        .await;
    let worker_per_second = ATTENDEES as f64 / started.elapsed().as_secs_f64();

    let dms = wait_for_cancellation_dms(&db, started).await?;
    let dm_seconds = started.elapsed().as_secs_f64();
    stop.send_replace(true);
    running.await?;
    let requests = fake.requests();
    let answered = requests[mark..].iter().filter(|r| r.status != 429).count();

    println!(
        "notify benchmark: cancel a masterclass of {ATTENDEES} attendees (verified emails, DMs on)"
    );
    println!("email, plain lettre send loop:     {plain_per_second:>8.1} emails/s");
    println!("email, plain lettre, 4 at a time:  {plain_parallel_per_second:>8.1} emails/s");
    println!(
        "email, worker + pooled Mailer:     {worker_per_second:>8.1} emails/s ({ATTENDEES} emails)"
    );
    println!(
        "ratio to the send loop (goal >= 0.8): {:>5.2}   (to 4 at a time: {:.2})",
        worker_per_second / plain_per_second,
        worker_per_second / plain_parallel_per_second
    );
    println!("Discord, DMs delivered:            {dms:>8} of {ATTENDEES}");
    println!(
        "Discord, requests/s:               {:>8.1} (limit {DISCORD_LIMIT}/s, goal >= {:.0}; {answered} requests in {dm_seconds:.1} s, {} answered 429)",
        answered as f64 / dm_seconds,
        0.9 * f64::from(DISCORD_LIMIT),
        fake.rate_limited_count()
    );
    db.close().await;
    Ok(())
}

/// A masterclass a week ahead with 1,000 attendees who verified an email address; the
/// notifications of their joins are out of the way.
async fn cancellable_masterclass(
    service: &Service,
    db: &Db,
) -> anyhow::Result<masterclass_bot::domain::MasterclassId> {
    let now = Utc::now();
    let admin = Caller {
        guild_id: GUILD,
        user_id: UserId(1),
        role_ids: vec![],
        is_admin: true,
    };
    let change = GuildSettingsChange {
        enabled: Some(true),
        host_role_id: Some(HOST_ROLE),
        announcement_channel_id: Some(ChannelId(3)),
        ..Default::default()
    };
    service.update_guild_settings(&admin, change, now).await?;
    let host = Caller {
        guild_id: GUILD,
        user_id: HOST,
        role_ids: vec![HOST_ROLE],
        is_admin: false,
    };
    let request = HostRequest {
        title: "Rust ownership".into(),
        description: "Borrowing and lifetimes, with live coding.".into(),
        start: (now + chrono::Duration::days(7)).to_rfc3339(),
        capacity: Some(ATTENDEES.to_string()),
        location: Some(Location::url("https://meet.example.org/rust")?),
        ..HostRequest::default()
    };
    let new = service.prepare_host(&host, request, now).await?;
    let mc = service.host(&host, new, now).await?.masterclass.id;
    let thread = DiscordIds {
        thread_id: Some(THREAD),
        ..DiscordIds::default()
    };
    service.set_discord_ids(mc, thread).await?;

    let mut tx = db.begin().await?;
    for n in 0..ATTENDEES {
        let member = MemberSettings {
            email: Some(EmailAddress::parse(&format!("member{n}@example.org"))?),
            ..MemberSettings::defaults(attendee(n))
        };
        settings::save_member(&mut tx, &member, now).await?;
    }
    tx.commit().await?;
    for n in 0..ATTENDEES {
        let member = Caller {
            guild_id: GUILD,
            user_id: attendee(n),
            role_ids: vec![],
            is_admin: false,
        };
        service.join(&member, mc, now).await.context("join")?;
    }
    // Not part of the measurement: the join notifications.
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE outbox SET voided_at = ?1 WHERE due_at <= ?1 AND delivered_at IS NULL")
        .bind(now.timestamp())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(mc)
}

fn attendee(n: u64) -> UserId {
    UserId(700_000_000_000_010_000 + n)
}

fn smtp_settings(port: u16) -> EmailSettings {
    EmailSettings {
        smtp_host: "127.0.0.1".into(),
        smtp_port: port,
        smtp_security: SmtpSecurity::Plain,
        from: "Masterclass Bot <bot@example.org>".into(),
        ..EmailSettings::default()
    }
}

/// Emails in a baseline sample.
const SAMPLE: u64 = 200;

/// What a plain program would do: one pooled lettre transport sending the bot's cancellation
/// email (text, HTML, calendar), `in_flight` at a time. Returns emails/s over `SAMPLE` emails.
async fn plain_lettre(port: u16, in_flight: u64) -> anyhow::Result<f64> {
    let start = Utc::now() + chrono::Duration::days(7);
    let view = MasterclassView {
        title: "Rust ownership".into(),
        host_name: "grace".into(),
        description: "Borrowing and lifetimes, with live coding.".into(),
        start_utc: start,
        duration_minutes: 60,
        time_zone: chrono_tz::UTC,
        location: Some("https://meet.example.org/rust".into()),
        location_url: Some("https://meet.example.org/rust".into()),
        thread_url: Some(format!("https://discord.com/channels/{GUILD}/{THREAD}")),
    };
    let mut notice = EmailNotice::new(NoticeKind::Cancelled, "there", Some(view));
    notice.reason = Some("The host is ill".into());
    let email = render(&notice)?;
    let event = IcsEvent {
        uid: "masterclass-1@masterclass-bot".into(),
        sequence: 1,
        title: "Rust ownership".into(),
        description: "Borrowing and lifetimes, with live coding.".into(),
        start,
        end: start + chrono::Duration::hours(1),
        location: Some("https://meet.example.org/rust".into()),
        url: None,
        organizer_name: Some("grace".into()),
        organizer_email: Some("bot@example.org".into()),
        attendee_email: None,
        cancelled: true,
    };
    let ics = masterclass_ics(&event, IcsMethod::Cancel);
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(port)
        .build();
    let send = |n: u64| {
        let (transport, email, ics) = (transport.clone(), email.clone(), ics.clone());
        async move {
            let calendar = ContentType::parse("text/calendar; method=CANCEL")?;
            let message = Message::builder()
                .from("Masterclass Bot <bot@example.org>".parse()?)
                .to(format!("sample{n}@example.org").parse()?)
                .subject(email.subject.as_str())
                .multipart(
                    MultiPart::mixed()
                        .multipart(MultiPart::alternative_plain_html(email.text, email.html))
                        .singlepart(Attachment::new("masterclass.ics".into()).body(ics, calendar)),
                )?;
            transport.send(message).await?;
            anyhow::Ok(())
        }
    };
    let started = Instant::now();
    let mut sends =
        futures::stream::iter((0..SAMPLE).map(send)).buffer_unordered(in_flight as usize);
    while let Some(sent) = sends.next().await {
        sent?;
    }
    Ok(SAMPLE as f64 / started.elapsed().as_secs_f64())
}

/// Waits until every cancellation DM is recorded as delivered (checked every 20 ms: a benchmark
/// may poll), and returns how many were.
async fn wait_for_cancellation_dms(db: &Db, started: Instant) -> anyhow::Result<i64> {
    loop {
        let mut conn = db.reader().acquire().await?;
        let delivered: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbox WHERE kind = 'cancelled' AND channel = 'dm' AND delivered_at IS NOT NULL",
        )
        .fetch_one(&mut *conn)
        .await?;
        if delivered >= ATTENDEES as i64 || started.elapsed() > WAIT {
            return Ok(delivered);
        }
        drop(conn);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
