//! Verification of a case's record: every link of the chain, the case row against its opening
//! event, every evidence reference, and optionally every evidence object's bytes.

use sanxiang_domain::id::{CaseId, EvidenceId};
use std::collections::HashMap;

use sanxiang_domain::Sha256Digest;
use sanxiang_domain::canonical::{CanonicalError, Value, check_canonical};
use sanxiang_domain::chain::{EventRecord, EvidenceLink, LinkFacts, StoredEvent, check_links};
use sanxiang_domain::lifecycle::EventKind;
use sanxiang_domain::{Error, Result, Timestamp};
use sanxiang_store::db_error;
use sanxiang_store::entity::{case, event, evidence};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::record::{Recorder, evidence_from_json, officers_from_json};

/// One failed check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The event at fault, or 0 for the case row.
    pub case_seq: u64,
    /// The evidence item at fault, if any.
    pub evidence_id: Option<EvidenceId>,
    pub message: String,
}

/// The outcome of [`Recorder::verify_case`].
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub events_checked: u64,
    pub evidence_checked: u64,
    pub head_hash: String,
    pub problems: Vec<Problem>,
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
    /// All events of a case in chain order.
    pub async fn all_events(&self, case_id: &CaseId) -> Result<Vec<event::Model>> {
        event::Entity::find()
            .filter(event::Column::CaseId.eq(case_id))
            .order_by_asc(event::Column::CaseSeq)
            .all(&self.db)
            .await
            .map_err(db_error)
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
        let bounds: Vec<i64> = (1..parts).map(|i| case.event_count * i as i64 / parts as i64).collect();
        let mut tasks = Vec::with_capacity(parts);
        for i in 0..parts {
            let lower = (i > 0).then(|| bounds[i - 1]);
            let upper = (i + 1 < parts).then(|| bounds[i]);
            let (db, case_id) = (self.db.clone(), case.id.clone());
            tasks.push(tokio::spawn(async move {
                let mut out = Part { rows: Vec::new(), last_hash: None };
                let mut after = lower;
                loop {
                    let mut query = event::Entity::find().filter(event::Column::CaseId.eq(&case_id));
                    if let Some(a) = after {
                        query = query.filter(event::Column::CaseSeq.gt(a));
                    }
                    if let Some(u) = upper {
                        query = query.filter(event::Column::CaseSeq.lte(u));
                    }
                    let page = query
                        .order_by_asc(event::Column::CaseSeq)
                        .limit(VERIFY_PAGE as u64)
                        .all(&db)
                        .await
                        .map_err(db_error)?;
                    let full = page.len() == VERIFY_PAGE;
                    after = page.last().map(|r| r.case_seq).or(after);
                    let checked = tokio::task::spawn_blocking(move || check_part(page))
                        .await
                        .map_err(|e| Error::Internal(format!("verification task failed: {e}")))?;
                    out.rows.extend(checked.rows);
                    out.last_hash = checked.last_hash.or(out.last_hash);
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
        let (case_row, evidence_rows) = (case.clone(), items.clone());
        let (mut problems, head, events_checked) =
            tokio::task::spawn_blocking(move || check_record(&case_row, checked, &evidence_rows))
                .await
                .map_err(|e| Error::Internal(format!("verification task failed: {e}")))?;
        tracing::debug!(
            case_id = %case.id,
            events = events_checked,
            read_and_hash_ms = hashed.as_secs_f64() * 1e3,
            total_ms = started.elapsed().as_secs_f64() * 1e3,
            "verified the chain"
        );

        let mut evidence_checked = 0;
        if rehash_evidence {
            let mut done: HashMap<&str, (Sha256Digest, u64)> = HashMap::new();
            for e in &items {
                evidence_checked += 1;
                let Ok(digest) = e.sha256.parse::<Sha256Digest>() else {
                    problems.push(Problem {
                        case_seq: 0,
                        evidence_id: Some(e.id.clone()),
                        message: "malformed digest".into(),
                    });
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
                        case_seq: 0,
                        evidence_id: Some(e.id.clone()),
                        message: format!(
                            "the stored object hashes to {d} ({size} bytes), expected {digest} ({} bytes)",
                            e.size
                        ),
                    }),
                    Err(Error::DataLoss(msg)) => {
                        problems.push(Problem { case_seq: 0, evidence_id: Some(e.id.clone()), message: msg });
                    }
                    Err(other) => return Err(other),
                }
            }
        }
        Ok(Report { events_checked, evidence_checked, head_hash: head, problems })
    }
}

/// What verification keeps of one event after its independent checks.
struct Checked {
    kind: String,
    case_id: CaseId,
    occurred_at: i64,
    case_seq: u64,
    global_seq: u64,
    prev_hash: Sha256Digest,
    /// The hash stored with the event.
    stored: Sha256Digest,
    /// The hash recomputed from the event's columns.
    recomputed: Result<Sha256Digest, CanonicalError>,
    evidence: Vec<EvidenceLink>,
    /// The payload, parsed only for the kinds whose payload verification reads (the opening, the
    /// review and decision events of the gate); `Null` otherwise.
    payload: Value,
}

/// One range of the chain, checked: per row its case_seq and outcome, and the last row's hash.
struct Part {
    rows: Vec<(i64, Result<Checked, String>)>,
    last_hash: Option<String>,
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

fn check_part(rows: Vec<event::Model>) -> Part {
    let mut buf = String::with_capacity(1024);
    let last_hash = rows.last().map(|r| r.hash.clone());
    Part { rows: rows.iter().map(|row| (row.case_seq, check_row(row, &mut buf))).collect(), last_hash }
}

/// Whether verification reads the payload of events of this kind.
fn payload_needed(kind: &str) -> bool {
    kind == EventKind::CaseOpened.as_str()
        || kind == EventKind::ReviewDecided.as_str()
        || kind == EventKind::Decision.as_str()
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

/// The fast path of [`check_row`]: the stored columns are canonical already, so they are hashed
/// as they are. `None` when anything is unusual (escaped strings included): the slow path then
/// decides, with its precise message.
fn check_row_fast(row: &event::Model, buf: &mut String) -> Option<Checked> {
    check_canonical(&row.payload).ok()?;
    check_canonical(&row.officers).ok()?;
    check_canonical(&row.evidence).ok()?;
    // Canonical, an array, and only strings: exactly what re-encoding the parsed column gives.
    serde_json::from_str::<Vec<&str>>(&row.officers).ok()?;
    let links = serde_json::from_str::<Vec<StoredLink<'_>>>(&row.evidence).ok()?;
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
    let payload = if payload_needed(&row.kind) { Value::parse(&row.payload).ok()? } else { Value::Null };
    let stored = StoredEvent {
        global_seq: u64::try_from(row.global_seq).ok()?,
        case_id: &row.case_id,
        case_seq: u64::try_from(row.case_seq).ok()?,
        kind: &row.kind,
        occurred_at: Timestamp::from_micros(row.occurred_at),
        recorded_at: Timestamp::from_micros(row.recorded_at),
        actor: &row.actor,
        request_id: &row.request_id,
        officers: &row.officers,
        evidence: &row.evidence,
        payload: &row.payload,
        prev_hash: row.prev_hash.parse().ok()?,
    };
    Some(Checked {
        kind: row.kind.clone(),
        case_id: row.case_id.clone(),
        occurred_at: row.occurred_at,
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
    if let Some(checked) = check_row_fast(row, buf) {
        return Ok(checked);
    }
    let record = record_of(row)?;
    let stored: Sha256Digest = row.hash.parse().map_err(|_| "stored hash is not a digest".to_owned())?;
    let recomputed = record.hash();
    Ok(Checked {
        kind: row.kind.clone(),
        case_id: row.case_id.clone(),
        occurred_at: row.occurred_at,
        case_seq: record.case_seq,
        global_seq: record.global_seq,
        prev_hash: record.prev_hash,
        stored,
        recomputed,
        evidence: record.evidence,
        payload: record.payload,
    })
}

/// Every check of a case's record except re-hashing evidence: returns the problems, the head
/// hash of the chain and the number of events checked.
fn check_record(case: &case::Model, parts: Vec<Part>, items: &[evidence::Model]) -> (Vec<Problem>, String, u64) {
    let mut problems = Vec::new();
    let mut records = Vec::new();
    let mut count = 0usize;
    let mut last_hash = None;
    for part in parts {
        last_hash = part.last_hash.or(last_hash);
        for (case_seq, checked) in part.rows {
            count += 1;
            match checked {
                Ok(c) => records.push(c),
                Err(message) => problems.push(Problem { case_seq: case_seq as u64, evidence_id: None, message }),
            }
        }
    }
    if problems.is_empty() {
        let links: Vec<LinkFacts<'_>> = records
            .iter()
            .map(|c| LinkFacts {
                case_seq: c.case_seq,
                case_id: &c.case_id,
                global_seq: c.global_seq,
                prev_hash: c.prev_hash,
                stored: c.stored,
                recomputed: c.recomputed.clone(),
            })
            .collect();
        for p in check_links(&case.id, &links) {
            problems.push(Problem { case_seq: p.case_seq, evidence_id: None, message: p.message });
        }
    }

    // The case row must agree with the chain: its head, its length, its opening.
    let head = last_hash.unwrap_or_else(|| Sha256Digest::ZERO.to_hex());
    if case.event_count != count as i64 || case.head_hash != head {
        problems.push(Problem {
            case_seq: count as u64,
            evidence_id: None,
            message: format!(
                "the case records {} events ending in {}, the chain has {} ending in {head}: events were removed or added",
                case.event_count,
                case.head_hash,
                count
            ),
        });
    }
    // The gate, as the chain shows it: every major decision follows an approval of its draft.
    let gated = records.iter().map(|c| (c.case_seq, c.kind.as_str(), &c.payload));
    for seq in sanxiang_domain::review::unapproved_major_decisions(gated) {
        problems.push(Problem {
            case_seq: seq,
            evidence_id: None,
            message: "a major decision without an earlier legal-review approval of its draft digest (RULES L1)".into(),
        });
    }
    if let Some(first) = records.first().filter(|c| c.kind == EventKind::CaseOpened.as_str()) {
        let p = &first.payload;
        let party = p.get("party").and_then(|v| v.to_canonical_string().ok());
        let officers = p.get("handling_officer_ids").and_then(|v| v.to_canonical_string().ok());
        let consistent = p.get("agency_id").and_then(Value::as_str) == Some(case.agency_id.as_str())
            && p.get("kind").and_then(Value::as_str) == Some(case.kind.as_str())
            && p.get("title").and_then(Value::as_str) == Some(case.title.as_str())
            && party.as_deref() == Some(case.party.as_str())
            && officers.as_deref() == Some(case.handling_officers.as_str())
            && first.occurred_at == case.opened_at;
        if !consistent {
            problems.push(Problem {
                case_seq: 1,
                evidence_id: None,
                message: "the case row differs from what its case_opened event recorded".into(),
            });
        }
    } else if count > 0 {
        problems.push(Problem {
            case_seq: 1,
            evidence_id: None,
            message: "the chain does not start with case_opened".into(),
        });
    }

    // Every evidence reference must match the evidence row it names.
    // Digests compared parsed: `e.sha256 == link.sha256.to_hex()` exactly when the row's text
    // parses (64 lowercase hex digits) to the link's digest.
    let by_id: HashMap<&str, (&evidence::Model, Option<Sha256Digest>)> =
        items.iter().map(|e| (e.id.as_str(), (e, e.sha256.parse().ok()))).collect();
    let mut recorded: HashMap<&str, bool> = items.iter().map(|e| (e.id.as_str(), false)).collect();
    for c in &records {
        for link in &c.evidence {
            match by_id.get(link.evidence_id.as_str()) {
                Some((e, digest))
                    if *digest == Some(link.sha256)
                        && e.size as u64 == link.size
                        && e.media_type == link.media_type =>
                {
                    if c.kind == EventKind::EvidenceUploaded.as_str() {
                        recorded.insert(e.id.as_str(), true);
                    }
                }
                Some(_) => problems.push(Problem {
                    case_seq: c.case_seq,
                    evidence_id: Some(link.evidence_id.clone()),
                    message: "the evidence row differs from the digest, size or media type the event recorded".into(),
                }),
                None => problems.push(Problem {
                    case_seq: c.case_seq,
                    evidence_id: Some(link.evidence_id.clone()),
                    message: "the event references evidence that is not in the case".into(),
                }),
            }
        }
    }
    for (id, seen) in recorded {
        if !seen {
            problems.push(Problem {
                case_seq: 0,
                evidence_id: Some(EvidenceId::from(id)),
                message: "the evidence item has no evidence_uploaded event in the chain".into(),
            });
        }
    }
    (problems, head, count as u64)
}
