//! Canonical JSON: the byte encoding that event hashes cover.
//!
//! This is RFC 8785 (JSON Canonicalization Scheme) restricted to the values the record uses:
//! strings, booleans, null, arrays, objects, and integers of magnitude at most 2^53 (no
//! fractions). Object members are sorted by the UTF-16 code units of their names, strings are
//! escaped exactly as ECMAScript's `JSON.stringify` does, and there is no whitespace.
//! docs/CHAIN.md gives the same rules for independent implementations.

use std::collections::BTreeMap;

/// Largest integer magnitude that every JSON implementation represents exactly (2^53).
pub const MAX_SAFE_INTEGER: i64 = 1 << 53;

/// A JSON value of the canonical subset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    Array(Vec<Value>),
    Object(BTreeMap<String, Value>),
}

/// A value outside the canonical subset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    #[error("number {0} is not an integer of magnitude at most 2^53")]
    Number(String),
    #[error("invalid JSON: {0}")]
    Json(String),
}

impl Value {
    /// An empty object.
    pub fn object() -> Self {
        Self::Object(BTreeMap::new())
    }

    /// Adds a member to an object (no-op on other values); returns `self` for chaining.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        if let Self::Object(map) = &mut self {
            map.insert(key.to_owned(), value.into());
        }
        self
    }

    /// The member `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Self::Object(map) => map.get(key),
            _ => None,
        }
    }

    /// The string inside, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The integer inside, if this is an integer.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Self::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The boolean inside, if this is a boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Self::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The canonical encoding.
    pub fn to_canonical_string(&self) -> Result<String, CanonicalError> {
        let mut out = String::new();
        write_value(self, &mut out)?;
        Ok(out)
    }

    /// Parses JSON text into the canonical subset (rejecting fractions and huge integers).
    pub fn parse(text: &str) -> Result<Self, CanonicalError> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| CanonicalError::Json(e.to_string()))?;
        Self::from_json(&v)
    }

    /// Converts a serde_json value into the canonical subset.
    pub fn from_json(v: &serde_json::Value) -> Result<Self, CanonicalError> {
        Ok(match v {
            serde_json::Value::Null => Self::Null,
            serde_json::Value::Bool(b) => Self::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                // `unsigned_abs`: `abs` overflows on i64::MIN (kept as a case in tests/fuzz.rs).
                Some(i) if i.unsigned_abs() <= MAX_SAFE_INTEGER.unsigned_abs() => Self::Int(i),
                _ => return Err(CanonicalError::Number(n.to_string())),
            },
            serde_json::Value::String(s) => Self::Str(s.clone()),
            serde_json::Value::Array(a) => Self::Array(a.iter().map(Self::from_json).collect::<Result<_, _>>()?),
            serde_json::Value::Object(o) => Self::Object(
                o.iter().map(|(k, v)| Ok((k.clone(), Self::from_json(v)?))).collect::<Result<_, CanonicalError>>()?,
            ),
        })
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Self::Str(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Self::Str(s)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Self::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Self::Int(i)
    }
}
impl From<u64> for Value {
    fn from(i: u64) -> Self {
        Self::Int(i64::try_from(i).unwrap_or(i64::MAX))
    }
}
impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Self {
        Self::Array(v.into_iter().map(Into::into).collect())
    }
}

/// Writes the canonical encoding of `v` to `out` (appending).
pub fn write_canonical(v: &Value, out: &mut String) -> Result<(), CanonicalError> {
    write_value(v, out)
}

fn write_value(v: &Value, out: &mut String) -> Result<(), CanonicalError> {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Int(i) => write_int(*i, out)?,
        Value::Str(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                write_value(item, out)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            // RFC 8785 sorts member names by UTF-16 code units, which differs from Rust's UTF-8
            // (the map's) order only between characters above U+FFFF and those in U+E000..=U+FFFF,
            // whose UTF-8 lead bytes are 0xEE and above. Without such bytes the map's order is it.
            if map.keys().all(|k| k.bytes().all(|b| b < 0xEE)) {
                for (n, (key, value)) in map.iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    write_string(key, out);
                    out.push(':');
                    write_value(value, out)?;
                }
            } else {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
                for (n, key) in keys.into_iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    write_string(key, out);
                    out.push(':');
                    write_value(&map[key], out)?;
                }
            }
            out.push('}');
        }
    }
    Ok(())
}

