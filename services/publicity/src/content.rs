//! The public content of a decision: built from the decision's draft, the case's party and the
//! agency, with every field passed through the one masking pipeline (RULES P5).
//!
//! Nothing reaches the public surface except through [`Content`]: the party's address and phone
//! number are not part of it at all, its ID number only masked, and every free-text field is
//! masked with [`Masker::mask_text`], which replaces characters one for one, so apart from the
//! masking the text equals the decision (SAMR Art. 7).

use sanxiang_domain::canonical::Value;
use sanxiang_domain::catalog::PenaltyType;
use sanxiang_domain::masking::{Masker, MaskingPolicy, PartyNames, Suspicious, mask_id_number, residual};
use sanxiang_domain::publicity::PublicationFacts;
use sanxiang_domain::{Error, Result};
use sanxiang_proto::v1 as pb;
use serde::{Deserialize, Serialize};

/// The masked public content of a decision, as stored and served (JSON field names are those
/// of `DisclosureContent` in the API).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Content {
    pub party_name: String,
    pub party_category: String,
    pub party_credit_code: String,
    pub legal_representative: String,
    pub id_type: String,
    pub id_number_masked: String,
    pub document_number: String,
    pub violation_type: String,
    pub facts: String,
    pub legal_basis: String,
    pub penalty_types: String,
    pub content: String,
    pub fine_fen: u64,
    pub confiscation_fen: u64,
    pub licences_affected: String,
    pub decision_date: String,
    pub agency_name: String,
    pub agency_credit_code: String,
    pub licence_name: String,
    pub licence_number: String,
    pub valid_from: String,
    pub valid_to: String,
    pub licensing_action: String,
}

impl From<Content> for pb::DisclosureContent {
    fn from(c: Content) -> Self {
        Self {
            party_name: c.party_name,
            party_category: c.party_category,
            party_credit_code: c.party_credit_code,
            legal_representative: c.legal_representative,
            id_type: c.id_type,
            id_number_masked: c.id_number_masked,
            document_number: c.document_number,
            violation_type: c.violation_type,
            facts: c.facts,
            legal_basis: c.legal_basis,
            penalty_types: c.penalty_types,
            content: c.content,
            fine_fen: c.fine_fen,
            confiscation_fen: c.confiscation_fen,
            licences_affected: c.licences_affected,
            decision_date: c.decision_date,
            agency_name: c.agency_name,
            agency_credit_code: c.agency_credit_code,
            licence_name: c.licence_name,
            licence_number: c.licence_number,
            valid_from: c.valid_from,
            valid_to: c.valid_to,
            licensing_action: c.licensing_action,
        }
    }
}

/// What a disclosure keeps about its decision to decide its period and to re-mask it: no
/// personal data beyond the names that must be masked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Facts {
    /// The draft the decision was issued on.
    pub draft_id: String,
    /// Penalty types by their Chinese names.
    pub penalties: Vec<String>,
    pub fine_fen: u64,
    pub confiscation_fen: u64,
    pub special_regime: bool,
    /// YYYY-MM-DD.
    pub restriction_ends: String,
    /// Names masked beyond the draft's `other_persons`, added by corrections.
    pub extra_masked_names: Vec<String>,
}

impl Facts {
    /// The facts that decide the publication period (RULES P7).
    pub fn publication(&self) -> PublicationFacts {
        PublicationFacts {
            penalties: self.penalties.iter().filter_map(|p| PenaltyType::parse(p)).collect(),
            fine_fen: self.fine_fen,
            special_regime: self.special_regime,
            restriction_ends: chrono::NaiveDate::parse_from_str(&self.restriction_ends, "%Y-%m-%d").ok(),
        }
    }
}

/// The party of a case, from its stored JSON.
#[derive(Debug, Clone, Default)]
pub struct Party {
    pub kind: String,
    pub name: String,
    pub credit_code: String,
    pub id_type: String,
    pub id_number: String,
    pub legal_representative: String,
    pub is_minor: bool,
}

