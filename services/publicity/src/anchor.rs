//! What a reader needs to check a public disclosure against the verifiable log (docs/CHAIN.md
//! §8.7): the SHA-256 of its content as stored (the bytes its events' `content_sha256` cover),
//! the position (`global_seq`, leaf index `global_seq` − 1) of the latest event that recorded
//! that digest (the decision when published at once, the publisher's confirmation, or the last
//! correction), and the address of that event's inclusion proof. The proof reveals the event's
//! hash only, never the event.

use std::collections::HashMap;

use sanxiang_domain::canonical::Value;
use sanxiang_domain::id::{CaseId, DisclosureId};
use sanxiang_domain::lifecycle::EventKind;
use sanxiang_domain::{Error, Result};
use sanxiang_log::{CheckpointQuery, LeafRef};
use sanxiang_store::entity::disclosure;
use serde_json::json;

use crate::content;
use crate::disclosure::Publicity;

/// A disclosure's anchor in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// The event that recorded the content's digest.
    pub global_seq: u64,
    /// SHA-256 of the stored content, hex.
    pub content_sha256: String,
}

impl Anchor {
    /// The leaf of the event in the log's tree.
    pub fn leaf_index(&self) -> u64 {
        self.global_seq - 1
    }
}

/// The public address of a disclosure's inclusion proof.
pub fn proof_path(id: &str) -> String {
    format!("/v1/disclosures/{}/proof", url::form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>())
}

/// The kinds of event that record a disclosure's content digest.
const DIGEST_KINDS: [EventKind; 3] =
    [EventKind::Decision, EventKind::DisclosurePublished, EventKind::DisclosureCorrected];

/// `(disclosure id, content_sha256)` an event's payload records, if any.
fn recorded(kind: &str, payload: &str) -> Option<(String, String)> {
    let v = Value::parse(payload).ok()?;
    let of = if kind == EventKind::Decision.as_str() { v.get("disclosure")? } else { &v };
    let id = if kind == EventKind::Decision.as_str() { of.get("id") } else { of.get("disclosure_id") };
    Some((id?.as_str()?.to_owned(), of.get("content_sha256")?.as_str()?.to_owned()))
}

impl Publicity {
    /// The anchors of `rows` by disclosure id: a disclosure whose stored content matches no
    /// digest its chain recorded has none.
    pub async fn anchors(&self, rows: &[disclosure::Model]) -> Result<HashMap<DisclosureId, Anchor>> {
        if rows.is_empty() {
            return Ok(HashMap::new());
        }
        let cases: Vec<&CaseId> = rows.iter().map(|d| &d.case_id).collect();
        let events = self.recorder().events_of_kinds_in(&cases, &DIGEST_KINDS).await?;
        let mut latest: HashMap<(String, String), u64> = HashMap::new();
        for (seq, kind, payload) in events {
            if let Some(key) = recorded(&kind, &payload) {
                latest.insert(key, u64::try_from(seq).unwrap_or(0));
            }
        }
        Ok(rows
            .iter()
            .filter_map(|d| {
                let digest = content::digest(&d.content);
                let seq = *latest.get(&(d.id.to_string(), digest.clone()))?;
                Some((d.id.clone(), Anchor { global_seq: seq, content_sha256: digest }))
            })
            .collect())
    }

    /// The anchor of one disclosure.
    pub async fn anchor(&self, d: &disclosure::Model) -> Result<Option<Anchor>> {
        Ok(self.anchors(std::slice::from_ref(d)).await?.remove(&d.id))
    }

    /// The public proof of a disclosure (`GET /v1/disclosures/{id}/proof[?size=N]`): its content
    /// as stored and its digest, the anchoring event's leaf (its hash) and inclusion proof in the
    /// tree of the public checkpoint (or of the checkpoint of `size`), and that checkpoint.
    pub async fn proof(&self, d: &disclosure::Model, size: Option<u64>) -> Result<serde_json::Value> {
        let log =
            self.recorder().log().ok_or_else(|| Error::Unavailable("this server runs no verifiable log".into()))?;
        let anchor = self.anchor(d).await?.ok_or_else(|| {
            Error::precondition("log.anchored", "the disclosure's content matches no digest its record carries")
        })?;
        let cp = match size {
            Some(s) => log.get_checkpoint(CheckpointQuery::Size(s)).await?,
            None => log.public_checkpoint().await?,
        };
        if anchor.global_seq > cp.size {
            return Err(Error::Unavailable(format!(
                "the disclosure's event is not in the latest public checkpoint (size {}) yet; try again shortly",
                cp.size
            )));
        }
        let p = log.inclusion_proof(LeafRef::GlobalSeq(anchor.global_seq), cp.size).await?;
        if p.root != cp.root {
            return Err(Error::Internal("the tree's root differs from its checkpoint's".into()));
        }
        Ok(json!({
            "disclosure_id": d.id,
            "version": d.version,
            "content": d.content,
            "content_sha256": anchor.content_sha256,
            "global_seq": anchor.global_seq,
            "leaf_index": anchor.leaf_index(),
            "leaf_data": hex::encode(p.leaf_data),
            "leaf_hash": hex::encode(p.leaf_hash),
            "tree_size": cp.size,
            "root": hex::encode(cp.root),
            "inclusion_proof": p.hashes.iter().map(hex::encode).collect::<Vec<_>>(),
            "checkpoint": cp.note,
            "checkpoint_url": "/checkpoint",
        }))
    }
}
