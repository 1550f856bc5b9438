//! `sanxiang log audit`: follows a log through its public tlog-tiles endpoints from a saved
//! checkpoint. It verifies the new checkpoint's signature with the log's verifier key, reads every
//! leaf added since the saved checkpoint from the entry bundles, appends them to the saved tree's
//! frontier (its complete subtree hashes) and requires the result to be the new checkpoint's root:
//! that proves the new tree extends the saved one (consistency) and that every leaf it was given is
//! in it. The new checkpoint and frontier are then saved for the next run.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tlog_tiles::Hash;

use crate::http::{TilePath, tile_path};
use crate::merkle::{self, MapReader};

/// What the auditor keeps between runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditState {
    /// The last verified signed checkpoint.
    pub checkpoint: String,
    /// Hex hashes of the complete subtrees of that tree, left to right.
    pub frontier: Vec<String>,
}

/// What one audit run found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    pub origin: String,
    pub old_size: u64,
    pub new_size: u64,
    /// Leaves read and checked.
    pub leaves_checked: u64,
}

type AuditError = String;

async fn get(client: &reqwest::Client, url: &str) -> Result<Vec<u8>, AuditError> {
    let r = client.get(url).send().await.map_err(|e| format!("GET {url}: {e}"))?;
    if !r.status().is_success() {
        return Err(format!("GET {url}: status {}", r.status()));
    }
    Ok(r.bytes().await.map_err(|e| format!("GET {url}: {e}"))?.to_vec())
}

/// Verifies a signed checkpoint with the log's verifier key; returns it parsed.
pub fn verify_checkpoint(note: &[u8], vkey: &str) -> Result<tlog_tiles::Checkpoint, AuditError> {
    let verifier = signed_note::StandardVerifier::new(vkey).map_err(|e| format!("the verifier key: {e}"))?;
    let origin = signed_note::Verifier::name(&verifier).to_owned();
    let note = signed_note::Note::from_bytes(note).map_err(|e| format!("the checkpoint is not a signed note: {e}"))?;
    note.verify(&signed_note::VerifierList::new(vec![Box::new(verifier)]))
        .map_err(|e| format!("the checkpoint's signature does not verify with the log's key: {e}"))?;
    let cp = tlog_tiles::Checkpoint::from_bytes(note.text()).map_err(|e| format!("not a checkpoint: {e}"))?;
    if cp.origin() != origin {
        return Err(format!("the checkpoint's origin {:?} is not the key's name {origin:?}", cp.origin()));
    }
    Ok(cp)
}

/// Runs one audit of the log at `base_url` (its public HTTP root) against `vkey`, continuing from
/// the state in `state_file` (if it exists) and saving the new state there.
pub async fn audit(base_url: &str, vkey: &str, state_file: &Path) -> Result<AuditReport, AuditError> {
    let client = reqwest::Client::new();
    let base = base_url.trim_end_matches('/');
    let saved: Option<AuditState> = match std::fs::read(state_file) {
        Ok(b) => Some(serde_json::from_slice(&b).map_err(|e| format!("{}: {e}", state_file.display()))?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("{}: {e}", state_file.display())),
    };
    let (old_size, old_root, frontier) = match &saved {
        Some(s) => {
            let cp = verify_checkpoint(s.checkpoint.as_bytes(), vkey)?;
            let frontier = s
                .frontier
                .iter()
                .map(|h| {
                    let mut b = [0u8; 32];
                    hex::decode_to_slice(h, &mut b)
                        .map(|()| Hash(b))
                        .map_err(|_| "the saved frontier is damaged".to_owned())
                })
                .collect::<Result<Vec<_>, _>>()?;
            (cp.size(), cp.hash().0, frontier)
        }
        None => (0, merkle::EMPTY_ROOT.0, Vec::new()),
    };
    let indexes = merkle::frontier(old_size);
    if indexes.len() != frontier.len() {
        return Err("the saved frontier does not fit the saved checkpoint".into());
    }
    let mut tree = MapReader(indexes.iter().copied().zip(frontier).collect());
    if old_size > 0 && tlog_tiles::tree_hash(old_size, &tree).map_err(|e| e.to_string())?.0 != old_root {
        return Err("the saved frontier does not give the saved checkpoint's root".into());
    }
    let note = get(&client, &format!("{base}/checkpoint")).await?;
    let cp = verify_checkpoint(&note, vkey)?;
    let new_size = cp.size();
    if new_size < old_size {
        return Err(format!(
            "the log's checkpoint has size {new_size}, smaller than the saved {old_size}: the log was rolled back"
        ));
    }
    let mut n = old_size;
    while n < new_size {
        let bundle = n / 256;
        let width = (new_size - bundle * 256).min(256);
        let data =
            get(&client, &format!("{base}/tile/{}", tile_path(TilePath { level: None, n: bundle, width }))).await?;
        if data.len() as u64 != width * 34 {
            return Err(format!("entry bundle {bundle} has {} bytes, not {}", data.len(), width * 34));
        }
        for k in (n - bundle * 256)..width {
            let entry = &data[(k * 34) as usize..((k + 1) * 34) as usize];
            if entry[..2] != [0, 32] {
                return Err(format!("entry {} is not 32 bytes long", bundle * 256 + k));
            }
            let leaf: [u8; 32] = entry[2..].try_into().map_err(|_| "entry".to_owned())?;
            merkle::append(n, merkle::leaf_hash(&leaf), &mut tree).map_err(|e| e.to_string())?;
            n += 1;
        }
    }
    let root = if new_size == 0 {
        merkle::EMPTY_ROOT
    } else {
        tlog_tiles::tree_hash(new_size, &tree).map_err(|e| e.to_string())?
    };
    if root.0 != cp.hash().0 {
        return Err(if old_size == 0 {
            format!("the log's leaves do not give the checkpoint's root at size {new_size}")
        } else {
            format!(
                "the checkpoint of size {new_size} is not consistent with the saved one of size {old_size} (or its leaves are not the ones served)"
            )
        });
    }
    let state = AuditState {
        checkpoint: String::from_utf8_lossy(&note).into_owned(),
        frontier: merkle::frontier(new_size).iter().map(|i| hex::encode(tree.0[i].0)).collect(),
    };
    let json = serde_json::to_string_pretty(&state).map_err(|e| e.to_string())?;
    crate::keys::write_private(state_file, &json).map_err(|e| format!("{}: {e}", state_file.display()))?;
    Ok(AuditReport { origin: cp.origin().to_owned(), old_size, new_size, leaves_checked: new_size - old_size })
}
