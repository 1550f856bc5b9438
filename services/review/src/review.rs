//! The use cases of legal review: drafts, the queue, opinions, collective discussion, and the
//! decision gate.

use sanxiang_domain::id::{AgencyId, CaseId, DraftId};
use std::collections::HashSet;
use std::sync::Arc;

use chrono::Datelike;
use chrono_tz::Tz;
use sanxiang_domain::calendar::{WorkCalendar, decision_late, local_date};
use sanxiang_domain::canonical::{MAX_SAFE_INTEGER, Value};
use sanxiang_domain::catalog::{DraftFacts, LicensingAction, PartyType, PenaltyItem, PenaltyType, evaluate};
use sanxiang_domain::error::{request_id, same_request};
use sanxiang_domain::lifecycle::{CaseKind, CaseState, EventKind};
use sanxiang_domain::limits;
use sanxiang_domain::officer::{Act, ActingRefused, check_acting, stored_zone};
use sanxiang_domain::party::{Party, PartyKind};
use sanxiang_domain::review::{
    CheckResult, ChecklistItem, DraftStatus, GateInput, Outcome, ReviewerRecord, checklist_value,
    default_document_prefix, draft_digest, gate, validate_opinion,
};
use sanxiang_domain::time::check_act_time;
use sanxiang_domain::{Error, Result, Timestamp};
use sanxiang_publicity::Publicity;
use sanxiang_recording::Recorder;
use sanxiang_recording::record::stored_officers;
use sanxiang_recording::writer::{DocumentNumber, NewEvent, Target};

use crate::command::{DecideReview, IssueDecision, RecordDiscussion, ReviseDecision, SubmitDraft};
use crate::rows::{NewDraft, Opinion};
use sanxiang_registry::auth::{Principal, Role};
use sanxiang_registry::registry::{Refusal, refusal_kind};
use sanxiang_store::db_error;
use sanxiang_store::entity::{agency, case, draft, event, review};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};

/// Longest free text accepted in a draft field or an opinion.
const MAX_TEXT: usize = 64 * 1024;

/// An issued decision: its event, the document number (文书号) it got, and whether it came later
/// than 90 days after filing (RULES R10).
#[derive(Debug, Clone)]
pub struct Decision {
    pub event: event::Model,
    pub document_number: String,
    pub decided_after_limit: bool,
}

impl Decision {
    /// A decision read back from its stored event (a retried IssueDecision): what it recorded.
    fn stored(event: event::Model) -> Result<Self> {
        let p = stored_payload(&event)?;
        let missing = |field: &str| {
            Error::DataLoss(format!("event {}#{} has no {field} in its payload", event.case_id, event.case_seq))
        };
        let document_number =
            p.get("document_number").and_then(Value::as_str).ok_or_else(|| missing("document_number"))?.to_owned();
        let decided_after_limit =
            p.get("decided_after_limit").and_then(Value::as_bool).ok_or_else(|| missing("decided_after_limit"))?;
        Ok(Self { event, document_number, decided_after_limit })
    }
}

/// The legal-review use cases, over the record.
#[derive(Debug, Clone)]
pub struct Reviews {
    recorder: Recorder,
    publicity: Publicity,
}

fn text(field: &str, value: &str) -> Result<String> {
    if value.len() > MAX_TEXT {
        return Err(Error::invalid(field, format!("at most {MAX_TEXT} bytes")));
    }
    Ok(value.trim().to_owned())
}

fn required_text(field: &str, value: &str) -> Result<String> {
    let v = text(field, value)?;
    if v.is_empty() { Err(Error::invalid(field, "must not be empty")) } else { Ok(v) }
}

/// Adds what publication needs (RULES P4, P5, P7, P9) to the draft's content; empty fields are
/// left out.
fn publication_content(mut content: Value, r: &SubmitDraft) -> Result<Value> {
    for (field, value) in [
        ("violation_type", &r.violation_type),
        ("decision_content", &r.decision_content),
        ("licences_affected", &r.licences_affected),
        ("licence_name", &r.licence_name),
        ("licence_number", &r.licence_number),
    ] {
        let v = text(field, value)?;
        if !v.is_empty() {
            content = content.with(field, v);
        }
    }
    for (field, value) in [
        ("restriction_ends", &r.restriction_ends),
        ("licence_valid_from", &r.licence_valid_from),
        ("licence_valid_to", &r.licence_valid_to),
    ] {
        let v = value.trim();
        if !v.is_empty() {
            chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| {
                Error::invalid(field, format!("{:?} is not a date (YYYY-MM-DD)", sanxiang_domain::error::clip(v)))
            })?;
            content = content.with(field, v);
        }
    }
    for (field, value) in [
        ("state_secret", r.state_secret),
        ("trade_secret", r.trade_secret),
        ("personal_privacy", r.personal_privacy),
        ("special_regime", r.special_regime),
    ] {
        if value {
            content = content.with(field, true);
        }
    }
    if !r.other_persons.is_empty() {
        let mut names = Vec::with_capacity(r.other_persons.len());
        for (i, name) in r.other_persons.iter().enumerate() {
            let n = name.trim();
            if n.is_empty() || n.chars().count() > 32 {
                return Err(Error::invalid(format!("other_persons[{i}]"), "a name of 1 to 32 characters"));
            }
            names.push(Value::from(n));
        }
        content = content.with("other_persons", Value::Array(names));
    }
    Ok(content)
}

