//! An agency's filing policy (RULES F1, F3, F4, F7): stored per agency as JSON, the defaults
//! ([`FilingPolicy::default`], Henan's thresholds) where none was set.

use sanxiang_domain::filing::FilingPolicy;
use sanxiang_domain::id::{AgencyId, PrincipalId};
use sanxiang_domain::{Error, Result, Timestamp};
use sanxiang_store::entity::filing_policy;
use sanxiang_store::{Db, db_error};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, EntityTrait};

/// The agency's policy, or the defaults; a stored policy that does not read is DATA_LOSS.
pub async fn load(db: &Db, agency_id: &AgencyId) -> Result<FilingPolicy> {
    let Some(row) = filing_policy::Entity::find_by_id(agency_id.to_owned()).one(db).await.map_err(db_error)? else {
        return Ok(FilingPolicy::default());
    };
    parse(&row.body, || format!("filing_policies.body of agency {agency_id}"))
}

/// A policy stored as JSON (the policy table, or a filing's `terms`).
pub fn parse(body: &str, what: impl FnOnce() -> String) -> Result<FilingPolicy> {
    serde_json::from_str(body).map_err(|_| Error::DataLoss(format!("{} cannot be read", what())))
}

/// The JSON a policy is stored as.
pub fn to_json(policy: &FilingPolicy) -> Result<String> {
    serde_json::to_string(policy).map_err(|e| Error::Internal(e.to_string()))
}

/// Stores the agency's policy (validated), replacing the previous one.
pub async fn store(
    db: &Db,
    agency_id: &AgencyId,
    policy: &FilingPolicy,
    by: &PrincipalId,
    now: Timestamp,
) -> Result<()> {
    policy.validate()?;
    let row = filing_policy::ActiveModel {
        agency_id: Set(agency_id.to_owned()),
        body: Set(to_json(policy)?),
        updated_at: Set(now.micros()),
        updated_by: Set(by.clone()),
    };
    filing_policy::Entity::insert(row)
        .on_conflict(
            OnConflict::column(filing_policy::Column::AgencyId)
                .update_columns([
                    filing_policy::Column::Body,
                    filing_policy::Column::UpdatedAt,
                    filing_policy::Column::UpdatedBy,
                ])
                .to_owned(),
        )
        .exec(db)
        .await
        .map_err(db_error)?;
    Ok(())
}
