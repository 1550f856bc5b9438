//! Enforcement statistics (执法统计, RULES N2–N4), free of I/O: the counting rules of the penalty,
//! licensing and compulsory-measure tables. Every figure is computed from the case record, never
//! typed in (N6); the use case reads the record and feeds it here, one decision or act at a time,
//! and tables of several agencies add up with [`Tables::add`].
//!
//! What local practice varies — the unit of amounts, whether decisions later revoked still
//! count — is a field of [`StatisticsPolicy`] with a default.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::catalog::{LicensingAction, PenaltyType};
use crate::error::{Error, Result};
use crate::review::Revision;

/// A row of the penalty table (RULES N2): the penalty types of 处罚法 Art. 9 in their order of
/// severity, least severe first, with 其他 last. Both confiscations are one row, as are 责令关闭
/// and 限制从业, because N2 ranks them together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PenaltyCategory {
    /// 警告
    Warning,
    /// 通报批评
    PublicCriticism,
    /// 罚款
    Fine,
    /// 没收违法所得、没收非法财物
    Confiscation,
    /// 暂扣许可证件
    SuspendLicence,
    /// 降低资质等级
    LowerQualification,
    /// 限制开展生产经营活动
    RestrictBusiness,
    /// 责令停产停业
    SuspendProduction,
    /// 责令关闭、限制从业
    ClosureOrRestrictPractice,
    /// 吊销许可证件
    RevokeLicence,
    /// 行政拘留
    AdministrativeDetention,
    /// 其他 (a type laws and administrative regulations add): counted here only when a decision
    /// names no other type (RULES N2).
    Other,
}

impl PenaltyCategory {
    /// Every row, in table order: by severity, then 其他.
    pub const ALL: [Self; 12] = [
        Self::Warning,
        Self::PublicCriticism,
        Self::Fine,
        Self::Confiscation,
        Self::SuspendLicence,
        Self::LowerQualification,
        Self::RestrictBusiness,
        Self::SuspendProduction,
        Self::ClosureOrRestrictPractice,
        Self::RevokeLicence,
        Self::AdministrativeDetention,
        Self::Other,
    ];

    /// The stable code of the row (API, JSON, CSV).
    pub fn code(self) -> &'static str {
        match self {
            Self::Warning => "warning",
            Self::PublicCriticism => "public_criticism",
            Self::Fine => "fine",
            Self::Confiscation => "confiscation",
            Self::SuspendLicence => "suspend_licence",
            Self::LowerQualification => "lower_qualification",
            Self::RestrictBusiness => "restrict_business",
            Self::SuspendProduction => "suspend_production",
            Self::ClosureOrRestrictPractice => "closure_or_restrict_practice",
            Self::RevokeLicence => "revoke_licence",
            Self::AdministrativeDetention => "administrative_detention",
            Self::Other => "other",
        }
    }

    /// The row's heading as printed in published tables.
    pub fn label(self) -> &'static str {
        match self {
            Self::Warning => "警告",
            Self::PublicCriticism => "通报批评",
            Self::Fine => "罚款",
            Self::Confiscation => "没收违法所得、没收非法财物",
            Self::SuspendLicence => "暂扣许可证件",
            Self::LowerQualification => "降低资质等级",
            Self::RestrictBusiness => "限制开展生产经营活动",
            Self::SuspendProduction => "责令停产停业",
            Self::ClosureOrRestrictPractice => "责令关闭、限制从业",
            Self::RevokeLicence => "吊销许可证件",
            Self::AdministrativeDetention => "行政拘留",
            Self::Other => "其他",
        }
    }

    /// The row a penalty type is counted in.
    pub fn of(t: PenaltyType) -> Self {
        match t {
            PenaltyType::Warning => Self::Warning,
            PenaltyType::PublicCriticism => Self::PublicCriticism,
            PenaltyType::Fine => Self::Fine,
            PenaltyType::ConfiscateIllegalGains | PenaltyType::ConfiscateIllegalProperty => Self::Confiscation,
            PenaltyType::SuspendLicence => Self::SuspendLicence,
            PenaltyType::LowerQualification => Self::LowerQualification,
            PenaltyType::RestrictBusiness => Self::RestrictBusiness,
            PenaltyType::SuspendProduction => Self::SuspendProduction,
            PenaltyType::OrderClosure | PenaltyType::RestrictPractice => Self::ClosureOrRestrictPractice,
            PenaltyType::RevokeLicence => Self::RevokeLicence,
            PenaltyType::AdministrativeDetention => Self::AdministrativeDetention,
            PenaltyType::Other => Self::Other,
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|c| *c == self).unwrap_or(Self::ALL.len() - 1)
    }
}

