//! Staging: where the durable parts of an upload in progress live until the upload completes,
//! and how they become the content-addressed object.
//!
//! Two implementations, chosen by the vault once: [`LocalStaging`] writes one file per upload
//! (`uploads/<id>.staging`, `fsync`ed per part) and hard-links it into place, so every byte is
//! written once; [`ObjectStaging`] stores each part as an object (`uploads/<id>/<n>`) and
//! assembles them by a multipart copy (S3, or any other object store).

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use sanxiang_domain::{Error, Sha256Digest};

use crate::vault::{Vault, contains, io_error, store_error};

/// Where an upload's durable parts are kept. Part `n` holds the bytes from the sum of parts
/// `0..n` on; the caller writes parts in order, one at a time per upload (it holds
/// [`Vault::lock_upload`]).
#[async_trait::async_trait]
pub trait Staging: Send + Sync + std::fmt::Debug {
    /// Stores part `index` of `upload`, starting at byte `offset`, durably: once this returns,
    /// the part survives a crash of the process or the host. Writing a part again (a retry
    /// after a failure or a crash) replaces it and whatever was staged after it.
    async fn put_part(&self, upload: &str, index: u64, offset: u64, data: Vec<Bytes>) -> Result<(), Error>;

    /// The first `len` staged bytes of `upload` (parts `0..parts`), in order. Missing parts are
    /// data loss.
    fn read(&self, upload: &str, parts: u64, len: u64) -> BoxStream<'static, Result<Bytes, Error>>;

    /// Makes the staged content (parts `0..parts`, `len` bytes, content `digest`) the
    /// content-addressed object, write-once. Returns whether a new object was written; an
    /// object already stored under the digest is kept as it is.
    async fn commit(&self, upload: &str, parts: u64, len: u64, digest: &Sha256Digest) -> Result<bool, Error>;

    /// Removes what is staged for `upload` (parts `0..parts`, and a part stored after them whose
    /// upload row was never advanced). Nothing staged is not an error.
    async fn discard(&self, upload: &str, parts: u64) -> Result<(), Error>;

    /// Makes a complete object read-only where the store has permissions (0400 on local files):
    /// content-addressed evidence is never written again. Nothing to do on object stores.
    async fn seal(&self, digest: &Sha256Digest) -> Result<(), Error>;
}

/// Staging on local files: one file per upload, linked to its content address at the end.
#[derive(Debug, Clone)]
pub struct LocalStaging {
    root: Arc<PathBuf>,
    store: Arc<dyn ObjectStore>,
}

impl LocalStaging {
    /// Staging under `root`, the directory `store` serves.
    pub fn new(root: PathBuf, store: Arc<dyn ObjectStore>) -> Self {
        Self { root: Arc::new(root), store }
    }

    fn file(&self, upload: &str) -> PathBuf {
        self.root.join("uploads").join(format!("{upload}.staging"))
    }
}

#[async_trait::async_trait]
impl Staging for LocalStaging {
    async fn put_part(&self, upload: &str, index: u64, offset: u64, data: Vec<Bytes>) -> Result<(), Error> {
        let path = self.file(upload);
        blocking(move || {
            use std::os::unix::fs::FileExt;
            let file = if index == 0 {
                let dir = path.parent().map(std::path::Path::to_path_buf).unwrap_or_default();
                std::fs::create_dir_all(&dir)?;
                // A fresh upload starts a fresh file: never reuse an inode that may already be
                // linked to a content address.
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
                // Staged evidence is readable by the service's user only.
                let file = std::os::unix::fs::OpenOptionsExt::mode(
                    std::fs::OpenOptions::new().write(true).create_new(true),
                    0o600,
                )
                .open(&path)?;
                // The file's name must survive a crash as its bytes do.
                std::fs::File::open(&dir)?.sync_all()?;
                file
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

    fn read(&self, upload: &str, _parts: u64, len: u64) -> BoxStream<'static, Result<Bytes, Error>> {
        let path = self.file(upload);
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

    async fn commit(&self, upload: &str, _parts: u64, len: u64, digest: &Sha256Digest) -> Result<bool, Error> {
        if contains(self.store.as_ref(), digest).await? {
            return Ok(false);
        }
        let path = self.file(upload);
        let object = self.root.join(Vault::object_path(digest).as_ref());
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
                // The inode is the object now: read-only, and never written again under the
                // staging name.
                std::fs::set_permissions(&object, std::os::unix::fs::PermissionsExt::from_mode(0o400))?;
                std::fs::remove_file(&path)?;
            }
            Ok(created)
        })
        .await
    }

    async fn discard(&self, upload: &str, _parts: u64) -> Result<(), Error> {
        let path = self.file(upload);
        blocking(move || match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        })
        .await
    }

