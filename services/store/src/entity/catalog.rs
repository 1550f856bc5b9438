//! The `catalogs` table: one major-decision catalog per agency.

use sanxiang_domain::id::{AgencyId, PrincipalId};
use sea_orm::entity::prelude::*;

/// A row of `catalogs`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "catalogs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub agency_id: AgencyId,
    /// The catalog as JSON (amounts in fen).
    pub body: String,
    pub updated_at: i64,
    pub updated_by: PrincipalId,
}

/// No relations are navigated through sea-orm; joins are explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
