//! The gRPC edge of sanxiang: every service's handlers (decode, authenticate the caller, call the
//! use case, encode), the conversions between protobuf messages and domain types, and the one
//! mapping of use-case errors to gRPC statuses. Nothing below this crate sees a `pb::` type.

pub mod authn;
pub mod authz;
pub mod complaints;
pub mod convert;
pub mod filing;
pub mod log;
pub mod publicity;
pub mod record;
pub mod registry;
pub mod review;
pub mod status;

pub use complaints::ComplaintApi;
pub use filing::FilingApi;
pub use log::LogApi;
pub use publicity::{PUBLIC_METHODS, PublicityApi};
pub use record::RecordApi;
pub use registry::RegistryApi;
pub use review::ReviewApi;
