//! Request limits of the gRPC port: a rate limit on each principal's writes (a token bucket per
//! principal id) and a deadline on every call.
//!
//! Writes are limited per principal, not per address: a device fleet behind one NAT shares an
//! address, while one leaked or runaway token is exactly what must be slowed. Reads are not
//! limited here (the public HTTP surface has its own per-address limit).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use tonic::Status;
use tonic::body::Body;

/// Methods that change nothing stored. Every other method counts as a write, so a method added
/// later is limited until it is listed here.
const READ_METHODS: &[&str] = &[
    "GetCase",
    "ListCases",
    "ListEvents",
    "GetUpload",
    "GetEvidence",
    "VerifyCase",
    "ExportCase",
    "GetAgency",
    "ListAgencies",
    "ListOfficers",
    "WhoAmI",
    "GetCatalog",
    "GetDraft",
    "ListReviewQueue",
    "ListNotices",
    "GetPublicityPolicy",
    "ListDisclosures",
    "GetDisclosure",
    "WatchDisclosures",
    "GetAnnualReport",
    "ListOverdue",
    "GetStatistics",
    "GetCheckpoint",
    "GetInclusionProof",
    "GetConsistencyProof",
];

/// Calls the deadline does not bound: a client-streaming upload lasts as long as its content
/// takes to arrive (it resumes where it stopped if cut). Server streams are bounded only until
/// their first response, since the handler returns the stream before it is consumed.
const NO_DEADLINE: &[&str] = &["/sanxiang.v1.RecordService/UploadEvidence"];

/// Whether the gRPC method at `path` (`/package.Service/Method`) writes. `DownloadEvidence`
/// writes: each retrieval is recorded (RULES R7).
pub fn is_write(path: &str) -> bool {
    let method = path.rsplit('/').next().unwrap_or_default();
    !READ_METHODS.contains(&method)
}

/// A write rate: `burst` writes at once, regaining `per_second` a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteRate {
    /// Writes a principal may make in a burst.
    pub burst: u32,
    /// Writes a second a principal regains.
    pub per_second: u32,
}

/// Token buckets by principal id.
#[derive(Debug)]
pub struct WriteLimiter {
    rate: WriteRate,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl WriteLimiter {
    /// Limits every principal to `rate`.
    pub fn new(rate: WriteRate) -> Self {
        Self { rate, buckets: Mutex::default() }
    }

    /// Takes one write for `principal`, or says how long until one is regained.
    pub fn take(&self, principal: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let burst = f64::from(self.rate.burst.max(1));
        let rate = f64::from(self.rate.per_second.max(1));
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() > 100_000 {
            // Forget principals whose buckets are full again: bounded memory.
            buckets.retain(|_, (tokens, at)| *tokens + now.duration_since(*at).as_secs_f64() * rate < burst);
        }
        let (tokens, at) = buckets.entry(principal.to_owned()).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / rate))
        }
    }

    /// `RESOURCE_EXHAUSTED` for a principal over its rate, with when to retry.
    pub fn refusal(&self, wait: Duration) -> Status {
        let millis = wait.as_millis().max(1);
        let mut status = Status::resource_exhausted(format!(
            "write rate limit reached: {} writes in a burst, {} a second after that; retry after {millis} ms",
            self.rate.burst, self.rate.per_second
        ));
        // A machine-readable hint as well, for clients that back off by it.
        if let Ok(v) = millis.to_string().parse() {
            status.metadata_mut().insert("retry-after-ms", v);
        }
        status
    }
}

/// The layer that gives every call a deadline.
#[derive(Debug, Clone, Copy)]
pub struct DeadlineLayer {
    timeout: Duration,
}

impl DeadlineLayer {
    /// Calls not finished within `timeout` are `DEADLINE_EXCEEDED`.
    pub fn new(timeout: Duration) -> Self {
        Self { timeout }
    }
}

impl<S> tower::Layer<S> for DeadlineLayer {
    type Service = Deadline<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Deadline { inner, timeout: self.timeout }
    }
}

/// The service that cuts a call short at its deadline.
#[derive(Debug, Clone)]
pub struct Deadline<S> {
    inner: S,
    timeout: Duration,
}

impl<S> tower::Service<http::Request<Body>> for Deadline<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        let exempt = NO_DEADLINE.contains(&req.uri().path());
        let timeout = self.timeout;
        let answer = self.inner.call(req);
        Box::pin(async move {
            if exempt {
                return answer.await;
            }
            // Dropping the handler's future cancels it; a write's transaction is rolled back.
            match tokio::time::timeout(timeout, answer).await {
                Ok(r) => r,
                Err(_) => Ok(Status::deadline_exceeded(format!(
                    "the call did not finish within the server's request timeout of {} ms",
                    timeout.as_millis()
                ))
                .into_http()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_are_told_apart() {
        assert!(!is_write("/sanxiang.v1.RecordService/GetCase"));
        assert!(!is_write("/sanxiang.v1.PublicityService/WatchDisclosures"));
        assert!(is_write("/sanxiang.v1.RecordService/AppendEvent"));
        assert!(is_write("/sanxiang.v1.RecordService/DownloadEvidence"));
        assert!(is_write("/sanxiang.v1.RegistryService/IssueToken"));
        assert!(is_write("/sanxiang.v1.RecordService/SomeMethodAddedLater"));
    }

    #[test]
    fn a_bucket_allows_its_burst_then_refuses_with_a_wait() {
        let l = WriteLimiter::new(WriteRate { burst: 3, per_second: 1 });
        for _ in 0..3 {
            assert!(l.take("p1").is_ok());
        }
        let wait = l.take("p1").expect_err("the fourth write in a burst");
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1), "{wait:?}");
        assert!(l.take("p2").is_ok(), "another principal has its own bucket");
    }
}
