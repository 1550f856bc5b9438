//! Supervision views (执法监督, RULES S1): what is overdue, missing or refused in the agencies a
//! supervisor oversees — publications and withdrawals past due, legal reviews past due, cases
//! past the 90-day limit, acts recorded without a required recording, and refused attempts by
//! officers with invalid certificates.
//!
//! Every date is judged in the agency's own zone (RULES D5), at the moment of the request, so
//! nothing needs a background job: an item appears when its day has passed.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use chrono_tz::Tz;
use sanxiang_domain::calendar::end_instant;
use sanxiang_domain::calendar::{
    DECISION_LATE_MIN_MICROS, DECISION_LIMIT_DAYS, WorkCalendar, decision_due, decision_late, local_date,
};
use sanxiang_domain::canonical::Value;
use sanxiang_domain::id::{AgencyId, CaseId};
use sanxiang_domain::lifecycle::{CaseState, EventKind};
use sanxiang_domain::officer::stored_zone;
use sanxiang_domain::{Error, Result, Timestamp};
use sanxiang_registry::registry::refusal_kind;
use sanxiang_store::db_error;
use sanxiang_store::entity::{agency, annual_publication, disclosure};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::Publicity;
use crate::rows::status;

/// What kind of lapse a supervision item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OverdueKind {
    /// A publication past its due date.
    Disclosure,
    /// A withdrawal past its 3 working days.
    Withdrawal,
    /// A legal review past its due date.
    Review,
    /// A case filed more than 90 days ago with no decision.
    Decision,
    /// An act that required a recording was recorded without one.
    RecordingMissing,
    /// An officer with an invalid certificate tried to act (refused).
    InvalidCertificate,
    /// Evidence uploaded after the agency's upload window.
    LateUpload,
    /// Automatic publication held for a publisher's confirmation.
    HeldDisclosure,
    /// A decision owing a filing not filed by its due date (RULES F8; listed by `sanxiang-filing`).
    FilingMissing,
    /// A decision filed after its due date (F8).
    FilingLate,
    /// A filing not reviewed within the review period (F7).
    FilingReview,
    /// No response to a correction or transfer recommendation within its period (F7).
    FilingResponse,
    /// A complaint not accepted or rejected in time (RULES T3, T6; listed by `sanxiang-complaints`).
    ComplaintAcceptance,
    /// Mediation, verification or a conduct complaint past its period (T3, T6).
    ComplaintHandling,
    /// Parties or a real-name reporter not told in time (T3, T4).
    ComplaintNotification,
    /// No 立案 decision on a report within its period (T4).
    ReportFiling,
    /// The previous year's figures not published by their due date (RULES N1).
    AnnualFigures,
    /// A supplement a filing review asked for, not filed within its period (F7; `sanxiang-filing`).
    FilingSupplement,
    /// A decision a conduct complaint recommended revoking or changing, neither revised nor
    /// answered within its period (T6; `sanxiang-complaints`).
    ComplaintRecommendation,
    /// An investigative act whose officers are not recorded as having shown their certificates
    /// (RULES P2, C7).
    CertificateNotShown,
    /// A jurisdiction dispute over a report neither settled nor referred to the common superior
    /// within its period (SAMR-C Art. 30; `sanxiang-complaints`).
    JurisdictionDispute,
    /// A case file the filing review called for (RULES F6), not provided by its due date or
    /// provided after it (`sanxiang-filing`).
    FilingCaseFile,
}

/// One thing overdue, missing or refused.
#[derive(Debug, Clone)]
pub struct OverdueItem {
    pub kind: OverdueKind,
    pub agency_id: AgencyId,
    /// The case concerned; `None` for a refused attempt outside a case.
    pub case_id: Option<CaseId>,
    /// The disclosure, draft, event (`case_id:case_seq`) or officer concerned.
    pub subject_id: String,
    /// YYYY-MM-DD; empty for recordings and certificates.
    pub due_date: String,
    /// What it is, in words.
    pub detail: String,
    pub occurred_at: Timestamp,
}

