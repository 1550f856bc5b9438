//! `--spawn`: runs `sanxiang serve` on a temporary data directory and port 0, so the bench knows
//! the server's pid and can read its peak RSS (`VmHWM`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

/// How long the server may take to migrate and start listening.
const STARTUP: Duration = Duration::from_secs(60);

/// A spawned server; killed and its data directory removed on drop.
pub struct Server {
    /// Where it serves gRPC.
    pub addr: SocketAddr,
    /// Where it serves the public HTTP surface.
    pub http_addr: SocketAddr,
    /// Its administrator token.
    pub token: String,
    /// The database it uses.
    pub database_url: String,
    child: tokio::process::Child,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts `bin serve` (default `$CARGO_TARGET_DIR/release/sanxiang`, else `target/release/sanxiang`).
    pub async fn start(bin: Option<PathBuf>, database_url: Option<&str>) -> Result<Self, crate::Error> {
        let bin = bin.unwrap_or_else(|| {
            let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
            target.join("release").join("sanxiang")
        });
        let dir = tempfile::tempdir()?;
        let mut cmd = tokio::process::Command::new(&bin);
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(dir.path())
            .args([
                "--listen",
                "127.0.0.1:0",
                "--http-listen",
                "127.0.0.1:0",
                "--admin-listen",
                "127.0.0.1:0",
                // The feed figure measures serving pages, not the per-client rate limit.
                "--http-rate-burst",
                "1000000000",
                "--http-rate-per-second",
                "1000000000",
                "--log-format",
                "json",
                "--log",
                "warn,sanxiang_server=info",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(url) = database_url {
            cmd.arg("--database-url").arg(url);
        }
        let mut child = cmd.spawn().map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        // Keep draining the log after start-up, or the server would block on a full pipe; after
        // start-up only its errors are shown (an INTERNAL answer's detail is in the server's log).
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            let mut tx = Some(tx);
            while let Ok(Some(line)) = lines.next_line().await {
                if let (Some(addr), Some(http)) = (field_addr(&line, "grpc_addr"), field_addr(&line, "http_addr"))
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send((addr, http));
                } else if tx.is_some() || line.contains("\"level\":\"ERROR\"") {
                    eprintln!("server: {line}");
                }
            }
        });
        let (addr, http_addr) = tokio::time::timeout(STARTUP, rx)
            .await
            .map_err(|_| "the server did not log grpc_addr= in time")?
            .map_err(|_| "the server exited before serving")?;
        let token = std::fs::read_to_string(dir.path().join("admin-token"))?.trim().to_string();
        let database_url = database_url
            .map_or_else(|| format!("sqlite://{}?mode=rw", dir.path().join("sanxiang.db").display()), str::to_owned);
        Ok(Self { addr, http_addr, token, database_url, child, _dir: dir })
    }

    /// The CPU time the server has used so far, user and system, all threads (`/proc/<pid>/stat`
    /// `utime` + `stime`, in the kernel's fixed 100 ticks a second).
    pub fn cpu_time(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()?)).ok()?;
        // The fields after the command name, which is in parentheses and may hold spaces.
        let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace().skip(11);
        let utime: u64 = fields.next()?.parse().ok()?;
        let stime: u64 = fields.next()?.parse().ok()?;
        Some(Duration::from_millis((utime + stime) * 10))
    }

    /// Starts the server's peak resident set afresh from its current size (`5` to
    /// `/proc/<pid>/clear_refs`), so that [`Self::peak_rss_kib`] then tells the peak of what
    /// follows. `false` when the kernel refused.
    pub fn reset_peak_rss(&self) -> bool {
        self.child.id().is_some_and(|pid| std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok())
    }

    /// The server's peak resident set (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()?)).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }
}

/// The address of `field` in a `field=…` (pretty) or `"field":"…"` (json) log line.
fn field_addr(line: &str, field: &str) -> Option<SocketAddr> {
    let rest = &line[line.find(field)? + field.len()..];
    let rest = rest.trim_start_matches(|c: char| !c.is_ascii_digit());
    let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ':')).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_both_log_formats() {
        let want: std::net::SocketAddr = "127.0.0.1:4321".parse().unwrap();
        assert_eq!(super::field_addr(r#"{"fields":{"grpc_addr":"127.0.0.1:4321"}}"#, "grpc_addr"), Some(want));
        assert_eq!(
            super::field_addr("INFO sanxiang is serving http_addr=127.0.0.1:80 grpc_addr=127.0.0.1:4321", "grpc_addr"),
            Some(want)
        );
    }
}
