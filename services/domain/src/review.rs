//! Legal review of major decisions (重大执法决定法制审核, RULES L1–L8), free of I/O: the draft
//! digest, the review checklist and opinion, the decision gate, and document numbers.

use crate::canonical::Value;
use crate::digest::Sha256Digest;
use crate::error::{Error, Result};

/// Domain separation of draft digests from every other use of SHA-256 (docs/CHAIN.md §4.1).
pub const DRAFT_DIGEST_PREFIX: &[u8] = b"sanxiang/draft/v1\0";

/// The digest a review approval is bound to (RULES L3): SHA-256 over the prefix and the
/// canonical JSON of the draft's content.
pub fn draft_digest(content: &Value) -> Result<Sha256Digest> {
    let text = content.to_canonical_string().map_err(|e| Error::invalid("draft", e.to_string()))?;
    let mut bytes = Vec::with_capacity(DRAFT_DIGEST_PREFIX.len() + text.len());
    bytes.extend_from_slice(DRAFT_DIGEST_PREFIX);
    bytes.extend_from_slice(text.as_bytes());
    Ok(Sha256Digest::of(&bytes))
}

macro_rules! checklist {
    ($($variant:ident => $code:literal, $label:literal,)*) => {
        /// An item of the review checklist (RULES L4; 118号).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ChecklistItem { $(#[doc = $label] $variant,)* }

        impl ChecklistItem {
            /// Every item, in the order of the opinion.
            pub const ALL: [Self; 8] = [$(Self::$variant,)*];

            /// The stable code used in the record.
            pub fn code(self) -> &'static str {
                match self { $(Self::$variant => $code,)* }
            }

            /// What the reviewer checks.
            pub fn label(self) -> &'static str {
                match self { $(Self::$variant => $label,)* }
            }
        }
    };
}

checklist! {
    LawfulBody => "lawful_body", "执法主体是否合法",
    OfficersQualified => "officers_qualified", "执法人员是否具备执法资格",
    LawfulProcedure => "lawful_procedure", "执法程序是否合法",
    FactsAndEvidence => "facts_and_evidence", "案件事实是否清楚，证据是否合法充分",
    LawAndDiscretion => "law_and_discretion", "适用法律是否准确，裁量基准运用是否适当",
    WithinPower => "within_power", "是否超越执法机关法定权限",
    DocumentsComplete => "documents_complete", "执法文书是否完备、规范",
    CrimeTransfer => "crime_transfer", "是否涉嫌犯罪需要移送司法机关",
}

/// The result of one checklist item, with the reviewer's comment (required when it fails).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// The item checked.
    pub item: ChecklistItem,
    /// Whether the item passed.
    pub passed: bool,
    /// The reviewer's comment.
    pub comment: String,
}

/// The conclusion of the written opinion (法制审核意见书, RULES L5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 同意
    Approve,
    /// 存在问题: a new draft version must be submitted and reviewed again.
    ProblemsFound,
}

impl Outcome {
    /// The stable name used in the record and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::ProblemsFound => "problems_found",
        }
    }
}

/// Checks an opinion: every item of the checklist exactly once, a comment on every failed item,
/// an approval only when every item passed, a finding of problems only when one failed, and the
/// written opinion itself. Returns the results in checklist order.
pub fn validate_opinion(results: &[CheckResult], outcome: Outcome, opinion: &str) -> Result<Vec<CheckResult>> {
    let mut ordered = Vec::with_capacity(ChecklistItem::ALL.len());
    for item in ChecklistItem::ALL {
        let mut matching = results.iter().filter(|r| r.item == item);
        let Some(found) = matching.next() else {
            return Err(Error::invalid("checklist", format!("item {} ({}) is missing", item.code(), item.label())));
        };
        if matching.next().is_some() {
            return Err(Error::invalid("checklist", format!("item {} is given twice", item.code())));
        }
        if !found.passed && found.comment.trim().is_empty() {
            return Err(Error::invalid(
                format!("checklist.{}.comment", item.code()),
                "a failed item needs the reviewer's comment (RULES L4)",
            ));
        }
        ordered.push(CheckResult { item, passed: found.passed, comment: found.comment.trim().to_owned() });
    }
    let failed = ordered.iter().filter(|r| !r.passed).count();
    match outcome {
        Outcome::Approve if failed > 0 => {
            return Err(Error::invalid("outcome", "an approval (同意) needs every checklist item to pass"));
        }
        Outcome::ProblemsFound if failed == 0 => {
            return Err(Error::invalid(
                "outcome",
                "problems found (存在问题) needs at least one failed checklist item",
            ));
        }
        _ => {}
    }
    if opinion.trim().is_empty() {
        return Err(Error::invalid("opinion", "the written opinion (法制审核意见书) must not be empty"));
    }
    Ok(ordered)
}

