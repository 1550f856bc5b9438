//! The case lifecycle: event kinds, the legal order of acts (RULES R2), and which acts need two
//! officers (G3) or an audio-video recording (R3).

use crate::error::{Error, Result};

/// The kind of an enforcement case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaseKind {
    /// 行政处罚
    Penalty,
    /// 行政许可
    Licensing,
    /// 行政强制
    Compulsion,
    /// 行政检查
    Inspection,
    /// 其他
    Other,
}

impl CaseKind {
    /// All kinds.
    pub const ALL: [Self; 5] = [Self::Penalty, Self::Licensing, Self::Compulsion, Self::Inspection, Self::Other];

    /// The name used in the canonical record and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Penalty => "penalty",
            Self::Licensing => "licensing",
            Self::Compulsion => "compulsion",
            Self::Inspection => "inspection",
            Self::Other => "other",
        }
    }

    /// Parses [`Self::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

macro_rules! event_kinds {
    ($($variant:ident => $name:literal,)*) => {
        /// A typed step of a case's lifecycle.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EventKind { $($variant,)* }

        impl EventKind {
            /// Every kind.
            pub const ALL: &'static [EventKind] = &[$(EventKind::$variant,)*];

            /// The name used in the canonical record (docs/CHAIN.md) and the database.
            pub fn as_str(self) -> &'static str {
                match self { $(EventKind::$variant => $name,)* }
            }

            /// Parses [`Self::as_str`].
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($name => Some(EventKind::$variant),)* _ => None }
            }
        }
    };
}

event_kinds! {
    CaseOpened => "case_opened",
    Filing => "filing",
    Inspection => "inspection",
    EvidenceCollection => "evidence_collection",
    Questioning => "questioning",
    Seizure => "seizure",
    ForcedDemolition => "forced_demolition",
    OnSiteEnforcement => "on_site_enforcement",
    NoticeOfProposedDecision => "notice_of_proposed_decision",
    StatementHeard => "statement_heard",
    StatementWaived => "statement_waived",
    StatementPeriodExpired => "statement_period_expired",
    HearingRequested => "hearing_requested",
    HearingRecord => "hearing_record",
    Decision => "decision",
    Service => "service",
    Execution => "execution",
    Closing => "closing",
    CertificateShown => "certificate_shown",
    RecordingInterrupted => "recording_interrupted",
    EvidenceAccessed => "evidence_accessed",
    EvidenceUploaded => "evidence_uploaded",
    Note => "note",
    Archived => "archived",
    DraftSubmitted => "draft_submitted",
    ReviewDecided => "review_decided",
    CollectiveDiscussion => "collective_discussion",
    DecisionRevised => "decision_revised",
    DisclosurePublished => "disclosure_published",
    DisclosureWithdrawn => "disclosure_withdrawn",
    DisclosureCorrected => "disclosure_corrected",
    PublicationEnded => "publication_ended",
    ReconsiderationApplied => "reconsideration_applied",
    ReconsiderationConcluded => "reconsideration_concluded",
    LawsuitFiled => "lawsuit_filed",
    LawsuitConcluded => "lawsuit_concluded",
    ComplaintReceived => "complaint_received",
    ComplaintConcluded => "complaint_concluded",
    FilingReviewOpened => "filing_review_opened",
    FilingReviewConcluded => "filing_review_concluded",
    EvidenceDestroyed => "evidence_destroyed",
    FilingSubmitted => "filing_submitted",
    FilingResponse => "filing_response",
    ReportLinked => "report_linked",
    FilingFileRequested => "filing_file_requested",
    FilingFileProvided => "filing_file_provided",
    EvidenceMarked => "evidence_marked",
    LegalHoldReleased => "legal_hold_released",
}

/// Why footage is kept permanently (RULES K3): the mark an `evidence_marked` event records in
/// its `mark` detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FootageMark {
    /// It shows obstruction of enforcement (妨碍执法).
    Obstruction,
    /// It concerns a major incident or another major or difficult matter (重大事件).
    MajorIncident,
}

