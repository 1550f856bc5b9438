//! Retention and destruction of evidence (RULES K1–K5). What decides an item's retention is read
//! from its case's record each time (the case file's class from its decision, revisions and
//! challenges; the item's use from the events and drafts that reference it), never stored apart.
//!
//! A destruction is an `evidence_destroyed` event of the case that keeps each item's tombstone
//! (id, digest, size, the rule and class of its retention, the last day kept, the batch), committed
//! before the bytes are removed: the chain still verifies afterwards, and `VerifyCase` reports
//! the item as destroyed instead of missing. Content is stored once per digest, so the bytes go
//! only when no other item, in any case, that is not destroyed has the same content.
//!
//! The legal hold (K4) is part of the case's state ([`CaseState::holds`]), which the writer checks
//! again under the append lock: a hold recorded while a destruction is being prepared stops it.

use std::collections::{HashMap, HashSet};

use sanxiang_domain::calendar::local_date;
use sanxiang_domain::canonical::Value;
use sanxiang_domain::catalog::{LicensingAction, PenaltyType};
use sanxiang_domain::error::{request_id, same_request};
use sanxiang_domain::id::{CaseId, EvidenceId};
use sanxiang_domain::lifecycle::{CaseKind, CaseState, EventKind, FootageMark, is_audio_video};
use sanxiang_domain::limits;
use sanxiang_domain::officer::stored_zone;
use sanxiang_domain::retention::{self, CaseFacts, EvidenceUse, RetentionPolicy};
use sanxiang_domain::review::Revision;
use sanxiang_domain::{Error, Result, Sha256Digest, Timestamp};
use sanxiang_registry::Principal;
use sanxiang_store::db_error;
use sanxiang_store::entity::{case, draft, event, evidence};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::Recorder;
use crate::command::DestroyEvidence;
use crate::record::evidence_from_json;
use crate::writer::{NewEvent, Target};

/// An evidence item whose bytes were destroyed, as its case's record keeps it (RULES K5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tombstone {
    pub evidence_id: EvidenceId,
    pub sha256: String,
    pub size: u64,
    pub media_type: String,
    /// `K2` (with the case file) or `K3` (footage no act references).
    pub rule: String,
    /// The case file's class (`short`, `long`, `permanent`).
    pub case_class: String,
    /// The last day it was kept.
    pub retained_until: String,
    pub batch_id: String,
    /// The `evidence_destroyed` event.
    pub case_seq: u64,
}

impl Tombstone {
    /// Its member of the event's `items`.
    fn to_value(&self) -> Value {
        Value::object()
            .with("evidence_id", self.evidence_id.as_str())
            .with("sha256", self.sha256.as_str())
            .with("size", self.size)
            .with("media_type", self.media_type.as_str())
            .with("retention_rule", self.rule.as_str())
            .with("case_class", self.case_class.as_str())
            .with("retained_until", self.retained_until.as_str())
    }
}

/// The tombstones an `evidence_destroyed` event records; a payload that does not read is
/// DATA_LOSS naming the event.
pub fn tombstones(row: &event::Model) -> Result<Vec<Tombstone>> {
    let bad = || {
        Error::DataLoss(format!(
            "events.payload of event {} (case {}) is not a readable destruction record",
            row.case_seq, row.case_id
        ))
    };
    let payload = Value::parse(&row.payload).map_err(|_| bad())?;
    let batch_id = payload.get("batch_id").and_then(Value::as_str).ok_or_else(bad)?;
    let Some(Value::Array(items)) = payload.get("items") else { return Err(bad()) };
    items
        .iter()
        .map(|i| {
            let text = |key: &str| i.get(key).and_then(Value::as_str).map(str::to_owned).ok_or_else(bad);
            Ok(Tombstone {
                evidence_id: EvidenceId::from(text("evidence_id")?),
                sha256: text("sha256")?,
                size: i.get("size").and_then(Value::as_int).and_then(|n| u64::try_from(n).ok()).ok_or_else(bad)?,
                media_type: text("media_type")?,
                rule: text("retention_rule")?,
                case_class: text("case_class")?,
                retained_until: text("retained_until")?,
                batch_id: batch_id.to_owned(),
                case_seq: u64::try_from(row.case_seq).map_err(|_| bad())?,
            })
        })
        .collect()
}

/// A destruction as recorded.
#[derive(Debug, Clone)]
pub struct Destroyed {
    pub event: event::Model,
    pub items: Vec<Tombstone>,
}

/// What the record says about a case file's retention and its items' use.
struct FileFacts {
    facts: CaseFacts,
    /// When the case was closed (结案), UTC micros.
    closed_at: Option<i64>,
    /// Items an act (other than their upload, a retrieval or a destruction) or a draft
    /// references.
    referenced: HashSet<EvidenceId>,
    /// Items already destroyed.
    destroyed: HashSet<EvidenceId>,
    /// Footage marked as showing obstruction or a major incident (RULES K3), by its first mark.
    marked: HashMap<EvidenceId, FootageMark>,
}

