//! A generator of decisions whose free text carries personal data in the phrasings real 违法事实
//! and reasons use, and the check that none of it reaches any public output (gRPC, JSON, Atom,
//! CF/XK CSV, HTML) while article numbers, document numbers, amounts and dates stay intact.
//!
//! Used by the property test of the public outputs (`http.rs`, a few hundred cases in CI) and
//! by the soak (`examples/masking-soak.rs`, feature `testgen`, any number of cases). A decision
//! is a pure function of its seed, so a failure is reproduced from the seed alone.

use chrono::NaiveDate;
use sanxiang_domain::canonical::Value;
use sanxiang_domain::masking::normalise::fold;
use sanxiang_domain::masking::{Masker, MaskingPolicy, is_valid_id18, luhn_valid};
use sanxiang_store::entity::disclosure;

use crate::content::{self, Content, Party, PartyKind, PublicNames, Source};
use crate::rows::status;

/// The agency of every generated decision.
pub const AGENCY: &str = "福州市鼓楼区市场监督管理局";
/// The document number of every generated decision.
pub const DOCUMENT_NUMBER: &str = "闽榕市监罚〔2026〕12号";

/// SplitMix64: small, fast and good enough to spread phrasings.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T: ?Sized>(&mut self, xs: &[&'a T]) -> &'a T {
        xs[self.below(xs.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn digits(&mut self, n: usize) -> String {
        (0..n).map(|_| char::from(b'0' + self.below(10) as u8)).collect()
    }
}

const SURNAMES: [&str; 16] =
    ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "欧阳", "诸葛", "司马", "林"];
const GIVEN: [&str; 24] = [
    "小明", "建国", "秀英", "志强", "婷婷", "海燕", "子涵", "桂芳", "德华", "丽娟", "文斌", "雪梅", "国庆", "晓东",
    "春花", "永红", "伟", "芳", "娜", "敏", "静", "磊", "洋", "勇",
];
const PLACES: [&str; 6] =
    ["福州市鼓楼区", "厦门市思明区", "泉州市丰泽区", "福建省莆田市城厢区", "漳州市芗城区", "南平市延平区"];
const STREETS: [&str; 8] = ["五一路", "东街", "上渡路", "福新中路", "湖滨南路", "新华巷", "城门镇胪雷村", "后浦路"];
const CONDITIONS: [&str; 14] = [
    "高血压",
    "糖尿病",
    "抑郁症",
    "心脏病",
    "乙型肝炎",
    "肺结核",
    "精神分裂症",
    "癫痫",
    "白血病",
    "尿毒症",
    "脑梗塞",
    "乳腺癌",
    "艾滋病",
    "帕金森",
];
const FILLERS: [&str; 10] = [
    "经查，",
    "当事人在经营过程中",
    "执法人员现场检查发现",
    "上述事实有现场笔录、询问笔录等证据证实。",
    "当事人对违法事实无异议，",
    "本机关认为，",
    "责令当事人改正上述违法行为，",
    "依照有关规定，",
    "同时",
    "另查明，",
];

/// Text that must stay exactly as written: article numbers, document numbers, amounts, dates,
/// the agency's own name and address.
const KEEP: [&str; 14] = [
    "依据《中华人民共和国行政处罚法》第二十三条",
    "违反了《中华人民共和国食品安全法》第34条第1款第（十）项",
    "依据闽榕市监罚〔2026〕12号",
    "处罚款20000元",
    "没收违法所得123456.78元",
    "并处2.5万元罚款",
    "于2026年1月2日",
    "于2026-01-02送达",
    "编号20260102的检查记录",
    "统一社会信用代码91350100MA2YL3XQ1B",
    "本机关地址：福州市鼓楼区五一路88号",
    "福州市鼓楼区市场监督管理局",
    "第12345678号",
    "违反《中华人民共和国传染病防治法》",
];

/// One generated decision.
#[derive(Debug, Clone)]
pub struct Generated {
    pub seed: u64,
    /// The draft's content (the fields `content::build` reads).
    pub draft: Value,
    pub party: Party,
    pub mask_party_name: bool,
    /// The officers acting in the case (named in the text; their names must stay).
    pub officers: Vec<String>,
    /// The reasons given for a revision and for a correction.
    pub revision_reason: String,
    pub correction_reason: String,
    /// What must not appear in any output, in any folded form.
    pub secrets: Vec<(&'static str, String)>,
    /// What must appear unchanged.
    pub keep: Vec<String>,
}

fn full_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '0'..='9' | 'A'..='Z' | 'a'..='z' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
            '-' => '－',
            '@' => '＠',
            '.' => '．',
            ' ' => '\u{3000}',
            _ => c,
        })
        .collect()
}

