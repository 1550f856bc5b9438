//! Enforcement statistics (RULES N1–N4) over gRPC and the public HTTP surface, on every database
//! backend: the penalty, licensing and compulsory-measure tables computed from the record for one
//! agency and for a supervisor's whole agency tree (whose total is the sum of its agencies'), the
//! N2 rule that a decision counts once under its most severe penalty, periods in the agency's
//! calendar, CSV, the public annual report carrying the same tables, and who may ask.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use sanxiang_domain::{TestClock, Timestamp};
use sanxiang_proto::v1 as pb;
use sanxiang_proto::v1::EventKind as K;
use sanxiang_tests::{
    Backend, Client, Harness, World, backend_tests, http_get, http_json, penalty_draft, refused, shanghai_morning,
};
use tonic::Code;

backend_tests!(
    a_supervisors_tables_are_the_sum_of_its_agencies_and_count_each_decision_once,
    revoked_decisions_leave_the_tables_when_so_configured,
    published_figures_are_frozen_and_corrected_as_new_versions,
    the_annual_due_date_is_configured,
);

fn rid() -> String {
    uuid::Uuid::now_v7().to_string()
}

async fn stats(
    c: &Client,
    agency: &str,
    from: &str,
    to: &str,
    csv: bool,
) -> Result<pb::GetStatisticsResponse, tonic::Status> {
    c.publicity
        .clone()
        .get_statistics(pb::GetStatisticsRequest {
            agency_id: agency.into(),
            from_date: from.into(),
            to_date: to.into(),
            include_csv: csv,
        })
        .await
        .map(tonic::Response::into_inner)
}

/// Every figure of a set of tables by name (`penalty.fine.decisions`, `licensing.granted`, ...),
/// so tables can be added up and compared whole.
fn figures(t: &pb::StatisticsTables) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    let p = t.penalty.as_ref().expect("penalty table");
    for r in &p.rows {
        m.insert(format!("penalty.{}.decisions", r.category), r.decisions);
        m.insert(format!("penalty.{}.amount_fen", r.category), r.amount_fen);
    }
    m.insert("penalty.decisions".into(), p.decisions);
    m.insert("penalty.amount_fen".into(), p.amount_fen);
    m.insert("penalty.fine_fen".into(), p.fine_fen);
    m.insert("penalty.confiscation_fen".into(), p.confiscation_fen);
    m.insert("penalty.no_penalty_decisions".into(), p.no_penalty_decisions);
    let l = t.licensing.as_ref().expect("licensing table");
    for (k, v) in [
        ("received", l.received),
        ("accepted", l.accepted),
        ("granted", l.granted),
        ("refused", l.refused),
        ("revoked", l.revoked),
        ("cancelled", l.cancelled),
        ("unclassified", l.unclassified),
    ] {
        m.insert(format!("licensing.{k}"), v);
    }
    let c = t.compulsion.as_ref().expect("compulsion table");
    for (k, v) in [
        ("sealing", c.sealing),
        ("seizure", c.seizure),
        ("sealing_or_seizure", c.sealing_or_seizure),
        ("freezing", c.freezing),
        ("other_measures", c.other_measures),
        ("late_payment", c.late_payment),
        ("transfer", c.transfer),
        ("auction", c.auction),
        ("restoration", c.restoration),
        ("substitute", c.substitute),
        ("other_executions", c.other_executions),
        ("court_applications", c.court_applications),
    ] {
        m.insert(format!("compulsion.{k}"), v);
    }
    let i = t.inspection.as_ref().expect("inspection table");
    for (k, v) in [("routine", i.routine), ("special", i.special), ("random", i.random), ("unspecified", i.unspecified)]
    {
        m.insert(format!("inspection.{k}"), v);
    }
    m
}

fn sum(all: &[BTreeMap<String, u64>]) -> BTreeMap<String, u64> {
    let mut out: BTreeMap<String, u64> = BTreeMap::new();
    for m in all {
        for (k, v) in m {
            *out.entry(k.clone()).or_default() += v;
        }
    }
    out
}

