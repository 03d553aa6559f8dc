//! Server-Sent Events without IO: the incremental event-stream parser (`parse`) and a
//! plain reference reading of the spec (`reference`) that tests and fuzzing compare it
//! with. The HTTP side (requests, reconnection) is the engine's `conn::sse`.

pub mod parse;
pub mod reference;

pub use parse::{DEFAULT_MAX_EVENT, DEFAULT_MAX_LINE, Item, Limits, ParseError, Parser};
