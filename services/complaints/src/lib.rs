//! Complaints and reports (投诉举报, RULES T1–T7).
//!
//! How a complaint is recorded (docs/ARCHITECTURE.md, "Complaints"):
//! - Each complaint has **its own hash chain** (`complaint_steps`): every step is a canonical JSON
//!   document hashed with the previous step's hash, like a case's events. A complaint is not a
//!   case: it may concern no case at all (a consumer complaint, a report before any 立案), and its
//!   handling must not be seen by the case's officers, who may be the reported party (T5).
//! - Where a complaint touches a case, the **case's own chain** records only what the case must
//!   know, in the same transaction (a writer attachment): a conduct complaint about a case opens
//!   the legal hold with `complaint_received` (K4) and its end records `complaint_concluded`; a
//!   report on which a case was filed records `report_linked` with `source: report #<id>` (T7).
//!   These payloads name the complaint, never the reporter.
//! - The reporter's identity lives in `complaint_reporters` only. No step payload, case event,
//!   publication, export or figure carries it; staff see it masked unless a handling office asks
//!   for it with a reason, and each such access is logged (`complaint_reporter_access`).

pub mod command;
pub mod figures;
pub mod http;
mod rows;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;
use chrono_tz::Tz;
use sanxiang_domain::calendar::{WorkCalendar, local_date};
use sanxiang_domain::canonical::Value;
use sanxiang_domain::complaints::{
    Channel, ComplaintPolicy, ComplaintType, Obligation, Outcome, Progress, Step, StepKind, check_investigators,
    check_next, check_types, obligations, recommendation_obligation,
};
use sanxiang_domain::error::same_request;
use sanxiang_domain::id::{AgencyId, CaseId, ComplaintId, OfficerId};
use sanxiang_domain::lifecycle::{CaseState, EventKind, Procedure};
use sanxiang_domain::officer::stored_zone;
use sanxiang_domain::{Error, Result, Sha256Digest, Timestamp};
use sanxiang_recording::Recorder;
use sanxiang_recording::writer::{NewEvent, Target};
use sanxiang_registry::{OfficerInfo, Principal, Registry};
use sanxiang_store::db_error;
use sanxiang_store::entity::{
    agency, complaint, complaint_attachment, complaint_policy, complaint_reporter, complaint_reporter_access,
    complaint_step,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use crate::command::{NewAttachment, NewComplaint, NewStep, Reveal};
use crate::rows::Rows;

/// Longest complaint content, in characters.
pub const MAX_CONTENT: usize = 10_000;
/// Longest reporter name, contact, step text or access reason, in characters.
pub const MAX_NAME: usize = 100;
/// Longest contact, in characters.
pub const MAX_CONTACT: usize = 200;
/// Longest step text, in characters.
pub const MAX_TEXT: usize = 4_000;
/// Most attachments on one step.
pub const MAX_ATTACHMENTS: usize = 8;
/// Largest attachment, in bytes (1 MiB).
pub const MAX_ATTACHMENT_BYTES: usize = 1024 * 1024;
/// Largest total of one step's attachments, in bytes (3 MiB: the request stays under the gRPC
/// message limit of 4 MiB).
pub const MAX_STEP_ATTACHMENT_BYTES: usize = 3 * 1024 * 1024;

/// An attachment of a step as its chained document records it (RULES T2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentRef {
    pub index: u32,
    pub name: String,
    pub media_type: String,
    pub size: u64,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
}

/// The attachments a stored step's payload records (none for a step without).
pub fn attachments_of(s: &complaint_step::Model) -> Result<Vec<AttachmentRef>> {
    let unreadable = || data_loss("complaint_steps", "payload", &format!("{}#{}", s.complaint_id, s.seq));
    let payload = Value::parse(&s.payload).map_err(|_| unreadable())?;
    let Some(items) = payload.get("attachments") else { return Ok(Vec::new()) };
    let Value::Array(items) = items else { return Err(unreadable()) };
    items
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let text = |k: &str| a.get(k).and_then(Value::as_str).map(str::to_owned);
            Some(AttachmentRef {
                index: u32::try_from(i).ok()?,
                name: text("name")?,
                media_type: text("media_type")?,
                size: u64::try_from(a.get("size")?.as_int()?).ok()?,
                sha256: text("sha256")?,
            })
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(unreadable)
}

/// Checks a step's attachments (`INVALID_ARGUMENT attachments[i].<field>`).
fn check_attachments(attachments: &[NewAttachment]) -> Result<()> {
    if attachments.len() > MAX_ATTACHMENTS {
        return Err(Error::invalid("attachments", format!("at most {MAX_ATTACHMENTS}")));
    }
    let mut total = 0usize;
    for (i, a) in attachments.iter().enumerate() {
        let field = |f: &str| format!("attachments[{i}].{f}");
        if a.name.trim().is_empty() {
            return Err(Error::invalid(field("name"), "must not be empty"));
        }
        check_len(&field("name"), a.name.trim(), MAX_NAME)?;
        let media = a.media_type.trim();
        if media.is_empty() || media.len() > sanxiang_domain::limits::MAX_MEDIA_TYPE || !media.contains('/') {
            return Err(Error::invalid(field("media_type"), "a media type, e.g. image/jpeg"));
        }
        if a.content.is_empty() {
            return Err(Error::invalid(field("content"), "must not be empty"));
        }
        if a.content.len() > MAX_ATTACHMENT_BYTES {
            return Err(Error::invalid(field("content"), format!("at most {MAX_ATTACHMENT_BYTES} bytes")));
        }
        total += a.content.len();
    }
    if total > MAX_STEP_ATTACHMENT_BYTES {
        return Err(Error::invalid("attachments", format!("at most {MAX_STEP_ATTACHMENT_BYTES} bytes together")));
    }
    Ok(())
}

/// The reporter as a caller may see it (RULES T5).
#[derive(Clone, PartialEq, Eq)]
pub struct ReporterView {
    /// `None` when masked.
    pub name: Option<String>,
    /// `None` when masked.
    pub contact: Option<String>,
    pub anonymous: bool,
    pub secrecy_requested: bool,
}

impl std::fmt::Debug for ReporterView {
    /// The identity never reaches a log through a `Debug` print.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReporterView")
            .field("masked", &self.name.is_none())
            .field("anonymous", &self.anonymous)
            .field("secrecy_requested", &self.secrecy_requested)
            .finish_non_exhaustive()
    }
}

