//! The single append path: group commit of events into the hash chains.
//!
//! Requests queue on a channel; one task takes whatever is queued (up to [`MAX_BATCH`]), opens
//! one transaction, takes the database-wide append lock (the `sequences` row: a row lock on
//! PostgreSQL, the write lock on SQLite), validates each event against its case's state as
//! committed plus earlier events of the batch, inserts them, commits, and only then answers.
//! Replicas on one PostgreSQL serialise on the same row, so each case has one linear chain and
//! global sequence numbers have no gaps.

use sanxiang_domain::id::{AgencyId, CaseId, EvidenceId, OfficerId, PrincipalId};
use std::collections::{HashMap, HashSet};

use sanxiang_domain::canonical::Value;
use sanxiang_domain::chain::{EventRecord, EvidenceLink};
use sanxiang_domain::lifecycle::{CaseKind, CaseState, EventKind};
use sanxiang_domain::review::document_number;
use sanxiang_domain::{Error, Result, Sha256Digest, TimeProvider, Timestamp};
use sanxiang_registry::directory;
pub use sanxiang_registry::registry::DIRECTORY_CHANGED;
use sanxiang_store::changes::{Changes, Topic};
use sanxiang_store::entity::{case, event, evidence, sequence};
use sanxiang_store::{Db, db_error};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, QueryFilter, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

mod direct;
use direct::Direct;

/// Most events committed in one transaction.
pub const MAX_BATCH: usize = 512;

/// Queue length before appenders wait for the writer.
const QUEUE: usize = 4096;

/// Rows per multi-row insert: 13 columns × 256 rows stays far below the bind-parameter limits
/// of SQLite (32,766) and PostgreSQL (65,535).
const INSERT_CHUNK: usize = 256;

/// Name of the global event sequence in the `sequences` table.
const EVENT_SEQUENCE: &str = "event";

/// Which case an event goes to.
#[derive(Debug, Clone)]
pub enum Target {
    /// An existing case.
    Case(CaseId),
    /// A new case, opened by this (its first) event.
    Open(Box<case::Model>),
}

/// An event to append.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub target: Target,
    pub kind: EventKind,
    pub occurred_at: Timestamp,
    pub actor: PrincipalId,
    pub request_id: String,
    /// Digest of the request that asked for the event (`error::request_digest`): a retry with the
    /// same request id is compared by it. `None` compares the event's content instead.
    pub request_digest: Option<String>,
    pub officers: Vec<OfficerId>,
    pub evidence: Vec<EvidenceLink>,
    pub payload: Value,
    /// An evidence row committed atomically with the event (for `evidence_uploaded`).
    pub new_evidence: Option<evidence::Model>,
    /// Rows of other systems committed atomically with the event (drafts, opinions,
    /// disclosures): the writer knows only the [`Attachment`] trait.
    pub attachments: Vec<Arc<dyn Attachment>>,
    /// A document number (文书号) to allocate under the append lock and put in the payload as
    /// `document_number` (for `decision`).
    pub document_number: Option<DocumentNumber>,
    /// The directory's change counter the event's caller and officers were judged at: the
    /// writer refuses the event ([`DIRECTORY_CHANGED`]) when the counter has moved since, so no
    /// event is committed on a right revoked before the commit. `None`: judged by the caller.
    pub directory_version: Option<i64>,
}

/// What the writer decided for an event, handed to its attachments when they commit.
#[derive(Debug, Clone, Copy)]
pub struct Committed<'a> {
    /// The event row as it is committed in the same transaction.
    pub event: &'a event::Model,
    /// The document number the writer drew for the event, if it asked for one.
    pub document_number: Option<&'a str>,
}

/// Rows another system commits in the same transaction as its event, so the record and that
/// system's state never disagree.
#[async_trait::async_trait]
pub trait Attachment: Send + Sync + std::fmt::Debug {
    /// What the rows claim (e.g. `disclosure:<id>`): a second attachment with the same key in one
    /// batch is refused with [`Attachment::conflict`].
    fn key(&self) -> String;

    /// The refusal of a second attachment with the same key in one batch.
    fn conflict(&self) -> Error {
        Error::precondition(
            "concurrent-change",
            format!("{} is being changed by a concurrent request; try again", self.key()),
        )
    }

    /// Checks the rows against the committed state, inside the batch transaction under the
    /// append lock. An error refuses this event only.
    async fn check(&self, txn: &DatabaseTransaction) -> Result<()>;

