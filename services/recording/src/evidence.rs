//! Evidence: resumable streaming upload into the content-addressed vault, download with an
//! access record (RULES R6, R7, R9).

use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};
use sanxiang_domain::canonical::Value;
use sanxiang_domain::chain::EvidenceLink;
use sanxiang_domain::error::clip;
use sanxiang_domain::id::new_id;
use sanxiang_domain::id::{CaseId, EvidenceId, OfficerId};
use sanxiang_domain::lifecycle::{CaseState, EventKind};
use sanxiang_domain::{Error, Result, Sha256Digest, Timestamp};
use sanxiang_registry::auth::Principal;
use sanxiang_store::entity::{case, evidence, upload};
use sanxiang_store::{HashingStream, db_error};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio::sync::{mpsc, oneshot};

use crate::command::UploadHeader;
use crate::record::Recorder;
use crate::upload::{Owner, UploadSession};
use crate::writer::{NewEvent, Target};

/// Bytes buffered before they are stored as one durable part of an upload: the granularity of
/// resumption, and (with the part in flight and one gRPC message) the bound on memory per
/// upload.
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

/// Where an upload stands, for `GetUpload`.
#[derive(Debug, Clone)]
pub struct UploadStatus {
    /// The case the upload belongs to.
    pub case_id: CaseId,
    /// Bytes stored durably: where a resumed stream starts (the whole size once complete).
    pub durable_offset: u64,
    /// The evidence the upload became, once complete.
    pub evidence: Option<evidence::Model>,
    /// An open upload: when its staging expires unless it makes progress.
    pub expires_at: Option<Timestamp>,
    /// The staging expired (or is past its expiry and about to be swept): never resumed.
    pub expired: bool,
}

/// A validated upload header.
#[derive(Debug, Clone)]
struct UploadRequest {
    upload_id: String,
    media_type: String,
    captured_at: Timestamp,
    declared_digest: Option<Sha256Digest>,
    size: Option<u64>,
    offset: u64,
    device_id: String,
    device_reviewed: bool,
    officer_id: OfficerId,
}

fn valid_upload_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

impl Recorder {
    /// An evidence item by id.
    pub async fn evidence(&self, id: &EvidenceId) -> Result<evidence::Model> {
        evidence::Entity::find_by_id(id.clone())
            .one(&self.db)
            .await
            .map_err(db_error)?
            .ok_or_else(|| Error::not_found("evidence", id))
    }

    /// An upload's progress: its row while it has durable bytes, its evidence once complete
    /// (an upload that completed in one part never had a row).
    pub async fn upload_status(&self, upload_id: &str) -> Result<UploadStatus> {
        sanxiang_domain::limits::id("upload_id", upload_id)?;
        let row = upload::Entity::find_by_id(upload_id.to_owned()).one(&self.db).await.map_err(db_error)?;
        let evidence = evidence::Entity::find()
            .filter(evidence::Column::UploadId.eq(upload_id))
            .one(&self.db)
            .await
            .map_err(db_error)?;
        match (row, evidence) {
            (_, Some(e)) => Ok(UploadStatus {
                case_id: e.case_id.clone(),
                durable_offset: e.size as u64,
                evidence: Some(e),
                expires_at: None,
                expired: false,
            }),
            (Some(u), None) => {
                let expired = u.expired_at.is_some() || self.staging_ttl.due(&u, self.clock.now().micros());
                Ok(UploadStatus {
                    durable_offset: if expired { 0 } else { u.durable_offset as u64 },
                    expires_at: (!expired).then(|| Timestamp::from_micros(self.staging_ttl.expires_at(&u))),
                    expired,
                    case_id: u.case_id,
                    evidence: None,
                })
            }
            (None, None) => Err(Error::not_found("upload", upload_id)),
        }
    }

