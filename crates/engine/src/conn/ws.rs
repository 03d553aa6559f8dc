//! A WebSocket connection task on tokio-tungstenite.
//!
//! It owns the socket: the handshake, one `select!` loop over the next frame, the
//! command channel, the ping timer and the deadlines, and the close handshake. Every
//! frame that crosses the wire becomes a record in the order it went, including the
//! pongs and close replies tungstenite sends by itself. What tungstenite rewrites on
//! the way in (a close code that may not be sent) is read from the wire by
//! [`super::peer_close`].

use std::time::Duration;

use bytes::Bytes;
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::{Error as WsError, ProtocolError};
use tokio_tungstenite::tungstenite::http::HeaderMap;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Message, Role, WebSocketConfig};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::handshake::{self, Transport};
use super::peer_close::Watched;
use super::{
    Command, CommonOptions, Emitter, Outcome, SinkClosed, count_not_reached, secs, sleep_until_opt,
};
use streamscope_model::Cause;
use streamscope_model::record::{Body, Dir, Headers};

type Socket = WebSocketStream<Watched<Transport>>;

/// Frames handled in a row while more are already buffered, before the timers, the
/// commands and cancellation get a look: large enough to amortise `select!`, small
/// enough that a ping deadline or a close command waits only microseconds.
const DRAIN_BATCH: usize = 64;

/// Everything a WebSocket connection is opened with.
#[derive(Debug, Clone)]
pub struct WsOptions {
    /// A `ws://` or `wss://` URL (checked by [`crate::open::OpenSpec`]).
    pub url: Url,
    pub common: CommonOptions,
    /// Offered in one `Sec-WebSocket-Protocol` header, in order.
    pub subprotocols: Vec<String>,
    /// Messages sent right after `open`, in order.
    pub send: Vec<Command>,
    /// Send a ping this often.
    pub ping_interval: Option<Duration>,
    /// How long a ping may go unanswered; defaults to the ping interval.
    pub pong_timeout: Option<Duration>,
    /// Largest message accepted, in bytes ([`DEFAULT_MAX_MESSAGE`]).
    pub max_message: usize,
    /// Largest single frame accepted, in bytes ([`DEFAULT_MAX_FRAME`]).
    pub max_frame: usize,
    /// How long to wait for the peer's answer to our close frame
    /// ([`DEFAULT_CLOSE_TIMEOUT`]).
    pub close_timeout: Duration,
}

/// Above real feeds, below what hurts a desktop.
pub const DEFAULT_MAX_MESSAGE: usize = 64 << 20;
/// As tungstenite's own default.
pub const DEFAULT_MAX_FRAME: usize = 16 << 20;
/// A live peer answers a close frame in a round trip.
pub const DEFAULT_CLOSE_TIMEOUT: Duration = Duration::from_secs(3);

/// How long we wait, once both close frames have crossed, for the peer to close TCP
/// before we drop the socket ourselves. RFC 6455 §7.1.1: the server should close TCP
/// first (so that it, not the client, holds TIME_WAIT), and a client that has not seen
/// the server's TCP close "after a reasonable amount of time" may close it. A server
/// that means to close does so within a round trip; one that never does must not keep
/// the run (or an API connection) open forever.
pub const TCP_CLOSE_GRACE: Duration = Duration::from_secs(1);

impl WsOptions {
    pub fn new(url: Url) -> Self {
        WsOptions {
            url,
            common: CommonOptions::default(),
            subprotocols: Vec::new(),
            send: Vec::new(),
            ping_interval: None,
            pong_timeout: None,
            max_message: DEFAULT_MAX_MESSAGE,
            max_frame: DEFAULT_MAX_FRAME,
            close_timeout: DEFAULT_CLOSE_TIMEOUT,
        }
    }
}

