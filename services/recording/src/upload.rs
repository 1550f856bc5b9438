//! An upload session: one stream's exclusive hold on an upload id — the lock, the durable
//! offset (the `uploads` row), and the [`Staging`] its parts go to.
//!
//! The `uploads` row exists exactly while an upload has durable bytes: it is inserted with the
//! first stored part and advanced with each later one, always after the part is durable, so the
//! offset it records (what `GetUpload` reports) never exceeds what is stored. A refused upload
//! loses its row and its staging; an interrupted one (client cancel, deadline, lost connection,
//! server crash) keeps both, and a later stream resumes at the recorded offset.

use sanxiang_domain::id::{CaseId, EvidenceId, PrincipalId};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures::stream::BoxStream;
use sanxiang_domain::{Error, Result, Sha256Digest, TimeProvider};
use sanxiang_store::entity::upload;
use sanxiang_store::vault::UploadLock;
use sanxiang_store::{Db, Staging, Vault, db_error};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use tokio::task::JoinHandle;

/// Who owns an upload id: a stream of another case or principal may not touch it.
#[derive(Debug, Clone)]
pub(crate) struct Owner {
    pub upload_id: String,
    pub case_id: CaseId,
    pub principal_id: PrincipalId,
}

/// Stores parts and advances the row; cloned into the task that writes a part.
#[derive(Debug, Clone)]
struct Parts {
    db: Db,
    clock: Arc<dyn TimeProvider>,
    staging: Arc<dyn Staging>,
    owner: Arc<Owner>,
    /// Held by the session and by a part write in flight: a stream that goes away while its
    /// part is being stored keeps the upload locked until the part and its row are settled.
    _lock: Arc<UploadLock>,
}

impl Parts {
    /// Stores part `index` (bytes `start..end`) durably, then records it in the row.
    async fn store(&self, index: u64, start: u64, end: u64, data: Vec<Bytes>) -> Result<()> {
        self.staging.put_part(&self.owner.upload_id, index, start, data).await?;
        let now = self.clock.now().micros();
        if index == 0 {
            let row = upload::ActiveModel {
                id: Set(self.owner.upload_id.clone()),
                case_id: Set(self.owner.case_id.clone()),
                principal_id: Set(self.owner.principal_id.clone()),
                durable_offset: Set(end as i64),
                parts: Set(1),
                evidence_id: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
                expired_at: Set(None),
            };
            return match row.insert(&self.db).await {
                Ok(_) => Ok(()),
                Err(e) if sanxiang_store::db::is_unique_violation(&e) => Err(concurrent()),
                Err(e) => Err(db_error(e)),
            };
        }
        let done = upload::Entity::update_many()
            .col_expr(upload::Column::DurableOffset, Expr::value(end as i64))
            .col_expr(upload::Column::Parts, Expr::value((index + 1) as i64))
            .col_expr(upload::Column::UpdatedAt, Expr::value(now))
            .filter(upload::Column::Id.eq(&self.owner.upload_id))
            .filter(upload::Column::Parts.eq(index as i64))
            .filter(upload::Column::ExpiredAt.is_null())
            .exec(&self.db)
            .await
            .map_err(db_error)?;
        if done.rows_affected != 1 {
            return Err(concurrent());
        }
        Ok(())
    }
}

fn concurrent() -> Error {
    Error::precondition("upload.concurrent", "another stream is writing this upload")
}

/// A part being stored, and the durable offset once it is.
struct InFlight {
    task: JoinHandle<Result<()>>,
    end: u64,
}

/// One stream's hold on an upload.
pub(crate) struct UploadSession {
    parts: Parts,
    vault: Vault,
    /// Durable bytes and parts (as the row records them, or nothing).
    offset: u64,
    stored: u64,
    in_flight: Option<InFlight>,
}

