//! The `sanxiang` command line, for end-to-end tests.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    sanxiang_server::cli::main().await
}
