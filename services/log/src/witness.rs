//! A witness (C2SP tlog-witness, cosigning with C2SP tlog-cosignature/v1 Ed25519), run by
//! `sanxiang witness`: what a supervising agency runs to hold the log to one append-only history.
//!
//! `POST /add-checkpoint` takes `old <size>`, the consistency proof lines (base64), an empty line,
//! and the signed checkpoint. The witness verifies the log's signature (403 if none verifies, 404
//! for an unknown origin), that the old size is the size of the last checkpoint it cosigned for
//! that log (else 409 with that size as `text/x.tlog.size`), that the old size is not larger than
//! the checkpoint's (400), that a checkpoint of the same size has the same root (409), and the
//! consistency proof from the checkpoint it holds (422); then it stores the new checkpoint and
//! answers with its cosignature line. The state (one checkpoint per log) is a JSON file replaced
//! atomically before the answer.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use sanxiang_domain::TimeProvider;

use crate::keys::{ALG_COSIGNATURE_V1, CosignatureVerifier, Cosigner, KeyError, NamedKey};
use crate::merkle;

/// Largest request accepted.
const MAX_BODY: usize = 64 * 1024;
/// Most proof lines (a proof has at most 2·log₂ n hashes).
const MAX_PROOF_LINES: usize = 128;

/// Options of `sanxiang witness`.
#[derive(Debug, Clone, clap::Args)]
pub struct WitnessConfig {
    /// Address to listen on (HTTP).
    #[arg(long, env = "SANXIANG_WITNESS_LISTEN", default_value = "127.0.0.1:8090")]
    pub listen: SocketAddr,
    /// The witness's name (its key name in cosignatures), e.g. `supervision.example.gov.cn/witness`.
    #[arg(long, env = "SANXIANG_WITNESS_NAME", default_value = "localhost/sanxiang-witness")]
    pub name: String,
    /// Directory for the witness's key (`witness-key`, created with mode 0600) and state (`state.json`).
    #[arg(long, env = "SANXIANG_WITNESS_DIR", default_value = "./sanxiang-witness")]
    pub dir: PathBuf,
    /// A log to witness, by its verifier key (`<origin>+<id>+<base64>`). Repeatable;
    /// comma-separated in the environment.
    #[arg(long = "log", env = "SANXIANG_WITNESS_LOGS", value_delimiter = ',', required = true)]
    pub logs: Vec<String>,
}

/// What the witness holds for one log: the last checkpoint it cosigned.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
struct Held {
    size: u64,
    /// Base64 root hash.
    root: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct WitnessState {
    logs: BTreeMap<String, Held>,
}

/// A witness. Cheap to clone.
#[derive(Clone)]
pub struct Witness {
    key: Arc<NamedKey>,
    logs: Arc<BTreeMap<String, signed_note::StandardVerifier>>,
    state_file: PathBuf,
    state: Arc<Mutex<WitnessState>>,
    clock: Arc<dyn TimeProvider>,
}

impl std::fmt::Debug for Witness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Witness").field("vkey", &self.vkey()).finish_non_exhaustive()
    }
}

/// Why a checkpoint was refused: the HTTP status and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub text: String,
    /// For 409 size conflicts: the size the witness holds.
    pub size: Option<u64>,
}

fn refuse(status: u16, text: impl Into<String>) -> Refusal {
    Refusal { status, text: text.into(), size: None }
}

