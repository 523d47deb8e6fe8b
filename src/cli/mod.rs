//! Command-line tools around the service: `gen` (seeded alert streams),
//! `send` (stream a JSON-lines file to a server), `tasks` (a console in the
//! terminal) and `directory generate`.

pub mod generate;
pub mod record;
pub mod rules;
pub mod send;
pub mod tasks;