/// The one row a decision is counted in (RULES N2): its most severe penalty; 其他 beside a named
/// type counts as the named type; `None` for a decision that imposes no penalty (不予处罚).
pub fn most_severe(types: impl IntoIterator<Item = PenaltyType>) -> Option<PenaltyCategory> {
    let mut named: Option<PenaltyCategory> = None;
    let mut other = false;
    for t in types {
        match PenaltyCategory::of(t) {
            PenaltyCategory::Other => other = true,
            c => named = Some(named.map_or(c, |n| n.max(c))),
        }
    }
    named.or(other.then_some(PenaltyCategory::Other))
}

/// What the penalty table reads of one decision: its penalty types and amounts as stated in the
/// decision (RULES N2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PenaltyDecision {
    pub penalties: Vec<PenaltyType>,
    /// The fines, in fen.
    pub fine_fen: u64,
    /// The value confiscated, in fen, where it was determinable (0 otherwise: it then adds
    /// nothing to the amount).
    pub confiscation_fen: u64,
}

/// One row of the penalty table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PenaltyRow {
    /// Decisions counted in this row.
    pub decisions: u64,
    /// 罚没金额 of those decisions (fines and determinable confiscations), in fen.
    pub amount_fen: u64,
}

/// The penalty table (RULES N2): decisions by most severe penalty, with 罚没金额.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PenaltyTable {
    rows: [PenaltyRow; 12],
    /// Penalty decisions that impose no penalty (不予处罚); not in any row, nor in the total.
    pub no_penalty_decisions: u64,
    /// Fines, in fen (part of the amount).
    pub fine_fen: u64,
    /// Determinable confiscations, in fen (the rest of the amount).
    pub confiscation_fen: u64,
}

impl PenaltyTable {
    /// Counts one decision: once, in the row of its most severe penalty.
    pub fn count(&mut self, d: &PenaltyDecision) {
        let Some(category) = most_severe(d.penalties.iter().copied()) else {
            self.no_penalty_decisions += 1;
            return;
        };
        let amount = d.fine_fen.saturating_add(d.confiscation_fen);
        let row = &mut self.rows[category.index()];
        row.decisions += 1;
        row.amount_fen = row.amount_fen.saturating_add(amount);
        self.fine_fen = self.fine_fen.saturating_add(d.fine_fen);
        self.confiscation_fen = self.confiscation_fen.saturating_add(d.confiscation_fen);
    }

    /// A row.
    pub fn row(&self, category: PenaltyCategory) -> PenaltyRow {
        self.rows[category.index()]
    }

    /// Every row, in table order.
    pub fn rows(&self) -> impl Iterator<Item = (PenaltyCategory, PenaltyRow)> + '_ {
        PenaltyCategory::ALL.into_iter().map(|c| (c, self.row(c)))
    }

    /// Decisions counted (合计), each once.
    pub fn decisions(&self) -> u64 {
        self.rows.iter().map(|r| r.decisions).sum()
    }

    /// 罚没金额 in total, in fen.
    pub fn amount_fen(&self) -> u64 {
        self.rows.iter().fold(0u64, |s, r| s.saturating_add(r.amount_fen))
    }

    fn add(&mut self, other: &Self) {
        for (mine, theirs) in self.rows.iter_mut().zip(other.rows.iter()) {
            mine.decisions += theirs.decisions;
            mine.amount_fen = mine.amount_fen.saturating_add(theirs.amount_fen);
        }
        self.no_penalty_decisions += other.no_penalty_decisions;
        self.fine_fen = self.fine_fen.saturating_add(other.fine_fen);
        self.confiscation_fen = self.confiscation_fen.saturating_add(other.confiscation_fen);
    }
}

/// How a licensing decision counts in the licensing table (RULES N3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LicensingOutcome {
    /// 准予许可, and approved changes and renewals.
    Granted,
    /// 不予许可, 不予延续.
    Refused,
    /// 撤销许可, 撤回许可.
    Revoked,
    /// 注销许可.
    Cancelled,
}

impl LicensingOutcome {
    /// The column a licensing action counts in.
    pub fn of(action: LicensingAction) -> Self {
        match action {
            LicensingAction::Grant | LicensingAction::Change | LicensingAction::Renew => Self::Granted,
            LicensingAction::Refuse | LicensingAction::RefuseRenewal => Self::Refused,
            LicensingAction::Revoke | LicensingAction::Withdraw => Self::Revoked,
            LicensingAction::Cancel => Self::Cancelled,
        }
    }
}

/// The licensing table (RULES N3).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicensingTable {
    /// Applications received: licensing cases opened.
    pub received: u64,
    /// Applications accepted (受理): licensing cases filed.
    pub accepted: u64,
    pub granted: u64,
    pub refused: u64,
    pub revoked: u64,
    pub cancelled: u64,
    /// Licensing decisions whose action is not one of the licensing actions (none the server
    /// writes; counted so that no decision silently disappears from the table).
    pub unclassified: u64,
}

