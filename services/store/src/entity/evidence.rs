//! The `evidence` table.

use sanxiang_domain::id::{CaseId, EvidenceId, OfficerId, PrincipalId};
use sea_orm::entity::prelude::*;

/// A row of `evidence`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "evidence")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: EvidenceId,
    pub case_id: CaseId,
    pub sha256: String,
    pub size: i64,
    pub media_type: String,
    pub captured_at: i64,
    pub device_id: String,
    pub device_reviewed: bool,
    pub officer_id: OfficerId,
    pub uploaded_at: i64,
    pub late: bool,
    pub uploaded_by: PrincipalId,
    pub upload_id: String,
}

/// No relations are navigated through sea-orm; joins are explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
