//! An SSE connection task: reqwest's byte stream, our parser, and reconnection as a
//! browser's `EventSource` does it.
//!
//! It owns the request (method, body, `Accept`, `Cache-Control`, `Last-Event-ID`), the
//! response checks (200 and `text/event-stream`, 204 means stop), the read loop, and
//! the reconnect state machine with its `end`, `error` and `reconnect` records. One
//! connection keeps one `conn` and one `seq` across reconnections.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use url::Url;

/// The HTTP method of an SSE request.
pub use reqwest::Method;

use super::handshake::{connect_cause, tls_cause};
use super::inflate::{Inflate, InflateError};
use super::ws::collect_headers;
use super::{
    Command, CommonOptions, Emitter, Outcome, SinkClosed, count_not_reached, secs, sleep_until_opt,
};
use crate::tls::{self, Alpn, TlsOptions};
use streamscope_model::Cause;
use streamscope_model::record::{Body, Dir, Wire};
use streamscope_model::sse::{Item, Limits, Parser};

/// Everything an SSE connection is opened with.
#[derive(Debug, Clone)]
pub struct SseOptions {
    /// An `http://` or `https://` URL (checked by [`crate::open::OpenSpec`]).
    pub url: Url,
    pub common: CommonOptions,
    /// `GET` unless a body is sent; LLM-style APIs want `POST`.
    pub method: Method,
    pub body: Option<String>,
    /// The last event ID in force at start, as `--last-event-id` sets it.
    pub last_event_id: Option<String>,
    /// Reconnect after the stream ends or breaks, as `EventSource` does; `false` turns
    /// every reconnection off.
    pub reconnect: bool,
    /// With `reconnect`, also reconnect after the server ends the stream cleanly, as
    /// `EventSource` does. Kept apart because a POST stream (an LLM completion) that ends is
    /// done: reconnecting re-sends the request, and each one may be a new paid request.
    /// [`crate::open::OpenSpec`] turns it off for POST unless asked.
    pub reconnect_on_end: bool,
    /// Reconnection delay until the server sends `retry:` ([`DEFAULT_RETRY`]).
    pub retry: Duration,
    /// Give up after this many consecutive reconnection attempts that fail to open.
    pub max_attempts: Option<u32>,
    /// Double the delay after each failed attempt (up to [`MAX_BACKOFF`]).
    pub backoff: bool,
    /// No byte for this long counts as a broken transport.
    pub idle_timeout: Option<Duration>,
    pub limits: Limits,
}

/// The longest delay `backoff` grows to: a minute keeps a dead server from being
/// hammered without leaving the user waiting for ages once it is back.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// The common browser default.
pub const DEFAULT_RETRY: Duration = Duration::from_secs(3);

impl SseOptions {
    pub fn new(url: Url) -> Self {
        SseOptions {
            url,
            common: CommonOptions::default(),
            method: Method::GET,
            body: None,
            last_event_id: None,
            reconnect: true,
            reconnect_on_end: true,
            retry: DEFAULT_RETRY,
            max_attempts: None,
            backoff: false,
            idle_timeout: None,
            limits: Limits::default(),
        }
    }
}

/// How one request–response round ended.
enum Round {
    /// The server ended the stream cleanly: reconnect unless told not to.
    Ended,
    /// The transport broke; `opened` says whether the response had been accepted.
    Broken { opened: bool },
    /// The run is over.
    Done(Outcome),
}

/// The command channel, which may close while the connection goes on.
struct Inbox {
    rx: mpsc::Receiver<Command>,
    open: bool,
}

impl Inbox {
    /// The next command; pends forever once every sender is gone.
    async fn next(&mut self) -> Command {
        if self.open {
            if let Some(cmd) = self.rx.recv().await {
                return cmd;
            }
            self.open = false;
        }
        std::future::pending().await
    }
}

