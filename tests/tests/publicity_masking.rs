//! Masking that fails closed, over gRPC and the public HTTP surface, on every database backend:
//! a decision whose masked content still resembles personal data is held instead of published
//! automatically, shown to staff with its suspicious spans, counted for the supervisor, kept off
//! every public output until a publisher confirms or corrects it; names nobody listed and the
//! phrasings of real case text are masked while the officers stay; a withdrawn entry's public
//! reason can be corrected.

use std::sync::Arc;

use sanxiang_domain::{TestClock, TimeProvider};
use sanxiang_proto::v1 as pb;
use sanxiang_proto::v1::EventKind as K;
use sanxiang_tests::{Backend, Harness, World, backend_tests, penalty_draft, refused};
use tonic::Code;

backend_tests!(
    a_suspicious_decision_is_held_off_every_public_output_until_confirmed,
    a_correction_publishes_a_held_disclosure,
    real_phrasings_and_unlisted_names_are_masked_and_officers_stay,
    a_withdrawn_entrys_reason_can_be_corrected,
);

async fn start(backend: Backend) -> (Harness, Arc<TestClock>) {
    Harness::start_on(backend, "2026-03-02").await
}

async fn get_text(h: &Harness, path: &str) -> (u16, String) {
    let r = reqwest::get(format!("http://{}{path}", h.running.http_addr)).await.expect("http get");
    let code = r.status().as_u16();
    (code, r.text().await.expect("body"))
}

/// Opens a penalty case, files it and settles the statement period.
async fn ready_case(w: &World, clock: &TestClock) -> pb::Case {
    let case = w.open_case(pb::CaseKind::Penalty).await;
    w.ready_for_decision(&case.id, clock.now()).await;
    case
}

/// Issues a fine on a draft with these facts and other persons.
async fn issue_with_facts(w: &World, case_id: &str, facts: &str, others: &[&str]) {
    let draft = pb::SubmitDraftRequest {
        facts: facts.into(),
        decision_content: "罚款3000元".into(),
        other_persons: others.iter().map(|s| (*s).to_owned()).collect(),
        ..penalty_draft(case_id, &[("罚款", 300_000)])
    };
    let d = w.submit(draft).await;
    w.issue(&d.id).await.expect("issue decision");
}

async fn staff_get(w: &World, id: &str) -> pb::Disclosure {
    sanxiang_tests::staff_get(&w.publisher, id).await
}

fn status(d: &pb::Disclosure) -> pb::DisclosureStatus {
    pb::DisclosureStatus::try_from(d.status).unwrap()
}

/// Every public place an entry can appear in: gRPC (one and the listing), JSON (one and the
/// listing), Atom, CF CSV (by the document number: the export has no ids) and the HTML page.
/// `true` for each that shows the entry.
async fn public_places(h: &Harness, id: &str, document_number: &str) -> Vec<(&'static str, bool)> {
    assert!(!document_number.is_empty());
    let public = h.client(None).publicity;
    let one = public.clone().get_disclosure(pb::GetDisclosureRequest { disclosure_id: id.into() }).await;
    let listed = public
        .clone()
        .list_disclosures(pb::ListDisclosuresRequest { limit: 500, ..Default::default() })
        .await
        .expect("public list")
        .into_inner()
        .disclosures
        .iter()
        .any(|d| d.id == id);
    let (json_one, _) = get_text(h, &format!("/v1/disclosures/{id}")).await;
    let mut out = vec![("grpc get", one.is_ok()), ("grpc list", listed), ("json get", json_one == 200)];
    for (name, path) in
        [("json list", "/v1/disclosures"), ("atom", "/feed.atom"), ("cf csv", "/v1/export/cf.csv"), ("html", "/")]
    {
        let (code, body) = get_text(h, path).await;
        assert_eq!(code, 200, "{path}");
        let shown = if name == "cf csv" { body.contains(document_number) } else { body.contains(id) };
        out.push((name, shown));
    }
    out
}

async fn held_items(h: &Harness, w: &World) -> Vec<pb::OverdueItem> {
    let sup = h.principal(pb::Role::Supervisor, &w.agency.id, "").await;
    sup.publicity
        .clone()
        .list_overdue(pb::ListOverdueRequest { agency_id: w.agency.id.clone() })
        .await
        .expect("list overdue")
        .into_inner()
        .items
        .into_iter()
        .filter(|i| i.kind == pb::OverdueKind::HeldDisclosure as i32)
        .collect()
}

/// A 15-digit case reference is no ID number, phone or card the masking knows, and is no
/// article, document number, amount or date either: it resembles personal data.
const SUSPICIOUS_FACTS: &str =
    "当事人于2026年1月2日销售过期食品，相关记录编号２０２６０１０２０００１２３４，违法所得500元。";

