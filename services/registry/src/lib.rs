//! Who may enforce and who may call: agencies (执法主体), officers (执法人员) and their
//! certificates, principals with roles, bearer tokens (stored only as hashes), and the single
//! authorisation policy every RPC goes through.

pub mod auth;
pub mod directory;
pub mod registry;

pub use auth::{Action, Principal, Role};
pub use registry::{OfficerInfo, Registry};