/// Which catalog threshold applies to the case's party. An individual business (个体工商户) is
/// run by a natural person and is treated as one, as local catalogs do for 公民.
/// An unreadable party is DATA_LOSS: defaulting to an organisation would apply the wrong fine
/// threshold and could let a major decision pass as ordinary.
fn party_type(case: &case::Model) -> Result<PartyType> {
    Ok(match Party::from_stored(&case.party, &case.id)?.kind {
        PartyKind::NaturalPerson | PartyKind::IndividualBusiness => PartyType::NaturalPerson,
        PartyKind::LegalPerson | PartyKind::OtherOrganisation => PartyType::Organisation,
    })
}

/// A stored event payload read back; DATA_LOSS naming the event (never its content) when it
/// cannot be read, never `null`.
fn stored_payload(e: &event::Model) -> Result<Value> {
    Value::parse(&e.payload).map_err(|_| {
        Error::DataLoss(format!("events.payload of event {} (case {}) cannot be read", e.case_seq, e.case_id))
    })
}

/// The penalties and the confiscated value of stored draft `id`, as the classification reads
/// them; a penalty that cannot be read is DATA_LOSS, never left out (leaving one out could let a
/// major decision pass as ordinary).
fn stored_penalties(id: &str, content: &Value) -> Result<(Vec<PenaltyItem>, u64)> {
    let unreadable = |what: &str| Error::DataLoss(format!("{what} of draft {id} cannot be read"));
    let penalties = match content.get("penalties") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|p| {
                let kind = PenaltyType::parse(p.get("type").and_then(Value::as_str)?)?;
                let amount_fen = p.get("amount_fen").and_then(Value::as_int).and_then(|n| u64::try_from(n).ok())?;
                Some(PenaltyItem { kind, amount_fen })
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| unreadable("a penalty"))?,
        Some(_) => return Err(unreadable("the penalties")),
    };
    let confiscation_fen = match content.get("confiscation_fen") {
        None => 0,
        Some(v) => v.as_int().and_then(|n| u64::try_from(n).ok()).ok_or_else(|| unreadable("confiscation_fen"))?,
    };
    Ok((penalties, confiscation_fen))
}

fn case_kind(case: &case::Model) -> Result<CaseKind> {
    CaseKind::parse(&case.kind).ok_or_else(|| Error::DataLoss(format!("cases.kind of case {} cannot be read", case.id)))
}

fn draft_status(d: &draft::Model) -> Result<DraftStatus> {
    DraftStatus::from_stored(&d.status, &format!("draft {}", d.id))
}

/// The items of a stored JSON array column, or DATA_LOSS naming `what` (table, column and row,
/// never the content): an unreadable checklist or rule list must not read as an empty one.
fn stored_items<T>(text: &str, what: impl Fn() -> String, item: impl Fn(&Value) -> Option<T>) -> Result<Vec<T>> {
    let unreadable = || Error::DataLoss(format!("{} cannot be read", what()));
    match Value::parse(text).map_err(|_| unreadable())? {
        Value::Array(items) => items.iter().map(|v| item(v).ok_or_else(unreadable)).collect(),
        _ => Err(unreadable()),
    }
}

/// A review row read into what it shows; an unreadable outcome or checklist is DATA_LOSS.
pub fn review_view(r: review::Model) -> Result<ReviewView> {
    let checklist = stored_items(
        &r.checklist,
        || format!("reviews.checklist of review {}", r.id),
        |v| {
            let code = v.get("item")?.as_str()?;
            Some(CheckResult {
                item: ChecklistItem::ALL.into_iter().find(|i| i.code() == code)?,
                passed: v.get("passed")?.as_bool()?,
                comment: match v.get("comment") {
                    None => String::new(),
                    Some(c) => c.as_str()?.to_owned(),
                },
            })
        },
    )?;
    let outcome = Outcome::parse(&r.outcome)
        .ok_or_else(|| Error::DataLoss(format!("reviews.outcome of review {} cannot be read", r.id)))?;
    Ok(ReviewView { row: r, outcome, checklist })
}

