//! The use cases of publication after enforcement (事后公开, RULES P3-P7): a disclosure for every
//! issued decision, publication (automatic or confirmed), withdrawal when the decision is revised,
//! corrections as new versions, the end of publication, and the public listing.

use sanxiang_domain::id::{AgencyId, CaseId, DisclosureId};
use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;
use chrono_tz::Tz;
use sanxiang_domain::calendar::{end_instant, local_date};
use sanxiang_domain::canonical::Value;
use sanxiang_domain::error::request_id;
use sanxiang_domain::lifecycle::{CaseKind, EventKind};
use sanxiang_domain::officer::stored_zone;
use sanxiang_domain::publicity::{DisclosureStatus, ExclusionFacts, ResultKind, id_shows_minor, withdrawal_due};
use sanxiang_domain::statistics::StatisticsPolicy;
use sanxiang_domain::{Error, Result, Timestamp};
use sanxiang_recording::Recorder;
use sanxiang_recording::writer::{Attachment, NewEvent, Target};
use sanxiang_registry::auth::Principal;
use sanxiang_store::db_error;
use sanxiang_store::entity::{agency, case, disclosure, draft, event};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio::sync::Notify;

use crate::content::{self, Content, DraftContent, Facts, Party, Source};
use crate::policy::{self, Policy, PolicyForm};
use crate::review_records::ReviewRecords;
use crate::rows::{Apply, Change, NewDisclosure, status};

/// Largest page of a listing.
pub const MAX_PAGE: u32 = 500;
/// Page size when none is asked for.
pub const DEFAULT_PAGE: u32 = 50;
/// Longest reason accepted for a withdrawal, correction or early stop.
const MAX_REASON: usize = 4096;

/// Statuses visible to the public (within the publication period).
pub const PUBLIC_STATUSES: [&str; 2] = [status::PUBLISHED, status::WITHDRAWN];

/// Every stored status but published: what a revision planned on an unpublished disclosure
/// requires when it commits.
const NOT_PUBLISHED: [&str; 7] = [
    status::PENDING,
    status::HELD,
    status::EXCLUDED,
    status::WITHDRAWAL_PENDING,
    status::WITHDRAWN,
    status::CANCELLED,
    status::ENDED,
];

/// The publicity use cases, over the record.
#[derive(Debug, Clone)]
pub struct Publicity {
    recorder: Recorder,
    /// The legal review's records (drafts and reviews), which belong to sanxiang-review.
    reviews: Arc<dyn ReviewRecords>,
    /// Woken after every change this process commits, so watchers see it at once; changes made
    /// by other replicas are found by polling.
    changed: Arc<Notify>,
    /// How enforcement statistics are counted and shown (RULES N2).
    statistics: StatisticsPolicy,
}

/// A page of a listing: rows and the cursor of the next page.
#[derive(Debug)]
pub struct Page {
    pub rows: Vec<disclosure::Model>,
    pub next_cursor: Option<String>,
    /// For a public page: the first instant (UTC micros) at which the passing of time alone
    /// changes it — an entry read for it (its rows and the one that decides `next_cursor`)
    /// reaches the end of its publication period. `None`: time alone never changes it.
    pub valid_until: Option<i64>,
}

impl Page {
    /// The public page of `rows` read in listing order, up to `limit` and one more (which only
    /// says whether there is a next page).
    pub(crate) fn listed(mut rows: Vec<disclosure::Model>, limit: u32) -> Self {
        let valid_until = rows.iter().filter_map(|r| r.publication_end_at).min();
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_cursor = if more { rows.last().and_then(|r| r.listed_seq).map(|n| format!("l{n}")) } else { None };
        Self { rows, next_cursor, valid_until }
    }
}

fn reason(field: &str, value: &str, required: bool) -> Result<String> {
    let v = value.trim();
    if required && v.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if v.len() > MAX_REASON {
        return Err(Error::invalid(field, format!("at most {MAX_REASON} bytes")));
    }
    Ok(v.to_owned())
}

