//! Answers tonic makes itself, before a handler runs, put in the API's terms: a request message
//! larger than the server accepts is `RESOURCE_EXHAUSTED` (the gRPC convention for a message
//! over the size limit), where tonic's decoder answers `OUT_OF_RANGE`. The services themselves
//! never answer `OUT_OF_RANGE`, so every such status in a response's headers is tonic's.

use std::task::{Context, Poll};

use futures::future::BoxFuture;
use http::HeaderValue;
use tonic::body::Body;

/// `grpc-status` of `OUT_OF_RANGE` and of `RESOURCE_EXHAUSTED`.
const OUT_OF_RANGE: &str = "11";
const RESOURCE_EXHAUSTED: &str = "8";

/// The layer that rewrites tonic's own answers.
#[derive(Debug, Clone, Default)]
pub struct WireLayer;

impl<S> tower::Layer<S> for WireLayer {
    type Service = Wire<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Wire { inner }
    }
}

/// The rewriting service.
#[derive(Debug, Clone)]
pub struct Wire<S> {
    inner: S,
}

impl<S> tower::Service<http::Request<Body>> for Wire<S>
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
        let answer = self.inner.call(req);
        Box::pin(async move {
            let mut r = answer.await?;
            // A refusal before any response message is a trailers-only response: the status is
            // in the headers.
            if r.headers().get("grpc-status").is_some_and(|v| v == OUT_OF_RANGE) {
                r.headers_mut().insert("grpc-status", HeaderValue::from_static(RESOURCE_EXHAUSTED));
            }
            Ok(r)
        })
    }
}
