//! `RegistryService` over gRPC: decode, authorise, call the use case, encode.

use sanxiang_domain::Error;
use sanxiang_domain::id::{AgencyId, OfficerId, PrincipalId};
use sanxiang_domain::officer::OfficerStatus;
use sanxiang_proto::v1 as pb;
use sanxiang_proto::v1::registry_service_server::RegistryService;
use tonic::{Request, Response, Status};

use crate::convert::{
    self, agency_to_pb, event_kind_from_pb, from_timestamp, micros, officer_to_pb, principal_to_pb, request_digest,
    role_from_pb,
};
use crate::status::{caller, status};
use sanxiang_registry::auth::{Action, authorize};
use sanxiang_registry::registry::{CertificateFilter, NewAgency, NewCertificateEvent, NewOfficer, PowerItem, Registry};

/// The gRPC face of the [`Registry`].
#[derive(Debug, Clone)]
pub struct RegistryApi {
    registry: Registry,
    /// Where `ListCertificates` finds the upheld complaints against officers (RULES T6, C4).
    complaints: Option<sanxiang_complaints::Complaints>,
}

impl RegistryApi {
    /// Serves `registry`.
    pub fn new(registry: Registry) -> Self {
        Self { registry, complaints: None }
    }

    /// The same, counting upheld complaints in `ListCertificates` from `complaints`.
    pub fn with_complaints(self, complaints: sanxiang_complaints::Complaints) -> Self {
        Self { complaints: Some(complaints), ..self }
    }
}

