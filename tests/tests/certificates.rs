//! Enforcement certificates (RULES C1–C8) over gRPC, on every database backend: a certificate
//! whose annual review (年审) lapses is refused from the next day with the rule's id, and counted
//! for supervisors; a review passes only with the period's training and restores it; a failed
//! review, a suspension and a cancellation each stop acts, and only what may end them does;
//! certificates of the wrong kind, of auxiliary staff and pending eligibility never act;
//! supervisors list certificates due, overdue, suspended and expiring.

use sanxiang_proto::v1 as pb;
use sanxiang_proto::v1::EventKind as K;
use sanxiang_tests::{
    Backend, Client, Harness, World, backend_tests, credit_code, http_get, http_json, http_text, refused,
    shanghai_morning,
};
use tonic::Code;

backend_tests!(
    a_lapsed_annual_review_refuses_acts_from_the_next_day,
    a_failed_review_a_suspension_and_a_cancellation_stop_acts,
    kind_auxiliary_and_eligibility_are_checked_at_every_act,
    certificate_events_are_checked_and_only_administrators_record_them,
    a_lost_card_is_replaced_and_the_public_verifies_both_numbers,
    acts_record_the_certificates_shown_and_those_without_are_listed,
    a_certificate_covers_its_field_and_area_only,
    an_act_naming_no_power_is_judged_by_the_agencys_fields_and_areas_by_division_code,
    the_card_qr_code_leads_to_its_page_at_the_configured_public_address,
);

/// Registers an officer of `agency` with `change` applied to the request.
async fn register(
    h: &Harness,
    agency: &str,
    name: &str,
    change: impl FnOnce(&mut pb::RegisterOfficerRequest),
) -> pb::Officer {
    let mut r = pb::RegisterOfficerRequest {
        agency_id: agency.into(),
        name: name.into(),
        certificate_number: format!("CERT-{}", uuid::Uuid::now_v7().simple()),
        category: "市场监管".into(),
        valid_from: "2020-01-01".into(),
        valid_until: "2035-12-31".into(),
        issuer: "河南省人民政府".into(),
        ..Default::default()
    };
    change(&mut r);
    h.admin.registry.clone().register_officer(r).await.expect("register officer").into_inner().officer.expect("officer")
}

