//! The steps of a filing, each an event of the case's chain with the row's change attached:
//! submission with the package assembled from the record (RULES F5), the review's opening and
//! outcome (F7), and the agency's response to a recommendation.

use std::sync::Arc;

use chrono::NaiveDate;
use chrono_tz::Tz;
use sanxiang_domain::calendar::local_date;
use sanxiang_domain::canonical::Value;
use sanxiang_domain::error::{request_id, same_request};
use sanxiang_domain::filing::{FilingStatus, Outcome, PackageItem, Step, check_package};
use sanxiang_domain::id::AgencyId;
use sanxiang_domain::lifecycle::{CaseState, EventKind};
use sanxiang_domain::limits::{self, MAX_TEXT};
use sanxiang_domain::officer::stored_zone;
use sanxiang_domain::{Error, Result, Timestamp};
use sanxiang_recording::writer::{NewEvent, Target};
use sanxiang_registry::Principal;
use sanxiang_store::db_error;
use sanxiang_store::entity::{case, event, filing};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::{FilingView, Filings, rows, status_of, terms_of};

/// SubmitFiling: the agency files its decision with the filing body.
#[derive(Debug, Clone, Default)]
pub struct SubmitFiling {
    pub request_id: String,
    pub request_digest: String,
    /// The filing report (备案报告).
    pub report: String,
}

/// OpenFilingReview.
#[derive(Debug, Clone, Default)]
pub struct OpenReview {
    pub request_id: String,
    pub request_digest: String,
}

/// DecideFilingReview: `outcome` is `None` when the request named none the API knows.
#[derive(Debug, Clone, Default)]
pub struct DecideReview {
    pub request_id: String,
    pub request_digest: String,
    pub outcome: Option<Outcome>,
    pub reasons: String,
}

/// RecordFilingResponse.
#[derive(Debug, Clone, Default)]
pub struct RecordResponse {
    pub request_id: String,
    pub request_digest: String,
    pub response: String,
    /// YYYY-MM-DD; empty: today.
    pub response_date: String,
}

/// RequestCaseFile: the filing body calls for the full case file (RULES F6).
#[derive(Debug, Clone, Default)]
pub struct RequestFile {
    pub request_id: String,
    pub request_digest: String,
    pub reason: String,
}

/// ProvideCaseFile: the agency provides the file called for.
#[derive(Debug, Clone, Default)]
pub struct ProvideFile {
    pub request_id: String,
    pub request_digest: String,
    pub note: String,
}

fn required_text(field: &str, value: &str) -> Result<String> {
    limits::bytes(field, value, MAX_TEXT)?;
    let v = value.trim();
    if v.is_empty() { Err(Error::invalid(field, "must not be empty")) } else { Ok(v.to_owned()) }
}

impl Filings {
    fn now(&self) -> Timestamp {
        self.recorder.clock().now()
    }

    async fn zone(&self, agency_id: &AgencyId) -> Result<Tz> {
        stored_zone(&self.recorder.registry().agency(agency_id).await?.time_zone)
    }

    /// A stored event of the case with this request id: a retry answers the filing as it is,
    /// after checking it is the same request of the same kind.
    async fn retried(&self, case: &case::Model, request_id: &str, digest: &str, kind: EventKind) -> Result<bool> {
        let stored = event::Entity::find()
            .filter(event::Column::CaseId.eq(&case.id))
            .filter(event::Column::RequestId.eq(request_id))
            .one(self.recorder.db())
            .await
            .map_err(db_error)?;
        let Some(stored) = stored else { return Ok(false) };
        same_request(request_id, stored.request_digest.as_deref(), digest)?;
        if stored.kind != kind.as_str() {
            return Err(Error::precondition(
                "idempotency",
                format!("request_id {request_id} was already used for a different request"),
            ));
        }
        Ok(true)
    }

