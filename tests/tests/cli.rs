//! The `sanxiang` command line as a user runs it, against the real binary serving: JSON output
//! parsed, an interrupted upload resumed by running the same command again, a progress bar on a
//! terminal (under `script`), help and completions, errors that name what is wrong, the
//! administrator token's rotation and recovery, and backup then restore into an empty directory
//! with every case verifying.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use sanxiang_proto::v1 as pb;
use sanxiang_tests::process::{Process, sigterm_and_wait, spawn as spawn_with};
use sha2::{Digest, Sha256};
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_sanxiang-under-test");

async fn spawn(dir: &Path) -> Process {
    spawn_with(BIN, dir, &["--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"], &[]).await
}

/// The client binary with a clean environment for `dir`: its own cache directory (upload state),
/// the server's endpoint, and `token`.
fn sanxiang(dir: &Path, p: &Process, token: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .env("SANXIANG_ENDPOINT", format!("http://{}", p.addr))
        .env("SANXIANG_TOKEN", token)
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .env_remove("SANXIANG_OUTPUT")
        .kill_on_drop(true);
    cmd
}

async fn run(mut cmd: Command, args: &[&str]) -> Output {
    cmd.args(args).output().await.expect("run sanxiang")
}

fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "sanxiang failed ({:?})\n--- stdout\n{stdout}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn admin_token(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("sanxiang-data/admin-token")).unwrap().trim().to_owned()
}

async fn channel(p: &Process) -> tonic::transport::Channel {
    tonic::transport::Channel::from_shared(format!("http://{}", p.addr)).unwrap().connect().await.unwrap()
}

/// An agency with two officers and an officer app's token, and an open case.
struct Setup {
    officers: Vec<String>,
    app_token: String,
    case_id: String,
}

