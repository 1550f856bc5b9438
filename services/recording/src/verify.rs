//! Verification of a case's record: every link of the chain, the case row against its opening
//! event, every evidence reference, and optionally every evidence object's bytes.

use sanxiang_domain::id::{CaseId, EvidenceId};
use std::collections::HashMap;

use sanxiang_domain::Sha256Digest;
use sanxiang_domain::canonical::{CanonicalError, Value, check_canonical};
use sanxiang_domain::chain::{EventRecord, EvidenceLink, LinkFacts, StoredEvent, check_links};
use sanxiang_domain::lifecycle::EventKind;
use sanxiang_domain::{Error, Result, Timestamp};
use sanxiang_store::entity::{case, disclosure, draft, event, evidence, filing, review};
use sanxiang_store::{Db, db_error};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select};

mod anchor;

use crate::record::{Recorder, evidence_from_json, officers_from_json};
use crate::retention::Tombstone;

/// One failed check, located by table, row and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The event at fault, or 0 for the case row.
    pub case_seq: u64,
    /// The evidence item at fault, if any.
    pub evidence_id: Option<EvidenceId>,
    pub message: String,
    /// The table holding the value at fault (`events`, `cases`, `evidence`, `drafts`,
    /// `reviews`, `disclosures`, `log`).
    pub table: &'static str,
    /// The row's key: `global_seq` for events, the tree size for the log, `id` otherwise.
    pub row: String,
    /// The column at fault; empty for the row as a whole.
    pub column: String,
    /// The row cannot be read at all (DATA_LOSS).
    pub data_loss: bool,
}

impl Problem {
    /// A problem of the event at `case_seq` (row `global_seq`, when known) as a whole.
    pub fn event(case_seq: u64, global_seq: Option<u64>, message: impl Into<String>) -> Self {
        Self {
            case_seq,
            evidence_id: None,
            message: message.into(),
            table: "events",
            row: global_seq.map(|g| g.to_string()).unwrap_or_default(),
            column: String::new(),
            data_loss: false,
        }
    }

    /// A stored value of `table`'s row `row`, column `column`, disagreeing with the chain.
    pub fn at(table: &'static str, row: &str, column: &str, case_seq: u64, message: impl Into<String>) -> Self {
        Self {
            case_seq,
            evidence_id: None,
            message: message.into(),
            table,
            row: row.to_owned(),
            column: column.to_owned(),
            data_loss: false,
        }
    }

    fn evidence(id: &str, case_seq: u64, message: impl Into<String>) -> Self {
        Self { evidence_id: Some(EvidenceId::from(id)), ..Self::at("evidence", id, "", case_seq, message) }
    }
}

/// The outcome of [`Recorder::verify_case`].
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub events_checked: u64,
    pub evidence_checked: u64,
    pub head_hash: String,
    pub problems: Vec<Problem>,
    /// The size of the signed checkpoint the events were checked against (0: none).
    pub checkpoint_size: u64,
    /// The case's events that checkpoint includes.
    pub events_in_checkpoint: u64,
    /// Items whose bytes the chain records as destroyed (RULES K5), each with whether its
    /// content is still stored for another item (known when evidence is re-hashed).
    pub destroyed: Vec<(Tombstone, bool)>,
}

/// A stored event row as read: the row, or where it cannot be decoded.
// Rows are almost always readable: boxing them would allocate per row for the rare other case.
#[allow(clippy::large_enum_variant)]
pub enum Readable {
    Row(event::Model),
    /// The row exists but a column does not decode (e.g. text that is not UTF-8).
    Unreadable {
        case_seq: i64,
        global_seq: i64,
        column: &'static str,
    },
}

impl Readable {
    pub fn case_seq(&self) -> i64 {
        match self {
            Self::Row(r) => r.case_seq,
            Self::Unreadable { case_seq, .. } => *case_seq,
        }
    }

    /// The row, or DATA_LOSS naming the event of `case_id` that cannot be read.
    pub fn row(self, case_id: &str) -> Result<event::Model> {
        match self {
            Self::Row(r) => Ok(r),
            Self::Unreadable { case_seq, column, .. } => Err(Error::DataLoss(format!(
                "event {case_seq} of case {case_id} cannot be read: its {column} column does not decode"
            ))),
        }
    }
}

/// The text columns of an event row, by name.
const TEXT_COLUMNS: [(&str, event::Column); 10] = [
    ("case_id", event::Column::CaseId),
    ("kind", event::Column::Kind),
    ("actor", event::Column::Actor),
    ("request_id", event::Column::RequestId),
    ("request_digest", event::Column::RequestDigest),
    ("officers", event::Column::Officers),
    ("evidence", event::Column::Evidence),
    ("payload", event::Column::Payload),
    ("prev_hash", event::Column::PrevHash),
    ("hash", event::Column::Hash),
];

