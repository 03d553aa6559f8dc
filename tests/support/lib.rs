//! Support for the end-to-end suite: loopback peers and a runner for the built `sscope`.
//!
//! The suite checks the product from outside, as a user or a script sees it: it runs the
//! real binary against real sockets on 127.0.0.1 and reads its NDJSON with this crate's own
//! record type, so CONTRACT.md is tested independently of the engine's types. Every server
//! here binds `127.0.0.1:0` and stops on `Drop`; every run has a deadline.

pub mod bin;
pub mod raw;
pub mod record;
pub mod request;
pub mod run;
pub mod tls;
pub mod ws;

pub use raw::{Gate, RawServer, Script, sse_head};
pub use record::Record;
pub use request::RequestHead;
pub use run::{Output, Run, Sscope, sscope};
pub use ws::{Handshake, Received, WsServer, WsStep};

/// A loopback port that nothing listens on, for "connection refused".
///
/// Binds a port and releases it at once; another test could take it in between, which is
/// unlikely enough on loopback for a test that only needs a refused connect.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
    listener
        .local_addr()
        .expect("a bound listener has an address")
        .port()
}
