//! Masking before publication (RULES P5; 政府信息公开条例 Art. 15, 37; PIPL Art. 55): one pipeline
//! for structured fields and free text.
//!
//! Masking replaces characters one for one and never inserts, removes or reorders anything, so
//! apart from the masked characters the published text equals the decision (SAMR Art. 7). Every
//! kind of data has one replacement rule, used both by the structured-field helpers
//! ([`mask_id_number`], [`mask_phone`], …) and by [`Masker::mask_text`]:
//!
//! | kind                       | rule                                               |
//! |----------------------------|----------------------------------------------------|
//! | resident ID number (18/15) | keep the first 6 characters (region), `*` the rest |
//! | mobile and landline number | keep the first 3 and last 4 digits, `*` the rest   |
//! | bank card number           | keep the last 4 digits, `*` the rest               |
//! | home address, health data  | `*` every character                                |
//! | a natural person's name    | keep the surname, `某` the rest (张三 → 张某)       |
//!
//! A value too short for its rule (fewer characters than it keeps) is masked completely.
//! Separators (spaces, dashes, brackets) inside a number are kept, like every other character.
//!
//! Free text is scanned by hand rather than with the `regex` crate: the patterns need checks a
//! regular expression cannot express (ID check digits, birth dates, credit-code and Luhn
//! validation, grouping rules), and a scanner over `char`s keeps positions exact for the
//! one-for-one replacement.
//!
//! Known limits, by design: a number in free text is only recognised with the layouts listed at
//! [`Masker::mask_text`]; an address or health phrase in free text is only recognised after one of
//! the keywords, up to the next punctuation; names are masked only if they are given.

use chrono::NaiveDate;

use crate::credit_code::CreditCode;
use crate::error::{Error, Result};

/// The character replacing a masked character of a number, an address or health information.
pub const MASK: char = '*';

/// The character replacing the masked characters of a name (张三 → 张某).
pub const NAME_MASK: char = '某';

/// Keywords after which free text names a home address (longest first, so that 家庭住址 wins
/// over 住址).
pub const ADDRESS_KEYWORDS: [&str; 7] = ["家庭住址", "现住址", "住所地", "居住地", "住址", "住所", "现住"];

/// Keywords after which free text states health information.
pub const HEALTH_KEYWORDS: [&str; 4] = ["诊断为", "病情", "患有", "病史"];

/// Compound surnames (复姓) kept whole when a name is masked (欧阳娜娜 → 欧阳某某).
const COMPOUND_SURNAMES: [&str; 20] = [
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "令狐", "慕容", "端木", "公孙", "尉迟", "长孙", "宇文", "夏侯",
    "司徒", "司空", "独孤", "南宫", "西门", "轩辕",
];

/// Weights of the first 17 characters of an 18-character resident ID number (GB 11643-1999).
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// Check characters of an ID number by the weighted sum modulo 11 (GB 11643-1999).
const ID_CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// What the agency decided about masking (RULES P5: the punished person's name is an option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MaskingPolicy {
    /// Mask the punished natural person's own name too (张三 → 张某).
    pub mask_party_name: bool,
}

/// The natural persons named in a decision, from its structured data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PartyNames {
    /// The punished person's name, if a natural person; masked only when the policy says so.
    pub punished: Option<String>,
    /// Every other natural person (witnesses, victims, relatives): always masked.
    pub others: Vec<String>,
}

/// The kinds of data masked, each with one replacement rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    IdNumber,
    Phone,
    BankCard,
    Whole,
}

impl Kind {
    /// How many significant characters stay visible at the start and at the end.
    fn keep(self) -> (usize, usize) {
        match self {
            Self::IdNumber => (6, 0),
            Self::Phone => (3, 4),
            Self::BankCard => (0, 4),
            Self::Whole => (0, 0),
        }
    }
}

/// Per-character replacements of one text: `None` keeps the character.
struct Marks {
    chars: Vec<char>,
    out: Vec<Option<char>>,
}

impl Marks {
    fn new(text: &str) -> Self {
        let chars: Vec<char> = text.chars().collect();
        let out = vec![None; chars.len()];
        Self { chars, out }
    }

    /// Masks the significant characters at `positions` by the rule of `kind`.
    fn apply(&mut self, kind: Kind, positions: &[usize]) {
        let n = positions.len();
        let (first, last) = kind.keep();
        // Too short for the rule: showing what the rule keeps could show everything.
        let (first, last) = if first + last >= n { (0, 0) } else { (first, last) };
        for &p in &positions[first..n - last] {
            self.out[p] = Some(MASK);
        }
    }

