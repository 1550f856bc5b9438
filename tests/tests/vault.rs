//! The evidence vault's conformance suite, run against every staging and object store: local
//! files with their one-file staging, the part-object staging on local files and on object_store's
//! in-memory store, always; and a real S3-compatible server when `SANXIANG_TEST_S3_URL` is set
//! (with `AWS_*` variables for endpoint, region and credentials). With `CI=true` the S3 variant
//! must run.

use futures::StreamExt;
use sanxiang_domain::{Error, Sha256Digest};
use sanxiang_store::Vault;
use sanxiang_tests::{in_ci, pseudo_random};

async fn read_all(mut stream: futures::stream::BoxStream<'static, Result<bytes::Bytes, Error>>) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    out
}

async fn conformance(vault: Vault) {
    // Content unique to this run: the S3 bucket outlives test runs.
    let id = uuid::Uuid::now_v7();
    let run = id.simple().to_string();
    let seed = id.as_u64_pair().1;
    let staging = vault.staging().clone();

    // Staged uploads (what UploadEvidence uses): parts in order at their offsets, durable once
    // stored, read back for a resumed hash, made the content-addressed object write-once.
    let staged = pseudo_random(seed ^ 11, 18 << 20);
    let staged_digest = Sha256Digest::of(&staged);
    let cuts = [0, 8 << 20, 16 << 20, staged.len()];
    let upload = format!("staged-{run}");
    let _lock = vault.lock_upload(&upload).await;
    for (i, w) in cuts.windows(2).enumerate() {
        let part = vec![staged.slice(w[0]..w[0] + 1000), staged.slice(w[0] + 1000..w[1])];
        staging.put_part(&upload, i as u64, w[0] as u64, part).await.unwrap();
    }
    // A part written again (a retry after a failure or a crash) replaces what followed the
    // durable offset.
    staging.put_part(&upload, 2, 16 << 20, vec![staged.slice(16 << 20..)]).await.unwrap();
    assert_eq!(read_all(staging.read(&upload, 3, staged.len() as u64)).await, staged);
    assert_eq!(
        read_all(staging.read(&upload, 1, 8 << 20)).await,
        staged.slice(..8 << 20),
        "a resumed upload re-reads exactly its durable bytes"
    );
    assert!(!vault.contains(&staged_digest).await.unwrap());
    assert!(staging.commit(&upload, 3, staged.len() as u64, &staged_digest).await.unwrap(), "first commit writes");
    assert!(
        !staging.commit(&upload, 3, staged.len() as u64, &staged_digest).await.unwrap(),
        "second commit keeps the stored object"
    );
    staging.discard(&upload, 3).await.unwrap();
    staging.discard(&upload, 3).await.unwrap();
    assert!(vault.contains(&staged_digest).await.unwrap());
    assert_eq!(vault.rehash(&staged_digest).await.unwrap(), (staged_digest, staged.len() as u64));
    let mut back = Vec::new();
    let mut stream = vault.open(&staged_digest).await.unwrap();
    while let Some(c) = stream.next().await {
        back.extend_from_slice(&c.unwrap());
    }
    assert_eq!(back, staged, "the object is the staged content, byte for byte");

    // Content of exactly two assembly parts (S3 multipart parts of MULTIPART_PART_SIZE): no
    // empty part follows the full ones.
    let even = pseudo_random(seed ^ 23, 2 * sanxiang_store::staging::MULTIPART_PART_SIZE);
    let even_digest = Sha256Digest::of(&even);
    let even_upload = format!("even-{run}");
    staging.put_part(&even_upload, 0, 0, vec![even.clone()]).await.unwrap();
    assert!(staging.commit(&even_upload, 1, even.len() as u64, &even_digest).await.unwrap());
    staging.discard(&even_upload, 1).await.unwrap();
    assert_eq!(vault.rehash(&even_digest).await.unwrap(), (even_digest, even.len() as u64));

    // The same content staged again is not written again, and its staging is removed.
    let again = format!("staged-again-{run}");
    staging.put_part(&again, 0, 0, vec![staged.slice(..8 << 20)]).await.unwrap();
    staging.put_part(&again, 1, 8 << 20, vec![staged.slice(8 << 20..)]).await.unwrap();
    assert!(!staging.commit(&again, 2, staged.len() as u64, &staged_digest).await.unwrap());
    staging.discard(&again, 2).await.unwrap();
    assert_eq!(vault.rehash(&staged_digest).await.unwrap(), (staged_digest, staged.len() as u64));
    let mut gone = staging.read(&again, 1, 8 << 20);
    assert!(matches!(gone.next().await, Some(Err(Error::DataLoss(_)))), "discarded staging is gone");

    // A part stored whose row was never advanced (a crash between the two) goes with the rest.
    let orphan = format!("orphan-{run}");
    let small_parts = pseudo_random(seed ^ 13, 3000);
    staging.put_part(&orphan, 0, 0, vec![small_parts.slice(..1000)]).await.unwrap();
    staging.put_part(&orphan, 1, 1000, vec![small_parts.slice(1000..)]).await.unwrap();
    staging.discard(&orphan, 1).await.unwrap();
    let mut gone = staging.read(&orphan, 2, 3000);
    assert!(matches!(gone.next().await, Some(Err(Error::DataLoss(_)))), "nothing of a discarded upload is left");

    // A fresh upload under a used id starts afresh: nothing of the earlier attempt remains.
    let reused = format!("reused-{run}");
    let content = pseudo_random(seed ^ 17, 5000);
    staging.put_part(&reused, 0, 0, vec![pseudo_random(seed ^ 19, 4000)]).await.unwrap();
    staging.put_part(&reused, 0, 0, vec![content.slice(..2000)]).await.unwrap();
    staging.put_part(&reused, 1, 2000, vec![content.slice(2000..)]).await.unwrap();
    let content_digest = Sha256Digest::of(&content);
    assert!(staging.commit(&reused, 2, content.len() as u64, &content_digest).await.unwrap());
    staging.discard(&reused, 2).await.unwrap();
    assert_eq!(vault.rehash(&content_digest).await.unwrap(), (content_digest, content.len() as u64));

    // Small objects: put once, a second put is refused without overwriting.
    let small = pseudo_random(seed ^ 7, 1000);
    let small_digest = Sha256Digest::of(&small);
    assert!(vault.put_object(&small_digest, small.clone()).await.unwrap());
    assert!(!vault.put_object(&small_digest, bytes::Bytes::from_static(b"other")).await.unwrap());
    let mut stream = vault.open(&small_digest).await.unwrap();
    let mut read = Vec::new();
    while let Some(c) = stream.next().await {
        read.extend_from_slice(&c.unwrap());
    }
    assert_eq!(read, small);

    // A missing object is data loss, not "unavailable".
    let missing = Sha256Digest::of(run.as_bytes());
    assert!(matches!(vault.open(&missing).await, Err(Error::DataLoss(_))));
    assert!(matches!(vault.rehash(&missing).await, Err(Error::DataLoss(_))));
    assert!(!vault.contains(&missing).await.unwrap());

    // A destruction (RULES K5) removes an object; removing it again, or one never stored,
    // succeeds, so an interrupted destruction can be repeated.
    vault.delete(&small_digest).await.unwrap();
    assert!(!vault.contains(&small_digest).await.unwrap());
    assert!(matches!(vault.open(&small_digest).await, Err(Error::DataLoss(_))));
    vault.delete(&small_digest).await.unwrap();
    vault.delete(&missing).await.unwrap();
    assert!(vault.contains(&content_digest).await.unwrap(), "other objects stay");
}