    /// Expires the staging of uploads abandoned for longer than the staging expiry: marks each
    /// row expired and removes its staged parts (local file or part objects). An upload a
    /// stream of this process is writing is left alone. Returns how many expired; at most
    /// `limit` are looked at per call.
    pub async fn expire_uploads(&self, limit: u64) -> Result<u64> {
        let now = self.clock.now().micros();
        let rows = upload::Entity::find()
            .filter(upload::Column::EvidenceId.is_null())
            .filter(upload::Column::ExpiredAt.is_null())
            .filter(upload::Column::UpdatedAt.lte(self.staging_ttl.cutoff(now)))
            .order_by_asc(upload::Column::UpdatedAt)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(db_error)?;
        let mut expired = 0;
        for row in rows {
            let Some(_lock) = self.vault.try_lock_upload(&row.id) else { continue };
            if crate::upload::expire(&self.db, self.vault.staging().as_ref(), &row, now).await? {
                expired += 1;
            }
        }
        Ok(expired)
    }

    /// Stores an upload: the header has been read and the caller authorised for `case`; `body`
    /// yields the bytes from `header.offset` on. Hashes while streaming, keeps memory bounded
    /// by two parts, refuses a declared digest or size that does not match (leaving nothing
    /// behind), deduplicates, and records the evidence in the case's chain.
    ///
    /// The path, in order: [`Self::check_upload`] (the header, before anything is read or
    /// written) → [`Self::completed_upload`] (an idempotent retry) → on a task of its own,
    /// [`Self::receive`]: the [`UploadSession`] (lock and durable offset), the durable bytes
    /// hashed again, the body through the same [`HashingStream`] into parts, the content checks,
    /// the commit into the vault → [`Self::record_evidence`] (evidence row and event).
    pub async fn upload(
        &self,
        who: &Principal,
        case: &case::Model,
        header: UploadHeader,
        body: impl Stream<Item = Result<Bytes>> + Send + Unpin + 'static,
    ) -> Result<Uploaded> {
        let request = self.check_upload(case, header).await?;
        let mut body = body;
        if let Some(done) = self.completed_upload(case, &request).await? {
            same_upload(&done.evidence, &request, &mut body).await?;
            return Ok(done);
        }
        // The stream is received on a task of its own: a client that cancels, or a deadline
        // that expires, drops this future, and must not cut a part write, its row update or a
        // clean-up in half. Dropping `_alive` tells the task that the client is gone.
        let (_alive, gone) = oneshot::channel::<()>();
        let (me, who, case) = (self.clone(), who.clone(), case.clone());
        tokio::spawn(async move { me.receive(&who, &case, request, body, gone).await })
            .await
            .map_err(|e| Error::Internal(format!("upload task failed: {e}")))?
    }

    /// Validates an upload header before anything is read or written.
    async fn check_upload(&self, case: &case::Model, header: UploadHeader) -> Result<UploadRequest> {
        if !valid_upload_id(&header.upload_id) {
            return Err(Error::invalid("upload_id", "1 to 128 characters of A-Z, a-z, 0-9, '.', '_' or '-'"));
        }
        let media_type = sanxiang_domain::limits::media_type(&header.media_type)?;
        sanxiang_domain::limits::chars("device_id", &header.device_id, sanxiang_domain::limits::MAX_CODE)?;
        sanxiang_domain::limits::id("officer_id", &header.officer_id)?;
        let captured_at = header.captured_at.ok_or_else(|| Error::invalid("captured_at", "is required"))?;
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
        Ok(UploadRequest {
            upload_id: header.upload_id,
            media_type,
            captured_at,
            declared_digest,
            size: header.size,
            offset: header.offset,
            device_id: header.device_id,
            device_reviewed: header.device_reviewed,
            officer_id: header.officer_id,
        })
    }

    /// A completed upload answers again with its evidence (idempotent retry).
    async fn completed_upload(&self, case: &case::Model, request: &UploadRequest) -> Result<Option<Uploaded>> {
        let Some(done) = evidence::Entity::find()
            .filter(evidence::Column::UploadId.eq(&request.upload_id))
            .one(&self.db)
            .await
            .map_err(db_error)?
        else {
            return Ok(None);
        };
        if done.case_id != case.id {
            return Err(Error::invalid("upload_id", "belongs to another case"));
        }
        Ok(Some(Uploaded { evidence: done, deduplicated: true }))
    }

