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

    /// Appends [`Self::to_rfc3339`] to `out` without allocating (for years 0 to 9999; other years
    /// go through chrono).
    pub fn write_rfc3339(self, out: &mut String) {
        let secs = self.0.div_euclid(1_000_000);
        let micros = self.0.rem_euclid(1_000_000);
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        // Civil date from days since 1970-01-01 (Howard Hinnant's `civil_from_days`).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        if !(0..=9999).contains(&year) {
            out.push_str(&self.to_rfc3339());
            return;
        }
        // Digits written directly: `write!` with padding costs more than the rest of an event.
        let mut buf = *b"0000-00-00T00:00:00.000000Z";
        let mut put = |at: usize, width: usize, mut v: i64| {
            for i in (at..at + width).rev() {
                buf[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, 4, year);
        put(5, 2, month);
        put(8, 2, day);
        put(11, 2, sod / 3600);
        put(14, 2, sod / 60 % 60);
        put(17, 2, sod % 60);
        put(20, 6, micros);
        out.push_str(std::str::from_utf8(&buf).unwrap_or_default());
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

/// How far ahead of the server's clock a client's clock may be: a time later than now plus this
/// is in the future.
pub const MAX_CLOCK_SKEW_SECONDS: i64 = 300;

/// How long after an act it may still be recorded: two years, the general limitation period of
/// 处罚法 Art. 36. An earlier time is implausible.
pub const MAX_ACT_AGE_DAYS: i64 = 731;

/// Checks a client-given time of an act (or of a capture) before any rule is judged against it:
/// not later than `now` plus [`MAX_CLOCK_SKEW_SECONDS`], not earlier than `now` minus
/// [`MAX_ACT_AGE_DAYS`]. Else `INVALID_ARGUMENT field`: an implausible time must not reach the
/// rules, which would count it as a refused attempt against the officers it names.
pub fn check_act_time(field: &str, at: Timestamp, now: Timestamp) -> crate::Result<()> {
    if at > now.plus_seconds(MAX_CLOCK_SKEW_SECONDS) {
        return Err(crate::Error::invalid(field, "is in the future"));
    }
    if at < now.plus_seconds(-MAX_ACT_AGE_DAYS * 86_400) {
        return Err(crate::Error::invalid(field, format!("is more than {MAX_ACT_AGE_DAYS} days ago")));
    }
    Ok(())
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
    fn act_times_far_in_the_past_or_future_are_implausible() {
        let now = Timestamp::parse_rfc3339("2026-06-01T00:00:00Z").unwrap();
        let field = |r: crate::Result<()>| match r {
            Err(crate::Error::InvalidArgument { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(check_act_time("occurred_at", now, now), Ok(()));
        assert_eq!(check_act_time("occurred_at", now.plus_seconds(MAX_CLOCK_SKEW_SECONDS), now), Ok(()));
        assert_eq!(check_act_time("occurred_at", now.plus_seconds(-MAX_ACT_AGE_DAYS * 86_400), now), Ok(()));
        for at in ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2024-05-30T23:59:59Z", "2026-06-01T00:05:01Z"] {
            let at = Timestamp::parse_rfc3339(at).unwrap();
            assert_eq!(field(check_act_time("occurred_at", at, now)), "occurred_at", "{at}");
        }
    }

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
    fn write_rfc3339_matches_chrono() {
        let mut x = 0x1234_5678_9abc_def1u64;
        let mut samples = vec![0, -1, 1, 253_402_300_799_999_999, 253_402_300_800_000_000, -62_167_219_200_000_000];
        samples.push(-62_167_219_200_000_001);
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            samples.push((x % 600_000_000_000_000_000) as i64 - 300_000_000_000_000_000);
        }
        for micros in samples {
            let t = Timestamp::from_micros(micros);
            let mut fast = String::new();
            t.write_rfc3339(&mut fast);
            assert_eq!(fast, t.to_rfc3339(), "{micros}");
        }
    }

    #[test]
    fn test_clock_moves_only_when_told() {
        let c = TestClock::new(Timestamp::from_micros(5));
        assert_eq!(c.now().micros(), 5);
        c.advance_seconds(2);
        assert_eq!(c.now().micros(), 2_000_005);
    }
}