/// The result kind whose publication period applies to a case kind.
pub fn result_kind(kind: CaseKind) -> ResultKind {
    match kind {
        CaseKind::Penalty => ResultKind::Penalty,
        CaseKind::Licensing => ResultKind::Licensing,
        CaseKind::Compulsion | CaseKind::Inspection | CaseKind::Other => ResultKind::Other,
    }
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// The facts stored with a disclosure.
pub(crate) fn stored_facts(d: &disclosure::Model) -> Result<Facts> {
    serde_json::from_str(&d.facts).map_err(|_| Error::DataLoss(format!("facts of disclosure {}", d.id)))
}

/// Whether the disclosure is past a due date today (agency zone) and not done.
pub fn overdue(d: &disclosure::Model, today: NaiveDate) -> bool {
    let past = |date: Option<&str>| date.and_then(parse_date).is_some_and(|due| today > due);
    match d.status.as_str() {
        status::PENDING | status::HELD => past(Some(&d.due_date)),
        status::WITHDRAWAL_PENDING => past(d.withdrawal_due_date.as_deref()),
        _ => false,
    }
}

/// The row as seen at `now`: a published entry whose 公示截止期 has passed is [`status::EXPIRED`]
/// (RULES P7). The status is computed here, never stored.
pub fn seen_at(mut d: disclosure::Model, now: Timestamp) -> disclosure::Model {
    if d.status == status::PUBLISHED && d.publication_end_at.is_some_and(|end| end <= now.micros()) {
        d.status = status::EXPIRED.to_owned();
    }
    d
}

/// When the entry left the public listings: its early stop, or the end of its publication period
/// once that has passed.
pub fn left_listing_at(d: &disclosure::Model, now: Timestamp) -> Option<i64> {
    d.ended_at.or(d.publication_end_at.filter(|end| *end <= now.micros()))
}

/// What the public sees of an entry that was public and has left the listings (ended early or
/// past its 公示截止期, RULES P7): a tombstone with the id, the agency, the document number and
/// when it ended — no content. `None` for an entry that is public or was never public.
pub fn tombstone(d: &disclosure::Model, now: Timestamp) -> Result<Option<disclosure::Model>> {
    if d.listed_seq.is_none() || is_public(d, now) {
        return Ok(None);
    }
    let Some(ended) = left_listing_at(d, now) else { return Ok(None) };
    let c = content::from_json(&d.content)?;
    let kept = Content {
        document_number: c.document_number,
        agency_name: c.agency_name,
        agency_credit_code: c.agency_credit_code,
        ..Content::default()
    };
    let status = if d.status == status::ENDED { status::ENDED } else { status::EXPIRED };
    Ok(Some(disclosure::Model {
        id: d.id.clone(),
        agency_id: d.agency_id.clone(),
        case_id: d.case_id.clone(),
        case_kind: d.case_kind.clone(),
        status: status.to_owned(),
        version: d.version,
        content: content::to_json(&kept)?,
        facts: "{}".to_owned(),
        decided_at: d.decided_at,
        decision_date: d.decision_date.clone(),
        due_date: String::new(),
        due_provisional: false,
        published_at: d.published_at,
        publication_end: d.publication_end.clone(),
        publication_end_at: d.publication_end_at,
        exclusion_code: None,
        exclusion_reason: None,
        revision: None,
        revised_at: None,
        withdrawal_reason: None,
        withdrawal_due_date: None,
        withdrawal_due_provisional: false,
        withdrawn_at: None,
        correction_reason: None,
        ended_at: Some(ended),
        listed_seq: d.listed_seq,
        feed_seq: d.feed_seq,
        updated_at: d.updated_at,
    }))
}

/// Whether the public may see the disclosure at `now`.
pub fn is_public(d: &disclosure::Model, now: Timestamp) -> bool {
    PUBLIC_STATUSES.contains(&d.status.as_str())
        && d.listed_seq.is_some()
        && d.publication_end_at.is_none_or(|end| end > now.micros())
}

/// A disclosure as its readers see it at a moment: the row (with the status it shows, e.g.
/// [`DisclosureStatus::Expired`]), its stored columns read into typed values.
#[derive(Debug, Clone)]
pub struct DisclosureView {
    pub row: disclosure::Model,
    pub status: DisclosureStatus,
    pub case_kind: CaseKind,
    pub content: Content,
    /// Past a due date today (agency zone) and not done.
    pub overdue: bool,
    /// What a publisher confirming it should look at (staff only: these are never public).
    pub held_spans: Vec<content::HeldSpan>,
    /// When it left the public listings, if it has.
    pub ended_at: Option<i64>,
}

/// A disclosure as seen at `now`; `today` is the agency's local date. A stored column that
/// cannot be read is DATA_LOSS naming it.
pub fn view_at(d: disclosure::Model, today: NaiveDate, now: Timestamp) -> Result<DisclosureView> {
    let ended_at = left_listing_at(&d, now);
    let d = seen_at(d, now);
    let content: Content = content::from_json(&d.content)?;
    let overdue = overdue(&d, today);
    let status = DisclosureStatus::from_stored(&d.status, &format!("disclosure {}", d.id))?;
    let case_kind = CaseKind::parse(&d.case_kind)
        .ok_or_else(|| Error::DataLoss(format!("disclosures.case_kind of disclosure {} cannot be read", d.id)))?;
    let held_spans = if status.awaits_confirmation() { content::held_spans(&content) } else { Vec::new() };
    Ok(DisclosureView { row: d, status, case_kind, content, overdue, held_spans, ended_at })
}

/// A publisher's confirmation of a disclosure that waited for it (PublishDisclosure).
#[derive(Debug, Clone, Default)]
pub struct PublishDisclosure {
    pub request_id: String,
    /// Digest of the request as received: a retry must repeat it.
    pub request_digest: String,
    pub disclosure_id: DisclosureId,
}

/// A withdrawal of a published disclosure (WithdrawDisclosure).
#[derive(Debug, Clone, Default)]
pub struct WithdrawDisclosure {
    pub request_id: String,
    pub request_digest: String,
    pub disclosure_id: DisclosureId,
    pub reason: String,
}

/// A correction of a disclosure's content (CorrectDisclosure).
#[derive(Debug, Clone, Default)]
pub struct CorrectDisclosure {
    pub request_id: String,
    pub request_digest: String,
    pub disclosure_id: DisclosureId,
    pub reason: String,
    /// Names to mask in addition to those masking found.
    pub mask_names: Vec<String>,
    /// A new withdrawal reason, for a withdrawn entry.
    pub withdrawal_reason: String,
}

/// An early end of a disclosure's publication (EndPublication).
#[derive(Debug, Clone, Default)]
pub struct EndPublication {
    pub request_id: String,
    pub request_digest: String,
    pub disclosure_id: DisclosureId,
    pub reason: String,
}

/// A listing cursor: the public listing pages by place in the feed (`l<seq>`), the staff
/// listing by disclosure id (`s<id>`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cursor {
    Listed(i64),
    Staff(String),
}

