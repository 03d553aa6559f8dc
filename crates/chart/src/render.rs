//! Drawing a [`Chart`]: layout (title, legend, stacked panels sharing the time axis),
//! grid, series, labels; then SVG or PNG out.
//!
//! Layout is in CSS px times a factor `k`: 1 for SVG, 2 for PNG, whose shapes are drawn
//! at twice the size and scaled down (plotters' bitmap lines are not anti-aliased), with
//! text rasterised afterwards at the final size.

use plotters::backend::{BitMapBackend, SVGBackend};
use plotters::drawing::IntoDrawingArea;
use plotters::element::{Circle, PathElement, Polygon, Rectangle};
use plotters::style::{Color, RGBColor, ShapeStyle};
use plotters_backend::DrawingBackend;

use crate::layer::{Runs, TextLayer};
use crate::scale::{duration_label, legend_figure, span_words, time_step, value_axis, value_label};
use crate::series::Metric;
use crate::text::{self, Faces, HAlign, SvgText, TextRun, VAlign, Weight};
use crate::{
    Chart, ChartError, MAX_SIDE, Panel, SPARK_MIN_HEIGHT, SPARK_MIN_WIDTH, Sparkline, Theme,
    TimeAxis,
};

/// PNG shapes are drawn at this multiple of the final size, then averaged down.
const SUPERSAMPLE: u32 = 2;
/// Above this many final pixels a PNG is drawn without supersampling, to bound memory.
const SUPERSAMPLE_MAX_PIXELS: u32 = 4_000_000;

// Layout, in CSS px.
const PAD: f32 = 16.0;
const TITLE_SIZE: f32 = 15.0;
const SMALL_SIZE: f32 = 12.0;
const TICK_SIZE: f32 = 11.0;
const HEADER_ROW: f32 = 22.0;
const LEGEND_ROW: f32 = 20.0;
const LEGEND_GAP: f32 = 20.0;
const SWATCH_W: f32 = 14.0;
const CAPTION_ROW: f32 = 20.0;
const PANEL_GAP: f32 = 14.0;
const X_LABEL_ROW: f32 = 20.0;
const LINE_WIDTH: f32 = 2.0;
const DOT_RADIUS: f32 = 3.0;
const AREA_ALPHA: f64 = 0.06;
/// Panels with more lines than this are not shaded.
const MAX_SHADED: usize = 2;
/// Points at least this far apart get a marker each.
const MARK_SPACING: f32 = 24.0;
const MARK_RADIUS: f32 = 2.5;
/// Below this plot height the legend drops its means to leave room for the data.
const MIN_PLOT_H: f32 = 56.0;

struct Colors {
    background: RGBColor,
    text: RGBColor,
    muted: RGBColor,
    grid: RGBColor,
    axis: RGBColor,
    palette: [RGBColor; crate::PALETTE_LEN],
}

fn hex(v: u32) -> RGBColor {
    RGBColor((v >> 16) as u8, (v >> 8) as u8, v as u8)
}

fn colors(theme: Theme) -> Colors {
    match theme {
        Theme::Light => Colors {
            background: hex(0xffffff),
            text: hex(0x1f2328),
            muted: hex(0x59636e),
            grid: hex(0xe8ebef),
            axis: hex(0x9aa4ae),
            palette: crate::PALETTE_LIGHT.map(hex),
        },
        Theme::Dark => Colors {
            background: hex(0x0d1117),
            text: hex(0xe6edf3),
            muted: hex(0x9198a1),
            grid: hex(0x222831),
            axis: hex(0x4a535e),
            palette: crate::PALETTE_DARK.map(hex),
        },
    }
}

/// For each series (device-space runs), whether a later-drawn series lies on it: two
/// connections at the same rate (the WS and SSE tickers side by side) would otherwise show
/// as one line in the second colour. "Lies on it": within `tol` px at more than half of
/// the seconds both have, and at least two such seconds.
fn covered(series: &[Vec<Vec<(i32, i32)>>], tol: i32) -> Vec<bool> {
    use std::collections::HashMap;
    let maps: Vec<HashMap<i32, i32>> = series
        .iter()
        .map(|runs| runs.iter().flatten().copied().collect())
        .collect();
    (0..maps.len())
        .map(|i| {
            maps[i + 1..].iter().any(|later| {
                let (mut shared, mut close) = (0usize, 0usize);
                for (x, y) in &maps[i] {
                    if let Some(ly) = later.get(x) {
                        shared += 1;
                        if (ly - y).abs() <= tol {
                            close += 1;
                        }
                    }
                }
                shared >= 2 && close * 2 > shared
            })
        })
        .collect()
}

