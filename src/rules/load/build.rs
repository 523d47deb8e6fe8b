//! Rules, entries → compiled form: each rule's level, score and fraud type
//! are checked, its windows compiled and shared between rules by identity,
//! and its condition compiled (through [`super::expr`]) against the set's
//! lists and macros and the rule's own windows. What comes out is ready
//! for [`super::lint`] and the index.

use std::collections::HashMap;

use crate::model::Level;
use crate::rules::diag::render;
use crate::rules::file::{RuleEntry, WindowEntry};
use crate::rules::lang::ast::{Node, NodeKind};
use crate::rules::lang::check::{self, Names, compile_condition};
use crate::rules::lang::compiled::{BoolExpr, ListId, NumExpr, StrExpr, WindowSlot};
use crate::rules::source::SourceFile;
use crate::rules::window::Agg;
use crate::rules::{CompiledRule, FraudTypes, WindowDef};

use super::expr::{expr_in, parsed_in};
use super::macros::MacroTable;

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

/// The compiled parts of one window, each or its rendered fault.
type WindowParts = (
    Result<StrExpr, String>,
    Result<Option<BoolExpr>, String>,
    Result<Option<StrExpr>, String>,
    Result<Option<NumExpr>, String>,
);

/// The rules and windows compiled so far, and the faults met.
pub(super) struct Build<'a> {
    files: &'a [SourceFile],
    fraud_types: &'a FraudTypes,
    pub(super) windows: Vec<WindowDef>,
    pub(super) errors: Vec<String>,
}

impl<'a> Build<'a> {
    pub(super) fn new(files: &'a [SourceFile], fraud_types: &'a FraudTypes) -> Self {
        Build {
            files,
            fraud_types,
            windows: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// Compiles every rule entry in order, refusing a repeated id.
    pub(super) fn rules(
        &mut self,
        entries: Vec<(usize, RuleEntry)>,
        macros: &mut MacroTable<'_>,
    ) -> Vec<CompiledRule> {
        let mut rules = Vec::new();
        let mut ids = HashMap::new();
        for (file, entry) in entries {
            if let Some(prev) = ids.insert(entry.id.get_ref().clone(), file) {
                let f = &self.files[file];
                self.errors.push(render(
                    &f.path,
                    &f.text,
                    entry.id.span().start,
                    entry.id.span().end,
                    &format!("duplicate rule id (first in {})", self.files[prev].path),
                ));
                continue;
            }
            if let Some(rule) = self.rule(file, entry, macros) {
                rules.push(rule);
            }
        }
        rules
    }

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
        let fraud_type = self.fraud_type(file, &e)?;
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
        let id = e.id.into_inner();
        Some(CompiledRule {
            shared_id: id.as_str().into(),
            id,
            name: e.name,
            description: e.description,
            enabled: e.enabled,
            level,
            score: *e.score.get_ref() as u8,
            fraud_type: fraud_type.map(Into::into),
            method: task.method,
            due_within: task.due_within,
            hops_depth: crate::rules::matcher::hops_depth(&condition),
            condition,
            conditions_text: conditions_text(&conjuncts),
            conjuncts,
            windows,
            file: f.path.clone(),
        })
    }

    /// The official name of the rule's fraud type: `Some(None)` when it
    /// names none, `None` (the fault recorded) when the code is unknown.
    fn fraud_type(&mut self, file: usize, e: &RuleEntry) -> Option<Option<String>> {
        let Some(code) = &e.fraud_type else {
            return Some(None);
        };
        match self.fraud_types.names.get(code.get_ref()) {
            Some(name) => Some(Some(name.clone())),
            None => self.fail(
                file,
                code.span(),
                &format!(
                    "unknown fraud type {:?} (not in fraud_types.toml version {:?})",
                    code.get_ref(),
                    self.fraud_types.version
                ),
            ),
        }
    }

    fn window(
        &mut self,
        file: usize,
        w: &WindowEntry,
        names: &mut RuleNames<'_, '_>,
    ) -> Option<WindowSlot> {
        let duration_ms = i64::try_from(w.duration.as_millis()).unwrap_or(i64::MAX);
        if duration_ms <= 0 {
            return self.fail(file, w.name.span(), "window duration must be positive");
        }
        // A window's own expressions cannot read windows: they are evaluated
        // while windows are being updated.
        let own_windows = std::mem::take(&mut names.windows);
        let parts = window_parts(&self.files[file], w, names);
        names.windows = own_windows;
        let (key, when, of_str, of_num) = match parts {
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
            of_num,
            when,
        });
        Some((self.windows.len() - 1) as WindowSlot)
    }
}

/// Compiles a window's key, filter and aggregated value.
fn window_parts(f: &SourceFile, w: &WindowEntry, names: &mut RuleNames<'_, '_>) -> WindowParts {
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
    (key, when, of_str, of_num)
}

/// The conjuncts as one line for task reasons.
fn conditions_text(conjuncts: &[(String, BoolExpr)]) -> String {
    format!(
        "命中条件: {}",
        conjuncts
            .iter()
            .map(|(t, _)| t.as_str())
            .collect::<Vec<_>>()
            .join(" ∧ ")
    )
}

/// Whitespace-folded text, so a re-indented window keeps its identity.
fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The top-level `&&` parts of a condition, as source text with their
/// compiled form, for explanations.
fn conjunct_texts(text: &str, node: &Node, compiled: &BoolExpr) -> Vec<(String, BoolExpr)> {
    match (&node.kind, compiled) {
        (NodeKind::And(parts), BoolExpr::And(exprs)) if parts.len() == exprs.len() => parts
            .iter()
            .zip(exprs.iter())
            .map(|(p, e)| (squash(&text[p.span.0..p.span.1]), e.clone()))
            .collect(),
        _ => vec![(squash(text), compiled.clone())],
    }
}
