//! The public content of a decision: built from the decision's draft, the case's party and the
//! agency, with every field passed through the one masking pipeline (RULES P5).
//!
//! Nothing reaches the public surface except through [`Content`]: the party's address and phone
//! number are not part of it at all, its ID number only masked, and every free-text field is
//! masked with [`Masker::mask_text`], which replaces characters one for one, so apart from the
//! masking the text equals the decision (SAMR Art. 7).

use sanxiang_domain::canonical::Value;
use sanxiang_domain::catalog::PenaltyType;
use sanxiang_domain::id::DraftId;
use sanxiang_domain::masking::{Masker, MaskingPolicy, PartyNames, Suspicious, mask_id_number, residual};
use sanxiang_domain::publicity::PublicationFacts;
use sanxiang_domain::{Error, Result};
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

/// What a disclosure keeps about its decision to decide its period and to re-mask it: no
/// personal data beyond the names that must be masked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Facts {
    /// The draft the decision was issued on.
    pub draft_id: DraftId,
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

/// The party of a case (one reading of the stored column, in the domain).
pub use sanxiang_domain::party::{Party, PartyKind};

/// What the content is made from.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub agency_name: &'a str,
    pub agency_credit_code: &'a str,
    pub party: &'a Party,
    /// The draft's content (canonical JSON object).
    pub draft: &'a DraftContent,
    pub document_number: &'a str,
    /// YYYY-MM-DD in the agency's zone.
    pub decision_date: &'a str,
}

/// What publication reads of a decision's draft (the `drafts.content` column), read once and
/// strictly: a field the draft leaves out (the draft omits empty fields) is empty, zero or false;
/// a field that is present with the wrong type is DATA_LOSS naming the draft, never a default
/// (a default would publish for the wrong period or leave a name unmasked).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DraftContent {
    /// Each penalty by its type's Chinese name, with the fine in fen (0 for other types).
    pub penalties: Vec<(String, u64)>,
    pub confiscation_fen: u64,
    pub legal_basis: String,
    pub facts: String,
    pub violation_type: String,
    pub decision_content: String,
    pub licences_affected: String,
    pub licence_name: String,
    pub licence_number: String,
    pub licence_valid_from: String,
    pub licence_valid_to: String,
    pub licensing_action: String,
    pub restriction_ends: String,
    pub special_regime: bool,
    pub state_secret: bool,
    pub trade_secret: bool,
    pub personal_privacy: bool,
    pub ordinary_procedure: bool,
    /// Natural persons named besides the party (always masked).
    pub other_persons: Vec<String>,
}

impl DraftContent {
    /// Reads the stored content of draft `id`.
    pub fn from_stored(id: &str, v: &Value) -> Result<Self> {
        let bad = |field: &str| Error::DataLoss(format!("drafts.content.{field} of draft {id} cannot be read"));
        if !matches!(v, Value::Object(_)) {
            return Err(bad("(the object)"));
        }
        let text = |key: &str| match v.get(key) {
            None => Ok(String::new()),
            Some(x) => x.as_str().map(str::to_owned).ok_or_else(|| bad(key)),
        };
        let flag = |key: &str| match v.get(key) {
            None => Ok(false),
            Some(x) => x.as_bool().ok_or_else(|| bad(key)),
        };
        let fen = |x: &Value, key: &str| x.as_int().and_then(|n| u64::try_from(n).ok()).ok_or_else(|| bad(key));
        let penalties = match v.get("penalties") {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|p| {
                    let kind = p.get("type").and_then(Value::as_str).ok_or_else(|| bad("penalties.type"))?;
                    let amount = match p.get("amount_fen") {
                        None => 0,
                        Some(a) => fen(a, "penalties.amount_fen")?,
                    };
                    Ok((kind.to_owned(), amount))
                })
                .collect::<Result<Vec<_>>>()?,
            Some(_) => return Err(bad("penalties")),
        };
        let other_persons = match v.get("other_persons") {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|n| n.as_str().map(str::to_owned).ok_or_else(|| bad("other_persons")))
                .collect::<Result<Vec<_>>>()?,
            Some(_) => return Err(bad("other_persons")),
        };
        Ok(Self {
            penalties,
            confiscation_fen: match v.get("confiscation_fen") {
                None => 0,
                Some(x) => fen(x, "confiscation_fen")?,
            },
            legal_basis: text("legal_basis")?,
            facts: text("facts")?,
            violation_type: text("violation_type")?,
            decision_content: text("decision_content")?,
            licences_affected: text("licences_affected")?,
            licence_name: text("licence_name")?,
            licence_number: text("licence_number")?,
            licence_valid_from: text("licence_valid_from")?,
            licence_valid_to: text("licence_valid_to")?,
            licensing_action: text("licensing_action")?,
            restriction_ends: text("restriction_ends")?,
            special_regime: flag("special_regime")?,
            state_secret: flag("state_secret")?,
            trade_secret: flag("trade_secret")?,
            personal_privacy: flag("personal_privacy")?,
            ordinary_procedure: flag("ordinary_procedure")?,
            other_persons,
        })
    }

    /// Reads the stored content column of draft `id`.
    pub fn parse(id: &str, text: &str) -> Result<Self> {
        let v =
            Value::parse(text).map_err(|_| Error::DataLoss(format!("drafts.content of draft {id} cannot be read")))?;
        Self::from_stored(id, &v)
    }
}

