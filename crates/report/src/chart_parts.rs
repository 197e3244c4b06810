//! The interval chart, the performance-profile chart and the legend panel, split from `charts` to
//! keep files short.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::charts::{
    edge_style, err, log_ticks, rgb, stroke, tick, Chart, DrawResult, Interval, LegendEntry, Panel,
    Swatch, TuningPanel, FONT,
};

/// Vertical offset between lines of one profile panel, in units of ρ: lines at the same ρ (often
/// 0 or 1 for many cases) would hide each other, so the k-th line of a panel is drawn
/// `(k − (n−1)/2) × OFFSET` higher; small enough (≤ ±0.03 for 10 lines) not to change a reading.
const PROFILE_OFFSET: f64 = 0.006;

/// Performance profiles: panels of step lines over a log τ axis [1, `x_max`], ρ in [0, 1].
pub(crate) fn draw_profiles<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &Chart,
    panels: &[Panel],
    x_max: f64,
) -> DrawResult<()> {
    let x_max = if x_max > 1.0 { x_max } else { 2.0 };
    let (lo, hi) = (-0.05, 1.08);
    let areas = area.split_evenly((1, panels.len().max(1)));
    for (i, (panel, sub)) in panels.iter().zip(&areas).enumerate() {
        let sub = if panel.title.is_empty() {
            sub.clone()
        } else {
            sub.titled(&panel.title, (FONT, 18).into_font().color(&BLACK)).map_err(err)?
        };
        let y_desc = if i == 0 { chart.y_desc.as_str() } else { "" };
        let ticks = log_ticks(1.0, x_max);
        let mut ch = ChartBuilder::on(&sub)
            .margin(10)
            .x_label_area_size(50)
            .y_label_area_size(if i == 0 { 86 } else { 60 })
            .build_cartesian_2d((1.0..x_max).log_scale().with_key_points(ticks), lo..hi)
            .map_err(err)?;
        ch.configure_mesh()
            .x_desc(chart.x_desc.as_str())
            .y_desc(y_desc)
            .y_labels(12)
            .x_label_formatter(&|v| tick(*v))
            .y_label_formatter(&|v| {
                if (0.0..=1.0 + 1e-9).contains(v) {
                    tick(*v)
                } else {
                    String::new()
                }
            })
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .light_line_style(TRANSPARENT)
            .draw()
            .map_err(err)?;
        let n = panel.lines.len();
        let mut order: Vec<(usize, &crate::charts::Line)> =
            panel.lines.iter().enumerate().filter(|(_, l)| l.reference).collect();
        order.extend(panel.lines.iter().enumerate().filter(|(_, l)| !l.reference));
        for (k, l) in order {
            let dy = if l.reference {
                0.0
            } else {
                (k as f64 - (n as f64 - 1.0) / 2.0) * PROFILE_OFFSET
            };
            let pts: Vec<(f64, f64)> = l
                .points
                .iter()
                .map(|p| (p.0.clamp(1.0, x_max), (p.1 + dy).clamp(lo, hi)))
                .collect();
            let style = rgb(stroke(l.colour)).stroke_width(if l.reference { 2 } else { 3 });
            if l.dashed || l.reference {
                ch.draw_series(DashedLineSeries::new(pts, 10, 6, style)).map_err(err)?;
            } else {
                ch.draw_series(LineSeries::new(pts, style)).map_err(err)?;
            }
        }
    }
    Ok(())
}

pub(crate) fn draw_intervals<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &Chart,
    rows: &[Interval],
    domain: (f64, f64),
) -> DrawResult<()> {
    let n = rows.len().max(1) as u32;
    let vals: Vec<f64> =
        rows.iter().flat_map(|r| [r.mean, r.low, r.high]).filter(|v| v.is_finite()).collect();
    let lo = vals.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if lo.is_finite() && hi.is_finite() { (lo, hi) } else { (0.0, 1.0) };
    let pad = 0.05 * (hi - lo).max(1e-3);
    let (x_lo, x_hi) = ((lo - pad).max(domain.0), (hi + pad).min(domain.1));
    // Row i from the top sits in segment n−1−i (segment 0 is at the bottom).
    let labels: Vec<String> = rows.iter().rev().map(|r| r.label.clone()).collect();
    let mut ch = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(50)
        .y_label_area_size(400)
        .build_cartesian_2d(x_lo..x_hi, (0u32..n).into_segmented())
        .map_err(err)?;
    ch.configure_mesh()
        .disable_y_mesh()
        .x_desc(chart.x_desc.as_str())
        .y_desc(chart.y_desc.as_str())
        .y_labels(n as usize + 2)
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => labels.get(*i as usize).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .x_label_formatter(&|v| tick(*v))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 17))
        .light_line_style(TRANSPARENT)
        .draw()
        .map_err(err)?;
    for (i, r) in rows.iter().enumerate() {
        let y = SegmentValue::CenterOf(n - 1 - i as u32);
        if r.low.is_finite() && r.high.is_finite() {
            ch.draw_series(std::iter::once(PathElement::new(
                vec![(r.low.max(x_lo), y.clone()), (r.high.min(x_hi), y.clone())],
                rgb(stroke(r.colour)).stroke_width(3),
            )))
            .map_err(err)?;
        }
        if r.mean.is_finite() {
            let p = (r.mean, y);
            if r.square {
                let size = 7;
                ch.draw_series(std::iter::once(
                    EmptyElement::at(p.clone())
                        + Rectangle::new([(-size, -size), (size, size)], rgb(r.colour).filled())
                        + Rectangle::new([(-size, -size), (size, size)], edge_style(r.colour)),
                ))
                .map_err(err)?;
            } else {
                ch.draw_series(std::iter::once(
                    EmptyElement::at(p.clone())
                        + Circle::new((0, 0), 8, rgb(r.colour).filled())
                        + Circle::new((0, 0), 8, edge_style(r.colour)),
                ))
                .map_err(err)?;
            }
        }
    }
    Ok(())
}

