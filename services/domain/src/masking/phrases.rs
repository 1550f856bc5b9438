//! Phrases in free text, found on the folded text: home addresses (after a keyword, and by the
//! shape of a street address), health information (after a keyword, in the phrasings case text
//! uses, and conditions of the lexicon), e-mail addresses and QQ / WeChat ids.

use super::normalise::is_han;
use super::numbers::{find_keyword, skip_connectors};
use super::{Kind, MASK, Marks};

/// Keywords after which free text names a home address (longest first where one contains
/// another). `(住` is the bracketed aside of a party's description: `张三（住福州市…）`.
pub const ADDRESS_KEYWORDS: [&str; 20] = [
    "家庭住址",
    "户籍地址",
    "户籍所在地",
    "现住址",
    "住所地",
    "居住地",
    "居住在",
    "居住于",
    "暂住于",
    "暂住在",
    "户籍地",
    "住址",
    "住所",
    "现住",
    "家住",
    "暂住",
    "住在",
    "地址",
    "(住",
    "住:",
];

/// Address keywords also used for organisations (an agency's or a company's address is public):
/// not taken when the clause before them names an organisation.
const SHARED_ADDRESS_KEYWORDS: [&str; 3] = ["住所", "住所地", "地址"];

/// Words naming an organisation, so that `本机关地址：…` or `公司住所：…` stay as written.
const ORGANISATION_WORDS: [&str; 10] = ["机关", "局", "公司", "单位", "法院", "政府", "委员会", "厅", "中心", "店"];

/// Words naming the agency (or another public body) before an address that is theirs.
pub(super) const AGENCY_WORDS: [&str; 6] = ["机关", "局", "法院", "政府", "委员会", "厅"];

/// Keywords after which free text states health information, up to the next punctuation.
pub const HEALTH_KEYWORDS: [&str; 10] =
    ["诊断为", "确诊为", "确诊", "被查出患有", "被查出", "查出患有", "身患", "患有", "病情", "病史"];

/// Phrasings that enclose health information: `系…患者`, `因…住院`, `有…病史`, `患…病`.
const HEALTH_FRAMES: [(&str, &str); 7] =
    [("系", "患者"), ("是", "患者"), ("因", "住院"), ("因", "就医"), ("有", "病史"), ("因", "入院"), ("因患", "")];

/// Words that make a clause about a person's health, in which the lexicon's conditions are masked.
const HEALTH_CUES: [&str; 14] = [
    "患",
    "诊断",
    "确诊",
    "病史",
    "病情",
    "住院",
    "入院",
    "查出",
    "就诊",
    "就医",
    "病假",
    "病休",
    "治疗期间",
    "身体状况",
];

/// Conditions (diseases, disabilities, treatments) masked in a clause about a person's health,
/// and shapes the last check looks for (`residual`).
pub const HEALTH_LEXICON: [&str; 64] = [
    "高血压",
    "低血压",
    "糖尿病",
    "心脏病",
    "冠心病",
    "心肌梗死",
    "心肌梗塞",
    "心梗",
    "脑梗死",
    "脑梗塞",
    "脑梗",
    "脑出血",
    "脑溢血",
    "中风",
    "偏瘫",
    "瘫痪",
    "癫痫",
    "哮喘",
    "肺结核",
    "结核病",
    "乙型肝炎",
    "丙型肝炎",
    "乙肝",
    "丙肝",
    "肝炎",
    "肝硬化",
    "艾滋病",
    "HIV",
    "梅毒",
    "淋病",
    "白血病",
    "尿毒症",
    "肾衰竭",
    "肿瘤",
    "胃癌",
    "肺癌",
    "肝癌",
    "乳腺癌",
    "癌症",
    "抑郁症",
    "抑郁",
    "焦虑症",
    "精神分裂症",
    "精神分裂",
    "精神病",
    "精神障碍",
    "双相情感障碍",
    "躁郁症",
    "强迫症",
    "自闭症",
    "孤独症",
    "智力障碍",
    "智力残疾",
    "残疾",
    "阿尔茨海默病",
    "帕金森",
    "红斑狼疮",
    "骨折",
    "怀孕",
    "妊娠",
    "流产",
    "吸毒",
    "新冠肺炎",
    "传染病",
];

/// Whether `c` ends an address or health phrase in free text (folded forms).
pub(super) fn ends_phrase(c: char) -> bool {
    matches!(c, '。' | '、' | ',' | ';' | '!' | '?' | '\n' | '\r' | ')' | ']' | '】' | '」' | '”' | '"' | '》')
}

fn chars(s: &str) -> Vec<char> {
    s.chars().collect()
}

