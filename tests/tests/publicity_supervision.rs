//! Notices before enforcement (RULES P1), annual statistics (P8) and the supervision view (S1)
//! over gRPC, on every database backend: versioned notice sections, validation that names the
//! field and stores nothing, a roster that follows the registry, the public surface without a
//! token; a year's counts and totals by the agency's local calendar; and what is overdue,
//! missing or refused, visible to the overseeing supervisor and to no other.

use std::collections::BTreeMap;
use std::sync::Arc;

use sanxiang_domain::{TestClock, Timestamp};
use sanxiang_proto::v1 as pb;
use sanxiang_proto::v1::EventKind as K;
use sanxiang_tests::{Backend, Client, Harness, World, backend_tests, refused};
use tonic::Code;

backend_tests!(
    notices_are_versioned_validated_and_list_a_live_roster,
    annual_report_counts_the_finished_year_in_the_agency_calendar,
    overdue_items_are_seen_by_the_overseeing_supervisor_only,
);

/// 10:00 in Shanghai on `date`.
fn shanghai_morning(date: &str) -> Timestamp {
    Timestamp::parse_rfc3339(&format!("{date}T02:00:00Z")).unwrap()
}

fn rid() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn notice(agency: &str, section: pb::NoticeSection, title: &str, items: Vec<pb::NoticeItem>) -> pb::PutNoticeRequest {
    pb::PutNoticeRequest {
        request_id: rid(),
        agency_id: agency.into(),
        section: section as i32,
        title: title.into(),
        body: format!("{title}：正文"),
        items,
    }
}

fn power(title: &str, basis: &str) -> pb::NoticeItem {
    pb::NoticeItem { title: title.into(), body: "实施主体：本局".into(), legal_basis: basis.into() }
}

async fn list_notices(c: &Client, agency: &str) -> Result<pb::ListNoticesResponse, tonic::Status> {
    c.publicity
        .clone()
        .list_notices(pb::ListNoticesRequest { agency_id: agency.into() })
        .await
        .map(tonic::Response::into_inner)
}

/// (section, version, title) of each notice listed.
fn sections(r: &pb::ListNoticesResponse) -> Vec<(pb::NoticeSection, u32, String)> {
    r.notices.iter().map(|n| (pb::NoticeSection::try_from(n.section).unwrap(), n.version, n.title.clone())).collect()
}

fn roster_names(r: &pb::ListNoticesResponse) -> Vec<String> {
    r.roster.iter().map(|o| o.name.clone()).collect()
}

async fn set_status(h: &Harness, officer: &str, status: pb::OfficerStatus) {
    h.admin
        .registry
        .clone()
        .set_officer_status(pb::SetOfficerStatusRequest {
            officer_id: officer.into(),
            status: status as i32,
            reason: "停职审查".into(),
            effective_at: None,
        })
        .await
        .expect("set officer status");
}

