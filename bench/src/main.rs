//! `sanxiang-bench`: drives a running sanxiang server over real gRPC and prints, per figure, one
//! Markdown table row with the figure, the baseline measured in the same run, and their ratio.
//!
//! The baselines run in this process on `127.0.0.1:0`: a tonic service answering the same
//! `sanxiang.v1.RecordService` paths with no storage ([`baseline`]), and SHA-256 over the same
//! number of bytes for verification.

mod baseline;
mod feed;
mod seed;
mod spawn;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::{Parser, Subcommand};
use prost::Message;
use sanxiang_domain::credit_code::check_character;
use sanxiang_domain::{SystemClock, TimeProvider};
use sanxiang_proto::v1 as pb;
use sanxiang_proto::v1::record_service_client::RecordServiceClient;
use sanxiang_proto::v1::registry_service_client::RegistryServiceClient;
use sha2::Digest;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Largest gRPC message either side sends (1 MiB evidence chunks plus framing).
const MAX_MESSAGE: usize = 64 << 20;
/// Evidence chunk size, as the `sanxiang` client and the apps stream it.
const CHUNK: usize = 1 << 20;

/// Load generator for a sanxiang server; every figure is printed with its baseline and ratio.
#[derive(Debug, Parser)]
#[command(name = "sanxiang-bench", version)]
struct Cli {
    /// gRPC endpoint of a running server (ignored with `--spawn`).
    #[arg(long, env = "SANXIANG_ENDPOINT", default_value = "http://127.0.0.1:50051", global = true)]
    endpoint: String,
    /// Administrator token of the running server.
    #[arg(long, env = "SANXIANG_TOKEN", global = true)]
    token: Option<String>,
    /// File holding the administrator token.
    #[arg(long, env = "SANXIANG_TOKEN_FILE", global = true)]
    token_file: Option<PathBuf>,
    /// Start `sanxiang serve` on a temporary data directory and port 0, and report its peak RSS.
    #[arg(long, global = true)]
    spawn: bool,
    /// The server binary for `--spawn` (default: `$CARGO_TARGET_DIR/release/sanxiang`).
    #[arg(long, global = true)]
    server_bin: Option<PathBuf>,
    /// `--database-url` for the spawned server (default: its embedded SQLite).
    #[arg(long, env = "SANXIANG_BENCH_DATABASE_URL", global = true)]
    database_url: Option<String>,
    /// Label of the database column of the printed row.
    #[arg(long, global = true)]
    label: Option<String>,
    /// Print the table header before the row.
    #[arg(long, global = true)]
    header: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Concurrent clients appending inspection events (two officers, one evidence reference).
    Append {
        /// Concurrent clients.
        #[arg(long, default_value_t = 64)]
        clients: usize,
        /// Cases; client `i` appends to case `i % cases` (1: every client on one case).
        #[arg(long, default_value_t = 64)]
        cases: usize,
        /// Events per client.
        #[arg(long, default_value_t = 200)]
        events: usize,
        /// Events appended (unmeasured, 64 clients on distinct cases) before the measured run.
        #[arg(long, default_value_t = 0)]
        preload: usize,
        /// Events stored straight into the database (64 other cases, valid chains) before the
        /// measured run: the fast way to the scale run's millions. Needs `--spawn`.
        #[arg(long, default_value_t = 0)]
        seed: usize,
    },
    /// Concurrent evidence uploads of one size.
    Upload {
        /// Bytes per upload.
        #[arg(long, default_value_t = 64 << 20)]
        size: usize,
        /// Concurrent uploads (each uploads once).
        #[arg(long, default_value_t = 1)]
        concurrency: usize,
    },
    /// VerifyCase on a case with a given number of events.
    Verify {
        /// Events in the case.
        #[arg(long, default_value_t = 10_000)]
        events: usize,
        /// Also re-hash the evidence (one 16 MiB item, referenced by every event).
        #[arg(long)]
        rehash: bool,
    },
    /// The verifiable log: how long an event takes from its commit to a signed checkpoint that
    /// includes it (`clients` appending on distinct cases), and GetInclusionProof for random
    /// events of the tree.
    Log {
        /// Concurrent appending clients.
        #[arg(long, default_value_t = 8)]
        clients: usize,
        /// Events per client.
        #[arg(long, default_value_t = 100)]
        events: usize,
        /// Inclusion proofs asked for.
        #[arg(long, default_value_t = 2000)]
        proofs: usize,
    },
    /// Pages of the public HTTP feed, at the top and `depth` entries deep (needs `--spawn`: the
    /// entries are written straight into the spawned server's database).
    Feed {
        /// Published disclosures in the listing.
        #[arg(long, default_value_t = 1_100_000)]
        entries: usize,
        /// How deep the second cursor is, in entries from the newest.
        #[arg(long, default_value_t = 1_000_000)]
        depth: usize,
        /// Requests per measured page.
        #[arg(long, default_value_t = 200)]
        pages: usize,
        /// Entries per page.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Concurrent readers of the first page for the load figure (0 skips it).
        #[arg(long, default_value_t = 200)]
        readers: usize,
        /// Pages each concurrent reader asks for, one after another.
        #[arg(long, default_value_t = 20)]
        reader_pages: usize,
    },
}

/// Adds `authorization: Bearer <token>` to every call.
#[derive(Clone)]
struct Bearer(MetadataValue<Ascii>);

impl Interceptor for Bearer {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        req.metadata_mut().insert("authorization", self.0.clone());
        Ok(req)
    }
}

