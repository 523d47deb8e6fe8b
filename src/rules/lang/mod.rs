//! The condition language: text → syntax tree ([`parse`]) → checked,
//! compiled expression ([`check`], [`compiled`]). See `docs/rules.md`.

pub mod ast;
pub mod check;
pub mod compiled;
pub mod parse;
