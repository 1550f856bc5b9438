//! The read queries of the public site: one query per listing page, served by an index.
//!
//! The listing is the public listing of [`Publicity::public_page`] (published entries within
//! their publication period, and withdrawals), narrowed by the site's filters and paged by the
//! same keyset (`l<listed_seq>`), newest first. Each filter is a predicate of the one query:
//!
//! - agency: `disclosures_agency_listed (agency_id, listed_seq)`, read in listing order;
//! - decision type (case kind): `disclosures_kind_listed (case_kind, listed_seq)` (m0010);
//! - document number (exact, as published): the expression index `disclosures_document_number`
//!   on the content's `document_number` (m0010), a point lookup;
//! - decision date range: `disclosures_decision_date (decision_date)` (m0010);
//! - party name (a part of the name as published, i.e. masked): a predicate on the rows read in
//!   listing order — a substring has no B-tree index, so its cost is the rows read until a page is
//!   full (combine it with an agency or a date range to bound it).

use chrono::NaiveDate;
use sanxiang_domain::{Error, Result};
use sanxiang_store::db_error;
use sanxiang_store::entity::{agency, disclosure};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select};

use crate::disclosure::{PUBLIC_STATUSES, Page, Publicity};

/// Longest search term accepted (characters).
pub const MAX_TERM: usize = 100;

/// What a visitor searches for; empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub agency: String,
    /// A part of the party's name as published.
    pub party: String,
    /// The document number exactly as published.
    pub document_number: String,
    /// A case kind (`penalty`, `licensing`, …).
    pub kind: String,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// The content's `document_number` as SQL: the expression of the index `disclosures_document_number`
/// (migration m0010), written the same way so that the planner uses it.
fn content_field(backend: DatabaseBackend, field: &'static str) -> String {
    match backend {
        DatabaseBackend::Postgres => format!("(content::jsonb ->> '{field}')"),
        _ => format!("(content ->> '{field}')"),
    }
}

/// The placeholder of the first bound value in a custom expression.
fn placeholder(backend: DatabaseBackend) -> &'static str {
    match backend {
        DatabaseBackend::Postgres => "$1",
        _ => "?",
    }
}

/// Parses a listing cursor of the public listing (`l<seq>`, as `public_page` returns).
pub fn parse_cursor(s: &str) -> Result<Option<i64>> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.strip_prefix('l')
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| *n > 0)
        .map(Some)
        .ok_or_else(|| Error::invalid("cursor", "not a cursor returned by a previous page"))
}

/// The query of one page of the public listing matching `f` on `backend`: entries listed before
/// `after` (a place in the listing), public at `now` (UTC micros), newest first, `limit` rows.
pub fn search_query(
    backend: DatabaseBackend,
    f: &Filter,
    after: Option<i64>,
    now: i64,
    limit: u64,
) -> Select<disclosure::Entity> {
    let mut q = disclosure::Entity::find()
        .filter(disclosure::Column::ListedSeq.is_not_null())
        .filter(disclosure::Column::Status.is_in(PUBLIC_STATUSES))
        .filter(
            Condition::any()
                .add(disclosure::Column::PublicationEndAt.is_null())
                .add(disclosure::Column::PublicationEndAt.gt(now)),
        );
    if !f.agency.is_empty() {
        q = q.filter(disclosure::Column::AgencyId.eq(f.agency.as_str()));
    }
    if !f.kind.is_empty() {
        q = q.filter(disclosure::Column::CaseKind.eq(f.kind.as_str()));
    }
    if !f.document_number.is_empty() {
        let sql = format!("{} = {}", content_field(backend, "document_number"), placeholder(backend));
        q = q.filter(Expr::cust_with_values(sql, [f.document_number.clone()]));
    }
    if !f.party.is_empty() {
        let find = match backend {
            DatabaseBackend::Postgres => "strpos",
            _ => "instr",
        };
        let sql = format!("{find}({}, {}) > 0", content_field(backend, "party_name"), placeholder(backend));
        q = q.filter(Expr::cust_with_values(sql, [f.party.clone()]));
    }
    if let Some(d) = f.from {
        q = q.filter(disclosure::Column::DecisionDate.gte(d.format("%Y-%m-%d").to_string()));
    }
    if let Some(d) = f.to {
        q = q.filter(disclosure::Column::DecisionDate.lte(d.format("%Y-%m-%d").to_string()));
    }
    if let Some(n) = after {
        q = q.filter(disclosure::Column::ListedSeq.lt(n));
    }
    q.order_by_desc(disclosure::Column::ListedSeq).limit(limit)
}

/// One page of the public listing matching `f`, newest first, `limit` entries after `cursor`.
pub async fn search(p: &Publicity, f: &Filter, cursor: &str, limit: u32) -> Result<Page> {
    let after = parse_cursor(cursor)?;
    let db = p.recorder().db();
    let q = search_query(db.get_database_backend(), f, after, p.now().micros(), u64::from(limit) + 1);
    let rows = q.all(db).await.map_err(db_error)?;
    Ok(Page::listed(rows, limit))
}

/// Every agency by name (id and name only): the filter's choices and the links to each agency's
/// notices. Agencies and their names are public (RULES P1).
pub async fn agencies(p: &Publicity) -> Result<Vec<(String, String)>> {
    let rows = agency::Entity::find()
        .select_only()
        .column(agency::Column::Id)
        .column(agency::Column::Name)
        .order_by_asc(agency::Column::Name)
        .into_tuple::<(String, String)>()
        .all(p.recorder().db())
        .await
        .map_err(db_error)?;
    Ok(rows)
}
