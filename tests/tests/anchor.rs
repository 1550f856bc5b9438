//! Everything a user sees is anchored in the chain and the verifiable log, on every database
//! backend: each tampering class with a stored row is found and located by VerifyCase (table,
//! row, column); a deleted tail with a rewritten head is found by VerifyCase, refused by
//! ExportCase, and a cut archive is refused by `verify-export` (Rust and the independent Python
//! tool) given the log's key; an undecodable row is DATA_LOSS at its case_seq; an automatically
//! published disclosure's digest is in the chain, and its public proof verifies against the
//! served checkpoint with code independent of the server's.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use sanxiang_domain::{Sha256Digest, SystemClock};
use sanxiang_proto::v1 as pb;
use sanxiang_proto::v1::EventKind as K;
use sanxiang_proto::v1::log_service_client::LogServiceClient;
use sanxiang_server::ServeConfig;
use sanxiang_store::entity::{case, disclosure, draft, event, evidence};
use sanxiang_tests::{Backend, Harness, World, backend_tests, http, pseudo_random};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use tonic::Code;

backend_tests!(
    every_shown_value_is_checked_against_the_chain,
    a_cut_tail_with_a_rewritten_head_is_detected,
    an_undecodable_row_is_data_loss_at_its_case_seq,
    automatic_publication_is_anchored_and_its_proof_verifies,
);

fn fast_log(c: &mut ServeConfig) {
    c.tlog.checkpoint_interval_ms = 50;
}

async fn verify(w: &World, case_id: &str) -> pb::VerifyCaseResponse {
    w.verify(case_id, false).await
}

async fn export(w: &World, case_id: &str) -> Result<Vec<u8>, tonic::Status> {
    let mut s =
        w.officer.record.clone().export_case(pb::ExportCaseRequest { case_id: case_id.into() }).await?.into_inner();
    let mut out = Vec::new();
    while let Some(m) = s.message().await? {
        out.extend_from_slice(&m.chunk);
    }
    Ok(out)
}

