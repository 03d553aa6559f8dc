//! Connections: one tokio task per connection, records out, commands in.
//!
//! This module owns what WebSocket and SSE connections share: the [`Emitter`] that
//! stamps and numbers records and hands them to the bounded record channel, the
//! [`ConnHandle`] through which commands reach a task, how a run ends ([`Outcome`]),
//! and the options both protocols take. Protocol details live in `ws` and `sse`.

pub mod deflate;
pub(crate) mod handshake;
mod http1;
pub mod inflate;
pub mod sse;
pub mod ws;
mod ws_wire;

use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::tls::TlsOptions;
use streamscope_model::Cause;
use streamscope_model::record::{Body, ConnId, Dir, Proto, Record, Timestamp, Wire};

pub use handshake::{Transport, connect};
pub use sse::SseOptions;
pub use ws::WsOptions;

/// Capacity of a connection's command channel. Commands come from a person or a script
/// at human rates; a small buffer is plenty and makes a runaway sender wait.
pub const COMMAND_CAPACITY: usize = 64;

/// Where records go: the bounded channel into the recorder or printer. When it is full
/// the connection task waits, so it stops reading and TCP pushes back on the peer.
pub type RecordSink = mpsc::Sender<Record>;

/// What a caller can ask a running connection to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Send a text message (WebSocket only).
    Text(String),
    /// Send a binary message (WebSocket only).
    Binary(Bytes),
    /// Send a ping with this payload (WebSocket only; at most 125 bytes).
    Ping(Bytes),
    /// Send a pong with this payload (WebSocket only; at most 125 bytes).
    Pong(Bytes),
    /// Close: a WebSocket sends a close frame with this code and reason and completes
    /// the handshake; an SSE connection drops the stream and does not reconnect.
    Close { code: u16, reason: String },
}

/// How a connection's run ended. The CLI maps it to its exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Ended as asked: count reached, close handshake completed, SSE `end` without
    /// reconnection, or the deadline passed with nothing owed.
    Completed,
    /// An `error` record explains why the run failed.
    Failed,
    /// The record consumer went away or the caller cancelled: nothing more to say.
    Cancelled,
}

/// Options every connection takes, whatever its protocol.
#[derive(Debug, Clone)]
pub struct CommonOptions {
    /// Extra request headers, in order. Names and values were checked by
    /// [`crate::open::OpenSpec`], or by whoever builds options without it.
    pub headers: Vec<(String, String)>,
    pub tls: TlsOptions,
    /// Time allowed for DNS, TCP, TLS and the HTTP/WebSocket handshake
    /// ([`DEFAULT_CONNECT_TIMEOUT`]).
    pub connect_timeout: Duration,
    /// Stop after this many inbound data records (WS text/binary, SSE event).
    pub count: Option<u64>,
    /// End the run at this instant.
    pub deadline: Option<Instant>,
}

/// Long enough for a slow far server, short enough that a black hole is reported.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for CommonOptions {
    fn default() -> Self {
        CommonOptions {
            headers: Vec::new(),
            tls: TlsOptions::default(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            count: None,
            deadline: None,
        }
    }
}

/// A running connection: send it commands, cancel it, wait for its end.
#[derive(Debug)]
pub struct ConnHandle {
    id: ConnId,
    proto: Proto,
    commands: mpsc::Sender<Command>,
    cancel: CancellationToken,
    task: JoinHandle<Outcome>,
}

impl ConnHandle {
    pub fn id(&self) -> ConnId {
        self.id
    }

    pub fn proto(&self) -> Proto {
        self.proto
    }

    /// A sender for commands, for callers that feed the connection from another task.
    pub fn commands(&self) -> mpsc::Sender<Command> {
        self.commands.clone()
    }

    /// Queues a command. Fails when the connection has already ended.
    pub async fn send(&self, cmd: Command) -> Result<(), ConnEnded> {
        self.commands.send(cmd).await.map_err(|_| ConnEnded)
    }