async fn record(
    c: &Client,
    officer: &str,
    kind: pb::CertificateEventKind,
    on: &str,
    hours: u32,
) -> Result<pb::Certificate, tonic::Status> {
    c.registry
        .clone()
        .record_certificate_event(pb::RecordCertificateEventRequest {
            officer_id: officer.into(),
            kind: kind as i32,
            effective_on: on.into(),
            training_hours: hours,
            reason: "执法监督机构决定".into(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner().certificate.expect("the answer carries the certificate"))
}

async fn list(c: &Client, agency: &str, filter: pb::CertificateFilter) -> Result<Vec<pb::Certificate>, tonic::Status> {
    c.registry
        .clone()
        .list_certificates(pb::ListCertificatesRequest { agency_id: agency.into(), filter: filter as i32 })
        .await
        .map(|r| r.into_inner().certificates)
}

/// An inspection of `case_id` now by the first officer of `w` and `other`.
async fn inspect_with(
    w: &World,
    case_id: &str,
    other: &str,
    clock: &sanxiang_domain::TestClock,
) -> Result<pb::Event, tonic::Status> {
    let mut r = w.event(case_id, K::Inspection, sanxiang_domain::TimeProvider::now(clock));
    r.officer_ids = vec![w.officers[0].id.clone(), other.into()];
    w.officer.record.clone().append_event(r).await.map(|r| r.into_inner().event.expect("event"))
}

fn ids(certs: &[pb::Certificate]) -> Vec<String> {
    certs.iter().map(|c| c.officer.as_ref().expect("officer").id.clone()).collect()
}

async fn a_lapsed_annual_review_refuses_acts_from_the_next_day(backend: Backend) {
    let (h, clock) = Harness::start_on(backend, "2026-03-09").await;
    let parent = h.agency(1, "").await;
    let w = h.world(2, &parent.id).await;
    let supervisor = h.principal(pb::Role::Supervisor, &parent.id, "").await;
    let lapsing = register(&h, &w.agency.id, "王五", |r| r.reviewed_on = "2025-03-10".into()).await;
    assert_eq!(lapsing.reviewed_on, "2025-03-10");
    let case = w.open_case(pb::CaseKind::Penalty).await;

    // Due by 2026-03-10: listed as due (within the warning period), still usable on the day.
    let due = list(&supervisor, "", pb::CertificateFilter::ReviewDue).await.unwrap();
    assert_eq!(ids(&due), vec![lapsing.id.clone()], "only the lapsing certificate is due");
    assert_eq!(due[0].review_due, "2026-03-10");
    assert_eq!(due[0].state, pb::CertificateState::Active as i32);
    clock.set(shanghai_morning("2026-03-10"));
    inspect_with(&w, &case.id, &lapsing.id, &clock).await.expect("the due day itself may be used");
    let before = w.events(&case.id).await.len();

    // From the next day every act naming the officer is refused by name, and nothing is stored.
    clock.set(shanghai_morning("2026-03-11"));
    refused(
        inspect_with(&w, &case.id, &lapsing.id, &clock).await,
        Code::FailedPrecondition,
        "C4.annual-review-overdue",
    );
    assert_eq!(w.events(&case.id).await.len(), before, "the refused act is not stored");
    let overdue = list(&supervisor, &w.agency.id, pb::CertificateFilter::ReviewOverdue).await.unwrap();
    assert_eq!(ids(&overdue), vec![lapsing.id.clone()]);
    assert_eq!(overdue[0].state, pb::CertificateState::ReviewOverdue as i32);
    // The refused act is counted for supervisors (C8, S1).
    let items = supervisor
        .publicity
        .clone()
        .list_overdue(pb::ListOverdueRequest { agency_id: w.agency.id.clone() })
        .await
        .unwrap()
        .into_inner()
        .items;
    assert!(
        items.iter().any(|i| i.kind == pb::OverdueKind::InvalidCertificate as i32
            && i.subject_id == lapsing.id
            && i.detail.contains("annual review was due by 2026-03-10")),
        "the refusal is on the supervisor's list: {items:?}"
    );

    // A review passes only with training in the period; then acts resume the same day and the next
    // review is due a year later.
    refused(
        record(&h.admin, &lapsing.id, pb::CertificateEventKind::ReviewPassed, "2026-03-11", 0).await,
        Code::FailedPrecondition,
        "C4.training",
    );
    let trained = record(&h.admin, &lapsing.id, pb::CertificateEventKind::Training, "2025-11-20", 16).await.unwrap();
    assert_eq!(trained.training_hours, 16);
    assert_eq!(trained.state, pb::CertificateState::ReviewOverdue as i32, "training alone does not restore it");
    let reviewed =
        record(&h.admin, &lapsing.id, pb::CertificateEventKind::ReviewPassed, "2026-03-11", 0).await.unwrap();
    assert_eq!(reviewed.state, pb::CertificateState::Active as i32);
    assert_eq!(reviewed.review_due, "2027-03-11");
    assert_eq!(reviewed.training_hours, 0, "the new period has no training yet");
    inspect_with(&w, &case.id, &lapsing.id, &clock).await.expect("reviewed: acts resume");
    assert!(list(&supervisor, &w.agency.id, pb::CertificateFilter::ReviewOverdue).await.unwrap().is_empty());
}

async fn a_failed_review_a_suspension_and_a_cancellation_stop_acts(backend: Backend) {
    let (h, clock) = Harness::start_on(backend, "2026-05-06").await;
    let parent = h.agency(1, "").await;
    let w = h.world(2, &parent.id).await;
    let supervisor = h.principal(pb::Role::Supervisor, &parent.id, "").await;
    let failing = register(&h, &w.agency.id, "王五", |_| {}).await;
    let suspended = register(&h, &w.agency.id, "赵六", |_| {}).await;
    let case = w.open_case(pb::CaseKind::Penalty).await;

    // A failed review: refused until a review passes; a reinstatement does not cure it.
    let c = record(&h.admin, &failing.id, pb::CertificateEventKind::ReviewFailed, "", 0).await.unwrap();
    assert_eq!(c.state, pb::CertificateState::ReviewFailed as i32);
    refused(inspect_with(&w, &case.id, &failing.id, &clock).await, Code::FailedPrecondition, "C4.annual-review-failed");
    refused(
        record(&h.admin, &failing.id, pb::CertificateEventKind::Reinstated, "", 0).await,
        Code::FailedPrecondition,
        "C5.not-suspended",
    );
    // The period's training must follow the last passed review (here: the registration today).
    clock.set(shanghai_morning("2026-05-07"));
    record(&h.admin, &failing.id, pb::CertificateEventKind::Training, "", 4).await.unwrap();
    record(&h.admin, &failing.id, pb::CertificateEventKind::ReviewPassed, "", 0).await.unwrap();
    inspect_with(&w, &case.id, &failing.id, &clock).await.expect("a passed review cures a failed one");

    // A suspension (暂扣) stops acts until reinstated.
    record(&h.admin, &suspended.id, pb::CertificateEventKind::Suspended, "", 0).await.unwrap();
    refused(inspect_with(&w, &case.id, &suspended.id, &clock).await, Code::FailedPrecondition, "C5.certificate-status");
    let listed = list(&supervisor, &w.agency.id, pb::CertificateFilter::Suspended).await.unwrap();
    assert_eq!(ids(&listed), vec![suspended.id.clone()]);
    assert_eq!(listed[0].state, pb::CertificateState::Suspended as i32);
    clock.set(shanghai_morning("2026-05-08"));
    record(&h.admin, &suspended.id, pb::CertificateEventKind::Reinstated, "", 0).await.unwrap();
    inspect_with(&w, &case.id, &suspended.id, &clock).await.expect("reinstated");

    // A cancellation (注销) is terminal: refused for ever, and nothing more may be recorded.
    record(&h.admin, &suspended.id, pb::CertificateEventKind::Cancelled, "", 0).await.unwrap();
    refused(inspect_with(&w, &case.id, &suspended.id, &clock).await, Code::FailedPrecondition, "C5.certificate-status");
    refused(
        record(&h.admin, &suspended.id, pb::CertificateEventKind::Reinstated, "", 0).await,
        Code::FailedPrecondition,
        "C5.terminal",
    );
    let listed = list(&supervisor, &w.agency.id, pb::CertificateFilter::Suspended).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].state, pb::CertificateState::Ended as i32);
    // Nothing is recorded before what is already recorded.
    refused(
        record(&h.admin, &failing.id, pb::CertificateEventKind::Suspended, "2026-05-01", 0).await,
        Code::FailedPrecondition,
        "C5.order",
    );
}

