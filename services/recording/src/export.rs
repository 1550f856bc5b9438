//! `ExportCase`: a self-contained tar archive of a case, checkable offline (docs/CHAIN.md).
//!
//! A case is exported only when [`Recorder::verify_case`] finds nothing: a case whose stored
//! rows disagree with its chain or the log is refused (`FAILED_PRECONDITION export.verified`,
//! or `DATA_LOSS` naming an unreadable event).
//!
//! Members, in this order:
//! - `manifest.json`: format, case id, event count, head hash, SHA-256 of the other members
//!   but evidence, every evidence item with its digest, size and path (an item whose bytes were
//!   destroyed: `destroyed`, the case_seq of the event recording it, and no path), and the log's checkpoint
//!   size;
//! - `manifest.sig`: the log's signed statement over the manifest's SHA-256 (with a log);
//! - `case.json`: the case as stored;
//! - `events.jsonl`: one line per event, `{"event":<canonical document>,"hash":"<hex>"}`;
//! - `log/checkpoint`, `log/proofs.jsonl`: the public checkpoint and each event's inclusion
//!   proof in it (with a log);
//! - `evidence/<sha256>`: the bytes of each distinct evidence object.

use std::collections::{BTreeMap, HashMap};

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use sanxiang_domain::canonical::Value;
use sanxiang_domain::id::EvidenceId;
use sanxiang_domain::{Error, Result, Sha256Digest, Timestamp};
use sanxiang_store::entity::case;
use tokio::sync::mpsc;

use crate::record::Recorder;
use crate::verify::record_of;

/// The `format` value of the manifest.
pub const EXPORT_FORMAT: &str = "sanxiang-case-export/1";

/// Size of the messages the archive is streamed in.
const CHUNK: usize = 256 * 1024;

fn tar_header(path: &str, size: u64, mtime: u64) -> Result<[u8; 512]> {
    let mut h = tar::Header::new_ustar();
    h.set_path(path).map_err(|e| Error::Internal(format!("tar path: {e}")))?;
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(mtime);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    let mut out = [0u8; 512];
    out.copy_from_slice(h.as_bytes());
    Ok(out)
}

fn padding(size: u64) -> usize {
    ((512 - size % 512) % 512) as usize
}

/// Streams bytes to the client in messages of about [`CHUNK`] bytes.
struct Sink {
    tx: mpsc::Sender<Result<Bytes>>,
    buffer: BytesMut,
}

impl Sink {
    async fn write(&mut self, data: &[u8]) -> bool {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= CHUNK {
            return self.tx.send(Ok(self.buffer.split().freeze())).await.is_ok();
        }
        true
    }

    async fn flush(&mut self) -> bool {
        self.buffer.is_empty() || self.tx.send(Ok(self.buffer.split().freeze())).await.is_ok()
    }
}