/// A step still owed, judged today.
#[derive(Debug, Clone)]
pub struct Owing {
    pub obligation: Obligation,
    pub overdue: bool,
}

/// A complaint as staff see it.
#[derive(Debug, Clone)]
pub struct ComplaintView {
    pub row: complaint::Model,
    pub complaint_type: ComplaintType,
    pub channel: Channel,
    pub officer_ids: Vec<OfficerId>,
    pub outcome: Option<Outcome>,
    pub reporter: ReporterView,
    pub steps: Vec<complaint_step::Model>,
    pub owing: Vec<Owing>,
}

/// A page of an agency's complaints.
#[derive(Debug, Clone)]
pub struct Page {
    pub complaints: Vec<ComplaintView>,
    /// The cursor of the next (older) page; `None` at the end.
    pub next_cursor: Option<String>,
}

/// Default and largest page of `ListComplaints` (as `ListDisclosures`).
pub const DEFAULT_PAGE: u32 = 50;
/// See [`DEFAULT_PAGE`].
pub const MAX_PAGE: u32 = 500;

/// A listing position: the last complaint shown, by `(received_at, id)`, newest first.
fn parse_cursor(cursor: &str) -> Result<Option<(i64, ComplaintId)>> {
    let bad = || Error::invalid("cursor", "not a cursor returned by a previous page");
    let cursor = cursor.trim();
    if cursor.is_empty() {
        return Ok(None);
    }
    let (at, id) = cursor.strip_prefix('r').and_then(|c| c.split_once('.')).ok_or_else(bad)?;
    if at.is_empty() || !at.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let at: i64 = at.parse().map_err(|_| bad())?;
    sanxiang_domain::limits::id("cursor", id).map_err(|_| bad())?;
    Ok(Some((at, ComplaintId::from(id))))
}

fn page_size(limit: u32) -> Result<u32> {
    match limit {
        0 => Ok(DEFAULT_PAGE),
        n if n > MAX_PAGE => Err(Error::invalid("limit", format!("at most {MAX_PAGE}"))),
        n => Ok(n),
    }
}

/// Complaints and reports: intake, steps, views, figures.
#[derive(Debug, Clone)]
pub struct Complaints {
    recorder: Recorder,
}

fn data_loss(table: &str, column: &str, id: &str) -> Error {
    Error::DataLoss(format!("{table}.{column} of {id} cannot be read"))
}

/// The type of a stored complaint.
pub fn stored_type(c: &complaint::Model) -> Result<ComplaintType> {
    ComplaintType::parse(&c.complaint_type).ok_or_else(|| data_loss("complaints", "complaint_type", &c.id))
}

/// The channel of a stored complaint.
pub fn stored_channel(c: &complaint::Model) -> Result<Channel> {
    Channel::parse(&c.channel).ok_or_else(|| data_loss("complaints", "channel", &c.id))
}

/// The outcome of a stored complaint.
pub fn stored_outcome(c: &complaint::Model) -> Result<Option<Outcome>> {
    c.outcome.as_deref().map(|o| Outcome::parse(o).ok_or_else(|| data_loss("complaints", "outcome", &c.id))).transpose()
}

fn stored_officers(c: &complaint::Model) -> Result<Vec<OfficerId>> {
    serde_json::from_str::<Vec<String>>(&c.officer_ids)
        .map(|v| v.into_iter().map(OfficerId::from).collect())
        .map_err(|_| data_loss("complaints", "officer_ids", &c.id))
}

/// A stored step as the rules see it, read from its payload.
pub fn stored_step(s: &complaint_step::Model, tz: Tz) -> Result<Step> {
    let what = || data_loss("complaint_steps", "payload", &format!("{}#{}", s.complaint_id, s.seq));
    let kind = StepKind::parse(&s.kind).ok_or_else(what)?;
    let payload = Value::parse(&s.payload).map_err(|_| what())?;
    let outcome = match payload.get("outcome").and_then(Value::as_str) {
        Some(o) => Some(Outcome::parse(o).ok_or_else(what)?),
        None => None,
    };
    Ok(Step {
        kind,
        date: local_date(Timestamp::from_micros(s.occurred_at), tz),
        extension_days: payload
            .get("extension_days")
            .and_then(Value::as_int)
            .map_or(Ok(0), |d| u32::try_from(d).map_err(|_| what()))?,
        case_filed: payload.get("case_filed").and_then(Value::as_bool).unwrap_or(false),
        outcome,
    })
}

/// A step's chained document and its hash: the canonical JSON of the payload with the previous
/// hash in it, and the SHA-256 of that text.
fn chained(payload: Value, prev_hash: &str) -> Result<(String, String)> {
    let doc = payload.with("prev_hash", prev_hash);
    let text = doc.to_canonical_string().map_err(|e| Error::Internal(format!("step payload: {e}")))?;
    let hash = Sha256Digest::of(text.as_bytes()).to_hex();
    Ok((text, hash))
}

fn check_len(field: &str, value: &str, max: usize) -> Result<()> {
    if value.chars().count() > max {
        return Err(Error::invalid(field, format!("at most {max} characters")));
    }
    Ok(())
}

impl Complaints {
    /// Complaints over the record of `recorder` (its database, registry, clock and writer).
    pub fn new(recorder: Recorder) -> Self {
        Self { recorder }
    }

    /// The registry.
    pub fn registry(&self) -> &Registry {
        self.recorder.registry()
    }

    /// The record.
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    fn now(&self) -> Timestamp {
        self.recorder.clock().now()
    }

    /// A complaint row.
    pub async fn complaint(&self, id: &ComplaintId) -> Result<complaint::Model> {
        complaint::Entity::find_by_id(id.clone())
            .one(self.recorder.db())
            .await
            .map_err(db_error)?
            .ok_or_else(|| Error::not_found("complaint", id.as_str()))
    }

    /// An agency's complaint periods: its stored policy, else the defaults.
    pub async fn policy(&self, agency_id: &AgencyId) -> Result<ComplaintPolicy> {
        match complaint_policy::Entity::find_by_id(agency_id.clone()).one(self.recorder.db()).await.map_err(db_error)? {
            Some(row) => {
                serde_json::from_str(&row.policy).map_err(|_| data_loss("complaint_policies", "policy", agency_id))
            }
            None => Ok(ComplaintPolicy::default()),
        }
    }

