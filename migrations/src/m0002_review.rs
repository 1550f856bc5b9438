//! Legal review of major decisions: catalogs, loaded calendar years, drafts and reviews.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const UP: &[&str] = &[
    "CREATE TABLE catalogs (
        agency_id TEXT PRIMARY KEY REFERENCES agencies(id),
        body TEXT NOT NULL,
        updated_at BIGINT NOT NULL,
        updated_by TEXT NOT NULL
    )",
    "CREATE TABLE calendar_years (
        year BIGINT PRIMARY KEY,
        schedule TEXT NOT NULL,
        updated_at BIGINT NOT NULL,
        updated_by TEXT NOT NULL
    )",
    "CREATE TABLE drafts (
        id TEXT PRIMARY KEY,
        case_id TEXT NOT NULL REFERENCES cases(id),
        agency_id TEXT NOT NULL REFERENCES agencies(id),
        version BIGINT NOT NULL,
        request_id TEXT NOT NULL,
        content TEXT NOT NULL,
        digest TEXT NOT NULL,
        major BOOLEAN NOT NULL,
        matched_rules TEXT NOT NULL,
        discussion_required BOOLEAN NOT NULL,
        status TEXT NOT NULL,
        review_days BIGINT NOT NULL,
        submitted_at BIGINT NOT NULL,
        submitted_by TEXT NOT NULL,
        event_case_seq BIGINT NOT NULL,
        UNIQUE (case_id, version),
        UNIQUE (case_id, request_id)
    )",
    "CREATE INDEX drafts_queue ON drafts (agency_id, status)",
    "CREATE TABLE reviews (
        id TEXT PRIMARY KEY,
        draft_id TEXT NOT NULL REFERENCES drafts(id),
        case_id TEXT NOT NULL REFERENCES cases(id),
        draft_digest TEXT NOT NULL,
        outcome TEXT NOT NULL,
        checklist TEXT NOT NULL,
        opinion TEXT NOT NULL,
        reviewer_id TEXT NOT NULL,
        reviewer_officer_id TEXT,
        penalty BOOLEAN NOT NULL,
        first_penalty_review BOOLEAN NOT NULL,
        legal_qualification BOOLEAN NOT NULL,
        decided_at BIGINT NOT NULL,
        request_id TEXT NOT NULL,
        event_case_seq BIGINT NOT NULL,
        UNIQUE (draft_id, request_id)
    )",
    "CREATE INDEX reviews_draft ON reviews (draft_id)",
    "CREATE INDEX reviews_reviewer ON reviews (reviewer_id)",
    "CREATE INDEX reviews_reviewer_officer ON reviews (reviewer_officer_id)",
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