impl Cursor {
    fn parse(s: &str) -> Result<Option<Self>> {
        let bad = || Error::invalid("cursor", "not a cursor returned by a previous page");
        match s.trim() {
            "" => Ok(None),
            // Places in the listing are positive: `l-1`, `l+1` or `l0` came from no page.
            s if s.starts_with('l') && s.len() > 1 && s[1..].bytes().all(|b| b.is_ascii_digit()) => {
                s[1..].parse().ok().filter(|n| *n > 0).map(|n| Some(Self::Listed(n))).ok_or_else(bad)
            }
            s if s.starts_with('s') && s.len() > 1 => Ok(Some(Self::Staff(s[1..].to_owned()))),
            _ => Err(bad()),
        }
    }
}

impl Publicity {
    /// Publicity over `recorder`, reading the legal review's records through `reviews`.
    pub fn new(recorder: Recorder, reviews: Arc<dyn ReviewRecords>) -> Self {
        // The segmenter masking uses loads its dictionary once per process: load it now, beside
        // start-up, rather than inside the first decision's publication.
        std::thread::spawn(sanxiang_domain::masking::names::warm_up);
        Self { recorder, reviews, changed: Arc::new(Notify::new()), statistics: StatisticsPolicy::default() }
    }

    /// The same, counting and showing statistics under `policy`.
    #[must_use]
    pub fn with_statistics(self, policy: StatisticsPolicy) -> Self {
        Self { statistics: policy, ..self }
    }

    /// How statistics are counted and shown.
    pub fn statistics_policy(&self) -> StatisticsPolicy {
        self.statistics
    }

    /// The record this works on.
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    /// The legal review's records.
    pub fn reviews(&self) -> &dyn ReviewRecords {
        self.reviews.as_ref()
    }

    /// Woken when this process commits a change to the public feed.
    pub fn changed(&self) -> &Arc<Notify> {
        &self.changed
    }

    /// Now, by the injected clock.
    pub fn now(&self) -> Timestamp {
        self.recorder.clock().now()
    }

    async fn agency(&self, id: &AgencyId) -> Result<(agency::Model, Tz)> {
        let a = self.recorder.registry().agency(id).await?;
        let tz = stored_zone(&a.time_zone)?;
        Ok((a, tz))
    }

    /// The agency's local date today.
    pub async fn today(&self, agency_id: &AgencyId) -> Result<NaiveDate> {
        let (_, tz) = self.agency(agency_id).await?;
        Ok(local_date(self.now(), tz))
    }

    /// The agency's publicity policy.
    pub async fn policy(&self, agency_id: &AgencyId) -> Result<Policy> {
        policy::load(self.recorder.db(), agency_id).await
    }

    /// Sets the agency's publicity policy. The caller must be authorised to configure the
    /// agency's publicity.
    pub async fn put_policy(&self, who: &Principal, p: &PolicyForm, regime_defaults: bool) -> Result<Policy> {
        let policy = Policy::from_form(p, regime_defaults)?;
        policy::store(self.recorder.db(), &p.agency_id, &policy, &who.id, self.now()).await?;
        Ok(policy)
    }

    /// A disclosure by id, unauthorised.
    pub async fn disclosure(&self, id: &DisclosureId) -> Result<disclosure::Model> {
        disclosure::Entity::find_by_id(id.clone())
            .one(self.recorder.db())
            .await
            .map_err(db_error)?
            .ok_or_else(|| Error::not_found("disclosure", id))
    }

    /// A row as seen now, with its agency's local date.
    pub async fn view(&self, d: disclosure::Model) -> Result<DisclosureView> {
        let today = self.today(&d.agency_id).await?;
        view_at(d, today, self.now())
    }

    /// Rows of several agencies as seen now.
    pub async fn views(&self, rows: Vec<disclosure::Model>) -> Result<Vec<DisclosureView>> {
        let mut days: HashMap<AgencyId, NaiveDate> = HashMap::new();
        let mut out = Vec::with_capacity(rows.len());
        for d in rows {
            let today = match days.get(&d.agency_id) {
                Some(t) => *t,
                None => {
                    let t = self.today(&d.agency_id).await?;
                    days.insert(d.agency_id.clone(), t);
                    t
                }
            };
            out.push(view_at(d, today, self.now())?);
        }
        Ok(out)
    }