    /// Stores an agency's complaint periods.
    pub async fn put_policy(&self, agency_id: &AgencyId, policy: ComplaintPolicy) -> Result<ComplaintPolicy> {
        policy.check()?;
        self.registry().agency(agency_id).await?;
        let text = serde_json::to_string(&policy).map_err(|e| Error::Internal(format!("policy: {e}")))?;
        let row = complaint_policy::ActiveModel {
            agency_id: Set(agency_id.clone()),
            policy: Set(text),
            updated_at: Set(self.now().micros()),
        };
        let exists =
            complaint_policy::Entity::find_by_id(agency_id.clone()).one(self.recorder.db()).await.map_err(db_error)?;
        if exists.is_some() {
            row.update(self.recorder.db()).await.map_err(db_error)?;
        } else {
            row.insert(self.recorder.db()).await.map_err(db_error)?;
        }
        Ok(policy)
    }

    /// Records a submission: from staff (`who`), or from the public surface (`None`, always the
    /// internet channel, received now). A complaint with a report in it becomes two records
    /// (SAMR-C Art. 7). Nothing is written unless every field is valid.
    pub async fn record(&self, who: Option<&Principal>, r: NewComplaint) -> Result<Vec<ComplaintView>> {
        let now = self.now();
        if let Some((request_id, digest)) = &r.request {
            let stored = complaint::Entity::find()
                .filter(complaint::Column::AgencyId.eq(r.agency_id.clone()))
                .filter(complaint::Column::RequestId.eq(request_id.clone()))
                .order_by_asc(complaint::Column::Id)
                .all(self.recorder.db())
                .await
                .map_err(db_error)?;
            if let Some(first) = stored.first() {
                same_request(request_id, first.request_digest.as_deref(), digest)?;
                let mut out = Vec::with_capacity(stored.len());
                for c in stored {
                    out.push(self.view(c, Reveal::Masked).await?);
                }
                return Ok(out);
            }
        }
        let types: Vec<ComplaintType> = r
            .types
            .iter()
            .map(|t| t.ok_or_else(|| Error::invalid("types", "name a known complaint type")))
            .collect::<Result<_>>()?;
        check_types(&types)?;
        let agency = self.registry().agency(&r.agency_id).await.map_err(|e| match e {
            Error::NotFound { .. } => Error::invalid("agency_id", "no such agency"),
            other => other,
        })?;
        let channel = match who {
            None => Channel::Internet,
            Some(_) => r.channel.ok_or_else(|| Error::invalid("channel", "name how the complaint arrived"))?,
        };
        let received_at = match (who, r.received_at) {
            (None, _) => now,
            (Some(_), Some(at)) if at > now => return Err(Error::invalid("received_at", "is in the future")),
            (Some(_), Some(at)) => at,
            (Some(_), None) if channel.is_oral() => {
                return Err(Error::invalid(
                    "received_at",
                    "oral intake records when the complaint was received (SAMR-C Arts. 9, 24)",
                ));
            }
            (Some(_), None) => now,
        };
        let content = r.content.trim();
        if content.is_empty() {
            return Err(Error::invalid("content", "state the complaint or report"));
        }
        check_len("content", content, MAX_CONTENT)?;
        let rep = &r.reporter;
        let name = rep.name.trim();
        let contact = rep.contact.trim();
        check_len("reporter.name", name, MAX_NAME)?;
        check_len("reporter.contact", contact, MAX_CONTACT)?;
        if rep.anonymous {
            if !name.is_empty() || !contact.is_empty() {
                return Err(Error::invalid("reporter.anonymous", "an anonymous submission carries no name or contact"));
            }
            if types.iter().any(|t| *t != ComplaintType::SamrReport) {
                return Err(Error::invalid(
                    "reporter.anonymous",
                    "only a report may be anonymous: a complaint is answered to the complainant (SAMR-C Arts. 9, 31)",
                ));
            }
        } else {
            if name.is_empty() {
                return Err(Error::invalid("reporter.name", "is required unless the submission is anonymous"));
            }
            if contact.is_empty() {
                return Err(Error::invalid("reporter.contact", "is required unless the submission is anonymous"));
            }
        }
        let case = match &r.case_id {
            None => None,
            Some(id) => {
                let c = self.recorder.case(id).await.map_err(|e| match e {
                    Error::NotFound { .. } => Error::invalid("case_id", "no such case"),
                    other => other,
                })?;
                if c.agency_id != agency.id {
                    return Err(Error::invalid("case_id", "the case is not one of this agency's"));
                }
                Some(c)
            }
        };
        if r.officer_ids.len() > sanxiang_domain::limits::MAX_IDS {
            return Err(Error::invalid("officer_ids", format!("at most {} entries", sanxiang_domain::limits::MAX_IDS)));
        }
        for (i, id) in r.officer_ids.iter().enumerate() {
            let field = format!("officer_ids[{i}]");
            let o = self.registry().officer(id).await.map_err(|e| match e {
                Error::NotFound { .. } => Error::invalid(field.clone(), "no such officer"),
                other => other,
            })?;
            if o.agency_id != agency.id {
                return Err(Error::invalid(field, "not an officer of this agency"));
            }
        }
        if (case.is_some() || !r.officer_ids.is_empty()) && who.is_none() {
            return Err(Error::invalid("case_id", "the public surface does not link cases or officers"));
        }

        let officers_json = serde_json::to_string(&r.officer_ids.iter().map(|o| o.as_str()).collect::<Vec<_>>())
            .map_err(|e| Error::Internal(e.to_string()))?;
        let ids: Vec<ComplaintId> = types.iter().map(|_| ComplaintId::new(self.recorder.clock().as_ref())).collect();
        let mut rows = Rows::new();
        for (i, ty) in types.iter().enumerate() {
            let id = &ids[i];
            let sibling = ids.iter().find(|s| *s != id).cloned();
            let mut payload = Value::object()
                .with("complaint_id", id.as_str())
                .with("seq", 1i64)
                .with("kind", StepKind::Received.as_str())
                .with("occurred_at", received_at.micros())
                .with("recorded_at", now.micros())
                .with("agency_id", agency.id.as_str())
                .with("type", ty.as_str())
                .with("channel", channel.as_str())
                .with("content_sha256", Sha256Digest::of(content.as_bytes()).to_hex())
                .with("real_name", !rep.anonymous)
                .with("secrecy_requested", rep.secrecy_requested)
                .with("officer_ids", Value::Array(r.officer_ids.iter().map(|o| Value::from(o.as_str())).collect()));
            if let Some(who) = who {
                payload = payload.with("actor", who.id.as_str());
                if let Some(o) = &who.officer_id {
                    payload = payload.with("intake_officer_id", o.as_str());
                }
            }
            if let Some(c) = &case {
                payload = payload.with("case_id", c.id.as_str());
            }
            if let Some(s) = &sibling {
                payload = payload.with("sibling_id", s.as_str());
            }
            let (text, hash) = chained(payload, "")?;
            rows.new_complaints.push((
                complaint::Model {
                    id: id.clone(),
                    agency_id: agency.id.clone(),
                    complaint_type: ty.as_str().to_owned(),
                    channel: channel.as_str().to_owned(),
                    received_at: received_at.micros(),
                    intake_officer_id: who.and_then(|w| w.officer_id.clone()),
                    intake_principal_id: who.map(|w| w.id.clone()),
                    content: content.to_owned(),
                    case_id: case.as_ref().map(|c| c.id.clone()),
                    officer_ids: officers_json.clone(),
                    sibling_id: sibling,
                    real_name: !rep.anonymous,
                    is_open: true,
                    outcome: None,
                    step_count: 1,
                    head_hash: hash.clone(),
                    updated_at: now.micros(),
                    request_id: r.request.as_ref().map(|(id, _)| id.clone()),
                    request_digest: r.request.as_ref().map(|(_, d)| d.clone()),
                },
                complaint_reporter::Model {
                    complaint_id: id.clone(),
                    name: name.to_owned(),
                    contact: contact.to_owned(),
                    anonymous: rep.anonymous,
                    secrecy_requested: rep.secrecy_requested,
                },
            ));
            rows.steps.push(complaint_step::Model {
                complaint_id: id.clone(),
                seq: 1,
                kind: StepKind::Received.as_str().to_owned(),
                occurred_at: received_at.micros(),
                recorded_at: now.micros(),
                actor_id: who.map(|w| w.id.clone()),
                payload: text,
                prev_hash: String::new(),
                hash,
                request_id: None,
                request_digest: None,
            });
        }

        // A conduct complaint about a case holds the case (RULES K4) from its receipt, unless a
        // complaint holds it already; the case learns only the complaint's number.
        let hold = match (&case, types.as_slice(), who) {
            (Some(c), [ComplaintType::ConductComplaint], Some(who))
                if !CaseState::from_bits(c.state_bits).holds().contains(&Procedure::Complaint) =>
            {
                Some((c.id.clone(), who))
            }
            _ => None,
        };
        match hold {
            Some((case_id, who)) => {
                let payload = Value::object().with("source", format!("complaint #{}", ids[0]));
                self.append_with(case_id, EventKind::ComplaintReceived, received_at, who, &ids[0], 1, payload, rows)
                    .await?;
            }
            None => rows.write_alone(self.recorder.db()).await?,
        }
        let mut out = Vec::with_capacity(ids.len());
        for id in &ids {
            let c = self.complaint(id).await?;
            out.push(self.view(c, Reveal::Masked).await?);
        }
        Ok(out)
    }

