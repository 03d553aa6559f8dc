//! `GET /api/chart.svg` and `GET /api/chart.png`: the live rate chart of chosen
//! connections, drawn from the session's statistics by `streamscope_chart`, the renderer the
//! exports and `sscope chart` use too.
//!
//! Query:
//! - `conns=c1,c2`: the connections, by default every one in id order;
//! - `colors=0,3`: each one's palette index, by default the order of `conns` (first blue,
//!   second orange, …); the UI gives each pane its own so a pane keeps its colour while
//!   others are shown or hidden;
//! - `metric=events|bytes|latency|both|all` or a list such as `events,latency` (default
//!   `both`: events and bytes stacked);
//! - `window=` seconds up to 600 (default 60); `width=`, `height=` in px;
//! - `end=` the last Unix second drawn (by default the last complete one): connections
//!   opened from the session library ended long ago, and a window ending now would show
//!   none of them;
//!   `theme=light|dark`; `title=`;
//! - `compact=1`: no title and no legend, for the live view that shows both around the
//!   picture (heights from 110 px);
//! - `download=1`: answer as an attachment (the browser's save).
//!
//! Mounted inside `/api`, behind the launch token.
//!
//! `GET /api/sparkline.svg?conn=c1&metric=events|bytes|latency&window=60&end=&width=120&
//! height=24&color=0&theme=` is one pane's line for its status line: no text, no axes,
//! `color` an index into the chart palette (0 blue, 1 orange, …).
//!
//! The window ends at the last complete second, so the newest point is never a
//! half-counted second. Rendering runs on the blocking pool: a PNG takes milliseconds.

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use streamscope_chart::spec::{
    DEFAULT_METRIC_SET, DEFAULT_WIDTH, DEFAULT_WINDOW_SECS, MAX_CONNS, MAX_WINDOW_SECS,
    MIN_WINDOW_SECS, SPARK_DEFAULT_HEIGHT, SPARK_DEFAULT_WIDTH,
};
use streamscope_chart::{Chart, Metric, Panel, Theme, TimeAxis, series_from_stats, spec};
use streamscope_engine::session::{Session, SessionError};
use streamscope_engine::{ConnId, Timestamp};

use crate::error::ApiError;