/// The log's verifier key and the latest checkpoint, once it covers every event committed.
async fn logged(h: &Harness) -> (String, pb::Checkpoint) {
    let total = event::Entity::find().all(&h.running.db).await.unwrap().len() as u64;
    let mut log = LogServiceClient::new(h.channel.clone());
    for _ in 0..400 {
        let r = log.get_checkpoint(pb::GetCheckpointRequest::default()).await;
        if let Ok(r) = r {
            let r = r.into_inner();
            let c = r.checkpoint.unwrap();
            if c.size >= total {
                return (r.verifier_key, c);
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no checkpoint covered {total} events within 10 s");
}

/// A licensing case decided and published at once (the agency publishes automatically), with an
/// evidence item: every kind of row a user is shown.
async fn decided_case(h: &Harness, w: &World) -> (pb::Case, pb::Evidence) {
    let case = w.open_case(pb::CaseKind::Licensing).await;
    let clip = w.upload(&case.id, "video/mp4", pseudo_random(7, 20_000), h.now()).await.unwrap().evidence.unwrap();
    w.append(&case.id, K::Filing, h.now()).await;
    w.decide(&case.id, true).await.expect("decision");
    (case, clip)
}

/// The problems located at `table`/`column`.
fn located<'a>(r: &'a pb::VerifyCaseResponse, table: &str, column: &str) -> Vec<&'a pb::VerifyProblem> {
    r.problems.iter().filter(|p| p.table == table && p.column == column).collect()
}

/// Changes each `(table, column, row)` to its forged value in turn: VerifyCase must report it at
/// that table, row and column; restored to the original, the case verifies again.
async fn tamper(
    h: &Harness,
    w: &World,
    case_id: &str,
    cases: Vec<(&str, &str, String, sea_orm::Value, sea_orm::Value)>,
) {
    let db = &h.running.db;
    for (table, column, row, forged, original) in cases {
        assert_ne!(forged, original, "{table}.{column}: the forged value must differ");
        let set = |v: sea_orm::Value| {
            let sql = match backend_of(h) {
                sea_orm::DatabaseBackend::Postgres => format!("UPDATE {table} SET {column} = $1 WHERE id = $2"),
                _ => format!("UPDATE {table} SET {column} = ? WHERE id = ?"),
            };
            db.execute_raw(sea_orm::Statement::from_sql_and_values(backend_of(h), sql, vec![v, row.clone().into()]))
        };
        set(forged).await.unwrap();
        let report = verify(w, case_id).await;
        let at = located(&report, table, column);
        assert!(!report.ok && !at.is_empty(), "changing {table}.{column} went unnoticed: {:?}", report.problems);
        assert_eq!(at[0].row, row, "{table}.{column}: {:?}", at);
        set(original).await.unwrap();
        let report = verify(w, case_id).await;
        assert!(report.ok, "{table}.{column} restored: {:?}", report.problems);
    }
}

async fn every_shown_value_is_checked_against_the_chain(backend: Backend) {
    let h = Harness::start_with(backend, Arc::new(SystemClock), fast_log).await;
    let w = h.world(1, "").await;
    let (case, clip) = decided_case(&h, &w).await;
    logged(&h).await;
    let report = verify(&w, &case.id).await;
    assert!(report.ok, "{:?}", report.problems);
    assert!(report.checkpoint_size > 0 && report.events_in_checkpoint == report.events_checked, "{report:?}");
    let db = &h.running.db;
    let d = disclosure::Entity::find_by_id(case.id.clone()).one(db).await.unwrap().expect("the disclosure");
    assert_eq!(d.status, "published", "the agency publishes automatically");
    let dr = draft::Entity::find().filter(draft::Column::CaseId.eq(&case.id)).one(db).await.unwrap().unwrap();

    // Each stored value shown by GetEvidence, GetDraft, GetCase or the public feed, changed in
    // turn, is reported at its table, row and column; restored, the case verifies again.
    let cases: Vec<(&str, &str, String, sea_orm::Value, sea_orm::Value)> = vec![
        ("evidence", "officer_id", clip.id.clone(), w.officers[1].id.clone().into(), w.officers[0].id.clone().into()),
        ("evidence", "device_id", clip.id.clone(), "bodycam-99".into(), "bodycam-07".into()),
        ("evidence", "late", clip.id.clone(), true.into(), clip.late.into()),
        ("evidence", "captured_at", clip.id.clone(), 1_000_000i64.into(), {
            let e = evidence::Entity::find_by_id(clip.id.clone()).one(db).await.unwrap().unwrap();
            e.captured_at.into()
        }),
        (
            "drafts",
            "content",
            dr.id.to_string(),
            dr.content.replace("准予许可", "不予许可").into(),
            dr.content.clone().into(),
        ),
        ("drafts", "status", dr.id.to_string(), "approved".into(), dr.status.clone().into()),
        (
            "disclosures",
            "content",
            d.id.to_string(),
            d.content.replace("准予许可", "不予许可").into(),
            d.content.clone().into(),
        ),
        ("disclosures", "decision_date", d.id.to_string(), "2000-01-01".into(), d.decision_date.clone().into()),
        ("disclosures", "due_date", d.id.to_string(), "2000-01-02".into(), d.due_date.clone().into()),
        (
            "disclosures",
            "publication_end",
            d.id.to_string(),
            Some("2099-12-31".to_owned()).into(),
            d.publication_end.clone().into(),
        ),
        ("disclosures", "status", d.id.to_string(), "withdrawn".into(), d.status.clone().into()),
        // What decides whether and where the public listing and feed show the entry.
        ("disclosures", "listed_seq", d.id.to_string(), Option::<i64>::None.into(), d.listed_seq.into()),
        ("disclosures", "feed_seq", d.id.to_string(), Some(1i64).into(), d.feed_seq.into()),
        ("disclosures", "updated_at", d.id.to_string(), 1i64.into(), d.updated_at.into()),
        ("disclosures", "publication_end_at", d.id.to_string(), Some(1i64).into(), d.publication_end_at.into()),
        (
            "disclosures",
            "exclusion_reason",
            d.id.to_string(),
            Some("涉及国家秘密".to_owned()).into(),
            d.exclusion_reason.clone().into(),
        ),
    ];
    tamper(&h, &w, &case.id, cases).await;

    // A revised decision: the withdrawal's columns, and the revision itself.
    w.head
        .review
        .clone()
        .revise_decision(pb::ReviseDecisionRequest {
            request_id: "revise-1".into(),
            case_id: case.id.clone(),
            revision: pb::Revision::Revocation as i32,
            reason: "复议决定撤销".into(),
            basis: String::new(),
            occurred_at: None,
        })
        .await
        .expect("revise");
    let d = disclosure::Entity::find_by_id(case.id.clone()).one(db).await.unwrap().expect("the disclosure");
    assert_eq!(d.status, "withdrawn", "published automatically, withdrawn at once");
    let revised: Vec<(&str, &str, String, sea_orm::Value, sea_orm::Value)> = vec![
        ("disclosures", "revision", d.id.to_string(), Some("change".to_owned()).into(), d.revision.clone().into()),
        ("disclosures", "revised_at", d.id.to_string(), Some(1i64).into(), d.revised_at.into()),
        (
            "disclosures",
            "withdrawal_due_provisional",
            d.id.to_string(),
            (!d.withdrawal_due_provisional).into(),
            d.withdrawal_due_provisional.into(),
        ),
        ("disclosures", "withdrawn_at", d.id.to_string(), Option::<i64>::None.into(), d.withdrawn_at.into()),
        // The withdrawal moved the entry up the feed: moved back, it would stay unseen.
        ("disclosures", "feed_seq", d.id.to_string(), d.listed_seq.into(), d.feed_seq.into()),
        ("disclosures", "updated_at", d.id.to_string(), d.published_at.unwrap_or_default().into(), d.updated_at.into()),
    ];
    tamper(&h, &w, &case.id, revised).await;

    // The case row's filed_at, decided_at and state.
    let stored = case::Entity::find_by_id(case.id.clone()).one(db).await.unwrap().unwrap();
    let columns: Vec<(case::Column, &str, sea_orm::Value, sea_orm::Value)> = vec![
        (case::Column::FiledAt, "filed_at", Some(1i64).into(), stored.filed_at.into()),
        (case::Column::DecidedAt, "decided_at", Option::<i64>::None.into(), stored.decided_at.into()),
        (case::Column::StateBits, "state_bits", 0i64.into(), stored.state_bits.into()),
    ];
    for (col, name, forged, original) in columns {
        let set = |v: sea_orm::Value| {
            case::Entity::update_many().col_expr(col, Expr::value(v)).filter(case::Column::Id.eq(&case.id)).exec(db)
        };
        set(forged).await.unwrap();
        let report = verify(&w, &case.id).await;
        let at = located(&report, "cases", name);
        assert!(!at.is_empty(), "changing cases.{name} went unnoticed: {:?}", report.problems);
        assert_eq!(at[0].row, case.id);
        set(original).await.unwrap();
        assert!(verify(&w, &case.id).await.ok, "cases.{name} restored");
    }
    h.running.stop().await.unwrap();
}

fn backend_of(h: &Harness) -> sea_orm::DatabaseBackend {
    h.running.db.get_database_backend()
}

/// Runs the independent Python verifier on `archive`; its exit status and output.
fn python_verify(archive: &[u8], args: &[&str]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("case.tar");
    std::fs::write(&path, archive).unwrap();
    let tool = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/verify-export.py");
    let out = std::process::Command::new("python3").arg(tool).arg(&path).args(args).output().expect("python3 runs");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// The members of a tar archive, in order.
fn members(archive: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in tar::Archive::new(archive).entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        out.push((name, data));
    }
    out
}

fn tar_of(members: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, data.as_slice()).unwrap();
    }
    b.into_inner().unwrap()
}

