//! Annual statistics (RULES P8, N1): an agency's enforcement data of a finished calendar year, counted
//! by the agency's local calendar (RULES D5), available from 1 January of the next year.
//!
//! A report costs a fixed handful of queries whatever the agency's size (grouped counts in the
//! database, one pass over the year's decision events and disclosures), plus one query per 500
//! decisions for the drafts the decisions were issued on. The record's tables are read through
//! [`sanxiang_recording::reads`] and the review's through [`crate::review_records`].

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use sanxiang_domain::Sha256Digest;
use sanxiang_domain::calendar::local_date;
use sanxiang_domain::canonical::Value;
use sanxiang_domain::catalog::{LicensingAction, PenaltyType};
use sanxiang_domain::error::request_id;
use sanxiang_domain::id::{AgencyId, CaseId, DraftId, PrincipalId};
use sanxiang_domain::lifecycle::{CaseKind, EventKind};
use sanxiang_domain::limits;
use sanxiang_domain::officer::stored_zone;
use sanxiang_domain::review::Outcome;
use sanxiang_domain::statistics::{AmountUnit, Tables};
use sanxiang_domain::statistics::{Incomplete, annual_due, penalty_incomplete};
use sanxiang_domain::{Error, Result, Timestamp};
use sanxiang_recording::reads::Period;
use sanxiang_store::db_error;
use sanxiang_store::entity::{agency, annual_publication, disclosure};
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, Set};

use serde::{Deserialize, Serialize};

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    pub name: String,
    pub count: u64,
}

/// An agency's statistics for a year (RULES P8). Its serde form is what a publication freezes
/// (RULES N6), so a field added later carries `#[serde(default)]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// A published version of an agency's figures of a year (RULES N6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    pub version: u32,
    /// Lowercase hex SHA-256 of the snapshot's canonical JSON.
    pub snapshot_id: String,
    pub published_at: Timestamp,
    pub published_by: PrincipalId,
    /// Empty for the first version; the correction's reason otherwise.
    pub reason: String,
}

/// The annual figures as served: the frozen snapshot once published, else computed now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnualView {
    pub report: AnnualReport,
    /// The version served; `None` when nothing was published and the figures are computed now.
    pub publication: Option<Publication>,
    /// Every published version of the year, oldest first.
    pub versions: Vec<Publication>,
    /// The day by which the figures are due (RULES N1).
    pub due_date: NaiveDate,
}

/// The day by which an agency publishes the figures of `year` (RULES N1, configured).
pub fn due_date(p: &Publicity, year: i32) -> Result<NaiveDate> {
    annual_due(year, p.statistics_policy().annual_due).ok_or_else(|| Error::invalid("year", "out of range"))
}

fn checked_year(year: i32) -> Result<()> {
    if (MIN_YEAR..=MAX_YEAR).contains(&year) {
        Ok(())
    } else {
        Err(Error::invalid("year", format!("a year from {MIN_YEAR} to {MAX_YEAR}")))
    }
}

/// The published versions of an agency's year, oldest first.
async fn rows(p: &Publicity, agency_id: &AgencyId, year: i32) -> Result<Vec<annual_publication::Model>> {
    annual_publication::Entity::find()
        .filter(annual_publication::Column::AgencyId.eq(agency_id))
        .filter(annual_publication::Column::Year.eq(i64::from(year)))
        .order_by_asc(annual_publication::Column::Version)
        .all(p.recorder().db())
        .await
        .map_err(db_error)
}

fn publication_of(row: &annual_publication::Model) -> Result<Publication> {
    Ok(Publication {
        version: u32::try_from(row.version).map_err(|_| {
            Error::DataLoss(format!(
                "annual_publications.version of agency {} year {} cannot be read",
                row.agency_id, row.year
            ))
        })?,
        snapshot_id: row.snapshot_id.clone(),
        published_at: Timestamp::from_micros(row.published_at),
        published_by: row.published_by.clone(),
        reason: row.reason.clone(),
    })
}

