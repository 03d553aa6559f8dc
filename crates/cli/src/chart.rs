//! `sscope chart`: events/s and bytes/s of recorded connections (the NDJSON that
//! `sscope ws|sse` writes, or a HAR's WebSocket and SSE entries) as a PNG or SVG, drawn by
//! the same renderer as the app.
//!
//! Reads each NDJSON file line by line into per-second buckets
//! (`streamscope_chart::RecordedConn`), so a long recording costs memory per second, not
//! per record; a HAR is imported whole first (`streamscope_model::har`), within its limit. Exit status: 0 written;
//! 2 for bad arguments and for input that cannot be read or is not records (the message
//! names the file and line); 1 when the image cannot be written.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use streamscope_chart::{Chart, Metric, Panel, RecordedConn, Theme, TimeAxis, spec, step_for};
use streamscope_engine::{ConnId, Record};
use streamscope_model::har;

/// At most this many points per line: about one per pixel of a wide chart.
const MAX_POINTS: i64 = 600;

#[derive(Debug, Args)]
pub(crate) struct ChartArgs {
    /// NDJSON recordings from `sscope ws|sse`, or HAR files (their WebSocket and SSE
    /// entries); several are overlaid; `-` reads NDJSON from stdin.
    #[arg(required = true, value_name = "RECORDS.ndjson|FILE.har")]
    pub files: Vec<PathBuf>,
    /// The image to write; its extension, .png or .svg, chooses the format.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
    /// Width in px.
    #[arg(long, value_name = "W", default_value_t = spec::DEFAULT_WIDTH)]
    pub width: u32,
    /// Height in px [default: 360 for one metric, 520 for two, 680 for three, 840 for four].
    #[arg(long, value_name = "H")]
    pub height: Option<u32>,
    /// What to plot; `all` adds bytes on the wire and latency (ms) to events and bytes.
    #[arg(long, value_enum, default_value_t = ChartMetric::Both)]
    pub metric: ChartMetric,
    /// Heading of the chart [default: from the metric].
    #[arg(long, value_name = "TEXT")]
    pub title: Option<String>,
    /// Colours.
    #[arg(long, value_enum, default_value_t = ChartTheme::Light)]
    pub theme: ChartTheme,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ChartMetric {
    /// Data messages per second (WS text/binary, SSE events), in + out.
    Events,
    /// Payload bytes per second, in + out.
    Bytes,
    /// Bytes on the wire per second, in + out: frame headers, masks, SSE field names and
    /// line ends, handshakes (records that carry wire figures).
    Wire,
    /// Latency in ms: one-way from the feed's `sent_at_us`, else ping round trip.
    Latency,
    /// Events and bytes, stacked.
    Both,
    /// Events, bytes, wire bytes and latency, stacked.
    All,
}

impl ChartMetric {
    /// The panels, by the words the API takes too (`streamscope_chart::spec`).
    pub(crate) fn metrics(self) -> Vec<Metric> {
        let word = match self {
            ChartMetric::Events => "events",
            ChartMetric::Bytes => "bytes",
            ChartMetric::Wire => "wire",
            ChartMetric::Latency => "latency",
            ChartMetric::Both => "both",
            ChartMetric::All => "all",
        };
        // Every variant is a word of the spec; an empty list would be refused by the
        // renderer with a message, never drawn wrong.
        spec::parse_metrics(word).unwrap_or_default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ChartTheme {
    Light,
    Dark,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Png,
    Svg,
}

/// A failure with its exit status.
struct Failure(u8, String);

pub(crate) fn run(a: &ChartArgs) -> ExitCode {
    match chart(a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(code, message)) => {
            eprintln!("sscope: {message}");
            ExitCode::from(code)
        }
    }
}

fn chart(a: &ChartArgs) -> Result<(), Failure> {
    let bad = |m: String| Failure(2, m);
    let ext = a
        .output
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let format = match ext.as_deref() {
        Some("png") => Format::Png,
        Some("svg") => Format::Svg,
        _ => {
            return Err(bad(format!(
                "-o {}: the extension chooses the format: write FILE.png or FILE.svg",
                a.output.display()
            )));
        }
    };
    if a.files.iter().filter(|f| f.as_os_str() == "-").count() > 1 {
        return Err(bad("stdin (`-`) can be read only once".into()));
    }
    let metrics = a.metric.metrics();
    let height = a.height.unwrap_or(spec::default_height(metrics.len()));

    let several = a.files.len() > 1;
    let mut conns: Vec<RecordedConn> = Vec::new();
    for path in &a.files {
        conns.extend(read_records(path, several).map_err(bad)?);
    }
    let span = conns.iter().filter_map(RecordedConn::span).fold(
        None,
        |acc: Option<(i64, i64)>, (f, l)| {
            Some(acc.map_or((f, l), |(af, al)| (af.min(f), al.max(l))))
        },
    );
    let Some((from, to)) = span else {
        let names: Vec<String> = a.files.iter().map(|p| show(p)).collect();
        return Err(bad(format!(
            "no records in {}: nothing to chart",
            names.join(", ")
        )));
    };
    let step = step_for(to - from + 1, MAX_POINTS);
    let panels = metrics
        .iter()
        .map(|&metric| Panel {
            metric,
            series: conns
                .iter()
                .enumerate()
                .map(|(i, c)| c.series(i, metric, from, to, step))
                .collect(),
        })
        .collect();
    let chart = Chart {
        title: a
            .title
            .clone()
            .unwrap_or_else(|| spec::title(&metrics).to_owned()),
        width: a.width,
        height,
        from,
        to,
        step,
        time_axis: TimeAxis::Elapsed,
        theme: match a.theme {
            ChartTheme::Light => Theme::Light,
            ChartTheme::Dark => Theme::Dark,
        },
        panels,
        compact: false,
    };
    let bytes = match format {
        Format::Png => streamscope_chart::render_png(&chart),
        Format::Svg => streamscope_chart::render_svg(&chart).map(String::into_bytes),
    }
    .map_err(|e| match e {
        streamscope_chart::ChartError::Size { .. } => bad(format!("--width/--height: {e}")),
        other => Failure(1, other.to_string()),
    })?;
    std::fs::write(&a.output, bytes)
        .map_err(|e| Failure(1, format!("cannot write {}: {e}", a.output.display())))
}

fn show(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "stdin".to_owned()
    } else {
        path.display().to_string()
    }
}

/// The connections recorded in one file, each named by its `conn` id and protocol, and
/// by the file's name too when several files are charted (every `sscope` run is `c1`).
fn read_records(path: &Path, several: bool) -> Result<Vec<RecordedConn>, String> {
    let shown = show(path);
    let is_har = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("har"));
    if is_har {
        return read_har(path, &shown, several);
    }
    let input: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(File::open(path).map_err(|e| format!("cannot read {shown}: {e}"))?)
    };
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "stdin".to_owned());
    let mut reader = BufReader::with_capacity(256 * 1024, input);
    let mut conns: Vec<RecordedConn> = Vec::new();
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("cannot read {shown}: {e}"))?;
        if n == 0 {
            break;
        }
        number += 1;
        let text = std::str::from_utf8(&line)
            .map_err(|_| format!("{shown}:{number}: the line is not UTF-8 text"))?;
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let record = Record::from_json(text).map_err(|e| {
            // serde_json counts lines within the one line it was given; keep the column.
            let message = e.to_string();
            let message = message
                .rfind(" at line ")
                .map_or(message.as_str(), |i| &message[..i]);
            format!(
                "{shown}:{number}:{}: not a Streamscope record: {message}",
                e.column()
            )
        })?;
        let i = match conns.iter().position(|c| c.conn == record.conn) {
            Some(i) => i,
            None => {
                conns.push(RecordedConn::new(
                    record.conn,
                    record.proto,
                    name(record.conn, record.proto, several.then_some(&stem)),
                ));
                conns.len() - 1
            }
        };
        conns[i].observe(&record);
    }
    Ok(conns)
}

