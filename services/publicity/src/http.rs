//! The public HTTP surface (no account needed): the disclosure listing as JSON with keyset
//! cursors, one disclosure, notices, an Atom feed with withdrawals as tombstones (RFC 6721), the
//! 双公示 CSV exports (RULES P9), annual statistics (P8), and the readable public site
//! ([`crate::site`]: `/`, `/decisions/{id}`, `/agencies/{id}`).
//!
//! Every response carries `Cache-Control` and a strong `ETag` (a conditional request with a
//! matching `If-None-Match` gets `304`), and each client address has a token bucket: past it,
//! `429 Too Many Requests` with `Retry-After`.

use sanxiang_domain::id::{AgencyId, DisclosureId};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use atom_syndication as atom;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sanxiang_domain::publicity::{CF_FIELDS, XK_FIELDS, penalty_in_effect_until, wan_yuan};
use sanxiang_domain::{Error, Timestamp};
use sanxiang_recording::reads::Committed;
use sanxiang_store::entity::disclosure;
use serde::Deserialize;
use serde_json::{Value as Json, json};
use sha2::Digest;

use crate::anchor::Anchor;
use crate::annual::Count;
use crate::content::{self, Content};
use crate::disclosure::Publicity;
use crate::rows::status;

/// Entries in the Atom feed.
const FEED_ENTRIES: u64 = 100;
/// Rows fetched per query while writing a CSV export.
const EXPORT_CHUNK: u32 = 500;

/// Per-client limits of the public surface.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    /// Requests a client may make in a burst.
    pub burst: u32,
    /// Requests per second a client regains.
    pub per_second: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self { burst: 120, per_second: 20 }
    }
}

/// Token buckets by client address.
#[derive(Debug)]
struct Limiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl Limiter {
    /// Takes one token for `ip`; `Err(wait)` when the bucket is empty.
    fn take(&self, ip: IpAddr) -> std::result::Result<(), Duration> {
        let now = Instant::now();
        let burst = f64::from(self.limit.burst.max(1));
        let rate = f64::from(self.limit.per_second.max(1));
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() > 100_000 {
            // Forget clients whose buckets are full again; bounded memory under many addresses.
            buckets.retain(|_, (tokens, at)| *tokens + now.duration_since(*at).as_secs_f64() * rate < burst);
        }
        let (tokens, at) = buckets.entry(ip).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / rate))
        }
    }
}

#[derive(Debug, Clone)]
struct AppState {
    publicity: Publicity,
    limiter: Arc<Limiter>,
    rendered: Arc<Rendered>,
    base_url: PublicUrl,
}

/// The absolute address the public surface is reached at from outside (`https://host[/prefix]`):
/// the base of links that leave the site, such as the page a certificate card's QR code leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl(String);

impl PublicUrl {
    /// An `http` or `https` URL with a host and neither query nor fragment; a trailing `/` is
    /// dropped.
    pub fn parse(s: &str) -> std::result::Result<Self, String> {
        let u = url::Url::parse(s.trim()).map_err(|e| format!("{s:?} is not an absolute URL: {e}"))?;
        if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
            return Err(format!("{s:?} is not an http:// or https:// address with a host"));
        }
        if u.query().is_some() || u.fragment().is_some() || !u.username().is_empty() || u.password().is_some() {
            return Err(format!("{s:?} carries a query, fragment or credentials; give the site's address only"));
        }
        Ok(Self(u.as_str().trim_end_matches('/').to_owned()))
    }

    /// `http://ADDR` or `https://ADDR`: where a server listening on `addr` is reached when no
    /// public address is configured.
    pub fn of_listener(addr: SocketAddr, tls: bool) -> Self {
        Self(format!("{}://{addr}", if tls { "https" } else { "http" }))
    }

    /// The absolute URL of `path` (which starts with `/`).
    pub fn join(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }
}

/// The public JSON of listed disclosures, encoded once per state of a row: a page of the listing
/// is one indexed query and the concatenation of its entries, and only entries not seen in this
/// state are anchored (a second query) and encoded.
#[derive(Debug, Default)]
struct Rendered {
    entries: Mutex<Entries>,
    pages: Mutex<Pages>,
}

/// Encoded pages of the public JSON listing by their query (`agency`, `cursor`, `limit` as
/// given), each with what it is current for: the record's committed sequence when it was read
/// ([`sanxiang_recording::Recorder::committed`]: any change of a disclosure, through this
/// replica or another one, commits a new event) and the span of the
/// service's clock in which no entry of it reaches the end of its publication period.
#[derive(Debug, Default)]
struct Pages {
    by_query: HashMap<PageQuery, Arc<EncodedPage>>,
    bytes: usize,
}

type PageQuery = (String, String, u32);

#[derive(Debug)]
struct EncodedPage {
    committed: Committed,
    /// The service's clock when it was read (UTC micros).
    read_at: i64,
    /// [`crate::disclosure::Page::valid_until`].
    valid_until: Option<i64>,
    body: axum::body::Bytes,
    tag: String,
}

impl EncodedPage {
    fn current(&self, committed: Committed, now: i64) -> bool {
        self.committed == committed && self.read_at <= now && self.valid_until.is_none_or(|end| now < end)
    }
}

/// Bytes of encoded pages kept before the page cache starts afresh (about a hundred pages of 50).
const PAGE_BYTES: usize = 8 << 20;

/// Encoded entries by disclosure id with the fingerprint they were encoded for, and their bytes.
#[derive(Debug, Default)]
struct Entries {
    by_id: HashMap<DisclosureId, (u64, Arc<str>)>,
    bytes: usize,
}

/// Bytes of encoded entries kept before the cache starts afresh (about 20,000 entries).
const RENDERED_BYTES: usize = 32 << 20;

/// What an entry's public JSON is made of, hashed: every column [`disclosure_json`] reads, and
/// the case (whose events anchor it). Any change of a row, through the service or behind its
/// back, is a new fingerprint.
fn fingerprint(d: &disclosure::Model) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    (&d.id, &d.agency_id, &d.case_id, &d.case_kind, &d.status, d.version, &d.content).hash(&mut h);
    (d.published_at, &d.publication_end, &d.revision, &d.withdrawal_reason, d.withdrawn_at).hash(&mut h);
    (&d.correction_reason, d.feed_seq, d.updated_at).hash(&mut h);
    h.finish()
}

