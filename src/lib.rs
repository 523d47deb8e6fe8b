//! # dualwarn
//!
//! An anti-telecom-fraud early-warning correlation engine: warning records
//! (预警) stream in over gRPC; each suspected victim gets a dual-warning task
//! pair (双预警) — one task for the community police officer (社区民警), one
//! for the grid worker (网格员) — routed to the right jurisdiction,
//! de-duplicated against open tasks, with a deadline set by the level.
//!
//! # Layout
//!
//! Data flows one way, through bounded queues:
//!
//! ```text
//! api::ingest ─▶ normalize ─▶ enrich ─▶ rules (match) ─┐   (pure, per publisher)
//!                                                      │ bounded job queue
//!         ┌────────────────────────────────────────────┘
//!         ▼
//!   decide ─▶ dispatch ─▶ store (one durable txn) ─▶ ack + event fan-out
//!   (pipeline::writer, one thread)                      │
//!                                      api::console ◀───┘ list / watch / act
//! ```
//!
//! - [`proto`]: generated gRPC types (`proto/dualwarn/v1`).
//! - [`config`]: the one [`config::Config`], checked before a port opens.
//! - [`model`]: domain types (alerts, tasks) and personal-data masking.
//! - [`directory`]: jurisdictions — division codes, grids, police areas,
//!   officers and grid workers — and the deterministic generator.
//! - [`normalize`]: wire alert → checked alert, or a rejection naming the field.
//! - [`enrich`]: places an alert in its village, grid and police area.
//! - [`rules`]: the rule language, windows and index; the *match* stage (on the writer).
//! - [`graph`]: the account-link graph the rules ask about.
//! - [`decide`]: new pair, join an open pair (重复预警), or nothing.
//! - [`dispatch`]: builds and updates the two tasks of a pair.
//! - [`pipeline`]: the pure stages composed: `prepare` and the `writer`.
//! - [`areas`]: key areas and groups (重点区域、重点人群) for publicity tasks.
//! - [`report`]: the daily task list (任务清单) and supervision figures (督导).
//! - [`store`]: the `Store` trait and the embedded redb backend.
//! - [`api`]: the gRPC services (ingest, console, watch) and the web
//!   console's HTTP edge (`api::http`: page, JSON API, events, `/metrics`).
//! - [`metrics`]: operational figures for Prometheus.
//! - [`app`]: the wiring — load, check, start the writer, serve.
//! - [`cli`]: `gen`, `send`, `load`, `tasks` and `directory` commands.
//! - [`error`]: the crate error and its one mapping to `tonic::Status`.

#![forbid(unsafe_code)]

pub mod api;
pub mod app;
pub mod areas;
pub mod cli;
pub mod config;
pub mod decide;
pub mod directory;
pub mod dispatch;
pub mod enrich;
pub mod error;
pub mod graph;
pub mod kafka;
pub mod metrics;
pub mod model;
pub mod normalize;
pub mod pipeline;
pub mod report;
pub mod rules;
pub mod store;

/// Generated gRPC types and services of `dualwarn.v1`.
#[allow(missing_docs, clippy::all)]
pub mod proto {
    tonic::include_proto!("dualwarn.v1");
    include!(concat!(env!("OUT_DIR"), "/dualwarn.v1.serde.rs"));

    /// Encoded descriptors, served by gRPC reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        tonic::include_file_descriptor_set!("dualwarn_descriptor");
}