    /// The disclosure planned for a decision issued now on `draft` in `case` of `agency` (zone
    /// `tz`): its status (published at once, waiting for confirmation, or excluded with the
    /// reason), due date, masked content and publication period. Returns the rows to commit with
    /// the `decision` event and what the event's payload records about it.
    pub async fn plan_decision(
        &self,
        agency: &agency::Model,
        tz: Tz,
        case: &case::Model,
        draft: &draft::Model,
    ) -> Result<(Arc<dyn Attachment>, Value)> {
        let policy = self.policy(&case.agency_id).await?;
        let calendar = self.recorder.registry().calendar().await?;
        let now = self.now();
        let today = local_date(now, tz);
        let kind = CaseKind::parse(&case.kind)
            .ok_or_else(|| Error::DataLoss(format!("cases.kind of case {} cannot be read", case.id)))?;
        let rk = result_kind(kind);
        let party = Party::from_stored(&case.party, &case.id)?;
        let d = DraftContent::parse(&draft.id, &draft.content)?;
        let facts = content::facts(&draft.id, &d);
        let exclusion = policy.disclosure.exclusion(
            rk,
            &ExclusionFacts {
                penalties: facts.publication().penalties,
                // The flag, or a natural person's ID number showing an age under 18 on the
                // decision date in the agency's zone (RULES P4).
                minor: party.is_minor || (party.is_natural_person() && id_shows_minor(&party.id_number, today)),
                state_secret: d.state_secret,
                trade_secret: d.trade_secret,
                personal_privacy: d.personal_privacy,
                summary_procedure: kind == CaseKind::Penalty && !d.ordinary_procedure,
            },
        );
        let due = policy.disclosure.disclosure_due(&calendar, today, rk);
        let public_names = self.public_names(agency, &case.id).await?;
        let masker = content::masker(policy.masking, &party, &d, &[], &public_names)?;
        let public = content::build(
            Source {
                agency_name: &agency.name,
                agency_credit_code: &agency.credit_code,
                party: &party,
                draft: &d,
                document_number: "",
                decision_date: &today.to_string(),
            },
            &masker,
        );
        // Fail closed: what still resembles personal data after masking holds the automatic
        // publication for a publisher's confirmation.
        let suspicious = content::suspicious(&public);
        let status = match (exclusion, policy.disclosure.auto_publish) {
            (Some(_), _) => status::EXCLUDED,
            (None, true) if suspicious.is_empty() => status::PUBLISHED,
            (None, true) => status::HELD,
            (None, false) => status::PENDING,
        };
        let (end, end_at) = if status == status::PUBLISHED {
            let end = policy.disclosure.publication_end(today, &facts.publication());
            (Some(end.to_string()), Some(end_instant(end, tz)))
        } else {
            (None, None)
        };
        let row = disclosure::Model {
            // One disclosure per decided case: its id is the case's, so a retried decision
            // plans the same row.
            id: DisclosureId::of_decision(&case.id),
            agency_id: case.agency_id.clone(),
            case_id: case.id.clone(),
            case_kind: case.kind.clone(),
            status: status.to_owned(),
            version: 1,
            content: content::to_json(&public)?,
            facts: serde_json::to_string(&facts).map_err(|e| Error::Internal(e.to_string()))?,
            decided_at: now.micros(),
            decision_date: today.to_string(),
            due_date: due.date.to_string(),
            due_provisional: due.provisional,
            published_at: None,
            publication_end: end.clone(),
            publication_end_at: end_at,
            exclusion_code: exclusion.map(|e| e.code().to_owned()),
            exclusion_reason: exclusion.map(|e| e.label().to_owned()),
            revision: None,
            revised_at: None,
            withdrawal_reason: None,
            withdrawal_due_date: None,
            withdrawal_due_provisional: false,
            withdrawn_at: None,
            correction_reason: None,
            ended_at: None,
            listed_seq: None,
            feed_seq: None,
            updated_at: now.micros(),
        };
        let mut record = Value::object()
            .with("id", row.id.as_str())
            .with("status", status)
            .with("due_date", row.due_date.as_str())
            .with("due_provisional", due.provisional);
        if let Some(e) = exclusion {
            record = record.with("exclusion", e.code());
        }
        if status == status::HELD {
            // Where and what, never the text itself: the record is exported and verified.
            let spans: Vec<Value> = suspicious
                .iter()
                .map(|(field, s)| {
                    Value::object()
                        .with("field", *field)
                        .with("start", s.start as u64)
                        .with("end", s.end as u64)
                        .with("kind", s.kind.as_str())
                })
                .collect();
            record = record.with("held_spans", Value::Array(spans));
        }
        if let Some(end) = end {
            record = record.with("publication_end", end);
        }
        Ok((Arc::new(NewDisclosure { row }), record))
    }

