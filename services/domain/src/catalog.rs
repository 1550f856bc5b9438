//! The major-decision catalog (重大执法决定法制审核目录清单) of an agency, and whether a draft
//! decision is major, so that it must pass legal review before it is made (RULES L1, L2, L6, L7).
//!
//! A decision is major when a statutory trigger of 处罚法 Art. 58 holds (major public interest;
//! major rights of a party or third party after a hearing; a difficult or complex case; required by
//! law) — whatever the catalog says — or when a rule of the agency's catalog matches. Catalogs are
//! configuration: they are read from TOML (`docs/catalog-examples.toml`) and stored as JSON. Amounts are
//! written in yuan but held and compared in integer fen.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::calendar::{Deadline, WorkCalendar};
use crate::error::{Error, Result};
use crate::lifecycle::CaseKind;

/// Default review time limit in working days (RULES L7: 辽宁, 宁夏).
pub const DEFAULT_REVIEW_DAYS: u32 = 7;
/// Default extension of the review time limit in working days, with approval (RULES L7).
pub const DEFAULT_REVIEW_EXTENSION_DAYS: u32 = 3;

macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $($(#[$vmeta:meta])* $variant:ident => $label:literal, $code:literal,)* }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $label)] $variant,)*
        }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The name used in catalogs and documents (also the serde name).
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $label,)* }
            }

            /// A stable ASCII code, used in rule ids.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code,)* }
            }

            /// Parses [`Self::as_str`].
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($label => Some($name::$variant),)* _ => None }
            }
        }
    };
}

named_enum! {
    /// A type of administrative penalty (处罚法 Art. 9; RULES L9).
    PenaltyType {
        /// 警告
        Warning => "警告", "warning",
        /// 通报批评
        PublicCriticism => "通报批评", "public_criticism",
        /// 罚款
        Fine => "罚款", "fine",
        /// 没收违法所得
        ConfiscateIllegalGains => "没收违法所得", "confiscate_illegal_gains",
        /// 没收非法财物
        ConfiscateIllegalProperty => "没收非法财物", "confiscate_illegal_property",
        /// 暂扣许可证件
        SuspendLicence => "暂扣许可证件", "suspend_licence",
        /// 降低资质等级
        LowerQualification => "降低资质等级", "lower_qualification",
        /// 吊销许可证件
        RevokeLicence => "吊销许可证件", "revoke_licence",
        /// 限制开展生产经营活动
        RestrictBusiness => "限制开展生产经营活动", "restrict_business",
        /// 责令停产停业
        SuspendProduction => "责令停产停业", "suspend_production",
        /// 责令关闭
        OrderClosure => "责令关闭", "order_closure",
        /// 限制从业
        RestrictPractice => "限制从业", "restrict_practice",
        /// 行政拘留
        AdministrativeDetention => "行政拘留", "administrative_detention",
        /// 法律、行政法规规定的其他行政处罚
        Other => "其他", "other",
    }
}

impl PenaltyType {
    /// Whether this penalty confiscates money or property (没收违法所得, 没收非法财物).
    pub fn is_confiscation(self) -> bool {
        matches!(self, Self::ConfiscateIllegalGains | Self::ConfiscateIllegalProperty)
    }

    /// Whether this type carries the right to a hearing whatever the amount (处罚法 Art. 63 (三)
    /// 降低资质等级、吊销许可证件, (四) 责令停产停业、责令关闭、限制从业, and as (五) 其他较重的行政处罚
    /// the types of the same weight: 暂扣许可证件 and 限制开展生产经营活动). Fines and confiscations
    /// carry it from a large amount ([`Catalog::hearing_fine_natural_person`]); 警告, 通报批评 and
    /// 行政拘留 (heard under its own law) do not.
    pub fn carries_hearing_right(self) -> bool {
        matches!(
            self,
            Self::LowerQualification
                | Self::RevokeLicence
                | Self::SuspendProduction
                | Self::OrderClosure
                | Self::RestrictPractice
                | Self::SuspendLicence
                | Self::RestrictBusiness
        )
    }
}

/// 较大数额 of a fine or confiscation for a natural person (处罚法 Art. 63 (一)(二)), from which a
/// hearing may be requested: 10 000 元, as in SAMR's hearing rule; provinces and departments set
/// their own ([`Catalog::hearing_fine_natural_person`]).
pub const DEFAULT_HEARING_FINE_NATURAL_PERSON_FEN: u64 = 1_000_000;
/// 较大数额 for an organisation: 100 000 元, as in SAMR's hearing rule.
pub const DEFAULT_HEARING_FINE_ORGANISATION_FEN: u64 = 10_000_000;

named_enum! {
    /// A licensing decision (行政许可法).
    LicensingAction {
        /// 准予许可 (Art. 38)
        Grant => "准予许可", "grant",
        /// 不予许可 (Art. 38)
        Refuse => "不予许可", "refuse",
        /// 变更许可 (Art. 49)
        Change => "变更许可", "change",
        /// 延续许可 (Art. 50)
        Renew => "延续许可", "renew",
        /// 不予延续 (Art. 50)
        RefuseRenewal => "不予延续", "refuse_renewal",
        /// 撤回许可 (Art. 8)
        Withdraw => "撤回许可", "withdraw",
        /// 撤销许可 (Art. 69)
        Revoke => "撤销许可", "revoke",
        /// 注销许可 (Art. 70)
        Cancel => "注销许可", "cancel",
    }
}

/// The kind of party a decision is addressed to, which selects the fine threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartyType {
    /// 自然人 (公民)
    NaturalPerson,
    /// 法人或者其他组织
    Organisation,
}

impl PartyType {
    /// The stable code, as in rule ids.
    pub fn code(self) -> &'static str {
        match self {
            Self::NaturalPerson => "natural_person",
            Self::Organisation => "organisation",
        }
    }

    /// The Chinese name.
    pub fn label(self) -> &'static str {
        match self {
            Self::NaturalPerson => "自然人",
            Self::Organisation => "法人或者其他组织",
        }
    }
}

