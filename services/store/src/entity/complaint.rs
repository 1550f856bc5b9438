//! The `complaints` table: a complaint or report (RULES T1–T7), its head of chain and state.
//! The reporter's identity is not here: see [`super::complaint_reporter`].

use sanxiang_domain::id::{AgencyId, CaseId, ComplaintId, OfficerId, PrincipalId};
use sea_orm::entity::prelude::*;

/// A row of `complaints`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "complaints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: ComplaintId,
    pub agency_id: AgencyId,
    /// `ComplaintType::as_str`.
    pub complaint_type: String,
    /// `Channel::as_str`.
    pub channel: String,
    pub received_at: i64,
    pub intake_officer_id: Option<OfficerId>,
    pub intake_principal_id: Option<PrincipalId>,
    pub content: String,
    pub case_id: Option<CaseId>,
    /// JSON array of officer ids the complaint concerns.
    pub officer_ids: String,
    pub sibling_id: Option<ComplaintId>,
    /// The reporter gave a name (not anonymous): they are owed notifications.
    pub real_name: bool,
    pub is_open: bool,
    /// `Outcome::as_str` once closed.
    pub outcome: Option<String>,
    pub step_count: i64,
    pub head_hash: String,
    pub updated_at: i64,
    /// The staff intake's request id (retries answer the stored records).
    pub request_id: Option<String>,
    /// Digest of that request as first received.
    pub request_digest: Option<String>,
}

/// No relations are navigated through sea-orm; joins are explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
