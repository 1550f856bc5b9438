//! Legal review of major decisions over gRPC, on every database backend: catalog classification
//! on both sides of every threshold, the decision gate refusing each missing step without
//! writing, approvals bound to a draft version, reviewer rules (L6, G4), the problems-found
//! loop, review due dates in working days, and document numbers.

use std::collections::BTreeSet;
use std::sync::Arc;

use sanxiang_domain::{TestClock, Timestamp};
use sanxiang_proto::v1 as pb;
use sanxiang_proto::v1::EventKind as K;
use sanxiang_tests::{Backend, Client, Harness, World, backend_tests, refused};
use tonic::Code;

backend_tests!(
    catalog_examples_classify_on_both_sides_of_thresholds,
    gate_refuses_every_missing_step_and_writes_nothing,
    approval_of_one_version_does_not_cover_another,
    reviewers_who_handle_the_case_or_lack_the_qualification_are_refused,
    problems_found_new_version_approval_decision_are_in_the_chain,
    review_due_dates_follow_the_working_day_calendar,
    document_numbers_are_unique_and_consecutive,
);

/// The catalogs of `docs/catalog-examples.toml`, one per agency.
const GONGYI: &str = r#"
agency_example = "巩义市 (河南)"
fine_natural_person = { amount = 10000, inclusive = true }
fine_organisation = { amount = 100000, inclusive = true }
confiscation_counts_as_fine = true
always_major_penalties = ["责令停产停业", "吊销许可证件"]
after_hearing = true
outside_discretion_standard = true
"#;
const YIYANG: &str = r#"
agency_example = "益阳市 (湖南)"
fine_natural_person = { amount = 20000, inclusive = true }
fine_organisation = { amount = 50000, inclusive = true }
confiscation_counts_as_fine = true
licensing_major = ["撤回许可", "撤销许可"]
after_hearing = true
"#;
const TONGZHOU: &str = r#"
agency_example = "北京市通州区"
fine_natural_person = { amount = 5000, inclusive = false }
fine_organisation = { amount = 50000, inclusive = false }
always_major_penalties = ["吊销许可证件", "责令停产停业"]
outside_discretion_standard = true
"#;
const NINGXIA: &str = r#"
agency_example = "宁夏住房和城乡建设厅"
all_ordinary_procedure_penalties = true
review_days = 7
review_extension_days = 3
"#;

async fn put_catalog(h: &Harness, agency: &str, toml: &str) {
    h.admin
        .registry
        .clone()
        .put_catalog(pb::PutCatalogRequest { agency_id: agency.into(), catalog_toml: toml.into() })
        .await
        .expect("put catalog");
}

fn kinds(events: &[pb::Event]) -> Vec<K> {
    events.iter().map(|e| K::try_from(e.kind).unwrap()).collect()
}

