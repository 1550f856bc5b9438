//! Numbers and identifiers in free text, found on the folded text: resident ID numbers, mobiles,
//! landlines, bank cards, passports and 港澳台 permits, vehicle plates, and any number written
//! after a phone, account or permit keyword.

use super::{Kind, Marks, is_valid_id18, luhn_valid, plausible_id15};
use crate::credit_code::CreditCode;

/// Separators people write between the digit groups of one number (folded: full-width dashes,
/// dots and spaces are already ASCII): a space, a dash, a dot, a line break.
fn is_sep(c: char) -> bool {
    matches!(c, ' ' | '-' | '.' | '\n' | '\r' | '\t' | '/')
}

fn is_open(c: char) -> bool {
    matches!(c, '(' | '[' | '【' | '〔')
}

fn is_close(c: char) -> bool {
    matches!(c, ')' | ']' | '】' | '〕')
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

/// The digit groups of the number token starting at `j`: digits separated by up to three
/// separator characters, the first group possibly bracketed (`(0591)`).
fn parse_groups(c: &[char], mut j: usize, allow_bracket: bool) -> Vec<Group> {
    let mut groups = Vec::new();
    let mut digits = 0;
    loop {
        let bracketed = allow_bracket && groups.is_empty() && j < c.len() && is_open(c[j]);
        let start = if bracketed { j + 1 } else { j };
        let mut end = start;
        while end < c.len() && c[end].is_ascii_digit() {
            end += 1;
        }
        if end == start {
            break;
        }
        digits += end - start;
        // The check character X ends an ID number, however its digits are grouped.
        let x = digits == 17 && end < c.len() && matches!(c[end], 'X' | 'x');
        if x {
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
        if x {
            break;
        }
        let mut k = close;
        while k < c.len() && k < close + 3 && is_sep(c[k]) {
            k += 1;
        }
        if k > close && k < c.len() && c[k].is_ascii_digit() {
            j = k;
        } else if bracketed && close < c.len() && c[close].is_ascii_digit() {
            j = close;
        } else {
            break;
        }
    }
    groups
}

/// Whether `area` is a landline area code: 010, 02x, or 0 and three digits from 3.
fn area_ok(area: &str) -> bool {
    matches!(area.as_bytes(), [b'0', b'1' | b'2', _] | [b'0', b'3'..=b'9', _, _])
}

/// What a sequence of groups is, and which positions the rule applies to.
fn classify(c: &[char], groups: &[Group], plus: bool, last_of_token: bool) -> Option<(Kind, Vec<usize>)> {
    let positions: Vec<usize> = groups.iter().flat_map(|g| g.start..g.end).collect();
    let text: String = positions.iter().map(|&p| c[p]).collect();
    let lens: Vec<usize> = groups.iter().map(|g| g.end - g.start).collect();
    let any_bracket = groups.iter().any(|g| g.bracketed);
    let all_digits = text.bytes().all(|b| b.is_ascii_digit());

    // Mobile numbers, with an optional 86 / +86 country code.
    let national = if text.len() == 13 && text.starts_with("86") && (plus || lens[0] == 2 || lens[0] == 13) {
        &positions[2..]
    } else {
        &positions[..]
    };
    let is_mobile = |p: &[usize]| {
        p.len() == 11 && c[p[0]] == '1' && matches!(c[p[1]], '3'..='9') && p.iter().all(|&q| c[q].is_ascii_digit())
    };
    if !any_bracket && is_mobile(national) && (!plus || text.len() == 13) {
        return Some((Kind::Phone, national.to_vec()));
    }
    if plus {
        return None;
    }

    if !any_bracket {
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

    // Landlines: an area code (010, 02x: 3 digits with the 0; else 4) and a 7- or 8-digit local
    // number, which may start with any digit when the area code is written apart.
    if text.starts_with('0') {
        let landline = match groups.len() {
            1 if !any_bracket => {
                let area_len = if matches!(text.as_bytes().get(1), Some(b'1' | b'2')) { 3 } else { 4 };
                text.len() > area_len
                    && area_ok(&text[..area_len])
                    && (7..=8).contains(&(text.len() - area_len))
                    && matches!(text.as_bytes()[area_len], b'2'..=b'9')
            }
            1 => false,
            _ => {
                area_ok(&text[..lens[0]])
                    && (7..=8).contains(&(text.len() - lens[0]))
                    && groups[1..].iter().all(|g| !g.bracketed)
            }
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
pub(super) fn mark_numbers(marks: &mut Marks) {
    let c = marks.norm.clone();
    let mut i = 0;
    while i < c.len() {
        let boundary = i == 0 || !c[i - 1].is_ascii_digit();
        let plus = c[i] == '+' && c.get(i + 1).is_some_and(char::is_ascii_digit);
        let bracket = is_open(c[i]) && c.get(i + 1).is_some_and(char::is_ascii_digit);
        let starts = c[i].is_ascii_digit() || plus || bracket;
        if !boundary || !starts {
            i += 1;
            continue;
        }
        let groups = parse_groups(&c, if plus { i + 1 } else { i }, bracket);
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
            // A bracket that does not hold an area code is only punctuation: look again at the
            // number inside it.
            _ if bracket => i += 1,
            // Not a sensitive number: step over its first group and look again after it.
            (None, Some(first)) => i = first.close.max(i + 1),
            (None, None) => i += 1,
        }
    }
}

/// Keywords after which any number is a phone number (a local number without area code too).
const PHONE_KEYWORDS: [&str; 12] =
    ["联系电话", "电话号码", "手机号码", "手机号", "电话", "手机", "座机", "固话", "传真", "联系方式", "Tel", "TEL"];

/// Keywords after which a number of 12–19 digits is an account or card number.
const CARD_KEYWORDS: [&str; 8] = ["银行卡号", "银行卡", "银行账号", "卡号", "账号", "帐号", "账户", "帐户"];

/// Keywords after which an identifier is a passport or permit number.
const PERMIT_KEYWORDS: [&str; 9] =
    ["护照号码", "护照号", "护照", "通行证号码", "通行证", "台胞证", "回乡证", "居留证", "旅行证"];

/// Connecting characters between a keyword and its value (`：`, `是`, `为`, `号码`, a space).
pub(super) fn skip_connectors(c: &[char], mut j: usize) -> usize {
    while j < c.len() && (matches!(c[j], ':' | ' ' | '是' | '为' | '号' | '码' | '(' | '\u{3000}') || c[j] == '\t')
    {
        j += 1;
    }
    j
}

/// Starts of `keyword` in the folded text (an ASCII keyword not inside a longer ASCII word).
pub(super) fn find_keyword(c: &[char], keyword: &[char]) -> Vec<usize> {
    let ascii = keyword.iter().all(char::is_ascii);
    let mut out = Vec::new();
    let mut i = 0;
    while i + keyword.len() <= c.len() {
        if c[i..].starts_with(keyword) && (!ascii || i == 0 || !c[i - 1].is_ascii_alphabetic()) {
            out.push(i);
            i += keyword.len();
        } else {
            i += 1;
        }
    }
    out
}

/// Marks the number written after each phone, card or permit keyword, whatever its layout.
pub(super) fn mark_after_number_keywords(marks: &mut Marks) {
    let c = marks.norm.clone();
    for (keywords, digits_range) in [(&PHONE_KEYWORDS[..], 7..=13), (&CARD_KEYWORDS[..], 12..=19)] {
        for k in keywords {
            let kw: Vec<char> = k.chars().collect();
            for at in find_keyword(&c, &kw) {
                let j = skip_connectors(&c, at + kw.len());
                if j >= c.len() || !c[j].is_ascii_digit() {
                    continue;
                }
                let groups = parse_groups(&c, j, false);
                let positions: Vec<usize> = groups.iter().flat_map(|g| g.start..g.end).collect();
                if !digits_range.contains(&positions.len()) {
                    continue;
                }
                if let Some((kind, p)) = classify(&c, &groups, false, true) {
                    marks.apply(kind, &p);
                } else if keywords[0] == PHONE_KEYWORDS[0] {
                    marks.apply(Kind::LocalPhone, &positions);
                } else {
                    marks.apply(Kind::BankCard, &positions);
                }
            }
        }
    }
    for k in PERMIT_KEYWORDS {
        let kw: Vec<char> = k.chars().collect();
        for at in find_keyword(&c, &kw) {
            let j = skip_connectors(&c, at + kw.len());
            let mut e = j;
            while e < c.len()
                && (c[e].is_ascii_alphanumeric()
                    || (is_sep(c[e]) && e > j && e + 1 < c.len() && c[e + 1].is_ascii_alphanumeric()))
            {
                e += 1;
            }
            let positions: Vec<usize> = (j..e).filter(|&p| c[p].is_ascii_alphanumeric()).collect();
            if positions.len() >= 6 && positions.iter().any(|&p| c[p].is_ascii_digit()) {
                marks.apply(Kind::Permit, &positions);
            }
        }
    }
}

/// Units after which a number is an amount or a quantity.
const QUANTITY_UNITS: &str = "元万亿角%件个台瓶盒箱袋包吨克斤米升人户次天年月日号份张条只头辆套批";

/// Marks passports and 港澳台 permits written without a keyword, standing alone: one capital
/// letter (E, G, P, S, D passports; C, H, M, T permits) and 8 or 10 digits, or two capitals and
/// 7 digits (EA1234567); not followed by a unit (an amount).
pub(super) fn mark_permits(marks: &mut Marks) {
    let c = marks.norm.clone();
    let mut i = 0;
    while i < c.len() {
        let starts = matches!(c[i], 'E' | 'G' | 'P' | 'S' | 'D' | 'C' | 'H' | 'M' | 'T')
            && (i == 0 || !c[i - 1].is_ascii_alphanumeric());
        if !starts {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        if j < c.len() && c[j].is_ascii_uppercase() {
            j += 1;
        }
        let d = j;
        while j < c.len() && c[j].is_ascii_digit() {
            j += 1;
        }
        let shape = match d - i {
            1 => matches!(j - d, 8 | 10),
            _ => j - d == 7,
        };
        let alone = j >= c.len() || (!c[j].is_ascii_alphanumeric() && !QUANTITY_UNITS.contains(c[j]));
        if shape && alone {
            let positions: Vec<usize> = (i..j).collect();
            marks.apply(Kind::Permit, &positions);
        }
        i = j.max(i + 1);
    }
}

/// Abbreviations of the provinces that start a vehicle plate.
const PLATE_PROVINCES: &str = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";

/// Marks vehicle plates (闽A·12345, 粤B D12345): the province and the issuing letter stay.
pub(super) fn mark_plates(marks: &mut Marks) {
    let c = marks.norm.clone();
    for i in 0..c.len() {
        if !PLATE_PROVINCES.contains(c[i]) || !c.get(i + 1).is_some_and(char::is_ascii_uppercase) {
            continue;
        }
        if i + 2 < c.len() && c[i + 2].is_ascii_uppercase() && c.get(i + 3).is_some_and(|x| x.is_ascii_uppercase()) {
            // Three capitals after the province: a word, not a plate.
            continue;
        }
        let mut j = i + 2;
        if j < c.len() && matches!(c[j], '.' | ' ' | '-') {
            j += 1;
        }
        let s = j;
        while j < c.len() && c[j].is_ascii_alphanumeric() && j - s < 7 {
            j += 1;
        }
        let body = j - s;
        let digits = (s..j).filter(|&p| c[p].is_ascii_digit()).count();
        let followed = j < c.len() && c[j].is_ascii_alphanumeric();
        // A plate body is 5 (6 for new energy vehicles) letters and digits, mostly digits.
        if (5..=6).contains(&body) && digits >= 3 && !followed {
            let mut positions = vec![i, i + 1];
            positions.extend(s..j);
            marks.apply(Kind::Plate, &positions);
        }
    }
}
