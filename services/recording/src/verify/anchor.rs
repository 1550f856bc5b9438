//! The rows a case is shown from, checked against its chain: every stored value an RPC or the
//! public feed shows is either what an event recorded or derived from the events, and a
//! disagreement is reported by table, row and column (docs/CHAIN.md §5).
//!
//! - `cases`: `state_bits` (the lifecycle state after every event's kind), `filed_at` and
//!   `decided_at` (the `occurred_at` of the last `filing` and `decision`);
//! - `evidence`: every column against its `evidence_uploaded` event;
//! - `drafts`: every column against its `draft_submitted` event, the content against the
//!   event's `draft_digest`, the status as the later drafts and opinions leave it;
//! - `reviews`: every column against its `review_decided` event;
//! - `disclosures`: the content against the last `content_sha256` the chain recorded for it,
//!   the dates, version, reasons and status as the decision and the publicity events leave them,
//!   and the columns that decide what the public listing and feed show and in which order
//!   (`listed_seq`, `feed_seq`, `updated_at`, `publication_end_at`) as those events set them;
//! - `filings`: what the decision's `filing` member recorded, and the status, submissions,
//!   dates, reviewer, outcome and response as the filing events leave them (RULES F1–F9).

use std::collections::HashMap;
use std::fmt::Display;

use chrono::NaiveDate;
use chrono_tz::Tz;
use sanxiang_domain::Timestamp;
use sanxiang_domain::calendar::end_instant;
use sanxiang_domain::canonical::Value;
use sanxiang_domain::lifecycle::{CaseState, EventKind};
use sanxiang_domain::publicity::{DisclosureStatus as S, ExclusionReason};
use sanxiang_domain::review::{DraftStatus, draft_digest};
use sanxiang_store::entity::{case, disclosure, draft, evidence, filing, review};

use super::{Checked, Link, Problem};

fn is(c: &Checked, kind: EventKind) -> bool {
    c.kind == kind.as_str()
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Compares one stored value with what the chain says; `shown` says whether the values may be
/// quoted in the message (dates, flags, statuses; never free text).
struct Compare<'a> {
    problems: &'a mut Vec<Problem>,
    table: &'static str,
    row: &'a str,
    case_seq: u64,
}

impl Compare<'_> {
    fn eq<T: PartialEq + Display>(&mut self, column: &str, stored: T, chain: T) {
        if stored != chain {
            self.problems.push(Problem::at(
                self.table,
                self.row,
                column,
                self.case_seq,
                format!("{}.{column} is {stored}, but event {} recorded {chain}", self.table, self.case_seq),
            ));
        }
    }

    fn same_text(&mut self, column: &str, stored: &str, chain: Option<&str>) {
        if Some(stored) != chain {
            self.problems.push(Problem::at(
                self.table,
                self.row,
                column,
                self.case_seq,
                format!("{}.{column} differs from what event {} recorded", self.table, self.case_seq),
            ));
        }
    }

    fn missing(&mut self, what: &str) {
        self.problems.push(Problem::at(self.table, self.row, "", self.case_seq, what.to_owned()));
    }
}

fn opt<T: Display>(v: Option<T>) -> String {
    v.map_or_else(|| "none".to_owned(), |v| v.to_string())
}

fn micros(v: Option<i64>) -> String {
    v.map_or_else(|| "none".to_owned(), |m| Timestamp::from_micros(m).to_rfc3339())
}

/// The case row's derived columns.
pub(super) fn check_case(case: &case::Model, links: &[Link], problems: &mut Vec<Problem>) {
    let mut state = CaseState::from_bits(0);
    let (mut filed, mut decided) = (None, None);
    let mut last = 0;
    for l in links {
        let Some(kind) = l.kind else { continue };
        state = state.after(kind);
        last = l.case_seq;
        if kind == EventKind::Filing {
            filed = Some(l.occurred_at);
        }
        if kind == EventKind::Decision {
            decided = Some(l.occurred_at);
        }
    }
    let mut cmp = Compare { problems, table: "cases", row: &case.id, case_seq: last };
    cmp.eq("state_bits", case.state_bits, state.bits());
    cmp.eq("filed_at", micros(case.filed_at), micros(filed));
    cmp.eq("decided_at", micros(case.decided_at), micros(decided));
}

