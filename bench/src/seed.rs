//! `--seed`: stores events straight into the database of a spawned server, as the writer would
//! (same rows, same chain: hashed with the domain's chain code, so the seeded cases verify), at
//! tens of thousands of events per second instead of through the API. It is how the scale run
//! gets millions of stored events in minutes.

use sanxiang_domain::id::{CaseId, OfficerId};
use std::collections::HashMap;
use std::time::{Duration, Instant};

use sanxiang_domain::canonical::Value;
use sanxiang_domain::chain::{EventRecord, EvidenceLink};
use sanxiang_domain::lifecycle::{CaseKind, CaseState, EventKind};
use sanxiang_domain::{Sha256Digest, SystemClock, TimeProvider};
use sanxiang_recording::writer::{evidence_json, officers_json};
use sanxiang_store::entity::{case, event, evidence, sequence};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};

use crate::Error;

/// Events per transaction: large enough to amortise the commit, small enough to keep the WAL
/// (SQLite) or the transaction (PostgreSQL) moderate.
const PER_TRANSACTION: usize = 50_000;

/// Rows per multi-row insert (13 columns each; below both databases' bind-parameter limits).
const PER_INSERT: usize = 256;

/// What the seeded events look like: the bench's `inspection` event.
pub struct Template<'a> {
    pub actor: &'a str,
    pub officers: &'a [String],
    pub text: &'a str,
    pub location: &'a str,
}

/// Appends `events` events round-robin to `targets` (case id, evidence id) directly in the
/// database at `url`, while the server is idle; returns the time it took.
pub async fn seed(
    url: &str,
    targets: &[(String, String)],
    template: &Template<'_>,
    events: usize,
) -> Result<Duration, Error> {
    let started = Instant::now();
    let db = sanxiang_store::db::connect(url, 2).await?;
    let ids: Vec<String> = targets.iter().map(|(c, _)| c.clone()).collect();
    let mut cases: HashMap<CaseId, case::Model> = case::Entity::find()
        .filter(case::Column::Id.is_in(ids))
        .all(&db)
        .await?
        .into_iter()
        .map(|c| (c.id.clone(), c))
        .collect();
    let evidence_ids: Vec<String> = targets.iter().map(|(_, e)| e.clone()).collect();
    let links: HashMap<CaseId, EvidenceLink> = evidence::Entity::find()
        .filter(evidence::Column::Id.is_in(evidence_ids))
        .all(&db)
        .await?
        .into_iter()
        .map(|e| {
            let link = EvidenceLink {
                evidence_id: e.id.clone(),
                sha256: e.sha256.parse().unwrap_or(Sha256Digest::ZERO),
                size: e.size as u64,
                media_type: e.media_type,
            };
            (e.case_id, link)
        })
        .collect();
    let payload = Value::object().with("text", template.text).with("location", template.location);
    let payload_text = payload.to_canonical_string()?;
    let officers: Vec<OfficerId> = template.officers.iter().map(|o| OfficerId::from(o.as_str())).collect();
    let officers_text = officers_json(&officers)?;
    let kind = EventKind::Inspection;

    let mut done = 0;
    while done < events {
        let n = PER_TRANSACTION.min(events - done);
        let txn = db
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await?;
        // The writer's append lock, so a concurrent append could not interleave.
        sequence::Entity::update_many()
            .col_expr(sequence::Column::Value, Expr::col(sequence::Column::Value))
            .filter(sequence::Column::Name.eq("event"))
            .exec(&txn)
            .await?;
        let mut global =
            sequence::Entity::find_by_id("event".to_owned()).one(&txn).await?.ok_or("no event sequence")?.value;
        let now = SystemClock.now();
        let occurred_at = now.plus_seconds(-60);
        let mut rows = Vec::with_capacity(n);
        for i in 0..n {
            let (case_id, _) = &targets[(done + i) % targets.len()];
            let c = cases.get_mut(case_id.as_str()).ok_or("seed case missing")?;
            let link = links.get(case_id.as_str()).ok_or("seed evidence missing")?;
            let state = CaseState::from_bits(c.state_bits);
            state.check_next(CaseKind::parse(&c.kind).ok_or("case kind")?, kind)?;
            global += 1;
            let record = EventRecord {
                global_seq: global as u64,
                case_id: case_id.clone(),
                case_seq: c.event_count as u64 + 1,
                kind: kind.as_str().to_owned(),
                occurred_at,
                recorded_at: now,
                actor: template.actor.to_owned(),
                request_id: uuid::Uuid::now_v7().to_string(),
                officers: template.officers.to_vec(),
                evidence: vec![link.clone()],
                payload: payload.clone(),
                prev_hash: c.head_hash.parse().map_err(|_| "head hash")?,
            };
            let hash = record.hash()?.to_hex();
            rows.push(event::Model {
                global_seq: global,
                case_id: CaseId::from(case_id.as_str()),
                case_seq: record.case_seq as i64,
                kind: record.kind,
                occurred_at: occurred_at.micros(),
                recorded_at: now.micros(),
                actor: record.actor,
                request_id: record.request_id,
                officers: officers_text.clone(),
                evidence: evidence_json(&record.evidence)?,
                payload: payload_text.clone(),
                prev_hash: record.prev_hash.to_hex(),
                hash: hash.clone(),
                request_digest: None,
            });
            c.event_count += 1;
            c.head_hash = hash;
            c.state_bits = state.after(kind).bits();
        }
        for chunk in rows.chunks(PER_INSERT) {
            event::Entity::insert_many(chunk.iter().cloned().map(IntoActiveModel::into_active_model))
                .exec(&txn)
                .await?;
        }
        let touched: Vec<case::Model> = cases.values().cloned().collect();
        case::Entity::insert_many(touched.into_iter().map(IntoActiveModel::into_active_model))
            .on_conflict(
                OnConflict::column(case::Column::Id)
                    .update_columns([case::Column::StateBits, case::Column::EventCount, case::Column::HeadHash])
                    .to_owned(),
            )
            .exec(&txn)
            .await?;
        sequence::Entity::update_many()
            .col_expr(sequence::Column::Value, Expr::value(global))
            .filter(sequence::Column::Name.eq("event"))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        done += n;
        if done % 1_000_000 < PER_TRANSACTION {
            eprintln!("seeded {done} events in {:.0} s", started.elapsed().as_secs_f64());
        }
    }
    // A database that grew by appends has planner statistics (autovacuum keeps them); one filled
    // in minutes has none yet, so give it what it would have.
    if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        db.execute_unprepared("ANALYZE events; ANALYZE cases").await?;
    }
    db.close().await?;
    Ok(started.elapsed())
}
