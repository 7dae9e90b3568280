//! Dependency-free SVG plots: line charts with several series, and histograms.
//!
//! Every function returns a complete `<svg>` element as a `String` that can be written to a
//! `.svg` file or inlined into HTML. Axis labels should carry their unit (`"t (ms)"`).
//! Non-finite values (NaN, ±∞) are skipped: a NaN splits a line into separate pieces, so a
//! missing sample shows as a gap.
//!
//! ```
//! use edra::plot::{Series, line_chart, histogram, LineChart};
//! let ca = Series::new("Ca (µM)", vec![(0.0, 0.1), (1.0, 0.5), (2.0, 0.2)]);
//! let svg = line_chart(&LineChart::new("Spine Ca", "t (ms)", "Ca (µM)"), &[ca]);
//! assert!(svg.starts_with("<svg"));
//! let h = histogram("weights", "w (mV)", 10, &[("before", &[1.0, 1.2, 2.0][..])]);
//! assert!(h.contains("<rect"));
//! ```

use std::fmt::Write;

/// Colours given to series in order (colour-blind-safe palette, Okabe & Ito 2008).
pub const PALETTE: [&str; 8] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442",
];

/// One named line: (x, y) points in the order they are drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Legend entry, with unit if the series do not share one.
    pub name: String,
    pub points: Vec<(f64, f64)>,
    /// CSS colour; `None` takes the next colour of [`PALETTE`].
    pub color: Option<String>,
}

impl Series {
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series {
            name: name.into(),
            points,
            color: None,
        }
    }

    /// The same series in colour `c` (any CSS colour).
    pub fn color(mut self, c: impl Into<String>) -> Self {
        self.color = Some(c.into());
        self
    }
}

/// Title, axis labels and size of a chart. Sizes are in SVG pixels.
#[derive(Clone, Debug, PartialEq)]
pub struct LineChart {
    pub title: String,
    /// x-axis label with unit, e.g. `"t (ms)"`.
    pub x_label: String,
    /// y-axis label with unit, e.g. `"h (mV)"`.
    pub y_label: String,
    /// Default 640.
    pub width: f64,
    /// Default 260.
    pub height: f64,
}

impl LineChart {
    pub fn new(
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
    ) -> Self {
        LineChart {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            width: 640.0,
            height: 260.0,
        }
    }

    /// The same chart with another size (SVG pixels).
    pub fn size(mut self, width: f64, height: f64) -> Self {
        self.width = width;
        self.height = height;
        self
    }
}

const MARGIN_LEFT: f64 = 64.0;
const MARGIN_RIGHT: f64 = 16.0;
const MARGIN_TOP: f64 = 28.0;
const MARGIN_BOTTOM: f64 = 44.0;

/// Escapes text for use inside SVG/HTML elements and attributes.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

/// "Nice" tick positions covering `[lo, hi]`: about `n` ticks at 1, 2 or 5 × 10^k.
pub fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo || n == 0 {
        return vec![lo];
    }
    let raw = (hi - lo) / n as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// Formats a tick label compactly (`0.001`, `2.5`, `1e6`).
fn fmt_tick(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        return format!("{v:.0e}");
    }
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// The range of finite values, widened if empty or flat.
fn range(vals: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in vals.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        return (0.0, 1.0);
    }
    if hi - lo <= f64::EPSILON * hi.abs().max(1.0) * 8.0 {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return (lo - pad, hi + pad);
    }
    (lo, hi)
}

/// Frame, grid, ticks, axis labels and title; returns the mapping from data to pixels.
struct Frame {
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
    w: f64,
    h: f64,
}

impl Frame {
    fn px(&self, x: f64) -> f64 {
        MARGIN_LEFT + (x - self.x0) / (self.x1 - self.x0) * (self.w - MARGIN_LEFT - MARGIN_RIGHT)
    }
    fn py(&self, y: f64) -> f64 {
        self.h
            - MARGIN_BOTTOM
            - (y - self.y0) / (self.y1 - self.y0) * (self.h - MARGIN_TOP - MARGIN_BOTTOM)
    }