    async fn seal(&self, digest: &Sha256Digest) -> Result<(), Error> {
        let object = self.root.join(Vault::object_path(digest).as_ref());
        blocking(move || std::fs::set_permissions(object, std::os::unix::fs::PermissionsExt::from_mode(0o400))).await
    }
}

/// Staging in any object store: one object per part, assembled by a multipart copy.
#[derive(Debug, Clone)]
pub struct ObjectStaging {
    store: Arc<dyn ObjectStore>,
}

impl ObjectStaging {
    /// Staging in `store`.
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self { store }
    }

    fn part_path(upload: &str, index: u64) -> Path {
        Path::from(format!("uploads/{upload}/{index:010}"))
    }
}

#[async_trait::async_trait]
impl Staging for ObjectStaging {
    async fn put_part(&self, upload: &str, index: u64, _offset: u64, data: Vec<Bytes>) -> Result<(), Error> {
        let payload: PutPayload = data.into_iter().collect();
        self.store.put(&Self::part_path(upload, index), payload).await.map_err(store_error)?;
        Ok(())
    }

    fn read(&self, upload: &str, parts: u64, _len: u64) -> BoxStream<'static, Result<Bytes, Error>> {
        let store = Arc::clone(&self.store);
        let upload = upload.to_owned();
        // The next part's GET is sent while the current one's body streams.
        futures::stream::iter(0..parts)
            .map(move |i| {
                let store = Arc::clone(&store);
                let path = Self::part_path(&upload, i);
                async move {
                    Ok::<_, Error>(store.get(&path).await.map_err(store_error)?.into_stream().map_err(store_error))
                }
            })
            .buffered(2)
            .try_flatten()
            .boxed()
    }

    async fn commit(&self, upload: &str, parts: u64, len: u64, digest: &Sha256Digest) -> Result<bool, Error> {
        if contains(self.store.as_ref(), digest).await? {
            return Ok(false);
        }
        let target = self.store.put_multipart(&Vault::object_path(digest)).await.map_err(store_error)?;
        // Parts of MULTIPART_PART_SIZE (S3 needs at least 5 MiB except the last), a few sent at
        // once while the staged parts are read; an empty object gets the one empty part S3
        // requires from the store's own completion.
        let mut writer = WriteMultipart::new_with_chunk_size(target, MULTIPART_PART_SIZE);
        let mut stream = self.read(upload, parts, len);
        let copied: Result<(), Error> = async {
            while let Some(chunk) = stream.next().await {
                let chunk = chunk?;
                writer.wait_for_capacity(PARTS_IN_FLIGHT).await.map_err(store_error)?;
                writer.put(chunk);
            }
            Ok(())
        }
        .await;
        match copied {
            Ok(()) => {
                writer.finish().await.map_err(store_error)?;
                Ok(true)
            }
            Err(e) => {
                let _ = writer.abort().await;
                Err(e)
            }
        }
    }

    async fn discard(&self, upload: &str, parts: u64) -> Result<(), Error> {
        for i in 0..=parts {
            match self.store.delete(&Self::part_path(upload, i)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(store_error(e)),
            }
        }
        Ok(())
    }

    async fn seal(&self, _digest: &Sha256Digest) -> Result<(), Error> {
        // Objects are immutable by the store's own rules; access is the bucket's policy.
        Ok(())
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

/// Runs blocking file work off the async threads; a missing or short staging file is data loss
/// (the upload's durable parts are gone), other failures are mapped by [`io_error`].
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> std::io::Result<T> + Send + 'static) -> Result<T, Error> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::UnexpectedEof) => {
            tracing::error!(error = %e, "staged upload missing or short");
            Err(Error::DataLoss(format!("the stored parts of the upload are missing: {e}")))
        }
        Ok(Err(e)) => Err(io_error(&e)),
        Err(e) => Err(Error::Internal(format!("evidence file task failed: {e}"))),
    }
}

/// Size of the reads of a staged upload.
const READ_CHUNK: usize = 1 << 20;

/// Size of the parts written to the object store when assembling a staged upload: above S3's
/// 5 MiB minimum, small enough to keep memory bounded.
pub const MULTIPART_PART_SIZE: usize = 8 * 1024 * 1024;

/// Parts of an assembly sent at once (each holds [`MULTIPART_PART_SIZE`] bytes in memory).
const PARTS_IN_FLIGHT: usize = 3;
