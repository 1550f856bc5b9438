//! Cases and events: the use cases of the record.

use sanxiang_domain::id::{AgencyId, CaseId, EvidenceId, OfficerId};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use sanxiang_domain::calendar::decision_late;
use sanxiang_domain::canonical::Value;
use sanxiang_domain::chain::EvidenceLink;
use sanxiang_domain::credit_code::CreditCode;
use sanxiang_domain::lifecycle::{CaseKind, CaseState, EventKind, FootageMark, is_audio_video};
use sanxiang_domain::limits::{self, MAX_ADDRESS, MAX_CODE, MAX_NAME};
use sanxiang_domain::officer::{Act, ActingRefused, check_acting, stored_zone};
use sanxiang_domain::party::{Party, PartyKind};
use sanxiang_domain::statistics::InspectionKind;
use sanxiang_domain::{Error, Result, Sha256Digest, TimeProvider, Timestamp};
use sanxiang_registry::auth::{Principal, Role, Scope};
use sanxiang_registry::registry::{Refusal, refusal_kind};
use sanxiang_registry::{OfficerInfo, Registry};
use sanxiang_store::entity::{agency, case, event, evidence};
use sanxiang_store::{Db, Vault, db_error};
use sea_orm::{ColumnTrait, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect};

use crate::command::{AppendEvent, OpenCase};
use crate::upload::StagingTtl;
use crate::writer::{NewEvent, Target, Writer};

/// A case as its readers see it: the row with its stored columns read into typed values.
#[derive(Debug, Clone)]
pub struct CaseView {
    pub row: case::Model,
    pub kind: CaseKind,
    pub party: Party,
    pub handling_officer_ids: Vec<OfficerId>,
    pub closed: bool,
    /// Filed, not decided, and past the 90-day limit (RULES R10) at the time of reading.
    pub decision_overdue: bool,
    /// The procedures holding the case (RULES K4).
    pub legal_holds: Vec<sanxiang_domain::lifecycle::Procedure>,
    /// Procedures whose final result is recorded and whose release awaits approval (RULES K4).
    pub releases_pending: Vec<sanxiang_domain::lifecycle::Procedure>,
}

/// Clock skew tolerated between a device and the server for "when it happened".
pub use sanxiang_domain::time::MAX_CLOCK_SKEW_SECONDS;