impl Party {
    /// Reads the party stored with a case.
    pub fn from_json(text: &str) -> Result<Self> {
        let v = Value::parse(text).map_err(|_| Error::DataLoss("stored party".into()))?;
        let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        Ok(Self {
            kind: s("type"),
            name: s("name"),
            credit_code: s("credit_code"),
            id_type: s("id_type"),
            id_number: s("id_number"),
            legal_representative: s("legal_representative"),
            is_minor: v.get("is_minor").and_then(Value::as_bool).unwrap_or(false),
        })
    }

    /// A natural person (not an organisation or an individual business).
    pub fn is_natural_person(&self) -> bool {
        self.kind == "natural_person"
    }

    /// 行政相对人类别 as the 双公示 field sets name it.
    pub fn category(&self) -> &'static str {
        match self.kind.as_str() {
            "natural_person" => "自然人",
            "individual_business" => "个体工商户",
            _ => "法人及非法人组织",
        }
    }
}

/// What the content is made from.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub agency_name: &'a str,
    pub agency_credit_code: &'a str,
    pub party: &'a Party,
    /// The draft's content (canonical JSON object).
    pub draft: &'a Value,
    pub document_number: &'a str,
    /// YYYY-MM-DD in the agency's zone.
    pub decision_date: &'a str,
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// The names a decision's masking must know: the punished person (if a natural person) and the
/// draft's other persons, plus `extra` names added by corrections; the public names that stay
/// (the officers acting in the case, the agency, an organisation party) in `public`.
pub fn persons(party: &Party, draft: &Value, extra: &[String], public: &PublicNames) -> PartyNames {
    let mut others: Vec<String> = match draft.get("other_persons") {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    };
    others.extend(extra.iter().cloned());
    // An individual business's operator is a natural person too: mask the name where the
    // policy masks the party's name, like a natural person's.
    let punished = (party.is_natural_person() || party.kind == "individual_business") && !party.name.trim().is_empty();
    let mut organisations = vec![public.agency.clone()];
    if !punished {
        // An organisation's name and its legal representative are published (RULES P9).
        organisations.push(party.name.clone());
        organisations.push(party.legal_representative.clone());
    }
    PartyNames {
        punished: punished.then(|| party.name.clone()),
        others,
        officers: public.officers.clone(),
        organisations,
    }
}

/// Names in a decision that are public, so the search for unlisted names leaves them: the
/// officers acting in the case and the agency's name.
#[derive(Debug, Clone, Default)]
pub struct PublicNames {
    pub officers: Vec<String>,
    pub agency: String,
}

/// The masking pipeline for a decision under `policy`.
pub fn masker(
    policy: MaskingPolicy,
    party: &Party,
    draft: &Value,
    extra: &[String],
    public: &PublicNames,
) -> Result<Masker> {
    Masker::new(policy, persons(party, draft, extra, public))
}

