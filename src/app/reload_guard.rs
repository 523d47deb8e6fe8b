//! What a reload must pass before the writer gets the new rule set: a
//! consistent read of the rule tree, the set's own test cases, and no
//! gutting (rules or list values dropped beyond `reload_max_drop`) unless
//! forced. Pure apart from reading the files; between *load* and the swap.

use std::path::Path;
use std::time::Duration;

use crate::rules::cases::run_cases;
use crate::rules::source::{SourceFile, read_dir};
use crate::rules::{RuleError, RuleSet};

/// Reads of the tree before giving up on one that keeps changing.
const READ_TRIES: u32 = 5;
/// Pause between two reads that differed.
const READ_PAUSE: Duration = Duration::from_millis(200);
/// Lists smaller than this may change freely.
const MIN_GUARDED_LIST: usize = 10;

/// Reads the rule tree until two reads in a row agree, so a reload never
/// compiles half of an edit (editors and `cp -r` write in several steps).
pub fn read_stable(dir: &Path) -> Result<Vec<SourceFile>, RuleError> {
    let mut last = read_dir(dir)?;
    for _ in 0..READ_TRIES {
        std::thread::sleep(READ_PAUSE / 4);
        let again = read_dir(dir)?;
        if again == last {
            return Ok(again);
        }
        last = again;
        std::thread::sleep(READ_PAUSE);
    }
    Err(RuleError::Invalid(vec![format!(
        "{}: the rule files kept changing while being read ({READ_TRIES} tries); nothing applied",
        dir.display()
    )]))
}

/// `files` compiled, and their own test cases passed: the only way a set
/// is put in force, by a reload or a shadow run.
pub fn compile_tested(
    files: &[SourceFile],
    offset: i32,
) -> Result<std::sync::Arc<RuleSet>, crate::rules::RuleError> {
    let set = std::sync::Arc::new(crate::rules::compile_set(files)?);
    let failed = failed_cases(files, &set, offset);
    if failed.is_empty() {
        Ok(set)
    } else {
        Err(crate::rules::RuleError::Invalid(failed))
    }
}

/// Failures of the set's own test cases (`tests/*.toml`), one line each.
pub fn failed_cases(
    files: &[SourceFile],
    set: &std::sync::Arc<RuleSet>,
    offset: i32,
) -> Vec<String> {
    run_cases(files, set, offset)
        .into_iter()
        .flat_map(|r| {
            let name = r.name;
            r.failures
                .into_iter()
                .map(move |f| format!("test case {name}: {f}"))
        })
        .collect()
}

/// Why `next` guts `previous`: enabled rules or a list's values fell by
/// more than `max_drop` (a fraction). Empty when it does not.
pub fn gutting(previous: &RuleSet, next: &RuleSet, max_drop: f64) -> Vec<String> {
    let mut why = Vec::new();
    let fell = |before: usize, after: usize| {
        before > 0 && (after as f64) < (before as f64) * (1.0 - max_drop)
    };
    let (before, after) = (previous.enabled_count(), next.enabled_count());
    if fell(before, after) {
        why.push(format!(
            "enabled rules would fall from {before} to {after}, more than {:.0}%",
            max_drop * 100.0
        ));
    }
    for list in previous.lists.iter().filter(|l| l.len >= MIN_GUARDED_LIST) {
        let now = next
            .lists
            .iter()
            .find(|l| l.name == list.name)
            .map_or(0, |l| l.len);
        if fell(list.len, now) {
            why.push(format!(
                "list @{} would fall from {} to {now} values, more than {:.0}%",
                list.name,
                list.len,
                max_drop * 100.0
            ));
        }
    }
    why
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::compile_set;

    fn set(rules: usize, list_values: usize) -> RuleSet {
        let mut files = vec![SourceFile {
            path: "lists/cards.txt".into(),
            text: (0..list_values).map(|i| format!("62{i:014}\n")).collect(),
        }];
        let text: String = (0..rules)
            .map(|i| {
                format!("[[rule]]\nid = \"r{i}\"\nname = \"n\"\ndescription = \"d\"\nlevel = \"low\"\ncondition = 'counterpart.bank_card in @cards && amount > {i}'\n")
            })
            .collect();
        files.push(SourceFile {
            path: "core.toml".into(),
            text,
        });
        compile_set(&files).unwrap()
    }

    #[test]
    fn a_gutted_set_is_named_and_a_small_change_is_not() {
        let full = set(20, 100);
        assert!(gutting(&full, &set(18, 95), 0.25).is_empty());
        let why = gutting(&full, &set(10, 100), 0.25);
        assert_eq!(why.len(), 1, "{why:?}");
        assert!(why[0].contains("from 20 to 10"), "{why:?}");
        let why = gutting(&full, &set(20, 1), 0.25);
        assert!(
            why[0].contains("@cards") && why[0].contains("from 100 to 1"),
            "{why:?}"
        );
    }

    #[test]
    fn a_tree_that_settles_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("core.toml"), "").unwrap();
        let files = read_stable(dir.path()).unwrap();
        assert_eq!(files.len(), 1);
    }
}
