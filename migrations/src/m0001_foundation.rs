//! The registry and the full-process record.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const UP: &[&str] = &[
    "CREATE TABLE agencies (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        credit_code TEXT NOT NULL UNIQUE,
        region TEXT NOT NULL,
        parent_id TEXT REFERENCES agencies(id),
        powers TEXT NOT NULL,
        time_zone TEXT NOT NULL,
        recording_policy TEXT NOT NULL,
        upload_window_hours BIGINT NOT NULL,
        request_id TEXT UNIQUE,
        created_at BIGINT NOT NULL
    )",
    "CREATE TABLE officers (
        id TEXT PRIMARY KEY,
        agency_id TEXT NOT NULL REFERENCES agencies(id),
        name TEXT NOT NULL,
        certificate_number TEXT NOT NULL UNIQUE,
        category TEXT NOT NULL,
        valid_from TEXT NOT NULL,
        valid_until TEXT NOT NULL,
        status TEXT NOT NULL,
        legal_qualification BOOLEAN NOT NULL,
        request_id TEXT UNIQUE,
        created_at BIGINT NOT NULL
    )",
    "CREATE INDEX officers_agency ON officers (agency_id)",
    "CREATE TABLE officer_status_changes (
        id TEXT PRIMARY KEY,
        officer_id TEXT NOT NULL REFERENCES officers(id),
        status TEXT NOT NULL,
        reason TEXT NOT NULL,
        effective_at BIGINT NOT NULL,
        recorded_at BIGINT NOT NULL,
        recorded_by TEXT NOT NULL
    )",
    "CREATE INDEX officer_status_changes_officer ON officer_status_changes (officer_id)",
    "CREATE TABLE principals (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        agency_id TEXT REFERENCES agencies(id),
        officer_id TEXT REFERENCES officers(id),
        request_id TEXT UNIQUE,
        created_at BIGINT NOT NULL
    )",
    "CREATE TABLE tokens (
        id TEXT PRIMARY KEY,
        principal_id TEXT NOT NULL REFERENCES principals(id),
        token_hash TEXT NOT NULL UNIQUE,
        label TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        revoked_at BIGINT
    )",
    "CREATE TABLE cases (
        id TEXT PRIMARY KEY,
        agency_id TEXT NOT NULL REFERENCES agencies(id),
        kind TEXT NOT NULL,
        title TEXT NOT NULL,
        party TEXT NOT NULL,
        handling_officers TEXT NOT NULL,
        opened_at BIGINT NOT NULL,
        state_bits BIGINT NOT NULL,
        event_count BIGINT NOT NULL,
        head_hash TEXT NOT NULL,
        filed_at BIGINT,
        decided_at BIGINT,
        request_id TEXT NOT NULL,
        created_by TEXT NOT NULL,
        UNIQUE (agency_id, request_id)
    )",
    "CREATE TABLE events (
        global_seq BIGINT PRIMARY KEY,
        case_id TEXT NOT NULL REFERENCES cases(id),
        case_seq BIGINT NOT NULL,
        kind TEXT NOT NULL,
        occurred_at BIGINT NOT NULL,
        recorded_at BIGINT NOT NULL,
        actor TEXT NOT NULL,
        request_id TEXT NOT NULL,
        officers TEXT NOT NULL,
        evidence TEXT NOT NULL,
        payload TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        UNIQUE (case_id, case_seq),
        UNIQUE (case_id, request_id)
    )",
    "CREATE TABLE evidence (
        id TEXT PRIMARY KEY,
        case_id TEXT NOT NULL REFERENCES cases(id),
        sha256 TEXT NOT NULL,
        size BIGINT NOT NULL,
        media_type TEXT NOT NULL,
        captured_at BIGINT NOT NULL,
        device_id TEXT NOT NULL,
        device_reviewed BOOLEAN NOT NULL,
        officer_id TEXT NOT NULL,
        uploaded_at BIGINT NOT NULL,
        late BOOLEAN NOT NULL,
        uploaded_by TEXT NOT NULL,
        upload_id TEXT NOT NULL UNIQUE
    )",
    "CREATE INDEX evidence_case ON evidence (case_id)",
    "CREATE INDEX evidence_sha256 ON evidence (sha256)",
    "CREATE TABLE uploads (
        id TEXT PRIMARY KEY,
        case_id TEXT NOT NULL REFERENCES cases(id),
        principal_id TEXT NOT NULL,
        header TEXT NOT NULL,
        durable_offset BIGINT NOT NULL,
        parts BIGINT NOT NULL,
        evidence_id TEXT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
    )",
    "CREATE TABLE sequences (
        name TEXT PRIMARY KEY,
        value BIGINT NOT NULL
    )",
    "INSERT INTO sequences (name, value) VALUES ('event', 0)",
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
