//! The folded form of a text that detection runs on: one character for each character of the
//! original, so a span found in the folded text is the same span of the original and masking
//! stays one for one.
//!
//! Each character is folded on its own by NFKC (full-width digits, letters and punctuation,
//! `（`, `：`, `＠`, compatibility ideographs) when NFKC gives a single character, and the
//! dashes, dots and spaces people type between digits are folded to `-`, `.` and ` `. A character
//! whose NFKC form is several characters (`㎡`, `½`) is kept as written.

use unicode_normalization::UnicodeNormalization;

/// The folded form of one character.
pub fn fold(c: char) -> char {
    // The common cases first: ASCII and the CJK block fold to themselves.
    if c.is_ascii() || ('\u{4E00}'..='\u{9FFF}').contains(&c) {
        return c;
    }
    match c {
        '\u{3000}' | '\u{00A0}' | '\u{2002}'..='\u{200A}' | '\u{202F}' => return ' ',
        '－' | '﹣' | '‐' | '‑' | '‒' | '–' | '—' | '―' | '−' => return '-',
        '．' | '﹒' | '·' | '・' | '•' | '‧' => return '.',
        _ => {}
    }
    let mut it = std::iter::once(c).nfkc();
    match (it.next(), it.next()) {
        (Some(f), None) => f,
        _ => c,
    }
}

/// The folded form of a text, character for character.
pub fn fold_all(chars: &[char]) -> Vec<char> {
    chars.iter().map(|&c| fold(c)).collect()
}

/// Whether `c` is a CJK unified ideograph (the characters of Chinese words and names).
pub fn is_han(c: char) -> bool {
    ('\u{4E00}'..='\u{9FFF}').contains(&c) || ('\u{3400}'..='\u{4DBF}').contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_forms_fold_one_for_one() {
        let text: Vec<char> = "０２１－６７２４７８３１（１３８）＠Ａ：，".chars().collect();
        let folded: String = fold_all(&text).into_iter().collect();
        assert_eq!(folded, "021-67247831(138)@A:,");
        assert_eq!(fold('\u{3000}'), ' ');
        assert_eq!(fold('·'), '.');
        assert_eq!(fold('㎡'), '㎡', "several characters under NFKC: kept");
        assert_eq!(fold('张'), '张');
    }
}