async fn setup(p: &Process, dir: &Path, n: u32) -> Setup {
    let admin = sanxiang_tests::Client::new(channel(p).await, Some(&admin_token(dir)));
    let (agency, officers, app_token) = sanxiang_tests::setup_agency(&admin, n).await;
    let officers: Vec<String> = officers.into_iter().map(|o| o.id).collect();
    let app = sanxiang_tests::Client::new(channel(p).await, Some(&app_token));
    let case = app
        .record
        .clone()
        .open_case(pb::OpenCaseRequest {
            request_id: format!("cli-{n}"),
            agency_id: agency.id,
            kind: pb::CaseKind::Inspection as i32,
            title: "命令行".into(),
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
    Setup { officers, app_token, case_id: case.id }
}

fn write_file(path: &Path, seed: u64, len: usize) -> String {
    let data = sanxiang_tests::pseudo_random(seed, len);
    std::fs::write(path, &data).unwrap();
    hex_digest(&data)
}

fn hex_digest(data: &[u8]) -> String {
    Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn json_output_parses_and_human_output_reads_as_typed() {
    let dir = tempfile::tempdir().unwrap();
    let p = spawn(dir.path()).await;
    let token = admin_token(dir.path());
    let out = run(
        sanxiang(dir.path(), &p, &token),
        &[
            "--output",
            "json",
            "agency",
            "create",
            "--name",
            "福州市市场监督管理局",
            "--credit-code",
            "12350100003672834A",
            "--region",
            "福建省福州市",
        ],
    )
    .await;
    let agency: serde_json::Value = serde_json::from_str(&ok(&out)).expect("JSON");
    assert_eq!(agency["name"], "福州市市场监督管理局");
    assert_eq!(agency["credit_code"], "12350100003672834A");
    let agency_id = agency["id"].as_str().unwrap().to_owned();
    assert!(!agency_id.is_empty());
    let list: serde_json::Value =
        serde_json::from_str(
            &ok(&run(sanxiang(dir.path(), &p, &token), &["--output", "json", "agency", "list"]).await),
        )
        .expect("JSON");
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["id"], agency_id.as_str());
    let me: serde_json::Value =
        serde_json::from_str(&ok(&run(sanxiang(dir.path(), &p, &token), &["whoami", "--output", "json"]).await))
            .expect("JSON");
    assert_eq!(me["role"], "ROLE_ADMIN", "proto3 JSON names enums by their proto names: {me}");

    let s = setup(&p, dir.path(), 5).await;
    let seizure_text = "扣押涉案商品";
    let out = run(
        sanxiang(dir.path(), &p, &s.app_token),
        &[
            "--output",
            "json",
            "event",
            "append",
            "--case",
            &s.case_id,
            "--kind",
            "filing",
            "--officer",
            &s.officers[0],
            "--officer",
            &s.officers[1],
            "--text",
            seizure_text,
        ],
    )
    .await;
    let event: serde_json::Value = serde_json::from_str(&ok(&out)).expect("JSON");
    assert_eq!(event["case_seq"], "2", "64-bit integers are strings in proto3 JSON: {event}");
    assert_eq!(event["kind"], "EVENT_KIND_FILING");
    let events: serde_json::Value = serde_json::from_str(&ok(&run(
        sanxiang(dir.path(), &p, &s.app_token),
        &["--output", "json", "case", "events", "--case", &s.case_id],
    )
    .await))
    .expect("JSON");
    assert_eq!(events.as_array().map(Vec::len), Some(2), "{events}");
    let verify: serde_json::Value = serde_json::from_str(&ok(&run(
        sanxiang(dir.path(), &p, &s.app_token),
        &["--output", "json", "case", "verify", "--case", &s.case_id],
    )
    .await))
    .expect("JSON");
    assert_eq!(verify["ok"], true, "{verify}");

    // People read kinds as they type them, and local times instead of `Timestamp { seconds … }`.
    let human = ok(&run(sanxiang(dir.path(), &p, &s.app_token), &["case", "events", "--case", &s.case_id]).await);
    assert!(human.contains(" filing "), "{human}");
    assert!(!human.contains("EVENT_KIND_"), "{human}");
    let case = ok(&run(sanxiang(dir.path(), &p, &s.app_token), &["case", "get", "--case", &s.case_id]).await);
    assert!(case.contains("kind: inspection\n"), "{case}");
    assert!(!case.contains("Timestamp"), "{case}");
    assert!(!case.contains("seconds:"), "{case}");
    sigterm_and_wait(p).await;
}

fn state_file(dir: &Path) -> PathBuf {
    dir.join("cache/sanxiang/uploads.json")
}

#[tokio::test]
async fn an_interrupted_upload_resumes_when_the_same_command_runs_again() {
    const SIZE: usize = 24 << 20;
    let dir = tempfile::tempdir().unwrap();
    let p = spawn(dir.path()).await;
    let s = setup(&p, dir.path(), 6).await;
    let file = dir.path().join("recording.mp4");
    let digest = write_file(&file, 6, SIZE);
    let file_arg = file.display().to_string();
    // Limited to 8 MiB/s, so the first run is still sending when it is interrupted.
    let args = [
        "-q",
        "evidence",
        "upload",
        "--case",
        &s.case_id,
        "--file",
        &file_arg,
        "--media-type",
        "video/mp4",
        "--officer",
        &s.officers[0],
        "--limit-rate",
        "8388608",
    ];
    let first = sanxiang(dir.path(), &p, &s.app_token)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The client remembers the upload before it sends; wait until the server holds a durable part.
    let app = sanxiang_tests::Client::new(channel(&p).await, Some(&s.app_token));
    let upload_id = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let remembered: Option<String> = std::fs::read(state_file(dir.path()))
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&b).ok())
                .and_then(|m| m.values().next().and_then(|v| v.as_str()).map(str::to_owned));
            if let Some(id) = remembered
                && let Ok(u) = app.record.clone().get_upload(pb::GetUploadRequest { upload_id: id.clone() }).await
                && u.get_ref().durable_offset > 0
            {
                break id;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("a durable part within a minute");
    let status = Command::new("kill").args(["-INT", &first.id().unwrap().to_string()]).status().await.unwrap();
    assert!(status.success());
    let interrupted = tokio::time::timeout(Duration::from_secs(30), first.wait_with_output()).await.unwrap().unwrap();
    let stderr = String::from_utf8_lossy(&interrupted.stderr);
    assert_eq!(interrupted.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("run the same command again to resume"), "{stderr}");
    assert!(stderr.contains(&upload_id), "the upload id is shown: {stderr}");
    let durable = app.record.clone().get_upload(pb::GetUploadRequest { upload_id: upload_id.clone() }).await;
    let durable = durable.unwrap().into_inner();
    assert!(!durable.completed && durable.durable_offset < SIZE as u64, "{durable:?}");

    let second = run(sanxiang(dir.path(), &p, &s.app_token), &args).await;
    let evidence_id = ok(&second).trim().to_owned();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains(&format!("resuming upload {upload_id}: ")) && stderr.contains(&format!("of {SIZE} bytes")),
        "{stderr}"
    );
    assert!(!stderr.contains("ETA"), "no progress bar without a terminal: {stderr}");
    let done = app.record.clone().get_upload(pb::GetUploadRequest { upload_id }).await.unwrap().into_inner();
    assert!(done.completed);
    assert_eq!(done.evidence_id, evidence_id);
    // The server counted the resume, and the bytes of both runs together are the file.
    let metrics = reqwest::get(format!("http://{}/metrics", p.admin_addr)).await.unwrap().text().await.unwrap();
    let scrape = prometheus_parse::Scrape::parse(metrics.lines().map(|l| Ok(l.to_owned()))).unwrap();
    let value = |name: &str| {
        scrape.samples.iter().find(|s| s.metric == name).map(|s| match s.value {
            prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Untyped(v) => v,
            _ => f64::NAN,
        })
    };
    assert_eq!(value("sanxiang_upload_resumes_total"), Some(1.0), "{metrics}");
    assert!(value("sanxiang_upload_bytes_total").is_some_and(|b| b >= SIZE as f64), "{metrics}");
    // The client forgot the finished upload.
    let state = std::fs::read_to_string(state_file(dir.path())).unwrap();
    assert!(!state.contains(&digest), "{state}");
    let out = dir.path().join("copy.mp4");
    ok(&run(
        sanxiang(dir.path(), &p, &s.app_token),
        &["evidence", "download", "--evidence", &evidence_id, "--reason", "核对", "--out", &out.display().to_string()],
    )
    .await);
    assert_eq!(hex_digest(&std::fs::read(&out).unwrap()), digest);
    sigterm_and_wait(p).await;
}

