//! The tree store: integrating committed events into the tree (strictly behind the writer),
//! signing checkpoints, and reading proofs and tiles back.
//!
//! The writer gives every event a gap-free `global_seq` under the database-wide append lock, so
//! `global_seq` order is commit order and the committed events always form a prefix
//! `1..=N`. [`integrate`] reads the events after the tree's size (its watermark) in order and, in
//! one transaction, stores the new subtree hashes, the new size and root, and the signed
//! checkpoint. Replicas serialise on the `log_tree` row (a row lock on PostgreSQL, the write lock
//! on SQLite) and the size is advanced with a compare-and-set, so one tree is ever signed.

use std::collections::HashMap;

use sanxiang_domain::{Error, Result};
use sanxiang_store::entity::event;
use sanxiang_store::{Db, db_error};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use tlog_tiles::Hash;

use crate::entity::{checkpoint, cosignature, stored_hash, tree};
use crate::keys::NamedKey;
use crate::merkle::{self, MapReader, Wanted};

/// Id of the one `log_tree` row.
const TREE_ROW: &str = "tree";

/// Hashes per query (`IN (…)` lists stay far below both backends' parameter limits).
const CHUNK: usize = 500;

/// A signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// Leaves in the tree.
    pub size: u64,
    /// Root hash.
    pub root: [u8; 32],
    /// The signed note (checkpoint body, blank line, signature lines), cosignatures included when
    /// read with them.
    pub note: String,
    /// Microseconds since the Unix epoch when it was signed.
    pub signed_at: i64,
    /// Cosignatures it carries.
    pub cosignatures: u32,
}

fn internal(what: &str, e: impl std::fmt::Display) -> Error {
    tracing::error!(error = %e, "log: {what}");
    Error::Internal(format!("log: {what}"))
}

fn parse_hash(hex_text: &str) -> Result<Hash> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_text, &mut out)
        .map_err(|_| Error::DataLoss(format!("log: stored hash {hex_text:?} is not 32 bytes of hex")))?;
    Ok(Hash(out))
}

fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The checkpoint body (C2SP tlog-checkpoint): origin, size, base64 root, each on its own line.
pub fn checkpoint_body(origin: &str, size: u64, root: [u8; 32]) -> Vec<u8> {
    tlog_tiles::Checkpoint::new(origin, size, Hash(root), "").map(|c| c.to_bytes()).unwrap_or_default()
}

/// Signs the checkpoint of `size` and `root` with the log key: the signed note's bytes.
pub fn sign_checkpoint(key: &NamedKey, size: u64, root: [u8; 32]) -> Result<String> {
    let body = checkpoint_body(key.name(), size, root);
    let mut note = signed_note::Note::new(&body, &[]).map_err(|e| internal("checkpoint note", e))?;
    note.add_sigs(&[key]).map_err(|e| internal("signing the checkpoint", e))?;
    String::from_utf8(note.to_bytes()).map_err(|e| internal("checkpoint note", e))
}

/// The tree's size and root as stored.
pub async fn state(db: &impl ConnectionTrait) -> Result<(u64, [u8; 32])> {
    let row = tree::Entity::find_by_id(TREE_ROW)
        .one(db)
        .await
        .map_err(db_error)?
        .ok_or_else(|| Error::DataLoss("log: the log_tree row is missing".into()))?;
    Ok((u(row.size), parse_hash(&row.root)?.0))
}

/// Loads the stored hashes at `indexes`.
pub async fn read_hashes(db: &impl ConnectionTrait, indexes: &[u64]) -> Result<MapReader> {
    let mut wanted: Vec<i64> = indexes.iter().map(|&x| i(x)).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let mut out = MapReader::default();
    for chunk in wanted.chunks(CHUNK) {
        let rows = stored_hash::Entity::find()
            .filter(stored_hash::Column::Idx.is_in(chunk.iter().copied()))
            .all(db)
            .await
            .map_err(db_error)?;
        for row in rows {
            out.0.insert(u(row.idx), parse_hash(&row.hash)?);
        }
    }
    if out.0.len() != wanted.len() {
        return Err(Error::DataLoss(format!(
            "log: {} of {} stored tree hashes are missing",
            wanted.len() - out.0.len(),
            wanted.len()
        )));
    }
    Ok(out)
}

/// Reads hashes by stored-hash index.
type ReadFn<'a> = &'a dyn Fn(&[u64]) -> std::result::Result<Vec<Hash>, tlog_tiles::Error>;

