//! Whether an officer may act at a given moment (RULES G2, G3).

use crate::id::{AgencyId, OfficerId};
use chrono::NaiveDate;
use chrono_tz::Tz;

use crate::Error;
use crate::time::Timestamp;

/// An officer's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfficerStatus {
    Active,
    Suspended,
    Revoked,
}

impl OfficerStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Revoked => "revoked",
        }
    }

    /// Parses [`Self::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Active, Self::Suspended, Self::Revoked].into_iter().find(|v| v.as_str() == s)
    }
}

/// The kind of an enforcement certificate (RULES C1): the 《行政执法证》 for enforcement staff, the
/// 《行政执法监督证》 for supervision staff, or a certificate a law prescribes for its sector
/// (e.g. 人民警察证), which counts for enforcement acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CertificateKind {
    #[default]
    Enforcement,
    Supervision,
    Sector,
}

impl CertificateKind {
    /// All kinds.
    pub const ALL: [Self; 3] = [Self::Enforcement, Self::Supervision, Self::Sector];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enforcement => "enforcement",
            Self::Supervision => "supervision",
            Self::Sector => "sector",
        }
    }

    /// Parses [`Self::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Whether the certificate lets its holder take part in an enforcement act (C1, C8).
    pub fn enforces(self) -> bool {
        matches!(self, Self::Enforcement | Self::Sector)
    }
}

/// What was recorded of a certificate after it was issued (RULES C3–C5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertificateEventKind {
    /// The qualification review and the examinations were passed (C3): a certificate registered
    /// as pending becomes usable.
    EligibilityConfirmed,
    /// A training attended, with its hours (C4).
    Training,
    /// The annual review (年审) was passed (C4): the next one is due a review period later.
    ReviewPassed,
    /// The annual review was failed (C4): the certificate is suspended until a review passes.
    ReviewFailed,
    /// Suspended (暂扣) with its reason (C5), until reinstated.
    Suspended,
    /// A suspension ended (C5).
    Reinstated,
    /// Taken back (收回), e.g. on transfer (C5). Terminal.
    Withdrawn,
    /// Cancelled (注销): left enforcement work, punished, dismissed, ineligible (C5). Terminal.
    Cancelled,
    /// Reported lost and declared invalid (C5). Ends the card: only its replacement may follow.
    LostReported,
    /// A new card replaced the old one (补发/换发, C5): after a loss, damage or changed
    /// particulars, with its own number and validity dates (C6). The holder stays the same
    /// officer; a suspension, a failed review and the review clock carry over to the new card.
    Replaced,
}

impl CertificateEventKind {
    /// All kinds.
    pub const ALL: [Self; 10] = [
        Self::EligibilityConfirmed,
        Self::Training,
        Self::ReviewPassed,
        Self::ReviewFailed,
        Self::Suspended,
        Self::Reinstated,
        Self::Withdrawn,
        Self::Cancelled,
        Self::LostReported,
        Self::Replaced,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EligibilityConfirmed => "eligibility_confirmed",
            Self::Training => "training",
            Self::ReviewPassed => "review_passed",
            Self::ReviewFailed => "review_failed",
            Self::Suspended => "suspended",
            Self::Reinstated => "reinstated",
            Self::Withdrawn => "withdrawn",
            Self::Cancelled => "cancelled",
            Self::LostReported => "lost_reported",
            Self::Replaced => "replaced",
        }
    }

    /// Parses [`Self::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Whether the card ends with it (C5: withdrawn, cancelled and lost are terminal).
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Withdrawn | Self::Cancelled | Self::LostReported)
    }

    /// Whether the holder's certificate ends for good, with no replacement (withdrawn,
    /// cancelled); a lost card is replaced.
    pub fn ends_holder(self) -> bool {
        matches!(self, Self::Withdrawn | Self::Cancelled)
    }
}

/// One recorded fact of a certificate, effective from the start of `on` in the agency's zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertificateEvent {
    pub kind: CertificateEventKind,
    pub on: NaiveDate,
    /// Hours of a [`CertificateEventKind::Training`]; 0 otherwise.
    pub training_hours: u32,
    /// The validity dates of the card a [`CertificateEventKind::Replaced`] replaced: acts
    /// before `on` are judged by them; `None` otherwise.
    pub replaced: Option<Validity>,
}

/// The validity dates printed on a card (C6), both days inclusive, in the agency's zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    pub from: NaiveDate,
    pub until: NaiveDate,
}

/// The annual-review policy (RULES C4, C6; every figure a [default], set by the server's flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReviewPolicy {
    /// A review is due this many months after issue or the last passed review (default 12).
    pub months: u32,
    /// Hours of training a review period must hold, in at least one training, for the review to
    /// pass (default 0: one training of any length).
    pub min_training_hours: u32,
    /// Days before the end of validity from which a certificate is listed as expiring (C6,
    /// default 90).
    pub warning_days: u32,
}

impl Default for ReviewPolicy {
    fn default() -> Self {
        Self { months: 12, min_training_hours: 0, warning_days: 90 }
    }
}

/// Why an officer may not act: the rule and the reason in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unable {
    /// The rule id (`G3.certificate-valid`, `C3.eligibility`, `C4.annual-review-overdue`, ...).
    pub rule: &'static str,
    pub why: String,
}

impl std::fmt::Display for Unable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.why, self.rule)
    }
}