async fn a_suspicious_decision_is_held_off_every_public_output_until_confirmed(backend: Backend) {
    let (h, clock) = start(backend).await;
    let w = h.world(1, "").await;
    let case = ready_case(&w, &clock).await;
    issue_with_facts(&w, &case.id, SUSPICIOUS_FACTS, &[]).await;

    // Held, not published (the agency publishes automatically), with the span shown to staff.
    let d = staff_get(&w, &case.id).await;
    assert_eq!(status(&d), pb::DisclosureStatus::Held);
    assert_eq!(d.held_spans.len(), 1, "{:?}", d.held_spans);
    let span = &d.held_spans[0];
    assert_eq!((span.field.as_str(), span.kind.as_str()), ("facts", "digits"));
    let facts: Vec<char> = d.content.as_ref().unwrap().facts.chars().collect();
    let spanned: String = facts[span.start as usize..span.end as usize].iter().collect();
    assert_eq!(spanned, "２０２６０１０２０００１２３４");
    assert!(span.excerpt.contains("【２０２６０１０２０００１２３４】"), "{}", span.excerpt);
    // The decision event records where and what, never the text.
    let events = w
        .officer
        .record
        .clone()
        .list_events(pb::ListEventsRequest { case_id: case.id.clone(), after_seq: 0, limit: 0 })
        .await
        .unwrap()
        .into_inner()
        .events;
    let decision = events.iter().find(|e| e.kind == K::Decision as i32).expect("decision event");
    let payload = decision.payload_json.clone();
    assert!(payload.contains("\"held_spans\"") && payload.contains("\"digits\""), "{payload}");
    assert!(payload.contains("\"status\":\"held\""), "{payload}");

    // Nowhere public.
    let number = d.content.as_ref().unwrap().document_number.clone();
    for (place, shown) in public_places(&h, &case.id, &number).await {
        assert!(!shown, "a held disclosure appeared in {place}");
    }
    // The supervisor sees the hold.
    let items = held_items(&h, &w).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].subject_id, case.id);
    assert!(items[0].detail.contains("digits"), "{}", items[0].detail);

    // The staff listing shows the spans too.
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
        .expect("staff list")
        .into_inner();
    assert_eq!(staff.disclosures[0].held_spans, d.held_spans);

    // A publisher confirms: published everywhere, no longer held.
    let published = w
        .publisher
        .publicity
        .clone()
        .publish_disclosure(pb::PublishDisclosureRequest { request_id: "p1".into(), disclosure_id: case.id.clone() })
        .await
        .expect("publish")
        .into_inner()
        .disclosure
        .expect("the answer carries the disclosure");
    assert_eq!(status(&published), pb::DisclosureStatus::Published);
    assert!(published.held_spans.is_empty());
    for (place, shown) in public_places(&h, &case.id, &number).await {
        assert!(shown, "a confirmed disclosure is missing from {place}");
    }
    assert!(held_items(&h, &w).await.is_empty());
}

async fn a_correction_publishes_a_held_disclosure(backend: Backend) {
    let (h, clock) = start(backend).await;
    let w = h.world(1, "").await;
    let case = ready_case(&w, &clock).await;
    issue_with_facts(&w, &case.id, SUSPICIOUS_FACTS, &[]).await;
    let held = staff_get(&w, &case.id).await;
    assert_eq!(status(&held), pb::DisclosureStatus::Held);
    let number = held.content.as_ref().unwrap().document_number.clone();
    for (place, shown) in public_places(&h, &case.id, &number).await {
        assert!(!shown, "a held disclosure appeared in {place}");
    }
    let mut p = w.publisher.publicity.clone();
    // Only a withdrawn entry has a withdrawal reason to correct; nothing is written.
    refused(
        p.correct_disclosure(pb::CorrectDisclosureRequest {
            request_id: "c0".into(),
            disclosure_id: case.id.clone(),
            reason: "核对后发布".into(),
            mask_names: vec![],
            withdrawal_reason: "不适用".into(),
        })
        .await,
        Code::InvalidArgument,
        "withdrawal_reason",
    );
    assert_eq!(status(&staff_get(&w, &case.id).await), pb::DisclosureStatus::Held);
    let corrected = p
        .correct_disclosure(pb::CorrectDisclosureRequest {
            request_id: "c1".into(),
            disclosure_id: case.id.clone(),
            reason: "核对：编号为检查记录编号，不属于个人信息".into(),
            mask_names: vec![],
            withdrawal_reason: String::new(),
        })
        .await
        .expect("correct")
        .into_inner()
        .disclosure
        .expect("the answer carries the disclosure");
    assert_eq!(status(&corrected), pb::DisclosureStatus::Published);
    assert_eq!(corrected.version, 2);
    assert!(!corrected.publication_end.is_empty());
    for (place, shown) in public_places(&h, &case.id, &number).await {
        assert!(shown, "a corrected held disclosure is missing from {place}");
    }
}

