//! The baseline server: a bare tonic service answering `sanxiang.v1.RecordService/AppendEvent`
//! (an echo: the event built from the request, no storage) and `UploadEvidence` (the bytes are
//! read and discarded, written to a file with the server's `fsync` policy, or written once into an
//! object store as one multipart upload), so the same client code measures what gRPC alone, and
//! gRPC plus the disk or the store, cost on this machine.

use std::convert::Infallible;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
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

/// Where the baseline's `UploadEvidence` puts the bytes it receives.
#[derive(Clone, Debug)]
pub enum Sink {
    /// Read and dropped: what gRPC alone costs.
    Discard,
    /// Written to a new file in this directory the way the server's local store writes an
    /// upload: received 8 MiB parts written while the next is received, each `fsync`ed, then
    /// the file hard-linked to a second name and the directory `fsync`ed.
    File(Arc<tempfile::TempDir>),
    /// Written once into this object store (an S3 bucket) as one multipart upload of 8 MiB
    /// parts under a new name, each part sent while the next is received: what the store alone
    /// allows for the bytes of an upload.
    Store(Arc<dyn object_store::ObjectStore>),
}

/// The size of a part the server `fsync`s (its staging part size).
const PART: usize = 8 << 20;

/// Starts the baseline service on `127.0.0.1:0` in this process, discarding uploads.
pub async fn start() -> Result<Baseline, crate::Error> {
    start_with(Sink::Discard).await
}

/// Starts the baseline service with uploads going to `sink`.
pub async fn start_with(sink: Sink) -> Result<Baseline, crate::Error> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    // TCP_NODELAY as on the real server, so the baseline measures gRPC, not delayed ACKs.
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let task = tokio::spawn(async move {
        let _ = tonic::transport::Server::builder().add_service(Bare { sink }).serve_with_incoming(incoming).await;
    });
    let channel = Channel::from_shared(format!("http://{addr}"))?.connect().await?;
    Ok(Baseline { channel, task })
}

/// The bare service, routed under the real service's name.
#[derive(Clone)]
struct Bare {
    sink: Sink,
}

impl tonic::server::NamedService for Bare {
    const NAME: &'static str = "sanxiang.v1.RecordService";
}

struct Echo;

impl tonic::server::UnaryService<pb::AppendEventRequest> for Echo {
    type Response = pb::AppendEventResponse;
    type Future = BoxFuture<tonic::Response<pb::AppendEventResponse>, tonic::Status>;

    fn call(&mut self, request: tonic::Request<pb::AppendEventRequest>) -> Self::Future {
        let r = request.into_inner();
        Box::pin(async move {
            Ok(tonic::Response::new(pb::AppendEventResponse {
                event: Some(pb::Event {
                    case_id: r.case_id,
                    kind: r.kind,
                    occurred_at: r.occurred_at,
                    officer_ids: r.officer_ids,
                    request_id: r.request_id,
                    payload_json: r.text,
                    hash: "0".repeat(64),
                    ..Default::default()
                }),
            }))
        })
    }
}

struct Discard {
    sink: Sink,
}

/// Writes one part and `fsync`s it, on a blocking thread.
fn write_part(mut file: std::fs::File, part: Vec<bytes::Bytes>) -> std::io::Result<std::fs::File> {
    for chunk in &part {
        file.write_all(chunk)?;
    }
    file.sync_data()?;
    Ok(file)
}

fn io(e: impl std::fmt::Display) -> tonic::Status {
    tonic::Status::internal(format!("baseline file: {e}"))
}

