//! Retention of case files and recordings (保存期限, RULES K1–K5), free of I/O: the retention class
//! of a case file (K2), how long an evidence item is kept by its use (K3), the legal hold (K4, whose
//! state is part of [`crate::lifecycle::CaseState`]), and the checks before destruction (K5).
//!
//! Every period is a field of [`RetentionPolicy`] with the rules' default; the server takes them
//! from its configuration.

use chrono::{Months, NaiveDate};

use crate::error::{Error, Result};
use crate::lifecycle::{CaseKind, FootageMark, Procedure};

/// Years a fixed-term case file is kept in the longer class (局令第8号 Art. 6: 30 years): other
/// general-procedure penalty, compulsory-measure and licensing files (RULES K2).
pub const DEFAULT_LONG_YEARS: u32 = 30;
/// Years in the shorter class (10 years): summary-procedure penalties and inspections without
/// findings. Challenges are barred 5 years after the act (复议法 Art. 21, 行诉法 Art. 46 ¶2).
pub const DEFAULT_SHORT_YEARS: u32 = 10;
/// Months footage that no act of its case references is kept from its capture (RULES K3).
pub const DEFAULT_RECORDING_MONTHS: u32 = 6;
/// The least a policy may set for such footage: the 6 months the party has to sue (行诉法 Art. 46
/// ¶1), which the footage may be needed for.
pub const MIN_RECORDING_MONTHS: u32 = 6;
/// Fewest distinct supervising witnesses (监销人) of a destruction (RULES K5).
pub const MIN_WITNESSES: usize = 2;

/// How long case files and recordings are kept (RULES K2, K3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Years of the longer fixed-term class.
    pub long_years: u32,
    /// Years of the shorter fixed-term class.
    pub short_years: u32,
    /// Months an unreferenced recording is kept from its capture.
    pub recording_months: u32,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        Self {
            long_years: DEFAULT_LONG_YEARS,
            short_years: DEFAULT_SHORT_YEARS,
            recording_months: DEFAULT_RECORDING_MONTHS,
        }
    }
}

impl RetentionPolicy {
    /// A policy, checked: recordings at least [`MIN_RECORDING_MONTHS`], the shorter class at
    /// least a year and not longer than the longer one. The error names the setting.
    pub fn new(long_years: u32, short_years: u32, recording_months: u32) -> Result<Self> {
        if recording_months < MIN_RECORDING_MONTHS {
            return Err(Error::invalid(
                "retention_recording_months",
                format!("at least {MIN_RECORDING_MONTHS} (the time to sue, 行诉法 Art. 46)"),
            ));
        }
        if short_years == 0 {
            return Err(Error::invalid("retention_short_years", "at least 1"));
        }
        if long_years < short_years {
            return Err(Error::invalid("retention_long_years", "at least retention_short_years"));
        }
        Ok(Self { long_years, short_years, recording_months })
    }
}

/// The retention class of a case file (RULES K2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CaseClass {
    /// 10 years by default.
    Short,
    /// 30 years by default.
    Long,
    /// 永久.
    Permanent,
}

impl CaseClass {
    /// The stable name recorded in a destruction's tombstone.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Short => "short",
            Self::Long => "long",
            Self::Permanent => "permanent",
        }
    }
}

/// What decides a case file's class, read from its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseFacts {
    pub kind: CaseKind,
    /// A decision was made.
    pub decided: bool,
    /// The decision was major (RULES F1, L2).
    pub major: bool,
    /// A 复议 application or a lawsuit was recorded.
    pub challenged: bool,
    /// The decision was revoked, or imposed 吊销许可证件 or 责令停产停业.
    pub revocation_or_suspension: bool,
    /// A penalty decided in the summary procedure (简易程序).
    pub summary_procedure: bool,
}

/// The class of a case file (RULES K2). Permanent: major decisions, files with a 复议 or a
/// lawsuit, revocations and 停产停业. Short: summary-procedure penalties and inspections without
/// findings (no decision). Long: the rest; when in doubt the longer class (K2: when classes
/// conflict, keep the longer one).
pub fn case_class(f: &CaseFacts) -> CaseClass {
    if f.major || f.challenged || f.revocation_or_suspension {
        return CaseClass::Permanent;
    }
    match f.kind {
        CaseKind::Penalty if f.decided && f.summary_procedure => CaseClass::Short,
        CaseKind::Inspection if !f.decided => CaseClass::Short,
        CaseKind::Penalty | CaseKind::Licensing | CaseKind::Compulsion | CaseKind::Inspection | CaseKind::Other => {
            CaseClass::Long
        }
    }
}

