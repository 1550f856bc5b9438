//! The `officers` table.

use sanxiang_domain::id::{AgencyId, OfficerId};
use sea_orm::entity::prelude::*;

/// A row of `officers`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "officers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: OfficerId,
    pub agency_id: AgencyId,
    pub name: String,
    pub certificate_number: String,
    pub category: String,
    /// The area (执法区域) the certificate covers; empty: the agency's whole area (RULES C2, C8;
    /// migration m0017).
    pub area: String,
    /// YYYY-MM-DD, inclusive.
    pub valid_from: String,
    /// YYYY-MM-DD, inclusive.
    pub valid_until: String,
    /// The current status (history in `officer_status_changes`).
    pub status: String,
    pub legal_qualification: bool,
    /// Has decided 行政处罚 legal reviews before, outside this system (RULES G4; migration m0005).
    pub has_prior_review_experience: bool,
    /// The certificate's kind (RULES C1; migration m0014), a `CertificateKind`.
    pub certificate_kind: String,
    /// Who issued the certificate (C2).
    pub issuer: String,
    /// Auxiliary staff (辅助人员): never an acting officer (C3).
    pub auxiliary: bool,
    /// Registered before the qualification review and examinations passed (C3).
    pub eligibility_pending: bool,
    /// YYYY-MM-DD of the last annual review known at registration; empty: the day of
    /// registration (C4).
    pub reviewed_on: String,
    pub request_id: Option<String>,
    /// Hex SHA-256 of the request as first received: a retry with another request is refused.
    pub request_digest: Option<String>,
    pub created_at: i64,
}

/// No relations are navigated through sea-orm; joins are explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
