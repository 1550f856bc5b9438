//! The `agencies` table.

use sanxiang_domain::id::AgencyId;
use sea_orm::entity::prelude::*;

/// A row of `agencies`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "agencies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: AgencyId,
    pub name: String,
    pub credit_code: String,
    pub region: String,
    pub parent_id: Option<AgencyId>,
    /// JSON array of powers.
    pub powers: String,
    pub time_zone: String,
    /// JSON object of the recording policy.
    pub recording_policy: String,
    pub upload_window_hours: i64,
    pub request_id: Option<String>,
    /// Hex SHA-256 of the request as first received: a retry with another request is refused.
    pub request_digest: Option<String>,
    pub created_at: i64,
    /// What the agency is (RULES F3: `government`, `department`, `authorised`, `vertical`);
    /// `None` for agencies created before kinds (migration m0018), which file up the tree.
    pub kind: Option<String>,
    /// The people's government the agency belongs to (F3: a department files with it).
    pub government_id: Option<AgencyId>,
}

/// No relations are navigated through sea-orm; joins are explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