    /// Masks a name at `start..start + len` (surname kept, the rest `某`).
    fn apply_name(&mut self, start: usize, len: usize) {
        let keep = surname_len(&self.chars[start..start + len]);
        for p in start + keep..start + len {
            self.out[p] = Some(NAME_MASK);
        }
    }

    fn render(&self) -> String {
        self.chars.iter().zip(&self.out).map(|(c, m)| m.unwrap_or(*c)).collect()
    }
}

/// How many leading characters of a name are its surname.
fn surname_len(name: &[char]) -> usize {
    if name.len() >= 3 {
        let two: String = name[..2].iter().collect();
        if COMPOUND_SURNAMES.contains(&two.as_str()) {
            return 2;
        }
    }
    1
}

fn positions_where(chars: &[char], keep: impl Fn(char) -> bool) -> Vec<usize> {
    chars.iter().enumerate().filter(|(_, c)| keep(**c)).map(|(i, _)| i).collect()
}

fn mask_structured(value: &str, kind: Kind, significant: impl Fn(char) -> bool) -> String {
    let mut marks = Marks::new(value);
    let positions = positions_where(&marks.chars, significant);
    marks.apply(kind, &positions);
    marks.render()
}

/// Masks a structured resident ID number field: the first 6 characters stay, every other letter
/// or digit becomes `*` (`350102199001011234` → `350102************`).
pub fn mask_id_number(value: &str) -> String {
    mask_structured(value, Kind::IdNumber, |c| c.is_ascii_alphanumeric())
}

/// Masks a structured phone field (mobile or landline): the first 3 and last 4 digits of the
/// number stay (`138-1234-5678` → `138-****-5678`); a +86 country code stays as written.
pub fn mask_phone(value: &str) -> String {
    let mut marks = Marks::new(value);
    let mut digits = positions_where(&marks.chars, |c| c.is_ascii_digit());
    let digit_text: String = digits.iter().map(|&p| marks.chars[p]).collect();
    if digit_text.len() == 13 && digit_text.starts_with("86") {
        digits.drain(..2);
    }
    marks.apply(Kind::Phone, &digits);
    marks.render()
}

/// Masks a structured bank card or account number field: the last 4 digits stay.
pub fn mask_bank_card(value: &str) -> String {
    mask_structured(value, Kind::BankCard, |c| c.is_ascii_alphanumeric())
}

/// Masks a structured home-address field completely (whitespace kept).
pub fn mask_address(value: &str) -> String {
    mask_structured(value, Kind::Whole, |c| !c.is_whitespace())
}

/// Masks a structured health-information field completely (whitespace kept).
pub fn mask_health(value: &str) -> String {
    mask_structured(value, Kind::Whole, |c| !c.is_whitespace())
}

/// Masks a natural person's name: the surname stays, the rest becomes `某` (张三 → 张某,
/// 欧阳娜娜 → 欧阳某某). Surrounding whitespace is kept as it is.
pub fn mask_name(value: &str) -> String {
    let mut marks = Marks::new(value);
    let start = marks.chars.iter().position(|c| !c.is_whitespace()).unwrap_or(0);
    let end = marks.chars.iter().rposition(|c| !c.is_whitespace()).map_or(start, |e| e + 1);
    if end > start {
        marks.apply_name(start, end - start);
    }
    marks.render()
}

