//! Complaints and reports (投诉举报, RULES T1–T7): the three kinds kept apart, the channels, the
//! steps of each kind's procedure in their legal order, and the due date of every step still
//! owed, in working days from the shipped calendars (D1, D4) or in calendar days (D2).
//!
//! Everything here is pure: the use cases (`sanxiang-complaints`) fold a complaint's stored steps
//! into a [`Progress`], ask [`check_next`] whether a new step may follow, and [`obligations`] what
//! is owed and by when. The reporter's identity is not part of any of it (T5): the rules need only
//! whether the reporter gave a real name.

use chrono::NaiveDate;
use chrono_tz::Tz;

use crate::calendar::{Deadline, WorkCalendar, add_calendar_days};
use crate::error::{Error, Result};
use crate::id::{AgencyId, OfficerId};
use crate::officer::{CertificateUse, Named};
use crate::time::Timestamp;

macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vdoc])* $variant,)* }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The stored and canonical name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)* }
            }

            /// Parses [`Self::as_str`].
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)* _ => None }
            }
        }
    };
}

named_enum! {
    /// The two regimes of RULES T1, the market-supervision one split in two (SAMR-C Art. 3).
    ComplaintType {
        /// A complaint against enforcement conduct (处罚法 Art. 75 ¶2; T6).
        ConductComplaint => "conduct_complaint",
        /// A consumer complaint (投诉) under SAMR-C (T3).
        SamrComplaint => "samr_complaint",
        /// A report of a violation (举报) under SAMR-C (T4).
        SamrReport => "samr_report",
    }
}

named_enum! {
    /// How a complaint arrived (RULES T2: SAMR-C Arts. 8, 36; 12345 for conduct complaints).
    Channel {
        /// The agency's web form or JSON endpoint (the public surface).
        Internet => "internet",
        Phone => "phone",
        Fax => "fax",
        Post => "post",
        /// In person at the counter (窗口).
        Counter => "counter",
        /// The 12315 internet platform.
        Platform12315 => "platform_12315",
        /// The 12315 hotline.
        Hotline12315 => "hotline_12315",
        /// The 12345 government hotline.
        Hotline12345 => "hotline_12345",
        /// A letter (来信).
        Letter => "letter",
        /// A visit (来访).
        Visit => "visit",
    }
}

impl Channel {
    /// Whether staff write down what was said (RULES T2: SAMR-C Arts. 9, 24): the time of
    /// receipt is then given by the intake officer rather than taken from the clock.
    pub fn is_oral(self) -> bool {
        matches!(self, Self::Phone | Self::Counter | Self::Hotline12315 | Self::Hotline12345 | Self::Visit)
    }
}

named_enum! {
    /// A step of a complaint's procedure; each is one entry of the complaint's chain.
    StepKind {
        /// Intake (T2): the first step of every complaint.
        Received => "received",
        /// Accepted for handling (T3: SAMR-C Art. 14; T6).
        Accepted => "accepted",
        /// Not accepted, with the ground (SAMR-C Art. 15; T6: 郑州 Art. 7). Ends the complaint.
        Rejected => "rejected",
        /// Mediation suspended for testing or appraisal (SAMR-C Art. 20 ¶3): the 45 days stop.
        MediationPaused => "mediation_paused",
        /// Testing or appraisal done: the mediation period runs again.
        MediationResumed => "mediation_resumed",
        /// Mediation reached an agreement (SAMR-C Art. 22: the document is archived).
        MediationAgreed => "mediation_agreed",
        /// Mediation ended without agreement (SAMR-C Art. 21).
        MediationTerminated => "mediation_terminated",
        /// Both sides told of the termination (SAMR-C Art. 21 ¶2).
        PartiesNotified => "parties_notified",
        /// A violation found during mediation: its verification starts (SAMR-C Art. 23).
        ViolationFound => "violation_found",
        /// The verification extended by its special-case period (SAMR-C Art. 23).
        VerificationExtended => "verification_extended",
        /// The verification concluded.
        VerificationConcluded => "verification_concluded",
        /// The decision whether to file a case (立案) on a report (T4), linking the case if filed.
        FilingDecided => "filing_decided",
        /// A real-name reporter told of the filing decision (SAMR-C Art. 31 ¶2).
        ReporterNotified => "reporter_notified",
        /// The conduct complaint's handling period extended, with the approval recorded (T6).
        Extended => "extended",
        /// The conduct complaint concluded with its outcome (T6).
        Concluded => "concluded",
        /// After a `revoke_or_change_recommended` conclusion: the agency keeps its decision, with
        /// its reasons (T6). The other answer is the decision's revision (`decision_revised` in
        /// the case, which also withdraws its publication, P6).
        DecisionKept => "decision_kept",
        /// SAMR report: the body's jurisdiction is disputed with another body (SAMR-C Art. 30):
        /// settled between them, or referred to their common superior, within 7 working days.
        JurisdictionDisputed => "jurisdiction_disputed",
        /// The jurisdiction dispute settled, or referred to the common superior (Art. 30); how,
        /// in the step's text.
        JurisdictionSettled => "jurisdiction_settled",
        /// SAMR report: this body has no jurisdiction; the reporter is told where to report
        /// (Art. 29), the body named in the step's text. Ends the report.
        Referred => "referred",
    }
}

named_enum! {
    /// How a complaint ended (T6's outcomes, and the ends of T3 and T4).
    Outcome {
        /// Not accepted (any kind).
        Rejected => "rejected",
        /// Conduct complaint: examined, not upheld (with the reasons).
        NotUpheld => "not_upheld",
        /// Conduct complaint upheld: the agency is ordered to correct.
        CorrectionOrdered => "correction_ordered",
        /// Conduct complaint upheld: revoking or changing the decision is recommended (P6 follows).
        RevokeOrChangeRecommended => "revoke_or_change_recommended",
        /// Conduct complaint upheld: referred for accountability (feeds C4).
        ReferredForAccountability => "referred_for_accountability",
        /// SAMR complaint: mediation reached an agreement.
        MediationAgreed => "mediation_agreed",
        /// SAMR complaint: mediation ended without agreement.
        MediationTerminated => "mediation_terminated",
        /// SAMR report: a case was filed (立案).
        CaseFiled => "case_filed",
        /// SAMR report: no case was filed.
        NotFiled => "not_filed",
        /// SAMR report: sent to the body with jurisdiction (Art. 29).
        Referred => "referred",
    }
}

impl Outcome {
    /// The outcomes a conduct complaint's conclusion may record (T6; `rejected` is the
    /// rejection step).
    pub const CONCLUSIONS: [Self; 4] =
        [Self::NotUpheld, Self::CorrectionOrdered, Self::RevokeOrChangeRecommended, Self::ReferredForAccountability];

