//! The `complaint_attachments` table: the bytes of a complaint step's attachments (RULES T2),
//! whose digests the step's chained document records.

use sanxiang_domain::id::ComplaintId;
use sea_orm::entity::prelude::*;

/// A row of `complaint_attachments`.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "complaint_attachments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub complaint_id: ComplaintId,
    /// The step it is attached to.
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    /// Its position among the step's attachments, from 0.
    #[sea_orm(primary_key, auto_increment = false)]
    pub idx: i64,
    /// Hex SHA-256 of `content`, as the step records it.
    pub sha256: String,
    pub content: Vec<u8>,
}

impl std::fmt::Debug for Model {
    /// The bytes may identify the reporter (RULES T5): never in a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("complaint_attachment::Model")
            .field("complaint_id", &self.complaint_id)
            .field("seq", &self.seq)
            .field("idx", &self.idx)
            .field("sha256", &self.sha256)
            .finish_non_exhaustive()
    }
}

/// No relations are navigated through sea-orm; joins are explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