/// What a command means to an SSE connection: only closing applies.
enum Asked {
    Close,
    Refused(&'static str),
}

fn asked(cmd: &Command) -> Asked {
    match cmd {
        Command::Close { .. } => Asked::Close,
        _ => Asked::Refused(
            "an SSE connection cannot send: the stream only flows from the server (SSE apps send with a separate HTTP request)",
        ),
    }
}

/// Runs the connection until it ends; [`super::spawn`] makes a closed sink `Cancelled`.
pub(crate) async fn run(
    opts: &SseOptions,
    em: &mut Emitter,
    cmds: mpsc::Receiver<Command>,
    cancel: &CancellationToken,
) -> Result<Outcome, SinkClosed> {
    let client = match build_client(opts).await {
        Ok(c) => c,
        Err((cause, message)) => {
            em.error(cause, message).await?;
            return Ok(Outcome::Failed);
        }
    };
    let mut inbox = Inbox {
        rx: cmds,
        open: true,
    };
    let mut s = Stream {
        opts,
        client,
        parser: Parser::new(opts.limits),
        retry: opts.retry,
        ever_opened: false,
        items: Vec::new(),
        coded: CodedShare::default(),
    };
    s.parser.set_last_event_id(opts.last_event_id.clone());
    if opts.common.count == Some(0) {
        return Ok(Outcome::Completed);
    }
    let mut failed_attempts: u32 = 0;
    let mut attempt: u32 = 0;
    let mut delay = s.retry;

    loop {
        let round = s.round(em, &mut inbox, cancel).await?;
        let opened = match round {
            Round::Done(outcome) => return Ok(outcome),
            Round::Ended if !(opts.reconnect && opts.reconnect_on_end) => {
                return Ok(Outcome::Completed);
            }
            Round::Broken { .. } if !opts.reconnect => return Ok(Outcome::Failed),
            // A first connection that never opened: EventSource would retry, but a
            // debugging tool reports it at once (the spec lets a client fail when
            // retrying is known to be futile).
            Round::Broken { opened: false } if !s.ever_opened => return Ok(Outcome::Failed),
            Round::Ended => true,
            Round::Broken { opened } => opened,
        };
        if opened {
            failed_attempts = 0;
            delay = s.retry;
        } else {
            failed_attempts += 1;
            if opts.max_attempts.is_some_and(|max| failed_attempts >= max) {
                em.error(
                    Cause::AttemptsExhausted,
                    format!("gave up after {failed_attempts} failed reconnection attempts"),
                )
                .await?;
                return Ok(Outcome::Failed);
            }
            delay = if opts.backoff {
                (delay * 2).max(s.retry).min(MAX_BACKOFF.max(s.retry))
            } else {
                s.retry
            };
        }

        // Wait the reconnection time, then say so and try again.
        let wait_until = Instant::now() + delay;
        loop {
            tokio::select! {
                biased;
                _ = cancel.cancelled() => return Ok(Outcome::Cancelled),
                _ = sleep_until_opt(opts.common.deadline) => return deadline_outcome(opts, em).await,
                cmd = inbox.next() => match asked(&cmd) {
                    Asked::Close => return Ok(Outcome::Completed),
                    Asked::Refused(why) => em.error(Cause::BadRequest, why).await?,
                },
                _ = tokio::time::sleep_until(wait_until) => break,
            }
        }
        attempt = attempt.saturating_add(1);
        em.emit(
            Dir::Meta,
            Body::Reconnect {
                retry_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                attempt,
                last_event_id: s
                    .parser
                    .last_event_id()
                    .filter(|id| !id.is_empty())
                    .map(str::to_owned),
            },
        )
        .await?;
    }
}

/// The end of a run whose deadline passed: fine, unless `count` was owed.
async fn deadline_outcome(opts: &SseOptions, em: &mut Emitter) -> Result<Outcome, SinkClosed> {
    if let Some(n) = opts.common.count.filter(|&n| em.data_in < n) {
        let got = em.data_in;
        em.error(Cause::CountNotReached, count_not_reached(n, got, "events"))
            .await?;
        return Ok(Outcome::Failed);
    }
    Ok(Outcome::Completed)
}

/// The state that lives across reconnections.
struct Stream<'a> {
    opts: &'a SseOptions,
    client: reqwest::Client,
    parser: Parser,
    /// The reconnection time in force (the spec's "reconnection time").
    retry: Duration,
    ever_opened: bool,
    /// Items of the chunk being handled; reused to avoid an allocation per chunk.
    items: Vec<(Item, u64)>,
    /// The content-coded bytes not yet shared out among items (gzip streams).
    coded: CodedShare,
}