fn id18(rng: &mut Rng) -> String {
    let region = ["350102", "110105", "440305", "310115", "410105", "510107"][rng.below(6)];
    let birth =
        NaiveDate::from_ymd_opt(1950, 1, 1).unwrap_or_default() + chrono::Duration::days(rng.below(365 * 55) as i64);
    let first17 = format!("{region}{}{}", birth.format("%Y%m%d"), rng.digits(3));
    "0123456789X".chars().map(|c| format!("{first17}{c}")).find(|id| is_valid_id18(id)).unwrap_or_default()
}

fn luhn(prefix: &str) -> String {
    (0..10).map(|d| format!("{prefix}{d}")).find(|s| luhn_valid(s)).unwrap_or_default()
}

fn group(s: &str, sizes: &[usize], sep: &str) -> String {
    let mut out = Vec::new();
    let mut at = 0;
    for &n in sizes {
        out.push(&s[at..(at + n).min(s.len())]);
        at += n;
    }
    if at < s.len() {
        out.push(&s[at..]);
    }
    out.join(sep)
}

/// A number in one of the layouts people write: plain, full-width, in （） or (), grouped with
/// spaces, dashes or dots, broken by a line, in a mixed-script label.
fn layout(rng: &mut Rng, n: &str, sizes: &[usize]) -> String {
    match rng.below(9) {
        0 => n.to_owned(),
        1 => full_width(n),
        2 => format!("（{n}）"),
        3 => format!("({n})"),
        4 => group(n, sizes, " "),
        5 => group(n, sizes, "-"),
        6 => group(n, sizes, "\n"),
        7 => full_width(&group(n, sizes, "-")),
        _ => format!("（{}）", full_width(n)),
    }
}

/// The persons of a decision: distinct names, none inside another.
fn names(rng: &mut Rng, n: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    while out.len() < n {
        let name = format!("{}{}", rng.pick(&SURNAMES), rng.pick(&GIVEN));
        if out.iter().all(|o| !o.contains(&name) && !name.contains(o.as_str())) {
            out.push(name);
        }
    }
    out
}

