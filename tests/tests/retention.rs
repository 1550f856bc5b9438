//! Retention and legal hold (RULES K2–K5) over gRPC, on every database backend: a case held by a
//! lawsuit keeps its evidence whatever its retention, until the lawsuit's end is recorded; an
//! unreferenced recording past its six months is destroyed as the head approves, with two
//! witnesses, as an event of its case; the chain still verifies and `VerifyCase` says precisely
//! which items' bytes were destroyed, unlike an object that is merely missing.

use std::sync::Arc;

use sanxiang_domain::{TestClock, Timestamp};
use sanxiang_proto::v1 as pb;
use sanxiang_proto::v1::EventKind as K;
use sanxiang_tests::{Backend, Client, Harness, World, backend_tests, pseudo_random, refused, shanghai_morning};
use tonic::Code;

backend_tests!(
    a_held_case_keeps_its_evidence_until_the_end_is_recorded,
    a_destroyed_recording_leaves_a_verifiable_chain,
    marked_footage_is_kept_permanently_and_destruction_needs_its_own_permission,
    ends_recorded_before_the_upgrade_await_the_approval_of_their_release,
);

fn rid() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn destroy_request(case_id: &str, ids: &[&str], witnesses: &[&str]) -> pb::DestroyEvidenceRequest {
    pb::DestroyEvidenceRequest {
        request_id: rid(),
        case_id: case_id.into(),
        evidence_ids: ids.iter().map(|s| (*s).to_owned()).collect(),
        batch_id: "2026-销毁-001".into(),
        appraisal: "经鉴定小组鉴定，保管期限已满，无继续保存价值".into(),
        witnesses: witnesses.iter().map(|s| (*s).to_owned()).collect(),
        approval_reference: "局长审批 2026-销毁-001".into(),
    }
}

async fn destroy(c: &Client, r: pb::DestroyEvidenceRequest) -> Result<pb::DestroyEvidenceResponse, tonic::Status> {
    c.record.clone().destroy_evidence(r).await.map(tonic::Response::into_inner)
}

async fn get_case(w: &World, case_id: &str) -> pb::Case {
    w.officer
        .record
        .clone()
        .get_case(pb::GetCaseRequest { case_id: case_id.into() })
        .await
        .unwrap()
        .into_inner()
        .case
        .expect("the answer carries the case")
}

async fn verify(w: &World, case_id: &str) -> pb::VerifyCaseResponse {
    w.verify(case_id, true).await
}

async fn download(w: &World, evidence_id: &str) -> Result<Vec<u8>, tonic::Status> {
    use futures::StreamExt;
    let mut stream = w
        .officer
        .record
        .clone()
        .download_evidence(pb::DownloadEvidenceRequest { evidence_id: evidence_id.into(), reason: "复核".into() })
        .await?
        .into_inner();
    let mut out = Vec::new();
    while let Some(m) = stream.next().await {
        if let Some(pb::download_evidence_response::Part::Chunk(c)) = m?.part {
            out.extend_from_slice(&c);
        }
    }
    Ok(out)
}

async fn upload(w: &World, case_id: &str, seed: u64, at: Timestamp) -> (pb::Evidence, bytes::Bytes) {
    let data = pseudo_random(seed, 300_000);
    let e = w.upload(case_id, "video/mp4", data.clone(), at).await.expect("upload").evidence.expect("evidence");
    (e, data)
}

/// Where the local vault keeps an object.
fn object_file(h: &Harness, sha256: &str) -> std::path::PathBuf {
    h.data_dir.path().join("objects").join("sha256").join(&sha256[..2]).join(sha256)
}

const WITNESSES: [&str; 2] = ["档案室 王五", "纪检 赵六"];

