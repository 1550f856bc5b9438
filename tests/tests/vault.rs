//! The evidence vault's conformance suite, run against every object store backend: local files
//! always, and a real S3-compatible server when `SANXIANG_TEST_S3_URL` is set (with `AWS_*`
//! variables for endpoint, region and credentials). With `CI=true` the S3 variant must run.

use futures::StreamExt;
use sanxiang_domain::{Error, Sha256Digest};
use sanxiang_store::Vault;
use sanxiang_tests::{in_ci, pseudo_random};

async fn conformance(vault: Vault) {
    // Content unique to this run: the S3 bucket outlives test runs.
    let id = uuid::Uuid::now_v7();
    let run = id.simple().to_string();
    let seed = id.as_u64_pair().1;

    // Staged parts are durable and read back in order; the copy into the content address is
    // exact and write-once.
    let data = pseudo_random(seed, 18 << 20);
    let digest = Sha256Digest::of(&data);
    let upload = format!("conformance-{run}");
    let cuts = [0, 8 << 20, 16 << 20, data.len()];
    for (i, w) in cuts.windows(2).enumerate() {
        vault.put_part(&upload, i as u64, data.slice(w[0]..w[1])).await.unwrap();
    }
    let mut back = Vec::new();
    let mut parts = vault.read_parts(&upload, 3);
    while let Some(chunk) = parts.next().await {
        back.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(back, data);
    assert!(!vault.contains(&digest).await.unwrap());
    assert!(vault.commit_parts(&upload, 3, &digest).await.unwrap(), "first commit writes");
    assert!(!vault.commit_parts(&upload, 3, &digest).await.unwrap(), "second commit keeps the stored object");
    assert!(vault.contains(&digest).await.unwrap());
    assert_eq!(vault.rehash(&digest).await.unwrap(), (digest, data.len() as u64));
    vault.delete_parts(&upload, 3).await.unwrap();
    vault.delete_parts(&upload, 3).await.unwrap();
    let mut gone = vault.read_parts(&upload, 1);
    assert!(matches!(gone.next().await, Some(Err(Error::DataLoss(_)))));

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
    assert!(!vault.contains(&missing).await.unwrap());
}

#[tokio::test]
async fn local_files() {
    let dir = tempfile::tempdir().unwrap();
    conformance(Vault::local(dir.path()).unwrap()).await;
}

#[tokio::test]
async fn s3() {
    match std::env::var("SANXIANG_TEST_S3_URL") {
        Ok(url) if !url.is_empty() => conformance(Vault::s3(&url, &[]).unwrap()).await,
        _ if in_ci() => panic!("CI=true but SANXIANG_TEST_S3_URL is not set: the S3 variant must run"),
        _ => eprintln!("skipping the S3 variant: SANXIANG_TEST_S3_URL is not set"),
    }
}
