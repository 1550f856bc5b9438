//! Wiring and serving.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use sanxiang_domain::TimeProvider;
use sanxiang_proto::v1::publicity_service_server::PublicityServiceServer;
use sanxiang_proto::v1::record_service_server::RecordServiceServer;
use sanxiang_proto::v1::registry_service_server::RegistryServiceServer;
use sanxiang_proto::v1::review_service_server::ReviewServiceServer;
use sanxiang_publicity::Publicity;
use sanxiang_publicity::http::RateLimit;
use sanxiang_publicity::service::PublicityApi;
use sanxiang_recording::{RecordApi, Recorder};
use sanxiang_registry::{Registry, RegistryApi};
use sanxiang_review::{ReviewApi, Reviews};
use sanxiang_store::{Db, Vault};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;

use crate::auth::AuthLayer;
use crate::config::ServeConfig;

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
    /// The administrator token, if this start created it.
    pub admin_token: Option<String>,
    /// The database, for tests that inspect or tamper with stored rows.
    pub db: Db,
    /// The evidence vault, for tests that tamper with objects.
    pub vault: Vault,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<Result<(), tonic::transport::Error>>,
    http_shutdown: oneshot::Sender<()>,
    http_task: JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops accepting requests, lets in-flight requests finish, and returns.
    pub async fn stop(self) -> Result<(), StartError> {
        let _ = self.shutdown.send(());
        let _ = self.http_shutdown.send(());
        self.task.await??;
        self.http_task.await??;
        Ok(())
    }
}

/// How often health checking looks at the database.
const HEALTH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

/// Keeps the gRPC health status in step with the database: a replica that cannot reach it reports
/// `NOT_SERVING`, so load balancers and readiness probes route around it until it is back.
async fn follow_database(db: Db, health: tonic_health::server::HealthReporter) {
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

/// Connects to the database and the object store, applies migrations, creates the first
/// administrator if there is none, binds the gRPC listener and starts serving.
pub async fn start(config: &ServeConfig, clock: Arc<dyn TimeProvider>) -> Result<Running, StartError> {
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| format!("cannot create data directory {}: {e}", config.data_dir.display()))?;
    let url = config.database_url();
    let db = sanxiang_store::db::connect(&url, config.db_max_connections)
        .await
        .map_err(|e| format!("cannot open the database: {e}"))?;
    let vault = open_vault(config)?;
    let registry = Registry::new(db.clone(), Arc::clone(&clock));
    let admin_token = registry.bootstrap_admin().await.map_err(|e| format!("cannot create the administrator: {e}"))?;
    if let Some(token) = &admin_token {
        let path = write_admin_token(&config.data_dir, token)?;
        tracing::info!(path = %path.display(), "first start: created the administrator token (file mode 0600); keep it safe");
    }
    let recorder = Recorder::new(db.clone(), registry.clone(), vault.clone(), clock);
    let publicity = Publicity::new(recorder.clone());

    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<RegistryServiceServer<RegistryApi>>().await;
    health.set_serving::<RecordServiceServer<RecordApi>>().await;
    health.set_serving::<ReviewServiceServer<ReviewApi>>().await;
    health.set_serving::<PublicityServiceServer<PublicityApi>>().await;
    tokio::spawn(follow_database(db.clone(), health.clone()));
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(sanxiang_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;

    let listener =
        TcpListener::bind(config.listen).await.map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let grpc_addr = listener.local_addr()?;
    let (shutdown, signal) = oneshot::channel::<()>();
    let router = Server::builder()
        .layer(AuthLayer::new(registry.clone()))
        .add_service(health_service)
        .add_service(reflection)
        .add_service(RegistryServiceServer::new(RegistryApi::new(registry)))
        .add_service(ReviewServiceServer::new(ReviewApi::new(Reviews::new(recorder.clone(), publicity.clone()))))
        .add_service(PublicityServiceServer::new(PublicityApi::new(publicity.clone())))
        .add_service(RecordServiceServer::new(RecordApi::new(recorder)));
    let task = tokio::spawn(router.serve_with_incoming_shutdown(
        // Without TCP_NODELAY, Nagle and delayed acknowledgements add ~40 ms to small responses.
        TcpIncoming::from(listener).with_nodelay(Some(true)),
        async {
            let _ = signal.await;
        },
    ));
    let http_listener = TcpListener::bind(config.http_listen)
        .await
        .map_err(|e| format!("cannot listen on {} (public HTTP): {e}", config.http_listen))?;
    let http_addr = http_listener.local_addr()?;
    let (http_shutdown, http_signal) = oneshot::channel::<()>();
    let limit = RateLimit { burst: config.http_rate_burst, per_second: config.http_rate_per_second };
    let http_task = tokio::spawn(sanxiang_publicity::http::serve(http_listener, publicity, limit, async {
        let _ = http_signal.await;
    }));
    let backend = if url.starts_with("postgres") { "postgresql" } else { "sqlite" };
    tracing::info!(http_addr = %http_addr, grpc_addr = %grpc_addr, database = backend, "sanxiang is serving");
    Ok(Running { grpc_addr, http_addr, admin_token, db, vault, shutdown, task, http_shutdown, http_task })
}
