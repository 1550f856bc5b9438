//! The `complaint_reporters` table: the protected identity of a complainant or reporter (RULES
//! T5). Read only by `sanxiang-complaints` for a handling office, and each read is logged in
//! `complaint_reporter_access`.

use sanxiang_domain::id::ComplaintId;
use sea_orm::entity::prelude::*;

/// A row of `complaint_reporters`.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "complaint_reporters")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub complaint_id: ComplaintId,
    pub name: String,
    pub contact: String,
    pub anonymous: bool,
    pub secrecy_requested: bool,
}

impl std::fmt::Debug for Model {
    /// The identity never reaches a log through a `Debug` print.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("complaint_reporter::Model")
            .field("complaint_id", &self.complaint_id)
            .field("anonymous", &self.anonymous)
            .field("secrecy_requested", &self.secrecy_requested)
            .finish_non_exhaustive()
    }
}

/// No relations are navigated through sea-orm; joins are explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
