//! Micro-benchmarks of the domain's hot paths: the canonical encoding and chain hash of a typical
//! event, catalog evaluation of a draft decision, and the working-day calculation.
//!
//! Masking of a decision for publication is not implemented yet, so it has no benchmark.

#![allow(missing_docs)] // criterion's macros generate undocumented items

use std::hint::black_box;

use chrono::NaiveDate;
use criterion::{Criterion, criterion_group, criterion_main};
use sanxiang_domain::calendar::WorkCalendar;
use sanxiang_domain::canonical::{Value, check_canonical};
use sanxiang_domain::catalog::{self, Catalog, DraftFacts, PartyType, PenaltyItem, PenaltyType};
use sanxiang_domain::chain::{EventRecord, EvidenceLink, StoredEvent, hash_canonical};
use sanxiang_domain::lifecycle::CaseKind;
use sanxiang_domain::{Sha256Digest, Timestamp};

/// An inspection event by two officers referencing one photo, as the load generator appends.
fn typical_event() -> EventRecord {
    let at = Timestamp::from_parts(1_764_460_800, 0).expect("valid instant");
    EventRecord {
        global_seq: 1_234_567,
        case_id: "0193f1c2-7a4b-7c3d-9e8f-0123456789ab".into(),
        case_seq: 42,
        kind: "inspection".into(),
        occurred_at: at,
        recorded_at: at.plus_seconds(3),
        actor: "0193f1c2-7a4b-7c3d-9e8f-0123456789ac".into(),
        request_id: "0193f1c2-7a4b-7c3d-9e8f-0123456789ad".into(),
        officers: vec!["0193f1c2-7a4b-7c3d-9e8f-0123456789ae".into(), "0193f1c2-7a4b-7c3d-9e8f-0123456789af".into()],
        evidence: vec![EvidenceLink {
            evidence_id: "0193f1c2-7a4b-7c3d-9e8f-0123456789b0".into(),
            sha256: Sha256Digest::of(b"photo"),
            size: 4096,
            media_type: "image/jpeg".into(),
        }],
        payload: Value::object()
            .with("text", "现场检查：经营场所内发现过期食品，已拍照固定")
            .with("location", "福州市鼓楼区某某路1号"),
        prev_hash: Sha256Digest::of(b"previous"),
    }
}

fn chain(c: &mut Criterion) {
    let event = typical_event();
    c.bench_function("canonical encoding of an inspection event", |b| {
        b.iter(|| black_box(&event).canonical_bytes().expect("encodable"));
    });
    let bytes = event.canonical_bytes().expect("encodable");
    c.bench_function("chain hash of the canonical bytes", |b| b.iter(|| hash_canonical(black_box(bytes.as_bytes()))));
    c.bench_function("canonical encoding + chain hash", |b| b.iter(|| black_box(&event).hash().expect("hashable")));

    // Verification's per-event work: check the stored columns are canonical, hash them as stored.
    let officers = Value::from(event.officers.clone()).to_canonical_string().expect("encodable");
    let evidence = format!(
        r#"[{{"id":"{}","media_type":"{}","sha256":"{}","size":{}}}]"#,
        event.evidence[0].evidence_id, event.evidence[0].media_type, event.evidence[0].sha256, event.evidence[0].size
    );
    let payload = event.payload.to_canonical_string().expect("encodable");
    let stored = StoredEvent {
        global_seq: event.global_seq,
        case_id: &event.case_id,
        case_seq: event.case_seq,
        kind: &event.kind,
        occurred_at: event.occurred_at,
        recorded_at: event.recorded_at,
        actor: &event.actor,
        request_id: &event.request_id,
        officers: &officers,
        evidence: &evidence,
        payload: &payload,
        prev_hash: event.prev_hash,
    };
    let mut buf = String::new();
    assert_eq!(stored.hash(&mut buf).expect("hashable"), event.hash().expect("hashable"));
    c.bench_function("verify one stored event (canonical checks + hash)", |b| {
        b.iter(|| {
            for column in [&officers, &evidence, &payload] {
                check_canonical(black_box(column)).expect("canonical");
            }
            black_box(&stored).hash(&mut buf).expect("hashable")
        });
    });
}

fn catalog_evaluation(c: &mut Criterion) {
    // The README's catalog: thresholds for both party types and two always-major penalty types.
    let catalog = Catalog::from_toml(
        "fine_natural_person = { amount = 10000, inclusive = true }\n\
         fine_organisation = { amount = 100000, inclusive = true }\n\
         confiscation_counts_as_fine = true\n\
         always_major_penalties = [\"责令停产停业\", \"吊销许可证件\"]\n\
         after_hearing = true\n",
    )
    .expect("valid catalog");
    let mut facts = DraftFacts::new(CaseKind::Penalty, PartyType::Organisation);
    facts.penalties = vec![
        PenaltyItem { kind: PenaltyType::Fine, amount_fen: 12_000_000 },
        PenaltyItem { kind: PenaltyType::Warning, amount_fen: 0 },
    ];
    facts.ordinary_procedure = true;
    c.bench_function("catalog evaluation of a fine + warning draft", |b| {
        b.iter(|| catalog::evaluate(black_box(&catalog), black_box(&facts)));
    });
}

fn working_days(c: &mut Criterion) {
    let calendar = WorkCalendar::builtin();
    let start = NaiveDate::from_ymd_opt(2026, 9, 28).expect("valid date");
    c.bench_function("add 15 working days across the National Day holiday", |b| {
        b.iter(|| calendar.add_working_days(black_box(start), black_box(15)));
    });
}

criterion_group!(benches, chain, catalog_evaluation, working_days);
criterion_main!(benches);