/// The frozen figures of a stored version: DATA_LOSS naming the row when the content does not
/// read or no longer has the digest it was published with.
fn frozen(row: &annual_publication::Model) -> Result<AnnualReport> {
    let bad = |what: &str| {
        Error::DataLoss(format!(
            "annual_publications.content of agency {} year {} version {} {what}",
            row.agency_id, row.year, row.version
        ))
    };
    if Sha256Digest::of(row.content.as_bytes()).to_hex() != row.snapshot_id {
        return Err(bad("does not match its snapshot id"));
    }
    serde_json::from_str(&row.content).map_err(|_| bad("cannot be read"))
}

/// The canonical JSON of a report and its SHA-256 (the snapshot id).
fn snapshot(r: &AnnualReport) -> Result<(String, String)> {
    let json = serde_json::to_value(r).map_err(|e| Error::Internal(format!("annual snapshot: {e}")))?;
    let text = Value::from_json(&json)
        .and_then(|v| v.to_canonical_string())
        .map_err(|e| Error::Internal(format!("annual snapshot: {e}")))?;
    let id = Sha256Digest::of(text.as_bytes()).to_hex();
    Ok((text, id))
}

/// An agency's figures of `year` as served (RULES N6): version `version` (1, 2, ...), or with 0
/// the latest published version, or the figures computed now when none was published.
pub async fn view(p: &Publicity, agency_id: &AgencyId, year: i32, version: u32) -> Result<AnnualView> {
    checked_year(year)?;
    if agency_id.trim().is_empty() {
        return Err(Error::invalid("agency_id", "must not be empty"));
    }
    let stored = rows(p, agency_id, year).await?;
    let versions = stored.iter().map(publication_of).collect::<Result<Vec<_>>>()?;
    let due_date = due_date(p, year)?;
    let chosen =
        if version == 0 {
            stored.last()
        } else {
            Some(stored.iter().find(|r| r.version == i64::from(version)).ok_or_else(|| {
                Error::not_found("annual publication", format!("{agency_id} {year} version {version}"))
            })?)
        };
    match chosen {
        Some(row) => {
            let report = frozen(row)?;
            Ok(AnnualView { report, publication: Some(publication_of(row)?), versions, due_date })
        }
        None => Ok(AnnualView { report: report(p, agency_id, year).await?, publication: None, versions, due_date }),
    }
}

/// What publishing the figures of a year is asked (PublishAnnualReport).
#[derive(Debug, Clone, Default)]
pub struct PublishAnnual {
    pub request_id: String,
    pub agency_id: AgencyId,
    pub year: i32,
    /// Required for a correction.
    pub reason: String,
}

