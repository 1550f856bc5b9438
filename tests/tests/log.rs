//! The verifiable log (docs/CHAIN.md §8), on SQLite and PostgreSQL: checkpoints verify with the
//! signed-note and tlog crates, proofs from gRPC verify against them, the tlog-tiles endpoints
//! are read back by a tiles client and by `log audit`, witnesses cosign a consistent checkpoint and
//! refuse rolled-back and forked ones, two replicas on one PostgreSQL sign one log, the server
//! refuses writes after the event table's tail was deleted, and 100,000 inclusion proofs verify.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use sanxiang_domain::SystemClock;
use sanxiang_log::keys::{ALG_ED25519, CosignatureVerifier, NamedKey};
use sanxiang_log::witness::Witness;
use sanxiang_proto::v1 as pb;
use sanxiang_proto::v1::EventKind as K;
use sanxiang_proto::v1::log_service_client::LogServiceClient;
use sanxiang_server::ServeConfig;
use sanxiang_store::entity::{case, event};
use sanxiang_tests::{Backend, Harness, backend_tests, refused};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use tlog_tiles::{Hash, TileReader};
use tonic::transport::Channel;

backend_tests!(
    checkpoints_proofs_and_tiles_verify,
    start_up_refuses_writes_after_the_tail_was_deleted,
    verification_finds_exactly_the_events_that_are_not_the_logged_leaves
);

fn fast_log(c: &mut ServeConfig) {
    c.tlog.checkpoint_interval_ms = 50;
}

async fn log_client(h: &Harness) -> LogServiceClient<Channel> {
    LogServiceClient::new(h.channel.clone())
}

