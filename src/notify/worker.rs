//! The delivery loop: claim due rows, deliver them a few at a time, record each outcome.

use super::deliver::Outcome;
use super::{DiscordPort, EmailPort};
use crate::config::NotificationSettings;
use crate::domain::Channel;
use crate::retry::Budget;
use crate::store::outbox::{self, Notice};
use crate::store::Db;
use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// How the worker paces itself.
#[derive(Clone, Debug)]
pub struct WorkerSettings {
    /// The longest nap between two looks at the outbox (a poke or a due row wakes it earlier).
    pub poll_interval: Duration,
    /// How long a notification that keeps failing is retried, from its first failed attempt
    /// (errors and rate limits alike); then it is given up. A time, not a count of attempts: an
    /// SMTP server down for hours loses nothing, and a route Discord rate-limits for ever (which
    /// never counts as an attempt) still ends in the admins' report.
    pub give_up_after: Duration,
    /// First retry delay; doubles with each attempt, with jitter, up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Rows claimed per lane and step.
    pub batch_size: u32,
    /// How long a claim holds a row. Longer than any step can take: a row claimed by a worker
    /// that died is due again after it (or at once when the next worker starts).
    pub lease: Duration,
    /// Deliveries in flight at once per lane (the SMTP pool is 4 sessions by default).
    pub concurrency: usize,
}

impl WorkerSettings {
    pub fn from_config(config: &NotificationSettings) -> Self {
        Self {
            poll_interval: Duration::from_secs(config.poll_interval_seconds.max(1)),
            give_up_after: Duration::from_secs(
                config.give_up_after_hours.max(1).saturating_mul(3600),
            ),
            backoff_base: Duration::from_secs(config.backoff_base_seconds.max(1)),
            backoff_max: Duration::from_secs(config.backoff_max_seconds.max(1)),
            batch_size: config.batch_size.max(1),
            ..Self::default()
        }
    }
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(5),
            give_up_after: Duration::from_secs(48 * 3600),
            backoff_base: Duration::from_secs(10),
            backoff_max: Duration::from_secs(3600),
            batch_size: 50,
            lease: Duration::from_secs(15 * 60),
            concurrency: 4,
        }
    }
}

/// What one step did, row by row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StepReport {
    pub claimed: usize,
    pub delivered: usize,
    /// No longer relevant, or not for this channel (DMs off, no verified email…).
    pub voided: usize,
    /// Due again later (backoff or rate limit).
    pub retried: usize,
    pub failed: usize,
}

impl StepReport {
    fn add(&mut self, other: StepReport) {
        self.claimed += other.claimed;
        self.delivered += other.delivered;
        self.voided += other.voided;
        self.retried += other.retried;
        self.failed += other.failed;
    }

    fn count(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Delivered => self.delivered += 1,
            Outcome::Voided(_) | Outcome::MentionInThread(_) => self.voided += 1,
            Outcome::Retry(_) | Outcome::Postponed { .. } => self.retried += 1,
            Outcome::Failed(_) => self.failed += 1,
        }
    }
}

/// Email and Discord are claimed and delivered separately: Discord is paced at ~50 requests/s,
/// email is not, and neither should wait for the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Lane {
    Email,
    Discord,
}

impl Lane {
    fn channels(self) -> &'static [Channel] {
        match self {
            Lane::Email => &[Channel::Email],
            Lane::Discord => &[Channel::Dm, Channel::Thread],
        }
    }
}

/// Delivers the outbox through a Discord port and an email port.
pub struct Worker<D, M> {
    pub(super) db: Db,
    pub(super) discord: D,
    pub(super) mail: M,
    pub(super) settings: WorkerSettings,
    wake: Arc<Notify>,
}

