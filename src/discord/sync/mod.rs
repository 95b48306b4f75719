//! The sync worker: makes Discord show what the database says, the way a controller reconciles
//! desired and actual state. For each masterclass: the announcement (embed, counts, buttons),
//! its thread (name, open/archived/locked, members = host + attendees) and its scheduled event
//! (fields and status).
//!
//! - A change marks its masterclass due in its own transaction (triggers in the migrations, so
//!   no use case can forget it); [`SyncWorker::step`] claims due masterclasses, reconciles each from the database (many
//!   changes become one edit) and records the outcome. [`SyncWorker::run`] repeats that until
//!   shut down, and resumes at start-up.
//! - Every create is idempotent across a crash: the intent is stored before the request, the id
//!   as soon as it is known; a masterclass with an intent but no id looks for its object first
//!   (the announcement by its buttons, the thread and event by name, place and owner).
//! - Failures are retried with backoff and jitter; Discord's rate limits are waited out without
//!   counting. The masterclass is given up until its next change after `max_attempts` errors,
//!   or once `give_up_after` has passed since its first failure (rate limits included, so a
//!   route Discord rate-limits for ever still ends), and admins see it in
//!   `/masterclass-admin deliveries`.
//! - Order Discord enforces is kept here: the thread is unarchived before members change; a
//!   cancelled masterclass's thread is archived and locked only once every post owed to it
//!   (the reason, stand-in mentions for refused DMs) is settled.

mod parts;

use super::delivery::{RestError, SerenityDiscord};
use crate::domain::MasterclassId;
use crate::retry::Budget;
use crate::store::{sync, Db};
use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// How the worker paces itself.
#[derive(Clone, Debug)]
pub struct SyncSettings {
    /// The longest nap between two looks at the database.
    pub poll_interval: Duration,
    /// Errors (rate limits aside) before a masterclass is given up until its next change.
    pub max_attempts: u32,
    /// How long a masterclass that keeps failing is retried, from its first failure since it was
    /// last in step or changed (errors and rate limits alike); then it is given up until its next
    /// change. Rate limits never count as attempts: without it, a route Discord rate-limits for
    /// ever would be retried for ever.
    pub give_up_after: Duration,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    pub batch_size: u32,
    /// How long a claim holds a masterclass.
    pub lease: Duration,
    /// Masterclasses reconciled at once (requests share the process's one pace anyway).
    pub concurrency: usize,
    /// A thread is archived this long after its masterclass ends.
    pub archive_after: chrono::Duration,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(30),
            max_attempts: 8,
            give_up_after: Duration::from_secs(48 * 3600),
            backoff_base: Duration::from_secs(5),
            backoff_max: Duration::from_secs(600),
            batch_size: 25,
            lease: Duration::from_secs(10 * 60),
            concurrency: 4,
            archive_after: chrono::Duration::hours(24),
        }
    }
}

/// What one step did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub claimed: usize,
    pub in_step: usize,
    pub retried: usize,
    pub failed: usize,
}

/// Why a masterclass is not in step yet.
#[derive(Debug)]
pub(crate) enum SyncError {
    /// Discord asked us to wait: does not count as an attempt.
    RateLimited(Duration),
    /// Worth retrying with backoff (network, 5xx, our own database, or a refusal an admin can fix).
    Retry(String),
}

impl From<RestError> for SyncError {
    fn from(error: RestError) -> Self {
        match error {
            RestError::RateLimited { retry_after } => SyncError::RateLimited(retry_after),
            other => SyncError::Retry(other.to_string()),
        }
    }
}

impl From<anyhow::Error> for SyncError {
    fn from(error: anyhow::Error) -> Self {
        SyncError::Retry(format!("database: {error:#}"))
    }
}

impl From<sqlx::Error> for SyncError {
    fn from(error: sqlx::Error) -> Self {
        SyncError::Retry(format!("database: {error}"))
    }
}

