//! The hash chain of a case's record (docs/CHAIN.md).
//!
//! Every event is hashed over the canonical encoding of all of its fields, including the
//! digests of the evidence it references and the hash of the event before it. The first event
//! of a case (`case_opened`) links to the all-zero digest.

use crate::id::EvidenceId;
use sha2::{Digest, Sha256};

use crate::canonical::{CanonicalError, Value, write_canonical, write_int, write_string};
use crate::digest::Sha256Digest;
use crate::time::Timestamp;

/// Domain-separation prefix of event hashes: the ASCII text followed by one zero byte.
pub const EVENT_HASH_PREFIX: &[u8] = b"sanxiang/event/v1\0";

/// The version number inside every canonical event document.
pub const RECORD_VERSION: i64 = 1;

/// An evidence item as an event commits to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceLink {
    pub evidence_id: EvidenceId,
    pub sha256: Sha256Digest,
    pub size: u64,
    pub media_type: String,
}

impl EvidenceLink {
    fn to_value(&self) -> Value {
        Value::object()
            .with("id", self.evidence_id.as_str())
            .with("media_type", self.media_type.as_str())
            .with("sha256", self.sha256.to_hex())
            .with("size", self.size)
    }

    /// Parses the form produced for the canonical document.
    pub fn from_value(v: &Value) -> Option<Self> {
        Some(Self {
            evidence_id: EvidenceId::from(v.get("id")?.as_str()?),
            media_type: v.get("media_type")?.as_str()?.to_owned(),
            sha256: v.get("sha256")?.as_str()?.parse().ok()?,
            size: u64::try_from(v.get("size")?.as_int()?).ok()?,
        })
    }
}

/// Every field of a recorded event, as the hash covers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    pub global_seq: u64,
    pub case_id: String,
    pub case_seq: u64,
    /// The kind's canonical name (`filing`, `decision`, …).
    pub kind: String,
    pub occurred_at: Timestamp,
    pub recorded_at: Timestamp,
    /// The principal that recorded the event.
    pub actor: String,
    pub request_id: String,
    pub officers: Vec<String>,
    pub evidence: Vec<EvidenceLink>,
    /// Kind-specific content; always an object.
    pub payload: Value,
    pub prev_hash: Sha256Digest,
}

impl EventRecord {
    /// The canonical document of the event.
    pub fn document(&self) -> Value {
        Value::object()
            .with("v", RECORD_VERSION)
            .with("global_seq", self.global_seq)
            .with("case_id", self.case_id.as_str())
            .with("case_seq", self.case_seq)
            .with("kind", self.kind.as_str())
            .with("occurred_at", self.occurred_at.to_rfc3339())
            .with("recorded_at", self.recorded_at.to_rfc3339())
            .with("actor", self.actor.as_str())
            .with("request_id", self.request_id.as_str())
            .with("officers", self.officers.clone())
            .with("evidence", Value::Array(self.evidence.iter().map(EvidenceLink::to_value).collect()))
            .with("payload", self.payload.clone())
            .with("prev_hash", self.prev_hash.to_hex())
    }

    /// The canonical bytes the hash covers (without the prefix).
    pub fn canonical_bytes(&self) -> Result<String, CanonicalError> {
        let mut out = String::with_capacity(TYPICAL_DOCUMENT);
        self.write_canonical(&mut out)?;
        Ok(out)
    }

    /// Appends the canonical bytes to `out`: the same text as `self.document()` encoded
    /// canonically, written directly (no intermediate document, no copies of the payload).
    pub fn write_canonical(&self, out: &mut String) -> Result<(), CanonicalError> {
        let header = Header {
            global_seq: self.global_seq,
            case_id: &self.case_id,
            case_seq: self.case_seq,
            kind: &self.kind,
            occurred_at: self.occurred_at,
            recorded_at: self.recorded_at,
            actor: &self.actor,
            request_id: &self.request_id,
            prev_hash: &self.prev_hash,
        };
        write_document(
            out,
            &header,
            |out| {
                out.push('[');
                for (n, link) in self.evidence.iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    out.push_str("{\"id\":");
                    write_string(&link.evidence_id, out);
                    out.push_str(",\"media_type\":");
                    write_string(&link.media_type, out);
                    out.push_str(",\"sha256\":\"");
                    write_hex(&link.sha256, out);
                    out.push_str("\",\"size\":");
                    write_u64(link.size, out)?;
                    out.push('}');
                }
                out.push(']');
                Ok(())
            },
            |out| {
                out.push('[');
                for (n, officer) in self.officers.iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    write_string(officer, out);
                }
                out.push(']');
                Ok(())
            },
            |out| write_canonical(&self.payload, out),
        )
    }

    /// The event's hash: SHA-256 over the prefix and the canonical bytes.
    pub fn hash(&self) -> Result<Sha256Digest, CanonicalError> {
        Ok(hash_canonical(self.canonical_bytes()?.as_bytes()))
    }
}

