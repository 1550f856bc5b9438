//! The `cases` table.

use sanxiang_domain::id::{AgencyId, CaseId, PrincipalId};
use sea_orm::entity::prelude::*;

/// A row of `cases`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: CaseId,
    pub agency_id: AgencyId,
    pub kind: String,
    pub title: String,
    /// JSON object of the party.
    pub party: String,
    /// JSON array of officer ids.
    pub handling_officers: String,
    pub opened_at: i64,
    /// `CaseState` bits, re-derivable from the events.
    pub state_bits: i64,
    pub event_count: i64,
    pub head_hash: String,
    pub filed_at: Option<i64>,
    pub decided_at: Option<i64>,
    pub request_id: String,
    pub created_by: PrincipalId,
}

/// No relations are navigated through sea-orm; joins are explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