/// Parses an amount in yuan written as a decimal ("10000", "10000.5", "10000.50") into fen.
/// Digits beyond the second decimal must be zero; signs, exponents and separators are refused.
pub fn parse_yuan(s: &str) -> Option<u64> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits(int) || !digits(frac) || (s.contains('.') && frac.is_empty()) {
        return None;
    }
    if frac.bytes().skip(2).any(|b| b != b'0') {
        return None;
    }
    let mut cents = 0;
    for (i, b) in frac.bytes().take(2).enumerate() {
        cents += u64::from(b - b'0') * if i == 0 { 10 } else { 1 };
    }
    int.parse::<u64>().ok()?.checked_mul(100)?.checked_add(cents)
}

/// An amount in fen, written in yuan: "10000 元", "10000.50 元".
pub fn format_yuan(fen: u64) -> String {
    if fen.is_multiple_of(100) { format!("{} 元", fen / 100) } else { format!("{}.{:02} 元", fen / 100, fen % 100) }
}

/// A fine threshold of a catalog: the decision is major when the amount is at least (inclusive)
/// or more than (exclusive) this amount.
///
/// Written as `{ amount = 10000, inclusive = true }` with the amount in yuan (an integer, a
/// decimal or a decimal string, at most two decimals), or as `{ amount_fen = 1000000, ... }`;
/// stored as `amount_fen`. `inclusive` defaults to true: in Chinese legal drafting "以上" includes
/// the number itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawThreshold", into = "RawThreshold")]
pub struct FineThreshold {
    /// The threshold in fen.
    pub amount_fen: u64,
    /// `true`: amount ≥ threshold is major; `false`: amount > threshold is major.
    pub inclusive: bool,
}

impl FineThreshold {
    /// Whether `amount_fen` reaches the threshold.
    pub fn reached_by(self, amount_fen: u64) -> bool {
        if self.inclusive { amount_fen >= self.amount_fen } else { amount_fen > self.amount_fen }
    }

    fn describe(self) -> String {
        format!("{} {}", if self.inclusive { "≥" } else { ">" }, format_yuan(self.amount_fen))
    }
}

/// An amount in yuan as written in a catalog.
#[derive(Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum YuanAmount {
    Integer(u64),
    Decimal(f64),
    Text(String),
}

impl YuanAmount {
    fn to_fen(&self) -> Option<u64> {
        match self {
            Self::Integer(yuan) => yuan.checked_mul(100),
            // `Display` of an f64 is its shortest exact decimal, never in exponent form.
            Self::Decimal(yuan) => parse_yuan(&yuan.to_string()),
            Self::Text(yuan) => parse_yuan(yuan.trim()),
        }
    }
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawThreshold {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    amount: Option<YuanAmount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    amount_fen: Option<u64>,
    #[serde(default = "default_true")]
    inclusive: bool,
}

fn default_true() -> bool {
    true
}

impl TryFrom<RawThreshold> for FineThreshold {
    type Error = String;

    fn try_from(raw: RawThreshold) -> Result<Self, String> {
        let amount_fen = match (&raw.amount, raw.amount_fen) {
            (Some(yuan), None) => {
                yuan.to_fen().ok_or("amount must be a non-negative number of yuan with at most two decimals")?
            }
            (None, Some(fen)) => fen,
            _ => return Err("give exactly one of amount (yuan) and amount_fen".to_owned()),
        };
        Ok(Self { amount_fen, inclusive: raw.inclusive })
    }
}

impl From<FineThreshold> for RawThreshold {
    fn from(t: FineThreshold) -> Self {
        Self { amount: None, amount_fen: Some(t.amount_fen), inclusive: t.inclusive }
    }
}

/// An agency's major-decision catalog (重大执法决定法制审核目录清单, RULES L2). Every field is
/// optional; an empty catalog leaves only the statutory triggers of 处罚法 Art. 58.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Catalog {
    /// A label for the catalog, e.g. the agency or place it comes from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agency_example: Option<String>,
    /// Fines (plus confiscation, if it counts) at or above this are major for a natural person.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fine_natural_person: Option<FineThreshold>,
    /// Fines (plus confiscation, if it counts) at or above this are major for an organisation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fine_organisation: Option<FineThreshold>,
    /// Whether the value of 没收违法所得 and 没收非法财物 is added to the fine before comparing.
    pub confiscation_counts_as_fine: bool,
    /// Penalty types that make a decision major whatever the amount (e.g. 吊销许可证件).
    pub always_major_penalties: Vec<PenaltyType>,
    /// Every decision made after a hearing (听证) is major.
    pub after_hearing: bool,
    /// Every decision that reduces or increases the penalty beyond the discretion standard
    /// (裁量基准) is major.
    pub outside_discretion_standard: bool,
    /// Licensing decisions that are major (e.g. 撤回许可, 撤销许可, 不予许可).
    pub licensing_major: Vec<LicensingAction>,
    /// Every penalty decided under the ordinary procedure (一般程序) is major.
    pub all_ordinary_procedure_penalties: bool,
    /// Review time limit in working days from complete materials (RULES L7; default 7).
    pub review_days: u32,
    /// Extension of the review time limit in working days, with approval (default 3).
    pub review_extension_days: u32,
    /// A major decision also needs a collective discussion (集体讨论) of the agency's leadership
    /// (处罚法 Art. 57; RULES L6).
    pub collective_discussion_required: bool,
    /// 较大数额 for a natural person (处罚法 Art. 63 (一)(二)): a fine, or a confiscation, at or
    /// above this carries the right to a hearing (default 10 000 元).
    pub hearing_fine_natural_person: FineThreshold,
    /// 较大数额 for an organisation (default 100 000 元).
    pub hearing_fine_organisation: FineThreshold,
}

