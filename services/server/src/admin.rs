//! The admin listener: `/metrics` (Prometheus text), `/livez` (the process answers; it does not
//! look at the database, so an outage of the database restarts no replica) and `/readyz` (the
//! database answers: a replica that cannot reach it is taken out of the load balancer until it
//! can). Plain HTTP without authentication, for the cluster's probes and scraper only.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sanxiang_store::Db;
use sanxiang_store::changes::Changes;
use sea_orm::DatabaseBackend;

use crate::observe::{self, names};

#[derive(Clone)]
struct AdminState {
    db: Db,
    max_connections: u32,
    changes: Changes,
}

/// The admin router over `db` (its pool of at most `max_connections`) and its change notices.
pub fn router(db: Db, max_connections: u32, changes: Changes) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .with_state(AdminState { db, max_connections, changes })
}

async fn livez() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AdminState>) -> Response {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready: the database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "not ready: the database does not answer\n").into_response()
        }
    }
}

/// Records the pool's use and whether change notices are heard at the moment of the scrape.
fn pool_gauges(state: &AdminState) {
    let (size, idle) = match state.db.get_database_backend() {
        DatabaseBackend::Sqlite => {
            let pool = state.db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        DatabaseBackend::Postgres => {
            let pool = state.db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => return,
    };
    let idle = idle as f64;
    metrics::gauge!(names::DB_POOL, "state" => "idle").set(idle);
    metrics::gauge!(names::DB_POOL, "state" => "in_use").set((f64::from(size) - idle).max(0.0));
    metrics::gauge!(names::DB_POOL_MAX).set(f64::from(state.max_connections));
    if state.db.get_database_backend() == DatabaseBackend::Postgres {
        metrics::gauge!(names::CHANGE_NOTICES).set(if state.changes.live() { 1.0 } else { 0.0 });
    }
}

async fn metrics(State(state): State<AdminState>) -> Response {
    let Some(handle) = observe::prometheus() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "metrics are not recorded in this process\n").into_response();
    };
    pool_gauges(&state);
    handle.run_upkeep();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle.render()).into_response()
}
