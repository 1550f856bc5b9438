//! The binary's own client: every step of the README walk-through without other tools.

use std::path::PathBuf;

use sanxiang_api::convert::{event_kind_to_pb, role_to_pb, timestamp};
use sanxiang_domain::lifecycle::{CaseKind, EventKind};
use sanxiang_domain::{SystemClock, TimeProvider, Timestamp};
use sanxiang_proto::v1 as pb;
use sanxiang_proto::v1::record_service_client::RecordServiceClient;
use sanxiang_proto::v1::registry_service_client::RegistryServiceClient;
use sanxiang_registry::Role;
use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::transport::Channel;

use crate::server::StartError;

/// How the client reaches the server.
#[derive(Debug, Clone, clap::Args)]
pub struct ClientArgs {
    /// The server's gRPC endpoint.
    #[arg(long, global = true, env = "SANXIANG_ENDPOINT", default_value = "http://127.0.0.1:50051")]
    pub endpoint: String,
    /// Bearer token. Default: the contents of --token-file.
    #[arg(long, global = true, env = "SANXIANG_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// File holding the bearer token.
    #[arg(long, global = true, env = "SANXIANG_TOKEN_FILE", default_value = "./sanxiang-data/admin-token")]
    pub token_file: PathBuf,
    /// For scripts: print one line, the identity of what the command created, changed or
    /// showed, as other commands take it — an id (agency, officer, principal, case, evidence,
    /// draft, review, disclosure); an event's number in its case (`case_seq`) for `event
    /// append`, `review discuss`, `decision revise` and `evidence destroy`; the document number for `decision
    /// issue`; the token for `token issue`; the year for `calendar put`; the version for `notice
    /// put`; and for an agency's catalog and publicity policy, which have no id of their own, the
    /// SHA-256 of the setting as stored (`put` and `get` print the same line while it is
    /// unchanged). Listings print one id per line.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Output: `human` (readable lines, local times) or `json` (for scripts; `-q` is ignored).
    #[arg(long, global = true, env = "SANXIANG_OUTPUT", value_enum, default_value = "human")]
    pub output: crate::output::OutputFormat,
    /// PEM CA certificate that issued the server's certificate (`https://` endpoints). Default:
    /// the system's trusted roots.
    #[arg(long, global = true, env = "SANXIANG_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
    /// PEM client certificate, for a server started with --tls-client-ca.
    #[arg(long, global = true, env = "SANXIANG_CLIENT_CERT", requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    /// PEM private key of --client-cert.
    #[arg(long, global = true, env = "SANXIANG_CLIENT_KEY", requires = "client_cert")]
    pub client_key: Option<PathBuf>,
}

impl ClientArgs {
    /// Connects to the endpoint: TLS for `https://`, trusting --ca-cert (or the system's roots)
    /// and presenting --client-cert when given.
    pub async fn connect(&self) -> Result<Channel, StartError> {
        use tonic::transport::{Certificate, ClientTlsConfig, Identity};
        let read = |p: &PathBuf| std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()));
        let mut endpoint = Channel::from_shared(self.endpoint.clone()).map_err(|_| {
            format!("--endpoint {:?} is not a URL: use http://HOST:PORT or https://HOST:PORT", self.endpoint)
        })?;
        if self.endpoint.starts_with("https://") {
            let mut tls = ClientTlsConfig::new();
            tls = match &self.ca_cert {
                Some(ca) => tls.ca_certificate(Certificate::from_pem(read(ca)?)),
                None => tls.with_native_roots(),
            };
            if let (Some(cert), Some(key)) = (&self.client_cert, &self.client_key) {
                tls = tls.identity(Identity::from_pem(read(cert)?, read(key)?));
            }
            endpoint = endpoint.tls_config(tls)?;
        } else if self.ca_cert.is_some() || self.client_cert.is_some() {
            return Err(format!("--ca-cert and --client-cert need an https:// endpoint, not {}", self.endpoint).into());
        }
        endpoint.connect().await.map_err(|e| format!("cannot connect to {}: {}", self.endpoint, causes(&e)).into())
    }
}

/// An error with its causes, innermost last ("transport error: … : Connection refused").
fn causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text = format!("{text}: {s_text}");
        }
        source = s.source();
    }
    text.to_lowercase().replace("transport error: ", "")
}