/// Runs the connection until it ends; [`super::spawn`] makes a closed sink `Cancelled`.
pub(crate) async fn run(
    opts: &WsOptions,
    em: &mut Emitter,
    mut cmds: mpsc::Receiver<Command>,
    cancel: &CancellationToken,
) -> Result<Outcome, SinkClosed> {
    let connected = tokio::select! {
        biased;
        _ = cancel.cancelled() => return Ok(Outcome::Cancelled),
        _ = sleep_until_opt(opts.common.deadline) => {
            em.error(
                Cause::ConnectTimeout,
                format!("the run ended before {} answered", opts.url),
            )
            .await?;
            return Ok(Outcome::Failed);
        }
        r = tokio::time::timeout(opts.common.connect_timeout, connect(opts)) => r,
    };
    let (mut ws, open) = match connected {
        Ok(Ok(pair)) => pair,
        Ok(Err(failure)) => {
            em.emit(Dir::Meta, failure).await?;
            return Ok(Outcome::Failed);
        }
        Err(_) => {
            em.error(
                Cause::ConnectTimeout,
                format!(
                    "no WebSocket connection to {} within {}",
                    opts.url,
                    secs(opts.common.connect_timeout)
                ),
            )
            .await?;
            return Ok(Outcome::Failed);
        }
    };
    em.emit(Dir::Meta, open).await?;

    let mut conn = Conn {
        ws: &mut ws,
        em,
        state: State::Open,
        close_deadline: None,
        close_timeout: opts.close_timeout,
        drop_deadline: None,
        messages: 0,
    };
    for cmd in &opts.send {
        if let Some(outcome) = conn.command(cmd.clone()).await? {
            return Ok(outcome);
        }
    }

    let pong_timeout = opts.pong_timeout.or(opts.ping_interval);
    let mut ping_timer = opts.ping_interval.map(|every| {
        let mut t = tokio::time::interval_at(Instant::now() + every, every);
        t.set_missed_tick_behavior(MissedTickBehavior::Delay);
        t
    });
    let mut pings_sent: u64 = 0;
    let mut pong_deadline: Option<Instant> = None;
    let mut timed_out = false;
    let mut commands_open = true;
    let count = opts.common.count;

    if count.is_some_and(|n| n == 0) {
        conn.start_close(1000, "").await?;
    }

    let outcome = 'run: loop {
        let closing = conn.state != State::Open;
        tokio::select! {
            biased;
            _ = cancel.cancelled() => break Outcome::Cancelled,
            _ = sleep_until_opt(opts.common.deadline), if !timed_out && !closing => {
                timed_out = true;
                if let Some(outcome) = conn.start_close(1000, "").await? {
                    break outcome;
                }
            }
            _ = sleep_until_opt(conn.close_deadline) => {
                conn.em.error(Cause::CloseTimeout, format!(
                    "the peer did not answer our close frame within {}",
                    secs(conn.close_timeout)
                )).await?;
                break Outcome::Failed;
            }
            // The close handshake is complete; the peer kept TCP open past the grace.
            _ = sleep_until_opt(conn.drop_deadline) => break Outcome::Completed,
            // Once a close frame has crossed, the close deadline or the TCP grace bounds
            // the wait; a pong still owed says nothing more.
            _ = sleep_until_opt(pong_deadline), if !closing => {
                let waited = pong_timeout.map(secs).unwrap_or_default();
                conn.em.error(Cause::PongTimeout, format!(
                    "no pong within {waited}: the peer or the path to it is dead"
                )).await?;
                break Outcome::Failed;
            }
            _ = tick(&mut ping_timer), if !closing => {
                pings_sent += 1;
                let payload = Bytes::from(pings_sent.to_string());
                if let Some(outcome) = conn.command(Command::Ping(payload)).await? {
                    break outcome;
                }
                if pong_deadline.is_none() {
                    pong_deadline = pong_timeout.map(|d| Instant::now() + d);
                }
            }
            cmd = cmds.recv(), if commands_open && !closing => match cmd {
                Some(cmd) => {
                    if let Some(outcome) = conn.command(cmd).await? {
                        break outcome;
                    }
                }
                None => commands_open = false,
            },
            msg = conn.ws.next() => {
                // Frames that are already buffered are handled here without going back
                // through `select!`, whose set-up per frame costs more than a small
                // frame's work; the branches above are polled again after the batch.
                let mut next = Some(msg);
                let mut handled = 0;
                while let Some(msg) = next.take() {
                    let step = match msg {
                        Some(Ok(msg)) => {
                            if matches!(msg, Message::Pong(_)) {
                                pong_deadline = None;
                            }
                            conn.received(msg).await?
                        }
                        Some(Err(e)) => Some(conn.read_failed(e).await?),
                        None => Some(conn.ended().await?),
                    };
                    if let Some(outcome) = step {
                        break 'run outcome;
                    }
                    if count.is_some_and(|n| conn.em.data_in >= n) && conn.state == State::Open {
                        if let Some(outcome) = conn.start_close(1000, "").await? {
                            break 'run outcome;
                        }
                    }
                    handled += 1;
                    if handled < DRAIN_BATCH {
                        next = conn.ws.next().now_or_never();
                    }
                }
            }
        }
    };

    if outcome == Outcome::Completed && timed_out {
        if let Some(n) = count.filter(|&n| conn.em.data_in < n) {
            let got = conn.em.data_in;
            conn.em
                .error(
                    Cause::CountNotReached,
                    count_not_reached(n, got, "messages"),
                )
                .await?;
            return Ok(Outcome::Failed);
        }
    }
    Ok(outcome)
}

