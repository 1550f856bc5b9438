//! The public site over a running server, on every database backend: the listing with search by
//! agency, party name as published (masked), document number, decision type and date range; keyset
//! paging without a cap; a decision's readable page (amounts in 元 and 万元, dates, legal basis,
//! withdrawal, end of publication) with its JSON and Atom links; an agency's notices and roster;
//! the headers (CSP, the stylesheet, Content-Disposition of the CSV exports); and the Atom feed's
//! author and links.

use std::collections::HashSet;
use std::sync::Arc;

use sanxiang_domain::{TestClock, TimeProvider};
use sanxiang_proto::v1 as pb;
use sanxiang_proto::v1::EventKind as K;
use sanxiang_tests::{Backend, Harness, World, backend_tests, credit_code, http, shanghai_morning};

backend_tests!(
    the_listing_searches_filters_and_pages_without_a_cap,
    a_decision_page_reads_as_a_notice_and_follows_its_publication,
    agency_pages_feeds_exports_and_headers,
    every_search_is_one_query_served_by_an_index,
);

/// GET `path`: status, headers and body.
async fn get(h: &Harness, path: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let r = reqwest::get(http(h, path)).await.expect("http get");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.text().await.expect("body"))
}

async fn page(h: &Harness, path: &str) -> String {
    let (status, headers, body) = get(h, path).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    assert_eq!(headers["content-type"], "text/html; charset=utf-8", "{path}");
    body
}

/// The decision ids a listing page links to, in order.
fn listed(html: &str) -> Vec<String> {
    html.split("<a class=\"title\" href=\"/decisions/")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_owned())
        .collect()
}

/// The address of a page link (`rel` next or first), unescaped.
fn link(html: &str, rel: &str) -> Option<String> {
    let at = html.find(&format!("<a rel=\"{rel}\" href=\""))?;
    let rest = &html[at + rel.len() + 16..];
    Some(rest[..rest.find('"')?].replace("&amp;", "&").replace("&#38;", "&"))
}