    /// Writes the rows, given what the writer decided for their event.
    async fn commit(&self, txn: &DatabaseTransaction, committed: Committed<'_>) -> Result<()>;

    /// Completes the event's payload with what the rows will hold once the writer's decisions
    /// are known (e.g. the digest of content that carries the drawn document number), so the
    /// chain anchors them. Called under the append lock, before the event is hashed; the default
    /// leaves the payload as it is.
    fn complete_payload(&self, payload: Value, _document_number: Option<&str>) -> Result<Value> {
        Ok(payload)
    }
}

/// The agency's document-number counter to draw from: `sequences` row
/// `document:<agency_id>:<year>`. Drawn under the append lock inside the batch transaction, so
/// numbers are unique and gap-free across replicas: a number is used exactly when its event
/// commits.
#[derive(Debug, Clone)]
pub struct DocumentNumber {
    pub agency_id: AgencyId,
    pub year: i32,
    /// The number's prefix, e.g. `某局罚决字`.
    pub prefix: String,
}

impl DocumentNumber {
    fn sequence_name(&self) -> String {
        format!("document:{}:{}", self.agency_id, self.year)
    }
}

/// An attachment of the batch with what the writer decided for its event.
struct Pending {
    rows: Arc<dyn Attachment>,
    key: String,
    event: event::Model,
    document_number: Option<String>,
}

/// What a batch adds beyond events: attached rows and counter values (value, row exists).
#[derive(Default)]
struct Extras {
    attached: Vec<Pending>,
    counters: HashMap<String, (i64, bool)>,
}

impl NewEvent {
    /// An event with no acting officers, evidence, attached rows or document number: what most
    /// server-recorded events are.
    pub fn act(
        target: Target,
        kind: EventKind,
        occurred_at: Timestamp,
        actor: &PrincipalId,
        request_id: String,
        payload: Value,
    ) -> Self {
        Self {
            target,
            kind,
            occurred_at,
            actor: actor.clone(),
            request_id,
            request_digest: None,
            officers: Vec::new(),
            evidence: Vec::new(),
            payload,
            new_evidence: None,
            attachments: Vec::new(),
            document_number: None,
            directory_version: None,
        }
    }

    fn case_id(&self) -> &CaseId {
        match &self.target {
            Target::Case(id) => id,
            Target::Open(c) => &c.id,
        }
    }
}

/// The committed state a batch is judged against, read under the append lock before any of its
/// events is judged (a handful of queries for the whole batch, not per event), so that judging
/// ([`judge`]) reads nothing and is the same code whichever connection the batch runs on.
#[derive(Default)]
struct Known {
    /// The global sequence's value.
    global: i64,
    /// The directory's change counter, when an event of the batch was judged against it.
    directory: Option<i64>,
    /// Case rows by id.
    cases: HashMap<CaseId, case::Model>,
    /// Stored events by (case id, request id): idempotent retries.
    events: HashMap<(CaseId, String), event::Model>,
    /// Cases already opened by (agency id, request id), with their first event: retried openings.
    openings: HashMap<(AgencyId, String), Option<event::Model>>,
    /// Destroyed evidence of the cases whose committed state has a destruction (RULES K5), for
    /// the cases an event of the batch links evidence in.
    destroyed: HashMap<CaseId, HashSet<EvidenceId>>,
    /// Stored values of the document counters the batch draws from (absent: no row yet).
    counters: HashMap<String, i64>,
    /// Per event, per attachment: its check against the committed state.
    checks: Vec<Vec<Result<()>>>,
}

impl Known {
    /// The ids of the existing cases the batch appends to, once each.
    fn appended_to(events: &[NewEvent]) -> Vec<&str> {
        // The pairs are sorted by case id first.
        let mut case_ids: Vec<&str> = Self::appended_pairs(events).into_iter().map(|(case_id, _)| case_id).collect();
        case_ids.dedup();
        case_ids
    }

    /// The (case id, request id) of every append of the batch to an existing case, once each.
    fn appended_pairs(events: &[NewEvent]) -> Vec<(&str, &str)> {
        let mut pairs: Vec<(&str, &str)> = events
            .iter()
            .filter_map(|ev| match &ev.target {
                Target::Case(id) => Some((id.as_str(), ev.request_id.as_str())),
                Target::Open(_) => None,
            })
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        pairs
    }

