//! Filing of major penalties with the supervision office (重大行政处罚备案审查, RULES F1–F9).
//!
//! A penalty decision that meets the agency's thresholds owes a filing from the moment it is
//! recorded: [`plan_decision`] is called by `IssueDecision` and its row travels with the
//! `decision` event. Each later step — the submission with its package (F5), the review's opening
//! and outcome (F7), the agency's response — is an event of the case's chain carrying the row's
//! change ([`rows::Step`]). Supervision reads the table (`supervision.rs`): what is late or
//! missing (F8) and the periodic notice (F9). Nothing here blocks a decision or sanctions anyone.

pub mod policy;
pub mod procedure;
pub mod rows;
pub mod supervision;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;
use chrono_tz::Tz;
use sanxiang_domain::calendar::{Deadline, WorkCalendar, local_date};
use sanxiang_domain::canonical::Value;
use sanxiang_domain::catalog::{PartyType, PenaltyItem};
use sanxiang_domain::filing::{
    AgencyKind, FilingPolicy, FilingStatus, JointFiling, Outcome, Routed, Served, StartEvent,
};
use sanxiang_domain::id::{AgencyId, CaseId};
use sanxiang_domain::lifecycle::{CaseKind, EventKind, ServiceMethod};
use sanxiang_domain::officer::stored_zone;
use sanxiang_domain::{Error, Result, Timestamp};
use sanxiang_recording::Recorder;
use sanxiang_recording::writer::Attachment;
use sanxiang_store::db_error;
use sanxiang_store::entity::{agency, case, event, filing};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

/// The filing use cases, over the record.
#[derive(Clone)]
pub struct Filings {
    recorder: Recorder,
}

impl std::fmt::Debug for Filings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Filings").finish_non_exhaustive()
    }
}

/// The kinds of the filing's own events, in the order they happen (the file is called for and
/// provided during the review).
pub const FILING_EVENTS: [EventKind; 6] = [
    EventKind::FilingSubmitted,
    EventKind::FilingReviewOpened,
    EventKind::FilingFileRequested,
    EventKind::FilingFileProvided,
    EventKind::FilingReviewConcluded,
    EventKind::FilingResponse,
];

/// A document of a submitted package, as its event in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub item: String,
    pub case_seq: u64,
    pub event_hash: String,
}

/// An evidence item of a submitted package, by its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceItem {
    pub evidence_id: String,
    pub sha256: String,
    pub size: u64,
    pub media_type: String,
}

/// A revision of the filed decision (a `decision_revised` event of its case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    pub case_seq: u64,
    /// `change`, `revocation`, `confirmed_illegal`, `confirmed_void`.
    pub revision: String,
    pub reason: String,
    /// In the agency's zone.
    pub revised_on: String,
}

/// A call for the full case file (RULES F6), from the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRequest {
    pub requested_seq: u64,
    /// In the agency's zone.
    pub requested_on: String,
    pub reviewer_agency_id: String,
    pub reason: String,
    /// The `filing_file_provided` event, once provided.
    pub provided: Option<(u64, String)>,
    /// The last day to provide it (the policy's `case_file` period from the call).
    pub due: Deadline,
}

impl FileRequest {
    /// Provided after its due date.
    pub fn provided_late(&self) -> bool {
        self.provided.as_ref().is_some_and(|(_, on)| on.as_str() > self.due.date.to_string().as_str())
    }
}

