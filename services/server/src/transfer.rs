//! Moving evidence and archives: `evidence upload` (hashing, streaming, resuming), `evidence
//! download` and `case export`, with progress bars on a terminal (rate and time left).
//!
//! An upload remembers its id in a small state file under the user's cache directory
//! (`$XDG_CACHE_HOME/sanxiang/uploads.json`, else `~/.cache/…`), keyed by endpoint, case and file
//! digest: the same command run again after an interruption resumes where the server's durable
//! bytes end instead of starting over.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sanxiang_api::convert::timestamp;
use sanxiang_domain::{Sha256Digest, SystemClock, TimeProvider};
use sanxiang_proto::v1 as pb;
use sanxiang_proto::v1::record_service_client::RecordServiceClient;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use crate::client::Intercepted;
use crate::server::StartError;

/// Bytes per upload message.
const UPLOAD_CHUNK: usize = 1024 * 1024;

/// A progress bar on stderr, drawn only when stderr is a terminal.
fn bar(what: &str, len: Option<u64>) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(len, ProgressDrawTarget::stderr());
    let template = if len.is_some() {
        "{msg:>10} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}"
    } else {
        "{msg:>10} {bytes} {binary_bytes_per_sec}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_owned());
    bar
}

/// The client's memory of unfinished uploads.
#[derive(Debug)]
pub struct UploadState {
    path: Option<PathBuf>,
}

impl UploadState {
    /// The state file of this user (none if neither `XDG_CACHE_HOME` nor `HOME` is set).
    pub fn for_user() -> Self {
        let dir = std::env::var_os("XDG_CACHE_HOME")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").filter(|d| !d.is_empty()).map(|h| PathBuf::from(h).join(".cache")));
        Self { path: dir.map(|d| d.join("sanxiang").join("uploads.json")) }
    }

    fn key(endpoint: &str, case_id: &str, digest: &Sha256Digest) -> String {
        format!("{endpoint} {case_id} {}", digest.to_hex())
    }

    fn load(&self) -> BTreeMap<String, String> {
        self.path
            .as_ref()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    fn save(&self, map: &BTreeMap<String, String>) {
        let Some(path) = &self.path else { return };
        let write = || -> std::io::Result<()> {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let tmp = path.with_extension("json.tmp");
            std::fs::write(&tmp, serde_json::to_vec_pretty(map).unwrap_or_default())?;
            std::fs::rename(&tmp, path)
        };
        if let Err(e) = write() {
            eprintln!("sanxiang: note: cannot remember the upload in {}: {e}", path.display());
        }
    }

    /// The upload id remembered for this file and case, if any.
    pub fn get(&self, endpoint: &str, case_id: &str, digest: &Sha256Digest) -> Option<String> {
        self.load().remove(&Self::key(endpoint, case_id, digest))
    }

    fn remember(&self, endpoint: &str, case_id: &str, digest: &Sha256Digest, upload_id: &str) {
        let mut map = self.load();
        map.insert(Self::key(endpoint, case_id, digest), upload_id.to_owned());
        self.save(&map);
    }

    fn forget(&self, endpoint: &str, case_id: &str, digest: &Sha256Digest) {
        let mut map = self.load();
        if map.remove(&Self::key(endpoint, case_id, digest)).is_some() {
            self.save(&map);
        }
    }
}

/// What `evidence upload` was asked to do.
#[derive(Debug)]
pub struct UploadRequest {
    /// The server's endpoint (part of the resume key, and named in messages).
    pub endpoint: String,
    /// The case.
    pub case_id: String,
    /// The file.
    pub file: PathBuf,
    /// Its media type.
    pub media_type: String,
    /// The capturing officer.
    pub officer: String,
    /// The capturing device.
    pub device: String,
    /// When it was captured.
    pub captured_at: Option<prost_types::Timestamp>,
    /// An explicit upload id (else the remembered one, else a fresh one).
    pub upload_id: Option<String>,
    /// Most bytes per second to send (shared links), if limited.
    pub limit_rate: Option<u64>,
}

async fn open(path: &Path) -> Result<(tokio::fs::File, u64), StartError> {
    let f = tokio::fs::File::open(path).await.map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let len = f.metadata().await.map_err(|e| format!("cannot read {}: {e}", path.display()))?.len();
    Ok((f, len))
}

async fn hash(f: &mut tokio::fs::File, len: u64, path: &Path) -> Result<Sha256Digest, StartError> {
    let progress = bar("hashing", Some(len));
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; UPLOAD_CHUNK];
    loop {
        let n = f.read(&mut buf).await.map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        progress.inc(n as u64);
    }
    progress.finish_and_clear();
    Ok(hasher.finalize().into())
}

/// Whether a failed upload can be resumed (the server keeps what is durable), or was refused.
fn resumable(status: &tonic::Status) -> bool {
    use tonic::Code::*;
    matches!(status.code(), Unavailable | Cancelled | DeadlineExceeded | Unknown | Aborted | Internal)
}

fn resume_hint(id: &str) -> String {
    format!("run the same command again to resume (it remembers upload id {id}; or pass --upload-id {id})")
}