/// Client subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ClientCommand {
    /// Agencies (执法主体).
    #[command(subcommand)]
    Agency(AgencyCmd),
    /// Officers (执法人员).
    #[command(subcommand)]
    Officer(OfficerCmd),
    /// Enforcement certificates (行政执法证件): trainings, annual reviews, suspension, cancellation.
    #[command(subcommand)]
    Certificate(CertificateCmd),
    /// Principals: who calls the API, with which role.
    #[command(subcommand)]
    Principal(PrincipalCmd),
    /// Bearer tokens.
    #[command(subcommand)]
    Token(TokenCmd),
    /// Cases.
    #[command(subcommand)]
    Case(CaseCmd),
    /// Events of a case.
    #[command(subcommand)]
    Event(EventCmd),
    /// Evidence media.
    #[command(subcommand)]
    Evidence(EvidenceCmd),
    /// Who the token belongs to.
    Whoami,
    /// Major-decision catalogs (重大执法决定法制审核目录清单).
    #[command(subcommand)]
    Catalog(crate::review_client::CatalogCmd),
    /// Working-day calendars.
    #[command(subcommand)]
    Calendar(crate::review_client::CalendarCmd),
    /// Decision drafts.
    #[command(subcommand)]
    Draft(crate::review_client::DraftCmd),
    /// Legal review (法制审核) and collective discussion.
    #[command(subcommand)]
    Review(crate::review_client::ReviewCmd),
    /// Issuing and revising decisions.
    #[command(subcommand)]
    Decision(crate::review_client::DecisionCmd),
    /// Disclosures of decisions (事后公开) and supervision of what is overdue.
    #[command(subcommand)]
    Disclosure(crate::publicity_client::DisclosureCmd),
    /// An agency's publication and masking policy.
    #[command(subcommand)]
    PublicityPolicy(crate::publicity_client::PolicyCmd),
    /// Notices before enforcement (事前公开).
    #[command(subcommand)]
    Notice(crate::publicity_client::NoticeCmd),
    /// Filing of major penalties with the supervision office (重大行政处罚备案审查).
    #[command(subcommand)]
    Filing(crate::filing_client::FilingCmd),
    /// Complaints and reports (投诉举报).
    #[command(subcommand)]
    Complaint(crate::complaints_client::ComplaintCmd),
}

/// `agency …`
#[derive(Debug, Clone, clap::Subcommand)]
pub enum AgencyCmd {
    /// Create an agency.
    Create {
        /// The agency's full name (e.g. 福州市市场监督管理局).
        #[arg(long)]
        name: String,
        /// 统一社会信用代码 (18 characters, check digit verified).
        #[arg(long)]
        credit_code: String,
        /// The region it serves (e.g. 福建省福州市).
        #[arg(long)]
        region: String,
        /// The overseeing agency's id.
        #[arg(long, default_value = "")]
        parent: String,
        /// What it is, routing its filings (RULES F3): government, department, authorised or
        /// vertical; default none (filings go up the tree).
        #[arg(long, default_value = "", value_parser = ["", "government", "department", "authorised", "vertical"], hide_possible_values = false)]
        kind: String,
        /// The people's government it belongs to (a department, authorised organisation or
        /// vertically managed body).
        #[arg(long, default_value = "")]
        government: String,
        /// Client request id, to retry safely (default: none).
        #[arg(long, default_value = "")]
        request_id: String,
    },
    /// Set what an agency is and the government it belongs to (RULES F3).
    SetKind {
        #[arg(long)]
        agency: String,
        /// government, department, authorised or vertical.
        #[arg(long, value_parser = ["government", "department", "authorised", "vertical"], hide_possible_values = false)]
        kind: String,
        /// The people's government it belongs to (not for a government).
        #[arg(long, default_value = "")]
        government: String,
    },
    /// List agencies.
    List,
}

/// The API value of an agency kind named on the command line ("" is unspecified).
fn agency_kind(kind: &str) -> i32 {
    (match kind {
        "government" => pb::AgencyKind::Government,
        "department" => pb::AgencyKind::Department,
        "authorised" => pb::AgencyKind::Authorised,
        "vertical" => pb::AgencyKind::Vertical,
        _ => pb::AgencyKind::Unspecified,
    }) as i32
}

