//! `sanxiang witness` (run a witness of verifiable logs) and `sanxiang log audit` (follow a log
//! through its public tiles); the work is in `sanxiang_log`.

use std::path::PathBuf;

use crate::telemetry;

/// `sanxiang log …`.
#[derive(Debug, clap::Subcommand)]
pub enum LogCmd {
    /// Follow a log from a saved checkpoint through its tiles: verify the new checkpoint's
    /// signature, that it extends the saved one, and every leaf since; then save it.
    Audit {
        /// The log's public HTTP root (where `/checkpoint` and `/tile/…` are served).
        #[arg(long)]
        url: String,
        /// The log's verifier key (`<origin>+<id>+<base64>`), as printed by the server at start-up.
        #[arg(long, env = "SANXIANG_LOG_VKEY")]
        vkey: String,
        /// The auditor's state file: the last verified checkpoint (created on the first run).
        #[arg(long, default_value = "./sanxiang-audit.json")]
        state: PathBuf,
    },
}

/// Runs `sanxiang witness` until SIGINT or SIGTERM.
pub async fn witness(config: sanxiang_log::witness::WitnessConfig) -> Result<(), crate::server::StartError> {
    // Kept alive while the witness runs: it flushes the subscriber when dropped.
    let _telemetry = telemetry::init(telemetry::LogFormat::Pretty, "info", None)?;
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    sanxiang_log::witness::run(&config, stop).await
}

/// Runs `sanxiang log …`.
pub async fn log(cmd: LogCmd) -> Result<(), crate::server::StartError> {
    match cmd {
        LogCmd::Audit { url, vkey, state } => {
            let report = sanxiang_log::audit::audit(&url, &vkey, &state).await?;
            println!(
                "ok: {} grew from {} to {} leaves; {} leaves checked; consistent with the saved checkpoint",
                report.origin, report.old_size, report.new_size, report.leaves_checked
            );
            Ok(())
        }
    }
}
