//! The Claims card: what WebSocket-vs-SSE comparisons commonly say, what is true today, the
//! source that says so, and the lab that shows it live where one does.

use serde::Serialize;

/// How a claim holds up today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    True,
    False,
    Partly,
    /// It was true once.
    Outdated,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Source {
    pub title: &'static str,
    pub url: &'static str,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Claim {
    pub claim: &'static str,
    pub verdict: Verdict,
    pub truth: &'static str,
    pub source: Source,
    /// The lab that shows it, by name.
    pub lab: Option<&'static str>,
}

const WHATWG_SSE: Source = Source {
    title: "HTML Living Standard, 9.2 Server-sent events",
    url: "https://html.spec.whatwg.org/multipage/server-sent-events.html",
};

pub const CLAIMS: &[Claim] = &[
    Claim {
        claim: "More browsers support WebSockets than Server-Sent Events.",
        verdict: Verdict::Outdated,
        truth: "Every current browser supports both. The gap was Internet Explorer and legacy \
                Edge, which never had EventSource; Edge has had it since version 79 (2020).",
        source: Source {
            title: "Can I use: Server-sent events",
            url: "https://caniuse.com/eventsource",
        },
        lab: None,
    },
    Claim {
        claim: "A browser can open only six SSE connections.",
        verdict: Verdict::Partly,
        truth: "Six HTTP/1.1 connections per host name, not per browser, and WebSockets do not \
                count against it. Over HTTP/2 the streams share one connection and the limit \
                is the server's stream limit (usually 100 or more).",
        source: Source {
            title: "MDN: EventSource",
            url: "https://developer.mozilla.org/en-US/docs/Web/API/EventSource",
        },
        lab: Some("connection-limit"),
    },
    Claim {
        claim: "SSE is not extensible.",
        verdict: Verdict::False,
        truth: "An event stream carries any UTF-8 text, named event types (`event:`), ids and \
                a reconnection delay; fields it does not know a client ignores, which is what \
                lets it grow. Request headers and methods are the limit of EventSource, not of \
                SSE: fetch-based clients send any.",
        source: WHATWG_SSE,
        lab: None,
    },
    Claim {
        claim: "WebSockets detect a dropped client by themselves.",
        verdict: Verdict::False,
        truth: "Neither protocol notices a peer that goes silent without closing: TCP does \
                not. A WebSocket needs pings and a pong timeout, SSE a heartbeat and an idle \
                timeout; both are timers someone has to set.",
        source: Source {
            title: "RFC 6455, 5.5.2 Ping",
            url: "https://www.rfc-editor.org/rfc/rfc6455#section-5.5.2",
        },
        lab: Some("dead-peer"),
    },
    Claim {
        claim: "WebSockets carry binary; SSE carries only UTF-8 text.",
        verdict: Verdict::True,
        truth: "An event stream is UTF-8 text, so binary data must be encoded; base64 makes \
                every 3 bytes 4, a third more, before the `data:` framing.",
        source: WHATWG_SSE,
        lab: Some("binary"),
    },
    Claim {
        claim: "WebSockets are more complex to set up.",
        verdict: Verdict::Partly,
        truth: "A WebSocket needs the Upgrade handshake to pass every proxy and load balancer \
                on the way, and reconnection and resumption are the application's to write. \
                SSE is a plain HTTP response, and EventSource reconnects and resumes with \
                Last-Event-ID by itself; sending needs separate requests.",
        source: Source {
            title: "RFC 6455, 4 Opening Handshake",
            url: "https://www.rfc-editor.org/rfc/rfc6455#section-4",
        },
        lab: Some("reconnect"),
    },
];