async fn a_held_case_keeps_its_evidence_until_the_end_is_recorded(backend: Backend) {
    let clock = Arc::new(TestClock::new(shanghai_morning("2026-01-10")));
    let h = Harness::start_with(backend, clock.clone(), |_| {}).await;
    let w = h.world(1, "").await;
    let now = h.now();
    let case = w.open_case(pb::CaseKind::Penalty).await;
    // Footage no act references (K3: six months from capture), then a decision and a lawsuit.
    let (footage, data) = upload(&w, &case.id, 1, now).await;
    w.ready_for_decision(&case.id, now).await;
    w.decide(&case.id, false).await.expect("decide");
    assert!(get_case(&w, &case.id).await.legal_holds.is_empty());
    // A lawsuit cannot be concluded before it is filed; filed, it holds the case.
    refused(
        w.officer.record.clone().append_event(w.event(&case.id, K::LawsuitConcluded, now)).await,
        Code::FailedPrecondition,
        "R2.procedure-end-after-opening",
    );
    w.append(&case.id, K::LawsuitFiled, now).await;
    assert_eq!(get_case(&w, &case.id).await.legal_holds, ["lawsuit"]);

    // Long past the footage's six months: still held, nothing destroyed, nothing written.
    clock.set(shanghai_morning("2026-09-01"));
    let before = get_case(&w, &case.id).await.event_count;
    refused(
        destroy(&w.head, destroy_request(&case.id, &[&footage.id], &WITNESSES)).await,
        Code::FailedPrecondition,
        "K4.legal-hold",
    );
    assert_eq!(get_case(&w, &case.id).await.event_count, before, "a refused destruction records nothing");
    assert_eq!(download(&w, &footage.id).await.unwrap(), data.to_vec());
    assert!(object_file(&h, &footage.sha256).exists());
    let report = verify(&w, &case.id).await;
    assert!(report.ok, "{report:?}");
    assert!(report.destroyed_evidence.is_empty());
    // A complaint as well (recorded by ComplaintService, which holds the case): both must end
    // before the hold does.
    let complaint = w
        .officer
        .complaints
        .clone()
        .record_complaint(pb::RecordComplaintRequest {
            agency_id: w.agency.id.clone(),
            types: vec![pb::ComplaintType::ConductComplaint as i32],
            channel: pb::ComplaintChannel::Letter as i32,
            content: "执法人员未出示证件".into(),
            reporter: Some(pb::Reporter {
                name: "王小明".into(), contact: "13912345678".into(), ..Default::default()
            }),
            case_id: case.id.clone(),
            ..Default::default()
        })
        .await
        .expect("record the complaint")
        .into_inner()
        .complaints
        .remove(0);
    // The lawsuit's end, recorded by the head: its result is recorded, but the hold stays until
    // another principal approves the release (K4); an end without its result is refused.
    let mut silent = w.event(&case.id, K::LawsuitConcluded, h.now());
    silent.text = " ".into();
    refused(w.head.record.clone().append_event(silent).await, Code::InvalidArgument, "text");
    w.head.record.clone().append_event(w.event(&case.id, K::LawsuitConcluded, h.now())).await.expect("the result");
    let held = get_case(&w, &case.id).await;
    assert_eq!(
        (held.legal_holds, held.legal_hold_releases_pending),
        (vec!["complaint".to_owned()], vec!["lawsuit".to_owned()])
    );
    refused(
        destroy(&w.head, destroy_request(&case.id, &[&footage.id], &WITNESSES)).await,
        Code::FailedPrecondition,
        "K4.legal-hold",
    );
    let o = h.officer(&w.agency.id, "法制员", true).await;
    let legal = h.principal(pb::Role::Reviewer, &w.agency.id, &o.id).await;
    legal
        .complaints
        .clone()
        .record_complaint_step(pb::RecordComplaintStepRequest {
            complaint_id: complaint.id,
            kind: pb::ComplaintStepKind::Rejected as i32,
            text: "投诉事项已在诉讼中".into(),
            ..Default::default()
        })
        .await
        .expect("reject the complaint");
    // The complaint's end is recorded by ComplaintService, as the legal office's act.
    let held = get_case(&w, &case.id).await;
    assert!(held.legal_holds.is_empty());
    assert_eq!(held.legal_hold_releases_pending, ["lawsuit", "complaint"]);
    refused(
        destroy(&w.head, destroy_request(&case.id, &[&footage.id], &WITNESSES)).await,
        Code::FailedPrecondition,
        "K4.legal-hold",
    );
    let release = |at| {
        let mut r = w.event(&case.id, K::LegalHoldReleased, at);
        r.officer_ids.clear();
        r.text = "经审查，复议、诉讼、投诉均已终结，同意解除保全".into();
        r
    };
    let before = get_case(&w, &case.id).await.event_count;
    refused(
        w.head.record.clone().append_event(release(h.now())).await,
        Code::FailedPrecondition,
        "K4.release-approval",
    );
    refused(
        w.officer.record.clone().append_event(release(h.now())).await,
        Code::FailedPrecondition,
        "K4.release-approval",
    );
    assert_eq!(get_case(&w, &case.id).await.event_count, before, "refused approvals record nothing");
    // Another head of the agency than the one who recorded the lawsuit's end approves: released.
    let deputy = h.principal(pb::Role::Head, &w.agency.id, "").await;
    deputy.record.clone().append_event(release(h.now())).await.expect("approved");
    let released = get_case(&w, &case.id).await;
    assert!(released.legal_holds.is_empty() && released.legal_hold_releases_pending.is_empty());
    // Nothing left to release: an approval needs a recorded result first.
    refused(deputy.record.clone().append_event(release(h.now())).await, Code::FailedPrecondition, "K4.final-result");
    // The hold has ended: the footage past its retention may go now.
    let done = destroy(&w.head, destroy_request(&case.id, &[&footage.id], &WITNESSES)).await.unwrap();
    assert_eq!(done.destroyed[0].retention_rule, "K3");
    // The case file itself is permanent once sued (K2): a file's evidence would never go.
    assert_eq!(done.destroyed[0].case_class, "permanent");
    assert!(!object_file(&h, &footage.sha256).exists());
    // The stored state (holds, releases) is what the chain derives.
    let report = verify(&w, &case.id).await;
    assert!(report.ok, "{:?}", report.problems);
    h.running.stop().await.unwrap();
}

