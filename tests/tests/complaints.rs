//! Complaints and reports (投诉举报, RULES T1–T7) through real gRPC and the real public HTTP
//! surface, on every database backend: a conduct complaint through every step of its clock with
//! an extension, the case held while it is open; a SAMR complaint whose mediation pauses for
//! testing; a report (submitted by the public with a complaint in it, so split in two) on which a
//! case is filed, the case showing only "source: report #id"; the reporter absent from every
//! public output, the case's events and export, the figures and the supervisors' list (scanned);
//! bad input refused by field or rule with nothing written; who may do what.

use std::sync::Arc;

use sanxiang_domain::{TestClock, Timestamp};
use sanxiang_proto::v1 as pb;
use sanxiang_proto::v1::ComplaintOutcome as O;
use sanxiang_proto::v1::ComplaintStepKind as S;
use sanxiang_proto::v1::EventKind as K;
use sanxiang_store::entity::{complaint, complaint_attachment, complaint_step, event};
use sanxiang_tests::{Backend, Client, Harness, World, backend_tests, http, refused, shanghai_morning, ts};
use sea_orm::EntityTrait;
use tonic::Code;

backend_tests!(
    a_conduct_complaint_runs_its_clock_with_an_extension_and_holds_its_case,
    a_samr_complaint_pauses_for_testing_and_a_report_becomes_a_case,
    the_reporter_is_absent_from_every_public_output,
    bad_input_is_refused_by_name_and_nothing_is_written,
    only_the_handling_offices_handle_and_see_reporters,
    public_intake_is_rate_limited,
    a_recommendation_to_revoke_or_change_a_decision_is_owed_until_revised_or_answered,
    complaints_are_listed_a_page_at_a_time,
    the_reporter_never_reaches_the_log_at_any_level,
    a_jurisdiction_dispute_is_owed_within_seven_working_days_and_a_report_is_referred,
    a_step_carries_attachments_chained_by_digest_that_only_handling_offices_read,
);

const BIN: &str = env!("CARGO_BIN_EXE_sanxiang-under-test");

const NAME: &str = "王小明";
const PHONE: &str = "13912345678";

struct Setup {
    h: Harness,
    clock: Arc<TestClock>,
    w: World,
    city: pb::Agency,
    /// The agency's legal office (法制机构): handles its complaints.
    reviewer: Client,
    /// The city's supervision office: handles and supervises.
    supervisor: Client,
    /// Officers holding supervision certificates (行政执法监督证): one of the agency's legal office,
    /// one of the city's supervision office (RULES T6's investigators).
    investigators: Vec<String>,
}

/// Registers an officer of `agency` holding a supervision certificate valid 2020–2035.
async fn supervision_officer(h: &Harness, agency: &str, name: &str) -> pb::Officer {
    h.admin
        .registry
        .clone()
        .register_officer(pb::RegisterOfficerRequest {
            agency_id: agency.into(),
            name: name.into(),
            certificate_number: format!("JD-{}", uuid::Uuid::now_v7().simple()),
            category: "执法监督".into(),
            valid_from: "2020-01-01".into(),
            valid_until: "2035-12-31".into(),
            certificate_kind: pb::CertificateKind::Supervision as i32,
            ..Default::default()
        })
        .await
        .expect("register a supervision officer")
        .into_inner()
        .officer
        .expect("the answer carries the officer")
}

async fn setup(backend: Backend, date: &str) -> Setup {
    let (h, clock) = Harness::start_on(backend, date).await;
    let city = h.agency(100, "").await;
    let w = h.world(1, &city.id).await;
    let o = h.officer(&w.agency.id, "法制员", true).await;
    let reviewer = h.principal(pb::Role::Reviewer, &w.agency.id, &o.id).await;
    let supervisor = h.principal(pb::Role::Supervisor, &city.id, "").await;
    let investigators = vec![
        supervision_officer(&h, &w.agency.id, "监督员甲").await.id,
        supervision_officer(&h, &city.id, "监督员乙").await.id,
    ];
    Setup { h, clock, w, city, reviewer, supervisor, investigators }
}

