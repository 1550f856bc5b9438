//! Conversions between API messages and domain values: requests decoded into the use cases'
//! commands (an enum value the API does not know becomes `None`, refused by the use case with the
//! field's name), and stored rows and use-case results encoded as API messages.

use std::collections::BTreeMap;

use sanxiang_domain::filing::AgencyKind;
use sanxiang_domain::id::AgencyId;
use sanxiang_domain::lifecycle::{CaseKind, EventKind, ServiceMethod};
use sanxiang_domain::limits;
use sanxiang_domain::officer::{CertificateEventKind, CertificateKind, CertificateState, OfficerStatus};
use sanxiang_domain::party::{Party, PartyKind};
use sanxiang_domain::publicity::{DisclosureStatus, NoticeSection};
use sanxiang_domain::review::{ChecklistItem, DraftStatus, Outcome, Revision};
use sanxiang_domain::statistics::{AmountUnit, Tables};
use sanxiang_domain::{Error, Result, Timestamp};
use sanxiang_proto::v1 as pb;
use sanxiang_publicity::annual::{AnnualReport, AnnualView, Count, Publication, PublishAnnual};
use sanxiang_publicity::content::Content;
use sanxiang_publicity::disclosure::{
    CorrectDisclosure, DisclosureView, EndPublication, PublishDisclosure, WithdrawDisclosure,
};
use sanxiang_publicity::notices::{self, Notice, Notices, PutNotice};
use sanxiang_publicity::policy::{Policy, PolicyForm};
use sanxiang_publicity::statistics::Statistics;
use sanxiang_publicity::supervision::{OverdueItem, OverdueKind};
use sanxiang_recording::command;
use sanxiang_recording::record::{CaseView, evidence_from_json, stored_officers};
use sanxiang_recording::retention::Tombstone;
use sanxiang_recording::verify::Report;
use sanxiang_registry::auth::Role;
use sanxiang_registry::registry::CertificateView;
use sanxiang_review::command as review_command;
use sanxiang_review::review::{DraftView, ReviewView};
use sanxiang_store::entity::{agency, event, evidence, officer, principal};

/// A `google.protobuf.Timestamp` from a domain timestamp.
pub fn timestamp(t: Timestamp) -> prost_types::Timestamp {
    let (seconds, nanos) = t.to_parts();
    prost_types::Timestamp { seconds, nanos }
}

/// A `google.protobuf.Timestamp` from stored microseconds.
pub fn micros(t: i64) -> prost_types::Timestamp {
    timestamp(Timestamp::from_micros(t))
}

/// A domain timestamp from an optional `google.protobuf.Timestamp`; `field` names it in errors.
pub fn from_timestamp(field: &str, t: Option<&prost_types::Timestamp>) -> Result<Option<Timestamp>> {
    match t {
        None => Ok(None),
        Some(t) => Timestamp::from_parts(t.seconds, t.nanos)
            .map(Some)
            .ok_or_else(|| Error::invalid(field, "not a valid timestamp")),
    }
}

/// Digest of an idempotent write's request as received, stored with the write: a retry with the
/// same request id must be the same request (`sanxiang_domain::error::same_request`).
pub fn request_digest(request: &impl sanxiang_proto::Message) -> String {
    sanxiang_domain::error::request_digest(&request.encode_to_vec())
}

/// The API form of an event kind.
pub fn event_kind_to_pb(k: EventKind) -> pb::EventKind {
    use pb::EventKind as P;
    match k {
        EventKind::CaseOpened => P::CaseOpened,
        EventKind::Filing => P::Filing,
        EventKind::Inspection => P::Inspection,
        EventKind::EvidenceCollection => P::EvidenceCollection,
        EventKind::Questioning => P::Questioning,
        EventKind::Seizure => P::Seizure,
        EventKind::ForcedDemolition => P::ForcedDemolition,
        EventKind::OnSiteEnforcement => P::OnSiteEnforcement,
        EventKind::NoticeOfProposedDecision => P::NoticeOfProposedDecision,
        EventKind::StatementHeard => P::StatementHeard,
        EventKind::StatementWaived => P::StatementWaived,
        EventKind::StatementPeriodExpired => P::StatementPeriodExpired,
        EventKind::HearingRequested => P::HearingRequested,
        EventKind::HearingRecord => P::HearingRecord,
        EventKind::Decision => P::Decision,
        EventKind::Service => P::Service,
        EventKind::Execution => P::Execution,
        EventKind::Closing => P::Closing,
        EventKind::CertificateShown => P::CertificateShown,
        EventKind::RecordingInterrupted => P::RecordingInterrupted,
        EventKind::EvidenceAccessed => P::EvidenceAccessed,
        EventKind::EvidenceUploaded => P::EvidenceUploaded,
        EventKind::Note => P::Note,
        EventKind::Archived => P::Archived,
        EventKind::DraftSubmitted => P::DraftSubmitted,
        EventKind::ReviewDecided => P::ReviewDecided,
        EventKind::CollectiveDiscussion => P::CollectiveDiscussion,
        EventKind::DecisionRevised => P::DecisionRevised,
        EventKind::DisclosurePublished => P::DisclosurePublished,
        EventKind::DisclosureWithdrawn => P::DisclosureWithdrawn,
        EventKind::DisclosureCorrected => P::DisclosureCorrected,
        EventKind::PublicationEnded => P::PublicationEnded,
        EventKind::ReconsiderationApplied => P::ReconsiderationApplied,
        EventKind::ReconsiderationConcluded => P::ReconsiderationConcluded,
        EventKind::LawsuitFiled => P::LawsuitFiled,
        EventKind::LawsuitConcluded => P::LawsuitConcluded,
        EventKind::ComplaintReceived => P::ComplaintReceived,
        EventKind::ComplaintConcluded => P::ComplaintConcluded,
        EventKind::FilingFileRequested => P::FilingFileRequested,
        EventKind::FilingFileProvided => P::FilingFileProvided,
        EventKind::FilingReviewOpened => P::FilingReviewOpened,
        EventKind::FilingReviewConcluded => P::FilingReviewConcluded,
        EventKind::EvidenceDestroyed => P::EvidenceDestroyed,
        EventKind::FilingSubmitted => P::FilingSubmitted,
        EventKind::FilingResponse => P::FilingResponse,
        EventKind::ReportLinked => P::ReportLinked,
        EventKind::EvidenceMarked => P::EvidenceMarked,
        EventKind::LegalHoldReleased => P::LegalHoldReleased,
    }
}

/// The domain form of an API event kind; `None` for unspecified or unknown values.
pub fn event_kind_from_pb(value: i32) -> Option<EventKind> {
    let p = pb::EventKind::try_from(value).ok()?;
    EventKind::ALL.iter().copied().find(|k| event_kind_to_pb(*k) == p)
}