/// Draws `chart` as an SVG document.
pub fn render_svg(chart: &Chart) -> Result<String, ChartError> {
    chart.validate()?;
    let faces = text::faces()?;
    let mut out = String::with_capacity(48 * 1024);
    let runs = {
        let backend = SVGBackend::with_string(&mut out, (chart.width, chart.height));
        let (layer, runs) = TextLayer::new(backend, faces);
        draw(layer, chart, 1.0, Area::Polygon, faces, &runs)?;
        runs
    };
    let mut svg = SvgText::default();
    for run in runs.borrow().iter() {
        svg.add(faces, run);
    }
    let end = out
        .rfind("</svg>")
        .ok_or_else(|| ChartError::Draw("the SVG backend wrote no closing tag".into()))?;
    out.insert_str(end, &svg.finish());
    // Round joins: per-second data zigzags, and mitred corners would spike past the
    // values. Scoped by a class, so an SVG inlined in a page styles nothing else.
    if let Some(rest) = out.strip_prefix("<svg ") {
        let close = rest.find('>').map_or(0, |i| i + 1);
        out = format!(
            r#"<svg class="sscope-chart" {}<style>.sscope-chart polyline{{stroke-linejoin:round;stroke-linecap:round}}</style>{}"#,
            &rest[..close],
            &rest[close..]
        );
    }
    Ok(out)
}

/// Draws `chart` as a PNG image of exactly `width × height` pixels.
pub fn render_png(chart: &Chart) -> Result<Vec<u8>, ChartError> {
    chart.validate()?;
    let faces = text::faces()?;
    let (w, h) = (chart.width, chart.height);
    let ss = if w * h <= SUPERSAMPLE_MAX_PIXELS {
        SUPERSAMPLE
    } else {
        1
    };
    let mut big = vec![0u8; (w * ss) as usize * (h * ss) as usize * 3];
    let runs = {
        let backend = BitMapBackend::with_buffer(&mut big, (w * ss, h * ss));
        let (layer, runs) = TextLayer::new(backend, faces);
        let shading = draw(layer, chart, ss as f32, Area::Columns, faces, &runs)?;
        (runs, shading)
    };
    let (runs, shading) = runs;
    let mut img = if ss == 1 {
        big
    } else {
        downsample(&big, w, h, ss)
    };
    // Shading goes in at the final size: a quarter of the pixels, and a 6 % tint needs
    // no anti-aliasing at its edge under a line.
    let ss = ss as i32;
    let shading = shading
        .into_iter()
        .filter(|c| c.x % ss == 0)
        .map(|c| Column {
            x: c.x / ss,
            y: (c.y + ss - 1) / ss,
            base: c.base / ss,
            tint: c.tint,
        })
        .collect();
    paint_columns(&mut img, w, colors(chart.theme).background, shading);
    let ss = ss as u32;
    for run in runs.take() {
        text::draw_rgb(faces, &run.scaled_down(ss as f32), &mut img, w, h);
    }
    let mut png_bytes = Vec::with_capacity(img.len() / 8);
    let mut enc = png::Encoder::new(&mut png_bytes, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    // Charts are flat colour: fast compression already shrinks them well.
    enc.set_compression(png::Compression::Fast);
    let mut writer = enc
        .write_header()
        .map_err(|e| ChartError::Png(e.to_string()))?;
    writer
        .write_image_data(&img)
        .map_err(|e| ChartError::Png(e.to_string()))?;
    writer
        .finish()
        .map_err(|e| ChartError::Png(e.to_string()))?;
    Ok(png_bytes)
}

/// Averages each `ss × ss` block of an RGB image of `(w·ss) × (h·ss)` pixels.
fn downsample(big: &[u8], w: u32, h: u32, ss: u32) -> Vec<u8> {
    let (w, h, ss) = (w as usize, h as usize, ss as usize);
    let row = w * ss * 3;
    if ss == 2 {
        // The common case, in straight slices the compiler can vectorise.
        let mut out = vec![0u8; w * h * 3];
        for (o, pair) in out.chunks_exact_mut(w * 3).zip(big.chunks_exact(2 * row)) {
            let (r0, r1) = pair.split_at(row);
            for ((o, a), b) in o
                .chunks_exact_mut(3)
                .zip(r0.chunks_exact(6))
                .zip(r1.chunks_exact(6))
            {
                for c in 0..3 {
                    let sum = u16::from(a[c])
                        + u16::from(a[c + 3])
                        + u16::from(b[c])
                        + u16::from(b[c + 3]);
                    o[c] = ((sum + 2) >> 2) as u8;
                }
            }
        }
        return out;
    }
    let mut out = Vec::with_capacity(w * h * 3);
    let n = (ss * ss) as u32;
    for y in 0..h {
        for x in 0..w {
            let mut sum = [0u32; 3];
            for dy in 0..ss {
                let at = (y * ss + dy) * row + x * ss * 3;
                for px in big[at..at + ss * 3].chunks_exact(3) {
                    sum[0] += u32::from(px[0]);
                    sum[1] += u32::from(px[1]);
                    sum[2] += u32::from(px[2]);
                }
            }
            out.extend(sum.map(|v| ((v + n / 2) / n) as u8));
        }
    }
    out
}

/// Text placed directly, in device px, with the chart's font.
struct Painter<'a> {
    faces: &'static Faces,
    runs: &'a Runs,
    k: f32,
}

