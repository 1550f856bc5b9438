//! The verifiable log (docs/CHAIN.md §8): one Merkle tree (RFC 6962 / RFC 9162 hashing) over every
//! event in `global_seq` order whose leaf data is the 32-byte event hash, kept strictly behind the
//! writer by a sequencer task; signed checkpoints (C2SP tlog-checkpoint over signed-note,
//! Ed25519); inclusion and consistency proofs; the C2SP tlog-tiles HTTP layout; witnesses (C2SP
//! tlog-witness, tlog-cosignature) both ways; an auditor; and the start-up check that refuses
//! writes when the database is behind the log it signed.
//!
//! The use cases ([`Log`]'s methods) take and return plain Rust types; `http.rs` (the tiles) and
//! the gRPC handler in the edge crate (`sanxiang-api`, `log.rs`) are thin faces over them.

pub mod audit;
pub mod entity;
pub mod http;
pub mod keys;
pub mod merkle;
pub mod tree;
pub mod witness;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sanxiang_domain::{Error, Result, TimeProvider};
use sanxiang_store::Db;
use tokio::sync::watch;

use crate::keys::{ALG_ED25519, CosignatureVerifier, KeyError, NamedKey};
pub use crate::tree::SignedCheckpoint;
// The note and tree crates the log is built on, for verifiers of its output.
pub use {signed_note, tlog_tiles};

/// Name of the file, inside the data directory, holding the log's private key when none is given.
pub const KEY_FILE: &str = "log-key";

/// Name of the file, inside the data directory, holding the last checkpoint this server signed:
/// what the start-up check compares the database with.
pub const LAST_CHECKPOINT_FILE: &str = "log-checkpoint";

/// Most events integrated in one transaction.
const MAX_INTEGRATE: u64 = 20_000;

/// Options of the log, part of `sanxiang serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct LogConfig {
    /// The log's origin: the first line of every checkpoint and the name of its key, by
    /// convention the log's public URL without scheme (e.g. `records.example.gov.cn/log`).
    #[arg(long = "log-origin", env = "SANXIANG_LOG_ORIGIN", default_value = "localhost/sanxiang")]
    pub origin: String,

    /// File holding the log's private key (`PRIVATE+KEY+…`); created with mode 0600 on first start.
    /// Default: DATA_DIR/log-key. Replicas of one log are given the same key.
    #[arg(long = "log-key-file", env = "SANXIANG_LOG_KEY_FILE")]
    pub key_file: Option<PathBuf>,

    /// The log's private key itself (instead of a file).
    #[arg(long = "log-key", env = "SANXIANG_LOG_KEY", hide_env_values = true)]
    pub key: Option<String>,

    /// How often, in milliseconds, the sequencer integrates committed events and signs a checkpoint.
    #[arg(long = "log-checkpoint-interval-ms", env = "SANXIANG_LOG_CHECKPOINT_INTERVAL_MS", default_value_t = 500)]
    pub checkpoint_interval_ms: u64,

    /// Maintain the tree and sign checkpoints (false: another replica does, or measuring without).
    #[arg(long = "log-sequencer", env = "SANXIANG_LOG_SEQUENCER", default_value_t = true, action = clap::ArgAction::Set)]
    pub sequencer: bool,

    /// A witness to send each checkpoint to, as `URL=VKEY` (the witness's tlog-cosignature/v1
    /// verifier key). Repeatable; comma-separated in the environment.
    #[arg(long = "log-witness", env = "SANXIANG_LOG_WITNESSES", value_delimiter = ',')]
    pub witnesses: Vec<String>,

    /// Cosignatures a checkpoint needs to count as witnessed. Default: every configured witness.
    #[arg(long = "log-witness-quorum", env = "SANXIANG_LOG_WITNESS_QUORUM")]
    pub quorum: Option<u32>,
}