/// One snippet with personal data, and its secrets.
fn snippet(rng: &mut Rng, unlisted: &str) -> (String, Vec<(&'static str, String)>) {
    match rng.below(13) {
        0 => {
            let id = id18(rng);
            let label = rng.pick(&["身份证号", "公民身份号码：", "身份证", "ID:", ""]);
            (format!("{label}{}", layout(rng, &id, &[6, 8, 4])), vec![("id", id.clone()), ("id", id[6..].to_owned())])
        }
        1 => {
            // 15-digit numbers were issued until 1999: the births they carry are in the 1900s.
            let mut id = id18(rng);
            while !id[6..].starts_with("19") {
                id = id18(rng);
            }
            let old = format!("{}{}", &id[..6], &id[8..17]);
            (format!("旧身份证号{old}"), vec![("id15", old[6..].to_owned())])
        }
        2 => {
            let m = format!("1{}{}", 3 + rng.below(7), rng.digits(9));
            let text = match rng.below(4) {
                0 => group(&m, &[3, 4, 4], "."),
                1 => format!("+86 {}", layout(rng, &m, &[3, 4, 4])),
                2 => format!("Tel:{}", layout(rng, &m, &[3, 4, 4])),
                _ => layout(rng, &m, &[3, 4, 4]),
            };
            let label = rng.pick(&["联系电话", "手机", "手机号码：", "电话", "其", ""]);
            (format!("{label}{text}"), vec![("mobile", m)])
        }
        3 => {
            let area = rng.pick(&["010", "021", "0591", "0371", "0755", "0592"]);
            let n = if rng.chance(70) { 7 } else { 6 };
            let local = format!("{}{}", rng.below(10), rng.digits(n));
            let text = match rng.below(6) {
                0 => format!("{area}－{local}"),
                1 => full_width(&format!("{area}-{local}")),
                2 => format!("({area}){local}"),
                3 => format!("{area} {local}"),
                4 => format!("{area}-{local}"),
                _ => format!("（{area}）{local}"),
            };
            let label = rng.pick(&["固定电话", "电话", "座机：", "联系电话"]);
            (format!("{label}{text}"), vec![("landline", format!("{area}{local}")), ("landline", local)])
        }
        4 => {
            // A local number without its area code, after a phone keyword.
            let local = format!("{}{}", rng.below(10), rng.digits(7));
            let label = rng.pick(&["电话", "固话", "联系电话：", "座机"]);
            (format!("{label}{}", layout(rng, &local, &[4, 4])), vec![("landline", local)])
        }
        5 => {
            let len = 16 + rng.below(4);
            let prefix = format!("{}{}", rng.pick(&["62", "45", "52", "60"]), rng.digits(len - 3));
            let card = luhn(&prefix);
            let label = rng.pick(&["银行卡号", "卡号：", "账号", "尾号为"]);
            (format!("{label}{}", layout(rng, &card, &[4, 4, 4, 4])), vec![("card", card)])
        }
        6 => {
            let mut street = format!("{}{}号", rng.pick(&STREETS), 1 + rng.below(300));
            // Not the agency's own (public) address of `KEEP`: the check could not tell them apart.
            if street == "五一路88号" {
                street = "五一路87号".to_owned();
            }
            let flat = if rng.chance(50) {
                format!("{}栋{}室", 1 + rng.below(30), 101 + rng.below(2000))
            } else {
                String::new()
            };
            let place = rng.pick(&PLACES);
            let kw = rng.pick(&[
                "家住",
                "居住在",
                "暂住于",
                "户籍地址：",
                "地址：",
                "（住",
                "住址",
                "现住",
                "家庭住址为",
                "住所地：",
                "",
                "在",
            ]);
            let end = if kw.starts_with('（') { "）" } else { "，" };
            let addr = format!("{street}{flat}");
            (format!("{kw}{place}{addr}{end}"), vec![("address", addr)])
        }
        7 => {
            let cond = rng.pick(&CONDITIONS);
            let text = match rng.below(9) {
                0 => format!("经医院确诊{cond}，"),
                1 => format!("身患{cond}，"),
                2 => format!("当事人系{cond}患者，"),
                3 => format!("因{cond}住院治疗，"),
                4 => format!("被查出{cond}。"),
                5 => format!("有{cond}病史，"),
                6 => format!("患有{cond}，"),
                7 => format!("诊断为{cond}。"),
                _ => format!("确诊为{cond}；"),
            };
            (text, vec![("health", (*cond).to_owned())])
        }
        8 => {
            let user = format!("{}{}", rng.pick(&["zhang", "li.wei", "wang_x", "chen-8"]), rng.digits(3));
            let host = rng.pick(&["qq.com", "163.com", "example.com.cn", "126.com"]);
            let mail = format!("{user}@{host}");
            let text = if rng.chance(30) { full_width(&mail) } else { mail.clone() };
            (format!("{}{text}，", rng.pick(&["电子邮箱", "邮箱：", "E-mail:", ""])), vec![("email", mail)])
        }
        9 => {
            let role =
                rng.pick(&["证人", "申请人", "举报人", "投诉人", "当事人之妻", "受害人", "委托代理人", "被害人"]);
            let after = rng.pick(&["称", "在场", "证实", "，", "。", "陈述"]);
            let sep = if rng.chance(20) { "：" } else { "" };
            (format!("{role}{sep}{unlisted}{after}"), vec![("name", unlisted.to_owned())])
        }
        10 => {
            if rng.chance(50) {
                let n = 5 + rng.below(5);
                let qq = format!("{}{}", 1 + rng.below(9), rng.digits(n));
                (format!("{}{qq}，", rng.pick(&["QQ号", "QQ：", "qq"])), vec![("qq", qq)])
            } else {
                let id = format!("{}{}", rng.pick(&["wxid_", "zhang", "Li"]), rng.digits(6));
                (format!("{}{id}，", rng.pick(&["微信号", "微信：", "WeChat "])), vec![("wechat", id)])
            }
        }
        11 => {
            let body = format!("{}{}", rng.pick(&["", "D", "F"]), rng.digits(5));
            let letter = rng.pick(&["A", "B", "C", "K"]);
            let province = rng.pick(&["闽", "粤", "京", "浙"]);
            let sep = rng.pick(&["·", "", " "]);
            let plate = format!("{province}{letter}{sep}{body}");
            (format!("车牌号{plate}的车辆"), vec![("plate", format!("{province}{letter}{body}"))])
        }
        _ => {
            let (label, number) = match rng.below(4) {
                0 => ("护照号", format!("E{}", rng.digits(8))),
                1 => ("护照", format!("EA{}", rng.digits(7))),
                2 => ("港澳通行证", format!("C{}", rng.digits(8))),
                _ => ("", format!("G{}", rng.digits(8))),
            };
            (format!("{label}{number}，"), vec![("permit", number)])
        }
    }
}

/// The decision of `seed`.
pub fn generate(seed: u64) -> Generated {
    let mut rng = Rng::new(seed);
    let persons = names(&mut rng, 6);
    let (party_name, witness, officers) =
        (persons[0].clone(), persons[1].clone(), vec![persons[2].clone(), persons[3].clone()]);
    let unlisted = [persons[4].clone(), persons[5].clone()];
    let mask_party_name = rng.chance(50);
    let mut fields = vec![String::new(); 8];
    let mut secrets = Vec::new();
    let mut keep = Vec::new();
    // Personal data, some of it repeated, at the start, in the middle and at the end of fields.
    for k in 0..(4 + rng.below(10)) {
        let (text, s) = snippet(&mut rng, &unlisted[k % 2]);
        let f = rng.below(fields.len());
        let times = if rng.chance(10) { 2 } else { 1 };
        for _ in 0..times {
            // Digits written against digits are one number to anyone: real text puts
            // punctuation or words between two numbers, and so does the generator.
            let alnum =
                |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || fold(c).is_ascii_alphanumeric());
            if rng.chance(50) || fields[f].is_empty() {
                if alnum(fields[f].chars().last()) && alnum(text.chars().next()) {
                    fields[f].push('，');
                }
                fields[f].push_str(&text);
            } else {
                let glue = if alnum(text.chars().last()) && alnum(fields[f].chars().next()) { "，" } else { "" };
                fields[f].insert_str(0, &format!("{text}{glue}"));
            }
            if rng.chance(60) {
                fields[f].push_str(rng.pick(&FILLERS));
            }
        }
        secrets.extend(s);
    }
    for _ in 0..(1 + rng.below(4)) {
        let k = rng.pick(&KEEP);
        let f = rng.below(fields.len());
        fields[f].push_str(rng.pick(&FILLERS));
        fields[f].push_str(k);
        fields[f].push('，');
        keep.push(k.to_owned());
    }
    // The listed witness, the party and the officers.
    fields[0].push_str(&format!(
        "证人{witness}证实，当事人{party_name}对事实无异议，执法人员{}、{}在场。",
        officers[0], officers[1]
    ));
    secrets.push(("name", witness.clone()));
    if mask_party_name {
        secrets.push(("name", party_name.clone()));
    }
    keep.extend(officers.iter().cloned());
    let draft = Value::object()
        .with("facts", fields[0].as_str())
        .with("legal_basis", fields[1].as_str())
        .with("violation_type", fields[2].as_str())
        .with("decision_content", fields[3].as_str())
        .with("licences_affected", fields[4].as_str())
        .with("licence_name", fields[5].as_str())
        .with("penalties", Value::Array(vec![Value::object().with("type", "罚款").with("amount_fen", 100_000u64)]))
        .with("other_persons", Value::Array(vec![Value::from(witness.as_str())]));
    let party = Party {
        kind: PartyKind::NaturalPerson,
        name: party_name,
        credit_code: String::new(),
        id_type: "身份证".into(),
        id_number: id18(&mut rng),
        legal_representative: String::new(),
        address: String::new(),
        phone: String::new(),
        is_minor: false,
    };
    Generated {
        seed,
        draft,
        party,
        mask_party_name,
        officers,
        revision_reason: fields[6].clone(),
        correction_reason: fields[7].clone(),
        secrets,
        keep,
    }
}

