//! Filing of major penalties (RULES F1–F9) over gRPC, on every database backend: a decision at
//! the threshold owes a filing and one just below does not; the package is assembled from the
//! chain (F5) and refused when a mandatory document is missing; the filing body (a supervisor of
//! the agency the filing is routed to, F3) reviews it with each outcome of F7; a missed filing,
//! a late one, an overdue review and an overdue response appear on the supervisor's overdue
//! list as the test clock moves (F8), counted in calendar or working days as configured (F4);
//! the periodic notice counts them (F9); and others may neither file nor review.

use std::sync::Arc;

use sanxiang_domain::TestClock;
use sanxiang_domain::id::CaseId;
use sanxiang_proto::v1 as pb;
use sanxiang_proto::v1::EventKind as K;
use sanxiang_store::entity::filing;
use sanxiang_tests::{Backend, Client, Harness, World, backend_tests, penalty_draft, refused, shanghai_morning};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, IntoActiveModel};
use tonic::Code;

backend_tests!(
    a_filing_is_owed_made_and_reviewed_with_each_outcome,
    late_and_missing_filings_reviews_and_responses_are_on_the_supervisors_list,
    a_working_day_policy_counts_from_service_and_an_incomplete_package_is_refused,
    a_supplement_is_due_in_working_days_and_listings_carry_the_package,
    the_reviewer_calls_for_the_case_file_and_the_agency_provides_it,
    a_case_file_called_for_is_owed_within_its_period_and_a_late_or_missing_one_is_overdue,
    counted_from_effectiveness_a_public_notice_starts_the_period_when_the_decision_is_deemed_served,
    filings_are_routed_by_the_agency_kind_and_joint_decisions_per_the_policy,
    with_review_first_a_decision_owing_a_filing_must_have_been_reviewed,
);

/// The catalog of 巩义市 (河南): F1's fines, suspension and revocation are major (RULES F2).
const GONGYI: &str = r#"
agency_example = "巩义市 (河南)"
fine_natural_person = { amount = 10000, inclusive = true }
fine_organisation = { amount = 100000, inclusive = true }
confiscation_counts_as_fine = true
always_major_penalties = ["责令停产停业", "吊销许可证件"]
"#;

/// 100 000 yuan in fen: Henan's threshold for an organisation (168号 Art. 3).
const THRESHOLD: u64 = 10_000_000;

fn rid() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A county government's supervision office over a bureau, a sibling bureau, and their staff.
struct Setup {
    h: Harness,
    clock: Arc<TestClock>,
    gov: pb::Agency,
    bureau: World,
    sibling: World,
    /// The bureau's legal office (reviewer, with legal qualification).
    legal: Client,
    /// The government's supervision office: receives the bureau's filings.
    supervisor: Client,
    sibling_supervisor: Client,
}

async fn setup(backend: Backend, date: &str) -> Setup {
    let (h, clock) = Harness::start_on(backend, date).await;
    let gov = h.agency(1, "").await;
    let bureau = h.world(2, &gov.id).await;
    let sibling = h.world(3, &gov.id).await;
    let o = h.officer(&bureau.agency.id, "法制员", true).await;
    let legal = h.principal(pb::Role::Reviewer, &bureau.agency.id, &o.id).await;
    let supervisor = h.principal(pb::Role::Supervisor, &gov.id, "").await;
    let sibling_supervisor = h.principal(pb::Role::Supervisor, &sibling.agency.id, "").await;
    h.admin
        .registry
        .clone()
        .put_catalog(pb::PutCatalogRequest { agency_id: bureau.agency.id.clone(), catalog_toml: GONGYI.into() })
        .await
        .expect("put catalog");
    Setup { h, clock, gov, bureau, sibling, legal, supervisor, sibling_supervisor }
}

impl Setup {
    /// A penalty case of the bureau decided with `penalties`, approved by the legal office when
    /// the catalog makes it major; returns the case and the decision's payload.
    async fn decided(&self, penalties: &[(&str, u64)]) -> (pb::Case, serde_json::Value) {
        self.decided_by(&self.bureau, penalties).await
    }

    /// As [`Self::decided`], by `w`.
    async fn decided_by(&self, w: &World, penalties: &[(&str, u64)]) -> (pb::Case, serde_json::Value) {
        let now = self.h.now();
        let case = w.open_case(pb::CaseKind::Penalty).await;
        w.ready_for_decision(&case.id, now).await;
        let draft = w.submit(penalty_draft(&case.id, penalties)).await;
        if draft.major {
            self.legal
                .review
                .clone()
                .decide_review(pb::DecideReviewRequest {
                    request_id: rid(),
                    draft_id: draft.id.clone(),
                    checklist: (1..=8)
                        .map(|i| pb::CheckResult { item: i, passed: true, comment: String::new() })
                        .collect(),
                    outcome: pb::ReviewOutcome::Approve as i32,
                    opinion: "同意".into(),
                })
                .await
                .expect("approve");
        }
        let issued = w.issue(&draft.id).await.expect("issue");
        let payload = serde_json::from_str(&issued.event.expect("event").payload_json).expect("json");
        (case, payload)
    }

    async fn events(&self, case_id: &str) -> Vec<pb::Event> {
        self.h
            .admin
            .record
            .clone()
            .list_events(pb::ListEventsRequest { case_id: case_id.into(), after_seq: 0, limit: 0 })
            .await
            .unwrap()
            .into_inner()
            .events
    }

    async fn overdue(&self, c: &Client) -> Vec<pb::OverdueItem> {
        c.publicity
            .clone()
            .list_overdue(pb::ListOverdueRequest { agency_id: String::new() })
            .await
            .expect("list overdue")
            .into_inner()
            .items
    }

    /// The filing items of the supervisor's overdue list, as (kind, case id, due date).
    async fn filing_overdue(&self) -> Vec<(pb::OverdueKind, String, String)> {
        let mut out: Vec<_> = self
            .overdue(&self.supervisor)
            .await
            .into_iter()
            .map(|i| (pb::OverdueKind::try_from(i.kind).unwrap(), i.case_id, i.due_date))
            .filter(|(k, _, _)| {
                [
                    pb::OverdueKind::FilingMissing,
                    pb::OverdueKind::FilingLate,
                    pb::OverdueKind::FilingReview,
                    pb::OverdueKind::FilingResponse,
                    pb::OverdueKind::FilingSupplement,
                ]
                .contains(k)
            })
            .collect();
        out.sort();
        out
    }
}

async fn get(c: &Client, case_id: &str) -> Result<pb::Filing, tonic::Status> {
    c.filing
        .clone()
        .get_filing(pb::GetFilingRequest { case_id: case_id.into() })
        .await
        .map(|r| r.into_inner().filing.expect("the answer carries the filing"))
}

async fn submit(c: &Client, case_id: &str, report: &str) -> Result<pb::Filing, tonic::Status> {
    c.filing
        .clone()
        .submit_filing(pb::SubmitFilingRequest { request_id: rid(), case_id: case_id.into(), report: report.into() })
        .await
        .map(|r| r.into_inner().filing.expect("the answer carries the filing"))
}

async fn open(c: &Client, case_id: &str) -> Result<pb::Filing, tonic::Status> {
    c.filing
        .clone()
        .open_filing_review(pb::OpenFilingReviewRequest { request_id: rid(), case_id: case_id.into() })
        .await
        .map(|r| r.into_inner().filing.expect("the answer carries the filing"))
}

