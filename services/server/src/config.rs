//! Configuration of `sanxiang serve`. Every option is a flag and an environment variable; with
//! none set, the service runs on SQLite and local files under `./sanxiang-data/`.

use std::net::SocketAddr;
use std::path::PathBuf;

use sanxiang_domain::retention::MIN_RECORDING_MONTHS;
use sanxiang_domain::statistics::{AmountUnit, AnnualDue};
use sanxiang_publicity::http::PublicUrl;

use crate::telemetry::LogFormat;

/// Options of `sanxiang serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeConfig {
    /// Directory for the embedded defaults (SQLite file, evidence objects) and the first-start
    /// administrator token.
    #[arg(long, env = "SANXIANG_DATA_DIR", default_value = "./sanxiang-data")]
    pub data_dir: PathBuf,

    /// Database URL: `sqlite://PATH?mode=rwc` or `postgres://USER@HOST/DB`. Default: SQLite at
    /// DATA_DIR/sanxiang.db.
    #[arg(long, env = "SANXIANG_DATABASE_URL")]
    pub database_url: Option<String>,

    /// Database connections per replica.
    #[arg(long, env = "SANXIANG_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,

    /// Evidence store: `file:///PATH` or `s3://BUCKET[/PREFIX]`. Default: DATA_DIR/objects.
    #[arg(long, env = "SANXIANG_OBJECT_STORE_URL")]
    pub object_store_url: Option<String>,

    /// S3 endpoint for S3-compatible servers (e.g. http://127.0.0.1:3900).
    #[arg(long, env = "AWS_ENDPOINT")]
    pub s3_endpoint: Option<String>,

    /// S3 region.
    #[arg(long, env = "AWS_REGION")]
    pub s3_region: Option<String>,

    /// S3 access key id.
    #[arg(long, env = "AWS_ACCESS_KEY_ID")]
    pub s3_access_key_id: Option<String>,

    /// S3 secret access key.
    #[arg(long, env = "AWS_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub s3_secret_access_key: Option<String>,

    /// Allow plain-HTTP S3 endpoints (loopback test servers).
    #[arg(long, env = "AWS_ALLOW_HTTP")]
    pub s3_allow_http: Option<bool>,

    /// gRPC listen address.
    #[arg(long, env = "SANXIANG_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,

    /// Public HTTP listen address (the disclosure feed, no authentication).
    #[arg(long, env = "SANXIANG_HTTP_LISTEN", default_value = "127.0.0.1:8080")]
    pub http_listen: SocketAddr,

    /// The address the public HTTP surface is reached at from outside, e.g.
    /// `https://gs.example.gov.cn` (behind a proxy, with its path prefix): the base of the links
    /// it hands out, such as the page a certificate card's QR code leads to (RULES C2). Default:
    /// the address it listens on.
    #[arg(long, env = "SANXIANG_PUBLIC_URL", value_parser = PublicUrl::parse)]
    pub public_url: Option<PublicUrl>,

    /// Requests a client address may make in a burst on the public HTTP surface.
    #[arg(long, env = "SANXIANG_HTTP_RATE_BURST", default_value_t = 120)]
    pub http_rate_burst: u32,

    /// Requests per second a client address regains on the public HTTP surface.
    #[arg(long, env = "SANXIANG_HTTP_RATE_PER_SECOND", default_value_t = 20)]
    pub http_rate_per_second: u32,

    /// Anonymous `WatchDisclosures` streams one client address may hold open.
    #[arg(long, env = "SANXIANG_WATCH_PER_ADDRESS", default_value_t = 8)]
    pub watch_per_address: u32,

    /// Anonymous `WatchDisclosures` streams everyone together may hold open.
    #[arg(long, env = "SANXIANG_WATCH_TOTAL", default_value_t = 1024)]
    pub watch_total: u32,

    /// Writes one principal may make in a burst on the gRPC port (every method but the reads).
    #[arg(long, env = "SANXIANG_WRITE_RATE_BURST", default_value_t = 2000)]
    pub write_rate_burst: u32,

    /// Writes a second one principal regains on the gRPC port.
    #[arg(long, env = "SANXIANG_WRITE_RATE_PER_SECOND", default_value_t = 1000)]
    pub write_rate_per_second: u32,

    /// Longest a gRPC call may take, in milliseconds, before it is `DEADLINE_EXCEEDED` (a client's
    /// shorter `grpc-timeout` still applies). `UploadEvidence` is exempt; a stream is bounded
    /// until its first message.
    #[arg(long, env = "SANXIANG_REQUEST_TIMEOUT_MS", default_value_t = 30_000)]
    pub request_timeout_ms: u64,

    /// Staging expiry, in hours: an upload that stores no part for this long is abandoned; its
    /// staged parts (local file or object-store parts) are removed, `GetUpload` reports it
    /// expired and resuming it is refused (`upload.expired`). Default 168 (seven days).
    #[arg(long, env = "SANXIANG_UPLOAD_STAGING_TTL_HOURS", default_value_t = 168,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub upload_staging_ttl_hours: u64,

    /// How often, in seconds, the server looks for abandoned uploads whose staging expired.
    #[arg(long, env = "SANXIANG_UPLOAD_SWEEP_SECONDS", default_value_t = 600,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub upload_sweep_seconds: u64,

    // ---- Enforcement statistics (RULES N2) ----
    /// Unit of the amounts (罚没金额) in the statistics tables: `wan_yuan` (万元, at least four
    /// decimals, so whole yuan survive) or `yuan` (元, two decimals). Amounts are also given in fen.
    #[arg(long, env = "SANXIANG_STATS_AMOUNT_UNIT", default_value = "wan_yuan", value_parser = parse_amount_unit)]
    pub stats_amount_unit: AmountUnit,

    /// Whether a decision later revoked or found void still counts in the statistics of its
    /// period (`true`: a past period's figures never change; `false`: they drop it).
    #[arg(long, env = "SANXIANG_STATS_COUNT_REVOKED", default_value_t = true, action = clap::ArgAction::Set)]
    pub stats_count_revoked: bool,

    /// Month and day (`MM-DD`) of the next year by which an agency publishes a year's figures; from
    /// the day after, an agency that has not shows on ListOverdue (RULES N1 [default] `01-31`;
    /// 广州 used `03-31`).
    #[arg(long, env = "SANXIANG_STATS_ANNUAL_DUE", default_value = "01-31", value_parser = parse_annual_due)]
    pub stats_annual_due: AnnualDue,

    // ---- Retention (RULES K2, K3) ----
    /// Years a case file of the longer fixed-term class is kept from its closing: general-procedure
    /// penalties, compulsory measures, licensing (局令第8号 Art. 6: 30).
    #[arg(long, env = "SANXIANG_RETENTION_LONG_YEARS", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub retention_long_years: u32,

    /// Years a case file of the shorter class is kept from its closing: summary-procedure penalties,
    /// inspections without findings (10: challenges are barred after 5 years).
    #[arg(long, env = "SANXIANG_RETENTION_SHORT_YEARS", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub retention_short_years: u32,

    /// Months footage no act of its case references is kept from its capture; never below 6 (the
    /// time to sue, 行诉法 Art. 46).
    #[arg(long, env = "SANXIANG_RETENTION_RECORDING_MONTHS", default_value_t = 6,
          value_parser = parse_recording_months)]
    pub retention_recording_months: u32,

    /// Months after issue or the last passed annual review (年审) by which the next review is due;
    /// acts are refused from the day after (RULES C4 [default] 12).
    #[arg(long, env = "SANXIANG_CERTIFICATE_REVIEW_MONTHS", default_value_t = 12,
          value_parser = clap::value_parser!(u32).range(1..=120))]
    pub certificate_review_months: u32,

    /// Training hours a review period must hold for the annual review to pass; at least one
    /// training is always needed (RULES C4 [default] 0).
    #[arg(long, env = "SANXIANG_CERTIFICATE_MIN_TRAINING_HOURS", default_value_t = 0)]
    pub certificate_min_training_hours: u32,

    /// Days before the end of a certificate's validity, and before its review is due, from which
    /// supervisors see it listed (RULES C6 [default] 90).
    #[arg(long, env = "SANXIANG_CERTIFICATE_WARNING_DAYS", default_value_t = 90,
          value_parser = clap::value_parser!(u32).range(0..=3650))]
    pub certificate_warning_days: u32,

    /// Admin listener: Prometheus metrics on `/metrics`, liveness on `/livez` (the process
    /// answers), readiness on `/readyz` (the database answers). Plain HTTP without authentication:
    /// keep it on loopback or a private network. `off` disables it.
    #[arg(long, env = "SANXIANG_ADMIN_LISTEN", default_value = "127.0.0.1:9090", value_parser = parse_admin_listen)]
    pub admin_listen: AdminListen,

    /// OpenTelemetry: send traces over OTLP/HTTP (protobuf) to this collector endpoint, e.g.
    /// `http://otel-collector:4318` (`/v1/traces` is appended). No traces are sent without it.
    #[arg(long, env = "SANXIANG_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,

    /// Log format.
    #[arg(long, env = "SANXIANG_LOG_FORMAT", value_enum, default_value = "pretty")]
    pub log_format: LogFormat,

    /// Log filter (`RUST_LOG` syntax).
    #[arg(long, env = "SANXIANG_LOG", default_value = "info")]
    pub log: String,

    // ---- Transport security ----
    /// PEM certificate chain served on the gRPC and public HTTP ports (TLS). Re-read when the file
    /// changes, for the next connection, without a restart.
    #[arg(long, env = "SANXIANG_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key of --tls-cert (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "SANXIANG_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// PEM CA certificate(s): gRPC clients must present a certificate issued by one of them
    /// (device fleets). The public HTTP port never asks for one.
    #[arg(long, env = "SANXIANG_TLS_CLIENT_CA", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,

    /// Serve without TLS on a non-loopback address (behind a proxy that terminates TLS). Without
    /// it, `serve` refuses to start in plaintext on anything but a loopback address.
    #[arg(long, env = "SANXIANG_ALLOW_PLAINTEXT")]
    pub allow_plaintext: bool,

    // ---- The verifiable log ----
    // Boxed: the command line's enum of subcommands stays small.
    #[command(flatten)]
    pub tlog: Box<sanxiang_log::LogConfig>,
}

