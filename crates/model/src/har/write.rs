//! Writing a HAR: one entry per connection, in the shape Chrome DevTools writes and
//! imports (front_end/models/har/Log.ts and Importer.ts).
//!
//! WebSocket frames go into `_webSocketMessages` with Chrome's opcodes (control frames
//! too: close as 8 with its code and reason as the payload, ping 9, pong 10) and `time` in
//! epoch seconds; SSE events into `_eventSourceMessages` and, with comments and `retry`
//! fields, into the raw `text/event-stream` body rebuilt from the records. Entries are
//! serialised one at a time straight into the writer: memory holds one connection's body,
//! not the file.

use std::borrow::Cow;
use std::io::{self, Write};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Serialize, Serializer};

use super::{ConnExport, REDACTED, WriteOptions, is_secret_header};
use crate::record::{Body, Dir, Proto, Record, Timestamp, WireFrame};

/// Writes `conns` as a HAR 1.2 file, one entry each, in the order given. A connection
/// without records is left out.
///
/// # Errors
/// Only what `out` returns.
pub fn write(conns: &[ConnExport<'_>], opts: &WriteOptions, out: impl Write) -> io::Result<()> {
    let har = HarOut {
        log: LogOut {
            version: "1.2",
            creator: Creator {
                name: "Streamscope",
                version: env!("CARGO_PKG_VERSION"),
            },
            pages: [],
            entries: EntriesOut { conns, opts },
        },
    };
    // Pretty, as Chrome and Playwright write HARs: people open them in editors.
    serde_json::to_writer_pretty(out, &har).map_err(io::Error::from)
}

/// Records of many connections grouped per connection, in the order each connection
/// first appears, each group in the order given (what [`write`] takes).
pub fn split_by_conn(records: Vec<Record>) -> Vec<Vec<Record>> {
    let mut groups: Vec<Vec<Record>> = Vec::new();
    let mut index = std::collections::HashMap::new();
    for r in records {
        let i = *index.entry(r.conn).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[i].push(r);
    }
    groups
}

#[derive(Serialize)]
struct HarOut<'a> {
    log: LogOut<'a>,
}

#[derive(Serialize)]
struct LogOut<'a> {
    version: &'static str,
    creator: Creator,
    pages: [(); 0],
    entries: EntriesOut<'a>,
}

#[derive(Serialize)]
struct Creator {
    name: &'static str,
    version: &'static str,
}

struct EntriesOut<'a> {
    conns: &'a [ConnExport<'a>],
    opts: &'a WriteOptions,
}

impl Serialize for EntriesOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Built one entry at a time as the serialiser asks for it.
        s.collect_seq(
            self.conns
                .iter()
                .filter(|c| !c.records.is_empty())
                .map(|c| entry(c, self.opts)),
        )
    }
}

#[derive(Serialize)]
struct EntryOut<'r> {
    #[serde(rename = "startedDateTime")]
    started: String,
    time: f64,
    request: RequestOut,
    response: ResponseOut,
    cache: Empty,
    timings: Timings,
    #[serde(rename = "_resourceType")]
    resource_type: &'static str,
    #[serde(rename = "_webSocketMessages", skip_serializing_if = "Option::is_none")]
    ws_messages: Option<WsMessages<'r>>,
    #[serde(
        rename = "_eventSourceMessages",
        skip_serializing_if = "Option::is_none"
    )]
    sse_messages: Option<SseMessages<'r>>,
}

#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
struct HeaderOut {
    name: String,
    value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RequestOut {
    method: String,
    url: String,
    http_version: &'static str,
    headers: Vec<HeaderOut>,
    query_string: [(); 0],
    cookies: [(); 0],
    headers_size: i64,
    body_size: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResponseOut {
    status: u16,
    status_text: &'static str,
    http_version: &'static str,
    headers: Vec<HeaderOut>,
    /// Left empty: cookies are in the headers, redacted with them.
    cookies: [(); 0],
    content: ContentOut,
    #[serde(rename = "redirectURL")]
    redirect_url: &'static str,
    headers_size: i64,
    body_size: i64,
    /// Chrome's field for why the request failed: an SSE connection's first error.
    #[serde(rename = "_error", skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ContentOut {
    size: usize,
    mime_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
}

/// HAR requires timings; a record holds none of these phases, and -1 means "not known".
#[derive(Serialize)]
struct Timings {
    blocked: i64,
    dns: i64,
    ssl: i64,
    connect: i64,
    send: i64,
    wait: i64,
    receive: i64,
}

const TIMINGS: Timings = Timings {
    blocked: -1,
    dns: -1,
    ssl: -1,
    connect: -1,
    send: 0,
    wait: 0,
    receive: 0,
};

fn seconds(t: Timestamp) -> f64 {
    t.0 as f64 / 1e6
}

fn header_list<'h>(
    headers: impl IntoIterator<Item = &'h (String, String)>,
    opts: &WriteOptions,
) -> Vec<HeaderOut> {
    headers
        .into_iter()
        .map(|(name, value)| HeaderOut {
            name: name.clone(),
            value: if opts.redact && is_secret_header(name) {
                REDACTED.to_owned()
            } else {
                value.clone()
            },
        })
        .collect()
}

fn status_text(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "",
    }
}