impl FootageMark {
    /// Every mark.
    pub const ALL: [Self; 2] = [Self::Obstruction, Self::MajorIncident];

    /// The detail that carries the mark.
    pub const DETAIL: &'static str = "mark";

    /// The stable code recorded in the event's `mark` detail.
    pub fn code(self) -> &'static str {
        match self {
            Self::Obstruction => "obstruction",
            Self::MajorIncident => "major_incident",
        }
    }

    /// The name used in refusals.
    pub fn name(self) -> &'static str {
        match self {
            Self::Obstruction => "showing obstruction (妨碍执法)",
            Self::MajorIncident => "concerning a major incident (重大事件)",
        }
    }

    /// Parses [`Self::code`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.code() == s.trim())
    }
}

/// A procedure that holds a case while it is open (RULES K4): nothing in the case may be destroyed
/// until its end is recorded, whatever its retention, because the agency must produce its
/// evidence (复议法 Arts. 44, 48; 行诉法 Art. 67).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Procedure {
    /// 行政复议.
    Reconsideration,
    /// 行政诉讼.
    Lawsuit,
    /// A complaint against the enforcement conduct (投诉, RULES T).
    Complaint,
    /// The supervision office's review of a filed decision (备案审查, RULES F7).
    FilingReview,
}

impl Procedure {
    /// Every procedure.
    pub const ALL: [Self; 4] = [Self::Reconsideration, Self::Lawsuit, Self::Complaint, Self::FilingReview];

    /// The stable code (API).
    pub fn code(self) -> &'static str {
        match self {
            Self::Reconsideration => "reconsideration",
            Self::Lawsuit => "lawsuit",
            Self::Complaint => "complaint",
            Self::FilingReview => "filing_review",
        }
    }

    /// The name used in refusals.
    pub fn name(self) -> &'static str {
        match self {
            Self::Reconsideration => "reconsideration (行政复议)",
            Self::Lawsuit => "lawsuit (行政诉讼)",
            Self::Complaint => "complaint (投诉)",
            Self::FilingReview => "filing review (备案审查)",
        }
    }

    /// The act that opens it.
    pub fn opened_by(self) -> EventKind {
        match self {
            Self::Reconsideration => EventKind::ReconsiderationApplied,
            Self::Lawsuit => EventKind::LawsuitFiled,
            Self::Complaint => EventKind::ComplaintReceived,
            Self::FilingReview => EventKind::FilingReviewOpened,
        }
    }

    /// The act that records its end.
    pub fn concluded_by(self) -> EventKind {
        match self {
            Self::Reconsideration => EventKind::ReconsiderationConcluded,
            Self::Lawsuit => EventKind::LawsuitConcluded,
            Self::Complaint => EventKind::ComplaintConcluded,
            Self::FilingReview => EventKind::FilingReviewConcluded,
        }
    }

    /// The procedure an event of `kind` opens (`true`) or concludes (`false`), if any.
    pub fn of(kind: EventKind) -> Option<(Self, bool)> {
        Self::ALL.into_iter().find_map(|p| {
            if p.opened_by() == kind {
                Some((p, true))
            } else if p.concluded_by() == kind {
                Some((p, false))
            } else {
                None
            }
        })
    }

    /// Its bit in [`CaseState`] once its end is recorded and until the release is approved.
    const fn release_bit(self) -> u32 {
        match self {
            Self::Reconsideration => CaseState::RECONSIDERATION_RELEASE,
            Self::Lawsuit => CaseState::LAWSUIT_RELEASE,
            Self::Complaint => CaseState::COMPLAINT_RELEASE,
            Self::FilingReview => CaseState::FILING_REVIEW_RELEASE,
        }
    }

    /// Its bit in [`CaseState`] while open.
    const fn open_bit(self) -> u32 {
        match self {
            Self::Reconsideration => CaseState::RECONSIDERATION_OPEN,
            Self::Lawsuit => CaseState::LAWSUIT_OPEN,
            Self::Complaint => CaseState::COMPLAINT_OPEN,
            Self::FilingReview => CaseState::FILING_REVIEW_OPEN,
        }
    }

    /// Whether it challenges the decision itself, so it can only follow a decision and makes the
    /// case file permanent (RULES K2). A complaint may concern any conduct, decided or not.
    pub fn challenges_decision(self) -> bool {
        !matches!(self, Self::Complaint)
    }
}

