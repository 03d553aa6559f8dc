//! The command line as CONTRACT.md fixes it: parsing, validation, and turning flags into
//! engine options. Everything a person can get wrong is caught here, before a socket
//! opens, with a message that says what to type instead (exit status 2).

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgMatches, Args, Parser, Subcommand, ValueEnum};
use streamscope_engine::conn::sse::DEFAULT_RETRY;
use streamscope_engine::conn::ws::{DEFAULT_MAX_FRAME, DEFAULT_MAX_MESSAGE};
use streamscope_engine::conn::{DEFAULT_CONNECT_TIMEOUT, SseOptions, WsOptions};
use streamscope_engine::model::sse::{DEFAULT_MAX_EVENT, DEFAULT_MAX_LINE};
use streamscope_engine::open::{Field, HeaderSpec, OpenSpec, Plan, SpecError};
use streamscope_engine::{Command, Proto};
use streamscope_model::input::parse_hex;

#[derive(Debug, Parser)]
#[command(
    name = "sscope",
    version,
    about = "Watch WebSocket and Server-Sent Events streams: every frame and event as an NDJSON record",
    after_help = "Records go to stdout, one JSON object per line; diagnostics go to stderr.\n\
                  Exit status: 0 the run ended as asked, 1 the connection failed or the peer broke protocol, 2 bad arguments."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Cmd {
    /// Open a WebSocket connection and print every frame.
    Ws(WsArgs),
    /// Open a Server-Sent Events stream and print every event, comment and reconnection.
    Sse(SseArgs),
    /// Run the embedded server alone: demo endpoints, the control API and the UI for a browser.
    Serve(ServeArgs),
    /// Chart events/s and bytes/s of recorded NDJSON or HAR files as PNG or SVG.
    Chart(crate::chart::ChartArgs),
    /// Convert a recording between NDJSON and HAR (by the files' extensions).
    Convert(crate::convert::ConvertArgs),
    /// Run a lab against the embedded server and print its figures and conclusion
    /// (`sscope lab list` lists them).
    Lab(crate::lab::LabArgs),
    /// List the recorded sessions in a data directory, one JSON object per line.
    Sessions(crate::sessions::SessionsArgs),
    /// Write a recorded session to a file (.ndjson).
    Export(crate::sessions::ExportArgs),
    /// Sit between an app and its endpoint (reverse tap): relay its WebSocket and SSE
    /// traffic unchanged and print both directions as records.
    Tap(crate::tap::TapArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Port on 127.0.0.1 [default: a free one].
    #[arg(long, value_name = "P", default_value_t = 0)]
    pub port: u16,
    /// Memory all recordings may take together, in bytes. A connection that finds it
    /// spent stops recording, with an `error` record (cause `memory_budget`); forgetting
    /// connections frees it.
    #[arg(
        long,
        value_name = "BYTES",
        default_value_t = streamscope_engine::session::DEFAULT_MEMORY_BUDGET
    )]
    pub memory_budget: usize,
    /// Where recorded sessions are kept (a catalogue and one file per connection)
    /// [default: $STREAMSCOPE_DATA_DIR, else streamscope in the user's data directory,
    /// ~/.local/share/streamscope on Linux].
    #[arg(long, value_name = "DIR", conflicts_with = "memory_only")]
    pub data_dir: Option<PathBuf>,
    /// Disk the recorded sessions may take together, in bytes. Once reached, recording
    /// stops with an `error` record (cause `disk_budget`); nothing is deleted.
    #[arg(
        long,
        value_name = "BYTES",
        default_value_t = streamscope_engine::recording::disk::DEFAULT_DISK_BUDGET
    )]
    pub disk_budget: u64,
    /// Keep recordings in memory only: nothing is written to disk, and they end with the
    /// server.
    #[arg(long)]
    pub memory_only: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// One JSON record per line (CONTRACT.md).
    Ndjson,
    /// One aligned line per record for people; colours on a terminal.
    Pretty,
}

