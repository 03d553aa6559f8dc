//! Streamscope's engine: WebSocket and Server-Sent Events clients that turn everything
//! that happens on a connection into a [`Record`] (CONTRACT.md).
//!
//! No UI, no HTTP server, no command line here: those subscribe to records and send
//! [`conn::Command`]s. One tokio task runs each connection; records leave it through a
//! bounded channel, so a slow consumer slows the reading instead of losing anything.

pub mod conn;
pub mod hub;
pub mod input;
pub mod record;
pub mod recorder;
pub mod sse;
pub mod stats;
pub mod tls;

pub use conn::{
    Command, CommonOptions, ConnHandle, Outcome, RecordSink, SseOptions, WsOptions, open_sse,
    open_ws,
};
pub use record::{Body, ConnId, Dir, Headers, Proto, Record, Timestamp};
pub use tls::TlsOptions;
