//! Enforcement statistics across agencies (执法统计, RULES N1–N7): the penalty (N2), licensing
//! (N3) and compulsory-measure (N4) tables of an agency, or of every agency a supervisor oversees,
//! over a period of local dates, computed from the case record every time they are asked for
//! (N6: never typed in, always reproducible from the events). The counting rules are in
//! [`sanxiang_domain::statistics`]; this reads the record and feeds them.
//!
//! What is counted, and from which events (each by its occurrence in the agency's zone, RULES D5):
//! - N2: `decision` events of penalty cases, from the draft each was issued on (types, fines,
//!   confiscation), one row per decision under its most severe penalty;
//! - N3: licensing cases opened (received) and filed (accepted), and `decision` events of licensing
//!   cases by their licensing action;
//! - N4: `seizure` events by their `measure` detail, `execution` events by their `method` detail
//!   (none: the party performed, nothing was enforced), `forced_demolition` events as 排除妨碍、
//!   恢复原状; `inspection` events by their `inspection_kind` detail (routine, special, random:
//!   双随机; none stated: unspecified).
//!
//! Counts hold no personal data (N7): the tables name agencies and count acts, nothing else, so
//! they are public as they are (the public annual report carries them).

use std::collections::HashSet;

use chrono::{Datelike, NaiveDate};
use sanxiang_domain::calendar::local_date;
use sanxiang_domain::canonical::Value;
use sanxiang_domain::catalog::{LicensingAction, PenaltyType};
use sanxiang_domain::id::{AgencyId, CaseId, DraftId};
use sanxiang_domain::lifecycle::{CaseKind, EventKind};
use sanxiang_domain::officer::stored_zone;
use sanxiang_domain::statistics::{
    AmountUnit, ExecutionMethod, InspectionKind, Measure, PenaltyDecision, StatisticsPolicy, Tables, annuls, period,
};
use sanxiang_domain::{Error, Result};
use sanxiang_recording::reads::Period;
use sanxiang_store::entity::agency;
use serde_json::{Value as Json, json};

use crate::Publicity;
use crate::annual::{MAX_YEAR, MIN_YEAR};
use crate::content::{self, DraftContent};
use crate::http::{csv_row, csv_take, csv_writer};
use sanxiang_domain::calendar::end_instant;

/// The tables of one agency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgencyTables {
    pub agency_id: AgencyId,
    pub agency_name: String,
    pub tables: Tables,
}

/// The statistics of a period for one agency or several, with their sum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statistics {
    /// First and last day of the period, inclusive, in each agency's zone.
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// How the figures were counted and are shown.
    pub policy: StatisticsPolicy,
    /// The period has not ended yet in some agency's zone: its figures may still grow.
    pub provisional: bool,
    /// Each agency's tables, in the order the agencies were given.
    pub agencies: Vec<AgencyTables>,
    /// The sum of the agencies' tables.
    pub total: Tables,
}

/// The statistics of `agencies` (already authorised) for the period `from_date`..=`to_date`
/// (`YYYY-MM-DD`, the request's fields of those names).
pub async fn statistics(
    p: &Publicity,
    agencies: Vec<agency::Model>,
    from_date: &str,
    to_date: &str,
) -> Result<Statistics> {
    let (from, to) = period("from_date", from_date, "to_date", to_date, MIN_YEAR..=MAX_YEAR)?;
    let now = p.now();
    let mut out = Statistics {
        from,
        to,
        policy: p.statistics_policy(),
        provisional: false,
        agencies: Vec::with_capacity(agencies.len()),
        total: Tables::default(),
    };
    for a in agencies {
        let tz = stored_zone(&a.time_zone)?;
        out.provisional |= local_date(now, tz) <= to;
        let tables = tables(p, &a, from, to).await?;
        out.total.add(&tables);
        out.agencies.push(AgencyTables { agency_id: a.id, agency_name: a.name, tables });
    }
    Ok(out)
}

/// The text of a string field of an event's `details`, if recorded.
fn detail<'a>(payload: &'a Value, key: &str) -> Option<&'a str> {
    payload.get("details").and_then(|d| d.get(key)).and_then(Value::as_str)
}