    /// Stops the task at once, without a close handshake (app quit, server shutdown
    /// after the grace period). Prefer [`Command::Close`] for an orderly close.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Waits for the task to end.
    pub async fn wait(self) -> Outcome {
        self.task.await.unwrap_or(Outcome::Failed)
    }

    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

/// The connection has ended and takes no more commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the connection has ended")]
pub struct ConnEnded;

/// Opens a WebSocket connection in a new task.
pub fn open_ws(
    id: ConnId,
    opts: WsOptions,
    sink: RecordSink,
    cancel: CancellationToken,
) -> ConnHandle {
    spawn(
        id,
        Proto::Ws,
        sink,
        cancel,
        move |mut em, rx, cancel| async move { ws::run(&opts, &mut em, rx, &cancel).await },
    )
}

/// Opens an SSE connection in a new task.
pub fn open_sse(
    id: ConnId,
    opts: SseOptions,
    sink: RecordSink,
    cancel: CancellationToken,
) -> ConnHandle {
    spawn(
        id,
        Proto::Sse,
        sink,
        cancel,
        move |mut em, rx, cancel| async move { sse::run(&opts, &mut em, rx, &cancel).await },
    )
}

/// Starts a connection whose records `run` produces itself, in a new task: the tap's
/// relays, which watch another app's connection instead of opening their own. `run` gets
/// the [`Emitter`] (so its records are stamped and numbered like any other), the
/// commands (only [`Command::Close`] reaches a relay; the session refuses the rest) and
/// the cancel token.
pub fn open_relay<F, Fut>(
    id: ConnId,
    proto: Proto,
    sink: RecordSink,
    cancel: CancellationToken,
    run: F,
) -> ConnHandle
where
    F: FnOnce(Emitter, mpsc::Receiver<Command>, CancellationToken) -> Fut,
    Fut: Future<Output = Result<Outcome, SinkClosed>> + Send + 'static,
{
    spawn(id, proto, sink, cancel, run)
}

/// What both protocols' tasks share: the command channel, the emitter, and reading a
/// closed record sink as `Cancelled` (nobody is left to tell why the run stopped).
fn spawn<F, Fut>(
    id: ConnId,
    proto: Proto,
    sink: RecordSink,
    cancel: CancellationToken,
    run: F,
) -> ConnHandle
where
    F: FnOnce(Emitter, mpsc::Receiver<Command>, CancellationToken) -> Fut,
    Fut: Future<Output = Result<Outcome, SinkClosed>> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(COMMAND_CAPACITY);
    let run = run(Emitter::new(id, proto, sink), rx, cancel.clone());
    let task = tokio::spawn(async move { run.await.unwrap_or(Outcome::Cancelled) });
    ConnHandle {
        id,
        proto,
        commands: tx,
        cancel,
        task,
    }
}

/// Stamps, numbers and sends a connection's records. The only place `seq` is assigned,
/// so it has no gaps.
#[derive(Debug)]
pub struct Emitter {
    conn: ConnId,
    proto: Proto,
    seq: u64,
    sink: RecordSink,
    /// Inbound data records so far, for `count`.
    pub data_in: u64,
}

/// The record consumer has gone away: the connection should stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkClosed;

impl Emitter {
    pub fn new(conn: ConnId, proto: Proto, sink: RecordSink) -> Self {
        Emitter {
            conn,
            proto,
            seq: 0,
            sink,
            data_in: 0,
        }
    }

    /// Records `body`. Waits while the channel is full (backpressure).
    pub async fn emit(&mut self, dir: Dir, body: Body) -> Result<(), SinkClosed> {
        self.emit_with(dir, body, None).await
    }

    /// Records `body` with what it cost on the wire.
    pub async fn emit_wire(&mut self, dir: Dir, body: Body, wire: Wire) -> Result<(), SinkClosed> {
        self.emit_with(dir, body, Some(Box::new(wire))).await
    }

    async fn emit_with(
        &mut self,
        dir: Dir,
        body: Body,
        wire: Option<Box<Wire>>,
    ) -> Result<(), SinkClosed> {
        if dir == Dir::In && body.is_data() {
            self.data_in += 1;
        }
        self.seq += 1;
        let record = Record {
            t: Timestamp::now(),
            conn: self.conn,
            proto: self.proto,
            seq: self.seq,
            dir,
            body,
            wire,
        };
        // A channel with room takes the record at once, without the semaphore future
        // `send` builds (a firehose's common case, measured in BENCHMARKS.md); a full one
        // is waited on, which is the backpressure.
        match self.sink.try_send(record) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(record)) => {
                self.sink.send(record).await.map_err(|_| SinkClosed)
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(SinkClosed),
        }
    }

    /// Records an `error` with its cause, a message and no response.
    pub async fn error(
        &mut self,
        cause: Cause,
        message: impl Into<String>,
    ) -> Result<(), SinkClosed> {
        self.emit(Dir::Meta, error_body(cause, message.into()))
            .await
    }
}

/// An `error` body without a response.
pub(crate) fn error_body(cause: Cause, message: String) -> Body {
    Body::Error {
        message,
        cause: Some(cause),
        status: None,
        headers: None,
    }
}

/// Sleeps until `deadline`, or forever when there is none. For `select!` branches.
pub(crate) async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// "1 s", "0.5 s": how the CLI's seconds flags read back in messages.
pub(crate) fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s} s")
    }
}

/// The message for a run that hit its deadline before `count` data records arrived.
pub(crate) fn count_not_reached(count: u64, got: u64, what: &str) -> String {
    format!("the run ended with {got} of {count} {what} received")
}
