//! Notices before enforcement (事前公开, RULES P1): an agency's enforcement body, duties, power
//! list with legal basis, procedures, service guides, random-inspection items, and supervision
//! and remedy channels, each section kept in every version; and the officer roster, derived from
//! the registry when asked, so it is never out of date.

use sanxiang_domain::id::{AgencyId, OfficerId};
use sanxiang_domain::officer::{OfficerStatus, stored_zone};
use sanxiang_domain::publicity::NoticeSection;
use sanxiang_domain::{Error, Result, Timestamp};
use sanxiang_registry::Principal;
use sanxiang_store::db::is_unique_violation;
use sanxiang_store::db_error;
use sanxiang_store::entity::notice;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};

use crate::Publicity;

/// Longest section title, in characters.
const MAX_TITLE_CHARS: usize = 200;
/// Longest section body: a notice, not a document store.
const MAX_BODY: usize = 64 * 1024;
/// Most items in a section: a power list of a large agency has a few hundred.
const MAX_ITEMS: usize = 1000;
/// Longest item body.
const MAX_ITEM_BODY: usize = 16 * 1024;
/// Longest legal basis of one item.
const MAX_LEGAL_BASIS: usize = 4096;
/// Largest total of a section's items (stored as one JSON column).
const MAX_ITEMS_TOTAL: usize = 1024 * 1024;
/// Attempts at a new version when concurrent puts of the same section collide on it.
const VERSION_ATTEMPTS: usize = 5;

/// The place of a stored section in publication order.
fn section_rank(name: &str) -> usize {
    NoticeSection::parse(name).map_or(NoticeSection::ALL.len(), |s| s as usize)
}

/// One item of a section, as stored in the `items` JSON column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub title: String,
    pub body: String,
    pub legal_basis: String,
}

/// Setting one section of an agency's notice (PutNotice).
#[derive(Debug, Clone, Default)]
pub struct PutNotice {
    pub request_id: String,
    /// Digest of the request as received: a retry must repeat it.
    pub request_digest: String,
    pub agency_id: AgencyId,
    pub section: Option<NoticeSection>,
    pub title: String,
    pub body: String,
    pub items: Vec<Item>,
}

/// One version of a section of an agency's notice.
#[derive(Debug, Clone)]
pub struct Notice {
    pub agency_id: AgencyId,
    pub section: NoticeSection,
    pub title: String,
    pub body: String,
    pub items: Vec<Item>,
    pub version: u32,
    pub updated_at: Timestamp,
}

/// An officer on the public roster.
#[derive(Debug, Clone)]
pub struct RosterEntry {
    pub name: String,
    pub certificate_number: String,
    pub category: String,
}

/// An agency's current notice and officer roster.
#[derive(Debug, Clone)]
pub struct Notices {
    pub agency_id: AgencyId,
    pub agency_name: String,
    pub notices: Vec<Notice>,
    pub roster: Vec<RosterEntry>,
}

fn bounded(field: &str, value: &str, max_bytes: usize) -> Result<String> {
    let v = value.trim();
    if v.len() > max_bytes {
        return Err(Error::invalid(field, format!("at most {max_bytes} bytes")));
    }
    Ok(v.to_owned())
}

fn required_title(field: &str, value: &str) -> Result<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if v.chars().count() > MAX_TITLE_CHARS {
        return Err(Error::invalid(field, format!("at most {MAX_TITLE_CHARS} characters")));
    }
    Ok(v.to_owned())
}

/// A validated request: nothing is stored unless every field passes.
struct Valid {
    request_id: String,
    section: NoticeSection,
    title: String,
    body: String,
    items: String,
}

fn validate(r: &PutNotice) -> Result<Valid> {
    let request_id = sanxiang_domain::error::request_id(&r.request_id)?;
    let section = r.section.ok_or_else(|| Error::invalid("section", "must name a notice section"))?;
    let title = required_title("title", &r.title)?;
    let body = bounded("body", &r.body, MAX_BODY)?;
    if r.items.len() > MAX_ITEMS {
        return Err(Error::invalid("items", format!("at most {MAX_ITEMS} items")));
    }
    // The power list and the random-inspection list publish each item's legal basis (RULES P1).
    let basis_required = section.items_need_legal_basis();
    let mut items = Vec::with_capacity(r.items.len());
    for (i, item) in r.items.iter().enumerate() {
        let title = required_title(&format!("items[{i}].title"), &item.title)?;
        let body = bounded(&format!("items[{i}].body"), &item.body, MAX_ITEM_BODY)?;
        let legal_basis = bounded(&format!("items[{i}].legal_basis"), &item.legal_basis, MAX_LEGAL_BASIS)?;
        if basis_required && legal_basis.is_empty() {
            return Err(Error::invalid(
                format!("items[{i}].legal_basis"),
                "each item of this section needs its legal basis",
            ));
        }
        items.push(Item { title, body, legal_basis });
    }
    let items = serde_json::to_string(&items).map_err(|e| Error::Internal(e.to_string()))?;
    if items.len() > MAX_ITEMS_TOTAL {
        return Err(Error::invalid("items", format!("at most {MAX_ITEMS_TOTAL} bytes in all")));
    }
    Ok(Valid { request_id, section, title, body, items })
}

