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
    rows: Vec<stored_hash::ActiveModel>,
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
            rows.push(stored_hash::ActiveModel {
                idx: sea_orm::ActiveValue::Set(i(idx)),
                hash: sea_orm::ActiveValue::Set(hex::encode(h.0)),
            });
        }
    }
    let root = tlog_tiles::tree_hash(to, &hashes).map_err(|e| internal("root", e))?.0;
    Ok(Some(Extension { size, to, root, rows }))
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
    let mut rows = rows.into_iter().peekable();
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