impl Painter<'_> {
    fn measure(&self, s: &str, size: f32, weight: Weight) -> f32 {
        self.faces.measure(s, size * self.k, weight).0
    }

    /// `s`, cut with an ellipsis to fit `max_w` device px.
    fn fit(&self, s: &str, size: f32, weight: Weight, max_w: f32) -> String {
        self.faces.fit(s, size * self.k, weight, max_w)
    }

    #[allow(clippy::too_many_arguments)]
    fn text(
        &self,
        s: &str,
        x: f32,
        y: f32,
        size: f32,
        weight: Weight,
        color: RGBColor,
        h: HAlign,
        v: VAlign,
    ) {
        if s.is_empty() {
            return;
        }
        self.runs.borrow_mut().push(TextRun {
            text: s.to_owned(),
            size: size * self.k,
            weight,
            rgb: (color.0, color.1, color.2),
            alpha: 1.0,
            x,
            y,
            h,
            v,
            rotate: 0,
        });
    }
}

/// Where a legend entry goes: its row, left edge, and the text as fitted.
struct Placed {
    row: usize,
    x: f32,
    name: String,
    name_w: f32,
    figures: String,
}

/// Flows the entries into rows across the width; names longer than a third of the
/// width are cut with an ellipsis.
fn place_legend(
    paint: &Painter<'_>,
    entries: &[LegendEntry],
    with_figures: bool,
    width: f32,
    pad: f32,
) -> Vec<Placed> {
    let k = paint.k;
    let mut out = Vec::with_capacity(entries.len());
    let (mut x, mut row) = (pad, 0);
    for e in entries {
        let name = paint.fit(&e.name, SMALL_SIZE, Weight::Bold, (width - 2.0 * pad) / 3.0);
        let name_w = paint.measure(&name, SMALL_SIZE, Weight::Bold);
        let figures = if with_figures && !e.figures.is_empty() {
            format!("avg {}", e.figures.join("  ·  "))
        } else {
            String::new()
        };
        let fig_w = if figures.is_empty() {
            0.0
        } else {
            8.0 * k + paint.measure(&figures, SMALL_SIZE, Weight::Regular)
        };
        let w = SWATCH_W * k + 6.0 * k + name_w + fig_w;
        if x > pad && x + w > width - pad {
            row += 1;
            x = pad;
        }
        out.push(Placed {
            row,
            x,
            name,
            name_w,
            figures,
        });
        x += w + LEGEND_GAP * k;
    }
    out
}

/// One legend entry: a connection, its colour and its mean in each panel.
struct LegendEntry {
    name: String,
    color: usize,
    figures: Vec<String>,
}

fn legend(panels: &[Panel]) -> Vec<LegendEntry> {
    let mut entries: Vec<LegendEntry> = Vec::new();
    for p in panels {
        for s in &p.series {
            if !entries
                .iter()
                .any(|e| e.name == s.name && e.color == s.color)
            {
                entries.push(LegendEntry {
                    name: s.name.clone(),
                    color: s.color,
                    figures: Vec::new(),
                });
            }
        }
    }
    for e in &mut entries {
        for p in panels {
            let series = p
                .series
                .iter()
                .find(|s| s.name == e.name && s.color == e.color);
            if let Some(s) = series.filter(|s| !s.points.is_empty()) {
                let mean = s.points.iter().map(|p| p.1).sum::<f64>() / s.points.len() as f64;
                e.figures.push(legend_figure(mean, p.metric));
            }
        }
    }
    entries
}

