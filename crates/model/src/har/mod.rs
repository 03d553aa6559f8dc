//! HAR 1.2 in and out: the WebSocket and SSE connections of an HTTP Archive as records,
//! and records as a HAR that Chrome DevTools, Playwright and HAR viewers open.
//!
//! It owns the mapping between the two shapes (what each HAR field becomes in a record
//! and back), telling Chrome's seconds from Playwright's milliseconds, and redaction of
//! secrets on the way out. Reading (`read`) and writing (`write`) are IO-free: a byte
//! slice in, an `io::Write` out. Where the file comes from and where it goes (the CLI's
//! `convert`, the session library) is the caller's business.
//!
//! The shapes followed:
//! - WebSocket: Chrome DevTools' `_resourceType: "websocket"` and `_webSocketMessages:
//!   [{type: send|receive|error, time, opcode, data}]` (front_end/models/har/Log.ts), `time`
//!   in epoch seconds; Playwright's `recordHar` writes the same key in epoch milliseconds.
//! - SSE: `_eventSourceMessages: [{time, eventName, eventId, data}]` (cypress-har-generator's
//!   convention) and the raw `text/event-stream` body in `response.content.text`, parsed with
//!   our own parser (`crate::sse`).

mod read;
#[cfg(test)]
mod tests;
mod write;

pub use read::read;
pub use write::{split_by_conn, write};

use std::collections::BTreeMap;

use crate::record::{ConnId, Headers, Proto};

/// Largest HAR [`read`] takes by default: 512 MiB. HARs of a long browsing session reach
/// hundreds of MiB (bodies inline as base64); past this the file is held in memory with
/// its records, and a clear refusal beats exhausting the machine.
pub const DEFAULT_MAX_INPUT: usize = 512 << 20;

/// What every header in these lists holds is a credential: exports replace their values
/// with [`REDACTED`] unless asked to keep them. Lower case, as records name headers.
pub const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
];

/// The value a redacted header gets: the header stays, so a reader sees it was sent.
pub const REDACTED: &str = "[redacted]";

/// Bounds on what [`read`] accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes of input, [`DEFAULT_MAX_INPUT`] by default.
    pub max_input: usize,
    /// Line and event bounds for raw `text/event-stream` bodies, as for a live stream.
    pub sse: crate::sse::Limits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input: DEFAULT_MAX_INPUT,
            sse: crate::sse::Limits::default(),
        }
    }
}

/// A HAR's WebSocket and SSE connections as records, and what was left out.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Import {
    /// Every imported connection's records, connection after connection (`c1`, `c2`, …
    /// in the order of their entries), each numbered `seq` 1, 2, 3 ….
    pub records: Vec<crate::Record>,
    /// One per imported connection, in `conn` order.
    pub conns: Vec<ImportedConn>,
    /// Entries not imported (documents, scripts, XHR, images …), counted by their
    /// `_resourceType`, else their MIME type, else `other`.
    pub skipped: BTreeMap<String, usize>,
    /// What the import had to assume, one sentence each, naming the entry: times that
    /// were missing, an SSE body without times. Empty when nothing was assumed.
    pub notes: Vec<String>,
}

/// Where an imported connection came from: records carry no URL, so this is the only
/// place the request's URL survives an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedConn {
    pub conn: ConnId,
    pub proto: Proto,
    /// Index of its entry in `log.entries`.
    pub entry: usize,
    pub url: String,
    /// How many records it has.
    pub records: usize,
}

/// Why a HAR was refused. Nothing was imported from it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HarError {
    #[error(
        "the HAR is {size} bytes, over the limit of {limit} bytes for one import: export fewer requests, or raise the limit"
    )]
    TooBig { size: usize, limit: usize },
    /// Not JSON, or JSON that ends early (a truncated file), outside any one entry.
    #[error("line {line}, column {column}: {what}")]
    Syntax {
        line: usize,
        column: usize,
        what: String,
    },
    /// The JSON is not shaped like a HAR (no `log.entries` array).
    #[error("not a HAR file: {what}")]
    NotHar { what: String },
    /// Something wrong in or about one entry. `path` is a JSON path from the top
    /// (`log.entries[3]._webSocketMessages[5].time`); `line` is where the entry, or the
    /// error inside it, is in the file.
    #[error("{path} (line {line}): {what}")]
    Entry {
        index: usize,
        path: String,
        line: usize,
        what: String,
    },
}

/// What the writer knows of a connection besides its records: the request, which
/// records do not carry. The session library fills it from the connection's settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnInfo {
    /// The request URL; without one the entry gets `ws://unknown.invalid/c1` (or
    /// `http://…` for SSE), since HAR requires a URL and `.invalid` can never resolve.
    pub url: Option<String>,
    /// `GET` when not known.
    pub method: Option<String>,
    /// Request headers as sent, any case; secrets among them are redacted on export.
    pub request_headers: Headers,
}

/// One connection to write: its records in `seq` order and what is known of its request.
#[derive(Debug, Clone, Copy)]
pub struct ConnExport<'r> {
    pub records: &'r [crate::Record],
    pub info: &'r ConnInfo,
}

/// How to write a HAR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOptions {
    /// Replace the values of [`SECRET_HEADERS`] with [`REDACTED`] (default true): a HAR is
    /// made to be shared, and a bearer token or session cookie in it is a leaked login.
    pub redact: bool,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions { redact: true }
    }
}

/// True for a header whose value [`WriteOptions::redact`] hides; any case.
pub fn is_secret_header(name: &str) -> bool {
    SECRET_HEADERS.iter().any(|s| s.eq_ignore_ascii_case(name))
}