/// `archive` with its last `cut` events removed and its manifest rewritten to match, as someone
/// who wants to hide them would do.
fn cut_tail(archive: &[u8], cut: usize) -> Vec<u8> {
    let mut m = members(archive);
    let lines: Vec<String> = {
        let events = &m.iter().find(|(n, _)| n == "events.jsonl").unwrap().1;
        String::from_utf8(events.clone()).unwrap().lines().map(str::to_owned).collect()
    };
    let kept = &lines[..lines.len() - cut];
    let events: String = kept.iter().map(|l| format!("{l}\n")).collect();
    let head: serde_json::Value = serde_json::from_str(kept.last().unwrap()).unwrap();
    let head = head["hash"].as_str().unwrap().to_owned();
    let manifest_at = m.iter().position(|(n, _)| n == "manifest.json").unwrap();
    let mut manifest: serde_json::Value = serde_json::from_slice(&m[manifest_at].1).unwrap();
    manifest["event_count"] = kept.len().into();
    manifest["head_hash"] = head.into();
    manifest["files"]["events.jsonl"] = Sha256Digest::of(events.as_bytes()).to_hex().into();
    m[manifest_at].1 = serde_json::to_vec(&manifest).unwrap();
    let events_at = m.iter().position(|(n, _)| n == "events.jsonl").unwrap();
    m[events_at].1 = events.into_bytes();
    tar_of(&m)
}

