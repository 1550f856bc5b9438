//! The `reviews` table: legal reviewers' opinions on draft versions.

use sanxiang_domain::id::{CaseId, DraftId, OfficerId, PrincipalId};
use sea_orm::entity::prelude::*;

/// A row of `reviews`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reviews")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub draft_id: DraftId,
    pub case_id: CaseId,
    /// The digest of the draft version reviewed.
    pub draft_digest: String,
    /// `approve` or `problems_found`.
    pub outcome: String,
    /// Canonical JSON array of `{item, passed, comment}`.
    pub checklist: String,
    pub opinion: String,
    /// The reviewer principal.
    pub reviewer_id: PrincipalId,
    /// The officer the reviewer principal is bound to, if any: whose review history counts (G4).
    pub reviewer_officer_id: Option<OfficerId>,
    /// The draft is a 行政处罚 decision.
    pub penalty: bool,
    pub first_penalty_review: bool,
    pub legal_qualification: bool,
    pub decided_at: i64,
    pub request_id: String,
    /// Hex SHA-256 of the request as first received: a retry with another request is refused.
    pub request_digest: Option<String>,
    pub event_case_seq: i64,
}

/// No relations are navigated through sea-orm; joins are explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