/// `officer …`
#[derive(Debug, Clone, clap::Subcommand)]
pub enum OfficerCmd {
    /// Register an officer with an enforcement certificate.
    Register {
        /// The agency's id.
        #[arg(long)]
        agency: String,
        /// The officer's name.
        #[arg(long)]
        name: String,
        /// 执法证号.
        #[arg(long)]
        certificate: String,
        /// 执法类别.
        #[arg(long)]
        category: String,
        /// YYYY-MM-DD.
        #[arg(long)]
        valid_from: String,
        /// YYYY-MM-DD.
        #[arg(long)]
        valid_until: String,
        /// Holds the legal-profession qualification.
        #[arg(long)]
        legal_qualification: bool,
        /// Has decided 行政处罚 legal reviews before, outside this system (RULES G4).
        #[arg(long)]
        prior_review_experience: bool,
        /// The certificate's kind (RULES C1): a supervision certificate does not allow enforcement acts.
        #[arg(long, default_value = "enforcement", value_parser = ["enforcement", "supervision", "sector"])]
        certificate_kind: String,
        /// Who issued the certificate (C2).
        #[arg(long, default_value = "")]
        issuer: String,
        /// YYYY-MM-DD of the last annual review (年审, C4); default: today.
        #[arg(long, default_value = "")]
        reviewed_on: String,
        /// The area (执法区域) the certificate covers (C8), as its administrative division code
        /// (e.g. 410105); default: the agency's whole area.
        #[arg(long, default_value = "")]
        area: String,
        /// Auxiliary staff (辅助人员): never an acting officer (C3).
        #[arg(long)]
        auxiliary: bool,
        /// The qualification review or an examination has not passed yet (C3).
        #[arg(long)]
        eligibility_pending: bool,
    },
    /// Record whether an officer has decided 行政处罚 legal reviews before, outside this system.
    ReviewExperience {
        /// The officer's id.
        #[arg(long)]
        officer: String,
        /// `true` or `false`.
        #[arg(long, action = clap::ArgAction::Set)]
        prior: bool,
    },
    /// Change an officer's status: active, suspended or revoked.
    Status {
        /// The officer's id.
        #[arg(long)]
        officer: String,
        /// The new status.
        #[arg(long, value_parser = ["active", "suspended", "revoked"])]
        status: String,
        /// Why (recorded).
        #[arg(long)]
        reason: String,
    },
    /// List an agency's officers.
    List {
        /// The agency's id.
        #[arg(long)]
        agency: String,
    },
}

/// A certificate state as `-q` prints it: `active`, `review_overdue`, ...
fn certificate_state_name(state: i32) -> String {
    pb::CertificateState::try_from(state)
        .map(|s| s.as_str_name().trim_start_matches("CERTIFICATE_STATE_").to_lowercase())
        .unwrap_or_else(|_| state.to_string())
}

/// `certificate …`
#[derive(Debug, Clone, clap::Subcommand)]
pub enum CertificateCmd {
    /// Record what happened to an officer's certificate (RULES C3–C5). Admin.
    Record {
        /// The officer's id.
        #[arg(long)]
        officer: String,
        /// What happened.
        #[arg(long, value_parser = CERTIFICATE_EVENTS.map(|(name, _)| name))]
        event: String,
        /// YYYY-MM-DD, not in the future; default: today.
        #[arg(long, default_value = "")]
        on: String,
        /// Hours of a training.
        #[arg(long, default_value_t = 0)]
        hours: u32,
        /// Why, or what (recorded).
        #[arg(long)]
        reason: String,
        /// The new card's number (`--event replaced` only).
        #[arg(long, default_value = "")]
        number: String,
        /// The new card's first day of validity, YYYY-MM-DD (`--event replaced` only).
        #[arg(long, default_value = "")]
        valid_from: String,
        /// The new card's last day of validity, YYYY-MM-DD (`--event replaced` only).
        #[arg(long, default_value = "")]
        valid_until: String,
    },
    /// Certificates of the agencies you oversee (or of one), with their state today and the
    /// annual review's due date. Supervisor, admin.
    List {
        /// One agency's id; default: every agency you oversee.
        #[arg(long, default_value = "")]
        agency: String,
        /// Which: all, review-due, review-overdue, suspended, expiring.
        #[arg(long, default_value = "all", value_parser = ["all", "review-due", "review-overdue", "suspended", "expiring"])]
        filter: String,
    },
}

/// The names of `certificate record --event`.
const CERTIFICATE_EVENTS: [(&str, pb::CertificateEventKind); 10] = [
    ("eligibility-confirmed", pb::CertificateEventKind::EligibilityConfirmed),
    ("training", pb::CertificateEventKind::Training),
    ("review-passed", pb::CertificateEventKind::ReviewPassed),
    ("review-failed", pb::CertificateEventKind::ReviewFailed),
    ("suspended", pb::CertificateEventKind::Suspended),
    ("reinstated", pb::CertificateEventKind::Reinstated),
    ("withdrawn", pb::CertificateEventKind::Withdrawn),
    ("cancelled", pb::CertificateEventKind::Cancelled),
    ("lost-reported", pb::CertificateEventKind::LostReported),
    ("replaced", pb::CertificateEventKind::Replaced),
];

/// `principal …`
#[derive(Debug, Clone, clap::Subcommand)]
pub enum PrincipalCmd {
    /// Create a principal: admin, officer, reviewer, head, publisher or supervisor.
    Create {
        /// A name for it (e.g. the device or the person).
        #[arg(long)]
        name: String,
        /// Its role.
        #[arg(long, value_parser = ["admin", "officer", "reviewer", "head", "publisher", "supervisor"])]
        role: String,
        /// The agency it acts for (every role but admin).
        #[arg(long, default_value = "")]
        agency: String,
        /// The officer it is (role officer; reviewer for a reviewing officer).
        #[arg(long, default_value = "")]
        officer: String,
    },
}

