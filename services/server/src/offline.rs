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
    /// The size of the archive's checkpoint, if it carries one.
    pub checkpoint_size: Option<u64>,
    /// Events whose inclusion proof verified against the checkpoint.
    pub events_proved: u64,
    /// The checkpoint and the export statement verified with the trusted log key (and the
    /// quorum of trusted witnesses).
    pub authenticated: bool,
}

/// What the verifier trusts, obtained independently of the archive.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    /// The log's verifier key.
    pub vkey: Option<String>,
    /// Witnesses' verifier keys.
    pub witnesses: Vec<String>,
    /// Cosignatures required (default: every witness given).
    pub quorum: Option<usize>,
}

/// The members of an event document (docs/CHAIN.md §2).
const EVENT_MEMBERS: [&str; 13] = [
    "v",
    "global_seq",
    "case_id",
    "case_seq",
    "kind",
    "occurred_at",
    "recorded_at",
    "actor",
    "request_id",
    "officers",
    "evidence",
    "payload",
    "prev_hash",
];

/// Whether `v` is an object with exactly the members `names`.
fn members_are(v: &Value, names: &[&str]) -> bool {
    match v {
        Value::Object(map) => map.len() == names.len() && names.iter().all(|n| map.contains_key(*n)),
        _ => false,
    }
}

fn text_field<'a>(v: &'a Value, key: &str) -> Result<&'a str, String> {
    v.get(key).and_then(Value::as_str).ok_or_else(|| format!("missing text field {key}"))
}

/// Checks an archive read from `reader` with nothing trusted beyond the archive.
pub fn check(reader: impl Read) -> Result<Checked, String> {
    check_with(reader, &Trust::default())
}

