//! The `complaint_policies` table: an agency's complaint periods (RULES T3, T4, T6) as JSON.

use sanxiang_domain::id::AgencyId;
use sea_orm::entity::prelude::*;

/// A row of `complaint_policies`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "complaint_policies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub agency_id: AgencyId,
    /// `ComplaintPolicy` as JSON.
    pub policy: String,
    pub updated_at: i64,
}

/// No relations are navigated through sea-orm; joins are explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