/// `token …`
#[derive(Debug, Clone, clap::Subcommand)]
pub enum TokenCmd {
    /// Issue a token for a principal; prints the token once.
    Issue {
        /// The principal's id.
        #[arg(long)]
        principal: String,
        /// A label to tell its tokens apart.
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Revoke a token.
    Revoke {
        /// The token's id (shown when it was issued; not the token itself).
        #[arg(long)]
        token_id: String,
    },
}

/// `case …`
#[derive(Debug, Clone, clap::Subcommand)]
pub enum CaseCmd {
    /// Open a case.
    Open {
        /// The agency's id.
        #[arg(long)]
        agency: String,
        /// The kind of case.
        #[arg(long, value_parser = ["penalty", "licensing", "compulsion", "inspection", "other"])]
        kind: String,
        /// The case's title (案由).
        #[arg(long)]
        title: String,
        /// The party's type.
        #[arg(long, value_parser = ["natural_person", "legal_person", "other_organisation", "individual_business"])]
        party_type: String,
        /// The party's name.
        #[arg(long)]
        party_name: String,
        /// The party's 统一社会信用代码 (organisations).
        #[arg(long, default_value = "")]
        party_credit_code: String,
        /// The party's ID number (persons).
        #[arg(long, default_value = "")]
        party_id_number: String,
        /// A handling officer (repeat for each).
        #[arg(long = "officer", required = true)]
        officers: Vec<String>,
        /// Client request id (default: a fresh one).
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Show a case.
    Get {
        /// The case's id.
        #[arg(long = "case")]
        case_id: String,
    },
    /// List a case's events.
    Events {
        /// The case's id.
        #[arg(long = "case")]
        case_id: String,
    },
    /// Verify a case's hash chain (and, with --rehash, its evidence bytes).
    Verify {
        /// The case's id.
        #[arg(long = "case")]
        case_id: String,
        /// Also read every evidence object back and compare its SHA-256.
        #[arg(long)]
        rehash: bool,
    },
    /// Export a case as a tar archive (check it offline with `sanxiang verify-export`).
    Export {
        /// The case's id.
        #[arg(long = "case")]
        case_id: String,
        /// The archive file to write.
        #[arg(long)]
        out: PathBuf,
    },
}

/// `event …`
#[derive(Debug, Clone, clap::Subcommand)]
pub enum EventCmd {
    /// Append an event (filing, inspection, evidence_collection, questioning, seizure, …).
    Append {
        /// The case's id.
        #[arg(long = "case")]
        case_id: String,
        /// The kind of act (docs/API.md lists them with their rules).
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(event_kinds()))]
        kind: String,
        /// An acting officer (repeat for each).
        #[arg(long = "officer")]
        officers: Vec<String>,
        /// A referenced evidence item (repeat for each).
        #[arg(long = "evidence")]
        evidence: Vec<String>,
        /// What was done (the record's text).
        #[arg(long, default_value = "")]
        text: String,
        /// Where it was done.
        #[arg(long, default_value = "")]
        location: String,
        /// The administrative division code (行政区划代码) of the place, judged against
        /// certificates limited to an area (C8).
        #[arg(long, default_value = "")]
        division_code: String,
        /// When it happened (RFC 3339); default now.
        #[arg(long)]
        occurred_at: Option<String>,
        /// Why a required recording is missing.
        #[arg(long, default_value = "")]
        missing_recording_reason: String,
        /// The officers showed their certificates to the party (亮证, RULES P2, C7).
        #[arg(long)]
        certificates_shown: bool,
        /// How a document was served (kind service).
        #[arg(long, default_value = "", value_parser = ["", "direct", "leaving", "mail", "electronic", "public_notice", "entrusted"], hide_possible_values = false)]
        service_method: String,
        /// Client request id (default: a fresh one).
        #[arg(long)]
        request_id: Option<String>,
    },
}