    /// Whether the complaint was found justified (T7's upheld rate, C4's upheld complaints).
    pub fn upheld(self) -> bool {
        matches!(self, Self::CorrectionOrdered | Self::RevokeOrChangeRecommended | Self::ReferredForAccountability)
    }
}

/// The periods of RULES T3, T4 and T6. The SAMR periods were read (SAMR-C); the 立案 deadline and
/// every conduct-complaint period are defaults (T4, T6) and therefore configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ComplaintPolicy {
    /// SAMR complaint: accept or reject within this many working days of receipt (Art. 14).
    pub samr_accept_working_days: u32,
    /// SAMR complaint: mediation ends without agreement this many working days after acceptance,
    /// testing and appraisal not counted (Arts. 20 ¶3, 21(5)).
    pub mediation_working_days: u32,
    /// SAMR complaint: both sides told within this many working days of termination (Art. 21 ¶2).
    pub termination_notice_working_days: u32,
    /// SAMR complaint: a violation found is verified within this many working days (Art. 23).
    pub verification_working_days: u32,
    /// SAMR complaint: the special-case extension of the verification (Art. 23).
    pub verification_extension_working_days: u32,
    /// SAMR report: the 立案 decision within this many working days of receipt (T4: not
    /// verified, default 15).
    pub report_filing_working_days: u32,
    /// SAMR report: a real-name reporter told within this many working days after the 立案
    /// decision (Art. 31 ¶2).
    pub report_notice_working_days: u32,
    /// Conduct complaint: accept or reject within this many working days (T6 default 5).
    pub conduct_accept_working_days: u32,
    /// Conduct complaint: concluded within this many calendar days of acceptance (T6 default 30).
    pub conduct_conclude_days: u32,
    /// Conduct complaint: the one extension is at most this many calendar days (T6 default 30).
    pub conduct_extension_max_days: u32,
    /// Conduct complaint concluded `revoke_or_change_recommended`: the agency revises its decision
    /// or records why it stands within this many calendar days of the conclusion (T6: no text
    /// found; default 15, the period of a filing review's recommendation, F7 (c)).
    pub decision_response_days: u32,
    /// SAMR report: a jurisdiction dispute is settled between the bodies, or referred to their
    /// common superior, within this many working days of arising (Art. 30).
    pub jurisdiction_dispute_working_days: u32,
}

impl Default for ComplaintPolicy {
    fn default() -> Self {
        Self {
            samr_accept_working_days: 7,
            mediation_working_days: 45,
            termination_notice_working_days: 7,
            verification_working_days: 15,
            verification_extension_working_days: 15,
            report_filing_working_days: 15,
            report_notice_working_days: 5,
            conduct_accept_working_days: 5,
            conduct_conclude_days: 30,
            conduct_extension_max_days: 30,
            decision_response_days: 15,
            jurisdiction_dispute_working_days: 7,
        }
    }
}

impl ComplaintPolicy {
    /// Longest period any field may set (a year of working days).
    pub const MAX_PERIOD: u32 = 366;

    /// Checks every period is 1..=[`Self::MAX_PERIOD`], naming the field otherwise.
    pub fn check(&self) -> Result<()> {
        let fields = [
            ("samr_accept_working_days", self.samr_accept_working_days),
            ("mediation_working_days", self.mediation_working_days),
            ("termination_notice_working_days", self.termination_notice_working_days),
            ("verification_working_days", self.verification_working_days),
            ("verification_extension_working_days", self.verification_extension_working_days),
            ("report_filing_working_days", self.report_filing_working_days),
            ("report_notice_working_days", self.report_notice_working_days),
            ("conduct_accept_working_days", self.conduct_accept_working_days),
            ("conduct_conclude_days", self.conduct_conclude_days),
            ("conduct_extension_max_days", self.conduct_extension_max_days),
            ("decision_response_days", self.decision_response_days),
            ("jurisdiction_dispute_working_days", self.jurisdiction_dispute_working_days),
        ];
        for (field, value) in fields {
            if value == 0 || value > Self::MAX_PERIOD {
                return Err(Error::invalid(
                    format!("policy.{field}"),
                    format!("must be 1 to {} days", Self::MAX_PERIOD),
                ));
            }
        }
        Ok(())
    }
}

/// A step as the rules see it: its kind, its local date, and what it decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub kind: StepKind,
    /// The local date (RULES D5) the step happened on.
    pub date: NaiveDate,
    /// `Extended`: the days granted.
    pub extension_days: u32,
    /// `FilingDecided`: whether a case was filed.
    pub case_filed: bool,
    /// `Concluded`: the outcome.
    pub outcome: Option<Outcome>,
}

impl Step {
    /// A step with nothing decided beyond its kind.
    pub fn plain(kind: StepKind, date: NaiveDate) -> Self {
        Self { kind, date, extension_days: 0, case_filed: false, outcome: None }
    }
}

/// What has happened in a complaint, folded from its steps in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    pub received: Option<NaiveDate>,
    pub accepted: Option<NaiveDate>,
    pub rejected: bool,
    /// Mediation suspended since this date (testing or appraisal under way).
    pub paused_since: Option<NaiveDate>,
    /// Working days mediation was suspended, over the pauses that ended.
    pub paused_working_days: u32,
    pub mediation_agreed: bool,
    pub terminated: Option<NaiveDate>,
    pub parties_notified: bool,
    pub violation_found: Option<NaiveDate>,
    pub verification_extended: bool,
    pub verification_concluded: bool,
    /// The 立案 decision's date and whether a case was filed.
    pub filing_decided: Option<(NaiveDate, bool)>,
    pub reporter_notified: bool,
    /// Days of the one extension of a conduct complaint.
    pub extension_days: Option<u32>,
    pub concluded: Option<Outcome>,
    /// The conclusion's date.
    pub concluded_on: Option<NaiveDate>,
    /// The agency answered a revocation or change recommendation by keeping its decision.
    pub decision_kept: bool,
    /// A jurisdiction dispute open since this date (SAMR-C Art. 30).
    pub jurisdiction_disputed: Option<NaiveDate>,
    /// The report was referred to the body with jurisdiction (Art. 29).
    pub referred: bool,
}

/// The number of working days in `(from, to]`: the days a suspension took out of a period.
pub fn working_days_between(calendar: &WorkCalendar, from: NaiveDate, to: NaiveDate) -> u32 {
    let mut n = 0;
    let mut d = from;
    while d < to {
        let Some(next) = d.succ_opt() else { break };
        d = next;
        if calendar.is_working_day(d).0 {
            n += 1;
        }
    }
    n
}

