//! A keyed rate limiter (GCRA: one timestamp per key). Used for sign-in attempts per client
//! address and per email. Time comes from `tokio::time::Instant`, so tests can pause it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// `burst` requests per `period`, refilled evenly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    pub burst: u32,
    pub period: Duration,
}

impl Quota {
    pub fn new(burst: u32, period: Duration) -> Self {
        Self { burst: burst.max(1), period }
    }

    fn interval(&self) -> Duration {
        self.period / self.burst
    }
}

/// Bounds how many keys are tracked before idle ones are swept.
const SWEEP_AT: usize = 10_000;

/// Rate limits many keys, each with the same quota.
#[derive(Debug)]
pub struct KeyedLimiter {
    quota: Quota,
    /// Per key, the theoretical arrival time of the next request.
    tat: Mutex<HashMap<String, Instant>>,
}

impl KeyedLimiter {
    pub fn new(quota: Quota) -> Self {
        Self { quota, tat: Mutex::new(HashMap::new()) }
    }

    /// Counts one request for `key`; `Err(retry_after)` when over the quota (nothing counted).
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.decide(key, true)
    }

    /// Says whether a request for `key` would pass now, without counting it.
    pub fn peek(&self, key: &str) -> Result<(), Duration> {
        self.decide(key, false)
    }

    fn decide(&self, key: &str, count: bool) -> Result<(), Duration> {
        let now = Instant::now();
        let interval = self.quota.interval();
        // Allow `burst` requests at once: the window of tolerance is period - interval.
        let tolerance = self.quota.period.saturating_sub(interval);
        let mut map = self.tat.lock().expect("rate limiter lock poisoned");
        if count && map.len() >= SWEEP_AT {
            map.retain(|_, tat| *tat > now);
        }
        let tat = map.get(key).copied().unwrap_or(now).max(now);
        let ahead = tat - now;
        if ahead > tolerance {
            return Err(ahead - tolerance);
        }
        if count {
            map.insert(key.to_owned(), tat + interval);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn allows_a_burst_then_refuses_with_a_retry_after() {
        let limiter = KeyedLimiter::new(Quota::new(3, Duration::from_secs(60)));
        for _ in 0..3 {
            limiter.check("a").unwrap();
        }
        let retry = limiter.check("a").unwrap_err();
        assert_eq!(retry, Duration::from_secs(20));
        // Other keys are independent.
        limiter.check("b").unwrap();
        // Refused requests are not counted: after the wait, one more passes.
        tokio::time::advance(retry).await;
        limiter.check("a").unwrap();
        assert!(limiter.check("a").is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn peek_does_not_count() {
        let limiter = KeyedLimiter::new(Quota::new(1, Duration::from_secs(10)));
        for _ in 0..5 {
            limiter.peek("k").unwrap();
        }
        limiter.check("k").unwrap();
        assert!(limiter.peek("k").is_err());
        tokio::time::advance(Duration::from_secs(10)).await;
        limiter.peek("k").unwrap();
    }
}
