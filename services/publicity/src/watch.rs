//! Bounds on anonymous `WatchDisclosures` streams: each holds a task and a connection for as long
//! as the client likes, so the streams of one client address, and of everyone, are capped. Past a
//! cap the call is refused with `RESOURCE_EXHAUSTED` and a retry hint.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use sanxiang_domain::Error;

/// Caps on open anonymous watch streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchLimits {
    /// Streams one client address may hold open.
    pub per_address: u32,
    /// Streams everyone together may hold open.
    pub total: u32,
}

impl Default for WatchLimits {
    fn default() -> Self {
        Self { per_address: 8, total: 1024 }
    }
}

/// Seconds a refused client is told to wait before trying again.
pub const RETRY_AFTER_SECONDS: u64 = 30;

#[derive(Debug, Default)]
struct Open {
    total: u32,
    by_address: HashMap<IpAddr, u32>,
}

/// The open anonymous streams, counted.
#[derive(Debug, Clone)]
pub struct Watchers {
    limits: WatchLimits,
    open: Arc<Mutex<Open>>,
}

/// One admitted stream; dropping it (when the stream ends) frees its place.
#[derive(Debug)]
pub struct Admitted {
    open: Arc<Mutex<Open>>,
    address: Option<IpAddr>,
}

impl Watchers {
    /// Counts streams against `limits`.
    pub fn new(limits: WatchLimits) -> Self {
        Self { limits, open: Arc::default() }
    }

    /// Admits a stream of `address` (unknown: counted in the total only), or refuses it with
    /// `RESOURCE_EXHAUSTED` naming the cap reached.
    pub fn admit(&self, address: Option<IpAddr>) -> Result<Admitted, Error> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if open.total >= self.limits.total {
            return Err(Error::ResourceExhausted(format!(
                "{} disclosure watchers are open, the most the server keeps; retry in {RETRY_AFTER_SECONDS} s",
                self.limits.total
            )));
        }
        if let Some(a) = address {
            let mine = open.by_address.entry(a).or_default();
            if *mine >= self.limits.per_address {
                return Err(Error::ResourceExhausted(format!(
                    "{} disclosure watchers are open from this address, the most one address may hold; close one or retry in {RETRY_AFTER_SECONDS} s",
                    self.limits.per_address
                )));
            }
            *mine += 1;
        }
        open.total += 1;
        Ok(Admitted { open: Arc::clone(&self.open), address })
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.total = open.total.saturating_sub(1);
        if let Some(a) = self.address
            && let Some(n) = open.by_address.get_mut(&a)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.by_address.remove(&a);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_capped_per_address_and_in_total_and_freed_when_they_end() {
        let w = Watchers::new(WatchLimits { per_address: 2, total: 3 });
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let first = w.admit(Some(a)).unwrap();
        let _second = w.admit(Some(a)).unwrap();
        assert!(matches!(w.admit(Some(a)), Err(Error::ResourceExhausted(m)) if m.contains("this address")));
        let _third = w.admit(Some(b)).unwrap();
        assert!(
            matches!(w.admit(Some(b)), Err(Error::ResourceExhausted(m)) if m.contains("the most the server keeps"))
        );
        drop(first);
        w.admit(Some(b)).expect("a place was freed");
    }
}