    /// Receives the body of an upload into its session and the vault (see [`Self::upload`]).
    async fn receive(
        &self,
        who: &Principal,
        case: &case::Model,
        request: UploadRequest,
        mut body: impl Stream<Item = Result<Bytes>> + Unpin,
        mut gone: oneshot::Receiver<()>,
    ) -> Result<Uploaded> {
        let owner =
            Owner { upload_id: request.upload_id.clone(), case_id: case.id.clone(), principal_id: who.id.clone() };
        let mut session = UploadSession::open(&self.db, &self.clock, &self.vault, self.staging_ttl, owner).await?;
        // Another stream of the same upload may have completed it while this one waited.
        if let Some(done) = self.completed_upload(case, &request).await? {
            same_upload(&done.evidence, &request, &mut body).await?;
            return Ok(done);
        }
        session.resume_at(request.offset, request.size)?;

        // The hash of a resumed upload starts over its durable bytes, read back.
        let mut staged = HashingStream::new(session.staged());
        while let Some(chunk) = staged.next().await {
            chunk?;
        }
        if staged.size() != request.offset {
            return Err(Error::DataLoss(format!(
                "upload {} holds {} bytes, its row records {}",
                request.upload_id,
                staged.size(),
                request.offset
            )));
        }
        let mut body = staged.chain(body);

        // Chunks are kept as received, not copied, until they fill a part.
        let mut pending: Vec<Bytes> = Vec::new();
        let mut pending_len = 0u64;
        loop {
            // The client's absence first: a stream it gave up must not be judged by how its
            // transport ended.
            let next = tokio::select! {
                biased;
                _ = &mut gone => Some(Err(Error::Unavailable("the client went away".into()))),
                next = body.next() => next,
            };
            let chunk = match next {
                None => break,
                Some(Ok(chunk)) => chunk,
                // A refused stream (a second header, …) leaves nothing behind.
                Some(Err(e @ Error::InvalidArgument { .. })) => {
                    session.discard().await;
                    return Err(e);
                }
                // A broken stream keeps what is durable, for a later resume.
                Some(Err(e)) => {
                    session.settle().await?;
                    return Err(e);
                }
            };
            if let Some(size) = request.size
                && body.size() > size
            {
                session.discard().await;
                return Err(Error::invalid("size", format!("the content is longer than the declared {size} bytes")));
            }
            pending_len += chunk.len() as u64;
            pending.push(chunk);
            if pending_len >= PART_SIZE as u64 {
                session.store_part(std::mem::take(&mut pending), pending_len).await?;
                pending_len = 0;
            }
        }

        let (digest, total) = body.finish();
        if let Some(size) = request.size
            && total < size
        {
            // The HTTP/2 server ends a stream its client reset (a cancel, a deadline) as if the
            // client had finished it, so a stream short of its declared size is taken as
            // interrupted: its durable parts stay for a resume.
            session.settle().await?;
            let durable = session.durable_offset();
            return Err(Error::invalid(
                "size",
                format!("declared {size} bytes, received {total}: {durable} are stored, resume from there"),
            ));
        }
        if let Some(declared) = request.declared_digest
            && declared != digest
        {
            session.discard().await;
            return Err(Error::invalid("sha256", format!("declared {declared}, the content hashes to {digest}")));
        }
        let created = session.commit(pending, pending_len, &digest, total).await?;
        let evidence = self.record_evidence(who, case, &request, digest, total).await?;
        session.complete(&evidence.id, total).await?;
        Ok(Uploaded { evidence, deduplicated: !created })
    }