/// The API form of a role.
pub fn role_to_pb(r: Role) -> pb::Role {
    match r {
        Role::Admin => pb::Role::Admin,
        Role::Officer => pb::Role::Officer,
        Role::Reviewer => pb::Role::Reviewer,
        Role::Head => pb::Role::Head,
        Role::Publisher => pb::Role::Publisher,
        Role::Supervisor => pb::Role::Supervisor,
    }
}

/// The domain form of an API role.
pub fn role_from_pb(value: i32) -> Option<Role> {
    let p = pb::Role::try_from(value).ok()?;
    Role::ALL.into_iter().find(|r| role_to_pb(*r) == p)
}

/// An agency row as an API message; a stored column that cannot be read is DATA_LOSS, never a
/// default (a default recording policy would silently drop required recordings, R3).
pub fn agency_to_pb(a: agency::Model) -> Result<pb::Agency> {
    let powers = sanxiang_registry::registry::powers(&a)?;
    let policy = sanxiang_registry::registry::recording_policy(&a)?;
    let kind = match a.kind.as_deref() {
        None => pb::AgencyKind::Unspecified,
        Some(k) => agency_kind_to_pb(
            AgencyKind::parse(k)
                .ok_or_else(|| Error::DataLoss(format!("agencies.kind of agency {} cannot be read", a.id)))?,
        ),
    };
    Ok(pb::Agency {
        id: a.id.into(),
        name: a.name,
        credit_code: a.credit_code,
        region: a.region,
        parent_id: a.parent_id.unwrap_or_default().into(),
        powers: powers
            .into_iter()
            .map(|p| pb::Power { name: p.name, category: p.category, legal_basis: p.legal_basis })
            .collect(),
        time_zone: a.time_zone,
        recording_policy: Some(pb::RecordingPolicy {
            additional_required_kinds: policy
                .additional_required_kinds
                .iter()
                .filter_map(|k| EventKind::parse(k))
                .map(|k| event_kind_to_pb(k) as i32)
                .collect(),
        }),
        upload_window_hours: u32::try_from(a.upload_window_hours).unwrap_or(u32::MAX),
        created_at: Some(timestamp(Timestamp::from_micros(a.created_at))),
        kind: kind as i32,
        government_id: a.government_id.unwrap_or_default().into(),
    })
}

/// An agency kind as an API value.
pub fn agency_kind_to_pb(k: AgencyKind) -> pb::AgencyKind {
    match k {
        AgencyKind::Government => pb::AgencyKind::Government,
        AgencyKind::Department => pb::AgencyKind::Department,
        AgencyKind::Authorised => pb::AgencyKind::Authorised,
        AgencyKind::Vertical => pb::AgencyKind::Vertical,
    }
}

/// The domain form of an API agency kind: `Ok(None)` when unspecified, INVALID_ARGUMENT `kind`
/// when unknown.
pub fn agency_kind_from_pb(v: i32) -> Result<Option<AgencyKind>> {
    match pb::AgencyKind::try_from(v) {
        Ok(pb::AgencyKind::Unspecified) => Ok(None),
        Ok(pb::AgencyKind::Government) => Ok(Some(AgencyKind::Government)),
        Ok(pb::AgencyKind::Department) => Ok(Some(AgencyKind::Department)),
        Ok(pb::AgencyKind::Authorised) => Ok(Some(AgencyKind::Authorised)),
        Ok(pb::AgencyKind::Vertical) => Ok(Some(AgencyKind::Vertical)),
        Err(_) => Err(Error::invalid("kind", "government, department, authorised or vertical")),
    }
}

/// An officer row as an API message.
pub fn officer_to_pb(o: officer::Model) -> Result<pb::Officer> {
    let status = match OfficerStatus::parse(&o.status) {
        Some(OfficerStatus::Active) => pb::OfficerStatus::Active,
        Some(OfficerStatus::Suspended) => pb::OfficerStatus::Suspended,
        Some(OfficerStatus::Revoked) => pb::OfficerStatus::Revoked,
        None => return Err(Error::DataLoss(format!("officers.status of officer {} cannot be read", o.id))),
    };
    let kind = CertificateKind::parse(&o.certificate_kind)
        .ok_or_else(|| Error::DataLoss(format!("officers.certificate_kind of officer {} cannot be read", o.id)))?;
    Ok(pb::Officer {
        id: o.id.into(),
        agency_id: o.agency_id.into(),
        name: o.name,
        certificate_number: o.certificate_number,
        category: o.category,
        valid_from: o.valid_from,
        valid_until: o.valid_until,
        status: status as i32,
        legal_qualification: o.legal_qualification,
        has_prior_review_experience: o.has_prior_review_experience,
        created_at: Some(timestamp(Timestamp::from_micros(o.created_at))),
        certificate_kind: certificate_kind_to_pb(kind) as i32,
        issuer: o.issuer,
        auxiliary: o.auxiliary,
        eligibility_pending: o.eligibility_pending,
        reviewed_on: o.reviewed_on,
        area: o.area,
    })
}

/// A certificate kind as an API value.
pub fn certificate_kind_to_pb(k: CertificateKind) -> pb::CertificateKind {
    match k {
        CertificateKind::Enforcement => pb::CertificateKind::Enforcement,
        CertificateKind::Supervision => pb::CertificateKind::Supervision,
        CertificateKind::Sector => pb::CertificateKind::Sector,
    }
}

/// A certificate kind of a request; unspecified is the enforcement certificate (RULES C1).
pub fn certificate_kind_from_pb(v: i32) -> Result<CertificateKind> {
    match pb::CertificateKind::try_from(v) {
        Ok(pb::CertificateKind::Unspecified | pb::CertificateKind::Enforcement) => Ok(CertificateKind::Enforcement),
        Ok(pb::CertificateKind::Supervision) => Ok(CertificateKind::Supervision),
        Ok(pb::CertificateKind::Sector) => Ok(CertificateKind::Sector),
        Err(_) => Err(Error::invalid("certificate_kind", "unknown certificate kind")),
    }
}

