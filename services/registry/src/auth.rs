//! Authentication (bearer token → principal) and authorisation (the one policy, by role and
//! agency scope).

use sanxiang_domain::id::{AgencyId, OfficerId, PrincipalId};
use sanxiang_domain::{Error, Result};

/// A role a principal holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Operates the registry: agencies, officers, principals, tokens.
    Admin,
    /// An enforcement officer acting for one agency.
    Officer,
    /// A legal reviewer (法制审核人员) of an agency and the agencies it oversees.
    Reviewer,
    /// Agency leadership.
    Head,
    /// Publishes disclosures for one agency.
    Publisher,
    /// Supervision (执法监督): reads across the agencies it oversees.
    Supervisor,
}

impl Role {
    /// All roles.
    pub const ALL: [Self; 6] =
        [Self::Admin, Self::Officer, Self::Reviewer, Self::Head, Self::Publisher, Self::Supervisor];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Officer => "officer",
            Self::Reviewer => "reviewer",
            Self::Head => "head",
            Self::Publisher => "publisher",
            Self::Supervisor => "supervisor",
        }
    }

    /// Parses [`Self::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub id: PrincipalId,
    pub name: String,
    pub role: Role,
    /// The agency acted for; `None` for administrators.
    pub agency_id: Option<AgencyId>,
    /// For officers: the officer this principal is.
    pub officer_id: Option<OfficerId>,
    /// Why the officer this principal is bound to may not act at the time of the request
    /// (suspended, revoked, certificate not valid: RULES G2); `None` if it may, or if the
    /// principal is bound to no officer. Such a principal is refused every action.
    pub officer_unable: Option<String>,
    /// The directory's change counter when the request was authenticated: the officers the
    /// request names are judged as of the same moment (`Registry::certificates_for`).
    pub directory_version: crate::directory::Version,
    /// The hash of the bearer token the request presented, to judge the caller again when the
    /// writer finds the directory changed meanwhile (`Registry::reauthenticate`); `None` for a
    /// principal not authenticated by a token.
    pub token: Option<TokenHash>,
}

/// The SHA-256 of a bearer token, as stored. Its `Debug` form hides it: it identifies a
/// credential and has no place in a log.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenHash(pub(crate) String);

impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenHash(…)")
    }
}

/// Rule refusing a principal whose officer may not act now (RULES G2).
pub const OFFICER_ABLE: &str = "G2.officer-able";

/// What a request wants to do. Every RPC maps to exactly one action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Create or change agencies, officers, principals and tokens.
    AdministerRegistry,
    /// Read an agency's registry entries (agency, officers).
    ReadRegistry,
    /// Open cases, append events, upload evidence.
    WriteRecord,
    /// Read cases, events and evidence metadata; verify and export.
    ReadRecord,
    /// Retrieve evidence content (logged in the case record).
    RetrieveEvidence,
    /// Give a legal-review opinion on a draft (法制审核, RULES L4, L5).
    ReviewDraft,
    /// See the review queue of an agency (reviewers) or its overdue reviews (supervisors).
    ReadReviewQueue,
    /// Issue or revise a decision, record a collective discussion (agency leadership).
    Decide,
    /// Publish, withdraw, correct or end the publication of an agency's disclosures.
    Publish,
    /// Set an agency's notices before enforcement and its publicity policy.
    ConfigurePublicity,
    /// See what is overdue, missing or refused in an agency (执法监督, RULES S1).
    Supervise,
    /// File the agency's decisions with the supervision office and respond to its review
    /// (备案, RULES F3, F7): the agency's leadership or its legal office.
    FileDecision,
    /// Review filings made with an agency above the filing one (备案审查, RULES F6, F7): the
    /// receiving body's legal office or supervision office.
    ReviewFiling,
    /// Record a complaint or report received by staff (投诉举报, RULES T2).
    RecordComplaint,
    /// Handle complaints: record their steps and see reporters' identities, each access logged
    /// (the legal office and the supervision office, RULES T1, T5).
    HandleComplaints,
    /// Read complaints with the reporter masked (RULES T5).
    ReadComplaints,
    /// Set an agency's complaint periods (RULES T3, T4, T6).
    ConfigureComplaints,
    /// Approve and carry out the destruction of evidence past its retention (销毁, RULES K5): the
    /// agency head, who approves the destruction list.
    DestroyEvidence,
    /// Answer a conduct complaint's recommendation to revoke or change a decision by keeping the
    /// decision (the `decision_kept` step, RULES T6): the deciding agency's head, who made the
    /// decision (the same leadership that alone issues and revises decisions), never the offices
    /// that handled the complaint.
    KeepDecision,
}

