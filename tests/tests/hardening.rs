//! Defects found by outside testing (issue 11), each over the real API on every database
//! backend: idempotency conflicts, completed uploads, suspended officers, refusal attribution and
//! implausible times, duplicate officers, the 90-day limit, bounds, and the public HTTP surface.

use sanxiang_proto::v1 as pb;
use sanxiang_tests::{Backend, Client, Harness, backend_tests, credit_code, http, pseudo_random, refused, ts, upload};
use std::sync::Arc;

use sanxiang_domain::{TestClock, Timestamp};
use sanxiang_store::entity::refusal;
use sea_orm::EntityTrait;
use tonic::Code;

backend_tests!(
    every_idempotent_write_refuses_another_request_under_its_request_id,
    a_completed_upload_id_with_other_content_is_refused,
    a_principal_whose_officer_may_not_act_may_do_nothing,
    refusals_record_the_caller_and_implausible_times_are_invalid_before_any_rule,
    issue_decision_checks_its_officers_as_append_event_does,
    get_case_and_supervision_agree_on_the_last_day_of_the_decision_limit,
    csv_exports_neutralise_formulas_and_other_outputs_stay_exact,
    http_errors_are_json_and_every_response_has_security_headers,
    undecodable_requests_are_invalid_and_oversize_ones_exhaust,
    anonymous_watchers_are_capped_per_address_and_in_total,
    oversized_fields_and_malformed_ids_are_refused_naming_the_field_and_limit,
    writes_are_rate_limited_per_principal_and_reads_are_not,
    a_call_past_the_request_timeout_is_deadline_exceeded_and_writes_nothing,
);

/// A catalog under which every ordinary-procedure penalty is a major decision (RULES L2).
const ALL_MAJOR: &str = "agency_example = \"宁夏\"\nall_ordinary_procedure_penalties = true\n";

async fn put_catalog(h: &Harness, agency: &str, toml: &str) {
    h.admin
        .registry
        .clone()
        .put_catalog(pb::PutCatalogRequest { agency_id: agency.into(), catalog_toml: toml.into() })
        .await
        .expect("put catalog");
}

/// A reviewer principal bound to a new, legally qualified officer of `agency`.
async fn reviewer(h: &Harness, agency: &str) -> Client {
    let o = h.officer(agency, "法制员", true).await;
    h.principal(pb::Role::Reviewer, agency, &o.id).await
}

fn approval(draft_id: &str, request_id: &str, opinion: &str) -> pb::DecideReviewRequest {
    pb::DecideReviewRequest {
        request_id: request_id.into(),
        draft_id: draft_id.into(),
        checklist: (1..=8).map(|i| pb::CheckResult { item: i, passed: true, comment: String::new() }).collect(),
        outcome: pb::ReviewOutcome::Approve as i32,
        opinion: opinion.into(),
    }
}

