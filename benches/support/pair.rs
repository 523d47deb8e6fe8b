//! One real pair, made by the writer from a matching alert: the template
//! the escalation and report benches copy into a province's worth of tasks.

use std::path::Path;
use std::sync::Arc;

use dualwarn::config::Deadlines;
use dualwarn::directory::Directory;
use dualwarn::model::Task;
use dualwarn::normalize::Checks;
use dualwarn::pipeline::{Writer, prepare};
use dualwarn::proto;
use dualwarn::rules::{self, Matcher, window::WindowLimits};
use dualwarn::store::{KnownAlerts, WriterState};

/// The shipped rules' matcher.
pub fn matcher(root: &Path) -> Matcher {
    let rules = Arc::new(rules::load_dir(&root.join("rules")).expect("rules"));
    Matcher::new(rules, WindowLimits::default(), 8)
}

/// The two tasks the writer makes at `now_ms` for a flagged call to a
/// person in the directory's first village.
pub fn template(root: &Path, dir: &Directory, now_ms: i64) -> Vec<Task> {
    let mut w = Writer::from_state(WriterState::default(), Deadlines::default(), matcher(root));
    let alert = proto::Alert {
        source: "bench-telecom".into(),
        source_id: "e-1".into(),
        source_kind: proto::SourceKind::Telecom as i32,
        occurred_at_ms: now_ms - 60_000,
        subject: Some(proto::Subject {
            phone: "13900000001".into(),
            division_code: dir.villages()[0].code.to_string(),
            ..Default::default()
        }),
        counterparts: vec![proto::Artefact {
            kind: proto::ArtefactKind::Phone as i32,
            value: "16200071583".into(),
        }],
        ..Default::default()
    };
    let batch = prepare(
        &proto::AlertBatch {
            sequence: 0,
            alerts: vec![alert],
        },
        dir,
        Checks::at(now_ms),
    );
    let (commit, _) = w.apply_batch(&batch, &KnownAlerts::new(), now_ms);
    assert_eq!(commit.tasks.len(), 2, "the alert makes a pair");
    commit.tasks
}
