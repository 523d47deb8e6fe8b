//! Macros, entries → compiled conditions: each is checked and compiled on
//! first use (through [`super::expr`]), cycles are refused, and the ones no
//! rule uses are still checked and warned about. Rules reach macros and
//! lists through this table while [`super::build`] compiles them.

use std::collections::{BTreeSet, HashMap};

use crate::rules::diag::render;
use crate::rules::file::MacroEntry;
use crate::rules::lang::check::{Names, compile_condition};
use crate::rules::lang::compiled::{BoolExpr, ListId, WindowSlot};
use crate::rules::lang::functions::field_names;
use crate::rules::source::SourceFile;

use super::expr::expr_in;

/// Macros compiled on first use, with cycle detection.
pub(super) struct MacroTable<'a> {
    lists: &'a HashMap<String, ListId>,
    files: &'a [SourceFile],
    src: HashMap<String, (usize, MacroEntry)>,
    done: HashMap<String, Result<BoolExpr, String>>,
    in_progress: Vec<String>,
    used: BTreeSet<String>,
    /// Macros a rule used directly: their errors are reported on the rule.
    pub(super) by_rules: BTreeSet<String>,
    pub(super) errors: Vec<String>,
}

impl<'a> MacroTable<'a> {
    pub(super) fn new(
        lists: &'a HashMap<String, ListId>,
        entries: Vec<(usize, MacroEntry)>,
        files: &'a [SourceFile],
        errors: &mut Vec<String>,
    ) -> Self {
        let mut src = HashMap::new();
        for (file, m) in entries {
            let name = m.name.get_ref().clone();
            if src.contains_key(&name) || field_names().any(|f| f == name) {
                let f = &files[file];
                errors.push(render(
                    &f.path,
                    &f.text,
                    m.name.span().start,
                    m.name.span().end,
                    "macro name already used by a field or another macro",
                ));
                continue;
            }
            src.insert(name, (file, m));
        }
        MacroTable {
            lists,
            files,
            src,
            done: HashMap::new(),
            in_progress: Vec::new(),
            used: BTreeSet::new(),
            by_rules: BTreeSet::new(),
            errors: Vec::new(),
        }
    }

    fn compile(&mut self, name: &str) -> Option<Result<BoolExpr, String>> {
        if let Some(r) = self.done.get(name) {
            return Some(r.clone());
        }
        if self.in_progress.iter().any(|n| n == name) {
            return Some(Err(format!(
                "macro cycle: {} -> {name}",
                self.in_progress.join(" -> ")
            )));
        }
        let (file, entry) = self.src.remove(name)?;
        self.in_progress.push(name.to_string());
        let f = &self.files[file];
        let cond = entry.condition.clone();
        let result = expr_in(f, &cond, self, compile_condition);
        self.in_progress.pop();
        self.src.insert(name.to_string(), (file, entry));
        self.done.insert(name.to_string(), result.clone());
        Some(result)
    }

    /// Checks macros nobody used, and warns about them.
    pub(super) fn warnings(&mut self) -> Vec<String> {
        let names: Vec<String> = self.src.keys().cloned().collect();
        let mut out = Vec::new();
        for n in names {
            if let Some(Err(e)) = self.compile(&n)
                && !self.by_rules.contains(&n)
                && !self.errors.contains(&e)
            {
                self.errors.push(e);
            }
            if !self.used.contains(&n) {
                let file = self
                    .src
                    .get(&n)
                    .map_or("", |(i, _)| self.files[*i].path.as_str());
                out.push(format!("{file}: macro {n} is never used"));
            }
        }
        out.sort();
        out
    }
}

impl Names for MacroTable<'_> {
    fn list(&mut self, name: &str) -> Option<ListId> {
        self.lists.get(name).copied()
    }
    fn window(&mut self, _name: &str) -> Option<WindowSlot> {
        None
    }
    fn macro_expr(&mut self, name: &str) -> Option<Result<BoolExpr, String>> {
        self.used.insert(name.to_string());
        self.compile(name)
    }
}