/// The state of a certificate on a day, as supervisors list it (RULES C4–C6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateState {
    /// Usable.
    Active,
    /// Registered before its qualification review and examinations passed (C3).
    PendingEligibility,
    /// Outside its validity dates (C6).
    NotValid,
    /// Suspended, or its holder's officer status is not active (C5, G2).
    Suspended,
    /// The annual review is past due (C4).
    ReviewOverdue,
    /// The last annual review was failed (C4).
    ReviewFailed,
    /// Withdrawn, cancelled or reported lost (C5).
    Ended,
}

impl CertificateState {
    /// The name in listings.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::PendingEligibility => "pending_eligibility",
            Self::NotValid => "not_valid",
            Self::Suspended => "suspended",
            Self::ReviewOverdue => "review_overdue",
            Self::ReviewFailed => "review_failed",
            Self::Ended => "ended",
        }
    }
}

/// What the rules need to know of an officer's certificate.
#[derive(Debug, Clone)]
pub struct Certificate {
    /// First day of validity of the current card, inclusive, in the agency's zone.
    pub valid_from: NaiveDate,
    /// Last day of validity of the current card, inclusive.
    pub valid_until: NaiveDate,
    /// Status changes as (effective from, status), in any order. Before the first, the officer is
    /// active.
    pub status_changes: Vec<(Timestamp, OfficerStatus)>,
    pub kind: CertificateKind,
    /// Auxiliary staff (辅助人员): never an acting officer (C3 [default]).
    pub auxiliary: bool,
    /// Registered before the qualification review and examinations passed (C3): usable from an
    /// [`CertificateEventKind::EligibilityConfirmed`] on.
    pub eligibility_pending: bool,
    /// The last annual review known when the certificate was registered (or the day it was
    /// registered, when none was given): the review clock starts here (C4).
    pub reviewed_on: NaiveDate,
    /// What was recorded since, in the order it was recorded.
    pub events: Vec<CertificateEvent>,
    pub policy: ReviewPolicy,
}

impl Certificate {
    /// A certificate of the enforcement kind, valid between the two days, reviewed on
    /// `valid_from`, with nothing recorded since.
    pub fn enforcement(valid_from: NaiveDate, valid_until: NaiveDate) -> Self {
        Self {
            valid_from,
            valid_until,
            status_changes: Vec::new(),
            kind: CertificateKind::Enforcement,
            auxiliary: false,
            eligibility_pending: false,
            reviewed_on: valid_from,
            events: Vec::new(),
            policy: ReviewPolicy::default(),
        }
    }

    /// The status in force at `at`.
    pub fn status_at(&self, at: Timestamp) -> OfficerStatus {
        self.status_changes
            .iter()
            .filter(|(from, _)| *from <= at)
            .max_by_key(|(from, _)| *from)
            .map_or(OfficerStatus::Active, |(_, s)| *s)
    }

    /// The events effective on or before `day`, in the order they took effect (those of one day
    /// in the order they were recorded: `events` is kept in that order).
    fn events_until(&self, day: NaiveDate) -> impl Iterator<Item = &CertificateEvent> {
        let mut v: Vec<&CertificateEvent> = self.events.iter().filter(|e| e.on <= day).collect();
        v.sort_by_key(|e| e.on);
        v.into_iter()
    }

    /// The day of the last passed annual review on or before `day` (C4).
    pub fn last_review(&self, day: NaiveDate) -> NaiveDate {
        self.events_until(day)
            .filter(|e| e.kind == CertificateEventKind::ReviewPassed)
            .map(|e| e.on)
            .fold(self.reviewed_on, NaiveDate::max)
    }

    /// The last day the next annual review may be held, as of `day` (C4): a review period
    /// after the last passed one. An act on the day after is refused.
    pub fn review_due(&self, day: NaiveDate) -> NaiveDate {
        let last = self.last_review(day);
        last.checked_add_months(chrono::Months::new(self.policy.months)).unwrap_or(NaiveDate::MAX)
    }

    /// Training hours recorded after the last passed review, up to and including `day`, and
    /// how many trainings they came from.
    pub fn training_since_review(&self, day: NaiveDate) -> (u32, usize) {
        let last = self.last_review(day);
        self.events_until(day)
            .filter(|e| e.kind == CertificateEventKind::Training && e.on > last)
            .fold((0, 0), |(h, n), e| (h.saturating_add(e.training_hours), n + 1))
    }

    /// Why a review passed on `day` may not be recorded (C4: at least one training in the
    /// period, with at least the policy's hours), or `None`.
    pub fn review_refused(&self, day: NaiveDate) -> Option<String> {
        let (hours, count) = self.training_since_review(day);
        if count == 0 {
            return Some(format!("no training recorded since the last review on {}", self.last_review(day)));
        }
        (hours < self.policy.min_training_hours).then(|| {
            format!("{hours} training hours since the last review, at least {} needed", self.policy.min_training_hours)
        })
    }

    /// The validity of the card in force on `day` (C6): the card a later replacement replaced,
    /// or the current one.
    pub fn validity_on(&self, day: NaiveDate) -> Validity {
        self.events
            .iter()
            .filter(|e| e.on > day)
            .filter_map(|e| e.replaced.map(|v| (e.on, v)))
            .min_by_key(|(on, _)| *on)
            .map_or(Validity { from: self.valid_from, until: self.valid_until }, |(_, v)| v)
    }

    /// The terminal event or the suspension in force on `day` (C5), if any: a withdrawal or a
    /// cancellation ends everything after it; a loss ends the card until its replacement; a
    /// suspension lasts until reinstated, across a replacement.
    fn suspension_on(&self, day: NaiveDate) -> Option<CertificateEvent> {
        let (mut suspended, mut lost) = (None, None);
        for e in self.events_until(day) {
            match e.kind {
                k if k.ends_holder() => return Some(*e),
                CertificateEventKind::LostReported => lost = Some(*e),
                CertificateEventKind::Replaced => lost = None,
                CertificateEventKind::Suspended => suspended = Some(*e),
                CertificateEventKind::Reinstated => suspended = None,
                _ => {}
            }
        }
        lost.or(suspended)
    }