async fn kind_auxiliary_and_eligibility_are_checked_at_every_act(backend: Backend) {
    let (h, clock) = Harness::start_on(backend, "2026-05-06").await;
    let parent = h.agency(1, "").await;
    let w = h.world(2, &parent.id).await;
    let supervisor = h.principal(pb::Role::Supervisor, &parent.id, "").await;
    let monitor = register(&h, &w.agency.id, "监督员", |r| {
        r.certificate_kind = pb::CertificateKind::Supervision as i32;
    })
    .await;
    assert_eq!(monitor.certificate_kind, pb::CertificateKind::Supervision as i32);
    let police = register(&h, &w.agency.id, "民警", |r| r.certificate_kind = pb::CertificateKind::Sector as i32).await;
    let auxiliary = register(&h, &w.agency.id, "协管员", |r| r.auxiliary = true).await;
    let pending = register(&h, &w.agency.id, "新人", |r| r.eligibility_pending = true).await;
    let expiring = register(&h, &w.agency.id, "老人", |r| r.valid_until = "2026-07-31".into()).await;
    let case = w.open_case(pb::CaseKind::Penalty).await;

    refused(inspect_with(&w, &case.id, &monitor.id, &clock).await, Code::FailedPrecondition, "C1.certificate-kind");
    inspect_with(&w, &case.id, &police.id, &clock).await.expect("a sector certificate enforces");
    refused(inspect_with(&w, &case.id, &auxiliary.id, &clock).await, Code::FailedPrecondition, "C3.auxiliary");
    refused(inspect_with(&w, &case.id, &pending.id, &clock).await, Code::FailedPrecondition, "C3.eligibility");
    let listed = list(&supervisor, &w.agency.id, pb::CertificateFilter::Suspended).await.unwrap();
    assert_eq!(ids(&listed), vec![pending.id.clone()]);
    assert_eq!(listed[0].state, pb::CertificateState::PendingEligibility as i32);
    record(&h.admin, &pending.id, pb::CertificateEventKind::EligibilityConfirmed, "", 0).await.unwrap();
    inspect_with(&w, &case.id, &pending.id, &clock).await.expect("eligible now");
    refused(
        record(&h.admin, &pending.id, pb::CertificateEventKind::EligibilityConfirmed, "", 0).await,
        Code::FailedPrecondition,
        "C3.eligibility",
    );

    // The warning period before the end of validity (default 90 days, C6).
    let listed = list(&supervisor, &w.agency.id, pb::CertificateFilter::Expiring).await.unwrap();
    assert_eq!(ids(&listed), vec![expiring.id.clone()]);
    assert!(listed[0].expiring);
    let all = list(&supervisor, &w.agency.id, pb::CertificateFilter::Unspecified).await.unwrap();
    assert_eq!(all.len(), 7, "both officers of the world and the five registered here");
}

