//! The WebSocket relay: the app's opening handshake goes to the upstream with its own
//! key, cookies, subprotocols and extension offer (only `Host` is the upstream's), the
//! upstream's answer goes back to the app as it came, and after `101` the bytes are
//! relayed unchanged both ways. A [`Watcher`] on each direction reads frames from a copy
//! of the bytes and makes records of them: messages put together from their fragments,
//! inflated with that direction's own context when permessage-deflate was agreed.
//!
//! The watcher only reads. A frame it cannot read (bad UTF-8, a message past the limit,
//! a compressed frame with no extension it knows) gives one `error` record and stops the
//! reading of that direction; the relaying goes on, since the two ends agreed on what
//! they speak.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use streamscope_engine::conn::deflate::{self, InflateError, Inflater};
use streamscope_engine::conn::{Emitter, SinkClosed, Transport};
use streamscope_engine::tls::Alpn;
use streamscope_engine::{Body, Cause, Command, Dir, Headers, Outcome, Proto};
use streamscope_model::record::{Handshake, Wire, WireFrame};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;
use tokio_tungstenite::tungstenite::protocol::frame::coding::OpCode;
use tokio_util::sync::CancellationToken;
use url::{Position, Url};

use crate::listen::{RespBody, plain};
use crate::{Ctx, RelayRun};

/// The largest response head accepted from the upstream, as the engine's client.
const MAX_HEAD: usize = 64 << 10;
/// Headers accepted in the upstream's response head.
const MAX_HEADERS: usize = 128;
/// Bytes read per direction at a time: many small frames per read in a firehose.
const READ_CHUNK: usize = 64 << 10;
/// The largest message (and frame) a watcher puts together, as the engine's client:
/// above real feeds, below what hurts a desktop. Larger ones are relayed, not recorded.
const MAX_MESSAGE: usize = streamscope_engine::conn::ws::DEFAULT_MAX_MESSAGE;
/// Frames listed on one message's record, as the client lists them.
const MAX_FRAME_LIST: usize = 256;
/// How long the other side may stay open after one side ended: RFC 6455 §7.1.1 has the
/// server close TCP first, but one that never does must not hold a relay.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// The most of a refused handshake's body passed back to the app.
const MAX_REFUSAL_BODY: usize = 1 << 20;

/// Relays one WebSocket upgrade request of the app to `target`.
pub(crate) async fn relay(
    mut req: Request<Incoming>,
    ctx: Arc<Ctx>,
    peer: SocketAddr,
    target: Url,
    cancel: CancellationToken,
) -> Response<RespBody> {
    let name = ctx.name(peer, &target);
    let on_upgrade = hyper::upgrade::on(&mut req);
    let head = request_head(&req, &target);
    let connect_timeout = streamscope_engine::conn::DEFAULT_CONNECT_TIMEOUT;
    let opened = tokio::time::timeout(connect_timeout, async {
        let mut stream = streamscope_engine::conn::connect(&target, &ctx.tls, Alpn::None).await?;
        stream.write_all(&head).await.map_err(|e| {
            error(
                Cause::TransportLost,
                format!("connection to {target} failed while sending the handshake: {e}"),
            )
        })?;
        let answer = read_head(&mut stream, &target).await?;
        Ok::<_, Body>((stream, answer))
    })
    .await
    .unwrap_or_else(|_| {
        Err(error(
            Cause::ConnectTimeout,
            format!(
                "no answer from {target} within {} s",
                connect_timeout.as_secs()
            ),
        ))
    });
    let (stream, answer) = match opened {
        Ok(o) => o,
        Err(body) => return failed(&ctx, target, name, body),
    };
    if answer.status != 101 {
        return refused(&ctx, target, name, stream, answer).await;
    }
    let extensions = lookup(&answer.headers, "sec-websocket-extensions")
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_owned);
    let deflate = extensions.as_deref().map(deflate::accept);
    let subprotocol =
        lookup(&answer.headers, "sec-websocket-protocol").map(|p| p.trim().to_owned());
    let mut resp = Response::new(empty());
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    for (k, v) in &answer.raw {
        if let (Ok(k), Ok(v)) = (
            http::HeaderName::from_bytes(k.as_bytes()),
            http::HeaderValue::from_bytes(v),
        ) {
            resp.headers_mut().append(k, v);
        }
    }
    let open = Body::Open {
        status: 101,
        headers: answer.headers.clone(),
        subprotocol,
    };
    let wire = Wire {
        handshake: Some(Handshake {
            request_size: head.len() as u64,
            response_size: answer.head_len as u64,
            extensions,
        }),
        ..Wire::default()
    };
    let leftover = answer.leftover;
    let run: RelayRun = Box::new(move |mut em, commands, conn_cancel| {
        Box::pin(async move {
            em.emit_wire(Dir::Meta, open, wire).await?;
            let params = match deflate {
                None => None,
                Some(Ok(p)) => Some(p),
                Some(Err(why)) => {
                    em.error(
                        Cause::ProtocolViolation,
                        format!(
                            "the endpoint agreed to extensions the tap cannot read ({why}): frames are relayed, messages not recorded"
                        ),
                    )
                    .await?;
                    // Read as if deflate were agreed: compressed frames then fail to
                    // inflate rather than show as gibberish.
                    Some(deflate::Params::default())
                }
            };
            let client = match on_upgrade.await {
                Ok(u) => TokioIo::new(u),
                Err(e) => {
                    em.error(
                        Cause::TransportLost,
                        format!("the app went away before the upgrade completed: {e}"),
                    )
                    .await?;
                    return Ok(Outcome::Failed);
                }
            };
            pump(
                &mut em,
                client,
                stream,
                leftover,
                params,
                commands,
                conn_cancel,
                cancel,
            )
            .await
        })
    });
    ctx.conns.open(Proto::Ws, target.to_string(), name, run);
    ctx.stats.recorded.fetch_add(1, Ordering::Relaxed);
    resp
}

