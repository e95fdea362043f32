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

/// `at + delay`, saturating at [`far_future`] instead of panicking. Every deadline computed
/// from outside input (a network's `Retry-After`, a config knob, a TTL) goes through here or
/// through a bound checked before it, so no input can overflow the clock.
pub fn after(at: DateTime<Utc>, delay: std::time::Duration) -> DateTime<Utc> {
    chrono::TimeDelta::from_std(delay)
        .ok()
        .and_then(|d| at.checked_add_signed(d))
        .map_or_else(far_future, |t| t.min(far_future()))
}

/// `at + secs` seconds, saturating (see [`after`]).
pub fn after_secs(at: DateTime<Utc>, secs: u64) -> DateTime<Utc> {
    after(at, std::time::Duration::from_secs(secs))
}

/// `at + ms` milliseconds, saturating (see [`after`]).
pub fn after_millis(at: DateTime<Utc>, ms: u64) -> DateTime<Utc> {
    after(at, std::time::Duration::from_millis(ms))
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
    }
}