    /// Appends `kind` to the case with the complaint's rows in the same transaction.
    #[allow(clippy::too_many_arguments)]
    async fn append_with(
        &self,
        case_id: CaseId,
        kind: EventKind,
        at: Timestamp,
        who: &Principal,
        complaint_id: &ComplaintId,
        seq: i64,
        payload: Value,
        rows: Rows,
    ) -> Result<()> {
        let mut event =
            NewEvent::act(Target::Case(case_id), kind, at, &who.id, format!("complaint:{complaint_id}:{seq}"), payload);
        event.attachments.push(Arc::new(rows));
        self.recorder.writer().append(event).await.map(|_| ())
    }

    async fn steps(&self, id: &ComplaintId) -> Result<Vec<complaint_step::Model>> {
        complaint_step::Entity::find()
            .filter(complaint_step::Column::ComplaintId.eq(id.clone()))
            .order_by_asc(complaint_step::Column::Seq)
            .all(self.recorder.db())
            .await
            .map_err(db_error)
    }

    async fn zone_and_calendar(&self, agency_id: &AgencyId) -> Result<(Tz, WorkCalendar)> {
        let agency = self.registry().agency(agency_id).await?;
        Ok((stored_zone(&agency.time_zone)?, self.registry().calendar().await?))
    }

