//! Staging expiry: an upload abandoned for longer than the server's staging expiry loses its
//! staged parts, and its row records when (`expired_at`), so `GetUpload` can say so and a resume
//! is refused by name (`upload.expired`) rather than silently starting afresh.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("ALTER TABLE uploads ADD COLUMN expired_at BIGINT").await?;
        // The sweep looks for open uploads by their last progress.
        db.execute_unprepared("CREATE INDEX uploads_open_by_progress ON uploads (updated_at)").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX uploads_open_by_progress").await?;
        db.execute_unprepared("ALTER TABLE uploads DROP COLUMN expired_at").await?;
        Ok(())
    }
}
