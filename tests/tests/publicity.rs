//! Publicity after enforcement over gRPC and the public HTTP surface, on every database backend:
//! a disclosure with its due date for every decision, automatic and confirmed publication,
//! exclusions with their reasons, masking in every public output, withdrawal and correction,
//! the end of publication, keyset pagination under concurrent inserts, the 双公示 exports,
//! cache headers, the listing's page cache against changes and the clock, and the per-client rate
//! limit.

use std::collections::HashSet;
use std::sync::Arc;

use sanxiang_domain::masking::{is_valid_id18, luhn_valid};
use sanxiang_domain::publicity::{CF_FIELDS, XK_FIELDS};
use sanxiang_domain::{TestClock, TimeProvider};
use sanxiang_proto::v1 as pb;
use sanxiang_proto::v1::EventKind as K;
use sanxiang_tests::{
    Backend, Client, Harness, World, backend_tests, http, http_get, http_json, http_text, penalty_draft, public_get,
    refused, shanghai_morning, staff_get,
};
use tonic::Code;

backend_tests!(
    a_decision_gets_a_disclosure_due_in_working_days_across_a_holiday,
    confirmed_publication_waits_for_the_publisher,
    exclusions_are_recorded_with_their_reason_and_never_public,
    no_private_data_reaches_any_public_output,
    a_revised_decision_is_withdrawn_visibly_everywhere,
    corrections_are_published_as_new_versions,
    publication_ends_and_early_stops_follow_the_penalty,
    keyset_pages_return_every_entry_once_while_decisions_are_issued,
    csv_exports_have_the_exact_field_sets_and_amounts_in_wan_yuan,
    the_public_surface_is_cached_and_rate_limited,
    the_listing_pages_follow_every_change_and_the_clock,
    bad_requests_name_the_field_and_store_nothing,
);

/// Submits `draft` and issues the decision as the head.
async fn issue(w: &World, draft: pb::SubmitDraftRequest) -> pb::IssueDecisionResponse {
    let d = w
        .officer
        .review
        .clone()
        .submit_draft(draft)
        .await
        .expect("submit draft")
        .into_inner()
        .draft
        .expect("the answer carries the draft");
    w.issue(&d.id).await.expect("issue decision")
}

/// Opens a penalty case for a company, readies it and issues a fine of `fen`.
async fn fined(w: &World, clock: &TestClock, fen: u64) -> (pb::Case, pb::IssueDecisionResponse) {
    let case = w.open_case(pb::CaseKind::Penalty).await;
    w.ready_for_decision(&case.id, clock.now()).await;
    let issued = issue(w, penalty_draft(&case.id, &[("罚款", fen)])).await;
    (case, issued)
}

async fn public_list(h: &Harness, agency: &str) -> Vec<pb::Disclosure> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = h
            .client(None)
            .publicity
            .list_disclosures(pb::ListDisclosuresRequest {
                agency_id: agency.into(),
                cursor: cursor.clone(),
                limit: 100,
                include_unpublished: false,
            })
            .await
            .expect("list disclosures")
            .into_inner();
        out.extend(page.disclosures);
        if page.next_cursor.is_empty() {
            return out;
        }
        cursor = page.next_cursor;
    }
}

fn status(d: &pb::Disclosure) -> pb::DisclosureStatus {
    pb::DisclosureStatus::try_from(d.status).unwrap()
}