async fn a_cut_tail_with_a_rewritten_head_is_detected(backend: Backend) {
    let h = Harness::start_with(backend, Arc::new(SystemClock), fast_log).await;
    let w = h.world(1, "").await;
    let case = w.open_case(pb::CaseKind::Inspection).await;
    for _ in 0..5 {
        w.append(&case.id, K::Note, h.now()).await;
    }
    let (vkey, _) = logged(&h).await;

    // The archive carries the checkpoint, a proof per event and the log's signed statement.
    let archive = export(&w, &case.id).await.expect("export");
    let names: Vec<String> = members(&archive).into_iter().map(|(n, _)| n).collect();
    for want in ["manifest.json", "manifest.sig", "case.json", "events.jsonl", "log/checkpoint", "log/proofs.jsonl"] {
        assert!(names.iter().any(|n| n == want), "{want} missing from {names:?}");
    }
    let trust = sanxiang_server::offline::Trust { vkey: Some(vkey.clone()), ..Default::default() };
    let checked = sanxiang_server::offline::check_with(archive.as_slice(), &trust).expect("verifies with the key");
    assert_eq!((checked.events, checked.events_proved, checked.authenticated), (6, 6, true));
    let (ok, out) = python_verify(&archive, &["--vkey", &vkey]);
    assert!(ok && out.contains("6 events proved"), "{out}");

    // A copy of the archive with its last two events cut and the manifest rewritten to match:
    // internally consistent, refused against the log's key by both verifiers.
    let cut = cut_tail(&archive, 2);
    assert!(sanxiang_server::offline::check(cut.as_slice()).is_ok(), "without the key the cut is consistent");
    let refusal = sanxiang_server::offline::check_with(cut.as_slice(), &trust).unwrap_err();
    assert!(refusal.contains("manifest.sig"), "{refusal}");
    let (ok, out) = python_verify(&cut, &["--vkey", &vkey]);
    assert!(!ok && out.contains("manifest.sig"), "{out}");
    // Another key is not the log's.
    let other = sanxiang_log::keys::NamedKey::generate(vkey.split('+').next().unwrap(), 1).unwrap().vkey();
    let (ok, _) = python_verify(&archive, &["--vkey", &other]);
    assert!(!ok, "a checkpoint signed by another key is refused");
    assert!(
        sanxiang_server::offline::check_with(
            archive.as_slice(),
            &sanxiang_server::offline::Trust { vkey: Some(other), ..Default::default() }
        )
        .is_err()
    );

    // In the database: the last two events deleted and the case's head rewritten to match.
    let db = &h.running.db;
    let ours: Vec<event::Model> = event::Entity::find()
        .filter(event::Column::CaseId.eq(&case.id))
        .order_by_asc(event::Column::CaseSeq)
        .all(db)
        .await
        .unwrap();
    let keep = &ours[ours.len() - 3];
    for e in &ours[ours.len() - 2..] {
        event::Entity::delete_by_id(e.global_seq).exec(db).await.unwrap();
    }
    case::Entity::update_many()
        .col_expr(case::Column::EventCount, Expr::value(keep.case_seq))
        .col_expr(case::Column::HeadHash, Expr::value(keep.hash.clone()))
        .filter(case::Column::Id.eq(&case.id))
        .exec(db)
        .await
        .unwrap();
    let report = verify(&w, &case.id).await;
    assert!(!report.ok);
    let deleted: Vec<String> = ours[ours.len() - 2..].iter().map(|e| e.global_seq.to_string()).collect();
    let found: Vec<&str> = report
        .problems
        .iter()
        .filter(|p| p.table == "events" && p.message.contains("deleted"))
        .map(|p| p.row.as_str())
        .collect();
    assert_eq!(found, deleted, "{:?}", report.problems);
    let refusal = export(&w, &case.id).await.unwrap_err();
    assert_eq!(refusal.code(), Code::FailedPrecondition, "{refusal:?}");
    assert!(refusal.message().contains("export.verified"), "{}", refusal.message());
    h.running.stop().await.unwrap();
}

