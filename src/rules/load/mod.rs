//! Compiles a rule set: reads the fraud-type table, the lists, the macros
//! and the rules of a [`SourceFile`] set, checks every name and type, and
//! builds the [`RuleSet`] with its windows and index. Every error is
//! collected and rendered with file, line, column and a caret.
//!
//! The flow is text → checked → compiled form, one file a step:
//! [`read`] turns the TOML files into entries and [`lists`] the list files
//! into values; [`macros`] and [`build`] check each expression through
//! [`expr`] and compile macros, rules and windows; [`lint`] looks at the
//! compiled rules for warnings. This file holds the entry points and runs
//! the steps in order.

mod build;
mod expr;
mod lint;
mod lists;
mod macros;
mod read;

use std::path::{Path, PathBuf};

use crate::model::fnv1a;
use crate::rules::source::{FileRole, SourceFile, read_dir, role};
use crate::rules::{RuleSet, index};
use build::Build;
use macros::MacroTable;

/// A rule set that cannot be used; says where and why.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// A file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// One or more faults, each rendered with its place.
    #[error("{}", .0.join("\n"))]
    Invalid(Vec<String>),
}

/// Loads and compiles the rule directory `dir`.
pub fn load_dir(dir: &Path) -> Result<RuleSet, RuleError> {
    compile_set(&read_dir(dir)?)
}

/// Compiles a set of files (from disk or memory).
pub fn compile_set(files: &[SourceFile]) -> Result<RuleSet, RuleError> {
    let mut errors = Vec::new();
    let fraud_types = read::fraud_types(files, &mut errors);
    let key_areas = read::key_areas(files, &fraud_types, &mut errors);
    let (lists, list_values) = lists::read(files);
    let list_ids = lists::ids(&lists);
    let (rule_entries, macro_entries) = read::rule_files(files, &mut errors);
    let mut macros = MacroTable::new(&list_ids, macro_entries, files, &mut errors);
    let mut build = Build::new(files, &fraud_types);
    let rules = build.rules(rule_entries, &mut macros);
    let Build {
        windows,
        errors: mut build_errors,
        ..
    } = build;
    errors.append(&mut build_errors);
    let mut warnings = macros.warnings();
    errors.append(&mut macros.errors);
    if !errors.is_empty() {
        return Err(RuleError::Invalid(errors));
    }
    warnings.extend(lint::warnings(&lists, &rules, &windows));
    let index = index::RuleIndex::build(&rules);
    Ok(RuleSet {
        version: version(files),
        fraud_types,
        lists,
        list_values,
        rules,
        windows,
        index,
        warnings,
        key_areas,
    })
}

/// The set's version: a content hash of every file but the tests.
fn version(files: &[SourceFile]) -> String {
    let mut hash_input = Vec::new();
    for f in files.iter().filter(|f| role(&f.path) != FileRole::Tests) {
        hash_input.extend_from_slice(f.path.as_bytes());
        hash_input.extend_from_slice(f.text.as_bytes());
    }
    format!("rs-{:016x}", fnv1a(&hash_input))
}
