//! sea-orm entities, one module per table (schema in `migrations/`).

pub mod agency;
pub mod calendar_year;
pub mod case;
pub mod catalog;
pub mod certificate_event;
pub mod complaint;
pub mod complaint_policy;
pub mod complaint_reporter;
pub mod complaint_reporter_access;
pub mod complaint_step;
pub mod disclosure;
pub mod draft;
pub mod event;
pub mod evidence;
pub mod filing;
pub mod filing_policy;
pub mod notice;
pub mod officer;
pub mod officer_status_change;
pub mod principal;
pub mod publicity_policy;
pub mod refusal;
pub mod review;
pub mod sequence;
pub mod token;
pub mod upload;