/// Brings Discord in step with the database.
pub struct SyncWorker {
    pub(crate) db: Db,
    pub(crate) discord: Arc<SerenityDiscord>,
    pub(crate) settings: SyncSettings,
    wake: Arc<Notify>,
    /// Poked when a thread appears: invitations were waiting for its link.
    deliveries: Arc<Notify>,
    /// Told of every masterclass brought in step (Save waits there to link the result).
    published: Option<tokio::sync::broadcast::Sender<MasterclassId>>,
    pub(crate) bot_user: tokio::sync::OnceCell<u64>,
    /// Whether a channel is a stage (its event type depends on it).
    pub(crate) stages: std::sync::Mutex<std::collections::HashMap<u64, bool>>,
}

impl SyncWorker {
    pub fn new(db: Db, discord: Arc<SerenityDiscord>, settings: SyncSettings) -> Self {
        Self {
            db,
            discord,
            settings,
            wake: Arc::new(Notify::new()),
            deliveries: Arc::new(Notify::new()),
            published: None,
            bot_user: tokio::sync::OnceCell::new(),
            stages: Default::default(),
        }
    }

    /// `wake` is poked after a change (interaction handlers); `deliveries` is the notification
    /// worker's, poked when a thread appears.
    pub fn with_wakes(mut self, wake: Arc<Notify>, deliveries: Arc<Notify>) -> Self {
        self.wake = wake;
        self.deliveries = deliveries;
        self
    }

    /// Tells `published` of every masterclass brought in step.
    pub fn with_published(
        mut self,
        published: tokio::sync::broadcast::Sender<MasterclassId>,
    ) -> Self {
        self.published = Some(published);
        self
    }

    pub fn wake(&self) -> Arc<Notify> {
        Arc::clone(&self.wake)
    }

    /// Frees the claims a previous process left (one worker runs per database).
    pub async fn resume_after_restart(&self) -> anyhow::Result<u64> {
        let released = self
            .db
            .write(|conn| Box::pin(async move { sync::release_claims(conn).await }))
            .await?;
        if released > 0 {
            tracing::info!(
                released,
                "Discord syncs claimed by a previous run are due again"
            );
        }
        Ok(released)
    }

    /// Reconciles the masterclasses due at `now` and records each outcome.
    pub async fn step(&self, now: DateTime<Utc>) -> anyhow::Result<SyncReport> {
        let lease = chrono::Duration::from_std(self.settings.lease)?;
        let limit = i64::from(self.settings.batch_size);
        let claims = self
            .db
            .write(move |conn| {
                Box::pin(async move { sync::claim_due(conn, now, lease, limit).await })
            })
            .await?;
        let mut report = SyncReport {
            claimed: claims.len(),
            ..SyncReport::default()
        };
        let outcomes: Vec<anyhow::Result<Outcome>> = futures::stream::iter(claims)
            .map(|claim| async move {
                let result = self.reconcile(claim.masterclass_id, now).await;
                self.record(claim, result, now).await
            })
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect()
            .await;
        for outcome in outcomes {
            match outcome? {
                Outcome::InStep => report.in_step += 1,
                Outcome::Retried => report.retried += 1,
                Outcome::Failed => report.failed += 1,
            }
        }
        Ok(report)
    }

    /// Steps until nothing is due at `now` any more (tests and start-up convergence).
    pub async fn step_until_idle(&self, now: DateTime<Utc>) -> anyhow::Result<SyncReport> {
        let mut total = SyncReport::default();
        loop {
            let report = self.step(now).await?;
            total.claimed += report.claimed;
            total.in_step += report.in_step;
            total.retried += report.retried;
            total.failed += report.failed;
            if report.claimed == 0 {
                return Ok(total);
            }
        }
    }