#[tokio::test]
async fn a_progress_bar_shows_on_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let p = spawn(dir.path()).await;
    let s = setup(&p, dir.path(), 7).await;
    let file = dir.path().join("recording.mp4");
    write_file(&file, 7, 12 << 20);
    let command = format!(
        "{BIN} evidence upload --case {} --file {} --media-type video/mp4 --officer {} --limit-rate 6291456",
        s.case_id,
        file.display(),
        s.officers[0]
    );
    // `script` gives the client a pseudo-terminal and copies what it draws to stdout.
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &command, "/dev/null"])
        .current_dir(dir.path())
        .env("SANXIANG_ENDPOINT", format!("http://{}", p.addr))
        .env("SANXIANG_TOKEN", &s.app_token)
        .env("XDG_CACHE_HOME", dir.path().join("cache"))
        .env("TERM", "xterm");
    let screen = ok(&cmd.output().await.expect("script (util-linux)"));
    assert!(screen.contains("uploading"), "{screen}");
    assert!(screen.contains("MiB/s"), "the rate is shown: {screen}");
    assert!(screen.contains("ETA"), "the time left is shown: {screen}");
    assert!(screen.contains("evidence:"), "the result follows: {screen}");
    sigterm_and_wait(p).await;
}

#[tokio::test]
async fn help_completions_and_errors_name_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let help = Command::new(BIN).args(["serve", "--help"]).output().await.unwrap();
    let help = ok(&help);
    assert!(help.contains("--admin-listen") && help.contains("--otlp-endpoint"), "{help}");
    for client_flag in ["--endpoint", "--token-file", "--ca-cert", "--output"] {
        assert!(!help.contains(client_flag), "serve --help lists {client_flag}: {help}");
    }
    let open = ok(&Command::new(BIN).args(["case", "open", "--help"]).output().await.unwrap());
    assert!(open.contains("penalty, licensing, compulsion, inspection, other"), "values listed: {open}");
    let completion = ok(&Command::new(BIN).args(["completions", "bash"]).output().await.unwrap());
    assert!(completion.contains("_sanxiang()") && completion.contains("evidence"), "{completion}");

    // Nothing listens on port 1.
    let refused =
        Command::new(BIN).args(["--endpoint", "http://127.0.0.1:1", "--token", "x", "whoami"]).output().await.unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(stderr.contains("cannot connect to http://127.0.0.1:1") && stderr.contains("refused"), "{stderr}");

    let p = spawn(dir.path()).await;
    let s = setup(&p, dir.path(), 8).await;
    let missing = dir.path().join("no-such-file.mp4");
    let upload = |case: &str, file: &Path| {
        let mut cmd = sanxiang(dir.path(), &p, &s.app_token);
        cmd.args(["evidence", "upload", "--case", case, "--file"]).arg(file).args([
            "--media-type",
            "video/mp4",
            "--officer",
            &s.officers[0],
        ]);
        cmd
    };
    let out = upload(&s.case_id, &missing).output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains(&missing.display().to_string()), "{stderr}");
    let file = dir.path().join("small.mp4");
    write_file(&file, 8, 1000);
    let out = upload("01234567-89ab-7def-8123-456789abcdef", &file).output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("NOT_FOUND"), "an unknown case is refused: {stderr}");
    let out = run(sanxiang(dir.path(), &p, &s.app_token), &["case", "open", "--agency", "a", "--kind", "fine"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("penalty") && stderr.contains("inspection"), "valid values are named: {stderr}");
    sigterm_and_wait(p).await;
}