/// A draft row read into what it shows, with its due date under `calendar` and whether it is
/// overdue at `now` (dates in the agency's zone `tz`).
pub fn draft_view(d: draft::Model, calendar: &WorkCalendar, tz: Tz, now: Timestamp) -> Result<DraftView> {
    let matched = stored_items(
        &d.matched_rules,
        || format!("drafts.matched_rules of draft {}", d.id),
        |v| {
            Some(MatchedRule {
                rule: v.get("rule")?.as_str()?.to_owned(),
                reason: v.get("reason")?.as_str()?.to_owned(),
            })
        },
    )?;
    let status = draft_status(&d)?;
    let (due_date, due_provisional, overdue) = match review_due(&d, calendar, tz) {
        Some(due) => {
            (due.date.to_string(), due.provisional, status == DraftStatus::Pending && local_date(now, tz) > due.date)
        }
        None => (String::new(), false, false),
    };
    Ok(DraftView { row: d, status, matched, due_date, due_provisional, overdue })
}

/// A rule that made a draft major, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedRule {
    pub rule: String,
    pub reason: String,
}

/// A draft as its readers see it.
#[derive(Debug, Clone)]
pub struct DraftView {
    pub row: draft::Model,
    pub status: DraftStatus,
    pub matched: Vec<MatchedRule>,
    /// The review's due date (YYYY-MM-DD), empty when no review is due.
    pub due_date: String,
    pub due_provisional: bool,
    pub overdue: bool,
}

/// A review opinion as its readers see it.
#[derive(Debug, Clone)]
pub struct ReviewView {
    pub row: review::Model,
    pub outcome: Outcome,
    pub checklist: Vec<CheckResult>,
}

/// The review due date of a major draft: `review_days` working days after the submission date
/// (RULES L7, D3). Computed when shown, so a year's schedule loaded later takes effect.
fn review_due(d: &draft::Model, calendar: &WorkCalendar, tz: Tz) -> Option<sanxiang_domain::calendar::Deadline> {
    d.major.then(|| {
        calendar.add_working_days(
            local_date(Timestamp::from_micros(d.submitted_at), tz),
            u32::try_from(d.review_days).unwrap_or(u32::MAX),
        )
    })
}

impl Reviews {
    /// Legal review over `recorder`.
    pub fn new(recorder: Recorder, publicity: Publicity) -> Self {
        Self { recorder, publicity }
    }

    /// The record this works on.
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    fn now(&self) -> Timestamp {
        self.recorder.clock().now()
    }

    async fn agency(&self, id: &AgencyId) -> Result<(agency::Model, Tz)> {
        let a = self.recorder.registry().agency(id).await?;
        let tz = stored_zone(&a.time_zone)?;
        Ok((a, tz))
    }

    /// A draft by id.
    pub async fn draft(&self, id: &DraftId) -> Result<draft::Model> {
        draft::Entity::find_by_id(id.clone())
            .one(self.recorder.db())
            .await
            .map_err(db_error)?
            .ok_or_else(|| Error::not_found("draft", id))
    }

    /// A draft read into what it shows, with its due date under the current calendar.
    pub async fn draft_view(&self, d: draft::Model) -> Result<DraftView> {
        let calendar = self.recorder.registry().calendar().await?;
        let (_, tz) = self.agency(&d.agency_id).await?;
        draft_view(d, &calendar, tz, self.now())
    }

    async fn latest_version(&self, case_id: &CaseId) -> Result<i64> {
        Ok(draft::Entity::find()
            .filter(draft::Column::CaseId.eq(case_id))
            .order_by_desc(draft::Column::Version)
            .one(self.recorder.db())
            .await
            .map_err(db_error)?
            .map_or(0, |d| d.version))
    }