/// A conduct complaint's conclusion with `outcome`, investigated by the two supervision officers.
fn conclusion(s: &Setup, id: &str, outcome: O, at: Timestamp) -> pb::RecordComplaintStepRequest {
    pb::RecordComplaintStepRequest {
        outcome: outcome as i32,
        text: "经调查核实".into(),
        investigator_ids: s.investigators.clone(),
        ..step_req(id, S::Concluded, at)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn day(date: &str) -> Timestamp {
    shanghai_morning(date)
}

fn reporter() -> pb::Reporter {
    pb::Reporter { name: NAME.into(), contact: PHONE.into(), ..Default::default() }
}

async fn intake(c: &Client, r: pb::RecordComplaintRequest) -> Result<Vec<pb::Complaint>, tonic::Status> {
    c.complaints.clone().record_complaint(r).await.map(|r| r.into_inner().complaints)
}

async fn step(c: &Client, r: pb::RecordComplaintStepRequest) -> Result<pb::Complaint, tonic::Status> {
    c.complaints.clone().record_complaint_step(r).await.map(|r| r.into_inner().complaint.expect("complaint"))
}

fn step_req(id: &str, kind: S, at: Timestamp) -> pb::RecordComplaintStepRequest {
    pb::RecordComplaintStepRequest {
        complaint_id: id.into(),
        kind: kind as i32,
        occurred_at: Some(ts(at)),
        ..Default::default()
    }
}

fn due(c: &pb::Complaint, owed: &str) -> String {
    c.obligations.iter().find(|o| o.owed == owed).map(|o| o.due_date.clone()).unwrap_or_default()
}

async fn overdue(c: &Client) -> Vec<pb::OverdueItem> {
    c.publicity.clone().list_overdue(pb::ListOverdueRequest::default()).await.unwrap().into_inner().items
}

async fn holds(w: &World, case_id: &str) -> Vec<String> {
    w.officer
        .record
        .clone()
        .get_case(pb::GetCaseRequest { case_id: case_id.into() })
        .await
        .unwrap()
        .into_inner()
        .case
        .unwrap()
        .legal_holds
}

async fn stats(c: &Client, from: &str, to: &str) -> pb::GetComplaintStatisticsResponse {
    c.complaints
        .clone()
        .get_complaint_statistics(pb::GetComplaintStatisticsRequest {
            agency_id: String::new(),
            from: from.into(),
            to: to.into(),
        })
        .await
        .unwrap()
        .into_inner()
}

/// How many steps complaint `id` has.
async fn step_count(s: &Setup, id: &str) -> usize {
    s.reviewer
        .complaints
        .clone()
        .get_complaint(pb::GetComplaintRequest { complaint_id: id.into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap()
        .steps
        .len()
}

async fn post_json(h: &Harness, body: &serde_json::Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(http(h, "/v1/complaints"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

async fn a_conduct_complaint_runs_its_clock_with_an_extension_and_holds_its_case(backend: Backend) {
    // Received on Friday 2026-03-06 at a visit.
    let s = setup(backend, "2026-03-06").await;
    let (w, clock) = (&s.w, &s.clock);
    let case = w.open_case(pb::CaseKind::Penalty).await;
    let got = intake(
        &w.officer,
        pb::RecordComplaintRequest {
            agency_id: w.agency.id.clone(),
            types: vec![pb::ComplaintType::ConductComplaint as i32],
            channel: pb::ComplaintChannel::Visit as i32,
            received_at: Some(ts(day("2026-03-06"))),
            content: "执法人员检查时未出示执法证件".into(),
            reporter: Some(reporter()),
            case_id: case.id.clone(),
            officer_ids: vec![w.officers[0].id.clone()],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(got.len(), 1);
    let c = &got[0];
    let id = c.id.clone();
    assert!(c.open);
    assert_eq!(c.intake_officer_id, w.officers[0].id, "the intake officer is recorded");
    let r = c.reporter.as_ref().unwrap();
    assert!(r.masked && r.name.is_empty() && r.contact.is_empty(), "the intake's answer masks the reporter");
    // T6: accept within 5 working days: Friday + 5 = Friday 2026-03-13.
    assert_eq!(due(c, "acceptance"), "2026-03-13");
    assert_eq!(c.steps.len(), 1);
    assert_eq!(c.steps[0].prev_hash, "");
    // The case is held while the complaint is open (K4), and learns only the complaint's number.
    assert_eq!(holds(w, &case.id).await, vec!["complaint".to_owned()]);
    let received = w.events(&case.id).await.into_iter().last().unwrap();
    assert_eq!(received.kind, K::ComplaintReceived as i32);
    assert_eq!(received.payload_json, format!("{{\"source\":\"complaint #{id}\"}}"));
    // The complaint kinds are the service's own: no client opens or ends a complaint's hold,
    // nor links a report, by AppendEvent, and a refusal writes nothing.
    let before = w.events(&case.id).await;
    for kind in [K::ComplaintReceived, K::ComplaintConcluded, K::ReportLinked] {
        refused(
            w.officer.record.clone().append_event(w.event(&case.id, kind, s.h.now())).await,
            Code::InvalidArgument,
            "kind",
        );
    }
    assert_eq!(w.events(&case.id).await, before);

    // Out of order: refused by rule, nothing written.
    refused(
        step(&s.reviewer, step_req(&id, S::Concluded, day("2026-03-06"))).await,
        Code::FailedPrecondition,
        "T3.accepted-first",
    );
    refused(
        step(&s.reviewer, step_req(&id, S::Accepted, day("2026-03-05"))).await,
        Code::FailedPrecondition,
        "T2.after-receipt",
    );
    refused(
        step(&s.reviewer, step_req(&id, S::MediationPaused, day("2026-03-06"))).await,
        Code::FailedPrecondition,
        "T1.type",
    );

    // Monday 2026-03-16: the acceptance is late and the supervisor sees it.
    clock.set(day("2026-03-16"));
    let late = overdue(&s.supervisor).await;
    let item = late.iter().find(|i| i.subject_id == id).expect("the late acceptance is listed");
    assert_eq!((item.kind, item.due_date.as_str()), (pb::OverdueKind::ComplaintAcceptance as i32, "2026-03-13"));
    let c = step(&s.reviewer, step_req(&id, S::Accepted, day("2026-03-16"))).await.unwrap();
    assert!(!overdue(&s.supervisor).await.iter().any(|i| i.subject_id == id));
    // Concluded within 30 days of acceptance.
    assert_eq!(due(&c, "handling"), "2026-04-15");

    // One extension, approved and at most 30 days.
    let mut ext = step_req(&id, S::Extended, day("2026-04-10"));
    ext.extension_days = 20;
    clock.set(day("2026-04-10"));
    refused(step(&s.reviewer, ext.clone()).await, Code::InvalidArgument, "approved_by");
    ext.approved_by = w.officers[1].id.clone();
    ext.extension_days = 31;
    refused(step(&s.reviewer, ext.clone()).await, Code::FailedPrecondition, "T6.extension-max");
    ext.extension_days = 20;
    let c = step(&s.reviewer, ext.clone()).await.unwrap();
    assert_eq!(due(&c, "handling"), "2026-05-05");
    assert_eq!(
        (c.steps.last().unwrap().extension_days, c.steps.last().unwrap().approved_by.as_str()),
        (20, w.officers[1].id.as_str())
    );
    refused(step(&s.reviewer, ext).await, Code::FailedPrecondition, "T6.one-extension");

    // 2026-05-06: past the extended period.
    clock.set(day("2026-05-06"));
    let late = overdue(&s.supervisor).await;
    let item = late.iter().find(|i| i.subject_id == id).expect("the late conclusion is listed");
    assert_eq!((item.kind, item.due_date.as_str()), (pb::OverdueKind::ComplaintHandling as i32, "2026-05-05"));

    // Concluded upheld: the complaint closes, the case's hold ends.
    let mut end = step_req(&id, S::Concluded, day("2026-05-06"));
    end.outcome = O::Rejected as i32;
    refused(step(&s.supervisor, end.clone()).await, Code::FailedPrecondition, "T6.outcome");
    end.outcome = O::CorrectionOrdered as i32;
    end.text = "责令改正并重新作出检查记录".into();
    // RULES T6: investigated by at least two persons holding supervision certificates; each
    // refusal names the rule and writes nothing.
    let steps_before = step_count(&s, &id).await;
    refused(step(&s.supervisor, end.clone()).await, Code::FailedPrecondition, "T6.two-investigators");
    end.investigator_ids = vec![s.investigators[0].clone()];
    refused(step(&s.supervisor, end.clone()).await, Code::FailedPrecondition, "T6.two-investigators");
    // An enforcement certificate is not a supervision one.
    end.investigator_ids = vec![s.investigators[0].clone(), w.officers[1].id.clone()];
    let err = step(&s.supervisor, end.clone()).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(
        err.message().contains("T6.two-investigators") && err.message().contains("C1.certificate-kind"),
        "{}",
        err.message()
    );
    // A supervision certificate suspended on the day does not count.
    let suspended = supervision_officer(&s.h, &w.agency.id, "监督员丙").await;
    s.h.admin
        .registry
        .clone()
        .record_certificate_event(pb::RecordCertificateEventRequest {
            officer_id: suspended.id.clone(),
            kind: pb::CertificateEventKind::Suspended as i32,
            effective_on: String::new(),
            training_hours: 0,
            reason: "暂扣".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    end.investigator_ids = vec![s.investigators[0].clone(), suspended.id.clone()];
    refused(step(&s.supervisor, end.clone()).await, Code::FailedPrecondition, "C5.certificate-status");
    // Listed twice, or an officer of an agency that neither is nor oversees the complaint's.
    let elsewhere = s.h.agency(300, "").await;
    let stranger = supervision_officer(&s.h, &elsewhere.id, "外单位监督员").await;
    end.investigator_ids = vec![s.investigators[0].clone(), s.investigators[0].clone()];
    refused(step(&s.supervisor, end.clone()).await, Code::InvalidArgument, "investigator_ids[1]");
    end.investigator_ids = vec![s.investigators[0].clone(), stranger.id.clone()];
    refused(step(&s.supervisor, end.clone()).await, Code::InvalidArgument, "investigator_ids[1]");
    assert_eq!(step_count(&s, &id).await, steps_before);
    // Only the conclusion names investigators.
    let mut ext_again = step_req(&id, S::Accepted, day("2026-05-06"));
    ext_again.investigator_ids = s.investigators.clone();
    refused(step(&s.supervisor, ext_again).await, Code::InvalidArgument, "investigator_ids");
    // The legal office's and the supervision office's officers together.
    end.investigator_ids = s.investigators.clone();
    let c = step(&s.supervisor, end.clone()).await.unwrap();
    assert_eq!(c.steps.last().unwrap().investigator_ids, s.investigators);
    assert!(!c.open);
    assert_eq!(c.outcome, O::CorrectionOrdered as i32);
    // The upheld complaint is an item of the officer's next annual review (RULES T6, C4), and of
    // that officer's only; a review passed afterwards starts a new period.
    let upheld = |certs: Vec<pb::Certificate>| -> Vec<(String, u32)> {
        certs.into_iter().map(|c| (c.officer.unwrap().id, c.upheld_complaints)).collect()
    };
    let list = pb::ListCertificatesRequest { agency_id: w.agency.id.clone(), filter: 0 };
    let certs = s.supervisor.registry.clone().list_certificates(list.clone()).await.unwrap().into_inner().certificates;
    let counts = upheld(certs);
    assert!(counts.contains(&(w.officers[0].id.clone(), 1)), "{counts:?}");
    assert!(counts.contains(&(w.officers[1].id.clone(), 0)), "{counts:?}");
    for (kind, hours) in [(pb::CertificateEventKind::Training, 8), (pb::CertificateEventKind::ReviewPassed, 0)] {
        s.h.admin
            .registry
            .clone()
            .record_certificate_event(pb::RecordCertificateEventRequest {
                officer_id: w.officers[0].id.clone(),
                kind: kind as i32,
                effective_on: if hours > 0 { "2026-04-01".into() } else { String::new() },
                training_hours: hours,
                reason: "年审".into(),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let certs = s.supervisor.registry.clone().list_certificates(list).await.unwrap().into_inner().certificates;
    assert!(upheld(certs).contains(&(w.officers[0].id.clone(), 0)), "counted until the next passed review");
    assert!(c.obligations.is_empty());
    assert_eq!(c.steps.len(), 4);
    for pair in c.steps.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash, "each step chains onto the one before");
    }
    refused(step(&s.supervisor, end).await, Code::FailedPrecondition, "T2.closed");
    // The complaint's own chain, as stored: each hash is the SHA-256 of its canonical document,
    // which names the hash before it; no document names the reporter.
    let mut prev = String::new();
    let mut stored: Vec<complaint_step::Model> = complaint_step::Entity::find()
        .all(&s.h.running.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|st| st.complaint_id == id)
        .collect();
    stored.sort_by_key(|st| st.seq);
    assert_eq!(stored.len(), 4);
    for st in &stored {
        use sha2::Digest as _;
        assert_eq!(st.hash, hex(&sha2::Sha256::digest(st.payload.as_bytes())), "step {} hashes its document", st.seq);
        let doc: serde_json::Value = serde_json::from_str(&st.payload).unwrap();
        assert_eq!(doc["prev_hash"].as_str(), Some(prev.as_str()), "step {} names the hash before it", st.seq);
        assert_eq!((st.prev_hash.as_str(), doc["seq"].as_i64()), (prev.as_str(), Some(st.seq)));
        assert!(!st.payload.contains(NAME) && !st.payload.contains(PHONE));
        prev = st.hash.clone();
    }
    assert_eq!(c.steps.last().unwrap().hash, prev);
    assert!(holds(w, &case.id).await.is_empty());
    let concluded = w.events(&case.id).await.into_iter().last().unwrap();
    assert_eq!(concluded.kind, K::ComplaintConcluded as i32);
    assert!(concluded.payload_json.contains(&format!("complaint #{id}")));
    assert!(!overdue(&s.supervisor).await.iter().any(|i| i.subject_id == id));
    // The case's chain still verifies with the complaint's events in it.
    assert!(w.verify(&case.id, false).await.ok);

    // The figures of the period (T7).
    let f = stats(&s.supervisor, "2026-03-01", "2026-05-31").await;
    assert_eq!((f.received, f.open, f.overdue), (1, 0, 0));
    assert_eq!((f.concluded_conduct, f.upheld_conduct, f.upheld_per_mille), (1, 1, 1000));
    let count = |d: &str, k: &str| f.counts.iter().find(|c| c.dimension == d && c.key == k).map_or(0, |c| c.count);
    assert_eq!(count("channel", "visit"), 1);
    assert_eq!(count("type", "conduct_complaint"), 1);
    assert_eq!(count("agency", &w.agency.id), 1);
    assert_eq!(count("outcome", "correction_ordered"), 1);
    assert_eq!(count("officer", &w.officers[0].id), 1);
    assert!(f.notice.contains("成立率 100.0%"), "{}", f.notice);
    // Another period has none of it.
    assert_eq!(stats(&s.supervisor, "2026-06-01", "2026-06-30").await.received, 0);
    let _ = &s.city;
}

async fn a_samr_complaint_pauses_for_testing_and_a_report_becomes_a_case(backend: Backend) {
    // Monday 2026-03-02: the public submits a complaint with a report in it.
    let s = setup(backend, "2026-03-02").await;
    let (h, w, clock) = (&s.h, &s.w, &s.clock);
    let r = post_json(
        h,
        &serde_json::json!({
            "agency_id": w.agency.id,
            "types": ["samr_complaint", "samr_report"],
            "content": "在某超市购买的牛奶已过保质期，要求退货赔偿，并举报该超市销售过期食品",
            "name": NAME,
            "contact": PHONE,
            "secrecy_requested": true,
        }),
    )
    .await;
    assert_eq!(r.status(), 201);
    let body: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    let receipts: Vec<String> =
        body["receipts"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
    assert_eq!(receipts.len(), 2, "a complaint with a report in it is two records: {body}");
    assert_eq!(body.as_object().unwrap().len(), 1, "the answer is the receipt numbers only: {body}");
    let get = |id: &str| {
        let c = s.reviewer.complaints.clone();
        let id = id.to_owned();
        async move {
            c.clone()
                .get_complaint(pb::GetComplaintRequest { complaint_id: id, ..Default::default() })
                .await
                .unwrap()
                .into_inner()
                .complaint
                .unwrap()
        }
    };
    let a = get(&receipts[0]).await;
    let b = get(&receipts[1]).await;
    let (complaint_rec, report) = if a.r#type == pb::ComplaintType::SamrComplaint as i32 { (a, b) } else { (b, a) };
    assert_eq!(report.r#type, pb::ComplaintType::SamrReport as i32);
    assert_eq!(
        (complaint_rec.sibling_id.as_str(), report.sibling_id.as_str()),
        (report.id.as_str(), complaint_rec.id.as_str())
    );
    assert_eq!(complaint_rec.channel, pb::ComplaintChannel::Internet as i32);
    assert_eq!(complaint_rec.received_at, Some(ts(day("2026-03-02"))), "received now, by the server's clock");
    assert!(complaint_rec.reporter.as_ref().unwrap().secrecy_requested);
    assert_eq!(due(&complaint_rec, "acceptance"), "2026-03-11", "7 working days (T3)");
    assert_eq!(due(&report, "report_filing"), "2026-03-23", "15 working days by default (T4)");
    let cid = complaint_rec.id.clone();

    // Accepted on Wednesday 2026-03-04: mediation runs 45 working days.
    clock.set(day("2026-03-04"));
    let c = step(&s.reviewer, step_req(&cid, S::Accepted, day("2026-03-04"))).await.unwrap();
    assert_eq!(due(&c, "handling"), "2026-05-11");
    // Testing from Monday 03-09 to Monday 03-16: five working days do not count.
    clock.set(day("2026-03-09"));
    let c = step(&s.reviewer, step_req(&cid, S::MediationPaused, day("2026-03-09"))).await.unwrap();
    let handling = c.obligations.iter().find(|o| o.owed == "handling").unwrap();
    assert_eq!(handling.due_date, "", "no due date while testing is under way");
    refused(
        step(&s.reviewer, step_req(&cid, S::MediationTerminated, day("2026-03-09"))).await,
        Code::FailedPrecondition,
        "T3.paused",
    );
    clock.set(day("2026-03-16"));
    let c = step(&s.reviewer, step_req(&cid, S::MediationResumed, day("2026-03-16"))).await.unwrap();
    assert_eq!(due(&c, "handling"), "2026-05-18");
    // A violation found during mediation: verified within 15 working days, +15 once.
    let c = step(&s.reviewer, step_req(&cid, S::ViolationFound, day("2026-03-16"))).await.unwrap();
    let verification = |c: &pb::Complaint| {
        c.obligations.iter().find(|o| o.step == S::VerificationConcluded as i32).map(|o| o.due_date.clone()).unwrap()
    };
    assert_eq!(verification(&c), "2026-04-07");
    let c = step(&s.reviewer, step_req(&cid, S::VerificationExtended, day("2026-03-16"))).await.unwrap();
    assert_eq!(verification(&c), "2026-04-28");
    let c = step(&s.reviewer, step_req(&cid, S::VerificationConcluded, day("2026-03-16"))).await.unwrap();
    assert!(c.obligations.iter().all(|o| o.step != S::VerificationConcluded as i32));
    // Mediation ends without agreement; both sides are told within 7 working days.
    clock.set(day("2026-05-19"));
    let c = step(&s.reviewer, step_req(&cid, S::MediationTerminated, day("2026-05-19"))).await.unwrap();
    assert_eq!(due(&c, "notification"), "2026-05-28");
    clock.set(day("2026-05-29"));
    let late = overdue(&s.supervisor).await;
    let item = late.iter().find(|i| i.subject_id == cid).expect("the late notification is listed");
    assert_eq!(item.kind, pb::OverdueKind::ComplaintNotification as i32);
    let c = step(&s.reviewer, step_req(&cid, S::PartiesNotified, day("2026-05-29"))).await.unwrap();
    assert!(!c.open);
    assert_eq!(c.outcome, O::MediationTerminated as i32);

    // The report: past its 15 working days without a 立案 decision, it is listed.
    let late = overdue(&s.supervisor).await;
    let item = late.iter().find(|i| i.subject_id == report.id).expect("the report's filing is late");
    assert_eq!((item.kind, item.due_date.as_str()), (pb::OverdueKind::ReportFiling as i32, "2026-03-23"));
    // A case is filed on it.
    let case = w.open_case(pb::CaseKind::Penalty).await;
    let mut decided = step_req(&report.id, S::FilingDecided, day("2026-05-29"));
    decided.case_filed = true;
    refused(step(&s.reviewer, decided.clone()).await, Code::InvalidArgument, "case_id");
    decided.case_id = case.id.clone();
    refused(step(&s.reviewer, decided.clone()).await, Code::FailedPrecondition, "T7.case-filed");
    w.append(&case.id, K::Filing, day("2026-05-29")).await;
    let r = step(&s.reviewer, decided).await.unwrap();
    assert_eq!(r.case_id, case.id);
    assert!(r.open, "the real-name reporter is still to be told");
    assert_eq!(due(&r, "notification"), "2026-06-05", "5 working days after the decision (T4)");
    let linked = w.events(&case.id).await.into_iter().last().unwrap();
    assert_eq!(linked.kind, K::ReportLinked as i32);
    assert_eq!(linked.payload_json, format!("{{\"source\":\"report #{}\"}}", report.id));
    let r = step(&s.reviewer, step_req(&report.id, S::ReporterNotified, day("2026-05-29"))).await.unwrap();
    assert!(!r.open);
    assert_eq!(r.outcome, O::CaseFiled as i32);
    assert!(w.verify(&case.id, false).await.ok);
    assert!(!overdue(&s.supervisor).await.iter().any(|i| i.subject_id == report.id || i.subject_id == cid));
}

/// Every place the public, the case's officers or the figures can read.
async fn scan(s: &Setup, case_id: &str, what: &str) {
    let (h, w) = (&s.h, &s.w);
    let mut outputs: Vec<(String, String)> = Vec::new();
    for path in [
        "/".to_owned(),
        "/feed.atom".to_owned(),
        "/v1/disclosures".to_owned(),
        format!("/v1/disclosures/{case_id}"),
        "/v1/export/cf.csv".to_owned(),
        "/v1/export/xk.csv".to_owned(),
        format!("/agencies/{}", w.agency.id),
        format!("/decisions/{case_id}"),
        format!("/v1/notices/{}", w.agency.id),
        format!("/v1/annual/{}/2026", w.agency.id),
        "/complaints/new".to_owned(),
    ] {
        let body = reqwest::get(http(h, &path)).await.unwrap().text().await.unwrap();
        outputs.push((path, body));
    }
    outputs.push(("ListEvents".into(), format!("{:?}", w.events(case_id).await)));
    outputs.push(("ExportCase".into(), String::from_utf8_lossy(&w.export(case_id).await).into_owned()));
    outputs.push((
        "GetComplaintStatistics".into(),
        format!("{:?}", stats(&s.supervisor, "2026-01-01", "2026-12-31").await),
    ));
    outputs.push(("ListOverdue".into(), format!("{:?}", overdue(&s.supervisor).await)));
    let masked =
        s.w.head
            .complaints
            .clone()
            .list_complaints(pb::ListComplaintsRequest {
                agency_id: w.agency.id.clone(),
                open_only: false,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
    outputs.push(("ListComplaints (head)".into(), format!("{masked:?}")));
    // Every step of every complaint's own chain, and every case event, as stored.
    for st in complaint_step::Entity::find().all(&h.running.db).await.unwrap() {
        outputs.push((format!("complaint_steps {}#{}", st.complaint_id, st.seq), st.payload));
    }
    for e in event::Entity::find().all(&h.running.db).await.unwrap() {
        outputs.push((format!("events {}#{}", e.case_id, e.case_seq), e.payload));
    }
    for (where_, text) in &outputs {
        assert!(!text.contains(NAME), "{what}: the reporter's name is in {where_}");
        assert!(!text.contains(PHONE), "{what}: the reporter's phone is in {where_}");
    }
}

async fn the_reporter_is_absent_from_every_public_output(backend: Backend) {
    let s = setup(backend, "2026-03-02").await;
    let (h, w, clock) = (&s.h, &s.w, &s.clock);
    // A decided, published case that a report and a conduct complaint concern.
    let case = w.open_case(pb::CaseKind::Penalty).await;
    w.ready_for_decision(&case.id, day("2026-03-02")).await;
    w.decide(&case.id, false).await.unwrap();
    // By the public form …
    let form = reqwest::Client::new()
        .post(http(h, "/complaints"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("agency_id", &w.agency.id)
                .append_pair("type", "samr_report")
                .append_pair("content", "该公司仍在销售过期食品")
                .append_pair("name", NAME)
                .append_pair("contact", PHONE)
                .append_pair("secrecy_requested", "1")
                .finish(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 201);
    let page = form.text().await.unwrap();
    assert!(!page.contains(NAME) && !page.contains(PHONE), "the receipt page echoes nothing: {page}");
    let report_id = {
        let list = s
            .reviewer
            .complaints
            .clone()
            .list_complaints(pb::ListComplaintsRequest {
                agency_id: w.agency.id.clone(),
                open_only: true,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .complaints;
        assert_eq!(list.len(), 1);
        assert!(page.contains(&list[0].id), "the receipt page gives the receipt number");
        list[0].id.clone()
    };
    // … and by staff on the phone, about the case.
    intake(
        &w.officer,
        pb::RecordComplaintRequest {
            agency_id: w.agency.id.clone(),
            types: vec![pb::ComplaintType::ConductComplaint as i32],
            channel: pb::ComplaintChannel::Hotline12345 as i32,
            received_at: Some(ts(day("2026-03-02"))),
            content: "对处罚决定有异议，认为执法人员态度粗暴".into(),
            reporter: Some(reporter()),
            case_id: case.id.clone(),
            officer_ids: vec![w.officers[1].id.clone()],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // The report leads to 立案 of the case; overdue items exist later.
    let mut decided = step_req(&report_id, S::FilingDecided, day("2026-03-02"));
    decided.case_filed = true;
    decided.case_id = case.id.clone();
    step(&s.reviewer, decided).await.unwrap();
    clock.set(day("2026-04-01"));
    assert!(!overdue(&s.supervisor).await.is_empty());
    scan(&s, &case.id, "before any access").await;

    // A handling office sees the identity only on asking, with a reason, and is logged.
    let mut get = pb::GetComplaintRequest {
        complaint_id: report_id.clone(),
        reveal_reporter: true,
        access_reason: String::new(),
    };
    refused(s.reviewer.complaints.clone().get_complaint(get.clone()).await, Code::InvalidArgument, "access_reason");
    get.access_reason = "告知立案结果".into();
    let seen = s.reviewer.complaints.clone().get_complaint(get.clone()).await.unwrap().into_inner().complaint.unwrap();
    let r = seen.reporter.unwrap();
    assert_eq!((r.name.as_str(), r.contact.as_str(), r.masked), (NAME, PHONE, false));
    let log = s
        .reviewer
        .complaints
        .clone()
        .list_reporter_access(pb::ListReporterAccessRequest { complaint_id: report_id.clone() })
        .await
        .unwrap()
        .into_inner()
        .accesses;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].reason, "告知立案结果");
    // The head reads complaints masked and may not reveal; the case's officers read nothing.
    refused(w.head.complaints.clone().get_complaint(get.clone()).await, Code::PermissionDenied, "handle complaints");
    let masked = w
        .head
        .complaints
        .clone()
        .get_complaint(pb::GetComplaintRequest { complaint_id: report_id.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();
    assert!(masked.reporter.unwrap().masked);
    refused(
        w.officer
            .complaints
            .clone()
            .get_complaint(pb::GetComplaintRequest { complaint_id: report_id.clone(), ..Default::default() })
            .await,
        Code::PermissionDenied,
        "read complaints",
    );
    assert_eq!(
        s.reviewer
            .complaints
            .clone()
            .list_reporter_access(pb::ListReporterAccessRequest { complaint_id: report_id.clone() })
            .await
            .unwrap()
            .into_inner()
            .accesses
            .len(),
        1,
        "refused attempts reveal nothing and are not accesses"
    );
    scan(&s, &case.id, "after an access").await;
}

/// A change to a valid intake request that makes it invalid.
type Change = Box<dyn Fn(&mut pb::RecordComplaintRequest)>;

async fn bad_input_is_refused_by_name_and_nothing_is_written(backend: Backend) {
    let s = setup(backend, "2026-03-02").await;
    let (h, w) = (&s.h, &s.w);
    let other = h.world(2, "").await;
    let other_case = other.open_case(pb::CaseKind::Penalty).await;
    let good = pb::RecordComplaintRequest {
        agency_id: w.agency.id.clone(),
        types: vec![pb::ComplaintType::SamrComplaint as i32],
        channel: pb::ComplaintChannel::Letter as i32,
        received_at: None,
        content: "商家拒绝退货".into(),
        reporter: Some(reporter()),
        case_id: String::new(),
        officer_ids: vec![],
        request_id: String::new(),
    };
    let bad: Vec<(Change, Code, &str)> = vec![
        (Box::new(|r| r.types.clear()), Code::InvalidArgument, "types"),
        (Box::new(|r| r.types = vec![99]), Code::InvalidArgument, "types"),
        (
            Box::new(|r| {
                r.types = vec![pb::ComplaintType::ConductComplaint as i32, pb::ComplaintType::SamrReport as i32]
            }),
            Code::InvalidArgument,
            "types",
        ),
        (Box::new(|r| r.channel = 0), Code::InvalidArgument, "channel"),
        (Box::new(|r| r.channel = pb::ComplaintChannel::Phone as i32), Code::InvalidArgument, "received_at"),
        (Box::new(|r| r.received_at = Some(ts(day("2026-03-03")))), Code::InvalidArgument, "received_at"),
        (Box::new(|r| r.content = "  ".into()), Code::InvalidArgument, "content"),
        (Box::new(|r| r.content = "长".repeat(10_001)), Code::InvalidArgument, "content"),
        (Box::new(|r| r.reporter = None), Code::InvalidArgument, "reporter.name"),
        (Box::new(|r| r.reporter.as_mut().unwrap().contact.clear()), Code::InvalidArgument, "reporter.contact"),
        (
            Box::new(|r| r.reporter = Some(pb::Reporter { anonymous: true, ..Default::default() })),
            Code::InvalidArgument,
            "reporter.anonymous",
        ),
        (Box::new(|r| r.agency_id = "not an id".into()), Code::InvalidArgument, "agency_id"),
        (Box::new(move |r| r.case_id = other_case.id.clone()), Code::InvalidArgument, "case_id"),
        (
            Box::new(move |r| r.officer_ids = vec![other.officers[0].id.clone()]),
            Code::InvalidArgument,
            "officer_ids[0]",
        ),
    ];
    for (change, code, what) in bad {
        let mut r = good.clone();
        change(&mut r);
        refused(intake(&w.officer, r).await, code, what);
    }
    // Over HTTP: refused by field, as JSON.
    for (body, what) in [
        (
            serde_json::json!({"agency_id": w.agency.id, "types": ["samr_report"], "content": "", "anonymous": true}),
            "content",
        ),
        (
            serde_json::json!({"agency_id": "no-such", "types": ["samr_report"], "content": "x", "anonymous": true}),
            "agency_id",
        ),
        (
            serde_json::json!({"agency_id": w.agency.id, "types": ["nonsense"], "content": "x", "anonymous": true}),
            "types",
        ),
        (
            serde_json::json!({"agency_id": w.agency.id, "types": ["samr_complaint"], "content": "x", "name": NAME}),
            "reporter.contact",
        ),
        (
            serde_json::json!({"agency_id": w.agency.id, "types": ["samr_report"], "content": "x", "case_id": "c"}),
            "case_id",
        ),
    ] {
        let r = post_json(h, &body).await;
        assert_eq!(r.status(), 400, "{body}");
        let e: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
        let msg = e["error"].as_str().unwrap();
        assert!(msg.contains(what), "{msg} does not name {what}");
        assert!(!msg.contains(NAME), "an error never echoes the reporter: {msg}");
    }
    let r = reqwest::Client::new().post(http(h, "/v1/complaints")).body("{not json").send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(complaint::Entity::find().all(&h.running.db).await.unwrap().is_empty(), "nothing was written");
    assert!(complaint_step::Entity::find().all(&h.running.db).await.unwrap().is_empty());

    // Steps: unknown kind, intake as a step, a future time, a rejection without its ground.
    let base = good.clone();
    let id = intake(&w.officer, good).await.unwrap().remove(0).id;
    refused(step(&s.reviewer, step_req(&id, S::Unspecified, day("2026-03-02"))).await, Code::InvalidArgument, "kind");
    refused(step(&s.reviewer, step_req(&id, S::Received, day("2026-03-02"))).await, Code::InvalidArgument, "kind");
    refused(
        step(&s.reviewer, step_req(&id, S::Accepted, day("2026-03-03"))).await,
        Code::InvalidArgument,
        "occurred_at",
    );
    refused(step(&s.reviewer, step_req(&id, S::Rejected, day("2026-03-02"))).await, Code::InvalidArgument, "text");
    refused(
        step(&s.reviewer, step_req("not an id", S::Accepted, day("2026-03-02"))).await,
        Code::InvalidArgument,
        "complaint_id",
    );
    assert_eq!(complaint_step::Entity::find().all(&h.running.db).await.unwrap().len(), 1, "only the receipt");
    // A rejection with its ground closes the complaint.
    let mut reject = step_req(&id, S::Rejected, day("2026-03-02"));
    reject.text = "不属于本机关管辖（第十五条第一款第（五）项）".into();
    let c = step(&s.reviewer, reject.clone()).await.unwrap();
    assert_eq!((c.open, c.outcome), (false, O::Rejected as i32));
    // A retried step with its request id answers the complaint as it is; another request with
    // the same id is refused, and nothing is added.
    let mut first = step_req(&id, S::Rejected, day("2026-03-02"));
    first.text = reject.text.clone();
    let id2 = intake(&w.officer, pb::RecordComplaintRequest { request_id: "intake-7".into(), ..base.clone() })
        .await
        .unwrap()
        .remove(0)
        .id;
    let again =
        intake(&w.officer, pb::RecordComplaintRequest { request_id: "intake-7".into(), ..base.clone() }).await.unwrap();
    assert_eq!(
        again.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        vec![id2.clone()],
        "a retried intake is one record"
    );
    refused(
        intake(
            &w.officer,
            pb::RecordComplaintRequest { request_id: "intake-7".into(), content: "另一件事".into(), ..base },
        )
        .await,
        Code::FailedPrecondition,
        "idempotency",
    );
    first.complaint_id = id2.clone();
    first.request_id = "reject-1".into();
    let once = step(&s.reviewer, first.clone()).await.unwrap();
    let twice = step(&s.reviewer, first.clone()).await.unwrap();
    assert_eq!((once.steps.len(), twice.steps.len()), (2, 2), "a retried step is recorded once");
    first.text = "另一理由".into();
    refused(step(&s.reviewer, first).await, Code::FailedPrecondition, "idempotency");
}

async fn only_the_handling_offices_handle_and_see_reporters(backend: Backend) {
    let s = setup(backend, "2026-03-02").await;
    let (h, w) = (&s.h, &s.w);
    let publisher = &w.publisher;
    let r = pb::RecordComplaintRequest {
        agency_id: w.agency.id.clone(),
        types: vec![pb::ComplaintType::SamrReport as i32],
        channel: pb::ComplaintChannel::Post as i32,
        content: "举报无照经营".into(),
        reporter: Some(pb::Reporter { anonymous: true, ..Default::default() }),
        ..Default::default()
    };
    refused(intake(publisher, r.clone()).await, Code::PermissionDenied, "record complaints");
    refused(intake(&h.admin, r.clone()).await, Code::PermissionDenied, "record complaints");
    refused(intake(&h.client(None), r.clone()).await, Code::Unauthenticated, "bearer");
    // Another agency's officer may not record for this one.
    let other = h.world(2, "").await;
    refused(intake(&other.officer, r.clone()).await, Code::PermissionDenied, "record complaints");
    let c = intake(&w.officer, r).await.unwrap().remove(0);
    assert!(c.reporter.as_ref().unwrap().anonymous);
    // The officer and the head may not handle it; the legal office and the supervision office may.
    for who in [&w.officer, &w.head, publisher, &other.officer] {
        refused(
            step(who, step_req(&c.id, S::FilingDecided, day("2026-03-02"))).await,
            Code::PermissionDenied,
            "handle complaints",
        );
    }
    for who in [&w.officer, publisher] {
        refused(
            who.complaints
                .clone()
                .list_complaints(pb::ListComplaintsRequest {
                    agency_id: w.agency.id.clone(),
                    open_only: false,
                    ..Default::default()
                })
                .await,
            Code::PermissionDenied,
            "read complaints",
        );
    }
    // The figures are the supervisors'.
    refused(
        w.head
            .complaints
            .clone()
            .get_complaint_statistics(pb::GetComplaintStatisticsRequest {
                from: "2026-01-01".into(),
                to: "2026-12-31".into(),
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
        "supervision",
    );
    // An anonymous reporter is never told anything (T4), so the report closes on its decision.
    let mut decided = step_req(&c.id, S::FilingDecided, day("2026-03-02"));
    decided.case_filed = false;
    let done = step(&s.supervisor, decided).await.unwrap();
    assert_eq!((done.open, done.outcome), (false, O::NotFiled as i32));

    // The 立案 period is configuration (T4): 10 working days for this agency.
    let mut policy = s
        .reviewer
        .complaints
        .clone()
        .get_complaint_policy(pb::GetComplaintPolicyRequest { agency_id: w.agency.id.clone() })
        .await
        .unwrap()
        .into_inner()
        .policy
        .unwrap();
    assert_eq!(policy.report_filing_working_days, 15);
    policy.report_filing_working_days = 10;
    refused(
        s.reviewer
            .complaints
            .clone()
            .put_complaint_policy(pb::PutComplaintPolicyRequest { policy: Some(policy.clone()) })
            .await,
        Code::PermissionDenied,
        "complaint periods",
    );
    policy.mediation_working_days = 0;
    refused(
        h.admin
            .complaints
            .clone()
            .put_complaint_policy(pb::PutComplaintPolicyRequest { policy: Some(policy.clone()) })
            .await,
        Code::InvalidArgument,
        "policy.mediation_working_days",
    );
    policy.mediation_working_days = 45;
    h.admin
        .complaints
        .clone()
        .put_complaint_policy(pb::PutComplaintPolicyRequest { policy: Some(policy) })
        .await
        .unwrap();
    let c = intake(
        &w.officer,
        pb::RecordComplaintRequest {
            agency_id: w.agency.id.clone(),
            types: vec![pb::ComplaintType::SamrReport as i32],
            channel: pb::ComplaintChannel::Fax as i32,
            content: "举报虚假宣传".into(),
            reporter: Some(pb::Reporter { anonymous: true, ..Default::default() }),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .remove(0);
    assert_eq!(due(&c, "report_filing"), "2026-03-16");
    let _ = &s.city;
}

async fn public_intake_is_rate_limited(backend: Backend) {
    let clock = Arc::new(TestClock::new(day("2026-03-02")));
    let h = Harness::start_with(backend, clock, |config| {
        config.http_rate_burst = 2;
        config.http_rate_per_second = 1;
    })
    .await;
    let a = h.agency(1, "").await;
    let body = serde_json::json!({"agency_id": a.id, "types": ["samr_report"], "content": "举报", "anonymous": true});
    let mut codes = Vec::new();
    for _ in 0..4 {
        codes.push(post_json(&h, &body).await.status().as_u16());
    }
    assert_eq!(&codes[..2], &[201, 201]);
    assert!(codes[2..].contains(&429), "{codes:?}");
    let stored = complaint::Entity::find().all(&h.running.db).await.unwrap().len();
    assert_eq!(stored, codes.iter().filter(|c| **c == 201).count(), "a refused submission writes nothing");
}

/// A conduct complaint about `case_id`, received and accepted on `date`.
async fn accepted_conduct_complaint(s: &Setup, case_id: &str, date: &str) -> String {
    let got = intake(
        &s.w.officer,
        pb::RecordComplaintRequest {
            agency_id: s.w.agency.id.clone(),
            types: vec![pb::ComplaintType::ConductComplaint as i32],
            channel: pb::ComplaintChannel::Letter as i32,
            content: "处罚决定认定事实不清，要求撤销".into(),
            reporter: Some(reporter()),
            case_id: case_id.into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let id = got[0].id.clone();
    step(&s.reviewer, step_req(&id, S::Accepted, day(date))).await.unwrap();
    id
}

async fn get_complaint(c: &Client, id: &str) -> pb::Complaint {
    c.complaints
        .clone()
        .get_complaint(pb::GetComplaintRequest { complaint_id: id.into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap()
}

/// The supervisor's items of kind `ComplaintRecommendation`, as (complaint, case, due date).
async fn recommendations(s: &Setup) -> Vec<(String, String, String)> {
    let mut out: Vec<_> = overdue(&s.supervisor)
        .await
        .into_iter()
        .filter(|i| i.kind == pb::OverdueKind::ComplaintRecommendation as i32)
        .map(|i| (i.subject_id, i.case_id, i.due_date))
        .collect();
    out.sort();
    out
}

async fn a_recommendation_to_revoke_or_change_a_decision_is_owed_until_revised_or_answered(backend: Backend) {
    // Monday 2 March 2026.
    let s = setup(backend, "2026-03-02").await;
    let (w, clock) = (&s.w, &s.clock);
    let now = s.h.now();
    // Two decided cases (one to be revised, one whose decision stands) and one undecided.
    let mut decided = Vec::new();
    for _ in 0..2 {
        let case = w.open_case(pb::CaseKind::Penalty).await;
        w.ready_for_decision(&case.id, now).await;
        w.decide(&case.id, false).await.unwrap();
        decided.push(case.id);
    }
    let undecided = w.open_case(pb::CaseKind::Penalty).await;
    let revised = accepted_conduct_complaint(&s, &decided[0], "2026-03-02").await;
    let kept = accepted_conduct_complaint(&s, &decided[1], "2026-03-02").await;
    let no_decision = accepted_conduct_complaint(&s, &undecided.id, "2026-03-02").await;

    // The recommendation concerns a decision: refused by rule where the case has none.
    clock.set(day("2026-03-03"));
    refused(
        step(&s.supervisor, conclusion(&s, &no_decision, O::RevokeOrChangeRecommended, day("2026-03-03"))).await,
        Code::FailedPrecondition,
        "T6.decision-required",
    );
    assert_eq!(step_count(&s, &no_decision).await, 2);

    // Concluded on Tuesday 3 March: the agency owes the revision, or the reasons its decision
    // stands, within 15 days (RULES T6 [default]), shown with the complaint at once.
    for id in [&revised, &kept] {
        let c = step(&s.supervisor, conclusion(&s, id, O::RevokeOrChangeRecommended, day("2026-03-03"))).await.unwrap();
        assert!(!c.open);
        assert_eq!(c.outcome, O::RevokeOrChangeRecommended as i32);
        assert_eq!(due(&c, "decision_response"), "2026-03-18");
        let owed = c.obligations.iter().find(|o| o.owed == "decision_response").unwrap();
        assert_eq!((owed.step, owed.overdue), (S::DecisionKept as i32, false));
    }
    // Not overdue on its last day; the next day on the supervisor's list, naming the case.
    clock.set(day("2026-03-18"));
    assert!(recommendations(&s).await.is_empty());
    clock.set(day("2026-03-19"));
    assert_eq!(recommendations(&s).await, {
        let mut want = vec![
            (revised.clone(), decided[0].clone(), "2026-03-18".to_owned()),
            (kept.clone(), decided[1].clone(), "2026-03-18".to_owned()),
        ];
        want.sort();
        want
    });
    assert!(
        get_complaint(&s.reviewer, &kept).await.obligations.iter().any(|o| o.owed == "decision_response" && o.overdue)
    );
    assert_eq!(stats(&s.supervisor, "2026-03-01", "2026-03-31").await.overdue, 2, "the figures count them too");

    // The decision revised (P6: the same act withdraws its publication): the obligation is gone.
    w.head
        .review
        .clone()
        .revise_decision(pb::ReviseDecisionRequest {
            request_id: uuid::Uuid::now_v7().to_string(),
            case_id: decided[0].clone(),
            revision: pb::Revision::Revocation as i32,
            reason: "根据投诉调查结论撤销原处罚决定".into(),
            basis: format!("投诉 #{revised}"),
            occurred_at: Some(ts(day("2026-03-19"))),
        })
        .await
        .unwrap();
    assert!(get_complaint(&s.reviewer, &revised).await.obligations.is_empty());
    assert_eq!(recommendations(&s).await, [(kept.clone(), decided[1].clone(), "2026-03-18".to_owned())]);
    // Nothing stands to be kept once revised.
    let mut keep = step_req(&revised, S::DecisionKept, day("2026-03-19"));
    keep.text = "原决定正确".into();
    refused(step(&w.head, keep).await, Code::FailedPrecondition, "T6.decision-revised");

    // Keeping the decision is the deciding agency's head's call (RULES T6, like issuing it):
    // the offices that handled the complaint, its officers and the city's leadership are
    // refused, and nothing is written.
    let mut keep = step_req(&kept, S::DecisionKept, day("2026-03-19"));
    keep.text = "经复核，原处罚决定认定事实清楚，维持原决定".into();
    let city_head = s.h.principal(pb::Role::Head, &s.city.id, "").await;
    let steps_before = step_count(&s, &kept).await;
    for other in [&s.reviewer, &s.supervisor, &w.officer, &city_head] {
        refused(step(other, keep.clone()).await, Code::PermissionDenied, "keep a decision");
    }
    assert_eq!(step_count(&s, &kept).await, steps_before);
    assert!(
        get_complaint(&s.reviewer, &kept).await.obligations.iter().any(|o| o.owed == "decision_response"),
        "still owed"
    );

    // The agency's head records why its decision stands: reasons required, recorded once, and
    // the obligation is gone; the complaint's chain holds the answer.
    let mut keep = step_req(&kept, S::DecisionKept, day("2026-03-19"));
    refused(step(&w.head, keep.clone()).await, Code::InvalidArgument, "text");
    keep.text = "经复核，原处罚决定认定事实清楚，维持原决定".into();
    let c = step(&w.head, keep.clone()).await.unwrap();
    assert!(c.obligations.is_empty() && !c.open);
    assert_eq!(c.outcome, O::RevokeOrChangeRecommended as i32, "the outcome stays the recommendation");
    let last = c.steps.last().unwrap();
    assert_eq!(
        (last.kind, last.prev_hash.as_str()),
        (S::DecisionKept as i32, c.steps[c.steps.len() - 2].hash.as_str())
    );
    refused(step(&w.head, keep).await, Code::FailedPrecondition, "T6.answered-once");
    assert!(recommendations(&s).await.is_empty());
    // The case learned of the conclusion once, not of the answer.
    let concluded: Vec<_> =
        w.events(&decided[1]).await.into_iter().filter(|e| e.kind == K::ComplaintConcluded as i32).collect();
    assert_eq!(concluded.len(), 1);

    // Any other conclusion takes no answer.
    let other = accepted_conduct_complaint(&s, &undecided.id, "2026-03-19").await;
    step(&s.supervisor, conclusion(&s, &other, O::CorrectionOrdered, day("2026-03-19"))).await.unwrap();
    let mut keep = step_req(&other, S::DecisionKept, day("2026-03-19"));
    keep.text = "维持".into();
    refused(step(&w.head, keep).await, Code::FailedPrecondition, "T6.recommendation");

    // The period is the agency's policy.
    let mut policy =
        s.h.admin
            .complaints
            .clone()
            .get_complaint_policy(pb::GetComplaintPolicyRequest { agency_id: w.agency.id.clone() })
            .await
            .unwrap()
            .into_inner()
            .policy
            .unwrap();
    assert_eq!(policy.decision_response_days, 15);
    policy.decision_response_days = 367;
    refused(
        s.h.admin
            .complaints
            .clone()
            .put_complaint_policy(pb::PutComplaintPolicyRequest { policy: Some(policy.clone()) })
            .await,
        Code::InvalidArgument,
        "policy.decision_response_days",
    );
    policy.decision_response_days = 30;
    s.h.admin
        .complaints
        .clone()
        .put_complaint_policy(pb::PutComplaintPolicyRequest { policy: Some(policy) })
        .await
        .unwrap();
    let third = accepted_conduct_complaint(&s, &decided[1], "2026-03-19").await;
    clock.set(day("2026-03-20"));
    let c = step(&s.supervisor, conclusion(&s, &third, O::RevokeOrChangeRecommended, day("2026-03-20"))).await.unwrap();
    assert_eq!(due(&c, "decision_response"), "2026-04-19");
    for case in &decided {
        assert!(w.verify(case, false).await.ok);
    }
    s.h.running.stop().await.unwrap();
}

async fn complaints_are_listed_a_page_at_a_time(backend: Backend) {
    let s = setup(backend, "2026-03-02").await;
    let w = &s.w;
    // Five complaints, two received at the same instant: the page order is by receipt, then id.
    let mut ids = Vec::new();
    for (i, at) in ["2026-02-20", "2026-02-23", "2026-02-23", "2026-02-25", "2026-03-02"].iter().enumerate() {
        let got = intake(
            &w.officer,
            pb::RecordComplaintRequest {
                agency_id: w.agency.id.clone(),
                types: vec![pb::ComplaintType::SamrComplaint as i32],
                channel: pb::ComplaintChannel::Phone as i32,
                received_at: Some(ts(day(at))),
                content: format!("投诉 {i}"),
                reporter: Some(reporter()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        ids.push((day(at).micros(), got[0].id.clone()));
    }
    // One of them closed, for `open_only`.
    let mut reject = step_req(&ids[3].1, S::Rejected, day("2026-03-02"));
    reject.text = "不属于本机关管辖".into();
    step(&s.reviewer, reject).await.unwrap();
    ids.sort();
    ids.reverse();
    let newest_first: Vec<String> = ids.into_iter().map(|(_, id)| id).collect();

    let list = |open_only: bool, cursor: String, limit: u32| {
        let mut c = s.reviewer.complaints.clone();
        let agency_id = w.agency.id.clone();
        async move {
            c.list_complaints(pb::ListComplaintsRequest { agency_id, open_only, cursor, limit })
                .await
                .map(|r| r.into_inner())
        }
    };
    let mut seen = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let page = list(false, cursor.clone(), 2).await.unwrap();
        assert!(page.complaints.len() <= 2);
        seen.extend(page.complaints.iter().map(|c| c.id.clone()));
        pages += 1;
        if page.next_cursor.is_empty() {
            break;
        }
        cursor = page.next_cursor;
    }
    assert_eq!((seen.clone(), pages), (newest_first.clone(), 3), "every complaint once, newest first");
    // A complaint recorded meanwhile never shifts a later page (keyset, not offset).
    let first = list(false, String::new(), 2).await.unwrap();
    intake(
        &w.officer,
        pb::RecordComplaintRequest {
            agency_id: w.agency.id.clone(),
            types: vec![pb::ComplaintType::SamrComplaint as i32],
            channel: pb::ComplaintChannel::Phone as i32,
            received_at: Some(ts(day("2026-03-02"))),
            content: "新投诉".into(),
            reporter: Some(reporter()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let second = list(false, first.next_cursor, 2).await.unwrap();
    assert_eq!(second.complaints.iter().map(|c| c.id.clone()).collect::<Vec<_>>(), newest_first[2..4]);
    // The default page holds them all; open_only pages the open ones.
    assert_eq!(list(false, String::new(), 0).await.unwrap().complaints.len(), 6);
    let open = list(true, String::new(), 500).await.unwrap();
    assert_eq!(open.complaints.len(), 5);
    assert!(open.next_cursor.is_empty() && open.complaints.iter().all(|c| c.open));
    // Bad sizes and cursors are refused by field name.
    refused(list(false, String::new(), 501).await, Code::InvalidArgument, "limit");
    for bad in ["x", "r", "r12", "rabc.def", "r-1.abc", "r1.", "r1.a b", "l5"] {
        refused(list(false, bad.into(), 2).await, Code::InvalidArgument, "cursor");
    }
    s.h.running.stop().await.unwrap();
}

async fn the_reporter_never_reaches_the_log_at_any_level(backend: Backend) {
    use sanxiang_tests::process::{sigterm_and_wait, spawn};
    // The real binary, logging everything (every target at TRACE), on the backend under test.
    let dir = tempfile::tempdir().unwrap();
    let database_url = backend.database_url(dir.path()).await;
    let p = spawn(
        BIN,
        dir.path(),
        &["--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"],
        &[("SANXIANG_LOG", "trace"), ("SANXIANG_DATABASE_URL", &database_url)],
    )
    .await;
    let token = std::fs::read_to_string(dir.path().join("sanxiang-data/admin-token")).unwrap();
    let channel =
        tonic::transport::Channel::from_shared(format!("http://{}", p.addr)).unwrap().connect().await.unwrap();
    let admin = Client::new(channel.clone(), Some(token.trim()));
    let (agency, officers, officer_token) = sanxiang_tests::setup_agency(&admin, 7).await;
    let officer = Client::new(channel.clone(), Some(&officer_token));
    let mut registry = admin.registry.clone();
    let mut investigators = Vec::new();
    for name in ["监督员甲", "监督员乙"] {
        let o = registry
            .register_officer(pb::RegisterOfficerRequest {
                agency_id: agency.id.clone(),
                name: name.into(),
                certificate_number: format!("JD-{}", uuid::Uuid::now_v7().simple()),
                category: "执法监督".into(),
                valid_from: "2020-01-01".into(),
                valid_until: "2035-12-31".into(),
                certificate_kind: pb::CertificateKind::Supervision as i32,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .officer
            .unwrap();
        investigators.push(o.id);
    }
    let legal = registry
        .create_principal(pb::CreatePrincipalRequest {
            name: "法制科".into(),
            role: pb::Role::Reviewer as i32,
            agency_id: agency.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .principal
        .unwrap();
    let legal_token =
        registry.issue_token(pb::IssueTokenRequest { principal_id: legal.id, label: String::new() }).await.unwrap();
    let legal = Client::new(channel, Some(&legal_token.into_inner().token));
    let case = officer
        .record
        .clone()
        .open_case(pb::OpenCaseRequest {
            request_id: uuid::Uuid::now_v7().to_string(),
            agency_id: agency.id.clone(),
            kind: pb::CaseKind::Penalty as i32,
            title: "未按规定公示年度报告案".into(),
            party: Some(pb::Party {
                r#type: pb::PartyType::LegalPerson as i32,
                name: "福州某某贸易有限公司".into(),
                credit_code: sanxiang_tests::credit_code(999),
                ..Default::default()
            }),
            handling_officer_ids: officers.iter().map(|o| o.id.clone()).collect(),
            opened_at: None,
        })
        .await
        .unwrap()
        .into_inner()
        .case
        .unwrap();

    // Intake by staff, about the case (its hold is recorded in the case's chain).
    let staff_reporter =
        pb::Reporter { name: NAME.into(), contact: PHONE.into(), secrecy_requested: true, ..Default::default() };
    let intake_request = pb::RecordComplaintRequest {
        agency_id: agency.id.clone(),
        types: vec![pb::ComplaintType::ConductComplaint as i32],
        channel: pb::ComplaintChannel::Letter as i32,
        content: "执法人员检查时未出示执法证件".into(),
        reporter: Some(staff_reporter.clone()),
        case_id: case.id.clone(),
        request_id: uuid::Uuid::now_v7().to_string(),
        ..Default::default()
    };
    let id = intake(&officer, intake_request.clone()).await.unwrap()[0].id.clone();
    // A retry, and refusals whose requests carry the identity.
    intake(&officer, intake_request.clone()).await.unwrap();
    let anonymous_with_name = pb::Reporter { anonymous: true, ..staff_reporter.clone() };
    refused(
        intake(
            &officer,
            pb::RecordComplaintRequest {
                reporter: Some(anonymous_with_name),
                request_id: String::new(),
                ..intake_request.clone()
            },
        )
        .await,
        Code::InvalidArgument,
        "reporter.anonymous",
    );
    // Intake by the public, as JSON.
    const PUBLIC_NAME: &str = "李大华";
    const PUBLIC_PHONE: &str = "13700001111";
    let public = reqwest::Client::new()
        .post(format!("http://{}/v1/complaints", p.http_addr))
        .header("content-type", "application/json")
        .body(
            serde_json::json!({
                "agency_id": agency.id,
                "types": ["samr_complaint"],
                "content": "购买的商品与宣传不符",
                "name": PUBLIC_NAME,
                "contact": PUBLIC_PHONE,
            })
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert!(public.status().is_success(), "{}", public.status());

    // Reveal (logged as an access, without the identity), acceptance and conclusion.
    let shown = legal
        .complaints
        .clone()
        .get_complaint(pb::GetComplaintRequest {
            complaint_id: id.clone(),
            reveal_reporter: true,
            access_reason: "核实投诉人身份".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();
    assert_eq!(shown.reporter.unwrap().name, NAME, "the identity did pass through the server");
    let list = legal
        .complaints
        .clone()
        .list_complaints(pb::ListComplaintsRequest { agency_id: agency.id.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.complaints.len(), 2);
    let mut accept = step_req(&id, S::Accepted, Timestamp::from_micros(0));
    accept.occurred_at = None;
    step(&legal, accept).await.unwrap();
    let conclude = pb::RecordComplaintStepRequest {
        complaint_id: id.clone(),
        kind: S::Concluded as i32,
        outcome: O::CorrectionOrdered as i32,
        text: "责令改正".into(),
        investigator_ids: investigators.clone(),
        ..Default::default()
    };
    refused(
        step(
            &legal,
            pb::RecordComplaintStepRequest { investigator_ids: vec![investigators[0].clone()], ..conclude.clone() },
        )
        .await,
        Code::FailedPrecondition,
        "T6.two-investigators",
    );
    let done = step(&legal, conclude).await.unwrap();
    assert!(!done.open);

    let log = sigterm_and_wait(p).await;
    let all = log.join("\n");
    assert!(log.iter().any(|l| l.contains("TRACE")), "the log was captured at every level");
    assert!(log.iter().any(|l| l.contains("reporter identity accessed")), "the access is logged: {all}");
    assert!(log.iter().any(|l| l.contains("RecordComplaint")), "the intake was logged: {all}");
    for secret in [NAME, PHONE, PUBLIC_NAME, PUBLIC_PHONE] {
        let found: Vec<&String> = log.iter().filter(|l| l.contains(secret)).collect();
        assert!(found.is_empty(), "{secret} reached the log: {found:#?}");
    }
}

/// SAMR-C Arts. 29 and 30 on a report: a jurisdiction dispute with another body is settled, or
/// referred to the common superior, within 7 working days (late: on the supervisor's list); a
/// body without jurisdiction refers the report, which ends it. Each needs its text; a refused
/// step writes nothing.
async fn a_jurisdiction_dispute_is_owed_within_seven_working_days_and_a_report_is_referred(backend: Backend) {
    // Monday 2026-03-02: a report by telephone.
    let s = setup(backend, "2026-03-02").await;
    let (w, clock) = (&s.w, &s.clock);
    let got = intake(
        &w.officer,
        pb::RecordComplaintRequest {
            agency_id: w.agency.id.clone(),
            types: vec![pb::ComplaintType::SamrReport as i32],
            channel: pb::ComplaintChannel::Phone as i32,
            received_at: Some(ts(day("2026-03-02"))),
            content: "举报某加油站计量器具作弊".into(),
            reporter: Some(reporter()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let id = got[0].id.clone();

    // Wednesday 2026-03-04: the jurisdiction is disputed; the other body must be named.
    clock.set(day("2026-03-04"));
    let before = step_count(&s, &id).await;
    refused(
        step(&s.reviewer, step_req(&id, S::JurisdictionDisputed, day("2026-03-04"))).await,
        Code::InvalidArgument,
        "text",
    );
    assert_eq!(step_count(&s, &id).await, before, "a refused step writes nothing");
    let disputed = pb::RecordComplaintStepRequest {
        text: "与某区市场监管局就管辖发生争议".into(),
        ..step_req(&id, S::JurisdictionDisputed, day("2026-03-04"))
    };
    let c = step(&s.reviewer, disputed.clone()).await.unwrap();
    // Seven working days: Friday 2026-03-13. The 立案 decision stays owed on its own day.
    assert_eq!(due(&c, "jurisdiction"), "2026-03-13");
    assert_eq!(due(&c, "report_filing"), "2026-03-23");
    let open = c.obligations.iter().find(|o| o.owed == "jurisdiction").unwrap();
    assert_eq!(open.step, S::JurisdictionSettled as i32);
    refused(step(&s.reviewer, disputed).await, Code::FailedPrecondition, "T4.dispute-open");
    clock.set(day("2026-03-05"));
    let mut decided = step_req(&id, S::FilingDecided, day("2026-03-05"));
    decided.case_filed = false;
    decided.text = "不予立案".into();
    refused(step(&s.reviewer, decided).await, Code::FailedPrecondition, "T4.dispute-open");
    let referral = pb::RecordComplaintStepRequest {
        text: "已告知举报人向某区市场监管局举报".into(),
        ..step_req(&id, S::Referred, day("2026-03-05"))
    };
    refused(step(&s.reviewer, referral.clone()).await, Code::FailedPrecondition, "T4.dispute-open");
    assert_eq!(step_count(&s, &id).await, before + 1);

    // On its last day it is not late; the next day the supervisor sees it.
    clock.set(day("2026-03-13"));
    assert!(!overdue(&s.supervisor).await.iter().any(|i| i.subject_id == id));
    clock.set(day("2026-03-16"));
    let late = overdue(&s.supervisor).await;
    let item = late.iter().find(|i| i.subject_id == id).expect("the unsettled dispute is listed");
    assert_eq!((item.kind, item.due_date.as_str()), (pb::OverdueKind::JurisdictionDispute as i32, "2026-03-13"));
    assert!(!item.detail.contains(NAME) && !item.detail.contains(PHONE), "{}", item.detail);
    assert_eq!(stats(&s.supervisor, "2026-03-01", "2026-03-31").await.overdue, 1, "the figures count it overdue too");

    // Referred to the common superior (recorded with how), then referred on: the report ends.
    refused(
        step(&s.reviewer, step_req(&id, S::JurisdictionSettled, day("2026-03-16"))).await,
        Code::InvalidArgument,
        "text",
    );
    let settled = pb::RecordComplaintStepRequest {
        text: "报请共同上级市场监管局指定管辖，指定某区市场监管局管辖".into(),
        ..step_req(&id, S::JurisdictionSettled, day("2026-03-16"))
    };
    let c = step(&s.reviewer, settled.clone()).await.unwrap();
    assert!(c.obligations.iter().all(|o| o.owed != "jurisdiction"), "{:?}", c.obligations);
    assert!(
        !overdue(&s.supervisor)
            .await
            .iter()
            .any(|i| i.subject_id == id && i.kind != pb::OverdueKind::ReportFiling as i32)
    );
    refused(step(&s.reviewer, settled).await, Code::FailedPrecondition, "T4.no-dispute");
    let c = step(&s.reviewer, pb::RecordComplaintStepRequest { occurred_at: Some(ts(day("2026-03-16"))), ..referral })
        .await
        .unwrap();
    assert_eq!(c.outcome, O::Referred as i32);
    assert!(c.obligations.is_empty(), "{:?}", c.obligations);
    assert!(!overdue(&s.supervisor).await.iter().any(|i| i.subject_id == id));
    let last = c.steps.last().unwrap();
    assert_eq!((last.kind, last.text.as_str()), (S::Referred as i32, "已告知举报人向某区市场监管局举报"));
    refused(
        step(&s.reviewer, step_req(&id, S::ReporterNotified, day("2026-03-16"))).await,
        Code::FailedPrecondition,
        "T2.closed",
    );
    // The figures of the period count the referral as the report's outcome (T7).
    let f = stats(&s.supervisor, "2026-03-01", "2026-03-31").await;
    assert_eq!((f.received, f.open, f.overdue), (1, 0, 0));
    assert!(f.counts.iter().any(|c| c.dimension == "outcome" && c.key == "referred" && c.count == 1), "{:?}", f.counts);
    // A conduct complaint has no jurisdiction steps.
    let conduct = intake(
        &w.officer,
        pb::RecordComplaintRequest {
            agency_id: w.agency.id.clone(),
            types: vec![pb::ComplaintType::ConductComplaint as i32],
            channel: pb::ComplaintChannel::Visit as i32,
            received_at: Some(ts(day("2026-03-16"))),
            content: "执法人员态度粗暴".into(),
            reporter: Some(reporter()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    refused(
        step(
            &s.reviewer,
            pb::RecordComplaintStepRequest {
                text: "某区".into(),
                ..step_req(&conduct[0].id, S::Referred, day("2026-03-16"))
            },
        )
        .await,
        Code::FailedPrecondition,
        "T1.type",
    );
    s.h.running.stop().await.unwrap();
}

fn attachment(name: &str, media_type: &str, content: &[u8]) -> pb::ComplaintAttachment {
    pb::ComplaintAttachment { name: name.into(), media_type: media_type.into(), content: content.to_vec().into() }
}

async fn a_step_carries_attachments_chained_by_digest_that_only_handling_offices_read(backend: Backend) {
    use sha2::Digest;
    let s = setup(backend, "2026-03-02").await;
    let w = &s.w;
    let case = w.open_case(pb::CaseKind::Penalty).await;
    let id = accepted_conduct_complaint(&s, &case.id, "2026-03-02").await;
    let photo: Vec<u8> = (0..=255u8).cycle().take(5_000).collect();
    let letter = "投诉人补充材料：现场照片及收据".as_bytes().to_vec();
    let concluded = |attachments: Vec<pb::ComplaintAttachment>| pb::RecordComplaintStepRequest {
        attachments,
        ..conclusion(&s, &id, O::CorrectionOrdered, day("2026-03-03"))
    };
    s.clock.set(day("2026-03-03"));

    // Bad attachments are refused by field, and nothing is written.
    let before = step_count(&s, &id).await;
    for (bad, field) in [
        (vec![attachment("", "image/jpeg", &photo)], "attachments[0].name"),
        (vec![attachment("现场照片.jpg", "", &photo)], "attachments[0].media_type"),
        (vec![attachment("现场照片.jpg", "image/jpeg", b"")], "attachments[0].content"),
        (
            vec![attachment("big.bin", "application/octet-stream", &vec![0u8; 1024 * 1024 + 1])],
            "attachments[0].content",
        ),
        ((0..9).map(|i| attachment(&format!("{i}.txt"), "text/plain", b"x")).collect(), "attachments"),
        (
            // Three of 1 MiB and one more byte: over the 3 MiB of a step, under the message limit.
            (0..4)
                .map(|i| {
                    let size = if i < 3 { 1024 * 1024 } else { 1 };
                    attachment(&format!("{i}.bin"), "application/octet-stream", &vec![1u8; size])
                })
                .collect(),
            "attachments",
        ),
    ] {
        refused(step(&s.supervisor, concluded(bad)).await, Code::InvalidArgument, field);
    }
    assert_eq!(step_count(&s, &id).await, before);

    // Two files on the conclusion: the step records each by name, media type, size and digest.
    let c = step(
        &s.supervisor,
        concluded(vec![
            attachment("现场照片.jpg", "image/jpeg", &photo),
            attachment("补充材料.txt", "text/plain", &letter),
        ]),
    )
    .await
    .unwrap();
    let last = c.steps.last().unwrap().clone();
    let hex = |b: &[u8]| sha2::Sha256::digest(b).iter().map(|x| format!("{x:02x}")).collect::<String>();
    assert_eq!(
        last.attachments,
        [
            pb::ComplaintAttachmentRef {
                index: 0,
                name: "现场照片.jpg".into(),
                media_type: "image/jpeg".into(),
                size: 5_000,
                sha256: hex(&photo),
            },
            pb::ComplaintAttachmentRef {
                index: 1,
                name: "补充材料.txt".into(),
                media_type: "text/plain".into(),
                size: letter.len() as u64,
                sha256: hex(&letter),
            },
        ]
    );
    // The digests are in the step's chained document: its hash covers them.
    let db = &s.h.running.db;
    let stored =
        complaint_step::Entity::find_by_id((sanxiang_domain::id::ComplaintId::from(id.clone()), last.seq as i64))
            .one(db)
            .await
            .unwrap()
            .unwrap();
    assert!(stored.payload.contains(&hex(&photo)) && stored.payload.contains(&hex(&letter)), "{}", stored.payload);
    assert_eq!(hex(stored.payload.as_bytes()), last.hash);
    // Staff who may read the complaint see the references; the bytes only the handling offices.
    assert_eq!(get_complaint(&w.head, &id).await.steps.last().unwrap().attachments, last.attachments);
    let fetch = |c: &Client, index: u32| {
        let mut c = c.complaints.clone();
        let r = pb::GetComplaintAttachmentRequest { complaint_id: id.clone(), seq: last.seq, index };
        async move { c.get_complaint_attachment(r).await.map(tonic::Response::into_inner) }
    };
    let got = fetch(&s.reviewer, 0).await.unwrap();
    assert_eq!((got.content.to_vec(), got.attachment.unwrap().sha256), (photo.clone(), hex(&photo)));
    assert_eq!(fetch(&s.supervisor, 1).await.unwrap().content.to_vec(), letter);
    for other in [&w.head, &w.officer] {
        refused(fetch(other, 0).await, Code::PermissionDenied, "");
    }
    refused(fetch(&s.reviewer, 2).await, Code::NotFound, "attachment");
    // Bytes changed behind the service's back no longer match the chained digest.
    let key = (sanxiang_domain::id::ComplaintId::from(id.clone()), last.seq as i64, 1i64);
    let row = complaint_attachment::Entity::find_by_id(key).one(db).await.unwrap().unwrap();
    let mut tampered: complaint_attachment::ActiveModel = row.clone().into();
    tampered.content = sea_orm::ActiveValue::Set(b"altered".to_vec());
    sea_orm::ActiveModelTrait::update(tampered, db).await.unwrap();
    refused(fetch(&s.reviewer, 1).await, Code::DataLoss, "does not match");
    s.h.running.stop().await.unwrap();
}
