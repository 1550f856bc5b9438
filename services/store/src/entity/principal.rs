//! The `principals` table.

use sanxiang_domain::id::{AgencyId, OfficerId, PrincipalId};
use sea_orm::entity::prelude::*;

/// A row of `principals`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "principals")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: PrincipalId,
    pub name: String,
    pub role: String,
    pub agency_id: Option<AgencyId>,
    pub officer_id: Option<OfficerId>,
    pub request_id: Option<String>,
    /// Hex SHA-256 of the request as first received: a retry with another request is refused.
    pub request_digest: Option<String>,
    pub created_at: i64,
}

/// No relations are navigated through sea-orm; joins are explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
