//! Notices before enforcement (事前公开, RULES P1).

use sanxiang_domain::{Error, Result};
use sanxiang_proto::v1 as pb;
use sanxiang_registry::Principal;

use crate::Publicity;

/// Sets one section of an agency's notice.
pub async fn put(_p: &Publicity, _who: &Principal, _r: pb::PutNoticeRequest) -> Result<pb::Notice> {
    Err(Error::Internal("notices are not built yet".into()))
}

/// An agency's notices and officer roster.
pub async fn list(_p: &Publicity, _agency_id: &str) -> Result<pb::ListNoticesResponse> {
    Err(Error::Internal("notices are not built yet".into()))
}
