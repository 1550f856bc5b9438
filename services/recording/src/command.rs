//! What the record's use cases are asked to do, as the edge decodes it from a request: plain
//! domain values, checked by the use cases (the edge only decodes; an enum value it does not know
//! arrives as `None` and is refused here with the field's name).

use sanxiang_domain::id::{AgencyId, CaseId, EvidenceId, OfficerId};
use std::collections::BTreeMap;

use sanxiang_domain::Timestamp;
use sanxiang_domain::lifecycle::{CaseKind, EventKind, ServiceMethod};
use sanxiang_domain::party::PartyKind;

/// Opening a case (OpenCase).
#[derive(Debug, Clone, Default)]
pub struct OpenCase {
    pub request_id: String,
    /// Digest of the request as received (`error::request_digest`): a retry must repeat it.
    pub request_digest: String,
    pub agency_id: AgencyId,
    pub kind: Option<CaseKind>,
    pub title: String,
    pub party: Option<NewParty>,
    pub handling_officer_ids: Vec<OfficerId>,
    pub opened_at: Option<Timestamp>,
}

/// The party as given when a case is opened.
#[derive(Debug, Clone, Default)]
pub struct NewParty {
    pub kind: Option<PartyKind>,
    pub name: String,
    pub credit_code: String,
    pub id_type: String,
    pub id_number: String,
    pub legal_representative: String,
    pub address: String,
    pub phone: String,
    pub is_minor: bool,
}

/// An act recorded by a client (AppendEvent).
#[derive(Debug, Clone, Default)]
pub struct AppendEvent {
    pub request_id: String,
    pub case_id: CaseId,
    pub kind: Option<EventKind>,
    pub occurred_at: Option<Timestamp>,
    pub officer_ids: Vec<OfficerId>,
    pub evidence_ids: Vec<EvidenceId>,
    pub text: String,
    pub location: String,
    /// The administrative division code of the place (行政区划代码, RULES C8.area); empty: none.
    pub division_code: String,
    pub summary_procedure: bool,
    pub summary_procedure_basis: String,
    pub in_case_handling_premises: bool,
    pub missing_recording_reason: String,
    pub service_method: Option<ServiceMethod>,
    pub details: BTreeMap<String, String>,
    /// The acting officers showed their certificates (RULES P2, C7).
    pub certificates_shown: bool,
    /// The name of the power of the agency's power list the act uses (C8); empty: none named.
    pub power: String,
}

/// The first message of an upload (UploadEvidence).
#[derive(Debug, Clone, Default)]
pub struct UploadHeader {
    pub upload_id: String,
    pub case_id: CaseId,
    pub media_type: String,
    pub captured_at: Option<Timestamp>,
    pub device_id: String,
    pub device_reviewed: bool,
    pub officer_id: OfficerId,
    /// Expected lowercase hex SHA-256 of the whole content; empty if not known.
    pub sha256: String,
    pub size: Option<u64>,
    pub offset: u64,
}

/// Destroying evidence past its retention (DestroyEvidence, RULES K5).
#[derive(Debug, Clone, Default)]
pub struct DestroyEvidence {
    pub request_id: String,
    /// Digest of the request as received: a retry must repeat it.
    pub request_digest: String,
    pub evidence_ids: Vec<EvidenceId>,
    /// The destruction list (销毁清册) this is part of.
    pub batch_id: String,
    /// The appraisal committee's finding.
    pub appraisal: String,
    /// The supervising witnesses (监销人).
    pub witnesses: Vec<String>,
    /// The agency head's approval of the destruction list (e.g. its document number).
    pub approval_reference: String,
}
