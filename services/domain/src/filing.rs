//! Filing of major penalties with the supervision office (重大行政处罚备案审查, RULES F1–F9): what
//! must be filed (F1), with whom (F3), by when (F4), the review's outcomes and their deadlines
//! (F7). Every number, day type and routing choice the rules tag [default] or [comparable] is a
//! field of [`FilingPolicy`], per agency, with the Henan values (or the stated defaults) as its
//! default.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::calendar::{Deadline, WorkCalendar, add_calendar_days};
use crate::catalog::{PartyType, PenaltyItem, PenaltyType};
use crate::error::{Error, Result};
use crate::id::AgencyId;

/// 10,000 yuan (168号 Art. 3: a fine or confiscation on a citizen of "一万元以上"), in fen.
pub const HENAN_CITIZEN_FEN: u64 = 1_000_000;
/// 100,000 yuan (168号 Art. 3: on a legal person or other organisation, "十万元以上"), in fen.
pub const HENAN_ORGANISATION_FEN: u64 = 10_000_000;
/// The most days any period of the policy may have: a year, so a typo cannot make a deadline
/// that never comes.
pub const MAX_PERIOD_DAYS: u32 = 366;

/// How the days of a period are counted (RULES D1, D2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayType {
    /// Calendar days (the F4 default: no text says working days).
    Calendar,
    /// Working days of the shipped calendars (D4).
    Working,
}

impl DayType {
    /// The stable code.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Calendar => "calendar",
            Self::Working => "working",
        }
    }

    /// Parses [`Self::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Calendar, Self::Working].into_iter().find(|d| d.as_str() == s)
    }
}

/// The act the filing period counts from (RULES F4: 山西/运城 count from the decision, a 河北 city
/// from service, a 河北 district bureau from effectiveness).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartEvent {
    /// The date of the decision (the default).
    Decision,
    /// The date the decision was first served (the case's first `service` event); until then
    /// nothing is due.
    Service,
    /// The day the decision took effect: a decision takes effect when it is served (处罚法
    /// Art. 61 serves it under the civil-procedure rules), and one served by public notice
    /// (公告送达) is deemed served only when the notice period has run
    /// ([`FilingPolicy::public_notice_days`] after the notice). The earliest such day over the
    /// case's `service` events; until then nothing is due.
    Effectiveness,
}

impl StartEvent {
    /// Every start event.
    pub const ALL: [Self; 3] = [Self::Decision, Self::Service, Self::Effectiveness];

    /// The stable code.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Decision => "decision",
            Self::Service => "service",
            Self::Effectiveness => "effectiveness",
        }
    }

    /// Parses [`Self::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

/// A `service` event of the decision, as the start of the filing period needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Served {
    /// The day it was served (the notice published, for a public notice), in the agency's zone.
    pub on: NaiveDate,
    /// Served by public notice (公告送达).
    pub public_notice: bool,
}

/// The default days after a public notice at which the decision is deemed served (RULES F4
/// [default]: 民事诉讼法 Art. 95, which 处罚法 Art. 61 applies to service, deems it served 30 days
/// after the notice; that article is not among the texts RULES read, so the number is
/// configuration). Policies and filings stored before it existed read as the default.
pub const fn default_public_notice_days() -> u32 {
    30
}

/// What an agency is, for routing its filings (RULES F3: 168号 Art. 4 names governments,
/// departments and authorised organisations; 运城 adds vertically managed bodies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgencyKind {
    /// A people's government (人民政府): files with the government one level up (its parent).
    Government,
    /// A government department (政府部门): files with its own government's supervision office.
    Department,
    /// An organisation authorised by law or regulation (法律法规授权的组织): files with its own
    /// government and with the department it belongs to (its parent).
    Authorised,
    /// A vertically managed body (垂直管理机关): files with its own (local) government and with its
    /// superior body (its parent).
    Vertical,
}

impl AgencyKind {
    /// Every kind.
    pub const ALL: [Self; 4] = [Self::Government, Self::Department, Self::Authorised, Self::Vertical];

    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Government => "government",
            Self::Department => "department",
            Self::Authorised => "authorised",
            Self::Vertical => "vertical",
        }
    }

    /// Parses [`Self::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether an agency of this kind names the government it belongs to (all but a government,
    /// which is its own).
    pub const fn names_government(self) -> bool {
        !matches!(self, Self::Government)
    }

    /// Whether an agency of this kind files with its parent as well as its government (an
    /// authorised organisation's department, a vertical body's superior), so needs one.
    pub const fn files_with_parent(self) -> bool {
        matches!(self, Self::Government | Self::Authorised | Self::Vertical)
    }
}