/// Streams an upload's chunks into one multipart upload on `store`, parts of [`PART`] bytes, one
/// part sent while the next is received; the object is deleted again once complete.
async fn to_store(
    store: &dyn object_store::ObjectStore,
    stream: &mut tonic::Streaming<pb::UploadEvidenceRequest>,
) -> Result<u64, tonic::Status> {
    use object_store::ObjectStoreExt;
    let store_err = |e: object_store::Error| tonic::Status::internal(format!("baseline store: {e}"));
    let path = object_store::path::Path::from(format!("bench-baseline/{}", uuid::Uuid::now_v7()));
    let upload = store.put_multipart(&path).await.map_err(store_err)?;
    let mut writer = object_store::WriteMultipart::new_with_chunk_size(upload, PART);
    let mut size = 0u64;
    while let Some(m) = stream.next().await {
        if let Some(pb::upload_evidence_request::Part::Chunk(c)) = m?.part {
            size += c.len() as u64;
            writer.wait_for_capacity(2).await.map_err(store_err)?;
            writer.put(c);
        }
    }
    writer.finish().await.map_err(store_err)?;
    store.delete(&path).await.map_err(store_err)?;
    Ok(size)
}

impl tonic::server::ClientStreamingService<pb::UploadEvidenceRequest> for Discard {
    type Response = pb::UploadEvidenceResponse;
    type Future = BoxFuture<tonic::Response<pb::UploadEvidenceResponse>, tonic::Status>;

    fn call(&mut self, request: tonic::Request<tonic::Streaming<pb::UploadEvidenceRequest>>) -> Self::Future {
        let mut stream = request.into_inner();
        let sink = self.sink.clone();
        Box::pin(async move {
            if let Sink::Store(store) = &sink {
                let size = to_store(store.as_ref(), &mut stream).await?;
                return Ok(tonic::Response::new(pb::UploadEvidenceResponse {
                    evidence: Some(pb::Evidence { size, ..Default::default() }),
                    deduplicated: false,
                }));
            }
            let target: Option<(PathBuf, PathBuf)> = match &sink {
                Sink::Discard | Sink::Store(_) => None,
                Sink::File(dir) => {
                    let name = uuid::Uuid::now_v7().to_string();
                    Some((dir.path().join(format!("{name}.staging")), dir.path().join(name)))
                }
            };
            let mut file = match &target {
                Some((staging, _)) => Some(std::fs::File::create(staging).map_err(io)?),
                None => None,
            };
            // The part being written while the next is received.
            let mut writing: Option<tokio::task::JoinHandle<std::io::Result<std::fs::File>>> = None;
            let mut part: Vec<bytes::Bytes> = Vec::new();
            let mut buffered = 0usize;
            let mut size = 0u64;
            loop {
                let next = stream.next().await;
                let last = next.is_none();
                if let Some(m) = next
                    && let Some(pb::upload_evidence_request::Part::Chunk(c)) = m?.part
                {
                    size += c.len() as u64;
                    if file.is_some() || writing.is_some() {
                        buffered += c.len();
                        part.push(c);
                    }
                }
                if target.is_some() && (buffered >= PART || (last && buffered > 0)) {
                    let f = match writing.take() {
                        Some(w) => w.await.map_err(io)?.map_err(io)?,
                        None => file.take().ok_or_else(|| io("no file"))?,
                    };
                    let data = std::mem::take(&mut part);
                    buffered = 0;
                    writing = Some(tokio::task::spawn_blocking(move || write_part(f, data)));
                }
                if last {
                    break;
                }
            }
            if let Some((staging, object)) = target {
                if let Some(w) = writing.take() {
                    w.await.map_err(io)?.map_err(io)?;
                }
                tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                    std::fs::hard_link(&staging, &object)?;
                    std::fs::remove_file(&staging)?;
                    if let Some(dir) = object.parent() {
                        std::fs::File::open(dir)?.sync_all()?;
                    }
                    Ok(())
                })
                .await
                .map_err(io)?
                .map_err(io)?;
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
            "/sanxiang.v1.RecordService/UploadEvidence" => {
                let sink = self.sink.clone();
                Box::pin(async move {
                    let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::default())
                        .apply_max_message_size_config(Some(max), Some(max));
                    Ok(grpc.client_streaming(Discard { sink }, req).await)
                })
            }
            _ => Box::pin(async move { Ok(tonic::Status::unimplemented("not part of the baseline").into_http()) }),
        }
    }
}
