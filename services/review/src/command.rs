//! What the legal-review use cases are asked to do, as the edge decodes it from a request: plain
//! domain values, checked by the use cases (an enum value the edge does not know arrives as
//! `None` and is refused here with the field's name).

use sanxiang_domain::Timestamp;
use sanxiang_domain::id::{AgencyId, CaseId, DraftId, EvidenceId, OfficerId};
use sanxiang_domain::review::{ChecklistItem, Outcome, Revision};

/// A penalty of a draft as given: its type by its Chinese name and, for a fine, the amount.
#[derive(Debug, Clone, Default)]
pub struct GivenPenalty {
    pub r#type: String,
    pub amount_fen: u64,
}

/// A new draft version (SubmitDraft).
#[derive(Debug, Clone, Default)]
pub struct SubmitDraft {
    pub request_id: String,
    /// Digest of the request as received: a retry must repeat it.
    pub request_digest: String,
    pub case_id: CaseId,
    pub penalties: Vec<GivenPenalty>,
    pub confiscation_fen: u64,
    pub legal_basis: String,
    pub facts: String,
    pub discretion_reasoning: String,
    pub hearing_held: bool,
    pub outside_discretion_standard: bool,
    pub ordinary_procedure: bool,
    pub licensing_action: String,
    pub major_public_interest: bool,
    pub major_rights_and_hearing: bool,
    pub complex_case: bool,
    pub required_by_law: bool,
    pub evidence_ids: Vec<EvidenceId>,
    pub collective_discussion_requested: bool,
    pub violation_type: String,
    pub decision_content: String,
    pub state_secret: bool,
    pub trade_secret: bool,
    pub personal_privacy: bool,
    pub other_persons: Vec<String>,
    pub special_regime: bool,
    pub restriction_ends: String,
    pub licences_affected: String,
    pub licence_name: String,
    pub licence_number: String,
    pub licence_valid_from: String,
    pub licence_valid_to: String,
}

/// One item of a reviewer's checklist as given.
#[derive(Debug, Clone)]
pub struct GivenCheck {
    pub item: Option<ChecklistItem>,
    pub passed: bool,
    pub comment: String,
}

/// A reviewer's opinion (DecideReview).
#[derive(Debug, Clone, Default)]
pub struct DecideReview {
    pub request_id: String,
    pub request_digest: String,
    pub draft_id: DraftId,
    pub checklist: Vec<GivenCheck>,
    pub outcome: Option<Outcome>,
    pub opinion: String,
}

/// The minutes of a collective discussion (RecordCollectiveDiscussion).
#[derive(Debug, Clone, Default)]
pub struct RecordDiscussion {
    pub request_id: String,
    pub request_digest: String,
    pub draft_id: DraftId,
    pub minutes: String,
    pub occurred_at: Option<Timestamp>,
}

/// The decision on a draft version (IssueDecision).
#[derive(Debug, Clone, Default)]
pub struct IssueDecision {
    pub request_id: String,
    pub request_digest: String,
    pub draft_id: DraftId,
    pub officer_ids: Vec<OfficerId>,
    pub document_prefix: String,
    /// The name of the agency's power the decision is made under, or empty (RULES C8.field).
    pub power: String,
    /// The other agencies deciding jointly, the case's agency leading (RULES F3).
    pub joint_agency_ids: Vec<AgencyId>,
}

/// A change, revocation, or confirmation of illegality or voidness of a decision
/// (ReviseDecision).
#[derive(Debug, Clone, Default)]
pub struct ReviseDecision {
    pub request_id: String,
    pub request_digest: String,
    pub case_id: CaseId,
    pub revision: Option<Revision>,
    pub reason: String,
    pub basis: String,
    pub occurred_at: Option<Timestamp>,
}
