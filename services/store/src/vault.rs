//! The evidence vault: content-addressed, write-once objects over object_store, and the
//! [`Staging`] of uploads in progress.
//!
//! Layout inside the store:
//! - `sha256/<first two hex digits>/<64 hex digits>`: evidence content, keyed by its SHA-256,
//!   written once and never overwritten;
//! - `uploads/<upload id>/<part number>`: the durable parts of an upload in progress
//!   ([`ObjectStaging`]: S3 and other object stores), removed once the upload completes or is
//!   refused;
//! - `uploads/<upload id>.staging`: on local files ([`LocalStaging`]), the one file an upload in
//!   progress is written to, part after part (each part `fsync`ed before it counts as durable);
//!   completing the upload hard-links this file to its content address, so its bytes are
//!   written once.

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

use crate::hashing::HashingStream;
use crate::staging::{LocalStaging, ObjectStaging, Staging};

/// Evidence storage. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Vault {
    store: Arc<dyn ObjectStore>,
    /// Where uploads in progress are kept: one file linked into place on local files, parts
    /// copied into place elsewhere.
    staging: Arc<dyn Staging>,
    /// One stream at a time per upload id (see [`Vault::lock_upload`]).
    uploads: Arc<std::sync::Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>>,
}

/// Held while a stream writes an upload: see [`Vault::lock_upload`].
#[derive(Debug)]
pub struct UploadLock {
    _guard: tokio::sync::OwnedMutexGuard<()>,
}

/// Maps an object-store error onto the public categories, kind by kind: only a failure that may
/// pass by itself (the store unreachable, overloaded or timing out) is UNAVAILABLE ("retry
/// later"); a refusal of the service's credentials or a broken invariant is INTERNAL (an
/// operator must act; the detail is logged, not returned); a missing object is DATA_LOSS.
pub fn store_error(err: object_store::Error) -> Error {
    use object_store::Error as E;
    match err {
        E::NotFound { path, .. } => {
            tracing::error!(%path, "evidence object missing");
            Error::DataLoss(format!("evidence object {path} is missing from the object store"))
        }
        E::PermissionDenied { path, source } | E::Unauthenticated { path, source } => {
            tracing::error!(%path, error = %source, "the object store refused the service's credentials");
            Error::Internal("the object store refused the service's credentials".into())
        }
        E::AlreadyExists { path, source } | E::Precondition { path, source } | E::NotModified { path, source } => {
            // Write-once puts handle `AlreadyExists` themselves; anywhere else it is a broken
            // invariant, as is a conditional request failing.
            tracing::error!(%path, error = %source, "unexpected object store answer");
            Error::Internal("unexpected object store answer".into())
        }
        E::Generic { store, source } => {
            if transient(source.as_ref()) {
                tracing::warn!(store, error = %source, "object store unavailable");
                Error::Unavailable("the object store is unavailable; retry later".into())
            } else {
                tracing::error!(store, error = %source, "object store failure");
                Error::Internal("object store failure".into())
            }
        }
        other => {
            tracing::error!(error = %other, "object store misconfigured or unsupported operation");
            Error::Internal("object store failure".into())
        }
    }
}

/// Maps a local file error: transient kinds (interrupted, busy, out of space) are UNAVAILABLE,
/// the rest (permissions, a read-only file system, …) INTERNAL, logged.
pub fn io_error(err: &std::io::Error) -> Error {
    if io_transient(err.kind()) {
        tracing::warn!(error = %err, "local evidence store unavailable");
        Error::Unavailable("the object store is unavailable; retry later".into())
    } else {
        tracing::error!(error = %err, "local evidence store failure");
        Error::Internal("evidence store failure".into())
    }
}

fn io_transient(kind: std::io::ErrorKind) -> bool {
    use std::io::ErrorKind as K;
    matches!(
        kind,
        K::ConnectionRefused
            | K::ConnectionReset
            | K::ConnectionAborted
            | K::NotConnected
            | K::BrokenPipe
            | K::TimedOut
            | K::Interrupted
            | K::WouldBlock
            | K::ResourceBusy
            | K::StorageFull
            | K::QuotaExceeded
            | K::HostUnreachable
            | K::NetworkUnreachable
            | K::NetworkDown
            | K::OutOfMemory
    )
}

/// Whether a generic object-store failure may pass by itself. object_store has already retried
/// it and turned 404, 403, 401, 409, 412 and 304 answers into their own kinds; what is left is a
/// transport failure (judged by its kind: connecting, sending, timing out), a server failure or
/// throttling (5xx, 429: transient), or anything else (another 4xx, an undecodable answer: not
/// transient).
fn transient(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return io_transient(io.kind());
        }
        if let Some(http) = e.downcast_ref::<object_store::client::HttpError>() {
            use object_store::client::HttpErrorKind as K;
            return matches!(http.kind(), K::Connect | K::Request | K::Timeout | K::Interrupted);
        }
        if let Some(status) = http_status(&e.to_string()) {
            return status >= 500 || status == 429;
        }
        next = e.source();
    }
    // Nothing marks it as passing (e.g. an answer that cannot be decoded): an operator looks.
    false
}

