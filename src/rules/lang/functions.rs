//! The one table of the condition language's functions and fields: the
//! checker resolves names through it, its "unknown name" errors list it,
//! and the reference tables of `docs/rules.md` are rendered from it (a
//! test keeps the two equal). It sits at the *match* stage's load time.

use super::compiled::{
    BoolExpr, FAN_IN_WINDOW_MS, GraphBool, GraphNum, NumExpr, StrExpr, VICTIMS_HORIZON_MS,
};

/// How a function is built from its arguments.
#[derive(Clone, Copy, Debug)]
pub enum Build {
    /// `has(field)`.
    Has,
    /// `count(counterpart.KIND)`.
    Count,
    /// `hops_to_flagged([depth])`.
    Hops,
    /// A graph count over an optional span in quotes.
    Span {
        /// The span when none is given, ms.
        default_ms: i64,
        /// The question for a span.
        make: fn(i64) -> GraphNum,
    },
    /// A graph number with no argument.
    Num(GraphNum),
    /// A graph test with no argument.
    Flag(GraphBool),
}

/// One function of the condition language.
#[derive(Clone, Copy, Debug)]
pub struct Function {
    /// Its name.
    pub name: &'static str,
    /// How it is called, for the docs (`card_fan_in()`, `("7d")`).
    pub usage: &'static str,
    /// What it gives: `bool` or `number`.
    pub returns: &'static str,
    /// How the checker builds it.
    pub build: Build,
    /// What it means, for the docs.
    pub doc: &'static str,
}

/// Every function, in the order the docs list them.
pub const FUNCTIONS: &[Function] = &[
    Function {
        name: "has",
        usage: "`has(path)`",
        returns: "bool",
        build: Build::Has,
        doc: "the field is present (non-empty string, any counterpart of the kind, attribute present)",
    },
    Function {
        name: "count",
        usage: "`count(counterpart.KIND)`",
        returns: "number",
        build: Build::Count,
        doc: "number of counterparts of that kind",
    },
    Function {
        name: "hops_to_flagged",
        usage: "`hops_to_flagged()`, `hops_to_flagged(2)`",
        returns: "number",
        build: Build::Hops,
        doc: "hops from the subject's artefacts to the nearest flagged artefact, to depth 3 (or the depth given, 1–6); 99 when none within reach. Hops never pass through a person, a hub-like node or an allowed artefact. Up to depth 3 the answer is exact (read from the graph's distance labels); deeper, a bounded search that may give up near hubs (`[graph] max_visits`). A rule using it shows the path on the task",
    },
    Function {
        name: "victims_of_counterparts",
        usage: "`victims_of_counterparts()`, `(\"7d\")`",
        returns: "number",
        build: Build::Span {
            default_ms: VICTIMS_HORIZON_MS,
            make: GraphNum::Victims,
        },
        doc: "most distinct **suspected victims** (see below) whose warnings named any counterpart within the span (default 30 days)",
    },
    Function {
        name: "jurisdictions_of_counterparts",
        usage: "`jurisdictions_of_counterparts()`, `(\"7d\")`",
        returns: "number",
        build: Build::Span {
            default_ms: VICTIMS_HORIZON_MS,
            make: GraphNum::Jurisdictions,
        },
        doc: "most distinct counties of those suspected victims (跨区县)",
    },
    Function {
        name: "persons_linked",
        usage: "`persons_linked()`, `(\"7d\")`",
        returns: "number",
        build: Build::Span {
            default_ms: VICTIMS_HORIZON_MS,
            make: GraphNum::Persons,
        },
        doc: "most distinct persons, suspected or not, whose warnings named any counterpart within the span (default 30 days): a popular account has many",
    },
    Function {
        name: "card_fan_in",
        usage: "`card_fan_in()`, `(\"7d\")`",
        returns: "number",
        build: Build::Span {
            default_ms: FAN_IN_WINDOW_MS,
            make: GraphNum::FanIn,
        },
        doc: "most distinct payers into any counterpart card within the span (default 24 hours)",
    },
    Function {
        name: "card_fan_out",
        usage: "`card_fan_out()`, `(\"7d\")`",
        returns: "number",
        build: Build::Span {
            default_ms: FAN_IN_WINDOW_MS,
            make: GraphNum::FanOut,
        },
        doc: "most distinct payees of any counterpart card within the span (default 24 hours): a mule passes money on within hours. `card_fan_in() > 10 * card_fan_out()` is a payer-to-payee ratio",
    },
    Function {
        name: "card_mean_payment_in",
        usage: "`card_mean_payment_in()`, `(\"7d\")`",
        returns: "number",
        build: Build::Span {
            default_ms: FAN_IN_WINDOW_MS,
            make: GraphNum::MeanPaymentIn,
        },
        doc: "highest mean payment in yuan into any counterpart card within the span (default 24 hours): a mule takes a few large payments, a utility thousands of small ones",
    },
    Function {
        name: "degree",
        usage: "`degree()`",
        returns: "number",
        build: Build::Num(GraphNum::Degree),
        doc: "most links at any counterpart, both directions, as the graph holds them",
    },
    Function {
        name: "is_hub",
        usage: "`is_hub()`",
        returns: "bool",
        build: Build::Flag(GraphBool::CounterpartHub),
        doc: "any counterpart is hub-like: it reached `[graph] max_degree`, or took `[graph] hub_links_per_day` links within a day",
    },
    Function {
        name: "allowed_counterpart",
        usage: "`allowed_counterpart()`",
        returns: "bool",
        build: Build::Flag(GraphBool::CounterpartAllowed),
        doc: "any counterpart is allowed: on an `allow_*` list, or imported with `graph import --kind allow`",
    },
    Function {
        name: "neighbourhood_flagged",
        usage: "`neighbourhood_flagged()`",
        returns: "bool",
        build: Build::Flag(GraphBool::NeighbourhoodFlagged),
        doc: "an artefact within 2 hops of the subject's phone is flagged",
    },
];