impl LicensingTable {
    /// Counts one licensing decision by its action as stated (`None`: not a known action).
    pub fn count_decision(&mut self, action: Option<LicensingAction>) {
        match action.map(LicensingOutcome::of) {
            Some(LicensingOutcome::Granted) => self.granted += 1,
            Some(LicensingOutcome::Refused) => self.refused += 1,
            Some(LicensingOutcome::Revoked) => self.revoked += 1,
            Some(LicensingOutcome::Cancelled) => self.cancelled += 1,
            None => self.unclassified += 1,
        }
    }

    fn add(&mut self, o: &Self) {
        self.received += o.received;
        self.accepted += o.accepted;
        self.granted += o.granted;
        self.refused += o.refused;
        self.revoked += o.revoked;
        self.cancelled += o.cancelled;
        self.unclassified += o.unclassified;
    }
}

/// A compulsory measure (行政强制措施, 强制法 Art. 9), as recorded in the `measure` detail of a
/// `seizure` event (查封、扣押).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// 查封
    Sealing,
    /// 扣押
    Seizure,
    /// 查封、扣押, not told apart (the event names no measure).
    SealingOrSeizure,
    /// 冻结
    Freezing,
    /// 其他
    Other,
}

impl Measure {
    /// The measure of a `seizure` event from its `measure` detail: a code or the Chinese name;
    /// none is the event kind's own 查封、扣押; anything else is 其他.
    pub fn from_detail(detail: Option<&str>) -> Self {
        match detail.map(str::trim) {
            None | Some("") => Self::SealingOrSeizure,
            Some("sealing" | "查封") => Self::Sealing,
            Some("seizure" | "扣押") => Self::Seizure,
            Some("freezing" | "冻结") => Self::Freezing,
            Some(_) => Self::Other,
        }
    }
}

/// A method of compulsory execution (行政强制执行, 强制法 Art. 12), as recorded in the `method`
/// detail of an `execution` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionMethod {
    /// 加处罚款或者滞纳金
    LatePayment,
    /// 划拨存款、汇款
    Transfer,
    /// 拍卖或者依法处理查封、扣押的场所、设施或者财物
    Auction,
    /// 排除妨碍、恢复原状 (a `forced_demolition` event counts here)
    Restoration,
    /// 代履行
    Substitute,
    /// 其他强制执行方式
    Other,
    /// 申请人民法院强制执行 (强制法 Art. 53): not an execution by the agency, its own column.
    CourtApplication,
}

impl ExecutionMethod {
    /// The method of an `execution` event from its `method` detail (a code or the Chinese name);
    /// `None` when it names none: the party performed, nothing was enforced.
    pub fn from_detail(detail: Option<&str>) -> Option<Self> {
        Some(match detail.map(str::trim) {
            None | Some("") => return None,
            Some("late_payment" | "加处罚款" | "滞纳金" | "加处罚款或者滞纳金") => Self::LatePayment,
            Some("transfer" | "划拨" | "划拨存款、汇款") => Self::Transfer,
            Some("auction" | "拍卖" | "拍卖或者依法处理") => Self::Auction,
            Some("restoration" | "排除妨碍、恢复原状" | "排除妨碍" | "恢复原状") => Self::Restoration,
            Some("substitute" | "代履行") => Self::Substitute,
            Some("court_application" | "申请人民法院强制执行" | "申请法院强制执行") => {
                Self::CourtApplication
            }
            Some(_) => Self::Other,
        })
    }
}

/// The compulsory-measure table (RULES N4).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompulsionTable {
    pub sealing: u64,
    pub seizure: u64,
    pub sealing_or_seizure: u64,
    pub freezing: u64,
    pub other_measures: u64,
    pub late_payment: u64,
    pub transfer: u64,
    pub auction: u64,
    pub restoration: u64,
    pub substitute: u64,
    pub other_executions: u64,
    pub court_applications: u64,
}

impl CompulsionTable {
    /// Counts a measure decided.
    pub fn count_measure(&mut self, m: Measure) {
        *match m {
            Measure::Sealing => &mut self.sealing,
            Measure::Seizure => &mut self.seizure,
            Measure::SealingOrSeizure => &mut self.sealing_or_seizure,
            Measure::Freezing => &mut self.freezing,
            Measure::Other => &mut self.other_measures,
        } += 1;
    }

    /// Counts an execution completed (or an application to the court).
    pub fn count_execution(&mut self, m: ExecutionMethod) {
        *match m {
            ExecutionMethod::LatePayment => &mut self.late_payment,
            ExecutionMethod::Transfer => &mut self.transfer,
            ExecutionMethod::Auction => &mut self.auction,
            ExecutionMethod::Restoration => &mut self.restoration,
            ExecutionMethod::Substitute => &mut self.substitute,
            ExecutionMethod::Other => &mut self.other_executions,
            ExecutionMethod::CourtApplication => &mut self.court_applications,
        } += 1;
    }

