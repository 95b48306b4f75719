//! Wiring: the database, the use cases, the Discord client, the notification worker and the
//! Discord sync worker, run until told to stop. The app owns every long-running task: if one
//! of them ends on its own (a bug), the app stops with an error, so the supervisor (Docker,
//! systemd) restarts it; nothing is lost, as all work resumes from the database.

use crate::config::Settings;
use crate::discord::{
    self,
    delivery::{DiscordPacer, RestError, SerenityDiscord},
    sync::{SyncSettings, SyncWorker},
};
use crate::email::Mailer;
use crate::jobs;
use crate::notify::{Worker, WorkerSettings};
use crate::service::{Retention, Service};
use crate::store::Db;
use anyhow::Context as _;
use serenity::http::{LightMethod, Request, Route};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// How long Discord may be unreachable at start-up before the bot gives up with a clear line.
const START_PATIENCE: Duration = Duration::from_secs(30);
/// How long shutting down may take: Docker kills after 10 s.
const STOP_PATIENCE: Duration = Duration::from_secs(7);

pub struct App {
    pub service: Service,
    db: Db,
    client: poise::serenity_prelude::Client,
    rest: Arc<SerenityDiscord>,
    worker: Worker<Arc<SerenityDiscord>, Mailer>,
    sync: SyncWorker,
    retention: Retention,
}

impl App {
    /// Opens the database (migrating it), builds the Discord client and both workers.
    /// Connects nothing yet.
    pub async fn build(settings: &Settings) -> anyhow::Result<App> {
        let db = Db::open(&settings.database.path, settings.database.max_readers).await?;
        let digest_minutes = settings.notifications.host_digest_minutes;
        let service = Service::new(db.clone())
            .with_host_digest(chrono::Duration::minutes(digest_minutes.into()));
        let mailer = Mailer::new(&settings.email).context("setting up email")?;
        let wake_worker = Arc::new(Notify::new());
        let wake_sync = Arc::new(Notify::new());
        let (published, _) = tokio::sync::broadcast::channel(256);
        let client = discord::client(
            &settings.discord,
            service.clone(),
            Arc::clone(&wake_worker),
            Arc::clone(&wake_sync),
            published.clone(),
        )
        .await
        .context("building the Discord client")?;
        // One pace for every REST request but the interaction endpoints (which Discord exempts
        // from its global limit): notifications and the Discord side share it.
        let rest = Arc::new(SerenityDiscord::new(
            Arc::clone(&client.http),
            DiscordPacer::new(settings.discord.max_requests_per_second),
        ));
        let notifications = &settings.notifications;
        let worker_settings = WorkerSettings::from_config(notifications);
        // The Discord side is retried for as long as a notification.
        let give_up_after = worker_settings.give_up_after;
        let worker = Worker::new(db.clone(), Arc::clone(&rest), mailer, worker_settings)
            .with_wake(Arc::clone(&wake_worker));
        let sync_settings = SyncSettings {
            max_attempts: notifications.max_attempts.max(1),
            give_up_after,
            backoff_base: Duration::from_secs(notifications.backoff_base_seconds.max(1)),
            backoff_max: Duration::from_secs(notifications.backoff_max_seconds.max(1)),
            archive_after: chrono::Duration::hours(
                settings.discord.archive_threads_after_hours.into(),
            ),
            ..SyncSettings::default()
        };
        let sync = SyncWorker::new(db.clone(), Arc::clone(&rest), sync_settings)
            .with_wakes(wake_sync, wake_worker)
            .with_published(published);
        Ok(App {
            service,
            db,
            client,
            rest,
            worker,
            sync,
            retention: settings.retention.retention(),
        })
    }

    /// Checks the token and that Discord answers, connects, delivers notifications, keeps the
    /// Discord side in step, and serves until `shutdown` completes; then stops within a few
    /// seconds whatever Discord does. Returns an error if anything stopped on its own.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let App {
            service,
            db,
            mut client,
            rest,
            worker,
            sync,
            retention,
        } = self;
        let mut shutdown = std::pin::pin!(shutdown);
        tokio::select! {
            checked = check_discord(&rest) => {
                if let Err(error) = checked {
                    db.close().await;
                    return Err(error);
                }
            }
            () = &mut shutdown => {
                tracing::info!("shutting down before connecting");
                db.close().await;
                return Ok(());
            }
        }
        let (stop, stopped) = watch::channel(false);
        let mut delivering = tokio::spawn(worker.run(stopped.clone()));
        let mut syncing = tokio::spawn(sync.run(stopped.clone()));
        let mut sweeping = tokio::spawn(jobs::sweep_daily(service, retention, stopped));
        let shards = client.shard_manager.clone();
        let mut gateway = tokio::spawn(async move { client.start().await });
        let outcome = tokio::select! {
            () = &mut shutdown => {
                tracing::info!("shutting down");
                Ok(())
            }
            ended = &mut gateway => Err(match ended {
                Ok(Ok(())) => anyhow::anyhow!("the Discord connection ended"),
                Ok(Err(error)) => anyhow::Error::new(error).context("Discord connection"),
                Err(error) => anyhow::anyhow!("the Discord connection task failed: {error}"),
            }),
            ended = &mut delivering => Err(anyhow::anyhow!("the notification worker stopped: {ended:?}")),
            ended = &mut syncing => Err(anyhow::anyhow!("the Discord sync worker stopped: {ended:?}")),
            ended = &mut sweeping => Err(anyhow::anyhow!("the retention job stopped: {ended:?}")),
            () = db.writer_stopped() => Err(anyhow::anyhow!("the database writer stopped")),
        };
        let _ = stop.send(true);
        let graceful = async {
            shards.shutdown_all().await;
            let _ = delivering.await;
            let _ = syncing.await;
            let _ = sweeping.await;
        };
        if tokio::time::timeout(STOP_PATIENCE, graceful).await.is_err() {
            tracing::warn!("some work did not stop in time; it resumes at the next start");
        }
        gateway.abort();
        db.close().await;
        outcome
    }
}

/// One clear answer before connecting: a refused token, or Discord unreachable for
/// [`START_PATIENCE`], stops the bot with a sentence naming the cause.
async fn check_discord(rest: &SerenityDiscord) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + START_PATIENCE;
    let mut pause = Duration::from_millis(500);
    loop {
        let request = Request::new(Route::UserMe, LightMethod::Get);
        let error = match rest.send(request).await {
            Ok(_) => return Ok(()),
            Err(RestError::Refused { status: 401, .. }) => anyhow::bail!(
                "Discord refused the bot token (401 Unauthorized): check MCB_DISCORD__TOKEN \
                 (Developer Portal → your application → Bot → Reset Token)"
            ),
            Err(error) => error,
        };
        if tokio::time::Instant::now() + pause > deadline {
            anyhow::bail!(
                "cannot reach Discord for {}s: {error}",
                START_PATIENCE.as_secs()
            );
        }
        tracing::warn!(%error, "Discord does not answer yet; trying again");
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM (docker stop).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
