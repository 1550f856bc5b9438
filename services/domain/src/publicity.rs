//! Publicity after enforcement (事后公开, RULES P3, P4, P6, P7, P9), free of I/O: when a decision
//! must be published, when it is not published and why, when a withdrawal is due, how long an
//! entry stays public and whether it may stop early, and the 双公示 export field sets.
//!
//! Periods of publication and withdrawal are working days (RULES D1) counted with the
//! [`WorkCalendar`]; the end of publication is counted in calendar months (SAMR Art. 13: 三个月,
//! 三年). Everything a local rule may change is a field of [`DisclosurePolicy`] with a default.

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::calendar::{Deadline, WorkCalendar};
use crate::catalog::PenaltyType;
use crate::error::{Error, Result};

/// Working days to publish a penalty decision (118号; RULES P3). Some regimes use 20 (SAMR Art. 9).
pub const DEFAULT_PENALTY_DAYS: u32 = 7;
/// Working days to publish a penalty decision under the SAMR rule (Art. 9).
pub const SAMR_PENALTY_DAYS: u32 = 20;
/// Working days to publish a licensing decision (118号; RULES P3).
pub const DEFAULT_LICENSING_DAYS: u32 = 7;
/// Working days to publish other enforcement results (118号; RULES P3).
pub const DEFAULT_OTHER_DAYS: u32 = 20;
/// Working days to withdraw a published decision that was changed, revoked, confirmed illegal or
/// void (处罚法 Art. 48; SAMR Art. 11). Statutory, so not part of the policy.
pub const WITHDRAWAL_DAYS: u32 = 3;
/// Months of publication for 通报批评 or a small fine (SAMR Art. 13).
pub const DEFAULT_SHORT_MONTHS: u32 = 3;
/// Months of publication otherwise: three years (SAMR Art. 13).
pub const DEFAULT_LONG_MONTHS: u32 = 36;
/// Minimum months of publication for special equipment, work safety and fire (RULES P7).
pub const DEFAULT_SPECIAL_REGIME_MIN_MONTHS: u32 = 12;
/// The largest fine, in fen, that counts as 较低数额 (SAMR Art. 13 leaves it to the province):
/// 10 000 元 by default, a common provincial value for natural persons. Configure per province.
pub const DEFAULT_SMALL_FINE_MAX_FEN: u64 = 1_000_000;
/// Months of publication after which an early stop may be requested (SAMR Art. 14 leaves the
/// period to a separate rule; one year by default).
pub const DEFAULT_EARLY_STOP_MIN_MONTHS: u32 = 12;
/// The longest period a policy may configure, in working days, to catch typos (a year).
const MAX_PERIOD_DAYS: u32 = 250;

/// Penalty types whose publication never stops early (SAMR Art. 14 para. 3; RULES P7).
pub const NEVER_STOP_EARLY: [PenaltyType; 5] = [
    PenaltyType::SuspendProduction,
    PenaltyType::RestrictBusiness,
    PenaltyType::RestrictPractice,
    PenaltyType::LowerQualification,
    PenaltyType::RevokeLicence,
];

/// The kind of enforcement result being published, which selects the publication period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultKind {
    /// 行政处罚决定.
    Penalty,
    /// 行政许可决定.
    Licensing,
    /// Any other enforcement result (强制, 检查, 征收, …).
    Other,
}

/// The publication regime an agency follows, which gives the policy's defaults (RULES P3, P4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Regime {
    /// The general rule (118号; 处罚法 Art. 48): every penalty and licensing decision within 7
    /// working days; neither warnings only nor the summary procedure are excluded by law.
    #[default]
    General,
    /// Market regulation (SAMR rule, 总局令第45号): only ordinary-procedure penalties, not those that
    /// are only a warning (Art. 2), within 20 working days (Art. 9).
    Samr,
}

impl Regime {
    /// Every regime.
    pub const ALL: [Self; 2] = [Self::General, Self::Samr];

    /// The stable code used in the API and the stored policy.
    pub fn code(self) -> &'static str {
        match self {
            Self::General => "general",
            Self::Samr => "samr",
        }
    }

    /// Parses [`Self::code`]; the empty string is the general regime.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "" => Some(Self::General),
            s => Self::ALL.into_iter().find(|r| r.code() == s),
        }
    }
}

/// An agency's publication policy (RULES P3, P4, P7). Stored as JSON; missing fields take the
/// defaults of the general regime.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DisclosurePolicy {
    /// The regime whose defaults the policy started from.
    pub regime: Regime,
    /// Working days to publish a penalty decision.
    pub penalty_days: u32,
    /// Working days to publish a licensing decision.
    pub licensing_days: u32,
    /// Working days to publish any other result.
    pub other_days: u32,
    /// Publish when the disclosure is created; otherwise a publisher confirms it.
    pub auto_publish: bool,
    /// Do not publish penalties that are only a warning (SAMR Art. 2).
    pub exclude_warning_only: bool,
    /// Do not publish decisions made in the summary procedure (SAMR Art. 2: 普通程序 only).
    pub exclude_summary_procedure: bool,
    /// The largest fine, in fen, that counts as small for the short publication period.
    pub small_fine_max_fen: u64,
    /// Months of publication for 通报批评 or a small fine.
    pub short_months: u32,
    /// Months of publication otherwise.
    pub long_months: u32,
    /// Minimum months of publication in a special regime (special equipment, work safety, fire).
    pub special_regime_min_months: u32,
    /// Months of publication after which an early stop may be requested.
    pub early_stop_min_months: u32,
}

impl Default for DisclosurePolicy {
    fn default() -> Self {
        Self::for_regime(Regime::General)
    }
}

