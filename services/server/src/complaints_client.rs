//! Client subcommands of complaints and reports (投诉举报, RULES T1–T7).

use sanxiang_proto::v1 as pb;
use sanxiang_proto::v1::complaint_service_client::ComplaintServiceClient;
use tonic::transport::Channel;

use crate::output::{show, show_ids};
use crate::server::StartError;

/// `complaint …`
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ComplaintCmd {
    /// Record a complaint or report received by staff; prints the receipt number(s).
    Record {
        #[arg(long)]
        agency: String,
        /// conduct_complaint, samr_complaint or samr_report; both SAMR types for a complaint with
        /// a report in it (two records).
        #[arg(long = "type", required = true)]
        types: Vec<String>,
        /// internet, phone, fax, post, counter, platform_12315, hotline_12315, hotline_12345,
        /// letter or visit.
        #[arg(long)]
        channel: String,
        /// When it was received (RFC 3339); required for oral intake.
        #[arg(long)]
        received_at: Option<String>,
        #[arg(long)]
        content: String,
        #[arg(long, default_value = "")]
        name: String,
        #[arg(long, default_value = "")]
        contact: String,
        #[arg(long)]
        anonymous: bool,
        #[arg(long)]
        secrecy_requested: bool,
        #[arg(long = "case", default_value = "")]
        case_id: String,
        #[arg(long = "officer")]
        officers: Vec<String>,
    },
    /// Record the next step of a complaint (e.g. `accepted`, `extended`, `concluded`,
    /// `filing_decided`); prints the complaint with what it still owes.
    Step {
        #[arg(long)]
        complaint: String,
        #[arg(long)]
        kind: String,
        /// When it happened (RFC 3339); default now.
        #[arg(long)]
        occurred_at: Option<String>,
        #[arg(long, default_value = "")]
        text: String,
        #[arg(long, default_value_t = 0)]
        extension_days: u32,
        #[arg(long, default_value = "")]
        approved_by: String,
        #[arg(long)]
        case_filed: bool,
        #[arg(long = "case", default_value = "")]
        case_id: String,
        /// not_upheld, correction_ordered, revoke_or_change_recommended, referred_for_accountability.
        #[arg(long, default_value = "")]
        outcome: String,
        /// `concluded`: an investigator holding a supervision certificate; at least two (T6).
        #[arg(long = "investigator")]
        investigators: Vec<String>,
        /// A file to attach to the step (T2; repeat for each; at most 1 MiB each).
        #[arg(long = "attach")]
        attachments: Vec<std::path::PathBuf>,
    },
    /// Writes the bytes of a step's attachment to `--out` (handling offices; T2, T5).
    Attachment {
        #[arg(long)]
        complaint: String,
        /// The step's sequence number.
        #[arg(long)]
        seq: u64,
        /// The attachment's position on the step, from 0.
        #[arg(long, default_value_t = 0)]
        index: u32,
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// One complaint; `--reveal` shows the reporter (handling offices, logged with `--reason`).
    Get {
        #[arg(long)]
        complaint: String,
        #[arg(long)]
        reveal: bool,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// An agency's complaints, newest first, reporter masked; one page (`--limit`, 1-500, default
    /// 50; `--cursor` from the previous page's `next_cursor`).
    List {
        #[arg(long)]
        agency: String,
        #[arg(long)]
        open: bool,
        #[arg(long, default_value = "")]
        cursor: String,
        #[arg(long, default_value_t = 0)]
        limit: u32,
    },
    /// Who saw a complaint's reporter.
    Accesses {
        #[arg(long)]
        complaint: String,
    },
    /// The figures and 情况通报 of a period (supervisors).
    Stats {
        #[arg(long, default_value = "")]
        agency: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
    },
}

/// The media type of a file to attach, by its extension.
fn media_type(path: &std::path::Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("pdf") => "application/pdf",
        Some("txt") => "text/plain",
        Some("mp4") => "video/mp4",
        Some("mp3") => "audio/mpeg",
        _ => "application/octet-stream",
    }
}

fn enum_value(flag: &str, prefix: &str, value: &str, parse: impl Fn(&str) -> Option<i32>) -> Result<i32, StartError> {
    if value.is_empty() {
        return Ok(0);
    }
    parse(&format!("{prefix}{}", value.to_ascii_uppercase()))
        .ok_or_else(|| format!("{flag} {value}: not a known value").into())
}

fn time(flag: &str, value: Option<&str>) -> Result<Option<prost_types::Timestamp>, StartError> {
    value
        .map(|v| {
            sanxiang_domain::Timestamp::parse_rfc3339(v)
                .map(sanxiang_api::convert::timestamp)
                .ok_or_else(|| StartError::from(format!("{flag} {v}: not an RFC 3339 time")))
        })
        .transpose()
}

/// Runs a `complaint` subcommand.
pub async fn run(
    channel: Channel,
    bearer: crate::client::Bearer,
    q: bool,
    cmd: ComplaintCmd,
) -> Result<(), StartError> {
    let mut c = ComplaintServiceClient::with_interceptor(channel, bearer);
    let complaint_type = |t: &str| pb::ComplaintType::from_str_name(t).map(|v| v as i32);
    match cmd {
        ComplaintCmd::Record {
            agency,
            types,
            channel,
            received_at,
            content,
            name,
            contact,
            anonymous,
            secrecy_requested,
            case_id,
            officers,
        } => {
            let types = types
                .iter()
                .map(|t| enum_value("--type", "COMPLAINT_TYPE_", t, complaint_type))
                .collect::<Result<Vec<_>, _>>()?;
            let channel = enum_value("--channel", "COMPLAINT_CHANNEL_", &channel, |v| {
                pb::ComplaintChannel::from_str_name(v).map(|c| c as i32)
            })?;
            let got = c
                .record_complaint(pb::RecordComplaintRequest {
                    agency_id: agency,
                    types,
                    channel,
                    received_at: time("--received-at", received_at.as_deref())?,
                    content,
                    reporter: Some(pb::Reporter { name, contact, anonymous, secrecy_requested, masked: false }),
                    case_id,
                    officer_ids: officers,
                    request_id: String::new(),
                })
                .await?
                .into_inner()
                .complaints;
            show_ids(q, &got, |c| c.id.clone());
        }
        ComplaintCmd::Step {
            complaint,
            kind,
            occurred_at,
            text,
            extension_days,
            approved_by,
            case_filed,
            case_id,
            outcome,
            investigators,
            attachments,
        } => {
            let mut attached = Vec::with_capacity(attachments.len());
            for path in &attachments {
                let content = std::fs::read(path).map_err(|e| format!("--attach {}: {e}", path.display()))?;
                attached.push(pb::ComplaintAttachment {
                    name: path.file_name().and_then(|n| n.to_str()).unwrap_or("attachment").to_owned(),
                    media_type: media_type(path).to_owned(),
                    content: content.into(),
                });
            }
            let kind = enum_value("--kind", "COMPLAINT_STEP_KIND_", &kind, |v| {
                pb::ComplaintStepKind::from_str_name(v).map(|k| k as i32)
            })?;
            let outcome = enum_value("--outcome", "COMPLAINT_OUTCOME_", &outcome, |v| {
                pb::ComplaintOutcome::from_str_name(v).map(|o| o as i32)
            })?;
            let got = c
                .record_complaint_step(pb::RecordComplaintStepRequest {
                    complaint_id: complaint,
                    kind,
                    occurred_at: time("--occurred-at", occurred_at.as_deref())?,
                    text,
                    extension_days,
                    approved_by,
                    case_filed,
                    case_id,
                    outcome,
                    request_id: String::new(),
                    investigator_ids: investigators,
                    attachments: attached,
                })
                .await?
                .into_inner()
                .complaint
                .ok_or_else(|| crate::client::missing("complaint"))?;
            show(q, &got.id, &got);
        }
        ComplaintCmd::Attachment { complaint, seq, index, out } => {
            let got = c
                .get_complaint_attachment(pb::GetComplaintAttachmentRequest { complaint_id: complaint, seq, index })
                .await?
                .into_inner();
            std::fs::write(&out, &got.content).map_err(|e| format!("--out {}: {e}", out.display()))?;
            let a = got.attachment.ok_or_else(|| crate::client::missing("attachment"))?;
            if q {
                println!("{}", a.sha256);
            } else {
                println!("{} {} {} bytes sha256 {}", a.name, a.media_type, a.size, a.sha256);
            }
        }
        ComplaintCmd::Get { complaint, reveal, reason } => {
            let got = c
                .get_complaint(pb::GetComplaintRequest {
                    complaint_id: complaint,
                    reveal_reporter: reveal,
                    access_reason: reason,
                })
                .await?
                .into_inner()
                .complaint
                .ok_or_else(|| crate::client::missing("complaint"))?;
            show(q, &got.id, &got);
        }
        ComplaintCmd::List { agency, open, cursor, limit } => {
            let got = c
                .list_complaints(pb::ListComplaintsRequest { agency_id: agency, open_only: open, cursor, limit })
                .await?
                .into_inner();
            if !got.next_cursor.is_empty() {
                eprintln!("next page: --cursor {}", got.next_cursor);
            }
            show_ids(q, &got.complaints, |c| c.id.clone());
        }
        ComplaintCmd::Accesses { complaint } => {
            let got = c
                .list_reporter_access(pb::ListReporterAccessRequest { complaint_id: complaint.clone() })
                .await?
                .into_inner();
            show(q, &complaint, &got);
        }
        ComplaintCmd::Stats { agency, from, to } => {
            let got = c
                .get_complaint_statistics(pb::GetComplaintStatisticsRequest { agency_id: agency, from, to })
                .await?
                .into_inner();
            show(q, &got.received.to_string(), &got);
        }
    }
    Ok(())
}