/// Every evidence row against its `evidence_uploaded` event (digest, size and media type are
/// checked with the references).
pub(super) fn check_evidence(records: &[Checked], items: &[evidence::Model], problems: &mut Vec<Problem>) {
    let uploads: HashMap<&str, &Checked> = records
        .iter()
        .filter(|c| is(c, EventKind::EvidenceUploaded))
        .filter_map(|c| Some((text(&c.payload, "evidence_id")?, c)))
        .collect();
    for e in items {
        let Some(c) = uploads.get(e.id.as_str()) else { continue };
        let p = &c.payload;
        let mut cmp = Compare { problems: &mut *problems, table: "evidence", row: &e.id, case_seq: c.case_seq };
        let captured = text(p, "captured_at").and_then(Timestamp::parse_rfc3339).map(Timestamp::micros);
        cmp.eq("captured_at", micros(Some(e.captured_at)), micros(captured));
        cmp.same_text("device_id", &e.device_id, text(p, "device_id"));
        cmp.eq(
            "device_reviewed",
            e.device_reviewed.to_string(),
            opt(p.get("device_reviewed").and_then(Value::as_bool)),
        );
        cmp.eq("late", e.late.to_string(), opt(p.get("late").and_then(Value::as_bool)));
        cmp.same_text("upload_id", &e.upload_id, text(p, "upload_id"));
        cmp.same_text("officer_id", &e.officer_id, c.officers.first().map(String::as_str));
        cmp.eq("uploaded_at", micros(Some(e.uploaded_at)), micros(Some(c.occurred_at)));
        cmp.same_text("uploaded_by", &e.uploaded_by, Some(&c.actor));
        for p in problems.iter_mut().rev().take_while(|p| p.table == "evidence" && p.row == e.id.as_str()) {
            p.evidence_id.get_or_insert_with(|| e.id.clone());
        }
    }
}