async fn decide(
    c: &Client,
    case_id: &str,
    outcome: pb::FilingOutcome,
    reasons: &str,
) -> Result<pb::Filing, tonic::Status> {
    c.filing
        .clone()
        .decide_filing_review(pb::DecideFilingReviewRequest {
            request_id: rid(),
            case_id: case_id.into(),
            outcome: outcome as i32,
            reasons: reasons.into(),
        })
        .await
        .map(|r| r.into_inner().filing.expect("the answer carries the filing"))
}

async fn respond(c: &Client, case_id: &str, date: &str) -> Result<pb::Filing, tonic::Status> {
    c.filing
        .clone()
        .record_filing_response(pb::RecordFilingResponseRequest {
            request_id: rid(),
            case_id: case_id.into(),
            response: "已撤销原处罚决定并重新作出".into(),
            response_date: date.into(),
        })
        .await
        .map(|r| r.into_inner().filing.expect("the answer carries the filing"))
}

fn status(f: &pb::Filing) -> pb::FilingStatus {
    pb::FilingStatus::try_from(f.status).unwrap()
}

async fn legal_holds(w: &World, case_id: &str) -> Vec<String> {
    w.officer
        .record
        .clone()
        .get_case(pb::GetCaseRequest { case_id: case_id.into() })
        .await
        .unwrap()
        .into_inner()
        .case
        .expect("case")
        .legal_holds
}

const REPORT: &str = "重大行政处罚备案报告：罚款十万元";

