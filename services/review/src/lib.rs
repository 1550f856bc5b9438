//! Legal review of major decisions (重大执法决定法制审核, RULES L1–L8): versioned decision drafts
//! classified against the agency's catalog, the review queue with working-day due dates, the
//! reviewer's opinion, collective discussion, and the gate through which every decision is
//! issued with the agency's document number. Every step is an event in the case's hash chain,
//! appended through the one writer.

pub mod command;
pub mod records;
pub mod review;
mod rows;

pub use review::Reviews;
