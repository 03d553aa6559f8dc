//! The command line as CONTRACT.md fixes it: parsing, validation, and turning flags into
//! engine options. Everything a person can get wrong is caught here, before a socket
//! opens, with a message that says what to type instead (exit status 2).

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgMatches, Args, Parser, Subcommand, ValueEnum};
use streamscope_engine::{Command, CommonOptions, SseOptions, TlsOptions, WsOptions};
use streamscope_model::input::{basic_header, bearer_header, is_token, parse_header, parse_hex};
use url::Url;

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
    /// Chart events/s and bytes/s of recorded NDJSON files as PNG or SVG.
    Chart(crate::chart::ChartArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Port on 127.0.0.1 [default: a free one].
    #[arg(long, value_name = "P", default_value_t = 0)]
    pub port: u16,
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
    pub timeout: Option<Duration>,
    /// Give up connecting after SECS seconds.
    #[arg(long, value_name = "SECS", value_parser = parse_secs, default_value = "10")]
    pub connect_timeout: Duration,
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
    pub ping_interval: Option<Duration>,
    /// How long a ping may go unanswered [default: the ping interval].
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub pong_timeout: Option<Duration>,
    /// Largest message accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 20)]
    pub max_message: usize,
    /// Largest frame accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 16 << 20)]
    pub max_frame: usize,
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
    /// Reconnection delay in milliseconds until the server sends `retry:`.
    #[arg(long, value_name = "MS", default_value_t = 3000)]
    pub retry: u64,
    /// Give up after N consecutive reconnection attempts that fail to open.
    #[arg(long, value_name = "N")]
    pub max_attempts: Option<u32>,
    /// Double the delay after each failed reconnection attempt (up to 60 s).
    #[arg(long)]
    pub backoff: bool,
    /// Treat SECS without a byte from the server as a broken stream.
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub idle_timeout: Option<Duration>,
    /// Longest line accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    pub max_line: usize,
    /// Most data buffered for one event, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 16 << 20)]
    pub max_event: usize,
}

fn parse_secs(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds (e.g. 5 or 0.5)"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("{s:?} is not a number of seconds (e.g. 5 or 0.5)"));
    }
    Duration::try_from_secs_f64(v).map_err(|_| format!("{s:?} seconds is too long"))
}

/// A mistake in the arguments: printed as `sscope: …`, exit status 2.
#[derive(Debug)]
pub(crate) struct BadArgs(pub String);

fn bad(msg: impl Into<String>) -> BadArgs {
    BadArgs(msg.into())
}

/// Parses and checks a URL for one protocol, with advice for the usual slips.
pub(crate) fn check_url(text: &str, ws: bool) -> Result<Url, BadArgs> {
    let (want, example, other_cmd, other) = if ws {
        (
            "ws:// or wss://",
            "ws://localhost:8080/socket",
            "sse",
            "http:// or https://",
        )
    } else {
        (
            "http:// or https://",
            "http://localhost:8080/events",
            "ws",
            "ws:// or wss://",
        )
    };
    let url = match Url::parse(text) {
        Ok(u) => u,
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            return Err(bad(format!(
                "{text:?} has no scheme: write a full URL like {example}"
            )));
        }
        Err(e) => return Err(bad(format!("{text:?} is not a valid URL: {e}"))),
    };
    let scheme = url.scheme();
    let fits = if ws {
        matches!(scheme, "ws" | "wss")
    } else {
        matches!(scheme, "http" | "https")
    };
    if !fits {
        let hint = match (ws, scheme) {
            (true, "http" | "https") => format!(
                "; for a WebSocket use {}{}",
                if scheme == "https" { "wss" } else { "ws" },
                &text[scheme.len()..]
            ),
            (false, "ws" | "wss") => format!("; for a WebSocket run `sscope {other_cmd} {text}`"),
            _ => String::new(),
        };
        let _ = other;
        return Err(bad(format!(
            "{text:?} has scheme {scheme:?}: this command takes {want}{hint}"
        )));
    }
    // `ws:localhost` parses, with no host: refuse it rather than fail at connect time.
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad(format!(
            "{text:?} has no host: write a URL like {example}"
        )));
    }
    Ok(url)
}

