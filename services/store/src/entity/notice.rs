//! The `notices` table: versioned sections of an agency's notice before enforcement.

use sanxiang_domain::id::{AgencyId, PrincipalId};
use sea_orm::entity::prelude::*;

/// A row of `notices`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notices")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub agency_id: AgencyId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub section: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub version: i64,
    pub title: String,
    pub body: String,
    /// JSON array of `{title, body, legal_basis}`.
    pub items: String,
    pub request_id: String,
    /// Hex SHA-256 of the request as first received: a retry with another request is refused.
    pub request_digest: Option<String>,
    pub updated_at: i64,
    pub updated_by: PrincipalId,
}

/// No relations are navigated through sea-orm; joins are explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
