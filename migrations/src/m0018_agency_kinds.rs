//! Agency kinds (RULES F3): what an agency is — a people's government, a government department,
//! an authorised organisation or a vertically managed body — and the government it belongs to,
//! which route its filings. Agencies created before have no kind (NULL) and keep filing up the
//! agency tree as their filing policy says.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const UP: &[&str] =
    &["ALTER TABLE agencies ADD COLUMN kind TEXT NULL", "ALTER TABLE agencies ADD COLUMN government_id TEXT NULL"];

const DOWN: &[&str] = &["ALTER TABLE agencies DROP COLUMN government_id", "ALTER TABLE agencies DROP COLUMN kind"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::execute_all(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::execute_all(manager, DOWN).await
    }
}