fn entry<'r>(c: &ConnExport<'r>, opts: &WriteOptions) -> EntryOut<'r> {
    let records = c.records;
    // The caller skips empty connections; a default keeps this total anyway.
    let first = records.first().map_or(Timestamp(0), |r| r.t);
    let last = records.last().map_or(first, |r| r.t);
    let proto = records.first().map_or(Proto::Ws, |r| r.proto);
    let conn = records
        .first()
        .map(|r| r.conn.to_string())
        .unwrap_or_default();
    let url = c.info.url.clone().unwrap_or_else(|| {
        let scheme = match proto {
            Proto::Ws => "ws",
            Proto::Sse => "http",
        };
        format!("{scheme}://unknown.invalid/{conn}")
    });
    // HAR's `headersSize`: the WebSocket handshake's heads, -1 where unknown.
    let handshake = records.iter().find_map(|r| match &r.body {
        Body::Open { .. } => r.wire.as_deref().and_then(|w| w.handshake.as_ref()),
        _ => None,
    });
    let head_size = |size: Option<u64>| size.and_then(|s| i64::try_from(s).ok()).unwrap_or(-1);
    let request = RequestOut {
        method: c.info.method.clone().unwrap_or_else(|| "GET".to_owned()),
        url,
        http_version: "HTTP/1.1",
        headers: header_list(&c.info.request_headers, opts),
        query_string: [],
        cookies: [],
        headers_size: head_size(handshake.map(|h| h.request_size)),
        body_size: 0,
    };
    // The response: the first `open`; for a connection that never opened, the status and
    // headers its `error` record kept.
    let (status, headers) = records
        .iter()
        .find_map(|r| match &r.body {
            Body::Open {
                status, headers, ..
            } => Some((*status, headers.as_slice())),
            _ => None,
        })
        .or_else(|| {
            records.iter().find_map(|r| match &r.body {
                Body::Error {
                    status, headers, ..
                } => Some((status.unwrap_or(0), headers.as_deref().unwrap_or(&[]))),
                _ => None,
            })
        })
        .unwrap_or((0, &[]));
    // Readers take an empty `_error` for none, so the first error that says something.
    let first_error = records.iter().find_map(|r| match &r.body {
        Body::Error { message, .. } if !message.trim().is_empty() => Some(message.clone()),
        _ => None,
    });
    let (content, error, ws_messages, sse_messages, resource_type) = match proto {
        Proto::Ws => (
            ContentOut {
                size: 0,
                mime_type: "x-unknown",
                text: None,
            },
            None,
            Some(WsMessages(records)),
            None,
            "websocket",
        ),
        Proto::Sse => {
            let body = event_stream(records);
            (
                ContentOut {
                    size: body.len(),
                    mime_type: "text/event-stream",
                    text: (!body.is_empty()).then_some(body),
                },
                first_error,
                None,
                Some(SseMessages(records)),
                "eventsource",
            )
        }
    };
    EntryOut {
        started: first.to_string(),
        time: (last.0 - first.0) as f64 / 1e3,
        request,
        response: ResponseOut {
            status,
            status_text: status_text(status),
            http_version: "HTTP/1.1",
            headers: header_list(headers, opts),
            cookies: [],
            content,
            redirect_url: "",
            headers_size: head_size(handshake.map(|h| h.response_size)),
            body_size: -1,
            error,
        },
        cache: Empty {},
        timings: TIMINGS,
        resource_type,
        ws_messages,
        sse_messages,
    }
}

struct WsMessages<'r>(&'r [Record]);

#[derive(Serialize)]
struct WsMessageOut<'r> {
    #[serde(rename = "type")]
    kind: &'static str,
    time: f64,
    opcode: i32,
    data: Cow<'r, str>,
    // Wire figures (README, "Contract additions"), as custom fields: HAR has none for
    // them, and readers skip what starts with `_`.
    #[serde(rename = "_wireBytes", skip_serializing_if = "Option::is_none")]
    wire_bytes: Option<u64>,
    #[serde(rename = "_frames", skip_serializing_if = "Option::is_none")]
    frames: Option<u32>,
    #[serde(rename = "_compressedSize", skip_serializing_if = "Option::is_none")]
    compressed_size: Option<u64>,
    #[serde(rename = "_frameList", skip_serializing_if = "Option::is_none")]
    frame_list: Option<&'r [WireFrame]>,
}