    /// Appends the step's event with the row's change and answers the filing as it now is.
    #[allow(clippy::too_many_arguments)] // one event's parts
    async fn record(
        &self,
        who: &Principal,
        case: &case::Model,
        kind: EventKind,
        request_id: String,
        digest: String,
        payload: Value,
        before: filing::Model,
        after: filing::Model,
        now: Timestamp,
    ) -> Result<FilingView> {
        self.recorder
            .writer()
            .append(NewEvent {
                target: Target::Case(case.id.clone()),
                kind,
                occurred_at: now,
                actor: who.id.clone(),
                request_id,
                request_digest: Some(digest),
                officers: who.officer_id.iter().cloned().collect(),
                evidence: Vec::new(),
                payload,
                new_evidence: None,
                attachments: vec![Arc::new(rows::Step { before, after })],
                document_number: None,
                directory_version: None,
            })
            .await?;
        self.get(&case.id).await
    }

    /// RULES F5: files the case's decision. The package is assembled from the chain — each
    /// document by its event's sequence number and hash, the evidence by its digests — and
    /// refused (`F5.package-incomplete`) when a mandatory document is missing. A filing after
    /// its due date is accepted and marked late (F4, F8: never blocked).
    pub async fn submit(&self, who: &Principal, case: &case::Model, r: SubmitFiling) -> Result<FilingView> {
        let request_id = request_id(&r.request_id)?;
        if self.retried(case, &request_id, &r.request_digest, EventKind::FilingSubmitted).await? {
            return self.get(&case.id).await;
        }
        let report = required_text("report", &r.report)?;
        let before = self.owed(&case.id).await?;
        status_of(&before)?.check(Step::Submit)?;
        let recipients = crate::recipients_of(&before)?;
        if recipients.is_empty() {
            return Err(Error::precondition(
                "F3.no-recipient",
                "the agency has no body to file with: it has no parent agency and the filing policy names no recipient",
            ));
        }
        let terms = terms_of(&before)?;
        let (documents, evidence) = self.package(case).await?;

        let now = self.now();
        let tz = self.zone(&case.agency_id).await?;
        let today = local_date(now, tz);
        let calendar = self.recorder.registry().calendar().await?;
        let zones = std::collections::HashMap::from([(case.agency_id.clone(), tz)]);
        let due = self.due_dates(std::slice::from_ref(&before), &zones, &calendar).await?.remove(&case.id);
        let late = due.is_some_and(|d| today > d.date);
        let review_due = terms.review.due(today, &calendar);

        let mut after = before.clone();
        after.status = FilingStatus::Submitted.as_str().to_owned();
        after.submissions += 1;
        after.last_submitted_at = Some(now.micros());
        after.review_due_date = Some(review_due.date.to_string());
        if before.submitted_at.is_none() {
            after.submitted_at = Some(now.micros());
            after.submitted_on = Some(today.to_string());
            after.submitted_late = Some(late);
        }
        if after.due_date.is_none()
            && let Some(d) = due
        {
            after.due_date = Some(d.date.to_string());
            after.due_provisional = d.provisional;
        }
        let mut payload = Value::object()
            .with("report", report)
            .with("submission", u64::try_from(after.submissions).unwrap_or(0))
            .with("recipients", Value::Array(recipients.iter().map(|a| Value::from(a.as_str())).collect()))
            .with("documents", Value::Array(documents))
            .with("evidence", Value::Array(evidence))
            .with("late", late)
            .with("review_due_date", review_due.date.to_string());
        if let Some(d) = due {
            payload = payload.with("due_date", d.date.to_string());
        }
        self.record(who, case, EventKind::FilingSubmitted, request_id, r.request_digest, payload, before, after, now)
            .await
    }

    /// The filing a case owes; F1 names why there is none.
    async fn owed(&self, case_id: &sanxiang_domain::id::CaseId) -> Result<filing::Model> {
        self.row(case_id).await.map_err(|e| match e {
            Error::NotFound { .. } => Error::precondition(
                "F1.filing-required",
                "the case has no decision that owes a filing (a penalty decision at or above the filing thresholds)",
            ),
            other => other,
        })
    }

