//! What operators see of each request: one access-log line at info (method, code, latency,
//! principal id and request id — never the token, the request or personal data), Prometheus
//! metrics, and a tracing span (exported over OTLP when configured) with the request id and
//! principal. A tower layer on the gRPC server and a middleware on the public HTTP router.

use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use futures::future::BoxFuture;
use http::HeaderValue;
use http_body::{Frame, SizeHint};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use sanxiang_api::authn::PrincipalSlot;
use tonic::body::Body;
use tracing::Instrument as _;

/// Metric names, one place (docs/OPERATIONS.md lists them).
pub mod names {
    /// gRPC calls by service, method and status code (counter).
    pub const GRPC_REQUESTS: &str = "sanxiang_grpc_requests_total";
    /// gRPC call duration to the end of the response stream, in seconds (histogram).
    pub const GRPC_DURATION: &str = "sanxiang_grpc_request_duration_seconds";
    /// Public HTTP requests by route template, method and status (counter).
    pub const HTTP_REQUESTS: &str = "sanxiang_http_requests_total";
    /// Public HTTP request duration, in seconds (histogram).
    pub const HTTP_DURATION: &str = "sanxiang_http_request_duration_seconds";
    /// Evidence bytes received by `UploadEvidence` (counter).
    pub const UPLOAD_BYTES: &str = "sanxiang_upload_bytes_total";
    /// Evidence bytes sent by `DownloadEvidence` (counter).
    pub const DOWNLOAD_BYTES: &str = "sanxiang_download_bytes_total";
    /// Database connections of this replica's pool, by state `idle` or `in_use` (gauge).
    pub const DB_POOL: &str = "sanxiang_db_pool_connections";
    /// PostgreSQL: 1 while this replica hears the database's change notices, else 0 (gauge).
    pub const CHANGE_NOTICES: &str = "sanxiang_change_notices_listening";
    /// Most connections the pool may open (gauge).
    pub const DB_POOL_MAX: &str = "sanxiang_db_pool_max_connections";
    /// 1, labelled with the version (gauge).
    pub const BUILD_INFO: &str = "sanxiang_build_info";
}

/// Histogram buckets, in seconds: from a cached read (~1 ms) to a large upload (minutes).
const DURATION_BUCKETS: &[f64] =
    &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];

/// Events per writer batch (`sanxiang_writer_batch_size`, recorded by the writer): powers of two
/// up to its limit of 512.
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// The process's metrics recorder, installed once (the `metrics` facade has one global
/// recorder); `None` if another recorder was installed first.
pub fn prometheus() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new().set_buckets(DURATION_BUCKETS).and_then(|b| {
                b.set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Suffix("_batch_size".into()),
                    BATCH_BUCKETS,
                )
            });
            match builder.and_then(PrometheusBuilder::install_recorder) {
                Ok(handle) => {
                    metrics::gauge!(names::BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
                    Some(handle)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "metrics are not recorded: cannot install the recorder");
                    None
                }
            }
        })
        .as_ref()
}

/// The request id header: taken from the client when it sends a sane one, else made here, and
/// returned on the response either way.
pub const REQUEST_ID: &str = "x-request-id";

/// A client's request id, if it is short and plain enough to log.
fn client_request_id(headers: &http::HeaderMap) -> Option<String> {
    let v = headers.get(REQUEST_ID)?.to_str().ok()?;
    let plain = !v.is_empty()
        && v.len() <= 64
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    plain.then(|| v.to_owned())
}

fn request_id(headers: &http::HeaderMap) -> String {
    client_request_id(headers).unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
}

/// `grpc-status` as its name (`OK`, `NOT_FOUND`, …).
fn code_name(status: &HeaderValue) -> &'static str {
    let code = status.to_str().ok().and_then(|s| s.parse::<i32>().ok()).unwrap_or(2);
    grpc_code_name(tonic::Code::from_i32(code))
}

