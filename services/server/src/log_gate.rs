//! Refuses every write while the database disagrees with the verifiable log (the start-up check
//! of `sanxiang_log::Log::check_at_start` found it rolled back or truncated): appending on top of a
//! truncated record would hide the truncation. Reads stay available, so the damage can be examined.

use std::task::{Context, Poll};

use futures::future::BoxFuture;
use sanxiang_log::WriteGate;
use tonic::Status;
use tonic::body::Body;

use sanxiang_api::authn::is_write;

/// The layer.
#[derive(Debug, Clone)]
pub struct LogGateLayer {
    gate: WriteGate,
}

impl LogGateLayer {
    /// Refuses writes when `gate` says so.
    pub fn new(gate: WriteGate) -> Self {
        Self { gate }
    }
}

impl<S> tower::Layer<S> for LogGateLayer {
    type Service = LogGate<S>;

    fn layer(&self, inner: S) -> Self::Service {
        LogGate { inner, gate: self.gate.clone() }
    }
}

/// The service.
#[derive(Debug, Clone)]
pub struct LogGate<S> {
    inner: S,
    gate: WriteGate,
}

impl<S> tower::Service<http::Request<Body>> for LogGate<S>
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
        let path = req.uri().path();
        let refused = path.starts_with("/sanxiang.v1.") && is_write(path);
        if let Some(reason) = self.gate.refusal().filter(|_| refused) {
            let status = Status::failed_precondition(format!(
                "log.consistent: writes are refused because the database disagrees with the verifiable log: {reason}"
            ));
            return Box::pin(async move { Ok(status.into_http()) });
        }
        let fut = self.inner.call(req);
        Box::pin(fut)
    }
}