impl Default for Catalog {
    fn default() -> Self {
        Self {
            agency_example: None,
            fine_natural_person: None,
            fine_organisation: None,
            confiscation_counts_as_fine: false,
            always_major_penalties: Vec::new(),
            after_hearing: false,
            outside_discretion_standard: false,
            licensing_major: Vec::new(),
            all_ordinary_procedure_penalties: false,
            review_days: DEFAULT_REVIEW_DAYS,
            review_extension_days: DEFAULT_REVIEW_EXTENSION_DAYS,
            collective_discussion_required: false,
            hearing_fine_natural_person: FineThreshold {
                amount_fen: DEFAULT_HEARING_FINE_NATURAL_PERSON_FEN,
                inclusive: true,
            },
            hearing_fine_organisation: FineThreshold {
                amount_fen: DEFAULT_HEARING_FINE_ORGANISATION_FEN,
                inclusive: true,
            },
        }
    }
}

impl Catalog {
    /// Parses and validates one catalog written in TOML (the fields of a `[[catalog]]` entry of
    /// `docs/catalog-examples.toml`, at top level).
    pub fn from_toml(text: &str) -> Result<Self> {
        let catalog: Self = toml::from_str(text).map_err(|e| Error::invalid("catalog", e.message().to_owned()))?;
        catalog.validate()?;
        Ok(catalog)
    }

    /// Checks the values serde cannot: the review time limit is at least one working day.
    pub fn validate(&self) -> Result<()> {
        if self.review_days == 0 {
            return Err(Error::invalid("review_days", "the review time limit must be at least one working day"));
        }
        Ok(())
    }

    /// The fine threshold for a party type.
    pub fn fine_threshold(&self, party: PartyType) -> Option<FineThreshold> {
        match party {
            PartyType::NaturalPerson => self.fine_natural_person,
            PartyType::Organisation => self.fine_organisation,
        }
    }

    /// Why the draft's penalties carry the right to a hearing (处罚法 Art. 63), if they do: a type
    /// with the right ([`PenaltyType::carries_hearing_right`]), a fine of 较大数额, or a
    /// confiscation of 较大数额 (each against the party's threshold of this catalog).
    pub fn hearing_right(&self, facts: &DraftFacts) -> Option<String> {
        if let Some(p) = facts.penalties.iter().find(|p| p.kind.carries_hearing_right()) {
            return Some(format!("「{}」", p.kind.as_str()));
        }
        let threshold = match facts.party {
            PartyType::NaturalPerson => self.hearing_fine_natural_person,
            PartyType::Organisation => self.hearing_fine_organisation,
        };
        let fine = facts.fine_fen();
        if fine > 0 && threshold.reached_by(fine) {
            return Some(format!("较大数额罚款 {}（{}）", format_yuan(fine), threshold.describe()));
        }
        if facts.penalties.iter().any(|p| p.kind.is_confiscation())
            && facts.confiscation_fen > 0
            && threshold.reached_by(facts.confiscation_fen)
        {
            return Some(format!("没收较大数额 {}（{}）", format_yuan(facts.confiscation_fen), threshold.describe()));
        }
        None
    }

    /// The review deadline when the materials were complete on `materials_complete` (the clock
    /// restarts when missing materials are supplied): [`Self::review_days`] working days, plus
    /// [`Self::review_extension_days`] if the extension was approved (RULES L7).
    pub fn review_deadline(&self, calendar: &WorkCalendar, materials_complete: NaiveDate, extended: bool) -> Deadline {
        let extra = if extended { self.review_extension_days } else { 0 };
        calendar.add_working_days(materials_complete, self.review_days.saturating_add(extra))
    }
}

/// One penalty of a draft decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PenaltyItem {
    /// The penalty type.
    pub kind: PenaltyType,
    /// The fine in fen, for [`PenaltyType::Fine`]; zero for every other type (the value of
    /// confiscations goes in [`DraftFacts::confiscation_fen`]).
    pub amount_fen: u64,
}

/// What the classification needs to know of a draft decision.
///
/// Rules are applied to the facts as given (a penalty item counts even in a case not marked as a
/// penalty case), so an inconsistent draft errs towards review; [`Self::validate`] reports the
/// inconsistency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftFacts {
    /// The kind of case: penalty, licensing, or another kind.
    pub case_kind: CaseKind,
    /// The party the decision is addressed to.
    pub party: PartyType,
    /// The penalties of a penalty decision.
    pub penalties: Vec<PenaltyItem>,
    /// Total value of 没收违法所得 and 没收非法财物, in fen.
    pub confiscation_fen: u64,
    /// A hearing (听证) was held, as the draft says.
    pub hearing_held: bool,
    /// The case's record has a hearing request or a hearing record (its events), whatever the
    /// draft says.
    pub hearing_in_record: bool,
    /// The decision reduces or increases the penalty beyond the discretion standard (裁量基准).
    pub outside_discretion_standard: bool,
    /// The penalty is decided under the ordinary procedure (一般程序), not the summary procedure.
    pub ordinary_procedure: bool,
    /// The licensing decision, for a licensing case.
    pub licensing_action: Option<LicensingAction>,
    /// 处罚法 Art. 58 (1): 涉及重大公共利益.
    pub major_public_interest: bool,
    /// 处罚法 Art. 58 (3): 案件情况疑难复杂、涉及多个法律关系.
    pub complex_case: bool,
    /// 处罚法 Art. 58 (4): 法律、法规规定应当进行法制审核.
    pub required_by_law: bool,
    /// 处罚法 Art. 58 (2): 直接关系当事人或者第三人重大权益，经过听证程序, as the client says. The
    /// trigger also holds without it when [`Catalog::hearing_right`] finds a penalty with a
    /// hearing right and a hearing was held or requested.
    pub major_rights_and_hearing: bool,
}

