//! `FilingService` over gRPC (RULES F1–F9): decode, authorise, call the use case, encode. The
//! conversions of the filing messages live here, beside their only handlers.

use sanxiang_domain::filing::{DayType, FilingPolicy, FilingStatus, JointFiling, Outcome, Period, StartEvent};
use sanxiang_domain::id::{AgencyId, CaseId};
use sanxiang_domain::{Error, Result};
use sanxiang_filing::procedure::{DecideReview, OpenReview, ProvideFile, RecordResponse, RequestFile, SubmitFiling};
use sanxiang_filing::supervision::ReportRow;
use sanxiang_filing::{FilingView, Filings};
use sanxiang_proto::v1 as pb;
use sanxiang_proto::v1::filing_service_server::FilingService;
use sanxiang_registry::Principal;
use sanxiang_registry::auth::{Action, authorize};
use sanxiang_store::entity::case;
use tonic::{Request, Response, Status};

use crate::authz;
use crate::convert;
use crate::status::{caller, status};

/// The gRPC face of [`Filings`].
#[derive(Debug, Clone)]
pub struct FilingApi {
    filings: Filings,
}

impl FilingApi {
    /// Serves `filings`.
    pub fn new(filings: Filings) -> Self {
        Self { filings }
    }

    /// A filing's case, its scope — the agencies above the case's and those the filing was
    /// routed to (F3: a vertically managed body's local government is not above it in the tree)
    /// — and its row (NOT_FOUND when the case owes none, for the caller to answer after judging
    /// the caller).
    async fn filing_scope(
        &self,
        case_id: &CaseId,
    ) -> Result<(case::Model, sanxiang_registry::auth::Scope, Result<sanxiang_store::entity::filing::Model>)> {
        let recorder = self.filings.recorder();
        let case = recorder.case(case_id).await?;
        let mut scope = recorder.registry().scope(&case.agency_id).await?;
        let row = self.filings.row(case_id).await;
        if let Ok(r) = &row {
            for recipient in sanxiang_filing::recipients_of(r)? {
                if !scope.overseers.contains(&recipient) && recipient != case.agency_id {
                    scope.overseers.push(recipient);
                }
            }
        }
        Ok((case, scope, row))
    }

    /// The case a filing reviewer acts on, and the agency the caller reviews for: one the filing
    /// was routed to (F3) and, once a review is open and `held` is asked for, the one holding it
    /// (F7).
    async fn as_reviewer(
        &self,
        who: &Principal,
        case_id: String,
        held: bool,
    ) -> std::result::Result<(case::Model, AgencyId), Status> {
        let case_id: CaseId = convert::id("case_id", case_id).map_err(status)?;
        let (case, scope, row) = self.filing_scope(&case_id).await.map_err(status)?;
        authorize(who, Action::ReviewFiling, Some(&scope)).map_err(status)?;
        let row = row.map_err(status)?;
        let recipients = sanxiang_filing::recipients_of(&row).map_err(status)?;
        let holder = if held { row.reviewer_agency_id.as_ref() } else { None };
        let reviewer = reviewing_agency(who, &recipients, holder).map_err(status)?;
        Ok((case, reviewer))
    }
}

type R<T> = Result<Response<T>, Status>;

fn day_type_from_pb(field: &str, v: i32) -> Result<DayType> {
    match pb::FilingDayType::try_from(v) {
        Ok(pb::FilingDayType::Calendar) => Ok(DayType::Calendar),
        Ok(pb::FilingDayType::Working) => Ok(DayType::Working),
        _ => Err(Error::invalid(field, "calendar or working")),
    }
}

fn day_type_to_pb(d: DayType) -> i32 {
    match d {
        DayType::Calendar => pb::FilingDayType::Calendar as i32,
        DayType::Working => pb::FilingDayType::Working as i32,
    }
}

fn threshold(fen: u64) -> Option<u64> {
    (fen > 0).then_some(fen)
}