async fn a_destroyed_recording_leaves_a_verifiable_chain(backend: Backend) {
    let clock = Arc::new(TestClock::new(shanghai_morning("2026-01-10")));
    let h = Harness::start_with(backend, clock.clone(), |_| {}).await;
    let w = h.world(1, "").await;
    let now = h.now();
    let case = w.open_case(pb::CaseKind::Inspection).await;
    // Unreferenced footage; footage an inspection references; footage whose bytes another
    // case's item shares.
    let (loose, loose_data) = upload(&w, &case.id, 11, now).await;
    let (used, _) = upload(&w, &case.id, 12, now).await;
    let mut act = w.event(&case.id, K::Inspection, now);
    act.evidence_ids = vec![used.id.clone()];
    w.officer.record.clone().append_event(act).await.expect("inspection");
    let (twin, twin_data) = upload(&w, &case.id, 13, now).await;
    let other = w.open_case(pb::CaseKind::Inspection).await;
    let (twin_elsewhere, _) = upload(&w, &other.id, 13, now).await;
    assert_eq!(twin.sha256, twin_elsewhere.sha256, "identical content, stored once");

    // Within the six months (through 10 July): K3 refuses.
    clock.set(shanghai_morning("2026-07-10"));
    refused(
        destroy(&w.head, destroy_request(&case.id, &[&loose.id], &WITNESSES)).await,
        Code::FailedPrecondition,
        "K3.retention",
    );
    clock.set(shanghai_morning("2026-07-11"));
    // Referenced footage follows the case file, whose retention starts when the case closes.
    refused(
        destroy(&w.head, destroy_request(&case.id, &[&used.id], &WITNESSES)).await,
        Code::FailedPrecondition,
        "K2.case-open",
    );
    // K5: two distinct witnesses, a list, an appraisal, the head's approval; items of this case.
    refused(
        destroy(&w.head, destroy_request(&case.id, &[&loose.id], &["王五", " 王五 "])).await,
        Code::InvalidArgument,
        "witnesses",
    );
    let mut no_batch = destroy_request(&case.id, &[&loose.id], &WITNESSES);
    no_batch.batch_id = " ".into();
    refused(destroy(&w.head, no_batch).await, Code::InvalidArgument, "batch_id");
    let mut no_appraisal = destroy_request(&case.id, &[&loose.id], &WITNESSES);
    no_appraisal.appraisal = String::new();
    refused(destroy(&w.head, no_appraisal).await, Code::InvalidArgument, "appraisal");
    refused(
        destroy(&w.head, destroy_request(&case.id, &[&twin_elsewhere.id], &WITNESSES)).await,
        Code::InvalidArgument,
        "evidence_ids[0]",
    );
    refused(
        destroy(&w.head, destroy_request(&case.id, &[&loose.id, &loose.id], &WITNESSES)).await,
        Code::InvalidArgument,
        "evidence_ids[1]",
    );
    refused(
        destroy(&w.officer, destroy_request(&case.id, &[&loose.id], &WITNESSES)).await,
        Code::PermissionDenied,
        "the officer role may not approve the destruction of evidence",
    );
    let before = get_case(&w, &case.id).await.event_count;
    assert_eq!(verify(&w, &case.id).await.evidence_checked, 3, "nothing was destroyed by the refusals");

    // Destroyed: one event of the case, with each item's tombstone.
    let request = destroy_request(&case.id, &[&loose.id, &twin.id], &WITNESSES);
    let done = destroy(&w.head, request.clone()).await.unwrap();
    let event = done.event.clone().expect("the event");
    assert_eq!((event.kind, event.case_seq), (K::EvidenceDestroyed as i32, before + 1));
    let items: Vec<(&str, &str, &str, &str)> = done
        .destroyed
        .iter()
        .map(|d| (d.evidence_id.as_str(), d.sha256.as_str(), d.retention_rule.as_str(), d.retained_until.as_str()))
        .collect();
    assert_eq!(
        items,
        [
            (loose.id.as_str(), loose.sha256.as_str(), "K3", "2026-07-10"),
            (twin.id.as_str(), twin.sha256.as_str(), "K3", "2026-07-10")
        ]
    );
    let payload: serde_json::Value = serde_json::from_str(&event.payload_json).unwrap();
    assert_eq!(payload["witnesses"], serde_json::json!(WITNESSES));
    assert_eq!(payload["batch_id"], "2026-销毁-001");
    // The loose footage's bytes are gone; the twin's stay for the other case's item.
    assert!(!object_file(&h, &loose.sha256).exists());
    assert!(object_file(&h, &twin.sha256).exists());
    // A retry answers the same destruction and records nothing more.
    let again = destroy(&w.head, request).await.unwrap();
    assert_eq!(again.event.unwrap().hash, event.hash);
    assert_eq!(get_case(&w, &case.id).await.event_count, before + 1);
    refused(
        destroy(&w.head, destroy_request(&case.id, &[&loose.id], &WITNESSES)).await,
        Code::FailedPrecondition,
        "K5.destroyed",
    );

    // The chain verifies; VerifyCase says which items' bytes were destroyed, by which event, and
    // re-hashes only the rest.
    let report = verify(&w, &case.id).await;
    assert!(report.ok, "{:?}", report.problems);
    assert_eq!(report.evidence_checked, 1);
    let listed: Vec<(&str, u64, &str, bool)> = report
        .destroyed_evidence
        .iter()
        .map(|d| (d.evidence_id.as_str(), d.case_seq, d.batch_id.as_str(), d.bytes_shared))
        .collect();
    assert_eq!(
        listed,
        [
            (loose.id.as_str(), before + 1, "2026-销毁-001", false),
            (twin.id.as_str(), before + 1, "2026-销毁-001", true)
        ]
    );
    // An act can no longer rely on a destroyed item.
    let mut late = w.event(&case.id, K::Inspection, h.now());
    late.evidence_ids = vec![used.id.clone(), loose.id.clone()];
    refused(w.officer.record.clone().append_event(late).await, Code::FailedPrecondition, "K5.destroyed");
    // A destroyed item is never served again, even where its content is still stored.
    refused(download(&w, &loose.id).await, Code::FailedPrecondition, "K5.destroyed");
    refused(download(&w, &twin.id).await, Code::FailedPrecondition, "K5.destroyed");
    assert_eq!(download(&w, &twin_elsewhere.id).await.unwrap(), twin_data.to_vec());
    assert!(verify(&w, &other.id).await.ok);
    assert_ne!(loose_data, twin_data);

    // The export lists the destroyed items with the event that records their destruction and
    // carries no bytes for them; both offline verifiers accept it, and refuse a manifest that
    // claims a destruction the chain does not record.
    let archive = w.export(&case.id).await;
    let manifest = manifest(&archive);
    let listed: Vec<(&str, Option<u64>, bool)> = manifest["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["id"].as_str().unwrap(), i["destroyed"].as_u64(), i.get("path").is_some()))
        .collect();
    assert!(listed.contains(&(loose.id.as_str(), Some(before + 1), false)), "{listed:?}");
    assert!(listed.contains(&(used.id.as_str(), None, true)), "{listed:?}");
    assert!(!member_names(&archive).contains(&format!("evidence/{}", loose.sha256)));
    let checked = sanxiang_server::offline::check(archive.as_slice()).expect("the archive verifies offline");
    assert_eq!(checked.evidence_objects, 1);
    let (ok, out) = python_verify(&archive);
    assert!(ok, "{out}");
    let forged = forge_destroyed(&archive, &used.id, before + 1);
    let refusal = sanxiang_server::offline::check(forged.as_slice()).unwrap_err();
    assert!(refusal.contains("listed as destroyed"), "{refusal}");
    let (ok, out) = python_verify(&forged);
    assert!(!ok && out.contains("listed as destroyed"), "{out}");

    // Unlike bytes that are merely missing: remove the referenced item's object behind the
    // service's back, and VerifyCase reports data loss for it.
    std::fs::remove_file(object_file(&h, &used.sha256)).unwrap();
    let report = verify(&w, &case.id).await;
    assert!(!report.ok);
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    let p = &report.problems[0];
    assert_eq!((p.evidence_id.as_str(), p.table.as_str(), p.data_loss), (used.id.as_str(), "evidence", true));
    assert_eq!(report.destroyed_evidence.len(), 2);
    h.running.stop().await.unwrap();
}

async fn marked_footage_is_kept_permanently_and_destruction_needs_its_own_permission(backend: Backend) {
    let clock = Arc::new(TestClock::new(shanghai_morning("2026-01-10")));
    let h = Harness::start_with(backend, clock.clone(), |_| {}).await;
    let w = h.world(1, "").await;
    let now = h.now();
    let case = w.open_case(pb::CaseKind::Inspection).await;
    let (obstruction, _) = upload(&w, &case.id, 21, now).await;
    let (incident, _) = upload(&w, &case.id, 22, now).await;
    let (plain, _) = upload(&w, &case.id, 23, now).await;
    let photo = w
        .upload(&case.id, "image/jpeg", pseudo_random(24, 1000), now)
        .await
        .expect("upload")
        .evidence
        .expect("evidence");
    let mark = |ids: &[&str], mark: &str| {
        let mut r = w.event(&case.id, K::EvidenceMarked, now);
        r.evidence_ids = ids.iter().map(|s| (*s).to_owned()).collect();
        r.details = std::collections::HashMap::from([("mark".to_owned(), mark.to_owned())]);
        r.text = "当事人阻挠执法".into();
        r
    };
    // K3: the mark is one of two, on footage only, naming the footage.
    let record = w.officer.record.clone();
    let before = get_case(&w, &case.id).await.event_count;
    refused(record.clone().append_event(mark(&[&obstruction.id], "阻挠")).await, Code::InvalidArgument, "details.mark");
    refused(record.clone().append_event(mark(&[], "obstruction")).await, Code::InvalidArgument, "evidence_ids");
    refused(
        record.clone().append_event(mark(&[&photo.id], "obstruction")).await,
        Code::InvalidArgument,
        "evidence_ids[0]",
    );
    assert_eq!(get_case(&w, &case.id).await.event_count, before, "refused marks record nothing");
    record.clone().append_event(mark(&[&obstruction.id], "obstruction")).await.expect("marked");
    record.clone().append_event(mark(&[&incident.id], "major_incident")).await.expect("marked");

    // Past the six months: the marked footage stays (K3.retention), whatever the mark; the
    // unmarked footage goes (a mark is no use, so it does not make the footage referenced).
    clock.set(shanghai_morning("2026-08-01"));
    for id in [&obstruction.id, &incident.id] {
        let refusal = destroy(&w.head, destroy_request(&case.id, &[id], &WITNESSES)).await.unwrap_err();
        assert_eq!(refusal.code(), Code::FailedPrecondition);
        assert!(refusal.message().contains("K3.retention"), "{}", refusal.message());
        assert!(refusal.message().contains("kept permanently"), "{}", refusal.message());
    }
    // K5: its own permission, in its own words (not the decisions'); an approval reference.
    for who in [&w.officer, &w.publisher] {
        let refusal = destroy(who, destroy_request(&case.id, &[&plain.id], &WITNESSES)).await.unwrap_err();
        assert_eq!(refusal.code(), Code::PermissionDenied);
        assert!(
            refusal.message().contains("may not approve the destruction of evidence (销毁)"),
            "{}",
            refusal.message()
        );
        assert!(!refusal.message().contains("decision"), "{}", refusal.message());
    }
    let mut unapproved = destroy_request(&case.id, &[&plain.id], &WITNESSES);
    unapproved.approval_reference = " ".into();
    refused(destroy(&w.head, unapproved).await, Code::InvalidArgument, "approval_reference");
    refused(
        destroy(&w.head, destroy_request(&case.id, &[&plain.id], &["王五"])).await,
        Code::InvalidArgument,
        "witnesses",
    );
    assert_eq!(get_case(&w, &case.id).await.event_count, before + 2, "nothing destroyed by the refusals");
    let done = destroy(&w.head, destroy_request(&case.id, &[&plain.id], &WITNESSES)).await.unwrap();
    assert_eq!(done.destroyed[0].retention_rule, "K3");
    let payload: serde_json::Value = serde_json::from_str(&done.event.unwrap().payload_json).unwrap();
    assert_eq!(payload["approval_reference"], "局长审批 2026-销毁-001");
    assert!(verify(&w, &case.id).await.ok);
    h.running.stop().await.unwrap();
}

/// Migration m0016: a case whose lawsuit ended before releases needed an approval has the
/// lawsuit's release pending afterwards (as its events now derive), on both backends.
async fn ends_recorded_before_the_upgrade_await_the_approval_of_their_release(backend: Backend) {
    use sanxiang_migration::{Migrator, MigratorTrait};
    use sea_orm::ConnectionTrait;
    let dir = tempfile::tempdir().unwrap();
    let url = backend.database_url(dir.path()).await;
    let db = sea_orm::Database::connect(&url).await.unwrap();
    let names: Vec<String> = Migrator::migrations().iter().map(|m| m.name().to_owned()).collect();
    let before = names.iter().position(|n| n.contains("m0016_statistics_retention")).expect("m0016 is a migration");
    Migrator::up(&db, Some(u32::try_from(before).unwrap())).await.unwrap();
    let decided_and_challenged: i64 = 1 | (1 << 5) | (1 << 13);
    for sql in [
        "INSERT INTO agencies (id, name, credit_code, region, powers, time_zone, recording_policy, \
         upload_window_hours, created_at) VALUES ('a1', '测试局', '12350100003672834A', '福建省', '[]', '', \
         '{\"additional_required_kinds\":[]}', 24, 0)"
            .to_owned(),
        format!(
            "INSERT INTO cases (id, agency_id, kind, title, party, handling_officers, opened_at, state_bits, \
             event_count, head_hash, request_id, created_by) VALUES ('c1', 'a1', 'penalty', '案', '{{}}', '[]', 0, \
             {decided_and_challenged}, 1, '', 'r1', 'p1'), ('c2', 'a1', 'penalty', '案', '{{}}', '[]', 0, \
             {decided_and_challenged}, 0, '', 'r2', 'p1')"
        ),
        "INSERT INTO events (global_seq, case_id, case_seq, kind, occurred_at, recorded_at, actor, request_id, \
         officers, evidence, payload, prev_hash, hash) VALUES (1, 'c1', 1, 'lawsuit_concluded', 0, 0, 'p1', 'e1', \
         '[]', '[]', '{}', '', '')"
            .to_owned(),
    ] {
        db.execute_unprepared(&sql).await.unwrap();
    }
    Migrator::up(&db, None).await.unwrap();
    let bits = |id: &'static str| {
        let db = &db;
        async move {
            let row = db
                .query_one_raw(sea_orm::Statement::from_string(
                    db.get_database_backend(),
                    format!("SELECT state_bits FROM cases WHERE id = '{id}'"),
                ))
                .await
                .unwrap()
                .expect("the case is still there");
            row.try_get::<i64>("", "state_bits").unwrap()
        }
    };
    let ended = sanxiang_domain::lifecycle::CaseState::from_bits(bits("c1").await);
    assert_eq!(ended.releases_pending(), [sanxiang_domain::lifecycle::Procedure::Lawsuit]);
    assert!(ended.holds().is_empty() && ended.challenged());
    assert_eq!(bits("c2").await, decided_and_challenged, "a case with no recorded end is unchanged");
}

