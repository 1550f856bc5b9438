//! The evidence vault: content-addressed, write-once objects over object_store.
//!
//! Layout inside the store:
//! - `sha256/<first two hex digits>/<64 hex digits>`: evidence content, keyed by its SHA-256,
//!   written once and never overwritten;
//! - `uploads/<upload id>/<part number>`: the durable parts of an upload in progress, so an
//!   interrupted upload resumes from the last stored part; removed once the upload completes
//!   or is refused (object stores other than local files);
//! - `uploads/<upload id>.staging`: on local files, the one file an upload in progress is
//!   written to, part after part (each part `fsync`ed before it counts as durable); completing
//!   the upload hard-links this file to its content address, so its bytes are written once.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use sanxiang_domain::{Error, Sha256Digest};
use sha2::{Digest, Sha256};

/// Evidence storage. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Vault {
    store: Arc<dyn ObjectStore>,
    /// The root directory when the store is local files: uploads are then staged in one file
    /// and linked into place instead of copied.
    local: Option<Arc<std::path::PathBuf>>,
    /// One stream at a time per upload id (see [`Vault::lock_upload`]).
    uploads: Arc<std::sync::Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>>,
}

/// Held while a stream writes an upload: see [`Vault::lock_upload`].
#[derive(Debug)]
pub struct UploadLock {
    _guard: tokio::sync::OwnedMutexGuard<()>,
}

/// Maps an object-store error onto the public categories.
pub fn store_error(err: object_store::Error) -> Error {
    match err {
        object_store::Error::NotFound { path, .. } => {
            tracing::error!(%path, "evidence object missing");
            Error::DataLoss(format!("evidence object {path} is missing from the object store"))
        }
        other => {
            tracing::warn!(error = %other, "object store unavailable");
            Error::Unavailable("the object store is unavailable; retry later".into())
        }
    }
}

