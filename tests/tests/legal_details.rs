//! The legal details of issue 15, each over the real gRPC and HTTP API on every database backend:
//! the withdrawal deadline counts from the revision's own date (P6), a hearing record settles the
//! statement (R2), only a first-time reviewer needs the qualification (G4), Art. 58 (2) is
//! derived from a hearing right and a hearing (L2), an ID number shows a minor (P4), both SAMR
//! exclusions follow the regime (P4), 处罚有效期 is the penalty's effect (P9), and an expired
//! publication is EXPIRED to staff, a tombstone to the public and in the Atom feed (P7).

use std::sync::Arc;

use sanxiang_domain::publicity::CF_FIELDS;
use sanxiang_domain::{TestClock, Timestamp};
use sanxiang_proto::v1 as pb;
use sanxiang_proto::v1::EventKind as K;
use sanxiang_tests::{
    Backend, Client, Harness, World, backend_tests, http_get, http_text, penalty_draft, public_get, refused,
    shanghai_morning, staff_get, ts,
};
use tonic::Code;

backend_tests!(
    a_withdrawal_is_due_three_working_days_after_the_revision_date_not_its_recording,
    a_hearing_record_settles_the_statement_before_a_penalty,
    only_a_first_time_reviewer_needs_the_legal_qualification,
    a_penalty_with_a_hearing_right_after_a_hearing_is_major_without_the_flag,
    an_id_number_under_18_on_the_decision_date_excludes_the_party_as_a_minor,
    both_samr_exclusions_follow_the_regime_defaults,
    the_cf_export_fills_the_penalty_validity_not_the_publication_end,
    an_expired_publication_is_expired_to_staff_and_a_tombstone_to_the_public,
);

fn rid() -> String {
    uuid::Uuid::now_v7().to_string()
}

async fn issue(w: &World, r: pb::SubmitDraftRequest) -> pb::IssueDecisionResponse {
    let d = w.submit(r).await;
    w.issue(&d.id).await.expect("issue decision")
}

async fn public_ids(h: &Harness) -> Vec<String> {
    h.client(None)
        .publicity
        .list_disclosures(pb::ListDisclosuresRequest { limit: 500, ..Default::default() })
        .await
        .expect("list")
        .into_inner()
        .disclosures
        .into_iter()
        .map(|d| d.id)
        .collect()
}

async fn policy(c: &Client, agency: &str) -> pb::PublicityPolicy {
    c.publicity
        .clone()
        .get_publicity_policy(pb::GetPublicityPolicyRequest { agency_id: agency.into() })
        .await
        .expect("get policy")
        .into_inner()
        .policy
        .expect("the answer carries the policy")
}

async fn put_policy(c: &Client, p: pb::PublicityPolicy, regime_defaults: bool) -> pb::PublicityPolicy {
    c.publicity
        .clone()
        .put_publicity_policy(pb::PutPublicityPolicyRequest { policy: Some(p), regime_defaults })
        .await
        .expect("put policy")
        .into_inner()
        .policy
        .expect("the answer carries the policy")
}

fn status(d: &pb::Disclosure) -> pb::DisclosureStatus {
    pb::DisclosureStatus::try_from(d.status).unwrap()
}

/// GB 11643 check character of the first 17 digits.
fn id18(first17: &str) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17.chars().zip(W).map(|(c, w)| c.to_digit(10).unwrap() * w).sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{first17}{check}")
}

async fn open_person(w: &World, id_number: &str, is_minor: bool) -> pb::Case {
    w.officer
        .record
        .clone()
        .open_case(pb::OpenCaseRequest {
            request_id: rid(),
            agency_id: w.agency.id.clone(),
            kind: pb::CaseKind::Penalty as i32,
            title: "销售过期食品案".into(),
            party: Some(pb::Party {
                r#type: pb::PartyType::NaturalPerson as i32,
                name: "王某明".into(),
                id_type: "身份证".into(),
                id_number: id_number.into(),
                is_minor,
                ..Default::default()
            }),
            handling_officer_ids: w.both(),
            opened_at: None,
        })
        .await
        .expect("open case")
        .into_inner()
        .case
        .expect("the answer carries the case")
}

