//! Why a connection failed, as a stable code: the `cause` of an `error` record
//! (CONTRACT.md).
//!
//! The engine says what happened; the words of advice belong to the front end, which
//! branches on the code (the CLI names its flags, the UI its controls). Codes are never
//! renamed once published: readers of old recordings and scripts match on them. A reader
//! that meets a code it does not know keeps it as [`Cause::Other`] with the text.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A failure's cause. The string forms are CONTRACT.md's.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Cause {
    /// Nothing listens at the address: TCP connection refused.
    Refused,
    /// The host name did not resolve.
    Dns,
    /// No answer within the connect timeout (TCP, TLS or the handshake's response).
    ConnectTimeout,
    /// The peer's certificate is not trusted (unknown issuer, self-signed, expired, or
    /// for another name).
    TlsUntrusted,
    /// Any other TLS failure (protocol, alert, bad CA file).
    TlsOther,
    /// The server answered the handshake, but not with an upgrade (WS) or not with 200
    /// (SSE): the record carries the status and headers.
    HandshakeRejected,
    /// An SSE response with a status of 200 but not `Content-Type: text/event-stream`.
    NotEventStream,
    /// The peer broke the protocol (bad frame, bad UTF-8, bad close code, bad handshake
    /// answer).
    ProtocolViolation,
    /// A message, frame, line or event over its configured limit.
    TooBig,
    /// No pong within the pong timeout after our ping.
    PongTimeout,
    /// No data within the idle timeout.
    IdleTimeout,
    /// The transport broke: TCP reset or closed without a close frame, or a read error.
    TransportLost,
    /// We sent a WebSocket close frame and the peer did not answer it in time.
    CloseTimeout,
    /// SSE gave up reconnecting after the allowed number of failed attempts (the
    /// records before it carry each attempt's own cause).
    AttemptsExhausted,
    /// The run ended (`--timeout`) before `--count` was reached.
    CountNotReached,
    /// What the user asked for cannot be done (bad URL, bad header, bad option).
    BadRequest,
    /// The in-memory recordings of the whole session reached their memory budget, so this
    /// connection stopped recording (and reading): its recording ends with this record.
    MemoryBudget,
    /// The recorded sessions on disk reached their disk budget, or writing the recording
    /// failed: this connection stopped recording (and reading); its recording ends with
    /// this record.
    DiskBudget,
    /// A code this build does not know, kept as it was read.
    Other(String),
}

impl Cause {
    /// Every known cause, for documentation and tests.
    pub const ALL: [Cause; 18] = [
        Cause::Refused,
        Cause::Dns,
        Cause::ConnectTimeout,
        Cause::TlsUntrusted,
        Cause::TlsOther,
        Cause::HandshakeRejected,
        Cause::NotEventStream,
        Cause::ProtocolViolation,
        Cause::TooBig,
        Cause::PongTimeout,
        Cause::IdleTimeout,
        Cause::TransportLost,
        Cause::CloseTimeout,
        Cause::AttemptsExhausted,
        Cause::CountNotReached,
        Cause::BadRequest,
        Cause::MemoryBudget,
        Cause::DiskBudget,
    ];

    pub fn as_str(&self) -> &str {
        match self {
            Cause::Refused => "refused",
            Cause::Dns => "dns",
            Cause::ConnectTimeout => "connect_timeout",
            Cause::TlsUntrusted => "tls_untrusted",
            Cause::TlsOther => "tls_other",
            Cause::HandshakeRejected => "handshake_rejected",
            Cause::NotEventStream => "not_event_stream",
            Cause::ProtocolViolation => "protocol_violation",
            Cause::TooBig => "too_big",
            Cause::PongTimeout => "pong_timeout",
            Cause::IdleTimeout => "idle_timeout",
            Cause::TransportLost => "transport_lost",
            Cause::CloseTimeout => "close_timeout",
            Cause::AttemptsExhausted => "attempts_exhausted",
            Cause::CountNotReached => "count_not_reached",
            Cause::BadRequest => "bad_request",
            Cause::MemoryBudget => "memory_budget",
            Cause::DiskBudget => "disk_budget",
            Cause::Other(s) => s,
        }
    }

    /// The cause named by `code`; an unknown code is kept as [`Cause::Other`].
    pub fn parse(code: &str) -> Cause {
        Cause::ALL
            .iter()
            .find(|c| c.as_str() == code)
            .cloned()
            .unwrap_or_else(|| Cause::Other(code.to_owned()))
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Cause {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Cause {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = std::borrow::Cow::<str>::deserialize(d)?;
        Ok(Cause::parse(&code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_reads_back_as_itself() {
        for c in Cause::ALL {
            assert_eq!(Cause::parse(c.as_str()), c);
            let json = serde_json::to_string(&c).expect("a cause serialises");
            assert_eq!(serde_json::from_str::<Cause>(&json).expect("reads back"), c);
        }
    }

    #[test]
    fn codes_are_snake_case_and_distinct() {
        let mut seen = std::collections::HashSet::new();
        for c in Cause::ALL {
            let code = c.as_str();
            assert!(
                code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{code}"
            );
            assert!(seen.insert(code.to_owned()), "{code} twice");
        }
    }

    #[test]
    fn an_unknown_code_is_kept() {
        assert_eq!(
            Cause::parse("quantum_flux"),
            Cause::Other("quantum_flux".into())
        );
        assert_eq!(Cause::parse("quantum_flux").as_str(), "quantum_flux");
    }
}