    /// Whether the qualification review and examinations had passed by `day` (C3).
    fn eligible_on(&self, day: NaiveDate) -> bool {
        !self.eligibility_pending
            || self.events_until(day).any(|e| e.kind == CertificateEventKind::EligibilityConfirmed)
    }

    /// The failed review in force on `day`: one not followed by a passed one (C4).
    fn failed_review_on(&self, day: NaiveDate) -> Option<NaiveDate> {
        self.events_until(day).fold(None, |failed, e| match e.kind {
            CertificateEventKind::ReviewFailed => Some(e.on),
            CertificateEventKind::ReviewPassed => None,
            _ => failed,
        })
    }

    /// Why the certificate's holder may not act at `at` (RULES G2, G3, C3–C6, judged in the
    /// agency's `zone`), or `None` if they may. The kind of certificate an act needs is judged by
    /// [`check_acting`].
    pub fn why_invalid_at(&self, at: Timestamp, zone: Tz) -> Option<Unable> {
        let day = at.to_datetime().with_timezone(&zone).date_naive();
        let unable = |rule, why: String| Some(Unable { rule, why });
        let card = self.validity_on(day);
        if day < card.from {
            return unable("G3.certificate-valid", format!("certificate valid only from {}", card.from));
        }
        if day > card.until {
            return unable("G3.certificate-valid", format!("certificate expired on {}", card.until));
        }
        let status = self.status_at(at);
        if status != OfficerStatus::Active {
            return unable("G3.certificate-valid", format!("officer is {} at {at}", status.as_str()));
        }
        if let Some(e) = self.suspension_on(day) {
            return unable("C5.certificate-status", format!("certificate {} on {}", e.kind.as_str(), e.on));
        }
        if !self.eligible_on(day) {
            return unable("C3.eligibility", "qualification review and examinations not passed".into());
        }
        if let Some(on) = self.failed_review_on(day) {
            return unable("C4.annual-review-failed", format!("annual review failed on {on}"));
        }
        let due = self.review_due(day);
        if day > due {
            return unable("C4.annual-review-overdue", format!("annual review was due by {due}"));
        }
        None
    }

    /// The state on `day`, for listings (C4–C6).
    pub fn state_on(&self, at: Timestamp, zone: Tz) -> CertificateState {
        let day = at.to_datetime().with_timezone(&zone).date_naive();
        let card = self.validity_on(day);
        match self.why_invalid_at(at, zone) {
            None => CertificateState::Active,
            Some(u) => match u.rule {
                "C3.eligibility" => CertificateState::PendingEligibility,
                "C4.annual-review-failed" => CertificateState::ReviewFailed,
                "C4.annual-review-overdue" => CertificateState::ReviewOverdue,
                "C5.certificate-status" => match self.suspension_on(day) {
                    Some(e) if e.kind.is_terminal() => CertificateState::Ended,
                    _ => CertificateState::Suspended,
                },
                _ if !(card.from..=card.until).contains(&day) => CertificateState::NotValid,
                _ => CertificateState::Suspended,
            },
        }
    }

    /// Whether the end of validity is within the policy's warning period of `day` (C6).
    pub fn expiring(&self, day: NaiveDate) -> bool {
        day <= self.valid_until && (self.valid_until - day).num_days() < i64::from(self.policy.warning_days)
    }

    /// Why `kind` may not be recorded on `day` (C3–C5), as (rule, reason), or `None`.
    pub fn event_refused(&self, kind: CertificateEventKind, day: NaiveDate) -> Option<(&'static str, String)> {
        if let Some(e) = self.events.iter().find(|e| e.kind.ends_holder()) {
            return Some(("C5.terminal", format!("the certificate was {} on {}", e.kind.as_str(), e.on)));
        }
        // A lost card is followed by its replacement only; a replacement follows nothing else
        // in particular (a damaged card, changed particulars, a renewal).
        let lost = self.events.iter().fold(None, |lost, e| match e.kind {
            CertificateEventKind::LostReported => Some(e.on),
            CertificateEventKind::Replaced => None,
            _ => lost,
        });
        if let Some(on) = lost
            && kind != CertificateEventKind::Replaced
        {
            return Some((
                "C5.terminal",
                format!("the certificate was reported lost on {on}: only its replacement may be recorded"),
            ));
        }
        if self.events.iter().any(|e| e.on > day && e.kind != CertificateEventKind::Training) {
            return Some(("C5.order", "a later event is already recorded for this certificate".into()));
        }
        match kind {
            CertificateEventKind::EligibilityConfirmed if self.eligible_on(day) => {
                Some(("C3.eligibility", "the certificate is not pending eligibility".into()))
            }
            CertificateEventKind::ReviewPassed => self.review_refused(day).map(|why| ("C4.training", why)),
            CertificateEventKind::Reinstated
                if !self.suspension_on(day).is_some_and(|e| e.kind == CertificateEventKind::Suspended) =>
            {
                Some((
                    "C5.not-suspended",
                    "the certificate is not suspended (a failed review ends only by a passed one)".into(),
                ))
            }
            _ => None,
        }
    }
}