/// Runs `f` (a `tlog_tiles` function that reads hashes once) against the stored hashes.
async fn with_hashes<T>(
    db: &impl ConnectionTrait,
    f: impl Fn(ReadFn<'_>) -> std::result::Result<T, tlog_tiles::Error>,
) -> Result<T> {
    use tlog_tiles::HashReader;
    let wanted = Wanted::default();
    f(&|ix| wanted.read_hashes(ix))
        .map_err(|e| Error::InvalidArgument { field: "size".into(), message: e.to_string() })?;
    let indexes = wanted.0.into_inner();
    let reader = read_hashes(db, &indexes).await?;
    f(&|ix| reader.read_hashes(ix)).map_err(|e| internal("reading the tree", e))
}

struct FnReader<'a>(ReadFn<'a>);

impl tlog_tiles::HashReader for FnReader<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> std::result::Result<Vec<Hash>, tlog_tiles::Error> {
        (self.0)(indexes)
    }
}

/// The root of the tree of `size` leaves (at most the tree's size), from the stored hashes.
pub async fn root_at(db: &impl ConnectionTrait, size: u64) -> Result<[u8; 32]> {
    if size == 0 {
        return Ok(merkle::EMPTY_ROOT.0);
    }
    with_hashes(db, |r| tlog_tiles::tree_hash(size, &FnReader(r))).await.map(|h| h.0)
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves.
pub async fn inclusion(db: &impl ConnectionTrait, index: u64, size: u64) -> Result<Vec<[u8; 32]>> {
    let p = with_hashes(db, |r| tlog_tiles::prove_record(size, index, &FnReader(r))).await?;
    Ok(p.into_iter().map(|h| h.0).collect())
}

/// The inclusion proofs of leaves `indexes` in the tree of `size` leaves, reading every hash
/// they need at once.
pub async fn inclusions(db: &impl ConnectionTrait, indexes: &[u64], size: u64) -> Result<Vec<Vec<[u8; 32]>>> {
    let wanted = Wanted::default();
    for &index in indexes {
        tlog_tiles::prove_record(size, index, &wanted)
            .map_err(|e| Error::InvalidArgument { field: "size".into(), message: e.to_string() })?;
    }
    let reader = read_hashes(db, &wanted.0.into_inner()).await?;
    indexes
        .iter()
        .map(|&index| {
            tlog_tiles::prove_record(size, index, &reader)
                .map(|p| p.into_iter().map(|h| h.0).collect())
                .map_err(|e| internal("reading the tree", e))
        })
        .collect()
}

/// Whether `leaves` (index, event hash; all below `size`) are leaves of the tree of `size` whose
/// root is `root`: the nodes above them are hashed from them, bottom up, and only what no leaf
/// covers is read (the sibling of a node whose own sibling is not among them, and the complete
/// subtrees of the tree that hold none of them). For a case's events, mostly neighbours in the
/// tree, that reads a few dozen stored hashes instead of every node on every path. `false` only
/// says that something differs, not what.
async fn proven_by_recomputing(
    db: &impl ConnectionTrait,
    leaves: &[(u64, [u8; 32])],
    size: u64,
    root: [u8; 32],
) -> Result<bool> {
    use tlog_tiles::stored_hash_index;
    // The complete subtrees the root is made of.
    let wanted = Wanted::default();
    tlog_tiles::tree_hash(size, &wanted).map_err(|e| internal("the tree's root", e))?;
    let root_parts = wanted.0.into_inner();
    // Positions first (no hashing): which nodes are computed, which siblings must be read.
    let mut level_nodes: Vec<u64> = leaves.iter().map(|&(x, _)| x).collect();
    level_nodes.sort_unstable();
    level_nodes.dedup();
    let mut computed_tops = std::collections::HashSet::new();
    let mut read = Vec::new();
    let mut level = 0u8;
    while !level_nodes.is_empty() && level < 63 {
        let mut next = Vec::with_capacity(level_nodes.len() / 2 + 1);
        let mut at = 0;
        while at < level_nodes.len() {
            let n = level_nodes[at];
            if ((n >> 1) + 1) << (level + 1) > size {
                // The top of a complete subtree: a part of the root.
                computed_tops.insert(stored_hash_index(level, n));
                at += 1;
                continue;
            }
            if n.is_multiple_of(2) && level_nodes.get(at + 1) == Some(&(n + 1)) {
                at += 2;
            } else {
                read.push(stored_hash_index(level, n ^ 1));
                at += 1;
            }
            next.push(n >> 1);
        }
        level_nodes = next;
        level += 1;
    }
    read.extend(root_parts.iter().copied().filter(|x| !computed_tops.contains(x)));
    let stored = read_hashes(db, &read).await?;
    // Then the hashes, bottom up, on a blocking thread (about two SHA-256 blocks per node).
    let leaves = leaves.to_vec();
    tokio::task::spawn_blocking(move || {
        let mut level_nodes: Vec<(u64, Hash)> = leaves.iter().map(|(x, h)| (*x, merkle::leaf_hash(h))).collect();
        level_nodes.sort_unstable_by_key(|&(x, _)| x);
        level_nodes.dedup_by_key(|&mut (x, _)| x);
        let mut parts = MapReader::default();
        let mut level = 0u8;
        while !level_nodes.is_empty() && level < 63 {
            let mut next = Vec::with_capacity(level_nodes.len() / 2 + 1);
            let mut at = 0;
            while at < level_nodes.len() {
                let (n, hash) = level_nodes[at];
                if ((n >> 1) + 1) << (level + 1) > size {
                    parts.0.insert(stored_hash_index(level, n), hash);
                    at += 1;
                    continue;
                }
                let parent = match level_nodes.get(at + 1) {
                    Some(&(m, right)) if n.is_multiple_of(2) && m == n + 1 => {
                        at += 2;
                        tlog_tiles::node_hash(hash, right)
                    }
                    _ => {
                        at += 1;
                        let Some(&sibling) = stored.0.get(&stored_hash_index(level, n ^ 1)) else {
                            return false;
                        };
                        if n.is_multiple_of(2) {
                            tlog_tiles::node_hash(hash, sibling)
                        } else {
                            tlog_tiles::node_hash(sibling, hash)
                        }
                    }
                };
                next.push((n >> 1, parent));
            }
            level_nodes = next;
            level += 1;
        }
        for x in &root_parts {
            if let (false, Some(&h)) = (parts.0.contains_key(x), stored.0.get(x)) {
                parts.0.insert(*x, h);
            }
        }
        tlog_tiles::tree_hash(size, &parts).is_ok_and(|h| h.0 == root)
    })
    .await
    .map_err(|e| internal("recomputing the tree's root", e))
}

/// Which of `leaves` (leaf index, event hash) are not proven leaves of the tree of `size` leaves
/// with root `root`, checked as one multi-proof: every stored leaf hash against its event, every
/// stored node on the leaves' paths against its two children, and the complete subtrees those
/// paths end in against the root. The same assurance as an inclusion proof per leaf, with each
/// shared node read and hashed once (about two hashes per leaf instead of one per level).
/// Returns the leaf indexes that fail, in the order given.
pub async fn unproven_leaves(
    db: &impl ConnectionTrait,
    leaves: &[(u64, [u8; 32])],
    size: u64,
    root: [u8; 32],
) -> Result<Vec<u64>> {
    use std::collections::BTreeSet;
    use tlog_tiles::stored_hash_index;
    let in_tree: Vec<(u64, [u8; 32])> = leaves.iter().copied().filter(|(x, _)| *x < size).collect();
    if in_tree.is_empty() {
        return Ok(Vec::new());
    }
    // The common answer first: every leaf is proven when the root recomputed from them (and the
    // stored nodes no leaf covers) is the signed one. Only when it is not, or a stored node is
    // missing, are the stored nodes on every path read to locate what differs.
    match proven_by_recomputing(db, &in_tree, size, root).await {
        Ok(true) => return Ok(Vec::new()),
        Ok(false) | Err(Error::DataLoss(_)) => {}
        Err(e) => return Err(e),
    }
    // Interior nodes (level ≥ 1) on the paths, up to the largest complete subtree of each leaf.
    let mut nodes: BTreeSet<(u8, u64)> = BTreeSet::new();
    for &(index, _) in &in_tree {
        let (mut level, mut n) = (0u8, index);
        while level < 63 && ((n >> 1) + 1) << (level + 1) <= size {
            n >>= 1;
            level += 1;
            if !nodes.insert((level, n)) {
                break; // checked from another leaf already, and everything above it too
            }
        }
    }
    let wanted = Wanted::default();
    tlog_tiles::tree_hash(size, &wanted).map_err(|e| internal("the tree's root", e))?;
    let mut indexes = wanted.0.into_inner();
    indexes.extend(in_tree.iter().map(|&(x, _)| stored_hash_index(0, x)));
    for &(level, n) in &nodes {
        indexes.push(stored_hash_index(level, n));
        indexes.push(stored_hash_index(level - 1, 2 * n));
        indexes.push(stored_hash_index(level - 1, 2 * n + 1));
    }
    let reader = read_hashes(db, &indexes).await?;
    let stored = |level: u8, n: u64| reader.0.get(&stored_hash_index(level, n)).copied();
    let root_ok = tlog_tiles::tree_hash(size, &reader).map_err(|e| internal("the tree's root", e))?.0 == root;
    let bad_nodes: BTreeSet<(u8, u64)> = nodes
        .iter()
        .copied()
        .filter(|&(level, n)| match (stored(level, n), stored(level - 1, 2 * n), stored(level - 1, 2 * n + 1)) {
            (Some(node), Some(left), Some(right)) => tlog_tiles::node_hash(left, right) != node,
            _ => true,
        })
        .collect();
    Ok(leaves
        .iter()
        .filter(|&&(index, hash)| {
            if index >= size {
                return false;
            }
            if !root_ok || stored(0, index) != Some(merkle::leaf_hash(&hash)) {
                return true;
            }
            let (mut level, mut n) = (0u8, index);
            while level < 63 && ((n >> 1) + 1) << (level + 1) <= size {
                n >>= 1;
                level += 1;
                if bad_nodes.contains(&(level, n)) {
                    return true;
                }
            }
            false
        })
        .map(|&(index, _)| index)
        .collect())
}

/// The `global_seq`s in `(after, to]` that have no event row, at most `max` of them, in order.
pub async fn missing_events(db: &impl ConnectionTrait, after: u64, to: u64, max: usize) -> Result<Vec<u64>> {
    let have = event::Entity::find()
        .filter(event::Column::GlobalSeq.gt(i(after)))
        .filter(event::Column::GlobalSeq.lte(i(to)))
        .count(db)
        .await
        .map_err(db_error)?;
    if have >= to.saturating_sub(after) {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let mut next = after + 1;
    while next <= to && out.len() < max {
        let seqs: Vec<i64> = event::Entity::find()
            .select_only()
            .column(event::Column::GlobalSeq)
            .filter(event::Column::GlobalSeq.gte(i(next)))
            .filter(event::Column::GlobalSeq.lte(i(to)))
            .order_by_asc(event::Column::GlobalSeq)
            .limit(10_000)
            .into_tuple()
            .all(db)
            .await
            .map_err(db_error)?;
        let full = seqs.len() == 10_000;
        for s in seqs {
            while next < u(s) && out.len() < max {
                out.push(next);
                next += 1;
            }
            next = u(s) + 1;
        }
        if !full {
            while next <= to && out.len() < max {
                out.push(next);
                next += 1;
            }
        }
    }
    Ok(out)
}

/// The consistency proof from the tree of `old` leaves to that of `new` (empty from 0).
pub async fn consistency(db: &impl ConnectionTrait, old: u64, new: u64) -> Result<Vec<[u8; 32]>> {
    if old == 0 {
        return Ok(Vec::new());
    }
    let p = with_hashes(db, |r| tlog_tiles::prove_tree(new, old, &FnReader(r))).await?;
    Ok(p.into_iter().map(|h| h.0).collect())
}

/// The 32-byte event hashes (the leaf data) of leaves `from..to`, in order.
pub async fn leaves(db: &impl ConnectionTrait, from: u64, to: u64) -> Result<Vec<[u8; 32]>> {
    let rows: Vec<(i64, String)> = event::Entity::find()
        .select_only()
        .column(event::Column::GlobalSeq)
        .column(event::Column::Hash)
        .filter(event::Column::GlobalSeq.gt(i(from)))
        .filter(event::Column::GlobalSeq.lte(i(to)))
        .order_by_asc(event::Column::GlobalSeq)
        .into_tuple()
        .all(db)
        .await
        .map_err(db_error)?;
    let mut out = Vec::with_capacity(rows.len());
    for (k, (seq, hash)) in rows.into_iter().enumerate() {
        if u(seq) != from + k as u64 + 1 {
            return Err(Error::DataLoss(format!("log: event global_seq {} is missing", from + k as u64 + 1)));
        }
        out.push(parse_hash(&hash)?.0);
    }
    if (out.len() as u64) != to - from {
        return Err(Error::DataLoss(format!("log: event global_seq {} is missing", from + out.len() as u64 + 1)));
    }
    Ok(out)
}

/// Integrates up to `max` committed events after the tree's size and signs the new checkpoint.
/// `None` when there was nothing to integrate or another replica advanced the tree first.
///
/// On SQLite the one writer lock is shared with the event writer, so the sequencer takes it only
/// to store what it computed: the events and hashes are read and the new nodes computed outside
/// any write transaction (committed events and stored hashes never change), and only the tree's
/// size is checked again under the lock before the nodes, the new size and the signed checkpoint
/// are stored.
pub async fn integrate(db: &Db, key: &NamedKey, max: u64, now: i64) -> Result<Option<SignedCheckpoint>> {
    let Some(ext) = extension(db, max).await? else { return Ok(None) };
    if let Some(path) = sanxiang_store::direct::sqlite_file(db) {
        let key = key.clone();
        return tokio::task::spawn_blocking(move || store_extension_direct(&path, &key, ext, now))
            .await
            .map_err(|e| internal("storing the tree's extension", e))?;
    }
    let txn = db
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await
        .map_err(db_error)?;
    let result = store_extension(&txn, key, ext, now).await;
    match result {
        Ok(Some(c)) => {
            txn.commit().await.map_err(db_error)?;
            Ok(Some(c))
        }
        Ok(None) => {
            txn.rollback().await.map_err(db_error)?;
            Ok(None)
        }
        Err(e) => {
            let _ = txn.rollback().await;
            Err(e)
        }
    }
}

/// The tree grown by the committed events after its stored size: the sizes, the new root and
/// the stored hashes to add.
struct Extension {
    size: u64,
    to: u64,
    root: [u8; 32],
    /// `(idx, hash)` of the new `log_hashes` rows.
    rows: Vec<(i64, String)>,
}

/// Reads the events after the tree's size (up to `max` of them) and the frontier, and computes
/// the new nodes. `None` when every committed event is in the tree.
async fn extension(db: &impl ConnectionTrait, max: u64) -> Result<Option<Extension>> {
    let (size, _) = state(db).await?;
    let newest: Option<i64> = event::Entity::find()
        .select_only()
        .column_as(event::Column::GlobalSeq.max(), "m")
        .into_tuple()
        .one(db)
        .await
        .map_err(db_error)?
        .flatten();
    let newest = newest.map_or(0, u);
    if newest <= size {
        return Ok(None);
    }
    let to = newest.min(size + max);
    let leaves = leaves(db, size, to).await?;
    let mut hashes = read_hashes(db, &merkle::frontier(size)).await?;
    let mut rows = Vec::new();
    for (k, leaf) in leaves.iter().enumerate() {
        let n = size + k as u64;
        for (idx, h) in merkle::append(n, merkle::leaf_hash(leaf), &mut hashes).map_err(|e| internal("appending", e))? {
            rows.push((i(idx), hex::encode(h.0)));
        }
    }
    let root = tlog_tiles::tree_hash(to, &hashes).map_err(|e| internal("root", e))?.0;
    Ok(Some(Extension { size, to, root, rows }))
}

/// [`store_extension`] on a SQLite file, on a connection of its own and on a blocking thread, so
/// that SQLite's one write lock — which the record's writer waits for meanwhile — is held only as
/// long as the statements themselves take: no hop to the driver's thread per statement, and no
/// wait for a busy async runtime to poll the transaction again while it holds the lock. The
/// checkpoint is signed before the lock is taken.
fn store_extension_direct(
    path: &std::path::Path,
    key: &NamedKey,
    ext: Extension,
    now: i64,
) -> Result<Option<SignedCheckpoint>> {
    use sanxiang_store::direct::direct_error;
    let Extension { size, to, root, rows } = ext;
    let note = sign_checkpoint(key, to, root)?;
    let root_hex = hex::encode(root);
    let mut conn = sanxiang_store::direct::open_writer(path)?;
    let txn = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(direct_error)?;
    let updated = txn
        .execute(
            "UPDATE log_tree SET size = ?1, root = ?2 WHERE id = ?3 AND size = ?4",
            rusqlite::params![i(to), root_hex, TREE_ROW, i(size)],
        )
        .map_err(direct_error)?;
    if updated != 1 {
        return Ok(None); // another replica advanced the tree first (the transaction rolls back)
    }
    {
        let mut insert = txn.prepare("INSERT INTO log_hashes (idx, hash) VALUES (?1, ?2)").map_err(direct_error)?;
        for (idx, hash) in &rows {
            insert.execute(rusqlite::params![idx, hash]).map_err(direct_error)?;
        }
    }
    txn.execute(
        "INSERT INTO log_checkpoints (size, root, note, signed_at) VALUES (?1, ?2, ?3, ?4)",
        rusqlite::params![i(to), root_hex, note, now],
    )
    .map_err(direct_error)?;
    txn.commit().map_err(direct_error)?;
    Ok(Some(SignedCheckpoint { size: to, root, note, signed_at: now, cosignatures: 0 }))
}

/// Stores `ext` and its signed checkpoint in `txn`, if the tree is still of the size it grew
/// from (else `None`: another replica advanced it first).
async fn store_extension(
    txn: &DatabaseTransaction,
    key: &NamedKey,
    ext: Extension,
    now: i64,
) -> Result<Option<SignedCheckpoint>> {
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        // Replicas take turns: the second waits here until the first commits, then sees its size.
        txn.execute_raw(Statement::from_string(
            DatabaseBackend::Postgres,
            format!("SELECT size FROM log_tree WHERE id = '{TREE_ROW}' FOR UPDATE"),
        ))
        .await
        .map_err(db_error)?;
    }
    let Extension { size, to, root, rows } = ext;
    let updated = tree::Entity::update_many()
        .col_expr(tree::Column::Size, Expr::value(i(to)))
        .col_expr(tree::Column::Root, Expr::value(hex::encode(root)))
        .filter(tree::Column::Id.eq(TREE_ROW))
        .filter(tree::Column::Size.eq(i(size)))
        .exec(txn)
        .await
        .map_err(db_error)?;
    if updated.rows_affected != 1 {
        return Ok(None); // another replica advanced the tree first
    }
    let mut rows = rows
        .into_iter()
        .map(|(idx, hash)| stored_hash::ActiveModel {
            idx: sea_orm::ActiveValue::Set(idx),
            hash: sea_orm::ActiveValue::Set(hash),
        })
        .peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(CHUNK).collect();
        stored_hash::Entity::insert_many(chunk).exec(txn).await.map_err(db_error)?;
    }
    let note = sign_checkpoint(key, to, root)?;
    checkpoint::Entity::insert(checkpoint::ActiveModel {
        size: sea_orm::ActiveValue::Set(i(to)),
        root: sea_orm::ActiveValue::Set(hex::encode(root)),
        note: sea_orm::ActiveValue::Set(note.clone()),
        signed_at: sea_orm::ActiveValue::Set(now),
    })
    .exec(txn)
    .await
    .map_err(db_error)?;
    Ok(Some(SignedCheckpoint { size: to, root, note, signed_at: now, cosignatures: 0 }))
}