/// Who files a joint decision (RULES F3: each body per its kind, 运城; or the lead body only,
/// 内蒙古 — configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JointFiling {
    /// The filing goes to the recipients of every deciding body, each routed per its kind [the
    /// default: the first of F3's two choices; no Henan text].
    Each,
    /// The filing goes to the lead (case-holding) body's recipients only.
    Lead,
}

impl JointFiling {
    /// The stable code.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Each => "each",
            Self::Lead => "lead",
        }
    }
}

/// An agency as F3 routes its filings: its kind, its parent, its government and the agencies
/// above it in the tree (nearest first).
#[derive(Debug, Clone, Copy)]
pub struct Routed<'a> {
    pub kind: Option<AgencyKind>,
    pub parent: Option<&'a AgencyId>,
    pub government: Option<&'a AgencyId>,
    pub overseers: &'a [AgencyId],
}

const fn default_joint() -> JointFiling {
    JointFiling::Each
}

/// A period: so many days of a type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub days: u32,
    pub day_type: DayType,
}

impl Period {
    /// Calendar days.
    pub const fn calendar(days: u32) -> Self {
        Self { days, day_type: DayType::Calendar }
    }

    /// Working days.
    pub const fn working(days: u32) -> Self {
        Self { days, day_type: DayType::Working }
    }

    /// The period's last day, starting (not counted, RULES D3) on `start`.
    pub fn due(self, start: NaiveDate, calendar: &WorkCalendar) -> Deadline {
        match self.day_type {
            DayType::Calendar => Deadline { date: add_calendar_days(start, self.days), provisional: false },
            DayType::Working => calendar.add_working_days(start, self.days),
        }
    }

    fn validate(self, field: &str) -> Result<()> {
        if self.days == 0 || self.days > MAX_PERIOD_DAYS {
            return Err(Error::invalid(format!("policy.{field}"), format!("between 1 and {MAX_PERIOD_DAYS} days")));
        }
        Ok(())
    }
}

/// The filing policy of an agency (RULES F1, F3, F4, F7): set per agency by an administrator,
/// the defaults otherwise. Thresholds are in fen; `None` never triggers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilingPolicy {
    /// F1: a fine on a citizen at or above this (inclusive, "以上").
    pub fine_citizen_fen: Option<u64>,
    /// F1: a fine on a legal person or other organisation at or above this.
    pub fine_organisation_fen: Option<u64>,
    /// F1: confiscation (illegal gains and property, together) from a citizen at or above this;
    /// tested separately from the fine, never summed with it.
    pub confiscation_citizen_fen: Option<u64>,
    /// F1: confiscation from an organisation at or above this.
    pub confiscation_organisation_fen: Option<u64>,
    /// F1: 责令停产停业 is filed whatever the amounts.
    pub suspend_production: bool,
    /// F1: 吊销许可证件 (licence or business licence revoked) is filed whatever the amounts.
    pub revoke_licence: bool,
    /// F4: the filing period.
    pub filing: Period,
    /// F4: the act it counts from.
    pub start: StartEvent,
    /// F4, start `effectiveness`: calendar days after a public notice at which the decision is
    /// deemed served, so in effect.
    #[serde(default = "default_public_notice_days")]
    pub public_notice_days: u32,
    /// F7: the review period, from the (latest) submission.
    pub review: Period,
    /// F7: the period for the agency's response to a correction recommendation (监督建议书).
    pub response: Period,
    /// F7 (b): the period for transferring a case to the judicial organs.
    pub transfer: Period,
    /// F7: the period for filing again with what a `supplement_required` outcome asked for, from
    /// that outcome [default: 5 working days; no text found]. Policies and filings stored before
    /// it existed read as the default.
    #[serde(default = "default_supplement")]
    pub supplement: Period,
    /// F6: the period within which the agency provides the full case file the filing body
    /// called for, from the call [default: 5 working days; F6 says the agency must provide it
    /// and names no period]. Policies and filings stored before it existed read as the default.
    #[serde(default = "default_case_file")]
    pub case_file: Period,
    /// F3: how many levels up the agency tree receive the filing: 1 = the parent (a department
    /// files with its own government's supervision office); 2 adds the level above (an
    /// authorised organisation files with its department and its government).
    pub recipient_levels: u32,
    /// F3: further recipients (a vertically managed body's own government).
    pub extra_recipients: Vec<AgencyId>,
    /// F3: who files a joint decision. Policies and filings stored before it existed read as the
    /// default.
    #[serde(default = "default_joint")]
    pub joint: JointFiling,
    /// F2: every decision that owes a filing must have passed the agency's legal review, so the
    /// agency's review catalog (L2) must cover F1's criteria; on, a decision owing a filing
    /// without an approving review is refused (`F2.catalog`). Off by default [default: a catalog
    /// missing them is a configuration error the rule names, not a reason to stop decisions until
    /// the agency chooses so]; policies stored before it existed read as off.
    #[serde(default)]
    pub review_first: bool,
}

