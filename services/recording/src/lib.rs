//! The full-process record (执法全过程记录): cases, their hash-chained events, and evidence.
//!
//! Every event of every case goes through one path, [`writer::Writer`], which batches
//! concurrent appends into one database transaction (group commit), assigns the case and global
//! sequence numbers under a database lock, and acknowledges only after the commit.

pub mod command;
pub mod evidence;
pub mod export;
pub mod reads;
pub mod record;
pub mod retention;
mod upload;
pub mod verify;
pub mod writer;

pub use record::Recorder;
pub use upload::StagingTtl;
