//! The *serve* edge: gRPC services over the pipeline and the store.
//! [`IngestService`] feeds the bounded queue, behind the [`IngestGate`]
//! (publisher tokens, byte budget, rate limits); [`ConsoleService`] reads
//! the store and sends console actions to the writer; [`http`] serves the
//! web console over the same console service.

mod admin;
mod auth;
mod budget;
mod console;
pub(crate) mod convert;
mod directory_admin;
mod gate;
mod graph_admin;
pub mod http;
pub(crate) mod ingest;
mod rate_limit;
mod reports;
mod watch;

pub use admin::RuleAdminService;
pub use budget::{ByteBudget, footprint};
pub use console::ConsoleService;
pub use convert::{day_range, local_time, task_to_proto};
pub use directory_admin::DirectoryAdminService;
pub use gate::{Gated, IngestGate, Publisher};
pub use graph_admin::{GraphAdminService, MAX_IMPORT_ROWS, import_row_to_proto};
pub use ingest::IngestService;
pub use rate_limit::RateLimiter;
