//! An SSE connection task: our own HTTP/1.1 exchange (`http1`), our parser, and
//! reconnection as a browser's `EventSource` does it.
//!
//! It owns the request (method, body, `Accept`, `Cache-Control`, `Last-Event-ID`), the
//! redirects (followed as `fetch` follows them), the response checks (200 and
//! `text/event-stream`, 204 means stop), the read loop, and the reconnect state machine
//! with its `end`, `error` and `reconnect` records. One connection keeps one `conn` and
//! one `seq` across reconnections.

use std::time::Duration;

use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use url::Url;

/// The HTTP method of an SSE request.
pub use http::Method;

use super::handshake::{self, ResponseHead, Transport};
use super::http1::{BodyError, BodyReader, Framing};
use super::inflate::{Inflate, InflateError};
use super::{
    Command, CommonOptions, Emitter, Outcome, SinkClosed, count_not_reached, error_body, secs,
    sleep_until_opt,
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
    let tls = match tls_config(opts).await {
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
        tls,
        parser: Parser::new(opts.limits),
        retry: opts.retry,
        ever_opened: false,
        items: Vec::new(),
        coded: CodedShare::default(),
        framing: 0,
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
    tls: Arc<rustls::ClientConfig>,
    parser: Parser,
    /// The reconnection time in force (the spec's "reconnection time").
    retry: Duration,
    ever_opened: bool,
    /// Items of the chunk being handled; reused to avoid an allocation per chunk.
    items: Vec<(Item, u64)>,
    /// The content-coded bytes not yet shared out among items (gzip streams).
    coded: CodedShare,
    /// Chunked-framing bytes read before data that no item has taken yet: the next item
    /// parsed takes them all.
    framing: u64,
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
        let exchange = self.exchange();
        let response = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Ok(Round::Done(Outcome::Cancelled)),
            _ = sleep_until_opt(opts.common.deadline) => {
                return Ok(Round::Done(deadline_outcome(opts, em).await?));
            }
            r = tokio::time::timeout(opts.common.connect_timeout, exchange) => r,
        };
        let response = match response {
            Ok(Ok(r)) => r,
            Ok(Err(body)) => {
                em.emit(Dir::Meta, body).await?;
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
        let Response {
            stream,
            head:
                ResponseHead {
                    status,
                    reason,
                    headers,
                    leftover,
                    ..
                },
        } = response;
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.to_owned())
        };
        let content_encoding = header("content-encoding");
        // WHATWG: 204 No Content tells the client to stop reconnecting.
        if status == 204 {
            em.emit(Dir::Meta, Body::End).await?;
            return Ok(Round::Done(Outcome::Completed));
        }
        // WHATWG: any other status than 200, or another Content-Type, fails the
        // connection for good.
        if status != 200 {
            let line = match Framing::of(status, &headers) {
                Ok(framing) => {
                    let reader = BodyReader::new(stream, leftover, framing);
                    first_body_line(reader, content_encoding.as_deref()).await
                }
                Err(_) => None,
            };
            let reason = http::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .map(str::to_owned)
                .or_else(|| Some(reason.trim().to_owned()).filter(|r| !r.is_empty()))
                .map(|r| format!(" {r}"))
                .unwrap_or_default();
            let mut message = format!("server answered {status}{reason} from {}", opts.url);
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
                    status: Some(status),
                    headers: Some(headers),
                },
            )
            .await?;
            return Ok(Round::Done(Outcome::Failed));
        }
        let content_type = header("content-type").unwrap_or_default();
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

        let framing = match Framing::of(status, &headers) {
            Ok(f) => f,
            Err(why) => {
                em.emit(
                    Dir::Meta,
                    Body::Error {
                        message: format!("{} answered 200, but {why}; not reconnecting", opts.url),
                        cause: Some(Cause::ProtocolViolation),
                        status: Some(200),
                        headers: Some(headers),
                    },
                )
                .await?;
                return Ok(Round::Done(Outcome::Failed));
            }
        };

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

        let mut inflate = Inflate::for_encoding(content_encoding.as_deref());
        let mut body = BodyReader::new(stream, leftover, framing);
        let chunked = body.is_chunked();
        self.framing = 0;
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
                read = body.next() => match read {
                    Ok(Some(pieces)) => {
                        if let Some(d) = opts.idle_timeout {
                            idle_deadline = Some(Instant::now() + d);
                        }
                        for piece in pieces {
                            self.framing += piece.framing;
                            if piece.data.is_empty() {
                                continue;
                            }
                            inflate.push(Bytes::from(piece.data));
                            loop {
                                match inflate.pull() {
                                    Ok(Some(data)) => {
                                        let coded = inflate.take_wire();
                                        if let Some(outcome) = self.chunk(&data, coded, chunked, em).await? {
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
                    }
                    Err(BodyError::Framing(why)) => {
                        // Framing that does not parse is the server's fault, and the same
                        // again on a reconnection: fail for good.
                        em.error(
                            Cause::ProtocolViolation,
                            format!("{} sent a malformed chunked body: {why}", opts.url),
                        )
                        .await?;
                        return Ok(Round::Done(Outcome::Failed));
                    }
                    Err(e) => {
                        em.error(Cause::TransportLost, format!("the stream broke: {e}")).await?;
                        return Ok(Round::Broken { opened: true });
                    }
                    Ok(None) => {
                        // WHATWG: an unfinished event at the end of the stream is dropped.
                        em.emit(Dir::Meta, Body::End).await?;
                        return Ok(Round::Ended);
                    }
                },
            }
        }
    }
    /// Parses one chunk and records its items. `coded`: the content-coded bytes it was
    /// decoded from, if it was; `chunked`: whether the body has chunked framing, whose
    /// bytes read so far the first item takes. `Some` ends the run.
    async fn chunk(
        &mut self,
        bytes: &[u8],
        coded: Option<u64>,
        chunked: bool,
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
                framing_bytes: chunked.then(|| std::mem::take(&mut self.framing)),
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

    /// The request's headers, ours first, then the user's: a user header replaces ours of
    /// the same name (say `Accept` or `Host`); repeats of a user header add up.
    fn request_headers(&self) -> Vec<(String, String)> {
        let opts = self.opts;
        let mut ours: Vec<(String, String)> = vec![
            (
                "User-Agent".into(),
                concat!("sscope/", env!("CARGO_PKG_VERSION")).into(),
            ),
            ("Accept".into(), "text/event-stream".into()),
            ("Cache-Control".into(), "no-store".into()),
            // The codings the client decodes itself (conn/inflate.rs), so it can bound how
            // far a body inflates and count the bytes on the wire.
            (
                "Accept-Encoding".into(),
                super::inflate::ACCEPT_ENCODING.into(),
            ),
        ];
        if let Some(id) = self.parser.last_event_id().filter(|id| !id.is_empty()) {
            // An id that cannot be a header value (a control character) is not sent,
            // as a browser would not send it either.
            if HeaderValue::from_str(id).is_ok() {
                ours.push(("Last-Event-ID".into(), id.to_owned()));
            }
        }
        if let Some(body) = &opts.body {
            let json = serde_json::from_str::<serde_json::Value>(body).is_ok();
            let ct = if json {
                "application/json"
            } else {
                "text/plain; charset=utf-8"
            };
            ours.push(("Content-Type".into(), ct.into()));
        }
        if !opts.url.username().is_empty() {
            // Credentials in the URL, as a browser and reqwest send them: Basic auth.
            let user = handshake::percent_decode(opts.url.username());
            let pass = opts
                .url
                .password()
                .map(handshake::percent_decode)
                .unwrap_or_default();
            let cred = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
            ours.push(("Authorization".into(), format!("Basic {cred}")));
        }
        // Only names and values HTTP allows (no CR or LF can split the head).
        let user: Vec<(String, String)> = opts
            .common
            .headers
            .iter()
            .filter(|(name, value)| {
                HeaderName::from_bytes(name.as_bytes()).is_ok()
                    && HeaderValue::from_str(value).is_ok()
            })
            .cloned()
            .collect();
        ours.retain(|(name, _)| !user.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)));
        ours.extend(user);
        ours
    }

    /// Sends the request and reads the response head, following redirects as `fetch`
    /// does. Returns the `error` record's body when anything fails.
    async fn exchange(&self) -> Result<Response, Body> {
        let opts = self.opts;
        let mut url = opts.url.clone();
        let mut method = opts.method.clone();
        let mut body = opts.body.clone();
        let mut headers = self.request_headers();
        let mut redirects = 0;
        loop {
            let mut stream = handshake::connect_with(&url, &self.tls).await?;
            let request = request_bytes(&method, &url, &headers, body.as_deref());
            let send_failed = |e: std::io::Error| {
                error_body(
                    Cause::TransportLost,
                    format!("connection to {url} failed while sending the request: {e}"),
                )
            };
            stream.write_all(&request).await.map_err(send_failed)?;
            stream.flush().await.map_err(send_failed)?;
            let head = loop {
                let head = handshake::read_head(&mut stream, &url, "the request").await?;
                // An interim response (100 Continue, 103 Early Hints): the real one follows.
                if (100..200).contains(&head.status) && head.status != 101 {
                    continue;
                }
                break head;
            };
            let location = head
                .headers
                .iter()
                .find(|(k, _)| k == "location")
                .map(|(_, v)| v.clone());
            let Some(location) = location.filter(|_| is_redirect(head.status)) else {
                return Ok(Response { stream, head });
            };
            let next = url.join(&location).map_err(|e| {
                error_body(
                    Cause::ProtocolViolation,
                    format!(
                        "{url} redirected ({}) to {location:?}, which is not a URL: {e}",
                        head.status
                    ),
                )
            })?;
            if !matches!(next.scheme(), "http" | "https") {
                return Err(error_body(
                    Cause::HandshakeRejected,
                    format!(
                        "{url} redirected to {next}, which is not http:// or https://; not following"
                    ),
                ));
            }
            redirects += 1;
            if redirects > MAX_REDIRECTS {
                return Err(Body::Error {
                    message: format!(
                        "too many redirects from {}: more than {MAX_REDIRECTS}, the last to {next}",
                        opts.url
                    ),
                    cause: Some(Cause::HandshakeRejected),
                    status: Some(head.status),
                    headers: Some(head.headers),
                });
            }
            // fetch: 303 turns any method but HEAD into GET; 301 and 302 turn POST into
            // GET. The body and its headers go with the method.
            let to_get = (head.status == 303 && method != Method::HEAD)
                || (matches!(head.status, 301 | 302) && method == Method::POST);
            if to_get {
                method = Method::GET;
                body = None;
                headers.retain(|(n, _)| {
                    !n.eq_ignore_ascii_case("content-type")
                        && !n.eq_ignore_ascii_case("content-length")
                });
            }
            // Credentials are not sent to another origin (as reqwest and fetch do), nor a
            // Host the user set for the first one.
            if !same_origin(&url, &next) {
                headers.retain(|(n, _)| {
                    !n.eq_ignore_ascii_case("host")
                        && !SENSITIVE.iter().any(|s| n.eq_ignore_ascii_case(s))
                });
            }
            url = next;
        }
    }
}

