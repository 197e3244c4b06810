//! Drawing the charts with plotters, to SVG (text left to the viewer's fonts) and PNG (text drawn
//! with the embedded DejaVu Sans).
//!
//! Every chart has the same layout: the title across the top, the plot on the left and the legend
//! in its own panel on the right, so 17 case labels never overlap the data or each other. The legend
//! font shrinks until the widest label fits its panel.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use crate::data::Rgb;
use crate::error::ReportError;

/// Default chart size in pixels (SVG user units).
pub const SIZE: (u32, u32) = (1400, 640);
/// Size of a chart with side-by-side panels (small multiples).
pub const PANELS_SIZE: (u32, u32) = (1600, 680);
/// Width of the legend panel.
const LEGEND_W: u32 = 440;
/// The font family every text element uses; registered with the embedded font for PNG output.
pub(crate) const FONT: &str = "sans-serif";
/// The grey of axis-like outlines (bars and swatches of colours that need no edge of their own).
pub(crate) const EDGE: Rgb = (60, 60, 60);

/// What a legend entry's swatch looks like; it matches how its series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Swatch {
    /// A filled rectangle with the bar's edge.
    Bar,
    /// A short line in the line's stroke colour; dashed for reference lines.
    Line {
        /// Dashed (a reference line from the other group).
        dashed: bool,
    },
    /// A marker: a circle (hand-made cases) or a square (TF1 optimizers).
    Marker {
        /// Square rather than circle.
        square: bool,
    },
    /// No swatch: a group heading in bold-ish dark text.
    Heading,
    /// A × (a diverged point drawn as a cross).
    Cross,
    /// A hollow circle (a point marked by a ring).
    Ring,
}

/// One entry of the legend.
#[derive(Debug, Clone, PartialEq)]
pub struct LegendEntry {
    /// The series' colour (the study's; [`stroke`] gives what a pale one is drawn with).
    pub colour: Rgb,
    /// Text, e.g. "C3 Dilated ADAM, dense by addition (diverged in 2/10)".
    pub text: String,
    /// Draw a diverged marker (×) next to the swatch.
    pub diverged: bool,
    /// The swatch.
    pub swatch: Swatch,
}

impl LegendEntry {
    /// A group heading (no swatch).
    pub fn heading(text: impl Into<String>) -> Self {
        LegendEntry { colour: EDGE, text: text.into(), diverged: false, swatch: Swatch::Heading }
    }
}

/// One line of a line chart.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Line {
    /// The series' colour (drawn through [`stroke`]).
    pub colour: Rgb,
    /// (x, y) points, in order of x.
    pub points: Vec<(f64, f64)>,
    /// Optional band (x, low, high) drawn under the line.
    pub band: Vec<(f64, f64, f64)>,
    /// Where to draw a diverged marker (×), if the line's cell diverged.
    pub diverged_at: Option<(f64, f64)>,
    /// Drawn dashed, in its place in the drawing order (a case that coincides with an earlier
    /// one, so both colours show along the shared curve).
    pub dashed: bool,
    /// A reference line (the other group's best case): dashed, drawn before every other line.
    pub reference: bool,
}

/// One panel of a small-multiples chart.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Panel {
    /// The panel's caption, above it.
    pub title: String,
    /// Its lines.
    pub lines: Vec<Line>,
}

/// One row of an interval chart: a mean with its confidence interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    /// The row label, e.g. "C13 Ftrl (TF1)".
    pub label: String,
    /// Marker colour.
    pub colour: Rgb,
    /// The mean.
    pub mean: f64,
    /// Lower end of the interval (NaN: no interval, a single value).
    pub low: f64,
    /// Upper end of the interval.
    pub high: f64,
    /// Square marker (TF1) rather than circle (hand-made).
    pub square: bool,
}

/// One series of a tuning panel: a score per candidate η of one trial.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TuningSeries {
    /// The trial's colour (drawn through [`stroke`]).
    pub colour: Rgb,
    /// (η, score) per candidate in increasing η; a NaN score (a diverged candidate) breaks the
    /// line there.
    pub points: Vec<(f64, f64)>,
    /// The η of each diverged candidate, marked by a × at the bottom of the panel.
    pub diverged: Vec<f64>,
    /// The selected candidate, marked by a filled circle with a black edge.
    pub selected: Option<(f64, f64)>,
    /// The default η's candidate (factor 1), marked by a ring.
    pub default: Option<(f64, f64)>,
}

