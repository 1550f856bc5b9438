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
}