    /// The package's documents and evidence, from the chain (RULES F5).
    async fn package(&self, case: &case::Model) -> Result<(Vec<Value>, Vec<Value>)> {
        use PackageItem as P;
        let kinds = [
            EventKind::Decision,
            EventKind::ReviewDecided,
            EventKind::CollectiveDiscussion,
            EventKind::NoticeOfProposedDecision,
            EventKind::HearingRequested,
            EventKind::HearingRecord,
            EventKind::Closing,
        ];
        let events = self.recorder.events_of_kinds(&case.id, &kinds).await?;
        let payload = |e: &event::Model| {
            Value::parse(&e.payload).map_err(|_| {
                Error::DataLoss(format!("events.payload of event {}#{} cannot be read", e.case_id, e.case_seq))
            })
        };
        let last = |kind: EventKind| events.iter().rev().find(|e| e.kind == kind.as_str());
        let mut found: Vec<(PackageItem, &event::Model)> = Vec::new();
        let decision = last(EventKind::Decision);
        if let Some(d) = decision {
            found.push((P::Decision, d));
            let p = payload(d)?;
            let review_id = p.get("review_id").and_then(Value::as_str).map(str::to_owned);
            let digest = p.get("draft_digest").and_then(Value::as_str).map(str::to_owned);
            // The approving opinion the decision names (L5), and the discussion of its draft (L6).
            for e in events.iter().rev() {
                let kind = EventKind::parse(&e.kind);
                if kind == Some(EventKind::ReviewDecided)
                    && review_id.is_some()
                    && !found.iter().any(|(i, _)| *i == P::ReviewOpinion)
                    && payload(e)?.get("review_id").and_then(Value::as_str) == review_id.as_deref()
                {
                    found.push((P::ReviewOpinion, e));
                }
                if kind == Some(EventKind::CollectiveDiscussion)
                    && digest.is_some()
                    && !found.iter().any(|(i, _)| *i == P::CollectiveDiscussion)
                    && payload(e)?.get("draft_digest").and_then(Value::as_str) == digest.as_deref()
                {
                    found.push((P::CollectiveDiscussion, e));
                }
            }
        }
        for (item, kind) in [
            (P::ProposedPenaltyNotice, EventKind::NoticeOfProposedDecision),
            (P::HearingRequest, EventKind::HearingRequested),
            (P::HearingRecord, EventKind::HearingRecord),
            (P::ClosingReport, EventKind::Closing),
        ] {
            if let Some(e) = last(kind) {
                found.push((item, e));
            }
        }
        let present: Vec<PackageItem> = found.iter().map(|(i, _)| *i).collect();
        check_package(&present)?;
        let documents = PackageItem::ALL
            .into_iter()
            .filter_map(|item| found.iter().find(|(i, _)| *i == item))
            .map(|(item, e)| {
                Value::object()
                    .with("item", item.as_str())
                    .with("case_seq", e.case_seq)
                    .with("event_hash", e.hash.as_str())
            })
            .collect();
        let evidence = self
            .recorder
            .evidence_of_case(&case.id)
            .await?
            .into_iter()
            .map(|e| {
                Value::object()
                    .with("evidence_id", e.id.as_str())
                    .with("sha256", e.sha256)
                    .with("size", e.size)
                    .with("media_type", e.media_type)
            })
            .collect();
        Ok((documents, evidence))
    }

    /// RULES F7: the filing body opens its review (the case is held until it concludes, K4).
    /// `reviewer_agency` is the receiving agency the caller acts for (checked by the caller).
    pub async fn open_review(
        &self,
        who: &Principal,
        case: &case::Model,
        reviewer_agency: &AgencyId,
        r: OpenReview,
    ) -> Result<FilingView> {
        let request_id = request_id(&r.request_id)?;
        if self.retried(case, &request_id, &r.request_digest, EventKind::FilingReviewOpened).await? {
            return self.get(&case.id).await;
        }
        let before = self.owed(&case.id).await?;
        status_of(&before)?.check(Step::OpenReview)?;
        let now = self.now();
        let mut after = before.clone();
        after.status = FilingStatus::UnderReview.as_str().to_owned();
        after.reviewer_agency_id = Some(reviewer_agency.clone());
        let payload = Value::object()
            .with("reviewer_agency_id", reviewer_agency.as_str())
            .with("review_due_date", before.review_due_date.clone().unwrap_or_default());
        self.record(who, case, EventKind::FilingReviewOpened, request_id, r.request_digest, payload, before, after, now)
            .await
    }

