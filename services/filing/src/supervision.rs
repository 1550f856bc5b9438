//! What the supervision office sees of filings: late and missing filings, reviews, supplements
//! and responses past their periods (RULES F8, in `ListOverdue`), and the periodic notice (情况通报, F9).
//! Judged at the moment of the request in each agency's zone, so no job has to run; nothing is
//! sanctioned, only shown.

use std::collections::HashMap;

use chrono::NaiveDate;
use sanxiang_domain::calendar::local_date;
use sanxiang_domain::filing::{FilingStatus, Outcome};
use sanxiang_domain::id::AgencyId;
use sanxiang_domain::lifecycle::EventKind;
use sanxiang_domain::officer::stored_zone;
use sanxiang_domain::statistics::period;
use sanxiang_domain::{Error, Result, Timestamp};
use sanxiang_publicity::supervision::{OverdueItem, OverdueKind};
use sanxiang_store::entity::{agency, event, filing};

use crate::{FileRequest, Filings, file_requests_of, status_of, stored_date, terms_of};

/// One agency's line of the periodic notice (RULES F9).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportRow {
    pub agency_id: AgencyId,
    pub agency_name: String,
    /// Decisions of the period that must be filed.
    pub required: u64,
    pub filed_on_time: u64,
    pub filed_late: u64,
    pub not_filed: u64,
    /// Of `not_filed`, those past their due date.
    pub not_filed_overdue: u64,
    pub recorded: u64,
    pub supplement_required: u64,
    pub correction_recommended: u64,
    pub transfer_required: u64,
    pub terminated_by_dispute: u64,
    /// Corrections and transfers the agency responded to.
    pub responses_done: u64,
    pub responses_outstanding: u64,
    /// Submitted and not yet concluded.
    pub reviews_pending: u64,
}

impl ReportRow {
    fn add(&mut self, o: &Self) {
        self.required += o.required;
        self.filed_on_time += o.filed_on_time;
        self.filed_late += o.filed_late;
        self.not_filed += o.not_filed;
        self.not_filed_overdue += o.not_filed_overdue;
        self.recorded += o.recorded;
        self.supplement_required += o.supplement_required;
        self.correction_recommended += o.correction_recommended;
        self.transfer_required += o.transfer_required;
        self.terminated_by_dispute += o.terminated_by_dispute;
        self.responses_done += o.responses_done;
        self.responses_outstanding += o.responses_outstanding;
        self.reviews_pending += o.reviews_pending;
    }
}

