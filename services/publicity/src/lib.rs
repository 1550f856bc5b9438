//! Publicity (行政执法公示, RULES P1-P9): an agency's notices before enforcement, the disclosure of
//! each decision with its statutory due date, masking, withdrawal and correction, the end of
//! publication, the public feed over gRPC, and the supervision views (RULES S1).
//!
//! Every change to a disclosure is an event in its case's hash chain, committed by the record's
//! single append path together with the disclosure row ([`rows`]), so the public feed and the
//! record never disagree and the feed's order is the order of the global event sequence.

pub mod anchor;
pub mod annual;
pub mod content;
pub mod disclosure;
pub mod http;
pub mod notices;
pub mod policy;
pub mod review_records;
pub mod rows;
pub mod site;
pub mod statistics;
pub mod supervision;
#[cfg(any(test, feature = "testgen"))]
pub mod testgen;
pub mod watch;

pub use disclosure::Publicity;
