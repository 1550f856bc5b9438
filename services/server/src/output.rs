//! How the client prints what the server answered: readable lines for people (local times, kinds
//! as `--kind` takes them: `seizure`, not `EVENT_KIND_SEIZURE`), or the message as JSON for
//! scripts (`--output json`: proto3 JSON with the proto field names, every field present).
//!
//! Both go through the API's descriptors (`sanxiang_proto::FILE_DESCRIPTOR_SET`), so a field
//! added to the API is printed without touching the client.

use std::fmt::Write as _;
use std::sync::OnceLock;

use prost_reflect::{DescriptorPool, DynamicMessage, Kind, MessageDescriptor, ReflectMessage as _, Value};
use sanxiang_proto::v1 as pb;

/// What the client prints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Readable lines.
    #[default]
    Human,
    /// One JSON document (a list for listings), for scripts.
    Json,
}

static FORMAT: OnceLock<OutputFormat> = OnceLock::new();

/// Sets the format for this process (once, from the command line).
pub fn set_format(format: OutputFormat) {
    let _ = FORMAT.set(format);
}

/// The format in effect.
pub fn format() -> OutputFormat {
    FORMAT.get().copied().unwrap_or_default()
}

fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| DescriptorPool::decode(sanxiang_proto::FILE_DESCRIPTOR_SET).expect("the API's own descriptors"))
}

/// An API message the client prints.
pub trait Shown {
    /// The message as a reflectable value.
    fn dynamic(&self) -> DynamicMessage;
}

fn transcode<T: prost::Message>(name: &str, value: &T) -> DynamicMessage {
    let desc: MessageDescriptor =
        pool().get_message_by_name(name).unwrap_or_else(|| panic!("{name} is in the API's descriptors"));
    DynamicMessage::decode(desc, value.encode_to_vec().as_slice()).expect("a message decodes as its own type")
}

macro_rules! shown {
    ($($t:ident),* $(,)?) => {
        $(impl Shown for pb::$t {
            fn dynamic(&self) -> DynamicMessage {
                transcode(concat!("sanxiang.v1.", stringify!($t)), self)
            }
        })*
    };
}

shown!(
    Agency,
    Officer,
    Certificate,
    Principal,
    Case,
    Event,
    UploadEvidenceResponse,
    GetUploadResponse,
    Catalog,
    PutCalendarYearResponse,
    Draft,
    DecideReviewResponse,
    Disclosure,
    PublicityPolicy,
    Notice,
    GetAnnualReportResponse,
    ListOverdueResponse,
    DestroyEvidenceResponse,
    Filing,
    FilingPolicy,
    GetFilingReportResponse,
    IssueDecisionResponse,
    ListNoticesResponse,
    VerifyCaseResponse,
    Complaint,
    ListReporterAccessResponse,
    GetComplaintStatisticsResponse,
);

fn json(m: &DynamicMessage) -> serde_json::Value {
    let options = prost_reflect::SerializeOptions::new().use_proto_field_name(true).skip_default_fields(false);
    m.serialize_with_options(serde_json::value::Serializer, &options).expect("a message serialises as JSON")
}

/// The identity of a setting that has no id of its own (an agency's catalog or publicity
/// policy), as `-q` prints it: the lowercase hex SHA-256 of the setting as stored (the catalog's
/// `catalog_json`; the policy as JSON), the same for `put` and `get` while it is unchanged.
pub fn setting_digest(stored: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(stored.as_bytes()).iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The identity `-q` prints for a publicity policy (see [`setting_digest`]).
pub fn policy_digest(policy: &pb::PublicityPolicy) -> String {
    setting_digest(&json(&policy.dynamic()).to_string())
}

/// Prints one message: its identity alone with `-q` (see `QUIET` in the client's help), else
/// readable lines or JSON.
pub fn show<T: Shown>(quiet: bool, id: &str, value: &T) {
    let m = value.dynamic();
    match (format(), quiet) {
        (OutputFormat::Json, _) => println!("{}", json(&m)),
        (OutputFormat::Human, true) => println!("{id}"),
        (OutputFormat::Human, false) => print!("{}", human(&m)),
    }
}

/// Prints a listing: with `-q` (in human output) the identity of each item, one per line;
/// else as [`show_list`].
pub fn show_ids<T: Shown>(quiet: bool, items: &[T], id: impl Fn(&T) -> String) {
    if quiet && format() == OutputFormat::Human {
        for item in items {
            println!("{}", id(item));
        }
    } else {
        show_list(items);
    }
}

/// Prints a listing: a JSON array, or the items one after another separated by blank lines.
pub fn show_list<T: Shown>(items: &[T]) {
    match format() {
        OutputFormat::Json => {
            println!("{}", serde_json::Value::Array(items.iter().map(|i| json(&i.dynamic())).collect()))
        }
        OutputFormat::Human => {
            let text: Vec<String> = items.iter().map(|i| human(&i.dynamic())).collect();
            print!("{}", text.join("\n"));
        }
    }
}

/// Readable lines: `field: value`, nested messages indented, empty fields left out.
pub fn human(m: &DynamicMessage) -> String {
    let mut out = String::new();
    fields(m, 0, &mut out);
    out
}

fn fields(m: &DynamicMessage, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    for (field, value) in m.fields() {
        let name = field.name().replace('_', " ");
        match value {
            Value::Message(inner) if !is_timestamp(inner) => {
                let _ = writeln!(out, "{pad}{name}:");
                fields(inner, depth + 1, out);
            }
            Value::List(items) if items.is_empty() => {}
            Value::List(items) => {
                if items.iter().all(|i| matches!(i, Value::Message(m) if !is_timestamp(m))) {
                    let _ = writeln!(out, "{pad}{name}:");
                    for item in items {
                        if let Value::Message(inner) = item {
                            let mut text = String::new();
                            fields(inner, depth + 2, &mut text);
                            let text = text.replacen(&format!("{pad}    "), &format!("{pad}  - "), 1);
                            out.push_str(&text);
                        }
                    }
                } else {
                    let list: Vec<String> = items.iter().map(|v| scalar(&field.kind(), v)).collect();
                    let _ = writeln!(out, "{pad}{name}: {}", list.join(", "));
                }
            }
            Value::Map(_) => {}
            v => {
                let _ = writeln!(out, "{pad}{name}: {}", scalar(&field.kind(), v));
            }
        }
    }
}

fn is_timestamp(m: &DynamicMessage) -> bool {
    m.descriptor().full_name() == "google.protobuf.Timestamp"
}

/// A timestamp in the local time zone of the machine the client runs on.
pub fn local_time(seconds: i64, nanos: i32) -> String {
    use chrono::TimeZone as _;
    match chrono::Local.timestamp_opt(seconds, nanos.clamp(0, 999_999_999) as u32) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => {
            t.format("%Y-%m-%d %H:%M:%S %:z").to_string()
        }
        chrono::LocalResult::None => format!("{seconds} s after 1970 (UTC)"),
    }
}