impl UploadSession {
    /// Waits until no other stream of this process writes the upload, then reads its durable
    /// offset. Refuses an upload id owned by another case or principal, and an upload whose
    /// staging expired (expiring it first if its time has come and no sweep has yet).
    pub async fn open(
        db: &Db,
        clock: &Arc<dyn TimeProvider>,
        vault: &Vault,
        ttl: StagingTtl,
        owner: Owner,
    ) -> Result<Self> {
        let lock = Arc::new(vault.lock_upload(&owner.upload_id).await);
        let row = upload::Entity::find_by_id(owner.upload_id.clone()).one(db).await.map_err(db_error)?;
        let (offset, stored) = match row {
            Some(u) if u.case_id != owner.case_id || u.principal_id != owner.principal_id => {
                return Err(Error::invalid("upload_id", "belongs to another upload"));
            }
            Some(u) if u.evidence_id.is_none() && (u.expired_at.is_some() || ttl.due(&u, clock.now().micros())) => {
                if u.expired_at.is_none() {
                    expire(db, vault.staging().as_ref(), &u, clock.now().micros()).await?;
                }
                return Err(expired_error(&owner.upload_id, ttl));
            }
            Some(u) => (u.durable_offset as u64, u.parts as u64),
            None => (0, 0),
        };
        let parts = Parts {
            db: db.clone(),
            clock: Arc::clone(clock),
            staging: Arc::clone(vault.staging()),
            owner: Arc::new(owner),
            _lock: lock,
        };
        Ok(Self { parts, vault: vault.clone(), offset, stored, in_flight: None })
    }

    /// Checks that a stream starting at `offset` continues the upload where its durable bytes
    /// end, and that a declared `size` can still hold them.
    pub fn resume_at(&self, offset: u64, size: Option<u64>) -> Result<()> {
        if offset != self.offset {
            return Err(Error::precondition(
                "upload.offset",
                format!("the upload's durable offset is {}: resume from there", self.offset),
            ));
        }
        if size.is_some_and(|size| self.offset > size) {
            return Err(Error::invalid("size", "smaller than the bytes already stored"));
        }
        if offset > 0 {
            metrics::counter!("sanxiang_upload_resumes_total").increment(1);
        }
        Ok(())
    }

    /// Bytes stored durably (settled parts).
    pub fn durable_offset(&self) -> u64 {
        self.offset
    }

    /// The durable bytes, read back (a resumed upload hashes them again).
    pub fn staged(&self) -> BoxStream<'static, Result<Bytes>> {
        if self.stored == 0 {
            return Box::pin(futures::stream::empty());
        }
        self.parts.staging.read(&self.parts.owner.upload_id, self.stored, self.offset)
    }

    /// Starts storing `data` (`len` bytes) as the next part. At most one part is in flight: the
    /// previous one is settled first, so memory stays bounded by two parts.
    pub async fn store_part(&mut self, data: Vec<Bytes>, len: u64) -> Result<()> {
        self.settle().await?;
        let (index, start) = (self.stored, self.offset);
        let end = start + len;
        let parts = self.parts.clone();
        let task = tokio::spawn(async move { parts.store(index, start, end, data).await });
        self.in_flight = Some(InFlight { task, end });
        Ok(())
    }

    /// Waits for the part in flight, if any, and counts it as durable once stored.
    pub async fn settle(&mut self) -> Result<()> {
        let Some(f) = self.in_flight.take() else { return Ok(()) };
        f.task.await.map_err(|e| Error::Internal(format!("part write failed: {e}")))??;
        self.offset = f.end;
        self.stored += 1;
        Ok(())
    }

    /// Makes the content (`digest`, `len` bytes: the staged parts, then `rest`) the
    /// content-addressed object. Content that never filled a part is put in one write;
    /// otherwise `rest` becomes the last part and the staging is committed. Returns whether a
    /// new object was written.
    pub async fn commit(&mut self, rest: Vec<Bytes>, rest_len: u64, digest: &Sha256Digest, len: u64) -> Result<bool> {
        if self.stored == 0 && self.in_flight.is_none() {
            let data = if rest.len() == 1 {
                rest.into_iter().next().unwrap_or_default()
            } else {
                let mut all = BytesMut::with_capacity(usize::try_from(rest_len).unwrap_or_default());
                for c in &rest {
                    all.extend_from_slice(c);
                }
                all.freeze()
            };
            return self.vault.put_object(digest, data).await;
        }
        if !rest.is_empty() {
            self.store_part(rest, rest_len).await?;
        }
        self.settle().await?;
        let id = &self.parts.owner.upload_id;
        let created = self.parts.staging.commit(id, self.stored, len, digest).await?;
        if let Err(e) = self.parts.staging.discard(id, self.stored).await {
            // The object is complete; what is left staged is garbage, not a failed upload.
            tracing::warn!(upload_id = %id, error = %e, "could not remove the staging of a completed upload");
        }
        Ok(created)
    }

    /// Records the evidence an upload became, for `GetUpload`.
    pub async fn complete(self, evidence_id: &EvidenceId, len: u64) -> Result<()> {
        upload::Entity::update_many()
            .col_expr(upload::Column::EvidenceId, Expr::value(evidence_id.to_owned()))
            .col_expr(upload::Column::DurableOffset, Expr::value(len as i64))
            .col_expr(upload::Column::UpdatedAt, Expr::value(self.parts.clock.now().micros()))
            .filter(upload::Column::Id.eq(&self.parts.owner.upload_id))
            .exec(&self.parts.db)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    /// Removes every trace of a refused upload: the row first (so no offset is ever reported
    /// for bytes that are going away), then the staging.
    pub async fn discard(mut self) {
        let _ = self.settle().await;
        let id = self.parts.owner.upload_id.clone();
        if let Err(e) = upload::Entity::delete_by_id(id.clone()).exec(&self.parts.db).await {
            // Keep the staging the row still points to: a resume finds its bytes.
            tracing::warn!(upload_id = %id, error = %e, "could not remove a refused upload");
            return;
        }
        if let Err(e) = self.parts.staging.discard(&id, self.stored).await {
            tracing::warn!(upload_id = %id, error = %e, "could not remove the parts of a refused upload");
        }
    }
}