fn unreadable(row: &event::Model) -> Error {
    Error::DataLoss(format!("events.payload of event {} (case {}) cannot be read", row.case_seq, row.case_id))
}

impl Recorder {
    /// How long case files and recordings are kept.
    pub fn retention_policy(&self) -> RetentionPolicy {
        self.retention
    }

    /// The items of a case whose bytes were destroyed, in the order of their destruction.
    pub async fn destroyed(&self, case_id: &CaseId) -> Result<Vec<Tombstone>> {
        destroyed_in(&self.db, case_id).await
    }

    /// Destroys the bytes of evidence items of `case` past their retention, in a case no
    /// procedure holds (RULES K2–K5). The caller must be authorised (the agency head's approval).
    /// A retry with the same request id answers the stored destruction and removes any bytes
    /// its first attempt left.
    pub async fn destroy_evidence(&self, who: &Principal, case: &case::Model, r: DestroyEvidence) -> Result<Destroyed> {
        let request_id = request_id(&r.request_id)?;
        let stored = event::Entity::find()
            .filter(event::Column::CaseId.eq(&case.id))
            .filter(event::Column::RequestId.eq(&request_id))
            .one(&self.db)
            .await
            .map_err(db_error)?;
        if let Some(stored) = stored {
            same_request(&request_id, stored.request_digest.as_deref(), &r.request_digest)?;
            if stored.kind != EventKind::EvidenceDestroyed.as_str() {
                return Err(Error::precondition(
                    "idempotency",
                    format!("request_id {} was already used for a different request", r.request_id.trim()),
                ));
            }
            let items = tombstones(&stored)?;
            self.remove_bytes(&items).await?;
            return Ok(Destroyed { event: stored, items });
        }

        if r.evidence_ids.is_empty() {
            return Err(Error::invalid("evidence_ids", "name at least one evidence item"));
        }
        let batch_id = r.batch_id.trim();
        limits::chars("batch_id", batch_id, limits::MAX_CODE)?;
        if batch_id.is_empty() {
            return Err(Error::invalid("batch_id", "name the destruction list (销毁清册) the items are on (RULES K5)"));
        }
        let appraisal = r.appraisal.trim();
        limits::chars("appraisal", appraisal, limits::MAX_TEXT)?;
        if appraisal.is_empty() {
            return Err(Error::invalid("appraisal", "state the appraisal committee's finding (RULES K5)"));
        }
        if r.witnesses.len() > limits::MAX_IDS {
            return Err(Error::invalid("witnesses", format!("at most {}", limits::MAX_IDS)));
        }
        for (i, w) in r.witnesses.iter().enumerate() {
            limits::chars(&format!("witnesses[{i}]"), w, limits::MAX_NAME)?;
        }
        let witnesses = retention::witnesses(&r.witnesses)?;
        let approval = r.approval_reference.trim();
        limits::chars("approval_reference", approval, limits::MAX_CODE)?;
        if approval.is_empty() {
            return Err(Error::invalid(
                "approval_reference",
                "name the agency head's approval of the destruction list (RULES K5)",
            ));
        }

        let agency = self.registry.agency(&case.agency_id).await?;
        let tz = stored_zone(&agency.time_zone)?;
        let file = self.file_facts(case).await?;
        let class = retention::case_class(&file.facts);
        let closed_on = file.closed_at.map(|t| local_date(Timestamp::from_micros(t), tz));
        let file_retention = retention::case_retention(class, closed_on, &self.retention);
        let state = CaseState::from_bits(case.state_bits);
        let holds = state.held_by();
        let today = local_date(self.clock.now(), tz);

        let mut items = Vec::with_capacity(r.evidence_ids.len());
        let mut seen = HashSet::new();
        for (i, id) in r.evidence_ids.iter().enumerate() {
            let field = format!("evidence_ids[{i}]");
            if !seen.insert(id) {
                return Err(Error::invalid(field, "listed twice"));
            }
            let e = self
                .evidence_in_case(&case.id, id)
                .await?
                .ok_or_else(|| Error::invalid(&field, "no such evidence in this case"))?;
            if file.destroyed.contains(id) {
                return Err(Error::precondition("K5.destroyed", format!("evidence {id} was already destroyed")));
            }
            let used = EvidenceUse {
                audio_video: is_audio_video(&e.media_type),
                referenced: file.referenced.contains(id),
                captured_on: local_date(Timestamp::from_micros(e.captured_at), tz),
                marked: file.marked.get(id).copied(),
            };
            let (basis, until) = retention::evidence_retention(&used, file_retention, &self.retention);
            retention::check_destruction(&holds, basis, until, today).map_err(|err| match err {
                Error::FailedPrecondition { rule, message } => {
                    Error::precondition(rule, format!("evidence {id}: {message}"))
                }
                other => other,
            })?;
            items.push(Tombstone {
                evidence_id: e.id.clone(),
                sha256: e.sha256.clone(),
                size: u64::try_from(e.size).unwrap_or(0),
                media_type: e.media_type.clone(),
                rule: basis.rule().to_owned(),
                case_class: class.as_str().to_owned(),
                retained_until: until.code(),
                batch_id: batch_id.to_owned(),
                case_seq: 0,
            });
        }

        let payload = Value::object()
            .with("batch_id", batch_id)
            .with("appraisal", appraisal)
            .with("witnesses", witnesses)
            .with("approval_reference", approval)
            .with("items", Value::Array(items.iter().map(Tombstone::to_value).collect()));
        let event = self
            .writer
            .append(NewEvent {
                target: Target::Case(case.id.clone()),
                kind: EventKind::EvidenceDestroyed,
                occurred_at: self.clock.now(),
                actor: who.id.clone(),
                request_id,
                request_digest: Some(r.request_digest.clone()),
                officers: who.officer_id.iter().cloned().collect(),
                evidence: Vec::new(),
                payload,
                new_evidence: None,
                attachments: Vec::new(),
                document_number: None,
                directory_version: None,
            })
            .await?;
        let case_seq = u64::try_from(event.case_seq).unwrap_or(0);
        for t in &mut items {
            t.case_seq = case_seq;
        }
        // Recorded first: should the removal fail, the item is destroyed in the record and a
        // retry of the same request removes the bytes.
        self.remove_bytes(&items).await?;
        Ok(Destroyed { event, items })
    }

