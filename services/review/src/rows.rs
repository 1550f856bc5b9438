//! Review rows committed by the record's append path in the same transaction as their event
//! ([`Attachment`]): a draft version with its `draft_submitted` event, an opinion with its
//! `review_decided` event. The record and the review state never disagree.

use sanxiang_domain::review::DraftStatus;
use sanxiang_domain::{Error, Result};
use sanxiang_recording::writer::{Attachment, Committed};
use sanxiang_store::db_error;
use sanxiang_store::entity::{draft, review};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter};

/// A new draft version. Its version must still be free for the case (else `FAILED_PRECONDITION
/// draft.version`); the case's older pending versions become superseded.
#[derive(Debug)]
pub struct NewDraft {
    pub row: draft::Model,
}

impl NewDraft {
    fn refused(&self) -> Error {
        Error::precondition(
            "draft.version",
            format!("version {} of this case's draft was submitted concurrently; submit again", self.row.version),
        )
    }
}

#[async_trait::async_trait]
impl Attachment for NewDraft {
    fn key(&self) -> String {
        format!("draft:{}:{}", self.row.case_id, self.row.version)
    }

    fn conflict(&self) -> Error {
        self.refused()
    }

    async fn check(&self, txn: &DatabaseTransaction) -> Result<()> {
        let stored = draft::Entity::find()
            .filter(draft::Column::CaseId.eq(&self.row.case_id))
            .filter(draft::Column::Version.eq(self.row.version))
            .one(txn)
            .await
            .map_err(db_error)?;
        match stored {
            Some(_) => Err(self.refused()),
            None => Ok(()),
        }
    }

    async fn commit(&self, txn: &DatabaseTransaction, committed: Committed<'_>) -> Result<()> {
        draft::Entity::update_many()
            .col_expr(draft::Column::Status, Expr::value(DraftStatus::Superseded.as_str()))
            .filter(draft::Column::CaseId.eq(&self.row.case_id))
            .filter(draft::Column::Status.eq(DraftStatus::Pending.as_str()))
            .exec(txn)
            .await
            .map_err(db_error)?;
        let row = draft::Model { event_case_seq: committed.event.case_seq, ..self.row.clone() };
        row.into_active_model().insert(txn).await.map_err(db_error)?;
        Ok(())
    }
}

/// A reviewer's opinion on a draft version; the draft must still be pending (else
/// `FAILED_PRECONDITION L5.reviewed-once`) and takes the status the outcome leaves.
#[derive(Debug)]
pub struct Opinion {
    pub row: review::Model,
    pub draft_status: DraftStatus,
}

fn not_awaiting() -> Error {
    Error::precondition(
        "L5.reviewed-once",
        "this draft version is not awaiting review (already reviewed, superseded, or not major)",
    )
}

#[async_trait::async_trait]
impl Attachment for Opinion {
    fn key(&self) -> String {
        format!("review:{}", self.row.draft_id)
    }

    fn conflict(&self) -> Error {
        not_awaiting()
    }

    async fn check(&self, txn: &DatabaseTransaction) -> Result<()> {
        let draft = draft::Entity::find_by_id(self.row.draft_id.clone())
            .one(txn)
            .await
            .map_err(db_error)?
            .ok_or_else(|| Error::not_found("draft", &self.row.draft_id))?;
        let status = DraftStatus::from_stored(&draft.status, &format!("draft {}", draft.id))?;
        if status != DraftStatus::Pending {
            return Err(not_awaiting());
        }
        Ok(())
    }

    async fn commit(&self, txn: &DatabaseTransaction, committed: Committed<'_>) -> Result<()> {
        draft::Entity::update_many()
            .col_expr(draft::Column::Status, Expr::value(self.draft_status.as_str()))
            .filter(draft::Column::Id.eq(&self.row.draft_id))
            .exec(txn)
            .await
            .map_err(db_error)?;
        let row = review::Model { event_case_seq: committed.event.case_seq, ..self.row.clone() };
        row.into_active_model().insert(txn).await.map_err(db_error)?;
        Ok(())
    }
}