/// Every draft row against its `draft_submitted` event, and its status as the chain leaves it.
pub(super) fn check_drafts(
    case: &case::Model,
    records: &[Checked],
    drafts: &[draft::Model],
    problems: &mut Vec<Problem>,
) {
    let mut submitted: HashMap<&str, &Checked> = HashMap::new();
    let mut status: HashMap<&str, DraftStatus> = HashMap::new();
    for c in records {
        if is(c, EventKind::DraftSubmitted) {
            let Some(id) = text(&c.payload, "draft_id") else { continue };
            for s in status.values_mut() {
                if *s == DraftStatus::Pending {
                    *s = DraftStatus::Superseded;
                }
            }
            let major = c.payload.get("major").and_then(Value::as_bool).unwrap_or(false);
            status.insert(id, if major { DraftStatus::Pending } else { DraftStatus::NotRequired });
            submitted.insert(id, c);
        } else if is(c, EventKind::ReviewDecided) {
            let Some(id) = text(&c.payload, "draft_id") else { continue };
            let after = if text(&c.payload, "outcome") == Some("approve") {
                DraftStatus::Approved
            } else {
                DraftStatus::ProblemsFound
            };
            status.insert(id, after);
        }
    }
    for d in drafts {
        let Some(c) = submitted.remove(d.id.as_str()) else {
            problems.push(Problem::at("drafts", &d.id, "", 0, "the draft has no draft_submitted event in the chain"));
            continue;
        };
        let p = &c.payload;
        let mut cmp = Compare { problems: &mut *problems, table: "drafts", row: &d.id, case_seq: c.case_seq };
        cmp.eq("event_case_seq", d.event_case_seq, c.case_seq as i64);
        cmp.eq("version", d.version, p.get("version").and_then(Value::as_int).unwrap_or(-1));
        cmp.same_text("digest", &d.digest, text(p, "draft_digest"));
        let content = Value::parse(&d.content)
            .ok()
            .filter(|v| v.to_canonical_string().ok().as_deref() == Some(d.content.as_str()))
            .and_then(|v| draft_digest(&v).ok())
            .map(|digest| digest.to_hex());
        cmp.same_text("content", content.as_deref().unwrap_or("(not canonical JSON)"), text(p, "draft_digest"));
        cmp.eq("major", d.major.to_string(), opt(p.get("major").and_then(Value::as_bool)));
        cmp.eq(
            "discussion_required",
            d.discussion_required.to_string(),
            opt(p.get("collective_discussion_required").and_then(Value::as_bool)),
        );
        let rules: Option<Vec<String>> = match Value::parse(&d.matched_rules) {
            Ok(Value::Array(items)) => items.iter().map(|m| text(m, "rule").map(str::to_owned)).collect(),
            _ => None,
        };
        let recorded: Option<Vec<String>> = match p.get("matched_rules") {
            Some(Value::Array(items)) => items.iter().map(|v| v.as_str().map(str::to_owned)).collect(),
            _ => None,
        };
        if rules.is_none() || rules != recorded {
            cmp.missing("drafts.matched_rules differs from the rules the draft_submitted event recorded");
            if let Some(last) = cmp.problems.last_mut() {
                last.column = "matched_rules".into();
            }
        }
        cmp.eq("submitted_at", micros(Some(d.submitted_at)), micros(Some(c.occurred_at)));
        cmp.same_text("submitted_by", &d.submitted_by, Some(&c.actor));
        cmp.same_text("agency_id", &d.agency_id, Some(&case.agency_id));
        let derived = status.get(d.id.as_str()).map(|s| s.as_str());
        cmp.eq("status", d.status.as_str(), derived.unwrap_or("none"));
    }
    let mut left: Vec<(&str, &Checked)> = submitted.into_iter().collect();
    left.sort_by_key(|(_, c)| c.case_seq);
    for (id, c) in left {
        problems.push(Problem::at("drafts", id, "", c.case_seq, "the draft the event recorded has no row"));
    }
}

/// Every review (legal-review opinion) row against its `review_decided` event.
pub(super) fn check_reviews(records: &[Checked], reviews: &[review::Model], problems: &mut Vec<Problem>) {
    let decided: HashMap<&str, &Checked> = records
        .iter()
        .filter(|c| is(c, EventKind::ReviewDecided))
        .filter_map(|c| Some((text(&c.payload, "review_id")?, c)))
        .collect();
    for r in reviews {
        let Some(c) = decided.get(r.id.as_str()) else {
            problems.push(Problem::at("reviews", &r.id, "", 0, "the opinion has no review_decided event in the chain"));
            continue;
        };
        let p = &c.payload;
        let mut cmp = Compare { problems: &mut *problems, table: "reviews", row: &r.id, case_seq: c.case_seq };
        cmp.eq("event_case_seq", r.event_case_seq, c.case_seq as i64);
        cmp.same_text("draft_id", &r.draft_id, text(p, "draft_id"));
        cmp.same_text("draft_digest", &r.draft_digest, text(p, "draft_digest"));
        cmp.eq("outcome", r.outcome.as_str(), text(p, "outcome").unwrap_or("none"));
        let checklist = p.get("checklist").and_then(|v| v.to_canonical_string().ok());
        cmp.same_text("checklist", &r.checklist, checklist.as_deref());
        cmp.same_text("opinion", &r.opinion, text(p, "opinion"));
        cmp.eq(
            "first_penalty_review",
            r.first_penalty_review.to_string(),
            opt(p.get("first_penalty_review").and_then(Value::as_bool)),
        );
        cmp.eq(
            "legal_qualification",
            r.legal_qualification.to_string(),
            opt(p.get("legal_qualification").and_then(Value::as_bool)),
        );
        cmp.same_text("reviewer_id", &r.reviewer_id, Some(&c.actor));
        cmp.eq("decided_at", micros(Some(r.decided_at)), micros(Some(c.occurred_at)));
    }
}