fn policy_from_pb(p: pb::FilingPolicy) -> Result<(AgencyId, FilingPolicy)> {
    let agency_id: AgencyId = convert::id("policy.agency_id", p.agency_id)?;
    let start = match pb::FilingStart::try_from(p.filing_start) {
        Ok(pb::FilingStart::Decision) => StartEvent::Decision,
        Ok(pb::FilingStart::Service) => StartEvent::Service,
        Ok(pb::FilingStart::Effectiveness) => StartEvent::Effectiveness,
        _ => return Err(Error::invalid("policy.filing_start", "decision, service or effectiveness")),
    };
    sanxiang_domain::limits::ids("policy.extra_recipient_ids", &p.extra_recipient_ids)?;
    let policy = FilingPolicy {
        fine_citizen_fen: threshold(p.fine_citizen_fen),
        fine_organisation_fen: threshold(p.fine_organisation_fen),
        confiscation_citizen_fen: threshold(p.confiscation_citizen_fen),
        confiscation_organisation_fen: threshold(p.confiscation_organisation_fen),
        suspend_production: p.suspend_production,
        revoke_licence: p.revoke_licence,
        filing: Period {
            days: p.filing_days,
            day_type: day_type_from_pb("policy.filing_day_type", p.filing_day_type)?,
        },
        start,
        // Not given (0): the default, so a client that predates the field keeps working.
        public_notice_days: match p.public_notice_days {
            0 => sanxiang_domain::filing::default_public_notice_days(),
            days => days,
        },
        review: Period {
            days: p.review_days,
            day_type: day_type_from_pb("policy.review_day_type", p.review_day_type)?,
        },
        response: Period {
            days: p.response_days,
            day_type: day_type_from_pb("policy.response_day_type", p.response_day_type)?,
        },
        transfer: Period {
            days: p.transfer_days,
            day_type: day_type_from_pb("policy.transfer_day_type", p.transfer_day_type)?,
        },
        // Not given (0): the default, so a client that predates the field keeps working.
        supplement: match p.supplement_days {
            0 => sanxiang_domain::filing::default_supplement(),
            days => Period { days, day_type: day_type_from_pb("policy.supplement_day_type", p.supplement_day_type)? },
        },
        case_file: match p.case_file_days {
            0 => sanxiang_domain::filing::default_case_file(),
            days => Period { days, day_type: day_type_from_pb("policy.case_file_day_type", p.case_file_day_type)? },
        },
        recipient_levels: p.recipient_levels,
        extra_recipients: p.extra_recipient_ids.into_iter().map(AgencyId::from).collect(),
        joint: match pb::FilingJoint::try_from(p.joint_filing) {
            // Not given: the default, so a client that predates the field keeps working.
            Ok(pb::FilingJoint::Unspecified | pb::FilingJoint::Each) => JointFiling::Each,
            Ok(pb::FilingJoint::Lead) => JointFiling::Lead,
            Err(_) => return Err(Error::invalid("policy.joint_filing", "each or lead")),
        },
        review_first: p.review_first,
    };
    policy.validate()?;
    Ok((agency_id, policy))
}

fn policy_to_pb(agency_id: &AgencyId, p: FilingPolicy) -> pb::FilingPolicy {
    pb::FilingPolicy {
        agency_id: agency_id.to_string(),
        fine_citizen_fen: p.fine_citizen_fen.unwrap_or(0),
        fine_organisation_fen: p.fine_organisation_fen.unwrap_or(0),
        confiscation_citizen_fen: p.confiscation_citizen_fen.unwrap_or(0),
        confiscation_organisation_fen: p.confiscation_organisation_fen.unwrap_or(0),
        suspend_production: p.suspend_production,
        revoke_licence: p.revoke_licence,
        filing_days: p.filing.days,
        filing_day_type: day_type_to_pb(p.filing.day_type),
        filing_start: match p.start {
            StartEvent::Decision => pb::FilingStart::Decision as i32,
            StartEvent::Service => pb::FilingStart::Service as i32,
            StartEvent::Effectiveness => pb::FilingStart::Effectiveness as i32,
        },
        public_notice_days: p.public_notice_days,
        review_days: p.review.days,
        review_day_type: day_type_to_pb(p.review.day_type),
        response_days: p.response.days,
        response_day_type: day_type_to_pb(p.response.day_type),
        transfer_days: p.transfer.days,
        transfer_day_type: day_type_to_pb(p.transfer.day_type),
        supplement_days: p.supplement.days,
        supplement_day_type: day_type_to_pb(p.supplement.day_type),
        case_file_days: p.case_file.days,
        case_file_day_type: day_type_to_pb(p.case_file.day_type),
        recipient_levels: p.recipient_levels,
        extra_recipient_ids: p.extra_recipients.into_iter().map(Into::into).collect(),
        joint_filing: match p.joint {
            JointFiling::Each => pb::FilingJoint::Each as i32,
            JointFiling::Lead => pb::FilingJoint::Lead as i32,
        },
        review_first: p.review_first,
    }
}

