//! Registry use cases over the database.

use sanxiang_domain::id::{AgencyId, CaseId, OfficerId, PrincipalId};
use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;
use rand::RngCore;
use sanxiang_domain::calendar::{WorkCalendar, YearSchedule};
use sanxiang_domain::catalog::Catalog;
use sanxiang_domain::credit_code::CreditCode;
use sanxiang_domain::error::same_request;
use sanxiang_domain::filing::AgencyKind;
use sanxiang_domain::id::new_id;
use sanxiang_domain::lifecycle::EventKind;
use sanxiang_domain::limits::{self, MAX_CODE, MAX_NAME};
use sanxiang_domain::officer::{
    Certificate, CertificateEvent, CertificateEventKind, CertificateKind, CertificateState, OfficerStatus,
    ReviewPolicy, Validity, zone,
};
use sanxiang_domain::{Error, Result, Sha256Digest, TimeProvider, Timestamp};
use sanxiang_store::entity::{
    agency, calendar_year, catalog, certificate_event, officer, officer_status_change, principal, refusal, sequence,
    token,
};
use sanxiang_store::{Db, db::is_unique_violation, db_error};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};

use crate::directory::{self, Directory, Version};
use serde::{Deserialize, Serialize};

use crate::auth::{Principal, Role, Scope, TokenHash};

/// Default window after capture within which evidence should be uploaded (RULES R6).
pub const DEFAULT_UPLOAD_WINDOW_HOURS: u32 = 24;

/// The registry: agencies, officers, principals and tokens.
#[derive(Debug, Clone)]
pub struct Registry {
    db: Db,
    clock: Arc<dyn TimeProvider>,
    /// Tokens, officers and agencies answered from memory (see [`crate::directory`]).
    directory: Arc<Directory>,
    /// The annual-review policy certificates are judged by (RULES C4, C6).
    review_policy: ReviewPolicy,
}

/// One item of a power list, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PowerItem {
    pub name: String,
    pub category: String,
    pub legal_basis: String,
}

/// An agency's recording policy, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingPolicy {
    /// Canonical names of event kinds that need a recording beyond the statutory ones.
    pub additional_required_kinds: Vec<String>,
}

/// The stored recording policy of agency `a`. A column that cannot be read, or that names an
/// act this build does not know, is DATA_LOSS: a default or a skipped kind would silently drop
/// recordings the agency requires (R3).
pub fn recording_policy(a: &agency::Model) -> Result<RecordingPolicy> {
    let unreadable = || Error::DataLoss(format!("agencies.recording_policy of agency {} cannot be read", a.id));
    let policy: RecordingPolicy = serde_json::from_str(&a.recording_policy).map_err(|_| unreadable())?;
    if policy.additional_required_kinds.iter().any(|k| EventKind::parse(k).is_none()) {
        return Err(unreadable());
    }
    Ok(policy)
}

/// The agency's power list (权力清单, RULES G1) as stored; unreadable: DATA_LOSS.
pub fn powers(a: &agency::Model) -> Result<Vec<PowerItem>> {
    serde_json::from_str(&a.powers)
        .map_err(|_| Error::DataLoss(format!("agencies.powers of agency {} cannot be read", a.id)))
}

/// The power of `a`'s list named `name` (an act's or decision's `power`, RULES C8.field):
/// `None` for an empty name, INVALID_ARGUMENT `power` for a name not on the list.
pub fn power_named(a: &agency::Model, name: &str) -> Result<Option<PowerItem>> {
    match name.trim() {
        "" => Ok(None),
        name => powers(a)?
            .into_iter()
            .find(|p| p.name == name)
            .map(Some)
            .ok_or_else(|| Error::invalid("power", "not a power of the agency's power list")),
    }
}

/// The fields (categories) of `a`'s power list, each once, in list order: what an act that names
/// no power may use (RULES C8.field).
pub fn power_fields(a: &agency::Model) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for p in powers(a)? {
        let c = p.category.trim().to_owned();
        if !c.is_empty() && !out.contains(&c) {
            out.push(c);
        }
    }
    Ok(out)
}

/// Input of [`Registry::create_agency`].
#[derive(Debug, Clone, Default)]
pub struct NewAgency {
    pub request_id: String,
    /// Digest of the request (`grpc::request_digest`): a retry must be the same request.
    pub request_digest: String,
    pub name: String,
    pub credit_code: String,
    pub region: String,
    pub parent_id: AgencyId,
    pub powers: Vec<PowerItem>,
    pub time_zone: String,
    pub additional_recording_kinds: Vec<EventKind>,
    pub upload_window_hours: u32,
    /// What the agency is (RULES F3); `None`: not set.
    pub kind: Option<AgencyKind>,
    /// The government it belongs to (empty: none); see [`Registry::set_agency_kind`].
    pub government_id: AgencyId,
}

/// Kinds of refused attempts counted for supervisors (RULES S1).
pub mod refusal_kind {
    /// An act naming an officer whose certificate was not valid and active at the time (G3).
    pub const INVALID_CERTIFICATE: &str = "invalid_certificate";
}

/// A refused attempt to record for supervisors (RULES S1): the act itself is not stored, the
/// attempt is.
#[derive(Debug, Clone)]
pub struct Refusal<'a> {
    /// One of [`refusal_kind`].
    pub kind: &'static str,
    pub agency_id: &'a AgencyId,
    /// The officer concerned.
    pub subject_id: &'a OfficerId,
    pub case_id: Option<&'a CaseId>,
    /// The principal whose request was refused: a refusal is attributable.
    pub actor_id: &'a PrincipalId,
    pub detail: String,
}

/// Input of [`Registry::register_officer`].
#[derive(Debug, Clone, Default)]
pub struct NewOfficer {
    pub request_id: String,
    /// Digest of the request (`grpc::request_digest`): a retry must be the same request.
    pub request_digest: String,
    pub agency_id: AgencyId,
    pub name: String,
    pub certificate_number: String,
    pub category: String,
    pub valid_from: String,
    pub valid_until: String,
    pub legal_qualification: bool,
    /// Has decided 行政处罚 legal reviews before, outside this system (RULES G4).
    pub has_prior_review_experience: bool,
    /// The certificate's kind (RULES C1).
    pub certificate_kind: CertificateKind,
    /// Who issued it (C2); may be empty.
    pub issuer: String,
    /// Auxiliary staff (辅助人员, C3).
    pub auxiliary: bool,
    /// The qualification review or an examination has not passed yet (C3).
    pub eligibility_pending: bool,
    /// YYYY-MM-DD of the last annual review (C4); empty: the day of registration.
    pub reviewed_on: String,
    /// The area (执法区域) the certificate covers (C2, C8); empty: the agency's whole area.
    pub area: String,
}

/// Input of [`Registry::record_certificate_event`].
#[derive(Debug, Clone)]
pub struct NewCertificateEvent {
    pub officer_id: OfficerId,
    pub kind: CertificateEventKind,
    /// YYYY-MM-DD in the agency's zone; empty: today.
    pub effective_on: String,
    /// Hours of a training.
    pub training_hours: u32,
    pub reason: String,
    /// The new card of a replacement (C5, C6): its number and validity dates (YYYY-MM-DD);
    /// empty for every other kind.
    pub certificate_number: String,
    pub valid_from: String,
    pub valid_until: String,
}

/// A certificate as supervisors list it (RULES C4–C6, C8).
#[derive(Debug, Clone)]
pub struct CertificateView {
    pub officer: officer::Model,
    pub state: CertificateState,
    /// The day of the last passed annual review (or of registration, C4).
    pub last_review: NaiveDate,
    /// The last day the next annual review may be held.
    pub review_due: NaiveDate,
    /// Within the warning period before the end of validity (C6).
    pub expiring: bool,
    /// Training hours recorded since the last passed review.
    pub training_hours: u32,
}