/// The checklist as recorded in the `review_decided` event.
pub fn checklist_value(results: &[CheckResult]) -> Value {
    Value::Array(
        results
            .iter()
            .map(|r| {
                Value::object().with("item", r.item.code()).with("passed", r.passed).with("comment", r.comment.as_str())
            })
            .collect(),
    )
}

/// What the gate knows about a draft when a decision is to be issued on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GateInput {
    /// The draft is a major decision (RULES L2).
    pub major: bool,
    /// An approval (同意) bound to this draft's digest exists.
    pub approved: bool,
    /// The draft is the latest version of the case's decision.
    pub latest: bool,
    /// A collective discussion is required (catalog or case, RULES L6).
    pub discussion_required: bool,
    /// A collective discussion of this draft was recorded.
    pub discussion_recorded: bool,
}

/// The decision gate (RULES L1, L3, L6): the first missing step, named by its rule. The order of
/// acts (notice, statement, hearing record: RULES R2) is checked where every event is, by the
/// writer, against the committed state.
pub fn gate(input: GateInput) -> Result<()> {
    if !input.latest {
        return Err(Error::precondition(
            "L3.latest-draft",
            "a later draft version exists; a decision is issued on the latest version only",
        ));
    }
    if input.major && !input.approved {
        return Err(Error::precondition(
            "L1.review-required",
            "the draft is a major decision and has no legal-review approval (同意) bound to its digest (处罚法 Art. 58)",
        ));
    }
    if input.discussion_required && !input.discussion_recorded {
        return Err(Error::precondition(
            "L6.collective-discussion",
            "the decision needs a collective discussion (集体讨论) of this draft by the agency's leadership (处罚法 Art. 57)",
        ));
    }
    Ok(())
}

/// What decides whether a reviewer's review of a decision is a first 行政处罚 review (RULES G4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReviewerRecord {
    /// The draft is a 行政处罚 decision.
    pub penalty: bool,
    /// The reviewer holds the legal-profession qualification (法律职业资格).
    pub legal_qualification: bool,
    /// The reviewer is recorded as having decided 行政处罚 reviews before, outside this system.
    pub prior_review_experience: bool,
    /// 行政处罚 reviews the reviewer has already decided in this system (any outcome).
    pub reviews_decided_here: u64,
}

impl ReviewerRecord {
    /// Whether this is the reviewer's first 行政处罚 review: a penalty review with no earlier
    /// review here and no recorded experience from before.
    pub fn first_penalty_review(self) -> bool {
        self.penalty && !self.prior_review_experience && self.reviews_decided_here == 0
    }

    /// Only a first-time 行政处罚 reviewer must hold the 法律职业资格 (处罚法 Art. 58 ¶2: 初次从事
    /// 行政处罚决定法制审核的人员); refused naming `G4.legal-qualification`.
    pub fn check(self) -> Result<()> {
        if self.first_penalty_review() && !self.legal_qualification {
            return Err(Error::precondition(
                "G4.legal-qualification",
                "a reviewer's first review of a 行政处罚 decision needs the legal-profession qualification (法律职业资格, 处罚法 Art. 58 ¶2); a reviewer with earlier review experience may be recorded as such on the officer",
            ));
        }
        Ok(())
    }
}

/// The document number (文书号) of a decision: `<prefix>〔<year>〕第<n>号` (RULES L8).
pub fn document_number(prefix: &str, year: i32, n: i64) -> String {
    format!("{prefix}〔{year}〕第{n}号")
}

/// The default prefix of an agency's decision numbers: its name and the kind of decision
/// (罚决字 for penalties, 许决字 for licensing, 决字 otherwise).
pub fn default_document_prefix(agency_name: &str, case_kind: crate::lifecycle::CaseKind) -> String {
    use crate::lifecycle::CaseKind;
    let word = match case_kind {
        CaseKind::Penalty => "罚决字",
        CaseKind::Licensing => "许决字",
        CaseKind::Compulsion | CaseKind::Inspection | CaseKind::Other => "决字",
    };
    format!("{agency_name}{word}")
}