    /// Records the next step of complaint `c` (the caller is a handling office of its agency).
    pub async fn step(&self, who: &Principal, c: complaint::Model, r: NewStep) -> Result<ComplaintView> {
        let now = self.now();
        if let Some((request_id, digest)) = &r.request {
            let stored = complaint_step::Entity::find()
                .filter(complaint_step::Column::ComplaintId.eq(c.id.clone()))
                .filter(complaint_step::Column::RequestId.eq(request_id.clone()))
                .one(self.recorder.db())
                .await
                .map_err(db_error)?;
            if let Some(s) = stored {
                same_request(request_id, s.request_digest.as_deref(), digest)?;
                return self.view(c, Reveal::Masked).await;
            }
        }
        let kind = r.kind.ok_or_else(|| Error::invalid("kind", "name a known step"))?;
        if kind == StepKind::Received {
            return Err(Error::invalid("kind", "the receipt is recorded by RecordComplaint"));
        }
        let at = r.occurred_at.unwrap_or(now);
        if at > now {
            return Err(Error::invalid("occurred_at", "is in the future"));
        }
        let text = r.text.trim();
        check_len("text", text, MAX_TEXT)?;
        check_attachments(&r.attachments)?;
        if kind == StepKind::Rejected && text.is_empty() {
            return Err(Error::invalid("text", "state the ground of the rejection (SAMR-C Art. 15; T6)"));
        }
        if kind == StepKind::Concluded && r.outcome == Some(Outcome::NotUpheld) && text.is_empty() {
            return Err(Error::invalid("text", "state the reasons a complaint is not upheld (T6)"));
        }
        if kind == StepKind::Extended {
            let Some(approver) = &r.approved_by else {
                return Err(Error::invalid("approved_by", "an extension records who approved it (T6)"));
            };
            let o = self.registry().officer(approver).await.map_err(|e| match e {
                Error::NotFound { .. } => Error::invalid("approved_by", "no such officer"),
                other => other,
            })?;
            if o.agency_id != c.agency_id {
                return Err(Error::invalid("approved_by", "not an officer of the complaint's agency"));
            }
        }
        if !r.investigator_ids.is_empty() && kind != StepKind::Concluded {
            return Err(Error::invalid(
                "investigator_ids",
                "only a conduct complaint's conclusion names its investigators",
            ));
        }
        if kind == StepKind::DecisionKept && text.is_empty() {
            return Err(Error::invalid("text", "state why the decision stands (T6)"));
        }
        if kind == StepKind::JurisdictionDisputed && text.is_empty() {
            return Err(Error::invalid("text", "name the body the jurisdiction is disputed with (SAMR-C Art. 30)"));
        }
        if kind == StepKind::JurisdictionSettled && text.is_empty() {
            return Err(Error::invalid(
                "text",
                "state how the dispute was settled, or the common superior it was referred to (SAMR-C Art. 30)",
            ));
        }
        if kind == StepKind::Referred && text.is_empty() {
            return Err(Error::invalid(
                "text",
                "name the body with jurisdiction the reporter was told of (SAMR-C Art. 29)",
            ));
        }
        let ty = stored_type(&c)?;
        let filed_case = if kind == StepKind::FilingDecided && r.case_filed {
            let Some(case_id) = &r.case_id else {
                return Err(Error::invalid("case_id", "name the case filed on the report (T7)"));
            };
            let case = self.recorder.case(case_id).await.map_err(|e| match e {
                Error::NotFound { .. } => Error::invalid("case_id", "no such case"),
                other => other,
            })?;
            if case.agency_id != c.agency_id {
                return Err(Error::invalid("case_id", "the case is not one of the complaint's agency"));
            }
            if !CaseState::from_bits(case.state_bits).filed() {
                return Err(Error::precondition(
                    "T7.case-filed",
                    "the case linked to a report must record its 立案 (filing) first",
                ));
            }
            Some(case)
        } else {
            if r.case_id.is_some() {
                return Err(Error::invalid("case_id", "only a filing decision that filed a case names one"));
            }
            None
        };

        let (tz, calendar) = self.zone_and_calendar(&c.agency_id).await?;
        let policy = self.policy(&c.agency_id).await?;
        let stored = self.steps(&c.id).await?;
        let domain: Vec<Step> = stored.iter().map(|s| stored_step(s, tz)).collect::<Result<_>>()?;
        let progress = Progress::of(&domain, &calendar);
        let step = Step {
            kind,
            date: local_date(at, tz),
            extension_days: r.extension_days,
            case_filed: r.case_filed,
            outcome: r.outcome,
        };
        if at.micros() < c.received_at {
            return Err(Error::precondition("T2.after-receipt", "a step cannot precede the receipt"));
        }
        check_next(ty, c.real_name, &progress, &step, &policy)?;
        if kind == StepKind::Concluded {
            self.check_investigators(who, &c, &r.investigator_ids, at, tz).await?;
            if r.outcome == Some(Outcome::RevokeOrChangeRecommended) {
                let decided = match &c.case_id {
                    Some(id) => CaseState::from_bits(self.recorder.case(id).await?.state_bits).decided(),
                    None => false,
                };
                if !decided {
                    return Err(Error::precondition(
                        "T6.decision-required",
                        "revoke_or_change_recommended concerns a decision: the complaint names no case with a decision",
                    ));
                }
            }
        }
        if kind == StepKind::DecisionKept && self.revised_since_conclusion(&c, &stored).await? {
            return Err(Error::precondition(
                "T6.decision-revised",
                "the decision was already revised as recommended: nothing stands to be kept",
            ));
        }
        // A step after the conclusion (the answer to a recommendation) does not close it again.
        let was_open = progress.outcome(ty, c.real_name).is_none();
        let after = progress.after(&step, &calendar);
        let outcome = after.outcome(ty, c.real_name);

        let seq = c.step_count + 1;
        let mut payload = Value::object()
            .with("complaint_id", c.id.as_str())
            .with("seq", seq)
            .with("kind", kind.as_str())
            .with("occurred_at", at.micros())
            .with("recorded_at", now.micros())
            .with("actor", who.id.as_str());
        if !text.is_empty() {
            payload = payload.with("text", text);
        }
        if kind == StepKind::Extended {
            payload = payload.with("extension_days", i64::from(r.extension_days));
            if let Some(a) = &r.approved_by {
                payload = payload.with("approved_by", a.as_str());
            }
        }
        if kind == StepKind::FilingDecided {
            payload = payload.with("case_filed", r.case_filed);
        }
        if let Some(case) = &filed_case {
            payload = payload.with("case_id", case.id.as_str());
        }
        if let Some(o) = r.outcome.filter(|_| kind == StepKind::Concluded) {
            payload = payload.with("outcome", o.as_str());
        }
        if kind == StepKind::Concluded {
            payload = payload.with(
                "investigator_ids",
                Value::Array(r.investigator_ids.iter().map(|o| Value::from(o.as_str())).collect()),
            );
        }
        let mut attachment_rows = Vec::with_capacity(r.attachments.len());
        if !r.attachments.is_empty() {
            let mut refs = Vec::with_capacity(r.attachments.len());
            for (i, a) in r.attachments.iter().enumerate() {
                let sha256 = Sha256Digest::of(&a.content).to_hex();
                refs.push(
                    Value::object()
                        .with("name", a.name.trim())
                        .with("media_type", a.media_type.trim())
                        .with("size", u64::try_from(a.content.len()).unwrap_or(u64::MAX))
                        .with("sha256", sha256.as_str()),
                );
                attachment_rows.push(complaint_attachment::Model {
                    complaint_id: c.id.clone(),
                    seq,
                    idx: i64::try_from(i).unwrap_or(i64::MAX),
                    sha256,
                    content: a.content.clone(),
                });
            }
            payload = payload.with("attachments", Value::Array(refs));
        }
        let (doc, hash) = chained(payload, &c.head_hash)?;
        let mut head = c.clone();
        head.step_count = seq;
        head.head_hash = hash.clone();
        head.is_open = outcome.is_none();
        head.outcome = outcome.map(|o| o.as_str().to_owned());
        head.updated_at = now.micros();
        if let Some(case) = &filed_case {
            head.case_id = Some(case.id.clone());
        }
        let mut rows = Rows::new();
        rows.steps.push(complaint_step::Model {
            complaint_id: c.id.clone(),
            seq,
            kind: kind.as_str().to_owned(),
            occurred_at: at.micros(),
            recorded_at: now.micros(),
            actor_id: Some(who.id.clone()),
            payload: doc,
            prev_hash: c.head_hash.clone(),
            hash,
            request_id: r.request.as_ref().map(|(id, _)| id.clone()),
            request_digest: r.request.as_ref().map(|(_, d)| d.clone()),
        });
        rows.head = Some((c.step_count, head));
        rows.attachments = attachment_rows;

        // What the case must know (RULES K4, T7).
        let case_event = if let Some(case) = &filed_case {
            Some((
                case.id.clone(),
                EventKind::ReportLinked,
                Value::object().with("source", format!("report #{}", c.id)),
            ))
        } else if ty == ComplaintType::ConductComplaint && was_open && outcome.is_some() {
            match &c.case_id {
                Some(case_id) if self.releases_hold(case_id, &c.id).await? => Some((
                    case_id.clone(),
                    EventKind::ComplaintConcluded,
                    Value::object()
                        .with("source", format!("complaint #{}", c.id))
                        .with("outcome", outcome.map(Outcome::as_str).unwrap_or_default()),
                )),
                _ => None,
            }
        } else {
            None
        };
        match case_event {
            Some((case_id, event_kind, payload)) => {
                self.append_with(case_id, event_kind, at, who, &c.id, seq, payload, rows).await?;
            }
            None => rows.write_alone(self.recorder.db()).await?,
        }
        let c = self.complaint(&c.id).await?;
        self.view(c, Reveal::Masked).await
    }