/// What still resembles personal data in the masked free-text fields of a content (the last
/// check before automatic publication), by field name.
pub fn suspicious(c: &Content) -> Vec<(&'static str, Suspicious)> {
    let fields: [(&'static str, &str); 8] = [
        ("party_name", if c.party_category == "法人及非法人组织" { &c.party_name } else { "" }),
        ("legal_representative", &c.legal_representative),
        ("violation_type", &c.violation_type),
        ("facts", &c.facts),
        ("legal_basis", &c.legal_basis),
        ("content", &c.content),
        ("licences_affected", &c.licences_affected),
        ("licence_name", &c.licence_name),
    ];
    fields.into_iter().flat_map(|(name, text)| residual(text).into_iter().map(move |s| (name, s))).collect()
}

/// The staff form of the suspicious spans: the span in 【】 with some context.
pub fn held_spans(c: &Content) -> Vec<pb::SuspiciousSpan> {
    let text = |field: &str| -> &str {
        match field {
            "party_name" => &c.party_name,
            "legal_representative" => &c.legal_representative,
            "violation_type" => &c.violation_type,
            "facts" => &c.facts,
            "legal_basis" => &c.legal_basis,
            "content" => &c.content,
            "licences_affected" => &c.licences_affected,
            _ => &c.licence_name,
        }
    };
    suspicious(c)
        .into_iter()
        .map(|(field, s)| {
            let chars: Vec<char> = text(field).chars().collect();
            let from = s.start.saturating_sub(10);
            let to = (s.end + 10).min(chars.len());
            let excerpt: String = chars[from..s.start]
                .iter()
                .chain(std::iter::once(&'【'))
                .chain(&chars[s.start..s.end])
                .chain(std::iter::once(&'】'))
                .chain(&chars[s.end..to])
                .collect();
            pb::SuspiciousSpan {
                field: field.to_owned(),
                start: u32::try_from(s.start).unwrap_or(u32::MAX),
                end: u32::try_from(s.end).unwrap_or(u32::MAX),
                kind: s.kind.as_str().to_owned(),
                excerpt,
            }
        })
        .collect()
}

/// The decision's facts for its disclosure.
pub fn facts(draft_id: &str, draft: &Value) -> Facts {
    let mut f = Facts { draft_id: draft_id.to_owned(), ..Facts::default() };
    if let Some(Value::Array(items)) = draft.get("penalties") {
        for p in items {
            let kind = text(p, "type");
            let amount = p.get("amount_fen").and_then(Value::as_int).and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
            if PenaltyType::parse(&kind) == Some(PenaltyType::Fine) {
                f.fine_fen = f.fine_fen.saturating_add(amount);
            }
            if !f.penalties.contains(&kind) {
                f.penalties.push(kind);
            }
        }
    }
    f.confiscation_fen =
        draft.get("confiscation_fen").and_then(Value::as_int).and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
    f.special_regime = draft.get("special_regime").and_then(Value::as_bool).unwrap_or(false);
    f.restriction_ends = text(draft, "restriction_ends");
    f
}

/// Builds the masked public content.
pub fn build(src: Source<'_>, masker: &Masker) -> Content {
    let d = src.draft;
    let f = facts("", d);
    let party = src.party;
    let natural = party.is_natural_person();
    let party_name = if natural || party.kind == "individual_business" {
        masker.party_name(&party.name)
    } else {
        masker.mask_text(&party.name)
    };
    Content {
        party_name,
        party_category: party.category().to_owned(),
        party_credit_code: if natural { String::new() } else { party.credit_code.clone() },
        legal_representative: if natural { String::new() } else { masker.mask_text(&party.legal_representative) },
        id_type: if natural { party.id_type.clone() } else { String::new() },
        id_number_masked: if natural && !party.id_number.is_empty() {
            mask_id_number(&party.id_number)
        } else {
            String::new()
        },
        document_number: src.document_number.to_owned(),
        violation_type: masker.mask_text(&text(d, "violation_type")),
        facts: masker.mask_text(&text(d, "facts")),
        legal_basis: masker.mask_text(&text(d, "legal_basis")),
        penalty_types: f.penalties.join("、"),
        content: masker.mask_text(&text(d, "decision_content")),
        fine_fen: f.fine_fen,
        confiscation_fen: f.confiscation_fen,
        licences_affected: masker.mask_text(&text(d, "licences_affected")),
        decision_date: src.decision_date.to_owned(),
        agency_name: src.agency_name.to_owned(),
        agency_credit_code: src.agency_credit_code.to_owned(),
        licence_name: masker.mask_text(&text(d, "licence_name")),
        licence_number: text(d, "licence_number"),
        valid_from: text(d, "licence_valid_from"),
        valid_to: text(d, "licence_valid_to"),
        licensing_action: text(d, "licensing_action"),
    }
}

/// The content as stored: JSON.
pub fn to_json(c: &Content) -> Result<String> {
    serde_json::to_string(c).map_err(|e| Error::Internal(e.to_string()))
}

/// The stored content.
pub fn from_json(text: &str) -> Result<Content> {
    serde_json::from_str(text).map_err(|_| Error::DataLoss("stored disclosure content".into()))
}

/// SHA-256 of the stored content, recorded in the case chain with each publication.
pub fn digest(json: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(json.as_bytes()))
}
