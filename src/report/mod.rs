//! Reports over stored tasks: the daily task list (任务清单) and the
//! supervision figures (督导). Pure and synchronous: the console API pages
//! tasks out of the store and folds them here, one task at a time, with the
//! report time passed in; nothing here reads a clock or does I/O.
//!
//! ```text
//! store.list_tasks ─▶ DailyBuilder::add ─▶ DailyList ─▶ sheet::{xlsx, csv} ─▶ FileChunk stream
//!                 └─▶ Supervision::add  ─▶ figures  ─▶ SupervisionResponse
//! ```
//!
//! - [`facts`]: what one task says about timeliness, reach and outcome.
//! - [`figures`]: the counts and rates every report shares ([`Tally`]).
//! - [`daily`]: one row per task, the summary and the overdue list.
//! - [`sheet`]: the daily list written as XLSX (rust_xlsxwriter) or CSV.
//! - [`supervision`]: figures per county, station and rule; per-rule
//!   precision; units ranked by on-time rate.

pub mod daily;
pub mod facts;
pub mod figures;
pub mod sheet;
pub mod supervision;

pub use daily::{DailyBuilder, DailyList};
pub use figures::Tally;
pub use supervision::Supervision;
