//! The rules of the full-process record, free of I/O: everything here can be tested without a
//! database, an object store or a server.

pub mod calendar;
pub mod canonical;
pub mod catalog;
pub mod chain;
pub mod complaints;
pub mod credit_code;
pub mod digest;
pub mod error;
pub mod filing;
pub mod id;
pub mod lifecycle;
pub mod limits;
pub mod masking;
pub mod officer;
pub mod party;
pub mod publicity;
pub mod retention;
pub mod review;
pub mod statistics;
pub mod time;

pub use digest::Sha256Digest;
pub use error::{Error, Result};
pub use time::{SystemClock, TestClock, TimeProvider, Timestamp};
