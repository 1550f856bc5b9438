//! The baseline server: a bare tonic service answering `sanxiang.v1.RecordService/AppendEvent`
//! (an echo: the event built from the request, no storage) and `UploadEvidence` (the bytes are
//! read and discarded), so the same client code measures what gRPC alone costs on this machine.

use std::convert::Infallible;
use std::task::{Context, Poll};

use sanxiang_proto::v1 as pb;
use tokio_stream::StreamExt;
use tonic::codegen::{Body, BoxFuture, Service, StdError, http};
use tonic::transport::Channel;

/// A running baseline server.
pub struct Baseline {
    /// A channel to it.
    pub channel: Channel,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Baseline {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts the baseline service on `127.0.0.1:0` in this process.
pub async fn start() -> Result<Baseline, crate::Error> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    // TCP_NODELAY as on the real server, so the baseline measures gRPC, not delayed ACKs.
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let task = tokio::spawn(async move {
        let _ = tonic::transport::Server::builder().add_service(Bare).serve_with_incoming(incoming).await;
    });
    let channel = Channel::from_shared(format!("http://{addr}"))?.connect().await?;
    Ok(Baseline { channel, task })
}

/// The bare service, routed under the real service's name.
#[derive(Clone)]
struct Bare;

impl tonic::server::NamedService for Bare {
    const NAME: &'static str = "sanxiang.v1.RecordService";
}

struct Echo;

impl tonic::server::UnaryService<pb::AppendEventRequest> for Echo {
    type Response = pb::Event;
    type Future = BoxFuture<tonic::Response<pb::Event>, tonic::Status>;

    fn call(&mut self, request: tonic::Request<pb::AppendEventRequest>) -> Self::Future {
        let r = request.into_inner();
        Box::pin(async move {
            Ok(tonic::Response::new(pb::Event {
                case_id: r.case_id,
                kind: r.kind,
                occurred_at: r.occurred_at,
                officer_ids: r.officer_ids,
                request_id: r.request_id,
                payload_json: r.text,
                hash: "0".repeat(64),
                ..Default::default()
            }))
        })
    }
}

struct Discard;

impl tonic::server::ClientStreamingService<pb::UploadEvidenceRequest> for Discard {
    type Response = pb::UploadEvidenceResponse;
    type Future = BoxFuture<tonic::Response<pb::UploadEvidenceResponse>, tonic::Status>;

    fn call(&mut self, request: tonic::Request<tonic::Streaming<pb::UploadEvidenceRequest>>) -> Self::Future {
        let mut stream = request.into_inner();
        Box::pin(async move {
            let mut size = 0u64;
            while let Some(m) = stream.next().await {
                if let Some(pb::upload_evidence_request::Part::Chunk(c)) = m?.part {
                    size += c.len() as u64;
                }
            }
            Ok(tonic::Response::new(pb::UploadEvidenceResponse {
                evidence: Some(pb::Evidence { size, ..Default::default() }),
                deduplicated: false,
            }))
        })
    }
}

impl<B> Service<http::Request<B>> for Bare
where
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let max = crate::MAX_MESSAGE;
        match req.uri().path() {
            "/sanxiang.v1.RecordService/AppendEvent" => Box::pin(async move {
                let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::default())
                    .apply_max_message_size_config(Some(max), Some(max));
                Ok(grpc.unary(Echo, req).await)
            }),
            "/sanxiang.v1.RecordService/UploadEvidence" => Box::pin(async move {
                let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::default())
                    .apply_max_message_size_config(Some(max), Some(max));
                Ok(grpc.client_streaming(Discard, req).await)
            }),
            _ => Box::pin(async move { Ok(tonic::Status::unimplemented("not part of the baseline").into_http()) }),
        }
    }
}