/// What an act asks of the certificates of those who take part in it (RULES C1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateUse {
    /// An enforcement act: an enforcement or sector certificate (G3, C8).
    Enforcement,
    /// Supervision of enforcement, such as investigating a conduct complaint (T6): a supervision
    /// certificate (《行政执法监督证》).
    Supervision,
}

impl Certificate {
    /// Why the holder may not take part in an act of `usage` at `at` (in the agency's `zone`), or
    /// `None` if they may: auxiliary staff never do (C3), a certificate of another kind does not
    /// allow it (C1), and then [`Self::why_invalid_at`]. The one certificate check of every act.
    pub fn why_unable(&self, usage: CertificateUse, at: Timestamp, zone: Tz) -> Option<Unable> {
        if self.auxiliary {
            let why = match usage {
                CertificateUse::Enforcement => "auxiliary staff (辅助人员) never act as enforcement officers",
                CertificateUse::Supervision => "auxiliary staff (辅助人员) never supervise enforcement",
            };
            return Some(Unable { rule: "C3.auxiliary", why: why.into() });
        }
        let (fits, act) = match usage {
            CertificateUse::Enforcement => (self.kind.enforces(), "enforcement acts"),
            CertificateUse::Supervision => (self.kind == CertificateKind::Supervision, "supervision of enforcement"),
        };
        if !fits {
            return Some(Unable {
                rule: "C1.certificate-kind",
                why: format!("a {} certificate does not allow {act}", self.kind.as_str()),
            });
        }
        self.why_invalid_at(at, zone)
    }
}

/// An officer named as acting in an act, as the rules need to know them.
#[derive(Debug, Clone, Copy)]
pub struct Named<'a> {
    pub agency_id: &'a AgencyId,
    pub name: &'a str,
    /// The enforcement field (执法类别) the certificate covers (C2, C8).
    pub category: &'a str,
    /// The area (执法区域) the certificate covers; empty: the agency's whole area (C2, C8).
    pub area: &'a str,
    pub certificate: &'a Certificate,
}

/// An act whose acting officers are judged (RULES G3, C8).
#[derive(Debug, Clone, Copy)]
pub struct Act<'a> {
    /// What the act is, for messages ("inspection", "a decision").
    pub name: &'a str,
    pub at: Timestamp,
    /// The agency's zone, in which the day of the act is judged.
    pub zone: Tz,
    /// How many officers it needs at least (G3).
    pub needed: usize,
    /// The category of the power (权力清单 item) the act uses, when it names one (C8).
    pub field: Option<&'a str>,
    /// The categories of the agency's power list: when the act names no power, it uses one of
    /// them, so each certificate must cover one (C8; an empty list judges nothing).
    pub fields: &'a [&'a str],
    /// Where it took place, when recorded (C8).
    pub place: &'a str,
    /// The administrative division code (行政区划代码) of the place, when recorded (C8).
    pub division: &'a str,
}

/// Checks an administrative division code (行政区划代码): 6 digits (GB/T 2260), or 9 or 12 digits
/// (the statistical codes down to township and village), not all zero.
pub fn check_division_code(field: &str, code: &str) -> crate::Result<()> {
    let ok =
        matches!(code.len(), 6 | 9 | 12) && code.bytes().all(|b| b.is_ascii_digit()) && code.bytes().any(|b| b != b'0');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(field, "an administrative division code (行政区划代码) of 6, 9 or 12 digits"))
    }
}

/// Whether `code` reads as a division code (see [`check_division_code`]).
pub fn is_division_code(code: &str) -> bool {
    check_division_code("", code).is_ok()
}

/// The significant prefix of a division code: what every division inside it starts with
/// (410000 Henan: `41`; 410100 Zhengzhou: `4101`; 410105 Jinshui district: `410105`;
/// 410105001000 a subdistrict: `410105001`).
fn division_prefix(code: &str) -> &str {
    let mut end = code.len();
    if end == 12 && &code[9..12] == "000" {
        end = 9;
    }
    if end == 9 && &code[6..9] == "000" {
        end = 6;
    }
    if end == 6 && &code[4..6] == "00" {
        end = 4;
    }
    if end == 4 && &code[2..4] == "00" {
        end = 2;
    }
    &code[..end]
}

/// Whether division `area` covers division `place` (C8): the place is the area or inside it.
pub fn division_covers(area: &str, place: &str) -> bool {
    place.starts_with(division_prefix(area))
}

/// Why the acting officers of an act are refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActingRefused {
    /// A malformed list (an officer named twice, or not of the agency): `INVALID_ARGUMENT`.
    Invalid(Error),
    /// Officer `officer_ids[index]` may not act at the time of the act (G2, G3, C1, C3–C6):
    /// `FAILED_PRECONDITION` naming the rule (`G3.certificate-valid`, `C4.annual-review-overdue`,
    /// ...), and the attempt is counted for supervisors (S1).
    Certificate { index: usize, name: String, rule: &'static str, why: String },
    /// Too few officers for the act (G3): `FAILED_PRECONDITION G3.two-officers`.
    TooFew(Error),
}

impl ActingRefused {
    /// The error the client gets.
    pub fn error(&self, officer_ids: &[OfficerId]) -> Error {
        match self {
            Self::Invalid(e) | Self::TooFew(e) => e.clone(),
            Self::Certificate { index, name, rule, why } => Error::precondition(
                *rule,
                format!("officer {name} ({}): {why}", officer_ids.get(*index).map_or("", OfficerId::as_str)),
            ),
        }
    }
}