/// What the chain says a disclosure holds.
#[derive(Default)]
struct Expected<'a> {
    /// The event that last changed the disclosure.
    case_seq: u64,
    /// Statuses the row may have (a revision recorded before its withdrawal was put in the
    /// chain leaves two possible).
    status: Vec<&'a str>,
    version: i64,
    content_sha256: Option<&'a str>,
    due_date: Option<&'a str>,
    due_provisional: Option<bool>,
    publication_end: Option<&'a str>,
    exclusion: Option<&'a str>,
    decided_at: i64,
    published_at: Option<i64>,
    withdrawn_at: Option<i64>,
    ended_at: Option<i64>,
    withdrawal_reason: Option<&'a str>,
    withdrawal_due_date: Option<&'a str>,
    withdrawal_due_provisional: bool,
    correction_reason: Option<&'a str>,
    revision: Option<&'a str>,
    revised_at: Option<i64>,
    /// The `global_seq` of the event that put the entry in the public listing.
    listed_seq: Option<u64>,
    /// The `global_seq` of the last event that changed what the public feed shows of it.
    feed_seq: Option<u64>,
    /// The `recorded_at` of the last event that changed the row.
    updated_at: i64,
}

fn expected<'a>(id: &str, records: &'a [Checked]) -> Option<Expected<'a>> {
    let mut e: Option<Expected<'a>> = None;
    for c in records {
        let p = &c.payload;
        let mine = |m: &Value| text(m, "disclosure_id") == Some(id);
        if is(c, EventKind::Decision) {
            let Some(d) = p.get("disclosure").filter(|d| text(d, "id") == Some(id)) else { continue };
            let status = text(d, "status").unwrap_or("none");
            let published = status == S::Published.as_str();
            e = Some(Expected {
                case_seq: c.case_seq,
                status: vec![status],
                version: 1,
                content_sha256: text(d, "content_sha256"),
                due_date: text(d, "due_date"),
                due_provisional: d.get("due_provisional").and_then(Value::as_bool),
                publication_end: text(d, "publication_end"),
                exclusion: text(d, "exclusion"),
                decided_at: c.occurred_at,
                published_at: published.then_some(c.recorded_at),
                listed_seq: published.then_some(c.global_seq),
                feed_seq: published.then_some(c.global_seq),
                updated_at: c.recorded_at,
                ..Expected::default()
            });
            continue;
        }
        let Some(x) = e.as_mut() else { continue };
        // Each of these events changes the row when it commits (its `updated_at`); a revision
        // changes it whatever its status (`revision`, `revised_at`).
        let touches = |kind| is(c, kind) && mine(p);
        if touches(EventKind::DisclosurePublished) {
            x.status = vec![S::Published.as_str()];
            x.content_sha256 = text(p, "content_sha256");
            x.publication_end = text(p, "publication_end");
            x.published_at = Some(c.recorded_at);
            x.listed_seq = Some(c.global_seq);
            x.feed_seq = Some(c.global_seq);
        } else if touches(EventKind::DisclosureCorrected) {
            x.version = p.get("version").and_then(Value::as_int).unwrap_or(-1);
            x.content_sha256 = text(p, "content_sha256");
            x.correction_reason = text(p, "reason");
            x.feed_seq = Some(c.global_seq);
            if let Some(w) = text(p, "withdrawal_reason") {
                x.withdrawal_reason = Some(w);
            }
            if let Some(end) = text(p, "publication_end") {
                x.status = vec![S::Published.as_str()];
                x.publication_end = Some(end);
                x.published_at = Some(c.recorded_at);
                x.listed_seq = Some(c.global_seq);
            }
        } else if touches(EventKind::DisclosureWithdrawn) {
            x.status = vec![S::Withdrawn.as_str()];
            x.withdrawal_reason = text(p, "reason");
            x.withdrawn_at = Some(c.recorded_at);
            x.feed_seq = Some(c.global_seq);
        } else if touches(EventKind::PublicationEnded) {
            x.status = vec![S::Ended.as_str()];
            x.ended_at = Some(c.recorded_at);
            x.feed_seq = Some(c.global_seq);
        } else if is(c, EventKind::DecisionRevised) {
            x.revision = text(p, "revision");
            x.revised_at = Some(c.occurred_at);
            match p.get("withdrawal").filter(|w| mine(w)) {
                Some(w) => {
                    x.withdrawal_reason = text(w, "reason");
                    x.withdrawal_due_date = text(w, "due_date");
                    x.withdrawal_due_provisional = w.get("due_provisional").and_then(Value::as_bool) == Some(true);
                    if w.get("at_once").and_then(Value::as_bool) == Some(true) {
                        x.status = vec![S::Withdrawn.as_str()];
                        x.withdrawn_at = Some(c.recorded_at);
                        x.feed_seq = Some(c.global_seq);
                    } else {
                        x.status = vec![S::WithdrawalPending.as_str()];
                    }
                }
                None if x.status == [S::Pending.as_str()] || x.status == [S::Held.as_str()] => {
                    x.status = vec![S::Cancelled.as_str()]
                }
                None => {}
            }
        } else {
            continue;
        }
        x.case_seq = c.case_seq;
        x.updated_at = c.recorded_at;
    }
    e
}

