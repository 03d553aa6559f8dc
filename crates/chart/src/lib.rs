//! Streamscope's charts: events/s, bytes/s and latency of several connections over one
//! time axis, as SVG and PNG, drawn with plotters.
//!
//! A pure function from a snapshot to an image: [`render_svg`] and [`render_png`] take a
//! [`Chart`] (what to draw, already computed) and return bytes; nothing here reads a
//! socket, a clock or a file. The live view and exports (server) and `sscope chart`
//! (command line) all call these, so they look the same. [`series`] builds the input from
//! the engine's live statistics or from recorded records.
//!
//! [`render_sparkline_svg`] draws one connection's line alone, for a pane's status line.
//!
//! One image holds one or more stacked panels, one per [`Metric`], sharing the time axis
//! and one legend: the legend names each connection once, in its colour, with its mean
//! for each panel, so a WS and an SSE pane's difference reads at a glance. Text comes
//! from the font shipped in `assets/fonts/` (never the system's): an SVG carries the
//! glyphs it uses as paths, so it looks the same in every viewer.

// What a peer or a user sends reaches this code: no `unwrap()` outside tests (STYLE.md).
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod layer;
mod render;
pub mod scale;
pub mod series;
pub mod spec;
mod text;

pub use render::{render_png, render_sparkline_svg, render_svg};
pub use series::{Metric, RecordedConn, Series, conns_from_records, series_from_stats, step_for};
pub use spec::{
    COMPACT_MIN_HEIGHT, MAX_PANELS, MAX_SIDE, MIN_HEIGHT, MIN_WIDTH, SPARK_MIN_HEIGHT,
    SPARK_MIN_WIDTH,
};

/// How many colours a chart has for its lines; a series' `color` is an index into them.
pub const PALETTE_LEN: usize = 10;

/// Line colours (0xRRGGBB) on the light and dark backgrounds. Blue and orange first: the
/// pair that stays apart for every kind of colour vision, for the WS and SSE panes the app
/// opens with. The UI's legend uses the same table (`ui/src/lib/palette.ts`; a test keeps
/// the two equal).
pub const PALETTE_LIGHT: [u32; PALETTE_LEN] = [
    0x2563eb, 0xea580c, 0x16a34a, 0xc026d3, 0x0891b2, 0xca8a04, 0xdc2626, 0x7c3aed, 0x4b5563,
    0x65a30d,
];
pub const PALETTE_DARK: [u32; PALETTE_LEN] = [
    0x60a5fa, 0xfb923c, 0x4ade80, 0xe879f9, 0x22d3ee, 0xfacc15, 0xf87171, 0xa78bfa, 0x9ca3af,
    0xa3e635,
];

/// Everything one image shows.
#[derive(Debug, Clone)]
pub struct Chart {
    /// The heading, top left (e.g. "Event rates").
    pub title: String,
    /// Image size in px (CSS px for SVG, pixels for PNG).
    pub width: u32,
    pub height: u32,
    /// The time window, Unix seconds, both inclusive.
    pub from: i64,
    pub to: i64,
    /// Seconds per point (1 for live charts; more for long recordings).
    pub step: i64,
    pub time_axis: TimeAxis,
    pub theme: Theme,
    /// Top to bottom; 1 to [`MAX_PANELS`].
    pub panels: Vec<Panel>,
    /// No title row and no legend, for a live view that shows both around the picture
    /// and needs the height for the data (down to [`COMPACT_MIN_HEIGHT`]). Exports are
    /// never compact: a file must say what it shows.
    pub compact: bool,
}

/// A pane's status-line sparkline: one connection's line, no text, no axes.
#[derive(Debug, Clone)]
pub struct Sparkline {
    pub width: u32,
    pub height: u32,
    /// The time window, Unix seconds, both inclusive.
    pub from: i64,
    pub to: i64,
    pub theme: Theme,
    pub series: Series,
}

/// One metric's plot in a chart.
#[derive(Debug, Clone)]
pub struct Panel {
    pub metric: Metric,
    pub series: Vec<Series>,
}

/// How the time axis is labelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeAxis {
    /// Seconds before the window's end, which is "now": the live view.
    Ago,
    /// Seconds since the window's start: recordings.
    Elapsed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Theme {
    #[default]
    Light,
    Dark,
}

impl Theme {
    /// `light` or `dark`.
    pub fn parse(s: &str) -> Option<Theme> {
        match s {
            "light" => Some(Theme::Light),
            "dark" => Some(Theme::Dark),
            _ => None,
        }
    }
}

/// Why a chart could not be drawn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChartError {
    #[error(
        "chart size {width}×{height} is out of range: width {min_width}–{MAX_SIDE}, height {min_height}–{MAX_SIDE} px"
    )]
    Size {
        width: u32,
        height: u32,
        min_width: u32,
        min_height: u32,
    },
    #[error("a chart needs 1 to {MAX_PANELS} panels, got {0}")]
    Panels(usize),
    #[error("the chart's time window ends ({to}) before it starts ({from})")]
    Window { from: i64, to: i64 },
    #[error("the embedded font cannot be read: {0}")]
    Font(String),
    #[error("drawing the chart failed: {0}")]
    Draw(String),
    #[error("encoding the PNG failed: {0}")]
    Png(String),
}

impl Chart {
    /// Checks the size, panel count and window.
    pub fn validate(&self) -> Result<(), ChartError> {
        let min_height = if self.compact {
            COMPACT_MIN_HEIGHT
        } else {
            MIN_HEIGHT
        };
        if !(MIN_WIDTH..=MAX_SIDE).contains(&self.width)
            || !(min_height..=MAX_SIDE).contains(&self.height)
        {
            return Err(ChartError::Size {
                width: self.width,
                height: self.height,
                min_width: MIN_WIDTH,
                min_height,
            });
        }
        if self.panels.is_empty() || self.panels.len() > MAX_PANELS {
            return Err(ChartError::Panels(self.panels.len()));
        }
        if self.to < self.from {
            return Err(ChartError::Window {
                from: self.from,
                to: self.to,
            });
        }
        Ok(())
    }
}
