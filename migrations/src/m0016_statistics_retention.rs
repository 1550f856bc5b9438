//! Published annual figures (RULES N1, N6): each published version of an agency's figures of a
//! year, frozen as the canonical JSON it was published with and its SHA-256 (the snapshot id).
//! A correction is a new version with its reason; no version is ever changed or removed.
//!
//! Legal holds (RULES K4) are now released in two steps: the recorded end of a procedure leaves
//! its release pending until a `legal_hold_released` event approves it. A case's `state_bits` are
//! what its events derive (`VerifyCase` compares them), so every case that records the end of a
//! procedure gets that procedure's pending-release bit (bits 15–18 of `CaseState`): no approval
//! was recorded before this version, so the release of every earlier end awaits one.

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
    "UPDATE cases SET state_bits = state_bits | 32768 \
     WHERE id IN (SELECT case_id FROM events WHERE kind = 'reconsideration_concluded')",
    "UPDATE cases SET state_bits = state_bits | 65536 \
     WHERE id IN (SELECT case_id FROM events WHERE kind = 'lawsuit_concluded')",
    "UPDATE cases SET state_bits = state_bits | 131072 \
     WHERE id IN (SELECT case_id FROM events WHERE kind = 'complaint_concluded')",
    "UPDATE cases SET state_bits = state_bits | 262144 \
     WHERE id IN (SELECT case_id FROM events WHERE kind = 'filing_review_concluded')",
];

const DOWN: &[&str] = &[
    "UPDATE cases SET state_bits = state_bits & ~(32768 | 65536 | 131072 | 262144)",
    "DROP TABLE annual_publications",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::execute_all(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::execute_all(manager, DOWN).await
    }
}