/// An agency's tables for the local dates `from..=to`.
pub async fn tables(p: &Publicity, agency: &agency::Model, from: NaiveDate, to: NaiveDate) -> Result<Tables> {
    let tz = stored_zone(&agency.time_zone)?;
    let before = from.pred_opt().ok_or_else(|| Error::invalid("from_date", "out of range"))?;
    let period = Period { start: end_instant(before, tz), end: end_instant(to, tz) };
    let recorder = p.recorder();
    let policy = p.statistics_policy();
    let mut t = Tables::default();

    // Decisions revoked or found void, at any time up to now, when they are not counted.
    let annulled: HashSet<CaseId> = if policy.count_revoked {
        HashSet::new()
    } else {
        let ever = Period { start: i64::MIN, end: i64::MAX };
        recorder
            .events_in(&agency.id, &[EventKind::DecisionRevised], ever)
            .await?
            .into_iter()
            .filter(|e| e.payload.get("revision").and_then(Value::as_str).is_some_and(annuls))
            .map(|e| e.case_id)
            .collect()
    };

    // N2 and N3: the decisions of the period, from the drafts they were issued on.
    let mut drafts: Vec<(CaseKind, DraftId)> = Vec::new();
    for d in recorder.decisions_in(&agency.id, period).await? {
        if !matches!(d.case_kind, CaseKind::Penalty | CaseKind::Licensing) || annulled.contains(&d.case_id) {
            continue;
        }
        let draft_id = d
            .payload
            .get("draft_id")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::DataLoss(format!("decision in case {} names no draft", d.case_id)))?;
        drafts.push((d.case_kind, DraftId::from(draft_id)));
    }
    let ids: Vec<DraftId> = drafts.iter().map(|(_, id)| id.clone()).collect();
    let contents = p.reviews().draft_contents(&ids).await?;
    for ((kind, _), (id, text)) in drafts.iter().zip(contents) {
        let d = DraftContent::parse(&id, &text)?;
        match kind {
            CaseKind::Penalty => t.penalty.count(&penalty_decision(&id, &d)?),
            _ => t.licensing.count_decision(LicensingAction::parse(&d.licensing_action)),
        }
    }

    // N3: applications received and accepted.
    t.licensing.received = recorder
        .cases_opened_by_kind(&agency.id, period)
        .await?
        .into_iter()
        .filter(|(k, _)| k == CaseKind::Licensing.as_str())
        .map(|(_, n)| n)
        .sum();

    // N3 acceptances and N4: the acts of the period.
    let kinds = [
        EventKind::Filing,
        EventKind::Seizure,
        EventKind::ForcedDemolition,
        EventKind::Execution,
        EventKind::Inspection,
    ];
    for e in recorder.events_in(&agency.id, &kinds, period).await? {
        match e.kind {
            // Inspections by kind (N4 [default]); a stored kind that does not read is counted as
            // of no stated kind only when none was stated: anything else is DATA_LOSS.
            EventKind::Inspection => match detail(&e.payload, InspectionKind::DETAIL) {
                None => t.inspection.count(None),
                Some(k) => t.inspection.count(Some(InspectionKind::parse(k).ok_or_else(|| {
                    Error::DataLoss(format!(
                        "events.payload.details.inspection_kind of an inspection in case {} cannot be read",
                        e.case_id
                    ))
                })?)),
            },
            EventKind::Filing if e.case_kind == CaseKind::Licensing => t.licensing.accepted += 1,
            EventKind::Seizure => t.compulsion.count_measure(Measure::from_detail(detail(&e.payload, "measure"))),
            EventKind::ForcedDemolition => t.compulsion.count_execution(ExecutionMethod::Restoration),
            EventKind::Execution => {
                if let Some(m) = ExecutionMethod::from_detail(detail(&e.payload, "method")) {
                    t.compulsion.count_execution(m);
                }
            }
            _ => {}
        }
    }
    Ok(t)
}