    /// RULES T6: the conclusion's investigators, judged at `at` in the agency's zone `tz` by the
    /// certificates as of the caller's request, then as of now if those refuse (a reinstatement
    /// counted after the caller was authenticated must not be refused).
    async fn check_investigators(
        &self,
        who: &Principal,
        c: &complaint::Model,
        ids: &[OfficerId],
        at: Timestamp,
        tz: Tz,
    ) -> Result<()> {
        if ids.len() > sanxiang_domain::limits::MAX_IDS {
            return Err(Error::invalid(
                "investigator_ids",
                format!("at most {} entries", sanxiang_domain::limits::MAX_IDS),
            ));
        }
        let agency = self.registry().agency(&c.agency_id).await?;
        let mut agencies = vec![agency.id.clone()];
        agencies.extend(self.registry().scope_of(&agency).await?.overseers);
        let judge = |certs: &HashMap<OfficerId, Arc<OfficerInfo>>| {
            check_investigators(ids, |id| certs.get(id).map(|o| o.named()), &agencies, at, tz)
        };
        if judge(&self.registry().certificates_for(who, ids).await?).is_ok() {
            return Ok(());
        }
        judge(&self.registry().certificates(ids).await?)
    }

    /// When conduct complaint `c` (with `steps`) was concluded `revoke_or_change_recommended`,
    /// whether its case's decision was revised since (`decision_revised` on or after the
    /// conclusion: the recommendation is carried out, and the revision withdrew the decision's
    /// publication, P6).
    async fn revised_since_conclusion(&self, c: &complaint::Model, steps: &[complaint_step::Model]) -> Result<bool> {
        let (Some(case_id), Some(concluded)) =
            (&c.case_id, steps.iter().rev().find(|s| s.kind == StepKind::Concluded.as_str()))
        else {
            return Ok(false);
        };
        let revisions = self.recorder.events_of_kinds(case_id, &[EventKind::DecisionRevised]).await?;
        Ok(revisions.iter().any(|e| e.occurred_at >= concluded.occurred_at))
    }

    /// What complaint `c` still owes today: its steps (`owing_of`), and after a
    /// `revoke_or_change_recommended` conclusion the decision's revision or the agency's answer.
    async fn owing_now(
        &self,
        c: &complaint::Model,
        steps: &[complaint_step::Model],
        tz: Tz,
        calendar: &WorkCalendar,
        policy: &ComplaintPolicy,
    ) -> Result<Vec<Owing>> {
        let today = local_date(self.now(), tz);
        let mut out = owing_of(c, steps, tz, calendar, policy, today)?;
        if c.outcome.as_deref() == Some(Outcome::RevokeOrChangeRecommended.as_str()) {
            let domain: Vec<Step> = steps.iter().map(|s| stored_step(s, tz)).collect::<Result<_>>()?;
            let progress = Progress::of(&domain, calendar);
            let revised = self.revised_since_conclusion(c, steps).await?;
            if let Some(o) = recommendation_obligation(&progress, policy, revised) {
                out.push(Owing { overdue: o.overdue(today), obligation: o });
            }
        }
        Ok(out)
    }

    /// Whether closing complaint `closing` ends the case's complaint hold: the case is held by a
    /// complaint and no other conduct complaint about it is open.
    async fn releases_hold(&self, case_id: &CaseId, closing: &ComplaintId) -> Result<bool> {
        let case = self.recorder.case(case_id).await?;
        if !CaseState::from_bits(case.state_bits).holds().contains(&Procedure::Complaint) {
            return Ok(false);
        }
        let others = complaint::Entity::find()
            .filter(complaint::Column::CaseId.eq(case_id.clone()))
            .filter(complaint::Column::IsOpen.eq(true))
            .filter(complaint::Column::ComplaintType.eq(ComplaintType::ConductComplaint.as_str()))
            .filter(complaint::Column::Id.ne(closing.clone()))
            .all(self.recorder.db())
            .await
            .map_err(db_error)?;
        Ok(others.is_empty())
    }

    /// What a complaint still owes today, by the agency's zone, calendar and policy.
    async fn owing(&self, c: &complaint::Model, steps: &[complaint_step::Model]) -> Result<Vec<Owing>> {
        let (tz, calendar) = self.zone_and_calendar(&c.agency_id).await?;
        let policy = self.policy(&c.agency_id).await?;
        self.owing_now(c, steps, tz, &calendar, &policy).await
    }