// 1. 处罚法 Art. 48, RULES P6.
async fn a_withdrawal_is_due_three_working_days_after_the_revision_date_not_its_recording(backend: Backend) {
    let (h, clock) = Harness::start_on(backend, "2026-11-16").await;
    let w = h.world(1, "").await;
    let supervisor = h.principal(pb::Role::Supervisor, &w.agency.id, "").await;
    let mut p = policy(&w.head, &w.agency.id).await;
    p.auto_publish = false;
    put_policy(&w.head, p, false).await;
    let case = w.open_case(pb::CaseKind::Penalty).await;
    w.ready_for_decision(&case.id, h.now()).await;
    issue(&w, penalty_draft(&case.id, &[("罚款", 300_000)])).await;
    w.publisher
        .publicity
        .clone()
        .publish_disclosure(pb::PublishDisclosureRequest { request_id: rid(), disclosure_id: case.id.clone() })
        .await
        .expect("publish");

    // Revoked on Friday 20 November (a 复议 decision), recorded on Monday 30 November.
    clock.set(shanghai_morning("2026-11-30"));
    w.head
        .review
        .clone()
        .revise_decision(pb::ReviseDecisionRequest {
            request_id: rid(),
            case_id: case.id.clone(),
            revision: pb::Revision::Revocation as i32,
            reason: "行政复议决定撤销原处罚决定".into(),
            basis: "某复决字〔2026〕5号".into(),
            occurred_at: Some(ts(shanghai_morning("2026-11-20"))),
        })
        .await
        .expect("revise");
    let d = staff_get(&w.publisher, &case.id).await;
    assert_eq!(status(&d), pb::DisclosureStatus::WithdrawalPending);
    // Mon 23, Tue 24, Wed 25 November: already past when it is recorded.
    assert_eq!(d.withdrawal_due_date, "2026-11-25");
    assert!(d.overdue, "overdue at once");
    let items = supervisor
        .publicity
        .clone()
        .list_overdue(pb::ListOverdueRequest { agency_id: w.agency.id.clone() })
        .await
        .expect("list overdue")
        .into_inner()
        .items;
    let withdrawal = items
        .iter()
        .find(|i| i.kind == pb::OverdueKind::Withdrawal as i32 && i.case_id == case.id)
        .unwrap_or_else(|| panic!("the withdrawal is overdue: {items:?}"));
    assert_eq!(withdrawal.due_date, "2026-11-25");
    h.running.stop().await.unwrap();
}

// 2. 处罚法 Art. 62, 64, RULES R2.
async fn a_hearing_record_settles_the_statement_before_a_penalty(backend: Backend) {
    let (h, _clock) = Harness::start_on(backend, "2026-03-02").await;
    let w = h.world(1, "").await;
    let now = h.now();
    // The party asked for a hearing and stated its case there; no separate statement event.
    let heard = w.open_case(pb::CaseKind::Penalty).await;
    for k in [K::Filing, K::NoticeOfProposedDecision, K::HearingRequested] {
        w.append(&heard.id, k, now).await;
    }
    let d = w.submit_draft(&heard.id, false).await;
    // A request alone settles nothing: the statement is still open, and the hearing is owed.
    refused(w.issue(&d.id).await, Code::FailedPrecondition, "R2.statement-before-penalty");
    w.append(&heard.id, K::HearingRecord, now).await;
    let issued = w.issue(&d.id).await.expect("a hearing record settles the statement");
    assert!(!issued.document_number.is_empty());
    // Without a hearing and without a statement the decision is still refused.
    let silent = w.open_case(pb::CaseKind::Penalty).await;
    for k in [K::Filing, K::NoticeOfProposedDecision] {
        w.append(&silent.id, k, now).await;
    }
    let d = w.submit_draft(&silent.id, false).await;
    refused(w.issue(&d.id).await, Code::FailedPrecondition, "R2.statement-before-penalty");
    h.running.stop().await.unwrap();
}

fn checklist() -> Vec<pb::CheckResult> {
    (1..=8).map(|i| pb::CheckResult { item: i, passed: true, comment: String::new() }).collect()
}

