//! The largest value every string field of the API accepts (docs/API.md lists them), and the
//! checks that refuse a larger one with `INVALID_ARGUMENT` naming the field and the limit —
//! before anything is looked up, so an oversized value costs no query and is never echoed whole.

use crate::error::{Error, Result, clip};

/// Ids the server made (UUIDs) and client-chosen upload ids: at most 128 characters of
/// `A-Z a-z 0-9 . _ -`.
pub const MAX_ID: usize = 128;
/// Names and titles: case title, party names, agency and officer names, reasons' short forms.
pub const MAX_NAME: usize = 200;
/// Short codes: certificate numbers, identity document types and numbers, phone numbers,
/// categories, time-zone names, device ids.
pub const MAX_CODE: usize = 64;
/// Addresses and places.
pub const MAX_ADDRESS: usize = 500;
/// Free text: a written record, facts, reasoning, minutes, reasons (bytes of UTF-8).
pub const MAX_TEXT: usize = 64 * 1024;
/// A media type (RFC 6838 allows 127 characters on each side of the `/`).
pub const MAX_MEDIA_TYPE: usize = 255;
/// Entries of a list of ids (officers, evidence) in one request.
pub const MAX_IDS: usize = 64;
/// Entries of `AppendEvent.details`, and the length of each key and value.
pub const MAX_DETAILS: usize = 32;
/// Length of a detail's key.
pub const MAX_DETAIL_KEY: usize = 64;
/// Length of a detail's value.
pub const MAX_DETAIL_VALUE: usize = 4096;
/// A TOML document (catalog, calendar year), bytes.
pub const MAX_TOML: usize = 64 * 1024;
/// Years a calendar may be loaded for.
pub const CALENDAR_YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// At most `max` characters, else `INVALID_ARGUMENT field`.
pub fn chars(field: &str, value: &str, max: usize) -> Result<()> {
    // A value longer in bytes than four times the limit is too long in characters as well:
    // decide without counting a huge value.
    if value.len() > max * 4 || value.chars().count() > max {
        return Err(Error::invalid(field, format!("at most {max} characters")));
    }
    Ok(())
}

/// At most `max` bytes, else `INVALID_ARGUMENT field`.
pub fn bytes(field: &str, value: &str, max: usize) -> Result<()> {
    if value.len() > max {
        return Err(Error::invalid(field, format!("at most {max} bytes")));
    }
    Ok(())
}

/// At most `max` entries, else `INVALID_ARGUMENT field`.
pub fn count<T>(field: &str, values: &[T], max: usize) -> Result<()> {
    if values.len() > max {
        return Err(Error::invalid(field, format!("at most {max} entries")));
    }
    Ok(())
}

/// Whether `value` has the shape of an id: 1 to [`MAX_ID`] characters of `A-Z a-z 0-9 . _ -`.
pub fn is_id(value: &str) -> bool {
    (1..=MAX_ID).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// An id of the right shape, else `INVALID_ARGUMENT field` (checked before any lookup).
pub fn id(field: &str, value: &str) -> Result<()> {
    if is_id(value) {
        Ok(())
    } else if value.is_empty() {
        Err(Error::invalid(field, "must not be empty"))
    } else {
        Err(Error::invalid(field, format!("not an id: 1 to {MAX_ID} characters of A-Z, a-z, 0-9, '.', '_' or '-'")))
    }
}

/// An id, or empty (a field that may be left out).
pub fn optional_id(field: &str, value: &str) -> Result<()> {
    if value.is_empty() { Ok(()) } else { id(field, value) }
}

/// Each id of a list, and the list's length.
pub fn ids<S: AsRef<str>>(field: &str, values: &[S]) -> Result<()> {
    count(field, values, MAX_IDS)?;
    values.iter().enumerate().try_for_each(|(i, v)| id(&format!("{field}[{i}]"), v.as_ref()))
}

/// A media type as RFC 6838 defines it, `type/subtype` of restricted-name characters (letters,
/// digits, ``!#$&-^_.+``; each 1 to 127 characters, the first a letter or digit), optionally followed
/// by parameters without control characters. Returns it lower-cased and trimmed, else
/// `INVALID_ARGUMENT media_type`.
pub fn media_type(value: &str) -> Result<String> {
    let bad = |why: &str| Error::invalid("media_type", format!("{why}: a media type such as video/mp4 (RFC 6838)"));
    if value.len() > MAX_MEDIA_TYPE {
        return Err(Error::invalid("media_type", format!("at most {MAX_MEDIA_TYPE} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(bad("control characters (such as CR or LF) are not allowed"));
    }
    let v = value.trim().to_ascii_lowercase();
    let essence = v.split(';').next().unwrap_or_default().trim_end();
    let restricted = |name: &str| {
        (1..=127).contains(&name.len())
            && name.as_bytes()[0].is_ascii_alphanumeric()
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    match essence.split_once('/') {
        Some((t, s)) if restricted(t) && restricted(s) => Ok(v),
        _ => Err(bad(&format!("{:?} is not type/subtype", clip(essence)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(r: Result<impl std::fmt::Debug>) -> String {
        match r {
            Err(Error::InvalidArgument { field, message }) => format!("{field}: {message}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn limits_name_the_field_and_the_limit() {
        assert!(chars("title", &"案".repeat(MAX_NAME), MAX_NAME).is_ok());
        assert_eq!(field(chars("title", &"案".repeat(MAX_NAME + 1), MAX_NAME)), "title: at most 200 characters");
        assert_eq!(field(chars("title", &"a".repeat(3 << 20), MAX_NAME)), "title: at most 200 characters");
        assert_eq!(field(bytes("text", &"a".repeat(MAX_TEXT + 1), MAX_TEXT)), "text: at most 65536 bytes");
        assert!(id("case_id", "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b").is_ok());
        let long = field(id("case_id", &"x".repeat(20_000)));
        assert!(long.starts_with("case_id: not an id") && long.len() < 200, "{long}");
        assert!(id("case_id", "a b").is_err());
        assert!(id("case_id", "").is_err());
        assert!(
            ids("officer_ids", &["a".to_owned(), "b c".to_owned()]).unwrap_err().to_string().contains("officer_ids[1]")
        );
    }

    #[test]
    fn media_types_follow_rfc_6838() {
        assert_eq!(media_type(" Video/MP4 ").unwrap(), "video/mp4");
        assert_eq!(media_type("image/svg+xml").unwrap(), "image/svg+xml");
        assert_eq!(media_type("text/plain; charset=utf-8").unwrap(), "text/plain; charset=utf-8");
        for bad in
            ["video", "video/", "/mp4", "video/mp4\r\nx-evil: 1", "video/mp4\n", "vi deo/mp4", "video/mp4/x", "(x)/y"]
        {
            assert!(field(media_type(bad)).starts_with("media_type"), "{bad:?}");
        }
        assert!(media_type(&format!("video/{}", "a".repeat(300))).is_err());
    }
}
