//! The `sanxiang` server: configuration, wiring, authentication and serving. The binary in
//! `main.rs` adds the command line and the client subcommands.

pub mod admin;
pub mod cli;
pub mod client;
pub mod complaints_client;
pub mod config;
pub mod filing_client;
pub mod lifecycle;
pub mod limits;
pub mod log_gate;
pub mod observe;
pub mod offline;
pub mod output;
pub mod publicity_client;
pub mod review_client;
pub mod server;
pub mod telemetry;
pub mod tls;
pub mod transfer;
pub mod wire;
pub mod witness;

pub use config::ServeConfig;
pub use server::{Running, start};
