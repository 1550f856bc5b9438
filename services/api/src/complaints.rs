//! `ComplaintService` over gRPC (投诉举报, RULES T1–T7): decode, authorise, call the use case,
//! encode; and the conversions of its messages. Public intake is HTTP
//! (`sanxiang_complaints::http`).

use sanxiang_complaints::command::{NewAttachment, NewComplaint, NewReporter, NewStep, Reveal};
use sanxiang_complaints::{ComplaintView, Complaints};
use sanxiang_domain::complaints::{Channel, ComplaintPolicy, ComplaintType, Outcome, StepKind};
use sanxiang_domain::id::{AgencyId, ComplaintId};
use sanxiang_domain::{Error, Result};
use sanxiang_proto::v1 as pb;
use sanxiang_proto::v1::complaint_service_server::ComplaintService;
use sanxiang_registry::auth::Action;
use tonic::{Request, Response, Status};

use crate::authz;
use crate::convert::{self, from_timestamp, micros};
use crate::status::{caller, status};

/// The gRPC face of [`Complaints`].
#[derive(Debug, Clone)]
pub struct ComplaintApi {
    complaints: Complaints,
}

impl ComplaintApi {
    /// Serves `complaints`.
    pub fn new(complaints: Complaints) -> Self {
        Self { complaints }
    }
}

type R<T> = std::result::Result<Response<T>, Status>;

fn type_to_pb(t: ComplaintType) -> pb::ComplaintType {
    match t {
        ComplaintType::ConductComplaint => pb::ComplaintType::ConductComplaint,
        ComplaintType::SamrComplaint => pb::ComplaintType::SamrComplaint,
        ComplaintType::SamrReport => pb::ComplaintType::SamrReport,
    }
}

fn type_from_pb(v: i32) -> Option<ComplaintType> {
    let p = pb::ComplaintType::try_from(v).ok()?;
    ComplaintType::ALL.iter().copied().find(|t| type_to_pb(*t) == p)
}

fn channel_to_pb(c: Channel) -> pb::ComplaintChannel {
    use pb::ComplaintChannel as P;
    match c {
        Channel::Internet => P::Internet,
        Channel::Phone => P::Phone,
        Channel::Fax => P::Fax,
        Channel::Post => P::Post,
        Channel::Counter => P::Counter,
        Channel::Platform12315 => P::Platform12315,
        Channel::Hotline12315 => P::Hotline12315,
        Channel::Hotline12345 => P::Hotline12345,
        Channel::Letter => P::Letter,
        Channel::Visit => P::Visit,
    }
}

fn channel_from_pb(v: i32) -> Option<Channel> {
    let p = pb::ComplaintChannel::try_from(v).ok()?;
    Channel::ALL.iter().copied().find(|c| channel_to_pb(*c) == p)
}

fn step_to_pb(k: StepKind) -> pb::ComplaintStepKind {
    use pb::ComplaintStepKind as P;
    match k {
        StepKind::Received => P::Received,
        StepKind::Accepted => P::Accepted,
        StepKind::Rejected => P::Rejected,
        StepKind::MediationPaused => P::MediationPaused,
        StepKind::MediationResumed => P::MediationResumed,
        StepKind::MediationAgreed => P::MediationAgreed,
        StepKind::MediationTerminated => P::MediationTerminated,
        StepKind::PartiesNotified => P::PartiesNotified,
        StepKind::ViolationFound => P::ViolationFound,
        StepKind::VerificationExtended => P::VerificationExtended,
        StepKind::VerificationConcluded => P::VerificationConcluded,
        StepKind::FilingDecided => P::FilingDecided,
        StepKind::ReporterNotified => P::ReporterNotified,
        StepKind::Extended => P::Extended,
        StepKind::Concluded => P::Concluded,
        StepKind::DecisionKept => P::DecisionKept,
        StepKind::JurisdictionDisputed => P::JurisdictionDisputed,
        StepKind::JurisdictionSettled => P::JurisdictionSettled,
        StepKind::Referred => P::Referred,
    }
}

fn step_from_pb(v: i32) -> Option<StepKind> {
    let p = pb::ComplaintStepKind::try_from(v).ok()?;
    StepKind::ALL.iter().copied().find(|k| step_to_pb(*k) == p)
}