impl EventKind {
    /// Kinds the server records itself; a client cannot append them with `AppendEvent`. The
    /// review kinds are recorded by `ReviewService` only, so a client cannot forge an approval;
    /// the complaint kinds by `ComplaintService` only, with the complaint they come from (a
    /// hold opened or ended by hand would name no complaint, RULES K4, T7).
    pub fn is_system(self) -> bool {
        matches!(
            self,
            Self::CaseOpened
                | Self::EvidenceAccessed
                | Self::EvidenceUploaded
                | Self::DraftSubmitted
                | Self::ReviewDecided
                | Self::CollectiveDiscussion
                | Self::DecisionRevised
                | Self::DisclosurePublished
                | Self::DisclosureWithdrawn
                | Self::DisclosureCorrected
                | Self::PublicationEnded
                | Self::EvidenceDestroyed
                | Self::FilingSubmitted
                | Self::FilingReviewOpened
                | Self::FilingReviewConcluded
                | Self::FilingResponse
                | Self::ComplaintReceived
                | Self::ComplaintConcluded
                | Self::ReportLinked
                | Self::FilingFileRequested
                | Self::FilingFileProvided
        )
    }

    /// Publicity acts on the case's decision (RULES P3, P6, P7), recorded by `PublicityService`.
    pub fn is_publicity(self) -> bool {
        matches!(
            self,
            Self::DisclosurePublished | Self::DisclosureWithdrawn | Self::DisclosureCorrected | Self::PublicationEnded
        )
    }

    /// Kinds that only `ReviewService.IssueDecision` appends, after the gate (RULES L1). Unlike
    /// [`Self::is_system`] kinds they are acts an agency may require a recording for.
    pub fn is_gated(self) -> bool {
        matches!(self, Self::Decision)
    }

    /// Investigation, inspection, evidence collection, questioning and compulsory measures need at
    /// least two officers (处罚法 Art. 42, 55; 强制法 Art. 18).
    pub fn needs_two_officers(self) -> bool {
        matches!(
            self,
            Self::Inspection
                | Self::EvidenceCollection
                | Self::Questioning
                | Self::Seizure
                | Self::ForcedDemolition
                | Self::OnSiteEnforcement
        )
    }

    /// On-site acts that directly affect liberty or major property must be recorded on audio or
    /// video whatever the agency configures (118号).
    pub fn always_needs_recording(self) -> bool {
        matches!(self, Self::Seizure | Self::ForcedDemolition)
    }
}

/// What has happened in a case so far, as far as the order of acts is concerned.
///
/// Stored with the case as a bit set and re-derivable from its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CaseState(u32);

impl CaseState {
    const FILED: u32 = 1 << 0;
    const NOTICE_GIVEN: u32 = 1 << 1;
    const STATEMENT_SETTLED: u32 = 1 << 2;
    const HEARING_REQUESTED: u32 = 1 << 3;
    const HEARING_RECORDED: u32 = 1 << 4;
    const DECIDED: u32 = 1 << 5;
    const SERVED: u32 = 1 << 6;
    const EXECUTED: u32 = 1 << 7;
    const CLOSED: u32 = 1 << 8;
    const RECONSIDERATION_OPEN: u32 = 1 << 9;
    const LAWSUIT_OPEN: u32 = 1 << 10;
    const COMPLAINT_OPEN: u32 = 1 << 11;
    const FILING_REVIEW_OPEN: u32 = 1 << 12;
    /// A 复议 or a lawsuit was ever recorded (RULES K2: the file is kept permanently).
    const CHALLENGED: u32 = 1 << 13;
    /// Bytes of an evidence item of the case were destroyed (RULES K5): acts that reference
    /// evidence are checked against the destruction records.
    const EVIDENCE_DESTROYED: u32 = 1 << 14;
    /// The end of a procedure was recorded (its final result) and its hold's release is not yet
    /// approved (RULES K4): the case stays held until a `legal_hold_released` event.
    const RECONSIDERATION_RELEASE: u32 = 1 << 15;
    const LAWSUIT_RELEASE: u32 = 1 << 16;
    const COMPLAINT_RELEASE: u32 = 1 << 17;
    const FILING_REVIEW_RELEASE: u32 = 1 << 18;
    const RELEASES: u32 =
        Self::RECONSIDERATION_RELEASE | Self::LAWSUIT_RELEASE | Self::COMPLAINT_RELEASE | Self::FILING_REVIEW_RELEASE;