/// The masking pipeline of a generated decision and its masked public content.
pub fn public_content(g: &Generated) -> (Masker, Content) {
    let public = PublicNames { officers: g.officers.clone(), agency: AGENCY.to_owned() };
    let draft = content::DraftContent::from_stored("generated", &g.draft).expect("the generated draft is well formed");
    let masker = content::masker(MaskingPolicy { mask_party_name: g.mask_party_name }, &g.party, &draft, &[], &public)
        .expect("generated names are valid");
    let c = content::build(
        Source {
            agency_name: AGENCY,
            agency_credit_code: "11350100MB0000000X",
            party: &g.party,
            draft: &draft,
            document_number: DOCUMENT_NUMBER,
            decision_date: "2026-03-02",
        },
        &masker,
    );
    (masker, c)
}

/// Every public output of a generated decision: the gRPC message, JSON (published and
/// withdrawn), Atom, the CF and XK exports and the HTML page.
pub fn outputs(g: &Generated) -> Vec<(&'static str, String)> {
    let (masker, c) = public_content(g);
    let json = content::to_json(&c).expect("content encodes");
    let row = |st: &str| disclosure::Model {
        id: "d1".into(),
        agency_id: "a1".into(),
        case_id: "d1".into(),
        case_kind: "penalty".into(),
        status: st.into(),
        version: 2,
        content: json.clone(),
        facts: "{}".into(),
        decided_at: 0,
        decision_date: "2026-03-02".into(),
        due_date: "2026-03-11".into(),
        due_provisional: false,
        published_at: Some(1),
        publication_end: Some("2029-03-02".into()),
        publication_end_at: None,
        exclusion_code: None,
        exclusion_reason: None,
        revision: Some("revocation".into()),
        revised_at: None,
        withdrawal_reason: Some(masker.mask_text(&g.revision_reason)),
        withdrawal_due_date: None,
        withdrawal_due_provisional: false,
        withdrawn_at: Some(2),
        correction_reason: Some(masker.mask_text(&g.correction_reason)),
        ended_at: None,
        listed_seq: Some(1),
        feed_seq: Some(1),
        updated_at: 2,
    };
    let (published, withdrawn) = (row(status::PUBLISHED), row(status::WITHDRAWN));
    let today = NaiveDate::from_ymd_opt(2026, 3, 3).unwrap_or_default();
    let now = sanxiang_domain::Timestamp::from_micros(
        today.and_hms_opt(12, 0, 0).unwrap_or_default().and_utc().timestamp_micros(),
    );
    // What the gRPC edge encodes of a disclosure: the view's content and spans and the row's
    // text columns (the edge adds only ids, numbers and times).
    let grpc = crate::disclosure::view_at(published.clone(), today, now)
        .map(|v| {
            let d = &v.row;
            format!(
                "{:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
                v.status,
                v.content,
                v.held_spans,
                d.exclusion_reason,
                d.revision,
                d.withdrawal_reason,
                d.correction_reason,
                d.publication_end,
                d.due_date
            )
        })
        .unwrap_or_default();
    let both = [published.clone(), withdrawn.clone()];
    let mut licence = published.clone();
    licence.case_kind = "licensing".into();
    let http = |r: Result<String, sanxiang_domain::Error>| r.unwrap_or_else(|e| format!("error {e}"));
    vec![
        ("grpc", grpc),
        ("json", http(crate::http::disclosure_json(&published, None).map(|j| j.to_string()))),
        ("json withdrawn", http(crate::http::disclosure_json(&withdrawn, None).map(|j| j.to_string()))),
        ("atom", http(crate::http::atom_xml(&both, "", &std::collections::HashMap::new()))),
        ("cf", http(crate::http::cf_csv(&both))),
        ("xk", http(crate::http::xk_csv(&[licence]))),
        ("html", http(crate::http::index_html(&both))),
    ]
}

