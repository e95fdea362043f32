//! A keyed rate limiter (GCRA: one timestamp per key, the token bucket's equivalent). Used for
//! sign-in attempts per client address and per email, and for message sends per user. Time
//! comes from `tokio::time::Instant`, so tests can pause it.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
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

    /// A token bucket that refills `rate` per second and holds `burst` (both at least 1).
    pub fn per_second(rate: u32, burst: u32) -> Self {
        let burst = burst.max(1);
        Self { burst, period: Duration::from_secs(1) / rate.max(1) * burst }
    }

    fn interval(&self) -> Duration {
        self.period / self.burst
    }
}

/// How many keys are tracked before idle ones are swept.
const SWEEP_AT: usize = 10_000;

/// Rate limits many keys, each with the same quota. Memory stays bounded by the keys active
/// within one `period`: a key whose bucket is full again holds nothing worth keeping, and such
/// idle keys are swept whenever the map has doubled since the last sweep (at least
/// [`SWEEP_AT`] keys), so sweeping costs O(1) per request however many keys are active.
#[derive(Debug)]
pub struct KeyedLimiter<K = String> {
    quota: Quota,
    state: Mutex<Keys<K>>,
}

#[derive(Debug)]
struct Keys<K> {
    /// Per key, the theoretical arrival time of the next request.
    tat: HashMap<K, Instant>,
    /// Sweep idle keys once the map holds this many.
    sweep_at: usize,
}

impl<K: Hash + Eq> KeyedLimiter<K> {
    pub fn new(quota: Quota) -> Self {
        Self { quota, state: Mutex::new(Keys { tat: HashMap::new(), sweep_at: SWEEP_AT }) }
    }

    pub fn quota(&self) -> Quota {
        self.quota
    }

    /// Counts one request for `key`; `Err(retry_after)` when over the quota (nothing counted).
    pub fn check<Q>(&self, key: &Q) -> Result<(), Duration>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.decide(key, true)
    }

    /// Says whether a request for `key` would pass now, without counting it.
    pub fn peek<Q>(&self, key: &Q) -> Result<(), Duration>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.decide(key, false)
    }

    /// Counts one request for `key` like [`check`](Self::check), and tells the quota's state
    /// for the standard headers: `Ok((remaining, reset))` (requests left now, and how long until
    /// the bucket is full again), or `Err(retry_after)` when over the quota (nothing counted).
    pub fn check_remaining<Q>(&self, key: &Q) -> Result<(u32, Duration), Duration>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.decide(key, true)?;
        let now = Instant::now();
        let interval = self.quota.interval();
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let ahead = state.tat.get(key).map_or(Duration::ZERO, |tat| tat.saturating_duration_since(now));
        let room = (self.quota.period.saturating_sub(ahead)).as_nanos() / interval.as_nanos().max(1);
        Ok((u32::try_from(room).unwrap_or(u32::MAX), ahead))
    }

    /// How many keys are tracked now.
    pub fn tracked(&self) -> usize {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).tat.len()
    }

    fn decide<Q>(&self, key: &Q, count: bool) -> Result<(), Duration>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let now = Instant::now();
        let interval = self.quota.interval();
        // Allow `burst` requests at once: the window of tolerance is period - interval.
        let tolerance = self.quota.period.saturating_sub(interval);
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if count && state.tat.len() >= state.sweep_at {
            state.tat.retain(|_, tat| *tat > now);
            state.sweep_at = (state.tat.len() * 2).max(SWEEP_AT);
        }
        let tat = state.tat.get(key).copied().unwrap_or(now).max(now);
        let ahead = tat - now;
        if ahead > tolerance {
            return Err(ahead - tolerance);
        }
        if count {
            state.tat.insert(key.to_owned(), tat + interval);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn tells_what_remains_and_when_it_is_full_again() {
        let limiter = KeyedLimiter::new(Quota::new(3, Duration::from_secs(60)));
        assert_eq!(limiter.check_remaining("a").unwrap(), (2, Duration::from_secs(20)));
        assert_eq!(limiter.check_remaining("a").unwrap(), (1, Duration::from_secs(40)));
        assert_eq!(limiter.check_remaining("a").unwrap(), (0, Duration::from_secs(60)));
        assert_eq!(limiter.check_remaining("a").unwrap_err(), Duration::from_secs(20));
        tokio::time::advance(Duration::from_secs(20)).await;
        assert_eq!(limiter.check_remaining("a").unwrap(), (0, Duration::from_secs(60)));
    }

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
    async fn a_token_bucket_per_second_bursts_then_refills_at_its_rate() {
        let limiter: KeyedLimiter<u64> = KeyedLimiter::new(Quota::per_second(10, 30));
        for _ in 0..30 {
            limiter.check(&1).unwrap();
        }
        let retry = limiter.check(&1).unwrap_err();
        assert_eq!(retry, Duration::from_millis(100), "one token comes back every 100 ms");
        limiter.check(&2).unwrap();
        tokio::time::advance(Duration::from_millis(100)).await;
        limiter.check(&1).unwrap();
        assert!(limiter.check(&1).is_err());
        // A second refills ten; three refill the whole burst, and not more.
        tokio::time::advance(Duration::from_secs(1)).await;
        for _ in 0..10 {
            limiter.check(&1).unwrap();
        }
        assert!(limiter.check(&1).is_err());
        tokio::time::advance(Duration::from_secs(60)).await;
        for _ in 0..30 {
            limiter.check(&1).unwrap();
        }
        assert!(limiter.check(&1).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn idle_keys_are_swept() {
        let limiter: KeyedLimiter<usize> = KeyedLimiter::new(Quota::per_second(10, 30));
        for key in 0..SWEEP_AT {
            limiter.check(&key).unwrap();
        }
        assert_eq!(limiter.tracked(), SWEEP_AT);
        // Every bucket is full again after 100 ms: the next new key sweeps them all.
        tokio::time::advance(Duration::from_millis(100)).await;
        limiter.check(&usize::MAX).unwrap();
        assert_eq!(limiter.tracked(), 1);
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