/// A certificate event kind of a request (RULES C3–C5).
pub fn certificate_event_kind_from_pb(v: i32) -> Result<CertificateEventKind> {
    use pb::CertificateEventKind as P;
    Ok(match P::try_from(v) {
        Ok(P::EligibilityConfirmed) => CertificateEventKind::EligibilityConfirmed,
        Ok(P::Training) => CertificateEventKind::Training,
        Ok(P::ReviewPassed) => CertificateEventKind::ReviewPassed,
        Ok(P::ReviewFailed) => CertificateEventKind::ReviewFailed,
        Ok(P::Suspended) => CertificateEventKind::Suspended,
        Ok(P::Reinstated) => CertificateEventKind::Reinstated,
        Ok(P::Withdrawn) => CertificateEventKind::Withdrawn,
        Ok(P::Cancelled) => CertificateEventKind::Cancelled,
        Ok(P::LostReported) => CertificateEventKind::LostReported,
        Ok(P::Replaced) => CertificateEventKind::Replaced,
        Ok(P::Unspecified) | Err(_) => return Err(Error::invalid("kind", "a certificate event kind is required")),
    })
}

/// A certificate as supervisors see it, as an API message.
pub fn certificate_to_pb(v: CertificateView) -> Result<pb::Certificate> {
    let state = match v.state {
        CertificateState::Active => pb::CertificateState::Active,
        CertificateState::PendingEligibility => pb::CertificateState::PendingEligibility,
        CertificateState::NotValid => pb::CertificateState::NotValid,
        CertificateState::Suspended => pb::CertificateState::Suspended,
        CertificateState::ReviewOverdue => pb::CertificateState::ReviewOverdue,
        CertificateState::ReviewFailed => pb::CertificateState::ReviewFailed,
        CertificateState::Ended => pb::CertificateState::Ended,
    };
    Ok(pb::Certificate {
        state: state as i32,
        review_due: v.review_due.to_string(),
        expiring: v.expiring,
        training_hours: v.training_hours,
        upheld_complaints: 0,
        last_review: v.last_review.to_string(),
        officer: Some(officer_to_pb(v.officer)?),
    })
}

/// A principal row as an API message.
pub fn principal_to_pb(p: principal::Model) -> Result<pb::Principal> {
    let role = Role::parse(&p.role)
        .ok_or_else(|| Error::DataLoss(format!("principals.role of principal {} cannot be read", p.id)))?;
    Ok(pb::Principal {
        id: p.id.into(),
        name: p.name,
        role: role_to_pb(role) as i32,
        agency_id: p.agency_id.unwrap_or_default().into(),
        officer_id: p.officer_id.unwrap_or_default().into(),
        created_at: Some(timestamp(Timestamp::from_micros(p.created_at))),
    })
}

/// The domain form of an API case kind (`None`: unspecified or unknown).
pub fn case_kind_from_pb(value: i32) -> Option<CaseKind> {
    match pb::CaseKind::try_from(value).ok()? {
        pb::CaseKind::Penalty => Some(CaseKind::Penalty),
        pb::CaseKind::Licensing => Some(CaseKind::Licensing),
        pb::CaseKind::Compulsion => Some(CaseKind::Compulsion),
        pb::CaseKind::Inspection => Some(CaseKind::Inspection),
        pb::CaseKind::Other => Some(CaseKind::Other),
        pb::CaseKind::Unspecified => None,
    }
}

/// The API form of a case kind.
pub fn case_kind_to_pb(k: CaseKind) -> pb::CaseKind {
    match k {
        CaseKind::Penalty => pb::CaseKind::Penalty,
        CaseKind::Licensing => pb::CaseKind::Licensing,
        CaseKind::Compulsion => pb::CaseKind::Compulsion,
        CaseKind::Inspection => pb::CaseKind::Inspection,
        CaseKind::Other => pb::CaseKind::Other,
    }
}

/// The domain form of an API party type (`None`: unspecified or unknown).
pub fn party_kind_from_pb(value: i32) -> Option<PartyKind> {
    match pb::PartyType::try_from(value).ok()? {
        pb::PartyType::NaturalPerson => Some(PartyKind::NaturalPerson),
        pb::PartyType::LegalPerson => Some(PartyKind::LegalPerson),
        pb::PartyType::OtherOrganisation => Some(PartyKind::OtherOrganisation),
        pb::PartyType::IndividualBusiness => Some(PartyKind::IndividualBusiness),
        pb::PartyType::Unspecified => None,
    }
}

/// The API form of a party type.
pub fn party_kind_to_pb(k: PartyKind) -> pb::PartyType {
    match k {
        PartyKind::NaturalPerson => pb::PartyType::NaturalPerson,
        PartyKind::LegalPerson => pb::PartyType::LegalPerson,
        PartyKind::OtherOrganisation => pb::PartyType::OtherOrganisation,
        PartyKind::IndividualBusiness => pb::PartyType::IndividualBusiness,
    }
}

/// The domain form of an API service method (`None`: unspecified or unknown).
pub fn service_method_from_pb(value: i32) -> Option<ServiceMethod> {
    match pb::ServiceMethod::try_from(value).ok()? {
        pb::ServiceMethod::Direct => Some(ServiceMethod::Direct),
        pb::ServiceMethod::Leaving => Some(ServiceMethod::Leaving),
        pb::ServiceMethod::Mail => Some(ServiceMethod::Mail),
        pb::ServiceMethod::Electronic => Some(ServiceMethod::Electronic),
        pb::ServiceMethod::PublicNotice => Some(ServiceMethod::PublicNotice),
        pb::ServiceMethod::Entrusted => Some(ServiceMethod::Entrusted),
        pb::ServiceMethod::Unspecified => None,
    }
}

