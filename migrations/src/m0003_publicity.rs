//! Publicity (RULES P1-P9) and supervision (S1): notices, policies, disclosures and refused
//! attempts.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const UP: &[&str] = &[
    // Every version of a notice section is kept; the highest version is current.
    "CREATE TABLE notices (
        agency_id TEXT NOT NULL REFERENCES agencies(id),
        section TEXT NOT NULL,
        version BIGINT NOT NULL,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        items TEXT NOT NULL,
        request_id TEXT NOT NULL,
        updated_at BIGINT NOT NULL,
        updated_by TEXT NOT NULL,
        PRIMARY KEY (agency_id, section, version),
        UNIQUE (agency_id, request_id)
    )",
    "CREATE TABLE publicity_policies (
        agency_id TEXT PRIMARY KEY REFERENCES agencies(id),
        body TEXT NOT NULL,
        updated_at BIGINT NOT NULL,
        updated_by TEXT NOT NULL
    )",
    // One disclosure per decided case. `content` is the masked public content (JSON); what it
    // was made from stays in the case record. `listed_seq` is the entry's place in the public
    // listing (the global sequence of the event that first published it); `feed_seq` that of its
    // latest public change.
    "CREATE TABLE disclosures (
        id TEXT PRIMARY KEY,
        agency_id TEXT NOT NULL REFERENCES agencies(id),
        case_id TEXT NOT NULL UNIQUE REFERENCES cases(id),
        case_kind TEXT NOT NULL,
        status TEXT NOT NULL,
        version BIGINT NOT NULL,
        content TEXT NOT NULL,
        facts TEXT NOT NULL,
        decided_at BIGINT NOT NULL,
        decision_date TEXT NOT NULL,
        due_date TEXT NOT NULL,
        due_provisional BOOLEAN NOT NULL,
        published_at BIGINT,
        publication_end TEXT,
        publication_end_at BIGINT,
        exclusion_code TEXT,
        exclusion_reason TEXT,
        revision TEXT,
        revised_at BIGINT,
        withdrawal_reason TEXT,
        withdrawal_due_date TEXT,
        withdrawal_due_provisional BOOLEAN NOT NULL,
        withdrawn_at BIGINT,
        correction_reason TEXT,
        ended_at BIGINT,
        listed_seq BIGINT,
        feed_seq BIGINT,
        updated_at BIGINT NOT NULL
    )",
    "CREATE INDEX disclosures_listed ON disclosures (listed_seq)",
    "CREATE INDEX disclosures_agency_listed ON disclosures (agency_id, listed_seq)",
    "CREATE INDEX disclosures_feed ON disclosures (feed_seq)",
    "CREATE INDEX disclosures_agency_status ON disclosures (agency_id, status)",
    // Attempts the service refused and supervisors must see counted (RULES S1).
    "CREATE TABLE refusals (
        id TEXT PRIMARY KEY,
        agency_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        subject_id TEXT NOT NULL,
        case_id TEXT,
        detail TEXT NOT NULL,
        occurred_at BIGINT NOT NULL
    )",
    "CREATE INDEX refusals_agency ON refusals (agency_id, occurred_at)",
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
