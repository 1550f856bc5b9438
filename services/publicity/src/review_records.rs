//! What publicity reads of the legal review's records. The `drafts` and `reviews` tables belong
//! to sanxiang-review, which depends on this crate (a decision's disclosure is committed with
//! it); so publicity names what it needs here and the review crate answers it
//! (`sanxiang_review::Records`), handed to [`crate::Publicity::new`] when the service is put
//! together.

use std::fmt::Debug;

use sanxiang_domain::Result;
use sanxiang_domain::id::{AgencyId, CaseId, DraftId};
use sanxiang_recording::reads::Period;

/// A major draft waiting for its legal review (RULES L7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingDraft {
    pub id: DraftId,
    pub agency_id: AgencyId,
    pub case_id: CaseId,
    pub version: i64,
    /// When it was submitted for review (UTC micros).
    pub submitted_at: i64,
    /// The working days the review has (the catalog's figure when it was submitted).
    pub review_days: u32,
}

/// The legal review's records as publicity reads them.
#[async_trait::async_trait]
pub trait ReviewRecords: Send + Sync + Debug {
    /// The stored content (JSON) of each draft, in the order asked; DATA_LOSS if one is missing.
    async fn draft_contents(&self, ids: &[DraftId]) -> Result<Vec<(DraftId, String)>>;

    /// The legal reviews decided in `period` in an agency's cases, counted by stored outcome.
    async fn reviews_by_outcome(&self, agency_id: &AgencyId, period: Period) -> Result<Vec<(String, u64)>>;

    /// The agencies' major drafts waiting for their legal review.
    async fn pending_major_drafts(&self, agency_ids: &[AgencyId]) -> Result<Vec<PendingDraft>>;
}
