//! One expression, text → checked → compiled: parses the condition held in
//! a spanned TOML string, checks and compiles it through the language's
//! checker, and renders any fault at its place in the file. Used by
//! [`super::macros`] and [`super::build`] for every expression they meet.

use toml::Spanned;

use crate::rules::diag::{render, string_content_offset};
use crate::rules::lang::ast::Node;
use crate::rules::lang::check::{CheckError, Names};
use crate::rules::lang::parse::parse;
use crate::rules::source::SourceFile;

/// Parses and checks one expression held in a spanned TOML string.
pub(super) fn expr_in<T>(
    f: &SourceFile,
    s: &Spanned<String>,
    names: &mut dyn Names,
    compile: impl FnOnce(&Node, &mut dyn Names) -> Result<T, CheckError>,
) -> Result<T, String> {
    parsed_in(f, s, names, compile).map(|(t, _)| t)
}

/// Like [`expr_in`], also giving back the syntax tree.
pub(super) fn parsed_in<T>(
    f: &SourceFile,
    s: &Spanned<String>,
    names: &mut dyn Names,
    compile: impl FnOnce(&Node, &mut dyn Names) -> Result<T, CheckError>,
) -> Result<(T, Node), String> {
    let base = string_content_offset(&f.text, s.span().start);
    let at = |span: (usize, usize), msg: &str| {
        render(&f.path, &f.text, base + span.0, base + span.1, msg)
    };
    let node = parse(s.get_ref()).map_err(|e| at(e.span, &e.message))?;
    let t = compile(&node, names).map_err(|e| at(e.span, &e.message))?;
    Ok((t, node))
}