    /// The cases whose committed destruction an event of the batch must be checked against.
    fn needing_destroyed(&self, events: &[NewEvent]) -> Vec<CaseId> {
        let mut ids: Vec<CaseId> = events
            .iter()
            .filter(|ev| !ev.evidence.is_empty())
            .filter_map(|ev| match &ev.target {
                Target::Case(id) => self
                    .cases
                    .get(id)
                    .is_some_and(|c| CaseState::from_bits(c.state_bits).evidence_destroyed())
                    .then(|| id.clone()),
                Target::Open(_) => None,
            })
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// The document counters the batch draws from.
    fn counter_names(events: &[NewEvent]) -> Vec<String> {
        let mut names: Vec<String> =
            events.iter().filter_map(|ev| ev.document_number.as_ref().map(DocumentNumber::sequence_name)).collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// Reads the committed state through sea-orm, in the batch transaction that holds the lock.
    async fn load(txn: &DatabaseTransaction, events: &[NewEvent], global: i64) -> Result<Self> {
        let mut known = Self { global, ..Self::default() };
        // The directory's counter, for events judged against it (one read per batch, under the
        // lock: a change committed later waits for this batch, one committed earlier is seen).
        if events.iter().any(|e| e.directory_version.is_some()) {
            known.directory = Some(
                sequence::Entity::find_by_id(directory::VERSION_ROW.to_owned())
                    .one(txn)
                    .await
                    .map_err(db_error)?
                    .map_or(0, |row| row.value),
            );
        }
        let case_ids = Self::appended_to(events);
        if !case_ids.is_empty() {
            for chunk in case_ids.chunks(INSERT_CHUNK) {
                let rows = case::Entity::find()
                    .filter(case::Column::Id.is_in(chunk.iter().copied()))
                    .all(txn)
                    .await
                    .map_err(db_error)?;
                known.cases.extend(rows.into_iter().map(|c| (c.id.clone(), c)));
            }
            // The exact (case_id, request_id) pairs, each a probe of their unique index. Two
            // `IN` lists (cases × requests) let PostgreSQL's generic plan of the prepared
            // statement scan every event of the batch's cases: about 1,200 pages per batch at a
            // few hundred events per case, 58 % of its statement time in the append benchmark.
            let pairs = Self::appended_pairs(events);
            for chunk in pairs.chunks(INSERT_CHUNK / 2) {
                let mut any = Condition::any();
                for (case_id, request_id) in chunk {
                    any = any.add(
                        Condition::all()
                            .add(event::Column::CaseId.eq(*case_id))
                            .add(event::Column::RequestId.eq(*request_id)),
                    );
                }
                let rows = event::Entity::find().filter(any).all(txn).await.map_err(db_error)?;
                known.events.extend(rows.into_iter().map(|e| ((e.case_id.clone(), e.request_id.clone()), e)));
            }
        }
        for ev in events {
            if let Target::Open(c) = &ev.target {
                let key = (c.agency_id.clone(), c.request_id.clone());
                if known.openings.contains_key(&key) {
                    continue;
                }
                let stored = case::Entity::find()
                    .filter(case::Column::AgencyId.eq(&c.agency_id))
                    .filter(case::Column::RequestId.eq(&c.request_id))
                    .one(txn)
                    .await
                    .map_err(db_error)?;
                if let Some(stored) = stored {
                    known.openings.insert(key, first_event(txn, &stored.id).await?);
                }
            }
        }
        for id in known.needing_destroyed(events) {
            let gone = crate::retention::destroyed_ids(txn, &id).await?;
            known.destroyed.insert(id, gone);
        }
        for name in Self::counter_names(events) {
            if let Some(row) = sequence::Entity::find_by_id(name.clone()).one(txn).await.map_err(db_error)? {
                known.counters.insert(name, row.value);
            }
        }
        for ev in events {
            let mut checks = Vec::with_capacity(ev.attachments.len());
            for rows in &ev.attachments {
                checks.push(rows.check(txn).await);
            }
            known.checks.push(checks);
        }
        Ok(known)
    }
}

/// A committed event and the document number the writer drew for it (or that a retried event
/// got the first time).
#[derive(Debug, Clone)]
pub struct Appended {
    pub event: event::Model,
    pub document_number: Option<String>,
}

type Reply = oneshot::Sender<Result<Appended>>;

/// Handle to the writer task. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Writer {
    tx: mpsc::Sender<(NewEvent, Reply)>,
}

impl Writer {
    /// Starts the writer task on `db`. On a SQLite file the writer commits through its own
    /// connection to the file (see the `direct` module), else through `db`.
    /// Every batch that commits moves `changes`' [`Topic::Events`] on before its callers are
    /// answered.
    pub fn start(db: Db, clock: Arc<dyn TimeProvider>, changes: Changes) -> Self {
        let direct = match Direct::open(&db) {
            Ok(direct) => direct,
            Err(e) => {
                tracing::warn!(error = %e, "the record writer commits through the pool: its own connection did not open");
                None
            }
        };
        Self::start_with(db, direct, clock, changes)
    }

    fn start_with(db: Db, direct: Option<Direct>, clock: Arc<dyn TimeProvider>, changes: Changes) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            own_thread(db, clock, changes, rx);
        } else {
            tokio::spawn(run(db, direct, clock, changes, rx));
        }
        Self { tx }
    }

    /// Appends an event, returning the stored row once it is durable. An event whose
    /// `request_id` is already in the case returns the stored event instead (idempotent retry),
    /// or `FAILED_PRECONDITION` if the stored event has different content.
    pub async fn append(&self, event: NewEvent) -> Result<event::Model> {
        self.append_numbered(event).await.map(|a| a.event)
    }

    /// Appends an event that asks for a document number ([`NewEvent::document_number`]),
    /// returning the stored row and the number it got.
    pub async fn append_numbered(&self, event: NewEvent) -> Result<Appended> {
        let (reply, rx) = oneshot::channel();
        self.tx.send((event, reply)).await.map_err(|_| Error::Unavailable("the record writer has stopped".into()))?;
        rx.await.map_err(|_| Error::Unavailable("the record writer has stopped".into()))?
    }
}

/// On PostgreSQL the writer runs on a thread of its own, with a runtime of its own and a
/// connection of its own (the pool's options, one connection): a batch is about ten round trips
/// one after another, and on the shared runtime each of them waited behind the request tasks of
/// every client before the writer was polled again, while every caller waited for the batch.
/// Ends when the last [`Writer`] handle is dropped.
fn own_thread(db: Db, clock: Arc<dyn TimeProvider>, changes: Changes, rx: mpsc::Receiver<(NewEvent, Reply)>) {
    let spawned = std::thread::Builder::new().name("sanxiang-writer".into()).spawn(move || {
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "the record writer's runtime did not start; appends fail");
                return;
            }
        };
        runtime.block_on(async move {
            let db = match sanxiang_store::db::own_postgres_connection(&db).await {
                Ok(own) => own,
                Err(e) => {
                    tracing::warn!(error = %e, "the record writer commits through the pool: its own connection did not open");
                    db
                }
            };
            run(db, None, clock, changes, rx).await;
        });
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "the record writer's thread did not start; appends fail");
    }
}