/// An enum value's name as the command line takes it: `EVENT_KIND_SEIZURE` is `seizure`.
pub fn enum_word(kind: &Kind, number: i32) -> String {
    let Kind::Enum(e) = kind else { return number.to_string() };
    let Some(v) = e.get_value(number) else { return number.to_string() };
    let prefix: String = e
        .name()
        .chars()
        .enumerate()
        .flat_map(|(i, c)| {
            let sep = (i > 0 && c.is_ascii_uppercase()).then_some('_');
            sep.into_iter().chain(std::iter::once(c.to_ascii_uppercase()))
        })
        .collect::<String>()
        + "_";
    v.name().strip_prefix(&prefix).unwrap_or(v.name()).to_ascii_lowercase()
}

fn scalar(kind: &Kind, v: &Value) -> String {
    match v {
        Value::Bool(b) => if *b { "yes" } else { "no" }.to_owned(),
        Value::I32(n) => n.to_string(),
        Value::I64(n) => n.to_string(),
        Value::U32(n) => n.to_string(),
        Value::U64(n) => n.to_string(),
        Value::F32(n) => n.to_string(),
        Value::F64(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Bytes(b) => format!("<{} bytes>", b.len()),
        Value::EnumNumber(n) => enum_word(kind, *n),
        Value::Message(m) if is_timestamp(m) => {
            let get = |n: &str| m.get_field_by_name(n).map(|v| v.into_owned());
            let seconds = get("seconds").and_then(|v| v.as_i64()).unwrap_or(0);
            let nanos = get("nanos").and_then(|v| v.as_i32()).unwrap_or(0);
            local_time(seconds, nanos)
        }
        Value::Message(m) => human(m).trim().replace('\n', "; "),
        Value::List(items) => items.iter().map(|i| scalar(kind, i)).collect::<Vec<_>>().join(", "),
        Value::Map(_) => String::new(),
    }
}

/// The word `--kind` takes for an event kind number (`seizure`).
pub fn event_kind_word(kind: i32) -> String {
    match pool().get_enum_by_name("sanxiang.v1.EventKind") {
        Some(e) => enum_word(&Kind::Enum(e), kind),
        None => kind.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_printed_as_typed_and_times_locally() {
        let e = pb::Event {
            case_id: "c1".into(),
            case_seq: 4,
            kind: pb::EventKind::Seizure as i32,
            occurred_at: Some(prost_types::Timestamp { seconds: 1_764_460_800, nanos: 0 }),
            officer_ids: vec!["o1".into(), "o2".into()],
            ..Default::default()
        };
        let text = human(&e.dynamic());
        assert!(text.contains("kind: seizure\n"), "{text}");
        assert!(text.contains("case seq: 4\n"), "{text}");
        assert!(text.contains("officer ids: o1, o2\n"), "{text}");
        assert!(text.contains(&format!("occurred at: {}\n", local_time(1_764_460_800, 0))), "{text}");
        assert!(!text.contains("Timestamp"), "{text}");
        assert_eq!(event_kind_word(pb::EventKind::NoticeOfProposedDecision as i32), "notice_of_proposed_decision");
    }

    #[test]
    fn json_has_every_field_under_its_proto_name() {
        let a = pb::Agency { id: "a1".into(), name: "局".into(), ..Default::default() };
        let v = json(&a.dynamic());
        assert_eq!(v["id"], "a1");
        assert_eq!(v["name"], "局");
        assert!(v.get("credit_code").is_some(), "{v}");
    }
}
