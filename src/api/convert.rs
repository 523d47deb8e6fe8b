//! Conversions between domain types and wire types, in one place.

use crate::error::Error;
use crate::model::calendar::parse_date;
use crate::model::{
    Level, Outcome, OutcomeCode, PublicityMethod, Role, Task, TaskEventKind, TaskEventRecord,
    TaskStatus,
};
use crate::proto;

/// A task as consoles see it (the subject is already masked on the task).
pub fn task_to_proto(t: &Task) -> proto::Task {
    proto::Task {
        call_by_ms: t.steps_due.call_by_ms,
        visit_by_ms: t.steps_due.visit_by_ms,
        deadline_policy: t.steps_due.policy.clone(),
        publicity: t
            .publicity
            .iter()
            .map(|p| proto::PublicityRecord {
                at_ms: p.at_ms,
                method: publicity_method_to_proto(p.method) as i32,
                done: p.done,
                households: p.households,
                note: p.note.clone(),
            })
            .collect(),
        brief: t.brief.as_ref().map(|b| proto::PublicityBrief {
            day: b.day.clone(),
            group: b.group.clone(),
            window_count: b.window_count,
            baseline_mean: b.baseline_mean_tenths as f64 / 10.0,
            why: b.why.clone(),
        }),
        id: t.id.clone(),
        pair_id: t.pair_id.clone(),
        role: role_to_proto(t.role) as i32,
        jurisdiction: Some(proto::Jurisdiction {
            division_code: t.division.to_string(),
            police_area: t.police_area.clone(),
            grid_id: t.grid_id.clone(),
            police_station: t.police_station.clone(),
        }),
        assignee: Some(proto::Assignee {
            id: t.assignee.id.clone(),
            name: t.assignee.name.clone(),
        }),
        subject: Some(proto::MaskedSubject {
            phone: t.subject_phone_masked.clone(),
            name: t.subject_name_masked.clone(),
            address: t.subject_address_masked.clone(),
            subject_key: t.subject_key.clone(),
        }),
        level: level_to_proto(t.level) as i32,
        fraud_type: t.fraud_type.clone(),
        reasons: t
            .reasons
            .iter()
            .map(|r| proto::Reason {
                rule_id: r.rule_id.clone(),
                why: r.why.clone(),
                alert_key: r.alert_key.clone(),
            })
            .collect(),
        created_at_ms: t.created_at_ms,
        due_at_ms: t.due_at_ms,
        status: status_to_proto(t.status) as i32,
        alert_keys: t.alert_keys.clone(),
        history: t
            .history
            .iter()
            .map(|h| proto::HistoryEntry {
                at_ms: h.at_ms,
                actor: h.actor.clone(),
                kind: event_kind_to_proto(h.kind) as i32,
                detail: h.detail.clone(),
            })
            .collect(),
        outcome: t.outcome.as_ref().map(outcome_to_proto),
        rule_set_version: t.rule_set_version.clone(),
        method: match t.method {
            crate::rules::Method::Phone => "phone".into(),
            crate::rules::Method::Visit => "visit".into(),
        },
        series_id: t.series_id.clone(),
        alert_keys_omitted: t.alert_keys_omitted,
        reasons_omitted: t.reasons_omitted,
        merges_omitted: t.merges_omitted,
        version: t.version(),
        transfer: t.transfer.as_ref().map(|x| proto::Transfer {
            to_division_code: x.to_division.clone(),
            requested_by: x.requested_by.clone(),
            requested_at_ms: x.requested_at_ms,
            reason: x.reason.clone(),
        }),
        escalated: match t.escalated {
            crate::model::Escalated::No => proto::Escalation::None,
            crate::model::Escalated::Station => proto::Escalation::Station,
            crate::model::Escalated::Centre => proto::Escalation::Centre,
        } as i32,
        follow_ups: t
            .follow_ups
            .iter()
            .map(|f| proto::FollowUp {
                round: f.round,
                due_at_ms: f.due_at_ms,
                done_at_ms: f.done_at_ms,
                note: f.note.clone(),
            })
            .collect(),
    }
}

/// An event as watchers see it.
pub fn event_to_proto(e: &TaskEventRecord) -> proto::TaskEvent {
    proto::TaskEvent {
        resume_token: e.seq.to_string(),
        kind: event_kind_to_proto(e.kind) as i32,
        task: Some(task_to_proto(&e.task)),
    }
}

