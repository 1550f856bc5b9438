//! Test harness: a real server on an ephemeral port over a real SQLite file or a real
//! PostgreSQL database, real evidence storage, and gRPC clients with bearer tokens.
//!
//! Every integration test runs once per database backend. The SQLite variant always runs; the
//! PostgreSQL variant runs when `SANXIANG_TEST_DATABASE_URL` names a server (a fresh database is
//! created per test). With `CI=true` a missing PostgreSQL URL fails the test instead of skipping.

use std::sync::Arc;

pub mod process;

use sanxiang_domain::credit_code::check_character;
use sanxiang_domain::{SystemClock, TimeProvider, Timestamp};
use sanxiang_proto::v1 as pb;
use sanxiang_proto::v1::complaint_service_client::ComplaintServiceClient;
use sanxiang_proto::v1::filing_service_client::FilingServiceClient;
use sanxiang_proto::v1::publicity_service_client::PublicityServiceClient;
use sanxiang_proto::v1::record_service_client::RecordServiceClient;
use sanxiang_proto::v1::registry_service_client::RegistryServiceClient;
use sanxiang_proto::v1::review_service_client::ReviewServiceClient;
use sanxiang_server::{Running, ServeConfig};
use sea_orm::{ConnectionTrait, Database};
use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::transport::Channel;

/// Runs an async test body once per backend, as `sqlite::NAME` and `postgres::NAME`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(backend) = $crate::Backend::postgres() {
                        super::$name(backend).await;
                    }
                }
            )*
        }
    };
}

/// Which database a test runs on.
#[derive(Debug, Clone)]
pub enum Backend {
    /// A SQLite file in the test's data directory.
    Sqlite,
    /// A PostgreSQL server; a fresh database is created under this URL's server.
    Postgres(String),
}

/// Whether this run is CI, where every backend must run.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

impl Backend {
    /// The PostgreSQL backend if configured; in CI its absence is a failure.
    pub fn postgres() -> Option<Self> {
        match std::env::var("SANXIANG_TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => Some(Self::Postgres(url)),
            _ if in_ci() => {
                panic!("CI=true but SANXIANG_TEST_DATABASE_URL is not set: the PostgreSQL variant must run")
            }
            _ => {
                eprintln!("skipping the PostgreSQL variant: SANXIANG_TEST_DATABASE_URL is not set");
                None
            }
        }
    }

    /// A database URL for one test: a fresh database on PostgreSQL.
    pub async fn database_url(&self, data_dir: &std::path::Path) -> String {
        match self {
            Self::Sqlite => format!("sqlite://{}?mode=rwc", data_dir.join("sanxiang.db").display()),
            Self::Postgres(url) => fresh_postgres_database(url).await,
        }
    }
}

/// Creates an empty database `sx_test_<random>` on the server of `url` and returns its URL.
pub async fn fresh_postgres_database(url: &str) -> String {
    let name = format!("sx_test_{}", uuid::Uuid::now_v7().simple());
    let admin = Database::connect(url).await.expect("connect to the test PostgreSQL server");
    admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create a test database");
    admin.close().await.ok();
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let server = base.rsplit_once('/').map_or(base, |(s, _)| s);
    format!("{server}/{name}{query}")
}

/// A valid 统一社会信用代码 built from a number (for test agencies).
pub fn credit_code(n: u32) -> String {
    let body = format!("91350100{n:09}");
    let mut first17 = [0u8; 17];
    first17.copy_from_slice(body.as_bytes());
    format!("{body}{}", check_character(&first17).expect("digits are in the alphabet"))
}

/// Adds `authorization: Bearer <token>` to every call.
#[derive(Clone)]
pub struct Bearer(Option<MetadataValue<tonic::metadata::Ascii>>);

impl Interceptor for Bearer {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(v) = &self.0 {
            req.metadata_mut().insert("authorization", v.clone());
        }
        Ok(req)
    }
}

type Intercepted = tonic::service::interceptor::InterceptedService<Channel, Bearer>;