/// A revision of a decision: the trigger for withdrawing its publication (RULES P6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revision {
    /// 变更
    Change,
    /// 撤销
    Revocation,
    /// 确认违法
    ConfirmedIllegal,
    /// 确认无效
    ConfirmedVoid,
}

impl Revision {
    /// The stable name used in the record.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Change => "change",
            Self::Revocation => "revocation",
            Self::ConfirmedIllegal => "confirmed_illegal",
            Self::ConfirmedVoid => "confirmed_void",
        }
    }
}

/// The chain-level form of the gate (RULES L1, L3): the `case_seq` of every `decision` event whose
/// payload says `major` but which no earlier `review_decided` event approved with the same
/// `draft_digest`. `events` are `(case_seq, kind, payload)` in chain order. Empty for every
/// chain the server wrote.
pub fn unapproved_major_decisions<'a>(events: impl IntoIterator<Item = (u64, &'a str, &'a Value)>) -> Vec<u64> {
    let mut approved = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (seq, kind, payload) in events {
        let digest = payload.get("draft_digest").and_then(Value::as_str).unwrap_or_default();
        match kind {
            "review_decided" if payload.get("outcome").and_then(Value::as_str) == Some(Outcome::Approve.as_str()) => {
                approved.insert(digest.to_owned());
            }
            "decision" if payload.get("major").and_then(Value::as_bool) == Some(true) && !approved.contains(digest) => {
                out.push(seq);
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_first_time_penalty_reviewer_needs_the_qualification() {
        let first = ReviewerRecord {
            penalty: true,
            legal_qualification: false,
            prior_review_experience: false,
            reviews_decided_here: 0,
        };
        assert!(first.first_penalty_review());
        let Err(Error::FailedPrecondition { rule, .. }) = first.check() else { panic!("an unqualified first-timer") };
        assert_eq!(rule, "G4.legal-qualification");
        assert_eq!(ReviewerRecord { legal_qualification: true, ..first }.check(), Ok(()));
        // Experience from before this system, or a review decided here, makes it not the first.
        let experienced = ReviewerRecord { prior_review_experience: true, ..first };
        assert!(!experienced.first_penalty_review());
        assert_eq!(experienced.check(), Ok(()));
        let reviewed_here = ReviewerRecord { reviews_decided_here: 1, ..first };
        assert!(!reviewed_here.first_penalty_review());
        assert_eq!(reviewed_here.check(), Ok(()));
        // A review of another kind of decision needs no qualification.
        let licensing = ReviewerRecord { penalty: false, ..first };
        assert!(!licensing.first_penalty_review());
        assert_eq!(licensing.check(), Ok(()));
    }

    fn all(passed: bool) -> Vec<CheckResult> {
        ChecklistItem::ALL
            .into_iter()
            .map(|item| CheckResult {
                item, passed, comment: if passed { String::new() } else { "证据不足".into() }
            })
            .collect()
    }

    fn field(r: Result<Vec<CheckResult>>) -> String {
        match r {
            Err(Error::InvalidArgument { field, .. }) => field,
            other => panic!("expected invalid, got {other:?}"),
        }
    }

    #[test]
    fn opinions_are_complete_and_consistent() {
        assert_eq!(validate_opinion(&all(true), Outcome::Approve, "同意").unwrap().len(), 8);
        assert_eq!(field(validate_opinion(&all(true)[1..], Outcome::Approve, "同意")), "checklist");
        let mut twice = all(true);
        twice.push(twice[0].clone());
        assert_eq!(field(validate_opinion(&twice, Outcome::Approve, "同意")), "checklist");
        let mut silent = all(true);
        silent[3].passed = false;
        assert_eq!(
            field(validate_opinion(&silent, Outcome::ProblemsFound, "x")),
            "checklist.facts_and_evidence.comment"
        );
        assert_eq!(field(validate_opinion(&all(false), Outcome::Approve, "同意")), "outcome");
        assert_eq!(field(validate_opinion(&all(true), Outcome::ProblemsFound, "x")), "outcome");
        assert_eq!(field(validate_opinion(&all(true), Outcome::Approve, " ")), "opinion");
        assert!(validate_opinion(&all(false), Outcome::ProblemsFound, "存在问题").is_ok());
    }

    #[test]
    fn the_gate_names_the_first_missing_step() {
        let rule = |i: GateInput| match gate(i) {
            Err(Error::FailedPrecondition { rule, .. }) => rule,
            other => panic!("{other:?}"),
        };
        let ok = GateInput {
            major: true,
            approved: true,
            latest: true,
            discussion_required: true,
            discussion_recorded: true,
        };
        assert!(gate(ok).is_ok());
        assert!(gate(GateInput { major: false, approved: false, discussion_required: false, ..ok }).is_ok());
        assert_eq!(rule(GateInput { approved: false, ..ok }), "L1.review-required");
        assert_eq!(rule(GateInput { discussion_recorded: false, ..ok }), "L6.collective-discussion");
        assert_eq!(rule(GateInput { latest: false, ..ok }), "L3.latest-draft");
    }

    #[test]
    fn chains_show_major_decisions_without_approval() {
        let approve = Value::object().with("outcome", "approve").with("draft_digest", "aa");
        let problems = Value::object().with("outcome", "problems_found").with("draft_digest", "bb");
        let major = |d: &str| Value::object().with("major", true).with("draft_digest", d);
        let minor = Value::object().with("major", false).with("draft_digest", "cc");
        let (ma, mb) = (major("aa"), major("bb"));
        let ok = [(2, "review_decided", &approve), (3, "decision", &ma), (4, "decision", &minor)];
        assert!(unapproved_major_decisions(ok).is_empty());
        let bad = [(2, "review_decided", &problems), (3, "decision", &mb), (4, "decision", &ma)];
        assert_eq!(unapproved_major_decisions(bad), [3, 4]);
        // An approval after the decision does not count.
        assert_eq!(unapproved_major_decisions([(2, "decision", &ma), (3, "review_decided", &approve)]), [2]);
    }

    #[test]
    fn digests_bind_content_and_numbers_are_formatted() {
        let a = Value::object().with("facts", "甲").with("fine_fen", 100_i64);
        let b = Value::object().with("facts", "甲").with("fine_fen", 101_i64);
        assert_ne!(draft_digest(&a).unwrap(), draft_digest(&b).unwrap());
        assert_eq!(draft_digest(&a).unwrap(), draft_digest(&a.clone()).unwrap());
        assert_eq!(document_number("榕市监罚决字", 2026, 7), "榕市监罚决字〔2026〕第7号");
    }
}

/// Where a draft version stands in legal review, as stored in `drafts.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DraftStatus {
    /// Not a major decision: no legal review is required.
    NotRequired,
    /// A major decision's draft awaiting the reviewer's opinion.
    Pending,
    /// Reviewed and approved: the decision gate may pass for exactly this version.
    Approved,
    /// Reviewed and problems found: a new version must be submitted.
    ProblemsFound,
    /// Replaced by a newer version before it was reviewed.
    Superseded,
}

impl DraftStatus {
    /// Every status.
    pub const ALL: [Self; 5] =
        [Self::NotRequired, Self::Pending, Self::Approved, Self::ProblemsFound, Self::Superseded];

    /// The stable name stored in the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NotRequired => "not_required",
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::ProblemsFound => "problems_found",
            Self::Superseded => "superseded",
        }
    }

    /// The status a stored name denotes.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// A stored name, read back: an unknown name is a `DATA_LOSS` error naming the row.
    pub fn from_stored(s: &str, row: &str) -> Result<Self> {
        Self::parse(s).ok_or_else(|| Error::DataLoss(format!("{row} has an unknown draft status")))
    }

    /// The draft status an opinion with this outcome leaves.
    pub fn after(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Approve => Self::Approved,
            Outcome::ProblemsFound => Self::ProblemsFound,
        }
    }
}

impl std::fmt::Display for DraftStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<DraftStatus> for String {
    fn eq(&self, other: &DraftStatus) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<DraftStatus> for str {
    fn eq(&self, other: &DraftStatus) -> bool {
        self == other.as_str()
    }
}

impl Outcome {
    /// The outcome a stored name denotes.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Approve, Self::ProblemsFound].into_iter().find(|o| o.as_str() == s)
    }
}
