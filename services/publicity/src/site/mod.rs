//! The public site: server-rendered pages (askama templates in `templates/`, one stylesheet in
//! `static/site.css`, no script) over exactly what the public feed publishes — the masked content
//! of public disclosures ([`crate::content::Content`]), the agencies' notices and rosters.
//!
//! - `/`: the listing with search (agency, party name as published, document number, decision
//!   type, decision date range) as a GET form, and keyset paging (one indexed query per page,
//!   [`query::search`]);
//! - `/decisions/{id}`: one decision as a citizen reads a 公示: amounts in 元 (and 万元), dates,
//!   the legal basis, what was decided, withdrawal, end of publication, and links to its JSON and
//!   Atom entry, and its inclusion proof in the verifiable log ([`proof_url`]);
//! - `/agencies/{id}`: the agency's notices before enforcement (事前公开) and its roster.

pub mod query;

use askama::Template;
use axum::http::StatusCode;
use chrono::NaiveDate;
use chrono_tz::Tz;
use sanxiang_domain::id::{AgencyId, DisclosureId};
use sanxiang_domain::officer::{CertificateKind, CertificateState, stored_zone};
use sanxiang_domain::publicity::wan_yuan;
use sanxiang_domain::{Error, Result, Timestamp};
use sanxiang_store::entity::disclosure;

use crate::anchor::Anchor;
use serde::Deserialize;

use crate::content::{self, Content};
use crate::disclosure::Publicity;
use crate::rows::status;

/// The stylesheet, served at [`CSS_PATH`].
pub const CSS: &str = include_str!("../../static/site.css");
/// Where the stylesheet is served.
pub const CSS_PATH: &str = "/static/site.css";
/// Entries per listing page.
pub const PAGE_SIZE: u32 = 20;

/// Decision types a visitor may filter by: case kinds as stored, and their names.
pub const KINDS: [(&str, &str); 5] = [
    ("penalty", "行政处罚"),
    ("licensing", "行政许可"),
    ("compulsion", "行政强制"),
    ("inspection", "行政检查"),
    ("other", "其他"),
];

fn kind_name(kind: &str) -> &'static str {
    KINDS.iter().find(|(k, _)| *k == kind).map_or("行政执法决定", |(_, n)| n)
}

/// The address of the inclusion proof of a disclosure's anchoring event in the verifiable log
/// (`GET /v1/disclosures/{id}/proof`, docs/CHAIN.md §8.7); `None` when the disclosure has no
/// anchor (its content matches no digest its record carries) or has left the listings.
pub fn proof_url(d: &disclosure::Model, anchor: Option<&Anchor>) -> Option<String> {
    let gone = d.status == status::EXPIRED || d.status == status::ENDED;
    anchor.filter(|_| !gone).map(|_| crate::anchor::proof_path(&d.id))
}

/// The query of the listing page, as the search form sends it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SiteQuery {
    pub agency: String,
    pub party: String,
    pub doc: String,
    pub kind: String,
    pub from: String,
    pub to: String,
    pub cursor: String,
}

impl SiteQuery {
    fn trimmed(&self) -> Self {
        Self {
            agency: self.agency.trim().to_owned(),
            party: self.party.trim().to_owned(),
            doc: self.doc.trim().to_owned(),
            kind: self.kind.trim().to_owned(),
            from: self.from.trim().to_owned(),
            to: self.to.trim().to_owned(),
            cursor: self.cursor.trim().to_owned(),
        }
    }

    fn filtered(&self) -> bool {
        [&self.agency, &self.party, &self.doc, &self.kind, &self.from, &self.to].iter().any(|v| !v.is_empty())
    }

    /// The filter, or the first field that is not acceptable.
    fn filter(&self) -> Result<query::Filter> {
        let term = |field: &str, v: &str| {
            if v.chars().count() > query::MAX_TERM {
                Err(Error::invalid(field, format!("at most {} characters", query::MAX_TERM)))
            } else if v.chars().any(char::is_control) {
                // Neither a name nor a number holds one; PostgreSQL text cannot hold NUL.
                Err(Error::invalid(field, "a control character"))
            } else {
                Ok(v.to_owned())
            }
        };
        let date = |field: &str, v: &str| {
            if v.is_empty() {
                return Ok(None);
            }
            NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| Error::invalid(field, "not a date (YYYY-MM-DD)"))
        };
        if !self.kind.is_empty() && !KINDS.iter().any(|(k, _)| *k == self.kind) {
            return Err(Error::invalid("kind", "not a decision type"));
        }
        let f = query::Filter {
            agency: term("agency", &self.agency)?,
            party: term("party", &self.party)?,
            document_number: term("doc", &self.doc)?,
            kind: self.kind.clone(),
            from: date("from", &self.from)?,
            to: date("to", &self.to)?,
        };
        if let (Some(a), Some(b)) = (f.from, f.to)
            && a > b
        {
            return Err(Error::invalid("from", "after the end of the date range"));
        }
        query::parse_cursor(&self.cursor)?;
        Ok(f)
    }

    /// The address of the listing with these filters, at `cursor` (empty: the first page).
    fn url(&self, cursor: &str) -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("agency", &self.agency),
            ("party", &self.party),
            ("doc", &self.doc),
            ("kind", &self.kind),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if !v.is_empty() {
                s.append_pair(k, v);
            }
        }
        if !cursor.is_empty() {
            s.append_pair("cursor", cursor);
        }
        let q = s.finish();
        if q.is_empty() { "/".to_owned() } else { format!("/?{q}") }
    }
}

