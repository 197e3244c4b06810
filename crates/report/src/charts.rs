//! Drawing the charts with plotters, to SVG (text left to the viewer's fonts) and PNG (text drawn
//! with the embedded DejaVu Sans).
//!
//! Every chart has the same layout: the title across the top, the plot on the left and the legend
//! in its own panel on the right, so 17 case labels never overlap the data or each other. The legend
//! font shrinks until the widest label fits its panel.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use crate::data::Rgb;
use crate::error::ReportError;

/// Chart size in pixels (SVG user units).
pub const SIZE: (u32, u32) = (1400, 640);
/// Width of the legend panel.
const LEGEND_W: u32 = 480;
/// The font family every text element uses; registered with the embedded font for PNG output.
const FONT: &str = "sans-serif";

/// One entry of the legend.
#[derive(Debug, Clone, PartialEq)]
pub struct LegendEntry {
    /// Swatch colour.
    pub colour: Rgb,
    /// Text, e.g. "C3 Dilated ADAM, dense by addition (diverged in 2/10)".
    pub text: String,
    /// Draw a diverged marker (×) next to the swatch.
    pub diverged: bool,
}

/// One line of a line chart.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Line {
    /// Line colour.
    pub colour: Rgb,
    /// (x, y) points, in order of x.
    pub points: Vec<(f64, f64)>,
    /// Optional band (x, low, high) drawn under the line.
    pub band: Vec<(f64, f64, f64)>,
    /// Where to draw a diverged marker (×), if the line's cell diverged.
    pub diverged_at: Option<(f64, f64)>,
}

/// What is plotted.
#[derive(Debug, Clone, PartialEq)]
pub enum Plot {
    /// One bar per case: (case, height, colour), and the top of the y axis (the number of
    /// experiments, so the three charts of a trial share one scale).
    Bars(Vec<(usize, f64, Rgb)>, f64),
    /// Lines over x.
    Lines(Vec<Line>),
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

fn rgb(c: Rgb) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

/// Relative luminance in [0, 1] (Rec. 709 weights on the 8-bit values); light colours such as the
/// study's azure, ivory and lavender get a dark outline so they stay visible on white.
fn is_light(c: Rgb) -> bool {
    let l = (0.2126 * c.0 as f64 + 0.7152 * c.1 as f64 + 0.0722 * c.2 as f64) / 255.0;
    l > 0.8
}

type DrawResult<T> = Result<T, String>;

fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

/// Draws `chart` onto any plotters backend.
fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, chart: &Chart) -> DrawResult<()> {
    root.fill(&WHITE).map_err(err)?;
    let body = root.titled(&chart.title, (FONT, 24).into_font().color(&BLACK)).map_err(err)?;
    let (w, _) = body.dim_in_pixel();
    let (plot_area, legend_area) = body.split_horizontally(w.saturating_sub(LEGEND_W));
    match &chart.plot {
        Plot::Bars(bars, top) => draw_bars(&plot_area, chart, bars, *top)?,
        Plot::Lines(lines) => draw_lines(&plot_area, chart, lines)?,
    }
    draw_legend(&legend_area, &chart.legend)?;
    root.present().map_err(err)
}

fn draw_bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &Chart,
    bars: &[(usize, f64, Rgb)],
    top: f64,
) -> DrawResult<()> {
    let n = bars.iter().map(|b| b.0).max().unwrap_or(0) as u32;
    // Whole numbers of wins, up to the number of experiments (or the tallest bar, if higher).
    let y_max = bars.iter().map(|b| b.1).fold(top, f64::max).ceil().max(1.0);
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
        .y_labels((y_max as usize + 1).min(12))
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(c) => c.to_string(),
            _ => String::new(),
        })
        .y_label_formatter(&|v| {
            if v.fract().abs() < 1e-9 {
                format!("{v:.0}")
            } else {
                format!("{v:.1}")
            }
        })
        .label_style((FONT, 16))
        .axis_desc_style((FONT, 18))
        .draw()
        .map_err(err)?;
    for &(case, value, colour) in bars {
        let c = case as u32;
        let mut fill = Rectangle::new(
            [(SegmentValue::Exact(c), 0.0), (SegmentValue::Exact(c + 1), value)],
            rgb(colour).filled(),
        );
        fill.set_margin(0, 0, 6, 6);
        let mut outline = Rectangle::new(
            [(SegmentValue::Exact(c), 0.0), (SegmentValue::Exact(c + 1), value)],
            RGBColor(60, 60, 60).stroke_width(1),
        );
        outline.set_margin(0, 0, 6, 6);
        if value > 0.0 {
            ch.draw_series([fill, outline]).map_err(err)?;
        }
    }
    Ok(())
}

/// The y range of a line chart: the finite values of the lines that did not diverge (and their
/// bands) with 5 % padding, so that one exploding cell does not flatten every other line; points
/// outside are clamped to the edge, where the diverged marker shows what happened.
fn y_range(lines: &[Line]) -> (f64, f64) {
    let collect = |only_ok: bool| -> Vec<f64> {
        lines
            .iter()
            .filter(|l| !only_ok || l.diverged_at.is_none())
            .flat_map(|l| {
                l.points.iter().map(|p| p.1).chain(l.band.iter().flat_map(|b| [b.1, b.2]))
            })
            .filter(|v| v.is_finite())
            .collect()
    };
    let mut ys = collect(true);
    if ys.is_empty() {
        ys = collect(false);
    }
    let lo = ys.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    let span = (hi - lo).max(1e-9 * hi.abs().max(1.0));
    let pad = 0.05 * span;
    (lo - pad, hi + pad)
}