/// A certificate card as the public verifies it by its number (RULES C2: the QR code on the card
/// leads here): whose it is, which agency, its validity, and whether it may be used today. Only
/// what the roster publishes anyway (RULES P1) and the card's own particulars.
#[derive(Debug, Clone)]
pub struct CardCheck {
    pub number: String,
    pub holder: String,
    pub agency_id: AgencyId,
    pub agency_name: String,
    pub kind: CertificateKind,
    pub category: String,
    pub issuer: String,
    /// The card's own validity dates (a replaced card's, for its number).
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    /// The state of the holder's certificate today; `Ended` for a replaced card's number.
    pub state: CertificateState,
    /// For the number of a replaced card: the day of the replacement and the current card's
    /// number.
    pub replaced: Option<(NaiveDate, String)>,
}

/// Which certificates a listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateFilter {
    All,
    /// The annual review falls due within the warning period, or is past due.
    ReviewDue,
    /// The annual review is past due or failed.
    ReviewOverdue,
    /// Suspended, ended, or pending eligibility: not usable for another reason than dates.
    Suspended,
    /// Validity ends within the warning period.
    Expiring,
}

/// The administrator principal created at first start (`bootstrap_admin`).
pub const ADMIN_ID: &str = "admin";

/// Most powers (权责清单 entries) an agency may be created with.
const MAX_POWERS: usize = 2000;

/// What the record needs to know of an officer to judge an act.
#[derive(Debug, Clone)]
pub struct OfficerInfo {
    pub id: OfficerId,
    pub agency_id: AgencyId,
    pub name: String,
    /// The number of the card the officer holds now.
    pub certificate_number: String,
    /// The enforcement field (执法类别) and area (执法区域) the certificate covers (C8).
    pub category: String,
    pub area: String,
    pub certificate: Certificate,
}

impl OfficerInfo {
    /// The officer as the acting-officer check sees them (`officer::check_acting`).
    pub fn named(&self) -> sanxiang_domain::officer::Named<'_> {
        sanxiang_domain::officer::Named {
            agency_id: &self.agency_id,
            name: &self.name,
            category: &self.category,
            area: &self.area,
            certificate: &self.certificate,
        }
    }
}

fn non_empty(field: &str, value: &str) -> Result<String> {
    let v = value.trim();
    if v.is_empty() { Err(Error::invalid(field, "must not be empty")) } else { Ok(v.to_owned()) }
}

fn parse_date(field: &str, value: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d").map_err(|_| Error::invalid(field, "expected a date YYYY-MM-DD"))
}

/// The principal of a stored row, as a request's caller.
fn principal_of(
    p: &principal::Model,
    officer_unable: Option<String>,
    version: Version,
    token: TokenHash,
) -> Result<Principal> {
    Ok(Principal {
        role: Role::parse(&p.role).ok_or_else(|| Error::Internal(format!("stored role {}", p.role)))?,
        id: p.id.clone(),
        name: p.name.clone(),
        agency_id: p.agency_id.clone(),
        officer_id: p.officer_id.clone(),
        officer_unable,
        directory_version: version,
        token: Some(token),
    })
}

/// The rule of the writer's refusal of an event judged against a directory that has changed
/// since: the request is judged again and retried (`Registry::reauthenticate`), never answered
/// with it unless the directory keeps changing.
pub const DIRECTORY_CHANGED: &str = "directory-changed";

/// Hex SHA-256 of a bearer token: what is stored instead of the token.
pub fn token_hash(token: &str) -> String {
    Sha256Digest::of(token.as_bytes()).to_hex()
}

impl Registry {
    /// A registry over `db`.
    pub fn new(db: Db, clock: Arc<dyn TimeProvider>) -> Self {
        Self { db, clock, directory: Arc::default(), review_policy: ReviewPolicy::default() }
    }

    /// The registry judging certificates by `policy` (RULES C4, C6) instead of the default.
    pub fn with_review_policy(mut self, policy: ReviewPolicy) -> Self {
        self.review_policy = policy;
        self
    }

    /// The annual-review policy in force.
    pub fn review_policy(&self) -> ReviewPolicy {
        self.review_policy
    }

    /// The change counter of the directory (0 before the first change): one primary-key read,
    /// made once per request, so that what is cached is as fresh as the database.
    pub async fn directory_version(&self) -> Result<Version> {
        Ok(sequence::Entity::find_by_id(directory::VERSION_ROW.to_owned())
            .one(&self.db)
            .await
            .map_err(db_error)?
            .map_or(0, |row| row.value))
    }