impl Rendered {
    /// The encoded entries of `rows`, in order: from the cache, else anchored and encoded.
    async fn entries(&self, publicity: &Publicity, rows: &[disclosure::Model]) -> Result<Vec<Arc<str>>> {
        let prints: Vec<u64> = rows.iter().map(fingerprint).collect();
        let mut out: Vec<Option<Arc<str>>> = {
            let cache = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            rows.iter()
                .zip(&prints)
                .map(|(d, p)| cache.by_id.get(&d.id).filter(|(q, _)| q == p).map(|(_, json)| Arc::clone(json)))
                .collect()
        };
        let missing: Vec<disclosure::Model> =
            rows.iter().zip(&out).filter(|(_, e)| e.is_none()).map(|(d, _)| d.clone()).collect();
        if !missing.is_empty() {
            let anchors = publicity.anchors(&missing).await?;
            let mut cache = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            for (i, d) in rows.iter().enumerate() {
                if out[i].is_some() {
                    continue;
                }
                let json: Arc<str> = disclosure_json(d, anchors.get(&d.id))?.to_string().into();
                if cache.bytes + json.len() > RENDERED_BYTES {
                    cache.by_id.clear();
                    cache.bytes = 0;
                }
                cache.bytes += json.len();
                cache.by_id.insert(d.id.clone(), (prints[i], Arc::clone(&json)));
                out[i] = Some(json);
            }
        }
        Ok(out.into_iter().flatten().collect())
    }

    fn page(&self, query: &PageQuery, committed: Committed, now: i64) -> Option<Arc<EncodedPage>> {
        let pages = self.pages.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        pages.by_query.get(query).filter(|p| p.current(committed, now)).cloned()
    }

    fn keep_page(&self, query: PageQuery, page: Arc<EncodedPage>) {
        let mut pages = self.pages.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if pages.bytes + page.body.len() > PAGE_BYTES {
            pages.by_query.clear();
            pages.bytes = 0;
        }
        pages.bytes += page.body.len();
        if let Some(old) = pages.by_query.insert(query, page) {
            pages.bytes -= old.body.len();
        }
    }
}

/// The router of the public surface, reached from outside at `base_url` (the absolute links it
/// hands out, e.g. in a certificate card's QR code), with `extra` routes of other systems (the
/// log's tiles) served beside it under the same rate limit and security headers.
pub fn router_with(publicity: Publicity, limit: RateLimit, base_url: &PublicUrl, extra: Router) -> Router {
    let state = AppState {
        publicity,
        limiter: Arc::new(Limiter { limit, buckets: Mutex::new(HashMap::new()) }),
        rendered: Arc::default(),
        base_url: base_url.clone(),
    };
    Router::new()
        .route("/", get(index))
        .route("/decisions/{id}", get(decision_page))
        .route("/decisions/{id}/entry.atom", get(decision_entry))
        .route("/agencies/{id}", get(agency_page))
        .route("/certificates/{number}", get(certificate_page))
        .route("/certificates/{number}/qr.svg", get(certificate_qr))
        .route("/v1/certificates/{number}", get(certificate_json))
        .route(crate::site::CSS_PATH, get(stylesheet))
        .route("/v1/disclosures", get(list))
        .route("/v1/disclosures/{id}", get(one))
        .route("/v1/disclosures/{id}/proof", get(proof))
        .route("/v1/notices/{agency}", get(notices))
        .route("/v1/annual/{agency}/{year}", get(annual))
        .route("/v1/annual/{agency}/{year}/tables.csv", get(annual_csv))
        .route("/v1/export/cf.csv", get(export_cf))
        .route("/v1/export/xk.csv", get(export_xk))
        .route("/feed.atom", get(atom))
        .fallback(unknown_path)
        .with_state(state.clone())
        .merge(extra)
        .layer(middleware::from_fn_with_state(state, rate_limit))
        .layer(middleware::map_response(public_response))
}

/// Headers every public response carries: no script or frame of any origin runs in a page of
/// this surface (the pages have no script), the only style is the site's own stylesheet, forms
/// submit only to the site, nothing is sniffed into another type, no page is framed, and no full
/// address leaks to other sites.
const SECURITY_HEADERS: [(&str, &str); 4] = [
    (
        "content-security-policy",
        "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
];

/// Longest error text kept from a response made outside the handlers (e.g. a query that does not
/// parse), when it is rewritten as the documented JSON error.
const MAX_ERROR_TEXT: usize = 1024;

/// Every public response: the security headers, and every error as the documented JSON
/// `{"error": …}`, including those made before a handler runs (a query that does not parse, an
/// unknown method) — except the site's own HTML pages (a search with a bad filter, a decision's
/// tombstone), which are pages for people.
async fn public_response(r: Response) -> Response {
    let status = r.status();
    let is_json = r.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let is_page = r.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    let mut r = if (status.is_client_error() || status.is_server_error()) && !is_json && !is_page {
        let (mut parts, body) = r.into_parts();
        let text = match axum::body::to_bytes(body, MAX_ERROR_TEXT * 4).await {
            Ok(b) if !b.is_empty() => String::from_utf8_lossy(&b).trim().chars().take(MAX_ERROR_TEXT).collect(),
            _ => status.canonical_reason().unwrap_or("error").to_ascii_lowercase(),
        };
        parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        parts.headers.remove(header::CONTENT_LENGTH);
        Response::from_parts(parts, Body::from(json!({ "error": text }).to_string()))
    } else {
        r
    };
    for (name, value) in SECURITY_HEADERS {
        r.headers_mut().insert(name, HeaderValue::from_static(value));
    }
    r
}

/// A path the surface does not serve.
async fn unknown_path() -> HttpError {
    HttpError(Error::not_found("page", "at this address"))
}

async fn rate_limit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    match state.limiter.take(peer.ip()) {
        Ok(()) => next.run(req).await,
        Err(wait) => {
            let secs = wait.as_secs().max(1).to_string();
            let body = json!({ "error": format!("too many requests; retry after {secs} s") }).to_string();
            let mut r = (StatusCode::TOO_MANY_REQUESTS, body).into_response();
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            if let Ok(v) = HeaderValue::from_str(&secs) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
    }
}

/// An error as an HTTP response: the status that fits and the message.
struct HttpError(Error);

impl From<Error> for HttpError {
    fn from(e: Error) -> Self {
        Self(e)
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let code = match &self.0 {
            Error::InvalidArgument { .. } => StatusCode::BAD_REQUEST,
            Error::FailedPrecondition { .. } => StatusCode::CONFLICT,
            Error::NotFound { .. } => StatusCode::NOT_FOUND,
            Error::PermissionDenied(_) | Error::Unauthenticated(_) => StatusCode::FORBIDDEN,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::ResourceExhausted(_) => StatusCode::TOO_MANY_REQUESTS,
            Error::AlreadyExists(_) | Error::DataLoss(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if code == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self.0, "public HTTP request failed");
        }
        let mut r = (code, json!({ "error": self.0.to_string() }).to_string()).into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        r
    }
}

type Result<T> = std::result::Result<T, HttpError>;

/// A cacheable `200` with a strong ETag, or `304` when the client has it already.
fn cached(req_headers: &HeaderMap, content_type: &'static str, max_age: u32, body: String) -> Response {
    let tag = etag(body.as_bytes());
    tagged(req_headers, content_type, max_age, body.into(), &tag)
}

/// The strong ETag of `body`.
fn etag(body: &[u8]) -> String {
    format!("\"{}\"", &hex::encode(sha2::Sha256::digest(body))[..32])
}

/// [`cached`], of a body whose ETag is known.
fn tagged(
    req_headers: &HeaderMap,
    content_type: &'static str,
    max_age: u32,
    body: axum::body::Bytes,
    tag: &str,
) -> Response {
    let matches = req_headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    let mut r = if matches { StatusCode::NOT_MODIFIED.into_response() } else { Response::new(Body::from(body)) };
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
        h.insert(header::CACHE_CONTROL, v);
    }
    if let Ok(v) = HeaderValue::from_str(tag) {
        h.insert(header::ETAG, v);
    }
    r
}