/// Opens a penalty case of `party` (a company, or a natural person with `natural`).
async fn open(w: &World, party: &str, natural: bool, n: u32) -> pb::Case {
    let party = if natural {
        pb::Party { r#type: pb::PartyType::NaturalPerson as i32, name: party.into(), ..Default::default() }
    } else {
        pb::Party {
            r#type: pb::PartyType::LegalPerson as i32,
            name: party.into(),
            credit_code: credit_code(500 + n),
            ..Default::default()
        }
    };
    w.officer
        .record
        .clone()
        .open_case(pb::OpenCaseRequest {
            request_id: uuid::Uuid::now_v7().to_string(),
            agency_id: w.agency.id.clone(),
            kind: pb::CaseKind::Penalty as i32,
            title: "销售过期食品案".into(),
            party: Some(party),
            handling_officer_ids: w.both(),
            opened_at: None,
        })
        .await
        .expect("open case")
        .into_inner()
        .case
        .expect("the answer carries the case")
}

/// Issues a penalty decision on `case` (filed, notified, statement waived) with these amounts.
async fn penalise(w: &World, clock: &TestClock, case: &pb::Case, fine_fen: u64, confiscation_fen: u64) -> String {
    w.ready_for_decision(&case.id, clock.now()).await;
    let mut penalties = vec![pb::PenaltyItem { r#type: "警告".into(), amount_fen: 0 }];
    if fine_fen > 0 {
        penalties.push(pb::PenaltyItem { r#type: "罚款".into(), amount_fen: fine_fen });
    }
    if confiscation_fen > 0 {
        penalties.push(pb::PenaltyItem { r#type: "没收违法所得".into(), amount_fen: 0 });
    }
    let draft = w
        .officer
        .review
        .clone()
        .submit_draft(pb::SubmitDraftRequest {
            request_id: uuid::Uuid::now_v7().to_string(),
            case_id: case.id.clone(),
            penalties,
            confiscation_fen,
            legal_basis: "《中华人民共和国食品安全法》第一百二十四条".into(),
            facts: "当事人销售超过保质期的食品".into(),
            violation_type: "销售超过保质期的食品".into(),
            decision_content: "警告，罚款并没收违法所得".into(),
            ordinary_procedure: true,
            ..Default::default()
        })
        .await
        .expect("submit draft")
        .into_inner()
        .draft
        .expect("the answer carries the draft");
    w.issue(&draft.id).await.expect("issue").document_number
}

async fn the_listing_searches_filters_and_pages_without_a_cap(backend: Backend) {
    let (h, clock) = Harness::start_on(backend, "2026-03-02").await;
    let w1 = h.world(1, "").await;
    let w2 = h.world(2, "").await;
    h.set_policy(&w1.agency.id, |p| p.mask_party_name = true).await;
    // Agency 1, on 2 March: 21 companies of two names and one natural person (published masked).
    let mut all = Vec::new();
    let mut bing = Vec::new();
    let mut documents = Vec::new();
    for n in 0..21 {
        let name = if n % 3 == 0 { "丙丁食品有限公司" } else { "甲乙商贸有限公司" };
        let case = open(&w1, name, false, n).await;
        documents.push(penalise(&w1, &clock, &case, 0, 0).await);
        if n % 3 == 0 {
            bing.push(case.id.clone());
        }
        all.push(case.id);
    }
    let person = open(&w1, "王小明", true, 100).await;
    penalise(&w1, &clock, &person, 0, 0).await;
    all.push(person.id.clone());
    // Agency 2, on 3 March: a licence.
    clock.set(shanghai_morning("2026-03-03"));
    let lic = w2.open_case(pb::CaseKind::Licensing).await;
    w2.append(&lic.id, K::Filing, clock.now()).await;
    w2.decide(&lic.id, true).await.expect("licence issued");
    all.push(lic.id.clone());

    // The whole listing, 20 to a page, every entry once, newest first: no cap at 100 or anywhere.
    let first = page(&h, "/").await;
    assert!(first.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"), "{first}");
    assert!(first.contains("<link rel=\"stylesheet\" href=\"/static/site.css\">"));
    assert!(!first.contains("<script") && !first.contains("style=") && !first.contains("<style"), "{first}");
    let mut seen = listed(&first);
    assert_eq!(seen.len(), 20);
    assert_eq!(seen[0], lic.id, "newest first");
    assert!(link(&first, "first").is_none());
    let next = link(&first, "next").expect("a next page");
    let second = page(&h, &next).await;
    let rest = listed(&second);
    assert_eq!(rest.len(), all.len() - 20);
    assert!(link(&second, "next").is_none(), "the last page");
    assert_eq!(link(&second, "first").as_deref(), Some("/"));
    seen.extend(rest);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), all.len(), "every entry once");
    assert_eq!(seen.iter().collect::<HashSet<_>>(), all.iter().collect::<HashSet<_>>());

    // The form: every filter a GET field, the agencies to choose from, and links to their notices.
    for field in ["name=\"agency\"", "name=\"party\"", "name=\"doc\"", "name=\"kind\"", "name=\"from\"", "name=\"to\""]
    {
        assert!(first.contains(field), "{field}");
    }
    assert!(first.contains("<form class=\"search\" method=\"get\" action=\"/\""));
    assert!(first.contains(&format!("<option value=\"{}\">{}</option>", w2.agency.id, w2.agency.name)));
    assert!(first.contains(&format!("<a href=\"/agencies/{}\">{}</a>", w1.agency.id, w1.agency.name)));

    // By agency.
    let only2 = page(&h, &format!("/?agency={}", w2.agency.id)).await;
    assert_eq!(listed(&only2), vec![lic.id.clone()]);
    assert!(only2.contains(&format!("<option value=\"{}\" selected>", w2.agency.id)), "the choice is kept");
    // By decision type, paged with the filter kept.
    let penalties = page(&h, "/?kind=penalty").await;
    assert_eq!(listed(&penalties).len(), 20);
    let next = link(&penalties, "next").expect("more penalties");
    assert!(next.contains("kind=penalty"), "{next}");
    let more = page(&h, &next).await;
    assert_eq!(listed(&more).len(), 2);
    assert!(!listed(&more).contains(&lic.id));
    assert_eq!(listed(&page(&h, "/?kind=licensing").await), vec![lic.id.clone()]);
    // By a part of the party's name.
    let found = page(&h, "/?party=%E4%B8%99%E4%B8%81").await; // 丙丁
    let mut ids = listed(&found);
    ids.sort();
    bing.sort();
    assert_eq!(ids, bing);
    assert!(found.contains("value=\"丙丁\""), "the term is kept in the form");
    // By the name as published: the masked form finds the person, the real name finds nothing.
    assert_eq!(listed(&page(&h, "/?party=%E7%8E%8B%E6%9F%90%E6%9F%90").await), vec![person.id.clone()]); // 王某某
    let real = page(&h, "/?party=%E7%8E%8B%E5%B0%8F%E6%98%8E").await; // 王小明
    assert!(listed(&real).is_empty());
    assert!(real.contains("没有符合条件的公示信息"));
    assert!(!page(&h, "/").await.contains("王小明"));
    // By document number, exactly.
    let doc = &documents[4];
    let q: String = url_encode(doc);
    assert_eq!(listed(&page(&h, &format!("/?doc={q}")).await), vec![all[4].clone()]);
    // By decision date.
    assert_eq!(listed(&page(&h, "/?from=2026-03-03").await), vec![lic.id.clone()]);
    let on_2nd = page(&h, "/?from=2026-03-02&to=2026-03-02&party=%E7%8E%8B").await; // 王
    assert_eq!(listed(&on_2nd), vec![person.id.clone()]);
    assert!(listed(&page(&h, "/?to=2026-03-01").await).is_empty());
    // Filters combine.
    assert!(listed(&page(&h, &format!("/?agency={}&kind=licensing&party=%E4%B8%99", w1.agency.id)).await).is_empty());

    // A filter that is not acceptable: the page, 400, naming the field; nothing listed.
    for (q, field) in [
        ("kind=fine", "kind"),
        ("from=2026-02-30", "from"),
        ("from=2026-03-03&to=2026-03-02", "from"),
        ("cursor=l0", "cursor"),
    ] {
        let (status, headers, body) = get(&h, &format!("/?{q}")).await;
        assert_eq!(status, 400, "{q}");
        assert_eq!(headers["content-type"], "text/html; charset=utf-8");
        assert!(body.contains("role=\"alert\"") && body.contains(field), "{q}: {body}");
        assert!(listed(&body).is_empty());
    }
    h.running.stop().await.unwrap();
}

fn url_encode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

async fn a_decision_page_reads_as_a_notice_and_follows_its_publication(backend: Backend) {
    let (h, clock) = Harness::start_on(backend, "2026-03-02").await;
    let w = h.world(1, "").await;
    let case = open(&w, "福州某某贸易有限公司", false, 1).await;
    let document = penalise(&w, &clock, &case, 1_234_567, 150_000).await;
    let small = open(&w, "福州小店", false, 2).await;
    penalise(&w, &clock, &small, 50_000, 0).await;

    let path = format!("/decisions/{}", case.id);
    let html = page(&h, &path).await;
    for shown in [
        "行政处罚决定信息公示",
        document.as_str(),
        "福州某某贸易有限公司",
        "<dt>罚款金额</dt><dd>12,345.67元（1.234567万元）</dd>",
        "<dt>没收违法所得、没收非法财物的金额</dt><dd>1,500元</dd>",
        "<dt>处罚依据</dt><dd>《中华人民共和国食品安全法》第一百二十四条</dd>",
        "<dt>违法事实</dt><dd>当事人销售超过保质期的食品</dd>",
        "<dt>处罚内容</dt><dd>警告，罚款并没收违法所得</dd>",
        "<dt>处罚类别</dt><dd>警告、罚款、没收违法所得</dd>",
        "<dt>处罚决定日期</dt><dd>2026年3月2日</dd>",
        "<dt>公示日期</dt><dd>2026年3月2日</dd>",
        "<dt>公示截止期</dt>",
        &format!("<a href=\"/v1/disclosures/{}\" type=\"application/json\">JSON</a>", case.id),
        &format!("<a href=\"/decisions/{}/entry.atom\" type=\"application/atom+xml\">Atom</a>", case.id),
        &format!("<a href=\"/agencies/{}\">", w.agency.id),
    ] {
        assert!(html.contains(shown), "{shown} not in {html}");
    }
    assert!(!html.contains("已撤回"));
    // The decision is anchored in the verifiable log: the page links to its inclusion proof.
    assert!(
        html.contains(&format!("<a class=\"proof\" href=\"/v1/disclosures/{}/proof\">", case.id)),
        "the proof link in {html}"
    );
    assert!(!html.contains("<script") && !html.contains("style="));
    // The JSON it links to is the feed's (amounts in 分), unchanged.
    let json: serde_json::Value =
        serde_json::from_str(&get(&h, &format!("/v1/disclosures/{}", case.id)).await.2).unwrap();
    assert_eq!(json["content"]["fine_fen"], 1_234_567);
    // A small fine reads in 元 only.
    let small_html = page(&h, &format!("/decisions/{}", small.id)).await;
    assert!(small_html.contains("<dt>罚款金额</dt><dd>500元</dd>"), "{small_html}");
    // Its Atom entry: the agency as author, the readable page as its link.
    let (status, headers, entry) = get(&h, &format!("/decisions/{}/entry.atom", case.id)).await;
    assert_eq!(status, 200);
    assert!(headers["content-type"].to_str().unwrap().starts_with("application/atom+xml"));
    assert!(entry.contains(&format!("<name>{}</name>", w.agency.name)), "{entry}");
    assert!(entry.contains(&format!("href=\"/decisions/{}\"", case.id)), "{entry}");
    assert!(entry.contains(&format!("<id>urn:sanxiang:disclosure:{}</id>", case.id)));

    // Withdrawn: the page says so, with the reason; the listing marks it.
    w.head
        .review
        .clone()
        .revise_decision(pb::ReviseDecisionRequest {
            request_id: "revoke".into(),
            case_id: case.id.clone(),
            revision: pb::Revision::Revocation as i32,
            reason: "行政复议决定撤销原处罚决定".into(),
            basis: "某复决字〔2026〕1号".into(),
            occurred_at: None,
        })
        .await
        .expect("revise");
    let html = page(&h, &path).await;
    assert!(html.contains("<strong>本公示已撤回</strong>（2026年3月2日）"), "{html}");
    assert!(html.contains("撤回原因：行政复议决定撤销原处罚决定"), "{html}");
    let listing = page(&h, "/").await;
    let item = listing.split("<li class=\"decision").find(|li| li.contains(&case.id)).expect("still listed");
    assert!(item.starts_with(" withdrawn\"") && item.contains("已撤回"), "{item}");

    // Past its 公示截止期 (a 500 元 fine: 3 months): the page is its tombstone, 410, no content.
    clock.set(shanghai_morning("2026-07-01"));
    let (status, headers, gone) = get(&h, &format!("/decisions/{}", small.id)).await;
    assert_eq!(status, 410, "{gone}");
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert!(gone.contains("公示期已满"), "{gone}");
    assert!(!gone.contains("福州小店") && !gone.contains("500元"), "{gone}");
    assert!(!listed(&page(&h, "/").await).contains(&small.id));
    // Never public: not found.
    let (status, _, _) = get(&h, "/decisions/no-such-decision").await;
    assert_eq!(status, 404);
    h.running.stop().await.unwrap();
}

async fn agency_pages_feeds_exports_and_headers(backend: Backend) {
    let (h, clock) = Harness::start_on(backend, "2026-03-02").await;
    let w = h.world(1, "").await;
    w.publisher
        .publicity
        .clone()
        .put_notice(pb::PutNoticeRequest {
            request_id: "notice".into(),
            agency_id: w.agency.id.clone(),
            section: pb::NoticeSection::Powers as i32,
            title: "执法职责与权限".into(),
            body: "本机关依法履行市场监管执法职责。\n第二段。".into(),
            items: vec![pb::NoticeItem {
                title: "对销售过期食品的处罚".into(),
                body: "警告、罚款".into(),
                legal_basis: "《中华人民共和国食品安全法》第一百二十四条".into(),
            }],
        })
        .await
        .expect("put notice");
    let case = open(&w, "福州某某贸易有限公司", false, 1).await;
    penalise(&w, &clock, &case, 500_000, 0).await;

    // The agency's page: notices and the roster.
    let html = page(&h, &format!("/agencies/{}", w.agency.id)).await;
    for shown in [
        format!("<h1>{}</h1>", w.agency.name),
        "<h3>执法职责与权限</h3>".to_owned(),
        "<p>本机关依法履行市场监管执法职责。</p>".to_owned(),
        "<strong>对销售过期食品的处罚</strong>".to_owned(),
        "依据：《中华人民共和国食品安全法》第一百二十四条".to_owned(),
        format!("<td>{}</td>", w.officers[0].name),
        format!("<td>{}</td>", w.officers[1].name),
        format!("<a href=\"/?agency={}\">", w.agency.id),
    ] {
        assert!(html.contains(&shown), "{shown} not in {html}");
    }
    let (status, _, _) = get(&h, "/agencies/no-such-agency").await;
    assert_eq!(status, 404);

    // Headers: the CSP allows the site's own stylesheet and form, nothing inline, no script.
    for path in ["/", &format!("/decisions/{}", case.id), &format!("/agencies/{}", w.agency.id), "/static/site.css"] {
        let (status, headers, _) = get(&h, path).await;
        assert_eq!(status, 200, "{path}");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'") && csp.contains("style-src 'self'"), "{csp}");
        assert!(csp.contains("form-action 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("script-src") && !csp.contains("unsafe-inline"), "{csp}");
        assert!(headers.contains_key("etag"), "{path}");
    }
    let (_, headers, css) = get(&h, "/static/site.css").await;
    assert_eq!(headers["content-type"], "text/css; charset=utf-8");
    assert!(css.contains("PingFang SC") && css.contains("Noto Sans CJK SC"), "the system's Chinese fonts");

    // The exports are attachments named after them.
    for (path, name) in [("/v1/export/cf.csv", "cf.csv"), ("/v1/export/xk.csv", "xk.csv")] {
        let (status, headers, body) = get(&h, path).await;
        assert_eq!(status, 200);
        assert_eq!(headers["content-disposition"], format!("attachment; filename=\"{name}\"").as_str());
        assert!(body.starts_with('\u{feff}'));
    }

    // The feed: the agency as author, entries linking to the readable page.
    let (_, _, feed) = get(&h, &format!("/feed.atom?agency={}", w.agency.id)).await;
    assert!(
        feed.contains(&format!("<author><name>{}</name><uri>/agencies/{}</uri></author>", w.agency.name, w.agency.id)),
        "{feed}"
    );
    assert!(
        feed.contains(&format!("<link href=\"/decisions/{}\" rel=\"alternate\" type=\"text/html\"/>", case.id)),
        "{feed}"
    );
    assert!(!feed.contains("<name>sanxiang</name>"));
    h.running.stop().await.unwrap();
}

/// The query of a listing page for each filter, as the site builds it, is served by an index:
/// SQLite's plan names it; PostgreSQL's, with sequential scans priced out (the test tables are
/// tiny), uses an index scan (and the expression index for a document number).
async fn every_search_is_one_query_served_by_an_index(backend: Backend) {
    use sanxiang_publicity::site::query::{Filter, search_query};
    use sea_orm::{ConnectionTrait, Database, DatabaseBackend, QueryTrait, Statement, TransactionTrait};

    let mut url = None;
    let h =
        Harness::start_with(backend, Arc::new(sanxiang_domain::SystemClock), |c| url = c.database_url.clone()).await;
    let db = Database::connect(url.expect("database url")).await.expect("connect");
    let kind = db.get_database_backend();
    let date = chrono::NaiveDate::from_ymd_opt(2026, 3, 2);
    let filters: [(&str, Filter, &[&str]); 6] = [
        ("none", Filter::default(), &["disclosures_listed"]),
        ("agency", Filter { agency: "a1".into(), ..Filter::default() }, &["disclosures_agency_listed"]),
        ("kind", Filter { kind: "licensing".into(), ..Filter::default() }, &["disclosures_kind_listed"]),
        (
            "doc",
            Filter { document_number: "闽榕市监罚〔2026〕12号".into(), ..Filter::default() },
            &["disclosures_document_number"],
        ),
        (
            "dates",
            Filter { from: date, to: date, ..Filter::default() },
            &["disclosures_decision_date", "disclosures_listed"],
        ),
        ("party", Filter { party: "某某".into(), ..Filter::default() }, &["disclosures_listed"]),
    ];
    for (name, f, indexes) in filters {
        let stmt = search_query(kind, &f, Some(1000), 0, 21).build(kind);
        let plan: Vec<String> = match kind {
            DatabaseBackend::Sqlite => {
                let explain = Statement { sql: format!("EXPLAIN QUERY PLAN {}", stmt.sql), ..stmt.clone() };
                db.query_all_raw(explain)
                    .await
                    .expect("explain")
                    .iter()
                    .map(|r| r.try_get_by_index::<String>(3).unwrap())
                    .collect()
            }
            _ => {
                let txn = db.begin().await.unwrap();
                txn.execute_unprepared("SET LOCAL enable_seqscan = off").await.unwrap();
                let explain = Statement { sql: format!("EXPLAIN {}", stmt.sql), ..stmt.clone() };
                let rows = txn.query_all_raw(explain).await.expect("explain");
                let plan = rows.iter().map(|r| r.try_get_by_index::<String>(0).unwrap()).collect();
                txn.rollback().await.unwrap();
                plan
            }
        };
        let text = plan.join("\n");
        assert!(
            !text.contains("SCAN disclosures\n") && !text.ends_with("SCAN disclosures") && !text.contains("Seq Scan"),
            "{name}: a full scan: {text}"
        );
        match kind {
            DatabaseBackend::Sqlite => {
                assert!(indexes.iter().any(|i| text.contains(&format!("USING INDEX {i}"))), "{name}: {text}");
            }
            _ if name == "doc" => assert!(text.contains("disclosures_document_number"), "{name}: {text}"),
            _ => assert!(text.contains("Index"), "{name}: {text}"),
        }
    }
    db.close().await.ok();
    h.running.stop().await.unwrap();
}
