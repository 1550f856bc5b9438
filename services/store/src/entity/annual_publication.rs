//! The `annual_publications` table: each published version of an agency's annual figures, frozen
//! (RULES N1, N6; migration m0016).

use sanxiang_domain::id::{AgencyId, PrincipalId};
use sea_orm::entity::prelude::*;

/// A row of `annual_publications`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "annual_publications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub agency_id: AgencyId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub year: i64,
    /// 1 for the first publication, then one more per correction.
    #[sea_orm(primary_key, auto_increment = false)]
    pub version: i64,
    /// Lowercase hex SHA-256 of `content`.
    pub snapshot_id: String,
    /// The figures as published: canonical JSON.
    pub content: String,
    pub published_at: i64,
    pub published_by: PrincipalId,
    /// Empty for the first version; the correction's reason otherwise.
    pub reason: String,
    pub request_id: String,
}

/// No relations are navigated through sea-orm; joins are explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
