//! The `uploads` table.

use sea_orm::entity::prelude::*;

/// A row of `uploads`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "uploads")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub case_id: String,
    pub principal_id: String,
    /// JSON of the upload header as first received.
    pub header: String,
    pub durable_offset: i64,
    pub parts: i64,
    pub evidence_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// No relations are navigated through sea-orm; joins are explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
