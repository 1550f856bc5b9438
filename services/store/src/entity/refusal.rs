//! The `refusals` table: refused attempts that supervisors see counted (RULES S1).

use sanxiang_domain::id::{AgencyId, CaseId, OfficerId, PrincipalId};
use sea_orm::entity::prelude::*;

/// A row of `refusals`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refusals")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub agency_id: AgencyId,
    /// `invalid_certificate`.
    pub kind: String,
    /// The officer concerned.
    pub subject_id: OfficerId,
    pub case_id: Option<CaseId>,
    pub detail: String,
    pub occurred_at: i64,
    /// The principal whose request was refused (NULL for rows from before it was recorded).
    pub actor_id: Option<PrincipalId>,
}

/// No relations are navigated through sea-orm; joins are explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
