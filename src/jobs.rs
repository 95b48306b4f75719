//! Scheduled upkeep: the daily retention sweep. The sweep remembers its last run in the
//! database, so a restart neither skips a day nor sweeps twice.

use crate::service::{Retention, Service};
use chrono::Utc;
use std::time::Duration;
use tokio::sync::watch;

/// How often the job looks whether a day has passed since the last sweep.
const LOOK_EVERY: Duration = Duration::from_secs(3600);

/// Sweeps once a day until `stop` turns true. A failed sweep is logged and tried again at the
/// next look.
pub async fn sweep_daily(service: Service, retention: Retention, mut stop: watch::Receiver<bool>) {
    loop {
        match service.sweep_if_due(retention, Utc::now()).await {
            Ok(Some(swept)) => tracing::info!(
                notifications = swept.notifications,
                activity = swept.activity,
                ?retention,
                "retention sweep deleted old notifications and activity"
            ),
            Ok(None) => {}
            Err(error) => {
                tracing::error!(error = %error, "retention sweep failed; trying again later")
            }
        }
        tokio::select! {
            () = tokio::time::sleep(LOOK_EVERY) => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
    }
}
