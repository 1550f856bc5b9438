//! Wiring and serving.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sanxiang_api::{PublicityApi, RecordApi, RegistryApi, ReviewApi};
use sanxiang_domain::TimeProvider;
use sanxiang_domain::officer::ReviewPolicy;
use sanxiang_domain::retention::RetentionPolicy;
use sanxiang_domain::statistics::StatisticsPolicy;
use sanxiang_proto::v1::publicity_service_server::PublicityServiceServer;
use sanxiang_proto::v1::record_service_server::RecordServiceServer;
use sanxiang_proto::v1::registry_service_server::RegistryServiceServer;
use sanxiang_proto::v1::review_service_server::ReviewServiceServer;
use sanxiang_publicity::Publicity;
use sanxiang_publicity::http::{PublicUrl, RateLimit};
use sanxiang_publicity::watch::WatchLimits;
use sanxiang_recording::{Recorder, StagingTtl};
use sanxiang_registry::Registry;
use sanxiang_review::Reviews;
use sanxiang_store::{Db, Vault};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;

use crate::config::ServeConfig;
use crate::limits::DeadlineLayer;
use crate::log_gate::LogGateLayer;
use crate::tls::{Tls, TlsIncoming};
use sanxiang_api::FilingApi;
use sanxiang_api::LogApi;
use sanxiang_api::authn::{AuthLayer, WriteLimiter, WriteRate};
use sanxiang_filing::Filings;
use sanxiang_proto::v1::filing_service_server::FilingServiceServer;
use sanxiang_proto::v1::log_service_server::LogServiceServer;

/// A start-up failure, worded for the operator.
pub type StartError = Box<dyn std::error::Error + Send + Sync>;

/// Name of the file, inside the data directory, that receives the first administrator token.
pub const ADMIN_TOKEN_FILE: &str = "admin-token";

/// A running server.
#[derive(Debug)]
pub struct Running {
    /// The address gRPC listens on (useful with port 0).
    pub grpc_addr: SocketAddr,
    /// The address the public HTTP surface listens on.
    pub http_addr: SocketAddr,
    /// The address of the admin listener (metrics, liveness, readiness), if it is on.
    pub admin_addr: Option<SocketAddr>,
    /// The administrator token, if this start created it.
    pub admin_token: Option<String>,
    /// The database, for tests that inspect or tamper with stored rows.
    pub db: Db,
    /// The evidence vault, for tests that tamper with objects.
    pub vault: Vault,
    /// The verifiable log (its verifier key, its checkpoints).
    pub log: sanxiang_log::Log,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<Result<(), tonic::transport::Error>>,
    http_shutdown: oneshot::Sender<()>,
    http_task: JoinHandle<std::io::Result<()>>,
    admin: Option<(oneshot::Sender<()>, JoinHandle<std::io::Result<()>>)>,
}

impl Running {
    /// Stops accepting requests, lets in-flight requests finish, and returns.
    pub async fn stop(self) -> Result<(), StartError> {
        let _ = self.shutdown.send(());
        let _ = self.http_shutdown.send(());
        self.task.await??;
        self.http_task.await??;
        if let Some((shutdown, task)) = self.admin {
            let _ = shutdown.send(());
            task.await??;
        }
        Ok(())
    }
}

/// How often health checking looks at the database.
const HEALTH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

/// Keeps the gRPC health status in step with the database: a replica that cannot reach it reports
/// `NOT_SERVING`, so load balancers and readiness probes route around it until it is back.
/// Uploads whose staging is expired, looked at per sweep.
const EXPIRE_BATCH: u64 = 100;

/// Expires the staging of abandoned uploads every `every` (the staging expiry rule).
async fn expire_uploads(recorder: Recorder, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        loop {
            match recorder.expire_uploads(EXPIRE_BATCH).await {
                Ok(n) if n == EXPIRE_BATCH => {}
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "could not expire abandoned uploads");
                    break;
                }
            }
        }
    }
}

async fn follow_database(db: Db, health: tonic_health::server::HealthReporter, gate: sanxiang_log::WriteGate) {
    let mut serving = true;
    let mut tick = tokio::time::interval(HEALTH_INTERVAL);
    loop {
        tick.tick().await;
        let ok = db.ping().await.is_ok();
        if ok != serving {
            serving = ok;
            let status =
                if ok { tonic_health::ServingStatus::Serving } else { tonic_health::ServingStatus::NotServing };
            tracing::warn!(?status, "database reachability changed");
            health.set_service_status("", status).await;
            health.set_service_status("sanxiang.v1.LogService", status).await;
            // Writers stay NOT_SERVING while the database disagrees with the verifiable log.
            let status = if gate.refusal().is_some() { tonic_health::ServingStatus::NotServing } else { status };
            health.set_service_status("sanxiang.v1.RegistryService", status).await;
            health.set_service_status("sanxiang.v1.RecordService", status).await;
            health.set_service_status("sanxiang.v1.ReviewService", status).await;
            health.set_service_status("sanxiang.v1.PublicityService", status).await;
        }
    }
}

