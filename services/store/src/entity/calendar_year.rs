//! The `calendar_years` table: working-day schedules loaded at run time.

use sanxiang_domain::id::PrincipalId;
use sea_orm::entity::prelude::*;

/// A row of `calendar_years`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "calendar_years")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub year: i64,
    /// The schedule in the TOML form of `calendar/cn-YYYY.toml`.
    pub schedule: String,
    pub updated_at: i64,
    pub updated_by: PrincipalId,
}

/// No relations are navigated through sea-orm; joins are explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
