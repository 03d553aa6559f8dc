//! Streamscope's engine: WebSocket and Server-Sent Events clients that turn everything
//! that happens on a connection into a [`Record`] (CONTRACT.md), and the session that
//! keeps many connections with their recordings and statistics.
//!
//! No UI, no HTTP server, no command line here: those subscribe to records and send
//! [`conn::Command`]s. One tokio task runs each connection; records leave it through a
//! bounded channel, so a slow consumer slows the reading instead of losing anything. What
//! needs no IO (records, statistics, the SSE parser, the codec) is `streamscope-model`.

// What a peer or a user sends reaches this code: no `unwrap()` outside tests (STYLE.md).
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod conn;
pub mod open;
pub mod recording;
pub mod session;
pub mod tls;

pub use conn::{
    Command, CommonOptions, ConnHandle, Outcome, RecordSink, SseOptions, WsOptions, open_sse,
    open_ws,
};
pub use open::{OpenSpec, Plan, SpecError};
pub use streamscope_model as model;
pub use streamscope_model::{Body, Cause, ConnId, Dir, Headers, Proto, Record, Timestamp};
pub use tls::TlsOptions;