/// Shares a content-coded stream's wire bytes out among the items decoded from them,
/// each by its part of the decoded bytes that came with those wire bytes. A server that
/// flushes each event (as a live gzip stream must) gives each event exactly the bytes of
/// its own flush. Nothing is shared twice or lost: what is not yet shared waits for the
/// item still being read.
#[derive(Debug, Default)]
struct CodedShare {
    wire: u64,
    decoded: u64,
}

impl CodedShare {
    fn add(&mut self, wire: u64, decoded: u64) {
        self.wire += wire;
        self.decoded += decoded;
    }

    /// The share of an item of `decoded` stream bytes.
    fn take(&mut self, decoded: u64) -> u64 {
        let decoded = decoded.min(self.decoded);
        if decoded == 0 {
            return 0;
        }
        let share = if decoded == self.decoded {
            self.wire
        } else {
            // In u128, so the product cannot overflow.
            (u128::from(self.wire) * u128::from(decoded) / u128::from(self.decoded)) as u64
        };
        self.wire -= share;
        self.decoded -= decoded;
        share
    }
}

impl Stream<'_> {
    /// One request and, if it is accepted, its response stream to the end.
    async fn round(
        &mut self,
        em: &mut Emitter,
        inbox: &mut Inbox,
        cancel: &CancellationToken,
    ) -> Result<Round, SinkClosed> {
        let opts = self.opts;
        self.parser.start_stream();
        self.coded = CodedShare::default();
        let request = self.request();
        let response = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Ok(Round::Done(Outcome::Cancelled)),
            _ = sleep_until_opt(opts.common.deadline) => {
                return Ok(Round::Done(deadline_outcome(opts, em).await?));
            }
            r = tokio::time::timeout(opts.common.connect_timeout, request.send()) => r,
        };
        let response = match response {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                let (cause, message) = describe_request_error(&e, &opts.url);
                em.error(cause, message).await?;
                return Ok(Round::Broken { opened: false });
            }
            Err(_) => {
                em.error(
                    Cause::ConnectTimeout,
                    format!(
                        "no response from {} within {}",
                        opts.url,
                        secs(opts.common.connect_timeout)
                    ),
                )
                .await?;
                return Ok(Round::Broken { opened: false });
            }
        };

        let status = response.status();
        let headers = collect_headers(response.headers());
        // WHATWG: 204 No Content tells the client to stop reconnecting.
        if status.as_u16() == 204 {
            em.emit(Dir::Meta, Body::End).await?;
            return Ok(Round::Done(Outcome::Completed));
        }
        // WHATWG: any other status than 200, or another Content-Type, fails the
        // connection for good.
        if status.as_u16() != 200 {
            let line = first_body_line(response).await;
            let reason = status
                .canonical_reason()
                .map(|r| format!(" {r}"))
                .unwrap_or_default();
            let mut message = format!(
                "server answered {}{reason} from {}",
                status.as_u16(),
                opts.url
            );
            if let Some(line) = line {
                message.push_str(": ");
                message.push_str(&line);
            }
            message.push_str(" (an event stream needs 200; not reconnecting)");
            em.emit(
                Dir::Meta,
                Body::Error {
                    message,
                    cause: Some(Cause::HandshakeRejected),
                    status: Some(status.as_u16()),
                    headers: Some(headers),
                },
            )
            .await?;
            return Ok(Round::Done(Outcome::Failed));
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        if !is_event_stream(&content_type) {
            let shown = if content_type.is_empty() {
                "no Content-Type".to_owned()
            } else {
                format!("Content-Type {content_type:?}")
            };
            em.emit(
                Dir::Meta,
                Body::Error {
                    message: format!(
                        "{} answered 200 with {shown}, not text/event-stream; not reconnecting",
                        opts.url
                    ),
                    cause: Some(Cause::NotEventStream),
                    status: Some(200),
                    headers: Some(headers),
                },
            )
            .await?;
            return Ok(Round::Done(Outcome::Failed));
        }

        self.ever_opened = true;
        em.emit(
            Dir::Meta,
            Body::Open {
                status: 200,
                headers,
                subprotocol: None,
            },
        )
        .await?;

        let mut inflate = inflate_for(&response);
        let mut body = response.bytes_stream();
        let mut idle_deadline = opts.idle_timeout.map(|d| Instant::now() + d);
        loop {
            tokio::select! {
                biased;
                _ = cancel.cancelled() => return Ok(Round::Done(Outcome::Cancelled)),
                _ = sleep_until_opt(opts.common.deadline) => {
                    return Ok(Round::Done(deadline_outcome(opts, em).await?));
                }
                cmd = inbox.next() => match asked(&cmd) {
                    Asked::Close => return Ok(Round::Done(Outcome::Completed)),
                    Asked::Refused(why) => em.error(Cause::BadRequest, why).await?,
                },
                _ = sleep_until_opt(idle_deadline) => {
                    let idle = opts.idle_timeout.map(secs).unwrap_or_default();
                    em.error(Cause::IdleTimeout, format!("no data for {idle}: treating the stream as broken")).await?;
                    return Ok(Round::Broken { opened: true });
                }
                chunk = body.next() => match chunk {
                    Some(Ok(bytes)) => {
                        if let Some(d) = opts.idle_timeout {
                            idle_deadline = Some(Instant::now() + d);
                        }
                        inflate.push(bytes);
                        loop {
                            match inflate.pull() {
                                Ok(Some(piece)) => {
                                    let coded = inflate.take_wire();
                                    if let Some(outcome) = self.chunk(&piece, coded, em).await? {
                                        return Ok(Round::Done(outcome));
                                    }
                                }
                                Ok(None) => break,
                                Err(e) => {
                                    // A bomb or a corrupt body is the same again on
                                    // a reconnection: fail for good.
                                    let cause = match e {
                                        InflateError::Ratio { .. } => Cause::TooBig,
                                        InflateError::Corrupt { .. } => Cause::ProtocolViolation,
                                    };
                                    em.error(cause, e.to_string()).await?;
                                    return Ok(Round::Done(Outcome::Failed));
                                }
                            }
                        }
                    }
                    Some(Err(e)) => {
                        em.error(Cause::TransportLost, format!("the stream broke: {}", error_chain(&e))).await?;
                        return Ok(Round::Broken { opened: true });
                    }
                    None => {
                        // WHATWG: an unfinished event at the end of the stream is dropped.
                        em.emit(Dir::Meta, Body::End).await?;
                        return Ok(Round::Ended);
                    }
                },
            }
        }
    }

    /// Parses one chunk and records its items. `coded`: the content-coded bytes it was
    /// decoded from, if it was. `Some` ends the run.
    async fn chunk(
        &mut self,
        bytes: &[u8],
        coded: Option<u64>,
        em: &mut Emitter,
    ) -> Result<Option<Outcome>, SinkClosed> {
        if let Some(wire) = coded {
            self.coded.add(wire, bytes.len() as u64);
        }
        let mut items = std::mem::take(&mut self.items);
        let parsed = self
            .parser
            .feed_counted(bytes, &mut |item, n| items.push((item, n)));
        let count = self.opts.common.count;
        let mut outcome = None;
        for (item, stream_bytes) in items.drain(..) {
            let body = match item {
                Item::Event { event, data, id } => Body::Event { event, data, id },
                Item::Comment(text) => Body::Comment(text),
                Item::Retry(ms) => {
                    self.retry = Duration::from_millis(ms);
                    Body::Retry { retry_ms: ms }
                }
            };
            // The event stream's own bytes for this item (after any content coding), and
            // its share of the coded bytes that carried it.
            let wire = Wire {
                bytes: stream_bytes,
                compressed_size: coded.map(|_| self.coded.take(stream_bytes)),
                ..Wire::default()
            };
            em.emit_wire(Dir::In, body, wire).await?;
            if count.is_some_and(|n| em.data_in >= n) {
                outcome = Some(Outcome::Completed);
                break;
            }
        }
        items.clear();
        self.items = items;
        if outcome.is_some() {
            return Ok(outcome);
        }
        if let Err(e) = parsed {
            em.error(Cause::TooBig, format!("cannot parse the event stream: {e}"))
                .await?;
            return Ok(Some(Outcome::Failed));
        }
        Ok(None)
    }

    fn request(&self) -> reqwest::RequestBuilder {
        let opts = self.opts;
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::ACCEPT,
            HeaderValue::from_static("text/event-stream"),
        );
        headers.insert(
            reqwest::header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        );
        // What reqwest would ask for itself; the client decodes it (conn/inflate.rs), so
        // it can bound how far a body inflates.
        headers.insert(
            reqwest::header::ACCEPT_ENCODING,
            HeaderValue::from_static(super::inflate::ACCEPT_ENCODING),
        );
        if let Some(id) = self.parser.last_event_id().filter(|id| !id.is_empty()) {
            // An id that cannot be a header value (a control character) is not sent,
            // as a browser would not send it either.
            if let Ok(v) = HeaderValue::from_str(id) {
                headers.insert("last-event-id", v);
            }
        }
        if let Some(body) = &opts.body {
            let json = serde_json::from_str::<serde_json::Value>(body).is_ok();
            let ct = if json {
                "application/json"
            } else {
                "text/plain; charset=utf-8"
            };
            headers.insert(reqwest::header::CONTENT_TYPE, HeaderValue::from_static(ct));
        }
        // The user's headers replace our defaults of the same name; repeats add up.
        let mut replaced: Vec<HeaderName> = Vec::new();
        for (name, value) in &opts.common.headers {
            let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) else {
                continue;
            };
            if replaced.contains(&name) {
                headers.append(name, value);
            } else {
                headers.insert(name.clone(), value);
                replaced.push(name);
            }
        }
        let mut req = self
            .client
            .request(opts.method.clone(), opts.url.clone())
            .headers(headers);
        if let Some(body) = &opts.body {
            req = req.body(body.clone());
        }
        req
    }
}