fn role_to_proto(r: Role) -> proto::Role {
    match r {
        Role::PoliceOfficer => proto::Role::PoliceOfficer,
        Role::GridWorker => proto::Role::GridWorker,
    }
}

fn level_to_proto(l: Level) -> proto::Level {
    match l {
        Level::High => proto::Level::High,
        Level::Medium => proto::Level::Medium,
        Level::Low => proto::Level::Low,
    }
}

fn status_to_proto(s: TaskStatus) -> proto::TaskStatus {
    match s {
        TaskStatus::Open => proto::TaskStatus::Open,
        TaskStatus::Acknowledged => proto::TaskStatus::Acknowledged,
        TaskStatus::InProgress => proto::TaskStatus::InProgress,
        TaskStatus::Done => proto::TaskStatus::Done,
    }
}

fn event_kind_to_proto(k: TaskEventKind) -> proto::TaskEventKind {
    match k {
        TaskEventKind::Created => proto::TaskEventKind::Created,
        TaskEventKind::Merged => proto::TaskEventKind::Merged,
        TaskEventKind::Acknowledged => proto::TaskEventKind::Acknowledged,
        TaskEventKind::Outcome => proto::TaskEventKind::Outcome,
        TaskEventKind::Escalated => proto::TaskEventKind::Escalated,
        TaskEventKind::Called => proto::TaskEventKind::Called,
        TaskEventKind::Visited => proto::TaskEventKind::Visited,
        TaskEventKind::FollowUpScheduled => proto::TaskEventKind::FollowUpScheduled,
        TaskEventKind::FollowUpDone => proto::TaskEventKind::FollowUpDone,
        TaskEventKind::Overdue => proto::TaskEventKind::Overdue,
        TaskEventKind::Renotified => proto::TaskEventKind::Renotified,
        TaskEventKind::TransferRequested => proto::TaskEventKind::TransferRequested,
        TaskEventKind::TransferApproved => proto::TaskEventKind::TransferApproved,
        TaskEventKind::TransferRefused => proto::TaskEventKind::TransferRefused,
        TaskEventKind::Publicized => proto::TaskEventKind::Publicized,
    }
}

fn publicity_method_to_proto(m: PublicityMethod) -> proto::PublicityMethod {
    match m {
        PublicityMethod::Door => proto::PublicityMethod::Door,
        PublicityMethod::Phone => proto::PublicityMethod::Phone,
        PublicityMethod::GroupChat => proto::PublicityMethod::GroupChat,
        PublicityMethod::Poster => proto::PublicityMethod::Poster,
        PublicityMethod::Meeting => proto::PublicityMethod::Meeting,
    }
}

/// A publicity method from the wire; it must be set.
pub fn publicity_method(v: i32) -> Result<PublicityMethod, Error> {
    match proto::PublicityMethod::try_from(v) {
        Ok(proto::PublicityMethod::Door) => Ok(PublicityMethod::Door),
        Ok(proto::PublicityMethod::Phone) => Ok(PublicityMethod::Phone),
        Ok(proto::PublicityMethod::GroupChat) => Ok(PublicityMethod::GroupChat),
        Ok(proto::PublicityMethod::Poster) => Ok(PublicityMethod::Poster),
        Ok(proto::PublicityMethod::Meeting) => Ok(PublicityMethod::Meeting),
        _ => Err(Error::invalid(
            "method",
            format!("{v} is not door, phone, group_chat, poster or meeting"),
        )),
    }
}

/// Optional role filter; `UNSPECIFIED` means any.
pub fn role_filter(v: i32) -> Result<Option<Role>, Error> {
    match proto::Role::try_from(v) {
        Ok(proto::Role::Unspecified) => Ok(None),
        Ok(proto::Role::PoliceOfficer) => Ok(Some(Role::PoliceOfficer)),
        Ok(proto::Role::GridWorker) => Ok(Some(Role::GridWorker)),
        Err(_) => Err(Error::invalid("role", format!("{v} is not a known role"))),
    }
}