/// A gRPC status code by the name the gRPC specification and docs/API.md give it (`NOT_FOUND`,
/// `PERMISSION_DENIED`, …), not the Rust variant's.
pub(crate) fn grpc_code_name(code: tonic::Code) -> &'static str {
    match code {
        tonic::Code::Ok => "OK",
        tonic::Code::Cancelled => "CANCELLED",
        tonic::Code::Unknown => "UNKNOWN",
        tonic::Code::InvalidArgument => "INVALID_ARGUMENT",
        tonic::Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        tonic::Code::NotFound => "NOT_FOUND",
        tonic::Code::AlreadyExists => "ALREADY_EXISTS",
        tonic::Code::PermissionDenied => "PERMISSION_DENIED",
        tonic::Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        tonic::Code::FailedPrecondition => "FAILED_PRECONDITION",
        tonic::Code::Aborted => "ABORTED",
        tonic::Code::OutOfRange => "OUT_OF_RANGE",
        tonic::Code::Unimplemented => "UNIMPLEMENTED",
        tonic::Code::Internal => "INTERNAL",
        tonic::Code::Unavailable => "UNAVAILABLE",
        tonic::Code::DataLoss => "DATA_LOSS",
        tonic::Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The gRPC observing layer; outermost, so it sees the status every other layer answered.
#[derive(Debug, Clone, Default)]
pub struct GrpcObserveLayer;

impl<S> tower::Layer<S> for GrpcObserveLayer {
    type Service = GrpcObserve<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcObserve { inner }
    }
}

/// The gRPC observing service.
#[derive(Debug, Clone)]
pub struct GrpcObserve<S> {
    inner: S,
}

/// What one gRPC call is, for its log line and metrics when it ends.
struct Call {
    service: String,
    method: String,
    request_id: String,
    principal: PrincipalSlot,
    start: Instant,
    span: tracing::Span,
    /// The metric that counts this call's response bytes (downloads), if any.
    response_bytes: Option<&'static str>,
}

impl Call {
    fn finish(self, code: &'static str) {
        let latency = self.start.elapsed();
        // A method tonic does not know keeps its name out of the labels: clients choose it.
        let method = if code == "UNIMPLEMENTED" { "unknown" } else { self.method.as_str() };
        let labels = [("service", self.service.clone()), ("method", method.to_owned())];
        let with_code = [labels[0].clone(), labels[1].clone(), ("code", code.to_owned())];
        metrics::counter!(names::GRPC_REQUESTS, &with_code[..]).increment(1);
        metrics::histogram!(names::GRPC_DURATION, &labels[..]).record(latency.as_secs_f64());
        let _entered = self.span.enter();
        tracing::info!(
            target: "sanxiang::access",
            rpc = %format_args!("{}/{}", self.service, method),
            code = %code,
            latency_ms = latency.as_secs_f64() * 1000.0,
            principal = %self.principal.get(),
            request_id = %self.request_id,
            "grpc request"
        );
    }
}

impl<S> tower::Service<http::Request<Body>> for GrpcObserve<S>
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

    fn call(&mut self, mut req: http::Request<Body>) -> Self::Future {
        let start = Instant::now();
        let path = req.uri().path().trim_start_matches('/');
        let (service, method) = path.split_once('/').unwrap_or((path, ""));
        let (service, method) = (service.to_owned(), method.to_owned());
        let request_id = request_id(req.headers());
        let principal = PrincipalSlot::default();
        req.extensions_mut().insert(principal.clone());
        let span = tracing::info_span!(
            "grpc",
            otel.name = %format_args!("{service}/{method}"),
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.service = %service,
            rpc.method = %method,
            request_id = %request_id,
            principal = tracing::field::Empty,
            rpc.grpc.status_code = tracing::field::Empty,
        );
        let upload = service == "sanxiang.v1.RecordService" && method == "UploadEvidence";
        let response_bytes =
            (service == "sanxiang.v1.RecordService" && method == "DownloadEvidence").then_some(names::DOWNLOAD_BYTES);
        if upload {
            req = req.map(|b| Body::new(Counted { inner: b }));
        }
        let answer = self.inner.call(req).instrument(span.clone());
        Box::pin(async move {
            let mut response = answer.await?;
            if let Ok(v) = HeaderValue::from_str(&request_id) {
                response.headers_mut().insert(REQUEST_ID, v);
            }
            let call = Call { service, method, request_id, principal, start, span, response_bytes };
            // A refusal before any message is trailers-only: the status is in the headers.
            if let Some(status) = response.headers().get("grpc-status") {
                let code = code_name(status);
                call.span.record("rpc.grpc.status_code", code);
                call.finish(code);
                return Ok(response);
            }
            Ok(response.map(|inner| Body::new(Observed { inner, call: Some(call) })))
        })
    }
}