impl LogConfig {
    /// Every default.
    pub fn embedded() -> Self {
        Self {
            origin: "localhost/sanxiang".into(),
            key_file: None,
            key: None,
            checkpoint_interval_ms: 500,
            sequencer: true,
            witnesses: Vec::new(),
            quorum: None,
        }
    }
}

/// Whether writes are refused, and why: set when the start-up check finds the database behind
/// the log. The write path's layer checks it.
#[derive(Debug, Clone, Default)]
pub struct WriteGate(Arc<OnceLock<String>>);

impl WriteGate {
    /// Refuses writes from now on.
    pub fn refuse(&self, reason: String) {
        let _ = self.0.set(reason);
    }

    /// Why writes are refused, if they are.
    pub fn refusal(&self) -> Option<&str> {
        self.0.get().map(String::as_str)
    }
}

/// A witness the log sends its checkpoints to.
#[derive(Debug)]
struct Peer {
    url: String,
    name: String,
    verifier: CosignatureVerifier,
    /// The size of the last checkpoint it cosigned, as far as this server knows.
    known: tokio::sync::Mutex<u64>,
}

/// Which leaf a proof is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeafRef {
    /// By the event's `global_seq` (leaf index + 1).
    GlobalSeq(u64),
    /// By the event's case and position in it.
    Event { case_id: String, case_seq: u64 },
}

/// An inclusion proof of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    /// Leaf index (= `global_seq` − 1).
    pub index: u64,
    /// Tree size the proof is for.
    pub size: u64,
    /// The leaf data: the event hash.
    pub leaf_data: [u8; 32],
    /// SHA-256(0x00 ‖ leaf data).
    pub leaf_hash: [u8; 32],
    /// The audit path, bottom up.
    pub hashes: Vec<[u8; 32]>,
    /// The root of the tree of `size`.
    pub root: [u8; 32],
}

/// A consistency proof between two tree sizes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyProof {
    pub old_size: u64,
    pub new_size: u64,
    pub hashes: Vec<[u8; 32]>,
    pub old_root: [u8; 32],
    pub new_root: [u8; 32],
}

/// What the log says about a case's events ([`Log::check_events`]).
#[derive(Debug, Clone, Default)]
pub struct EventsCheck {
    /// The size of the latest signed checkpoint (0: none yet).
    pub size: u64,
    /// How many of the events it includes.
    pub included: u64,
    pub problems: Vec<LogProblem>,
}

/// A disagreement between the database and the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogProblem {
    /// The event at fault (`global_seq`), or `None` for the log itself.
    pub global_seq: Option<u64>,
    pub message: String,
}

/// The first line of an export statement ([`Log::sign_export`]).
pub const EXPORT_STATEMENT: &str = "sanxiang/case-export/v1";

/// Most missing events [`Log::check_events`] names.
const MAX_MISSING_NAMED: usize = 32;

/// Which checkpoint is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointQuery {
    /// The latest signed.
    Latest,
    /// The latest with the quorum of cosignatures.
    Witnessed,
    /// The one of this size.
    Size(u64),
}

struct Inner {
    db: Db,
    key: NamedKey,
    quorum: u32,
    peers: Vec<Peer>,
    gate: WriteGate,
    latest: watch::Sender<Option<SignedCheckpoint>>,
    last_file: PathBuf,
    http: reqwest::Client,
    clock: Arc<dyn TimeProvider>,
}

/// The log. Cheap to clone.
#[derive(Clone)]
pub struct Log {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log").field("vkey", &self.vkey()).finish_non_exhaustive()
    }
}

fn key_of(config: &LogConfig, data_dir: &Path) -> std::result::Result<NamedKey, KeyError> {
    let key = match &config.key {
        Some(text) => NamedKey::parse(text, ALG_ED25519)?,
        None => {
            let path = config.key_file.clone().unwrap_or_else(|| data_dir.join(KEY_FILE));
            let (key, created) = NamedKey::load_or_create(&path, &config.origin, ALG_ED25519)?;
            if created {
                tracing::info!(path = %path.display(), "first start: created the log's signing key (file mode 0600); replicas of this log need the same key");
            }
            key
        }
    };
    if key.name() != config.origin {
        return Err(KeyError(format!(
            "the log key is named {:?} but the log's origin is {:?}: a checkpoint's origin and key name must be the same",
            key.name(),
            config.origin
        )));
    }
    Ok(key)
}