impl Default for FilingPolicy {
    fn default() -> Self {
        Self {
            fine_citizen_fen: Some(HENAN_CITIZEN_FEN),
            fine_organisation_fen: Some(HENAN_ORGANISATION_FEN),
            confiscation_citizen_fen: Some(HENAN_CITIZEN_FEN),
            confiscation_organisation_fen: Some(HENAN_ORGANISATION_FEN),
            suspend_production: true,
            revoke_licence: true,
            filing: Period::calendar(15),
            start: StartEvent::Decision,
            public_notice_days: default_public_notice_days(),
            review: Period::calendar(15),
            response: Period::calendar(15),
            transfer: Period::calendar(7),
            supplement: default_supplement(),
            case_file: default_case_file(),
            recipient_levels: 1,
            extra_recipients: Vec::new(),
            joint: default_joint(),
            review_first: false,
        }
    }
}

/// The default period for a supplement (RULES F7 [default]).
pub const fn default_supplement() -> Period {
    Period::working(5)
}

/// The default period for providing the case file called for (RULES F6 [default]).
pub const fn default_case_file() -> Period {
    Period::working(5)
}

impl FilingPolicy {
    /// Checks the policy (`INVALID_ARGUMENT policy.<field>`).
    pub fn validate(&self) -> Result<()> {
        self.filing.validate("filing_days")?;
        self.review.validate("review_days")?;
        self.response.validate("response_days")?;
        self.transfer.validate("transfer_days")?;
        self.supplement.validate("supplement_days")?;
        self.case_file.validate("case_file_days")?;
        if self.public_notice_days == 0 || self.public_notice_days > MAX_PERIOD_DAYS {
            return Err(Error::invalid("policy.public_notice_days", format!("between 1 and {MAX_PERIOD_DAYS} days")));
        }
        if self.recipient_levels > 3 {
            return Err(Error::invalid("policy.recipient_levels", "at most 3 levels up the agency tree"));
        }
        if self.recipient_levels == 0 && self.extra_recipients.is_empty() {
            return Err(Error::invalid(
                "policy.recipient_levels",
                "with no extra recipient at least the parent (1) must receive filings (RULES F3)",
            ));
        }
        Ok(())
    }

    /// F3: the recipients of a filing by an agency whose overseers (nearest first) are
    /// `overseers`: the first [`Self::recipient_levels`] of them, then the extra recipients, each
    /// once.
    pub fn recipients(&self, overseers: &[AgencyId]) -> Vec<AgencyId> {
        self.route(&Routed { kind: None, parent: overseers.first(), government: None, overseers })
    }

    /// F3: the recipients of a filing by `agency`, by its kind — a government files with its
    /// parent (the government one level up), a department with its government, an authorised
    /// organisation or a vertically managed body with its government and its parent — then the
    /// extra recipients, each once. An agency without a kind files up the tree
    /// ([`Self::recipient_levels`] levels).
    pub fn route(&self, agency: &Routed<'_>) -> Vec<AgencyId> {
        let levels = usize::try_from(self.recipient_levels).unwrap_or(usize::MAX);
        let first: Vec<AgencyId> = match agency.kind {
            None => agency.overseers.iter().take(levels).cloned().collect(),
            Some(AgencyKind::Government) => agency.parent.into_iter().cloned().collect(),
            Some(AgencyKind::Department) => agency.government.or(agency.parent).into_iter().cloned().collect(),
            Some(AgencyKind::Authorised | AgencyKind::Vertical) => {
                agency.government.into_iter().chain(agency.parent).cloned().collect()
            }
        };
        let mut out: Vec<AgencyId> = Vec::new();
        for a in first.into_iter().chain(self.extra_recipients.iter().cloned()) {
            if !out.contains(&a) {
                out.push(a);
            }
        }
        out
    }

    /// F4: the day the filing period starts from, given the decision's day and its `service`
    /// events; `None` while the start event has not happened.
    pub fn start_day(&self, decided_on: NaiveDate, served: &[Served]) -> Option<NaiveDate> {
        match self.start {
            StartEvent::Decision => Some(decided_on),
            StartEvent::Service => served.iter().map(|s| s.on).min(),
            StartEvent::Effectiveness => served
                .iter()
                .map(|s| if s.public_notice { add_calendar_days(s.on, self.public_notice_days) } else { s.on })
                .min(),
        }
    }