/// Staging files left in a local vault.
fn staging_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir.join("uploads"))
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "staging"))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn local_files() {
    let dir = tempfile::tempdir().unwrap();
    let vault = Vault::local(dir.path()).unwrap();
    assert!(format!("{:?}", vault.staging()).starts_with("LocalStaging"), "local files link one staging file");
    conformance(vault).await;
    let staging = staging_files(dir.path());
    assert!(staging.is_empty(), "staging files left behind: {staging:?}");
}

#[tokio::test]
async fn object_staging_on_local_files() {
    // The part-object staging S3 uses, run without an S3 server.
    let dir = tempfile::tempdir().unwrap();
    let store = object_store::local::LocalFileSystem::new_with_prefix(dir.path()).unwrap();
    let vault = Vault::new(std::sync::Arc::new(store));
    assert!(format!("{:?}", vault.staging()).starts_with("ObjectStaging"));
    conformance(vault.clone()).await;
    let left: Vec<_> = vault.object_store().list(Some(&"uploads".into())).collect::<Vec<_>>().await;
    assert!(left.is_empty(), "parts left behind: {left:?}");
}

#[tokio::test]
async fn in_memory() {
    let vault = Vault::new(std::sync::Arc::new(object_store::memory::InMemory::new()));
    conformance(vault.clone()).await;
    let left: Vec<_> = vault.object_store().list(Some(&"uploads".into())).collect::<Vec<_>>().await;
    assert!(left.is_empty(), "parts left behind: {left:?}");
}