fn item(
    kind: OverdueKind,
    agency_id: &AgencyId,
    case_id: Option<&CaseId>,
    subject_id: String,
    due: Option<NaiveDate>,
    detail: String,
    occurred_at: i64,
) -> OverdueItem {
    OverdueItem {
        kind,
        agency_id: agency_id.clone(),
        case_id: case_id.cloned(),
        subject_id,
        due_date: due.map(|d| d.to_string()).unwrap_or_default(),
        detail,
        occurred_at: Timestamp::from_micros(occurred_at),
    }
}

/// What is overdue, missing or refused in `agencies` (those the caller is authorised to
/// supervise). Sorted by kind, then by when it happened.
pub async fn overdue(p: &Publicity, agencies: Vec<agency::Model>) -> Result<Vec<OverdueItem>> {
    let now = p.recorder().clock().now();
    // Each agency's zone and local date today.
    let mut days: HashMap<AgencyId, (Tz, NaiveDate)> = HashMap::with_capacity(agencies.len());
    for a in &agencies {
        let tz = stored_zone(&a.time_zone)?;
        days.insert(a.id.clone(), (tz, local_date(now, tz)));
    }
    let mut items = annual_figures_missing(p, &agencies, &days).await?;
    let day = |agency_id: &AgencyId| {
        days.get(agency_id).copied().ok_or_else(|| Error::Internal(format!("agency {agency_id} not loaded")))
    };
    let ids: Vec<AgencyId> = agencies.into_iter().map(|a| a.id).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let recorder = p.recorder();

    // Publications and withdrawals past their due dates (RULES P3, P6).
    let waiting = disclosure::Entity::find()
        .filter(disclosure::Column::AgencyId.is_in(ids.iter().cloned()))
        .filter(disclosure::Column::Status.is_in([status::PENDING, status::HELD, status::WITHDRAWAL_PENDING]))
        .all(recorder.db())
        .await
        .map_err(db_error)?;
    for d in waiting {
        if d.status == status::HELD {
            // Every held publication, due or not: the masking found something it could not
            // vouch for, and a supervisor sees how often that happens (fail closed, RULES P5).
            let content = crate::content::from_json(&d.content)?;
            let kinds: Vec<&str> = crate::content::suspicious(&content).iter().map(|(_, s)| s.kind.as_str()).collect();
            items.push(item(
                OverdueKind::HeldDisclosure,
                &d.agency_id,
                Some(&d.case_id),
                d.id.to_string(),
                NaiveDate::parse_from_str(&d.due_date, "%Y-%m-%d").ok(),
                format!(
                    "the automatic publication of the decision of {} is held for a publisher's confirmation: {} suspicious span(s) ({})",
                    d.decision_date,
                    kinds.len(),
                    kinds.join(", ")
                ),
                d.decided_at,
            ));
        }
        let (_, today) = day(&d.agency_id)?;
        if !crate::disclosure::overdue(&d, today) {
            continue;
        }
        let parse = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        if status::AWAITING_CONFIRMATION.contains(&d.status.as_str()) {
            items.push(item(
                OverdueKind::Disclosure,
                &d.agency_id,
                Some(&d.case_id),
                d.id.to_string(),
                parse(&d.due_date),
                format!("the decision of {} is not published; it was due on {}", d.decision_date, d.due_date),
                d.decided_at,
            ));
        } else {
            let due = d.withdrawal_due_date.clone().unwrap_or_default();
            items.push(item(
                OverdueKind::Withdrawal,
                &d.agency_id,
                Some(&d.case_id),
                d.id.to_string(),
                parse(&due),
                format!(
                    "the publication of a decision revised ({}) is not withdrawn; it was due on {due}",
                    d.revision.as_deref().unwrap_or_default()
                ),
                d.revised_at.unwrap_or(d.updated_at),
            ));
        }
    }

    // Major drafts waiting for legal review past their due date (RULES L7): review_days working
    // days after the submission date, under the calendar as loaded now.
    let calendar: WorkCalendar = recorder.registry().calendar().await?;
    for d in p.reviews().pending_major_drafts(&ids).await? {
        let (tz, today) = day(&d.agency_id)?;
        let submitted = local_date(Timestamp::from_micros(d.submitted_at), tz);
        let due = calendar.add_working_days(submitted, d.review_days);
        if today > due.date {
            let provisional = if due.provisional { " (provisional: a year without a loaded schedule)" } else { "" };
            items.push(item(
                OverdueKind::Review,
                &d.agency_id,
                Some(&d.case_id),
                d.id.to_string(),
                Some(due.date),
                format!(
                    "version {} of the draft decision, submitted on {submitted}, is not reviewed; it was due on {}{provisional}",
                    d.version, due.date
                ),
                d.submitted_at,
            ));
        }
    }

    // Cases filed more than 90 days ago and neither decided nor closed (RULES R10). Every such
    // case was filed longer ago than the domain's bound, which the database filters on; the
    // date is then judged in the agency's zone by the one definition of the limit.
    for c in recorder.undecided_cases_filed_before(&ids, now.micros() - DECISION_LATE_MIN_MICROS).await? {
        if CaseState::from_bits(c.state_bits).closed() {
            continue;
        }
        let Some(filed_at) = c.filed_at else { continue };
        let (tz, _) = day(&c.agency_id)?;
        let filed = local_date(Timestamp::from_micros(filed_at), tz);
        let limit = decision_due(Timestamp::from_micros(filed_at), tz);
        if decision_late(Timestamp::from_micros(filed_at), now, tz) {
            items.push(item(
                OverdueKind::Decision,
                &c.agency_id,
                Some(&c.id),
                c.id.to_string(),
                Some(limit),
                format!("filed on {filed} and not decided within {DECISION_LIMIT_DAYS} days: {}", c.title),
                filed_at,
            ));
        }
    }

    // Acts that required an audio-video recording and were recorded without one (RULES R3):
    // the stated reason is in the payload. The LIKE narrows the scan; the parse decides.
    let (unrecorded, case_agency) = recorder.events_mentioning(&ids, "\"missing_recording_reason\":").await?;
    for e in unrecorded {
        let payload = Value::parse(&e.payload).map_err(|_| {
            Error::DataLoss(format!("events.payload of event {}#{} cannot be read", e.case_id, e.case_seq))
        })?;
        let Some(reason) = payload.get("missing_recording_reason").and_then(Value::as_str) else { continue };
        let agency_id = case_agency.get(&e.case_id).ok_or_else(|| Error::DataLoss(format!("case {}", e.case_id)))?;
        items.push(item(
            OverdueKind::RecordingMissing,
            agency_id,
            Some(&e.case_id),
            format!("{}:{}", e.case_id, e.case_seq),
            None,
            format!("{} recorded without the required recording: {reason}", e.kind),
            e.occurred_at,
        ));
    }

    // Evidence uploaded later than the agency's upload window (RULES S1, R5).
    let (late, case_agency) = recorder.events_mentioning(&ids, "\"late\":true").await?;
    for e in late {
        let payload = Value::parse(&e.payload).map_err(|_| {
            Error::DataLoss(format!("events.payload of event {}#{} cannot be read", e.case_id, e.case_seq))
        })?;
        if e.kind != EventKind::EvidenceUploaded.as_str() || payload.get("late").and_then(Value::as_bool) != Some(true)
        {
            continue;
        }
        let agency_id = case_agency.get(&e.case_id).ok_or_else(|| Error::DataLoss(format!("case {}", e.case_id)))?;
        let evidence_id = payload.get("evidence_id").and_then(Value::as_str).ok_or_else(|| {
            Error::DataLoss(format!("events.payload of event {}#{} names no evidence_id", e.case_id, e.case_seq))
        })?;
        items.push(item(
            OverdueKind::LateUpload,
            agency_id,
            Some(&e.case_id),
            evidence_id.to_owned(),
            None,
            format!("evidence {evidence_id} uploaded after the agency's upload window"),
            e.recorded_at,
        ));
    }

    // Investigative acts whose officers are not recorded as having shown their certificates
    // (RULES P2, C7): neither the act records the numbers shown, nor did a certificate_shown
    // event of the case name every acting officer earlier the same local day.
    let mut kinds: Vec<EventKind> = EventKind::ALL.iter().copied().filter(|k| k.needs_two_officers()).collect();
    kinds.push(EventKind::CertificateShown);
    let (acts, case_agency) = recorder.events_of_kinds_of_agencies(&ids, &kinds).await?;
    let unreadable = |e: &sanxiang_store::entity::event::Model, column: &str| {
        Error::DataLoss(format!("events.{column} of event {}#{} cannot be read", e.case_id, e.case_seq))
    };
    let mut read = Vec::with_capacity(acts.len());
    for e in &acts {
        let agency_id = case_agency.get(&e.case_id).ok_or_else(|| Error::DataLoss(format!("case {}", e.case_id)))?;
        let officers: Vec<String> = serde_json::from_str(&e.officers).map_err(|_| unreadable(e, "officers"))?;
        let local = local_date(Timestamp::from_micros(e.occurred_at), day(agency_id)?.0);
        read.push((e, agency_id, officers, local));
    }
    let showings: Vec<_> = read.iter().filter(|(e, ..)| e.kind == EventKind::CertificateShown.as_str()).collect();
    for (e, agency_id, officers, local) in read.iter().filter(|(e, ..)| e.kind != EventKind::CertificateShown.as_str())
    {
        let payload = Value::parse(&e.payload).map_err(|_| unreadable(e, "payload"))?;
        if payload.get("certificates_shown").is_some() {
            continue;
        }
        let shown_before = |officer: &String| {
            showings.iter().any(|(s, _, shown, on)| {
                s.case_id == e.case_id && on == local && s.occurred_at <= e.occurred_at && shown.contains(officer)
            })
        };
        if officers.iter().all(shown_before) {
            continue;
        }
        items.push(item(
            OverdueKind::CertificateNotShown,
            agency_id,
            Some(&e.case_id),
            format!("{}:{}", e.case_id, e.case_seq),
            None,
            format!("{} recorded without the officers' certificates shown to the party", e.kind),
            e.occurred_at,
        ));
    }

    // Refused attempts by officers whose certificate was not valid (RULES S1, G3).
    for r in recorder.registry().refusals(&ids, refusal_kind::INVALID_CERTIFICATE).await? {
        items.push(item(
            OverdueKind::InvalidCertificate,
            &r.agency_id,
            r.case_id.as_ref(),
            r.subject_id.to_string(),
            None,
            format!("refused: {}", r.detail),
            r.occurred_at,
        ));
    }

    items.sort_by_key(|i| (i.kind, i.occurred_at.micros()));
    Ok(items)
}

