//! The *dispatch* stage: turns a decision into tasks — a new pair, one task
//! for the community officer and one for the grid worker, or a duplicate
//! warning joined to an open pair. Between *decide* and *store*; pure, with
//! the clock passed in.

use crate::config::Deadlines;
use crate::enrich::Enriched;
use crate::model::transfer::Routing;
use crate::model::{
    HistoryEntry, Level, Reason, Role, Task, TaskDelta, TaskEventKind, TaskStatus, mask,
};
use crate::rules::{Method, RuleHit};

/// Actor recorded for changes the engine makes.
pub use crate::model::task::ENGINE_ACTOR;

/// Everything a new pair needs besides the alert.
pub struct PairSpec<'a> {
    /// Id of the new pair.
    pub pair_id: &'a str,
    /// Level decided.
    pub level: Level,
    /// Fraud type decided.
    pub fraud_type: &'a str,
    /// Rule set that matched.
    pub rule_set_version: &'a str,
    /// Linked case series (串并案) the graph placed the victim in; empty when none.
    pub series_id: &'a str,
}

/// Makes the two tasks of a new pair, officer first.
pub fn new_pair(
    spec: &PairSpec<'_>,
    item: &Enriched,
    hits: &[RuleHit],
    deadlines: &Deadlines,
    now_ms: i64,
) -> [Task; 2] {
    Role::BOTH.map(|role| new_task(spec, role, item, hits, deadlines, now_ms))
}

fn new_task(
    spec: &PairSpec<'_>,
    role: Role,
    item: &Enriched,
    hits: &[RuleHit],
    deadlines: &Deadlines,
    now_ms: i64,
) -> Task {
    let p = &item.placement;
    let s = &item.alert.subject;
    let division = p.division_code.to_string();
    let due = due_at(deadlines, spec.level, &division, hits, now_ms);
    let steps_due = steps_due(deadlines, spec.level, role, &division, now_ms);
    let r = Routing::of(p, role);
    let mut detail = format!("level {:?}, {} rule(s)", spec.level, hits.len());
    if role == Role::GridWorker && p.grid_inferred {
        detail.push_str("; grid not given, routed to the village's first grid");
    }
    Task {
        id: format!("{}-{}", spec.pair_id, role.tag()),
        pair_id: spec.pair_id.to_string(),
        role,
        division: r.division,
        police_station: r.police_station,
        police_area: r.police_area,
        grid_id: r.grid_id,
        assignee: r.assignee,
        subject_phone_masked: mask::phone(&s.phone),
        subject_name_masked: mask::name(&s.name),
        subject_address_masked: mask::address(&s.address),
        subject_key: s.subject_key(),
        level: spec.level,
        fraud_type: spec.fraud_type.to_string(),
        reasons: reasons(item, hits),
        created_at_ms: now_ms,
        due_at_ms: due,
        status: TaskStatus::Open,
        alert_keys: vec![item.alert.key.0.clone()],
        history: vec![HistoryEntry {
            at_ms: now_ms,
            actor: ENGINE_ACTOR.into(),
            kind: TaskEventKind::Created,
            detail,
        }],
        outcome: None,
        rule_set_version: spec.rule_set_version.to_string(),
        method: if hits.iter().any(|h| h.method == Method::Visit) {
            Method::Visit
        } else {
            Method::Phone
        },
        series_id: spec.series_id.to_string(),
        alert_keys_omitted: 0,
        reasons_omitted: 0,
        merges_omitted: 0,
        follow_ups: Vec::new(),
        escalated: Default::default(),
        transfer: None,
        publicity: Vec::new(),
        brief: None,
        steps_due,
    }
}

/// The step deadlines of a new task, as the policy sets them now.
fn steps_due(
    deadlines: &Deadlines,
    level: Level,
    role: Role,
    division: &str,
    now_ms: i64,
) -> crate::model::StepsDue {
    let Some(s) = deadlines.steps_for(level, role, division) else {
        return crate::model::StepsDue::default();
    };
    let at = |d: Option<std::time::Duration>| {
        d.map_or(0, |d| {
            now_ms.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        })
    };
    let show = |d: Option<std::time::Duration>| {
        d.map_or("-".to_string(), |d| {
            humantime::format_duration(d).to_string()
        })
    };
    let scope = if s.prefix.is_empty() {
        String::new()
    } else {
        format!(" ({})", s.prefix)
    };
    crate::model::StepsDue {
        call_by_ms: at(s.call),
        visit_by_ms: at(s.visit),
        policy: format!(
            "{}/{}: call {}, visit {}{scope}",
            s.level,
            s.role,
            show(s.call),
            show(s.visit)
        ),
    }
}