/// The one check of an act's acting officers (RULES G2, G3, C8), used by every act that names
/// officers (`AppendEvent`, `IssueDecision`): each named once and of `agency_id`, then each
/// not auxiliary staff, holding a certificate of a kind for enforcement, valid, active, eligible
/// and reviewed at the act's time in its zone, whose field covers the power the act uses and whose
/// area covers its place (C8), then at least `act.needed` of them.
/// `lookup` finds a registered officer by id.
pub fn check_acting<'a>(
    officer_ids: &[OfficerId],
    lookup: impl Fn(&OfficerId) -> Option<Named<'a>>,
    agency_id: &AgencyId,
    act: &Act<'_>,
) -> Result<(), ActingRefused> {
    let mut named = Vec::with_capacity(officer_ids.len());
    for (i, id) in officer_ids.iter().enumerate() {
        let field = || format!("officer_ids[{i}]");
        if officer_ids[..i].contains(id) {
            return Err(ActingRefused::Invalid(Error::invalid(field(), "listed twice")));
        }
        let officer = lookup(id)
            .filter(|o| o.agency_id == agency_id)
            .ok_or_else(|| ActingRefused::Invalid(Error::invalid(field(), "no such officer in this agency")))?;
        named.push(officer);
    }
    for (index, officer) in named.iter().enumerate() {
        let unable = officer
            .certificate
            .why_unable(CertificateUse::Enforcement, act.at, act.zone)
            .or_else(|| coverage(officer, act));
        if let Some(Unable { rule, why }) = unable {
            return Err(ActingRefused::Certificate { index, name: officer.name.to_owned(), rule, why });
        }
    }
    if named.len() < act.needed {
        return Err(ActingRefused::TooFew(Error::precondition(
            "G3.two-officers",
            format!("{} needs at least {} officers with valid certificates (处罚法 Art. 42, 55)", act.name, act.needed),
        )));
    }
    Ok(())
}

/// Why `officer`'s certificate does not cover `act` (C8): the category of the power it uses, or
/// its place when the certificate is limited to an area; `None` when it does.
fn coverage(officer: &Named<'_>, act: &Act<'_>) -> Option<Unable> {
    let category = officer.category.trim();
    match act.field {
        Some(field) if field.trim() != category => {
            return Some(Unable {
                rule: "C8.field",
                why: format!("a certificate for {category} does not cover a power of {field}"),
            });
        }
        // No power named: the act uses one of the agency's powers, so the certificate must
        // cover at least one of their fields (the field itself when the list has only one).
        None if !act.fields.is_empty() && !act.fields.iter().any(|f| f.trim() == category) => {
            return Some(Unable {
                rule: "C8.field",
                why: format!(
                    "the act names no power, and a certificate for {category} covers none of the agency's powers ({})",
                    act.fields.join(", ")
                ),
            });
        }
        _ => {}
    }
    let (area, place, division) = (officer.area.trim(), act.place.trim(), act.division.trim());
    if area.is_empty() {
        return None;
    }
    if !is_division_code(area) {
        // An area registered as words before areas were division codes (migration m0017): the
        // recorded place must name it.
        return (!place.is_empty() && !place.contains(area)).then(|| Unable {
            rule: "C8.area",
            why: format!("a certificate for {area} does not cover the place ({place})"),
        });
    }
    if division.is_empty() {
        return (!place.is_empty()).then(|| Unable {
            rule: "C8.area",
            why: format!(
                "a certificate limited to division {area} is judged by the place's division code, and the act records its place ({place}) without one (division_code)"
            ),
        });
    }
    (!division_covers(area, division)).then(|| Unable {
        rule: "C8.area",
        why: format!("a certificate for division {area} does not cover the place's division {division}"),
    })
}

/// The zone of an agency, defaulting to Asia/Shanghai (RULES D5).
pub fn zone(name: &str) -> Option<Tz> {
    if name.is_empty() { Some(chrono_tz::Asia::Shanghai) } else { name.parse().ok() }
}