/// Every disclosure row against its decision and the publicity events.
///
/// `zone` is the agency's time zone, in which a publication ends (`publication_end_at`); an
/// unreadable zone is reported once, with the columns that need it unchecked.
pub(super) fn check_disclosures(
    case: &case::Model,
    records: &[Checked],
    rows: &[disclosure::Model],
    zone: Option<Tz>,
    problems: &mut Vec<Problem>,
) {
    for d in rows {
        let Some(x) = expected(&d.id, records) else {
            problems.push(Problem::at("disclosures", &d.id, "", 0, "the disclosure has no decision in the chain"));
            continue;
        };
        let mut cmp = Compare { problems: &mut *problems, table: "disclosures", row: &d.id, case_seq: x.case_seq };
        let content = sanxiang_domain::Sha256Digest::of(d.content.as_bytes()).to_hex();
        match x.content_sha256 {
            Some(recorded) => cmp.same_text("content", &content, Some(recorded)),
            None => cmp.missing("the chain records no digest of the disclosure's content"),
        }
        // The decision date is part of the content: it must be the content's.
        let decision_date = serde_json::from_str::<serde_json::Value>(&d.content)
            .ok()
            .and_then(|v| v.get("decision_date").and_then(serde_json::Value::as_str).map(str::to_owned));
        cmp.eq("decision_date", d.decision_date.as_str(), decision_date.as_deref().unwrap_or("none"));
        if !x.status.contains(&d.status.as_str()) {
            cmp.eq("status", d.status.as_str(), x.status.join(" or ").as_str());
        }
        cmp.eq("version", d.version, x.version);
        cmp.eq("due_date", d.due_date.as_str(), x.due_date.unwrap_or("none"));
        cmp.eq("due_provisional", d.due_provisional.to_string(), opt(x.due_provisional));
        cmp.eq("publication_end", opt(d.publication_end.as_deref()), opt(x.publication_end));
        if let Some(zone) = zone {
            let end_at = x
                .publication_end
                .map(|end| NaiveDate::parse_from_str(end, "%Y-%m-%d").map_or(i64::MIN, |end| end_instant(end, zone)));
            cmp.eq("publication_end_at", micros(d.publication_end_at), micros(end_at));
        }
        cmp.eq("exclusion_code", opt(d.exclusion_code.as_deref()), opt(x.exclusion));
        let label =
            x.exclusion.map(|code| ExclusionReason::ALL.iter().find(|r| r.code() == code).map_or("?", |r| r.label()));
        cmp.eq("exclusion_reason", opt(d.exclusion_reason.as_deref()), opt(label));
        cmp.eq("decided_at", micros(Some(d.decided_at)), micros(Some(x.decided_at)));
        cmp.eq("published_at", micros(d.published_at), micros(x.published_at));
        cmp.eq("withdrawn_at", micros(d.withdrawn_at), micros(x.withdrawn_at));
        cmp.eq("ended_at", micros(d.ended_at), micros(x.ended_at));
        if d.withdrawal_reason.as_deref() != x.withdrawal_reason {
            cmp.same_text(
                "withdrawal_reason",
                d.withdrawal_reason.as_deref().unwrap_or_default(),
                x.withdrawal_reason.or(Some("\u{0}")),
            );
        }
        cmp.eq("withdrawal_due_date", opt(d.withdrawal_due_date.as_deref()), opt(x.withdrawal_due_date));
        cmp.eq("withdrawal_due_provisional", d.withdrawal_due_provisional, x.withdrawal_due_provisional);
        cmp.eq("revision", opt(d.revision.as_deref()), opt(x.revision));
        cmp.eq("revised_at", micros(d.revised_at), micros(x.revised_at));
        cmp.eq("listed_seq", opt(d.listed_seq), opt(x.listed_seq.map(|s| s as i64)));
        cmp.eq("feed_seq", opt(d.feed_seq), opt(x.feed_seq.map(|s| s as i64)));
        cmp.eq("updated_at", micros(Some(d.updated_at)), micros(Some(x.updated_at)));
        if d.correction_reason.as_deref() != x.correction_reason {
            cmp.same_text(
                "correction_reason",
                d.correction_reason.as_deref().unwrap_or_default(),
                x.correction_reason.or(Some("\u{0}")),
            );
        }
        cmp.same_text("case_id", &d.case_id, Some(&case.id));
        cmp.same_text("agency_id", &d.agency_id, Some(&case.agency_id));
        cmp.same_text("case_kind", &d.case_kind, Some(&case.kind));
    }
    let mut planned: Vec<(&str, u64)> = records
        .iter()
        .filter(|c| is(c, EventKind::Decision))
        .filter_map(|c| Some((text(c.payload.get("disclosure")?, "id")?, c.case_seq)))
        .collect();
    planned.dedup();
    for (id, seq) in planned {
        if !rows.iter().any(|d| d.id == id) {
            problems.push(Problem::at("disclosures", id, "", seq, "the disclosure the decision recorded has no row"));
        }
    }
}

