//! Supervision views (RULES S1).

use sanxiang_domain::{Error, Result};
use sanxiang_proto::v1 as pb;
use sanxiang_registry::Principal;

use crate::Publicity;

/// What is overdue, missing or refused in the agencies `who` oversees.
pub async fn overdue(_p: &Publicity, _who: &Principal, _agency_id: &str) -> Result<Vec<pb::OverdueItem>> {
    Err(Error::Internal("supervision is not built yet".into()))
}