    /// RULES F7: the review's outcome with its reasons; a correction or a transfer sets the
    /// agency's response due. `terminated_by_dispute` needs a 复议 or lawsuit in the record.
    pub async fn decide_review(&self, who: &Principal, case: &case::Model, r: DecideReview) -> Result<FilingView> {
        let request_id = request_id(&r.request_id)?;
        if self.retried(case, &request_id, &r.request_digest, EventKind::FilingReviewConcluded).await? {
            return self.get(&case.id).await;
        }
        let outcome = r.outcome.ok_or_else(|| {
            Error::invalid(
                "outcome",
                "one of recorded, supplement_required, correction_recommended, transfer_required, terminated_by_dispute",
            )
        })?;
        let reasons = required_text("reasons", &r.reasons)?;
        let before = self.owed(&case.id).await?;
        status_of(&before)?.check(Step::DecideReview)?;
        if outcome == Outcome::TerminatedByDispute && !CaseState::from_bits(case.state_bits).challenged() {
            return Err(Error::precondition(
                "F7.terminated-by-dispute",
                "only a reconsideration (复议) or lawsuit recorded on the decision ends a filing review",
            ));
        }
        let terms = terms_of(&before)?;
        let now = self.now();
        let today = local_date(now, self.zone(&case.agency_id).await?);
        let response_due = match outcome.response_period(&terms) {
            Some(p) => Some(p.due(today, &self.recorder.registry().calendar().await?)),
            None => None,
        };
        let mut after = before.clone();
        after.status = FilingStatus::after(outcome).as_str().to_owned();
        after.outcome = Some(outcome.as_str().to_owned());
        after.outcome_reasons = Some(reasons.clone());
        after.concluded_at = Some(now.micros());
        after.response_due_date = response_due.map(|d| d.date.to_string());
        after.responded_at = None;
        after.responded_on = None;
        after.response = None;
        let mut payload = Value::object().with("outcome", outcome.as_str()).with("reasons", reasons);
        if let Some(d) = response_due {
            payload = payload.with("response_due_date", d.date.to_string());
        }
        self.record(
            who,
            case,
            EventKind::FilingReviewConcluded,
            request_id,
            r.request_digest,
            payload,
            before,
            after,
            now,
        )
        .await
    }

    /// RULES F6: the reviewing agency calls for the full case file while its review is open
    /// (`F6.under-review`), one call at a time (`F6.request-open`). The file is the case's chain
    /// and evidence, which the reviewing agency reads as an agency above (every read of evidence
    /// is itself an event, R7).
    pub async fn request_file(
        &self,
        who: &Principal,
        case: &case::Model,
        reviewer_agency: &AgencyId,
        r: RequestFile,
    ) -> Result<FilingView> {
        let request_id = request_id(&r.request_id)?;
        if self.retried(case, &request_id, &r.request_digest, EventKind::FilingFileRequested).await? {
            return self.get(&case.id).await;
        }
        let reason = required_text("reason", &r.reason)?;
        let row = self.owed(&case.id).await?;
        if status_of(&row)? != FilingStatus::UnderReview {
            return Err(Error::precondition(
                "F6.under-review",
                "the case file is called for during the review: open the review first",
            ));
        }
        let current = self.get(&case.id).await?;
        if current.file_requests.iter().any(|f| f.provided.is_none()) {
            return Err(Error::precondition("F6.request-open", "the case file was already called for and is awaited"));
        }
        // The agency owes the file within the filing's `case_file` period (F6 [default]).
        let now = self.now();
        let today = local_date(now, self.zone(&case.agency_id).await?);
        let due = terms_of(&row)?.case_file.due(today, &self.recorder.registry().calendar().await?);
        let mut payload = Value::object()
            .with("reviewer_agency_id", reviewer_agency.as_str())
            .with("reason", reason)
            .with("due_date", due.date.to_string());
        if due.provisional {
            payload = payload.with("due_provisional", true);
        }
        // The row does not change, but the step is checked against it under the append lock like
        // every other (a concurrent call is refused, `concurrent-change`).
        self.record(
            who,
            case,
            EventKind::FilingFileRequested,
            request_id,
            r.request_digest,
            payload,
            row.clone(),
            row,
            now,
        )
        .await
    }

