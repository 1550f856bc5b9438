//! Whether an officer may act at a given moment (RULES G2, G3).

use chrono::NaiveDate;
use chrono_tz::Tz;

use crate::time::Timestamp;

/// An officer's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfficerStatus {
    Active,
    Suspended,
    Revoked,
}

impl OfficerStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Revoked => "revoked",
        }
    }

    /// Parses [`Self::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Active, Self::Suspended, Self::Revoked].into_iter().find(|v| v.as_str() == s)
    }
}

/// What the rules need to know of an officer's certificate.
#[derive(Debug, Clone)]
pub struct Certificate {
    /// First day of validity, inclusive, in the agency's zone.
    pub valid_from: NaiveDate,
    /// Last day of validity, inclusive.
    pub valid_until: NaiveDate,
    /// Status changes as (effective from, status), in any order. Before the first, the officer is
    /// active.
    pub status_changes: Vec<(Timestamp, OfficerStatus)>,
}

impl Certificate {
    /// The status in force at `at`.
    pub fn status_at(&self, at: Timestamp) -> OfficerStatus {
        self.status_changes
            .iter()
            .filter(|(from, _)| *from <= at)
            .max_by_key(|(from, _)| *from)
            .map_or(OfficerStatus::Active, |(_, s)| *s)
    }

    /// Why the officer may not act at `at`, or `None` if they may.
    pub fn why_invalid_at(&self, at: Timestamp, zone: Tz) -> Option<String> {
        let day = at.to_datetime().with_timezone(&zone).date_naive();
        if day < self.valid_from {
            return Some(format!("certificate valid only from {}", self.valid_from));
        }
        if day > self.valid_until {
            return Some(format!("certificate expired on {}", self.valid_until));
        }
        match self.status_at(at) {
            OfficerStatus::Active => None,
            other => Some(format!("officer is {} at {at}", other.as_str())),
        }
    }
}

/// The zone of an agency, defaulting to Asia/Shanghai (RULES D5).
pub fn zone(name: &str) -> Option<Tz> {
    if name.is_empty() { Some(chrono_tz::Asia::Shanghai) } else { name.parse().ok() }
}

/// The zone of a stored agency: validated when the agency was created, so an unknown name is an
/// internal error, not bad input.
pub fn stored_zone(name: &str) -> crate::Result<Tz> {
    zone(name).ok_or_else(|| crate::Error::Internal(format!("stored time zone {name:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn validity_is_judged_in_the_agency_zone_at_the_moment_of_the_act() {
        let cert = Certificate {
            valid_from: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            valid_until: NaiveDate::from_ymd_opt(2026, 6, 30).unwrap(),
            status_changes: vec![
                (at("2026-03-01T00:00:00Z"), OfficerStatus::Suspended),
                (at("2026-04-01T00:00:00Z"), OfficerStatus::Active),
            ],
        };
        let sh = zone("").unwrap();
        // 2025-12-31T16:30Z is already 2026-01-01 in Shanghai.
        assert!(cert.why_invalid_at(at("2025-12-31T16:30:00Z"), sh).is_none());
        assert!(cert.why_invalid_at(at("2025-12-31T15:30:00Z"), sh).is_some());
        assert!(cert.why_invalid_at(at("2026-03-15T00:00:00Z"), sh).unwrap().contains("suspended"));
        assert!(cert.why_invalid_at(at("2026-04-15T00:00:00Z"), sh).is_none());
        assert!(cert.why_invalid_at(at("2026-06-30T15:59:59Z"), sh).is_none());
        assert!(cert.why_invalid_at(at("2026-06-30T16:00:00Z"), sh).unwrap().contains("expired"));
    }
}