async fn run(
    db: Db,
    direct: Option<Direct>,
    clock: Arc<dyn TimeProvider>,
    changes: Changes,
    mut rx: mpsc::Receiver<(NewEvent, Reply)>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let items = std::mem::take(&mut batch);
        metrics::histogram!("sanxiang_writer_batch_size").record(items.len() as f64);
        metrics::gauge!("sanxiang_writer_queue_depth").set(rx.len() as f64);
        let now = clock.now();
        let (events, replies): (Vec<_>, Vec<_>) = items.into_iter().unzip();
        let events = Arc::new(events);
        let waiting = Waiting::new(replies);
        let results = match commit_any(&db, direct.as_ref(), now, Arc::clone(&events), waiting.clone()).await {
            Ok(results) => results,
            // A failure that is not the database's absence may be one bad event; retry one by
            // one so that it does not fail the others.
            Err(e) if events.len() > 1 && !matches!(e, Error::Unavailable(_)) => {
                let mut results = Vec::with_capacity(events.len());
                for (i, ev) in events.iter().enumerate() {
                    let one = Waiting(Arc::new(vec![std::sync::Mutex::new(waiting.take(i))]));
                    results.push(
                        match commit_any(&db, direct.as_ref(), now, Arc::new(vec![ev.clone()]), one.clone()).await {
                            Ok(mut r) => r.pop().unwrap_or_else(|| Err(Error::Internal("empty batch result".into()))),
                            Err(e) => Err(e),
                        },
                    );
                    waiting.put(i, one.take(0));
                }
                results
            }
            Err(e) => events.iter().map(|_| Err(e.clone())).collect(),
        };
        if results.iter().any(Result::is_ok) {
            changes.bump(Topic::Events);
        }
        for (i, result) in results.into_iter().enumerate() {
            if let Some(reply) = waiting.take(i) {
                let _ = reply.send(result);
            }
        }
    }
}

/// The callers of a batch, by event: whether each still waits for its answer. A caller that
/// stopped waiting (its request timed out or was cancelled while the batch waited for the append
/// lock) was answered with an error by the server, so its event must not be committed.
#[derive(Clone)]
struct Waiting(Arc<Vec<std::sync::Mutex<Option<Reply>>>>);

impl Waiting {
    fn new(replies: Vec<Reply>) -> Self {
        Self(Arc::new(replies.into_iter().map(|r| std::sync::Mutex::new(Some(r))).collect()))
    }

    fn slot(&self, i: usize) -> std::sync::MutexGuard<'_, Option<Reply>> {
        self.0[i].lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether the caller of event `i` has stopped waiting.
    fn gone(&self, i: usize) -> bool {
        self.slot(i).as_ref().is_none_or(oneshot::Sender::is_closed)
    }

    fn take(&self, i: usize) -> Option<Reply> {
        self.slot(i).take()
    }

    fn put(&self, i: usize, reply: Option<Reply>) {
        *self.slot(i) = reply;
    }
}

/// Commits a batch on the writer's own SQLite connection when it has one and the batch fits it,
/// else through sea-orm.
async fn commit_any(
    db: &Db,
    direct: Option<&Direct>,
    now: Timestamp,
    events: Arc<Vec<NewEvent>>,
    waiting: Waiting,
) -> Result<Vec<Result<Appended>>> {
    match direct {
        Some(d) if Direct::takes(&events) => d.commit(now, events, waiting).await,
        _ => commit_batch(db, now, &events, &waiting).await,
    }
}

/// The fields of an event that a retry must repeat exactly.
fn same_content(stored: &event::Model, new: &NewEvent, payload: &str, officers: &str, evidence: &str) -> bool {
    stored.kind == new.kind.as_str()
        && stored.occurred_at == new.occurred_at.micros()
        && stored.payload == payload
        && stored.officers == officers
        && stored.evidence == evidence
}

/// Encodes evidence links as stored in the `events.evidence` column (an encoding failure is an
/// error, never an empty column).
pub fn evidence_json(links: &[EvidenceLink]) -> Result<String> {
    let v: Vec<Value> = links
        .iter()
        .map(|l| {
            Value::object()
                .with("id", l.evidence_id.as_str())
                .with("media_type", l.media_type.as_str())
                .with("sha256", l.sha256.to_hex())
                .with("size", l.size)
        })
        .collect();
    Value::Array(v).to_canonical_string().map_err(|e| Error::Internal(format!("encoding evidence links: {e}")))
}

/// Encodes officer ids as stored in the `events.officers` column.
pub fn officers_json(officers: &[OfficerId]) -> Result<String> {
    Value::from(officers.to_vec())
        .to_canonical_string()
        .map_err(|e| Error::Internal(format!("encoding officer ids: {e}")))
}

fn canonical(v: &Value, field: &str) -> Result<String> {
    v.to_canonical_string().map_err(|e| Error::invalid(field, e.to_string()))
}

async fn begin(db: &Db) -> Result<DatabaseTransaction> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
    .map_err(db_error)
}

