//! The PNG of a rate sweep: p99 and p50 latency (ack, task on the watch)
//! against offered rate, log–log, with the 10 ms target drawn across.

use std::path::Path;

use anyhow::Context;
use plotters::prelude::*;

use super::report::LoadSummary;

/// The font the plot's text is drawn with when `--plot-font` is not given
/// (Debian's `fonts-dejavu-core`).
pub const DEFAULT_FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
/// Width and height, pixels.
const SIZE: (u32, u32) = (960, 600);
/// The target for p99 alert → task on the watch, ms.
const TARGET_MS: f64 = 10.0;

/// One line of the plot: its legend and how to read a run.
type Curve = (&'static str, RGBColor, fn(&LoadSummary) -> f64);

const CURVES: [Curve; 4] = [
    ("alert -> task on watch, p99", RGBColor(200, 30, 30), |r| {
        r.task.p99_ms
    }),
    (
        "alert -> task on watch, p50",
        RGBColor(240, 150, 150),
        |r| r.task.p50_ms,
    ),
    ("alert -> ack, p99", RGBColor(30, 60, 200), |r| r.ack.p99_ms),
    ("alert -> ack, p50", RGBColor(150, 170, 240), |r| {
        r.ack.p50_ms
    }),
];

/// Draws the runs with an offered rate (not the as-fast-as-possible ones)
/// into a PNG at `path`, its text in the TrueType font at `font`.
pub fn draw(path: &Path, runs: &[LoadSummary], font: &Path) -> anyhow::Result<()> {
    let runs: Vec<&LoadSummary> = runs.iter().filter(|r| r.offered_rate > 0).collect();
    anyhow::ensure!(!runs.is_empty(), "no run with an offered rate to plot");
    let bytes = std::fs::read(font)
        .with_context(|| format!("cannot read the plot font {}", font.display()))?;
    // plotters keeps registered fonts for the life of the process.
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
        .map_err(|_| anyhow::anyhow!("{} is not a TrueType font", font.display()))?;
    let mut pixels = vec![0u8; SIZE.0 as usize * SIZE.1 as usize * 3];
    render(&mut pixels, &runs).map_err(|e| anyhow::anyhow!("cannot draw the plot: {e}"))?;
    write_png(path, &pixels)
}

fn render(pixels: &mut [u8], runs: &[&LoadSummary]) -> Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::with_buffer(pixels, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let rates = runs.iter().map(|r| r.offered_rate as f64);
    let x_lo = rates.clone().fold(f64::INFINITY, f64::min) * 0.8;
    let x_hi = rates.fold(0.0, f64::max) * 1.25;
    let values = runs
        .iter()
        .flat_map(|r| CURVES.iter().map(move |c| (c.2)(r)))
        .filter(|v| *v > 0.0);
    let y_lo = values.clone().fold(TARGET_MS, f64::min) * 0.7;
    let y_hi = values.fold(TARGET_MS, f64::max) * 1.5;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "dualwarn load: latency against offered rate",
            ("sans-serif", 24),
        )
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d((x_lo..x_hi).log_scale(), (y_lo..y_hi).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("offered rate, alerts/s")
        .y_desc("latency, ms")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| {
            if *v < 10.0 {
                format!("{v:.1}")
            } else {
                format!("{v:.0}")
            }
        })
        .label_style(("sans-serif", 15))
        .draw()?;
    for (label, color, value) in CURVES {
        let points: Vec<(f64, f64)> = runs
            .iter()
            .map(|r| (r.offered_rate as f64, value(r)))
            .filter(|p| p.1 > 0.0)
            .collect();
        let style = color.stroke_width(2);
        chart
            .draw_series(LineSeries::new(points.clone(), style))?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        chart.draw_series(
            points
                .into_iter()
                .map(|p| Circle::new(p, 4, color.filled())),
        )?;
    }
    let target = RGBColor(0, 140, 60).stroke_width(2);
    chart
        .draw_series(LineSeries::new(
            [(x_lo, TARGET_MS), (x_hi, TARGET_MS)],
            target,
        ))?
        .label("target: task p99 10 ms (at 50 K/s)")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], target));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(("sans-serif", 15))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

fn write_png(path: &Path, pixels: &[u8]) -> anyhow::Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), SIZE.0, SIZE.1);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().context("PNG header")?;
    writer.write_image_data(pixels).context("PNG data")?;
    writer.finish().context("PNG end")?;
    Ok(())
}
