//! 统一社会信用代码 (unified social credit code, GB 32100-2015).

use std::fmt;
use std::str::FromStr;

/// The 31 characters of the code's alphabet, in the order of their values 0..=30
/// (I, O, S, V and Z are excluded to avoid confusion).
const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Weights of positions 1..=17 (3^(i-1) mod 31).
const WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/// A validated 18-character unified social credit code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CreditCode(String);

/// Why a string is not a valid credit code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    #[error("must be 18 characters, got {0}")]
    Length(usize),
    #[error("character {0:?} at position {1} is not in the GB 32100 alphabet")]
    Alphabet(char, usize),
    #[error("check character is {found:?}, expected {expected:?}")]
    Check { found: char, expected: char },
}

fn value(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

/// The check character for the first 17 characters of a code.
pub fn check_character(first17: &[u8; 17]) -> Option<char> {
    let mut sum = 0u32;
    for (i, &c) in first17.iter().enumerate() {
        sum += value(c)? * WEIGHTS[i];
    }
    let check = (31 - sum % 31) % 31;
    Some(ALPHABET[check as usize] as char)
}

impl FromStr for CreditCode {
    type Err = CreditCodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let chars: Vec<char> = s.chars().collect();
        if chars.len() != 18 {
            return Err(CreditCodeError::Length(chars.len()));
        }
        for (i, &c) in chars.iter().enumerate() {
            if !c.is_ascii() || value(c as u8).is_none() {
                return Err(CreditCodeError::Alphabet(c, i + 1));
            }
        }
        let bytes = s.as_bytes();
        let mut first17 = [0u8; 17];
        first17.copy_from_slice(&bytes[..17]);
        let expected = check_character(&first17).ok_or(CreditCodeError::Alphabet('?', 0))?;
        let found = chars[17];
        if found != expected {
            return Err(CreditCodeError::Check { found, expected });
        }
        Ok(Self(s.to_owned()))
    }
}

impl CreditCode {
    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_published_codes() {
        // Codes of real organisations, as published on their licences.
        for code in ["91350100M000100Y43", "11100000000013127D", "91110000802100433B"] {
            code.parse::<CreditCode>().unwrap_or_else(|e| panic!("{code}: {e}"));
        }
    }

    #[test]
    fn rejects_wrong_check_character_and_alphabet() {
        assert!(matches!(
            "91350100M000100Y44".parse::<CreditCode>(),
            Err(CreditCodeError::Alphabet(..)) | Err(CreditCodeError::Check { .. })
        ));
        assert!(matches!("91350100M000100Y4".parse::<CreditCode>(), Err(CreditCodeError::Length(17))));
        assert!(matches!("9135010OM000100Y43".parse::<CreditCode>(), Err(CreditCodeError::Alphabet('O', 8))));
        assert!(matches!("91350100M000100Y42".parse::<CreditCode>(), Err(CreditCodeError::Check { .. })));
    }
}