impl Progress {
    /// Folds `steps` (in chain order) under `calendar`.
    pub fn of(steps: &[Step], calendar: &WorkCalendar) -> Self {
        steps.iter().fold(Self::default(), |p, s| p.after(s, calendar))
    }

    /// The progress after `step`.
    pub fn after(mut self, step: &Step, calendar: &WorkCalendar) -> Self {
        match step.kind {
            StepKind::Received => self.received = Some(step.date),
            StepKind::Accepted => self.accepted = Some(step.date),
            StepKind::Rejected => self.rejected = true,
            StepKind::MediationPaused => self.paused_since = Some(step.date),
            StepKind::MediationResumed => {
                if let Some(since) = self.paused_since.take() {
                    self.paused_working_days += working_days_between(calendar, since, step.date);
                }
            }
            StepKind::MediationAgreed => self.mediation_agreed = true,
            StepKind::MediationTerminated => self.terminated = Some(step.date),
            StepKind::PartiesNotified => self.parties_notified = true,
            StepKind::ViolationFound => self.violation_found = Some(step.date),
            StepKind::VerificationExtended => self.verification_extended = true,
            StepKind::VerificationConcluded => self.verification_concluded = true,
            StepKind::FilingDecided => self.filing_decided = Some((step.date, step.case_filed)),
            StepKind::ReporterNotified => self.reporter_notified = true,
            StepKind::Extended => self.extension_days = Some(step.extension_days),
            StepKind::Concluded => {
                self.concluded = step.outcome;
                self.concluded_on = Some(step.date);
            }
            StepKind::DecisionKept => self.decision_kept = true,
            StepKind::JurisdictionDisputed => self.jurisdiction_disputed = Some(step.date),
            StepKind::JurisdictionSettled => self.jurisdiction_disputed = None,
            StepKind::Referred => self.referred = true,
        }
        self
    }

    fn mediation_ended(&self) -> bool {
        self.mediation_agreed || self.terminated.is_some()
    }

    /// How the complaint ended, once it has (`None` while anything is still owed).
    pub fn outcome(&self, ty: ComplaintType, real_name: bool) -> Option<Outcome> {
        if self.rejected {
            return Some(Outcome::Rejected);
        }
        match ty {
            ComplaintType::ConductComplaint => self.concluded,
            ComplaintType::SamrComplaint => {
                let verified = self.violation_found.is_none() || self.verification_concluded;
                if !verified {
                    None
                } else if self.mediation_agreed {
                    Some(Outcome::MediationAgreed)
                } else if self.terminated.is_some() && self.parties_notified {
                    Some(Outcome::MediationTerminated)
                } else {
                    None
                }
            }
            ComplaintType::SamrReport if self.referred => Some(Outcome::Referred),
            ComplaintType::SamrReport => match self.filing_decided {
                Some((_, filed)) if self.reporter_notified || !real_name => {
                    Some(if filed { Outcome::CaseFiled } else { Outcome::NotFiled })
                }
                _ => None,
            },
        }
    }
}

fn refuse(rule: &str, message: impl Into<String>) -> Result<()> {
    Err(Error::precondition(rule, message))
}

/// Checks that `step` may follow in a complaint of type `ty` with `progress` so far (its
/// reporter gave a real name: `real_name`). The error names the rule; a step of the wrong type
/// names the type rule (`T1.type`).
pub fn check_next(
    ty: ComplaintType,
    real_name: bool,
    p: &Progress,
    step: &Step,
    policy: &ComplaintPolicy,
) -> Result<()> {
    use ComplaintType::*;
    use StepKind::*;
    let Some(received) = p.received else {
        return if step.kind == Received { Ok(()) } else { refuse("T2.received-first", "the complaint has no intake") };
    };
    if step.date < received {
        return refuse("T2.after-receipt", format!("a step cannot precede the receipt on {received}"));
    }
    if step.kind == DecisionKept {
        // The one step after a conclusion: the agency's answer to a recommendation (T6).
        if ty != ConductComplaint {
            return refuse("T1.type", format!("a decision_kept step does not belong to a {}", ty.as_str()));
        }
        if p.concluded != Some(Outcome::RevokeOrChangeRecommended) {
            return refuse(
                "T6.recommendation",
                "only a conduct complaint concluded revoke_or_change_recommended awaits the agency's answer",
            );
        }
        if p.decision_kept {
            return refuse("T6.answered-once", "the agency already recorded that its decision stands");
        }
        if p.concluded_on.is_some_and(|c| step.date < c) {
            return refuse("T6.after-conclusion", "the answer cannot precede the recommendation");
        }
        return Ok(());
    }
    if p.outcome(ty, real_name).is_some() {
        return refuse("T2.closed", "the complaint is closed: nothing more may be recorded");
    }
    let types: &[ComplaintType] = match step.kind {
        Received => return refuse("T2.received-once", "the complaint was already received"),
        Accepted | Rejected => &[ConductComplaint, SamrComplaint],
        MediationPaused
        | MediationResumed
        | MediationAgreed
        | MediationTerminated
        | PartiesNotified
        | ViolationFound
        | VerificationExtended
        | VerificationConcluded => &[SamrComplaint],
        FilingDecided | ReporterNotified | JurisdictionDisputed | JurisdictionSettled | Referred => &[SamrReport],
        Extended | Concluded | DecisionKept => &[ConductComplaint],
    };
    if !types.contains(&ty) {
        return refuse("T1.type", format!("a {} step does not belong to a {}", step.kind.as_str(), ty.as_str()));
    }
    let accepted = p.accepted.is_some();
    match step.kind {
        Accepted | Rejected if accepted => refuse("T3.decided-once", "acceptance was already decided"),
        Accepted | Rejected => Ok(()),
        _ if matches!(ty, ConductComplaint | SamrComplaint) && !accepted => {
            refuse("T3.accepted-first", "the complaint must be accepted first")
        }
        MediationPaused if p.paused_since.is_some() => refuse("T3.paused", "mediation is already suspended"),
        MediationPaused | MediationAgreed | MediationTerminated if p.mediation_ended() => {
            refuse("T3.mediation-ended", "mediation has already ended")
        }
        MediationResumed if p.paused_since.is_none() => refuse("T3.not-paused", "mediation is not suspended"),
        MediationAgreed | MediationTerminated if p.paused_since.is_some() => {
            refuse("T3.paused", "mediation is suspended for testing or appraisal; record its resumption first")
        }
        PartiesNotified if p.terminated.is_none() => {
            refuse("T3.notify-after-termination", "the parties are told of a termination; none is recorded")
        }
        PartiesNotified if p.parties_notified => refuse("T3.notified-once", "the parties were already told"),
        ViolationFound if p.violation_found.is_some() => {
            refuse("T3.verification-once", "a violation is already being verified")
        }
        VerificationExtended | VerificationConcluded if p.violation_found.is_none() => {
            refuse("T3.verification-after-finding", "no violation found is being verified")
        }
        VerificationExtended if p.verification_extended => {
            refuse("T3.verification-extended-once", "the verification was already extended")
        }
        VerificationExtended | VerificationConcluded if p.verification_concluded => {
            refuse("T3.verification-concluded", "the verification is concluded")
        }
        FilingDecided if p.filing_decided.is_some() => {
            refuse("T4.decided-once", "the 立案 decision is already recorded")
        }
        JurisdictionDisputed | Referred if p.filing_decided.is_some() => {
            refuse("T4.jurisdiction-before-decision", "the 立案 decision is recorded: this body handled the report")
        }
        JurisdictionDisputed if p.jurisdiction_disputed.is_some() => {
            refuse("T4.dispute-open", "a jurisdiction dispute is already open")
        }
        JurisdictionSettled if p.jurisdiction_disputed.is_none() => {
            refuse("T4.no-dispute", "no jurisdiction dispute is open")
        }
        Referred | FilingDecided if p.jurisdiction_disputed.is_some() => refuse(
            "T4.dispute-open",
            "the jurisdiction dispute is open: record how it was settled or referred first (SAMR-C Art. 30)",
        ),
        ReporterNotified if p.filing_decided.is_none() => {
            refuse("T4.notify-after-decision", "the reporter is told of the 立案 decision; none is recorded")
        }
        ReporterNotified if !real_name => {
            refuse("T4.real-name-only", "an anonymous reporter is not notified (SAMR-C Art. 31 ¶2)")
        }
        ReporterNotified if p.reporter_notified => refuse("T4.notified-once", "the reporter was already told"),
        Extended if p.extension_days.is_some() => {
            refuse("T6.one-extension", "the handling period was already extended once")
        }
        Extended if step.extension_days == 0 || step.extension_days > policy.conduct_extension_max_days => {
            refuse("T6.extension-max", format!("an extension is 1 to {} days", policy.conduct_extension_max_days))
        }
        Concluded => match step.outcome {
            Some(o) if Outcome::CONCLUSIONS.contains(&o) => Ok(()),
            _ => refuse(
                "T6.outcome",
                "a conduct complaint concludes as not_upheld, correction_ordered, revoke_or_change_recommended or referred_for_accountability",
            ),
        },
        _ => Ok(()),
    }
}