impl Vault {
    /// A vault over any object store.
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self { store, local: None, uploads: Arc::default() }
    }

    /// A vault in a local directory, created if missing.
    pub fn local(dir: &std::path::Path) -> Result<Self, object_store::Error> {
        let generic = |e: std::io::Error| object_store::Error::Generic { store: "local", source: Box::new(e) };
        std::fs::create_dir_all(dir).map_err(generic)?;
        // Evidence is for the service's user only.
        #[cfg(unix)]
        std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o700)).map_err(generic)?;
        let root = std::fs::canonicalize(dir).map_err(generic)?;
        let mut vault = Self::new(Arc::new(LocalFileSystem::new_with_prefix(&root)?));
        vault.local = Some(Arc::new(root));
        Ok(vault)
    }

    /// A vault in an S3 bucket (`s3://bucket[/prefix]`), with endpoint, region and credentials
    /// from the usual AWS environment variables overridden by `options`.
    pub fn s3(url: &str, options: &[(String, String)]) -> Result<Self, object_store::Error> {
        // Bounded retries: an unreachable store must surface as UNAVAILABLE within seconds, not
        // after the library's default of several minutes.
        let retry = object_store::RetryConfig {
            backoff: object_store::BackoffConfig::default(),
            max_retries: S3_MAX_RETRIES,
            retry_timeout: S3_RETRY_TIMEOUT,
        };
        let mut builder = AmazonS3Builder::from_env().with_url(url).with_retry(retry);
        for (key, value) in options {
            builder = builder.with_config(key.parse()?, value);
        }
        Ok(Self::new(Arc::new(builder.build()?)))
    }

    /// The underlying store (for tests that tamper with objects).
    pub fn object_store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// Where content with this digest lives.
    pub fn object_path(digest: &Sha256Digest) -> Path {
        let hex = digest.to_hex();
        Path::from(format!("sha256/{}/{hex}", &hex[..2]))
    }

    fn part_path(upload_id: &str, index: u64) -> Path {
        Path::from(format!("uploads/{upload_id}/{index:010}"))
    }

    /// Stores part `index` of an upload durably.
    pub async fn put_part(&self, upload_id: &str, index: u64, data: Bytes) -> Result<(), Error> {
        self.store.put(&Self::part_path(upload_id, index), PutPayload::from_bytes(data)).await.map_err(store_error)?;
        Ok(())
    }

    /// The stored parts `0..parts` of an upload, in order.
    pub fn read_parts(&self, upload_id: &str, parts: u64) -> BoxStream<'static, Result<Bytes, Error>> {
        let store = Arc::clone(&self.store);
        let upload_id = upload_id.to_owned();
        futures::stream::iter(0..parts)
            .then(move |i| {
                let store = Arc::clone(&store);
                let path = Self::part_path(&upload_id, i);
                async move {
                    Ok::<_, Error>(store.get(&path).await.map_err(store_error)?.into_stream().map_err(store_error))
                }
            })
            .try_flatten()
            .boxed()
    }

    /// Removes the stored parts `0..parts` of an upload.
    pub async fn delete_parts(&self, upload_id: &str, parts: u64) -> Result<(), Error> {
        for i in 0..parts {
            match self.store.delete(&Self::part_path(upload_id, i)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(store_error(e)),
            }
        }
        Ok(())
    }

    /// Whether content with this digest is stored.
    pub async fn contains(&self, digest: &Sha256Digest) -> Result<bool, Error> {
        match self.store.head(&Self::object_path(digest)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(store_error(e)),
        }
    }

    /// Stores `data` under its digest unless already there (write-once). Returns whether a new
    /// object was written.
    pub async fn put_object(&self, digest: &Sha256Digest, data: Bytes) -> Result<bool, Error> {
        // Some S3-compatible servers (Garage among them) ignore `If-None-Match: *` and would
        // overwrite; look first, and keep the conditional put for the servers that honour it.
        if self.contains(digest).await? {
            return Ok(false);
        }
        let opts = PutOptions { mode: PutMode::Create, ..Default::default() };
        match self.store.put_opts(&Self::object_path(digest), PutPayload::from_bytes(data), opts).await {
            Ok(_) => {
                // A complete object is never written again: read-only on local files.
                if let Some(root) = &self.local {
                    let object = root.join(Self::object_path(digest).as_ref());
                    blocking(move || {
                        std::fs::set_permissions(object, std::os::unix::fs::PermissionsExt::from_mode(0o400))
                    })
                    .await?;
                }
                Ok(true)
            }
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(store_error(e)),
        }
    }

    /// Copies the parts of an upload, whose content has `digest`, into the content-addressed
    /// object (multipart, so memory stays bounded by one part). Returns whether a new object was
    /// written; an object already stored under the digest is kept as it is.
    pub async fn commit_parts(&self, upload_id: &str, parts: u64, digest: &Sha256Digest) -> Result<bool, Error> {
        if self.contains(digest).await? {
            return Ok(false);
        }
        let path = Self::object_path(digest);
        let mut upload = self.store.put_multipart(&path).await.map_err(store_error)?;
        let mut parts_stream = self.read_parts(upload_id, parts);
        let mut buffer: Vec<Bytes> = Vec::new();
        let mut buffered = 0usize;
        let result: Result<(), Error> = async {
            while let Some(chunk) = parts_stream.next().await {
                let chunk = chunk?;
                buffered += chunk.len();
                buffer.push(chunk);
                // S3 needs parts of at least 5 MiB except the last.
                if buffered >= MULTIPART_PART_SIZE {
                    let payload: PutPayload = std::mem::take(&mut buffer).into_iter().collect();
                    buffered = 0;
                    upload.put_part(payload).await.map_err(store_error)?;
                }
            }
            if buffered > 0 || buffer.is_empty() {
                let payload: PutPayload = std::mem::take(&mut buffer).into_iter().collect();
                upload.put_part(payload).await.map_err(store_error)?;
            }
            Ok(())
        }
        .await;
        match result {
            Ok(()) => {
                upload.complete().await.map_err(store_error)?;
                Ok(true)
            }
            Err(e) => {
                let _ = upload.abort().await;
                Err(e)
            }
        }
    }

    /// Streams the content stored under `digest`.
    pub async fn open(&self, digest: &Sha256Digest) -> Result<BoxStream<'static, Result<Bytes, Error>>, Error> {
        let got = self.store.get(&Self::object_path(digest)).await.map_err(store_error)?;
        Ok(got.into_stream().map_err(store_error).boxed())
    }

    /// Re-reads the content stored under `digest` and returns its actual digest and size.
    pub async fn rehash(&self, digest: &Sha256Digest) -> Result<(Sha256Digest, u64), Error> {
        let mut stream = self.open(digest).await?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            size += chunk.len() as u64;
            hasher.update(&chunk);
        }
        Ok((hasher.finalize().into(), size))
    }
}

