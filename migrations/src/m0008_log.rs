//! The verifiable log (docs/CHAIN.md §8): the Merkle tree over every event, kept strictly behind
//! the writer. `log_tree` is the one row that says how many events the tree holds (its
//! watermark) and its root; `log_hashes` holds every complete subtree hash of the tree by its
//! stored-hash index; `log_checkpoints` keeps every signed checkpoint; `log_cosignatures` the
//! witnesses' cosignatures of them. Hashes are lowercase hex.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const UP: &[&str] = &[
    "CREATE TABLE log_tree (id TEXT PRIMARY KEY NOT NULL, size BIGINT NOT NULL, root TEXT NOT NULL)",
    "INSERT INTO log_tree (id, size, root) VALUES \
     ('tree', 0, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')",
    "CREATE TABLE log_hashes (idx BIGINT PRIMARY KEY NOT NULL, hash TEXT NOT NULL)",
    "CREATE TABLE log_checkpoints (size BIGINT PRIMARY KEY NOT NULL, root TEXT NOT NULL, note TEXT NOT NULL, \
     signed_at BIGINT NOT NULL)",
    "CREATE TABLE log_cosignatures (size BIGINT NOT NULL, witness TEXT NOT NULL, signature TEXT NOT NULL, \
     received_at BIGINT NOT NULL, PRIMARY KEY (size, witness))",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for sql in UP {
            manager.get_connection().execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["log_cosignatures", "log_checkpoints", "log_hashes", "log_tree"] {
            manager.get_connection().execute_unprepared(&format!("DROP TABLE {table}")).await?;
        }
        Ok(())
    }
}
