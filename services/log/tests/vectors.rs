//! The RFC 6962 / RFC 9162 proof vectors of transparency-dev/merkle (a copy of the project's
//! `shared/reference/merkle-testdata` in `tests/merkle-testdata`) through the verifiers the log, its
//! witness and its auditor use: every vector with `wantErr: false` verifies, every other one is refused.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use sanxiang_log::merkle::{verify_consistency, verify_inclusion};
use serde_json::Value;

fn testdata() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/merkle-testdata");
    assert!(dir.is_dir(), "the proof vectors are missing at {}", dir.display());
    dir
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn bytes(v: &Value) -> Vec<u8> {
    B64.decode(v.as_str().unwrap_or_default()).unwrap()
}

fn proof(v: &Value) -> Vec<Vec<u8>> {
    v.as_array().map(|a| a.iter().map(bytes).collect()).unwrap_or_default()
}

#[test]
fn inclusion_vectors() {
    let all = files(&testdata().join("inclusion"));
    assert!(all.len() > 50, "only {} inclusion vectors", all.len());
    let mut passing = 0;
    for f in &all {
        let v: Value = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
        let result = verify_inclusion(
            v["leafIdx"].as_u64().unwrap(),
            v["treeSize"].as_u64().unwrap(),
            &bytes(&v["leafHash"]),
            &bytes(&v["root"]),
            &proof(&v["proof"]),
        );
        let want_err = v["wantErr"].as_bool().unwrap();
        assert_eq!(result.is_err(), want_err, "{}: {result:?}", f.display());
        passing += usize::from(!want_err);
    }
    assert!(passing >= 6, "only {passing} inclusion vectors verify");
}

#[test]
fn consistency_vectors() {
    let all = files(&testdata().join("consistency"));
    assert!(all.len() > 50, "only {} consistency vectors", all.len());
    let mut passing = 0;
    for f in &all {
        let v: Value = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
        let result = verify_consistency(
            v["size1"].as_u64().unwrap(),
            v["size2"].as_u64().unwrap(),
            &bytes(&v["root1"]),
            &bytes(&v["root2"]),
            &proof(&v["proof"]),
        );
        let want_err = v["wantErr"].as_bool().unwrap();
        assert_eq!(result.is_err(), want_err, "{}: {result:?}", f.display());
        passing += usize::from(!want_err);
    }
    assert!(passing >= 6, "only {passing} consistency vectors verify");
}
