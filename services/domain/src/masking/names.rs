//! Names of natural persons that nobody listed: found by jieba's part-of-speech tagging (tag
//! `nr`, a person's name) and after the role words of case text (证人, 申请人, 举报人, …), and
//! masked like a listed name, unless the name is exempt (the punished party when the agency
//! publishes its name, an officer acting in the case) or inside a public name (the agency's, an
//! organisation's).

use std::sync::LazyLock;

use jieba_rs::Jieba;

use super::normalise::is_han;
use super::{COMPOUND_SURNAMES, Marks};

/// One segmenter per process: loading its dictionary takes longer than masking many texts.
static JIEBA: LazyLock<Jieba> = LazyLock::new(Jieba::new);

/// Loads the segmenter's dictionary now (at start-up rather than on the first publication).
pub fn warm_up() {
    LazyLock::force(&JIEBA);
}

/// Single-character surnames (the most frequent surnames of the population register, covering
/// nearly everyone). A tagged name must start with one, which keeps jieba's idioms tagged `nr`
/// (一介武夫) out.
const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝";

/// Surnames that are far more often function words or common characters (于是, 和, 时间, 成为,
/// 方面, 全部, 关于, 文件, 明确, 安全, 应当, 常年, 商品, 向, 万元, 车辆, 连续, 单位): a word the
/// tagger calls a name is not taken when it starts with one; after a role word they count.
const AMBIGUOUS_SURNAMES: &str = "于和时成方全关文明安应常商向万车连单解查计路游农古简项师许";

/// Role words after which case text names a person (longest first where one contains another).
const ROLE_WORDS: [&str; 40] = [
    "委托代理人",
    "法定代表人",
    "当事人之妻",
    "当事人之夫",
    "当事人之子",
    "当事人之女",
    "当事人之父",
    "当事人之母",
    "当事人妻子",
    "当事人丈夫",
    "实际经营者",
    "主要负责人",
    "直接负责人",
    "代理人",
    "申请人",
    "被申请人",
    "举报人",
    "投诉人",
    "被投诉人",
    "证人",
    "受害人",
    "被害人",
    "负责人",
    "经营者",
    "联系人",
    "监护人",
    "消费者",
    "驾驶员",
    "驾驶人",
    "司机",
    "员工",
    "店员",
    "雇员",
    "妻子",
    "丈夫",
    "之妻",
    "之夫",
    "患者",
    "租户",
    "房东",
];

/// Characters that end a name read after a role word (verbs and particles that follow it).
const AFTER_NAME: &str = "称在于的等系向为和与及说证陈提到是将对从被已也都均现曾因所之讲承供述经表签同";

fn surname_at(c: &[char], i: usize) -> Option<usize> {
    if i + 1 < c.len() {
        let two: String = c[i..i + 2].iter().collect();
        if COMPOUND_SURNAMES.contains(&two.as_str()) {
            return Some(2);
        }
    }
    (i < c.len() && SURNAMES.contains(c[i])).then_some(1)
}

/// Positions covered by any occurrence of `names` in `c`.
pub(super) fn covered(c: &[char], names: &[Vec<char>]) -> Vec<bool> {
    let mut out = vec![false; c.len()];
    for n in names.iter().filter(|n| !n.is_empty()) {
        let mut i = 0;
        while i + n.len() <= c.len() {
            if c[i..].starts_with(n) {
                out[i..i + n.len()].iter_mut().for_each(|x| *x = true);
                i += n.len();
            } else {
                i += 1;
            }
        }
    }
    out
}

/// Whether `c[s..e]` can be a masked name: a surname and one to three more Han characters, not
/// already masked (`张某`).
fn plausible(c: &[char], s: usize, e: usize) -> bool {
    let len = e - s;
    (2..=4).contains(&len)
        && c[s..e].iter().all(|&x| is_han(x))
        && surname_at(c, s).is_some_and(|k| k < len)
        && c[s + 1] != '某'
}

/// Whether a word the tagger calls a name is too likely an ordinary word: the dictionary tags
/// many ordinary words, terms and idioms `nr` (陈述, 许可证, 一介武夫), so only a word the
/// dictionary does not know — found by the HMM, as the names of private persons are — counts.
fn common_word(word: &str) -> bool {
    // Roles and titles (申请人, 经营者, 驾驶员, 科长) are no names.
    if word.ends_with(['人', '者', '员', '长']) || ROLE_WORDS.contains(&word) {
        return true;
    }
    JIEBA.tag(word, false).len() == 1
}

/// Marks the names found by tagging and after role words, except on `exempt` positions.
pub(super) fn mark_unlisted_names(marks: &mut Marks, exempt: &[bool]) {
    let c = marks.norm.clone();
    // Exempt names stay; a span already masked for another reason (an address) stays as it is.
    let masked: Vec<bool> = marks.out.iter().map(Option::is_some).collect();
    let free = |s: usize, e: usize| !exempt[s..e].iter().any(|&x| x) && !masked[s..e].iter().any(|&x| x);
    // Tagging: only when the text has Han characters at all.
    if c.iter().any(|&x| is_han(x)) {
        let text: String = c.iter().collect();
        let tags = JIEBA.tag(&text, true);
        for (k, tag) in tags.iter().enumerate() {
            let ambiguous = AMBIGUOUS_SURNAMES.contains(c[tag.start]);
            if tag.tag.starts_with("nr")
                && !ambiguous
                && plausible(&c, tag.start, tag.end)
                && free(tag.start, tag.end)
                && !common_word(tag.word)
            {
                marks.apply_name(tag.start, tag.end - tag.start);
                continue;
            }
            // The tagger often splits a name after its surname (周 + 婷婷, 钱 + 志强, 赵 + 建国):
            // a lone surname and a word of one or two characters, one of them tagged a name.
            let Some(next) = tags.get(k + 1) else { continue };
            let lone_surname = tag.end - tag.start == 1 && SURNAMES.contains(c[tag.start]) && !ambiguous;
            let given_len = next.end - next.start;
            if lone_surname
                && (1..=2).contains(&given_len)
                && (tag.tag.starts_with("nr") || next.tag.starts_with("nr"))
                && plausible(&c, tag.start, next.end)
                && free(tag.start, next.end)
            {
                marks.apply_name(tag.start, next.end - tag.start);
            }
        }
    }
    // Role words: `证人李四称`, `申请人：王小明、赵六`.
    for role in ROLE_WORDS {
        let r: Vec<char> = role.chars().collect();
        let mut i = 0;
        while i + r.len() <= c.len() {
            if !c[i..].starts_with(&r) {
                i += 1;
                continue;
            }
            let mut j = i + r.len();
            loop {
                while j < c.len() && matches!(c[j], ':' | ' ' | '\u{3000}') {
                    j += 1;
                }
                let Some(k) = surname_at(&c, j) else { break };
                let mut e = j + k;
                while e < c.len() && e - (j + k) < 2 && is_han(c[e]) && !AFTER_NAME.contains(c[e]) {
                    e += 1;
                }
                if e == j + k {
                    break;
                }
                if c[j + k] != '某' && free(j, e) {
                    marks.apply_name(j, e - j);
                }
                // A list of names: `李四、王五和赵六`.
                if e < c.len() && matches!(c[e], '、' | '和' | '及' | '与' | ',') {
                    j = e + 1;
                } else {
                    break;
                }
            }
            i += r.len();
        }
    }
}
