//! The party of a case (行政相对人), as opened, stored and published.

use crate::canonical::Value;
use crate::error::{Error, Result};

/// What kind of person or body the party is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartyKind {
    /// 自然人
    NaturalPerson,
    /// 法人
    LegalPerson,
    /// 其他组织
    OtherOrganisation,
    /// 个体工商户
    IndividualBusiness,
}

impl PartyKind {
    /// Every kind.
    pub const ALL: [Self; 4] =
        [Self::NaturalPerson, Self::LegalPerson, Self::OtherOrganisation, Self::IndividualBusiness];

    /// The stable name stored with the case and committed to by its first event.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NaturalPerson => "natural_person",
            Self::LegalPerson => "legal_person",
            Self::OtherOrganisation => "other_organisation",
            Self::IndividualBusiness => "individual_business",
        }
    }

    /// The kind a stored name denotes.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The party of a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    pub kind: PartyKind,
    pub name: String,
    pub credit_code: String,
    pub id_type: String,
    pub id_number: String,
    pub legal_representative: String,
    pub address: String,
    pub phone: String,
    pub is_minor: bool,
}

impl Party {
    /// The party as stored and as committed to by the case's first event.
    pub fn to_value(&self) -> Value {
        Value::object()
            .with("type", self.kind.as_str())
            .with("name", self.name.as_str())
            .with("credit_code", self.credit_code.as_str())
            .with("id_type", self.id_type.as_str())
            .with("id_number", self.id_number.as_str())
            .with("legal_representative", self.legal_representative.as_str())
            .with("address", self.address.as_str())
            .with("phone", self.phone.as_str())
            .with("is_minor", self.is_minor)
    }

    /// The stored party of case `case_id`. A column that cannot be read (not JSON, not an
    /// object, a field of the wrong type, an unknown party type) is DATA_LOSS naming the column
    /// and row, never a default party; the content is private and not echoed. An absent text
    /// field is empty (the schema allows it); a present field of the wrong type is corruption.
    pub fn from_stored(text: &str, case_id: &str) -> Result<Self> {
        let unreadable = || Error::DataLoss(format!("cases.party of case {case_id} cannot be read"));
        let v = Value::parse(text).map_err(|_| unreadable())?;
        if !matches!(v, Value::Object(_)) {
            return Err(unreadable());
        }
        let s = |k: &str| match v.get(k) {
            None => Ok(String::new()),
            Some(x) => x.as_str().map(str::to_owned).ok_or_else(unreadable),
        };
        let kind = PartyKind::parse(&s("type")?).ok_or_else(unreadable)?;
        let is_minor = match v.get("is_minor") {
            None => false,
            Some(x) => x.as_bool().ok_or_else(unreadable)?,
        };
        Ok(Self {
            kind,
            name: s("name")?,
            credit_code: s("credit_code")?,
            id_type: s("id_type")?,
            id_number: s("id_number")?,
            legal_representative: s("legal_representative")?,
            address: s("address")?,
            phone: s("phone")?,
            is_minor,
        })
    }

    /// A natural person (not an organisation or an individual business).
    pub fn is_natural_person(&self) -> bool {
        self.kind == PartyKind::NaturalPerson
    }

    /// 行政相对人类别 as the 双公示 field sets name it.
    pub fn category(&self) -> &'static str {
        match self.kind {
            PartyKind::NaturalPerson => "自然人",
            PartyKind::IndividualBusiness => "个体工商户",
            PartyKind::LegalPerson | PartyKind::OtherOrganisation => "法人及非法人组织",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn party() -> Party {
        Party {
            kind: PartyKind::IndividualBusiness,
            name: "张三五金店".into(),
            credit_code: String::new(),
            id_type: "身份证".into(),
            id_number: "110101199003070011".into(),
            legal_representative: String::new(),
            address: "北京市".into(),
            phone: "13800000000".into(),
            is_minor: false,
        }
    }

    #[test]
    fn stored_party_round_trips() {
        let p = party();
        let text = p.to_value().to_canonical_string().unwrap();
        assert_eq!(Party::from_stored(&text, "c1").unwrap(), p);
    }

    #[test]
    fn unreadable_party_is_data_loss_never_a_default() {
        for bad in [
            "not json",
            "[]",
            r#"{"type":"martian","name":"x"}"#,
            r#"{"type":"natural_person","name":7}"#,
            r#"{"type":"natural_person","is_minor":"no"}"#,
            r#"{"name":"x"}"#,
        ] {
            let e = Party::from_stored(bad, "c9").unwrap_err();
            assert!(matches!(&e, Error::DataLoss(m) if m.contains("case c9")), "{bad}: {e:?}");
        }
        // Absent text fields are empty, not an error.
        let p = Party::from_stored(r#"{"type":"legal_person","name":"某公司"}"#, "c1").unwrap();
        assert_eq!(
            (p.kind, p.name.as_str(), p.phone.as_str(), p.is_minor),
            (PartyKind::LegalPerson, "某公司", "", false)
        );
    }
}