impl DisclosurePolicy {
    /// The defaults of a regime. Both exclusions of SAMR Art. 2 (warnings only, the summary
    /// procedure) follow the regime together: on under the SAMR rule, off under the general rule,
    /// which publishes every penalty decision (118号). Either may still be set per agency.
    pub fn for_regime(regime: Regime) -> Self {
        let samr = regime == Regime::Samr;
        Self {
            regime,
            penalty_days: if samr { SAMR_PENALTY_DAYS } else { DEFAULT_PENALTY_DAYS },
            licensing_days: DEFAULT_LICENSING_DAYS,
            other_days: DEFAULT_OTHER_DAYS,
            auto_publish: true,
            exclude_warning_only: samr,
            exclude_summary_procedure: samr,
            small_fine_max_fen: DEFAULT_SMALL_FINE_MAX_FEN,
            short_months: DEFAULT_SHORT_MONTHS,
            long_months: DEFAULT_LONG_MONTHS,
            special_regime_min_months: DEFAULT_SPECIAL_REGIME_MIN_MONTHS,
            early_stop_min_months: DEFAULT_EARLY_STOP_MIN_MONTHS,
        }
    }
}

/// What the decision says that decides how long it stays public.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PublicationFacts {
    /// The penalty types imposed.
    pub penalties: Vec<PenaltyType>,
    /// The fine, in fen (0 without a fine).
    pub fine_fen: u64,
    /// The regime is special equipment, work safety or fire (RULES P7: at least one year).
    pub special_regime: bool,
    /// When a 限制开展生产经营活动 or 限制从业 ends; publication lasts at least until then
    /// (SAMR Art. 13 para. 3).
    pub restriction_ends: Option<NaiveDate>,
}

/// Why a decision is not published (RULES P4). Recorded with the disclosure, never silently
/// skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExclusionReason {
    /// The main facts are a state secret (保守国家秘密法; SAMR Art. 5).
    StateSecret,
    /// The punished person is a minor.
    Minor,
    /// The main facts are a trade secret (SAMR Art. 6; 浙江 rule Art. 5).
    TradeSecret,
    /// The main facts are personal privacy (浙江 rule Art. 5).
    PersonalPrivacy,
    /// The penalty is only a warning, and the agency excludes those (SAMR Art. 2).
    WarningOnly,
    /// The decision was made in the summary procedure, and the agency excludes those.
    SummaryProcedure,
}

impl ExclusionReason {
    /// Every reason, in the order they are checked.
    pub const ALL: [Self; 6] = [
        Self::StateSecret,
        Self::Minor,
        Self::TradeSecret,
        Self::PersonalPrivacy,
        Self::WarningOnly,
        Self::SummaryProcedure,
    ];

    /// The stable code stored with the disclosure.
    pub fn code(self) -> &'static str {
        match self {
            Self::StateSecret => "state_secret",
            Self::Minor => "minor",
            Self::TradeSecret => "trade_secret",
            Self::PersonalPrivacy => "personal_privacy",
            Self::WarningOnly => "warning_only",
            Self::SummaryProcedure => "summary_procedure",
        }
    }

    /// The reason as shown to a supervisor.
    pub fn label(self) -> &'static str {
        match self {
            Self::StateSecret => "涉及国家秘密",
            Self::Minor => "当事人为未成年人",
            Self::TradeSecret => "涉及商业秘密",
            Self::PersonalPrivacy => "涉及个人隐私",
            Self::WarningOnly => "仅受到警告行政处罚",
            Self::SummaryProcedure => "适用简易程序",
        }
    }
}

/// The facts that may exclude a decision from publication.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExclusionFacts {
    /// The penalty types imposed (empty for results that are not penalties).
    pub penalties: Vec<PenaltyType>,
    /// The punished person is a minor.
    pub minor: bool,
    /// The main facts are a state secret.
    pub state_secret: bool,
    /// The main facts are a trade secret.
    pub trade_secret: bool,
    /// The main facts are personal privacy.
    pub personal_privacy: bool,
    /// The decision was made in the summary procedure (简易程序).
    pub summary_procedure: bool,
}

impl DisclosurePolicy {
    /// Refuses a policy whose periods are zero or implausibly long, naming the field.
    pub fn validate(&self) -> Result<()> {
        for (field, days) in [
            ("policy.penalty_days", self.penalty_days),
            ("policy.licensing_days", self.licensing_days),
            ("policy.other_days", self.other_days),
        ] {
            if days == 0 || days > MAX_PERIOD_DAYS {
                return Err(Error::invalid(field, format!("must be 1..={MAX_PERIOD_DAYS} working days, got {days}")));
            }
        }
        for (field, months) in [
            ("policy.short_months", self.short_months),
            ("policy.long_months", self.long_months),
            ("policy.special_regime_min_months", self.special_regime_min_months),
        ] {
            if months == 0 || months > 120 {
                return Err(Error::invalid(field, format!("must be 1..=120 months, got {months}")));
            }
        }
        if self.short_months > self.long_months {
            return Err(Error::invalid("policy.short_months", "must not exceed policy.long_months"));
        }
        if self.early_stop_min_months > self.long_months {
            return Err(Error::invalid("policy.early_stop_min_months", "must not exceed policy.long_months"));
        }
        Ok(())
    }

    /// The publication period of `kind`, in working days.
    pub fn period_days(&self, kind: ResultKind) -> u32 {
        match kind {
            ResultKind::Penalty => self.penalty_days,
            ResultKind::Licensing => self.licensing_days,
            ResultKind::Other => self.other_days,
        }
    }

    /// When a decision made on `decision_date` must be published (RULES P3, D3): the decision
    /// day is not counted.
    pub fn disclosure_due(&self, calendar: &WorkCalendar, decision_date: NaiveDate, kind: ResultKind) -> Deadline {
        calendar.add_working_days(decision_date, self.period_days(kind))
    }