#[tokio::test]
async fn the_administrator_token_rotates_and_a_lost_one_is_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let p = spawn(dir.path()).await;
    let first = admin_token(dir.path());
    let data = dir.path().join("sanxiang-data").display().to_string();
    let rotate = Command::new(BIN).args(["admin", "token", "rotate", "--data-dir", &data]).output().await.unwrap();
    ok(&rotate);
    let second = admin_token(dir.path());
    assert_ne!(first, second);
    let who = |token: String| {
        let p = &p;
        async move {
            let c = sanxiang_tests::Client::new(channel(p).await, Some(&token));
            c.registry
                .clone()
                .who_am_i(pb::WhoAmIRequest {})
                .await
                .map(|r| r.into_inner().principal.expect("the principal").role)
        }
    };
    assert_eq!(who(second.clone()).await.unwrap(), pb::Role::Admin as i32);
    assert_eq!(who(first).await.unwrap_err().code(), tonic::Code::Unauthenticated, "the old token is revoked");
    // Lost: a fresh token printed for the operator (a Kubernetes Secret, say); others stay valid.
    let recovered =
        ok(&Command::new(BIN).args(["admin", "recover", "--print", "--data-dir", &data]).output().await.unwrap());
    assert_eq!(who(recovered.trim().to_owned()).await.unwrap(), pb::Role::Admin as i32);
    assert_eq!(who(second).await.unwrap(), pb::Role::Admin as i32);
    sigterm_and_wait(p).await;
}

