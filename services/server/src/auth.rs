//! Authentication of every request: a tower layer that resolves the bearer token to a
//! [`Principal`] and puts it in the request's extensions. Authorisation then happens in the
//! handlers through the one policy, `sanxiang_registry::auth::authorize`.

use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use sanxiang_api::status::status;
use sanxiang_registry::{Principal, Registry};
use tonic::Status;
use tonic::body::Body;

use crate::limits::{WriteLimiter, is_write};

/// Services callable without a token: health checking, reflection and the verifiable log.
const PUBLIC_PREFIXES: &[&str] = &[
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1.ServerReflection/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    sanxiang_api::log::PUBLIC_PREFIX,
];

/// Methods callable without a token, that take one if given (the public publicity surface:
/// staff with a token see more).
const OPTIONAL_TOKEN: &[&str] = sanxiang_api::PUBLIC_METHODS;

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
            match registry.authenticate(&token).await {
                Ok(principal) => {
                    if let Some(slot) = req.extensions().get::<crate::observe::PrincipalSlot>() {
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