    /// Complaint `c` with its steps and what it owes; the reporter masked, or revealed to a
    /// handling office (the caller checked the scope), which is logged first.
    pub async fn view(&self, c: complaint::Model, reveal: Reveal<'_>) -> Result<ComplaintView> {
        let reporter_row = complaint_reporter::Entity::find_by_id(c.id.clone())
            .one(self.recorder.db())
            .await
            .map_err(db_error)?
            .ok_or_else(|| data_loss("complaint_reporters", "complaint_id", &c.id))?;
        let reporter = match reveal {
            Reveal::Masked => ReporterView {
                name: None,
                contact: None,
                anonymous: reporter_row.anonymous,
                secrecy_requested: reporter_row.secrecy_requested,
            },
            Reveal::To { who, reason } => {
                let reason = reason.trim();
                if reason.is_empty() {
                    return Err(Error::invalid("access_reason", "state why the reporter's identity is needed (T5)"));
                }
                check_len("access_reason", reason, MAX_NAME)?;
                complaint_reporter_access::ActiveModel {
                    id: Set(sanxiang_domain::id::new_id(self.recorder.clock().as_ref())),
                    complaint_id: Set(c.id.clone()),
                    principal_id: Set(who.id.clone()),
                    accessed_at: Set(self.now().micros()),
                    reason: Set(reason.to_owned()),
                }
                .insert(self.recorder.db())
                .await
                .map_err(db_error)?;
                tracing::info!(complaint = %c.id, principal = %who.id, "reporter identity accessed");
                ReporterView {
                    name: Some(reporter_row.name.clone()),
                    contact: Some(reporter_row.contact.clone()),
                    anonymous: reporter_row.anonymous,
                    secrecy_requested: reporter_row.secrecy_requested,
                }
            }
        };
        let steps = self.steps(&c.id).await?;
        let owing = self.owing(&c, &steps).await?;
        Ok(ComplaintView {
            complaint_type: stored_type(&c)?,
            channel: stored_channel(&c)?,
            officer_ids: stored_officers(&c)?,
            outcome: stored_outcome(&c)?,
            reporter,
            steps,
            owing,
            row: c,
        })
    }

    /// Attachment `index` of step `seq` of complaint `c`, with its bytes; NOT_FOUND when the step
    /// has none at that position; DATA_LOSS when the bytes are missing or no longer match the
    /// digest the chained step records.
    pub async fn attachment(&self, c: &complaint::Model, seq: u64, index: u32) -> Result<(AttachmentRef, Vec<u8>)> {
        let what = format!("{}#{seq}/{index}", c.id);
        let seq = i64::try_from(seq).map_err(|_| Error::not_found("attachment", &what))?;
        let step = complaint_step::Entity::find_by_id((c.id.clone(), seq))
            .one(self.recorder.db())
            .await
            .map_err(db_error)?
            .ok_or_else(|| Error::not_found("attachment", &what))?;
        let Some(r) = attachments_of(&step)?.into_iter().find(|a| a.index == index) else {
            return Err(Error::not_found("attachment", &what));
        };
        let row = complaint_attachment::Entity::find_by_id((c.id.clone(), seq, i64::from(index)))
            .one(self.recorder.db())
            .await
            .map_err(db_error)?
            .ok_or_else(|| data_loss("complaint_attachments", "content", &what))?;
        if Sha256Digest::of(&row.content).to_hex() != r.sha256 || row.sha256 != r.sha256 {
            return Err(Error::DataLoss(format!(
                "complaint_attachments.content of {what} does not match the digest its step records"
            )));
        }
        Ok((r, row.content))
    }

    /// A page of an agency's complaints, newest first (by receipt, then id), reporter masked:
    /// `limit` 1–[`MAX_PAGE`] (0: [`DEFAULT_PAGE`]) after `cursor` (empty: from the newest). A
    /// keyset cursor: complaints recorded meanwhile never shift a page.
    pub async fn list(&self, agency_id: &AgencyId, open_only: bool, cursor: &str, limit: u32) -> Result<Page> {
        let limit = page_size(limit)?;
        let after = parse_cursor(cursor)?;
        let mut q = complaint::Entity::find().filter(complaint::Column::AgencyId.eq(agency_id.clone()));
        if open_only {
            q = q.filter(complaint::Column::IsOpen.eq(true));
        }
        if let Some((at, id)) = after {
            q = q.filter(sea_orm::Condition::any().add(complaint::Column::ReceivedAt.lt(at)).add(
                sea_orm::Condition::all().add(complaint::Column::ReceivedAt.eq(at)).add(complaint::Column::Id.lt(id)),
            ));
        }
        let mut rows = q
            .order_by_desc(complaint::Column::ReceivedAt)
            .order_by_desc(complaint::Column::Id)
            .limit(u64::from(limit) + 1)
            .all(self.recorder.db())
            .await
            .map_err(db_error)?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_cursor = if more { rows.last().map(|c| format!("r{}.{}", c.received_at, c.id)) } else { None };
        let mut complaints = Vec::with_capacity(rows.len());
        for c in rows {
            complaints.push(self.view(c, Reveal::Masked).await?);
        }
        Ok(Page { complaints, next_cursor })
    }

    /// When upheld conduct complaints concerning each of `officer_ids` in the agencies were
    /// concluded (RULES T6: an upheld complaint against an officer feeds the annual review, C4).
    pub async fn upheld_concerning(
        &self,
        agency_ids: &[AgencyId],
        officer_ids: &[OfficerId],
    ) -> Result<HashMap<OfficerId, Vec<Timestamp>>> {
        let upheld: Vec<&str> = Outcome::ALL.iter().filter(|o| o.upheld()).map(|o| o.as_str()).collect();
        let rows = complaint::Entity::find()
            .filter(complaint::Column::AgencyId.is_in(agency_ids.iter().cloned()))
            .filter(complaint::Column::IsOpen.eq(false))
            .filter(complaint::Column::Outcome.is_in(upheld))
            .all(self.recorder.db())
            .await
            .map_err(db_error)?;
        // When each was concluded: its `concluded` step (a `decision_kept` may follow it).
        let concluded_at: HashMap<ComplaintId, i64> = complaint_step::Entity::find()
            .filter(complaint_step::Column::ComplaintId.is_in(rows.iter().map(|c| c.id.clone())))
            .filter(complaint_step::Column::Kind.eq(StepKind::Concluded.as_str()))
            .all(self.recorder.db())
            .await
            .map_err(db_error)?
            .into_iter()
            .map(|s| (s.complaint_id, s.recorded_at))
            .collect();
        let mut out: HashMap<OfficerId, Vec<Timestamp>> = HashMap::new();
        for c in rows {
            let concluded = Timestamp::from_micros(
                *concluded_at.get(&c.id).ok_or_else(|| data_loss("complaint_steps", "kind", &c.id))?,
            );
            for o in stored_officers(&c)? {
                if officer_ids.contains(&o) {
                    out.entry(o).or_default().push(concluded);
                }
            }
        }
        Ok(out)
    }