fn caption(metric: Metric) -> &'static str {
    match metric {
        Metric::Events => "Events per second, in + out",
        Metric::Bytes => "Payload bytes per second, in + out",
        Metric::Wire => "Bytes on the wire per second, in + out (headers, masks, handshakes)",
        Metric::Latency => "Latency, mean per second (one-way, or ping round trip)",
    }
}

/// The caption for a narrow chart, where the full one would run off the edge.
fn short_caption(metric: Metric) -> &'static str {
    match metric {
        Metric::Events => "Events/s, in + out",
        Metric::Bytes => "Payload bytes/s, in + out",
        Metric::Wire => "Wire bytes/s, in + out",
        Metric::Latency => "Latency, mean per second",
    }
}

/// `2025-11-25 18:26:38` for a Unix second.
fn clock(sec: i64) -> String {
    let s = streamscope_model::Timestamp(sec.saturating_mul(1_000_000)).to_string();
    format!("{} {}", &s[..10], &s[11..19])
}

fn subtitle(chart: &Chart) -> String {
    let span = chart.to - chart.from + 1;
    let mut s = match chart.time_axis {
        TimeAxis::Ago => format!(
            "last {} · until {} UTC",
            span_words(span),
            &clock(chart.to)[11..]
        ),
        TimeAxis::Elapsed => format!("{} from {} UTC", span_words(span), clock(chart.from)),
    };
    if chart.step > 1 {
        s.push_str(&format!(" · {} per point", span_words(chart.step)));
    }
    s
}

fn draw_err<E: std::error::Error + Send + Sync>(
    e: plotters::drawing::DrawingAreaErrorKind<E>,
) -> ChartError {
    ChartError::Draw(e.to_string())
}

/// The shading colour of `color` over `background`, as an opaque colour.
fn mix(background: RGBColor, color: RGBColor) -> RGBColor {
    let m =
        |b: u8, c: u8| (f64::from(b) + (f64::from(c) - f64::from(b)) * AREA_ALPHA).round() as u8;
    RGBColor(
        m(background.0, color.0),
        m(background.1, color.1),
        m(background.2, color.2),
    )
}

/// How the shading under a line is drawn: one polygon (vector output), or pixel
/// columns (bitmaps, where plotters' polygon fill is slow for large shapes).
#[derive(Clone, Copy)]
enum Area {
    Polygon,
    Columns,
}

/// One pixel column of shading: from `y` down to `base` (exclusive), in `tint`.
struct Column {
    x: i32,
    y: i32,
    base: i32,
    tint: RGBColor,
}

/// Paints shading columns into an RGB image, over background pixels only: the grid and
/// the lines plotters drew stay on top (drawn without anti-aliasing, their pixels are
/// never the background colour). Where shadings overlap, the lower line's shows.
///
/// Row by row, for the cache: each pixel column of a panel is a stack of bands, from its
/// highest line down to the panel's base, walked as the rows go down.
fn paint_columns(img: &mut [u8], width: u32, background: RGBColor, mut columns: Vec<Column>) {
    let w = width as usize;
    let height = (img.len() / (w * 3)) as i32;
    let bg = [background.0, background.1, background.2];
    columns.retain(|c| c.x >= 0 && (c.x as usize) < w && c.y < c.base);
    // By panel (its base), then pixel column, then line height (highest first).
    columns.sort_unstable_by_key(|c| (c.base, c.x, c.y));
    let mut rest = &columns[..];
    while let Some(first) = rest.first() {
        let base = first.base;
        let n = rest.iter().take_while(|c| c.base == base).count();
        let (panel, after) = rest.split_at(n);
        rest = after;
        // Each pixel column: its slice of `panel` and the band it is in.
        let mut stacks: Vec<(usize, usize, usize)> = Vec::new();
        let mut i = 0;
        while i < panel.len() {
            let x = panel[i].x;
            let len = panel[i..].iter().take_while(|c| c.x == x).count();
            stacks.push((i, len, 0));
            i += len;
        }
        let top = panel.iter().map(|c| c.y).min().unwrap_or(base).max(0);
        for y in top..base.min(height) {
            let row = y as usize * w;
            for (start, len, band) in stacks.iter_mut() {
                let stack = &panel[*start..*start + *len];
                if y < stack[0].y {
                    continue;
                }
                while *band + 1 < stack.len() && y >= stack[*band + 1].y {
                    *band += 1;
                }
                let c = &stack[*band];
                let i = (row + c.x as usize) * 3;
                let px = &mut img[i..i + 3];
                if *px == bg {
                    px.copy_from_slice(&[c.tint.0, c.tint.1, c.tint.2]);
                }
            }
        }
    }
}

