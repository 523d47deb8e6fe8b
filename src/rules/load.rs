//! Reads `*.toml` rule files and `lists/*.txt` from a rule directory,
//! checks every reference, and builds a [`RuleSet`].

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Rule, RuleSet};
use crate::model::{ArtefactKind, Level, SourceKind, fnv1a};
use crate::normalize::normalize_artefact_value;

/// A rule directory that cannot be loaded; names the file and the fault.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// IO failure on a file.
    #[error("cannot read {path}: {source}")]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Not valid TOML for a rule file.
    #[error("{path}: {message}")]
    Parse {
        /// File.
        path: PathBuf,
        /// Parser message with line and column.
        message: String,
    },
    /// A rule is wrong.
    #[error("{path}: rule {rule}: {why}")]
    Rule {
        /// File.
        path: PathBuf,
        /// Rule id.
        rule: String,
        /// What is wrong.
        why: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rule: Vec<RuleEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleEntry {
    id: String,
    name: String,
    description: String,
    #[serde(default = "enabled_default")]
    enabled: bool,
    level: String,
    #[serde(default)]
    fraud_type: String,
    #[serde(default)]
    source_kinds: Vec<SourceKind>,
    #[serde(default)]
    counterpart_kind: Option<ArtefactKind>,
    #[serde(default)]
    in_list: Option<String>,
    #[serde(default)]
    min_amount_fen: i64,
}

fn enabled_default() -> bool {
    true
}

/// Loads every rule file and list under `dir`.
pub fn load_dir(dir: &Path) -> Result<RuleSet, RuleError> {
    let mut hash_input = Vec::new();
    let lists = load_lists(&dir.join("lists"), &mut hash_input)?;
    let mut rules = Vec::new();
    let mut ids = HashSet::new();
    for path in sorted_files(dir, "toml")? {
        let text = read(&path)?;
        hash_input.extend_from_slice(text.as_bytes());
        let file: RuleFile = toml::from_str(&text).map_err(|e| RuleError::Parse {
            path: path.clone(),
            message: e.to_string(),
        })?;
        for entry in file.rule {
            let enabled = entry.enabled;
            let rule = compile(&path, entry, &lists)?;
            if !ids.insert(rule.id.clone()) {
                return Err(rule_error(&path, &rule.id, "duplicate rule id".into()));
            }
            if enabled {
                rules.push(rule);
            }
        }
    }
    Ok(RuleSet {
        version: format!("rs-{:016x}", fnv1a(&hash_input)),
        rules,
        lists,
    })
}

fn compile(
    path: &Path,
    e: RuleEntry,
    lists: &HashMap<String, HashSet<String>>,
) -> Result<Rule, RuleError> {
    let level = Level::parse(&e.level).ok_or_else(|| {
        rule_error(
            path,
            &e.id,
            format!("level {:?} is not high, medium or low", e.level),
        )
    })?;
    let counterpart_in = match (e.counterpart_kind, e.in_list) {
        (Some(kind), Some(list)) => {
            if !lists.contains_key(&list) {
                return Err(rule_error(path, &e.id, format!("unknown list {list:?}")));
            }
            Some((kind, list))
        }
        (None, None) => None,
        _ => {
            return Err(rule_error(
                path,
                &e.id,
                "counterpart_kind and in_list go together".into(),
            ));
        }
    };
    if counterpart_in.is_none() && e.min_amount_fen <= 0 && e.source_kinds.is_empty() {
        return Err(rule_error(
            path,
            &e.id,
            "rule has no condition and would match every alert".into(),
        ));
    }
    Ok(Rule {
        id: e.id,
        name: e.name,
        description: e.description,
        level,
        fraud_type: e.fraud_type,
        source_kinds: e.source_kinds,
        counterpart_in,
        min_amount_fen: e.min_amount_fen,
    })
}

fn load_lists(
    dir: &Path,
    hash_input: &mut Vec<u8>,
) -> Result<HashMap<String, HashSet<String>>, RuleError> {
    let mut lists = HashMap::new();
    if !dir.exists() {
        return Ok(lists);
    }
    for path in sorted_files(dir, "txt")? {
        let text = read(&path)?;
        hash_input.extend_from_slice(text.as_bytes());
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let values = text
            .lines()
            .map(|l| l.split('#').next().unwrap_or("").trim())
            .filter(|l| !l.is_empty())
            .map(normalize_artefact_value)
            .collect();
        lists.insert(name, values);
    }
    Ok(lists)
}

fn sorted_files(dir: &Path, ext: &str) -> Result<Vec<PathBuf>, RuleError> {
    let entries = std::fs::read_dir(dir).map_err(|source| RuleError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == ext))
        .collect();
    files.sort();
    Ok(files)
}

fn read(path: &Path) -> Result<String, RuleError> {
    std::fs::read_to_string(path).map_err(|source| RuleError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn rule_error(path: &Path, rule: &str, why: String) -> RuleError {
    RuleError::Rule {
        path: path.to_path_buf(),
        rule: rule.to_string(),
        why,
    }
}