/// The clause around `i`: from after the previous phrase end to before the next.
pub(super) fn clause(c: &[char], i: usize) -> (usize, usize) {
    let start = c[..i].iter().rposition(|&x| ends_phrase(x)).map_or(0, |p| p + 1);
    let end = c[i..].iter().position(|&x| ends_phrase(x)).map_or(c.len(), |p| i + p);
    (start, end)
}

/// Whether position `i` is inside a title in 《》 (a law's name, `《传染病防治法》`).
fn in_title(c: &[char], i: usize) -> bool {
    let open = c[..i].iter().rposition(|&x| x == '《');
    let close = c[..i].iter().rposition(|&x| x == '》');
    match (open, close) {
        (Some(o), Some(cl)) => o > cl,
        (Some(_), None) => true,
        _ => false,
    }
}

/// Masks `c[from..to]` except whitespace.
fn mask_span(marks: &mut Marks, from: usize, to: usize) {
    for j in from..to {
        if !marks.norm[j].is_whitespace() {
            marks.out[j] = Some(MASK);
        }
    }
}

/// Marks what follows a keyword up to the next punctuation.
fn mark_after(marks: &mut Marks, keywords: &[&str], shared: &[&str]) {
    let c = marks.norm.clone();
    let mut taken = vec![false; c.len()];
    for k in keywords {
        let kw = chars(k);
        for at in find_keyword(&c, &kw) {
            if taken[at] {
                continue;
            }
            if shared.contains(k) {
                let (start, _) = clause(&c, at);
                let before: String = c[start..at].iter().collect();
                if ORGANISATION_WORDS.iter().any(|w| before.contains(w)) {
                    continue;
                }
            }
            let mut j = at + kw.len();
            while j < c.len() && matches!(c[j], ':' | ' ' | '\u{3000}' | '\t') {
                j += 1;
            }
            if j < c.len() && matches!(c[j], '为' | '在' | '于' | '是') {
                j += 1;
            }
            let mut e = j;
            while e < c.len() && !ends_phrase(c[e]) {
                e += 1;
            }
            for t in taken.iter_mut().take(e).skip(at) {
                *t = true;
            }
            mask_span(marks, j, e);
        }
    }
}

/// Marks home addresses after their keywords.
pub(super) fn mark_address_keywords(marks: &mut Marks) {
    mark_after(marks, &ADDRESS_KEYWORDS, &SHARED_ADDRESS_KEYWORDS);
}

/// Characters that end a street or village name (`五一路`, `东街`, `新村`).
const STREET_ENDS: &str = "路街巷道弄里村";
/// Administrative units: the left end of a street name (`鼓楼区` before `五一路`).
const ADMIN_UNITS: &str = "省市区县镇乡州旗";
/// Units of a street number or a flat: `号`, `栋`, `幢`, `座`, `单元`, `室`, `楼`, `层`, `组`.
const NUMBER_UNITS: [&str; 11] = ["单元", "号楼", "号", "栋", "幢", "座", "室", "楼", "层", "组", "户"];
/// Characters that do not belong to a street's name when reading leftwards from it.
const NOT_IN_STREET_NAME: &str = "在于到至往从住址为是的及与和经位向对将其称：:、";

/// The end of a unit (`12号`, `3单元`, `12-3号`) starting at `j`, if one starts there.
fn unit_at(c: &[char], j: usize) -> Option<usize> {
    let mut e = j;
    while e < c.len()
        && (c[e].is_ascii_digit() || (c[e] == '-' && e > j && c.get(e + 1).is_some_and(char::is_ascii_digit)))
    {
        e += 1;
    }
    if e == j {
        return None;
    }
    NUMBER_UNITS.iter().find(|u| c[e..].starts_with(&chars(u))).map(|u| e + u.chars().count())
}