fn rfc3339(micros: Option<i64>) -> Json {
    micros.map_or(Json::Null, |m| Json::String(Timestamp::from_micros(m).to_rfc3339()))
}

/// What a reader needs to check a disclosure against the verifiable log: the position of the
/// event that recorded its content's digest, the digest, and the address of the proof.
fn anchor_json(anchor: Option<&Anchor>, id: &str) -> Json {
    anchor.map_or(Json::Null, |a| {
        json!({
            "global_seq": a.global_seq,
            "leaf_index": a.leaf_index(),
            "content_sha256": a.content_sha256,
            "proof_url": crate::anchor::proof_path(id),
            "checkpoint_url": "/checkpoint",
        })
    })
}

/// A public disclosure as JSON: its masked content, its publication state and its anchor in the
/// verifiable log (`log`, null when it has none), nothing else.
pub(crate) fn disclosure_json(d: &disclosure::Model, anchor: Option<&Anchor>) -> std::result::Result<Json, Error> {
    let c: Content = content::from_json(&d.content)?;
    Ok(json!({
        "log": anchor_json(anchor, &d.id),
        "id": d.id,
        "agency_id": d.agency_id,
        "case_kind": d.case_kind,
        "status": d.status,
        "version": d.version,
        "content": c,
        "published_at": rfc3339(d.published_at),
        "publication_end": d.publication_end,
        "revision": d.revision,
        "withdrawal_reason": d.withdrawal_reason,
        "withdrawn_at": rfc3339(d.withdrawn_at),
        "correction_reason": d.correction_reason,
        "feed_seq": d.feed_seq,
        "updated_at": rfc3339(Some(d.updated_at)),
    }))
}

/// The `agency` filter of a public listing: empty for every agency, else an id of the right shape
/// (a malformed one is a 400 naming `agency`, never passed to the database).
fn agency_filter(value: &str) -> Result<Option<AgencyId>> {
    if value.is_empty() { Ok(None) } else { Ok(Some(AgencyId::parse("agency", value)?)) }
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    #[serde(default)]
    agency: String,
    #[serde(default)]
    cursor: String,
    #[serde(default)]
    limit: u32,
}

/// A page of the public listing: from the page cache when nothing it was read from has changed
/// since ([`sanxiang_recording::Recorder::committed`]: on PostgreSQL from memory while change
/// notices are heard, else one indexed read of the committed sequence), else read with one indexed query, its
/// entries from the entry cache or encoded, and kept.
async fn list(State(s): State<AppState>, headers: HeaderMap, Query(q): Query<ListQuery>) -> Result<Response> {
    let committed = s.publicity.recorder().committed().await?;
    let now = s.publicity.now().micros();
    let query: PageQuery = (q.agency, q.cursor, q.limit);
    if let Some(p) = s.rendered.page(&query, committed, now) {
        return Ok(tagged(&headers, "application/json", 30, p.body.clone(), &p.tag));
    }
    let (agency, cursor, limit) = &query;
    let page = s.publicity.public_page(agency_filter(agency)?.as_ref(), cursor, *limit).await?;
    let entries = s.rendered.entries(&s.publicity, &page.rows).await?;
    // The same bytes as `json!({ "disclosures": [...], "next_cursor": ... })` (keys in order).
    let mut body = String::with_capacity(entries.iter().map(|e| e.len() + 1).sum::<usize>() + 64);
    body.push_str("{\"disclosures\":[");
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(e);
    }
    body.push_str("],\"next_cursor\":");
    body.push_str(&Json::from(page.next_cursor).to_string());
    body.push('}');
    let tag = etag(body.as_bytes());
    let encoded =
        Arc::new(EncodedPage { committed, read_at: now, valid_until: page.valid_until, body: body.into(), tag });
    s.rendered.keep_page(query, Arc::clone(&encoded));
    Ok(tagged(&headers, "application/json", 30, encoded.body.clone(), &encoded.tag))
}