/// Records a relay that failed before it began (no upstream, no answer) and tells the
/// app with a 502.
fn failed(ctx: &Ctx, target: Url, name: String, body: Body) -> Response<RespBody> {
    let message = match &body {
        Body::Error { message, .. } => message.clone(),
        _ => "the upstream failed".to_owned(),
    };
    ctx.record_failure(Proto::Ws, &target, name, body);
    ctx.stats.failed.fetch_add(1, Ordering::Relaxed);
    plain(StatusCode::BAD_GATEWAY, &message)
}

/// The upstream answered, but not with 101: the app gets that answer (status, headers,
/// body), and the recording one `error` record with the status, as the client records a
/// refused handshake.
async fn refused(
    ctx: &Ctx,
    target: Url,
    name: String,
    mut stream: Transport,
    answer: Answer,
) -> Response<RespBody> {
    let mut body = answer.leftover;
    let length =
        lookup(&answer.headers, "content-length").and_then(|v| v.trim().parse::<usize>().ok());
    if let Some(length) = length.filter(|&l| l <= MAX_REFUSAL_BODY) {
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            let mut chunk = vec![0u8; 8192];
            while body.len() < length {
                match stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => body.extend_from_slice(&chunk[..n]),
                }
            }
        })
        .await;
        body.truncate(length);
    }
    let first_line = String::from_utf8_lossy(&body)
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(|l| l.chars().take(200).collect::<String>());
    let mut message = format!(
        "handshake rejected: {} {} from {target}",
        answer.status, answer.reason
    )
    .trim_end()
    .to_owned();
    if let Some(line) = first_line {
        message.push_str(": ");
        message.push_str(&line);
    }
    let record = Body::Error {
        message,
        cause: Some(Cause::HandshakeRejected),
        status: Some(answer.status),
        headers: Some(answer.headers.clone()),
    };
    ctx.record_failure(Proto::Ws, &target, name, record);
    ctx.stats.recorded.fetch_add(1, Ordering::Relaxed);
    let mut resp = Response::new(
        http_body_util::Full::new(Bytes::from(body))
            .map_err(|never| match never {})
            .boxed(),
    );
    *resp.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY);
    for (k, v) in &answer.raw {
        if matches!(
            k.to_ascii_lowercase().as_str(),
            "connection" | "transfer-encoding" | "content-length" | "keep-alive" | "upgrade"
        ) {
            continue;
        }
        if let (Ok(k), Ok(v)) = (
            http::HeaderName::from_bytes(k.as_bytes()),
            http::HeaderValue::from_bytes(v),
        ) {
            resp.headers_mut().append(k, v);
        }
    }
    resp
}

