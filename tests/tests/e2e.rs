//! End-to-end: the real `sanxiang` binary as a separate process, started with zero
//! configuration, driven over gRPC and by the README's walk-through, stopped by SIGTERM.

use std::path::Path;

use sanxiang_domain::Sha256Digest;
use sanxiang_proto::v1 as pb;
use sha2::{Digest, Sha256};
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_sanxiang-under-test");

use sanxiang_tests::process::{sigterm_and_wait, spawn as spawn_with};

async fn spawn(dir: &Path, args: &[&str]) -> sanxiang_tests::process::Process {
    spawn_with(BIN, dir, args, &[]).await
}

fn kb(status: &str, key: &str) -> u64 {
    status
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn zero_configuration_start_token_file_health_and_graceful_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let p = spawn(dir.path(), &["--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"]).await;
    let token_file = dir.path().join("sanxiang-data/admin-token");
    assert!(dir.path().join("sanxiang-data/sanxiang.db").exists());
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&token_file).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    let token = std::fs::read_to_string(&token_file).unwrap().trim().to_owned();

    let channel =
        tonic::transport::Channel::from_shared(format!("http://{}", p.addr)).unwrap().connect().await.unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let serving = health
        .check(tonic_health::pb::HealthCheckRequest { service: "sanxiang.v1.RecordService".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(serving.status, tonic_health::pb::health_check_response::ServingStatus::Serving as i32);
    // Reflection lets generic clients (grpcurl) discover every service without a token.
    let mut reflection =
        tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient::new(channel.clone());
    let request = tonic_reflection::pb::v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(tonic_reflection::pb::v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut replies = reflection.server_reflection_info(futures::stream::iter([request])).await.unwrap().into_inner();
    let reply = replies.message().await.unwrap().unwrap();
    let Some(tonic_reflection::pb::v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        reply.message_response
    else {
        panic!("unexpected reflection reply {reply:?}");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for expected in [
        "sanxiang.v1.RegistryService",
        "sanxiang.v1.RecordService",
        "sanxiang.v1.ReviewService",
        "grpc.health.v1.Health",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected} missing from {names:?}");
    }
    let client = sanxiang_tests::Client::new(channel, Some(&token));
    let me = client
        .registry
        .clone()
        .who_am_i(pb::WhoAmIRequest {})
        .await
        .unwrap()
        .into_inner()
        .principal
        .expect("the answer carries the principal");
    assert_eq!(me.role, pb::Role::Admin as i32);
    let log = sigterm_and_wait(p).await;
    assert!(log.iter().any(|l| l.contains("stopped")), "{log:#?}");

    // A second start keeps the administrator and does not write a new token.
    let p = spawn(dir.path(), &["--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"]).await;
    assert_eq!(std::fs::read_to_string(&token_file).unwrap().trim(), token);
    let log = sigterm_and_wait(p).await;
    assert!(!log.iter().any(|l| l.contains("created the administrator token")));
}

/// What a README walk-through printed, and the directory it ran in.
struct Walkthrough {
    stdout: String,
    stderr: String,
    dir: tempfile::TempDir,
}

/// Runs the ```sh blocks of the README between `begin` and `end`, exactly as written (plus
/// `extra`), against a freshly spawned server, from a directory laid out like the repository root.
async fn run_readme_section(begin: &str, end: &str, extra: &str) -> Walkthrough {
    run_readme_sections(&[(begin, end)], extra).await
}

/// Runs several sections of the README one after the other in one shell, as a reader pasting
/// them into one terminal would.
async fn run_readme_sections(sections: &[(&str, &str)], extra: &str) -> Walkthrough {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let mut script = String::from("set -euo pipefail\n");
    for (begin, end) in sections {
        let section = readme.split(begin).nth(1).unwrap().split(end).next().unwrap();
        let before = script.lines().count();
        for block in section.split("```sh\n").skip(1) {
            script.push_str(block.split("```").next().unwrap());
        }
        assert!(script.lines().count() > before + 3, "walk-through {begin} found");
    }
    let begin = sections[0].0;
    script.push_str(extra);

    let dir = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let p = spawn(dir.path(), &["--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"]).await;
    let bin_dir = dir.path().join("bin");
    std::fs::create_dir(&bin_dir).unwrap();
    std::os::unix::fs::symlink(BIN, bin_dir.join("sanxiang")).unwrap();
    // The walk-throughs run from the repository root, where tools/ is.
    std::os::unix::fs::symlink(concat!(env!("CARGO_MANIFEST_DIR"), "/../tools"), dir.path().join("tools")).unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .env("PATH", path)
        .env("SANXIANG_ENDPOINT", format!("http://{}", p.addr))
        .env("SANXIANG_PUBLIC_URL", format!("http://{}", p.http_addr))
        // The scratch directory the walk-throughs write their files to (`mktemp -d` otherwise).
        .env("WORK", scratch.path())
        .env_remove("SANXIANG_TOKEN")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "walk-through {begin} failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}");
    sigterm_and_wait(p).await;
    Walkthrough { stdout, stderr, dir }
}

#[tokio::test]
async fn readme_walkthrough_works_as_written() {
    let Walkthrough { stdout, stderr, dir } = run_readme_section(
        "<!-- walkthrough:begin",
        "<!-- walkthrough:end -->",
        "sanxiang case events --case \"$CASE\" | wc -l > event-count\n",
    )
    .await;
    assert!(stderr.contains("R3.recording-required"), "the refusal is shown: {stderr}");
    assert!(stdout.contains("ok: 4 events, 1 evidence objects re-hashed"), "{stdout}");
    assert!(stdout.contains("ok: case"), "{stdout}");
    assert!(stdout.contains("5 events, 1 evidence items"), "the independent verifier agrees: {stdout}");
    // opened, filing, evidence uploaded, seizure, evidence accessed: the refused seizure left nothing.
    let count = std::fs::read_to_string(dir.path().join("event-count")).unwrap();
    assert_eq!(count.trim(), "5");
}

#[tokio::test]
async fn readme_review_walkthrough_works_as_written() {
    let Walkthrough { stdout, stderr, dir } = run_readme_section(
        "<!-- review-walkthrough:begin -->",
        "<!-- review-walkthrough:end -->",
        "sanxiang --token \"$OFFICER\" case events --case \"$CASE\" > events.txt\n",
    )
    .await;
    assert!(stderr.contains("L1.review-required"), "the gate's refusal is shown: {stderr}");
    assert!(stdout.contains("catalog.fine.organisation"), "the queue shows why the draft is major: {stdout}");
    assert!(stdout.contains("巩义市市场监督管理局罚决字〔"), "the decision has its number: {stdout}");
    assert!(stdout.contains("第1号"), "{stdout}");
    assert!(stdout.contains("ok: 7 events"), "the chain verifies: {stdout}");
    assert!(stdout.contains(r#""status":"published""#), "the decision is public at once: {stdout}");
    assert!(stdout.contains("巩义某某超市有限公司,法人及非法人组织,91350100MA2Y0K7E37"), "{stdout}");
    assert!(stdout.contains(",罚款,,12,0,"), "the CF export has the fine in 万元: {stdout}");
    assert!(stdout.contains(" PUBLISHED 巩义市市场监督管理局罚决字〔"), "the staff view: {stdout}");
    let events = std::fs::read_to_string(dir.path().join("events.txt")).unwrap();
    for kind in [" draft_submitted ", " review_decided ", " decision "] {
        assert!(events.contains(kind), "{kind} in the chain: {events}");
    }
}

#[tokio::test]
async fn readme_certificate_walkthrough_works_as_written() {
    let Walkthrough { stdout, stderr, dir } = run_readme_section(
        "<!-- certificate-walkthrough:begin -->",
        "<!-- certificate-walkthrough:end -->",
        "sanxiang --token \"$APP\" case events --case \"$CASE\" > events.txt\n",
    )
    .await;
    assert!(stderr.contains("C4.annual-review-overdue"), "the lapsed review's refusal is shown: {stderr}");
    assert!(stderr.contains("C4.training"), "a review without training is refused: {stderr}");
    assert!(stdout.contains("REVIEW_OVERDUE") || stdout.contains("review_overdue"), "the list shows it: {stdout}");
    assert!(stdout.contains("周九"), "the overdue certificate is listed: {stdout}");
    assert!(stdout.lines().any(|l| l == "active"), "the review restores the certificate: {stdout}");
    assert!(stderr.contains("C5.certificate-status"), "the lost card's refusal is shown: {stderr}");
    assert!(stdout.contains(r#""state":"replaced""#) && stdout.contains("41010203"), "the old number: {stdout}");
    let events = std::fs::read_to_string(dir.path().join("events.txt")).unwrap();
    assert_eq!(events.matches(" inspection ").count(), 2, "the acts after the review and the replacement: {events}");
    assert!(events.contains(r#"{"text":"复查"}"#), "the act with the new card is stored: {events}");
    assert_eq!(events.matches("复查").count(), 1, "the act with the lost card is not stored: {events}");
}

#[tokio::test]
async fn readme_filing_walkthrough_works_as_written() {
    let Walkthrough { stdout, stderr, .. } =
        run_readme_section("<!-- filing-walkthrough:begin -->", "<!-- filing-walkthrough:end -->", "").await;
    // Owed at the threshold, filed, reviewed with a correction, answered (RULES F1, F5, F7).
    assert!(stdout.contains(" OWED due ") && stdout.contains("F1.fine"), "{stdout}\n{stderr}");
    assert!(stdout.contains(" SUBMITTED due "), "{stdout}");
    assert!(stdout.contains("proposed_penalty_notice") && stdout.contains("review_opinion"), "the package: {stdout}");
    assert!(stdout.contains(" UNDER_REVIEW due "), "{stdout}");
    assert!(stdout.contains(" AWAITING_RESPONSE due ") && stdout.contains(" CORRECTION_RECOMMENDED"), "{stdout}");
    assert!(stdout.contains(" CLOSED due "), "{stdout}");
    assert!(!stdout.contains("FILING_MISSING") && !stdout.contains("FILING_LATE"), "nothing late: {stdout}");
    assert!(stdout.contains("ok: 13 events"), "the filing's steps, F6 included, are in the chain: {stdout}");
}

#[tokio::test]
async fn readme_complaints_walkthrough_works_as_written() {
    let Walkthrough { stdout, stderr, .. } =
        run_readme_section("<!-- complaints-walkthrough:begin -->", "<!-- complaints-walkthrough:end -->", "").await;
    // The case learns only the report's number.
    assert!(stdout.contains("report_linked"), "{stdout}");
    assert!(stdout.contains("source: report #") || stdout.contains("report #"), "{stdout}");
    // Masked until the legal office asks with a reason; then shown once, and the access logged.
    assert_eq!(stdout.matches("王小明").count(), 1, "the name appears only in the revealed view: {stdout}");
    assert!(stdout.contains("告知举报人立案结果"), "the access is listed with its reason: {stdout}");
    assert!(stdout.contains("情况通报"), "the figures carry the notice: {stdout}");
    assert!(!stderr.contains("王小明") && !stderr.contains("13912345678"), "{stderr}");
    // The conduct complaint's investigators (T6), and the listing a page at a time.
    assert!(stderr.contains("T6.two-investigators") && stderr.contains("C1.certificate-kind"), "{stderr}");
    assert!(stderr.contains("next page: --cursor r"), "{stderr}");
    assert!(!stdout.contains("赵女士") && !stderr.contains("赵女士"), "the complainant stays masked");
    // The conclusion's attachment, read back by the legal office only (T2, T5).
    assert!(stdout.contains("现场说明.txt text/plain"), "{stdout}");
    assert!(stderr.contains("may not handle complaints"), "{stderr}");
}

#[tokio::test]
async fn readme_statistics_walkthrough_works_after_the_review_walkthrough() {
    let Walkthrough { stdout, stderr, .. } = run_readme_sections(
        &[
            ("<!-- review-walkthrough:begin -->", "<!-- review-walkthrough:end -->"),
            ("<!-- statistics-walkthrough:begin -->", "<!-- statistics-walkthrough:end -->"),
        ],
        "",
    )
    .await;
    // The 120 000-yuan fine of the review walk-through: one decision under 罚款, in 万元.
    assert!(stdout.contains(",penalty,fine,罚款,1,12000000,12.0000"), "{stdout}\n{stderr}");
    // The year's figures are published once it has ended (RULES N1, N6).
    assert!(stderr.contains("P8.year-not-ended"), "{stderr}");
}

#[tokio::test]
async fn readme_retention_walkthrough_works_after_the_first_walkthrough() {
    let Walkthrough { stdout, stderr, .. } = run_readme_sections(
        &[
            ("<!-- walkthrough:begin", "<!-- walkthrough:end -->"),
            ("<!-- retention-walkthrough:begin -->", "<!-- retention-walkthrough:end -->"),
        ],
        "",
    )
    .await;
    assert!(stderr.contains("K4.legal-hold"), "the hold stops the destruction: {stderr}");
    assert!(stderr.contains("K2.case-open"), "the referenced recording follows the open case: {stderr}");
    assert!(stderr.contains("K4.release-approval"), "an officer does not approve a release: {stderr}");
    assert!(stdout.contains("complaint"), "the case shows its hold: {stdout}");
    // opened, filing, upload, seizure, access (the first walk-through's), the complaint's two,
    // the head's approval of the release.
    assert!(stdout.contains("ok: 8 events, 1 evidence objects re-hashed"), "{stdout}");
}

#[tokio::test]
async fn readme_walkthroughs_run_one_after_the_other_in_one_shell() {
    let Walkthrough { stdout, stderr, dir } = run_readme_sections(
        &[
            ("<!-- walkthrough:begin", "<!-- walkthrough:end -->"),
            ("<!-- retention-walkthrough:begin -->", "<!-- retention-walkthrough:end -->"),
            ("<!-- review-walkthrough:begin -->", "<!-- review-walkthrough:end -->"),
            ("<!-- statistics-walkthrough:begin -->", "<!-- statistics-walkthrough:end -->"),
            ("<!-- certificate-walkthrough:begin -->", "<!-- certificate-walkthrough:end -->"),
            ("<!-- filing-walkthrough:begin -->", "<!-- filing-walkthrough:end -->"),
            ("<!-- complaints-walkthrough:begin -->", "<!-- complaints-walkthrough:end -->"),
        ],
        "",
    )
    .await;
    assert!(stdout.contains("ok: 4 events, 1 evidence objects re-hashed"), "{stdout}");
    assert!(stderr.contains("L1.review-required"), "{stderr}");
    assert!(stdout.contains("巩义市市场监督管理局罚决字〔"), "the decision has its number: {stdout}");
    assert!(stdout.contains("ok: 7 events"), "the review case verifies: {stdout}");
    assert!(stderr.contains("C4.annual-review-overdue"), "{stderr}");
    assert!(stderr.contains("K4.legal-hold") && stderr.contains("K2.case-open"), "{stderr}");
    assert!(stdout.contains(",penalty,fine,罚款,1,12000000,12.0000"), "{stdout}");
    // The walk-throughs leave nothing in the directory they run from but the service's data.
    let mut left: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    left.sort();
    assert_eq!(left, ["bin", "sanxiang-data", "tools"], "files left behind");
}

/// Streams 4 GiB through the real server and checks that its peak resident memory stays bounded:
/// the upload is hashed and stored while streaming, never held in memory.
#[tokio::test]
async fn four_gib_upload_keeps_server_memory_bounded() {
    const SIZE: u64 = 4 << 30;
    const CHUNK: usize = 1 << 20;
    const RSS_LIMIT_KB: u64 = 256 * 1024;
    let dir = tempfile::tempdir().unwrap();
    let p = spawn(dir.path(), &["--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"]).await;
    let token = std::fs::read_to_string(dir.path().join("sanxiang-data/admin-token")).unwrap().trim().to_owned();
    let channel =
        tonic::transport::Channel::from_shared(format!("http://{}", p.addr)).unwrap().connect().await.unwrap();
    let admin = sanxiang_tests::Client::new(channel.clone(), Some(&token));
    let (agency, officers, app_token) = sanxiang_tests::setup_agency(&admin, 77).await;
    let officers: Vec<String> = officers.into_iter().map(|o| o.id).collect();
    let client = sanxiang_tests::Client::new(channel, Some(&app_token));
    let case = client
        .record
        .clone()
        .open_case(pb::OpenCaseRequest {
            request_id: "big".into(),
            agency_id: agency.id.clone(),
            kind: pb::CaseKind::Inspection as i32,
            title: "大文件".into(),
            party: Some(pb::Party {
                r#type: pb::PartyType::NaturalPerson as i32,
                name: "某人".into(),
                ..Default::default()
            }),
            handling_officer_ids: officers.clone(),
            opened_at: None,
        })
        .await
        .unwrap()
        .into_inner()
        .case
        .expect("the answer carries the case");

    // Each 1 MiB message is a shared random block stamped with its index, so the content is
    // unique without generating 4 GiB of randomness.
    let base = sanxiang_tests::pseudo_random(4, CHUNK);
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let header = pb::UploadHeader {
        upload_id: "four-gib".into(),
        case_id: case.id.clone(),
        media_type: "video/mp4".into(),
        captured_at: Some(sanxiang_tests::ts(sanxiang_domain::TimeProvider::now(&sanxiang_domain::SystemClock))),
        officer_id: officers[0].clone(),
        size: Some(SIZE),
        ..Default::default()
    };
    let producer = tokio::spawn(async move {
        use pb::upload_evidence_request::Part;
        tx.send(pb::UploadEvidenceRequest { part: Some(Part::Header(header)) }).await.unwrap();
        let mut hasher = Sha256::new();
        for i in 0..SIZE / CHUNK as u64 {
            let mut block = base.to_vec();
            block[..8].copy_from_slice(&i.to_le_bytes());
            hasher.update(&block);
            tx.send(pb::UploadEvidenceRequest { part: Some(Part::Chunk(block.into())) }).await.unwrap();
        }
        Sha256Digest::from(hasher.finalize())
    });
    let response = client
        .record
        .clone()
        .upload_evidence(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    let digest = producer.await.unwrap();
    let item = response.evidence.unwrap();
    assert_eq!(item.size, SIZE);
    assert_eq!(item.sha256, digest.to_hex());

    let status = std::fs::read_to_string(format!("/proc/{}/status", p.child.id().unwrap())).unwrap();
    let peak = kb(&status, "VmHWM:");
    eprintln!("server peak RSS after a 4 GiB upload: {peak} KiB");
    assert!(peak > 0 && peak < RSS_LIMIT_KB, "peak RSS {peak} KiB exceeds {RSS_LIMIT_KB} KiB");
    let stored =
        std::fs::metadata(dir.path().join("sanxiang-data/objects/sha256").join(&item.sha256[..2]).join(&item.sha256))
            .unwrap();
    assert_eq!(stored.len(), SIZE);
    sigterm_and_wait(p).await;
}