async fn real_phrasings_and_unlisted_names_are_masked_and_officers_stay(backend: Backend) {
    let (h, clock) = start(backend).await;
    let w = h.world(1, "").await;
    let case = ready_case(&w, &clock).await;
    // The harness's officers are 张三 and 李四; 王小明 is listed; the others nobody listed.
    let facts = "执法人员张三、李四于2026年1月2日检查发现，证人赵建国称，店员（１３８１２３４５６７８）\
                 家住福州市鼓楼区五一路12号3栋501室，举报人：周婷婷、钱志强和王小明在场，当事人之妻刘桂芳\
                 身患糖尿病，电话021－67247831，邮箱zhao.jg@example.com，身份证350102 19900101 123X。\
                 依据《中华人民共和国行政处罚法》第二十三条，处罚款20000元。";
    issue_with_facts(&w, &case.id, facts, &["王小明"]).await;
    let d = staff_get(&w, &case.id).await;
    assert_eq!(status(&d), pb::DisclosureStatus::Published, "{:?}", d.held_spans);
    let (code, json) = get_text(&h, &format!("/v1/disclosures/{}", case.id)).await;
    assert_eq!(code, 200);
    for secret in [
        "赵建国",
        "周婷婷",
        "钱志强",
        "王小明",
        "刘桂芳",
        "１３８１２３４５６７８",
        "五一路12号",
        "501室",
        "糖尿病",
        "67247831",
        "zhao.jg@example.com",
        "19900101",
    ] {
        assert!(!json.contains(secret), "{secret} in {json}");
    }
    for kept in ["执法人员张三、李四", "2026年1月2日", "第二十三条", "罚款20000元", "赵某某", "刘某某", "350102"]
    {
        assert!(json.contains(kept), "{kept} lost in {json}");
    }
}

async fn a_withdrawn_entrys_reason_can_be_corrected(backend: Backend) {
    let (h, clock) = start(backend).await;
    let w = h.world(1, "").await;
    let case = ready_case(&w, &clock).await;
    issue_with_facts(&w, &case.id, "当事人销售过期食品", &[]).await;
    w.head
        .review
        .clone()
        .revise_decision(pb::ReviseDecisionRequest {
            request_id: "r1".into(),
            case_id: case.id.clone(),
            revision: pb::Revision::Revocation as i32,
            reason: "复议机关撤销原决定，申请人东郭大文提供新证据".into(),
            basis: String::new(),
            occurred_at: None,
        })
        .await
        .expect("revise");
    let d = staff_get(&w, &case.id).await;
    assert_eq!(status(&d), pb::DisclosureStatus::Withdrawn);
    let mut p = w.publisher.publicity.clone();
    // Further names masked in the stored public reason.
    let corrected = p
        .correct_disclosure(pb::CorrectDisclosureRequest {
            request_id: "c1".into(),
            disclosure_id: case.id.clone(),
            reason: "补充遮蔽撤回理由中的姓名".into(),
            mask_names: vec!["东郭大文".into()],
            withdrawal_reason: String::new(),
        })
        .await
        .expect("correct withdrawn")
        .into_inner()
        .disclosure
        .expect("the answer carries the disclosure");
    assert_eq!(status(&corrected), pb::DisclosureStatus::Withdrawn);
    assert!(!corrected.withdrawal_reason.contains("东郭大文"), "{}", corrected.withdrawal_reason);
    assert!(corrected.withdrawal_reason.starts_with("复议机关撤销原决定"), "{}", corrected.withdrawal_reason);
    // A new public reason, through the same pipeline.
    let corrected = p
        .correct_disclosure(pb::CorrectDisclosureRequest {
            request_id: "c2".into(),
            disclosure_id: case.id.clone(),
            reason: "更正撤回理由".into(),
            mask_names: vec![],
            withdrawal_reason: "经复议撤销，证人孙海燕联系电话13912345678".into(),
        })
        .await
        .expect("correct the reason")
        .into_inner()
        .disclosure
        .expect("the answer carries the disclosure");
    assert_eq!(corrected.version, 3);
    assert_eq!(corrected.withdrawal_reason, "经复议撤销，证人孙某某联系电话139****5678");
    let (_, json) = get_text(&h, &format!("/v1/disclosures/{}", case.id)).await;
    assert!(json.contains("经复议撤销，证人孙某某联系电话139****5678"), "{json}");
    assert!(!json.contains("孙海燕") && !json.contains("13912345678"), "{json}");

    // An entry waiting for confirmation is not corrected (nothing is written).
    let mut policy = h
        .admin
        .publicity
        .clone()
        .get_publicity_policy(pb::GetPublicityPolicyRequest { agency_id: w.agency.id.clone() })
        .await
        .expect("get policy")
        .into_inner()
        .policy
        .expect("the answer carries the policy");
    policy.auto_publish = false;
    h.admin
        .publicity
        .clone()
        .put_publicity_policy(pb::PutPublicityPolicyRequest { policy: Some(policy), regime_defaults: false })
        .await
        .expect("put policy");
    let pending = ready_case(&w, &clock).await;
    issue_with_facts(&w, &pending.id, "当事人销售过期食品", &[]).await;
    refused(
        p.correct_disclosure(pb::CorrectDisclosureRequest {
            request_id: "c3".into(),
            disclosure_id: pending.id.clone(),
            reason: "更正".into(),
            mask_names: vec![],
            withdrawal_reason: String::new(),
        })
        .await,
        Code::FailedPrecondition,
        "P5.correct-published",
    );
    let d = staff_get(&w, &pending.id).await;
    assert_eq!((status(&d), d.version), (pb::DisclosureStatus::Pending, 1));
}