pub(crate) fn draw_legend<DB: DrawingBackend>(
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
    let top = 30.0;
    let step = ((h as f64 - top - 20.0) / entries.len() as f64).min(size * 1.7);
    let font = (FONT, size).into_font().color(&BLACK);
    for (i, e) in entries.iter().enumerate() {
        let y = (top + i as f64 * step) as i32;
        let sw = (size * 0.8) as i32;
        let mid = y + sw / 2;
        match e.swatch {
            Swatch::Heading => {
                let bold = (FONT, size).into_font().color(&RGBColor(20, 20, 20));
                area.draw(&Text::new(e.text.clone(), (10, y - 1), bold)).map_err(err)?;
                // Underline the heading so it reads as one.
                let tw = area
                    .estimate_text_size(&e.text, &(FONT, size).into_font().into())
                    .map_err(err)?
                    .0 as i32;
                area.draw(&PathElement::new(
                    vec![(10, y + sw + 3), (10 + tw, y + sw + 3)],
                    BLACK.stroke_width(1),
                ))
                .map_err(err)?;
                continue;
            }
            Swatch::Bar => {
                area.draw(&Rectangle::new([(10, y), (40, y + sw)], rgb(e.colour).filled()))
                    .map_err(err)?;
                area.draw(&Rectangle::new([(10, y), (40, y + sw)], edge_style(e.colour)))
                    .map_err(err)?;
            }
            Swatch::Line { dashed } => {
                let style = rgb(stroke(e.colour)).stroke_width(3);
                if dashed {
                    for x in [10, 24] {
                        area.draw(&PathElement::new(vec![(x, mid), (x + 10, mid)], style))
                            .map_err(err)?;
                    }
                } else {
                    area.draw(&PathElement::new(vec![(10, mid), (40, mid)], style)).map_err(err)?;
                }
            }
            Swatch::Marker { square } => {
                let r = sw / 2 + 1;
                if square {
                    let corners = [(25 - r, mid - r), (25 + r, mid + r)];
                    area.draw(&Rectangle::new(corners, rgb(e.colour).filled())).map_err(err)?;
                    area.draw(&Rectangle::new(corners, edge_style(e.colour))).map_err(err)?;
                } else {
                    area.draw(&Circle::new((25, mid), r, rgb(e.colour).filled())).map_err(err)?;
                    area.draw(&Circle::new((25, mid), r, edge_style(e.colour))).map_err(err)?;
                }
            }
            Swatch::Cross => {
                let style = rgb(stroke(e.colour)).stroke_width(2);
                area.draw(&Cross::new((25, mid), sw / 2 + 1, style)).map_err(err)?;
            }
            Swatch::Ring => {
                let style = rgb(stroke(e.colour)).stroke_width(2);
                area.draw(&Circle::new((25, mid), sw / 2 + 2, style)).map_err(err)?;
            }
        }
        if e.diverged {
            area.draw(&Cross::new((49, mid), 4, BLACK.stroke_width(2))).map_err(err)?;
        }
        area.draw(&Text::new(e.text.clone(), (text_x, y - 1), font.clone())).map_err(err)?;
    }
    Ok(())
}

/// The ticks of a log η axis over [lo, hi]: the powers of ten inside it when there are at least
/// two (a tuning grid spans decades, and 1-2-5 ticks crowd a small panel), else [`log_ticks`].
fn decade_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let decades: Vec<f64> =
        (lo.log10().ceil() as i32..=hi.log10().floor() as i32).map(|k| 10f64.powi(k)).collect();
    if decades.len() >= 2 {
        decades
    } else {
        log_ticks(lo, hi)
    }
}