async fn certificate_events_are_checked_and_only_administrators_record_them(backend: Backend) {
    let (h, _clock) = Harness::start_on(backend, "2026-05-06").await;
    let parent = h.agency(1, "").await;
    let w = h.world(2, &parent.id).await;
    let other = h.world(3, "").await;
    let o = &w.officers[1].id;
    refused(
        record(&h.admin, o, pb::CertificateEventKind::Training, "", 0).await,
        Code::InvalidArgument,
        "training_hours",
    );
    refused(
        record(&h.admin, o, pb::CertificateEventKind::Suspended, "", 3).await,
        Code::InvalidArgument,
        "training_hours",
    );
    refused(record(&h.admin, o, pb::CertificateEventKind::Unspecified, "", 0).await, Code::InvalidArgument, "kind");
    refused(
        record(&h.admin, o, pb::CertificateEventKind::Suspended, "2026-05-07", 0).await,
        Code::InvalidArgument,
        "effective_on",
    );
    refused(
        record(&h.admin, o, pb::CertificateEventKind::Suspended, "7 May", 0).await,
        Code::InvalidArgument,
        "effective_on",
    );
    refused(
        record(&h.admin, "no-such-officer", pb::CertificateEventKind::Suspended, "", 0).await,
        Code::InvalidArgument,
        "officer_id",
    );
    refused(record(&w.head, o, pb::CertificateEventKind::Suspended, "", 0).await, Code::PermissionDenied, "");
    refused(record(&w.officer, o, pb::CertificateEventKind::Suspended, "", 0).await, Code::PermissionDenied, "");
    // Nothing of the refused requests was stored: the officer still acts.
    let all = list(&h.admin, &w.agency.id, pb::CertificateFilter::Unspecified).await.unwrap();
    assert!(all.iter().all(|c| c.state == pb::CertificateState::Active as i32 && c.training_hours == 0), "{all:?}");
    let mut bad = pb::RegisterOfficerRequest {
        agency_id: w.agency.id.clone(),
        name: "未来".into(),
        certificate_number: "CERT-FUTURE".into(),
        category: "市场监管".into(),
        valid_from: "2020-01-01".into(),
        valid_until: "2035-12-31".into(),
        reviewed_on: "2026-05-07".into(),
        ..Default::default()
    };
    refused(h.admin.registry.clone().register_officer(bad.clone()).await, Code::InvalidArgument, "reviewed_on");
    bad.reviewed_on = String::new();
    bad.certificate_kind = 9;
    refused(h.admin.registry.clone().register_officer(bad).await, Code::InvalidArgument, "certificate_kind");
    // A supervisor sees the agencies it oversees, not others.
    let supervisor = h.principal(pb::Role::Supervisor, &parent.id, "").await;
    assert_eq!(list(&supervisor, "", pb::CertificateFilter::Unspecified).await.unwrap().len(), 2);
    refused(list(&supervisor, &other.agency.id, pb::CertificateFilter::Unspecified).await, Code::PermissionDenied, "");
    refused(list(&w.officer, &w.agency.id, pb::CertificateFilter::Unspecified).await, Code::PermissionDenied, "");
}

