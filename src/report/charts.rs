//! The report's charts: plotters draws each as SVG into a string that the
//! page inlines, so the page needs no script and no network. Legends are
//! left to the page (HTML beside the chart), so every `<circle>` in a chart
//! is a data point and every coloured `<rect>` a bar: what the tests count.

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::domain::{ForecastMethod, Quadrant};
use crate::error::{Error, Result};

/// How the numbers along an axis are written.
pub type AxisFormat<'a> = &'a dyn Fn(f64) -> String;

pub const ACTUAL: RGBColor = RGBColor(0x1f, 0x1f, 0x1f);
pub const BASE_PAY: RGBColor = RGBColor(0x9e, 0xb3, 0xc8);
pub const COMMISSION: RGBColor = RGBColor(0x2b, 0x6c, 0xb0);
pub const SPARKLINE: RGBColor = RGBColor(0x2b, 0x6c, 0xb0);
pub const FUNNEL: RGBColor = RGBColor(0x2f, 0x85, 0x5a);
const GRID: RGBColor = RGBColor(0xe6, 0xe6, 0xe6);
const REFERENCE: RGBColor = RGBColor(0x80, 0x80, 0x80);

pub fn quadrant_color(q: Quadrant) -> RGBColor {
    match q {
        Quadrant::RisingStar => RGBColor(0x2f, 0x85, 0x5a),
        Quadrant::FallingStar => RGBColor(0xdd, 0x6b, 0x20),
        Quadrant::ImprovingLaggard => RGBColor(0x2b, 0x6c, 0xb0),
        Quadrant::DecliningLaggard => RGBColor(0xc5, 0x30, 0x30),
    }
}

/// A point with no quadrant (no previous quarter to compare with).
pub const NO_QUADRANT: RGBColor = RGBColor(0x80, 0x80, 0x80);

pub fn method_color(m: ForecastMethod) -> RGBColor {
    match m {
        ForecastMethod::StageWeighted => RGBColor(0x2b, 0x6c, 0xb0),
        ForecastMethod::CycleAge => RGBColor(0xdd, 0x6b, 0x20),
        ForecastMethod::RepCommit => RGBColor(0x2f, 0x85, 0x5a),
        ForecastMethod::HistoricalGrowth => RGBColor(0x80, 0x5a, 0xd5),
    }
}

/// The colour as the SVG writes it (`fill="#2B6CB0"`), for legends.
pub fn hex(c: RGBColor) -> String {
    format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
}

fn drawn<T, E: std::fmt::Display>(r: std::result::Result<T, E>) -> Result<T> {
    r.map_err(|e| Error::Bug(format!("drawing a report chart: {e}")))
}

/// Draws on a white `size` canvas and returns the SVG.
fn svg(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Result<()>,
) -> Result<String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        drawn(root.fill(&WHITE))?;
        draw(&root)?;
        drawn(root.present())?;
    }
    Ok(out)
}

/// The smallest and largest of `values` and `also`, widened so the points
/// are not drawn on the frame (and a single value still has a range).
fn padded_range(values: impl Iterator<Item = f64>, also: &[f64]) -> std::ops::Range<f64> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.chain(also.iter().copied()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return 0.0..1.0;
    }
    let pad = if hi > lo {
        (hi - lo) * 0.08
    } else {
        lo.abs().max(1.0) * 0.5
    };
    (lo - pad)..(hi + pad)
}

/// The label of category `v` of `categories` when `v` is its position.
fn category_label(categories: &[String], v: f64) -> String {
    let i = v.round();
    if (v - i).abs() > 1e-6 || i < 0.0 {
        return String::new();
    }
    categories.get(i as usize).cloned().unwrap_or_default()
}

/// At most 6 labels along a category axis, so quarter names do not touch.
fn category_labels(n: usize) -> usize {
    n.clamp(1, 6)
}

/// The font of axis labels and descriptions (plotters writes 1/1.24 of it
/// as the SVG font-size).
const AXIS_FONT: (&str, u32) = ("sans-serif", 16);

