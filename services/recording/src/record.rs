//! Cases and events: the use cases of the record.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use sanxiang_domain::calendar::decision_late;
use sanxiang_domain::canonical::Value;
use sanxiang_domain::chain::EvidenceLink;
use sanxiang_domain::credit_code::CreditCode;
use sanxiang_domain::lifecycle::{CaseKind, CaseState, EventKind, is_audio_video};
use sanxiang_domain::limits::{self, MAX_ADDRESS, MAX_CODE, MAX_NAME};
use sanxiang_domain::officer::{ActingRefused, check_acting, stored_zone};
use sanxiang_domain::{Error, Result, Sha256Digest, TimeProvider, Timestamp};
use sanxiang_proto::v1 as pb;
use sanxiang_registry::auth::{Action, Principal, Scope, authorize};
use sanxiang_registry::convert::event_kind_from_pb;
use sanxiang_registry::grpc::{from_timestamp, timestamp};
use sanxiang_registry::registry::{Refusal, refusal_kind};
use sanxiang_registry::{OfficerInfo, Registry};
use sanxiang_store::entity::{agency, case, event, evidence};
use sanxiang_store::{Db, Vault, db_error};
use sea_orm::{ColumnTrait, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect};

use crate::writer::{NewEvent, Target, Writer};

/// Clock skew tolerated between a device and the server for "when it happened".
pub use sanxiang_domain::time::MAX_CLOCK_SKEW_SECONDS;

/// The record: cases, events and evidence.
#[derive(Debug, Clone)]
pub struct Recorder {
    pub(crate) db: Db,
    pub(crate) registry: Registry,
    pub(crate) writer: Writer,
    pub(crate) vault: Vault,
    pub(crate) clock: Arc<dyn TimeProvider>,
    written_once: Arc<WrittenOnce>,
}

/// Rows the append path reads on every request that are never changed once written: which
/// agency a case belongs to (with that agency's row and scope — agencies have no update path)
/// and what an evidence item is (id, case, digest, size, media type). Remembering them is
/// always correct, across replicas too, and leaves each append with two reads (the token and the
/// officers' certificates, which can change and are read every time). If agencies or evidence
/// rows ever become mutable, this must go.
#[derive(Debug, Default)]
struct WrittenOnce {
    case_agency: std::sync::Mutex<HashMap<String, Arc<(agency::Model, Scope)>>>,
    evidence: std::sync::Mutex<HashMap<String, Arc<evidence::Model>>>,
}

/// Entries each map of [`WrittenOnce`] holds before it starts afresh (bounds its memory).
const WRITTEN_ONCE_ENTRIES: usize = 65_536;

fn remember<V>(map: &std::sync::Mutex<HashMap<String, Arc<V>>>, key: &str, value: &Arc<V>) {
    let mut map = map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if map.len() >= WRITTEN_ONCE_ENTRIES {
        map.clear();
    }
    map.insert(key.to_owned(), Arc::clone(value));
}

fn recall<V>(map: &std::sync::Mutex<HashMap<String, Arc<V>>>, key: &str) -> Option<Arc<V>> {
    map.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(key).cloned()
}

pub(crate) fn case_kind_from_pb(value: i32) -> Option<CaseKind> {
    match pb::CaseKind::try_from(value).ok()? {
        pb::CaseKind::Penalty => Some(CaseKind::Penalty),
        pb::CaseKind::Licensing => Some(CaseKind::Licensing),
        pb::CaseKind::Compulsion => Some(CaseKind::Compulsion),
        pb::CaseKind::Inspection => Some(CaseKind::Inspection),
        pb::CaseKind::Other => Some(CaseKind::Other),
        pb::CaseKind::Unspecified => None,
    }
}

fn case_kind_to_pb(k: CaseKind) -> pb::CaseKind {
    match k {
        CaseKind::Penalty => pb::CaseKind::Penalty,
        CaseKind::Licensing => pb::CaseKind::Licensing,
        CaseKind::Compulsion => pb::CaseKind::Compulsion,
        CaseKind::Inspection => pb::CaseKind::Inspection,
        CaseKind::Other => pb::CaseKind::Other,
    }
}

