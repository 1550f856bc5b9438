//! Two `sanxiang serve` processes on one PostgreSQL database and one object store: appends to
//! one case through both still form one linear chain, the global sequence stays gap-free, and an
//! idempotent retry may land on either replica; a token revoked, an officer or a certificate
//! suspended through one replica is refused by the other at once; the public listing one replica
//! keeps follows decisions made through the other.

use std::collections::BTreeSet;
use std::sync::Arc;

use sanxiang_proto::v1 as pb;
use sanxiang_proto::v1::EventKind as K;
use sanxiang_store::entity::event;
use sanxiang_tests::process::{sigterm_and_wait, spawn};
use sanxiang_tests::{Backend, Client, World, fresh_postgres_database};
use sea_orm::{Database, EntityTrait, QueryOrder};

const BIN: &str = env!("CARGO_BIN_EXE_sanxiang-under-test");

async fn connect(addr: &str, token: &str) -> Client {
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap();
    Client::new(channel, Some(token))
}

/// The arguments of a replica on `database` and the object store `objects`, on free ports.
fn replica_args<'a>(database: &'a str, objects: &'a str) -> [&'a str; 8] {
    [
        "--listen",
        "127.0.0.1:0",
        "--http-listen",
        "127.0.0.1:0",
        "--database-url",
        database,
        "--object-store-url",
        objects,
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_one_chain_per_case() {
    let Some(Backend::Postgres(server)) = Backend::postgres() else { return };
    let database = fresh_postgres_database(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let objects = match std::env::var("SANXIANG_TEST_S3_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => format!("file://{}", dir.path().join("shared-objects").display()),
    };
    let args = replica_args(&database, &objects);
    // Both start at once: migrations serialise on an advisory lock, one creates the administrator.
    let (a, b) = tokio::join!(spawn(BIN, dir.path(), &args, &[]), spawn(BIN, dir.path(), &args, &[]));
    let token = std::fs::read_to_string(dir.path().join("sanxiang-data/admin-token")).unwrap().trim().to_owned();
    let admin_a = connect(&a.addr, &token).await;
    let admin_b = connect(&b.addr, &token).await;

    // Registry writes through A are visible through B.
    let (agency, officers, app) = sanxiang_tests::setup_agency(&admin_a, 31).await;
    let seen_by_b = admin_b
        .registry
        .clone()
        .list_officers(pb::ListOfficersRequest { agency_id: agency.id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(seen_by_b.officers, officers);
    let on_a = connect(&a.addr, &app).await;
    let on_b = connect(&b.addr, &app).await;
    let world = |client: Client| World {
        agency: agency.clone(),
        officers: officers.clone(),
        officer: client.clone(),
        head: client.clone(),
        publisher: client,
    };
    let wa = Arc::new(world(on_a));
    let wb = Arc::new(world(on_b));
    let case = wa.open_case(pb::CaseKind::Inspection).await;
    let now = sanxiang_domain::TimeProvider::now(&sanxiang_domain::SystemClock);

    // 32 appenders, half through each replica, 6 events each.
    let mut tasks = Vec::new();
    for i in 0..32 {
        let w = Arc::clone(if i % 2 == 0 { &wa } else { &wb });
        let id = case.id.clone();
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for _ in 0..6 {
                seqs.push(
                    w.officer
                        .record
                        .clone()
                        .append_event(w.event(&id, K::Inspection, now))
                        .await
                        .unwrap()
                        .into_inner()
                        .event
                        .expect("the answer carries the event")
                        .case_seq,
                );
            }
            seqs
        }));
    }
    let mut seen = BTreeSet::new();
    for t in tasks {
        for s in t.await.unwrap() {
            assert!(seen.insert(s), "case_seq {s} assigned twice");
        }
    }
    assert_eq!(seen.len(), 32 * 6);

    // An idempotent retry lands on the other replica and gets the same event.
    let request = wa.event(&case.id, K::Questioning, now);
    let first = wa
        .officer
        .record
        .clone()
        .append_event(request.clone())
        .await
        .unwrap()
        .into_inner()
        .event
        .expect("the answer carries the event");
    let retry = wb
        .officer
        .record
        .clone()
        .append_event(request)
        .await
        .unwrap()
        .into_inner()
        .event
        .expect("the answer carries the event");
    assert_eq!((first.hash, first.global_seq), (retry.hash, retry.global_seq));

    // Rights taken away through A are gone through B from the next request on, although B has
    // the token and the officers in memory from the appends above.
    let me = wa.officer.registry.clone().who_am_i(pb::WhoAmIRequest {}).await.unwrap().into_inner().principal.unwrap();
    let issued = admin_a
        .registry
        .clone()
        .issue_token(pb::IssueTokenRequest { principal_id: me.id.clone(), label: "second device".into() })
        .await
        .unwrap()
        .into_inner();
    let second = connect(&b.addr, &issued.token).await;
    let w2 = world(second.clone());
    second.record.clone().append_event(w2.event(&case.id, K::Inspection, now)).await.unwrap();
    admin_a.registry.clone().revoke_token(pb::RevokeTokenRequest { token_id: issued.token_id }).await.unwrap();
    let refused = second.record.clone().append_event(w2.event(&case.id, K::Inspection, now)).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated, "{refused:?}");
    admin_a
        .registry
        .clone()
        .set_officer_status(pb::SetOfficerStatusRequest {
            officer_id: officers[1].id.clone(),
            status: pb::OfficerStatus::Suspended as i32,
            reason: "暂扣执法证件".into(),
            effective_at: None,
        })
        .await
        .unwrap();
    // Acts are judged at their own time: these happen after the change.
    let later = sanxiang_domain::TimeProvider::now(&sanxiang_domain::SystemClock);
    let refused = wb.officer.record.clone().append_event(wb.event(&case.id, K::Inspection, later)).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition, "{refused:?}");
    assert!(refused.message().contains(&officers[1].id), "{refused:?}");
    admin_a
        .registry
        .clone()
        .set_officer_status(pb::SetOfficerStatusRequest {
            officer_id: officers[1].id.clone(),
            status: pb::OfficerStatus::Active as i32,
            reason: "恢复".into(),
            effective_at: None,
        })
        .await
        .unwrap();
    let later = sanxiang_domain::TimeProvider::now(&sanxiang_domain::SystemClock);
    wb.officer.record.clone().append_event(wb.event(&case.id, K::Inspection, later)).await.unwrap();
    // So is a certificate's suspension (RULES C5) and its end.
    let certificate_event = |kind: pb::CertificateEventKind| pb::RecordCertificateEventRequest {
        officer_id: officers[1].id.clone(),
        kind: kind as i32,
        effective_on: String::new(),
        training_hours: 0,
        reason: "暂扣执法证件".into(),
        ..Default::default()
    };
    admin_a
        .registry
        .clone()
        .record_certificate_event(certificate_event(pb::CertificateEventKind::Suspended))
        .await
        .unwrap();
    let later = sanxiang_domain::TimeProvider::now(&sanxiang_domain::SystemClock);
    let refused = wb.officer.record.clone().append_event(wb.event(&case.id, K::Inspection, later)).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition, "{refused:?}");
    assert!(refused.message().contains("C5.certificate-status"), "{refused:?}");
    admin_a
        .registry
        .clone()
        .record_certificate_event(certificate_event(pb::CertificateEventKind::Reinstated))
        .await
        .unwrap();
    let later = sanxiang_domain::TimeProvider::now(&sanxiang_domain::SystemClock);
    wb.officer.record.clone().append_event(wb.event(&case.id, K::Inspection, later)).await.unwrap();

    for w in [&wa, &wb] {
        let report = w
            .officer
            .record
            .clone()
            .verify_case(pb::VerifyCaseRequest { case_id: case.id.clone(), rehash_evidence: false })
            .await
            .unwrap()
            .into_inner();
        assert!(report.ok, "{:?}", report.problems);
        // The opening, the 32 × 6 appends, the retried one, the second device's and the last two.
        assert_eq!(report.events_checked, 1 + 32 * 6 + 1 + 1 + 1 + 1);
    }
    let db = Database::connect(database.as_str()).await.unwrap();
    let all = event::Entity::find().order_by_asc(event::Column::GlobalSeq).all(&db).await.unwrap();
    for (i, e) in all.iter().enumerate() {
        assert_eq!(e.global_seq, i as i64 + 1, "global sequence has a gap or duplicate");
    }
    sigterm_and_wait(a).await;
    sigterm_and_wait(b).await;
}