/// Publishes (freezes) an agency's figures of a finished year (RULES N1, N6). The caller must be
/// authorised for the agency. The figures are computed from the record, refused while a decision
/// of the year lacks a penalty category or amount (`N6.incomplete`), and stored with their
/// snapshot id; a year already published gets a new version, whose reason is required. A retry
/// with the same request id answers the version it published.
pub async fn publish(p: &Publicity, who: &PrincipalId, r: PublishAnnual) -> Result<AnnualView> {
    let request_id = request_id(&r.request_id)?;
    checked_year(r.year)?;
    let reason = r.reason.trim();
    limits::chars("reason", reason, limits::MAX_TEXT)?;
    let db = p.recorder().db();
    if let Some(done) = annual_publication::Entity::find()
        .filter(annual_publication::Column::AgencyId.eq(&r.agency_id))
        .filter(annual_publication::Column::RequestId.eq(&request_id))
        .one(db)
        .await
        .map_err(db_error)?
    {
        if done.year != i64::from(r.year) || done.reason != reason {
            return Err(Error::precondition(
                "idempotency",
                format!("request_id {request_id} was already used for a different request"),
            ));
        }
        let version = u32::try_from(done.version).unwrap_or(0);
        return view(p, &r.agency_id, r.year, version).await;
    }
    let existing = rows(p, &r.agency_id, r.year).await?;
    if !existing.is_empty() && reason.is_empty() {
        return Err(Error::invalid(
            "reason",
            format!("{} is already published: a correction states its reason (RULES N6)", r.year),
        ));
    }
    let figures = report(p, &r.agency_id, r.year).await?;
    let agency = p.recorder().registry().agency(&r.agency_id).await?;
    let missing = incomplete(p, &agency, r.year).await?;
    if !missing.is_empty() {
        let shown: Vec<String> =
            missing.iter().take(10).map(|(case, why)| format!("case {case}: {}", why.words())).collect();
        return Err(Error::precondition(
            "N6.incomplete",
            format!(
                "{} decision(s) of {} lack a penalty category or amount: {}{}",
                missing.len(),
                r.year,
                shown.join("; "),
                if missing.len() > shown.len() { "; …" } else { "" }
            ),
        ));
    }
    let (content, snapshot_id) = snapshot(&figures)?;
    let version = existing.last().map_or(1, |row| row.version + 1);
    let inserted = annual_publication::ActiveModel {
        agency_id: Set(r.agency_id.clone()),
        year: Set(i64::from(r.year)),
        version: Set(version),
        snapshot_id: Set(snapshot_id),
        content: Set(content),
        published_at: Set(p.now().micros()),
        published_by: Set(who.clone()),
        reason: Set(reason.to_owned()),
        request_id: Set(request_id),
    }
    .insert(db)
    .await
    .map_err(db_error);
    if let Err(err) = inserted {
        // Two publications of the same year at once: one takes the version; the other is told
        // so (ALREADY_EXISTS), to read what was published and, if need be, correct it.
        let taken = rows(p, &r.agency_id, r.year).await?.iter().any(|row| row.version == version);
        return Err(if taken {
            Error::AlreadyExists(format!(
                "version {version} of {} {} was published meanwhile; read it and correct it if need be",
                r.agency_id, r.year
            ))
        } else {
            err
        });
    }
    view(p, &r.agency_id, r.year, u32::try_from(version).unwrap_or(0)).await
}

/// The decisions of the year whose figures are incomplete (RULES N6), with what they lack.
async fn incomplete(p: &Publicity, agency: &agency::Model, year: i32) -> Result<Vec<(CaseId, Incomplete)>> {
    let tz = stored_zone(&agency.time_zone)?;
    let period = Period { start: end_instant(dec31(year - 1)?, tz), end: end_instant(dec31(year)?, tz) };
    let mut drafts: Vec<(CaseId, CaseKind, DraftId)> = Vec::new();
    for d in p.recorder().decisions_in(&agency.id, period).await? {
        if !matches!(d.case_kind, CaseKind::Penalty | CaseKind::Licensing) {
            continue;
        }
        let draft_id = d
            .payload
            .get("draft_id")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::DataLoss(format!("decision in case {} names no draft", d.case_id)))?;
        drafts.push((d.case_id.clone(), d.case_kind, DraftId::from(draft_id)));
    }
    let ids: Vec<DraftId> = drafts.iter().map(|(_, _, id)| id.clone()).collect();
    let contents = p.reviews().draft_contents(&ids).await?;
    let mut out = Vec::new();
    for ((case_id, kind, _), (id, text)) in drafts.into_iter().zip(contents) {
        let d = content::DraftContent::parse(&id, &text)?;
        let why = match kind {
            CaseKind::Penalty => {
                let typed = d
                    .penalties
                    .iter()
                    .map(|(name, fen)| {
                        PenaltyType::parse(name).map(|t| (t, *fen)).ok_or_else(|| {
                            Error::DataLoss(format!("drafts.content.penalties.type of draft {id} cannot be read"))
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                penalty_incomplete(&typed)
            }
            _ => LicensingAction::parse(&d.licensing_action).is_none().then_some(Incomplete::LicensingWithoutAction),
        };
        if let Some(why) = why {
            out.push((case_id, why));
        }
    }
    Ok(out)
}