/// Checks an archive read from `reader` against `trust`; `Err` names the first problem.
pub fn check_with(reader: impl Read, trust: &Trust) -> Result<Checked, String> {
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
    let Some(Value::Object(listed)) = manifest.get("files") else {
        return Err("manifest has no files".into());
    };
    for name in ["case.json", "events.jsonl"] {
        if !listed.contains_key(name) {
            return Err(format!("the manifest does not list {name}"));
        }
    }
    for (name, want) in listed {
        if Some(Sha256Digest::of(read(name)?).to_hex().as_str()) != want.as_str() {
            return Err(format!("{name} does not match its digest in the manifest"));
        }
    }
    let case_id = text_field(&manifest, "case_id")?.to_owned();

    // The chain.
    let mut prev = Sha256Digest::ZERO.to_hex();
    let mut count = 0u64;
    let mut first_payload = None;
    let mut opened_at = None;
    let mut linked: HashMap<String, String> = HashMap::new();
    // Items the chain records as destroyed (RULES K5): id → (digest, case_seq of the record).
    let mut tombstones: HashMap<String, (String, u64)> = HashMap::new();
    let mut leaves: Vec<(u64, Sha256Digest)> = Vec::new();
    let events = std::str::from_utf8(read("events.jsonl")?).map_err(|e| e.to_string())?;
    let mut last_global = 0i64;
    for (i, line) in events.lines().enumerate() {
        let seq = i as u64 + 1;
        let v = Value::parse(line).map_err(|e| format!("event {seq}: {e}"))?;
        if !members_are(&v, &["event", "hash"]) {
            return Err(format!("event {seq}: the line's members are not exactly event and hash"));
        }
        let event = v.get("event").ok_or_else(|| format!("event {seq}: no event"))?;
        if !members_are(event, &EVENT_MEMBERS) {
            return Err(format!("event {seq}: the document's members are not those of docs/CHAIN.md §2"));
        }
        let global = event.get("global_seq").and_then(Value::as_int).unwrap_or(0);
        if global <= last_global {
            return Err(format!("event {seq}: global_seq does not increase along the chain"));
        }
        last_global = global;
        if seq == 1 && event.get("kind").and_then(Value::as_str) != Some("case_opened") {
            return Err("event 1: the chain does not start with case_opened".into());
        }
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
        if event.get("kind").and_then(Value::as_str) == Some("evidence_destroyed") {
            let Some(Value::Array(items)) = event.get("payload").and_then(|p| p.get("items")) else {
                return Err(format!("event {seq}: a destruction without items"));
            };
            for item in items {
                tombstones
                    .insert(text_field(item, "evidence_id")?.to_owned(), (text_field(item, "sha256")?.to_owned(), seq));
            }
        }
        if seq == 1 {
            first_payload = event.get("payload").cloned();
            opened_at = event.get("occurred_at").cloned();
        }
        let global = event.get("global_seq").and_then(Value::as_int).filter(|g| *g >= 1);
        leaves.push((
            global.ok_or_else(|| format!("event {seq}: no global_seq"))? as u64,
            hash_canonical(canonical.as_bytes()),
        ));
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
    if case.get("opened_at") != opened_at.as_ref() {
        return Err("case.json field opened_at differs from the case_opened event's occurred_at".into());
    }

    // Evidence: every item listed, present, and hashing to its name.
    let Some(Value::Array(items)) = manifest.get("evidence") else {
        return Err("manifest has no evidence list".into());
    };
    for item in items {
        let id = text_field(item, "id")?;
        let sha = text_field(item, "sha256")?;
        let size = item.get("size").and_then(Value::as_int).unwrap_or(-1);
        // Destroyed: no bytes; the chain's record of the destruction must name this digest.
        if let Some(seq) = item.get("destroyed") {
            let recorded = tombstones.get(id).map(|(s, n)| (s.as_str(), *n as i64));
            if recorded != Some((sha, seq.as_int().unwrap_or(-1))) || item.get("path").is_some() {
                return Err(format!("evidence {id}: listed as destroyed, but the chain records no such destruction"));
            }
            continue;
        }
        if item.get("path").and_then(Value::as_str) != Some(format!("evidence/{sha}").as_str()) {
            return Err(format!("evidence {id}: path is not evidence/{sha}"));
        }
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
        if !objects.contains_key(sha) && tombstones.get(id).is_none_or(|(s, _)| s != sha) {
            return Err(format!("evidence {id} referenced by the chain is not in the archive"));
        }
    }
    let manifest_bytes = read("manifest.json")?;
    let log = check_log(&manifest, manifest_bytes, &files, &leaves, trust)?;
    Ok(Checked {
        case_id,
        events: count,
        evidence_objects: objects.len() as u64,
        head_hash: prev,
        checkpoint_size: log.as_ref().map(|l| l.0),
        events_proved: log.as_ref().map_or(0, |l| l.1),
        authenticated: trust.vkey.is_some(),
    })
}

/// The log's members (docs/CHAIN.md §6.1): the checkpoint (signed by the trusted key, with the
/// quorum of trusted witnesses), every event it includes proved by its inclusion proof, and the
/// signed export statement over the manifest. Returns the checkpoint's size and the events
/// proved; `None` when the archive has no log members and no key is trusted.
fn check_log(
    manifest: &Value,
    manifest_bytes: &[u8],
    files: &HashMap<String, Vec<u8>>,
    leaves: &[(u64, Sha256Digest)],
    trust: &Trust,
) -> Result<Option<(u64, u64)>, String> {
    use sanxiang_recording::export::{CHECKPOINT_MEMBER, PROOFS_MEMBER, STATEMENT_MEMBER};
    let Some(note) = files.get(CHECKPOINT_MEMBER) else {
        if trust.vkey.is_some() {
            return Err(format!("the archive has no {CHECKPOINT_MEMBER}: it cannot be checked against the log"));
        }
        return Ok(None);
    };
    let listed = |name: &str| manifest.get("files").and_then(|f| f.get(name)).is_some();
    if !listed(CHECKPOINT_MEMBER) || !listed(PROOFS_MEMBER) {
        return Err("the manifest does not list the log's members".into());
    }
    let body = sanxiang_log::checkpoint_body_of(std::str::from_utf8(note).map_err(|e| e.to_string())?);
    let cp = match &trust.vkey {
        Some(vkey) => {
            sanxiang_log::audit::verify_checkpoint(note, vkey).map_err(|e| format!("{CHECKPOINT_MEMBER}: {e}"))?
        }
        None => sanxiang_log::tlog_tiles::Checkpoint::from_bytes(body.as_bytes())
            .map_err(|e| format!("{CHECKPOINT_MEMBER}: {e}"))?,
    };
    if !trust.witnesses.is_empty() {
        let text = std::str::from_utf8(note).map_err(|e| e.to_string())?;
        let mut cosigned = 0;
        for w in &trust.witnesses {
            let verifier =
                sanxiang_log::keys::CosignatureVerifier::new(w).map_err(|e| format!("--witness {w}: {e}"))?;
            if sanxiang_log::witness::find_cosignature(text, &verifier, body.as_bytes()).is_some() {
                cosigned += 1;
            }
        }
        let quorum = trust.quorum.unwrap_or(trust.witnesses.len());
        if cosigned < quorum {
            return Err(format!(
                "the checkpoint has {cosigned} valid cosignatures of the trusted witnesses, {quorum} required"
            ));
        }
    }
    let size = cp.size();
    let log = manifest.get("log");
    if log.and_then(|l| l.get("checkpoint_size")).and_then(Value::as_int) != Some(size as i64) {
        return Err("the manifest's log.checkpoint_size is not the checkpoint's size".into());
    }
    let proofs = std::str::from_utf8(files.get(PROOFS_MEMBER).ok_or(format!("{PROOFS_MEMBER} is missing"))?)
        .map_err(|e| e.to_string())?;
    let mut by_seq: HashMap<u64, Vec<Vec<u8>>> = HashMap::new();
    for (i, line) in proofs.lines().enumerate() {
        let v = Value::parse(line).map_err(|e| format!("{PROOFS_MEMBER} line {}: {e}", i + 1))?;
        let global = v.get("global_seq").and_then(Value::as_int).unwrap_or(0) as u64;
        if v.get("tree_size").and_then(Value::as_int) != Some(size as i64) {
            return Err(format!("{PROOFS_MEMBER} line {}: not a proof in the checkpoint's tree", i + 1));
        }
        let Some(Value::Array(hashes)) = v.get("hashes") else {
            return Err(format!("{PROOFS_MEMBER} line {}: no hashes", i + 1));
        };
        let hashes = hashes
            .iter()
            .map(|h| h.as_str().and_then(|h| h.parse::<Sha256Digest>().ok()).map(|d| d.as_bytes().to_vec()))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| format!("{PROOFS_MEMBER} line {}: a hash is not 64 hex digits", i + 1))?;
        by_seq.insert(global, hashes);
    }
    let mut proved = 0;
    for (k, (global, hash)) in leaves.iter().enumerate() {
        if *global > size {
            continue; // logged after the checkpoint
        }
        let proof = by_seq.get(global).ok_or_else(|| format!("event {}: no inclusion proof", k + 1))?;
        let leaf = sanxiang_log::merkle::leaf_hash(hash.as_bytes());
        sanxiang_log::merkle::verify_inclusion(global - 1, size, &leaf.0, &cp.hash().0, proof).map_err(|e| {
            format!("event {}: not in the log's checkpoint of size {size} at leaf {}: {e}", k + 1, global - 1)
        })?;
        proved += 1;
    }
    if let Some(vkey) = &trust.vkey {
        let statement = files
            .get(STATEMENT_MEMBER)
            .ok_or_else(|| format!("the archive has no {STATEMENT_MEMBER} signed by the log"))?;
        let verifier = sanxiang_log::signed_note::StandardVerifier::new(vkey).map_err(|e| format!("--vkey: {e}"))?;
        let note =
            sanxiang_log::signed_note::Note::from_bytes(statement).map_err(|e| format!("{STATEMENT_MEMBER}: {e}"))?;
        note.verify(&sanxiang_log::signed_note::VerifierList::new(vec![Box::new(verifier)]))
            .map_err(|e| format!("{STATEMENT_MEMBER} does not verify with the log's key: {e}"))?;
        let want = format!(
            "{}\n{}\n{}\n",
            sanxiang_log::EXPORT_STATEMENT,
            cp.origin(),
            Sha256Digest::of(manifest_bytes).to_hex()
        );
        if note.text() != want.as_bytes() {
            return Err(format!(
                "{STATEMENT_MEMBER} is not the log's statement of this manifest: the manifest (or a member it lists) was changed after the export"
            ));
        }
    }
    Ok(Some((size, proved)))
}

/// `sanxiang verify-export FILE [--vkey VKEY [--witness VKEY]… [--quorum N]]`.
pub fn run(path: &Path, trust: &Trust) -> Result<(), StartError> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let c = check_with(std::io::BufReader::new(file), trust)?;
    let log = match c.checkpoint_size {
        Some(size) if c.authenticated => {
            format!("; {} events proved in the log's signed checkpoint of size {size}", c.events_proved)
        }
        Some(size) => format!(
            "; {} events proved in the archive's checkpoint of size {size}, NOT authenticated (give --vkey)",
            c.events_proved
        ),
        None => "; no log checkpoint in the archive".to_owned(),
    };
    println!(
        "ok: case {} with {} events and {} evidence objects, head {}{log}",
        c.case_id, c.events, c.evidence_objects, c.head_hash
    );
    Ok(())
}