    /// Counts a change that takes a right away, in the transaction that makes it: every
    /// replica's next request sees the new value and drops what it cached.
    async fn bump_directory(txn: &impl ConnectionTrait) -> Result<()> {
        sequence::Entity::insert(sequence::ActiveModel { name: Set(directory::VERSION_ROW.to_owned()), value: Set(1) })
            .on_conflict(
                OnConflict::column(sequence::Column::Name)
                    .value(sequence::Column::Value, Expr::col((sequence::Entity, sequence::Column::Value)).add(1))
                    .to_owned(),
            )
            .exec(txn)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn TimeProvider> {
        &self.clock
    }

    /// Creates an agency after validating every field; idempotent on `request_id`.
    pub async fn create_agency(&self, input: NewAgency) -> Result<agency::Model> {
        if !input.request_id.is_empty()
            && let Some(existing) = agency::Entity::find()
                .filter(agency::Column::RequestId.eq(&input.request_id))
                .one(&self.db)
                .await
                .map_err(db_error)?
        {
            same_request(&input.request_id, existing.request_digest.as_deref(), &input.request_digest)?;
            return Ok(existing);
        }
        limits::chars("name", &input.name, MAX_NAME)?;
        limits::chars("region", &input.region, MAX_NAME)?;
        limits::chars("credit_code", &input.credit_code, MAX_CODE)?;
        limits::chars("time_zone", &input.time_zone, MAX_CODE)?;
        limits::optional_id("parent_id", &input.parent_id)?;
        limits::count("powers", &input.powers, MAX_POWERS)?;
        for (i, p) in input.powers.iter().enumerate() {
            limits::chars(&format!("powers[{i}].name"), &p.name, MAX_NAME)?;
            limits::chars(&format!("powers[{i}].category"), &p.category, MAX_CODE)?;
            limits::chars(&format!("powers[{i}].legal_basis"), &p.legal_basis, limits::MAX_ADDRESS)?;
        }
        let name = non_empty("name", &input.name)?;
        let code: CreditCode =
            input.credit_code.trim().parse().map_err(|e| Error::invalid("credit_code", format!("{e}")))?;
        let region = non_empty("region", &input.region)?;
        let parent_id = if input.parent_id.is_empty() {
            None
        } else {
            self.agency(&input.parent_id).await.map_err(|_| Error::invalid("parent_id", "no such agency"))?;
            Some(input.parent_id.clone())
        };
        if zone(&input.time_zone).is_none() {
            return Err(Error::invalid("time_zone", "not an IANA time zone name"));
        }
        for (i, p) in input.powers.iter().enumerate() {
            non_empty(&format!("powers[{i}].name"), &p.name)?;
            non_empty(&format!("powers[{i}].legal_basis"), &p.legal_basis)?;
        }
        for (i, k) in input.additional_recording_kinds.iter().enumerate() {
            if k.is_system() {
                return Err(Error::invalid(format!("recording_policy.additional_required_kinds[{i}]"), "not an act"));
            }
        }
        let policy = RecordingPolicy {
            additional_required_kinds: input.additional_recording_kinds.iter().map(|k| k.as_str().to_owned()).collect(),
        };
        let window =
            if input.upload_window_hours == 0 { DEFAULT_UPLOAD_WINDOW_HOURS } else { input.upload_window_hours };
        let government_id = self.check_kind(None, input.kind, parent_id.as_ref(), &input.government_id).await?;
        let model = agency::ActiveModel {
            id: Set(AgencyId::new(self.clock.as_ref())),
            name: Set(name),
            credit_code: Set(code.to_string()),
            region: Set(region),
            parent_id: Set(parent_id),
            powers: Set(serde_json::to_string(&input.powers).map_err(|e| Error::Internal(e.to_string()))?),
            time_zone: Set(if input.time_zone.is_empty() { "Asia/Shanghai".into() } else { input.time_zone.clone() }),
            recording_policy: Set(serde_json::to_string(&policy).map_err(|e| Error::Internal(e.to_string()))?),
            upload_window_hours: Set(i64::from(window)),
            request_id: Set((!input.request_id.is_empty()).then(|| input.request_id.clone())),
            request_digest: Set((!input.request_id.is_empty()).then(|| input.request_digest.clone())),
            created_at: Set(self.clock.now().micros()),
            kind: Set(input.kind.map(|k| k.as_str().to_owned())),
            government_id: Set(government_id),
        };
        model.insert(&self.db).await.map_err(|e| {
            if is_unique_violation(&e) {
                Error::AlreadyExists(format!("an agency with credit code {} exists", input.credit_code.trim()))
            } else {
                db_error(e)
            }
        })
    }

    /// Checks an agency's kind and government (RULES F3; `INVALID_ARGUMENT kind` or
    /// `government_id`): a government names none; any other kind names an agency of kind
    /// government, not itself; an authorised organisation and a vertically managed body file
    /// with their parent too, so need one. Answers the government to store.
    async fn check_kind(
        &self,
        agency_id: Option<&AgencyId>,
        kind: Option<AgencyKind>,
        parent_id: Option<&AgencyId>,
        government_id: &AgencyId,
    ) -> Result<Option<AgencyId>> {
        limits::optional_id("government_id", government_id)?;
        let Some(kind) = kind else {
            if !government_id.is_empty() {
                return Err(Error::invalid("government_id", "only an agency with a kind names its government"));
            }
            return Ok(None);
        };
        if !kind.names_government() {
            if !government_id.is_empty() {
                return Err(Error::invalid("government_id", "a government names none: it is its own"));
            }
            return Ok(None);
        }
        if kind.files_with_parent() && parent_id.is_none() {
            return Err(Error::invalid(
                "kind",
                format!("an agency of kind {} files with its parent too (RULES F3): it needs a parent", kind.as_str()),
            ));
        }
        if government_id.is_empty() {
            return Err(Error::invalid(
                "government_id",
                format!("an agency of kind {} names the government it belongs to (RULES F3)", kind.as_str()),
            ));
        }
        if agency_id == Some(government_id) {
            return Err(Error::invalid("government_id", "not the agency itself"));
        }
        let government = self.agency(government_id).await.map_err(|e| match e {
            Error::NotFound { .. } => Error::invalid("government_id", "no such agency"),
            other => other,
        })?;
        if government.kind.as_deref() != Some(AgencyKind::Government.as_str()) {
            return Err(Error::invalid("government_id", "not an agency of kind government"));
        }
        Ok(Some(government_id.clone()))
    }

    /// Sets what an agency is and the government it belongs to (RULES F3), checked as at
    /// creation; filings of decisions made afterwards are routed by it.
    pub async fn set_agency_kind(
        &self,
        agency_id: &AgencyId,
        kind: Option<AgencyKind>,
        government_id: &AgencyId,
    ) -> Result<agency::Model> {
        let Some(kind) = kind else {
            return Err(Error::invalid("kind", "government, department, authorised or vertical"));
        };
        let a = self.agency(agency_id).await?;
        let government_id = self.check_kind(Some(agency_id), Some(kind), a.parent_id.as_ref(), government_id).await?;
        if kind != AgencyKind::Government
            && let Some(member) = agency::Entity::find()
                .filter(agency::Column::GovernmentId.eq(agency_id.clone()))
                .one(&self.db)
                .await
                .map_err(db_error)?
        {
            return Err(Error::invalid(
                "kind",
                format!("agency {} belongs to this one as its government: it stays a government", member.id),
            ));
        }
        let mut row: agency::ActiveModel = a.into();
        row.kind = Set(Some(kind.as_str().to_owned()));
        row.government_id = Set(government_id);
        let updated = row.update(&self.db).await.map_err(db_error)?;
        if self.directory.agency(agency_id).is_some() {
            self.directory.put_agency(Arc::new(updated.clone()));
        }
        Ok(updated)
    }

    /// An agency by id.
    pub async fn agency(&self, id: &AgencyId) -> Result<agency::Model> {
        limits::id("agency_id", id)?;
        agency::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await
            .map_err(db_error)?
            .ok_or_else(|| Error::not_found("agency", id))
    }

    /// An agency by id, read once per process: for the hot paths that need only what an agency
    /// is created with (its time zone). What a user is shown reads [`Self::agency`], so a row
    /// changed behind the service's back is reported, not masked by the cache.
    async fn agency_once(&self, id: &AgencyId) -> Result<Arc<agency::Model>> {
        if let Some(a) = self.directory.agency(id) {
            return Ok(a);
        }
        let a = Arc::new(self.agency(id).await?);
        self.directory.put_agency(Arc::clone(&a));
        Ok(a)
    }

    /// All agencies, oldest first.
    pub async fn agencies(&self) -> Result<Vec<agency::Model>> {
        agency::Entity::find().order_by_asc(agency::Column::CreatedAt).all(&self.db).await.map_err(db_error)
    }

    /// The scope of an agency: itself and the chain of agencies that oversee it.
    pub async fn scope(&self, agency_id: &AgencyId) -> Result<Scope> {
        let agency = self.agency(agency_id).await?;
        self.scope_of(&agency).await
    }

    /// The scope of an agency already loaded: queries only the agencies above it (none for an
    /// agency without a parent).
    pub async fn scope_of(&self, agency: &agency::Model) -> Result<Scope> {
        let agency_id = &agency.id;
        let mut overseers = Vec::new();
        let mut parent_id = agency.parent_id.clone();
        while let Some(parent) = parent_id {
            if overseers.contains(&parent) || &parent == agency_id {
                break; // defensive: parents are set at creation, so a cycle cannot be built
            }
            overseers.push(parent.clone());
            parent_id = self.agency(&parent).await?.parent_id;
        }
        Ok(Scope { agency_id: agency_id.clone(), overseers })
    }

    /// Registers an officer; idempotent on `request_id`.
    pub async fn register_officer(&self, input: NewOfficer) -> Result<officer::Model> {
        if !input.request_id.is_empty()
            && let Some(existing) = officer::Entity::find()
                .filter(officer::Column::RequestId.eq(&input.request_id))
                .one(&self.db)
                .await
                .map_err(db_error)?
        {
            same_request(&input.request_id, existing.request_digest.as_deref(), &input.request_digest)?;
            return Ok(existing);
        }
        limits::id("agency_id", &input.agency_id)?;
        limits::chars("name", &input.name, MAX_NAME)?;
        limits::chars("certificate_number", &input.certificate_number, MAX_CODE)?;
        limits::chars("category", &input.category, MAX_CODE)?;
        limits::chars("valid_from", &input.valid_from, MAX_CODE)?;
        limits::chars("valid_until", &input.valid_until, MAX_CODE)?;
        limits::chars("issuer", &input.issuer, MAX_NAME)?;
        limits::chars("reviewed_on", &input.reviewed_on, MAX_CODE)?;
        limits::chars("area", &input.area, MAX_NAME)?;
        if !input.area.trim().is_empty() {
            // Compared by code with the act's place (C8.area), never as words.
            sanxiang_domain::officer::check_division_code("area", input.area.trim())?;
        }
        let agency = self.agency(&input.agency_id).await.map_err(|_| Error::invalid("agency_id", "no such agency"))?;
        let name = non_empty("name", &input.name)?;
        let cert = non_empty("certificate_number", &input.certificate_number)?;
        let category = non_empty("category", &input.category)?;
        let from = parse_date("valid_from", &input.valid_from)?;
        let until = parse_date("valid_until", &input.valid_until)?;
        if until < from {
            return Err(Error::invalid("valid_until", "is before valid_from"));
        }
        let today = self
            .clock
            .now()
            .to_datetime()
            .with_timezone(&sanxiang_domain::officer::stored_zone(&agency.time_zone)?)
            .date_naive();
        let reviewed_on = match input.reviewed_on.trim() {
            "" => today,
            d => {
                let d = parse_date("reviewed_on", d)?;
                if d > today {
                    return Err(Error::invalid("reviewed_on", "is in the future"));
                }
                d
            }
        };
        if Self::replaced_card(&self.db, &cert).await?.is_some() {
            return Err(Error::AlreadyExists(format!("certificate number {cert} was a replaced card's")));
        }
        let model = officer::ActiveModel {
            id: Set(OfficerId::new(self.clock.as_ref())),
            agency_id: Set(input.agency_id.clone()),
            name: Set(name),
            certificate_number: Set(cert.clone()),
            category: Set(category),
            area: Set(input.area.trim().to_owned()),
            valid_from: Set(from.to_string()),
            valid_until: Set(until.to_string()),
            status: Set(OfficerStatus::Active.as_str().into()),
            legal_qualification: Set(input.legal_qualification),
            has_prior_review_experience: Set(input.has_prior_review_experience),
            certificate_kind: Set(input.certificate_kind.as_str().into()),
            issuer: Set(input.issuer.trim().to_owned()),
            auxiliary: Set(input.auxiliary),
            eligibility_pending: Set(input.eligibility_pending),
            reviewed_on: Set(reviewed_on.to_string()),
            request_id: Set((!input.request_id.is_empty()).then(|| input.request_id.clone())),
            request_digest: Set((!input.request_id.is_empty()).then(|| input.request_digest.clone())),
            created_at: Set(self.clock.now().micros()),
        };
        model.insert(&self.db).await.map_err(|e| {
            if is_unique_violation(&e) {
                Error::AlreadyExists(format!("certificate number {cert} is registered"))
            } else {
                db_error(e)
            }
        })
    }

    /// An officer by id.
    pub async fn officer(&self, id: &OfficerId) -> Result<officer::Model> {
        officer::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await
            .map_err(db_error)?
            .ok_or_else(|| Error::not_found("officer", id))
    }

    /// The names of the officers with the given ids (unknown ids are left out).
    pub async fn officer_names(&self, ids: Vec<OfficerId>) -> Result<Vec<String>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(officer::Entity::find()
            .filter(officer::Column::Id.is_in(ids))
            .all(&self.db)
            .await
            .map_err(db_error)?
            .into_iter()
            .map(|o| o.name)
            .collect())
    }