fn empty() -> RespBody {
    http_body_util::Empty::new()
        .map_err(|never| match never {})
        .boxed()
}

fn error(cause: Cause, message: String) -> Body {
    Body::Error {
        message,
        cause: Some(cause),
        status: None,
        headers: None,
    }
}

/// The app's request head, for the upstream: its request line and headers as they came
/// (key, cookies, subprotocols, extension offer, origin), `Host` the upstream's.
fn request_head(req: &Request<Incoming>, target: &Url) -> Vec<u8> {
    let mut head = Vec::with_capacity(512);
    head.extend_from_slice(b"GET ");
    head.extend_from_slice(target[Position::BeforePath..Position::AfterQuery].as_bytes());
    head.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    head.extend_from_slice(target[Position::BeforeHost..Position::AfterPort].as_bytes());
    head.extend_from_slice(b"\r\n");
    for (k, v) in req.headers() {
        // The proxy's own headers (an absolute-form upgrade through the proxy) are for
        // this hop only.
        if k == http::header::HOST
            || k == http::header::PROXY_AUTHORIZATION
            || k.as_str() == "proxy-connection"
        {
            continue;
        }
        head.extend_from_slice(k.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(v.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    head
}

/// The upstream's answer to the handshake.
struct Answer {
    status: u16,
    reason: String,
    /// Lower-case names, repeated ones joined with `, ` (the record's form).
    headers: Headers,
    /// As sent, in order: what the app gets.
    raw: Vec<(String, Vec<u8>)>,
    head_len: usize,
    /// Bytes read past the head: the first frames (or the refusal's body).
    leftover: Vec<u8>,
}

fn lookup<'a>(headers: &'a Headers, name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

async fn read_head(stream: &mut Transport, target: &Url) -> Result<Answer, Body> {
    let mut buf = Vec::with_capacity(1024);
    let head_len = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        if buf.len() > MAX_HEAD {
            return Err(error(
                Cause::TooBig,
                format!(
                    "{target} sent a response head longer than {} KiB",
                    MAX_HEAD >> 10
                ),
            ));
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.map_err(|e| {
            error(
                Cause::TransportLost,
                format!("connection to {target} failed during the handshake: {e}"),
            )
        })?;
        if n == 0 {
            return Err(error(
                Cause::TransportLost,
                format!("{target} closed the connection without answering the handshake"),
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let mut parsed = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut parsed);
    match response.parse(&buf[..head_len]) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => {
            return Err(error(
                Cause::ProtocolViolation,
                format!("{target} did not answer with HTTP"),
            ));
        }
    }
    let mut headers: Headers = Vec::new();
    let mut raw = Vec::new();
    for h in response.headers.iter() {
        let name = h.name.to_ascii_lowercase();
        let value = String::from_utf8_lossy(h.value).into_owned();
        match headers.iter_mut().find(|(k, _)| *k == name) {
            Some((_, v)) => {
                v.push_str(", ");
                v.push_str(&value);
            }
            None => headers.push((name, value)),
        }
        raw.push((h.name.to_owned(), h.value.to_vec()));
    }
    Ok(Answer {
        status: response.code.unwrap_or(0),
        reason: response.reason.unwrap_or("").to_owned(),
        headers,
        raw,
        head_len,
        leftover: buf[head_len..].to_vec(),
    })
}

/// Who sent a direction's frames, in messages.
fn who(dir: Dir) -> &'static str {
    if dir == Dir::Out {
        "the app"
    } else {
        "the endpoint"
    }
}

/// Relays bytes both ways until both sides have ended, recording what the watchers read.
#[allow(clippy::too_many_arguments)] // one call site; a struct would only rename them
async fn pump(
    em: &mut Emitter,
    client: TokioIo<hyper::upgrade::Upgraded>,
    upstream: Transport,
    leftover: Vec<u8>,
    params: Option<deflate::Params>,
    mut commands: mpsc::Receiver<Command>,
    conn_cancel: CancellationToken,
    tap_cancel: CancellationToken,
) -> Result<Outcome, SinkClosed> {
    let (mut cr, mut cw) = tokio::io::split(client);
    let (mut ur, mut uw) = tokio::io::split(upstream);
    let mut out = Watcher::new(Dir::Out, params.map(|p| p.client_no_context_takeover));
    let mut inn = Watcher::new(Dir::In, params.map(|p| p.server_no_context_takeover));
    let mut seen = Vec::new();
    if !leftover.is_empty() {
        if let Err(e) = cw.write_all(&leftover).await {
            em.error(
                Cause::TransportLost,
                format!("connection to the app lost: {e}"),
            )
            .await?;
            return Ok(Outcome::Failed);
        }
        inn.feed(&leftover, &mut seen);
        emit_all(em, &mut seen).await?;
    }
    let mut cbuf = vec![0u8; READ_CHUNK];
    let mut ubuf = vec![0u8; READ_CHUNK];
    let (mut app_open, mut up_open, mut commands_open) = (true, true, true);
    let mut grace: Option<tokio::time::Instant> = None;
    let mut failed = false;
    while app_open || up_open {
        tokio::select! {
            r = cr.read(&mut cbuf), if app_open => match r {
                Ok(0) => {
                    app_open = false;
                    let _ = uw.shutdown().await;
                    if !out.closed {
                        em.error(Cause::TransportLost, "the app closed the connection without a close frame (1006)").await?;
                        failed = true;
                        break;
                    }
                    grace.get_or_insert_with(|| tokio::time::Instant::now() + CLOSE_GRACE);
                }
                Ok(n) => {
                    let sent = uw.write_all(&cbuf[..n]).await;
                    out.feed(&cbuf[..n], &mut seen);
                    emit_all(em, &mut seen).await?;
                    if let Err(e) = sent {
                        em.error(Cause::TransportLost, format!("connection to the endpoint lost while relaying the app's frames: {e}")).await?;
                        failed = true;
                        break;
                    }
                }
                Err(e) => {
                    em.error(Cause::TransportLost, format!("the app closed the connection without a close frame (1006): {e}")).await?;
                    failed = true;
                    break;
                }
            },
            r = ur.read(&mut ubuf), if up_open => match r {
                Ok(0) => {
                    up_open = false;
                    let _ = cw.shutdown().await;
                    if !inn.closed {
                        em.error(Cause::TransportLost, "the endpoint closed the connection without a close frame (1006)").await?;
                        failed = true;
                        break;
                    }
                    grace.get_or_insert_with(|| tokio::time::Instant::now() + CLOSE_GRACE);
                }
                Ok(n) => {
                    let sent = cw.write_all(&ubuf[..n]).await;
                    inn.feed(&ubuf[..n], &mut seen);
                    emit_all(em, &mut seen).await?;
                    if let Err(e) = sent {
                        em.error(Cause::TransportLost, format!("connection to the app lost while relaying the endpoint's frames: {e}")).await?;
                        failed = true;
                        break;
                    }
                }
                Err(e) => {
                    em.error(Cause::TransportLost, format!("the endpoint closed the connection without a close frame (1006): {e}")).await?;
                    failed = true;
                    break;
                }
            },
            cmd = commands.recv(), if commands_open => match cmd {
                Some(Command::Close { .. }) => {
                    em.error(Cause::TransportLost, "closed from Streamscope: both sides of the relay were disconnected").await?;
                    return Ok(Outcome::Completed);
                }
                // The session refuses every other command for a relay.
                Some(_) => {}
                None => commands_open = false,
            },
            () = sleep_until_opt(grace) => break,
            () = conn_cancel.cancelled() => return Ok(Outcome::Cancelled),
            () = tap_cancel.cancelled() => {
                em.error(Cause::TransportLost, "the tap stopped: both sides of the relay were disconnected").await?;
                return Ok(Outcome::Failed);
            }
        }
    }
    Ok(if failed {
        Outcome::Failed
    } else {
        Outcome::Completed
    })
}

async fn sleep_until_opt(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn emit_all(em: &mut Emitter, seen: &mut Vec<Seen>) -> Result<(), SinkClosed> {
    for s in seen.drain(..) {
        match s {
            Seen::Frame(dir, body, wire) => em.emit_wire(dir, body, wire).await?,
            Seen::Problem(cause, message) => em.error(cause, message).await?,
        }
    }
    Ok(())
}

/// What a watcher read.
#[derive(Debug, PartialEq)]
pub(crate) enum Seen {
    /// A message or control frame, as the record says it.
    Frame(Dir, Body, Wire),
    /// Why the watcher stopped reading this direction.
    Problem(Cause, String),
}

/// A data message whose frames are still coming.
#[derive(Debug)]
struct Partial {
    text: bool,
    compressed: bool,
    data: Vec<u8>,
    wire: Wire,
}

/// Reads one direction's frames from a copy of its bytes (RFC 6455 §5), never writing.
#[derive(Debug)]
pub(crate) struct Watcher {
    dir: Dir,
    buf: BytesMut,
    partial: Option<Partial>,
    /// Present when permessage-deflate was agreed: this direction's own context.
    inflater: Option<Inflater>,
    /// This direction's close frame has passed.
    pub(crate) closed: bool,
    /// A frame could not be read: nothing more is.
    stopped: bool,
}

impl Watcher {
    /// `deflate`: `Some(no_context_takeover)` of this direction's sender when
    /// permessage-deflate was agreed.
    pub(crate) fn new(dir: Dir, deflate: Option<bool>) -> Self {
        Watcher {
            dir,
            buf: BytesMut::new(),
            partial: None,
            inflater: deflate.map(Inflater::new),
            closed: false,
            stopped: false,
        }
    }

    /// Reads whatever whole frames `bytes` completes, appending to `out`.
    pub(crate) fn feed(&mut self, bytes: &[u8], out: &mut Vec<Seen>) {
        if self.stopped {
            return;
        }
        self.buf.extend_from_slice(bytes);
        while let Some(seen) = self.next() {
            let stop = matches!(seen, Seen::Problem(..));
            out.push(seen);
            if stop {
                self.stopped = true;
                self.buf = BytesMut::new();
                self.partial = None;
                return;
            }
        }
    }

    fn problem(&self, cause: Cause, what: impl std::fmt::Display) -> Option<Seen> {
        Some(Seen::Problem(
            cause,
            format!(
                "{} {what}; its frames are still relayed, not recorded",
                who(self.dir)
            ),
        ))
    }

    /// The next record from the buffer, `None` when more bytes are needed.
    fn next(&mut self) -> Option<Seen> {
        loop {
            let mut cursor = std::io::Cursor::new(&self.buf[..]);
            let (head, len) = match FrameHeader::parse(&mut cursor) {
                Ok(Some(parsed)) => parsed,
                Ok(None) => return None,
                Err(e) => {
                    return self.problem(
                        Cause::ProtocolViolation,
                        format!("sent a frame that is not WebSocket ({e})"),
                    );
                }
            };
            let head_len = usize::try_from(cursor.position()).unwrap_or(usize::MAX);
            if len > MAX_MESSAGE as u64 {
                return self.problem(
                    Cause::TooBig,
                    format!(
                        "sent a frame of {len} bytes, past the {MAX_MESSAGE} bytes the tap records"
                    ),
                );
            }
            let total = head_len + len as usize;
            if self.buf.len() < total {
                self.buf.reserve(total - self.buf.len());
                return None;
            }
            let _ = self.buf.split_to(head_len);
            let mut payload = self.buf.split_to(len as usize);
            if let Some(mask) = head.mask {
                for (i, b) in payload.iter_mut().enumerate() {
                    *b ^= mask[i % 4];
                }
            }
            let payload = payload.freeze();
            let opcode = u8::from(head.opcode);
            let frame = WireFrame {
                fin: head.is_final,
                opcode,
                rsv1: head.rsv1,
                masked: head.mask.is_some(),
                len,
            };
            if matches!(head.opcode, OpCode::Control(_)) {
                return self.control(opcode, payload, total as u64);
            }
            if let Some(seen) = self.data(frame, payload, total as u64) {
                return Some(seen);
            }
        }
    }

    fn control(&mut self, opcode: u8, payload: Bytes, bytes: u64) -> Option<Seen> {
        let body = match opcode {
            0x9 => Body::Ping(payload),
            0xA => Body::Pong(payload),
            0x8 => {
                self.closed = true;
                if payload.len() >= 2 {
                    Body::Close {
                        code: Some(u16::from_be_bytes([payload[0], payload[1]])),
                        reason: String::from_utf8_lossy(&payload[2..]).into_owned(),
                    }
                } else {
                    Body::Close {
                        code: None,
                        reason: String::new(),
                    }
                }
            }
            other => {
                return self.problem(
                    Cause::ProtocolViolation,
                    format!("sent an unknown control opcode {other}"),
                );
            }
        };
        Some(Seen::Frame(self.dir, body, Wire::frame(bytes, None)))
    }

    fn data(&mut self, frame: WireFrame, payload: Bytes, bytes: u64) -> Option<Seen> {
        let mut partial = match (frame.opcode, self.partial.take()) {
            (1 | 2, None) => Partial {
                text: frame.opcode == 1,
                compressed: frame.rsv1,
                data: Vec::new(),
                wire: Wire {
                    compressed_size: frame.rsv1.then_some(0),
                    ..Wire::default()
                },
            },
            (0, Some(p)) => p,
            (1 | 2, Some(_)) => {
                return self.problem(
                    Cause::ProtocolViolation,
                    "began a message before the last one's final frame (RFC 6455 5.4)",
                );
            }
            (0, None) => {
                return self.problem(
                    Cause::ProtocolViolation,
                    "sent a continuation frame with no message to continue (RFC 6455 5.4)",
                );
            }
            (other, _) => {
                return self.problem(
                    Cause::ProtocolViolation,
                    format!("sent an unknown data opcode {other}"),
                );
            }
        };
        partial.wire.bytes += bytes;
        partial.wire.frames = partial.wire.frames.saturating_add(1);
        if partial.wire.frame_list.len() < MAX_FRAME_LIST {
            partial.wire.frame_list.push(frame);
        }
        if partial.compressed {
            if let Some(c) = partial.wire.compressed_size.as_mut() {
                *c += payload.len() as u64;
            }
            let Some(inflater) = self.inflater.as_mut() else {
                return self.problem(
                    Cause::ProtocolViolation,
                    "sent a compressed frame (RSV1) without an extension agreed",
                );
            };
            match inflater.inflate(&payload, frame.fin, &mut partial.data, MAX_MESSAGE) {
                Ok(()) => {}
                Err(InflateError::TooBig) => {
                    return self.problem(
                        Cause::TooBig,
                        format!("sent a message that inflates past the {MAX_MESSAGE} bytes the tap records"),
                    );
                }
                Err(InflateError::Corrupt(why)) => {
                    return self.problem(
                        Cause::ProtocolViolation,
                        format!("sent a compressed message that does not inflate ({why})"),
                    );
                }
            }
        } else {
            if partial.data.len() + payload.len() > MAX_MESSAGE {
                return self.problem(
                    Cause::TooBig,
                    format!("sent a message past the {MAX_MESSAGE} bytes the tap records"),
                );
            }
            partial.data.extend_from_slice(&payload);
        }
        if !frame.fin {
            self.partial = Some(partial);
            return None;
        }
        let mut wire = partial.wire;
        if wire.frames == 1 {
            // One frame says nothing `frames` and the kind do not (as the client records).
            wire.frame_list.clear();
        }
        let body = if partial.text {
            match String::from_utf8(partial.data) {
                Ok(text) => Body::Text(text),
                Err(_) => {
                    return self.problem(
                        Cause::ProtocolViolation,
                        "sent a text message that is not valid UTF-8",
                    );
                }
            }
        } else {
            Body::Binary(Bytes::from(partial.data))
        };
        Some(Seen::Frame(self.dir, body, wire))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(fin: bool, opcode: u8, rsv1: bool, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![(u8::from(fin) << 7) | (u8::from(rsv1) << 6) | opcode];
        let m = if mask.is_some() { 0x80 } else { 0 };
        if payload.len() < 126 {
            out.push(m | payload.len() as u8);
        } else {
            out.push(m | 126);
            out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        }
        match mask {
            Some(k) => {
                out.extend_from_slice(&k);
                out.extend(payload.iter().enumerate().map(|(i, b)| b ^ k[i % 4]));
            }
            None => out.extend_from_slice(payload),
        }
        out
    }

    #[test]
    fn masked_fragments_fed_byte_by_byte_make_one_message_with_its_frames() {
        let mut bytes = frame(false, 1, false, Some([1, 2, 3, 4]), b"hel");
        bytes.extend(frame(true, 0x9, false, Some([9, 9, 9, 9]), b"p"));
        bytes.extend(frame(true, 0, false, Some([5, 6, 7, 8]), b"lo"));
        let mut w = Watcher::new(Dir::Out, None);
        let mut seen = Vec::new();
        for b in &bytes {
            w.feed(std::slice::from_ref(b), &mut seen);
        }
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert!(matches!(&seen[0], Seen::Frame(Dir::Out, Body::Ping(p), _) if &p[..] == b"p"));
        let Seen::Frame(Dir::Out, Body::Text(t), wire) = &seen[1] else {
            panic!("{seen:?}")
        };
        assert_eq!(t, "hello");
        assert_eq!(wire.frames, 2);
        assert_eq!(wire.bytes, (2 + 4 + 3) + (2 + 4 + 2));
        assert!(wire.frame_list.iter().all(|f| f.masked));
    }

    #[test]
    fn a_frame_past_the_limit_is_one_problem_before_its_payload_is_held() {
        let mut w = Watcher::new(Dir::In, None);
        let mut seen = Vec::new();
        // A binary frame that says it carries 2^40 bytes: refused from its header.
        let mut head = vec![0x82, 127];
        head.extend_from_slice(&(1u64 << 40).to_be_bytes());
        w.feed(&head, &mut seen);
        assert_eq!(seen.len(), 1);
        assert!(
            matches!(&seen[0], Seen::Problem(Cause::TooBig, m) if m.contains("the endpoint sent a frame of"))
        );
        assert!(w.buf.capacity() < 1 << 20, "nothing reserved for it");
    }

    #[test]
    fn compressed_messages_inflate_per_direction_with_and_without_context_takeover() {
        // What a peer sends with permessage-deflate: raw DEFLATE, sync-flushed, tail cut.
        fn compress(c: &mut flate2::Compress, text: &[u8]) -> Vec<u8> {
            let mut out = Vec::with_capacity(text.len() + 64);
            c.compress_vec(text, &mut out, flate2::FlushCompress::Sync)
                .expect("compresses");
            assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
            out.truncate(out.len() - 4);
            out
        }
        for takeover in [true, false] {
            let mut c = flate2::Compress::new(flate2::Compression::fast(), false);
            let mut w = Watcher::new(Dir::In, Some(!takeover));
            let mut seen = Vec::new();
            for _ in 0..3 {
                if !takeover {
                    c.reset();
                }
                let payload = compress(&mut c, b"the same words, the same words");
                w.feed(&frame(true, 1, true, None, &payload), &mut seen);
            }
            let texts: Vec<_> = seen
                .iter()
                .map(|s| match s {
                    Seen::Frame(_, Body::Text(t), wire) => {
                        assert!(wire.compressed_size.is_some());
                        t.as_str()
                    }
                    other => panic!("{other:?}"),
                })
                .collect();
            assert_eq!(
                texts, ["the same words, the same words"; 3],
                "takeover {takeover}"
            );
        }
    }

    #[test]
    fn bad_text_stops_the_reading_of_that_direction_with_one_problem() {
        let mut w = Watcher::new(Dir::In, None);
        let mut seen = Vec::new();
        let mut bytes = frame(true, 1, false, None, &[0xff]);
        bytes.extend(frame(true, 1, false, None, b"later"));
        w.feed(&bytes, &mut seen);
        assert_eq!(seen.len(), 1);
        assert!(
            matches!(&seen[0], Seen::Problem(Cause::ProtocolViolation, m) if m.starts_with("the endpoint sent a text message"))
        );
        w.feed(&frame(true, 1, false, None, b"more"), &mut seen);
        assert_eq!(seen.len(), 1);
    }
}
