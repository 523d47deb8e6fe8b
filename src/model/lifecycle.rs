//! The work on one task after dispatch, as stations and grid workers do it
//! (domain.md, "The work after the pair"): 派发 → 签收 → 电话劝阻 → 上门 →
//! 反馈 → 回访. A step may be skipped (a low-level task may close after a
//! call). [`plan`] turns a step into the [`TaskDelta`] it makes, or says
//! why it cannot be made: pure, with the clock passed in. Every step names
//! the version of the task it was based on; a stale one changes nothing.

use serde::{Deserialize, Serialize};

use super::task::{HistoryEntry, Outcome, Task, TaskEventKind, TaskStatus};
use super::task_delta::TaskDelta;

/// The fixed outcome codes of real feedback forms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeCode {
    /// Not given (outcomes stored before codes existed).
    #[default]
    Unspecified,
    /// 已劝阻: dissuaded.
    Dissuaded,
    /// 暂时找不到: not found yet; the task stays open with a new deadline.
    NotFoundYet,
    /// 确实找不到: cannot be found; closes, and goes to supervision.
    CannotBeFound,
    /// 不符: wrong person or wrong data.
    Mismatch,
    /// 重复预警: a duplicate of another warning.
    Duplicate,
    /// 已被骗: already defrauded (amount lost; referred as a case).
    Defrauded,
}

impl OutcomeCode {
    /// The code as the forms write it.
    pub fn label(self) -> &'static str {
        match self {
            OutcomeCode::Unspecified => "",
            OutcomeCode::Dissuaded => "已劝阻",
            OutcomeCode::NotFoundYet => "暂时找不到",
            OutcomeCode::CannotBeFound => "确实找不到",
            OutcomeCode::Mismatch => "不符",
            OutcomeCode::Duplicate => "重复预警",
            OutcomeCode::Defrauded => "已被骗",
        }
    }

    /// True when the outcome closes the task.
    pub fn closes(self) -> bool {
        !matches!(self, OutcomeCode::NotFoundYet | OutcomeCode::Unspecified)
    }
}

/// One step of the work on a task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// 签收: sign for it.
    Acknowledge,
    /// 电话劝阻: a phone attempt, connected or not (with why not).
    Call {
        /// The call connected.
        connected: bool,
        /// Why not: refused, blocked the number, switched off...
        reason: String,
    },
    /// 上门: a visit, the person met or not.
    Visit {
        /// The person was met.
        met: bool,
        /// What happened at the door (never personal data).
        note: String,
    },
    /// 反馈: the outcome, with its code.
    Report(Outcome),
    /// 回访: schedule a follow-up round, on a closed task.
    ScheduleFollowUp {
        /// When it is due, unix ms.
        due_at_ms: i64,
        /// What to check.
        note: String,
    },
    /// 回访 done: the round scheduled last.
    FollowUpDone {
        /// What the round found.
        note: String,
    },
    /// 宣传: publicity given (双宣传 on a pair's task, at any stage), or a
    /// publicity task's work, which closes it when done.
    Publicity {
        /// How.
        method: super::publicity::PublicityMethod,
        /// Done, or tried and not done.
        done: bool,
        /// Households reached.
        households: u32,
        /// Note (no personal data).
        note: String,
    },
}

/// Why a step cannot be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    /// The task changed since the caller read it.
    #[error(
        "task {task} is at version {current}, the change was based on version {based_on}; read it again"
    )]
    Stale {
        /// Task id.
        task: String,
        /// Its version now.
        current: u64,
        /// The version the caller gave.
        based_on: u64,
    },
    /// Work steps need an open task; follow-ups a closed one.
    #[error("task {task} is {status}: {why}")]
    WrongState {
        /// Task id.
        task: String,
        /// Its status.
        status: &'static str,
        /// What the step needs.
        why: &'static str,
    },
    /// A field of the step is invalid.
    #[error("{field}: {why}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        why: String,
    },
}

