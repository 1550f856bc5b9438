//! Storage of sanxiang: the relational database (SQLite or PostgreSQL through sea-orm) and the
//! evidence vault (local files or S3 through object_store).

pub mod changes;
pub mod db;
pub mod direct;
pub mod entity;
pub mod hashing;
pub mod staging;
pub mod vault;

pub use db::{Db, db_error};
pub use direct::DirectReader;
pub use hashing::HashingStream;
pub use staging::{LocalStaging, ObjectStaging, Staging};
pub use vault::Vault;