impl Recorder {
    /// Starts streaming the archive of `case`; the receiver yields the archive's bytes.
    pub async fn export(&self, case: &case::Model) -> Result<mpsc::Receiver<Result<Bytes>>> {
        // Only a case whose stored rows agree with its chain and the log is exported.
        let report = self.verify_case(case, false).await?;
        if let Some(p) = report.problems.iter().find(|p| p.data_loss) {
            return Err(Error::DataLoss(if p.table == "cases" {
                format!("case {}: {}", case.id, p.message)
            } else {
                format!("event {} of case {}: {}", p.case_seq, case.id, p.message)
            }));
        }
        if let Some(p) = report.problems.first() {
            return Err(Error::precondition(
                "export.verified",
                format!(
                    "the case's stored record disagrees with its chain ({} row {} {}: {}); VerifyCase lists every problem",
                    p.table,
                    p.row,
                    if p.column.is_empty() { "(the row)" } else { p.column.as_str() },
                    p.message
                ),
            ));
        }
        let rows = self.all_events(&case.id).await?;
        let items = self.case_evidence(&case.id).await?;
        if rows.len() as u64 != report.events_checked
            || rows.last().map(|r| r.hash.as_str()) != Some(report.head_hash.as_str())
        {
            return Err(Error::precondition(
                "concurrent-change",
                "the case changed while it was being exported; try again",
            ));
        }
        let proved = self.log_members(&rows).await?;
        let mut events = String::new();
        for row in &rows {
            let record = record_of(row).map_err(|m| Error::DataLoss(format!("event {}: {m}", row.case_seq)))?;
            let line = Value::object().with("event", record.document()).with("hash", row.hash.as_str());
            events.push_str(&line.to_canonical_string().map_err(|e| Error::Internal(e.to_string()))?);
            events.push('\n');
        }
        let case_json = Value::object()
            .with("id", case.id.as_str())
            .with("agency_id", case.agency_id.as_str())
            .with("kind", case.kind.as_str())
            .with("title", case.title.as_str())
            .with("party", stored_json(&case.party, "cases.party", &case.id)?)
            .with("handling_officer_ids", stored_json(&case.handling_officers, "cases.handling_officers", &case.id)?)
            .with("opened_at", Timestamp::from_micros(case.opened_at).to_rfc3339())
            .to_canonical_string()
            .map_err(|e| Error::Internal(e.to_string()))?;
        // An item whose bytes were destroyed (RULES K5) is listed with the event recording it,
        // and without bytes: the archive checks as the chain does, against the tombstone.
        let destroyed: HashMap<EvidenceId, u64> =
            self.destroyed(&case.id).await?.into_iter().map(|t| (t.evidence_id, t.case_seq)).collect();
        let mut objects: BTreeMap<String, u64> = BTreeMap::new();
        let evidence: Vec<Value> = items
            .iter()
            .map(|e| {
                let item = Value::object()
                    .with("id", e.id.as_str())
                    .with("sha256", e.sha256.as_str())
                    .with("size", e.size)
                    .with("media_type", e.media_type.as_str());
                if let Some(seq) = destroyed.get(&e.id) {
                    return item.with("destroyed", *seq);
                }
                objects.insert(e.sha256.clone(), e.size as u64);
                item.with("path", format!("evidence/{}", e.sha256))
            })
            .collect();
        let now = self.clock.now();
        let mut files = Value::object()
            .with("case.json", Sha256Digest::of(case_json.as_bytes()).to_hex())
            .with("events.jsonl", Sha256Digest::of(events.as_bytes()).to_hex());
        let mut manifest = Value::object()
            .with("format", EXPORT_FORMAT)
            .with("case_id", case.id.as_str())
            // The case row's count and head, which verification found equal to the chain's.
            .with("event_count", case.event_count)
            .with("head_hash", case.head_hash.as_str())
            .with("exported_at", now.to_rfc3339())
            .with("evidence", Value::Array(evidence));
        let mut members = vec![("case.json", case_json), ("events.jsonl", events)];
        if let Some(p) = &proved {
            files = files
                .with(CHECKPOINT_MEMBER, Sha256Digest::of(p.checkpoint.as_bytes()).to_hex())
                .with(PROOFS_MEMBER, Sha256Digest::of(p.proofs.as_bytes()).to_hex());
            manifest = manifest.with(
                "log",
                Value::object()
                    .with("origin", p.origin.as_str())
                    .with("checkpoint_size", p.size)
                    .with("events_proved", p.proved)
                    .with("witnessed", p.witnessed),
            );
            members.push((CHECKPOINT_MEMBER, p.checkpoint.clone()));
            members.push((PROOFS_MEMBER, p.proofs.clone()));
        }
        let manifest =
            manifest.with("files", files).to_canonical_string().map_err(|e| Error::Internal(e.to_string()))?;
        if let Some(log) = &self.log {
            let statement = log.sign_export(&Sha256Digest::of(manifest.as_bytes()).to_hex())?;
            members.insert(0, (STATEMENT_MEMBER, statement));
        }
        members.insert(0, ("manifest.json", manifest));

        let mtime = u64::try_from(now.to_parts().0).unwrap_or(0);
        let vault = self.vault.clone();
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(async move {
            let mut sink = Sink { tx: tx.clone(), buffer: BytesMut::new() };
            let result: Result<()> = async {
                for (name, body) in members {
                    let size = body.len() as u64;
                    if !(sink.write(&tar_header(name, size, mtime)?).await
                        && sink.write(body.as_bytes()).await
                        && sink.write(&vec![0u8; padding(size)]).await)
                    {
                        return Ok(());
                    }
                }
                for (sha, size) in objects {
                    let digest: Sha256Digest =
                        sha.parse().map_err(|_| Error::DataLoss(format!("malformed evidence digest {sha}")))?;
                    if !sink.write(&tar_header(&format!("evidence/{sha}"), size, mtime)?).await {
                        return Ok(());
                    }
                    let mut content = vault.open(&digest).await?;
                    let mut written = 0u64;
                    while let Some(chunk) = content.next().await {
                        let chunk = chunk?;
                        written += chunk.len() as u64;
                        if written > size || !sink.write(&chunk).await {
                            break;
                        }
                    }
                    if written != size {
                        return Err(Error::DataLoss(format!("evidence object {sha} is not {size} bytes long")));
                    }
                    if !sink.write(&vec![0u8; padding(size)]).await {
                        return Ok(());
                    }
                }
                // End of archive: two zero blocks.
                sink.write(&[0u8; 1024]).await;
                sink.flush().await;
                Ok(())
            }
            .await;
            if let Err(e) = result {
                let _ = tx.send(Err(e)).await;
            }
        });
        Ok(rx)
    }
}