fn outcome_to_pb(o: Outcome) -> pb::FilingOutcome {
    match o {
        Outcome::Recorded => pb::FilingOutcome::Recorded,
        Outcome::SupplementRequired => pb::FilingOutcome::SupplementRequired,
        Outcome::CorrectionRecommended => pb::FilingOutcome::CorrectionRecommended,
        Outcome::TransferRequired => pb::FilingOutcome::TransferRequired,
        Outcome::TerminatedByDispute => pb::FilingOutcome::TerminatedByDispute,
    }
}

fn status_to_pb(s: FilingStatus) -> pb::FilingStatus {
    match s {
        FilingStatus::Owed => pb::FilingStatus::Owed,
        FilingStatus::Submitted => pb::FilingStatus::Submitted,
        FilingStatus::UnderReview => pb::FilingStatus::UnderReview,
        FilingStatus::SupplementRequired => pb::FilingStatus::SupplementRequired,
        FilingStatus::AwaitingResponse => pb::FilingStatus::AwaitingResponse,
        FilingStatus::Closed => pb::FilingStatus::Closed,
    }
}

fn filing_to_pb(v: FilingView) -> pb::Filing {
    pb::Filing {
        case_id: v.case_id.into(),
        agency_id: v.agency_id.into(),
        status: status_to_pb(v.status) as i32,
        reasons: v.reasons,
        recipient_ids: v.recipients.into_iter().map(Into::into).collect(),
        decided_on: v.decided_on,
        due_date: v.due.map(|d| d.date.to_string()).unwrap_or_default(),
        due_date_provisional: v.due.is_some_and(|d| d.provisional),
        submitted_on: v.submitted_on.unwrap_or_default(),
        submitted_late: v.submitted_late,
        submissions: u32::try_from(v.submissions).unwrap_or(u32::MAX),
        documents: v
            .documents
            .into_iter()
            .map(|d| pb::FilingDocument { item: d.item, case_seq: d.case_seq, event_hash: d.event_hash })
            .collect(),
        evidence: v
            .evidence
            .into_iter()
            .map(|e| pb::FilingEvidence {
                evidence_id: e.evidence_id,
                sha256: e.sha256,
                size: e.size,
                media_type: e.media_type,
            })
            .collect(),
        review_due_date: v.review_due_date.unwrap_or_default(),
        reviewer_agency_id: v.reviewer_agency_id.map(Into::into).unwrap_or_default(),
        outcome: v.outcome.map_or(pb::FilingOutcome::Unspecified, outcome_to_pb) as i32,
        outcome_reasons: v.outcome_reasons,
        concluded_on: v.concluded_on.unwrap_or_default(),
        response_due_date: v.response_due_date.unwrap_or_default(),
        responded_on: v.responded_on.unwrap_or_default(),
        response: v.response,
        event_seqs: v.event_seqs,
        revisions: v
            .revisions
            .into_iter()
            .map(|r| pb::FilingRevision {
                case_seq: r.case_seq,
                revision: r.revision,
                reason: r.reason,
                revised_on: r.revised_on,
            })
            .collect(),
        file_requests: v
            .file_requests
            .into_iter()
            .map(|f| {
                let provided_late = f.provided_late();
                let due_date = f.due.date.to_string();
                let (provided_seq, provided_on) = f.provided.unwrap_or_default();
                pb::FileRequest {
                    requested_seq: f.requested_seq,
                    requested_on: f.requested_on,
                    reviewer_agency_id: f.reviewer_agency_id,
                    reason: f.reason,
                    provided_seq,
                    provided_on,
                    due_date,
                    provided_late,
                }
            })
            .collect(),
    }
}