/// Reads the event rows `query` selects. A row that does not decode (a text column that is not
/// valid UTF-8 on SQLite, which stores whatever bytes it is given) fails the whole query; then
/// the rows are read one at a time and the undecodable ones are returned as
/// [`Readable::Unreadable`] naming the column, so the rest of the case stays readable.
pub async fn read_events(db: &Db, query: Select<event::Entity>) -> Result<Vec<Readable>> {
    let failed = match query.clone().all(db).await {
        Ok(rows) => return Ok(rows.into_iter().map(Readable::Row).collect()),
        Err(e) => e,
    };
    let keys: Vec<(i64, i64)> = query
        .select_only()
        .column(event::Column::CaseSeq)
        .column(event::Column::GlobalSeq)
        .into_tuple()
        .all(db)
        .await
        .map_err(db_error)?;
    let mut out = Vec::with_capacity(keys.len());
    let mut undecodable = false;
    for (case_seq, global_seq) in keys {
        match event::Entity::find_by_id(global_seq).one(db).await {
            Ok(Some(row)) => out.push(Readable::Row(row)),
            Ok(None) => {}
            Err(_) => {
                let mut column = "row";
                for (name, col) in TEXT_COLUMNS {
                    let read: std::result::Result<Option<Option<String>>, _> =
                        event::Entity::find_by_id(global_seq).select_only().column(col).into_tuple().one(db).await;
                    if read.is_err() {
                        column = name;
                        break;
                    }
                }
                undecodable = true;
                out.push(Readable::Unreadable { case_seq, global_seq, column });
            }
        }
    }
    if !undecodable {
        return Err(db_error(failed));
    }
    Ok(out)
}

/// Rebuilds the hashed record of a stored event row; `Err` says which column is malformed.
pub fn record_of(row: &event::Model) -> Result<EventRecord, String> {
    let payload = Value::parse(&row.payload).map_err(|e| format!("payload is not canonical JSON: {e}"))?;
    if payload.to_canonical_string().ok().as_deref() != Some(row.payload.as_str()) {
        return Err("payload is not in canonical form".into());
    }
    let officers = officers_from_json(&row.officers).ok_or("officers column is malformed")?;
    if crate::writer::officers_json(&officers).map_err(|e| e.to_string())? != row.officers {
        return Err("officers column is not in canonical form".into());
    }
    let evidence = evidence_from_json(&row.evidence).ok_or("evidence column is malformed")?;
    if crate::writer::evidence_json(&evidence).map_err(|e| e.to_string())? != row.evidence {
        return Err("evidence column is not in canonical form".into());
    }
    Ok(EventRecord {
        global_seq: u64::try_from(row.global_seq).map_err(|_| "negative global_seq")?,
        case_id: row.case_id.to_string(),
        case_seq: u64::try_from(row.case_seq).map_err(|_| "negative case_seq")?,
        kind: row.kind.clone(),
        occurred_at: Timestamp::from_micros(row.occurred_at),
        recorded_at: Timestamp::from_micros(row.recorded_at),
        actor: row.actor.clone(),
        request_id: row.request_id.clone(),
        officers: officers.iter().map(ToString::to_string).collect(),
        evidence,
        payload,
        prev_hash: row.prev_hash.parse().map_err(|_| "prev_hash is not a digest")?,
    })
}

impl Recorder {
    /// All events of a case in chain order; a row that cannot be read is DATA_LOSS naming it.
    pub async fn all_events(&self, case_id: &CaseId) -> Result<Vec<event::Model>> {
        let query =
            event::Entity::find().filter(event::Column::CaseId.eq(case_id)).order_by_asc(event::Column::CaseSeq);
        read_events(&self.db, query).await?.into_iter().map(|r| r.row(case_id)).collect()
    }

    /// All evidence items of a case.
    pub async fn case_evidence(&self, case_id: &CaseId) -> Result<Vec<evidence::Model>> {
        evidence::Entity::find()
            .filter(evidence::Column::CaseId.eq(case_id))
            .order_by_asc(evidence::Column::Id)
            .all(&self.db)
            .await
            .map_err(db_error)
    }