/// Until when something is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    /// Kept permanently.
    Permanent,
    /// The case is not closed: its file's period has not started.
    CaseOpen,
    /// Kept through this day (local date); destroyable from the next.
    Until(NaiveDate),
    /// Footage kept permanently because it is marked (RULES K3): obstruction, a major incident.
    Marked(FootageMark),
}

impl Retention {
    /// The later of two (K3: a referenced recording is never kept shorter than its case file).
    fn longer(self, other: Self) -> Self {
        match (self, other) {
            (Self::Marked(m), _) | (_, Self::Marked(m)) => Self::Marked(m),
            (Self::Permanent, _) | (_, Self::Permanent) => Self::Permanent,
            (Self::CaseOpen, _) | (_, Self::CaseOpen) => Self::CaseOpen,
            (Self::Until(a), Self::Until(b)) => Self::Until(a.max(b)),
        }
    }

    /// The last day kept, as recorded (`permanent`, `case_open` or `YYYY-MM-DD`).
    pub fn code(self) -> String {
        match self {
            Self::Permanent | Self::Marked(_) => "permanent".into(),
            Self::CaseOpen => "case_open".into(),
            Self::Until(d) => d.to_string(),
        }
    }
}

fn add_months(d: NaiveDate, months: u32) -> NaiveDate {
    d.checked_add_months(Months::new(months)).unwrap_or(NaiveDate::MAX)
}

/// Until when a case file of `class` is kept: from its closing (结案) date, in the agency's zone.
pub fn case_retention(class: CaseClass, closed_on: Option<NaiveDate>, policy: &RetentionPolicy) -> Retention {
    let years = match class {
        CaseClass::Permanent => return Retention::Permanent,
        CaseClass::Long => policy.long_years,
        CaseClass::Short => policy.short_years,
    };
    match closed_on {
        None => Retention::CaseOpen,
        Some(d) => Retention::Until(add_months(d, years.saturating_mul(12))),
    }
}

/// Which rule an evidence item's retention comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// The case file's (K2): documents, photographs, and recordings an act of the case references.
    CaseFile,
    /// Footage no act references (K3): a fixed time from capture.
    Recording,
}

impl Basis {
    /// The rule id prefix of a refusal.
    pub fn rule(self) -> &'static str {
        match self {
            Self::CaseFile => "K2",
            Self::Recording => "K3",
        }
    }
}

/// How an evidence item is used, for its retention (RULES K3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvidenceUse {
    /// An audio or video recording.
    pub audio_video: bool,
    /// An act of the case (an event other than its upload) or a decision draft references it.
    pub referenced: bool,
    /// Local date of capture.
    pub captured_on: NaiveDate,
    /// Marked as showing obstruction or a major incident (an `evidence_marked` event).
    pub marked: Option<FootageMark>,
}

/// Until when an evidence item is kept, and on which basis: footage marked as showing obstruction
/// or a major incident permanently (K3); footage no act references for the policy's months from
/// capture (K3); everything else with the case file, a referenced recording never shorter than
/// its own period (K3).
pub fn evidence_retention(u: &EvidenceUse, case_file: Retention, policy: &RetentionPolicy) -> (Basis, Retention) {
    if let Some(mark) = u.marked {
        return (Basis::Recording, Retention::Marked(mark));
    }
    let own = Retention::Until(add_months(u.captured_on, policy.recording_months));
    match (u.audio_video, u.referenced) {
        (true, false) => (Basis::Recording, own),
        (true, true) => (Basis::CaseFile, case_file.longer(own)),
        (false, _) => (Basis::CaseFile, case_file),
    }
}