fn common_options(c: &CommonArgs) -> Result<CommonOptions, BadArgs> {
    let mut headers = Vec::new();
    for line in &c.headers {
        headers.push(parse_header(line).map_err(|e| bad(format!("-H: {e}")))?);
    }
    if let Some(token) = &c.auth_bearer {
        headers.push(bearer_header(token).map_err(|e| bad(format!("--auth-bearer: {e}")))?);
    }
    if let Some(pair) = &c.auth_basic {
        headers.push(basic_header(pair).map_err(|e| bad(format!("--auth-basic: {e}")))?);
    }
    if let Some(ca) = &c.ca {
        if !ca.is_file() {
            return Err(bad(format!(
                "--ca: {} is not a readable file",
                ca.display()
            )));
        }
    }
    Ok(CommonOptions {
        headers,
        tls: TlsOptions {
            insecure: c.insecure,
            ca_file: c.ca.clone(),
        },
        connect_timeout: c.connect_timeout,
        count: c.count,
        deadline: c.timeout.map(|d| tokio::time::Instant::now() + d),
    })
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
    let url = check_url(&a.url, true)?;
    let mut opts = WsOptions::new(url);
    opts.common = common_options(&a.common)?;
    for p in &a.subprotocols {
        if !is_token(p) {
            return Err(bad(format!(
                "--subprotocol {p:?}: a subprotocol is one token (letters, digits, !#$%&'*+-.^_`|~); repeat the flag for several"
            )));
        }
    }
    opts.subprotocols = a.subprotocols.clone();
    opts.send = messages_in_order(a, m)?;
    if a.ping_interval.is_some_and(|d| d.is_zero()) {
        return Err(bad("--ping-interval must be more than 0 seconds"));
    }
    if a.pong_timeout.is_some() && a.ping_interval.is_none() {
        return Err(bad("--pong-timeout needs --ping-interval"));
    }
    opts.ping_interval = a.ping_interval;
    opts.pong_timeout = a.pong_timeout;
    if a.max_message == 0 || a.max_frame == 0 {
        return Err(bad("--max-message and --max-frame must be at least 1 byte"));
    }
    opts.max_message = a.max_message;
    opts.max_frame = a.max_frame;
    Ok(opts)
}

pub(crate) fn sse_options(a: &SseArgs) -> Result<SseOptions, BadArgs> {
    let url = check_url(&a.url, false)?;
    let mut opts = SseOptions::new(url);
    opts.common = common_options(&a.common)?;
    opts.method = match (a.method, &a.body) {
        (Some(Method::Get), _) => reqwest_method("GET"),
        (Some(Method::Post), _) | (None, Some(_)) => reqwest_method("POST"),
        (None, None) => reqwest_method("GET"),
    };
    opts.body = a.body.clone();
    if let Some(id) = &a.last_event_id {
        if id.contains(['\0', '\r', '\n']) {
            return Err(bad(
                "--last-event-id: an event id cannot hold NUL, CR or LF",
            ));
        }
    }
    opts.last_event_id = a.last_event_id.clone();
    opts.reconnect = !a.no_reconnect;
    opts.retry = Duration::from_millis(a.retry);
    if a.max_attempts == Some(0) {
        return Err(bad("--max-attempts must be at least 1"));
    }
    opts.max_attempts = a.max_attempts;
    opts.backoff = a.backoff;
    if a.idle_timeout.is_some_and(|d| d.is_zero()) {
        return Err(bad("--idle-timeout must be more than 0 seconds"));
    }
    opts.idle_timeout = a.idle_timeout;
    if a.max_line == 0 || a.max_event == 0 {
        return Err(bad("--max-line and --max-event must be at least 1 byte"));
    }
    opts.limits.max_line = a.max_line;
    opts.limits.max_event = a.max_event;
    Ok(opts)
}

fn reqwest_method(name: &str) -> streamscope_engine::conn::sse::Method {
    streamscope_engine::conn::sse::Method::from_bytes(name.as_bytes()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_per_protocol() {
        assert!(check_url("ws://127.0.0.1:9/x?a=1", true).is_ok());
        assert!(check_url("wss://example.com", true).is_ok());
        assert!(check_url("http://127.0.0.1/events", false).is_ok());
        let e = check_url("http://h/x", true).unwrap_err().0;
        assert!(e.contains("ws://h/x"), "{e}");
        let e = check_url("ws://h/x", false).unwrap_err().0;
        assert!(e.contains("sscope ws"), "{e}");
        let e = check_url("ftp://h/x", true).unwrap_err().0;
        assert!(e.contains("\"ftp\""), "{e}");
        let e = check_url("localhost/x", true).unwrap_err().0;
        assert!(e.contains("no scheme"), "{e}");
        assert!(check_url("ws://", true).is_err());
    }

    #[test]
    fn seconds_accept_fractions_and_refuse_nonsense() {
        assert_eq!(parse_secs("0.5"), Ok(Duration::from_millis(500)));
        assert!(parse_secs("-1").is_err());
        assert!(parse_secs("soon").is_err());
        assert!(parse_secs("inf").is_err());
    }
}
