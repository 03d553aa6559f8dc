//! What to do next after a failure, in the command line's words: the engine's `error`
//! records say what happened and carry a [`Cause`]; only here are flags named.
//!
//! The UI has its own wording for the same codes (ui/src/app/advice.ts), naming its
//! controls instead.

use streamscope_engine::{Cause, Proto};

/// Advice for a failure of `cause` on a `proto` connection, or `None` when there is
/// nothing a flag can change.
pub(crate) fn advice(cause: &Cause, proto: Proto) -> Option<&'static str> {
    Some(match (cause, proto) {
        (Cause::Refused, _) => {
            "nothing listens there: is the server running, and is the port right?"
        }
        (Cause::Dns, _) => "check the host name",
        (Cause::ConnectTimeout, _) => {
            "check the address, or raise --connect-timeout for a slow server"
        }
        (Cause::TlsUntrusted, _) => {
            "pass --ca FILE (PEM) to trust a private CA, or --insecure to skip verification"
        }
        (Cause::HandshakeRejected, Proto::Ws) => {
            "check the path, and any header or auth the server wants (-H, --auth-bearer, --auth-basic)"
        }
        (Cause::HandshakeRejected, Proto::Sse) => {
            "check the path, the method (--method, --body), and any header or auth the server wants (-H, --auth-bearer, --auth-basic)"
        }
        (Cause::NotEventStream, _) => {
            "this URL does not serve an event stream; for a WebSocket endpoint use `sscope ws`"
        }
        (Cause::TooBig, Proto::Ws) => "raise the limit with --max-message or --max-frame",
        (Cause::TooBig, Proto::Sse) => "raise the limit with --max-line or --max-event",
        (Cause::PongTimeout, _) => "raise --pong-timeout for a slow path",
        (Cause::IdleTimeout, _) => "raise --idle-timeout for a stream that is quiet for longer",
        (Cause::CountNotReached, _) => "raise --timeout or lower --count",
        (Cause::AttemptsExhausted, _) => "raise --max-attempts, or add --backoff",
        // Only the server's session has a budget; `sscope serve` takes the flag.
        (Cause::MemoryBudget, _) => "start `sscope serve` with a larger --memory-budget",
        (Cause::DiskBudget, _) => {
            "delete recorded sessions, or start `sscope serve` with a larger --disk-budget"
        }
        (
            Cause::TlsOther
            | Cause::ProtocolViolation
            | Cause::TransportLost
            | Cause::CloseTimeout
            | Cause::BadRequest
            | Cause::Other(_),
            _,
        ) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_advice_names_the_flags() {
        let a = advice(&Cause::TlsUntrusted, Proto::Ws).unwrap_or_default();
        assert!(a.contains("--ca FILE") && a.contains("--insecure"), "{a}");
        assert!(advice(&Cause::TooBig, Proto::Sse).is_some_and(|a| a.contains("--max-line")));
        assert_eq!(advice(&Cause::Other("new".into()), Proto::Ws), None);
    }
}
