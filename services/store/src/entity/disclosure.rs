//! The `disclosures` table: the publication of each decision (RULES P3-P7).

use sanxiang_domain::id::{AgencyId, CaseId, DisclosureId};
use sea_orm::entity::prelude::*;

/// A row of `disclosures`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "disclosures")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: DisclosureId,
    pub agency_id: AgencyId,
    pub case_id: CaseId,
    pub case_kind: String,
    /// `pending`, `published`, `excluded`, `withdrawal_pending`, `withdrawn`, `cancelled`, `ended`.
    pub status: String,
    pub version: i64,
    /// The masked public content as JSON.
    pub content: String,
    /// JSON of what decides the publication period and masking (penalty types, amounts, names).
    pub facts: String,
    pub decided_at: i64,
    /// Dates are `YYYY-MM-DD` in the agency's zone.
    pub decision_date: String,
    pub due_date: String,
    pub due_provisional: bool,
    pub published_at: Option<i64>,
    pub publication_end: Option<String>,
    /// The first instant after the publication period (UTC micros).
    pub publication_end_at: Option<i64>,
    pub exclusion_code: Option<String>,
    pub exclusion_reason: Option<String>,
    pub revision: Option<String>,
    pub revised_at: Option<i64>,
    pub withdrawal_reason: Option<String>,
    pub withdrawal_due_date: Option<String>,
    pub withdrawal_due_provisional: bool,
    pub withdrawn_at: Option<i64>,
    pub correction_reason: Option<String>,
    pub ended_at: Option<i64>,
    /// Place in the public listing: the global sequence of the event that first published it.
    pub listed_seq: Option<i64>,
    /// The global sequence of the latest public change.
    pub feed_seq: Option<i64>,
    pub updated_at: i64,
}

/// No relations are navigated through sea-orm; joins are explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
