//! Client subcommands of legal review: catalogs, calendar years, drafts, reviews, decisions.

use std::path::PathBuf;

use sanxiang_proto::v1 as pb;
use sanxiang_proto::v1::registry_service_client::RegistryServiceClient;
use sanxiang_proto::v1::review_service_client::ReviewServiceClient;
use tonic::transport::Channel;

use crate::server::StartError;

/// `catalog …`
#[derive(Debug, Clone, clap::Subcommand)]
pub enum CatalogCmd {
    /// Set an agency's major-decision catalog from a TOML file (a `[[catalog]]` entry's fields).
    Put {
        #[arg(long)]
        agency: String,
        #[arg(long)]
        file: PathBuf,
    },
    /// Show an agency's catalog.
    Get {
        #[arg(long)]
        agency: String,
    },
}

/// `calendar …`
#[derive(Debug, Clone, clap::Subcommand)]
pub enum CalendarCmd {
    /// Load a year's official working-day schedule (the TOML of calendar/cn-YYYY.toml).
    Put {
        #[arg(long)]
        file: PathBuf,
    },
}

/// `draft …`
#[derive(Debug, Clone, clap::Subcommand)]
#[expect(clippy::large_enum_variant, reason = "command-line arguments, parsed once per process")]
pub enum DraftCmd {
    /// Submit a new version of a case's decision draft; prints whether it is major and why.
    Submit {
        #[arg(long = "case")]
        case_id: String,
        /// A penalty by its Chinese name, with the fine in fen for 罚款: `罚款=500000`, `警告`.
        #[arg(long = "penalty")]
        penalties: Vec<String>,
        /// Value of confiscations, in fen.
        #[arg(long, default_value_t = 0)]
        confiscation_fen: u64,
        /// For a licensing case: 准予许可, 不予许可, 撤回许可, 撤销许可, ...
        #[arg(long, default_value = "")]
        licensing_action: String,
        #[arg(long, default_value = "")]
        legal_basis: String,
        #[arg(long, default_value = "")]
        facts: String,
        #[arg(long, default_value = "")]
        discretion_reasoning: String,
        #[arg(long)]
        hearing_held: bool,
        #[arg(long)]
        outside_discretion_standard: bool,
        #[arg(long)]
        ordinary_procedure: bool,
        #[arg(long)]
        complex_case: bool,
        #[arg(long)]
        major_public_interest: bool,
        #[arg(long)]
        required_by_law: bool,
        #[arg(long)]
        major_rights_and_hearing: bool,
        /// The case needs a collective discussion whatever the catalog says.
        #[arg(long)]
        collective_discussion: bool,
        /// Evidence the draft relies on (repeat for each).
        #[arg(long = "evidence")]
        evidence: Vec<String>,
        /// 违法行为类型 (penalty) or 许可类别 (licence), for publication.
        #[arg(long, default_value = "")]
        violation_type: String,
        /// 处罚内容 or 许可内容 as the decision states it.
        #[arg(long, default_value = "")]
        decision_content: String,
        /// A natural person named in the decision other than the party (masked in publications).
        #[arg(long = "other-person")]
        other_persons: Vec<String>,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Show a draft with its review status and due date.
    Get {
        #[arg(long = "draft")]
        draft_id: String,
    },
}

/// `review …`
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ReviewCmd {
    /// The review queue of an agency (overdue first).
    Queue {
        #[arg(long)]
        agency: String,
        #[arg(long)]
        overdue: bool,
    },
    /// Give the opinion on a draft: every checklist item passes unless named with --fail.
    Decide {
        #[arg(long = "draft")]
        draft_id: String,
        /// approve or problems_found.
        #[arg(long)]
        outcome: String,
        /// A failed checklist item with its comment, e.g. `facts_and_evidence=证据不足` (repeat).
        /// Items: lawful_body, officers_qualified, lawful_procedure, facts_and_evidence,
        /// law_and_discretion, within_power, documents_complete, crime_transfer.
        #[arg(long = "fail")]
        failed: Vec<String>,
        /// The written opinion (法制审核意见书).
        #[arg(long)]
        opinion: String,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Record the leadership's collective discussion of a draft.
    Discuss {
        #[arg(long = "draft")]
        draft_id: String,
        #[arg(long)]
        minutes: String,
        #[arg(long)]
        request_id: Option<String>,
    },
}

/// `decision …`
#[derive(Debug, Clone, clap::Subcommand)]
pub enum DecisionCmd {
    /// Issue the decision on a draft (the gate); prints the document number.
    Issue {
        #[arg(long = "draft")]
        draft_id: String,
        /// An acting officer (repeat for each).
        #[arg(long = "officer")]
        officers: Vec<String>,
        /// Document-number prefix; default the agency name and 罚决字/许决字/决字.
        #[arg(long, default_value = "")]
        prefix: String,
        /// The name of the agency's power the decision is made under (each officer's certificate
        /// must cover its category, RULES C8).
        #[arg(long, default_value = "")]
        power: String,
        /// Another agency deciding jointly, this case's agency leading (repeat for each; RULES
        /// F3 routes the filing).
        #[arg(long = "joint-agency")]
        joint_agencies: Vec<String>,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Record a change, revocation, or confirmation of illegality or voidness.
    Revise {
        #[arg(long = "case")]
        case_id: String,
        /// change, revocation, confirmed_illegal or confirmed_void.
        #[arg(long)]
        revision: String,
        #[arg(long)]
        reason: String,
        #[arg(long, default_value = "")]
        basis: String,
        #[arg(long)]
        request_id: Option<String>,
    },
}

/// The eight checklist items by their codes, in API order.
const ITEMS: [&str; 8] = [
    "lawful_body",
    "officers_qualified",
    "lawful_procedure",
    "facts_and_evidence",
    "law_and_discretion",
    "within_power",
    "documents_complete",
    "crime_transfer",
];

fn fresh(id: Option<String>) -> String {
    id.unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
}

fn read(path: &PathBuf) -> Result<String, StartError> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()).into())
}