    /// Measures decided, all kinds.
    pub fn measures(&self) -> u64 {
        self.sealing + self.seizure + self.sealing_or_seizure + self.freezing + self.other_measures
    }

    /// Executions completed by the agency, all methods.
    pub fn executions(&self) -> u64 {
        self.late_payment + self.transfer + self.auction + self.restoration + self.substitute + self.other_executions
    }

    /// The rows (code, heading, count), in table order.
    pub fn rows(&self) -> [(&'static str, &'static str, u64); 12] {
        [
            ("sealing", "查封", self.sealing),
            ("seizure", "扣押", self.seizure),
            ("sealing_or_seizure", "查封、扣押（未区分）", self.sealing_or_seizure),
            ("freezing", "冻结", self.freezing),
            ("other_measures", "其他强制措施", self.other_measures),
            ("late_payment", "加处罚款或者滞纳金", self.late_payment),
            ("transfer", "划拨存款、汇款", self.transfer),
            ("auction", "拍卖或者依法处理", self.auction),
            ("restoration", "排除妨碍、恢复原状", self.restoration),
            ("substitute", "代履行", self.substitute),
            ("other_executions", "其他强制执行方式", self.other_executions),
            ("court_applications", "申请人民法院强制执行", self.court_applications),
        ]
    }

    fn add(&mut self, o: &Self) {
        self.sealing += o.sealing;
        self.seizure += o.seizure;
        self.sealing_or_seizure += o.sealing_or_seizure;
        self.freezing += o.freezing;
        self.other_measures += o.other_measures;
        self.late_payment += o.late_payment;
        self.transfer += o.transfer;
        self.auction += o.auction;
        self.restoration += o.restoration;
        self.substitute += o.substitute;
        self.other_executions += o.other_executions;
        self.court_applications += o.court_applications;
    }
}

/// The kind of an inspection (行政检查, RULES N4 [default]), as recorded in the
/// `inspection_kind` detail of an `inspection` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InspectionKind {
    /// 日常检查
    Routine,
    /// 专项检查
    Special,
    /// 双随机、一公开抽查
    Random,
}

impl InspectionKind {
    /// Every kind.
    pub const ALL: [Self; 3] = [Self::Routine, Self::Special, Self::Random];

    /// The stable code (the detail's value, API, CSV).
    pub fn code(self) -> &'static str {
        match self {
            Self::Routine => "routine",
            Self::Special => "special",
            Self::Random => "random",
        }
    }

    /// The heading in published tables.
    pub fn label(self) -> &'static str {
        match self {
            Self::Routine => "日常检查",
            Self::Special => "专项检查",
            Self::Random => "双随机抽查",
        }
    }

    /// Parses a recorded detail: the code or the Chinese name.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "routine" | "日常检查" | "日常" => Some(Self::Routine),
            "special" | "专项检查" | "专项" => Some(Self::Special),
            "random" | "双随机" | "双随机抽查" | "双随机、一公开" => Some(Self::Random),
            _ => None,
        }
    }

    /// The detail of an `inspection` event that names its kind.
    pub const DETAIL: &'static str = "inspection_kind";

    /// Checks the `inspection_kind` detail of an act being recorded: absent is allowed (the
    /// inspection is counted as of no stated kind), anything else must be a kind. The error names
    /// the field `details.inspection_kind`.
    pub fn check_detail(detail: Option<&str>) -> Result<Option<Self>> {
        match detail {
            None => Ok(None),
            Some(s) => Self::parse(s).map(Some).ok_or_else(|| {
                Error::invalid(
                    format!("details.{}", Self::DETAIL),
                    format!(
                        "{:?} is not an inspection kind: routine (日常检查), special (专项检查) or random (双随机)",
                        crate::error::clip(s)
                    ),
                )
            }),
        }
    }
}

/// The inspection table (RULES N4 [default]: inspections by kind).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InspectionTable {
    pub routine: u64,
    pub special: u64,
    pub random: u64,
    /// Inspections recorded without a kind (before kinds were recorded, or left out).
    pub unspecified: u64,
}

impl InspectionTable {
    /// Counts one inspection of `kind` (`None`: no kind stated).
    pub fn count(&mut self, kind: Option<InspectionKind>) {
        *match kind {
            Some(InspectionKind::Routine) => &mut self.routine,
            Some(InspectionKind::Special) => &mut self.special,
            Some(InspectionKind::Random) => &mut self.random,
            None => &mut self.unspecified,
        } += 1;
    }

    /// Inspections, all kinds.
    pub fn total(&self) -> u64 {
        self.routine + self.special + self.random + self.unspecified
    }