#[tokio::test]
async fn backup_then_restore_into_an_empty_directory_verifies_every_case() {
    let dir = tempfile::tempdir().unwrap();
    let p = spawn(dir.path()).await;
    let mut cases = Vec::new();
    for n in 0..2u32 {
        let s = setup(&p, dir.path(), 20 + n).await;
        let app = sanxiang_tests::Client::new(channel(&p).await, Some(&s.app_token));
        let header = pb::UploadHeader {
            upload_id: format!("backup-{n}"),
            case_id: s.case_id.clone(),
            media_type: "video/mp4".into(),
            captured_at: Some(sanxiang_tests::ts(sanxiang_domain::TimeProvider::now(&sanxiang_domain::SystemClock))),
            officer_id: s.officers[0].clone(),
            ..Default::default()
        };
        sanxiang_tests::upload(&app, header, sanxiang_tests::pseudo_random(30 + u64::from(n), 3 << 20)).await.unwrap();
        let agency = app.record.clone().get_case(pb::GetCaseRequest { case_id: s.case_id.clone() }).await;
        cases.push((s.case_id, agency.unwrap().into_inner().case.expect("the case").agency_id, s.app_token));
    }
    // While the service runs.
    let archive = dir.path().join("backup.tar");
    let data = dir.path().join("sanxiang-data");
    ok(&Command::new(BIN)
        .args(["backup", "--data-dir", &data.display().to_string(), "--out", &archive.display().to_string()])
        .output()
        .await
        .unwrap());
    sigterm_and_wait(p).await;

    let elsewhere = tempfile::tempdir().unwrap();
    let restored = elsewhere.path().join("sanxiang-data");
    let out = Command::new(BIN)
        .args(["restore", "--data-dir", &restored.display().to_string(), &archive.display().to_string()])
        .output()
        .await
        .unwrap();
    ok(&out);
    // A second restore into the same, now full, directory is refused.
    let again = Command::new(BIN)
        .args(["restore", "--data-dir", &restored.display().to_string(), &archive.display().to_string()])
        .output()
        .await
        .unwrap();
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("not empty"));
    assert!(!restored.join("admin-token").exists(), "the token is not in the backup");
    // The log's key is: the restored service is the same log, whose checkpoints the database holds.
    assert_eq!(
        std::fs::read(restored.join(sanxiang_log::KEY_FILE)).unwrap(),
        std::fs::read(data.join(sanxiang_log::KEY_FILE)).unwrap(),
        "the log key is restored"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(restored.join(sanxiang_log::KEY_FILE)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the restored key is for the service's user only");
    }
    ok(&Command::new(BIN)
        .args(["admin", "recover", "--data-dir", &restored.display().to_string()])
        .output()
        .await
        .unwrap());

    let p = spawn(elsewhere.path()).await;
    let admin = sanxiang_tests::Client::new(channel(&p).await, Some(&admin_token(elsewhere.path())));
    let me = admin
        .registry
        .clone()
        .who_am_i(pb::WhoAmIRequest {})
        .await
        .unwrap()
        .into_inner()
        .principal
        .expect("the answer carries the principal");
    assert_eq!(me.role, pb::Role::Admin as i32, "the recovered token works");
    for (case_id, agency_id, token) in cases {
        // The apps' tokens were backed up with the database: they work on the restored service.
        let app = sanxiang_tests::Client::new(channel(&p).await, Some(&token));
        let listed = app
            .record
            .clone()
            .list_cases(pb::ListCasesRequest { agency_id, ..Default::default() })
            .await
            .unwrap()
            .into_inner()
            .cases;
        assert_eq!(listed.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), [case_id.as_str()], "the case is back");
        let r = app
            .record
            .clone()
            .verify_case(pb::VerifyCaseRequest { case_id: case_id.clone(), rehash_evidence: true })
            .await
            .unwrap()
            .into_inner();
        assert!(r.ok, "{case_id}: {:?}", r.problems);
        assert_eq!(r.evidence_checked, 1, "the evidence was re-hashed from the restored objects");
    }
    sigterm_and_wait(p).await;
}