    /// Records a new draft version, classifies it against the agency's catalog (RULES L2) and,
    /// when major, queues it for review. Idempotent on (case, request id).
    pub async fn submit_draft(&self, who: &Principal, case: &case::Model, r: SubmitDraft) -> Result<draft::Model> {
        let request_id = request_id(&r.request_id)?;
        let asked = r.request_digest.clone();
        if let Some(existing) = draft::Entity::find()
            .filter(draft::Column::CaseId.eq(&case.id))
            .filter(draft::Column::RequestId.eq(&request_id))
            .one(self.recorder.db())
            .await
            .map_err(db_error)?
        {
            same_request(&request_id, existing.request_digest.as_deref(), &asked)?;
            return Ok(existing);
        }
        if CaseState::from_bits(case.state_bits).decided() {
            return Err(Error::precondition(
                "R2.decided-once",
                "the case already has a decision; record a change with ReviseDecision instead",
            ));
        }
        let kind = case_kind(case)?;
        let mut facts = DraftFacts::new(kind, party_type(case)?);
        limits::count("penalties", &r.penalties, limits::MAX_DETAILS)?;
        limits::ids("evidence_ids", &r.evidence_ids)?;
        let mut penalties = Vec::with_capacity(r.penalties.len());
        for (i, p) in r.penalties.iter().enumerate() {
            let t = PenaltyType::parse(p.r#type.trim()).ok_or_else(|| {
                Error::invalid(
                    format!("penalties[{i}].type"),
                    format!("{:?} is not a penalty type of 处罚法 Art. 9", sanxiang_domain::error::clip(&p.r#type)),
                )
            })?;
            if p.amount_fen > MAX_SAFE_INTEGER as u64 {
                return Err(Error::invalid(format!("penalties[{i}].amount_fen"), "too large"));
            }
            facts.penalties.push(PenaltyItem { kind: t, amount_fen: p.amount_fen });
            penalties.push(Value::object().with("type", t.as_str()).with("amount_fen", p.amount_fen));
        }
        if r.confiscation_fen > MAX_SAFE_INTEGER as u64 {
            return Err(Error::invalid("confiscation_fen", "too large"));
        }
        facts.confiscation_fen = r.confiscation_fen;
        facts.hearing_held = r.hearing_held;
        facts.hearing_in_record = CaseState::from_bits(case.state_bits).hearing_in_record();
        facts.outside_discretion_standard = r.outside_discretion_standard;
        facts.ordinary_procedure = r.ordinary_procedure;
        facts.licensing_action = match r.licensing_action.trim() {
            "" => None,
            name => Some(LicensingAction::parse(name).ok_or_else(|| {
                let name = sanxiang_domain::error::clip(name);
                Error::invalid("licensing_action", format!("{name:?} is not a licensing decision"))
            })?),
        };
        facts.major_public_interest = r.major_public_interest;
        facts.major_rights_and_hearing = r.major_rights_and_hearing;
        facts.complex_case = r.complex_case;
        facts.required_by_law = r.required_by_law;
        facts.validate()?;
        let legal_basis = text("legal_basis", &r.legal_basis)?;
        let facts_text = text("facts", &r.facts)?;
        let reasoning = text("discretion_reasoning", &r.discretion_reasoning)?;

        // Evidence the draft relies on: items of this case, bound by their digests.
        let mut seen = HashSet::new();
        let mut evidence_refs = Vec::with_capacity(r.evidence_ids.len());
        for (i, id) in r.evidence_ids.iter().enumerate() {
            if !seen.insert(id) {
                return Err(Error::invalid(format!("evidence_ids[{i}]"), "listed twice"));
            }
            let e = self
                .recorder
                .evidence_in_case(&case.id, id)
                .await?
                .ok_or_else(|| Error::invalid(format!("evidence_ids[{i}]"), "no such evidence in this case"))?;
            evidence_refs.push(Value::object().with("id", e.id).with("sha256", e.sha256));
        }

        let (catalog, _) = self.recorder.registry().catalog(&case.agency_id).await?;
        let class = evaluate(&catalog, &facts);
        let discussion_required = class.collective_discussion_required || r.collective_discussion_requested;
        let version = self.latest_version(&case.id).await? + 1;
        let mut content = Value::object()
            .with("case_id", case.id.as_str())
            .with("version", version)
            .with("case_kind", kind.as_str())
            .with("party_type", facts.party.code())
            .with("penalties", Value::Array(penalties))
            .with("confiscation_fen", r.confiscation_fen)
            .with("legal_basis", legal_basis)
            .with("facts", facts_text)
            .with("discretion_reasoning", reasoning)
            .with("hearing_held", r.hearing_held)
            .with("outside_discretion_standard", r.outside_discretion_standard)
            .with("ordinary_procedure", r.ordinary_procedure)
            .with("major_public_interest", r.major_public_interest)
            .with("major_rights_and_hearing", r.major_rights_and_hearing)
            .with("complex_case", r.complex_case)
            .with("required_by_law", r.required_by_law)
            .with("collective_discussion_requested", r.collective_discussion_requested)
            .with("evidence", Value::Array(evidence_refs));
        if let Some(a) = facts.licensing_action {
            content = content.with("licensing_action", a.as_str());
        }
        content = publication_content(content, &r)?;
        let digest = draft_digest(&content)?.to_hex();
        let matched = Value::Array(
            class
                .matched
                .iter()
                .map(|m| Value::object().with("rule", m.rule.as_str()).with("reason", m.reason.as_str()))
                .collect(),
        );
        let now = self.now();
        let row = draft::Model {
            id: DraftId::new(self.recorder.clock().as_ref()),
            case_id: case.id.clone(),
            agency_id: case.agency_id.clone(),
            version,
            request_id: request_id.clone(),
            request_digest: Some(asked.clone()),
            content: content.to_canonical_string().map_err(|e| Error::invalid("draft", e.to_string()))?,
            digest: digest.clone(),
            major: class.major,
            matched_rules: matched.to_canonical_string().map_err(|e| Error::Internal(e.to_string()))?,
            discussion_required,
            status: if class.major { DraftStatus::Pending } else { DraftStatus::NotRequired }.to_string(),
            review_days: i64::from(catalog.review_days),
            submitted_at: now.micros(),
            submitted_by: who.id.clone(),
            event_case_seq: 0,
        };
        let payload = Value::object()
            .with("draft_id", row.id.as_str())
            .with("version", version)
            .with("draft_digest", digest)
            .with("major", class.major)
            .with("matched_rules", class.matched.iter().map(|m| m.rule.clone()).collect::<Vec<_>>())
            .with("collective_discussion_required", discussion_required);
        let event = self
            .recorder
            .writer()
            .append(NewEvent {
                target: Target::Case(case.id.clone()),
                kind: EventKind::DraftSubmitted,
                occurred_at: now,
                actor: who.id.clone(),
                request_id,
                request_digest: Some(asked),
                officers: who.officer_id.iter().cloned().collect(),
                evidence: Vec::new(),
                payload,
                new_evidence: None,
                attachments: vec![Arc::new(NewDraft { row: row.clone() })],
                document_number: None,
                directory_version: None,
            })
            .await?;
        Ok(draft::Model { event_case_seq: event.case_seq, ..row })
    }

    /// Pending major drafts of an agency, overdue first, then by due date (RULES L7, S1).
    /// Supervisors see only the overdue ones.
    /// The caller must be authorised to read the agency's queue.
    pub async fn queue(&self, who: &Principal, agency_id: &AgencyId, overdue_only: bool) -> Result<Vec<DraftView>> {
        let overdue_only = overdue_only || who.role == Role::Supervisor;
        let calendar = self.recorder.registry().calendar().await?;
        let (_, tz) = self.agency(agency_id).await?;
        let now = self.now();
        let rows = draft::Entity::find()
            .filter(draft::Column::AgencyId.eq(agency_id))
            .filter(draft::Column::Status.eq(DraftStatus::Pending.as_str()))
            .all(self.recorder.db())
            .await
            .map_err(db_error)?;
        let mut out: Vec<DraftView> = rows
            .into_iter()
            .map(|d| draft_view(d, &calendar, tz, now))
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .filter(|d| !overdue_only || d.overdue)
            .collect();
        out.sort_by(|a, b| {
            (!a.overdue, &a.due_date, a.row.submitted_at).cmp(&(!b.overdue, &b.due_date, b.row.submitted_at))
        });
        Ok(out)
    }

    /// The reviewer's opinion on a draft version (RULES G4, L3–L6), recorded in the chain.
    /// Idempotent on (draft, request id).
    /// The caller must be authorised to review the draft `d` of `case`.
    pub async fn decide_review(
        &self,
        who: &Principal,
        (d, case): (draft::Model, case::Model),
        r: DecideReview,
    ) -> Result<review::Model> {
        let request_id = request_id(&r.request_id)?;
        let asked = r.request_digest.clone();
        if let Some(existing) = review::Entity::find()
            .filter(review::Column::DraftId.eq(&d.id))
            .filter(review::Column::RequestId.eq(&request_id))
            .one(self.recorder.db())
            .await
            .map_err(db_error)?
        {
            same_request(&request_id, existing.request_digest.as_deref(), &asked)?;
            return Ok(existing);
        }
        let outcome = r
            .outcome
            .ok_or_else(|| Error::invalid("outcome", "must be APPROVE (同意) or PROBLEMS_FOUND (存在问题)"))?;
        let mut results = Vec::with_capacity(r.checklist.len());
        for (i, c) in r.checklist.iter().enumerate() {
            let item =
                c.item.ok_or_else(|| Error::invalid(format!("checklist[{i}].item"), "must name a checklist item"))?;
            results.push(CheckResult { item, passed: c.passed, comment: text("checklist.comment", &c.comment)? });
        }
        let opinion = text("opinion", &r.opinion)?;
        let results = validate_opinion(&results, outcome, &opinion)?;

        match draft_status(&d)? {
            DraftStatus::Pending => {}
            DraftStatus::NotRequired => {
                return Err(Error::precondition(
                    "L2.not-major",
                    "the draft is not a major decision; it needs no legal review",
                ));
            }
            DraftStatus::Superseded => {
                return Err(Error::precondition(
                    "L3.latest-draft",
                    "a later draft version exists; review the latest version",
                ));
            }
            DraftStatus::Approved | DraftStatus::ProblemsFound => {
                return Err(Error::precondition(
                    "L5.reviewed-once",
                    "this draft version was already reviewed; problems found need a new version",
                ));
            }
        }
        // Separation of enforcement and supervision (RULES L6).
        let handling =
            stored_officers(&case.handling_officers, || format!("cases.handling_officers of case {}", case.id))?;
        if let Some(officer) = &who.officer_id
            && handling.contains(officer)
        {
            return Err(Error::precondition(
                "L6.reviewer-not-handling-officer",
                "the reviewer is a handling officer of this case and may not review it",
            ));
        }
        // RULES G4: a first review of a 行政处罚 decision needs the 法律职业资格. Experience
        // recorded on the officer (reviews before this system) and 行政处罚 reviews decided here
        // (any outcome) make a reviewer not first-time.
        let (qualified, prior) = match &who.officer_id {
            Some(id) => {
                let o = self.recorder.registry().officer(id).await?;
                (o.legal_qualification, o.has_prior_review_experience)
            }
            None => (false, false),
        };
        let penalty = case_kind(&case)? == CaseKind::Penalty;
        // The person's history counts: every principal bound to the same officer, else this one.
        let by_reviewer = match &who.officer_id {
            Some(officer) => review::Column::ReviewerOfficerId.eq(officer.as_str()),
            None => review::Column::ReviewerId.eq(who.id.as_str()),
        };
        let reviews_decided_here = if penalty {
            review::Entity::find()
                .filter(by_reviewer)
                .filter(review::Column::Penalty.eq(true))
                .count(self.recorder.db())
                .await
                .map_err(db_error)?
        } else {
            0
        };
        let record = ReviewerRecord {
            penalty,
            legal_qualification: qualified,
            prior_review_experience: prior,
            reviews_decided_here,
        };
        record.check()?;
        let first = record.first_penalty_review();

        let now = self.now();
        let checklist = checklist_value(&results);
        let row = review::Model {
            id: sanxiang_domain::id::new_id(self.recorder.clock().as_ref()),
            draft_id: d.id.clone(),
            case_id: case.id.clone(),
            draft_digest: d.digest.clone(),
            outcome: outcome.as_str().to_owned(),
            checklist: checklist.to_canonical_string().map_err(|e| Error::Internal(e.to_string()))?,
            opinion: opinion.clone(),
            reviewer_id: who.id.clone(),
            reviewer_officer_id: who.officer_id.clone(),
            penalty,
            first_penalty_review: first,
            legal_qualification: qualified,
            decided_at: now.micros(),
            request_id: request_id.clone(),
            request_digest: Some(asked.clone()),
            event_case_seq: 0,
        };
        let payload = Value::object()
            .with("review_id", row.id.as_str())
            .with("draft_id", d.id.as_str())
            .with("draft_version", d.version)
            .with("draft_digest", d.digest.as_str())
            .with("outcome", outcome.as_str())
            .with("checklist", checklist)
            .with("opinion", opinion)
            .with("first_penalty_review", first)
            .with("legal_qualification", qualified);
        let event = self
            .recorder
            .writer()
            .append(NewEvent {
                target: Target::Case(case.id.clone()),
                kind: EventKind::ReviewDecided,
                occurred_at: now,
                actor: who.id.clone(),
                request_id: format!("review:{}:{request_id}", d.id),
                request_digest: Some(asked),
                officers: Vec::new(),
                evidence: Vec::new(),
                payload,
                new_evidence: None,
                attachments: vec![Arc::new(Opinion { row: row.clone(), draft_status: DraftStatus::after(outcome) })],
                document_number: None,
                directory_version: None,
            })
            .await?;
        Ok(review::Model { event_case_seq: event.case_seq, ..row })
    }

    /// Records the leadership's collective discussion of a draft version (RULES L6).
    /// The caller must be authorised to decide on the draft `d` of `case`.
    pub async fn record_discussion(
        &self,
        who: &Principal,
        (d, case): (draft::Model, case::Model),
        r: RecordDiscussion,
    ) -> Result<event::Model> {
        let request_id = request_id(&r.request_id)?;
        let asked = r.request_digest.clone();
        let minutes = required_text("minutes", &r.minutes)?;
        let now = self.now();
        let occurred_at = r.occurred_at.unwrap_or(now);
        check_act_time("occurred_at", occurred_at, now)?;
        let payload = Value::object()
            .with("draft_id", d.id.as_str())
            .with("draft_version", d.version)
            .with("draft_digest", d.digest.as_str())
            .with("minutes", minutes);
        let mut event = NewEvent::act(
            Target::Case(case.id.clone()),
            EventKind::CollectiveDiscussion,
            occurred_at,
            &who.id,
            request_id,
            payload,
        );
        event.request_digest = Some(asked);
        self.recorder.writer().append(event).await
    }

    async fn events_of_kind(&self, case_id: &CaseId, kind: EventKind) -> Result<Vec<event::Model>> {
        self.recorder.events_of_kind(case_id, kind).await
    }

    /// The gate (RULES L1, L3, L6, R2, L8, R10): issues the decision on a draft version with the
    /// agency's next document number. Returns the decision event, its number, and whether it
    /// came later than 90 days after filing. Idempotent on (case, request id).
    /// The caller must be authorised to decide on the draft `d` of `case`.
    pub async fn issue_decision(
        &self,
        who: &Principal,
        (d, case): (draft::Model, case::Model),
        r: IssueDecision,
    ) -> Result<Decision> {
        let request_id = request_id(&r.request_id)?;
        let asked = r.request_digest.clone();
        if let Some(done) =
            self.events_of_kind(&case.id, EventKind::Decision).await?.into_iter().find(|e| e.request_id == request_id)
        {
            same_request(&request_id, done.request_digest.as_deref(), &asked)?;
            return Decision::stored(done);
        }

        // The stored content must still hash to the digest that reviews were bound to.
        let content = Value::parse(&d.content).map_err(|_| Error::DataLoss(format!("draft {} content", d.id)))?;
        if draft_digest(&content)?.to_hex() != d.digest {
            return Err(Error::DataLoss(format!("draft {} no longer matches its digest", d.id)));
        }
        let approval = review::Entity::find()
            .filter(review::Column::DraftId.eq(&d.id))
            .filter(review::Column::DraftDigest.eq(&d.digest))
            .filter(review::Column::Outcome.eq(Outcome::Approve.as_str()))
            .one(self.recorder.db())
            .await
            .map_err(db_error)?;
        let discussed = self
            .events_of_kind(&case.id, EventKind::CollectiveDiscussion)
            .await?
            .iter()
            .map(stored_payload)
            .collect::<Result<Vec<_>>>()?
            .iter()
            .any(|p| p.get("draft_digest").and_then(Value::as_str) == Some(d.digest.as_str()));
        // A hearing requested after the draft was classified makes a penalty with a hearing right
        // major under 处罚法 Art. 58 (2) all the same: the draft must be submitted again, and
        // reviewed.
        if !d.major && CaseState::from_bits(case.state_bits).hearing_in_record() {
            let (catalog, _) = self.recorder.registry().catalog(&case.agency_id).await?;
            let mut facts = DraftFacts::new(case_kind(&case)?, party_type(&case)?);
            (facts.penalties, facts.confiscation_fen) = stored_penalties(&d.id, &content)?;
            if let Some(why) = catalog.hearing_right(&facts) {
                return Err(Error::precondition(
                    "L1.review-required",
                    format!(
                        "a hearing is in the record and {why} carries the right to a hearing (处罚法 Art. 63): the decision is major under Art. 58 (2); submit the draft again for legal review"
                    ),
                ));
            }
        }
        gate(GateInput {
            major: d.major,
            approved: approval.is_some(),
            latest: self.latest_version(&case.id).await? == d.version,
            discussion_required: d.discussion_required,
            discussion_recorded: discussed,
        })?;

        let (agency, tz) = self.agency(&case.agency_id).await?;
        let now = self.now();
        let certs = self.recorder.registry().certificates(&r.officer_ids).await?;
        let needed = if EventKind::Decision.needs_two_officers() { 2 } else { 0 };
        let power = sanxiang_registry::registry::power_named(&agency, &r.power)?;
        // Naming no power, the decision is made under one of the agency's (C8).
        let listed = if power.is_none() { sanxiang_registry::registry::power_fields(&agency)? } else { Vec::new() };
        let fields: Vec<&str> = listed.iter().map(String::as_str).collect();
        let act = Act {
            name: "a decision",
            at: now,
            zone: tz,
            needed,
            field: power.as_ref().map(|p| p.category.as_str()),
            fields: &fields,
            place: "",
            division: "",
        };
        if let Err(refused) = check_acting(&r.officer_ids, |id| certs.get(id).map(|o| o.named()), &case.agency_id, &act)
        {
            if let ActingRefused::Certificate { index, name, why, .. } = &refused {
                // The decision is refused and not stored; the attempt is counted (RULES S1).
                self.recorder
                    .registry()
                    .record_refusal(Refusal {
                        kind: refusal_kind::INVALID_CERTIFICATE,
                        agency_id: &case.agency_id,
                        subject_id: &r.officer_ids[*index],
                        case_id: Some(&case.id),
                        actor_id: &who.id,
                        detail: format!("decision naming officer {name}: {why}"),
                    })
                    .await;
            }
            return Err(refused.error(&r.officer_ids));
        }
        for (i, joint) in r.joint_agency_ids.iter().enumerate() {
            let field = format!("joint_agency_ids[{i}]");
            if joint == &case.agency_id {
                return Err(Error::invalid(field, "the case's agency leads the decision: name only the others"));
            }
            if r.joint_agency_ids[..i].contains(joint) {
                return Err(Error::invalid(field, "named twice"));
            }
            self.recorder.registry().agency(joint).await.map_err(|e| match e {
                Error::NotFound { .. } => Error::invalid(field, "no such agency"),
                other => other,
            })?;
        }
        let kind = case_kind(&case)?;
        let prefix = match r.document_prefix.trim() {
            "" => default_document_prefix(&agency.name, kind),
            p if p.chars().count() > 64 => return Err(Error::invalid("document_prefix", "at most 64 characters")),
            p => p.to_owned(),
        };
        let today = local_date(now, tz);
        let late = case.filed_at.is_some_and(|f| decision_late(Timestamp::from_micros(f), now, tz));
        if late {
            tracing::warn!(case = %case.id, "decision later than 90 days after filing (RULES R10)");
        }
        let mut payload = Value::object()
            .with("draft_id", d.id.as_str())
            .with("draft_version", d.version)
            .with("draft_digest", d.digest.as_str())
            .with("major", d.major)
            .with("decided_after_limit", late);
        if let Some(a) = &approval {
            payload = payload.with("review_id", a.id.as_str());
        }
        if let Some(p) = &power {
            payload = payload.with("power", p.name.as_str());
        }
        if !r.joint_agency_ids.is_empty() {
            payload = payload.with(
                "joint_agency_ids",
                Value::Array(r.joint_agency_ids.iter().map(|a| Value::from(a.as_str())).collect()),
            );
        }
        // Every decision gets its disclosure in the same transaction (RULES P3, P4).
        let (disclosure, publication) = self.publicity.plan_decision(&agency, tz, &case, &d).await?;
        payload = payload.with("disclosure", publication);
        // Whether the decision must be filed with the supervision office, and the row that says
        // so, in the same transaction (RULES F1, F3, F4).
        let (penalties, confiscation_fen) = stored_penalties(&d.id, &content)?;
        let (filing, filing_row) = sanxiang_filing::plan_decision(
            &self.recorder,
            &agency,
            tz,
            &case,
            kind,
            party_type(&case)?,
            &penalties,
            confiscation_fen,
            &r.joint_agency_ids,
            approval.is_some(),
            now,
        )
        .await?;
        if kind == CaseKind::Penalty {
            payload = payload.with("filing", filing);
        }
        let mut attachments = vec![disclosure];
        attachments.extend(filing_row);
        let appended = self
            .recorder
            .writer()
            .append_numbered(NewEvent {
                target: Target::Case(case.id.clone()),
                kind: EventKind::Decision,
                occurred_at: now,
                actor: who.id.clone(),
                request_id,
                request_digest: Some(asked),
                officers: r.officer_ids.clone(),
                evidence: Vec::new(),
                payload,
                new_evidence: None,
                attachments,
                document_number: Some(DocumentNumber { agency_id: agency.id.clone(), year: today.year(), prefix }),
                directory_version: None,
            })
            .await?;
        self.publicity.notify();
        let document_number = appended
            .document_number
            .ok_or_else(|| Error::Internal("the writer drew no document number for a decision".into()))?;
        Ok(Decision { event: appended.event, document_number, decided_after_limit: late })
    }

    /// Records a change, revocation, or confirmation of illegality or voidness of the case's
    /// decision (RULES P6: the trigger for withdrawing its publication).
    pub async fn revise_decision(
        &self,
        who: &Principal,
        case: &case::Model,
        r: ReviseDecision,
    ) -> Result<event::Model> {
        let request_id = request_id(&r.request_id)?;
        let asked = r.request_digest.clone();
        let revision = r.revision.ok_or_else(|| Error::invalid("revision", "must name a revision"))?;
        let reason = required_text("reason", &r.reason)?;
        let basis = text("basis", &r.basis)?;
        let now = self.now();
        let occurred_at = r.occurred_at.unwrap_or(now);
        check_act_time("occurred_at", occurred_at, now)?;
        let number = match self.events_of_kind(&case.id, EventKind::Decision).await?.pop() {
            Some(decision) => Some(Decision::stored(decision)?.document_number),
            None => None,
        };
        let mut payload = Value::object().with("revision", revision.as_str()).with("reason", reason.as_str());
        if !basis.is_empty() {
            payload = payload.with("basis", basis);
        }
        if let Some(n) = number {
            payload = payload.with("document_number", n);
        }
        if let Some(done) = self
            .events_of_kind(&case.id, EventKind::DecisionRevised)
            .await?
            .into_iter()
            .find(|e| e.request_id == request_id)
        {
            same_request(&request_id, done.request_digest.as_deref(), &asked)?;
            return Ok(done);
        }
        // The revision owes the withdrawal of the decision's publication (RULES P6).
        let withdrawal = self.publicity.plan_revision(case, revision.as_str(), &reason, occurred_at).await?;
        let mut event = NewEvent::act(
            Target::Case(case.id.clone()),
            EventKind::DecisionRevised,
            occurred_at,
            &who.id,
            request_id,
            payload,
        );
        event.attachments.extend(withdrawal);
        event.request_digest = Some(asked);
        let event = self.recorder.writer().append(event).await?;
        self.publicity.notify();
        Ok(event)
    }
}