/// The positions of `n` categories (0, 1, ...) with half a slot either side.
fn category_range(n: usize) -> std::ops::Range<f64> {
    -0.5..(n.max(1) as f64 - 0.5)
}

/// What the x axis shows: numbers (a scatter), or categories (quarters,
/// months) at positions 0, 1, ...
enum XAxis<'a> {
    Values {
        desc: &'a str,
        format: AxisFormat<'a>,
    },
    Categories(&'a [String]),
}

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A chart's frame on `root`: its ranges, the axes with their labels, and a
/// light grid.
fn axes<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, Shift>,
    (x, x_range): (XAxis, std::ops::Range<f64>),
    y_range: std::ops::Range<f64>,
    (y_desc, y_fmt): (&str, AxisFormat),
) -> Result<Chart<'a, 'b>> {
    let mut chart = drawn(
        ChartBuilder::on(root)
            .margin(16)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d(x_range, y_range),
    )?;
    let x_fmt = |v: &f64| match &x {
        XAxis::Values { format, .. } => format(*v),
        XAxis::Categories(names) => category_label(names, *v),
    };
    let y_fmt = |v: &f64| y_fmt(*v);
    let mut mesh = chart.configure_mesh();
    mesh.light_line_style(WHITE)
        .bold_line_style(GRID)
        .label_style(AXIS_FONT)
        .axis_desc_style(AXIS_FONT)
        .y_desc(y_desc)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt);
    match &x {
        XAxis::Values { desc, .. } => mesh.x_desc(*desc),
        XAxis::Categories(names) => mesh.x_labels(category_labels(names.len())),
    };
    drawn(mesh.draw())?;
    Ok(chart)
}

pub struct LabelledPoint {
    pub label: String,
    pub x: f64,
    pub y: f64,
    pub color: RGBColor,
}

/// A scatter of labelled points with a vertical reference line at
/// `x_line` and a horizontal one at y = 0.
pub fn scatter(
    size: (u32, u32),
    points: &[LabelledPoint],
    x_line: Option<f64>,
    (x_desc, y_desc): (&str, &str),
    (x_fmt, y_fmt): (AxisFormat, AxisFormat),
) -> Result<String> {
    svg(size, |root| {
        let x_range = padded_range(points.iter().map(|p| p.x), x_line.as_slice());
        let y_range = padded_range(points.iter().map(|p| p.y), &[0.0]);
        let mut chart = axes(
            root,
            (
                XAxis::Values {
                    desc: x_desc,
                    format: x_fmt,
                },
                x_range.clone(),
            ),
            y_range.clone(),
            (y_desc, y_fmt),
        )?;
        let reference = REFERENCE.stroke_width(1);
        drawn(chart.draw_series(DashedLineSeries::new(
            [(x_range.start, 0.0), (x_range.end, 0.0)],
            6,
            4,
            reference,
        )))?;
        if let Some(x) = x_line {
            drawn(chart.draw_series(DashedLineSeries::new(
                [(x, y_range.start), (x, y_range.end)],
                6,
                4,
                reference,
            )))?;
        }
        drawn(
            chart.draw_series(
                points
                    .iter()
                    .map(|p| Circle::new((p.x, p.y), 5, p.color.filled())),
            ),
        )?;
        // An empty label draws nothing (the caller leaves out crowded ones).
        drawn(
            chart.draw_series(points.iter().filter(|p| !p.label.is_empty()).map(|p| {
                EmptyElement::at((p.x, p.y))
                    + Text::new(p.label.clone(), (7, -16), ("sans-serif", 16).into_font())
            })),
        )?;
        Ok(())
    })
}

/// One line of a chart over categories: a value per category, gaps for nulls.
pub struct Line {
    pub color: RGBColor,
    pub values: Vec<Option<f64>>,
    /// Stroke width in pixels.
    pub width: u32,
}

