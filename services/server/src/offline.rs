//! Offline verification of a case archive (`ExportCase`), following docs/CHAIN.md step by step
//! from the archive alone: no server, no database.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use sanxiang_domain::Sha256Digest;
use sanxiang_domain::canonical::Value;
use sanxiang_domain::chain::hash_canonical;

use crate::server::StartError;

/// What an archive contains, once checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub case_id: String,
    pub events: u64,
    pub evidence_objects: u64,
    pub head_hash: String,
}

fn text_field<'a>(v: &'a Value, key: &str) -> Result<&'a str, String> {
    v.get(key).and_then(Value::as_str).ok_or_else(|| format!("missing text field {key}"))
}

/// Checks an archive read from `reader`; `Err` names the first problem.
pub fn check(reader: impl Read) -> Result<Checked, String> {
    let mut archive = tar::Archive::new(reader);
    let mut files: HashMap<String, Vec<u8>> = HashMap::new();
    let mut objects: HashMap<String, (Sha256Digest, u64)> = HashMap::new();
    for entry in archive.entries().map_err(|e| format!("not a tar archive: {e}"))? {
        let mut entry = entry.map_err(|e| format!("unreadable archive member: {e}"))?;
        let name = entry.path().map_err(|e| e.to_string())?.to_string_lossy().into_owned();
        if let Some(sha) = name.strip_prefix("evidence/") {
            // Hash evidence while reading: it may be far larger than memory.
            let mut hasher = sha2::Sha256::default();
            let mut buf = vec![0u8; 1 << 20];
            let mut size = 0u64;
            loop {
                let n = entry.read(&mut buf).map_err(|e| e.to_string())?;
                if n == 0 {
                    break;
                }
                size += n as u64;
                sha2::Digest::update(&mut hasher, &buf[..n]);
            }
            objects.insert(sha.to_owned(), (sha2::Digest::finalize(hasher).into(), size));
        } else {
            let mut data = Vec::new();
            entry.read_to_end(&mut data).map_err(|e| e.to_string())?;
            files.insert(name, data);
        }
    }
    let read = |name: &str| -> Result<&Vec<u8>, String> { files.get(name).ok_or_else(|| format!("{name} is missing")) };
    let manifest = Value::parse(std::str::from_utf8(read("manifest.json")?).map_err(|e| e.to_string())?)
        .map_err(|e| format!("manifest.json: {e}"))?;
    if text_field(&manifest, "format")? != sanxiang_recording::export::EXPORT_FORMAT {
        return Err("unknown archive format".into());
    }
    for name in ["case.json", "events.jsonl"] {
        let want = manifest.get("files").and_then(|f| f.get(name)).and_then(Value::as_str).unwrap_or_default();
        if Sha256Digest::of(read(name)?).to_hex() != want {
            return Err(format!("{name} does not match its digest in the manifest"));
        }
    }
    let case_id = text_field(&manifest, "case_id")?.to_owned();

    // The chain.
    let mut prev = Sha256Digest::ZERO.to_hex();
    let mut count = 0u64;
    let mut first_payload = None;
    let mut linked: HashMap<String, String> = HashMap::new();
    let events = std::str::from_utf8(read("events.jsonl")?).map_err(|e| e.to_string())?;
    for (i, line) in events.lines().enumerate() {
        let seq = i as u64 + 1;
        let v = Value::parse(line).map_err(|e| format!("event {seq}: {e}"))?;
        let event = v.get("event").ok_or_else(|| format!("event {seq}: no event"))?;
        let stored = text_field(&v, "hash").map_err(|e| format!("event {seq}: {e}"))?;
        let canonical = event.to_canonical_string().map_err(|e| format!("event {seq}: {e}"))?;
        let hash = hash_canonical(canonical.as_bytes()).to_hex();
        if hash != stored {
            return Err(format!("event {seq}: hash {stored} does not match the recomputed {hash}"));
        }
        if event.get("case_seq").and_then(Value::as_int) != Some(seq as i64) {
            return Err(format!("event {seq}: out of sequence (an event is missing)"));
        }
        if text_field(event, "case_id")? != case_id {
            return Err(format!("event {seq}: belongs to another case"));
        }
        if text_field(event, "prev_hash")? != prev {
            return Err(format!("event {seq}: prev_hash does not link to event {}", seq - 1));
        }
        if let Some(Value::Array(items)) = event.get("evidence") {
            for item in items {
                linked.insert(text_field(item, "id")?.to_owned(), text_field(item, "sha256")?.to_owned());
            }
        }
        if seq == 1 {
            first_payload = event.get("payload").cloned();
        }
        prev = hash;
        count = seq;
    }
    if manifest.get("event_count").and_then(Value::as_int) != Some(count as i64)
        || text_field(&manifest, "head_hash")? != prev
    {
        return Err("the manifest's event count or head hash does not match the chain".into());
    }

    // The case against its opening event.
    let case = Value::parse(std::str::from_utf8(read("case.json")?).map_err(|e| e.to_string())?)
        .map_err(|e| format!("case.json: {e}"))?;
    let opening = first_payload.ok_or("the archive has no events")?;
    for key in ["agency_id", "kind", "title", "party", "handling_officer_ids"] {
        if case.get(key) != opening.get(key) {
            return Err(format!("case.json field {key} differs from the case_opened event"));
        }
    }

    // Evidence: every item listed, present, and hashing to its name.
    let Some(Value::Array(items)) = manifest.get("evidence") else {
        return Err("manifest has no evidence list".into());
    };
    for item in items {
        let id = text_field(item, "id")?;
        let sha = text_field(item, "sha256")?;
        let size = item.get("size").and_then(Value::as_int).unwrap_or(-1);
        let (actual, actual_size) =
            objects.get(sha).ok_or_else(|| format!("evidence {id}: object {sha} is missing"))?;
        if actual.to_hex() != sha || *actual_size as i64 != size {
            return Err(format!("evidence {id}: object does not hash to {sha} with {size} bytes"));
        }
        if linked.get(id).is_some_and(|s| s != sha) {
            return Err(format!("evidence {id}: the chain recorded another digest"));
        }
    }
    for (id, sha) in &linked {
        if !objects.contains_key(sha) {
            return Err(format!("evidence {id} referenced by the chain is not in the archive"));
        }
    }
    Ok(Checked { case_id, events: count, evidence_objects: objects.len() as u64, head_hash: prev })
}

/// `sanxiang verify-export FILE`.
pub fn run(path: &Path) -> Result<(), StartError> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let c = check(std::io::BufReader::new(file))?;
    println!(
        "ok: case {} with {} events and {} evidence objects, head {}",
        c.case_id, c.events, c.evidence_objects, c.head_hash
    );
    Ok(())
}
