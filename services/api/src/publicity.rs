//! `PublicityService` over gRPC: decode, authorise, call the use case, encode.

use std::pin::Pin;
use std::time::Duration;

use crate::authz;
use crate::convert::{self, disclosure_to_pb};
use crate::status::{caller, status};
use futures::Stream;
use sanxiang_domain::id::{AgencyId, DisclosureId};
use sanxiang_proto::v1 as pb;
use sanxiang_proto::v1::publicity_service_server::PublicityService;
use sanxiang_registry::Principal;
use sanxiang_registry::auth::Action;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use sanxiang_publicity::Publicity;
use sanxiang_publicity::watch::{RETRY_AFTER_SECONDS, WatchLimits, Watchers};

/// How often a watcher looks for changes made by other replicas.
const WATCH_POLL: Duration = Duration::from_millis(500);

/// The gRPC methods callable without a token (the public surface).
pub const PUBLIC_METHODS: &[&str] = &[
    "/sanxiang.v1.PublicityService/ListNotices",
    "/sanxiang.v1.PublicityService/ListDisclosures",
    "/sanxiang.v1.PublicityService/GetDisclosure",
    "/sanxiang.v1.PublicityService/WatchDisclosures",
    "/sanxiang.v1.PublicityService/GetAnnualReport",
];

/// The gRPC face of [`Publicity`].
#[derive(Debug, Clone)]
pub struct PublicityApi {
    publicity: Publicity,
    watchers: Watchers,
    /// Overdue complaint steps join the supervisor's overdue list (RULES T3, T4, T6).
    complaints: Option<sanxiang_complaints::Complaints>,
}

impl PublicityApi {
    /// Serves `publicity`, with the default caps on anonymous watchers.
    pub fn new(publicity: Publicity) -> Self {
        Self { publicity, watchers: Watchers::new(WatchLimits::default()), complaints: None }
    }

    /// The same with the complaints whose overdue steps `ListOverdue` lists.
    #[must_use]
    pub fn with_complaints(self, complaints: sanxiang_complaints::Complaints) -> Self {
        Self { complaints: Some(complaints), ..self }
    }

    /// The same with other caps on anonymous `WatchDisclosures` streams.
    #[must_use]
    pub fn with_watch_limits(self, limits: WatchLimits) -> Self {
        Self { watchers: Watchers::new(limits), ..self }
    }
}

type R<T> = Result<Response<T>, Status>;

/// The caller if a token was given (public methods accept calls without one).
fn maybe_caller<T>(req: &Request<T>) -> Option<Principal> {
    req.extensions().get::<Principal>().cloned()
}