/// One public disclosure; an entry that has left the listings (ended early or past its 公示截止期,
/// RULES P7) answers `410 Gone` with its tombstone: id, agency, document number, when it ended.
async fn one(State(s): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Result<Response> {
    let d = s.publicity.get(&DisclosureId::parse("disclosure_id", &id)?).await?;
    if d.status == status::EXPIRED || d.status == status::ENDED {
        let c = content::from_json(&d.content)?;
        let body = json!({
            "id": d.id,
            "agency_id": d.agency_id,
            "status": d.status,
            "document_number": c.document_number,
            "agency_name": c.agency_name,
            "publication_end": d.publication_end,
            "ended_at": rfc3339(d.ended_at),
        });
        let mut r = cached(&headers, "application/json", 60, body.to_string());
        if r.status() == StatusCode::OK {
            *r.status_mut() = StatusCode::GONE;
        }
        return Ok(r);
    }
    let anchor = s.publicity.anchor(&d).await?;
    Ok(cached(&headers, "application/json", 60, disclosure_json(&d, anchor.as_ref())?.to_string()))
}

#[derive(Debug, Deserialize)]
struct ProofQuery {
    /// The tree size of a checkpoint the reader holds; the public checkpoint's when absent.
    size: Option<u64>,
}

/// The inclusion proof of a public disclosure's anchoring event (docs/CHAIN.md §8.7), to be
/// checked against `/checkpoint`. Only what is public: the content as published, its digest,
/// the event's hash and position, the proof's hashes and the checkpoint.
async fn proof(State(s): State<AppState>, Path(id): Path<String>, Query(q): Query<ProofQuery>) -> Result<Response> {
    let d = s.publicity.get(&DisclosureId::parse("disclosure_id", &id)?).await?;
    if d.status == status::EXPIRED || d.status == status::ENDED {
        return Err(Error::not_found("disclosure", &id).into());
    }
    let body = s.publicity.proof(&d, q.size).await?;
    let mut r = (StatusCode::OK, body.to_string()).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

async fn notices(State(s): State<AppState>, headers: HeaderMap, Path(agency): Path<String>) -> Result<Response> {
    let r = crate::notices::list(&s.publicity, &AgencyId::parse("agency", &agency)?).await?;
    let body = json!({
        "agency_id": r.agency_id,
        "agency_name": r.agency_name,
        "notices": r.notices.iter().map(|n| json!({
            "section": n.section.as_str(),
            "title": n.title,
            "body": n.body,
            "items": n.items.iter().map(|i| json!({"title": i.title, "body": i.body, "legal_basis": i.legal_basis}))
                .collect::<Vec<_>>(),
            "version": n.version,
            "updated_at": n.updated_at.to_rfc3339(),
        })).collect::<Vec<_>>(),
        "roster": r.roster.iter().map(|o| json!({
            "name": o.name, "certificate_number": o.certificate_number, "category": o.category,
        })).collect::<Vec<_>>(),
    });
    Ok(cached(&headers, "application/json", 300, body.to_string()))
}

/// `?version=N`: a published version of the annual figures (none: the latest, or the figures
/// computed now when none was published).
#[derive(Debug, Deserialize)]
struct AnnualQuery {
    #[serde(default)]
    version: Option<String>,
}

impl AnnualQuery {
    fn version(&self) -> Result<u32> {
        match self.version.as_deref() {
            None | Some("") => Ok(0),
            Some(v) => {
                Ok(v.parse().ok().filter(|v| *v > 0).ok_or_else(|| Error::invalid("version", "a version 1, 2, ..."))?)
            }
        }
    }
}

async fn annual_view(s: &AppState, agency: &str, year: &str, q: &AnnualQuery) -> Result<crate::annual::AnnualView> {
    let year: i32 = year.parse().map_err(|_| Error::invalid("year", "not a year"))?;
    Ok(crate::annual::view(&s.publicity, &AgencyId::parse("agency", agency)?, year, q.version()?).await?)
}

/// The publication record of a version (RULES N6), as JSON.
fn publication_json(p: &crate::annual::Publication) -> serde_json::Value {
    json!({
        "version": p.version,
        "snapshot_id": p.snapshot_id,
        "published_at": p.published_at.to_rfc3339(),
        "reason": p.reason,
    })
}

async fn annual(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path((agency, year)): Path<(String, String)>,
    Query(q): Query<AnnualQuery>,
) -> Result<Response> {
    let v = annual_view(&s, &agency, &year, &q).await?;
    let r = &v.report;
    let counts = |c: &[Count]| c.iter().map(|c| (c.name.clone(), json!(c.count))).collect::<serde_json::Map<_, _>>();
    let body = json!({
        "agency_id": r.agency_id,
        "agency_name": r.agency_name,
        "year": r.year,
        "due_date": v.due_date.to_string(),
        "publication": v.publication.as_ref().map(publication_json),
        "versions": v.versions.iter().map(publication_json).collect::<Vec<_>>(),
        "cases_by_kind": counts(&r.cases_by_kind),
        "decisions_by_kind": counts(&r.decisions_by_kind),
        "penalties_by_type": counts(&r.penalties_by_type),
        "licensing_by_action": counts(&r.licensing_by_action),
        "fines_total_fen": r.fines_total_fen,
        "fines_total_wan_yuan": wan_yuan(r.fines_total_fen),
        "confiscation_total_fen": r.confiscation_total_fen,
        "confiscation_total_wan_yuan": wan_yuan(r.confiscation_total_fen),
        "major_decisions": r.major_decisions,
        "reviews": r.reviews,
        "reviews_with_problems": r.reviews_with_problems,
        "revisions": counts(&r.revisions),
        "withdrawals": r.withdrawals,
        "disclosures_published": r.disclosures_published,
        "disclosures_overdue": r.disclosures_overdue,
        "disclosures_excluded": r.disclosures_excluded,
        "tables": crate::statistics::tables_json(&r.tables, r.amount_unit),
    });
    // Computed figures may change with the record: a shorter cache than a frozen version's.
    let max_age = if v.publication.is_some() { 3600 } else { 300 };
    Ok(cached(&headers, "application/json", max_age, body.to_string()))
}

/// The year's penalty, licensing, compulsory-measure and inspection tables (RULES N2–N4) as CSV:
/// what the agency publishes by its due date (N1), frozen once published (N6). Counts and
/// amounts only, nothing personal.
async fn annual_csv(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path((agency, year)): Path<(String, String)>,
    Query(q): Query<AnnualQuery>,
) -> Result<Response> {
    let v = annual_view(&s, &agency, &year, &q).await?;
    let r = &v.report;
    let body = crate::statistics::year_csv(&r.agency_id, &r.agency_name, r.year, &r.tables, r.amount_unit)?;
    let text = String::from_utf8(body).map_err(|e| Error::Internal(format!("csv: {e}")))?;
    let max_age = if v.publication.is_some() { 3600 } else { 300 };
    Ok(cached(&headers, "text/csv; charset=utf-8", max_age, text))
}

#[derive(Debug, Deserialize)]
struct FeedQuery {
    #[serde(default)]
    agency: String,
}

fn entry_title(c: &Content) -> String {
    let mut t = c.document_number.clone();
    if !c.party_name.is_empty() {
        if !t.is_empty() {
            t.push(' ');
        }
        t.push_str(&c.party_name);
    }
    t
}

fn entry_text(c: &Content) -> String {
    let mut t = String::new();
    for (label, value) in [
        ("行政相对人", &c.party_name),
        ("决定书文号", &c.document_number),
        ("违法行为类型", &c.violation_type),
        ("违法事实", &c.facts),
        ("依据", &c.legal_basis),
        ("处罚类别", &c.penalty_types),
        ("内容", &c.content),
        ("决定日期", &c.decision_date),
        ("决定机关", &c.agency_name),
    ] {
        if !value.is_empty() {
            let _ = writeln!(t, "{label}：{value}");
        }
    }
    if c.fine_fen > 0 {
        let _ = writeln!(t, "罚款金额（万元）：{}", wan_yuan(c.fine_fen));
    }
    t
}

/// The Atom feed of the latest public changes (RFC 4287). A withdrawn, ended or expired entry is
/// an `at:deleted-entry` tombstone (RFC 6721) with its public reason, never a silent
/// disappearance; an entry past its 公示截止期 becomes one at that instant (RULES P7).
async fn atom(State(s): State<AppState>, headers: HeaderMap, Query(q): Query<FeedQuery>) -> Result<Response> {
    let now = s.publicity.now();
    let rows: Vec<disclosure::Model> = s
        .publicity
        .latest_changes(agency_filter(&q.agency)?.as_ref(), FEED_ENTRIES)
        .await?
        .into_iter()
        .map(|d| crate::disclosure::seen_at(d, now))
        .collect();
    let anchors = s.publicity.anchors(&rows).await?;
    Ok(cached(&headers, "application/atom+xml; charset=utf-8", 60, atom_xml(&rows, &q.agency, &anchors)?))
}

/// An instant as Atom writes it.
fn atom_time(micros: i64) -> atom::FixedDateTime {
    chrono::DateTime::from_timestamp_micros(micros).unwrap_or_default().fixed_offset()
}

fn atom_link(href: String, rel: &str, mime_type: &str) -> atom::Link {
    let mut l = atom::Link::default();
    l.set_href(href);
    l.set_rel(rel);
    l.set_mime_type(Some(mime_type.to_owned()));
    l
}

/// The agency that published a disclosure, as an Atom person: its name, and its page.
fn atom_agency(agency_id: &AgencyId, agency_name: &str) -> atom::Person {
    let mut p = atom::Person::default();
    p.set_name(agency_name);
    p.set_uri(Some(format!("/agencies/{agency_id}")));
    p
}

/// The Atom entry of a public disclosure: the agency as author, the readable page as its link
/// (and its JSON as another representation), its text as content. A withdrawn one says so in its
/// title and content.
fn atom_entry(d: &disclosure::Model, c: &Content, anchor: Option<&Anchor>) -> atom::Entry {
    let mut e = atom::Entry::default();
    e.set_id(format!("urn:sanxiang:disclosure:{}", d.id));
    let withdrawn = d.status == status::WITHDRAWN;
    e.set_title(if withdrawn { format!("【已撤回】{}", entry_title(c)) } else { entry_title(c) });
    e.set_updated(atom_time(d.updated_at));
    e.set_published(Some(atom_time(d.published_at.unwrap_or(d.updated_at))));
    e.set_authors(vec![atom_agency(&d.agency_id, &c.agency_name)]);
    let mut links = vec![
        atom_link(format!("/decisions/{}", d.id), "alternate", "text/html"),
        atom_link(format!("/v1/disclosures/{}", d.id), "alternate", "application/json"),
    ];
    if anchor.is_some() {
        let mut l = atom_link(crate::anchor::proof_path(&d.id), "related", "application/json");
        l.set_title(Some("inclusion proof in the verifiable log".to_owned()));
        links.push(l);
    }
    e.set_links(links);
    let mut text = entry_text(c);
    if withdrawn {
        text = format!("撤回公示：{}\n{text}", d.withdrawal_reason.as_deref().unwrap_or_default());
    }
    if let Some(a) = anchor {
        let _ = write!(
            text,
            "\n存证：公示内容 SHA-256 {}，记录于可验证日志第 {} 号事件（叶序号 {}）",
            a.content_sha256,
            a.global_seq,
            a.leaf_index()
        );
    }
    let mut content = atom::Content::default();
    content.set_content_type(Some("text".to_owned()));
    content.set_value(Some(text));
    e.set_content(Some(content));
    e
}

fn extension(name: &str, value: Option<String>, attrs: &[(&str, String)]) -> atom::extension::Extension {
    let mut x = atom::extension::Extension::default();
    x.set_name(name);
    x.set_value(value);
    x.set_attrs(attrs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect::<std::collections::BTreeMap<_, _>>());
    x
}

/// The RFC 6721 tombstone of an entry that left the feed: when, the public reason, and the link
/// to the decision's page (which says what happened).
fn atom_tombstone(d: &disclosure::Model) -> atom::extension::Extension {
    let when = d.withdrawn_at.or(d.ended_at).or(d.publication_end_at).unwrap_or(d.updated_at);
    let comment = match d.status.as_str() {
        status::WITHDRAWN => format!("撤回公示：{}", d.withdrawal_reason.as_deref().unwrap_or_default()),
        status::ENDED => "停止公示".to_owned(),
        _ => format!("公示期满：{}", d.publication_end.as_deref().unwrap_or_default()),
    };
    let mut x = extension(
        "at:deleted-entry",
        None,
        &[("ref", format!("urn:sanxiang:disclosure:{}", d.id)), ("when", Timestamp::from_micros(when).to_rfc3339())],
    );
    x.children.insert(
        "link".to_owned(),
        vec![extension("link", None, &[("href", format!("/decisions/{}", d.id)), ("type", "text/html".to_owned())])],
    );
    x.children.insert("comment".to_owned(), vec![extension("at:comment", Some(comment), &[])]);
    x
}

fn atom_text(write: std::result::Result<Vec<u8>, atom::Error>) -> std::result::Result<String, Error> {
    let bytes = write.map_err(|e| Error::Internal(format!("atom: {e}")))?;
    String::from_utf8(bytes).map_err(|e| Error::Internal(format!("atom: {e}")))
}

/// The Atom document of `rows` (newest first): live entries with the agency as author, and
/// withdrawn, ended or expired ones as `at:deleted-entry` tombstones (RFC 6721).
pub(crate) fn atom_xml(
    rows: &[disclosure::Model],
    agency: &str,
    anchors: &HashMap<DisclosureId, Anchor>,
) -> std::result::Result<String, Error> {
    let updated = rows.first().map_or(0, |r| r.updated_at);
    let mut feed = atom::Feed::default();
    feed.set_namespaces(
        [("at".to_owned(), "http://purl.org/atompub/tombstones/1.0".to_owned())]
            .into_iter()
            .collect::<std::collections::BTreeMap<_, _>>(),
    );
    let scope = if agency.is_empty() { String::new() } else { format!(":{agency}") };
    feed.set_id(format!("urn:sanxiang:feed{scope}"));
    feed.set_updated(atom_time(updated));
    let query = if agency.is_empty() {
        String::new()
    } else {
        format!("?agency={}", url::form_urlencoded::byte_serialize(agency.as_bytes()).collect::<String>())
    };
    feed.set_links(vec![
        atom_link(format!("/feed.atom{query}"), "self", "application/atom+xml"),
        atom_link(format!("/{query}"), "alternate", "text/html"),
    ]);
    let mut entries = Vec::new();
    let mut tombstones = Vec::new();
    let mut title = "行政执法公示".to_owned();
    for d in rows {
        let c = content::from_json(&d.content)?;
        if !agency.is_empty() && !c.agency_name.is_empty() && feed.authors.is_empty() {
            // One agency's feed: the agency is the feed's author too.
            feed.set_authors(vec![atom_agency(&d.agency_id, &c.agency_name)]);
            title = format!("{} 行政执法公示", c.agency_name);
        }
        match d.status.as_str() {
            status::WITHDRAWN | status::ENDED | status::EXPIRED => tombstones.push(atom_tombstone(d)),
            _ => entries.push(atom_entry(d, &c, anchors.get(&d.id))),
        }
    }
    feed.set_title(title);
    feed.set_entries(entries);
    if !tombstones.is_empty() {
        feed.extensions.entry("at".to_owned()).or_default().insert("deleted-entry".to_owned(), tombstones);
    }
    atom_text(feed.write_to(Vec::new()))
}

/// The Atom entry document (RFC 5023) of one public disclosure; one that left the listings answers
/// as `GET /v1/disclosures/{id}` does (`410 Gone` with its tombstone).
async fn decision_entry(State(s): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Result<Response> {
    let d = s.publicity.get(&DisclosureId::parse("disclosure_id", &id)?).await?;
    if d.status == status::EXPIRED || d.status == status::ENDED {
        return one(State(s), headers, Path(id)).await;
    }
    let c = content::from_json(&d.content)?;
    let anchor = s.publicity.anchor(&d).await?;
    let xml = atom_text(atom_entry(&d, &c, anchor.as_ref()).write_to(Vec::new()))?;
    Ok(cached(&headers, "application/atom+xml;type=entry; charset=utf-8", 60, xml))
}

/// First characters that make a spreadsheet program read a cell as a formula (or, for tab and
/// carriage return, hide one): such a cell is written with a leading `'`, as the OWASP guidance on
/// CSV injection says, so that it is shown as text and never evaluated.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A cell as written: one that could be read as a formula gets a leading `'`.
fn neutralise(value: &str) -> std::borrow::Cow<'_, str> {
    if value.starts_with(FORMULA_STARTS) { format!("'{value}").into() } else { value.into() }
}

/// The CSV writer of the exports (RFC 4180 with CRLF). `'` is declared its comment character
/// only so that the `csv` crate quotes every cell holding one: a neutralised cell (`'=…`) is
/// always written quoted, as the OWASP guidance says; nothing is ever read back with it.
pub(crate) fn csv_writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).comment(Some(b'\'')).from_writer(Vec::new())
}