/// The function named `name`.
pub fn function(name: &str) -> Option<&'static Function> {
    FUNCTIONS.iter().find(|f| f.name == name)
}

/// Every function name, for error messages.
pub fn function_names() -> String {
    FUNCTIONS
        .iter()
        .map(|f| f.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// One field of the condition language.
#[derive(Clone, Debug)]
pub struct Field {
    /// The path, as written (`subject.age`); `NAME`/`KIND` for a family.
    pub name: &'static str,
    /// `string`, `number`, `bool` or `strings`.
    pub ty: &'static str,
    /// What it reads; `None` for a family the checker resolves by name.
    pub read: Option<FieldRead>,
    /// What it means, for the docs.
    pub doc: &'static str,
}

/// What a plain field compiles to.
#[derive(Clone, Debug)]
pub enum FieldRead {
    /// A string.
    Str(StrExpr),
    /// A number.
    Num(NumExpr),
    /// A boolean.
    Bool(BoolExpr),
}

/// Every field, in the order the docs list them.
pub const FIELDS: &[Field] = &[
    Field {
        name: "source",
        ty: "string",
        read: Some(FieldRead::Str(StrExpr::Source)),
        doc: "producing source, e.g. `gz-bank-icbc`",
    },
    Field {
        name: "source_kind",
        ty: "string",
        read: Some(FieldRead::Str(StrExpr::SourceKind)),
        doc: "`national_push`, `bank`, `telecom`, `police_report`, `tip`",
    },
    Field {
        name: "fraud_type_hint",
        ty: "string",
        read: Some(FieldRead::Str(StrExpr::FraudTypeHint)),
        doc: "the source's fraud-type hint",
    },
    Field {
        name: "amount",
        ty: "number",
        read: Some(FieldRead::Num(NumExpr::Amount)),
        doc: "transfer amount in yuan (元)",
    },
    Field {
        name: "amount_fen",
        ty: "number",
        read: Some(FieldRead::Num(NumExpr::AmountFen)),
        doc: "the same in fen (分)",
    },
    Field {
        name: "subject.phone",
        ty: "string",
        read: Some(FieldRead::Str(StrExpr::Phone)),
        doc: "the person's phone (for prefix tests; never shown)",
    },
    Field {
        name: "subject.division",
        ty: "string",
        read: Some(FieldRead::Str(StrExpr::Division)),
        doc: "12-digit division code",
    },
    Field {
        name: "subject.grid",
        ty: "string",
        read: Some(FieldRead::Str(StrExpr::Grid)),
        doc: "grid id, empty if none",
    },
    Field {
        name: "subject.age",
        ty: "number",
        read: Some(FieldRead::Num(NumExpr::Age)),
        doc: "age, 0 if unknown",
    },
    Field {
        name: "subject.has_id",
        ty: "bool",
        read: Some(FieldRead::Bool(BoolExpr::HasId)),
        doc: "an ID hash was sent",
    },
    Field {
        name: "counterpart.KIND",
        ty: "strings",
        read: None,
        doc: "every counterpart of that kind: `phone`, `bank_card`, `url`, `app`, `social_account`, `device`, `ip`",
    },
    Field {
        name: "attr.NAME",
        ty: "string",
        read: None,
        doc: "free attribute, empty if absent",
    },
    Field {
        name: "hour",
        ty: "number",
        read: Some(FieldRead::Num(NumExpr::Hour)),
        doc: "local hour of the event, 0–23",
    },
    Field {
        name: "minute_of_day",
        ty: "number",
        read: Some(FieldRead::Num(NumExpr::MinuteOfDay)),
        doc: "0–1439",
    },
    Field {
        name: "weekday",
        ty: "number",
        read: Some(FieldRead::Num(NumExpr::Weekday)),
        doc: "1 (Monday) – 7 (Sunday)",
    },
    Field {
        name: "window.NAME",
        ty: "number",
        read: None,
        doc: "the value of one of the rule's windows",
    },
    Field {
        name: "true",
        ty: "bool",
        read: Some(FieldRead::Bool(BoolExpr::Const(true))),
        doc: "true",
    },
    Field {
        name: "false",
        ty: "bool",
        read: Some(FieldRead::Bool(BoolExpr::Const(false))),
        doc: "false",
    },
];

/// The plain field at `path` (`subject.age`), if any.
pub fn field(path: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.read.is_some() && f.name == path)
}

/// Every field name, for error messages and name clashes.
pub fn field_names() -> impl Iterator<Item = &'static str> {
    FIELDS.iter().map(|f| f.name)
}