/// Tuning curves: a grid of panels, `cols` per row, sharing one log η axis and one score axis.
/// Per series: its line (broken at NaN scores), a dot per candidate, a × at the bottom edge for
/// each diverged candidate, a ring at the default η and a filled, black-edged circle at the
/// selected η.
pub(crate) fn draw_tuning<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &Chart,
    panels: &[TuningPanel],
    cols: usize,
) -> DrawResult<()> {
    let cols = cols.max(1);
    let rows = panels.len().div_ceil(cols).max(1);
    let series = || panels.iter().flat_map(|p| &p.series);
    let xs: Vec<f64> = series()
        .flat_map(|s| s.points.iter().map(|p| p.0).chain(s.diverged.iter().copied()))
        .filter(|x| x.is_finite() && *x > 0.0)
        .collect();
    let x_lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let x_hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    // Half a grid step of room on either side (the study's grid: factors 10^0.5 apart).
    let (x_lo, x_hi) =
        if x_lo.is_finite() && x_hi.is_finite() { (x_lo / 1.6, x_hi * 1.6) } else { (1e-4, 1.0) };
    let ys: Vec<f64> =
        series().flat_map(|s| s.points.iter().map(|p| p.1)).filter(|y| y.is_finite()).collect();
    let y_lo = ys.iter().copied().fold(f64::INFINITY, f64::min);
    let y_hi = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    // Below the lowest point, one row per series for its diverged markers (6 % of the span
    // each), so two trials that diverge at the same η do not hide each other's ×.
    let n_series = panels.iter().map(|p| p.series.len()).max().unwrap_or(0);
    let (y_lo, y_hi, step) = if y_lo.is_finite() && y_hi.is_finite() {
        let span = (y_hi - y_lo).max(1e-3);
        (y_lo - 0.06 * span * (n_series as f64 + 0.5), y_hi + 0.05 * span, 0.06 * span)
    } else {
        (0.0, 1.0, 0.06)
    };
    let areas = area.split_evenly((rows, cols));
    for (i, (panel, sub)) in panels.iter().zip(&areas).enumerate() {
        let (row, col) = (i / cols, i % cols);
        let sub = sub.titled(&panel.title, (FONT, 15).into_font().color(&BLACK)).map_err(err)?;
        let last_row = row + 1 == rows || i + cols >= panels.len();
        let mut ch = ChartBuilder::on(&sub)
            .margin(6)
            // The same size everywhere, so the panels of a row share their y extent.
            .x_label_area_size(42)
            .y_label_area_size(if col == 0 { 66 } else { 44 })
            .build_cartesian_2d(
                (x_lo..x_hi).log_scale().with_key_points(decade_ticks(x_lo, x_hi)),
                y_lo..y_hi,
            )
            .map_err(err)?;
        ch.configure_mesh()
            .x_desc(if last_row { chart.x_desc.as_str() } else { "" })
            .y_desc(if col == 0 { chart.y_desc.as_str() } else { "" })
            .y_labels(5)
            .x_label_formatter(&|v| tick(*v))
            .y_label_formatter(&|v| tick(*v))
            .label_style((FONT, 12))
            .axis_desc_style((FONT, 13))
            .light_line_style(TRANSPARENT)
            .draw()
            .map_err(err)?;
        for (k, s) in panel.series.iter().enumerate() {
            let bottom = y_lo + step * (k as f64 + 0.6);
            let colour = rgb(stroke(s.colour));
            let style = colour.stroke_width(2);
            for run in s.points.split(|p| !p.1.is_finite()).filter(|r| !r.is_empty()) {
                ch.draw_series(LineSeries::new(run.to_vec(), style)).map_err(err)?;
            }
            ch.draw_series(
                s.points
                    .iter()
                    .filter(|p| p.1.is_finite())
                    .map(|&p| Circle::new(p, 3, style.filled())),
            )
            .map_err(err)?;
            ch.draw_series(s.diverged.iter().map(|&x| Cross::new((x, bottom), 5, style)))
                .map_err(err)?;
            if let Some(p) = s.default.filter(|p| p.1.is_finite()) {
                ch.draw_series(std::iter::once(Circle::new(p, 10, style))).map_err(err)?;
            }
            if let Some(p) = s.selected.filter(|p| p.1.is_finite()) {
                ch.draw_series(std::iter::once(
                    EmptyElement::at(p)
                        + Circle::new((0, 0), 6, colour.filled())
                        + Circle::new((0, 0), 6, BLACK.stroke_width(2)),
                ))
                .map_err(err)?;
            }
        }
    }
    Ok(())
}