/// One panel of a tuning chart: one case, one series per trial.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TuningPanel {
    /// The panel's caption, e.g. "C3 Dilated ADAM".
    pub title: String,
    /// One series per trial.
    pub series: Vec<TuningSeries>,
}

/// What is plotted.
#[derive(Debug, Clone, PartialEq)]
pub enum Plot {
    /// One bar per case.
    Bars {
        /// (case, height, colour).
        bars: Vec<(usize, f64, Rgb)>,
        /// The top of the y axis (the number of experiments, so the three charts of a trial share
        /// one scale).
        top: f64,
        /// Labelled spans of cases, (label, first case, last case): the second, fourth, … span is
        /// shaded light grey behind its bars, and every label is written at the top of its span.
        spans: Vec<(String, usize, usize)>,
    },
    /// Side-by-side panels of lines over x sharing one y axis; `log_y` draws y on a log scale
    /// (non-positive values are clamped to the bottom).
    Panels {
        /// The panels, left to right.
        panels: Vec<Panel>,
        /// Log-scale y axis.
        log_y: bool,
    },
    /// Horizontal intervals, first row at the top, drawn within `domain` (e.g. [0, 1] for an
    /// accuracy, where a t interval from few experiments can reach past the possible values).
    Intervals {
        /// The rows.
        rows: Vec<Interval>,
        /// The possible values; the axis never extends past them.
        domain: (f64, f64),
    },
    /// Performance profiles: side-by-side panels of step lines ρ(τ) over a log τ axis from 1 to
    /// `x_max`, y in [0, 1]. Each line's points are its corners, already in step form.
    Profile {
        /// The panels, left to right.
        panels: Vec<Panel>,
        /// The right end of the τ axis (> 1).
        x_max: f64,
    },
    /// Tuning curves as a grid of small multiples, `cols` panels per row, all on one log η axis
    /// and one linear score axis.
    Tuning {
        /// The panels, row by row.
        panels: Vec<TuningPanel>,
        /// Panels per row.
        cols: usize,
    },
}

/// A chart: title, axis descriptions, plot and legend.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Title across the top.
    pub title: String,
    /// X axis description.
    pub x_desc: String,
    /// Y axis description.
    pub y_desc: String,
    /// The data.
    pub plot: Plot,
    /// The legend entries, drawn outside the plot area.
    pub legend: Vec<LegendEntry>,
    /// Size in pixels.
    pub size: (u32, u32),
}

/// Registers DejaVu Sans (from the `dejavu` crate) as plotters' "sans-serif" font, once.
///
/// # Errors
/// Only if the font bytes do not parse, which would be a packaging bug.
pub fn ensure_font() -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
            .map_err(|_| "the embedded DejaVu Sans font did not parse".to_string())
    })
    .clone()
}

pub(crate) fn rgb(c: Rgb) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

/// Relative luminance in [0, 1]: L = (0.2126·R + 0.7152·G + 0.0722·B) / 255 (Rec. 709 weights on
/// the 8-bit values).
pub fn luminance(c: Rgb) -> f64 {
    (0.2126 * c.0 as f64 + 0.7152 * c.1 as f64 + 0.0722 * c.2 as f64) / 255.0
}

/// Whether a colour is too pale to see on white (L > 0.8): the study's azure, ivory, lightblue and
/// lavender.
pub fn is_light(c: Rgb) -> bool {
    luminance(c) > 0.8
}

/// The colour a series is stroked with (lines, bar edges, markers' edges, legend swatches): the
/// colour itself if it is visible on white, else a darker colour of the same family: the study's
/// four pale colours get fixed replacements that stay distinct from the other 13 (azure →
/// slategray, ivory → darkgoldenrod, lightblue → steelblue, lavender → mediumslateblue); any other
/// pale colour is scaled towards black until L ≤ 0.45.
pub fn stroke(c: Rgb) -> Rgb {
    match c {
        (0xf0, 0xff, 0xff) => (0x70, 0x80, 0x90),
        (0xff, 0xff, 0xf0) => (0xb8, 0x86, 0x0b),
        (0xad, 0xd8, 0xe6) => (0x46, 0x82, 0xb4),
        (0xe6, 0xe6, 0xfa) => (0x7b, 0x68, 0xee),
        c if is_light(c) => {
            let k = 0.45 / luminance(c);
            let f = |v: u8| (v as f64 * k).round() as u8;
            (f(c.0), f(c.1), f(c.2))
        }
        c => c,
    }
}