    /// From the stored bit set.
    pub fn from_bits(bits: i64) -> Self {
        Self(u32::try_from(bits).unwrap_or(0))
    }

    /// The bit set to store.
    pub fn bits(self) -> i64 {
        i64::from(self.0)
    }

    fn has(self, flag: u32) -> bool {
        self.0 & flag != 0
    }

    /// Whether the case has been filed (立案).
    pub fn filed(self) -> bool {
        self.has(Self::FILED)
    }

    /// Whether a decision has been made.
    pub fn decided(self) -> bool {
        self.has(Self::DECIDED)
    }

    /// Whether a hearing was requested or its record made (处罚法 Art. 63-65).
    pub fn hearing_in_record(self) -> bool {
        self.has(Self::HEARING_REQUESTED) || self.has(Self::HEARING_RECORDED)
    }

    /// Whether the case is closed.
    pub fn closed(self) -> bool {
        self.has(Self::CLOSED)
    }

    /// The procedures open now: opened and their end not recorded (`Case.legal_holds`).
    pub fn holds(self) -> Vec<Procedure> {
        Procedure::ALL.into_iter().filter(|p| self.has(p.open_bit())).collect()
    }

    /// The procedures whose end (final result) is recorded and whose hold's release awaits its
    /// approval (RULES K4).
    pub fn releases_pending(self) -> Vec<Procedure> {
        Procedure::ALL.into_iter().filter(|p| self.has(p.release_bit())).collect()
    }

    /// Everything that keeps the case from destruction (RULES K4): the open procedures and those
    /// whose release is not approved yet.
    pub fn held_by(self) -> Vec<Procedure> {
        Procedure::ALL.into_iter().filter(|p| self.has(p.open_bit()) || self.has(p.release_bit())).collect()
    }

    /// Whether a 复议 or a lawsuit was ever recorded.
    pub fn challenged(self) -> bool {
        self.has(Self::CHALLENGED)
    }

    /// Whether the bytes of any evidence item of the case were destroyed.
    pub fn evidence_destroyed(self) -> bool {
        self.has(Self::EVIDENCE_DESTROYED)
    }

    /// The state after an event of `kind`.
    pub fn after(self, kind: EventKind) -> Self {
        if let Some((p, opens)) = Procedure::of(kind) {
            let challenged = if matches!(p, Procedure::Reconsideration | Procedure::Lawsuit) && opens {
                Self::CHALLENGED
            } else {
                0
            };
            return if opens {
                Self(self.0 | p.open_bit() | challenged)
            } else {
                Self((self.0 & !p.open_bit()) | p.release_bit())
            };
        }
        if kind == EventKind::LegalHoldReleased {
            return Self(self.0 & !Self::RELEASES);
        }
        let flag = match kind {
            EventKind::Filing => Self::FILED,
            EventKind::NoticeOfProposedDecision => Self::NOTICE_GIVEN,
            EventKind::StatementHeard | EventKind::StatementWaived | EventKind::StatementPeriodExpired => {
                Self::STATEMENT_SETTLED
            }
            EventKind::HearingRequested => Self::HEARING_REQUESTED,
            EventKind::HearingRecord => Self::HEARING_RECORDED,
            EventKind::Decision => Self::DECIDED,
            EventKind::Service => Self::SERVED,
            EventKind::Execution => Self::EXECUTED,
            EventKind::Closing => Self::CLOSED,
            EventKind::EvidenceDestroyed => Self::EVIDENCE_DESTROYED,
            _ => 0,
        };
        Self(self.0 | flag)
    }

