//! Whether an officer may act at a given moment (RULES G2, G3).

use crate::id::{AgencyId, OfficerId};
use chrono::NaiveDate;
use chrono_tz::Tz;

use crate::Error;
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

/// An officer named as acting in an act, as the rules need to know them.
#[derive(Debug, Clone, Copy)]
pub struct Named<'a> {
    pub agency_id: &'a AgencyId,
    pub name: &'a str,
    pub certificate: &'a Certificate,
}

/// Why the acting officers of an act are refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActingRefused {
    /// A malformed list (an officer named twice, or not of the agency): `INVALID_ARGUMENT`.
    Invalid(Error),
    /// Officer `officer_ids[index]` may not act at the time of the act (G2, G3): `FAILED_PRECONDITION
    /// G3.certificate-valid`, and the attempt is counted for supervisors (S1).
    Certificate { index: usize, name: String, why: String },
    /// Too few officers for the act (G3): `FAILED_PRECONDITION G3.two-officers`.
    TooFew(Error),
}

impl ActingRefused {
    /// The error the client gets.
    pub fn error(&self, officer_ids: &[OfficerId]) -> Error {
        match self {
            Self::Invalid(e) | Self::TooFew(e) => e.clone(),
            Self::Certificate { index, name, why } => Error::precondition(
                "G3.certificate-valid",
                format!("officer {name} ({}): {why}", officer_ids.get(*index).map_or("", OfficerId::as_str)),
            ),
        }
    }
}

/// The one check of an act's acting officers (RULES G2, G3), used by every act that names
/// officers (`AppendEvent`, `IssueDecision`): each named once and of `agency_id`, then each
/// with a valid certificate and active at `at` in `zone`, then at least `needed` of them.
/// `lookup` finds a registered officer by id.
pub fn check_acting<'a>(
    officer_ids: &[OfficerId],
    lookup: impl Fn(&OfficerId) -> Option<Named<'a>>,
    agency_id: &AgencyId,
    at: Timestamp,
    zone: Tz,
    needed: usize,
    act: &str,
) -> Result<(), ActingRefused> {
    let mut named = Vec::with_capacity(officer_ids.len());
    for (i, id) in officer_ids.iter().enumerate() {
        let field = || format!("officer_ids[{i}]");
        if officer_ids[..i].contains(id) {
            return Err(ActingRefused::Invalid(Error::invalid(field(), "listed twice")));
        }
        let officer = lookup(id)
            .filter(|o| o.agency_id == agency_id)
            .ok_or_else(|| ActingRefused::Invalid(Error::invalid(field(), "no such officer in this agency")))?;
        named.push(officer);
    }
    for (index, officer) in named.iter().enumerate() {
        if let Some(why) = officer.certificate.why_invalid_at(at, zone) {
            return Err(ActingRefused::Certificate { index, name: officer.name.to_owned(), why });
        }
    }
    if named.len() < needed {
        return Err(ActingRefused::TooFew(Error::precondition(
            "G3.two-officers",
            format!("{act} needs at least {needed} officers with valid certificates (处罚法 Art. 42, 55)"),
        )));
    }
    Ok(())
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

    #[test]
    fn acting_officers_are_named_once_of_the_agency_valid_and_enough() {
        let valid = Certificate {
            valid_from: NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
            valid_until: NaiveDate::from_ymd_opt(2035, 12, 31).unwrap(),
            status_changes: vec![],
        };
        let suspended = Certificate {
            status_changes: vec![(at("2026-01-01T00:00:00Z"), OfficerStatus::Suspended)],
            ..valid.clone()
        };
        let (a, b) = (AgencyId::from("a"), AgencyId::from("b"));
        let lookup = |id: &OfficerId| match id.as_str() {
            "o1" | "o2" => Some(Named { agency_id: &a, name: "valid", certificate: &valid }),
            "x" => Some(Named { agency_id: &b, name: "elsewhere", certificate: &valid }),
            "s" => Some(Named { agency_id: &a, name: "suspended", certificate: &suspended }),
            _ => None,
        };
        let ids = |v: &[&str]| v.iter().map(|s| OfficerId::from(*s)).collect::<Vec<_>>();
        let check = |v: &[&str], needed| {
            check_acting(&ids(v), lookup, &a, at("2026-03-01T00:00:00Z"), zone("").unwrap(), needed, "inspection")
        };
        assert_eq!(check(&["o1", "o2"], 2), Ok(()));
        assert!(
            matches!(check(&["o1", "o1"], 2), Err(ActingRefused::Invalid(Error::InvalidArgument { field, .. })) if field == "officer_ids[1]")
        );
        assert!(matches!(check(&["o1", "x"], 2), Err(ActingRefused::Invalid(_))));
        assert!(matches!(check(&["o1", "nobody"], 2), Err(ActingRefused::Invalid(_))));
        // A malformed list is refused before any certificate is judged: no refusal is counted.
        assert!(matches!(check(&["s", "s"], 2), Err(ActingRefused::Invalid(_))));
        assert!(matches!(check(&["o1", "s"], 2), Err(ActingRefused::Certificate { index: 1, .. })));
        assert!(matches!(check(&["o1"], 2), Err(ActingRefused::TooFew(_))));
        assert_eq!(check(&["o1"], 1), Ok(()));
        assert_eq!(check(&[], 0), Ok(()));
    }
}
