//! Direct reads of the SQLite file, for the read paths that go through many rows at once
//! (verifying a chain of millions of events).
//!
//! sqlx's SQLite driver runs every connection on a worker thread and hands each statement and
//! each row to the async task over a channel, decoding every column into an owned value: about
//! 10 µs per row. A scan that runs on a blocking thread anyway is faster reading the file itself
//! through `rusqlite` (which links the same `libsqlite3-sys`), borrowing column text in place.
//! Every connection here is `query_only`: the writes stay with the one writer, and SQLite's WAL
//! mode lets these readers see every committed transaction without blocking it.

use sanxiang_domain::Error;
use sea_orm::DbBackend;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::Db;

/// Idle connections kept for reuse.
const IDLE: usize = 8;

/// Page cache of each direct connection, in KiB (SQLite's `cache_size` takes it negated).
const DIRECT_CACHE_KIB: i64 = 256;

/// Read-only connections to the SQLite file of a [`Db`], opened on demand and reused.
#[derive(Debug)]
pub struct DirectReader {
    path: PathBuf,
    idle: Mutex<Vec<rusqlite::Connection>>,
}

impl DirectReader {
    /// A reader of `db`'s file, when `db` is SQLite stored in a file (`None` for PostgreSQL and
    /// for an in-memory database, which another connection cannot open).
    pub fn of(db: &Db) -> Option<Arc<Self>> {
        sqlite_file(db).map(|path| Arc::new(Self { path, idle: Mutex::default() }))
    }

    /// Runs `read` on a read-only connection, on the calling thread: call it from a blocking
    /// thread (`tokio::task::spawn_blocking`), never from an async task.
    pub fn read<R>(&self, read: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<R>) -> Result<R, Error> {
        let idle = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop();
        let conn = match idle {
            Some(c) => c,
            None => self.open().map_err(direct_error)?,
        };
        let out = read(&conn).map_err(direct_error)?;
        let mut idle = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if idle.len() < IDLE {
            idle.push(conn);
        }
        Ok(out)
    }

    fn open(&self) -> rusqlite::Result<rusqlite::Connection> {
        use rusqlite::OpenFlags;
        // Read-write without create: a read-only connection cannot map a WAL index it did not
        // create; `query_only` then refuses every write on this connection.
        let conn = rusqlite::Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "query_only", true)?;
        // These connections scan (a chain read once, in order) and probe single rows: a page is
        // rarely read twice, and the operating system caches the file anyway. SQLite's default
        // of 2 MB of pages per connection, kept by every idle one, was the largest part of the
        // server's heap while verifying a long chain (the massif profile in docs/PERFORMANCE.md).
        conn.pragma_update(None, "cache_size", -DIRECT_CACHE_KIB)?;
        Ok(conn)
    }
}

/// The file a [`Db`] is stored in, when it is SQLite in a file (`None` for PostgreSQL and for an
/// in-memory database, which another connection cannot open).
pub fn sqlite_file(db: &Db) -> Option<PathBuf> {
    if db.get_database_backend() != DbBackend::Sqlite {
        return None;
    }
    let options = db.get_sqlite_connection_pool().connect_options();
    let path = options.get_filename();
    path.is_file().then(|| path.to_owned())
}

/// A read-write connection to the SQLite file at `path` for the one record writer, with the
/// durability of the pool's connections ([`crate::db::connect`]): WAL (set when the pool created
/// the file, checked here), `synchronous = FULL`, so a committed transaction is on disk when
/// the commit returns.
pub fn open_writer(path: &Path) -> Result<rusqlite::Connection, Error> {
    use rusqlite::OpenFlags;
    let open = || -> rusqlite::Result<(rusqlite::Connection, String)> {
        let conn = rusqlite::Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_handler(Some(wait_for_lock))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.set_prepared_statement_cache_capacity(32);
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
        Ok((conn, mode))
    };
    let (conn, mode) = open().map_err(direct_error)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::Internal(format!("the SQLite file is in journal mode {mode}, not WAL")));
    }
    Ok(conn)
}