/// What judging a batch decided: the rows to write and each event's answer.
#[derive(Default)]
struct Batch {
    /// The global sequence's value after the batch.
    global: i64,
    /// New cases and the new heads of existing ones (row, new).
    cases: HashMap<CaseId, (case::Model, bool)>,
    /// The new event rows, in global order.
    new_rows: Vec<event::Model>,
    /// Evidence rows committed with their events.
    new_evidence: Vec<evidence::Model>,
    extras: Extras,
}

/// Judges each event of a batch against the committed state (`known`) plus the batch's earlier
/// events, and builds the rows to write. Reads nothing: every lookup was made by [`Known`].
///
/// The callers are asked once the append lock is held (`waiting`): the event of one that stopped
/// waiting meanwhile is not committed.
fn judge(now: Timestamp, events: &[NewEvent], known: &Known, waiting: &Waiting) -> (Vec<Result<Appended>>, Batch) {
    let mut batch = Batch { global: known.global, ..Batch::default() };
    let mut results = Vec::with_capacity(events.len());
    for (i, ev) in events.iter().enumerate() {
        if waiting.gone(i) {
            results.push(Err(Error::Unavailable("the caller stopped waiting; nothing was written".into())));
            continue;
        }
        if let (Some(judged), Some(current)) = (ev.directory_version, known.directory)
            && judged != current
        {
            results.push(Err(Error::precondition(
                DIRECTORY_CHANGED,
                "a token or an officer changed while the request was checked; send it again",
            )));
            continue;
        }
        let checks = known.checks.get(i).map_or(&[][..], Vec::as_slice);
        results.push(prepare(now, ev, checks, known, &mut batch).map(|(event, fresh, document_number)| {
            if fresh && let Some(e) = &ev.new_evidence {
                batch.new_evidence.push(e.clone());
            }
            Appended { event, document_number }
        }));
    }
    (results, batch)
}

/// Commits a batch through sea-orm (PostgreSQL, in-memory SQLite, and any batch with rows of
/// other systems attached).
async fn commit_batch(
    db: &Db,
    now: Timestamp,
    events: &[NewEvent],
    waiting: &Waiting,
) -> Result<Vec<Result<Appended>>> {
    let txn = begin(db).await?;
    // Take the append lock before reading anything, so every read below is current; the
    // sequence comes back with it (`RETURNING` where the database has it: one round trip).
    let global = sequence::Entity::update_many()
        .col_expr(sequence::Column::Value, Expr::col(sequence::Column::Value))
        .filter(sequence::Column::Name.eq(EVENT_SEQUENCE))
        .exec_with_returning(&txn)
        .await
        .map_err(db_error)?
        .pop()
        .ok_or_else(|| Error::Internal("event sequence missing".into()))?
        .value;
    let known = Known::load(&txn, events, global).await?;
    let (results, batch) = judge(now, events, &known, waiting);

    if !batch.new_rows.is_empty() {
        // New cases and the new heads of existing ones, in one statement per chunk: an upsert
        // on the id that changes only the columns an append changes.
        let touched: Vec<case::Model> = batch.cases.into_values().map(|(c, _)| c).collect();
        for chunk in touched.chunks(INSERT_CHUNK) {
            case::Entity::insert_many(chunk.iter().cloned().map(IntoActiveModel::into_active_model))
                .on_conflict(
                    OnConflict::column(case::Column::Id)
                        .update_columns([
                            case::Column::StateBits,
                            case::Column::EventCount,
                            case::Column::HeadHash,
                            case::Column::FiledAt,
                            case::Column::DecidedAt,
                        ])
                        .to_owned(),
                )
                .exec(&txn)
                .await
                .map_err(db_error)?;
        }
        for e in &batch.new_evidence {
            e.clone().into_active_model().insert(&txn).await.map_err(db_error)?;
        }
        commit_extras(&txn, batch.extras).await?;
        for chunk in batch.new_rows.chunks(INSERT_CHUNK) {
            event::Entity::insert_many(chunk.iter().cloned().map(IntoActiveModel::into_active_model))
                .exec(&txn)
                .await
                .map_err(db_error)?;
        }
        if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            // The sequence stored and every replica's listing caches told, in one round trip:
            // the notice is delivered when, and only if, the transaction commits.
            let sql = format!(
                "WITH stored AS (UPDATE sequences SET value = $1 WHERE name = $2 RETURNING 1) \
                 SELECT pg_notify('{}', '') FROM stored",
                Topic::Events.channel()
            );
            txn.execute_raw(Statement::from_sql_and_values(
                sea_orm::DatabaseBackend::Postgres,
                sql,
                [batch.global.into(), EVENT_SEQUENCE.into()],
            ))
            .await
            .map_err(db_error)?;
        } else {
            sequence::Entity::update_many()
                .col_expr(sequence::Column::Value, Expr::value(batch.global))
                .filter(sequence::Column::Name.eq(EVENT_SEQUENCE))
                .exec(&txn)
                .await
                .map_err(db_error)?;
        }
    }
    txn.commit().await.map_err(db_error)?;
    Ok(results)
}