/// A listed decision.
#[derive(Debug)]
struct Row {
    id: String,
    title: String,
    kind: &'static str,
    agency_name: String,
    decision_date: String,
    decision_date_iso: String,
    withdrawn: bool,
}

#[derive(Template)]
#[template(path = "home.html")]
struct Home<'a> {
    agencies: Vec<(String, String)>,
    kinds: &'static [(&'static str, &'static str)],
    form: &'a SiteQuery,
    filtered: bool,
    error: Option<String>,
    rows: Vec<Row>,
    first_url: Option<String>,
    next_url: Option<String>,
}

fn render(t: &impl Template) -> Result<String> {
    t.render().map_err(|e| Error::Internal(format!("page template: {e}")))
}

/// `2026-03-02` as `2026年3月2日`; anything else as it is.
pub fn chinese_date(iso: &str) -> String {
    match NaiveDate::parse_from_str(iso, "%Y-%m-%d") {
        Ok(d) => d.format("%Y年%-m月%-d日").to_string(),
        Err(_) => iso.to_owned(),
    }
}

fn chinese_date_at(micros: i64, tz: Tz) -> String {
    let t = Timestamp::from_micros(micros);
    sanxiang_domain::calendar::local_date(t, tz).format("%Y年%-m月%-d日").to_string()
}

/// An amount in fen as a citizen reads it: `5,000元`, `12,345.67元（1.234567万元）`.
pub fn yuan(fen: u64) -> String {
    let whole = fen / 100;
    let cents = fen % 100;
    let digits = whole.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let mut s = if cents == 0 { format!("{grouped}元") } else { format!("{grouped}.{cents:02}元") };
    if whole >= 10_000 {
        s.push_str(&format!("（{}万元）", wan_yuan(fen)));
    }
    s
}