    /// The officers of an agency.
    pub async fn officers(&self, agency_id: &AgencyId) -> Result<Vec<officer::Model>> {
        officer::Entity::find()
            .filter(officer::Column::AgencyId.eq(agency_id))
            .order_by_asc(officer::Column::CreatedAt)
            .all(&self.db)
            .await
            .map_err(db_error)
    }

    /// Records a status change effective at `effective_at` (default now). Acts are judged
    /// against the status in force at their own time.
    pub async fn set_officer_status(
        &self,
        officer_id: &OfficerId,
        status: OfficerStatus,
        reason: &str,
        effective_at: Option<Timestamp>,
        by: &Principal,
    ) -> Result<officer::Model> {
        limits::id("officer_id", officer_id)?;
        limits::chars("reason", reason, limits::MAX_ADDRESS)?;
        let reason = non_empty("reason", reason)?;
        let current = self.officer(officer_id).await.map_err(|_| Error::invalid("officer_id", "no such officer"))?;
        let now = self.clock.now();
        let change = officer_status_change::ActiveModel {
            id: Set(new_id(self.clock.as_ref())),
            officer_id: Set(officer_id.to_owned()),
            status: Set(status.as_str().into()),
            reason: Set(reason),
            effective_at: Set(effective_at.unwrap_or(now).micros()),
            recorded_at: Set(now.micros()),
            recorded_by: Set(by.id.clone()),
        };
        let txn = self.db.begin().await.map_err(db_error)?;
        change.insert(&txn).await.map_err(db_error)?;
        Self::bump_directory(&txn).await?;
        let history = Self::load_officers(&txn, std::slice::from_ref(&current.id), self.review_policy).await?;
        let in_force = history.get(officer_id).map_or(status, |o| o.certificate.status_at(now));
        let mut active: officer::ActiveModel = current.into();
        active.status = Set(in_force.as_str().into());
        let updated = active.update(&txn).await.map_err(db_error)?;
        txn.commit().await.map_err(db_error)?;
        self.directory.forget();
        Ok(updated)
    }

    /// Records whether an officer has decided 行政处罚 legal reviews before, outside this system
    /// (RULES G4: only a first-time reviewer needs the 法律职业资格).
    pub async fn set_review_experience(&self, officer_id: &OfficerId, prior: bool) -> Result<officer::Model> {
        limits::id("officer_id", officer_id)?;
        let current = self.officer(officer_id).await.map_err(|_| Error::invalid("officer_id", "no such officer"))?;
        let mut active: officer::ActiveModel = current.into();
        active.has_prior_review_experience = Set(prior);
        active.update(&self.db).await.map_err(db_error)
    }

    /// Certificates with their status history, for judging acts (RULES G3), as current as the
    /// database: reads the directory's change counter, then what is not cached.
    pub async fn certificates(&self, officer_ids: &[OfficerId]) -> Result<HashMap<OfficerId, Arc<OfficerInfo>>> {
        if officer_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let version = self.directory_version().await?;
        self.certificates_at(version, officer_ids).await
    }

    /// [`Self::certificates`] for a request of `who`: read at the change counter value the
    /// request was authenticated at, so no further query is made for officers already cached.
    pub async fn certificates_for(
        &self,
        who: &Principal,
        officer_ids: &[OfficerId],
    ) -> Result<HashMap<OfficerId, Arc<OfficerInfo>>> {
        self.certificates_at(who.directory_version, officer_ids).await
    }

    async fn certificates_at(
        &self,
        version: Version,
        officer_ids: &[OfficerId],
    ) -> Result<HashMap<OfficerId, Arc<OfficerInfo>>> {
        let (mut found, missing) = self.directory.officers(version, officer_ids);
        if !missing.is_empty() {
            let loaded: Vec<Arc<OfficerInfo>> = Self::load_officers(&self.db, &missing, self.review_policy)
                .await?
                .into_values()
                .map(Arc::new)
                .collect();
            self.directory.put_officers(version, loaded.iter().cloned());
            found.extend(loaded.into_iter().map(|o| (o.id.clone(), o)));
        }
        Ok(found)
    }

