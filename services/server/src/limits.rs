//! The deadline on every call of the gRPC port (each principal's write rate is limited where the
//! principal is known: `sanxiang_api::authn`).

use std::task::{Context, Poll};
use std::time::Duration;

use futures::future::BoxFuture;
use tonic::Status;
use tonic::body::Body;

/// Calls the deadline does not bound: a client-streaming upload lasts as long as its content
/// takes to arrive (it resumes where it stopped if cut). Server streams are bounded only until
/// their first response, since the handler returns the stream before it is consumed.
const NO_DEADLINE: &[&str] = &["/sanxiang.v1.RecordService/UploadEvidence"];

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
