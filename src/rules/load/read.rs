//! The first step of loading, text → entries: the fraud-type table, the
//! key-area method and the rule and macro entries of every rule file, as
//! TOML gives them. Their expressions are still text; [`super::macros`]
//! and [`super::build`] check and compile them.

use crate::rules::FraudTypes;
use crate::rules::diag::render;
use crate::rules::file::{FraudTypesFile, MacroEntry, RuleEntry, RuleFile};
use crate::rules::source::{FileRole, SourceFile, role};

/// The key-area method of `key_areas.toml`, if the set has one.
pub(super) fn key_areas(
    files: &[SourceFile],
    fraud_types: &FraudTypes,
    errors: &mut Vec<String>,
) -> Option<std::sync::Arc<crate::areas::Method>> {
    let f = files.iter().find(|f| role(&f.path) == FileRole::KeyAreas)?;
    match crate::areas::Method::parse(&f.text, |c| fraud_types.names.contains_key(c)) {
        Ok(m) => Some(std::sync::Arc::new(m)),
        Err(e) => {
            errors.push(format!("{}: {e}", f.path));
            None
        }
    }
}

pub(super) fn fraud_types(files: &[SourceFile], errors: &mut Vec<String>) -> FraudTypes {
    let mut out = FraudTypes::default();
    let Some(f) = files.iter().find(|f| role(&f.path) == FileRole::FraudTypes) else {
        return out;
    };
    match toml::from_str::<FraudTypesFile>(&f.text) {
        Ok(t) => {
            out.version = t.version;
            for ty in t.types {
                let _ = ty.description;
                out.names.insert(ty.code, ty.name);
            }
        }
        Err(e) => errors.push(toml_error(f, &e)),
    }
    out
}

fn toml_error(f: &SourceFile, e: &toml::de::Error) -> String {
    let span = e.span().unwrap_or(0..1);
    render(&f.path, &f.text, span.start, span.end, e.message())
}

/// Every rule and every macro of the set, each with the index of its file.
pub(super) type Entries = (Vec<(usize, RuleEntry)>, Vec<(usize, MacroEntry)>);

pub(super) fn rule_files(files: &[SourceFile], errors: &mut Vec<String>) -> Entries {
    let (mut rules, mut macros) = (Vec::new(), Vec::new());
    for (i, f) in files
        .iter()
        .enumerate()
        .filter(|(_, f)| role(&f.path) == FileRole::Rules)
    {
        match toml::from_str::<RuleFile>(&f.text) {
            Ok(rf) => {
                rules.extend(rf.rule.into_iter().map(|r| (i, r)));
                macros.extend(rf.macros.into_iter().map(|m| (i, m)));
            }
            Err(e) => errors.push(toml_error(f, &e)),
        }
    }
    (rules, macros)
}