async fn tick(timer: &mut Option<tokio::time::Interval>) {
    match timer {
        Some(t) => {
            t.tick().await;
        }
        None => std::future::pending().await,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    /// We sent a close frame and wait for the peer's.
    ClosedByUs,
    /// Both close frames have crossed (ours may be the reply tungstenite queued): the
    /// handshake is complete, and we wait for the peer to close TCP.
    Closed,
}

/// The socket and its record stream during the open phase.
struct Conn<'a> {
    ws: &'a mut Socket,
    em: &'a mut Emitter,
    state: State,
    close_deadline: Option<Instant>,
    close_timeout: Duration,
    /// Once the handshake is complete: when to stop waiting for the peer's TCP close.
    drop_deadline: Option<Instant>,
    /// Messages tungstenite has handed over, to match them with what the wire watch saw.
    messages: u64,
}

impl Conn<'_> {
    /// Sends what a command asks. `Some(outcome)` ends the run.
    async fn command(&mut self, cmd: Command) -> Result<Option<Outcome>, SinkClosed> {
        if let Err(problem) = validate(&cmd) {
            // Refuse locally rather than break the protocol; the connection stays up.
            self.em.error(Cause::BadRequest, problem).await?;
            return Ok(None);
        }
        let (msg, body) = match cmd {
            Command::Close { code, reason } => return self.start_close(code, &reason).await,
            Command::Text(s) => (Message::text(s.clone()), Body::Text(s)),
            Command::Binary(b) => (Message::Binary(b.clone()), Body::Binary(b)),
            Command::Ping(b) => (Message::Ping(b.clone()), Body::Ping(b)),
            Command::Pong(b) => (Message::Pong(b.clone()), Body::Pong(b)),
        };
        match self.ws.send(msg).await {
            Ok(()) => {
                self.em.emit(Dir::Out, body).await?;
                Ok(None)
            }
            Err(e) => Ok(Some(self.read_failed(e).await?)),
        }
    }

    /// Sends our close frame and starts waiting for the peer's.
    async fn start_close(
        &mut self,
        code: u16,
        reason: &str,
    ) -> Result<Option<Outcome>, SinkClosed> {
        if self.state != State::Open {
            return Ok(None);
        }
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: reason.to_owned().into(),
        };
        match self.ws.send(Message::Close(Some(frame))).await {
            Ok(()) => {
                self.state = State::ClosedByUs;
                self.close_deadline = Some(Instant::now() + self.close_timeout);
                self.em
                    .emit(
                        Dir::Out,
                        Body::Close {
                            code: Some(code),
                            reason: reason.to_owned(),
                        },
                    )
                    .await?;
                Ok(None)
            }
            Err(e) => Ok(Some(self.read_failed(e).await?)),
        }
    }

    /// Records a frame from the peer, and the reply tungstenite queued for it.
    async fn received(&mut self, msg: Message) -> Result<Option<Outcome>, SinkClosed> {
        // Each message tungstenite hands over is one message-completing frame on the wire.
        let index = self.messages;
        self.messages += 1;
        match msg {
            Message::Text(t) => {
                self.em
                    .emit(Dir::In, Body::Text(t.as_str().to_owned()))
                    .await?
            }
            Message::Binary(b) => self.em.emit(Dir::In, Body::Binary(b)).await?,
            Message::Ping(p) => {
                self.em.emit(Dir::In, Body::Ping(p.clone())).await?;
                // tungstenite answers a ping by itself while the connection is active,
                // and sends the pong before it reads the next frame.
                if self.state == State::Open {
                    self.em.emit(Dir::Out, Body::Pong(p)).await?;
                }
            }
            Message::Pong(p) => self.em.emit(Dir::In, Body::Pong(p)).await?,
            Message::Close(frame) => {
                // tungstenite replaces a code that may not be sent with 1002; the record
                // carries what the peer sent.
                let wire = self
                    .ws
                    .get_ref()
                    .peer_close()
                    .filter(|c| c.after_messages == index);
                let (code, reason) = match (wire, &frame) {
                    (Some(w), _) => (w.code(), String::from_utf8_lossy(w.reason()).into_owned()),
                    (None, Some(f)) => (Some(u16::from(f.code)), f.reason.as_str().to_owned()),
                    (None, None) => (None, String::new()),
                };
                self.em.emit(Dir::In, Body::Close { code, reason }).await?;
                // RFC 6455 §7.4.1/§7.4.2: 1005, 1006, 1015 and codes outside 1000–4999
                // or in the unassigned 1016–2999 must not appear on the wire.
                let bad_code = code.filter(|&c| !CloseCode::from(c).is_allowed());
                match self.state {
                    State::Open => {
                        self.state = State::Closed;
                        // tungstenite queued the reply: the peer's close echoed, or 1002
                        // for a code that may not appear on the wire.
                        let reply = match frame {
                            Some(f) => Body::Close {
                                code: Some(u16::from(f.code)),
                                reason: f.reason.as_str().to_owned(),
                            },
                            None => Body::Close {
                                code: None,
                                reason: String::new(),
                            },
                        };
                        self.em.emit(Dir::Out, reply).await?;
                        // Push the reply out now; the stream then ends. If it cannot go
                        // out, the handshake did not complete.
                        if let Err(e) = self.ws.flush().await {
                            if !is_closed(&e) {
                                let (cause, message, _) = describe_read_error(&e, Failing::Message);
                                self.em.error(cause, message).await?;
                                return Ok(Some(Outcome::Failed));
                            }
                        }
                    }
                    State::ClosedByUs => {
                        // The handshake is complete.
                        self.state = State::Closed;
                        self.close_deadline = None;
                    }
                    State::Closed => return Ok(None),
                }
                if let Some(bad) = bad_code {
                    self.em
                        .error(
                            Cause::ProtocolViolation,
                            format!(
                                "the peer sent close code {bad}, which may not be sent on the wire (RFC 6455 7.4)"
                            ),
                        )
                        .await?;
                    return Ok(Some(Outcome::Failed));
                }
                self.drop_deadline = Some(Instant::now() + TCP_CLOSE_GRACE);
            }
            Message::Frame(_) => {}
        }
        Ok(None)
    }

    /// The stream ended without an error.
    async fn ended(&mut self) -> Result<Outcome, SinkClosed> {
        if self.state == State::Closed {
            return Ok(Outcome::Completed);
        }
        self.em
            .error(
                Cause::TransportLost,
                "connection lost without a close frame (1006)",
            )
            .await?;
        Ok(Outcome::Failed)
    }

    /// A read or write failed: record why and, where the protocol asks for it, tell
    /// the peer with a close frame.
    async fn read_failed(&mut self, e: WsError) -> Result<Outcome, SinkClosed> {
        // Once the close handshake is complete, how TCP ends is no longer the run's
        // concern: a reset, or a TLS peer that skips close_notify, is as good as a FIN.
        if self.state == State::Closed && (is_closed(&e) || matches!(e, WsError::Io(_))) {
            return Ok(Outcome::Completed);
        }
        // A UTF-8 failure on the message after the last one handed over is the close
        // frame's reason when that message is the peer's close.
        let failing = match &e {
            WsError::Utf8(_)
                if self
                    .ws
                    .get_ref()
                    .peer_close()
                    .is_some_and(|c| c.after_messages == self.messages) =>
            {
                Failing::CloseFrame
            }
            _ => Failing::Message,
        };
        let (cause, message, close_code) = describe_read_error(&e, failing);
        self.em.error(cause, message).await?;
        if let (Some(code), State::Open) = (close_code, self.state) {
            // Best effort: the peer may already be gone.
            let frame = CloseFrame {
                code: CloseCode::from(code),
                reason: "".into(),
            };
            let sent = tokio::time::timeout(
                Duration::from_secs(1),
                self.ws.send(Message::Close(Some(frame))),
            )
            .await;
            if matches!(sent, Ok(Ok(()))) {
                self.em
                    .emit(
                        Dir::Out,
                        Body::Close {
                            code: Some(code),
                            reason: String::new(),
                        },
                    )
                    .await?;
            }
        }
        Ok(Outcome::Failed)
    }
}

