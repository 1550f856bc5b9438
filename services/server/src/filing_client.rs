//! Client subcommands of the filing of major penalties (重大行政处罚备案审查, RULES F1–F9).

use sanxiang_proto::v1 as pb;
use sanxiang_proto::v1::filing_service_client::FilingServiceClient;
use tonic::transport::Channel;

use crate::client::{Bearer, show};
use crate::server::StartError;

/// `filing …`
#[derive(Debug, Clone, clap::Subcommand)]
pub enum FilingCmd {
    /// A case's filing: whether and why it is owed, with whom, by when, and where it stands.
    Get {
        #[arg(long = "case")]
        case_id: String,
    },
    /// The filings of an agency, or (without --agency) of every agency the caller supervises.
    List {
        #[arg(long, default_value = "")]
        agency: String,
        /// Each filing with its package, revisions and calls for the case file, as `get` shows it.
        #[arg(long)]
        package: bool,
    },
    /// File a decision with the supervision office (head or legal office of the agency).
    Submit {
        #[arg(long = "case")]
        case_id: String,
        /// The filing report (备案报告).
        #[arg(long)]
        report: String,
        #[arg(long, default_value_t = uuid::Uuid::now_v7().to_string())]
        request_id: String,
    },
    /// Open the review of a filing (the receiving body's legal or supervision office).
    OpenReview {
        #[arg(long = "case")]
        case_id: String,
        #[arg(long, default_value_t = uuid::Uuid::now_v7().to_string())]
        request_id: String,
    },
    /// Record the review's outcome: recorded, supplement_required, correction_recommended,
    /// transfer_required or terminated_by_dispute.
    Decide {
        #[arg(long = "case")]
        case_id: String,
        #[arg(long)]
        outcome: String,
        #[arg(long)]
        reasons: String,
        #[arg(long, default_value_t = uuid::Uuid::now_v7().to_string())]
        request_id: String,
    },
    /// Record the agency's response to a correction or transfer recommendation.
    Respond {
        #[arg(long = "case")]
        case_id: String,
        #[arg(long)]
        response: String,
        /// When the agency acted (YYYY-MM-DD); default today.
        #[arg(long, default_value = "")]
        date: String,
        #[arg(long, default_value_t = uuid::Uuid::now_v7().to_string())]
        request_id: String,
    },
    /// Call for the full case file during the review (RULES F6; the reviewing office).
    RequestFile {
        #[arg(long = "case")]
        case_id: String,
        #[arg(long)]
        reason: String,
        #[arg(long, default_value_t = uuid::Uuid::now_v7().to_string())]
        request_id: String,
    },
    /// Provide the case file called for (head or legal office of the agency).
    ProvideFile {
        #[arg(long = "case")]
        case_id: String,
        #[arg(long, default_value = "")]
        note: String,
        #[arg(long, default_value_t = uuid::Uuid::now_v7().to_string())]
        request_id: String,
    },
    /// The periodic notice (情况通报) of a period, per agency the caller supervises.
    Report {
        #[arg(long, default_value = "")]
        agency: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
    },
}

fn outcome(s: &str) -> i32 {
    pb::FilingOutcome::from_str_name(&format!("FILING_OUTCOME_{}", s.trim().to_ascii_uppercase()))
        .map_or(0, |o| o as i32)
}

fn line(f: &pb::Filing) -> String {
    let status = pb::FilingStatus::try_from(f.status).map_or("?", |s| s.as_str_name());
    let outcome = pb::FilingOutcome::try_from(f.outcome).map_or("?", |s| s.as_str_name());
    format!(
        "{} {} due {} {}{}",
        f.case_id,
        status.trim_start_matches("FILING_STATUS_"),
        if f.due_date.is_empty() { "-" } else { &f.due_date },
        f.reasons.join(","),
        if f.outcome == 0 { String::new() } else { format!(" {}", outcome.trim_start_matches("FILING_OUTCOME_")) }
    )
}

/// Runs a `filing` subcommand.
pub async fn run(channel: Channel, bearer: Bearer, q: bool, cmd: FilingCmd) -> Result<(), StartError> {
    let mut c = FilingServiceClient::with_interceptor(channel, bearer);
    let filing = |f: Option<pb::Filing>| f.ok_or_else(|| crate::client::missing("filing"));
    let f = match cmd {
        FilingCmd::Get { case_id } => c.get_filing(pb::GetFilingRequest { case_id }).await?.into_inner().filing,
        FilingCmd::List { agency, package } => {
            let list = c
                .list_filings(pb::ListFilingsRequest {
                    agency_id: agency,
                    include_package: package,
                    ..Default::default()
                })
                .await?
                .into_inner()
                .filings;
            for f in &list {
                if package && !q {
                    show(q, &f.case_id, f);
                } else {
                    println!("{}", if q { f.case_id.clone() } else { line(f) });
                }
            }
            return Ok(());
        }
        FilingCmd::RequestFile { case_id, reason, request_id } => {
            c.request_case_file(pb::RequestCaseFileRequest { request_id, case_id, reason }).await?.into_inner().filing
        }
        FilingCmd::ProvideFile { case_id, note, request_id } => {
            c.provide_case_file(pb::ProvideCaseFileRequest { request_id, case_id, note }).await?.into_inner().filing
        }
        FilingCmd::Submit { case_id, report, request_id } => {
            c.submit_filing(pb::SubmitFilingRequest { request_id, case_id, report }).await?.into_inner().filing
        }
        FilingCmd::OpenReview { case_id, request_id } => {
            c.open_filing_review(pb::OpenFilingReviewRequest { request_id, case_id }).await?.into_inner().filing
        }
        FilingCmd::Decide { case_id, outcome: o, reasons, request_id } => {
            c.decide_filing_review(pb::DecideFilingReviewRequest { request_id, case_id, outcome: outcome(&o), reasons })
                .await?
                .into_inner()
                .filing
        }
        FilingCmd::Respond { case_id, response, date, request_id } => {
            c.record_filing_response(pb::RecordFilingResponseRequest {
                request_id,
                case_id,
                response,
                response_date: date,
            })
            .await?
            .into_inner()
            .filing
        }
        FilingCmd::Report { agency, from, to } => {
            let r = c
                .get_filing_report(pb::GetFilingReportRequest { agency_id: agency, from_date: from, to_date: to })
                .await?
                .into_inner();
            show(q, "", &r);
            return Ok(());
        }
    };
    let f = filing(f)?;
    if q {
        println!("{}", line(&f));
    } else {
        show(q, &f.case_id, &f);
    }
    Ok(())
}
