//! Masking before publication (RULES P5; 政府信息公开条例 Art. 15, 37; PIPL Art. 55): one pipeline
//! for structured fields and free text.
//!
//! Masking replaces characters one for one and never inserts, removes or reorders anything, so
//! apart from the masked characters the published text equals the decision (SAMR Art. 7). Every
//! kind of data has one replacement rule, used both by the structured-field helpers
//! ([`mask_id_number`], [`mask_phone`], …) and by [`Masker::mask_text`]:
//!
//! | kind                                   | rule                                               |
//! |----------------------------------------|----------------------------------------------------|
//! | resident ID number (18/15)             | keep the first 6 characters (region), `*` the rest |
//! | mobile and landline number             | keep the first 3 and last 4 digits, `*` the rest   |
//! | phone number without area code         | keep the last 4 digits, `*` the rest               |
//! | bank card number                       | keep the last 4 digits, `*` the rest               |
//! | passport, 港澳台 permit                 | keep the first character, `*` the rest             |
//! | vehicle plate                          | keep the province and the letter, `*` the rest     |
//! | e-mail, QQ / WeChat id                 | `*` every character                                |
//! | home address, health data              | `*` every character                                |
//! | a natural person's name                | keep the surname, `某` the rest (张三 → 张某)       |
//!
//! A value too short for its rule (fewer characters than it keeps) is masked completely.
//! Separators (spaces, dashes, brackets) inside a number are kept, like every other character.
//!
//! Detection reads the folded text ([`normalise`]): every character folded on its own by NFKC
//! (full-width digits and punctuation) and the dashes, dots and spaces between digits folded to
//! ASCII, one character for each original character, so a span found there is the same span of
//! the original. Free text is scanned by hand rather than with the `regex` crate: the patterns
//! need checks a regular expression cannot express (ID check digits, birth dates, credit-code and
//! Luhn validation, grouping rules), and a scanner over `char`s keeps positions exact. Names
//! nobody listed are found with jieba's part-of-speech tags and after role words ([`names`]).
//!
//! After masking, [`residual`] looks for what still resembles personal data; publication holds
//! a text with a hit for a person's confirmation (fail closed).
//!
//! Known limits, by design: numbers are recognised in the layouts listed at
//! [`Masker::mask_text`]; an address is recognised after a keyword (up to the next punctuation) or
//! by a street name followed by a number, not by a bare place name; a name is recognised when
//! listed, tagged as a name by jieba with a common surname, or written after a role word.

pub mod names;
pub mod normalise;
mod numbers;
mod phrases;
pub mod residual;

use chrono::NaiveDate;

use crate::error::{Error, Result};
pub use phrases::{ADDRESS_KEYWORDS, HEALTH_KEYWORDS, HEALTH_LEXICON};
pub use residual::{Suspicious, SuspiciousKind, residual};

/// The character replacing a masked character of a number, an address or health information.
pub const MASK: char = '*';

/// The character replacing the masked characters of a name (张三 → 张某).
pub const NAME_MASK: char = '某';

/// Compound surnames (复姓) kept whole when a name is masked (欧阳娜娜 → 欧阳某某).
pub(crate) const COMPOUND_SURNAMES: [&str; 20] = [
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
    /// The officers acting in the case: their names are public (RULES P5 masks private persons
    /// only), so a name found in free text that is an officer's stays.
    pub officers: Vec<String>,
    /// Public names of organisations (the agency, a punished organisation): a name found inside
    /// one of them is not a person's.
    pub organisations: Vec<String>,
}

/// The kinds of data masked, each with one replacement rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    IdNumber,
    Phone,
    /// A phone number without an area code, found after a phone keyword.
    LocalPhone,
    BankCard,
    /// A passport or 港澳台 permit number.
    Permit,
    /// A vehicle plate: positions are the province, the letter and the body.
    Plate,
    Whole,
}

impl Kind {
    /// How many significant characters stay visible at the start and at the end.
    fn keep(self) -> (usize, usize) {
        match self {
            Self::IdNumber => (6, 0),
            Self::Phone => (3, 4),
            Self::LocalPhone | Self::BankCard => (0, 4),
            Self::Permit => (1, 0),
            Self::Plate => (2, 0),
            Self::Whole => (0, 0),
        }
    }
}