/// The notice over the decisions of `from_date..=to_date` (each agency's local dates), per agency
/// of `agencies` (already authorised), with the total.
pub async fn report(
    f: &Filings,
    agencies: Vec<agency::Model>,
    from_date: &str,
    to_date: &str,
) -> Result<(Vec<ReportRow>, ReportRow)> {
    let (from, to) = period("from_date", from_date, "to_date", to_date, 2000..=2100)?;
    let ids: Vec<AgencyId> = agencies.iter().map(|a| a.id.clone()).collect();
    let rows = f.rows(&ids, None).await?;
    let zones = f.zones(&rows).await?;
    let calendar = f.recorder().registry().calendar().await?;
    let dues = f.due_dates(&rows, &zones, &calendar).await?;
    let now = f.recorder().clock().now();
    let mut lines: Vec<ReportRow> = agencies
        .iter()
        .map(|a| ReportRow { agency_id: a.id.clone(), agency_name: a.name.clone(), ..ReportRow::default() })
        .collect();
    let index: HashMap<AgencyId, usize> = ids.iter().cloned().enumerate().map(|(i, a)| (a, i)).collect();
    for r in &rows {
        let decided = stored_date(&r.decided_on, || format!("filings.decided_on of case {}", r.case_id))?;
        if decided < from || decided > to {
            continue;
        }
        let Some(line) = index.get(&r.agency_id).map(|i| &mut lines[*i]) else { continue };
        let tz = zones.get(&r.agency_id).copied().ok_or_else(|| Error::Internal("agency zone not loaded".into()))?;
        let today = local_date(now, tz);
        line.required += 1;
        match r.submitted_late {
            Some(false) => line.filed_on_time += 1,
            Some(true) => line.filed_late += 1,
            None => {
                line.not_filed += 1;
                if dues.get(&r.case_id).is_some_and(|d| today > d.date) {
                    line.not_filed_overdue += 1;
                }
            }
        }
        let status = status_of(r)?;
        if matches!(status, FilingStatus::Submitted | FilingStatus::UnderReview) {
            line.reviews_pending += 1;
        }
        if status == FilingStatus::AwaitingResponse {
            line.responses_outstanding += 1;
        }
        match r.outcome.as_deref().map(Outcome::parse) {
            None => {}
            Some(None) => return Err(Error::DataLoss(format!("filings.outcome of case {} cannot be read", r.case_id))),
            Some(Some(o)) => {
                match o {
                    Outcome::Recorded => line.recorded += 1,
                    Outcome::SupplementRequired => line.supplement_required += 1,
                    Outcome::CorrectionRecommended => line.correction_recommended += 1,
                    Outcome::TransferRequired => line.transfer_required += 1,
                    Outcome::TerminatedByDispute => line.terminated_by_dispute += 1,
                }
                if o.awaits_response() && r.responded_on.is_some() {
                    line.responses_done += 1;
                }
            }
        }
    }
    let mut total = ReportRow::default();
    for l in &lines {
        total.add(l);
    }
    Ok((lines, total))
}

fn item(kind: OverdueKind, r: &filing::Model, due: Option<NaiveDate>, detail: String, at: i64) -> OverdueItem {
    OverdueItem {
        kind,
        agency_id: r.agency_id.clone(),
        case_id: Some(r.case_id.clone()),
        subject_id: r.case_id.to_string(),
        due_date: due.map(|d| d.to_string()).unwrap_or_default(),
        detail,
        occurred_at: Timestamp::from_micros(at),
    }
}

/// RULES F6: a call for the case file not answered by its due date, or answered after it.
fn case_file_item(r: &filing::Model, request: &FileRequest, today: NaiveDate) -> Option<OverdueItem> {
    let due = request.due.date;
    let provisional = if request.due.provisional { " (provisional)" } else { "" };
    let detail = match &request.provided {
        None if today > due => format!(
            "the full case file the filing review called for on {} (RULES F6) is not provided; it was due on {due}{provisional}",
            request.requested_on
        ),
        Some((_, on)) if request.provided_late() => format!(
            "the full case file the filing review called for on {} (RULES F6) was provided late, on {on}; it was due on {due}",
            request.requested_on
        ),
        _ => return None,
    };
    let mut item = item(OverdueKind::FilingCaseFile, r, Some(due), detail, r.decided_at);
    item.subject_id = format!("{}:{}", r.case_id, request.requested_seq);
    Some(item)
}

