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
