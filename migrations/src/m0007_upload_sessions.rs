//! Upload sessions: the `uploads` row no longer keeps a debug rendering of the first header,
//! which nothing read; the row holds only what resumption needs (owner, durable offset, parts).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("ALTER TABLE uploads DROP COLUMN header").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("ALTER TABLE uploads ADD COLUMN header TEXT NOT NULL DEFAULT ''")
            .await?;
        Ok(())
    }
}
