//! Attachments of complaint steps (RULES T2: a complaint's particulars include its attachments):
//! the bytes of each, by complaint, step and position. The step's chained document records each
//! attachment's name, media type, size and SHA-256, so the chain covers the bytes kept here.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

// BYTEA: PostgreSQL's byte string; SQLite accepts the name and keeps the bytes as a BLOB.
const UP: &[&str] = &["CREATE TABLE complaint_attachments (
        complaint_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        idx BIGINT NOT NULL,
        sha256 TEXT NOT NULL,
        content BYTEA NOT NULL,
        PRIMARY KEY (complaint_id, seq, idx)
    )"];

const DOWN: &[&str] = &["DROP TABLE complaint_attachments"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::execute_all(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::execute_all(manager, DOWN).await
    }
}
