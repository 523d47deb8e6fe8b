//! Key areas and key groups (重点区域、重点人群): each day, and on demand,
//! warnings and confirmed reports (110 / 96110) are counted per village and
//! fraud type over a recent window and compared with the same place's own
//! baseline of the weeks before; a place well above it, or above a set
//! count, becomes a key area and gets a publicity task (宣传任务).
//!
//! ```text
//! rules/key_areas.toml ─▶ method::Method (checked with the rule set)
//! store.alerts_since ─▶ count::Counts::add ─▶ assess::assess ─▶ KeyArea
//!                                      (app::key_areas) ─▶ writer: publicity pair
//! ```
//!
//! Pure: the day and the alerts are passed in.

pub mod assess;
pub mod count;
pub mod method;

pub use assess::{KeyArea, assess};
pub use count::Counts;
pub use method::Method;