async fn an_undecodable_row_is_data_loss_at_its_case_seq(backend: Backend) {
    let h = Harness::start_with(backend, Arc::new(SystemClock), fast_log).await;
    let w = h.world(1, "").await;
    let case = w.open_case(pb::CaseKind::Inspection).await;
    for _ in 0..4 {
        w.append(&case.id, K::Note, h.now()).await;
    }
    let db = &h.running.db;
    let third: event::Model = event::Entity::find()
        .filter(event::Column::CaseId.eq(&case.id))
        .filter(event::Column::CaseSeq.eq(3))
        .one(db)
        .await
        .unwrap()
        .unwrap();
    if let Backend::Postgres(_) = h.backend {
        // PostgreSQL refuses to store text that is not UTF-8: the row cannot become undecodable.
        let refused = db
            .execute_unprepared(&format!(
                "UPDATE events SET actor = convert_from('\\xff'::bytea, 'UTF8') WHERE global_seq = {}",
                third.global_seq
            ))
            .await;
        assert!(refused.is_err(), "PostgreSQL stored invalid UTF-8");
        assert!(verify(&w, &case.id).await.ok);
        h.running.stop().await.unwrap();
        return;
    }
    db.execute_unprepared(&format!(
        "UPDATE events SET actor = CAST(X'FF6F' AS TEXT) WHERE global_seq = {}",
        third.global_seq
    ))
    .await
    .unwrap();

    let report = verify(&w, &case.id).await;
    let lost: Vec<&pb::VerifyProblem> = report.problems.iter().filter(|p| p.data_loss).collect();
    assert_eq!(lost.len(), 1, "{:?}", report.problems);
    assert_eq!((lost[0].case_seq, lost[0].table.as_str(), lost[0].column.as_str()), (3, "events", "actor"));
    assert_eq!(lost[0].row, third.global_seq.to_string());
    assert_eq!(report.events_checked, 5);

    let mut record = w.officer.record.clone();
    let req = |after: u64| pb::ListEventsRequest { case_id: case.id.clone(), after_seq: after, limit: 0 };
    let refusal = record.list_events(req(0)).await.unwrap_err();
    assert_eq!(refusal.code(), Code::DataLoss);
    assert!(refusal.message().contains("event 3") && refusal.message().contains("actor"), "{}", refusal.message());
    // The rows after it stay readable, and so does the case.
    let rest = record.list_events(req(3)).await.expect("the rows after it").into_inner();
    assert_eq!(rest.events.iter().map(|e| e.case_seq).collect::<Vec<_>>(), vec![4, 5]);
    w.officer.record.clone().get_case(pb::GetCaseRequest { case_id: case.id.clone() }).await.expect("the case reads");
    let refusal = export(&w, &case.id).await.unwrap_err();
    assert_eq!(refusal.code(), Code::DataLoss);
    assert!(refusal.message().contains("event 3"), "{}", refusal.message());
    h.running.stop().await.unwrap();
}