/// The record: cases, events and evidence.
#[derive(Debug, Clone)]
pub struct Recorder {
    pub(crate) db: Db,
    /// Direct reads of the SQLite file for long scans (verification), when the database is one.
    pub(crate) direct: Option<Arc<sanxiang_store::DirectReader>>,
    pub(crate) registry: Registry,
    pub(crate) writer: Writer,
    pub(crate) vault: Vault,
    pub(crate) clock: Arc<dyn TimeProvider>,
    pub(crate) staging_ttl: StagingTtl,
    written_once: Arc<WrittenOnce>,
    /// The verifiable log, when the server runs one: verification and exports check the
    /// events against its signed checkpoints.
    pub(crate) log: Option<sanxiang_log::Log>,
    /// How long case files and recordings are kept (RULES K2, K3).
    pub(crate) retention: sanxiang_domain::retention::RetentionPolicy,
    /// Change notices (PostgreSQL): what [`Recorder::committed`] answers from memory.
    pub(crate) changes: sanxiang_store::changes::Changes,
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

/// Parses a stored officers column; `None` if it is not an array of strings.
pub fn officers_from_json(text: &str) -> Option<Vec<OfficerId>> {
    match Value::parse(text).ok()? {
        Value::Array(items) => items.iter().map(|v| v.as_str().map(OfficerId::from)).collect(),
        _ => None,
    }
}

/// A stored officers column, or DATA_LOSS naming `what` (table, column and row) if it cannot be
/// read: an unreadable list must never read as "no officers".
pub fn stored_officers(text: &str, what: impl FnOnce() -> String) -> Result<Vec<OfficerId>> {
    officers_from_json(text).ok_or_else(|| Error::DataLoss(format!("{} cannot be read", what())))
}

/// Parses the stored evidence column; `None` if it is malformed.
pub fn evidence_from_json(text: &str) -> Option<Vec<EvidenceLink>> {
    match Value::parse(text).ok()? {
        Value::Array(items) => items.iter().map(EvidenceLink::from_value).collect(),
        _ => None,
    }
}

/// The field limits of an opening (docs/API.md), before anything is looked up.
fn check_open_limits(r: &OpenCase) -> Result<()> {
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
fn check_append_limits(r: &AppendEvent) -> Result<()> {
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
        let changes = sanxiang_store::changes::Changes::of(&db);
        let writer = Writer::start(db.clone(), Arc::clone(&clock), changes.clone());
        Self {
            changes,
            direct: sanxiang_store::DirectReader::of(&db),
            db,
            registry,
            writer,
            vault,
            clock,
            staging_ttl: StagingTtl::DEFAULT,
            written_once: Arc::default(),
            log: None,
            retention: sanxiang_domain::retention::RetentionPolicy::default(),
        }
    }

    /// The same recorder keeping case files and recordings as `policy` says.
    #[must_use]
    pub fn with_retention(mut self, policy: sanxiang_domain::retention::RetentionPolicy) -> Self {
        self.retention = policy;
        self
    }

    /// The same recorder with staging expiry `ttl` for abandoned uploads.
    #[must_use]
    pub fn with_staging_ttl(mut self, ttl: StagingTtl) -> Self {
        self.staging_ttl = ttl;
        self
    }

    /// This replica's change notices (PostgreSQL; never relied upon on SQLite).
    pub fn changes(&self) -> &sanxiang_store::changes::Changes {
        &self.changes
    }

    /// How long an abandoned upload's staging is kept.
    pub fn staging_ttl(&self) -> StagingTtl {
        self.staging_ttl
    }

    /// Checks verification and exports against the verifiable log.
    #[must_use]
    pub fn with_log(mut self, log: sanxiang_log::Log) -> Self {
        self.log = Some(log);
        self
    }

    /// The verifiable log, when the server runs one.
    pub fn log(&self) -> Option<&sanxiang_log::Log> {
        self.log.as_ref()
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
    pub async fn case(&self, id: &CaseId) -> Result<case::Model> {
        limits::id("case_id", id)?;
        case::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await
            .map_err(db_error)?
            .ok_or_else(|| Error::not_found("case", id))
    }

    /// What never changes about a case: its agency and the agency's scope (what authorising
    /// an act on the case needs). Reads the case and its agency once per case; the append path
    /// uses this, as it needs nothing of the case that changes.
    pub async fn case_agency(&self, case_id: &CaseId) -> Result<Arc<(agency::Model, Scope)>> {
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
        Ok(known)
    }

    /// A case row of `agency` read into what it shows; whether its decision is overdue is judged
    /// by the one definition of the 90-day limit, in the agency's zone (RULES R10, D5). A column
    /// that cannot be read is DATA_LOSS naming it.
    pub fn case_view(&self, c: case::Model, agency: &agency::Model) -> Result<CaseView> {
        let state = CaseState::from_bits(c.state_bits);
        let now = self.clock.now();
        let tz = stored_zone(&agency.time_zone)?;
        let decision_overdue =
            !state.decided() && c.filed_at.is_some_and(|f| decision_late(Timestamp::from_micros(f), now, tz));
        let kind = CaseKind::parse(&c.kind)
            .ok_or_else(|| Error::DataLoss(format!("cases.kind of case {} cannot be read", c.id)))?;
        let party = Party::from_stored(&c.party, &c.id)?;
        let handling_officer_ids =
            stored_officers(&c.handling_officers, || format!("cases.handling_officers of case {}", c.id))?;
        Ok(CaseView {
            kind,
            party,
            handling_officer_ids,
            closed: state.closed(),
            decision_overdue,
            legal_holds: state.holds(),
            releases_pending: state.releases_pending(),
            row: c,
        })
    }

    fn check_not_future(&self, field: &str, at: Timestamp) -> Result<()> {
        sanxiang_domain::time::check_act_time(field, at, self.clock.now())
    }

    /// Opens a case; its first event (`case_opened`) commits to every field of the case.
    /// Idempotent on (agency, request id). The caller must be authorised for the agency.
    pub async fn open_case(&self, who: &Principal, r: OpenCase) -> Result<case::Model> {
        let request_id = sanxiang_domain::error::request_id(&r.request_id)?;
        check_open_limits(&r)?;
        let kind = r.kind.ok_or_else(|| Error::invalid("kind", "must name a case kind"))?;
        let title = required("title", &r.title)?;
        let given = r.party.clone().ok_or_else(|| Error::invalid("party", "is required"))?;
        let party_kind = given.kind.ok_or_else(|| Error::invalid("party.type", "must name a party type"))?;
        required("party.name", &given.name)?;
        if !given.credit_code.is_empty() {
            given.credit_code.parse::<CreditCode>().map_err(|e| Error::invalid("party.credit_code", e.to_string()))?;
        } else if party_kind == PartyKind::LegalPerson {
            return Err(Error::invalid("party.credit_code", "a legal person is identified by its credit code"));
        }
        let party = Party {
            kind: party_kind,
            name: given.name,
            credit_code: given.credit_code,
            id_type: given.id_type,
            id_number: given.id_number,
            legal_representative: given.legal_representative,
            address: given.address,
            phone: given.phone,
            is_minor: given.is_minor,
        };
        if r.handling_officer_ids.is_empty() {
            return Err(Error::invalid("handling_officer_ids", "name at least one handling officer"));
        }
        let certs = self.registry.certificates_for(who, &r.handling_officer_ids).await?;
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
        let opened_at = r.opened_at.unwrap_or_else(|| self.clock.now());
        self.check_not_future("opened_at", opened_at)?;
        let party_value = party.to_value();
        let case_id = CaseId::new(self.clock.as_ref());
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
                request_digest: Some(r.request_digest.clone()),
                officers: r.handling_officer_ids.clone(),
                evidence: Vec::new(),
                payload,
                new_evidence: None,
                attachments: Vec::new(),
                document_number: None,
                directory_version: None,
            })
            .await?;
        self.case(&row.case_id).await
    }