async fn a_filing_is_owed_made_and_reviewed_with_each_outcome(backend: Backend) {
    let s = setup(backend, "2026-03-02").await;
    let w = &s.bureau;

    // F1 on both sides of the threshold: one fen below owes nothing; at it, a filing with the
    // county government, due 15 calendar days after the decision.
    let (below, payload) = s.decided(&[("罚款", THRESHOLD - 1)]).await;
    assert_eq!(payload["filing"], serde_json::json!({ "required": false }));
    refused(get(&w.head, &below.id).await, Code::NotFound, "filing");
    refused(submit(&w.head, &below.id, REPORT).await, Code::FailedPrecondition, "F1.filing-required");

    let (case, payload) = s.decided(&[("罚款", THRESHOLD)]).await;
    assert_eq!(payload["filing"]["required"], true);
    assert_eq!(payload["filing"]["reasons"], serde_json::json!(["F1.fine"]));
    assert_eq!(payload["filing"]["recipients"], serde_json::json!([s.gov.id]));
    assert_eq!(payload["filing"]["due_date"], "2026-03-17");
    let owed = get(&w.head, &case.id).await.unwrap();
    assert_eq!(status(&owed), pb::FilingStatus::Owed);
    assert_eq!((owed.due_date.as_str(), owed.decided_on.as_str()), ("2026-03-17", "2026-03-02"));
    assert_eq!(owed.recipient_ids, std::slice::from_ref(&s.gov.id));
    let evidence = w
        .upload(&case.id, "image/jpeg", bytes::Bytes::from_static(b"photo of the expired goods"), s.h.now())
        .await
        .unwrap()
        .evidence
        .unwrap();

    // Who may file: the bureau's head or legal office, not its officers, not another agency;
    // a filing without its report is refused by field. Nothing is written by a refusal.
    let before = s.events(&case.id).await;
    refused(submit(&w.officer, &case.id, REPORT).await, Code::PermissionDenied, "officer");
    refused(submit(&s.sibling.head, &case.id, REPORT).await, Code::PermissionDenied, "head");
    refused(submit(&w.head, &case.id, "  ").await, Code::InvalidArgument, "report");
    refused(open(&s.supervisor, &case.id).await, Code::FailedPrecondition, "F7.review-after-submission");
    assert_eq!(s.events(&case.id).await, before);

    // The package, from the chain: each document by its event's number and hash, the evidence
    // by its digest.
    let filed = submit(&s.legal, &case.id, REPORT).await.unwrap();
    assert_eq!(status(&filed), pb::FilingStatus::Submitted);
    assert!(!filed.submitted_late);
    assert_eq!((filed.submitted_on.as_str(), filed.review_due_date.as_str()), ("2026-03-02", "2026-03-17"));
    let items: Vec<&str> = filed.documents.iter().map(|d| d.item.as_str()).collect();
    assert_eq!(items, ["decision", "review_opinion", "proposed_penalty_notice"]);
    let events = s.events(&case.id).await;
    for d in &filed.documents {
        let e = events.iter().find(|e| e.case_seq == d.case_seq).expect("the document's event");
        assert_eq!(e.hash, d.event_hash, "{}", d.item);
    }
    assert_eq!(filed.evidence.len(), 1);
    assert_eq!(
        (filed.evidence[0].evidence_id.as_str(), filed.evidence[0].sha256.as_str()),
        (evidence.id.as_str(), evidence.sha256.as_str())
    );
    assert_eq!(K::try_from(events.last().unwrap().kind).unwrap(), K::FilingSubmitted);
    refused(submit(&w.head, &case.id, REPORT).await, Code::FailedPrecondition, "F5.submit-when-owed");

    // Who may review: the government the filing went to; not the bureau itself, not a sibling.
    refused(open(&s.legal, &case.id).await, Code::PermissionDenied, "reviewer");
    refused(open(&s.sibling_supervisor, &case.id).await, Code::PermissionDenied, "supervisor");
    refused(
        decide(&s.supervisor, &case.id, pb::FilingOutcome::Recorded, "无问题").await,
        Code::FailedPrecondition,
        "F7.decide-open-review",
    );
    let opened = open(&s.supervisor, &case.id).await.unwrap();
    assert_eq!(status(&opened), pb::FilingStatus::UnderReview);
    assert_eq!(opened.reviewer_agency_id, s.gov.id);
    assert_eq!(legal_holds(w, &case.id).await, ["filing_review"]);

    // Bad outcomes are refused by field or rule, writing nothing.
    let before = s.events(&case.id).await;
    refused(
        decide(&s.supervisor, &case.id, pb::FilingOutcome::Unspecified, "x").await,
        Code::InvalidArgument,
        "outcome",
    );
    refused(decide(&s.supervisor, &case.id, pb::FilingOutcome::Recorded, "").await, Code::InvalidArgument, "reasons");
    refused(
        decide(&s.supervisor, &case.id, pb::FilingOutcome::TerminatedByDispute, "已提起复议").await,
        Code::FailedPrecondition,
        "F7.terminated-by-dispute",
    );
    assert_eq!(s.events(&case.id).await, before);

    // Supplement required: the hold ends, the bureau files again, the review reopens.
    let sup =
        decide(&s.supervisor, &case.id, pb::FilingOutcome::SupplementRequired, "缺少听证告知送达回证").await.unwrap();
    assert_eq!(status(&sup), pb::FilingStatus::SupplementRequired);
    // Due in 5 working days (RULES F7 [default]): Monday 2 March + 5 = Monday 9 March.
    assert_eq!(sup.response_due_date, "2026-03-09");
    assert!(legal_holds(w, &case.id).await.is_empty());
    let again = submit(&w.head, &case.id, "补充材料后重新报送").await.unwrap();
    assert_eq!((status(&again), again.submissions), (pb::FilingStatus::Submitted, 2));
    open(&s.supervisor, &case.id).await.unwrap();

    // Correction recommended: the response is due in 15 days; a response dated in the future
    // is refused; the response closes the filing.
    let corr = decide(&s.supervisor, &case.id, pb::FilingOutcome::CorrectionRecommended, "裁量明显不当，建议变更")
        .await
        .unwrap();
    assert_eq!(status(&corr), pb::FilingStatus::AwaitingResponse);
    assert_eq!(corr.response_due_date, "2026-03-17");
    refused(respond(&w.head, &case.id, "2026-03-03").await, Code::InvalidArgument, "response_date");
    refused(respond(&w.officer, &case.id, "").await, Code::PermissionDenied, "officer");
    let done = respond(&w.head, &case.id, "2026-03-02").await.unwrap();
    assert_eq!((status(&done), done.responded_on.as_str()), (pb::FilingStatus::Closed, "2026-03-02"));
    let kinds: Vec<K> = s.events(&case.id).await.iter().map(|e| K::try_from(e.kind).unwrap()).collect();
    assert_eq!(
        kinds[kinds.len() - 7..],
        [
            K::FilingSubmitted,
            K::FilingReviewOpened,
            K::FilingReviewConcluded,
            K::FilingSubmitted,
            K::FilingReviewOpened,
            K::FilingReviewConcluded,
            K::FilingResponse
        ]
    );
    assert_eq!(done.event_seqs.len(), 7);
    // The filing's events are the service's own: no client can append them.
    refused(
        w.officer.record.clone().append_event(w.event(&case.id, K::FilingReviewOpened, s.h.now())).await,
        Code::InvalidArgument,
        "kind",
    );
    let report = w.verify(&case.id, true).await;
    assert!(report.ok, "{report:?}");
    // The row is checked against the chain: a status or outcome changed behind the service's
    // back is reported at its column; restored, the case verifies again.
    let db = &s.h.running.db;
    let row = filing::Entity::find_by_id(CaseId::from(case.id.clone())).one(db).await.unwrap().expect("the row");
    for (column, tampered) in [
        ("status", filing::ActiveModel { status: Set("owed".into()), ..row.clone().into_active_model() }),
        ("outcome", filing::ActiveModel { outcome: Set(Some("recorded".into())), ..row.clone().into_active_model() }),
    ] {
        tampered.update(db).await.unwrap();
        let report = w.verify(&case.id, false).await;
        assert!(!report.ok, "{column}");
        assert!(report.problems.iter().any(|p| p.table == "filings" && p.column == column), "{column}: {report:?}");
        row.clone().into_active_model().reset_all().update(db).await.unwrap();
        assert!(w.verify(&case.id, false).await.ok, "{column} restored");
    }

    // Recorded; transfer required (7 days); terminated by a dispute on the decision.
    let (recorded, _) = s.decided(&[("责令停产停业", 0)]).await;
    assert_eq!(get(&w.head, &recorded.id).await.unwrap().reasons, ["F1.suspend_production"]);
    // Filed once: a retry of the same request answers the filing again and writes nothing; the
    // same request id with another request is refused.
    let once = pb::SubmitFilingRequest { request_id: rid(), case_id: recorded.id.clone(), report: REPORT.into() };
    let first = w.head.filing.clone().submit_filing(once.clone()).await.unwrap().into_inner().filing.unwrap();
    let written = s.events(&recorded.id).await;
    let again = w.head.filing.clone().submit_filing(once.clone()).await.unwrap().into_inner().filing.unwrap();
    assert_eq!((first.submissions, again.submissions), (1, 1));
    assert_eq!(s.events(&recorded.id).await, written);
    refused(
        w.head.filing.clone().submit_filing(pb::SubmitFilingRequest { report: "另一份报告".into(), ..once }).await,
        Code::FailedPrecondition,
        "idempotency",
    );
    open(&s.supervisor, &recorded.id).await.unwrap();
    let r = decide(&s.supervisor, &recorded.id, pb::FilingOutcome::Recorded, "予以备案").await.unwrap();
    assert_eq!((status(&r), r.response_due_date.as_str()), (pb::FilingStatus::Closed, ""));

    let (transfer, _) = s.decided(&[("罚款", THRESHOLD + 1)]).await;
    submit(&w.head, &transfer.id, REPORT).await.unwrap();
    open(&s.supervisor, &transfer.id).await.unwrap();
    let t = decide(&s.supervisor, &transfer.id, pb::FilingOutcome::TransferRequired, "涉嫌犯罪，应移送司法机关")
        .await
        .unwrap();
    assert_eq!((status(&t), t.response_due_date.as_str()), (pb::FilingStatus::AwaitingResponse, "2026-03-09"));

    let (disputed, _) = s.decided(&[("吊销许可证件", 0)]).await;
    submit(&w.head, &disputed.id, REPORT).await.unwrap();
    open(&s.supervisor, &disputed.id).await.unwrap();
    w.append(&disputed.id, K::ReconsiderationApplied, s.h.now()).await;
    let d = decide(&s.supervisor, &disputed.id, pb::FilingOutcome::TerminatedByDispute, "当事人已申请行政复议")
        .await
        .unwrap();
    assert_eq!(status(&d), pb::FilingStatus::Closed);
    assert_eq!(legal_holds(w, &disputed.id).await, ["reconsideration"]);

    // The periodic notice (F9) of March, for the government: four decisions owed filing, all
    // filed in time; one outcome of each kind but supplement (superseded); one correction done,
    // one transfer outstanding. The sibling decided nothing.
    let notice = s
        .supervisor
        .filing
        .clone()
        .get_filing_report(pb::GetFilingReportRequest {
            agency_id: String::new(),
            from_date: "2026-03-01".into(),
            to_date: "2026-03-31".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let row = notice.rows.iter().find(|r| r.agency_id == w.agency.id).unwrap();
    assert_eq!((row.required, row.filed_on_time, row.filed_late, row.not_filed), (4, 4, 0, 0));
    assert_eq!(
        (
            row.recorded,
            row.supplement_required,
            row.correction_recommended,
            row.transfer_required,
            row.terminated_by_dispute
        ),
        (1, 0, 1, 1, 1)
    );
    assert_eq!((row.responses_done, row.responses_outstanding, row.reviews_pending), (1, 1, 0));
    assert_eq!(notice.total.unwrap().required, 4);
    assert_eq!(notice.rows.iter().find(|r| r.agency_id == s.sibling.agency.id).unwrap().required, 0);
    refused(
        w.head
            .filing
            .clone()
            .get_filing_report(pb::GetFilingReportRequest {
                agency_id: String::new(),
                from_date: "2026-03-01".into(),
                to_date: "2026-03-31".into(),
            })
            .await,
        Code::PermissionDenied,
        "head",
    );
    // The list, for the government and by status.
    let awaiting = s
        .supervisor
        .filing
        .clone()
        .list_filings(pb::ListFilingsRequest {
            agency_id: String::new(),
            status: pb::FilingStatus::AwaitingResponse as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .filings;
    assert_eq!(awaiting.iter().map(|f| f.case_id.as_str()).collect::<Vec<_>>(), [transfer.id.as_str()]);
    s.h.running.stop().await.unwrap();
}

async fn late_and_missing_filings_reviews_and_responses_are_on_the_supervisors_list(backend: Backend) {
    let s = setup(backend, "2026-03-02").await;
    let w = &s.bureau;
    let (case, _) = s.decided(&[("罚款", THRESHOLD)]).await;
    // Due on 17 March (15 calendar days): on that day nothing is overdue, the next day the
    // missing filing is on the government's list, and only there.
    s.clock.set(shanghai_morning("2026-03-17"));
    assert!(s.filing_overdue().await.is_empty());
    s.clock.set(shanghai_morning("2026-03-18"));
    assert_eq!(s.filing_overdue().await, [(pb::OverdueKind::FilingMissing, case.id.clone(), "2026-03-17".to_owned())]);
    assert!(
        !s.overdue(&s.sibling_supervisor).await.iter().any(|i| i.case_id == case.id),
        "a sibling does not supervise the bureau"
    );

    // Filed late: accepted (never blocked), marked, and listed as late instead of missing.
    let filed = submit(&w.head, &case.id, REPORT).await.unwrap();
    assert!(filed.submitted_late);
    assert_eq!(filed.review_due_date, "2026-04-02");
    assert_eq!(s.filing_overdue().await, [(pb::OverdueKind::FilingLate, case.id.clone(), "2026-03-17".to_owned())]);
    let submitted = s.events(&case.id).await.pop().unwrap();
    assert!(submitted.payload_json.contains("\"late\":true"), "{}", submitted.payload_json);

    // The review is not concluded within its 15 days.
    s.clock.set(shanghai_morning("2026-04-03"));
    let items = s.filing_overdue().await;
    assert!(items.contains(&(pb::OverdueKind::FilingReview, case.id.clone(), "2026-04-02".to_owned())), "{items:?}");
    open(&s.supervisor, &case.id).await.unwrap();
    assert!(s.filing_overdue().await.iter().any(|(k, _, _)| *k == pb::OverdueKind::FilingReview));
    decide(&s.supervisor, &case.id, pb::FilingOutcome::CorrectionRecommended, "程序违法，建议撤销").await.unwrap();
    // Nor the response within its 15 days.
    s.clock.set(shanghai_morning("2026-04-18"));
    assert_eq!(s.filing_overdue().await, [(pb::OverdueKind::FilingLate, case.id.clone(), "2026-03-17".to_owned())]);
    s.clock.set(shanghai_morning("2026-04-19"));
    assert_eq!(
        s.filing_overdue().await,
        [
            (pb::OverdueKind::FilingLate, case.id.clone(), "2026-03-17".to_owned()),
            (pb::OverdueKind::FilingResponse, case.id.clone(), "2026-04-18".to_owned()),
        ]
    );
    // The agency revokes the decision as recommended: the filing shows the revision.
    assert!(get(&w.head, &case.id).await.unwrap().revisions.is_empty());
    let revised = w
        .head
        .review
        .clone()
        .revise_decision(pb::ReviseDecisionRequest {
            request_id: rid(),
            case_id: case.id.clone(),
            revision: pb::Revision::Revocation as i32,
            reason: "根据备案审查意见撤销".into(),
            basis: String::new(),
            occurred_at: None,
        })
        .await
        .unwrap()
        .into_inner()
        .event
        .unwrap();
    let shown = get(&w.head, &case.id).await.unwrap();
    assert_eq!(
        shown.revisions,
        [pb::FilingRevision {
            case_seq: revised.case_seq,
            revision: "revocation".into(),
            reason: "根据备案审查意见撤销".into(),
            revised_on: "2026-04-19".into(),
        }]
    );
    let listed = list(&s.supervisor, true).await;
    assert_eq!(listed.iter().find(|f| f.case_id == case.id).unwrap().revisions, shown.revisions);
    respond(&w.head, &case.id, "2026-04-19").await.unwrap();
    assert_eq!(s.filing_overdue().await.len(), 1);

    // The notice counts the late filing.
    let notice = s
        .supervisor
        .filing
        .clone()
        .get_filing_report(pb::GetFilingReportRequest {
            agency_id: w.agency.id.clone(),
            from_date: "2026-03-01".into(),
            to_date: "2026-03-31".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let row = &notice.rows[0];
    assert_eq!((row.required, row.filed_late, row.correction_recommended, row.responses_done), (1, 1, 1, 1));
    s.h.running.stop().await.unwrap();
}

async fn a_working_day_policy_counts_from_service_and_an_incomplete_package_is_refused(backend: Backend) {
    let s = setup(backend, "2026-04-27").await;
    let w = &s.bureau;
    let mut filing = s.h.admin.filing.clone();
    let policy = filing
        .get_filing_policy(pb::GetFilingPolicyRequest { agency_id: w.agency.id.clone() })
        .await
        .unwrap()
        .into_inner()
        .policy
        .unwrap();
    // The defaults are Henan's.
    assert_eq!(
        (policy.fine_citizen_fen, policy.fine_organisation_fen, policy.filing_days),
        (1_000_000, 10_000_000, 15)
    );
    let put = |p: pb::FilingPolicy| {
        let mut c = filing.clone();
        async move { c.put_filing_policy(pb::PutFilingPolicyRequest { policy: Some(p) }).await }
    };
    refused(
        put(pb::FilingPolicy { filing_days: 0, ..policy.clone() }).await,
        Code::InvalidArgument,
        "policy.filing_days",
    );
    refused(
        put(pb::FilingPolicy { filing_start: 0, ..policy.clone() }).await,
        Code::InvalidArgument,
        "policy.filing_start",
    );
    refused(
        w.head.filing.clone().put_filing_policy(pb::PutFilingPolicyRequest { policy: Some(policy.clone()) }).await,
        Code::PermissionDenied,
        "head",
    );
    let working = pb::FilingPolicy {
        filing_day_type: pb::FilingDayType::Working as i32,
        filing_start: pb::FilingStart::Service as i32,
        ..policy.clone()
    };
    put(working).await.unwrap();

    // Decided on Monday 27 April; nothing is due until the decision is served.
    let (case, payload) = s.decided(&[("罚款", THRESHOLD)]).await;
    assert_eq!(payload["filing"]["start"], "service");
    assert!(payload["filing"].get("due_date").is_none());
    assert_eq!(get(&w.head, &case.id).await.unwrap().due_date, "");
    s.clock.set(shanghai_morning("2026-04-28"));
    let mut service = w.event(&case.id, K::Service, s.h.now());
    service.service_method = pb::ServiceMethod::Direct as i32;
    w.officer.record.clone().append_event(service).await.unwrap();
    // 15 working days from 28 April, across the Labour Day rest (1–5 May) and the working
    // Saturday of 9 May: 21 May.
    let due = get(&w.head, &case.id).await.unwrap();
    assert_eq!((due.due_date.as_str(), due.due_date_provisional), ("2026-05-21", false));
    s.clock.set(shanghai_morning("2026-05-21"));
    assert!(s.filing_overdue().await.is_empty());
    s.clock.set(shanghai_morning("2026-05-22"));
    assert_eq!(s.filing_overdue().await, [(pb::OverdueKind::FilingMissing, case.id.clone(), "2026-05-21".to_owned())]);

    // The sibling bureau has no review catalog (RULES F2's configuration error): its decision
    // at the threshold owes a filing but was made without legal review, so the package lacks
    // the opinion and is refused by rule, writing nothing.
    let sib = &s.sibling;
    let (unreviewed, payload) = s.decided_by(sib, &[("罚款", THRESHOLD)]).await;
    assert_eq!(payload["filing"]["required"], true);
    let before = s.events(&unreviewed.id).await;
    refused(submit(&sib.head, &unreviewed.id, REPORT).await, Code::FailedPrecondition, "F5.package-incomplete");
    assert_eq!(s.events(&unreviewed.id).await, before);
    assert_eq!(status(&get(&sib.head, &unreviewed.id).await.unwrap()), pb::FilingStatus::Owed);
    s.h.running.stop().await.unwrap();
}

async fn list(c: &Client, include_package: bool) -> Vec<pb::Filing> {
    c.filing
        .clone()
        .list_filings(pb::ListFilingsRequest { include_package, ..Default::default() })
        .await
        .expect("list filings")
        .into_inner()
        .filings
}

async fn a_supplement_is_due_in_working_days_and_listings_carry_the_package(backend: Backend) {
    // Thursday 2 April 2026: the supplement's 5 working days skip the weekend and the Qingming
    // rest (4-6 April), so they end on Friday 10 April.
    let s = setup(backend, "2026-04-02").await;
    let w = &s.bureau;
    let mut admin = s.h.admin.filing.clone();
    let policy = admin
        .get_filing_policy(pb::GetFilingPolicyRequest { agency_id: w.agency.id.clone() })
        .await
        .unwrap()
        .into_inner()
        .policy
        .unwrap();
    assert_eq!(
        (policy.supplement_days, policy.supplement_day_type),
        (5, pb::FilingDayType::Working as i32),
        "the default: 5 working days"
    );
    // A period given needs its day type; none given (0) is the default.
    refused(
        admin
            .put_filing_policy(pb::PutFilingPolicyRequest {
                policy: Some(pb::FilingPolicy { supplement_days: 3, supplement_day_type: 0, ..policy.clone() }),
            })
            .await,
        Code::InvalidArgument,
        "policy.supplement_day_type",
    );
    refused(
        admin
            .put_filing_policy(pb::PutFilingPolicyRequest {
                policy: Some(pb::FilingPolicy {
                    supplement_days: 400,
                    supplement_day_type: pb::FilingDayType::Calendar as i32,
                    ..policy.clone()
                }),
            })
            .await,
        Code::InvalidArgument,
        "policy.supplement_days",
    );
    let stored = admin
        .put_filing_policy(pb::PutFilingPolicyRequest {
            policy: Some(pb::FilingPolicy { supplement_days: 0, supplement_day_type: 0, ..policy.clone() }),
        })
        .await
        .unwrap()
        .into_inner()
        .policy
        .unwrap();
    assert_eq!((stored.supplement_days, stored.supplement_day_type), (5, pb::FilingDayType::Working as i32));

    let (case, _) = s.decided(&[("罚款", THRESHOLD)]).await;
    submit(&w.head, &case.id, REPORT).await.unwrap();
    open(&s.supervisor, &case.id).await.unwrap();
    let sup = decide(&s.supervisor, &case.id, pb::FilingOutcome::SupplementRequired, "缺少集体讨论记录").await.unwrap();
    assert_eq!((status(&sup), sup.response_due_date.as_str()), (pb::FilingStatus::SupplementRequired, "2026-04-10"));
    let concluded = s.events(&case.id).await.pop().unwrap();
    assert!(concluded.payload_json.contains("\"response_due_date\":\"2026-04-10\""), "{}", concluded.payload_json);

    // On the last day nothing is overdue; the next working day the missing supplement is on
    // the government's list, and only there.
    s.clock.set(shanghai_morning("2026-04-10"));
    assert!(s.filing_overdue().await.is_empty());
    s.clock.set(shanghai_morning("2026-04-13"));
    assert_eq!(
        s.filing_overdue().await,
        [(pb::OverdueKind::FilingSupplement, case.id.clone(), "2026-04-10".to_owned())]
    );
    assert!(!s.overdue(&s.sibling_supervisor).await.iter().any(|i| i.case_id == case.id));

    // The listing carries each filing's package when asked, as GetFiling shows it.
    let full = get(&w.head, &case.id).await.unwrap();
    assert!(full.documents.iter().any(|d| d.item == "decision"), "{:?}", full.documents);
    let listed = list(&s.supervisor, true).await;
    let item = listed.iter().find(|f| f.case_id == case.id).expect("listed");
    assert_eq!(
        (&item.documents, &item.evidence, &item.event_seqs),
        (&full.documents, &full.evidence, &full.event_seqs)
    );
    assert_eq!(item.response_due_date, "2026-04-10");
    let bare = list(&s.supervisor, false).await;
    let item = bare.iter().find(|f| f.case_id == case.id).expect("listed");
    assert!(item.documents.is_empty() && item.event_seqs.is_empty(), "without the flag, the rows only");
    assert_eq!(item.status, pb::FilingStatus::SupplementRequired as i32);

    // Filed again (late, but never blocked): the supplement is no longer owed.
    let again = submit(&w.head, &case.id, "补充集体讨论记录后重新报送").await.unwrap();
    assert_eq!((status(&again), again.submissions), (pb::FilingStatus::Submitted, 2));
    assert!(s.filing_overdue().await.is_empty());
    let report = w.verify(&case.id, true).await;
    assert!(report.ok, "{report:?}");
    s.h.running.stop().await.unwrap();
}

async fn request_file(c: &Client, case_id: &str, reason: &str) -> Result<pb::Filing, tonic::Status> {
    c.filing
        .clone()
        .request_case_file(pb::RequestCaseFileRequest {
            request_id: rid(),
            case_id: case_id.into(),
            reason: reason.into(),
        })
        .await
        .map(|r| r.into_inner().filing.expect("the answer carries the filing"))
}

async fn provide_file(c: &Client, case_id: &str) -> Result<pb::Filing, tonic::Status> {
    c.filing
        .clone()
        .provide_case_file(pb::ProvideCaseFileRequest {
            request_id: rid(),
            case_id: case_id.into(),
            note: "全部案卷材料".into(),
        })
        .await
        .map(|r| r.into_inner().filing.expect("the answer carries the filing"))
}

async fn the_reviewer_calls_for_the_case_file_and_the_agency_provides_it(backend: Backend) {
    let s = setup(backend, "2026-03-02").await;
    let w = &s.bureau;
    let (case, _) = s.decided(&[("罚款", THRESHOLD)]).await;
    submit(&w.head, &case.id, REPORT).await.unwrap();
    // RULES F6: during the review only, by the reviewing agency, with a reason.
    refused(request_file(&s.supervisor, &case.id, "事实需核实").await, Code::FailedPrecondition, "F6.under-review");
    open(&s.supervisor, &case.id).await.unwrap();
    refused(request_file(&s.sibling_supervisor, &case.id, "事实需核实").await, Code::PermissionDenied, "");
    refused(request_file(&w.head, &case.id, "事实需核实").await, Code::PermissionDenied, "");
    refused(request_file(&s.supervisor, &case.id, " ").await, Code::InvalidArgument, "reason");
    refused(provide_file(&w.head, &case.id).await, Code::FailedPrecondition, "F6.no-request");
    let before = s.events(&case.id).await;
    let asked = request_file(&s.supervisor, &case.id, "罚款数额裁量依据需查阅全部案卷").await.unwrap();
    let requested = s.events(&case.id).await.pop().unwrap();
    assert_eq!(before.len() + 1, requested.case_seq as usize);
    assert_eq!(requested.kind, K::FilingFileRequested as i32);
    assert_eq!(
        asked.file_requests,
        [pb::FileRequest {
            requested_seq: requested.case_seq,
            requested_on: "2026-03-02".into(),
            reviewer_agency_id: s.gov.id.clone(),
            reason: "罚款数额裁量依据需查阅全部案卷".into(),
            provided_seq: 0,
            provided_on: String::new(),
            due_date: "2026-03-09".into(),
            provided_late: false,
        }]
    );
    assert!(asked.event_seqs.contains(&requested.case_seq));
    refused(request_file(&s.supervisor, &case.id, "再次调阅").await, Code::FailedPrecondition, "F6.request-open");
    // Provided by the deciding agency: the event names the request and the evidence by digest.
    refused(provide_file(&w.officer, &case.id).await, Code::PermissionDenied, "");
    let provided = provide_file(&w.head, &case.id).await.unwrap();
    let event = s.events(&case.id).await.pop().unwrap();
    assert_eq!(event.kind, K::FilingFileProvided as i32);
    let payload: serde_json::Value = serde_json::from_str(&event.payload_json).unwrap();
    assert_eq!(payload["requested_seq"], requested.case_seq);
    assert!(payload["evidence"].is_array());
    assert_eq!(payload["note"], "全部案卷材料");
    assert_eq!(
        (provided.file_requests[0].provided_seq, provided.file_requests[0].provided_on.as_str()),
        (event.case_seq, "2026-03-02")
    );
    refused(provide_file(&w.head, &case.id).await, Code::FailedPrecondition, "F6.no-request");
    // The server's own kinds: no client appends them.
    for kind in [K::FilingFileRequested, K::FilingFileProvided] {
        refused(
            w.officer.record.clone().append_event(w.event(&case.id, kind, s.h.now())).await,
            Code::InvalidArgument,
            "kind",
        );
    }
    // The review goes on and concludes; the chain verifies.
    let done = decide(&s.supervisor, &case.id, pb::FilingOutcome::Recorded, "予以备案").await.unwrap();
    assert_eq!(done.file_requests, provided.file_requests);
    let report = w.verify(&case.id, true).await;
    assert!(report.ok, "{report:?}");
    s.h.running.stop().await.unwrap();
}

/// The supervisor's `OVERDUE_KIND_FILING_CASE_FILE` items, as (subject, due date, detail).
async fn case_file_overdue(s: &Setup) -> Vec<(String, String, String)> {
    let mut out: Vec<_> = s
        .overdue(&s.supervisor)
        .await
        .into_iter()
        .filter(|i| i.kind == pb::OverdueKind::FilingCaseFile as i32)
        .map(|i| (i.subject_id, i.due_date, i.detail))
        .collect();
    out.sort();
    out
}

async fn a_case_file_called_for_is_owed_within_its_period_and_a_late_or_missing_one_is_overdue(backend: Backend) {
    // Monday 2 March 2026: 5 working days from the call end on Monday 9 March.
    let s = setup(backend, "2026-03-02").await;
    let w = &s.bureau;
    let mut admin = s.h.admin.filing.clone();
    let policy = admin
        .get_filing_policy(pb::GetFilingPolicyRequest { agency_id: w.agency.id.clone() })
        .await
        .unwrap()
        .into_inner()
        .policy
        .unwrap();
    assert_eq!(
        (policy.case_file_days, policy.case_file_day_type),
        (5, pb::FilingDayType::Working as i32),
        "the default (RULES F6 names no period): 5 working days"
    );
    refused(
        admin
            .put_filing_policy(pb::PutFilingPolicyRequest {
                policy: Some(pb::FilingPolicy { case_file_days: 3, case_file_day_type: 0, ..policy.clone() }),
            })
            .await,
        Code::InvalidArgument,
        "policy.case_file_day_type",
    );
    refused(
        admin
            .put_filing_policy(pb::PutFilingPolicyRequest {
                policy: Some(pb::FilingPolicy {
                    case_file_days: 367,
                    case_file_day_type: pb::FilingDayType::Calendar as i32,
                    ..policy.clone()
                }),
            })
            .await,
        Code::InvalidArgument,
        "policy.case_file_days",
    );

    // Two filings under review, the full file called for on both the same day.
    let (late, _) = s.decided(&[("罚款", THRESHOLD)]).await;
    let (on_time, _) = s.decided(&[("罚款", THRESHOLD)]).await;
    let mut seqs = Vec::new();
    for case in [&late, &on_time] {
        submit(&w.head, &case.id, REPORT).await.unwrap();
        open(&s.supervisor, &case.id).await.unwrap();
        let asked = request_file(&s.supervisor, &case.id, "需查阅全部案卷").await.unwrap();
        assert_eq!(asked.file_requests[0].due_date, "2026-03-09");
        let event = s.events(&case.id).await.pop().unwrap();
        let payload: serde_json::Value = serde_json::from_str(&event.payload_json).unwrap();
        assert_eq!(payload["due_date"], "2026-03-09", "the call records its due date");
        seqs.push(event.case_seq);
    }

    // On the last day one is provided, in time; nothing is overdue.
    s.clock.set(shanghai_morning("2026-03-09"));
    let provided = provide_file(&w.head, &on_time.id).await.unwrap();
    assert_eq!(
        (provided.file_requests[0].provided_on.as_str(), provided.file_requests[0].provided_late),
        ("2026-03-09", false)
    );
    let payload: serde_json::Value =
        serde_json::from_str(&s.events(&on_time.id).await.pop().unwrap().payload_json).unwrap();
    assert_eq!(payload["late"], false);
    assert!(case_file_overdue(&s).await.is_empty());

    // The next day the other call is overdue on the government's list, and only there.
    s.clock.set(shanghai_morning("2026-03-10"));
    let items = case_file_overdue(&s).await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!((items[0].0.as_str(), items[0].1.as_str()), (format!("{}:{}", late.id, seqs[0]).as_str(), "2026-03-09"));
    assert!(items[0].2.contains("F6") && items[0].2.contains("not provided"), "{}", items[0].2);
    assert!(
        !s.overdue(&s.sibling_supervisor).await.iter().any(|i| i.kind == pb::OverdueKind::FilingCaseFile as i32),
        "a sibling does not supervise the bureau"
    );
    // Provided late: accepted, marked, and still listed, as late.
    let provided = provide_file(&w.head, &late.id).await.unwrap();
    assert_eq!(
        (provided.file_requests[0].provided_on.as_str(), provided.file_requests[0].provided_late),
        ("2026-03-10", true)
    );
    let payload: serde_json::Value =
        serde_json::from_str(&s.events(&late.id).await.pop().unwrap().payload_json).unwrap();
    assert_eq!(payload["late"], true);
    let items = case_file_overdue(&s).await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert!(items[0].2.contains("provided late, on 2026-03-10"), "{}", items[0].2);
    // Only the case-file items: the filings themselves were on time and are under review.
    assert!(s.filing_overdue().await.is_empty());
    for case in [&late, &on_time] {
        let report = w.verify(&case.id, true).await;
        assert!(report.ok, "{report:?}");
    }
    s.h.running.stop().await.unwrap();
}

async fn served(s: &Setup, case_id: &str, method: pb::ServiceMethod) {
    let w = &s.bureau;
    let mut service = w.event(case_id, K::Service, s.h.now());
    service.service_method = method as i32;
    w.officer.record.clone().append_event(service).await.expect("service");
}

async fn counted_from_effectiveness_a_public_notice_starts_the_period_when_the_decision_is_deemed_served(
    backend: Backend,
) {
    let s = setup(backend, "2026-03-02").await;
    let w = &s.bureau;
    let mut admin = s.h.admin.filing.clone();
    let policy = admin
        .get_filing_policy(pb::GetFilingPolicyRequest { agency_id: w.agency.id.clone() })
        .await
        .unwrap()
        .into_inner()
        .policy
        .unwrap();
    assert_eq!(policy.public_notice_days, 30, "the default");
    refused(
        admin
            .put_filing_policy(pb::PutFilingPolicyRequest {
                policy: Some(pb::FilingPolicy {
                    filing_start: pb::FilingStart::Effectiveness as i32,
                    public_notice_days: 367,
                    ..policy.clone()
                }),
            })
            .await,
        Code::InvalidArgument,
        "policy.public_notice_days",
    );
    let stored = admin
        .put_filing_policy(pb::PutFilingPolicyRequest {
            policy: Some(pb::FilingPolicy {
                filing_start: pb::FilingStart::Effectiveness as i32,
                public_notice_days: 0,
                ..policy.clone()
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .policy
        .unwrap();
    assert_eq!(
        (stored.filing_start, stored.public_notice_days),
        (pb::FilingStart::Effectiveness as i32, 30),
        "0 (not given) is the default"
    );

    // Two decisions of Monday 2 March: nothing is due until each takes effect.
    let (notice, payload) = s.decided(&[("罚款", THRESHOLD)]).await;
    assert_eq!(payload["filing"]["start"], "effectiveness");
    assert!(payload["filing"].get("due_date").is_none());
    let (direct, _) = s.decided(&[("罚款", THRESHOLD)]).await;
    s.clock.set(shanghai_morning("2026-03-05"));
    // One served by public notice on 5 March: deemed served, so in effect, 30 days later (4
    // April); 15 calendar days from then: 19 April. The other served in person: in effect at
    // once; due 20 March.
    served(&s, &notice.id, pb::ServiceMethod::PublicNotice).await;
    served(&s, &direct.id, pb::ServiceMethod::Direct).await;
    assert_eq!(get(&w.head, &notice.id).await.unwrap().due_date, "2026-04-19");
    assert_eq!(get(&w.head, &direct.id).await.unwrap().due_date, "2026-03-20");

    s.clock.set(shanghai_morning("2026-03-20"));
    assert!(s.filing_overdue().await.is_empty());
    s.clock.set(shanghai_morning("2026-03-21"));
    assert_eq!(
        s.filing_overdue().await,
        [(pb::OverdueKind::FilingMissing, direct.id.clone(), "2026-03-20".to_owned())]
    );
    let item = s.overdue(&s.supervisor).await.into_iter().find(|i| i.case_id == direct.id).unwrap();
    assert!(item.detail.contains("counted from its effectiveness (F4)"), "{}", item.detail);
    // Counted from service instead, the public notice would have been due on 20 March too.
    s.clock.set(shanghai_morning("2026-04-19"));
    assert_eq!(s.filing_overdue().await.len(), 1);
    s.clock.set(shanghai_morning("2026-04-20"));
    let mut want = vec![
        (pb::OverdueKind::FilingMissing, direct.id.clone(), "2026-03-20".to_owned()),
        (pb::OverdueKind::FilingMissing, notice.id.clone(), "2026-04-19".to_owned()),
    ];
    want.sort();
    assert_eq!(s.filing_overdue().await, want);
    // Filed now, late; the row keeps the due date and the chain verifies.
    let filed = submit(&w.head, &notice.id, REPORT).await.unwrap();
    assert!(filed.submitted_late);
    assert_eq!(filed.due_date, "2026-04-19");
    let report = w.verify(&notice.id, true).await;
    assert!(report.ok, "{report:?}");
    s.h.running.stop().await.unwrap();
}

async fn set_kind(
    h: &Harness,
    agency: &str,
    kind: pb::AgencyKind,
    government: &str,
) -> Result<pb::Agency, tonic::Status> {
    h.admin
        .registry
        .clone()
        .set_agency_kind(pb::SetAgencyKindRequest {
            agency_id: agency.into(),
            kind: kind as i32,
            government_id: government.into(),
        })
        .await
        .map(|r| r.into_inner().agency.expect("agency"))
}

/// A penalty decision at the threshold by `w`, approved by `legal` (a reviewer of `w`'s agency or
/// one above it), with `joint` deciding jointly; the decision's payload.
async fn decided_jointly(
    s: &Setup,
    w: &World,
    legal: &Client,
    joint: &[&str],
) -> Result<(pb::Case, serde_json::Value), tonic::Status> {
    let case = w.open_case(pb::CaseKind::Penalty).await;
    w.ready_for_decision(&case.id, s.h.now()).await;
    let draft = w.submit(penalty_draft(&case.id, &[("罚款", THRESHOLD)])).await;
    assert!(draft.major, "the catalog makes it major");
    legal
        .review
        .clone()
        .decide_review(pb::DecideReviewRequest {
            request_id: rid(),
            draft_id: draft.id.clone(),
            checklist: (1..=8).map(|i| pb::CheckResult { item: i, passed: true, comment: String::new() }).collect(),
            outcome: pb::ReviewOutcome::Approve as i32,
            opinion: "同意".into(),
        })
        .await
        .expect("approve");
    let issued = w
        .head
        .review
        .clone()
        .issue_decision(pb::IssueDecisionRequest {
            request_id: rid(),
            draft_id: draft.id.clone(),
            officer_ids: w.both(),
            joint_agency_ids: joint.iter().map(|a| (*a).to_owned()).collect(),
            ..Default::default()
        })
        .await?
        .into_inner();
    Ok((case, serde_json::from_str(&issued.event.expect("event").payload_json).expect("json")))
}

async fn filings_are_routed_by_the_agency_kind_and_joint_decisions_per_the_policy(backend: Backend) {
    // The county government (s.gov) over the bureau, under the city government; an authorised
    // organisation under the bureau; a vertically managed body under its provincial superior,
    // located in the county.
    let s = setup(backend, "2026-03-02").await;
    let h = &s.h;
    let city = h.agency(10, "").await;
    let superior = h.agency(11, "").await;
    let authorised = h.world(12, &s.bureau.agency.id).await;
    let vertical = h.world(13, &superior.id).await;
    for w in [&authorised, &vertical] {
        h.admin
            .registry
            .clone()
            .put_catalog(pb::PutCatalogRequest { agency_id: w.agency.id.clone(), catalog_toml: GONGYI.into() })
            .await
            .expect("put catalog");
    }
    let county = &s.gov.id;

    // Bad kinds are refused by field, and only administrators set them.
    refused(
        set_kind(h, &s.bureau.agency.id, pb::AgencyKind::Department, "").await,
        Code::InvalidArgument,
        "government_id",
    );
    refused(
        set_kind(h, &s.bureau.agency.id, pb::AgencyKind::Department, county).await,
        Code::InvalidArgument,
        "government_id",
    );
    refused(set_kind(h, &city.id, pb::AgencyKind::Authorised, county).await, Code::InvalidArgument, "kind");
    refused(set_kind(h, &city.id, pb::AgencyKind::Unspecified, "").await, Code::InvalidArgument, "kind");
    refused(
        s.bureau
            .head
            .registry
            .clone()
            .set_agency_kind(pb::SetAgencyKindRequest {
                agency_id: county.clone(),
                kind: pb::AgencyKind::Government as i32,
                government_id: String::new(),
            })
            .await,
        Code::PermissionDenied,
        "",
    );
    // The county government, one level under the city's.
    let c = set_kind(h, county, pb::AgencyKind::Government, "").await.unwrap();
    assert_eq!((c.kind, c.government_id.as_str()), (pb::AgencyKind::Government as i32, ""));
    set_kind(h, &city.id, pb::AgencyKind::Government, "").await.unwrap();
    refused(set_kind(h, county, pb::AgencyKind::Government, &city.id).await, Code::InvalidArgument, "government_id");
    // Created with a kind: it must name a government that is one.
    let mut registry = h.admin.registry.clone();
    let create = |n: u32, kind: pb::AgencyKind, government: &str| pb::CreateAgencyRequest {
        name: format!("测试执法局{n}"),
        credit_code: sanxiang_tests::credit_code(n),
        region: "河南省巩义市".into(),
        parent_id: s.bureau.agency.id.clone(),
        kind: kind as i32,
        government_id: government.into(),
        ..Default::default()
    };
    refused(
        registry.create_agency(create(14, pb::AgencyKind::Authorised, &s.bureau.agency.id)).await,
        Code::InvalidArgument,
        "government_id",
    );
    let created = registry.create_agency(create(14, pb::AgencyKind::Authorised, county)).await.unwrap().into_inner();
    let created = created.agency.unwrap();
    assert_eq!((created.kind, created.government_id.as_str()), (pb::AgencyKind::Authorised as i32, county.as_str()));
    let got = registry.get_agency(pb::GetAgencyRequest { agency_id: created.id.clone() }).await.unwrap().into_inner();
    assert_eq!(got.agency.unwrap().kind, pb::AgencyKind::Authorised as i32);

    // A department files with its own government, which then stays a government.
    set_kind(h, &s.bureau.agency.id, pb::AgencyKind::Department, county).await.unwrap();
    refused(set_kind(h, county, pb::AgencyKind::Department, &city.id).await, Code::InvalidArgument, "kind");
    let (case, payload) = decided_jointly(&s, &s.bureau, &s.legal, &[]).await.unwrap();
    assert_eq!(payload["filing"]["recipients"], serde_json::json!([county]));
    assert_eq!(get(&s.bureau.head, &case.id).await.unwrap().recipient_ids, std::slice::from_ref(county));

    // An authorised organisation with its government and the department it belongs to.
    set_kind(h, &authorised.agency.id, pb::AgencyKind::Authorised, county).await.unwrap();
    let (_, payload) = decided_jointly(&s, &authorised, &s.legal, &[]).await.unwrap();
    assert_eq!(payload["filing"]["recipients"], serde_json::json!([county, s.bureau.agency.id]));

    // A vertically managed body with its local government and its superior; the government,
    // though not above it in the tree, reviews the filing routed to it.
    set_kind(h, &vertical.agency.id, pb::AgencyKind::Vertical, county).await.unwrap();
    let o = h.officer(&vertical.agency.id, "法制员", true).await;
    let vertical_legal = h.principal(pb::Role::Reviewer, &vertical.agency.id, &o.id).await;
    let (vcase, payload) = decided_jointly(&s, &vertical, &vertical_legal, &[]).await.unwrap();
    assert_eq!(payload["filing"]["recipients"], serde_json::json!([county, superior.id]));
    submit(&vertical.head, &vcase.id, REPORT).await.unwrap();
    let opened = open(&s.supervisor, &vcase.id).await.unwrap();
    assert_eq!(opened.reviewer_agency_id, *county);
    refused(open(&s.sibling_supervisor, &vcase.id).await, Code::PermissionDenied, "");
    decide(&s.supervisor, &vcase.id, pb::FilingOutcome::Recorded, "予以备案").await.unwrap();
    // It sees the filings routed to it: GetFiling, its ListFilings, and its overdue list.
    assert_eq!(get(&s.supervisor, &vcase.id).await.unwrap().outcome, pb::FilingOutcome::Recorded as i32);
    refused(get(&s.sibling_supervisor, &vcase.id).await, Code::PermissionDenied, "");
    assert!(list(&s.supervisor, false).await.iter().any(|f| f.case_id == vcase.id));
    assert!(!list(&s.sibling_supervisor, false).await.iter().any(|f| f.case_id == vcase.id));
    let (unfiled, _) = decided_jointly(&s, &vertical, &vertical_legal, &[]).await.unwrap();
    s.clock.set(shanghai_morning("2026-03-18"));
    assert!(
        s.filing_overdue().await.contains(&(
            pb::OverdueKind::FilingMissing,
            unfiled.id.clone(),
            "2026-03-17".to_owned()
        )),
        "the local government's list"
    );
    assert!(!s.overdue(&s.sibling_supervisor).await.iter().any(|i| i.case_id == unfiled.id));
    s.clock.set(shanghai_morning("2026-03-02"));

    // A joint decision: each body per its kind (the default), or the lead only.
    refused(
        decided_jointly(&s, &s.bureau, &s.legal, &["no-such-agency"]).await,
        Code::InvalidArgument,
        "joint_agency_ids[0]",
    );
    refused(
        decided_jointly(&s, &s.bureau, &s.legal, &[&s.bureau.agency.id]).await,
        Code::InvalidArgument,
        "joint_agency_ids[0]",
    );
    let (_, payload) = decided_jointly(&s, &s.bureau, &s.legal, &[&vertical.agency.id]).await.unwrap();
    assert_eq!(payload["joint_agency_ids"], serde_json::json!([vertical.agency.id]));
    assert_eq!(payload["filing"]["joint"], "each");
    assert_eq!(payload["filing"]["recipients"], serde_json::json!([county, superior.id]));
    let mut admin = h.admin.filing.clone();
    let policy = admin
        .get_filing_policy(pb::GetFilingPolicyRequest { agency_id: s.bureau.agency.id.clone() })
        .await
        .unwrap()
        .into_inner()
        .policy
        .unwrap();
    assert_eq!(policy.joint_filing, pb::FilingJoint::Each as i32, "the default");
    admin
        .put_filing_policy(pb::PutFilingPolicyRequest {
            policy: Some(pb::FilingPolicy { joint_filing: pb::FilingJoint::Lead as i32, ..policy }),
        })
        .await
        .unwrap();
    let (_, payload) = decided_jointly(&s, &s.bureau, &s.legal, &[&vertical.agency.id]).await.unwrap();
    assert_eq!(payload["filing"]["joint"], "lead");
    assert_eq!(payload["filing"]["recipients"], serde_json::json!([county]));
    s.h.running.stop().await.unwrap();
}

async fn with_review_first_a_decision_owing_a_filing_must_have_been_reviewed(backend: Backend) {
    let s = setup(backend, "2026-03-02").await;
    let mut admin = s.h.admin.filing.clone();
    for w in [&s.sibling, &s.bureau] {
        let policy = admin
            .get_filing_policy(pb::GetFilingPolicyRequest { agency_id: w.agency.id.clone() })
            .await
            .unwrap()
            .into_inner()
            .policy
            .unwrap();
        assert!(!policy.review_first, "off by default");
        let stored = admin
            .put_filing_policy(pb::PutFilingPolicyRequest {
                policy: Some(pb::FilingPolicy { review_first: true, ..policy }),
            })
            .await
            .unwrap()
            .into_inner()
            .policy
            .unwrap();
        assert!(stored.review_first);
    }

    // The sibling's catalog is empty: its decision at the threshold owes a filing but was not
    // reviewed, so it is refused by rule (RULES F2) and nothing is written.
    let sib = &s.sibling;
    let case = sib.open_case(pb::CaseKind::Penalty).await;
    sib.ready_for_decision(&case.id, s.h.now()).await;
    let draft = sib.submit(penalty_draft(&case.id, &[("罚款", THRESHOLD)])).await;
    assert!(!draft.major);
    let before = s.events(&case.id).await;
    let err = sib.issue(&draft.id).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert!(err.message().contains("F2.catalog") && err.message().contains("F1.fine"), "{}", err.message());
    assert_eq!(s.events(&case.id).await, before);
    refused(get(&sib.head, &case.id).await, Code::NotFound, "filing");
    // Below the threshold it owes no filing and is decided as before.
    let draft = sib.submit(penalty_draft(&case.id, &[("罚款", THRESHOLD - 1)])).await;
    let issued = sib.issue(&draft.id).await.unwrap();
    let payload: serde_json::Value = serde_json::from_str(&issued.event.unwrap().payload_json).unwrap();
    assert_eq!(payload["filing"]["required"], false);

    // The bureau's catalog covers F1's criteria: reviewed and approved, decided and owed.
    let (case, payload) = s.decided(&[("罚款", THRESHOLD)]).await;
    assert_eq!(payload["filing"]["required"], true);
    assert_eq!(status(&get(&s.bureau.head, &case.id).await.unwrap()), pb::FilingStatus::Owed);
    s.h.running.stop().await.unwrap();
}
