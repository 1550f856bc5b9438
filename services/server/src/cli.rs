//! The `sanxiang` command line: `serve` runs the service; the other subcommands are its client.

use std::process::ExitCode;
use std::sync::Arc;

use crate::client::{ClientArgs, ClientCommand};
use crate::{ServeConfig, offline, telemetry};
use clap::Parser;
use sanxiang_domain::SystemClock;

/// sanxiang: the record-keeping service for administrative law enforcement
/// (publicity, full-process recording, legal review of major decisions).
#[derive(Debug, Parser)]
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
    Serve(ServeConfig),
    /// Check an archive written by `case export` offline, as docs/CHAIN.md describes.
    VerifyExport {
        /// The tar archive.
        file: std::path::PathBuf,
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
    telemetry::init(config.log_format, &config.log);
    // Handlers are installed before the server says it is serving, so a signal that arrives
    // right after that line still shuts it down gracefully.
    let shutdown = shutdown_signal()?;
    let running = crate::start(&config, Arc::new(SystemClock)).await?;
    shutdown.await;
    tracing::info!("shutting down: finishing requests in flight");
    running.stop().await?;
    tracing::info!("stopped");
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

/// Runs the command line; the `sanxiang` binary is this function.
pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(config) => serve(config).await,
        Command::VerifyExport { file } => offline::run(&file),
        Command::Witness(config) => crate::witness::witness(config).await,
        Command::Log(cmd) => crate::witness::log(cmd).await,
        Command::Client(c) => crate::client::run(cli.client, c).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            match e.downcast_ref::<tonic::Status>() {
                Some(s) => eprintln!("sanxiang: {:?}: {}", s.code(), s.message()),
                None => eprintln!("sanxiang: {e}"),
            }
            ExitCode::FAILURE
        }
    }
}