/// The figures that are not zero.
fn nonzero(m: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    m.iter().filter(|(_, v)| **v != 0).map(|(k, v)| (k.clone(), *v)).collect()
}

fn map(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

fn tables(r: &pb::GetStatisticsResponse) -> &pb::StatisticsTables {
    r.total.as_ref().expect("the total")
}

fn penalty_row<'a>(t: &'a pb::StatisticsTables, category: &str) -> &'a pb::PenaltyRow {
    t.penalty.as_ref().unwrap().rows.iter().find(|r| r.category == category).expect("every row is listed")
}

/// Issues a penalty decision with `penalties` (type, fen) and `confiscation_fen` in a new case.
async fn penalty(w: &World, penalties: &[(&str, u64)], confiscation_fen: u64, now: Timestamp) -> pb::Case {
    let c = w.open_case(pb::CaseKind::Penalty).await;
    w.ready_for_decision(&c.id, now).await;
    let mut draft = penalty_draft(&c.id, penalties);
    draft.confiscation_fen = confiscation_fen;
    let d = w.submit(draft).await;
    w.issue(&d.id).await.expect("issue");
    c
}

/// A licensing case received, filed (accepted) and decided with `action`.
async fn licensing(w: &World, action: &str, now: Timestamp) {
    let c = w.open_case(pb::CaseKind::Licensing).await;
    w.append(&c.id, K::Filing, now).await;
    let d = w
        .submit(pb::SubmitDraftRequest {
            request_id: rid(),
            case_id: c.id.clone(),
            legal_basis: "《中华人民共和国行政许可法》第三十八条".into(),
            facts: "申请材料齐全".into(),
            licensing_action: action.into(),
            ..Default::default()
        })
        .await;
    w.issue(&d.id).await.expect("issue");
}

/// Appends `kind` with `details`, recording why there is no recording (seizure and demolition
/// need one), or with a service method for service.
async fn act(w: &World, case_id: &str, kind: K, details: &[(&str, &str)], now: Timestamp) {
    let mut r = w.event(case_id, kind, now);
    r.details = details.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<HashMap<_, _>>();
    r.missing_recording_reason = "执法记录仪故障".into();
    if kind == K::Service {
        r.service_method = pb::ServiceMethod::Direct as i32;
    }
    w.officer.record.clone().append_event(r).await.expect("append");
}