fn party_type_name(t: pb::PartyType) -> &'static str {
    match t {
        pb::PartyType::NaturalPerson => "natural_person",
        pb::PartyType::LegalPerson => "legal_person",
        pb::PartyType::OtherOrganisation => "other_organisation",
        pb::PartyType::IndividualBusiness => "individual_business",
        pb::PartyType::Unspecified => "",
    }
}

/// The party as stored and as committed to by the case's first event.
pub fn party_to_value(p: &pb::Party) -> Value {
    let t = pb::PartyType::try_from(p.r#type).unwrap_or(pb::PartyType::Unspecified);
    Value::object()
        .with("type", party_type_name(t))
        .with("name", p.name.as_str())
        .with("credit_code", p.credit_code.as_str())
        .with("id_type", p.id_type.as_str())
        .with("id_number", p.id_number.as_str())
        .with("legal_representative", p.legal_representative.as_str())
        .with("address", p.address.as_str())
        .with("phone", p.phone.as_str())
        .with("is_minor", p.is_minor)
}

/// The stored party of case `case_id`; a column that cannot be read (not JSON, not an object, a
/// field of the wrong type, an unknown party type) is DATA_LOSS naming the column and row, never
/// a default party (the content is private and not echoed).
fn party_from_json(text: &str, case_id: &str) -> Result<pb::Party> {
    let unreadable = || Error::DataLoss(format!("cases.party of case {case_id} cannot be read"));
    let v = Value::parse(text).map_err(|_| unreadable())?;
    if !matches!(v, Value::Object(_)) {
        return Err(unreadable());
    }
    // An absent field is empty (older rows omit none, but the schema allows it); a present
    // field of the wrong type is corruption.
    let s = |k: &str| match v.get(k) {
        None => Ok(String::new()),
        Some(x) => x.as_str().map(str::to_owned).ok_or_else(unreadable),
    };
    let t = match s("type")?.as_str() {
        "natural_person" => pb::PartyType::NaturalPerson,
        "legal_person" => pb::PartyType::LegalPerson,
        "other_organisation" => pb::PartyType::OtherOrganisation,
        "individual_business" => pb::PartyType::IndividualBusiness,
        _ => return Err(unreadable()),
    };
    let is_minor = match v.get("is_minor") {
        None => false,
        Some(x) => x.as_bool().ok_or_else(unreadable)?,
    };
    Ok(pb::Party {
        r#type: t as i32,
        name: s("name")?,
        credit_code: s("credit_code")?,
        id_type: s("id_type")?,
        id_number: s("id_number")?,
        legal_representative: s("legal_representative")?,
        address: s("address")?,
        phone: s("phone")?,
        is_minor,
    })
}

/// Parses a stored officers column; `None` if it is not an array of strings.
pub fn officers_from_json(text: &str) -> Option<Vec<String>> {
    match Value::parse(text).ok()? {
        Value::Array(items) => items.iter().map(|v| v.as_str().map(str::to_owned)).collect(),
        _ => None,
    }
}

/// A stored officers column, or DATA_LOSS naming `what` (table, column and row) if it cannot be
/// read: an unreadable list must never read as "no officers".
pub fn stored_officers(text: &str, what: impl FnOnce() -> String) -> Result<Vec<String>> {
    officers_from_json(text).ok_or_else(|| Error::DataLoss(format!("{} cannot be read", what())))
}

/// Parses the stored evidence column; `None` if it is malformed.
pub fn evidence_from_json(text: &str) -> Option<Vec<EvidenceLink>> {
    match Value::parse(text).ok()? {
        Value::Array(items) => items.iter().map(EvidenceLink::from_value).collect(),
        _ => None,
    }
}

fn service_method_name(m: pb::ServiceMethod) -> &'static str {
    match m {
        pb::ServiceMethod::Direct => "direct",
        pb::ServiceMethod::Leaving => "leaving",
        pb::ServiceMethod::Mail => "mail",
        pb::ServiceMethod::Electronic => "electronic",
        pb::ServiceMethod::PublicNotice => "public_notice",
        pb::ServiceMethod::Entrusted => "entrusted",
        pb::ServiceMethod::Unspecified => "",
    }
}

