//! The `officer_status_changes` table.

use sanxiang_domain::id::{OfficerId, PrincipalId};
use sea_orm::entity::prelude::*;

/// A row of `officer_status_changes`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "officer_status_changes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub officer_id: OfficerId,
    pub status: String,
    pub reason: String,
    pub effective_at: i64,
    pub recorded_at: i64,
    pub recorded_by: PrincipalId,
}

/// No relations are navigated through sea-orm; joins are explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