fn outcome_to_pb(o: Outcome) -> pb::ComplaintOutcome {
    use pb::ComplaintOutcome as P;
    match o {
        Outcome::Rejected => P::Rejected,
        Outcome::NotUpheld => P::NotUpheld,
        Outcome::CorrectionOrdered => P::CorrectionOrdered,
        Outcome::RevokeOrChangeRecommended => P::RevokeOrChangeRecommended,
        Outcome::ReferredForAccountability => P::ReferredForAccountability,
        Outcome::MediationAgreed => P::MediationAgreed,
        Outcome::MediationTerminated => P::MediationTerminated,
        Outcome::CaseFiled => P::CaseFiled,
        Outcome::NotFiled => P::NotFiled,
        Outcome::Referred => P::Referred,
    }
}

fn outcome_from_pb(v: i32) -> Option<Outcome> {
    let p = pb::ComplaintOutcome::try_from(v).ok()?;
    Outcome::ALL.iter().copied().find(|o| outcome_to_pb(*o) == p)
}

/// A stored step's payload member, if any.
fn member(payload: &sanxiang_domain::canonical::Value, key: &str) -> String {
    payload.get(key).and_then(|v| v.as_str()).unwrap_or_default().to_owned()
}

fn attachment_to_pb(a: sanxiang_complaints::AttachmentRef) -> pb::ComplaintAttachmentRef {
    pb::ComplaintAttachmentRef {
        index: a.index,
        name: a.name,
        media_type: a.media_type,
        size: a.size,
        sha256: a.sha256,
    }
}

fn view_to_pb(v: ComplaintView) -> Result<pb::Complaint> {
    let mut steps = Vec::with_capacity(v.steps.len());
    for s in &v.steps {
        let payload = sanxiang_domain::canonical::Value::parse(&s.payload).map_err(|_| {
            Error::DataLoss(format!("complaint_steps.payload of {}#{} cannot be read", s.complaint_id, s.seq))
        })?;
        let kind = StepKind::parse(&s.kind)
            .ok_or_else(|| Error::DataLoss(format!("complaint_steps.kind of {}#{}", s.complaint_id, s.seq)))?;
        steps.push(pb::ComplaintStep {
            seq: u64::try_from(s.seq).unwrap_or_default(),
            kind: step_to_pb(kind) as i32,
            occurred_at: Some(micros(s.occurred_at)),
            recorded_at: Some(micros(s.recorded_at)),
            actor_id: s.actor_id.clone().map(Into::into).unwrap_or_default(),
            text: member(&payload, "text"),
            extension_days: payload
                .get("extension_days")
                .and_then(|d| d.as_int())
                .and_then(|d| u32::try_from(d).ok())
                .unwrap_or_default(),
            approved_by: member(&payload, "approved_by"),
            case_filed: payload.get("case_filed").and_then(|b| b.as_bool()).unwrap_or(false),
            case_id: member(&payload, "case_id"),
            outcome: payload
                .get("outcome")
                .and_then(|o| o.as_str())
                .and_then(Outcome::parse)
                .map_or(0, |o| outcome_to_pb(o) as i32),
            prev_hash: s.prev_hash.clone(),
            hash: s.hash.clone(),
            investigator_ids: match payload.get("investigator_ids") {
                Some(sanxiang_domain::canonical::Value::Array(ids)) => {
                    ids.iter().map(|v| v.as_str().map(str::to_owned)).collect::<Option<Vec<_>>>().ok_or_else(|| {
                        Error::DataLoss(format!(
                            "complaint_steps.payload of {}#{} cannot be read",
                            s.complaint_id, s.seq
                        ))
                    })?
                }
                _ => Vec::new(),
            },
            attachments: sanxiang_complaints::attachments_of(s)?.into_iter().map(attachment_to_pb).collect(),
        });
    }
    let masked = v.reporter.name.is_none();
    Ok(pb::Complaint {
        id: v.row.id.to_string(),
        agency_id: v.row.agency_id.to_string(),
        r#type: type_to_pb(v.complaint_type) as i32,
        channel: channel_to_pb(v.channel) as i32,
        received_at: Some(micros(v.row.received_at)),
        intake_officer_id: v.row.intake_officer_id.map(Into::into).unwrap_or_default(),
        content: v.row.content,
        case_id: v.row.case_id.map(Into::into).unwrap_or_default(),
        officer_ids: v.officer_ids.into_iter().map(Into::into).collect(),
        reporter: Some(pb::Reporter {
            name: v.reporter.name.unwrap_or_default(),
            contact: v.reporter.contact.unwrap_or_default(),
            anonymous: v.reporter.anonymous,
            secrecy_requested: v.reporter.secrecy_requested,
            masked,
        }),
        open: v.row.is_open,
        outcome: v.outcome.map_or(0, |o| outcome_to_pb(o) as i32),
        steps,
        obligations: v
            .owing
            .into_iter()
            .map(|o| pb::ComplaintObligation {
                owed: o.obligation.owed.as_str().to_owned(),
                step: step_to_pb(o.obligation.step) as i32,
                due_date: o.obligation.due.map(|d| d.date.to_string()).unwrap_or_default(),
                provisional: o.obligation.due.is_some_and(|d| d.provisional),
                overdue: o.overdue,
                what: o.obligation.what.to_owned(),
            })
            .collect(),
        sibling_id: v.row.sibling_id.map(Into::into).unwrap_or_default(),
    })
}