/// The key prefix of an `s3://bucket/prefix` URL (`None` without one).
fn s3_prefix(url: &str) -> Option<Path> {
    let rest = url.strip_prefix("s3://").or_else(|| url.strip_prefix("s3a://"))?;
    let (_bucket, prefix) = rest.split_once('/')?;
    let prefix = prefix.trim_matches('/');
    (!prefix.is_empty()).then(|| Path::from(prefix))
}

/// The HTTP status named in a message of object_store's retry layer ("… status code: 503 …").
fn http_status(message: &str) -> Option<u16> {
    let rest = message.split("status code: ").nth(1)?;
    rest.get(..3)?.parse().ok()
}

impl Vault {
    /// A vault over any object store; uploads are staged as part objects.
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        let staging = Arc::new(ObjectStaging::new(Arc::clone(&store)));
        Self::with_staging(store, staging)
    }

    /// A vault over `store` with uploads staged by `staging`.
    pub fn with_staging(store: Arc<dyn ObjectStore>, staging: Arc<dyn Staging>) -> Self {
        Self { store, staging, uploads: Arc::default() }
    }

    /// A vault in a local directory, created if missing; uploads are staged in one file each
    /// and linked into place.
    pub fn local(dir: &std::path::Path) -> Result<Self, object_store::Error> {
        let generic = |e: std::io::Error| object_store::Error::Generic { store: "local", source: Box::new(e) };
        std::fs::create_dir_all(dir).map_err(generic)?;
        // Evidence is for the service's user only.
        #[cfg(unix)]
        std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o700)).map_err(generic)?;
        let root = std::fs::canonicalize(dir).map_err(generic)?;
        let store: Arc<dyn ObjectStore> = Arc::new(LocalFileSystem::new_with_prefix(&root)?);
        let staging = Arc::new(LocalStaging::new(root, Arc::clone(&store)));
        Ok(Self::with_staging(store, staging))
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
        let bucket = builder.build()?;
        // The builder takes the bucket from the URL and ignores its path: the prefix is applied
        // here, so that every object and staged part of this vault lives under it.
        match s3_prefix(url) {
            Some(prefix) => Ok(Self::new(Arc::new(object_store::prefix::PrefixStore::new(bucket, prefix)))),
            None => Ok(Self::new(Arc::new(bucket))),
        }
    }

    /// The underlying store (for tests that tamper with objects).
    pub fn object_store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// Where uploads in progress are kept.
    pub fn staging(&self) -> &Arc<dyn Staging> {
        &self.staging
    }

    /// Where content with this digest lives.
    pub fn object_path(digest: &Sha256Digest) -> Path {
        let hex = digest.to_hex();
        Path::from(format!("sha256/{}/{hex}", &hex[..2]))
    }

    /// Whether content with this digest is stored.
    pub async fn contains(&self, digest: &Sha256Digest) -> Result<bool, Error> {
        contains(self.store.as_ref(), digest).await
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
                self.staging.seal(digest).await?;
                Ok(true)
            }
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(store_error(e)),
        }
    }

    /// Streams the content stored under `digest`.
    pub async fn open(&self, digest: &Sha256Digest) -> Result<BoxStream<'static, Result<Bytes, Error>>, Error> {
        let got = self.store.get(&Self::object_path(digest)).await.map_err(store_error)?;
        Ok(got.into_stream().map_err(store_error).boxed())
    }

    /// Removes the content stored under `digest` (a destruction, RULES K5). Removing content that
    /// is already gone succeeds, so a destruction interrupted after its record can be repeated.
    pub async fn delete(&self, digest: &Sha256Digest) -> Result<(), Error> {
        match self.store.delete(&Self::object_path(digest)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(store_error(e)),
        }
    }

    /// Re-reads the content stored under `digest` and returns its actual digest and size, through
    /// the same [`HashingStream`] an upload is hashed with.
    pub async fn rehash(&self, digest: &Sha256Digest) -> Result<(Sha256Digest, u64), Error> {
        HashingStream::new(self.open(digest).await?).drain().await
    }

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

    /// The lock of upload `upload_id` if no stream of this process holds it now.
    pub fn try_lock_upload(&self, upload_id: &str) -> Option<UploadLock> {
        let mut map = self.uploads.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.retain(|_, m| m.strong_count() > 0);
        let mutex = match map.get(upload_id).and_then(Weak::upgrade) {
            Some(m) => m,
            None => {
                let m = Arc::new(tokio::sync::Mutex::new(()));
                map.insert(upload_id.to_owned(), Arc::downgrade(&m));
                m
            }
        };
        mutex.try_lock_owned().ok().map(|guard| UploadLock { _guard: guard })
    }
}