#[tokio::test]
async fn s3() {
    match std::env::var("SANXIANG_TEST_S3_URL") {
        Ok(url) if !url.is_empty() => conformance(Vault::s3(&url, &[]).unwrap()).await,
        _ if in_ci() => panic!("CI=true but SANXIANG_TEST_S3_URL is not set: the S3 variant must run"),
        _ => eprintln!("skipping the S3 variant: SANXIANG_TEST_S3_URL is not set"),
    }
}

/// `s3://bucket/prefix`: every object and staged part of the vault is stored under the prefix,
/// nothing at the bucket's root.
#[tokio::test]
async fn s3_under_a_prefix() {
    let url = match std::env::var("SANXIANG_TEST_S3_URL") {
        Ok(url) if !url.is_empty() => url,
        _ if in_ci() => panic!("CI=true but SANXIANG_TEST_S3_URL is not set: the S3 variant must run"),
        _ => return eprintln!("skipping the S3 variant: SANXIANG_TEST_S3_URL is not set"),
    };
    // Content unique to this run: the bucket outlives test runs.
    let id = uuid::Uuid::now_v7();
    let prefix = format!("prefix-{}", id.simple());
    let vault = Vault::s3(&format!("{url}/{prefix}/evidence"), &[]).unwrap();
    let bucket = Vault::s3(&url, &[]).unwrap();
    let content = pseudo_random(id.as_u64_pair().1 ^ 29, 3000);
    let digest = Sha256Digest::of(&content);
    assert!(vault.put_object(&digest, content.clone()).await.unwrap());
    let upload = format!("up-{prefix}");
    vault.staging().put_part(&upload, 0, 0, vec![content.slice(..1000)]).await.unwrap();
    let under: Vec<String> = bucket
        .object_store()
        .list(Some(&prefix.as_str().into()))
        .map(|m| m.unwrap().location.to_string())
        .collect()
        .await;
    let object = format!("{prefix}/evidence/{}", Vault::object_path(&digest));
    assert!(under.contains(&object), "{object} not among {under:?}");
    assert!(under.iter().any(|p| p.starts_with(&format!("{prefix}/evidence/uploads/{upload}/"))), "{under:?}");
    assert!(!bucket.contains(&digest).await.unwrap(), "nothing at the bucket's root");
    assert!(vault.contains(&digest).await.unwrap());
    vault.staging().discard(&upload, 0).await.unwrap();
    vault.delete(&digest).await.unwrap();
}