/// Flags both protocols take.
#[derive(Debug, Args)]
pub(crate) struct CommonArgs {
    /// Add a request header (repeatable).
    #[arg(short = 'H', long = "header", value_name = "'Name: value'")]
    pub headers: Vec<String>,
    /// Send `Authorization: Bearer TOKEN`.
    #[arg(long, value_name = "TOKEN")]
    pub auth_bearer: Option<String>,
    /// Send `Authorization: Basic …` for USER:PASS.
    #[arg(long, value_name = "USER:PASS")]
    pub auth_basic: Option<String>,
    /// Skip TLS certificate verification for this connection.
    #[arg(long)]
    pub insecure: bool,
    /// Trust the CA certificates in this PEM file, besides the system's.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Stop after N inbound data records (WS text/binary, SSE events).
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// End the whole run after SECS seconds.
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub timeout: Option<Secs>,
    /// Give up connecting after SECS seconds.
    #[arg(long, value_name = "SECS", value_parser = parse_secs, default_value_t = Secs(DEFAULT_CONNECT_TIMEOUT))]
    pub connect_timeout: Secs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Ndjson)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct WsArgs {
    /// ws:// or wss:// URL.
    pub url: String,
    #[command(flatten)]
    pub common: CommonArgs,
    /// Offer a subprotocol (repeatable, in order of preference).
    #[arg(long = "subprotocol", value_name = "P")]
    pub subprotocols: Vec<String>,
    /// Send a text message after the connection opens (repeatable, in order).
    #[arg(long = "send", value_name = "TEXT")]
    pub send: Vec<String>,
    /// Send a binary message given as hex (repeatable, in order with --send).
    #[arg(long = "send-binary", value_name = "HEX")]
    pub send_binary: Vec<String>,
    /// Then send each line of standard input as a text message.
    #[arg(long)]
    pub stdin: bool,
    /// Send a ping every SECS seconds; a missing pong ends the run with an error.
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub ping_interval: Option<Secs>,
    /// How long a ping may go unanswered [default: the ping interval].
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub pong_timeout: Option<Secs>,
    /// Largest message accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_MESSAGE)]
    pub max_message: usize,
    /// Largest frame accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_FRAME)]
    pub max_frame: usize,
    /// Do not offer permessage-deflate (offered by default, as browsers do).
    #[arg(long)]
    pub no_deflate: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Method {
    Get,
    Post,
}

#[derive(Debug, Args)]
pub(crate) struct SseArgs {
    /// http:// or https:// URL.
    pub url: String,
    #[command(flatten)]
    pub common: CommonArgs,
    /// Start with this last event ID (sent as Last-Event-ID, shown as `id`).
    #[arg(long, value_name = "ID")]
    pub last_event_id: Option<String>,
    /// Request method [default: GET, or POST when --body is given].
    #[arg(long, value_enum, ignore_case = true)]
    pub method: Option<Method>,
    /// Request body (JSON bodies are sent as application/json).
    #[arg(long, value_name = "TEXT")]
    pub body: Option<String>,
    /// Do not reconnect when the stream ends or breaks.
    #[arg(long)]
    pub no_reconnect: bool,
    /// Reconnect after the server ends the stream cleanly [default: yes for GET, no for
    /// POST, whose request would be sent again].
    #[arg(long, overrides_with = "no_reconnect_on_end")]
    pub reconnect_on_end: bool,
    /// Do not reconnect after the server ends the stream cleanly (still reconnect after
    /// a failure).
    #[arg(long, overrides_with = "reconnect_on_end")]
    pub no_reconnect_on_end: bool,
    /// Reconnection delay in milliseconds until the server sends `retry:`.
    #[arg(long, value_name = "MS", default_value_t = DEFAULT_RETRY.as_millis() as u64)]
    pub retry: u64,
    /// Give up after N consecutive reconnection attempts that fail to open.
    #[arg(long, value_name = "N")]
    pub max_attempts: Option<u32>,
    /// Double the delay after each failed reconnection attempt (up to 60 s).
    #[arg(long)]
    pub backoff: bool,
    /// Treat SECS without a byte from the server as a broken stream.
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub idle_timeout: Option<Secs>,
    /// Longest line accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_LINE)]
    pub max_line: usize,
    /// Most data buffered for one event, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_EVENT)]
    pub max_event: usize,
}

/// A number of seconds as the flags take it ("5", "0.5") and `--help` shows it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Secs(pub Duration);

impl std::fmt::Display for Secs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.as_secs_f64())
    }
}

