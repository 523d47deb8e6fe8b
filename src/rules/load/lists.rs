//! The lists of a set, text → values: every `lists/NAME.txt` becomes a
//! [`NamedList`] and its normalised values go into one [`ListValues`]
//! table. Rules and macros refer to lists by the ids given here.

use std::collections::HashMap;

use crate::normalize::normalize_artefact_value;
use crate::rules::lang::compiled::ListId;
use crate::rules::source::{FileRole, SourceFile, role};
use crate::rules::{ListValues, NamedList};

/// The named lists by id, with the values of all of them.
pub(super) fn read(files: &[SourceFile]) -> (Vec<NamedList>, ListValues) {
    let mut values = ListValues::default();
    let lines: usize = files
        .iter()
        .filter(|f| role(&f.path) == FileRole::List)
        .map(|f| f.text.lines().count())
        .sum();
    values.reserve(lines);
    let mut lists = Vec::new();
    for f in files.iter().filter(|f| role(&f.path) == FileRole::List) {
        let id = lists.len() as ListId;
        let name = f
            .path
            .trim_start_matches("lists/")
            .trim_end_matches(".txt")
            .to_string();
        let mut len = 0;
        for line in f.text.lines() {
            let v = line.split('#').next().unwrap_or("").trim();
            if !v.is_empty() && values.insert(id, normalize_artefact_value(v).into_boxed_str()) {
                len += 1;
            }
        }
        lists.push(NamedList { name, len });
    }
    (lists, values)
}

/// List name → id, for resolving `@name` in conditions.
pub(super) fn ids(lists: &[NamedList]) -> HashMap<String, ListId> {
    lists
        .iter()
        .enumerate()
        .map(|(i, l)| (l.name.clone(), i as ListId))
        .collect()
}
