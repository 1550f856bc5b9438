//! Schema migrations. Each migration is plain SQL that SQLite and PostgreSQL both accept
//! (`TEXT`, `BIGINT`, `BOOLEAN`), so the two backends have the same schema by construction.
//!
//! Times are `BIGINT` microseconds since the Unix epoch (UTC): both backends store them exactly,
//! which the hash chain relies on.

pub use sea_orm_migration::prelude::*;

mod m0001_foundation;
mod m0002_review;
mod m0003_publicity;
mod m0005_legal_details;
mod m0006_hardening;
mod m0007_upload_sessions;
mod m0008_log;
mod m0010_site;
mod m0011_upload_expiry;
mod m0012_filing;
mod m0013_complaints;
mod m0014_certificates;
mod m0016_statistics_retention;
mod m0017_certificate_cards;
mod m0018_agency_kinds;
mod m0019_complaint_attachments;

/// Runs `statements` in order, each as one unprepared statement.
async fn execute_all(manager: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    let db = manager.get_connection();
    for sql in statements {
        db.execute_unprepared(sql).await?;
    }
    Ok(())
}

/// All migrations in order.
#[derive(Debug)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_foundation::Migration),
            Box::new(m0002_review::Migration),
            Box::new(m0003_publicity::Migration),
            Box::new(m0005_legal_details::Migration),
            Box::new(m0006_hardening::Migration),
            Box::new(m0007_upload_sessions::Migration),
            Box::new(m0008_log::Migration),
            Box::new(m0010_site::Migration),
            Box::new(m0011_upload_expiry::Migration),
            Box::new(m0012_filing::Migration),
            Box::new(m0013_complaints::Migration),
            Box::new(m0014_certificates::Migration),
            Box::new(m0016_statistics_retention::Migration),
            Box::new(m0017_certificate_cards::Migration),
            Box::new(m0018_agency_kinds::Migration),
            Box::new(m0019_complaint_attachments::Migration),
        ]
    }
}