/// Optional level filter.
pub fn level_filter(v: i32) -> Result<Option<Level>, Error> {
    match proto::Level::try_from(v) {
        Ok(proto::Level::Unspecified) => Ok(None),
        Ok(proto::Level::High) => Ok(Some(Level::High)),
        Ok(proto::Level::Medium) => Ok(Some(Level::Medium)),
        Ok(proto::Level::Low) => Ok(Some(Level::Low)),
        Err(_) => Err(Error::invalid("level", format!("{v} is not a known level"))),
    }
}

/// Optional status filter.
pub fn status_filter(v: i32) -> Result<Option<TaskStatus>, Error> {
    match proto::TaskStatus::try_from(v) {
        Ok(proto::TaskStatus::Unspecified) => Ok(None),
        Ok(proto::TaskStatus::Open) => Ok(Some(TaskStatus::Open)),
        Ok(proto::TaskStatus::Acknowledged) => Ok(Some(TaskStatus::Acknowledged)),
        Ok(proto::TaskStatus::InProgress) => Ok(Some(TaskStatus::InProgress)),
        Ok(proto::TaskStatus::Done) => Ok(Some(TaskStatus::Done)),
        Err(_) => Err(Error::invalid(
            "status",
            format!("{v} is not a known status"),
        )),
    }
}

/// `[start, end)` unix ms of local day `YYYY-MM-DD` at `utc_offset_hours`.
pub fn day_range(day: &str, utc_offset_hours: i32) -> Result<(i64, i64), Error> {
    let bad = || Error::invalid("created_day", format!("{day:?} is not a date YYYY-MM-DD"));
    let days = parse_date(day).ok_or_else(bad)?;
    let start = days * 86_400_000 - i64::from(utc_offset_hours) * 3_600_000;
    Ok((start, start + 86_400_000))
}

pub use crate::model::calendar::local_time;

/// Checks a reported outcome and converts it; every enum must be set.
pub fn outcome_from_proto(o: Option<&proto::Outcome>) -> Result<Outcome, Error> {
    use proto::outcome::{Defrauded, Reached, StoppedBy, Visit};
    let o = o.ok_or_else(|| Error::invalid("outcome", "missing"))?;
    let reached = match Reached::try_from(o.reached) {
        Ok(Reached::Person) => "person",
        Ok(Reached::Relative) => "relative",
        Ok(Reached::Nobody) => "nobody",
        _ => {
            return Err(Error::invalid(
                "outcome.reached",
                format!("{} is not self, relative or nobody", o.reached),
            ));
        }
    };
    let defrauded = match Defrauded::try_from(o.defrauded) {
        Ok(Defrauded::No) => "no",
        Ok(Defrauded::Yes) => "yes",
        Ok(Defrauded::Unspecified) => "",
        Err(_) => {
            return Err(Error::invalid(
                "outcome.defrauded",
                format!("{} is not a known value", o.defrauded),
            ));
        }
    };
    let stopped_by = match StoppedBy::try_from(o.stopped_by) {
        Ok(StoppedBy::SelfAware) => "self_aware",
        Ok(StoppedBy::Dissuasion) => "dissuasion",
        Ok(StoppedBy::None) => "none",
        Ok(StoppedBy::Unspecified) => "",
        Err(_) => {
            return Err(Error::invalid(
                "outcome.stopped_by",
                format!("{} is not a known value", o.stopped_by),
            ));
        }
    };
    let visit = match Visit::try_from(o.visit) {
        Ok(Visit::None) => "none",
        Ok(Visit::Done) => "done",
        Ok(Visit::Ineffective) => "ineffective",
        Ok(Visit::Unspecified) => "",
        Err(_) => {
            return Err(Error::invalid(
                "outcome.visit",
                format!("{} is not a known value", o.visit),
            ));
        }
    };
    if o.amount_lost_fen < 0 || o.amount_saved_fen < 0 {
        return Err(Error::invalid(
            "outcome.amount_lost_fen",
            "amounts must not be negative",
        ));
    }
    if o.note.chars().count() > 2000
        || o.not_connected_reason.chars().count() > 256
        || o.fraud_type.len() > 64
    {
        return Err(Error::invalid(
            "outcome.note",
            "text too long (note ≤ 2000, reason ≤ 256, fraud_type ≤ 64)",
        ));
    }
    let code = match proto::OutcomeCode::try_from(o.code) {
        Ok(proto::OutcomeCode::Unspecified) => OutcomeCode::Unspecified,
        Ok(proto::OutcomeCode::Dissuaded) => OutcomeCode::Dissuaded,
        Ok(proto::OutcomeCode::NotFoundYet) => OutcomeCode::NotFoundYet,
        Ok(proto::OutcomeCode::CannotBeFound) => OutcomeCode::CannotBeFound,
        Ok(proto::OutcomeCode::Mismatch) => OutcomeCode::Mismatch,
        Ok(proto::OutcomeCode::Duplicate) => OutcomeCode::Duplicate,
        Ok(proto::OutcomeCode::Defrauded) => OutcomeCode::Defrauded,
        Err(_) => {
            return Err(Error::invalid(
                "outcome.code",
                format!("{} is not a known outcome code", o.code),
            ));
        }
    };
    Ok(Outcome {
        code,
        reached: reached.into(),
        connected: o.connected,
        not_connected_reason: o.not_connected_reason.clone(),
        defrauded: defrauded.into(),
        stopped_by: stopped_by.into(),
        visit: visit.into(),
        amount_lost_fen: o.amount_lost_fen,
        amount_saved_fen: o.amount_saved_fen,
        fraud_type: o.fraud_type.clone(),
        follow_up_needed: o.follow_up_needed,
        note: o.note.clone(),
    })
}