/// The archive member holding the log's checkpoint (docs/CHAIN.md §6).
pub const CHECKPOINT_MEMBER: &str = "log/checkpoint";
/// The archive member holding each event's inclusion proof.
pub const PROOFS_MEMBER: &str = "log/proofs.jsonl";
/// The archive member holding the log's signed export statement over the manifest.
pub const STATEMENT_MEMBER: &str = "manifest.sig";

/// How long an export waits for a checkpoint that includes the case's last event.
const CHECKPOINT_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The log's members of an archive.
struct Proved {
    origin: String,
    size: u64,
    proved: u64,
    witnessed: bool,
    checkpoint: String,
    proofs: String,
}

impl Recorder {
    /// The checkpoint the public reads (the latest witnessed one when witnesses are
    /// configured), waiting up to [`CHECKPOINT_WAIT`] for one that includes the case's last
    /// event, and the inclusion proof of every event it includes. `None` without a log.
    async fn log_members(&self, rows: &[sanxiang_store::entity::event::Model]) -> Result<Option<Proved>> {
        let Some(log) = &self.log else { return Ok(None) };
        let last = rows.last().map_or(0, |r| r.global_seq as u64);
        let deadline = tokio::time::Instant::now() + CHECKPOINT_WAIT;
        let checkpoint = loop {
            let found = match log.public_checkpoint().await {
                Ok(c) => Some(c),
                Err(Error::NotFound { .. }) => None,
                Err(e) => return Err(e),
            };
            let covers = found.as_ref().is_some_and(|c| c.size >= last);
            if covers || tokio::time::Instant::now() >= deadline {
                break found;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        };
        let Some(cp) = checkpoint else { return Ok(None) };
        let included: Vec<&sanxiang_store::entity::event::Model> =
            rows.iter().filter(|r| r.global_seq >= 1 && r.global_seq as u64 <= cp.size).collect();
        let seqs: Vec<u64> = included.iter().map(|r| r.global_seq as u64).collect();
        let proofs = log.inclusion_proofs(&seqs, cp.size).await?;
        let mut lines = String::new();
        for (row, proof) in included.iter().zip(proofs) {
            let line = Value::object()
                .with("case_seq", row.case_seq)
                .with("global_seq", row.global_seq)
                .with("leaf_index", row.global_seq - 1)
                .with("tree_size", cp.size)
                .with("hashes", Value::Array(proof.iter().map(|h| Value::from(hex_of(h))).collect()));
            lines.push_str(&line.to_canonical_string().map_err(|e| Error::Internal(e.to_string()))?);
            lines.push('\n');
        }
        Ok(Some(Proved {
            origin: log.origin().to_owned(),
            size: cp.size,
            proved: included.len() as u64,
            witnessed: log.is_witnessed(&cp),
            checkpoint: cp.note,
            proofs: lines,
        }))
    }
}

fn hex_of(bytes: &[u8; 32]) -> String {
    Sha256Digest::from_bytes(*bytes).to_hex()
}

/// A stored JSON column read back; DATA_LOSS naming the column and row (never its content) when
/// it cannot be read, never a `null` in the archive.
fn stored_json(text: &str, column: &str, id: &str) -> Result<Value> {
    Value::parse(text).map_err(|_| Error::DataLoss(format!("{column} of {id} cannot be read")))
}