/// The chart routes, with their state; merged into the `/api` router.
pub fn router(session: Session) -> Router {
    Router::new()
        .route("/chart.svg", get(svg))
        .route("/chart.png", get(png))
        .route("/sparkline.svg", get(sparkline))
        .with_state(session)
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct ChartQuery {
    pub conns: Option<String>,
    pub metric: Option<String>,
    pub window: Option<i64>,
    /// The last Unix second drawn; never past the last complete one.
    pub end: Option<i64>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub theme: Option<String>,
    pub title: Option<String>,
    pub download: Option<String>,
    pub colors: Option<String>,
    pub compact: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Svg,
    Png,
}

async fn svg(
    State(session): State<Session>,
    q: Result<Query<ChartQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    answer(session, q, Format::Svg).await
}

async fn png(
    State(session): State<Session>,
    q: Result<Query<ChartQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    answer(session, q, Format::Png).await
}

async fn answer(
    session: Session,
    q: Result<Query<ChartQuery>, QueryRejection>,
    format: Format,
) -> Result<Response, ApiError> {
    let Query(q) =
        q.map_err(|e| ApiError::BadRequest(format!("chart query: {}", e.body_text())))?;
    let now = Timestamp::now().as_micros().div_euclid(1_000_000);
    let chart = chart_of(&session, &q, now)?;
    let download = flag(q.download.as_deref(), "download")?;
    let body = tokio::task::spawn_blocking(move || match format {
        Format::Svg => streamscope_chart::render_svg(&chart).map(String::into_bytes),
        Format::Png => streamscope_chart::render_png(&chart),
    })
    .await
    .map_err(|e| ApiError::Refused(format!("drawing the chart stopped: {e}")))?
    .map_err(|e| match e {
        streamscope_chart::ChartError::Size { .. } => ApiError::BadRequest(e.to_string()),
        other => ApiError::Refused(other.to_string()),
    })?;
    let (mime, ext) = match format {
        Format::Svg => ("image/svg+xml", "svg"),
        Format::Png => ("image/png", "png"),
    };
    let mut response = (
        [
            (header::CONTENT_TYPE, mime),
            // A live view: every request is a new picture.
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response();
    if download {
        let name = format!("attachment; filename=\"streamscope-chart-{now}.{ext}\"");
        if let Ok(v) = header::HeaderValue::from_str(&name) {
            response
                .headers_mut()
                .insert(header::CONTENT_DISPOSITION, v);
        }
    }
    Ok(response)
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct SparklineQuery {
    pub conn: Option<String>,
    pub metric: Option<String>,
    pub window: Option<i64>,
    pub end: Option<i64>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub color: Option<usize>,
    pub theme: Option<String>,
}

async fn sparkline(
    State(session): State<Session>,
    q: Result<Query<SparklineQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) =
        q.map_err(|e| ApiError::BadRequest(format!("sparkline query: {}", e.body_text())))?;
    let text = q
        .conn
        .as_deref()
        .ok_or_else(|| ApiError::BadRequest("sparkline: give conn=c1".into()))?;
    let id = text.parse::<ConnId>().map_err(|_| {
        ApiError::BadRequest(format!("conn: {text:?} is not a connection id (c1, c2, …)"))
    })?;
    let text = q.metric.as_deref().unwrap_or("events");
    let metric = Metric::parse(text).ok_or_else(|| {
        ApiError::BadRequest(format!("metric {text:?}: use events, bytes or latency"))
    })?;
    let window = checked_window(q.window)?;
    let theme = checked_theme(q.theme.as_deref())?;
    let to = last_second(q.end, Timestamp::now().as_micros().div_euclid(1_000_000));
    let from = to - window + 1;
    // Only the seconds drawn are copied, under the session's lock.
    let series = session.with_stats(id, |name, stats| {
        series_from_stats(name, q.color.unwrap_or(0), stats, metric, from, to)
    })?;
    let spark = streamscope_chart::Sparkline {
        width: q.width.unwrap_or(SPARK_DEFAULT_WIDTH),
        height: q.height.unwrap_or(SPARK_DEFAULT_HEIGHT),
        from,
        to,
        theme,
        series,
    };
    let svg = streamscope_chart::render_sparkline_svg(&spark)
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        svg,
    )
        .into_response())
}

/// A yes/no query parameter: `1`/`true` or `0`/`false`, absent meaning no.
fn flag(v: Option<&str>, name: &str) -> Result<bool, ApiError> {
    match v {
        None | Some("0" | "false") => Ok(false),
        Some("1" | "true") => Ok(true),
        Some(other) => Err(ApiError::BadRequest(format!(
            "{name}={other:?}: use 1 or 0"
        ))),
    }
}

/// The panels a `metric=` asks for (the words of [`spec::parse_metrics`]).
fn metrics_of(text: &str) -> Result<Vec<Metric>, ApiError> {
    spec::parse_metrics(text).map_err(|word| {
        ApiError::BadRequest(format!(
            "metric {word:?}: use events, bytes, latency, a comma-separated list of them, both or all"
        ))
    })
}

/// Each chosen connection's palette index: `colors=0,3` in the order of `conns`, or
/// 0, 1, 2, … when not given.
fn palette_indices(colors: Option<&str>, conns: usize) -> Result<Vec<usize>, ApiError> {
    let Some(list) = colors.map(str::trim).filter(|l| !l.is_empty()) else {
        return Ok((0..conns).collect());
    };
    let out = list
        .split(',')
        .map(|c| {
            c.trim()
                .parse::<usize>()
                .ok()
                .filter(|&i| i < streamscope_chart::PALETTE_LEN)
                .ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "colors: {:?} is not a palette index (0 to {})",
                        c.trim(),
                        streamscope_chart::PALETTE_LEN - 1
                    ))
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if out.len() != conns {
        return Err(ApiError::BadRequest(format!(
            "colors: {} given for {conns} connections; give one palette index per connection in conns",
            out.len()
        )));
    }
    Ok(out)
}

fn checked_window(window: Option<i64>) -> Result<i64, ApiError> {
    let window = window.unwrap_or(DEFAULT_WINDOW_SECS);
    if !(MIN_WINDOW_SECS..=MAX_WINDOW_SECS).contains(&window) {
        return Err(ApiError::BadRequest(format!(
            "window {window}: a number of seconds from {MIN_WINDOW_SECS} to {MAX_WINDOW_SECS}"
        )));
    }
    Ok(window)
}

fn checked_theme(theme: Option<&str>) -> Result<Theme, ApiError> {
    match theme {
        None => Ok(Theme::Light),
        Some(t) => Theme::parse(t)
            .ok_or_else(|| ApiError::BadRequest(format!("theme {t:?}: use light or dark"))),
    }
}

/// The last second a chart draws: `end` when asked, never past the one before `now` (the
/// current second is still being counted).
fn last_second(end: Option<i64>, now: i64) -> i64 {
    end.map_or(now - 1, |e| e.min(now - 1))
}

/// The chart a query asks for, as of the Unix second `now`.
pub fn chart_of(session: &Session, q: &ChartQuery, now: i64) -> Result<Chart, ApiError> {
    let metrics = metrics_of(q.metric.as_deref().unwrap_or(DEFAULT_METRIC_SET))?;
    let title = spec::title(&metrics);
    let window = checked_window(q.window)?;
    let theme = checked_theme(q.theme.as_deref())?;
    let ids = match q.conns.as_deref().map(str::trim) {
        None | Some("") => session.ids(),
        Some(list) => {
            let mut out = Vec::new();
            for text in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let id = text.parse::<ConnId>().map_err(|_| {
                    ApiError::BadRequest(format!(
                        "conns: {text:?} is not a connection id (c1, c2, …)"
                    ))
                })?;
                if !out.contains(&id) {
                    // An id this session never gave is refused before anything is
                    // drawn. One it gave and has forgotten since is left out of the
                    // picture (below): a page's request may cross its own close of a
                    // pane, and the others still have their chart.
                    if !session.was_issued(id) {
                        return Err(SessionError::UnknownConn(id).into());
                    }
                    out.push(id);
                }
            }
            out
        }
    };
    let colors = palette_indices(q.colors.as_deref(), ids.len())?;
    if ids.len() > MAX_CONNS {
        return Err(ApiError::BadRequest(format!(
            "{} connections asked: one chart overlays at most {MAX_CONNS}",
            ids.len()
        )));
    }
    let to = last_second(q.end, now);
    let from = to - window + 1;
    // Each connection's series for every panel, read in place: the seconds drawn are
    // copied, not the connection's whole window.
    let mut per_conn = Vec::with_capacity(ids.len());
    for (&id, &c) in ids.iter().zip(&colors) {
        let read = session.with_stats(id, |name, stats| {
            metrics
                .iter()
                .map(|&metric| series_from_stats(name, c, stats, metric, from, to))
                .collect::<Vec<_>>()
        });
        // Forgotten since it was listed or asked for: the chart shows the others.
        if let Ok(series) = read {
            per_conn.push(series.into_iter());
        }
    }
    let panels = metrics
        .iter()
        .map(|&metric| Panel {
            metric,
            series: per_conn.iter_mut().filter_map(Iterator::next).collect(),
        })
        .collect();
    Ok(Chart {
        title: q.title.clone().unwrap_or_else(|| title.to_owned()),
        width: q.width.unwrap_or(DEFAULT_WIDTH),
        height: q.height.unwrap_or(spec::default_height(metrics.len())),
        from,
        to,
        step: 1,
        time_axis: TimeAxis::Ago,
        theme,
        panels,
        compact: flag(q.compact.as_deref(), "compact")?,
    })
}