/// The names a decision's masking must know: the punished person (if a natural person) and the
/// draft's other persons, plus `extra` names added by corrections; the public names that stay
/// (the officers acting in the case, the agency, an organisation party) in `public`.
pub fn persons(party: &Party, draft: &DraftContent, extra: &[String], public: &PublicNames) -> PartyNames {
    let mut others: Vec<String> = draft.other_persons.clone();
    others.extend(extra.iter().cloned());
    // An individual business's operator is a natural person too: mask the name where the
    // policy masks the party's name, like a natural person's.
    let punished =
        (party.is_natural_person() || party.kind == PartyKind::IndividualBusiness) && !party.name.trim().is_empty();
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
    draft: &DraftContent,
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

/// Where the masked content still resembles personal data, for the publisher who must confirm
/// it (staff only, never public).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldSpan {
    /// The content field.
    pub field: String,
    /// Character offsets of the span in the field.
    pub start: u32,
    pub end: u32,
    /// What it resembles (`Suspicious::kind`).
    pub kind: String,
    /// The span in 【】 with some context.
    pub excerpt: String,
}

/// The staff form of the suspicious spans: the span in 【】 with some context.
pub fn held_spans(c: &Content) -> Vec<HeldSpan> {
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
            HeldSpan {
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
pub fn facts(draft_id: &DraftId, draft: &DraftContent) -> Facts {
    let mut f = Facts { draft_id: draft_id.to_owned(), ..Facts::default() };
    for (kind, amount) in &draft.penalties {
        if PenaltyType::parse(kind) == Some(PenaltyType::Fine) {
            f.fine_fen = f.fine_fen.saturating_add(*amount);
        }
        if !f.penalties.contains(kind) {
            f.penalties.push(kind.clone());
        }
    }
    f.confiscation_fen = draft.confiscation_fen;
    f.special_regime = draft.special_regime;
    f.restriction_ends = draft.restriction_ends.clone();
    f
}

/// Builds the masked public content.
pub fn build(src: Source<'_>, masker: &Masker) -> Content {
    let d = src.draft;
    let f = facts(&DraftId::default(), d);
    let party = src.party;
    let natural = party.is_natural_person();
    let party_name = if natural || party.kind == PartyKind::IndividualBusiness {
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
        violation_type: masker.mask_text(&d.violation_type),
        facts: masker.mask_text(&d.facts),
        legal_basis: masker.mask_text(&d.legal_basis),
        penalty_types: f.penalties.join("、"),
        content: masker.mask_text(&d.decision_content),
        fine_fen: f.fine_fen,
        confiscation_fen: f.confiscation_fen,
        licences_affected: masker.mask_text(&d.licences_affected),
        decision_date: src.decision_date.to_owned(),
        agency_name: src.agency_name.to_owned(),
        agency_credit_code: src.agency_credit_code.to_owned(),
        licence_name: masker.mask_text(&d.licence_name),
        licence_number: d.licence_number.clone(),
        valid_from: d.licence_valid_from.clone(),
        valid_to: d.licence_valid_to.clone(),
        licensing_action: d.licensing_action.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_draft_is_read_strictly() {
        let text = r#"{"penalties":[{"type":"罚款","amount_fen":500000},{"type":"警告"}],"confiscation_fen":12,
            "facts":"违法事实","special_regime":true,"other_persons":["李四"]}"#;
        let d = DraftContent::parse("d1", text).unwrap();
        assert_eq!(d.penalties, vec![("罚款".to_owned(), 500_000), ("警告".to_owned(), 0)]);
        assert_eq!((d.confiscation_fen, d.special_regime, d.state_secret), (12, true, false));
        assert_eq!((d.facts.as_str(), d.legal_basis.as_str()), ("违法事实", ""));
        assert_eq!(d.other_persons, vec!["李四".to_owned()]);
        let f = facts(&DraftId::from("d1"), &d);
        assert_eq!((f.fine_fen, f.confiscation_fen, f.special_regime), (500_000, 12, true));

        // Present with the wrong type: DATA_LOSS naming the draft and the field, never a default.
        for (bad, field) in [
            (r#"{"special_regime":"yes"}"#, "special_regime"),
            (r#"{"confiscation_fen":-1}"#, "confiscation_fen"),
            (r#"{"penalties":[{"type":"罚款","amount_fen":"5"}]}"#, "penalties.amount_fen"),
            (r#"{"penalties":{}}"#, "penalties"),
            (r#"{"other_persons":["李四",3]}"#, "other_persons"),
            (r#"{"facts":7}"#, "facts"),
        ] {
            let e = DraftContent::parse("d9", bad).unwrap_err();
            assert!(matches!(&e, Error::DataLoss(m) if m.contains("draft d9") && m.contains(field)), "{bad}: {e:?}");
        }
        assert!(matches!(DraftContent::parse("d9", "[]"), Err(Error::DataLoss(_))));
        assert!(matches!(DraftContent::parse("d9", "{"), Err(Error::DataLoss(_))));
    }
}