/// The title of a decision in listings: its document number and the party's name as published.
pub fn title(c: &Content) -> String {
    [c.document_number.as_str(), c.party_name.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
}

fn row(d: &disclosure::Model) -> Result<Row> {
    let c = content::from_json(&d.content)?;
    Ok(Row {
        id: d.id.to_string(),
        title: title(&c),
        kind: kind_name(&d.case_kind),
        agency_name: c.agency_name,
        decision_date: chinese_date(&c.decision_date),
        decision_date_iso: c.decision_date,
        withdrawn: d.status == status::WITHDRAWN,
    })
}

/// The listing page of `rows` (no filters, no agencies): what the public HTML shows of them.
pub fn listing_html(rows: &[disclosure::Model]) -> Result<String> {
    let form = SiteQuery::default();
    render(&Home {
        agencies: Vec::new(),
        kinds: &KINDS,
        form: &form,
        filtered: false,
        error: None,
        rows: rows.iter().map(row).collect::<Result<_>>()?,
        first_url: None,
        next_url: None,
    })
}

/// The listing page for the query `q`: `400` with the page and the message naming the field when
/// a filter is not acceptable.
pub async fn home(p: &Publicity, q: &SiteQuery) -> Result<(StatusCode, String)> {
    let q = q.trimmed();
    let agencies = query::agencies(p).await?;
    let mut page = Home {
        agencies,
        kinds: &KINDS,
        form: &q,
        filtered: q.filtered(),
        error: None,
        rows: Vec::new(),
        first_url: None,
        next_url: None,
    };
    let filter = match q.filter() {
        Ok(f) => f,
        Err(e) => {
            page.error = Some(e.to_string());
            return Ok((StatusCode::BAD_REQUEST, render(&page)?));
        }
    };
    let found = query::search(p, &filter, &q.cursor, PAGE_SIZE).await?;
    page.rows = found.rows.iter().map(row).collect::<Result<_>>()?;
    page.next_url = found.next_cursor.as_deref().map(|c| q.url(c));
    page.first_url = (!q.cursor.is_empty()).then(|| q.url(""));
    Ok((StatusCode::OK, render(&page)?))
}

/// A decision's withdrawal as shown.
#[derive(Debug)]
struct Withdrawal {
    reason: String,
    at: String,
}

#[derive(Template)]
#[template(path = "decision.html")]
struct DecisionPage {
    title: String,
    heading: String,
    document_number: String,
    withdrawal: Option<Withdrawal>,
    ended: Option<String>,
    fields: Vec<(&'static str, String)>,
    publication: Vec<(&'static str, String)>,
    agency_url: String,
    json_url: String,
    atom_url: String,
    proof_url: Option<String>,
    /// The anchor's position and content digest, shown beside the proof's link.
    anchor: Option<(u64, u64, String)>,
}

/// The published fields of a decision, labelled as the 公示 of its kind labels them; empty
/// fields are left out.
fn fields(kind: &str, c: &Content) -> Vec<(&'static str, String)> {
    let penalty = kind == "penalty";
    let licensing = kind == "licensing";
    let mut f: Vec<(&'static str, String)> = vec![
        (
            if penalty {
                "行政处罚决定书文号"
            } else if licensing {
                "行政许可决定书文号"
            } else {
                "决定书文号"
            },
            c.document_number.clone(),
        ),
        ("行政相对人名称", c.party_name.clone()),
        ("行政相对人类别", c.party_category.clone()),
        ("统一社会信用代码", c.party_credit_code.clone()),
        ("法定代表人", c.legal_representative.clone()),
        ("证件类型", c.id_type.clone()),
        ("证件号码", c.id_number_masked.clone()),
        (if penalty { "违法行为类型" } else { "类别" }, c.violation_type.clone()),
        (if penalty { "违法事实" } else { "事实" }, c.facts.clone()),
        (if penalty { "处罚依据" } else { "依据" }, c.legal_basis.clone()),
        ("处罚类别", c.penalty_types.clone()),
        ("许可类别", c.licensing_action.clone()),
        (
            if penalty {
                "处罚内容"
            } else if licensing {
                "许可内容"
            } else {
                "决定内容"
            },
            c.content.clone(),
        ),
    ];
    if c.fine_fen > 0 {
        f.push(("罚款金额", yuan(c.fine_fen)));
    }
    if c.confiscation_fen > 0 {
        f.push(("没收违法所得、没收非法财物的金额", yuan(c.confiscation_fen)));
    }
    f.extend([
        ("暂扣或者吊销证照名称及编号", c.licences_affected.clone()),
        ("许可证书名称", c.licence_name.clone()),
        ("许可编号", c.licence_number.clone()),
        ("有效期自", chinese_date(&c.valid_from)),
        ("有效期至", chinese_date(&c.valid_to)),
        (if penalty { "处罚决定日期" } else { "决定日期" }, chinese_date(&c.decision_date)),
        (
            if penalty {
                "处罚机关"
            } else if licensing {
                "许可机关"
            } else {
                "决定机关"
            },
            c.agency_name.clone(),
        ),
        ("机关统一社会信用代码", c.agency_credit_code.clone()),
    ]);
    f.retain(|(_, v)| !v.is_empty());
    f
}

/// The readable page of one public disclosure. One that has left the listings (ended early or
/// past its 公示截止期) is its tombstone, `410 Gone`: the document number, the agency and when
/// publication ended — nothing else; one never public is `NOT_FOUND`.
pub async fn decision(p: &Publicity, id: &DisclosureId) -> Result<(StatusCode, String)> {
    let d = p.get(id).await?;
    let anchor = p.anchor(&d).await?;
    let tz = stored_zone(&p.recorder().registry().agency(&d.agency_id).await?.time_zone)?;
    let c = content::from_json(&d.content)?;
    let kind = kind_name(&d.case_kind);
    let gone = d.status == status::EXPIRED || d.status == status::ENDED;
    let mut publication = Vec::new();
    if let Some(at) = d.published_at {
        publication.push(("公示日期", chinese_date_at(at, tz)));
    }
    if let Some(end) = d.publication_end.as_deref().filter(|e| !e.is_empty()) {
        publication.push(("公示截止期", chinese_date(end)));
    }
    if let Some(r) = d.correction_reason.as_deref().filter(|r| !gone && !r.is_empty()) {
        publication.push(("更正说明", format!("第{}版：{r}", d.version)));
    }
    let ended = match d.status.as_str() {
        status::ENDED => {
            Some(format!("本信息已于{}停止公示。", d.ended_at.map(|t| chinese_date_at(t, tz)).unwrap_or_default()))
        }
        status::EXPIRED => Some(format!(
            "本信息公示期已满（公示截止期：{}），已停止公示。",
            chinese_date(d.publication_end.as_deref().unwrap_or_default())
        )),
        _ => None,
    };
    let withdrawal = (d.status == status::WITHDRAWN).then(|| Withdrawal {
        reason: d.withdrawal_reason.clone().unwrap_or_default(),
        at: d.withdrawn_at.map(|t| chinese_date_at(t, tz)).unwrap_or_default(),
    });
    let page = DecisionPage {
        title: if gone { c.document_number.clone() } else { title(&c) },
        heading: format!("{kind}决定信息公示"),
        document_number: c.document_number.clone(),
        withdrawal,
        ended,
        fields: if gone { vec![("决定机关", c.agency_name.clone())] } else { fields(&d.case_kind, &c) },
        publication,
        agency_url: format!("/agencies/{}", d.agency_id),
        json_url: format!("/v1/disclosures/{}", d.id),
        atom_url: format!("/decisions/{}/entry.atom", d.id),
        proof_url: proof_url(&d, anchor.as_ref()),
        anchor: anchor.filter(|_| !gone).map(|a| (a.global_seq, a.leaf_index(), a.content_sha256)),
    };
    Ok((if gone { StatusCode::GONE } else { StatusCode::OK }, render(&page)?))
}

/// A section of notices as shown.
#[derive(Debug)]
struct NoticeView {
    title: String,
    version: u32,
    updated: String,
    paragraphs: Vec<String>,
    items: Vec<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "agency.html")]
struct AgencyPage {
    agency_name: String,
    decisions_url: String,
    feed_url: String,
    json_url: String,
    notices: Vec<NoticeView>,
    /// Name, certificate number, category, and the certificate's page.
    roster: Vec<(String, String, String, String)>,
}

/// The agency's page: its notices before enforcement (事前公开, RULES P1) and the roster of its
/// officers with valid certificates, as `ListNotices` publishes them.
pub async fn agency(p: &Publicity, id: &AgencyId) -> Result<String> {
    let r = crate::notices::list(p, id).await?;
    let tz = stored_zone(&p.recorder().registry().agency(id).await?.time_zone)?;
    let notices = r
        .notices
        .into_iter()
        .map(|n| NoticeView {
            title: n.title,
            version: n.version,
            updated: chinese_date_at(n.updated_at.micros(), tz),
            paragraphs: n.body.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect(),
            items: n.items.into_iter().map(|i| (i.title, i.body, i.legal_basis)).collect(),
        })
        .collect();
    let q = SiteQuery { agency: r.agency_id.to_string(), ..SiteQuery::default() };
    render(&AgencyPage {
        agency_name: r.agency_name,
        decisions_url: q.url(""),
        feed_url: format!(
            "/feed.atom?agency={}",
            url::form_urlencoded::byte_serialize(r.agency_id.as_bytes()).collect::<String>()
        ),
        json_url: format!("/v1/notices/{}", r.agency_id),
        notices,
        roster: r
            .roster
            .into_iter()
            .map(|o| {
                let url = certificate_url(&o.certificate_number);
                (o.name, o.certificate_number, o.category, url)
            })
            .collect(),
    })
}

#[derive(Template)]
#[template(path = "certificate.html")]
struct CertificatePage {
    number: String,
    verdict: &'static str,
    usable: bool,
    holder: String,
    agency_name: String,
    agency_url: String,
    kind: &'static str,
    category: String,
    issuer: String,
    valid_from: String,
    valid_until: String,
    /// For a replaced card: the day, the new card's number and its page.
    replaced: Option<(String, String, String)>,
    json_url: String,
    qr_url: String,
}

/// The page of a certificate card, where its QR code leads (RULES C2): whose card it is and
/// whether it may be used for enforcement today.
pub fn certificate(card: &sanxiang_registry::registry::CardCheck) -> Result<String> {
    let replaced =
        card.replaced.as_ref().map(|(on, new)| (chinese_date(&on.to_string()), new.clone(), certificate_url(new)));
    render(&CertificatePage {
        number: card.number.clone(),
        verdict: card_verdict(card),
        usable: card.state == CertificateState::Active,
        holder: card.holder.clone(),
        agency_name: card.agency_name.clone(),
        agency_url: format!("/agencies/{}", card.agency_id),
        kind: match card.kind {
            CertificateKind::Enforcement => "行政执法证",
            CertificateKind::Supervision => "行政执法监督证",
            CertificateKind::Sector => "行业执法证件",
        },
        category: card.category.clone(),
        issuer: card.issuer.clone(),
        valid_from: chinese_date(&card.valid_from.to_string()),
        valid_until: chinese_date(&card.valid_until.to_string()),
        replaced,
        json_url: format!("/v1{}", certificate_url(&card.number)),
        qr_url: format!("{}/qr.svg", certificate_url(&card.number)),
    })
}

/// `text` as a QR code in SVG (error correction M, the usual quiet zone), as printed on a
/// certificate card (RULES C2).
pub fn qr_svg(text: &str) -> Result<String> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| Error::Internal(format!("QR code of a {}-byte address: {e}", text.len())))?;
    Ok(code.render::<qrcode::render::svg::Color>().min_dimensions(200, 200).build())
}

