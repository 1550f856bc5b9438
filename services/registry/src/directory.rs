//! The directory: who a bearer token is, what may an officer do, and an agency's row, answered
//! from memory on the hot paths.
//!
//! Every request authenticates and most name officers; reading the token, the principal, the
//! officers with their status changes and the agency from the database made three to four
//! queries per request. The directory keeps them in memory and stays exactly as fresh as the
//! database through a change counter: the `sequences` row [`VERSION_ROW`] is incremented in the
//! same transaction as every change that can take a right away (a token revoked, an officer's
//! status changed), and each request reads the counter once (a primary-key lookup). A request
//! that sees a new value drops every cached token and officer before it answers, so a
//! revocation made by any replica is in force from the next request on, as it was when every
//! request read the rows themselves.
//!
//! What the counter does not cover is never cached: an unknown or revoked token is looked up
//! again each time (so a token issued a moment ago works at once, and an attacker's guesses
//! cannot fill memory). Agencies, which are written once and never changed, are kept for the
//! life of the process, for the time zone an officer's certificate is judged in.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use sanxiang_domain::id::{AgencyId, OfficerId};
use sanxiang_store::entity::{agency, principal};

use crate::registry::OfficerInfo;

/// The `sequences` row counting changes that take a right away.
pub const VERSION_ROW: &str = "directory";

/// Entries each map holds before it starts afresh: bounds the memory of a directory with more
/// tokens or officers than requests ever name.
const MAX_ENTRIES: usize = 65_536;

/// The value of the change counter a cached entry was read under.
pub type Version = i64;

/// The cached rows, tagged with the counter value they are current for.
#[derive(Debug, Default)]
pub(crate) struct Directory {
    state: Mutex<State>,
    agencies: Mutex<HashMap<AgencyId, Arc<agency::Model>>>,
}

#[derive(Debug, Default)]
struct State {
    /// The newest counter value a request has read (the counter only grows); `None` until the
    /// first request read it.
    version: Option<Version>,
    /// Principals by the hash of a token that was not revoked at `version`.
    tokens: HashMap<String, Arc<principal::Model>>,
    /// Officers with their certificate and status history at `version`.
    officers: HashMap<OfficerId, Arc<OfficerInfo>>,
}

impl State {
    /// Moves to the counter value a request has just read: a newer value drops every entry.
    /// Returns whether the entries are current for `version` (an older value, read by a request
    /// that raced with a newer one, finds nothing and changes nothing).
    fn at(&mut self, version: Version) -> bool {
        match self.version {
            Some(v) if v == version => true,
            Some(v) if v > version => false,
            _ => {
                self.tokens.clear();
                self.officers.clear();
                self.version = Some(version);
                true
            }
        }
    }
}

fn bounded<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, V>, key: K, value: V) {
    if map.len() >= MAX_ENTRIES {
        map.clear();
    }
    map.insert(key, value);
}

impl Directory {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The principal of a token hash, if cached at `version`.
    pub(crate) fn token(&self, version: Version, hash: &str) -> Option<Arc<principal::Model>> {
        let mut state = self.state();
        if !state.at(version) {
            return None;
        }
        state.tokens.get(hash).cloned()
    }

    /// The newest counter value any request has read, if one has: what a request that does not
    /// read the counter itself is judged against (and re-judged by the writer, which reads it).
    pub(crate) fn latest(&self) -> Option<Version> {
        self.state().version
    }

    /// Keeps the principal of a live token read at `version` or later. A read that raced with a
    /// newer change (the directory has moved past `version`) is not kept.
    pub(crate) fn put_token(&self, version: Version, hash: String, principal: Arc<principal::Model>) {
        let mut state = self.state();
        if state.version == Some(version) {
            bounded(&mut state.tokens, hash, principal);
        }
    }

    /// The cached officers among `ids` at `version`, and the ids that are not cached.
    pub(crate) fn officers(
        &self,
        version: Version,
        ids: &[OfficerId],
    ) -> (HashMap<OfficerId, Arc<OfficerInfo>>, Vec<OfficerId>) {
        let mut state = self.state();
        let current = state.at(version);
        let mut found = HashMap::with_capacity(ids.len());
        let mut missing = Vec::new();
        if !current {
            return (found, ids.to_vec());
        }
        for id in ids {
            match state.officers.get(id) {
                Some(o) => {
                    found.insert(id.clone(), Arc::clone(o));
                }
                None => missing.push(id.clone()),
            }
        }
        (found, missing)
    }

