//! The condition language: text → syntax tree ([`parse`]) → checked,
//! compiled expression ([`check`], [`compiled`]), names resolved through
//! one table of functions and fields ([`functions`]). See `docs/rules.md`.

pub mod ast;
pub mod check;
pub mod compiled;
pub mod functions;
pub mod parse;