/// Opens the evidence vault named by the configuration.
pub fn open_vault(config: &ServeConfig) -> Result<Vault, StartError> {
    match config.object_store_url.as_deref() {
        None => Ok(Vault::local(&config.data_dir.join("objects"))?),
        Some(url) if url.starts_with("file://") => Ok(Vault::local(Path::new(&url["file://".len()..]))?),
        Some(url) if url.starts_with("s3://") => Ok(Vault::s3(url, &config.s3_options())?),
        Some(other) => Err(format!("unsupported object store URL {other:?}: use file:///PATH or s3://BUCKET").into()),
    }
}

fn write_admin_token(dir: &Path, token: &str) -> Result<std::path::PathBuf, StartError> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join(ADMIN_TOKEN_FILE);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(&path)?;
    writeln!(file, "{token}")?;
    Ok(path)
}

/// The TLS settings in effect, or why the configuration is refused: TLS needs both a certificate
/// and its key, and without TLS only loopback addresses are served unless plaintext is allowed
/// explicitly (a proxy in front terminates TLS).
pub fn transport_security(config: &ServeConfig) -> Result<Option<Tls>, StartError> {
    match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Ok(Some(Tls::load(cert, key, config.tls_client_ca.as_deref())?)),
        (None, None) => {
            if config.tls_client_ca.is_some() {
                return Err("--tls-client-ca needs --tls-cert and --tls-key".into());
            }
            for (flag, addr) in [("--listen", config.listen), ("--http-listen", config.http_listen)] {
                if !addr.ip().is_loopback() && !config.allow_plaintext {
                    return Err(format!(
                        "refusing to serve without TLS on {addr} ({flag}), which is not a loopback address: \
                         give --tls-cert and --tls-key (SANXIANG_TLS_CERT, SANXIANG_TLS_KEY), or \
                         --allow-plaintext (SANXIANG_ALLOW_PLAINTEXT=true) if a proxy in front terminates TLS"
                    )
                    .into());
                }
            }
            Ok(None)
        }
        _ => Err("--tls-cert and --tls-key go together: give both or neither".into()),
    }
}

/// The data directory holds the database, evidence and the administrator token: for the
/// service's user only (0700).
fn private_data_dir(dir: &Path) -> Result<(), StartError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("cannot make the data directory {} private: {e}", dir.display()))?;
    }
    Ok(())
}

/// Creates a SQLite database file with mode 0600 before SQLite does (which would use the umask),
/// or makes an existing one 0600. SQLite gives its `-wal` and `-shm` files the database file's
/// mode; existing ones are set here too.
fn private_sqlite_file(url: &str) -> Result<(), StartError> {
    let Some(rest) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) else {
        return Ok(());
    };
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path.starts_with(':') {
        return Ok(()); // in memory
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let private = |p: &Path| -> std::io::Result<()> {
            match std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o600)) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                other => other,
            }
        };
        let db = Path::new(path);
        let created = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(db);
        match created {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(format!("cannot create the database file {}: {e}", db.display()).into()),
        }
        for p in [db.to_path_buf(), PathBuf::from(format!("{path}-wal")), PathBuf::from(format!("{path}-shm"))] {
            private(&p).map_err(|e| format!("cannot make {} private: {e}", p.display()))?;
        }
    }
    Ok(())
}

