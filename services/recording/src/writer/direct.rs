//! The writer's batches on a SQLite file, committed through one dedicated `rusqlite` connection.
//!
//! Through sqlx every statement and every row of a batch is handed to the driver's worker
//! thread and back, and each multi-row insert is a new statement text to build and prepare.
//! Here a batch is one blocking call: `BEGIN IMMEDIATE` (SQLite's one write lock is the append
//! lock), the reads of [`Known`], the same [`judge`] as every other batch, the rows written with
//! statements prepared once per connection, and the commit, durable as the pool's are
//! ([`sanxiang_store::direct::open_writer`]: WAL, `synchronous = FULL`).
//!
//! A batch with rows of other systems attached ([`Attachment`]) or an evidence row runs through
//! sea-orm instead: those rows are written by their owners' code on a sea-orm transaction.

use super::{Appended, EVENT_SEQUENCE, Known, NewEvent, Target, Waiting, judge};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior};
use sanxiang_domain::lifecycle::EventKind;
use sanxiang_domain::{Error, Result, Timestamp};
use sanxiang_registry::directory;
use sanxiang_store::Db;
use sanxiang_store::direct::{direct_error, open_writer, sqlite_file};
use sanxiang_store::entity::{case, event};
use std::sync::{Arc, Mutex, PoisonError};

const CASE_COLUMNS: &str = "id, agency_id, kind, title, party, handling_officers, opened_at, state_bits, event_count, \
     head_hash, filed_at, decided_at, request_id, created_by";

const EVENT_COLUMNS: &str = "global_seq, case_id, case_seq, kind, occurred_at, recorded_at, actor, request_id, \
     request_digest, officers, evidence, payload, prev_hash, hash";

/// The writer's own connection to the SQLite file.
#[derive(Debug, Clone)]
pub(super) struct Direct {
    conn: Arc<Mutex<Connection>>,
}

impl Direct {
    /// A connection to `db`'s file, when `db` is SQLite in a file (`None` otherwise: PostgreSQL
    /// and in-memory SQLite commit every batch through sea-orm).
    pub(super) fn open(db: &Db) -> Result<Option<Self>> {
        let Some(path) = sqlite_file(db) else { return Ok(None) };
        Ok(Some(Self { conn: Arc::new(Mutex::new(open_writer(&path)?)) }))
    }

    /// Whether a batch is committed here: no event carries rows another system writes.
    pub(super) fn takes(events: &[NewEvent]) -> bool {
        events.iter().all(|e| e.attachments.is_empty() && e.new_evidence.is_none())
    }

    /// Commits a batch in one transaction on a blocking thread; answers once it is durable.
    pub(super) async fn commit(
        &self,
        now: Timestamp,
        events: Arc<Vec<NewEvent>>,
        waiting: Waiting,
    ) -> Result<Vec<Result<Appended>>> {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
            commit(&mut conn, now, &events, &waiting)
        })
        .await
        .map_err(|e| Error::Internal(format!("the record writer's thread failed: {e}")))?
    }
}

fn commit(
    conn: &mut Connection,
    now: Timestamp,
    events: &[NewEvent],
    waiting: &Waiting,
) -> Result<Vec<Result<Appended>>> {
    // IMMEDIATE takes SQLite's write lock now, so every read below is current.
    let txn = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(direct_error)?;
    let known = load(&txn, events)?;
    let (results, batch) = judge(now, events, &known, waiting);
    if !batch.new_rows.is_empty() {
        write(&txn, &batch).map_err(direct_error)?;
    }
    txn.commit().map_err(direct_error)?;
    Ok(results)
}

/// [`Known::load`] on this connection.
fn load(txn: &Transaction<'_>, events: &[NewEvent]) -> Result<Known> {
    let global =
        sequence_value(txn, EVENT_SEQUENCE)?.ok_or_else(|| Error::Internal("event sequence missing".into()))?;
    let mut known = Known { global, ..Known::default() };
    if events.iter().any(|e| e.directory_version.is_some()) {
        known.directory = Some(sequence_value(txn, directory::VERSION_ROW)?.unwrap_or(0));
    }
    let case_ids = Known::appended_to(events);
    {
        let mut find =
            txn.prepare_cached(&format!("SELECT {CASE_COLUMNS} FROM cases WHERE id = ?1")).map_err(direct_error)?;
        for id in case_ids {
            if let Some(row) = find.query_row([id], case_row).optional().map_err(direct_error)? {
                known.cases.insert(row.id.clone(), row);
            }
        }
    }
    {
        let mut find = txn
            .prepare_cached(&format!("SELECT {EVENT_COLUMNS} FROM events WHERE case_id = ?1 AND request_id = ?2"))
            .map_err(direct_error)?;
        for ev in events {
            if let Target::Case(id) = &ev.target
                && let Some(row) =
                    find.query_row([id.as_str(), ev.request_id.as_str()], event_row).optional().map_err(direct_error)?
            {
                known.events.insert((row.case_id.clone(), row.request_id.clone()), row);
            }
        }
    }
    for ev in events {
        if let Target::Open(c) = &ev.target {
            let key = (c.agency_id.clone(), c.request_id.clone());
            if known.openings.contains_key(&key) {
                continue;
            }
            let stored: Option<String> = txn
                .prepare_cached("SELECT id FROM cases WHERE agency_id = ?1 AND request_id = ?2")
                .and_then(|mut s| s.query_row([c.agency_id.as_str(), c.request_id.as_str()], |r| r.get(0)).optional())
                .map_err(direct_error)?;
            if let Some(id) = stored {
                let first = txn
                    .prepare_cached(&format!("SELECT {EVENT_COLUMNS} FROM events WHERE case_id = ?1 AND case_seq = 1"))
                    .and_then(|mut s| s.query_row([id.as_str()], event_row).optional())
                    .map_err(direct_error)?;
                known.openings.insert(key, first);
            }
        }
    }
    for id in known.needing_destroyed(events) {
        let rows = txn
            .prepare_cached(&format!(
                "SELECT {EVENT_COLUMNS} FROM events WHERE case_id = ?1 AND kind = ?2 ORDER BY case_seq"
            ))
            .and_then(|mut s| {
                s.query_map([id.as_str(), EventKind::EvidenceDestroyed.as_str()], event_row)?
                    .collect::<Result<Vec<_>, _>>()
            })
            .map_err(direct_error)?;
        let gone = crate::retention::destroyed_ids_of(&rows)?;
        known.destroyed.insert(id, gone);
    }
    for name in Known::counter_names(events) {
        if let Some(value) = sequence_value(txn, &name)? {
            known.counters.insert(name, value);
        }
    }
    // No attachments here (`Direct::takes`): nothing to check.
    known.checks = events.iter().map(|_| Vec::new()).collect();
    Ok(known)
}

