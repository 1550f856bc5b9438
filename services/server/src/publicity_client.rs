//! Client subcommands of publicity: disclosures, the agency's policy, notices, supervision.

use sanxiang_proto::v1 as pb;
use sanxiang_proto::v1::publicity_service_client::PublicityServiceClient;
use tonic::transport::Channel;

use crate::client::{Bearer, show};
use crate::server::StartError;

/// `disclosure …`
#[derive(Debug, Clone, clap::Subcommand)]
pub enum DisclosureCmd {
    /// List disclosures, newest first (public ones; `--all` for the agency's staff view).
    List {
        #[arg(long, default_value = "")]
        agency: String,
        /// Include pending, excluded and cancelled disclosures (staff of the agency).
        #[arg(long)]
        all: bool,
        #[arg(long, default_value = "")]
        cursor: String,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Show one disclosure (its id is the case id).
    Get {
        #[arg(long)]
        id: String,
    },
    /// Publish a disclosure waiting for confirmation.
    Publish {
        #[arg(long)]
        id: String,
        #[arg(long, default_value_t = uuid::Uuid::now_v7().to_string())]
        request_id: String,
    },
    /// Publish the withdrawal of a disclosure whose decision was revised.
    Withdraw {
        #[arg(long)]
        id: String,
        /// The public reason (default: the revision's reason, masked).
        #[arg(long, default_value = "")]
        reason: String,
        #[arg(long, default_value_t = uuid::Uuid::now_v7().to_string())]
        request_id: String,
    },
    /// Publish a corrected version, masking further names.
    Correct {
        #[arg(long)]
        id: String,
        #[arg(long)]
        reason: String,
        #[arg(long = "mask-name")]
        mask_names: Vec<String>,
        /// A withdrawn disclosure: the corrected public withdrawal reason.
        #[arg(long, default_value = "")]
        withdrawal_reason: String,
        #[arg(long, default_value_t = uuid::Uuid::now_v7().to_string())]
        request_id: String,
    },
    /// End a publication early on the party's request.
    End {
        #[arg(long)]
        id: String,
        #[arg(long)]
        reason: String,
        #[arg(long, default_value_t = uuid::Uuid::now_v7().to_string())]
        request_id: String,
    },
    /// What is overdue, missing or refused in the agencies the caller supervises.
    Overdue {
        #[arg(long, default_value = "")]
        agency: String,
    },
    /// The penalty, licensing and compulsory-measure tables (RULES N2–N4) of a period, for one
    /// agency or (without --agency) every agency the caller supervises, and their total; as CSV.
    Statistics {
        #[arg(long, default_value = "")]
        agency: String,
        /// First day of the period (YYYY-MM-DD, in each agency's zone).
        #[arg(long)]
        from: String,
        /// Last day of the period, included.
        #[arg(long)]
        to: String,
        /// Write the CSV to this file instead of printing it.
        #[arg(long)]
        csv: Option<std::path::PathBuf>,
    },
    /// Publish (freeze) an agency's figures of a finished year (RULES N1, N6); again, with
    /// --reason, to publish a corrected version. Publisher or head of the agency.
    PublishAnnual {
        #[arg(long)]
        agency: String,
        #[arg(long)]
        year: i32,
        /// Why a published year is corrected (required for a correction).
        #[arg(long, default_value = "")]
        reason: String,
        #[arg(long, default_value_t = uuid::Uuid::now_v7().to_string())]
        request_id: String,
    },
    /// An agency's figures of a finished year: the published version (the latest, or --version),
    /// or computed now if none was published. Public.
    Annual {
        #[arg(long)]
        agency: String,
        #[arg(long)]
        year: i32,
        #[arg(long, default_value_t = 0)]
        version: u32,
    },
}

/// `publicity-policy …`
#[derive(Debug, Clone, clap::Subcommand)]
pub enum PolicyCmd {
    /// Show an agency's publication and masking policy.
    Get {
        #[arg(long)]
        agency: String,
    },
    /// Change some fields of an agency's policy; the others keep their values.
    Set {
        #[arg(long)]
        agency: String,
        /// Publish when the decision is issued (`true`) or after a publisher confirms (`false`).
        #[arg(long)]
        auto_publish: Option<bool>,
        /// Working days to publish a penalty decision.
        #[arg(long)]
        penalty_days: Option<u32>,
        /// Working days to publish a licensing decision.
        #[arg(long)]
        licensing_days: Option<u32>,
        /// Working days to publish other results.
        #[arg(long)]
        other_days: Option<u32>,
        #[arg(long)]
        exclude_warning_only: Option<bool>,
        #[arg(long)]
        exclude_summary_procedure: Option<bool>,
        /// Adopt a publication regime's defaults (`general` or `samr`) before the other flags.
        #[arg(long)]
        regime: Option<String>,
        /// Mask the punished person's own name (张三 → 张某).
        #[arg(long)]
        mask_party_name: Option<bool>,
    },
}

/// `notice …`
#[derive(Debug, Clone, clap::Subcommand)]
pub enum NoticeCmd {
    /// Set one section of an agency's notice before enforcement.
    Put {
        #[arg(long)]
        agency: String,
        /// body, duties, powers, procedures, service-guides, random-inspections,
        /// supervision-channels, remedy-channels.
        #[arg(long)]
        section: String,
        #[arg(long)]
        title: String,
        #[arg(long, default_value = "")]
        body: String,
        #[arg(long, default_value_t = uuid::Uuid::now_v7().to_string())]
        request_id: String,
    },
    /// Show an agency's notices and officer roster.
    List {
        #[arg(long)]
        agency: String,
    },
}

fn section(name: &str) -> Result<pb::NoticeSection, StartError> {
    let upper = format!("NOTICE_SECTION_{}", name.replace('-', "_").to_ascii_uppercase());
    pb::NoticeSection::from_str_name(&upper)
        .filter(|s| *s != pb::NoticeSection::Unspecified)
        .ok_or_else(|| format!("--section {name}: not a notice section").into())
}

fn line(d: &pb::Disclosure) -> String {
    let status = pb::DisclosureStatus::try_from(d.status).map_or("?", |s| s.as_str_name());
    let c = d.content.clone().unwrap_or_default();
    let mut out = format!(
        "{} {} {} due {}",
        d.id,
        status.trim_start_matches("DISCLOSURE_STATUS_"),
        c.document_number,
        d.due_date
    );
    if d.due_provisional {
        out.push_str(" (provisional)");
    }
    if d.overdue {
        out.push_str(" OVERDUE");
    }
    if !d.exclusion_reason.is_empty() {
        out.push_str(&format!(" excluded: {}", d.exclusion_reason));
    }
    if !d.withdrawal_reason.is_empty() {
        out.push_str(&format!(" withdrawal: {}", d.withdrawal_reason));
    }
    out.push_str(&held(d));
    out
}

/// The spans a held disclosure waits on, one per line, each highlighted in 【】 within its
/// context, for the publisher who confirms or corrects it.
fn held(d: &pb::Disclosure) -> String {
    d.held_spans
        .iter()
        .map(|s| format!("\n  held {} [{}..{}) {}: {}", s.field, s.start, s.end, s.kind, s.excerpt))
        .collect()
}

/// Runs a `disclosure`, `publicity-policy` or `notice` subcommand.
pub async fn run(channel: Channel, bearer: Bearer, q: bool, cmd: PublicityCmd) -> Result<(), StartError> {
    let mut p = PublicityServiceClient::with_interceptor(channel, bearer);
    match cmd {
        PublicityCmd::Disclosure(DisclosureCmd::List { agency, all, cursor, limit }) => {
            let page = p
                .list_disclosures(pb::ListDisclosuresRequest {
                    agency_id: agency,
                    cursor,
                    limit,
                    include_unpublished: all,
                })
                .await?
                .into_inner();
            for d in &page.disclosures {
                println!("{}", if q { d.id.clone() } else { line(d) });
            }
            if !page.next_cursor.is_empty() && !q {
                println!("next cursor: {}", page.next_cursor);
            }
        }
        PublicityCmd::Disclosure(DisclosureCmd::Get { id }) => {
            let d = p
                .get_disclosure(pb::GetDisclosureRequest { disclosure_id: id })
                .await?
                .into_inner()
                .disclosure
                .ok_or_else(|| crate::client::missing("disclosure"))?;
            show(q, &d.id, &d);
            if !q && !d.held_spans.is_empty() {
                println!("held for confirmation:{}", held(&d));
            }
        }
        PublicityCmd::Disclosure(DisclosureCmd::Publish { id, request_id }) => {
            let d = p
                .publish_disclosure(pb::PublishDisclosureRequest { request_id, disclosure_id: id })
                .await?
                .into_inner()
                .disclosure
                .ok_or_else(|| crate::client::missing("disclosure"))?;
            println!("{}", if q { d.id.clone() } else { line(&d) });
        }
        PublicityCmd::Disclosure(DisclosureCmd::Withdraw { id, reason, request_id }) => {
            let d = p
                .withdraw_disclosure(pb::WithdrawDisclosureRequest { request_id, disclosure_id: id, reason })
                .await?
                .into_inner()
                .disclosure
                .ok_or_else(|| crate::client::missing("disclosure"))?;
            println!("{}", if q { d.id.clone() } else { line(&d) });
        }
        PublicityCmd::Disclosure(DisclosureCmd::Correct { id, reason, mask_names, withdrawal_reason, request_id }) => {
            let d = p
                .correct_disclosure(pb::CorrectDisclosureRequest {
                    request_id,
                    disclosure_id: id,
                    reason,
                    mask_names,
                    withdrawal_reason,
                })
                .await?
                .into_inner()
                .disclosure
                .ok_or_else(|| crate::client::missing("disclosure"))?;
            println!("{}", if q { d.id.clone() } else { line(&d) });
        }
        PublicityCmd::Disclosure(DisclosureCmd::End { id, reason, request_id }) => {
            let d = p
                .end_publication(pb::EndPublicationRequest { request_id, disclosure_id: id, reason })
                .await?
                .into_inner()
                .disclosure
                .ok_or_else(|| crate::client::missing("disclosure"))?;
            println!("{}", if q { d.id.clone() } else { line(&d) });
        }
        PublicityCmd::Disclosure(DisclosureCmd::Overdue { agency }) => {
            let items = p.list_overdue(pb::ListOverdueRequest { agency_id: agency }).await?.into_inner().items;
            for i in &items {
                let kind = pb::OverdueKind::try_from(i.kind).map_or("?", |k| k.as_str_name());
                println!(
                    "{} agency {} case {} {} due {} {}",
                    kind.trim_start_matches("OVERDUE_KIND_"),
                    i.agency_id,
                    i.case_id,
                    i.subject_id,
                    i.due_date,
                    i.detail
                );
            }
        }
        PublicityCmd::Disclosure(DisclosureCmd::Statistics { agency, from, to, csv }) => {
            let r = p
                .get_statistics(pb::GetStatisticsRequest {
                    agency_id: agency,
                    from_date: from,
                    to_date: to,
                    include_csv: true,
                })
                .await?
                .into_inner();
            match csv {
                Some(path) => {
                    std::fs::write(&path, &r.csv).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                    if !q {
                        println!("wrote {} ({} bytes)", path.display(), r.csv.len());
                    }
                }
                None => print!("{}", String::from_utf8_lossy(&r.csv)),
            }
        }
        PublicityCmd::Disclosure(DisclosureCmd::PublishAnnual { agency, year, reason, request_id }) => {
            let r = p
                .publish_annual_report(pb::PublishAnnualReportRequest { request_id, agency_id: agency, year, reason })
                .await?
                .into_inner()
                .report
                .ok_or_else(|| crate::client::missing("report"))?;
            let id = r.publication.as_ref().map(|x| x.snapshot_id.clone()).unwrap_or_default();
            show(q, &id, &r);
        }
        PublicityCmd::Disclosure(DisclosureCmd::Annual { agency, year, version }) => {
            let r = p
                .get_annual_report(pb::GetAnnualReportRequest { agency_id: agency, year, version })
                .await?
                .into_inner();
            let id = r.publication.as_ref().map(|x| x.snapshot_id.clone()).unwrap_or_default();
            show(q, &id, &r);
        }
        PublicityCmd::Policy(PolicyCmd::Get { agency }) => {
            let policy = p
                .get_publicity_policy(pb::GetPublicityPolicyRequest { agency_id: agency })
                .await?
                .into_inner()
                .policy
                .ok_or_else(|| crate::client::missing("policy"))?;
            show(q, &crate::output::policy_digest(&policy), &policy);
        }
        PublicityCmd::Policy(PolicyCmd::Set {
            agency,
            auto_publish,
            penalty_days,
            licensing_days,
            other_days,
            exclude_warning_only,
            exclude_summary_procedure,
            regime,
            mask_party_name,
        }) => {
            let mut policy = p
                .get_publicity_policy(pb::GetPublicityPolicyRequest { agency_id: agency })
                .await?
                .into_inner()
                .policy
                .ok_or_else(|| crate::client::missing("policy"))?;
            if let Some(regime) = regime {
                // The regime's defaults first, then the other flags on top of them.
                policy.regime = regime;
                policy = p
                    .put_publicity_policy(pb::PutPublicityPolicyRequest { policy: Some(policy), regime_defaults: true })
                    .await?
                    .into_inner()
                    .policy
                    .ok_or_else(|| crate::client::missing("policy"))?;
            }
            let set = |slot: &mut u32, v: Option<u32>| {
                if let Some(v) = v {
                    *slot = v;
                }
            };
            set(&mut policy.penalty_days, penalty_days);
            set(&mut policy.licensing_days, licensing_days);
            set(&mut policy.other_days, other_days);
            for (slot, v) in [
                (&mut policy.auto_publish, auto_publish),
                (&mut policy.exclude_warning_only, exclude_warning_only),
                (&mut policy.exclude_summary_procedure, exclude_summary_procedure),
                (&mut policy.mask_party_name, mask_party_name),
            ] {
                if let Some(v) = v {
                    *slot = v;
                }
            }
            let stored = p
                .put_publicity_policy(pb::PutPublicityPolicyRequest { policy: Some(policy), regime_defaults: false })
                .await?
                .into_inner()
                .policy
                .ok_or_else(|| crate::client::missing("policy"))?;
            show(q, &crate::output::policy_digest(&stored), &stored);
        }
        PublicityCmd::Notice(NoticeCmd::Put { agency, section: name, title, body, request_id }) => {
            let n = p
                .put_notice(pb::PutNoticeRequest {
                    request_id,
                    agency_id: agency,
                    section: section(&name)? as i32,
                    title,
                    body,
                    items: Vec::new(),
                })
                .await?
                .into_inner()
                .notice
                .ok_or_else(|| crate::client::missing("notice"))?;
            show(q, &n.version.to_string(), &n);
        }
        PublicityCmd::Notice(NoticeCmd::List { agency }) => {
            let r = p.list_notices(pb::ListNoticesRequest { agency_id: agency }).await?.into_inner();
            show(false, "", &r);
        }
    }
    Ok(())
}

/// The publicity subcommand groups.
#[derive(Debug, Clone)]
pub enum PublicityCmd {
    Disclosure(DisclosureCmd),
    Policy(PolicyCmd),
    Notice(NoticeCmd),
}