fn draw<B: DrawingBackend>(
    layer: TextLayer<B>,
    chart: &Chart,
    k: f32,
    area: Area,
    faces: &'static Faces,
    runs: &Runs,
) -> Result<Vec<Column>, ChartError> {
    let mut shading = Vec::new();
    let c = colors(chart.theme);
    let root = layer.into_drawing_area();
    root.fill(&c.background).map_err(draw_err)?;
    let paint = Painter { faces, runs, k };
    let (width, height) = (chart.width as f32 * k, chart.height as f32 * k);
    let pad = PAD * k;

    // Header: title left, window right.
    let mid = pad + HEADER_ROW * k / 2.0;
    if !chart.compact {
        paint.text(
            &chart.title,
            pad,
            mid,
            TITLE_SIZE,
            Weight::Bold,
            c.text,
            HAlign::Left,
            VAlign::Center,
        );
        let sub = subtitle(chart);
        let room =
            width - 2.0 * pad - paint.measure(&chart.title, TITLE_SIZE, Weight::Bold) - 16.0 * k;
        let sub = if paint.measure(&sub, SMALL_SIZE, Weight::Regular) <= room {
            sub
        } else {
            String::new()
        };
        paint.text(
            &sub,
            width - pad,
            mid,
            SMALL_SIZE,
            Weight::Regular,
            c.muted,
            HAlign::Right,
            VAlign::Center,
        );
    }
    let mut y = if chart.compact {
        pad
    } else {
        pad + HEADER_ROW * k + 4.0 * k
    };

    // Legend: entries flow left to right and wrap; the means go first when space is short.
    // A compact chart has no legend: the view around it shows one.
    let entries = if chart.compact {
        Vec::new()
    } else {
        legend(&chart.panels)
    };
    let n = chart.panels.len() as f32;
    let bottom = height - pad - X_LABEL_ROW * k;
    let plot_height = |legend_rows: usize| {
        let top = y + legend_rows as f32 * LEGEND_ROW * k + 6.0 * k;
        let share = ((bottom - top) - (n - 1.0) * PANEL_GAP * k) / n;
        share - CAPTION_ROW * k
    };
    let mut placed = place_legend(&paint, &entries, true, width, pad);
    let rows_of = |p: &[Placed]| p.last().map_or(0, |e| e.row + 1);
    if plot_height(rows_of(&placed)) < MIN_PLOT_H * k {
        placed = place_legend(&paint, &entries, false, width, pad);
    }
    for (e, at) in entries.iter().zip(&placed) {
        let row_mid = y + (at.row as f32 + 0.5) * LEGEND_ROW * k;
        let color = c.palette[e.color % c.palette.len()];
        let thick = (3.0 * k).round() as i32;
        let sy = row_mid.round() as i32 - thick / 2;
        root.draw(&Rectangle::new(
            [
                (at.x.round() as i32, sy),
                ((at.x + SWATCH_W * k).round() as i32, sy + thick),
            ],
            color.filled(),
        ))
        .map_err(draw_err)?;
        let tx = at.x + SWATCH_W * k + 6.0 * k;
        paint.text(
            &at.name,
            tx,
            row_mid,
            SMALL_SIZE,
            Weight::Bold,
            c.text,
            HAlign::Left,
            VAlign::Center,
        );
        paint.text(
            &at.figures,
            tx + at.name_w + 8.0 * k,
            row_mid,
            SMALL_SIZE,
            Weight::Regular,
            c.muted,
            HAlign::Left,
            VAlign::Center,
        );
    }
    let rows = rows_of(&placed);
    if !chart.compact {
        y += rows as f32 * LEGEND_ROW * k + 6.0 * k;
    }

    // Panels share the space left above the time labels.
    let share = ((bottom - y) - (n - 1.0) * PANEL_GAP * k) / n;
    let plot_h = (share - CAPTION_ROW * k).max(10.0 * k);

    // Value axes first: the widest tick label sets the left edge of every panel, so the
    // time axes line up.
    let axes: Vec<(f64, f64)> = chart
        .panels
        .iter()
        .map(|p| {
            let max = p
                .series
                .iter()
                .flat_map(|s| s.points.iter().map(|pt| pt.1))
                .fold(0.0f64, f64::max);
            let ticks = ((plot_h / k / 22.0) as u32).clamp(1, 6);
            value_axis(max, p.metric, ticks)
        })
        .collect();
    let mut gutter = 0.0f32;
    for (p, (top, step)) in chart.panels.iter().zip(&axes) {
        let mut v = 0.0;
        while v <= top + step / 2.0 {
            gutter =
                gutter.max(paint.measure(&value_label(v, p.metric), TICK_SIZE, Weight::Regular));
            v += step;
        }
    }
    let left = pad + gutter + 8.0 * k;
    let right = width - pad - 4.0 * k;

    // Time: the window's seconds map onto [left, right].
    let x0 = chart.from as f64;
    let x1 = (chart.to.max(chart.from + 1)) as f64;
    let sx = |sec: f64| left + ((sec - x0) / (x1 - x0)) as f32 * (right - left);
    let span = chart.to - chart.from + 1;
    let max_ticks = (((right - left) / k / 72.0) as i64).max(2);
    let tstep = time_step(span, max_ticks, chart.step.max(1));
    let mut time_ticks: Vec<(i64, String)> = Vec::new();
    match chart.time_axis {
        TimeAxis::Ago => {
            let mut t = chart.to;
            while t >= chart.from {
                let ago = chart.to - t;
                let label = if ago == 0 {
                    "now".to_owned()
                } else {
                    duration_label(-ago, span)
                };
                time_ticks.push((t, label));
                t -= tstep;
            }
        }
        TimeAxis::Elapsed => {
            let mut t = chart.from;
            while t <= chart.to.max(chart.from + 1) {
                time_ticks.push((t, duration_label(t - chart.from, span)));
                t += tstep;
            }
        }
    }

    let thin = k.round().max(1.0) as i32;
    let line = (LINE_WIDTH * k).round().max(1.0) as u32;
    let mut top_y = y;
    for (i, (panel, &(ymax, ystep))) in chart.panels.iter().zip(&axes).enumerate() {
        let full = caption(panel.metric);
        let text = if paint.measure(full, SMALL_SIZE, Weight::Bold) <= right - left {
            full
        } else {
            short_caption(panel.metric)
        };
        paint.text(
            text,
            left,
            top_y + CAPTION_ROW * k / 2.0 - 1.0 * k,
            SMALL_SIZE,
            Weight::Bold,
            c.muted,
            HAlign::Left,
            VAlign::Center,
        );
        let t = top_y + CAPTION_ROW * k;
        let b = t + plot_h;
        let sy = |v: f64| b - (v / ymax) as f32 * (b - t);
        let (li, ri) = (left.round() as i32, right.round() as i32);

        // Series: runs of consecutive buckets; a gap (no value) breaks the line.
        let runs_of = |points: &[(i64, f64)]| -> Vec<Vec<(i32, i32)>> {
            let mut out: Vec<Vec<(i32, i32)>> = Vec::new();
            let mut prev: Option<i64> = None;
            for &(s, v) in points {
                if s < chart.from || s > chart.to || !v.is_finite() {
                    continue;
                }
                let px = (sx(s as f64).round() as i32, sy(v.max(0.0)).round() as i32);
                match (prev, out.last_mut()) {
                    (Some(p), Some(run)) if s - p <= chart.step.max(1) => run.push(px),
                    _ => out.push(vec![px]),
                }
                prev = Some(s);
            }
            out
        };
        let base = sy(0.0).round() as i32;
        // Rates are amounts, shaded down to zero; a latency is not, so its lines stand alone.
        // Beyond two lines, shadings would only patch each other: lines alone read better.
        let shaded = panel.metric != Metric::Latency && panel.series.len() <= MAX_SHADED;
        match area {
            Area::Polygon => {
                // Opaque tints, highest line first, so overlaps look as in a PNG.
                let mut order: Vec<&crate::Series> =
                    panel.series.iter().filter(|_| shaded).collect();
                let mean = |s: &crate::Series| {
                    s.points.iter().map(|p| p.1).sum::<f64>() / s.points.len().max(1) as f64
                };
                order.sort_by(|a, b| mean(b).total_cmp(&mean(a)));
                for s in order {
                    let fill = mix(c.background, c.palette[s.color % c.palette.len()]).filled();
                    for run in runs_of(&s.points).into_iter().filter(|r| r.len() > 1) {
                        let mut shape = run.clone();
                        shape.push((run[run.len() - 1].0, base));
                        shape.push((run[0].0, base));
                        root.draw(&Polygon::new(shape, fill)).map_err(draw_err)?;
                    }
                }
            }
            Area::Columns => {
                // One opaque column per device pixel, the tint already mixed with the
                // background, painted straight into the buffer afterwards: through
                // plotters, shading large areas was most of a PNG's time.
                let mut columns: Vec<(i32, i32, RGBColor)> = Vec::new();
                for s in panel.series.iter().filter(|_| shaded) {
                    let tint = mix(c.background, c.palette[s.color % c.palette.len()]);
                    for run in runs_of(&s.points) {
                        for seg in run.windows(2) {
                            let ((x0, y0), (x1, y1)) = (seg[0], seg[1]);
                            for x in x0..x1 {
                                let f = (x - x0) as f32 / (x1 - x0) as f32;
                                let y = (y0 as f32 + (y1 - y0) as f32 * f).round() as i32;
                                columns.push((x, y, tint));
                            }
                        }
                    }
                }
                // Painted into the pixels once plotters is done (see `paint_columns`).
                shading.extend(
                    columns
                        .into_iter()
                        .filter(|c| c.1 < base)
                        .map(|(x, y, tint)| Column { x, y, base, tint }),
                );
            }
        }

        // Grid: values across, time down.
        for (tx, _) in &time_ticks {
            let gx = sx(*tx as f64).round() as i32;
            root.draw(&Rectangle::new(
                [(gx, t.round() as i32), (gx + thin, b.round() as i32)],
                c.grid.filled(),
            ))
            .map_err(draw_err)?;
        }
        let mut v = 0.0;
        while v <= ymax + ystep / 2.0 {
            let gy = sy(v).round() as i32;
            let color = if v == 0.0 { c.axis } else { c.grid };
            root.draw(&Rectangle::new([(li, gy), (ri, gy + thin)], color.filled()))
                .map_err(draw_err)?;
            paint.text(
                &value_label(v, panel.metric),
                left - 8.0 * k,
                gy as f32 + thin as f32 / 2.0,
                TICK_SIZE,
                Weight::Regular,
                c.muted,
                HAlign::Right,
                VAlign::Center,
            );
            v += ystep;
        }

        let drawn: Vec<Vec<Vec<(i32, i32)>>> =
            panel.series.iter().map(|s| runs_of(&s.points)).collect();
        let under = covered(&drawn, line as i32);
        for ((s, runs), &covered) in panel.series.iter().zip(drawn).zip(&under) {
            let color = c.palette[s.color % c.palette.len()];
            let style = ShapeStyle {
                color: color.to_rgba(),
                filled: false,
                // A line a later one covers is drawn wider, so it shows as a rim
                // around the top line instead of vanishing under it.
                stroke_width: if covered { line * 5 / 2 } else { line },
            };
            for run in &runs {
                // Points far apart (a short window, a short recording) are marked, so
                // the line reads as the samples it joins.
                if run.len() > 1 && (run[1].0 - run[0].0) as f32 >= MARK_SPACING * k {
                    for &p in run {
                        root.draw(&Circle::new(p, (MARK_RADIUS * k) as i32, color.filled()))
                            .map_err(draw_err)?;
                    }
                }
                if run.len() == 1 {
                    root.draw(&Circle::new(
                        run[0],
                        (DOT_RADIUS * k) as i32,
                        color.filled(),
                    ))
                    .map_err(draw_err)?;
                } else {
                    root.draw(&PathElement::new(run.clone(), style))
                        .map_err(draw_err)?;
                }
            }
            // The newest value, marked: where each line ends now.
            if let Some(&end) = runs.last().and_then(|r| r.last()) {
                root.draw(&Circle::new(end, (DOT_RADIUS * k) as i32, color.filled()))
                    .map_err(draw_err)?;
            }
        }
        if panel.series.iter().all(|s| s.points.is_empty()) {
            paint.text(
                "No data in this window",
                (left + right) / 2.0,
                (t + b) / 2.0,
                SMALL_SIZE,
                Weight::Regular,
                c.muted,
                HAlign::Center,
                VAlign::Center,
            );
        }

        // Time labels under the last panel only: the panels share the axis.
        if i + 1 == chart.panels.len() {
            for (tx, label) in &time_ticks {
                let w = paint.measure(label, TICK_SIZE, Weight::Regular);
                let cx = sx(*tx as f64).clamp(pad + w / 2.0, width - pad - w / 2.0);
                paint.text(
                    label,
                    cx,
                    b + 6.0 * k,
                    TICK_SIZE,
                    Weight::Regular,
                    c.muted,
                    HAlign::Center,
                    VAlign::Top,
                );
            }
        }
        top_y = b + PANEL_GAP * k;
    }
    root.present().map_err(draw_err)?;
    Ok(shading)
}