/// Connects to the database and the object store, applies migrations, creates the first
/// administrator if there is none, binds the gRPC listener and starts serving.
pub async fn start(config: &ServeConfig, clock: Arc<dyn TimeProvider>) -> Result<Running, StartError> {
    // First, so a refused configuration creates and writes nothing.
    let tls = transport_security(config)?;
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| format!("cannot create data directory {}: {e}", config.data_dir.display()))?;
    private_data_dir(&config.data_dir)?;
    let url = config.database_url();
    private_sqlite_file(&url)?;
    let db = sanxiang_store::db::connect(&url, config.db_max_connections)
        .await
        .map_err(|e| format!("cannot open the database: {e}"))?;
    let vault = open_vault(config)?;
    let registry = Registry::new(db.clone(), Arc::clone(&clock)).with_review_policy(ReviewPolicy {
        months: config.certificate_review_months,
        min_training_hours: config.certificate_min_training_hours,
        warning_days: config.certificate_warning_days,
    });
    let admin_token = registry.bootstrap_admin().await.map_err(|e| format!("cannot create the administrator: {e}"))?;
    if let Some(token) = &admin_token {
        let path = write_admin_token(&config.data_dir, token)?;
        tracing::info!(path = %path.display(), "first start: created the administrator token (file mode 0600); keep it safe");
    }
    let log = sanxiang_log::Log::open(db.clone(), &config.tlog, &config.data_dir, Arc::clone(&clock))
        .map_err(|e| format!("the verifiable log: {e}"))?;
    let log_refusal = log.check_at_start().await.err();
    log.start(&config.tlog);
    let recorder = Recorder::new(db.clone(), registry.clone(), vault.clone(), clock)
        .with_staging_ttl(StagingTtl::hours(config.upload_staging_ttl_hours))
        .with_log(log.clone())
        .with_retention(
            RetentionPolicy::new(
                config.retention_long_years,
                config.retention_short_years,
                config.retention_recording_months,
            )
            .map_err(|e| format!("retention: {e}"))?,
        );
    let changes = recorder.changes().clone();
    tokio::spawn(expire_uploads(recorder.clone(), Duration::from_secs(config.upload_sweep_seconds.max(1))));
    let publicity = Publicity::new(recorder.clone(), Arc::new(sanxiang_review::records::Records::new(db.clone())))
        .with_statistics(StatisticsPolicy {
            amount_unit: config.stats_amount_unit,
            count_revoked: config.stats_count_revoked,
            annual_due: config.stats_annual_due,
        });

    let complaints = sanxiang_complaints::Complaints::new(recorder.clone());

    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<RegistryServiceServer<RegistryApi>>().await;
    health.set_serving::<RecordServiceServer<RecordApi>>().await;
    health.set_serving::<ReviewServiceServer<ReviewApi>>().await;
    health.set_serving::<PublicityServiceServer<PublicityApi>>().await;
    health.set_serving::<LogServiceServer<LogApi>>().await;
    health.set_serving::<FilingServiceServer<FilingApi>>().await;
    health.set_serving::<sanxiang_proto::v1::complaint_service_server::ComplaintServiceServer<sanxiang_api::ComplaintApi>>().await;
    if log_refusal.is_some() {
        // Writers: the database disagrees with the log (logged by the check); reads go on.
        for service in [
            "sanxiang.v1.RegistryService",
            "sanxiang.v1.RecordService",
            "sanxiang.v1.ReviewService",
            "sanxiang.v1.PublicityService",
            "sanxiang.v1.FilingService",
            "sanxiang.v1.ComplaintService",
        ] {
            health.set_service_status(service, tonic_health::ServingStatus::NotServing).await;
        }
    }
    tokio::spawn(follow_database(db.clone(), health.clone(), log.gate()));
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(sanxiang_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    // grpcurl before 1.9 and Python's grpcio-reflection speak only the older v1alpha protocol.
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(sanxiang_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    let listener =
        TcpListener::bind(config.listen).await.map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let grpc_addr = listener.local_addr()?;
    let (shutdown, signal) = oneshot::channel::<()>();
    let router = Server::builder()
        .layer(crate::observe::GrpcObserveLayer)
        .layer(crate::wire::WireLayer)
        .layer(DeadlineLayer::new(Duration::from_millis(config.request_timeout_ms.max(1))))
        .layer(LogGateLayer::new(log.gate()))
        .layer(AuthLayer::new(
            registry.clone(),
            WriteLimiter::new(WriteRate { burst: config.write_rate_burst, per_second: config.write_rate_per_second }),
        ))
        .add_service(health_service)
        .add_service(reflection)
        .add_service(reflection_v1alpha)
        .add_service(RegistryServiceServer::new(RegistryApi::new(registry).with_complaints(complaints.clone())))
        .add_service(ReviewServiceServer::new(ReviewApi::new(Reviews::new(recorder.clone(), publicity.clone()))))
        .add_service(PublicityServiceServer::new(
            PublicityApi::new(publicity.clone())
                .with_watch_limits(WatchLimits { per_address: config.watch_per_address, total: config.watch_total })
                .with_complaints(complaints.clone()),
        ))
        .add_service(sanxiang_proto::v1::complaint_service_server::ComplaintServiceServer::new(
            sanxiang_api::ComplaintApi::new(complaints.clone()),
        ))
        .add_service(RecordServiceServer::new(RecordApi::new(recorder.clone())))
        .add_service(LogServiceServer::new(LogApi::new(log.clone())))
        .add_service(FilingServiceServer::new(FilingApi::new(Filings::new(recorder))));
    let grpc_stop = async {
        let _ = signal.await;
    };
    let task = match &tls {
        Some(tls) => {
            tokio::spawn(router.serve_with_incoming_shutdown(TlsIncoming::new(listener, tls.grpc.clone())?, grpc_stop))
        }
        None => tokio::spawn(router.serve_with_incoming_shutdown(
            // Without TCP_NODELAY, Nagle and delayed acknowledgements add ~40 ms to small responses.
            TcpIncoming::from(listener).with_nodelay(Some(true)),
            grpc_stop,
        )),
    };
    let http_listener = TcpListener::bind(config.http_listen)
        .await
        .map_err(|e| format!("cannot listen on {} (public HTTP): {e}", config.http_listen))?;
    let http_addr = http_listener.local_addr()?;
    let (http_shutdown, http_signal) = oneshot::channel::<()>();
    let limit = RateLimit { burst: config.http_rate_burst, per_second: config.http_rate_per_second };
    let http_stop = async {
        let _ = http_signal.await;
    };
    // The public router with the observing middleware on every route (`Router::layer`, so it
    // sees the matched route template).
    let base_url = config.public_url.clone().unwrap_or_else(|| PublicUrl::of_listener(http_addr, tls.is_some()));
    let app = sanxiang_publicity::http::router_with(
        publicity,
        limit,
        &base_url,
        sanxiang_log::http::router(log.clone()).merge(sanxiang_complaints::http::router(complaints)),
    )
    .layer(axum::middleware::from_fn(crate::observe::http));
    let http_task = match &tls {
        Some(tls) => tokio::spawn(serve_http(TlsIncoming::new(http_listener, tls.http.clone())?, app, http_stop)),
        None => tokio::spawn(serve_http(http_listener, app, http_stop)),
    };
    let (admin_addr, admin) = match config.admin_listen.0 {
        None => (None, None),
        Some(addr) => {
            crate::observe::prometheus();
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|e| format!("cannot listen on {addr} (admin: metrics and probes, --admin-listen): {e}"))?;
            let admin_addr = listener.local_addr()?;
            let (stop, stopped) = oneshot::channel::<()>();
            let app = crate::admin::router(db.clone(), config.db_max_connections, changes);
            let task = tokio::spawn(async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
            });
            (Some(admin_addr), Some((stop, task)))
        }
    };
    let backend = if url.starts_with("postgres") { "postgresql" } else { "sqlite" };
    let transport = match (&tls, &config.tls_client_ca) {
        (None, _) => "plaintext",
        (Some(_), None) => "tls",
        (Some(_), Some(_)) => "tls, gRPC clients need a certificate",
    };
    let data_dir = std::fs::canonicalize(&config.data_dir).unwrap_or_else(|_| config.data_dir.clone());
    let admin_addr_text = admin_addr.map_or_else(|| "off".to_owned(), |a| a.to_string());
    tracing::info!(
        version = %env!("CARGO_PKG_VERSION"),
        data_dir = %data_dir.display(),
        database = %backend,
        object_store = %object_store_description(config, &data_dir),
        "sanxiang starting"
    );
    tracing::info!(
        http_addr = %http_addr,
        admin_addr = %admin_addr_text,
        grpc_addr = %grpc_addr,
        database = backend,
        transport,
        "sanxiang is serving"
    );
    Ok(Running {
        grpc_addr,
        http_addr,
        admin_addr,
        admin_token,
        db,
        vault,
        log,
        shutdown,
        task,
        http_shutdown,
        http_task,
        admin,
    })
}

/// The evidence store in effect, for the start-up log (an S3 URL names a bucket, no secret).
fn object_store_description(config: &ServeConfig, data_dir: &Path) -> String {
    match config.object_store_url.as_deref() {
        None => format!("local {}", data_dir.join("objects").display()),
        Some(url) if url.starts_with("file://") => {
            let path = Path::new(&url["file://".len()..]);
            format!("local {}", std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()).display())
        }
        Some(url) => match &config.s3_endpoint {
            Some(endpoint) => format!("{url} at {endpoint}"),
            None => url.to_owned(),
        },
    }
}

/// Serves the public HTTP router on `listener` (plain TCP or TLS) until `shutdown` resolves.
async fn serve_http<L>(
    listener: L,
    app: axum::Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    L: axum::serve::Listener<Addr = SocketAddr>,
{
    use axum::serve::ListenerExt;
    // A (no-op) `tap_io` gives any listener addressed by `SocketAddr` the client-address
    // `ConnectInfo` the public surface's rate limit keys on.
    let listener = listener.tap_io(|_| {});
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