    /// Commits the evidence row together with its `evidence_uploaded` event.
    async fn record_evidence(
        &self,
        who: &Principal,
        case: &case::Model,
        request: &UploadRequest,
        digest: Sha256Digest,
        size: u64,
    ) -> Result<evidence::Model> {
        let agency = self.registry.agency(&case.agency_id).await?;
        let uploaded_at = self.clock.now();
        let late = uploaded_at > request.captured_at.plus_seconds(agency.upload_window_hours * 3600);
        let row = evidence::Model {
            id: EvidenceId::new(self.clock.as_ref()),
            case_id: case.id.clone(),
            sha256: digest.to_hex(),
            size: size as i64,
            media_type: request.media_type.clone(),
            captured_at: request.captured_at.micros(),
            device_id: request.device_id.clone(),
            device_reviewed: request.device_reviewed,
            officer_id: request.officer_id.clone(),
            uploaded_at: uploaded_at.micros(),
            late,
            uploaded_by: who.id.clone(),
            upload_id: request.upload_id.clone(),
        };
        let payload = Value::object()
            .with("evidence_id", row.id.as_str())
            .with("captured_at", request.captured_at.to_rfc3339())
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
                request_id: format!("upload:{}", request.upload_id),
                request_digest: None,
                officers: vec![request.officer_id.clone()],
                evidence: vec![EvidenceLink {
                    evidence_id: row.id.clone(),
                    sha256: digest,
                    size,
                    media_type: request.media_type.clone(),
                }],
                payload,
                new_evidence: Some(row.clone()),
                attachments: Vec::new(),
                document_number: None,
                directory_version: None,
            })
            .await?;
        Ok(row)
    }

    /// Records the retrieval of an evidence item in its case (R7), then streams its bytes in
    /// chunks of [`DOWNLOAD_CHUNK`].
    pub async fn download(
        &self,
        who: &Principal,
        item: evidence::Model,
        reason: &str,
    ) -> Result<mpsc::Receiver<Result<Bytes>>> {
        sanxiang_domain::limits::chars("reason", reason, sanxiang_domain::limits::MAX_ADDRESS)?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(Error::invalid("reason", "state why the recording is retrieved (RULES R7)"));
        }
        let digest: Sha256Digest =
            item.sha256.parse().map_err(|_| Error::DataLoss(format!("evidence {} has a malformed digest", item.id)))?;
        // Destroyed bytes are gone for good (RULES K5), even where an item with the same content
        // keeps them: say so, rather than report a missing object.
        if let Some(t) = self.destroyed(&item.case_id).await?.into_iter().find(|t| t.evidence_id == item.id) {
            return Err(Error::precondition(
                "K5.destroyed",
                format!("evidence {} was destroyed (batch {}, event {} of its case)", item.id, t.batch_id, t.case_seq),
            ));
        }
        // Open before recording the access, so a missing object is reported, not logged as read.
        let mut content = self.vault.open(&digest).await?;
        let now = self.clock.now();
        self.writer
            .append(NewEvent {
                target: Target::Case(item.case_id.clone()),
                kind: EventKind::EvidenceAccessed,
                occurred_at: now,
                actor: who.id.clone(),
                request_id: format!("access:{}", new_id(self.clock.as_ref())),
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
                attachments: Vec::new(),
                document_number: None,
                directory_version: None,
            })
            .await?;
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(async move {
            let mut buffer = BytesMut::new();
            while let Some(chunk) = content.next().await {
                match chunk {
                    Ok(c) => {
                        buffer.extend_from_slice(&c);
                        if buffer.len() >= DOWNLOAD_CHUNK && tx.send(Ok(buffer.split().freeze())).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                }
            }
            if !buffer.is_empty() {
                let _ = tx.send(Ok(buffer.freeze())).await;
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
    request: &UploadRequest,
    body: &mut (impl Stream<Item = Result<Bytes>> + Unpin),
) -> Result<()> {
    let refuse = |what: &str| {
        Err(Error::precondition(
            UPLOAD_COMPLETED,
            format!("upload {} is complete with another {what}; use a new upload_id", clip(&request.upload_id)),
        ))
    };
    if done.media_type != request.media_type
        || done.captured_at != request.captured_at.micros()
        || done.device_id != request.device_id
        || done.device_reviewed != request.device_reviewed
        || done.officer_id != request.officer_id
    {
        return refuse("header");
    }
    let size = u64::try_from(done.size).map_err(|_| Error::DataLoss(format!("evidence.size of {}", done.id)))?;
    if request.declared_digest.is_some_and(|d| d.to_hex() != done.sha256) || request.size.is_some_and(|s| s != size) {
        return refuse("content");
    }
    // A resumed stream sends what follows its offset: the completed content has nothing more.
    if request.offset != 0 && request.offset != size {
        return refuse("content");
    }
    let mut hashed = HashingStream::new(body);
    while let Some(chunk) = hashed.next().await {
        chunk?;
        if request.offset + hashed.size() > size {
            return refuse("content");
        }
    }
    let (digest, received) = hashed.finish();
    if request.offset + received != size {
        return refuse("content");
    }
    if request.offset == 0 && digest.to_hex() != done.sha256 {
        return refuse("content");
    }
    Ok(())
}