pub(crate) fn csv_row(w: &mut csv::Writer<Vec<u8>>, fields: &[&str]) -> std::result::Result<(), Error> {
    w.write_record(fields.iter().map(|f| neutralise(f).into_owned())).map_err(|e| Error::Internal(format!("csv: {e}")))
}

/// What the writer holds so far, taken out of it (it goes on with a fresh writer).
pub(crate) fn csv_take(w: &mut csv::Writer<Vec<u8>>) -> std::result::Result<String, Error> {
    let bytes = std::mem::replace(w, csv_writer()).into_inner().map_err(|e| Error::Internal(format!("csv: {e}")))?;
    String::from_utf8(bytes).map_err(|e| Error::Internal(format!("csv: {e}")))
}

#[cfg(test)]
mod csv_cells {
    use super::{csv_row, csv_take, csv_writer};

    /// The cell `v` as written in a row (between the start and the next cell).
    fn cell(v: &str) -> String {
        let mut w = csv_writer();
        csv_row(&mut w, &[v, "next"]).unwrap();
        let row = csv_take(&mut w).unwrap();
        row.strip_suffix(",next\r\n").expect("one row").to_owned()
    }

    #[test]
    fn cells_that_could_be_formulas_are_text() {
        assert_eq!(cell("=HYPERLINK(\"http://x\",\"y\")"), "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
        assert_eq!(cell("=cmd|' /C calc'!A0"), "\"'=cmd|' /C calc'!A0\"");
        assert_eq!(cell("+SUM(1,1)"), "\"'+SUM(1,1)\"");
        assert_eq!(cell("-2+3"), "\"'-2+3\"");
        assert_eq!(cell("@SUM(A1)"), "\"'@SUM(A1)\"");
        assert_eq!(cell("\t=1"), "\"'\t=1\"");
        assert_eq!(cell("\r=1"), "\"'\r=1\"");
        // Ordinary cells are unchanged; a formula character inside a cell is harmless.
        assert_eq!(cell("福州某某贸易有限公司"), "福州某某贸易有限公司");
        assert_eq!(cell("0.5"), "0.5");
        assert_eq!(cell("a=b"), "a=b");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("a\"b"), "\"a\"\"b\"");
        assert_eq!(cell(""), "");
    }

