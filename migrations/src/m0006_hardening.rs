//! Hardening: a digest of every idempotent write's request, so that a retry with the same
//! request id and a different request is refused instead of answered with the first result; and
//! the principal that made a refused attempt (RULES S1), so that a refusal is attributable.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const UP: &[&str] = &[
    // Hex SHA-256 of the request as first received; NULL for rows written before this migration
    // (their retries are compared as before).
    "ALTER TABLE events ADD COLUMN request_digest TEXT",
    "ALTER TABLE drafts ADD COLUMN request_digest TEXT",
    "ALTER TABLE reviews ADD COLUMN request_digest TEXT",
    "ALTER TABLE notices ADD COLUMN request_digest TEXT",
    "ALTER TABLE agencies ADD COLUMN request_digest TEXT",
    "ALTER TABLE officers ADD COLUMN request_digest TEXT",
    "ALTER TABLE principals ADD COLUMN request_digest TEXT",
    // The principal whose request was refused; NULL for rows written before this migration.
    "ALTER TABLE refusals ADD COLUMN actor_id TEXT",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in UP {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