    /// The digests among `items` whose content another item (in any case) that is not destroyed
    /// still has: those bytes stay.
    pub async fn shared_content(&self, items: &[Tombstone]) -> Result<HashSet<String>> {
        let digests: Vec<&str> = items.iter().map(|t| t.sha256.as_str()).collect();
        let same: Vec<evidence::Model> = evidence::Entity::find()
            .filter(evidence::Column::Sha256.is_in(digests))
            .all(&self.db)
            .await
            .map_err(db_error)?;
        let mut destroyed: HashSet<EvidenceId> = HashSet::new();
        let cases: HashSet<&CaseId> = same.iter().map(|e| &e.case_id).collect();
        for c in cases {
            destroyed.extend(self.destroyed(c).await?.into_iter().map(|t| t.evidence_id));
        }
        Ok(same.into_iter().filter(|e| !destroyed.contains(&e.id)).map(|e| e.sha256).collect())
    }

    /// Removes the bytes of destroyed items that no other item still has.
    async fn remove_bytes(&self, items: &[Tombstone]) -> Result<()> {
        let shared = self.shared_content(items).await?;
        let mut done = HashSet::new();
        for t in items {
            if shared.contains(&t.sha256) || !done.insert(t.sha256.as_str()) {
                continue;
            }
            let digest: Sha256Digest = t
                .sha256
                .parse()
                .map_err(|_| Error::DataLoss(format!("evidence {} has a malformed digest", t.evidence_id)))?;
            self.vault.delete(&digest).await?;
        }
        Ok(())
    }