    #[test]
    fn rows_end_with_crlf() {
        let mut w = csv_writer();
        csv_row(&mut w, &["a", "b"]).unwrap();
        csv_row(&mut w, &["c", "d"]).unwrap();
        assert_eq!(csv_take(&mut w).unwrap(), "a,b\r\nc,d\r\n");
    }
}

/// Writes rows of a CSV export.
type CsvRows = fn(&mut csv::Writer<Vec<u8>>, &[disclosure::Model]) -> std::result::Result<(), Error>;

/// A CSV export of every currently published disclosure of `kind`, newest first, streamed page by
/// page: memory stays bounded by one page however long the listing is. The body is produced
/// while it is sent, so it has no ETag; an error midway ends the response early (the client sees
/// a truncated body, never a partial file presented as whole: the length is not announced).
fn csv_export(
    s: AppState,
    agency: Option<AgencyId>,
    kind: &'static str,
    header: &'static [&'static str],
    rows: CsvRows,
    filename: &'static str,
) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<std::result::Result<String, std::io::Error>>(4);
    tokio::spawn(async move {
        let mut w = csv_writer();
        // A BOM, so spreadsheet programs read UTF-8, then the header.
        let first = csv_row(&mut w, header).and_then(|()| csv_take(&mut w)).map(|h| format!("\u{feff}{h}"));
        let sent = match first {
            Ok(h) => tx.send(Ok(h)).await,
            Err(e) => tx.send(Err(std::io::Error::other(e.to_string()))).await,
        };
        if sent.is_err() {
            return;
        }
        let mut cursor = String::new();
        loop {
            let page = match s.publicity.public_page_of(agency.as_ref(), Some(kind), &cursor, EXPORT_CHUNK).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(error = %e, "CSV export failed midway");
                    let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                    return;
                }
            };
            // The public listing also holds withdrawals; the exports list decisions in force.
            let published: Vec<disclosure::Model> =
                page.rows.into_iter().filter(|d| d.status == status::PUBLISHED).collect();
            let chunk = match rows(&mut w, &published).and_then(|()| csv_take(&mut w)) {
                Ok(c) => c,
                Err(e) => {
                    let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                    return;
                }
            };
            if !chunk.is_empty() && tx.send(Ok(chunk)).await.is_err() {
                return; // the client went away
            }
            match page.next_cursor {
                Some(c) => cursor = c,
                None => return,
            }
        }
    });
    let mut r = Response::new(Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx)));
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

