//! The review's answer to what publicity reads of its tables (`drafts`, `reviews`):
//! [`sanxiang_publicity::review_records::ReviewRecords`].

use sanxiang_domain::id::{AgencyId, DraftId};
use sanxiang_domain::review::DraftStatus;
use sanxiang_domain::{Error, Result};
use sanxiang_publicity::review_records::{PendingDraft, ReviewRecords};
use sanxiang_recording::reads::{Period, case_ids_of_agency};
use sanxiang_store::entity::{draft, review};
use sanxiang_store::{Db, db_error};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

/// Drafts in one query at most (bounded `IN` lists).
const CHUNK: usize = 500;

/// The legal review's records, read for publicity's statistics, supervision and publication.
#[derive(Debug, Clone)]
pub struct Records {
    db: Db,
}

impl Records {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

#[async_trait::async_trait]
impl ReviewRecords for Records {
    async fn draft_contents(&self, ids: &[DraftId]) -> Result<Vec<(DraftId, String)>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            let rows: Vec<(DraftId, String)> = draft::Entity::find()
                .select_only()
                .columns([draft::Column::Id, draft::Column::Content])
                .filter(draft::Column::Id.is_in(chunk.iter().cloned()))
                .into_tuple()
                .all(&self.db)
                .await
                .map_err(db_error)?;
            let by_id: std::collections::HashMap<DraftId, String> = rows.into_iter().collect();
            for id in chunk {
                // The same draft may be asked for twice (two decisions on one draft cannot be
                // issued, but the answer does not rely on it).
                let content =
                    by_id.get(id).cloned().ok_or_else(|| Error::DataLoss(format!("draft {id} is missing")))?;
                out.push((id.clone(), content));
            }
        }
        Ok(out)
    }

    async fn reviews_by_outcome(&self, agency_id: &AgencyId, period: Period) -> Result<Vec<(String, u64)>> {
        let rows: Vec<(String, i64)> = review::Entity::find()
            .select_only()
            .column(review::Column::Outcome)
            .column_as(review::Column::Id.count(), "n")
            .filter(review::Column::DecidedAt.gte(period.start))
            .filter(review::Column::DecidedAt.lt(period.end))
            .filter(review::Column::CaseId.in_subquery(case_ids_of_agency(agency_id)))
            .group_by(review::Column::Outcome)
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(db_error)?;
        Ok(rows.into_iter().map(|(o, n)| (o, u64::try_from(n).unwrap_or(0))).collect())
    }

    async fn pending_major_drafts(&self, agency_ids: &[AgencyId]) -> Result<Vec<PendingDraft>> {
        let rows = draft::Entity::find()
            .filter(draft::Column::AgencyId.is_in(agency_ids.iter().cloned()))
            .filter(draft::Column::Status.eq(DraftStatus::Pending.as_str()))
            .filter(draft::Column::Major.eq(true))
            .all(&self.db)
            .await
            .map_err(db_error)?;
        rows.into_iter()
            .map(|d| {
                let review_days = u32::try_from(d.review_days)
                    .map_err(|_| Error::DataLoss(format!("drafts.review_days of draft {} cannot be read", d.id)))?;
                Ok(PendingDraft {
                    id: d.id,
                    agency_id: d.agency_id,
                    case_id: d.case_id,
                    version: d.version,
                    submitted_at: d.submitted_at,
                    review_days,
                })
            })
            .collect()
    }
}