/// What the chain says a case's filing row holds.
#[derive(Default)]
struct FilingExpected<'a> {
    case_seq: u64,
    reasons: Option<&'a Value>,
    recipients: Option<&'a Value>,
    decided_at: i64,
    due_date: Option<&'a str>,
    status: &'static str,
    submissions: i64,
    submitted_at: Option<i64>,
    submitted_late: Option<bool>,
    review_due_date: Option<&'a str>,
    reviewer: Option<&'a str>,
    outcome: Option<&'a str>,
    concluded_at: Option<i64>,
    response_due_date: Option<&'a str>,
    responded_on: Option<&'a str>,
}

/// A JSON array column as canonical values, for comparing with the chain's.
fn stored_array(text: &str) -> Option<Value> {
    Value::parse(text).ok()
}

/// The case's filing row against its decision's `filing` member and the filing events.
pub(super) fn check_filings(
    case: &case::Model,
    records: &[Checked],
    rows: &[filing::Model],
    problems: &mut Vec<Problem>,
) {
    use sanxiang_domain::filing::{FilingStatus, Outcome};
    let mut x: Option<FilingExpected<'_>> = None;
    for c in records {
        let kind = EventKind::parse(&c.kind);
        if kind == Some(EventKind::Decision) {
            let Some(f) = c.payload.get("filing") else { continue };
            if f.get("required").and_then(Value::as_bool) != Some(true) {
                continue;
            }
            x = Some(FilingExpected {
                case_seq: c.case_seq,
                reasons: f.get("reasons"),
                recipients: f.get("recipients"),
                decided_at: c.occurred_at,
                due_date: text(f, "due_date"),
                status: FilingStatus::Owed.as_str(),
                ..FilingExpected::default()
            });
            continue;
        }
        let Some(x) = x.as_mut() else { continue };
        match kind {
            Some(EventKind::FilingSubmitted) => {
                x.case_seq = c.case_seq;
                x.status = FilingStatus::Submitted.as_str();
                x.submissions += 1;
                if x.submitted_at.is_none() {
                    x.submitted_at = Some(c.occurred_at);
                    x.submitted_late = c.payload.get("late").and_then(Value::as_bool);
                }
                x.review_due_date = text(&c.payload, "review_due_date");
                if x.due_date.is_none() {
                    x.due_date = text(&c.payload, "due_date");
                }
            }
            Some(EventKind::FilingReviewOpened) => {
                x.case_seq = c.case_seq;
                x.status = FilingStatus::UnderReview.as_str();
                x.reviewer = text(&c.payload, "reviewer_agency_id");
            }
            Some(EventKind::FilingReviewConcluded) => {
                x.case_seq = c.case_seq;
                x.outcome = text(&c.payload, "outcome");
                x.status = x.outcome.and_then(Outcome::parse).map_or("unknown", |o| FilingStatus::after(o).as_str());
                x.concluded_at = Some(c.occurred_at);
                x.response_due_date = text(&c.payload, "response_due_date");
                x.responded_on = None;
            }
            Some(EventKind::FilingResponse) => {
                x.case_seq = c.case_seq;
                x.status = FilingStatus::Closed.as_str();
                x.responded_on = text(&c.payload, "response_date");
            }
            _ => {}
        }
    }
    match (x, rows.first()) {
        (None, None) => {}
        (None, Some(r)) => {
            problems.push(Problem::at("filings", &r.case_id, "", 0, "the filing has no decision owing it in the chain"))
        }
        (Some(x), None) => problems.push(Problem::at(
            "filings",
            &case.id,
            "",
            x.case_seq,
            "the filing the decision recorded as owed has no row",
        )),
        (Some(x), Some(r)) => {
            let mut cmp = Compare { problems: &mut *problems, table: "filings", row: &r.case_id, case_seq: x.case_seq };
            cmp.eq("status", r.status.as_str(), x.status);
            cmp.eq("submissions", r.submissions, x.submissions);
            cmp.eq("decided_at", micros(Some(r.decided_at)), micros(Some(x.decided_at)));
            cmp.eq("submitted_at", micros(r.submitted_at), micros(x.submitted_at));
            cmp.eq("submitted_late", opt(r.submitted_late), opt(x.submitted_late));
            if r.due_date.is_some() || x.due_date.is_some() {
                cmp.eq("due_date", opt(r.due_date.as_deref()), opt(x.due_date));
            }
            cmp.eq("review_due_date", opt(r.review_due_date.as_deref()), opt(x.review_due_date));
            cmp.eq("reviewer_agency_id", opt(r.reviewer_agency_id.as_deref()), opt(x.reviewer));
            cmp.eq("outcome", opt(r.outcome.as_deref()), opt(x.outcome));
            cmp.eq("concluded_at", micros(r.concluded_at), micros(x.concluded_at));
            cmp.eq("response_due_date", opt(r.response_due_date.as_deref()), opt(x.response_due_date));
            cmp.eq("responded_on", opt(r.responded_on.as_deref()), opt(x.responded_on));
            if stored_array(&r.reasons).as_ref() != x.reasons {
                cmp.same_text("reasons", &r.reasons, None);
            }
            if stored_array(&r.recipients).as_ref() != x.recipients {
                cmp.same_text("recipients", &r.recipients, None);
            }
            cmp.same_text("agency_id", &r.agency_id, Some(&case.agency_id));
        }
    }
}
