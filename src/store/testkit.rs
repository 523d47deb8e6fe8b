//! Shared fixtures for the store's unit tests: a directory, a one-rule
//! set, and a way to apply and commit a batch as the writer thread does.

use std::path::Path;
use std::sync::{Arc, LazyLock};

use super::{Commit, EmbeddedStore, Store};
use crate::directory::Directory;
use crate::pipeline::{Writer, prepare};
use crate::proto;
use crate::rules::RuleSet;

/// 2024-06-01T00:00:00Z.
pub(super) const NOW: i64 = 1_717_200_000_000;

pub(super) static DIR: LazyLock<Directory> = LazyLock::new(|| {
    Directory::load(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/directory/directory.json"
    )))
    .unwrap()
});
static RULES: LazyLock<Arc<RuleSet>> = LazyLock::new(|| {
    let files = vec![crate::rules::source::SourceFile {
        path: "test.toml".into(),
        text: "[[rule]]\nid = \"reported\"\nname = \"n\"\ndescription = \"d\"\nlevel = \"high\"\ncondition = 'source_kind == \"police_report\"'\n".into(),
    }];
    Arc::new(crate::rules::compile_set(&files).unwrap())
});

pub(super) fn matcher() -> crate::rules::Matcher {
    crate::rules::Matcher::new(
        RULES.clone(),
        crate::rules::window::WindowLimits::default(),
        8,
    )
}

/// First and last village of the bundled directory: two prefectures.
pub(super) fn villages() -> [String; 2] {
    let v = DIR.villages();
    [v[0].code.to_string(), v[v.len() - 1].code.to_string()]
}

/// A 110 report (high under the bundled rules) about person `n` living in `village`.
pub(super) fn report(source_id: &str, n: usize, village: &str) -> proto::Alert {
    proto::Alert {
        source: "test-src".into(),
        source_id: source_id.into(),
        source_kind: proto::SourceKind::PoliceReport as i32,
        occurred_at_ms: NOW - 60_000,
        subject: Some(proto::Subject {
            phone: format!("139{n:08}"),
            division_code: village.into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Applies one batch and commits it, as the writer thread does.
pub(super) fn apply(store: &EmbeddedStore, w: &mut Writer, alerts: Vec<proto::Alert>) -> Commit {
    apply_at(store, w, alerts, NOW)
}

/// [`apply`] with the writer's clock at `now`.
pub(super) fn apply_at(
    store: &EmbeddedStore,
    w: &mut Writer,
    alerts: Vec<proto::Alert>,
    now: i64,
) -> Commit {
    let batch = prepare(
        &proto::AlertBatch {
            sequence: 1,
            alerts,
        },
        &DIR,
        crate::normalize::Checks::at(now),
    );
    assert!(batch.rejections.is_empty(), "{:?}", batch.rejections);
    let keys: Vec<&str> = batch
        .items
        .iter()
        .map(|p| p.item.alert.key.0.as_str())
        .collect();
    let known = store.known_alerts(&keys).unwrap();
    let (commit, _) = w.apply_batch(&batch, &known, now);
    store.commit(&commit).unwrap();
    commit
}