impl Vault {
    /// Waits until no other stream of this process writes upload `upload_id`, and keeps others
    /// out while the returned lock lives. A stream takes it before it reads the upload's durable
    /// offset, so parts are written by one stream at a time and in order.
    pub async fn lock_upload(&self, upload_id: &str) -> UploadLock {
        let mutex = {
            let mut map = self.uploads.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            map.retain(|_, m| m.strong_count() > 0);
            match map.get(upload_id).and_then(Weak::upgrade) {
                Some(m) => m,
                None => {
                    let m = Arc::new(tokio::sync::Mutex::new(()));
                    map.insert(upload_id.to_owned(), Arc::downgrade(&m));
                    m
                }
            }
        };
        UploadLock { _guard: mutex.lock_owned().await }
    }

    fn staging_file(&self, upload_id: &str) -> Option<std::path::PathBuf> {
        self.local.as_ref().map(|root| root.join("uploads").join(format!("{upload_id}.staging")))
    }

    /// Stores part `index` of an upload durably; `offset` is the upload's durable offset before
    /// it (the sum of the earlier parts). The caller holds [`Self::lock_upload`].
    pub async fn stage_part(&self, upload_id: &str, index: u64, offset: u64, data: Vec<Bytes>) -> Result<(), Error> {
        let Some(path) = self.staging_file(upload_id) else {
            let payload: PutPayload = data.into_iter().collect();
            self.store.put(&Self::part_path(upload_id, index), payload).await.map_err(store_error)?;
            return Ok(());
        };
        blocking(move || {
            use std::os::unix::fs::FileExt;
            let file = if index == 0 {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                // A fresh upload starts a fresh file: never reuse an inode that may already be
                // linked to a content address.
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
                // Staged evidence is readable by the service's user only.
                std::os::unix::fs::OpenOptionsExt::mode(std::fs::OpenOptions::new().write(true).create_new(true), 0o600)
                    .open(&path)?
            } else {
                open_staged(&path, true)?
            };
            // Bytes past the durable offset are from an attempt that did not complete.
            file.set_len(offset)?;
            let mut at = offset;
            for chunk in &data {
                file.write_all_at(chunk, at)?;
                at += chunk.len() as u64;
            }
            file.sync_data()
        })
        .await
    }