/// The 行政处罚 (CF) export of the 双公示 field set, amounts in 万元 (RULES P9).
async fn export_cf(State(s): State<AppState>, Query(q): Query<FeedQuery>) -> Result<Response> {
    Ok(csv_export(s, agency_filter(&q.agency)?, "penalty", &CF_FIELDS, cf_rows, "cf.csv"))
}

/// The 行政许可 (XK) export of the 双公示 field set (RULES P9).
async fn export_xk(State(s): State<AppState>, Query(q): Query<FeedQuery>) -> Result<Response> {
    Ok(csv_export(s, agency_filter(&q.agency)?, "licensing", &XK_FIELDS, xk_rows, "xk.csv"))
}

fn remark(d: &disclosure::Model) -> String {
    d.correction_reason.as_deref().map(|r| format!("更正：{r}")).unwrap_or_default()
}

/// A whole CF export of `rows`: a BOM, the header, the rows.
#[cfg(any(test, feature = "testgen"))]
pub(crate) fn cf_csv(rows: &[disclosure::Model]) -> std::result::Result<String, Error> {
    let mut w = csv_writer();
    csv_row(&mut w, &CF_FIELDS)?;
    cf_rows(&mut w, rows)?;
    Ok(format!("\u{feff}{}", csv_take(&mut w)?))
}

/// A whole XK export of `rows`: a BOM, the header, the rows.
#[cfg(any(test, feature = "testgen"))]
pub(crate) fn xk_csv(rows: &[disclosure::Model]) -> std::result::Result<String, Error> {
    let mut w = csv_writer();
    csv_row(&mut w, &XK_FIELDS)?;
    xk_rows(&mut w, rows)?;
    Ok(format!("\u{feff}{}", csv_take(&mut w)?))
}

/// CF rows of `rows`.
fn cf_rows(out: &mut csv::Writer<Vec<u8>>, rows: &[disclosure::Model]) -> std::result::Result<(), Error> {
    for d in rows {
        let c = content::from_json(&d.content)?;
        // 处罚有效期 is how long the penalty is in effect, 公示截止期 how long it is public.
        let in_effect = penalty_in_effect_until(&crate::disclosure::stored_facts(d)?.publication()).to_string();
        let end = d.publication_end.clone().unwrap_or_default();
        let (fine, confiscation, remark) = (wan_yuan(c.fine_fen), wan_yuan(c.confiscation_fen), remark(d));
        let code = c.party_credit_code.as_str();
        let row: [&str; 28] = [
            &c.party_name,
            &c.party_category,
            code,
            "",
            "",
            "",
            "",
            "",
            &c.legal_representative,
            &c.id_type,
            &c.id_number_masked,
            &c.document_number,
            &c.violation_type,
            &c.facts,
            &c.legal_basis,
            &c.penalty_types,
            &c.content,
            &fine,
            &confiscation,
            &c.licences_affected,
            &c.decision_date,
            &in_effect,
            &end,
            &c.agency_name,
            &c.agency_credit_code,
            &c.agency_name,
            &c.agency_credit_code,
            &remark,
        ];
        csv_row(out, &row)?;
    }
    Ok(())
}

/// XK rows of `rows`.
fn xk_rows(out: &mut csv::Writer<Vec<u8>>, rows: &[disclosure::Model]) -> std::result::Result<(), Error> {
    for d in rows {
        let c = content::from_json(&d.content)?;
        let doc_name = if c.licensing_action.is_empty() {
            "行政许可决定书".to_owned()
        } else {
            format!("{}决定书", c.licensing_action)
        };
        let remark = remark(d);
        let row: [&str; 23] = [
            &c.party_name,
            &c.party_credit_code,
            "",
            "",
            "",
            "",
            "",
            &c.legal_representative,
            &doc_name,
            &c.document_number,
            &c.violation_type,
            &c.licence_name,
            &c.licence_number,
            &c.content,
            &c.decision_date,
            &c.valid_from,
            &c.valid_to,
            &c.agency_name,
            &c.agency_credit_code,
            "有效",
            &c.agency_name,
            &c.agency_credit_code,
            &remark,
        ];
        csv_row(out, &row)?;
    }
    Ok(())
}

/// The public site's listing page, with search and paging ([`crate::site`]).
async fn index(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<crate::site::SiteQuery>,
) -> Result<Response> {
    let (code, html) = crate::site::home(&s.publicity, &q).await?;
    Ok(page(&headers, code, 30, html))
}