type Record = RecordServiceClient<InterceptedService<Channel, Bearer>>;
type Registry = RegistryServiceClient<InterceptedService<Channel, Bearer>>;

fn record_client(channel: Channel, token: &str) -> Result<Record, Error> {
    let bearer = Bearer(format!("Bearer {token}").parse()?);
    Ok(RecordServiceClient::with_interceptor(channel, bearer)
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE))
}

fn registry_client(channel: Channel, token: &str) -> Result<Registry, Error> {
    Ok(RegistryServiceClient::with_interceptor(channel, Bearer(format!("Bearer {token}").parse()?)))
}

/// One measured figure and its baseline.
struct Row {
    figure: String,
    unit: &'static str,
    value: f64,
    baseline: f64,
    latencies: Vec<Duration>,
    errors: usize,
    first_error: Option<String>,
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let cli = Cli::parse();
    let server = if cli.spawn {
        Some(spawn::Server::start(cli.server_bin.clone(), cli.database_url.as_deref()).await?)
    } else {
        None
    };
    let (endpoint, token) = match &server {
        Some(s) => (format!("http://{}", s.addr), s.token.clone()),
        None => (cli.endpoint.clone(), read_token(&cli)?),
    };
    let channel = Channel::from_shared(endpoint)?.connect().await?;
    let label = cli.label.clone().unwrap_or_else(|| {
        match &cli.database_url {
            Some(u) if u.starts_with("postgres") => "PostgreSQL",
            _ => "SQLite",
        }
        .to_string()
    });
    let row = match cli.command {
        Command::Append { clients, cases, events, preload, seed } => {
            let seed_into = match (seed, &server) {
                (0, _) => None,
                (n, Some(s)) => Some((n, s.database_url.clone())),
                (_, None) => return Err("--seed needs --spawn (it writes into the spawned server's database)".into()),
            };
            let cpu = || server.as_ref().and_then(spawn::Server::cpu_time);
            let (row, cpu_used) =
                append(channel, &token, AppendShape { clients, cases, events, preload, seed_into }, &cpu).await?;
            let rss = server.as_ref().and_then(spawn::Server::peak_rss_kib);
            print_header(cli.header);
            print_row(&row, &label, rss);
            // The server's CPU per appended event over the measured appends: less disturbed by
            // other load on the machine than the rate, so it shows what a change costs.
            if let Some(used) = cpu_used {
                let ok = row.latencies.len().saturating_sub(row.errors).max(1);
                #[allow(clippy::cast_precision_loss)]
                let per_event = used.as_secs_f64() * 1e6 / ok as f64;
                let cpu_row = Row {
                    figure: format!("{}, server CPU", row.figure),
                    unit: "µs/event",
                    value: per_event,
                    baseline: 0.0,
                    latencies: Vec::new(),
                    errors: 0,
                    first_error: None,
                };
                print_row(&cpu_row, &label, rss);
            }
            if let Some(e) = &row.first_error {
                eprintln!("{}: {} errors, first: {e}", row.figure, row.errors);
            }
            return Ok(());
        }
        Command::Upload { size, concurrency } => {
            let (row, to_file) = upload(channel, &token, size, concurrency).await?;
            let rss = server.as_ref().and_then(spawn::Server::peak_rss_kib);
            print_header(cli.header);
            print_row(&row, &label, rss);
            print_row(&to_file, &label, rss);
            for r in [&row, &to_file] {
                if let Some(e) = &r.first_error {
                    eprintln!("{}: {} errors, first: {e}", r.figure, r.errors);
                }
            }
            return Ok(());
        }
        Command::Verify { events, rehash } => {
            // The peak column of this figure is the server's peak during the VerifyCase calls
            // (started afresh after the case was filled); the whole run's peak is printed too.
            let whole_run = std::cell::Cell::new(None);
            let reset = || {
                whole_run.set(server.as_ref().and_then(spawn::Server::peak_rss_kib));
                server.as_ref().is_some_and(spawn::Server::reset_peak_rss)
            };
            let row = verify(channel, &token, events, rehash, &reset).await?;
            if let Some(kib) = whole_run.get() {
                #[allow(clippy::cast_precision_loss)]
                let mib = kib as f64 / 1024.0;
                eprintln!("server peak RSS while the case was filled: {mib:.1} MiB");
            }
            row
        }
        Command::Log { clients, events, proofs } => {
            let rows = log(channel, &token, clients, events, proofs).await?;
            let rss = server.as_ref().and_then(spawn::Server::peak_rss_kib);
            print_header(cli.header);
            for row in &rows {
                print_row(row, &label, rss);
            }
            return Ok(());
        }
        Command::Feed { entries, depth, pages, limit, readers, reader_pages } => {
            let server =
                server.as_ref().ok_or("feed needs --spawn: its entries are written into the server's database")?;
            let shape = FeedShape { entries, depth, pages, limit, readers, reader_pages };
            let rows = feed(&channel, &token, server, &shape).await?;
            let rss = server.peak_rss_kib();
            print_header(cli.header);
            for row in &rows {
                print_row(row, &label, rss);
            }
            return Ok(());
        }
    };
    let rss = server.as_ref().and_then(spawn::Server::peak_rss_kib);
    print_header(cli.header);
    print_row(&row, &label, rss);
    if let Some(e) = &row.first_error {
        eprintln!("{}: {} errors, first: {e}", row.figure, row.errors);
    }
    drop(server);
    Ok(())
}

