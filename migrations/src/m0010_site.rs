//! Indexes of the public site's search (services/publicity/src/site/query.rs): the decision type
//! and the decision date narrow the public listing, and a document number is a point lookup in
//! the published content. The content is JSON text, so the document number's index is on an
//! expression, written per backend exactly as the site's query writes it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let document_number = match manager.get_database_backend() {
            DatabaseBackend::Postgres => "((content::jsonb ->> 'document_number'))",
            _ => "((content ->> 'document_number'))",
        };
        for sql in [
            "CREATE INDEX disclosures_kind_listed ON disclosures (case_kind, listed_seq)".to_owned(),
            "CREATE INDEX disclosures_decision_date ON disclosures (decision_date)".to_owned(),
            format!("CREATE INDEX disclosures_document_number ON disclosures {document_number}"),
        ] {
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for name in ["disclosures_document_number", "disclosures_decision_date", "disclosures_kind_listed"] {
            db.execute_unprepared(&format!("DROP INDEX {name}")).await?;
        }
        Ok(())
    }
}
