//! The `complaint_steps` table: a complaint's own hash chain, one row per step.

use sanxiang_domain::id::{ComplaintId, PrincipalId};
use sea_orm::entity::prelude::*;

/// A row of `complaint_steps`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "complaint_steps")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub complaint_id: ComplaintId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    /// `StepKind::as_str`.
    pub kind: String,
    pub occurred_at: i64,
    pub recorded_at: i64,
    pub actor_id: Option<PrincipalId>,
    /// Canonical JSON of the step; hashed into `hash`. Never holds the reporter's identity.
    pub payload: String,
    pub prev_hash: String,
    pub hash: String,
    /// The step request's id (a retry answers the complaint as it is).
    pub request_id: Option<String>,
    /// Digest of that request as first received.
    pub request_digest: Option<String>,
}

/// No relations are navigated through sea-orm; joins are explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
