//! A complaint's rows, committed together: alone in a transaction of their own, or as a writer
//! attachment in the same transaction as the case event they go with (RULES K4, T7).

use sanxiang_domain::{Error, Result};
use sanxiang_recording::writer::{Attachment, Committed};
use sanxiang_store::db_error;
use sanxiang_store::entity::{complaint, complaint_attachment, complaint_reporter, complaint_step};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
    TransactionTrait,
};

/// New complaints with their reporters, steps, and the new head of an existing complaint.
#[derive(Default)]
pub(crate) struct Rows {
    pub new_complaints: Vec<(complaint::Model, complaint_reporter::Model)>,
    pub steps: Vec<complaint_step::Model>,
    /// The bytes of the steps' attachments (RULES T2).
    pub attachments: Vec<complaint_attachment::Model>,
    /// The step count the head was read at, and the new head.
    pub head: Option<(i64, complaint::Model)>,
}

impl std::fmt::Debug for Rows {
    /// Names the complaints only: the reporter rows stay out of every log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rows").field("key", &self.key_text()).finish_non_exhaustive()
    }
}

impl Rows {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    fn key_text(&self) -> String {
        let ids: Vec<&str> = self
            .new_complaints
            .iter()
            .map(|(c, _)| c.id.as_str())
            .chain(self.head.iter().map(|(_, c)| c.id.as_str()))
            .collect();
        format!("complaint:{}", ids.join(","))
    }

    /// Refuses a step recorded on a head that moved since it was read (a concurrent step).
    async fn check_head(&self, txn: &impl ConnectionTrait) -> Result<()> {
        if let Some((count, head)) = &self.head {
            let stored = complaint::Entity::find_by_id(head.id.clone())
                .one(txn)
                .await
                .map_err(db_error)?
                .ok_or_else(|| Error::not_found("complaint", head.id.as_str()))?;
            if stored.step_count != *count {
                return Err(Error::precondition(
                    "concurrent-change",
                    format!("complaint {} was changed by a concurrent request; try again", head.id),
                ));
            }
        }
        Ok(())
    }

    async fn write(&self, txn: &impl ConnectionTrait) -> Result<()> {
        for (c, r) in &self.new_complaints {
            c.clone().into_active_model().reset_all().insert(txn).await.map_err(db_error)?;
            r.clone().into_active_model().reset_all().insert(txn).await.map_err(db_error)?;
        }
        if let Some((count, head)) = &self.head {
            // Guarded by the count read, so two concurrent steps never both extend one chain.
            let updated = complaint::Entity::update_many()
                .set(head.clone().into_active_model().reset_all())
                .filter(complaint::Column::Id.eq(head.id.clone()))
                .filter(complaint::Column::StepCount.eq(*count))
                .exec(txn)
                .await
                .map_err(db_error)?;
            if updated.rows_affected != 1 {
                return Err(Error::precondition(
                    "concurrent-change",
                    format!("complaint {} was changed by a concurrent request; try again", head.id),
                ));
            }
        }
        // After the guarded head: a concurrent step is refused by name, not as a duplicate key.
        for s in &self.steps {
            s.clone().into_active_model().reset_all().insert(txn).await.map_err(db_error)?;
        }
        for a in &self.attachments {
            a.clone().into_active_model().reset_all().insert(txn).await.map_err(db_error)?;
        }
        Ok(())
    }

    /// Commits the rows in a transaction of their own. The transaction writes before it reads:
    /// on SQLite a transaction that has read cannot wait for the write lock (it fails at once
    /// with SQLITE_BUSY when another connection wrote meanwhile), while a first write waits the
    /// busy timeout. The head's update is guarded by the step count it was read at, which is the
    /// check against a concurrent step.
    pub(crate) async fn write_alone(self, db: &DatabaseConnection) -> Result<()> {
        let txn = db.begin().await.map_err(db_error)?;
        self.write(&txn).await?;
        txn.commit().await.map_err(db_error)
    }
}

#[async_trait::async_trait]
impl Attachment for Rows {
    fn key(&self) -> String {
        self.key_text()
    }

    async fn check(&self, txn: &sea_orm::DatabaseTransaction) -> Result<()> {
        self.check_head(txn).await
    }

    async fn commit(&self, txn: &sea_orm::DatabaseTransaction, _committed: Committed<'_>) -> Result<()> {
        self.write(txn).await
    }
}