fn views_to_pb(views: Vec<ComplaintView>) -> Result<Vec<pb::Complaint>> {
    views.into_iter().map(view_to_pb).collect()
}

fn policy_to_pb(p: &ComplaintPolicy, agency_id: &AgencyId) -> pb::ComplaintPolicy {
    pb::ComplaintPolicy {
        agency_id: agency_id.to_string(),
        samr_accept_working_days: p.samr_accept_working_days,
        mediation_working_days: p.mediation_working_days,
        termination_notice_working_days: p.termination_notice_working_days,
        verification_working_days: p.verification_working_days,
        verification_extension_working_days: p.verification_extension_working_days,
        report_filing_working_days: p.report_filing_working_days,
        report_notice_working_days: p.report_notice_working_days,
        conduct_accept_working_days: p.conduct_accept_working_days,
        conduct_conclude_days: p.conduct_conclude_days,
        conduct_extension_max_days: p.conduct_extension_max_days,
        decision_response_days: p.decision_response_days,
        jurisdiction_dispute_working_days: p.jurisdiction_dispute_working_days,
    }
}

fn policy_from_pb(p: &pb::ComplaintPolicy) -> ComplaintPolicy {
    ComplaintPolicy {
        samr_accept_working_days: p.samr_accept_working_days,
        mediation_working_days: p.mediation_working_days,
        termination_notice_working_days: p.termination_notice_working_days,
        verification_working_days: p.verification_working_days,
        verification_extension_working_days: p.verification_extension_working_days,
        report_filing_working_days: p.report_filing_working_days,
        report_notice_working_days: p.report_notice_working_days,
        conduct_accept_working_days: p.conduct_accept_working_days,
        conduct_conclude_days: p.conduct_conclude_days,
        conduct_extension_max_days: p.conduct_extension_max_days,
        // Not given (0): the default, so a client that predates the field keeps working.
        decision_response_days: match p.decision_response_days {
            0 => ComplaintPolicy::default().decision_response_days,
            days => days,
        },
        jurisdiction_dispute_working_days: match p.jurisdiction_dispute_working_days {
            0 => ComplaintPolicy::default().jurisdiction_dispute_working_days,
            days => days,
        },
    }
}

/// A request's optional idempotency key with the digest of the request as received.
fn request_key(request_id: &str, request: &impl sanxiang_proto::Message) -> Result<Option<(String, String)>> {
    if request_id.is_empty() {
        return Ok(None);
    }
    Ok(Some((sanxiang_domain::error::request_id(request_id)?, convert::request_digest(request))))
}

fn new_complaint(r: pb::RecordComplaintRequest) -> Result<NewComplaint> {
    let request = request_key(&r.request_id, &r)?;
    let reporter = r.reporter.unwrap_or_default();
    Ok(NewComplaint {
        agency_id: convert::id("agency_id", r.agency_id)?,
        types: r.types.into_iter().map(type_from_pb).collect(),
        channel: channel_from_pb(r.channel),
        received_at: from_timestamp("received_at", r.received_at.as_ref())?,
        content: r.content,
        reporter: NewReporter {
            name: reporter.name,
            contact: reporter.contact,
            anonymous: reporter.anonymous,
            secrecy_requested: reporter.secrecy_requested,
        },
        case_id: convert::optional_id("case_id", r.case_id)?,
        officer_ids: r
            .officer_ids
            .into_iter()
            .enumerate()
            .map(|(i, o)| convert::id(&format!("officer_ids[{i}]"), o))
            .collect::<Result<_>>()?,
        request,
    })
}

