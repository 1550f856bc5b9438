//! `ReviewService` over gRPC: decode, authorise, call the use case, encode.

use sanxiang_proto::v1 as pb;
use sanxiang_proto::v1::review_service_server::ReviewService;
use sanxiang_registry::auth::Action;
use sanxiang_review::review::{Reviews, review_view};
use tonic::{Request, Response, Status};

use crate::authz;
use crate::convert::{self, draft_to_pb, event_to_pb, review_to_pb};
use crate::status::{caller, status};
use sanxiang_domain::id::{AgencyId, DraftId};

/// The gRPC face of [`Reviews`].
#[derive(Debug, Clone)]
pub struct ReviewApi {
    reviews: Reviews,
}

impl ReviewApi {
    /// Serves `reviews`.
    pub fn new(reviews: Reviews) -> Self {
        Self { reviews }
    }
}

type R<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl ReviewService for ReviewApi {
    #[tracing::instrument(skip_all)]
    async fn submit_draft(&self, req: Request<pb::SubmitDraftRequest>) -> R<pb::SubmitDraftResponse> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let command = convert::submit_draft(r).map_err(status)?;
        let case =
            authz::case(self.reviews.recorder(), &who, Action::WriteRecord, &command.case_id).await.map_err(status)?;
        let d = self.reviews.submit_draft(&who, &case, command).await.map_err(status)?;
        Ok(Response::new(pb::SubmitDraftResponse {
            draft: Some(draft_to_pb(self.reviews.draft_view(d).await.map_err(status)?)),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_draft(&self, req: Request<pb::GetDraftRequest>) -> R<pb::GetDraftResponse> {
        let who = caller(&req)?;
        let id: DraftId = convert::id("draft_id", req.get_ref().draft_id.clone()).map_err(status)?;
        let (d, _) = authz::draft(&self.reviews, &who, Action::ReadRecord, &id).await.map_err(status)?;
        Ok(Response::new(pb::GetDraftResponse {
            draft: Some(draft_to_pb(self.reviews.draft_view(d).await.map_err(status)?)),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_review_queue(&self, req: Request<pb::ListReviewQueueRequest>) -> R<pb::ListReviewQueueResponse> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let agency_id: AgencyId = convert::id("agency_id", r.agency_id).map_err(status)?;
        authz::agency(self.reviews.recorder().registry(), &who, Action::ReadReviewQueue, &agency_id)
            .await
            .map_err(status)?;
        let drafts = self.reviews.queue(&who, &agency_id, r.overdue_only).await.map_err(status)?;
        Ok(Response::new(pb::ListReviewQueueResponse { drafts: drafts.into_iter().map(draft_to_pb).collect() }))
    }

    #[tracing::instrument(skip_all)]
    async fn decide_review(&self, req: Request<pb::DecideReviewRequest>) -> R<pb::DecideReviewResponse> {
        let who = caller(&req)?;
        let command = convert::decide_review(req.into_inner()).map_err(status)?;
        let draft = authz::draft(&self.reviews, &who, Action::ReviewDraft, &command.draft_id).await.map_err(status)?;
        let review = self.reviews.decide_review(&who, draft, command).await.map_err(status)?;
        Ok(Response::new(review_to_pb(review_view(review).map_err(status)?)))
    }

    #[tracing::instrument(skip_all)]
    async fn record_collective_discussion(
        &self,
        req: Request<pb::RecordCollectiveDiscussionRequest>,
    ) -> R<pb::RecordCollectiveDiscussionResponse> {
        let who = caller(&req)?;
        let command = convert::record_discussion(req.into_inner()).map_err(status)?;
        let draft = authz::draft(&self.reviews, &who, Action::Decide, &command.draft_id).await.map_err(status)?;
        let e = self.reviews.record_discussion(&who, draft, command).await.map_err(status)?;
        Ok(Response::new(pb::RecordCollectiveDiscussionResponse { event: Some(event_to_pb(e).map_err(status)?) }))
    }

    #[tracing::instrument(skip_all)]
    async fn issue_decision(&self, req: Request<pb::IssueDecisionRequest>) -> R<pb::IssueDecisionResponse> {
        let who = caller(&req)?;
        let command = convert::issue_decision(req.into_inner()).map_err(status)?;
        let draft = authz::draft(&self.reviews, &who, Action::Decide, &command.draft_id).await.map_err(status)?;
        let d = self.reviews.issue_decision(&who, draft, command).await.map_err(status)?;
        Ok(Response::new(pb::IssueDecisionResponse {
            event: Some(event_to_pb(d.event).map_err(status)?),
            document_number: d.document_number,
            decided_after_limit: d.decided_after_limit,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn revise_decision(&self, req: Request<pb::ReviseDecisionRequest>) -> R<pb::ReviseDecisionResponse> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let command = convert::revise_decision(r).map_err(status)?;
        let case =
            authz::case(self.reviews.recorder(), &who, Action::Decide, &command.case_id).await.map_err(status)?;
        let e = self.reviews.revise_decision(&who, &case, command).await.map_err(status)?;
        Ok(Response::new(pb::ReviseDecisionResponse { event: Some(event_to_pb(e).map_err(status)?) }))
    }
}
