//! Where rule files come from: a directory on disk or files held in memory
//! (an analyst's set sent to `RuleAdmin.Validate`). The loader reads both
//! the same way.

use std::path::{Path, PathBuf};

use super::RuleError;

/// One file of a rule set: its path relative to the set's root, and text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFile {
    /// Relative path with `/` separators, e.g. `lists/flagged_cards.txt`.
    pub path: String,
    /// Whole text.
    pub text: String,
}

/// Largest rule set accepted, in bytes (lists included).
pub const MAX_SET_BYTES: usize = 256 * 1024 * 1024;

/// Reads every file of a rule directory, sorted by path.
pub fn read_dir(root: &Path) -> Result<Vec<SourceFile>, RuleError> {
    let mut out = Vec::new();
    walk(root, root, &mut out, 0)?;
    out.sort_by(|a, b| a.path.cmp(&b.path));
    let total: usize = out.iter().map(|f| f.text.len()).sum();
    if total > MAX_SET_BYTES {
        return Err(RuleError::Invalid(vec![format!(
            "{}: rule set of {total} bytes is larger than {MAX_SET_BYTES}",
            root.display()
        )]));
    }
    Ok(out)
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<SourceFile>, depth: usize) -> Result<(), RuleError> {
    let read_err = |path: &Path, source| RuleError::Read {
        path: path.to_path_buf(),
        source,
    };
    let entries = std::fs::read_dir(dir).map_err(|e| read_err(dir, e))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() && depth < 2 {
            walk(root, &path, out, depth + 1)?;
        } else if path.is_file() && (name.ends_with(".toml") || name.ends_with(".txt")) {
            let text = std::fs::read_to_string(&path).map_err(|e| read_err(&path, e))?;
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            out.push(SourceFile { path: rel, text });
        }
    }
    Ok(())
}

/// What a file is to the loader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileRole {
    /// `fraud_types.toml`.
    FraudTypes,
    /// `key_areas.toml`: the key-area method ([`crate::areas::Method`]).
    KeyAreas,
    /// `lists/NAME.txt`.
    List,
    /// `tests/*.toml`: test cases, not loaded by the engine.
    Tests,
    /// Any other top-level `*.toml`: rules and macros.
    Rules,
    /// Anything else (ignored).
    Other,
}

/// Classifies a file by its relative path.
pub fn role(path: &str) -> FileRole {
    match path.split('/').collect::<Vec<_>>().as_slice() {
        ["fraud_types.toml"] => FileRole::FraudTypes,
        ["key_areas.toml"] => FileRole::KeyAreas,
        ["lists", name] if name.ends_with(".txt") => FileRole::List,
        ["tests", name] if name.ends_with(".toml") => FileRole::Tests,
        [name] if name.ends_with(".toml") => FileRole::Rules,
        _ => FileRole::Other,
    }
}