/// Uploads a file as evidence; returns the server's answer.
pub async fn upload(
    record: &mut RecordServiceClient<Intercepted>,
    req: UploadRequest,
) -> Result<pb::UploadEvidenceResponse, StartError> {
    let (mut f, size) = open(&req.file).await?;
    // The case first: a wrong case is said at once, not after hashing gigabytes.
    record.get_case(pb::GetCaseRequest { case_id: req.case_id.clone() }).await?;
    let digest = hash(&mut f, size, &req.file).await?;
    let state = UploadState::for_user();
    let remembered = state.get(&req.endpoint, &req.case_id, &digest);
    let mut upload_id = req.upload_id.clone().or(remembered).unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let offset = match record.get_upload(pb::GetUploadRequest { upload_id: upload_id.clone() }).await {
        // The server removed an abandoned upload's parts (its staging expiry): that id can no
        // longer be resumed, so the file goes up again under a new one.
        Ok(u) if u.get_ref().expired => {
            let fresh = uuid::Uuid::now_v7().to_string();
            eprintln!(
                "upload {upload_id} expired on the server (its stored parts were removed after the server's staging \
                 expiry): starting afresh as upload {fresh}"
            );
            upload_id = fresh;
            0
        }
        Ok(u) => u.into_inner().durable_offset,
        Err(s) if s.code() == tonic::Code::NotFound => 0,
        Err(s) => return Err(s.into()),
    };
    state.remember(&req.endpoint, &req.case_id, &digest, &upload_id);
    if offset > 0 {
        eprintln!("resuming upload {upload_id}: {offset} of {size} bytes are already on the server");
    }
    f.seek(std::io::SeekFrom::Start(offset)).await.map_err(|e| format!("cannot read {}: {e}", req.file.display()))?;
    let header = pb::UploadHeader {
        upload_id: upload_id.clone(),
        case_id: req.case_id.clone(),
        media_type: req.media_type,
        captured_at: Some(req.captured_at.unwrap_or_else(|| timestamp(SystemClock.now()))),
        device_id: req.device,
        device_reviewed: false,
        officer_id: req.officer,
        sha256: digest.to_hex(),
        size: Some(size),
        offset,
    };
    let progress = bar("uploading", Some(size));
    progress.set_position(offset);
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let sender = progress.clone();
    let limit_rate = req.limit_rate;
    tokio::spawn(async move {
        use pb::upload_evidence_request::Part;
        if tx.send(pb::UploadEvidenceRequest { part: Some(Part::Header(header)) }).await.is_err() {
            return;
        }
        let started = Instant::now();
        let mut sent = 0u64;
        let mut buf = vec![0u8; UPLOAD_CHUNK];
        loop {
            let want = limit_rate.map_or(UPLOAD_CHUNK, |r| UPLOAD_CHUNK.min(r.max(1) as usize));
            match f.read(&mut buf[..want]).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let chunk = bytes::Bytes::copy_from_slice(&buf[..n]);
                    if tx.send(pb::UploadEvidenceRequest { part: Some(Part::Chunk(chunk)) }).await.is_err() {
                        break;
                    }
                    sent += n as u64;
                    sender.inc(n as u64);
                    if let Some(rate) = limit_rate {
                        let due = Duration::from_secs_f64(sent as f64 / rate.max(1) as f64);
                        tokio::time::sleep(due.saturating_sub(started.elapsed())).await;
                    }
                }
            }
        }
    });
    let call = record.upload_evidence(tokio_stream::wrappers::ReceiverStream::new(rx));
    let result = tokio::select! {
        r = call => r,
        _ = tokio::signal::ctrl_c() => {
            progress.abandon();
            eprintln!("\ninterrupted: the server keeps what it has stored; {}", resume_hint(&upload_id));
            std::process::exit(130);
        }
    };
    match result {
        Ok(r) => {
            progress.finish_and_clear();
            state.forget(&req.endpoint, &req.case_id, &digest);
            Ok(r.into_inner())
        }
        Err(status) => {
            progress.abandon();
            if resumable(&status) {
                eprintln!("sanxiang: the upload was interrupted; {}", resume_hint(&upload_id));
            } else {
                // Refused: the server discarded the session, so a new run starts afresh.
                state.forget(&req.endpoint, &req.case_id, &digest);
            }
            Err(status.into())
        }
    }
}

async fn create(out: &Path) -> Result<tokio::fs::File, StartError> {
    tokio::fs::File::create(out).await.map_err(|e| format!("cannot create {}: {e}", out.display()).into())
}

/// Downloads an evidence item to `out`; returns the bytes written.
pub async fn download(
    record: &mut RecordServiceClient<Intercepted>,
    evidence_id: String,
    reason: String,
    out: &Path,
) -> Result<u64, StartError> {
    let mut stream = record.download_evidence(pb::DownloadEvidenceRequest { evidence_id, reason }).await?.into_inner();
    let mut file = create(out).await?;
    let mut progress = bar("downloading", None);
    let mut n = 0u64;
    while let Some(msg) = stream.message().await? {
        match msg.part {
            Some(pb::download_evidence_response::Part::Evidence(e)) => {
                progress.finish_and_clear();
                progress = bar("downloading", Some(e.size));
            }
            Some(pb::download_evidence_response::Part::Chunk(c)) => {
                n += c.len() as u64;
                file.write_all(&c).await.map_err(|e| format!("cannot write {}: {e}", out.display()))?;
                progress.inc(c.len() as u64);
            }
            None => {}
        }
    }
    file.sync_all().await.map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    progress.finish_and_clear();
    Ok(n)
}

/// Exports a case's archive to `out`; returns the bytes written.
pub async fn export(
    record: &mut RecordServiceClient<Intercepted>,
    case_id: String,
    out: &Path,
) -> Result<u64, StartError> {
    let mut stream = record.export_case(pb::ExportCaseRequest { case_id }).await?.into_inner();
    let mut file = create(out).await?;
    let progress = bar("exporting", None);
    let mut n = 0u64;
    while let Some(msg) = stream.message().await? {
        n += msg.chunk.len() as u64;
        file.write_all(&msg.chunk).await.map_err(|e| format!("cannot write {}: {e}", out.display()))?;
        progress.inc(msg.chunk.len() as u64);
    }
    file.sync_all().await.map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    progress.finish_and_clear();
    Ok(n)
}