/// Which frame a read error came from, where tungstenite's error does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failing {
    Message,
    CloseFrame,
}

fn is_closed(e: &WsError) -> bool {
    matches!(e, WsError::ConnectionClosed | WsError::AlreadyClosed)
}

/// The cause and message for a failure after `open`, and the close code RFC 6455 says
/// to send.
fn describe_read_error(e: &WsError, failing: Failing) -> (Cause, String, Option<u16>) {
    match e {
        WsError::ConnectionClosed
        | WsError::AlreadyClosed
        | WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => (
            Cause::TransportLost,
            "connection lost without a close frame (1006)".into(),
            None,
        ),
        WsError::Io(io) => (
            Cause::TransportLost,
            format!("connection lost without a close frame (1006): {io}"),
            None,
        ),
        WsError::Capacity(c) => (
            Cause::TooBig,
            format!(
                "{}: the peer sent more than the limit",
                lower_first(&c.to_string())
            ),
            Some(1009),
        ),
        WsError::Utf8(_) if failing == Failing::CloseFrame => (
            Cause::ProtocolViolation,
            "the peer sent a close reason that is not valid UTF-8".into(),
            Some(1007),
        ),
        WsError::Utf8(_) => (
            Cause::ProtocolViolation,
            "the peer sent a text message that is not valid UTF-8".into(),
            Some(1007),
        ),
        // RFC 6455 §5.5.1: nothing may follow a close frame.
        WsError::Protocol(ProtocolError::ReceivedAfterClosing) => (
            Cause::ProtocolViolation,
            "the peer sent a frame after its close frame".into(),
            Some(1002),
        ),
        WsError::Protocol(p) => (
            Cause::ProtocolViolation,
            format!(
                "the peer broke the WebSocket protocol: {}",
                lower_first(&p.to_string())
            ),
            Some(1002),
        ),
        other => (
            Cause::TransportLost,
            format!("WebSocket failure: {other}"),
            None,
        ),
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Checks a command against what RFC 6455 allows on the wire.
pub fn validate(cmd: &Command) -> Result<(), String> {
    match cmd {
        Command::Ping(p) | Command::Pong(p) if p.len() > 125 => Err(format!(
            "a control frame payload is at most 125 bytes; this one has {}",
            p.len()
        )),
        Command::Close { code, reason } => {
            if !(*code == 1000
                || (3000..=4999).contains(code)
                || (1001..=1003).contains(code)
                || (1007..=1014).contains(code))
            {
                return Err(format!(
                    "close code {code} may not be sent: use 1000 (normal), 1001–1003, 1007–1014, or 3000–4999"
                ));
            }
            if reason.len() > 123 {
                return Err(format!(
                    "a close reason is at most 123 bytes; this one has {}",
                    reason.len()
                ));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Connects, and returns the socket with its `open` record body, or the `error` body.
async fn connect(opts: &WsOptions) -> Result<(Socket, Body), Body> {
    let opened = handshake::open(
        &opts.url,
        &opts.common.headers,
        &opts.subprotocols,
        &opts.common.tls,
    )
    .await?;
    let config = WebSocketConfig::default()
        .max_message_size(Some(opts.max_message))
        .max_frame_size(Some(opts.max_frame.min(opts.max_message)));
    let watched = Watched::new(opened.stream, &opened.leftover);
    let ws =
        WebSocketStream::from_partially_read(watched, opened.leftover, Role::Client, Some(config))
            .await;
    Ok((ws, opened.open))
}

/// Response headers as records carry them: lower-case names, repeats joined by `, `,
/// in first-seen order.
pub(crate) fn collect_headers(map: &HeaderMap) -> Headers {
    let mut out: Headers = Vec::with_capacity(map.keys_len());
    for name in map.keys() {
        let joined = map
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect::<Vec<_>>()
            .join(", ");
        out.push((name.as_str().to_owned(), joined));
    }
    out
}