    /// F2: with [`Self::review_first`] on, a decision owing a filing for `reasons` must have
    /// passed legal review (`approved`); `FAILED_PRECONDITION F2.catalog` names the reasons.
    pub fn check_review_first(&self, reasons: &[Reason], approved: bool) -> Result<()> {
        if !self.review_first || approved || reasons.is_empty() {
            return Ok(());
        }
        let why: Vec<String> = reasons.iter().map(|r| format!("{} ({})", r.words(), r.code())).collect();
        Err(Error::precondition(
            "F2.catalog",
            format!(
                "the decision owes a filing for {} and must pass the agency's legal review first (RULES F2), but the agency's review catalog does not make it major and it was not reviewed: add F1's criteria to the catalog (L2) and submit the draft for review",
                why.join(", ")
            ),
        ))
    }

    /// F1: why a penalty decision on a party of `party` must be filed (empty: it need not).
    pub fn assess(&self, party: PartyType, penalties: &[PenaltyItem], confiscation_fen: u64) -> Vec<Reason> {
        let (fine_min, confiscation_min) = match party {
            PartyType::NaturalPerson => (self.fine_citizen_fen, self.confiscation_citizen_fen),
            PartyType::Organisation => (self.fine_organisation_fen, self.confiscation_organisation_fen),
        };
        let mut reasons = Vec::new();
        let fine: u64 =
            penalties.iter().filter(|p| p.kind == PenaltyType::Fine).map(|p| p.amount_fen).fold(0, u64::saturating_add);
        if let Some(min) = fine_min
            && fine > 0
            && fine >= min
        {
            reasons.push(Reason::Fine { amount_fen: fine, threshold_fen: min });
        }
        if let Some(min) = confiscation_min
            && confiscation_fen > 0
            && confiscation_fen >= min
        {
            reasons.push(Reason::Confiscation { amount_fen: confiscation_fen, threshold_fen: min });
        }
        if self.suspend_production && penalties.iter().any(|p| p.kind == PenaltyType::SuspendProduction) {
            reasons.push(Reason::SuspendProduction);
        }
        if self.revoke_licence && penalties.iter().any(|p| p.kind == PenaltyType::RevokeLicence) {
            reasons.push(Reason::RevokeLicence);
        }
        reasons
    }
}

/// Why a decision must be filed (RULES F1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// A fine at or above the threshold for the party's kind.
    Fine { amount_fen: u64, threshold_fen: u64 },
    /// Confiscation worth at or above the threshold.
    Confiscation { amount_fen: u64, threshold_fen: u64 },
    /// 责令停产停业.
    SuspendProduction,
    /// 吊销许可证件.
    RevokeLicence,
}

impl Reason {
    /// The stable code, recorded in the decision's payload and shown by the API.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Fine { .. } => "F1.fine",
            Self::Confiscation { .. } => "F1.confiscation",
            Self::SuspendProduction => "F1.suspend_production",
            Self::RevokeLicence => "F1.revoke_licence",
        }
    }

    /// In words.
    pub fn words(&self) -> String {
        let yuan = |fen: &u64| format!("{}.{:02}", fen / 100, fen % 100);
        match self {
            Self::Fine { amount_fen, threshold_fen } => {
                format!("a fine of {} yuan, at or above {} yuan", yuan(amount_fen), yuan(threshold_fen))
            }
            Self::Confiscation { amount_fen, threshold_fen } => {
                format!("confiscation worth {} yuan, at or above {} yuan", yuan(amount_fen), yuan(threshold_fen))
            }
            Self::SuspendProduction => "an order to suspend production or business (责令停产停业)".into(),
            Self::RevokeLicence => "a licence revoked (吊销许可证件)".into(),
        }
    }
}

/// The outcome of a filing review (RULES F7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// (a) Registered and archived: no problem found.
    Recorded,
    /// The package is incomplete: the agency files again with what is missing, within
    /// [`FilingPolicy::supplement`].
    SupplementRequired,
    /// (c) Defects found: a recommendation to revoke, change or redo the decision, to which the
    /// agency responds within [`FilingPolicy::response`].
    CorrectionRecommended,
    /// (b) A crime is suspected: the agency transfers the case to the judicial organs within
    /// [`FilingPolicy::transfer`], and records that it did.
    TransferRequired,
    /// A 复议 or lawsuit on the same decision ends the review.
    TerminatedByDispute,
}

impl Outcome {
    /// Every outcome.
    pub const ALL: [Self; 5] = [
        Self::Recorded,
        Self::SupplementRequired,
        Self::CorrectionRecommended,
        Self::TransferRequired,
        Self::TerminatedByDispute,
    ];

