//! The labs: experiments that show, with figures measured on a live run, how WebSocket and
//! Server-Sent Events differ. Each lab is data (what it asks, its steps, [`LABS`]) plus a
//! runner that opens ordinary connections in a [`Session`] against the embedded server's
//! demo peers, measures, and draws its conclusion from the figures it measured, so a run
//! that contradicts the textbook says what it saw. The server's `/api/labs` and
//! `sscope lab` run the same definitions; the connection-limit lab runs in the page (the
//! limit is the browser's) and only its description lives here.
//!
//! Bytes on the wire come from the server's counting listener (`GET /demo/wire/TAG`):
//! every byte of every TCP connection a leg used, headers, masks and chunk framing
//! included. Per-message figures are differences of totals between a short and a long run
//! of the same leg, so the handshake and the closing bytes cancel out exactly.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;
use streamscope_engine::session::Session;
use streamscope_engine::{ConnId, Proto};

mod claims;
mod lab;
mod measure;

pub use claims::{CLAIMS, Claim, Source, Verdict};

/// Where a lab runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunsIn {
    /// In the engine, against the demo server: the API and `sscope lab` run it.
    Engine,
    /// In the page: the browser's own `EventSource` and `WebSocket` are what it measures.
    Page,
}

/// What a lab is, for the list and for its explanation while it runs.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct LabInfo {
    pub name: &'static str,
    pub title: &'static str,
    /// The question it answers, in one line.
    pub question: &'static str,
    /// What it does and what to look at, in a paragraph.
    pub explains: &'static str,
    pub steps: &'static [&'static str],
    pub runs_in: RunsIn,
}

/// Every lab, in the order they are listed.
pub const LABS: &[LabInfo] = &[
    LabInfo {
        name: "direction",
        title: "Who can talk",
        question: "What does it take to send as well as receive?",
        explains: "The same small chat twice. Over one WebSocket, messages go both ways on one \
                   connection. SSE only listens: each message sent is its own HTTP POST, \
                   answered by the server and relayed back on the stream. The lab counts the \
                   connections and requests each used, the bytes on the wire per message, and \
                   the round trip from send to receipt.",
        steps: &[
            "open a WebSocket to a private room",
            "send N messages on it, each waiting for its echo",
            "open an SSE stream on another room",
            "POST N messages, each waiting for its event on the stream",
            "read the bytes each used from the server's socket counters",
        ],
        runs_in: RunsIn::Engine,
    },
    LabInfo {
        name: "reconnect",
        title: "Drops and event ids",
        question: "What is lost when the connection drops?",
        explains: "Both servers drop their client every few messages while they keep \
                   producing. The SSE client waits the server's `retry:` delay and reconnects \
                   with Last-Event-ID, and the server resumes after that id. The WebSocket \
                   client reconnects after the same delay, but WebSocket has no event ids: what \
                   was sent while it was away is gone. The lab lists the ids each received.",
        steps: &[
            "open an SSE stream that drops every few events, reconnecting with Last-Event-ID",
            "open a WebSocket feed that drops every few messages; reconnect after the same delay",
            "compare the ids received with the ids sent",
        ],
        runs_in: RunsIn::Engine,
    },
    LabInfo {
        name: "dead-peer",
        title: "A peer that goes silent",
        question: "Who notices when the other side stops answering without closing?",
        explains: "The server goes silent without closing the connection, as a crashed host \
                   or a pulled cable would. A WebSocket client that pings every X s and waits \
                   Y s for the pong notices within about X+Y; an SSE client notices only when no \
                   byte (no event, no heartbeat comment) comes within its idle timeout. With no \
                   timer at all, neither notices: TCP says nothing about a silent peer.",
        steps: &[
            "open a WebSocket with ping and pong timeout, and one without",
            "open an SSE stream with an idle timeout, and one without",
            "the server goes silent on all four after its first message",
            "measure how long each took to notice, if it did",
        ],
        runs_in: RunsIn::Engine,
    },
    LabInfo {
        name: "binary",
        title: "Binary payloads",
        question: "What does binary data cost over each?",
        explains: "The same random binary payloads, as WebSocket binary frames and as base64 \
                   in SSE `data:` lines (SSE is text only). The lab counts the bytes on the wire \
                   per message at 64 B and at 4 KiB.",
        steps: &[
            "stream binary payloads of 64 B over a WebSocket and as base64 over SSE",
            "the same at 4 KiB",
            "read the bytes on the wire per message from the server's socket counters",
        ],
        runs_in: RunsIn::Engine,
    },
    LabInfo {
        name: "connection-limit",
        title: "Six per host",
        question: "How many streams can one page open to one server?",
        explains: "Browsers open at most six HTTP/1.1 connections per host; an EventSource \
                   holds one for as long as it streams. The page opens seven EventSources to \
                   one host name: the seventh waits until another closes. Seven WebSockets are \
                   not held to that limit. Seven EventSources split over two host names \
                   (127.0.0.1 and localhost) all open: the limit is per host, not per browser. \
                   HTTP/2 multiplexes streams over one connection and lifts the limit.",
        steps: &[
            "open seven EventSources to one host name; close one after a moment",
            "open seven WebSockets to the same host name",
            "open seven EventSources split over two host names",
        ],
        runs_in: RunsIn::Page,
    },
    LabInfo {
        name: "overhead",
        title: "Overhead and latency",
        question: "What does each message cost on the wire, and how late does it arrive?",
        explains: "The same JSON payload at the same rate over both. The lab counts the bytes on \
                   the wire per message (WebSocket: frame header, plus the mask on what the \
                   client sends; SSE: the `data:` prefix, line ends and the chunked encoding's \
                   framing) and the delivery latency from the server's send time to the \
                   client's receipt, at 64 B and 4 KiB.",
        steps: &[
            "stream 64 B messages over a WebSocket and over SSE at the same rate",
            "the same at 4 KiB",
            "read the bytes on the wire per message and each message's delivery latency",
        ],
        runs_in: RunsIn::Engine,
    },
];