    /// What a case's record says about its file's retention and its items' use.
    async fn file_facts(&self, case: &case::Model) -> Result<FileFacts> {
        let kind = CaseKind::parse(&case.kind)
            .ok_or_else(|| Error::DataLoss(format!("cases.kind of case {} cannot be read", case.id)))?;
        let state = CaseState::from_bits(case.state_bits);
        let mut closed_at = None;
        let mut major = false;
        let mut decision_draft = None;
        let mut revoked = false;
        let mut referenced = HashSet::new();
        let mut destroyed = HashSet::new();
        let mut marked = HashMap::new();
        for row in self.all_events(&case.id).await? {
            let kind = EventKind::parse(&row.kind);
            match kind {
                Some(EventKind::Closing) => closed_at = Some(row.occurred_at),
                Some(EventKind::Decision) => {
                    let p = Value::parse(&row.payload).map_err(|_| unreadable(&row))?;
                    major = p.get("major").and_then(Value::as_bool).unwrap_or(false);
                    decision_draft = p.get("draft_id").and_then(Value::as_str).map(str::to_owned);
                }
                Some(EventKind::DecisionRevised) => {
                    let p = Value::parse(&row.payload).map_err(|_| unreadable(&row))?;
                    revoked |= p.get("revision").and_then(Value::as_str) == Some(Revision::Revocation.as_str());
                }
                Some(EventKind::EvidenceDestroyed) => {
                    destroyed.extend(tombstones(&row)?.into_iter().map(|t| t.evidence_id));
                }
                Some(EventKind::EvidenceMarked) => {
                    let p = Value::parse(&row.payload).map_err(|_| unreadable(&row))?;
                    let mark = p
                        .get("details")
                        .and_then(|d| d.get(FootageMark::DETAIL))
                        .and_then(Value::as_str)
                        .and_then(FootageMark::parse)
                        .ok_or_else(|| unreadable(&row))?;
                    let links = evidence_from_json(&row.evidence).ok_or_else(|| unreadable(&row))?;
                    for l in links {
                        marked.entry(l.evidence_id).or_insert(mark);
                    }
                }
                _ => {}
            }
            // An upload, a retrieval, a destruction or a mark names an item without using it.
            if !matches!(
                kind,
                Some(
                    EventKind::EvidenceUploaded
                        | EventKind::EvidenceAccessed
                        | EventKind::EvidenceDestroyed
                        | EventKind::EvidenceMarked
                )
            ) {
                let links = evidence_from_json(&row.evidence).ok_or_else(|| {
                    Error::DataLoss(format!(
                        "events.evidence of event {} (case {}) cannot be read",
                        row.case_seq, case.id
                    ))
                })?;
                referenced.extend(links.into_iter().map(|l| l.evidence_id));
            }
        }
        // Drafts: what the decision imposed, and the evidence each version cites.
        let mut revocation_or_suspension = revoked;
        let mut summary_procedure = false;
        let drafts: HashMap<String, Value> = draft::Entity::find()
            .filter(draft::Column::CaseId.eq(&case.id))
            .all(&self.db)
            .await
            .map_err(db_error)?
            .into_iter()
            .map(|d| {
                let content = Value::parse(&d.content)
                    .map_err(|_| Error::DataLoss(format!("drafts.content of draft {} cannot be read", d.id)))?;
                Ok((d.id.to_string(), content))
            })
            .collect::<Result<_>>()?;
        for content in drafts.values() {
            if let Some(Value::Array(cited)) = content.get("evidence") {
                referenced.extend(cited.iter().filter_map(|c| c.get("id")?.as_str()).map(EvidenceId::from));
            }
        }
        if let Some(content) = decision_draft.as_ref().and_then(|id| drafts.get(id)) {
            if let Some(Value::Array(penalties)) = content.get("penalties") {
                revocation_or_suspension |= penalties.iter().filter_map(|p| p.get("type")?.as_str()).any(|t| {
                    matches!(PenaltyType::parse(t), Some(PenaltyType::RevokeLicence | PenaltyType::SuspendProduction))
                });
            }
            revocation_or_suspension |=
                content.get("licensing_action").and_then(Value::as_str) == Some(LicensingAction::Revoke.as_str());
            summary_procedure = kind == CaseKind::Penalty
                && !content.get("ordinary_procedure").and_then(Value::as_bool).unwrap_or(false);
        }
        Ok(FileFacts {
            facts: CaseFacts {
                kind,
                decided: state.decided(),
                major,
                challenged: state.challenged(),
                revocation_or_suspension,
                summary_procedure,
            },
            closed_at,
            referenced,
            destroyed,
            marked,
        })
    }
}

/// The destruction records of a case, in chain order (RULES K5).
async fn destroyed_in(db: &impl sea_orm::ConnectionTrait, case_id: &CaseId) -> Result<Vec<Tombstone>> {
    let rows = event::Entity::find()
        .filter(event::Column::CaseId.eq(case_id))
        .filter(event::Column::Kind.eq(EventKind::EvidenceDestroyed.as_str()))
        .order_by_asc(event::Column::CaseSeq)
        .all(db)
        .await
        .map_err(db_error)?;
    let mut out = Vec::new();
    for row in &rows {
        out.extend(tombstones(row)?);
    }
    Ok(out)
}

/// The ids of the evidence items that `rows` (a case's `evidence_destroyed` events) destroyed.
pub(crate) fn destroyed_ids_of(rows: &[event::Model]) -> Result<std::collections::HashSet<EvidenceId>> {
    let mut out = std::collections::HashSet::new();
    for row in rows {
        out.extend(tombstones(row)?.into_iter().map(|t| t.evidence_id));
    }
    Ok(out)
}

/// The ids of a case's destroyed evidence items, read in the writer's transaction.
pub(crate) async fn destroyed_ids(
    txn: &impl sea_orm::ConnectionTrait,
    case_id: &CaseId,
) -> Result<std::collections::HashSet<EvidenceId>> {
    Ok(destroyed_in(txn, case_id).await?.into_iter().map(|t| t.evidence_id).collect())
}