/// A filing as it is shown.
#[derive(Debug, Clone)]
pub struct FilingView {
    pub case_id: CaseId,
    pub agency_id: AgencyId,
    pub status: FilingStatus,
    pub reasons: Vec<String>,
    pub recipients: Vec<AgencyId>,
    pub decided_on: String,
    /// `None` while the period's start has not happened.
    pub due: Option<Deadline>,
    pub submitted_on: Option<String>,
    pub submitted_late: bool,
    pub submissions: u64,
    /// The latest submission's package (GetFiling only).
    pub documents: Vec<Document>,
    pub evidence: Vec<EvidenceItem>,
    pub review_due_date: Option<String>,
    pub reviewer_agency_id: Option<AgencyId>,
    pub outcome: Option<Outcome>,
    pub outcome_reasons: String,
    pub concluded_on: Option<String>,
    pub response_due_date: Option<String>,
    pub responded_on: Option<String>,
    pub response: String,
    /// The case_seq of each filing event (GetFiling only).
    pub event_seqs: Vec<u64>,
    /// The decision's revisions, oldest first (GetFiling only).
    pub revisions: Vec<Revision>,
    /// Every call for the full case file, oldest first (GetFiling only).
    pub file_requests: Vec<FileRequest>,
}

/// A stored date column.
pub(crate) fn stored_date(s: &str, what: impl FnOnce() -> String) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| Error::DataLoss(format!("{} cannot be read", what())))
}

fn stored_list(text: &str, what: impl Fn() -> String) -> Result<Vec<String>> {
    match Value::parse(text).map_err(|_| Error::DataLoss(format!("{} cannot be read", what())))? {
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| Error::DataLoss(format!("{} cannot be read", what()))))
            .collect(),
        _ => Err(Error::DataLoss(format!("{} cannot be read", what()))),
    }
}

fn string_array<S: AsRef<str>>(items: &[S]) -> Value {
    Value::Array(items.iter().map(|s| Value::from(s.as_ref())).collect())
}

/// A stored filing's status; DATA_LOSS if it is not one.
pub(crate) fn status_of(row: &filing::Model) -> Result<FilingStatus> {
    FilingStatus::parse(&row.status)
        .ok_or_else(|| Error::DataLoss(format!("filings.status of case {} cannot be read", row.case_id)))
}

/// The policy a filing was created under (its periods and start event).
pub(crate) fn terms_of(row: &filing::Model) -> Result<FilingPolicy> {
    policy::parse(&row.terms, || format!("filings.terms of case {}", row.case_id))
}

/// The receiving agencies of a stored filing.
pub fn recipients_of(row: &filing::Model) -> Result<Vec<AgencyId>> {
    Ok(stored_list(&row.recipients, || format!("filings.recipients of case {}", row.case_id))?
        .into_iter()
        .map(AgencyId::from)
        .collect())
}

/// RULES F1, F3, F4 for a decision being issued: the decision payload's `filing` member (whether
/// it must be filed, why, with whom and by when) and, when it must, the row to commit with the
/// `decision` event. Only penalty decisions are filed. With the policy's `review_first` (F2), a
/// decision owing a filing that was not `approved` by legal review is refused (`F2.catalog`).
#[allow(clippy::too_many_arguments)] // the decision's facts as IssueDecision holds them
pub async fn plan_decision(
    recorder: &Recorder,
    agency: &agency::Model,
    tz: Tz,
    case: &case::Model,
    kind: CaseKind,
    party: PartyType,
    penalties: &[PenaltyItem],
    confiscation_fen: u64,
    joint: &[AgencyId],
    approved: bool,
    now: Timestamp,
) -> Result<(Value, Option<Arc<dyn Attachment>>)> {
    if kind != CaseKind::Penalty {
        return Ok((Value::object().with("required", false), None));
    }
    let policy = policy::load(recorder.db(), &agency.id).await?;
    let reasons = policy.assess(party, penalties, confiscation_fen);
    policy.check_review_first(&reasons, approved)?;
    if reasons.is_empty() {
        return Ok((Value::object().with("required", false), None));
    }
    let mut recipients = route(recorder, &agency.id, &policy).await?;
    if policy.joint == JointFiling::Each {
        // Each deciding body files per its kind and its own policy (RULES F3, 运城).
        for other in joint {
            let their = policy::load(recorder.db(), other).await?;
            for r in route(recorder, other, &their).await? {
                if !recipients.contains(&r) {
                    recipients.push(r);
                }
            }
        }
    }
    let decided_on = local_date(now, tz);
    let due = match policy.start {
        StartEvent::Decision => Some(policy.filing.due(decided_on, &recorder.registry().calendar().await?)),
        StartEvent::Service | StartEvent::Effectiveness => None,
    };
    let codes: Vec<&str> = reasons.iter().map(|r| r.code()).collect();
    let mut member = Value::object()
        .with("required", true)
        .with("reasons", string_array(&codes))
        .with("recipients", string_array(&recipients))
        .with("start", policy.start.as_str());
    if !joint.is_empty() {
        member = member.with("joint", policy.joint.as_str());
    }
    if let Some(d) = &due {
        member = member.with("due_date", d.date.to_string());
    }
    let row = filing::Model {
        case_id: case.id.clone(),
        agency_id: agency.id.clone(),
        status: FilingStatus::Owed.as_str().to_owned(),
        reasons: string_array(&codes).to_canonical_string().map_err(|e| Error::Internal(e.to_string()))?,
        recipients: string_array(&recipients).to_canonical_string().map_err(|e| Error::Internal(e.to_string()))?,
        terms: policy::to_json(&policy)?,
        decided_at: now.micros(),
        decided_on: decided_on.to_string(),
        due_date: due.map(|d| d.date.to_string()),
        due_provisional: due.is_some_and(|d| d.provisional),
        submissions: 0,
        submitted_at: None,
        submitted_on: None,
        submitted_late: None,
        last_submitted_at: None,
        review_due_date: None,
        reviewer_agency_id: None,
        outcome: None,
        outcome_reasons: None,
        concluded_at: None,
        response_due_date: None,
        responded_at: None,
        responded_on: None,
        response: None,
        updated_at: now.micros(),
    };
    Ok((member, Some(Arc::new(rows::NewFiling { row }))))
}