/// Capacity reserved for one canonical event document (a typical one is 500 to 700 bytes).
const TYPICAL_DOCUMENT: usize = 1024;

/// The scalar fields of an event document.
struct Header<'a> {
    global_seq: u64,
    case_id: &'a str,
    case_seq: u64,
    kind: &'a str,
    occurred_at: Timestamp,
    recorded_at: Timestamp,
    actor: &'a str,
    request_id: &'a str,
    prev_hash: &'a Sha256Digest,
}

/// Writes the canonical event document: members in canonical (sorted) order, the three
/// structured members written by the callbacks.
fn write_document(
    out: &mut String,
    h: &Header<'_>,
    evidence: impl Fn(&mut String) -> Result<(), CanonicalError>,
    officers: impl Fn(&mut String) -> Result<(), CanonicalError>,
    payload: impl Fn(&mut String) -> Result<(), CanonicalError>,
) -> Result<(), CanonicalError> {
    out.push_str("{\"actor\":");
    write_string(h.actor, out);
    out.push_str(",\"case_id\":");
    write_string(h.case_id, out);
    out.push_str(",\"case_seq\":");
    write_u64(h.case_seq, out)?;
    out.push_str(",\"evidence\":");
    evidence(out)?;
    out.push_str(",\"global_seq\":");
    write_u64(h.global_seq, out)?;
    out.push_str(",\"kind\":");
    write_string(h.kind, out);
    out.push_str(",\"occurred_at\":\"");
    h.occurred_at.write_rfc3339(out);
    out.push_str("\",\"officers\":");
    officers(out)?;
    out.push_str(",\"payload\":");
    payload(out)?;
    out.push_str(",\"prev_hash\":\"");
    write_hex(h.prev_hash, out);
    out.push_str("\",\"recorded_at\":\"");
    h.recorded_at.write_rfc3339(out);
    out.push_str("\",\"request_id\":");
    write_string(h.request_id, out);
    out.push_str(",\"v\":");
    write_int(RECORD_VERSION, out)?;
    out.push('}');
    Ok(())
}

/// A `u64` as the document holds it: as [`Value::from`] converts it (saturating), then checked.
fn write_u64(n: u64, out: &mut String) -> Result<(), CanonicalError> {
    write_int(i64::try_from(n).unwrap_or(i64::MAX), out)
}

fn write_hex(d: &Sha256Digest, out: &mut String) {
    let mut buf = [0u8; 64];
    if hex::encode_to_slice(d.as_bytes(), &mut buf).is_ok() {
        out.push_str(std::str::from_utf8(&buf).unwrap_or_default());
    }
}

/// An event as stored, borrowing its columns, with its officers, evidence and payload already in
/// canonical form (checked by the caller, e.g. with [`crate::canonical::check_canonical`]): its
/// document is then the columns spliced into the header, so verification hashes stored events
/// without parsing or re-encoding them.
#[derive(Debug, Clone, Copy)]
pub struct StoredEvent<'a> {
    pub global_seq: u64,
    pub case_id: &'a str,
    pub case_seq: u64,
    pub kind: &'a str,
    pub occurred_at: Timestamp,
    pub recorded_at: Timestamp,
    pub actor: &'a str,
    pub request_id: &'a str,
    /// Canonical JSON array of officer ids.
    pub officers: &'a str,
    /// Canonical JSON array of evidence links, as [`EventRecord::write_canonical`] writes them.
    pub evidence: &'a str,
    /// Canonical JSON of the payload.
    pub payload: &'a str,
    pub prev_hash: Sha256Digest,
}