/// A decision's readable page.
async fn decision_page(State(s): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Result<Response> {
    let (code, html) = crate::site::decision(&s.publicity, &DisclosureId::parse("disclosure_id", &id)?).await?;
    Ok(page(&headers, code, 60, html))
}

/// An agency's notices and roster.
async fn agency_page(State(s): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Result<Response> {
    let html = crate::site::agency(&s.publicity, &AgencyId::parse("agency", &id)?).await?;
    Ok(page(&headers, StatusCode::OK, 300, html))
}

/// A certificate card as the public verifies it (RULES C2), or 404.
async fn card(s: &AppState, number: &str) -> Result<sanxiang_registry::registry::CardCheck> {
    Ok(s.publicity
        .recorder()
        .registry()
        .check_card(number)
        .await?
        .ok_or_else(|| Error::not_found("certificate", number))?)
}

/// The page a certificate card's QR code leads to.
async fn certificate_page(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(number): Path<String>,
) -> Result<Response> {
    let html = crate::site::certificate(&card(&s, &number).await?)?;
    Ok(page(&headers, StatusCode::OK, 60, html))
}

/// The QR code printed on a certificate card (RULES C2): the absolute address of the card's
/// page, as SVG. Unknown numbers are 404, like the page.
async fn certificate_qr(State(s): State<AppState>, headers: HeaderMap, Path(number): Path<String>) -> Result<Response> {
    let c = card(&s, &number).await?;
    let svg = crate::site::qr_svg(&s.base_url.join(&crate::site::certificate_url(&c.number)))?;
    Ok(cached(&headers, "image/svg+xml", 3600, svg))
}

/// A certificate card as JSON.
async fn certificate_json(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(number): Path<String>,
) -> Result<Response> {
    let c = card(&s, &number).await?;
    let body = json!({
        "number": c.number,
        "holder": c.holder,
        "agency_id": c.agency_id,
        "agency_name": c.agency_name,
        "kind": c.kind.as_str(),
        "category": c.category,
        "issuer": c.issuer,
        "valid_from": c.valid_from.to_string(),
        "valid_until": c.valid_until.to_string(),
        "state": if c.replaced.is_some() { "replaced" } else { c.state.as_str() },
        "usable": c.replaced.is_none() && c.state == sanxiang_domain::officer::CertificateState::Active,
        "verdict": crate::site::card_verdict(&c),
        "replaced_on": c.replaced.as_ref().map(|(on, _)| on.to_string()),
        "replaced_by": c.replaced.as_ref().map(|(_, n)| n.clone()),
        "url": s.base_url.join(&crate::site::certificate_url(&c.number)),
        "qr_svg": format!("{}/qr.svg", crate::site::certificate_url(&c.number)),
    });
    Ok(cached(&headers, "application/json", 60, body.to_string()))
}

/// The site's stylesheet.
async fn stylesheet(headers: HeaderMap) -> Response {
    cached(&headers, "text/css; charset=utf-8", 3600, crate::site::CSS.to_owned())
}

/// An HTML page: cached like every answer; one that is not `200` keeps its status.
fn page(headers: &HeaderMap, code: StatusCode, max_age: u32, html: String) -> Response {
    let mut r = cached(headers, "text/html; charset=utf-8", max_age, html);
    if r.status() == StatusCode::OK {
        *r.status_mut() = code;
    }
    r
}

/// The listing page of `rows`, as the site shows them.
#[cfg(any(test, feature = "testgen"))]
pub(crate) fn index_html(rows: &[disclosure::Model]) -> std::result::Result<String, Error> {
    crate::site::listing_html(rows)
}

#[cfg(test)]
mod tests {

    #[test]
    fn public_url_is_an_absolute_site_address() {
        use super::PublicUrl;
        let u = PublicUrl::parse("https://gs.example.gov.cn/gongshi/").unwrap();
        assert_eq!(u.join("/certificates/A1"), "https://gs.example.gov.cn/gongshi/certificates/A1");
        assert_eq!(PublicUrl::parse("http://127.0.0.1:8080").unwrap().join("/x"), "http://127.0.0.1:8080/x");
        for bad in ["gs.example.gov.cn", "/gongshi", "ftp://gs.example.gov.cn", "https://gs.example.gov.cn/?a=1"] {
            assert!(PublicUrl::parse(bad).is_err(), "{bad}");
        }
        assert!(PublicUrl::parse("https://user:pw@gs.example.gov.cn").is_err());
        assert!(PublicUrl::parse("https://gs.example.gov.cn/#top").is_err());
        let listener = PublicUrl::of_listener("127.0.0.1:8443".parse().unwrap(), true);
        assert_eq!(listener.join("/"), "https://127.0.0.1:8443/");
    }
    use proptest::prelude::*;

    use crate::testgen::{check, compact, generate};

    /// The check can fail: every generated secret is in the decision's text as written (in its
    /// folded form), so an output that published the text unmasked would be caught.
    #[test]
    fn every_generated_secret_is_embedded_and_would_be_caught() {
        for seed in 0..200 {
            let g = generate(seed);
            let raw: String =
                ["facts", "legal_basis", "violation_type", "decision_content", "licences_affected", "licence_name"]
                    .iter()
                    .filter_map(|k| g.draft.get(k).and_then(sanxiang_domain::canonical::Value::as_str))
                    .chain([g.revision_reason.as_str(), g.correction_reason.as_str()])
                    .collect();
            let folded = compact(&raw);
            for (kind, s) in &g.secrets {
                assert!(folded.contains(&compact(s)), "seed {seed}: {kind} {s} not in {raw}");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Decisions carrying ID numbers, mobiles, landlines, bank cards, addresses, health
        /// information, e-mail addresses, QQ / WeChat ids, plates, passports and names — in
        /// every phrasing class of the generator (`testgen`) — spread over every free-text
        /// field and the revision and correction reasons, never show any of it, in any folded
        /// form, in any public output (gRPC, JSON, Atom, CF/XK CSV, HTML); article numbers,
        /// document numbers, amounts, dates, the agency and the officers stay intact.
        #[test]
        fn public_outputs_never_contain_private_data(seed in any::<u64>()) {
            let g = generate(seed);
            let f = check(&g);
            prop_assert!(f.is_clean(), "seed {}: {:?}\n{:?}", seed, f, g);
        }
    }
}
