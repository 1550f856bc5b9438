//! Evidence: resumable streaming upload into the content-addressed vault, download with an
//! access record (RULES R6, R7, R9).

use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};
use sanxiang_domain::canonical::Value;
use sanxiang_domain::chain::EvidenceLink;
use sanxiang_domain::error::clip;
use sanxiang_domain::lifecycle::{CaseState, EventKind};
use sanxiang_domain::{Error, Result, Sha256Digest, Timestamp};
use sanxiang_proto::v1 as pb;
use sanxiang_registry::auth::Principal;
use sanxiang_registry::grpc::{from_timestamp, timestamp};
use sanxiang_store::db_error;
use sanxiang_store::entity::{case, evidence, upload};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::record::Recorder;
use crate::writer::{NewEvent, Target};

/// Bytes buffered before they are stored as one durable part of an upload: the granularity of
/// resumption, and (with one gRPC message) the bound on memory per upload.
pub const PART_SIZE: usize = 8 * 1024 * 1024;

/// Size of the messages that stream evidence back to clients.
pub const DOWNLOAD_CHUNK: usize = 256 * 1024;

/// The result of a completed upload.
#[derive(Debug, Clone)]
pub struct Uploaded {
    pub evidence: evidence::Model,
    /// The content was already in the vault; no second copy was written.
    pub deduplicated: bool,
}

/// Waits for the part write in flight, if any.
async fn finish(in_flight: Option<tokio::task::JoinHandle<Result<()>>>) -> Result<()> {
    match in_flight {
        None => Ok(()),
        Some(h) => h.await.map_err(|e| Error::Internal(format!("part write failed: {e}")))?,
    }
}

/// An evidence row as an API message.
pub fn evidence_to_pb(e: evidence::Model) -> pb::Evidence {
    pb::Evidence {
        id: e.id,
        case_id: e.case_id,
        sha256: e.sha256,
        size: e.size as u64,
        media_type: e.media_type,
        captured_at: Some(timestamp(Timestamp::from_micros(e.captured_at))),
        device_id: e.device_id,
        device_reviewed: e.device_reviewed,
        officer_id: e.officer_id,
        uploaded_at: Some(timestamp(Timestamp::from_micros(e.uploaded_at))),
        late: e.late,
        uploaded_by: e.uploaded_by,
    }
}

fn valid_upload_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

impl Recorder {
    /// An evidence item by id.
    pub async fn evidence(&self, id: &str) -> Result<evidence::Model> {
        sanxiang_domain::limits::id("evidence_id", id)?;
        evidence::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await
            .map_err(db_error)?
            .ok_or_else(|| Error::not_found("evidence", id))
    }

    /// An upload's progress.
    pub async fn upload_status(&self, upload_id: &str) -> Result<(upload::Model, Option<evidence::Model>)> {
        sanxiang_domain::limits::id("upload_id", upload_id)?;
        let u = upload::Entity::find_by_id(upload_id.to_owned())
            .one(&self.db)
            .await
            .map_err(db_error)?
            .ok_or_else(|| Error::not_found("upload", upload_id))?;
        let e = evidence::Entity::find()
            .filter(evidence::Column::UploadId.eq(upload_id))
            .one(&self.db)
            .await
            .map_err(db_error)?;
        Ok((u, e))
    }