/// The reference tables of `docs/rules.md`, fields then functions.
pub fn markdown_tables() -> String {
    let mut out = String::from("| field | type | meaning |\n|---|---|---|\n");
    for f in FIELDS
        .iter()
        .filter(|f| f.ty != "bool" || f.name.contains('.'))
    {
        out.push_str(&format!("| `{}` | {} | {} |\n", f.name, f.ty, f.doc));
    }
    out.push_str("\n| function | gives | meaning |\n|---|---|---|\n");
    for f in FUNCTIONS {
        out.push_str(&format!("| {} | {} | {} |\n", f.usage, f.returns, f.doc));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regenerate with `cargo test -p dualwarn docs_tables -- --nocapture`
    /// and paste between the markers.
    #[test]
    fn docs_tables_are_rendered_from_the_table() {
        let docs = include_str!("../../../docs/rules.md");
        let begin = "<!-- language tables: begin -->\n";
        let end = "<!-- language tables: end -->";
        let from = docs.find(begin).expect("begin marker") + begin.len();
        let to = docs.find(end).expect("end marker");
        let want = markdown_tables();
        if docs[from..to] != want {
            println!("{want}");
        }
        assert_eq!(docs[from..to], want, "docs/rules.md is out of date");
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<&str> = FUNCTIONS.iter().map(|f| f.name).collect();
        names.extend(field_names());
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n);
    }
}
