//! What admins see of notifications that did not get through.

use super::{Result, Service};
use crate::domain::{
    plural, Caller, Channel, ChannelId, MasterclassId, NoticeKind, UserError, UserId,
};
use crate::store::{outbox, sync};
use chrono::{DateTime, Utc};

/// A notification that failed at least once and is still waiting for a retry, or was given up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryProblem {
    pub id: i64,
    pub masterclass_id: Option<MasterclassId>,
    pub kind: NoticeKind,
    pub channel: Channel,
    /// `None` for a thread message.
    pub recipient: Option<UserId>,
    pub attempts: u32,
    pub last_error: String,
    /// When it is tried again; `None` once given up.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Its first failed attempt: it is given up `notifications.give_up_after_hours` later.
    pub failing_since: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
}

impl Service {
    /// Undelivered notifications of the caller's server that ran into trouble, newest first
    /// (at most `limit`). Admins only.
    pub async fn delivery_problems(
        &self,
        caller: &Caller,
        limit: u32,
    ) -> Result<Vec<DeliveryProblem>> {
        if !caller.is_admin {
            return Err(UserError::NotAdmin.into());
        }
        let mut conn = self.db.reader().acquire().await?;
        let rows = outbox::troubled(&mut conn, caller.guild_id, i64::from(limit)).await?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                Some(DeliveryProblem {
                    id: row.id,
                    masterclass_id: row.masterclass_id,
                    kind: row.kind,
                    channel: row.channel,
                    recipient: row.recipient_id,
                    attempts: row.attempts,
                    // A row being tried for the first time right now has no trouble to show.
                    last_error: row.last_error?,
                    next_attempt_at: row.failed_at.is_none().then_some(row.due_at),
                    failing_since: row.retrying_since,
                    failed_at: row.failed_at,
                })
            })
            .collect())
    }
}

/// A masterclass whose announcement, thread or event is not in step, for admins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncProblem {
    pub masterclass_id: MasterclassId,
    pub title: String,
    /// Errors counted towards `notifications.max_attempts` (rate limits are not).
    pub attempts: u32,
    pub last_error: String,
    /// When it is tried again; `None` once given up.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Its first failure since it was last in step or changed: it is given up
    /// `notifications.give_up_after_hours` later.
    pub failing_since: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
}

impl Service {
    /// Masterclasses whose announcement, thread or event is not in step and has failed at least
    /// once, or was given up (until its next change). Admins only.
    pub async fn sync_problems(&self, caller: &Caller, limit: u32) -> Result<Vec<SyncProblem>> {
        if !caller.is_admin {
            return Err(UserError::NotAdmin.into());
        }
        let mut conn = self.db.reader().acquire().await?;
        let troubles = sync::problems(&mut conn, caller.guild_id, i64::from(limit)).await?;
        Ok(troubles
            .into_iter()
            .map(|t| SyncProblem {
                masterclass_id: t.masterclass_id,
                title: t.title,
                attempts: t.attempts,
                last_error: t.last_error,
                next_attempt_at: t.next_attempt_at,
                failing_since: t.retrying_since,
                failed_at: t.failed_at,
            })
            .collect())
    }

    /// Discord archived a thread by itself; if it is a masterclass's, the sync worker reopens it
    /// while the masterclass is ahead. Returns whether it was one of ours.
    pub async fn thread_archived(&self, thread: ChannelId) -> Result<bool> {
        self.db
            .write(move |conn| Box::pin(sync::thread_archived_by_discord(conn, thread)))
            .await
            .map_err(Into::into)
    }
}

/// "gave up <t:…:R>", "next try <t:…:R>" or "waiting", after "failing since <t:…:R> · " for
/// one still retried: how long tells an outage from a hiccup (a given-up one says so in its
/// error).
fn retry_state(
    failed_at: Option<DateTime<Utc>>,
    next_attempt_at: Option<DateTime<Utc>>,
    failing_since: Option<DateTime<Utc>>,
) -> String {
    let state = match (failed_at, next_attempt_at) {
        (Some(at), _) => return format!("gave up <t:{}:R>", at.timestamp()),
        (None, Some(at)) => format!("next try <t:{}:R>", at.timestamp()),
        (None, None) => "waiting".to_owned(),
    };
    match failing_since {
        Some(since) => format!("failing since <t:{}:R> · {state}", since.timestamp()),
        None => state,
    }
}

/// User or Discord text on one line of a list, without code spans, at most `max` characters.
fn one_line(text: &str, max: usize) -> String {
    text.replace(['\n', '`'], " ").chars().take(max).collect()
}