impl Log {
    /// Opens the log on `db`: loads (or creates) its key and parses the witnesses.
    pub fn open(
        db: Db,
        config: &LogConfig,
        data_dir: &Path,
        clock: Arc<dyn TimeProvider>,
    ) -> std::result::Result<Self, KeyError> {
        let key = key_of(config, data_dir)?;
        let mut peers = Vec::new();
        for w in &config.witnesses {
            let (url, vkey) =
                w.split_once('=').ok_or_else(|| KeyError(format!("--log-witness {w:?} is not URL=VKEY")))?;
            let verifier = CosignatureVerifier::new(vkey)?;
            let name = signed_note::Verifier::name(&verifier).to_owned();
            peers.push(Peer {
                url: url.trim_end_matches('/').to_owned(),
                name,
                verifier,
                known: tokio::sync::Mutex::new(0),
            });
        }
        let quorum = config.quorum.unwrap_or(u32::try_from(peers.len()).unwrap_or(u32::MAX));
        if quorum as usize > peers.len() {
            return Err(KeyError(format!(
                "--log-witness-quorum {quorum} is more than the {} witnesses configured",
                peers.len()
            )));
        }
        let (latest, _) = watch::channel(None);
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                key,
                quorum,
                peers,
                gate: WriteGate::default(),
                latest,
                last_file: data_dir.join(LAST_CHECKPOINT_FILE),
                http: reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap_or_default(),
                clock,
            }),
        })
    }

    /// The log's verifier key (`<origin>+<id>+<base64>`), for anyone who verifies checkpoints.
    pub fn vkey(&self) -> String {
        self.inner.key.vkey()
    }

    /// The log's origin.
    pub fn origin(&self) -> &str {
        self.inner.key.name()
    }

    /// The gate the write path checks.
    pub fn gate(&self) -> WriteGate {
        self.inner.gate.clone()
    }

    /// Watches the checkpoints this server signs.
    pub fn subscribe(&self) -> watch::Receiver<Option<SignedCheckpoint>> {
        self.inner.latest.subscribe()
    }

    /// Compares the database with the log: the stored tree must match the latest checkpoint, the
    /// events table must hold every event the tree covers with the hashes it was built from, and
    /// the tree must contain the last checkpoint this server signed (kept outside the database).
    /// On a disagreement, writes are refused from now on and the reason is returned.
    pub async fn check_at_start(&self) -> std::result::Result<(), String> {
        match self.check().await {
            Ok(()) => Ok(()),
            Err(reason) => {
                tracing::error!(%reason, "the database disagrees with the verifiable log: refusing writes until an operator restores it");
                self.inner.gate.refuse(reason.clone());
                Err(reason)
            }
        }
    }

    async fn check(&self) -> std::result::Result<(), String> {
        let db = &self.inner.db;
        let e = |e: Error| format!("cannot read the log: {e}");
        let (size, root) = tree::state(db).await.map_err(e)?;
        if let Some(cp) = tree::checkpoint(db, None).await.map_err(e)? {
            if cp.size != size || cp.root != root {
                return Err(format!(
                    "the stored tree (size {size}) disagrees with the latest stored checkpoint (size {})",
                    cp.size
                ));
            }
            let verifiers = signed_note::VerifierList::new(vec![Box::new(
                signed_note::StandardVerifier::new(&self.vkey()).map_err(|e| e.to_string())?,
            )]);
            let note = signed_note::Note::from_bytes(cp.note.as_bytes()).map_err(|e| e.to_string())?;
            if note.verify(&verifiers).is_err() {
                return Err(format!("the latest stored checkpoint (size {}) is not signed by this log's key", cp.size));
            }
        }
        let stored = tree::events_up_to(db, size).await.map_err(e)?;
        if stored != size {
            return Err(format!(
                "the events table holds {stored} of the {size} events the log's tree covers: the database was rolled back or truncated"
            ));
        }
        let recomputed = tree::root_at(db, size).await.map_err(e)?;
        if recomputed != root {
            return Err(format!("the stored tree hashes do not give the stored root at size {size}"));
        }
        let from = size.saturating_sub(1024);
        let leaves =
            tree::leaves(db, from, size).await.map_err(|e| format!("the events table disagrees with the tree: {e}"))?;
        let stored = tree::leaf_hashes(db, from, size).await.map_err(e)?;
        for (k, leaf) in leaves.iter().enumerate() {
            let n = from + k as u64;
            if merkle::leaf_hash(leaf) != stored[&n] {
                return Err(format!("the event with global_seq {} is not the one the log holds", n + 1));
            }
        }
        if let Ok(text) = std::fs::read_to_string(&self.inner.last_file) {
            let body = text.split("\n\n").next().unwrap_or_default();
            let cp = tlog_tiles::Checkpoint::from_bytes(format!("{body}\n").as_bytes())
                .map_err(|_| format!("{} is not a checkpoint", self.inner.last_file.display()))?;
            if cp.origin() == self.origin() {
                if cp.size() > size {
                    return Err(format!(
                        "this server signed a checkpoint of size {} but the database's tree has size {size}: the database was rolled back",
                        cp.size()
                    ));
                }
                if tree::root_at(db, cp.size()).await.map_err(e)? != cp.hash().0 {
                    return Err(format!(
                        "the database's tree at size {} is not the one this server signed: the log was rewritten",
                        cp.size()
                    ));
                }
            }
        }
        Ok(())
    }

    /// Starts the sequencer (integrating events and signing checkpoints every interval) and the
    /// witness submitter.
    pub fn start(&self, config: &LogConfig) {
        tracing::info!(vkey = %self.vkey(), origin = %self.origin(), "verifiable log: checkpoints are signed with this verifier key");
        if config.sequencer {
            let log = self.clone();
            let interval = Duration::from_millis(config.checkpoint_interval_ms.max(10));
            tokio::spawn(async move { log.sequence(interval).await });
        }
        if !self.inner.peers.is_empty() {
            let log = self.clone();
            tokio::spawn(async move { log.submit_loop().await });
        }
    }

    async fn sequence(self, interval: Duration) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if self.inner.gate.refusal().is_some() {
                continue; // never sign over a database that disagrees with the log
            }
            loop {
                let now = self.inner.clock.now().micros();
                match tree::integrate(&self.inner.db, &self.inner.key, MAX_INTEGRATE, now).await {
                    Ok(Some(cp)) => {
                        if let Err(e) = keys::write_private(&self.inner.last_file, &cp.note) {
                            tracing::warn!(error = %e, "cannot record the last signed checkpoint in the data directory");
                        }
                        tracing::debug!(size = cp.size, "signed a checkpoint");
                        let before = self.inner.latest.borrow().as_ref().map_or(0, |c| c.size);
                        let full = cp.size - before.min(cp.size) >= MAX_INTEGRATE;
                        self.inner.latest.send_replace(Some(cp));
                        if !full {
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "the log's sequencer could not integrate events; retrying");
                        break;
                    }
                }
            }
        }
    }

    async fn submit_loop(self) {
        let mut rx = self.subscribe();
        while rx.changed().await.is_ok() {
            let Some(cp) = rx.borrow_and_update().clone() else { continue };
            for peer in &self.inner.peers {
                if let Err(e) = self.submit(peer, &cp).await {
                    tracing::warn!(witness = %peer.name, size = cp.size, error = %e, "a witness did not cosign the checkpoint");
                }
            }
        }
    }

    /// Sends `cp` to one witness (C2SP tlog-witness `add-checkpoint`) and stores its cosignature.
    async fn submit(&self, peer: &Peer, cp: &SignedCheckpoint) -> std::result::Result<(), String> {
        use base64::Engine;
        let mut known = peer.known.lock().await;
        for _ in 0..3 {
            let old = (*known).min(cp.size);
            let proof = tree::consistency(&self.inner.db, old, cp.size).await.map_err(|e| e.to_string())?;
            let mut body = format!("old {old}\n");
            for h in proof {
                body.push_str(&base64::engine::general_purpose::STANDARD.encode(h));
                body.push('\n');
            }
            body.push('\n');
            body.push_str(&cp.note);
            let response = self
                .inner
                .http
                .post(format!("{}/add-checkpoint", peer.url))
                .body(body)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status();
            let text = response.text().await.map_err(|e| e.to_string())?;
            match status.as_u16() {
                200 => {
                    let checkpoint_body = checkpoint_body_of(&cp.note);
                    let line = witness::find_cosignature(&text, &peer.verifier, checkpoint_body.as_bytes())
                        .ok_or("the witness's answer holds no valid cosignature")?;
                    tree::add_cosignature(&self.inner.db, cp.size, &peer.name, &line, self.inner.clock.now().micros())
                        .await
                        .map_err(|e| e.to_string())?;
                    *known = cp.size;
                    return Ok(());
                }
                409 => {
                    let size = text.trim().parse::<u64>().map_err(|_| format!("409 with body {text:?}"))?;
                    if size == *known {
                        return Err(format!("the witness refused the checkpoint as a conflict at size {size}"));
                    }
                    *known = size;
                }
                code => return Err(format!("status {code}: {}", text.trim())),
            }
        }
        Err("the witness kept answering 409".into())
    }

    // ---- use cases ----

    /// A checkpoint with its cosignatures.
    pub async fn get_checkpoint(&self, query: CheckpointQuery) -> Result<SignedCheckpoint> {
        let db = &self.inner.db;
        let found = match query {
            CheckpointQuery::Latest => tree::checkpoint(db, None).await?,
            CheckpointQuery::Size(s) => tree::checkpoint(db, Some(s)).await?,
            CheckpointQuery::Witnessed => tree::witnessed(db, self.inner.quorum).await?,
        };
        found.ok_or_else(|| Error::NotFound {
            what: "checkpoint",
            id: match query {
                CheckpointQuery::Latest => "latest".into(),
                CheckpointQuery::Witnessed => "witnessed".into(),
                CheckpointQuery::Size(s) => s.to_string(),
            },
        })
    }

    /// Whether `c` has the configured quorum of cosignatures.
    pub fn is_witnessed(&self, c: &SignedCheckpoint) -> bool {
        c.cosignatures >= self.inner.quorum
    }

    /// The checkpoint the public `/checkpoint` serves: the latest witnessed one when witnesses are
    /// configured, else the latest.
    pub async fn public_checkpoint(&self) -> Result<SignedCheckpoint> {
        if self.inner.peers.is_empty() {
            self.get_checkpoint(CheckpointQuery::Latest).await
        } else {
            self.get_checkpoint(CheckpointQuery::Witnessed).await
        }
    }

    async fn size_or_latest(&self, size: u64, field: &str) -> Result<u64> {
        let (tree_size, _) = tree::state(&self.inner.db).await?;
        if size == 0 {
            return Ok(tree_size);
        }
        if size > tree_size {
            return Err(Error::InvalidArgument {
                field: field.into(),
                message: format!("{size} is larger than the log's tree ({tree_size})"),
            });
        }
        Ok(size)
    }

    /// The inclusion proof of one event in the tree of `size` (0: the latest).
    pub async fn inclusion_proof(&self, leaf: LeafRef, size: u64) -> Result<InclusionProof> {
        let db = &self.inner.db;
        let index = match &leaf {
            LeafRef::GlobalSeq(0) => {
                return Err(Error::InvalidArgument { field: "global_seq".into(), message: "starts at 1".into() });
            }
            LeafRef::GlobalSeq(s) => s - 1,
            LeafRef::Event { case_id, case_seq } => {
                if case_id.is_empty() {
                    return Err(Error::InvalidArgument { field: "event.case_id".into(), message: "is empty".into() });
                }
                tree::index_of(db, case_id, *case_seq).await?
            }
        };
        let size = self.size_or_latest(size, "tree_size").await?;
        if index >= size {
            return Err(Error::FailedPrecondition {
                rule: "log.integrated".into(),
                message: format!(
                    "the event with global_seq {} is not in the tree of size {size} yet; checkpoints follow within the checkpoint interval",
                    index + 1
                ),
            });
        }
        let leaf_data = tree::leaves(db, index, index + 1).await?[0];
        let hashes = tree::inclusion(db, index, size).await?;
        let root = tree::root_at(db, size).await?;
        Ok(InclusionProof { index, size, leaf_data, leaf_hash: merkle::leaf_hash(&leaf_data).0, hashes, root })
    }

    /// The consistency proof from the tree of `old` to that of `new` (0: the latest).
    pub async fn consistency_proof(&self, old: u64, new: u64) -> Result<ConsistencyProof> {
        let new = self.size_or_latest(new, "new_size").await?;
        if old > new {
            return Err(Error::InvalidArgument {
                field: "old_size".into(),
                message: format!("{old} is larger than new_size {new}"),
            });
        }
        let db = &self.inner.db;
        Ok(ConsistencyProof {
            old_size: old,
            new_size: new,
            hashes: tree::consistency(db, old, new).await?,
            old_root: tree::root_at(db, old).await?,
            new_root: tree::root_at(db, new).await?,
        })
    }

    /// Whether `note` carries a valid signature of this log's key.
    fn signed_by_this_log(&self, note: &str) -> bool {
        let Ok(verifier) = signed_note::StandardVerifier::new(&self.vkey()) else { return false };
        let verifiers = signed_note::VerifierList::new(vec![Box::new(verifier)]);
        signed_note::Note::from_bytes(note.as_bytes()).is_ok_and(|n| n.verify(&verifiers).is_ok())
    }

    /// The size of the last checkpoint this server signed, as kept outside the database.
    fn last_signed_size(&self) -> Option<u64> {
        let text = std::fs::read_to_string(&self.inner.last_file).ok()?;
        let body = text.split("\n\n").next().unwrap_or_default();
        let cp = tlog_tiles::Checkpoint::from_bytes(format!("{body}\n").as_bytes()).ok()?;
        (cp.origin() == self.origin()).then_some(cp.size())
    }

    /// Checks a case's events `(global_seq, event hash)` against the latest signed checkpoint:
    /// the checkpoint is signed by this log's key and not older than the last one this server
    /// signed; every event it includes is the leaf it holds (its inclusion proof verifies
    /// against the checkpoint's root); and every `global_seq` after `first` (the case's
    /// opening) up to the checkpoint's size still has its event row — a case whose last events
    /// were deleted and whose head was rewritten leaves logged leaves without rows.
    pub async fn check_events(&self, events: &[(u64, [u8; 32])], first: u64) -> Result<EventsCheck> {
        let db = &self.inner.db;
        // The file first: the sequencer writes it after its checkpoint commits, so the database
        // read next holds at least the file's checkpoint unless it was rolled back.
        let last_signed = self.last_signed_size();
        let Some(cp) = tree::checkpoint(db, None).await? else { return Ok(EventsCheck::default()) };
        let mut out = EventsCheck { size: cp.size, ..EventsCheck::default() };
        let log_problem = |message: String| LogProblem { global_seq: None, message };
        if !self.signed_by_this_log(&cp.note) {
            out.problems.push(log_problem(format!(
                "the latest stored checkpoint (size {}) is not signed by this log's key",
                cp.size
            )));
            return Ok(out);
        }
        if let Some(last) = last_signed.filter(|&last| last > cp.size) {
            out.problems.push(log_problem(format!(
                "this server signed a checkpoint of size {last} but the database's latest has size {}: the database was rolled back",
                cp.size
            )));
        }
        let within: Vec<(u64, [u8; 32])> = events.iter().copied().filter(|(g, _)| *g >= 1 && *g <= cp.size).collect();
        out.included = within.len() as u64;
        let leaves: Vec<(u64, [u8; 32])> = within.iter().map(|(g, hash)| (g - 1, *hash)).collect();
        match tree::unproven_leaves(db, &leaves, cp.size, cp.root).await {
            Ok(unproven) => {
                for index in unproven {
                    out.problems.push(LogProblem {
                        global_seq: Some(index + 1),
                        message: format!(
                            "the event is not the leaf {index} of the log's signed checkpoint of size {}: it was changed after it was logged",
                            cp.size
                        ),
                    });
                }
            }
            Err(e) => out.problems.push(log_problem(format!("the log's stored tree cannot prove the events: {e}"))),
        }
        if first >= 1 && first < cp.size {
            for g in tree::missing_events(db, first, cp.size, MAX_MISSING_NAMED).await? {
                out.problems.push(LogProblem {
                    global_seq: Some(g),
                    message: format!(
                        "the log's signed checkpoint of size {} holds the event with global_seq {g}, logged after this case was opened, but the events table no longer has it: an event was deleted (this case's removed tail, if its head was rewritten, or another case's)",
                        cp.size
                    ),
                });
            }
        }
        Ok(out)
    }

    /// The export statement (docs/CHAIN.md §6.1): a C2SP signed note, signed with the log's
    /// key, of the body `sanxiang/case-export/v1\n<origin>\n<SHA-256 of manifest.json, hex>\n`.
    /// Its first line can never be a checkpoint's origin line of this log, so the statement
    /// cannot be mistaken for a checkpoint.
    pub fn sign_export(&self, manifest_sha256: &str) -> Result<String> {
        let body = format!("{EXPORT_STATEMENT}\n{}\n{manifest_sha256}\n", self.origin());
        let mut note = signed_note::Note::new(body.as_bytes(), &[])
            .map_err(|e| Error::Internal(format!("export statement: {e}")))?;
        note.add_sigs(&[&self.inner.key]).map_err(|e| Error::Internal(format!("signing the export: {e}")))?;
        String::from_utf8(note.to_bytes()).map_err(|e| Error::Internal(format!("export statement: {e}")))
    }

    /// The inclusion proofs of the events `global_seqs` in the tree of `size`.
    pub async fn inclusion_proofs(&self, global_seqs: &[u64], size: u64) -> Result<Vec<Vec<[u8; 32]>>> {
        let indexes: Vec<u64> = global_seqs.iter().map(|g| g.saturating_sub(1)).collect();
        tree::inclusions(&self.inner.db, &indexes, size).await
    }

    /// The tree's size (what tiles are served up to).
    pub async fn tree_size(&self) -> Result<u64> {
        Ok(tree::state(&self.inner.db).await?.0)
    }

    /// A hash tile (level `level`, index `n`, `width` hashes).
    pub async fn hash_tile(&self, level: u8, n: u64, width: u64) -> Result<Vec<u8>> {
        let size = self.tree_size().await?;
        tree::hash_tile(&self.inner.db, size, level, n, width).await
    }

    /// An entry bundle (index `n`, `width` entries).
    pub async fn entry_bundle(&self, n: u64, width: u64) -> Result<Vec<u8>> {
        let size = self.tree_size().await?;
        tree::entry_bundle(&self.inner.db, size, n, width).await
    }
}

/// The checkpoint body of a signed note: its text up to the blank line, with its final newline.
pub fn checkpoint_body_of(note: &str) -> String {
    match note.split_once("\n\n") {
        Some((body, _)) => format!("{body}\n"),
        None => note.to_owned(),
    }
}