    /// Why a decision is not published, if it is not (RULES P4). Secrets and minors always
    /// exclude; warnings only and the summary procedure exclude where the policy says so. The
    /// first reason in [`ExclusionReason::ALL`] order is returned.
    pub fn exclusion(&self, kind: ResultKind, facts: &ExclusionFacts) -> Option<ExclusionReason> {
        let warning_only = kind == ResultKind::Penalty
            && !facts.penalties.is_empty()
            && facts.penalties.iter().all(|p| *p == PenaltyType::Warning);
        ExclusionReason::ALL.into_iter().find(|reason| match reason {
            ExclusionReason::StateSecret => facts.state_secret,
            ExclusionReason::Minor => facts.minor,
            ExclusionReason::TradeSecret => facts.trade_secret,
            ExclusionReason::PersonalPrivacy => facts.personal_privacy,
            ExclusionReason::WarningOnly => self.exclude_warning_only && warning_only,
            ExclusionReason::SummaryProcedure => self.exclude_summary_procedure && facts.summary_procedure,
        })
    }

    /// Whether the decision gets the short period: only 通报批评 and/or a small fine (a warning
    /// alongside does not lengthen it), SAMR Art. 13.
    pub fn is_short_publication(&self, facts: &PublicationFacts) -> bool {
        let only_light = facts.penalties.iter().all(|p| match p {
            PenaltyType::Warning | PenaltyType::PublicCriticism => true,
            PenaltyType::Fine => facts.fine_fen <= self.small_fine_max_fen,
            PenaltyType::ConfiscateIllegalGains
            | PenaltyType::ConfiscateIllegalProperty
            | PenaltyType::SuspendLicence
            | PenaltyType::LowerQualification
            | PenaltyType::RevokeLicence
            | PenaltyType::RestrictBusiness
            | PenaltyType::SuspendProduction
            | PenaltyType::OrderClosure
            | PenaltyType::RestrictPractice
            | PenaltyType::AdministrativeDetention
            | PenaltyType::Other => false,
        });
        let some_light = facts.penalties.iter().any(|p| matches!(p, PenaltyType::PublicCriticism | PenaltyType::Fine));
        only_light && some_light
    }

    /// The 公示截止期: the last day the entry is in the public listings (RULES P7; SAMR Art. 13).
    /// `start` is the day publication began (SAMR counts 自公示之日起); before publication, the
    /// decision date gives the earliest possible end. The period is `short_months` for 通报批评 or
    /// a small fine and `long_months` otherwise, at least `special_regime_min_months` in a
    /// special regime, and at least until a restriction ends. A month-end overflow clamps to the
    /// month's last day (2026-11-30 + 3 months = 2027-02-28).
    pub fn publication_end(&self, start: NaiveDate, facts: &PublicationFacts) -> NaiveDate {
        let mut months = if self.is_short_publication(facts) { self.short_months } else { self.long_months };
        if facts.special_regime {
            months = months.max(self.special_regime_min_months);
        }
        let end = add_months(start, months);
        facts.restriction_ends.map_or(end, |r| end.max(r))
    }

    /// Whether publication may stop early on `today` (SAMR Art. 14; RULES P7). Refused, naming
    /// the rule, for the penalty types in [`NEVER_STOP_EARLY`], and before
    /// `early_stop_min_months` of publication since `published_on`. The other conditions of
    /// Art. 14 (obligations performed, harm removed, no repeat, not on a list) are for the
    /// agency to check.
    pub fn may_stop_early(&self, facts: &PublicationFacts, published_on: NaiveDate, today: NaiveDate) -> Result<()> {
        if let Some(p) = facts.penalties.iter().find(|p| NEVER_STOP_EARLY.contains(p)) {
            return Err(Error::precondition(
                "P7.never_stop_early",
                format!("publication of a {} may not stop early (SAMR Art. 14)", p.as_str()),
            ));
        }
        let earliest = add_months(published_on, self.early_stop_min_months);
        if today < earliest {
            return Err(Error::precondition(
                "P7.minimum_period",
                format!(
                    "an early stop may be requested from {earliest} ({} months of publication)",
                    self.early_stop_min_months
                ),
            ));
        }
        Ok(())
    }
}

/// The date of birth written in a resident ID number (GB 11643): digits 7–14 (YYYYMMDD) of an
/// 18-character number, or digits 7–12 (YYMMDD, 19YY) of a 15-digit one. `None` when the text
/// has neither shape or the date does not exist. The check character is not required: a number
/// with a wrong check character still says when its holder was born, and for the minor rule an
/// exclusion errs on the protective side.
pub fn birth_date_from_id(id: &str) -> Option<NaiveDate> {
    let id = id.trim();
    let b = id.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let ymd = match b.len() {
        18 if digits(0..17) && (b[17].is_ascii_digit() || b[17] == b'X' || b[17] == b'x') => id[6..14].to_owned(),
        15 if digits(0..15) => format!("19{}", &id[6..12]),
        _ => return None,
    };
    NaiveDate::parse_from_str(&ymd, "%Y%m%d").ok()
}

/// Whether a person born on `born` is a minor (不满十八周岁) on `day`. Age is the full age in
/// calendar years, and a year of age is completed from the day after the birthday (实足年龄，从
/// 周岁生日的第二天起算, as the Supreme People's Court counts 周岁): on the 18th birthday itself
/// the person is still a minor. Someone born on 29 February turns 18 after 28 February in a
/// year without one.
pub fn minor_on(born: NaiveDate, day: NaiveDate) -> bool {
    day <= add_months(born, 18 * 12)
}