/// RFC 9162 §2.1.3.2, written here from the RFC: the root an audit path gives.
fn root_from_path(index: u64, size: u64, leaf: [u8; 32], path: &[[u8; 32]]) -> Option<[u8; 32]> {
    use sha2::Digest;
    let node = |l: &[u8; 32], r: &[u8; 32]| -> [u8; 32] {
        let mut h = sha2::Sha256::new();
        h.update([1u8]);
        h.update(l);
        h.update(r);
        h.finalize().into()
    };
    if index >= size {
        return None;
    }
    let (mut f, mut s, mut r) = (index, size - 1, leaf);
    for p in path {
        if s == 0 {
            return None;
        }
        if f & 1 == 1 || f == s {
            r = node(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    (s == 0).then_some(r)
}

fn hex32(v: &serde_json::Value) -> [u8; 32] {
    hex::decode(v.as_str().unwrap()).unwrap().try_into().unwrap()
}

async fn automatic_publication_is_anchored_and_its_proof_verifies(backend: Backend) {
    use sha2::Digest;
    let h = Harness::start_with(backend, Arc::new(SystemClock), fast_log).await;
    let w = h.world(1, "").await;
    let (case, _) = decided_case(&h, &w).await;
    let (vkey, _) = logged(&h).await;
    let db = &h.running.db;
    let d = disclosure::Entity::find_by_id(case.id.clone()).one(db).await.unwrap().unwrap();
    assert_eq!(d.status, "published");

    // The decision event carries the digest of the content as stored, document number included.
    let decision = event::Entity::find()
        .filter(event::Column::CaseId.eq(&case.id))
        .filter(event::Column::Kind.eq("decision"))
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let payload: serde_json::Value = serde_json::from_str(&decision.payload).unwrap();
    let digest = hex::encode(sha2::Sha256::digest(d.content.as_bytes()));
    assert_eq!(payload["disclosure"]["content_sha256"], digest.as_str());
    assert!(d.content.contains(payload["document_number"].as_str().unwrap()));

    // The public JSON, Atom entry and page carry the position, the digest and the proof's link.
    let client = reqwest::Client::new();
    let get = |path: String| {
        let client = client.clone();
        let url = http(&h, &path);
        async move { client.get(url).send().await.unwrap() }
    };
    let json: serde_json::Value =
        serde_json::from_str(&get(format!("/v1/disclosures/{}", d.id)).await.text().await.unwrap()).unwrap();
    assert_eq!(json["log"]["global_seq"], decision.global_seq);
    assert_eq!(json["log"]["leaf_index"], decision.global_seq - 1);
    assert_eq!(json["log"]["content_sha256"], digest.as_str());
    let proof_url = json["log"]["proof_url"].as_str().unwrap().to_owned();
    let atom = get(format!("/decisions/{}/entry.atom", d.id)).await.text().await.unwrap();
    assert!(atom.contains(&proof_url) && atom.contains(&digest), "{atom}");
    let page = get(format!("/decisions/{}", d.id)).await.text().await.unwrap();
    assert!(page.contains(&format!("href=\"{proof_url}\"")) && page.contains(&digest), "{page}");

    // The proof, checked against the served checkpoint with the signed_note crate and RFC 9162
    // written in this test; it reveals the event's hash only.
    let r = get(proof_url.clone()).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("content-security-policy"), "served under the public headers");
    let proof: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    let served = get("/checkpoint".to_owned()).await.text().await.unwrap();
    let verifier = signed_note::StandardVerifier::new(&vkey).unwrap();
    let note = signed_note::Note::from_bytes(served.as_bytes()).unwrap();
    note.verify(&signed_note::VerifierList::new(vec![Box::new(verifier)])).expect("the log's signature");
    let body = String::from_utf8(note.text().to_vec()).unwrap();
    let lines: Vec<&str> = body.lines().collect();
    let (size, root): (u64, [u8; 32]) = (
        lines[1].parse().unwrap(),
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, lines[2]).unwrap().try_into().unwrap(),
    );
    assert_eq!(proof["tree_size"], size, "the proof is in the served checkpoint's tree");
    assert_eq!(hex::encode(sha2::Sha256::digest(proof["content"].as_str().unwrap().as_bytes())), digest);
    assert_eq!(proof["leaf_data"], decision.hash.as_str());
    let mut leaf = sha2::Sha256::new();
    leaf.update([0u8]);
    leaf.update(hex32(&proof["leaf_data"]));
    let path: Vec<[u8; 32]> = proof["inclusion_proof"].as_array().unwrap().iter().map(hex32).collect();
    let index = proof["leaf_index"].as_u64().unwrap();
    assert_eq!(root_from_path(index, size, leaf.finalize().into(), &path), Some(root));
    // A wrong leaf does not verify.
    let mut wrong = sha2::Sha256::new();
    wrong.update([0u8]);
    wrong.update([0u8; 32]);
    assert_ne!(root_from_path(index, size, wrong.finalize().into(), &path), Some(root));
    for private in [decision.actor.as_str(), decision.request_id.as_str(), decision.officers.as_str()] {
        assert!(!proof.to_string().contains(private), "the proof shows {private}");
    }
    h.running.stop().await.unwrap();
}
