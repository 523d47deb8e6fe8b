//! The *serve* edge: gRPC services over the pipeline and the store.
//! [`IngestService`] feeds the bounded queue; [`ConsoleService`] reads the
//! store and sends console actions to the writer.

mod admin;
mod auth;
mod console;
mod convert;
mod graph_admin;
mod ingest;
mod watch;

pub use admin::RuleAdminService;
pub use console::ConsoleService;
pub use convert::{day_range, local_time, task_to_proto};
pub use graph_admin::{GraphAdminService, MAX_IMPORT_ROWS, import_row_to_proto};
pub use ingest::IngestService;