    /// Appends a typed event after checking the acting officers (G3), the referenced evidence,
    /// and the recording rule (R3); the lifecycle order (R2) is checked by the writer against
    /// the committed state. The caller must be authorised for the case.
    pub async fn append_event(&self, who: &Principal, case: &case::Model, r: AppendEvent) -> Result<event::Model> {
        let agency = self.registry.agency(&case.agency_id).await?;
        self.append_event_in(who, &case.id, &agency, r).await
    }

    /// [`Self::append_event`] to case `case_id` of `agency` (as returned by
    /// [`Self::case_agency`]). The caller must be authorised for the case.
    pub async fn append_event_in(
        &self,
        who: &Principal,
        case_id: &CaseId,
        agency: &agency::Model,
        r: AppendEvent,
    ) -> Result<event::Model> {
        let request_id = sanxiang_domain::error::request_id(&r.request_id)?;
        let kind = r.kind.ok_or_else(|| Error::invalid("kind", "must name an event kind"))?;
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
        let occurred_at = r.occurred_at.ok_or_else(|| Error::invalid("occurred_at", "is required"))?;
        self.check_not_future("occurred_at", occurred_at)?;
        check_append_limits(&r)?;
        if kind == EventKind::RecordingInterrupted && r.text.trim().is_empty() {
            return Err(Error::invalid("text", "state why the recording was interrupted (RULES R4)"));
        }
        let service_method = r.service_method;
        if kind == EventKind::Service && service_method.is_none() {
            return Err(Error::invalid("service_method", "service names how the document was served"));
        }
        if r.summary_procedure && r.summary_procedure_basis.trim().is_empty() {
            return Err(Error::invalid("summary_procedure_basis", "name the law that allows the summary procedure"));
        }
        if kind == EventKind::Inspection {
            // The kind of inspection the statistics count (RULES N4 [default]).
            InspectionKind::check_detail(r.details.get(InspectionKind::DETAIL).map(String::as_str))?;
        }
        if kind == EventKind::EvidenceMarked {
            let mark = r.details.get(FootageMark::DETAIL).map(String::as_str).unwrap_or_default();
            if FootageMark::parse(mark).is_none() {
                return Err(Error::invalid(
                    format!("details.{}", FootageMark::DETAIL),
                    "obstruction or major_incident: why the footage is kept permanently (RULES K3)",
                ));
            }
            if r.evidence_ids.is_empty() {
                return Err(Error::invalid("evidence_ids", "name the footage marked"));
            }
        }
        if matches!(kind, EventKind::ReconsiderationConcluded | EventKind::LawsuitConcluded) && r.text.trim().is_empty()
        {
            // The end of a procedure is its final result, which the release of the hold rests on
            // (RULES K4).
            return Err(Error::invalid("text", "state the final result (复议决定, 判决, 撤回, 终止)"));
        }
        if kind == EventKind::LegalHoldReleased {
            self.check_release_approval(who, case_id).await?;
        }
        let tz = stored_zone(&agency.time_zone)?;

        // The acting officers (G3).
        let mut certs = self.registry.certificates_for(who, &r.officer_ids).await?;
        let needed = match (kind.needs_two_officers(), r.summary_procedure) {
            (false, _) => 0,
            (true, true) => 1,
            (true, false) => 2,
        };
        // The power the act uses, from the agency's power list; naming none, one of the list's
        // (C8).
        let power = sanxiang_registry::registry::power_named(agency, &r.power)?;
        let listed = if power.is_none() && !r.officer_ids.is_empty() {
            sanxiang_registry::registry::power_fields(agency)?
        } else {
            Vec::new()
        };
        let fields: Vec<&str> = listed.iter().map(String::as_str).collect();
        let division = r.division_code.trim();
        if !division.is_empty() {
            sanxiang_domain::officer::check_division_code("division_code", division)?;
        }
        let act = Act {
            name: kind.as_str(),
            at: occurred_at,
            zone: tz,
            needed,
            field: power.as_ref().map(|p| p.category.as_str()),
            fields: &fields,
            place: &r.location,
            division,
        };
        let judge = |certs: &HashMap<OfficerId, Arc<OfficerInfo>>| {
            check_acting(&r.officer_ids, |id| certs.get(id).map(|o| o.named()), &agency.id, &act)
        };
        let mut judged = judge(&certs);
        if judged.is_err() {
            // Memory may allow an act, only the database refuses one: the officers as of the
            // change counter now (a reinstatement counted after this request's caller was judged
            // must not be refused).
            certs = self.registry.certificates(&r.officer_ids).await?;
            judged = judge(&certs);
        }
        if let Err(refused) = judged {
            if let ActingRefused::Certificate { index, name, why, .. } = &refused {
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
        let mut found: HashMap<EvidenceId, Arc<evidence::Model>> = HashMap::new();
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
                .filter(|e| &e.case_id == case_id)
                .ok_or_else(|| Error::invalid(format!("evidence_ids[{i}]"), "no such evidence in this case"))?;
            if kind == EventKind::EvidenceMarked && !is_audio_video(&e.media_type) {
                return Err(Error::invalid(
                    format!("evidence_ids[{i}]"),
                    "only audio or video footage is marked for permanent keeping (RULES K3)",
                ));
            }
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

        // An item whose bytes were destroyed (RULES K5) can no longer be what an act relies on:
        // checked by the writer under the append lock, only in a case that has a destruction.

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
        if let Some(method) = service_method {
            put("service_method", method.as_str().into());
        }
        if !r.details.is_empty() {
            let details = r.details.iter().fold(Value::object(), |acc, (k, v)| acc.with(k, v.as_str()));
            put("details", details);
        }
        if let Some(p) = &power {
            put("power", p.name.as_str().into());
        }
        if !r.division_code.trim().is_empty() {
            put("division_code", r.division_code.trim().into());
        }
        if r.certificates_shown {
            if r.officer_ids.is_empty() {
                return Err(Error::invalid(
                    "certificates_shown",
                    "an act without acting officers shows no certificate",
                ));
            }
            // The numbers of the cards the officers hold at the act (RULES C7): the event records
            // which certificates were shown, not only that some were.
            let numbers = r
                .officer_ids
                .iter()
                .map(|id| certs.get(id).map(|o| Value::from(o.certificate_number.as_str())))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| Error::Internal("an acting officer judged without a certificate".into()))?;
            put("certificates_shown", Value::Array(numbers));
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
                attachments: Vec::new(),
                document_number: None,
                // Re-judged by the writer at commit: see `Registry::authenticate_deferred`.
                directory_version: Some(who.directory_version),
            })
            .await
    }

