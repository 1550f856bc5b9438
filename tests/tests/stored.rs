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
    assert_eq!(events.expect("get case").into_inner().event_count, 1, "nothing was appended");
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
        document_prefix: String::new(),
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