/// Whether a party's ID number shows a minor on `day` (RULES P4; 处罚法 Art. 30): the party is a
/// natural person for this rule only when the caller says so.
pub fn id_shows_minor(id_number: &str, day: NaiveDate) -> bool {
    birth_date_from_id(id_number).is_some_and(|born| born <= day && minor_on(born, day))
}

/// 长期: the 处罚有效期 of a decision whose effect has no end date, as the 信用中国 双公示 standard
/// writes it (2099-12-31).
pub const LONG_TERM: NaiveDate = match NaiveDate::from_ymd_opt(2099, 12, 31) {
    Some(d) => d,
    None => panic!("a valid date"),
};

/// Penalty types whose effect does not end by itself (a revoked licence, a closed business, a
/// lowered qualification stay so until a new decision).
const PERMANENT: [PenaltyType; 3] =
    [PenaltyType::RevokeLicence, PenaltyType::OrderClosure, PenaltyType::LowerQualification];

/// The 处罚有效期 of the CF export (RULES P9): the last day the penalty decision is in effect —
/// not the end of publication, which is 公示截止期. A penalty for a period (暂扣许可证件,
/// 责令停产停业, 限制开展生产经营活动, 限制从业 with `restriction_ends`) is in effect until that
/// period ends; a permanent one, or one carried out once (警告, 罚款, 没收), has no end of effect:
/// [`LONG_TERM`].
pub fn penalty_in_effect_until(facts: &PublicationFacts) -> NaiveDate {
    if facts.penalties.iter().any(|p| PERMANENT.contains(p)) {
        return LONG_TERM;
    }
    facts.restriction_ends.unwrap_or(LONG_TERM)
}

/// Adds calendar months, clamping to the month's last day; saturates at [`NaiveDate::MAX`].
fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_add_months(Months::new(months)).unwrap_or(NaiveDate::MAX)
}

/// When a withdrawal of a published decision revised on `revision_date` is due: 3 working days
/// (RULES P6; 处罚法 Art. 48; SAMR Art. 11), the revision day not counted.
pub fn withdrawal_due(calendar: &WorkCalendar, revision_date: NaiveDate) -> Deadline {
    calendar.add_working_days(revision_date, WITHDRAWAL_DAYS)
}