fn to_signed(row: checkpoint::Model, cosigs: &[cosignature::Model]) -> Result<SignedCheckpoint> {
    let mut note = row.note;
    for c in cosigs {
        note.push_str(&c.signature);
    }
    Ok(SignedCheckpoint {
        size: u(row.size),
        root: parse_hash(&row.root)?.0,
        note,
        signed_at: row.signed_at,
        cosignatures: u32::try_from(cosigs.len()).unwrap_or(u32::MAX),
    })
}

/// The checkpoint of `size` with its cosignatures, or the latest (`None`).
pub async fn checkpoint(db: &impl ConnectionTrait, size: Option<u64>) -> Result<Option<SignedCheckpoint>> {
    let row = match size {
        Some(s) => checkpoint::Entity::find_by_id(i(s)).one(db).await,
        None => checkpoint::Entity::find().order_by_desc(checkpoint::Column::Size).one(db).await,
    }
    .map_err(db_error)?;
    let Some(row) = row else { return Ok(None) };
    let cosigs = cosignature::Entity::find()
        .filter(cosignature::Column::Size.eq(row.size))
        .order_by_asc(cosignature::Column::Witness)
        .all(db)
        .await
        .map_err(db_error)?;
    to_signed(row, &cosigs).map(Some)
}

/// The latest checkpoint with cosignatures of at least `quorum` distinct witnesses.
pub async fn witnessed(db: &impl ConnectionTrait, quorum: u32) -> Result<Option<SignedCheckpoint>> {
    if quorum == 0 {
        return checkpoint(db, None).await;
    }
    let sizes: Vec<i64> = cosignature::Entity::find()
        .select_only()
        .column(cosignature::Column::Size)
        .group_by(cosignature::Column::Size)
        .having(Expr::cust(format!("COUNT(witness) >= {quorum}")))
        .order_by_desc(cosignature::Column::Size)
        .limit(1)
        .into_tuple()
        .all(db)
        .await
        .map_err(db_error)?;
    match sizes.first() {
        Some(&s) => checkpoint(db, Some(u(s))).await,
        None => Ok(None),
    }
}

