//! Annual statistics (RULES P8, N1): an agency's enforcement data of a finished calendar year, counted
//! by the agency's local calendar (RULES D5), available from 1 January of the next year.
//!
//! A report costs a fixed handful of queries whatever the agency's size (grouped counts in the
//! database, one pass over the year's decision events and disclosures), plus one query per 500
//! decisions for the drafts the decisions were issued on. The record's tables are read through
//! [`sanxiang_recording::reads`] and the review's through [`crate::review_records`].

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use sanxiang_domain::calendar::local_date;
use sanxiang_domain::canonical::Value;
use sanxiang_domain::id::{AgencyId, DraftId};
use sanxiang_domain::lifecycle::EventKind;
use sanxiang_domain::officer::stored_zone;
use sanxiang_domain::review::Outcome;
use sanxiang_domain::statistics::{AmountUnit, Tables};
use sanxiang_domain::{Error, Result, Timestamp};
use sanxiang_recording::reads::Period;
use sanxiang_store::db_error;
use sanxiang_store::entity::disclosure;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};

use crate::Publicity;
use crate::content;
use crate::rows::status;
use sanxiang_domain::calendar::end_instant;

/// Earliest year a report is asked for (the three systems date from 2018; older records may
/// be migrated in).
pub const MIN_YEAR: i32 = 2000;
/// Latest year: far beyond any record, and small enough for date arithmetic.
pub const MAX_YEAR: i32 = 9998;

/// Counts by name, in name order.
#[derive(Debug, Default)]
struct Counts(BTreeMap<String, u64>);

impl Counts {
    fn add(&mut self, name: &str, n: u64) {
        *self.0.entry(name.to_owned()).or_default() += n;
    }

    fn into_counts(self) -> Vec<Count> {
        self.0.into_iter().map(|(name, count)| Count { name, count }).collect()
    }
}

/// A count under a name (a kind, a penalty type, a licensing action).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    pub name: String,
    pub count: u64,
}

/// An agency's statistics for a year (RULES P8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnualReport {
    pub agency_id: AgencyId,
    pub agency_name: String,
    pub year: i32,
    pub cases_by_kind: Vec<Count>,
    pub decisions_by_kind: Vec<Count>,
    pub penalties_by_type: Vec<Count>,
    pub licensing_by_action: Vec<Count>,
    pub fines_total_fen: u64,
    pub confiscation_total_fen: u64,
    pub major_decisions: u64,
    pub reviews: u64,
    pub reviews_with_problems: u64,
    pub revisions: Vec<Count>,
    pub withdrawals: u64,
    pub disclosures_published: u64,
    pub disclosures_overdue: u64,
    pub disclosures_excluded: u64,
    /// The year's penalty, licensing and compulsory-measure tables (RULES N2–N4), counted as
    /// [`crate::statistics`] counts every period.
    pub tables: Tables,
    /// The unit the tables' amounts are shown in.
    pub amount_unit: AmountUnit,
}

fn dec31(year: i32) -> Result<NaiveDate> {
    NaiveDate::from_ymd_opt(year, 12, 31).ok_or_else(|| Error::invalid("year", "out of range"))
}