/// Redirects followed, as reqwest's default policy and browsers do.
pub const MAX_REDIRECTS: u32 = 10;

/// Headers dropped on a redirect to another origin.
const SENSITIVE: [&str; 5] = [
    "authorization",
    "cookie",
    "cookie2",
    "proxy-authorization",
    "www-authenticate",
];

fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// A response whose head has been read, and its transport.
struct Response {
    stream: Transport,
    head: ResponseHead,
}

/// The request head (and body): the URL's path and query, `Host` unless the user gave
/// one, the headers, and `Content-Length` for a body (or an empty POST).
fn request_bytes(
    method: &Method,
    url: &Url,
    headers: &[(String, String)],
    body: Option<&str>,
) -> Vec<u8> {
    let mut target = url.path().to_owned();
    if target.is_empty() {
        target.push('/');
    }
    if let Some(q) = url.query() {
        target.push('?');
        target.push_str(q);
    }
    let mut out = format!("{method} {target} HTTP/1.1\r\n").into_bytes();
    let mut line = |name: &str, value: &str| {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    };
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            _ => String::new(),
        };
        line("Host", &host);
    }
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("content-length") {
            continue;
        }
        line(name, value);
    }
    let bodyless = *method == Method::GET || *method == Method::HEAD;
    if body.is_some() || !bodyless {
        line("Content-Length", &body.map_or(0, str::len).to_string());
    }
    out.extend_from_slice(b"\r\n");
    if let Some(body) = body {
        out.extend_from_slice(body.as_bytes());
    }
    out
}