    /// The first `len` staged bytes of an upload (parts `0..parts`), in order.
    pub fn read_staged(&self, upload_id: &str, parts: u64, len: u64) -> BoxStream<'static, Result<Bytes, Error>> {
        let Some(path) = self.staging_file(upload_id) else {
            return self.read_parts(upload_id, parts);
        };
        let file = Arc::new(std::sync::Mutex::new(None::<std::fs::File>));
        futures::stream::iter((0..len).step_by(READ_CHUNK))
            .then(move |at| {
                let (path, file) = (path.clone(), Arc::clone(&file));
                blocking(move || {
                    use std::os::unix::fs::FileExt;
                    let mut slot = file.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    if slot.is_none() {
                        *slot = Some(open_staged(&path, false)?);
                    }
                    let n = usize::try_from((len - at).min(READ_CHUNK as u64)).unwrap_or(READ_CHUNK);
                    let mut buf = vec![0u8; n];
                    if let Some(f) = slot.as_ref() {
                        f.read_exact_at(&mut buf, at)?;
                    }
                    Ok(Bytes::from(buf))
                })
            })
            .boxed()
    }

    /// Makes the staged upload (parts `0..parts`, `len` bytes, content `digest`) the
    /// content-addressed object, write-once. Returns whether a new object was written; an object
    /// already stored under the digest is kept as it is. On local files the staged file is
    /// hard-linked into place (no copy) and its staging name removed.
    pub async fn commit_staged(
        &self,
        upload_id: &str,
        parts: u64,
        len: u64,
        digest: &Sha256Digest,
    ) -> Result<bool, Error> {
        let (Some(path), Some(root)) = (self.staging_file(upload_id), self.local.clone()) else {
            return self.commit_parts(upload_id, parts, digest).await;
        };
        if self.contains(digest).await? {
            return Ok(false);
        }
        let object = root.join(Self::object_path(digest).as_ref());
        blocking(move || {
            let file = open_staged(&path, true)?;
            match file.metadata()?.len() {
                n if n == len => {}
                n if n > len => {
                    file.set_len(len)?;
                    file.sync_data()?;
                }
                n => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        format!("staged upload holds {n} bytes, {len} expected"),
                    ));
                }
            }
            let dir = object.parent().map(std::path::Path::to_path_buf).unwrap_or_default();
            std::fs::create_dir_all(&dir)?;
            let created = match std::fs::hard_link(&path, &object) {
                Ok(()) => true,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
                Err(e) => return Err(e),
            };
            // The link must survive a crash as the object's bytes do (synced part by part).
            std::fs::File::open(&dir)?.sync_all()?;
            if created {
                // A complete object is never written again: read-only (the link shares the inode).
                std::fs::set_permissions(&object, std::os::unix::fs::PermissionsExt::from_mode(0o400))?;
                std::fs::remove_file(&path)?;
            }
            Ok(created)
        })
        .await
    }

    /// Removes what an upload staged (parts `0..parts`).
    pub async fn discard_staged(&self, upload_id: &str, parts: u64) -> Result<(), Error> {
        let Some(path) = self.staging_file(upload_id) else {
            return self.delete_parts(upload_id, parts).await;
        };
        blocking(move || match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        })
        .await
    }
}

/// Opens an upload's staging file. Refuses a file that is also linked elsewhere: it was
/// committed (its content address shares the inode) and must never be written again.
fn open_staged(path: &std::path::Path, write: bool) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::MetadataExt;
    let file = std::fs::OpenOptions::new().read(true).write(write).open(path)?;
    if file.metadata()?.nlink() != 1 {
        return Err(std::io::Error::other("the staged upload was already committed"));
    }
    Ok(file)
}

/// Runs blocking file work off the async threads; a missing staging file is data loss (the
/// upload's durable parts are gone), anything else makes the store unavailable.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> std::io::Result<T> + Send + 'static) -> Result<T, Error> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::UnexpectedEof) => {
            tracing::error!(error = %e, "staged upload missing or short");
            Err(Error::DataLoss(format!("the stored parts of the upload are missing: {e}")))
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "local evidence store unavailable");
            Err(Error::Unavailable("the object store is unavailable; retry later".into()))
        }
        Err(e) => Err(Error::Internal(format!("evidence file task failed: {e}"))),
    }
}

/// Size of the reads of a staged upload.
const READ_CHUNK: usize = 1 << 20;

/// Retries of one S3 request before the error reaches the caller.
const S3_MAX_RETRIES: usize = 3;

/// Longest time spent retrying one S3 request.
const S3_RETRY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Size of the parts written to the object store when assembling a staged upload: above S3's
/// 5 MiB minimum, small enough to keep memory bounded.
pub const MULTIPART_PART_SIZE: usize = 8 * 1024 * 1024;