/// Whether `store` holds content with this digest.
pub(crate) async fn contains(store: &dyn ObjectStore, digest: &Sha256Digest) -> Result<bool, Error> {
    match store.head(&Vault::object_path(digest)).await {
        Ok(_) => Ok(true),
        Err(object_store::Error::NotFound { .. }) => Ok(false),
        Err(e) => Err(store_error(e)),
    }
}

/// Retries of one S3 request before the error reaches the caller.
const S3_MAX_RETRIES: usize = 3;

/// Longest time spent retrying one S3 request.
const S3_RETRY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefix_of_an_s3_url_is_its_path_after_the_bucket() {
        assert_eq!(s3_prefix("s3://bucket"), None);
        assert_eq!(s3_prefix("s3://bucket/"), None);
        assert_eq!(s3_prefix("s3://bucket/evidence"), Some(Path::from("evidence")));
        assert_eq!(s3_prefix("s3://bucket/agency-1/evidence/"), Some(Path::from("agency-1/evidence")));
        assert_eq!(s3_prefix("s3a://bucket/x"), Some(Path::from("x")));
        assert_eq!(s3_prefix("https://s3.example.com/bucket"), None);
    }

    fn generic(source: impl std::error::Error + Send + Sync + 'static) -> object_store::Error {
        object_store::Error::Generic { store: "S3", source: Box::new(source) }
    }

    #[test]
    fn store_errors_are_mapped_kind_by_kind() {
        let denied = object_store::Error::PermissionDenied { path: "p".into(), source: "403".into() };
        assert!(matches!(store_error(denied), Error::Internal(_)), "bad credentials are not retry-later");
        let unauthenticated = object_store::Error::Unauthenticated { path: "p".into(), source: "401".into() };
        assert!(matches!(store_error(unauthenticated), Error::Internal(_)));
        let missing = object_store::Error::NotFound { path: "p".into(), source: "404".into() };
        assert!(matches!(store_error(missing), Error::DataLoss(_)));
        let exists = object_store::Error::AlreadyExists { path: "p".into(), source: "409".into() };
        assert!(matches!(store_error(exists), Error::Internal(_)));
        let precondition = object_store::Error::Precondition { path: "p".into(), source: "412".into() };
        assert!(matches!(store_error(precondition), Error::Internal(_)));
        let unsupported = object_store::Error::NotSupported { source: "no".into() };
        assert!(matches!(store_error(unsupported), Error::Internal(_)));

        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(matches!(store_error(generic(refused)), Error::Unavailable(_)));
        let connect = object_store::client::HttpError::new(
            object_store::client::HttpErrorKind::Connect,
            std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
        );
        assert!(matches!(store_error(generic(connect)), Error::Unavailable(_)));
        let decode = object_store::client::HttpError::new(
            object_store::client::HttpErrorKind::Decode,
            std::io::Error::from(std::io::ErrorKind::InvalidData),
        );
        assert!(matches!(store_error(generic(decode)), Error::Internal(_)));
        let read_only = std::io::Error::from(std::io::ErrorKind::ReadOnlyFilesystem);
        assert!(matches!(store_error(generic(read_only)), Error::Internal(_)));
        let full = std::io::Error::from(std::io::ErrorKind::StorageFull);
        assert!(matches!(store_error(generic(full)), Error::Unavailable(_)));
        let busy = std::io::Error::other("Server returned non-2xx status code: 503 Service Unavailable: slow down");
        assert!(matches!(store_error(generic(Wrapped(busy))), Error::Unavailable(_)));
        let bad = std::io::Error::other("Server returned non-2xx status code: 400 Bad Request: wrong region");
        assert!(matches!(store_error(generic(Wrapped(bad))), Error::Internal(_)));
        assert!(matches!(io_error(&std::io::Error::from(std::io::ErrorKind::PermissionDenied)), Error::Internal(_)));
        assert!(matches!(io_error(&std::io::Error::from(std::io::ErrorKind::Interrupted)), Error::Unavailable(_)));
    }

    /// An error that is not an `io::Error` itself, carrying a message as object_store's retry
    /// layer words it.
    #[derive(Debug)]
    struct Wrapped(std::io::Error);

    impl std::fmt::Display for Wrapped {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "Error performing PUT in 1s - {}", self.0)
        }
    }

    impl std::error::Error for Wrapped {}
}