async fn build_client(opts: &SseOptions) -> Result<reqwest::Client, (Cause, String)> {
    // A plain http:// stream never reads the CA file (a redirect to https then trusts the
    // system's roots only): a bad CA file must not break what does not use it.
    let tls_opts = if opts.url.scheme() == "https" {
        opts.common.tls.clone()
    } else {
        TlsOptions {
            ca_file: None,
            ..opts.common.tls.clone()
        }
    };
    let tls = tls::client_config(&tls_opts, Alpn::Http)
        .await
        .map_err(|e| (Cause::TlsOther, e.to_string()))?;
    reqwest::Client::builder()
        .tls_backend_preconfigured((*tls).clone())
        .connect_timeout(opts.common.connect_timeout)
        .redirect(reqwest::redirect::Policy::limited(10))
        // Decoded in `inflate`, which counts the wire bytes that reqwest's decoder hides.
        .no_gzip()
        .user_agent(concat!("sscope/", env!("CARGO_PKG_VERSION")))
        .tcp_nodelay(true)
        .build()
        .map_err(|e| {
            (
                Cause::TlsOther,
                format!("cannot set up the HTTP client: {}", error_chain(&e)),
            )
        })
}

/// `text/event-stream`, with any parameters, in any case.
fn is_event_stream(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("text/event-stream"))
}

