//! SHA-256 digests as a validated newtype.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// A SHA-256 digest; displayed and parsed as 64 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256Digest([u8; 32]);

impl Sha256Digest {
    /// The all-zero digest: the `prev_hash` of a case's first event.
    pub const ZERO: Self = Self([0; 32]);

    /// Digest of `data`.
    pub fn of(data: &[u8]) -> Self {
        Self(Sha256::digest(data).into())
    }

    /// Wraps raw digest bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl From<sha2::digest::Output<Sha256>> for Sha256Digest {
    fn from(out: sha2::digest::Output<Sha256>) -> Self {
        Self(out.into())
    }
}

/// A string that is not 64 lowercase hex characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected 64 lowercase hex characters")]
pub struct ParseDigestError;

impl FromStr for Sha256Digest {
    type Err = ParseDigestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Verification parses three digests per event: decode through a table, lowercase only,
        // checking every digit once at the end.
        const INVALID: u8 = 0xff;
        const NIBBLE: [u8; 256] = {
            let mut t = [INVALID; 256];
            let mut i = 0;
            while i < 10 {
                t[b'0' as usize + i] = i as u8;
                i += 1;
            }
            let mut i = 0;
            while i < 6 {
                t[b'a' as usize + i] = 10 + i as u8;
                i += 1;
            }
            t
        };
        let bytes = s.as_bytes();
        if bytes.len() != 64 {
            return Err(ParseDigestError);
        }
        let mut out = [0u8; 32];
        let mut seen = 0u8;
        for (o, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            let (hi, lo) = (NIBBLE[pair[0] as usize], NIBBLE[pair[1] as usize]);
            seen |= hi | lo;
            *o = (hi << 4) | (lo & 0x0f);
        }
        if seen > 0x0f { Err(ParseDigestError) } else { Ok(Self(out)) }
    }
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256Digest({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector_and_round_trip() {
        let d = Sha256Digest::of(b"abc");
        assert_eq!(d.to_hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(d.to_hex().parse::<Sha256Digest>().unwrap(), d);
    }

    #[test]
    fn rejects_uppercase_and_wrong_length() {
        assert!("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD".parse::<Sha256Digest>().is_err());
        assert!("abc".parse::<Sha256Digest>().is_err());
        // Any one digit outside 0-9a-f, at either place of a byte, anywhere in the digest.
        let good = Sha256Digest::of(b"abc").to_hex();
        for at in [0, 1, 31, 62, 63] {
            for bad in ['g', 'G', 'A', ' ', '/', ':', '`', '\u{7f}'] {
                let mut s = good.clone().into_bytes();
                s[at] = bad as u8;
                let text = String::from_utf8(s).unwrap();
                assert!(text.parse::<Sha256Digest>().is_err(), "{text:?}");
            }
        }
        // Every digit at every place decodes to its value.
        for d in "0123456789abcdef".chars() {
            let text: String = std::iter::repeat_n(d, 64).collect();
            let v = d.to_digit(16).unwrap() as u8;
            assert_eq!(text.parse::<Sha256Digest>().unwrap(), Sha256Digest([(v << 4) | v; 32]));
        }
    }
}