/// Where the admin listener listens, if anywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdminListen(pub Option<SocketAddr>);

/// `yuan` or `wan_yuan`.
fn parse_annual_due(s: &str) -> Result<AnnualDue, String> {
    AnnualDue::parse(s).ok_or_else(|| format!("{s:?} is not a month and day MM-DD (e.g. 01-31)"))
}

/// Months, never below the time to sue (RULES K3): a shorter period is refused at start.
fn parse_recording_months(s: &str) -> Result<u32, String> {
    let months: u32 = s.trim().parse().map_err(|_| format!("{s:?} is not a number of months"))?;
    if months < MIN_RECORDING_MONTHS {
        return Err(format!(
            "{months} is below the {MIN_RECORDING_MONTHS} months footage must be kept (RULES K3: the time to sue, 行诉法 Art. 46)"
        ));
    }
    Ok(months)
}

fn parse_amount_unit(s: &str) -> Result<AmountUnit, String> {
    AmountUnit::parse(s).ok_or_else(|| format!("{s:?} is neither `wan_yuan` (万元) nor `yuan` (元)"))
}

/// `off` or a socket address.
fn parse_admin_listen(s: &str) -> Result<AdminListen, String> {
    if s.eq_ignore_ascii_case("off") {
        return Ok(AdminListen(None));
    }
    s.parse()
        .map(|a| AdminListen(Some(a)))
        .map_err(|_| format!("{s:?} is neither an address (HOST:PORT, e.g. 127.0.0.1:9090) nor `off`"))
}

