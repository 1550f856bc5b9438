//! The public site in a real browser: headless Chromium (the Debian packages `chromium` and
//! `chromium-driver`; `.ci/start-browser.sh` installs them) loads the home page, checks the search
//! form in its DOM, runs a search through the form's own action and fields (the form is a GET
//! form, so the search is the address the browser builds from it), opens a decision from the
//! results and checks what it shows — with no JavaScript, under the site's CSP, which the browser
//! enforces and would report. Screenshots of each page (a phone's width) are kept under the target
//! directory, in `site-screenshots/`.
//!
//! Without Chromium the test is skipped and says so; with `CI=true` that is a failure.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use sanxiang_domain::{TestClock, TimeProvider, Timestamp};
use sanxiang_proto::v1 as pb;
use sanxiang_tests::{Backend, Harness, World, credit_code, http, in_ci, penalty_draft};

/// The Chromium binary: `SANXIANG_CHROMIUM`, or `chromium` on the path.
fn chromium() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("SANXIANG_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("PATH")?.to_str()?.split(':').map(|d| Path::new(d).join("chromium")).find(|p| p.is_file())
}

/// Where screenshots are kept: `$CARGO_TARGET_DIR/site-screenshots`, or the `site-screenshots`
/// directory of the target directory this test was built in.
fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| {
        // target/<profile>/deps/<this test>
        std::env::current_exe().expect("test path").ancestors().nth(3).expect("target directory").to_path_buf()
    });
    let dir = target.join("site-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot directory");
    dir
}