    /// What a revision of the case's decision does to its disclosure (RULES P6): a published
    /// disclosure is withdrawn at once (automatic publication) or owes a withdrawal within 3
    /// working days with the masked reason; one not yet published is cancelled. `None` when
    /// the decision has no disclosure. The 3 working days count from the revision's own date
    /// (`revised_at`, in the agency's zone), not from when it is recorded: a revision recorded
    /// late may be overdue at once (处罚法 Art. 48).
    pub async fn plan_revision(
        &self,
        case: &case::Model,
        revision: &str,
        why: &str,
        revised_at: Timestamp,
    ) -> Result<Option<Arc<dyn Attachment>>> {
        let Some(d) = disclosure::Entity::find_by_id(DisclosureId::of_decision(&case.id))
            .one(self.recorder.db())
            .await
            .map_err(db_error)?
        else {
            return Ok(None);
        };
        let (_, tz) = self.agency(&case.agency_id).await?;
        let policy = self.policy(&case.agency_id).await?;
        let calendar = self.recorder.registry().calendar().await?;
        let due = withdrawal_due(&calendar, local_date(revised_at, tz));
        let masked = self.masker_for(&d, case, &policy).await?.mask_text(why);
        let auto = policy.disclosure.auto_publish;
        // What the revision does to a published disclosure is recorded in its event (the
        // `withdrawal` member), so the chain anchors the public reason and the due date; the
        // row must still have the status seen here when the event commits.
        let (from, payload): (&'static [&'static str], _) = if d.status == status::PUBLISHED {
            let member = Value::object()
                .with("disclosure_id", d.id.as_str())
                .with("reason", masked.as_str())
                .with("due_date", due.date.to_string())
                .with("due_provisional", due.provisional)
                .with("at_once", auto);
            (&[status::PUBLISHED], Some(("withdrawal", member)))
        } else {
            (&NOT_PUBLISHED, None)
        };
        let revision = revision.to_owned();
        let apply: Apply = Arc::new(move |mut row: disclosure::Model, ev: &event::Model| {
            row.revision = Some(revision.clone());
            row.revised_at = Some(ev.occurred_at);
            match row.status.as_str() {
                status::PUBLISHED => {
                    row.withdrawal_reason = Some(masked.clone());
                    row.withdrawal_due_date = Some(due.date.to_string());
                    row.withdrawal_due_provisional = due.provisional;
                    if auto {
                        row.status = status::WITHDRAWN.to_owned();
                        row.withdrawn_at = Some(ev.recorded_at);
                        row.feed_seq = Some(ev.global_seq);
                    } else {
                        row.status = status::WITHDRAWAL_PENDING.to_owned();
                    }
                }
                status::PENDING | status::HELD => row.status = status::CANCELLED.to_owned(),
                _ => {}
            }
            Ok(row)
        });
        Ok(Some(Arc::new(Change {
            id: d.id,
            from,
            rule: "concurrent-change",
            message: "the disclosure changed while the revision was being recorded; try again".into(),
            missing_ok: true,
            apply,
            payload,
        })))
    }

    /// Tells watchers that the feed changed.
    pub fn notify(&self) {
        self.changed.notify_waiters();
    }

    /// What the disclosure's content is made from: its decision's draft and its case's party.
    async fn decision_source(
        &self,
        d: &disclosure::Model,
        case: &case::Model,
        facts: &Facts,
    ) -> Result<(DraftContent, Party)> {
        let (draft_id, content) = self
            .reviews
            .draft_contents(std::slice::from_ref(&facts.draft_id))
            .await?
            .pop()
            .ok_or_else(|| Error::DataLoss(format!("draft {} of disclosure {}", facts.draft_id, d.id)))?;
        Ok((DraftContent::parse(&draft_id, &content)?, Party::from_stored(&case.party, &case.id)?))
    }

    /// The masking pipeline the disclosure's content was made with.
    async fn masker_for(
        &self,
        d: &disclosure::Model,
        case: &case::Model,
        policy: &Policy,
    ) -> Result<sanxiang_domain::masking::Masker> {
        let facts = stored_facts(d)?;
        let (draft, party) = self.decision_source(d, case, &facts).await?;
        let (agency, _) = self.agency(&d.agency_id).await?;
        let public = self.public_names(&agency, &case.id).await?;
        content::masker(policy.masking, &party, &draft, &facts.extra_masked_names, &public)
    }

    /// The public names of a case's decision: the agency's and the officers' who acted in the
    /// case (their names are published with their acts; masking them would garble the text).
    async fn public_names(&self, agency: &agency::Model, case_id: &CaseId) -> Result<content::PublicNames> {
        let ids = self.recorder.officers_in_case(case_id).await?;
        let officers = self.recorder.registry().officer_names(ids).await?;
        Ok(content::PublicNames { officers, agency: agency.name.clone() })
    }

    /// Appends a publicity event with its change to the disclosure, and wakes watchers.
    async fn record(
        &self,
        who: &Principal,
        d: &disclosure::Model,
        kind: EventKind,
        (request_id, asked): (String, String),
        payload: Value,
        change: Change,
    ) -> Result<disclosure::Model> {
        let mut ev = NewEvent::act(Target::Case(d.case_id.clone()), kind, self.now(), &who.id, request_id, payload);
        // A retry is compared by its request: the event's time is that of the attempt.
        ev.request_digest = Some(asked);
        ev.attachments.push(Arc::new(change));
        self.recorder.writer().append(ev).await?;
        self.notify();
        self.disclosure(&d.id).await
    }

    /// Publishes a disclosure that waited for confirmation (RULES P3).
    /// The caller must be authorised to publish `d`.
    pub async fn publish(
        &self,
        who: &Principal,
        d: disclosure::Model,
        r: PublishDisclosure,
    ) -> Result<disclosure::Model> {
        let request_id = (request_id(&r.request_id)?, r.request_digest.clone());
        let (_, tz) = self.agency(&d.agency_id).await?;
        let policy = self.policy(&d.agency_id).await?;
        let facts = stored_facts(&d)?;
        let today = local_date(self.now(), tz);
        let end = policy.disclosure.publication_end(today, &facts.publication());
        let payload = Value::object()
            .with("disclosure_id", d.id.as_str())
            .with("version", d.version)
            .with("content_sha256", content::digest(&d.content))
            .with("publication_end", end.to_string());
        let apply: Apply = Arc::new(move |mut row, ev| {
            row.status = status::PUBLISHED.to_owned();
            row.published_at = Some(ev.recorded_at);
            row.listed_seq = Some(ev.global_seq);
            row.feed_seq = Some(ev.global_seq);
            row.publication_end = Some(end.to_string());
            row.publication_end_at = Some(end_instant(end, tz));
            Ok(row)
        });
        let change = Change {
            id: d.id.clone(),
            from: &status::AWAITING_CONFIRMATION,
            rule: "P3.publish-pending",
            message: "only a disclosure waiting for confirmation can be published".into(),
            missing_ok: false,
            apply,
            payload: None,
        };
        self.record(who, &d, EventKind::DisclosurePublished, request_id, payload, change).await
    }

    /// Publishes the withdrawal of a disclosure whose decision was revised (RULES P6).
    /// The caller must be authorised to publish `d`.
    pub async fn withdraw(
        &self,
        who: &Principal,
        d: disclosure::Model,
        r: WithdrawDisclosure,
    ) -> Result<disclosure::Model> {
        let request_id = (request_id(&r.request_id)?, r.request_digest.clone());
        let given = reason("reason", &r.reason, false)?;
        let reason = if given.is_empty() {
            d.withdrawal_reason.clone().unwrap_or_default()
        } else {
            let case = self.recorder.case(&d.case_id).await?;
            let policy = self.policy(&d.agency_id).await?;
            self.masker_for(&d, &case, &policy).await?.mask_text(&given)
        };
        let payload = Value::object().with("disclosure_id", d.id.as_str()).with("reason", reason.as_str());
        let apply: Apply = Arc::new(move |mut row, ev| {
            row.status = status::WITHDRAWN.to_owned();
            row.withdrawn_at = Some(ev.recorded_at);
            row.feed_seq = Some(ev.global_seq);
            row.withdrawal_reason = Some(reason.clone());
            Ok(row)
        });
        let change = Change {
            id: d.id.clone(),
            from: &[status::WITHDRAWAL_PENDING],
            rule: "P6.withdraw-after-revision",
            message: "a disclosure is withdrawn after its decision was changed, revoked, or confirmed illegal or void"
                .into(),
            missing_ok: false,
            apply,
            payload: None,
        };
        self.record(who, &d, EventKind::DisclosureWithdrawn, request_id, payload, change).await
    }

    /// Publishes a corrected version of a disclosure: the content is masked again with the
    /// further names given (RULES P5). A published disclosure stays published; a held one is
    /// published in its corrected version (the correction is the publisher's confirmation); a
    /// withdrawn one keeps its withdrawal, with its public reason corrected
    /// (`withdrawal_reason`, or the stored reason masked again with the further names).
    /// The caller must be authorised to publish `d`.
    pub async fn correct(
        &self,
        who: &Principal,
        d: disclosure::Model,
        r: CorrectDisclosure,
    ) -> Result<disclosure::Model> {
        const CORRECTABLE: [&str; 3] = [status::PUBLISHED, status::HELD, status::WITHDRAWN];
        let request_id = (request_id(&r.request_id)?, r.request_digest.clone());
        let why = reason("reason", &r.reason, true)?;
        let new_withdrawal_reason = reason("withdrawal_reason", &r.withdrawal_reason, false)?;
        if !CORRECTABLE.contains(&d.status.as_str()) {
            return Err(Error::precondition(
                "P5.correct-published",
                format!("only a published, held or withdrawn disclosure is corrected (the disclosure is {})", d.status),
            ));
        }
        if !new_withdrawal_reason.is_empty() && d.status != status::WITHDRAWN {
            return Err(Error::invalid("withdrawal_reason", "only a withdrawn disclosure has a withdrawal reason"));
        }
        let mut facts = stored_facts(&d)?;
        for (i, name) in r.mask_names.iter().enumerate() {
            let n = name.trim();
            if n.chars().count() < 2 || n.chars().count() > 32 {
                return Err(Error::invalid(format!("mask_names[{i}]"), "a name of 2 to 32 characters"));
            }
            if !facts.extra_masked_names.iter().any(|x| x == n) {
                facts.extra_masked_names.push(n.to_owned());
            }
        }
        let case = self.recorder.case(&d.case_id).await?;
        let (agency, tz) = self.agency(&d.agency_id).await?;
        let policy = self.policy(&d.agency_id).await?;
        let (draft_content, party) = self.decision_source(&d, &case, &facts).await?;
        let public_names = self.public_names(&agency, &case.id).await?;
        let masker = content::masker(policy.masking, &party, &draft_content, &facts.extra_masked_names, &public_names)?;
        let old = content::from_json(&d.content)?;
        let public = content::build(
            Source {
                agency_name: &agency.name,
                agency_credit_code: &agency.credit_code,
                party: &party,
                draft: &draft_content,
                document_number: &old.document_number,
                decision_date: &old.decision_date,
            },
            &masker,
        );
        let json = content::to_json(&public)?;
        let facts_json = serde_json::to_string(&facts).map_err(|e| Error::Internal(e.to_string()))?;
        let version = d.version + 1;
        let masked_why = masker.mask_text(&why);
        let withdrawal_reason = if d.status != status::WITHDRAWN {
            None
        } else if new_withdrawal_reason.is_empty() {
            Some(masker.mask_text(d.withdrawal_reason.as_deref().unwrap_or_default()))
        } else {
            Some(masker.mask_text(&new_withdrawal_reason))
        };
        // A held disclosure is published by its correction: its period starts today.
        let publish_end = (d.status == status::HELD).then(|| {
            let end = policy.disclosure.publication_end(local_date(self.now(), tz), &facts.publication());
            (end, end_instant(end, tz))
        });
        let mut payload = Value::object()
            .with("disclosure_id", d.id.as_str())
            .with("version", version)
            .with("reason", masked_why.as_str())
            .with("content_sha256", content::digest(&json));
        if let Some(w) = &withdrawal_reason {
            payload = payload.with("withdrawal_reason", w.as_str());
        }
        if let Some((end, _)) = publish_end {
            payload = payload.with("publication_end", end.to_string());
        }
        let apply: Apply = Arc::new(move |mut row, ev| {
            row.version = version;
            row.content = json.clone();
            row.facts = facts_json.clone();
            row.correction_reason = Some(masked_why.clone());
            row.feed_seq = Some(ev.global_seq);
            if let Some(w) = &withdrawal_reason {
                row.withdrawal_reason = Some(w.clone());
            }
            if let Some((end, end_at)) = publish_end {
                row.status = status::PUBLISHED.to_owned();
                row.published_at = Some(ev.recorded_at);
                row.listed_seq = Some(ev.global_seq);
                row.publication_end = Some(end.to_string());
                row.publication_end_at = Some(end_at);
            }
            Ok(row)
        });
        // The status read above must still hold when the event commits.
        let from: &'static [&'static str] = match d.status.as_str() {
            status::HELD => &[status::HELD],
            status::WITHDRAWN => &[status::WITHDRAWN],
            _ => &[status::PUBLISHED],
        };
        let change = Change {
            id: d.id.clone(),
            from,
            rule: "P5.correct-published",
            message: "only a published, held or withdrawn disclosure is corrected".into(),
            missing_ok: false,
            apply,
            payload: None,
        };
        self.record(who, &d, EventKind::DisclosureCorrected, request_id, payload, change).await
    }

    /// Ends a publication early on the party's request (RULES P7), where the penalty allows it.
    /// The caller must be authorised to publish `d`.
    pub async fn end_publication(
        &self,
        who: &Principal,
        d: disclosure::Model,
        r: EndPublication,
    ) -> Result<disclosure::Model> {
        let request_id = (request_id(&r.request_id)?, r.request_digest.clone());
        let why = reason("reason", &r.reason, true)?;
        if d.status != status::PUBLISHED {
            return Err(Error::precondition(
                "P7.end-published",
                format!("only a published disclosure is ended early (the disclosure is {})", d.status),
            ));
        }
        let (_, tz) = self.agency(&d.agency_id).await?;
        let policy = self.policy(&d.agency_id).await?;
        let facts = stored_facts(&d)?;
        let published_on = local_date(Timestamp::from_micros(d.published_at.unwrap_or(d.decided_at)), tz);
        policy.disclosure.may_stop_early(&facts.publication(), published_on, local_date(self.now(), tz))?;
        let case = self.recorder.case(&d.case_id).await?;
        let masked_why = self.masker_for(&d, &case, &policy).await?.mask_text(&why);
        let payload = Value::object().with("disclosure_id", d.id.as_str()).with("reason", masked_why.as_str());
        let apply: Apply = Arc::new(move |mut row, ev| {
            row.status = status::ENDED.to_owned();
            row.ended_at = Some(ev.recorded_at);
            row.feed_seq = Some(ev.global_seq);
            Ok(row)
        });
        let change = Change {
            id: d.id.clone(),
            from: &[status::PUBLISHED],
            rule: "P7.end-published",
            message: "only a published disclosure is ended early".into(),
            missing_ok: false,
            apply,
            payload: None,
        };
        self.record(who, &d, EventKind::PublicationEnded, request_id, payload, change).await
    }

    /// One disclosure as the public sees it: in full while it is public, as a [`tombstone`]
    /// once it has left the listings (RULES P7), else NOT_FOUND. The agency's staff read the
    /// row itself ([`Self::disclosure`]).
    pub async fn get(&self, id: &DisclosureId) -> Result<disclosure::Model> {
        self.public_view(self.disclosure(id).await?)
    }

    /// [`Self::get`] of a row already read.
    pub fn public_view(&self, d: disclosure::Model) -> Result<disclosure::Model> {
        let now = self.now();
        if is_public(&d, now) {
            return Ok(d);
        }
        let id = d.id.clone();
        tombstone(&d, now)?.ok_or_else(|| Error::not_found("disclosure", id))
    }

    /// The public listing, newest first, `limit` entries after `cursor`: published entries
    /// within their publication period and withdrawals. Keyset pagination on the feed position
    /// (index `disclosures_listed`), so a page deep in the listing costs what the first does and
    /// entries published meanwhile never shift the pages.
    pub async fn public_page(&self, agency_id: Option<&AgencyId>, cursor: &str, limit: u32) -> Result<Page> {
        self.public_page_of(agency_id, None, cursor, limit).await
    }

    /// [`Self::public_page`], of one case kind only (`penalty`, `licensing`, …) when given.
    pub async fn public_page_of(
        &self,
        agency_id: Option<&AgencyId>,
        case_kind: Option<&str>,
        cursor: &str,
        limit: u32,
    ) -> Result<Page> {
        let limit = page_size(limit)?;
        let after = match Cursor::parse(cursor)? {
            None => None,
            Some(Cursor::Listed(n)) => Some(n),
            Some(Cursor::Staff(_)) => return Err(Error::invalid("cursor", "a staff cursor, not a public one")),
        };
        let now = self.now().micros();
        let mut q = disclosure::Entity::find()
            .filter(disclosure::Column::ListedSeq.is_not_null())
            .filter(disclosure::Column::Status.is_in(PUBLIC_STATUSES))
            .filter(
                Condition::any()
                    .add(disclosure::Column::PublicationEndAt.is_null())
                    .add(disclosure::Column::PublicationEndAt.gt(now)),
            );
        if let Some(a) = agency_id.filter(|a| !a.is_empty()) {
            q = q.filter(disclosure::Column::AgencyId.eq(a));
        }
        if let Some(k) = case_kind {
            q = q.filter(disclosure::Column::CaseKind.eq(k));
        }
        if let Some(n) = after {
            q = q.filter(disclosure::Column::ListedSeq.lt(n));
        }
        let rows = q
            .order_by_desc(disclosure::Column::ListedSeq)
            .limit(u64::from(limit) + 1)
            .all(self.recorder.db())
            .await
            .map_err(db_error)?;
        Ok(Page::listed(rows, limit))
    }

    /// The staff listing of an agency: every disclosure, newest case first. The caller must be
    /// authorised to read the agency's record.
    pub async fn staff_page(&self, agency_id: &AgencyId, cursor: &str, limit: u32) -> Result<Page> {
        let limit = page_size(limit)?;
        let mut q = disclosure::Entity::find().filter(disclosure::Column::AgencyId.eq(agency_id));
        match Cursor::parse(cursor)? {
            None => {}
            Some(Cursor::Staff(id)) => q = q.filter(disclosure::Column::Id.lt(id)),
            Some(Cursor::Listed(_)) => return Err(Error::invalid("cursor", "a public cursor, not a staff one")),
        }
        let mut rows = q
            .order_by_desc(disclosure::Column::Id)
            .limit(u64::from(limit) + 1)
            .all(self.recorder.db())
            .await
            .map_err(db_error)?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_cursor = if more { rows.last().map(|r| format!("s{}", r.id)) } else { None };
        Ok(Page { rows, next_cursor, valid_until: None })
    }

    /// Public changes after feed position `after`, oldest first: publications, corrections,
    /// withdrawals and ends of publication (for watchers and the Atom feed).
    pub async fn changes_after(
        &self,
        agency_id: Option<&AgencyId>,
        after: i64,
        limit: u64,
    ) -> Result<Vec<disclosure::Model>> {
        let mut q = disclosure::Entity::find()
            .filter(disclosure::Column::FeedSeq.gt(after))
            .filter(disclosure::Column::Status.is_in([status::PUBLISHED, status::WITHDRAWN, status::ENDED]));
        if let Some(a) = agency_id.filter(|a| !a.is_empty()) {
            q = q.filter(disclosure::Column::AgencyId.eq(a));
        }
        q.order_by_asc(disclosure::Column::FeedSeq).limit(limit).all(self.recorder.db()).await.map_err(db_error)
    }

    /// The latest public changes, newest first (for the Atom feed).
    pub async fn latest_changes(&self, agency_id: Option<&AgencyId>, limit: u64) -> Result<Vec<disclosure::Model>> {
        let mut q = disclosure::Entity::find()
            .filter(disclosure::Column::FeedSeq.is_not_null())
            .filter(disclosure::Column::Status.is_in([status::PUBLISHED, status::WITHDRAWN, status::ENDED]));
        if let Some(a) = agency_id.filter(|a| !a.is_empty()) {
            q = q.filter(disclosure::Column::AgencyId.eq(a));
        }
        q.order_by_desc(disclosure::Column::FeedSeq).limit(limit).all(self.recorder.db()).await.map_err(db_error)
    }

    /// The newest feed position (0 when nothing was published yet).
    pub async fn feed_head(&self) -> Result<i64> {
        let row = disclosure::Entity::find()
            .filter(disclosure::Column::FeedSeq.is_not_null())
            .order_by_desc(disclosure::Column::FeedSeq)
            .one(self.recorder.db())
            .await
            .map_err(db_error)?;
        Ok(row.and_then(|r| r.feed_seq).unwrap_or(0))
    }
}

fn page_size(limit: u32) -> Result<u32> {
    match limit {
        0 => Ok(DEFAULT_PAGE),
        n if n > MAX_PAGE => Err(Error::invalid("limit", format!("at most {MAX_PAGE}"))),
        n => Ok(n),
    }
}