impl StoredEvent<'_> {
    /// The event's hash, using `buf` as scratch space (cleared first).
    pub fn hash(&self, buf: &mut String) -> Result<Sha256Digest, CanonicalError> {
        buf.clear();
        let header = Header {
            global_seq: self.global_seq,
            case_id: self.case_id,
            case_seq: self.case_seq,
            kind: self.kind,
            occurred_at: self.occurred_at,
            recorded_at: self.recorded_at,
            actor: self.actor,
            request_id: self.request_id,
            prev_hash: &self.prev_hash,
        };
        let (evidence, officers, payload) = (self.evidence, self.officers, self.payload);
        write_document(
            buf,
            &header,
            |out| {
                out.push_str(evidence);
                Ok(())
            },
            |out| {
                out.push_str(officers);
                Ok(())
            },
            |out| {
                out.push_str(payload);
                Ok(())
            },
        )?;
        Ok(hash_canonical(buf.as_bytes()))
    }
}

/// SHA-256 over [`EVENT_HASH_PREFIX`] and canonical event bytes.
pub fn hash_canonical(canonical: &[u8]) -> Sha256Digest {
    let mut h = Sha256::new();
    h.update(EVENT_HASH_PREFIX);
    h.update(canonical);
    h.finalize().into()
}

/// A failed check, located at an event of the case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainProblem {
    /// The case sequence number of the event at fault.
    pub case_seq: u64,
    pub message: String,
}

/// What the link checks need of one event: its position, its stored and recomputed hashes.
#[derive(Debug, Clone)]
pub struct LinkFacts<'a> {
    pub case_seq: u64,
    pub case_id: &'a str,
    pub global_seq: u64,
    pub prev_hash: Sha256Digest,
    /// The hash stored with the event.
    pub stored: Sha256Digest,
    /// The hash recomputed from the event's fields.
    pub recomputed: Result<Sha256Digest, CanonicalError>,
}

/// Checks the links of a case's chain: positions 1, 2, … without gaps, each event's stored hash
/// equal to the recomputed one, each `prev_hash` equal to the stored hash before it. `events`
/// are in stored order with their stored hashes. Returns every problem found, first first.
pub fn verify_links(case_id: &str, events: &[(EventRecord, Sha256Digest)]) -> Vec<ChainProblem> {
    let facts: Vec<LinkFacts<'_>> = events
        .iter()
        .map(|(event, stored)| LinkFacts {
            case_seq: event.case_seq,
            case_id: &event.case_id,
            global_seq: event.global_seq,
            prev_hash: event.prev_hash,
            stored: *stored,
            recomputed: event.hash(),
        })
        .collect();
    check_links(case_id, &facts)
}

