//! The chart's vocabulary: which metrics and metric sets a chart can show, the title each
//! set gets, and every limit a request meets (window lengths, lines per chart, image sizes).
//!
//! The API (`/api/chart.*`), `sscope chart` and the UI (`ui/src/chart/query.ts`) all speak
//! it, so it lives here once. The UI cannot import Rust: `ui/src/chart/spec.json` is this
//! module written out (see [`spec_json`]); a test here keeps the file equal to this module
//! and a vitest keeps `query.ts` equal to the file, so neither side can drift. Parsing a
//! request's words into these and drawing are left to the front ends and `render`.

use serde_json::json;

use crate::{Metric, PALETTE_LEN};

/// The metrics, in the order panels stack.
pub const METRICS: [Metric; 4] = [Metric::Events, Metric::Bytes, Metric::Wire, Metric::Latency];

/// Named sets of metrics a `metric=` (API) or `--metric` (CLI) may name besides one metric.
pub const METRIC_SETS: [(&str, &[Metric]); 2] = [
    ("both", &[Metric::Events, Metric::Bytes]),
    (
        "all",
        &[Metric::Events, Metric::Bytes, Metric::Wire, Metric::Latency],
    ),
];

/// The set a chart shows when none is asked: events and bytes, the two every connection has.
pub const DEFAULT_METRIC_SET: &str = "both";

/// The window when none is asked, in seconds: a minute shows a rate's shape and its
/// recent changes.
pub const DEFAULT_WINDOW_SECS: i64 = 60;
/// The shortest window: fewer seconds make no line worth reading.
pub const MIN_WINDOW_SECS: i64 = 5;
/// The longest window: what the engine's statistics keep.
pub const MAX_WINDOW_SECS: i64 = streamscope_model::stats::WINDOW_SECS as i64;
/// The windows the UI offers: a minute, five, ten (the longest kept).
pub const WINDOWS_OFFERED: [i64; 3] = [60, 300, 600];

/// Most connections one chart overlays: beyond the palette, colours would repeat.
pub const MAX_CONNS: usize = PALETTE_LEN;

/// Smallest and largest image sides accepted, in px: below the minimum the labels no
/// longer fit; the maximum keeps a request from asking for gigabytes.
pub const MIN_WIDTH: u32 = 320;
pub const MIN_HEIGHT: u32 = 200;
/// Smallest height of a [`Chart::compact`](crate::Chart::compact) chart, which has no
/// title row and no legend.
pub const COMPACT_MIN_HEIGHT: u32 = 110;
pub const MAX_SIDE: u32 = 4096;
/// Width when none is asked: a wide chart that still fits a laptop screen.
pub const DEFAULT_WIDTH: u32 = 900;
/// Height when none is asked is `HEIGHT_BASE + HEIGHT_PER_PANEL × panels`: room for the
/// title and legend, then a readable plot per panel.
pub const HEIGHT_BASE: u32 = 200;
pub const HEIGHT_PER_PANEL: u32 = 160;

/// Smallest sparkline, in px: a status line's height.
pub const SPARK_MIN_WIDTH: u32 = 16;
pub const SPARK_MIN_HEIGHT: u32 = 8;
/// A sparkline's size when none is asked: a status line's slot.
pub const SPARK_DEFAULT_WIDTH: u32 = 120;
pub const SPARK_DEFAULT_HEIGHT: u32 = 24;

/// Most panels one image holds (events, bytes, wire, latency).
pub const MAX_PANELS: usize = METRICS.len();

/// The default height of a chart of `panels` panels.
pub fn default_height(panels: usize) -> u32 {
    let panels = u32::try_from(panels.min(MAX_PANELS)).unwrap_or(1);
    HEIGHT_BASE + HEIGHT_PER_PANEL * panels
}

/// The panels a metric word list asks for, top to bottom: `events`, `bytes`, `wire`, `latency`,
/// a set's name (`both`, `all`) or a comma-separated list of them (`events,latency`), each
/// metric once. `Err` names the first word that is none of them.
pub fn parse_metrics(text: &str) -> Result<Vec<Metric>, String> {
    let mut out = Vec::new();
    for word in text.split(',').map(str::trim) {
        let add: &[Metric] = match METRIC_SETS.iter().find(|(name, _)| *name == word) {
            Some((_, set)) => set,
            None => match Metric::parse(word) {
                Some(m) => &[m][..],
                None => return Err(word.to_owned()),
            },
        };
        for &m in add {
            if !out.contains(&m) {
                out.push(m);
            }
        }
    }
    Ok(out)
}

/// The heading of a chart that shows `metrics`.
pub fn title(metrics: &[Metric]) -> &'static str {
    match metrics {
        [Metric::Events] => "Event rates",
        [Metric::Bytes] => "Byte rates",
        [Metric::Wire] => "Bytes on the wire",
        [Metric::Bytes, Metric::Wire] | [Metric::Wire, Metric::Bytes] => "Payload and wire bytes",
        [Metric::Latency] => "Latency",
        m if !m.contains(&Metric::Latency) => "Event and byte rates",
        m if m.contains(&Metric::Events)
            && (m.contains(&Metric::Bytes) || m.contains(&Metric::Wire)) =>
        {
            "Event and byte rates, latency"
        }
        _ => "Rates and latency",
    }
}

/// This module as JSON, the fixture the UI's tests read (`ui/src/chart/spec.json`):
/// metric names, sets and their titles, and every limit.
pub fn spec_json() -> String {
    let names = |ms: &[Metric]| ms.iter().map(|m| m.as_str()).collect::<Vec<_>>();
    let mut sets = serde_json::Map::new();
    let mut titles = serde_json::Map::new();
    for m in METRICS {
        titles.insert(m.as_str().into(), title(&[m]).into());
    }
    for (name, ms) in METRIC_SETS {
        sets.insert(name.into(), names(ms).into());
        titles.insert(name.into(), title(ms).into());
    }
    let spec = json!({
        "metrics": names(&METRICS),
        "metric_sets": sets,
        "default_metric_set": DEFAULT_METRIC_SET,
        "titles": titles,
        "window": {
            "default": DEFAULT_WINDOW_SECS,
            "min": MIN_WINDOW_SECS,
            "max": MAX_WINDOW_SECS,
            "offered": WINDOWS_OFFERED,
        },
        "max_conns": MAX_CONNS,
        "palette_len": PALETTE_LEN,
        "max_panels": MAX_PANELS,
        "size": {
            "min_width": MIN_WIDTH,
            "min_height": MIN_HEIGHT,
            "compact_min_height": COMPACT_MIN_HEIGHT,
            "max_side": MAX_SIDE,
            "default_width": DEFAULT_WIDTH,
            "height_base": HEIGHT_BASE,
            "height_per_panel": HEIGHT_PER_PANEL,
        },
        "sparkline": {
            "min_width": SPARK_MIN_WIDTH,
            "min_height": SPARK_MIN_HEIGHT,
            "default_width": SPARK_DEFAULT_WIDTH,
            "default_height": SPARK_DEFAULT_HEIGHT,
        },
    });
    // A `Value` of strings and numbers always serializes.
    let mut text = serde_json::to_string_pretty(&spec).unwrap_or_default();
    text.push('\n');
    text
}