/// An event row as an API message; a column that cannot be read is DATA_LOSS naming the column
/// and the event, never an empty list or an unspecified kind.
pub fn event_to_pb(e: event::Model) -> Result<pb::Event> {
    let row = |column: &str| format!("events.{column} of event {} (case {})", e.case_seq, e.case_id);
    let kind = EventKind::parse(&e.kind)
        .map(sanxiang_registry::convert::event_kind_to_pb)
        .ok_or_else(|| Error::DataLoss(format!("{} cannot be read", row("kind"))))?;
    let officer_ids = stored_officers(&e.officers, || row("officers"))?;
    let evidence = evidence_from_json(&e.evidence)
        .ok_or_else(|| Error::DataLoss(format!("{} cannot be read", row("evidence"))))?
        .into_iter()
        .map(|l| pb::EvidenceRef {
            evidence_id: l.evidence_id,
            sha256: l.sha256.to_hex(),
            size: l.size,
            media_type: l.media_type,
        })
        .collect();
    Ok(pb::Event {
        officer_ids,
        evidence,
        case_id: e.case_id,
        case_seq: e.case_seq as u64,
        global_seq: e.global_seq as u64,
        kind: kind as i32,
        occurred_at: Some(timestamp(Timestamp::from_micros(e.occurred_at))),
        recorded_at: Some(timestamp(Timestamp::from_micros(e.recorded_at))),
        actor_id: e.actor,
        request_id: e.request_id,
        payload_json: e.payload,
        prev_hash: e.prev_hash,
        hash: e.hash,
    })
}

/// The field limits of an opening (docs/API.md), before anything is looked up.
fn check_open_limits(r: &pb::OpenCaseRequest) -> Result<()> {
    limits::id("agency_id", &r.agency_id)?;
    limits::chars("title", &r.title, MAX_NAME)?;
    limits::ids("handling_officer_ids", &r.handling_officer_ids)?;
    if let Some(p) = &r.party {
        limits::chars("party.name", &p.name, MAX_NAME)?;
        limits::chars("party.credit_code", &p.credit_code, MAX_CODE)?;
        limits::chars("party.id_type", &p.id_type, MAX_CODE)?;
        limits::chars("party.id_number", &p.id_number, MAX_CODE)?;
        limits::chars("party.legal_representative", &p.legal_representative, MAX_NAME)?;
        limits::chars("party.address", &p.address, MAX_ADDRESS)?;
        limits::chars("party.phone", &p.phone, MAX_CODE)?;
    }
    Ok(())
}

/// The field limits of an act (docs/API.md), before anything is looked up.
fn check_append_limits(r: &pb::AppendEventRequest) -> Result<()> {
    limits::bytes("text", &r.text, limits::MAX_TEXT)?;
    limits::chars("location", &r.location, MAX_ADDRESS)?;
    limits::chars("summary_procedure_basis", &r.summary_procedure_basis, MAX_ADDRESS)?;
    limits::bytes("missing_recording_reason", &r.missing_recording_reason, limits::MAX_TEXT)?;
    limits::ids("officer_ids", &r.officer_ids)?;
    limits::ids("evidence_ids", &r.evidence_ids)?;
    if r.details.len() > limits::MAX_DETAILS {
        return Err(Error::invalid("details", format!("at most {} entries", limits::MAX_DETAILS)));
    }
    for (k, v) in &r.details {
        limits::chars("details (a key)", k, limits::MAX_DETAIL_KEY)?;
        limits::chars(&format!("details[{}]", sanxiang_domain::error::clip(k)), v, limits::MAX_DETAIL_VALUE)?;
    }
    Ok(())
}

fn required(field: &str, value: &str) -> Result<String> {
    let v = value.trim();
    if v.is_empty() { Err(Error::invalid(field, "must not be empty")) } else { Ok(v.to_owned()) }
}