    /// RULES F6: the agency provides the file called for: the event names the request, and, by
    /// their digests, every evidence item of the case (the events are the chain the event closes).
    pub async fn provide_file(&self, who: &Principal, case: &case::Model, r: ProvideFile) -> Result<FilingView> {
        let request_id = request_id(&r.request_id)?;
        if self.retried(case, &request_id, &r.request_digest, EventKind::FilingFileProvided).await? {
            return self.get(&case.id).await;
        }
        limits::bytes("note", &r.note, MAX_TEXT)?;
        let row = self.owed(&case.id).await?;
        let current = self.get(&case.id).await?;
        let Some(open) = current.file_requests.iter().find(|f| f.provided.is_none()) else {
            return Err(Error::precondition("F6.no-request", "no call for the case file is awaiting it"));
        };
        let evidence: Vec<Value> = self
            .recorder
            .evidence_of_case(&case.id)
            .await?
            .into_iter()
            .map(|e| {
                Value::object()
                    .with("evidence_id", e.id.as_str())
                    .with("sha256", e.sha256)
                    .with("size", e.size)
                    .with("media_type", e.media_type)
            })
            .collect();
        let now = self.now();
        let today = local_date(now, self.zone(&case.agency_id).await?);
        let mut payload = Value::object()
            .with("requested_seq", open.requested_seq)
            .with("evidence", Value::Array(evidence))
            .with("due_date", open.due.date.to_string())
            .with("late", today > open.due.date);
        let note = r.note.trim();
        if !note.is_empty() {
            payload = payload.with("note", note);
        }
        self.record(
            who,
            case,
            EventKind::FilingFileProvided,
            request_id,
            r.request_digest,
            payload,
            row.clone(),
            row,
            now,
        )
        .await
    }

    /// RULES F7: the agency's response to a correction or transfer recommendation, with the
    /// date it acted (not in the future, not before the recommendation).
    pub async fn respond(&self, who: &Principal, case: &case::Model, r: RecordResponse) -> Result<FilingView> {
        let request_id = request_id(&r.request_id)?;
        if self.retried(case, &request_id, &r.request_digest, EventKind::FilingResponse).await? {
            return self.get(&case.id).await;
        }
        let response = required_text("response", &r.response)?;
        let before = self.owed(&case.id).await?;
        status_of(&before)?.check(Step::Respond)?;
        let now = self.now();
        let tz = self.zone(&case.agency_id).await?;
        let today = local_date(now, tz);
        let date = match r.response_date.trim() {
            "" => today,
            s => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| Error::invalid("response_date", "a date YYYY-MM-DD"))?,
        };
        if date > today {
            return Err(Error::invalid("response_date", "must not be in the future"));
        }
        let recommended = before.concluded_at.map(|t| local_date(Timestamp::from_micros(t), tz));
        if recommended.is_some_and(|c| date < c) {
            return Err(Error::invalid("response_date", "must not be before the review's outcome"));
        }
        let mut after = before.clone();
        after.status = FilingStatus::Closed.as_str().to_owned();
        after.responded_at = Some(now.micros());
        after.responded_on = Some(date.to_string());
        after.response = Some(response.clone());
        let late = before.response_due_date.as_deref().is_some_and(|d| date.to_string().as_str() > d);
        let payload = Value::object()
            .with("outcome", before.outcome.clone().unwrap_or_default())
            .with("response", response)
            .with("response_date", date.to_string())
            .with("late", late);
        self.record(who, case, EventKind::FilingResponse, request_id, r.request_digest, payload, before, after, now)
            .await
    }
}
