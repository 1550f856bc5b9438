//! Enforcement certificates (RULES C1–C6): the certificate's kind, issuer, eligibility and the
//! last annual review known when it was registered, on `officers`; what was recorded of it
//! since (trainings, reviews, suspensions, withdrawal, cancellation, loss) in
//! `certificate_events`. Officers registered before keep working: an enforcement certificate,
//! eligible, and deemed reviewed on the day of the upgrade (UTC), so that the first annual review
//! falls due a review period after it rather than at once.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const UP: &[&str] = &[
    "ALTER TABLE officers ADD COLUMN certificate_kind TEXT NOT NULL DEFAULT 'enforcement'",
    "ALTER TABLE officers ADD COLUMN issuer TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE officers ADD COLUMN auxiliary BOOLEAN NOT NULL DEFAULT FALSE",
    "ALTER TABLE officers ADD COLUMN eligibility_pending BOOLEAN NOT NULL DEFAULT FALSE",
    "ALTER TABLE officers ADD COLUMN reviewed_on TEXT NOT NULL DEFAULT ''",
    "UPDATE officers SET reviewed_on = CAST(CURRENT_DATE AS TEXT)",
    "CREATE TABLE certificate_events (
        id TEXT PRIMARY KEY,
        officer_id TEXT NOT NULL REFERENCES officers(id),
        kind TEXT NOT NULL,
        effective_on TEXT NOT NULL,
        training_hours BIGINT NOT NULL,
        reason TEXT NOT NULL,
        recorded_at BIGINT NOT NULL,
        recorded_by TEXT NOT NULL
    )",
    "CREATE INDEX certificate_events_officer ON certificate_events (officer_id)",
];

const DOWN: &[&str] = &[
    "DROP TABLE certificate_events",
    "ALTER TABLE officers DROP COLUMN reviewed_on",
    "ALTER TABLE officers DROP COLUMN eligibility_pending",
    "ALTER TABLE officers DROP COLUMN auxiliary",
    "ALTER TABLE officers DROP COLUMN issuer",
    "ALTER TABLE officers DROP COLUMN certificate_kind",
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