/// The path of a certificate card's page.
pub fn certificate_url(number: &str) -> String {
    format!("/certificates/{}", url::form_urlencoded::byte_serialize(number.as_bytes()).collect::<String>())
}

/// Whether the card may be used today, in words.
pub fn card_verdict(card: &sanxiang_registry::registry::CardCheck) -> &'static str {
    if card.replaced.is_some() {
        return "本证已换发新证，原证件作废";
    }
    match card.state {
        CertificateState::Active => "证件有效，可以从事行政执法",
        CertificateState::PendingEligibility => "持证人尚未通过资格审查，不得从事行政执法",
        CertificateState::NotValid => "证件不在有效期内，不得从事行政执法",
        CertificateState::Suspended => "证件已暂扣或暂停使用，不得从事行政执法",
        CertificateState::ReviewOverdue => "证件逾期未年审，暂停使用",
        CertificateState::ReviewFailed => "证件年审未通过，暂停使用",
        CertificateState::Ended => "证件已收回、注销或遗失作废",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_in_yuan_and_wan_yuan() {
        assert_eq!(yuan(0), "0元");
        assert_eq!(yuan(50_000), "500元");
        assert_eq!(yuan(500_000), "5,000元");
        assert_eq!(yuan(1_234_567), "12,345.67元（1.234567万元）");
        assert_eq!(yuan(1_000_000), "10,000元（1万元）");
        assert_eq!(yuan(999_999), "9,999.99元");
        assert_eq!(yuan(150_000_000), "1,500,000元（150万元）");
        assert_eq!(yuan(5), "0.05元");
    }

    #[test]
    fn dates_read_in_chinese() {
        assert_eq!(chinese_date("2026-03-02"), "2026年3月2日");
        assert_eq!(chinese_date("2031-12-31"), "2031年12月31日");
        assert_eq!(chinese_date(""), "");
    }

    #[test]
    fn the_listing_address_keeps_the_filters_and_encodes_them() {
        let q = SiteQuery { party: "某某 贸易&".into(), kind: "penalty".into(), ..SiteQuery::default() };
        assert_eq!(q.url(""), "/?party=%E6%9F%90%E6%9F%90+%E8%B4%B8%E6%98%93%26&kind=penalty");
        assert_eq!(q.url("l42"), "/?party=%E6%9F%90%E6%9F%90+%E8%B4%B8%E6%98%93%26&kind=penalty&cursor=l42");
        assert_eq!(SiteQuery::default().url(""), "/");
    }

    #[test]
    fn bad_filters_name_the_field() {
        let bad = |q: SiteQuery, field: &str| {
            let e = q.filter().expect_err("refused").to_string();
            assert!(e.contains(field), "{e}");
        };
        bad(SiteQuery { kind: "fine".into(), ..SiteQuery::default() }, "kind");
        bad(SiteQuery { from: "2026-13-01".into(), ..SiteQuery::default() }, "from");
        bad(SiteQuery { to: "yesterday".into(), ..SiteQuery::default() }, "to");
        bad(SiteQuery { from: "2026-03-02".into(), to: "2026-03-01".into(), ..SiteQuery::default() }, "from");
        bad(SiteQuery { party: "某".repeat(101), ..SiteQuery::default() }, "party");
        bad(SiteQuery { doc: "闽\u{0}".into(), ..SiteQuery::default() }, "doc");
        bad(SiteQuery { agency: "a\nb".into(), ..SiteQuery::default() }, "agency");
        bad(SiteQuery { cursor: "l0".into(), ..SiteQuery::default() }, "cursor");
        let ok = SiteQuery { from: "2026-03-01".into(), to: "2026-03-01".into(), ..SiteQuery::default() };
        assert_eq!(ok.filter().unwrap().from, NaiveDate::from_ymd_opt(2026, 3, 1));
    }
}