/// A replacement (补发) after a loss, asked for with the new card's particulars.
async fn replace(
    c: &Client,
    officer: &str,
    number: &str,
    from: &str,
    until: &str,
) -> Result<pb::Certificate, tonic::Status> {
    c.registry
        .clone()
        .record_certificate_event(pb::RecordCertificateEventRequest {
            officer_id: officer.into(),
            kind: pb::CertificateEventKind::Replaced as i32,
            reason: "遗失补发".into(),
            certificate_number: number.into(),
            valid_from: from.into(),
            valid_until: until.into(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner().certificate.expect("the answer carries the certificate"))
}

async fn a_lost_card_is_replaced_and_the_public_verifies_both_numbers(backend: Backend) {
    let (h, clock) = Harness::start_on(backend, "2026-05-06").await;
    let w = h.world(2, "").await;
    let old = format!("豫A-{}", uuid::Uuid::now_v7().simple());
    let holder = register(&h, &w.agency.id, "王五", |r| {
        r.certificate_number = old.clone();
        r.valid_until = "2026-12-31".into();
    })
    .await;
    let case = w.open_case(pb::CaseKind::Penalty).await;
    let page = |n: &str| format!("/certificates/{}", url_path(n));

    // The card's QR code leads to its page: whose, which agency, valid today.
    let card = http_json(&h, &format!("/v1{}", page(&old))).await;
    assert_eq!(card["holder"], "王五");
    assert_eq!(card["agency_id"], w.agency.id.as_str());
    assert_eq!((card["state"].as_str(), card["usable"].as_bool()), (Some("active"), Some(true)), "{card}");
    assert_eq!(card["valid_until"], "2026-12-31");
    let html = http_text(&h, &page(&old)).await;
    assert!(html.contains("证件有效，可以从事行政执法") && html.contains("王五"), "{html}");
    assert!(
        http_text(&h, &format!("/agencies/{}", w.agency.id)).await.contains(&format!("href=\"{}\"", page(&old))),
        "the roster links each number to its page"
    );
    assert_eq!(http_get(&h, &format!("/v1{}", page("豫A-NO-SUCH-CARD"))).await.status(), 404);
    // … which its QR code names in full; without a configured public address, the address the
    // surface listens on.
    let address = format!("http://{}{}", h.running.http_addr, page(&old));
    assert_eq!(card["url"], address.as_str());
    assert_eq!(scan_qr(&h, &old).await, address);
    assert!(html.contains(&format!("<img src=\"{}/qr.svg\"", page(&old))), "the page shows the code: {html}");
    assert_eq!(http_get(&h, &format!("{}/qr.svg", page("豫A-NO-SUCH-CARD"))).await.status(), 404);

    // Reported lost: the card ends at once, and only its replacement may follow.
    record(&h.admin, &holder.id, pb::CertificateEventKind::LostReported, "", 0).await.unwrap();
    refused(inspect_with(&w, &case.id, &holder.id, &clock).await, Code::FailedPrecondition, "C5.certificate-status");
    let card = http_json(&h, &format!("/v1{}", page(&old))).await;
    assert_eq!((card["state"].as_str(), card["usable"].as_bool()), (Some("ended"), Some(false)), "{card}");
    refused(
        record(&h.admin, &holder.id, pb::CertificateEventKind::Training, "", 4).await,
        Code::FailedPrecondition,
        "C5.terminal",
    );

    // The new card's particulars are checked, and nothing is stored when they are wrong.
    let new = format!("豫A-{}", uuid::Uuid::now_v7().simple());
    refused(
        replace(&h.admin, &holder.id, "", "2026-05-07", "2031-05-06").await,
        Code::InvalidArgument,
        "certificate_number",
    );
    refused(
        replace(&h.admin, &holder.id, &old, "2026-05-07", "2031-05-06").await,
        Code::InvalidArgument,
        "certificate_number",
    );
    refused(
        replace(&h.admin, &holder.id, &w.officers[1].certificate_number, "2026-05-07", "2031-05-06").await,
        Code::InvalidArgument,
        "certificate_number",
    );
    refused(
        replace(&h.admin, &holder.id, &new, "2026-05-07", "2026-05-01").await,
        Code::InvalidArgument,
        "valid_until",
    );
    refused(
        h.admin
            .registry
            .clone()
            .record_certificate_event(pb::RecordCertificateEventRequest {
                officer_id: holder.id.clone(),
                kind: pb::CertificateEventKind::Suspended as i32,
                reason: "暂扣".into(),
                certificate_number: new.clone(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        "certificate_number",
    );

    // Replaced the next day: the same officer acts again under the new card.
    clock.set(shanghai_morning("2026-05-07"));
    let c = replace(&h.admin, &holder.id, &new, "2026-05-07", "2031-05-06").await.unwrap();
    assert_eq!(c.state, pb::CertificateState::Active as i32);
    let officer = c.officer.expect("officer");
    assert_eq!((officer.id.as_str(), officer.certificate_number.as_str()), (holder.id.as_str(), new.as_str()));
    assert_eq!(officer.valid_until, "2031-05-06");
    inspect_with(&w, &case.id, &holder.id, &clock).await.expect("the replacement restores the officer");

    // The old number now says it was replaced, and by which card; the new one is valid.
    let card = http_json(&h, &format!("/v1{}", page(&old))).await;
    assert_eq!(card["state"], "replaced", "{card}");
    assert_eq!(card["usable"], false);
    assert_eq!((card["replaced_on"].as_str(), card["replaced_by"].as_str()), (Some("2026-05-07"), Some(new.as_str())));
    assert_eq!(card["valid_until"], "2026-12-31", "the old card's own dates");
    assert!(http_text(&h, &page(&old)).await.contains("本证已换发新证"));
    let card = http_json(&h, &format!("/v1{}", page(&new))).await;
    assert_eq!((card["state"].as_str(), card["usable"].as_bool()), (Some("active"), Some(true)), "{card}");

    // No other card may take either number.
    let taken = h
        .admin
        .registry
        .clone()
        .register_officer(pb::RegisterOfficerRequest {
            agency_id: w.agency.id.clone(),
            name: "李四".into(),
            certificate_number: old.clone(),
            category: "市场监管".into(),
            valid_from: "2026-01-01".into(),
            valid_until: "2030-12-31".into(),
            ..Default::default()
        })
        .await;
    refused(taken, Code::AlreadyExists, "replaced");
}

/// What a phone reads from the QR code of card `number`: the SVG served for it, drawn module by
/// module and decoded by a decoder independent of the encoder.
async fn scan_qr(h: &Harness, number: &str) -> String {
    let r = http_get(h, &format!("/certificates/{}/qr.svg", url_path(number))).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/svg+xml");
    let svg = r.text().await.expect("svg");
    let attr = |name: &str| -> usize {
        let at = svg.find(&format!(" {name}=\"")).expect(name) + name.len() + 3;
        svg[at..].split('"').next().expect(name).parse().expect(name)
    };
    let (w, h) = (attr("width"), attr("height"));
    let mut dark = vec![false; w * h];
    // Each dark run is `M{left} {top}h{width}v{height}H{left}V{top}`.
    let path = svg.split(" d=\"").nth(1).expect("the path of dark modules").split('"').next().expect("path");
    for run in path.split('M').filter(|r| !r.is_empty()) {
        let n: Vec<usize> =
            run.split(|c: char| !c.is_ascii_digit()).filter(|p| !p.is_empty()).map(|p| p.parse().unwrap()).collect();
        let (left, top, width, height) = (n[0], n[1], n[2], n[3]);
        for y in top..top + height {
            for x in left..left + width {
                dark[y * w + x] = true;
            }
        }
    }
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| if dark[y * w + x] { 0 } else { 255 });
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the image");
    grids[0].decode().expect("the code decodes").1
}

async fn the_card_qr_code_leads_to_its_page_at_the_configured_public_address(backend: Backend) {
    let clock = std::sync::Arc::new(sanxiang_domain::TestClock::new(shanghai_morning("2026-05-06")));
    let public = sanxiang_publicity::http::PublicUrl::parse("https://gs.example.gov.cn/gongshi/").unwrap();
    let h = Harness::start_with(backend, clock, |c| c.public_url = Some(public)).await;
    let w = h.world(2, "").await;
    let number = format!("豫A-{}", uuid::Uuid::now_v7().simple());
    register(&h, &w.agency.id, "赵六", |r| r.certificate_number = number.clone()).await;
    let address = format!("https://gs.example.gov.cn/gongshi/certificates/{}", url_path(&number));
    assert_eq!(scan_qr(&h, &number).await, address);
    assert_eq!(http_json(&h, &format!("/v1/certificates/{}", url_path(&number))).await["url"], address.as_str());
    // Another card's code names its own page.
    let other = &w.officers[0].certificate_number;
    assert_eq!(scan_qr(&h, other).await, format!("https://gs.example.gov.cn/gongshi/certificates/{}", url_path(other)));
}

/// `s` as one percent-encoded path segment.
fn url_path(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b == b'-' { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

async fn acts_record_the_certificates_shown_and_those_without_are_listed(backend: Backend) {
    let (h, clock) = Harness::start_on(backend, "2026-05-06").await;
    let parent = h.agency(1, "").await;
    let w = h.world(2, &parent.id).await;
    let supervisor = h.principal(pb::Role::Supervisor, &parent.id, "").await;
    let case = w.open_case(pb::CaseKind::Penalty).await;
    let now = || sanxiang_domain::TimeProvider::now(clock.as_ref());
    let append = |r: pb::AppendEventRequest| {
        let mut record = w.officer.record.clone();
        async move { record.append_event(r).await.map(|r| r.into_inner().event.expect("event")) }
    };
    let not_shown = || async {
        let items = supervisor
            .publicity
            .clone()
            .list_overdue(pb::ListOverdueRequest { agency_id: w.agency.id.clone() })
            .await
            .unwrap()
            .into_inner()
            .items;
        items
            .into_iter()
            .filter(|i| i.kind == pb::OverdueKind::CertificateNotShown as i32)
            .map(|i| i.subject_id)
            .collect::<Vec<_>>()
    };

    // Shown at the act: the event records the numbers of the cards shown.
    let shown = append(pb::AppendEventRequest { certificates_shown: true, ..w.event(&case.id, K::Inspection, now()) })
        .await
        .unwrap();
    let numbers: Vec<&str> = w.officers.iter().map(|o| o.certificate_number.as_str()).collect();
    let payload: serde_json::Value = serde_json::from_str(&shown.payload_json).unwrap();
    assert_eq!(payload["certificates_shown"], serde_json::json!(numbers), "{payload}");
    assert!(not_shown().await.is_empty());

    // Not recorded: the act is stored, and listed for the supervisor (RULES P2, C7).
    clock.advance_seconds(60);
    let bare = append(w.event(&case.id, K::Questioning, now())).await.unwrap();
    assert_eq!(not_shown().await, vec![format!("{}:{}", case.id, bare.case_seq)]);

    // A certificate_shown act of both officers earlier that day covers the acts after it.
    clock.advance_seconds(60);
    append(w.event(&case.id, K::CertificateShown, now())).await.unwrap();
    clock.advance_seconds(60);
    append(w.event(&case.id, K::EvidenceCollection, now())).await.unwrap();
    assert_eq!(not_shown().await.len(), 1, "only the questioning before the showing is listed");
    // The next day it does not.
    clock.set(shanghai_morning("2026-05-07"));
    let next_day = append(w.event(&case.id, K::Inspection, now())).await.unwrap();
    assert_eq!(
        not_shown().await,
        vec![format!("{}:{}", case.id, bare.case_seq), format!("{}:{}", case.id, next_day.case_seq)]
    );

    // An act without officers shows no certificate, and nothing is stored.
    let before = w.events(&case.id).await.len();
    refused(
        append(pb::AppendEventRequest {
            certificates_shown: true,
            officer_ids: vec![],
            ..w.event(&case.id, K::Note, now())
        })
        .await,
        Code::InvalidArgument,
        "certificates_shown",
    );
    assert_eq!(w.events(&case.id).await.len(), before);
}

async fn a_certificate_covers_its_field_and_area_only(backend: Backend) {
    let (h, clock) = Harness::start_on(backend, "2026-05-06").await;
    let power = |name: &str, category: &str| pb::Power {
        name: name.into(),
        category: category.into(),
        legal_basis: "《中华人民共和国食品安全法》第一百二十四条".into(),
    };
    let agency = h
        .admin
        .registry
        .clone()
        .create_agency(pb::CreateAgencyRequest {
            name: "郑州市金水区综合执法局".into(),
            credit_code: credit_code(8801),
            region: "河南省郑州市金水区".into(),
            powers: vec![power("对生产经营超过保质期食品的处罚", "市场监管"), power("对占道经营的处罚", "城市管理")],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .agency
        .unwrap();
    // Two market-supervision officers; the second's certificate covers one district only, given
    // by its division code (410105, 郑州市金水区).
    let o1 = register(&h, &agency.id, "王五", |_| {}).await;
    let o2 = register(&h, &agency.id, "赵六", |r| r.area = "410105".into()).await;
    assert_eq!(o2.area, "410105");
    let w = World {
        officer: h.principal(pb::Role::Officer, &agency.id, &o1.id).await,
        head: h.principal(pb::Role::Head, &agency.id, "").await,
        publisher: h.principal(pb::Role::Publisher, &agency.id, "").await,
        agency,
        officers: vec![o1, o2],
    };
    let case = w.open_case(pb::CaseKind::Penalty).await;
    let act = |power: &str, location: &str| {
        // The place's division: 金水区 (410105) or 二七区 (410103), by the address.
        let division_code = match location {
            "" => "",
            l if l.contains("金水区") => "410105",
            _ => "410103",
        };
        let r = pb::AppendEventRequest {
            power: power.into(),
            location: location.into(),
            division_code: division_code.into(),
            ..w.event(&case.id, K::Inspection, sanxiang_domain::TimeProvider::now(clock.as_ref()))
        };
        let mut record = w.officer.record.clone();
        async move { record.append_event(r).await.map(|r| r.into_inner().event.expect("event")) }
    };

    // A power of their field, in the district: recorded, with the power in the payload.
    let e = act("对生产经营超过保质期食品的处罚", "郑州市金水区花园路 8 号").await.unwrap();
    assert!(e.payload_json.contains(r#""power":"对生产经营超过保质期食品的处罚""#), "{}", e.payload_json);
    // Another field's power: refused by name for the first officer, nothing stored.
    let before = w.events(&case.id).await.len();
    refused(act("对占道经营的处罚", "").await, Code::FailedPrecondition, "C8.field");
    // Outside the second officer's district.
    refused(act("", "郑州市二七区大学路 2 号").await, Code::FailedPrecondition, "C8.area");
    // A power the agency does not have.
    refused(act("对无证驾驶的处罚", "").await, Code::InvalidArgument, "power");
    assert_eq!(w.events(&case.id).await.len(), before, "nothing refused is stored");

    // A decision names the power it is made under and is checked the same way.
    w.ready_for_decision(&case.id, sanxiang_domain::TimeProvider::now(clock.as_ref())).await;
    let draft = w.submit_draft(&case.id, false).await;
    let issue = |power: &str| {
        let r = pb::IssueDecisionRequest {
            request_id: uuid::Uuid::now_v7().to_string(),
            draft_id: draft.id.clone(),
            officer_ids: w.both(),
            power: power.into(),
            ..Default::default()
        };
        let mut review = w.head.review.clone();
        async move { review.issue_decision(r).await.map(tonic::Response::into_inner) }
    };
    let before = w.events(&case.id).await.len();
    refused(issue("对占道经营的处罚").await, Code::FailedPrecondition, "C8.field");
    refused(issue("对无证驾驶的处罚").await, Code::InvalidArgument, "power");
    assert_eq!(w.events(&case.id).await.len(), before, "nothing refused is stored");
    let decided = issue("对生产经营超过保质期食品的处罚").await.unwrap().event.expect("event");
    assert!(decided.payload_json.contains(r#""power":"对生产经营超过保质期食品的处罚""#), "{}", decided.payload_json);
}

async fn an_act_naming_no_power_is_judged_by_the_agencys_fields_and_areas_by_division_code(backend: Backend) {
    let (h, clock) = Harness::start_on(backend, "2026-05-06").await;
    let now = || sanxiang_domain::TimeProvider::now(clock.as_ref());
    let agency_with = |n: u32, categories: &[&str]| {
        let powers = categories
            .iter()
            .map(|c| pb::Power {
                name: format!("{c}类处罚"),
                category: (*c).into(),
                legal_basis: "《中华人民共和国行政处罚法》".into(),
            })
            .collect();
        let mut registry = h.admin.registry.clone();
        async move {
            registry
                .create_agency(pb::CreateAgencyRequest {
                    name: format!("郑州市执法局{n}"),
                    credit_code: credit_code(n),
                    region: "河南省郑州市".into(),
                    powers,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .agency
                .unwrap()
        }
    };
    let world = |agency: pb::Agency, o1: pb::Officer, o2: pb::Officer| {
        let h = &h;
        async move {
            World {
                officer: h.principal(pb::Role::Officer, &agency.id, &o1.id).await,
                head: h.principal(pb::Role::Head, &agency.id, "").await,
                publisher: h.principal(pb::Role::Publisher, &agency.id, "").await,
                agency,
                officers: vec![o1, o2],
            }
        }
    };

    // An agency whose powers are all of urban management: market-supervision certificates cover
    // none of them, so an act naming no power is refused by field all the same.
    let urban = agency_with(8811, &["城市管理"]).await;
    let o1 = register(&h, &urban.id, "王五", |_| {}).await;
    let o2 = register(&h, &urban.id, "赵六", |_| {}).await;
    let w = world(urban, o1, o2).await;
    let case = w.open_case(pb::CaseKind::Penalty).await;
    let before = w.events(&case.id).await.len();
    refused(
        w.officer.record.clone().append_event(w.event(&case.id, K::Inspection, now())).await,
        Code::FailedPrecondition,
        "C8.field",
    );
    assert_eq!(w.events(&case.id).await.len(), before, "nothing refused is stored");

    // An agency with both fields: the certificate covers one of them, so the act stands.
    let mixed = agency_with(8812, &["城市管理", "市场监管"]).await;
    // Areas are division codes: words are refused at registration.
    let mut words = h.admin.registry.clone();
    refused(
        words
            .register_officer(pb::RegisterOfficerRequest {
                agency_id: mixed.id.clone(),
                name: "钱七".into(),
                certificate_number: format!("CERT-{}", uuid::Uuid::now_v7().simple()),
                category: "市场监管".into(),
                valid_from: "2020-01-01".into(),
                valid_until: "2035-12-31".into(),
                area: "郑州市金水区".into(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        "area",
    );
    // The first officer's certificate covers the whole city of Zhengzhou (410100).
    let o1 = register(&h, &mixed.id, "王五", |r| r.area = "410100".into()).await;
    let o2 = register(&h, &mixed.id, "赵六", |_| {}).await;
    let w = world(mixed, o1, o2).await;
    let case = w.open_case(pb::CaseKind::Penalty).await;
    let act = |location: &str, division: &str| {
        let r = pb::AppendEventRequest {
            location: location.into(),
            division_code: division.into(),
            ..w.event(&case.id, K::Inspection, now())
        };
        let mut record = w.officer.record.clone();
        async move { record.append_event(r).await.map(|r| r.into_inner().event.expect("event")) }
    };
    // A district of the city (金水区, 410105): covered, the code in the payload.
    let e = act("金水区花园路 8 号", "410105").await.unwrap();
    assert!(e.payload_json.contains(r#""division_code":"410105""#), "{}", e.payload_json);
    // A village of a district of the city: covered.
    act("二七区某村", "410103101201").await.unwrap();
    let before = w.events(&case.id).await.len();
    // 开封 (410200): outside, however the address reads.
    refused(act("郑州路 1 号", "410202").await, Code::FailedPrecondition, "C8.area");
    // A place without its code cannot be judged by code.
    refused(act("郑州市金水区花园路 8 号", "").await, Code::FailedPrecondition, "C8.area");
    refused(act("金水区", "41010").await, Code::InvalidArgument, "division_code");
    assert_eq!(w.events(&case.id).await.len(), before, "nothing refused is stored");
    // No place recorded: nothing to cover.
    act("", "").await.unwrap();
}