/// An amount in fen written in 万元 for the 双公示 exports (RULES P9): exact, no rounding, as the
/// shortest decimal — trailing zeros and a bare point are trimmed (1 234 567 fen → "1.234567",
/// 1 500 000 fen → "1.5", 1 000 000 fen → "1", 0 → "0"). 1 fen is 0.000001 万元, so six
/// decimals always suffice.
pub fn wan_yuan(fen: u64) -> String {
    const FEN_PER_WAN: u64 = 1_000_000;
    let whole = fen / FEN_PER_WAN;
    let frac = fen % FEN_PER_WAN;
    if frac == 0 {
        return whole.to_string();
    }
    let digits = format!("{frac:06}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// The 行政处罚 (CF) export columns of the 双公示 field set, in order (RULES P9). 行政相对人代码_1 is
/// the 统一社会信用代码; _2 to _6 are, in the 信用中国 standard, 工商注册号, 组织机构代码, 税务登记号,
/// 事业单位证书号 and 社会组织登记证号. Amounts are in 万元 ([`wan_yuan`]).
pub const CF_FIELDS: [&str; 28] = [
    "行政相对人名称",
    "行政相对人类别",
    "行政相对人代码_1",
    "行政相对人代码_2",
    "行政相对人代码_3",
    "行政相对人代码_4",
    "行政相对人代码_5",
    "行政相对人代码_6",
    "法定代表人",
    "证件类型",
    "证件号码",
    "行政处罚决定书文号",
    "违法行为类型",
    "违法事实",
    "处罚依据",
    "处罚类别",
    "处罚内容",
    "罚款金额(万元)",
    "没收违法所得、没收非法财物的金额(万元)",
    "暂扣或吊销证照名称及编号",
    "处罚决定日期",
    "处罚有效期",
    "公示截止期",
    "处罚机关",
    "处罚机关统一社会信用代码",
    "数据来源单位",
    "数据来源单位统一社会信用代码",
    "备注",
];

/// The 行政许可 (XK) export columns of the 双公示 field set, in order (RULES P9; codes as in
/// [`CF_FIELDS`]). RULES abbreviates "文书号" and "and its code"; the columns use the full names of
/// the 信用中国 standard (行政许可决定文书号, 许可机关统一社会信用代码, 数据来源单位统一社会信用代码).
pub const XK_FIELDS: [&str; 23] = [
    "行政相对人名称",
    "行政相对人代码_1",
    "行政相对人代码_2",
    "行政相对人代码_3",
    "行政相对人代码_4",
    "行政相对人代码_5",
    "行政相对人代码_6",
    "法定代表人",
    "行政许可决定文书名称",
    "行政许可决定文书号",
    "许可类别",
    "许可证书名称",
    "许可编号",
    "许可内容",
    "许可决定日期",
    "有效期自",
    "有效期至",
    "许可机关",
    "许可机关统一社会信用代码",
    "当前状态",
    "数据来源单位",
    "数据来源单位统一社会信用代码",
    "备注",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::parse_yuan;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn facts(penalties: &[PenaltyType], fine_fen: u64) -> PublicationFacts {
        PublicationFacts { penalties: penalties.to_vec(), fine_fen, ..PublicationFacts::default() }
    }

    #[test]
    fn a_penalty_decided_before_national_day_is_due_after_it() {
        let calendar = WorkCalendar::builtin();
        let policy = DisclosurePolicy::default();
        let due = policy.disclosure_due(&calendar, d("2026-09-29"), ResultKind::Penalty);
        assert_eq!(due, Deadline { date: d("2026-10-14"), provisional: false });
        assert_eq!(policy.disclosure_due(&calendar, d("2026-09-29"), ResultKind::Licensing).date, d("2026-10-14"));
    }

    #[test]
    fn other_results_take_twenty_working_days_and_policies_may_change_periods() {
        let calendar = WorkCalendar::builtin();
        let policy = DisclosurePolicy::default();
        // 2026-03-02 (Mon) + 20 working days, no holiday in between: four full weeks.
        assert_eq!(policy.disclosure_due(&calendar, d("2026-03-02"), ResultKind::Other).date, d("2026-03-30"));
        let samr = DisclosurePolicy { penalty_days: 20, ..DisclosurePolicy::default() };
        assert_eq!(samr.disclosure_due(&calendar, d("2026-03-02"), ResultKind::Penalty).date, d("2026-03-30"));
    }

    #[test]
    fn a_due_date_in_a_year_without_schedule_is_provisional() {
        let due =
            DisclosurePolicy::default().disclosure_due(&WorkCalendar::builtin(), d("2026-12-28"), ResultKind::Penalty);
        assert!(due.provisional);
        assert_eq!(due.date, d("2027-01-06"));
    }

    #[test]
    fn a_withdrawal_is_due_three_working_days_later_across_a_weekend() {
        let calendar = WorkCalendar::builtin();
        assert_eq!(withdrawal_due(&calendar, d("2026-11-26")), Deadline { date: d("2026-12-01"), provisional: false });
        // Revised on a Saturday: Monday to Wednesday.
        assert_eq!(withdrawal_due(&calendar, d("2026-11-28")).date, d("2026-12-02"));
        // Across 国庆: 2026-09-30, then 10-08 and 10-09.
        assert_eq!(withdrawal_due(&calendar, d("2026-09-29")).date, d("2026-10-09"));
    }

    #[test]
    fn a_revision_dated_earlier_is_due_three_working_days_after_its_own_date() {
        // Fri 2026-11-20: Mon 23, Tue 24, Wed 25 — whenever it is recorded.
        assert_eq!(withdrawal_due(&WorkCalendar::builtin(), d("2026-11-20")).date, d("2026-11-25"));
    }

    #[test]
    fn id_numbers_give_the_birth_date_and_minority_ends_after_the_18th_birthday() {
        // 18 characters (X as check character) and 15 digits (19YY).
        assert_eq!(birth_date_from_id("11010520081120123X"), Some(d("2008-11-20")));
        assert_eq!(birth_date_from_id(" 110105200811201234 "), Some(d("2008-11-20")));
        assert_eq!(birth_date_from_id("110105881120123"), Some(d("1988-11-20")));
        for bad in ["", "11010520081320123X", "1101052008112012", "11010520O81120123X", "11010520080230123X"] {
            assert_eq!(birth_date_from_id(bad), None, "{bad}");
        }
        let id = "11010520081120123X";
        assert!(id_shows_minor(id, d("2026-11-19")));
        assert!(id_shows_minor(id, d("2026-11-20")), "on the 18th birthday itself still a minor");
        assert!(!id_shows_minor(id, d("2026-11-21")));
        assert!(!id_shows_minor("110105881120123", d("2026-11-20")));
        assert!(!id_shows_minor("not an id", d("2026-11-20")));
        // Born on 29 February: 18 after 28 February of a common year.
        assert!(minor_on(d("2008-02-29"), d("2026-02-28")));
        assert!(!minor_on(d("2008-02-29"), d("2026-03-01")));
    }

    #[test]
    fn each_exclusion_has_its_reason() {
        use PenaltyType::{Fine, Warning};
        let policy = DisclosurePolicy::for_regime(Regime::Samr);
        let base = ExclusionFacts { penalties: vec![Fine], ..ExclusionFacts::default() };
        assert_eq!(policy.exclusion(ResultKind::Penalty, &base), None);
        let cases = [
            (ExclusionFacts { state_secret: true, ..base.clone() }, ExclusionReason::StateSecret),
            (ExclusionFacts { minor: true, ..base.clone() }, ExclusionReason::Minor),
            (ExclusionFacts { trade_secret: true, ..base.clone() }, ExclusionReason::TradeSecret),
            (ExclusionFacts { personal_privacy: true, ..base.clone() }, ExclusionReason::PersonalPrivacy),
            (ExclusionFacts { penalties: vec![Warning], ..base.clone() }, ExclusionReason::WarningOnly),
            (ExclusionFacts { summary_procedure: true, ..base.clone() }, ExclusionReason::SummaryProcedure),
        ];
        for (facts, reason) in cases {
            assert_eq!(policy.exclusion(ResultKind::Penalty, &facts), Some(reason), "{}", reason.label());
        }
        // The first reason wins: a minor's case involving a state secret is recorded as a secret.
        let both = ExclusionFacts { minor: true, state_secret: true, ..base.clone() };
        assert_eq!(policy.exclusion(ResultKind::Penalty, &both), Some(ExclusionReason::StateSecret));
    }

    #[test]
    fn configurable_exclusions_follow_the_policy_and_minors_are_always_excluded() {
        use PenaltyType::{Fine, Warning};
        let open = DisclosurePolicy {
            exclude_warning_only: false,
            exclude_summary_procedure: false,
            ..DisclosurePolicy::default()
        };
        let warning = ExclusionFacts { penalties: vec![Warning], summary_procedure: true, ..ExclusionFacts::default() };
        assert_eq!(open.exclusion(ResultKind::Penalty, &warning), None);
        // A warning with a fine is not "only a warning".
        let strict = DisclosurePolicy::for_regime(Regime::Samr);
        let with_fine = ExclusionFacts { penalties: vec![Warning, Fine], ..ExclusionFacts::default() };
        assert_eq!(strict.exclusion(ResultKind::Penalty, &with_fine), None);
        let minor = ExclusionFacts { minor: true, ..ExclusionFacts::default() };
        assert_eq!(open.exclusion(ResultKind::Licensing, &minor), Some(ExclusionReason::Minor));
        assert_eq!(open.exclusion(ResultKind::Other, &minor), Some(ExclusionReason::Minor));
        let codes: Vec<&str> = ExclusionReason::ALL.iter().map(|r| r.code()).collect();
        assert_eq!(codes.len(), codes.iter().collect::<std::collections::BTreeSet<_>>().len());
    }

    #[test]
    fn both_samr_exclusions_follow_the_regime_by_default() {
        use PenaltyType::Warning;
        let warning = ExclusionFacts { penalties: vec![Warning], ..ExclusionFacts::default() };
        let summary = ExclusionFacts { penalties: vec![PenaltyType::Fine], summary_procedure: true, ..warning.clone() };
        let general = DisclosurePolicy::default();
        assert_eq!(general, DisclosurePolicy::for_regime(Regime::General));
        assert_eq!((general.exclude_warning_only, general.exclude_summary_procedure), (false, false));
        assert_eq!(general.exclusion(ResultKind::Penalty, &warning), None);
        assert_eq!(general.exclusion(ResultKind::Penalty, &summary), None);
        assert_eq!(general.penalty_days, 7);
        let samr = DisclosurePolicy::for_regime(Regime::Samr);
        assert_eq!((samr.exclude_warning_only, samr.exclude_summary_procedure), (true, true));
        assert_eq!(samr.exclusion(ResultKind::Penalty, &warning), Some(ExclusionReason::WarningOnly));
        assert_eq!(samr.exclusion(ResultKind::Penalty, &summary), Some(ExclusionReason::SummaryProcedure));
        assert_eq!(samr.penalty_days, SAMR_PENALTY_DAYS);
        assert_eq!(samr.validate(), Ok(()));
        for r in Regime::ALL {
            assert_eq!(Regime::parse(r.code()), Some(r));
        }
        assert_eq!(Regime::parse(""), Some(Regime::General));
        assert_eq!(Regime::parse("samr2"), None);
        // A stored policy without a regime is the general one.
        let old: DisclosurePolicy = serde_json::from_str(r#"{"exclude_warning_only": true}"#).unwrap();
        assert_eq!(old.regime, Regime::General);
    }

    #[test]
    fn criticism_and_small_fines_end_after_three_months_others_after_three_years() {
        use PenaltyType::*;
        let policy = DisclosurePolicy::default();
        let start = d("2026-03-15");
        assert_eq!(policy.publication_end(start, &facts(&[PublicCriticism], 0)), d("2026-06-15"));
        assert_eq!(policy.publication_end(start, &facts(&[Warning, Fine], 1_000_000)), d("2026-06-15"));
        assert_eq!(policy.publication_end(start, &facts(&[Fine], 1_000_001)), d("2029-03-15"));
        assert_eq!(policy.publication_end(start, &facts(&[Fine, ConfiscateIllegalGains], 100)), d("2029-03-15"));
        assert_eq!(policy.publication_end(start, &facts(&[RevokeLicence], 0)), d("2029-03-15"));
        let lower = DisclosurePolicy { small_fine_max_fen: 500_000, ..DisclosurePolicy::default() };
        assert_eq!(lower.publication_end(start, &facts(&[Fine], 600_000)), d("2029-03-15"));
        // Month ends clamp.
        assert_eq!(policy.publication_end(d("2026-11-30"), &facts(&[Fine], 100)), d("2027-02-28"));
    }

    #[test]
    fn special_regimes_and_long_restrictions_lengthen_publication() {
        use PenaltyType::*;
        let policy = DisclosurePolicy::default();
        let start = d("2026-03-15");
        let special = PublicationFacts { special_regime: true, ..facts(&[Fine], 100) };
        assert_eq!(policy.publication_end(start, &special), d("2027-03-15"));
        let special_long = PublicationFacts { special_regime: true, ..facts(&[SuspendProduction], 0) };
        assert_eq!(policy.publication_end(start, &special_long), d("2029-03-15"));
        let restricted = PublicationFacts { restriction_ends: Some(d("2031-01-01")), ..facts(&[RestrictPractice], 0) };
        assert_eq!(policy.publication_end(start, &restricted), d("2031-01-01"));
        let short_restriction =
            PublicationFacts { restriction_ends: Some(d("2027-01-01")), ..facts(&[RestrictPractice], 0) };
        assert_eq!(policy.publication_end(start, &short_restriction), d("2029-03-15"));
    }

    #[test]
    fn early_stop_is_refused_for_the_severe_penalties_naming_the_rule() {
        let policy = DisclosurePolicy::default();
        let (published, later) = (d("2026-01-10"), d("2028-01-10"));
        for p in NEVER_STOP_EARLY {
            let err = policy.may_stop_early(&facts(&[PenaltyType::Fine, p], 100), published, later).unwrap_err();
            let Error::FailedPrecondition { rule, message } = err else { panic!("wrong category") };
            assert_eq!(rule, "P7.never_stop_early");
            assert!(message.contains(p.as_str()), "{message}");
        }
    }

    #[test]
    fn early_stop_is_allowed_only_after_the_minimum_period() {
        let policy = DisclosurePolicy::default();
        let fine = facts(&[PenaltyType::Fine], 5_000_000);
        let published = d("2026-01-10");
        let err = policy.may_stop_early(&fine, published, d("2027-01-09")).unwrap_err();
        assert!(matches!(err, Error::FailedPrecondition { ref rule, .. } if rule == "P7.minimum_period"), "{err}");
        assert_eq!(policy.may_stop_early(&fine, published, d("2027-01-10")), Ok(()));
    }

    #[test]
    fn policies_validate_and_default_from_partial_json() {
        assert_eq!(DisclosurePolicy::default().validate(), Ok(()));
        let zero = DisclosurePolicy { other_days: 0, ..DisclosurePolicy::default() };
        assert!(
            matches!(zero.validate(), Err(Error::InvalidArgument { ref field, .. }) if field == "policy.other_days")
        );
        let inverted = DisclosurePolicy { short_months: 40, ..DisclosurePolicy::default() };
        assert!(inverted.validate().is_err());
        let partial: DisclosurePolicy = serde_json::from_str(r#"{"penalty_days": 20, "auto_publish": false}"#).unwrap();
        assert_eq!(partial, DisclosurePolicy { penalty_days: 20, auto_publish: false, ..DisclosurePolicy::default() });
        assert!(serde_json::from_str::<DisclosurePolicy>(r#"{"penalty_dayz": 20}"#).is_err());
    }

    #[test]
    fn penalties_are_in_effect_until_their_period_ends_or_for_the_long_term() {
        use PenaltyType::*;
        let until = |penalties: &[PenaltyType], ends: Option<&str>| {
            penalty_in_effect_until(&PublicationFacts { restriction_ends: ends.map(d), ..facts(penalties, 100) })
        };
        assert_eq!(LONG_TERM, d("2099-12-31"));
        assert_eq!(until(&[SuspendLicence], Some("2027-05-31")), d("2027-05-31"));
        assert_eq!(until(&[Fine, RestrictPractice], Some("2031-01-01")), d("2031-01-01"));
        assert_eq!(until(&[Fine], None), LONG_TERM);
        assert_eq!(until(&[Warning], None), LONG_TERM);
        assert_eq!(until(&[RevokeLicence, RestrictPractice], Some("2031-01-01")), LONG_TERM);
        // Never the end of publication.
        let policy = DisclosurePolicy::default();
        let small = facts(&[Fine], 100);
        assert_ne!(penalty_in_effect_until(&small), policy.publication_end(d("2026-03-15"), &small));
    }

    #[test]
    fn amounts_are_written_in_wan_yuan() {
        assert_eq!(wan_yuan(1_234_567), "1.234567");
        assert_eq!(wan_yuan(0), "0");
        assert_eq!(wan_yuan(1_000_000), "1");
        assert_eq!(wan_yuan(1_500_000), "1.5");
        assert_eq!(wan_yuan(2_000_000_000), "2000");
        assert_eq!(wan_yuan(100), "0.0001");
        assert_eq!(wan_yuan(1), "0.000001");
        assert_eq!(wan_yuan(u64::MAX), "18446744073709.551615");
    }

    #[test]
    fn export_field_sets_are_the_rules_columns_in_order() {
        assert_eq!(CF_FIELDS[0], "行政相对人名称");
        assert_eq!(CF_FIELDS[11], "行政处罚决定书文号");
        assert_eq!(CF_FIELDS[17], "罚款金额(万元)");
        assert_eq!(CF_FIELDS[18], "没收违法所得、没收非法财物的金额(万元)");
        assert_eq!(CF_FIELDS[22], "公示截止期");
        assert_eq!(CF_FIELDS[27], "备注");
        assert_eq!(XK_FIELDS[8..10], ["行政许可决定文书名称", "行政许可决定文书号"]);
        assert_eq!(XK_FIELDS[15..17], ["有效期自", "有效期至"]);
        assert_eq!(XK_FIELDS[19], "当前状态");
        for fields in [&CF_FIELDS[..], &XK_FIELDS[..]] {
            let unique: std::collections::BTreeSet<_> = fields.iter().collect();
            assert_eq!(unique.len(), fields.len());
            assert!(fields.iter().all(|f| !f.is_empty() && !f.contains(',')), "CSV-safe names");
        }
        let codes: Vec<_> = (1..=6).map(|i| format!("行政相对人代码_{i}")).collect();
        assert_eq!(CF_FIELDS[2..8], codes[..]);
        assert_eq!(XK_FIELDS[1..7], codes[..]);
    }

    proptest! {
        #[test]
        fn wan_yuan_is_exact(fen in any::<u64>()) {
            let text = wan_yuan(fen);
            let (whole, frac) = text.split_once('.').unwrap_or((&text, ""));
            prop_assert!(frac.len() <= 6 && !frac.ends_with('0'));
            // 万元 → 元: move the point four places.
            let padded = format!("{frac:0<6}");
            let yuan = format!("{}{}.{}", whole, &padded[..4], &padded[4..]);
            let yuan = yuan.trim_start_matches('0');
            let yuan = if yuan.starts_with('.') { format!("0{yuan}") } else { yuan.to_owned() };
            prop_assert_eq!(parse_yuan(&yuan), Some(fen));
        }

        #[test]
        fn due_dates_are_later_working_days(day in 0i64..700, kind in prop::sample::select(vec![ResultKind::Penalty, ResultKind::Licensing, ResultKind::Other])) {
            let calendar = WorkCalendar::builtin();
            let decided = d("2025-01-01") + chrono::Duration::days(day);
            let due = DisclosurePolicy::default().disclosure_due(&calendar, decided, kind);
            prop_assert!(due.date > decided);
            prop_assert!(calendar.is_working_day(due.date).0);
            let withdrawal = withdrawal_due(&calendar, decided);
            prop_assert!(withdrawal.date > decided && withdrawal.date <= due.date);
        }

        #[test]
        fn publication_ends_after_it_starts(day in 0i64..3000, fine in 0u64..10_000_000, special in any::<bool>(), severe in any::<bool>()) {
            let policy = DisclosurePolicy::default();
            let start = d("2025-01-01") + chrono::Duration::days(day);
            let penalties = if severe { vec![PenaltyType::RevokeLicence] } else { vec![PenaltyType::Fine] };
            let facts = PublicationFacts { special_regime: special, ..facts(&penalties, fine) };
            let end = policy.publication_end(start, &facts);
            prop_assert!(end > start);
            prop_assert!(end >= add_months(start, DEFAULT_SHORT_MONTHS));
            if special { prop_assert!(end >= add_months(start, DEFAULT_SPECIAL_REGIME_MIN_MONTHS)); }
        }
    }
}

/// Where a disclosure stands, as stored in `disclosures.status` (and, for [`Self::Expired`], as
/// shown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisclosureStatus {
    /// Awaiting a publisher's confirmation.
    Pending,
    /// On the public feed.
    Published,
    /// Not published, for a recorded reason (P4).
    Excluded,
    /// The decision was revoked; the entry awaits withdrawal.
    WithdrawalPending,
    /// Taken off the feed after the decision was revoked (P6).
    Withdrawn,
    /// The case ended without a decision to publish.
    Cancelled,
    /// Taken off the feed early by a publisher.
    Ended,
    /// Never stored: a published entry whose 公示截止期 has passed (P7), computed at read time.
    Expired,
    /// Automatic publication held because the masked content still resembles personal data (fail
    /// closed): waits for a publisher's confirmation, like [`Self::Pending`].
    Held,
}

impl DisclosureStatus {
    /// Every status.
    pub const ALL: [Self; 9] = [
        Self::Pending,
        Self::Published,
        Self::Excluded,
        Self::WithdrawalPending,
        Self::Withdrawn,
        Self::Cancelled,
        Self::Ended,
        Self::Expired,
        Self::Held,
    ];

    /// Statuses a publisher's confirmation (PublishDisclosure) publishes.
    pub const AWAITING_CONFIRMATION: [Self; 2] = [Self::Pending, Self::Held];

    /// The stable name stored in the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Published => "published",
            Self::Excluded => "excluded",
            Self::WithdrawalPending => "withdrawal_pending",
            Self::Withdrawn => "withdrawn",
            Self::Cancelled => "cancelled",
            Self::Ended => "ended",
            Self::Expired => "expired",
            Self::Held => "held",
        }
    }

    /// The status a stored name denotes.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// A stored name, read back: an unknown name is a `DATA_LOSS` error naming the row.
    pub fn from_stored(s: &str, row: &str) -> Result<Self> {
        Self::parse(s).ok_or_else(|| Error::DataLoss(format!("{row} has an unknown disclosure status")))
    }

    /// Whether a publisher's confirmation publishes an entry in this status.
    pub fn awaits_confirmation(self) -> bool {
        Self::AWAITING_CONFIRMATION.contains(&self)
    }
}

impl std::fmt::Display for DisclosureStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<DisclosureStatus> for String {
    fn eq(&self, other: &DisclosureStatus) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<DisclosureStatus> for str {
    fn eq(&self, other: &DisclosureStatus) -> bool {
        self == other.as_str()
    }
}

#[cfg(test)]
mod status_tests {
    use super::DisclosureStatus;
    use crate::review::DraftStatus;

    #[test]
    fn statuses_round_trip_and_unknown_names_are_data_loss() {
        for s in DisclosureStatus::ALL {
            assert_eq!(DisclosureStatus::parse(s.as_str()), Some(s));
            // A stored column (a String) compares with the status it holds.
            let stored: Vec<String> = vec![s.as_str().to_owned()];
            assert!(stored[0] == s && *stored[0].as_str() == s);
        }
        for s in DraftStatus::ALL {
            assert_eq!(DraftStatus::parse(s.as_str()), Some(s));
        }
        let e = DisclosureStatus::from_stored("publishd", "disclosure d1").unwrap_err();
        assert!(matches!(e, crate::Error::DataLoss(ref m) if m.contains("disclosure d1")), "{e:?}");
        assert!(matches!(DraftStatus::from_stored("", "draft x"), Err(crate::Error::DataLoss(_))));
        assert!(DisclosureStatus::Held.awaits_confirmation());
        assert!(!DisclosureStatus::Published.awaits_confirmation());
    }
}

/// A section of an agency's notice before enforcement (事前公开, RULES P1), in publication order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoticeSection {
    /// 执法主体
    Body,
    /// 执法职责
    Duties,
    /// 权责清单
    Powers,
    /// 执法程序
    Procedures,
    /// 服务指南
    ServiceGuides,
    /// 随机抽查事项清单
    RandomInspections,
    /// 监督方式
    SupervisionChannels,
    /// 救济渠道
    RemedyChannels,
}

impl NoticeSection {
    /// Every section, in publication order.
    pub const ALL: [Self; 8] = [
        Self::Body,
        Self::Duties,
        Self::Powers,
        Self::Procedures,
        Self::ServiceGuides,
        Self::RandomInspections,
        Self::SupervisionChannels,
        Self::RemedyChannels,
    ];

    /// The stable name stored in the database and shown on the public surface.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Body => "body",
            Self::Duties => "duties",
            Self::Powers => "powers",
            Self::Procedures => "procedures",
            Self::ServiceGuides => "service_guides",
            Self::RandomInspections => "random_inspections",
            Self::SupervisionChannels => "supervision_channels",
            Self::RemedyChannels => "remedy_channels",
        }
    }

    /// The section a stored name denotes.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Whether each item of the section publishes its legal basis (the power list and the
    /// random-inspection list, RULES P1).
    pub fn items_need_legal_basis(self) -> bool {
        matches!(self, Self::Powers | Self::RandomInspections)
    }
}