/// An agency's statistics for `year`, which must have ended in the agency's zone.
pub async fn report(p: &Publicity, agency_id: &AgencyId, year: i32) -> Result<AnnualReport> {
    if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
        return Err(Error::invalid("year", format!("a year from {MIN_YEAR} to {MAX_YEAR}")));
    }
    if agency_id.trim().is_empty() {
        return Err(Error::invalid("agency_id", "must not be empty"));
    }
    let agency = p.recorder().registry().agency(agency_id).await?;
    let tz = stored_zone(&agency.time_zone)?;
    let now = p.recorder().clock().now();
    if local_date(now, tz).year() <= year {
        return Err(Error::precondition(
            "P8.year-not-ended",
            format!("the statistics of {year} are available from {}-01-01", year + 1),
        ));
    }
    // The year is [start, end) in UTC micros: local midnight of 1 January to that of the next.
    let start = end_instant(dec31(year - 1)?, tz);
    let end = end_instant(dec31(year)?, tz);
    let year_end = dec31(year)?.to_string();
    let period = Period { start, end };
    let recorder = p.recorder();
    let jan1 = NaiveDate::from_ymd_opt(year, 1, 1).ok_or_else(|| Error::invalid("year", "out of range"))?;
    let tables = crate::statistics::tables(p, &agency, jan1, dec31(year)?).await?;

    // Cases opened, by kind.
    let mut cases_by_kind = Counts::default();
    for (kind, n) in recorder.cases_opened_by_kind(agency_id, period).await? {
        cases_by_kind.add(&kind, n);
    }

    // Decisions and revisions of the year.
    let decisions = recorder.decisions_in(agency_id, period).await?;
    let revised = recorder.payloads_in(agency_id, EventKind::DecisionRevised, period).await?;

    let mut decisions_by_kind = Counts::default();
    let mut major_decisions = 0u64;
    let mut draft_ids = Vec::with_capacity(decisions.len());
    for d in &decisions {
        decisions_by_kind.add(d.case_kind.as_str(), 1);
        if d.payload.get("major").and_then(Value::as_bool).unwrap_or(false) {
            major_decisions += 1;
        }
        let draft_id = d
            .payload
            .get("draft_id")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::DataLoss(format!("decision in case {} names no draft", d.case_id)))?;
        draft_ids.push(DraftId::from(draft_id));
    }

    // What the decisions decided, from the drafts they were issued on.
    let mut penalties_by_type = Counts::default();
    let mut licensing_by_action = Counts::default();
    let mut fines_total_fen = 0u64;
    let mut confiscation_total_fen = 0u64;
    for (id, text) in p.reviews().draft_contents(&draft_ids).await? {
        let d = content::DraftContent::parse(&id, &text)?;
        let facts = content::facts(&id, &d);
        for t in &facts.penalties {
            penalties_by_type.add(t, 1);
        }
        fines_total_fen = fines_total_fen.saturating_add(facts.fine_fen);
        confiscation_total_fen = confiscation_total_fen.saturating_add(facts.confiscation_fen);
        if !d.licensing_action.is_empty() {
            licensing_by_action.add(&d.licensing_action, 1);
        }
    }

    let mut revisions = Counts::default();
    for v in &revised {
        revisions.add(v.get("revision").and_then(Value::as_str).unwrap_or("unspecified"), 1);
    }

    // Legal reviews given in the year, by outcome.
    let reviewed = p.reviews().reviews_by_outcome(agency_id, period).await?;
    let reviews = reviewed.iter().map(|(_, n)| *n).sum();
    let reviews_with_problems =
        reviewed.iter().filter(|(o, _)| o.as_str() == Outcome::ProblemsFound.as_str()).map(|(_, n)| *n).sum();

    // Disclosures that concern the year: published, withdrawn or excluded in it, or due by its
    // end and not yet published then.
    let in_year = |c: disclosure::Column| Condition::all().add(c.gte(start)).add(c.lt(end));
    let rows: Vec<disclosure::Model> = disclosure::Entity::find()
        .filter(disclosure::Column::AgencyId.eq(agency_id))
        .filter(
            Condition::any()
                .add(in_year(disclosure::Column::PublishedAt))
                .add(in_year(disclosure::Column::WithdrawnAt))
                .add(in_year(disclosure::Column::DecidedAt))
                .add(
                    Condition::all()
                        .add(disclosure::Column::DecidedAt.lt(end))
                        .add(disclosure::Column::DueDate.lte(year_end.as_str()))
                        .add(
                            Condition::any()
                                .add(disclosure::Column::PublishedAt.is_null())
                                .add(disclosure::Column::PublishedAt.gte(end)),
                        ),
                ),
        )
        .all(recorder.db())
        .await
        .map_err(db_error)?;
    let within = |t: Option<i64>| t.is_some_and(|t| t >= start && t < end);
    let (mut published, mut overdue, mut excluded, mut withdrawals) = (0u64, 0u64, 0u64, 0u64);
    for d in &rows {
        if within(d.withdrawn_at) {
            withdrawals += 1;
        }
        if d.exclusion_code.is_some() {
            if within(Some(d.decided_at)) {
                excluded += 1;
            }
            continue;
        }
        if let Some(published_at) = d.published_at.filter(|t| within(Some(*t))) {
            published += 1;
            let on = local_date(Timestamp::from_micros(published_at), tz).to_string();
            if on > d.due_date {
                overdue += 1;
            }
        } else if pending_at(d, end) && d.decided_at < end && d.due_date <= year_end {
            // Still waiting for publication when the year ended, though due by then.
            overdue += 1;
        }
    }

    Ok(AnnualReport {
        agency_id: agency.id,
        agency_name: agency.name,
        year,
        cases_by_kind: cases_by_kind.into_counts(),
        decisions_by_kind: decisions_by_kind.into_counts(),
        penalties_by_type: penalties_by_type.into_counts(),
        licensing_by_action: licensing_by_action.into_counts(),
        fines_total_fen,
        confiscation_total_fen,
        major_decisions,
        reviews,
        reviews_with_problems,
        revisions: revisions.into_counts(),
        withdrawals,
        disclosures_published: published,
        disclosures_overdue: overdue,
        disclosures_excluded: excluded,
        tables,
        amount_unit: p.statistics_policy().amount_unit,
    })
}

/// Whether a disclosure (not excluded) was waiting for publication at `end`: not published
/// before it, and not cancelled by a revision before it.
fn pending_at(d: &disclosure::Model, end: i64) -> bool {
    let published_before = d.published_at.is_some_and(|t| t < end);
    let cancelled_before = d.status == status::CANCELLED && d.revised_at.is_none_or(|t| t < end);
    !published_before && !cancelled_before
}