    /// Stores an upload: the header has been read and the caller authorised for `case`; `body`
    /// yields the bytes from `header.offset` on. Hashes while streaming, keeps memory bounded
    /// by one part, refuses a declared digest or size that does not match (leaving nothing
    /// behind), deduplicates, and records the evidence in the case's chain.
    pub async fn upload(
        &self,
        who: &Principal,
        case: &case::Model,
        header: pb::UploadHeader,
        mut body: impl Stream<Item = Result<Bytes>> + Unpin,
    ) -> Result<Uploaded> {
        // Validate everything before anything is written.
        if !valid_upload_id(&header.upload_id) {
            return Err(Error::invalid("upload_id", "1 to 128 characters of A-Z, a-z, 0-9, '.', '_' or '-'"));
        }
        let media_type = sanxiang_domain::limits::media_type(&header.media_type)?;
        sanxiang_domain::limits::chars("device_id", &header.device_id, sanxiang_domain::limits::MAX_CODE)?;
        sanxiang_domain::limits::id("officer_id", &header.officer_id)?;
        let captured_at = from_timestamp("captured_at", header.captured_at.as_ref())?
            .ok_or_else(|| Error::invalid("captured_at", "is required"))?;
        sanxiang_domain::time::check_act_time("captured_at", captured_at, self.clock.now())?;
        let declared_digest: Option<Sha256Digest> = if header.sha256.is_empty() {
            None
        } else {
            Some(header.sha256.parse().map_err(|_| Error::invalid("sha256", "expected 64 lowercase hex characters"))?)
        };
        let officer = self.registry.certificates(std::slice::from_ref(&header.officer_id)).await?;
        if officer.get(&header.officer_id).is_none_or(|o| o.agency_id != case.agency_id) {
            return Err(Error::invalid("officer_id", "no such officer in this agency"));
        }
        if CaseState::from_bits(case.state_bits).closed() {
            return Err(Error::precondition("R2.case-closed", "the case is closed: no new evidence"));
        }

        // A completed upload answers again with its evidence (idempotent retry).
        if let Some(done) = evidence::Entity::find()
            .filter(evidence::Column::UploadId.eq(&header.upload_id))
            .one(&self.db)
            .await
            .map_err(db_error)?
        {
            if done.case_id != case.id {
                return Err(Error::invalid("upload_id", "belongs to another case"));
            }
            same_upload(&done, &header, &media_type, captured_at, declared_digest, body).await?;
            return Ok(Uploaded { evidence: done, deduplicated: true });
        }

        // One stream per upload at a time, from here on: the durable offset read below stays
        // true while this stream writes.
        let _lock = self.vault.lock_upload(&header.upload_id).await;
        let now = self.clock.now();
        let existing = upload::Entity::find_by_id(header.upload_id.clone()).one(&self.db).await.map_err(db_error)?;
        let (mut offset, mut parts) = match &existing {
            Some(u) if u.case_id != case.id || u.principal_id != who.id => {
                return Err(Error::invalid("upload_id", "belongs to another upload"));
            }
            Some(u) => (u.durable_offset as u64, u.parts as u64),
            None => (0, 0),
        };
        if header.offset != offset {
            return Err(Error::precondition(
                "upload.offset",
                format!("the upload's durable offset is {offset}: resume from there"),
            ));
        }
        if let Some(size) = header.size
            && offset > size
        {
            return Err(Error::invalid("size", "smaller than the bytes already stored"));
        }
        if existing.is_none() {
            let row = upload::ActiveModel {
                id: Set(header.upload_id.clone()),
                case_id: Set(case.id.clone()),
                principal_id: Set(who.id.clone()),
                header: Set(format!("{header:?}")),
                durable_offset: Set(0),
                parts: Set(0),
                evidence_id: Set(None),
                created_at: Set(now.micros()),
                updated_at: Set(now.micros()),
            };
            row.insert(&self.db).await.map_err(db_error)?;
        }

        // Rebuild the hash state over the parts already stored.
        let mut hasher = Sha256::new();
        if parts > 0 {
            let mut stored = self.vault.read_staged(&header.upload_id, parts, offset);
            while let Some(chunk) = stored.next().await {
                hasher.update(&chunk?);
            }
        }

        // Parts are written while the next one is received: at most one part is in flight, so
        // memory stays bounded by two parts; the chunks are kept as received, not copied.
        let mut pending: Vec<Bytes> = Vec::new();
        let mut pending_len = 0u64;
        let mut in_flight: Option<tokio::task::JoinHandle<Result<()>>> = None;
        let mut total = offset;
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    // A broken stream keeps what is durable, for a later resume.
                    finish(in_flight.take()).await?;
                    return Err(e);
                }
            };
            total += chunk.len() as u64;
            if let Some(size) = header.size
                && total > size
            {
                let _ = finish(in_flight.take()).await;
                self.discard(&header.upload_id, parts).await;
                return Err(Error::invalid("size", format!("the content is longer than the declared {size} bytes")));
            }
            hasher.update(&chunk);
            pending_len += chunk.len() as u64;
            pending.push(chunk);
            if pending_len >= PART_SIZE as u64 {
                finish(in_flight.take()).await?;
                let (me, id, part) = (self.clone(), header.upload_id.clone(), std::mem::take(&mut pending));
                let (index, start) = (parts, offset);
                offset += pending_len;
                pending_len = 0;
                parts += 1;
                let end = offset;
                in_flight = Some(tokio::spawn(async move { me.store_part(&id, index, start, part, end).await }));
            }
        }
        finish(in_flight.take()).await?;

        let digest: Sha256Digest = hasher.finalize().into();
        if let Some(size) = header.size
            && total != size
        {
            self.discard(&header.upload_id, parts).await;
            return Err(Error::invalid("size", format!("declared {size} bytes, received {total}")));
        }
        if let Some(declared) = declared_digest
            && declared != digest
        {
            self.discard(&header.upload_id, parts).await;
            return Err(Error::invalid("sha256", format!("declared {declared}, the content hashes to {digest}")));
        }

        let created = if parts == 0 {
            let data: bytes::Bytes = if pending.len() == 1 {
                pending.pop().unwrap_or_default()
            } else {
                let mut all = BytesMut::with_capacity(usize::try_from(pending_len).unwrap_or_default());
                for c in &pending {
                    all.extend_from_slice(c);
                }
                all.freeze()
            };
            self.vault.put_object(&digest, data).await?
        } else {
            if !pending.is_empty() {
                let start = offset;
                offset += pending_len;
                self.store_part(&header.upload_id, parts, start, std::mem::take(&mut pending), offset).await?;
                parts += 1;
            }
            let created = self.vault.commit_staged(&header.upload_id, parts, total, &digest).await?;
            self.vault.discard_staged(&header.upload_id, parts).await?;
            created
        };

        let agency = self.registry.agency(&case.agency_id).await?;
        let uploaded_at = self.clock.now();
        let late = uploaded_at > captured_at.plus_seconds(agency.upload_window_hours * 3600);
        let row = evidence::Model {
            id: uuid::Uuid::now_v7().to_string(),
            case_id: case.id.clone(),
            sha256: digest.to_hex(),
            size: total as i64,
            media_type: media_type.clone(),
            captured_at: captured_at.micros(),
            device_id: header.device_id.clone(),
            device_reviewed: header.device_reviewed,
            officer_id: header.officer_id.clone(),
            uploaded_at: uploaded_at.micros(),
            late,
            uploaded_by: who.id.clone(),
            upload_id: header.upload_id.clone(),
        };
        let payload = Value::object()
            .with("evidence_id", row.id.as_str())
            .with("captured_at", captured_at.to_rfc3339())
            .with("device_id", row.device_id.as_str())
            .with("device_reviewed", row.device_reviewed)
            .with("late", late)
            .with("upload_id", row.upload_id.as_str());
        self.writer
            .append(NewEvent {
                target: Target::Case(case.id.clone()),
                kind: EventKind::EvidenceUploaded,
                occurred_at: uploaded_at,
                actor: who.id.clone(),
                request_id: format!("upload:{}", header.upload_id),
                request_digest: None,
                officers: vec![header.officer_id.clone()],
                evidence: vec![EvidenceLink { evidence_id: row.id.clone(), sha256: digest, size: total, media_type }],
                payload,
                new_evidence: Some(row.clone()),
                attached: None,
                document_number: None,
            })
            .await?;
        upload::Entity::update_many()
            .col_expr(upload::Column::EvidenceId, Expr::value(row.id.clone()))
            .col_expr(upload::Column::DurableOffset, Expr::value(total as i64))
            .filter(upload::Column::Id.eq(&header.upload_id))
            .exec(&self.db)
            .await
            .map_err(db_error)?;
        Ok(Uploaded { evidence: row, deduplicated: !created })
    }

    async fn store_part(
        &self,
        upload_id: &str,
        index: u64,
        start: u64,
        data: Vec<Bytes>,
        durable_offset: u64,
    ) -> Result<()> {
        self.vault.stage_part(upload_id, index, start, data).await?;
        let done = upload::Entity::update_many()
            .col_expr(upload::Column::DurableOffset, Expr::value(durable_offset as i64))
            .col_expr(upload::Column::Parts, Expr::value((index + 1) as i64))
            .col_expr(upload::Column::UpdatedAt, Expr::value(self.clock.now().micros()))
            .filter(upload::Column::Id.eq(upload_id))
            .filter(upload::Column::Parts.eq(index as i64))
            .exec(&self.db)
            .await
            .map_err(db_error)?;
        if done.rows_affected != 1 {
            return Err(Error::precondition("upload.concurrent", "another stream is writing this upload"));
        }
        Ok(())
    }

    /// Removes every trace of a refused upload.
    async fn discard(&self, upload_id: &str, parts: u64) {
        if let Err(e) = self.vault.discard_staged(upload_id, parts).await {
            tracing::warn!(upload_id, error = %e, "could not remove the parts of a refused upload");
        }
        if let Err(e) = upload::Entity::delete_by_id(upload_id.to_owned()).exec(&self.db).await {
            tracing::warn!(upload_id, error = %e, "could not remove a refused upload");
        }
    }

    /// Records the retrieval of an evidence item in its case (R7), then streams it: the first
    /// message carries the metadata, the rest the bytes.
    pub async fn download(
        &self,
        who: &Principal,
        item: evidence::Model,
        reason: &str,
    ) -> Result<mpsc::Receiver<Result<pb::DownloadEvidenceResponse>>> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(Error::invalid("reason", "state why the recording is retrieved (RULES R7)"));
        }
        let digest: Sha256Digest =
            item.sha256.parse().map_err(|_| Error::DataLoss(format!("evidence {} has a malformed digest", item.id)))?;
        // Open before recording the access, so a missing object is reported, not logged as read.
        let mut content = self.vault.open(&digest).await?;
        let now = self.clock.now();
        self.writer
            .append(NewEvent {
                target: Target::Case(item.case_id.clone()),
                kind: EventKind::EvidenceAccessed,
                occurred_at: now,
                actor: who.id.clone(),
                request_id: format!("access:{}", uuid::Uuid::now_v7()),
                request_digest: None,
                officers: who.officer_id.clone().into_iter().collect(),
                evidence: vec![EvidenceLink {
                    evidence_id: item.id.clone(),
                    sha256: digest,
                    size: item.size as u64,
                    media_type: item.media_type.clone(),
                }],
                payload: Value::object().with("evidence_id", item.id.as_str()).with("reason", reason),
                new_evidence: None,
                attached: None,
                document_number: None,
            })
            .await?;
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(async move {
            use pb::download_evidence_response::Part;
            if tx
                .send(Ok(pb::DownloadEvidenceResponse { part: Some(Part::Evidence(evidence_to_pb(item))) }))
                .await
                .is_err()
            {
                return;
            }
            let mut buffer = BytesMut::new();
            while let Some(chunk) = content.next().await {
                match chunk {
                    Ok(c) => {
                        buffer.extend_from_slice(&c);
                        if buffer.len() >= DOWNLOAD_CHUNK {
                            let msg = pb::DownloadEvidenceResponse { part: Some(Part::Chunk(buffer.split().freeze())) };
                            if tx.send(Ok(msg)).await.is_err() {
                                return;
                            }
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                }
            }
            if !buffer.is_empty() {
                let _ = tx.send(Ok(pb::DownloadEvidenceResponse { part: Some(Part::Chunk(buffer.freeze())) })).await;
            }
        });
        Ok(rx)
    }
}

