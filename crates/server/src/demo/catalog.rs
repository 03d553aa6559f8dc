//! The one table of demo endpoints: what `GET /demo` lists, what the router mounts, and the
//! defaults and bounds every handler reads its parameters from. Nothing about a demo's
//! parameters is written anywhere else.
//!
//! What one demo request may cost, at most: [`MAX_RATE`] messages a second, each at most
//! [`MAX_SIZE`] bytes, and `rate × size` at most
//! [`MAX_BYTES_PER_SEC`](super::MAX_BYTES_PER_SEC) (refused with `bad_param` above it); at most
//! [`super::MAX_STREAMS`] demo streams run at once (refused with 503 `busy` beyond), and
//! a page on another site may open none (403 `bad_origin`, in the server's guard).

use axum::Json;
use serde::Serialize;
use serde_json::Value;

use super::{
    PREFIX,
    feed::{MAX_RATE, MAX_SIZE},
};

/// The protocol a demo speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Ws,
    Sse,
}

/// The HTTP method a demo answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// Which handler serves a catalog entry; the router matches on it exhaustively.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    WsEcho,
    WsTicker,
    WsBinary,
    WsScripted,
    WsSilent,
    WsChat,
    SseTicker,
    SseFlaky,
    SseHeartbeat,
    SseRetry,
    SseSilent,
    SseChat,
    SseBinary,
    WsRoom,
    WsFlaky,
    SseRoom,
}

/// One demo endpoint.
#[derive(Debug)]
pub struct DemoSpec {
    /// Path under [`PREFIX`], in axum's syntax.
    pub path: &'static str,
    pub proto: Proto,
    pub method: Method,
    pub title: &'static str,
    /// One line, shown next to the demo in the UI.
    pub description: &'static str,
    pub params: &'static [ParamSpec],
    pub endpoint: Endpoint,
}

/// One query parameter of a demo.
#[derive(Debug)]
pub struct ParamSpec {
    pub name: &'static str,
    pub kind: ParamKind,
    pub description: &'static str,
}

/// A parameter's type, bounds and default. A parameter without a default is optional and
/// absent means what its description says (for example `count`: unlimited).
#[derive(Debug, Clone, Copy)]
pub enum ParamKind {
    Int {
        min: u64,
        max: u64,
        default: Option<u64>,
    },
    Text {
        /// In UTF-8 bytes.
        max_len: usize,
        default: Option<&'static str>,
    },
}

// Parameters several demos share. The bounds protect the app: the feed pacer sends in bursts,
// so even the top rate costs 100 timer wakeups a second, and `MAX_SIZE` bounds one message.

const RATE: ParamSpec = ParamSpec {
    name: "rate",
    kind: ParamKind::Int {
        min: 1,
        max: MAX_RATE,
        default: Some(5),
    },
    description: "messages per second",
};

const COUNT: ParamSpec = ParamSpec {
    name: "count",
    kind: ParamKind::Int {
        min: 1,
        max: u64::MAX / 2,
        default: None,
    },
    description: "stop after this many messages; unlimited when absent",
};

const TICK_SIZE: ParamSpec = ParamSpec {
    name: "size",
    kind: ParamKind::Int {
        min: 1,
        max: MAX_SIZE,
        default: None,
    },
    description: "pad each JSON message to this many bytes (no padding when absent or \
                  smaller than the message, about 110 bytes)",
};

const BINARY_SIZE: ParamSpec = ParamSpec {
    name: "size",
    kind: ParamKind::Int {
        min: 16,
        max: MAX_SIZE,
        default: Some(64),
    },
    description: "bytes per message: 8 bytes n, 8 bytes send time (unix µs), both big-endian, \
                  then filler",
};

const HOLD_S: ParamSpec = ParamSpec {
    name: "hold_s",
    kind: ParamKind::Int {
        min: 1,
        max: 600,
        default: Some(600),
    },
    description: "seconds the silence lasts, connection open, before the server ends it",
};

const RETRY_MS_MAX: u64 = 600_000;

const ROOM: ParamSpec = ParamSpec {
    name: "room",
    kind: ParamKind::Text {
        max_len: 64,
        default: Some("lab"),
    },
    description: "the room's name (letters, digits, '-', '_', '.'): only its members hear each other",
};