/// RULES F3: the recipients of a filing by `agency_id` under `policy`, by the agency's kind and
/// its place in the tree, read as stored now (not from a cache: a kind set since counts).
pub async fn route(recorder: &Recorder, agency_id: &AgencyId, policy: &FilingPolicy) -> Result<Vec<AgencyId>> {
    let agency = recorder.registry().agency(agency_id).await?;
    let kind = match agency.kind.as_deref() {
        None => None,
        Some(k) => Some(
            AgencyKind::parse(k)
                .ok_or_else(|| Error::DataLoss(format!("agencies.kind of agency {agency_id} cannot be read")))?,
        ),
    };
    let scope = recorder.registry().scope_of(&agency).await?;
    Ok(policy.route(&Routed {
        kind,
        parent: agency.parent_id.as_ref(),
        government: agency.government_id.as_ref(),
        overseers: &scope.overseers,
    }))
}

impl Filings {
    /// Over the record (its database, clock, registry and writer).
    pub fn new(recorder: Recorder) -> Self {
        Self { recorder }
    }

    /// The record.
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    /// The filing of a case; NOT_FOUND when its decision owes none.
    pub async fn row(&self, case_id: &CaseId) -> Result<filing::Model> {
        filing::Entity::find_by_id(case_id.clone())
            .one(self.recorder.db())
            .await
            .map_err(db_error)?
            .ok_or_else(|| Error::not_found("filing", case_id.as_str()))
    }

    /// The filings of `agencies`, oldest decision first, optionally of one status.
    pub async fn rows(&self, agencies: &[AgencyId], status: Option<FilingStatus>) -> Result<Vec<filing::Model>> {
        let mut q = filing::Entity::find().filter(filing::Column::AgencyId.is_in(agencies.iter().cloned()));
        if let Some(s) = status {
            q = q.filter(filing::Column::Status.eq(s.as_str()));
        }
        q.order_by_asc(filing::Column::DecidedAt).all(self.recorder.db()).await.map_err(db_error)
    }