/// `evidence …`
#[derive(Debug, Clone, clap::Subcommand)]
pub enum EvidenceCmd {
    /// Upload a file as evidence of a case. Interrupted (Ctrl-C, a lost connection), the same
    /// command run again resumes where the server's stored bytes end.
    Upload {
        /// The case's id (checked before the file is hashed).
        #[arg(long = "case")]
        case_id: String,
        /// The file to upload.
        #[arg(long)]
        file: PathBuf,
        /// Its media type (e.g. video/mp4, audio/mpeg, image/jpeg, application/pdf).
        #[arg(long)]
        media_type: String,
        /// The officer who captured it.
        #[arg(long)]
        officer: String,
        /// The capturing device (e.g. bodycam-07).
        #[arg(long, default_value = "")]
        device: String,
        /// When it was captured (RFC 3339); default now.
        #[arg(long)]
        captured_at: Option<String>,
        /// The upload id to resume (default: the one remembered for this file and case, else a
        /// fresh one).
        #[arg(long)]
        upload_id: Option<String>,
        /// Send at most this many bytes per second (a shared link); default unlimited.
        #[arg(long)]
        limit_rate: Option<u64>,
    },
    /// Destroy evidence past its retention, as the agency head (RULES K5): recorded in the case,
    /// which keeps each item's digest. Refused while a procedure holds the case (K4).
    Destroy {
        #[arg(long = "case")]
        case_id: String,
        /// An item to destroy; repeatable.
        #[arg(long = "evidence", required = true)]
        evidence_ids: Vec<String>,
        /// The destruction list (销毁清册) the items are on.
        #[arg(long)]
        batch: String,
        /// The appraisal committee's finding.
        #[arg(long)]
        appraisal: String,
        /// A supervising witness (监销人); at least two distinct ones.
        #[arg(long = "witness")]
        witnesses: Vec<String>,
        /// The agency head's approval of the destruction list (e.g. its document number);
        /// required by the server, which names `approval_reference` when it is missing.
        #[arg(long, default_value = "")]
        approval: String,
        #[arg(long, default_value_t = uuid::Uuid::now_v7().to_string())]
        request_id: String,
    },
    /// Download evidence; the access is recorded in the case.
    Download {
        /// The evidence item's id.
        #[arg(long = "evidence")]
        evidence_id: String,
        /// Why it is retrieved (recorded in the case).
        #[arg(long)]
        reason: String,
        /// The file to write.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Adds the bearer token to every call.
#[derive(Clone)]
pub struct Bearer(MetadataValue<tonic::metadata::Ascii>);

impl Interceptor for Bearer {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        req.metadata_mut().insert("authorization", self.0.clone());
        Ok(req)
    }
}

/// A channel that sends the bearer token.
pub type Intercepted = tonic::service::interceptor::InterceptedService<Channel, Bearer>;

fn fresh_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn parse_time(field: &str, value: Option<&str>) -> Result<Option<prost_types::Timestamp>, StartError> {
    match value {
        None => Ok(None),
        Some(v) => Timestamp::parse_rfc3339(v)
            .map(|t| Some(timestamp(t)))
            .ok_or_else(|| format!("{field}: expected an RFC 3339 time such as 2026-11-30T09:00:00+08:00").into()),
    }
}

pub(crate) use crate::output::{show, show_ids};

/// The event kinds `event append --kind` takes: every kind but those the server records itself
/// and the decision (issued with `decision issue`).
fn event_kinds() -> Vec<&'static str> {
    EventKind::ALL.iter().filter(|k| !k.is_system() && !k.is_gated()).map(|k| k.as_str()).collect()
}

/// The refusal of an answer that lacks the message it wraps (`GetCaseResponse.case`, …).
pub(crate) fn missing(field: &str) -> StartError {
    format!("the server's answer carries no {field}").into()
}