type R<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl RegistryService for RegistryApi {
    #[tracing::instrument(skip_all)]
    async fn create_agency(&self, req: Request<pb::CreateAgencyRequest>) -> R<pb::CreateAgencyResponse> {
        let who = caller(&req)?;
        authorize(&who, Action::AdministerRegistry, None).map_err(status)?;
        let r = req.into_inner();
        let request_digest = request_digest(&r);
        let mut kinds = Vec::new();
        for (i, k) in r.recording_policy.unwrap_or_default().additional_required_kinds.iter().enumerate() {
            kinds.push(event_kind_from_pb(*k).ok_or_else(|| {
                status(Error::invalid(format!("recording_policy.additional_required_kinds[{i}]"), "unknown kind"))
            })?);
        }
        let input = NewAgency {
            request_digest,
            request_id: r.request_id,
            name: r.name,
            credit_code: r.credit_code,
            region: r.region,
            // May be empty (no parent); the registry checks its shape and that it exists.
            parent_id: AgencyId::from(r.parent_id),
            powers: r
                .powers
                .into_iter()
                .map(|p| PowerItem { name: p.name, category: p.category, legal_basis: p.legal_basis })
                .collect(),
            time_zone: r.time_zone,
            additional_recording_kinds: kinds,
            upload_window_hours: r.upload_window_hours,
            kind: convert::agency_kind_from_pb(r.kind).map_err(status)?,
            government_id: AgencyId::from(r.government_id),
        };
        let a = self.registry.create_agency(input).await.map_err(status)?;
        Ok(Response::new(pb::CreateAgencyResponse { agency: Some(agency_to_pb(a).map_err(status)?) }))
    }

    #[tracing::instrument(skip_all)]
    async fn set_agency_kind(&self, req: Request<pb::SetAgencyKindRequest>) -> R<pb::SetAgencyKindResponse> {
        let who = caller(&req)?;
        authorize(&who, Action::AdministerRegistry, None).map_err(status)?;
        let r = req.into_inner();
        let id: AgencyId = convert::id("agency_id", r.agency_id).map_err(status)?;
        let kind = convert::agency_kind_from_pb(r.kind).map_err(status)?;
        let a = self.registry.set_agency_kind(&id, kind, &AgencyId::from(r.government_id)).await.map_err(status)?;
        Ok(Response::new(pb::SetAgencyKindResponse { agency: Some(agency_to_pb(a).map_err(status)?) }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_agency(&self, req: Request<pb::GetAgencyRequest>) -> R<pb::GetAgencyResponse> {
        let who = caller(&req)?;
        let id: AgencyId = convert::id("agency_id", req.into_inner().agency_id).map_err(status)?;
        let scope = self.registry.scope(&id).await.map_err(status)?;
        authorize(&who, Action::ReadRegistry, Some(&scope)).map_err(status)?;
        Ok(Response::new(pb::GetAgencyResponse {
            agency: Some(agency_to_pb(self.registry.agency(&id).await.map_err(status)?).map_err(status)?),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_agencies(&self, req: Request<pb::ListAgenciesRequest>) -> R<pb::ListAgenciesResponse> {
        let who = caller(&req)?;
        let mut agencies = Vec::new();
        for a in self.registry.agencies().await.map_err(status)? {
            let scope = self.registry.scope(&a.id).await.map_err(status)?;
            if authorize(&who, Action::ReadRegistry, Some(&scope)).is_ok() {
                agencies.push(agency_to_pb(a).map_err(status)?);
            }
        }
        Ok(Response::new(pb::ListAgenciesResponse { agencies }))
    }

    #[tracing::instrument(skip_all)]
    async fn register_officer(&self, req: Request<pb::RegisterOfficerRequest>) -> R<pb::RegisterOfficerResponse> {
        let who = caller(&req)?;
        authorize(&who, Action::AdministerRegistry, None).map_err(status)?;
        let r = req.into_inner();
        let o = self
            .registry
            .register_officer(NewOfficer {
                request_digest: request_digest(&r),
                request_id: r.request_id,
                agency_id: convert::id("agency_id", r.agency_id).map_err(status)?,
                name: r.name,
                certificate_number: r.certificate_number,
                category: r.category,
                valid_from: r.valid_from,
                valid_until: r.valid_until,
                legal_qualification: r.legal_qualification,
                has_prior_review_experience: r.has_prior_review_experience,
                certificate_kind: convert::certificate_kind_from_pb(r.certificate_kind).map_err(status)?,
                issuer: r.issuer,
                auxiliary: r.auxiliary,
                eligibility_pending: r.eligibility_pending,
                reviewed_on: r.reviewed_on,
                area: r.area,
            })
            .await
            .map_err(status)?;
        Ok(Response::new(pb::RegisterOfficerResponse { officer: Some(officer_to_pb(o).map_err(status)?) }))
    }

    #[tracing::instrument(skip_all)]
    async fn set_officer_status(&self, req: Request<pb::SetOfficerStatusRequest>) -> R<pb::SetOfficerStatusResponse> {
        let who = caller(&req)?;
        authorize(&who, Action::AdministerRegistry, None).map_err(status)?;
        let r = req.into_inner();
        let new_status = match pb::OfficerStatus::try_from(r.status) {
            Ok(pb::OfficerStatus::Active) => OfficerStatus::Active,
            Ok(pb::OfficerStatus::Suspended) => OfficerStatus::Suspended,
            Ok(pb::OfficerStatus::Revoked) => OfficerStatus::Revoked,
            _ => return Err(status(Error::invalid("status", "must be active, suspended or revoked"))),
        };
        let effective = from_timestamp("effective_at", r.effective_at.as_ref()).map_err(status)?;
        let o = self
            .registry
            .set_officer_status(
                &convert::id("officer_id", r.officer_id.clone()).map_err(status)?,
                new_status,
                &r.reason,
                effective,
                &who,
            )
            .await
            .map_err(status)?;
        Ok(Response::new(pb::SetOfficerStatusResponse { officer: Some(officer_to_pb(o).map_err(status)?) }))
    }

    #[tracing::instrument(skip_all)]
    async fn set_officer_review_experience(
        &self,
        req: Request<pb::SetOfficerReviewExperienceRequest>,
    ) -> R<pb::SetOfficerReviewExperienceResponse> {
        let who = caller(&req)?;
        authorize(&who, Action::AdministerRegistry, None).map_err(status)?;
        let r = req.into_inner();
        let o = self
            .registry
            .set_review_experience(&OfficerId::from(r.officer_id), r.has_prior_review_experience)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::SetOfficerReviewExperienceResponse { officer: Some(officer_to_pb(o).map_err(status)?) }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_officers(&self, req: Request<pb::ListOfficersRequest>) -> R<pb::ListOfficersResponse> {
        let who = caller(&req)?;
        let id: AgencyId = convert::id("agency_id", req.into_inner().agency_id).map_err(status)?;
        let scope = self.registry.scope(&id).await.map_err(status)?;
        authorize(&who, Action::ReadRegistry, Some(&scope)).map_err(status)?;
        let officers = self.registry.officers(&id).await.map_err(status)?;
        Ok(Response::new(pb::ListOfficersResponse {
            officers: officers.into_iter().map(officer_to_pb).collect::<Result<_, _>>().map_err(status)?,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn record_certificate_event(
        &self,
        req: Request<pb::RecordCertificateEventRequest>,
    ) -> R<pb::RecordCertificateEventResponse> {
        let who = caller(&req)?;
        authorize(&who, Action::AdministerRegistry, None).map_err(status)?;
        let r = req.into_inner();
        let (_, view) = self
            .registry
            .record_certificate_event(
                NewCertificateEvent {
                    officer_id: convert::id("officer_id", r.officer_id).map_err(status)?,
                    kind: convert::certificate_event_kind_from_pb(r.kind).map_err(status)?,
                    effective_on: r.effective_on,
                    training_hours: r.training_hours,
                    reason: r.reason,
                    certificate_number: r.certificate_number,
                    valid_from: r.valid_from,
                    valid_until: r.valid_until,
                },
                &who,
            )
            .await
            .map_err(status)?;
        Ok(Response::new(pb::RecordCertificateEventResponse {
            certificate: Some(convert::certificate_to_pb(view).map_err(status)?),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_certificates(&self, req: Request<pb::ListCertificatesRequest>) -> R<pb::ListCertificatesResponse> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let agency_id: Option<AgencyId> = match r.agency_id.as_str() {
            "" => None,
            _ => Some(convert::id("agency_id", r.agency_id).map_err(status)?),
        };
        let filter = match pb::CertificateFilter::try_from(r.filter) {
            Ok(pb::CertificateFilter::Unspecified) => CertificateFilter::All,
            Ok(pb::CertificateFilter::ReviewDue) => CertificateFilter::ReviewDue,
            Ok(pb::CertificateFilter::ReviewOverdue) => CertificateFilter::ReviewOverdue,
            Ok(pb::CertificateFilter::Suspended) => CertificateFilter::Suspended,
            Ok(pb::CertificateFilter::Expiring) => CertificateFilter::Expiring,
            Err(_) => return Err(status(Error::invalid("filter", "unknown filter"))),
        };
        let agencies =
            crate::authz::supervised_agencies(&self.registry, &who, agency_id.as_ref()).await.map_err(status)?;
        let mut zones = std::collections::HashMap::new();
        for a in &agencies {
            zones.insert(a.id.clone(), sanxiang_domain::officer::stored_zone(&a.time_zone).map_err(status)?);
        }
        let ids: Vec<AgencyId> = agencies.into_iter().map(|a| a.id).collect();
        let views = self.registry.list_certificates(&ids, filter).await.map_err(status)?;
        // Upheld complaints against each officer since the last passed review: an item of the
        // next review (RULES T6, C4).
        let upheld = match &self.complaints {
            Some(c) => {
                let officers: Vec<OfficerId> = views.iter().map(|v| v.officer.id.clone()).collect();
                c.upheld_concerning(&ids, &officers).await.map_err(status)?
            }
            None => Default::default(),
        };
        let mut certificates = Vec::with_capacity(views.len());
        for v in views {
            let since = v.last_review;
            let count = match zones.get(&v.officer.agency_id) {
                Some(tz) => upheld.get(&v.officer.id).map_or(0, |at| {
                    at.iter().filter(|t| t.to_datetime().with_timezone(tz).date_naive() > since).count()
                }),
                None => 0,
            };
            let mut c = convert::certificate_to_pb(v).map_err(status)?;
            c.upheld_complaints = u32::try_from(count).unwrap_or(u32::MAX);
            certificates.push(c);
        }
        Ok(Response::new(pb::ListCertificatesResponse { certificates }))
    }

    #[tracing::instrument(skip_all)]
    async fn create_principal(&self, req: Request<pb::CreatePrincipalRequest>) -> R<pb::CreatePrincipalResponse> {
        let who = caller(&req)?;
        authorize(&who, Action::AdministerRegistry, None).map_err(status)?;
        let r = req.into_inner();
        let role = role_from_pb(r.role).ok_or_else(|| status(Error::invalid("role", "unknown role")))?;
        let p = self
            .registry
            .create_principal(
                (&r.request_id, &request_digest(&r)),
                &r.name,
                role,
                // Either may be empty; the registry checks shapes and which the role needs.
                &AgencyId::from(r.agency_id.as_str()),
                &OfficerId::from(r.officer_id.as_str()),
            )
            .await
            .map_err(status)?;
        Ok(Response::new(pb::CreatePrincipalResponse { principal: Some(principal_to_pb(p).map_err(status)?) }))
    }

    #[tracing::instrument(skip_all)]
    async fn issue_token(&self, req: Request<pb::IssueTokenRequest>) -> R<pb::IssueTokenResponse> {
        let who = caller(&req)?;
        authorize(&who, Action::AdministerRegistry, None).map_err(status)?;
        let r = req.into_inner();
        let principal_id: PrincipalId = convert::id("principal_id", r.principal_id).map_err(status)?;
        let (token_id, token) = self.registry.issue_token(&principal_id, &r.label).await.map_err(status)?;
        Ok(Response::new(pb::IssueTokenResponse { token_id, token }))
    }

    #[tracing::instrument(skip_all)]
    async fn revoke_token(&self, req: Request<pb::RevokeTokenRequest>) -> R<pb::RevokeTokenResponse> {
        let who = caller(&req)?;
        authorize(&who, Action::AdministerRegistry, None).map_err(status)?;
        self.registry.revoke_token(&req.into_inner().token_id).await.map_err(status)?;
        Ok(Response::new(pb::RevokeTokenResponse {}))
    }

    #[tracing::instrument(skip_all)]
    async fn who_am_i(&self, req: Request<pb::WhoAmIRequest>) -> R<pb::WhoAmIResponse> {
        let who = caller(&req)?;
        Ok(Response::new(pb::WhoAmIResponse {
            principal: Some(principal_to_pb(self.registry.principal(&who.id).await.map_err(status)?).map_err(status)?),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn put_catalog(&self, req: Request<pb::PutCatalogRequest>) -> R<pb::PutCatalogResponse> {
        let who = caller(&req)?;
        authorize(&who, Action::AdministerRegistry, None).map_err(status)?;
        let r = req.into_inner();
        let agency_id: AgencyId = convert::id("agency_id", r.agency_id).map_err(status)?;
        self.registry.put_catalog(&agency_id, &r.catalog_toml, &who).await.map_err(status)?;
        Ok(Response::new(pb::PutCatalogResponse { catalog: Some(self.catalog(&agency_id).await?) }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_catalog(&self, req: Request<pb::GetCatalogRequest>) -> R<pb::GetCatalogResponse> {
        let who = caller(&req)?;
        let id: AgencyId = convert::id("agency_id", req.into_inner().agency_id).map_err(status)?;
        let scope = self.registry.scope(&id).await.map_err(status)?;
        authorize(&who, Action::ReadRegistry, Some(&scope)).map_err(status)?;
        Ok(Response::new(pb::GetCatalogResponse { catalog: Some(self.catalog(&id).await?) }))
    }

    #[tracing::instrument(skip_all)]
    async fn put_calendar_year(&self, req: Request<pb::PutCalendarYearRequest>) -> R<pb::PutCalendarYearResponse> {
        let who = caller(&req)?;
        authorize(&who, Action::AdministerRegistry, None).map_err(status)?;
        let r = req.into_inner();
        let (schedule, replaced) = self.registry.put_calendar_year(&r.schedule_toml, &who).await.map_err(status)?;
        Ok(Response::new(pb::PutCalendarYearResponse {
            year: schedule.year(),
            schedule_toml: schedule.to_toml(),
            replaced,
        }))
    }
}

impl RegistryApi {
    async fn catalog(&self, agency_id: &AgencyId) -> Result<pb::Catalog, Status> {
        let (catalog, row) = self.registry.catalog(agency_id).await.map_err(status)?;
        Ok(pb::Catalog {
            agency_id: agency_id.to_string(),
            catalog_json: serde_json::to_string(&catalog).map_err(|e| status(Error::Internal(e.to_string())))?,
            configured: row.is_some(),
            updated_at: row.map(|r| micros(r.updated_at)),
        })
    }
}
