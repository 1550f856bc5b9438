//! The single append path: group commit of events into the hash chains.
//!
//! Requests queue on a channel; one task takes whatever is queued (up to [`MAX_BATCH`]), opens
//! one transaction, takes the database-wide append lock (the `sequences` row: a row lock on
//! PostgreSQL, the write lock on SQLite), validates each event against its case's state as
//! committed plus earlier events of the batch, inserts them, commits, and only then answers.
//! Replicas on one PostgreSQL serialise on the same row, so each case has one linear chain and
//! global sequence numbers have no gaps.

use sanxiang_domain::id::{AgencyId, CaseId, OfficerId, PrincipalId};
use std::collections::HashMap;

use sanxiang_domain::canonical::Value;
use sanxiang_domain::chain::{EventRecord, EvidenceLink};
use sanxiang_domain::lifecycle::{CaseKind, CaseState, EventKind};
use sanxiang_domain::review::document_number;
use sanxiang_domain::{Error, Result, Sha256Digest, TimeProvider, Timestamp};
use sanxiang_registry::directory;
pub use sanxiang_registry::registry::DIRECTORY_CHANGED;
use sanxiang_store::entity::{case, event, evidence, sequence};
use sanxiang_store::{Db, db_error};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

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

/// The committed state a batch's appends to existing cases read, loaded with two queries for
/// the whole batch (under the append lock, so it is current) instead of two per event.
#[derive(Default)]
struct Known {
    /// Case rows by id.
    cases: HashMap<CaseId, case::Model>,
    /// Stored events by (case id, request id): idempotent retries.
    events: HashMap<(CaseId, String), event::Model>,
}

