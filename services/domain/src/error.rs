//! The error every use case returns. Each variant is one public category; the server maps each to
//! exactly one gRPC status code with an exhaustive match.

/// A use-case failure, worded for the client: it names the field or rule and never leaks internals.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The request itself is malformed; `field` names the offending request field.
    #[error("invalid {field}: {message}")]
    InvalidArgument { field: String, message: String },
    /// The request is well-formed but a legal or lifecycle rule forbids it now; `rule` names it.
    #[error("{rule}: {message}")]
    FailedPrecondition { rule: String, message: String },
    /// The caller is authenticated but may not do this.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// No valid credentials were presented.
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// The named thing does not exist (or is outside the caller's scope).
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    /// A create conflicted with an existing, different record.
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// A limit on what one client or everyone may hold at once is reached (e.g. open streams);
    /// retrying later may succeed. The message says when.
    #[error("resource exhausted: {0}")]
    ResourceExhausted(String),
    /// A backing service (database, object store) is unreachable; retrying later may succeed.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Stored data failed an integrity check.
    #[error("data loss: {0}")]
    DataLoss(String),
    /// A bug or an unexpected backend answer; details are logged, not returned.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Result of a use case.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A malformed request field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidArgument { field: field.into(), message: message.into() }
    }

    /// A rule that forbids the request in the current state.
    pub fn precondition(rule: impl Into<String>, message: impl Into<String>) -> Self {
        Self::FailedPrecondition { rule: rule.into(), message: message.into() }
    }

    /// Something that does not exist.
    pub fn not_found(what: &'static str, id: impl Into<String>) -> Self {
        // The id is the client's: echoed cut short, so an oversized one never bloats the reply.
        Self::NotFound { what, id: clip(&id.into()) }
    }
}

/// Longest client-chosen request id.
pub const MAX_REQUEST_ID: usize = 128;

/// A client-chosen request id that makes a write idempotent: trimmed, 1 to
/// [`MAX_REQUEST_ID`] bytes, else `INVALID_ARGUMENT request_id`.
pub fn request_id(value: &str) -> Result<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(Error::invalid("request_id", "must not be empty"));
    }
    if v.len() > MAX_REQUEST_ID {
        return Err(Error::invalid("request_id", format!("at most {MAX_REQUEST_ID} characters")));
    }
    Ok(v.to_owned())
}

/// Digest of an idempotent write's request as received (its encoding, request id included): what
/// is stored with the write so that a retry can be told from a different request.
pub fn request_digest(encoded: &[u8]) -> String {
    crate::digest::Sha256Digest::of(encoded).to_hex()
}

/// Checks a retried idempotent write against the stored one: the same request id with a different
/// request is `FAILED_PRECONDITION idempotency`. A write stored without a digest (before digests
/// were kept) is taken as the same request.
pub fn same_request(request_id: &str, stored: Option<&str>, retried: &str) -> Result<()> {
    match stored {
        Some(stored) if stored != retried => Err(Error::precondition(
            "idempotency",
            format!("request_id {} was already used for a different request", clip(request_id)),
        )),
        _ => Ok(()),
    }
}

/// Longest part of a client's value echoed back in an error message.
pub const MAX_ECHO: usize = 64;

/// A client's value cut to at most [`MAX_ECHO`] characters for an error message, so that an
/// oversized value never makes the reply itself too large.
pub fn clip(value: &str) -> String {
    match value.char_indices().nth(MAX_ECHO) {
        None => value.to_owned(),
        Some((end, _)) => format!("{}…", &value[..end]),
    }
}
