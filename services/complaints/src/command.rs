//! What the complaint use cases are asked: plain structs of domain values (decoded by the gRPC
//! edge or the public HTTP surface).

use sanxiang_domain::Timestamp;
use sanxiang_domain::complaints::{Channel, ComplaintType, Outcome, StepKind};
use sanxiang_domain::id::{AgencyId, CaseId, OfficerId};
use sanxiang_registry::Principal;

/// The reporter or complainant as submitted (RULES T5).
#[derive(Clone, Default)]
pub struct NewReporter {
    pub name: String,
    pub contact: String,
    pub anonymous: bool,
    pub secrecy_requested: bool,
}

impl std::fmt::Debug for NewReporter {
    /// The identity never reaches a log through a `Debug` print.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewReporter")
            .field("anonymous", &self.anonymous)
            .field("secrecy_requested", &self.secrecy_requested)
            .finish_non_exhaustive()
    }
}

/// A submission (RULES T1, T2).
#[derive(Debug, Clone, Default)]
pub struct NewComplaint {
    pub agency_id: AgencyId,
    /// `None`: a type the API does not know.
    pub types: Vec<Option<ComplaintType>>,
    /// `None`: not given or unknown (the public surface is always `internet`).
    pub channel: Option<Channel>,
    /// When it was received (oral intake); `None`: now.
    pub received_at: Option<Timestamp>,
    pub content: String,
    pub reporter: NewReporter,
    pub case_id: Option<CaseId>,
    pub officer_ids: Vec<OfficerId>,
    /// Makes a staff intake idempotent: `(request_id, digest of the request)`.
    pub request: Option<(String, String)>,
}

/// A file attached to a step (RULES T2: the complaint's attachments — a photo, a receipt, a
/// letter).
#[derive(Clone, Default)]
pub struct NewAttachment {
    pub name: String,
    pub media_type: String,
    pub content: Vec<u8>,
}

impl std::fmt::Debug for NewAttachment {
    /// The bytes may identify the reporter (RULES T5): never in a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAttachment").field("size", &self.content.len()).finish_non_exhaustive()
    }
}

/// The next step of a complaint.
#[derive(Debug, Clone, Default)]
pub struct NewStep {
    /// `None`: unknown.
    pub kind: Option<StepKind>,
    /// `None`: now.
    pub occurred_at: Option<Timestamp>,
    pub text: String,
    pub extension_days: u32,
    pub approved_by: Option<OfficerId>,
    pub case_filed: bool,
    pub case_id: Option<CaseId>,
    pub outcome: Option<Outcome>,
    /// `Concluded` (conduct complaint): who investigated (RULES T6).
    pub investigator_ids: Vec<OfficerId>,
    /// Makes the step idempotent: `(request_id, digest of the request)`.
    pub request: Option<(String, String)>,
    /// Files attached to the step (RULES T2).
    pub attachments: Vec<NewAttachment>,
}

/// Whether a view shows the reporter's identity.
#[derive(Debug, Clone, Copy)]
pub enum Reveal<'a> {
    /// Name and contact withheld.
    Masked,
    /// Shown to `who` (a handling office, checked by the caller), logged with `reason`.
    To { who: &'a Principal, reason: &'a str },
}