    /// The stable code.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Recorded => "recorded",
            Self::SupplementRequired => "supplement_required",
            Self::CorrectionRecommended => "correction_recommended",
            Self::TransferRequired => "transfer_required",
            Self::TerminatedByDispute => "terminated_by_dispute",
        }
    }

    /// Parses [`Self::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// The period for what the outcome asks of the agency, if anything: its response to a
    /// correction or a transfer (recorded by `RecordFilingResponse`), or the supplement (a new
    /// submission).
    pub fn response_period(self, policy: &FilingPolicy) -> Option<Period> {
        match self {
            Self::CorrectionRecommended => Some(policy.response),
            Self::TransferRequired => Some(policy.transfer),
            Self::SupplementRequired => Some(policy.supplement),
            Self::Recorded | Self::TerminatedByDispute => None,
        }
    }

    /// Whether the agency answers the outcome with `RecordFilingResponse` (a supplement is
    /// answered by filing again).
    pub fn awaits_response(self) -> bool {
        matches!(self, Self::CorrectionRecommended | Self::TransferRequired)
    }
}

/// Where a filing stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FilingStatus {
    /// The decision must be filed and has not been.
    Owed,
    /// Filed; the filing body has not opened its review.
    Submitted,
    /// The filing body is reviewing it (the case is under legal hold, RULES K4).
    UnderReview,
    /// The filing body asked for more: the agency files again.
    SupplementRequired,
    /// The review asked for a correction or a transfer: the agency's response is awaited.
    AwaitingResponse,
    /// Nothing more is expected.
    Closed,
}

impl FilingStatus {
    /// Every status.
    pub const ALL: [Self; 6] = [
        Self::Owed,
        Self::Submitted,
        Self::UnderReview,
        Self::SupplementRequired,
        Self::AwaitingResponse,
        Self::Closed,
    ];

    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Owed => "owed",
            Self::Submitted => "submitted",
            Self::UnderReview => "under_review",
            Self::SupplementRequired => "supplement_required",
            Self::AwaitingResponse => "awaiting_response",
            Self::Closed => "closed",
        }
    }

    /// Parses [`Self::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// The status after a review concluded with `outcome`.
    pub fn after(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Recorded | Outcome::TerminatedByDispute => Self::Closed,
            Outcome::SupplementRequired => Self::SupplementRequired,
            Outcome::CorrectionRecommended | Outcome::TransferRequired => Self::AwaitingResponse,
        }
    }

    /// Checks that `step` may happen now; the refusal names the rule.
    pub fn check(self, step: Step) -> Result<()> {
        let ok = match step {
            Step::Submit => matches!(self, Self::Owed | Self::SupplementRequired),
            Step::OpenReview => self == Self::Submitted,
            Step::DecideReview => self == Self::UnderReview,
            Step::Respond => self == Self::AwaitingResponse,
        };
        if ok {
            return Ok(());
        }
        let (rule, what) = match step {
            Step::Submit => {
                ("F5.submit-when-owed", "a filing is submitted when owed or when a supplement was required")
            }
            Step::OpenReview => ("F7.review-after-submission", "a review is opened on a submitted filing"),
            Step::DecideReview => ("F7.decide-open-review", "a review is decided once it was opened"),
            Step::Respond => {
                ("F7.response-to-recommendation", "a response answers a correction or transfer recommendation")
            }
        };
        Err(Error::precondition(rule, format!("{what}; this filing is {}", self.as_str())))
    }
}

/// A step of the filing procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Submit,
    OpenReview,
    DecideReview,
    Respond,
}

/// A document of the filing package (RULES F5), referenced by its event in the case chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PackageItem {
    /// 处罚决定书 (the `decision` event). Mandatory.
    Decision,
    /// 法制审核意见 (the approving `review_decided` event, L5). Mandatory.
    ReviewOpinion,
    /// 集体讨论记录 (L6), if any.
    CollectiveDiscussion,
    /// 行政处罚告知书 (`notice_of_proposed_decision`). Mandatory for a penalty.
    ProposedPenaltyNotice,
    /// 听证申请, if any.
    HearingRequest,
    /// 听证笔录, if any (mandatory when a hearing was requested).
    HearingRecord,
    /// 结案报告 (`closing`), when it exists.
    ClosingReport,
}

impl PackageItem {
    /// Every item, in the order of the package.
    pub const ALL: [Self; 7] = [
        Self::Decision,
        Self::ReviewOpinion,
        Self::CollectiveDiscussion,
        Self::ProposedPenaltyNotice,
        Self::HearingRequest,
        Self::HearingRecord,
        Self::ClosingReport,
    ];