impl Serialize for WsMessages<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().filter_map(ws_message))
    }
}

/// A frame as Chrome writes one: `data` is the text for opcode 1, base64 otherwise; an
/// error is `type: "error"` with opcode -1, as Chrome's frame errors are.
fn ws_message(r: &Record) -> Option<WsMessageOut<'_>> {
    let kind = match r.dir {
        Dir::Out => "send",
        Dir::In | Dir::Meta => "receive",
    };
    let b64 = |bytes: &[u8]| Cow::Owned(BASE64.encode(bytes));
    let (kind, opcode, data) = match &r.body {
        Body::Text(text) => (kind, 1, Cow::Borrowed(text.as_str())),
        Body::Binary(bytes) => (kind, 2, b64(bytes)),
        Body::Close { code, reason } => {
            // RFC 6455 §5.5.1: the code, big-endian, then the reason; nothing without a code.
            let mut payload = Vec::with_capacity(2 + reason.len());
            if let Some(code) = code {
                payload.extend_from_slice(&code.to_be_bytes());
                payload.extend_from_slice(reason.as_bytes());
            }
            (kind, 8, b64(&payload))
        }
        Body::Ping(bytes) => (kind, 9, b64(bytes)),
        Body::Pong(bytes) => (kind, 10, b64(bytes)),
        Body::Error { message, .. } => ("error", -1, Cow::Borrowed(message.as_str())),
        _ => return None,
    };
    let wire = r.wire.as_deref().filter(|w| w.frames > 0);
    Some(WsMessageOut {
        kind,
        time: seconds(r.t),
        opcode,
        data,
        wire_bytes: wire.map(|w| w.bytes),
        frames: wire.map(|w| w.frames),
        compressed_size: wire.and_then(|w| w.compressed_size),
        frame_list: wire
            .map(|w| w.frame_list.as_slice())
            .filter(|l| !l.is_empty()),
    })
}

struct SseMessages<'r>(&'r [Record]);

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SseMessageOut<'r> {
    time: f64,
    event_name: &'r str,
    /// `""` when no id is in force, as CDP reports it.
    event_id: &'r str,
    data: &'r str,
}

impl Serialize for SseMessages<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().filter_map(|r| match &r.body {
            Body::Event { event, data, id } => Some(SseMessageOut {
                time: seconds(r.t),
                event_name: event,
                event_id: id.as_deref().unwrap_or(""),
                data,
            }),
            _ => None,
        }))
    }
}

/// The lines of `text` for one field each; a CR, LF or CRLF inside a value would end the
/// field, so it starts the next line of the same field instead.
fn field_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let s = rest?;
        match s.find(['\r', '\n']) {
            Some(i) => {
                let skip = if s[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&s[i + skip..]);
                Some(&s[..i])
            }
            None => {
                rest = None;
                Some(s)
            }
        }
    })
}

/// The `text/event-stream` body that gives these records back when parsed (WHATWG
/// event stream interpretation): comments and `retry` fields where they were, each event
/// as its `id` (when the last event ID changed), `event` (unless `message`) and `data`
/// lines and a blank line.
pub(super) fn event_stream(records: &[Record]) -> String {
    let mut body = String::new();
    let mut last_id: Option<&str> = None;
    for r in records {
        match &r.body {
            Body::Comment(text) => {
                for line in field_lines(text) {
                    body.push(':');
                    body.push_str(line);
                    body.push('\n');
                }
            }
            Body::Retry { retry_ms } => {
                body.push_str(&format!("retry: {retry_ms}\n"));
            }
            Body::Event { event, data, id } => {
                // A stream can set an id but never unset it (a later `id:` sets it to
                // ""): an id that goes back to none is written as it stays.
                if let Some(id) = id.as_deref().filter(|id| Some(*id) != last_id) {
                    body.push_str("id: ");
                    body.push_str(&id.replace(['\r', '\n'], " "));
                    body.push('\n');
                    last_id = Some(id);
                }
                if event != "message" {
                    body.push_str("event: ");
                    body.push_str(&event.replace(['\r', '\n'], " "));
                    body.push('\n');
                }
                for line in field_lines(data) {
                    body.push_str("data: ");
                    body.push_str(line);
                    body.push('\n');
                }
                body.push('\n');
            }
            _ => {}
        }
    }
    body
}
