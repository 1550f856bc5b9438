//! Complaints and reports (投诉举报, RULES T1–T7): the complaint, its own hash-chained steps, and
//! the reporter's identity in a table of its own (T5) with every access to it logged.
//!
//! The identity is never copied elsewhere: not into a step, a case event, a publication, an
//! export or a figure. Nothing but the complaint's own handling reads `complaint_reporters`.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const UP: &[&str] = &[
    "CREATE TABLE complaints (
        id TEXT PRIMARY KEY,
        agency_id TEXT NOT NULL REFERENCES agencies (id),
        complaint_type TEXT NOT NULL,
        channel TEXT NOT NULL,
        received_at BIGINT NOT NULL,
        intake_officer_id TEXT,
        intake_principal_id TEXT,
        content TEXT NOT NULL,
        case_id TEXT,
        officer_ids TEXT NOT NULL,
        sibling_id TEXT,
        real_name BOOLEAN NOT NULL,
        is_open BOOLEAN NOT NULL,
        outcome TEXT,
        step_count BIGINT NOT NULL,
        head_hash TEXT NOT NULL,
        updated_at BIGINT NOT NULL,
        request_id TEXT,
        request_digest TEXT
    )",
    // A retried intake (same request id) answers the records it made; a split submission makes one
    // per type under the same request id.
    "CREATE UNIQUE INDEX complaints_by_request ON complaints (agency_id, request_id, complaint_type)",
    "CREATE INDEX complaints_by_agency ON complaints (agency_id, received_at)",
    "CREATE INDEX complaints_open ON complaints (is_open, agency_id)",
    "CREATE INDEX complaints_by_case ON complaints (case_id)",
    "CREATE TABLE complaint_steps (
        complaint_id TEXT NOT NULL REFERENCES complaints (id),
        seq BIGINT NOT NULL,
        kind TEXT NOT NULL,
        occurred_at BIGINT NOT NULL,
        recorded_at BIGINT NOT NULL,
        actor_id TEXT,
        payload TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        request_id TEXT,
        request_digest TEXT,
        PRIMARY KEY (complaint_id, seq)
    )",
    "CREATE UNIQUE INDEX complaint_steps_by_request ON complaint_steps (complaint_id, request_id)",
    "CREATE TABLE complaint_reporters (
        complaint_id TEXT PRIMARY KEY REFERENCES complaints (id),
        name TEXT NOT NULL,
        contact TEXT NOT NULL,
        anonymous BOOLEAN NOT NULL,
        secrecy_requested BOOLEAN NOT NULL
    )",
    "CREATE TABLE complaint_reporter_access (
        id TEXT PRIMARY KEY,
        complaint_id TEXT NOT NULL REFERENCES complaints (id),
        principal_id TEXT NOT NULL,
        accessed_at BIGINT NOT NULL,
        reason TEXT NOT NULL
    )",
    "CREATE INDEX complaint_reporter_access_by_complaint ON complaint_reporter_access (complaint_id, accessed_at)",
    "CREATE TABLE complaint_policies (
        agency_id TEXT PRIMARY KEY REFERENCES agencies (id),
        policy TEXT NOT NULL,
        updated_at BIGINT NOT NULL
    )",
];

const DOWN: &[&str] = &[
    "DROP TABLE complaint_policies",
    "DROP TABLE complaint_reporter_access",
    "DROP TABLE complaint_reporters",
    "DROP TABLE complaint_steps",
    "DROP TABLE complaints",
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