async fn a_decision_gets_a_disclosure_due_in_working_days_across_a_holiday(backend: Backend) {
    // Tue 29 Sep 2026 + 7 working days: Wed 30, 国庆 1–7 Oct, Thu 8, Fri 9, Sat 10 (调休), Mon 12 … Wed 14.
    let (h, clock) = Harness::start_on(backend, "2026-09-29").await;
    let w = h.world(1, "").await;
    let (case, issued) = fined(&w, &clock, 500_000).await;
    let d = staff_get(&w.publisher, &case.id).await;
    assert_eq!((d.due_date.as_str(), d.due_provisional), ("2026-10-14", false));
    assert_eq!(status(&d), pb::DisclosureStatus::Published, "publication is automatic by default");
    let content = d.content.clone().unwrap();
    assert_eq!(content.document_number, issued.document_number);
    assert_eq!(content.decision_date, "2026-09-29");
    assert_eq!(content.fine_fen, 500_000);
    assert_eq!(content.penalty_types, "罚款");
    // A fine of 5,000 yuan is small: published for 3 months.
    assert_eq!(d.publication_end, "2026-12-29");
    assert!(!d.overdue);

    // The decision event records the disclosure in the chain.
    let ev = issued.event.unwrap();
    assert!(ev.payload_json.contains("\"due_date\":\"2026-10-14\""), "{}", ev.payload_json);

    // The public sees it over gRPC and HTTP without a token.
    let public = public_get(&h, &case.id).await.expect("public disclosure");
    assert_eq!(public.content.unwrap().document_number, issued.document_number);
    assert_eq!(public_list(&h, &w.agency.id).await.len(), 1);
    let json = http_json(&h, &format!("/v1/disclosures/{}", case.id)).await;
    assert_eq!(json["content"]["document_number"], issued.document_number.as_str());
    assert_eq!(json["status"], "published");
    let list = http_json(&h, "/v1/disclosures").await;
    assert_eq!(list["disclosures"].as_array().unwrap().len(), 1);

    // Notices and annual statistics are public over HTTP too.
    let notices = http_json(&h, &format!("/v1/notices/{}", w.agency.id)).await;
    assert_eq!(notices["roster"].as_array().unwrap().len(), 2, "{notices}");
    let annual = http_json(&h, &format!("/v1/annual/{}/2025", w.agency.id)).await;
    assert_eq!((annual["year"].as_i64(), annual["disclosures_published"].as_u64()), (Some(2025), Some(0)));
    assert_eq!(http_get(&h, &format!("/v1/annual/{}/2026", w.agency.id)).await.status(), 409, "the year is not over");

    // A licensing decision on a Friday before the Spring Festival: 7 working days.
    clock.set(shanghai_morning("2026-02-13"));
    let lic = w.open_case(pb::CaseKind::Licensing).await;
    w.append(&lic.id, K::Filing, clock.now()).await;
    let draft = pb::SubmitDraftRequest {
        request_id: uuid::Uuid::now_v7().to_string(),
        case_id: lic.id.clone(),
        licensing_action: "准予许可".into(),
        legal_basis: "《中华人民共和国行政许可法》第三十八条".into(),
        facts: "申请材料齐全，符合法定形式".into(),
        ..Default::default()
    };
    issue(&w, draft).await;
    // Fri 13 Feb + 7: Sat 14 (调休), 春节 15–23, Tue 24, Wed 25, Thu 26, Fri 27, Sat 28 (调休), Mon 2 Mar.
    let d = staff_get(&w.publisher, &lic.id).await;
    assert_eq!(d.due_date, "2026-03-02");

    // Another agency may not see the first agency's staff view of unpublished entries.
    let other = h.world(2, "").await;
    refused(
        other
            .publisher
            .publicity
            .clone()
            .list_disclosures(pb::ListDisclosuresRequest {
                agency_id: w.agency.id.clone(),
                include_unpublished: true,
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
        "publisher",
    );
}

async fn confirmed_publication_waits_for_the_publisher(backend: Backend) {
    let (h, clock) = Harness::start_on(backend, "2026-03-02").await;
    let w = h.world(1, "").await;
    h.set_policy(&w.agency.id, |p| p.auto_publish = false).await;
    let (case, _) = fined(&w, &clock, 2_000_000).await;
    let d = staff_get(&w.publisher, &case.id).await;
    assert_eq!(status(&d), pb::DisclosureStatus::Pending);
    assert_eq!(d.due_date, "2026-03-11");
    // Not public until published.
    refused(public_get(&h, &case.id).await, Code::NotFound, "disclosure");
    assert_eq!(http_get(&h, &format!("/v1/disclosures/{}", case.id)).await.status(), 404);
    assert!(public_list(&h, "").await.is_empty());
    // The staff listing shows it.
    let staff = w
        .publisher
        .publicity
        .clone()
        .list_disclosures(pb::ListDisclosuresRequest {
            agency_id: w.agency.id.clone(),
            include_unpublished: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(staff.disclosures.len(), 1);

    // Past the due date it is overdue.
    clock.set(shanghai_morning("2026-03-12"));
    assert!(staff_get(&w.publisher, &case.id).await.overdue);

    let publish = |c: &Client, request_id: &str| {
        let mut p = c.publicity.clone();
        let r = pb::PublishDisclosureRequest { request_id: request_id.into(), disclosure_id: case.id.clone() };
        async move {
            p.publish_disclosure(r).await.map(|r| r.into_inner().disclosure.expect("the answer carries the disclosure"))
        }
    };
    refused(publish(&w.officer, "p1").await, Code::PermissionDenied, "officer");
    let published = publish(&w.publisher, "p1").await.expect("publish");
    assert_eq!(status(&published), pb::DisclosureStatus::Published);
    assert!(!published.overdue);
    // 20,000 yuan is not small: published for three years from the day of publication.
    assert_eq!(published.publication_end, "2029-03-12");
    // A retry with the same request id is the same publication; a new one is refused.
    assert_eq!(publish(&w.publisher, "p1").await.expect("retry").feed_seq, published.feed_seq);
    refused(publish(&w.publisher, "p2").await, Code::FailedPrecondition, "P3.publish-pending");
    assert!(public_get(&h, &case.id).await.is_ok());
    let kinds: Vec<K> = w.events(&case.id).await.iter().map(|e| K::try_from(e.kind).unwrap()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == K::DisclosurePublished).count(), 1);
}

async fn exclusions_are_recorded_with_their_reason_and_never_public(backend: Backend) {
    let (h, clock) = Harness::start_on(backend, "2026-03-02").await;
    let w = h.world(1, "").await;
    // Both SAMR Art. 2 exclusions, set on a general-regime agency (neither is on by default).
    h.set_policy(&w.agency.id, |p| {
        p.exclude_summary_procedure = true;
        p.exclude_warning_only = true;
    })
    .await;

    let mut expected = Vec::new();
    // A warning only (SAMR Art. 2).
    let c = w.open_case(pb::CaseKind::Penalty).await;
    w.ready_for_decision(&c.id, clock.now()).await;
    issue(&w, penalty_draft(&c.id, &[("警告", 0)])).await;
    expected.push((c.id, "warning_only"));
    // Secrets and privacy.
    for (flag, code) in [("state", "state_secret"), ("trade", "trade_secret"), ("privacy", "personal_privacy")] {
        let c = w.open_case(pb::CaseKind::Penalty).await;
        w.ready_for_decision(&c.id, clock.now()).await;
        let mut d = penalty_draft(&c.id, &[("罚款", 100_000)]);
        match flag {
            "state" => d.state_secret = true,
            "trade" => d.trade_secret = true,
            _ => d.personal_privacy = true,
        }
        issue(&w, d).await;
        expected.push((c.id, code));
    }
    // Summary procedure, where the agency excludes it.
    let c = w.open_case(pb::CaseKind::Penalty).await;
    w.ready_for_decision(&c.id, clock.now()).await;
    let mut d = penalty_draft(&c.id, &[("罚款", 5_000)]);
    d.ordinary_procedure = false;
    issue(&w, d).await;
    expected.push((c.id, "summary_procedure"));
    // A minor, always.
    let minor = w
        .officer
        .record
        .clone()
        .open_case(pb::OpenCaseRequest {
            request_id: uuid::Uuid::now_v7().to_string(),
            agency_id: w.agency.id.clone(),
            kind: pb::CaseKind::Penalty as i32,
            title: "未成年人案".into(),
            party: Some(pb::Party {
                r#type: pb::PartyType::NaturalPerson as i32,
                name: "赵小明".into(),
                id_type: "身份证".into(),
                id_number: "350102201001011234".into(),
                is_minor: true,
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
    w.ready_for_decision(&minor.id, clock.now()).await;
    issue(&w, penalty_draft(&minor.id, &[("罚款", 20_000)])).await;
    expected.push((minor.id, "minor"));

    for (id, code) in &expected {
        let d = staff_get(&w.publisher, id).await;
        assert_eq!(status(&d), pb::DisclosureStatus::Excluded, "{code}");
        assert_eq!(d.exclusion_code, *code);
        assert!(!d.exclusion_reason.is_empty());
        refused(public_get(&h, id).await, Code::NotFound, "disclosure");
        // Excluded is final: it cannot be published by hand.
        refused(
            w.publisher
                .publicity
                .clone()
                .publish_disclosure(pb::PublishDisclosureRequest { request_id: "p".into(), disclosure_id: id.clone() })
                .await,
            Code::FailedPrecondition,
            "P3.publish-pending",
        );
    }
    assert!(public_list(&h, "").await.is_empty());
    let json = http_json(&h, "/v1/disclosures").await;
    assert!(json["disclosures"].as_array().unwrap().is_empty());
    // A fine in the ordinary procedure is published.
    let (published, _) = fined(&w, &clock, 100_000).await;
    assert_eq!(status(&staff_get(&w.publisher, &published.id).await), pb::DisclosureStatus::Published);
}

/// An 18-character resident ID number ending in X (the check character of GB 11643).
fn id_with_x() -> String {
    (0..1000).map(|n| format!("35010219850317{n:03}X")).find(|id| is_valid_id18(id)).unwrap()
}

/// A 19-digit bank card number with a valid Luhn check digit.
fn bank_card() -> String {
    (0..10).map(|d| format!("622202123456789012{d}")).find(|s| luhn_valid(s)).unwrap()
}

async fn no_private_data_reaches_any_public_output(backend: Backend) {
    let (h, clock) = Harness::start_on(backend, "2026-03-02").await;
    let w = h.world(1, "").await;
    h.set_policy(&w.agency.id, |p| p.mask_party_name = true).await;
    let id = id_with_x();
    let card = bank_card();
    let case = w
        .officer
        .record
        .clone()
        .open_case(pb::OpenCaseRequest {
            request_id: uuid::Uuid::now_v7().to_string(),
            agency_id: w.agency.id.clone(),
            kind: pb::CaseKind::Penalty as i32,
            title: "销售过期食品案".into(),
            party: Some(pb::Party {
                r#type: pb::PartyType::NaturalPerson as i32,
                name: "王小明".into(),
                id_type: "身份证".into(),
                id_number: id.clone(),
                address: "福州市鼓楼区东街88号".into(),
                phone: "13812345678".into(),
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
    w.ready_for_decision(&case.id, clock.now()).await;
    let mut draft = penalty_draft(&case.id, &[("罚款", 300_000)]);
    draft.facts = format!(
        "当事人王小明（身份证号{id}，联系电话13812345678，住址福州市鼓楼区东街88号）销售过期食品，\
         经证人李小红指认；其固定电话0591-87654321，银行卡号{card}；当事人患有高血压。"
    );
    draft.decision_content = format!("罚款三千元，缴入银行卡{card}以外的国库账户。王小明应于十五日内缴纳。");
    draft.legal_basis = "《中华人民共和国食品安全法》第一百二十四条（证人李小红）".into();
    draft.violation_type = "销售超过保质期的食品（王小明）".into();
    draft.other_persons = vec!["李小红".into()];
    issue(&w, draft).await;

    let secrets = [
        id.as_str(),
        &id[6..],
        "13812345678",
        "87654321",
        card.as_str(),
        "鼓楼区东街88号",
        "高血压",
        "王小明",
        "小明",
        "李小红",
        "小红",
    ];
    let mut outputs = vec![
        ("grpc get", format!("{:?}", public_get(&h, &case.id).await.unwrap())),
        ("grpc list", format!("{:?}", public_list(&h, "").await)),
        ("json one", http_text(&h, &format!("/v1/disclosures/{}", case.id)).await),
        ("json list", http_text(&h, "/v1/disclosures").await),
        ("atom", http_text(&h, "/feed.atom").await),
        ("cf csv", http_text(&h, "/v1/export/cf.csv").await),
        ("html", http_text(&h, "/").await),
    ];
    // A withdrawal's public reason is masked too.
    w.head
        .review
        .clone()
        .revise_decision(pb::ReviseDecisionRequest {
            request_id: "r1".into(),
            case_id: case.id.clone(),
            revision: pb::Revision::Revocation as i32,
            reason: "复议决定撤销：王小明提供了新证据，联系电话13812345678".into(),
            basis: String::new(),
            occurred_at: None,
        })
        .await
        .expect("revise");
    outputs.push(("atom after withdrawal", http_text(&h, "/feed.atom").await));
    outputs.push(("json after withdrawal", http_text(&h, &format!("/v1/disclosures/{}", case.id)).await));
    for (name, text) in &outputs {
        for s in secrets {
            assert!(!text.contains(s), "{name} contains {s:?}: {text}");
        }
    }
    // What remains is the decision itself, with the masked names.
    let json = &outputs[2].1;
    assert!(json.contains("王某某"), "{json}");
    assert!(json.contains("李某某"), "{json}");
    assert!(json.contains("销售过期食品"), "{json}");
    assert!(json.contains(&id[..6]), "the region part of the ID number stays: {json}");
    let withdrawn = &outputs[8].1;
    assert!(withdrawn.contains("复议决定撤销"), "{withdrawn}");
}

async fn a_revised_decision_is_withdrawn_visibly_everywhere(backend: Backend) {
    let (h, clock) = Harness::start_on(backend, "2026-09-29").await;
    let w = h.world(1, "").await;
    let (case, _) = fined(&w, &clock, 300_000).await;

    // A watcher from the current head of the feed.
    let mut watch = h
        .client(None)
        .publicity
        .watch_disclosures(pb::WatchDisclosuresRequest { agency_id: String::new(), after_feed_seq: 0 })
        .await
        .expect("watch")
        .into_inner();

    let revise = |case_id: String, request_id: &'static str| {
        let mut r = w.head.review.clone();
        async move {
            r.revise_decision(pb::ReviseDecisionRequest {
                request_id: request_id.into(),
                case_id,
                revision: pb::Revision::Revocation as i32,
                reason: "行政复议决定撤销原处罚决定".into(),
                basis: "某复决字〔2026〕1号".into(),
                occurred_at: None,
            })
            .await
            .expect("revise")
        }
    };
    revise(case.id.clone(), "r1").await;
    // Automatic publication withdraws at once, with the reason.
    let d = staff_get(&w.publisher, &case.id).await;
    assert_eq!(status(&d), pb::DisclosureStatus::Withdrawn);
    assert_eq!(d.revision, "revocation");
    assert_eq!(d.withdrawal_reason, "行政复议决定撤销原处罚决定");
    // Revised on Tue 29 Sep: 3 working days are Wed 30 Sep, Thu 8 Oct, Fri 9 Oct.
    assert_eq!(d.withdrawal_due_date, "2026-10-09");

    // gRPC: the watcher sees the withdrawal; the public still sees the entry, as withdrawn.
    let seen = tokio::time::timeout(std::time::Duration::from_secs(10), watch.message())
        .await
        .expect("watch delivers in time")
        .expect("stream")
        .expect("an item")
        .disclosure
        .expect("the answer carries the disclosure");
    assert_eq!(seen.id, case.id);
    assert_eq!(status(&seen), pb::DisclosureStatus::Withdrawn);
    assert_eq!(seen.withdrawal_reason, "行政复议决定撤销原处罚决定");
    let public = public_get(&h, &case.id).await.expect("a withdrawal stays visible");
    assert_eq!(status(&public), pb::DisclosureStatus::Withdrawn);
    assert_eq!(public_list(&h, "").await.len(), 1);
    // JSON.
    let json = http_json(&h, "/v1/disclosures").await;
    assert_eq!(json["disclosures"][0]["status"], "withdrawn");
    assert_eq!(json["disclosures"][0]["withdrawal_reason"], "行政复议决定撤销原处罚决定");
    // Atom: a tombstone with the reason (RFC 6721).
    let atom = http_text(&h, "/feed.atom").await;
    assert!(atom.contains(&format!("<at:deleted-entry ref=\"urn:sanxiang:disclosure:{}\"", case.id)), "{atom}");
    assert!(atom.contains("<at:comment>撤回公示：行政复议决定撤销原处罚决定</at:comment>"), "{atom}");
    assert!(!atom.contains("<entry>"), "the withdrawn entry is no longer a live entry: {atom}");

    // With confirmed publication, the revision owes a withdrawal within 3 working days.
    h.set_policy(&w.agency.id, |p| p.auto_publish = false).await;
    let (second, _) = fined(&w, &clock, 300_000).await;
    w.publisher
        .publicity
        .clone()
        .publish_disclosure(pb::PublishDisclosureRequest { request_id: "p".into(), disclosure_id: second.id.clone() })
        .await
        .expect("publish");
    revise(second.id.clone(), "r2").await;
    let d = staff_get(&w.publisher, &second.id).await;
    assert_eq!(status(&d), pb::DisclosureStatus::WithdrawalPending);
    assert_eq!(d.withdrawal_due_date, "2026-10-09");
    clock.set(shanghai_morning("2026-10-12"));
    assert!(staff_get(&w.publisher, &second.id).await.overdue, "a late withdrawal is overdue");
    let done = w
        .publisher
        .publicity
        .clone()
        .withdraw_disclosure(pb::WithdrawDisclosureRequest {
            request_id: "w".into(),
            disclosure_id: second.id.clone(),
            reason: "原处罚决定已被撤销".into(),
        })
        .await
        .expect("withdraw")
        .into_inner()
        .disclosure
        .expect("the answer carries the disclosure");
    assert_eq!(status(&done), pb::DisclosureStatus::Withdrawn);
    assert_eq!(done.withdrawal_reason, "原处罚决定已被撤销");
    // Withdrawing a disclosure whose decision stands is refused.
    let (third, _) = fined(&w, &clock, 300_000).await;
    refused(
        w.publisher
            .publicity
            .clone()
            .withdraw_disclosure(pb::WithdrawDisclosureRequest {
                request_id: "w".into(),
                disclosure_id: third.id.clone(),
                reason: "无".into(),
            })
            .await,
        Code::FailedPrecondition,
        "P6.withdraw-after-revision",
    );
    // A revision of a decision not yet published cancels it: nothing was ever public.
    revise(third.id.clone(), "r3").await;
    assert_eq!(status(&staff_get(&w.publisher, &third.id).await), pb::DisclosureStatus::Cancelled);
    let kinds: Vec<K> = w.events(&second.id).await.iter().map(|e| K::try_from(e.kind).unwrap()).collect();
    assert!(kinds.ends_with(&[K::DisclosurePublished, K::DecisionRevised, K::DisclosureWithdrawn]), "{kinds:?}");
}

async fn corrections_are_published_as_new_versions(backend: Backend) {
    let (h, clock) = Harness::start_on(backend, "2026-03-02").await;
    let w = h.world(1, "").await;
    let case = w.open_case(pb::CaseKind::Penalty).await;
    w.ready_for_decision(&case.id, clock.now()).await;
    let mut draft = penalty_draft(&case.id, &[("罚款", 300_000)]);
    // A name the masking cannot know (an uncommon compound surname, no role word before it):
    // what a correction is for.
    draft.facts = "经现场检查，货品系东郭大文采购".into();
    issue(&w, draft).await;
    assert!(http_text(&h, &format!("/v1/disclosures/{}", case.id)).await.contains("东郭大文"));
    let mut p = w.publisher.publicity.clone();
    refused(
        p.correct_disclosure(pb::CorrectDisclosureRequest {
            request_id: "c".into(),
            disclosure_id: case.id.clone(),
            reason: String::new(),
            mask_names: vec!["东郭大文".into()],
            withdrawal_reason: String::new(),
        })
        .await,
        Code::InvalidArgument,
        "reason",
    );
    let corrected = p
        .correct_disclosure(pb::CorrectDisclosureRequest {
            request_id: "c".into(),
            disclosure_id: case.id.clone(),
            reason: "补充遮蔽证人姓名".into(),
            mask_names: vec!["东郭大文".into()],
            withdrawal_reason: String::new(),
        })
        .await
        .expect("correct")
        .into_inner()
        .disclosure
        .expect("the answer carries the disclosure");
    assert_eq!(corrected.version, 2);
    assert_eq!(corrected.correction_reason, "补充遮蔽证人姓名");
    let json = http_json(&h, &format!("/v1/disclosures/{}", case.id)).await;
    assert_eq!(json["version"], 2);
    let text = json.to_string();
    assert!(!text.contains("东郭大文") && text.contains("东某某某"), "{text}");
    let atom = http_text(&h, "/feed.atom").await;
    assert!(!atom.contains("东郭大文"), "{atom}");
    let kinds: Vec<K> = w.events(&case.id).await.iter().map(|e| K::try_from(e.kind).unwrap()).collect();
    assert_eq!(kinds.last(), Some(&K::DisclosureCorrected));
}

async fn publication_ends_and_early_stops_follow_the_penalty(backend: Backend) {
    let (h, clock) = Harness::start_on(backend, "2026-03-02").await;
    let w = h.world(1, "").await;
    // 通报批评: three months.
    let short = w.open_case(pb::CaseKind::Penalty).await;
    w.ready_for_decision(&short.id, clock.now()).await;
    issue(&w, penalty_draft(&short.id, &[("通报批评", 0)])).await;
    // 吊销许可证件: three years, never stopped early.
    let revoked = w.open_case(pb::CaseKind::Penalty).await;
    w.ready_for_decision(&revoked.id, clock.now()).await;
    issue(&w, penalty_draft(&revoked.id, &[("吊销许可证件", 0)])).await;
    // A large fine: three years, may stop early after a year.
    let (fine, _) = fined(&w, &clock, 5_000_000).await;
    assert_eq!(staff_get(&w.publisher, &short.id).await.publication_end, "2026-06-02");
    assert_eq!(public_list(&h, "").await.len(), 3);

    let end = |id: String| {
        let mut p = w.publisher.publicity.clone();
        async move {
            p.end_publication(pb::EndPublicationRequest {
                request_id: uuid::Uuid::now_v7().to_string(),
                disclosure_id: id,
                reason: "当事人已履行处罚决定并申请提前停止公示".into(),
            })
            .await
            .map(|r| r.into_inner().disclosure.expect("the answer carries the disclosure"))
        }
    };
    refused(end(fine.id.clone()).await, Code::FailedPrecondition, "P7.minimum_period");
    refused(end(revoked.id.clone()).await, Code::FailedPrecondition, "P7.never_stop_early");

    // The day after the end of the short period it leaves the listings; the record stays.
    clock.set(shanghai_morning("2026-06-02"));
    assert_eq!(public_list(&h, "").await.len(), 3, "still public on its last day");
    clock.set(shanghai_morning("2026-06-03"));
    let listed: HashSet<String> = public_list(&h, "").await.into_iter().map(|d| d.id).collect();
    assert_eq!(listed, HashSet::from([revoked.id.clone(), fine.id.clone()]));
    // The public gets a tombstone (410 over HTTP); staff see it as expired (RULES P7).
    let tomb = public_get(&h, &short.id).await.expect("tombstone");
    assert_eq!(status(&tomb), pb::DisclosureStatus::Expired);
    assert!(tomb.content.unwrap().facts.is_empty());
    assert_eq!(http_get(&h, &format!("/v1/disclosures/{}", short.id)).await.status(), 410);
    assert_eq!(status(&staff_get(&w.publisher, &short.id).await), pb::DisclosureStatus::Expired);

    // After a year the fine's publication may end early; the licence revocation's never.
    clock.set(shanghai_morning("2027-03-03"));
    let ended = end(fine.id.clone()).await.expect("early stop");
    assert_eq!(status(&ended), pb::DisclosureStatus::Ended);
    refused(end(revoked.id.clone()).await, Code::FailedPrecondition, "P7.never_stop_early");
    let listed: Vec<String> = public_list(&h, "").await.into_iter().map(|d| d.id).collect();
    assert_eq!(listed, vec![revoked.id.clone()]);
    let atom = http_text(&h, "/feed.atom").await;
    assert!(atom.contains(&format!("ref=\"urn:sanxiang:disclosure:{}\"", fine.id)), "{atom}");
}

async fn keyset_pages_return_every_entry_once_while_decisions_are_issued(backend: Backend) {
    let (h, clock) = Harness::start_on(backend, "2026-03-02").await;
    let w = Arc::new(h.world(1, "").await);
    let mut before = HashSet::new();
    for _ in 0..13 {
        before.insert(fined(&w, &clock, 100_000).await.0.id);
    }
    // Page through JSON with 3 per page while another task keeps issuing decisions.
    let writer = {
        let w = Arc::clone(&w);
        let clock = Arc::clone(&clock);
        tokio::spawn(async move {
            let mut ids = Vec::new();
            for _ in 0..8 {
                ids.push(fined(&w, &clock, 100_000).await.0.id);
            }
            ids
        })
    };
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = http_json(&h, &format!("/v1/disclosures?limit=3&cursor={cursor}")).await;
        let items = page["disclosures"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(items.iter().map(|d| d["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => break,
        }
        tokio::task::yield_now().await;
    }
    let inserted = writer.await.unwrap();
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no entry twice: {seen:?}");
    for id in &before {
        assert!(unique.contains(id), "entry {id} missing");
    }
    assert!(seen.iter().all(|id| before.contains(id) || inserted.contains(id)));
    // gRPC pages the same way and now returns all of them, newest first.
    let all = public_list(&h, "").await;
    assert_eq!(all.len(), 21);
    assert!(all.windows(2).all(|p| p[0].feed_seq > p[1].feed_seq));
    // A cursor that is not one is refused.
    assert_eq!(http_get(&h, "/v1/disclosures?cursor=bogus").await.status(), 400);
}

async fn csv_exports_have_the_exact_field_sets_and_amounts_in_wan_yuan(backend: Backend) {
    let (h, clock) = Harness::start_on(backend, "2026-03-02").await;
    let w = h.world(1, "").await;
    let case = w.open_case(pb::CaseKind::Penalty).await;
    w.ready_for_decision(&case.id, clock.now()).await;
    let mut d = penalty_draft(&case.id, &[("罚款", 1_234_567), ("没收违法所得", 0)]);
    d.confiscation_fen = 1_500_000;
    d.facts = "当事人销售过期食品, 共计\"十箱\"".into();
    let issued = issue(&w, d).await;
    let lic = w.open_case(pb::CaseKind::Licensing).await;
    w.append(&lic.id, K::Filing, clock.now()).await;
    let licence = issue(
        &w,
        pb::SubmitDraftRequest {
            request_id: uuid::Uuid::now_v7().to_string(),
            case_id: lic.id.clone(),
            licensing_action: "准予许可".into(),
            legal_basis: "《食品经营许可和备案管理办法》".into(),
            facts: "申请材料齐全".into(),
            violation_type: "普通".into(),
            decision_content: "食品销售经营者（预包装食品销售）".into(),
            licence_name: "食品经营许可证".into(),
            licence_number: "JY13501020000001".into(),
            licence_valid_from: "2026-03-02".into(),
            licence_valid_to: "2031-03-01".into(),
            ..Default::default()
        },
    )
    .await;

    let cf = http_text(&h, "/v1/export/cf.csv").await;
    let mut lines = cf.trim_start_matches('\u{feff}').split("\r\n");
    assert_eq!(lines.next().unwrap(), CF_FIELDS.join(","));
    let row = lines.next().unwrap();
    assert!(row.contains(&issued.document_number));
    assert!(row.contains(",1.234567,1.5,"), "amounts in 万元: {row}");
    assert!(row.contains("\"当事人销售过期食品, 共计\"\"十箱\"\"\""), "CSV quoting: {row}");
    assert!(row.contains("福州某某贸易有限公司,法人及非法人组织,"), "{row}");
    assert_eq!(lines.next(), Some(""), "one penalty row");

    let xk = http_text(&h, "/v1/export/xk.csv").await;
    let mut lines = xk.trim_start_matches('\u{feff}').split("\r\n");
    assert_eq!(lines.next().unwrap(), XK_FIELDS.join(","));
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(row.len(), XK_FIELDS.len());
    let col = |name: &str| row[XK_FIELDS.iter().position(|f| *f == name).unwrap()];
    assert_eq!(col("行政许可决定文书号"), licence.document_number);
    assert_eq!(col("许可证书名称"), "食品经营许可证");
    assert_eq!(col("许可编号"), "JY13501020000001");
    assert_eq!(col("有效期自"), "2026-03-02");
    assert_eq!(col("有效期至"), "2031-03-01");
    assert_eq!(col("许可机关"), w.agency.name);
    assert_eq!(col("当前状态"), "有效");
}

async fn the_public_surface_is_cached_and_rate_limited(backend: Backend) {
    let clock = Arc::new(TestClock::new(shanghai_morning("2026-03-02")));
    let h = Harness::start_with(backend, clock.clone(), |c| {
        c.http_rate_burst = 5;
        c.http_rate_per_second = 1;
    })
    .await;
    let r = http_get(&h, "/v1/disclosures").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "public, max-age=30");
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    let again =
        reqwest::Client::new().get(http(&h, "/v1/disclosures")).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(again.status(), 304);
    let mut limited = None;
    for _ in 0..10 {
        let r = http_get(&h, "/feed.atom").await;
        if r.status() == 429 {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/atom+xml"));
    }
    let limited = limited.expect("the sixth request in a burst of five is refused");
    assert!(limited.headers().contains_key("retry-after"));
}

/// The ids of a JSON listing page, its next cursor and its ETag.
async fn listing(h: &Harness, path: &str) -> (Vec<String>, Option<String>, String) {
    let r = http_get(h, path).await;
    assert_eq!(r.status(), 200, "GET {path}");
    let tag = r.headers()["etag"].to_str().unwrap().to_owned();
    let page: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    let ids = page["disclosures"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap().to_owned()).collect();
    (ids, page["next_cursor"].as_str().map(str::to_owned), tag)
}

/// The JSON listing's pages are kept encoded between requests: every change (a new decision,
/// a correction) and the end of an entry's publication period by the clock alone show on the
/// very next request, on the first page and on a page behind a cursor alike.
async fn the_listing_pages_follow_every_change_and_the_clock(backend: Backend) {
    let (h, clock) = Harness::start_on(backend, "2026-03-02").await;
    let w = h.world(1, "").await;
    // 通报批评: public until 2026-06-02 inclusive.
    let short = w.open_case(pb::CaseKind::Penalty).await;
    w.ready_for_decision(&short.id, clock.now()).await;
    issue(&w, penalty_draft(&short.id, &[("通报批评", 0)])).await;
    let (fine, _) = fined(&w, &clock, 5_000_000).await;

    let first = listing(&h, "/v1/disclosures").await;
    assert_eq!(first.0, vec![fine.id.clone(), short.id.clone()]);
    assert_eq!(listing(&h, "/v1/disclosures").await, first, "unchanged: the same bytes");
    let (one, cursor, _) = listing(&h, "/v1/disclosures?limit=1").await;
    assert_eq!(one, vec![fine.id.clone()]);
    let behind = format!("/v1/disclosures?limit=1&cursor={}", cursor.expect("a second page"));
    assert_eq!(listing(&h, &behind).await.0, vec![short.id.clone()]);

    // A new decision is on the first page at once (a large fine: public for three years).
    let (third, _) = fined(&w, &clock, 5_000_000).await;
    assert_eq!(listing(&h, "/v1/disclosures").await.0, vec![third.id.clone(), fine.id.clone(), short.id.clone()]);

    // A correction changes an entry's content, not the order: a new body and ETag.
    let before = listing(&h, "/v1/disclosures").await;
    w.publisher
        .publicity
        .clone()
        .correct_disclosure(pb::CorrectDisclosureRequest {
            request_id: uuid::Uuid::now_v7().to_string(),
            disclosure_id: fine.id.clone(),
            reason: "更正处罚依据的表述".into(),
            mask_names: vec!["东郭大文".into()],
            withdrawal_reason: String::new(),
        })
        .await
        .expect("correct");
    let after = listing(&h, "/v1/disclosures").await;
    assert_eq!(after.0, before.0);
    assert_ne!(after.2, before.2, "the corrected entry is a new page");
    let text = http_text(&h, "/v1/disclosures").await;
    assert!(text.contains("\"version\":2"), "{text}");

    // The last day of the short publication it is still listed; the day after, with nothing
    // written meanwhile, it has left both pages; with the clock set back it is listed again.
    clock.set(shanghai_morning("2026-06-02"));
    assert!(listing(&h, "/v1/disclosures").await.0.contains(&short.id));
    assert_eq!(listing(&h, &behind).await.0, vec![short.id.clone()]);
    clock.set(shanghai_morning("2026-06-03"));
    assert_eq!(listing(&h, "/v1/disclosures").await.0, vec![third.id.clone(), fine.id.clone()]);
    assert_eq!(listing(&h, &behind).await.0, Vec::<String>::new());
    clock.set(shanghai_morning("2026-06-02"));
    assert!(listing(&h, "/v1/disclosures").await.0.contains(&short.id));
}

async fn bad_requests_name_the_field_and_store_nothing(backend: Backend) {
    let (h, clock) = Harness::start_on(backend, "2026-03-02").await;
    let w = h.world(1, "").await;
    let mut admin = h.admin.publicity.clone();
    let mut bad = pb::PublicityPolicy { agency_id: w.agency.id.clone(), penalty_days: 0, ..Default::default() };
    refused(
        admin
            .put_publicity_policy(pb::PutPublicityPolicyRequest { policy: Some(bad.clone()), regime_defaults: false })
            .await,
        Code::InvalidArgument,
        "policy.penalty_days",
    );
    bad.penalty_days = 7;
    bad.licensing_days = 7;
    bad.other_days = 20;
    bad.short_months = 40;
    bad.long_months = 36;
    bad.special_regime_min_months = 12;
    refused(
        admin.put_publicity_policy(pb::PutPublicityPolicyRequest { policy: Some(bad), regime_defaults: false }).await,
        Code::InvalidArgument,
        "policy.short_months",
    );
    let stored = admin
        .get_publicity_policy(pb::GetPublicityPolicyRequest { agency_id: w.agency.id.clone() })
        .await
        .unwrap()
        .into_inner()
        .policy
        .expect("the answer carries the policy");
    assert_eq!((stored.penalty_days, stored.auto_publish), (7, true), "defaults: nothing was stored");
    // An officer may not change the policy.
    refused(
        w.officer
            .publicity
            .clone()
            .put_publicity_policy(pb::PutPublicityPolicyRequest { policy: Some(stored), regime_defaults: false })
            .await,
        Code::PermissionDenied,
        "officer",
    );
    let (case, _) = fined(&w, &clock, 100_000).await;
    let before = w.events(&case.id).await.len();
    refused(
        w.publisher
            .publicity
            .clone()
            .end_publication(pb::EndPublicationRequest {
                request_id: String::new(),
                disclosure_id: case.id.clone(),
                reason: "x".into(),
            })
            .await,
        Code::InvalidArgument,
        "request_id",
    );
    refused(
        w.publisher
            .publicity
            .clone()
            .correct_disclosure(pb::CorrectDisclosureRequest {
                request_id: "c".into(),
                disclosure_id: case.id.clone(),
                reason: "遮蔽".into(),
                mask_names: vec!["王".into()],
                withdrawal_reason: String::new(),
            })
            .await,
        Code::InvalidArgument,
        "mask_names[0]",
    );
    refused(public_get(&h, "no-such-id").await, Code::NotFound, "disclosure");
    refused(
        h.client(None)
            .publicity
            .list_disclosures(pb::ListDisclosuresRequest { limit: 501, ..Default::default() })
            .await,
        Code::InvalidArgument,
        "limit",
    );
    assert_eq!(w.events(&case.id).await.len(), before, "refused requests record nothing");
    // A draft's dates must be dates.
    let c2 = w.open_case(pb::CaseKind::Penalty).await;
    let mut d = penalty_draft(&c2.id, &[("罚款", 1)]);
    d.restriction_ends = "2026-02-30".into();
    refused(w.officer.review.clone().submit_draft(d).await, Code::InvalidArgument, "restriction_ends");
}