impl ServeConfig {
    /// The configuration with every default: what `sanxiang serve` uses with nothing set, except
    /// that the admin listener is off (several servers started in one process, as tests and
    /// embedders do, would compete for its fixed port).
    pub fn embedded(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            database_url: None,
            db_max_connections: 16,
            object_store_url: None,
            s3_endpoint: None,
            s3_region: None,
            s3_access_key_id: None,
            s3_secret_access_key: None,
            s3_allow_http: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            http_listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            http_rate_burst: 120,
            http_rate_per_second: 20,
            watch_per_address: 8,
            watch_total: 1024,
            write_rate_burst: 2000,
            write_rate_per_second: 1000,
            request_timeout_ms: 30_000,
            upload_staging_ttl_hours: 168,
            upload_sweep_seconds: 600,
            stats_amount_unit: AmountUnit::WanYuan,
            stats_count_revoked: true,
            stats_annual_due: AnnualDue::default(),
            retention_long_years: 30,
            retention_short_years: 10,
            retention_recording_months: 6,
            certificate_review_months: 12,
            certificate_min_training_hours: 0,
            certificate_warning_days: 90,
            admin_listen: AdminListen(None),
            otlp_endpoint: None,
            log_format: LogFormat::Pretty,
            log: "info".into(),
            tls_cert: None,
            tls_key: None,
            tls_client_ca: None,
            allow_plaintext: false,
            tlog: Box::new(sanxiang_log::LogConfig::embedded()),
        }
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", self.data_dir.join("sanxiang.db").display()))
    }

    /// S3 options given as flags (they override the environment).
    pub fn s3_options(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut add = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                out.push((k.to_owned(), v.clone()));
            }
        };
        add("aws_endpoint", &self.s3_endpoint);
        add("aws_region", &self.s3_region);
        add("aws_access_key_id", &self.s3_access_key_id);
        add("aws_secret_access_key", &self.s3_secret_access_key);
        add("aws_allow_http", &self.s3_allow_http.map(|b| b.to_string()));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, clap::Parser)]
    struct Serve {
        #[command(flatten)]
        serve: ServeConfig,
    }

    fn parse(args: &[&str]) -> Result<ServeConfig, String> {
        Serve::try_parse_from(std::iter::once("serve").chain(args.iter().copied()))
            .map(|s| s.serve)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn footage_is_never_kept_less_than_six_months() {
        let refused = parse(&["--retention-recording-months", "5"]).expect_err("refused at start");
        assert!(refused.contains("--retention-recording-months"), "{refused}");
        assert!(refused.contains("below the 6 months footage must be kept (RULES K3"), "{refused}");
        assert_eq!(parse(&["--retention-recording-months", "6"]).unwrap().retention_recording_months, 6);
        assert_eq!(parse(&[]).unwrap().retention_recording_months, 6);
    }

    #[test]
    fn the_annual_figures_are_due_on_31_january_unless_configured() {
        assert_eq!(parse(&[]).unwrap().stats_annual_due, AnnualDue { month: 1, day: 31 });
        assert_eq!(parse(&["--stats-annual-due", "03-31"]).unwrap().stats_annual_due, AnnualDue { month: 3, day: 31 });
        let refused = parse(&["--stats-annual-due", "02-30"]).expect_err("refused");
        assert!(refused.contains("MM-DD"), "{refused}");
    }
}