/// gRPC clients acting with one token.
#[derive(Clone)]
pub struct Client {
    pub registry: RegistryServiceClient<Intercepted>,
    pub record: RecordServiceClient<Intercepted>,
    pub review: ReviewServiceClient<Intercepted>,
    pub publicity: PublicityServiceClient<Intercepted>,
    pub filing: FilingServiceClient<Intercepted>,
    pub complaints: ComplaintServiceClient<Intercepted>,
}

impl Client {
    /// Clients on `channel` with `token` (none: unauthenticated).
    pub fn new(channel: Channel, token: Option<&str>) -> Self {
        let bearer = Bearer(token.map(|t| format!("Bearer {t}").parse().expect("ascii token")));
        Self {
            registry: RegistryServiceClient::with_interceptor(channel.clone(), bearer.clone()),
            review: ReviewServiceClient::with_interceptor(channel.clone(), bearer.clone()),
            publicity: PublicityServiceClient::with_interceptor(channel.clone(), bearer.clone()),
            filing: FilingServiceClient::with_interceptor(channel.clone(), bearer.clone()),
            complaints: ComplaintServiceClient::with_interceptor(channel.clone(), bearer.clone()),
            record: RecordServiceClient::with_interceptor(channel, bearer)
                .max_decoding_message_size(64 << 20)
                .max_encoding_message_size(64 << 20),
        }
    }
}

/// A running server for one test.
pub struct Harness {
    pub running: Running,
    pub channel: Channel,
    pub admin: Client,
    pub backend: Backend,
    pub data_dir: tempfile::TempDir,
    pub clock: Arc<dyn TimeProvider>,
}

/// An agency with two officers, and clients for principals of several roles.
pub struct World {
    pub agency: pb::Agency,
    pub officers: Vec<pb::Officer>,
    /// Token client of an officer principal bound to `officers[0]`.
    pub officer: Client,
    pub head: Client,
    pub publisher: Client,
}

impl Harness {
    /// Starts a server on `127.0.0.1:0` over `backend` and local evidence storage.
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, Arc::new(SystemClock), |_| {}).await
    }

    /// Starts a server with a chosen clock and configuration tweaks.
    pub async fn start_with(
        backend: Backend,
        clock: Arc<dyn TimeProvider>,
        tweak: impl FnOnce(&mut ServeConfig),
    ) -> Self {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = ServeConfig::embedded(data_dir.path().to_path_buf());
        config.listen = "127.0.0.1:0".parse().expect("addr");
        config.http_listen = "127.0.0.1:0".parse().expect("addr");
        config.database_url = Some(backend.database_url(data_dir.path()).await);
        tweak(&mut config);
        let running = sanxiang_server::start(&config, Arc::clone(&clock)).await.expect("server starts");
        let token = running.admin_token.clone().expect("first start creates the admin token");
        let channel = Channel::from_shared(format!("http://{}", running.grpc_addr))
            .expect("endpoint")
            .connect()
            .await
            .expect("connect");
        let admin = Client::new(channel.clone(), Some(&token));
        Self { running, channel, admin, backend, data_dir, clock }
    }

    /// A client acting with `token`.
    pub fn client(&self, token: Option<&str>) -> Client {
        Client::new(self.channel.clone(), token)
    }

    /// Creates an agency numbered `n` (distinct credit codes), optionally overseen by `parent`.
    pub async fn agency(&self, n: u32, parent: &str) -> pb::Agency {
        self.admin
            .registry
            .clone()
            .create_agency(pb::CreateAgencyRequest {
                request_id: String::new(),
                name: format!("测试执法局{n}"),
                credit_code: credit_code(n),
                region: "福建省福州市".into(),
                parent_id: parent.into(),
                ..Default::default()
            })
            .await
            .expect("create agency")
            .into_inner()
            .agency
            .expect("the answer carries the agency")
    }

    /// Registers an officer with a certificate valid 2020–2035.
    pub async fn officer(&self, agency: &str, name: &str, legal_qualification: bool) -> pb::Officer {
        self.officer_valid(agency, name, "2020-01-01", "2035-12-31", legal_qualification).await
    }

    /// Registers an officer with the given certificate validity.
    pub async fn officer_valid(
        &self,
        agency: &str,
        name: &str,
        from: &str,
        until: &str,
        legal_qualification: bool,
    ) -> pb::Officer {
        self.admin
            .registry
            .clone()
            .register_officer(pb::RegisterOfficerRequest {
                request_id: String::new(),
                agency_id: agency.into(),
                name: name.into(),
                certificate_number: format!("CERT-{}", uuid::Uuid::now_v7().simple()),
                category: "市场监管".into(),
                valid_from: from.into(),
                valid_until: until.into(),
                legal_qualification,
                has_prior_review_experience: false,
                ..Default::default()
            })
            .await
            .expect("register officer")
            .into_inner()
            .officer
            .expect("the answer carries the officer")
    }

    /// Creates a principal and returns a client with a fresh token for it.
    pub async fn principal(&self, role: pb::Role, agency: &str, officer: &str) -> Client {
        let token = self.principal_token(role, agency, officer).await;
        self.client(Some(&token))
    }

    /// Creates a principal and returns a fresh token for it.
    pub async fn principal_token(&self, role: pb::Role, agency: &str, officer: &str) -> String {
        let mut reg = self.admin.registry.clone();
        let p = reg
            .create_principal(pb::CreatePrincipalRequest {
                request_id: String::new(),
                name: format!("{} principal", role.as_str_name()),
                role: role as i32,
                agency_id: agency.into(),
                officer_id: officer.into(),
            })
            .await
            .expect("create principal")
            .into_inner()
            .principal
            .expect("the answer carries the principal");
        reg.issue_token(pb::IssueTokenRequest { principal_id: p.id, label: "test".into() })
            .await
            .expect("issue token")
            .into_inner()
            .token
    }

    /// An agency numbered `n` with two officers and officer, head and publisher clients.
    pub async fn world(&self, n: u32, parent: &str) -> World {
        let agency = self.agency(n, parent).await;
        let o1 = self.officer(&agency.id, "张三", false).await;
        let o2 = self.officer(&agency.id, "李四", false).await;
        let officer = self.principal(pb::Role::Officer, &agency.id, &o1.id).await;
        let head = self.principal(pb::Role::Head, &agency.id, "").await;
        let publisher = self.principal(pb::Role::Publisher, &agency.id, "").await;
        World { agency, officers: vec![o1, o2], officer, head, publisher }
    }

    /// Now, per the server's clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }
}