impl<D: DiscordPort + 'static, M: EmailPort + 'static> Worker<D, M> {
    pub fn new(db: Db, discord: D, mail: M, settings: WorkerSettings) -> Self {
        Self {
            db,
            discord,
            mail,
            settings,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Uses `wake` to hear that something is due now (use cases and commands poke it after
    /// writing notifications); see [`Worker::wake`].
    pub fn with_wake(mut self, wake: Arc<Notify>) -> Self {
        self.wake = wake;
        self
    }

    /// `wake().notify_one()` makes a running worker look at the outbox at once.
    pub fn wake(&self) -> Arc<Notify> {
        Arc::clone(&self.wake)
    }

    /// Claims the rows due at `now` (a batch per lane), delivers them and records each outcome.
    pub async fn step(&self, now: DateTime<Utc>) -> anyhow::Result<StepReport> {
        let (email, discord) = tokio::try_join!(
            self.step_lane(Lane::Email, now),
            self.step_lane(Lane::Discord, now)
        )?;
        let mut report = email;
        report.add(discord);
        Ok(report)
    }

    /// Frees the claims a previous process left. Only one worker may run per database.
    pub async fn resume_after_restart(&self) -> anyhow::Result<u64> {
        let released = self
            .db
            .write(|conn| Box::pin(async move { outbox::release_claims(conn).await }))
            .await?;
        if released > 0 {
            tracing::info!(
                released,
                "notifications claimed by a previous run are due again"
            );
        }
        Ok(released)
    }

    /// Delivers until `shutdown` turns true (or its sender is dropped), then returns once the
    /// deliveries in flight are finished and recorded.
    pub async fn run(self, shutdown: watch::Receiver<bool>) {
        if let Err(error) = self.resume_after_restart().await {
            tracing::error!(error = format!("{error:#}"), "cannot release old claims");
        }
        let worker = Arc::new(self);
        // One poke wakes both lanes.
        let lane_wakes = [Arc::new(Notify::new()), Arc::new(Notify::new())];
        let mut lanes = tokio::task::JoinSet::new();
        for (lane, wake) in [Lane::Email, Lane::Discord].into_iter().zip(&lane_wakes) {
            let (worker, wake, shutdown) =
                (Arc::clone(&worker), Arc::clone(wake), shutdown.clone());
            lanes.spawn(async move { worker.run_lane(lane, &wake, shutdown).await });
        }
        let mut stop = shutdown.clone();
        loop {
            tokio::select! {
                biased;
                _ = stop.wait_for(|stop| *stop) => break,
                () = worker.wake.notified() => lane_wakes.iter().for_each(|wake| wake.notify_one()),
                // A lane only ends before shutdown by a bug: stop, so the app is restarted
                // (everything resumes from the database) instead of half-delivering.
                Some(ended) = lanes.join_next() => {
                    if let Err(error) = ended {
                        tracing::error!(%error, "a delivery lane panicked");
                    } else if *shutdown.borrow() {
                        break; // It saw the shutdown first; the others finish their work below.
                    }
                    tracing::error!("a delivery lane stopped: stopping the worker");
                    lanes.abort_all();
                    return;
                }
            }
        }
        while let Some(result) = lanes.join_next().await {
            if let Err(error) = result {
                tracing::error!(%error, "a delivery lane panicked");
            }
        }
        tracing::info!("notification worker stopped");
    }

    async fn run_lane(&self, lane: Lane, wake: &Notify, mut shutdown: watch::Receiver<bool>) {
        let poll = self.settings.poll_interval;
        while !*shutdown.borrow() {
            let now = Utc::now();
            let pause = match self.step_lane(lane, now).await {
                Ok(report) if report.claimed >= self.settings.batch_size as usize => Duration::ZERO,
                Ok(report) => self.until_next_due(lane, now, report.claimed > 0).await,
                Err(error) => {
                    tracing::error!(?lane, error = format!("{error:#}"), "delivery step failed");
                    poll
                }
            };
            if pause.is_zero() {
                continue;
            }
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = wake.notified() => {}
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        return; // Nobody can tell us to stop any more: stop now.
                    }
                }
            }
        }
    }

    /// How long the lane may sleep: until its next row is due, at most the poll interval.
    async fn until_next_due(&self, lane: Lane, now: DateTime<Utc>, worked: bool) -> Duration {
        let poll = self.settings.poll_interval;
        let next = match self.db.reader().acquire().await {
            Ok(mut conn) => outbox::next_due(&mut conn, lane.channels())
                .await
                .ok()
                .flatten(),
            Err(_) => None,
        };
        match next {
            Some(at) if at > now => (at - now).to_std().unwrap_or(poll).min(poll),
            // Rows this step created (thread mentions for refused DMs) are due already.
            Some(_) if worked => Duration::ZERO,
            _ => poll,
        }
    }

    pub(super) async fn step_lane(
        &self,
        lane: Lane,
        now: DateTime<Utc>,
    ) -> anyhow::Result<StepReport> {
        let lease = chrono::Duration::from_std(self.settings.lease)?;
        let limit = i64::from(self.settings.batch_size);
        let channels = lane.channels();
        let claimed = self
            .db
            .write(move |conn| {
                Box::pin(
                    async move { outbox::claim_due_on(conn, channels, now, lease, limit).await },
                )
            })
            .await?;
        let mut report = StepReport {
            claimed: claimed.len(),
            ..StepReport::default()
        };
        // Thread mentions that stand in for refused DMs go last: by then this batch's own
        // refusals are written, and one message mentions everyone of the same event.
        let (stand_ins, notices): (Vec<Notice>, Vec<Notice>) =
            claimed.into_iter().partition(is_dm_stand_in);
        let outcomes: Vec<Outcome> = futures::stream::iter(notices)
            .map(|notice| async move {
                let outcome = self.deliver(&notice, now).await;
                self.record(&notice, outcome, now).await
            })
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect()
            .await;
        outcomes.iter().for_each(|outcome| report.count(outcome));

        let mut events: BTreeMap<(Option<i64>, &str, String), Vec<Notice>> = BTreeMap::new();
        for notice in stand_ins {
            let key = (
                notice.masterclass_id.map(|m| m.0),
                notice.kind.as_str(),
                notice.payload.to_string(),
            );
            events.entry(key).or_default().push(notice);
        }
        for (_, mut group) in events {
            let first = group[0].clone();
            let others = self
                .db
                .write(move |conn| {
                    Box::pin(
                        async move { outbox::claim_same_event(conn, &first, now, lease).await },
                    )
                })
                .await?;
            report.claimed += others.len();
            // Rows of this batch are claimed already, so `others` holds none of them.
            group.extend(others);
            for outcome in self.deliver_stand_ins(&group, now).await {
                report.count(&outcome);
            }
        }
        Ok(report)
    }

