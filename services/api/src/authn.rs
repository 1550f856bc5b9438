//! Authentication of every request, at the edge: a tower layer that resolves the bearer token to
//! a [`Principal`] and puts it in the request's extensions, and limits each principal's writes
//! (a token bucket per principal id) since it is where the principal is first known.
//! Authorisation then happens in the handlers through [`crate::authz`].
//!
//! Writes are limited per principal, not per address: a device fleet behind one NAT shares an
//! address, while one leaked or runaway token is exactly what must be slowed. Reads are not
//! limited here (the public HTTP surface has its own per-address limit).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use sanxiang_registry::{Principal, Registry};
use tonic::Status;
use tonic::body::Body;

use crate::status::status;

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
    "GetFilingPolicy",
    "GetFiling",
    "ListFilings",
    "GetFilingReport",
    "ListComplaints",
    "ListReporterAccess",
    "GetComplaintStatistics",
    "GetComplaintPolicy",
    "GetCheckpoint",
    "GetInclusionProof",
    "GetConsistencyProof",
];

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

/// Where the authentication layer leaves the caller's principal id for the access log.
#[derive(Debug, Clone, Default)]
pub struct PrincipalSlot(Arc<OnceLock<String>>);

impl PrincipalSlot {
    /// Records the authenticated principal (of this request) in the slot and on the request's
    /// span.
    pub fn set(&self, principal_id: &str) {
        let _ = self.0.set(principal_id.to_owned());
        tracing::Span::current().record("principal", principal_id);
    }

    /// The principal id recorded, or `-` before authentication.
    pub fn get(&self) -> &str {
        self.0.get().map(String::as_str).unwrap_or("-")
    }
}

/// Services callable without a token: health checking, reflection and the verifiable log.
const PUBLIC_PREFIXES: &[&str] = &[
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1.ServerReflection/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    crate::log::PUBLIC_PREFIX,
];

/// The method whose caller is judged from memory and re-judged by the record writer under its
/// lock (`Registry::authenticate_deferred`): the hot path of the record.
const DEFERRED: &str = "/sanxiang.v1.RecordService/AppendEvent";

/// Methods callable without a token, that take one if given (the public publicity surface:
/// staff with a token see more).
const OPTIONAL_TOKEN: &[&str] = crate::PUBLIC_METHODS;

/// The authentication layer; it also applies each principal's write rate limit, since it is
/// where the principal is first known.
#[derive(Debug, Clone)]
pub struct AuthLayer {
    registry: Registry,
    writes: Arc<WriteLimiter>,
}

impl AuthLayer {
    /// Authenticates against `registry`, and limits each principal's writes by `writes`.
    pub fn new(registry: Registry, writes: WriteLimiter) -> Self {
        Self { registry, writes: Arc::new(writes) }
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = Authenticate<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authenticate { inner, registry: self.registry.clone(), writes: Arc::clone(&self.writes) }
    }
}

/// The authenticating service.
#[derive(Debug, Clone)]
pub struct Authenticate<S> {
    inner: S,
    registry: Registry,
    writes: Arc<WriteLimiter>,
}

impl<S> tower::Service<http::Request<Body>> for Authenticate<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<Body>) -> Self::Future {
        // The ready service is the one that must be called; leave a fresh clone in its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let registry = self.registry.clone();
        let writes = Arc::clone(&self.writes);
        Box::pin(async move {
            let path = req.uri().path();
            if PUBLIC_PREFIXES.iter().any(|p| path.starts_with(p)) {
                return inner.call(req).await;
            }
            let token = req
                .headers()
                .get(http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .map(str::to_owned);
            let Some(token) = token else {
                if OPTIONAL_TOKEN.contains(&path) {
                    return inner.call(req).await;
                }
                return Ok(Status::unauthenticated("missing bearer token (authorization: Bearer <token>)").into_http());
            };
            // AppendEvent's caller is judged from memory and re-judged by the writer at commit;
            // every other call reads the directory's counter first.
            let judged = if path == DEFERRED {
                registry.authenticate_deferred(&token).await
            } else {
                registry.authenticate(&token).await
            };
            match judged {
                Ok(principal) => {
                    if let Some(slot) = req.extensions().get::<PrincipalSlot>() {
                        slot.set(&principal.id);
                    }
                    tracing::debug!(principal = %principal.id, role = principal.role.as_str(), %path, "authenticated");
                    if is_write(path)
                        && let Err(wait) = writes.take(&principal.id)
                    {
                        tracing::info!(principal = %principal.id, %path, "write rate limit reached");
                        return Ok(writes.refusal(wait).into_http());
                    }
                    req.extensions_mut().insert::<Principal>(principal);
                    inner.call(req).await
                }
                Err(e) => Ok(status(e).into_http()),
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
