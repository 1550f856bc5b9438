//! The gRPC face of the log (`sanxiang.v1.LogService`): converts messages to the use cases'
//! types and back, nothing more.

use bytes::Bytes;
use sanxiang_domain::Error;
use sanxiang_proto::v1 as pb;
use tonic::{Request, Response, Status};

use sanxiang_log::{CheckpointQuery, LeafRef, Log, SignedCheckpoint};

use crate::status::status;

/// Methods of the service, all public (callable without a token).
pub const PUBLIC_PREFIX: &str = "/sanxiang.v1.LogService/";

/// The service.
#[derive(Debug, Clone)]
pub struct LogApi {
    log: Log,
}

impl LogApi {
    /// Serves `log`.
    pub fn new(log: Log) -> Self {
        Self { log }
    }
}

fn checkpoint(origin: &str, c: SignedCheckpoint, witnessed: bool) -> pb::Checkpoint {
    pb::Checkpoint {
        origin: origin.to_owned(),
        size: c.size,
        root_hash: Bytes::copy_from_slice(&c.root),
        note: c.note,
        cosignatures: c.cosignatures,
        witnessed,
    }
}

#[tonic::async_trait]
impl pb::log_service_server::LogService for LogApi {
    async fn get_checkpoint(
        &self,
        request: Request<pb::GetCheckpointRequest>,
    ) -> Result<Response<pb::GetCheckpointResponse>, Status> {
        let r = request.into_inner();
        let query = match (r.size, r.witnessed) {
            (0, true) => CheckpointQuery::Witnessed,
            (0, false) => CheckpointQuery::Latest,
            (s, false) => CheckpointQuery::Size(s),
            (_, true) => {
                return Err(status(Error::InvalidArgument {
                    field: "size".into(),
                    message: "must be 0 with witnessed".into(),
                }));
            }
        };
        let c = self.log.get_checkpoint(query).await.map_err(status)?;
        let witnessed = self.log.is_witnessed(&c);
        Ok(Response::new(pb::GetCheckpointResponse {
            checkpoint: Some(checkpoint(self.log.origin(), c, witnessed)),
            verifier_key: self.log.vkey(),
        }))
    }

    async fn get_inclusion_proof(
        &self,
        request: Request<pb::GetInclusionProofRequest>,
    ) -> Result<Response<pb::GetInclusionProofResponse>, Status> {
        let r = request.into_inner();
        let leaf = match r.leaf {
            Some(pb::get_inclusion_proof_request::Leaf::GlobalSeq(s)) => LeafRef::GlobalSeq(s),
            Some(pb::get_inclusion_proof_request::Leaf::Event(e)) => {
                LeafRef::Event { case_id: e.case_id, case_seq: e.case_seq }
            }
            None => {
                return Err(status(Error::InvalidArgument {
                    field: "leaf".into(),
                    message: "give global_seq or event".into(),
                }));
            }
        };
        let p = self.log.inclusion_proof(leaf, r.tree_size).await.map_err(status)?;
        Ok(Response::new(pb::GetInclusionProofResponse {
            leaf_index: p.index,
            tree_size: p.size,
            leaf_data: Bytes::copy_from_slice(&p.leaf_data),
            leaf_hash: Bytes::copy_from_slice(&p.leaf_hash),
            hashes: p.hashes.iter().map(|h| Bytes::copy_from_slice(h)).collect(),
            root_hash: Bytes::copy_from_slice(&p.root),
        }))
    }

    async fn get_consistency_proof(
        &self,
        request: Request<pb::GetConsistencyProofRequest>,
    ) -> Result<Response<pb::GetConsistencyProofResponse>, Status> {
        let r = request.into_inner();
        let p = self.log.consistency_proof(r.old_size, r.new_size).await.map_err(status)?;
        Ok(Response::new(pb::GetConsistencyProofResponse {
            old_size: p.old_size,
            new_size: p.new_size,
            hashes: p.hashes.iter().map(|h| Bytes::copy_from_slice(h)).collect(),
            old_root_hash: Bytes::copy_from_slice(&p.old_root),
            new_root_hash: Bytes::copy_from_slice(&p.new_root),
        }))
    }
}
