//! The change notices a replica hears from PostgreSQL (`sanxiang_store::changes`): a committed
//! notice moves the stamp, a rolled-back one does not, and a lost listening connection leaves
//! nothing stamped before it current.

use std::time::Duration;

use sanxiang_store::changes::{Changes, Stamp, Topic};
use sanxiang_tests::{Backend, fresh_postgres_database};
use sea_orm::{ConnectionTrait, Database, TransactionTrait};

/// Polls `f` every 20 ms for up to ten seconds until it answers `Some`.
async fn within_ten_seconds<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    for _ in 0..500 {
        if let Some(v) = f() {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{what}: not within ten seconds");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_notices_move_the_stamp_and_a_lost_connection_leaves_nothing_current() {
    let Some(Backend::Postgres(server)) = Backend::postgres() else { return };
    let url = fresh_postgres_database(&server).await;
    let db = Database::connect(url.as_str()).await.unwrap();
    let changes = Changes::of(&db);
    let start: Stamp = within_ten_seconds("listening", || changes.stamp(Topic::Events)).await;

    // Another session (as another replica's writer): a notice in a transaction that rolls back
    // is never delivered; one that commits is, once.
    let other = Database::connect(url.as_str()).await.unwrap();
    let rolled_back = other.begin().await.unwrap();
    rolled_back.execute_unprepared("NOTIFY sanxiang_events").await.unwrap();
    rolled_back.rollback().await.unwrap();
    let committed = other.begin().await.unwrap();
    committed.execute_unprepared("NOTIFY sanxiang_events").await.unwrap();
    committed.commit().await.unwrap();
    let moved =
        within_ten_seconds("the committed notice", || changes.stamp(Topic::Events).filter(|s| *s != start)).await;
    assert_eq!(moved.generation(), start.generation() + 1, "only the committed notice counts");

    // This process's own commit moves it at once.
    changes.bump(Topic::Events);
    let bumped = changes.stamp(Topic::Events).expect("still listening");
    assert_eq!(bumped.generation(), moved.generation() + 1);

    // The listening connection is cut: notices may be missed while it is down, so once it is
    // back nothing stamped before is current, and notices are heard again.
    other
        .execute_unprepared(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() AND query ILIKE 'LISTEN%'",
        )
        .await
        .unwrap();
    let back = within_ten_seconds("listening again", || changes.stamp(Topic::Events).filter(|s| *s != bumped)).await;
    assert!(back.generation() > bumped.generation());
    other.execute_unprepared("NOTIFY sanxiang_events").await.unwrap();
    within_ten_seconds("a notice after reconnecting", || changes.stamp(Topic::Events).filter(|s| *s != back)).await;

    // SQLite has no notices: its stamp is never relied upon.
    let dir = tempfile::tempdir().unwrap();
    let sqlite = sanxiang_store::db::connect(&format!("sqlite://{}?mode=rwc", dir.path().join("n.db").display()), 1)
        .await
        .unwrap();
    let none = Changes::of(&sqlite);
    none.bump(Topic::Events);
    assert_eq!(none.stamp(Topic::Events), None);
}
