//! What other systems read of the record: the `cases` and `events` tables belong to this crate,
//! and publicity (statistics, supervision) and the legal review read them only through these
//! queries. Each answers in typed values; a stored value that cannot be read is DATA_LOSS
//! naming its row, never a default.

use std::collections::HashMap;

use sanxiang_domain::canonical::Value;
use sanxiang_domain::id::{AgencyId, CaseId};
use sanxiang_domain::lifecycle::{CaseKind, EventKind};
use sanxiang_domain::{Error, Result};
use sanxiang_store::changes::{Stamp, Topic};
use sanxiang_store::db_error;
use sanxiang_store::entity::{case, event, evidence};
use sea_orm::sea_query::SelectStatement;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait};

use crate::Recorder;

/// What [`Recorder::committed`] answers: compare two for equality only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    /// The change notices' generation.
    Noticed(Stamp),
    /// The committed sequence, read from the database.
    Seq(i64),
}

/// A half-open interval of instants, `[start, end)`, in UTC microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub start: i64,
    pub end: i64,
}

/// A decision event, with its case's kind and its payload.
#[derive(Debug, Clone)]
pub struct DecisionEvent {
    pub case_id: CaseId,
    pub case_kind: CaseKind,
    pub payload: Value,
}

/// An event of a period, with its case's kind and its payload.
#[derive(Debug, Clone)]
pub struct PeriodEvent {
    pub case_id: CaseId,
    pub case_kind: CaseKind,
    pub kind: EventKind,
    pub payload: Value,
}

/// The ids of an agency's cases, as a subquery for another system's aggregate over its own
/// table (e.g. the reviews given in an agency's cases).
pub fn case_ids_of_agency(agency_id: &AgencyId) -> SelectStatement {
    case::Entity::find()
        .select_only()
        .column(case::Column::Id)
        .filter(case::Column::AgencyId.eq(agency_id))
        .into_query()
}