/// The writer's wait for SQLite's write lock while another connection (the log's sequencer, an
/// administrative change) holds it: 10 s in all, like the pool's `busy_timeout`, but in steps of
/// 100 µs for the first 10 ms and then 1 ms. SQLite's own handler sleeps 1, 2, 5, 10, 15, 20 …
/// ms, so a batch behind a transaction that ends after 1.1 ms would wait 3 ms, one behind a
/// 9 ms one 25 ms: waits every caller of the batch sees in its latency.
fn wait_for_lock(attempt: i32) -> bool {
    match lock_wait_step(attempt) {
        Some(step) => {
            std::thread::sleep(step);
            true
        }
        None => false,
    }
}

/// How long the `attempt`th wait of [`wait_for_lock`] sleeps (`None`: give up).
fn lock_wait_step(attempt: i32) -> Option<Duration> {
    const SHORT: i32 = 100; // × 100 µs = 10 ms
    const LONG: i32 = 9_990; // × 1 ms = 9.99 s
    if attempt < SHORT {
        Some(Duration::from_micros(100))
    } else if attempt < SHORT + LONG {
        Some(Duration::from_millis(1))
    } else {
        None
    }
}

/// A failed direct read or write: a busy or locked database is `Unavailable` (retry later),
/// anything else `Internal`, logged with its detail.
pub fn direct_error(err: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode;
    match err.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked | ErrorCode::CannotOpen) => {
            tracing::warn!(error = %err, "database unavailable for a direct read or write");
            Error::Unavailable("the database is unavailable; retry later".into())
        }
        _ => {
            tracing::error!(error = %err, "direct database read or write failed");
            Error::Internal("database error".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::ConnectionTrait;

    #[test]
    fn the_writer_waits_for_the_lock_in_short_steps_for_ten_seconds_in_all() {
        assert_eq!(lock_wait_step(0), Some(Duration::from_micros(100)));
        assert_eq!(lock_wait_step(99), Some(Duration::from_micros(100)));
        assert_eq!(lock_wait_step(100), Some(Duration::from_millis(1)));
        let total: Duration = (0..).map_while(lock_wait_step).sum();
        assert_eq!(total, Duration::from_secs(10));
        assert_eq!(lock_wait_step(10_090), None);
    }

    #[tokio::test]
    async fn a_writer_connection_waits_for_a_lock_another_connection_holds() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let db = crate::db::connect(&url, 2).await.unwrap();
        let path = sqlite_file(&db).unwrap();
        let mut writer = open_writer(&path).unwrap();
        let holder = rusqlite::Connection::open(&path).unwrap();
        holder.execute_batch("BEGIN IMMEDIATE; INSERT INTO sequences (name, value) VALUES ('held', 1)").unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            holder.execute_batch("COMMIT").unwrap();
        });
        let txn = writer.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).unwrap();
        let held: i64 = txn.query_row("SELECT value FROM sequences WHERE name = 'held'", [], |r| r.get(0)).unwrap();
        assert_eq!(held, 1, "the writer got the lock once the holder committed, and sees its row");
        txn.commit().unwrap();
        release.join().unwrap();
        let sync: i64 = writer.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
        assert_eq!(sync, 2, "synchronous = FULL");
    }

    #[tokio::test]
    async fn reads_the_file_a_sqlite_db_is_stored_in_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let db = crate::db::connect(&url, 2).await.unwrap();
        let reader = DirectReader::of(&db).expect("a file-backed SQLite database is read directly");
        db.execute_unprepared("INSERT INTO sequences (name, value) VALUES ('direct-test', 41)").await.unwrap();
        let value = reader
            .read(|c| c.query_row("SELECT value FROM sequences WHERE name = 'direct-test'", [], |r| r.get::<_, i64>(0)))
            .unwrap();
        assert_eq!(value, 41, "a committed row is visible to the direct reader");
        // query_only: the reader never writes.
        let err = reader.read(|c| c.execute("DELETE FROM sequences", [])).unwrap_err();
        assert!(matches!(err, Error::Internal(_)), "{err:?}");
        let kept = reader.read(|c| c.query_row("SELECT COUNT(*) FROM sequences", [], |r| r.get::<_, i64>(0))).unwrap();
        assert!(kept >= 1);

        let memory = crate::db::connect("sqlite::memory:", 1).await.unwrap();
        assert!(DirectReader::of(&memory).is_none(), "an in-memory database has no file to open");
    }
}