async fn notices_are_versioned_validated_and_list_a_live_roster(backend: Backend) {
    let h = Harness::start(backend).await;
    let w = h.world(1, "").await;
    let other = h.world(2, "").await;
    let agency = w.agency.id.clone();
    let public = h.client(None);

    // Nothing set yet: an empty notice, but the roster is already there, without a token.
    let empty = list_notices(&public, &agency).await.unwrap();
    assert_eq!((empty.agency_id.as_str(), empty.agency_name.as_str()), (agency.as_str(), w.agency.name.as_str()));
    assert!(empty.notices.is_empty());
    assert_eq!(roster_names(&empty), ["张三", "李四"]);

    // Versions per agency and section: 1, then 2; a retry returns what it stored.
    let mut head = w.head.publicity.clone();
    let first = notice(&agency, pb::NoticeSection::Body, "执法主体 2026", vec![]);
    let v1 = head.put_notice(first.clone()).await.unwrap().into_inner().notice.expect("the answer carries the notice");
    assert_eq!((v1.version, v1.agency_id.as_str()), (1, agency.as_str()));
    let v2 = head
        .put_notice(notice(&agency, pb::NoticeSection::Body, "执法主体（机构改革后）", vec![]))
        .await
        .unwrap()
        .into_inner()
        .notice
        .expect("the answer carries the notice");
    assert_eq!(v2.version, 2);
    let retried =
        head.put_notice(first.clone()).await.unwrap().into_inner().notice.expect("the answer carries the notice");
    assert_eq!((retried.version, retried.title.as_str()), (1, "执法主体 2026"));
    // The publisher may set notices too; the power list carries each item's legal basis.
    let powers = vec![
        power("对无照经营的行政处罚", "《无证无照经营查处办法》第十三条"),
        power("对销售过期食品的行政处罚", "《中华人民共和国食品安全法》第一百二十四条"),
    ];
    let p1 = w
        .publisher
        .publicity
        .clone()
        .put_notice(notice(&agency, pb::NoticeSection::Powers, "权责清单", powers.clone()))
        .await
        .unwrap()
        .into_inner()
        .notice
        .expect("the answer carries the notice");
    assert_eq!((p1.version, p1.items.clone()), (1, powers.clone()));
    // Another agency's versions are its own.
    let o1 = other
        .head
        .publicity
        .clone()
        .put_notice(notice(&other.agency.id, pb::NoticeSection::Body, "另一执法主体", vec![]))
        .await
        .unwrap()
        .into_inner()
        .notice
        .expect("the answer carries the notice");
    assert_eq!(o1.version, 1);

    // Invalid requests are refused naming the field, and store nothing.
    let mut bad = notice(&agency, pb::NoticeSection::Unspecified, "无栏目", vec![]);
    refused(head.put_notice(bad.clone()).await, Code::InvalidArgument, "section");
    bad.section = 99;
    refused(head.put_notice(bad).await, Code::InvalidArgument, "section");
    let mut bad = notice(&agency, pb::NoticeSection::Duties, "职责", vec![]);
    bad.request_id = "  ".into();
    refused(head.put_notice(bad).await, Code::InvalidArgument, "request_id");
    refused(
        head.put_notice(notice(&agency, pb::NoticeSection::Duties, &"长".repeat(201), vec![])).await,
        Code::InvalidArgument,
        "title",
    );
    let mut bad = notice(&agency, pb::NoticeSection::Duties, "职责", vec![]);
    bad.body = "x".repeat(64 * 1024 + 1);
    refused(head.put_notice(bad).await, Code::InvalidArgument, "body");
    let mut items = powers.clone();
    items.push(power(" ", "《行政处罚法》"));
    refused(
        head.put_notice(notice(&agency, pb::NoticeSection::Duties, "职责", items)).await,
        Code::InvalidArgument,
        "items[2].title",
    );
    refused(
        head.put_notice(notice(&agency, pb::NoticeSection::Powers, "权责清单", vec![power("无依据的权力", "")])).await,
        Code::InvalidArgument,
        "items[0].legal_basis",
    );
    let mut long = power("过长", "依据");
    long.body = "x".repeat(16 * 1024 + 1);
    refused(
        head.put_notice(notice(&agency, pb::NoticeSection::Duties, "职责", vec![power("一", ""), long])).await,
        Code::InvalidArgument,
        "items[1].body",
    );
    // Only the agency's head, publisher (or an administrator) sets its notices.
    refused(
        w.officer.publicity.clone().put_notice(notice(&agency, pb::NoticeSection::Duties, "职责", vec![])).await,
        Code::PermissionDenied,
        "officer",
    );
    refused(
        other.head.publicity.clone().put_notice(notice(&agency, pb::NoticeSection::Duties, "职责", vec![])).await,
        Code::PermissionDenied,
        "head",
    );
    refused(
        public.publicity.clone().put_notice(notice(&agency, pb::NoticeSection::Duties, "职责", vec![])).await,
        Code::Unauthenticated,
        "token",
    );
    refused(
        h.admin.publicity.clone().put_notice(notice("no-such-agency", pb::NoticeSection::Duties, "职责", vec![])).await,
        Code::NotFound,
        "no-such-agency",
    );

    // The public listing: the latest version of each section, in section order, nothing refused.
    let admin_put = h
        .admin
        .publicity
        .clone()
        .put_notice(notice(&agency, pb::NoticeSection::RemedyChannels, "救济渠道", vec![]))
        .await
        .unwrap()
        .into_inner()
        .notice
        .expect("the answer carries the notice");
    assert_eq!(admin_put.version, 1);
    let listed = list_notices(&public, &agency).await.unwrap();
    assert_eq!(
        sections(&listed),
        [
            (pb::NoticeSection::Body, 2, "执法主体（机构改革后）".to_owned()),
            (pb::NoticeSection::Powers, 1, "权责清单".to_owned()),
            (pb::NoticeSection::RemedyChannels, 1, "救济渠道".to_owned()),
        ]
    );
    assert_eq!(listed.notices[1].items, powers);
    assert_eq!(sections(&list_notices(&public, &other.agency.id).await.unwrap()).len(), 1);

    // Concurrent puts of one section each get their own version.
    let mut tasks = Vec::new();
    for i in 0..6 {
        let mut c = w.head.publicity.clone();
        let r = notice(&agency, pb::NoticeSection::Procedures, &format!("执法流程 {i}"), vec![]);
        tasks.push(tokio::spawn(async move {
            c.put_notice(r).await.map(|r| r.into_inner().notice.expect("the answer carries the notice"))
        }));
    }
    let mut versions = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(n) => versions.push(n.version),
            Err(s) => {
                assert_eq!(s.code(), Code::FailedPrecondition, "{s:?}");
                assert!(s.message().contains("P1.notice-version"), "{s:?}");
            }
        }
    }
    versions.sort_unstable();
    assert!(!versions.is_empty());
    assert_eq!(versions, (1..=versions.len() as u32).collect::<Vec<_>>(), "distinct, gap-free versions");
    let procedures = list_notices(&public, &agency).await.unwrap();
    let latest = procedures.notices.iter().find(|n| n.section == pb::NoticeSection::Procedures as i32).unwrap();
    assert_eq!(latest.version, versions.len() as u32);

    // The roster follows the registry: a suspended officer, or one whose certificate has
    // expired or not begun, is not on it; reinstated, the officer is back.
    let expired = h.officer_valid(&agency, "王五", "2020-01-01", "2021-12-31", false).await;
    let future = h.officer_valid(&agency, "赵六", "2099-01-01", "2099-12-31", false).await;
    let current = h.officer(&agency, "钱七", true).await;
    let roster = list_notices(&public, &agency).await.unwrap();
    assert_eq!(roster_names(&roster), ["张三", "李四", "钱七"]);
    let qian = roster.roster.iter().find(|o| o.name == "钱七").unwrap();
    assert_eq!(
        (qian.certificate_number.as_str(), qian.category.as_str()),
        (current.certificate_number.as_str(), "市场监管")
    );
    assert!(roster.roster.iter().all(|o| o.certificate_number != expired.certificate_number));
    assert!(roster.roster.iter().all(|o| o.certificate_number != future.certificate_number));
    set_status(&h, &w.officers[1].id, pb::OfficerStatus::Suspended).await;
    assert_eq!(roster_names(&list_notices(&public, &agency).await.unwrap()), ["张三", "钱七"]);
    set_status(&h, &w.officers[1].id, pb::OfficerStatus::Active).await;
    assert_eq!(roster_names(&list_notices(&public, &agency).await.unwrap()), ["张三", "李四", "钱七"]);
    // The other agency's roster has its own officers only.
    assert_eq!(roster_names(&list_notices(&public, &other.agency.id).await.unwrap()), ["张三", "李四"]);
    let other_certs: Vec<String> = other.officers.iter().map(|o| o.certificate_number.clone()).collect();
    let own = list_notices(&public, &agency).await.unwrap();
    assert!(own.roster.iter().all(|o| !other_certs.contains(&o.certificate_number)));

    refused(list_notices(&public, "no-such-agency").await, Code::NotFound, "no-such-agency");
    refused(list_notices(&public, "").await, Code::InvalidArgument, "agency_id");
    h.running.stop().await.unwrap();
}

