//! The figures of a period and the 情况通报 built from them (RULES T7): counts by channel, type,
//! agency, outcome and officer concerned; what is overdue now; the upheld rate. Only counts and
//! ids: no content, no reporter, nothing personal.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use sanxiang_domain::calendar::local_date;
use sanxiang_domain::complaints::{ComplaintType, Outcome};
use sanxiang_domain::officer::stored_zone;
use sanxiang_domain::{Error, Result, Timestamp};
use sanxiang_store::db_error;
use sanxiang_store::entity::{agency, complaint, complaint_step};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::{Complaints, stored_outcome, stored_type};

/// One count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    /// `channel`, `type`, `agency`, `outcome` or `officer`.
    pub dimension: &'static str,
    pub key: String,
    pub count: u64,
}

/// The figures of a period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    pub received: u64,
    pub open: u64,
    pub overdue: u64,
    pub counts: Vec<Count>,
    pub concluded_conduct: u64,
    pub upheld_conduct: u64,
    /// Upheld per mille of concluded conduct complaints (0 when none concluded).
    pub upheld_per_mille: u32,
    /// The 情况通报 text.
    pub notice: String,
}

/// A period's dates, checked: `from` ≤ `to`, at most ten years.
pub fn period(from: &str, to: &str) -> Result<(NaiveDate, NaiveDate)> {
    let parse = |field: &str, v: &str| {
        NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| Error::invalid(field, "a date YYYY-MM-DD"))
    };
    let (from, to) = (parse("from", from)?, parse("to", to)?);
    if from > to {
        return Err(Error::invalid("to", "is before from"));
    }
    if (to - from).num_days() > 3660 {
        return Err(Error::invalid("to", "a period is at most ten years"));
    }
    Ok((from, to))
}

impl Complaints {
    /// The figures of complaints received in `agencies` from `from` to `to` (local dates, both
    /// inclusive).
    pub async fn figures(&self, agencies: &[agency::Model], from: NaiveDate, to: NaiveDate) -> Result<Figures> {
        let ids: Vec<_> = agencies.iter().map(|a| a.id.clone()).collect();
        let mut f = Figures::default();
        if ids.is_empty() {
            return Ok(f);
        }
        // A day's margin either side of the UTC bounds; each row is then judged by its local date.
        let lo = from.checked_sub_days(Days::new(1)).unwrap_or(from).and_hms_opt(0, 0, 0).map(|d| d.and_utc());
        let hi = to.checked_add_days(Days::new(2)).unwrap_or(to).and_hms_opt(0, 0, 0).map(|d| d.and_utc());
        let (Some(lo), Some(hi)) = (lo, hi) else { return Err(Error::invalid("to", "out of range")) };
        let rows = complaint::Entity::find()
            .filter(complaint::Column::AgencyId.is_in(ids))
            .filter(complaint::Column::ReceivedAt.gte(Timestamp::from_datetime(lo).micros()))
            .filter(complaint::Column::ReceivedAt.lt(Timestamp::from_datetime(hi).micros()))
            .order_by_asc(complaint::Column::ReceivedAt)
            .all(self.recorder().db())
            .await
            .map_err(db_error)?;
        let calendar = self.registry().calendar().await?;
        let mut counts: BTreeMap<(&'static str, String), u64> = BTreeMap::new();
        let mut by_type: BTreeMap<&'static str, u64> = BTreeMap::new();
        for c in rows {
            let a = agencies.iter().find(|a| a.id == c.agency_id).ok_or_else(|| Error::Internal("agency".into()))?;
            let tz = stored_zone(&a.time_zone)?;
            let day = local_date(Timestamp::from_micros(c.received_at), tz);
            if day < from || day > to {
                continue;
            }
            let ty = stored_type(&c)?;
            let outcome = stored_outcome(&c)?;
            f.received += 1;
            *by_type.entry(ty.as_str()).or_default() += 1;
            *counts.entry(("channel", c.channel.clone())).or_default() += 1;
            *counts.entry(("type", ty.as_str().to_owned())).or_default() += 1;
            *counts.entry(("agency", c.agency_id.to_string())).or_default() += 1;
            *counts.entry(("outcome", outcome.map_or("open", Outcome::as_str).to_owned())).or_default() += 1;
            for o in crate::stored_officers(&c)? {
                *counts.entry(("officer", o.to_string())).or_default() += 1;
            }
            if ty == ComplaintType::ConductComplaint
                && let Some(o) = outcome
                && o != Outcome::Rejected
            {
                f.concluded_conduct += 1;
                if o.upheld() {
                    f.upheld_conduct += 1;
                }
            }
            if c.is_open {
                f.open += 1;
            }
            // What is owed: an open complaint's steps, and the answer a revoke-or-change
            // recommendation still awaits (T6).
            if c.is_open || outcome == Some(Outcome::RevokeOrChangeRecommended) {
                let steps = complaint_step::Entity::find()
                    .filter(complaint_step::Column::ComplaintId.eq(c.id.clone()))
                    .order_by_asc(complaint_step::Column::Seq)
                    .all(self.recorder().db())
                    .await
                    .map_err(db_error)?;
                let policy = self.policy(&c.agency_id).await?;
                f.overdue +=
                    self.owing_now(&c, &steps, tz, &calendar, &policy).await?.iter().filter(|o| o.overdue).count()
                        as u64;
            }
        }
        f.counts = counts.into_iter().map(|((dimension, key), count)| Count { dimension, key, count }).collect();
        if let Some(rate) = (f.upheld_conduct * 1000).checked_div(f.concluded_conduct) {
            f.upheld_per_mille = u32::try_from(rate).unwrap_or(1000);
        }
        let types: Vec<String> = by_type.iter().map(|(t, n)| format!("{t} {n}")).collect();
        f.notice = format!(
            "情况通报 {from} 至 {to}: 收到投诉举报 {} 件（{}），办理中 {} 件，逾期未办步骤 {} 项；执法行为投诉办结 {} 件，其中成立 {} 件，成立率 {}.{}%。",
            f.received,
            if types.is_empty() { "无".to_owned() } else { types.join("，") },
            f.open,
            f.overdue,
            f.concluded_conduct,
            f.upheld_conduct,
            f.upheld_per_mille / 10,
            f.upheld_per_mille % 10,
        );
        Ok(f)
    }
}