pub(crate) type DrawResult<T> = Result<T, String>;

pub(crate) fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

/// Draws `chart` onto any plotters backend.
fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, chart: &Chart) -> DrawResult<()> {
    root.fill(&WHITE).map_err(err)?;
    let body = root.titled(&chart.title, (FONT, 24).into_font().color(&BLACK)).map_err(err)?;
    let (w, _) = body.dim_in_pixel();
    let (plot_area, legend_area) = body.split_horizontally(w.saturating_sub(LEGEND_W));
    match &chart.plot {
        Plot::Bars { bars, top, spans } => draw_bars(&plot_area, chart, bars, *top, spans)?,
        Plot::Panels { panels, log_y } => draw_panels(&plot_area, chart, panels, *log_y)?,
        Plot::Intervals { rows, domain } => {
            crate::chart_parts::draw_intervals(&plot_area, chart, rows, *domain)?
        }
        Plot::Profile { panels, x_max } => {
            crate::chart_parts::draw_profiles(&plot_area, chart, panels, *x_max)?
        }
        Plot::Tuning { panels, cols } => {
            crate::chart_parts::draw_tuning(&plot_area, chart, panels, *cols)?
        }
    }
    crate::chart_parts::draw_legend(&legend_area, &chart.legend)?;
    root.present().map_err(err)
}

/// Bar and marker edges: 2 px in the [`stroke`] colour for pale colours, else a 1 px grey.
pub(crate) fn edge_style(c: Rgb) -> ShapeStyle {
    if is_light(c) {
        rgb(stroke(c)).stroke_width(2)
    } else {
        rgb(EDGE).stroke_width(1)
    }
}

fn draw_bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &Chart,
    bars: &[(usize, f64, Rgb)],
    top: f64,
    spans: &[(String, usize, usize)],
) -> DrawResult<()> {
    let n = bars.iter().map(|b| b.0).max().unwrap_or(0) as u32;
    // Whole numbers of wins, up to the number of experiments (or the tallest bar, if higher),
    // plus room above the tallest bar for the span labels.
    let y_top = bars.iter().map(|b| b.1).fold(top, f64::max).ceil().max(1.0);
    let y_max = if spans.is_empty() { y_top } else { y_top * 1.12 };
    let mut ch = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(56)
        .y_label_area_size(72)
        .build_cartesian_2d((0u32..n).into_segmented(), 0f64..y_max)
        .map_err(err)?;
    ch.configure_mesh()
        .disable_x_mesh()
        // Whole-number counts need no minor grid lines (plotters panics on max_light_lines(0)).
        .light_line_style(if y_max <= 12.0 { TRANSPARENT } else { RGBColor(235, 235, 235).into() })
        .x_desc(chart.x_desc.as_str())
        .y_desc(chart.y_desc.as_str())
        .x_labels(n as usize + 2)
        .y_labels((y_top as usize + 1).min(12))
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(c) => c.to_string(),
            _ => String::new(),
        })
        .y_label_formatter(&|v| {
            if *v > y_top + 1e-9 {
                String::new()
            } else if v.fract().abs() < 1e-9 {
                format!("{v:.0}")
            } else {
                format!("{v:.1}")
            }
        })
        .label_style((FONT, 16))
        .axis_desc_style((FONT, 18))
        .draw()
        .map_err(err)?;
    for (i, (label, first, last)) in spans.iter().enumerate() {
        let (a, b) = (*first as u32, *last as u32 + 1);
        if i % 2 == 1 {
            ch.draw_series(std::iter::once(Rectangle::new(
                [(SegmentValue::Exact(a), 0.0), (SegmentValue::Exact(b), y_max)],
                RGBColor(238, 238, 238).filled(),
            )))
            .map_err(err)?;
        }
        let font = (FONT, 16).into_font().color(&RGBColor(40, 40, 40));
        ch.draw_series(std::iter::once(Text::new(
            label.clone(),
            (SegmentValue::Exact(a), y_top + (y_max - y_top) * 0.8),
            font,
        )))
        .map_err(err)?;
    }
    for &(case, value, colour) in bars {
        let c = case as u32;
        let corners = [(SegmentValue::Exact(c), 0.0), (SegmentValue::Exact(c + 1), value)];
        let mut fill = Rectangle::new(corners.clone(), rgb(colour).filled());
        fill.set_margin(0, 0, 6, 6);
        let mut outline = Rectangle::new(corners, edge_style(colour));
        outline.set_margin(0, 0, 6, 6);
        if value > 0.0 {
            ch.draw_series([fill, outline]).map_err(err)?;
        }
    }
    Ok(())
}