async fn approve(reviewer: &Client, draft_id: &str) -> Result<pb::DecideReviewResponse, tonic::Status> {
    reviewer
        .review
        .clone()
        .decide_review(pb::DecideReviewRequest {
            request_id: rid(),
            draft_id: draft_id.into(),
            checklist: checklist(),
            outcome: pb::ReviewOutcome::Approve as i32,
            opinion: "同意".into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn register(h: &Harness, agency: &str, name: &str, prior: bool) -> pb::Officer {
    h.admin
        .registry
        .clone()
        .register_officer(pb::RegisterOfficerRequest {
            request_id: String::new(),
            agency_id: agency.into(),
            name: name.into(),
            certificate_number: format!("CERT-{}", uuid::Uuid::now_v7().simple()),
            category: "法制审核".into(),
            valid_from: "2020-01-01".into(),
            valid_until: "2035-12-31".into(),
            legal_qualification: false,
            has_prior_review_experience: prior,
            ..Default::default()
        })
        .await
        .expect("register officer")
        .into_inner()
        .officer
        .expect("the answer carries the officer")
}

// 3. 处罚法 Art. 58 ¶2, RULES G4.
async fn only_a_first_time_reviewer_needs_the_legal_qualification(backend: Backend) {
    let (h, _clock) = Harness::start_on(backend, "2026-03-02").await;
    let w = h.world(1, "").await;
    h.admin
        .registry
        .clone()
        .put_catalog(pb::PutCatalogRequest {
            agency_id: w.agency.id.clone(),
            catalog_toml: "fine_organisation = { amount = 100000 }".into(),
        })
        .await
        .expect("put catalog");
    let case = w.open_case(pb::CaseKind::Penalty).await;
    w.ready_for_decision(&case.id, h.now()).await;
    let d = w.submit(penalty_draft(&case.id, &[("罚款", 20_000_000)])).await;
    assert!(d.major);

    // Neither holds the 法律职业资格; one has reviewed 行政处罚 decisions before this system.
    let novice_officer = register(&h, &w.agency.id, "新法制员", false).await;
    let veteran = register(&h, &w.agency.id, "老法制员", true).await;
    assert!(veteran.has_prior_review_experience && !novice_officer.has_prior_review_experience);
    let listed = w
        .officer
        .registry
        .clone()
        .list_officers(pb::ListOfficersRequest { agency_id: w.agency.id.clone() })
        .await
        .unwrap()
        .into_inner()
        .officers;
    assert!(listed.iter().any(|o| o.id == veteran.id && o.has_prior_review_experience));
    let novice = h.principal(pb::Role::Reviewer, &w.agency.id, &novice_officer.id).await;
    let veteran = h.principal(pb::Role::Reviewer, &w.agency.id, &veteran.id).await;

    refused(approve(&novice, &d.id).await, Code::FailedPrecondition, "G4.legal-qualification");
    let review = approve(&veteran, &d.id).await.expect("an experienced reviewer may review");
    assert!(!review.first_penalty_review && !review.legal_qualification);
    w.issue(&d.id).await.expect("decision after the approval");

    // Experience recorded later on an existing officer counts from then on; only the admin
    // records it.
    let second = w.open_case(pb::CaseKind::Penalty).await;
    w.ready_for_decision(&second.id, h.now()).await;
    let d2 = w.submit(penalty_draft(&second.id, &[("罚款", 20_000_000)])).await;
    refused(approve(&novice, &d2.id).await, Code::FailedPrecondition, "G4.legal-qualification");
    let set = |c: &Client, prior: bool| {
        let mut r = c.registry.clone();
        let officer_id = novice_officer.id.clone();
        async move {
            r.set_officer_review_experience(pb::SetOfficerReviewExperienceRequest {
                officer_id,
                has_prior_review_experience: prior,
            })
            .await
            .map(|r| r.into_inner().officer.expect("the answer carries the officer"))
        }
    };
    refused(set(&w.head, true).await, Code::PermissionDenied, "head");
    assert!(set(&h.admin, true).await.expect("admin records experience").has_prior_review_experience);
    let review = approve(&novice, &d2.id).await.expect("now an experienced reviewer");
    assert!(!review.first_penalty_review);
    h.running.stop().await.unwrap();
}

// 4. 处罚法 Art. 58 (2), 63, RULES L2.
async fn a_penalty_with_a_hearing_right_after_a_hearing_is_major_without_the_flag(backend: Backend) {
    let (h, _clock) = Harness::start_on(backend, "2026-03-02").await;
    let w = h.world(1, "").await; // no catalog: only the statutory triggers
    let now = h.now();
    let heard = w.open_case(pb::CaseKind::Penalty).await;
    for k in [K::Filing, K::NoticeOfProposedDecision, K::HearingRequested, K::HearingRecord] {
        w.append(&heard.id, k, now).await;
    }
    // 吊销许可证件 after a hearing, the flag not set.
    let d = w.submit(penalty_draft(&heard.id, &[("吊销许可证件", 0)])).await;
    assert!(d.major, "{d:?}");
    let rules: Vec<&str> = d.matched_rules.iter().map(|m| m.rule.as_str()).collect();
    assert_eq!(rules, ["statute.major_rights_and_hearing"]);
    assert!(d.matched_rules[0].reason.contains("吊销许可证件"), "{}", d.matched_rules[0].reason);
    refused(w.issue(&d.id).await, Code::FailedPrecondition, "L1.review-required");
    // A large fine (≥ 100 000 元 for an organisation) after a hearing request is major too.
    let fined = w.submit(penalty_draft(&heard.id, &[("罚款", 10_000_000)])).await;
    assert!(fined.major);
    // The same revocation without a hearing is not major by the statute, and is decided at once.
    let plain = w.open_case(pb::CaseKind::Penalty).await;
    w.ready_for_decision(&plain.id, now).await;
    let d = w.submit(penalty_draft(&plain.id, &[("吊销许可证件", 0)])).await;
    assert!(!d.major);
    // A warning after a hearing carries no hearing right: not major.
    let warned = w.open_case(pb::CaseKind::Penalty).await;
    for k in [K::Filing, K::NoticeOfProposedDecision, K::HearingRequested, K::HearingRecord] {
        w.append(&warned.id, k, now).await;
    }
    assert!(!w.submit(penalty_draft(&warned.id, &[("警告", 0)])).await.major);
    // A hearing requested after the draft was classified still makes the decision major.
    let late = w.open_case(pb::CaseKind::Penalty).await;
    for k in [K::Filing, K::NoticeOfProposedDecision] {
        w.append(&late.id, k, now).await;
    }
    let early = w.submit(penalty_draft(&late.id, &[("责令停产停业", 0)])).await;
    assert!(!early.major);
    for k in [K::HearingRequested, K::HearingRecord] {
        w.append(&late.id, k, now).await;
    }
    refused(w.issue(&early.id).await, Code::FailedPrecondition, "L1.review-required");
    w.issue(&d.id).await.expect("a revocation without a hearing needs no review");
    h.running.stop().await.unwrap();
}

// 5. RULES P4; 处罚法 Art. 30.
async fn an_id_number_under_18_on_the_decision_date_excludes_the_party_as_a_minor(backend: Backend) {
    // 01:00 on 20 November 2026 in Shanghai is still 19 November in UTC.
    let clock = Arc::new(TestClock::new(Timestamp::parse_rfc3339("2026-11-19T17:00:00Z").unwrap()));
    let h = Harness::start_with(backend, clock.clone(), |_| {}).await;
    let w = h.world(1, "").await;
    let now = h.now();
    let mut outcome = Vec::new();
    for (born, flag) in [("20081120", false), ("20081119", false), ("20081121", false), ("19900101", true)] {
        let case = open_person(&w, &id18(&format!("350102{born}123")), flag).await;
        w.ready_for_decision(&case.id, now).await;
        issue(&w, penalty_draft(&case.id, &[("罚款", 100_000)])).await;
        let d = staff_get(&w.publisher, &case.id).await;
        outcome.push((born, status(&d), d.exclusion_code));
    }
    use pb::DisclosureStatus::{Excluded, Published};
    assert_eq!(
        outcome,
        [
            // The 18th birthday is the decision date: still a minor that day.
            ("20081120", Excluded, "minor".to_owned()),
            // 18 the day before: an adult on the decision date in Shanghai (not in UTC).
            ("20081119", Published, String::new()),
            ("20081121", Excluded, "minor".to_owned()),
            // The flag still counts whatever the ID number says.
            ("19900101", Excluded, "minor".to_owned()),
        ]
    );
    // A 15-digit number (19YY) of an adult is published.
    let old = open_person(&w, "350102881120123", false).await;
    w.ready_for_decision(&old.id, now).await;
    issue(&w, penalty_draft(&old.id, &[("罚款", 100_000)])).await;
    assert_eq!(status(&staff_get(&w.publisher, &old.id).await), Published);
    let public = public_ids(&h).await;
    assert_eq!(public.len(), 2, "only the adults are public: {public:?}");
    h.running.stop().await.unwrap();
}

// 6. RULES P4; SAMR Art. 2, 9.
async fn both_samr_exclusions_follow_the_regime_defaults(backend: Backend) {
    let (h, _clock) = Harness::start_on(backend, "2026-03-02").await;
    let general = h.world(1, "").await;
    let samr = h.world(2, "").await;
    let g = policy(&general.head, &general.agency.id).await;
    assert_eq!(g.regime, "general");
    assert_eq!((g.exclude_warning_only, g.exclude_summary_procedure, g.penalty_days), (false, false, 7));
    let mut p = policy(&samr.head, &samr.agency.id).await;
    p.regime = "samr".into();
    p.auto_publish = true;
    let s = put_policy(&samr.head, p.clone(), true).await;
    assert_eq!((s.regime.as_str(), s.exclude_warning_only, s.exclude_summary_procedure), ("samr", true, true));
    assert_eq!(s.penalty_days, 20);
    assert_eq!(policy(&samr.head, &samr.agency.id).await, s);
    let mut bad = p;
    bad.regime = "provincial".into();
    refused(
        samr.head
            .publicity
            .clone()
            .put_publicity_policy(pb::PutPublicityPolicyRequest { policy: Some(bad), regime_defaults: true })
            .await,
        Code::InvalidArgument,
        "policy.regime",
    );

    let mut seen = Vec::new();
    for w in [&general, &samr] {
        let warning = w.open_case(pb::CaseKind::Penalty).await;
        w.ready_for_decision(&warning.id, h.now()).await;
        issue(w, penalty_draft(&warning.id, &[("警告", 0)])).await;
        let summary = w.open_case(pb::CaseKind::Penalty).await;
        w.ready_for_decision(&summary.id, h.now()).await;
        let mut d = penalty_draft(&summary.id, &[("罚款", 5_000)]);
        d.ordinary_procedure = false;
        issue(w, d).await;
        for id in [warning.id, summary.id] {
            seen.push(staff_get(&w.publisher, &id).await.exclusion_code);
        }
    }
    assert_eq!(seen, ["", "", "warning_only", "summary_procedure"]);
    h.running.stop().await.unwrap();
}

// 7. RULES P9.
async fn the_cf_export_fills_the_penalty_validity_not_the_publication_end(backend: Backend) {
    let (h, _clock) = Harness::start_on(backend, "2026-03-02").await;
    let w = h.world(1, "").await;
    let now = h.now();
    let fine = w.open_case(pb::CaseKind::Penalty).await;
    w.ready_for_decision(&fine.id, now).await;
    let fined = issue(&w, penalty_draft(&fine.id, &[("罚款", 5_000_000)])).await;
    let suspended = w.open_case(pb::CaseKind::Penalty).await;
    w.ready_for_decision(&suspended.id, now).await;
    let mut d = penalty_draft(&suspended.id, &[("暂扣许可证件", 0)]);
    d.restriction_ends = "2026-09-01".into();
    d.licences_affected = "食品经营许可证 JY13501020000001".into();
    let suspension = issue(&w, d).await;

    let cf = http_text(&h, "/v1/export/cf.csv").await;
    let mut lines = cf.trim_start_matches('\u{feff}').split("\r\n");
    assert_eq!(lines.next().unwrap(), CF_FIELDS.join(","));
    let col = |row: &[&str], name: &str| row[CF_FIELDS.iter().position(|f| *f == name).unwrap()].to_owned();
    let mut rows = std::collections::HashMap::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let row: Vec<&str> = line.split(',').collect();
        assert_eq!(row.len(), CF_FIELDS.len(), "{line}");
        rows.insert(col(&row, "行政处罚决定书文号"), (col(&row, "处罚有效期"), col(&row, "公示截止期")));
    }
    // A fine is in effect for the long term (2099-12-31); it is public for three years.
    assert_eq!(rows[&fined.document_number], ("2099-12-31".to_owned(), "2029-03-02".to_owned()));
    // A suspension is in effect until it ends.
    assert_eq!(rows[&suspension.document_number], ("2026-09-01".to_owned(), "2029-03-02".to_owned()));
    h.running.stop().await.unwrap();
}

// 8. RULES P7.
async fn an_expired_publication_is_expired_to_staff_and_a_tombstone_to_the_public(backend: Backend) {
    let (h, clock) = Harness::start_on(backend, "2026-03-02").await;
    let w = h.world(1, "").await;
    let short = w.open_case(pb::CaseKind::Penalty).await;
    w.ready_for_decision(&short.id, h.now()).await;
    let issued = issue(&w, penalty_draft(&short.id, &[("通报批评", 0)])).await;
    let long = w.open_case(pb::CaseKind::Penalty).await;
    w.ready_for_decision(&long.id, h.now()).await;
    issue(&w, penalty_draft(&long.id, &[("罚款", 5_000_000)])).await;
    assert_eq!(staff_get(&w.publisher, &short.id).await.publication_end, "2026-06-02");

    // On its last day it is live everywhere.
    clock.set(shanghai_morning("2026-06-02"));
    assert_eq!(status(&staff_get(&w.publisher, &short.id).await), pb::DisclosureStatus::Published);
    let atom = http_text(&h, "/feed.atom").await;
    assert!(atom.contains(&format!("<id>urn:sanxiang:disclosure:{}</id>", short.id)), "{atom}");

    // The day after: EXPIRED to staff, with when it ended.
    clock.set(shanghai_morning("2026-06-03"));
    let staff = staff_get(&w.publisher, &short.id).await;
    assert_eq!(status(&staff), pb::DisclosureStatus::Expired);
    let ended = Timestamp::parse_rfc3339("2026-06-02T16:00:00Z").unwrap();
    assert_eq!(staff.ended_at, Some(ts(ended)));
    assert!(!staff.content.unwrap().facts.is_empty(), "staff see the whole record");
    let listed = w
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
        .into_inner()
        .disclosures;
    let in_staff_list = listed.iter().find(|d| d.id == short.id).unwrap();
    assert_eq!(status(in_staff_list), pb::DisclosureStatus::Expired);
    // The public: out of the listing; GetDisclosure answers a tombstone without content.
    assert_eq!(public_ids(&h).await, vec![long.id.clone()]);
    let tomb = public_get(&h, &short.id).await.expect("a tombstone, not NOT_FOUND");
    assert_eq!(status(&tomb), pb::DisclosureStatus::Expired);
    assert_eq!((tomb.id.as_str(), tomb.agency_id.as_str()), (short.id.as_str(), w.agency.id.as_str()));
    assert_eq!(tomb.ended_at, Some(ts(ended)));
    let c = tomb.content.unwrap();
    assert_eq!(c.document_number, issued.document_number);
    assert!(c.facts.is_empty() && c.party_name.is_empty() && c.penalty_types.is_empty(), "{c:?}");
    // HTTP: 410 Gone with the tombstone.
    let r = http_get(&h, &format!("/v1/disclosures/{}", short.id)).await;
    assert_eq!(r.status(), 410);
    let body: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(body["status"], "expired");
    assert_eq!(body["document_number"], issued.document_number.as_str());
    assert_eq!(body["ended_at"], ended.to_rfc3339().as_str());
    assert!(body.get("content").is_none(), "{body}");
    // Atom: the ended entry is no longer a live entry but a tombstone (RFC 6721).
    let atom = http_text(&h, "/feed.atom").await;
    assert!(!atom.contains(&format!("<id>urn:sanxiang:disclosure:{}</id>", short.id)), "{atom}");
    assert!(
        atom.contains(&format!(
            "<at:deleted-entry ref=\"urn:sanxiang:disclosure:{}\" when=\"{}\">",
            short.id,
            ended.to_rfc3339()
        )),
        "{atom}"
    );
    assert!(atom.contains(&format!("<id>urn:sanxiang:disclosure:{}</id>", long.id)), "{atom}");
    // A disclosure that was never public is still not found by the public.
    let mut p = policy(&w.head, &w.agency.id).await;
    p.auto_publish = false;
    put_policy(&w.head, p, false).await;
    let pending = w.open_case(pb::CaseKind::Penalty).await;
    w.ready_for_decision(&pending.id, h.now()).await;
    issue(&w, penalty_draft(&pending.id, &[("罚款", 100_000)])).await;
    refused(public_get(&h, &pending.id).await, Code::NotFound, "disclosure");
    assert_eq!(http_get(&h, &format!("/v1/disclosures/{}", pending.id)).await.status(), 404);
    h.running.stop().await.unwrap();
}
