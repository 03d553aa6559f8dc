//! A WebSocket connection task.
//!
//! It owns the socket's life: the handshake, one `select!` loop over the next frame, the
//! command channel, the ping timer and the deadlines, and the close handshake. Every
//! frame that crosses the wire becomes a record in the order it went, including the
//! pongs and close replies we send by ourselves. Frames, their checks and their byte
//! counts are [`super::ws_wire`]'s; compression is [`super::deflate`]'s.

use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::deflate::Deflate;
use super::handshake::{self, Transport};
use super::ws_wire::{Failure, Incoming, OP_CLOSE, OP_PING, OP_PONG, Received, WsStream};
use super::{
    Command, CommonOptions, Emitter, Outcome, SinkClosed, count_not_reached, secs, sleep_until_opt,
};
use streamscope_model::Cause;
use streamscope_model::record::{Body, Dir, Handshake, Wire};

type Socket = WsStream<Transport>;

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
    /// Offer permessage-deflate ([`DEFAULT_DEFLATE`]).
    pub deflate: bool,
}

/// Offered by default because every browser offers it, and servers such as Python's
/// `websockets` compress whenever it is agreed: without it Streamscope would see
/// another connection than the user's browser does.
pub const DEFAULT_DEFLATE: bool = true;

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
            deflate: DEFAULT_DEFLATE,
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
    let (mut ws, open, handshake) = match connected {
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
    em.emit_wire(
        Dir::Meta,
        open,
        Wire {
            handshake: Some(handshake),
            ..Wire::default()
        },
    )
    .await?;

    let mut conn = Conn {
        ws: &mut ws,
        em,
        state: State::Open,
        close_deadline: None,
        close_timeout: opts.close_timeout,
        drop_deadline: None,
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
                        Ok(Some(received)) => {
                            if matches!(received.msg, Incoming::Pong(_)) {
                                pong_deadline = None;
                            }
                            conn.received(received).await?
                        }
                        Err(failure) => Some(conn.read_failed(failure).await?),
                        Ok(None) => Some(conn.ended().await?),
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
    /// Both close frames have crossed (ours may be our reply to the peer's): the
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
}

/// A close frame's payload: none, or the code and the reason (RFC 6455 §5.5.1).
fn close_payload(code: Option<u16>, reason: &str) -> Vec<u8> {
    let mut payload = Vec::new();
    if let Some(code) = code {
        payload.extend_from_slice(&code.to_be_bytes());
        payload.extend_from_slice(reason.as_bytes());
    }
    payload
}

impl Conn<'_> {
    /// Sends what a command asks. `Some(outcome)` ends the run.
    async fn command(&mut self, cmd: Command) -> Result<Option<Outcome>, SinkClosed> {
        if let Err(problem) = validate(&cmd) {
            // Refuse locally rather than break the protocol; the connection stays up.
            self.em.error(Cause::BadRequest, problem).await?;
            return Ok(None);
        }
        let (sent, body) = match cmd {
            Command::Close { code, reason } => return self.start_close(code, &reason).await,
            Command::Text(s) => (self.ws.send_data(true, s.as_bytes()).await, Body::Text(s)),
            Command::Binary(b) => (self.ws.send_data(false, &b).await, Body::Binary(b)),
            Command::Ping(b) => (self.ws.send_control(OP_PING, &b).await, Body::Ping(b)),
            Command::Pong(b) => (self.ws.send_control(OP_PONG, &b).await, Body::Pong(b)),
        };
        match sent {
            Ok(wire) => {
                self.em.emit_wire(Dir::Out, body, wire).await?;
                Ok(None)
            }
            Err(e) => Ok(Some(self.read_failed(Failure::lost(&e)).await?)),
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
        let payload = close_payload(Some(code), reason);
        match self.ws.send_control(OP_CLOSE, &payload).await {
            Ok(wire) => {
                self.state = State::ClosedByUs;
                self.close_deadline = Some(Instant::now() + self.close_timeout);
                self.em
                    .emit_wire(
                        Dir::Out,
                        Body::Close {
                            code: Some(code),
                            reason: reason.to_owned(),
                        },
                        wire,
                    )
                    .await?;
                Ok(None)
            }
            Err(e) => Ok(Some(self.read_failed(Failure::lost(&e)).await?)),
        }
    }

    /// Records a frame from the peer, and answers it where RFC 6455 says to.
    async fn received(&mut self, received: Received) -> Result<Option<Outcome>, SinkClosed> {
        let Received { msg, wire } = received;
        match msg {
            Incoming::Text(t) => self.em.emit_wire(Dir::In, Body::Text(t), wire).await?,
            Incoming::Binary(b) => self.em.emit_wire(Dir::In, Body::Binary(b), wire).await?,
            Incoming::Ping(p) => {
                self.em
                    .emit_wire(Dir::In, Body::Ping(p.clone()), wire)
                    .await?;
                // RFC 6455 §5.5.2: answer with a pong "as soon as is practical"; once
                // our close has gone, nothing more may follow it.
                if self.state == State::Open {
                    match self.ws.send_control(OP_PONG, &p).await {
                        Ok(wire) => self.em.emit_wire(Dir::Out, Body::Pong(p), wire).await?,
                        Err(e) => return Ok(Some(self.read_failed(Failure::lost(&e)).await?)),
                    }
                }
            }
            Incoming::Pong(p) => self.em.emit_wire(Dir::In, Body::Pong(p), wire).await?,
            Incoming::Close(close) => {
                let (code, reason) = match close {
                    Some((code, reason)) => (Some(code), reason),
                    None => (None, String::new()),
                };
                self.em
                    .emit_wire(
                        Dir::In,
                        Body::Close {
                            code,
                            reason: reason.clone(),
                        },
                        wire,
                    )
                    .await?;
                // RFC 6455 §7.4.1/§7.4.2: 1005, 1006, 1015 and codes outside 1000–4999
                // or in the unassigned 1016–2999 must not appear on the wire.
                let bad_code = code.filter(|&c| !CloseCode::from(c).is_allowed());
                match self.state {
                    State::Open => {
                        // RFC 6455 §5.5.1: answer with a close frame, as a rule echoing
                        // the peer's code; a code that may not be sent gets 1002.
                        let (reply_code, reply_reason) = match (code, bad_code) {
                            (_, Some(_)) => (Some(1002), "Protocol violation".to_owned()),
                            (Some(c), None) => (Some(c), reason),
                            (None, _) => (None, String::new()),
                        };
                        let payload = close_payload(reply_code, &reply_reason);
                        let sent = match self.ws.send_control(OP_CLOSE, &payload).await {
                            Ok(sent) => sent,
                            Err(e) => {
                                // The reply could not go out: the handshake did not complete.
                                let failure = Failure::lost(&e);
                                self.em.error(failure.cause, failure.message).await?;
                                return Ok(Some(Outcome::Failed));
                            }
                        };
                        self.state = State::Closed;
                        self.em
                            .emit_wire(
                                Dir::Out,
                                Body::Close {
                                    code: reply_code,
                                    reason: reply_reason,
                                },
                                sent,
                            )
                            .await?;
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
    async fn read_failed(&mut self, failure: Failure) -> Result<Outcome, SinkClosed> {
        // Once the close handshake is complete, how TCP ends is no longer the run's
        // concern: a reset, or a TLS peer that skips close_notify, is as good as a FIN.
        if self.state == State::Closed && failure.is_transport() {
            return Ok(Outcome::Completed);
        }
        let Failure {
            cause,
            message,
            close,
        } = failure;
        self.em.error(cause, message).await?;
        if let (Some(code), State::Open) = (close, self.state) {
            // Best effort: the peer may already be gone.
            let payload = close_payload(Some(code), "");
            let sent = tokio::time::timeout(
                Duration::from_secs(1),
                self.ws.send_control(OP_CLOSE, &payload),
            )
            .await;
            if let Ok(Ok(sent)) = sent {
                self.em
                    .emit_wire(
                        Dir::Out,
                        Body::Close {
                            code: Some(code),
                            reason: String::new(),
                        },
                        sent,
                    )
                    .await?;
            }
        }
        Ok(Outcome::Failed)
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
async fn connect(opts: &WsOptions) -> Result<(Socket, Body, Handshake), Body> {
    let opened = handshake::open(
        &opts.url,
        &opts.common.headers,
        &opts.subprotocols,
        opts.deflate,
        &opts.common.tls,
    )
    .await?;
    let ws = WsStream::new(
        opened.stream,
        &opened.leftover,
        opts.max_frame,
        opts.max_message,
        opened.deflate.map(Deflate::new),
    );
    Ok((ws, opened.open, opened.handshake))
}