/// Marks street addresses by their shape, without a keyword: a street or village name followed
/// by a number (`五一路12号`, `新村3组12号`), and chains of at least two units naming a flat
/// (`3栋2单元501室`). The administrative units before the street (province to district) stay.
pub(super) fn mark_address_shapes(marks: &mut Marks) {
    let c = marks.norm.clone();
    let mut i = 0;
    while i < c.len() {
        let street = STREET_ENDS.contains(c[i]) && i > 0 && is_han(c[i - 1]);
        let first = if street { unit_at(&c, i + 1) } else { None };
        let chain_start = if street { i + 1 } else { i };
        let mut end = match first {
            Some(e) => Some(e),
            None if !street && (i == 0 || !c[i - 1].is_ascii_digit()) => unit_at(&c, i),
            None => None,
        };
        let Some(mut e) = end.take() else {
            i += 1;
            continue;
        };
        let mut units = 1;
        let mut flat = false;
        loop {
            let unit: String = c[chain_start..e].iter().collect();
            flat |= ["栋", "幢", "单元", "室"].iter().any(|u| unit.contains(u));
            let next = if e < c.len() && c[e] == '-' { e + 1 } else { e };
            match unit_at(&c, next) {
                Some(n) => {
                    e = n;
                    units += 1;
                }
                None => break,
            }
        }
        // The agency's own address (`本机关地址：…五一路88号`) is public.
        let (clause_start, _) = clause(&c, i);
        let before: String = c[clause_start..i].iter().collect();
        let agency = AGENCY_WORDS.iter().any(|w| before.contains(w));
        if !agency && (street || (units >= 2 && flat)) {
            let mut start = chain_start;
            if street {
                start = i;
                while start > 0
                    && i - (start - 1) <= 10
                    && is_han(c[start - 1])
                    && !ADMIN_UNITS.contains(c[start - 1])
                    && !NOT_IN_STREET_NAME.contains(c[start - 1])
                {
                    start -= 1;
                }
            }
            // A street needs a name: `的道0号` is not an address.
            if street && start == i {
                i += 1;
                continue;
            }
            mask_span(marks, start, e);
            i = e;
        } else {
            i += 1;
        }
    }
}

/// Marks health information: after its keywords, inside its phrasings, and the lexicon's
/// conditions in a clause about a person's health (not inside a title in 《》).
pub(super) fn mark_health(marks: &mut Marks) {
    mark_after(marks, &HEALTH_KEYWORDS, &[]);
    let c = marks.norm.clone();
    for (open, close) in HEALTH_FRAMES {
        let (o, cl) = (chars(open), chars(close));
        for at in find_keyword(&c, &o) {
            let from = at + o.len();
            let (_, clause_end) = clause(&c, at);
            if cl.is_empty() {
                mask_span(marks, from, clause_end.min(from + 16));
                continue;
            }
            let limit = clause_end.min(from + 16);
            let found = (from + 1..=limit.saturating_sub(cl.len())).find(|&p| c[p..].starts_with(&cl));
            if let Some(p) = found {
                mask_span(marks, from, p);
            }
        }
    }
    for term in HEALTH_LEXICON {
        let t = chars(term);
        for at in find_keyword(&c, &t) {
            if in_title(&c, at) {
                continue;
            }
            let (s, e) = clause(&c, at);
            let text: String = c[s..e].iter().collect();
            if HEALTH_CUES.iter().any(|cue| text.contains(cue)) {
                mask_span(marks, at, at + t.len());
            }
        }
    }
}

/// Whether `c` may be part of an e-mail address's local part.
fn local_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-')
}

/// Marks e-mail addresses whole, `@` included (RULES P5: other contact details).
pub(super) fn mark_emails(marks: &mut Marks) {
    let c = marks.norm.clone();
    for at in (0..c.len()).filter(|&i| c[i] == '@') {
        let mut s = at;
        while s > 0 && local_char(c[s - 1]) {
            s -= 1;
        }
        let mut e = at + 1;
        while e < c.len() && (c[e].is_ascii_alphanumeric() || matches!(c[e], '.' | '-')) {
            e += 1;
        }
        while e > at + 1 && c[e - 1] == '.' {
            e -= 1;
        }
        let domain: String = c[at + 1..e].iter().collect();
        if s < at && domain.contains('.') {
            mask_span(marks, s, e);
        }
    }
}

/// Keywords after which an instant-messaging id follows.
const IM_KEYWORDS: [&str; 10] = ["微信号", "微信", "QQ号", "QQ", "qq", "WeChat", "wechat", "weixin", "VX", "vx"];

/// Marks QQ numbers and WeChat ids after their keywords.
pub(super) fn mark_im_ids(marks: &mut Marks) {
    let c = marks.norm.clone();
    for k in IM_KEYWORDS {
        let kw = chars(k);
        for at in find_keyword(&c, &kw) {
            if c.get(at + kw.len()).is_some_and(char::is_ascii_alphabetic) && kw.iter().all(char::is_ascii) {
                continue;
            }
            let j = skip_connectors(&c, at + kw.len());
            let mut e = j;
            while e < c.len() && (c[e].is_ascii_alphanumeric() || matches!(c[e], '_' | '-')) {
                e += 1;
            }
            if e - j >= 5 {
                let positions: Vec<usize> = (j..e).collect();
                marks.apply(Kind::Whole, &positions);
            }
        }
    }
}