/// Waits until the replica's `/metrics` says it hears the database's change notices.
async fn until_listening(p: &sanxiang_tests::process::Process) {
    let url = format!("http://{}/metrics", p.admin_addr);
    for _ in 0..200 {
        let text = reqwest::get(&url).await.unwrap().text().await.unwrap();
        if text.lines().any(|l| l.trim() == "sanxiang_change_notices_listening 1") {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the replica at {} never heard the change notices", p.addr);
}

/// The ids of the public listing's first page as a replica serves it.
async fn listed(p: &sanxiang_tests::process::Process) -> Vec<String> {
    let text = reqwest::get(format!("http://{}/v1/disclosures", p.http_addr)).await.unwrap().text().await.unwrap();
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    body["disclosures"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_one_replica_keeps_follows_decisions_made_through_the_other() {
    let Some(Backend::Postgres(server)) = Backend::postgres() else { return };
    let database = fresh_postgres_database(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let objects = format!("file://{}", dir.path().join("shared-objects").display());
    let args = replica_args(&database, &objects);
    let a = spawn(BIN, dir.path(), &args, &[]).await;
    let b = spawn(BIN, dir.path(), &args, &[]).await;
    until_listening(&a).await;
    until_listening(&b).await;
    let token = std::fs::read_to_string(dir.path().join("sanxiang-data/admin-token")).unwrap().trim().to_owned();
    let admin_a = connect(&a.addr, &token).await;
    let (agency, officers, app) = sanxiang_tests::setup_agency(&admin_a, 32).await;
    let on_a = connect(&a.addr, &app).await;
    let mut registry = admin_a.registry.clone();
    let head = registry
        .create_principal(pb::CreatePrincipalRequest {
            request_id: String::new(),
            name: "head".into(),
            role: pb::Role::Head as i32,
            agency_id: agency.id.clone(),
            officer_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .principal
        .unwrap();
    let head = registry
        .issue_token(pb::IssueTokenRequest { principal_id: head.id, label: "head".into() })
        .await
        .unwrap()
        .into_inner()
        .token;
    let head = connect(&a.addr, &head).await;
    let w = World { agency, officers, officer: on_a.clone(), head, publisher: on_a };
    let decide = || async {
        let case = w.open_case(pb::CaseKind::Penalty).await;
        let now = sanxiang_domain::TimeProvider::now(&sanxiang_domain::SystemClock);
        w.ready_for_decision(&case.id, now).await;
        let draft = w.submit(sanxiang_tests::penalty_draft(&case.id, &[("罚款", 5_000_000)])).await;
        w.issue(&draft.id).await.expect("issue decision");
        case.id
    };

    let first = decide().await;
    // B reads the first decision and keeps the page (asked twice: the second is from its cache).
    assert_eq!(listed(&b).await, vec![first.clone()]);
    assert_eq!(listed(&b).await, vec![first.clone()]);
    // A decision through A reaches B's listing as soon as B hears the commit's notice: B's kept
    // page must not be answered any longer. (Across replicas the notice travels on its own
    // connection, so B is given up to ten seconds; a page kept past the notice never changes.)
    let second = decide().await;
    let mut seen = Vec::new();
    for _ in 0..200 {
        seen = listed(&b).await;
        if seen.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(seen, vec![second.clone(), first.clone()]);
    // A's own kept listing follows its own commit at once (its writer moves the stamp before it
    // answers).
    assert_eq!(listed(&a).await, vec![second.clone(), first.clone()]);
    let third = decide().await;
    assert_eq!(listed(&a).await, vec![third, second, first]);
    sigterm_and_wait(a).await;
    sigterm_and_wait(b).await;
}