    /// Officers with their status history and certificate events, read from the database: two
    /// queries (the officers with their status changes joined, then the certificate events).
    /// A stored value that cannot be read is DATA_LOSS: a skipped suspension would let an
    /// officer act who may not.
    async fn load_officers(
        db: &impl ConnectionTrait,
        officer_ids: &[OfficerId],
        policy: ReviewPolicy,
    ) -> Result<HashMap<OfficerId, OfficerInfo>> {
        let officer_of_change = officer_status_change::Entity::belongs_to(officer::Entity)
            .from(officer_status_change::Column::OfficerId)
            .to(officer::Column::Id)
            .into();
        let rows = officer::Entity::find()
            .select_also(officer_status_change::Entity)
            .join_rev(JoinType::LeftJoin, officer_of_change)
            .filter(officer::Column::Id.is_in(officer_ids.iter().cloned()))
            .all(db)
            .await
            .map_err(db_error)?;
        let unreadable =
            |table: &str, column: &str, id: &str| Error::DataLoss(format!("{table}.{column} of {id} cannot be read"));
        let mut officers: HashMap<OfficerId, (officer::Model, Vec<(Timestamp, OfficerStatus)>)> = HashMap::new();
        for (o, change) in rows {
            let entry = officers.entry(o.id.clone()).or_insert_with(|| (o, Vec::new()));
            if let Some(c) = change {
                let status = OfficerStatus::parse(&c.status)
                    .ok_or_else(|| unreadable("officer_status_changes", "status", &c.id))?;
                entry.1.push((Timestamp::from_micros(c.effective_at), status));
            }
        }
        let mut events: HashMap<OfficerId, Vec<CertificateEvent>> = HashMap::new();
        if !officers.is_empty() {
            for e in certificate_event::Entity::find()
                .filter(certificate_event::Column::OfficerId.is_in(officers.keys().cloned()))
                .order_by_asc(certificate_event::Column::RecordedAt)
                .order_by_asc(certificate_event::Column::Id)
                .all(db)
                .await
                .map_err(db_error)?
            {
                let kind = CertificateEventKind::parse(&e.kind)
                    .ok_or_else(|| unreadable("certificate_events", "kind", &e.id))?;
                let date = |column: &str, value: Option<&str>| {
                    value
                        .and_then(|v| NaiveDate::parse_from_str(v, "%Y-%m-%d").ok())
                        .ok_or_else(|| unreadable("certificate_events", column, &e.id))
                };
                let replaced = match kind {
                    CertificateEventKind::Replaced => Some(Validity {
                        from: date("valid_from", e.valid_from.as_deref())?,
                        until: date("valid_until", e.valid_until.as_deref())?,
                    }),
                    _ => None,
                };
                let event = CertificateEvent {
                    kind,
                    on: date("effective_on", Some(&e.effective_on))?,
                    training_hours: u32::try_from(e.training_hours)
                        .map_err(|_| unreadable("certificate_events", "training_hours", &e.id))?,
                    replaced,
                };
                events.entry(e.officer_id).or_default().push(event);
            }
        }
        let mut out = HashMap::new();
        for (id, (o, status_changes)) in officers {
            let date = |column: &str, value: &str| {
                NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| unreadable("officers", column, o.id.as_str()))
            };
            // Set at registration, and by migration m0014 for officers registered before.
            let reviewed_on = date("reviewed_on", &o.reviewed_on)?;
            let certificate = Certificate {
                valid_from: date("valid_from", &o.valid_from)?,
                valid_until: date("valid_until", &o.valid_until)?,
                status_changes,
                kind: CertificateKind::parse(&o.certificate_kind)
                    .ok_or_else(|| unreadable("officers", "certificate_kind", o.id.as_str()))?,
                auxiliary: o.auxiliary,
                eligibility_pending: o.eligibility_pending,
                reviewed_on,
                events: events.remove(&id).unwrap_or_default(),
                policy,
            };
            out.insert(
                id,
                OfficerInfo {
                    id: o.id,
                    agency_id: o.agency_id,
                    name: o.name,
                    certificate_number: o.certificate_number,
                    category: o.category,
                    area: o.area,
                    certificate,
                },
            );
        }
        Ok(out)
    }

    /// Records what happened to an officer's certificate (RULES C3–C5): a training, an annual
    /// review passed or failed, a suspension and its end, withdrawal, cancellation, loss. Refused
    /// with the rule when it contradicts what is recorded (nothing after a terminal event, a
    /// review passed without the training the period needs, a reinstatement of what is not
    /// suspended). Counted as a directory change: acts are judged by it at once, on every replica.
    pub async fn record_certificate_event(
        &self,
        input: NewCertificateEvent,
        by: &Principal,
    ) -> Result<(certificate_event::Model, CertificateView)> {
        limits::id("officer_id", &input.officer_id)?;
        limits::chars("reason", &input.reason, limits::MAX_ADDRESS)?;
        limits::chars("effective_on", &input.effective_on, MAX_CODE)?;
        let reason = non_empty("reason", &input.reason)?;
        let current =
            self.officer(&input.officer_id).await.map_err(|_| Error::invalid("officer_id", "no such officer"))?;
        let tz = sanxiang_domain::officer::stored_zone(&self.agency(&current.agency_id).await?.time_zone)?;
        let now = self.clock.now();
        let today = now.to_datetime().with_timezone(&tz).date_naive();
        let on = match input.effective_on.trim() {
            "" => today,
            d => parse_date("effective_on", d)?,
        };
        if on > today {
            return Err(Error::invalid("effective_on", "is in the future"));
        }
        let training = input.kind == CertificateEventKind::Training;
        if training && input.training_hours == 0 {
            return Err(Error::invalid("training_hours", "a training needs its hours"));
        }
        if !training && input.training_hours != 0 {
            return Err(Error::invalid("training_hours", "only a training has hours"));
        }
        let new_card = Self::new_card(&input, &current)?;
        let txn = self.db.begin().await.map_err(db_error)?;
        // The change is counted first: a transaction that writes before it reads waits for the
        // write lock on SQLite, and the history read below cannot change before the commit.
        Self::bump_directory(&txn).await?;
        let mut loaded = Self::load_officers(&txn, std::slice::from_ref(&input.officer_id), self.review_policy).await?;
        let info = loaded.remove(&input.officer_id).ok_or_else(|| Error::invalid("officer_id", "no such officer"))?;
        if let Some((rule, why)) = info.certificate.event_refused(input.kind, on) {
            return Err(Error::precondition(rule, why));
        }
        let (old_number, old_card) = (current.certificate_number.clone(), info.certificate.validity_on(on));
        let mut current = current;
        if let Some((number, card)) = &new_card {
            let taken = officer::Entity::find()
                .filter(officer::Column::CertificateNumber.eq(number.as_str()))
                .one(&txn)
                .await
                .map_err(db_error)?
                .is_some()
                || Self::replaced_card(&txn, number).await?.is_some();
            if taken {
                return Err(Error::invalid("certificate_number", "already names a certificate, current or replaced"));
            }
            let mut row = sea_orm::IntoActiveModel::into_active_model(current.clone());
            row.certificate_number = Set(number.clone());
            row.valid_from = Set(card.from.to_string());
            row.valid_until = Set(card.until.to_string());
            current = row.update(&txn).await.map_err(db_error)?;
        }
        let replaced = new_card.as_ref().map(|_| (old_number, old_card));
        let row = certificate_event::ActiveModel {
            id: Set(new_id(self.clock.as_ref())),
            officer_id: Set(input.officer_id.clone()),
            kind: Set(input.kind.as_str().into()),
            effective_on: Set(on.to_string()),
            training_hours: Set(i64::from(input.training_hours)),
            reason: Set(reason),
            recorded_at: Set(now.micros()),
            recorded_by: Set(by.id.clone()),
            number: Set(replaced.as_ref().map(|(n, _)| n.clone())),
            valid_from: Set(replaced.as_ref().map(|(_, v)| v.from.to_string())),
            valid_until: Set(replaced.as_ref().map(|(_, v)| v.until.to_string())),
        }
        .insert(&txn)
        .await
        .map_err(db_error)?;
        txn.commit().await.map_err(db_error)?;
        self.directory.forget();
        let mut certificate = info.certificate;
        if let Some((_, card)) = &new_card {
            certificate.valid_from = card.from;
            certificate.valid_until = card.until;
        }
        certificate.events.push(CertificateEvent {
            kind: input.kind,
            on,
            training_hours: input.training_hours,
            replaced: replaced.map(|(_, v)| v),
        });
        Ok((row, Self::view(current, &certificate, now, tz)))
    }

    /// The new card a replacement names (number and validity), checked; `None` for the other
    /// kinds, which must name none.
    fn new_card(input: &NewCertificateEvent, current: &officer::Model) -> Result<Option<(String, Validity)>> {
        limits::chars("certificate_number", &input.certificate_number, MAX_CODE)?;
        limits::chars("valid_from", &input.valid_from, MAX_CODE)?;
        limits::chars("valid_until", &input.valid_until, MAX_CODE)?;
        if input.kind != CertificateEventKind::Replaced {
            for (field, v) in [
                ("certificate_number", &input.certificate_number),
                ("valid_from", &input.valid_from),
                ("valid_until", &input.valid_until),
            ] {
                if !v.trim().is_empty() {
                    return Err(Error::invalid(field, "only a replacement names a new card"));
                }
            }
            return Ok(None);
        }
        let number = non_empty("certificate_number", &input.certificate_number)?;
        if number == current.certificate_number {
            return Err(Error::invalid("certificate_number", "is the number of the card it replaces"));
        }
        let from = parse_date("valid_from", &input.valid_from)?;
        let until = parse_date("valid_until", &input.valid_until)?;
        if until < from {
            return Err(Error::invalid("valid_until", "is before valid_from"));
        }
        Ok(Some((number, Validity { from, until })))
    }

    /// The card numbered `number`, current or replaced, as the public verifies it (RULES C2), or
    /// `None` when no card has that number.
    pub async fn check_card(&self, number: &str) -> Result<Option<CardCheck>> {
        limits::chars("number", number, MAX_CODE)?;
        let number = number.trim();
        let current = officer::Entity::find()
            .filter(officer::Column::CertificateNumber.eq(number))
            .one(&self.db)
            .await
            .map_err(db_error)?;
        let replaced = match current {
            Some(_) => None,
            None => match Self::replaced_card(&self.db, number).await? {
                Some(e) => Some(e),
                None => return Ok(None),
            },
        };
        let officer = match (current, &replaced) {
            (Some(o), _) => o,
            (None, Some(e)) => self.officer(&e.officer_id).await?,
            (None, None) => return Ok(None),
        };
        let agency = self.agency(&officer.agency_id).await?;
        let tz = sanxiang_domain::officer::stored_zone(&agency.time_zone)?;
        let mut loaded = Self::load_officers(&self.db, std::slice::from_ref(&officer.id), self.review_policy).await?;
        let info = loaded.remove(&officer.id).ok_or_else(|| Error::not_found("officer", &officer.id))?;
        let now = self.clock.now();
        let unreadable =
            |column: &str, id: &str| Error::DataLoss(format!("certificate_events.{column} of {id} cannot be read"));
        let date = |v: Option<&str>, column: &str, id: &str| {
            v.and_then(|v| NaiveDate::parse_from_str(v, "%Y-%m-%d").ok()).ok_or_else(|| unreadable(column, id))
        };
        let (valid_from, valid_until, state, replaced) = match replaced {
            None => {
                (info.certificate.valid_from, info.certificate.valid_until, info.certificate.state_on(now, tz), None)
            }
            Some(e) => (
                date(e.valid_from.as_deref(), "valid_from", &e.id)?,
                date(e.valid_until.as_deref(), "valid_until", &e.id)?,
                CertificateState::Ended,
                Some((date(Some(&e.effective_on), "effective_on", &e.id)?, officer.certificate_number.clone())),
            ),
        };
        Ok(Some(CardCheck {
            number: number.to_owned(),
            holder: officer.name,
            agency_id: agency.id,
            agency_name: agency.name,
            kind: info.certificate.kind,
            category: officer.category,
            issuer: officer.issuer,
            valid_from,
            valid_until,
            state,
            replaced,
        }))
    }

    /// The `replaced` event that retired the card numbered `number`, if any.
    async fn replaced_card(db: &impl ConnectionTrait, number: &str) -> Result<Option<certificate_event::Model>> {
        certificate_event::Entity::find()
            .filter(certificate_event::Column::Number.eq(number))
            .one(db)
            .await
            .map_err(db_error)
    }

    /// The certificate of `officer` as supervisors see it at `now`.
    fn view(officer: officer::Model, c: &Certificate, now: Timestamp, tz: chrono_tz::Tz) -> CertificateView {
        let day = now.to_datetime().with_timezone(&tz).date_naive();
        CertificateView {
            state: c.state_on(now, tz),
            last_review: c.last_review(day),
            review_due: c.review_due(day),
            expiring: c.expiring(day),
            training_hours: c.training_since_review(day).0,
            officer,
        }
    }

    /// The certificates of the officers of the agencies, as of now, that `filter` selects,
    /// ordered by agency and registration (RULES C4–C6: due, overdue, suspended, expiring).
    pub async fn list_certificates(
        &self,
        agency_ids: &[AgencyId],
        filter: CertificateFilter,
    ) -> Result<Vec<CertificateView>> {
        let now = self.clock.now();
        let mut out = Vec::new();
        for agency_id in agency_ids {
            let tz = sanxiang_domain::officer::stored_zone(&self.agency(agency_id).await?.time_zone)?;
            let day = now.to_datetime().with_timezone(&tz).date_naive();
            let officers = self.officers(agency_id).await?;
            let ids: Vec<OfficerId> = officers.iter().map(|o| o.id.clone()).collect();
            let mut loaded = Self::load_officers(&self.db, &ids, self.review_policy).await?;
            for o in officers {
                let Some(info) = loaded.remove(&o.id) else { continue };
                let v = Self::view(o, &info.certificate, now, tz);
                let warn_from = v.review_due - chrono::Days::new(u64::from(self.review_policy.warning_days));
                let keep = match filter {
                    CertificateFilter::All => true,
                    CertificateFilter::ReviewDue => {
                        v.state == CertificateState::Active && day >= warn_from
                            || matches!(v.state, CertificateState::ReviewOverdue | CertificateState::ReviewFailed)
                    }
                    CertificateFilter::ReviewOverdue => {
                        matches!(v.state, CertificateState::ReviewOverdue | CertificateState::ReviewFailed)
                    }
                    CertificateFilter::Suspended => matches!(
                        v.state,
                        CertificateState::Suspended | CertificateState::Ended | CertificateState::PendingEligibility
                    ),
                    CertificateFilter::Expiring => v.expiring,
                };
                if keep {
                    out.push(v);
                }
            }
        }
        Ok(out)
    }

    /// The refused attempts of `kind` (a [`refusal_kind`]) in the agencies, oldest first.
    pub async fn refusals(&self, agency_ids: &[AgencyId], kind: &str) -> Result<Vec<refusal::Model>> {
        refusal::Entity::find()
            .filter(refusal::Column::AgencyId.is_in(agency_ids.iter().cloned()))
            .filter(refusal::Column::Kind.eq(kind))
            .order_by_asc(refusal::Column::OccurredAt)
            .all(&self.db)
            .await
            .map_err(db_error)
    }

    /// Counts a refused attempt (RULES S1) in its own small write, outside any transaction of
    /// the refused request, so the count survives the refusal. A failure to count is logged and
    /// does not change the answer: the refusal itself is what protects the record.
    pub async fn record_refusal(&self, r: Refusal<'_>) {
        let row = refusal::ActiveModel {
            id: Set(new_id(self.clock.as_ref())),
            agency_id: Set(r.agency_id.to_owned()),
            kind: Set(r.kind.to_owned()),
            subject_id: Set(r.subject_id.to_owned()),
            case_id: Set(r.case_id.cloned()),
            detail: Set(r.detail),
            occurred_at: Set(self.clock.now().micros()),
            actor_id: Set(Some(r.actor_id.to_owned())),
        };
        if let Err(e) = row.insert(&self.db).await {
            tracing::error!(error = %e, kind = r.kind, subject = %r.subject_id, "could not count a refused attempt");
        }
    }

    /// Creates a principal; idempotent on `request_id`.
    pub async fn create_principal(
        &self,
        (request_id, asked): (&str, &str),
        name: &str,
        role: Role,
        agency_id: &AgencyId,
        officer_id: &OfficerId,
    ) -> Result<principal::Model> {
        if !request_id.is_empty()
            && let Some(existing) = principal::Entity::find()
                .filter(principal::Column::RequestId.eq(request_id))
                .one(&self.db)
                .await
                .map_err(db_error)?
        {
            same_request(request_id, existing.request_digest.as_deref(), asked)?;
            return Ok(existing);
        }
        limits::chars("name", name, MAX_NAME)?;
        limits::optional_id("agency_id", agency_id)?;
        limits::optional_id("officer_id", officer_id)?;
        let name = non_empty("name", name)?;
        let agency_id = match (role, agency_id.is_empty()) {
            (Role::Admin, true) => None,
            (Role::Admin, false) => return Err(Error::invalid("agency_id", "an administrator acts for no agency")),
            (_, true) => return Err(Error::invalid("agency_id", "this role acts for an agency")),
            (_, false) => {
                self.agency(agency_id).await.map_err(|_| Error::invalid("agency_id", "no such agency"))?;
                Some(agency_id.to_owned())
            }
        };
        let officer_id = match (role, officer_id.is_empty()) {
            (Role::Officer, true) => {
                return Err(Error::invalid("officer_id", "an officer principal names its officer"));
            }
            (_, true) => None,
            (_, false) => {
                let o = self.officer(officer_id).await.map_err(|_| Error::invalid("officer_id", "no such officer"))?;
                if Some(&o.agency_id) != agency_id.as_ref() {
                    return Err(Error::invalid("officer_id", "the officer belongs to another agency"));
                }
                Some(officer_id.to_owned())
            }
        };
        let model = principal::ActiveModel {
            id: Set(PrincipalId::new(self.clock.as_ref())),
            name: Set(name),
            role: Set(role.as_str().into()),
            agency_id: Set(agency_id),
            officer_id: Set(officer_id),
            request_id: Set((!request_id.is_empty()).then(|| request_id.to_owned())),
            request_digest: Set((!request_id.is_empty()).then(|| asked.to_owned())),
            created_at: Set(self.clock.now().micros()),
        };
        model.insert(&self.db).await.map_err(db_error)
    }

    /// A principal by id.
    pub async fn principal(&self, id: &PrincipalId) -> Result<principal::Model> {
        principal::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await
            .map_err(db_error)?
            .ok_or_else(|| Error::not_found("principal", id))
    }

    /// Issues a new bearer token for a principal. Returns (token id, token); only the token's
    /// hash is stored.
    pub async fn issue_token(&self, principal_id: &PrincipalId, label: &str) -> Result<(String, String)> {
        limits::id("principal_id", principal_id)?;
        limits::chars("label", label, MAX_NAME)?;
        self.principal(principal_id).await.map_err(|_| Error::invalid("principal_id", "no such principal"))?;
        self.insert_token(new_id(self.clock.as_ref()), principal_id, label).await
    }

    async fn insert_token(&self, id: String, principal_id: &PrincipalId, label: &str) -> Result<(String, String)> {
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        let token = format!("sx_{}", hex::encode(secret));
        let model = token::ActiveModel {
            id: Set(id.clone()),
            principal_id: Set(principal_id.to_owned()),
            token_hash: Set(token_hash(&token)),
            label: Set(label.to_owned()),
            created_at: Set(self.clock.now().micros()),
            revoked_at: Set(None),
        };
        model.insert(&self.db).await.map_err(db_error)?;
        Ok((id, token))
    }

    /// Revokes a token; later requests with it are unauthenticated.
    pub async fn revoke_token(&self, token_id: &str) -> Result<()> {
        limits::id("token_id", token_id)?;
        let t = token::Entity::find_by_id(token_id.to_owned())
            .one(&self.db)
            .await
            .map_err(db_error)?
            .ok_or_else(|| Error::not_found("token", token_id))?;
        if t.revoked_at.is_none() {
            let mut active: token::ActiveModel = t.into();
            active.revoked_at = Set(Some(self.clock.now().micros()));
            let txn = self.db.begin().await.map_err(db_error)?;
            active.update(&txn).await.map_err(db_error)?;
            Self::bump_directory(&txn).await?;
            txn.commit().await.map_err(db_error)?;
            self.directory.forget();
        }
        Ok(())
    }

    /// The principal behind a bearer token, as current as the database: the directory's change
    /// counter is read on every request, so a revoked token is refused from the next request on;
    /// the token and its principal are read (one query, joined) only when not cached.
    pub async fn authenticate(&self, bearer: &str) -> Result<Principal> {
        self.authenticate_hash(TokenHash(token_hash(bearer))).await
    }

    /// The caller of a request whose every write the writer re-judges at commit (AppendEvent):
    /// from memory, as of the newest counter value this process has read, without reading the
    /// counter; [`Self::authenticate`] when anything needed is not in memory. The writer compares
    /// the principal's `directory_version` with the counter under the append lock and refuses
    /// the event when a change was counted since ([`DIRECTORY_CHANGED`]); the caller is then
    /// judged again by [`Self::reauthenticate`] and the event retried, so a revoked token or a
    /// suspended officer never gets an event committed after the change committed.
    pub async fn authenticate_deferred(&self, bearer: &str) -> Result<Principal> {
        let hash = TokenHash(token_hash(bearer));
        if let Some(version) = self.directory.latest()
            && let Some(p) = self.directory.token(version, &hash.0)
        {
            let officer_unable = match &p.officer_id {
                None => Some(None),
                Some(id) => match self.directory.officers(version, std::slice::from_ref(id)).0.remove(id) {
                    Some(o) => match self.directory.agency(&o.agency_id) {
                        Some(a) => {
                            let tz = sanxiang_domain::officer::stored_zone(&a.time_zone)?;
                            Some(o.certificate.why_invalid_at(self.clock.now(), tz).map(|u| u.to_string()))
                        }
                        None => None,
                    },
                    None => None,
                },
            };
            // Memory may let a caller act; only the database refuses one (an officer reinstated
            // on another replica is not refused here).
            if let Some(None) = officer_unable {
                return principal_of(&p, None, version, hash);
            }
        }
        self.authenticate_hash(hash).await
    }

    /// The caller of `who`'s request judged again, as current as the database (after the writer
    /// found the directory changed since `who` was authenticated).
    pub async fn reauthenticate(&self, who: &Principal) -> Result<Principal> {
        match &who.token {
            Some(hash) => self.authenticate_hash(hash.clone()).await,
            None => Err(Error::Unauthenticated("unknown or revoked token".into())),
        }
    }

    async fn authenticate_hash(&self, hash: TokenHash) -> Result<Principal> {
        let unauthenticated = || Error::Unauthenticated("unknown or revoked token".into());
        let version = self.directory_version().await?;
        let p = match self.directory.token(version, &hash.0) {
            Some(p) => p,
            None => {
                let principal_of_token = token::Entity::belongs_to(principal::Entity)
                    .from(token::Column::PrincipalId)
                    .to(principal::Column::Id)
                    .into();
                let (t, p) = token::Entity::find()
                    .select_also(principal::Entity)
                    .join(JoinType::LeftJoin, principal_of_token)
                    .filter(token::Column::TokenHash.eq(&hash.0))
                    .one(&self.db)
                    .await
                    .map_err(db_error)?
                    .ok_or_else(unauthenticated)?;
                if t.revoked_at.is_some() {
                    return Err(unauthenticated());
                }
                let p = Arc::new(p.ok_or_else(unauthenticated)?);
                self.directory.put_token(version, hash.0.clone(), Arc::clone(&p));
                p
            }
        };
        let officer_unable = match &p.officer_id {
            Some(id) => self.why_officer_unable(version, id).await?,
            None => None,
        };
        principal_of(&p, officer_unable, version, hash)
    }

    /// Why officer `id` may not act now (status and certificate in the agency's zone, RULES G2),
    /// or `None` if they may: what a principal bound to the officer may do depends on it.
    async fn why_officer_unable(&self, version: Version, id: &OfficerId) -> Result<Option<String>> {
        let certs = self.certificates_at(version, std::slice::from_ref(id)).await?;
        let Some(o) = certs.get(id) else {
            return Ok(Some("the officer is not registered".into()));
        };
        let tz = sanxiang_domain::officer::stored_zone(&self.agency_once(&o.agency_id).await?.time_zone)?;
        Ok(o.certificate.why_invalid_at(self.clock.now(), tz).map(|u| u.to_string()))
    }

    /// On first start, creates the administrator principal and a token for it. Returns the
    /// token if this call created it, `None` if an administrator already existed. Replicas
    /// starting together race on the fixed id; exactly one wins.
    pub async fn bootstrap_admin(&self) -> Result<Option<String>> {
        if principal::Entity::find_by_id(PrincipalId::from(ADMIN_ID)).one(&self.db).await.map_err(db_error)?.is_some() {
            return Ok(None);
        }
        let model = principal::ActiveModel {
            id: Set(ADMIN_ID.into()),
            name: Set("administrator".into()),
            role: Set(Role::Admin.as_str().into()),
            agency_id: Set(None),
            officer_id: Set(None),
            request_id: Set(None),
            request_digest: Set(None),
            created_at: Set(self.clock.now().micros()),
        };
        match model.insert(&self.db).await {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Ok(None),
            Err(e) => return Err(db_error(e)),
        }
        let (_, token) =
            self.insert_token("admin-initial".into(), &PrincipalId::from(ADMIN_ID), "created at first start").await?;
        Ok(Some(token))
    }

    /// An agency's major-decision catalog, and the stored row if one was set (an agency without
    /// one has the empty catalog: the statutory triggers only).
    pub async fn catalog(&self, agency_id: &AgencyId) -> Result<(Catalog, Option<catalog::Model>)> {
        self.agency(agency_id).await?;
        let row = catalog::Entity::find_by_id(agency_id.to_owned()).one(&self.db).await.map_err(db_error)?;
        let parsed = match &row {
            Some(r) => serde_json::from_str(&r.body).map_err(|e| Error::DataLoss(format!("stored catalog: {e}")))?,
            None => Catalog::default(),
        };
        Ok((parsed, row))
    }

    /// Validates and stores an agency's catalog (TOML, amounts in yuan), replacing any earlier one.
    pub async fn put_catalog(&self, agency_id: &AgencyId, text: &str, by: &Principal) -> Result<catalog::Model> {
        limits::bytes("catalog_toml", text, limits::MAX_TOML)?;
        self.agency(agency_id).await.map_err(|_| Error::invalid("agency_id", "no such agency"))?;
        let parsed = Catalog::from_toml(text)?;
        let model = catalog::Model {
            agency_id: agency_id.to_owned(),
            body: serde_json::to_string(&parsed).map_err(|e| Error::Internal(e.to_string()))?,
            updated_at: self.clock.now().micros(),
            updated_by: by.id.clone(),
        };
        catalog::Entity::insert(catalog::ActiveModel::from(model.clone()))
            .on_conflict(
                OnConflict::column(catalog::Column::AgencyId)
                    .update_columns([catalog::Column::Body, catalog::Column::UpdatedAt, catalog::Column::UpdatedBy])
                    .to_owned(),
            )
            .exec(&self.db)
            .await
            .map_err(db_error)?;
        Ok(model)
    }

    /// The working-day calendar: the built-in official schedules, overlaid by the years loaded
    /// with [`Self::put_calendar_year`] (RULES D4). Read from the database each time, so every
    /// replica sees a loaded year at once.
    pub async fn calendar(&self) -> Result<WorkCalendar> {
        let mut calendar = WorkCalendar::builtin();
        for row in calendar_year::Entity::find().all(&self.db).await.map_err(db_error)? {
            let schedule = YearSchedule::from_toml(&row.schedule)
                .map_err(|e| Error::DataLoss(format!("stored calendar year {}: {e}", row.year)))?;
            calendar.put_year(schedule);
        }
        Ok(calendar)
    }

    /// Validates and stores a year's schedule. Returns it and whether it replaced a schedule
    /// of the same year (built in or loaded earlier).
    pub async fn put_calendar_year(&self, text: &str, by: &Principal) -> Result<(YearSchedule, bool)> {
        limits::bytes("schedule_toml", text, limits::MAX_TOML)?;
        let schedule = YearSchedule::from_toml(text)?;
        if !limits::CALENDAR_YEARS.contains(&schedule.year()) {
            return Err(Error::invalid(
                "year",
                format!("from {} to {}", limits::CALENDAR_YEARS.start(), limits::CALENDAR_YEARS.end()),
            ));
        }
        let replaced = self.calendar().await?.schedule(schedule.year()).is_some();
        let model = calendar_year::ActiveModel {
            year: Set(i64::from(schedule.year())),
            schedule: Set(schedule.to_toml()),
            updated_at: Set(self.clock.now().micros()),
            updated_by: Set(by.id.clone()),
        };
        calendar_year::Entity::insert(model)
            .on_conflict(
                OnConflict::column(calendar_year::Column::Year)
                    .update_columns([
                        calendar_year::Column::Schedule,
                        calendar_year::Column::UpdatedAt,
                        calendar_year::Column::UpdatedBy,
                    ])
                    .to_owned(),
            )
            .exec(&self.db)
            .await
            .map_err(db_error)?;
        Ok((schedule, replaced))
    }
}