    /// Writes what happened to one row and returns it. A retry or a postponement once
    /// `give_up_after` has passed since the row's first failed attempt is given up instead, with
    /// the last error; the last retry falls due exactly when that time runs out.
    /// A failure to write is logged: the row stays claimed and is tried again when its lease
    /// runs out.
    pub(super) async fn record(
        &self,
        notice: &Notice,
        outcome: Outcome,
        now: DateTime<Utc>,
    ) -> Outcome {
        let budget = Budget::new(notice.retrying_since, self.settings.give_up_after, now);
        let (since, spent) = (budget.since, budget.is_spent(now));
        // A rate limit is no attempt, even the one that ends the wait.
        let counted = !matches!(outcome, Outcome::Postponed { .. });
        let outcome = match outcome {
            Outcome::Retry(error) if spent => Outcome::Failed(format!(
                "gave up after {} of failed attempts: {error}",
                budget.tried_for(now)
            )),
            Outcome::Postponed { why, .. } if spent => {
                Outcome::Failed(format!("gave up after {}: {why}", budget.tried_for(now)))
            }
            outcome => outcome,
        };
        let backoff = now
            + crate::retry::backoff(
                self.settings.backoff_base,
                self.settings.backoff_max,
                notice.attempts,
            );
        let retry_at = budget.cap(backoff);
        let (row, recorded) = (notice.clone(), outcome.clone());
        let written = self.db.write(move |conn| {
            Box::pin(async move {
                let notice = &row;
                match &recorded {
                    Outcome::Delivered => outbox::mark_delivered(conn, notice.id, now).await?,
                    Outcome::Voided(why) => {
                        outbox::mark_voided(conn, notice.id, why, now).await?;
                    }
                    Outcome::MentionInThread(why) => {
                        // Voided meanwhile (the masterclass cancelled, the member forgotten):
                        // nobody is to be mentioned any more.
                        if !outbox::mark_voided(conn, notice.id, why, now).await? {
                            return anyhow::Ok(());
                        }
                        let stand_in = outbox::NewNotice {
                            guild_id: notice.guild_id,
                            masterclass_id: notice.masterclass_id,
                            recipient_id: notice.recipient_id,
                            channel: Channel::Thread,
                            kind: notice.kind,
                            payload: notice.payload.clone(),
                            due_at: now,
                            dedupe_key: format!("{}:thread-mention", notice.dedupe_key),
                        };
                        outbox::enqueue_all(conn, &[stand_in], now).await?;
                    }
                    Outcome::Postponed { why, after } => {
                        // Whole seconds, rounded up: the outbox keeps times to the second.
                        let wait =
                            chrono::Duration::seconds(after.as_secs_f64().ceil().max(1.0) as i64);
                        outbox::postpone(conn, notice.id, why, now + wait, since).await?;
                    }
                    Outcome::Retry(error) => {
                        outbox::schedule_retry(conn, notice.id, error, retry_at, since).await?;
                    }
                    Outcome::Failed(error) => {
                        outbox::mark_failed(conn, notice.id, error, now, counted).await?
                    }
                }
                anyhow::Ok(())
            })
        });
        match written.await {
            Ok(()) => log_outcome(notice, &outcome),
            Err(error) => tracing::error!(
                id = notice.id,
                error = format!("{error:#}"),
                "cannot record a delivery outcome"
            ),
        }
        outcome
    }
}

/// A thread row with a recipient: a mention standing in for a DM the member refused.
fn is_dm_stand_in(notice: &Notice) -> bool {
    notice.channel == Channel::Thread && notice.recipient_id.is_some()
}

fn log_outcome(notice: &Notice, outcome: &Outcome) {
    let (id, kind, channel) = (notice.id, notice.kind.as_str(), notice.channel.as_str());
    match outcome {
        Outcome::Delivered => tracing::debug!(id, kind, channel, "notification delivered"),
        Outcome::Voided(why) | Outcome::MentionInThread(why) => {
            tracing::debug!(id, kind, channel, why, "notification dropped")
        }
        Outcome::Postponed { why, .. } => {
            tracing::debug!(id, kind, channel, why, "notification postponed")
        }
        Outcome::Retry(error) => tracing::warn!(
            id,
            kind,
            channel,
            attempts = notice.attempts,
            error,
            "notification not delivered yet, will retry"
        ),
        Outcome::Failed(error) => {
            tracing::warn!(id, kind, channel, error, "notification given up")
        }
    }
}
