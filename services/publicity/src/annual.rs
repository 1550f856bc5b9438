//! Annual statistics (RULES P8).

use sanxiang_domain::{Error, Result};
use sanxiang_proto::v1 as pb;

use crate::Publicity;

/// An agency's statistics for a finished year.
pub async fn report(_p: &Publicity, _agency_id: &str, _year: i32) -> Result<pb::AnnualReport> {
    Err(Error::Internal("annual reports are not built yet".into()))
}