    fn draw(&self, out: &mut String, title: &str, x_label: &str, y_label: &str) {
        let (l, r) = (MARGIN_LEFT, self.w - MARGIN_RIGHT);
        let (t, b) = (MARGIN_TOP, self.h - MARGIN_BOTTOM);
        let _ = write!(
            out,
            r##"<rect x="0" y="0" width="{w}" height="{h}" fill="#fff"/><text x="{cx:.1}" y="18" text-anchor="middle" font-size="14" font-weight="bold">{title}</text>"##,
            w = self.w,
            h = self.h,
            cx = self.w / 2.0,
            title = escape(title)
        );
        for x in ticks(self.x0, self.x1, 6) {
            let p = self.px(x);
            let _ = write!(
                out,
                r##"<line x1="{p:.1}" y1="{t}" x2="{p:.1}" y2="{b}" stroke="#e5e5e5"/><text x="{p:.1}" y="{ty}" text-anchor="middle" font-size="11">{lab}</text>"##,
                ty = b + 14.0,
                lab = fmt_tick(x)
            );
        }
        for y in ticks(self.y0, self.y1, 5) {
            let p = self.py(y);
            let _ = write!(
                out,
                r##"<line x1="{l}" y1="{p:.1}" x2="{r}" y2="{p:.1}" stroke="#e5e5e5"/><text x="{tx}" y="{ty:.1}" text-anchor="end" font-size="11">{lab}</text>"##,
                tx = l - 4.0,
                ty = p + 4.0,
                lab = fmt_tick(y)
            );
        }
        let _ = write!(
            out,
            r##"<rect x="{l}" y="{t}" width="{pw}" height="{ph}" fill="none" stroke="#333"/><text x="{cx:.1}" y="{xl}" text-anchor="middle" font-size="12">{xlab}</text><text transform="translate(14 {cy:.1}) rotate(-90)" text-anchor="middle" font-size="12">{ylab}</text>"##,
            pw = r - l,
            ph = b - t,
            cx = (l + r) / 2.0,
            xl = self.h - 8.0,
            cy = (t + b) / 2.0,
            xlab = escape(x_label),
            ylab = escape(y_label)
        );
    }
}

fn open_svg(w: f64, h: f64, label: &str) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" role="img" aria-label="{}">"#,
        escape(label)
    )
}

/// A line chart of `series` on shared axes, with a legend. Returns an `<svg>` element.
pub fn line_chart(chart: &LineChart, series: &[Series]) -> String {
    let (x0, x1) = range(series.iter().flat_map(|s| s.points.iter().map(|p| p.0)));
    let (y0, y1) = range(series.iter().flat_map(|s| s.points.iter().map(|p| p.1)));
    let f = Frame {
        x0,
        x1,
        y0,
        y1,
        w: chart.width,
        h: chart.height,
    };
    let mut out = open_svg(chart.width, chart.height, &chart.title);
    f.draw(&mut out, &chart.title, &chart.x_label, &chart.y_label);
    for (i, s) in series.iter().enumerate() {
        let color = s
            .color
            .clone()
            .unwrap_or_else(|| PALETTE[i % PALETTE.len()].to_string());
        // One path; a non-finite point starts a new piece.
        let mut d = String::new();
        let mut pen_down = false;
        for &(x, y) in &s.points {
            if !(x.is_finite() && y.is_finite()) {
                pen_down = false;
                continue;
            }
            let _ = write!(
                d,
                "{}{:.2} {:.2}",
                if pen_down { "L" } else { "M" },
                f.px(x),
                f.py(y)
            );
            pen_down = true;
        }
        let _ = write!(
            out,
            r#"<path d="{d}" fill="none" stroke="{c}" stroke-width="1.5"><title>{n}</title></path>"#,
            c = escape(&color),
            n = escape(&s.name)
        );
        let ly = MARGIN_TOP + 12.0 + 15.0 * i as f64;
        // Legend at the top right: name right-aligned, then a swatch.
        let lx = chart.width - MARGIN_RIGHT - 26.0;
        let _ = write!(
            out,
            r##"<line x1="{lx}" y1="{y:.1}" x2="{x2}" y2="{y:.1}" stroke="{c}" stroke-width="2"/><text x="{tx}" y="{ty:.1}" font-size="11" text-anchor="end" paint-order="stroke" stroke="#fff" stroke-width="3">{n}</text>"##,
            y = ly,
            x2 = lx + 18.0,
            c = escape(&color),
            tx = lx - 4.0,
            ty = ly + 4.0,
            n = escape(&s.name)
        );
    }
    out.push_str("</svg>");
    out
}