/// Opens a case of `kind` whose party is of `party` type.
async fn open(w: &World, kind: pb::CaseKind, party: pb::PartyType) -> pb::Case {
    let mut p = pb::Party { r#type: party as i32, name: "当事人".into(), ..Default::default() };
    if party != pb::PartyType::NaturalPerson {
        p.credit_code = sanxiang_tests::credit_code(998);
    } else {
        p.id_type = "身份证".into();
        p.id_number = "350102199001011234".into();
    }
    w.officer
        .record
        .clone()
        .open_case(pb::OpenCaseRequest {
            request_id: uuid::Uuid::now_v7().to_string(),
            agency_id: w.agency.id.clone(),
            kind: kind as i32,
            title: "测试案".into(),
            party: Some(p),
            handling_officer_ids: w.both(),
            opened_at: None,
        })
        .await
        .expect("open case")
        .into_inner()
        .case
        .expect("the answer carries the case")
}

fn fine(case_id: &str, fen: u64) -> pb::SubmitDraftRequest {
    pb::SubmitDraftRequest {
        request_id: uuid::Uuid::now_v7().to_string(),
        case_id: case_id.into(),
        penalties: vec![pb::PenaltyItem { r#type: "罚款".into(), amount_fen: fen }],
        legal_basis: "《中华人民共和国食品安全法》第一百二十四条".into(),
        facts: "当事人经营超过保质期的食品".into(),
        discretion_reasoning: "首次违法，从轻".into(),
        ordinary_procedure: true,
        ..Default::default()
    }
}

fn penalty(case_id: &str, types: &[&str]) -> pb::SubmitDraftRequest {
    let mut r = fine(case_id, 0);
    r.penalties = types.iter().map(|t| pb::PenaltyItem { r#type: (*t).into(), amount_fen: 0 }).collect();
    r
}

async fn submit(w: &World, r: pb::SubmitDraftRequest) -> pb::Draft {
    w.officer
        .review
        .clone()
        .submit_draft(r)
        .await
        .expect("submit draft")
        .into_inner()
        .draft
        .expect("the answer carries the draft")
}

/// The rule ids that made a draft major (empty: not major).
async fn rules(w: &World, r: pb::SubmitDraftRequest) -> Vec<String> {
    let d = submit(w, r).await;
    assert_eq!(d.major, !d.matched_rules.is_empty());
    let status = pb::ReviewStatus::try_from(d.review_status).unwrap();
    assert_eq!(status, if d.major { pb::ReviewStatus::Pending } else { pb::ReviewStatus::NotRequired });
    d.matched_rules.into_iter().map(|m| m.rule).collect()
}

/// Whether fines of threshold − 1 fen, threshold and threshold + 1 fen are major.
async fn around(w: &World, case_id: &str, threshold_fen: u64) -> [bool; 3] {
    let mut out = [false; 3];
    for (i, fen) in [threshold_fen - 1, threshold_fen, threshold_fen + 1].into_iter().enumerate() {
        out[i] = !rules(w, fine(case_id, fen)).await.is_empty();
    }
    out
}

async fn catalog_examples_classify_on_both_sides_of_thresholds(backend: Backend) {
    let h = Harness::start(backend).await;
    let gongyi = h.world(1, "").await;
    let yiyang = h.world(2, "").await;
    let tongzhou = h.world(3, "").await;
    let ningxia = h.world(4, "").await;
    for (w, toml) in [(&gongyi, GONGYI), (&yiyang, YIYANG), (&tongzhou, TONGZHOU), (&ningxia, NINGXIA)] {
        put_catalog(&h, &w.agency.id, toml).await;
    }
    let got = gongyi
        .officer
        .registry
        .clone()
        .get_catalog(pb::GetCatalogRequest { agency_id: gongyi.agency.id.clone() })
        .await
        .unwrap()
        .into_inner()
        .catalog
        .expect("the answer carries the catalog");
    assert!(got.configured);
    assert!(got.catalog_json.contains(r#""fine_natural_person":{"amount_fen":1000000,"inclusive":true}"#));
    refused(
        h.admin
            .registry
            .clone()
            .put_catalog(pb::PutCatalogRequest {
                agency_id: gongyi.agency.id.clone(),
                catalog_toml: "review_days = 0".into(),
            })
            .await,
        Code::InvalidArgument,
        "review_days",
    );
    refused(
        gongyi.officer.registry.clone().put_catalog(pb::PutCatalogRequest::default()).await,
        Code::PermissionDenied,
        "officer",
    );
    let person = pb::PartyType::NaturalPerson;
    let company = pb::PartyType::LegalPerson;

    // 巩义: ≥ 10000 yuan (natural person), ≥ 100000 yuan (organisation), confiscation counts.
    let np = open(&gongyi, pb::CaseKind::Penalty, person).await;
    let org = open(&gongyi, pb::CaseKind::Penalty, company).await;
    assert_eq!(around(&gongyi, &np.id, 1_000_000).await, [false, true, true]);
    assert_eq!(around(&gongyi, &org.id, 10_000_000).await, [false, true, true]);
    assert_eq!(rules(&gongyi, fine(&np.id, 1_000_000)).await, ["catalog.fine.natural_person"]);
    assert_eq!(rules(&gongyi, fine(&org.id, 10_000_000)).await, ["catalog.fine.organisation"]);
    let mut with_confiscation = fine(&np.id, 600_000);
    with_confiscation.penalties.push(pb::PenaltyItem { r#type: "没收违法所得".into(), amount_fen: 0 });
    with_confiscation.confiscation_fen = 400_000;
    assert_eq!(rules(&gongyi, with_confiscation.clone()).await, ["catalog.fine.natural_person"]);
    with_confiscation.request_id = "gongyi-confiscation-below".into();
    with_confiscation.confiscation_fen = 399_999;
    assert!(rules(&gongyi, with_confiscation).await.is_empty());
    assert_eq!(rules(&gongyi, penalty(&org.id, &["吊销许可证件"])).await, ["catalog.penalty.revoke_licence"]);
    assert!(rules(&gongyi, penalty(&org.id, &["责令关闭"])).await.is_empty());
    let mut heard = fine(&np.id, 100);
    heard.hearing_held = true;
    assert_eq!(rules(&gongyi, heard).await, ["catalog.after_hearing"]);
    let mut outside = fine(&np.id, 100);
    outside.outside_discretion_standard = true;
    assert_eq!(rules(&gongyi, outside).await, ["catalog.outside_discretion_standard"]);
    // The statutory triggers of Art. 58 apply whatever the catalog says.
    let mut complex = fine(&np.id, 100);
    complex.complex_case = true;
    assert_eq!(rules(&gongyi, complex).await, ["statute.complex_case"]);

    // 益阳: ≥ 20000 / ≥ 50000 yuan; licensing withdrawals and revocations.
    let np = open(&yiyang, pb::CaseKind::Penalty, person).await;
    let org = open(&yiyang, pb::CaseKind::Penalty, company).await;
    assert_eq!(around(&yiyang, &np.id, 2_000_000).await, [false, true, true]);
    assert_eq!(around(&yiyang, &org.id, 5_000_000).await, [false, true, true]);
    let licence = open(&yiyang, pb::CaseKind::Licensing, company).await;
    let licensing = |action: &str| pb::SubmitDraftRequest {
        request_id: uuid::Uuid::now_v7().to_string(),
        case_id: licence.id.clone(),
        licensing_action: action.into(),
        ..Default::default()
    };
    assert_eq!(rules(&yiyang, licensing("撤回许可")).await, ["catalog.licensing.withdraw"]);
    assert_eq!(rules(&yiyang, licensing("撤销许可")).await, ["catalog.licensing.revoke"]);
    assert!(rules(&yiyang, licensing("不予许可")).await.is_empty());
    refused(
        yiyang.officer.review.clone().submit_draft(licensing("吊销执照")).await,
        Code::InvalidArgument,
        "licensing_action",
    );
    assert!(rules(&yiyang, penalty(&org.id, &["吊销许可证件"])).await.is_empty());

    // 通州: > 5000 / > 50000 yuan, exclusive: the threshold itself is not major.
    let np = open(&tongzhou, pb::CaseKind::Penalty, person).await;
    let org = open(&tongzhou, pb::CaseKind::Penalty, company).await;
    assert_eq!(around(&tongzhou, &np.id, 500_000).await, [false, false, true]);
    assert_eq!(around(&tongzhou, &org.id, 5_000_000).await, [false, false, true]);
    let mut not_counted = fine(&np.id, 400_000);
    not_counted.penalties.push(pb::PenaltyItem { r#type: "没收违法所得".into(), amount_fen: 0 });
    not_counted.confiscation_fen = 200_000;
    assert!(rules(&tongzhou, not_counted).await.is_empty());
    assert_eq!(rules(&tongzhou, penalty(&org.id, &["责令停产停业"])).await, ["catalog.penalty.suspend_production"]);
    let mut heard = fine(&np.id, 100);
    heard.hearing_held = true;
    assert!(rules(&tongzhou, heard).await.is_empty());

    // 宁夏: every ordinary-procedure penalty, none under the summary procedure.
    let np = open(&ningxia, pb::CaseKind::Penalty, person).await;
    assert_eq!(rules(&ningxia, penalty(&np.id, &["警告"])).await, ["catalog.ordinary_procedure"]);
    let mut summary = fine(&np.id, 20_000);
    summary.ordinary_procedure = false;
    assert!(rules(&ningxia, summary).await.is_empty());

    // Malformed drafts name the field and store nothing.
    let before = ningxia.events(&np.id).await.len();
    let mut r = fine(&np.id, 0);
    refused(
        ningxia.officer.review.clone().submit_draft(r.clone()).await,
        Code::InvalidArgument,
        "penalties[0].amount_fen",
    );
    r.penalties[0].r#type = "罚金".into();
    refused(ningxia.officer.review.clone().submit_draft(r).await, Code::InvalidArgument, "penalties[0].type");
    refused(
        ningxia.publisher.review.clone().submit_draft(fine(&np.id, 100)).await,
        Code::PermissionDenied,
        "publisher",
    );
    assert_eq!(ningxia.events(&np.id).await.len(), before);
    h.running.stop().await.unwrap();
}

/// A reviewer principal bound to a new officer of `agency` (not a handling officer).
async fn reviewer(h: &Harness, agency: &str, qualified: bool) -> Client {
    let o = h.officer(agency, "法制员", qualified).await;
    h.principal(pb::Role::Reviewer, agency, &o.id).await
}

fn checklist(failing: &[pb::ChecklistItem]) -> Vec<pb::CheckResult> {
    (1..=8)
        .map(|i| {
            let item = pb::ChecklistItem::try_from(i).unwrap();
            let passed = !failing.contains(&item);
            pb::CheckResult {
                item: i,
                passed,
                comment: if passed { String::new() } else { "证据不足以证明违法所得数额".into() },
            }
        })
        .collect()
}

async fn decide(reviewer: &Client, draft_id: &str, approve: bool) -> Result<pb::DecideReviewResponse, tonic::Status> {
    let (outcome, failing) = if approve {
        (pb::ReviewOutcome::Approve, vec![])
    } else {
        (pb::ReviewOutcome::ProblemsFound, vec![pb::ChecklistItem::FactsAndEvidence])
    };
    reviewer
        .review
        .clone()
        .decide_review(pb::DecideReviewRequest {
            request_id: uuid::Uuid::now_v7().to_string(),
            draft_id: draft_id.into(),
            checklist: checklist(&failing),
            outcome: outcome as i32,
            opinion: if approve { "同意".into() } else { "存在问题：事实不清".into() },
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn gate_refuses_every_missing_step_and_writes_nothing(backend: Backend) {
    let h = Harness::start(backend).await;
    let w = h.world(1, "").await;
    put_catalog(&h, &w.agency.id, &format!("{GONGYI}collective_discussion_required = true\n")).await;
    let rev = reviewer(&h, &w.agency.id, true).await;
    let now = h.now();
    let case = w.open_case(pb::CaseKind::Penalty).await;
    w.append(&case.id, K::Filing, now).await;
    let draft = submit(&w, fine(&case.id, 20_000_000)).await;
    assert!(draft.major && draft.collective_discussion_required);

    // Each refusal names the missing step and leaves the chain as it was.
    let check = async |expected: &str| {
        let before = w.events(&case.id).await;
        refused(w.issue(&draft.id).await, Code::FailedPrecondition, expected);
        assert_eq!(w.events(&case.id).await, before, "{expected}: the chain changed");
    };
    check("L1.review-required").await;
    let before = w.events(&case.id).await;
    // Only the head issues decisions; a plain append cannot make one.
    refused(
        w.officer
            .review
            .clone()
            .issue_decision(pb::IssueDecisionRequest {
                request_id: "officer-decides".into(),
                draft_id: draft.id.clone(),
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
        "officer",
    );
    refused(
        w.officer.record.clone().append_event(w.event(&case.id, K::Decision, now)).await,
        Code::InvalidArgument,
        "kind",
    );
    assert_eq!(w.events(&case.id).await, before);

    decide(&rev, &draft.id, true).await.unwrap();
    check("L6.collective-discussion").await;
    w.head
        .review
        .clone()
        .record_collective_discussion(pb::RecordCollectiveDiscussionRequest {
            request_id: "discussion-1".into(),
            draft_id: draft.id.clone(),
            minutes: "局长办公会集体讨论，同意拟处罚意见".into(),
            occurred_at: None,
        })
        .await
        .unwrap();
    check("R2.notice-before-penalty").await;
    w.append(&case.id, K::NoticeOfProposedDecision, now).await;
    check("R2.statement-before-penalty").await;
    w.append(&case.id, K::HearingRequested, now).await;
    w.append(&case.id, K::StatementHeard, now).await;
    check("R2.hearing-before-decision").await;
    w.append(&case.id, K::HearingRecord, now).await;
    refused(
        w.head
            .review
            .clone()
            .revise_decision(pb::ReviseDecisionRequest {
                request_id: "revise-early".into(),
                case_id: case.id.clone(),
                revision: pb::Revision::Change as i32,
                reason: "复议变更".into(),
                ..Default::default()
            })
            .await,
        Code::FailedPrecondition,
        "R2.revision-after-decision",
    );

    let issued = w.issue(&draft.id).await.unwrap();
    let decision = issued.event.unwrap();
    assert_eq!(K::try_from(decision.kind).unwrap(), K::Decision);
    assert!(decision.payload_json.contains(&draft.digest));
    assert!(decision.payload_json.contains(&issued.document_number));
    assert!(!issued.decided_after_limit);
    let revised = w
        .head
        .review
        .clone()
        .revise_decision(pb::ReviseDecisionRequest {
            request_id: "revise-1".into(),
            case_id: case.id.clone(),
            revision: pb::Revision::Revocation as i32,
            reason: "行政复议决定撤销".into(),
            basis: "某复决字〔2026〕第1号".into(),
            occurred_at: None,
        })
        .await
        .unwrap()
        .into_inner()
        .event
        .expect("the answer carries the event");
    assert!(revised.payload_json.contains("revocation") && revised.payload_json.contains(&issued.document_number));
    let all = w.events(&case.id).await;
    assert_eq!(
        kinds(&all)[2..],
        [
            K::DraftSubmitted,
            K::ReviewDecided,
            K::CollectiveDiscussion,
            K::NoticeOfProposedDecision,
            K::HearingRequested,
            K::StatementHeard,
            K::HearingRecord,
            K::Decision,
            K::DecisionRevised
        ]
    );
    h.running.stop().await.unwrap();
}

async fn approval_of_one_version_does_not_cover_another(backend: Backend) {
    let h = Harness::start(backend).await;
    let w = h.world(1, "").await;
    put_catalog(&h, &w.agency.id, GONGYI).await;
    let rev = reviewer(&h, &w.agency.id, true).await;
    let now = h.now();
    let case = w.open_case(pb::CaseKind::Penalty).await;
    for k in [K::Filing, K::NoticeOfProposedDecision, K::StatementWaived] {
        w.append(&case.id, k, now).await;
    }
    let v1 = submit(&w, fine(&case.id, 20_000_000)).await;
    let approval = decide(&rev, &v1.id, true).await.unwrap();
    assert_eq!(approval.draft_digest, v1.digest);
    assert!(approval.first_penalty_review && approval.legal_qualification);
    let v2 = submit(&w, fine(&case.id, 30_000_000)).await;
    assert_eq!((v1.version, v2.version), (1, 2));
    assert_ne!(v1.digest, v2.digest);
    let before = w.events(&case.id).await;
    refused(w.issue(&v2.id).await, Code::FailedPrecondition, "L1.review-required");
    refused(w.issue(&v1.id).await, Code::FailedPrecondition, "L3.latest-draft");
    assert_eq!(w.events(&case.id).await, before);
    let got = w.officer.review.clone().get_draft(pb::GetDraftRequest { draft_id: v1.id.clone() }).await.unwrap();
    assert_eq!(got.into_inner().draft.expect("the draft").review_status, pb::ReviewStatus::Approved as i32);
    // The same person's second penalty review is not a first one, even with another principal.
    let mut registry = w.officer.registry.clone();
    let listed = registry.list_officers(pb::ListOfficersRequest { agency_id: w.agency.id.clone() }).await.unwrap();
    let legal = listed.into_inner().officers.into_iter().find(|o| o.legal_qualification).unwrap();
    let same_person = h.principal(pb::Role::Reviewer, &w.agency.id, &legal.id).await;
    let second = decide(&same_person, &v2.id, true).await.unwrap();
    assert!(!second.first_penalty_review);
    // Retries return what was stored, and record nothing more.
    let before = w.events(&case.id).await;
    let mut again = fine(&case.id, 30_000_000);
    again.request_id = "submit-twice".into();
    let v3 = submit(&w, again.clone()).await;
    assert_eq!(submit(&w, again).await, v3);
    let opinion = pb::DecideReviewRequest {
        request_id: "review-twice".into(),
        draft_id: v3.id.clone(),
        checklist: checklist(&[]),
        outcome: pb::ReviewOutcome::Approve as i32,
        opinion: "同意".into(),
    };
    let first_answer = same_person.review.clone().decide_review(opinion.clone()).await.unwrap().into_inner();
    assert_eq!(same_person.review.clone().decide_review(opinion).await.unwrap().into_inner(), first_answer);
    assert_eq!(w.events(&case.id).await.len(), before.len() + 2);
    let v2 = v3;
    let issued = w.issue(&v2.id).await.unwrap();
    assert!(issued.event.unwrap().payload_json.contains(&v2.digest));
    h.running.stop().await.unwrap();
}

async fn reviewers_who_handle_the_case_or_lack_the_qualification_are_refused(backend: Backend) {
    let h = Harness::start(backend).await;
    let city = h.world(1, "").await;
    let w = h.world(2, &city.agency.id).await;
    let stranger = h.world(3, "").await;
    put_catalog(&h, &w.agency.id, GONGYI).await;
    let case = w.open_case(pb::CaseKind::Penalty).await;
    let draft = submit(&w, fine(&case.id, 20_000_000)).await;
    let before = w.events(&case.id).await;

    // A reviewer bound to a handling officer of the case (L6).
    let handling = h.principal(pb::Role::Reviewer, &w.agency.id, &w.officers[0].id).await;
    refused(decide(&handling, &draft.id, true).await, Code::FailedPrecondition, "L6.reviewer-not-handling-officer");
    // A first 行政处罚 review without the 法律职业资格 (G4), bound to an officer or not.
    let unqualified = reviewer(&h, &w.agency.id, false).await;
    refused(decide(&unqualified, &draft.id, true).await, Code::FailedPrecondition, "G4.legal-qualification");
    let unbound = h.principal(pb::Role::Reviewer, &w.agency.id, "").await;
    refused(decide(&unbound, &draft.id, false).await, Code::FailedPrecondition, "G4.legal-qualification");
    // Other roles, and reviewers of agencies that do not oversee this one.
    refused(decide(&w.head, &draft.id, true).await, Code::PermissionDenied, "head");
    let foreign = reviewer(&h, &stranger.agency.id, true).await;
    refused(decide(&foreign, &draft.id, true).await, Code::PermissionDenied, "reviewer");
    // An incomplete or inconsistent opinion.
    let qualified = reviewer(&h, &city.agency.id, true).await;
    let mut r = pb::DecideReviewRequest {
        request_id: "incomplete".into(),
        draft_id: draft.id.clone(),
        checklist: checklist(&[])[1..].to_vec(),
        outcome: pb::ReviewOutcome::Approve as i32,
        opinion: "同意".into(),
    };
    refused(qualified.review.clone().decide_review(r.clone()).await, Code::InvalidArgument, "checklist");
    r.checklist = checklist(&[pb::ChecklistItem::LawfulProcedure]);
    r.checklist[2].comment.clear();
    r.outcome = pb::ReviewOutcome::ProblemsFound as i32;
    refused(
        qualified.review.clone().decide_review(r).await,
        Code::InvalidArgument,
        "checklist.lawful_procedure.comment",
    );
    assert_eq!(w.events(&case.id).await, before, "a refused review was recorded");

    // A qualified reviewer of the overseeing agency may review.
    let review = decide(&qualified, &draft.id, true).await.unwrap();
    assert!(review.first_penalty_review && review.legal_qualification);
    refused(decide(&qualified, &draft.id, true).await, Code::FailedPrecondition, "L5.reviewed-once");
    h.running.stop().await.unwrap();
}

async fn problems_found_new_version_approval_decision_are_in_the_chain(backend: Backend) {
    let h = Harness::start(backend).await;
    let w = h.world(1, "").await;
    put_catalog(&h, &w.agency.id, TONGZHOU).await;
    let rev = reviewer(&h, &w.agency.id, true).await;
    let now = h.now();
    let case = w.open_case(pb::CaseKind::Penalty).await;
    for k in [K::Filing, K::NoticeOfProposedDecision, K::StatementHeard] {
        w.append(&case.id, k, now).await;
    }
    let v1 = submit(&w, fine(&case.id, 6_000_000)).await;
    let problems = decide(&rev, &v1.id, false).await.unwrap();
    assert_eq!(problems.outcome, pb::ReviewOutcome::ProblemsFound as i32);
    assert_eq!(problems.checklist.len(), 8);
    assert!(!problems.checklist[3].passed && !problems.checklist[3].comment.is_empty());
    refused(decide(&rev, &v1.id, true).await, Code::FailedPrecondition, "L5.reviewed-once");
    refused(w.issue(&v1.id).await, Code::FailedPrecondition, "L1.review-required");
    let mut corrected = fine(&case.id, 5_500_000);
    corrected.facts = "当事人经营超过保质期的食品，货值金额已补充查明".into();
    let v2 = submit(&w, corrected).await;
    assert_eq!(v2.version, 2);
    decide(&rev, &v2.id, true).await.unwrap();
    let issued = w.issue(&v2.id).await.unwrap();

    let all = w.events(&case.id).await;
    assert_eq!(
        kinds(&all),
        [
            K::CaseOpened,
            K::Filing,
            K::NoticeOfProposedDecision,
            K::StatementHeard,
            K::DraftSubmitted,
            K::ReviewDecided,
            K::DraftSubmitted,
            K::ReviewDecided,
            K::Decision
        ]
    );
    assert!(all[4].payload_json.contains(&v1.digest));
    assert!(all[5].payload_json.contains("problems_found") && all[5].payload_json.contains(&v1.digest));
    assert!(all[7].payload_json.contains("\"outcome\":\"approve\"") && all[7].payload_json.contains(&v2.digest));
    assert!(all[8].payload_json.contains(&v2.digest) && all[8].payload_json.contains(&issued.document_number));
    let report = w
        .officer
        .record
        .clone()
        .verify_case(pb::VerifyCaseRequest { case_id: case.id.clone(), rehash_evidence: false })
        .await
        .unwrap()
        .into_inner();
    assert!(report.ok, "{:?}", report.problems);
    assert_eq!(report.events_checked, 9);
    h.running.stop().await.unwrap();
}

/// 10:00 in Shanghai on `date`.
fn shanghai_morning(date: &str) -> Timestamp {
    Timestamp::parse_rfc3339(&format!("{date}T02:00:00Z")).unwrap()
}

async fn review_due_dates_follow_the_working_day_calendar(backend: Backend) {
    let clock = Arc::new(TestClock::new(shanghai_morning("2026-02-12")));
    let h = Harness::start_with(backend, clock.clone(), |_| {}).await;
    let w = h.world(1, "").await;
    put_catalog(&h, &w.agency.id, NINGXIA).await;
    let rev = h.principal(pb::Role::Reviewer, &w.agency.id, "").await;
    let sup = h.principal(pb::Role::Supervisor, &w.agency.id, "").await;
    let warning = |case_id: &str| penalty(case_id, &["警告"]);

    // Thu 12 Feb 2026 + 7 working days: Fri 13, Sat 14 (调休), 春节 15–23, Tue 24 … Sat 28 (调休).
    let spring = w.open_case(pb::CaseKind::Penalty).await;
    let d1 = submit(&w, warning(&spring.id)).await;
    assert_eq!((d1.review_due_date.as_str(), d1.review_due_provisional), ("2026-02-28", false));

    // On 2 March the first review is overdue; a new one is due on 11 March.
    clock.set(shanghai_morning("2026-03-02"));
    let later = w.open_case(pb::CaseKind::Penalty).await;
    let d2 = submit(&w, warning(&later.id)).await;
    assert_eq!(d2.review_due_date, "2026-03-11");
    let queue = |c: &Client, overdue_only: bool| {
        let mut c = c.review.clone();
        let agency_id = w.agency.id.clone();
        async move {
            c.list_review_queue(pb::ListReviewQueueRequest { agency_id, overdue_only })
                .await
                .map(|r| r.into_inner().drafts)
        }
    };
    let listed = queue(&rev, false).await.unwrap();
    assert_eq!(listed.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), [d1.id.as_str(), d2.id.as_str()]);
    assert!(listed[0].review_overdue && !listed[1].review_overdue);
    // Supervisors see the overdue reviews only; officers see no queue.
    let overdue = queue(&sup, false).await.unwrap();
    assert_eq!(overdue.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), [d1.id.as_str()]);
    refused(queue(&w.officer, false).await, Code::PermissionDenied, "officer");

    // Tue 29 Sep 2026 + 7: Wed 30, 国庆 1–7 Oct, Thu 8, Fri 9, Sat 10 (调休), Mon 12 … Wed 14.
    clock.set(shanghai_morning("2026-09-29"));
    let national = w.open_case(pb::CaseKind::Penalty).await;
    let d3 = submit(&w, warning(&national.id)).await;
    assert_eq!((d3.review_due_date.as_str(), d3.review_due_provisional), ("2026-10-14", false));

    // Mon 28 Dec 2026 + 7 reaches 2027, which has no schedule: weekends only, provisional.
    clock.set(shanghai_morning("2026-12-28"));
    let year_end = w.open_case(pb::CaseKind::Penalty).await;
    let d4 = submit(&w, warning(&year_end.id)).await;
    assert_eq!((d4.review_due_date.as_str(), d4.review_due_provisional), ("2027-01-06", true));

    // Loading 2027 (元旦 on Fri 1 Jan) makes the deadline firm, and moves it by a day.
    let schedule =
        "year = 2027\nworkdays = []\n[[rest]]\nname = \"元旦\"\nfrom = \"2027-01-01\"\nto = \"2027-01-03\"\n";
    refused(
        w.head.registry.clone().put_calendar_year(pb::PutCalendarYearRequest { schedule_toml: schedule.into() }).await,
        Code::PermissionDenied,
        "head",
    );
    refused(
        h.admin
            .registry
            .clone()
            .put_calendar_year(pb::PutCalendarYearRequest {
                schedule_toml: "year = 2027\nworkdays = [\"2027-01-04\"]\n".into(),
            })
            .await,
        Code::InvalidArgument,
        "workdays[0]",
    );
    let loaded = h
        .admin
        .registry
        .clone()
        .put_calendar_year(pb::PutCalendarYearRequest { schedule_toml: schedule.into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((loaded.year, loaded.replaced), (2027, false));
    let again = w.officer.review.clone().get_draft(pb::GetDraftRequest { draft_id: d4.id.clone() }).await.unwrap();
    let again = again.into_inner().draft.expect("the draft");
    assert_eq!((again.review_due_date.as_str(), again.review_due_provisional), ("2027-01-07", false));

    // An approved draft leaves the queue.
    let qualified = reviewer(&h, &w.agency.id, true).await;
    decide(&qualified, &d1.id, true).await.unwrap();
    let listed = queue(&rev, false).await.unwrap();
    assert!(listed.iter().all(|d| d.id != d1.id));

    // A case filed on 12 February and decided on 28 December is flagged (RULES R10).
    let now = h.now();
    let filing = w.event(&spring.id, K::Filing, shanghai_morning("2026-02-12"));
    w.officer.record.clone().append_event(filing).await.unwrap();
    w.append(&spring.id, K::NoticeOfProposedDecision, now).await;
    w.append(&spring.id, K::StatementPeriodExpired, now).await;
    let issued = w.issue(&d1.id).await.unwrap();
    assert!(issued.decided_after_limit);
    assert!(issued.event.unwrap().payload_json.contains("\"decided_after_limit\":true"));
    // After the decision, a change is a revision, not a new draft.
    refused(
        w.officer.review.clone().submit_draft(warning(&spring.id)).await,
        Code::FailedPrecondition,
        "R2.decided-once",
    );
    h.running.stop().await.unwrap();
}

async fn document_numbers_are_unique_and_consecutive(backend: Backend) {
    let h = Harness::start(backend).await;
    let w = h.world(1, "").await;
    let now = h.now();
    let mut drafts = Vec::new();
    for _ in 0..6 {
        let case = w.open_case(pb::CaseKind::Licensing).await;
        w.append(&case.id, K::Filing, now).await;
        drafts.push(w.submit_draft(&case.id, true).await);
    }
    // Issued concurrently: every number once, none skipped.
    let issued = futures::future::join_all(drafts.iter().map(|d| {
        let mut c = w.head.review.clone();
        let r = pb::IssueDecisionRequest {
            request_id: format!("issue-{}", d.id),
            draft_id: d.id.clone(),
            officer_ids: w.both(),
            document_prefix: "榕市监许决字".into(),
            ..Default::default()
        };
        async move { c.issue_decision(r).await.unwrap().into_inner() }
    }))
    .await;
    let year = chrono::DateTime::from_timestamp(now.to_parts().0 + 8 * 3600, 0).unwrap().format("%Y").to_string();
    let numbers: BTreeSet<String> = issued.iter().map(|i| i.document_number.clone()).collect();
    let expected: BTreeSet<String> = (1..=6).map(|n| format!("榕市监许决字〔{year}〕第{n}号")).collect();
    assert_eq!(numbers, expected);
    // A retry returns the number already given; the next decision takes the next number.
    let retry = w
        .head
        .review
        .clone()
        .issue_decision(pb::IssueDecisionRequest {
            request_id: format!("issue-{}", drafts[0].id),
            draft_id: drafts[0].id.clone(),
            officer_ids: w.both(),
            document_prefix: "榕市监许决字".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(retry.document_number, issued[0].document_number);
    let case = w.open_case(pb::CaseKind::Licensing).await;
    w.append(&case.id, K::Filing, now).await;
    let seventh = w.decide(&case.id, true).await.unwrap();
    assert_eq!(seventh.document_number, format!("测试执法局1许决字〔{year}〕第7号"));
    h.running.stop().await.unwrap();
}