/// Runs a client subcommand.
pub async fn run(args: ClientArgs, command: ClientCommand) -> Result<(), StartError> {
    let token = match &args.token {
        Some(t) => t.clone(),
        None => std::fs::read_to_string(&args.token_file)
            .map_err(|e| format!("no --token and cannot read {}: {e}", args.token_file.display()))?
            .trim()
            .to_owned(),
    };
    crate::output::set_format(args.output);
    let channel = args.connect().await?;
    let bearer = Bearer(format!("Bearer {token}").parse()?);
    let mut registry = RegistryServiceClient::with_interceptor(channel.clone(), bearer.clone());
    let mut record = RecordServiceClient::with_interceptor(channel.clone(), bearer.clone());
    let q = args.quiet;
    use crate::publicity_client::{PublicityCmd, run as publicity_cmd};
    use crate::review_client::{RegistryCmd, ReviewSide, registry as registry_cmd, review as review_cmd};
    match command {
        ClientCommand::Catalog(c) => registry_cmd(&mut registry, q, RegistryCmd::Catalog(c)).await?,
        ClientCommand::Calendar(c) => registry_cmd(&mut registry, q, RegistryCmd::Calendar(c)).await?,
        ClientCommand::Draft(c) => review_cmd(channel, bearer, q, ReviewSide::Draft(c)).await?,
        ClientCommand::Review(c) => review_cmd(channel, bearer, q, ReviewSide::Review(c)).await?,
        ClientCommand::Decision(c) => review_cmd(channel, bearer, q, ReviewSide::Decision(c)).await?,
        ClientCommand::Disclosure(c) => publicity_cmd(channel, bearer, q, PublicityCmd::Disclosure(c)).await?,
        ClientCommand::PublicityPolicy(c) => publicity_cmd(channel, bearer, q, PublicityCmd::Policy(c)).await?,
        ClientCommand::Notice(c) => publicity_cmd(channel, bearer, q, PublicityCmd::Notice(c)).await?,
        ClientCommand::Filing(c) => crate::filing_client::run(channel, bearer, q, c).await?,
        ClientCommand::Complaint(c) => crate::complaints_client::run(channel, bearer, q, c).await?,
        ClientCommand::Whoami => {
            let p = registry
                .who_am_i(pb::WhoAmIRequest {})
                .await?
                .into_inner()
                .principal
                .ok_or_else(|| crate::client::missing("principal"))?;
            show(q, &p.id, &p);
        }
        ClientCommand::Agency(AgencyCmd::Create {
            name,
            credit_code,
            region,
            parent,
            kind,
            government,
            request_id,
        }) => {
            let a = registry
                .create_agency(pb::CreateAgencyRequest {
                    request_id,
                    name,
                    credit_code,
                    region,
                    parent_id: parent,
                    kind: agency_kind(&kind),
                    government_id: government,
                    ..Default::default()
                })
                .await?
                .into_inner()
                .agency
                .ok_or_else(|| crate::client::missing("agency"))?;
            show(q, &a.id, &a);
        }
        ClientCommand::Agency(AgencyCmd::SetKind { agency, kind, government }) => {
            let a = registry
                .set_agency_kind(pb::SetAgencyKindRequest {
                    agency_id: agency,
                    kind: agency_kind(&kind),
                    government_id: government,
                })
                .await?
                .into_inner()
                .agency
                .ok_or_else(|| crate::client::missing("agency"))?;
            show(q, &a.id, &a);
        }
        ClientCommand::Agency(AgencyCmd::List) => {
            let list = registry.list_agencies(pb::ListAgenciesRequest {}).await?.into_inner();
            show_ids(q, &list.agencies, |a| a.id.clone());
        }
        ClientCommand::Officer(OfficerCmd::Register {
            agency,
            name,
            certificate,
            category,
            valid_from,
            valid_until,
            legal_qualification,
            prior_review_experience,
            certificate_kind,
            issuer,
            reviewed_on,
            area,
            auxiliary,
            eligibility_pending,
        }) => {
            let certificate_kind = match certificate_kind.as_str() {
                "supervision" => pb::CertificateKind::Supervision,
                "sector" => pb::CertificateKind::Sector,
                _ => pb::CertificateKind::Enforcement,
            };
            let o = registry
                .register_officer(pb::RegisterOfficerRequest {
                    request_id: String::new(),
                    agency_id: agency,
                    name,
                    certificate_number: certificate,
                    category,
                    valid_from,
                    valid_until,
                    legal_qualification,
                    has_prior_review_experience: prior_review_experience,
                    certificate_kind: certificate_kind as i32,
                    issuer,
                    reviewed_on,
                    auxiliary,
                    eligibility_pending,
                    area,
                })
                .await?
                .into_inner()
                .officer
                .ok_or_else(|| crate::client::missing("officer"))?;
            show(q, &o.id, &o);
        }
        ClientCommand::Officer(OfficerCmd::Status { officer, status, reason }) => {
            let s = match status.as_str() {
                "active" => pb::OfficerStatus::Active,
                "suspended" => pb::OfficerStatus::Suspended,
                "revoked" => pb::OfficerStatus::Revoked,
                other => return Err(format!("unknown status {other}: active, suspended or revoked").into()),
            };
            let o = registry
                .set_officer_status(pb::SetOfficerStatusRequest {
                    officer_id: officer,
                    status: s as i32,
                    reason,
                    effective_at: None,
                })
                .await?
                .into_inner()
                .officer
                .ok_or_else(|| crate::client::missing("officer"))?;
            show(q, &o.id, &o);
        }
        ClientCommand::Officer(OfficerCmd::ReviewExperience { officer, prior }) => {
            let o = registry
                .set_officer_review_experience(pb::SetOfficerReviewExperienceRequest {
                    officer_id: officer,
                    has_prior_review_experience: prior,
                })
                .await?
                .into_inner()
                .officer
                .ok_or_else(|| crate::client::missing("officer"))?;
            show(q, &o.id, &o);
        }
        ClientCommand::Officer(OfficerCmd::List { agency }) => {
            let list = registry.list_officers(pb::ListOfficersRequest { agency_id: agency }).await?.into_inner();
            show_ids(q, &list.officers, |o| o.id.clone());
        }
        ClientCommand::Certificate(CertificateCmd::Record {
            officer,
            event,
            on,
            hours,
            reason,
            number,
            valid_from,
            valid_until,
        }) => {
            let kind = CERTIFICATE_EVENTS
                .iter()
                .find(|(name, _)| *name == event)
                .map(|(_, k)| *k)
                .ok_or_else(|| format!("unknown certificate event {event}"))?;
            let c = registry
                .record_certificate_event(pb::RecordCertificateEventRequest {
                    officer_id: officer,
                    kind: kind as i32,
                    effective_on: on,
                    training_hours: hours,
                    reason,
                    certificate_number: number,
                    valid_from,
                    valid_until,
                })
                .await?
                .into_inner()
                .certificate
                .ok_or_else(|| crate::client::missing("certificate"))?;
            show(q, &certificate_state_name(c.state), &c);
        }
        ClientCommand::Certificate(CertificateCmd::List { agency, filter }) => {
            let filter = match filter.as_str() {
                "review-due" => pb::CertificateFilter::ReviewDue,
                "review-overdue" => pb::CertificateFilter::ReviewOverdue,
                "suspended" => pb::CertificateFilter::Suspended,
                "expiring" => pb::CertificateFilter::Expiring,
                _ => pb::CertificateFilter::Unspecified,
            };
            let list = registry
                .list_certificates(pb::ListCertificatesRequest { agency_id: agency, filter: filter as i32 })
                .await?
                .into_inner();
            show_ids(q, &list.certificates, |c| c.officer.as_ref().map(|o| o.id.clone()).unwrap_or_default());
        }
        ClientCommand::Principal(PrincipalCmd::Create { name, role, agency, officer }) => {
            let role = Role::parse(&role).ok_or_else(|| {
                format!("unknown role {role}: admin, officer, reviewer, head, publisher or supervisor")
            })?;
            let p = registry
                .create_principal(pb::CreatePrincipalRequest {
                    request_id: String::new(),
                    name,
                    role: role_to_pb(role) as i32,
                    agency_id: agency,
                    officer_id: officer,
                })
                .await?
                .into_inner()
                .principal
                .ok_or_else(|| crate::client::missing("principal"))?;
            show(q, &p.id, &p);
        }
        ClientCommand::Token(TokenCmd::Issue { principal, label }) => {
            let t = registry.issue_token(pb::IssueTokenRequest { principal_id: principal, label }).await?.into_inner();
            if crate::output::format() == crate::output::OutputFormat::Json {
                println!("{}", serde_json::json!({ "token_id": t.token_id, "token": t.token }));
            } else if q {
                println!("{}", t.token);
            } else {
                println!("token id: {}\ntoken:    {}\n(the token is shown once)", t.token_id, t.token);
            }
        }
        ClientCommand::Token(TokenCmd::Revoke { token_id }) => {
            registry.revoke_token(pb::RevokeTokenRequest { token_id }).await?;
        }
        ClientCommand::Case(cmd) => case(&mut record, q, cmd).await?,
        ClientCommand::Event(EventCmd::Append {
            case_id,
            kind,
            officers,
            evidence,
            text,
            location,
            division_code,
            occurred_at,
            missing_recording_reason,
            certificates_shown,
            service_method,
            request_id,
        }) => {
            let kind = EventKind::parse(&kind)
                .ok_or_else(|| format!("unknown event kind {kind}: one of {}", event_kinds().join(", ")))?;
            let occurred_at =
                parse_time("--occurred-at", occurred_at.as_deref())?.unwrap_or_else(|| timestamp(SystemClock.now()));
            let method = match service_method.as_str() {
                "" => pb::ServiceMethod::Unspecified,
                "direct" => pb::ServiceMethod::Direct,
                "leaving" => pb::ServiceMethod::Leaving,
                "mail" => pb::ServiceMethod::Mail,
                "electronic" => pb::ServiceMethod::Electronic,
                "public_notice" => pb::ServiceMethod::PublicNotice,
                "entrusted" => pb::ServiceMethod::Entrusted,
                other => {
                    return Err(format!(
                        "unknown service method {other}: direct, leaving, mail, electronic, public_notice or entrusted"
                    )
                    .into());
                }
            };
            let e = record
                .append_event(pb::AppendEventRequest {
                    request_id: request_id.unwrap_or_else(fresh_id),
                    case_id,
                    kind: event_kind_to_pb(kind) as i32,
                    occurred_at: Some(occurred_at),
                    officer_ids: officers,
                    evidence_ids: evidence,
                    text,
                    location,
                    division_code,
                    missing_recording_reason,
                    service_method: method as i32,
                    certificates_shown,
                    ..Default::default()
                })
                .await?
                .into_inner()
                .event
                .ok_or_else(|| crate::client::missing("event"))?;
            show(q, &e.case_seq.to_string(), &e);
        }
        ClientCommand::Evidence(cmd) => evidence(&mut record, &args.endpoint, q, cmd).await?,
    }
    Ok(())
}

