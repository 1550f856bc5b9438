//! The `sanxiang` command line: `serve` runs the service; the other subcommands are its client.

use std::process::ExitCode;
use std::sync::Arc;

use crate::client::{ClientArgs, ClientCommand};
use crate::{ServeConfig, offline, telemetry};
use clap::{CommandFactory as _, FromArgMatches as _};
use sanxiang_domain::SystemClock;

/// sanxiang: the record-keeping service for administrative law enforcement
/// (publicity, full-process recording, legal review of major decisions).
#[derive(Debug, clap::Parser)]
#[command(name = "sanxiang", version)]
struct Cli {
    #[command(flatten)]
    client: ClientArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Run the service (embedded SQLite and local files unless configured otherwise).
    // Boxed: the service's options are much larger than any other subcommand's.
    Serve(Box<ServeConfig>),
    /// Check an archive written by `case export` offline, as docs/CHAIN.md describes.
    VerifyExport {
        /// The tar archive.
        file: std::path::PathBuf,
        /// The log's verifier key (`<origin>+<id>+<key>`, as the server logs it at start), obtained
        /// independently of the archive: the checkpoint and the export statement must be signed
        /// by it. Without it the proofs are checked against an unauthenticated checkpoint.
        #[arg(long)]
        vkey: Option<String>,
        /// A witness's verifier key (repeatable): its cosignature of the checkpoint counts
        /// towards `--quorum`.
        #[arg(long = "witness")]
        witnesses: Vec<String>,
        /// Cosignatures required of the `--witness` keys (default: all of them).
        #[arg(long)]
        quorum: Option<usize>,
    },
    /// The administrator token, with access to the database: rotate it, or recover a lost one.
    #[command(subcommand)]
    Admin(crate::lifecycle::AdminCmd),
    /// Back up an embedded data directory (SQLite database and local evidence) into a tar archive,
    /// consistently while the service runs. PostgreSQL and S3: see deploy/README.md.
    Backup(crate::lifecycle::BackupArgs),
    /// Restore an archive of `backup` into a new data directory.
    Restore(crate::lifecycle::RestoreArgs),
    /// Print a shell completion script: e.g. `sanxiang completions bash > /etc/bash_completion.d/sanxiang`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Run a witness of verifiable logs (C2SP tlog-witness): it cosigns each checkpoint that is
    /// consistent with the last one it cosigned.
    Witness(sanxiang_log::witness::WitnessConfig),
    /// The verifiable log: `log audit`.
    #[command(subcommand)]
    Log(crate::witness::LogCmd),
    #[command(flatten)]
    Client(ClientCommand),
}

async fn serve(config: ServeConfig) -> Result<(), crate::server::StartError> {
    let telemetry = telemetry::init(config.log_format, &config.log, config.otlp_endpoint.as_deref())?;
    // Handlers are installed before the server says it is serving, so a signal that arrives
    // right after that line still shuts it down gracefully.
    let shutdown = shutdown_signal()?;
    let running = crate::start(&config, Arc::new(SystemClock)).await?;
    shutdown.await;
    tracing::info!("shutting down: finishing requests in flight");
    running.stop().await?;
    tracing::info!("stopped");
    telemetry.shutdown();
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, crate::server::StartError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

/// The command line, with the client's connection flags (global, so they go before or after a
/// subcommand) hidden from `serve --help`, where they do not apply.
fn command() -> clap::Command {
    let mut cmd = Cli::command();
    cmd.build();
    let client: Vec<clap::Id> = <ClientArgs as clap::Args>::augment_args(clap::Command::new("client"))
        .get_arguments()
        .map(|a| a.get_id().clone())
        .collect();
    for name in ["serve", "backup", "restore", "verify-export", "completions"] {
        // In place (`mut_args` keeps the order the built command's lookup relies on).
        cmd = cmd
            .mut_subcommand(name, |sub| sub.mut_args(|a| if client.contains(a.get_id()) { a.hide(true) } else { a }));
    }
    cmd
}

/// Runs the command line; the `sanxiang` binary is this function.
pub async fn main() -> ExitCode {
    let cli = match Cli::from_arg_matches(&command().get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let result = match cli.command {
        Command::Admin(cmd) => crate::lifecycle::admin(cmd).await,
        Command::Backup(args) => crate::lifecycle::backup(args).await,
        Command::Restore(args) => crate::lifecycle::restore(args).await,
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut command(), "sanxiang", &mut std::io::stdout());
            Ok(())
        }
        Command::Serve(config) => serve(*config).await,
        Command::VerifyExport { file, vkey, witnesses, quorum } => {
            offline::run(&file, &offline::Trust { vkey, witnesses, quorum })
        }
        Command::Witness(config) => crate::witness::witness(config).await,
        Command::Log(cmd) => crate::witness::log(cmd).await,
        Command::Client(c) => crate::client::run(cli.client, c).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            match e.downcast_ref::<tonic::Status>() {
                Some(s) => eprintln!("sanxiang: {}: {}", crate::observe::grpc_code_name(s.code()), s.message()),
                None => eprintln!("sanxiang: {e}"),
            }
            ExitCode::FAILURE
        }
    }
}