/// The TLS configuration of every connection of the run, HTTP/1.1 only by ALPN.
async fn tls_config(opts: &SseOptions) -> Result<Arc<rustls::ClientConfig>, (Cause, String)> {
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
    tls::client_config(&tls_opts, Alpn::Http1)
        .await
        .map_err(|e| (Cause::TlsOther, e.to_string()))
}

/// `text/event-stream`, with any parameters, in any case.
fn is_event_stream(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("text/event-stream"))
}

/// The first non-empty line of an error response, for the message: bounded in size and
/// time, so a huge or stalled error body cannot hold the run.
async fn first_body_line(mut body: BodyReader, content_encoding: Option<&str>) -> Option<String> {
    const MAX: usize = 4096;
    // An error page may be gzip-encoded too; a bomb here ends the read like its end.
    let mut inflate = Inflate::for_encoding(content_encoding);
    let mut buf = Vec::new();
    let read = async {
        'read: while let Ok(Some(pieces)) = body.next().await {
            for piece in pieces {
                inflate.push(Bytes::from(piece.data));
                while let Ok(Some(data)) = inflate.pull() {
                    buf.extend_from_slice(&data);
                    if buf.len() >= MAX || buf.contains(&b'\n') {
                        break 'read;
                    }
                }
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), read).await;
    handshake::first_line(&buf[..buf.len().min(MAX)], true)
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