    /// Who saw the reporter of complaint `id`, oldest first.
    pub async fn accesses(&self, id: &ComplaintId) -> Result<Vec<complaint_reporter_access::Model>> {
        complaint_reporter_access::Entity::find()
            .filter(complaint_reporter_access::Column::ComplaintId.eq(id.clone()))
            .order_by_asc(complaint_reporter_access::Column::AccessedAt)
            .all(self.recorder.db())
            .await
            .map_err(db_error)
    }

    /// Open complaints of `agencies` with their steps.
    async fn open_of(&self, ids: &[AgencyId]) -> Result<Vec<(complaint::Model, Vec<complaint_step::Model>)>> {
        self.with_steps(ids, sea_orm::Condition::all().add(complaint::Column::IsOpen.eq(true))).await
    }

    /// Closed conduct complaints of `ids` concluded `revoke_or_change_recommended`, with their
    /// steps: the agency may still owe the answer (RULES T6).
    async fn awaiting_answer(&self, ids: &[AgencyId]) -> Result<Vec<(complaint::Model, Vec<complaint_step::Model>)>> {
        let answer_owed = sea_orm::Condition::all()
            .add(complaint::Column::IsOpen.eq(false))
            .add(complaint::Column::Outcome.eq(Outcome::RevokeOrChangeRecommended.as_str()));
        self.with_steps(ids, answer_owed).await
    }

    /// The complaints of `ids` that meet `condition`, oldest first, each with its steps.
    async fn with_steps(
        &self,
        ids: &[AgencyId],
        condition: sea_orm::Condition,
    ) -> Result<Vec<(complaint::Model, Vec<complaint_step::Model>)>> {
        let rows = complaint::Entity::find()
            .filter(complaint::Column::AgencyId.is_in(ids.iter().cloned()))
            .filter(condition)
            .order_by_asc(complaint::Column::ReceivedAt)
            .all(self.recorder.db())
            .await
            .map_err(db_error)?;
        let mut out = Vec::with_capacity(rows.len());
        for c in rows {
            let steps = self.steps(&c.id).await?;
            out.push((c, steps));
        }
        Ok(out)
    }

    /// Steps past their due date in `agencies`, for the supervisor's overdue list (RULES T3, T4,
    /// T6; `OverdueKind` 13–16). No personal data: the complaint's number, type and what is owed.
    pub async fn overdue(
        &self,
        agencies: &[agency::Model],
    ) -> Result<Vec<sanxiang_publicity::supervision::OverdueItem>> {
        use sanxiang_domain::complaints::Owed;
        use sanxiang_publicity::supervision::{OverdueItem, OverdueKind};
        let ids: Vec<AgencyId> = agencies.iter().map(|a| a.id.clone()).collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let calendar = self.registry().calendar().await?;
        let mut items = Vec::new();
        let mut owing = self.open_of(&ids).await?;
        owing.extend(self.awaiting_answer(&ids).await?);
        for (c, steps) in owing {
            let a = agencies.iter().find(|a| a.id == c.agency_id).ok_or_else(|| Error::Internal("agency".into()))?;
            let tz = stored_zone(&a.time_zone)?;
            let policy = self.policy(&c.agency_id).await?;
            let received = local_date(Timestamp::from_micros(c.received_at), tz);
            for o in self.owing_now(&c, &steps, tz, &calendar, &policy).await? {
                if !o.overdue {
                    continue;
                }
                let due = o.obligation.due.map(|d| d.date);
                items.push(OverdueItem {
                    kind: match o.obligation.owed {
                        Owed::Acceptance => OverdueKind::ComplaintAcceptance,
                        Owed::Handling => OverdueKind::ComplaintHandling,
                        Owed::Notification => OverdueKind::ComplaintNotification,
                        Owed::ReportFiling => OverdueKind::ReportFiling,
                        Owed::DecisionResponse => OverdueKind::ComplaintRecommendation,
                        Owed::Jurisdiction => OverdueKind::JurisdictionDispute,
                    },
                    agency_id: c.agency_id.clone(),
                    // The recommendation concerns the case's decision; the complaint's other
                    // items name only the complaint.
                    case_id: c.case_id.clone().filter(|_| o.obligation.owed == Owed::DecisionResponse),
                    subject_id: c.id.to_string(),
                    due_date: due.map(|d| d.to_string()).unwrap_or_default(),
                    detail: format!(
                        "{} {} received on {received}: {}; it was due on {}",
                        c.complaint_type,
                        c.id,
                        o.obligation.what,
                        due.map(|d| d.to_string()).unwrap_or_default()
                    ),
                    occurred_at: Timestamp::from_micros(c.received_at),
                });
            }
        }
        Ok(items)
    }
}

/// What complaint `c` with `steps` owes on `today`.
pub fn owing_of(
    c: &complaint::Model,
    steps: &[complaint_step::Model],
    tz: Tz,
    calendar: &WorkCalendar,
    policy: &ComplaintPolicy,
    today: NaiveDate,
) -> Result<Vec<Owing>> {
    let domain: Vec<Step> = steps.iter().map(|s| stored_step(s, tz)).collect::<Result<_>>()?;
    let progress = Progress::of(&domain, calendar);
    Ok(obligations(stored_type(c)?, c.real_name, &progress, policy, calendar)
        .into_iter()
        .map(|o| Owing { overdue: o.overdue(today), obligation: o })
        .collect())
}