#[tonic::async_trait]
impl PublicityService for PublicityApi {
    #[tracing::instrument(skip_all)]
    async fn put_notice(&self, req: Request<pb::PutNoticeRequest>) -> R<pb::PutNoticeResponse> {
        let who = caller(&req)?;
        let command = convert::put_notice(req.into_inner()).map_err(status)?;
        authz::agency(self.publicity.recorder().registry(), &who, Action::ConfigurePublicity, &command.agency_id)
            .await
            .map_err(status)?;
        let n = sanxiang_publicity::notices::put(&self.publicity, &who, command).await.map_err(status)?;
        Ok(Response::new(pb::PutNoticeResponse { notice: Some(convert::notice_to_pb(n)) }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_notices(&self, req: Request<pb::ListNoticesRequest>) -> R<pb::ListNoticesResponse> {
        let agency_id: AgencyId = convert::id("agency_id", req.get_ref().agency_id.clone()).map_err(status)?;
        let r = sanxiang_publicity::notices::list(&self.publicity, &agency_id).await.map_err(status)?;
        Ok(Response::new(convert::notices_to_pb(r)))
    }

    #[tracing::instrument(skip_all)]
    async fn put_publicity_policy(
        &self,
        req: Request<pb::PutPublicityPolicyRequest>,
    ) -> R<pb::PutPublicityPolicyResponse> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let p = r.policy.ok_or_else(|| Status::invalid_argument("policy: is required"))?;
        let form = convert::policy_form(p).map_err(status)?;
        authz::agency(self.publicity.recorder().registry(), &who, Action::ConfigurePublicity, &form.agency_id)
            .await
            .map_err(status)?;
        let policy = self.publicity.put_policy(&who, &form, r.regime_defaults).await.map_err(status)?;
        Ok(Response::new(pb::PutPublicityPolicyResponse {
            policy: Some(convert::policy_to_pb(&policy, &form.agency_id)),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_publicity_policy(
        &self,
        req: Request<pb::GetPublicityPolicyRequest>,
    ) -> R<pb::GetPublicityPolicyResponse> {
        let _who = caller(&req)?;
        let agency_id: AgencyId = convert::id("agency_id", req.get_ref().agency_id.clone()).map_err(status)?;
        self.publicity.recorder().registry().agency(&agency_id).await.map_err(status)?;
        let policy = self.publicity.policy(&agency_id).await.map_err(status)?;
        Ok(Response::new(pb::GetPublicityPolicyResponse { policy: Some(convert::policy_to_pb(&policy, &agency_id)) }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_disclosures(&self, req: Request<pb::ListDisclosuresRequest>) -> R<pb::ListDisclosuresResponse> {
        let who = maybe_caller(&req);
        let r = req.into_inner();
        let page = if r.include_unpublished {
            let who = who.ok_or_else(|| {
                Status::unauthenticated("include_unpublished needs a bearer token of the agency's staff")
            })?;
            let agency_id: AgencyId = convert::id("agency_id", r.agency_id).map_err(status)?;
            authz::agency(self.publicity.recorder().registry(), &who, Action::ReadRecord, &agency_id)
                .await
                .map_err(status)?;
            self.publicity.staff_page(&agency_id, &r.cursor, r.limit).await
        } else {
            // Empty: every agency's published entries.
            let agency_id: Option<AgencyId> = convert::optional_id("agency_id", r.agency_id).map_err(status)?;
            self.publicity.public_page(agency_id.as_ref(), &r.cursor, r.limit).await
        }
        .map_err(status)?;
        let disclosures = self.publicity.views(page.rows).await.map_err(status)?;
        Ok(Response::new(pb::ListDisclosuresResponse {
            disclosures: disclosures.into_iter().map(disclosure_to_pb).collect(),
            next_cursor: page.next_cursor.unwrap_or_default(),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_disclosure(&self, req: Request<pb::GetDisclosureRequest>) -> R<pb::GetDisclosureResponse> {
        let who = maybe_caller(&req);
        let id: DisclosureId = convert::id("disclosure_id", req.get_ref().disclosure_id.clone()).map_err(status)?;
        let d = self.publicity.disclosure(&id).await.map_err(status)?;
        let d = if authz::reads_in_full(&self.publicity, who.as_ref(), &d).await.map_err(status)? {
            d
        } else {
            self.publicity.public_view(d).map_err(status)?
        };
        Ok(Response::new(pb::GetDisclosureResponse {
            disclosure: Some(disclosure_to_pb(self.publicity.view(d).await.map_err(status)?)),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn publish_disclosure(&self, req: Request<pb::PublishDisclosureRequest>) -> R<pb::PublishDisclosureResponse> {
        let who = caller(&req)?;
        let command = convert::publish_disclosure(req.into_inner()).map_err(status)?;
        let d =
            authz::disclosure(&self.publicity, &who, Action::Publish, &command.disclosure_id).await.map_err(status)?;
        let d = self.publicity.publish(&who, d, command).await.map_err(status)?;
        Ok(Response::new(pb::PublishDisclosureResponse {
            disclosure: Some(disclosure_to_pb(self.publicity.view(d).await.map_err(status)?)),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn withdraw_disclosure(
        &self,
        req: Request<pb::WithdrawDisclosureRequest>,
    ) -> R<pb::WithdrawDisclosureResponse> {
        let who = caller(&req)?;
        let command = convert::withdraw_disclosure(req.into_inner()).map_err(status)?;
        let d =
            authz::disclosure(&self.publicity, &who, Action::Publish, &command.disclosure_id).await.map_err(status)?;
        let d = self.publicity.withdraw(&who, d, command).await.map_err(status)?;
        Ok(Response::new(pb::WithdrawDisclosureResponse {
            disclosure: Some(disclosure_to_pb(self.publicity.view(d).await.map_err(status)?)),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn correct_disclosure(&self, req: Request<pb::CorrectDisclosureRequest>) -> R<pb::CorrectDisclosureResponse> {
        let who = caller(&req)?;
        let command = convert::correct_disclosure(req.into_inner()).map_err(status)?;
        let d =
            authz::disclosure(&self.publicity, &who, Action::Publish, &command.disclosure_id).await.map_err(status)?;
        let d = self.publicity.correct(&who, d, command).await.map_err(status)?;
        Ok(Response::new(pb::CorrectDisclosureResponse {
            disclosure: Some(disclosure_to_pb(self.publicity.view(d).await.map_err(status)?)),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn end_publication(&self, req: Request<pb::EndPublicationRequest>) -> R<pb::EndPublicationResponse> {
        let who = caller(&req)?;
        let command = convert::end_publication(req.into_inner()).map_err(status)?;
        let d =
            authz::disclosure(&self.publicity, &who, Action::Publish, &command.disclosure_id).await.map_err(status)?;
        let d = self.publicity.end_publication(&who, d, command).await.map_err(status)?;
        Ok(Response::new(pb::EndPublicationResponse {
            disclosure: Some(disclosure_to_pb(self.publicity.view(d).await.map_err(status)?)),
        }))
    }

    type WatchDisclosuresStream = Pin<Box<dyn Stream<Item = Result<pb::WatchDisclosuresResponse, Status>> + Send>>;

    #[tracing::instrument(skip_all)]
    async fn watch_disclosures(&self, req: Request<pb::WatchDisclosuresRequest>) -> R<Self::WatchDisclosuresStream> {
        // Anonymous streams are capped per client address and in total; the place is held until
        // the stream's task ends.
        let admitted = match maybe_caller(&req) {
            Some(_) => None,
            None => Some(self.watchers.admit(req.remote_addr().map(|a| a.ip())).map_err(|e| {
                let mut s = status(e);
                if let Ok(v) = (RETRY_AFTER_SECONDS * 1000).to_string().parse() {
                    s.metadata_mut().insert("grpc-retry-pushback-ms", v);
                }
                s
            })?),
        };
        let r = req.into_inner();
        let agency: Option<AgencyId> = convert::optional_id("agency_id", r.agency_id).map_err(status)?;
        if let Some(a) = &agency {
            self.publicity.recorder().registry().agency(a).await.map_err(status)?;
        }
        let mut after = match i64::try_from(r.after_feed_seq) {
            Ok(0) => self.publicity.feed_head().await.map_err(status)?,
            Ok(n) => n,
            Err(_) => return Err(Status::invalid_argument("after_feed_seq: too large")),
        };
        let (tx, rx) = mpsc::channel(64);
        let publicity = self.publicity.clone();
        tokio::spawn(async move {
            let _admitted = admitted;
            loop {
                // Register for the wake-up before looking, so a change committed in between is
                // not missed.
                let changed = publicity.changed().clone();
                let notified = changed.notified();
                let rows = match publicity.changes_after(agency.as_ref(), after, 100).await {
                    Ok(rows) => rows,
                    Err(e) => {
                        let _ = tx.send(Err(status(e))).await;
                        return;
                    }
                };
                let empty = rows.is_empty();
                after = rows.iter().filter_map(|r| r.feed_seq).fold(after, i64::max);
                // One agency lookup per agency of the batch, not per row.
                let items = match publicity.views(rows).await {
                    Ok(items) => items
                        .into_iter()
                        .map(|v| Ok(pb::WatchDisclosuresResponse { disclosure: Some(disclosure_to_pb(v)) }))
                        .collect(),
                    Err(e) => vec![Err(status(e))],
                };
                for item in items {
                    if tx.send(item).await.is_err() {
                        return; // the watcher went away
                    }
                }
                if empty {
                    tokio::select! {
                        () = notified => {}
                        () = tokio::time::sleep(WATCH_POLL) => {}
                        () = tx.closed() => return,
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    #[tracing::instrument(skip_all)]
    async fn get_annual_report(&self, req: Request<pb::GetAnnualReportRequest>) -> R<pb::GetAnnualReportResponse> {
        let r = req.into_inner();
        let agency_id: AgencyId = convert::id("agency_id", r.agency_id).map_err(status)?;
        let view =
            sanxiang_publicity::annual::view(&self.publicity, &agency_id, r.year, r.version).await.map_err(status)?;
        Ok(Response::new(convert::annual_view_to_pb(view)))
    }

    #[tracing::instrument(skip_all)]
    async fn publish_annual_report(
        &self,
        req: Request<pb::PublishAnnualReportRequest>,
    ) -> R<pb::PublishAnnualReportResponse> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let agency_id: AgencyId = convert::id("agency_id", r.agency_id.clone()).map_err(status)?;
        // The agency publishes its own figures (RULES N1): the publisher's (or head's) action.
        authz::agency(self.publicity.recorder().registry(), &who, Action::Publish, &agency_id).await.map_err(status)?;
        let command = convert::publish_annual(r, agency_id);
        let view = sanxiang_publicity::annual::publish(&self.publicity, &who.id, command).await.map_err(status)?;
        Ok(Response::new(pb::PublishAnnualReportResponse { report: Some(convert::annual_view_to_pb(view)) }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_overdue(&self, req: Request<pb::ListOverdueRequest>) -> R<pb::ListOverdueResponse> {
        let who = caller(&req)?;
        // Empty: every agency the supervisor oversees.
        let agency_id: Option<AgencyId> =
            convert::optional_id("agency_id", req.get_ref().agency_id.clone()).map_err(status)?;
        let agencies = authz::supervised_agencies(self.publicity.recorder().registry(), &who, agency_id.as_ref())
            .await
            .map_err(status)?;
        // Late and missing filings, reviews and responses (RULES F8) join the same list.
        let filings = sanxiang_filing::Filings::new(self.publicity.recorder().clone());
        // Over the whole tree, also the filings routed to the caller's agency from elsewhere (F3).
        let recipient = if agency_id.is_none() { who.agency_id.as_ref() } else { None };
        let filing_items =
            sanxiang_filing::supervision::overdue(&filings, &agencies, recipient).await.map_err(status)?;
        let mut items = match &self.complaints {
            Some(c) => c.overdue(&agencies).await.map_err(status)?,
            None => Vec::new(),
        };
        items.extend(sanxiang_publicity::supervision::overdue(&self.publicity, agencies).await.map_err(status)?);
        items.extend(filing_items);
        items.sort_by_key(|i| (i.kind, i.occurred_at.micros()));
        Ok(Response::new(pb::ListOverdueResponse {
            items: items.into_iter().map(convert::overdue_item_to_pb).collect(),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_statistics(&self, req: Request<pb::GetStatisticsRequest>) -> R<pb::GetStatisticsResponse> {
        let who = caller(&req)?;
        let r = req.into_inner();
        // Empty: the supervisor's agency and every agency below it.
        let agency_id: Option<AgencyId> = convert::optional_id("agency_id", r.agency_id).map_err(status)?;
        let agencies = authz::supervised_agencies(self.publicity.recorder().registry(), &who, agency_id.as_ref())
            .await
            .map_err(status)?;
        let stats = sanxiang_publicity::statistics::statistics(&self.publicity, agencies, &r.from_date, &r.to_date)
            .await
            .map_err(status)?;
        let csv = if r.include_csv { Some(sanxiang_publicity::statistics::csv(&stats).map_err(status)?) } else { None };
        Ok(Response::new(convert::statistics_to_pb(stats, csv)))
    }
}
