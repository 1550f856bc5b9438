//! RFC 6962 / RFC 9162 Merkle tree hashing and proof checks over `tlog_tiles` (a port of Go's
//! `golang.org/x/mod/sumdb/tlog`), with the edge cases of RFC 9162 §2.1.3–2.1.4 made explicit:
//! proofs and roots of the wrong length, a consistency proof from the empty tree.

use std::cell::RefCell;
use std::collections::HashMap;

use tlog_tiles::{Hash, HashReader};

pub use tlog_tiles::{HASH_SIZE, node_hash, record_hash, stored_hash_count, stored_hash_index};

/// Why a proof does not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofError(pub String);

impl std::fmt::Display for ProofError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProofError {}

/// The hash of the empty tree: SHA-256 of nothing.
pub const EMPTY_ROOT: Hash = tlog_tiles::EMPTY_HASH;

/// The leaf hash of an event: SHA-256(0x00 ‖ event hash bytes).
pub fn leaf_hash(event_hash: &[u8; 32]) -> Hash {
    record_hash(event_hash)
}

fn hash32(b: &[u8], what: &str) -> Result<Hash, ProofError> {
    <[u8; 32]>::try_from(b).map(Hash).map_err(|_| ProofError(format!("{what} is not 32 bytes")))
}

/// Checks that `proof` shows the leaf with hash `leaf` at `index` in the tree of `size` leaves and
/// root `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(index: u64, size: u64, leaf: &[u8], root: &[u8], proof: &[Vec<u8>]) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError(format!("leaf index {index} is not below the tree size {size}")));
    }
    let leaf = hash32(leaf, "the leaf hash")?;
    let root = hash32(root, "the root hash")?;
    let proof = proof.iter().map(|p| hash32(p, "a proof hash")).collect::<Result<Vec<_>, _>>()?;
    tlog_tiles::check_record(&proof, size, root, index, leaf).map_err(|e| ProofError(e.to_string()))
}

/// Checks that `proof` shows the tree of `size1` leaves and root `root1` is a prefix of the tree of
/// `size2` leaves and root `root2` (RFC 9162 §2.1.4.2). A proof from the empty tree proves nothing
/// and is refused, as is one between equal sizes that is not empty.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    root1: &[u8],
    root2: &[u8],
    proof: &[Vec<u8>],
) -> Result<(), ProofError> {
    if size2 < size1 {
        return Err(ProofError(format!("size {size1} is larger than size {size2}")));
    }
    if size1 == 0 {
        return Err(ProofError("a consistency proof from the empty tree proves nothing".into()));
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(ProofError("the proof between equal sizes must be empty".into()));
        }
        if root1 != root2 {
            return Err(ProofError("equal sizes with different roots".into()));
        }
        return Ok(());
    }
    let root1 = hash32(root1, "the old root hash")?;
    let root2 = hash32(root2, "the new root hash")?;
    let proof = proof.iter().map(|p| hash32(p, "a proof hash")).collect::<Result<Vec<_>, _>>()?;
    tlog_tiles::check_tree(&proof, size2, root2, size1, root1).map_err(|e| ProofError(e.to_string()))
}

/// A [`HashReader`] over hashes already in memory.
#[derive(Debug, Default)]
pub struct MapReader(pub HashMap<u64, Hash>);

impl HashReader for MapReader {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        indexes.iter().map(|i| self.0.get(i).copied().ok_or(tlog_tiles::Error::IndexesNotInTree)).collect()
    }
}

/// A [`HashReader`] that only notes which hashes were asked for: `tlog_tiles` reads all the
/// hashes of a proof or root in one call, so running it once with this reader names what to load
/// from the database, and once more with a [`MapReader`] of them gives the answer.
#[derive(Debug, Default)]
pub struct Wanted(pub RefCell<Vec<u64>>);

impl HashReader for Wanted {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        self.0.borrow_mut().extend_from_slice(indexes);
        Ok(vec![Hash::default(); indexes.len()])
    }
}

/// The stored-hash indexes of the complete subtrees of a tree of `size` leaves, left to right:
/// the hashes that appending to it reads, and that its root is made of.
pub fn frontier(size: u64) -> Vec<u64> {
    let mut out = Vec::new();
    for level in (0..64u8).rev() {
        if (size >> level) & 1 == 1 {
            out.push(stored_hash_index(level, (size >> level) - 1));
        }
    }
    out
}

/// Appends the leaf with hash `leaf` as leaf number `n` (from 0) of a tree whose frontier hashes
/// are in `hashes`, adding the new stored hashes to `hashes` and returning them with their indexes.
pub fn append(n: u64, leaf: Hash, hashes: &mut MapReader) -> Result<Vec<(u64, Hash)>, ProofError> {
    let new = tlog_tiles::stored_hashes_for_record_hash(n, leaf, hashes).map_err(|e| ProofError(e.to_string()))?;
    let first = stored_hash_index(0, n);
    let out: Vec<(u64, Hash)> = new.into_iter().enumerate().map(|(i, h)| (first + i as u64, h)).collect();
    for (i, h) in &out {
        hashes.0.insert(*i, *h);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(n: u64) -> (MapReader, Vec<Hash>) {
        let mut r = MapReader::default();
        let mut leaves = Vec::new();
        for i in 0..n {
            let mut data = [0u8; 32];
            data[..8].copy_from_slice(&i.to_be_bytes());
            let leaf = leaf_hash(&data);
            leaves.push(leaf);
            append(i, leaf, &mut r).unwrap();
        }
        (r, leaves)
    }

    #[test]
    fn root_of_frontier_equals_tree_hash() {
        let (r, _) = build(37);
        for size in [1u64, 2, 3, 8, 31, 37] {
            let root = tlog_tiles::tree_hash(size, &r).unwrap();
            let f: Vec<Hash> = frontier(size).iter().map(|i| r.0[i]).collect();
            let mut acc = *f.last().unwrap();
            for h in f.iter().rev().skip(1) {
                acc = node_hash(*h, acc);
            }
            assert_eq!(acc, root, "size {size}");
        }
    }

    #[test]
    fn proofs_round_trip_and_tampering_fails() {
        let (r, leaves) = build(100);
        for size in [1u64, 7, 64, 100] {
            let root = tlog_tiles::tree_hash(size, &r).unwrap();
            for i in 0..size {
                let p: Vec<Vec<u8>> =
                    tlog_tiles::prove_record(size, i, &r).unwrap().into_iter().map(|h| h.0.to_vec()).collect();
                verify_inclusion(i, size, &leaves[i as usize].0, &root.0, &p).unwrap();
                let other = &leaves[((i + 1) % 100) as usize].0;
                assert!(verify_inclusion(i, size, other, &root.0, &p).is_err());
            }
            for old in 1..=size {
                let old_root = tlog_tiles::tree_hash(old, &r).unwrap();
                let p: Vec<Vec<u8>> =
                    tlog_tiles::prove_tree(size, old, &r).unwrap().into_iter().map(|h| h.0.to_vec()).collect();
                verify_consistency(old, size, &old_root.0, &root.0, &p).unwrap();
            }
        }
    }
}