/// The lab named `name`.
pub fn find(name: &str) -> Option<&'static LabInfo> {
    LABS.iter().find(|l| l.name == name)
}

/// One measured figure: the same quantity for each protocol. A value is a number, a string
/// (a list of ids, "not noticed in 6 s"), or null where it does not apply.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figure {
    pub name: String,
    pub ws: Value,
    pub sse: Value,
    pub unit: String,
}

impl Figure {
    pub fn new(name: impl Into<String>, ws: Value, sse: Value, unit: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ws,
            sse,
            unit: unit.into(),
        }
    }
}

/// What a run measured and concluded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabResult {
    pub lab: String,
    pub figures: Vec<Figure>,
    /// Drawn from the figures: it says what was measured, even against expectations.
    pub conclusion: String,
    /// What to keep in mind reading the figures (parameters, the machine's load).
    pub notes: Vec<String>,
}

/// Why a lab could not run.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("no lab is called {0:?}; `sscope lab list` lists them")]
    Unknown(String),
    #[error(
        "the {0} lab runs in the page, where the browser's own limits apply: open the app \
         (or `sscope serve` in a browser) and run it from Labs"
    )]
    PageOnly(&'static str),
    #[error("{0}")]
    Failed(String),
}

/// What a lab tells whoever runs it while it runs.
pub trait Progress: Send + Sync {
    /// A step began or something worth saying happened.
    fn step(&self, text: &str);
    /// A connection was opened in the session for this lab, with its role in it.
    fn conn(&self, id: ConnId, proto: Proto, role: &str);
}

/// Progress that goes nowhere.
pub struct Quiet;

impl Progress for Quiet {
    fn step(&self, _: &str) {}
    fn conn(&self, _: ConnId, _: Proto, _: &str) {}
}

/// What a lab runs with.
#[derive(Clone)]
pub struct Context {
    /// The embedded server: `http://127.0.0.1:PORT`, no path.
    pub base: String,
    /// Where the lab's connections are opened, so they show like any other.
    pub session: Session,
    pub progress: Arc<dyn Progress>,
    /// Fewer messages and shorter waits: for tests, and a first look.
    pub quick: bool,
    /// Names this run's rooms, feeds and wire tags, apart from every other run's.
    pub tag: String,
    /// The HTTP client that reads the server's byte counters, made on first use.
    counters: Arc<tokio::sync::OnceCell<reqwest::Client>>,
}

impl Context {
    /// A context with a fresh run tag.
    pub fn new(base: impl Into<String>, session: Session, progress: Arc<dyn Progress>) -> Self {
        Self {
            base: base.into().trim_end_matches('/').to_owned(),
            session,
            progress,
            quick: false,
            tag: format!("lab{:08x}", rand::random::<u32>()),
            counters: Arc::default(),
        }
    }

    pub fn quick(mut self, quick: bool) -> Self {
        self.quick = quick;
        self
    }
}

/// Runs the lab named `name` to its result. The connections it opened stay in the session,
/// closed, with their recordings.
pub async fn run(name: &str, ctx: &Context) -> Result<LabResult, LabError> {
    let info = find(name).ok_or_else(|| LabError::Unknown(name.to_owned()))?;
    match info.name {
        "direction" => lab::direction::run(ctx).await,
        "reconnect" => lab::reconnect::run(ctx).await,
        "dead-peer" => lab::dead_peer::run(ctx).await,
        "binary" => lab::sizes::binary(ctx).await,
        "overhead" => lab::sizes::overhead(ctx).await,
        _ => Err(LabError::PageOnly(info.name)),
    }
}