fn read_token(cli: &Cli) -> Result<String, Error> {
    if let Some(t) = &cli.token {
        return Ok(t.clone());
    }
    let path = cli.token_file.clone().unwrap_or_else(|| PathBuf::from("sanxiang-data/admin-token"));
    Ok(std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?.trim().to_string())
}

fn print_header(header: bool) {
    if header {
        println!("| figure | database | result | baseline | ratio | p50 | p99 | p999 | errors | server peak RSS |");
        println!("|---|---|---|---|---|---|---|---|---|---|");
    }
}

fn print_row(row: &Row, label: &str, rss_kib: Option<u64>) {
    let mut l = row.latencies.clone();
    l.sort_unstable();
    let pct = |p: f64| -> String {
        if l.is_empty() {
            return "–".into();
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
        let i = ((l.len() as f64 * p).ceil() as usize).clamp(1, l.len()) - 1;
        format!("{:.2} ms", l[i].as_secs_f64() * 1000.0)
    };
    let rss = rss_kib.map_or_else(|| "n/a".to_string(), |k| format!("{:.1} MiB", k as f64 / 1024.0));
    // A figure without a baseline (the server's CPU per event) shows none and no ratio.
    let (baseline, ratio) = if row.baseline > 0.0 {
        (format!("{:.0} {}", row.baseline, row.unit), format!("{:.3}", row.value / row.baseline))
    } else {
        ("–".to_owned(), "–".to_owned())
    };
    println!(
        "| {} | {label} | {:.0} {u} | {baseline} | {ratio} | {} | {} | {} | {} | {rss} |",
        row.figure,
        row.value,
        pct(0.50),
        pct(0.99),
        pct(0.999),
        row.errors,
        u = row.unit,
    );
}

/// A valid 统一社会信用代码 built from a number.
fn credit_code(n: u64) -> String {
    let body = format!("91350100{:09}", n % 1_000_000_000);
    let mut first17 = [0u8; 17];
    first17.copy_from_slice(body.as_bytes());
    format!("{body}{}", check_character(&first17).unwrap_or('0'))
}

/// Deterministic pseudo-random bytes (xorshift), distinct per seed.
fn pseudo_random(seed: u64, len: usize) -> Bytes {
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

/// A minute ago, so clock skew between bench and server never puts an act in the future.
fn now_ts() -> prost_types::Timestamp {
    let (seconds, _) = SystemClock.now().to_parts();
    prost_types::Timestamp { seconds: seconds - 60, nanos: 0 }
}

/// An agency with two officers, and an officer principal's token, set up as the administrator.
struct Agency {
    officers: Vec<String>,
    agency_id: String,
    token: String,
}

async fn setup_agency(channel: &Channel, admin_token: &str) -> Result<Agency, Error> {
    let mut registry = registry_client(channel.clone(), admin_token)?;
    // The random low bits of a UUIDv7: distinct agencies when benching one server repeatedly.
    let n = u64::try_from(uuid::Uuid::now_v7().as_u128() & 0xFFFF_FFFF)?;
    let agency = registry
        .create_agency(pb::CreateAgencyRequest {
            name: format!("压测执法局{n}"),
            credit_code: credit_code(n),
            region: "福建省福州市".into(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .agency
        .ok_or("the answer carries no agency")?;
    let mut officers = Vec::new();
    for i in 0..2 {
        let o = registry
            .register_officer(pb::RegisterOfficerRequest {
                agency_id: agency.id.clone(),
                name: format!("执法员{i}"),
                certificate_number: format!("CERT-{}", uuid::Uuid::now_v7().simple()),
                category: "综合".into(),
                valid_from: "2020-01-01".into(),
                valid_until: "2035-12-31".into(),
                ..Default::default()
            })
            .await?
            .into_inner()
            .officer
            .ok_or("the answer carries no officer")?;
        officers.push(o.id);
    }
    let principal = registry
        .create_principal(pb::CreatePrincipalRequest {
            name: "bench app".into(),
            role: pb::Role::Officer as i32,
            agency_id: agency.id.clone(),
            officer_id: officers[0].clone(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .principal
        .ok_or("the answer carries no principal")?;
    let token = registry
        .issue_token(pb::IssueTokenRequest { principal_id: principal.id, label: "bench".into() })
        .await?
        .into_inner()
        .token;
    Ok(Agency { officers, agency_id: agency.id, token })
}

impl Agency {
    async fn open_case(&self, record: &mut Record) -> Result<String, Error> {
        Ok(record
            .open_case(pb::OpenCaseRequest {
                request_id: uuid::Uuid::now_v7().to_string(),
                agency_id: self.agency_id.clone(),
                kind: pb::CaseKind::Penalty as i32,
                title: "未按规定公示年度报告案".into(),
                party: Some(pb::Party {
                    r#type: pb::PartyType::LegalPerson as i32,
                    name: "福州某某贸易有限公司".into(),
                    credit_code: credit_code(999),
                    ..Default::default()
                }),
                handling_officer_ids: self.officers.clone(),
                opened_at: None,
            })
            .await?
            .into_inner()
            .case
            .ok_or("the answer carries no case")?
            .id)
    }

    fn header(&self, case_id: &str, media_type: &str) -> pb::UploadHeader {
        pb::UploadHeader {
            upload_id: uuid::Uuid::now_v7().to_string(),
            case_id: case_id.into(),
            media_type: media_type.into(),
            captured_at: Some(now_ts()),
            device_id: "bodycam-07".into(),
            device_reviewed: true,
            officer_id: self.officers[0].clone(),
            ..Default::default()
        }
    }

    fn event(&self, case_id: &str, evidence_id: &str) -> pb::AppendEventRequest {
        pb::AppendEventRequest {
            request_id: uuid::Uuid::now_v7().to_string(),
            case_id: case_id.into(),
            kind: pb::EventKind::Inspection as i32,
            occurred_at: Some(now_ts()),
            officer_ids: self.officers.clone(),
            evidence_ids: vec![evidence_id.into()],
            text: "现场检查：经营场所内发现过期食品，已拍照固定".into(),
            location: "福州市鼓楼区某某路1号".into(),
            ..Default::default()
        }
    }
}

/// Messages of one upload: the header, then `data` in 1 MiB chunks after a unique 64-byte
/// prefix (so concurrent uploads of the same buffer are distinct content and not deduplicated).
fn upload_messages(header: pb::UploadHeader, unique: u64, data: &Bytes) -> Vec<pb::UploadEvidenceRequest> {
    use pb::upload_evidence_request::Part;
    let mut prefix = format!("sanxiang-bench upload {unique} {}", uuid::Uuid::now_v7()).into_bytes();
    prefix.resize(64, b' ');
    let mut messages = vec![
        pb::UploadEvidenceRequest { part: Some(Part::Header(header)) },
        pb::UploadEvidenceRequest { part: Some(Part::Chunk(prefix.into())) },
    ];
    let mut rest = data.clone();
    while !rest.is_empty() {
        let n = rest.len().min(CHUNK);
        messages.push(pb::UploadEvidenceRequest { part: Some(Part::Chunk(rest.split_to(n))) });
    }
    messages
}

async fn upload_one(record: &mut Record, messages: Vec<pb::UploadEvidenceRequest>) -> Result<pb::Evidence, Error> {
    let r = record.upload_evidence(futures::stream::iter(messages)).await?.into_inner();
    Ok(r.evidence.ok_or("upload response without evidence")?)
}

/// Results of one client's run.
#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    errors: usize,
    first_error: Option<String>,
}

impl Tally {
    fn merge(&mut self, other: Self) {
        self.latencies.extend(other.latencies);
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    fn record<T>(&mut self, started: Instant, r: Result<T, tonic::Status>) {
        self.latencies.push(started.elapsed());
        if let Err(e) = r {
            self.errors += 1;
            if self.first_error.is_none() {
                self.first_error = Some(format!("{:?}: {}", e.code(), e.message()));
            }
        }
    }
}

/// Runs `clients` concurrent clients, each sending `per_client` requests made by `make(i)` to the
/// record service behind `record`; returns the tally and the wall time.
async fn run_appends(
    record: &Record,
    clients: usize,
    per_client: usize,
    make: impl Fn(usize) -> pb::AppendEventRequest + Clone + Send + 'static,
) -> Result<(Tally, Duration), Error> {
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..clients {
        let mut record = record.clone();
        let make = make.clone();
        tasks.spawn(async move {
            let mut tally = Tally { latencies: Vec::with_capacity(per_client), ..Tally::default() };
            for _ in 0..per_client {
                let req = make(i);
                let t = Instant::now();
                let r = record.append_event(req).await;
                tally.record(t, r);
            }
            tally
        });
    }
    let mut total = Tally::default();
    while let Some(t) = tasks.join_next().await {
        total.merge(t?);
    }
    Ok((total, start.elapsed()))
}

#[allow(clippy::cast_precision_loss)]
fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

/// Opens `cases` cases, each with one small photo as evidence; returns (case, evidence) pairs.
async fn cases_with_evidence(agency: &Agency, record: &Record, cases: usize) -> Result<Vec<(String, String)>, Error> {
    let mut out = Vec::with_capacity(cases);
    let photo = pseudo_random(7, 4096);
    for i in 0..cases {
        let mut r = record.clone();
        let case = agency.open_case(&mut r).await?;
        let ev = upload_one(&mut r, upload_messages(agency.header(&case, "image/jpeg"), i as u64, &photo)).await?;
        out.push((case, ev.id));
    }
    Ok(out)
}

/// The shape of the append figure: `clients` appending `events` each over `cases` cases, after
/// `preload` events through the service and `seed_into` events written into the database.
struct AppendShape {
    clients: usize,
    cases: usize,
    events: usize,
    preload: usize,
    seed_into: Option<(usize, String)>,
}

/// The append figure, and the server's CPU time over its measured appends (`server_cpu`).
async fn append(
    channel: Channel,
    admin_token: &str,
    shape: AppendShape,
    server_cpu: &dyn Fn() -> Option<Duration>,
) -> Result<(Row, Option<Duration>), Error> {
    let AppendShape { clients, cases, events, preload, seed_into } = shape;
    let agency = std::sync::Arc::new(setup_agency(&channel, admin_token).await?);
    let record = record_client(channel.clone(), &agency.token)?;
    let mut seeded = None;
    if let Some((n, url)) = &seed_into {
        let targets = cases_with_evidence(&agency, &record, 64).await?;
        let me = registry_client(channel.clone(), &agency.token)?
            .who_am_i(pb::WhoAmIRequest {})
            .await?
            .into_inner()
            .principal
            .ok_or("the answer carries no principal")?;
        let sample = agency.event("", "");
        let template = seed::Template {
            actor: &me.id,
            officers: &agency.officers,
            text: &sample.text,
            location: &sample.location,
        };
        let took = seed::seed(url, &targets, &template, *n).await?;
        eprintln!("seeded {n} events into the database in {:.1} s", took.as_secs_f64());
        catch_up(&channel, *n as u64).await;
        seeded = Some(targets[0].0.clone());
    }
    if preload > 0 {
        let targets = std::sync::Arc::new(cases_with_evidence(&agency, &record, 64).await?);
        let (a, t) = (std::sync::Arc::clone(&agency), std::sync::Arc::clone(&targets));
        let started = Instant::now();
        let (tally, _) = run_appends(&record, 64, preload.div_ceil(64), move |i| a.event(&t[i].0, &t[i].1)).await?;
        eprintln!(
            "preloaded {} events in {:.1} s ({} errors)",
            tally.latencies.len(),
            started.elapsed().as_secs_f64(),
            tally.errors
        );
    }
    let targets = std::sync::Arc::new(cases_with_evidence(&agency, &record, cases.max(1)).await?);
    let (a, t) = (std::sync::Arc::clone(&agency), std::sync::Arc::clone(&targets));
    let cpu_before = server_cpu();
    let (tally, wall) =
        run_appends(&record, clients, events, move |i| a.event(&t[i % t.len()].0, &t[i % t.len()].1)).await?;
    let cpu_used = server_cpu().zip(cpu_before).map(|(after, before)| after.saturating_sub(before));

    // Baseline: the same requests, clients and concurrency against a bare tonic service.
    let base = baseline::start().await?;
    let base_record = record_client(base.channel.clone(), &agency.token)?;
    let (a, t) = (std::sync::Arc::clone(&agency), std::sync::Arc::clone(&targets));
    let (base_tally, base_wall) =
        run_appends(&base_record, clients, events, move |i| a.event(&t[i % t.len()].0, &t[i % t.len()].1)).await?;
    let ok = tally.latencies.len() - tally.errors;
    // A failing baseline is an error of the figure too: its ratio would mean nothing.
    let mut errors = tally.errors + base_tally.errors;
    let mut first_error = tally.first_error.or_else(|| base_tally.first_error.clone());
    // The seeded chains must still verify (and this shows what verification does at scale).
    if let Some(case_id) = seeded {
        let t = Instant::now();
        let report =
            record.clone().verify_case(pb::VerifyCaseRequest { case_id, rehash_evidence: false }).await?.into_inner();
        eprintln!(
            "verified a seeded case: {} events in {:.3} s, ok={}",
            report.events_checked,
            t.elapsed().as_secs_f64(),
            report.ok
        );
        if !report.ok {
            errors += 1;
            first_error = first_error.or_else(|| report.problems.first().map(|p| p.message.clone()));
        }
    }
    let stored = preload + seed_into.as_ref().map_or(0, |(n, _)| *n);
    let suffix = if stored > 0 { format!(", {stored} stored before") } else { String::new() };
    let row = Row {
        figure: format!("append {clients} clients / {cases} cases × {events} events{suffix}"),
        unit: "events/s",
        value: rate(ok, wall),
        baseline: rate(base_tally.latencies.len() - base_tally.errors, base_wall),
        latencies: tally.latencies,
        errors,
        first_error,
    };
    Ok((row, cpu_used))
}

/// The upload figure twice: against the discard baseline, and against the file baseline (the
/// same streams written to a file with the server's `fsync` policy) — or, when the server keeps
/// its evidence in S3 (`SANXIANG_OBJECT_STORE_URL=s3://…` in the environment it inherits), the
/// store baseline (the same streams written once into that store as multipart uploads).
async fn upload(channel: Channel, admin_token: &str, size: usize, concurrency: usize) -> Result<(Row, Row), Error> {
    let agency = std::sync::Arc::new(setup_agency(&channel, admin_token).await?);
    let record = record_client(channel, &agency.token)?;
    let data = pseudo_random(42, size);
    let case = agency.open_case(&mut record.clone()).await?;

    let run = |record: Record, seed: u64| {
        let (agency, data, case) = (std::sync::Arc::clone(&agency), data.clone(), case.clone());
        async move {
            let start = Instant::now();
            let mut tasks = tokio::task::JoinSet::new();
            for i in 0..concurrency {
                let messages = upload_messages(agency.header(&case, "video/mp4"), seed + i as u64, &data);
                let mut record = record.clone();
                tasks.spawn(async move {
                    let t = Instant::now();
                    let r = record.upload_evidence(futures::stream::iter(messages)).await;
                    let mut tally = Tally::default();
                    tally.record(t, r);
                    tally
                });
            }
            let mut total = Tally::default();
            while let Some(t) = tasks.join_next().await {
                total.merge(t.unwrap_or_default());
            }
            (total, start.elapsed())
        }
    };
    let (tally, wall) = run(record, 0).await;
    let base = baseline::start().await?;
    let (base_tally, base_wall) = run(record_client(base.channel.clone(), &agency.token)?, 1_000_000).await;
    drop(base);
    let (sink, sink_name) = match std::env::var("SANXIANG_OBJECT_STORE_URL") {
        Ok(url) if url.starts_with("s3://") => {
            let vault = sanxiang_store::Vault::s3(&url, &[]).map_err(|e| format!("the S3 baseline's store: {e}"))?;
            (
                baseline::Sink::Store(std::sync::Arc::clone(vault.object_store())),
                "S3 multipart straight to the same store",
            )
        }
        // In the system's temporary directory, where a spawned server keeps its data: the same disk.
        _ => (baseline::Sink::File(std::sync::Arc::new(tempfile::tempdir()?)), "file, same fsync policy"),
    };
    let file_base = baseline::start_with(sink).await?;
    let (file_tally, file_wall) = run(record_client(file_base.channel.clone(), &agency.token)?, 2_000_000).await;
    let mib = |n: usize, d: Duration| rate(n * size, d) / f64::from(1u32 << 20);
    let figure = format!("upload {concurrency} × {} MiB", size >> 20);
    let value = mib(concurrency - tally.errors, wall);
    Ok((
        Row {
            figure: format!("{figure} (baseline: discard)"),
            unit: "MiB/s",
            value,
            baseline: mib(concurrency - base_tally.errors, base_wall),
            latencies: tally.latencies.clone(),
            errors: tally.errors + base_tally.errors,
            first_error: tally.first_error.clone().or(base_tally.first_error),
        },
        Row {
            figure: format!("{figure} (baseline: {sink_name})"),
            unit: "MiB/s",
            value,
            baseline: mib(concurrency - file_tally.errors, file_wall),
            latencies: tally.latencies,
            errors: tally.errors + file_tally.errors,
            first_error: tally.first_error.or(file_tally.first_error),
        },
    ))
}

async fn verify(
    channel: Channel,
    admin_token: &str,
    events: usize,
    rehash: bool,
    reset_peak_rss: &dyn Fn() -> bool,
) -> Result<Row, Error> {
    const EVIDENCE: usize = 16 << 20;
    let agency = std::sync::Arc::new(setup_agency(&channel, admin_token).await?);
    let record = record_client(channel, &agency.token)?;
    let mut r = record.clone();
    let case = agency.open_case(&mut r).await?;
    let evidence =
        upload_one(&mut r, upload_messages(agency.header(&case, "video/mp4"), 1, &pseudo_random(3, EVIDENCE))).await?;
    let started = Instant::now();
    let (a, c, e) = (std::sync::Arc::clone(&agency), case.clone(), evidence.id.clone());
    // Sixteen appenders on the one case: group commit batches them, so filling is not serial.
    let (tally, _) = run_appends(&record, 16, events.div_ceil(16), move |_| a.event(&c, &e)).await?;
    eprintln!(
        "filled the case with {} events in {:.1} s ({} errors)",
        tally.latencies.len(),
        started.elapsed().as_secs_f64(),
        tally.errors
    );
    let sample = r
        .append_event(agency.event(&case, &evidence.id))
        .await?
        .into_inner()
        .event
        .ok_or("the answer carries no event")?;

    let mut latencies = Vec::new();
    let mut checked = 0;
    let mut errors = 0;
    let mut first_error = None;
    if !reset_peak_rss() {
        eprintln!("the server's peak RSS could not be started afresh: the peak column covers the filling too");
    }
    for _ in 0..3 {
        let t = Instant::now();
        let resp =
            r.verify_case(pb::VerifyCaseRequest { case_id: case.clone(), rehash_evidence: rehash }).await?.into_inner();
        latencies.push(t.elapsed());
        checked = resp.events_checked;
        if !resp.ok {
            errors += 1;
            first_error = resp.problems.first().map(|p| p.message.clone());
        }
    }
    let best = latencies.iter().min().copied().unwrap_or_default();

    // Baseline: SHA-256 over as many bytes as the events take on the wire (and the evidence).
    let per_event = sample.encoded_len();
    let bytes = pseudo_random(5, per_event * usize::try_from(checked)?);
    let media = if rehash { pseudo_random(3, EVIDENCE) } else { Bytes::new() };
    let t = Instant::now();
    let mut h = sha2::Sha256::new();
    h.update(&bytes);
    h.update(&media);
    std::hint::black_box(h.finalize());
    let base = t.elapsed();
    let n = usize::try_from(checked)?;
    Ok(Row {
        figure: format!("verify {n} events{}", if rehash { " + rehash 16 MiB" } else { "" }),
        unit: "events/s",
        value: rate(n, best),
        baseline: rate(n, base),
        latencies,
        errors,
        first_error,
    })
}

/// Waits until the verifiable log's checkpoint covers at least `events` events and has stopped
/// growing: events seeded straight into the database are integrated by the server's sequencer in
/// the background, and the scale run measures appends against a log that has caught up, not
/// appends competing with integrating millions of leaves. Gives up (with a note on stderr) when
/// the checkpoint does not move for 10 s — a server whose sequencer is off.
async fn catch_up(channel: &Channel, events: u64) {
    use sanxiang_proto::v1::log_service_client::LogServiceClient;
    let mut log = LogServiceClient::new(channel.clone());
    let started = Instant::now();
    let (mut last, mut still) = (0u64, 0u32);
    loop {
        let size = log
            .get_checkpoint(pb::GetCheckpointRequest::default())
            .await
            .ok()
            .and_then(|r| r.into_inner().checkpoint)
            .map_or(0, |c| c.size);
        if size == last {
            still += 1;
        } else {
            (last, still) = (size, 0);
        }
        if size >= events && still >= 2 {
            eprintln!(
                "the log integrated the seeded events: size {size} after {:.1} s",
                started.elapsed().as_secs_f64()
            );
            return;
        }
        if still >= 10 {
            eprintln!("the log's checkpoint stays at {size} (sequencer off?): not waiting for it");
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The log figures. Checkpoint latency: a watcher polls GetCheckpoint every millisecond and
/// notes when each new size was first seen; an event's latency runs from the moment its append
/// returned (committed) to the first sighting of a checkpoint at least its `global_seq` in size,
/// so it includes up to a millisecond of polling. Its baseline is the configured checkpoint
/// interval (500 ms unless `SANXIANG_LOG_CHECKPOINT_INTERVAL_MS` says otherwise). Proof
/// generation: GetInclusionProof for random leaves of the tree, one at a time, against
/// GetCheckpoint (the cheapest read of the same service) as the baseline.
#[allow(clippy::cast_precision_loss)]
async fn log(
    channel: Channel,
    admin_token: &str,
    clients: usize,
    events: usize,
    proofs: usize,
) -> Result<Vec<Row>, Error> {
    use sanxiang_proto::v1::log_service_client::LogServiceClient;
    use std::sync::{Arc, Mutex};
    let agency = Arc::new(setup_agency(&channel, admin_token).await?);
    let record = record_client(channel.clone(), &agency.token)?;
    let targets = Arc::new(cases_with_evidence(&agency, &record, clients.max(1)).await?);
    let mut log = LogServiceClient::new(channel.clone());
    let latest = |r: Result<tonic::Response<pb::GetCheckpointResponse>, tonic::Status>| {
        r.ok().and_then(|r| r.into_inner().checkpoint).map_or(0, |c| c.size)
    };

    // The watcher: (when first seen, size).
    let seen: Arc<Mutex<Vec<(Instant, u64)>>> = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let (seen, stop, mut log) = (Arc::clone(&seen), Arc::clone(&stop), log.clone());
        tokio::spawn(async move {
            let mut last = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let size = latest(log.get_checkpoint(pb::GetCheckpointRequest::default()).await);
                if size > last {
                    last = size;
                    seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((Instant::now(), size));
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
    };
    let committed: Arc<Mutex<Vec<(Instant, u64)>>> = Arc::new(Mutex::new(Vec::new()));
    let failed: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..clients {
        let (mut record, agency, targets, committed, failed) =
            (record.clone(), Arc::clone(&agency), Arc::clone(&targets), Arc::clone(&committed), Arc::clone(&failed));
        tasks.spawn(async move {
            for _ in 0..events {
                let (case, evidence) = &targets[i % targets.len()];
                match record.append_event(agency.event(case, evidence)).await.map(|r| r.into_inner().event) {
                    Ok(Some(e)) => {
                        let at = Instant::now();
                        committed.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((at, e.global_seq));
                    }
                    // Counted and reported below: the latency is measured over the appends that
                    // were committed.
                    Ok(None) => failed
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push("an answer without its event".into()),
                    Err(s) => failed.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(format!(
                        "{:?}: {}",
                        s.code(),
                        s.message()
                    )),
                }
                // Paced a little, so events arrive over many checkpoint intervals.
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
    }
    while let Some(t) = tasks.join_next().await {
        t?;
    }
    let failed = std::mem::take(&mut *failed.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    if let Some(first) = failed.first() {
        eprintln!("log bench: {} of {} appends failed (first: {first})", failed.len(), clients * events);
    }
    let committed = std::mem::take(&mut *committed.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    let last = committed.iter().map(|(_, g)| *g).max().unwrap_or(0);
    let waited = Instant::now();
    while seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner).last().map_or(0, |(_, s)| *s) < last {
        if waited.elapsed() > Duration::from_secs(60) {
            return Err("no checkpoint covered the appended events within 60 s".into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    watcher.await?;
    let seen = std::mem::take(&mut *seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    let latencies: Vec<Duration> = committed
        .iter()
        .filter_map(|(at, g)| {
            let (when, _) = seen.iter().find(|(_, size)| size >= g)?;
            Some(when.saturating_duration_since(*at))
        })
        .collect();
    let mean = latencies.iter().map(Duration::as_secs_f64).sum::<f64>() / latencies.len().max(1) as f64 * 1e3;
    let interval: f64 =
        std::env::var("SANXIANG_LOG_CHECKPOINT_INTERVAL_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(500.0);
    let checkpoint_row = Row {
        figure: format!(
            "log: commit → signed checkpoint, {clients} clients × {events} events (mean; baseline: the interval)"
        ),
        unit: "ms",
        value: mean,
        baseline: interval,
        errors: clients * events - latencies.len(),
        first_error: None,
        latencies,
    };

    // Proofs of random leaves of the whole tree.
    let size = latest(log.get_checkpoint(pb::GetCheckpointRequest::default()).await);
    let mut proof_latencies = Vec::with_capacity(proofs);
    let (mut errors, mut first_error) = (0, None);
    let started = Instant::now();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..proofs {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let g = 1 + x % size.max(1);
        let t = Instant::now();
        let r = log
            .get_inclusion_proof(pb::GetInclusionProofRequest {
                leaf: Some(pb::get_inclusion_proof_request::Leaf::GlobalSeq(g)),
                tree_size: size,
            })
            .await;
        proof_latencies.push(t.elapsed());
        if let Err(e) = r {
            errors += 1;
            first_error.get_or_insert_with(|| format!("{:?}: {}", e.code(), e.message()));
        }
    }
    let proof_wall = started.elapsed();
    let started = Instant::now();
    for _ in 0..proofs {
        let _ = log.get_checkpoint(pb::GetCheckpointRequest::default()).await;
    }
    let base_wall = started.elapsed();
    let proof_row = Row {
        figure: format!("log: GetInclusionProof of random leaves, tree of {size} (baseline: GetCheckpoint)"),
        unit: "proofs/s",
        value: rate(proofs - errors, proof_wall),
        baseline: rate(proofs, base_wall),
        latencies: proof_latencies,
        errors,
        first_error,
    };
    Ok(vec![checkpoint_row, proof_row])
}

/// The feed figure: the first page and a page `depth` entries deep, each against a static
/// response of the same bytes.
/// The sizes of the `feed` figure.
struct FeedShape {
    entries: usize,
    depth: usize,
    pages: usize,
    limit: usize,
    readers: usize,
    reader_pages: usize,
}

async fn feed(
    channel: &Channel,
    admin_token: &str,
    server: &spawn::Server,
    shape: &FeedShape,
) -> Result<Vec<Row>, Error> {
    let FeedShape { entries, depth, pages, limit, readers, reader_pages } = *shape;
    if depth >= entries {
        return Err(format!("--depth {depth} must be less than --entries {entries}").into());
    }
    let mut registry = registry_client(channel.clone(), admin_token)?;
    let agency = registry
        .create_agency(pb::CreateAgencyRequest {
            request_id: uuid::Uuid::now_v7().to_string(),
            name: "福州市市场监督管理局".into(),
            credit_code: credit_code(7),
            region: "福建省福州市".into(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .agency
        .ok_or("the answer carries no agency")?;
    feed::seed(&server.database_url, &agency.id, entries).await?;
    let client = reqwest::Client::new();
    let base = format!("http://{}/v1/disclosures?limit={limit}", server.http_addr);
    // Entries are listed newest first by `listed_seq` (1..=entries): a cursor `l<n>` returns the
    // entries below n, so `depth` entries from the top is `l<entries - depth + 1>`.
    let deep_url = format!("{base}&cursor=l{}", entries - depth + 1);
    // Warm both paths (connection, statement cache, pages of the index) before measuring.
    feed::pages(&client, &base, 5).await?;
    feed::pages(&client, &deep_url, 5).await?;
    let (first, first_body) = feed::pages(&client, &base, pages).await?;
    let (deep, deep_body) = feed::pages(&client, &deep_url, pages).await?;
    // A page the server has not served before on every request: each cursor one entry further
    // down, so the page cache never holds it (the cost of a page read and encoded afresh).
    let fresh_urls: Vec<String> =
        (0..pages).map(|i| format!("{base}&cursor=l{}", (entries - depth).saturating_sub(i).max(2))).collect();
    let (fresh, _) = feed::each(&client, &fresh_urls).await?;
    let first_json: serde_json::Value = serde_json::from_str(&first_body)?;
    let deep_json: serde_json::Value = serde_json::from_str(&deep_body)?;
    for (name, json) in [("first", &first_json), ("deep", &deep_json)] {
        let n = json["disclosures"].as_array().map_or(0, Vec::len);
        if n != limit {
            return Err(format!("the {name} page has {n} entries, expected {limit}").into());
        }
    }
    let baseline_addr = feed::static_server(first_body).await?;
    let baseline_url = format!("http://{baseline_addr}/v1/disclosures");
    feed::pages(&client, &baseline_url, 5).await?;
    let (baseline, _) = feed::pages(&client, &baseline_url, pages).await?;
    let per_second = |l: &[Duration]| l.len() as f64 / l.iter().sum::<Duration>().as_secs_f64();
    let median = |l: &[Duration]| {
        let mut l = l.to_vec();
        l.sort_unstable();
        l[l.len() / 2]
    };
    eprintln!(
        "feed: p50 first page {:.2} ms, {depth} deep {:.2} ms: deep/first = {:.2} (target ≤ 1.5)",
        median(&first).as_secs_f64() * 1000.0,
        median(&deep).as_secs_f64() * 1000.0,
        median(&deep).as_secs_f64() / median(&first).as_secs_f64(),
    );
    let base_rate = per_second(&baseline);
    let mut rows = Vec::new();
    if readers > 0 {
        // The public under load: many readers at once, each on its own connection.
        let (loaded, wall) = feed::concurrent(&base, readers, reader_pages).await?;
        let (base_loaded, base_wall) = feed::concurrent(&baseline_url, readers, reader_pages).await?;
        rows.push(Row {
            figure: format!("feed first page, {readers} concurrent readers × {reader_pages} pages"),
            unit: "pages/s",
            value: rate(loaded.len(), wall),
            baseline: rate(base_loaded.len(), base_wall),
            latencies: loaded,
            errors: 0,
            first_error: None,
        });
    }
    let mut measured = vec![
        Row {
            figure: format!("feed first page ({limit} of {entries} entries)"),
            unit: "pages/s",
            value: per_second(&first),
            baseline: base_rate,
            latencies: first,
            errors: 0,
            first_error: None,
        },
        Row {
            figure: format!("feed page {depth} entries deep ({limit} of {entries})"),
            unit: "pages/s",
            value: per_second(&deep),
            baseline: base_rate,
            latencies: deep,
            errors: 0,
            first_error: None,
        },
        Row {
            figure: format!("feed page {depth} entries deep, a new cursor each request (not cached)"),
            unit: "pages/s",
            value: per_second(&fresh),
            baseline: base_rate,
            latencies: fresh,
            errors: 0,
            first_error: None,
        },
    ];
    measured.append(&mut rows);
    Ok(measured)
}
