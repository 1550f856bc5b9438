//! The `events` table.

use sanxiang_domain::id::CaseId;
use sea_orm::entity::prelude::*;

/// A row of `events`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub global_seq: i64,
    pub case_id: CaseId,
    pub case_seq: i64,
    pub kind: String,
    pub occurred_at: i64,
    pub recorded_at: i64,
    pub actor: String,
    pub request_id: String,
    /// Hex SHA-256 of the request as first received: a retry with another request is refused.
    pub request_digest: Option<String>,
    /// JSON array of officer ids.
    pub officers: String,
    /// JSON array of evidence links (id, sha256, size, media_type).
    pub evidence: String,
    /// Canonical JSON of the kind-specific content.
    pub payload: String,
    pub prev_hash: String,
    pub hash: String,
}

/// No relations are navigated through sea-orm; joins are explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
