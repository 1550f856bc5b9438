//! The `sanxiang` binary.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    sanxiang_server::cli::main().await
}