impl DraftFacts {
    /// A draft of `case_kind` addressed to `party`, with no penalties and no trigger set.
    pub fn new(case_kind: CaseKind, party: PartyType) -> Self {
        Self {
            case_kind,
            party,
            penalties: Vec::new(),
            confiscation_fen: 0,
            hearing_held: false,
            hearing_in_record: false,
            outside_discretion_standard: false,
            ordinary_procedure: false,
            licensing_action: None,
            major_public_interest: false,
            complex_case: false,
            required_by_law: false,
            major_rights_and_hearing: false,
        }
    }

    /// The total of the fines, in fen.
    pub fn fine_fen(&self) -> u64 {
        self.penalties.iter().filter(|p| p.kind == PenaltyType::Fine).fold(0, |sum, p| sum.saturating_add(p.amount_fen))
    }

    /// Checks that the facts are consistent; errors name the field.
    pub fn validate(&self) -> Result<()> {
        if !self.penalties.is_empty() && self.case_kind != CaseKind::Penalty {
            return Err(Error::invalid("penalties", "only a penalty decision has penalties"));
        }
        if self.licensing_action.is_some() && self.case_kind != CaseKind::Licensing {
            return Err(Error::invalid("licensing_action", "only a licensing decision has a licensing action"));
        }
        for (i, p) in self.penalties.iter().enumerate() {
            if p.kind == PenaltyType::Fine && p.amount_fen == 0 {
                return Err(Error::invalid(format!("penalties[{i}].amount_fen"), "a fine needs an amount"));
            }
            if p.kind != PenaltyType::Fine && p.amount_fen != 0 {
                return Err(Error::invalid(
                    format!("penalties[{i}].amount_fen"),
                    format!(
                        "only a fine carries an amount, not {}; confiscated value goes in confiscation_fen",
                        p.kind.as_str()
                    ),
                ));
            }
        }
        if self.confiscation_fen > 0 && !self.penalties.iter().any(|p| p.kind.is_confiscation()) {
            return Err(Error::invalid(
                "confiscation_fen",
                "a confiscated value needs a 没收违法所得 or 没收非法财物 penalty",
            ));
        }
        Ok(())
    }
}

/// A rule that made a draft major.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchedRule {
    /// Stable id: `statute.major_public_interest`, `statute.major_rights_and_hearing`,
    /// `statute.complex_case`, `statute.required_by_law`, `catalog.fine.natural_person`,
    /// `catalog.fine.organisation`, `catalog.penalty.<code>`, `catalog.after_hearing`,
    /// `catalog.outside_discretion_standard`, `catalog.licensing.<code>`,
    /// `catalog.ordinary_procedure`.
    pub rule: String,
    /// Why, for people, with the amounts.
    pub reason: String,
}

/// Whether a draft is a major decision, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Classification {
    /// The draft needs a passed legal review before the decision (RULES L1).
    pub major: bool,
    /// Every rule that matched, statutory triggers first; empty exactly when not major.
    pub matched: Vec<MatchedRule>,
    /// The decision also needs a collective discussion (集体讨论): the draft is major and the
    /// catalog requires it (RULES L6).
    pub collective_discussion_required: bool,
}