    /// The rows (code, heading, count), in table order.
    pub fn rows(&self) -> [(&'static str, &'static str, u64); 4] {
        [
            ("routine", InspectionKind::Routine.label(), self.routine),
            ("special", InspectionKind::Special.label(), self.special),
            ("random", InspectionKind::Random.label(), self.random),
            ("unspecified", "未注明类别", self.unspecified),
        ]
    }

    fn add(&mut self, o: &Self) {
        self.routine += o.routine;
        self.special += o.special;
        self.random += o.random;
        self.unspecified += o.unspecified;
    }
}

/// The tables of one agency, or the sum of several.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tables {
    pub penalty: PenaltyTable,
    pub licensing: LicensingTable,
    pub compulsion: CompulsionTable,
    /// Inspections by kind (N4 [default]); absent from snapshots published before it existed.
    #[serde(default)]
    pub inspection: InspectionTable,
}

impl Tables {
    /// Adds another agency's tables to these (a supervisor's total is the sum of its agencies').
    pub fn add(&mut self, o: &Self) {
        self.penalty.add(&o.penalty);
        self.licensing.add(&o.licensing);
        self.compulsion.add(&o.compulsion);
        self.inspection.add(&o.inspection);
    }
}

/// What keeps a decision's figures from being published (RULES N6): a decision in scope that
/// lacks a penalty category or an amount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incomplete {
    /// A fine (罚款) stated without its amount.
    FineWithoutAmount,
    /// A licensing decision whose action is not one of the licensing actions (no column of N3).
    LicensingWithoutAction,
}

impl Incomplete {
    /// What is missing, in words.
    pub fn words(&self) -> &'static str {
        match self {
            Self::FineWithoutAmount => "a fine (罚款) without its amount",
            Self::LicensingWithoutAction => "a licensing decision without a known action (no category)",
        }
    }
}

/// Whether a penalty decision's figures are complete (RULES N6): every fine has its amount.
/// (A penalty type that cannot be read is DATA_LOSS before this; a decision naming no penalty is
/// a 不予处罚 decision, counted apart.)
pub fn penalty_incomplete(types_and_amounts: &[(PenaltyType, u64)]) -> Option<Incomplete> {
    types_and_amounts
        .iter()
        .any(|(t, fen)| *t == PenaltyType::Fine && *fen == 0)
        .then_some(Incomplete::FineWithoutAmount)
}

/// The day by which an agency publishes a year's figures (RULES N1): `due` (month, day) of the
/// next year; a day the month lacks (29 February) is its last day.
pub fn annual_due(year: i32, due: AnnualDue) -> Option<chrono::NaiveDate> {
    let next = year.checked_add(1)?;
    (1..=due.day).rev().find_map(|d| chrono::NaiveDate::from_ymd_opt(next, due.month, d))
}

/// The month and day of the next year by which the annual figures are published (RULES N1:
/// 31 January [default]; 广州 used 31 March).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnnualDue {
    pub month: u32,
    pub day: u32,
}

impl Default for AnnualDue {
    fn default() -> Self {
        Self { month: 1, day: 31 }
    }
}

impl AnnualDue {
    /// Parses `MM-DD` (a day of a leap year: `02-29` means the month's last day).
    pub fn parse(s: &str) -> Option<Self> {
        let (m, d) = s.trim().split_once('-')?;
        let (month, day) = (m.parse().ok()?, d.parse().ok()?);
        chrono::NaiveDate::from_ymd_opt(2024, month, day)?;
        Some(Self { month, day })
    }

    /// As `MM-DD`.
    pub fn code(self) -> String {
        format!("{:02}-{:02}", self.month, self.day)
    }
}

/// The unit amounts are shown in (RULES N2: 万元 or 元, depending on the table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AmountUnit {
    /// 元, two decimals.
    Yuan,
    /// 万元, at least four decimals (so whole yuan survive, as in 170.8115), more when fen do.
    #[default]
    WanYuan,
}

impl AmountUnit {
    /// Every unit.
    pub const ALL: [Self; 2] = [Self::Yuan, Self::WanYuan];

    /// The stable code (configuration, API).
    pub fn code(self) -> &'static str {
        match self {
            Self::Yuan => "yuan",
            Self::WanYuan => "wan_yuan",
        }
    }

    /// The unit's name in a published table's heading.
    pub fn label(self) -> &'static str {
        match self {
            Self::Yuan => "元",
            Self::WanYuan => "万元",
        }
    }

    /// Parses [`Self::code`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|u| u.code() == s.trim())
    }

    /// `fen` written exactly in this unit.
    pub fn format(self, fen: u64) -> String {
        let mut out = String::new();
        match self {
            Self::Yuan => {
                let _ = write!(out, "{}.{:02}", fen / 100, fen % 100);
            }
            Self::WanYuan => {
                const FEN_PER_WAN: u64 = 1_000_000;
                let frac = format!("{:06}", fen % FEN_PER_WAN);
                // Four decimals always; the last two only when there are fen.
                let frac = if frac.ends_with("00") { &frac[..4] } else { &frac[..] };
                let _ = write!(out, "{}.{frac}", fen / FEN_PER_WAN);
            }
        }
        out
    }
}

