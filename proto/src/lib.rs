//! The sanxiang gRPC API, package `sanxiang.v1`.
//!
//! Generated code does not follow the workspace's documentation and style lints, and cannot be
//! edited to do so; the exceptions are confined to this module.

pub mod codec;

/// Messages and services of `sanxiang.v1`.
#[allow(clippy::all, clippy::pedantic, missing_docs, unreachable_pub)]
pub mod v1 {
    tonic::include_proto!("sanxiang.v1");
}

/// The encoded `FileDescriptorSet` of the API, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("sanxiang_descriptor");

/// The message trait of the generated types (e.g. to encode a request for its digest).
pub use prost::Message;