/// The connections of a HAR's WebSocket and SSE entries, `c1`, `c2` … in entry order.
fn read_har(path: &Path, shown: &str, several: bool) -> Result<Vec<RecordedConn>, String> {
    let limits = har::Limits::default();
    let size = std::fs::metadata(path)
        .map_err(|e| format!("cannot read {shown}: {e}"))?
        .len();
    if size > limits.max_input as u64 {
        return Err(format!(
            "{shown}: the HAR is {size} bytes, over the limit of {} bytes for one import",
            limits.max_input
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let import = har::read(&bytes, &limits).map_err(|e| format!("{shown}: {e}"))?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut conns: Vec<RecordedConn> = import
        .conns
        .iter()
        .map(|c| {
            RecordedConn::new(
                c.conn,
                c.proto,
                name(c.conn, c.proto, several.then_some(&stem)),
            )
        })
        .collect();
    for record in &import.records {
        // Conns are c1, c2 … in order, so a record's conn finds its slot directly.
        if let Some(conn) = conns.get_mut((record.conn.0 as usize).wrapping_sub(1)) {
            conn.observe(record);
        }
    }
    Ok(conns)
}

fn name(conn: ConnId, proto: streamscope_engine::Proto, file: Option<&String>) -> String {
    match file {
        Some(f) => format!("{f}: {conn} ({})", proto.as_str()),
        None => format!("{conn} ({})", proto.as_str()),
    }
}
