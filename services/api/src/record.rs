//! `RecordService` over gRPC: decode, authorise, call the use case, encode.

use crate::authz;
use crate::status::{caller, status};
use bytes::Bytes;
use futures::StreamExt;
use sanxiang_domain::Error;
use sanxiang_domain::id::{AgencyId, CaseId, EvidenceId};
use sanxiang_proto::v1 as pb;
use sanxiang_proto::v1::record_service_server::RecordService;
use sanxiang_registry::auth::Action;
use sanxiang_registry::registry::DIRECTORY_CHANGED;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use sanxiang_recording::record::Recorder;

use crate::convert::{self, case_to_pb, event_to_pb, evidence_to_pb, report_to_pb};

/// The gRPC face of the [`Recorder`].
#[derive(Debug, Clone)]
pub struct RecordApi {
    recorder: Recorder,
}

impl RecordApi {
    /// Serves `recorder`.
    pub fn new(recorder: Recorder) -> Self {
        Self { recorder }
    }
}

type R<T> = Result<Response<T>, Status>;
type Stream<T> = std::pin::Pin<Box<dyn futures::Stream<Item = Result<T, Status>> + Send>>;

#[tonic::async_trait]
impl RecordService for RecordApi {
    #[tracing::instrument(skip_all)]
    async fn open_case(&self, req: Request<pb::OpenCaseRequest>) -> R<pb::OpenCaseResponse> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let agency_id: AgencyId = convert::id("agency_id", r.agency_id.clone()).map_err(status)?;
        authz::agency(self.recorder.registry(), &who, Action::WriteRecord, &agency_id).await.map_err(|e| match e {
            Error::NotFound { .. } => status(Error::invalid("agency_id", "no such agency")),
            other => status(other),
        })?;
        let case = self.recorder.open_case(&who, convert::open_case(r).map_err(status)?).await.map_err(status)?;
        let agency = self.recorder.registry().agency(&case.agency_id).await.map_err(status)?;
        Ok(Response::new(pb::OpenCaseResponse {
            case: Some(case_to_pb(self.recorder.case_view(case, &agency).map_err(status)?)),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_case(&self, req: Request<pb::GetCaseRequest>) -> R<pb::GetCaseResponse> {
        let who = caller(&req)?;
        let id: CaseId = convert::id("case_id", req.get_ref().case_id.clone()).map_err(status)?;
        let known = authz::case_agency(&self.recorder, &who, Action::ReadRecord, &id).await.map_err(status)?;
        let case = self.recorder.case(&id).await.map_err(status)?;
        Ok(Response::new(pb::GetCaseResponse {
            case: Some(case_to_pb(self.recorder.case_view(case, &known.0).map_err(status)?)),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_cases(&self, req: Request<pb::ListCasesRequest>) -> R<pb::ListCasesResponse> {
        let who = caller(&req)?;
        let r = req.into_inner();
        // The cursor's shape is checked before anything is looked up.
        sanxiang_domain::limits::optional_id("after_id", &r.after_id).map_err(status)?;
        let agency_id: AgencyId = convert::id("agency_id", r.agency_id).map_err(status)?;
        authz::agency(self.recorder.registry(), &who, Action::ReadRecord, &agency_id).await.map_err(status)?;
        let cases = self.recorder.list_cases(&agency_id, &r.after_id, r.limit).await.map_err(status)?;
        let next_after_id = cases.last().map(|c| c.id.to_string()).unwrap_or_default();
        let agency = self.recorder.registry().agency(&agency_id).await.map_err(status)?;
        Ok(Response::new(pb::ListCasesResponse {
            cases: cases
                .into_iter()
                .map(|c| self.recorder.case_view(c, &agency).map(case_to_pb))
                .collect::<Result<_, _>>()
                .map_err(status)?,
            next_after_id,
        }))
    }

    #[tracing::instrument(skip_all, fields(case_id = %req.get_ref().case_id))]
    async fn append_event(&self, req: Request<pb::AppendEventRequest>) -> R<pb::AppendEventResponse> {
        let mut who = caller(&req)?;
        let r = req.into_inner();
        let case_id: CaseId = convert::id("case_id", r.case_id.clone()).map_err(status)?;
        let command = convert::append_event(r).map_err(status)?;
        // The caller was judged from memory (`Registry::authenticate_deferred`); the writer
        // refuses the event if a token or officer changed since, and then the caller is judged
        // again from the database and the event sent once more.
        let mut judged_again = false;
        let event = loop {
            let known =
                authz::case_agency(&self.recorder, &who, Action::WriteRecord, &case_id).await.map_err(status)?;
            match self.recorder.append_event_in(&who, &case_id, &known.0, command.clone()).await {
                Err(Error::FailedPrecondition { rule, .. }) if rule == DIRECTORY_CHANGED && !judged_again => {
                    who = self.recorder.registry().reauthenticate(&who).await.map_err(status)?;
                    judged_again = true;
                }
                answer => break answer.map_err(status)?,
            }
        };
        Ok(Response::new(pb::AppendEventResponse { event: Some(event_to_pb(event).map_err(status)?) }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_events(&self, req: Request<pb::ListEventsRequest>) -> R<pb::ListEventsResponse> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let case_id: CaseId = convert::id("case_id", r.case_id).map_err(status)?;
        authz::case(&self.recorder, &who, Action::ReadRecord, &case_id).await.map_err(status)?;
        let events = self.recorder.list_events(&case_id, r.after_seq, r.limit).await.map_err(status)?;
        let events = events.into_iter().map(event_to_pb).collect::<Result<_, _>>().map_err(status)?;
        Ok(Response::new(pb::ListEventsResponse { events }))
    }

    #[tracing::instrument(skip_all)]
    async fn upload_evidence(
        &self,
        req: Request<Streaming<pb::UploadEvidenceRequest>>,
    ) -> R<pb::UploadEvidenceResponse> {
        use pb::upload_evidence_request::Part;
        let who = caller(&req)?;
        let mut stream = req.into_inner();
        let header = match stream.message().await? {
            Some(pb::UploadEvidenceRequest { part: Some(Part::Header(h)) }) => h,
            _ => return Err(status(Error::invalid("header", "the first message must carry the upload header"))),
        };
        let case_id: CaseId = convert::id("case_id", header.case_id.clone()).map_err(status)?;
        let case = authz::case(&self.recorder, &who, Action::WriteRecord, &case_id).await.map_err(|e| match e {
            Error::NotFound { .. } => status(Error::invalid("case_id", "no such case")),
            other => status(other),
        })?;
        let body = stream.map(|m| match m {
            Ok(pb::UploadEvidenceRequest { part: Some(Part::Chunk(c)) }) => Ok(c),
            Ok(_) => Err(Error::invalid("chunk", "only the first message carries a header")),
            // A message that does not decode or is too large is the client's fault; anything
            // else is a broken stream, to be resumed.
            Err(s) => Err(match s.code() {
                tonic::Code::InvalidArgument => Error::invalid("chunk", s.message()),
                tonic::Code::OutOfRange => Error::ResourceExhausted(s.message().to_owned()),
                _ => Error::Unavailable(format!("the upload stream broke: {}", s.message())),
            }),
        });
        let header = convert::upload_header(header).map_err(status)?;
        let done = self.recorder.upload(&who, &case, header, Box::pin(body)).await.map_err(status)?;
        Ok(Response::new(pb::UploadEvidenceResponse {
            evidence: Some(evidence_to_pb(done.evidence)),
            deduplicated: done.deduplicated,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_upload(&self, req: Request<pb::GetUploadRequest>) -> R<pb::GetUploadResponse> {
        let who = caller(&req)?;
        let upload_id = req.get_ref().upload_id.clone();
        let u = self.recorder.upload_status(&upload_id).await.map_err(status)?;
        authz::case(&self.recorder, &who, Action::ReadRecord, &u.case_id).await.map_err(status)?;
        Ok(Response::new(pb::GetUploadResponse {
            upload_id,
            case_id: u.case_id.into(),
            durable_offset: u.durable_offset,
            completed: u.evidence.is_some(),
            evidence_id: u.evidence.map(|e| e.id.into()).unwrap_or_default(),
            expires_at: u.expires_at.map(|t| convert::micros(t.micros())),
            expired: u.expired,
        }))
    }

    type DownloadEvidenceStream = Stream<pb::DownloadEvidenceResponse>;

    #[tracing::instrument(skip_all)]
    async fn download_evidence(&self, req: Request<pb::DownloadEvidenceRequest>) -> R<Self::DownloadEvidenceStream> {
        use pb::download_evidence_response::Part;
        let who = caller(&req)?;
        let r = req.into_inner();
        let id: EvidenceId = convert::id("evidence_id", r.evidence_id.clone()).map_err(status)?;
        let item = self.recorder.evidence(&id).await.map_err(status)?;
        authz::case(&self.recorder, &who, Action::RetrieveEvidence, &item.case_id).await.map_err(status)?;
        let first = pb::DownloadEvidenceResponse { part: Some(Part::Evidence(evidence_to_pb(item.clone()))) };
        let rx = self.recorder.download(&who, item, &r.reason).await.map_err(status)?;
        let chunks = ReceiverStream::new(rx)
            .map(|m| m.map(|chunk| pb::DownloadEvidenceResponse { part: Some(Part::Chunk(chunk)) }).map_err(status));
        Ok(Response::new(Box::pin(futures::stream::once(async { Ok(first) }).chain(chunks))))
    }

    #[tracing::instrument(skip_all)]
    async fn get_evidence(&self, req: Request<pb::GetEvidenceRequest>) -> R<pb::GetEvidenceResponse> {
        let who = caller(&req)?;
        let id: EvidenceId = convert::id("evidence_id", req.get_ref().evidence_id.clone()).map_err(status)?;
        let item = self.recorder.evidence(&id).await.map_err(status)?;
        authz::case(&self.recorder, &who, Action::ReadRecord, &item.case_id).await.map_err(status)?;
        Ok(Response::new(pb::GetEvidenceResponse { evidence: Some(evidence_to_pb(item)) }))
    }

    #[tracing::instrument(skip_all)]
    async fn verify_case(&self, req: Request<pb::VerifyCaseRequest>) -> R<pb::VerifyCaseResponse> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let case_id: CaseId = convert::id("case_id", r.case_id).map_err(status)?;
        let case = authz::case(&self.recorder, &who, Action::ReadRecord, &case_id).await.map_err(status)?;
        let report = self.recorder.verify_case(&case, r.rehash_evidence).await.map_err(status)?;
        Ok(Response::new(report_to_pb(report)))
    }

    type ExportCaseStream = Stream<pb::ExportCaseResponse>;

    #[tracing::instrument(skip_all)]
    async fn export_case(&self, req: Request<pb::ExportCaseRequest>) -> R<Self::ExportCaseStream> {
        let who = caller(&req)?;
        let case_id: CaseId = convert::id("case_id", req.get_ref().case_id.clone()).map_err(status)?;
        let case = authz::case(&self.recorder, &who, Action::ReadRecord, &case_id).await.map_err(status)?;
        let rx = self.recorder.export(&case).await.map_err(status)?;
        Ok(Response::new(Box::pin(
            ReceiverStream::new(rx)
                .map(|m: Result<Bytes, Error>| m.map(|chunk| pb::ExportCaseResponse { chunk }).map_err(status)),
        )))
    }

    #[tracing::instrument(skip_all)]
    async fn destroy_evidence(&self, req: Request<pb::DestroyEvidenceRequest>) -> R<pb::DestroyEvidenceResponse> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let case_id: CaseId = convert::id("case_id", r.case_id.clone()).map_err(status)?;
        let command = convert::destroy_evidence(r).map_err(status)?;
        // The agency head approves a destruction list (RULES K5): a permission of its own.
        let case = authz::case(&self.recorder, &who, Action::DestroyEvidence, &case_id).await.map_err(status)?;
        let done = self.recorder.destroy_evidence(&who, &case, command).await.map_err(status)?;
        Ok(Response::new(pb::DestroyEvidenceResponse {
            event: Some(event_to_pb(done.event).map_err(status)?),
            destroyed: done.items.into_iter().map(|t| convert::tombstone_to_pb(t, false)).collect(),
        }))
    }
}
