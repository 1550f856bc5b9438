//! Certificate cards (RULES C2, C5 补发/换发, C6, C8). A certificate's area (执法区域) on
//! `officers`, empty for the agency's whole area. A `replaced` certificate event keeps the
//! number and validity dates of the card it replaced, so that acts before the replacement are
//! judged by that card and the public can look up an old number and learn it was replaced. The
//! officer row holds the current card.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const UP: &[&str] = &[
    "ALTER TABLE certificate_events ADD COLUMN number TEXT NULL",
    "ALTER TABLE certificate_events ADD COLUMN valid_from TEXT NULL",
    "ALTER TABLE certificate_events ADD COLUMN valid_until TEXT NULL",
    "CREATE UNIQUE INDEX certificate_events_number ON certificate_events (number)",
    "ALTER TABLE officers ADD COLUMN area TEXT NOT NULL DEFAULT ''",
];

const DOWN: &[&str] = &[
    "ALTER TABLE officers DROP COLUMN area",
    "DROP INDEX certificate_events_number",
    "ALTER TABLE certificate_events DROP COLUMN valid_until",
    "ALTER TABLE certificate_events DROP COLUMN valid_from",
    "ALTER TABLE certificate_events DROP COLUMN number",
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
