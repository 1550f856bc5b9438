//! Property-based fuzz targets that need a server: the public HTTP surface's query, path and
//! cursor parsing (through the real router over real HTTP), and the offline export reader on
//! archives made by a real server and then damaged.
//!
//! Cases per target: `SANXIANG_FUZZ_CASES` (default 256: seconds in a debug build, what CI runs);
//! `tools/fuzz-soak.sh` runs them in release with a large budget.

use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use sanxiang_domain::SystemClock;
use sanxiang_proto::v1 as pb;
use sanxiang_tests::{Backend, Harness};
use std::sync::Arc;

fn config() -> ProptestConfig {
    let cases = std::env::var("SANXIANG_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

/// Percent-encodes every byte outside the unreserved set, so the generated text reaches the
/// server's parsers as written (a URL cannot carry raw spaces or controls).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Values that poke at the parsers: cursors of both kinds with good and bad numbers, limits out
/// of range, ids of every shape, Unicode, raw percent signs.
fn param_value() -> BoxedStrategy<String> {
    prop_oneof![
        "l-?[0-9]{0,22}".prop_map(|s| encode(&s)),
        "s-?[0-9a-f\\-]{0,40}".prop_map(|s| encode(&s)),
        "-?[0-9]{0,12}".prop_map(|s| encode(&s)),
        Just("4294967296".to_owned()),
        Just("18446744073709551616".to_owned()),
        Just("%".to_owned()),
        Just("%zz".to_owned()),
        Just("%FF%FE".to_owned()),
        Just("%00".to_owned()),
        "\\PC{0,12}".prop_map(|s| encode(&s)),
        "[a-z0-9\\-]{0,40}",
    ]
    .boxed()
}

fn query() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("agency"),
        Just("cursor"),
        Just("limit"),
        Just("year"),
        Just("x"),
        Just(""),
        Just("limit[]"),
        Just("party"),
        Just("doc"),
        Just("kind"),
        Just("from"),
        Just("to"),
    ];
    prop::collection::vec((key, param_value(), any::<bool>()), 0..4).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(k, v, with_eq)| if with_eq { format!("{k}={v}") } else { k.to_owned() })
            .collect::<Vec<_>>()
            .join("&")
    })
}

fn path() -> impl Strategy<Value = String> {
    let seg = param_value();
    prop_oneof![
        Just("/v1/disclosures".to_owned()),
        Just("/".to_owned()),
        Just("/feed.atom".to_owned()),
        Just("/v1/export/cf.csv".to_owned()),
        Just("/v1/export/xk.csv".to_owned()),
        seg.clone().prop_map(|s| format!("/v1/disclosures/{s}")),
        seg.clone().prop_map(|s| format!("/v1/notices/{s}")),
        seg.clone().prop_map(|s| format!("/decisions/{s}")),
        seg.clone().prop_map(|s| format!("/decisions/{s}/entry.atom")),
        seg.clone().prop_map(|s| format!("/agencies/{s}")),
        (seg.clone(), seg).prop_map(|(a, y)| format!("/v1/annual/{a}/{y}")),
        "[a-z/\\.%]{0,20}".prop_map(|s| format!("/{s}")),
    ]
}

/// Every request to the public surface gets an answer that is not a server error.
#[test]
fn public_http_queries_never_fail_the_server() {
    let rt = runtime();
    let (h, agency) = rt.block_on(async {
        let h = Harness::start_with(Backend::Sqlite, Arc::new(SystemClock), |c| {
            // The fuzzer is one client address sending as fast as it can.
            c.http_rate_burst = u32::MAX;
            c.http_rate_per_second = u32::MAX;
        })
        .await;
        let w = h.world(1, "").await;
        for licensing in [false, true] {
            let kind = if licensing { pb::CaseKind::Licensing } else { pb::CaseKind::Penalty };
            let case = w.open_case(kind).await;
            let settle: &[pb::EventKind] = if licensing {
                &[pb::EventKind::Filing]
            } else {
                &[pb::EventKind::Filing, pb::EventKind::NoticeOfProposedDecision, pb::EventKind::StatementWaived]
            };
            for kind in settle {
                w.append(&case.id, *kind, h.now()).await;
            }
            w.decide(&case.id, licensing).await.expect("decision");
        }
        (h, w.agency.id)
    });
    let base = format!("http://{}", h.running.http_addr);
    let client = reqwest::Client::new();
    let strategy = (path(), query(), any::<bool>());
    let mut runner = TestRunner::new(config());
    let result = runner.run(&strategy, |(path, query, with_agency)| {
        // Half the time with the real agency, so the listing paths return rows.
        let path = if with_agency { path.replace("/notices/", &format!("/notices/{agency}?x=")) } else { path };
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = format!("{base}{path}{sep}{query}");
        let status = rt
            .block_on(client.get(&url).send())
            .map_err(|e| TestCaseError::fail(format!("{url}: no answer: {e}")))?
            .status();
        prop_assert!(!status.is_server_error(), "{url} answered {status}");
        Ok(())
    });
    rt.block_on(h.running.stop()).expect("stop");
    result.expect("no server error on any query");
}

