//! The `filings` table: one row per decision that owes a filing (RULES F1–F9), changed only with
//! the case event that records each step.

use sanxiang_domain::id::{AgencyId, CaseId};
use sea_orm::entity::prelude::*;

/// A row of `filings`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "filings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub case_id: CaseId,
    pub agency_id: AgencyId,
    /// `owed`, `submitted`, `under_review`, `supplement_required`, `awaiting_response`, `closed`.
    pub status: String,
    /// JSON array of F1 reason codes.
    pub reasons: String,
    /// JSON array of receiving agency ids (F3).
    pub recipients: String,
    /// JSON of the policy's periods and start event at the decision (F4, F7).
    pub terms: String,
    pub decided_at: i64,
    pub decided_on: String,
    /// The last day to file; `None` until the period's start is known.
    pub due_date: Option<String>,
    pub due_provisional: bool,
    pub submissions: i64,
    pub submitted_at: Option<i64>,
    pub submitted_on: Option<String>,
    pub submitted_late: Option<bool>,
    pub last_submitted_at: Option<i64>,
    pub review_due_date: Option<String>,
    pub reviewer_agency_id: Option<AgencyId>,
    pub outcome: Option<String>,
    pub outcome_reasons: Option<String>,
    pub concluded_at: Option<i64>,
    pub response_due_date: Option<String>,
    pub responded_at: Option<i64>,
    pub responded_on: Option<String>,
    pub response: Option<String>,
    pub updated_at: i64,
}

/// No relations are navigated through sea-orm; joins are explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