    /// Verifies a case's record and reports every problem, first first.
    ///
    /// Two passes: every event's hash is recomputed from its stored columns independently, in
    /// parallel across the cores ([`check_rows`]); then the links, the case row, the gate and the
    /// evidence references are checked in order.
    pub async fn verify_case(&self, case: &case::Model, rehash_evidence: bool) -> Result<Report> {
        let started = std::time::Instant::now();
        let items = self.case_evidence(&case.id).await?;
        // The chain is read in ranges of case_seq on several connections at once, each range in
        // pages checked on a blocking thread as they arrive: reading, decoding and hashing overlap
        // and use every core, and memory holds a page per range, not the whole chain.
        let parts = verify_parts(case.event_count);
        let index = std::sync::Arc::new(EvidenceIndex::new(&items));
        let bounds: Vec<i64> = (1..parts).map(|i| case.event_count * i as i64 / parts as i64).collect();
        let mut tasks = Vec::with_capacity(parts);
        for i in 0..parts {
            let lower = (i > 0).then(|| bounds[i - 1]);
            let upper = (i + 1 < parts).then(|| bounds[i]);
            let (db, case_id, index) = (self.db.clone(), case.id.clone(), std::sync::Arc::clone(&index));
            let direct = self.direct.clone();
            tasks.push(tokio::spawn(async move {
                if let Some(reader) = direct {
                    let (case_id, index) = (case_id.clone(), std::sync::Arc::clone(&index));
                    let read =
                        tokio::task::spawn_blocking(move || direct_range(&reader, &case_id, lower, upper, &index))
                            .await
                            .map_err(|e| Error::Internal(format!("verification task failed: {e}")))??;
                    if let Some(part) = read {
                        return Ok(part);
                    }
                }
                let mut out = Part::default();
                let mut after = lower;
                loop {
                    let mut query = event::Entity::find().filter(event::Column::CaseId.eq(&case_id));
                    if let Some(a) = after {
                        query = query.filter(event::Column::CaseSeq.gt(a));
                    }
                    if let Some(u) = upper {
                        query = query.filter(event::Column::CaseSeq.lte(u));
                    }
                    let page =
                        read_events(&db, query.order_by_asc(event::Column::CaseSeq).limit(VERIFY_PAGE as u64)).await?;
                    let full = page.len() == VERIFY_PAGE;
                    after = page.last().map(Readable::case_seq).or(after);
                    let (index, case_id) = (std::sync::Arc::clone(&index), case_id.clone());
                    let checked = tokio::task::spawn_blocking(move || check_part(page, &case_id, &index))
                        .await
                        .map_err(|e| Error::Internal(format!("verification task failed: {e}")))?;
                    out.append(checked);
                    if !full {
                        return Ok::<_, Error>(out);
                    }
                }
            }));
        }
        let mut checked = Vec::with_capacity(parts);
        for task in tasks {
            checked.push(task.await.map_err(|e| Error::Internal(format!("verification task failed: {e}")))??);
        }
        let hashed = started.elapsed();
        let shown = Shown {
            evidence: items.clone(),
            drafts: draft::Entity::find()
                .filter(draft::Column::CaseId.eq(&case.id))
                .order_by_asc(draft::Column::Version)
                .all(&self.db)
                .await
                .map_err(db_error)?,
            reviews: review::Entity::find()
                .filter(review::Column::CaseId.eq(&case.id))
                .order_by_asc(review::Column::Id)
                .all(&self.db)
                .await
                .map_err(db_error)?,
            disclosures: disclosure::Entity::find()
                .filter(disclosure::Column::CaseId.eq(&case.id))
                .order_by_asc(disclosure::Column::Id)
                .all(&self.db)
                .await
                .map_err(db_error)?,
            filings: filing::Entity::find()
                .filter(filing::Column::CaseId.eq(&case.id))
                .all(&self.db)
                .await
                .map_err(db_error)?,
            zone: sanxiang_domain::officer::zone(&self.registry().agency(&case.agency_id).await?.time_zone),
        };
        let case_row = case.clone();
        let (mut problems, head, events_checked, leaves) =
            tokio::task::spawn_blocking(move || check_record(&case_row, checked, &shown))
                .await
                .map_err(|e| Error::Internal(format!("verification task failed: {e}")))?;
        // Against the verifiable log: every event the latest signed checkpoint includes must be
        // the leaf it holds, and no event after the case's opening may be missing (a deleted
        // tail with a rewritten head leaves leaves without rows).
        let (mut checkpoint_size, mut events_in_checkpoint) = (0, 0);
        if let Some(log) = &self.log {
            let first = leaves.iter().map(|(g, _, _)| *g).min().unwrap_or(0);
            let parsed: Vec<(u64, [u8; 32])> = leaves.iter().map(|(g, _, h)| (*g, *h)).collect();
            let found = log.check_events(&parsed, first).await?;
            checkpoint_size = found.size;
            events_in_checkpoint = found.included;
            for p in found.problems {
                let case_seq = p.global_seq.and_then(|g| leaves.iter().find(|(x, _, _)| *x == g).map(|(_, c, _)| *c));
                problems.push(Problem {
                    table: if p.global_seq.is_some() { "events" } else { "log" },
                    row: p.global_seq.map_or_else(|| found.size.to_string(), |g| g.to_string()),
                    ..Problem::at("log", "", "", case_seq.unwrap_or(0), p.message)
                });
            }
        }
        tracing::debug!(
            case_id = %case.id,
            events = events_checked,
            read_and_hash_ms = hashed.as_secs_f64() * 1e3,
            total_ms = started.elapsed().as_secs_f64() * 1e3,
            "verified the chain"
        );

        // Items the chain records as destroyed (RULES K5) are not re-hashed: their bytes are gone
        // on purpose, and the report lists them; their tombstones must name their digests.
        let destroyed = match self.destroyed(&case.id).await {
            Ok(t) => t,
            // The event's own check above reports an unreadable destruction record.
            Err(Error::DataLoss(_)) => Vec::new(),
            Err(e) => return Err(e),
        };
        for t in &destroyed {
            match items.iter().find(|e| e.id == t.evidence_id) {
                Some(e) if e.sha256 == t.sha256 && u64::try_from(e.size).ok() == Some(t.size) => {}
                Some(e) => problems.push(Problem {
                    column: "sha256".into(),
                    ..Problem::evidence(
                        &e.id,
                        t.case_seq,
                        format!(
                            "the destruction record names {} ({} bytes), the evidence row {} ({} bytes)",
                            t.sha256, t.size, e.sha256, e.size
                        ),
                    )
                }),
                None => problems.push(Problem::event(
                    t.case_seq,
                    None,
                    format!(
                        "the destruction record names evidence {}, which is not an item of this case",
                        t.evidence_id
                    ),
                )),
            }
        }
        let shared = if rehash_evidence && !destroyed.is_empty() {
            self.shared_content(&destroyed).await?
        } else {
            std::collections::HashSet::new()
        };

        let mut evidence_checked = 0;
        if rehash_evidence {
            let mut done: HashMap<&str, (Sha256Digest, u64)> = HashMap::new();
            for e in &items {
                if destroyed.iter().any(|t| t.evidence_id == e.id) {
                    continue;
                }
                evidence_checked += 1;
                let Ok(digest) = e.sha256.parse::<Sha256Digest>() else {
                    problems
                        .push(Problem { column: "sha256".into(), ..Problem::evidence(&e.id, 0, "malformed digest") });
                    continue;
                };
                let actual = match done.get(e.sha256.as_str()) {
                    Some(a) => Ok(*a),
                    None => self.vault.rehash(&digest).await,
                };
                match actual {
                    Ok((d, size)) if d == digest && size == e.size as u64 => {
                        done.insert(e.sha256.as_str(), (d, size));
                    }
                    Ok((d, size)) => problems.push(Problem {
                        column: "sha256".into(),
                        ..Problem::evidence(
                            &e.id,
                            0,
                            format!(
                                "the stored object hashes to {d} ({size} bytes), expected {digest} ({} bytes)",
                                e.size
                            ),
                        )
                    }),
                    Err(Error::DataLoss(msg)) => {
                        problems.push(Problem { data_loss: true, ..Problem::evidence(&e.id, 0, msg) });
                    }
                    Err(other) => return Err(other),
                }
            }
        }
        Ok(Report {
            events_checked,
            evidence_checked,
            head_hash: head,
            problems,
            checkpoint_size,
            events_in_checkpoint,
            destroyed: destroyed
                .into_iter()
                .map(|t| {
                    let kept = shared.contains(&t.sha256);
                    (t, kept)
                })
                .collect(),
        })
    }
}