impl Known {
    async fn load(txn: &DatabaseTransaction, events: &[NewEvent]) -> Result<Self> {
        let mut case_ids: Vec<&str> = Vec::new();
        let mut request_ids: Vec<&str> = Vec::new();
        for ev in events {
            if let Target::Case(id) = &ev.target {
                case_ids.push(id);
                request_ids.push(&ev.request_id);
            }
        }
        case_ids.sort_unstable();
        case_ids.dedup();
        request_ids.sort_unstable();
        request_ids.dedup();
        let mut known = Self::default();
        if case_ids.is_empty() {
            return Ok(known);
        }
        for chunk in case_ids.chunks(INSERT_CHUNK) {
            let rows = case::Entity::find()
                .filter(case::Column::Id.is_in(chunk.iter().copied()))
                .all(txn)
                .await
                .map_err(db_error)?;
            known.cases.extend(rows.into_iter().map(|c| (c.id.clone(), c)));
        }
        // Both columns of the (case_id, request_id) unique index, so the lookup uses it.
        for requests in request_ids.chunks(INSERT_CHUNK) {
            let rows = event::Entity::find()
                .filter(event::Column::CaseId.is_in(case_ids.iter().copied()))
                .filter(event::Column::RequestId.is_in(requests.iter().copied()))
                .all(txn)
                .await
                .map_err(db_error)?;
            known.events.extend(rows.into_iter().map(|e| ((e.case_id.clone(), e.request_id.clone()), e)));
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
    /// Starts the writer task on `db`.
    pub fn start(db: Db, clock: Arc<dyn TimeProvider>) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(db, clock, rx));
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

async fn run(db: Db, clock: Arc<dyn TimeProvider>, mut rx: mpsc::Receiver<(NewEvent, Reply)>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let items = std::mem::take(&mut batch);
        metrics::histogram!("sanxiang_writer_batch_size").record(items.len() as f64);
        metrics::gauge!("sanxiang_writer_queue_depth").set(rx.len() as f64);
        let now = clock.now();
        let (events, replies): (Vec<_>, Vec<_>) = items.into_iter().unzip();
        let results = match commit_batch(&db, now, &events).await {
            Ok(results) => results,
            // A failure that is not the database's absence may be one bad event; retry one by
            // one so that it does not fail the others.
            Err(e) if events.len() > 1 && !matches!(e, Error::Unavailable(_)) => {
                let mut results = Vec::with_capacity(events.len());
                for ev in &events {
                    results.push(match commit_batch(&db, now, std::slice::from_ref(ev)).await {
                        Ok(mut r) => r.pop().unwrap_or_else(|| Err(Error::Internal("empty batch result".into()))),
                        Err(e) => Err(e),
                    });
                }
                results
            }
            Err(e) => events.iter().map(|_| Err(e.clone())).collect(),
        };
        for (reply, result) in replies.into_iter().zip(results) {
            let _ = reply.send(result);
        }
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

async fn commit_batch(db: &Db, now: Timestamp, events: &[NewEvent]) -> Result<Vec<Result<Appended>>> {
    let txn = begin(db).await?;
    // Take the append lock before reading anything, so every read below is current.
    sequence::Entity::update_many()
        .col_expr(sequence::Column::Value, Expr::col(sequence::Column::Value))
        .filter(sequence::Column::Name.eq(EVENT_SEQUENCE))
        .exec(&txn)
        .await
        .map_err(db_error)?;
    let mut global = sequence::Entity::find_by_id(EVENT_SEQUENCE.to_owned())
        .one(&txn)
        .await
        .map_err(db_error)?
        .ok_or_else(|| Error::Internal("event sequence missing".into()))?
        .value;

    // The directory's counter, for events judged against it (one read per batch, under the lock:
    // a change committed later waits for this batch, one committed earlier is seen).
    let directory = if events.iter().any(|e| e.directory_version.is_some()) {
        Some(
            sequence::Entity::find_by_id(directory::VERSION_ROW.to_owned())
                .one(&txn)
                .await
                .map_err(db_error)?
                .map_or(0, |row| row.value),
        )
    } else {
        None
    };
    let known = Known::load(&txn, events).await?;
    let mut cases: HashMap<CaseId, (case::Model, bool /* new */)> = HashMap::new();
    let mut new_rows: Vec<event::Model> = Vec::new();
    let mut new_evidence: Vec<evidence::Model> = Vec::new();
    let mut extras = Extras::default();
    let mut results = Vec::with_capacity(events.len());

    for ev in events {
        if let (Some(judged), Some(current)) = (ev.directory_version, directory)
            && judged != current
        {
            results.push(Err(Error::precondition(
                DIRECTORY_CHANGED,
                "a token or an officer changed while the request was checked; send it again",
            )));
            continue;
        }
        results.push(prepare(&txn, now, ev, &known, &mut global, &mut cases, &mut new_rows, &mut extras).await.map(
            |(event, fresh, document_number)| {
                if fresh && let Some(e) = &ev.new_evidence {
                    new_evidence.push(e.clone());
                }
                Appended { event, document_number }
            },
        ));
    }

    if !new_rows.is_empty() {
        // New cases and the new heads of existing ones, in one statement per chunk: an upsert
        // on the id that changes only the columns an append changes.
        let touched: Vec<case::Model> = cases.into_values().map(|(c, _)| c).collect();
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
        for e in &new_evidence {
            e.clone().into_active_model().insert(&txn).await.map_err(db_error)?;
        }
        commit_extras(&txn, extras).await?;
        for chunk in new_rows.chunks(INSERT_CHUNK) {
            event::Entity::insert_many(chunk.iter().cloned().map(IntoActiveModel::into_active_model))
                .exec(&txn)
                .await
                .map_err(db_error)?;
        }
        sequence::Entity::update_many()
            .col_expr(sequence::Column::Value, Expr::value(global))
            .filter(sequence::Column::Name.eq(EVENT_SEQUENCE))
            .exec(&txn)
            .await
            .map_err(db_error)?;
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

/// Checks that an event's attachments still fit the committed state plus the batch so far.
async fn check_attached(txn: &DatabaseTransaction, attachments: &[Arc<dyn Attachment>], extras: &Extras) -> Result<()> {
    for (i, rows) in attachments.iter().enumerate() {
        let key = rows.key();
        if extras.attached.iter().any(|p| p.key == key) || attachments[..i].iter().any(|o| o.key() == key) {
            return Err(rows.conflict());
        }
        rows.check(txn).await?;
    }
    Ok(())
}

/// Draws the next number of a document counter: the batch's value, else the stored one.
async fn next_number(txn: &DatabaseTransaction, name: &str, extras: &Extras) -> Result<(i64, bool)> {
    if let Some((value, exists)) = extras.counters.get(name) {
        return Ok((value + 1, *exists));
    }
    let stored = sequence::Entity::find_by_id(name.to_owned()).one(txn).await.map_err(db_error)?;
    Ok(match stored {
        Some(row) => (row.value + 1, true),
        None => (1, false),
    })
}

/// Validates one event against its case and builds its row. Returns the row, whether it is new
/// (false: an idempotent retry of a stored event) and its document number.
#[allow(clippy::too_many_arguments)] // the batch's state, threaded through one event at a time
async fn prepare(
    txn: &DatabaseTransaction,
    now: Timestamp,
    ev: &NewEvent,
    known: &Known,
    global: &mut i64,
    cases: &mut HashMap<CaseId, (case::Model, bool)>,
    new_rows: &mut Vec<event::Model>,
    extras: &mut Extras,
) -> Result<(event::Model, bool, Option<String>)> {
    let mut payload = canonical(&ev.payload, "payload")?;
    let officers = officers_json(&ev.officers)?;
    let evidence = evidence_json(&ev.evidence)?;
    let case_id = ev.case_id().clone();

    // Idempotent retry: the same request id in the same case (or, for an opening, agency).
    let existing = match &ev.target {
        Target::Open(c) => match case::Entity::find()
            .filter(case::Column::AgencyId.eq(&c.agency_id))
            .filter(case::Column::RequestId.eq(&c.request_id))
            .one(txn)
            .await
            .map_err(db_error)?
        {
            Some(stored) => first_event(txn, &stored.id).await?,
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
        let gone = crate::retention::destroyed_ids(txn, &case_id).await?;
        if let Some((i, link)) = ev.evidence.iter().enumerate().find(|(_, l)| gone.contains(&l.evidence_id)) {
            return Err(Error::precondition(
                "K5.destroyed",
                format!("evidence_ids[{i}]: evidence {} was destroyed", link.evidence_id),
            ));
        }
    }
    check_attached(txn, &ev.attachments, extras).await?;
    let mut event_payload = ev.payload.clone();
    let mut drawn = None;
    if let Some(doc) = &ev.document_number {
        let name = doc.sequence_name();
        let (n, exists) = next_number(txn, &name, extras).await?;
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

    *global += 1;
    let prev_hash: Sha256Digest =
        case_row.head_hash.parse().map_err(|_| Error::DataLoss(format!("case {case_id} has a malformed head hash")))?;
    let record = EventRecord {
        global_seq: *global as u64,
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
        global_seq: *global,
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
    cases.insert(case_id, (case_row, is_new));
    new_rows.push(row.clone());
    let number = drawn.as_ref().map(|(_, _, number)| number.clone());
    if let Some((name, value, _)) = drawn {
        extras.counters.insert(name, value);
    }
    for rows in &ev.attachments {
        extras.attached.push(Pending {
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