    /// The release of a case's legal holds (RULES K4) is approved by a principal other than the
    /// one who recorded each procedure's end (its final result), and by the agency's leadership.
    /// With no release pending the writer refuses (`K4.final-result`) or, for a retry, answers the
    /// stored event.
    async fn check_release_approval(&self, who: &Principal, case_id: &CaseId) -> Result<()> {
        let case = self.case(case_id).await?;
        let pending = CaseState::from_bits(case.state_bits).releases_pending();
        if pending.is_empty() {
            return Ok(());
        }
        if who.role != Role::Head {
            return Err(Error::precondition(
                "K4.release-approval",
                "the release of a legal hold is approved by the agency's leadership (head)",
            ));
        }
        for p in pending {
            let ended = self.events_of_kind(case_id, p.concluded_by()).await?;
            let last = ended.last().ok_or_else(|| {
                Error::DataLoss(format!("case {case_id} awaits the release of its {} but records no end", p.name()))
            })?;
            if last.actor == who.id.as_str() {
                return Err(Error::precondition(
                    "K4.release-approval",
                    format!(
                        "the end of the {} was recorded by this principal: another principal approves the release",
                        p.name()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The events of one kind of a case, in chain order.
    pub async fn events_of_kind(&self, case_id: &CaseId, kind: EventKind) -> Result<Vec<event::Model>> {
        event::Entity::find()
            .filter(event::Column::CaseId.eq(case_id))
            .filter(event::Column::Kind.eq(kind.as_str()))
            .order_by_asc(event::Column::CaseSeq)
            .all(&self.db)
            .await
            .map_err(db_error)
    }

    /// Every officer who acted in a case's events, each once, in id order; an unreadable
    /// officers column is DATA_LOSS naming the event.
    pub async fn officers_in_case(&self, case_id: &CaseId) -> Result<Vec<OfficerId>> {
        let rows: Vec<(i64, String)> = event::Entity::find()
            .select_only()
            .column(event::Column::CaseSeq)
            .column(event::Column::Officers)
            .filter(event::Column::CaseId.eq(case_id))
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(db_error)?;
        let mut ids: Vec<OfficerId> = Vec::new();
        for (seq, officers) in rows {
            ids.extend(stored_officers(&officers, || format!("events.officers of event {seq} (case {case_id})"))?);
        }
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    /// An evidence item of `case_id`, or `None` if there is no such item in that case.
    pub async fn evidence_in_case(
        &self,
        case_id: &CaseId,
        evidence_id: &EvidenceId,
    ) -> Result<Option<evidence::Model>> {
        Ok(evidence::Entity::find_by_id(evidence_id.clone())
            .one(&self.db)
            .await
            .map_err(db_error)?
            .filter(|e| &e.case_id == case_id))
    }

    /// Cases of an agency in id order (ids are time-ordered), after `after_id`.
    pub async fn list_cases(&self, agency_id: &AgencyId, after_id: &str, limit: u32) -> Result<Vec<case::Model>> {
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
    pub async fn list_events(&self, case_id: &CaseId, after_seq: u64, limit: u32) -> Result<Vec<event::Model>> {
        let limit = if limit == 0 { 1000 } else { limit.min(10_000) };
        let query = event::Entity::find()
            .filter(event::Column::CaseId.eq(case_id))
            .filter(event::Column::CaseSeq.gt(after_seq as i64))
            .order_by_asc(event::Column::CaseSeq)
            .limit(u64::from(limit));
        // A row that cannot be read is DATA_LOSS naming its case_seq; pages before it (and
        // after it, with `after_seq` past it) stay readable.
        crate::verify::read_events(&self.db, query).await?.into_iter().map(|r| r.row(case_id)).collect()
    }
}
