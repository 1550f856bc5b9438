//! `feed`: pages of the public HTTP listing (`GET /v1/disclosures`), at the top and at a keyset
//! cursor deep in it, next to a static response of the same bytes from a bare HTTP server.
//!
//! A listing of a million entries cannot be produced through the API in a benchmark's time (each
//! needs a case, its filing, notice, statement, draft and decision), so the entries are written
//! straight into the server's database: one agency, N cases and N published disclosures in the
//! shape `IssueDecision` writes them, with `listed_seq` 1..=N. The server then serves them as it
//! serves any other.

use sanxiang_domain::id::{AgencyId, CaseId, DisclosureId, PrincipalId};
use std::time::{Duration, Instant};

use sanxiang_store::entity::{case, disclosure};
use sea_orm::{ActiveValue::Set, EntityTrait, TransactionTrait};

use crate::Error;

/// Rows per insert statement while seeding.
const SEED_BATCH: usize = 500;

/// A realistic public content: a fine on a company, with a paragraph of facts.
fn content(i: usize) -> String {
    serde_json::json!({
        "party_name": format!("福州某某贸易有限公司{i}"),
        "party_category": "法人及非法人组织",
        "party_credit_code": "91350100MA2Y0K7E37",
        "legal_representative": "王某某",
        "document_number": format!("福州市市场监督管理局罚决字〔2026〕第{i}号"),
        "violation_type": "销售超过保质期的食品",
        "facts": "经查，当事人于2026年3月在其经营场所销售超过保质期的预包装食品，货值金额一千二百元，违法所得三百元。上述事实有现场检查笔录、询问笔录、进货票据等证据证明。",
        "legal_basis": "《中华人民共和国食品安全法》第一百二十四条第一款第（五）项",
        "penalty_types": "罚款、没收违法所得",
        "content": "1. 没收违法所得300元；2. 罚款50000元。",
        "fine_fen": 5_000_000,
        "confiscation_fen": 30_000,
        "decision_date": "2026-03-02",
        "agency_name": "福州市市场监督管理局",
        "agency_credit_code": "12350100003672834A",
    })
    .to_string()
}

/// Writes `entries` published disclosures (and their cases) of `agency_id` into `database_url`.
pub async fn seed(database_url: &str, agency_id: &str, entries: usize) -> Result<(), Error> {
    let db = sanxiang_store::db::connect(database_url, 2).await?;
    let started = Instant::now();
    let now = 1_772_400_000_000_000_i64; // 2026-03-02, in micros
    let far = 4_102_444_800_000_000_i64; // 2100-01-01: inside the publication period
    for chunk_start in (0..entries).step_by(SEED_BATCH) {
        let end = (chunk_start + SEED_BATCH).min(entries);
        let txn = db.begin().await?;
        let ids: Vec<String> = (chunk_start..end).map(|i| format!("seed-{i:08}-{}", uuid::Uuid::now_v7())).collect();
        case::Entity::insert_many(ids.iter().enumerate().map(|(k, id)| case::ActiveModel {
            id: Set(CaseId::from(id.as_str())),
            agency_id: Set(AgencyId::from(agency_id)),
            kind: Set("penalty".into()),
            title: Set("销售过期食品案".into()),
            party: Set(r#"{"type":"legal_person","name":"福州某某贸易有限公司"}"#.into()),
            handling_officers: Set("[]".into()),
            opened_at: Set(now),
            state_bits: Set(0),
            event_count: Set(0),
            head_hash: Set("0".repeat(64)),
            filed_at: Set(Some(now)),
            decided_at: Set(Some(now)),
            request_id: Set(format!("seed-{}", chunk_start + k)),
            created_by: Set(PrincipalId::from("bench")),
        }))
        .exec(&txn)
        .await?;
        disclosure::Entity::insert_many(ids.iter().enumerate().map(|(k, id)| {
            let seq = i64::try_from(chunk_start + k + 1).unwrap_or(i64::MAX);
            disclosure::ActiveModel {
                id: Set(DisclosureId::from(id.as_str())),
                agency_id: Set(AgencyId::from(agency_id)),
                case_id: Set(CaseId::from(id.as_str())),
                case_kind: Set("penalty".into()),
                status: Set("published".into()),
                version: Set(1),
                content: Set(content(chunk_start + k)),
                facts: Set("{}".into()),
                decided_at: Set(now),
                decision_date: Set("2026-03-02".into()),
                due_date: Set("2026-03-11".into()),
                due_provisional: Set(false),
                published_at: Set(Some(now)),
                publication_end: Set(Some("2099-12-31".into())),
                publication_end_at: Set(Some(far)),
                exclusion_code: Set(None),
                exclusion_reason: Set(None),
                revision: Set(None),
                revised_at: Set(None),
                withdrawal_reason: Set(None),
                withdrawal_due_date: Set(None),
                withdrawal_due_provisional: Set(false),
                withdrawn_at: Set(None),
                correction_reason: Set(None),
                ended_at: Set(None),
                listed_seq: Set(Some(seq)),
                feed_seq: Set(Some(seq)),
                updated_at: Set(now),
            }
        }))
        .exec(&txn)
        .await?;
        txn.commit().await?;
    }
    eprintln!("feed: seeded {entries} disclosures in {:.1} s", started.elapsed().as_secs_f64());
    db.close().await?;
    Ok(())
}

/// Latencies of `pages` sequential GETs of `url` on one keep-alive connection; the body of the
/// last one.
pub async fn pages(client: &reqwest::Client, url: &str, pages: usize) -> Result<(Vec<Duration>, String), Error> {
    each(client, &vec![url.to_owned(); pages]).await
}

/// Latencies of sequential GETs of each of `urls` on one keep-alive connection; the body of the
/// last one.
pub async fn each(client: &reqwest::Client, urls: &[String]) -> Result<(Vec<Duration>, String), Error> {
    let mut latencies = Vec::with_capacity(urls.len());
    let mut body = String::new();
    for url in urls {
        let started = Instant::now();
        let r = client.get(url).send().await?;
        if !r.status().is_success() {
            return Err(format!("GET {url}: {}", r.status()).into());
        }
        body = r.text().await?;
        latencies.push(started.elapsed());
    }
    Ok((latencies, body))
}

/// `readers` clients at once, each on a connection of its own, each GETting `url` `pages` times
/// one after another (the public feed under load). Returns every request's latency and the wall
/// time of the whole run.
pub async fn concurrent(url: &str, readers: usize, pages_each: usize) -> Result<(Vec<Duration>, Duration), Error> {
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..readers {
        let url = url.to_owned();
        tasks.spawn(async move {
            let client = reqwest::Client::builder().pool_max_idle_per_host(1).build()?;
            pages(&client, &url, pages_each).await.map(|(latencies, _)| latencies)
        });
    }
    let mut all = Vec::with_capacity(readers * pages_each);
    while let Some(done) = tasks.join_next().await {
        all.extend(done??);
    }
    Ok((all, started.elapsed()))
}

/// A bare HTTP server answering every GET with `body`: the feed's baseline.
pub async fn static_server(body: String) -> Result<std::net::SocketAddr, Error> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = axum::Router::new().fallback(move || {
        let body = body.clone();
        async move { ([(axum::http::header::CONTENT_TYPE, "application/json")], body) }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(addr)
}
