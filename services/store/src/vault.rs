//! The evidence vault: content-addressed, write-once objects over object_store.
//!
//! Layout inside the store:
//! - `sha256/<first two hex digits>/<64 hex digits>`: evidence content, keyed by its SHA-256,
//!   written once and never overwritten;
//! - `uploads/<upload id>/<part number>`: the durable parts of an upload in progress, so an
//!   interrupted upload resumes from the last stored part; removed once the upload completes
//!   or is refused.

use std::sync::Arc;

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
        Self { store }
    }

    /// A vault in a local directory, created if missing.
    pub fn local(dir: &std::path::Path) -> Result<Self, object_store::Error> {
        std::fs::create_dir_all(dir)
            .map_err(|e| object_store::Error::Generic { store: "local", source: Box::new(e) })?;
        Ok(Self::new(Arc::new(LocalFileSystem::new_with_prefix(dir)?)))
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
            Ok(_) => Ok(true),
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

/// Retries of one S3 request before the error reaches the caller.
const S3_MAX_RETRIES: usize = 3;

/// Longest time spent retrying one S3 request.
const S3_RETRY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Size of the parts written to the object store when assembling a staged upload: above S3's
/// 5 MiB minimum, small enough to keep memory bounded.
pub const MULTIPART_PART_SIZE: usize = 8 * 1024 * 1024;
