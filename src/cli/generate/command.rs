//! The `dualwarn gen` command: its flags, and writing the stream to a file
//! or stdout, with the person labels beside it when asked.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use super::{GenError, GenOptions, Labels, MEAN_STEP_MS, generate_labelled};
use crate::directory::Directory;
use crate::{app, config, rules};

/// Flags of `dualwarn gen`.
#[derive(Args)]
pub struct GenArgs {
    /// Seed: the same seed writes the same stream.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Records to write.
    #[arg(long, default_value_t = 10_000)]
    pub count: usize,
    /// Planted suspected victims [default: count / 50].
    #[arg(long)]
    pub victims: Option<usize>,
    /// Share of planted alerts that repeat a planted person (重复预警).
    #[arg(long, default_value_t = 0.2)]
    pub duplicate_rate: f64,
    /// Share of exact re-sends (same source and id).
    #[arg(long, default_value_t = 0.01)]
    pub resend_rate: f64,
    /// Share of malformed records.
    #[arg(long, default_value_t = 0.01)]
    pub malformed_rate: f64,
    /// Only villages under this division-code prefix.
    #[arg(long, default_value = "")]
    pub jurisdiction: String,
    /// Event time of the first record, unix ms [default: so that the stream ends about now].
    #[arg(long)]
    pub start_ms: Option<i64>,
    /// Jurisdiction directory.
    #[arg(long, default_value = config::DEFAULT_DIRECTORY)]
    pub directory: PathBuf,
    /// Rule directory (its lists seed the planted victims).
    #[arg(long, default_value = config::DEFAULT_RULES_DIR)]
    pub rules: PathBuf,
    /// Output file [default: stdout].
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Mix in benign look-alikes (utility payers, official calls,
    /// shopkeepers, elderly family transfers, shared devices, popular apps)
    /// and planted mule rings.
    #[arg(long)]
    pub lookalikes: bool,
    /// Fit the stream into this span of event time (e.g. `1d`), ending now
    /// unless --start-ms is given [default: 1–10 s between records].
    #[arg(long, value_parser = humantime::parse_duration)]
    pub span: Option<Duration>,
    /// Write each person's class (`phone,class`) to this CSV file.
    #[arg(long)]
    pub labels: Option<PathBuf>,
}

impl GenArgs {
    /// The generator options these flags ask for, `now_ms` being now.
    pub fn options(&self, now_ms: i64) -> GenOptions {
        let span_ms = self
            .span
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        GenOptions {
            seed: self.seed,
            count: self.count,
            victims: self.victims.unwrap_or(self.count / 50),
            duplicate_rate: self.duplicate_rate,
            resend_rate: self.resend_rate,
            malformed_rate: self.malformed_rate,
            start_ms: self
                .start_ms
                .unwrap_or_else(|| now_ms - span_ms.unwrap_or(self.count as i64 * MEAN_STEP_MS)),
            jurisdiction: self.jurisdiction.clone(),
            lookalikes: self.lookalikes,
            span_ms,
        }
    }
}

/// Runs `dualwarn gen`: the stream to `--out` or stdout, the summary to stderr.
pub fn run(a: GenArgs) -> anyhow::Result<ExitCode> {
    let dir = Directory::load(&a.directory)?;
    let rules = rules::load_dir(&a.rules)?;
    let opts = a.options(app::now_ms());
    let (summary, labels) = match &a.out {
        Some(path) => {
            let f = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let mut w = std::io::BufWriter::new(f);
            let s = generate_labelled(&dir, &rules, &opts, &mut w)?;
            w.flush()?;
            s
        }
        None => {
            let mut w = std::io::BufWriter::new(std::io::stdout().lock());
            match generate_labelled(&dir, &rules, &opts, &mut w) {
                // The reader went away (`gen | head`): nothing more to do.
                Err(GenError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                    return Ok(ExitCode::SUCCESS);
                }
                r => {
                    let s = r?;
                    w.flush()?;
                    s
                }
            }
        }
    };
    if let Some(path) = &a.labels {
        write_labels(path, &labels)?;
    }
    eprintln!("{summary:?}");
    Ok(ExitCode::SUCCESS)
}

/// Writes `phone,class` lines under a header.
fn write_labels(path: &std::path::Path, labels: &Labels) -> anyhow::Result<()> {
    let mut w = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
    );
    w.write_all(b"phone,class\n")?;
    for (phone, class) in labels {
        w.write_all(format!("{phone},{class}\n").as_bytes())?;
    }
    w.flush()?;
    Ok(())
}
