//! Identifiers: UUIDv7 built from the injected clock, so an id's time order is the order of the
//! acts as the service's clock saw them (also under `TestClock`), not the host's wall clock.

use std::sync::Mutex;

use uuid::{Builder, Uuid};

use crate::time::TimeProvider;

/// The last id drawn: its millisecond and its 80 bits below the timestamp. Ids drawn within one
/// millisecond count up from a random start, so they sort in the order they were drawn.
static LAST: Mutex<(u64, u128)> = Mutex::new((0, 0));

/// Low 80 bits.
const TAIL_MASK: u128 = (1 << 80) - 1;

/// A new UUIDv7 whose timestamp is `clock`'s now (milliseconds; a time before the epoch counts
/// as the epoch).
pub fn new_uuid(clock: &dyn TimeProvider) -> Uuid {
    let millis = u64::try_from(clock.now().micros().div_euclid(1000)).unwrap_or(0);
    let mut last = LAST.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let tail = if last.0 == millis {
        (last.1 + 1) & TAIL_MASK
    } else {
        // A fresh random start below bit 61, so counting up within the millisecond never carries
        // into the variant bits (62 and 63 of the tail), which the builder overwrites.
        rand::random::<u128>() & ((1 << 61) - 1)
    };
    *last = (millis, tail);
    drop(last);
    let bytes = tail.to_be_bytes();
    let mut random = [0u8; 10];
    random.copy_from_slice(&bytes[6..]);
    Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
}

/// [`new_uuid`] in its hyphenated text form, as ids are stored.
pub fn new_id(clock: &dyn TimeProvider) -> String {
    new_uuid(clock).to_string()
}

/// The millisecond timestamp of a UUIDv7 id (`None` for anything else).
pub fn id_millis(id: &str) -> Option<u64> {
    let uuid = Uuid::parse_str(id).ok()?;
    if uuid.get_version_num() != 7 {
        return None;
    }
    let (secs, nanos) = uuid.get_timestamp()?.to_unix();
    Some(secs * 1000 + u64::from(nanos) / 1_000_000)
}

/// Declares a typed id: a `String` newtype that a different kind of id cannot be passed for.
///
/// Each is made in one of three ways: drawn from the clock ([`CaseId::new`] and the like), parsed
/// from a request with its shape checked ([`CaseId::parse`], `INVALID_ARGUMENT` naming the field),
/// or read back from a stored row (`From<String>`, also what the database mapping uses: a stored id
/// was checked when it was written). It reads as `&str` where text is wanted (`Deref`), and
/// converts back into `String` for the wire.
macro_rules! typed_id {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "sea-orm", derive(sea_orm::DeriveValueType))]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A new id from the clock (UUIDv7, see [`new_uuid`]).
            pub fn new(clock: &dyn TimeProvider) -> Self {
                Self(new_id(clock))
            }

            /// An id given in a request: its shape is checked before any lookup
            /// ([`crate::limits::id`]), else `INVALID_ARGUMENT` naming `field`.
            pub fn parse(field: &str, value: &str) -> crate::Result<Self> {
                crate::limits::id(field, value)?;
                Ok(Self(value.to_owned()))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id as an owned string (for the wire and for JSON payloads).
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl From<String> for $name {
            /// An id read back from storage, where it was checked when written.
            fn from(stored: String) -> Self {
                Self(stored)
            }
        }

        impl From<&str> for $name {
            /// An id read back from storage, where it was checked when written.
            fn from(stored: &str) -> Self {
                Self(stored.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl From<&$name> for String {
            fn from(id: &$name) -> String {
                id.0.clone()
            }
        }

        #[cfg(feature = "sea-orm")]
        impl From<&$name> for sea_orm::Value {
            fn from(id: &$name) -> sea_orm::Value {
                sea_orm::Value::from(id.0.clone())
            }
        }

        impl From<$name> for crate::canonical::Value {
            fn from(id: $name) -> Self {
                crate::canonical::Value::from(id.0)
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        #[cfg(feature = "sea-orm")]
        impl sea_orm::TryFromU64 for $name {
            /// Ids are text, never drawn by the database.
            fn try_from_u64(_: u64) -> std::result::Result<Self, sea_orm::DbErr> {
                Err(sea_orm::DbErr::ConvertFromU64(stringify!($name)))
            }
        }
    )*};
}

typed_id! {
    /// A case (`cases.id`).
    CaseId;
    /// An agency (`agencies.id`).
    AgencyId;
    /// An officer (`officers.id`).
    OfficerId;
    /// A principal: who calls the service (`principals.id`).
    PrincipalId;
    /// A piece of evidence (`evidence.id`).
    EvidenceId;
    /// A decision draft (`drafts.id`).
    DraftId;
    /// A disclosure (`disclosures.id`; a decision's disclosure has its case's id).
    DisclosureId;
    /// A complaint or report (`complaints.id`; its receipt number, RULES T1).
    ComplaintId;
}

impl DisclosureId {
    /// The disclosure of a case's decision, which has its case's id (one decision per case).
    pub fn of_decision(case: &CaseId) -> Self {
        Self(case.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{TestClock, Timestamp};

    #[test]
    fn the_timestamp_follows_the_injected_clock() {
        let at = Timestamp::parse_rfc3339("2025-03-01T08:00:00.123456Z").unwrap();
        let clock = TestClock::new(at);
        let id = new_id(&clock);
        assert_eq!(id_millis(&id), Some(1_740_816_000_123));
        assert_eq!(Uuid::parse_str(&id).unwrap().get_version_num(), 7);
        // Backwards too: the id follows the clock, not the latest time seen.
        clock.set(Timestamp::parse_rfc3339("2001-01-01T00:00:00Z").unwrap());
        assert_eq!(id_millis(&new_id(&clock)), Some(978_307_200_000));
    }

    #[test]
    fn ids_of_one_millisecond_sort_in_drawing_order_and_differ() {
        let clock = TestClock::new(Timestamp::parse_rfc3339("2026-01-05T09:30:00Z").unwrap());
        let ids: Vec<String> = (0..1000).map(|_| new_id(&clock)).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, ids);
        clock.advance_seconds(1);
        let later = new_id(&clock);
        assert!(later > ids[999]);
        assert_eq!(id_millis(&later), id_millis(&ids[0]).map(|m| m + 1000));
    }

    #[test]
    fn typed_ids_are_checked_when_given_and_kept_apart() {
        let clock = TestClock::new(Timestamp::parse_rfc3339("2026-01-05T09:30:00Z").unwrap());
        let case = CaseId::new(&clock);
        assert_eq!(id_millis(case.as_str()), Some(1_767_605_400_000));
        assert_eq!(CaseId::parse("case_id", case.as_str()).unwrap(), case);
        let err = CaseId::parse("case_id", "a b").unwrap_err().to_string();
        assert!(err.contains("case_id"), "{err}");
        assert!(AgencyId::parse("agency_id", "").is_err());
        // The same text under two kinds stays two values of two types; JSON is the bare string.
        let agency = AgencyId::from(case.as_str());
        assert_eq!(agency.as_str(), case.as_str());
        assert_eq!(serde_json::to_string(&case).unwrap(), format!("\"{case}\""));
    }
}
