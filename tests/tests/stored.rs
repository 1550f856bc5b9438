//! Stored data that cannot be read is DATA_LOSS over the API, naming the table, column and row
//! (never the content), and never replaced by a default: a corrupt recording policy must not
//! fall back to "no extra recordings" (R3), a corrupt party must not become an organisation, a
//! corrupt decision payload must not become `null`. Each test corrupts a value directly in the
//! database, then calls the real API.

use sanxiang_proto::v1 as pb;
use sanxiang_tests::{Backend, Harness, backend_tests, refused};
use sea_orm::ConnectionTrait;
use tonic::Code;

backend_tests!(
    an_unreadable_recording_policy_is_data_loss_not_the_default,
    an_unreadable_party_is_data_loss_not_an_organisation,
    an_unreadable_decision_payload_is_data_loss_not_null,
    unreadable_case_and_event_columns_are_data_loss_not_defaults,
    an_unreadable_checklist_or_rule_list_is_data_loss_not_empty,
    officers_from_before_certificates_were_tracked_are_reviewed_on_the_upgrade_day,
);

async fn corrupt(h: &Harness, table: &str, column: &str, value: &str, filter: &str) {
    let sql = format!("UPDATE {table} SET {column} = '{value}' WHERE {filter}");
    let done = h.running.db.execute_unprepared(&sql).await.expect("corrupt a stored value");
    assert_eq!(done.rows_affected(), 1, "{sql}");
}

async fn an_unreadable_recording_policy_is_data_loss_not_the_default(backend: Backend) {
    let h = Harness::start(backend).await;
    let w = h.world(1, "").await;
    let case = w.open_case(pb::CaseKind::Penalty).await;
    let filter = format!("id = '{}'", w.agency.id);
    let what = format!("agencies.recording_policy of agency {}", w.agency.id);

    for broken in ["{\"additional_required_kinds\":", "{\"additional_required_kinds\":[\"no_such_act\"]}"] {
        corrupt(&h, "agencies", "recording_policy", broken, &filter).await;
        let appended =
            w.officer.record.clone().append_event(w.event(&case.id, pb::EventKind::Inspection, h.now())).await;
        refused(appended, Code::DataLoss, &what);
        let got = h.admin.registry.clone().get_agency(pb::GetAgencyRequest { agency_id: w.agency.id.clone() }).await;
        refused(got, Code::DataLoss, &what);
        let listed = h.admin.registry.clone().list_agencies(pb::ListAgenciesRequest::default()).await;
        refused(listed, Code::DataLoss, &what);
    }
    let events = h.admin.record.clone().get_case(pb::GetCaseRequest { case_id: case.id.clone() }).await;
    assert_eq!(events.expect("get case").into_inner().case.expect("the case").event_count, 1, "nothing was appended");
    h.running.stop().await.expect("stop");
}