/// A `google.protobuf.Timestamp`.
pub fn ts(t: Timestamp) -> prost_types::Timestamp {
    let (seconds, nanos) = t.to_parts();
    prost_types::Timestamp { seconds, nanos }
}

impl World {
    /// Ids of both officers.
    pub fn both(&self) -> Vec<String> {
        self.officers.iter().map(|o| o.id.clone()).collect()
    }

    /// Opens a case of `kind` for a company party.
    pub async fn open_case(&self, kind: pb::CaseKind) -> pb::Case {
        self.officer
            .record
            .clone()
            .open_case(pb::OpenCaseRequest {
                request_id: uuid::Uuid::now_v7().to_string(),
                agency_id: self.agency.id.clone(),
                kind: kind as i32,
                title: "未按规定公示年度报告案".into(),
                party: Some(pb::Party {
                    r#type: pb::PartyType::LegalPerson as i32,
                    name: "福州某某贸易有限公司".into(),
                    credit_code: credit_code(999),
                    ..Default::default()
                }),
                handling_officer_ids: self.both(),
                opened_at: None,
            })
            .await
            .expect("open case")
            .into_inner()
            .case
            .expect("the answer carries the case")
    }

    /// An append request for `kind` by both officers, occurring now.
    pub fn event(&self, case_id: &str, kind: pb::EventKind, now: Timestamp) -> pb::AppendEventRequest {
        pb::AppendEventRequest {
            request_id: uuid::Uuid::now_v7().to_string(),
            case_id: case_id.into(),
            kind: kind as i32,
            occurred_at: Some(ts(now)),
            officer_ids: self.both(),
            text: format!("{} 记录", kind.as_str_name()),
            ..Default::default()
        }
    }

    /// VerifyCase of `case_id` by the officer's app (re-hashing the evidence when `rehash`);
    /// panics if the call fails.
    pub async fn verify(&self, case_id: &str, rehash: bool) -> pb::VerifyCaseResponse {
        self.officer
            .record
            .clone()
            .verify_case(pb::VerifyCaseRequest { case_id: case_id.into(), rehash_evidence: rehash })
            .await
            .unwrap()
            .into_inner()
    }