/// The y range of a line chart: the finite values of the lines that did not diverge (and their
/// bands) with 5 % padding, so that one exploding cell does not flatten every other line; points
/// outside are clamped to the edge, where the diverged marker shows what happened. On a log axis
/// only positive values count and the padding is 5 % of the span in decades.
fn y_range(lines: &[&Line], log_y: bool) -> (f64, f64) {
    let collect = |only_ok: bool| -> Vec<f64> {
        lines
            .iter()
            .filter(|l| !only_ok || l.diverged_at.is_none())
            .flat_map(|l| {
                l.points.iter().map(|p| p.1).chain(l.band.iter().flat_map(|b| [b.1, b.2]))
            })
            .filter(|v| v.is_finite() && (!log_y || *v > 0.0))
            .map(|v| if log_y { v.log10() } else { v })
            .collect()
    };
    let mut ys = collect(true);
    if ys.is_empty() {
        ys = collect(false);
    }
    let lo = ys.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() || !hi.is_finite() {
        return if log_y { (0.1, 10.0) } else { (0.0, 1.0) };
    }
    let span = (hi - lo).max(if log_y { 0.2 } else { 1e-9 * hi.abs().max(1.0) });
    let pad = 0.05 * span;
    if log_y {
        (10f64.powf(lo - pad), 10f64.powf(hi + pad))
    } else {
        (lo - pad, hi + pad)
    }
}

