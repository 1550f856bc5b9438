//! The last check before automatic publication (fail closed): what still resembles personal data
//! in a masked text. A hit holds the disclosure for a publisher's confirmation instead of
//! publishing it.
//!
//! It is deliberately wider than the masking: a run of 7 or more digits that is not an article
//! or document number, an amount or quantity, a date or part of a code with letters; an `@`; a
//! street name followed by digits; a condition of the health lexicon outside a title in 《》.

use super::normalise::{fold_all, is_han};
use super::phrases::{AGENCY_WORDS, HEALTH_LEXICON, clause};
use crate::credit_code::CreditCode;

/// What a suspicious span resembles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SuspiciousKind {
    /// A long run of digits (an ID, phone or card number in a layout the masking missed).
    Digits,
    /// An `@` (an e-mail address or an instant-messaging id).
    At,
    /// A street address.
    Address,
    /// Health information.
    Health,
}

impl SuspiciousKind {
    /// The name used in the API and in event payloads.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Digits => "digits",
            Self::At => "at_sign",
            Self::Address => "address",
            Self::Health => "health",
        }
    }
}

/// A span of a masked text (character offsets, end exclusive) that still resembles personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Suspicious {
    pub start: usize,
    pub end: usize,
    pub kind: SuspiciousKind,
}

/// Units after which a number is an amount or a quantity, not an identifier.
const QUANTITY_UNITS: &str = "元万亿角千百%件个台瓶盒箱袋包吨克斤米升人户次天日份张条只头辆套批kKgGmM平立";

/// Units after `第…` that make a number an article, a paragraph or a sequence number.
const ORDINAL_UNITS: &str = "条款项号页章节次届批期";

/// Whether `digits` (8 digits) is a date YYYYMMDD between 1900 and 2099.
fn is_date8(digits: &str) -> bool {
    digits.len() == 8 && super::plausible_birth_date(digits)
}

/// The suspicious spans of a masked text.
pub fn residual(text: &str) -> Vec<Suspicious> {
    let orig: Vec<char> = text.chars().collect();
    let c = fold_all(&orig);
    let mut out = Vec::new();
    let sep = |x: char| matches!(x, ' ' | '-' | '.' | '\n' | '\r' | '\t' | '/');
    let mut i = 0;
    while i < c.len() {
        if !c[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        // A run of digits with separators between them.
        let start = i;
        let mut end = i;
        let mut digits = String::new();
        let mut j = i;
        while j < c.len() {
            if c[j].is_ascii_digit() {
                digits.push(c[j]);
                j += 1;
                end = j;
            } else if sep(c[j]) && c.get(j + 1).is_some_and(char::is_ascii_digit) {
                j += 1;
            } else {
                break;
            }
        }
        i = end.max(i + 1);
        if digits.len() < 7 {
            continue;
        }
        let before = (0..start).rev().find(|&p| c[p] != ' ').map(|p| c[p]);
        let after = c.get(end).copied();
        let letters = before.is_some_and(|b| b.is_ascii_alphabetic()) || after.is_some_and(|a| a.is_ascii_alphabetic());
        let ordinal = before == Some('第') && after.is_some_and(|a| ORDINAL_UNITS.contains(a));
        let quantity = after.is_some_and(|a| QUANTITY_UNITS.contains(a));
        let document = after == Some('号') && matches!(before, Some('〕' | ']' | ')' | '】'));
        let date = is_date8(&digits);
        let credit = digits.len() == 18 && digits.parse::<CreditCode>().is_ok();
        if !(letters || ordinal || quantity || document || date || credit) {
            out.push(Suspicious { start, end, kind: SuspiciousKind::Digits });
        }
    }
    for (p, _) in c.iter().enumerate().filter(|(_, x)| **x == '@') {
        out.push(Suspicious { start: p, end: p + 1, kind: SuspiciousKind::At });
    }
    // A street or village name followed by digits that are still visible.
    for p in 1..c.len() {
        if "路街巷弄村".contains(c[p]) && is_han(c[p - 1]) && c.get(p + 1).is_some_and(char::is_ascii_digit) {
            // The agency's own address is public (the masking leaves it for the same reason).
            let (clause_start, _) = clause(&c, p);
            let before: String = c[clause_start..p].iter().collect();
            if AGENCY_WORDS.iter().any(|w| before.contains(w)) {
                continue;
            }
            let mut e = p + 1;
            while e < c.len() && c[e].is_ascii_digit() {
                e += 1;
            }
            out.push(Suspicious { start: p.saturating_sub(2), end: e, kind: SuspiciousKind::Address });
        }
    }
    for term in HEALTH_LEXICON {
        let t: Vec<char> = term.chars().collect();
        let mut p = 0;
        while p + t.len() <= c.len() {
            if c[p..].starts_with(&t) && !in_title(&c, p) {
                out.push(Suspicious { start: p, end: p + t.len(), kind: SuspiciousKind::Health });
                p += t.len();
            } else {
                p += 1;
            }
        }
    }
    out.sort_by_key(|s| (s.start, s.end));
    out.dedup();
    out
}

fn in_title(c: &[char], i: usize) -> bool {
    let open = c[..i].iter().rposition(|&x| x == '《');
    let close = c[..i].iter().rposition(|&x| x == '》');
    matches!((open, close), (Some(o), Some(cl)) if o > cl) || matches!((open, close), (Some(_), None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<SuspiciousKind> {
        residual(text).into_iter().map(|s| s.kind).collect()
    }

    #[test]
    fn article_document_amount_date_and_codes_are_not_suspicious() {
        for text in [
            "依据第二十三条第1款",
            "第12345678号",
            "闽榕市监罚〔2026〕1234567号",
            "罚款20000000元，没收1234567.89元",
            "于20260102作出，2026-01-02送达",
            "统一社会信用代码91350100MA2YL3XQ1B，许可证JY13501020012345",
            "身份证号350102************，电话138****5678",
            "违反《中华人民共和国传染病防治法》",
            "本机关地址：福州市鼓楼区五一路88号",
        ] {
            assert!(residual(text).is_empty(), "{text}: {:?}", residual(text));
        }
    }

    #[test]
    fn what_still_looks_personal_is_found_with_its_span() {
        assert_eq!(kinds("编号 1234 5678 9012"), vec![SuspiciousKind::Digits]);
        assert_eq!(kinds("联系abc@example"), vec![SuspiciousKind::At]);
        assert_eq!(kinds("在五一路12"), vec![SuspiciousKind::Address]);
        assert_eq!(kinds("其糖尿病"), vec![SuspiciousKind::Health]);
        let s = residual("案号：２０２６０１０２０００１２３４。");
        assert_eq!((s[0].start, s[0].end), (3, 18));
    }
}