async fn a_supervisors_tables_are_the_sum_of_its_agencies_and_count_each_decision_once(backend: Backend) {
    let clock = Arc::new(TestClock::new(shanghai_morning("2026-06-01")));
    let h = Harness::start_with(backend, clock.clone(), |_| {}).await;
    // A city's supervision office over three agencies; a fourth agency elsewhere.
    let city = h.agency(10, "").await;
    let supervisor = h.principal(pb::Role::Supervisor, &city.id, "").await;
    let a = h.world(11, &city.id).await;
    let b = h.world(12, &city.id).await;
    let c = h.world(13, &city.id).await;
    let elsewhere = h.world(14, "").await;
    let now = h.now();

    // A: a fine with a warning (one decision, counted under 罚款), a warning alone, a licence
    // granted, a sealing (查封) in a compulsion case.
    penalty(&a, &[("警告", 0), ("罚款", 500_000)], 0, now).await;
    penalty(&a, &[("警告", 0)], 0, now).await;
    licensing(&a, "准予许可", now).await;
    let measure = a.open_case(pb::CaseKind::Compulsion).await;
    act(&a, &measure.id, K::Seizure, &[("measure", "查封")], now).await;
    // B: a licence revoked with a fine and confiscated gains (under 吊销许可证件, with the whole
    // amount), a refused licence, a fine executed by 加处罚款 after service, and an application
    // to the court.
    let revoking = penalty(&b, &[("罚款", 1_000_000), ("没收违法所得", 0), ("吊销许可证件", 0)], 300_000, now).await;
    licensing(&b, "不予许可", now).await;
    act(&b, &revoking.id, K::Service, &[], now).await;
    act(&b, &revoking.id, K::Execution, &[("method", "加处罚款")], now).await;
    act(&b, &revoking.id, K::Execution, &[("method", "court_application")], now).await;
    // An execution that names no method: the party paid; nothing was enforced.
    act(&b, &revoking.id, K::Execution, &[], now).await;
    // C: a fine later revoked (still counted: the default), a seizure that does not say which
    // measure, a forced demolition, and a licensing application received but not yet accepted.
    let later_revoked = penalty(&c, &[("罚款", 20_000)], 0, now).await;
    c.head
        .review
        .clone()
        .revise_decision(pb::ReviseDecisionRequest {
            request_id: rid(),
            case_id: later_revoked.id.clone(),
            revision: pb::Revision::Revocation as i32,
            reason: "行政复议决定撤销".into(),
            basis: String::new(),
            occurred_at: None,
        })
        .await
        .expect("revise");
    let site = c.open_case(pb::CaseKind::Compulsion).await;
    act(&c, &site.id, K::Seizure, &[], now).await;
    act(&c, &site.id, K::ForcedDemolition, &[], now).await;
    c.open_case(pb::CaseKind::Licensing).await;
    // Elsewhere: not the supervisor's.
    penalty(&elsewhere, &[("罚款", 9_900)], 0, now).await;

    let year = ("2026-01-01", "2026-12-31");
    let of = |w: &World| w.agency.id.clone();
    let mut each = Vec::new();
    for w in [&a, &b, &c] {
        let r = stats(&supervisor, &of(w), year.0, year.1, false).await.unwrap();
        assert_eq!(r.agencies.len(), 1);
        assert_eq!(r.agencies[0].agency_id, of(w));
        assert_eq!(r.agencies[0].tables, r.total, "one agency: its tables are the total");
        each.push(figures(tables(&r)));
    }

    // N2: the fine with a warning is one decision, under 罚款 only; the warning alone is under 警告.
    let fig_a = &each[0];
    assert_eq!(
        nonzero(fig_a),
        map(&[
            ("penalty.fine.decisions", 1),
            ("penalty.fine.amount_fen", 500_000),
            ("penalty.warning.decisions", 1),
            ("penalty.decisions", 2),
            ("penalty.amount_fen", 500_000),
            ("penalty.fine_fen", 500_000),
            ("licensing.received", 1),
            ("licensing.accepted", 1),
            ("licensing.granted", 1),
            ("compulsion.sealing", 1),
        ])
    );
    assert_eq!(
        nonzero(&each[1]),
        map(&[
            ("penalty.revoke_licence.decisions", 1),
            ("penalty.revoke_licence.amount_fen", 1_300_000),
            ("penalty.decisions", 1),
            ("penalty.amount_fen", 1_300_000),
            ("penalty.fine_fen", 1_000_000),
            ("penalty.confiscation_fen", 300_000),
            ("licensing.received", 1),
            ("licensing.accepted", 1),
            ("licensing.refused", 1),
            ("compulsion.late_payment", 1),
            ("compulsion.court_applications", 1),
        ])
    );
    assert_eq!(
        nonzero(&each[2]),
        map(&[
            ("penalty.fine.decisions", 1),
            ("penalty.fine.amount_fen", 20_000),
            ("penalty.decisions", 1),
            ("penalty.amount_fen", 20_000),
            ("penalty.fine_fen", 20_000),
            ("licensing.received", 1),
            ("compulsion.sealing_or_seizure", 1),
            ("compulsion.restoration", 1),
        ])
    );

    // The supervisor's whole tree (its own office and the three agencies): the total is the sum
    // of the agencies' tables, each agency's entry is what it is alone, and the agency elsewhere
    // is not in it.
    let tree = stats(&supervisor, "", year.0, year.1, true).await.unwrap();
    let ids: Vec<&str> = tree.agencies.iter().map(|x| x.agency_id.as_str()).collect();
    let mut sorted_ids = ids.clone();
    sorted_ids.sort_unstable();
    let mut expected = vec![city.id.as_str(), a.agency.id.as_str(), b.agency.id.as_str(), c.agency.id.as_str()];
    expected.sort_unstable();
    assert_eq!(sorted_ids, expected);
    assert_eq!(figures(tables(&tree)), sum(&each));
    for (w, fig) in [&a, &b, &c].into_iter().zip(&each) {
        let entry = tree.agencies.iter().find(|x| x.agency_id == of(w)).unwrap();
        assert_eq!(&figures(entry.tables.as_ref().unwrap()), fig);
        assert_eq!(entry.agency_name, w.agency.name);
    }
    let total = tables(&tree);
    assert_eq!(total.penalty.as_ref().unwrap().decisions, 4);
    assert_eq!(penalty_row(total, "fine").decisions, 2);
    // Amounts in the configured unit (万元 by default), exactly.
    assert_eq!(tree.amount_unit, "wan_yuan");
    assert_eq!(total.penalty.as_ref().unwrap().amount, "1.8200");
    assert_eq!(penalty_row(total, "revoke_licence").amount, "1.3000");
    assert!(tree.revoked_counted);
    assert!(tree.provisional, "2026 has not ended on 1 June");
    assert_eq!((tree.from_date.as_str(), tree.to_date.as_str()), year);

    // The CSV says the same: one row per figure, the agencies then their total (合计).
    let csv = String::from_utf8(tree.csv.to_vec()).expect("utf-8");
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines[0], "agency_id,agency_name,from_date,to_date,table,item,heading,count,amount_fen,amount_wan_yuan");
    let per_block = 12 + 2 + 7 + 12 + 4;
    assert_eq!(lines.len(), 1 + per_block * 5, "four agencies and the total");
    assert!(lines.contains(&",合计,2026-01-01,2026-12-31,penalty,fine,罚款,2,520000,0.5200"), "{csv}");
    assert!(lines.contains(&",合计,2026-01-01,2026-12-31,penalty,total,合计,4,1820000,1.8200"), "{csv}");
    let a_row = format!("{},{},2026-01-01,2026-12-31,penalty,warning,警告,1,0,0.0000", a.agency.id, a.agency.name);
    assert!(lines.contains(&a_row.as_str()), "{csv}");
    assert!(stats(&supervisor, "", year.0, year.1, false).await.unwrap().csv.is_empty(), "CSV only when asked");

    // Periods are local dates, inclusive: nothing happened after 1 June, or before it.
    let after = stats(&supervisor, "", "2026-06-02", "2026-12-31", false).await.unwrap();
    assert!(nonzero(&figures(tables(&after))).is_empty());
    let before = stats(&supervisor, "", "2026-01-01", "2026-05-31", false).await.unwrap();
    assert!(nonzero(&figures(tables(&before))).is_empty());
    assert!(!before.provisional, "a period that has ended");
    let day = stats(&supervisor, "", "2026-06-01", "2026-06-01", false).await.unwrap();
    assert_eq!(figures(tables(&day)), figures(total));

    // Who may ask: the supervisor in its tree, an administrator anywhere; nobody else.
    refused(stats(&supervisor, &of(&elsewhere), year.0, year.1, false).await, Code::PermissionDenied, "supervisor");
    refused(stats(&a.head, &of(&a), year.0, year.1, false).await, Code::PermissionDenied, "head");
    refused(stats(&a.officer, "", year.0, year.1, false).await, Code::PermissionDenied, "officer");
    refused(stats(&h.client(None), &of(&a), year.0, year.1, false).await, Code::Unauthenticated, "token");
    let everyone = stats(&h.admin, "", year.0, year.1, false).await.unwrap();
    assert_eq!(everyone.agencies.len(), 5);
    assert_eq!(tables(&everyone).penalty.as_ref().unwrap().decisions, 5);
    // Bad periods name the field.
    refused(stats(&supervisor, "", "", year.1, false).await, Code::InvalidArgument, "from_date");
    refused(stats(&supervisor, "", "2026-13-01", year.1, false).await, Code::InvalidArgument, "from_date");
    refused(stats(&supervisor, "", year.0, "31/12/2026", false).await, Code::InvalidArgument, "to_date");
    refused(stats(&supervisor, "", "2026-07-01", "2026-06-30", false).await, Code::InvalidArgument, "to_date");
    refused(stats(&supervisor, "bad id!", year.0, year.1, false).await, Code::InvalidArgument, "agency_id");

    // After the year, the public annual report carries the same tables (N1), as JSON over
    // gRPC and HTTP and as CSV.
    clock.set(shanghai_morning("2027-01-05"));
    let public = h.client(None);
    let annual = public
        .publicity
        .clone()
        .get_annual_report(pb::GetAnnualReportRequest { agency_id: of(&b), year: 2026, version: 0 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(figures(annual.tables.as_ref().unwrap()), each[1]);
    assert_eq!(annual.amount_unit, "wan_yuan");
    let finished = stats(&supervisor, &of(&b), year.0, year.1, false).await.unwrap();
    assert!(!finished.provisional);
    assert_eq!(finished.total, annual.tables);
    let json = http_json(&h, &format!("/v1/annual/{}/2026", of(&b))).await;
    assert_eq!(json["tables"]["penalty"]["decisions"], 1);
    assert_eq!(json["tables"]["penalty"]["amount"], "1.3000");
    assert_eq!(json["tables"]["licensing"]["refused"], 1);
    assert_eq!(json["tables"]["compulsion"]["court_applications"], 1);
    let r = http_get(&h, &format!("/v1/annual/{}/2026/tables.csv", of(&b))).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let body = r.text().await.unwrap();
    let row = format!(
        "{},{},2026-01-01,2026-12-31,penalty,revoke_licence,吊销许可证件,1,1300000,1.3000",
        b.agency.id, b.agency.name
    );
    assert!(body.split("\r\n").any(|l| l == row), "{body}");
    assert_eq!(body.split("\r\n").filter(|l| !l.is_empty()).count(), 1 + per_block, "one agency, no total");
    assert_eq!(http_get(&h, &format!("/v1/annual/{}/2027/tables.csv", of(&b))).await.status(), 409);
    h.running.stop().await.unwrap();
}

async fn revoked_decisions_leave_the_tables_when_so_configured(backend: Backend) {
    let clock = Arc::new(TestClock::new(shanghai_morning("2026-06-01")));
    let h = Harness::start_with(backend, clock, |config| {
        config.stats_count_revoked = false;
        config.stats_amount_unit = sanxiang_domain::statistics::AmountUnit::Yuan;
    })
    .await;
    let w = h.world(1, "").await;
    let now = h.now();
    let kept = penalty(&w, &[("罚款", 20_050)], 0, now).await;
    let gone = penalty(&w, &[("罚款", 30_000), ("警告", 0)], 0, now).await;
    for (case, revision) in [(&kept, pb::Revision::Change), (&gone, pb::Revision::Revocation)] {
        w.head
            .review
            .clone()
            .revise_decision(pb::ReviseDecisionRequest {
                request_id: rid(),
                case_id: case.id.clone(),
                revision: revision as i32,
                reason: "复议".into(),
                basis: String::new(),
                occurred_at: None,
            })
            .await
            .expect("revise");
    }
    let r = stats(&h.admin, &w.agency.id, "2026-01-01", "2026-12-31", false).await.unwrap();
    assert!(!r.revoked_counted);
    assert_eq!(r.amount_unit, "yuan");
    // The revoked decision is gone; the changed one stays.
    let t = tables(&r);
    assert_eq!(t.penalty.as_ref().unwrap().decisions, 1);
    assert_eq!(penalty_row(t, "fine").amount, "200.50");
    h.running.stop().await.unwrap();
}

async fn annual(
    c: &Client,
    agency: &str,
    year: i32,
    version: u32,
) -> Result<pb::GetAnnualReportResponse, tonic::Status> {
    c.publicity
        .clone()
        .get_annual_report(pb::GetAnnualReportRequest { agency_id: agency.into(), year, version })
        .await
        .map(tonic::Response::into_inner)
}

fn publish_request(agency: &str, year: i32, reason: &str) -> pb::PublishAnnualReportRequest {
    pb::PublishAnnualReportRequest { request_id: rid(), agency_id: agency.into(), year, reason: reason.into() }
}

async fn publish(c: &Client, r: pb::PublishAnnualReportRequest) -> Result<pb::GetAnnualReportResponse, tonic::Status> {
    c.publicity
        .clone()
        .publish_annual_report(r)
        .await
        .map(|r| r.into_inner().report.expect("the answer carries the figures"))
}

/// The annual-figures items (RULES N1) of a supervisor's overdue list, as (agency, due date).
async fn annual_overdue(c: &Client) -> Vec<(String, String)> {
    let items = c.publicity.clone().list_overdue(pb::ListOverdueRequest::default()).await.unwrap().into_inner().items;
    items
        .into_iter()
        .filter(|i| i.kind == pb::OverdueKind::AnnualFigures as i32)
        .map(|i| (i.agency_id, i.due_date))
        .collect()
}

fn inspections(t: &Option<pb::StatisticsTables>) -> (u64, u64, u64, u64) {
    let i = t.as_ref().unwrap().inspection.unwrap();
    (i.routine, i.special, i.random, i.unspecified)
}

async fn published_figures_are_frozen_and_corrected_as_new_versions(backend: Backend) {
    let clock = Arc::new(TestClock::new(shanghai_morning("2026-06-01")));
    let h = Harness::start_with(backend, clock.clone(), |_| {}).await;
    let city = h.agency(20, "").await;
    let supervisor = h.principal(pb::Role::Supervisor, &city.id, "").await;
    let w = h.world(21, &city.id).await;
    let lacking = h.world(22, &city.id).await;
    let now = h.now();

    // N4: inspections by kind (the code or the Chinese name; none stated counts apart); a kind
    // that is not one is refused naming the field, and nothing is written.
    penalty(&w, &[("罚款", 500_000)], 0, now).await;
    let site = w.open_case(pb::CaseKind::Inspection).await;
    act(&w, &site.id, K::Inspection, &[("inspection_kind", "routine")], now).await;
    act(&w, &site.id, K::Inspection, &[("inspection_kind", "专项检查")], now).await;
    act(&w, &site.id, K::Inspection, &[("inspection_kind", "双随机")], now).await;
    act(&w, &site.id, K::Inspection, &[], now).await;
    let before = w.events(&site.id).await.len();
    let mut bad = w.event(&site.id, K::Inspection, now);
    bad.details = HashMap::from([("inspection_kind".to_owned(), "突击".to_owned())]);
    refused(w.officer.record.clone().append_event(bad).await, Code::InvalidArgument, "details.inspection_kind");
    assert_eq!(w.events(&site.id).await.len(), before, "a refused act records nothing");
    // N6: a licensing decision that states no action (no category of N3) keeps the other agency
    // from publishing.
    let unfinished = lacking.open_case(pb::CaseKind::Licensing).await;
    lacking.append(&unfinished.id, K::Filing, now).await;
    let d = lacking
        .submit(pb::SubmitDraftRequest {
            request_id: rid(),
            case_id: unfinished.id.clone(),
            legal_basis: "《中华人民共和国行政许可法》第三十八条".into(),
            facts: "申请材料齐全".into(),
            ..Default::default()
        })
        .await;
    lacking.issue(&d.id).await.expect("issue");

    let year = ("2026-01-01", "2026-12-31");
    let counted = stats(&supervisor, &w.agency.id, year.0, year.1, true).await.unwrap();
    assert_eq!(inspections(&counted.total), (1, 1, 1, 1));
    let csv = String::from_utf8(counted.csv.to_vec()).unwrap();
    let row = format!("{},{},2026-01-01,2026-12-31,inspection,random,双随机抽查,1,,", w.agency.id, w.agency.name);
    assert!(csv.split("\r\n").any(|l| l == row), "{csv}");

    // N1: due on 31 January of the next year: not overdue on that day, listed from the next
    // until the agency publishes. Before publication the figures are computed from the record.
    clock.set(shanghai_morning("2027-01-31"));
    assert!(annual_overdue(&supervisor).await.is_empty());
    let public = h.client(None);
    let live = annual(&public, &w.agency.id, 2026, 0).await.unwrap();
    assert!(live.publication.is_none() && live.versions.is_empty());
    assert_eq!(live.due_date, "2027-01-31");
    assert_eq!(inspections(&live.tables), (1, 1, 1, 1));
    clock.set(shanghai_morning("2027-02-01"));
    let mut late = annual_overdue(&supervisor).await;
    late.sort();
    let mut expected: Vec<(String, String)> = [&city.id, &w.agency.id, &lacking.agency.id]
        .into_iter()
        .map(|a| (a.clone(), "2027-01-31".to_owned()))
        .collect();
    expected.sort();
    assert_eq!(late, expected);

    // Who publishes: the agency's publisher (or head); not its officers, not another agency's.
    refused(publish(&w.officer, publish_request(&w.agency.id, 2026, "")).await, Code::PermissionDenied, "officer");
    refused(
        publish(&lacking.publisher, publish_request(&w.agency.id, 2026, "")).await,
        Code::PermissionDenied,
        "publisher",
    );
    refused(publish(&w.publisher, publish_request(&w.agency.id, 2027, "")).await, Code::FailedPrecondition, "P8");
    // N6: refused while a decision lacks its amount, naming the rule and the case; nothing stored.
    let refusal = publish(&lacking.publisher, publish_request(&lacking.agency.id, 2026, "")).await.unwrap_err();
    assert_eq!(refusal.code(), Code::FailedPrecondition);
    assert!(refusal.message().contains("N6.incomplete"), "{}", refusal.message());
    assert!(refusal.message().contains(&unfinished.id), "{}", refusal.message());
    assert!(annual(&public, &lacking.agency.id, 2026, 0).await.unwrap().publication.is_none());

    // Published: frozen with its snapshot id and time; the agency leaves the overdue list.
    let first_request = publish_request(&w.agency.id, 2026, "");
    let first = publish(&w.publisher, first_request.clone()).await.unwrap();
    let v1 = first.publication.clone().expect("published");
    assert_eq!(v1.version, 1);
    assert_eq!(v1.snapshot_id.len(), 64);
    assert!(v1.snapshot_id.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    assert_eq!(v1.published_at, Some(sanxiang_tests::ts(h.now())));
    assert!(v1.reason.is_empty());
    assert_eq!(inspections(&first.tables), (1, 1, 1, 1));
    let again = publish(&w.publisher, first_request).await.unwrap();
    assert_eq!(again.publication, Some(v1.clone()), "a retry answers the same version");
    let mut late = annual_overdue(&supervisor).await;
    late.sort();
    assert!(!late.iter().any(|(a, _)| a == &w.agency.id), "{late:?}");
    assert!(late.iter().any(|(a, _)| a == &lacking.agency.id), "{late:?}");

    // The record changes afterwards (an inspection of 30 December recorded late): the statistics
    // are recomputed, the published figures are not.
    let mut backdated = w.event(&site.id, K::Inspection, shanghai_morning("2026-12-30"));
    backdated.details = HashMap::from([("inspection_kind".to_owned(), "routine".to_owned())]);
    w.officer.record.clone().append_event(backdated).await.expect("a late record");
    let recomputed = stats(&supervisor, &w.agency.id, year.0, year.1, false).await.unwrap();
    assert_eq!(inspections(&recomputed.total), (2, 1, 1, 1));
    let served = annual(&public, &w.agency.id, 2026, 0).await.unwrap();
    assert_eq!(served.publication, Some(v1.clone()));
    assert_eq!(served.tables, first.tables);
    let json = http_json(&h, &format!("/v1/annual/{}/2026", w.agency.id)).await;
    assert_eq!(json["publication"]["snapshot_id"], v1.snapshot_id.as_str());
    assert_eq!(json["publication"]["version"], 1);
    assert_eq!(json["tables"]["inspection"]["routine"], 1);
    assert_eq!(json["due_date"], "2027-01-31");

    // A correction is a new version with its reason; the old one stays readable.
    refused(publish(&w.publisher, publish_request(&w.agency.id, 2026, " ")).await, Code::InvalidArgument, "reason");
    let corrected = publish(&w.head, publish_request(&w.agency.id, 2026, "补录 12 月 30 日日常检查")).await.unwrap();
    let v2 = corrected.publication.clone().expect("published");
    assert_eq!((v2.version, v2.reason.as_str()), (2, "补录 12 月 30 日日常检查"));
    assert_ne!(v2.snapshot_id, v1.snapshot_id);
    assert_eq!(inspections(&corrected.tables), (2, 1, 1, 1));
    assert_eq!(corrected.versions, [v1.clone(), v2.clone()]);
    let latest = annual(&public, &w.agency.id, 2026, 0).await.unwrap();
    assert_eq!((latest.publication, inspections(&latest.tables)), (Some(v2.clone()), (2, 1, 1, 1)));
    let old = annual(&public, &w.agency.id, 2026, 1).await.unwrap();
    assert_eq!((old.publication, inspections(&old.tables)), (Some(v1.clone()), (1, 1, 1, 1)));
    refused(annual(&public, &w.agency.id, 2026, 3).await, Code::NotFound, "version 3");
    let json = http_json(&h, &format!("/v1/annual/{}/2026?version=1", w.agency.id)).await;
    assert_eq!(json["publication"]["snapshot_id"], v1.snapshot_id.as_str());
    assert_eq!(json["versions"].as_array().unwrap().len(), 2);
    let csv =
        http_get(&h, &format!("/v1/annual/{}/2026/tables.csv?version=1", w.agency.id)).await.text().await.unwrap();
    let row = format!("{},{},2026-01-01,2026-12-31,inspection,routine,日常检查,1,,", w.agency.id, w.agency.name);
    assert!(csv.split("\r\n").any(|l| l == row), "{csv}");
    assert_eq!(http_get(&h, &format!("/v1/annual/{}/2026?version=x", w.agency.id)).await.status(), 400);
    h.running.stop().await.unwrap();
}

async fn the_annual_due_date_is_configured(backend: Backend) {
    let clock = Arc::new(TestClock::new(shanghai_morning("2026-06-01")));
    let h = Harness::start_with(backend, clock.clone(), |config| {
        config.stats_annual_due = sanxiang_domain::statistics::AnnualDue { month: 3, day: 31 };
    })
    .await;
    let w = h.world(1, "").await;
    clock.set(shanghai_morning("2027-03-31"));
    assert!(annual_overdue(&h.admin).await.is_empty(), "due on 31 March");
    // An agency registered in 2027 owes no figures for 2026.
    h.world(2, "").await;
    assert_eq!(annual(&h.client(None), &w.agency.id, 2026, 0).await.unwrap().due_date, "2027-03-31");
    clock.set(shanghai_morning("2027-04-01"));
    assert_eq!(annual_overdue(&h.admin).await, [(w.agency.id.clone(), "2027-03-31".to_owned())]);
    publish(&w.publisher, publish_request(&w.agency.id, 2026, "")).await.unwrap();
    assert!(annual_overdue(&h.admin).await.is_empty());
    // A frozen version that no longer has its digest is data loss, never recomputed figures.
    use sea_orm::ConnectionTrait;
    let sql = format!(
        "UPDATE annual_publications SET content = REPLACE(content, '\"year\":2026', '\"year\":2025') WHERE agency_id = '{}'",
        w.agency.id
    );
    assert_eq!(h.running.db.execute_unprepared(&sql).await.unwrap().rows_affected(), 1);
    let lost = annual(&h.client(None), &w.agency.id, 2026, 0).await.unwrap_err();
    assert_eq!(lost.code(), Code::DataLoss);
    assert!(lost.message().contains("annual_publications.content"), "{}", lost.message());
    h.running.stop().await.unwrap();
}
