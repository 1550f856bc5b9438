//! Time: an injected clock, and timestamps as whole microseconds since the Unix epoch (UTC).
//!
//! Microseconds are what both SQLite and PostgreSQL store exactly, so a timestamp survives a
//! round trip through either backend bit for bit, which the hash chain depends on.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, SecondsFormat, Utc};

/// An instant in UTC with microsecond precision.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

impl Timestamp {
    /// From microseconds since the Unix epoch.
    pub const fn from_micros(micros: i64) -> Self {
        Self(micros)
    }

    /// Microseconds since the Unix epoch.
    pub const fn micros(self) -> i64 {
        self.0
    }

    /// From seconds and nanoseconds (as in `google.protobuf.Timestamp`), truncated to microseconds.
    pub fn from_parts(seconds: i64, nanos: i32) -> Option<Self> {
        if !(0..1_000_000_000).contains(&nanos) {
            return None;
        }
        seconds.checked_mul(1_000_000)?.checked_add(i64::from(nanos) / 1000).map(Self)
    }

    /// Seconds and nanoseconds, as in `google.protobuf.Timestamp`.
    pub fn to_parts(self) -> (i64, i32) {
        let secs = self.0.div_euclid(1_000_000);
        let micros = self.0.rem_euclid(1_000_000);
        (secs, (micros * 1000) as i32)
    }

    /// As a chrono date-time.
    pub fn to_datetime(self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.0).unwrap_or_default()
    }

    /// From a chrono date-time, truncated to microseconds.
    pub fn from_datetime(dt: DateTime<Utc>) -> Self {
        Self(dt.timestamp_micros())
    }

    /// RFC 3339 in UTC with exactly six fractional digits: the form used in the canonical record.
    pub fn to_rfc3339(self) -> String {
        self.to_datetime().to_rfc3339_opts(SecondsFormat::Micros, true)
    }

    /// Parses an RFC 3339 timestamp.
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        DateTime::parse_from_rfc3339(s).ok().map(|dt| Self::from_datetime(dt.with_timezone(&Utc)))
    }

    /// This instant plus a number of seconds.
    pub fn plus_seconds(self, seconds: i64) -> Self {
        Self(self.0.saturating_add(seconds.saturating_mul(1_000_000)))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

/// The source of "now". Production uses [`SystemClock`]; tests use [`TestClock`] to check
/// deadline logic at chosen instants.
pub trait TimeProvider: Send + Sync + fmt::Debug + 'static {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// The system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl TimeProvider for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one place that reads the wall clock
    fn now(&self) -> Timestamp {
        Timestamp::from_datetime(Utc::now())
    }
}

/// A clock that only moves when told to.
#[derive(Debug, Clone)]
pub struct TestClock(Arc<AtomicI64>);

impl TestClock {
    /// A clock standing at `at`.
    pub fn new(at: Timestamp) -> Self {
        Self(Arc::new(AtomicI64::new(at.micros())))
    }

    /// Moves the clock to `at`.
    pub fn set(&self, at: Timestamp) {
        self.0.store(at.micros(), Ordering::SeqCst);
    }

    /// Moves the clock forward by `seconds`.
    pub fn advance_seconds(&self, seconds: i64) {
        self.0.fetch_add(seconds * 1_000_000, Ordering::SeqCst);
    }
}

impl TimeProvider for TestClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_micros(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_has_six_fraction_digits_and_round_trips() {
        let t = Timestamp::from_parts(1_764_465_568, 123_456_789).unwrap();
        assert_eq!(t.to_rfc3339(), "2025-11-30T01:19:28.123456Z");
        assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339()), Some(t));
        let before_epoch = Timestamp::from_micros(-1);
        assert_eq!(before_epoch.to_parts(), (-1, 999_999_000));
        assert_eq!(before_epoch.to_rfc3339(), "1969-12-31T23:59:59.999999Z");
    }

    #[test]
    fn test_clock_moves_only_when_told() {
        let c = TestClock::new(Timestamp::from_micros(5));
        assert_eq!(c.now().micros(), 5);
        c.advance_seconds(2);
        assert_eq!(c.now().micros(), 2_000_005);
    }
}
