//! Stored rows to API messages.

use sanxiang_proto::v1 as pb;
use sanxiang_store::entity::{agency, officer, principal};

use crate::auth::Role;
use crate::grpc::timestamp;
use crate::registry::PowerItem;
use sanxiang_domain::Timestamp;
use sanxiang_domain::lifecycle::EventKind;

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
pub fn agency_to_pb(a: agency::Model) -> sanxiang_domain::Result<pb::Agency> {
    let powers: Vec<PowerItem> = serde_json::from_str(&a.powers)
        .map_err(|_| sanxiang_domain::Error::DataLoss(format!("agencies.powers of agency {} cannot be read", a.id)))?;
    let policy = crate::registry::recording_policy(&a)?;
    Ok(pb::Agency {
        id: a.id,
        name: a.name,
        credit_code: a.credit_code,
        region: a.region,
        parent_id: a.parent_id.unwrap_or_default(),
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
    })
}

/// An officer row as an API message.
pub fn officer_to_pb(o: officer::Model) -> pb::Officer {
    let status = match o.status.as_str() {
        "active" => pb::OfficerStatus::Active,
        "suspended" => pb::OfficerStatus::Suspended,
        "revoked" => pb::OfficerStatus::Revoked,
        _ => pb::OfficerStatus::Unspecified,
    };
    pb::Officer {
        id: o.id,
        agency_id: o.agency_id,
        name: o.name,
        certificate_number: o.certificate_number,
        category: o.category,
        valid_from: o.valid_from,
        valid_until: o.valid_until,
        status: status as i32,
        legal_qualification: o.legal_qualification,
        has_prior_review_experience: o.has_prior_review_experience,
        created_at: Some(timestamp(Timestamp::from_micros(o.created_at))),
    }
}

/// A principal row as an API message.
pub fn principal_to_pb(p: principal::Model) -> pb::Principal {
    pb::Principal {
        id: p.id,
        name: p.name,
        role: Role::parse(&p.role).map_or(pb::Role::Unspecified, role_to_pb) as i32,
        agency_id: p.agency_id.unwrap_or_default(),
        officer_id: p.officer_id.unwrap_or_default(),
        created_at: Some(timestamp(Timestamp::from_micros(p.created_at))),
    }
}
