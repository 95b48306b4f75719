//! How the workers wait before trying again: the notification worker and the Discord sync
//! worker share one policy.

use rand::Rng as _;
use std::time::Duration;

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
