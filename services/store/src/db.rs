//! Connecting to the database and keeping its schema current.

use std::time::Duration;

use sanxiang_domain::Error;
use sanxiang_migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, DbErr, RuntimeErr, Statement,
    TransactionTrait,
};

/// The database connection pool. Cheap to clone.
pub type Db = DatabaseConnection;

/// Key of the PostgreSQL advisory lock that serialises migrations of replicas starting together.
const MIGRATION_LOCK_KEY: i64 = 0x5341_4e58_4941_4e47; // "SANXIANG"

/// How long a request waits for a pooled connection before failing with `UNAVAILABLE`.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// A pooled connection idle at least this long is pinged before it is handed out.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

/// Connects to `url` (`sqlite://path?mode=rwc` or `postgres://…`) and applies pending migrations.
///
/// SQLite runs in WAL mode with `synchronous = FULL`, so every committed transaction is durable
/// when the commit returns.
pub async fn connect(url: &str, max_connections: u32) -> Result<Db, DbErr> {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.max_connections(max_connections)
        .min_connections(1)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        // A ping before every query doubled the round trips of the append path; ping only
        // connections idle long enough to have been dropped (a restarted PostgreSQL, say).
        .test_before_acquire_if_idle_for(PING_IF_IDLE_FOR)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .create_if_missing(true)
        });
    let db = Database::connect(opts).await?;
    migrate(&db).await?;
    Ok(db)
}

/// A pool of one PostgreSQL connection with `db`'s connection options and the pool's acquire
/// timeout and ping policy, for a task that runs on a runtime of its own (the record writer): its
/// connection is made, and its socket driven, by the runtime it is created on. As in [`connect`],
/// the connection is pinged only when it was idle for [`PING_IF_IDLE_FOR`] (so one broken by a
/// database restart is replaced, without a round trip before every batch), and a database that
/// is down is `UNAVAILABLE` within the acquire timeout.
pub async fn own_postgres_connection(db: &Db) -> Result<Db, DbErr> {
    use sea_orm::sqlx::Connection as _;
    let options = db.get_postgres_connection_pool().connect_options();
    let pool = sea_orm::sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_IF_IDLE_FOR {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .connect_with(options.as_ref().clone())
        .await
        .map_err(|e| DbErr::Conn(RuntimeErr::SqlxError(e.into())))?;
    Ok(sea_orm::SqlxPostgresConnector::from_sqlx_postgres_pool(pool))
}

/// Applies pending migrations. On PostgreSQL an advisory lock makes replicas that start at the
/// same moment migrate one after the other.
pub async fn migrate(db: &Db) -> Result<(), DbErr> {
    if db.get_database_backend() == DatabaseBackend::Postgres {
        let guard = db.begin().await?;
        guard
            .execute_raw(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "SELECT pg_advisory_xact_lock($1)",
                [MIGRATION_LOCK_KEY.into()],
            ))
            .await?;
        Migrator::up(db, None).await?;
        guard.commit().await?;
    } else {
        Migrator::up(db, None).await?;
    }
    Ok(())
}

/// Maps a database error onto the public categories: connection trouble is `Unavailable` (the
/// client may retry), anything else is `Internal` and logged.
pub fn db_error(err: DbErr) -> Error {
    use sea_orm::sqlx::Error as Sqlx;
    let unavailable = match &err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => match e.as_ref() {
            Sqlx::Io(_)
            | Sqlx::PoolTimedOut
            | Sqlx::PoolClosed
            | Sqlx::Tls(_)
            | Sqlx::Protocol(_)
            | Sqlx::WorkerCrashed => true,
            // SQLITE_BUSY after the busy timeout: another writer holds the database.
            Sqlx::Database(d) => {
                d.code().is_some_and(|c| c == "5" || c == "517" || c.starts_with("08") || c == "57P01")
            }
            _ => false,
        },
        _ => false,
    };
    if unavailable {
        tracing::warn!(error = %err, "database unavailable");
        Error::Unavailable("the database is unavailable; retry later".into())
    } else {
        tracing::error!(error = %err, "database error");
        Error::Internal("database error".into())
    }
}

/// Whether a database error is a unique-constraint violation.
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_)))
}