impl Recorder {
    /// The record over a database and a vault; starts the writer task.
    pub fn new(db: Db, registry: Registry, vault: Vault, clock: Arc<dyn TimeProvider>) -> Self {
        let writer = Writer::start(db.clone(), Arc::clone(&clock));
        Self { db, registry, writer, vault, clock, written_once: Arc::default() }
    }

    /// The registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The single append path, for services that record acts of their own (legal review).
    pub fn writer(&self) -> &Writer {
        &self.writer
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn TimeProvider> {
        &self.clock
    }

    /// A case by id.
    pub async fn case(&self, id: &str) -> Result<case::Model> {
        limits::id("case_id", id)?;
        case::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await
            .map_err(db_error)?
            .ok_or_else(|| Error::not_found("case", id))
    }

    /// Loads a case and checks that `who` may perform `action` on it.
    pub async fn authorized_case(&self, who: &Principal, action: Action, case_id: &str) -> Result<case::Model> {
        let case = self.case(case_id).await?;
        let scope: Scope = self.registry.scope(&case.agency_id).await?;
        authorize(who, action, Some(&scope))?;
        Ok(case)
    }

    /// Checks that `who` may perform `action` on a case, knowing only what never changes about
    /// it: its agency (returned). Reads the case and its agency once per case; the append path
    /// uses this, as it needs nothing of the case that changes.
    pub async fn authorized_case_agency(
        &self,
        who: &Principal,
        action: Action,
        case_id: &str,
    ) -> Result<Arc<(agency::Model, Scope)>> {
        limits::id("case_id", case_id)?;
        let known = match recall(&self.written_once.case_agency, case_id) {
            Some(known) => known,
            None => {
                let agency_of_case =
                    case::Entity::belongs_to(agency::Entity).from(case::Column::AgencyId).to(agency::Column::Id).into();
                let (case, agency) = case::Entity::find_by_id(case_id.to_owned())
                    .select_also(agency::Entity)
                    .join(JoinType::LeftJoin, agency_of_case)
                    .one(&self.db)
                    .await
                    .map_err(db_error)?
                    .ok_or_else(|| Error::not_found("case", case_id))?;
                let agency = agency.ok_or_else(|| Error::not_found("agency", &case.agency_id))?;
                let scope: Scope = self.registry.scope_of(&agency).await?;
                let known = Arc::new((agency, scope));
                remember(&self.written_once.case_agency, case_id, &known);
                known
            }
        };
        authorize(who, action, Some(&known.1))?;
        Ok(known)
    }

    /// A case row of `agency` as an API message; whether its decision is overdue is judged by
    /// the one definition of the 90-day limit, in the agency's zone (RULES R10, D5).
    pub fn case_to_pb(&self, c: case::Model, agency: &agency::Model) -> Result<pb::Case> {
        let state = CaseState::from_bits(c.state_bits);
        let now = self.clock.now();
        let tz = stored_zone(&agency.time_zone)?;
        let decision_overdue =
            !state.decided() && c.filed_at.is_some_and(|f| decision_late(Timestamp::from_micros(f), now, tz));
        let kind = CaseKind::parse(&c.kind)
            .map(case_kind_to_pb)
            .ok_or_else(|| Error::DataLoss(format!("cases.kind of case {} cannot be read", c.id)))?;
        let party = party_from_json(&c.party, &c.id)?;
        let handling_officer_ids =
            stored_officers(&c.handling_officers, || format!("cases.handling_officers of case {}", c.id))?;
        Ok(pb::Case {
            kind: kind as i32,
            party: Some(party),
            handling_officer_ids,
            opened_at: Some(timestamp(Timestamp::from_micros(c.opened_at))),
            status: if state.closed() { pb::CaseStatus::Closed } else { pb::CaseStatus::Open } as i32,
            event_count: c.event_count as u64,
            head_hash: c.head_hash,
            filed_at: c.filed_at.map(|f| timestamp(Timestamp::from_micros(f))),
            decision_overdue,
            id: c.id,
            agency_id: c.agency_id,
            title: c.title,
        })
    }

    fn check_not_future(&self, field: &str, at: Timestamp) -> Result<()> {
        sanxiang_domain::time::check_act_time(field, at, self.clock.now())
    }

    /// Opens a case; its first event (`case_opened`) commits to every field of the case.
    /// Idempotent on (agency, request id). The caller must be authorised for the agency.
    pub async fn open_case(&self, who: &Principal, r: pb::OpenCaseRequest) -> Result<case::Model> {
        let request_id = sanxiang_domain::error::request_id(&r.request_id)?;
        let request_digest = sanxiang_registry::grpc::request_digest(&r);
        check_open_limits(&r)?;
        let kind = case_kind_from_pb(r.kind).ok_or_else(|| Error::invalid("kind", "must name a case kind"))?;
        let title = required("title", &r.title)?;
        let party = r.party.ok_or_else(|| Error::invalid("party", "is required"))?;
        let party_type = pb::PartyType::try_from(party.r#type).unwrap_or(pb::PartyType::Unspecified);
        if party_type == pb::PartyType::Unspecified {
            return Err(Error::invalid("party.type", "must name a party type"));
        }
        required("party.name", &party.name)?;
        if !party.credit_code.is_empty() {
            party.credit_code.parse::<CreditCode>().map_err(|e| Error::invalid("party.credit_code", e.to_string()))?;
        } else if party_type == pb::PartyType::LegalPerson {
            return Err(Error::invalid("party.credit_code", "a legal person is identified by its credit code"));
        }
        if r.handling_officer_ids.is_empty() {
            return Err(Error::invalid("handling_officer_ids", "name at least one handling officer"));
        }
        let certs = self.registry.certificates(&r.handling_officer_ids).await?;
        let mut seen = HashSet::new();
        for (i, id) in r.handling_officer_ids.iter().enumerate() {
            if !seen.insert(id) {
                return Err(Error::invalid(format!("handling_officer_ids[{i}]"), "listed twice"));
            }
            match certs.get(id) {
                Some(o) if o.agency_id == r.agency_id => {}
                _ => {
                    return Err(Error::invalid(format!("handling_officer_ids[{i}]"), "no such officer in this agency"));
                }
            }
        }
        let opened_at = from_timestamp("opened_at", r.opened_at.as_ref())?.unwrap_or_else(|| self.clock.now());
        self.check_not_future("opened_at", opened_at)?;
        let party_value = party_to_value(&party);
        let case_id = sanxiang_domain::id::new_id(self.clock.as_ref());
        let model = case::Model {
            id: case_id.clone(),
            agency_id: r.agency_id.clone(),
            kind: kind.as_str().into(),
            title: title.clone(),
            party: party_value.to_canonical_string().map_err(|e| Error::invalid("party", e.to_string()))?,
            handling_officers: crate::writer::officers_json(&r.handling_officer_ids)?,
            opened_at: opened_at.micros(),
            state_bits: 0,
            event_count: 0,
            head_hash: Sha256Digest::ZERO.to_hex(),
            filed_at: None,
            decided_at: None,
            request_id: request_id.clone(),
            created_by: who.id.clone(),
        };
        let payload = Value::object()
            .with("agency_id", r.agency_id.as_str())
            .with("kind", kind.as_str())
            .with("title", title)
            .with("party", party_value)
            .with("handling_officer_ids", r.handling_officer_ids.clone());
        let row = self
            .writer
            .append(NewEvent {
                target: Target::Open(Box::new(model)),
                kind: EventKind::CaseOpened,
                occurred_at: opened_at,
                actor: who.id.clone(),
                request_id,
                request_digest: Some(request_digest),
                officers: r.handling_officer_ids.clone(),
                evidence: Vec::new(),
                payload,
                new_evidence: None,
                attached: None,
                document_number: None,
            })
            .await?;
        self.case(&row.case_id).await
    }

    /// Appends a typed event after checking the acting officers (G3), the referenced evidence,
    /// and the recording rule (R3); the lifecycle order (R2) is checked by the writer against
    /// the committed state. The caller must be authorised for the case.
    pub async fn append_event(
        &self,
        who: &Principal,
        case: &case::Model,
        r: pb::AppendEventRequest,
    ) -> Result<event::Model> {
        let agency = self.registry.agency(&case.agency_id).await?;
        self.append_event_in(who, &case.id, &agency, r).await
    }

    /// [`Self::append_event`] to case `case_id` of `agency` (as returned by
    /// [`Self::authorized_case_agency`]).
    pub async fn append_event_in(
        &self,
        who: &Principal,
        case_id: &str,
        agency: &agency::Model,
        r: pb::AppendEventRequest,
    ) -> Result<event::Model> {
        let request_id = sanxiang_domain::error::request_id(&r.request_id)?;
        let kind = event_kind_from_pb(r.kind).ok_or_else(|| Error::invalid("kind", "must name an event kind"))?;
        if kind.is_system() {
            return Err(Error::invalid("kind", format!("{} is recorded by the server itself", kind.as_str())));
        }
        if kind.is_gated() {
            // The gate of RULES L1 holds whatever a client does: a decision is made only through
            // ReviewService.IssueDecision, which checks the review and numbers the document.
            return Err(Error::invalid(
                "kind",
                format!("a {} is issued through ReviewService.IssueDecision (RULES L1)", kind.as_str()),
            ));
        }
        let occurred_at = from_timestamp("occurred_at", r.occurred_at.as_ref())?
            .ok_or_else(|| Error::invalid("occurred_at", "is required"))?;
        self.check_not_future("occurred_at", occurred_at)?;
        check_append_limits(&r)?;
        if kind == EventKind::RecordingInterrupted && r.text.trim().is_empty() {
            return Err(Error::invalid("text", "state why the recording was interrupted (RULES R4)"));
        }
        let service_method = pb::ServiceMethod::try_from(r.service_method).unwrap_or(pb::ServiceMethod::Unspecified);
        if kind == EventKind::Service && service_method == pb::ServiceMethod::Unspecified {
            return Err(Error::invalid("service_method", "service names how the document was served"));
        }
        if r.summary_procedure && r.summary_procedure_basis.trim().is_empty() {
            return Err(Error::invalid("summary_procedure_basis", "name the law that allows the summary procedure"));
        }
        let tz = stored_zone(&agency.time_zone)?;

        // The acting officers (G3).
        let certs = self.registry.certificates(&r.officer_ids).await?;
        let needed = match (kind.needs_two_officers(), r.summary_procedure) {
            (false, _) => 0,
            (true, true) => 1,
            (true, false) => 2,
        };
        if let Err(refused) = check_acting(
            &r.officer_ids,
            |id| certs.get(id).map(OfficerInfo::named),
            &agency.id,
            occurred_at,
            tz,
            needed,
            kind.as_str(),
        ) {
            if let ActingRefused::Certificate { index, name, why } = &refused {
                let id = &r.officer_ids[*index];
                tracing::warn!(officer = %id, case = %case_id, %why, "act named an officer who may not act");
                // The act is refused and not stored; the attempt is counted (RULES S1).
                self.registry
                    .record_refusal(Refusal {
                        kind: refusal_kind::INVALID_CERTIFICATE,
                        agency_id: &agency.id,
                        subject_id: id,
                        case_id: Some(case_id),
                        actor_id: &who.id,
                        detail: format!("{} naming officer {name}: {why}", kind.as_str()),
                    })
                    .await;
            }
            return Err(refused.error(&r.officer_ids));
        }

        // The referenced evidence: items of this case, with the digests the event commits to
        // (one query for all of them).
        let mut found: HashMap<String, Arc<evidence::Model>> = HashMap::new();
        let mut missing = Vec::new();
        for id in &r.evidence_ids {
            match recall(&self.written_once.evidence, id) {
                Some(e) => {
                    found.insert(id.clone(), e);
                }
                None => missing.push(id.clone()),
            }
        }
        if !missing.is_empty() {
            for e in evidence::Entity::find()
                .filter(evidence::Column::Id.is_in(missing))
                .all(&self.db)
                .await
                .map_err(db_error)?
            {
                let e = Arc::new(e);
                remember(&self.written_once.evidence, &e.id, &e);
                found.insert(e.id.clone(), e);
            }
        }
        let mut links = Vec::with_capacity(r.evidence_ids.len());
        let mut seen = HashSet::new();
        for (i, id) in r.evidence_ids.iter().enumerate() {
            if !seen.insert(id) {
                return Err(Error::invalid(format!("evidence_ids[{i}]"), "listed twice"));
            }
            let e = found
                .remove(id)
                .filter(|e| e.case_id == case_id)
                .ok_or_else(|| Error::invalid(format!("evidence_ids[{i}]"), "no such evidence in this case"))?;
            links.push(EvidenceLink {
                evidence_id: e.id.clone(),
                sha256: e
                    .sha256
                    .parse()
                    .map_err(|_| Error::DataLoss(format!("evidence {id} has a malformed digest")))?,
                size: e.size as u64,
                media_type: e.media_type.clone(),
            });
        }

        // Mandatory audio-video (R3).
        let policy = sanxiang_registry::registry::recording_policy(agency)?;
        let recording_required = kind.always_needs_recording()
            || r.in_case_handling_premises
            || policy.additional_required_kinds.iter().any(|k| k == kind.as_str());
        let has_recording = links.iter().any(|l| is_audio_video(&l.media_type));
        let missing_reason = r.missing_recording_reason.trim();
        if recording_required && !has_recording && missing_reason.is_empty() {
            return Err(Error::precondition(
                "R3.recording-required",
                format!(
                    "{} must reference an audio or video recording, or record why there is none (missing_recording_reason)",
                    kind.as_str()
                ),
            ));
        }

        let mut payload = Value::object();
        let mut put = |key: &str, value: Value| payload = std::mem::replace(&mut payload, Value::Null).with(key, value);
        if !r.text.is_empty() {
            put("text", r.text.clone().into());
        }
        if !r.location.is_empty() {
            put("location", r.location.clone().into());
        }
        if r.summary_procedure {
            put("summary_procedure", true.into());
            put("summary_procedure_basis", r.summary_procedure_basis.trim().into());
        }
        if r.in_case_handling_premises {
            put("in_case_handling_premises", true.into());
        }
        if recording_required {
            put("recording_required", true.into());
            if !has_recording {
                put("missing_recording_reason", missing_reason.into());
            }
        }
        if service_method != pb::ServiceMethod::Unspecified {
            put("service_method", service_method_name(service_method).into());
        }
        if !r.details.is_empty() {
            let details = r.details.iter().fold(Value::object(), |acc, (k, v)| acc.with(k, v.as_str()));
            put("details", details);
        }
        self.writer
            .append(NewEvent {
                target: Target::Case(case_id.to_owned()),
                kind,
                occurred_at,
                actor: who.id.clone(),
                request_id,
                // The content is compared instead: `details` is a map, whose encoding has no
                // fixed order.
                request_digest: None,
                officers: r.officer_ids,
                evidence: links,
                payload,
                new_evidence: None,
                attached: None,
                document_number: None,
            })
            .await
    }

    /// Cases of an agency in id order (ids are time-ordered), after `after_id`.
    pub async fn list_cases(&self, agency_id: &str, after_id: &str, limit: u32) -> Result<Vec<case::Model>> {
        limits::id("agency_id", agency_id)?;
        limits::optional_id("after_id", after_id)?;
        let limit = if limit == 0 { 100 } else { limit.min(1000) };
        let mut q = case::Entity::find().filter(case::Column::AgencyId.eq(agency_id));
        if !after_id.is_empty() {
            q = q.filter(case::Column::Id.gt(after_id));
        }
        q.order_by_asc(case::Column::Id).limit(u64::from(limit)).all(&self.db).await.map_err(db_error)
    }

    /// Events of a case in chain order, after `after_seq`.
    pub async fn list_events(&self, case_id: &str, after_seq: u64, limit: u32) -> Result<Vec<event::Model>> {
        let limit = if limit == 0 { 1000 } else { limit.min(10_000) };
        event::Entity::find()
            .filter(event::Column::CaseId.eq(case_id))
            .filter(event::Column::CaseSeq.gt(after_seq as i64))
            .order_by_asc(event::Column::CaseSeq)
            .limit(u64::from(limit))
            .all(&self.db)
            .await
            .map_err(db_error)
    }
}
