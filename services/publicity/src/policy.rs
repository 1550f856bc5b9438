//! An agency's publication and masking policy (RULES P3, P4, P5, P7): stored per agency,
//! defaults where none was set.

use sanxiang_domain::id::{AgencyId, PrincipalId};
use sanxiang_domain::masking::MaskingPolicy;
use sanxiang_domain::publicity::{DisclosurePolicy, Regime};
use sanxiang_domain::{Error, Result, Timestamp};
use sanxiang_store::entity::publicity_policy;
use sanxiang_store::{Db, db_error};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde::{Deserialize, Serialize};

/// The policy of one agency.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    pub disclosure: DisclosurePolicy,
    pub masking: MaskingPolicy,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    disclosure: DisclosurePolicy,
    mask_party_name: bool,
}

impl Policy {
    /// From the form an administrator sets, validated (`INVALID_ARGUMENT policy.<field>`). With
    /// `regime_defaults` the regime's defaults replace every field but `auto_publish` and
    /// `mask_party_name`.
    pub fn from_form(p: &PolicyForm, regime_defaults: bool) -> Result<Self> {
        let regime = Regime::parse(&p.regime).ok_or_else(|| {
            Error::invalid(
                "policy.regime",
                format!("{:?} is not general or samr", sanxiang_domain::error::clip(&p.regime)),
            )
        })?;
        if regime_defaults {
            let disclosure = DisclosurePolicy { auto_publish: p.auto_publish, ..DisclosurePolicy::for_regime(regime) };
            return Ok(Self { disclosure, masking: MaskingPolicy { mask_party_name: p.mask_party_name } });
        }
        let disclosure = DisclosurePolicy {
            regime,
            penalty_days: p.penalty_days,
            licensing_days: p.licensing_days,
            other_days: p.other_days,
            auto_publish: p.auto_publish,
            exclude_warning_only: p.exclude_warning_only,
            exclude_summary_procedure: p.exclude_summary_procedure,
            small_fine_max_fen: p.small_fine_max_fen,
            short_months: p.short_months,
            long_months: p.long_months,
            special_regime_min_months: p.special_regime_min_months,
            early_stop_min_months: p.early_stop_min_months,
        };
        disclosure.validate()?;
        Ok(Self { disclosure, masking: MaskingPolicy { mask_party_name: p.mask_party_name } })
    }
}

/// An agency's policy as an administrator sets it (PutPublicityPolicy): every field of the
/// disclosure policy, the regime by its code, and the masking choice.
#[derive(Debug, Clone, Default)]
pub struct PolicyForm {
    pub agency_id: AgencyId,
    pub regime: String,
    pub penalty_days: u32,
    pub licensing_days: u32,
    pub other_days: u32,
    pub auto_publish: bool,
    pub exclude_warning_only: bool,
    pub exclude_summary_procedure: bool,
    pub small_fine_max_fen: u64,
    pub short_months: u32,
    pub long_months: u32,
    pub special_regime_min_months: u32,
    pub early_stop_min_months: u32,
    pub mask_party_name: bool,
}

/// The agency's policy, or the defaults.
pub async fn load(db: &Db, agency_id: &AgencyId) -> Result<Policy> {
    let Some(row) = publicity_policy::Entity::find_by_id(agency_id.to_owned()).one(db).await.map_err(db_error)? else {
        return Ok(Policy::default());
    };
    let s: Stored =
        serde_json::from_str(&row.body).map_err(|_| Error::DataLoss(format!("publicity policy of {agency_id}")))?;
    Ok(Policy { disclosure: s.disclosure, masking: MaskingPolicy { mask_party_name: s.mask_party_name } })
}

/// Stores the agency's policy, replacing the previous one.
pub async fn store(db: &Db, agency_id: &AgencyId, policy: &Policy, by: &PrincipalId, now: Timestamp) -> Result<()> {
    let body = serde_json::to_string(&Stored {
        disclosure: policy.disclosure.clone(),
        mask_party_name: policy.masking.mask_party_name,
    })
    .map_err(|e| Error::Internal(e.to_string()))?;
    let row = publicity_policy::ActiveModel {
        agency_id: Set(agency_id.to_owned()),
        body: Set(body),
        updated_at: Set(now.micros()),
        updated_by: Set(by.clone()),
    };
    publicity_policy::Entity::insert(row)
        .on_conflict(
            OnConflict::column(publicity_policy::Column::AgencyId)
                .update_columns([
                    publicity_policy::Column::Body,
                    publicity_policy::Column::UpdatedAt,
                    publicity_policy::Column::UpdatedBy,
                ])
                .to_owned(),
        )
        .exec(db)
        .await
        .map_err(db_error)?;
    Ok(())
}