/// How an archive is damaged.
#[derive(Debug, Clone)]
enum Damage {
    Flip(Vec<(usize, u8)>),
    Truncate(usize),
    Splice(usize, Vec<u8>),
    /// A byte of JSON content replaced by a JSON-significant one.
    Json(usize, u8),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        prop::collection::vec((any::<usize>(), 1u8..=255), 1..4).prop_map(Damage::Flip),
        any::<usize>().prop_map(Damage::Truncate),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 0..64)).prop_map(|(at, b)| Damage::Splice(at, b)),
        (any::<usize>(), prop::sample::select(b"{}[]\",:0123456789-ex\\".to_vec()))
            .prop_map(|(a, b)| Damage::Json(a, b)),
    ]
}

fn apply(archive: &[u8], d: &Damage, json_spans: &[(usize, usize)]) -> Vec<u8> {
    let mut out = archive.to_vec();
    match d {
        Damage::Flip(flips) => {
            for (at, x) in flips {
                let i = at % out.len();
                out[i] ^= x;
            }
        }
        Damage::Truncate(at) => out.truncate(at % out.len()),
        Damage::Splice(at, bytes) => {
            let i = at % out.len();
            out.splice(i..i, bytes.iter().copied());
        }
        Damage::Json(at, b) => {
            let total: usize = json_spans.iter().map(|(s, e)| e - s).sum();
            if total > 0 {
                let mut k = at % total;
                for (s, e) in json_spans {
                    if k < e - s {
                        out[s + k] = *b;
                        break;
                    }
                    k -= e - s;
                }
            }
        }
    }
    out
}

/// The offline reader answers every damaged archive with Ok or an error, never a panic, and
/// damage to the chain or the manifest is never accepted as the original.
#[test]
fn export_reader_survives_damaged_archives() {
    let rt = runtime();
    let archive = rt.block_on(async {
        let h = Harness::start(Backend::Sqlite).await;
        let w = h.world(1, "").await;
        let case = w.open_case(pb::CaseKind::Penalty).await;
        w.upload(&case.id, "image/jpeg", bytes::Bytes::from_static(b"\xff\xd8fuzz evidence"), h.now())
            .await
            .expect("upload");
        w.append(&case.id, pb::EventKind::Inspection, h.now()).await;
        let mut s = w
            .officer
            .record
            .clone()
            .export_case(pb::ExportCaseRequest { case_id: case.id.clone() })
            .await
            .expect("export")
            .into_inner();
        let mut out = Vec::new();
        while let Some(m) = s.message().await.expect("chunk") {
            out.extend_from_slice(&m.chunk);
        }
        h.running.stop().await.expect("stop");
        out
    });
    let original = sanxiang_server::offline::check(archive.as_slice()).expect("the undamaged archive verifies");
    // Where the JSON members lie (tar stores them unpacked), so damage can target their content.
    let mut json_spans = Vec::new();
    let mut tar = tar::Archive::new(archive.as_slice());
    for entry in tar.entries().expect("entries") {
        let entry = entry.expect("entry");
        let name = entry.path().expect("path").to_string_lossy().into_owned();
        if name.ends_with(".json") || name.ends_with(".jsonl") {
            let start = entry.raw_file_position() as usize;
            json_spans.push((start, start + entry.size() as usize));
        }
    }
    assert!(!json_spans.is_empty(), "the archive holds JSON members");

    let mut runner = TestRunner::new(config());
    let result = runner.run(&damage(), |d| {
        let damaged = apply(&archive, &d, &json_spans);
        let verdict = std::panic::catch_unwind(|| sanxiang_server::offline::check(damaged.as_slice()));
        let verdict = verdict.map_err(|_| TestCaseError::fail(format!("the reader panicked on {d:?}")))?;
        if let Ok(checked) = verdict
            && damaged != archive
        {
            // Damage that still verifies may only touch what the chain does not cover (tar
            // padding, header fields the reader ignores): the verified content is the same.
            prop_assert_eq!(&checked, &original, "{:?}", d);
        }
        Ok(())
    });
    result.expect("the reader never panics");

    // Arbitrary bytes, too.
    let mut runner = TestRunner::new(config());
    let result = runner.run(&prop::collection::vec(any::<u8>(), 0..2048), |bytes| {
        let verdict = std::panic::catch_unwind(|| sanxiang_server::offline::check(bytes.as_slice()));
        prop_assert!(verdict.is_ok(), "the reader panicked");
        Ok(())
    });
    result.expect("the reader never panics");
}