    /// Reconciles until `shutdown` turns true, then returns once the work in flight is recorded.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        if let Err(error) = self.resume_after_restart().await {
            tracing::error!(
                error = format!("{error:#}"),
                "cannot release old sync claims"
            );
        }
        let poll = self.settings.poll_interval;
        while !*shutdown.borrow() {
            let now = Utc::now();
            let pause = match self.step(now).await {
                Ok(report) if report.claimed > 0 => Duration::ZERO,
                Ok(_) => self.until_next_due(now).await,
                Err(error) => {
                    tracing::error!(error = format!("{error:#}"), "Discord sync step failed");
                    poll
                }
            };
            if pause.is_zero() {
                continue;
            }
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = self.wake.notified() => {}
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
            }
        }
        tracing::info!("Discord sync worker stopped");
    }

    async fn until_next_due(&self, now: DateTime<Utc>) -> Duration {
        let poll = self.settings.poll_interval;
        let next = match self.db.reader().acquire().await {
            Ok(mut conn) => sync::next_due(&mut conn).await.ok().flatten(),
            Err(_) => None,
        };
        match next {
            // Due times are whole seconds: wake just after, not just before.
            Some(at) if at > now => (at - now + chrono::Duration::milliseconds(50))
                .to_std()
                .unwrap_or(poll)
                .min(poll),
            Some(_) => Duration::from_millis(200),
            None => poll,
        }
    }

    /// Writes the outcome of one pass. A failure once `give_up_after` has passed since the
    /// claim's first failure gives up (so does an error after `max_attempts`); the last retry
    /// falls due exactly when that time runs out.
    async fn record(
        &self,
        claim: sync::Claim,
        result: Result<Option<DateTime<Utc>>, SyncError>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Outcome> {
        let id = claim.masterclass_id;
        let budget = Budget::new(claim.retrying_since, self.settings.give_up_after, now);
        let since = budget.since;
        let (outcome, written) = match result {
            Ok(next) => {
                tracing::debug!(masterclass = %id, ?next, "Discord in step");
                if let Some(published) = &self.published {
                    let _ = published.send(id); // Nobody listening is fine.
                }
                let written = self
                    .db
                    .write(move |conn| {
                        Box::pin(async move { sync::finish(conn, claim, next).await })
                    })
                    .await;
                (Outcome::InStep, written)
            }
            Err(error) => {
                // A rate limit is no attempt, even the one that ends the wait.
                let (why, counted) = match &error {
                    SyncError::RateLimited(wait) => {
                        (format!("rate limited by Discord for {wait:?}"), false)
                    }
                    SyncError::Retry(why) => (why.clone(), true),
                };
                let gave_up = if budget.is_spent(now) {
                    let tried = budget.tried_for(now);
                    Some(if counted {
                        format!("gave up after {tried} of failed attempts: {why}")
                    } else {
                        format!("gave up after {tried}: {why}")
                    })
                } else if counted && claim.attempts >= self.settings.max_attempts {
                    Some(format!("gave up after {} attempts: {why}", claim.attempts))
                } else {
                    None
                };
                if let Some(why) = gave_up {
                    tracing::warn!(masterclass = %id, error = why, "Discord sync given up");
                    let written = self
                        .db
                        .write(move |conn| {
                            Box::pin(
                                async move { sync::give_up(conn, claim, &why, now, counted).await },
                            )
                        })
                        .await;
                    (Outcome::Failed, written)
                } else {
                    let at = match error {
                        SyncError::RateLimited(wait) => {
                            now + chrono::Duration::milliseconds(wait.as_millis() as i64 + 999)
                        }
                        SyncError::Retry(_) => {
                            tracing::warn!(masterclass = %id, attempts = claim.attempts, error = why, "Discord not in step yet, will retry");
                            now + crate::retry::backoff(
                                self.settings.backoff_base,
                                self.settings.backoff_max,
                                claim.attempts,
                            )
                        }
                    };
                    let at = budget.cap(at);
                    let written = self
                        .db
                        .write(move |conn| {
                            Box::pin(async move {
                                sync::retry(conn, claim, &why, at, counted, since).await
                            })
                        })
                        .await;
                    (Outcome::Retried, written)
                }
            }
        };
        written?;
        Ok(outcome)
    }

    /// A thread appeared: notifications waiting for its link can go.
    fn thread_created(&self, id: MasterclassId) {
        tracing::debug!(masterclass = %id, "thread created");
        self.deliveries.notify_one();
    }
}

enum Outcome {
    InStep,
    Retried,
    Failed,
}