/// Whether a recorded revision takes the decision out of the tables when revoked decisions are
/// not counted: a revocation or a finding that it was void. A change keeps the decision (the
/// tables count what was decided in the period), and so does a finding that it was illegal.
pub fn annuls(revision: &str) -> bool {
    revision == Revision::Revocation.as_str() || revision == Revision::ConfirmedVoid.as_str()
}

/// How statistics are computed and shown where local practice differs (RULES N2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatisticsPolicy {
    /// The unit of amounts in the tables.
    pub amount_unit: AmountUnit,
    /// Whether a decision later revoked (or found void) still counts in its period: some tables
    /// include them, others do not (N2). Counting them keeps a past period's figures unchanged.
    pub count_revoked: bool,
    /// By when, in the next year, a year's figures are published (N1).
    pub annual_due: AnnualDue,
}

impl Default for StatisticsPolicy {
    fn default() -> Self {
        Self { amount_unit: AmountUnit::WanYuan, count_revoked: true, annual_due: AnnualDue::default() }
    }
}

/// Checks a period of inclusive local dates (`YYYY-MM-DD`), `from_field` and `to_field` naming
/// the request's fields: both required, well formed, in order, within years `min..=max`.
pub fn period(
    from_field: &str,
    from: &str,
    to_field: &str,
    to: &str,
    years: std::ops::RangeInclusive<i32>,
) -> Result<(chrono::NaiveDate, chrono::NaiveDate)> {
    use chrono::Datelike;
    let date = |field: &str, s: &str| {
        let d = chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
            .map_err(|_| Error::invalid(field, "a date YYYY-MM-DD"))?;
        if !years.contains(&d.year()) {
            return Err(Error::invalid(field, format!("a date in the years {} to {}", years.start(), years.end())));
        }
        Ok(d)
    };
    let (from, to) = (date(from_field, from)?, date(to_field, to)?);
    if to < from {
        return Err(Error::invalid(to_field, format!("must not be before {from_field}")));
    }
    Ok((from, to))
}

#[cfg(test)]
mod tests {
    use super::*;
    use PenaltyType as P;

    fn decision(penalties: &[PenaltyType], fine_fen: u64, confiscation_fen: u64) -> PenaltyDecision {
        PenaltyDecision { penalties: penalties.to_vec(), fine_fen, confiscation_fen }
    }

    #[test]
    fn the_order_of_severity_is_that_of_the_rules() {
        // 警告 < 通报批评 < 罚款 < 没收 < 暂扣许可证件 < 降低资质等级 < 限制开展生产经营活动 <
        // 责令停产停业 < 责令关闭、限制从业 < 吊销许可证件 < 行政拘留.
        let order = [
            P::Warning,
            P::PublicCriticism,
            P::Fine,
            P::ConfiscateIllegalGains,
            P::SuspendLicence,
            P::LowerQualification,
            P::RestrictBusiness,
            P::SuspendProduction,
            P::OrderClosure,
            P::RevokeLicence,
            P::AdministrativeDetention,
        ];
        for pair in order.windows(2) {
            assert_eq!(most_severe(pair.iter().copied()), Some(PenaltyCategory::of(pair[1])), "{pair:?}");
            assert_eq!(most_severe([pair[1], pair[0]]), Some(PenaltyCategory::of(pair[1])), "{pair:?}");
        }
        // Ranked together.
        assert_eq!(
            most_severe([P::ConfiscateIllegalGains, P::ConfiscateIllegalProperty]),
            Some(PenaltyCategory::Confiscation)
        );
        assert_eq!(
            most_severe([P::RestrictPractice, P::OrderClosure]),
            Some(PenaltyCategory::ClosureOrRestrictPractice)
        );
        assert_eq!(most_severe([P::RestrictPractice]), Some(PenaltyCategory::ClosureOrRestrictPractice));
        // Every type has a row, and the rows' order is the severity order.
        for t in PenaltyType::ALL {
            assert!(PenaltyCategory::ALL.contains(&PenaltyCategory::of(*t)));
        }
        let mut sorted = PenaltyCategory::ALL;
        sorted.sort();
        assert_eq!(sorted, PenaltyCategory::ALL);
    }

    #[test]
    fn other_counts_only_alone() {
        assert_eq!(most_severe([P::Other, P::Warning]), Some(PenaltyCategory::Warning));
        assert_eq!(most_severe([P::Fine, P::Other]), Some(PenaltyCategory::Fine));
        assert_eq!(most_severe([P::Other]), Some(PenaltyCategory::Other));
        assert_eq!(most_severe([]), None);
    }