/// The members of a tar archive, by name.
fn members(archive: &[u8]) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
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

fn member_names(archive: &[u8]) -> Vec<String> {
    members(archive).into_iter().map(|(n, _)| n).collect()
}

fn manifest(archive: &[u8]) -> serde_json::Value {
    let (_, data) = members(archive).into_iter().find(|(n, _)| n == "manifest.json").expect("a manifest");
    serde_json::from_slice(&data).unwrap()
}

/// Runs the independent Python verifier (tools/verify-export.py) on `archive`.
fn python_verify(archive: &[u8]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("case.tar");
    std::fs::write(&path, archive).unwrap();
    let tool = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/verify-export.py");
    let out = std::process::Command::new("python3").arg(tool).arg(&path).output().expect("python3 runs");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// `archive` with a manifest that claims item `id` was destroyed by event `seq` (and no bytes for
/// it), the rest unchanged.
fn forge_destroyed(archive: &[u8], id: &str, seq: u64) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut manifest = manifest(archive);
    let mut sha = String::new();
    for item in manifest["evidence"].as_array_mut().unwrap() {
        if item["id"] == id {
            sha = item["sha256"].as_str().unwrap().to_owned();
            let item = item.as_object_mut().unwrap();
            item.remove("path");
            item.insert("destroyed".into(), seq.into());
        }
    }
    for (name, data) in members(archive) {
        let data = if name == "manifest.json" { serde_json::to_vec(&manifest).unwrap() } else { data };
        if name == format!("evidence/{sha}") {
            continue;
        }
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, &name, data.as_slice()).unwrap();
    }
    builder.into_inner().unwrap()
}
