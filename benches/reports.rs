//! The daily task list (任务清单) and the supervision figures over 100,000
//! tasks (50,000 pairs, a big city's busiest fortnight in one list), a
//! third of them worked to an outcome. Timed without the store: folding the
//! tasks into rows and figures, and writing the XLSX or CSV file.
//!
//! `cargo bench --bench reports`

use std::path::Path;

#[path = "support/pair.rs"]
mod pair;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dualwarn::directory::Directory;
use dualwarn::model::{HistoryEntry, Outcome, OutcomeCode, Task, TaskEventKind, TaskStatus};
use dualwarn::report::{DailyBuilder, Supervision, sheet};
use pair::template;

/// Tasks under `cargo bench`; `cargo test --all-targets` runs each bench
/// once, on a small list.
fn tasks_n() -> usize {
    if std::env::args().any(|a| a == "--bench") {
        100_000
    } else {
        1_000
    }
}
const NOW_MS: i64 = 1_795_363_200_000;

/// `n` tasks like the template's; every third worked to an outcome.
fn city(root: &Path, dir: &Directory) -> Vec<Task> {
    let pair = template(root, dir, NOW_MS);
    let codes = [
        OutcomeCode::Dissuaded,
        OutcomeCode::Mismatch,
        OutcomeCode::Defrauded,
        OutcomeCode::CannotBeFound,
    ];
    (0..tasks_n())
        .map(|i| {
            let mut t = pair[i % 2].clone();
            t.pair_id = format!("P{:010}", i / 2);
            t.id = format!("{}-{}", t.pair_id, t.role.tag());
            if i % 3 == 0 {
                let code = codes[(i / 3) % codes.len()];
                for (kind, at, detail) in [
                    (TaskEventKind::Acknowledged, 60_000, ""),
                    (TaskEventKind::Called, 120_000, "接通"),
                    (TaskEventKind::Outcome, 900_000, code.label()),
                ] {
                    t.history.push(HistoryEntry {
                        at_ms: NOW_MS + at,
                        actor: "bench".into(),
                        kind,
                        detail: detail.into(),
                    });
                }
                t.status = TaskStatus::Done;
                t.outcome = Some(Outcome {
                    code,
                    reached: "person".into(),
                    amount_lost_fen: 100_000,
                    ..Outcome::default()
                });
            }
            t
        })
        .collect()
}

fn bench_reports(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = Directory::load(&root.join("directory/directory.json")).expect("directory");
    let tasks = city(root, &dir);
    let list = || {
        let mut b = DailyBuilder::new("2026-11-21", "52", NOW_MS + 3_600_000, 8);
        for t in &tasks {
            b.add(t, dir.village_name(t.division).unwrap_or(""));
        }
        b.finish()
    };
    let mut g = c.benchmark_group("reports");
    g.throughput(Throughput::Elements(tasks.len() as u64));
    g.sample_size(10);
    g.bench_function("daily_list_100k_tasks_rows", |b| b.iter(list));
    let built = list();
    g.bench_function("daily_list_100k_tasks_xlsx", |b| {
        b.iter(|| sheet::xlsx(&list()).unwrap().len())
    });
    g.bench_function("daily_list_100k_tasks_csv", |b| {
        b.iter(|| sheet::csv(&list()).unwrap().len())
    });
    g.bench_function("supervision_100k_tasks", |b| {
        b.iter(|| {
            let mut s = Supervision::new(NOW_MS + 3_600_000);
            tasks.iter().for_each(|t| s.add(t));
            s.finish().total.tasks
        })
    });
    g.finish();
    println!(
        "reports: {} tasks, xlsx {} bytes, csv {} bytes",
        tasks.len(),
        sheet::xlsx(&built).unwrap().len(),
        sheet::csv(&built).unwrap().len()
    );
}

criterion_group!(benches, bench_reports);
criterion_main!(benches);