/// A text folded for comparison: NFKC character by character, escaped line breaks and every
/// separator removed, so a number survives in any layout it was written in.
pub fn compact(s: &str) -> String {
    s.replace("\\n", "")
        .replace("\\r", "")
        .chars()
        .map(fold)
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '\n' | '\r' | '\t' | '(' | ')' | '\u{3000}'))
        .collect()
}

/// What went wrong with one generated decision.
#[derive(Debug, Default)]
pub struct Findings {
    /// (output, kind, secret) that survived.
    pub leaks: Vec<(&'static str, &'static str, String)>,
    /// Text that had to stay and did not (output, text).
    pub over_masked: Vec<(&'static str, String)>,
}

impl Findings {
    /// Nothing went wrong.
    pub fn is_clean(&self) -> bool {
        self.leaks.is_empty() && self.over_masked.is_empty()
    }
}

/// Checks every output of `g`: no secret in any folded form, every kept text intact in the
/// JSON (which carries every field), the document number in every output.
pub fn check(g: &Generated) -> Findings {
    let mut f = Findings::default();
    let outs = outputs(g);
    for (name, text) in &outs {
        let folded = compact(text);
        for (kind, s) in &g.secrets {
            if text.contains(s.as_str()) || folded.contains(&compact(s)) {
                f.leaks.push((name, kind, s.clone()));
            }
        }
        if !text.contains(DOCUMENT_NUMBER) && *name != "grpc" {
            f.over_masked.push((name, DOCUMENT_NUMBER.to_owned()));
        }
    }
    let json: String = outs.iter().filter(|(n, _)| *n == "json").map(|(_, t)| t.clone()).collect();
    for k in &g.keep {
        if !json.contains(k.as_str()) {
            f.over_masked.push(("json", k.clone()));
        }
    }
    f
}