async fn case(record: &mut RecordServiceClient<Intercepted>, q: bool, cmd: CaseCmd) -> Result<(), StartError> {
    match cmd {
        CaseCmd::Open {
            agency,
            kind,
            title,
            party_type,
            party_name,
            party_credit_code,
            party_id_number,
            officers,
            request_id,
        } => {
            let kind = CaseKind::parse(&kind).ok_or_else(|| {
                format!("unknown case kind {kind}: penalty, licensing, compulsion, inspection or other")
            })?;
            let kind = match kind {
                CaseKind::Penalty => pb::CaseKind::Penalty,
                CaseKind::Licensing => pb::CaseKind::Licensing,
                CaseKind::Compulsion => pb::CaseKind::Compulsion,
                CaseKind::Inspection => pb::CaseKind::Inspection,
                CaseKind::Other => pb::CaseKind::Other,
            };
            let party_type = match party_type.as_str() {
                "natural_person" => pb::PartyType::NaturalPerson,
                "legal_person" => pb::PartyType::LegalPerson,
                "other_organisation" => pb::PartyType::OtherOrganisation,
                "individual_business" => pb::PartyType::IndividualBusiness,
                other => {
                    return Err(format!(
                        "unknown party type {other}: natural_person, legal_person, other_organisation or individual_business"
                    )
                    .into());
                }
            };
            let c = record
                .open_case(pb::OpenCaseRequest {
                    request_id: request_id.unwrap_or_else(fresh_id),
                    agency_id: agency,
                    kind: kind as i32,
                    title,
                    party: Some(pb::Party {
                        r#type: party_type as i32,
                        name: party_name,
                        credit_code: party_credit_code,
                        id_number: party_id_number,
                        ..Default::default()
                    }),
                    handling_officer_ids: officers,
                    opened_at: None,
                })
                .await?
                .into_inner()
                .case
                .ok_or_else(|| crate::client::missing("case"))?;
            show(q, &c.id, &c);
        }
        CaseCmd::Get { case_id } => {
            let c = record
                .get_case(pb::GetCaseRequest { case_id })
                .await?
                .into_inner()
                .case
                .ok_or_else(|| crate::client::missing("case"))?;
            show(q, &c.id, &c);
        }
        CaseCmd::Events { case_id } => {
            let list =
                record.list_events(pb::ListEventsRequest { case_id, after_seq: 0, limit: 0 }).await?.into_inner();
            if q || crate::output::format() == crate::output::OutputFormat::Json {
                show_ids(q, &list.events, |e| e.case_seq.to_string());
                return Ok(());
            }
            for e in list.events {
                let kind = crate::output::event_kind_word(e.kind);
                let at = e.occurred_at.map_or_else(String::new, |t| crate::output::local_time(t.seconds, t.nanos));
                println!("{:>4}  {at}  {kind:<28} {}  {}", e.case_seq, e.hash, e.payload_json);
            }
        }
        CaseCmd::Verify { case_id, rehash } => {
            let r = record.verify_case(pb::VerifyCaseRequest { case_id, rehash_evidence: rehash }).await?.into_inner();
            if crate::output::format() == crate::output::OutputFormat::Json {
                show(false, "", &r);
                if !r.ok {
                    return Err(format!("verification failed: {} problems", r.problems.len()).into());
                }
            } else if r.ok {
                println!(
                    "ok: {} events, {} evidence objects re-hashed, head {}",
                    r.events_checked, r.evidence_checked, r.head_hash
                );
            } else {
                for p in &r.problems {
                    println!("event {} {}: {}", p.case_seq, p.evidence_id, p.message);
                }
                return Err(format!("verification failed: {} problems", r.problems.len()).into());
            }
        }
        CaseCmd::Export { case_id, out } => {
            let n = crate::transfer::export(record, case_id, &out).await?;
            wrote(n, &out);
        }
    }
    Ok(())
}

