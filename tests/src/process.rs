//! The real binary as a separate process.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A spawned `sanxiang serve`.
pub struct Process {
    pub child: Child,
    /// The gRPC address it reported.
    pub addr: String,
    /// The public HTTP address it reported.
    pub http_addr: String,
    /// The admin listener's address it reported (`off` when turned off).
    pub admin_addr: String,
    stderr: tokio::task::JoinHandle<Vec<String>>,
}

/// Spawns `BIN serve ARGS` in `dir` with extra environment `env`, and waits for the log line
/// saying where it listens (no sleeping: the line is the readiness signal).
pub async fn spawn(bin: &str, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Process {
    let mut cmd = Command::new(bin);
    cmd.arg("serve")
        .args(args)
        .current_dir(dir)
        .env_remove("SANXIANG_DATABASE_URL")
        .env_remove("SANXIANG_OBJECT_STORE_URL")
        .env("SANXIANG_LOG", "info")
        // Several servers run at once: the admin listener on a port of its own for each.
        .env("SANXIANG_ADMIN_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn sanxiang");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let mut seen = Vec::new();
    let mut http_addr = String::new();
    let mut admin_addr = String::new();
    let addr = loop {
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("the server reports its address within a minute")
            .expect("read stderr")
            .unwrap_or_else(|| panic!("the server exited before serving: {seen:#?}"));
        seen.push(line.clone());
        if let Some(rest) = line.split("http_addr=").nth(1) {
            http_addr = rest.split_whitespace().next().expect("address").to_owned();
        }
        if let Some(rest) = line.split("admin_addr=").nth(1) {
            admin_addr = rest.split_whitespace().next().expect("address").to_owned();
        }
        if let Some(rest) = line.split("grpc_addr=").nth(1) {
            break rest.split_whitespace().next().expect("address").to_owned();
        }
    };
    let stderr = tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            seen.push(line);
        }
        seen
    });
    Process { child, addr, http_addr, admin_addr, stderr }
}

/// Sends SIGTERM, requires a clean exit within 30 s, and returns everything it logged.
pub async fn sigterm_and_wait(mut p: Process) -> Vec<String> {
    let pid = p.child.id().expect("running");
    let status = Command::new("kill").args(["-TERM", &pid.to_string()]).status().await.expect("kill");
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(30), p.child.wait())
        .await
        .expect("exits after SIGTERM")
        .expect("wait");
    assert!(exit.success(), "graceful shutdown exits 0, got {exit:?}");
    p.stderr.await.expect("log reader")
}
