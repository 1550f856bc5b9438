//! The `filing_policies` table: one filing policy per agency (RULES F1, F3, F4, F7).

use sanxiang_domain::id::{AgencyId, PrincipalId};
use sea_orm::entity::prelude::*;

/// A row of `filing_policies`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "filing_policies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub agency_id: AgencyId,
    /// The policy as JSON.
    pub body: String,
    pub updated_at: i64,
    pub updated_by: PrincipalId,
}

/// No relations are navigated through sea-orm; joins are explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