fn outcome_to_proto(o: &Outcome) -> proto::Outcome {
    use proto::outcome::{Defrauded, Reached, StoppedBy, Visit};
    proto::Outcome {
        code: match o.code {
            OutcomeCode::Unspecified => proto::OutcomeCode::Unspecified,
            OutcomeCode::Dissuaded => proto::OutcomeCode::Dissuaded,
            OutcomeCode::NotFoundYet => proto::OutcomeCode::NotFoundYet,
            OutcomeCode::CannotBeFound => proto::OutcomeCode::CannotBeFound,
            OutcomeCode::Mismatch => proto::OutcomeCode::Mismatch,
            OutcomeCode::Duplicate => proto::OutcomeCode::Duplicate,
            OutcomeCode::Defrauded => proto::OutcomeCode::Defrauded,
        } as i32,
        reached: match o.reached.as_str() {
            "person" => Reached::Person,
            "relative" => Reached::Relative,
            "nobody" => Reached::Nobody,
            _ => Reached::Unspecified,
        } as i32,
        connected: o.connected,
        not_connected_reason: o.not_connected_reason.clone(),
        defrauded: match o.defrauded.as_str() {
            "no" => Defrauded::No,
            "yes" => Defrauded::Yes,
            _ => Defrauded::Unspecified,
        } as i32,
        stopped_by: match o.stopped_by.as_str() {
            "self_aware" => StoppedBy::SelfAware,
            "dissuasion" => StoppedBy::Dissuasion,
            "none" => StoppedBy::None,
            _ => StoppedBy::Unspecified,
        } as i32,
        visit: match o.visit.as_str() {
            "none" => Visit::None,
            "done" => Visit::Done,
            "ineffective" => Visit::Ineffective,
            _ => Visit::Unspecified,
        } as i32,
        amount_lost_fen: o.amount_lost_fen,
        amount_saved_fen: o.amount_saved_fen,
        fraud_type: o.fraud_type.clone(),
        follow_up_needed: o.follow_up_needed,
        note: o.note.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_day_starts_at_local_midnight() {
        // 2026-11-23 00:00 +08:00 is 2026-11-22 16:00 UTC.
        let (a, b) = day_range("2026-11-23", 8).unwrap();
        assert_eq!(a, 1_795_363_200_000);
        assert_eq!(b - a, 86_400_000);
    }

    #[test]
    fn local_time_round_trips_day_range() {
        let (a, _) = day_range("2024-02-29", 8).unwrap();
        assert_eq!(local_time(a, 8), "2024-02-29 00:00");
        assert_eq!(local_time(a + 86_399_999, 8), "2024-02-29 23:59");
        assert_eq!(local_time(0, 0), "1970-01-01 00:00");
    }

    #[test]
    fn bad_day_names_the_field() {
        let e = day_range("2026-02-30", 8).unwrap_err().to_string();
        assert!(e.contains("created_day") && e.contains("2026-02-30"), "{e}");
    }
}