fn row_to_pb(r: ReportRow) -> pb::FilingReportRow {
    pb::FilingReportRow {
        agency_id: r.agency_id.into(),
        agency_name: r.agency_name,
        required: r.required,
        filed_on_time: r.filed_on_time,
        filed_late: r.filed_late,
        not_filed: r.not_filed,
        not_filed_overdue: r.not_filed_overdue,
        recorded: r.recorded,
        supplement_required: r.supplement_required,
        correction_recommended: r.correction_recommended,
        transfer_required: r.transfer_required,
        terminated_by_dispute: r.terminated_by_dispute,
        responses_done: r.responses_done,
        responses_outstanding: r.responses_outstanding,
        reviews_pending: r.reviews_pending,
    }
}

/// The receiving agency `who` reviews for: its own agency must be one the filing was routed to
/// (RULES F3), and, once a review is open, the one that opened it.
fn reviewing_agency(who: &Principal, recipients: &[AgencyId], reviewer: Option<&AgencyId>) -> Result<AgencyId> {
    let own = who.agency_id.clone().ok_or_else(|| Error::PermissionDenied("no agency to review for".into()))?;
    if !recipients.contains(&own) {
        return Err(Error::PermissionDenied(format!(
            "F3.recipient: the filing was not routed to agency {own}; it goes to {}",
            recipients.iter().map(AgencyId::as_str).collect::<Vec<_>>().join(", ")
        )));
    }
    if let Some(r) = reviewer
        && r != &own
    {
        return Err(Error::PermissionDenied(format!("F7.reviewer: the review is held by agency {r}")));
    }
    Ok(own)
}

#[tonic::async_trait]
impl FilingService for FilingApi {
    #[tracing::instrument(skip_all)]
    async fn put_filing_policy(&self, req: Request<pb::PutFilingPolicyRequest>) -> R<pb::PutFilingPolicyResponse> {
        let who = caller(&req)?;
        authorize(&who, Action::AdministerRegistry, None).map_err(status)?;
        let p = req.into_inner().policy.ok_or_else(|| status(Error::invalid("policy", "required")))?;
        let (agency_id, policy) = policy_from_pb(p).map_err(status)?;
        let registry = self.filings.recorder().registry();
        registry.agency(&agency_id).await.map_err(status)?;
        for (i, extra) in policy.extra_recipients.iter().enumerate() {
            registry
                .agency(extra)
                .await
                .map_err(|_| status(Error::invalid(format!("policy.extra_recipient_ids[{i}]"), "no such agency")))?;
        }
        let now = self.filings.recorder().clock().now();
        sanxiang_filing::policy::store(self.filings.recorder().db(), &agency_id, &policy, &who.id, now)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::PutFilingPolicyResponse { policy: Some(policy_to_pb(&agency_id, policy)) }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_filing_policy(&self, req: Request<pb::GetFilingPolicyRequest>) -> R<pb::GetFilingPolicyResponse> {
        let who = caller(&req)?;
        let agency_id: AgencyId = convert::id("agency_id", req.into_inner().agency_id).map_err(status)?;
        authz::agency(self.filings.recorder().registry(), &who, Action::ReadRegistry, &agency_id)
            .await
            .map_err(status)?;
        let policy = sanxiang_filing::policy::load(self.filings.recorder().db(), &agency_id).await.map_err(status)?;
        Ok(Response::new(pb::GetFilingPolicyResponse { policy: Some(policy_to_pb(&agency_id, policy)) }))
    }

    #[tracing::instrument(skip_all)]
    async fn submit_filing(&self, req: Request<pb::SubmitFilingRequest>) -> R<pb::SubmitFilingResponse> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let request_digest = convert::request_digest(&r);
        let case_id: CaseId = convert::id("case_id", r.case_id).map_err(status)?;
        let case = authz::case(self.filings.recorder(), &who, Action::FileDecision, &case_id).await.map_err(status)?;
        let command = SubmitFiling { request_id: r.request_id, request_digest, report: r.report };
        let v = self.filings.submit(&who, &case, command).await.map_err(status)?;
        Ok(Response::new(pb::SubmitFilingResponse { filing: Some(filing_to_pb(v)) }))
    }