impl Witness {
    /// Opens the witness in `dir` (creating its key on first start) for the logs of `log_vkeys`.
    pub fn open(dir: &Path, name: &str, log_vkeys: &[String]) -> Result<Self, KeyError> {
        std::fs::create_dir_all(dir).map_err(|e| KeyError(format!("cannot create {}: {e}", dir.display())))?;
        let (key, _) = NamedKey::load_or_create(&dir.join("witness-key"), name, ALG_COSIGNATURE_V1)?;
        let mut logs = BTreeMap::new();
        for vkey in log_vkeys {
            let v = signed_note::StandardVerifier::new(vkey.trim())
                .map_err(|e| KeyError(format!("--log {vkey:?}: {e}")))?;
            logs.insert(signed_note::Verifier::name(&v).to_owned(), v);
        }
        let state_file = dir.join("state.json");
        let state = match std::fs::read(&state_file) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| KeyError(format!("{} is not the witness's state: {e}", state_file.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => WitnessState::default(),
            Err(e) => return Err(KeyError(format!("cannot read {}: {e}", state_file.display()))),
        };
        Ok(Self {
            key: Arc::new(key),
            logs: Arc::new(logs),
            state_file,
            state: Arc::new(Mutex::new(state)),
            clock: Arc::new(sanxiang_domain::SystemClock),
        })
    }

    /// The witness's verifier key (tlog-cosignature/v1), which logs are configured with.
    pub fn vkey(&self) -> String {
        self.key.vkey()
    }

    /// Handles one `add-checkpoint` request body: the cosignature line, or the refusal.
    pub async fn add_checkpoint(&self, body: &[u8]) -> Result<String, Refusal> {
        if body.len() > MAX_BODY {
            return Err(refuse(400, "request too large"));
        }
        let text = std::str::from_utf8(body).map_err(|_| refuse(400, "the request is not UTF-8"))?;
        let (head, note_text) =
            text.split_once("\n\n").ok_or_else(|| refuse(400, "no empty line before the checkpoint"))?;
        let mut lines = head.split('\n');
        let old: u64 = lines
            .next()
            .and_then(|l| l.strip_prefix("old "))
            .filter(|s| !s.is_empty() && (*s == "0" || !s.starts_with('0')))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| refuse(400, "the first line is not `old <size>`"))?;
        let mut proof = Vec::new();
        for line in lines {
            let h = B64.decode(line).map_err(|_| refuse(400, "a proof line is not base64"))?;
            if h.len() != 32 {
                return Err(refuse(400, "a proof line is not 32 bytes"));
            }
            proof.push(h);
        }
        if proof.len() > MAX_PROOF_LINES {
            return Err(refuse(400, "too many proof lines"));
        }
        let note = signed_note::Note::from_bytes(note_text.as_bytes()).map_err(|_| refuse(400, "not a signed note"))?;
        let checkpoint =
            tlog_tiles::Checkpoint::from_bytes(note.text()).map_err(|_| refuse(400, "not a checkpoint"))?;
        let Some(verifier) = self.logs.get(checkpoint.origin()) else {
            return Err(refuse(404, format!("unknown log {:?}", checkpoint.origin())));
        };
        let signed = {
            let list = signed_note::VerifierList::new(vec![Box::new(verifier.clone())]);
            note.verify(&list).is_ok()
        };
        if !signed {
            return Err(refuse(403, "the checkpoint is not signed by the log's key"));
        }
        if old > checkpoint.size() {
            return Err(refuse(400, "the old size is larger than the checkpoint's"));
        }
        let mut state = self.state.lock().await;
        let held = state.logs.get(checkpoint.origin()).cloned().unwrap_or_default();
        if old != held.size {
            return Err(Refusal { status: 409, text: format!("{}\n", held.size), size: Some(held.size) });
        }
        let held_root = if held.size == 0 {
            merkle::EMPTY_ROOT.0.to_vec()
        } else {
            B64.decode(&held.root).map_err(|_| refuse(500, "the witness's state is damaged"))?
        };
        let root = checkpoint.hash().0;
        if held.size == checkpoint.size() {
            if held_root != root || !proof.is_empty() {
                return Err(refuse(409, "a different checkpoint of the same size was cosigned: the log forked"));
            }
        } else if old == 0 {
            if !proof.is_empty() {
                return Err(refuse(422, "a proof from the empty tree must be empty"));
            }
        } else if let Err(e) = merkle::verify_consistency(old, checkpoint.size(), &held_root, &root, &proof) {
            return Err(refuse(422, format!("the consistency proof does not verify: {e}")));
        }
        let mut cosigned = signed_note::Note::new(note.text(), &[]).map_err(|_| refuse(500, "note"))?;
        let time = u64::try_from(self.clock.now().micros() / 1_000_000).unwrap_or(0);
        cosigned.add_sigs(&[&Cosigner { key: self.key.as_ref(), time }]).map_err(|_| refuse(500, "signing"))?;
        let bytes = cosigned.to_bytes();
        let text = String::from_utf8_lossy(&bytes);
        let line = text.split_once("\n\n").map(|(_, sigs)| sigs.to_owned()).unwrap_or_default();
        let previous =
            state.logs.insert(checkpoint.origin().to_owned(), Held { size: checkpoint.size(), root: B64.encode(root) });
        let json = serde_json::to_vec_pretty(&*state).map_err(|_| refuse(500, "state"))?;
        if let Err(e) = crate::keys::write_private(&self.state_file, &String::from_utf8_lossy(&json)) {
            tracing::error!(error = %e, "cannot save the witness's state");
            match previous {
                Some(p) => state.logs.insert(checkpoint.origin().to_owned(), p),
                None => state.logs.remove(checkpoint.origin()),
            };
            return Err(refuse(500, "cannot save the witness's state"));
        }
        tracing::info!(origin = checkpoint.origin(), size = checkpoint.size(), "cosigned a checkpoint");
        Ok(line)
    }
}

/// The witness's HTTP routes.
pub fn router(witness: Witness) -> Router {
    Router::new().route("/add-checkpoint", post(add_checkpoint)).with_state(witness)
}

async fn add_checkpoint(State(witness): State<Witness>, body: axum::body::Bytes) -> Response {
    match witness.add_checkpoint(&body).await {
        Ok(line) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], line).into_response(),
        Err(r) => {
            let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let content_type = if r.size.is_some() { "text/x.tlog.size" } else { "text/plain; charset=utf-8" };
            (
                status,
                [(header::CONTENT_TYPE, content_type)],
                if r.size.is_some() { r.text } else { format!("{}\n", r.text) },
            )
                .into_response()
        }
    }
}

/// Runs `sanxiang witness` until `shutdown` resolves.
pub async fn run(
    config: &WitnessConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let witness = Witness::open(&config.dir, &config.name, &config.logs)?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    tracing::info!(addr = %listener.local_addr()?, vkey = %witness.vkey(), logs = config.logs.len(), "the witness is serving; give logs this verifier key");
    axum::serve(listener, router(witness)).with_graceful_shutdown(shutdown).await?;
    Ok(())
}

/// Finds, in a witness's answer, the cosignature line of `verifier` that verifies over `body`.
pub fn find_cosignature(answer: &str, verifier: &CosignatureVerifier, body: &[u8]) -> Option<String> {
    use signed_note::Verifier;
    for line in answer.lines() {
        let Some(rest) = line.strip_prefix("\u{2014} ") else { continue };
        let Some((name, sig)) = rest.split_once(' ') else { continue };
        if name != verifier.name() {
            continue;
        }
        let Ok(sig) = B64.decode(sig) else { continue };
        if sig.len() < 4 || u32::from_be_bytes([sig[0], sig[1], sig[2], sig[3]]) != verifier.key_id() {
            continue;
        }
        if verifier.verify_time(body, &sig[4..]).is_some() {
            return Some(format!("{line}\n"));
        }
    }
    None
}