/// Rule refusing a retry of a completed upload that is not the same upload.
pub const UPLOAD_COMPLETED: &str = "upload.completed";

/// Checks a retry of a completed upload against the evidence it stored: the same header and the
/// same content (hashed as it streams, nothing stored), else `FAILED_PRECONDITION
/// upload.completed`, so that different content is never answered with the old evidence.
async fn same_upload(
    done: &evidence::Model,
    header: &pb::UploadHeader,
    media_type: &str,
    captured_at: Timestamp,
    declared: Option<Sha256Digest>,
    mut body: impl Stream<Item = Result<Bytes>> + Unpin,
) -> Result<()> {
    let refuse = |what: &str| {
        Err(Error::precondition(
            UPLOAD_COMPLETED,
            format!("upload {} is complete with another {what}; use a new upload_id", clip(&header.upload_id)),
        ))
    };
    if done.media_type != media_type
        || done.captured_at != captured_at.micros()
        || done.device_id != header.device_id
        || done.device_reviewed != header.device_reviewed
        || done.officer_id != header.officer_id
    {
        return refuse("header");
    }
    let size = u64::try_from(done.size).unwrap_or_default();
    if declared.is_some_and(|d| d.to_hex() != done.sha256) || header.size.is_some_and(|s| s != size) {
        return refuse("content");
    }
    // A resumed stream sends what follows its offset: the completed content has nothing more.
    if header.offset != 0 && header.offset != size {
        return refuse("content");
    }
    let mut hasher = Sha256::new();
    let mut total = header.offset;
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        total += chunk.len() as u64;
        if total > size {
            return refuse("content");
        }
        hasher.update(&chunk);
    }
    if total != size {
        return refuse("content");
    }
    let digest: Sha256Digest = hasher.finalize().into();
    if header.offset == 0 && digest.to_hex() != done.sha256 {
        return refuse("content");
    }
    Ok(())
}