/// Whether an item may be destroyed on `today` (RULES K4, K5): not while a procedure holds the
/// case, not when kept permanently or while its case is open, and not before its retention has
/// ended. The refusal names the rule.
pub fn check_destruction(holds: &[Procedure], basis: Basis, retention: Retention, today: NaiveDate) -> Result<()> {
    if !holds.is_empty() {
        let names: Vec<&str> = holds.iter().map(|p| p.name()).collect();
        return Err(Error::precondition(
            "K4.legal-hold",
            format!(
                "the case is under legal hold by its {}: nothing in it may be destroyed until the final result is recorded and its release approved",
                names.join(", ")
            ),
        ));
    }
    let rule = basis.rule();
    match retention {
        Retention::Permanent => {
            Err(Error::precondition(format!("{rule}.permanent"), "the case file is kept permanently"))
        }
        Retention::CaseOpen => Err(Error::precondition(
            format!("{rule}.case-open"),
            "the case is not closed: its file's retention has not started",
        )),
        Retention::Until(last) if today <= last => Err(Error::precondition(
            format!("{rule}.retention"),
            format!("kept through {last}: destroyable from the next day"),
        )),
        Retention::Marked(mark) => Err(Error::precondition(
            "K3.retention",
            format!("kept permanently: the footage is marked as {}", mark.name()),
        )),
        Retention::Until(_) => Ok(()),
    }
}