    #[test]
    fn a_decision_counts_once_under_its_most_severe_penalty() {
        let mut t = PenaltyTable::default();
        // A fine with a warning: one decision, under 罚款, with its fine.
        t.count(&decision(&[P::Warning, P::Fine], 500_000, 0));
        assert_eq!(t.decisions(), 1);
        assert_eq!(t.row(PenaltyCategory::Fine), PenaltyRow { decisions: 1, amount_fen: 500_000 });
        assert_eq!(t.row(PenaltyCategory::Warning), PenaltyRow::default());
        // A warning alone.
        t.count(&decision(&[P::Warning], 0, 0));
        assert_eq!(t.row(PenaltyCategory::Warning).decisions, 1);
        // Fine and confiscation under 吊销: the whole amount goes with the decision's row.
        t.count(&decision(&[P::Fine, P::ConfiscateIllegalGains, P::RevokeLicence], 1_000_000, 250_000));
        assert_eq!(t.row(PenaltyCategory::RevokeLicence), PenaltyRow { decisions: 1, amount_fen: 1_250_000 });
        // A confiscation whose value is not determinable adds nothing to the amount.
        t.count(&decision(&[P::ConfiscateIllegalProperty], 0, 0));
        assert_eq!(t.row(PenaltyCategory::Confiscation), PenaltyRow { decisions: 1, amount_fen: 0 });
        // No penalty: counted apart, not in the total.
        t.count(&decision(&[], 0, 0));
        assert_eq!((t.decisions(), t.no_penalty_decisions), (4, 1));
        assert_eq!(t.amount_fen(), 500_000 + 1_250_000);
        assert_eq!((t.fine_fen, t.confiscation_fen), (1_500_000, 250_000));
        assert_eq!(t.rows().map(|(_, r)| r.decisions).sum::<u64>(), t.decisions());
    }

    #[test]
    fn tables_add_up() {
        let mut a = Tables::default();
        a.penalty.count(&decision(&[P::Fine], 100, 0));
        a.licensing.received = 2;
        a.licensing.count_decision(Some(LicensingAction::Grant));
        a.compulsion.count_measure(Measure::Seizure);
        let mut b = Tables::default();
        b.penalty.count(&decision(&[P::Fine, P::Warning], 50, 7));
        b.penalty.count(&decision(&[], 0, 0));
        b.licensing.count_decision(Some(LicensingAction::RefuseRenewal));
        b.compulsion.count_execution(ExecutionMethod::CourtApplication);
        let mut sum = Tables::default();
        sum.add(&a);
        sum.add(&b);
        assert_eq!(sum.penalty.row(PenaltyCategory::Fine), PenaltyRow { decisions: 2, amount_fen: 157 });
        assert_eq!(sum.penalty.no_penalty_decisions, 1);
        assert_eq!((sum.licensing.received, sum.licensing.granted, sum.licensing.refused), (2, 1, 1));
        assert_eq!(
            (sum.compulsion.measures(), sum.compulsion.court_applications, sum.compulsion.executions()),
            (1, 1, 0)
        );
    }

    #[test]
    fn licensing_outcomes() {
        use LicensingAction as L;
        let mut t = LicensingTable::default();
        for a in [L::Grant, L::Change, L::Renew, L::Refuse, L::RefuseRenewal, L::Revoke, L::Withdraw, L::Cancel] {
            t.count_decision(Some(a));
        }
        t.count_decision(None);
        assert_eq!((t.granted, t.refused, t.revoked, t.cancelled, t.unclassified), (3, 2, 2, 1, 1));
    }

    #[test]
    fn measures_and_executions_from_details() {
        assert_eq!(Measure::from_detail(None), Measure::SealingOrSeizure);
        assert_eq!(Measure::from_detail(Some(" ")), Measure::SealingOrSeizure);
        assert_eq!(Measure::from_detail(Some("查封")), Measure::Sealing);
        assert_eq!(Measure::from_detail(Some("seizure")), Measure::Seizure);
        assert_eq!(Measure::from_detail(Some("冻结")), Measure::Freezing);
        assert_eq!(Measure::from_detail(Some("责令暂停")), Measure::Other);
        assert_eq!(ExecutionMethod::from_detail(None), None);
        assert_eq!(ExecutionMethod::from_detail(Some("代履行")), Some(ExecutionMethod::Substitute));
        assert_eq!(ExecutionMethod::from_detail(Some("court_application")), Some(ExecutionMethod::CourtApplication));
        assert_eq!(ExecutionMethod::from_detail(Some("其他")), Some(ExecutionMethod::Other));
        let mut t = CompulsionTable::default();
        t.count_execution(ExecutionMethod::CourtApplication);
        t.count_execution(ExecutionMethod::Restoration);
        assert_eq!((t.executions(), t.court_applications), (1, 1));
        assert_eq!(t.rows().iter().map(|r| r.2).sum::<u64>(), 2);
    }