use crate::output::show;

fn draft_line(d: &pb::Draft) -> String {
    let rules: Vec<&str> = d.matched_rules.iter().map(|m| m.rule.as_str()).collect();
    let due = if d.major {
        format!(
            " review due {}{}{}",
            d.review_due_date,
            if d.review_due_provisional { " (provisional)" } else { "" },
            if d.review_overdue { " OVERDUE" } else { "" }
        )
    } else {
        String::new()
    };
    format!(
        "{} case {} v{} {} [{}]{due}",
        d.id,
        d.case_id,
        d.version,
        if d.major { "major" } else { "not major" },
        rules.join(", ")
    )
}

type Registry = RegistryServiceClient<crate::client::Intercepted>;
type Review = ReviewServiceClient<crate::client::Intercepted>;

/// Runs `catalog` and `calendar` subcommands.
pub async fn registry(registry: &mut Registry, q: bool, cmd: RegistryCmd) -> Result<(), StartError> {
    match cmd {
        RegistryCmd::Catalog(CatalogCmd::Put { agency, file }) => {
            let c = registry
                .put_catalog(pb::PutCatalogRequest { agency_id: agency, catalog_toml: read(&file)? })
                .await?
                .into_inner()
                .catalog
                .ok_or_else(|| crate::client::missing("catalog"))?;
            show(q, &crate::output::setting_digest(&c.catalog_json), &c);
        }
        RegistryCmd::Catalog(CatalogCmd::Get { agency }) => {
            let c = registry
                .get_catalog(pb::GetCatalogRequest { agency_id: agency })
                .await?
                .into_inner()
                .catalog
                .ok_or_else(|| crate::client::missing("catalog"))?;
            if q {
                println!("{}", crate::output::setting_digest(&c.catalog_json));
            } else {
                println!("{}", c.catalog_json);
            }
        }
        RegistryCmd::Calendar(CalendarCmd::Put { file }) => {
            let y = registry
                .put_calendar_year(pb::PutCalendarYearRequest { schedule_toml: read(&file)? })
                .await?
                .into_inner();
            show(q, &y.year.to_string(), &y);
        }
    }
    Ok(())
}

/// The registry-side subcommands of legal review.
#[derive(Debug, Clone)]
pub enum RegistryCmd {
    /// `catalog …`
    Catalog(CatalogCmd),
    /// `calendar …`
    Calendar(CalendarCmd),
}

/// The review-side subcommands.
#[derive(Debug, Clone)]
pub enum ReviewSide {
    /// `draft …`
    Draft(DraftCmd),
    /// `review …`
    Review(ReviewCmd),
    /// `decision …`
    Decision(DecisionCmd),
}