impl Action {
    /// What the action is, in the words of the API's documentation (docs/API.md, the roles
    /// table), for refusals: never the Rust name.
    pub fn words(self) -> &'static str {
        match self {
            Self::AdministerRegistry => "create or change agencies, officers, principals and tokens",
            Self::ReadRegistry => "read the registry (agencies and officers)",
            Self::WriteRecord => "open cases, append events or upload evidence",
            Self::ReadRecord => "read cases, events and evidence",
            Self::RetrieveEvidence => "retrieve evidence",
            Self::ReviewDraft => "give review opinions",
            Self::ReadReviewQueue => "see the review queue",
            Self::Decide => "issue or revise decisions or record collective discussions",
            Self::Publish => "publish, withdraw, correct or end disclosures",
            Self::ConfigurePublicity => "set notices or the publicity policy",
            Self::Supervise => "see what is overdue (supervision)",
            Self::FileDecision => "file decisions or respond to filing reviews",
            Self::ReviewFiling => "review filings",
            Self::RecordComplaint => "record complaints",
            Self::HandleComplaints => "handle complaints or see reporters",
            Self::ReadComplaints => "read complaints",
            Self::ConfigureComplaints => "set the complaint periods",
            Self::DestroyEvidence => "approve the destruction of evidence (销毁)",
            Self::KeepDecision => "keep a decision a complaint recommended revoking or changing",
        }
    }
}

/// The agency a request touches, with the chain of agencies that oversee it (nearest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub agency_id: AgencyId,
    pub overseers: Vec<AgencyId>,
}

impl Scope {
    fn is_agency(&self, agency: Option<&str>) -> bool {
        agency == Some(self.agency_id.as_str())
    }

    fn is_agency_or_overseer(&self, agency: Option<&str>) -> bool {
        self.is_agency(agency) || self.is_overseer(agency)
    }

    fn is_overseer(&self, agency: Option<&str>) -> bool {
        agency.is_some_and(|a| self.overseers.iter().any(|o| o == a))
    }
}