    /// The stable code.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Decision => "decision",
            Self::ReviewOpinion => "review_opinion",
            Self::CollectiveDiscussion => "collective_discussion",
            Self::ProposedPenaltyNotice => "proposed_penalty_notice",
            Self::HearingRequest => "hearing_request",
            Self::HearingRecord => "hearing_record",
            Self::ClosingReport => "closing_report",
        }
    }

    /// Whether a package without it is refused, given whether a hearing was requested.
    pub fn mandatory(self, hearing_requested: bool) -> bool {
        match self {
            Self::Decision | Self::ReviewOpinion | Self::ProposedPenaltyNotice => true,
            Self::HearingRecord => hearing_requested,
            Self::CollectiveDiscussion | Self::HearingRequest | Self::ClosingReport => false,
        }
    }

    /// What it is, for refusals.
    pub const fn words(self) -> &'static str {
        match self {
            Self::Decision => "the decision (处罚决定书)",
            Self::ReviewOpinion => "the approving legal-review opinion (法制审核意见, RULES F2, L5)",
            Self::CollectiveDiscussion => "the collective-discussion record (集体讨论记录)",
            Self::ProposedPenaltyNotice => "the notice of the proposed penalty (行政处罚告知书)",
            Self::HearingRequest => "the hearing request (听证申请)",
            Self::HearingRecord => "the hearing record (听证笔录)",
            Self::ClosingReport => "the case-closing report (结案报告)",
        }
    }
}

