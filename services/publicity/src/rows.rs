//! Disclosure rows committed by the record's append path in the same transaction as their event
//! ([`Attachment`]): a disclosure is created with its decision, and changes only together with
//! the event that records the change.

use sanxiang_domain::id::DisclosureId;
use std::fmt;
use std::sync::Arc;

use sanxiang_domain::canonical::Value;
use sanxiang_domain::{Error, Result};
use sanxiang_recording::writer::{Attachment, Committed};
use sanxiang_store::db_error;
use sanxiang_store::entity::{disclosure, event};
use sea_orm::{ActiveModelTrait, DatabaseTransaction, EntityTrait, IntoActiveModel};

use crate::content;

/// Disclosure statuses as stored, as names for queries and patterns: the statuses themselves
/// are [`DisclosureStatus`].
pub mod status {
    use sanxiang_domain::publicity::DisclosureStatus as S;

    pub const PENDING: &str = S::Pending.as_str();
    pub const PUBLISHED: &str = S::Published.as_str();
    pub const EXCLUDED: &str = S::Excluded.as_str();
    pub const WITHDRAWAL_PENDING: &str = S::WithdrawalPending.as_str();
    pub const WITHDRAWN: &str = S::Withdrawn.as_str();
    pub const CANCELLED: &str = S::Cancelled.as_str();
    pub const ENDED: &str = S::Ended.as_str();
    /// Never stored: the status a published entry is shown with once its 公示截止期 has passed
    /// (RULES P7), computed at read time by [`crate::disclosure::seen_at`].
    pub const EXPIRED: &str = S::Expired.as_str();
    /// Automatic publication held because the masked content still resembles personal data
    /// (fail closed): waits for a publisher's confirmation, like [`PENDING`].
    pub const HELD: &str = S::Held.as_str();
    /// Statuses a publisher's confirmation (PublishDisclosure) publishes.
    pub const AWAITING_CONFIRMATION: [&str; 2] =
        [S::AWAITING_CONFIRMATION[0].as_str(), S::AWAITING_CONFIRMATION[1].as_str()];
}

fn key(id: &str) -> String {
    format!("disclosure:{id}")
}

/// The disclosure of a decision, inserted with the `decision` event. The writer fills in what
/// only it knows: the document number (in the content), the decision's time and, when it is
/// published at once, its place in the feed.
#[derive(Debug)]
pub struct NewDisclosure {
    pub row: disclosure::Model,
}

#[async_trait::async_trait]
impl Attachment for NewDisclosure {
    fn key(&self) -> String {
        key(&self.row.id)
    }

    async fn check(&self, txn: &DatabaseTransaction) -> Result<()> {
        let existing = disclosure::Entity::find_by_id(self.row.id.clone()).one(txn).await.map_err(db_error)?;
        if existing.is_some() {
            return Err(Error::precondition("P3.one-disclosure", "the case's decision already has a disclosure"));
        }
        Ok(())
    }

    async fn commit(&self, txn: &DatabaseTransaction, committed: Committed<'_>) -> Result<()> {
        let event = committed.event;
        let mut row = self.row.clone();
        row.content = self.content_with(committed.document_number)?;
        row.decided_at = event.occurred_at;
        row.updated_at = event.recorded_at;
        if row.status == status::PUBLISHED {
            row.published_at = Some(event.recorded_at);
            row.listed_seq = Some(event.global_seq);
            row.feed_seq = Some(event.global_seq);
        }
        row.into_active_model().insert(txn).await.map_err(db_error)?;
        Ok(())
    }

    /// The decision's `disclosure` member gets `content_sha256`: the digest of the content as it
    /// is stored, document number included, whatever the status (docs/CHAIN.md §4).
    fn complete_payload(&self, payload: Value, document_number: Option<&str>) -> Result<Value> {
        let digest = content::digest(&self.content_with(document_number)?);
        let disclosure = payload
            .get("disclosure")
            .cloned()
            .ok_or_else(|| Error::Internal("a decision's payload without its disclosure".into()))?
            .with("content_sha256", digest);
        Ok(payload.with("disclosure", disclosure))
    }
}

impl NewDisclosure {
    /// The stored content: the planned content with the drawn document number.
    fn content_with(&self, document_number: Option<&str>) -> Result<String> {
        let mut c = content::from_json(&self.row.content)?;
        c.document_number = document_number
            .ok_or_else(|| Error::Internal("a decision's disclosure without its document number".into()))?
            .to_owned();
        content::to_json(&c)
    }
}

/// How a change rewrites the row, given the event that records it.
pub type Apply = Arc<dyn Fn(disclosure::Model, &event::Model) -> Result<disclosure::Model> + Send + Sync>;

/// A change of an existing disclosure, allowed only from the statuses listed; otherwise the
/// event is refused with `FAILED_PRECONDITION <rule>`. With `missing_ok`, a case without a
/// disclosure is left alone (a revision of a decision that has none).
pub struct Change {
    pub id: DisclosureId,
    pub from: &'static [&'static str],
    pub rule: &'static str,
    pub message: String,
    pub missing_ok: bool,
    pub apply: Apply,
    /// A member the change adds to its event's payload, so the chain records what the change
    /// writes (e.g. the `withdrawal` a revision causes).
    pub payload: Option<(&'static str, Value)>,
}

impl fmt::Debug for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Change").field("id", &self.id).field("from", &self.from).field("rule", &self.rule).finish()
    }
}

#[async_trait::async_trait]
impl Attachment for Change {
    fn key(&self) -> String {
        key(&self.id)
    }

    async fn check(&self, txn: &DatabaseTransaction) -> Result<()> {
        match disclosure::Entity::find_by_id(self.id.clone()).one(txn).await.map_err(db_error)? {
            None if self.missing_ok => Ok(()),
            None => Err(Error::not_found("disclosure", &self.id)),
            Some(d) if self.from.contains(&d.status.as_str()) => Ok(()),
            Some(d) => {
                Err(Error::precondition(self.rule, format!("{} (the disclosure is {})", self.message, d.status)))
            }
        }
    }

    async fn commit(&self, txn: &DatabaseTransaction, committed: Committed<'_>) -> Result<()> {
        let event = committed.event;
        let Some(row) = disclosure::Entity::find_by_id(self.id.clone()).one(txn).await.map_err(db_error)? else {
            return Ok(());
        };
        let mut changed = (self.apply)(row, event)?;
        changed.updated_at = event.recorded_at;
        changed.into_active_model().reset_all().update(txn).await.map_err(db_error)?;
        Ok(())
    }

    fn complete_payload(&self, payload: Value, _document_number: Option<&str>) -> Result<Value> {
        Ok(match &self.payload {
            Some((name, member)) => payload.with(name, member.clone()),
            None => payload,
        })
    }
}