/// The decoder for a response's `Content-Encoding` (we decode gzip ourselves, to count
/// the bytes on the wire: `conn/inflate.rs`).
fn inflate_for(response: &reqwest::Response) -> Inflate {
    Inflate::for_encoding(
        response
            .headers()
            .get(reqwest::header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok()),
    )
}

/// The first non-empty line of an error response, for the message: bounded in size and
/// time, so a huge or stalled error body cannot hold the run.
async fn first_body_line(response: reqwest::Response) -> Option<String> {
    const MAX: usize = 4096;
    // An error page may be gzip-encoded too; a bomb here ends the read like its end.
    let mut inflate = inflate_for(&response);
    let mut body = response.bytes_stream();
    let mut buf = Vec::new();
    let read = async {
        'read: while let Some(Ok(chunk)) = body.next().await {
            inflate.push(chunk);
            while let Ok(Some(piece)) = inflate.pull() {
                buf.extend_from_slice(&piece);
                if buf.len() >= MAX || buf.contains(&b'\n') {
                    break 'read;
                }
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), read).await;
    let text = String::from_utf8_lossy(&buf[..buf.len().min(MAX)]).into_owned();
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(|l| l.chars().take(200).collect())
}

/// A request error with its causes, which is where reqwest keeps the useful words.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