#[tokio::test]
async fn quiet_output_prints_the_identity_of_what_was_made_and_refusals_read_in_the_docs_words() {
    let dir = tempfile::tempdir().unwrap();
    let p = spawn(dir.path()).await;
    let token = admin_token(dir.path());
    let q = async |args: &[&str]| {
        let mut all = vec!["-q"];
        all.extend_from_slice(args);
        run(sanxiang(dir.path(), &p, &token), &all).await
    };
    // An agency: its id, the one `agency list -q` prints.
    let agency = ok(&q(&[
        "agency",
        "create",
        "--name",
        "巩义市市场监督管理局",
        "--credit-code",
        "12410181MB1P12345Q",
        "--region",
        "河南省巩义市",
    ])
    .await)
    .trim()
    .to_owned();
    assert_eq!(ok(&q(&["agency", "list"]).await).trim(), agency, "one agency, listed by id");

    // A catalog has no id of its own: the SHA-256 of the catalog as stored, which `catalog get`
    // prints (and `catalog get -q` prints the same line) — never the agency's id.
    let catalog = dir.path().join("catalog.toml");
    std::fs::write(
        &catalog,
        "fine_natural_person = { amount = 10000, inclusive = true }\n\
         fine_organisation = { amount = 100000, inclusive = true }\n\
         always_major_penalties = [\"责令停产停业\", \"吊销许可证件\"]\n",
    )
    .unwrap();
    let catalog_arg = catalog.display().to_string();
    let put = ok(&q(&["catalog", "put", "--agency", &agency, "--file", &catalog_arg]).await).trim().to_owned();
    assert_ne!(put, agency);
    let stored = ok(&run(sanxiang(dir.path(), &p, &token), &["catalog", "get", "--agency", &agency]).await);
    assert_eq!(put, hex_digest(stored.trim_end().as_bytes()), "the digest of the stored catalog: {stored}");
    assert_eq!(ok(&q(&["catalog", "get", "--agency", &agency]).await).trim(), put);

    // An event: its number in the case, as `case events -q` lists them.
    let s = setup(&p, dir.path(), 9).await;
    let appended = ok(&run(
        sanxiang(dir.path(), &p, &s.app_token),
        &[
            "-q",
            "event",
            "append",
            "--case",
            &s.case_id,
            "--kind",
            "inspection",
            "--officer",
            &s.officers[0],
            "--officer",
            &s.officers[1],
            "--text",
            "现场检查",
        ],
    )
    .await);
    assert_eq!(appended, "2\n", "the case_seq of the new event (the case_opened event is 1)");
    let listed =
        ok(&run(sanxiang(dir.path(), &p, &s.app_token), &["-q", "case", "events", "--case", &s.case_id]).await);
    assert_eq!(listed, "1\n2\n");
    let events: serde_json::Value = serde_json::from_str(&ok(&run(
        sanxiang(dir.path(), &p, &s.app_token),
        &["--output", "json", "case", "events", "--case", &s.case_id],
    )
    .await))
    .unwrap();
    assert_eq!(events[1]["case_seq"], "2");
    assert_eq!(events[1]["kind"], "EVENT_KIND_INSPECTION");

    // A refusal says what the role may not do as docs/API.md says it, not the policy's names.
    let refused =
        run(sanxiang(dir.path(), &p, &s.app_token), &["catalog", "put", "--agency", &agency, "--file", &catalog_arg])
            .await;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(
        stderr.contains(
            "PERMISSION_DENIED: permission denied: the officer role may not create or change agencies, officers, \
             principals and tokens"
        ),
        "{stderr}"
    );
    for internal in ["AdministerRegistry", "PermissionDenied", "WriteRecord"] {
        assert!(!stderr.contains(internal), "{internal} in {stderr}");
    }
    sigterm_and_wait(p).await;
}

