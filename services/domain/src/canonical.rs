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
                Some(i) if i.abs() <= MAX_SAFE_INTEGER => Self::Int(i),
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

fn write_value(v: &Value, out: &mut String) -> Result<(), CanonicalError> {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Int(i) => {
            if i.abs() > MAX_SAFE_INTEGER {
                return Err(CanonicalError::Number(i.to_string()));
            }
            out.push_str(&i.to_string());
        }
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
            // RFC 8785 sorts member names by UTF-16 code units, which differs from Rust's UTF-8
            // order for characters above U+FFFF.
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (n, key) in keys.into_iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                write_string(key, out);
                out.push(':');
                write_value(&map[key], out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
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

    proptest! {
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