/// The runs of consecutive non-null values, as (position, value) points.
fn segments(values: &[Option<f64>]) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = vec![];
    let mut current = vec![];
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) => current.push((i as f64, *v)),
            None if !current.is_empty() => out.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Lines over `categories` (quarters), a marker on every value.
pub fn lines(categories: &[String], lines: &[Line], y_fmt: AxisFormat) -> Result<String> {
    svg((640, 320), |root| {
        let y_range = padded_range(
            lines
                .iter()
                .flat_map(|l| l.values.iter().flatten().copied()),
            &[0.0],
        );
        let x = (
            XAxis::Categories(categories),
            category_range(categories.len()),
        );
        let mut chart = axes(root, x, y_range, ("", y_fmt))?;
        for line in lines {
            let style = line.color.stroke_width(line.width);
            for segment in segments(&line.values) {
                drawn(chart.draw_series(LineSeries::new(segment.clone(), style)))?;
                drawn(
                    chart.draw_series(
                        segment
                            .into_iter()
                            .map(|p| Circle::new(p, 3, line.color.filled())),
                    ),
                )?;
            }
        }
        Ok(())
    })
}

/// A small line with no axes, for a table cell.
pub fn sparkline(values: &[Option<f64>]) -> Result<String> {
    svg((120, 32), |root| {
        let y_range = padded_range(values.iter().flatten().copied(), &[]);
        let mut chart = drawn(
            ChartBuilder::on(root)
                .margin(3)
                .build_cartesian_2d(category_range(values.len()), y_range),
        )?;
        for segment in segments(values) {
            drawn(chart.draw_series(LineSeries::new(segment.clone(), SPARKLINE.stroke_width(1))))?;
            drawn(
                chart.draw_series(
                    segment
                        .into_iter()
                        .map(|p| Circle::new(p, 2, SPARKLINE.filled())),
                ),
            )?;
        }
        Ok(())
    })
}

/// One layer of stacked bars: a value per category.
pub struct Stack {
    pub color: RGBColor,
    pub values: Vec<f64>,
}

/// Bars over `categories`, each the `stacks` one on another (a single stack
/// is plain bars).
pub fn stacked_bars(categories: &[String], stacks: &[Stack], y_fmt: AxisFormat) -> Result<String> {
    svg((640, 300), |root| {
        let n = categories.len();
        let totals: Vec<f64> = (0..n)
            .map(|i| stacks.iter().map(|s| s.values[i]).sum())
            .collect();
        let top = totals.iter().copied().fold(0.0, f64::max);
        let y_range = 0.0..if top > 0.0 { top * 1.08 } else { 1.0 };
        let x = (XAxis::Categories(categories), category_range(n));
        let mut chart = axes(root, x, y_range, ("", y_fmt))?;
        let mut below = vec![0.0; n];
        for stack in stacks {
            drawn(chart.draw_series((0..n).map(|i| {
                let (x, from) = (i as f64, below[i]);
                below[i] += stack.values[i];
                Rectangle::new(
                    [(x - 0.38, from), (x + 0.38, below[i])],
                    stack.color.filled(),
                )
            })))?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_with_no_label_is_drawn_without_one() {
        let point = |label: &str, x: f64| LabelledPoint {
            label: label.to_string(),
            x,
            y: x,
            color: NO_QUADRANT,
        };
        let format = |v: f64| format!("{v}");
        let draw = |points: &[LabelledPoint]| {
            scatter((400, 300), points, None, ("x", "y"), (&format, &format)).unwrap()
        };
        let svg = draw(&[point("Ann", 1.0), point("", 2.0)]);
        assert_eq!(svg.matches("<circle").count(), 2);
        assert_eq!(svg.matches("\nAnn\n").count(), 1);
        // Axis labels and the two descriptions aside, one text: Ann.
        let texts = svg.matches("<text").count();
        let without_ann = draw(&[point("", 1.0), point("", 2.0)])
            .matches("<text")
            .count();
        assert_eq!(texts, without_ann + 1);
    }
}