fn describe_request_error(e: &reqwest::Error, url: &Url) -> (Cause, String) {
    // reqwest's outer layers ("error sending request for url …", "client error
    // (Connect)") repeat the URL; the innermost causes say what went wrong.
    let mut causes = Vec::new();
    let mut io = None;
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        causes.push(s.to_string());
        if let Some(err) = s.downcast_ref::<std::io::Error>() {
            io = Some(connect_cause(err));
        }
        source = s.source();
    }
    let tls = tls_cause(e);
    let chain = if causes.len() > 2 {
        causes[causes.len() - 2..].join(": ")
    } else {
        causes.join(": ")
    };
    // hyper-util's resolver error is not a public type: its words are what tell a name
    // that does not resolve apart from other connect failures.
    let dns = causes.iter().any(|c| c.starts_with("dns error"));
    if let Some(cause) = tls {
        (cause, format!("TLS handshake with {url} failed: {chain}"))
    } else if e.is_connect() && dns {
        (
            Cause::Dns,
            format!("cannot resolve the host of {url}: {chain}"),
        )
    } else if e.is_connect() {
        (
            io.unwrap_or(Cause::TransportLost),
            format!("could not connect to {url}: {chain}"),
        )
    } else if e.is_redirect() {
        (
            Cause::HandshakeRejected,
            format!("too many redirects from {url}: {chain}"),
        )
    } else if e.is_timeout() {
        (Cause::ConnectTimeout, format!("{url} timed out: {chain}"))
    } else {
        (
            Cause::TransportLost,
            format!("request to {url} failed: {chain}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_essence_is_matched_loosely() {
        assert!(is_event_stream("text/event-stream"));
        assert!(is_event_stream("Text/Event-Stream; charset=utf-8"));
        assert!(!is_event_stream("text/plain"));
        assert!(!is_event_stream(""));
    }

    #[test]
    fn coded_bytes_are_shared_by_decoded_size_and_none_is_lost() {
        let mut c = CodedShare::default();
        // One flush carried two items of 30 and 10 decoded bytes and the start of a third.
        c.add(50, 50);
        assert_eq!(c.take(30), 30);
        assert_eq!(c.take(10), 10);
        // The third item ends in the next flush: its share is what is left of the first
        // and all of the second.
        c.add(9, 20);
        assert_eq!(c.take(30), 19);
        assert_eq!((c.wire, c.decoded), (0, 0));
        // More asked than decoded (never, but): what there is.
        c.add(5, 4);
        assert_eq!(c.take(10), 5);
        assert_eq!(c.take(1), 0);
    }
}