pub(crate) fn parse_secs(s: &str) -> Result<Secs, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds (e.g. 5 or 0.5)"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("{s:?} is not a number of seconds (e.g. 5 or 0.5)"));
    }
    Duration::try_from_secs_f64(v)
        .map(Secs)
        .map_err(|_| format!("{s:?} seconds is too long"))
}

/// A mistake in the arguments: printed as `sscope: …`, exit status 2.
#[derive(Debug)]
pub(crate) struct BadArgs(pub String);

fn bad(msg: impl Into<String>) -> BadArgs {
    BadArgs(msg.into())
}

/// The flag that sets a field of the engine's [`OpenSpec`].
fn flag(field: Field) -> &'static str {
    match field {
        Field::Proto | Field::Url => "URL",
        Field::Headers => "-H",
        Field::Subprotocols => "--subprotocol",
        Field::Bearer => "--auth-bearer",
        Field::Basic => "--auth-basic",
        Field::CaFile => "--ca",
        Field::ConnectTimeout => "--connect-timeout",
        Field::PingInterval => "--ping-interval",
        Field::PongTimeout => "--pong-timeout",
        Field::MaxMessage => "--max-message",
        Field::MaxFrame => "--max-frame",
        Field::Method => "--method",
        Field::Body => "--body",
        Field::LastEventId => "--last-event-id",
        Field::MaxAttempts => "--max-attempts",
        Field::IdleTimeout => "--idle-timeout",
        Field::MaxLine => "--max-line",
        Field::MaxEvent => "--max-event",
    }
}

/// The engine's refusal in the command line's words: the flag, the engine's reason, and
/// for a URL of the other protocol, the command that takes it.
fn refused(e: SpecError, url: &str, proto: Proto) -> BadArgs {
    let mut message = format!("{}: {}", flag(e.field), e.reason);
    if e.field == Field::Url {
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        match (proto, scheme.as_deref()) {
            (Proto::Sse, Some("ws" | "wss")) => {
                message.push_str(&format!("; for a WebSocket run `sscope ws {url}`"));
            }
            (Proto::Ws, Some("http" | "https")) => {
                message.push_str(&format!("; for an event stream run `sscope sse {url}`"));
            }
            _ => {}
        }
    }
    bad(message)
}

fn secs(v: Option<Secs>) -> Option<f64> {
    v.map(|s| s.0.as_secs_f64())
}

/// What both protocols' flags put into the spec.
fn common_spec(url: &str, proto: Proto, c: &CommonArgs) -> OpenSpec {
    OpenSpec {
        proto: Some(proto.as_str().to_owned()),
        url: url.to_owned(),
        headers: c.headers.iter().cloned().map(HeaderSpec::Line).collect(),
        bearer: c.auth_bearer.clone(),
        basic: c.auth_basic.clone(),
        insecure: c.insecure,
        ca_file: c.ca.clone(),
        connect_timeout_secs: Some(c.connect_timeout.0.as_secs_f64()),
        ..OpenSpec::default()
    }
}

/// What only the command line has: `--count` and `--timeout`.
fn run_limits(plan: &mut Plan, c: &CommonArgs) {
    let common = plan.common_mut();
    common.count = c.count;
    common.deadline = c.timeout.map(|d| tokio::time::Instant::now() + d.0);
}

