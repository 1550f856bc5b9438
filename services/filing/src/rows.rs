//! Filing rows committed by the record's append path in the same transaction as their event
//! ([`Attachment`]): a filing is created with the decision that owes it, and changes only
//! together with the event that records each step, so the table and the chain never disagree.

use sanxiang_domain::{Error, Result};
use sanxiang_recording::writer::{Attachment, Committed};
use sanxiang_store::db_error;
use sanxiang_store::entity::filing;
use sea_orm::{ActiveModelTrait, DatabaseTransaction, EntityTrait, IntoActiveModel};

fn key(case_id: &str) -> String {
    format!("filing:{case_id}")
}

/// The filing a decision owes, inserted with the `decision` event (RULES F1).
#[derive(Debug)]
pub struct NewFiling {
    pub row: filing::Model,
}

#[async_trait::async_trait]
impl Attachment for NewFiling {
    fn key(&self) -> String {
        key(&self.row.case_id)
    }

    async fn check(&self, txn: &DatabaseTransaction) -> Result<()> {
        if filing::Entity::find_by_id(self.row.case_id.clone()).one(txn).await.map_err(db_error)?.is_some() {
            return Err(Error::precondition("F1.one-filing", "the case's decision already owes a filing"));
        }
        Ok(())
    }

    async fn commit(&self, txn: &DatabaseTransaction, committed: Committed<'_>) -> Result<()> {
        let mut row = self.row.clone();
        row.decided_at = committed.event.occurred_at;
        row.updated_at = committed.event.recorded_at;
        row.into_active_model().insert(txn).await.map_err(db_error)?;
        Ok(())
    }
}

/// A step of the filing: the row as it was read when the step was judged, and as it becomes.
/// Under the append lock the stored row must still be `before`; otherwise another step got
/// there first and this one is refused (`concurrent-change`), never applied to a state it was
/// not judged on.
#[derive(Debug)]
pub struct Step {
    pub before: filing::Model,
    pub after: filing::Model,
}

#[async_trait::async_trait]
impl Attachment for Step {
    fn key(&self) -> String {
        key(&self.before.case_id)
    }

    async fn check(&self, txn: &DatabaseTransaction) -> Result<()> {
        match filing::Entity::find_by_id(self.before.case_id.clone()).one(txn).await.map_err(db_error)? {
            Some(stored) if stored == self.before => Ok(()),
            Some(_) => Err(self.conflict()),
            None => Err(Error::not_found("filing", self.before.case_id.as_str())),
        }
    }

    async fn commit(&self, txn: &DatabaseTransaction, committed: Committed<'_>) -> Result<()> {
        let mut row = self.after.clone();
        row.updated_at = committed.event.recorded_at;
        row.into_active_model().reset_all().update(txn).await.map_err(db_error)?;
        Ok(())
    }
}