/// Histogram of one or more sets of values on the same `bins` equal bins spanning all their
/// values, with a count axis. Each set is `(legend name, values)`: the first is drawn as filled
/// bars, the others as outlines (e.g. `[("before", &b), ("after", &a)]`); a legend is drawn when
/// there is more than one set. Non-finite values are ignored. Returns an `<svg>` element.
pub fn histogram(title: &str, x_label: &str, bins: usize, sets: &[(&str, &[f64])]) -> String {
    let bins = bins.max(1);
    let (lo, hi) = range(sets.iter().flat_map(|s| s.1.iter()).copied());
    let count = |vals: &[f64]| {
        let mut c = vec![0u64; bins];
        for &v in vals.iter().filter(|v| v.is_finite()) {
            let k = (((v - lo) / (hi - lo)) * bins as f64).floor() as i64;
            c[k.clamp(0, bins as i64 - 1) as usize] += 1;
        }
        c
    };
    let counts: Vec<Vec<u64>> = sets.iter().map(|s| count(s.1)).collect();
    let max = counts.iter().flatten().copied().max().unwrap_or(0).max(1);
    let (w, h) = (640.0, 260.0);
    let f = Frame {
        x0: lo,
        x1: hi,
        y0: 0.0,
        y1: max as f64 * 1.05,
        w,
        h,
    };
    let mut out = open_svg(w, h, title);
    f.draw(&mut out, title, x_label, "count");
    let bw = (hi - lo) / bins as f64;
    for (si, set) in counts.iter().enumerate() {
        let c = PALETTE[si % PALETTE.len()];
        for (k, &n) in set.iter().enumerate() {
            if n == 0 {
                continue;
            }
            let (xa, xb) = (f.px(lo + k as f64 * bw), f.px(lo + (k + 1) as f64 * bw));
            let (ya, yb) = (f.py(n as f64), f.py(0.0));
            let style = if si == 0 {
                format!(r#"fill="{c}" fill-opacity="0.55" stroke="{c}""#)
            } else {
                format!(r#"fill="none" stroke="{c}" stroke-width="2""#)
            };
            let _ = write!(
                out,
                r#"<rect x="{xa:.2}" y="{ya:.2}" width="{bw:.2}" height="{bh:.2}" {style}><title>{n}</title></rect>"#,
                bw = (xb - xa).max(0.5),
                bh = (yb - ya).max(0.0)
            );
        }
    }
    if sets.len() > 1 {
        for (i, n) in sets.iter().map(|s| s.0).enumerate() {
            let ly = MARGIN_TOP + 12.0 + 15.0 * i as f64;
            let lx = w - MARGIN_RIGHT - 24.0;
            let _ = write!(
                out,
                r##"<rect x="{lx}" y="{y:.1}" width="14" height="9" fill="{c}" fill-opacity="0.6"/><text x="{tx}" y="{ty:.1}" font-size="11" text-anchor="end" paint-order="stroke" stroke="#fff" stroke-width="3">{n}</text>"##,
                y = ly - 5.0,
                c = PALETTE[i % PALETTE.len()],
                tx = lx - 4.0,
                ty = ly + 4.0,
                n = escape(n)
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// Thins a long series to at most about `max_points` points for drawing: the points are cut
/// into equal buckets and each bucket keeps its lowest and highest point, in time order, so
/// short peaks stay visible. Non-finite points are kept (they mark gaps). A series already short
/// enough is returned unchanged.
pub fn decimate(points: &[(f64, f64)], max_points: usize) -> Vec<(f64, f64)> {
    let buckets = (max_points / 2).max(1);
    if points.len() <= max_points.max(2) {
        return points.to_vec();
    }
    let size = points.len().div_ceil(buckets);
    let mut out = Vec::with_capacity(2 * buckets + 2);
    for chunk in points.chunks(size) {
        let finite = || chunk.iter().enumerate().filter(|(_, p)| p.1.is_finite());
        let lo = finite().min_by(|a, b| a.1.1.total_cmp(&b.1.1));
        let hi = finite().max_by(|a, b| a.1.1.total_cmp(&b.1.1));
        match (lo, hi) {
            (Some((i, &a)), Some((j, _))) if i == j => out.push(a),
            (Some((i, &a)), Some((j, &b))) => {
                if i < j {
                    out.extend([a, b]);
                } else {
                    out.extend([b, a]);
                }
            }
            _ => out.push(chunk[0]),
        }
        if chunk.iter().any(|p| !p.1.is_finite()) && lo.is_some() {
            out.push((f64::NAN, f64::NAN));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_nice_and_cover_the_range() {
        assert_eq!(ticks(0.0, 10.0, 5), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        let t = ticks(0.013, 0.087, 4);
        assert!(t.iter().all(|v| (0.013..=0.087).contains(v)), "{t:?}");
        assert!(t.len() >= 3);
        assert_eq!(ticks(1.0, 1.0, 5), vec![1.0]);
        assert_eq!(ticks(f64::NAN, 1.0, 5).len(), 1);
    }

    #[test]
    fn line_chart_has_labels_series_and_gaps() {
        let a = Series::new("h (mV)", vec![(0.0, 1.0), (1.0, f64::NAN), (2.0, 3.0)]);
        let b = Series::new("z", vec![(0.0, 0.0), (2.0, 0.5)]).color("red");
        let svg = line_chart(&LineChart::new("w <t>", "t (ms)", "mV"), &[a, b]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("t (ms)") && svg.contains("h (mV)"));
        assert!(svg.contains("w &lt;t&gt;"), "title escaped");
        assert!(svg.contains(r#"stroke="red""#));
        // The NaN splits the first series into two pieces: two moves, no line-to.
        let first = svg.split("<path d=\"").nth(1).unwrap();
        let d = &first[..first.find('"').unwrap()];
        assert_eq!(d.matches('M').count(), 2, "{d}");
        assert!(!d.contains('L'));
    }

    #[test]
    fn empty_and_flat_inputs_do_not_panic() {
        let c = LineChart::new("", "", "");
        assert!(line_chart(&c, &[]).contains("</svg>"));
        let flat = Series::new("flat", vec![(0.0, 2.0), (1.0, 2.0)]);
        assert!(!line_chart(&c, &[flat]).contains("NaN"));
        assert!(histogram("h", "x", 10, &[]).contains("</svg>"));
        assert!(!histogram("h", "x", 0, &[("a", &[3.0; 5][..])]).contains("NaN"));
    }

    #[test]
    fn decimate_keeps_peaks_and_bounds_size() {
        let mut pts: Vec<(f64, f64)> = (0..10_000).map(|i| (i as f64, 0.0)).collect();
        pts[5_001].1 = 7.0;
        let d = decimate(&pts, 200);
        assert!(d.len() <= 202, "{}", d.len());
        assert!(d.iter().any(|p| p.1 == 7.0));
        assert!(d.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(decimate(&pts[..10], 200), pts[..10].to_vec());
    }

    #[test]
    fn histogram_counts_every_value_once() {
        let v = [0.0, 0.1, 0.2, 0.9, 1.0, f64::NAN];
        let svg = histogram(
            "h",
            "w (mV)",
            2,
            &[("before", &v[..]), ("after", &[0.5][..])],
        );
        let counts: Vec<u64> = svg
            .split("<title>")
            .skip(1)
            .filter_map(|s| s[..s.find('<').unwrap()].parse().ok())
            .collect();
        assert_eq!(counts.iter().sum::<u64>(), 6, "{counts:?}");
        assert!(svg.contains("after"));
    }
}