    /// Checks that an event of `kind` may follow in a case of `case_kind` (RULES R2). The error
    /// names the rule that forbids it.
    pub fn check_next(self, case_kind: CaseKind, kind: EventKind) -> Result<()> {
        let refuse = |rule: &str, message: &str| Err(Error::precondition(rule, message));
        // A decision may be changed, revoked or found illegal or void (复议, 诉讼) long after the
        // case was closed; the record must still receive it (RULES P6).
        // So may a challenge, a complaint or a filing review and their ends (RULES K4), and the
        // destruction of what is past its retention (K5), years after the closing.
        if self.closed()
            && !kind.is_publicity()
            && Procedure::of(kind).is_none()
            && !matches!(
                kind,
                EventKind::EvidenceAccessed
                    | EventKind::Archived
                    | EventKind::DecisionRevised
                    | EventKind::EvidenceDestroyed
                    | EventKind::FilingSubmitted
                    | EventKind::FilingResponse
                    | EventKind::FilingFileRequested
                    | EventKind::FilingFileProvided
                    | EventKind::EvidenceMarked
                    | EventKind::LegalHoldReleased
            )
        {
            return refuse(
                "R2.case-closed",
                "the case is closed: only evidence access, archiving, decision revisions, publicity, challenges, complaints, filings, filing reviews and destruction may be recorded",
            );
        }
        if let Some((p, opens)) = Procedure::of(kind) {
            return self.check_procedure(p, opens);
        }
        match kind {
            EventKind::CaseOpened => refuse("R2.case-opened", "a case is opened only once, by OpenCase"),
            EventKind::Filing if self.filed() => refuse("R2.filed-once", "the case is already filed"),
            EventKind::NoticeOfProposedDecision if !self.filed() => {
                refuse("R2.notice-after-filing", "the notice of a proposed decision needs a filed case")
            }
            EventKind::StatementHeard | EventKind::StatementWaived | EventKind::StatementPeriodExpired
                if !self.has(Self::NOTICE_GIVEN) =>
            {
                refuse("R2.statement-after-notice", "statement and defence follow the notice of the proposed decision")
            }
            EventKind::HearingRequested if !self.has(Self::NOTICE_GIVEN) => {
                refuse("R2.hearing-after-notice", "a hearing is requested after the notice of the proposed decision")
            }
            EventKind::HearingRecord if !self.has(Self::HEARING_REQUESTED) => {
                refuse("R2.hearing-record-after-request", "a hearing record needs a hearing request")
            }
            EventKind::Decision => self.check_decision(case_kind),
            EventKind::Service if !self.decided() => refuse("R2.service-after-decision", "service needs a decision"),
            kind if kind.is_publicity() && !self.decided() => {
                refuse("R2.publicity-after-decision", "only a decision that was made is published or withdrawn")
            }
            EventKind::DecisionRevised if !self.decided() => {
                refuse("R2.revision-after-decision", "only a decision that was made can be changed or revoked")
            }
            EventKind::Execution if !self.has(Self::SERVED) => {
                refuse("R2.execution-after-service", "execution needs the decision to have been served")
            }
            // Checked again here, under the append lock, so a hold recorded meanwhile still
            // stops a destruction (RULES K4).
            EventKind::EvidenceDestroyed if !self.held_by().is_empty() => {
                let names: Vec<&str> = self.held_by().iter().map(|p| p.name()).collect();
                refuse(
                    "K4.legal-hold",
                    &format!(
                        "the case is under legal hold by its {} (open, or its release not approved): nothing in it may be destroyed",
                        names.join(", ")
                    ),
                )
            }
            // A hold is released only once the procedure's final result is recorded (RULES K4).
            EventKind::LegalHoldReleased if self.releases_pending().is_empty() => refuse(
                "K4.final-result",
                "no procedure of this case has its final result recorded and its release pending: record the end (e.g. lawsuit_concluded) first",
            ),
            // Filing is after-the-fact supervision of a decision (RULES F4), by FilingService.
            EventKind::FilingSubmitted
            | EventKind::FilingResponse
            | EventKind::FilingFileRequested
            | EventKind::FilingFileProvided
                if !self.decided() =>
            {
                refuse("R2.filing-after-decision", "only a decision that was made is filed")
            }
            EventKind::Archived if !self.closed() => {
                refuse("R2.archive-after-closing", "only a closed case is archived")
            }
            _ => Ok(()),
        }
    }

