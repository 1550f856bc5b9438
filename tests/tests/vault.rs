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

    // Staged uploads (what UploadEvidence uses): parts in order at their offsets, read back for a
    // resumed hash, made the content-addressed object write-once, and nothing left staged.
    let staged = pseudo_random(seed ^ 11, 18 << 20);
    let staged_digest = Sha256Digest::of(&staged);
    let upload = format!("staged-{run}");
    let _lock = vault.lock_upload(&upload).await;
    for (i, w) in cuts.windows(2).enumerate() {
        let part = vec![staged.slice(w[0]..w[0] + 1000), staged.slice(w[0] + 1000..w[1])];
        vault.stage_part(&upload, i as u64, w[0] as u64, part).await.unwrap();
    }
    // A part written again (a retry after a failure) replaces what followed the durable offset.
    vault.stage_part(&upload, 2, 16 << 20, vec![staged.slice(16 << 20..)]).await.unwrap();
    let mut back = Vec::new();
    let mut parts = vault.read_staged(&upload, 3, staged.len() as u64);
    while let Some(chunk) = parts.next().await {
        back.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(back, staged);
    let mut first = Vec::new();
    let mut parts = vault.read_staged(&upload, 1, 8 << 20);
    while let Some(chunk) = parts.next().await {
        first.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(first, staged.slice(..8 << 20), "a resumed upload re-reads exactly its durable bytes");
    assert!(vault.commit_staged(&upload, 3, staged.len() as u64, &staged_digest).await.unwrap(), "first commit writes");
    vault.discard_staged(&upload, 3).await.unwrap();
    assert_eq!(vault.rehash(&staged_digest).await.unwrap(), (staged_digest, staged.len() as u64));
    // The same content staged again is not written again, and its staging is removed.
    let again = format!("staged-again-{run}");
    vault.stage_part(&again, 0, 0, vec![staged.slice(..8 << 20)]).await.unwrap();
    vault.stage_part(&again, 1, 8 << 20, vec![staged.slice(8 << 20..)]).await.unwrap();
    assert!(!vault.commit_staged(&again, 2, staged.len() as u64, &staged_digest).await.unwrap());
    vault.discard_staged(&again, 2).await.unwrap();
    assert_eq!(vault.rehash(&staged_digest).await.unwrap(), (staged_digest, staged.len() as u64));
    let mut gone = vault.read_staged(&again, 1, 8 << 20);
    assert!(matches!(gone.next().await, Some(Err(Error::DataLoss(_)))), "discarded staging is gone");

    // A missing object is data loss, not "unavailable".
    let missing = Sha256Digest::of(run.as_bytes());
    assert!(matches!(vault.open(&missing).await, Err(Error::DataLoss(_))));
    assert!(!vault.contains(&missing).await.unwrap());
}

#[tokio::test]
async fn local_files() {
    let dir = tempfile::tempdir().unwrap();
    conformance(Vault::local(dir.path()).unwrap()).await;
    // Nothing is left staged.
    let staging: Vec<_> = std::fs::read_dir(dir.path().join("uploads"))
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "staging"))
                .collect()
        })
        .unwrap_or_default();
    assert!(staging.is_empty(), "staging files left behind: {staging:?}");
}

#[tokio::test]
async fn s3() {
    match std::env::var("SANXIANG_TEST_S3_URL") {
        Ok(url) if !url.is_empty() => conformance(Vault::s3(&url, &[]).unwrap()).await,
        _ if in_ci() => panic!("CI=true but SANXIANG_TEST_S3_URL is not set: the S3 variant must run"),
        _ => eprintln!("skipping the S3 variant: SANXIANG_TEST_S3_URL is not set"),
    }
}