/// A headless Chromium run on `url` with its own profile: the serialised DOM after load (with
/// `--dump-dom`) or a screenshot, and the browser's log (CSP violations are reported there).
fn browse(browser: &Path, profile: &Path, url: &str, mode: &[&str]) -> (String, String) {
    let out = Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"])
        .args(["--enable-logging=stderr", "--v=0", "--window-size=390,1400", "--hide-scrollbars"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(mode)
        .arg(url)
        .output()
        .expect("run chromium");
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "chromium failed on {url}: {log}");
    assert!(!log.contains("Content Security Policy"), "a CSP violation on {url}: {log}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), log)
}

fn dom(browser: &Path, profile: &Path, url: &str) -> String {
    browse(browser, profile, url, &["--dump-dom"]).0
}

fn screenshot(browser: &Path, profile: &Path, url: &str, name: &str) -> PathBuf {
    let file = screenshot_dir().join(name);
    let _ = std::fs::remove_file(&file);
    browse(browser, profile, url, &[&format!("--screenshot={}", file.display())]);
    let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    assert!(size > 1000, "a screenshot of {url} in {}", file.display());
    file
}

/// The value of `attr` in the first tag of `html` that starts with `start`.
fn attr(html: &str, start: &str, attr: &str) -> Option<String> {
    let tag = &html[html.find(start)?..];
    let tag = &tag[..tag.find('>')?];
    let at = tag.find(&format!(" {attr}=\""))? + attr.len() + 3;
    Some(tag[at..at + tag[at..].find('"')?].replace("&amp;", "&"))
}

async fn decision(w: &World, clock: &TestClock, party: &str, n: u32, fine_fen: u64) -> String {
    let case = w
        .officer
        .record
        .clone()
        .open_case(pb::OpenCaseRequest {
            request_id: uuid::Uuid::now_v7().to_string(),
            agency_id: w.agency.id.clone(),
            kind: pb::CaseKind::Penalty as i32,
            title: "销售过期食品案".into(),
            party: Some(pb::Party {
                r#type: pb::PartyType::LegalPerson as i32,
                name: party.into(),
                credit_code: credit_code(700 + n),
                ..Default::default()
            }),
            handling_officer_ids: w.both(),
            opened_at: None,
        })
        .await
        .expect("open case")
        .into_inner()
        .case
        .expect("the answer carries the case");
    w.ready_for_decision(&case.id, clock.now()).await;
    let draft = w.submit(penalty_draft(&case.id, &[("罚款", fine_fen)])).await;
    w.issue(&draft.id).await.expect("issue");
    case.id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_searches_and_reads_a_decision_in_chromium() {
    let Some(browser) = chromium() else {
        assert!(!in_ci(), "CI=true: Chromium must be installed (.ci/start-browser.sh)");
        eprintln!("SKIPPED: no chromium on PATH (apt-get install chromium chromium-driver, or .ci/start-browser.sh)");
        return;
    };
    let clock = Arc::new(TestClock::new(Timestamp::parse_rfc3339("2026-03-02T02:00:00Z").unwrap()));
    let h = Harness::start_with(Backend::Sqlite, clock.clone(), |_| {}).await;
    let w = h.world(1, "").await;
    let wanted = decision(&w, &clock, "丙丁食品有限公司", 1, 1_234_567).await;
    for n in 2..5 {
        decision(&w, &clock, "甲乙商贸有限公司", n, 50_000).await;
    }
    let profile = tempfile::tempdir().expect("profile");
    let home = http(&h, "/");

    // The home page: the listing, and the search form with its fields.
    let page = dom(&browser, profile.path(), &home);
    assert!(page.contains("<h1>行政执法决定公示</h1>"), "{page}");
    assert_eq!(page.matches("<li class=\"decision").count(), 4, "{page}");
    assert_eq!(attr(&page, "<form class=\"search\"", "method").as_deref(), Some("get"));
    let action = attr(&page, "<form class=\"search\"", "action").expect("the form's action");
    for field in ["agency", "party", "doc", "kind", "from", "to"] {
        assert!(page.contains(&format!("name=\"{field}\"")), "the form has {field}");
    }
    assert_eq!(attr(&page, "<input type=\"date\" name=\"from\"", "type").as_deref(), Some("date"));
    let shot_home = screenshot(&browser, profile.path(), &home, "home.png");

    // The search, as the browser submits the form: its action with the field filled in.
    let search = format!("{}?agency=&party=%E4%B8%99%E4%B8%81&doc=&kind=penalty&from=&to=", http(&h, &action));
    let results = dom(&browser, profile.path(), &search);
    assert_eq!(results.matches("<li class=\"decision").count(), 1, "{results}");
    assert!(results.contains("value=\"丙丁\""), "the term stays in the form: {results}");
    assert!(
        results.contains("<option value=\"penalty\" selected=\"\">")
            || results.contains("<option value=\"penalty\" selected>"),
        "{results}"
    );
    let href = attr(&results, "<a class=\"title\"", "href").expect("a result");
    assert_eq!(href, format!("/decisions/{wanted}"));
    let shot_search = screenshot(&browser, profile.path(), &search, "search.png");

    // The decision, opened from the result.
    let url = http(&h, &href);
    let notice = dom(&browser, profile.path(), &url);
    assert!(notice.contains("<h1>行政处罚决定信息公示</h1>"), "{notice}");
    assert!(notice.contains("<dt>罚款金额</dt><dd>12,345.67元（1.234567万元）</dd>"), "{notice}");
    assert!(notice.contains("<dt>行政相对人名称</dt><dd>丙丁食品有限公司</dd>"), "{notice}");
    assert!(notice.contains("<dt>处罚决定日期</dt><dd>2026年3月2日</dd>"), "{notice}");
    assert!(notice.contains(&format!("href=\"/v1/disclosures/{wanted}\"")));
    let shot_notice = screenshot(&browser, profile.path(), &url, "decision.png");

    // The agency's page, linked from the home page.
    let agency = http(&h, &format!("/agencies/{}", w.agency.id));
    assert!(page.contains(&format!("href=\"/agencies/{}\"", w.agency.id)));
    let roster = dom(&browser, profile.path(), &agency);
    assert!(roster.contains(&format!("<td>{}</td>", w.officers[0].name)), "{roster}");
    let shot_agency = screenshot(&browser, profile.path(), &agency, "agency.png");
    for shot in [shot_home, shot_search, shot_notice, shot_agency] {
        eprintln!("screenshot: {}", shot.display());
    }
    h.running.stop().await.unwrap();
}