    /// A procedure of RULES K4 opens after the decision it challenges (a complaint at any time),
    /// once at a time, and ends only after it opened.
    fn check_procedure(self, p: Procedure, opens: bool) -> Result<()> {
        let open = self.has(p.open_bit());
        if opens && p.challenges_decision() && !self.decided() {
            return Err(Error::precondition(
                "R2.challenge-after-decision",
                format!("a {} concerns a decision, and the case has none", p.name()),
            ));
        }
        if opens && open {
            return Err(Error::precondition(
                "R2.procedure-open",
                format!("a {} is already open in this case; record its end first", p.name()),
            ));
        }
        if !opens && !open {
            return Err(Error::precondition(
                "R2.procedure-end-after-opening",
                format!("no {} is open in this case", p.name()),
            ));
        }
        Ok(())
    }

    fn check_decision(self, case_kind: CaseKind) -> Result<()> {
        let refuse = |rule: &str, message: &str| Err(Error::precondition(rule, message));
        if !self.filed() {
            return refuse("R2.decision-after-filing", "a decision needs a filed case");
        }
        if self.decided() {
            return refuse("R2.decided-once", "the case already has a decision; record a revision instead");
        }
        if case_kind == CaseKind::Penalty {
            if !self.has(Self::NOTICE_GIVEN) {
                return refuse(
                    "R2.notice-before-penalty",
                    "the party must be notified of the proposed penalty, its facts, reasons, basis and the party's rights (处罚法 Art. 44, 45, 62)",
                );
            }
            // At a hearing the party states and defends its case (处罚法 Art. 64 (七)), so a
            // hearing record also settles the statement.
            if !self.has(Self::STATEMENT_SETTLED) && !self.has(Self::HEARING_RECORDED) {
                return refuse(
                    "R2.statement-before-penalty",
                    "the party's statement and defence must be heard (separately or at a hearing), expressly waived, or its period expired (处罚法 Art. 62, 64)",
                );
            }
        }
        if self.has(Self::HEARING_REQUESTED) && !self.has(Self::HEARING_RECORDED) {
            return refuse(
                "R2.hearing-before-decision",
                "a hearing was requested; the hearing record is missing (处罚法 Art. 63-65)",
            );
        }
        Ok(())
    }
}