/// Stores a witness's cosignature line of the checkpoint of `size` (once per witness).
pub async fn add_cosignature(db: &impl ConnectionTrait, size: u64, witness: &str, line: &str, now: i64) -> Result<()> {
    let row = cosignature::ActiveModel {
        size: sea_orm::ActiveValue::Set(i(size)),
        witness: sea_orm::ActiveValue::Set(witness.to_owned()),
        signature: sea_orm::ActiveValue::Set(line.to_owned()),
        received_at: sea_orm::ActiveValue::Set(now),
    };
    cosignature::Entity::insert(row)
        .on_conflict_do_nothing_on([cosignature::Column::Size, cosignature::Column::Witness])
        .exec(db)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// The hashes of a tlog-tiles hash tile: level `level` (of height 8), index `n`, `width` hashes.
/// `NotFound` if the tree of `size` does not have them all.
pub async fn hash_tile(db: &impl ConnectionTrait, size: u64, level: u8, n: u64, width: u64) -> Result<Vec<u8>> {
    let tree_level = u32::from(level) * 8;
    let have = if tree_level >= 64 { 0 } else { size >> tree_level };
    let start = n.checked_mul(256).ok_or(Error::NotFound { what: "tile", id: format!("{level}/{n}") })?;
    if start + width > have {
        return Err(Error::NotFound { what: "tile", id: format!("{level}/{n}") });
    }
    let level8 = u8::try_from(tree_level).map_err(|_| Error::NotFound { what: "tile", id: format!("{level}/{n}") })?;
    let indexes: Vec<u64> = (start..start + width).map(|k| merkle::stored_hash_index(level8, k)).collect();
    let reader = read_hashes(db, &indexes).await?;
    let mut out = Vec::with_capacity(indexes.len() * 32);
    for ix in indexes {
        out.extend_from_slice(&reader.0[&ix].0);
    }
    Ok(out)
}

/// A tlog-tiles entry bundle: leaves `n*256 ..` (`width` of them), each the 32-byte event hash
/// after its big-endian u16 length.
pub async fn entry_bundle(db: &impl ConnectionTrait, size: u64, n: u64, width: u64) -> Result<Vec<u8>> {
    let start = n.checked_mul(256).ok_or(Error::NotFound { what: "tile", id: format!("entries/{n}") })?;
    if start + width > size {
        return Err(Error::NotFound { what: "tile", id: format!("entries/{n}") });
    }
    let mut out = Vec::with_capacity(width as usize * 34);
    for leaf in leaves(db, start, start + width).await? {
        out.extend_from_slice(&32u16.to_be_bytes());
        out.extend_from_slice(&leaf);
    }
    Ok(out)
}

/// The leaf index of the event `(case_id, case_seq)`.
pub async fn index_of(db: &impl ConnectionTrait, case_id: &str, case_seq: u64) -> Result<u64> {
    let seq: Option<i64> = event::Entity::find()
        .select_only()
        .column(event::Column::GlobalSeq)
        .filter(event::Column::CaseId.eq(case_id))
        .filter(event::Column::CaseSeq.eq(i(case_seq)))
        .into_tuple()
        .one(db)
        .await
        .map_err(db_error)?;
    match seq {
        Some(s) if s >= 1 => Ok(u(s) - 1),
        _ => Err(Error::NotFound { what: "event", id: format!("{case_id}/{case_seq}") }),
    }
}

/// Number of events with `global_seq` ≤ `size`.
pub async fn events_up_to(db: &impl ConnectionTrait, size: u64) -> Result<u64> {
    event::Entity::find().filter(event::Column::GlobalSeq.lte(i(size))).count(db).await.map_err(db_error)
}

/// Stored level-0 hashes (leaf hashes) of leaves `from..to`.
pub async fn leaf_hashes(db: &impl ConnectionTrait, from: u64, to: u64) -> Result<HashMap<u64, Hash>> {
    let indexes: Vec<u64> = (from..to).map(|k| merkle::stored_hash_index(0, k)).collect();
    let reader = read_hashes(db, &indexes).await?;
    Ok((from..to).map(|k| (k, reader.0[&merkle::stored_hash_index(0, k)])).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tree of `n` leaves stored in a fresh SQLite file, with the event hashes of its leaves.
    async fn stored_tree(dir: &std::path::Path, n: u64) -> (Db, Vec<[u8; 32]>, [u8; 32]) {
        let db =
            sanxiang_store::db::connect(&format!("sqlite://{}?mode=rwc", dir.join("t.db").display()), 2).await.unwrap();
        let mut hashes = MapReader::default();
        let mut events = Vec::new();
        for k in 0..n {
            let event = *sanxiang_domain::Sha256Digest::of(&k.to_be_bytes()).as_bytes();
            events.push(event);
            merkle::append(k, merkle::leaf_hash(&event), &mut hashes).unwrap();
        }
        let rows: Vec<stored_hash::ActiveModel> = hashes
            .0
            .iter()
            .map(|(&idx, h)| stored_hash::ActiveModel {
                idx: sea_orm::ActiveValue::Set(i(idx)),
                hash: sea_orm::ActiveValue::Set(hex::encode(h.0)),
            })
            .collect();
        for chunk in rows.chunks(CHUNK) {
            stored_hash::Entity::insert_many(chunk.to_vec()).exec(&db).await.unwrap();
        }
        let root = tlog_tiles::tree_hash(n, &hashes).unwrap().0;
        (db, events, root)
    }

    #[tokio::test]
    async fn leaves_are_proven_by_recomputing_the_root_and_a_difference_is_located() {
        const N: u64 = 1000;
        let dir = tempfile::tempdir().unwrap();
        let (db, events, root) = stored_tree(dir.path(), N).await;
        let leaves = |range: &mut dyn Iterator<Item = u64>| -> Vec<(u64, [u8; 32])> {
            range.map(|k| (k, events[k as usize])).collect()
        };
        // Contiguous ranges (a case's events), scattered ones, one leaf, all, and the edges of
        // trees of other sizes.
        let subsets = [
            leaves(&mut (0..N)),
            leaves(&mut (100..700)),
            leaves(&mut (0..N).step_by(7)),
            leaves(&mut std::iter::once(999)),
            leaves(&mut std::iter::once(0)),
            leaves(&mut (990..N)),
        ];
        for subset in &subsets {
            assert!(proven_by_recomputing(&db, subset, N, root).await.unwrap(), "{} leaves", subset.len());
            assert!(unproven_leaves(&db, subset, N, root).await.unwrap().is_empty());
        }
        for size in [1u64, 2, 3, 513, 999] {
            let mut hashes = MapReader::default();
            for (k, e) in events.iter().enumerate().take(size as usize) {
                merkle::append(k as u64, merkle::leaf_hash(e), &mut hashes).unwrap();
            }
            let smaller_root = tlog_tiles::tree_hash(size, &hashes).unwrap().0;
            let subset = leaves(&mut (0..size).rev().step_by(3));
            assert!(proven_by_recomputing(&db, &subset, size, smaller_root).await.unwrap(), "size {size}");
        }

        // A leaf that is not the logged one: not proven, and named by the node-by-node check.
        let mut changed = subsets[1].clone();
        changed[250].1[0] ^= 1;
        assert!(!proven_by_recomputing(&db, &changed, N, root).await.unwrap());
        assert_eq!(unproven_leaves(&db, &changed, N, root).await.unwrap(), vec![350]);
        // Another root: nothing is proven.
        let mut other = root;
        other[31] ^= 1;
        assert!(!proven_by_recomputing(&db, &subsets[1], N, other).await.unwrap());
        // A stored sibling the recomputation reads (the leaf beside the range's end: 700 is a
        // left child, its right sibling 701 is read), changed.
        assert!(proven_by_recomputing(&db, &leaves(&mut (100..701)), N, root).await.unwrap());
        let sibling = merkle::stored_hash_index(0, 701);
        stored_hash::Entity::update_many()
            .col_expr(stored_hash::Column::Hash, Expr::value(hex::encode([7u8; 32])))
            .filter(stored_hash::Column::Idx.eq(i(sibling)))
            .exec(&db)
            .await
            .unwrap();
        assert!(!proven_by_recomputing(&db, &leaves(&mut (100..701)), N, root).await.unwrap());
        // A missing stored node is not a proof either (the node-by-node check reports it).
        stored_hash::Entity::delete_many().filter(stored_hash::Column::Idx.eq(i(sibling))).exec(&db).await.unwrap();
        assert!(matches!(proven_by_recomputing(&db, &leaves(&mut (100..701)), N, root).await, Err(Error::DataLoss(_))));
    }
}
