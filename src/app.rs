//! Wiring: the database, the use cases, the Discord client and the notification worker, run
//! until told to stop.

use crate::config::Settings;
use crate::discord::{
    self,
    delivery::{DiscordPacer, SerenityDiscord},
};
use crate::email::Mailer;
use crate::notify::{Worker, WorkerSettings};
use crate::service::Service;
use crate::store::Db;
use anyhow::Context as _;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::{watch, Notify};

pub struct App {
    pub service: Service,
    client: poise::serenity_prelude::Client,
    worker: Worker<SerenityDiscord, Mailer>,
}

impl App {
    /// Opens the database (migrating it), builds the Discord client and the delivery worker.
    /// Connects nothing yet.
    pub async fn build(settings: &Settings) -> anyhow::Result<App> {
        let db = Db::open(&settings.database.path, settings.database.max_readers).await?;
        let service = Service::new(db.clone());
        let mailer = Mailer::new(&settings.email).context("setting up email")?;
        let wake_worker = Arc::new(Notify::new());
        let client = discord::client(&settings.discord, service.clone(), Arc::clone(&wake_worker))
            .await
            .context("building the Discord client")?;
        let discord = SerenityDiscord::new(
            Arc::clone(&client.http),
            DiscordPacer::new(settings.discord.max_requests_per_second),
        );
        let worker = Worker::new(
            db,
            discord,
            mailer,
            WorkerSettings::from_config(&settings.notifications),
        )
        .with_wake(wake_worker);
        Ok(App {
            service,
            client,
            worker,
        })
    }

    /// Connects to Discord, delivers notifications, and serves until `shutdown` completes; then
    /// disconnects, lets in-flight deliveries finish, and closes the database.
    pub async fn run_until(
        mut self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_worker, worker_stopped) = watch::channel(false);
        let delivering = tokio::spawn(self.worker.run(worker_stopped));
        let shards = self.client.shard_manager.clone();
        let stopper = tokio::spawn(async move {
            shutdown.await;
            tracing::info!("shutting down");
            shards.shutdown_all().await;
        });
        let result = self.client.start().await.context("Discord connection");
        stopper.abort();
        let _ = stop_worker.send(true);
        if let Err(error) = delivering.await {
            tracing::error!(%error, "the delivery worker ended abnormally");
        }
        self.service.db().close().await;
        result
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
