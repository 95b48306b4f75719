//! Wiring: the database, the use cases, the Discord client, run until told to stop.

use crate::config::Settings;
use crate::discord;
use crate::service::Service;
use crate::store::Db;
use anyhow::Context as _;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::Notify;

pub struct App {
    pub service: Service,
    client: poise::serenity_prelude::Client,
}

impl App {
    /// Opens the database (migrating it) and builds the Discord client. Connects nothing yet.
    pub async fn build(settings: &Settings) -> anyhow::Result<App> {
        let db = Db::open(&settings.database.path, settings.database.max_readers).await?;
        let service = Service::new(db);
        let wake_worker = Arc::new(Notify::new());
        let client = discord::client(&settings.discord, service.clone(), wake_worker)
            .await
            .context("building the Discord client")?;
        Ok(App { service, client })
    }

    /// Connects to Discord and serves until `shutdown` completes, then closes cleanly.
    pub async fn run_until(
        mut self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let shards = self.client.shard_manager.clone();
        let stopper = tokio::spawn(async move {
            shutdown.await;
            tracing::info!("shutting down");
            shards.shutdown_all().await;
        });
        let result = self.client.start().await.context("Discord connection");
        stopper.abort();
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