/// What verification keeps of one event after its independent checks.
pub(crate) struct Checked {
    kind: String,
    case_id: CaseId,
    occurred_at: i64,
    recorded_at: i64,
    actor: String,
    request_id: String,
    officers: Vec<String>,
    case_seq: u64,
    global_seq: u64,
    prev_hash: Sha256Digest,
    /// The hash stored with the event.
    stored: Sha256Digest,
    /// The hash recomputed from the event's columns.
    recomputed: Result<Sha256Digest, CanonicalError>,
    evidence: Vec<EvidenceLink>,
    /// The payload, parsed only for the kinds whose payload verification reads (the opening,
    /// the gate, and the events the rows shown to users are checked against); `Null` otherwise.
    payload: Value,
}

/// What the order checks need of every event: its place, its links and (for the case row) its
/// kind and time. A compact value, so a chain of millions of events fits in little memory; the
/// full [`Checked`] is kept only for the events whose payload the later checks read.
pub(crate) struct Link {
    case_seq: u64,
    global_seq: u64,
    /// The case the row names when it is not the verified case (never, unless the row was moved).
    foreign_case: Option<CaseId>,
    kind: Option<EventKind>,
    occurred_at: i64,
    prev_hash: Sha256Digest,
    stored: Sha256Digest,
    recomputed: Result<Sha256Digest, CanonicalError>,
}

/// The case's evidence rows by id, for checking each event's references where the event is
/// checked (on the blocking thread of its page) instead of keeping every event's links.
struct EvidenceIndex {
    by_id: HashMap<EvidenceId, (Option<Sha256Digest>, u64, String)>,
}

impl EvidenceIndex {
    fn new(items: &[evidence::Model]) -> Self {
        Self {
            by_id: items
                .iter()
                .map(|e| (e.id.clone(), (e.sha256.parse().ok(), e.size as u64, e.media_type.clone())))
                .collect(),
        }
    }

    /// Every reference of event `c` against the evidence row it names. Returns the problems and
    /// notes in `recorded` the items an `evidence_uploaded` event whose references match records.
    fn check(&self, c: &Checked, recorded: &mut Vec<EvidenceId>) -> Vec<Problem> {
        let mut problems = Vec::new();
        for link in &c.evidence {
            self.check_link(
                &c.kind,
                c.case_seq,
                (&link.evidence_id, link.sha256, link.size, &link.media_type),
                &mut problems,
                recorded,
            );
        }
        problems
    }