    /// Keeps officers read at `version` or later (see [`Self::put_token`]).
    pub(crate) fn put_officers(&self, version: Version, officers: impl IntoIterator<Item = Arc<OfficerInfo>>) {
        let mut state = self.state();
        if state.version == Some(version) {
            for o in officers {
                bounded(&mut state.officers, o.id.clone(), o);
            }
        }
    }

    /// Drops every token and officer: called by this process right after it commits a change,
    /// so its own next request does not wait for the counter to tell it.
    pub(crate) fn forget(&self) {
        let mut state = self.state();
        state.tokens.clear();
        state.officers.clear();
    }

    /// A cached agency row.
    pub(crate) fn agency(&self, id: &AgencyId) -> Option<Arc<agency::Model>> {
        self.agencies.lock().unwrap_or_else(PoisonError::into_inner).get(id).cloned()
    }

    /// Keeps an agency row (agencies are never changed once written).
    pub(crate) fn put_agency(&self, a: Arc<agency::Model>) {
        let mut agencies = self.agencies.lock().unwrap_or_else(PoisonError::into_inner);
        bounded(&mut agencies, a.id.clone(), a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use sanxiang_domain::officer::Certificate;

    fn officer(id: &str) -> Arc<OfficerInfo> {
        let day = NaiveDate::from_ymd_opt(2026, 1, 1).expect("date");
        Arc::new(OfficerInfo {
            id: id.into(),
            agency_id: "a".into(),
            name: "n".into(),
            certificate_number: format!("cert-{id}"),
            category: "市场监管".into(),
            area: String::new(),
            certificate: Certificate::enforcement(day, day),
        })
    }

    fn principal(id: &str) -> Arc<principal::Model> {
        Arc::new(principal::Model {
            id: id.into(),
            name: "n".into(),
            role: "officer".into(),
            agency_id: None,
            officer_id: None,
            request_id: None,
            request_digest: None,
            created_at: 0,
        })
    }

    #[test]
    fn a_new_counter_value_drops_what_was_cached() {
        let d = Directory::default();
        assert!(d.token(1, "h").is_none());
        d.put_token(1, "h".into(), principal("p"));
        d.put_officers(1, [officer("o")]);
        assert!(d.token(1, "h").is_some());
        assert_eq!(d.officers(1, &["o".into()]).0.len(), 1);
        // Another replica revoked something: the next request reads 2.
        assert!(d.token(2, "h").is_none());
        let (found, missing) = d.officers(2, &["o".into()]);
        assert!(found.is_empty());
        assert_eq!(missing, vec![OfficerId::from("o")]);
    }

    #[test]
    fn a_read_that_raced_with_a_newer_change_is_not_kept() {
        let d = Directory::default();
        assert!(d.token(1, "h").is_none()); // request A reads counter 1, then the row
        assert!(d.token(2, "x").is_none()); // meanwhile request B sees counter 2
        d.put_token(1, "h".into(), principal("p")); // A's row may predate change 2
        assert!(d.token(2, "h").is_none());
        d.put_officers(1, [officer("o")]);
        assert!(d.officers(2, &["o".into()]).0.is_empty());
    }

    #[test]
    fn an_older_counter_value_finds_nothing_and_changes_nothing() {
        let d = Directory::default();
        assert_eq!(d.latest(), None);
        d.token(3, "x");
        d.put_token(3, "h".into(), principal("p"));
        assert!(d.token(2, "h").is_none(), "a request that read 2 must not see what 3 cached");
        assert_eq!(d.latest(), Some(3));
        assert!(d.token(3, "h").is_some(), "and it must not have dropped it");
        assert!(d.officers(2, &["o".into()]).0.is_empty());
    }

    #[test]
    fn forgetting_keeps_agencies() {
        let d = Directory::default();
        assert!(d.token(0, "h").is_none());
        d.put_token(0, "h".into(), principal("p"));
        assert!(d.token(0, "h").is_some());
        d.put_agency(Arc::new(agency_model()));
        d.forget();
        assert!(d.token(0, "h").is_none());
        assert!(d.agency(&"a".into()).is_some());
    }

    fn agency_model() -> agency::Model {
        agency::Model {
            id: "a".into(),
            name: String::new(),
            credit_code: String::new(),
            region: String::new(),
            parent_id: None,
            powers: String::new(),
            time_zone: String::new(),
            recording_policy: String::new(),
            upload_window_hours: 0,
            request_id: None,
            request_digest: None,
            created_at: 0,
            kind: None,
            government_id: None,
        }
    }
}
