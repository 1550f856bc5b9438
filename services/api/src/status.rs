//! The one mapping of use-case errors to gRPC statuses, and the caller of a request.

use sanxiang_domain::Error;
use sanxiang_domain::time::SystemClock;
use sanxiang_registry::auth::Principal;
use tonic::{Code, Request, Status};

/// Maps a use-case error to a gRPC status. Exhaustive on purpose: a new category must choose its
/// code here. The detail of an internal error is never sent: it is logged here, under a fresh
/// reference that the answer carries, so an operator can find the log line a caller reports. A
/// DATA_LOSS error is sent (it names the row, never its content) and logged too: it means the
/// stored record is damaged.
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
        Error::Internal(detail) => {
            let reference = sanxiang_domain::id::new_id(&SystemClock);
            tracing::error!(%reference, %detail, "internal error");
            format!("internal error (reference {reference})")
        }
        Error::DataLoss(detail) => {
            tracing::error!(%detail, "stored data cannot be read");
            err.to_string()
        }
        other => other.to_string(),
    };
    Status::new(code, message)
}

/// The authenticated caller, put into the request by the server's authentication layer.
pub fn caller<T>(req: &Request<T>) -> Result<Principal, Status> {
    req.extensions()
        .get::<Principal>()
        .cloned()
        .ok_or_else(|| Status::unauthenticated("missing bearer token (authorization: Bearer <token>)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_detail_is_hidden_behind_a_reference() {
        let s = status(Error::Internal("db password=hunter2 at host x".into()));
        assert_eq!(s.code(), Code::Internal);
        assert!(!s.message().contains("hunter2"), "{}", s.message());
        assert!(s.message().starts_with("internal error (reference "), "{}", s.message());
        let other = status(Error::Internal("x".into()));
        assert_ne!(s.message(), other.message(), "each internal error gets its own reference");
    }

    #[test]
    fn every_category_has_its_code() {
        let cases = [
            (Error::invalid("f", "bad"), Code::InvalidArgument),
            (Error::precondition("R1", "no"), Code::FailedPrecondition),
            (Error::PermissionDenied("p".into()), Code::PermissionDenied),
            (Error::Unauthenticated("u".into()), Code::Unauthenticated),
            (Error::not_found("case", "c1"), Code::NotFound),
            (Error::AlreadyExists("a".into()), Code::AlreadyExists),
            (Error::Unavailable("u".into()), Code::Unavailable),
            (Error::ResourceExhausted("r".into()), Code::ResourceExhausted),
            (Error::DataLoss("cases.party of case c1 cannot be read".into()), Code::DataLoss),
        ];
        for (e, code) in cases {
            let s = status(e.clone());
            assert_eq!(s.code(), code, "{e:?}");
            assert_eq!(s.message(), e.to_string());
        }
    }
}