/// Whether an 18-character resident ID number has a valid check character and birth date.
pub fn is_valid_id18(id: &str) -> bool {
    let bytes = id.as_bytes();
    if bytes.len() != 18 || !bytes[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = bytes[..17].iter().zip(ID_WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
    let expected = ID_CHECK[(sum % 11) as usize];
    bytes[17].to_ascii_uppercase() as char == expected && plausible_birth_date(&id[6..14])
}

/// Whether `digits` (YYYYMMDD) is a date between 1900 and 2099.
fn plausible_birth_date(digits: &str) -> bool {
    let (Ok(y), Ok(m), Ok(d)) = (digits[..4].parse::<i32>(), digits[4..6].parse(), digits[6..8].parse()) else {
        return false;
    };
    (1900..2100).contains(&y) && NaiveDate::from_ymd_opt(y, m, d).is_some()
}

/// Whether a 15-digit old ID number has a plausible birth date (YYMMDD at positions 7–12).
fn plausible_id15(digits: &str) -> bool {
    plausible_birth_date(&format!("19{}", &digits[6..12]))
}

/// Whether a digit string passes the Luhn check used by bank cards.
pub fn luhn_valid(digits: &str) -> bool {
    // Anything but a digit string fails (a character below '0' underflowed the arithmetic below;
    // tests/fuzz.rs keeps the case).
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A run of digits inside a number token, e.g. `0591` in `(0591)87654321`.
#[derive(Debug, Clone, Copy)]
struct Group {
    /// First digit.
    start: usize,
    /// After the last digit (or the final X of an ID number).
    end: usize,
    /// After the group including a closing bracket.
    close: usize,
    /// Written in brackets.
    bracketed: bool,
}

fn is_open(c: char) -> bool {
    matches!(c, '(' | '（')
}

fn is_close(c: char) -> bool {
    matches!(c, ')' | '）')
}

/// The digit groups of the number token starting at `i`: digits separated by a single space or
/// dash, the first group possibly bracketed (`(0591)`, `（+86）` is not supported).
fn parse_groups(c: &[char], mut j: usize) -> Vec<Group> {
    let mut groups = Vec::new();
    loop {
        let bracketed = j < c.len() && is_open(c[j]) && groups.is_empty();
        let start = if bracketed { j + 1 } else { j };
        let mut end = start;
        while end < c.len() && c[end].is_ascii_digit() {
            end += 1;
        }
        if end == start {
            break;
        }
        if end - start == 17 && end < c.len() && matches!(c[end], 'X' | 'x') {
            end += 1;
        }
        let mut close = end;
        if bracketed {
            if close < c.len() && is_close(c[close]) {
                close += 1;
            } else {
                break;
            }
        }
        groups.push(Group { start, end, close, bracketed });
        let digit_at = |k: usize| k < c.len() && c[k].is_ascii_digit();
        if close < c.len() && matches!(c[close], ' ' | '-') && digit_at(close + 1) {
            j = close + 1;
        } else if bracketed && digit_at(close) {
            j = close;
        } else {
            break;
        }
    }
    groups
}

/// What a sequence of groups is, and which positions the rule applies to.
fn classify(c: &[char], groups: &[Group], plus: bool, last_of_token: bool) -> Option<(Kind, Vec<usize>)> {
    let positions: Vec<usize> = groups.iter().flat_map(|g| g.start..g.end).collect();
    let text: String = positions.iter().map(|&p| c[p]).collect();
    let lens: Vec<usize> = groups.iter().map(|g| g.end - g.start).collect();
    let any_bracket = groups.iter().any(|g| g.bracketed);
    let all_digits = text.bytes().all(|b| b.is_ascii_digit());

    // Mobile numbers, with an optional 86 / +86 country code.
    let national = if text.len() == 13 && text.starts_with("86") && (lens[0] == 2 || lens[0] == 13) {
        &positions[2..]
    } else {
        &positions[..]
    };
    let is_mobile = |p: &[usize]| {
        p.len() == 11 && c[p[0]] == '1' && matches!(c[p[1]], '3'..='9') && p.iter().all(|&q| c[q].is_ascii_digit())
    };
    if !any_bracket && is_mobile(national) && (!plus || (national.len() == 11 && text.len() == 13)) {
        return Some((Kind::Phone, national.to_vec()));
    }
    if plus {
        return None;
    }

    if groups.len() == 1 && !any_bracket {
        if text.len() == 18 && matches!(text.as_bytes()[17], b'X' | b'x') {
            return Some((Kind::IdNumber, positions));
        }
        if text.len() == 18 && is_valid_id18(&text) {
            return Some((Kind::IdNumber, positions));
        }
        if text.len() == 15 && all_digits && plausible_id15(&text) {
            return Some((Kind::IdNumber, positions));
        }
    }
    if !all_digits {
        return None;
    }

    // Landlines: 0 + a 2- or 3-digit area code (010, 02x: 3 digits with the 0) + 7 or 8 digits.
    let area_ok = |area: &str| matches!(area.as_bytes(), [b'0', b'1' | b'2', _] | [b'0', b'3'..=b'9', _, _]);
    let local_ok = |local: &str| (7..=8).contains(&local.len()) && matches!(local.as_bytes()[0], b'2'..=b'9');
    if text.starts_with('0') {
        let landline = match groups.len() {
            1 if !any_bracket => {
                let area_len = if matches!(text.as_bytes().get(1), Some(b'1' | b'2')) { 3 } else { 4 };
                text.len() > area_len && area_ok(&text[..area_len]) && local_ok(&text[area_len..])
            }
            2 => area_ok(&text[..lens[0]]) && local_ok(&text[lens[0]..]) && !groups[1].bracketed,
            _ => false,
        };
        if landline {
            return Some((Kind::Phone, positions));
        }
    }

    // Bank cards: 16–19 digits, plain or in groups of 4 (the last group may be shorter only at
    // the end of the token, so that a card is not glued to a number written after it).
    if any_bracket || !(16..=19).contains(&text.len()) {
        return None;
    }
    let grouped_ok = groups.len() == 1
        || (lens[..lens.len() - 1].iter().all(|&l| l == 4) && (lens[lens.len() - 1] == 4 || last_of_token));
    if !grouped_ok {
        return None;
    }
    // An all-digit unified social credit code is an organisation's public identifier: leave it,
    // unless the digits also pass the bank-card Luhn check (a card wins: privacy first).
    if text.len() == 18 && !luhn_valid(&text) && text.parse::<CreditCode>().is_ok() {
        return None;
    }
    Some((Kind::BankCard, positions))
}

/// Marks the numbers of a text: ID numbers, mobiles, landlines and bank cards.
fn mark_numbers(marks: &mut Marks) {
    let c = marks.chars.clone();
    let mut i = 0;
    while i < c.len() {
        let boundary = i == 0 || !c[i - 1].is_ascii_digit();
        let plus = c[i] == '+' && c.get(i + 1).is_some_and(char::is_ascii_digit);
        let starts = c[i].is_ascii_digit() || plus || (is_open(c[i]) && c.get(i + 1).is_some_and(char::is_ascii_digit));
        if !boundary || !starts {
            i += 1;
            continue;
        }
        let groups = parse_groups(&c, if plus { i + 1 } else { i });
        let mut matched = None;
        for k in (1..=groups.len()).rev() {
            let end = groups[k - 1].close;
            if c.get(end).is_some_and(char::is_ascii_digit) {
                continue;
            }
            if let Some(found) = classify(&c, &groups[..k], plus, k == groups.len()) {
                matched = Some((end, found));
                break;
            }
        }
        match (matched, groups.first()) {
            (Some((end, (kind, positions))), _) => {
                marks.apply(kind, &positions);
                i = end;
            }
            // Not a sensitive number: step over its first group and look again after it.
            (None, Some(first)) => i = first.close.max(i + 1),
            (None, None) => i += 1,
        }
    }
}

/// Whether `c` ends an address or health phrase in free text.
fn ends_phrase(c: char) -> bool {
    matches!(
        c,
        '，' | '。'
            | '；'
            | '、'
            | '！'
            | '？'
            | ','
            | ';'
            | '!'
            | '?'
            | '\n'
            | '\r'
            | ')'
            | '）'
            | ']'
            | '】'
            | '」'
            | '”'
            | '"'
    )
}

/// Marks what follows a keyword up to the next punctuation.
fn mark_after_keywords(marks: &mut Marks, keywords: &[&str]) {
    let c = marks.chars.clone();
    let keywords: Vec<Vec<char>> = keywords.iter().map(|k| k.chars().collect()).collect();
    let mut i = 0;
    while i < c.len() {
        let Some(k) = keywords.iter().find(|k| c[i..].starts_with(k)) else {
            i += 1;
            continue;
        };
        let mut j = i + k.len();
        while j < c.len() && matches!(c[j], '：' | ':' | ' ' | '\u{3000}') {
            j += 1;
        }
        if j < c.len() && matches!(c[j], '为' | '在' | '于' | '是') {
            j += 1;
        }
        while j < c.len() && !ends_phrase(c[j]) {
            if !c[j].is_whitespace() {
                marks.out[j] = Some(MASK);
            }
            j += 1;
        }
        i = j;
    }
}

/// The masking pipeline of one decision: the agency's policy and the persons it names.
#[derive(Debug, Clone)]
pub struct Masker {
    policy: MaskingPolicy,
    /// Names to mask in free text, longest first so that a longer name is masked whole.
    names: Vec<Vec<char>>,
}

impl Masker {
    /// A pipeline for a decision. Names are trimmed; a name of fewer than 2 characters is refused,
    /// because masking every occurrence of one character would garble the text, and skipping it
    /// would publish the person.
    pub fn new(policy: MaskingPolicy, party: PartyNames) -> Result<Self> {
        let mut names = Vec::new();
        let punished = party.punished.filter(|_| policy.mask_party_name).map(|n| ("party.punished".to_owned(), n));
        let others = party.others.into_iter().enumerate().map(|(i, n)| (format!("party.others[{i}]"), n));
        for (field, name) in punished.into_iter().chain(others) {
            let chars: Vec<char> = name.trim().chars().collect();
            if chars.len() < 2 {
                return Err(Error::invalid(field, "a name to mask must have at least 2 characters"));
            }
            names.push(chars);
        }
        names.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        names.dedup();
        Ok(Self { policy, names })
    }

    /// The policy this pipeline applies.
    pub fn policy(&self) -> MaskingPolicy {
        self.policy
    }

    /// The punished person's name as published: masked when the policy says so.
    pub fn party_name(&self, name: &str) -> String {
        if self.policy.mask_party_name { mask_name(name) } else { name.to_owned() }
    }

    /// Masks free text (facts, reasons, the decision's body). Recognised:
    ///
    /// - ID numbers: 17 digits and a final digit or X/x (any 17 digits + X; 18 digits when the
    ///   check digit and birth date are valid); 15 digits with a plausible birth date;
    /// - mobiles: 11 digits `1[3-9]…`, plain or grouped by spaces or dashes, optionally after
    ///   `86`/`+86`;
    /// - landlines: area code `01x`/`02x`/`0[3-9]xx` and 7–8 digits, plain, with a space or dash,
    ///   or with the area code in brackets;
    /// - bank cards: 16–19 digits, plain or grouped by 4 with spaces (an 18-digit number that is a
    ///   valid credit code and fails the Luhn check is left as an organisation's code);
    /// - addresses after 住址/住所/家庭住址/居住地/现住 and health information after
    ///   病情/患有/诊断为/病史, up to the next punctuation;
    /// - every given name.
    ///
    /// A number only counts when no digit touches it on either side, so amounts, dates and
    /// document numbers (`罚款20000元`, `20260102`, `闽榕市监罚〔2026〕12号`) are left alone.
    pub fn mask_text(&self, text: &str) -> String {
        let mut marks = Marks::new(text);
        mark_numbers(&mut marks);
        mark_after_keywords(&mut marks, &ADDRESS_KEYWORDS);
        mark_after_keywords(&mut marks, &HEALTH_KEYWORDS);
        let c = marks.chars.clone();
        for name in &self.names {
            let mut i = 0;
            while i + name.len() <= c.len() {
                if c[i..].starts_with(name) {
                    marks.apply_name(i, name.len());
                    i += name.len();
                } else {
                    i += 1;
                }
            }
        }
        marks.render()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn masker(mask_party_name: bool, punished: Option<&str>, others: &[&str]) -> Masker {
        let party = PartyNames {
            punished: punished.map(str::to_owned),
            others: others.iter().map(|s| (*s).to_owned()).collect(),
        };
        Masker::new(MaskingPolicy { mask_party_name }, party).unwrap()
    }

    fn plain() -> Masker {
        masker(false, None, &[])
    }

    /// A valid 18-character ID number from 17 digits.
    fn id18(first17: &str) -> String {
        let sum: u32 = first17.bytes().zip(ID_WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
        format!("{first17}{}", ID_CHECK[(sum % 11) as usize])
    }

    /// Completes digits with a Luhn check digit.
    fn luhn(prefix: &str) -> String {
        (0..10).map(|d| format!("{prefix}{d}")).find(|s| luhn_valid(s)).unwrap()
    }

    #[test]
    fn id_numbers_keep_the_region_only() {
        let id = id18("35010219900101123");
        assert!(is_valid_id18(&id));
        let out = plain().mask_text(&format!("身份证号{id}，"));
        assert_eq!(out, "身份证号350102************，");
        assert_eq!(mask_id_number(&id), "350102************");
        assert_eq!(plain().mask_text("证件35010219900101123X。"), "证件350102************。");
        assert_eq!(plain().mask_text("证件35010219900101123x。"), "证件350102************。");
        assert_eq!(plain().mask_text("旧证350102900101123号"), "旧证350102*********号");
    }

    #[test]
    fn mobiles_keep_first_three_and_last_four() {
        let m = plain();
        assert_eq!(m.mask_text("电话13812345678。"), "电话138****5678。");
        assert_eq!(m.mask_text("tel:138 1234 5678"), "tel:138 **** 5678");
        assert_eq!(m.mask_text("tel:138-1234-5678"), "tel:138-****-5678");
        assert_eq!(m.mask_text("+8613812345678"), "+86138****5678");
        assert_eq!(m.mask_text("+86 138 1234 5678"), "+86 138 **** 5678");
        assert_eq!(m.mask_text("8613812345678"), "86138****5678");
        assert_eq!(mask_phone("+86 138-1234-5678"), "+86 138-****-5678");
        assert_eq!(m.mask_text("编号12812345678"), "编号12812345678", "12x is not a mobile prefix");
    }

    #[test]
    fn landlines_are_masked_in_every_layout() {
        let m = plain();
        assert_eq!(m.mask_text("电话0591-87654321"), "电话059*-****4321");
        assert_eq!(m.mask_text("电话059187654321"), "电话059*****4321");
        assert_eq!(m.mask_text("电话(0591)87654321"), "电话(059*)****4321");
        assert_eq!(m.mask_text("电话（010）62345678"), "电话（010）****5678");
        assert_eq!(m.mask_text("电话010 22345678"), "电话010 ****5678");
        assert_eq!(m.mask_text("电话0591-7654321"), "电话059*-***4321");
        assert_eq!(mask_phone("0591-87654321"), "059*-****4321");
    }

    #[test]
    fn bank_cards_keep_the_last_four() {
        let m = plain();
        assert_eq!(m.mask_text("卡号6222021234567890123，"), "卡号***************0123，");
        assert_eq!(m.mask_text("卡号6222 0212 3456 7890 123"), "卡号**** **** **** ***0 123");
        assert_eq!(m.mask_text("卡号6222021234567890"), "卡号************7890");
        assert_eq!(mask_bank_card("6222 0212 3456 7890"), "**** **** **** 7890");
    }

    #[test]
    fn an_all_digit_credit_code_is_not_a_bank_card() {
        // The first all-digit credit code that is neither Luhn-valid nor an ID number.
        let code = (100_000_000u64..)
            .map(|n| {
                let first17 = format!("91350100{n}");
                let bytes: [u8; 17] = first17.as_bytes().try_into().unwrap();
                format!("{first17}{}", crate::credit_code::check_character(&bytes).unwrap())
            })
            .find(|c| c.bytes().all(|b| b.is_ascii_digit()) && !luhn_valid(c) && !is_valid_id18(c))
            .unwrap();
        let text = format!("统一社会信用代码{code}。");
        assert_eq!(plain().mask_text(&text), text);
        // The same digits failing the credit-code check are masked as a card.
        let mut other = code.clone().into_bytes();
        other[17] = if other[17] == b'0' { b'1' } else { b'0' };
        let other = String::from_utf8(other).unwrap();
        if other.parse::<CreditCode>().is_err() && !is_valid_id18(&other) {
            assert_eq!(plain().mask_text(&other), format!("{}{}", "*".repeat(14), &other[14..]));
        }
    }

    #[test]
    fn addresses_are_masked_after_the_keywords() {
        let m = plain();
        assert_eq!(m.mask_text("住址：福州市鼓楼区五一路1号，"), "住址：***********，");
        assert_eq!(m.mask_text("家庭住址为福州市1号。其"), "家庭住址为*****。其");
        assert_eq!(m.mask_text("现住福州市。"), "现住***。");
        assert_eq!(m.mask_text("住所地：厦门市思明区"), "住所地：******");
        assert_eq!(m.mask_text("居住地在A栋 2室；"), "居住地在** **；");
        assert_eq!(mask_address("福州市 鼓楼区"), "*** ***");
    }

    #[test]
    fn health_information_is_masked_after_the_keywords() {
        let m = plain();
        assert_eq!(m.mask_text("当事人患有高血压，"), "当事人患有***，");
        assert_eq!(m.mask_text("经诊断为轻度抑郁症。"), "经诊断为*****。");
        assert_eq!(m.mask_text("病情：稳定；病史：糖尿病。"), "病情：**；病史：***。");
        assert_eq!(mask_health("糖尿病"), "***");
    }

    #[test]
    fn other_persons_names_are_always_masked_and_the_party_per_policy() {
        let m = masker(false, Some("张三"), &["李四", "欧阳娜娜"]);
        assert_eq!(m.mask_text("张三殴打李四，证人欧阳娜娜和李四在场"), "张三殴打李某，证人欧阳某某和李某在场");
        let m = masker(true, Some("张三"), &["李四"]);
        assert_eq!(m.mask_text("张三殴打李四"), "张某殴打李某");
        assert_eq!(m.party_name("张三"), "张某");
        assert_eq!(masker(false, Some("张三"), &[]).party_name("张三"), "张三");
        assert_eq!(mask_name("欧阳娜娜"), "欧阳某某");
        assert_eq!(mask_name("王小明"), "王某某");
        assert_eq!(mask_name(" 张三 "), " 张某 ");
    }

    #[test]
    fn a_too_short_name_is_refused_with_its_field() {
        let party = PartyNames { punished: None, others: vec!["李四".into(), " 王 ".into()] };
        let err = Masker::new(MaskingPolicy::default(), party).unwrap_err();
        assert_eq!(err, Error::invalid("party.others[1]", "a name to mask must have at least 2 characters"));
        // The punished person's name is not checked when it is not masked.
        let party = PartyNames { punished: Some("王".into()), others: vec![] };
        assert!(Masker::new(MaskingPolicy::default(), party).is_ok());
    }

    #[test]
    fn document_numbers_amounts_and_dates_are_not_touched() {
        let m = plain();
        for text in [
            "闽榕市监罚〔2026〕12号",
            "罚款20000元",
            "没收违法所得123456.78元",
            "于20260102作出决定",
            "2026年1月2日",
            "案号202601020001234",
            "统一社会信用代码91350100MA2YL3XQ1B",
            "第12345678901234567890123号",
            "编号 2026 0102",
            "1234-5678",
        ] {
            assert_eq!(m.mask_text(text), text);
        }
    }

    #[test]
    fn numbers_glued_to_other_digits_are_not_taken_apart() {
        let m = plain();
        // 22 digits: neither a phone nor a card, and no digit may be split off.
        assert_eq!(m.mask_text("1381234567813812345678"), "1381234567813812345678");
        // Two numbers separated by a space are each masked.
        assert_eq!(m.mask_text("13812345678 13912345678"), "138****5678 139****5678");
        assert_eq!(m.mask_text("2026-13812345678"), "2026-138****5678");
    }

    #[test]
    fn everything_outside_masked_spans_is_identical() {
        let m = masker(false, Some("张三"), &["李四"]);
        let text = "张三（男，身份证号35010219900101123X，住址：福州市1号）于2026年1月2日向李四借款，电话13812345678。";
        let out = m.mask_text(text);
        assert_eq!(out.chars().count(), text.chars().count());
        for (a, b) in text.chars().zip(out.chars()) {
            assert!(a == b || b == MASK || b == NAME_MASK, "{a} became {b}");
        }
        assert_eq!(
            out,
            "张三（男，身份证号350102************，住址：*****）于2026年1月2日向李某借款，电话138****5678。"
        );
    }

    // ---- property tests ----

    /// Filler characters: no digits, no keyword characters, no name characters, no `+`/brackets.
    const FILLER: &str = "的了是我有和这中大上个国到说们时要就出会也你对生能而子那得于着下自之年过发后作用道行所然家种事成方多经么去法学如都同现当没动起看定天分还进好小部其些主样理她本前开但因只从想实日者意无力它与长把机十民第公此已工使情性知全正点关回第aAbBcCxyzQW ,.;:-_/、，。：";
    const SURNAMES: &[&str] = &["王", "李", "赵", "钱", "孙", "周", "吴", "郑", "欧阳", "司马"];
    const GIVEN: &str = "伟芳娜敏静丽强磊洋艳勇军杰娟涛超明霞秀英华慧巧美";
    const PLACES: &str = "福州厦门泉州漳莆田宁德南平龙岩三明鼓楼台江仓山晋安思湖里";
    const DISEASES: &str = "高血压糖尿冠心肝炎肺结核抑郁焦虑哮喘癫痫肿瘤";

    fn filler() -> impl Strategy<Value = String> {
        let chars: Vec<char> = FILLER.chars().collect();
        (
            prop::collection::vec(prop::sample::select(chars), 0..12),
            prop::sample::select(vec!["，", "电话", "a", "：", "号码", "卡号"]),
        )
            .prop_map(|(v, label)| v.into_iter().collect::<String>() + label)
    }

    fn chinese(alphabet: &'static str, len: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = String> {
        let chars: Vec<char> = alphabet.chars().collect();
        prop::collection::vec(prop::sample::select(chars), len).prop_map(|v| v.into_iter().collect())
    }

    fn digits(n: usize) -> impl Strategy<Value = String> {
        prop::collection::vec(0u8..10, n).prop_map(|v| v.into_iter().map(|d| char::from(b'0' + d)).collect())
    }

    fn birth() -> impl Strategy<Value = NaiveDate> {
        (0i64..365 * 70).prop_map(|d| NaiveDate::from_ymd_opt(1940, 1, 1).unwrap() + chrono::Duration::days(d))
    }

    /// A generated sensitive item: the text embedded, and the strings that must not survive.
    #[derive(Debug, Clone)]
    struct Item {
        text: String,
        secrets: Vec<String>,
    }

    fn item(names: Vec<String>) -> impl Strategy<Value = Item> {
        let ids18 = (1u32..7, digits(5), birth(), digits(3)).prop_map(|(a, r, b, s)| {
            let id = id18(&format!("{a}{r}{}{s}", b.format("%Y%m%d")));
            Item { text: id.clone(), secrets: vec![id] }
        });
        let ids15 = (1u32..7, digits(5), birth(), digits(3)).prop_map(|(a, r, b, s)| {
            let id = format!("{a}{r}{}{s}", b.format("%y%m%d"));
            Item { text: id.clone(), secrets: vec![id] }
        });
        let mobile = (3u8..10, digits(9), 0usize..6).prop_map(|(second, rest, layout)| {
            let n = format!("1{second}{rest}");
            let text = match layout {
                0 => n.clone(),
                1 => format!("{} {} {}", &n[..3], &n[3..7], &n[7..]),
                2 => format!("{}-{}-{}", &n[..3], &n[3..7], &n[7..]),
                3 => format!("+86{n}"),
                4 => format!("+86 {n}"),
                _ => format!("86{n}"),
            };
            Item { text, secrets: vec![n] }
        });
        let landline = (
            prop::sample::select(vec!["010", "021", "0591", "0755", "0371"]),
            2u8..10,
            digits(7),
            any::<bool>(),
            0usize..4,
        )
            .prop_map(|(area, first, rest, eight, layout)| {
                let local = if eight { format!("{first}{rest}") } else { format!("{first}{}", &rest[..6]) };
                let text = match layout {
                    0 => format!("{area}{local}"),
                    1 => format!("{area}-{local}"),
                    2 => format!("({area}){local}"),
                    _ => format!("{area} {local}"),
                };
                Item { text, secrets: vec![format!("{area}{local}"), local] }
            });
        let card = (prop::sample::select(vec!["62", "45", "52", "60"]), 16usize..20, any::<bool>(), digits(18))
            .prop_map(|(prefix, len, grouped, body)| {
                let n = luhn(&format!("{prefix}{}", &body[..len - 3]));
                let text = if grouped {
                    n.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join(" ")
                } else {
                    n.clone()
                };
                Item { text, secrets: vec![n] }
            });
        let address = (
            prop::sample::select(vec!["住址：", "家庭住址", "现住", "居住地为", "住所："]),
            chinese(PLACES, 2..=4),
            chinese(PLACES, 2..=3),
            1u32..999,
        )
            .prop_map(|(kw, city, district, no)| {
                let addr = format!("{city}市{district}区{no}号");
                Item { text: format!("{kw}{addr}，"), secrets: vec![addr] }
            });
        let health = (prop::sample::select(vec!["患有", "诊断为", "病史：", "病情"]), chinese(DISEASES, 2..=5))
            .prop_map(|(kw, d)| Item { text: format!("{kw}{d}。"), secrets: vec![d] });
        let name = prop::sample::select(names).prop_map(|n| Item { text: n.clone(), secrets: vec![n] });
        prop_oneof![ids18, ids15, mobile, landline, card, address, health, name]
    }

    fn decision() -> impl Strategy<Value = (Vec<String>, Vec<(String, Item)>)> {
        let name =
            (prop::sample::select(SURNAMES.to_vec()), chinese(GIVEN, 1..=2)).prop_map(|(s, g)| format!("{s}{g}"));
        prop::collection::vec(name, 1..4).prop_flat_map(|names| {
            let items = prop::collection::vec((filler(), item(names.clone())), 1..12);
            (Just(names), items)
        })
    }

    /// Text with no sensitive data: filler, amounts, dates and document numbers.
    fn harmless() -> impl Strategy<Value = String> {
        let chars: Vec<char> = FILLER.chars().collect();
        let piece = prop_oneof![
            prop::sample::select(chars).prop_map(String::from),
            (digits(8), 1usize..9, prop::sample::select(vec!["元", "年", "月", "日", "号", "件", "%"]))
                .prop_map(|(d, n, unit)| format!("{}{unit}", &d[..n])),
            prop::sample::select(vec![
                "闽榕市监罚〔2026〕12号",
                "罚款20000元",
                "于20260102作出",
                "统一社会信用代码91350100MA2YL3XQ1B",
                "依据《中华人民共和国行政处罚法》第二十八条",
            ])
            .prop_map(str::to_owned),
        ];
        prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn masked_decisions_never_contain_the_generated_data((names, parts) in decision(), mask_party in any::<bool>()) {
            let (punished, others) = names.split_first().unwrap();
            let party = PartyNames { punished: Some(punished.clone()), others: others.to_vec() };
            let masker = Masker::new(MaskingPolicy { mask_party_name: mask_party }, party).unwrap();
            let text: String = parts.iter().map(|(f, i)| format!("{f}{}", i.text)).collect();
            let out = masker.mask_text(&text);
            prop_assert_eq!(out.chars().count(), text.chars().count());
            for (_, item) in &parts {
                for secret in &item.secrets {
                    let published_party = !mask_party && secret == punished;
                    if !published_party {
                        prop_assert!(!out.contains(secret.as_str()), "{secret} survived in {out}");
                    }
                }
            }
            for name in others {
                prop_assert!(!out.contains(name.as_str()), "{name} survived in {out}");
            }
        }

        #[test]
        fn text_without_sensitive_data_is_unchanged(text in harmless()) {
            prop_assert_eq!(plain().mask_text(&text), text);
        }

        #[test]
        fn structured_helpers_never_return_the_value(id in (1u32..7, digits(5), birth(), digits(3))) {
            let value = id18(&format!("{}{}{}{}", id.0, id.1, id.2.format("%Y%m%d"), id.3));
            prop_assert_eq!(mask_id_number(&value), format!("{}{}", &value[..6], "*".repeat(12)));
            prop_assert_eq!(plain().mask_text(&value), mask_id_number(&value));
        }
    }
}