    #[tracing::instrument(skip_all)]
    async fn open_filing_review(&self, req: Request<pb::OpenFilingReviewRequest>) -> R<pb::OpenFilingReviewResponse> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let request_digest = convert::request_digest(&r);
        let (case, reviewer) = self.as_reviewer(&who, r.case_id, false).await?;
        let command = OpenReview { request_id: r.request_id, request_digest };
        let v = self.filings.open_review(&who, &case, &reviewer, command).await.map_err(status)?;
        Ok(Response::new(pb::OpenFilingReviewResponse { filing: Some(filing_to_pb(v)) }))
    }

    #[tracing::instrument(skip_all)]
    async fn decide_filing_review(
        &self,
        req: Request<pb::DecideFilingReviewRequest>,
    ) -> R<pb::DecideFilingReviewResponse> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let request_digest = convert::request_digest(&r);
        let (case, _) = self.as_reviewer(&who, r.case_id, true).await?;
        let outcome = match pb::FilingOutcome::try_from(r.outcome) {
            Ok(pb::FilingOutcome::Recorded) => Some(Outcome::Recorded),
            Ok(pb::FilingOutcome::SupplementRequired) => Some(Outcome::SupplementRequired),
            Ok(pb::FilingOutcome::CorrectionRecommended) => Some(Outcome::CorrectionRecommended),
            Ok(pb::FilingOutcome::TransferRequired) => Some(Outcome::TransferRequired),
            Ok(pb::FilingOutcome::TerminatedByDispute) => Some(Outcome::TerminatedByDispute),
            Ok(pb::FilingOutcome::Unspecified) | Err(_) => None,
        };
        let command = DecideReview { request_id: r.request_id, request_digest, outcome, reasons: r.reasons };
        let v = self.filings.decide_review(&who, &case, command).await.map_err(status)?;
        Ok(Response::new(pb::DecideFilingReviewResponse { filing: Some(filing_to_pb(v)) }))
    }

    #[tracing::instrument(skip_all)]
    async fn record_filing_response(
        &self,
        req: Request<pb::RecordFilingResponseRequest>,
    ) -> R<pb::RecordFilingResponseResponse> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let request_digest = convert::request_digest(&r);
        let case_id: CaseId = convert::id("case_id", r.case_id).map_err(status)?;
        let case = authz::case(self.filings.recorder(), &who, Action::FileDecision, &case_id).await.map_err(status)?;
        let command = RecordResponse {
            request_id: r.request_id,
            request_digest,
            response: r.response,
            response_date: r.response_date,
        };
        let v = self.filings.respond(&who, &case, command).await.map_err(status)?;
        Ok(Response::new(pb::RecordFilingResponseResponse { filing: Some(filing_to_pb(v)) }))
    }

    #[tracing::instrument(skip_all)]
    async fn request_case_file(&self, req: Request<pb::RequestCaseFileRequest>) -> R<pb::RequestCaseFileResponse> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let request_digest = convert::request_digest(&r);
        let (case, reviewer) = self.as_reviewer(&who, r.case_id, true).await?;
        let command = RequestFile { request_id: r.request_id, request_digest, reason: r.reason };
        let v = self.filings.request_file(&who, &case, &reviewer, command).await.map_err(status)?;
        Ok(Response::new(pb::RequestCaseFileResponse { filing: Some(filing_to_pb(v)) }))
    }

    #[tracing::instrument(skip_all)]
    async fn provide_case_file(&self, req: Request<pb::ProvideCaseFileRequest>) -> R<pb::ProvideCaseFileResponse> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let request_digest = convert::request_digest(&r);
        let case_id: CaseId = convert::id("case_id", r.case_id).map_err(status)?;
        let case = authz::case(self.filings.recorder(), &who, Action::FileDecision, &case_id).await.map_err(status)?;
        let command = ProvideFile { request_id: r.request_id, request_digest, note: r.note };
        let v = self.filings.provide_file(&who, &case, command).await.map_err(status)?;
        Ok(Response::new(pb::ProvideCaseFileResponse { filing: Some(filing_to_pb(v)) }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_filing(&self, req: Request<pb::GetFilingRequest>) -> R<pb::GetFilingResponse> {
        let who = caller(&req)?;
        let case_id: CaseId = convert::id("case_id", req.into_inner().case_id).map_err(status)?;
        // The case's staff, those above it, and the bodies the filing was routed to (F3).
        let (_, scope, row) = self.filing_scope(&case_id).await.map_err(status)?;
        authorize(&who, Action::ReadRecord, Some(&scope)).map_err(status)?;
        let v = self.filings.full_view(&row.map_err(status)?).await.map_err(status)?;
        Ok(Response::new(pb::GetFilingResponse { filing: Some(filing_to_pb(v)) }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_filings(&self, req: Request<pb::ListFilingsRequest>) -> R<pb::ListFilingsResponse> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let agency_id: Option<AgencyId> = convert::optional_id("agency_id", r.agency_id).map_err(status)?;
        let registry = self.filings.recorder().registry();
        let agencies = match &agency_id {
            // One agency: its own staff, or staff of an agency above it.
            Some(id) => {
                authz::agency(registry, &who, Action::ReadRecord, id).await.map_err(status)?;
                vec![id.clone()]
            }
            None => authz::supervised_agencies(registry, &who, None)
                .await
                .map_err(status)?
                .into_iter()
                .map(|a| a.id)
                .collect(),
        };
        let wanted = match pb::FilingStatus::try_from(r.status) {
            Ok(pb::FilingStatus::Unspecified) => None,
            Ok(s) => FilingStatus::ALL.into_iter().find(|x| status_to_pb(*x) == s),
            Err(_) => return Err(status(Error::invalid("status", "not a filing status"))),
        };
        // Over the whole tree, also the filings routed to the caller's agency from elsewhere (F3).
        let recipient = if agency_id.is_none() { who.agency_id.as_ref() } else { None };
        let rows = self.filings.rows_for(&agencies, recipient, wanted).await.map_err(status)?;
        let zones = self.filings.zones(&rows).await.map_err(status)?;
        let calendar = registry.calendar().await.map_err(status)?;
        let mut dues = self.filings.due_dates(&rows, &zones, &calendar).await.map_err(status)?;
        let mut filings = Vec::with_capacity(rows.len());
        for row in &rows {
            let v = if r.include_package {
                self.filings.full_view(row).await.map_err(status)?
            } else {
                let tz = zones
                    .get(&row.agency_id)
                    .copied()
                    .ok_or_else(|| status(Error::Internal("agency zone not loaded".into())))?;
                self.filings.view(row, dues.remove(&row.case_id), tz).map_err(status)?
            };
            filings.push(filing_to_pb(v));
        }
        Ok(Response::new(pb::ListFilingsResponse { filings }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_filing_report(&self, req: Request<pb::GetFilingReportRequest>) -> R<pb::GetFilingReportResponse> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let agency_id: Option<AgencyId> = convert::optional_id("agency_id", r.agency_id).map_err(status)?;
        let agencies = authz::supervised_agencies(self.filings.recorder().registry(), &who, agency_id.as_ref())
            .await
            .map_err(status)?;
        let (rows, total) = sanxiang_filing::supervision::report(&self.filings, agencies, &r.from_date, &r.to_date)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::GetFilingReportResponse {
            rows: rows.into_iter().map(row_to_pb).collect(),
            total: Some(row_to_pb(total)),
        }))
    }
}