/// What a complaint still owes, for the supervisor's overdue list (`OverdueKind` 13–16).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Owed {
    /// Accept or reject (T3: 7 working days; T6: 5).
    Acceptance,
    /// Conclude the handling: mediation (45 working days, pauses not counted), verification
    /// (15 +15), or a conduct complaint (30 days + the extension).
    Handling,
    /// Tell someone: both sides of a terminated mediation (7 working days), a real-name reporter
    /// of the 立案 decision (5 working days).
    Notification,
    /// Decide whether to file a case on a report (T4, configurable).
    ReportFiling,
    /// Revise the decision a conduct complaint recommended revoking or changing, or record why it
    /// stands (T6, configurable).
    DecisionResponse,
    /// Settle a jurisdiction dispute over a report, or refer it to the common superior (SAMR-C
    /// Art. 30, 7 working days).
    Jurisdiction,
}

impl Owed {
    /// The name used in views.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Acceptance => "acceptance",
            Self::Handling => "handling",
            Self::Notification => "notification",
            Self::ReportFiling => "report_filing",
            Self::DecisionResponse => "decision_response",
            Self::Jurisdiction => "jurisdiction",
        }
    }
}

/// One step still owed and its last day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Obligation {
    pub owed: Owed,
    /// The step that discharges it.
    pub step: StepKind,
    /// The last day (`None` while the period is suspended for testing or appraisal).
    pub due: Option<Deadline>,
    /// What it is, in words (no personal data).
    pub what: &'static str,
}

impl Obligation {
    /// Whether it is past due on `today` (the due date has passed).
    pub fn overdue(&self, today: NaiveDate) -> bool {
        self.due.is_some_and(|d| today > d.date)
    }
}

/// Calendar days as a [`Deadline`] (never provisional: no working days are counted).
fn calendar_deadline(start: NaiveDate, days: u32) -> Deadline {
    Deadline { date: add_calendar_days(start, days), provisional: false }
}

/// Every step still owed by a complaint of type `ty` with `progress`, with its due date
/// (RULES T3, T4, T6). The start day of every period is not counted (D3).
pub fn obligations(
    ty: ComplaintType,
    real_name: bool,
    p: &Progress,
    policy: &ComplaintPolicy,
    calendar: &WorkCalendar,
) -> Vec<Obligation> {
    let mut out = Vec::new();
    let Some(received) = p.received else { return out };
    if p.outcome(ty, real_name).is_some() {
        return out;
    }
    let wd = |from: NaiveDate, n: u32| Some(calendar.add_working_days(from, n));
    match ty {
        ComplaintType::ConductComplaint | ComplaintType::SamrComplaint if p.accepted.is_none() => {
            let n = if ty == ComplaintType::SamrComplaint {
                policy.samr_accept_working_days
            } else {
                policy.conduct_accept_working_days
            };
            out.push(Obligation {
                owed: Owed::Acceptance,
                step: StepKind::Accepted,
                due: wd(received, n),
                what: "decide whether to accept the complaint and tell the complainant",
            });
        }
        ComplaintType::ConductComplaint => {
            if let Some(accepted) = p.accepted
                && p.concluded.is_none()
            {
                let days = policy.conduct_conclude_days + p.extension_days.unwrap_or(0);
                out.push(Obligation {
                    owed: Owed::Handling,
                    step: StepKind::Concluded,
                    due: Some(calendar_deadline(accepted, days)),
                    what: "conclude the conduct complaint and reply to the complainant",
                });
            }
        }
        ComplaintType::SamrComplaint => {
            if let Some(accepted) = p.accepted
                && !p.mediation_ended()
            {
                // While testing or appraisal is under way the period stands still (Art. 20 ¶3).
                let due = match p.paused_since {
                    Some(_) => None,
                    None => wd(accepted, policy.mediation_working_days + p.paused_working_days),
                };
                out.push(Obligation {
                    owed: Owed::Handling,
                    step: StepKind::MediationTerminated,
                    due,
                    what: "mediation: reach an agreement or end it",
                });
            }
            if let Some(terminated) = p.terminated
                && !p.parties_notified
            {
                out.push(Obligation {
                    owed: Owed::Notification,
                    step: StepKind::PartiesNotified,
                    due: wd(terminated, policy.termination_notice_working_days),
                    what: "tell both sides that mediation ended",
                });
            }
            if let Some(found) = p.violation_found
                && !p.verification_concluded
            {
                let mut n = policy.verification_working_days;
                if p.verification_extended {
                    n += policy.verification_extension_working_days;
                }
                out.push(Obligation {
                    owed: Owed::Handling,
                    step: StepKind::VerificationConcluded,
                    due: wd(found, n),
                    what: "verify the violation found during mediation",
                });
            }
        }
        ComplaintType::SamrReport => match p.filing_decided {
            None => {
                if let Some(since) = p.jurisdiction_disputed {
                    out.push(Obligation {
                        owed: Owed::Jurisdiction,
                        step: StepKind::JurisdictionSettled,
                        due: wd(since, policy.jurisdiction_dispute_working_days),
                        what: "settle the jurisdiction dispute, or refer it to the common superior (SAMR-C Art. 30)",
                    });
                }
                out.push(Obligation {
                    owed: Owed::ReportFiling,
                    step: StepKind::FilingDecided,
                    due: wd(received, policy.report_filing_working_days),
                    what: "decide whether to file a case (立案) on the report",
                });
            }
            Some((decided, _)) if real_name && !p.reporter_notified => out.push(Obligation {
                owed: Owed::Notification,
                step: StepKind::ReporterNotified,
                due: wd(decided, policy.report_notice_working_days),
                what: "tell the real-name reporter whether a case was filed",
            }),
            Some(_) => {}
        },
    }
    out
}

