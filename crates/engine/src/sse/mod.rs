//! Server-Sent Events: the event-stream parser. The HTTP side lives in `conn::sse`.

pub mod parse;

pub use parse::{Item, Limits, ParseError, Parser};