/// Draws `s` as a small SVG: one connection's line over its window, no text and no axes,
/// for a pane's status line. The value axis runs from zero to a little above the
/// series' peak.
pub fn render_sparkline_svg(s: &Sparkline) -> Result<String, ChartError> {
    if !(SPARK_MIN_WIDTH..=MAX_SIDE).contains(&s.width)
        || !(SPARK_MIN_HEIGHT..=MAX_SIDE).contains(&s.height)
    {
        return Err(ChartError::Size {
            width: s.width,
            height: s.height,
            min_width: SPARK_MIN_WIDTH,
            min_height: SPARK_MIN_HEIGHT,
        });
    }
    if s.to < s.from {
        return Err(ChartError::Window {
            from: s.from,
            to: s.to,
        });
    }
    // Drawn at twice the size in the viewBox, so a 1.5 px line and half-pixel positions
    // survive plotters' whole-number coordinates.
    const K: u32 = 2;
    let (w, h) = (s.width * K, s.height * K);
    let c = colors(s.theme);
    let color = c.palette[s.series.color % c.palette.len()];
    let mut out = String::with_capacity(4096);
    {
        let root = SVGBackend::with_string(&mut out, (w, h)).into_drawing_area();
        let max = s
            .series
            .points
            .iter()
            .map(|p| p.1)
            .fold(0.0f64, f64::max)
            .max(f64::MIN_POSITIVE);
        let inset = 2.0 * K as f32;
        let span = (s.to.max(s.from + 1) - s.from) as f32;
        let px = |sec: i64, v: f64| {
            let x = inset + (sec - s.from) as f32 / span * (w as f32 - 2.0 * inset);
            let y = h as f32 - inset - (v.max(0.0) / (max * 1.1)) as f32 * (h as f32 - 2.0 * inset);
            (x.round() as i32, y.round() as i32)
        };
        let base = (h as f32 - inset).round() as i32;
        let mut runs: Vec<Vec<(i32, i32)>> = Vec::new();
        let mut prev: Option<i64> = None;
        for &(sec, v) in &s.series.points {
            if sec < s.from || sec > s.to || !v.is_finite() {
                continue;
            }
            match (prev, runs.last_mut()) {
                (Some(p), Some(run)) if sec - p <= 1 => run.push(px(sec, v)),
                _ => runs.push(vec![px(sec, v)]),
            }
            prev = Some(sec);
        }
        for run in runs.iter().filter(|r| r.len() > 1) {
            let mut area = run.clone();
            area.push((run[run.len() - 1].0, base));
            area.push((run[0].0, base));
            root.draw(&Polygon::new(area, color.mix(0.15).filled()))
                .map_err(draw_err)?;
            let style = ShapeStyle {
                color: color.to_rgba(),
                filled: false,
                stroke_width: 3,
            };
            root.draw(&PathElement::new(run.clone(), style))
                .map_err(draw_err)?;
        }
        if let Some(&end) = runs.last().and_then(|r| r.last()) {
            root.draw(&Circle::new(end, 2 * K as i32, color.filled()))
                .map_err(draw_err)?;
        }
        root.present().map_err(draw_err)?;
    }
    let size = format!(r#"width="{w}" height="{h}""#);
    let shown = format!(r#"width="{}" height="{}""#, s.width, s.height);
    Ok(out
        .replacen(&size, &shown, 1)
        .replacen(
            "<svg ",
            r#"<svg class="sscope-sparkline" preserveAspectRatio="none" "#,
            1,
        )
        .replacen(
            "</svg>",
            &format!(
                "<style>.sscope-sparkline polyline{{stroke-linejoin:round;stroke-linecap:round}}</style><title>{}</title></svg>",
                text::escape(&s.series.name)
            ),
            1,
        ))
}