/// The ids of the cases of several agencies, as a subquery.
fn case_ids_of_agencies(agency_ids: &[AgencyId]) -> SelectStatement {
    case::Entity::find()
        .select_only()
        .column(case::Column::Id)
        .filter(case::Column::AgencyId.is_in(agency_ids.iter().cloned()))
        .into_query()
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

impl Recorder {
    /// The cases an agency opened in `period`, counted by kind (the stored kind names).
    pub async fn cases_opened_by_kind(&self, agency_id: &AgencyId, period: Period) -> Result<Vec<(String, u64)>> {
        let rows: Vec<(String, i64)> = case::Entity::find()
            .select_only()
            .column(case::Column::Kind)
            .column_as(case::Column::Id.count(), "n")
            .filter(case::Column::AgencyId.eq(agency_id))
            .filter(case::Column::OpenedAt.gte(period.start))
            .filter(case::Column::OpenedAt.lt(period.end))
            .group_by(case::Column::Kind)
            .into_tuple()
            .all(self.db())
            .await
            .map_err(db_error)?;
        Ok(rows.into_iter().map(|(kind, n)| (kind, count(n))).collect())
    }

    /// The decisions made in an agency's cases in `period` (by their occurrence), each with its
    /// case's kind and its parsed payload.
    pub async fn decisions_in(&self, agency_id: &AgencyId, period: Period) -> Result<Vec<DecisionEvent>> {
        Ok(self
            .events_in(agency_id, &[EventKind::Decision], period)
            .await?
            .into_iter()
            .map(|e| DecisionEvent { case_id: e.case_id, case_kind: e.case_kind, payload: e.payload })
            .collect())
    }

    /// The parsed payloads of an agency's events of `kind` that occurred in `period`.
    pub async fn payloads_in(&self, agency_id: &AgencyId, kind: EventKind, period: Period) -> Result<Vec<Value>> {
        let rows: Vec<(CaseId, i64, String)> = event::Entity::find()
            .select_only()
            .columns([event::Column::CaseId, event::Column::CaseSeq, event::Column::Payload])
            .filter(event::Column::Kind.eq(kind.as_str()))
            .filter(event::Column::OccurredAt.gte(period.start))
            .filter(event::Column::OccurredAt.lt(period.end))
            .filter(event::Column::CaseId.in_subquery(case_ids_of_agency(agency_id)))
            .into_tuple()
            .all(self.db())
            .await
            .map_err(db_error)?;
        rows.into_iter()
            .map(|(case_id, seq, payload)| {
                Value::parse(&payload)
                    .map_err(|_| Error::DataLoss(format!("events.payload of event {case_id}#{seq} cannot be read")))
            })
            .collect()
    }

    /// An agency's events of `kinds` that occurred in `period`, each with its case's kind and
    /// its parsed payload (statistics: filings, measures, executions, revisions).
    pub async fn events_in(
        &self,
        agency_id: &AgencyId,
        kinds: &[EventKind],
        period: Period,
    ) -> Result<Vec<PeriodEvent>> {
        let query = || {
            event::Entity::find()
                .filter(event::Column::Kind.is_in(kinds.iter().map(|k| k.as_str())))
                .filter(event::Column::OccurredAt.gte(period.start))
                .filter(event::Column::OccurredAt.lt(period.end))
                .filter(event::Column::CaseId.in_subquery(case_ids_of_agency(agency_id)))
        };
        let rows: Vec<(CaseId, i64, String, String)> = query()
            .select_only()
            .columns([event::Column::CaseId, event::Column::CaseSeq, event::Column::Kind, event::Column::Payload])
            .order_by_asc(event::Column::GlobalSeq)
            .into_tuple()
            .all(self.db())
            .await
            .map_err(db_error)?;
        let case_kinds: HashMap<CaseId, String> = case::Entity::find()
            .select_only()
            .columns([case::Column::Id, case::Column::Kind])
            .filter(case::Column::Id.in_subquery(query().select_only().column(event::Column::CaseId).into_query()))
            .into_tuple::<(CaseId, String)>()
            .all(self.db())
            .await
            .map_err(db_error)?
            .into_iter()
            .collect();
        rows.into_iter()
            .map(|(case_id, seq, kind, payload)| {
                let unreadable =
                    |column: &str| Error::DataLoss(format!("events.{column} of event {case_id}#{seq} cannot be read"));
                let kind = EventKind::parse(&kind).ok_or_else(|| unreadable("kind"))?;
                let payload = Value::parse(&payload).map_err(|_| unreadable("payload"))?;
                let case_kind = case_kinds
                    .get(&case_id)
                    .and_then(|k| CaseKind::parse(k))
                    .ok_or_else(|| Error::DataLoss(format!("cases.kind of case {case_id} cannot be read")))?;
                Ok(PeriodEvent { case_id, case_kind, kind, payload })
            })
            .collect()
    }

    /// A stamp of what is committed: two equal stamps mean nothing the append path writes
    /// changed between them (see [`Self::committed_seq`]). On PostgreSQL, while the change
    /// notices are heard ([`sanxiang_store::changes`]), a generation in memory that this
    /// replica's writer moves on before it answers and every other replica's commit moves on
    /// when its notice arrives; otherwise the committed sequence read from the database.
    pub async fn committed(&self) -> Result<Committed> {
        match self.changes.stamp(Topic::Events) {
            Some(stamp) => Ok(Committed::Noticed(stamp)),
            None => self.committed_seq().await.map(Committed::Seq),
        }
    }

    /// The newest global sequence committed (0 for an empty record). Every row the append path
    /// writes — events, cases, and the rows other systems attach (disclosures, decisions, drafts)
    /// — changes in the transaction of a new event, and events are numbered in commit order, so
    /// while this value is unchanged nothing those rows hold has changed: a cache of anything
    /// read from them is current. One indexed read (the last key of `events`); on a SQLite file
    /// it runs on a direct connection, without the driver's thread hop per statement.
    pub async fn committed_seq(&self) -> Result<i64> {
        if let Some(reader) = self.direct.clone() {
            return tokio::task::spawn_blocking(move || {
                reader.read(|c| {
                    c.prepare_cached("SELECT COALESCE(MAX(global_seq), 0) FROM events")?.query_row([], |r| r.get(0))
                })
            })
            .await
            .map_err(|e| Error::Internal(format!("reading the committed sequence: {e}")))?;
        }
        let newest: Option<Option<i64>> = event::Entity::find()
            .select_only()
            .column_as(event::Column::GlobalSeq.max(), "m")
            .into_tuple()
            .one(self.db())
            .await
            .map_err(db_error)?;
        Ok(newest.flatten().unwrap_or(0))
    }

    /// The events of `kinds` in the given cases, in global order: (global_seq, kind, payload).
    pub async fn events_of_kinds_in(
        &self,
        case_ids: &[&CaseId],
        kinds: &[EventKind],
    ) -> Result<Vec<(i64, String, String)>> {
        event::Entity::find()
            .select_only()
            .column(event::Column::GlobalSeq)
            .column(event::Column::Kind)
            .column(event::Column::Payload)
            .filter(event::Column::CaseId.is_in(case_ids.iter().map(|c| c.as_str())))
            .filter(event::Column::Kind.is_in(kinds.iter().map(|k| k.as_str())))
            .order_by_asc(event::Column::GlobalSeq)
            .into_tuple()
            .all(self.db())
            .await
            .map_err(db_error)
    }

    /// The agencies' cases filed before `filed_before` (UTC micros) and not decided: what may be
    /// past the decision limit (RULES R10; the caller judges the date in the agency's zone).
    pub async fn undecided_cases_filed_before(
        &self,
        agency_ids: &[AgencyId],
        filed_before: i64,
    ) -> Result<Vec<case::Model>> {
        case::Entity::find()
            .filter(case::Column::AgencyId.is_in(agency_ids.iter().cloned()))
            .filter(case::Column::FiledAt.is_not_null())
            .filter(case::Column::DecidedAt.is_null())
            .filter(case::Column::FiledAt.lt(filed_before))
            .all(self.db())
            .await
            .map_err(db_error)
    }

    /// The events of the agencies' cases whose payload contains `needle` (a LIKE that narrows
    /// the scan; callers parse the payload to decide), in global order, with each case's agency.
    pub async fn events_mentioning(
        &self,
        agency_ids: &[AgencyId],
        needle: &str,
    ) -> Result<(Vec<event::Model>, HashMap<CaseId, AgencyId>)> {
        self.events_of_agencies_where(agency_ids, Condition::all().add(event::Column::Payload.contains(needle))).await
    }

    /// The events of `kinds` in the agencies' cases, in global order, with each case's agency.
    pub async fn events_of_kinds_of_agencies(
        &self,
        agency_ids: &[AgencyId],
        kinds: &[EventKind],
    ) -> Result<(Vec<event::Model>, HashMap<CaseId, AgencyId>)> {
        let kinds = kinds.iter().map(|k| k.as_str());
        self.events_of_agencies_where(agency_ids, Condition::all().add(event::Column::Kind.is_in(kinds))).await
    }

    /// The events of the agencies' cases that meet `condition`, in global order, with each
    /// case's agency.
    async fn events_of_agencies_where(
        &self,
        agency_ids: &[AgencyId],
        condition: Condition,
    ) -> Result<(Vec<event::Model>, HashMap<CaseId, AgencyId>)> {
        let query = || {
            event::Entity::find()
                .filter(event::Column::CaseId.in_subquery(case_ids_of_agencies(agency_ids)))
                .filter(condition.clone())
        };
        let events = query().order_by_asc(event::Column::GlobalSeq).all(self.db()).await.map_err(db_error)?;
        let case_agency = case::Entity::find()
            .select_only()
            .columns([case::Column::Id, case::Column::AgencyId])
            .filter(case::Column::Id.in_subquery(query().select_only().column(event::Column::CaseId).into_query()))
            .into_tuple::<(CaseId, AgencyId)>()
            .all(self.db())
            .await
            .map_err(db_error)?
            .into_iter()
            .collect();
        Ok((events, case_agency))
    }

    /// A case's events of `kinds`, in chain order (the filing package, RULES F5).
    pub async fn events_of_kinds(&self, case_id: &CaseId, kinds: &[EventKind]) -> Result<Vec<event::Model>> {
        event::Entity::find()
            .filter(event::Column::CaseId.eq(case_id))
            .filter(event::Column::Kind.is_in(kinds.iter().map(|k| k.as_str())))
            .order_by_asc(event::Column::CaseSeq)
            .all(self.db())
            .await
            .map_err(db_error)
    }

    /// The first event of `kind` in each of `case_ids` (e.g. when each decision was served).
    pub async fn first_events_of_kind(
        &self,
        case_ids: &[CaseId],
        kind: EventKind,
    ) -> Result<HashMap<CaseId, event::Model>> {
        let mut first: HashMap<CaseId, event::Model> = HashMap::new();
        for chunk in case_ids.chunks(256) {
            let rows = event::Entity::find()
                .filter(event::Column::CaseId.is_in(chunk.iter().cloned()))
                .filter(event::Column::Kind.eq(kind.as_str()))
                .order_by_asc(event::Column::CaseSeq)
                .all(self.db())
                .await
                .map_err(db_error)?;
            for e in rows {
                first.entry(e.case_id.clone()).or_insert(e);
            }
        }
        Ok(first)
    }

    /// A case's evidence items in upload order, with their digests (the filing package's
    /// evidence list, RULES F5).
    pub async fn evidence_of_case(&self, case_id: &CaseId) -> Result<Vec<evidence::Model>> {
        evidence::Entity::find()
            .filter(evidence::Column::CaseId.eq(case_id))
            .order_by_asc(evidence::Column::UploadedAt)
            .order_by_asc(evidence::Column::Id)
            .all(self.db())
            .await
            .map_err(db_error)
    }
}