/// RULES F8, F7 and F6: filings missing past their due date, filings made late, reviews past
/// their period, responses past theirs and case files called for and not provided in time, in
/// `agencies` (already authorised) and, when `recipient` is given, in the filings routed to it
/// from elsewhere (F3: a vertically managed body's local government).
pub async fn overdue(
    f: &Filings,
    agencies: &[agency::Model],
    recipient: Option<&AgencyId>,
) -> Result<Vec<OverdueItem>> {
    let ids: Vec<AgencyId> = agencies.iter().map(|a| a.id.clone()).collect();
    let mut zones = HashMap::new();
    for a in agencies {
        zones.insert(a.id.clone(), stored_zone(&a.time_zone)?);
    }
    let rows = f.rows_for(&ids, recipient, None).await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    for (id, tz) in f.zones(&rows).await? {
        zones.entry(id).or_insert(tz);
    }
    let mut filing_agencies: Vec<AgencyId> = Vec::new();
    for r in &rows {
        if !filing_agencies.contains(&r.agency_id) {
            filing_agencies.push(r.agency_id.clone());
        }
    }
    let calendar = f.recorder().registry().calendar().await?;
    let dues = f.due_dates(&rows, &zones, &calendar).await?;
    let now = f.recorder().clock().now();
    let (file_events, _) = f
        .recorder()
        .events_of_kinds_of_agencies(&filing_agencies, &[EventKind::FilingFileRequested, EventKind::FilingFileProvided])
        .await?;
    let mut file_events_of: HashMap<String, Vec<event::Model>> = HashMap::new();
    for e in file_events {
        file_events_of.entry(e.case_id.to_string()).or_default().push(e);
    }
    let mut items = Vec::new();
    for r in &rows {
        let tz = zones.get(&r.agency_id).copied().ok_or_else(|| Error::Internal("agency zone not loaded".into()))?;
        let today = local_date(now, tz);
        let date = |s: &Option<String>, col: &str| -> Result<Option<NaiveDate>> {
            s.as_deref().map(|d| stored_date(d, || format!("filings.{col} of case {}", r.case_id))).transpose()
        };
        if let Some(events) = file_events_of.get(r.case_id.as_str()) {
            for request in file_requests_of(events, tz, &terms_of(r)?, &calendar)? {
                if let Some(item) = case_file_item(r, &request, today) {
                    items.push(item);
                }
            }
        }
        let due = dues.get(&r.case_id);
        match r.submitted_late {
            None => {
                if let Some(d) = due.filter(|d| today > d.date) {
                    let provisional = if d.provisional { " (provisional)" } else { "" };
                    let start = terms_of(r)?.start.as_str();
                    items.push(item(
                        OverdueKind::FilingMissing,
                        r,
                        Some(d.date),
                        format!(
                            "the decision of {} owes a filing (RULES F1) and is not filed; it was due on {}{provisional}, counted from its {start} (F4)",
                            r.decided_on, d.date
                        ),
                        r.decided_at,
                    ));
                }
            }
            Some(true) => items.push(item(
                OverdueKind::FilingLate,
                r,
                due.map(|d| d.date),
                format!(
                    "the decision of {} was filed late, on {}",
                    r.decided_on,
                    r.submitted_on.as_deref().unwrap_or_default()
                ),
                r.submitted_at.unwrap_or(r.decided_at),
            )),
            Some(false) => {}
        }
        let status = status_of(r)?;
        if matches!(status, FilingStatus::Submitted | FilingStatus::UnderReview)
            && let Some(d) = date(&r.review_due_date, "review_due_date")?.filter(|d| today > *d)
        {
            items.push(item(
                OverdueKind::FilingReview,
                r,
                Some(d),
                format!("the filing of the decision of {} is not reviewed; the review was due on {d}", r.decided_on),
                r.last_submitted_at.unwrap_or(r.decided_at),
            ));
        }
        if status == FilingStatus::SupplementRequired
            && let Some(d) = date(&r.response_due_date, "response_due_date")?.filter(|d| today > *d)
        {
            items.push(item(
                OverdueKind::FilingSupplement,
                r,
                Some(d),
                format!(
                    "the supplement the filing review asked for on the decision of {} is not filed; it was due on {d}",
                    r.decided_on
                ),
                r.concluded_at.unwrap_or(r.decided_at),
            ));
        }
        if status == FilingStatus::AwaitingResponse
            && let Some(d) = date(&r.response_due_date, "response_due_date")?.filter(|d| today > *d)
        {
            items.push(item(
                OverdueKind::FilingResponse,
                r,
                Some(d),
                format!(
                    "no response to the filing review's {} of the decision of {}; it was due on {d}",
                    r.outcome.as_deref().unwrap_or_default(),
                    r.decided_on
                ),
                r.concluded_at.unwrap_or(r.decided_at),
            ));
        }
    }
    Ok(items)
}