fn new_step(r: pb::RecordComplaintStepRequest) -> Result<NewStep> {
    let request = request_key(&r.request_id, &r)?;
    Ok(NewStep {
        kind: step_from_pb(r.kind),
        occurred_at: from_timestamp("occurred_at", r.occurred_at.as_ref())?,
        text: r.text,
        extension_days: r.extension_days,
        approved_by: convert::optional_id("approved_by", r.approved_by)?,
        case_filed: r.case_filed,
        case_id: convert::optional_id("case_id", r.case_id)?,
        outcome: outcome_from_pb(r.outcome),
        investigator_ids: r
            .investigator_ids
            .into_iter()
            .enumerate()
            .map(|(i, o)| convert::id(&format!("investigator_ids[{i}]"), o))
            .collect::<Result<_>>()?,
        request,
        attachments: r
            .attachments
            .into_iter()
            .map(|a| NewAttachment { name: a.name, media_type: a.media_type, content: a.content.to_vec() })
            .collect(),
    })
}

#[tonic::async_trait]
impl ComplaintService for ComplaintApi {
    #[tracing::instrument(skip_all)]
    async fn record_complaint(&self, req: Request<pb::RecordComplaintRequest>) -> R<pb::RecordComplaintResponse> {
        let who = caller(&req)?;
        let command = new_complaint(req.into_inner()).map_err(status)?;
        authz::agency(self.complaints.registry(), &who, Action::RecordComplaint, &command.agency_id)
            .await
            .map_err(status)?;
        let views = self.complaints.record(Some(&who), command).await.map_err(status)?;
        Ok(Response::new(pb::RecordComplaintResponse { complaints: views_to_pb(views).map_err(status)? }))
    }