/// A follow-up round (回访) of a closed task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUp {
    /// 1 for the first round.
    pub round: u32,
    /// When it is due, unix ms.
    pub due_at_ms: i64,
    /// When it was done, unix ms; 0 while open.
    pub done_at_ms: i64,
    /// What to check, then what was found.
    pub note: String,
}

fn status_name(s: TaskStatus) -> &'static str {
    match s {
        TaskStatus::Open => "open",
        TaskStatus::Acknowledged => "acknowledged",
        TaskStatus::InProgress => "in progress",
        TaskStatus::Done => "closed",
    }
}

/// Most characters of a free text in a step.
const MAX_NOTE_CHARS: usize = 200;

fn note(field: &'static str, text: &str) -> Result<String, StepError> {
    if text.chars().count() > MAX_NOTE_CHARS {
        return Err(StepError::Invalid {
            field,
            why: format!("at most {MAX_NOTE_CHARS} characters"),
        });
    }
    // A number in a note is masked as in any echo: notes are shown to consoles.
    Ok(super::mask::bounded(text, MAX_NOTE_CHARS))
}

/// The change `step` makes to `task` at `now_ms`, by `actor`, based on
/// version `based_on`. `retry_ms` is the new deadline's distance for
/// 暂时找不到.
pub fn plan(
    task: &Task,
    step: &Step,
    based_on: u64,
    actor: &str,
    now_ms: i64,
    retry_ms: i64,
) -> Result<TaskDelta, StepError> {
    let current = task.version();
    if based_on != current {
        return Err(StepError::Stale {
            task: task.id.clone(),
            current,
            based_on,
        });
    }
    let closed = task.status == TaskStatus::Done;
    let wrong = |why| StepError::WrongState {
        task: task.id.clone(),
        status: status_name(task.status),
        why,
    };
    let entry = |kind, detail: String| HistoryEntry {
        at_ms: now_ms,
        actor: actor.into(),
        kind,
        detail,
    };
    let delta = match step {
        Step::Publicity {
            method,
            done,
            households,
            note: text,
        } => {
            let text = note("note", text)?;
            if task.publicity.len() >= super::publicity::MAX_RECORDS {
                return Err(wrong("it holds the most publicity records a task keeps"));
            }
            let is_task = task.brief.is_some();
            if is_task && closed {
                return Err(wrong("the publicity task is done"));
            }
            if is_task && *done && *households == 0 {
                return Err(StepError::Invalid {
                    field: "households",
                    why: "a publicity task done needs the households reached".into(),
                });
            }
            let status = if is_task {
                Some(if *done {
                    TaskStatus::Done
                } else {
                    TaskStatus::InProgress
                })
            } else {
                None
            };
            let detail = format!(
                "{}宣传{}, {} 户{}",
                method.label(),
                if *done { "已完成" } else { "未完成" },
                households,
                sep(&text)
            );
            TaskDelta {
                status,
                publicity: Some(super::publicity::PublicityRecord {
                    at_ms: now_ms,
                    method: *method,
                    done: *done,
                    households: *households,
                    note: text,
                }),
                ..TaskDelta::new(entry(TaskEventKind::Publicized, detail))
            }
        }
        Step::Call { .. } | Step::Visit { .. } | Step::Report(_) if task.brief.is_some() => {
            return Err(wrong(
                "a publicity task (宣传任务) is worked with RecordPublicity",
            ));
        }
        Step::Acknowledge | Step::Call { .. } | Step::Visit { .. } | Step::Report(_) if closed => {
            return Err(wrong(
                "the work on it is over; schedule a follow-up round instead",
            ));
        }
        Step::Acknowledge => {
            if task.status != TaskStatus::Open {
                return Err(wrong("it was signed for already"));
            }
            TaskDelta {
                status: Some(TaskStatus::Acknowledged),
                ..TaskDelta::new(entry(TaskEventKind::Acknowledged, String::new()))
            }
        }
        Step::Call { connected, reason } => {
            let reason = note("reason", reason)?;
            if !connected && reason.is_empty() {
                return Err(StepError::Invalid {
                    field: "reason",
                    why: "a call that did not connect needs a reason".into(),
                });
            }
            let detail = if *connected {
                "接通".to_string()
            } else {
                format!("未接通: {reason}")
            };
            TaskDelta {
                status: Some(TaskStatus::InProgress),
                ..TaskDelta::new(entry(TaskEventKind::Called, detail))
            }
        }
        Step::Visit { met, note: text } => {
            let text = note("note", text)?;
            let detail = format!("{}{}", if *met { "见面" } else { "未见到" }, sep(&text));
            TaskDelta {
                status: Some(TaskStatus::InProgress),
                ..TaskDelta::new(entry(TaskEventKind::Visited, detail))
            }
        }
        Step::Report(outcome) => {
            if outcome.code == OutcomeCode::Unspecified {
                return Err(StepError::Invalid {
                    field: "outcome.code",
                    why: "an outcome needs its code (已劝阻, 暂时找不到, 确实找不到, 不符, 重复预警, 已被骗)".into(),
                });
            }
            if outcome.code == OutcomeCode::Defrauded && outcome.amount_lost_fen <= 0 {
                return Err(StepError::Invalid {
                    field: "outcome.amount_lost_fen",
                    why: "已被骗 needs the amount lost".into(),
                });
            }
            let detail = format!(
                "{}; reached {}, defrauded {}, follow-up {}",
                outcome.code.label(),
                outcome.reached,
                outcome.defrauded,
                outcome.follow_up_needed
            );
            let closes = outcome.code.closes();
            TaskDelta {
                status: Some(if closes {
                    TaskStatus::Done
                } else {
                    TaskStatus::InProgress
                }),
                due_at_ms: (!closes).then_some(now_ms.saturating_add(retry_ms)),
                // A new deadline starts a new round of escalation.
                escalated: (!closes).then_some(super::escalation::Escalated::No),
                outcome: Some(outcome.clone()),
                ..TaskDelta::new(entry(TaskEventKind::Outcome, detail))
            }
        }
        Step::ScheduleFollowUp {
            due_at_ms,
            note: text,
        } => {
            if !closed {
                return Err(wrong("a follow-up round comes after the outcome"));
            }
            if task.follow_ups.last().is_some_and(|f| f.done_at_ms == 0) {
                return Err(wrong("its last follow-up round is still open"));
            }
            if *due_at_ms <= now_ms {
                return Err(StepError::Invalid {
                    field: "due_at_ms",
                    why: format!("{due_at_ms} is not in the future"),
                });
            }
            let text = note("note", text)?;
            let round = task.follow_ups.len() as u32 + 1;
            TaskDelta {
                follow_up: Some(FollowUp {
                    round,
                    due_at_ms: *due_at_ms,
                    done_at_ms: 0,
                    note: text.clone(),
                }),
                ..TaskDelta::new(entry(
                    TaskEventKind::FollowUpScheduled,
                    format!("第{round}轮回访{}", sep(&text)),
                ))
            }
        }
        Step::FollowUpDone { note: text } => {
            let Some(last) = task.follow_ups.last().filter(|f| f.done_at_ms == 0) else {
                return Err(wrong("it has no open follow-up round"));
            };
            let text = note("note", text)?;
            TaskDelta {
                follow_up: Some(FollowUp {
                    done_at_ms: now_ms,
                    note: text.clone(),
                    ..last.clone()
                }),
                ..TaskDelta::new(entry(
                    TaskEventKind::FollowUpDone,
                    format!("第{}轮回访完成{}", last.round, sep(&text)),
                ))
            }
        }
    };
    Ok(delta)
}

