//! Authorisation, in one layer: every handler decides here, before it calls a use case, whether
//! the caller may do what it asks, and hands the use case what it loaded (the case, the draft,
//! the disclosure, the agencies). The policy itself — which role may perform which action in
//! which scope — is [`sanxiang_registry::auth::authorize`]; the use cases never call it.
//!
//! Authentication happened before (the interceptor puts the [`Principal`] in the request's
//! extensions; [`crate::status::caller`] takes it out).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use sanxiang_domain::id::{AgencyId, CaseId, DisclosureId, DraftId};
use sanxiang_domain::{Error, Result};
use sanxiang_publicity::Publicity;
use sanxiang_recording::Recorder;
use sanxiang_registry::Principal;
use sanxiang_registry::Registry;
use sanxiang_registry::auth::{Action, Role, Scope, authorize};
use sanxiang_review::Reviews;
use sanxiang_store::entity::{agency, case, disclosure, draft};

/// `who` may perform `action` in agency `agency_id` (its scope: the agency and those above it).
pub async fn agency(registry: &Registry, who: &Principal, action: Action, agency_id: &AgencyId) -> Result<Scope> {
    let scope = registry.scope(agency_id).await?;
    authorize(who, action, Some(&scope))?;
    Ok(scope)
}

/// `who` may perform `action` on case `case_id`: the case.
pub async fn case(recorder: &Recorder, who: &Principal, action: Action, case_id: &CaseId) -> Result<case::Model> {
    let case = recorder.case(case_id).await?;
    agency(recorder.registry(), who, action, &case.agency_id).await?;
    Ok(case)
}

/// `who` may perform `action` on case `case_id`, judged on what never changes about the case:
/// its agency and scope (cached by the record; the append path needs nothing else).
pub async fn case_agency(
    recorder: &Recorder,
    who: &Principal,
    action: Action,
    case_id: &CaseId,
) -> Result<Arc<(agency::Model, Scope)>> {
    let known = recorder.case_agency(case_id).await?;
    authorize(who, action, Some(&known.1))?;
    Ok(known)
}

/// `who` may perform `action` on the case of draft `draft_id`: the draft and its case.
pub async fn draft(
    reviews: &Reviews,
    who: &Principal,
    action: Action,
    draft_id: &DraftId,
) -> Result<(draft::Model, case::Model)> {
    let d = reviews.draft(draft_id).await?;
    let c = case(reviews.recorder(), who, action, &d.case_id).await?;
    Ok((d, c))
}

/// `who` may perform `action` on disclosure `id` (in its agency): the disclosure.
pub async fn disclosure(
    publicity: &Publicity,
    who: &Principal,
    action: Action,
    id: &DisclosureId,
) -> Result<disclosure::Model> {
    let d = publicity.disclosure(id).await?;
    agency(publicity.recorder().registry(), who, action, &d.agency_id).await?;
    Ok(d)
}

/// Whether `who` (if anyone) is of the staff who may read disclosure `d` in full, unpublished
/// or past its publication; the public sees only what is public.
pub async fn reads_in_full(publicity: &Publicity, who: Option<&Principal>, d: &disclosure::Model) -> Result<bool> {
    let Some(who) = who else { return Ok(false) };
    let scope = publicity.recorder().registry().scope(&d.agency_id).await?;
    Ok(authorize(who, Action::ReadRecord, Some(&scope)).is_ok())
}

/// The agencies `who` may supervise that the request names: the one agency named, or with none,
/// the supervisor's own agency and every agency below it (administrators: every agency).
pub async fn supervised_agencies(
    registry: &Registry,
    who: &Principal,
    agency_id: Option<&AgencyId>,
) -> Result<Vec<agency::Model>> {
    if let Some(agency_id) = agency_id {
        agency(registry, who, Action::Supervise, agency_id).await?;
        return Ok(vec![registry.agency(agency_id).await?]);
    }
    let all = registry.agencies().await?;
    if who.role == Role::Admin {
        authorize(who, Action::Supervise, None)?;
        return Ok(all);
    }
    let own = who.agency_id.as_ref().ok_or_else(|| Error::PermissionDenied("no agency to supervise".into()))?;
    agency(registry, who, Action::Supervise, own).await?;
    // The tree below the supervisor's agency, through `parent_id`, at any depth.
    let mut children: HashMap<&AgencyId, Vec<&AgencyId>> = HashMap::new();
    for a in &all {
        if let Some(parent) = &a.parent_id {
            children.entry(parent).or_default().push(&a.id);
        }
    }
    let mut tree: HashSet<&AgencyId> = HashSet::from([own]);
    let mut frontier = vec![own];
    while let Some(next) = frontier.pop() {
        for child in children.get(next).into_iter().flatten() {
            if tree.insert(child) {
                frontier.push(child);
            }
        }
    }
    Ok(all.iter().filter(|a| tree.contains(&a.id)).cloned().collect())
}
