//! Filing of major penalties (RULES F1–F9): one row per decision that owes a filing, changed
//! only together with the case event that records each step, and each agency's filing policy.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const UP: &[&str] = &[
    // `reasons` (F1 codes), `recipients` (agency ids, F3) and `terms` (the policy's periods and
    // start event when the decision was made, F4, F7) are JSON. `due_date` is NULL until the
    // period's start is known (a filing counted from service, before service). Dates are
    // YYYY-MM-DD in the agency's zone.
    "CREATE TABLE filings (
        case_id TEXT PRIMARY KEY REFERENCES cases(id),
        agency_id TEXT NOT NULL REFERENCES agencies(id),
        status TEXT NOT NULL,
        reasons TEXT NOT NULL,
        recipients TEXT NOT NULL,
        terms TEXT NOT NULL,
        decided_at BIGINT NOT NULL,
        decided_on TEXT NOT NULL,
        due_date TEXT,
        due_provisional BOOLEAN NOT NULL,
        submissions BIGINT NOT NULL,
        submitted_at BIGINT,
        submitted_on TEXT,
        submitted_late BOOLEAN,
        last_submitted_at BIGINT,
        review_due_date TEXT,
        reviewer_agency_id TEXT,
        outcome TEXT,
        outcome_reasons TEXT,
        concluded_at BIGINT,
        response_due_date TEXT,
        responded_at BIGINT,
        responded_on TEXT,
        response TEXT,
        updated_at BIGINT NOT NULL
    )",
    "CREATE INDEX filings_agency_status ON filings (agency_id, status)",
    "CREATE INDEX filings_agency_decided ON filings (agency_id, decided_at)",
    "CREATE TABLE filing_policies (
        agency_id TEXT PRIMARY KEY REFERENCES agencies(id),
        body TEXT NOT NULL,
        updated_at BIGINT NOT NULL,
        updated_by TEXT NOT NULL
    )",
];

const DOWN: &[&str] = &["DROP TABLE filing_policies", "DROP TABLE filings"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::execute_all(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::execute_all(manager, DOWN).await
    }
}