/// Says what a download or export wrote.
fn wrote(n: u64, out: &std::path::Path) {
    if crate::output::format() == crate::output::OutputFormat::Json {
        println!("{}", serde_json::json!({ "bytes": n, "file": out.display().to_string() }));
    } else {
        println!("wrote {n} bytes to {}", out.display());
    }
}

async fn evidence(
    record: &mut RecordServiceClient<Intercepted>,
    endpoint: &str,
    q: bool,
    cmd: EvidenceCmd,
) -> Result<(), StartError> {
    match cmd {
        EvidenceCmd::Upload { case_id, file, media_type, officer, device, captured_at, upload_id, limit_rate } => {
            let request = crate::transfer::UploadRequest {
                endpoint: endpoint.to_owned(),
                case_id,
                file,
                media_type,
                officer,
                device,
                captured_at: parse_time("--captured-at", captured_at.as_deref())?,
                upload_id,
                limit_rate,
            };
            let r = crate::transfer::upload(record, request).await?;
            let id = r.evidence.as_ref().map(|e| e.id.clone()).unwrap_or_default();
            show(q, &id, &r);
        }
        EvidenceCmd::Destroy { case_id, evidence_ids, batch, appraisal, witnesses, approval, request_id } => {
            let r = record
                .destroy_evidence(pb::DestroyEvidenceRequest {
                    request_id,
                    case_id,
                    evidence_ids,
                    batch_id: batch,
                    appraisal,
                    witnesses,
                    approval_reference: approval,
                })
                .await?
                .into_inner();
            let seq = r.event.as_ref().map(|e| e.case_seq.to_string()).unwrap_or_default();
            show(q, &seq, &r);
        }
        EvidenceCmd::Download { evidence_id, reason, out } => {
            let n = crate::transfer::download(record, evidence_id, reason, &out).await?;
            wrote(n, &out);
        }
    }
    Ok(())
}