/// `": text"`, or nothing for an empty text: a note after a history detail.
pub(super) fn sep(text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!(": {text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::task_delta::tests::task;

    const NOW: i64 = 1_000_000;
    const HOUR: i64 = 3_600_000;

    fn step(t: &mut Task, s: Step) -> Result<(), StepError> {
        let d = plan(t, &s, t.version(), "w", NOW, HOUR)?;
        d.apply(t);
        Ok(())
    }

    fn report(code: OutcomeCode) -> Step {
        Step::Report(Outcome {
            code,
            amount_lost_fen: 100,
            ..Outcome::default()
        })
    }

    #[test]
    fn a_stale_version_is_refused_and_names_both() {
        let t = task();
        let e = plan(&t, &Step::Acknowledge, t.version() + 1, "w", NOW, HOUR).unwrap_err();
        assert_eq!(
            e,
            StepError::Stale {
                task: t.id.clone(),
                current: 1,
                based_on: 2
            }
        );
    }

    #[test]
    fn every_step_bumps_the_version_by_one() {
        let mut t = task();
        for s in [
            Step::Acknowledge,
            Step::Call {
                connected: true,
                reason: String::new(),
            },
            Step::Visit {
                met: true,
                note: String::new(),
            },
            report(OutcomeCode::Dissuaded),
        ] {
            let v = t.version();
            step(&mut t, s).unwrap();
            assert_eq!(t.version(), v + 1);
        }
        assert_eq!(t.status, TaskStatus::Done);
    }

    #[test]
    fn not_found_yet_keeps_it_open_with_a_new_deadline() {
        let mut t = task();
        step(&mut t, report(OutcomeCode::NotFoundYet)).unwrap();
        assert_eq!(
            (t.status, t.due_at_ms),
            (TaskStatus::InProgress, NOW + HOUR)
        );
        step(&mut t, report(OutcomeCode::CannotBeFound)).unwrap();
        assert_eq!(t.status, TaskStatus::Done);
    }

    #[test]
    fn a_report_needs_its_code_and_defrauded_its_amount() {
        let mut t = task();
        assert!(matches!(
            step(&mut t, report(OutcomeCode::Unspecified)),
            Err(StepError::Invalid {
                field: "outcome.code",
                ..
            })
        ));
        let no_amount = Step::Report(Outcome {
            code: OutcomeCode::Defrauded,
            ..Outcome::default()
        });
        assert!(matches!(
            step(&mut t, no_amount),
            Err(StepError::Invalid {
                field: "outcome.amount_lost_fen",
                ..
            })
        ));
    }

    #[test]
    fn follow_ups_come_after_the_outcome_one_round_at_a_time() {
        let mut t = task();
        let schedule = |due| Step::ScheduleFollowUp {
            due_at_ms: due,
            note: "回访".into(),
        };
        assert!(matches!(
            step(&mut t, schedule(NOW + HOUR)),
            Err(StepError::WrongState { .. })
        ));
        step(&mut t, report(OutcomeCode::Dissuaded)).unwrap();
        assert!(matches!(
            step(&mut t, schedule(NOW - 1)),
            Err(StepError::Invalid {
                field: "due_at_ms",
                ..
            })
        ));
        step(&mut t, schedule(NOW + HOUR)).unwrap();
        assert!(step(&mut t, schedule(NOW + 2 * HOUR)).is_err());
        step(&mut t, Step::FollowUpDone { note: "好".into() }).unwrap();
        step(&mut t, schedule(NOW + 2 * HOUR)).unwrap();
        let rounds: Vec<_> = t
            .follow_ups
            .iter()
            .map(|f| (f.round, f.done_at_ms))
            .collect();
        assert_eq!(rounds, [(1, NOW), (2, 0)]);
        assert!(matches!(
            step(&mut t, Step::Acknowledge),
            Err(StepError::WrongState { .. })
        ));
    }

    #[test]
    fn a_number_in_a_note_is_masked() {
        let mut t = task();
        step(
            &mut t,
            Step::Visit {
                met: false,
                note: "邻居说打13912345678".into(),
            },
        )
        .unwrap();
        let detail = &t.history.last().unwrap().detail;
        assert!(!detail.contains("13912345678"), "{detail}");
    }
}