/// Every demo endpoint, in the order `GET /demo` lists them.
pub static CATALOG: &[DemoSpec] = &[
    DemoSpec {
        path: "/ws/echo",
        proto: Proto::Ws,
        method: Method::Get,
        title: "Echo",
        description: "sends back every text and binary message it receives; agrees to the \
                      first subprotocol offered",
        params: &[],
        endpoint: Endpoint::WsEcho,
    },
    DemoSpec {
        path: "/ws/ticker",
        proto: Proto::Ws,
        method: Method::Get,
        title: "Ticker",
        description: "JSON text messages at a steady rate, each with the server's send time \
                      for one-way latency; the same feed as the SSE ticker",
        params: &[RATE, COUNT, TICK_SIZE],
        endpoint: Endpoint::WsTicker,
    },
    DemoSpec {
        path: "/ws/binary",
        proto: Proto::Ws,
        method: Method::Get,
        title: "Binary stream",
        description: "binary messages at a steady rate; the same payloads the SSE binary \
                      stream sends as base64",
        params: &[RATE, COUNT, BINARY_SIZE],
        endpoint: Endpoint::WsBinary,
    },
    DemoSpec {
        path: "/ws/scripted",
        proto: Proto::Ws,
        method: Method::Get,
        title: "Scripted peer",
        description: "announces its script, pings, sends one message split into fragments, \
                      then closes with the chosen code and reason",
        params: &[
            ParamSpec {
                name: "ping",
                kind: ParamKind::Text {
                    max_len: 125,
                    default: Some("are you there?"),
                },
                description: "payload of the ping (a control frame carries at most 125 bytes)",
            },
            ParamSpec {
                name: "text",
                kind: ParamKind::Text {
                    max_len: 4096,
                    default: Some("this message left the server in fragments"),
                },
                description: "the text message to send in fragments",
            },
            ParamSpec {
                name: "fragments",
                kind: ParamKind::Int {
                    min: 1,
                    max: 64,
                    default: Some(3),
                },
                description: "how many frames the message is split into (1: not fragmented)",
            },
            ParamSpec {
                name: "code",
                kind: ParamKind::Int {
                    min: 1000,
                    max: 4999,
                    default: Some(4000),
                },
                description: "close code: 1000-1003, 1007-1014 or 3000-4999",
            },
            ParamSpec {
                name: "reason",
                kind: ParamKind::Text {
                    max_len: 123,
                    default: Some("script finished"),
                },
                description: "close reason (at most 123 bytes)",
            },
            ParamSpec {
                name: "step_ms",
                kind: ParamKind::Int {
                    min: 0,
                    max: 10_000,
                    default: Some(500),
                },
                description: "pause between steps, so each shows up on its own",
            },
        ],
        endpoint: Endpoint::WsScripted,
    },
    DemoSpec {
        path: "/ws/silent",
        proto: Proto::Ws,
        method: Method::Get,
        title: "Silent peer",
        description: "sends a few messages, then stops reading and writing without closing: \
                      pings go unanswered (dead-peer lab)",
        params: &[
            ParamSpec {
                name: "messages",
                kind: ParamKind::Int {
                    min: 0,
                    max: 100,
                    default: Some(3),
                },
                description: "messages sent before going silent",
            },
            HOLD_S,
        ],
        endpoint: Endpoint::WsSilent,
    },
    DemoSpec {
        path: "/ws/chat",
        proto: Proto::Ws,
        method: Method::Get,
        title: "Chat room",
        description: "relays every text message to all connected clients, as JSON with the \
                      sender and send time",
        params: &[ParamSpec {
            name: "name",
            kind: ParamKind::Text {
                max_len: 32,
                default: None,
            },
            description: "your name in the room (letters, digits, space, '-', '_', '.'); \
                          guest-N when absent",
        }],
        endpoint: Endpoint::WsChat,
    },
    DemoSpec {
        path: "/sse/ticker",
        proto: Proto::Sse,
        method: Method::Get,
        title: "Ticker",
        description: "named events with ids at a steady rate, each with the server's send \
                      time; the same feed as the WebSocket ticker",
        params: &[
            RATE,
            COUNT,
            TICK_SIZE,
            ParamSpec {
                name: "event",
                kind: ParamKind::Text {
                    max_len: 64,
                    default: Some("tick"),
                },
                description: "the event type (one line)",
            },
        ],
        endpoint: Endpoint::SseTicker,
    },
    DemoSpec {
        path: "/sse/flaky",
        proto: Proto::Sse,
        method: Method::Get,
        title: "Flaky stream",
        description: "drops the connection abruptly every few events and resumes after \
                      Last-Event-ID with no gap in ids",
        params: &[
            ParamSpec {
                name: "every",
                kind: ParamKind::Int {
                    min: 1,
                    max: 100_000,
                    default: Some(5),
                },
                description: "events per connection before the drop",
            },
            ParamSpec {
                name: "retry_ms",
                kind: ParamKind::Int {
                    min: 0,
                    max: RETRY_MS_MAX,
                    default: Some(1000),
                },
                description: "reconnection delay announced with retry:",
            },
            RATE,
            COUNT,
        ],
        endpoint: Endpoint::SseFlaky,
    },
    DemoSpec {
        path: "/sse/heartbeat",
        proto: Proto::Sse,
        method: Method::Get,
        title: "Heartbeat",
        description: "only `: heartbeat` comments at an interval, which EventSource hides; \
                      silent after count (dead-peer lab)",
        params: &[
            ParamSpec {
                name: "interval_ms",
                kind: ParamKind::Int {
                    min: 10,
                    max: 60_000,
                    default: Some(1000),
                },
                description: "time between heartbeat comments",
            },
            ParamSpec {
                name: "count",
                kind: ParamKind::Int {
                    min: 1,
                    max: u64::MAX / 2,
                    default: None,
                },
                description: "heartbeats before the stream goes silent without closing; \
                              unlimited when absent",
            },
            HOLD_S,
        ],
        endpoint: Endpoint::SseHeartbeat,
    },
    DemoSpec {
        path: "/sse/retry",
        proto: Proto::Sse,
        method: Method::Get,
        title: "Retry",
        description: "sets retry:, sends a few events and ends cleanly; the client waits \
                      retry ms and resumes after Last-Event-ID, and gets 204 once all are sent",
        params: &[
            ParamSpec {
                name: "retry_ms",
                kind: ParamKind::Int {
                    min: 0,
                    max: RETRY_MS_MAX,
                    default: Some(2000),
                },
                description: "reconnection delay announced with retry:",
            },
            ParamSpec {
                name: "per_connection",
                kind: ParamKind::Int {
                    min: 1,
                    max: 100_000,
                    default: Some(3),
                },
                description: "events sent on each connection before it ends",
            },
            ParamSpec {
                name: "total",
                kind: ParamKind::Int {
                    min: 1,
                    max: u64::MAX / 2,
                    default: Some(12),
                },
                description: "events over all connections; after the last, a reconnection \
                              gets 204 No Content, which stops EventSource",
            },
            RATE,
        ],
        endpoint: Endpoint::SseRetry,
    },
    DemoSpec {
        path: "/sse/silent",
        proto: Proto::Sse,
        method: Method::Get,
        title: "Silent stream",
        description: "response headers, optionally one event, then nothing, with the \
                      connection held open (dead-peer lab)",
        params: &[
            ParamSpec {
                name: "first",
                kind: ParamKind::Int {
                    min: 0,
                    max: 1,
                    default: Some(1),
                },
                description: "1: send one event before going silent; 0: send nothing at all",
            },
            HOLD_S,
        ],
        endpoint: Endpoint::SseSilent,
    },
    DemoSpec {
        path: "/sse/chat",
        proto: Proto::Sse,
        method: Method::Post,
        title: "LLM-style answer",
        description: "POST {\"prompt\": \"…\"}: the answer streams token by token as \
                      data: {\"token\": …} events, then data: [DONE]",
        params: &[ParamSpec {
            name: "rate",
            kind: ParamKind::Int {
                min: 1,
                max: 1000,
                default: Some(20),
            },
            description: "tokens per second",
        }],
        endpoint: Endpoint::SseChat,
    },
    DemoSpec {
        path: "/sse/binary",
        proto: Proto::Sse,
        method: Method::Get,
        title: "Binary as base64",
        description: "the WebSocket binary stream's payloads, base64 in data: lines, to \
                      compare bytes on the wire",
        params: &[RATE, COUNT, BINARY_SIZE],
        endpoint: Endpoint::SseBinary,
    },
    DemoSpec {
        path: "/ws/room",
        proto: Proto::Ws,
        method: Method::Get,
        title: "Room, both ways",
        description: "every text message sent goes, unchanged, to every member of the room, \
                      the sender included, on the same connection (direction lab)",
        params: &[ROOM],
        endpoint: Endpoint::WsRoom,
    },
    DemoSpec {
        path: "/ws/flaky",
        proto: Proto::Ws,
        method: Method::Get,
        title: "Flaky feed",
        description: "a feed numbered by the server's clock; each client gets `every` \
                      messages, then the connection drops without a close frame, and what \
                      is numbered while it is away it never gets (reconnect lab)",
        params: &[
            ParamSpec {
                name: "every",
                kind: ParamKind::Int {
                    min: 1,
                    max: 100_000,
                    default: Some(5),
                },
                description: "messages per connection before the drop",
            },
            RATE,
            ParamSpec {
                name: "feed",
                kind: ParamKind::Text {
                    max_len: 64,
                    default: Some("lab"),
                },
                description: "the feed's name: clients of one name share its clock",
            },
        ],
        endpoint: Endpoint::WsFlaky,
    },
    DemoSpec {
        path: "/sse/room",
        proto: Proto::Sse,
        method: Method::Get,
        title: "Room, listening",
        description: "every message POSTed to /demo/sse/room/send?room=NAME (a text body, \
                      answered 204), one data: event each: SSE's half of a chat (direction lab)",
        params: &[ROOM],
        endpoint: Endpoint::SseRoom,
    },
];