/// Joins a duplicate warning to an open task: appends the alert and its
/// reasons (both ends kept, the middle counted), raises the level (never
/// lowers it) and pulls the due time in when it rises. Returns the event
/// and the change made, or `None` for a finished task.
pub fn join(
    task: &mut Task,
    item: &Enriched,
    hits: &[RuleHit],
    level: Level,
    deadlines: &Deadlines,
    now_ms: i64,
) -> Option<(TaskEventKind, TaskDelta)> {
    if task.status == TaskStatus::Done {
        return None;
    }
    let key = &item.alert.key.0;
    let (kind, detail) = if level > task.level {
        let detail = format!(
            "duplicate warning {key} raised level {:?} -> {level:?}",
            task.level
        );
        (TaskEventKind::Escalated, detail)
    } else {
        (TaskEventKind::Merged, format!("duplicate warning {key}"))
    };
    let mut delta = TaskDelta::new(HistoryEntry {
        at_ms: now_ms,
        actor: ENGINE_ACTOR.into(),
        kind,
        detail,
    });
    if !task.alert_keys.contains(key) {
        delta.alert_key = Some(key.clone());
    }
    delta.reasons = reasons(item, hits)
        .into_iter()
        .filter(|r| {
            !task
                .reasons
                .iter()
                .any(|x| x.rule_id == r.rule_id && x.alert_key == r.alert_key)
        })
        .collect();
    if task.method != Method::Visit && hits.iter().any(|h| h.method == Method::Visit) {
        delta.method = Some(Method::Visit);
    }
    if level > task.level {
        let division = task.division.to_string();
        delta.level = Some(level);
        delta.due_at_ms = Some(
            task.due_at_ms
                .min(due_at(deadlines, level, &division, hits, now_ms)),
        );
    }
    delta.apply(task);
    Some((kind, delta))
}

fn reasons(item: &Enriched, hits: &[RuleHit]) -> Vec<Reason> {
    hits.iter()
        .map(|h| Reason {
            rule_id: h.rule_id.to_string(),
            why: h.why.render(&item.alert),
            alert_key: item.alert.key.0.clone(),
        })
        .collect()
}

/// The level's deadline in the jurisdiction, or the tightest override a
/// matched rule asks for.
fn due_at(
    deadlines: &Deadlines,
    level: Level,
    division: &str,
    hits: &[RuleHit],
    now_ms: i64,
) -> i64 {
    let within = hits
        .iter()
        .filter_map(|h| h.due_within)
        .min()
        .unwrap_or_else(|| deadlines.due_within(level, division));
    now_ms.saturating_add(i64::try_from(within.as_millis()).unwrap_or(i64::MAX))
}

/// What a publicity pair (宣传任务) for a key area needs.
pub struct PublicitySpec<'a> {
    /// Id of the new pair.
    pub pair_id: &'a str,
    /// Fraud-type code of the key area.
    pub fraud_type: &'a str,
    /// The village's officer and grid worker.
    pub placement: &'a crate::directory::Placement,
    /// Why, with the figures.
    pub brief: crate::model::PublicityBrief,
    /// Rule set whose method found the key area.
    pub rule_set_version: &'a str,
    /// The method's deadline, ms.
    pub deadline_ms: i64,
}

/// Makes the two tasks of a publicity pair, officer first. It has no
/// person behind it: the subject fields name the area, and the subject key
/// is the area's ([`crate::model::publicity::area_key`]).
pub fn publicity_pair(spec: &PublicitySpec<'_>, now_ms: i64) -> [Task; 2] {
    let p = spec.placement;
    let division = p.division_code.to_string();
    Role::BOTH.map(|role| {
        let r = Routing::of(p, role);
        publicity_task(spec, role, r, &division, now_ms)
    })
}

fn publicity_task(
    spec: &PublicitySpec<'_>,
    role: Role,
    r: Routing,
    division: &str,
    now_ms: i64,
) -> Task {
    let p = spec.placement;
    Task {
        id: format!("{}-{}", spec.pair_id, role.tag()),
        pair_id: spec.pair_id.to_string(),
        role,
        division: r.division,
        police_station: r.police_station,
        police_area: r.police_area,
        grid_id: r.grid_id,
        assignee: r.assignee,
        subject_phone_masked: String::new(),
        subject_name_masked: spec.brief.group.clone(),
        subject_address_masked: p.village_name.clone(),
        subject_key: crate::model::publicity::area_key(division, spec.fraud_type),
        level: Level::Low,
        fraud_type: spec.fraud_type.to_string(),
        reasons: vec![Reason {
            rule_id: "key_areas".into(),
            why: spec.brief.why.clone(),
            alert_key: String::new(),
        }],
        created_at_ms: now_ms,
        due_at_ms: now_ms.saturating_add(spec.deadline_ms),
        status: TaskStatus::Open,
        alert_keys: Vec::new(),
        history: vec![HistoryEntry {
            at_ms: now_ms,
            actor: ENGINE_ACTOR.into(),
            kind: TaskEventKind::Created,
            detail: format!("宣传任务 (重点区域 {})", spec.brief.day),
        }],
        outcome: None,
        rule_set_version: spec.rule_set_version.to_string(),
        method: Method::Visit,
        series_id: String::new(),
        alert_keys_omitted: 0,
        reasons_omitted: 0,
        merges_omitted: 0,
        follow_ups: Vec::new(),
        escalated: Default::default(),
        transfer: None,
        publicity: Vec::new(),
        brief: Some(spec.brief.clone()),
        steps_due: Default::default(),
    }
}