    #[test]
    fn amounts_in_either_unit_are_exact() {
        assert_eq!(AmountUnit::Yuan.format(0), "0.00");
        assert_eq!(AmountUnit::Yuan.format(170_811_505), "1708115.05");
        assert_eq!(AmountUnit::WanYuan.format(170_811_500), "170.8115");
        assert_eq!(AmountUnit::WanYuan.format(0), "0.0000");
        assert_eq!(AmountUnit::WanYuan.format(1), "0.000001");
        assert_eq!(AmountUnit::WanYuan.format(12_000_000), "12.0000");
        assert_eq!(AmountUnit::parse("wan_yuan"), Some(AmountUnit::WanYuan));
        assert_eq!(AmountUnit::parse("yuan"), Some(AmountUnit::Yuan));
        assert_eq!(AmountUnit::parse("万元"), None);
    }

    #[test]
    fn inspection_kinds_and_their_table() {
        assert_eq!(InspectionKind::parse("双随机"), Some(InspectionKind::Random));
        assert_eq!(InspectionKind::parse(" special "), Some(InspectionKind::Special));
        assert_eq!(InspectionKind::parse("日常检查"), Some(InspectionKind::Routine));
        assert_eq!(InspectionKind::check_detail(None).unwrap(), None);
        match InspectionKind::check_detail(Some("突击")) {
            Err(Error::InvalidArgument { field, .. }) => assert_eq!(field, "details.inspection_kind"),
            other => panic!("{other:?}"),
        }
        let mut t = Tables::default();
        t.inspection.count(Some(InspectionKind::Random));
        t.inspection.count(None);
        let mut sum = Tables::default();
        sum.add(&t);
        sum.add(&t);
        assert_eq!((sum.inspection.random, sum.inspection.unspecified, sum.inspection.total()), (2, 2, 4));
    }

    #[test]
    fn a_fine_without_its_amount_is_incomplete() {
        assert_eq!(penalty_incomplete(&[(P::Fine, 0)]), Some(Incomplete::FineWithoutAmount));
        assert_eq!(penalty_incomplete(&[(P::Warning, 0), (P::Fine, 100)]), None);
        assert_eq!(penalty_incomplete(&[(P::ConfiscateIllegalGains, 0)]), None, "confiscation: only if determinable");
        assert_eq!(penalty_incomplete(&[]), None, "不予处罚 is counted apart");
    }

    #[test]
    fn the_annual_figures_are_due_by_a_configured_day_of_the_next_year() {
        assert_eq!(annual_due(2026, AnnualDue::default()), chrono::NaiveDate::from_ymd_opt(2027, 1, 31));
        let feb29 = AnnualDue::parse("02-29").unwrap();
        assert_eq!(annual_due(2026, feb29), chrono::NaiveDate::from_ymd_opt(2027, 2, 28));
        assert_eq!(annual_due(2027, feb29), chrono::NaiveDate::from_ymd_opt(2028, 2, 29));
        assert_eq!(AnnualDue::parse("03-31").map(AnnualDue::code), Some("03-31".to_owned()));
        assert_eq!(AnnualDue::parse("04-31"), None);
        assert_eq!(AnnualDue::parse("0131"), None);
    }

    #[test]
    fn tables_serialise_and_read_back_whole() {
        let mut t = Tables::default();
        t.penalty.count(&decision(&[P::Fine], 100, 0));
        t.inspection.count(Some(InspectionKind::Routine));
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(serde_json::from_str::<Tables>(&json).unwrap(), t);
    }

    #[test]
    fn revocations_and_void_decisions_are_annulled_changes_are_not() {
        assert!(annuls("revocation"));
        assert!(annuls("confirmed_void"));
        assert!(!annuls("change"));
        assert!(!annuls("confirmed_illegal"));
    }

    #[test]
    fn periods_are_checked_naming_the_field() {
        let p = |a: &str, b: &str| period("from_date", a, "to_date", b, 2000..=9998);
        assert!(p("2026-01-01", "2026-12-31").is_ok());
        assert!(p("2026-03-01", "2026-03-01").is_ok());
        let field = |r: Result<_>| match r {
            Err(Error::InvalidArgument { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(p("", "2026-12-31")), "from_date");
        assert_eq!(field(p("2026-01-01", "2026-02-30")), "to_date");
        assert_eq!(field(p("2026-02-01", "2026-01-31")), "to_date");
        assert_eq!(field(p("1999-12-31", "2026-01-31")), "from_date");
    }
}