/// One entry of `GET /demo`.
#[derive(Debug, Serialize)]
pub(super) struct Listing {
    path: String,
    proto: Proto,
    method: Method,
    title: &'static str,
    description: &'static str,
    params: Vec<ParamListing>,
}

#[derive(Debug, Serialize)]
pub(super) struct ParamListing {
    name: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    /// `null` when the parameter is optional; its description says what absent means.
    default: Value,
    description: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    min: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_bytes: Option<usize>,
}

impl ParamListing {
    fn new(spec: &ParamSpec) -> Self {
        let mut listing = Self {
            name: spec.name,
            kind: "integer",
            default: Value::Null,
            description: spec.description,
            min: None,
            max: None,
            max_bytes: None,
        };
        match spec.kind {
            ParamKind::Int { min, max, default } => {
                listing.default = default.map_or(Value::Null, Value::from);
                listing.min = Some(min);
                listing.max = Some(max);
            }
            ParamKind::Text { max_len, default } => {
                listing.kind = "string";
                listing.default = default.map_or(Value::Null, Value::from);
                listing.max_bytes = Some(max_len);
            }
        }
        listing
    }
}

/// `GET /demo`: the catalog as JSON, so the UI can offer every demo with its parameters.
pub(super) async fn index() -> Json<Vec<Listing>> {
    let listings = CATALOG
        .iter()
        .map(|spec| Listing {
            path: format!("{PREFIX}{}", spec.path),
            proto: spec.proto,
            method: spec.method,
            title: spec.title,
            description: spec.description,
            params: spec.params.iter().map(ParamListing::new).collect(),
        })
        .collect();
    Json(listings)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_default_is_within_its_own_bounds() {
        for spec in CATALOG {
            for param in spec.params {
                match param.kind {
                    ParamKind::Int { min, max, default } => {
                        assert!(min <= max, "{} {}", spec.path, param.name);
                        if let Some(d) = default {
                            assert!((min..=max).contains(&d), "{} {}", spec.path, param.name);
                        }
                    }
                    ParamKind::Text { max_len, default } => {
                        if let Some(d) = default {
                            assert!(d.len() <= max_len, "{} {}", spec.path, param.name);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn paths_and_param_names_are_unique() {
        let mut paths = HashSet::new();
        for spec in CATALOG {
            assert!(paths.insert(spec.path), "{} listed twice", spec.path);
            let mut names = HashSet::new();
            for param in spec.params {
                assert!(names.insert(param.name), "{} {}", spec.path, param.name);
            }
        }
    }
}
