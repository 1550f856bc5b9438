//! `ReviewService` over gRPC: decode, authorise, call the use case, encode.

use sanxiang_proto::v1 as pb;
use sanxiang_proto::v1::review_service_server::ReviewService;
use sanxiang_recording::record::event_to_pb;
use sanxiang_registry::auth::Action;
use sanxiang_registry::grpc::{caller, status};
use tonic::{Request, Response, Status};

use crate::review::{Reviews, review_to_pb};

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
    async fn submit_draft(&self, req: Request<pb::SubmitDraftRequest>) -> R<pb::Draft> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let case =
            self.reviews.recorder().authorized_case(&who, Action::WriteRecord, &r.case_id).await.map_err(status)?;
        let d = self.reviews.submit_draft(&who, &case, r).await.map_err(status)?;
        Ok(Response::new(self.reviews.draft_pb(d).await.map_err(status)?))
    }

    #[tracing::instrument(skip_all)]
    async fn get_draft(&self, req: Request<pb::GetDraftRequest>) -> R<pb::Draft> {
        let who = caller(&req)?;
        let (d, _) =
            self.reviews.authorized_draft(&who, Action::ReadRecord, &req.get_ref().draft_id).await.map_err(status)?;
        Ok(Response::new(self.reviews.draft_pb(d).await.map_err(status)?))
    }

    #[tracing::instrument(skip_all)]
    async fn list_review_queue(&self, req: Request<pb::ListReviewQueueRequest>) -> R<pb::ListReviewQueueResponse> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let drafts = self.reviews.queue(&who, &r.agency_id, r.overdue_only).await.map_err(status)?;
        Ok(Response::new(pb::ListReviewQueueResponse { drafts }))
    }

    #[tracing::instrument(skip_all)]
    async fn decide_review(&self, req: Request<pb::DecideReviewRequest>) -> R<pb::Review> {
        let who = caller(&req)?;
        let review = self.reviews.decide_review(&who, req.into_inner()).await.map_err(status)?;
        Ok(Response::new(review_to_pb(review).map_err(status)?))
    }

    #[tracing::instrument(skip_all)]
    async fn record_collective_discussion(&self, req: Request<pb::RecordCollectiveDiscussionRequest>) -> R<pb::Event> {
        let who = caller(&req)?;
        let e = self.reviews.record_discussion(&who, req.into_inner()).await.map_err(status)?;
        Ok(Response::new(event_to_pb(e).map_err(status)?))
    }

    #[tracing::instrument(skip_all)]
    async fn issue_decision(&self, req: Request<pb::IssueDecisionRequest>) -> R<pb::IssueDecisionResponse> {
        let who = caller(&req)?;
        let (e, document_number, decided_after_limit) =
            self.reviews.issue_decision(&who, req.into_inner()).await.map_err(status)?;
        Ok(Response::new(pb::IssueDecisionResponse {
            event: Some(event_to_pb(e).map_err(status)?),
            document_number,
            decided_after_limit,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn revise_decision(&self, req: Request<pb::ReviseDecisionRequest>) -> R<pb::Event> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let case = self.reviews.recorder().authorized_case(&who, Action::Decide, &r.case_id).await.map_err(status)?;
        let e = self.reviews.revise_decision(&who, &case, r).await.map_err(status)?;
        Ok(Response::new(event_to_pb(e).map_err(status)?))
    }
}