    /// The filings routed to `recipient` (RULES F3), whatever the filing agency's place in the
    /// tree (a vertically managed body files with its local government), oldest decision first.
    pub async fn routed_to(&self, recipient: &AgencyId) -> Result<Vec<filing::Model>> {
        // Recipients are stored as a canonical JSON array of ids: narrow by text, then read each.
        let rows = filing::Entity::find()
            .filter(filing::Column::Recipients.contains(format!("\"{recipient}\"")))
            .order_by_asc(filing::Column::DecidedAt)
            .all(self.recorder.db())
            .await
            .map_err(db_error)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            if recipients_of(&r)?.contains(recipient) {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// The filings of `agencies` and, when `recipient` is given, those routed to it by other
    /// agencies (F3), oldest decision first, optionally of one status.
    pub async fn rows_for(
        &self,
        agencies: &[AgencyId],
        recipient: Option<&AgencyId>,
        status: Option<FilingStatus>,
    ) -> Result<Vec<filing::Model>> {
        let mut rows = self.rows(agencies, status).await?;
        if let Some(recipient) = recipient {
            let routed = self.routed_to(recipient).await?;
            let extra: Vec<filing::Model> = routed
                .into_iter()
                .filter(|r| !agencies.contains(&r.agency_id))
                .filter(|r| status.is_none_or(|s| r.status == s.as_str()))
                .collect();
            if !extra.is_empty() {
                rows.extend(extra);
                rows.sort_by_key(|r| r.decided_at);
            }
        }
        Ok(rows)
    }

    /// The due dates of `rows` (RULES F4): stored when counted from the decision; when counted
    /// from service or effectiveness, from the case's `service` events
    /// ([`FilingPolicy::start_day`]; none yet: nothing is due).
    pub async fn due_dates(
        &self,
        rows: &[filing::Model],
        zones: &HashMap<AgencyId, Tz>,
        calendar: &WorkCalendar,
    ) -> Result<HashMap<CaseId, Deadline>> {
        let mut out = HashMap::new();
        let mut pending = Vec::new();
        for r in rows {
            match &r.due_date {
                Some(d) => {
                    let date = stored_date(d, || format!("filings.due_date of case {}", r.case_id))?;
                    out.insert(r.case_id.clone(), Deadline { date, provisional: r.due_provisional });
                }
                None => pending.push(r),
            }
        }
        if pending.is_empty() {
            return Ok(out);
        }
        let ids: Vec<CaseId> = pending.iter().map(|r| r.case_id.clone()).collect();
        let services = self.services(&ids).await?;
        for r in pending {
            let Some(events) = services.get(&r.case_id) else { continue };
            let tz =
                zones.get(&r.agency_id).copied().ok_or_else(|| Error::Internal("agency zone not loaded".into()))?;
            let served = events
                .iter()
                .map(|e| {
                    let payload = Value::parse(&e.payload).map_err(|_| {
                        Error::DataLoss(format!("events.payload of event {}#{} cannot be read", e.case_id, e.case_seq))
                    })?;
                    Ok(Served {
                        on: local_date(Timestamp::from_micros(e.occurred_at), tz),
                        public_notice: payload.get("service_method").and_then(Value::as_str)
                            == Some(ServiceMethod::PublicNotice.as_str()),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let terms = terms_of(r)?;
            let decided = stored_date(&r.decided_on, || format!("filings.decided_on of case {}", r.case_id))?;
            if let Some(start) = terms.start_day(decided, &served) {
                out.insert(r.case_id.clone(), terms.filing.due(start, calendar));
            }
        }
        Ok(out)
    }

    /// The `service` events of `case_ids`, each case's in chain order.
    async fn services(&self, case_ids: &[CaseId]) -> Result<HashMap<CaseId, Vec<event::Model>>> {
        let mut out: HashMap<CaseId, Vec<event::Model>> = HashMap::new();
        for chunk in case_ids.chunks(256) {
            let rows = event::Entity::find()
                .filter(event::Column::CaseId.is_in(chunk.iter().cloned()))
                .filter(event::Column::Kind.eq(EventKind::Service.as_str()))
                .order_by_asc(event::Column::CaseSeq)
                .all(self.recorder.db())
                .await
                .map_err(db_error)?;
            for e in rows {
                out.entry(e.case_id.clone()).or_default().push(e);
            }
        }
        Ok(out)
    }

    /// The zone of each agency of `rows`.
    pub async fn zones(&self, rows: &[filing::Model]) -> Result<HashMap<AgencyId, Tz>> {
        let mut zones = HashMap::new();
        for r in rows {
            if !zones.contains_key(&r.agency_id) {
                let a = self.recorder.registry().agency(&r.agency_id).await?;
                zones.insert(r.agency_id.clone(), stored_zone(&a.time_zone)?);
            }
        }
        Ok(zones)
    }

    /// A row as shown, without its package and events (lists).
    pub fn view(&self, r: &filing::Model, due: Option<Deadline>, tz: Tz) -> Result<FilingView> {
        let outcome = match &r.outcome {
            None => None,
            Some(o) => Some(
                Outcome::parse(o)
                    .ok_or_else(|| Error::DataLoss(format!("filings.outcome of case {} cannot be read", r.case_id)))?,
            ),
        };
        Ok(FilingView {
            case_id: r.case_id.clone(),
            agency_id: r.agency_id.clone(),
            status: status_of(r)?,
            reasons: stored_list(&r.reasons, || format!("filings.reasons of case {}", r.case_id))?,
            recipients: recipients_of(r)?,
            decided_on: r.decided_on.clone(),
            due,
            submitted_on: r.submitted_on.clone(),
            submitted_late: r.submitted_late.unwrap_or(false),
            submissions: u64::try_from(r.submissions).unwrap_or(0),
            documents: Vec::new(),
            evidence: Vec::new(),
            review_due_date: r.review_due_date.clone(),
            reviewer_agency_id: r.reviewer_agency_id.clone(),
            outcome,
            outcome_reasons: r.outcome_reasons.clone().unwrap_or_default(),
            concluded_on: r.concluded_at.map(|t| local_date(Timestamp::from_micros(t), tz).to_string()),
            response_due_date: r.response_due_date.clone(),
            responded_on: r.responded_on.clone(),
            response: r.response.clone().unwrap_or_default(),
            event_seqs: Vec::new(),
            revisions: Vec::new(),
            file_requests: Vec::new(),
        })
    }

    /// A case's filing in full: the row, the latest package and the filing's events.
    pub async fn get(&self, case_id: &CaseId) -> Result<FilingView> {
        let r = self.row(case_id).await?;
        self.full_view(&r).await
    }

    /// `r` in full (see [`Self::get`]).
    pub async fn full_view(&self, r: &filing::Model) -> Result<FilingView> {
        let zones = self.zones(std::slice::from_ref(r)).await?;
        let calendar = self.recorder.registry().calendar().await?;
        let due = self.due_dates(std::slice::from_ref(r), &zones, &calendar).await?.remove(&r.case_id);
        let tz = zones.get(&r.agency_id).copied().ok_or_else(|| Error::Internal("agency zone not loaded".into()))?;
        let mut v = self.view(r, due, tz)?;
        let events = self.recorder.events_of_kinds(&r.case_id, &FILING_EVENTS).await?;
        v.event_seqs = events.iter().map(|e| u64::try_from(e.case_seq).unwrap_or(0)).collect();
        if let Some(last) = events.iter().rev().find(|e| e.kind == EventKind::FilingSubmitted.as_str()) {
            (v.documents, v.evidence) = package_of(last)?;
        }
        v.file_requests = file_requests_of(&events, tz, &terms_of(r)?, &calendar)?;
        v.revisions = self
            .recorder
            .events_of_kinds(&r.case_id, &[EventKind::DecisionRevised])
            .await?
            .iter()
            .map(|e| revision_of(e, tz))
            .collect::<Result<_>>()?;
        Ok(v)
    }
}

/// The calls for the case file among a filing's events (in chain order), each with the
/// provision that answered it and its due date: as the call recorded it, or (a call recorded
/// before calls had one) the filing's `case_file` period from the call's day.
pub(crate) fn file_requests_of(
    events: &[event::Model],
    tz: Tz,
    terms: &FilingPolicy,
    calendar: &WorkCalendar,
) -> Result<Vec<FileRequest>> {
    let mut out: Vec<FileRequest> = Vec::new();
    for e in events {
        let unreadable =
            || Error::DataLoss(format!("events.payload of event {}#{} cannot be read", e.case_id, e.case_seq));
        let seq = u64::try_from(e.case_seq).map_err(|_| unreadable())?;
        let on = local_date(Timestamp::from_micros(e.occurred_at), tz).to_string();
        match EventKind::parse(&e.kind) {
            Some(EventKind::FilingFileRequested) => {
                let payload = Value::parse(&e.payload).map_err(|_| unreadable())?;
                let text = |key: &str| payload.get(key).and_then(Value::as_str).map(str::to_owned);
                let requested = local_date(Timestamp::from_micros(e.occurred_at), tz);
                let due = match text("due_date") {
                    Some(d) => Deadline {
                        date: NaiveDate::parse_from_str(&d, "%Y-%m-%d").map_err(|_| unreadable())?,
                        provisional: payload.get("due_provisional").and_then(Value::as_bool).unwrap_or(false),
                    },
                    None => terms.case_file.due(requested, calendar),
                };
                out.push(FileRequest {
                    requested_seq: seq,
                    requested_on: on,
                    reviewer_agency_id: text("reviewer_agency_id").ok_or_else(unreadable)?,
                    reason: text("reason").ok_or_else(unreadable)?,
                    provided: None,
                    due,
                });
            }
            Some(EventKind::FilingFileProvided) => {
                let open = out.iter_mut().rev().find(|r| r.provided.is_none()).ok_or_else(unreadable)?;
                open.provided = Some((seq, on));
            }
            _ => {}
        }
    }
    Ok(out)
}

/// What a `decision_revised` event records; DATA_LOSS naming the event if it does not read.
fn revision_of(e: &event::Model, tz: Tz) -> Result<Revision> {
    let unreadable = || Error::DataLoss(format!("events.payload of event {}#{} cannot be read", e.case_id, e.case_seq));
    let payload = Value::parse(&e.payload).map_err(|_| unreadable())?;
    let text = |key: &str| payload.get(key).and_then(Value::as_str).map(str::to_owned);
    Ok(Revision {
        case_seq: u64::try_from(e.case_seq).map_err(|_| unreadable())?,
        revision: text("revision").ok_or_else(unreadable)?,
        reason: text("reason").unwrap_or_default(),
        revised_on: local_date(Timestamp::from_micros(e.occurred_at), tz).to_string(),
    })
}

/// The package a `filing_submitted` event records; DATA_LOSS naming the event if it does not read.
fn package_of(e: &event::Model) -> Result<(Vec<Document>, Vec<EvidenceItem>)> {
    let unreadable = || Error::DataLoss(format!("events.payload of event {}#{} cannot be read", e.case_id, e.case_seq));
    let payload = Value::parse(&e.payload).map_err(|_| unreadable())?;
    let array = |key: &str| match payload.get(key) {
        Some(Value::Array(items)) => Ok(items.clone()),
        _ => Err(unreadable()),
    };
    let documents = array("documents")?
        .iter()
        .map(|d| {
            Some(Document {
                item: d.get("item")?.as_str()?.to_owned(),
                case_seq: u64::try_from(d.get("case_seq")?.as_int()?).ok()?,
                event_hash: d.get("event_hash")?.as_str()?.to_owned(),
            })
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(unreadable)?;
    let evidence = array("evidence")?
        .iter()
        .map(|d| {
            Some(EvidenceItem {
                evidence_id: d.get("evidence_id")?.as_str()?.to_owned(),
                sha256: d.get("sha256")?.as_str()?.to_owned(),
                size: u64::try_from(d.get("size")?.as_int()?).ok()?,
                media_type: d.get("media_type")?.as_str()?.to_owned(),
            })
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(unreadable)?;
    Ok((documents, evidence))
}
