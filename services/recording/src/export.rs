//! `ExportCase`: a self-contained tar archive of a case, checkable offline (docs/CHAIN.md).
//!
//! Members, in this order:
//! - `manifest.json`: format, case id, event count, head hash, SHA-256 of `case.json` and
//!   `events.jsonl`, and every evidence item with its digest, size and path;
//! - `case.json`: the case as stored;
//! - `events.jsonl`: one line per event, `{"event":<canonical document>,"hash":"<hex>"}`;
//! - `evidence/<sha256>`: the bytes of each distinct evidence object.

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use sanxiang_domain::canonical::Value;
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
        let rows = self.all_events(&case.id).await?;
        let items = self.case_evidence(&case.id).await?;
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
        let mut objects: BTreeMap<String, u64> = BTreeMap::new();
        let evidence: Vec<Value> = items
            .iter()
            .map(|e| {
                objects.insert(e.sha256.clone(), e.size as u64);
                Value::object()
                    .with("id", e.id.as_str())
                    .with("sha256", e.sha256.as_str())
                    .with("size", e.size)
                    .with("media_type", e.media_type.as_str())
                    .with("path", format!("evidence/{}", e.sha256))
            })
            .collect();
        let now = self.clock.now();
        let manifest = Value::object()
            .with("format", EXPORT_FORMAT)
            .with("case_id", case.id.as_str())
            .with("event_count", rows.len() as u64)
            .with("head_hash", rows.last().map_or_else(|| Sha256Digest::ZERO.to_hex(), |r| r.hash.clone()))
            .with("exported_at", now.to_rfc3339())
            .with(
                "files",
                Value::object()
                    .with("case.json", Sha256Digest::of(case_json.as_bytes()).to_hex())
                    .with("events.jsonl", Sha256Digest::of(events.as_bytes()).to_hex()),
            )
            .with("evidence", Value::Array(evidence))
            .to_canonical_string()
            .map_err(|e| Error::Internal(e.to_string()))?;

        let mtime = u64::try_from(now.to_parts().0).unwrap_or(0);
        let vault = self.vault.clone();
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(async move {
            let mut sink = Sink { tx: tx.clone(), buffer: BytesMut::new() };
            let result: Result<()> = async {
                for (name, body) in [("manifest.json", manifest), ("case.json", case_json), ("events.jsonl", events)] {
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

/// A stored JSON column read back; DATA_LOSS naming the column and row (never its content) when
/// it cannot be read, never a `null` in the archive.
fn stored_json(text: &str, column: &str, id: &str) -> Result<Value> {
    Value::parse(text).map_err(|_| Error::DataLoss(format!("{column} of {id} cannot be read")))
}