/// The `--send` and `--send-binary` messages in the order they were typed.
fn messages_in_order(a: &WsArgs, m: &ArgMatches) -> Result<Vec<Command>, BadArgs> {
    let mut indexed: Vec<(usize, Command)> = Vec::new();
    let texts = m.indices_of("send").into_iter().flatten();
    for (i, text) in texts.zip(&a.send) {
        indexed.push((i, Command::Text(text.clone())));
    }
    let bins = m.indices_of("send_binary").into_iter().flatten();
    for (i, hex) in bins.zip(&a.send_binary) {
        let bytes = parse_hex(hex).map_err(|e| bad(format!("--send-binary {hex:?}: {e}")))?;
        indexed.push((i, Command::Binary(bytes.into())));
    }
    indexed.sort_by_key(|(i, _)| *i);
    Ok(indexed.into_iter().map(|(_, c)| c).collect())
}

pub(crate) fn ws_options(a: &WsArgs, m: &ArgMatches) -> Result<WsOptions, BadArgs> {
    let spec = OpenSpec {
        subprotocols: a.subprotocols.clone(),
        ping_interval_secs: secs(a.ping_interval),
        pong_timeout_secs: secs(a.pong_timeout),
        max_message: Some(a.max_message),
        max_frame: Some(a.max_frame),
        deflate: Some(!a.no_deflate),
        ..common_spec(&a.url, Proto::Ws, &a.common)
    };
    let mut plan = spec.plan().map_err(|e| refused(e, &a.url, Proto::Ws))?;
    run_limits(&mut plan, &a.common);
    let Plan::Ws(mut opts) = plan else {
        return Err(bad("URL: not a WebSocket URL"));
    };
    opts.send = messages_in_order(a, m)?;
    Ok(opts)
}

pub(crate) fn sse_options(a: &SseArgs) -> Result<SseOptions, BadArgs> {
    let spec = OpenSpec {
        method: a.method.map(|m| {
            match m {
                Method::Get => "GET",
                Method::Post => "POST",
            }
            .to_owned()
        }),
        body: a.body.clone(),
        last_event_id: a.last_event_id.clone(),
        reconnect: Some(!a.no_reconnect),
        reconnect_on_end: match (a.reconnect_on_end, a.no_reconnect_on_end) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        },
        retry_ms: Some(a.retry),
        max_attempts: a.max_attempts,
        backoff: a.backoff,
        idle_timeout_secs: secs(a.idle_timeout),
        max_line: Some(a.max_line),
        max_event: Some(a.max_event),
        ..common_spec(&a.url, Proto::Sse, &a.common)
    };
    let mut plan = spec.plan().map_err(|e| refused(e, &a.url, Proto::Sse))?;
    run_limits(&mut plan, &a.common);
    let Plan::Sse(opts) = plan else {
        return Err(bad("URL: not an event stream URL"));
    };
    Ok(opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_of_the_other_protocol_names_the_command_that_takes_it() {
        let spec = |url: &str, proto: Proto| common_spec(url, proto, &CommonArgs::for_test());
        let e = refused(
            spec("ws://h/x", Proto::Sse).plan().unwrap_err(),
            "ws://h/x",
            Proto::Sse,
        )
        .0;
        assert!(e.contains("sscope ws ws://h/x"), "{e}");
        let e = refused(
            spec("http://h/x", Proto::Ws).plan().unwrap_err(),
            "http://h/x",
            Proto::Ws,
        )
        .0;
        assert!(e.contains("ws://h/x") && e.contains("sscope sse"), "{e}");
    }

    #[test]
    fn seconds_accept_fractions_and_refuse_nonsense() {
        assert_eq!(parse_secs("0.5"), Ok(Secs(Duration::from_millis(500))));
        assert!(parse_secs("-1").is_err());
        assert!(parse_secs("soon").is_err());
        assert!(parse_secs("inf").is_err());
        assert_eq!(Secs(DEFAULT_CONNECT_TIMEOUT).to_string(), "10");
    }

    impl CommonArgs {
        fn for_test() -> Self {
            CommonArgs {
                headers: vec![],
                auth_bearer: None,
                auth_basic: None,
                insecure: false,
                ca: None,
                count: None,
                timeout: None,
                connect_timeout: Secs(DEFAULT_CONNECT_TIMEOUT),
                format: Format::Ndjson,
            }
        }
    }
}