/// [`verify_links`] over hashes recomputed beforehand (in parallel, say): the sequential part.
pub fn check_links(case_id: &str, events: &[LinkFacts<'_>]) -> Vec<ChainProblem> {
    let mut problems = Vec::new();
    let mut prev = Sha256Digest::ZERO;
    let mut prev_global = 0u64;
    for (i, event) in events.iter().enumerate() {
        let expected_seq = i as u64 + 1;
        let at = event.case_seq;
        let mut problem = |message: String| problems.push(ChainProblem { case_seq: at, message });
        if event.case_seq != expected_seq {
            problem(format!("expected event {expected_seq} here, found event {}: an event is missing", event.case_seq));
        }
        if event.case_id != case_id {
            problem(format!("event belongs to case {}", event.case_id));
        }
        if event.global_seq <= prev_global {
            problem(format!("global sequence {} does not increase after {prev_global}", event.global_seq));
        }
        if event.prev_hash != prev {
            problem(format!("prev_hash {} does not match the previous event's hash {prev}", event.prev_hash));
        }
        let stored = event.stored;
        match &event.recomputed {
            Ok(h) if *h == stored => {}
            Ok(h) => {
                problem(format!("stored hash {stored} differs from the recomputed hash {h}: the event was altered"))
            }
            Err(e) => problem(format!("event cannot be encoded canonically: {e}")),
        }
        prev = stored;
        prev_global = event.global_seq;
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: u64, prev: Sha256Digest) -> EventRecord {
        EventRecord {
            global_seq: 100 + seq,
            case_id: "c1".into(),
            case_seq: seq,
            kind: "note".into(),
            occurred_at: Timestamp::from_micros(1_000_000 * seq as i64),
            recorded_at: Timestamp::from_micros(2_000_000 * seq as i64),
            actor: "p1".into(),
            request_id: format!("r{seq}"),
            officers: vec!["o1".into(), "o2".into()],
            evidence: vec![EvidenceLink {
                evidence_id: "e1".into(),
                sha256: Sha256Digest::of(b"x"),
                size: 1,
                media_type: "video/mp4".into(),
            }],
            payload: Value::object().with("text", "现场检查"),
            prev_hash: prev,
        }
    }

    fn chain(n: u64) -> Vec<(EventRecord, Sha256Digest)> {
        let mut out = Vec::new();
        let mut prev = Sha256Digest::ZERO;
        for seq in 1..=n {
            let e = event(seq, prev);
            prev = e.hash().unwrap();
            out.push((e, prev));
        }
        out
    }

    #[test]
    fn test_vector() {
        // Pinned so that any change to the encoding is noticed; docs/CHAIN.md shows the same vector.
        let e = event(1, Sha256Digest::ZERO);
        assert_eq!(
            e.canonical_bytes().unwrap(),
            concat!(
                r#"{"actor":"p1","case_id":"c1","case_seq":1,"evidence":[{"id":"e1","media_type":"video/mp4","#,
                r#""sha256":"2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881","size":1}],"#,
                r#""global_seq":101,"kind":"note","occurred_at":"1970-01-01T00:00:01.000000Z","officers":["o1","o2"],"#,
                r#""payload":{"text":"现场检查"},"prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","#,
                r#""recorded_at":"1970-01-01T00:00:02.000000Z","request_id":"r1","v":1}"#
            )
        );
        assert_eq!(e.hash().unwrap().to_hex(), "69e18809bcc1b7c730897a23d081f13add5e754e9ab2485088825319ff6678b9");
    }

    #[test]
    fn direct_encoding_equals_the_document_and_stored_columns_hash_the_same() {
        let mut e = event(7, Sha256Digest::of(b"p"));
        e.payload = Value::object().with("\u{1F600}", 1i64).with("\u{FFFD}", "a\u{1}\"").with("n", Value::Null);
        e.officers.push("o\"3".into());
        let direct = e.canonical_bytes().unwrap();
        assert_eq!(direct, e.document().to_canonical_string().unwrap());
        let officers = Value::from(e.officers.clone()).to_canonical_string().unwrap();
        let evidence =
            Value::Array(e.evidence.iter().map(EvidenceLink::to_value).collect()).to_canonical_string().unwrap();
        let payload = e.payload.to_canonical_string().unwrap();
        let stored = StoredEvent {
            global_seq: e.global_seq,
            case_id: &e.case_id,
            case_seq: e.case_seq,
            kind: &e.kind,
            occurred_at: e.occurred_at,
            recorded_at: e.recorded_at,
            actor: &e.actor,
            request_id: &e.request_id,
            officers: &officers,
            evidence: &evidence,
            payload: &payload,
            prev_hash: e.prev_hash,
        };
        let mut buf = String::new();
        assert_eq!(stored.hash(&mut buf).unwrap(), e.hash().unwrap());
        assert_eq!(buf, direct);
        e.global_seq = (1 << 53) + 1;
        assert!(e.canonical_bytes().is_err());
    }

    #[test]
    fn intact_chain_verifies() {
        assert!(verify_links("c1", &chain(5)).is_empty());
    }

    #[test]
    fn any_changed_field_is_detected_at_its_event() {
        let mut c = chain(5);
        c[2].0.payload = Value::object().with("text", "现场检查!");
        let p = verify_links("c1", &c);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].case_seq, 3);
        let mut c = chain(5);
        c[3].0.evidence[0].sha256 = Sha256Digest::of(b"y");
        assert_eq!(verify_links("c1", &c)[0].case_seq, 4);
    }

    #[test]
    fn removed_event_is_detected() {
        let mut c = chain(5);
        c.remove(2);
        let p = verify_links("c1", &c);
        assert_eq!(p[0].case_seq, 4);
        assert!(p[0].message.contains("missing"));
    }
}