/// Commits the attached rows and stores the counters drawn by the batch.
async fn commit_extras(txn: &DatabaseTransaction, extras: Extras) -> Result<()> {
    for p in &extras.attached {
        p.rows.commit(txn, Committed { event: &p.event, document_number: p.document_number.as_deref() }).await?;
    }
    for (name, (value, exists)) in extras.counters {
        if exists {
            sequence::Entity::update_many()
                .col_expr(sequence::Column::Value, Expr::value(value))
                .filter(sequence::Column::Name.eq(&name))
                .exec(txn)
                .await
                .map_err(db_error)?;
        } else {
            sequence::ActiveModel { name: Set(name), value: Set(value) }.insert(txn).await.map_err(db_error)?;
        }
    }
    Ok(())
}

/// Checks that an event's attachments do not claim what an earlier one of the batch claims,
/// and that each passed its check against the committed state (`checks`, in order).
fn check_attached(attachments: &[Arc<dyn Attachment>], checks: &[Result<()>], extras: &Extras) -> Result<()> {
    for (i, rows) in attachments.iter().enumerate() {
        let key = rows.key();
        if extras.attached.iter().any(|p| p.key == key) || attachments[..i].iter().any(|o| o.key() == key) {
            return Err(rows.conflict());
        }
        match checks.get(i) {
            Some(result) => result.clone()?,
            None => return Err(Error::Internal("an attachment was not checked".into())),
        }
    }
    Ok(())
}

/// Draws the next number of a document counter: the batch's value, else the stored one.
fn next_number(name: &str, known: &Known, extras: &Extras) -> (i64, bool) {
    if let Some((value, exists)) = extras.counters.get(name) {
        return (value + 1, *exists);
    }
    match known.counters.get(name) {
        Some(value) => (value + 1, true),
        None => (1, false),
    }
}