/// What a conduct complaint concluded `revoke_or_change_recommended` (`p`) still owes the
/// decision's agency: the decision revised (`revised`: a `decision_revised` in the case since the
/// conclusion) or a `decision_kept` step, within the policy's days of the conclusion (T6: "a
/// changed decision triggers P6"). `None` once answered, or for any other complaint.
pub fn recommendation_obligation(p: &Progress, policy: &ComplaintPolicy, revised: bool) -> Option<Obligation> {
    if p.concluded != Some(Outcome::RevokeOrChangeRecommended) || p.decision_kept || revised {
        return None;
    }
    Some(Obligation {
        owed: Owed::DecisionResponse,
        step: StepKind::DecisionKept,
        due: p.concluded_on.map(|c| calendar_deadline(c, policy.decision_response_days)),
        what: "revise the decision as recommended (ReviseDecision), or record why it stands",
    })
}

/// How many persons investigate a conduct complaint (T6: 郑州 Art. 11, "two or more persons
/// showing supervision certificates" [comparable]).
pub const MIN_INVESTIGATORS: usize = 2;

/// RULES T6: the investigators a conduct complaint's conclusion names. Each is named once, is an
/// officer of one of `agencies` (the complaint's agency and those overseeing it: the legal
/// office or the supervision office investigates), and holds a supervision certificate usable at
/// `at` in `zone` (the certificate check of every act, [`crate::officer::Certificate::why_unable`]);
/// at least [`MIN_INVESTIGATORS`] of them. `lookup` finds a registered officer by id.
pub fn check_investigators<'a>(
    investigator_ids: &[OfficerId],
    lookup: impl Fn(&OfficerId) -> Option<Named<'a>>,
    agencies: &[AgencyId],
    at: Timestamp,
    zone: Tz,
) -> Result<()> {
    let mut named = Vec::with_capacity(investigator_ids.len());
    for (i, id) in investigator_ids.iter().enumerate() {
        let field = || format!("investigator_ids[{i}]");
        if investigator_ids[..i].contains(id) {
            return Err(Error::invalid(field(), "listed twice"));
        }
        let officer = lookup(id).filter(|o| agencies.contains(o.agency_id)).ok_or_else(|| {
            Error::invalid(field(), "no such officer in the complaint's agency or an agency overseeing it")
        })?;
        named.push((id, officer));
    }
    for (id, officer) in &named {
        if let Some(u) = officer.certificate.why_unable(CertificateUse::Supervision, at, zone) {
            return Err(Error::precondition(
                "T6.two-investigators",
                format!("investigator {} ({id}) may not investigate: {} ({})", officer.name, u.why, u.rule),
            ));
        }
    }
    if named.len() < MIN_INVESTIGATORS {
        return Err(Error::precondition(
            "T6.two-investigators",
            format!(
                "a conduct complaint is investigated by at least {MIN_INVESTIGATORS} persons holding supervision certificates (investigator_ids)"
            ),
        ));
    }
    Ok(())
}