    /// One reference (id, digest, size, media type) of an event of `kind` at `case_seq`.
    fn check_link(
        &self,
        kind: &str,
        case_seq: u64,
        (id, sha256, size, media_type): (&str, Sha256Digest, u64, &str),
        problems: &mut Vec<Problem>,
        recorded: &mut Vec<EvidenceId>,
    ) {
        // Digests compared parsed: the row's text equals `sha256.to_hex()` exactly when it
        // parses (64 lowercase hex digits) to the link's digest.
        match self.by_id.get(id) {
            Some((digest, stored_size, stored_type))
                if *digest == Some(sha256) && *stored_size == size && stored_type == media_type =>
            {
                if kind == EventKind::EvidenceUploaded.as_str() {
                    recorded.push(EvidenceId::from(id));
                }
            }
            Some((digest, stored_size, _)) => {
                let column = if *digest != Some(sha256) {
                    "sha256"
                } else if *stored_size != size {
                    "size"
                } else {
                    "media_type"
                };
                problems.push(Problem {
                    column: column.into(),
                    ..Problem::evidence(
                        &EvidenceId::from(id),
                        case_seq,
                        "the evidence row differs from the digest, size or media type the event recorded",
                    )
                });
            }
            None => problems.push(Problem::evidence(
                &EvidenceId::from(id),
                case_seq,
                "the event references evidence that is not in the case",
            )),
        }
    }
}

/// One range of the chain, checked, in case_seq order.
#[derive(Default)]
struct Part {
    /// Every readable event.
    links: Vec<Link>,
    /// The events whose payload later checks read ([`payload_needed`]).
    full: Vec<Checked>,
    /// Rows that could not be checked, as problems.
    unusable: Vec<Problem>,
    /// Evidence references that differ from their rows.
    references: Vec<Problem>,
    /// Evidence ids recorded by a matching `evidence_uploaded` event.
    recorded: Vec<EvidenceId>,
    /// Rows read, readable or not.
    count: usize,
    /// The hash stored with the last readable row.
    last_hash: Option<String>,
}

impl Part {
    /// Adds a checked event (its row's stored hash is the caller's to note in `last_hash`).
    fn add(&mut self, c: Checked, case_id: &CaseId, index: &EvidenceIndex) {
        self.references.extend(index.check(&c, &mut self.recorded));
        self.links.push(Link {
            case_seq: c.case_seq,
            global_seq: c.global_seq,
            foreign_case: (&c.case_id != case_id).then(|| c.case_id.clone()),
            kind: EventKind::parse(&c.kind),
            occurred_at: c.occurred_at,
            prev_hash: c.prev_hash,
            stored: c.stored,
            recomputed: c.recomputed.clone(),
        });
        if payload_needed(&c.kind) {
            self.full.push(c);
        }
    }

    fn append(&mut self, next: Part) {
        self.links.extend(next.links);
        self.full.extend(next.full);
        self.unusable.extend(next.unusable);
        self.references.extend(next.references);
        self.recorded.extend(next.recorded);
        self.count += next.count;
        self.last_hash = next.last_hash.or(self.last_hash.take());
    }
}

/// Ranges a chain of `events` is read and checked in: enough to keep every core busy, none
/// smaller than [`MIN_EVENTS_PER_PART`].
fn verify_parts(events: i64) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let by_size = usize::try_from(events.max(0)).unwrap_or(0) / MIN_EVENTS_PER_PART;
    (2 * cores).min(by_size).max(1)
}

/// Events read and checked at a time per range.
const VERIFY_PAGE: usize = 4096;

/// Fewest events worth a range of their own.
const MIN_EVENTS_PER_PART: usize = 4096;

fn check_part(rows: Vec<Readable>, case_id: &CaseId, index: &EvidenceIndex) -> Part {
    let mut buf = String::with_capacity(1024);
    let mut part = Part { count: rows.len(), ..Part::default() };
    for r in rows {
        match r {
            Readable::Row(row) => match check_row(&row, &mut buf) {
                Ok(c) => {
                    part.add(c, case_id, index);
                    part.last_hash = Some(row.hash);
                }
                Err(message) => {
                    part.last_hash = Some(row.hash);
                    part.unusable.push(Problem::event(row.case_seq as u64, Some(row.global_seq as u64), message));
                }
            },
            Readable::Unreadable { case_seq, global_seq, column } => part.unusable.push(Problem {
                column: column.to_owned(),
                data_loss: true,
                ..Problem::event(
                    case_seq as u64,
                    Some(global_seq as u64),
                    format!("the stored row cannot be read: its {column} column is not valid text (data loss)"),
                )
            }),
        }
    }
    part
}

/// Whether verification reads the payload of events of this kind.
fn payload_needed(kind: &str) -> bool {
    [
        EventKind::CaseOpened,
        EventKind::EvidenceUploaded,
        EventKind::DraftSubmitted,
        EventKind::ReviewDecided,
        EventKind::Decision,
        EventKind::DecisionRevised,
        EventKind::DisclosurePublished,
        EventKind::DisclosureWithdrawn,
        EventKind::DisclosureCorrected,
        EventKind::PublicationEnded,
        EventKind::FilingSubmitted,
        EventKind::FilingReviewOpened,
        EventKind::FilingReviewConcluded,
        EventKind::FilingResponse,
    ]
    .iter()
    .any(|k| k.as_str() == kind)
}

/// An evidence link as the `events.evidence` column stores it.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredLink<'a> {
    #[serde(borrow)]
    id: &'a str,
    #[serde(borrow)]
    media_type: &'a str,
    #[serde(borrow)]
    sha256: &'a str,
    size: u64,
}