/// What the penalty table reads of a decision's draft; a stored type that is not a penalty type
/// is DATA_LOSS naming the draft (the draft was checked when submitted).
fn penalty_decision(id: &DraftId, d: &DraftContent) -> Result<PenaltyDecision> {
    let facts = content::facts(id, d);
    let penalties = facts
        .penalties
        .iter()
        .map(|name| {
            PenaltyType::parse(name)
                .ok_or_else(|| Error::DataLoss(format!("drafts.content.penalties.type of draft {id} cannot be read")))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(PenaltyDecision { penalties, fine_fen: facts.fine_fen, confiscation_fen: facts.confiscation_fen })
}

/// The tables as JSON (the public annual report's `tables`), amounts in fen and in `unit`.
pub fn tables_json(t: &Tables, unit: AmountUnit) -> Json {
    let p = &t.penalty;
    let rows: Vec<Json> = p
        .rows()
        .map(|(c, r)| {
            json!({
                "category": c.code(),
                "label": c.label(),
                "decisions": r.decisions,
                "amount_fen": r.amount_fen,
                "amount": unit.format(r.amount_fen),
            })
        })
        .collect();
    let l = &t.licensing;
    let compulsion: serde_json::Map<String, Json> =
        t.compulsion.rows().iter().map(|(code, _, n)| ((*code).to_owned(), json!(n))).collect();
    let inspection: serde_json::Map<String, Json> =
        t.inspection.rows().iter().map(|(code, _, n)| ((*code).to_owned(), json!(n))).collect();
    json!({
        "amount_unit": unit.code(),
        "penalty": {
            "rows": rows,
            "decisions": p.decisions(),
            "amount_fen": p.amount_fen(),
            "amount": unit.format(p.amount_fen()),
            "fine_fen": p.fine_fen,
            "confiscation_fen": p.confiscation_fen,
            "no_penalty_decisions": p.no_penalty_decisions,
        },
        "licensing": {
            "received": l.received,
            "accepted": l.accepted,
            "granted": l.granted,
            "refused": l.refused,
            "revoked": l.revoked,
            "cancelled": l.cancelled,
            "unclassified": l.unclassified,
        },
        "compulsion": compulsion,
        "inspection": inspection,
    })
}

/// One agency's (or the total's) rows of the CSV.
struct CsvBlock<'a> {
    agency_id: &'a str,
    agency_name: &'a str,
    tables: &'a Tables,
}

/// The tables as CSV (RFC 4180, CRLF; cells that could be read as formulas neutralised), one
/// row per figure: `agency_id, agency_name, from_date, to_date, table, item, heading, count,
/// amount_fen, amount_<unit>`. The total of several agencies follows them with an empty
/// `agency_id` and the name 合计.
pub fn csv(s: &Statistics) -> Result<Vec<u8>> {
    let mut blocks: Vec<CsvBlock<'_>> = s
        .agencies
        .iter()
        .map(|a| CsvBlock { agency_id: a.agency_id.as_str(), agency_name: &a.agency_name, tables: &a.tables })
        .collect();
    if s.agencies.len() > 1 {
        blocks.push(CsvBlock { agency_id: "", agency_name: "合计", tables: &s.total });
    }
    csv_of(&blocks, s.from, s.to, s.policy.amount_unit)
}

/// One agency's tables of a year as CSV (the public annual report's CSV).
pub fn year_csv(agency_id: &AgencyId, agency_name: &str, year: i32, t: &Tables, unit: AmountUnit) -> Result<Vec<u8>> {
    let (from, to) = (
        NaiveDate::from_ymd_opt(year, 1, 1).ok_or_else(|| Error::invalid("year", "out of range"))?,
        NaiveDate::from_ymd_opt(year, 12, 31).ok_or_else(|| Error::invalid("year", "out of range"))?,
    );
    debug_assert_eq!(from.year(), to.year());
    csv_of(&[CsvBlock { agency_id: agency_id.as_str(), agency_name, tables: t }], from, to, unit)
}

fn csv_of(blocks: &[CsvBlock<'_>], from: NaiveDate, to: NaiveDate, unit: AmountUnit) -> Result<Vec<u8>> {
    let mut w = csv_writer();
    let amount_header = format!("amount_{}", unit.code());
    csv_row(
        &mut w,
        &[
            "agency_id",
            "agency_name",
            "from_date",
            "to_date",
            "table",
            "item",
            "heading",
            "count",
            "amount_fen",
            &amount_header,
        ],
    )?;
    let (from, to) = (from.to_string(), to.to_string());
    for b in blocks {
        let mut row = |table: &str, item: &str, heading: &str, count: u64, amount: Option<u64>| {
            let count = count.to_string();
            let (fen, shown) = amount.map_or((String::new(), String::new()), |a| (a.to_string(), unit.format(a)));
            csv_row(&mut w, &[b.agency_id, b.agency_name, &from, &to, table, item, heading, &count, &fen, &shown])
        };
        let p = &b.tables.penalty;
        for (c, r) in p.rows() {
            row("penalty", c.code(), c.label(), r.decisions, Some(r.amount_fen))?;
        }
        row("penalty", "total", "合计", p.decisions(), Some(p.amount_fen()))?;
        row("penalty", "no_penalty", "不予处罚", p.no_penalty_decisions, None)?;
        let l = &b.tables.licensing;
        for (item, heading, n) in [
            ("received", "申请", l.received),
            ("accepted", "受理", l.accepted),
            ("granted", "准予（含变更、延续）", l.granted),
            ("refused", "不予", l.refused),
            ("revoked", "撤销、撤回", l.revoked),
            ("cancelled", "注销", l.cancelled),
            ("unclassified", "未分类", l.unclassified),
        ] {
            row("licensing", item, heading, n, None)?;
        }
        for (item, heading, n) in b.tables.compulsion.rows() {
            row("compulsion", item, heading, n, None)?;
        }
        for (item, heading, n) in b.tables.inspection.rows() {
            row("inspection", item, heading, n, None)?;
        }
    }
    Ok(csv_take(&mut w)?.into_bytes())
}