/// Checks a package: every mandatory item present (`FAILED_PRECONDITION F5.package-incomplete`
/// naming the first missing one).
pub fn check_package(present: &[PackageItem]) -> Result<()> {
    let hearing_requested = present.contains(&PackageItem::HearingRequest);
    let missing: Vec<&str> = PackageItem::ALL
        .into_iter()
        .filter(|i| i.mandatory(hearing_requested) && !present.contains(i))
        .map(PackageItem::words)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::precondition(
        "F5.package-incomplete",
        format!("the filing package lacks {}: it cannot be assembled from the case record", missing.join(", ")),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fine(fen: u64) -> Vec<PenaltyItem> {
        vec![PenaltyItem { kind: PenaltyType::Fine, amount_fen: fen }]
    }

    fn codes(r: &[Reason]) -> Vec<&'static str> {
        r.iter().map(Reason::code).collect()
    }

    #[test]
    fn fines_are_filed_from_the_threshold_inclusive_by_party_kind() {
        let p = FilingPolicy::default();
        for (party, min) in
            [(PartyType::NaturalPerson, HENAN_CITIZEN_FEN), (PartyType::Organisation, HENAN_ORGANISATION_FEN)]
        {
            assert!(p.assess(party, &fine(min - 1), 0).is_empty(), "{party:?} below");
            assert_eq!(codes(&p.assess(party, &fine(min), 0)), ["F1.fine"], "{party:?} at");
            assert_eq!(codes(&p.assess(party, &fine(min + 1), 0)), ["F1.fine"], "{party:?} above");
        }
        // Two fines count together: they are one decision's fine.
        let two = [PenaltyItem { kind: PenaltyType::Fine, amount_fen: 500_000 }; 2];
        assert_eq!(codes(&p.assess(PartyType::NaturalPerson, &two, 0)), ["F1.fine"]);
    }

    #[test]
    fn confiscation_is_tested_separately_and_never_summed_with_the_fine() {
        let p = FilingPolicy::default();
        for (party, min) in
            [(PartyType::NaturalPerson, HENAN_CITIZEN_FEN), (PartyType::Organisation, HENAN_ORGANISATION_FEN)]
        {
            assert!(p.assess(party, &[], min - 1).is_empty());
            assert_eq!(codes(&p.assess(party, &[], min)), ["F1.confiscation"]);
            assert_eq!(codes(&p.assess(party, &[], min + 1)), ["F1.confiscation"]);
            // Each below its threshold: not filed, though together they would pass it.
            assert!(p.assess(party, &fine(min - 1), min - 1).is_empty());
            assert_eq!(codes(&p.assess(party, &fine(min), min)), ["F1.fine", "F1.confiscation"]);
        }
    }

    #[test]
    fn suspension_and_revocation_are_filed_whatever_the_amount_unless_configured_off() {
        let mut p = FilingPolicy::default();
        let suspend = [PenaltyItem { kind: PenaltyType::SuspendProduction, amount_fen: 0 }];
        let revoke = [PenaltyItem { kind: PenaltyType::RevokeLicence, amount_fen: 0 }];
        let warn = [PenaltyItem { kind: PenaltyType::Warning, amount_fen: 0 }];
        assert_eq!(codes(&p.assess(PartyType::NaturalPerson, &suspend, 0)), ["F1.suspend_production"]);
        assert_eq!(codes(&p.assess(PartyType::Organisation, &revoke, 0)), ["F1.revoke_licence"]);
        assert!(p.assess(PartyType::Organisation, &warn, 0).is_empty());
        p.suspend_production = false;
        p.revoke_licence = false;
        assert!(p.assess(PartyType::NaturalPerson, &suspend, 0).is_empty());
        assert!(p.assess(PartyType::Organisation, &revoke, 0).is_empty());
    }

    #[test]
    fn thresholds_are_per_province_configuration() {
        // 安徽: 1,000 / 10,000 yuan.
        let anhui = FilingPolicy {
            fine_citizen_fen: Some(100_000),
            fine_organisation_fen: Some(1_000_000),
            ..FilingPolicy::default()
        };
        assert!(anhui.assess(PartyType::NaturalPerson, &fine(99_999), 0).is_empty());
        assert_eq!(codes(&anhui.assess(PartyType::NaturalPerson, &fine(100_000), 0)), ["F1.fine"]);
        assert!(anhui.assess(PartyType::Organisation, &fine(999_999), 0).is_empty());
        assert_eq!(codes(&anhui.assess(PartyType::Organisation, &fine(1_000_000), 0)), ["F1.fine"]);
        let off = FilingPolicy { fine_citizen_fen: None, ..FilingPolicy::default() };
        assert!(off.assess(PartyType::NaturalPerson, &fine(u64::MAX), 0).is_empty());
    }

    #[test]
    fn deadlines_count_calendar_or_working_days_from_the_day_after_the_start() {
        let cal = WorkCalendar::builtin();
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let p = FilingPolicy::default();
        // 15 calendar days from 2 March: 17 March (the start day is not counted, D3).
        assert_eq!(p.filing.due(d("2026-03-02"), &cal).date, d("2026-03-17"));
        // 15 working days from Monday 2 March 2026: three weeks later.
        let working = Period { days: 15, day_type: DayType::Working };
        let due = working.due(d("2026-03-02"), &cal);
        assert_eq!(due.date, d("2026-03-23"));
        assert!(!due.provisional);
        // Across the 2026 Labour Day rest days (1-5 May): later than by weekends only.
        assert!(working.due(d("2026-04-27"), &cal).date > d("2026-05-18"));
    }

    #[test]
    fn the_period_starts_from_the_decision_its_service_or_its_effectiveness() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let notice = Served { on: d("2026-03-05"), public_notice: true };
        let direct = Served { on: d("2026-04-20"), public_notice: false };
        let mut p = FilingPolicy::default();
        assert_eq!(p.start_day(d("2026-03-02"), &[]), Some(d("2026-03-02")));
        p.start = StartEvent::Service;
        assert_eq!(p.start_day(d("2026-03-02"), &[]), None);
        assert_eq!(p.start_day(d("2026-03-02"), &[notice, direct]), Some(d("2026-03-05")));
        p.start = StartEvent::Effectiveness;
        assert_eq!(p.start_day(d("2026-03-02"), &[]), None);
        // Deemed served 30 days after the notice; a direct service earlier takes effect at once.
        assert_eq!(p.start_day(d("2026-03-02"), &[notice]), Some(d("2026-04-04")));
        assert_eq!(p.start_day(d("2026-03-02"), &[notice, direct]), Some(d("2026-04-04")));
        let early = Served { on: d("2026-03-10"), public_notice: false };
        assert_eq!(p.start_day(d("2026-03-02"), &[notice, early]), Some(d("2026-03-10")));
        p.public_notice_days = 60;
        assert_eq!(p.start_day(d("2026-03-02"), &[notice]), Some(d("2026-05-04")));
        assert!(FilingPolicy { public_notice_days: 0, ..FilingPolicy::default() }.validate().is_err());
        for s in StartEvent::ALL {
            assert_eq!(StartEvent::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn recipients_follow_the_tree_and_extras_without_repeats() {
        let tree: Vec<AgencyId> = vec!["county-gov".into(), "city-gov".into()];
        let p = FilingPolicy::default();
        assert_eq!(p.recipients(&tree), ["county-gov"]);
        let two = FilingPolicy {
            recipient_levels: 2,
            extra_recipients: vec!["city-gov".into(), "vertical".into()],
            ..FilingPolicy::default()
        };
        assert_eq!(two.recipients(&tree), ["county-gov", "city-gov", "vertical"]);
        assert!(p.recipients(&[]).is_empty());
        assert!(FilingPolicy { recipient_levels: 0, ..FilingPolicy::default() }.validate().is_err());
        assert!(FilingPolicy { filing: Period::calendar(0), ..FilingPolicy::default() }.validate().is_err());
        assert!(FilingPolicy { case_file: Period::working(0), ..FilingPolicy::default() }.validate().is_err());
        assert_eq!(FilingPolicy::default().case_file, Period::working(5), "RULES F6 [default]");
        assert!(FilingPolicy::default().validate().is_ok());
    }

    #[test]
    fn review_first_refuses_an_unreviewed_decision_owing_a_filing_when_switched_on() {
        let mut p = FilingPolicy::default();
        let reasons = p.assess(PartyType::Organisation, &fine(HENAN_ORGANISATION_FEN), 0);
        assert!(p.check_review_first(&reasons, false).is_ok(), "off by default");
        p.review_first = true;
        let err = p.check_review_first(&reasons, false).unwrap_err().to_string();
        assert!(err.contains("F2.catalog") && err.contains("F1.fine"), "{err}");
        assert!(p.check_review_first(&reasons, true).is_ok());
        assert!(p.check_review_first(&[], false).is_ok());
    }

    #[test]
    fn recipients_follow_the_agency_kind() {
        let gov: AgencyId = "county-gov".into();
        let city: AgencyId = "city-gov".into();
        let dept: AgencyId = "bureau".into();
        let p = FilingPolicy::default();
        let routed = |kind, parent: &'static str, government: Option<&AgencyId>| {
            let parent: AgencyId = parent.into();
            let tree = vec![parent.clone(), city.clone()];
            p.route(&Routed { kind: Some(kind), parent: Some(&parent), government, overseers: &tree })
        };
        assert_eq!(routed(AgencyKind::Government, "city-gov", None), std::slice::from_ref(&city));
        assert_eq!(routed(AgencyKind::Department, "county-gov", Some(&gov)), std::slice::from_ref(&gov));
        assert_eq!(routed(AgencyKind::Authorised, "bureau", Some(&gov)), [gov.clone(), dept.clone()]);
        assert_eq!(
            routed(AgencyKind::Vertical, "province-bureau", Some(&gov)),
            [gov.clone(), "province-bureau".into()]
        );
        // Without a kind: up the tree, as before.
        let tree = vec![gov.clone(), city.clone()];
        assert_eq!(p.route(&Routed { kind: None, parent: tree.first(), government: None, overseers: &tree }), [gov]);
        for k in AgencyKind::ALL {
            assert_eq!(AgencyKind::parse(k.as_str()), Some(k));
        }
    }

    #[test]
    fn the_procedure_moves_only_forward_and_names_its_rule() {
        use FilingStatus as S;
        assert!(S::Owed.check(Step::Submit).is_ok());
        assert!(S::SupplementRequired.check(Step::Submit).is_ok());
        let rule = |r: Result<()>| match r {
            Err(Error::FailedPrecondition { rule, .. }) => rule,
            other => panic!("{other:?}"),
        };
        assert_eq!(rule(S::Submitted.check(Step::Submit)), "F5.submit-when-owed");
        assert_eq!(rule(S::Owed.check(Step::OpenReview)), "F7.review-after-submission");
        assert_eq!(rule(S::Submitted.check(Step::DecideReview)), "F7.decide-open-review");
        assert_eq!(rule(S::Closed.check(Step::Respond)), "F7.response-to-recommendation");
        assert_eq!(S::after(Outcome::Recorded), S::Closed);
        assert_eq!(S::after(Outcome::CorrectionRecommended), S::AwaitingResponse);
        assert_eq!(S::after(Outcome::SupplementRequired), S::SupplementRequired);
        for s in S::ALL {
            assert_eq!(S::parse(s.as_str()), Some(s));
        }
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
        }
    }

    #[test]
    fn a_package_needs_the_decision_the_opinion_and_the_notice_and_a_requested_hearings_record() {
        use PackageItem::*;
        assert!(check_package(&[Decision, ReviewOpinion, ProposedPenaltyNotice]).is_ok());
        let err = check_package(&[Decision, ProposedPenaltyNotice]).unwrap_err().to_string();
        assert!(err.contains("F5.package-incomplete") && err.contains("法制审核意见"), "{err}");
        let err = check_package(&[Decision, ReviewOpinion, ProposedPenaltyNotice, HearingRequest]).unwrap_err();
        assert!(err.to_string().contains("听证笔录"));
        assert!(
            check_package(&[Decision, ReviewOpinion, ProposedPenaltyNotice, HearingRequest, HearingRecord]).is_ok()
        );
    }
}