    #[tracing::instrument(skip_all)]
    async fn record_complaint_step(
        &self,
        req: Request<pb::RecordComplaintStepRequest>,
    ) -> R<pb::RecordComplaintStepResponse> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let id: ComplaintId = convert::id("complaint_id", r.complaint_id.clone()).map_err(status)?;
        let command = new_step(r).map_err(status)?;
        let c = self.complaints.complaint(&id).await.map_err(status)?;
        // Keeping a decision against a recommendation is the deciding agency's head's (RULES
        // T6); every other step is the handling offices'.
        let action =
            if command.kind == Some(StepKind::DecisionKept) { Action::KeepDecision } else { Action::HandleComplaints };
        authz::agency(self.complaints.registry(), &who, action, &c.agency_id).await.map_err(status)?;
        let view = self.complaints.step(&who, c, command).await.map_err(status)?;
        Ok(Response::new(pb::RecordComplaintStepResponse { complaint: Some(view_to_pb(view).map_err(status)?) }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_complaint(&self, req: Request<pb::GetComplaintRequest>) -> R<pb::GetComplaintResponse> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let id: ComplaintId = convert::id("complaint_id", r.complaint_id).map_err(status)?;
        let c = self.complaints.complaint(&id).await.map_err(status)?;
        let action = if r.reveal_reporter { Action::HandleComplaints } else { Action::ReadComplaints };
        authz::agency(self.complaints.registry(), &who, action, &c.agency_id).await.map_err(status)?;
        let reveal =
            if r.reveal_reporter { Reveal::To { who: &who, reason: &r.access_reason } } else { Reveal::Masked };
        let view = self.complaints.view(c, reveal).await.map_err(status)?;
        Ok(Response::new(pb::GetComplaintResponse { complaint: Some(view_to_pb(view).map_err(status)?) }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_complaints(&self, req: Request<pb::ListComplaintsRequest>) -> R<pb::ListComplaintsResponse> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let agency_id: AgencyId = convert::id("agency_id", r.agency_id).map_err(status)?;
        authz::agency(self.complaints.registry(), &who, Action::ReadComplaints, &agency_id).await.map_err(status)?;
        let page = self.complaints.list(&agency_id, r.open_only, &r.cursor, r.limit).await.map_err(status)?;
        Ok(Response::new(pb::ListComplaintsResponse {
            complaints: views_to_pb(page.complaints).map_err(status)?,
            next_cursor: page.next_cursor.unwrap_or_default(),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_complaint_attachment(
        &self,
        req: Request<pb::GetComplaintAttachmentRequest>,
    ) -> R<pb::GetComplaintAttachmentResponse> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let id: ComplaintId = convert::id("complaint_id", r.complaint_id).map_err(status)?;
        let c = self.complaints.complaint(&id).await.map_err(status)?;
        // An attachment may identify the reporter (RULES T5): the handling offices only.
        authz::agency(self.complaints.registry(), &who, Action::HandleComplaints, &c.agency_id)
            .await
            .map_err(status)?;
        let (a, content) = self.complaints.attachment(&c, r.seq, r.index).await.map_err(status)?;
        Ok(Response::new(pb::GetComplaintAttachmentResponse {
            attachment: Some(attachment_to_pb(a)),
            content: content.into(),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_reporter_access(
        &self,
        req: Request<pb::ListReporterAccessRequest>,
    ) -> R<pb::ListReporterAccessResponse> {
        let who = caller(&req)?;
        let id: ComplaintId = convert::id("complaint_id", req.into_inner().complaint_id).map_err(status)?;
        let c = self.complaints.complaint(&id).await.map_err(status)?;
        authz::agency(self.complaints.registry(), &who, Action::HandleComplaints, &c.agency_id)
            .await
            .map_err(status)?;
        let rows = self.complaints.accesses(&id).await.map_err(status)?;
        Ok(Response::new(pb::ListReporterAccessResponse {
            accesses: rows
                .into_iter()
                .map(|a| pb::ReporterAccess {
                    principal_id: a.principal_id.into(),
                    accessed_at: Some(micros(a.accessed_at)),
                    reason: a.reason,
                })
                .collect(),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_complaint_statistics(
        &self,
        req: Request<pb::GetComplaintStatisticsRequest>,
    ) -> R<pb::GetComplaintStatisticsResponse> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let agency_id: Option<AgencyId> = convert::optional_id("agency_id", r.agency_id).map_err(status)?;
        let (from, to) = sanxiang_complaints::figures::period(&r.from, &r.to).map_err(status)?;
        let agencies =
            authz::supervised_agencies(self.complaints.registry(), &who, agency_id.as_ref()).await.map_err(status)?;
        let f = self.complaints.figures(&agencies, from, to).await.map_err(status)?;
        Ok(Response::new(pb::GetComplaintStatisticsResponse {
            received: f.received,
            open: f.open,
            overdue: f.overdue,
            counts: f
                .counts
                .into_iter()
                .map(|c| pb::ComplaintCount { dimension: c.dimension.to_owned(), key: c.key, count: c.count })
                .collect(),
            upheld_per_mille: f.upheld_per_mille,
            concluded_conduct: f.concluded_conduct,
            upheld_conduct: f.upheld_conduct,
            notice: f.notice,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn put_complaint_policy(
        &self,
        req: Request<pb::PutComplaintPolicyRequest>,
    ) -> R<pb::PutComplaintPolicyResponse> {
        let who = caller(&req)?;
        let p = req.into_inner().policy.ok_or_else(|| Status::invalid_argument("invalid policy: is required"))?;
        let agency_id: AgencyId = convert::id("policy.agency_id", p.agency_id.clone()).map_err(status)?;
        authz::agency(self.complaints.registry(), &who, Action::ConfigureComplaints, &agency_id)
            .await
            .map_err(status)?;
        let stored = self.complaints.put_policy(&agency_id, policy_from_pb(&p)).await.map_err(status)?;
        Ok(Response::new(pb::PutComplaintPolicyResponse { policy: Some(policy_to_pb(&stored, &agency_id)) }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_complaint_policy(
        &self,
        req: Request<pb::GetComplaintPolicyRequest>,
    ) -> R<pb::GetComplaintPolicyResponse> {
        let _who = caller(&req)?;
        let agency_id: AgencyId = convert::id("agency_id", req.into_inner().agency_id).map_err(status)?;
        self.complaints.registry().agency(&agency_id).await.map_err(status)?;
        let p = self.complaints.policy(&agency_id).await.map_err(status)?;
        Ok(Response::new(pb::GetComplaintPolicyResponse { policy: Some(policy_to_pb(&p, &agency_id)) }))
    }
}
