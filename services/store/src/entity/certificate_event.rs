//! The `certificate_events` table: what was recorded of a certificate after it was issued
//! (RULES C3–C5; migration m0014).

use sanxiang_domain::id::{OfficerId, PrincipalId};
use sea_orm::entity::prelude::*;

/// A row of `certificate_events`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "certificate_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub officer_id: OfficerId,
    /// A `CertificateEventKind`.
    pub kind: String,
    /// YYYY-MM-DD in the agency's zone: effective from the start of that day.
    pub effective_on: String,
    pub training_hours: i64,
    pub reason: String,
    pub recorded_at: i64,
    pub recorded_by: PrincipalId,
    /// Of a `replaced` event: the number of the card it replaced (unique: a number names one
    /// card, current or replaced) and that card's validity dates (YYYY-MM-DD, inclusive).
    pub number: Option<String>,
    pub valid_from: Option<String>,
    pub valid_until: Option<String>,
}

/// No relations are navigated through sea-orm; joins are explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