/// Writes an integer of the canonical subset.
pub fn write_int(i: i64, out: &mut String) -> Result<(), CanonicalError> {
    // `unsigned_abs`: `abs` overflows on i64::MIN (kept as a case in tests/fuzz.rs).
    if i.unsigned_abs() > MAX_SAFE_INTEGER.unsigned_abs() {
        return Err(CanonicalError::Number(i.to_string()));
    }
    // Digits written directly (no formatter): the chain writes several integers per event.
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    let mut v = i.unsigned_abs();
    loop {
        at -= 1;
        buf[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if i < 0 {
        at -= 1;
        buf[at] = b'-';
    }
    out.push_str(std::str::from_utf8(&buf[at..]).unwrap_or_default());
    Ok(())
}

/// Writes a string in canonical form (quoted and escaped as `JSON.stringify` does).
pub fn write_string(s: &str, out: &mut String) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0x08 => "\\b",
            0x0c => "\\f",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..0x20 => "",
            _ => continue,
        };
        // Every byte escaped is ASCII, so `start..i` ends on a character boundary.
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            use std::fmt::Write;
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Largest nesting of arrays and objects [`check_canonical`] accepts (what [`Value::parse`]
/// accepts too: serde_json's recursion limit).
const MAX_DEPTH: usize = 127;

/// Checks, without building a [`Value`], that `text` is exactly the canonical encoding of a value
/// of the subset: `Ok` exactly when `Value::parse(text)` succeeds and re-encodes to `text`.
/// Verification uses it to hash stored canonical columns as they are.
pub fn check_canonical(text: &str) -> Result<(), CanonicalError> {
    let mut c = Checker { s: text.as_bytes(), text, pos: 0 };
    c.value(0)?;
    if c.pos != c.s.len() {
        return Err(c.err("trailing characters"));
    }
    Ok(())
}

struct Checker<'a> {
    s: &'a [u8],
    text: &'a str,
    pos: usize,
}

impl<'a> Checker<'a> {
    fn err(&self, what: &str) -> CanonicalError {
        CanonicalError::Json(format!("not canonical at byte {}: {what}", self.pos))
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn literal(&mut self, word: &str) -> Result<(), CanonicalError> {
        if self.s[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.err("expected a value"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<(), CanonicalError> {
        match self.peek() {
            Some(b'n') => self.literal("null"),
            Some(b't') => self.literal("true"),
            Some(b'f') => self.literal("false"),
            Some(b'"') => self.string().map(|_| ()),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'[') => {
                if depth >= MAX_DEPTH {
                    return Err(self.err("nested too deeply"));
                }
                self.pos += 1;
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    return Ok(());
                }
                loop {
                    self.value(depth + 1)?;
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(());
                        }
                        _ => return Err(self.err("expected ',' or ']'")),
                    }
                }
            }
            Some(b'{') => {
                if depth >= MAX_DEPTH {
                    return Err(self.err("nested too deeply"));
                }
                self.pos += 1;
                if self.peek() == Some(b'}') {
                    self.pos += 1;
                    return Ok(());
                }
                let mut prev: Option<std::borrow::Cow<'a, str>> = None;
                loop {
                    if self.peek() != Some(b'"') {
                        return Err(self.err("expected a member name"));
                    }
                    let key = self.string()?;
                    if let Some(p) = &prev
                        && p.encode_utf16().cmp(key.encode_utf16()) != std::cmp::Ordering::Less
                    {
                        return Err(self.err("member names out of order or repeated"));
                    }
                    prev = Some(key);
                    if self.peek() != Some(b':') {
                        return Err(self.err("expected ':'"));
                    }
                    self.pos += 1;
                    self.value(depth + 1)?;
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(());
                        }
                        _ => return Err(self.err("expected ',' or '}'")),
                    }
                }
            }
            _ => Err(self.err("expected a value")),
        }
    }

    /// An integer of the subset in its one canonical spelling.
    fn number(&mut self) -> Result<(), CanonicalError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let digits = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        let n = self.pos - digits;
        let text = &self.text[start..self.pos];
        if n == 0 || (n > 1 && self.s[digits] == b'0') || text == "-0" || n > 16 {
            return Err(self.err("not an integer in canonical form"));
        }
        if matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return Err(CanonicalError::Number(text.to_owned()));
        }
        match text.parse::<i64>() {
            Ok(i) if i.abs() <= MAX_SAFE_INTEGER => Ok(()),
            _ => Err(CanonicalError::Number(text.to_owned())),
        }
    }

    /// A string escaped exactly as [`write_string`] does; returns its content.
    fn string(&mut self) -> Result<std::borrow::Cow<'a, str>, CanonicalError> {
        self.pos += 1; // the opening quote
        let start = self.pos;
        let mut decoded: Option<String> = None;
        let mut run = start;
        loop {
            let Some(b) = self.peek() else { return Err(self.err("unterminated string")) };
            match b {
                b'"' => {
                    let end = self.pos;
                    self.pos += 1;
                    return Ok(match decoded {
                        None => std::borrow::Cow::Borrowed(&self.text[start..end]),
                        Some(mut d) => {
                            d.push_str(&self.text[run..end]);
                            std::borrow::Cow::Owned(d)
                        }
                    });
                }
                0..0x20 => return Err(self.err("control character in a string")),
                b'\\' => {
                    let d = decoded.get_or_insert_with(String::new);
                    d.push_str(&self.text[run..self.pos]);
                    let c = match self.s.get(self.pos + 1) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            // Only control characters without a short form are written as \u00xx.
                            let hex = self.s.get(self.pos + 2..self.pos + 6).unwrap_or_default();
                            let lower_hex =
                                hex.len() == 4 && hex.iter().all(|h| matches!(h, b'0'..=b'9' | b'a'..=b'f'));
                            let value = std::str::from_utf8(hex).ok().and_then(|h| u32::from_str_radix(h, 16).ok());
                            match value {
                                Some(v) if lower_hex && v < 0x20 && !matches!(v, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d) => {
                                    self.pos += 4;
                                    char::from_u32(v).unwrap_or_default()
                                }
                                _ => return Err(self.err("escape not in canonical form")),
                            }
                        }
                        _ => return Err(self.err("escape not in canonical form")),
                    };
                    d.push(c);
                    self.pos += 2;
                    run = self.pos;
                }
                _ => self.pos += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn sorts_members_and_escapes_like_json_stringify() {
        let v = Value::object()
            .with("b", 1i64)
            .with("a", "x\"\\\n\u{1}é中")
            .with("\u{1F600}", true)
            .with("\u{FFFD}", Value::Null);
        // U+1F600 is a surrogate pair (D83D DE00) in UTF-16, so it sorts before U+FFFD.
        assert_eq!(
            v.to_canonical_string().unwrap(),
            "{\"a\":\"x\\\"\\\\\\n\\u0001é中\",\"b\":1,\"\u{1F600}\":true,\"\u{FFFD}\":null}"
        );
    }

    #[test]
    fn rejects_numbers_outside_the_subset() {
        assert!(Value::parse("1.5").is_err());
        assert!(Value::parse("9007199254740993").is_err());
        assert!(Value::Int(MAX_SAFE_INTEGER + 1).to_canonical_string().is_err());
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).prop_map(Value::Int),
            any::<String>().prop_map(Value::Str),
        ];
        leaf.prop_recursive(3, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(any::<String>(), inner, 0..6).prop_map(Value::Object),
            ]
        })
    }

    #[test]
    fn check_canonical_accepts_exactly_canonical_text() {
        for ok in ["null", "true", "[]", "{}", "-5", "9007199254740992", r#"{"a":[1,"x\u001f\n"],"b":{}}"#] {
            assert_eq!(check_canonical(ok), Ok(()), "{ok}");
        }
        for bad in [
            " null",
            "[1 ]",
            "{\"b\":1,\"a\":2}",
            "{\"a\":1,\"a\":2}",
            "01",
            "-0",
            "1.0",
            "1e3",
            "9007199254740993",
            "\"\\u0041\"",
            "\"\\u000A\"",
            "\"\\u000a\"",
            "\"\\/\"",
            "\"\\u+01f\"",
            "[1,]",
            "{\"a\"}",
            "\"",
            "nul",
            "[1]x",
        ] {
            assert!(check_canonical(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        /// The canonical check accepts every canonical encoding and agrees with parse + re-encode
        /// on arbitrary (mostly non-canonical) JSON text.
        #[test]
        fn check_canonical_agrees_with_reencoding(v in arb_value(), pretty in any::<bool>()) {
            let text = v.to_canonical_string().unwrap();
            prop_assert_eq!(check_canonical(&text), Ok(()));
            let json = serde_json::from_str::<serde_json::Value>(&text).unwrap();
            let other = if pretty { serde_json::to_string_pretty(&json).unwrap() } else { serde_json::to_string(&json).unwrap() };
            let canonical = Value::parse(&other).ok().and_then(|p| p.to_canonical_string().ok()).as_deref() == Some(other.as_str());
            prop_assert_eq!(check_canonical(&other).is_ok(), canonical, "{}", other);
        }

        /// Arbitrary strings: accepted exactly when parse + re-encode reproduces them.
        #[test]
        fn check_canonical_never_accepts_what_reencoding_changes(text in "[\\[\\]{}\",:a-c0-9\\\\u \\-]{0,16}") {
            let canonical = Value::parse(&text).ok().and_then(|p| p.to_canonical_string().ok()).as_deref() == Some(text.as_str());
            if check_canonical(&text).is_ok() {
                prop_assert!(canonical, "{}", text);
            }
        }

        /// The encoding is valid JSON, parses back to the same value, and is a fixed point.
        #[test]
        fn canonical_round_trip(v in arb_value()) {
            let text = v.to_canonical_string().unwrap();
            let back = Value::parse(&text).unwrap();
            prop_assert_eq!(&back, &v);
            prop_assert_eq!(back.to_canonical_string().unwrap(), text);
        }
    }
}