/// A stored version of a section; an unreadable section name or item list is DATA_LOSS.
fn notice(n: notice::Model) -> Result<Notice> {
    let row = || format!("notice {} v{} of agency {}", n.section, n.version, n.agency_id);
    let items: Vec<Item> =
        serde_json::from_str(&n.items).map_err(|_| Error::DataLoss(format!("items of {}", row())))?;
    let section = NoticeSection::parse(&n.section).ok_or_else(|| Error::DataLoss(format!("section of {}", row())))?;
    Ok(Notice {
        section,
        title: n.title,
        body: n.body,
        items,
        version: u32::try_from(n.version).map_err(|_| Error::DataLoss(format!("version of {}", row())))?,
        updated_at: Timestamp::from_micros(n.updated_at),
        agency_id: n.agency_id,
    })
}

async fn by_request(p: &Publicity, agency_id: &AgencyId, request_id: &str) -> Result<Option<notice::Model>> {
    notice::Entity::find()
        .filter(notice::Column::AgencyId.eq(agency_id))
        .filter(notice::Column::RequestId.eq(request_id))
        .one(p.recorder().db())
        .await
        .map_err(db_error)
}

async fn latest_version(p: &Publicity, agency_id: &AgencyId, section: &str) -> Result<i64> {
    let latest = notice::Entity::find()
        .filter(notice::Column::AgencyId.eq(agency_id))
        .filter(notice::Column::Section.eq(section))
        .order_by_desc(notice::Column::Version)
        .one(p.recorder().db())
        .await
        .map_err(db_error)?;
    Ok(latest.map_or(0, |n| n.version))
}

/// Sets one section of an agency's notice as its next version; idempotent per agency on
/// `request_id` (a retry returns the version stored the first time). The caller must be
/// authorised to configure the agency's publicity.
pub async fn put(p: &Publicity, who: &Principal, r: PutNotice) -> Result<Notice> {
    let v = validate(&r)?;
    let asked = r.request_digest.clone();
    for _ in 0..VERSION_ATTEMPTS {
        if let Some(done) = by_request(p, &r.agency_id, &v.request_id).await? {
            sanxiang_domain::error::same_request(&v.request_id, done.request_digest.as_deref(), &asked)?;
            return notice(done);
        }
        let row = notice::Model {
            agency_id: r.agency_id.clone(),
            section: v.section.as_str().to_owned(),
            version: latest_version(p, &r.agency_id, v.section.as_str()).await? + 1,
            title: v.title.clone(),
            body: v.body.clone(),
            items: v.items.clone(),
            request_id: v.request_id.clone(),
            request_digest: Some(asked.clone()),
            updated_at: p.recorder().clock().now().micros(),
            updated_by: who.id.clone(),
        };
        // The primary key (agency, section, version) lets only one of two concurrent puts have
        // a version, and the unique request id only one of two concurrent retries: the loser
        // looks again (its retry finds the winner's row, a different put takes the next version).
        match row.into_active_model().insert(p.recorder().db()).await {
            Ok(stored) => return notice(stored),
            Err(e) if is_unique_violation(&e) => {}
            Err(e) => return Err(db_error(e)),
        }
    }
    Err(Error::precondition(
        "P1.notice-version",
        "the section is being changed concurrently by others; retry with the same request_id",
    ))
}

/// An agency's current notice (the latest version of each section, in publication order) and
/// its officer roster: officers whose status is active and whose certificate is valid today, as
/// the registry says now.
pub async fn list(p: &Publicity, agency_id: &AgencyId) -> Result<Notices> {
    if agency_id.trim().is_empty() {
        return Err(Error::invalid("agency_id", "must not be empty"));
    }
    let registry = p.recorder().registry();
    let agency = registry.agency(agency_id).await?;
    let tz = stored_zone(&agency.time_zone)?;
    let rows = notice::Entity::find()
        .filter(notice::Column::AgencyId.eq(agency_id))
        .order_by_asc(notice::Column::Section)
        .order_by_desc(notice::Column::Version)
        .all(p.recorder().db())
        .await
        .map_err(db_error)?;
    let mut latest: Vec<notice::Model> = Vec::new();
    for row in rows {
        if latest.last().is_none_or(|l| l.section != row.section) {
            latest.push(row);
        }
    }
    latest.sort_by_key(|n| section_rank(&n.section));
    let notices = latest.into_iter().map(notice).collect::<Result<Vec<_>>>()?;

    let now = p.recorder().clock().now();
    let officers = registry.officers(agency_id).await?;
    let ids: Vec<OfficerId> = officers.iter().map(|o| o.id.clone()).collect();
    let certificates = registry.certificates(&ids).await?;
    let roster = officers
        .into_iter()
        .filter(|o| OfficerStatus::parse(&o.status) == Some(OfficerStatus::Active))
        .filter(|o| certificates.get(&o.id).is_some_and(|c| c.certificate.why_invalid_at(now, tz).is_none()))
        .map(|o| RosterEntry { name: o.name, certificate_number: o.certificate_number, category: o.category })
        .collect();
    Ok(Notices { agency_id: agency.id, agency_name: agency.name, notices, roster })
}