/// An OpenCase request as the record's command.
pub fn open_case(r: pb::OpenCaseRequest) -> Result<command::OpenCase> {
    let request_digest = request_digest(&r);
    Ok(command::OpenCase {
        opened_at: from_timestamp("opened_at", r.opened_at.as_ref())?,
        request_id: r.request_id,
        request_digest,
        agency_id: id("agency_id", r.agency_id)?,
        kind: case_kind_from_pb(r.kind),
        title: r.title,
        party: r.party.map(|p| command::NewParty {
            kind: party_kind_from_pb(p.r#type),
            name: p.name,
            credit_code: p.credit_code,
            id_type: p.id_type,
            id_number: p.id_number,
            legal_representative: p.legal_representative,
            address: p.address,
            phone: p.phone,
            is_minor: p.is_minor,
        }),
        handling_officer_ids: ids("handling_officer_ids", r.handling_officer_ids)?,
    })
}

/// An AppendEvent request as the record's command.
pub fn append_event(r: pb::AppendEventRequest) -> Result<command::AppendEvent> {
    Ok(command::AppendEvent {
        occurred_at: from_timestamp("occurred_at", r.occurred_at.as_ref())?,
        request_id: r.request_id,
        case_id: id("case_id", r.case_id)?,
        kind: event_kind_from_pb(r.kind),
        officer_ids: ids("officer_ids", r.officer_ids)?,
        evidence_ids: ids("evidence_ids", r.evidence_ids)?,
        text: r.text,
        location: r.location,
        division_code: r.division_code,
        summary_procedure: r.summary_procedure,
        summary_procedure_basis: r.summary_procedure_basis,
        in_case_handling_premises: r.in_case_handling_premises,
        missing_recording_reason: r.missing_recording_reason,
        service_method: service_method_from_pb(r.service_method),
        details: r.details.into_iter().collect::<BTreeMap<_, _>>(),
        certificates_shown: r.certificates_shown,
        power: r.power,
    })
}

/// An upload's header as the record's command.
pub fn upload_header(h: pb::UploadHeader) -> Result<command::UploadHeader> {
    Ok(command::UploadHeader {
        captured_at: from_timestamp("captured_at", h.captured_at.as_ref())?,
        upload_id: h.upload_id,
        case_id: id("case_id", h.case_id)?,
        media_type: h.media_type,
        device_id: h.device_id,
        device_reviewed: h.device_reviewed,
        officer_id: id("officer_id", h.officer_id)?,
        sha256: h.sha256,
        size: h.size,
        offset: h.offset,
    })
}

/// The API form of a party.
pub fn party_to_pb(p: Party) -> pb::Party {
    pb::Party {
        r#type: party_kind_to_pb(p.kind) as i32,
        name: p.name,
        credit_code: p.credit_code,
        id_type: p.id_type,
        id_number: p.id_number,
        legal_representative: p.legal_representative,
        address: p.address,
        phone: p.phone,
        is_minor: p.is_minor,
    }
}

/// A case as an API message.
pub fn case_to_pb(v: CaseView) -> pb::Case {
    let c = v.row;
    pb::Case {
        kind: case_kind_to_pb(v.kind) as i32,
        party: Some(party_to_pb(v.party)),
        handling_officer_ids: v.handling_officer_ids.into_iter().map(Into::into).collect(),
        opened_at: Some(micros(c.opened_at)),
        status: if v.closed { pb::CaseStatus::Closed } else { pb::CaseStatus::Open } as i32,
        event_count: c.event_count as u64,
        head_hash: c.head_hash,
        filed_at: c.filed_at.map(micros),
        decision_overdue: v.decision_overdue,
        legal_holds: v.legal_holds.iter().map(|p| p.code().to_owned()).collect(),
        legal_hold_releases_pending: v.releases_pending.iter().map(|p| p.code().to_owned()).collect(),
        id: c.id.into(),
        agency_id: c.agency_id.into(),
        title: c.title,
    }
}

/// An event row as an API message; a column that cannot be read is DATA_LOSS naming the column
/// and the event, never an empty list or an unspecified kind.
pub fn event_to_pb(e: event::Model) -> Result<pb::Event> {
    let row = |column: &str| format!("events.{column} of event {} (case {})", e.case_seq, e.case_id);
    let kind = EventKind::parse(&e.kind)
        .map(event_kind_to_pb)
        .ok_or_else(|| Error::DataLoss(format!("{} cannot be read", row("kind"))))?;
    let officer_ids = stored_officers(&e.officers, || row("officers"))?;
    let evidence = evidence_from_json(&e.evidence)
        .ok_or_else(|| Error::DataLoss(format!("{} cannot be read", row("evidence"))))?
        .into_iter()
        .map(|l| pb::EvidenceRef {
            evidence_id: l.evidence_id.into(),
            sha256: l.sha256.to_hex(),
            size: l.size,
            media_type: l.media_type,
        })
        .collect();
    Ok(pb::Event {
        officer_ids: officer_ids.into_iter().map(Into::into).collect(),
        evidence,
        case_id: e.case_id.into(),
        case_seq: e.case_seq as u64,
        global_seq: e.global_seq as u64,
        kind: kind as i32,
        occurred_at: Some(micros(e.occurred_at)),
        recorded_at: Some(micros(e.recorded_at)),
        actor_id: e.actor,
        request_id: e.request_id,
        payload_json: e.payload,
        prev_hash: e.prev_hash,
        hash: e.hash,
    })
}

/// An evidence row as an API message.
pub fn evidence_to_pb(e: evidence::Model) -> pb::Evidence {
    pb::Evidence {
        id: e.id.into(),
        case_id: e.case_id.into(),
        sha256: e.sha256,
        size: e.size as u64,
        media_type: e.media_type,
        captured_at: Some(micros(e.captured_at)),
        device_id: e.device_id,
        device_reviewed: e.device_reviewed,
        officer_id: e.officer_id.into(),
        uploaded_at: Some(micros(e.uploaded_at)),
        late: e.late,
        uploaded_by: e.uploaded_by.into(),
    }
}

/// A verification report as the API's answer.
pub fn report_to_pb(r: Report) -> pb::VerifyCaseResponse {
    pb::VerifyCaseResponse {
        ok: r.problems.is_empty(),
        events_checked: r.events_checked,
        evidence_checked: r.evidence_checked,
        head_hash: r.head_hash,
        problems: r
            .problems
            .into_iter()
            .map(|p| pb::VerifyProblem {
                case_seq: p.case_seq,
                evidence_id: p.evidence_id.unwrap_or_default().into(),
                message: p.message,
                table: p.table.to_owned(),
                row: p.row,
                column: p.column,
                data_loss: p.data_loss,
            })
            .collect(),
        checkpoint_size: r.checkpoint_size,
        events_in_checkpoint: r.events_in_checkpoint,
        destroyed_evidence: r.destroyed.into_iter().map(|(t, shared)| tombstone_to_pb(t, shared)).collect(),
    }
}

/// A destroyed item's tombstone as an API message.
pub fn tombstone_to_pb(t: Tombstone, bytes_shared: bool) -> pb::DestroyedEvidence {
    pb::DestroyedEvidence {
        evidence_id: t.evidence_id.into(),
        sha256: t.sha256,
        size: t.size,
        media_type: t.media_type,
        retention_rule: t.rule,
        case_class: t.case_class,
        retained_until: t.retained_until,
        batch_id: t.batch_id,
        case_seq: t.case_seq,
        bytes_shared,
    }
}

/// A DestroyEvidence request as the record's command.
pub fn destroy_evidence(r: pb::DestroyEvidenceRequest) -> Result<command::DestroyEvidence> {
    let request_digest = request_digest(&r);
    Ok(command::DestroyEvidence {
        request_id: r.request_id,
        request_digest,
        evidence_ids: ids("evidence_ids", r.evidence_ids)?,
        batch_id: r.batch_id,
        appraisal: r.appraisal,
        witnesses: r.witnesses,
        approval_reference: r.approval_reference,
    })
}

/// A SubmitDraft request as the review's command.
pub fn submit_draft(r: pb::SubmitDraftRequest) -> Result<review_command::SubmitDraft> {
    let request_digest = request_digest(&r);
    Ok(review_command::SubmitDraft {
        request_id: r.request_id,
        request_digest,
        case_id: id("case_id", r.case_id)?,
        penalties: r
            .penalties
            .into_iter()
            .map(|p| review_command::GivenPenalty { r#type: p.r#type, amount_fen: p.amount_fen })
            .collect(),
        confiscation_fen: r.confiscation_fen,
        legal_basis: r.legal_basis,
        facts: r.facts,
        discretion_reasoning: r.discretion_reasoning,
        hearing_held: r.hearing_held,
        outside_discretion_standard: r.outside_discretion_standard,
        ordinary_procedure: r.ordinary_procedure,
        licensing_action: r.licensing_action,
        major_public_interest: r.major_public_interest,
        major_rights_and_hearing: r.major_rights_and_hearing,
        complex_case: r.complex_case,
        required_by_law: r.required_by_law,
        evidence_ids: ids("evidence_ids", r.evidence_ids)?,
        collective_discussion_requested: r.collective_discussion_requested,
        violation_type: r.violation_type,
        decision_content: r.decision_content,
        state_secret: r.state_secret,
        trade_secret: r.trade_secret,
        personal_privacy: r.personal_privacy,
        other_persons: r.other_persons,
        special_regime: r.special_regime,
        restriction_ends: r.restriction_ends,
        licences_affected: r.licences_affected,
        licence_name: r.licence_name,
        licence_number: r.licence_number,
        licence_valid_from: r.licence_valid_from,
        licence_valid_to: r.licence_valid_to,
    })
}

/// The domain form of an API checklist item (`None`: unspecified or unknown).
pub fn checklist_item_from_pb(value: i32) -> Option<ChecklistItem> {
    use pb::ChecklistItem as P;
    Some(match P::try_from(value).ok()? {
        P::LawfulBody => ChecklistItem::LawfulBody,
        P::OfficersQualified => ChecklistItem::OfficersQualified,
        P::LawfulProcedure => ChecklistItem::LawfulProcedure,
        P::FactsAndEvidence => ChecklistItem::FactsAndEvidence,
        P::LawAndDiscretion => ChecklistItem::LawAndDiscretion,
        P::WithinPower => ChecklistItem::WithinPower,
        P::DocumentsComplete => ChecklistItem::DocumentsComplete,
        P::CrimeTransfer => ChecklistItem::CrimeTransfer,
        P::Unspecified => return None,
    })
}

/// The API form of a checklist item.
pub fn checklist_item_to_pb(item: ChecklistItem) -> pb::ChecklistItem {
    use pb::ChecklistItem as P;
    match item {
        ChecklistItem::LawfulBody => P::LawfulBody,
        ChecklistItem::OfficersQualified => P::OfficersQualified,
        ChecklistItem::LawfulProcedure => P::LawfulProcedure,
        ChecklistItem::FactsAndEvidence => P::FactsAndEvidence,
        ChecklistItem::LawAndDiscretion => P::LawAndDiscretion,
        ChecklistItem::WithinPower => P::WithinPower,
        ChecklistItem::DocumentsComplete => P::DocumentsComplete,
        ChecklistItem::CrimeTransfer => P::CrimeTransfer,
    }
}

/// A DecideReview request as the review's command.
pub fn decide_review(r: pb::DecideReviewRequest) -> Result<review_command::DecideReview> {
    let request_digest = request_digest(&r);
    let outcome = match pb::ReviewOutcome::try_from(r.outcome) {
        Ok(pb::ReviewOutcome::Approve) => Some(Outcome::Approve),
        Ok(pb::ReviewOutcome::ProblemsFound) => Some(Outcome::ProblemsFound),
        _ => None,
    };
    Ok(review_command::DecideReview {
        request_id: r.request_id,
        request_digest,
        draft_id: id("draft_id", r.draft_id)?,
        checklist: r
            .checklist
            .into_iter()
            .map(|c| review_command::GivenCheck {
                item: checklist_item_from_pb(c.item),
                passed: c.passed,
                comment: c.comment,
            })
            .collect(),
        outcome,
        opinion: r.opinion,
    })
}

/// A RecordCollectiveDiscussion request as the review's command.
pub fn record_discussion(r: pb::RecordCollectiveDiscussionRequest) -> Result<review_command::RecordDiscussion> {
    let request_digest = request_digest(&r);
    Ok(review_command::RecordDiscussion {
        occurred_at: from_timestamp("occurred_at", r.occurred_at.as_ref())?,
        request_id: r.request_id,
        request_digest,
        draft_id: id("draft_id", r.draft_id)?,
        minutes: r.minutes,
    })
}

/// An IssueDecision request as the review's command.
pub fn issue_decision(r: pb::IssueDecisionRequest) -> Result<review_command::IssueDecision> {
    let request_digest = request_digest(&r);
    Ok(review_command::IssueDecision {
        request_id: r.request_id,
        request_digest,
        draft_id: id("draft_id", r.draft_id)?,
        officer_ids: ids("officer_ids", r.officer_ids)?,
        document_prefix: r.document_prefix,
        power: r.power,
        joint_agency_ids: ids("joint_agency_ids", r.joint_agency_ids)?,
    })
}

/// A ReviseDecision request as the review's command.
pub fn revise_decision(r: pb::ReviseDecisionRequest) -> Result<review_command::ReviseDecision> {
    let request_digest = request_digest(&r);
    let revision = match pb::Revision::try_from(r.revision) {
        Ok(pb::Revision::Change) => Some(Revision::Change),
        Ok(pb::Revision::Revocation) => Some(Revision::Revocation),
        Ok(pb::Revision::ConfirmedIllegal) => Some(Revision::ConfirmedIllegal),
        Ok(pb::Revision::ConfirmedVoid) => Some(Revision::ConfirmedVoid),
        _ => None,
    };
    Ok(review_command::ReviseDecision {
        occurred_at: from_timestamp("occurred_at", r.occurred_at.as_ref())?,
        request_id: r.request_id,
        request_digest,
        case_id: id("case_id", r.case_id)?,
        revision,
        reason: r.reason,
        basis: r.basis,
    })
}

/// The API form of a draft status.
pub fn draft_status_to_pb(status: DraftStatus) -> pb::ReviewStatus {
    match status {
        DraftStatus::NotRequired => pb::ReviewStatus::NotRequired,
        DraftStatus::Pending => pb::ReviewStatus::Pending,
        DraftStatus::Approved => pb::ReviewStatus::Approved,
        DraftStatus::ProblemsFound => pb::ReviewStatus::ProblemsFound,
        DraftStatus::Superseded => pb::ReviewStatus::Superseded,
    }
}

/// A draft as an API message.
pub fn draft_to_pb(v: DraftView) -> pb::Draft {
    let d = v.row;
    pb::Draft {
        review_status: draft_status_to_pb(v.status) as i32,
        id: d.id.into(),
        case_id: d.case_id.into(),
        version: u32::try_from(d.version).unwrap_or(u32::MAX),
        digest: d.digest,
        content_json: d.content,
        major: d.major,
        matched_rules: v.matched.into_iter().map(|m| pb::MatchedRule { rule: m.rule, reason: m.reason }).collect(),
        collective_discussion_required: d.discussion_required,
        review_due_date: v.due_date,
        review_due_provisional: v.due_provisional,
        review_overdue: v.overdue,
        submitted_at: Some(micros(d.submitted_at)),
        submitted_by: d.submitted_by.into(),
        event_case_seq: d.event_case_seq as u64,
    }
}

/// A review opinion as an API message.
pub fn review_to_pb(v: ReviewView) -> pb::DecideReviewResponse {
    let r = v.row;
    pb::DecideReviewResponse {
        id: r.id,
        draft_id: r.draft_id.into(),
        case_id: r.case_id.into(),
        draft_digest: r.draft_digest,
        outcome: match v.outcome {
            Outcome::Approve => pb::ReviewOutcome::Approve,
            Outcome::ProblemsFound => pb::ReviewOutcome::ProblemsFound,
        } as i32,
        checklist: v
            .checklist
            .into_iter()
            .map(|c| pb::CheckResult {
                item: checklist_item_to_pb(c.item) as i32,
                passed: c.passed,
                comment: c.comment,
            })
            .collect(),
        opinion: r.opinion,
        reviewer_id: r.reviewer_id.into(),
        first_penalty_review: r.first_penalty_review,
        legal_qualification: r.legal_qualification,
        decided_at: Some(micros(r.decided_at)),
        event_case_seq: r.event_case_seq as u64,
    }
}

/// The domain form of an API notice section (`None`: unspecified or unknown).
pub fn notice_section_from_pb(value: i32) -> Option<NoticeSection> {
    use pb::NoticeSection as P;
    Some(match P::try_from(value).ok()? {
        P::Body => NoticeSection::Body,
        P::Duties => NoticeSection::Duties,
        P::Powers => NoticeSection::Powers,
        P::Procedures => NoticeSection::Procedures,
        P::ServiceGuides => NoticeSection::ServiceGuides,
        P::RandomInspections => NoticeSection::RandomInspections,
        P::SupervisionChannels => NoticeSection::SupervisionChannels,
        P::RemedyChannels => NoticeSection::RemedyChannels,
        P::Unspecified => return None,
    })
}

/// The API form of a notice section.
pub fn notice_section_to_pb(s: NoticeSection) -> pb::NoticeSection {
    use pb::NoticeSection as P;
    match s {
        NoticeSection::Body => P::Body,
        NoticeSection::Duties => P::Duties,
        NoticeSection::Powers => P::Powers,
        NoticeSection::Procedures => P::Procedures,
        NoticeSection::ServiceGuides => P::ServiceGuides,
        NoticeSection::RandomInspections => P::RandomInspections,
        NoticeSection::SupervisionChannels => P::SupervisionChannels,
        NoticeSection::RemedyChannels => P::RemedyChannels,
    }
}

/// A PutNotice request as publicity's command.
pub fn put_notice(r: pb::PutNoticeRequest) -> Result<PutNotice> {
    let request_digest = request_digest(&r);
    Ok(PutNotice {
        request_id: r.request_id,
        request_digest,
        agency_id: id("agency_id", r.agency_id)?,
        section: notice_section_from_pb(r.section),
        title: r.title,
        body: r.body,
        items: r
            .items
            .into_iter()
            .map(|i| notices::Item { title: i.title, body: i.body, legal_basis: i.legal_basis })
            .collect(),
    })
}

/// A notice section as an API message.
pub fn notice_to_pb(n: Notice) -> pb::Notice {
    pb::Notice {
        section: notice_section_to_pb(n.section) as i32,
        title: n.title,
        body: n.body,
        items: n
            .items
            .into_iter()
            .map(|i| pb::NoticeItem { title: i.title, body: i.body, legal_basis: i.legal_basis })
            .collect(),
        version: n.version,
        updated_at: Some(timestamp(n.updated_at)),
        agency_id: n.agency_id.into(),
    }
}

/// An agency's notices and roster as the API's answer.
pub fn notices_to_pb(n: Notices) -> pb::ListNoticesResponse {
    pb::ListNoticesResponse {
        agency_id: n.agency_id.into(),
        agency_name: n.agency_name,
        notices: n.notices.into_iter().map(notice_to_pb).collect(),
        roster: n
            .roster
            .into_iter()
            .map(|o| pb::RosterEntry { name: o.name, certificate_number: o.certificate_number, category: o.category })
            .collect(),
    }
}

/// The policy an administrator sets, from the API form.
pub fn policy_form(p: pb::PublicityPolicy) -> Result<PolicyForm> {
    Ok(PolicyForm {
        agency_id: id("agency_id", p.agency_id)?,
        regime: p.regime,
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
        mask_party_name: p.mask_party_name,
    })
}

/// An agency's policy as an API message.
pub fn policy_to_pb(policy: &Policy, agency_id: &str) -> pb::PublicityPolicy {
    let d = &policy.disclosure;
    pb::PublicityPolicy {
        agency_id: agency_id.to_owned(),
        penalty_days: d.penalty_days,
        licensing_days: d.licensing_days,
        other_days: d.other_days,
        auto_publish: d.auto_publish,
        exclude_warning_only: d.exclude_warning_only,
        exclude_summary_procedure: d.exclude_summary_procedure,
        small_fine_max_fen: d.small_fine_max_fen,
        short_months: d.short_months,
        long_months: d.long_months,
        special_regime_min_months: d.special_regime_min_months,
        early_stop_min_months: d.early_stop_min_months,
        mask_party_name: policy.masking.mask_party_name,
        regime: d.regime.code().to_owned(),
    }
}

/// A PublishDisclosure request as publicity's command.
pub fn publish_disclosure(r: pb::PublishDisclosureRequest) -> Result<PublishDisclosure> {
    let request_digest = request_digest(&r);
    Ok(PublishDisclosure {
        request_id: r.request_id,
        request_digest,
        disclosure_id: id("disclosure_id", r.disclosure_id)?,
    })
}

/// A WithdrawDisclosure request as publicity's command.
pub fn withdraw_disclosure(r: pb::WithdrawDisclosureRequest) -> Result<WithdrawDisclosure> {
    let request_digest = request_digest(&r);
    Ok(WithdrawDisclosure {
        request_id: r.request_id,
        request_digest,
        disclosure_id: id("disclosure_id", r.disclosure_id)?,
        reason: r.reason,
    })
}

/// A CorrectDisclosure request as publicity's command.
pub fn correct_disclosure(r: pb::CorrectDisclosureRequest) -> Result<CorrectDisclosure> {
    let request_digest = request_digest(&r);
    Ok(CorrectDisclosure {
        request_id: r.request_id,
        request_digest,
        disclosure_id: id("disclosure_id", r.disclosure_id)?,
        reason: r.reason,
        mask_names: r.mask_names,
        withdrawal_reason: r.withdrawal_reason,
    })
}

/// An EndPublication request as publicity's command.
pub fn end_publication(r: pb::EndPublicationRequest) -> Result<EndPublication> {
    let request_digest = request_digest(&r);
    Ok(EndPublication {
        request_id: r.request_id,
        request_digest,
        disclosure_id: id("disclosure_id", r.disclosure_id)?,
        reason: r.reason,
    })
}

/// The API form of a disclosure status.
pub fn disclosure_status_to_pb(s: DisclosureStatus) -> pb::DisclosureStatus {
    match s {
        DisclosureStatus::Pending => pb::DisclosureStatus::Pending,
        DisclosureStatus::Published => pb::DisclosureStatus::Published,
        DisclosureStatus::Excluded => pb::DisclosureStatus::Excluded,
        DisclosureStatus::WithdrawalPending => pb::DisclosureStatus::WithdrawalPending,
        DisclosureStatus::Withdrawn => pb::DisclosureStatus::Withdrawn,
        DisclosureStatus::Cancelled => pb::DisclosureStatus::Cancelled,
        DisclosureStatus::Ended => pb::DisclosureStatus::Ended,
        DisclosureStatus::Expired => pb::DisclosureStatus::Expired,
        DisclosureStatus::Held => pb::DisclosureStatus::Held,
    }
}

/// A disclosure's masked content as an API message.
pub fn content_to_pb(c: Content) -> pb::DisclosureContent {
    pb::DisclosureContent {
        party_name: c.party_name,
        party_category: c.party_category,
        party_credit_code: c.party_credit_code,
        legal_representative: c.legal_representative,
        id_type: c.id_type,
        id_number_masked: c.id_number_masked,
        document_number: c.document_number,
        violation_type: c.violation_type,
        facts: c.facts,
        legal_basis: c.legal_basis,
        penalty_types: c.penalty_types,
        content: c.content,
        fine_fen: c.fine_fen,
        confiscation_fen: c.confiscation_fen,
        licences_affected: c.licences_affected,
        decision_date: c.decision_date,
        agency_name: c.agency_name,
        agency_credit_code: c.agency_credit_code,
        licence_name: c.licence_name,
        licence_number: c.licence_number,
        valid_from: c.valid_from,
        valid_to: c.valid_to,
        licensing_action: c.licensing_action,
    }
}

/// A disclosure as an API message.
pub fn disclosure_to_pb(v: DisclosureView) -> pb::Disclosure {
    let d = v.row;
    pb::Disclosure {
        case_kind: case_kind_to_pb(v.case_kind) as i32,
        status: disclosure_status_to_pb(v.status) as i32,
        version: u32::try_from(d.version).unwrap_or(u32::MAX),
        content: Some(content_to_pb(v.content)),
        due_date: d.due_date,
        due_provisional: d.due_provisional,
        published_at: d.published_at.map(micros),
        publication_end: d.publication_end.unwrap_or_default(),
        exclusion_code: d.exclusion_code.unwrap_or_default(),
        exclusion_reason: d.exclusion_reason.unwrap_or_default(),
        revision: d.revision.unwrap_or_default(),
        withdrawal_reason: d.withdrawal_reason.unwrap_or_default(),
        withdrawal_due_date: d.withdrawal_due_date.unwrap_or_default(),
        withdrawal_due_provisional: d.withdrawal_due_provisional,
        withdrawn_at: d.withdrawn_at.map(micros),
        overdue: v.overdue,
        feed_seq: d.feed_seq.map_or(0, |s| s as u64),
        updated_at: Some(micros(d.updated_at)),
        correction_reason: d.correction_reason.unwrap_or_default(),
        ended_at: v.ended_at.map(micros),
        held_spans: v
            .held_spans
            .into_iter()
            .map(|h| pb::SuspiciousSpan {
                field: h.field,
                start: h.start,
                end: h.end,
                kind: h.kind,
                excerpt: h.excerpt,
            })
            .collect(),
        id: d.id.into(),
        agency_id: d.agency_id.into(),
        case_id: d.case_id.into(),
    }
}

fn counts_to_pb(c: Vec<Count>) -> Vec<pb::CountByName> {
    c.into_iter().map(|c| pb::CountByName { name: c.name, count: c.count }).collect()
}

/// An annual report as an API message.
pub fn annual_report_to_pb(r: AnnualReport) -> pb::GetAnnualReportResponse {
    pb::GetAnnualReportResponse {
        agency_id: r.agency_id.into(),
        agency_name: r.agency_name,
        year: r.year,
        cases_by_kind: counts_to_pb(r.cases_by_kind),
        decisions_by_kind: counts_to_pb(r.decisions_by_kind),
        penalties_by_type: counts_to_pb(r.penalties_by_type),
        licensing_by_action: counts_to_pb(r.licensing_by_action),
        fines_total_fen: r.fines_total_fen,
        confiscation_total_fen: r.confiscation_total_fen,
        major_decisions: r.major_decisions,
        reviews: r.reviews,
        reviews_with_problems: r.reviews_with_problems,
        revisions: counts_to_pb(r.revisions),
        withdrawals: r.withdrawals,
        disclosures_published: r.disclosures_published,
        disclosures_overdue: r.disclosures_overdue,
        disclosures_excluded: r.disclosures_excluded,
        tables: Some(tables_to_pb(&r.tables, r.amount_unit)),
        amount_unit: r.amount_unit.code().into(),
        publication: None,
        versions: Vec::new(),
        due_date: String::new(),
    }
}

/// A published version of the annual figures as an API message.
fn annual_publication_to_pb(p: Publication) -> pb::AnnualPublication {
    pb::AnnualPublication {
        version: p.version,
        snapshot_id: p.snapshot_id,
        published_at: Some(micros(p.published_at.micros())),
        published_by: p.published_by.into(),
        reason: p.reason,
    }
}

/// The annual figures as served (frozen or computed now) as an API message.
pub fn annual_view_to_pb(v: AnnualView) -> pb::GetAnnualReportResponse {
    pb::GetAnnualReportResponse {
        publication: v.publication.map(annual_publication_to_pb),
        versions: v.versions.into_iter().map(annual_publication_to_pb).collect(),
        due_date: v.due_date.to_string(),
        ..annual_report_to_pb(v.report)
    }
}

/// A PublishAnnualReport request as the use case's command.
pub fn publish_annual(r: pb::PublishAnnualReportRequest, agency_id: AgencyId) -> PublishAnnual {
    PublishAnnual { request_id: r.request_id, agency_id, year: r.year, reason: r.reason }
}

/// The statistics tables (RULES N2–N4) as an API message, amounts also shown in `unit`.
pub fn tables_to_pb(t: &Tables, unit: AmountUnit) -> pb::StatisticsTables {
    let p = &t.penalty;
    let l = &t.licensing;
    let c = &t.compulsion;
    pb::StatisticsTables {
        penalty: Some(pb::PenaltyTable {
            rows: p
                .rows()
                .map(|(category, r)| pb::PenaltyRow {
                    category: category.code().into(),
                    label: category.label().into(),
                    decisions: r.decisions,
                    amount_fen: r.amount_fen,
                    amount: unit.format(r.amount_fen),
                })
                .collect(),
            decisions: p.decisions(),
            amount_fen: p.amount_fen(),
            amount: unit.format(p.amount_fen()),
            fine_fen: p.fine_fen,
            confiscation_fen: p.confiscation_fen,
            no_penalty_decisions: p.no_penalty_decisions,
        }),
        licensing: Some(pb::LicensingTable {
            received: l.received,
            accepted: l.accepted,
            granted: l.granted,
            refused: l.refused,
            revoked: l.revoked,
            cancelled: l.cancelled,
            unclassified: l.unclassified,
        }),
        compulsion: Some(pb::CompulsionTable {
            sealing: c.sealing,
            seizure: c.seizure,
            sealing_or_seizure: c.sealing_or_seizure,
            freezing: c.freezing,
            other_measures: c.other_measures,
            late_payment: c.late_payment,
            transfer: c.transfer,
            auction: c.auction,
            restoration: c.restoration,
            substitute: c.substitute,
            other_executions: c.other_executions,
            court_applications: c.court_applications,
        }),
        inspection: Some(pb::InspectionTable {
            routine: t.inspection.routine,
            special: t.inspection.special,
            random: t.inspection.random,
            unspecified: t.inspection.unspecified,
        }),
    }
}

/// Statistics of a period as an API message, with their CSV when asked for.
pub fn statistics_to_pb(s: Statistics, csv: Option<Vec<u8>>) -> pb::GetStatisticsResponse {
    let unit = s.policy.amount_unit;
    pb::GetStatisticsResponse {
        from_date: s.from.to_string(),
        to_date: s.to.to_string(),
        amount_unit: unit.code().into(),
        revoked_counted: s.policy.count_revoked,
        provisional: s.provisional,
        total: Some(tables_to_pb(&s.total, unit)),
        agencies: s
            .agencies
            .into_iter()
            .map(|a| pb::AgencyStatistics {
                agency_id: a.agency_id.into(),
                agency_name: a.agency_name,
                tables: Some(tables_to_pb(&a.tables, unit)),
            })
            .collect(),
        csv: csv.map(bytes::Bytes::from).unwrap_or_default(),
    }
}

/// A supervision item as an API message.
pub fn overdue_item_to_pb(i: OverdueItem) -> pb::OverdueItem {
    let kind = match i.kind {
        OverdueKind::Disclosure => pb::OverdueKind::Disclosure,
        OverdueKind::Withdrawal => pb::OverdueKind::Withdrawal,
        OverdueKind::Review => pb::OverdueKind::Review,
        OverdueKind::Decision => pb::OverdueKind::Decision,
        OverdueKind::RecordingMissing => pb::OverdueKind::RecordingMissing,
        OverdueKind::InvalidCertificate => pb::OverdueKind::InvalidCertificate,
        OverdueKind::LateUpload => pb::OverdueKind::LateUpload,
        OverdueKind::HeldDisclosure => pb::OverdueKind::HeldDisclosure,
        OverdueKind::FilingMissing => pb::OverdueKind::FilingMissing,
        OverdueKind::FilingLate => pb::OverdueKind::FilingLate,
        OverdueKind::FilingReview => pb::OverdueKind::FilingReview,
        OverdueKind::FilingResponse => pb::OverdueKind::FilingResponse,
        OverdueKind::ComplaintAcceptance => pb::OverdueKind::ComplaintAcceptance,
        OverdueKind::ComplaintHandling => pb::OverdueKind::ComplaintHandling,
        OverdueKind::ComplaintNotification => pb::OverdueKind::ComplaintNotification,
        OverdueKind::ReportFiling => pb::OverdueKind::ReportFiling,
        OverdueKind::AnnualFigures => pb::OverdueKind::AnnualFigures,
        OverdueKind::FilingSupplement => pb::OverdueKind::FilingSupplement,
        OverdueKind::ComplaintRecommendation => pb::OverdueKind::ComplaintRecommendation,
        OverdueKind::CertificateNotShown => pb::OverdueKind::CertificateNotShown,
        OverdueKind::JurisdictionDispute => pb::OverdueKind::JurisdictionDispute,
        OverdueKind::FilingCaseFile => pb::OverdueKind::FilingCaseFile,
    };
    pb::OverdueItem {
        kind: kind as i32,
        agency_id: i.agency_id.into(),
        case_id: i.case_id.map(Into::into).unwrap_or_default(),
        subject_id: i.subject_id,
        due_date: i.due_date,
        detail: i.detail,
        occurred_at: Some(timestamp(i.occurred_at)),
    }
}

/// An id the request must carry, shape-checked before any lookup (`INVALID_ARGUMENT` naming
/// `field`), as the typed id the use cases take.
pub fn id<T: From<String>>(field: &str, value: String) -> Result<T> {
    limits::id(field, &value)?;
    Ok(T::from(value))
}

/// An id the request may leave empty (`None`), else as [`id`].
pub fn optional_id<T: From<String>>(field: &str, value: String) -> Result<Option<T>> {
    if value.is_empty() { Ok(None) } else { id(field, value).map(Some) }
}

/// A list of ids, each shape-checked, and the list's length.
pub fn ids<T: From<String>>(field: &str, values: Vec<String>) -> Result<Vec<T>> {
    limits::ids(field, &values)?;
    Ok(values.into_iter().map(T::from).collect())
}