/// A request body whose data bytes are counted as upload bytes.
struct Counted {
    inner: Body,
}

impl http_body::Body for Counted {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let frame = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        if let Some(Ok(f)) = &frame
            && let Some(data) = f.data_ref()
        {
            metrics::counter!(names::UPLOAD_BYTES).increment(data.len() as u64);
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that ends its call's observation at the trailers (or when dropped early:
/// the client went away).
struct Observed {
    inner: Body,
    call: Option<Call>,
}

impl http_body::Body for Observed {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let frame = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        let code = match &frame {
            Some(Ok(f)) => match f.trailers_ref() {
                Some(t) => Some(t.get("grpc-status").map_or("UNKNOWN", code_name)),
                None => {
                    if let (Some(data), Some(metric)) =
                        (f.data_ref(), self.call.as_ref().and_then(|c| c.response_bytes))
                    {
                        metrics::counter!(metric).increment(data.len() as u64);
                    }
                    None
                }
            },
            Some(Err(status)) => Some(code_name(&HeaderValue::from(status.code() as i32))),
            None => Some("UNKNOWN"),
        };
        if let Some(code) = code
            && let Some(call) = self.call.take()
        {
            call.span.record("rpc.grpc.status_code", code);
            call.finish(code);
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Observed {
    fn drop(&mut self) {
        if let Some(call) = self.call.take() {
            call.finish("CANCELLED");
        }
    }
}

/// Middleware of the public HTTP router (added with `Router::layer`, so the matched route
/// template is known): metrics by route template, and the access-log line.
pub async fn http(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |m| m.as_str()).to_owned();
    let method = req.method().as_str().to_owned();
    let request_id = request_id(req.headers());
    let span = tracing::info_span!(
        "http",
        otel.name = %format_args!("{method} {route}"),
        otel.kind = "server",
        http.request.method = %method,
        http.route = %route,
        request_id = %request_id,
    );
    let mut response = next.run(req).instrument(span.clone()).await;
    let latency = start.elapsed();
    let status = response.status().as_u16().to_string();
    metrics::counter!(names::HTTP_REQUESTS, "route" => route.clone(), "method" => method.clone(), "status" => status.clone())
        .increment(1);
    metrics::histogram!(names::HTTP_DURATION, "route" => route.clone(), "method" => method.clone())
        .record(latency.as_secs_f64());
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, v);
    }
    let _entered = span.enter();
    tracing::info!(
        target: "sanxiang::access",
        method = %method,
        route = %route,
        status = %status,
        latency_ms = latency.as_secs_f64() * 1000.0,
        request_id = %request_id,
        "http request"
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_request_id_is_kept_only_when_plain() {
        let mut h = http::HeaderMap::new();
        h.insert(REQUEST_ID, HeaderValue::from_static("abc-123_x.y:z"));
        assert_eq!(client_request_id(&h).as_deref(), Some("abc-123_x.y:z"));
        h.insert(REQUEST_ID, HeaderValue::from_static("a b"));
        assert_eq!(client_request_id(&h), None);
        h.insert(REQUEST_ID, HeaderValue::from_str(&"x".repeat(65)).unwrap());
        assert_eq!(client_request_id(&h), None);
        assert_eq!(request_id(&h).len(), 36, "a fresh id is made instead");
    }

    #[test]
    fn status_codes_are_named() {
        assert_eq!(code_name(&HeaderValue::from_static("0")), "OK");
        assert_eq!(code_name(&HeaderValue::from_static("9")), "FAILED_PRECONDITION");
        assert_eq!(code_name(&HeaderValue::from_static("x")), "UNKNOWN");
    }
}