/// Whether a media type is an audio or video recording.
pub fn is_audio_video(media_type: &str) -> bool {
    let t = media_type.trim().to_ascii_lowercase();
    t.starts_with("audio/") || t.starts_with("video/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(kinds: &[EventKind]) -> CaseState {
        kinds.iter().fold(CaseState::default(), |s, k| s.after(*k))
    }

    fn rule(r: Result<()>) -> String {
        match r {
            Err(Error::FailedPrecondition { rule, .. }) => rule,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn names_round_trip() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(*k));
        }
        for k in CaseKind::ALL {
            assert_eq!(CaseKind::parse(k.as_str()), Some(k));
        }
    }

    #[test]
    fn decision_needs_filing_and_for_penalties_notice_and_statement() {
        use EventKind::*;
        let p = CaseKind::Penalty;
        assert_eq!(rule(state(&[]).check_next(p, Decision)), "R2.decision-after-filing");
        assert_eq!(rule(state(&[Filing]).check_next(p, Decision)), "R2.notice-before-penalty");
        assert_eq!(
            rule(state(&[Filing, NoticeOfProposedDecision]).check_next(p, Decision)),
            "R2.statement-before-penalty"
        );
        for settled in [StatementHeard, StatementWaived, StatementPeriodExpired] {
            assert!(state(&[Filing, NoticeOfProposedDecision, settled]).check_next(p, Decision).is_ok());
        }
        assert!(state(&[Filing]).check_next(CaseKind::Licensing, Decision).is_ok());
        let with_request = state(&[Filing, NoticeOfProposedDecision, StatementHeard, HearingRequested]);
        assert_eq!(rule(with_request.check_next(p, Decision)), "R2.hearing-before-decision");
        assert!(with_request.after(HearingRecord).check_next(p, Decision).is_ok());
    }

    #[test]
    fn a_hearing_record_settles_the_statement_but_a_request_alone_does_not() {
        use EventKind::*;
        let p = CaseKind::Penalty;
        let requested = state(&[Filing, NoticeOfProposedDecision, HearingRequested]);
        assert_eq!(rule(requested.check_next(p, Decision)), "R2.statement-before-penalty");
        assert!(requested.after(HearingRecord).check_next(p, Decision).is_ok());
        // The hearing record still needs its request, and the notice still comes first.
        assert_eq!(
            rule(state(&[Filing, NoticeOfProposedDecision]).check_next(p, HearingRecord)),
            "R2.hearing-record-after-request"
        );
        assert_eq!(rule(state(&[Filing]).check_next(p, HearingRequested)), "R2.hearing-after-notice");
    }

    #[test]
    fn service_execution_and_closing_order() {
        use EventKind::*;
        let c = CaseKind::Licensing;
        assert_eq!(rule(state(&[Filing]).check_next(c, Service)), "R2.service-after-decision");
        assert_eq!(rule(state(&[Filing, Decision]).check_next(c, Execution)), "R2.execution-after-service");
        let closed = state(&[Filing, Decision, Service, Closing]);
        assert_eq!(rule(closed.check_next(c, Inspection)), "R2.case-closed");
        assert!(closed.check_next(c, EvidenceAccessed).is_ok());
        assert!(closed.check_next(c, Archived).is_ok());
        assert_eq!(rule(state(&[Filing]).check_next(c, Archived)), "R2.archive-after-closing");
        assert_eq!(rule(state(&[Filing]).check_next(c, DecisionRevised)), "R2.revision-after-decision");
        assert!(state(&[Filing, Decision]).check_next(c, DecisionRevised).is_ok());
        for k in [DraftSubmitted, ReviewDecided, CollectiveDiscussion, DecisionRevised] {
            assert!(k.is_system());
        }
    }

    #[test]
    fn procedures_hold_the_case_until_their_end_is_recorded() {
        use EventKind::*;
        let c = CaseKind::Penalty;
        let decided = state(&[Filing, NoticeOfProposedDecision, StatementWaived, Decision]);
        assert!(decided.holds().is_empty());
        // A challenge needs a decision; a complaint does not.
        assert_eq!(rule(state(&[Filing]).check_next(c, ReconsiderationApplied)), "R2.challenge-after-decision");
        assert_eq!(rule(state(&[Filing]).check_next(c, FilingReviewOpened)), "R2.challenge-after-decision");
        assert!(state(&[Filing]).check_next(c, ComplaintReceived).is_ok());
        // Open: held, once at a time; the end only after the opening.
        assert_eq!(rule(decided.check_next(c, LawsuitConcluded)), "R2.procedure-end-after-opening");
        let sued = decided.after(LawsuitFiled);
        assert_eq!(sued.holds(), [Procedure::Lawsuit]);
        assert!(sued.challenged());
        assert_eq!(rule(sued.check_next(c, LawsuitFiled)), "R2.procedure-open");
        let both = sued.after(ComplaintReceived);
        assert_eq!(both.holds(), [Procedure::Lawsuit, Procedure::Complaint]);
        let ended = both.after(LawsuitConcluded).after(ComplaintConcluded);
        assert!(ended.holds().is_empty());
        // Ended, the results recorded: still held until the release is approved (K4).
        assert_eq!(ended.releases_pending(), [Procedure::Lawsuit, Procedure::Complaint]);
        assert_eq!(ended.held_by(), [Procedure::Lawsuit, Procedure::Complaint]);
        assert_eq!(rule(ended.check_next(c, EvidenceDestroyed)), "K4.legal-hold");
        assert_eq!(rule(sued.check_next(c, LegalHoldReleased)), "K4.final-result");
        assert_eq!(rule(decided.check_next(c, LegalHoldReleased)), "K4.final-result");
        assert!(ended.check_next(c, LegalHoldReleased).is_ok());
        let released = ended.after(LegalHoldReleased);
        assert!(released.held_by().is_empty());
        assert!(released.check_next(c, EvidenceDestroyed).is_ok());
        // An approval releases what has its result, not what is still open.
        let half = both.after(LawsuitConcluded).after(LegalHoldReleased);
        assert_eq!(half.held_by(), [Procedure::Complaint]);
        // The challenge is remembered (the file stays permanent); a complaint is not a challenge.
        assert!(ended.challenged());
        assert!(!state(&[Filing, ComplaintReceived]).challenged());
        // After the closing: challenges, their ends and destruction may still be recorded.
        let closed = decided.after(Service).after(Closing);
        for k in [ReconsiderationApplied, ComplaintReceived, FilingReviewOpened, EvidenceDestroyed, EvidenceMarked] {
            assert!(closed.check_next(c, k).is_ok(), "{k:?}");
        }
        assert!(closed.after(ReconsiderationApplied).check_next(c, ReconsiderationConcluded).is_ok());
        assert!(EvidenceDestroyed.is_system());
        assert_eq!(rule(closed.after(ComplaintReceived).check_next(c, EvidenceDestroyed)), "K4.legal-hold");
        for p in Procedure::ALL {
            assert_eq!(Procedure::of(p.opened_by()), Some((p, true)));
            assert_eq!(Procedure::of(p.concluded_by()), Some((p, false)));
            // Filing reviews are recorded by FilingService only, with their rows (RULES F7), and
            // complaints by ComplaintService only, with the complaint (K4, T7).
            let system = matches!(p, Procedure::FilingReview | Procedure::Complaint);
            assert_eq!(p.opened_by().is_system(), system, "{p:?}");
            assert_eq!(p.concluded_by().is_system(), system, "{p:?}");
        }
    }

    #[test]
    fn pending_release_bits_are_those_the_upgrade_sets() {
        // Migration m0016 sets these bits on cases that record an end: keep them in step.
        use EventKind::*;
        for (kind, bit) in [
            (ReconsiderationConcluded, 32768),
            (LawsuitConcluded, 65536),
            (ComplaintConcluded, 131072),
            (FilingReviewConcluded, 262144),
        ] {
            assert_eq!(CaseState::default().after(kind).bits(), bit, "{kind:?}");
        }
    }

    #[test]
    fn media_types() {
        assert!(is_audio_video("video/mp4"));
        assert!(is_audio_video("Audio/AAC"));
        assert!(!is_audio_video("image/jpeg"));
    }
}

/// How a document was served on the party (送达方式, recorded with a `service` event).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceMethod {
    /// 直接送达
    Direct,
    /// 留置送达
    Leaving,
    /// 邮寄送达
    Mail,
    /// 电子送达
    Electronic,
    /// 公告送达
    PublicNotice,
    /// 委托送达
    Entrusted,
}

impl ServiceMethod {
    /// The stable name recorded in the event's payload.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::Leaving => "leaving",
            Self::Mail => "mail",
            Self::Electronic => "electronic",
            Self::PublicNotice => "public_notice",
            Self::Entrusted => "entrusted",
        }
    }
}