fn draw_lines<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &Chart,
    lines: &[Line],
) -> DrawResult<()> {
    let x_max = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.0).chain(l.band.iter().map(|b| b.0)))
        .fold(0.0f64, f64::max)
        .max(1.0);
    let (lo, hi) = y_range(lines);
    let clamp = |y: f64| if y.is_finite() { y.clamp(lo, hi) } else { hi };
    let mut ch = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(56)
        .y_label_area_size(90)
        .build_cartesian_2d(0f64..x_max, lo..hi)
        .map_err(err)?;
    ch.configure_mesh()
        .x_desc(chart.x_desc.as_str())
        .y_desc(chart.y_desc.as_str())
        // Epochs are whole numbers: with few epochs, ask for no more labels than there are
        // epochs, or plotters places fractional ticks that round to repeated labels ("0 0 0 1").
        .x_labels((x_max as usize + 1).clamp(2, 10))
        .x_label_formatter(&|v| format!("{v:.0}"))
        .label_style((FONT, 16))
        .axis_desc_style((FONT, 18))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(err)?;
    // Bands first, so every line is drawn over every band.
    for l in lines.iter().filter(|l| l.band.len() > 1) {
        let mut poly: Vec<(f64, f64)> = l.band.iter().map(|b| (b.0, clamp(b.2))).collect();
        poly.extend(l.band.iter().rev().map(|b| (b.0, clamp(b.1))));
        ch.draw_series(std::iter::once(Polygon::new(poly, rgb(l.colour).mix(0.15).filled())))
            .map_err(err)?;
    }
    for l in lines {
        let pts: Vec<(f64, f64)> = l.points.iter().map(|p| (p.0, clamp(p.1))).collect();
        if is_light(l.colour) {
            ch.draw_series(LineSeries::new(pts.clone(), RGBColor(120, 120, 120).stroke_width(4)))
                .map_err(err)?;
        }
        if pts.len() == 1 {
            ch.draw_series(std::iter::once(Circle::new(pts[0], 3, rgb(l.colour).filled())))
                .map_err(err)?;
        }
        ch.draw_series(LineSeries::new(pts, rgb(l.colour).stroke_width(2))).map_err(err)?;
    }
    for l in lines {
        if let Some((x, y)) = l.diverged_at {
            ch.draw_series(std::iter::once(Cross::new((x, clamp(y)), 8, BLACK.stroke_width(3))))
                .map_err(err)?;
        }
    }
    Ok(())
}

fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[LegendEntry],
) -> DrawResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let (w, h) = area.dim_in_pixel();
    let text_x = 58;
    // Shrink the font until the widest entry fits the panel.
    let mut size = 16.0;
    loop {
        let font: TextStyle = (FONT, size).into_font().into();
        let widest = entries
            .iter()
            .map(|e| area.estimate_text_size(&e.text, &font).map(|s| s.0))
            .collect::<Result<Vec<_>, _>>()
            .map_err(err)?
            .into_iter()
            .max()
            .unwrap_or(0);
        if widest as i32 + text_x + 8 <= w as i32 || size <= 9.0 {
            break;
        }
        size -= 1.0;
    }
    let top = 40.0;
    let step = ((h as f64 - top - 20.0) / entries.len() as f64).min(size * 1.7);
    let font = (FONT, size).into_font().color(&BLACK);
    for (i, e) in entries.iter().enumerate() {
        let y = (top + i as f64 * step) as i32;
        let sw = (size * 0.8) as i32;
        area.draw(&Rectangle::new([(10, y), (40, y + sw)], rgb(e.colour).filled())).map_err(err)?;
        area.draw(&Rectangle::new([(10, y), (40, y + sw)], RGBColor(60, 60, 60).stroke_width(1)))
            .map_err(err)?;
        if e.diverged {
            area.draw(&Cross::new((49, y + sw / 2), 4, BLACK.stroke_width(2))).map_err(err)?;
        }
        area.draw(&Text::new(e.text.clone(), (text_x, y - 1), font.clone())).map_err(err)?;
    }
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so a
/// reader never sees half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let tmp = tmp_path(path);
    std::fs::write(&tmp, bytes).map_err(|e| ReportError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| ReportError::io(path, e))
}

/// A temporary sibling of `path` that keeps its extension (the PNG encoder picks the format from it).
fn tmp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".tmp-{}-{name}", std::process::id()))
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
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        draw(root, chart).map_err(|m| chart_err(&svg_path, m))?;
    }
    write_atomic(&svg_path, svg.as_bytes())?;
    let mut files = vec![svg_path];
    if png {
        let png_path = stem.with_extension("png");
        let tmp = tmp_path(&png_path);
        {
            let root = BitMapBackend::new(&tmp, SIZE).into_drawing_area();
            draw(root, chart).map_err(|m| chart_err(&png_path, m))?;
        }
        std::fs::rename(&tmp, &png_path).map_err(|e| ReportError::io(&png_path, e))?;
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
    if (points.len() - 1) % k != 0 {
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
        let (lo, hi) = y_range(&[ok, bad]);
        assert!((lo - 0.95).abs() < 1e-12 && (hi - 2.05).abs() < 1e-12, "{lo} {hi}");
    }

    #[test]
    fn light_colours_detected() {
        assert!(is_light((0xf0, 0xff, 0xff)));
        assert!(!is_light((0x2c, 0xa0, 0x2c)));
    }
}