async fn every_idempotent_write_refuses_another_request_under_its_request_id(backend: Backend) {
    let h = Harness::start(backend).await;
    let mut reg = h.admin.registry.clone();

    // Registry writes.
    let agency = pb::CreateAgencyRequest {
        request_id: "agency-1".into(),
        name: "测试执法局".into(),
        credit_code: credit_code(1),
        region: "福建省福州市".into(),
        ..Default::default()
    };
    let a =
        reg.create_agency(agency.clone()).await.unwrap().into_inner().agency.expect("the answer carries the agency");
    assert_eq!(
        reg.create_agency(agency.clone()).await.unwrap().into_inner().agency.expect("the answer carries the agency").id,
        a.id,
        "a retry"
    );
    refused(
        reg.create_agency(pb::CreateAgencyRequest { name: "另一执法局".into(), ..agency }).await,
        Code::FailedPrecondition,
        "idempotency",
    );
    let officer = pb::RegisterOfficerRequest {
        request_id: "officer-1".into(),
        agency_id: a.id.clone(),
        name: "张三".into(),
        certificate_number: "CERT-IDEM-1".into(),
        category: "综合".into(),
        valid_from: "2020-01-01".into(),
        valid_until: "2035-12-31".into(),
        legal_qualification: false,
        has_prior_review_experience: false,
        ..Default::default()
    };
    let o = reg
        .register_officer(officer.clone())
        .await
        .unwrap()
        .into_inner()
        .officer
        .expect("the answer carries the officer");
    assert_eq!(
        reg.register_officer(officer.clone())
            .await
            .unwrap()
            .into_inner()
            .officer
            .expect("the answer carries the officer")
            .id,
        o.id
    );
    refused(
        reg.register_officer(pb::RegisterOfficerRequest { name: "王五".into(), ..officer }).await,
        Code::FailedPrecondition,
        "idempotency",
    );
    let principal = pb::CreatePrincipalRequest {
        request_id: "principal-1".into(),
        name: "执法终端".into(),
        role: pb::Role::Officer as i32,
        agency_id: a.id.clone(),
        officer_id: o.id.clone(),
    };
    let p = reg
        .create_principal(principal.clone())
        .await
        .unwrap()
        .into_inner()
        .principal
        .expect("the answer carries the principal");
    assert_eq!(
        reg.create_principal(principal.clone())
            .await
            .unwrap()
            .into_inner()
            .principal
            .expect("the answer carries the principal")
            .id,
        p.id
    );
    refused(
        reg.create_principal(pb::CreatePrincipalRequest {
            role: pb::Role::Head as i32,
            officer_id: String::new(),
            ..principal
        })
        .await,
        Code::FailedPrecondition,
        "idempotency",
    );

    // OpenCase: the same request id with another title is refused and opens nothing.
    let w = h.world(2, "").await;
    put_catalog(&h, &w.agency.id, ALL_MAJOR).await;
    let mut record = w.officer.record.clone();
    let open = pb::OpenCaseRequest {
        request_id: "open-1".into(),
        agency_id: w.agency.id.clone(),
        kind: pb::CaseKind::Penalty as i32,
        title: "未按规定公示年度报告案".into(),
        party: Some(pb::Party {
            r#type: pb::PartyType::LegalPerson as i32,
            name: "福州某某贸易有限公司".into(),
            credit_code: credit_code(999),
            ..Default::default()
        }),
        handling_officer_ids: w.both(),
        opened_at: None,
    };
    let case = record.open_case(open.clone()).await.unwrap().into_inner().case.expect("the answer carries the case");
    assert_eq!(
        record.open_case(open.clone()).await.unwrap().into_inner().case.expect("the answer carries the case").id,
        case.id
    );
    refused(
        record.open_case(pb::OpenCaseRequest { title: "另一案件".into(), ..open }).await,
        Code::FailedPrecondition,
        "idempotency",
    );
    let listed = record
        .list_cases(pb::ListCasesRequest { agency_id: w.agency.id.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .cases;
    assert_eq!(listed.len(), 1, "the refused opening opened nothing");
    let now = h.now();
    for k in [pb::EventKind::Filing, pb::EventKind::NoticeOfProposedDecision, pb::EventKind::StatementWaived] {
        w.append(&case.id, k, now).await;
    }

    // SubmitDraft.
    let mut review = w.officer.review.clone();
    let draft = pb::SubmitDraftRequest {
        request_id: "draft-1".into(),
        case_id: case.id.clone(),
        legal_basis: "《中华人民共和国行政处罚法》".into(),
        facts: "当事人未按规定公示年度报告".into(),
        ordinary_procedure: true,
        penalties: vec![pb::PenaltyItem { r#type: "警告".into(), amount_fen: 0 }],
        ..Default::default()
    };
    let d = review.submit_draft(draft.clone()).await.unwrap().into_inner().draft.expect("the answer carries the draft");
    assert!(d.major, "the catalog makes the draft major");
    assert_eq!(
        review.submit_draft(draft.clone()).await.unwrap().into_inner().draft.expect("the answer carries the draft").id,
        d.id
    );
    let before = w.events(&case.id).await.len();
    refused(
        review.submit_draft(pb::SubmitDraftRequest { facts: "另一事实".into(), ..draft }).await,
        Code::FailedPrecondition,
        "idempotency",
    );
    assert_eq!(w.events(&case.id).await.len(), before);

    // DecideReview.
    let mut rev = reviewer(&h, &w.agency.id).await.review;
    let first = rev.decide_review(approval(&d.id, "review-1", "同意")).await.unwrap().into_inner();
    assert_eq!(rev.decide_review(approval(&d.id, "review-1", "同意")).await.unwrap().into_inner().id, first.id);
    refused(
        rev.decide_review(approval(&d.id, "review-1", "同意，另附意见")).await,
        Code::FailedPrecondition,
        "idempotency",
    );

    // RecordCollectiveDiscussion: a retry without a time is the same request, not a new time.
    let mut head = w.head.review.clone();
    let discussion = pb::RecordCollectiveDiscussionRequest {
        request_id: "discussion-1".into(),
        draft_id: d.id.clone(),
        minutes: "局长办公会：同意".into(),
        occurred_at: None,
    };
    let e = head
        .record_collective_discussion(discussion.clone())
        .await
        .unwrap()
        .into_inner()
        .event
        .expect("the answer carries the event");
    assert_eq!(
        head.record_collective_discussion(discussion.clone())
            .await
            .unwrap()
            .into_inner()
            .event
            .expect("the answer carries the event")
            .case_seq,
        e.case_seq
    );
    refused(
        head.record_collective_discussion(pb::RecordCollectiveDiscussionRequest {
            minutes: "局长办公会：不同意".into(),
            ..discussion
        })
        .await,
        Code::FailedPrecondition,
        "idempotency",
    );

    // IssueDecision: the same request id naming the officers in another order is another request.
    let issue = pb::IssueDecisionRequest {
        request_id: "decision-1".into(),
        draft_id: d.id.clone(),
        officer_ids: w.both(),
        ..Default::default()
    };
    let issued = head.issue_decision(issue.clone()).await.unwrap().into_inner();
    assert_eq!(head.issue_decision(issue.clone()).await.unwrap().into_inner().document_number, issued.document_number);
    let mut reversed = w.both();
    reversed.reverse();
    refused(
        head.issue_decision(pb::IssueDecisionRequest { officer_ids: reversed, ..issue }).await,
        Code::FailedPrecondition,
        "idempotency",
    );

    // ReviseDecision.
    let revise = pb::ReviseDecisionRequest {
        request_id: "revise-1".into(),
        case_id: case.id.clone(),
        revision: pb::Revision::Change as i32,
        reason: "复议决定变更".into(),
        basis: String::new(),
        occurred_at: None,
    };
    let revised =
        head.revise_decision(revise.clone()).await.unwrap().into_inner().event.expect("the answer carries the event");
    assert_eq!(
        head.revise_decision(revise.clone())
            .await
            .unwrap()
            .into_inner()
            .event
            .expect("the answer carries the event")
            .case_seq,
        revised.case_seq
    );
    let before = w.events(&case.id).await.len();
    refused(
        head.revise_decision(pb::ReviseDecisionRequest { reason: "复议决定撤销".into(), ..revise }).await,
        Code::FailedPrecondition,
        "idempotency",
    );
    assert_eq!(w.events(&case.id).await.len(), before, "nothing is written on refusal");

    // PutNotice.
    let mut publicity = w.head.publicity.clone();
    let notice = pb::PutNoticeRequest {
        request_id: "notice-1".into(),
        agency_id: w.agency.id.clone(),
        section: pb::NoticeSection::Body as i32,
        title: "执法主体".into(),
        body: "正文".into(),
        items: vec![],
    };
    let n =
        publicity.put_notice(notice.clone()).await.unwrap().into_inner().notice.expect("the answer carries the notice");
    assert_eq!(
        publicity
            .put_notice(notice.clone())
            .await
            .unwrap()
            .into_inner()
            .notice
            .expect("the answer carries the notice")
            .version,
        n.version
    );
    refused(
        publicity.put_notice(pb::PutNoticeRequest { body: "另一正文".into(), ..notice }).await,
        Code::FailedPrecondition,
        "idempotency",
    );
    h.running.stop().await.unwrap();
}

async fn a_completed_upload_id_with_other_content_is_refused(backend: Backend) {
    let h = Harness::start(backend).await;
    let w = h.world(1, "").await;
    let case = w.open_case(pb::CaseKind::Penalty).await;
    let now = h.now();
    let header = w.header(&case.id, "video/mp4", now);
    let first = pseudo_random(1, 300_000);
    let done = upload(&w.officer, header.clone(), first.clone()).await.unwrap().evidence.unwrap();

    // The same upload again answers with its evidence.
    let again = upload(&w.officer, header.clone(), first.clone()).await.unwrap();
    assert_eq!(again.evidence.unwrap().id, done.id);

    // Other content, or the same content under another header, is not that upload.
    let before = w.events(&case.id).await.len();
    refused(
        upload(&w.officer, header.clone(), pseudo_random(2, 300_000)).await,
        Code::FailedPrecondition,
        "upload.completed",
    );
    refused(
        upload(&w.officer, header.clone(), first.slice(..1000)).await,
        Code::FailedPrecondition,
        "upload.completed",
    );
    let mut longer = first.to_vec();
    longer.push(0);
    refused(upload(&w.officer, header.clone(), longer.into()).await, Code::FailedPrecondition, "upload.completed");
    refused(
        upload(&w.officer, pb::UploadHeader { media_type: "image/jpeg".into(), ..header.clone() }, first.clone()).await,
        Code::FailedPrecondition,
        "upload.completed",
    );
    refused(
        upload(&w.officer, pb::UploadHeader { sha256: "0".repeat(64), ..header.clone() }, first.clone()).await,
        Code::FailedPrecondition,
        "upload.completed",
    );
    assert_eq!(w.events(&case.id).await.len(), before, "nothing is recorded on refusal");
    h.running.stop().await.unwrap();
}

async fn set_status(h: &Harness, officer: &str, status: pb::OfficerStatus, at: sanxiang_domain::Timestamp) {
    h.admin
        .registry
        .clone()
        .set_officer_status(pb::SetOfficerStatusRequest {
            officer_id: officer.into(),
            status: status as i32,
            reason: "停职审查".into(),
            effective_at: Some(ts(at)),
        })
        .await
        .expect("set officer status");
}

async fn a_principal_whose_officer_may_not_act_may_do_nothing(backend: Backend) {
    let h = Harness::start(backend).await;
    let w = h.world(1, "").await;
    let third = h.officer(&w.agency.id, "王五", false).await;
    let case = w.open_case(pb::CaseKind::Penalty).await;
    let now = h.now();
    let evidence = w.upload(&case.id, "video/mp4", pseudo_random(3, 1000), now).await.unwrap().evidence.unwrap();

    // The officer of the principal is suspended since an hour ago.
    set_status(&h, &w.officers[0].id, pb::OfficerStatus::Suspended, now.plus_seconds(-3600)).await;
    let mut record = w.officer.record.clone();
    let others = vec![w.officers[1].id.clone(), third.id.clone()];
    let rule = "G2.officer-able";
    refused(
        record
            .open_case(pb::OpenCaseRequest {
                request_id: "open-suspended".into(),
                agency_id: w.agency.id.clone(),
                kind: pb::CaseKind::Penalty as i32,
                title: "另一案件".into(),
                party: Some(pb::Party {
                    r#type: pb::PartyType::LegalPerson as i32,
                    name: "福州某某贸易有限公司".into(),
                    credit_code: credit_code(999),
                    ..Default::default()
                }),
                handling_officer_ids: others.clone(),
                opened_at: None,
            })
            .await,
        Code::PermissionDenied,
        rule,
    );
    let mut append = w.event(&case.id, pb::EventKind::Filing, h.now());
    append.officer_ids = others.clone();
    refused(record.append_event(append.clone()).await, Code::PermissionDenied, rule);
    let header = pb::UploadHeader { officer_id: w.officers[1].id.clone(), ..w.header(&case.id, "video/mp4", now) };
    refused(upload(&w.officer, header, pseudo_random(4, 1000)).await, Code::PermissionDenied, rule);
    refused(
        record
            .download_evidence(pb::DownloadEvidenceRequest {
                evidence_id: evidence.id.clone(), reason: "复核".into()
            })
            .await,
        Code::PermissionDenied,
        rule,
    );
    refused(record.get_case(pb::GetCaseRequest { case_id: case.id.clone() }).await, Code::PermissionDenied, rule);
    let draft = pb::SubmitDraftRequest {
        request_id: "draft-suspended".into(),
        case_id: case.id.clone(),
        legal_basis: "《中华人民共和国行政处罚法》".into(),
        facts: "事实".into(),
        penalties: vec![pb::PenaltyItem { r#type: "警告".into(), amount_fen: 0 }],
        ..Default::default()
    };
    refused(w.officer.review.clone().submit_draft(draft).await, Code::PermissionDenied, rule);
    // It may still learn who it is, and so why it is refused.
    let me = w
        .officer
        .registry
        .clone()
        .who_am_i(pb::WhoAmIRequest {})
        .await
        .unwrap()
        .into_inner()
        .principal
        .expect("the answer carries the principal");
    assert_eq!(me.officer_id, w.officers[0].id);

    // Active again: the same principal acts again.
    set_status(&h, &w.officers[0].id, pb::OfficerStatus::Active, h.now()).await;
    record.append_event(append).await.expect("an active officer's principal acts");

    // A certificate that has expired stops its principal too.
    let expired = h.officer_valid(&w.agency.id, "赵六", "2010-01-01", "2015-12-31", false).await;
    let device = h.principal(pb::Role::Officer, &w.agency.id, &expired.id).await;
    refused(
        device.record.clone().get_case(pb::GetCaseRequest { case_id: case.id.clone() }).await,
        Code::PermissionDenied,
        rule,
    );
    h.running.stop().await.unwrap();
}

async fn refusals(h: &Harness) -> Vec<refusal::Model> {
    refusal::Entity::find().all(&h.running.db).await.expect("read refusals")
}

async fn refusals_record_the_caller_and_implausible_times_are_invalid_before_any_rule(backend: Backend) {
    let h = Harness::start(backend).await;
    let w = h.world(1, "").await;
    let case = w.open_case(pb::CaseKind::Inspection).await;
    let me = w
        .officer
        .registry
        .clone()
        .who_am_i(pb::WhoAmIRequest {})
        .await
        .unwrap()
        .into_inner()
        .principal
        .expect("the answer carries the principal");
    let mut record = w.officer.record.clone();

    // Implausible times are malformed requests: no rule is judged, no refusal is counted.
    let far = [
        Timestamp::parse_rfc3339("0001-01-01T00:00:00Z").unwrap(),
        Timestamp::parse_rfc3339("9999-12-31T23:59:59Z").unwrap(),
        h.now().plus_seconds(-(3 * 365 * 86_400)),
        h.now().plus_seconds(3600),
    ];
    for at in far {
        refused(
            record.append_event(w.event(&case.id, pb::EventKind::Inspection, at)).await,
            Code::InvalidArgument,
            "occurred_at",
        );
        refused(
            upload(&w.officer, w.header(&case.id, "image/jpeg", at), pseudo_random(5, 100)).await,
            Code::InvalidArgument,
            "captured_at",
        );
        refused(
            record
                .open_case(pb::OpenCaseRequest {
                    request_id: format!("open-{}", at.micros()),
                    agency_id: w.agency.id.clone(),
                    kind: pb::CaseKind::Inspection as i32,
                    title: "案件".into(),
                    party: Some(pb::Party {
                        r#type: pb::PartyType::LegalPerson as i32,
                        name: "福州某某贸易有限公司".into(),
                        credit_code: credit_code(999),
                        ..Default::default()
                    }),
                    handling_officer_ids: w.both(),
                    opened_at: Some(ts(at)),
                })
                .await,
            Code::InvalidArgument,
            "opened_at",
        );
    }
    assert!(refusals(&h).await.is_empty(), "no refusal is counted for a malformed request");

    // A real refusal (an officer suspended at the time of the act) records who asked.
    set_status(&h, &w.officers[1].id, pb::OfficerStatus::Suspended, h.now().plus_seconds(-3600)).await;
    refused(
        record.append_event(w.event(&case.id, pb::EventKind::Inspection, h.now())).await,
        Code::FailedPrecondition,
        "G3.certificate-valid",
    );
    let rows = refusals(&h).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].subject_id, w.officers[1].id);
    assert_eq!(rows[0].actor_id.as_deref(), Some(me.id.as_str()));
    h.running.stop().await.unwrap();
}

async fn issue_decision_checks_its_officers_as_append_event_does(backend: Backend) {
    let h = Harness::start(backend).await;
    let w = h.world(1, "").await;
    let other = h.world(2, "").await;
    let case = w.open_case(pb::CaseKind::Penalty).await;
    let now = h.now();
    for k in [pb::EventKind::Filing, pb::EventKind::NoticeOfProposedDecision, pb::EventKind::StatementWaived] {
        w.append(&case.id, k, now).await;
    }
    let draft = w.submit_draft(&case.id, false).await;
    let issue = |officer_ids: Vec<String>| pb::IssueDecisionRequest {
        request_id: uuid::Uuid::now_v7().to_string(),
        draft_id: draft.id.clone(),
        officer_ids,
        ..Default::default()
    };
    let mut head = w.head.review.clone();
    let o1 = w.officers[0].id.clone();
    // The same answers as AppendEvent gives for the same list.
    refused(head.issue_decision(issue(vec![o1.clone(), o1.clone()])).await, Code::InvalidArgument, "officer_ids[1]");
    let mut twice = w.event(&case.id, pb::EventKind::Inspection, now);
    twice.officer_ids = vec![o1.clone(), o1.clone()];
    refused(w.officer.record.clone().append_event(twice).await, Code::InvalidArgument, "officer_ids[1]");
    refused(
        head.issue_decision(issue(vec![o1.clone(), other.officers[0].id.clone()])).await,
        Code::InvalidArgument,
        "officer_ids[1]",
    );
    set_status(&h, &w.officers[1].id, pb::OfficerStatus::Revoked, now.plus_seconds(-60)).await;
    refused(head.issue_decision(issue(w.both())).await, Code::FailedPrecondition, "G3.certificate-valid");
    let rows = refusals(&h).await;
    assert_eq!(rows.len(), 1, "the refused decision is counted once");
    assert!(rows[0].actor_id.is_some());
    let issued = head.issue_decision(issue(vec![o1])).await.expect("a decision by a valid officer");
    assert!(!issued.into_inner().document_number.is_empty());
    h.running.stop().await.unwrap();
}

async fn get_case_and_supervision_agree_on_the_last_day_of_the_decision_limit(backend: Backend) {
    let at = |s: &str| Timestamp::parse_rfc3339(s).unwrap();
    // Filed at 23:30 on 10 January, Shanghai time: the limit ends with 10 April, local time.
    let clock = Arc::new(TestClock::new(at("2026-01-10T15:30:00Z")));
    let h = Harness::start_with(backend, clock.clone(), |_| {}).await;
    let w = h.world(1, "").await;
    let supervisor = h.principal(pb::Role::Supervisor, &w.agency.id, "").await;
    let case = w.open_case(pb::CaseKind::Penalty).await;
    w.append(&case.id, pb::EventKind::Filing, h.now()).await;
    let views = || async {
        let case = w
            .officer
            .record
            .clone()
            .get_case(pb::GetCaseRequest { case_id: case.id.clone() })
            .await
            .unwrap()
            .into_inner()
            .case
            .unwrap();
        let items = supervisor
            .publicity
            .clone()
            .list_overdue(pb::ListOverdueRequest { agency_id: w.agency.id.clone() })
            .await
            .unwrap()
            .into_inner()
            .items;
        let listed = items.iter().find(|i| i.kind == pb::OverdueKind::Decision as i32 && i.case_id == case.id);
        (case.decision_overdue, listed.map(|i| i.due_date.clone()))
    };
    // 90 × 24 hours after filing, but still 10 April in Shanghai: in time for both.
    clock.set(at("2026-04-10T15:30:01Z"));
    assert_eq!(views().await, (false, None));
    // The last second of 10 April, local time.
    clock.set(at("2026-04-10T15:59:59Z"));
    assert_eq!(views().await, (false, None));
    // 11 April, local time: late for both, due on the same day.
    clock.set(at("2026-04-10T16:00:00Z"));
    assert_eq!(views().await, (true, Some("2026-04-10".to_owned())));
    h.running.stop().await.unwrap();
}

async fn csv_exports_neutralise_formulas_and_other_outputs_stay_exact(backend: Backend) {
    let h = Harness::start(backend).await;
    let w = h.world(1, "").await;
    let company = "=HYPERLINK(\"http://example.invalid/x\",\"点击查看\")";
    let violation = "=cmd|' /C calc'!A0";
    let content = "+SUM(1,1)";
    let basis = "@SUM(1,1)";
    let case = w
        .officer
        .record
        .clone()
        .open_case(pb::OpenCaseRequest {
            request_id: "open-formula".into(),
            agency_id: w.agency.id.clone(),
            kind: pb::CaseKind::Penalty as i32,
            title: "公式注入测试案".into(),
            party: Some(pb::Party {
                r#type: pb::PartyType::LegalPerson as i32,
                name: company.into(),
                credit_code: credit_code(998),
                ..Default::default()
            }),
            handling_officer_ids: w.both(),
            opened_at: None,
        })
        .await
        .unwrap()
        .into_inner()
        .case
        .expect("the answer carries the case");
    let now = h.now();
    for k in [pb::EventKind::Filing, pb::EventKind::NoticeOfProposedDecision, pb::EventKind::StatementWaived] {
        w.append(&case.id, k, now).await;
    }
    let d = w
        .officer
        .review
        .clone()
        .submit_draft(pb::SubmitDraftRequest {
            request_id: "draft-formula".into(),
            case_id: case.id.clone(),
            penalties: vec![pb::PenaltyItem { r#type: "罚款".into(), amount_fen: 500_000 }],
            legal_basis: basis.into(),
            facts: "当事人销售超过保质期的食品".into(),
            violation_type: violation.into(),
            decision_content: content.into(),
            ordinary_procedure: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .draft
        .expect("the answer carries the draft");
    w.issue(&d.id).await.unwrap();
    // `@` is what an e-mail address leaves behind: the last check before automatic publication
    // holds the decision (fail closed) until a publisher confirms it.
    let held = w
        .publisher
        .publicity
        .clone()
        .get_disclosure(pb::GetDisclosureRequest { disclosure_id: case.id.clone() })
        .await
        .unwrap()
        .into_inner()
        .disclosure
        .expect("the answer carries the disclosure");
    assert_eq!(held.status, pb::DisclosureStatus::Held as i32);
    w.publisher
        .publicity
        .clone()
        .publish_disclosure(pb::PublishDisclosureRequest {
            request_id: "confirm-formula".into(),
            disclosure_id: case.id.clone(),
        })
        .await
        .unwrap();

    let csv = reqwest::get(http(&h, "/v1/export/cf.csv")).await.unwrap().text().await.unwrap();
    let row = csv.lines().nth(1).expect("one row");
    let cells: Vec<&str> = row.split(',').collect();
    for bad in ['=', '+', '-', '@', '\t', '\r'] {
        assert!(!cells.iter().any(|c| c.starts_with(bad)), "a cell starts with {bad:?}: {row}");
    }
    for value in [violation, content, basis] {
        assert!(row.contains(&format!("\"'{value}\"")), "{value} is not neutralised in {row}");
    }
    assert!(row.contains("\"'=HYPERLINK(\"\"http://example.invalid/x\"\""), "{row}");

    // JSON, Atom and HTML keep the values exactly.
    let json: serde_json::Value = serde_json::from_str(
        &reqwest::get(http(&h, &format!("/v1/disclosures/{}", case.id))).await.unwrap().text().await.unwrap(),
    )
    .unwrap();
    fn holds(v: &serde_json::Value, s: &str) -> bool {
        match v {
            serde_json::Value::String(x) => x == s,
            serde_json::Value::Array(a) => a.iter().any(|v| holds(v, s)),
            serde_json::Value::Object(o) => o.values().any(|v| holds(v, s)),
            _ => false,
        }
    }
    for value in [company, violation, content, basis] {
        assert!(holds(&json, value), "JSON does not hold {value} exactly: {json}");
    }
    let atom = reqwest::get(http(&h, "/feed.atom")).await.unwrap().text().await.unwrap();
    assert!(atom.contains(violation.replace('\'', "&apos;").as_str()) || atom.contains(violation), "{atom}");
    assert!(!atom.contains(&format!("'{violation}")));
    h.running.stop().await.unwrap();
}

async fn http_errors_are_json_and_every_response_has_security_headers(backend: Backend) {
    let h = Harness::start_with(backend, Arc::new(sanxiang_domain::SystemClock), |c| {
        c.http_rate_burst = 18;
        c.http_rate_per_second = 1;
    })
    .await;
    let client = reqwest::Client::new();
    let check = |r: &reqwest::Response| {
        let h = r.headers();
        let csp = h.get("content-security-policy").expect("CSP").to_str().unwrap().to_owned();
        assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(h.get("x-content-type-options").unwrap(), "nosniff");
        assert_eq!(h.get("x-frame-options").unwrap(), "DENY");
        assert_eq!(h.get("referrer-policy").unwrap(), "no-referrer");
    };
    for path in ["/", "/v1/disclosures", "/feed.atom", "/v1/export/cf.csv"] {
        let r = client.get(http(&h, path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        check(&r);
    }
    // Errors, those of handlers and those made before a handler runs: JSON naming what is wrong.
    for (path, status, what) in [
        ("/v1/disclosures?limit=abc", 400, "limit"),
        ("/v1/disclosures?limit=-1", 400, "limit"),
        ("/v1/disclosures?cursor=l-1", 400, "cursor"),
        ("/v1/disclosures?cursor=l0", 400, "cursor"),
        ("/v1/disclosures?cursor=l%2B5", 400, "cursor"),
        ("/v1/disclosures/nope", 404, "disclosure"),
        ("/v1/annual/x/notayear", 400, "year"),
        ("/no/such/page", 404, "page"),
        // An agency filter or path that is not an id never reaches the database.
        ("/v1/disclosures?agency=a%00b", 400, "agency"),
        ("/v1/export/cf.csv?agency=a%20b", 400, "agency"),
        ("/feed.atom?agency=%E2%80%AE", 400, "agency"),
        ("/v1/notices/a%00b", 400, "agency"),
        ("/v1/disclosures/a%00b", 400, "disclosure_id"),
    ] {
        let r = client.get(http(&h, path)).send().await.unwrap();
        assert_eq!(r.status(), status, "{path}");
        check(&r);
        assert_eq!(r.headers()["content-type"], "application/json", "{path}");
        let body: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
        assert!(body["error"].as_str().is_some_and(|e| e.contains(what)), "{path}: {body}");
    }
    // Past the rate limit: 429 with Retry-After, as JSON too.
    let mut limited = None;
    for _ in 0..40 {
        let r = client.get(http(&h, "/v1/disclosures")).send().await.unwrap();
        if r.status() == 429 {
            limited = Some(r);
            break;
        }
    }
    let r = limited.expect("the rate limit answers 429");
    check(&r);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(r.headers()["content-type"], "application/json");
    let body: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert!(body["error"].as_str().is_some_and(|e| e.contains("too many requests")), "{body}");
    h.running.stop().await.unwrap();
}

/// A codec that sends and receives raw bytes, so a test can put anything on the wire.
#[derive(Debug, Clone, Default)]
struct Raw;

#[derive(Debug)]
struct RawCoder;

impl tonic::codec::Codec for Raw {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCoder;
    type Decoder = RawCoder;

    fn encoder(&mut self) -> RawCoder {
        RawCoder
    }

    fn decoder(&mut self) -> RawCoder {
        RawCoder
    }
}

impl tonic::codec::Encoder for RawCoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn encode(&mut self, item: Vec<u8>, buf: &mut tonic::codec::EncodeBuf<'_>) -> Result<(), tonic::Status> {
        bytes::BufMut::put_slice(buf, &item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawCoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn decode(&mut self, buf: &mut tonic::codec::DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        let n = bytes::Buf::remaining(buf);
        Ok(Some(bytes::Buf::copy_to_bytes(buf, n).to_vec()))
    }
}

/// Sends `body` as the request message of `path` with `token`, over the test's real socket.
async fn raw_call(h: &Harness, token: &str, path: &'static str, body: Vec<u8>) -> Result<Vec<u8>, tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(h.channel.clone());
    grpc.ready().await.expect("ready");
    let mut req = tonic::Request::new(body);
    req.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    grpc.unary(req, tonic::codegen::http::uri::PathAndQuery::from_static(path), Raw)
        .await
        .map(tonic::Response::into_inner)
}

/// Field `field` of wire type 2 (a string or bytes) holding `value`.
fn length_delimited(field: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![(field << 3) | 2];
    let mut n = value.len();
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    out.extend_from_slice(value);
    out
}

async fn undecodable_requests_are_invalid_and_oversize_ones_exhaust(backend: Backend) {
    let h = Harness::start(backend).await;
    let admin = h.running.admin_token.clone().unwrap();
    let create = "/sanxiang.v1.RegistryService/CreateAgency";
    // A well-formed request over the raw codec works, so the refusals below are about the bytes.
    let mut ok = length_delimited(2, "测试执法局".as_bytes());
    ok.extend(length_delimited(3, credit_code(1).as_bytes()));
    ok.extend(length_delimited(4, "福建省福州市".as_bytes()));
    raw_call(&h, &admin, create, ok).await.expect("a valid request");
    // Not protobuf: a length that runs past the end.
    refused(raw_call(&h, &admin, create, vec![0x12, 0xff]).await, Code::InvalidArgument, "malformed message");
    // A string that is not UTF-8.
    refused(
        raw_call(&h, &admin, create, length_delimited(2, &[0xff, 0xfe, 0x41])).await,
        Code::InvalidArgument,
        "malformed",
    );
    // Larger than the server accepts: the gRPC convention is RESOURCE_EXHAUSTED.
    let big = length_delimited(2, &vec![b'a'; 5 << 20]);
    let r = raw_call(&h, &admin, create, big).await;
    assert_eq!(r.unwrap_err().code(), Code::ResourceExhausted);
    assert_eq!(
        h.admin.registry.clone().list_agencies(pb::ListAgenciesRequest {}).await.unwrap().into_inner().agencies.len(),
        1
    );

    // In a stream too: an upload whose chunk is larger than a message may be.
    let w = h.world(2, "").await;
    let case = w.open_case(pb::CaseKind::Penalty).await;
    use pb::upload_evidence_request::Part;
    let messages = vec![
        pb::UploadEvidenceRequest { part: Some(Part::Header(w.header(&case.id, "video/mp4", h.now()))) },
        pb::UploadEvidenceRequest { part: Some(Part::Chunk(pseudo_random(6, 5 << 20))) },
    ];
    let r = w.officer.record.clone().upload_evidence(futures::stream::iter(messages)).await;
    assert_eq!(r.unwrap_err().code(), Code::ResourceExhausted);
    h.running.stop().await.unwrap();
}

async fn anonymous_watchers_are_capped_per_address_and_in_total(backend: Backend) {
    let h = Harness::start_with(backend, Arc::new(sanxiang_domain::SystemClock), |c| {
        c.watch_per_address = 2;
        c.watch_total = 3;
    })
    .await;
    let watch = || async {
        h.client(None)
            .publicity
            .watch_disclosures(pb::WatchDisclosuresRequest::default())
            .await
            .map(tonic::Response::into_inner)
    };
    let first = watch().await.expect("first watcher");
    let second = watch().await.expect("second watcher");
    // Every test client is 127.0.0.1: the third is one too many for the address.
    let refused_one = watch().await.unwrap_err();
    assert_eq!(refused_one.code(), Code::ResourceExhausted);
    assert!(
        refused_one.message().contains("this address") && refused_one.message().contains("retry"),
        "{refused_one:?}"
    );
    assert_eq!(refused_one.metadata().get("grpc-retry-pushback-ms").unwrap(), "30000");
    // Staff watch with a token and are not counted.
    let staff = h.admin.publicity.clone().watch_disclosures(pb::WatchDisclosuresRequest::default()).await;
    let staff = staff.expect("a staff watcher");
    // A closed stream frees its place.
    drop(first);
    let mut again = None;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        if let Ok(s) = watch().await {
            again = Some(s);
            break;
        }
    }
    let again = again.expect("the place of a closed watcher is free again");
    // Graceful shutdown waits for open streams: close them first.
    drop((again, second, staff));
    h.running.stop().await.unwrap();
}

async fn oversized_fields_and_malformed_ids_are_refused_naming_the_field_and_limit(backend: Backend) {
    let h = Harness::start(backend).await;
    let w = h.world(1, "").await;
    let mut record = w.officer.record.clone();
    let open = |title: String, party_name: String| pb::OpenCaseRequest {
        request_id: uuid::Uuid::now_v7().to_string(),
        agency_id: w.agency.id.clone(),
        kind: pb::CaseKind::Penalty as i32,
        title,
        party: Some(pb::Party {
            r#type: pb::PartyType::LegalPerson as i32,
            name: party_name,
            credit_code: credit_code(999),
            ..Default::default()
        }),
        handling_officer_ids: w.both(),
        opened_at: None,
    };
    let name = "福州某某贸易有限公司".to_owned();
    refused(
        record.open_case(open("a".repeat(3 << 20), name.clone())).await,
        Code::InvalidArgument,
        "title: at most 200 characters",
    );
    refused(
        record.open_case(open("案件".into(), "名".repeat(100_000))).await,
        Code::InvalidArgument,
        "party.name: at most 200",
    );
    let listed = record
        .list_cases(pb::ListCasesRequest { agency_id: w.agency.id.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert!(listed.cases.is_empty(), "nothing was opened");
    let case = record
        .open_case(open("案".repeat(200), name))
        .await
        .expect("200 characters are allowed")
        .into_inner()
        .case
        .expect("the answer carries the case");

    // Ids are checked for shape before any lookup, and never echoed whole.
    let huge = "x".repeat(20_000);
    for r in [
        record.get_case(pb::GetCaseRequest { case_id: huge.clone() }).await.map(|_| ()),
        record.get_evidence(pb::GetEvidenceRequest { evidence_id: huge.clone() }).await.map(|_| ()),
        record.get_upload(pb::GetUploadRequest { upload_id: huge.clone() }).await.map(|_| ()),
        h.admin.registry.clone().get_agency(pb::GetAgencyRequest { agency_id: huge.clone() }).await.map(|_| ()),
        w.head.review.clone().get_draft(pb::GetDraftRequest { draft_id: huge.clone() }).await.map(|_| ()),
        h.client(None)
            .publicity
            .get_disclosure(pb::GetDisclosureRequest { disclosure_id: huge.clone() })
            .await
            .map(|_| ()),
    ] {
        let s = r.unwrap_err();
        assert_eq!(s.code(), Code::InvalidArgument, "{s:?}");
        assert!(s.message().contains("not an id") && s.message().len() < 300, "{}", s.message());
    }
    let missing = format!("{}-missing", "y".repeat(100));
    let s = record.get_case(pb::GetCaseRequest { case_id: missing }).await.unwrap_err();
    assert_eq!(s.code(), Code::NotFound);
    assert!(s.message().len() < 120, "an unknown id is echoed cut short: {}", s.message());

    // Media types are RFC 6838 type/subtype, without CR or LF.
    for bad in ["video/mp4\r\nx-injected: 1", "video", "video/", "a b/c"] {
        let header = w.header(&case.id, bad, h.now());
        refused(upload(&w.officer, header, pseudo_random(7, 10)).await, Code::InvalidArgument, "media_type");
    }

    // Calendar years are sane.
    for year in ["-1", "99999", "1999", "2101"] {
        let toml = format!("year = {year}\nworkdays = []\n");
        refused(
            h.admin.registry.clone().put_calendar_year(pb::PutCalendarYearRequest { schedule_toml: toml }).await,
            Code::InvalidArgument,
            "year",
        );
    }
    h.admin
        .registry
        .clone()
        .put_calendar_year(pb::PutCalendarYearRequest { schedule_toml: "year = 2030\nworkdays = []\n".into() })
        .await
        .expect("a year in range");

    // Registry fields.
    refused(
        h.admin
            .registry
            .clone()
            .register_officer(pb::RegisterOfficerRequest {
                agency_id: w.agency.id.clone(),
                name: "长".repeat(201),
                certificate_number: "CERT-LONG".into(),
                category: "综合".into(),
                valid_from: "2020-01-01".into(),
                valid_until: "2035-12-31".into(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        "name: at most 200 characters",
    );
    let mut registry = h.admin.registry.clone();
    let officer = w.officers[0].id.clone();
    let status = |officer_id: &str, reason: String| pb::SetOfficerStatusRequest {
        officer_id: officer_id.into(),
        status: pb::OfficerStatus::Suspended as i32,
        reason,
        effective_at: None,
    };
    refused(
        registry.set_officer_status(status(&officer, "停".repeat(501))).await,
        Code::InvalidArgument,
        "reason: at most 500 characters",
    );
    let me = w
        .officer
        .registry
        .clone()
        .who_am_i(pb::WhoAmIRequest {})
        .await
        .unwrap()
        .into_inner()
        .principal
        .expect("the answer carries the principal");
    let issue = |principal_id: &str, label: String| pb::IssueTokenRequest { principal_id: principal_id.into(), label };
    refused(
        registry.issue_token(issue(&me.id, "签".repeat(201))).await,
        Code::InvalidArgument,
        "label: at most 200 characters",
    );
    // Ids and cursors of the registry and listings: refused for their shape, never echoed whole.
    for (r, field) in [
        (registry.set_officer_status(status(&huge, "停职".into())).await.map(|_| ()), "officer_id"),
        (
            registry
                .set_officer_review_experience(pb::SetOfficerReviewExperienceRequest {
                    officer_id: huge.clone(),
                    has_prior_review_experience: true,
                })
                .await
                .map(|_| ()),
            "officer_id",
        ),
        (registry.issue_token(issue(&huge, "手机".into())).await.map(|_| ()), "principal_id"),
        (registry.revoke_token(pb::RevokeTokenRequest { token_id: huge.clone() }).await.map(|_| ()), "token_id"),
        (
            record
                .list_cases(pb::ListCasesRequest { agency_id: w.agency.id.clone(), after_id: huge.clone(), limit: 0 })
                .await
                .map(|_| ()),
            "after_id",
        ),
        (
            record
                .list_cases(pb::ListCasesRequest {
                    agency_id: w.agency.id.clone(),
                    after_id: "' OR 1=1 --".into(),
                    limit: 0,
                })
                .await
                .map(|_| ()),
            "after_id",
        ),
    ] {
        let s = r.unwrap_err();
        assert_eq!(s.code(), Code::InvalidArgument, "{field}: {s:?}");
        assert!(s.message().contains(&format!("invalid {field}: not an id")), "{field}: {}", s.message());
        assert!(s.message().len() < 300, "{}", s.message());
    }
    // Nothing was changed by the refusals: the officer is still active, no token was issued.
    let listed = registry.list_officers(pb::ListOfficersRequest { agency_id: w.agency.id.clone() }).await.unwrap();
    let o = listed.into_inner().officers.into_iter().find(|o| o.id == officer).unwrap();
    assert_eq!(o.status, pb::OfficerStatus::Active as i32);

    // A retrieval reason is bounded too.
    let uploaded = w.upload(&case.id, "image/jpeg", pseudo_random(9, 64), h.now()).await.expect("upload");
    let evidence_id = uploaded.evidence.expect("evidence").id;
    let download = record
        .download_evidence(pb::DownloadEvidenceRequest { evidence_id, reason: "因".repeat(501) })
        .await
        .map(|_| ());
    refused(download, Code::InvalidArgument, "reason: at most 500 characters");

    // A client value quoted in an error message is cut short.
    let mut draft = pb::SubmitDraftRequest {
        request_id: uuid::Uuid::now_v7().to_string(),
        case_id: case.id.clone(),
        legal_basis: "《中华人民共和国行政处罚法》".into(),
        facts: "当事人未按规定公示年度报告".into(),
        ordinary_procedure: true,
        penalties: vec![pb::PenaltyItem { r#type: "警告".into(), amount_fen: 0 }],
        restriction_ends: "9".repeat(10_000),
        ..Default::default()
    };
    let s = w.officer.review.clone().submit_draft(draft.clone()).await.unwrap_err();
    assert_eq!(s.code(), Code::InvalidArgument, "{s:?}");
    assert!(s.message().contains("restriction_ends") && s.message().len() < 300, "{}", s.message());
    draft.restriction_ends = String::new();
    draft.penalties[0].r#type = "罚".repeat(10_000);
    let s = w.officer.review.clone().submit_draft(draft).await.unwrap_err();
    assert_eq!(s.code(), Code::InvalidArgument, "{s:?}");
    assert!(s.message().len() < 300, "{}", s.message());
    h.running.stop().await.unwrap();
}

async fn writes_are_rate_limited_per_principal_and_reads_are_not(backend: Backend) {
    const BURST: u32 = 30;
    let h = Harness::start_with(backend, Arc::new(sanxiang_domain::SystemClock), |c| {
        c.write_rate_burst = BURST;
        c.write_rate_per_second = 1;
    })
    .await;
    let w = h.world(1, "").await;
    let case = w.open_case(pb::CaseKind::Penalty).await;
    let started = std::time::Instant::now();
    let mut accepted = 1; // the opening
    let refusal = loop {
        match w.officer.record.clone().append_event(w.event(&case.id, pb::EventKind::Inspection, h.now())).await {
            Ok(_) => accepted += 1,
            Err(s) => break s,
        }
        assert!(accepted < BURST + 100, "the officer's writes were never limited");
    };
    // One write a second is regained while the burst is spent.
    let regained = u32::try_from(started.elapsed().as_secs()).unwrap() + 1;
    assert_eq!(refusal.code(), Code::ResourceExhausted, "{refusal:?}");
    assert!(
        refusal.message().contains("write rate limit") && refusal.message().contains("retry after"),
        "{}",
        refusal.message()
    );
    let hint = refusal.metadata().get("retry-after-ms").expect("a retry hint").to_str().unwrap();
    assert!((1..=1000).contains(&hint.parse::<u64>().unwrap()), "{hint}");
    assert!((BURST..=BURST + regained).contains(&accepted), "{accepted} writes accepted, burst {BURST}");

    // Reads still work, and the refused write wrote nothing.
    let got = w.officer.record.clone().get_case(pb::GetCaseRequest { case_id: case.id.clone() }).await;
    assert_eq!(
        got.expect("a read is not limited").into_inner().case.expect("the case").event_count,
        u64::from(accepted)
    );
    let events = pb::ListEventsRequest { case_id: case.id.clone(), ..Default::default() };
    let listed = w.officer.record.clone().list_events(events).await.expect("read").into_inner().events;
    assert_eq!(listed.len(), accepted as usize);
    // Another principal's writes have their own budget.
    w.head
        .record
        .clone()
        .append_event(w.event(&case.id, pb::EventKind::Inspection, h.now()))
        .await
        .expect("head writes");
    h.running.stop().await.unwrap();
}

async fn a_call_past_the_request_timeout_is_deadline_exceeded_and_writes_nothing(backend: Backend) {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let h = Harness::start_with(backend.clone(), Arc::new(sanxiang_domain::SystemClock), |c| {
        c.request_timeout_ms = 500;
    })
    .await;
    let w = h.world(1, "").await;
    let case = w.open_case(pb::CaseKind::Penalty).await;
    // Another session holds the database's write lock (SQLite) or the cases table (PostgreSQL):
    // the append waits for it, past the server's request timeout.
    let txn = h.running.db.begin().await.expect("begin");
    let hold = match backend {
        Backend::Sqlite => "UPDATE agencies SET name = name",
        Backend::Postgres(_) => "LOCK TABLE cases IN ACCESS EXCLUSIVE MODE",
    };
    txn.execute_unprepared(hold).await.expect("hold the lock");
    let started = std::time::Instant::now();
    let appended = w.officer.record.clone().append_event(w.event(&case.id, pb::EventKind::Inspection, h.now())).await;
    let waited = started.elapsed();
    refused(appended, Code::DeadlineExceeded, "request timeout of 500 ms");
    assert!(waited >= std::time::Duration::from_millis(450), "{waited:?}");
    assert!(waited < std::time::Duration::from_secs(5), "{waited:?}");
    txn.rollback().await.expect("release");

    // Nothing was appended, and calls within the timeout work.
    let got = w.officer.record.clone().get_case(pb::GetCaseRequest { case_id: case.id.clone() }).await;
    assert_eq!(got.expect("get case").into_inner().case.expect("the case").event_count, 1);
    w.append(&case.id, pb::EventKind::Inspection, h.now()).await;
    h.running.stop().await.unwrap();
}
