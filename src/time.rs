//! Time as the store keeps it: UTC, truncated to microseconds (PostgreSQL's precision), so a
//! value written and read back compares equal on every backend.

use chrono::{DateTime, SubsecRound, Utc};

/// The current time, truncated to microseconds.
pub fn now() -> DateTime<Utc> {
    truncate(Utc::now())
}

/// Truncates a time to microseconds.
pub fn truncate(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

/// The latest time [`after`] answers: far beyond any real deadline, and representable on every
/// backend (PostgreSQL's `timestamptz` ends in year 294276, SQLite stores text).
pub fn far_future() -> DateTime<Utc> {
    DateTime::from_timestamp(253_402_300_799, 0).expect("9999-12-31T23:59:59Z is a valid time")
}

/// `at + delay`, saturating at [`far_future`] instead of panicking, and truncated to
/// microseconds like [`now`] (a jittered delay has nanoseconds no backend keeps alike). Every
/// deadline computed from outside input (a network's `Retry-After`, a config knob, a TTL) goes
/// through here or through a bound checked before it, so no input can overflow the clock.
pub fn after(at: DateTime<Utc>, delay: std::time::Duration) -> DateTime<Utc> {
    chrono::TimeDelta::from_std(delay)
        .ok()
        .and_then(|d| at.checked_add_signed(d))
        .map_or_else(far_future, |t| truncate(t.min(far_future())))
}

/// `at + secs` seconds, saturating (see [`after`]).
pub fn after_secs(at: DateTime<Utc>, secs: u64) -> DateTime<Utc> {
    after(at, std::time::Duration::from_secs(secs))
}

/// `at + ms` milliseconds, saturating (see [`after`]).
pub fn after_millis(at: DateTime<Utc>, ms: u64) -> DateTime<Utc> {
    after(at, std::time::Duration::from_millis(ms))
}

/// Where the time comes from, so code that schedules (the outbox's backoff and pauses) can be
/// tested against a clock the test moves instead of by waiting.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time, truncated to microseconds.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's clock: [`now`].
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        now()
    }
}

/// A clock that stands still until it is set or advanced (for tests and simulations).
#[derive(Debug)]
pub struct ManualClock(std::sync::Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(std::sync::Mutex::new(truncate(at)))
    }

    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = truncate(at);
    }

    pub fn advance(&self, by: std::time::Duration) {
        let mut t = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *t = after(*t, by);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_saturate_instead_of_overflowing() {
        let now = now();
        assert_eq!(after_secs(now, 30), now + chrono::TimeDelta::seconds(30));
        assert_eq!(after_millis(now, 1500), now + chrono::TimeDelta::milliseconds(1500));
        assert_eq!(after_secs(now, u64::MAX), far_future());
        assert_eq!(after_secs(now, 1_000_000_000_000_000), far_future());
        assert_eq!(after(now, std::time::Duration::MAX), far_future());
        assert_eq!(after_secs(far_future(), 1), far_future());
        assert_eq!(
            after(now, std::time::Duration::from_nanos(1_500)),
            now + chrono::TimeDelta::microseconds(1)
        );
    }
}