/// Per-character replacements of one text: `None` keeps the character.
struct Marks {
    /// The original characters.
    chars: Vec<char>,
    /// Their folded forms, one for one ([`normalise::fold`]): what detection reads.
    norm: Vec<char>,
    out: Vec<Option<char>>,
}

impl Marks {
    fn new(text: &str) -> Self {
        let chars: Vec<char> = text.chars().collect();
        let norm = normalise::fold_all(&chars);
        let out = vec![None; chars.len()];
        Self { chars, norm, out }
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
pub(crate) fn plausible_birth_date(digits: &str) -> bool {
    let (Ok(y), Ok(m), Ok(d)) = (digits[..4].parse::<i32>(), digits[4..6].parse(), digits[6..8].parse()) else {
        return false;
    };
    (1900..2100).contains(&y) && NaiveDate::from_ymd_opt(y, m, d).is_some()
}

/// Whether a 15-digit old ID number has a plausible birth date (YYMMDD at positions 7–12).
pub(crate) fn plausible_id15(digits: &str) -> bool {
    // Read in either century: 000229 is no date in 1900 but is one in 2000, and a number that may
    // be an identity number is masked rather than published.
    plausible_birth_date(&format!("19{}", &digits[6..12])) || plausible_birth_date(&format!("20{}", &digits[6..12]))
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

/// The masking pipeline of one decision: the agency's policy and the persons it names.
#[derive(Debug, Clone)]
pub struct Masker {
    policy: MaskingPolicy,
    /// Names to mask in free text, longest first so that a longer name is masked whole.
    names: Vec<Vec<char>>,
    /// Names that stay wherever they are found: the punished party when its name is published,
    /// the officers, and organisations' names.
    exempt: Vec<Vec<char>>,
}

impl Masker {
    /// A pipeline for a decision. Names are trimmed; a name of fewer than 2 characters is refused,
    /// because masking every occurrence of one character would garble the text, and skipping it
    /// would publish the person.
    pub fn new(policy: MaskingPolicy, party: PartyNames) -> Result<Self> {
        let mut names = Vec::new();
        let mut exempt: Vec<Vec<char>> = Vec::new();
        if !policy.mask_party_name
            && let Some(p) = &party.punished
        {
            exempt.push(p.trim().chars().collect());
        }
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
        for n in party.officers.iter().chain(&party.organisations) {
            let chars: Vec<char> = normalise::fold_all(&n.trim().chars().collect::<Vec<_>>());
            // An officer who is also a listed person is masked: listing wins.
            if chars.len() >= 2 && !names.contains(&chars) {
                exempt.push(chars);
            }
        }
        exempt.retain(|n| n.len() >= 2);
        Ok(Self { policy, names, exempt })
    }

    /// The policy this pipeline applies.
    pub fn policy(&self) -> MaskingPolicy {
        self.policy
    }

    /// The punished person's name as published: masked when the policy says so.
    pub fn party_name(&self, name: &str) -> String {
        if self.policy.mask_party_name { mask_name(name) } else { name.to_owned() }
    }

    /// Masks free text (facts, reasons, the decision's body). Recognised, on the folded text
    /// (full-width forms, any dash, dot, space or line break between digit groups):
    ///
    /// - ID numbers: 17 digits and a final digit or X/x (any 17 digits + X; 18 digits when the
    ///   check digit and birth date are valid); 15 digits with a plausible birth date; in any
    ///   grouping (6-8-4);
    /// - mobiles: 11 digits `1[3-9]…`, in any grouping, optionally after `86`/`+86`;
    /// - landlines: area code `01x`/`02x`/`0[3-9]xx` and 7–8 digits, plain, grouped, or with the
    ///   area code in brackets; after a phone keyword (电话, 手机, 座机, …) any number of 7–13
    ///   digits, with or without an area code;
    /// - bank cards: 16–19 digits, plain or grouped by 4 (an 18-digit number that is a valid
    ///   credit code and fails the Luhn check is left as an organisation's code); after an
    ///   account keyword (卡号, 账号, …) any number of 12–19 digits;
    /// - passports and 港澳台 permits (E/G/P/S/D/C/H/M/T and 7–10 digits, or anything after
    ///   护照, 通行证, 台胞证, …), vehicle plates, e-mail addresses, QQ / WeChat ids after their
    ///   keywords;
    /// - addresses after their keywords ([`ADDRESS_KEYWORDS`]) and by the shape of a street
    ///   address (`五一路12号`, `3栋2单元501室`);
    /// - health information after its keywords ([`HEALTH_KEYWORDS`]), inside `系…患者`,
    ///   `因…住院`, `有…病史`, and the lexicon's conditions in a clause about a person's health;
    /// - every given name, and names nobody listed ([`names`]).
    ///
    /// A number only counts when no digit touches it on either side, so amounts, dates and
    /// document numbers (`罚款20000元`, `20260102`, `闽榕市监罚〔2026〕12号`) are left alone.
    pub fn mask_text(&self, text: &str) -> String {
        let mut marks = Marks::new(text);
        numbers::mark_numbers(&mut marks);
        numbers::mark_after_number_keywords(&mut marks);
        numbers::mark_permits(&mut marks);
        numbers::mark_plates(&mut marks);
        phrases::mark_emails(&mut marks);
        phrases::mark_im_ids(&mut marks);
        phrases::mark_address_keywords(&mut marks);
        phrases::mark_address_shapes(&mut marks);
        phrases::mark_health(&mut marks);
        let c = marks.norm.clone();
        let folded: Vec<Vec<char>> = self.names.iter().map(|n| normalise::fold_all(n)).collect();
        for name in &folded {
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
        let exempt = names::covered(&c, &self.exempt);
        names::mark_unlisted_names(&mut marks, &exempt);
        marks.render()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credit_code::CreditCode;
    use proptest::prelude::*;

    fn masker(mask_party_name: bool, punished: Option<&str>, others: &[&str]) -> Masker {
        let party = PartyNames {
            punished: punished.map(str::to_owned),
            others: others.iter().map(|s| (*s).to_owned()).collect(),
            ..PartyNames::default()
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
        // A birth date that is one only in 2000 (the property test's find after a full-width comma).
        assert_eq!(plain().mask_text("，100000000229000"), "，100000*********");
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
        let party =
            PartyNames { punished: None, others: vec!["李四".into(), " 王 ".into()], ..PartyNames::default() };
        let err = Masker::new(MaskingPolicy::default(), party).unwrap_err();
        assert_eq!(err, Error::invalid("party.others[1]", "a name to mask must have at least 2 characters"));
        // The punished person's name is not checked when it is not masked.
        let party = PartyNames { punished: Some("王".into()), ..PartyNames::default() };
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

    #[test]
    fn full_width_bracketed_and_grouped_id_numbers_are_masked() {
        let m = plain();
        let id = id18("35010219900101123");
        let fw: String = id.chars().map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap()).collect();
        assert_eq!(
            m.mask_text(&format!("身份证{fw}，")),
            format!("身份证{}{}，", &fw.chars().take(6).collect::<String>(), "*".repeat(12))
        );
        assert_eq!(m.mask_text(&format!("（{id}）")), format!("（350102{}）", "*".repeat(12)));
        assert_eq!(m.mask_text(&format!("({id})")), format!("(350102{})", "*".repeat(12)));
        assert_eq!(m.mask_text(&format!("{} {} {}", &id[..6], &id[6..14], &id[14..])), "350102 ******** ****");
        assert_eq!(m.mask_text("350102-19900101-123X"), "350102-********-****");
        assert_eq!(m.mask_text(&format!("{}\n{}", &id[..9], &id[9..])), format!("350102***\n{}", "*".repeat(9)));
    }

    #[test]
    fn mobiles_in_every_layout_are_masked() {
        let m = plain();
        assert_eq!(m.mask_text("电话１３８１２３４５６７８。"), "电话１３８＊＊＊＊５６７８。".replace('＊', "*"));
        assert_eq!(m.mask_text("（13812345678）"), "（138****5678）");
        assert_eq!(m.mask_text("138.1234.5678"), "138.****.5678");
        assert_eq!(m.mask_text("138\n1234\n5678"), "138\n****\n5678");
        assert_eq!(m.mask_text("Tel：138 1234 5678"), "Tel：138 **** 5678");
    }

    #[test]
    fn landlines_with_full_width_dash_local_prefixes_and_no_area_code() {
        let m = plain();
        assert_eq!(m.mask_text("021－67247831"), "021－****7831");
        assert_eq!(m.mask_text("０２１－６７２４７８３１"), "０２１－＊＊＊＊７８３１".replace('＊', "*"));
        assert_eq!(m.mask_text("010-12345678"), "010-****5678");
        assert_eq!(m.mask_text("0371-12345678"), "037*-****5678");
        assert_eq!(m.mask_text("电话：87654321。"), "电话：****4321。");
        assert_eq!(m.mask_text("座机（8765 4321）"), "座机（**** 4321）");
    }

    #[test]
    fn bank_cards_full_width_and_in_brackets() {
        let m = plain();
        let card = luhn("622202123456789");
        let fw: String = card.chars().map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap()).collect();
        let out = m.mask_text(&format!("卡号{fw}"));
        assert!(out.ends_with(&fw.chars().skip(12).collect::<String>()) && out.matches('*').count() == 12, "{out}");
        assert_eq!(m.mask_text(&format!("（{card}）")), format!("（{}{}）", "*".repeat(12), &card[12..]));
        assert_eq!(m.mask_text("账号：6222 0212 3456 78"), "账号：**** **** **56 78");
    }

    #[test]
    fn contact_ids_permits_and_plates_are_masked() {
        let m = plain();
        assert_eq!(m.mask_text("邮箱zhang.san@example.com，"), "邮箱*********************，");
        assert_eq!(m.mask_text("邮箱ｚｈａｎｇ＠ｑｑ．ｃｏｍ"), "邮箱************");
        assert_eq!(m.mask_text("QQ号123456789，"), "QQ号*********，");
        assert_eq!(m.mask_text("微信：wxid_abc123；"), "微信：***********；");
        assert_eq!(m.mask_text("护照号EA1234567，"), "护照号E********，");
        assert_eq!(m.mask_text("持E12345678入境"), "持E********入境");
        assert_eq!(m.mask_text("港澳通行证C12345678"), "港澳通行证C********");
        assert_eq!(m.mask_text("车牌号闽A·12345的"), "车牌号闽A·*****的");
        assert_eq!(m.mask_text("粤B D12345"), "粤B ******");
    }

    #[test]
    fn addresses_after_every_keyword_and_by_shape() {
        let m = plain();
        assert_eq!(m.mask_text("家住福州市1号，"), "家住*****，");
        assert_eq!(m.mask_text("居住在厦门市思明区，"), "居住在******，");
        assert_eq!(m.mask_text("暂住于莆田市；"), "暂住于***；");
        assert_eq!(m.mask_text("户籍地址：泉州市丰泽区。"), "户籍地址：******。");
        assert_eq!(m.mask_text("地址：漳州市芗城区，"), "地址：******，");
        assert_eq!(m.mask_text("其（住福州市鼓楼区）"), "其（住******）");
        assert_eq!(m.mask_text("在福州市鼓楼区五一路12号经营"), "在福州市鼓楼区******经营");
        assert_eq!(m.mask_text("于城门镇胪雷村3组12号"), "于城门镇********");
        assert_eq!(m.mask_text("位于3栋2单元501室"), "位于*********");
    }

    #[test]
    fn health_information_in_every_phrasing() {
        let m = plain();
        assert_eq!(m.mask_text("经医院确诊糖尿病，"), "经医院确诊***，");
        assert_eq!(m.mask_text("身患癫痫，"), "身患**，");
        assert_eq!(m.mask_text("当事人系乙肝患者，"), "当事人系**患者，");
        assert_eq!(m.mask_text("因脑梗塞住院治疗，"), "因***住院治疗，");
        assert_eq!(m.mask_text("被查出肺结核。"), "被查出***。");
        assert_eq!(m.mask_text("有高血压病史，"), "有***病史，");
        assert_eq!(m.mask_text("其患高血压多年，"), "其患***多年，");
    }

    #[test]
    fn unlisted_names_after_role_words_and_by_tagging() {
        let m = masker(false, Some("张三"), &[]);
        assert_eq!(m.mask_text("证人王小明称"), "证人王某某称");
        assert_eq!(m.mask_text("举报人：欧阳建国、李伟和赵芳在场"), "举报人：欧阳某某、李某和赵某在场");
        assert_eq!(m.mask_text("当事人之妻刘桂芳陈述"), "当事人之妻刘某某陈述");
        assert_eq!(m.mask_text("申请人张三"), "申请人张三", "the party's name is published under this policy");
        assert_eq!(m.mask_text("受害人李某称"), "受害人李某称");
        // Tagging finds a name without a role word.
        assert_eq!(m.mask_text("经查，王小锋于当日驾车离开。"), "经查，王某某于当日驾车离开。");
        // … also where it splits the name after the surname (周 + 婷婷, 钱 + 志强).
        assert_eq!(m.mask_text("经查，周婷婷于当日驾车离开。"), "经查，周某某于当日驾车离开。");
        assert_eq!(m.mask_text("经查，钱志强于当日驾车离开。"), "经查，钱某某于当日驾车离开。");
        // Dictionary words the dictionary tags as names are not taken (许可证, 陈述).
        assert_eq!(m.mask_text("食品经营许可证，当事人陈述"), "食品经营许可证，当事人陈述");
    }

    #[test]
    fn officers_organisations_and_the_agency_stay() {
        let party = PartyNames {
            punished: None,
            others: vec![],
            officers: vec!["王建国".into(), "李伟".into()],
            organisations: vec!["福州市鼓楼区市场监督管理局".into(), "李宁体育用品有限公司".into()],
        };
        let m = Masker::new(MaskingPolicy::default(), party).unwrap();
        let text = "执法人员王建国、李伟在李宁体育用品有限公司检查，福州市鼓楼区市场监督管理局认为，证人赵小明称属实。";
        assert_eq!(
            m.mask_text(text),
            "执法人员王建国、李伟在李宁体育用品有限公司检查，福州市鼓楼区市场监督管理局认为，证人赵某某称属实。"
        );
        assert_eq!(plain().mask_text("本机关地址：福州市鼓楼区五一路88号"), "本机关地址：福州市鼓楼区五一路88号");
    }

    #[test]
    fn articles_document_numbers_amounts_and_dates_are_never_masked() {
        let m = masker(true, Some("张三"), &["李四"]);
        for text in [
            "依据《中华人民共和国行政处罚法》第二十三条",
            "第23条第1款",
            "闽榕市监罚〔2026〕12号",
            "罚款20000元",
            "2.5万元",
            "没收违法所得123456.78元",
            "2026年1月2日",
            "2026-01-02",
            "20260102",
            "２０２６年１月２日",
            "违反《中华人民共和国传染病防治法》第十二条",
            "第12345678号",
        ] {
            assert_eq!(m.mask_text(text), text);
        }
    }

    // ---- property tests ----

    /// Filler characters: no digits, no keyword characters, no name characters, no `+`/brackets,
    /// no character ending a street's name (路街巷道弄里村: a street name and a number is an
    /// address by its shape), no surname (于, 和, 时, …: a surname and a character may be a
    /// name nobody listed).
    const FILLER: &str = "的了是我有这中大上个国到说们要就出会也你对生能而子那得着下自之年过发后作用行所然家种事多经么去法学如都同现当没动起看定天分还进好小部其些主样理她本前开但因只从想实日者意无力它与长把机十民第公此已工使情性知正点回第aAbBcCxyzQW ,.;:-_/、，。：";
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
            let party = PartyNames { punished: Some(punished.clone()), others: others.to_vec(), ..PartyNames::default() };
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
