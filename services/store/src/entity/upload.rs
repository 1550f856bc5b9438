//! The `uploads` table.

use sanxiang_domain::id::{CaseId, EvidenceId, PrincipalId};
use sea_orm::entity::prelude::*;

/// A row of `uploads`: an upload with durable bytes (inserted with its first stored part,
/// removed if the upload is refused). Nothing of the header is kept: every stream sends its own,
/// and what the upload becomes is recorded in its evidence row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "uploads")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub case_id: CaseId,
    pub principal_id: PrincipalId,
    /// Bytes stored durably (the sum of the stored parts): where a resumed stream starts.
    pub durable_offset: i64,
    /// Parts stored.
    pub parts: i64,
    pub evidence_id: Option<EvidenceId>,
    pub created_at: i64,
    /// When the last part was stored: the staging expiry counts from here.
    pub updated_at: i64,
    /// When the staging expired and its parts were removed; such an upload is never resumed.
    pub expired_at: Option<i64>,
}

/// No relations are navigated through sea-orm; joins are explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