/// Classifies a draft against an agency's catalog (RULES L2). The statutory triggers of 处罚法
/// Art. 58 apply whatever the catalog says.
pub fn evaluate(catalog: &Catalog, facts: &DraftFacts) -> Classification {
    let mut matched = Vec::new();
    let mut add = |rule: String, reason: String| matched.push(MatchedRule { rule, reason });

    // Art. 58 (2) is derived as well as declared: a penalty with a hearing right (Art. 63) in a
    // case that went to a hearing (held or requested, in the draft or the record) directly
    // concerns the party's major rights and went through the hearing procedure.
    let heard = facts.hearing_held || facts.hearing_in_record;
    let derived = if heard { catalog.hearing_right(facts) } else { None };
    let rights_reason = match (&derived, facts.major_rights_and_hearing) {
        (Some(why), false) => format!(
            "直接关系当事人或者第三人重大权益，经过听证程序（处罚法第五十八条第一款第二项；{why}享有听证权利，第六十三条）"
        ),
        _ => "直接关系当事人或者第三人重大权益，经过听证程序（处罚法第五十八条第一款第二项）".to_owned(),
    };
    let statute = [
        (facts.major_public_interest, "major_public_interest", "涉及重大公共利益（处罚法第五十八条第一款第一项）"),
        (facts.major_rights_and_hearing || derived.is_some(), "major_rights_and_hearing", rights_reason.as_str()),
        (facts.complex_case, "complex_case", "案件情况疑难复杂、涉及多个法律关系（处罚法第五十八条第一款第三项）"),
        (facts.required_by_law, "required_by_law", "法律、法规规定应当进行法制审核（处罚法第五十八条第一款第四项）"),
    ];
    for (holds, id, reason) in statute {
        if holds {
            add(format!("statute.{id}"), reason.to_owned());
        }
    }

    let has_fine = facts.penalties.iter().any(|p| p.kind == PenaltyType::Fine);
    let counted_confiscation = if catalog.confiscation_counts_as_fine { facts.confiscation_fen } else { 0 };
    if let Some(threshold) = catalog.fine_threshold(facts.party)
        && (has_fine || counted_confiscation > 0)
    {
        let fine = facts.fine_fen();
        let total = fine.saturating_add(counted_confiscation);
        if threshold.reached_by(total) {
            let amount = if counted_confiscation > 0 {
                format!(
                    "罚款 {} + 没收 {} = {}",
                    format_yuan(fine),
                    format_yuan(counted_confiscation),
                    format_yuan(total)
                )
            } else {
                format!("罚款 {}", format_yuan(fine))
            };
            add(
                format!("catalog.fine.{}", facts.party.code()),
                format!("对{}{}，达到目录标准（{}）", facts.party.label(), amount, threshold.describe()),
            );
        }
    }

    for kind in PenaltyType::ALL {
        if catalog.always_major_penalties.contains(kind) && facts.penalties.iter().any(|p| p.kind == *kind) {
            add(format!("catalog.penalty.{}", kind.code()), format!("处罚种类「{}」列入目录", kind.as_str()));
        }
    }

    if catalog.after_hearing && facts.hearing_held {
        add("catalog.after_hearing".to_owned(), "经过听证程序作出的决定列入目录".to_owned());
    }
    if catalog.outside_discretion_standard && facts.outside_discretion_standard {
        add(
            "catalog.outside_discretion_standard".to_owned(),
            "超出裁量基准（减轻或者从重）作出的决定列入目录".to_owned(),
        );
    }
    if let Some(action) = facts.licensing_action
        && catalog.licensing_major.contains(&action)
    {
        add(format!("catalog.licensing.{}", action.code()), format!("许可决定「{}」列入目录", action.as_str()));
    }
    let is_penalty = facts.case_kind == CaseKind::Penalty || !facts.penalties.is_empty();
    if catalog.all_ordinary_procedure_penalties && facts.ordinary_procedure && is_penalty {
        add("catalog.ordinary_procedure".to_owned(), "适用一般程序作出的行政处罚决定均列入目录".to_owned());
    }

    let major = !matched.is_empty();
    Classification { major, matched, collective_discussion_required: major && catalog.collective_discussion_required }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The examples the README and docs/API.md cite.
    const EXAMPLES: &str = include_str!("../../../docs/catalog-examples.toml");

    #[derive(Deserialize)]
    struct Examples {
        catalog: Vec<Catalog>,
    }

    /// The four example catalogs: 巩义, 益阳, 通州, 宁夏.
    fn examples() -> [Catalog; 4] {
        let parsed: Examples = toml::from_str(EXAMPLES).unwrap();
        for c in &parsed.catalog {
            c.validate().unwrap();
        }
        parsed.catalog.try_into().unwrap()
    }

    use PartyType::{NaturalPerson as NP, Organisation as ORG};

    fn penalty(party: PartyType, items: &[(PenaltyType, u64)]) -> DraftFacts {
        let mut f = DraftFacts::new(CaseKind::Penalty, party);
        f.ordinary_procedure = true;
        f.penalties = items.iter().map(|&(kind, amount_fen)| PenaltyItem { kind, amount_fen }).collect();
        f
    }

    fn fine(party: PartyType, fen: u64) -> DraftFacts {
        penalty(party, &[(PenaltyType::Fine, fen)])
    }

    fn fine_and_confiscation(party: PartyType, fine_fen: u64, confiscation_fen: u64) -> DraftFacts {
        let mut f = penalty(party, &[(PenaltyType::Fine, fine_fen), (PenaltyType::ConfiscateIllegalGains, 0)]);
        f.confiscation_fen = confiscation_fen;
        f
    }

    fn licensing(action: LicensingAction) -> DraftFacts {
        let mut f = DraftFacts::new(CaseKind::Licensing, ORG);
        f.licensing_action = Some(action);
        f
    }

    fn rules(c: &Catalog, f: &DraftFacts) -> Vec<String> {
        f.validate().unwrap();
        let class = evaluate(c, f);
        assert_eq!(class.major, !class.matched.is_empty());
        class.matched.into_iter().map(|m| m.rule).collect()
    }

    fn is_major(c: &Catalog, f: &DraftFacts) -> bool {
        !rules(c, f).is_empty()
    }

    /// At the threshold, one fen below and one fen above.
    fn around(c: &Catalog, party: PartyType, threshold_fen: u64) -> [bool; 3] {
        [threshold_fen - 1, threshold_fen, threshold_fen + 1].map(|fen| is_major(c, &fine(party, fen)))
    }

    #[test]
    fn examples_parse_into_catalogs() {
        let [gongyi, yiyang, tongzhou, ningxia] = examples();
        assert_eq!(gongyi.agency_example.as_deref(), Some("巩义市 (河南)"));
        assert_eq!(gongyi.fine_natural_person, Some(FineThreshold { amount_fen: 1_000_000, inclusive: true }));
        assert_eq!(gongyi.fine_organisation, Some(FineThreshold { amount_fen: 10_000_000, inclusive: true }));
        assert_eq!(gongyi.always_major_penalties, vec![PenaltyType::SuspendProduction, PenaltyType::RevokeLicence]);
        assert!(gongyi.confiscation_counts_as_fine && gongyi.after_hearing && gongyi.outside_discretion_standard);
        assert_eq!(yiyang.licensing_major, vec![LicensingAction::Withdraw, LicensingAction::Revoke]);
        assert!(!yiyang.outside_discretion_standard);
        assert_eq!(tongzhou.fine_natural_person, Some(FineThreshold { amount_fen: 500_000, inclusive: false }));
        assert!(!tongzhou.confiscation_counts_as_fine && !tongzhou.after_hearing);
        assert!(ningxia.all_ordinary_procedure_penalties);
        assert_eq!(ningxia.fine_natural_person, None);
        for c in [&gongyi, &yiyang, &tongzhou, &ningxia] {
            assert_eq!((c.review_days, c.review_extension_days), (7, 3));
            assert!(!c.collective_discussion_required);
            // Stored as JSON and read back unchanged.
            let json = serde_json::to_string(c).unwrap();
            assert_eq!(&serde_json::from_str::<Catalog>(&json).unwrap(), c);
        }
        assert!(
            serde_json::to_string(&tongzhou)
                .unwrap()
                .contains(r#""fine_natural_person":{"amount_fen":500000,"inclusive":false}"#)
        );
    }

    #[test]
    fn gongyi_inclusive_thresholds_confiscation_and_always_major() {
        let [c, ..] = examples();
        // ≥ 10000 yuan for a natural person, ≥ 100000 yuan for an organisation.
        assert_eq!(around(&c, NP, 1_000_000), [false, true, true]);
        assert_eq!(around(&c, ORG, 10_000_000), [false, true, true]);
        assert_eq!(rules(&c, &fine(NP, 1_000_000)), ["catalog.fine.natural_person"]);
        assert_eq!(rules(&c, &fine(ORG, 10_000_000)), ["catalog.fine.organisation"]);
        // A natural person's threshold does not apply to an organisation.
        assert!(!is_major(&c, &fine(ORG, 1_000_000)));
        // Confiscation counts towards the fine: 6000 + 4000 yuan reaches 10000.
        assert!(is_major(&c, &fine_and_confiscation(NP, 600_000, 400_000)));
        assert!(!is_major(&c, &fine_and_confiscation(NP, 600_000, 399_999)));
        let mut only_confiscation = penalty(NP, &[(PenaltyType::ConfiscateIllegalProperty, 0)]);
        only_confiscation.confiscation_fen = 1_000_000;
        assert_eq!(rules(&c, &only_confiscation), ["catalog.fine.natural_person"]);
        let reason = &evaluate(&c, &fine_and_confiscation(NP, 600_000, 400_050)).matched[0].reason;
        assert_eq!(reason, "对自然人罚款 6000 元 + 没收 4000.50 元 = 10000.50 元，达到目录标准（≥ 10000 元）");
        // Always-major penalties, whatever the amount; others are not.
        assert_eq!(
            rules(&c, &penalty(ORG, &[(PenaltyType::SuspendProduction, 0)])),
            ["catalog.penalty.suspend_production"]
        );
        assert_eq!(
            rules(&c, &penalty(ORG, &[(PenaltyType::Fine, 100), (PenaltyType::RevokeLicence, 0)])),
            ["catalog.penalty.revoke_licence"]
        );
        assert!(!is_major(&c, &penalty(ORG, &[(PenaltyType::OrderClosure, 0)])));
        assert!(!is_major(&c, &penalty(NP, &[(PenaltyType::Warning, 0)])));
        // After a hearing; outside the discretion standard.
        let mut heard = fine(NP, 100);
        heard.hearing_held = true;
        assert_eq!(rules(&c, &heard), ["catalog.after_hearing"]);
        let mut outside = fine(NP, 100);
        outside.outside_discretion_standard = true;
        assert_eq!(rules(&c, &outside), ["catalog.outside_discretion_standard"]);
        // No licensing rule, no ordinary-procedure rule.
        assert!(!is_major(&c, &licensing(LicensingAction::Revoke)));
        assert!(!is_major(&c, &fine(NP, 999_999)));
    }

    #[test]
    fn yiyang_thresholds_and_licensing_actions() {
        let [_, c, ..] = examples();
        assert_eq!(around(&c, NP, 2_000_000), [false, true, true]);
        assert_eq!(around(&c, ORG, 5_000_000), [false, true, true]);
        assert!(is_major(&c, &fine_and_confiscation(ORG, 4_000_000, 1_000_000)));
        assert!(!is_major(&c, &fine_and_confiscation(ORG, 4_000_000, 999_999)));
        assert_eq!(rules(&c, &licensing(LicensingAction::Withdraw)), ["catalog.licensing.withdraw"]);
        assert_eq!(rules(&c, &licensing(LicensingAction::Revoke)), ["catalog.licensing.revoke"]);
        assert_eq!(evaluate(&c, &licensing(LicensingAction::Revoke)).matched[0].reason, "许可决定「撤销许可」列入目录");
        for action in [LicensingAction::Refuse, LicensingAction::Grant, LicensingAction::Cancel] {
            assert!(!is_major(&c, &licensing(action)), "{action:?}");
        }
        let mut heard = licensing(LicensingAction::Refuse);
        heard.hearing_held = true;
        assert_eq!(rules(&c, &heard), ["catalog.after_hearing"]);
        // Not in this catalog: always-major penalties, discretion.
        assert!(!is_major(&c, &penalty(ORG, &[(PenaltyType::RevokeLicence, 0)])));
        let mut outside = fine(NP, 100);
        outside.outside_discretion_standard = true;
        assert!(!is_major(&c, &outside));
    }

    #[test]
    fn tongzhou_exclusive_thresholds_without_confiscation() {
        let [_, _, c, _] = examples();
        // > 5000 yuan and > 50000 yuan: the threshold itself is not major.
        assert_eq!(around(&c, NP, 500_000), [false, false, true]);
        assert_eq!(around(&c, ORG, 5_000_000), [false, false, true]);
        assert_eq!(
            evaluate(&c, &fine(NP, 500_001)).matched[0].reason,
            "对自然人罚款 5000.01 元，达到目录标准（> 5000 元）"
        );
        // Confiscation does not count here.
        assert!(!is_major(&c, &fine_and_confiscation(NP, 400_000, 200_000)));
        assert!(!is_major(&c, &fine_and_confiscation(NP, 500_000, 100_000_000)));
        assert!(is_major(&c, &fine_and_confiscation(NP, 500_001, 0)));
        assert_eq!(rules(&c, &penalty(ORG, &[(PenaltyType::RevokeLicence, 0)])), ["catalog.penalty.revoke_licence"]);
        assert_eq!(
            rules(&c, &penalty(ORG, &[(PenaltyType::SuspendProduction, 0)])),
            ["catalog.penalty.suspend_production"]
        );
        let mut outside = fine(NP, 100);
        outside.outside_discretion_standard = true;
        assert_eq!(rules(&c, &outside), ["catalog.outside_discretion_standard"]);
        // A hearing alone is not in this catalog.
        let mut heard = fine(NP, 100);
        heard.hearing_held = true;
        assert!(!is_major(&c, &heard));
        // Several rules at once are all reported.
        let mut many = penalty(ORG, &[(PenaltyType::Fine, 5_000_001), (PenaltyType::RevokeLicence, 0)]);
        many.outside_discretion_standard = true;
        assert_eq!(
            rules(&c, &many),
            ["catalog.fine.organisation", "catalog.penalty.revoke_licence", "catalog.outside_discretion_standard"]
        );
    }

    #[test]
    fn ningxia_all_ordinary_procedure_penalties_and_review_limit() {
        let [.., c] = examples();
        assert_eq!(rules(&c, &penalty(NP, &[(PenaltyType::Warning, 0)])), ["catalog.ordinary_procedure"]);
        let mut summary = fine(NP, 20_000);
        summary.ordinary_procedure = false;
        assert!(!is_major(&c, &summary));
        // No thresholds: a large fine under the summary procedure (hypothetical) is not major.
        let mut large = fine(ORG, 100_000_000);
        large.ordinary_procedure = false;
        assert!(!is_major(&c, &large));
        let mut licence = licensing(LicensingAction::Revoke);
        licence.ordinary_procedure = true;
        assert!(!is_major(&c, &licence));
        // 7 working days from Thu 2026-02-12: Fri 13, Sat 14 (调休), Tue 24 .. Sat 28 (调休); +3: Mon 03-02 .. Wed 03-04.
        let cal = WorkCalendar::builtin();
        let start = NaiveDate::from_ymd_opt(2026, 2, 12).unwrap();
        assert_eq!(c.review_deadline(&cal, start, false).date, NaiveDate::from_ymd_opt(2026, 2, 28).unwrap());
        assert_eq!(c.review_deadline(&cal, start, true).date, NaiveDate::from_ymd_opt(2026, 3, 4).unwrap());
    }

    #[test]
    fn statutory_triggers_apply_with_an_empty_catalog() {
        let empty = Catalog::default();
        assert_eq!(Catalog::from_toml("").unwrap(), empty);
        assert_eq!(serde_json::from_str::<Catalog>("{}").unwrap(), empty);
        assert!(!is_major(&empty, &fine(NP, u64::MAX / 2)));
        assert!(!is_major(&empty, &penalty(ORG, &[(PenaltyType::RevokeLicence, 0)])));
        type Set = fn(&mut DraftFacts);
        let triggers: [(Set, &str); 4] = [
            (|f| f.major_public_interest = true, "statute.major_public_interest"),
            (|f| f.major_rights_and_hearing = true, "statute.major_rights_and_hearing"),
            (|f| f.complex_case = true, "statute.complex_case"),
            (|f| f.required_by_law = true, "statute.required_by_law"),
        ];
        for (set, id) in triggers {
            for mut draft in
                [fine(NP, 100), licensing(LicensingAction::Grant), DraftFacts::new(CaseKind::Compulsion, ORG)]
            {
                set(&mut draft);
                assert_eq!(rules(&empty, &draft), [id]);
            }
        }
        let mut all = fine(NP, 100);
        all.major_public_interest = true;
        all.major_rights_and_hearing = true;
        all.complex_case = true;
        all.required_by_law = true;
        let class = evaluate(&empty, &all);
        assert!(class.major && class.matched.len() == 4);
        assert!(class.matched[0].reason.contains("第五十八条"));
        // Statutory triggers come first, catalog rules after.
        let [gongyi, ..] = examples();
        let mut both = fine(NP, 1_000_000);
        both.complex_case = true;
        assert_eq!(rules(&gongyi, &both), ["statute.complex_case", "catalog.fine.natural_person"]);
    }

    #[test]
    fn art_58_2_is_derived_from_a_hearing_right_and_a_hearing() {
        let empty = Catalog::default();
        let heard = |mut f: DraftFacts, in_record: bool| {
            if in_record {
                f.hearing_in_record = true;
            } else {
                f.hearing_held = true;
            }
            f
        };
        // Types with a hearing right, with a hearing in the record or declared in the draft.
        for kind in [
            PenaltyType::LowerQualification,
            PenaltyType::RevokeLicence,
            PenaltyType::SuspendProduction,
            PenaltyType::OrderClosure,
            PenaltyType::RestrictPractice,
            PenaltyType::SuspendLicence,
            PenaltyType::RestrictBusiness,
        ] {
            for in_record in [true, false] {
                let f = heard(penalty(ORG, &[(kind, 0)]), in_record);
                assert_eq!(rules(&empty, &f), ["statute.major_rights_and_hearing"], "{kind:?}");
                assert!(evaluate(&empty, &f).matched[0].reason.contains(kind.as_str()));
            }
            // The same penalty without a hearing is not major by the statute.
            assert!(!is_major(&empty, &penalty(ORG, &[(kind, 0)])), "{kind:?}");
        }
        // No hearing right: a warning, criticism, a small fine, detention, even after a hearing.
        for f in [
            penalty(NP, &[(PenaltyType::Warning, 0)]),
            penalty(NP, &[(PenaltyType::PublicCriticism, 0)]),
            fine(NP, 999_999),
            fine(ORG, 9_999_999),
            penalty(NP, &[(PenaltyType::AdministrativeDetention, 0)]),
        ] {
            assert!(!is_major(&empty, &heard(f, true)));
        }
        // 较大数额: at the default thresholds, per party, inclusive.
        assert!(is_major(&empty, &heard(fine(NP, 1_000_000), true)));
        assert!(is_major(&empty, &heard(fine(ORG, 10_000_000), true)));
        assert!(!is_major(&empty, &heard(fine_and_confiscation(NP, 100, 999_999), true)));
        let big = heard(fine_and_confiscation(NP, 100, 1_000_000), true);
        assert_eq!(rules(&empty, &big), ["statute.major_rights_and_hearing"]);
        assert!(evaluate(&empty, &big).matched[0].reason.contains("没收较大数额"));
        // The thresholds are the catalog's.
        let low = Catalog::from_toml("hearing_fine_natural_person = { amount = 5000 }").unwrap();
        assert!(is_major(&low, &heard(fine(NP, 500_000), true)));
        assert!(!is_major(&empty, &heard(fine(NP, 500_000), true)));
        // The declared flag still counts alone, once.
        let mut declared = heard(penalty(ORG, &[(PenaltyType::RevokeLicence, 0)]), true);
        declared.major_rights_and_hearing = true;
        assert_eq!(rules(&empty, &declared), ["statute.major_rights_and_hearing"]);
    }

    #[test]
    fn collective_discussion_follows_a_major_classification() {
        let c = Catalog::from_toml("collective_discussion_required = true\nalways_major_penalties = [\"责令关闭\"]")
            .unwrap();
        assert!(evaluate(&c, &penalty(ORG, &[(PenaltyType::OrderClosure, 0)])).collective_discussion_required);
        assert!(!evaluate(&c, &penalty(ORG, &[(PenaltyType::Warning, 0)])).collective_discussion_required);
        let [gongyi, ..] = examples();
        assert!(!evaluate(&gongyi, &penalty(ORG, &[(PenaltyType::RevokeLicence, 0)])).collective_discussion_required);
    }

    #[test]
    fn names_round_trip_and_serde_uses_chinese_names() {
        let names = [
            "警告",
            "通报批评",
            "罚款",
            "没收违法所得",
            "没收非法财物",
            "暂扣许可证件",
            "降低资质等级",
            "吊销许可证件",
            "限制开展生产经营活动",
            "责令停产停业",
            "责令关闭",
            "限制从业",
            "行政拘留",
        ];
        for name in names {
            let p = PenaltyType::parse(name).unwrap();
            assert_eq!(serde_json::to_string(&p).unwrap(), format!("\"{name}\""));
            assert_eq!(serde_json::from_str::<PenaltyType>(&format!("\"{name}\"")).unwrap(), p);
        }
        for p in PenaltyType::ALL {
            assert_eq!(PenaltyType::parse(p.as_str()), Some(*p));
        }
        for a in LicensingAction::ALL {
            assert_eq!(LicensingAction::parse(a.as_str()), Some(*a));
            assert_eq!(serde_json::to_string(a).unwrap(), format!("\"{}\"", a.as_str()));
        }
        assert_eq!(serde_json::to_string(&PartyType::NaturalPerson).unwrap(), "\"natural_person\"");
    }

    #[test]
    fn amounts_in_yuan_are_held_in_fen() {
        let threshold =
            |t: &str| Catalog::from_toml(&format!("fine_organisation = {t}")).map(|c| c.fine_organisation.unwrap());
        assert_eq!(threshold("{ amount = 2000.5 }").unwrap(), FineThreshold { amount_fen: 200_050, inclusive: true });
        assert_eq!(threshold("{ amount = 0.29, inclusive = false }").unwrap().amount_fen, 29);
        assert_eq!(threshold("{ amount = \"50000.00\" }").unwrap().amount_fen, 5_000_000);
        assert_eq!(threshold("{ amount_fen = 123 }").unwrap().amount_fen, 123);
        for bad in [
            "{ amount = -1 }",
            "{ amount = 1.005 }",
            "{ amount = \"1e5\" }",
            "{ amount = 1, amount_fen = 100 }",
            "{ inclusive = true }",
            "{ amount = 1, inclusiv = true }",
        ] {
            assert!(matches!(threshold(bad), Err(Error::InvalidArgument { .. })), "{bad}");
        }
        assert_eq!(parse_yuan("10000"), Some(1_000_000));
        assert_eq!(parse_yuan("0.5"), Some(50));
        assert_eq!(parse_yuan("1.230"), Some(123));
        for bad in ["", ".5", "5.", "+5", "1,000", "1.2.3", "1.001", "99999999999999999999"] {
            assert_eq!(parse_yuan(bad), None, "{bad}");
        }
        assert_eq!(format_yuan(1_000_000), "10000 元");
        assert_eq!(format_yuan(5), "0.05 元");
    }

    #[test]
    fn invalid_catalogs_and_drafts_name_the_field() {
        let field = |r: Result<()>| match r {
            Err(Error::InvalidArgument { field, .. }) => field,
            other => panic!("expected an invalid argument, got {other:?}"),
        };
        assert_eq!(field(Catalog::from_toml("review_days = 0").map(drop)), "review_days");
        assert_eq!(field(Catalog::from_toml("always_major_penalties = [\"罚金\"]").map(drop)), "catalog");
        assert_eq!(field(Catalog::from_toml("fine_organization = { amount = 1 }").map(drop)), "catalog");
        assert_eq!(field(penalty(NP, &[(PenaltyType::Fine, 0)]).validate()), "penalties[0].amount_fen");
        assert_eq!(field(penalty(NP, &[(PenaltyType::Warning, 5)]).validate()), "penalties[0].amount_fen");
        let mut stray = fine(NP, 100);
        stray.confiscation_fen = 1;
        assert_eq!(field(stray.validate()), "confiscation_fen");
        let mut wrong_kind = fine(NP, 100);
        wrong_kind.case_kind = CaseKind::Licensing;
        assert_eq!(field(wrong_kind.validate()), "penalties");
        // Inconsistent facts still err towards review.
        let [gongyi, ..] = examples();
        let mut revoked = penalty(NP, &[(PenaltyType::RevokeLicence, 0)]);
        revoked.case_kind = CaseKind::Other;
        assert!(evaluate(&gongyi, &revoked).major);
        let mut licence = DraftFacts::new(CaseKind::Penalty, ORG);
        licence.licensing_action = Some(LicensingAction::Revoke);
        assert_eq!(field(licence.validate()), "licensing_action");
    }
}
