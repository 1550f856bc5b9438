//! The `tokens` table.

use sanxiang_domain::id::PrincipalId;
use sea_orm::entity::prelude::*;

/// A row of `tokens`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub principal_id: PrincipalId,
    /// Hex SHA-256 of the bearer token; the token itself is never stored.
    pub token_hash: String,
    pub label: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// No relations are navigated through sea-orm; joins are explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
