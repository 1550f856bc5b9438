//! Published annual figures (RULES N1, N6): each published version of an agency's figures of a
//! year, frozen as the canonical JSON it was published with and its SHA-256 (the snapshot id).
//! A correction is a new version with its reason; no version is ever changed or removed.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const UP: &[&str] = &[
    "CREATE TABLE annual_publications (
        agency_id TEXT NOT NULL REFERENCES agencies(id),
        year BIGINT NOT NULL,
        version BIGINT NOT NULL,
        snapshot_id TEXT NOT NULL,
        content TEXT NOT NULL,
        published_at BIGINT NOT NULL,
        published_by TEXT NOT NULL,
        reason TEXT NOT NULL,
        request_id TEXT NOT NULL,
        PRIMARY KEY (agency_id, year, version)
    )",
    "CREATE UNIQUE INDEX annual_publications_request ON annual_publications (agency_id, request_id)",
];

const DOWN: &[&str] = &["DROP TABLE annual_publications"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::execute_all(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::execute_all(manager, DOWN).await
    }
}