    /// Every event of `case_id`, as the officer's app lists them; panics if the call fails.
    pub async fn events(&self, case_id: &str) -> Vec<pb::Event> {
        self.officer
            .record
            .clone()
            .list_events(pb::ListEventsRequest { case_id: case_id.into(), after_seq: 0, limit: 0 })
            .await
            .expect("list events")
            .into_inner()
            .events
    }

    /// The export archive of `case_id` (the tar bytes), through the officer's app; panics if the
    /// call fails.
    pub async fn export(&self, case_id: &str) -> Vec<u8> {
        let mut s = self
            .officer
            .record
            .clone()
            .export_case(pb::ExportCaseRequest { case_id: case_id.into() })
            .await
            .expect("export case")
            .into_inner();
        let mut out = Vec::new();
        while let Some(m) = s.message().await.expect("export stream") {
            out.extend_from_slice(&m.chunk);
        }
        out
    }

    /// Appends `kind` by both officers; panics on refusal.
    pub async fn append(&self, case_id: &str, kind: pb::EventKind, now: Timestamp) -> pb::Event {
        self.officer
            .record
            .clone()
            .append_event(self.event(case_id, kind, now))
            .await
            .expect("append")
            .into_inner()
            .event
            .expect("the answer carries the event")
    }

    /// Submits a draft decision for `case_id` as the officer: one 警告 under the ordinary
    /// procedure, or, for a licensing case, 准予许可.
    pub async fn submit_draft(&self, case_id: &str, licensing: bool) -> pb::Draft {
        let mut r = pb::SubmitDraftRequest {
            request_id: uuid::Uuid::now_v7().to_string(),
            case_id: case_id.into(),
            legal_basis: "《中华人民共和国行政处罚法》".into(),
            facts: "当事人未按规定公示年度报告".into(),
            ordinary_procedure: !licensing,
            ..Default::default()
        };
        if licensing {
            r.licensing_action = "准予许可".into();
        } else {
            r.penalties = vec![pb::PenaltyItem { r#type: "警告".into(), amount_fen: 0 }];
        }
        self.officer
            .review
            .clone()
            .submit_draft(r)
            .await
            .expect("submit draft")
            .into_inner()
            .draft
            .expect("the answer carries the draft")
    }

    /// Issues the decision on `draft_id` as the head, by both officers.
    pub async fn issue(&self, draft_id: &str) -> Result<pb::IssueDecisionResponse, tonic::Status> {
        self.head
            .review
            .clone()
            .issue_decision(pb::IssueDecisionRequest {
                request_id: uuid::Uuid::now_v7().to_string(),
                draft_id: draft_id.into(),
                officer_ids: self.both(),
                ..Default::default()
            })
            .await
            .map(tonic::Response::into_inner)
    }

    /// Submits a draft that needs no review (the agency has no catalog) and issues it.
    pub async fn decide(&self, case_id: &str, licensing: bool) -> Result<pb::IssueDecisionResponse, tonic::Status> {
        let draft = self.submit_draft(case_id, licensing).await;
        self.issue(&draft.id).await
    }

    /// Uploads `data` as evidence of `case_id` in one stream.
    pub async fn upload(
        &self,
        case_id: &str,
        media_type: &str,
        data: bytes::Bytes,
        captured_at: Timestamp,
    ) -> Result<pb::UploadEvidenceResponse, tonic::Status> {
        upload(&self.officer, self.header(case_id, media_type, captured_at), data).await
    }

    /// An upload header for `case_id` by the first officer.
    pub fn header(&self, case_id: &str, media_type: &str, captured_at: Timestamp) -> pb::UploadHeader {
        pb::UploadHeader {
            upload_id: uuid::Uuid::now_v7().to_string(),
            case_id: case_id.into(),
            media_type: media_type.into(),
            captured_at: Some(ts(captured_at)),
            device_id: "bodycam-07".into(),
            device_reviewed: true,
            officer_id: self.officers[0].id.clone(),
            ..Default::default()
        }
    }
}

/// Uploads `data` after `header`, in 1 MiB messages.
pub async fn upload(
    client: &Client,
    header: pb::UploadHeader,
    data: bytes::Bytes,
) -> Result<pb::UploadEvidenceResponse, tonic::Status> {
    use pb::upload_evidence_request::Part;
    let mut messages = vec![pb::UploadEvidenceRequest { part: Some(Part::Header(header)) }];
    let mut rest = data;
    while !rest.is_empty() {
        let n = rest.len().min(1 << 20);
        messages.push(pb::UploadEvidenceRequest { part: Some(Part::Chunk(rest.split_to(n))) });
    }
    client.record.clone().upload_evidence(futures::stream::iter(messages)).await.map(tonic::Response::into_inner)
}

/// Deterministic pseudo-random bytes (xorshift), distinct per seed.
pub fn pseudo_random(seed: u64, len: usize) -> bytes::Bytes {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out.into()
}

/// A TCP forwarder in front of the server, so a test can cut the network in the middle of a
/// call: aborting it drops both sockets, as a lost connection would.
pub struct Proxy {
    pub addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Forwards connections on a fresh loopback port to `target`.
    pub async fn start(target: std::net::SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                conns.spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Self { addr, task }
    }

    /// Cuts every connection through the proxy.
    pub fn cut(self) {
        self.task.abort();
    }
}

/// Sets up, through `admin` on any server, agency number `n` with two officers (certificates
/// valid 2020–2035) and an officer principal for the first; returns them and that principal's
/// token.
pub async fn setup_agency(admin: &Client, n: u32) -> (pb::Agency, Vec<pb::Officer>, String) {
    let mut registry = admin.registry.clone();
    let agency = registry
        .create_agency(pb::CreateAgencyRequest {
            name: format!("测试执法局{n}"),
            credit_code: credit_code(n),
            region: "福建省福州市".into(),
            ..Default::default()
        })
        .await
        .expect("create agency")
        .into_inner()
        .agency
        .expect("the answer carries the agency");
    let mut officers = Vec::new();
    for i in 0..2 {
        officers.push(
            registry
                .register_officer(pb::RegisterOfficerRequest {
                    agency_id: agency.id.clone(),
                    name: format!("执法员{i}"),
                    certificate_number: format!("CERT-{}", uuid::Uuid::now_v7().simple()),
                    category: "综合".into(),
                    valid_from: "2020-01-01".into(),
                    valid_until: "2035-12-31".into(),
                    ..Default::default()
                })
                .await
                .expect("register officer")
                .into_inner()
                .officer
                .expect("the answer carries the officer"),
        );
    }
    let principal = registry
        .create_principal(pb::CreatePrincipalRequest {
            name: "enforcement app".into(),
            role: pb::Role::Officer as i32,
            agency_id: agency.id.clone(),
            officer_id: officers[0].id.clone(),
            ..Default::default()
        })
        .await
        .expect("create principal")
        .into_inner()
        .principal
        .expect("the answer carries the principal");
    let token = registry
        .issue_token(pb::IssueTokenRequest { principal_id: principal.id, label: String::new() })
        .await
        .expect("issue token")
        .into_inner()
        .token;
    (agency, officers, token)
}

/// Asserts that a call was refused with `code` and a message naming `what` (a field or rule).
#[track_caller]
pub fn refused<T: std::fmt::Debug>(result: Result<T, tonic::Status>, code: tonic::Code, what: &str) {
    match result {
        Err(s) => {
            assert_eq!(s.code(), code, "unexpected status {s:?}");
            assert!(s.message().contains(what), "message {:?} does not name {what:?}", s.message());
        }
        Ok(v) => panic!("expected {code:?} naming {what}, got {v:?}"),
    }
}

/// A disclosure as the agency's staff see it (status, due dates, held spans), through `c`.
pub async fn staff_get(c: &Client, id: &str) -> pb::Disclosure {
    c.publicity
        .clone()
        .get_disclosure(pb::GetDisclosureRequest { disclosure_id: id.into() })
        .await
        .expect("get disclosure")
        .into_inner()
        .disclosure
        .expect("the answer carries the disclosure")
}

/// A disclosure as the public sees it over gRPC, with no token.
pub async fn public_get(h: &Harness, id: &str) -> Result<pb::Disclosure, tonic::Status> {
    h.client(None)
        .publicity
        .get_disclosure(pb::GetDisclosureRequest { disclosure_id: id.into() })
        .await
        .map(|r| r.into_inner().disclosure.expect("the answer carries the disclosure"))
}

/// The URL of `path` on the server's public HTTP surface.
pub fn http(h: &Harness, path: &str) -> String {
    format!("http://{}{path}", h.running.http_addr)
}

/// 10:00 in Shanghai (02:00 UTC) on `date` (`YYYY-MM-DD`): the morning dated tests start on.
pub fn shanghai_morning(date: &str) -> Timestamp {
    Timestamp::parse_rfc3339(&format!("{date}T02:00:00Z")).expect("a date YYYY-MM-DD")
}

impl Harness {
    /// Changes an agency's publicity policy as the administrator: reads it, applies `change`,
    /// stores it (without the regime's defaults).
    pub async fn set_policy(&self, agency: &str, change: impl FnOnce(&mut pb::PublicityPolicy)) {
        let mut p = self
            .admin
            .publicity
            .clone()
            .get_publicity_policy(pb::GetPublicityPolicyRequest { agency_id: agency.into() })
            .await
            .expect("get policy")
            .into_inner()
            .policy
            .expect("the answer carries the policy");
        change(&mut p);
        self.admin
            .publicity
            .clone()
            .put_publicity_policy(pb::PutPublicityPolicyRequest { policy: Some(p), regime_defaults: false })
            .await
            .expect("put policy");
    }

    /// A server whose clock stands at [`shanghai_morning`] of `date` and moves only when the test
    /// moves it.
    pub async fn start_on(backend: Backend, date: &str) -> (Self, Arc<sanxiang_domain::TestClock>) {
        let clock = Arc::new(sanxiang_domain::TestClock::new(shanghai_morning(date)));
        let h = Self::start_with(backend, clock.clone(), |_| {}).await;
        (h, clock)
    }
}

/// GET `path` on the public HTTP surface.
pub async fn http_get(h: &Harness, path: &str) -> reqwest::Response {
    reqwest::get(http(h, path)).await.expect("http get")
}

/// The body of GET `path`, which must answer 200.
pub async fn http_text(h: &Harness, path: &str) -> String {
    let r = http_get(h, path).await;
    assert_eq!(r.status(), 200, "GET {path}");
    r.text().await.expect("body")
}

/// The JSON body of GET `path`, which must answer 200.
pub async fn http_json(h: &Harness, path: &str) -> serde_json::Value {
    serde_json::from_str(&http_text(h, path).await).expect("json")
}

/// A draft decision on `case_id`: an ordinary-procedure penalty for selling expired food with
/// `penalties` (type, amount in fen).
pub fn penalty_draft(case_id: &str, penalties: &[(&str, u64)]) -> pb::SubmitDraftRequest {
    pb::SubmitDraftRequest {
        request_id: uuid::Uuid::now_v7().to_string(),
        case_id: case_id.into(),
        penalties: penalties.iter().map(|(t, f)| pb::PenaltyItem { r#type: (*t).into(), amount_fen: *f }).collect(),
        legal_basis: "《中华人民共和国食品安全法》第一百二十四条".into(),
        facts: "当事人销售超过保质期的食品".into(),
        violation_type: "销售超过保质期的食品".into(),
        decision_content: "依法处罚".into(),
        ordinary_procedure: true,
        ..Default::default()
    }
}

impl World {
    /// Files the case and settles the statement period (filing, notice of the proposed decision,
    /// statement waived), so a penalty may be decided.
    pub async fn ready_for_decision(&self, case_id: &str, now: Timestamp) {
        for k in [pb::EventKind::Filing, pb::EventKind::NoticeOfProposedDecision, pb::EventKind::StatementWaived] {
            self.append(case_id, k, now).await;
        }
    }

    /// Submits a draft decision as the officer.
    pub async fn submit(&self, r: pb::SubmitDraftRequest) -> pb::Draft {
        self.officer
            .review
            .clone()
            .submit_draft(r)
            .await
            .expect("submit draft")
            .into_inner()
            .draft
            .expect("the answer carries the draft")
    }
}