/// Waits until the latest checkpoint covers `size` events, and returns it.
async fn checkpoint_covering(log: &mut LogServiceClient<Channel>, size: u64) -> pb::Checkpoint {
    for _ in 0..400 {
        if let Ok(r) = log.get_checkpoint(pb::GetCheckpointRequest::default()).await {
            let c = r.into_inner().checkpoint.unwrap();
            if c.size >= size {
                return c;
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no checkpoint covered {size} events within 10 s");
}

/// Verifies a signed checkpoint with the signed_note crate against the pinned log key; returns it
/// parsed by the tlog_tiles crate.
fn verified(note: &str, vkey: &str) -> tlog_tiles::Checkpoint {
    let verifier = signed_note::StandardVerifier::new(vkey).expect("vkey");
    let n = signed_note::Note::from_bytes(note.as_bytes()).expect("a signed note");
    n.verify(&signed_note::VerifierList::new(vec![Box::new(verifier)])).expect("signed by the log key");
    tlog_tiles::Checkpoint::from_bytes(n.text()).expect("a checkpoint")
}

fn hash(b: &[u8]) -> Hash {
    Hash(b.try_into().expect("32 bytes"))
}

fn hashes(v: &[bytes::Bytes]) -> Vec<Hash> {
    v.iter().map(|b| hash(b)).collect()
}

async fn all_events(h: &Harness) -> Vec<event::Model> {
    event::Entity::find().order_by_asc(event::Column::GlobalSeq).all(&h.running.db).await.unwrap()
}

/// Reads tiles over HTTP for `tlog_tiles::TileHashReader`, which checks every tile it is given
/// against the checkpoint's root.
struct HttpTiles {
    base: String,
    client: reqwest::Client,
}

impl TileReader for HttpTiles {
    fn height(&self) -> u8 {
        8
    }

    fn read_tiles(&self, tiles: &[tlog_tiles::Tile]) -> Result<Vec<Vec<u8>>, tlog_tiles::Error> {
        tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(async {
                let mut out = Vec::new();
                for t in tiles {
                    let path = sanxiang_log::http::tile_path(sanxiang_log::http::TilePath {
                        level: Some(t.level()),
                        n: t.level_index(),
                        width: u64::from(t.width()),
                    });
                    let r = self.client.get(format!("{}/tile/{path}", self.base)).send().await.unwrap();
                    assert!(r.status().is_success(), "GET tile/{path}: {}", r.status());
                    out.push(r.bytes().await.unwrap().to_vec());
                }
                Ok(out)
            })
        })
    }

    fn save_tiles(&self, _: &[tlog_tiles::Tile], _: &[Vec<u8>]) {}
}

async fn checkpoints_proofs_and_tiles_verify(backend: Backend) {
    let h = Harness::start_with(backend, Arc::new(SystemClock), fast_log).await;
    let vkey = h.running.log.vkey();
    let w = h.world(1, "").await;
    let case = w.open_case(pb::CaseKind::Inspection).await;
    let now = h.now();
    // Past one full tile of 256 leaves, in several checkpoints.
    let mut log = log_client(&h).await;
    let mut early: Option<pb::Checkpoint> = None;
    for i in 0..280 {
        w.append(&case.id, K::Note, now).await;
        if i == 40 {
            early = Some(checkpoint_covering(&mut log, 1).await);
        }
    }
    let events = all_events(&h).await;
    let total = events.len() as u64;
    assert_eq!(events.last().unwrap().global_seq as u64, total);
    let cp = checkpoint_covering(&mut log, total).await;
    assert_eq!(cp.origin, "localhost/sanxiang");

    // The checkpoint verifies with the signed_note crate and parses with the tlog_tiles crate.
    let parsed = verified(&cp.note, &vkey);
    assert_eq!((parsed.size(), parsed.hash().0.to_vec()), (cp.size, cp.root_hash.to_vec()));
    // A tampered checkpoint does not.
    let tampered = cp.note.replacen(&format!("\n{}\n", cp.size), &format!("\n{}\n", cp.size + 1), 1);
    let n = signed_note::Note::from_bytes(tampered.as_bytes()).unwrap();
    assert!(
        n.verify(&signed_note::VerifierList::new(vec![Box::new(signed_note::StandardVerifier::new(&vkey).unwrap())]))
            .is_err()
    );
    // The verifier key is printed (logged) and served.
    let served = log.get_checkpoint(pb::GetCheckpointRequest::default()).await.unwrap().into_inner();
    assert_eq!(served.verifier_key, vkey);

    // Inclusion proofs of every event, by global_seq and by (case, case_seq), verify with tlog_tiles.
    let root = hash(&cp.root_hash);
    for e in &events {
        let by_seq = log
            .get_inclusion_proof(pb::GetInclusionProofRequest {
                leaf: Some(pb::get_inclusion_proof_request::Leaf::GlobalSeq(e.global_seq as u64)),
                tree_size: cp.size,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(hex::encode(&by_seq.leaf_data), e.hash, "the leaf data is the event hash");
        let leaf = tlog_tiles::record_hash(&hex::decode(&e.hash).unwrap());
        tlog_tiles::check_record(&hashes(&by_seq.hashes), cp.size, root, e.global_seq as u64 - 1, leaf)
            .unwrap_or_else(|err| panic!("inclusion of global_seq {}: {err}", e.global_seq));
        if e.case_seq % 50 == 0 {
            let by_event = log
                .get_inclusion_proof(pb::GetInclusionProofRequest {
                    leaf: Some(pb::get_inclusion_proof_request::Leaf::Event(pb::EventRef {
                        case_id: e.case_id.to_string(),
                        case_seq: e.case_seq as u64,
                    })),
                    tree_size: 0,
                })
                .await
                .unwrap()
                .into_inner();
            assert_eq!(by_event.leaf_index, e.global_seq as u64 - 1);
            let wrong = tlog_tiles::record_hash(&[7u8; 32]);
            assert!(
                tlog_tiles::check_record(
                    &hashes(&by_event.hashes),
                    by_event.tree_size,
                    hash(&by_event.root_hash),
                    by_event.leaf_index,
                    wrong
                )
                .is_err()
            );
        }
    }

    // Consistency from the early checkpoint to the latest, with tlog_tiles.
    let early = early.unwrap();
    assert!(early.size < cp.size);
    verified(
        &log.get_checkpoint(pb::GetCheckpointRequest { size: early.size, witnessed: false })
            .await
            .unwrap()
            .into_inner()
            .checkpoint
            .unwrap()
            .note,
        &vkey,
    );
    let c = log
        .get_consistency_proof(pb::GetConsistencyProofRequest { old_size: early.size, new_size: cp.size })
        .await
        .unwrap()
        .into_inner();
    tlog_tiles::check_tree(&hashes(&c.hashes), cp.size, root, early.size, hash(&early.root_hash)).expect("consistent");

    // Bad input.
    refused(
        log.get_inclusion_proof(pb::GetInclusionProofRequest {
            leaf: Some(pb::get_inclusion_proof_request::Leaf::GlobalSeq(0)),
            tree_size: 0,
        })
        .await,
        tonic::Code::InvalidArgument,
        "global_seq",
    );
    refused(
        log.get_inclusion_proof(pb::GetInclusionProofRequest {
            leaf: Some(pb::get_inclusion_proof_request::Leaf::GlobalSeq(1)),
            tree_size: cp.size + 1_000,
        })
        .await,
        tonic::Code::InvalidArgument,
        "tree_size",
    );
    refused(
        log.get_consistency_proof(pb::GetConsistencyProofRequest { old_size: cp.size, new_size: early.size }).await,
        tonic::Code::InvalidArgument,
        "old_size",
    );

    // The tlog-tiles layout: /checkpoint, hash tiles read through tlog_tiles' verifying tile reader,
    // entry bundles.
    let base = format!("http://{}", h.running.http_addr);
    let http = reqwest::Client::new();
    let served = http.get(format!("{base}/checkpoint")).send().await.unwrap();
    // The log's routes are served under the public surface's security headers and rate limit.
    assert_eq!(served.headers().get("x-content-type-options").map(|v| v.to_str().unwrap()), Some("nosniff"));
    let note = served.text().await.unwrap();
    let public = verified(&note, &vkey);
    assert!(public.size() >= cp.size);
    let tiles = HttpTiles { base: base.clone(), client: http.clone() };
    let reader = tlog_tiles::TileHashReader::new(public.size(), *public.hash(), &tiles);
    let indexes: Vec<u64> = (0..public.size()).map(|k| tlog_tiles::stored_hash_index(0, k)).collect();
    let leaf_hashes =
        tlog_tiles::HashReader::read_hashes(&reader, &indexes).expect("tiles verify against the checkpoint");
    for (e, got) in events.iter().zip(&leaf_hashes) {
        assert_eq!(*got, tlog_tiles::record_hash(&hex::decode(&e.hash).unwrap()), "leaf {}", e.global_seq);
    }
    let bundle = http.get(format!("{base}/tile/entries/000")).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(bundle.len(), 256 * 34);
    for (k, e) in events.iter().take(256).enumerate() {
        assert_eq!(&bundle[k * 34..k * 34 + 2], &[0, 32]);
        assert_eq!(hex::encode(&bundle[k * 34 + 2..(k + 1) * 34]), e.hash);
    }
    let partial = http.get(format!("{base}/tile/entries/001.p/{}", total - 256)).send().await.unwrap();
    assert_eq!(partial.bytes().await.unwrap().len() as u64, (total - 256) * 34);
    let beyond = http.get(format!("{base}/tile/entries/002")).send().await.unwrap();
    assert_eq!(beyond.status(), 404);

    // `log audit`: a first run from nothing, then from the saved checkpoint after more events.
    let state = h.data_dir.path().join("audit.json");
    let first = sanxiang_log::audit::audit(&base, &vkey, &state).await.expect("audit");
    assert_eq!((first.old_size, first.new_size), (0, public.size()));
    for _ in 0..5 {
        w.append(&case.id, K::Note, now).await;
    }
    checkpoint_covering(&mut log, total + 5).await;
    let second = sanxiang_log::audit::audit(&base, &vkey, &state).await.expect("audit from the saved checkpoint");
    assert_eq!(second.old_size, public.size());
    assert!(second.new_size >= total + 5);
    // Another log's key is refused.
    let other = NamedKey::generate("localhost/sanxiang", ALG_ED25519).unwrap();
    let err = sanxiang_log::audit::audit(&base, &other.vkey(), &h.data_dir.path().join("a2.json")).await.unwrap_err();
    assert!(err.contains("signature"), "{err}");
    h.running.stop().await.unwrap();
}

fn config(dir: &std::path::Path, database_url: String) -> ServeConfig {
    let mut config = ServeConfig::embedded(dir.to_path_buf());
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.http_listen = "127.0.0.1:0".parse().unwrap();
    config.database_url = Some(database_url);
    fast_log(&mut config);
    config
}

async fn health_of(channel: &Channel, service: &str) -> i32 {
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    health.check(tonic_health::pb::HealthCheckRequest { service: service.into() }).await.unwrap().into_inner().status
}

async fn start_up_refuses_writes_after_the_tail_was_deleted(backend: Backend) {
    let h = Harness::start_with(backend, Arc::new(SystemClock), fast_log).await;
    let w = h.world(1, "").await;
    let case = w.open_case(pb::CaseKind::Inspection).await;
    for _ in 0..6 {
        w.append(&case.id, K::Note, h.now()).await;
    }
    let events = all_events(&h).await;
    let mut log = log_client(&h).await;
    checkpoint_covering(&mut log, events.len() as u64).await;
    let token = h.running.admin_token.clone().unwrap();
    let db = h.running.db.clone();
    let data_dir = h.data_dir;
    let database_url = match &h.backend {
        Backend::Sqlite => format!("sqlite://{}?mode=rwc", data_dir.path().join("sanxiang.db").display()),
        Backend::Postgres(_) => current_postgres_url(&db).await,
    };
    h.running.stop().await.unwrap();

    // The attacker deletes the case's last two events and rewrites its head to match.
    let ours: Vec<event::Model> = events.iter().filter(|e| e.case_id == case.id).cloned().collect();
    let keep = &ours[ours.len() - 3];
    for e in &ours[ours.len() - 2..] {
        event::Entity::delete_by_id(e.global_seq).exec(&db).await.unwrap();
    }
    let mut row: case::ActiveModel = case::Entity::find_by_id(case.id.clone()).one(&db).await.unwrap().unwrap().into();
    row.event_count = sea_orm::ActiveValue::Set(keep.case_seq);
    row.head_hash = sea_orm::ActiveValue::Set(keep.hash.clone());
    sea_orm::ActiveModelTrait::update(row, &db).await.unwrap();

    // Restarted on the same data directory and database, the server refuses writes.
    let running = sanxiang_server::start(&config(data_dir.path(), database_url), Arc::new(SystemClock)).await.unwrap();
    let channel = Channel::from_shared(format!("http://{}", running.grpc_addr)).unwrap().connect().await.unwrap();
    let not_serving = tonic_health::pb::health_check_response::ServingStatus::NotServing as i32;
    let serving = tonic_health::pb::health_check_response::ServingStatus::Serving as i32;
    assert_eq!(health_of(&channel, "sanxiang.v1.RecordService").await, not_serving);
    assert_eq!(health_of(&channel, "sanxiang.v1.LogService").await, serving);
    let client = sanxiang_tests::Client::new(channel.clone(), Some(&token));
    let mut again = w.event(&case.id, K::Note, h.clock.now());
    again.request_id = "after-truncation".into();
    let refusal = client.record.clone().append_event(again).await.unwrap_err();
    assert_eq!(refusal.code(), tonic::Code::FailedPrecondition);
    assert!(
        refusal.message().contains("log.consistent") && refusal.message().contains("rolled back"),
        "{}",
        refusal.message()
    );
    // Nothing was written, and reads still work.
    let after: Vec<event::Model> =
        event::Entity::find().filter(event::Column::CaseId.eq(case.id.clone())).all(&running.db).await.unwrap();
    assert_eq!(after.len(), ours.len() - 2);
    client.record.clone().get_case(pb::GetCaseRequest { case_id: case.id.clone() }).await.expect("reads go on");
    // VerifyCase finds the deleted events against the checkpoint, by their global_seq.
    let report = client
        .record
        .clone()
        .verify_case(pb::VerifyCaseRequest { case_id: case.id.clone(), rehash_evidence: false })
        .await
        .unwrap()
        .into_inner();
    assert!(!report.ok);
    let deleted: Vec<String> = ours[ours.len() - 2..].iter().map(|e| e.global_seq.to_string()).collect();
    let found: Vec<&str> = report
        .problems
        .iter()
        .filter(|p| p.table == "events" && p.message.contains("deleted"))
        .map(|p| p.row.as_str())
        .collect();
    assert_eq!(found, deleted, "{:?}", report.problems);
    running.stop().await.unwrap();
}

/// VerifyCase checks every event of a case against the signed checkpoint as one multi-proof:
/// an event whose stored hash was changed after it was logged is reported by its global_seq,
/// and no other event is.
async fn verification_finds_exactly_the_events_that_are_not_the_logged_leaves(backend: Backend) {
    let h = Harness::start_with(backend, Arc::new(SystemClock), fast_log).await;
    let w = h.world(1, "").await;
    let case = w.open_case(pb::CaseKind::Inspection).await;
    let other = w.open_case(pb::CaseKind::Inspection).await;
    for i in 0..40 {
        w.append(if i % 3 == 0 { &other.id } else { &case.id }, K::Note, h.now()).await;
    }
    let events = all_events(&h).await;
    let mut log = log_client(&h).await;
    checkpoint_covering(&mut log, events.len() as u64).await;
    let report = w.verify(&case.id, false).await;
    assert!(report.ok, "{:?}", report.problems);
    assert_eq!(report.events_in_checkpoint, events.iter().filter(|e| e.case_id == case.id).count() as u64);

    let ours: Vec<&event::Model> = events.iter().filter(|e| e.case_id == case.id).collect();
    let changed = ours[ours.len() / 2];
    let mut row: event::ActiveModel = changed.clone().into();
    row.hash = sea_orm::ActiveValue::Set("ab".repeat(32));
    sea_orm::ActiveModelTrait::update(row, &h.running.db).await.unwrap();
    let report = w.verify(&case.id, false).await;
    assert!(!report.ok);
    let not_leaves: Vec<&str> =
        report.problems.iter().filter(|p| p.message.contains("is not the leaf")).map(|p| p.row.as_str()).collect();
    assert_eq!(not_leaves, [changed.global_seq.to_string()], "{:?}", report.problems);
}

/// The URL of the PostgreSQL database `db` is connected to.
async fn current_postgres_url(db: &sea_orm::DatabaseConnection) -> String {
    use sea_orm::ConnectionTrait;
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(sea_orm::DatabaseBackend::Postgres, "SELECT current_database()"))
        .await
        .unwrap()
        .unwrap();
    let name: String = row.try_get_by_index(0).unwrap();
    let server = std::env::var("SANXIANG_TEST_DATABASE_URL").unwrap();
    let (base, query) = match server.split_once('?') {
        Some((b, q)) => (b.to_owned(), format!("?{q}")),
        None => (server.clone(), String::new()),
    };
    let root = base.rsplit_once('/').map_or(base.clone(), |(s, _)| s.to_owned());
    format!("{root}/{name}{query}")
}

/// A log made in the test: its key, and its tree's hashes.
struct TestLog {
    key: NamedKey,
    tree: sanxiang_log::merkle::MapReader,
    leaves: u64,
}

impl TestLog {
    fn new(key: NamedKey) -> Self {
        Self { key, tree: Default::default(), leaves: 0 }
    }

    fn grow(&mut self, n: u64, salt: u8) {
        for _ in 0..n {
            let mut data = [salt; 32];
            data[..8].copy_from_slice(&self.leaves.to_be_bytes());
            sanxiang_log::merkle::append(self.leaves, sanxiang_log::merkle::leaf_hash(&data), &mut self.tree).unwrap();
            self.leaves += 1;
        }
    }

    fn root(&self, size: u64) -> [u8; 32] {
        tlog_tiles::tree_hash(size, &self.tree).unwrap().0
    }

    fn note(&self, size: u64) -> String {
        sanxiang_log::tree::sign_checkpoint(&self.key, size, self.root(size)).unwrap()
    }

    /// An add-checkpoint request body from `old` to `size`.
    fn request(&self, old: u64, size: u64) -> String {
        let mut body = format!("old {old}\n");
        if old > 0 && old < size {
            for h in tlog_tiles::prove_tree(size, old, &self.tree).unwrap() {
                body.push_str(&B64.encode(h.0));
                body.push('\n');
            }
        }
        body.push('\n');
        body.push_str(&self.note(size));
        body
    }
}

async fn post(client: &reqwest::Client, base: &str, body: String) -> (u16, String, Option<String>) {
    let r = client.post(format!("{base}/add-checkpoint")).body(body).send().await.unwrap();
    let status = r.status().as_u16();
    let content_type = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
    (status, r.text().await.unwrap(), content_type)
}

async fn serve_witness(witness: Witness) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, sanxiang_log::witness::router(witness)).await });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_witness_cosigns_a_consistent_checkpoint_and_refuses_rollbacks_and_forks() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = TestLog::new(NamedKey::generate("example.gov.cn/log", ALG_ED25519).unwrap());
    let witness = Witness::open(dir.path(), "example.gov.cn/witness", &[log.key.vkey()]).unwrap();
    let witness_vkey = witness.vkey();
    let cosigner = CosignatureVerifier::new(&witness_vkey).unwrap();
    let base = serve_witness(witness).await;
    let http = reqwest::Client::new();
    let verifiers = |log: &TestLog| {
        signed_note::VerifierList::new(vec![
            Box::new(signed_note::StandardVerifier::new(&log.key.vkey()).unwrap()),
            Box::new(cosigner.clone()),
        ])
    };

    // First checkpoint: from the empty tree.
    log.grow(10, 1);
    let (status, line, _) = post(&http, &base, log.request(0, 10)).await;
    assert_eq!(status, 200, "{line}");
    let note = format!("{}{line}", log.note(10));
    let (verified, _) = signed_note::Note::from_bytes(note.as_bytes()).unwrap().verify(&verifiers(&log)).unwrap();
    assert_eq!(verified.len(), 2, "the log's signature and the witness's cosignature verify");
    let body = sanxiang_log::checkpoint_body_of(&log.note(10));
    assert!(sanxiang_log::witness::find_cosignature(&line, &cosigner, body.as_bytes()).is_some());

    // A consistent extension is cosigned.
    log.grow(27, 1);
    let (status, line, _) = post(&http, &base, log.request(10, 37)).await;
    assert_eq!(status, 200, "{line}");

    // Rolled back: a smaller checkpoint, whatever old size it claims.
    let (status, text, content_type) = post(&http, &base, log.request(10, 10)).await;
    assert_eq!((status, text.as_str(), content_type.as_deref()), (409, "37\n", Some("text/x.tlog.size")));
    let (status, _, _) = post(&http, &base, log.request(37, 10)).await;
    assert_eq!(status, 400, "the old size is larger than the checkpoint's");

    // Forked at the same size: the same 37 leaves but one changed.
    let mut fork = TestLog::new(log.key.clone());
    fork.grow(36, 1);
    fork.grow(1, 9);
    let (status, text, _) = post(&http, &base, fork.request(37, 37)).await;
    assert_eq!(status, 409, "{text}");
    // Forked and grown: the proof from the held checkpoint does not verify.
    fork.grow(20, 9);
    let (status, text, _) = post(&http, &base, fork.request(37, 57)).await;
    assert_eq!(status, 422, "{text}");

    // Not the log's key, and an unknown log.
    let mut impostor = TestLog::new(NamedKey::generate("example.gov.cn/log", ALG_ED25519).unwrap());
    impostor.grow(40, 1);
    assert_eq!(post(&http, &base, impostor.request(37, 40)).await.0, 403);
    let mut unknown = TestLog::new(NamedKey::generate("other.example/log", ALG_ED25519).unwrap());
    unknown.grow(3, 1);
    assert_eq!(post(&http, &base, unknown.request(0, 3)).await.0, 404);
    assert_eq!(post(&http, &base, "old x\n\n".into()).await.0, 400);

    // The witness keeps what it cosigned across a restart.
    let again = Witness::open(dir.path(), "example.gov.cn/witness", &[log.key.vkey()]).unwrap();
    assert_eq!(again.vkey(), witness_vkey, "the witness's key is kept");
    let refusal = again.add_checkpoint(log.request(0, 37).as_bytes()).await.unwrap_err();
    assert_eq!((refusal.status, refusal.size), (409, Some(37)));
    log.grow(1, 1);
    again.add_checkpoint(log.request(37, 38).as_bytes()).await.expect("cosigned after the restart");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_publishes_checkpoints_witnessed_by_its_quorum() {
    let log_key = NamedKey::generate("localhost/sanxiang", ALG_ED25519).unwrap();
    let wdir = tempfile::tempdir().unwrap();
    let witness = Witness::open(wdir.path(), "localhost/witness", &[log_key.vkey()]).unwrap();
    let wvkey = witness.vkey();
    let wurl = serve_witness(witness).await;
    let key_text = log_key.private_text();
    let witness_arg = format!("{wurl}={wvkey}");
    let h = Harness::start_with(Backend::Sqlite, Arc::new(SystemClock), move |c| {
        fast_log(c);
        c.tlog.key = Some(key_text);
        c.tlog.witnesses = vec![witness_arg];
        c.tlog.quorum = Some(1);
    })
    .await;
    assert_eq!(h.running.log.vkey(), log_key.vkey());
    let w = h.world(1, "").await;
    let case = w.open_case(pb::CaseKind::Inspection).await;
    let mut client = log_client(&h).await;
    let mut last = 0;
    for round in 0..3 {
        for _ in 0..4 {
            w.append(&case.id, K::Note, h.now()).await;
        }
        let total = all_events(&h).await.len() as u64;
        let mut witnessed = None;
        for _ in 0..400 {
            if let Ok(r) = client.get_checkpoint(pb::GetCheckpointRequest { size: 0, witnessed: true }).await {
                let c = r.into_inner().checkpoint.unwrap();
                if c.size >= total {
                    witnessed = Some(c);
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let c = witnessed.unwrap_or_else(|| panic!("round {round}: no witnessed checkpoint of {total} events"));
        assert!(c.witnessed && c.cosignatures >= 1 && c.size > last);
        last = c.size;
        let list = signed_note::VerifierList::new(vec![
            Box::new(signed_note::StandardVerifier::new(&log_key.vkey()).unwrap()),
            Box::new(CosignatureVerifier::new(&wvkey).unwrap()),
        ]);
        let (verified, _) = signed_note::Note::from_bytes(c.note.as_bytes()).unwrap().verify(&list).unwrap();
        assert_eq!(verified.len(), 2, "round {round}: signed by the log and cosigned by the witness");
    }
    // The public /checkpoint is the witnessed one, cosignature included.
    let note = reqwest::get(format!("http://{}/checkpoint", h.running.http_addr)).await.unwrap().text().await.unwrap();
    assert!(note.contains("\u{2014} localhost/witness "), "{note}");
    h.running.stop().await.unwrap();
}

/// Inclusion proofs for 100,000 events all verify: the events are stored directly (one case's
/// rows; the tree does not read their content), integrated by the sequencer's own step into the
/// tree store of a real SQLite database, and every leaf's proof is made from the stored hashes and
/// checked against the signed checkpoint (a sample also through the database path the gRPC
/// service uses).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inclusion_proofs_for_100000_events_all_verify() {
    const N: i64 = 100_000;
    let key = NamedKey::generate("localhost/sanxiang", ALG_ED25519).unwrap();
    let key_text = key.private_text();
    let h = Harness::start_with(Backend::Sqlite, Arc::new(SystemClock), move |c| {
        c.tlog.sequencer = false;
        c.tlog.key = Some(key_text);
    })
    .await;
    let w = h.world(1, "").await;
    let case = w.open_case(pb::CaseKind::Inspection).await;
    let first = all_events(&h).await.pop().unwrap();
    let db = &h.running.db;
    let mut rows = Vec::new();
    for seq in first.global_seq + 1..=N {
        let mut e = first.clone();
        e.global_seq = seq;
        e.case_seq = seq - first.global_seq + 1;
        e.request_id = format!("bulk-{seq}");
        e.hash = hex::encode(sha2_of(seq));
        rows.push(sea_orm::IntoActiveModel::into_active_model(e));
        if rows.len() == 256 {
            event::Entity::insert_many(std::mem::take(&mut rows)).exec(db).await.unwrap();
        }
    }
    if !rows.is_empty() {
        event::Entity::insert_many(rows).exec(db).await.unwrap();
    }
    let _ = case;
    let mut signed = None;
    while let Some(c) = sanxiang_log::tree::integrate(db, &key, 20_000, 0).await.unwrap() {
        signed = Some(c);
    }
    let cp = signed.unwrap();
    assert_eq!(cp.size, N as u64);
    let parsed = verified(&cp.note, &key.vkey());
    let root = *parsed.hash();
    let indexes: Vec<u64> = (0..sanxiang_log::merkle::stored_hash_count(cp.size)).collect();
    let stored = sanxiang_log::tree::read_hashes(db, &indexes).await.unwrap();
    let leaves: Vec<event::Model> = all_events(&h).await;
    assert_eq!(leaves.len() as u64, cp.size);
    for (k, e) in leaves.iter().enumerate() {
        let k = k as u64;
        let proof = tlog_tiles::prove_record(cp.size, k, &stored).unwrap();
        let leaf = tlog_tiles::record_hash(&hex::decode(&e.hash).unwrap());
        tlog_tiles::check_record(&proof, cp.size, root, k, leaf).unwrap_or_else(|err| panic!("leaf {k}: {err}"));
        if k.is_multiple_of(997) {
            let from_db = sanxiang_log::tree::inclusion(db, k, cp.size).await.unwrap();
            assert_eq!(from_db, proof.iter().map(|h| h.0).collect::<Vec<_>>(), "leaf {k}");
        }
    }
    h.running.stop().await.unwrap();
}

fn sha2_of(n: i64) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(n.to_be_bytes()).into()
}

/// Two servers on one PostgreSQL database with one log key: appends through both, each runs a
/// sequencer, and together they sign one log: every stored checkpoint verifies, sizes strictly
/// increase, and each is consistent with the one before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_one_postgresql_sign_one_consistent_log() {
    let Some(Backend::Postgres(server)) = Backend::postgres() else { return };
    let database = sanxiang_tests::fresh_postgres_database(&server).await;
    let key = NamedKey::generate("localhost/sanxiang", ALG_ED25519).unwrap();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut config_a = config(dir_a.path(), database.clone());
    config_a.tlog.key = Some(key.private_text());
    let mut config_b = config(dir_b.path(), database.clone());
    config_b.tlog.key = Some(key.private_text());
    let a = sanxiang_server::start(&config_a, Arc::new(SystemClock)).await.unwrap();
    let b = sanxiang_server::start(&config_b, Arc::new(SystemClock)).await.unwrap();
    let token = a.admin_token.clone().or(b.admin_token.clone()).unwrap();
    let connect = |addr: std::net::SocketAddr| async move {
        Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap()
    };
    let (ch_a, ch_b) = (connect(a.grpc_addr).await, connect(b.grpc_addr).await);
    let admin = sanxiang_tests::Client::new(ch_a.clone(), Some(&token));
    let (agency, officers, app) = sanxiang_tests::setup_agency(&admin, 41).await;
    let world = |ch: Channel| sanxiang_tests::World {
        agency: agency.clone(),
        officers: officers.clone(),
        officer: sanxiang_tests::Client::new(ch.clone(), Some(&app)),
        head: sanxiang_tests::Client::new(ch.clone(), Some(&app)),
        publisher: sanxiang_tests::Client::new(ch, Some(&app)),
    };
    let (wa, wb) = (Arc::new(world(ch_a.clone())), Arc::new(world(ch_b.clone())));
    let case = wa.open_case(pb::CaseKind::Inspection).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let w = Arc::clone(if i % 2 == 0 { &wa } else { &wb });
        let id = case.id.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..15 {
                w.append(&id, K::Note, sanxiang_domain::TimeProvider::now(&SystemClock)).await;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let total = event::Entity::find().all(&a.db).await.unwrap().len() as u64;
    let (mut la, mut lb) = (LogServiceClient::new(ch_a), LogServiceClient::new(ch_b));
    let ca = checkpoint_covering(&mut la, total).await;
    let cb = checkpoint_covering(&mut lb, total).await;
    assert_eq!((ca.size, ca.root_hash.clone()), (cb.size, cb.root_hash.clone()), "both serve one log");
    let stored = sanxiang_log::entity::checkpoint::Entity::find()
        .order_by_asc(sanxiang_log::entity::checkpoint::Column::Size)
        .all(&a.db)
        .await
        .unwrap();
    assert!(stored.len() >= 2, "several checkpoints were signed");
    let mut previous: Option<tlog_tiles::Checkpoint> = None;
    for row in &stored {
        let cp = verified(&row.note, &key.vkey());
        if let Some(p) = &previous {
            assert!(cp.size() > p.size());
            let proof = la
                .get_consistency_proof(pb::GetConsistencyProofRequest { old_size: p.size(), new_size: cp.size() })
                .await
                .unwrap()
                .into_inner();
            tlog_tiles::check_tree(&hashes(&proof.hashes), cp.size(), *cp.hash(), p.size(), *p.hash())
                .unwrap_or_else(|e| panic!("{} → {}: {e}", p.size(), cp.size()));
        }
        previous = Some(cp);
    }
    // Every event is in the one tree.
    let events = event::Entity::find().order_by_asc(event::Column::GlobalSeq).all(&a.db).await.unwrap();
    let last = stored.last().unwrap();
    for e in &events {
        let p = lb
            .get_inclusion_proof(pb::GetInclusionProofRequest {
                leaf: Some(pb::get_inclusion_proof_request::Leaf::GlobalSeq(e.global_seq as u64)),
                tree_size: last.size as u64,
            })
            .await
            .unwrap()
            .into_inner();
        let leaf = tlog_tiles::record_hash(&hex::decode(&e.hash).unwrap());
        tlog_tiles::check_record(
            &hashes(&p.hashes),
            last.size as u64,
            hash(&hex::decode(&last.root).unwrap()),
            p.leaf_index,
            leaf,
        )
        .unwrap();
    }
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}