/// Which types a submission may combine: a complaint with a report in it is split into a
/// `samr_complaint` and a `samr_report` record (SAMR-C Art. 7); nothing else is combined.
pub fn check_types(types: &[ComplaintType]) -> Result<()> {
    match types {
        [_] => Ok(()),
        [a, b]
            if (*a, *b) == (ComplaintType::SamrComplaint, ComplaintType::SamrReport)
                || (*a, *b) == (ComplaintType::SamrReport, ComplaintType::SamrComplaint) =>
        {
            Ok(())
        }
        [] => Err(Error::invalid("types", "name the type of the submission")),
        _ => Err(Error::invalid(
            "types",
            "only a samr_complaint with a samr_report is split into two records (SAMR-C Art. 7)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn cal() -> WorkCalendar {
        WorkCalendar::builtin()
    }

    fn progress(steps: &[Step]) -> Progress {
        Progress::of(steps, &cal())
    }

    fn rule(r: Result<()>) -> String {
        match r {
            Err(Error::FailedPrecondition { rule, .. }) => rule,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    fn due(obs: &[Obligation], owed: Owed) -> NaiveDate {
        obs.iter().find(|o| o.owed == owed).and_then(|o| o.due).expect("owed with a date").date
    }

    #[test]
    fn names_round_trip() {
        for t in ComplaintType::ALL {
            assert_eq!(ComplaintType::parse(t.as_str()), Some(*t));
        }
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Some(*c));
        }
        for k in StepKind::ALL {
            assert_eq!(StepKind::parse(k.as_str()), Some(*k));
        }
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.as_str()), Some(*o));
        }
    }

    #[test]
    fn samr_acceptance_is_due_seven_working_days_after_receipt_not_counting_holidays() {
        // Received Monday 2026-03-02: seven working days later is Wednesday 2026-03-11.
        let p = progress(&[Step::plain(StepKind::Received, d("2026-03-02"))]);
        let obs = obligations(ComplaintType::SamrComplaint, true, &p, &ComplaintPolicy::default(), &cal());
        let o = &obs[0];
        assert_eq!((o.owed, o.due.unwrap().date), (Owed::Acceptance, d("2026-03-11")));
        assert!(!o.overdue(d("2026-03-11")), "the last day is still in time");
        assert!(o.overdue(d("2026-03-12")));
        // Received on the last working day before the National Day holiday (2026-10-01..07, with
        // 2026-10-10 a working Saturday): the holiday does not count.
        let p = progress(&[Step::plain(StepKind::Received, d("2026-09-30"))]);
        let obs = obligations(ComplaintType::SamrComplaint, true, &p, &ComplaintPolicy::default(), &cal());
        let expected = cal().add_working_days(d("2026-09-30"), 7).date;
        assert!(expected > d("2026-10-09"), "{expected}");
        assert_eq!(due(&obs, Owed::Acceptance), expected);
    }

    #[test]
    fn conduct_acceptance_five_working_days_then_thirty_calendar_days_plus_one_extension() {
        let policy = ComplaintPolicy::default();
        let t = ComplaintType::ConductComplaint;
        let received = Step::plain(StepKind::Received, d("2026-03-06")); // a Friday
        let p = progress(std::slice::from_ref(&received));
        assert_eq!(due(&obligations(t, true, &p, &policy, &cal()), Owed::Acceptance), d("2026-03-13"));
        let accepted = Step::plain(StepKind::Accepted, d("2026-03-09"));
        let p = progress(&[received.clone(), accepted.clone()]);
        assert_eq!(due(&obligations(t, true, &p, &policy, &cal()), Owed::Handling), d("2026-04-08"));
        let mut ext = Step::plain(StepKind::Extended, d("2026-04-01"));
        ext.extension_days = 31;
        assert_eq!(rule(check_next(t, true, &p, &ext, &policy)), "T6.extension-max");
        ext.extension_days = 0;
        assert_eq!(rule(check_next(t, true, &p, &ext, &policy)), "T6.extension-max");
        ext.extension_days = 30;
        check_next(t, true, &p, &ext, &policy).unwrap();
        let p = p.after(&ext, &cal());
        assert_eq!(due(&obligations(t, true, &p, &policy, &cal()), Owed::Handling), d("2026-05-08"));
        assert_eq!(rule(check_next(t, true, &p, &ext, &policy)), "T6.one-extension");
        let mut end = Step::plain(StepKind::Concluded, d("2026-05-08"));
        assert_eq!(rule(check_next(t, true, &p, &end, &policy)), "T6.outcome");
        end.outcome = Some(Outcome::Rejected);
        assert_eq!(rule(check_next(t, true, &p, &end, &policy)), "T6.outcome");
        end.outcome = Some(Outcome::CorrectionOrdered);
        check_next(t, true, &p, &end, &policy).unwrap();
        let p = p.after(&end, &cal());
        assert_eq!(p.outcome(t, true), Some(Outcome::CorrectionOrdered));
        assert!(obligations(t, true, &p, &policy, &cal()).is_empty());
        assert_eq!(rule(check_next(t, true, &p, &end, &policy)), "T2.closed");
    }

    #[test]
    fn mediation_runs_45_working_days_and_a_pause_for_testing_does_not_count() {
        let policy = ComplaintPolicy::default();
        let t = ComplaintType::SamrComplaint;
        let steps =
            [Step::plain(StepKind::Received, d("2026-03-02")), Step::plain(StepKind::Accepted, d("2026-03-04"))];
        let p = progress(&steps);
        let plain = cal().add_working_days(d("2026-03-04"), 45).date;
        assert_eq!(due(&obligations(t, true, &p, &policy, &cal()), Owed::Handling), plain);
        // Paused Monday 2026-03-09, resumed Monday 2026-03-16: five working days out.
        let pause = Step::plain(StepKind::MediationPaused, d("2026-03-09"));
        check_next(t, true, &p, &pause, &policy).unwrap();
        let p = p.after(&pause, &cal());
        let o = obligations(t, true, &p, &policy, &cal());
        assert_eq!(o[0].due, None, "no due date while testing is under way");
        assert_eq!(
            rule(check_next(t, true, &p, &Step::plain(StepKind::MediationTerminated, d("2026-03-10")), &policy)),
            "T3.paused"
        );
        let resume = Step::plain(StepKind::MediationResumed, d("2026-03-16"));
        let p = p.after(&resume, &cal());
        assert_eq!(p.paused_working_days, 5);
        assert_eq!(
            due(&obligations(t, true, &p, &policy, &cal()), Owed::Handling),
            cal().add_working_days(d("2026-03-04"), 50).date
        );
        // Termination: both sides are told within 7 working days.
        let end = Step::plain(StepKind::MediationTerminated, d("2026-05-06"));
        check_next(t, true, &p, &end, &policy).unwrap();
        let p = p.after(&end, &cal());
        let o = obligations(t, true, &p, &policy, &cal());
        assert_eq!(due(&o, Owed::Notification), cal().add_working_days(d("2026-05-06"), 7).date);
        assert_eq!(p.outcome(t, true), None);
        let p = p.after(&Step::plain(StepKind::PartiesNotified, d("2026-05-07")), &cal());
        assert_eq!(p.outcome(t, true), Some(Outcome::MediationTerminated));
    }

    #[test]
    fn verification_is_15_working_days_and_once_15_more() {
        let policy = ComplaintPolicy::default();
        let t = ComplaintType::SamrComplaint;
        let p = progress(&[
            Step::plain(StepKind::Received, d("2026-03-02")),
            Step::plain(StepKind::Accepted, d("2026-03-03")),
        ]);
        assert_eq!(
            rule(check_next(t, true, &p, &Step::plain(StepKind::VerificationExtended, d("2026-03-05")), &policy)),
            "T3.verification-after-finding"
        );
        let p = p.after(&Step::plain(StepKind::ViolationFound, d("2026-03-05")), &cal());
        let o = obligations(t, true, &p, &policy, &cal());
        assert_eq!(o.iter().filter(|o| o.owed == Owed::Handling).count(), 2, "mediation and verification");
        let verification =
            |o: &[Obligation]| o.iter().find(|o| o.step == StepKind::VerificationConcluded).unwrap().due.unwrap().date;
        assert_eq!(verification(&o), d("2026-03-26"));
        let p = p.after(&Step::plain(StepKind::VerificationExtended, d("2026-03-20")), &cal());
        assert_eq!(verification(&obligations(t, true, &p, &policy, &cal())), d("2026-04-17"));
        assert_eq!(
            rule(check_next(t, true, &p, &Step::plain(StepKind::VerificationExtended, d("2026-03-21")), &policy)),
            "T3.verification-extended-once"
        );
    }

    #[test]
    fn an_agreement_closes_the_complaint_once_a_verification_under_way_is_concluded() {
        let policy = ComplaintPolicy::default();
        let t = ComplaintType::SamrComplaint;
        let p = progress(&[
            Step::plain(StepKind::Received, d("2026-03-02")),
            Step::plain(StepKind::Accepted, d("2026-03-03")),
            Step::plain(StepKind::ViolationFound, d("2026-03-04")),
        ]);
        let agreed = Step::plain(StepKind::MediationAgreed, d("2026-03-05"));
        check_next(t, true, &p, &agreed, &policy).unwrap();
        let p = p.after(&agreed, &cal());
        assert_eq!(p.outcome(t, true), None, "the verification is still owed");
        let owed = obligations(t, true, &p, &policy, &cal());
        assert_eq!(owed.iter().map(|o| o.step).collect::<Vec<_>>(), [StepKind::VerificationConcluded]);
        assert_eq!(
            rule(check_next(t, true, &p, &Step::plain(StepKind::MediationTerminated, d("2026-03-06")), &policy)),
            "T3.mediation-ended"
        );
        let p = p.after(&Step::plain(StepKind::VerificationConcluded, d("2026-03-06")), &cal());
        assert_eq!(p.outcome(t, true), Some(Outcome::MediationAgreed));
        assert!(obligations(t, true, &p, &policy, &cal()).is_empty());
    }

    #[test]
    fn report_filing_deadline_is_configurable_and_only_real_name_reporters_are_told() {
        let t = ComplaintType::SamrReport;
        let received = Step::plain(StepKind::Received, d("2026-03-02"));
        let p = progress(std::slice::from_ref(&received));
        let default = ComplaintPolicy::default();
        assert_eq!(due(&obligations(t, true, &p, &default, &cal()), Owed::ReportFiling), d("2026-03-23"));
        let short = ComplaintPolicy { report_filing_working_days: 10, ..default };
        assert_eq!(due(&obligations(t, true, &p, &short, &cal()), Owed::ReportFiling), d("2026-03-16"));
        assert_eq!(
            rule(check_next(t, true, &p, &Step::plain(StepKind::Accepted, d("2026-03-03")), &default)),
            "T1.type"
        );
        let mut decided = Step::plain(StepKind::FilingDecided, d("2026-03-10"));
        decided.case_filed = true;
        let p = p.after(&decided, &cal());
        // Five working days after the decision for a real-name reporter.
        assert_eq!(due(&obligations(t, true, &p, &default, &cal()), Owed::Notification), d("2026-03-17"));
        assert_eq!(p.outcome(t, true), None);
        // An anonymous reporter is owed nothing, and is not notified.
        assert!(obligations(t, false, &p, &default, &cal()).is_empty());
        assert_eq!(p.outcome(t, false), Some(Outcome::CaseFiled));
        let notify = Step::plain(StepKind::ReporterNotified, d("2026-03-17"));
        check_next(t, true, &p, &notify, &default).unwrap();
        assert_eq!(rule(check_next(t, false, &p, &notify, &default)), "T2.closed");
        let p = p.after(&notify, &cal());
        assert_eq!(p.outcome(t, true), Some(Outcome::CaseFiled));
    }

    #[test]
    fn a_jurisdiction_dispute_is_settled_within_seven_working_days_and_a_report_without_jurisdiction_is_referred() {
        let t = ComplaintType::SamrReport;
        let policy = ComplaintPolicy::default();
        let p = progress(&[Step::plain(StepKind::Received, d("2026-03-02"))]);
        let disputed = Step::plain(StepKind::JurisdictionDisputed, d("2026-03-04"));
        check_next(t, true, &p, &disputed, &policy).unwrap();
        assert_eq!(
            rule(check_next(
                ComplaintType::SamrComplaint,
                true,
                &p,
                &Step::plain(StepKind::JurisdictionDisputed, d("2026-03-04")),
                &policy
            )),
            "T1.type"
        );
        let p = p.after(&disputed, &cal());
        // Wednesday 2026-03-04 + 7 working days: Friday 2026-03-13, overdue from the 14th. The
        // 立案 decision stays owed on its own date.
        let owed = obligations(t, true, &p, &policy, &cal());
        let dispute = owed.iter().find(|o| o.owed == Owed::Jurisdiction).expect("the dispute is owed");
        assert_eq!(dispute.step, StepKind::JurisdictionSettled);
        assert_eq!(dispute.due.map(|d| d.date), Some(d("2026-03-13")));
        assert!(!dispute.overdue(d("2026-03-13")));
        assert!(dispute.overdue(d("2026-03-14")));
        assert_eq!(due(&owed, Owed::ReportFiling), d("2026-03-23"));
        let longer = ComplaintPolicy { jurisdiction_dispute_working_days: 10, ..policy };
        assert_eq!(due(&obligations(t, true, &p, &longer, &cal()), Owed::Jurisdiction), d("2026-03-18"));
        // While it is open: no second dispute, no decision, no referral.
        for kind in [StepKind::JurisdictionDisputed, StepKind::FilingDecided, StepKind::Referred] {
            assert_eq!(rule(check_next(t, true, &p, &Step::plain(kind, d("2026-03-05")), &policy)), "T4.dispute-open");
        }
        let settled = Step::plain(StepKind::JurisdictionSettled, d("2026-03-06"));
        check_next(t, true, &p, &settled, &policy).unwrap();
        let p = p.after(&settled, &cal());
        assert!(obligations(t, true, &p, &policy, &cal()).iter().all(|o| o.owed != Owed::Jurisdiction));
        assert_eq!(rule(check_next(t, true, &p, &settled, &policy)), "T4.no-dispute");

        // The other body has jurisdiction: the report is referred, and that ends it.
        let referred = Step::plain(StepKind::Referred, d("2026-03-09"));
        check_next(t, false, &p, &referred, &policy).unwrap();
        let done = p.clone().after(&referred, &cal());
        assert_eq!(done.outcome(t, true), Some(Outcome::Referred));
        assert_eq!(done.outcome(t, false), Some(Outcome::Referred));
        assert!(obligations(t, true, &done, &policy, &cal()).is_empty());
        assert_eq!(
            rule(check_next(t, true, &done, &Step::plain(StepKind::FilingDecided, d("2026-03-10")), &policy)),
            "T2.closed"
        );
        // Once this body decided on 立案, it had jurisdiction.
        let decided = p.after(&Step::plain(StepKind::FilingDecided, d("2026-03-09")), &cal());
        for kind in [StepKind::JurisdictionDisputed, StepKind::Referred] {
            assert_eq!(
                rule(check_next(t, true, &decided, &Step::plain(kind, d("2026-03-10")), &policy)),
                "T4.jurisdiction-before-decision"
            );
        }
    }

    #[test]
    fn order_of_steps() {
        let policy = ComplaintPolicy::default();
        let t = ComplaintType::SamrComplaint;
        let empty = Progress::default();
        assert_eq!(
            rule(check_next(t, true, &empty, &Step::plain(StepKind::Accepted, d("2026-03-02")), &policy)),
            "T2.received-first"
        );
        let p = progress(&[Step::plain(StepKind::Received, d("2026-03-02"))]);
        assert_eq!(
            rule(check_next(t, true, &p, &Step::plain(StepKind::Accepted, d("2026-03-01")), &policy)),
            "T2.after-receipt"
        );
        assert_eq!(
            rule(check_next(t, true, &p, &Step::plain(StepKind::MediationPaused, d("2026-03-03")), &policy)),
            "T3.accepted-first"
        );
        assert_eq!(
            rule(check_next(t, true, &p, &Step::plain(StepKind::Extended, d("2026-03-03")), &policy)),
            "T1.type"
        );
        let rejected = p.after(&Step::plain(StepKind::Rejected, d("2026-03-03")), &cal());
        assert_eq!(rejected.outcome(t, true), Some(Outcome::Rejected));
        assert_eq!(
            rule(check_next(t, true, &rejected, &Step::plain(StepKind::Accepted, d("2026-03-04")), &policy)),
            "T2.closed"
        );
    }

    #[test]
    fn only_a_complaint_with_a_report_is_split() {
        use ComplaintType::*;
        assert!(check_types(&[SamrComplaint, SamrReport]).is_ok());
        assert!(check_types(&[ConductComplaint]).is_ok());
        assert!(check_types(&[]).is_err());
        assert!(check_types(&[ConductComplaint, SamrReport]).is_err());
        assert!(check_types(&[SamrReport, SamrReport]).is_err());
    }

    #[test]
    fn a_recommendation_is_answered_by_a_revision_or_a_kept_decision_once() {
        let t = ComplaintType::ConductComplaint;
        let policy = ComplaintPolicy::default();
        let concluded = |o| Step { outcome: Some(o), ..Step::plain(StepKind::Concluded, d("2026-03-10")) };
        let base = [Step::plain(StepKind::Received, d("2026-03-02")), Step::plain(StepKind::Accepted, d("2026-03-03"))];
        let kept = Step::plain(StepKind::DecisionKept, d("2026-03-12"));
        let mut steps = base.to_vec();
        steps.push(concluded(Outcome::RevokeOrChangeRecommended));
        let p = progress(&steps);
        // Owed 15 calendar days from the conclusion, until revised or answered.
        let o = recommendation_obligation(&p, &policy, false).expect("owed");
        assert_eq!((o.owed, o.due.unwrap().date), (Owed::DecisionResponse, d("2026-03-25")));
        assert!(!o.overdue(d("2026-03-25")) && o.overdue(d("2026-03-26")));
        assert!(recommendation_obligation(&p, &policy, true).is_none());
        assert!(check_next(t, true, &p, &kept, &policy).is_ok());
        let early = Step::plain(StepKind::DecisionKept, d("2026-03-09"));
        assert_eq!(rule(check_next(t, true, &p, &early, &policy)), "T6.after-conclusion");
        let answered = p.after(&kept, &cal());
        assert!(recommendation_obligation(&answered, &policy, false).is_none());
        assert_eq!(rule(check_next(t, true, &answered, &kept, &policy)), "T6.answered-once");
        // Any other conclusion owes nothing and takes no answer.
        let mut other = base.to_vec();
        other.push(concluded(Outcome::CorrectionOrdered));
        let p = progress(&other);
        assert!(recommendation_obligation(&p, &policy, false).is_none());
        assert_eq!(rule(check_next(t, true, &p, &kept, &policy)), "T6.recommendation");
        assert_eq!(rule(check_next(t, true, &progress(&base), &kept, &policy)), "T6.recommendation");
    }

    #[test]
    fn two_investigators_with_usable_supervision_certificates() {
        use crate::officer::{Certificate, CertificateKind};
        let at = Timestamp::parse_rfc3339("2026-03-01T04:00:00Z").unwrap();
        let zone = crate::officer::zone("").unwrap();
        let supervision = Certificate {
            kind: CertificateKind::Supervision,
            reviewed_on: d("2026-01-01"),
            ..Certificate::enforcement(d("2020-01-01"), d("2030-12-31"))
        };
        let enforcement = Certificate { kind: CertificateKind::Enforcement, ..supervision.clone() };
        let expired = Certificate { valid_until: d("2026-02-28"), ..supervision.clone() };
        let (a, city, other) = (AgencyId::from("a"), AgencyId::from("city"), AgencyId::from("b"));
        let lookup = |id: &OfficerId| {
            let (agency_id, name, certificate) = match id.as_str() {
                "s1" => (&a, "s1", &supervision),
                "s2" => (&city, "s2", &supervision),
                "e" => (&a, "e", &enforcement),
                "x" => (&a, "x", &expired),
                "far" => (&other, "far", &supervision),
                _ => return None,
            };
            Some(Named { agency_id, name, category: "执法监督", area: "", certificate })
        };
        let agencies = [a.clone(), city.clone()];
        let check = |ids: &[&str]| {
            let ids: Vec<OfficerId> = ids.iter().map(|s| OfficerId::from(*s)).collect();
            check_investigators(&ids, lookup, &agencies, at, zone)
        };
        assert!(check(&["s1", "s2"]).is_ok(), "the agency's and its supervision office's officers");
        assert_eq!(rule(check(&["s1"])), "T6.two-investigators");
        assert_eq!(rule(check(&[])), "T6.two-investigators");
        match check(&["s1", "e"]) {
            Err(Error::FailedPrecondition { rule, message }) => {
                assert_eq!(rule, "T6.two-investigators");
                assert!(message.contains("C1.certificate-kind"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        match check(&["s1", "x"]) {
            Err(Error::FailedPrecondition { message, .. }) => assert!(message.contains("G3.certificate-valid")),
            other => panic!("{other:?}"),
        }
        for (ids, field) in [(["s1", "s1"], "investigator_ids[1]"), (["s1", "far"], "investigator_ids[1]")] {
            match check(&ids) {
                Err(Error::InvalidArgument { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn policy_check_names_the_field() {
        assert!(ComplaintPolicy::default().check().is_ok());
        let bad = ComplaintPolicy { report_filing_working_days: 0, ..ComplaintPolicy::default() };
        match bad.check() {
            Err(Error::InvalidArgument { field, .. }) => assert_eq!(field, "policy.report_filing_working_days"),
            other => panic!("{other:?}"),
        }
    }
}
