//! Compiles a rule set: reads the fraud-type table, the lists, the macros
//! and the rules of a [`SourceFile`] set, checks every name and type, and
//! builds the [`RuleSet`] with its windows and index. Every error is
//! collected and rendered with file, line, column and a caret.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::diag::{render, string_content_offset};
use super::file::{FraudTypesFile, MacroEntry, RuleEntry, RuleFile, WindowEntry};
use super::lang::ast::Node;
use super::lang::check::{self, CheckError, Names, compile_condition};
use super::lang::compiled::{BoolExpr, ListId, NumExpr, StrTest, WindowSlot};
use super::lang::parse::parse;
use super::source::{FileRole, SourceFile, read_dir, role};
use super::window::Agg;
use super::{CompiledRule, FraudTypes, ListValues, NamedList, RuleSet, WindowDef, index};
use crate::model::{Level, fnv1a};
use crate::normalize::normalize_artefact_value;

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
    let fraud_types = fraud_types(files, &mut errors);
    let key_areas = key_areas(files, &fraud_types, &mut errors);
    let (lists, list_values) = lists(files);
    let list_ids: HashMap<String, ListId> = lists
        .iter()
        .enumerate()
        .map(|(i, l)| (l.name.clone(), i as ListId))
        .collect();
    let (rule_entries, macro_entries) = parse_rule_files(files, &mut errors);
    let mut macros = MacroTable::new(&list_ids, macro_entries, files, &mut errors);
    let mut build = Build {
        files,
        fraud_types: &fraud_types,
        windows: Vec::new(),
        errors: Vec::new(),
    };
    let mut rules = Vec::new();
    let mut ids = HashMap::new();
    for (file, entry) in rule_entries {
        if let Some(prev) = ids.insert(entry.id.get_ref().clone(), file) {
            let f = &files[file];
            build.errors.push(render(
                &f.path,
                &f.text,
                entry.id.span().start,
                entry.id.span().end,
                &format!("duplicate rule id (first in {})", files[prev].path),
            ));
            continue;
        }
        if let Some(rule) = build.rule(file, entry, &mut macros) {
            rules.push(rule);
        }
    }
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
    warnings.extend(unused_lists(&lists, &rules, &windows));
    warnings.extend(index::never_fire(&rules, &lists));
    warnings.extend(costly_regexes(&rules));
    let index = index::RuleIndex::build(&rules);
    for r in rules.iter().filter(|r| !r.enabled) {
        warnings.push(format!("{}: rule {} is disabled", r.file, r.id));
    }
    let mut hash_input = Vec::new();
    for f in files.iter().filter(|f| role(&f.path) != FileRole::Tests) {
        hash_input.extend_from_slice(f.path.as_bytes());
        hash_input.extend_from_slice(f.text.as_bytes());
    }
    Ok(RuleSet {
        version: format!("rs-{:016x}", fnv1a(&hash_input)),
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

/// The key-area method of `key_areas.toml`, if the set has one.
fn key_areas(
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

fn fraud_types(files: &[SourceFile], errors: &mut Vec<String>) -> FraudTypes {
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

fn lists(files: &[SourceFile]) -> (Vec<NamedList>, ListValues) {
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

type Entries = (Vec<(usize, RuleEntry)>, Vec<(usize, MacroEntry)>);

fn parse_rule_files(files: &[SourceFile], errors: &mut Vec<String>) -> Entries {
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

/// Parses and checks one expression held in a spanned TOML string.
fn expr_in<T>(
    f: &SourceFile,
    s: &Spanned<String>,
    names: &mut dyn Names,
    compile: impl FnOnce(&Node, &mut dyn Names) -> Result<T, CheckError>,
) -> Result<T, String> {
    parsed_in(f, s, names, compile).map(|(t, _)| t)
}

/// Like [`expr_in`], also giving back the syntax tree.
fn parsed_in<T>(
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

/// Macros compiled on first use, with cycle detection.
struct MacroTable<'a> {
    lists: &'a HashMap<String, ListId>,
    files: &'a [SourceFile],
    src: HashMap<String, (usize, MacroEntry)>,
    done: HashMap<String, Result<BoolExpr, String>>,
    in_progress: Vec<String>,
    used: BTreeSet<String>,
    /// Macros a rule used directly: their errors are reported on the rule.
    by_rules: BTreeSet<String>,
    errors: Vec<String>,
}

impl<'a> MacroTable<'a> {
    fn new(
        lists: &'a HashMap<String, ListId>,
        entries: Vec<(usize, MacroEntry)>,
        files: &'a [SourceFile],
        errors: &mut Vec<String>,
    ) -> Self {
        let mut src = HashMap::new();
        for (file, m) in entries {
            let name = m.name.get_ref().clone();
            if src.contains_key(&name) || super::lang::functions::field_names().any(|f| f == name) {
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
    fn warnings(&mut self) -> Vec<String> {
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

/// Names seen by one rule: the set's lists and macros, the rule's windows.
struct RuleNames<'t, 'a> {
    table: &'t mut MacroTable<'a>,
    windows: HashMap<String, WindowSlot>,
}

impl Names for RuleNames<'_, '_> {
    fn list(&mut self, name: &str) -> Option<ListId> {
        self.table.list(name)
    }
    fn window(&mut self, name: &str) -> Option<WindowSlot> {
        self.windows.get(name).copied()
    }
    fn macro_expr(&mut self, name: &str) -> Option<Result<BoolExpr, String>> {
        self.table.by_rules.insert(name.to_string());
        self.table.macro_expr(name)
    }
}

struct Build<'a> {
    files: &'a [SourceFile],
    fraud_types: &'a FraudTypes,
    windows: Vec<WindowDef>,
    errors: Vec<String>,
}

impl Build<'_> {
    fn fail<T>(&mut self, file: usize, span: std::ops::Range<usize>, msg: &str) -> Option<T> {
        let f = &self.files[file];
        self.errors.push(render(
            &f.path,
            &f.text,
            span.start,
            span.end.max(span.start + 1),
            msg,
        ));
        None
    }

    fn rule(
        &mut self,
        file: usize,
        e: RuleEntry,
        table: &mut MacroTable<'_>,
    ) -> Option<CompiledRule> {
        let Some(level) = Level::parse(e.level.get_ref()) else {
            return self.fail(
                file,
                e.level.span(),
                &format!("level {:?} is not high, medium or low", e.level.get_ref()),
            );
        };
        if *e.score.get_ref() > 100 {
            return self.fail(file, e.score.span(), "score must be 0..=100");
        }
        let fraud_type = match &e.fraud_type {
            None => None,
            Some(code) => match self.fraud_types.names.get(code.get_ref()) {
                Some(name) => Some(name.clone()),
                None => {
                    return self.fail(
                        file,
                        code.span(),
                        &format!(
                            "unknown fraud type {:?} (not in fraud_types.toml version {:?})",
                            code.get_ref(),
                            self.fraud_types.version
                        ),
                    );
                }
            },
        };
        let mut names = RuleNames {
            table,
            windows: HashMap::new(),
        };
        for w in &e.window {
            let slot = self.window(file, w, &mut names)?;
            names.windows.insert(w.name.get_ref().clone(), slot);
        }
        let f = &self.files[file];
        let (condition, node) = match parsed_in(f, &e.condition, &mut names, compile_condition) {
            Ok(c) => c,
            Err(msg) => {
                self.errors.push(msg);
                return None;
            }
        };
        let task = e.task.unwrap_or_default();
        let conjuncts = conjunct_texts(e.condition.get_ref(), &node, &condition);
        let mut windows: Vec<(String, WindowSlot)> = names.windows.into_iter().collect();
        windows.sort();
        Some(CompiledRule {
            id: e.id.into_inner(),
            name: e.name,
            description: e.description,
            enabled: e.enabled,
            level,
            score: *e.score.get_ref() as u8,
            fraud_type,
            method: task.method,
            due_within: task.due_within,
            condition,
            conditions_text: format!(
                "命中条件: {}",
                conjuncts
                    .iter()
                    .map(|(t, _)| t.as_str())
                    .collect::<Vec<_>>()
                    .join(" ∧ ")
            ),
            conjuncts,
            windows,
            file: f.path.clone(),
        })
    }

    fn window(
        &mut self,
        file: usize,
        w: &WindowEntry,
        names: &mut RuleNames<'_, '_>,
    ) -> Option<WindowSlot> {
        let f = &self.files[file];
        let duration_ms = i64::try_from(w.duration.as_millis()).unwrap_or(i64::MAX);
        if duration_ms <= 0 {
            return self.fail(file, w.name.span(), "window duration must be positive");
        }
        // A window's own expressions cannot read windows: they are evaluated
        // while windows are being updated.
        let own_windows = std::mem::take(&mut names.windows);
        let key = expr_in(f, &w.key, names, check::compile_str);
        let when = w
            .when
            .as_ref()
            .map(|s| expr_in(f, s, names, compile_condition))
            .transpose();
        let (of_str, of_num) = match (w.agg, &w.of) {
            (Agg::Count, _) => (Ok(None), Ok(None)),
            (Agg::Distinct, Some(of)) => (
                expr_in(f, of, names, check::compile_str).map(Some),
                Ok(None),
            ),
            (Agg::Sum, Some(of)) => (
                Ok(None),
                expr_in(f, of, names, check::compile_num).map(Some),
            ),
            (_, None) => (
                Err(render(
                    &f.path,
                    &f.text,
                    w.name.span().start,
                    w.name.span().end,
                    "a distinct or sum window needs `of`",
                )),
                Ok(None),
            ),
        };
        names.windows = own_windows;
        let (key, when, of_str, of_num) = match (key, when, of_str, of_num) {
            (Ok(k), Ok(w), Ok(s), Ok(n)) => (k, w, s, n),
            (k, w, s, n) => {
                self.errors
                    .extend([k.err(), w.err(), s.err(), n.err()].into_iter().flatten());
                return None;
            }
        };
        // Identity from the compiled forms (macros inlined, literals exact),
        // so equal meaning shares state and a changed macro does not.
        let identity = format!(
            "{key:?}|{:?}|{of_str:?}|{of_num:?}|{duration_ms}|{when:?}",
            w.agg
        );
        if let Some(i) = self.windows.iter().position(|d| d.identity == identity) {
            return Some(i as WindowSlot);
        }
        self.windows.push(WindowDef {
            identity,
            agg: w.agg,
            duration_ms,
            key,
            of_str,
            of_num: of_num.map(|n: NumExpr| n),
            when,
        });
        Some((self.windows.len() - 1) as WindowSlot)
    }
}

/// Whitespace-folded text, so a re-indented window keeps its identity.
fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The top-level `&&` parts of a condition, as source text with their
/// compiled form, for explanations.
fn conjunct_texts(text: &str, node: &Node, compiled: &BoolExpr) -> Vec<(String, BoolExpr)> {
    match (&node.kind, compiled) {
        (super::lang::ast::NodeKind::And(parts), BoolExpr::And(exprs))
            if parts.len() == exprs.len() =>
        {
            parts
                .iter()
                .zip(exprs.iter())
                .map(|(p, e)| (squash(&text[p.span.0..p.span.1]), e.clone()))
                .collect()
        }
        _ => vec![(squash(text), compiled.clone())],
    }
}

fn unused_lists(lists: &[NamedList], rules: &[CompiledRule], windows: &[WindowDef]) -> Vec<String> {
    let mut used = BTreeSet::new();
    for r in rules {
        check::lists_used(&r.condition, &mut used);
    }
    for w in windows.iter().filter_map(|w| w.when.as_ref()) {
        check::lists_used(w, &mut used);
    }
    lists
        .iter()
        .enumerate()
        // The graph reads the allow lists itself.
        .filter(|(i, l)| !used.contains(&(*i as ListId)) && !l.name.starts_with("allow_"))
        .map(|(_, l)| format!("lists/{}.txt: list {} is never used", l.name, l.name))
        .collect()
}

/// Regexes that scan a whole value for every alert: an unanchored leading
/// `.*`, or a repeated group that is itself repeated.
fn costly_regexes(rules: &[CompiledRule]) -> Vec<String> {
    fn walk(b: &BoolExpr, out: &mut Vec<String>) {
        match b {
            BoolExpr::And(xs) | BoolExpr::Or(xs) => xs.iter().for_each(|x| walk(x, out)),
            BoolExpr::Not(x) => walk(x, out),
            BoolExpr::BoolEq(a, b) => {
                walk(a, out);
                walk(b, out);
            }
            BoolExpr::Test(_, StrTest::Matches(r)) => {
                let p = r.as_str();
                let nested = ["+)+", "*)*", "+)*", "*)+", "}){", "+){", "*){"]
                    .iter()
                    .any(|n| p.contains(n));
                if p.starts_with(".*") || nested {
                    out.push(p.to_string());
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for r in rules {
        let mut found = Vec::new();
        walk(&r.condition, &mut found);
        out.extend(found.into_iter().map(|p| {
            format!("{}: rule {}: regex {p:?} is costly (leading .* or a nested repetition); anchor it or use starts_with/contains", r.file, r.id)
        }));
    }
    out
}