/// The zone of a stored agency: validated when the agency was created, so an unknown name is an
/// internal error, not bad input.
pub fn stored_zone(name: &str) -> crate::Result<Tz> {
    zone(name).ok_or_else(|| crate::Error::Internal(format!("stored time zone {name:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// Noon in Shanghai on the day.
    fn noon(y: i32, m: u32, d: u32) -> Timestamp {
        at(&format!("{y:04}-{m:02}-{d:02}T04:00:00Z"))
    }

    fn event(kind: CertificateEventKind, on: NaiveDate) -> CertificateEvent {
        CertificateEvent {
            kind,
            on,
            training_hours: if kind == CertificateEventKind::Training { 8 } else { 0 },
            replaced: None,
        }
    }

    /// An inspection at `at` in Shanghai needing `needed` officers, naming no power or place.
    fn act(at: Timestamp, needed: usize) -> Act<'static> {
        Act {
            name: "inspection",
            at,
            zone: zone("").unwrap(),
            needed,
            field: None,
            fields: &[],
            place: "",
            division: "",
        }
    }

    #[test]
    fn the_certificates_field_covers_the_power_and_its_area_the_place() {
        let cert = Certificate {
            reviewed_on: day(2026, 1, 1),
            ..Certificate::enforcement(day(2020, 1, 1), day(2035, 12, 31))
        };
        let a = AgencyId::from("a");
        let lookup = |id: &OfficerId| match id.as_str() {
            "m" => Some(Named { agency_id: &a, name: "m", category: "市场监管", area: "", certificate: &cert }),
            "z" => {
                Some(Named {
                    agency_id: &a, name: "z", category: "市场监管", area: "郑州市金水区", certificate: &cert
                })
            }
            _ => None,
        };
        let ids = [OfficerId::from("m"), OfficerId::from("z")];
        let base = act(noon(2026, 3, 1), 2);
        let rule_of = |act: Act<'_>| match check_acting(&ids, lookup, &a, &act) {
            Ok(()) => None,
            Err(ActingRefused::Certificate { rule, index, .. }) => Some((rule, index)),
            Err(other) => panic!("{other:?}"),
        };
        assert_eq!(rule_of(base), None, "no power and no place named: nothing to cover");
        assert_eq!(rule_of(Act { field: Some("市场监管"), ..base }), None);
        assert_eq!(rule_of(Act { field: Some("城市管理"), ..base }), Some(("C8.field", 0)));
        assert_eq!(rule_of(Act { place: "郑州市金水区花园路 1 号", ..base }), None);
        // The officer without an area covers every place; the other only theirs.
        assert_eq!(rule_of(Act { place: "郑州市二七区大学路 2 号", ..base }), Some(("C8.area", 1)));
        // No power named: the certificate must cover one of the agency's fields.
        assert_eq!(rule_of(Act { fields: &["城市管理"], ..base }), Some(("C8.field", 0)));
        assert_eq!(rule_of(Act { fields: &["城市管理", "市场监管"], ..base }), None);
    }

    #[test]
    fn an_area_given_as_a_division_code_covers_the_divisions_inside_it() {
        for bad in ["", "41010", "4101050", "41010A", "000000", "郑州市"] {
            assert!(check_division_code("area", bad).is_err(), "{bad}");
        }
        for good in ["410105", "410105001", "410105001001"] {
            assert!(check_division_code("area", good).is_ok(), "{good}");
        }
        assert!(division_covers("410000", "410105"), "the province covers its districts");
        assert!(division_covers("410100", "410105001"));
        assert!(division_covers("410105", "410105"));
        assert!(division_covers("410105", "410105001001"));
        assert!(!division_covers("410105", "410103"), "金水区 does not cover 二七区");
        assert!(!division_covers("410100", "410200"));
        assert!(!division_covers("410105001", "410105002001"));
        // By code, not by words: a place whose address merely contains the code's digits is not in it.
        assert!(!division_covers("410105", "141010"));

        let cert = Certificate {
            reviewed_on: day(2026, 1, 1),
            ..Certificate::enforcement(day(2020, 1, 1), day(2035, 12, 31))
        };
        let a = AgencyId::from("a");
        let lookup = |_: &OfficerId| {
            Some(Named { agency_id: &a, name: "z", category: "市场监管", area: "410105", certificate: &cert })
        };
        let ids = [OfficerId::from("z")];
        let base = act(noon(2026, 3, 1), 1);
        let rule_of = |act: Act<'_>| match check_acting(&ids, lookup, &a, &act) {
            Ok(()) => None,
            Err(ActingRefused::Certificate { rule, .. }) => Some(rule),
            Err(other) => panic!("{other:?}"),
        };
        assert_eq!(rule_of(Act { place: "金水区花园路 8 号", division: "410105", ..base }), None);
        assert_eq!(rule_of(Act { place: "金水区花园路 8 号", division: "410103", ..base }), Some("C8.area"));
        // A place recorded without its code cannot be judged by code: refused.
        assert_eq!(rule_of(Act { place: "郑州市金水区花园路 8 号", ..base }), Some("C8.area"));
        assert_eq!(rule_of(base), None, "no place recorded: nothing to cover");
    }

    fn rule(c: &Certificate, at: Timestamp) -> Option<&'static str> {
        c.why_invalid_at(at, zone("").unwrap()).map(|u| u.rule)
    }

    #[test]
    fn the_annual_review_is_due_a_period_after_the_last_passed_one_and_acts_stop_the_day_after() {
        use CertificateEventKind::*;
        let mut c = Certificate {
            reviewed_on: day(2025, 3, 10),
            ..Certificate::enforcement(day(2020, 1, 1), day(2030, 12, 31))
        };
        assert_eq!(c.review_due(day(2025, 6, 1)), day(2026, 3, 10));
        // The due day itself may still be used; the next day is refused.
        assert_eq!(rule(&c, noon(2026, 3, 10)), None);
        assert_eq!(rule(&c, noon(2026, 3, 11)), Some("C4.annual-review-overdue"));
        // A review passed late restores the certificate from its day and restarts the clock.
        c.events.push(event(Training, day(2025, 9, 1)));
        c.events.push(event(ReviewPassed, day(2026, 3, 20)));
        assert_eq!(rule(&c, noon(2026, 3, 19)), Some("C4.annual-review-overdue"));
        assert_eq!(rule(&c, noon(2026, 3, 20)), None);
        assert_eq!(c.review_due(day(2026, 3, 20)), day(2027, 3, 20));
        // A policy of another length moves the due day.
        c.policy.months = 36;
        assert_eq!(c.review_due(day(2026, 3, 20)), day(2029, 3, 20));
    }

    #[test]
    fn a_failed_review_suspends_until_a_review_passes_and_reinstatement_does_not_cure_it() {
        use CertificateEventKind::*;
        let mut c = Certificate {
            reviewed_on: day(2025, 3, 10),
            ..Certificate::enforcement(day(2020, 1, 1), day(2030, 12, 31))
        };
        c.events.push(event(ReviewFailed, day(2025, 12, 1)));
        assert_eq!(rule(&c, noon(2025, 11, 30)), None);
        assert_eq!(rule(&c, noon(2025, 12, 1)), Some("C4.annual-review-failed"));
        assert!(c.event_refused(Reinstated, day(2025, 12, 2)).is_some_and(|(r, _)| r == "C5.not-suspended"));
        // No training since the last review: the review cannot be recorded as passed.
        assert!(c.event_refused(ReviewPassed, day(2025, 12, 5)).is_some_and(|(r, _)| r == "C4.training"));
        c.events.push(event(Training, day(2025, 12, 3)));
        assert_eq!(c.event_refused(ReviewPassed, day(2025, 12, 5)), None);
        c.events.push(event(ReviewPassed, day(2025, 12, 5)));
        assert_eq!(rule(&c, noon(2025, 12, 5)), None);
        // Hours below the policy's minimum are refused, at or above accepted.
        c.policy.min_training_hours = 9;
        c.events.push(event(Training, day(2026, 1, 5)));
        assert!(c.event_refused(ReviewPassed, day(2026, 2, 1)).is_some_and(|(r, _)| r == "C4.training"));
        c.policy.min_training_hours = 8;
        assert_eq!(c.event_refused(ReviewPassed, day(2026, 2, 1)), None);
    }

    #[test]
    fn a_lost_card_is_replaced_and_the_holder_acts_again_under_the_new_cards_dates() {
        use CertificateEventKind::*;
        let sh = zone("").unwrap();
        let old = Validity { from: day(2020, 1, 1), until: day(2026, 6, 30) };
        let mut c = Certificate { reviewed_on: day(2026, 1, 1), ..Certificate::enforcement(old.from, old.until) };
        c.events.push(event(LostReported, day(2026, 2, 1)));
        assert_eq!(c.state_on(noon(2026, 2, 1), sh), CertificateState::Ended);
        // Only the replacement may follow a loss.
        for kind in CertificateEventKind::ALL.into_iter().filter(|k| *k != Replaced) {
            assert!(c.event_refused(kind, day(2026, 2, 3)).is_some_and(|(r, _)| r == "C5.terminal"), "{kind:?}");
        }
        assert_eq!(c.event_refused(Replaced, day(2026, 2, 3)), None);
        // The new card: valid from its issue day for five years; the officer row holds it now.
        c.valid_from = day(2026, 2, 3);
        c.valid_until = day(2031, 2, 2);
        c.events.push(CertificateEvent { replaced: Some(old), ..event(Replaced, day(2026, 2, 3)) });
        assert_eq!(rule(&c, noon(2026, 2, 3)), None, "usable again from the replacement on");
        assert_eq!(c.state_on(noon(2026, 2, 3), sh), CertificateState::Active);
        assert_eq!(rule(&c, noon(2026, 2, 2)), Some("C5.certificate-status"), "still lost the day before");
        // Acts before the loss are judged by the old card's dates, later ones by the new card's.
        assert_eq!(c.validity_on(day(2026, 1, 15)), old);
        assert_eq!(rule(&c, noon(2026, 1, 15)), None);
        assert_eq!(c.validity_on(day(2026, 7, 1)), Validity { from: day(2026, 2, 3), until: day(2031, 2, 2) });
        assert_eq!(rule(&c, noon(2026, 7, 1)), None, "the old card would have expired on 30 June");
        // A suspension carries over to a new card: replacing a card does not lift it.
        c.events.push(event(Suspended, day(2026, 8, 1)));
        c.events.push(CertificateEvent {
            replaced: Some(Validity { from: day(2026, 2, 3), until: day(2031, 2, 2) }),
            ..event(Replaced, day(2026, 8, 2))
        });
        assert_eq!(rule(&c, noon(2026, 8, 3)), Some("C5.certificate-status"));
        // A cancelled certificate is never replaced.
        c.events.push(event(Cancelled, day(2026, 9, 1)));
        assert!(c.event_refused(Replaced, day(2026, 9, 2)).is_some_and(|(r, _)| r == "C5.terminal"));
    }

    #[test]
    fn suspension_reinstatement_and_terminal_events() {
        use CertificateEventKind::*;
        let mut c = Certificate {
            reviewed_on: day(2026, 1, 1),
            ..Certificate::enforcement(day(2020, 1, 1), day(2030, 12, 31))
        };
        assert!(c.event_refused(Reinstated, day(2026, 2, 1)).is_some());
        c.events.push(event(Suspended, day(2026, 2, 1)));
        assert_eq!(rule(&c, noon(2026, 2, 1)), Some("C5.certificate-status"));
        assert_eq!(c.state_on(noon(2026, 2, 1), zone("").unwrap()), CertificateState::Suspended);
        assert_eq!(c.event_refused(Reinstated, day(2026, 2, 10)), None);
        c.events.push(event(Reinstated, day(2026, 2, 10)));
        assert_eq!(rule(&c, noon(2026, 2, 10)), None);
        // Nothing is recorded before what is already recorded.
        assert!(c.event_refused(Suspended, day(2026, 2, 5)).is_some_and(|(r, _)| r == "C5.order"));
        c.events.push(event(Cancelled, day(2026, 3, 1)));
        assert_eq!(rule(&c, noon(2026, 3, 1)), Some("C5.certificate-status"));
        assert_eq!(c.state_on(noon(2026, 3, 1), zone("").unwrap()), CertificateState::Ended);
        for kind in CertificateEventKind::ALL {
            assert!(c.event_refused(kind, day(2026, 4, 1)).is_some_and(|(r, _)| r == "C5.terminal"), "{kind:?}");
        }
    }

    #[test]
    fn eligibility_kind_auxiliary_and_expiry_warning() {
        use CertificateEventKind::*;
        let base = Certificate {
            reviewed_on: day(2026, 1, 1),
            ..Certificate::enforcement(day(2020, 1, 1), day(2026, 12, 31))
        };
        let mut pending = Certificate { eligibility_pending: true, ..base.clone() };
        assert_eq!(rule(&pending, noon(2026, 2, 1)), Some("C3.eligibility"));
        assert_eq!(pending.state_on(noon(2026, 2, 1), zone("").unwrap()), CertificateState::PendingEligibility);
        assert!(base.event_refused(EligibilityConfirmed, day(2026, 2, 1)).is_some());
        pending.events.push(event(EligibilityConfirmed, day(2026, 2, 2)));
        assert_eq!(rule(&pending, noon(2026, 2, 2)), None);

        // The warning period: 90 days before the last valid day, not after it.
        assert!(!base.expiring(day(2026, 10, 2)));
        assert!(base.expiring(day(2026, 10, 3)));
        assert!(base.expiring(day(2026, 12, 31)));
        assert!(!base.expiring(day(2027, 1, 1)));

        let a = AgencyId::from("a");
        let supervision = Certificate { kind: CertificateKind::Supervision, ..base.clone() };
        let sector = Certificate { kind: CertificateKind::Sector, ..base.clone() };
        let auxiliary = Certificate { auxiliary: true, ..base.clone() };
        let lookup = |id: &OfficerId| {
            let (name, certificate) = match id.as_str() {
                "e" => ("e", &base),
                "s" => ("s", &supervision),
                "p" => ("p", &sector),
                "x" => ("x", &auxiliary),
                _ => return None,
            };
            Some(Named { agency_id: &a, name, category: "市场监管", area: "", certificate })
        };
        let check = |v: [&str; 2]| {
            let ids = v.map(OfficerId::from);
            check_acting(&ids, lookup, &a, &act(noon(2026, 3, 1), 2))
        };
        assert_eq!(check(["e", "p"]), Ok(()));
        let refused =
            |v, want: &str| matches!(check(v), Err(ActingRefused::Certificate { index: 1, rule, .. }) if rule == want);
        assert!(refused(["e", "s"], "C1.certificate-kind"));
        assert!(refused(["e", "x"], "C3.auxiliary"));
    }

    #[test]
    fn validity_is_judged_in_the_agency_zone_at_the_moment_of_the_act() {
        let cert = Certificate {
            status_changes: vec![
                (at("2026-03-01T00:00:00Z"), OfficerStatus::Suspended),
                (at("2026-04-01T00:00:00Z"), OfficerStatus::Active),
            ],
            ..Certificate::enforcement(day(2026, 1, 1), day(2026, 6, 30))
        };
        let sh = zone("").unwrap();
        // 2025-12-31T16:30Z is already 2026-01-01 in Shanghai.
        assert!(cert.why_invalid_at(at("2025-12-31T16:30:00Z"), sh).is_none());
        assert!(cert.why_invalid_at(at("2025-12-31T15:30:00Z"), sh).is_some());
        assert!(cert.why_invalid_at(at("2026-03-15T00:00:00Z"), sh).unwrap().why.contains("suspended"));
        assert!(cert.why_invalid_at(at("2026-04-15T00:00:00Z"), sh).is_none());
        assert!(cert.why_invalid_at(at("2026-06-30T15:59:59Z"), sh).is_none());
        assert!(cert.why_invalid_at(at("2026-06-30T16:00:00Z"), sh).unwrap().why.contains("expired"));
    }

    #[test]
    fn acting_officers_are_named_once_of_the_agency_valid_and_enough() {
        let valid = Certificate {
            reviewed_on: day(2026, 1, 1),
            ..Certificate::enforcement(day(2020, 1, 1), day(2035, 12, 31))
        };
        let suspended = Certificate {
            status_changes: vec![(at("2026-01-01T00:00:00Z"), OfficerStatus::Suspended)],
            ..valid.clone()
        };
        let (a, b) = (AgencyId::from("a"), AgencyId::from("b"));
        let named =
            |agency_id, name, certificate| Named { agency_id, name, category: "市场监管", area: "", certificate };
        let lookup = |id: &OfficerId| match id.as_str() {
            "o1" | "o2" => Some(named(&a, "valid", &valid)),
            "x" => Some(named(&b, "elsewhere", &valid)),
            "s" => Some(named(&a, "suspended", &suspended)),
            _ => None,
        };
        let ids = |v: &[&str]| v.iter().map(|s| OfficerId::from(*s)).collect::<Vec<_>>();
        let check = |v: &[&str], needed| check_acting(&ids(v), lookup, &a, &act(at("2026-03-01T00:00:00Z"), needed));
        assert_eq!(check(&["o1", "o2"], 2), Ok(()));
        assert!(
            matches!(check(&["o1", "o1"], 2), Err(ActingRefused::Invalid(Error::InvalidArgument { field, .. })) if field == "officer_ids[1]")
        );
        assert!(matches!(check(&["o1", "x"], 2), Err(ActingRefused::Invalid(_))));
        assert!(matches!(check(&["o1", "nobody"], 2), Err(ActingRefused::Invalid(_))));
        // A malformed list is refused before any certificate is judged: no refusal is counted.
        assert!(matches!(check(&["s", "s"], 2), Err(ActingRefused::Invalid(_))));
        assert!(matches!(check(&["o1", "s"], 2), Err(ActingRefused::Certificate { index: 1, .. })));
        assert!(matches!(check(&["o1"], 2), Err(ActingRefused::TooFew(_))));
        assert_eq!(check(&["o1"], 1), Ok(()));
        assert_eq!(check(&[], 0), Ok(()));
    }
}