/// Validates one event against its case and builds its row. Returns the row, whether it is new
/// (false: an idempotent retry of a stored event) and its document number.
fn prepare(
    now: Timestamp,
    ev: &NewEvent,
    checks: &[Result<()>],
    known: &Known,
    batch: &mut Batch,
) -> Result<(event::Model, bool, Option<String>)> {
    let mut payload = canonical(&ev.payload, "payload")?;
    let officers = officers_json(&ev.officers)?;
    let evidence = evidence_json(&ev.evidence)?;
    let case_id = ev.case_id().clone();
    let (cases, new_rows) = (&batch.cases, &batch.new_rows);

    // Idempotent retry: the same request id in the same case (or, for an opening, agency).
    let existing = match &ev.target {
        Target::Open(c) => match known.openings.get(&(c.agency_id.clone(), c.request_id.clone())) {
            Some(first) => first.clone(),
            None => new_rows
                .iter()
                .find(|r| {
                    r.kind == EventKind::CaseOpened.as_str()
                        && r.request_id == c.request_id
                        && cases.get(&r.case_id).is_some_and(|(m, _)| m.agency_id == c.agency_id)
                })
                .cloned(),
        },
        Target::Case(id) => match new_rows.iter().find(|r| &r.case_id == id && r.request_id == ev.request_id) {
            Some(r) => Some(r.clone()),
            None => known.events.get(&(id.clone(), ev.request_id.clone())).cloned(),
        },
    };
    if let Some(stored) = existing {
        // A numbered event is retried without its number: compare with the number it got.
        let mut number = None;
        // (A stored event of another kind is a reused request id, refused below.)
        if ev.document_number.is_some() && stored.kind == ev.kind.as_str() {
            let unreadable = || {
                Error::DataLoss(format!(
                    "event {}#{} has no readable document_number in its payload",
                    stored.case_id, stored.case_seq
                ))
            };
            let stored_payload = Value::parse(&stored.payload).map_err(|_| unreadable())?;
            let n = stored_payload.get("document_number").and_then(Value::as_str).ok_or_else(unreadable)?;
            payload = canonical(&ev.payload.clone().with("document_number", n), "payload")?;
            number = Some(n.to_owned());
        }
        let same = match (&stored.request_digest, &ev.request_digest, &ev.target) {
            // The request is the better witness: an event's content may depend on the time of
            // the attempt.
            (Some(first), Some(retried), _) => first == retried,
            (_, _, Target::Open(_)) => true, // an opening carries a fresh case id on every attempt
            (_, _, Target::Case(_)) => same_content(&stored, ev, &payload, &officers, &evidence),
        };
        return if same {
            Ok((stored, false, number))
        } else {
            Err(Error::precondition(
                "idempotency",
                format!(
                    "request_id {} was already used for a different request in this case",
                    sanxiang_domain::error::clip(&ev.request_id)
                ),
            ))
        };
    }

    let (mut case_row, is_new) = match (&ev.target, cases.get(&case_id)) {
        (_, Some((c, is_new))) => (c.clone(), *is_new),
        (Target::Open(c), None) => ((**c).clone(), true),
        (Target::Case(id), None) => (known.cases.get(id).cloned().ok_or_else(|| Error::not_found("case", id))?, false),
    };
    let case_kind = CaseKind::parse(&case_row.kind)
        .ok_or_else(|| Error::DataLoss(format!("cases.kind of case {case_id} cannot be read")))?;
    let state = CaseState::from_bits(case_row.state_bits);
    if ev.kind != EventKind::CaseOpened {
        state.check_next(case_kind, ev.kind)?;
    } else if case_row.event_count != 0 {
        return Err(Error::precondition("R2.case-opened", "the case is already open"));
    }

    // An item whose bytes were destroyed (RULES K5) can no longer be what an act relies on. The
    // case's state says whether it has a destruction at all, so other cases pay nothing.
    if state.evidence_destroyed() && !ev.evidence.is_empty() {
        // (A destruction first made in this batch has no committed items yet: none are gone.)
        let gone = known.destroyed.get(&case_id);
        if let Some((i, link)) =
            ev.evidence.iter().enumerate().find(|(_, l)| gone.is_some_and(|g| g.contains(&l.evidence_id)))
        {
            return Err(Error::precondition(
                "K5.destroyed",
                format!("evidence_ids[{i}]: evidence {} was destroyed", link.evidence_id),
            ));
        }
    }
    check_attached(&ev.attachments, checks, &batch.extras)?;
    let mut event_payload = ev.payload.clone();
    let mut drawn = None;
    if let Some(doc) = &ev.document_number {
        let name = doc.sequence_name();
        let (n, exists) = next_number(&name, known, &batch.extras);
        let number = document_number(&doc.prefix, doc.year, n);
        event_payload = event_payload.with("document_number", number.as_str());
        payload = canonical(&event_payload, "payload")?;
        drawn = Some((name, (n, exists), number));
    }
    if !ev.attachments.is_empty() {
        let number = drawn.as_ref().map(|(_, _, number)| number.as_str());
        for rows in &ev.attachments {
            event_payload = rows.complete_payload(event_payload, number)?;
        }
        payload = canonical(&event_payload, "payload")?;
    }

    batch.global += 1;
    let prev_hash: Sha256Digest =
        case_row.head_hash.parse().map_err(|_| Error::DataLoss(format!("case {case_id} has a malformed head hash")))?;
    let record = EventRecord {
        global_seq: batch.global as u64,
        case_id: case_id.to_string(),
        case_seq: case_row.event_count as u64 + 1,
        kind: ev.kind.as_str().to_owned(),
        occurred_at: ev.occurred_at,
        recorded_at: now,
        actor: ev.actor.to_string(),
        request_id: ev.request_id.clone(),
        officers: ev.officers.iter().map(ToString::to_string).collect(),
        evidence: ev.evidence.clone(),
        payload: event_payload,
        prev_hash,
    };
    let hash = record.hash().map_err(|e| Error::invalid("payload", e.to_string()))?;
    let row = event::Model {
        global_seq: batch.global,
        case_id: case_id.clone(),
        case_seq: record.case_seq as i64,
        kind: record.kind,
        occurred_at: ev.occurred_at.micros(),
        recorded_at: now.micros(),
        actor: ev.actor.to_string(),
        request_id: ev.request_id.clone(),
        request_digest: ev.request_digest.clone(),
        officers,
        evidence,
        payload,
        prev_hash: prev_hash.to_hex(),
        hash: hash.to_hex(),
    };
    case_row.event_count += 1;
    case_row.head_hash = row.hash.clone();
    case_row.state_bits = state.after(ev.kind).bits();
    if ev.kind == EventKind::Filing {
        case_row.filed_at = Some(ev.occurred_at.micros());
    }
    if ev.kind == EventKind::Decision {
        case_row.decided_at = Some(ev.occurred_at.micros());
    }
    batch.cases.insert(case_id, (case_row, is_new));
    batch.new_rows.push(row.clone());
    let number = drawn.as_ref().map(|(_, _, number)| number.clone());
    if let Some((name, value, _)) = drawn {
        batch.extras.counters.insert(name, value);
    }
    for rows in &ev.attachments {
        batch.extras.attached.push(Pending {
            rows: rows.clone(),
            key: rows.key(),
            event: row.clone(),
            document_number: number.clone(),
        });
    }
    Ok((row, true, number))
}