/// The authorisation policy: may `principal` perform `action` in `scope`? This is the only
/// place that decides; handlers call it for every RPC. The match is exhaustive on purpose:
/// a new role or action must be decided here explicitly.
pub fn authorize(principal: &Principal, action: Action, scope: Option<&Scope>) -> Result<()> {
    // A device acts for its officer: while the officer may not act, it may do nothing, not even
    // read the agency's cases or retrieve evidence (docs/API.md, "Authorisation").
    if let Some(why) = &principal.officer_unable {
        return Err(Error::PermissionDenied(format!("{OFFICER_ABLE}: this principal's officer may not act: {why}")));
    }
    let agency = principal.agency_id.as_deref();
    let allowed = match (principal.role, action) {
        (Role::Admin, Action::AdministerRegistry | Action::ReadRegistry | Action::ReadRecord) => true,
        // Administrators run the registry; they do not act in, or retrieve evidence from, cases.
        (Role::Admin, Action::WriteRecord | Action::RetrieveEvidence) => false,
        (_, Action::AdministerRegistry) => false,
        (Role::Officer | Role::Head, Action::WriteRecord) => scope.is_some_and(|s| s.is_agency(agency)),
        (Role::Reviewer | Role::Publisher | Role::Supervisor, Action::WriteRecord) => false,
        (Role::Officer | Role::Head | Role::Publisher, Action::ReadRegistry | Action::ReadRecord) => {
            scope.is_some_and(|s| s.is_agency(agency))
        }
        (Role::Officer | Role::Head, Action::RetrieveEvidence) => scope.is_some_and(|s| s.is_agency(agency)),
        // Publishers see decisions, not raw recordings.
        (Role::Publisher, Action::RetrieveEvidence) => false,
        (Role::Reviewer | Role::Supervisor, Action::ReadRegistry | Action::ReadRecord | Action::RetrieveEvidence) => {
            scope.is_some_and(|s| s.is_agency_or_overseer(agency))
        }
        // The reviewer role is separate from enforcement (RULES G4, L6): only reviewers review,
        // in their agency or one they oversee; whether this reviewer is a handling officer of
        // the case is a rule checked with the case (L6.reviewer-not-handling-officer).
        (Role::Reviewer, Action::ReviewDraft) => scope.is_some_and(|s| s.is_agency_or_overseer(agency)),
        (Role::Admin | Role::Officer | Role::Head | Role::Publisher | Role::Supervisor, Action::ReviewDraft) => false,
        (Role::Reviewer | Role::Supervisor, Action::ReadReviewQueue) => {
            scope.is_some_and(|s| s.is_agency_or_overseer(agency))
        }
        (Role::Admin | Role::Officer | Role::Head | Role::Publisher, Action::ReadReviewQueue) => false,
        // Decisions are made by the agency's leadership (负责人), not by handling officers.
        (Role::Head, Action::Decide) => scope.is_some_and(|s| s.is_agency(agency)),
        (Role::Admin | Role::Officer | Role::Reviewer | Role::Publisher | Role::Supervisor, Action::Decide) => false,
        // Publication is the publisher's job; the leadership may do it too.
        (Role::Publisher | Role::Head, Action::Publish | Action::ConfigurePublicity) => {
            scope.is_some_and(|s| s.is_agency(agency))
        }
        (Role::Admin, Action::ConfigurePublicity) => true,
        (Role::Admin | Role::Officer | Role::Reviewer | Role::Supervisor, Action::Publish) => false,
        (Role::Officer | Role::Reviewer | Role::Supervisor, Action::ConfigurePublicity) => false,
        (Role::Supervisor, Action::Supervise) => scope.is_some_and(|s| s.is_agency_or_overseer(agency)),
        (Role::Admin, Action::Supervise) => true,
        (Role::Officer | Role::Reviewer | Role::Head | Role::Publisher, Action::Supervise) => false,
        // The deciding agency files, through its leadership or legal office (RULES F3).
        (Role::Head | Role::Reviewer, Action::FileDecision) => scope.is_some_and(|s| s.is_agency(agency)),
        (Role::Admin | Role::Officer | Role::Publisher | Role::Supervisor, Action::FileDecision) => false,
        // A filing is reviewed above the agency that filed it, never by that agency itself; the
        // handler also checks that the caller's agency is one the filing was routed to.
        (Role::Reviewer | Role::Supervisor, Action::ReviewFiling) => scope.is_some_and(|s| s.is_overseer(agency)),
        (Role::Admin | Role::Officer | Role::Head | Role::Publisher, Action::ReviewFiling) => false,
        // Whoever receives a complaint in the agency writes it down (RULES T2).
        (Role::Officer | Role::Head, Action::RecordComplaint) => scope.is_some_and(|s| s.is_agency(agency)),
        (Role::Reviewer | Role::Supervisor, Action::RecordComplaint) => {
            scope.is_some_and(|s| s.is_agency_or_overseer(agency))
        }
        (Role::Admin | Role::Publisher, Action::RecordComplaint) => false,
        // Complaints are handled by the legal office and the supervision office (RULES T1): not
        // by enforcement staff, who may be the reported party (T5).
        (Role::Reviewer | Role::Supervisor, Action::HandleComplaints | Action::ReadComplaints) => {
            scope.is_some_and(|s| s.is_agency_or_overseer(agency))
        }
        (Role::Admin | Role::Officer | Role::Head | Role::Publisher, Action::HandleComplaints) => false,
        // The agency's leadership follows its complaints, the reporter masked.
        (Role::Head, Action::ReadComplaints) => scope.is_some_and(|s| s.is_agency(agency)),
        (Role::Admin, Action::ReadComplaints) => true,
        (Role::Officer | Role::Publisher, Action::ReadComplaints) => false,
        (Role::Admin, Action::ConfigureComplaints) => true,
        (Role::Head, Action::ConfigureComplaints) => scope.is_some_and(|s| s.is_agency(agency)),
        (Role::Officer | Role::Reviewer | Role::Publisher | Role::Supervisor, Action::ConfigureComplaints) => false,
        // The agency head approves the destruction list (RULES K5); nobody else destroys.
        (Role::Head, Action::DestroyEvidence) => scope.is_some_and(|s| s.is_agency(agency)),
        (
            Role::Admin | Role::Officer | Role::Reviewer | Role::Publisher | Role::Supervisor,
            Action::DestroyEvidence,
        ) => false,
        // Whether a decision stands against a complaint's recommendation is the deciding
        // agency's leadership's call (RULES T6), like issuing or revising it.
        (Role::Head, Action::KeepDecision) => scope.is_some_and(|s| s.is_agency(agency)),
        (Role::Admin | Role::Officer | Role::Reviewer | Role::Publisher | Role::Supervisor, Action::KeepDecision) => {
            false
        }
    };
    if allowed {
        Ok(())
    } else {
        Err(Error::PermissionDenied(match scope {
            Some(s) => {
                format!("the {} role may not {} in agency {}", principal.role.as_str(), action.words(), s.agency_id)
            }
            None => format!("the {} role may not {}", principal.role.as_str(), action.words()),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(role: Role, agency: Option<&str>) -> Principal {
        Principal {
            id: "p".into(),
            name: "p".into(),
            role,
            agency_id: agency.map(Into::into),
            officer_id: None,
            officer_unable: None,
            directory_version: 0,
            token: None,
        }
    }

    fn scope(agency: &str, overseers: &[&str]) -> Scope {
        Scope { agency_id: agency.into(), overseers: overseers.iter().map(|s| (*s).into()).collect() }
    }

    #[test]
    fn officers_act_only_in_their_agency() {
        let officer = p(Role::Officer, Some("a"));
        assert!(authorize(&officer, Action::WriteRecord, Some(&scope("a", &["city"]))).is_ok());
        assert!(authorize(&officer, Action::WriteRecord, Some(&scope("b", &["city"]))).is_err());
        assert!(authorize(&officer, Action::ReadRecord, Some(&scope("b", &[]))).is_err());
        assert!(authorize(&officer, Action::AdministerRegistry, None).is_err());
    }

    #[test]
    fn supervisors_read_what_they_oversee_and_write_nothing() {
        let sup = p(Role::Supervisor, Some("city"));
        assert!(authorize(&sup, Action::ReadRecord, Some(&scope("a", &["city"]))).is_ok());
        assert!(authorize(&sup, Action::ReadRecord, Some(&scope("b", &["province"]))).is_err());
        assert!(authorize(&sup, Action::WriteRecord, Some(&scope("city", &[]))).is_err());
    }

    #[test]
    fn reviewers_review_heads_decide() {
        let reviewer = p(Role::Reviewer, Some("city"));
        assert!(authorize(&reviewer, Action::ReviewDraft, Some(&scope("a", &["city"]))).is_ok());
        assert!(authorize(&reviewer, Action::ReviewDraft, Some(&scope("b", &[]))).is_err());
        assert!(authorize(&reviewer, Action::Decide, Some(&scope("city", &[]))).is_err());
        let head = p(Role::Head, Some("a"));
        assert!(authorize(&head, Action::Decide, Some(&scope("a", &["city"]))).is_ok());
        assert!(authorize(&head, Action::ReviewDraft, Some(&scope("a", &[]))).is_err());
        assert!(authorize(&p(Role::Officer, Some("a")), Action::Decide, Some(&scope("a", &[]))).is_err());
        let sup = p(Role::Supervisor, Some("city"));
        assert!(authorize(&sup, Action::ReadReviewQueue, Some(&scope("a", &["city"]))).is_ok());
        assert!(authorize(&sup, Action::ReviewDraft, Some(&scope("a", &["city"]))).is_err());
    }

    #[test]
    fn publishers_publish_supervisors_supervise() {
        let publisher = p(Role::Publisher, Some("a"));
        assert!(authorize(&publisher, Action::Publish, Some(&scope("a", &["city"]))).is_ok());
        assert!(authorize(&publisher, Action::Publish, Some(&scope("b", &["city"]))).is_err());
        assert!(authorize(&p(Role::Officer, Some("a")), Action::Publish, Some(&scope("a", &[]))).is_err());
        assert!(authorize(&publisher, Action::Supervise, Some(&scope("a", &[]))).is_err());
        let sup = p(Role::Supervisor, Some("city"));
        assert!(authorize(&sup, Action::Supervise, Some(&scope("a", &["city"]))).is_ok());
        assert!(authorize(&sup, Action::Supervise, Some(&scope("b", &["province"]))).is_err());
        assert!(authorize(&sup, Action::Publish, Some(&scope("city", &[]))).is_err());
    }

    #[test]
    fn a_principal_whose_officer_may_not_act_may_do_nothing() {
        let mut officer = p(Role::Officer, Some("a"));
        officer.officer_unable = Some("officer is suspended".into());
        for action in [Action::WriteRecord, Action::ReadRecord, Action::RetrieveEvidence, Action::ReadRegistry] {
            let refused = authorize(&officer, action, Some(&scope("a", &[]))).unwrap_err();
            assert!(refused.to_string().contains(OFFICER_ABLE), "{refused}");
        }
    }

    #[test]
    fn refusals_read_in_the_docs_words() {
        let refused =
            authorize(&p(Role::Publisher, Some("a")), Action::WriteRecord, Some(&scope("a", &[]))).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "permission denied: the publisher role may not open cases, append events or upload evidence in agency a"
        );
        let refused = authorize(&p(Role::Officer, Some("a")), Action::AdministerRegistry, None).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "permission denied: the officer role may not create or change agencies, officers, principals and tokens"
        );
    }

    #[test]
    fn the_agency_files_and_the_level_above_reviews() {
        let s = scope("a", &["county"]);
        for role in [Role::Head, Role::Reviewer] {
            assert!(authorize(&p(role, Some("a")), Action::FileDecision, Some(&s)).is_ok());
            assert!(authorize(&p(role, Some("b")), Action::FileDecision, Some(&s)).is_err());
            assert!(authorize(&p(role, Some("county")), Action::FileDecision, Some(&s)).is_err());
        }
        assert!(authorize(&p(Role::Officer, Some("a")), Action::FileDecision, Some(&s)).is_err());
        for role in [Role::Reviewer, Role::Supervisor] {
            assert!(authorize(&p(role, Some("county")), Action::ReviewFiling, Some(&s)).is_ok());
            // Not the filing agency itself, nor an agency elsewhere.
            assert!(authorize(&p(role, Some("a")), Action::ReviewFiling, Some(&s)).is_err());
            assert!(authorize(&p(role, Some("b")), Action::ReviewFiling, Some(&s)).is_err());
        }
        assert!(authorize(&p(Role::Head, Some("county")), Action::ReviewFiling, Some(&s)).is_err());
        assert!(authorize(&p(Role::Admin, None), Action::ReviewFiling, Some(&s)).is_err());
    }

    #[test]
    fn complaints_are_handled_by_the_legal_and_supervision_offices_only() {
        let a = scope("a", &["city"]);
        for role in [Role::Reviewer, Role::Supervisor] {
            assert!(authorize(&p(role, Some("city")), Action::HandleComplaints, Some(&a)).is_ok());
        }
        for role in [Role::Officer, Role::Head, Role::Publisher, Role::Admin] {
            assert!(authorize(&p(role, Some("a")), Action::HandleComplaints, Some(&a)).is_err());
        }
        assert!(authorize(&p(Role::Officer, Some("a")), Action::RecordComplaint, Some(&a)).is_ok());
        assert!(authorize(&p(Role::Officer, Some("a")), Action::ReadComplaints, Some(&a)).is_err());
        assert!(authorize(&p(Role::Head, Some("a")), Action::ReadComplaints, Some(&a)).is_ok());
        assert!(authorize(&p(Role::Head, Some("b")), Action::ReadComplaints, Some(&a)).is_err());
    }

    #[test]
    fn only_the_deciding_agencys_head_keeps_a_decision() {
        let a = scope("a", &["city"]);
        assert!(authorize(&p(Role::Head, Some("a")), Action::KeepDecision, Some(&a)).is_ok());
        assert!(authorize(&p(Role::Head, Some("city")), Action::KeepDecision, Some(&a)).is_err());
        assert!(authorize(&p(Role::Head, Some("b")), Action::KeepDecision, Some(&a)).is_err());
        for role in [Role::Officer, Role::Reviewer, Role::Publisher, Role::Supervisor, Role::Admin] {
            for agency in ["a", "city"] {
                let refused = authorize(&p(role, Some(agency)), Action::KeepDecision, Some(&a)).unwrap_err();
                assert!(refused.to_string().contains("keep a decision"), "{refused}");
            }
        }
    }

    #[test]
    fn only_the_head_destroys_evidence_in_its_own_words() {
        let a = scope("a", &["city"]);
        assert!(authorize(&p(Role::Head, Some("a")), Action::DestroyEvidence, Some(&a)).is_ok());
        assert!(authorize(&p(Role::Head, Some("b")), Action::DestroyEvidence, Some(&a)).is_err());
        for role in [Role::Officer, Role::Reviewer, Role::Publisher, Role::Supervisor, Role::Admin] {
            assert!(authorize(&p(role, Some("a")), Action::DestroyEvidence, Some(&a)).is_err(), "{role:?}");
        }
        let refused = authorize(&p(Role::Officer, Some("a")), Action::DestroyEvidence, Some(&a)).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "permission denied: the officer role may not approve the destruction of evidence (销毁) in agency a"
        );
    }

    #[test]
    fn admins_administer_but_do_not_write_cases() {
        let admin = p(Role::Admin, None);
        assert!(authorize(&admin, Action::AdministerRegistry, None).is_ok());
        assert!(authorize(&admin, Action::WriteRecord, Some(&scope("a", &[]))).is_err());
        assert!(authorize(&admin, Action::RetrieveEvidence, Some(&scope("a", &[]))).is_err());
    }
}
