//! How the workers wait before trying again: the notification worker and the Discord sync
//! worker share one policy.

use crate::domain::plural;
use chrono::{DateTime, Timelike as _, Utc};
use rand::Rng as _;
use std::time::Duration;

/// The time a failing piece of work may keep being tried: `give_up_after` from its first
/// failure (not from when it fell due, so time the bot was down costs nothing).
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// The first failure: the stored one, or this one (whole seconds, as the tables keep time).
    pub since: DateTime<Utc>,
    /// `None`: a budget too large to reach.
    pub deadline: Option<DateTime<Utc>>,
}

impl Budget {
    pub fn new(
        first_failure: Option<DateTime<Utc>>,
        give_up_after: Duration,
        now: DateTime<Utc>,
    ) -> Budget {
        let since = first_failure.unwrap_or_else(|| now.with_nanosecond(0).unwrap_or(now));
        let deadline = chrono::Duration::from_std(give_up_after)
            .ok()
            .and_then(|budget| since.checked_add_signed(budget));
        Budget { since, deadline }
    }

    pub fn is_spent(&self, now: DateTime<Utc>) -> bool {
        self.deadline.is_some_and(|deadline| now >= deadline)
    }

    /// `at`, or the deadline if sooner: the last try falls due when the budget runs out.
    pub fn cap(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        self.deadline.map_or(at, |deadline| at.min(deadline))
    }

    /// "48 hours", "5 minutes", "30 seconds": how long it was tried, for the deliveries report.
    pub fn tried_for(&self, now: DateTime<Utc>) -> String {
        let elapsed = now - self.since;
        let (hours, minutes) = (elapsed.num_hours(), elapsed.num_minutes());
        let (n, one, many) = match (hours, minutes) {
            (1.., _) => (hours, "hour", "hours"),
            (_, 1..) => (minutes, "minute", "minutes"),
            _ => (elapsed.num_seconds(), "second", "seconds"),
        };
        plural(n.max(0) as u64, one, many)
    }
}

/// Exponential in the attempts made (`base` after the first, doubling), capped at `max`, with
/// "equal jitter": between half and all of it, so work that failed together does not all come
/// back in the same second. Whole seconds, at least one.
pub fn backoff(base: Duration, max: Duration, attempts: u32) -> chrono::Duration {
    let (base, max) = (base.as_secs_f64(), max.as_secs_f64());
    let full = (base * 2f64.powi(attempts.saturating_sub(1).min(30) as i32)).min(max);
    let jittered = rand::thread_rng().gen_range(full / 2.0..=full);
    chrono::Duration::seconds(jittered.round().max(1.0) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_with_jitter_up_to_the_cap() {
        let (base, max) = (Duration::from_secs(10), Duration::from_secs(60));
        for _ in 0..50 {
            let first = backoff(base, max, 1).num_seconds();
            assert!((5..=10).contains(&first), "{first}");
            let third = backoff(base, max, 3).num_seconds();
            assert!((20..=40).contains(&third), "{third}");
            let capped = backoff(base, max, 20).num_seconds();
            assert!((30..=60).contains(&capped), "{capped}");
        }
    }
}