/// The server expired an upload the client would resume (staging expiry, on the injected
/// clock): the same command starts the file afresh under a new upload id and says so.
#[tokio::test]
async fn an_upload_whose_staging_expired_starts_afresh_and_says_so() {
    use sanxiang_domain::{SystemClock, TestClock, TimeProvider};
    const SIZE: usize = 10 << 20;
    let clock = std::sync::Arc::new(TestClock::new(SystemClock.now()));
    let h = sanxiang_tests::Harness::start_with(sanxiang_tests::Backend::Sqlite, clock.clone(), |c| {
        c.upload_staging_ttl_hours = 1;
    })
    .await;
    let w = h.world(1, "").await;
    let case = w.open_case(pb::CaseKind::Inspection).await;
    let token = h.principal_token(pb::Role::Officer, &w.agency.id, &w.officers[0].id).await;
    let app = h.client(Some(&token));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("recording.mp4");
    let digest = write_file(&file, 11, SIZE);
    let data = bytes::Bytes::from(std::fs::read(&file).unwrap());
    // An upload abandoned after its first 8 MiB part (a stream short of its declared size keeps
    // its durable part, as an interrupted one does).
    let mut header = w.header(&case.id, "video/mp4", h.now());
    header.size = Some(SIZE as u64 + 1);
    let abandoned = header.upload_id.clone();
    sanxiang_tests::refused(sanxiang_tests::upload(&app, header, data).await, tonic::Code::InvalidArgument, "size");
    let open = app.record.clone().get_upload(pb::GetUploadRequest { upload_id: abandoned.clone() }).await.unwrap();
    assert_eq!(open.get_ref().durable_offset, 8 << 20);
    clock.advance_seconds(3601);

    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir.path())
        .env("SANXIANG_ENDPOINT", format!("http://{}", h.running.grpc_addr))
        .env("SANXIANG_TOKEN", &token)
        .env("XDG_CACHE_HOME", dir.path().join("cache"))
        .env_remove("SANXIANG_OUTPUT")
        .kill_on_drop(true);
    let file_arg = file.display().to_string();
    let out = run(
        cmd,
        &[
            "-q",
            "evidence",
            "upload",
            "--case",
            &case.id,
            "--file",
            &file_arg,
            "--media-type",
            "video/mp4",
            "--officer",
            &w.officers[0].id,
            "--upload-id",
            &abandoned,
        ],
    )
    .await;
    let evidence_id = ok(&out).trim().to_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("upload {abandoned} expired on the server")), "{stderr}");
    assert!(stderr.contains("starting afresh as upload "), "{stderr}");
    assert!(!stderr.contains("resuming upload"), "{stderr}");
    let item = app
        .record
        .clone()
        .get_evidence(pb::GetEvidenceRequest { evidence_id })
        .await
        .unwrap()
        .into_inner()
        .evidence
        .unwrap();
    assert_eq!((item.sha256.as_str(), item.size), (digest.as_str(), SIZE as u64), "the whole file, afresh");
    let old = app.record.clone().get_upload(pb::GetUploadRequest { upload_id: abandoned }).await.unwrap();
    assert!(old.get_ref().expired && !old.get_ref().completed, "{:?}", old.get_ref());
    h.running.stop().await.unwrap();
}

#[tokio::test]
async fn statistics_print_as_csv_and_a_destruction_reaches_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let p = spawn(dir.path()).await;
    let token = admin_token(dir.path());
    let s = setup(&p, dir.path(), 40).await;
    // Every agency's tables (the administrator supervises all), then their total.
    let out = ok(&run(
        sanxiang(dir.path(), &p, &token),
        &["disclosure", "statistics", "--from", "2026-01-01", "--to", "2026-12-31"],
    )
    .await);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "agency_id,agency_name,from_date,to_date,table,item,heading,count,amount_fen,amount_wan_yuan");
    assert!(lines.iter().any(|l| l.ends_with(",penalty,total,合计,0,0,0.0000")), "{out}");
    let file = dir.path().join("stats.csv");
    ok(&run(
        sanxiang(dir.path(), &p, &token),
        &[
            "-q",
            "disclosure",
            "statistics",
            "--from",
            "2026-01-01",
            "--to",
            "2026-12-31",
            "--csv",
            &file.display().to_string(),
        ],
    )
    .await);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), out, "the same CSV, to the file");
    let bad = run(
        sanxiang(dir.path(), &p, &token),
        &["disclosure", "statistics", "--from", "2026-13-01", "--to", "2026-12-31"],
    )
    .await;
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("from_date"));
    // Destruction is the agency head's: the officer's app is refused by the server.
    let refused = run(
        sanxiang(dir.path(), &p, &s.app_token),
        &[
            "evidence",
            "destroy",
            "--case",
            &s.case_id,
            "--evidence",
            "e1",
            "--batch",
            "2026-1",
            "--appraisal",
            "期满",
            "--witness",
            "王五",
            "--witness",
            "赵六",
            "--approval",
            "局批〔2026〕1号",
        ],
    )
    .await;
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("officer role may not approve the destruction of evidence"),
        "{refused:?}"
    );
    sigterm_and_wait(p).await;
}