/// One line for `/masterclass-admin deliveries` about a masterclass's Discord side.
pub fn describe_sync(problem: &SyncProblem) -> String {
    let state = retry_state(
        problem.failed_at,
        problem.next_attempt_at,
        problem.failing_since,
    );
    let error = one_line(&problem.last_error, 150);
    let title = one_line(&problem.title.replace('*', " "), 60);
    format!(
        "**{title}** (masterclass {}): announcement, thread or event not in step · {state} · {error}",
        problem.masterclass_id
    )
}

/// One line for `/masterclass-admin deliveries`, e.g.
/// "`#12` cancelled · DM to <@42> · masterclass 7 · 3 attempts · failing since <t:…:R> ·
/// next try <t:…:R> · Discord is unreachable: …". Mentions render as names; send it with no pings
/// allowed.
pub fn describe(problem: &DeliveryProblem) -> String {
    let to = match (problem.channel, problem.recipient) {
        (_, Some(user)) if user.is_forgotten() => crate::domain::FORMER_MEMBER.to_owned(),
        (Channel::Dm, Some(user)) => format!("DM to <@{user}>"),
        (Channel::Email, Some(user)) => format!("email to <@{user}>"),
        (Channel::Thread, Some(user)) => format!("thread mention of <@{user}>"),
        (_, None) => "thread message".to_owned(),
    };
    let masterclass = problem
        .masterclass_id
        .map(|id| format!(" · masterclass {id}"))
        .unwrap_or_default();
    let attempts = plural(problem.attempts, "attempt", "attempts");
    let state = retry_state(
        problem.failed_at,
        problem.next_attempt_at,
        problem.failing_since,
    );
    let error = one_line(&problem.last_error, 150);
    format!(
        "`#{}` {} · {to}{masterclass} · {attempts} · {state} · {error}",
        problem.id,
        problem.kind.as_str()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_line_says_what_to_whom_and_why() {
        let problem = DeliveryProblem {
            id: 12,
            masterclass_id: Some(MasterclassId(7)),
            kind: NoticeKind::Cancelled,
            channel: Channel::Email,
            recipient: Some(UserId(42)),
            attempts: 52,
            last_error: "gave up after 48 hours of failed attempts: connection refused\nand more"
                .into(),
            next_attempt_at: None,
            failing_since: Some(Utc.with_ymd_and_hms(2026, 3, 8, 12, 0, 0).unwrap()),
            failed_at: Some(Utc.with_ymd_and_hms(2026, 3, 10, 12, 0, 0).unwrap()),
        };
        assert_eq!(
            describe(&problem),
            "`#12` cancelled · email to <@42> · masterclass 7 · 52 attempts · gave up <t:1773144000:R> · gave up after 48 hours of failed attempts: connection refused and more"
        );
    }

    #[test]
    fn a_line_says_since_when_a_retried_one_fails() {
        let problem = DeliveryProblem {
            id: 12,
            masterclass_id: None,
            kind: NoticeKind::Joined,
            channel: Channel::Dm,
            recipient: Some(UserId(42)),
            attempts: 0,
            last_error: "rate limited by Discord (retry after 3600s)".into(),
            next_attempt_at: Some(Utc.with_ymd_and_hms(2026, 3, 10, 12, 0, 0).unwrap()),
            failing_since: Some(Utc.with_ymd_and_hms(2026, 3, 10, 11, 0, 0).unwrap()),
            failed_at: None,
        };
        assert_eq!(
            describe(&problem),
            "`#12` joined · DM to <@42> · 0 attempts · failing since <t:1773140400:R> · next try <t:1773144000:R> · rate limited by Discord (retry after 3600s)"
        );
    }

    #[test]
    fn a_sync_line_says_since_when_it_fails() {
        let problem = SyncProblem {
            masterclass_id: MasterclassId(7),
            title: "Rust ownership".into(),
            attempts: 0,
            last_error: "rate limited by Discord for 3600s".into(),
            next_attempt_at: Some(Utc.with_ymd_and_hms(2026, 3, 10, 12, 0, 0).unwrap()),
            failing_since: Some(Utc.with_ymd_and_hms(2026, 3, 10, 11, 0, 0).unwrap()),
            failed_at: None,
        };
        assert_eq!(
            describe_sync(&problem),
            "**Rust ownership** (masterclass 7): announcement, thread or event not in step · failing since <t:1773140400:R> · next try <t:1773144000:R> · rate limited by Discord for 3600s"
        );
    }
}
