//! Legal details (issue 15): an officer's legal-review experience from before this system
//! (RULES G4; 处罚法 Art. 58 ¶2: only a first-time 行政处罚 reviewer must hold 法律职业资格).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const UP: &[&str] = &["ALTER TABLE officers ADD COLUMN has_prior_review_experience BOOLEAN NOT NULL DEFAULT FALSE"];

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