/// A y-axis tick label: up to 4 significant digits, no trailing zeros, never `-0`.
pub(crate) fn tick(v: f64) -> String {
    // Axis positions such as 0.1 − 0.1 come out as ±3e-17: that is zero.
    let s = if v.abs() < 1e-12 {
        "0".to_string()
    } else if v.abs() >= 1e5 || v.abs() < 1e-3 {
        format!("{v:.1e}")
    } else {
        let digits = (3 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
        // 4 significant digits, then trailing zeros dropped.
        let s = format!("{v:.digits$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    crate::fmt::unsigned_zero(s)
}

/// Tick values for a log axis over [lo, hi]: 1, 2, 5 × 10^k inside the range, or every
/// 1..9 × 10^k when that gives fewer than three (a range within one decade).
pub(crate) fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let pick = |mantissas: &[f64]| -> Vec<f64> {
        let (k0, k1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
        (k0..=k1)
            .flat_map(|k| mantissas.iter().map(move |m| m * 10f64.powi(k)))
            .filter(|v| *v >= lo && *v <= hi)
            .collect()
    };
    let coarse = pick(&[1.0, 2.0, 5.0]);
    if coarse.len() >= 3 {
        return coarse;
    }
    let fine = pick(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
    if fine.len() >= 3 {
        return fine;
    }
    // Within one decade: mantissas 1.0, 1.1, … 9.9, thinned to at most 8 ticks.
    let finer: Vec<f64> = (10..100).map(|m| m as f64 / 10.0).collect();
    let all = pick(&finer);
    let step = all.len().div_ceil(8).max(1);
    let thinned: Vec<f64> = all.into_iter().step_by(step).collect();
    if thinned.len() >= 2 {
        thinned
    } else {
        (0..=4).map(|i| lo + (hi - lo) * i as f64 / 4.0).collect()
    }
}

fn draw_panels<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &Chart,
    panels: &[Panel],
    log_y: bool,
) -> DrawResult<()> {
    let all: Vec<&Line> = panels.iter().flat_map(|p| &p.lines).collect();
    let x_max = all
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.0).chain(l.band.iter().map(|b| b.0)))
        .fold(0.0f64, f64::max)
        .max(1.0);
    let (lo, hi) = y_range(&all, log_y);
    let areas = area.split_evenly((1, panels.len().max(1)));
    for (i, (panel, sub)) in panels.iter().zip(&areas).enumerate() {
        let sub = if panel.title.is_empty() {
            sub.clone()
        } else {
            sub.titled(&panel.title, (FONT, 18).into_font().color(&BLACK)).map_err(err)?
        };
        // Only the first panel carries the y description; the others share its axis.
        let y_desc = if i == 0 { chart.y_desc.as_str() } else { "" };
        let mut builder = ChartBuilder::on(&sub);
        builder.margin(10).x_label_area_size(50).y_label_area_size(if i == 0 { 86 } else { 60 });
        // Epochs are whole numbers: with few epochs, ask for no more labels than there are
        // epochs, or plotters places fractional ticks that round to repeated labels ("0 0 0 1").
        let x_labels = (x_max as usize + 1).clamp(2, 8);
        if log_y {
            let ticks = log_ticks(lo, hi);
            let mut ch = builder
                .build_cartesian_2d(0f64..x_max, (lo..hi).log_scale().with_key_points(ticks))
                .map_err(err)?;
            ch.configure_mesh()
                .x_desc(chart.x_desc.as_str())
                .y_desc(y_desc)
                .x_labels(x_labels)
                .x_label_formatter(&|v| format!("{v:.0}"))
                .y_label_formatter(&|v| tick(*v))
                .label_style((FONT, 15))
                .axis_desc_style((FONT, 17))
                .light_line_style(TRANSPARENT)
                .draw()
                .map_err(err)?;
            plot_lines(&mut ch, &panel.lines, |y| {
                if y.is_finite() && y > 0.0 {
                    y.clamp(lo, hi)
                } else {
                    lo.max(if y.is_finite() { lo } else { hi })
                }
            })?;
        } else {
            let mut ch = builder.build_cartesian_2d(0f64..x_max, lo..hi).map_err(err)?;
            ch.configure_mesh()
                .x_desc(chart.x_desc.as_str())
                .y_desc(y_desc)
                .x_labels(x_labels)
                .x_label_formatter(&|v| format!("{v:.0}"))
                .y_label_formatter(&|v| tick(*v))
                .label_style((FONT, 15))
                .axis_desc_style((FONT, 17))
                .light_line_style(TRANSPARENT)
                .draw()
                .map_err(err)?;
            plot_lines(
                &mut ch,
                &panel.lines,
                |y| if y.is_finite() { y.clamp(lo, hi) } else { hi },
            )?;
        }
    }
    Ok(())
}

/// Draws bands, then lines, then diverged markers into a chart whose y coordinate is `Y`;
/// `clamp` maps a value into the axis range.
fn plot_lines<DB: DrawingBackend, Y: Ranged<ValueType = f64>>(
    ch: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, Y>>,
    lines: &[Line],
    clamp: impl Fn(f64) -> f64,
) -> DrawResult<()> {
    // Bands first, so every line is drawn over every band.
    for l in lines.iter().filter(|l| l.band.len() > 1) {
        let mut poly: Vec<(f64, f64)> = l.band.iter().map(|b| (b.0, clamp(b.2))).collect();
        poly.extend(l.band.iter().rev().map(|b| (b.0, clamp(b.1))));
        ch.draw_series(std::iter::once(Polygon::new(
            poly,
            rgb(stroke(l.colour)).mix(0.18).filled(),
        )))
        .map_err(err)?;
    }
    // Reference lines under the panel's own lines.
    let mut order: Vec<&Line> = lines.iter().filter(|l| l.reference).collect();
    order.extend(lines.iter().filter(|l| !l.reference));
    for l in order {
        let pts: Vec<(f64, f64)> = l.points.iter().map(|p| (p.0, clamp(p.1))).collect();
        let style = rgb(stroke(l.colour)).stroke_width(2);
        if pts.len() == 1 {
            ch.draw_series(std::iter::once(Circle::new(pts[0], 3, style.filled()))).map_err(err)?;
        }
        if l.dashed || l.reference {
            ch.draw_series(DashedLineSeries::new(pts, 10, 6, style)).map_err(err)?;
        } else {
            ch.draw_series(LineSeries::new(pts, style)).map_err(err)?;
        }
    }
    for l in lines {
        if let Some((x, y)) = l.diverged_at {
            ch.draw_series(std::iter::once(Cross::new((x, clamp(y)), 8, BLACK.stroke_width(3))))
                .map_err(err)?;
        }
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically (the results format's writer: a unique temp file in the
/// same directory, then a rename), so a reader never sees half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    Ok(handprop_results::write_atomic(path, bytes)?)
}

/// Renders `chart` to `<stem>.svg` and, if `png`, `<stem>.png`. Returns the files written and the
/// SVG text (for inlining into the HTML report).
pub fn render(
    stem: &Path,
    chart: &Chart,
    png: bool,
) -> Result<(Vec<PathBuf>, String), ReportError> {
    let svg_path = stem.with_extension("svg");
    let chart_err =
        |path: &Path, message: String| ReportError::Chart { path: path.to_path_buf(), message };
    ensure_font().map_err(|m| chart_err(&svg_path, m))?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, chart.size).into_drawing_area();
        draw(root, chart).map_err(|m| chart_err(&svg_path, m))?;
    }
    write_atomic(&svg_path, svg.as_bytes())?;
    let mut files = vec![svg_path];
    if png {
        let png_path = stem.with_extension("png");
        // The bitmap encoder writes to a path and picks the format from its extension: a unique
        // temp file ending in .png beside the target, renamed over it when complete.
        let dir = png_path.parent().unwrap_or(Path::new("."));
        let tmp = tempfile::Builder::new()
            .prefix(".chart.")
            .suffix(".tmp.png")
            .tempfile_in(dir)
            .map_err(|e| ReportError::io(dir, e))?
            .into_temp_path();
        {
            let root = BitMapBackend::new(&tmp, chart.size).into_drawing_area();
            draw(root, chart).map_err(|m| chart_err(&png_path, m))?;
        }
        tmp.persist(&png_path).map_err(|e| ReportError::io(&png_path, e.error))?;
        files.push(png_path);
    }
    Ok((files, svg))
}

/// Keeps at most `max` points of a series by taking every k-th (k = ⌈len / max⌉) and always the
/// last, so long runs (801 epochs × 17 cases) give charts of reasonable size without losing the
/// final value.
pub fn decimate<T: Clone>(points: &[T], max: usize) -> Vec<T> {
    if max == 0 || points.len() <= max {
        return points.to_vec();
    }
    let k = points.len().div_ceil(max);
    let mut out: Vec<T> = points.iter().step_by(k).cloned().collect();
    if !(points.len() - 1).is_multiple_of(k) {
        out.push(points[points.len() - 1].clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimate_keeps_first_and_last() {
        let v: Vec<u32> = (0..10).collect();
        assert_eq!(decimate(&v, 20), v);
        assert_eq!(decimate(&v, 5), vec![0, 2, 4, 6, 8, 9]);
        assert_eq!(decimate(&v, 4), vec![0, 3, 6, 9]);
    }

    #[test]
    fn y_range_ignores_exploding_diverged_line() {
        let ok = Line { points: vec![(0.0, 1.0), (1.0, 2.0)], ..Line::default() };
        let bad = Line {
            points: vec![(0.0, 1.0), (1.0, 1e30)],
            diverged_at: Some((1.0, 1e30)),
            ..Line::default()
        };
        let (lo, hi) = y_range(&[&ok, &bad], false);
        assert!((lo - 0.95).abs() < 1e-12 && (hi - 2.05).abs() < 1e-12, "{lo} {hi}");
        // Log axis: 1 to 100 is two decades, padded by 0.1 decade each side.
        let wide = Line { points: vec![(0.0, 1.0), (1.0, 100.0), (2.0, -1.0)], ..Line::default() };
        let (lo, hi) = y_range(&[&wide], true);
        assert!((lo.log10() + 0.1).abs() < 1e-12 && (hi.log10() - 2.1).abs() < 1e-12, "{lo} {hi}");
    }

    #[test]
    fn pale_colours_get_a_dark_stroke() {
        // The study's four pale colours, and any other pale one, are stroked with a colour that
        // stands out on white (L ≤ 0.6); visible colours are kept.
        for c in [
            (0xf0, 0xff, 0xff),
            (0xff, 0xff, 0xf0),
            (0xad, 0xd8, 0xe6),
            (0xe6, 0xe6, 0xfa),
            (0xfa, 0xfa, 0xd2),
        ] {
            assert!(is_light(c), "{c:?}");
            assert!(luminance(stroke(c)) <= 0.6, "{c:?} → {:?}", stroke(c));
        }
        assert_eq!(stroke((0x2c, 0xa0, 0x2c)), (0x2c, 0xa0, 0x2c));
        assert_eq!(tick(-0.0), "0");
        assert_eq!(tick(0.25), "0.25");
        assert_eq!(tick(1500.0), "1500");
        assert_eq!(log_ticks(0.8, 30.0), vec![1.0, 2.0, 5.0, 10.0, 20.0]);
        let t = log_ticks(3.3, 4.5);
        assert!(t.len() >= 3 && t.iter().all(|v| (3.3..=4.5).contains(v)), "{t:?}");
    }
}