/// The hashed columns of a stored event row, borrowed: from a decoded [`event::Model`] or
/// straight from a row of the SQLite file ([`direct_range`]).
struct RowRef<'a> {
    global_seq: i64,
    case_id: &'a str,
    case_seq: i64,
    kind: &'a str,
    occurred_at: i64,
    recorded_at: i64,
    actor: &'a str,
    request_id: &'a str,
    officers: &'a str,
    evidence: &'a str,
    payload: &'a str,
    prev_hash: &'a str,
    hash: &'a str,
}

impl<'a> RowRef<'a> {
    /// The document its hash is computed over, the stored columns spliced in as they are
    /// (`None` when a number or the previous hash does not read).
    fn stored(&self) -> Option<StoredEvent<'a>> {
        Some(StoredEvent {
            global_seq: u64::try_from(self.global_seq).ok()?,
            case_id: self.case_id,
            case_seq: u64::try_from(self.case_seq).ok()?,
            kind: self.kind,
            occurred_at: Timestamp::from_micros(self.occurred_at),
            recorded_at: Timestamp::from_micros(self.recorded_at),
            actor: self.actor,
            request_id: self.request_id,
            officers: self.officers,
            evidence: self.evidence,
            payload: self.payload,
            prev_hash: self.prev_hash.parse().ok()?,
        })
    }

    fn of(row: &'a event::Model) -> Self {
        Self {
            global_seq: row.global_seq,
            case_id: &row.case_id,
            case_seq: row.case_seq,
            kind: &row.kind,
            occurred_at: row.occurred_at,
            recorded_at: row.recorded_at,
            actor: &row.actor,
            request_id: &row.request_id,
            officers: &row.officers,
            evidence: &row.evidence,
            payload: &row.payload,
            prev_hash: &row.prev_hash,
            hash: &row.hash,
        }
    }
}

/// The columns [`direct_range`] selects, in [`RowRef`]'s order.
const DIRECT_COLUMNS: &str = "global_seq, case_id, case_seq, kind, occurred_at, recorded_at, actor, request_id, \
                              officers, evidence, payload, prev_hash, hash";

/// Reads and checks the events of `case_id` with `lower < case_seq <= upper` straight from the
/// SQLite file, in one read transaction, borrowing each row's text where SQLite holds it. `None`
/// when a row needs the slow path (it does not decode as text, or is not in canonical form):
/// the range is then read again through sea-orm, so that every problem is reported as it
/// always is.
fn direct_range(
    reader: &sanxiang_store::DirectReader,
    case_id: &CaseId,
    lower: Option<i64>,
    upper: Option<i64>,
    index: &EvidenceIndex,
) -> Result<Option<Part>> {
    let sql = format!(
        "SELECT {DIRECT_COLUMNS} FROM events WHERE case_id = ?1 AND case_seq > ?2 AND case_seq <= ?3 ORDER BY case_seq"
    );
    reader.read(|conn| {
        let mut statement = conn.prepare(&sql)?;
        let mut rows = statement.query(rusqlite::params![
            case_id.as_str(),
            lower.unwrap_or(i64::MIN),
            upper.unwrap_or(i64::MAX)
        ])?;
        let mut part = Part::default();
        let mut buf = String::with_capacity(1024);
        let mut last_hash = String::new();
        while let Some(r) = rows.next()? {
            let text = |i: usize| r.get_ref(i).ok().and_then(|v| v.as_str().ok());
            let int = |i: usize| r.get_ref(i).ok().and_then(|v| v.as_i64().ok());
            let row = (|| {
                Some(RowRef {
                    global_seq: int(0)?,
                    case_id: text(1)?,
                    case_seq: int(2)?,
                    kind: text(3)?,
                    occurred_at: int(4)?,
                    recorded_at: int(5)?,
                    actor: text(6)?,
                    request_id: text(7)?,
                    officers: text(8)?,
                    evidence: text(9)?,
                    payload: text(10)?,
                    prev_hash: text(11)?,
                    hash: text(12)?,
                })
            })();
            let Some(row) = row else { return Ok(None) };
            if payload_needed(row.kind) {
                let Some(checked) = check_row_fast(&row, &mut buf) else { return Ok(None) };
                part.add(checked, case_id, index);
            } else if check_row_lean(&row, &mut buf, case_id, index, &mut part).is_none() {
                return Ok(None);
            }
            part.count += 1;
            last_hash.clear();
            last_hash.push_str(row.hash);
        }
        if part.count > 0 {
            part.last_hash = Some(last_hash);
        }
        Ok(Some(part))
    })
}

