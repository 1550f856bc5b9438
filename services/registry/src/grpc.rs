//! The edge between use cases and gRPC: the one mapping of errors to status codes, and the
//! caller of a request.

use sanxiang_domain::Error;
use tonic::{Code, Request, Status};

use crate::auth::Principal;

/// Maps a use-case error to a gRPC status. Exhaustive on purpose: a new category must choose its
/// code here.
pub fn status(err: Error) -> Status {
    let code = match &err {
        Error::InvalidArgument { .. } => Code::InvalidArgument,
        Error::FailedPrecondition { .. } => Code::FailedPrecondition,
        Error::PermissionDenied(_) => Code::PermissionDenied,
        Error::Unauthenticated(_) => Code::Unauthenticated,
        Error::NotFound { .. } => Code::NotFound,
        Error::AlreadyExists(_) => Code::AlreadyExists,
        Error::Unavailable(_) => Code::Unavailable,
        Error::ResourceExhausted(_) => Code::ResourceExhausted,
        Error::DataLoss(_) => Code::DataLoss,
        Error::Internal(_) => Code::Internal,
    };
    let message = match &err {
        // Internal details are logged where they arise, never sent.
        Error::Internal(_) => "internal error".to_owned(),
        other => other.to_string(),
    };
    Status::new(code, message)
}

/// Digest of an idempotent write's request as received, stored with the write: a retry with the
/// same request id must be the same request (`sanxiang_domain::error::same_request`).
pub fn request_digest(request: &impl sanxiang_proto::Message) -> String {
    sanxiang_domain::error::request_digest(&request.encode_to_vec())
}

/// The authenticated caller, put into the request by the server's authentication layer.
pub fn caller<T>(req: &Request<T>) -> Result<Principal, Status> {
    req.extensions()
        .get::<Principal>()
        .cloned()
        .ok_or_else(|| Status::unauthenticated("missing bearer token (authorization: Bearer <token>)"))
}

/// A `google.protobuf.Timestamp` from a domain timestamp.
pub fn timestamp(t: sanxiang_domain::Timestamp) -> prost_types_ts::Timestamp {
    let (seconds, nanos) = t.to_parts();
    prost_types_ts::Timestamp { seconds, nanos }
}

/// A domain timestamp from an optional `google.protobuf.Timestamp`; `field` names it in errors.
pub fn from_timestamp(
    field: &str,
    t: Option<&prost_types_ts::Timestamp>,
) -> Result<Option<sanxiang_domain::Timestamp>, Error> {
    match t {
        None => Ok(None),
        Some(t) => sanxiang_domain::Timestamp::from_parts(t.seconds, t.nanos)
            .map(Some)
            .ok_or_else(|| Error::invalid(field, "not a valid timestamp")),
    }
}

/// Re-export of the timestamp type used by the generated code.
pub mod prost_types_ts {
    pub use prost_types::Timestamp;
}