/// Agencies that have not published their previous year's figures by the due date (RULES N1):
/// listed from the day after it until they do. An agency registered after that year ended owes
/// none for it.
async fn annual_figures_missing(
    p: &Publicity,
    agencies: &[agency::Model],
    days: &HashMap<AgencyId, (Tz, NaiveDate)>,
) -> Result<Vec<OverdueItem>> {
    let mut items = Vec::new();
    for a in agencies {
        let Some((tz, today)) = days.get(&a.id).copied() else { continue };
        let year = today.year() - 1;
        let due = crate::annual::due_date(p, year)?;
        if today <= due {
            continue;
        }
        let year_end = end_instant(
            NaiveDate::from_ymd_opt(year, 12, 31).ok_or_else(|| Error::invalid("year", "out of range"))?,
            tz,
        );
        if a.created_at >= year_end {
            continue;
        }
        let published = annual_publication::Entity::find()
            .filter(annual_publication::Column::AgencyId.eq(&a.id))
            .filter(annual_publication::Column::Year.eq(i64::from(year)))
            .count(p.recorder().db())
            .await
            .map_err(db_error)?;
        if published > 0 {
            continue;
        }
        items.push(item(
            OverdueKind::AnnualFigures,
            &a.id,
            None,
            format!("{}/{year}", a.id),
            Some(due),
            format!("the figures of {year} are not published; they were due on {due}"),
            year_end,
        ));
    }
    Ok(items)
}