/// [`check_row_fast`] for an event whose payload verification does not read (most events):
/// the same checks and hash, but only its [`Link`] and its evidence references are kept, with
/// no owned copy of its columns. `None` (and nothing added to `part`) when the row needs the
/// slow path.
fn check_row_lean(
    row: &RowRef<'_>,
    buf: &mut String,
    case_id: &CaseId,
    index: &EvidenceIndex,
    part: &mut Part,
) -> Option<()> {
    check_canonical(row.payload).ok()?;
    check_canonical(row.officers).ok()?;
    check_canonical(row.evidence).ok()?;
    // Canonical, an array, and only strings (as `check_row_fast` requires).
    serde_json::from_str::<Vec<&str>>(row.officers).ok()?;
    let links = serde_json::from_str::<Vec<StoredLink<'_>>>(row.evidence).ok()?;
    let digests = links.iter().map(|l| l.sha256.parse::<Sha256Digest>().ok()).collect::<Option<Vec<_>>>()?;
    let stored = row.stored()?;
    let stored_hash: Sha256Digest = row.hash.parse().ok()?;
    for (link, sha256) in links.iter().zip(digests) {
        index.check_link(
            row.kind,
            stored.case_seq,
            (link.id, sha256, link.size, link.media_type),
            &mut part.references,
            &mut part.recorded,
        );
    }
    part.links.push(Link {
        case_seq: stored.case_seq,
        global_seq: stored.global_seq,
        foreign_case: (row.case_id != case_id.as_str()).then(|| CaseId::from(row.case_id)),
        kind: EventKind::parse(row.kind),
        occurred_at: row.occurred_at,
        prev_hash: stored.prev_hash,
        stored: stored_hash,
        recomputed: stored.hash(buf),
    });
    Some(())
}