/// Files a penalty case and records the notice and the waived statement, so a decision may follow.
async fn ready_for_penalty(w: &World, case_id: &str, now: Timestamp) {
    for kind in [K::Filing, K::NoticeOfProposedDecision, K::StatementWaived] {
        w.append(case_id, kind, now).await;
    }
}

/// Submits a penalty draft with `penalties` (type, fen) and `confiscation_fen`.
async fn penalty_draft(w: &World, case_id: &str, penalties: &[(&str, u64)], confiscation_fen: u64) -> pb::Draft {
    w.officer
        .review
        .clone()
        .submit_draft(pb::SubmitDraftRequest {
            request_id: rid(),
            case_id: case_id.into(),
            penalties: penalties
                .iter()
                .map(|(t, fen)| pb::PenaltyItem { r#type: (*t).into(), amount_fen: *fen })
                .collect(),
            confiscation_fen,
            legal_basis: "《中华人民共和国食品安全法》第一百二十四条".into(),
            facts: "当事人经营超过保质期的食品".into(),
            ordinary_procedure: true,
            ..Default::default()
        })
        .await
        .expect("submit draft")
        .into_inner()
        .draft
        .expect("the answer carries the draft")
}

/// Issues the decision on `draft_id` as the head, naming `officers`.
async fn issue_by(
    w: &World,
    draft_id: &str,
    officers: &[&pb::Officer],
) -> Result<pb::IssueDecisionResponse, tonic::Status> {
    w.head
        .review
        .clone()
        .issue_decision(pb::IssueDecisionRequest {
            request_id: rid(),
            draft_id: draft_id.into(),
            officer_ids: officers.iter().map(|o| o.id.clone()).collect(),
            ..Default::default()
        })
        .await
        .map(tonic::Response::into_inner)
}

/// Sets whether the agency publishes decisions at once or after a publisher's confirmation.
async fn set_auto_publish(w: &World, auto: bool) {
    let mut c = w.head.publicity.clone();
    let mut policy = c
        .get_publicity_policy(pb::GetPublicityPolicyRequest { agency_id: w.agency.id.clone() })
        .await
        .unwrap()
        .into_inner()
        .policy
        .expect("the answer carries the policy");
    policy.auto_publish = auto;
    let stored = c
        .put_publicity_policy(pb::PutPublicityPolicyRequest { policy: Some(policy), regime_defaults: false })
        .await
        .unwrap()
        .into_inner()
        .policy
        .expect("the answer carries the policy");
    assert_eq!(stored.auto_publish, auto);
}

async fn revise(w: &World, case_id: &str, revision: pb::Revision) {
    w.head
        .review
        .clone()
        .revise_decision(pb::ReviseDecisionRequest {
            request_id: rid(),
            case_id: case_id.into(),
            revision: revision as i32,
            reason: "行政复议决定撤销".into(),
            basis: String::new(),
            occurred_at: None,
        })
        .await
        .expect("revise decision");
}

async fn publish(w: &World, case_id: &str) -> pb::Disclosure {
    w.publisher
        .publicity
        .clone()
        .publish_disclosure(pb::PublishDisclosureRequest { request_id: rid(), disclosure_id: case_id.into() })
        .await
        .expect("publish")
        .into_inner()
        .disclosure
        .expect("the answer carries the disclosure")
}

async fn annual(c: &Client, agency: &str, year: i32) -> Result<pb::GetAnnualReportResponse, tonic::Status> {
    c.publicity
        .clone()
        .get_annual_report(pb::GetAnnualReportRequest { agency_id: agency.into(), year, version: 0 })
        .await
        .map(tonic::Response::into_inner)
}

fn counts(c: &[pb::CountByName]) -> BTreeMap<String, u64> {
    c.iter().map(|c| (c.name.clone(), c.count)).collect()
}

fn map(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

async fn reviewer(h: &Harness, agency: &str) -> Client {
    let o = h.officer(agency, "法制员", true).await;
    h.principal(pb::Role::Reviewer, agency, &o.id).await
}

fn checklist(failing: Option<pb::ChecklistItem>) -> Vec<pb::CheckResult> {
    (1..=8)
        .map(|i| {
            let passed = failing.is_none_or(|f| f as i32 != i);
            pb::CheckResult { item: i, passed, comment: if passed { String::new() } else { "证据不足".into() } }
        })
        .collect()
}

async fn review(rev: &Client, draft_id: &str, approve: bool) {
    let (outcome, failing, opinion) = if approve {
        (pb::ReviewOutcome::Approve, None, "同意")
    } else {
        (pb::ReviewOutcome::ProblemsFound, Some(pb::ChecklistItem::FactsAndEvidence), "存在问题：事实不清")
    };
    rev.review
        .clone()
        .decide_review(pb::DecideReviewRequest {
            request_id: rid(),
            draft_id: draft_id.into(),
            checklist: checklist(failing),
            outcome: outcome as i32,
            opinion: opinion.into(),
        })
        .await
        .expect("decide review");
}

async fn open_minor_case(w: &World) -> pb::Case {
    w.officer
        .record
        .clone()
        .open_case(pb::OpenCaseRequest {
            request_id: rid(),
            agency_id: w.agency.id.clone(),
            kind: pb::CaseKind::Penalty as i32,
            title: "未成年人违法案".into(),
            party: Some(pb::Party {
                r#type: pb::PartyType::NaturalPerson as i32,
                name: "王小明".into(),
                id_type: "身份证".into(),
                id_number: "350102201001011234".into(),
                is_minor: true,
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

async fn annual_report_counts_the_finished_year_in_the_agency_calendar(backend: Backend) {
    let clock = Arc::new(TestClock::new(shanghai_morning("2026-06-01")));
    let h = Harness::start_with(backend, clock.clone(), |_| {}).await;
    let w = h.world(1, "").await;
    let noise = h.world(2, "").await;
    let public = h.client(None);
    let agency = w.agency.id.clone();
    let all = [&w.officers[0], &w.officers[1]];
    // Fines of 100 000 yuan and more to an organisation are major (RULES L2).
    h.admin
        .registry
        .clone()
        .put_catalog(pb::PutCatalogRequest {
            agency_id: agency.clone(),
            catalog_toml: "fine_organisation = { amount = 100000, inclusive = true }\n".into(),
        })
        .await
        .unwrap();
    let rev = reviewer(&h, &agency).await;
    let now = h.now();

    // A: a major fine, reviewed twice (problems found, then approved), decided.
    let a = w.open_case(pb::CaseKind::Penalty).await;
    ready_for_penalty(&w, &a.id, now).await;
    let a1 = penalty_draft(&w, &a.id, &[("罚款", 12_000_000)], 0).await;
    assert!(a1.major);
    review(&rev, &a1.id, false).await;
    let a2 = penalty_draft(&w, &a.id, &[("罚款", 12_000_000)], 0).await;
    review(&rev, &a2.id, true).await;
    issue_by(&w, &a2.id, &all).await.unwrap();
    // B: a fine with a warning and confiscated gains, published at once, then revoked (withdrawn).
    let b = w.open_case(pb::CaseKind::Penalty).await;
    ready_for_penalty(&w, &b.id, now).await;
    let bd = penalty_draft(&w, &b.id, &[("罚款", 500_000), ("警告", 0), ("没收违法所得", 0)], 300_000).await;
    assert!(!bd.major);
    issue_by(&w, &bd.id, &all).await.unwrap();
    revise(&w, &b.id, pb::Revision::Revocation).await;
    // C: a licence granted.
    let c = w.open_case(pb::CaseKind::Licensing).await;
    w.append(&c.id, K::Filing, now).await;
    w.decide(&c.id, true).await.unwrap();
    // D: an inspection, opened only.
    w.open_case(pb::CaseKind::Inspection).await;
    // E: a fine on a minor: decided, never published (RULES P4).
    let e = open_minor_case(&w).await;
    ready_for_penalty(&w, &e.id, now).await;
    let ed = penalty_draft(&w, &e.id, &[("罚款", 100_000)], 0).await;
    issue_by(&w, &ed.id, &all).await.unwrap();
    // Another agency's work is not counted.
    let n = noise.open_case(pb::CaseKind::Penalty).await;
    ready_for_penalty(&noise, &n.id, now).await;
    noise.decide(&n.id, false).await.unwrap();

    // The running year has no report yet.
    refused(annual(&public, &agency, 2026).await, Code::FailedPrecondition, "P8.year-not-ended");
    refused(annual(&public, &agency, 2027).await, Code::FailedPrecondition, "P8.year-not-ended");

    // F (15 December): confirmed publication; still unpublished past its due date at year end.
    clock.set(shanghai_morning("2026-12-15"));
    set_auto_publish(&w, false).await;
    let f = w.open_case(pb::CaseKind::Penalty).await;
    ready_for_penalty(&w, &f.id, h.now()).await;
    let fd = penalty_draft(&w, &f.id, &[("罚款", 200_000)], 0).await;
    issue_by(&w, &fd.id, &all).await.unwrap();

    // The year ends at midnight in Shanghai, not in UTC: 23:30 on 31 December is still 2026,
    // and the report is not yet available; half an hour after midnight is 2027, and it is.
    clock.set(Timestamp::parse_rfc3339("2026-12-31T15:30:00Z").unwrap());
    w.open_case(pb::CaseKind::Inspection).await;
    refused(annual(&public, &agency, 2026).await, Code::FailedPrecondition, "P8.year-not-ended");
    clock.set(Timestamp::parse_rfc3339("2026-12-31T16:30:00Z").unwrap());
    w.open_case(pb::CaseKind::Inspection).await;
    assert!(annual(&public, &agency, 2026).await.is_ok());

    // In 2027: F is published late, and another case decided; neither changes 2026.
    clock.set(shanghai_morning("2027-01-05"));
    let late = publish(&w, &f.id).await;
    assert_eq!(late.status, pb::DisclosureStatus::Published as i32);
    let g = w.open_case(pb::CaseKind::Penalty).await;
    ready_for_penalty(&w, &g.id, h.now()).await;
    let gd = penalty_draft(&w, &g.id, &[("罚款", 50_000)], 0).await;
    issue_by(&w, &gd.id, &all).await.unwrap();

    let r = annual(&public, &agency, 2026).await.unwrap();
    assert_eq!((r.agency_id.as_str(), r.agency_name.as_str(), r.year), (agency.as_str(), w.agency.name.as_str(), 2026));
    assert_eq!(counts(&r.cases_by_kind), map(&[("inspection", 2), ("licensing", 1), ("penalty", 4)]));
    assert_eq!(counts(&r.decisions_by_kind), map(&[("licensing", 1), ("penalty", 4)]));
    assert_eq!(counts(&r.penalties_by_type), map(&[("没收违法所得", 1), ("罚款", 4), ("警告", 1)]));
    assert_eq!(counts(&r.licensing_by_action), map(&[("准予许可", 1)]));
    assert_eq!(r.fines_total_fen, 12_000_000 + 500_000 + 100_000 + 200_000);
    assert_eq!(r.confiscation_total_fen, 300_000);
    assert_eq!(r.major_decisions, 1);
    assert_eq!((r.reviews, r.reviews_with_problems), (2, 1));
    assert_eq!(counts(&r.revisions), map(&[("revocation", 1)]));
    assert_eq!(r.withdrawals, 1);
    // A, B and C were published in 2026; E was excluded; F was still unpublished past its due
    // date when the year ended.
    assert_eq!((r.disclosures_published, r.disclosures_overdue, r.disclosures_excluded), (3, 1, 1));
    // The same answer with a token.
    assert_eq!(annual(&w.head, &agency, 2026).await.unwrap(), r);
    // The other agency's year is its own.
    let other = annual(&public, &noise.agency.id, 2026).await.unwrap();
    assert_eq!(counts(&other.decisions_by_kind), map(&[("penalty", 1)]));
    // Its warning is published: the general regime excludes no warning (docs/API.md).
    assert_eq!((other.fines_total_fen, other.disclosures_published), (0, 1));

    // 2027 in 2028: the case opened after midnight, G, and F published after its due date.
    refused(annual(&public, &agency, 2027).await, Code::FailedPrecondition, "P8.year-not-ended");
    clock.set(shanghai_morning("2028-01-03"));
    let r27 = annual(&public, &agency, 2027).await.unwrap();
    assert_eq!(counts(&r27.cases_by_kind), map(&[("inspection", 1), ("penalty", 1)]));
    assert_eq!(counts(&r27.decisions_by_kind), map(&[("penalty", 1)]));
    assert_eq!(r27.fines_total_fen, 50_000);
    // F was published after its due date; G, decided in January, was still unpublished when
    // 2027 ended.
    assert_eq!((r27.disclosures_published, r27.disclosures_overdue), (1, 2));
    assert_eq!((r27.reviews, r27.withdrawals, r27.major_decisions), (0, 0, 0));

    refused(annual(&public, "no-such-agency", 2026).await, Code::NotFound, "no-such-agency");
    refused(annual(&public, &agency, 1800).await, Code::InvalidArgument, "year");
    refused(annual(&public, &agency, 100_000).await, Code::InvalidArgument, "year");
    h.running.stop().await.unwrap();
}

async fn overdue(c: &Client, agency: &str) -> Result<Vec<pb::OverdueItem>, tonic::Status> {
    c.publicity
        .clone()
        .list_overdue(pb::ListOverdueRequest { agency_id: agency.into() })
        .await
        .map(|r| r.into_inner().items)
}

/// (kind, agency, subject) of each item.
fn summary(items: &[pb::OverdueItem]) -> Vec<(pb::OverdueKind, String, String)> {
    let mut v: Vec<_> = items
        .iter()
        .map(|i| (pb::OverdueKind::try_from(i.kind).unwrap(), i.agency_id.clone(), i.subject_id.clone()))
        .collect();
    v.sort();
    v
}

async fn event_count(w: &World, case_id: &str) -> u64 {
    w.officer
        .record
        .clone()
        .get_case(pb::GetCaseRequest { case_id: case_id.into() })
        .await
        .unwrap()
        .into_inner()
        .case
        .expect("the answer carries the case")
        .event_count
}

/// A seizure recorded without the required recording, with the reason why.
async fn unrecorded_seizure(w: &World, case_id: &str, now: Timestamp) -> pb::Event {
    let mut r = w.event(case_id, K::Seizure, now);
    r.missing_recording_reason = "执法记录仪故障".into();
    // The officers show their cards (RULES C7), so the missing recording is the only finding.
    r.certificates_shown = true;
    w.officer
        .record
        .clone()
        .append_event(r)
        .await
        .expect("append seizure")
        .into_inner()
        .event
        .expect("the answer carries the event")
}

async fn overdue_items_are_seen_by_the_overseeing_supervisor_only(backend: Backend) {
    // Monday 5 January 2026.
    let clock = Arc::new(TestClock::new(shanghai_morning("2026-01-05")));
    let h = Harness::start_with(backend, clock.clone(), |_| {}).await;
    let city = h.world(1, "").await;
    let district = h.world(2, &city.agency.id).await;
    let elsewhere = h.world(3, "").await;
    let d = district.agency.id.clone();
    let sup_city = h.principal(pb::Role::Supervisor, &city.agency.id, "").await;
    let sup_district = h.principal(pb::Role::Supervisor, &d, "").await;
    let sup_elsewhere = h.principal(pb::Role::Supervisor, &elsewhere.agency.id, "").await;
    let [zhang, li] = [&district.officers[0], &district.officers[1]];
    let now = h.now();
    set_auto_publish(&district, false).await;

    // A case filed today, with a seizure recorded without its recording (RULES R3).
    let filed = district.open_case(pb::CaseKind::Penalty).await;
    district.append(&filed.id, K::Filing, now).await;
    let seizure = unrecorded_seizure(&district, &filed.id, now).await;
    // A decision waiting for confirmation of its publication (due in 7 working days).
    let unpublished = district.open_case(pb::CaseKind::Penalty).await;
    ready_for_penalty(&district, &unpublished.id, now).await;
    let ud = penalty_draft(&district, &unpublished.id, &[("罚款", 500_000)], 0).await;
    let revoked = district.open_case(pb::CaseKind::Penalty).await;
    ready_for_penalty(&district, &revoked.id, now).await;
    // An officer suspended today may not act: the refused attempts are counted, the acts are
    // not stored (RULES G3, S1).
    set_status(&h, &li.id, pb::OfficerStatus::Suspended).await;
    let before = event_count(&district, &unpublished.id).await;
    refused(issue_by(&district, &ud.id, &[zhang, li]).await, Code::FailedPrecondition, "G3.certificate-valid");
    assert_eq!(event_count(&district, &unpublished.id).await, before);
    let before = event_count(&district, &filed.id).await;
    refused(
        district.officer.record.clone().append_event(district.event(&filed.id, K::Questioning, now)).await,
        Code::FailedPrecondition,
        "G3.certificate-valid",
    );
    assert_eq!(event_count(&district, &filed.id).await, before);
    issue_by(&district, &ud.id, &[zhang]).await.unwrap();
    // A published decision, then revoked: its withdrawal waits for the publisher (3 working days).
    let rd = penalty_draft(&district, &revoked.id, &[("罚款", 300_000)], 0).await;
    issue_by(&district, &rd.id, &[zhang]).await.unwrap();
    publish(&district, &revoked.id).await;
    revise(&district, &revoked.id, pb::Revision::Revocation).await;
    // A major draft waiting for legal review (7 working days under this catalog).
    h.admin
        .registry
        .clone()
        .put_catalog(pb::PutCatalogRequest {
            agency_id: d.clone(),
            catalog_toml: "all_ordinary_procedure_penalties = true\nreview_days = 7\n".into(),
        })
        .await
        .unwrap();
    let waiting = district.open_case(pb::CaseKind::Penalty).await;
    let major = penalty_draft(&district, &waiting.id, &[("罚款", 100_000)], 0).await;
    assert!(major.major);
    // The other tree has its own filed case, with a missing recording.
    let far = elsewhere.open_case(pb::CaseKind::Penalty).await;
    elsewhere.append(&far.id, K::Filing, now).await;
    let far_seizure = unrecorded_seizure(&elsewhere, &far.id, now).await;
    // … and a photo uploaded 30 hours after it was taken, beyond the 24-hour upload window.
    let late_photo = elsewhere
        .upload(&far.id, "image/jpeg", bytes::Bytes::from_static(b"late photo"), now.plus_seconds(-30 * 3600))
        .await
        .unwrap()
        .evidence
        .unwrap();
    assert!(late_photo.late);

    // Today nothing is past due; the missing recording and the refused attempts already count.
    let seizure_id = format!("{}:{}", seizure.case_id, seizure.case_seq);
    let today_items = overdue(&sup_city, "").await.unwrap();
    assert_eq!(
        summary(&today_items),
        [
            (pb::OverdueKind::RecordingMissing, d.clone(), seizure_id.clone()),
            (pb::OverdueKind::InvalidCertificate, d.clone(), li.id.clone()),
            (pb::OverdueKind::InvalidCertificate, d.clone(), li.id.clone()),
        ]
    );
    let refusals: Vec<&pb::OverdueItem> =
        today_items.iter().filter(|i| i.kind == pb::OverdueKind::InvalidCertificate as i32).collect();
    let mut refused_cases: Vec<&str> = refusals.iter().map(|i| i.case_id.as_str()).collect();
    refused_cases.sort_unstable();
    let mut expected_cases = vec![filed.id.as_str(), unpublished.id.as_str()];
    expected_cases.sort_unstable();
    assert_eq!(refused_cases, expected_cases);
    assert!(refusals.iter().all(|i| i.detail.contains("李四") && i.detail.contains("suspended")), "{refusals:?}");

    // On 20 April: publication, withdrawal and review are past due, and the case filed on
    // 5 January is past its 90 days (5 April).
    clock.set(shanghai_morning("2026-04-20"));
    let disclosure_due = district
        .publisher
        .publicity
        .clone()
        .get_disclosure(pb::GetDisclosureRequest { disclosure_id: unpublished.id.clone() })
        .await
        .unwrap()
        .into_inner()
        .disclosure
        .expect("the answer carries the disclosure");
    assert!(disclosure_due.overdue);
    let expected = vec![
        (pb::OverdueKind::Disclosure, d.clone(), unpublished.id.clone()),
        (pb::OverdueKind::Withdrawal, d.clone(), revoked.id.clone()),
        (pb::OverdueKind::Review, d.clone(), major.id.clone()),
        (pb::OverdueKind::Decision, d.clone(), filed.id.clone()),
        (pb::OverdueKind::RecordingMissing, d.clone(), seizure_id.clone()),
        (pb::OverdueKind::InvalidCertificate, d.clone(), li.id.clone()),
        (pb::OverdueKind::InvalidCertificate, d.clone(), li.id.clone()),
    ];
    let items = overdue(&sup_city, "").await.unwrap();
    assert_eq!(summary(&items), expected);
    let due = |kind: pb::OverdueKind| items.iter().find(|i| i.kind == kind as i32).unwrap().due_date.clone();
    assert_eq!(due(pb::OverdueKind::Disclosure), disclosure_due.due_date);
    assert_eq!(due(pb::OverdueKind::Review), major.review_due_date);
    assert_eq!(due(pb::OverdueKind::Decision), "2026-04-05");
    assert!(!due(pb::OverdueKind::Withdrawal).is_empty());
    // The same, naming the district; and the district's own supervisor sees it too.
    assert_eq!(summary(&overdue(&sup_city, &d).await.unwrap()), expected);
    assert_eq!(summary(&overdue(&sup_district, "").await.unwrap()), expected);
    // The city itself has nothing of its own.
    assert!(overdue(&sup_city, &city.agency.id).await.unwrap().is_empty());

    // A supervisor of another tree sees only its own, and may not name the district; the
    // district's supervisor may not look upwards; others may not supervise at all.
    let far_id = format!("{}:{}", far_seizure.case_id, far_seizure.case_seq);
    assert_eq!(
        summary(&overdue(&sup_elsewhere, "").await.unwrap()),
        [
            (pb::OverdueKind::Decision, elsewhere.agency.id.clone(), far.id.clone()),
            (pb::OverdueKind::RecordingMissing, elsewhere.agency.id.clone(), far_id),
            (pb::OverdueKind::LateUpload, elsewhere.agency.id.clone(), late_photo.id.clone()),
        ]
    );
    refused(overdue(&sup_elsewhere, &d).await, Code::PermissionDenied, "may not see what is overdue (supervision)");
    refused(
        overdue(&sup_district, &city.agency.id).await,
        Code::PermissionDenied,
        "may not see what is overdue (supervision)",
    );
    refused(overdue(&district.head, "").await, Code::PermissionDenied, "head");
    refused(overdue(&district.officer, &d).await, Code::PermissionDenied, "officer");
    refused(overdue(&h.client(None), "").await, Code::Unauthenticated, "token");
    refused(overdue(&sup_city, "no-such-agency").await, Code::NotFound, "no-such-agency");
    // Administrators see every agency.
    let everything = summary(&overdue(&h.admin, "").await.unwrap());
    assert_eq!(everything.len(), expected.len() + 3);

    // Done is no longer overdue: publishing and withdrawing clear those items.
    publish(&district, &unpublished.id).await;
    district
        .publisher
        .publicity
        .clone()
        .withdraw_disclosure(pb::WithdrawDisclosureRequest {
            request_id: rid(),
            disclosure_id: revoked.id.clone(),
            reason: String::new(),
        })
        .await
        .unwrap();
    let after = summary(&overdue(&sup_city, "").await.unwrap());
    assert_eq!(after, expected[2..].to_vec());
    h.running.stop().await.unwrap();
}
