//! Verification of a case's record: every link of the chain, the case row against its opening
//! event, every evidence reference, and optionally every evidence object's bytes.

use std::collections::HashMap;

use sanxiang_domain::Sha256Digest;
use sanxiang_domain::canonical::Value;
use sanxiang_domain::chain::{EventRecord, verify_links};
use sanxiang_domain::lifecycle::EventKind;
use sanxiang_domain::{Error, Result, Timestamp};
use sanxiang_store::db_error;
use sanxiang_store::entity::{case, event, evidence};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::record::{Recorder, evidence_from_json, officers_from_json};

/// One failed check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The event at fault, or 0 for the case row.
    pub case_seq: u64,
    /// The evidence item at fault, if any.
    pub evidence_id: Option<String>,
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
    let officers = officers_from_json(&row.officers);
    if crate::writer::officers_json(&officers) != row.officers {
        return Err("officers column is not in canonical form".into());
    }
    let evidence = evidence_from_json(&row.evidence).ok_or("evidence column is malformed")?;
    if crate::writer::evidence_json(&evidence) != row.evidence {
        return Err("evidence column is not in canonical form".into());
    }
    Ok(EventRecord {
        global_seq: u64::try_from(row.global_seq).map_err(|_| "negative global_seq")?,
        case_id: row.case_id.clone(),
        case_seq: u64::try_from(row.case_seq).map_err(|_| "negative case_seq")?,
        kind: row.kind.clone(),
        occurred_at: Timestamp::from_micros(row.occurred_at),
        recorded_at: Timestamp::from_micros(row.recorded_at),
        actor: row.actor.clone(),
        request_id: row.request_id.clone(),
        officers,
        evidence,
        payload,
        prev_hash: row.prev_hash.parse().map_err(|_| "prev_hash is not a digest")?,
    })
}

impl Recorder {
    /// All events of a case in chain order.
    pub async fn all_events(&self, case_id: &str) -> Result<Vec<event::Model>> {
        event::Entity::find()
            .filter(event::Column::CaseId.eq(case_id))
            .order_by_asc(event::Column::CaseSeq)
            .all(&self.db)
            .await
            .map_err(db_error)
    }

    /// All evidence items of a case.
    pub async fn case_evidence(&self, case_id: &str) -> Result<Vec<evidence::Model>> {
        evidence::Entity::find()
            .filter(evidence::Column::CaseId.eq(case_id))
            .order_by_asc(evidence::Column::Id)
            .all(&self.db)
            .await
            .map_err(db_error)
    }

    /// Verifies a case's record and reports every problem, first first.
    pub async fn verify_case(&self, case: &case::Model, rehash_evidence: bool) -> Result<Report> {
        let rows = self.all_events(&case.id).await?;
        let items = self.case_evidence(&case.id).await?;
        let mut problems = Vec::new();
        let mut records = Vec::with_capacity(rows.len());
        for row in &rows {
            let stored: Result<Sha256Digest, _> = row.hash.parse();
            match (record_of(row), stored) {
                (Ok(r), Ok(h)) => records.push((r, h)),
                (Err(msg), _) => {
                    problems.push(Problem { case_seq: row.case_seq as u64, evidence_id: None, message: msg });
                }
                (_, Err(_)) => problems.push(Problem {
                    case_seq: row.case_seq as u64,
                    evidence_id: None,
                    message: "stored hash is not a digest".into(),
                }),
            }
        }
        if problems.is_empty() {
            for p in verify_links(&case.id, &records) {
                problems.push(Problem { case_seq: p.case_seq, evidence_id: None, message: p.message });
            }
        }

        // The case row must agree with the chain: its head, its length, its opening.
        let head = rows.last().map_or_else(|| Sha256Digest::ZERO.to_hex(), |r| r.hash.clone());
        if case.event_count != rows.len() as i64 || case.head_hash != head {
            problems.push(Problem {
                case_seq: rows.len() as u64,
                evidence_id: None,
                message: format!(
                    "the case records {} events ending in {}, the chain has {} ending in {head}: events were removed or added",
                    case.event_count,
                    case.head_hash,
                    rows.len()
                ),
            });
        }
        // The gate, as the chain shows it: every major decision follows an approval of its draft.
        let gated = records.iter().map(|(r, _)| (r.case_seq, r.kind.as_str(), &r.payload));
        for seq in sanxiang_domain::review::unapproved_major_decisions(gated) {
            problems.push(Problem {
                case_seq: seq,
                evidence_id: None,
                message: "a major decision without an earlier legal-review approval of its draft digest (RULES L1)"
                    .into(),
            });
        }
        if let Some((first, _)) = records.first().filter(|(r, _)| r.kind == EventKind::CaseOpened.as_str()) {
            let p = &first.payload;
            let party = p.get("party").and_then(|v| v.to_canonical_string().ok());
            let officers = p.get("handling_officer_ids").and_then(|v| v.to_canonical_string().ok());
            let consistent = p.get("agency_id").and_then(Value::as_str) == Some(case.agency_id.as_str())
                && p.get("kind").and_then(Value::as_str) == Some(case.kind.as_str())
                && p.get("title").and_then(Value::as_str) == Some(case.title.as_str())
                && party.as_deref() == Some(case.party.as_str())
                && officers.as_deref() == Some(case.handling_officers.as_str())
                && first.occurred_at.micros() == case.opened_at;
            if !consistent {
                problems.push(Problem {
                    case_seq: 1,
                    evidence_id: None,
                    message: "the case row differs from what its case_opened event recorded".into(),
                });
            }
        } else if !rows.is_empty() {
            problems.push(Problem {
                case_seq: 1,
                evidence_id: None,
                message: "the chain does not start with case_opened".into(),
            });
        }

        // Every evidence reference must match the evidence row it names.
        let by_id: HashMap<&str, &evidence::Model> = items.iter().map(|e| (e.id.as_str(), e)).collect();
        let mut recorded: HashMap<&str, bool> = items.iter().map(|e| (e.id.as_str(), false)).collect();
        for (r, _) in &records {
            for link in &r.evidence {
                match by_id.get(link.evidence_id.as_str()) {
                    Some(e)
                        if e.sha256 == link.sha256.to_hex()
                            && e.size as u64 == link.size
                            && e.media_type == link.media_type =>
                    {
                        if r.kind == EventKind::EvidenceUploaded.as_str() {
                            recorded.insert(e.id.as_str(), true);
                        }
                    }
                    Some(_) => problems.push(Problem {
                        case_seq: r.case_seq,
                        evidence_id: Some(link.evidence_id.clone()),
                        message: "the evidence row differs from the digest, size or media type the event recorded"
                            .into(),
                    }),
                    None => problems.push(Problem {
                        case_seq: r.case_seq,
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
                    evidence_id: Some(id.to_owned()),
                    message: "the evidence item has no evidence_uploaded event in the chain".into(),
                });
            }
        }

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
        Ok(Report { events_checked: rows.len() as u64, evidence_checked, head_hash: head, problems })
    }
}