async fn an_unreadable_party_is_data_loss_not_an_organisation(backend: Backend) {
    let h = Harness::start(backend).await;
    let w = h.world(1, "").await;
    let case = w.open_case(pb::CaseKind::Penalty).await;
    w.append(&case.id, pb::EventKind::Filing, h.now()).await;
    corrupt(&h, "cases", "party", "{\"type\":\"natural_", &format!("id = '{}'", case.id)).await;
    let submitted = w
        .officer
        .review
        .clone()
        .submit_draft(pb::SubmitDraftRequest {
            request_id: uuid::Uuid::now_v7().to_string(),
            case_id: case.id.clone(),
            legal_basis: "《中华人民共和国行政处罚法》".into(),
            facts: "当事人未按规定公示年度报告".into(),
            ordinary_procedure: true,
            penalties: vec![pb::PenaltyItem { r#type: "警告".into(), amount_fen: 0 }],
            ..Default::default()
        })
        .await;
    refused(submitted, Code::DataLoss, &format!("cases.party of case {}", case.id));
    let exported = w.officer.record.clone().export_case(pb::ExportCaseRequest { case_id: case.id.clone() }).await;
    let first = match exported {
        Ok(stream) => stream.into_inner().message().await.map(|_| ()),
        Err(status) => Err(status),
    };
    refused(first, Code::DataLoss, &format!("cases.party of {}", case.id));
    h.running.stop().await.expect("stop");
}

async fn an_unreadable_decision_payload_is_data_loss_not_null(backend: Backend) {
    let h = Harness::start(backend).await;
    let w = h.world(1, "").await;
    let case = w.open_case(pb::CaseKind::Penalty).await;
    // Filed, and the statement period settled, so the penalty may be decided.
    for kind in [pb::EventKind::Filing, pb::EventKind::NoticeOfProposedDecision, pb::EventKind::StatementWaived] {
        w.append(&case.id, kind, h.now()).await;
    }
    let draft = w.submit_draft(&case.id, false).await;
    let request = pb::IssueDecisionRequest {
        request_id: uuid::Uuid::now_v7().to_string(),
        draft_id: draft.id.clone(),
        officer_ids: w.both(),
        ..Default::default()
    };
    let issued = w.head.review.clone().issue_decision(request.clone()).await.expect("issue").into_inner();
    let seq = issued.event.as_ref().expect("decision event").case_seq;
    corrupt(&h, "events", "payload", "{\"document_number\":", &format!("case_id = '{}' AND case_seq = {seq}", case.id))
        .await;
    // The retry would answer from the stored decision: its number must not come back empty.
    let retried = w.head.review.clone().issue_decision(request).await;
    refused(retried, Code::DataLoss, &format!("events.payload of event {seq} (case {})", case.id));
    h.running.stop().await.expect("stop");
}

async fn unreadable_case_and_event_columns_are_data_loss_not_defaults(backend: Backend) {
    let h = Harness::start(backend).await;
    let w = h.world(1, "").await;
    let case = w.open_case(pb::CaseKind::Penalty).await;
    let filed = w.append(&case.id, pb::EventKind::Filing, h.now()).await;
    let get = || {
        let (mut c, r) = (h.admin.record.clone(), pb::GetCaseRequest { case_id: case.id.clone() });
        async move { c.get_case(r).await }
    };
    let list = || {
        let mut c = h.admin.record.clone();
        let r = pb::ListCasesRequest { agency_id: w.agency.id.clone(), ..Default::default() };
        async move { c.list_cases(r).await }
    };
    let events = || {
        let mut c = h.admin.record.clone();
        let r = pb::ListEventsRequest { case_id: case.id.clone(), after_seq: 0, limit: 0 };
        async move { c.list_events(r).await }
    };
    let case_row = format!("id = '{}'", case.id);
    let party = serde_json::to_string(&serde_json::json!({
        "type": "legal_person", "name": "福州某某贸易有限公司", "credit_code": sanxiang_tests::credit_code(999),
        "id_type": "", "id_number": "", "legal_representative": "", "address": "", "phone": "", "is_minor": false
    }))
    .expect("json");

    // A party that parses but is not a party: no type, a name of the wrong type, not an object.
    for broken in [
        r#"{"name":"福州某某贸易有限公司"}"#.to_owned(),
        party.replace(r#""name":"福州某某贸易有限公司""#, r#""name":7"#),
        r#"["福州某某贸易有限公司"]"#.to_owned(),
    ] {
        corrupt(&h, "cases", "party", &broken, &case_row).await;
        let what = format!("cases.party of case {}", case.id);
        let status = get().await.expect_err("an unreadable party was read");
        assert_eq!(status.code(), Code::DataLoss, "{status:?}");
        assert!(status.message().contains(&what), "{status:?}");
        assert!(!status.message().contains("福州"), "the stored content is echoed: {status:?}");
        refused(list().await, Code::DataLoss, &what);
    }
    corrupt(&h, "cases", "party", &party, &case_row).await;
    assert_eq!(get().await.expect("a readable party").into_inner().case.expect("the case").party, case.party);

    for broken in [r#"{"0":"o1"}"#, r#"["o1",7]"#, "[\"o1\""] {
        corrupt(&h, "cases", "handling_officers", broken, &case_row).await;
        refused(get().await, Code::DataLoss, &format!("cases.handling_officers of case {}", case.id));
    }
    let officers = serde_json::to_string(&w.both()).expect("json");
    corrupt(&h, "cases", "handling_officers", &officers, &case_row).await;
    corrupt(&h, "cases", "kind", "no_such_kind", &case_row).await;
    refused(get().await, Code::DataLoss, &format!("cases.kind of case {}", case.id));
    corrupt(&h, "cases", "kind", "penalty", &case_row).await;
    assert_eq!(
        get().await.expect("readable again").into_inner().case.expect("the case").handling_officer_ids,
        w.both()
    );

    // An event's officers, evidence and kind: ListEvents never answers an empty list instead.
    let event_row = format!("case_id = '{}' AND case_seq = {}", case.id, filed.case_seq);
    let what = |column: &str| format!("events.{column} of event {} (case {})", filed.case_seq, case.id);
    let listed = events().await.expect("list events").into_inner().events;
    assert_eq!(listed.last(), Some(&filed));
    corrupt(&h, "events", "officers", r#"{"officers":[]}"#, &event_row).await;
    refused(events().await, Code::DataLoss, &what("officers"));
    corrupt(&h, "events", "officers", &officers, &event_row).await;
    corrupt(&h, "events", "evidence", "[{\"evidence_id\":", &event_row).await;
    refused(events().await, Code::DataLoss, &what("evidence"));
    corrupt(&h, "events", "evidence", "[]", &event_row).await;
    corrupt(&h, "events", "kind", "no_such_event", &event_row).await;
    refused(events().await, Code::DataLoss, &what("kind"));
    corrupt(&h, "events", "kind", "filing", &event_row).await;
    assert_eq!(events().await.expect("readable again").into_inner().events.last(), Some(&filed));
    h.running.stop().await.expect("stop");
}

async fn an_unreadable_checklist_or_rule_list_is_data_loss_not_empty(backend: Backend) {
    let h = Harness::start(backend).await;
    let w = h.world(1, "").await;
    // A fine of 200,000 yuan to an organisation is major under this catalog: reviewed.
    let catalog = "fine_organisation = { amount = 100000, inclusive = true }\n";
    let put = pb::PutCatalogRequest { agency_id: w.agency.id.clone(), catalog_toml: catalog.into() };
    h.admin.registry.clone().put_catalog(put).await.expect("put catalog");
    let reviewer_officer = h.officer(&w.agency.id, "法制员", true).await;
    let reviewer = h.principal(pb::Role::Reviewer, &w.agency.id, &reviewer_officer.id).await;
    let case = w.open_case(pb::CaseKind::Penalty).await;
    for kind in [pb::EventKind::Filing, pb::EventKind::NoticeOfProposedDecision, pb::EventKind::StatementWaived] {
        w.append(&case.id, kind, h.now()).await;
    }
    let submitted = w
        .officer
        .review
        .clone()
        .submit_draft(pb::SubmitDraftRequest {
            request_id: uuid::Uuid::now_v7().to_string(),
            case_id: case.id.clone(),
            legal_basis: "《中华人民共和国食品安全法》第一百二十四条".into(),
            facts: "当事人经营超过保质期的食品".into(),
            ordinary_procedure: true,
            penalties: vec![pb::PenaltyItem { r#type: "罚款".into(), amount_fen: 20_000_000 }],
            ..Default::default()
        })
        .await
        .expect("submit")
        .into_inner()
        .draft
        .expect("the answer carries the draft");
    assert!(submitted.major && !submitted.matched_rules.is_empty(), "{submitted:?}");
    let draft_row = format!("id = '{}'", submitted.id);
    let get = || {
        let (mut c, r) = (w.officer.review.clone(), pb::GetDraftRequest { draft_id: submitted.id.clone() });
        async move { c.get_draft(r).await }
    };
    let queue = || {
        let mut c = reviewer.review.clone();
        let r = pb::ListReviewQueueRequest { agency_id: w.agency.id.clone(), ..Default::default() };
        async move { c.list_review_queue(r).await }
    };
    for broken in ["[{\"rule\":", r#"[{"rule":"M1"}]"#, r#"{"rule":"M1","reason":"x"}"#] {
        corrupt(&h, "drafts", "matched_rules", broken, &draft_row).await;
        let what = format!("drafts.matched_rules of draft {}", submitted.id);
        refused(get().await, Code::DataLoss, &what);
        refused(queue().await, Code::DataLoss, &what);
    }
    let rules: Vec<serde_json::Value> =
        submitted.matched_rules.iter().map(|m| serde_json::json!({"reason": m.reason, "rule": m.rule})).collect();
    corrupt(&h, "drafts", "matched_rules", &serde_json::to_string(&rules).expect("json"), &draft_row).await;
    assert_eq!(
        get().await.expect("readable again").into_inner().draft.expect("the draft").matched_rules,
        submitted.matched_rules
    );

    let checklist: Vec<pb::CheckResult> =
        (1..=8).map(|item| pb::CheckResult { item, passed: true, comment: String::new() }).collect();
    let decide = pb::DecideReviewRequest {
        request_id: uuid::Uuid::now_v7().to_string(),
        draft_id: submitted.id.clone(),
        checklist,
        outcome: pb::ReviewOutcome::Approve as i32,
        opinion: "同意".into(),
    };
    let review = reviewer.review.clone().decide_review(decide.clone()).await.expect("review").into_inner();
    let review_row = format!("id = '{}'", review.id);
    // The retry answers from the stored review: its checklist must not come back empty.
    for broken in ["[{\"item\":", r#"[{"item":"no_such_item","passed":true,"comment":""}]"#, "{}"] {
        corrupt(&h, "reviews", "checklist", broken, &review_row).await;
        refused(
            reviewer.review.clone().decide_review(decide.clone()).await,
            Code::DataLoss,
            &format!("reviews.checklist of review {}", review.id),
        );
    }
    h.running.stop().await.expect("stop");
}

/// File modes at rest (local files, SQLite): the data directory 0700; the database, its WAL and
/// shared-memory files and the administrator token 0600; staged evidence 0600; a complete
/// evidence object read-only (0400).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_at_rest_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| {
        std::fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).permissions().mode() & 0o777
    };
    let root = tempfile::tempdir().expect("dir");
    let data = root.path().join("data");
    let h = Harness::start_with(Backend::Sqlite, std::sync::Arc::new(sanxiang_domain::SystemClock), |c| {
        c.data_dir = data.clone();
        c.database_url = None;
    })
    .await;
    let w = h.world(1, "").await;
    let case = w.open_case(pb::CaseKind::Penalty).await;
    let uploaded = w
        .upload(&case.id, "image/jpeg", bytes::Bytes::from_static(b"\xff\xd8 evidence at rest"), h.now())
        .await
        .expect("upload");
    let sha = uploaded.evidence.expect("evidence").sha256;

    assert_eq!(mode(&data), 0o700, "data directory");
    for name in ["sanxiang.db", "sanxiang.db-wal", "sanxiang.db-shm", "admin-token"] {
        assert_eq!(mode(&data.join(name)), 0o600, "{name}");
    }
    assert_eq!(mode(&data.join("objects")), 0o700, "evidence directory");
    let object = data.join("objects").join("sha256").join(&sha[..2]).join(&sha);
    assert_eq!(mode(&object), 0o400, "a complete evidence object is read-only");

    // A part staged for an upload in progress.
    h.running
        .vault
        .staging()
        .put_part("staged-mode-check", 0, 0, vec![bytes::Bytes::from_static(b"part")])
        .await
        .expect("stage");
    assert_eq!(mode(&data.join("objects").join("uploads").join("staged-mode-check.staging")), 0o600, "staging file");
    h.running.stop().await.expect("stop");

    // An existing database made before these rules is made private at the next start.
    std::fs::set_permissions(data.join("sanxiang.db"), std::fs::Permissions::from_mode(0o644)).expect("chmod");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let mut config = sanxiang_server::ServeConfig::embedded(data.clone());
    config.listen = "127.0.0.1:0".parse().expect("addr");
    config.http_listen = "127.0.0.1:0".parse().expect("addr");
    let again =
        sanxiang_server::start(&config, std::sync::Arc::new(sanxiang_domain::SystemClock)).await.expect("restart");
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("sanxiang.db")), 0o600);
    again.stop().await.expect("stop");
}

/// An upgrade must not stop every officer registered more than a review period ago: migration
/// m0014 deems the certificates of officers registered before it reviewed on the day it runs.
async fn officers_from_before_certificates_were_tracked_are_reviewed_on_the_upgrade_day(backend: Backend) {
    use sanxiang_migration::{Migrator, MigratorTrait};
    let dir = tempfile::tempdir().unwrap();
    let url = backend.database_url(dir.path()).await;
    let db = sea_orm::Database::connect(&url).await.unwrap();
    let names: Vec<String> = Migrator::migrations().iter().map(|m| m.name().to_owned()).collect();
    let before = names.iter().position(|n| n.contains("m0014_certificates")).expect("m0014 is a migration");
    Migrator::up(&db, Some(u32::try_from(before).unwrap())).await.unwrap();
    db.execute_unprepared(
        "INSERT INTO agencies (id, name, credit_code, region, powers, time_zone, recording_policy, \
         upload_window_hours, created_at) VALUES ('a1', '测试局', '12350100003672834A', '福建省', '[]', '', \
         '{\"additional_required_kinds\":[]}', 24, 0)",
    )
    .await
    .unwrap();
    db.execute_unprepared(
        "INSERT INTO officers (id, agency_id, name, certificate_number, category, valid_from, valid_until, \
         status, legal_qualification, created_at) VALUES ('o1', 'a1', '张三', 'C-1', '市场监管', '2015-01-01', \
         '2035-12-31', 'active', FALSE, 0)",
    )
    .await
    .unwrap();
    Migrator::up(&db, None).await.unwrap();
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT reviewed_on, certificate_kind FROM officers WHERE id = 'o1'",
        ))
        .await
        .unwrap()
        .expect("the officer is still there");
    let reviewed_on: String = row.try_get("", "reviewed_on").unwrap();
    let kind: String = row.try_get("", "certificate_kind").unwrap();
    // The database's own UTC date of the migration; a run across midnight may see the day before.
    let now = sanxiang_domain::TimeProvider::now(&sanxiang_domain::SystemClock).to_datetime().date_naive();
    let today = now.to_string();
    let yesterday = (now - chrono::Days::new(1)).to_string();
    assert!(reviewed_on == today || reviewed_on == yesterday, "reviewed_on {reviewed_on:?}, today {today}");
    assert_eq!(kind, "enforcement");
}
