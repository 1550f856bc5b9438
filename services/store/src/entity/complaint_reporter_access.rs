//! The `complaint_reporter_access` table: every access to a reporter's identity (RULES T5, R7).

use sanxiang_domain::id::{ComplaintId, PrincipalId};
use sea_orm::entity::prelude::*;

/// A row of `complaint_reporter_access`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "complaint_reporter_access")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub complaint_id: ComplaintId,
    pub principal_id: PrincipalId,
    pub accessed_at: i64,
    pub reason: String,
}

/// No relations are navigated through sea-orm; joins are explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