/// Runs `draft`, `review` and `decision` subcommands.
pub async fn review(
    channel: Channel,
    bearer: crate::client::Bearer,
    q: bool,
    cmd: ReviewSide,
) -> Result<(), StartError> {
    let mut review: Review = ReviewServiceClient::with_interceptor(channel, bearer);
    match cmd {
        ReviewSide::Draft(DraftCmd::Submit {
            case_id,
            penalties,
            confiscation_fen,
            licensing_action,
            legal_basis,
            facts,
            discretion_reasoning,
            hearing_held,
            outside_discretion_standard,
            ordinary_procedure,
            complex_case,
            major_public_interest,
            required_by_law,
            major_rights_and_hearing,
            collective_discussion,
            evidence,
            violation_type,
            decision_content,
            other_persons,
            request_id,
        }) => {
            let mut items = Vec::with_capacity(penalties.len());
            for p in penalties {
                let (kind, fen) = match p.split_once('=') {
                    Some((k, f)) => {
                        (k.to_owned(), f.parse().map_err(|_| format!("--penalty {p}: fen must be an integer"))?)
                    }
                    None => (p, 0),
                };
                items.push(pb::PenaltyItem { r#type: kind, amount_fen: fen });
            }
            let d = review
                .submit_draft(pb::SubmitDraftRequest {
                    request_id: fresh(request_id),
                    case_id,
                    penalties: items,
                    confiscation_fen,
                    legal_basis,
                    facts,
                    discretion_reasoning,
                    hearing_held,
                    outside_discretion_standard,
                    ordinary_procedure,
                    licensing_action,
                    major_public_interest,
                    major_rights_and_hearing,
                    complex_case,
                    required_by_law,
                    evidence_ids: evidence,
                    collective_discussion_requested: collective_discussion,
                    violation_type,
                    decision_content,
                    other_persons,
                    ..Default::default()
                })
                .await?
                .into_inner()
                .draft
                .ok_or_else(|| crate::client::missing("draft"))?;
            if q {
                println!("{}", d.id);
            } else {
                println!("{}", draft_line(&d));
                for m in &d.matched_rules {
                    println!("  {}: {}", m.rule, m.reason);
                }
            }
        }
        ReviewSide::Draft(DraftCmd::Get { draft_id }) => {
            let d = review
                .get_draft(pb::GetDraftRequest { draft_id })
                .await?
                .into_inner()
                .draft
                .ok_or_else(|| crate::client::missing("draft"))?;
            show(q, &d.id, &d);
        }
        ReviewSide::Review(ReviewCmd::Queue { agency, overdue }) => {
            let list = review
                .list_review_queue(pb::ListReviewQueueRequest { agency_id: agency, overdue_only: overdue })
                .await?
                .into_inner();
            for d in &list.drafts {
                println!("{}", if q { d.id.clone() } else { draft_line(d) });
            }
        }
        ReviewSide::Review(ReviewCmd::Decide { draft_id, outcome, failed, opinion, request_id }) => {
            let outcome = match outcome.as_str() {
                "approve" => pb::ReviewOutcome::Approve,
                "problems_found" => pb::ReviewOutcome::ProblemsFound,
                other => return Err(format!("unknown outcome {other}: approve or problems_found").into()),
            };
            let mut checklist: Vec<pb::CheckResult> =
                (1..=8).map(|i| pb::CheckResult { item: i, passed: true, comment: String::new() }).collect();
            for f in failed {
                let (item, comment) = f.split_once('=').unwrap_or((f.as_str(), ""));
                let i =
                    ITEMS.iter().position(|c| *c == item).ok_or_else(|| format!("unknown checklist item {item}"))?;
                checklist[i].passed = false;
                checklist[i].comment = comment.to_owned();
            }
            let r = review
                .decide_review(pb::DecideReviewRequest {
                    request_id: fresh(request_id),
                    draft_id,
                    checklist,
                    outcome: outcome as i32,
                    opinion,
                })
                .await?
                .into_inner();
            show(q, &r.id, &r);
        }
        ReviewSide::Review(ReviewCmd::Discuss { draft_id, minutes, request_id }) => {
            let e = review
                .record_collective_discussion(pb::RecordCollectiveDiscussionRequest {
                    request_id: fresh(request_id),
                    draft_id,
                    minutes,
                    occurred_at: None,
                })
                .await?
                .into_inner()
                .event
                .ok_or_else(|| crate::client::missing("event"))?;
            show(q, &e.case_seq.to_string(), &e);
        }
        ReviewSide::Decision(DecisionCmd::Issue { draft_id, officers, prefix, power, joint_agencies, request_id }) => {
            let r = review
                .issue_decision(pb::IssueDecisionRequest {
                    request_id: fresh(request_id),
                    draft_id,
                    officer_ids: officers,
                    document_prefix: prefix,
                    power,
                    joint_agency_ids: joint_agencies,
                })
                .await?
                .into_inner();
            if q {
                println!("{}", r.document_number);
            } else {
                println!(
                    "decision {}{}",
                    r.document_number,
                    if r.decided_after_limit { " (later than 90 days after filing)" } else { "" }
                );
            }
        }
        ReviewSide::Decision(DecisionCmd::Revise { case_id, revision, reason, basis, request_id }) => {
            let revision = match revision.as_str() {
                "change" => pb::Revision::Change,
                "revocation" => pb::Revision::Revocation,
                "confirmed_illegal" => pb::Revision::ConfirmedIllegal,
                "confirmed_void" => pb::Revision::ConfirmedVoid,
                other => return Err(format!("unknown revision {other}").into()),
            };
            let e = review
                .revise_decision(pb::ReviseDecisionRequest {
                    request_id: fresh(request_id),
                    case_id,
                    revision: revision as i32,
                    reason,
                    basis,
                    occurred_at: None,
                })
                .await?
                .into_inner()
                .event
                .ok_or_else(|| crate::client::missing("event"))?;
            show(q, &e.case_seq.to_string(), &e);
        }
    }
    Ok(())
}