/// The fast path of [`check_row`]: the stored columns are canonical already, so they are hashed
/// as they are. `None` when anything is unusual (escaped strings included): the slow path then
/// decides, with its precise message.
fn check_row_fast(row: &RowRef<'_>, buf: &mut String) -> Option<Checked> {
    check_canonical(row.payload).ok()?;
    check_canonical(row.officers).ok()?;
    check_canonical(row.evidence).ok()?;
    // Canonical, an array, and only strings: exactly what re-encoding the parsed column gives.
    let officers: Vec<String> =
        serde_json::from_str::<Vec<&str>>(row.officers).ok()?.into_iter().map(str::to_owned).collect();
    let links = serde_json::from_str::<Vec<StoredLink<'_>>>(row.evidence).ok()?;
    let evidence = links
        .into_iter()
        .map(|l| {
            Some(EvidenceLink {
                evidence_id: EvidenceId::from(l.id),
                sha256: l.sha256.parse().ok()?,
                size: l.size,
                media_type: l.media_type.to_owned(),
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let payload = if payload_needed(row.kind) { Value::parse(row.payload).ok()? } else { Value::Null };
    let stored = row.stored()?;
    Some(Checked {
        kind: row.kind.to_owned(),
        case_id: CaseId::from(row.case_id),
        occurred_at: row.occurred_at,
        recorded_at: row.recorded_at,
        actor: row.actor.to_owned(),
        request_id: row.request_id.to_owned(),
        officers,
        case_seq: stored.case_seq,
        global_seq: stored.global_seq,
        prev_hash: stored.prev_hash,
        stored: row.hash.parse().ok()?,
        recomputed: stored.hash(buf),
        evidence,
        payload,
    })
}

/// The checks of one event that need no other event: its columns are well formed and in
/// canonical form, and its hash recomputed. `Err` is the problem to report.
fn check_row(row: &event::Model, buf: &mut String) -> Result<Checked, String> {
    if let Some(checked) = check_row_fast(&RowRef::of(row), buf) {
        return Ok(checked);
    }
    let record = record_of(row)?;
    let stored: Sha256Digest = row.hash.parse().map_err(|_| "stored hash is not a digest".to_owned())?;
    let recomputed = record.hash();
    Ok(Checked {
        kind: row.kind.clone(),
        case_id: row.case_id.clone(),
        occurred_at: row.occurred_at,
        recorded_at: row.recorded_at,
        actor: row.actor.clone(),
        request_id: row.request_id.clone(),
        officers: record.officers,
        case_seq: record.case_seq,
        global_seq: record.global_seq,
        prev_hash: record.prev_hash,
        stored,
        recomputed,
        evidence: record.evidence,
        payload: record.payload,
    })
}

/// A readable event's `(global_seq, case_seq, hash)`.
type Leaf = (u64, u64, [u8; 32]);

/// The rows besides the events that a case's record is shown from.
pub(crate) struct Shown {
    pub evidence: Vec<evidence::Model>,
    pub drafts: Vec<draft::Model>,
    pub reviews: Vec<review::Model>,
    pub disclosures: Vec<disclosure::Model>,
    pub filings: Vec<filing::Model>,
    /// The agency's time zone (`None` when its stored name cannot be read).
    pub zone: Option<chrono_tz::Tz>,
}

/// Every check of a case's record except re-hashing evidence and the log: returns the problems,
/// the head hash of the chain, the number of events checked, and each readable event's
/// `(global_seq, case_seq, hash)`.
fn check_record(case: &case::Model, parts: Vec<Part>, shown: &Shown) -> (Vec<Problem>, String, u64, Vec<Leaf>) {
    let items = &shown.evidence;
    // Joined into vectors of their final size: growing them by doubling held up to twice the
    // chain's links at once.
    let mut chain = Part {
        links: Vec::with_capacity(parts.iter().map(|p| p.links.len()).sum()),
        full: Vec::with_capacity(parts.iter().map(|p| p.full.len()).sum()),
        ..Part::default()
    };
    for part in parts {
        chain.append(part);
    }
    let Part { links, full: records, unusable, references, recorded: referenced, count, last_hash } = chain;
    let mut problems = unusable;
    let leaves: Vec<Leaf> = links.iter().map(|l| (l.global_seq, l.case_seq, *l.stored.as_bytes())).collect();
    if problems.is_empty() {
        let facts: Vec<LinkFacts<'_>> = links
            .iter()
            .map(|l| LinkFacts {
                case_seq: l.case_seq,
                case_id: l.foreign_case.as_deref().unwrap_or(&case.id),
                global_seq: l.global_seq,
                prev_hash: l.prev_hash,
                stored: l.stored,
                recomputed: l.recomputed.clone(),
            })
            .collect();
        // The links are in case_seq order (every range is read in it, the ranges in turn).
        let global = |seq: u64| links.binary_search_by_key(&seq, |l| l.case_seq).ok().map(|i| links[i].global_seq);
        for p in check_links(&case.id, &facts) {
            problems.push(Problem::event(p.case_seq, global(p.case_seq), p.message));
        }
    }

    // The case row must agree with the chain: its head, its length, its opening.
    let head = last_hash.unwrap_or_else(|| Sha256Digest::ZERO.to_hex());
    if case.event_count != count as i64 || case.head_hash != head {
        let column = if case.event_count == count as i64 { "head_hash" } else { "event_count" };
        problems.push(Problem::at(
            "cases",
            &case.id,
            column,
            count as u64,
            format!(
                "the case records {} events ending in {}, the chain has {} ending in {head}: events were removed or added",
                case.event_count, case.head_hash, count
            ),
        ));
    }
    // The gate, as the chain shows it: every major decision follows an approval of its draft.
    let gated = records.iter().map(|c| (c.case_seq, c.kind.as_str(), &c.payload));
    for seq in sanxiang_domain::review::unapproved_major_decisions(gated) {
        let global = records.iter().find(|c| c.case_seq == seq).map(|c| c.global_seq);
        problems.push(Problem::event(
            seq,
            global,
            "a major decision without an earlier legal-review approval of its draft digest (RULES L1)",
        ));
    }
    let opening = links
        .first()
        .filter(|l| l.kind == Some(EventKind::CaseOpened))
        .and_then(|l| records.iter().find(|c| c.case_seq == l.case_seq));
    if let Some(first) = opening {
        let p = &first.payload;
        let party = p.get("party").and_then(|v| v.to_canonical_string().ok());
        let officers = p.get("handling_officer_ids").and_then(|v| v.to_canonical_string().ok());
        let columns = [
            ("agency_id", p.get("agency_id").and_then(Value::as_str) == Some(case.agency_id.as_str())),
            ("kind", p.get("kind").and_then(Value::as_str) == Some(case.kind.as_str())),
            ("title", p.get("title").and_then(Value::as_str) == Some(case.title.as_str())),
            ("party", party.as_deref() == Some(case.party.as_str())),
            ("handling_officers", officers.as_deref() == Some(case.handling_officers.as_str())),
            ("opened_at", first.occurred_at == case.opened_at),
            ("request_id", first.request_id == case.request_id),
            ("created_by", case.created_by == first.actor),
        ];
        for (column, same) in columns {
            // A JSON column that cannot be read at all is lost data, not a disagreement.
            let stored = match column {
                "party" => Some(&case.party),
                "handling_officers" => Some(&case.handling_officers),
                _ => None,
            };
            if stored.is_some_and(|t| Value::parse(t).is_err()) {
                problems.push(Problem {
                    data_loss: true,
                    ..Problem::at("cases", &case.id, column, 1, format!("cases.{column} of {} cannot be read", case.id))
                });
                continue;
            }
            if !same {
                problems.push(Problem::at(
                    "cases",
                    &case.id,
                    column,
                    1,
                    format!("the case row's {column} differs from what its case_opened event recorded"),
                ));
            }
        }
    } else if count > 0 {
        problems.push(Problem::event(1, None, "the chain does not start with case_opened"));
    }
    if problems.iter().all(|p| !p.data_loss) {
        anchor::check_case(case, &links, &mut problems);
    }

    // Every evidence reference must match the evidence row it names (checked with each event).
    problems.extend(references);
    let mut recorded: HashMap<&str, bool> = items.iter().map(|e| (e.id.as_str(), false)).collect();
    for id in &referenced {
        recorded.insert(id.as_str(), true);
    }
    let mut unrecorded: Vec<&str> = recorded.into_iter().filter(|(_, seen)| !seen).map(|(id, _)| id).collect();
    unrecorded.sort_unstable();
    for id in unrecorded {
        problems.push(Problem::evidence(id, 0, "the evidence item has no evidence_uploaded event in the chain"));
    }
    anchor::check_evidence(&records, items, &mut problems);
    anchor::check_drafts(case, &records, &shown.drafts, &mut problems);
    anchor::check_reviews(&records, &shown.reviews, &mut problems);
    if shown.zone.is_none() && !shown.disclosures.is_empty() {
        problems.push(Problem {
            data_loss: true,
            ..Problem::at("agencies", case.agency_id.as_str(), "time_zone", 0, "the agency's time zone cannot be read")
        });
    }
    anchor::check_disclosures(case, &records, &shown.disclosures, shown.zone, &mut problems);
    anchor::check_filings(case, &records, &shown.filings, &mut problems);
    (problems, head, count as u64, leaves)
}
