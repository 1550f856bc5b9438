//! The `drafts` table: versioned decision drafts.

use sanxiang_domain::id::{AgencyId, CaseId, DraftId, PrincipalId};
use sea_orm::entity::prelude::*;

/// A row of `drafts`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "drafts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: DraftId,
    pub case_id: CaseId,
    pub agency_id: AgencyId,
    pub version: i64,
    pub request_id: String,
    /// Hex SHA-256 of the request as first received: a retry with another request is refused.
    pub request_digest: Option<String>,
    /// Canonical JSON of the draft's content.
    pub content: String,
    /// Hex SHA-256 of `content` with the draft prefix.
    pub digest: String,
    pub major: bool,
    /// JSON array of `{rule, reason}`.
    pub matched_rules: String,
    pub discussion_required: bool,
    /// `not_required`, `pending`, `approved`, `problems_found`, `superseded`.
    pub status: String,
    /// The catalog's review time limit when the draft was submitted.
    pub review_days: i64,
    pub submitted_at: i64,
    pub submitted_by: PrincipalId,
    pub event_case_seq: i64,
}

/// No relations are navigated through sea-orm; joins are explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