async fn first_event(txn: &DatabaseTransaction, case_id: &CaseId) -> Result<Option<event::Model>> {
    event::Entity::find()
        .filter(event::Column::CaseId.eq(case_id))
        .filter(event::Column::CaseSeq.eq(1))
        .one(txn)
        .await
        .map_err(db_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sanxiang_domain::TestClock;
    use sea_orm::{ConnectionTrait, QueryOrder};

    fn opening(case_id: &str, request_id: &str, at: Timestamp) -> NewEvent {
        let case = case::Model {
            id: CaseId::from(case_id),
            agency_id: AgencyId::from("agency-1"),
            kind: CaseKind::Penalty.as_str().into(),
            title: "t".into(),
            party: "{}".into(),
            handling_officers: "[]".into(),
            opened_at: at.micros(),
            state_bits: 0,
            event_count: 0,
            head_hash: Sha256Digest::ZERO.to_hex(),
            filed_at: None,
            decided_at: None,
            request_id: request_id.into(),
            created_by: PrincipalId::from("p-1"),
        };
        let payload = Value::object().with("title", "t");
        NewEvent::act(
            Target::Open(Box::new(case)),
            EventKind::CaseOpened,
            at,
            &PrincipalId::from("p-1"),
            request_id.into(),
            payload,
        )
    }

    fn act(case_id: &str, kind: EventKind, request_id: &str, text: &str, at: Timestamp) -> NewEvent {
        NewEvent::act(
            Target::Case(CaseId::from(case_id)),
            kind,
            at,
            &PrincipalId::from("p-1"),
            request_id.into(),
            Value::object().with("text", text),
        )
    }

    fn outcome(r: &Result<event::Model>) -> String {
        match r {
            Ok(e) => format!("ok {} {}#{} {} {}", e.global_seq, e.case_id, e.case_seq, e.kind, e.hash),
            Err(e) => format!("refused: {e}"),
        }
    }

    /// Drives one writer through openings, appends, retries and refusals, one batch at a time
    /// and then all in one batch; returns the answers and the stored events and cases.
    async fn drive(direct: bool) -> (Vec<String>, Vec<event::Model>, Vec<case::Model>) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("w.db").display());
        let db = sanxiang_store::db::connect(&url, 2).await.unwrap();
        db.execute_unprepared(
            "INSERT INTO agencies (id, name, credit_code, region, powers, time_zone, recording_policy, \
             upload_window_hours, created_at) VALUES ('agency-1', 'a', 'c', 'r', '[]', 'Asia/Shanghai', '{}', 24, 0)",
        )
        .await
        .unwrap();
        let at = Timestamp::from_micros(1_780_000_000_000_000);
        let clock: Arc<dyn TimeProvider> = Arc::new(TestClock::new(at));
        let conn = if direct {
            Some(Direct::open(&db).unwrap().expect("a SQLite file has the writer's own connection"))
        } else {
            None
        };
        let writer = Writer::start_with(db.clone(), conn, clock, Changes::none());
        let mut answers = Vec::new();
        let one_by_one = [
            opening("case-a", "open-a", at),
            opening("case-a2", "open-a", at), // a retried opening: case-a's first event
            act("case-a", EventKind::Filing, "r1", "filed", at),
            act("case-a", EventKind::Filing, "r1", "filed", at), // the same retry
            act("case-a", EventKind::Filing, "r1", "other", at), // r1 reused for other content
            act("case-x", EventKind::Filing, "r2", "no such case", at),
            act("case-a", EventKind::CaseOpened, "r3", "opened twice", at),
        ];
        for ev in one_by_one {
            answers.push(outcome(&writer.append(ev).await));
        }
        let mut judged = act("case-a", EventKind::Filing, "r4", "judged on an old directory", at);
        judged.directory_version = Some(7);
        let together = vec![
            opening("case-b", "open-b", at),
            opening("case-b2", "open-b", at), // retried in the same batch
            act("case-b", EventKind::Filing, "r1", "filed", at),
            act("case-b", EventKind::Filing, "r1", "filed", at),
            act("case-b", EventKind::Filing, "r1", "changed", at),
            act("case-a", EventKind::Filing, "r1", "filed", at), // retried across batches
            judged,
        ];
        let pending: Vec<_> = together.into_iter().map(|ev| writer.append(ev)).collect();
        for r in futures::future::join_all(pending).await {
            answers.push(outcome(&r));
        }
        let events = event::Entity::find().order_by_asc(event::Column::GlobalSeq).all(&db).await.unwrap();
        let cases = case::Entity::find().order_by_asc(case::Column::Id).all(&db).await.unwrap();
        (answers, events, cases)
    }

    #[tokio::test]
    async fn a_batch_on_the_writers_own_connection_is_judged_and_stored_as_through_sea_orm() {
        let (direct_answers, direct_events, direct_cases) = drive(true).await;
        let (pool_answers, pool_events, pool_cases) = drive(false).await;
        assert_eq!(direct_answers, pool_answers);
        assert_eq!(direct_events, pool_events);
        assert_eq!(direct_cases, pool_cases);

        // And what both did is what the rules say.
        let a = &direct_answers;
        assert!(a[0].starts_with("ok 1 case-a#1 case_opened"), "{a:?}");
        assert_eq!(a[1], a[0], "a retried opening answers the case's first event");
        assert!(a[2].starts_with("ok 2 case-a#2 filing"), "{a:?}");
        assert_eq!(a[3], a[2], "a retry answers the stored event");
        assert!(a[4].contains("idempotency"), "{a:?}");
        assert!(a[5].contains("case-x"), "{a:?}");
        assert!(a[6].contains("R2.case-opened"), "{a:?}");
        assert!(a[7].starts_with("ok 3 case-b#1 case_opened"), "{a:?}");
        assert_eq!(a[8], a[7]);
        assert!(a[9].starts_with("ok 4 case-b#2 filing"), "{a:?}");
        assert_eq!(a[10], a[9]);
        assert!(a[11].contains("idempotency"), "{a:?}");
        assert_eq!(a[12], a[2], "a retry in a later batch answers the stored event");
        assert!(a[13].contains(DIRECTORY_CHANGED), "{a:?}");
        assert_eq!(direct_events.len(), 4);
        let heads: Vec<(&str, i64)> = direct_cases.iter().map(|c| (c.id.as_str(), c.event_count)).collect();
        assert_eq!(heads, [("case-a", 2), ("case-b", 2)]);
        assert_eq!(direct_cases[0].head_hash, direct_events[1].hash);
        assert!(direct_cases[0].filed_at.is_some());
    }
}
