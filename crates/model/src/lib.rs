//! Streamscope's model: what a connection's history is made of, with no IO.
//!
//! It owns the record (CONTRACT.md) and its NDJSON form (`ndjson` reads whole files
//! strictly), HAR import and export (`har`), timestamps, the typed causes of
//! failures, rolling statistics, the recording codec, the SSE event-stream parser and the
//! parsers for what a person types (headers, hex). It never opens a socket, spawns a task
//! or reads a file: the engine, the chart renderer, importers, labs and fuzz targets build
//! on it alike.

// What a peer or a user sends reaches this code: no `unwrap()` outside tests (STYLE.md).
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod cause;
pub mod codec;
pub mod har;
pub mod input;
pub mod name;
pub mod ndjson;
pub mod record;
pub mod sse;
pub mod stats;
pub mod time;

pub use cause::Cause;
pub use record::{Body, ConnId, Dir, Headers, Proto, Record};
pub use time::Timestamp;