/// How long an open upload's staged parts are kept without progress before they expire (the
/// staging expiry rule, `upload.expired`), counted from the last stored part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StagingTtl {
    micros: i64,
}

impl StagingTtl {
    /// The default: seven days.
    pub const DEFAULT: Self = Self::hours(7 * 24);

    /// An expiry of `hours` hours (at least one).
    pub const fn hours(hours: u64) -> Self {
        let hours = if hours == 0 { 1 } else { hours };
        Self { micros: (hours as i64).saturating_mul(3_600_000_000) }
    }

    /// Whole hours.
    pub fn as_hours(self) -> i64 {
        self.micros / 3_600_000_000
    }

    /// When the staging of open upload `row` expires.
    pub fn expires_at(self, row: &upload::Model) -> i64 {
        row.updated_at.saturating_add(self.micros)
    }

    /// Open uploads whose last progress is at or before this have expired at `now`.
    pub fn cutoff(self, now: i64) -> i64 {
        now.saturating_sub(self.micros)
    }

    /// Whether open upload `row`'s staging has expired at `now`.
    pub fn due(self, row: &upload::Model, now: i64) -> bool {
        row.evidence_id.is_none() && now >= self.expires_at(row)
    }
}

/// The refusal of a resume of an expired upload.
pub(crate) fn expired_error(upload_id: &str, ttl: StagingTtl) -> Error {
    Error::precondition(
        "upload.expired",
        format!(
            "upload {} was abandoned for more than {} hours and its staged parts were removed: start a new \
             upload with a new upload_id",
            sanxiang_domain::error::clip(upload_id),
            ttl.as_hours()
        ),
    )
}

/// Expires open upload `row`: marks its row (only if it made no progress since it was read),
/// then removes its staged parts. Returns whether this call expired it.
pub(crate) async fn expire(db: &Db, staging: &dyn Staging, row: &upload::Model, now: i64) -> Result<bool> {
    let done = upload::Entity::update_many()
        .col_expr(upload::Column::ExpiredAt, Expr::value(now))
        .col_expr(upload::Column::DurableOffset, Expr::value(0i64))
        .filter(upload::Column::Id.eq(&row.id))
        .filter(upload::Column::EvidenceId.is_null())
        .filter(upload::Column::ExpiredAt.is_null())
        .filter(upload::Column::Parts.eq(row.parts))
        .filter(upload::Column::UpdatedAt.eq(row.updated_at))
        .exec(db)
        .await
        .map_err(db_error)?;
    if done.rows_affected != 1 {
        return Ok(false);
    }
    metrics::counter!("sanxiang_upload_staging_expired_total").increment(1);
    tracing::info!(upload_id = %row.id, case_id = %row.case_id, parts = row.parts, "upload staging expired");
    // The row says expired whatever happens next: a part that cannot be removed now is
    // garbage (logged), never a resumable upload.
    if let Err(e) = staging.discard(&row.id, row.parts as u64).await {
        tracing::warn!(upload_id = %row.id, error = %e, "could not remove the parts of an expired upload");
    }
    Ok(true)
}