/// The supervising witnesses of a destruction (监销人, RULES K5), trimmed: at least
/// [`MIN_WITNESSES`] distinct names, else `INVALID_ARGUMENT witnesses`.
pub fn witnesses(names: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    for (i, n) in names.iter().enumerate() {
        let n = n.trim();
        if n.is_empty() {
            return Err(Error::invalid(format!("witnesses[{i}]"), "must not be empty"));
        }
        if !out.iter().any(|o| o == n) {
            out.push(n.to_owned());
        }
    }
    if out.len() < MIN_WITNESSES {
        return Err(Error::invalid(
            "witnesses",
            format!("K5: at least {MIN_WITNESSES} distinct supervising witnesses (监销人) sign a destruction"),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn facts(kind: CaseKind) -> CaseFacts {
        CaseFacts {
            kind,
            decided: true,
            major: false,
            challenged: false,
            revocation_or_suspension: false,
            summary_procedure: false,
        }
    }

    fn rule(r: Result<()>) -> String {
        match r {
            Err(Error::FailedPrecondition { rule, .. }) => rule,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn classes_of_case_files() {
        let p = facts(CaseKind::Penalty);
        assert_eq!(case_class(&p), CaseClass::Long);
        assert_eq!(case_class(&CaseFacts { summary_procedure: true, ..p }), CaseClass::Short);
        // Permanent whatever else holds.
        for f in [
            CaseFacts { major: true, summary_procedure: true, ..p },
            CaseFacts { challenged: true, ..facts(CaseKind::Inspection) },
            CaseFacts { revocation_or_suspension: true, ..facts(CaseKind::Licensing) },
        ] {
            assert_eq!(case_class(&f), CaseClass::Permanent, "{f:?}");
        }
        assert_eq!(case_class(&facts(CaseKind::Licensing)), CaseClass::Long);
        assert_eq!(case_class(&facts(CaseKind::Compulsion)), CaseClass::Long);
        assert_eq!(case_class(&CaseFacts { decided: false, ..facts(CaseKind::Inspection) }), CaseClass::Short);
        assert_eq!(case_class(&facts(CaseKind::Inspection)), CaseClass::Long, "an inspection with findings");
        assert_eq!(case_class(&facts(CaseKind::Other)), CaseClass::Long);
    }

    #[test]
    fn case_files_are_kept_from_their_closing() {
        let policy = RetentionPolicy::default();
        let closed = Some(date("2026-03-15"));
        assert_eq!(case_retention(CaseClass::Long, closed, &policy), Retention::Until(date("2056-03-15")));
        assert_eq!(case_retention(CaseClass::Short, closed, &policy), Retention::Until(date("2036-03-15")));
        assert_eq!(case_retention(CaseClass::Permanent, closed, &policy), Retention::Permanent);
        assert_eq!(case_retention(CaseClass::Short, None, &policy), Retention::CaseOpen);
        let other = RetentionPolicy::new(40, 15, 12).unwrap();
        assert_eq!(case_retention(CaseClass::Short, closed, &other), Retention::Until(date("2041-03-15")));
    }

    #[test]
    fn recordings_by_use() {
        let policy = RetentionPolicy::default();
        let captured_on = date("2026-01-31");
        let file = Retention::Until(date("2036-05-01"));
        let unreferenced = EvidenceUse { audio_video: true, referenced: false, captured_on, marked: None };
        // Six months from capture, whatever the case file (month ends clamp).
        assert_eq!(
            evidence_retention(&unreferenced, file, &policy),
            (Basis::Recording, Retention::Until(date("2026-07-31")))
        );
        assert_eq!(
            evidence_retention(&unreferenced, Retention::Permanent, &policy),
            (Basis::Recording, Retention::Until(date("2026-07-31")))
        );
        // Referenced: with the case file, never shorter than its own period.
        let referenced = EvidenceUse { referenced: true, ..unreferenced };
        assert_eq!(evidence_retention(&referenced, file, &policy), (Basis::CaseFile, file));
        let early = Retention::Until(date("2026-02-01"));
        assert_eq!(
            evidence_retention(&referenced, early, &policy),
            (Basis::CaseFile, Retention::Until(date("2026-07-31")))
        );
        assert_eq!(
            evidence_retention(&referenced, Retention::CaseOpen, &policy),
            (Basis::CaseFile, Retention::CaseOpen)
        );
        // A document follows its case file, referenced or not.
        let document = EvidenceUse { audio_video: false, referenced: false, captured_on, marked: None };
        assert_eq!(
            evidence_retention(&document, Retention::Permanent, &policy),
            (Basis::CaseFile, Retention::Permanent)
        );
    }

    #[test]
    fn marked_footage_is_kept_permanently() {
        let policy = RetentionPolicy::default();
        let captured_on = date("2026-01-31");
        for mark in FootageMark::ALL {
            for referenced in [false, true] {
                let u = EvidenceUse { audio_video: true, referenced, captured_on, marked: Some(mark) };
                let (basis, until) = evidence_retention(&u, Retention::Until(date("2036-01-01")), &policy);
                assert_eq!((basis, until), (Basis::Recording, Retention::Marked(mark)));
                assert_eq!(until.code(), "permanent");
                assert_eq!(rule(check_destruction(&[], basis, until, date("2100-01-01"))), "K3.retention");
            }
        }
    }

    #[test]
    fn the_recording_period_is_never_below_the_time_to_sue() {
        let field = |r: Result<RetentionPolicy>| match r {
            Err(Error::InvalidArgument { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(RetentionPolicy::new(30, 10, 5)), "retention_recording_months");
        assert_eq!(field(RetentionPolicy::new(30, 0, 6)), "retention_short_years");
        assert_eq!(field(RetentionPolicy::new(9, 10, 6)), "retention_long_years");
        assert_eq!(RetentionPolicy::new(30, 10, 6).unwrap(), RetentionPolicy::default());
    }

    #[test]
    fn destruction_needs_no_hold_and_an_ended_retention() {
        let last = date("2026-07-31");
        let until = Retention::Until(last);
        assert_eq!(
            rule(check_destruction(&[Procedure::Lawsuit], Basis::Recording, until, date("2030-01-01"))),
            "K4.legal-hold"
        );
        assert_eq!(rule(check_destruction(&[], Basis::Recording, until, last)), "K3.retention");
        assert!(check_destruction(&[], Basis::Recording, until, date("2026-08-01")).is_ok());
        assert_eq!(rule(check_destruction(&[], Basis::CaseFile, Retention::Permanent, last)), "K2.permanent");
        assert_eq!(rule(check_destruction(&[], Basis::CaseFile, Retention::CaseOpen, last)), "K2.case-open");
        assert_eq!(rule(check_destruction(&[], Basis::CaseFile, until, last)), "K2.retention");
    }

    #[test]
    fn two_distinct_witnesses() {
        let names = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(witnesses(&names(&[" 王五 ", "赵六"])).unwrap(), ["王五", "赵六"]);
        let field = |r: Result<Vec<String>>| match r {
            Err(Error::InvalidArgument { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(witnesses(&names(&["王五", " 王五"]))), "witnesses");
        assert_eq!(field(witnesses(&names(&["王五"]))), "witnesses");
        assert_eq!(field(witnesses(&names(&["王五", " "]))), "witnesses[1]");
    }
}