fn sequence_value(txn: &Transaction<'_>, name: &str) -> Result<Option<i64>> {
    txn.prepare_cached("SELECT value FROM sequences WHERE name = ?1")
        .and_then(|mut s| s.query_row([name], |r| r.get(0)).optional())
        .map_err(direct_error)
}

/// Writes what [`judge`] decided: the cases' new heads (an upsert that changes only what an
/// append changes), the events, the counters drawn and the global sequence.
fn write(txn: &Transaction<'_>, batch: &super::Batch) -> rusqlite::Result<()> {
    let mut upsert = txn.prepare_cached(&format!(
        "INSERT INTO cases ({CASE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) \
         ON CONFLICT (id) DO UPDATE SET state_bits = excluded.state_bits, event_count = excluded.event_count, \
         head_hash = excluded.head_hash, filed_at = excluded.filed_at, decided_at = excluded.decided_at"
    ))?;
    for (c, _) in batch.cases.values() {
        upsert.execute(rusqlite::params![
            c.id.as_str(),
            c.agency_id.as_str(),
            c.kind,
            c.title,
            c.party,
            c.handling_officers,
            c.opened_at,
            c.state_bits,
            c.event_count,
            c.head_hash,
            c.filed_at,
            c.decided_at,
            c.request_id,
            c.created_by.as_str(),
        ])?;
    }
    let mut insert = txn.prepare_cached(&format!(
        "INSERT INTO events ({EVENT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
    ))?;
    for e in &batch.new_rows {
        insert.execute(rusqlite::params![
            e.global_seq,
            e.case_id.as_str(),
            e.case_seq,
            e.kind,
            e.occurred_at,
            e.recorded_at,
            e.actor,
            e.request_id,
            e.request_digest,
            e.officers,
            e.evidence,
            e.payload,
            e.prev_hash,
            e.hash,
        ])?;
    }
    let mut set = txn.prepare_cached("UPDATE sequences SET value = ?2 WHERE name = ?1")?;
    let mut add = txn.prepare_cached("INSERT INTO sequences (name, value) VALUES (?1, ?2)")?;
    for (name, (value, exists)) in &batch.extras.counters {
        if *exists {
            set.execute(rusqlite::params![name, value])?;
        } else {
            add.execute(rusqlite::params![name, value])?;
        }
    }
    set.execute(rusqlite::params![EVENT_SEQUENCE, batch.global])?;
    Ok(())
}

fn case_row(r: &Row<'_>) -> rusqlite::Result<case::Model> {
    Ok(case::Model {
        id: r.get::<_, String>(0)?.into(),
        agency_id: r.get::<_, String>(1)?.into(),
        kind: r.get(2)?,
        title: r.get(3)?,
        party: r.get(4)?,
        handling_officers: r.get(5)?,
        opened_at: r.get(6)?,
        state_bits: r.get(7)?,
        event_count: r.get(8)?,
        head_hash: r.get(9)?,
        filed_at: r.get(10)?,
        decided_at: r.get(11)?,
        request_id: r.get(12)?,
        created_by: r.get::<_, String>(13)?.into(),
    })
}

fn event_row(r: &Row<'_>) -> rusqlite::Result<event::Model> {
    Ok(event::Model {
        global_seq: r.get(0)?,
        case_id: r.get::<_, String>(1)?.into(),
        case_seq: r.get(2)?,
        kind: r.get(3)?,
        occurred_at: r.get(4)?,
        recorded_at: r.get(5)?,
        actor: r.get(6)?,
        request_id: r.get(7)?,
        request_digest: r.get(8)?,
        officers: r.get(9)?,
        evidence: r.get(10)?,
        payload: r.get(11)?,
        prev_hash: r.get(12)?,
        hash: r.get(13)?,
    })
}
