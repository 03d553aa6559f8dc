//! The record: one thing that happened on a connection, as CONTRACT.md fixes it.
//!
//! This module owns the in-memory shape of a record and its NDJSON form (both ways).
//! It knows nothing of sockets: connection tasks build records, the recorder and
//! printers consume them.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use serde::de::Error as _;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use crate::cause::Cause;
pub use crate::time::Timestamp;

/// A connection id, `c1`, `c2`, … within one process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u32);

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "c{}", self.0)
    }
}

impl FromStr for ConnId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.strip_prefix('c')
            .and_then(|n| n.parse().ok())
            .map(ConnId)
            .ok_or_else(|| format!("connection id {s:?} is not of the form c1, c2, …"))
    }
}

/// Which protocol a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proto {
    Ws,
    Sse,
}

impl Proto {
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Ws => "ws",
            Proto::Sse => "sse",
        }
    }
}

/// From the peer, sent by us, or about the connection itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dir {
    In,
    Out,
    Meta,
}

impl Dir {
    pub fn as_str(self) -> &'static str {
        match self {
            Dir::In => "in",
            Dir::Out => "out",
            Dir::Meta => "meta",
        }
    }
}

/// Response headers: lower-case names in the order the peer sent them, a repeated
/// header joined with `, ` into one entry.
pub type Headers = Vec<(String, String)>;

/// What one WebSocket message or control frame cost on the wire (a contract addition,
/// README "Contract additions"): the frames that carried it as they went, not only the
/// payload a library hands back. On an SSE item only `bytes` is set: its event-stream
/// bytes since the item before it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Wire {
    /// Bytes on the wire: every frame's header, mask key and payload.
    pub bytes: u64,
    /// Frames that carried it (1 for a control frame or an unfragmented message).
    pub frames: u32,
    /// The payload as it crossed the wire when permessage-deflate compressed it; absent
    /// for an uncompressed message.
    pub compressed_size: Option<u64>,
    /// Each frame, for a message that went in more than one; empty otherwise (one frame
    /// says nothing `frames`, the kind and `compressed_size` do not).
    pub frame_list: Vec<WireFrame>,
    /// On an `open` record: the opening handshake.
    pub handshake: Option<Handshake>,
    /// On an SSE item of a `Transfer-Encoding: chunked` body: the chunk framing bytes
    /// (size lines, extensions, the CRLF after each chunk's data) read before this item's
    /// first byte and after the item before it. Absent when the body is not chunked.
    pub framing_bytes: Option<u64>,
}

/// The opening handshake as it went (a contract addition).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Handshake {
    /// Bytes of our request head.
    pub request_size: u64,
    /// Bytes of the server's response head.
    pub response_size: u64,
    /// The extensions the server agreed to, as its `Sec-WebSocket-Extensions` said them.
    pub extensions: Option<String>,
}

impl Wire {
    /// One frame's worth: a control frame or an unfragmented message.
    pub fn frame(bytes: u64, compressed_size: Option<u64>) -> Wire {
        Wire {
            bytes,
            frames: 1,
            compressed_size,
            ..Wire::default()
        }
    }
}

/// One frame's header as it crossed the wire (RFC 6455 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireFrame {
    pub fin: bool,
    pub opcode: u8,
    /// Set on the first frame of a compressed message (RFC 7692 §6).
    pub rsv1: bool,
    /// Client frames are masked, server frames are not (RFC 6455 §5.1).
    pub masked: bool,
    /// Payload length as the header states it.
    pub len: u64,
}

/// What happened, with the fields CONTRACT.md gives each kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// The connection is established (WS 101; SSE 200 with `text/event-stream`).
    Open {
        status: u16,
        headers: Headers,
        subprotocol: Option<String>,
    },
    Text(String),
    Binary(Bytes),
    Ping(Bytes),
    Pong(Bytes),
    /// `code` is absent when the close frame had no payload.
    Close {
        code: Option<u16>,
        reason: String,
    },
    /// An SSE event; `id` is the last event ID in force after it.
    Event {
        event: String,
        data: String,
        id: Option<String>,
    },
    /// An SSE comment: the text after `:`, verbatim.
    Comment(String),
    /// A valid SSE `retry:` field.
    Retry {
        retry_ms: u64,
    },
    /// The SSE client is about to send a reconnection request.
    Reconnect {
        retry_ms: u64,
        attempt: u32,
        last_event_id: Option<String>,
    },
    /// The SSE server closed the stream or answered 204.
    End,
    /// Why the connection failed or a request was refused: `message` says what
    /// happened in words, `cause` as a stable code for front ends to branch on.
    Error {
        message: String,
        /// Absent in records from before causes were typed, or from other tools.
        cause: Option<Cause>,
        status: Option<u16>,
        headers: Option<Headers>,
    },
}

impl Body {
    /// Every record kind of CONTRACT.md, WebSocket's and SSE's, as [`Body::kind`] names them.
    pub const KINDS: &[&str] = &[
        "open",
        "text",
        "binary",
        "ping",
        "pong",
        "close",
        "event",
        "comment",
        "retry",
        "reconnect",
        "end",
        "error",
    ];

    /// The record's `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Body::Open { .. } => "open",
            Body::Text(_) => "text",
            Body::Binary(_) => "binary",
            Body::Ping(_) => "ping",
            Body::Pong(_) => "pong",
            Body::Close { .. } => "close",
            Body::Event { .. } => "event",
            Body::Comment(_) => "comment",
            Body::Retry { .. } => "retry",
            Body::Reconnect { .. } => "reconnect",
            Body::End => "end",
            Body::Error { .. } => "error",
        }
    }

    /// Payload bytes for the kinds that carry `size`.
    pub fn size(&self) -> Option<usize> {
        match self {
            Body::Text(s) | Body::Comment(s) => Some(s.len()),
            Body::Event { data, .. } => Some(data.len()),
            Body::Binary(b) | Body::Ping(b) | Body::Pong(b) => Some(b.len()),
            _ => None,
        }
    }

    /// True for the inbound data kinds that `--count` counts and charts call events.
    pub fn is_data(&self) -> bool {
        matches!(self, Body::Text(_) | Body::Binary(_) | Body::Event { .. })
    }
}

/// One thing that happened on a connection.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub t: Timestamp,
    pub conn: ConnId,
    pub proto: Proto,
    pub seq: u64,
    pub dir: Dir,
    pub body: Body,
    /// What it cost on the wire, where the engine saw it (WebSocket frames, the opening
    /// handshake); absent in records from other tools and older versions.
    pub wire: Option<Box<Wire>>,
}

impl Record {
    pub fn kind(&self) -> &'static str {
        self.body.kind()
    }

    /// A WebSocket record of `c1` with `seq` 0 at `micros`: for the tests of this crate and
    /// the chart's, which care only about time, direction and body. Not part of the API.
    #[doc(hidden)]
    pub fn test_at(micros: i64, dir: Dir, body: Body) -> Record {
        Record {
            t: Timestamp(micros),
            conn: ConnId(1),
            proto: Proto::Ws,
            seq: 0,
            dir,
            body,
            wire: None,
        }
    }

    /// Appends the record as one line of NDJSON (with the trailing `\n`).
    pub fn write_ndjson(&self, out: &mut Vec<u8>) {
        // Serializing into a Vec cannot fail: every field is a string, a number or a map
        // of strings.
        if serde_json::to_writer(&mut *out, self).is_ok() {
            out.push(b'\n');
        }
    }

    /// The record as one line of JSON, without the trailing newline.
    pub fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(128);
        self.write_ndjson(&mut out);
        out.pop();
        String::from_utf8(out).unwrap_or_default()
    }

    /// Parses one NDJSON line.
    pub fn from_json(line: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(line)
    }
}

struct HeadersMap<'a>(&'a Headers);

impl Serialize for HeadersMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

struct B64<'a>(&'a [u8]);

impl Serialize for B64<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&BASE64.encode(self.0))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 27];
        self.format_into(&mut buf);
        s.serialize_str(std::str::from_utf8(&buf).map_err(serde::ser::Error::custom)?)
    }
}

impl Serialize for Record {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("t", &self.t)?;
        m.serialize_entry("conn", &ConnIdStr(self.conn))?;
        m.serialize_entry("proto", self.proto.as_str())?;
        m.serialize_entry("seq", &self.seq)?;
        m.serialize_entry("dir", self.dir.as_str())?;
        m.serialize_entry("kind", self.body.kind())?;
        if let Some(size) = self.body.size() {
            m.serialize_entry("size", &size)?;
        }
        match &self.body {
            Body::Open {
                status,
                headers,
                subprotocol,
            } => {
                m.serialize_entry("status", status)?;
                m.serialize_entry("headers", &HeadersMap(headers))?;
                if let Some(p) = subprotocol {
                    m.serialize_entry("subprotocol", p)?;
                }
            }
            Body::Text(s) | Body::Comment(s) => m.serialize_entry("data", s)?,
            Body::Binary(b) | Body::Ping(b) | Body::Pong(b) => {
                m.serialize_entry("data_b64", &B64(b))?
            }
            Body::Close { code, reason } => {
                if let Some(c) = code {
                    m.serialize_entry("code", c)?;
                }
                m.serialize_entry("reason", reason)?;
            }
            Body::Event { event, data, id } => {
                m.serialize_entry("event", event)?;
                m.serialize_entry("data", data)?;
                if let Some(id) = id {
                    m.serialize_entry("id", id)?;
                }
            }
            Body::Retry { retry_ms } => m.serialize_entry("retry_ms", retry_ms)?,
            Body::Reconnect {
                retry_ms,
                attempt,
                last_event_id,
            } => {
                m.serialize_entry("retry_ms", retry_ms)?;
                m.serialize_entry("attempt", attempt)?;
                if let Some(id) = last_event_id {
                    m.serialize_entry("last_event_id", id)?;
                }
            }
            Body::End => {}
            Body::Error {
                message,
                cause,
                status,
                headers,
            } => {
                m.serialize_entry("message", message)?;
                if let Some(c) = cause {
                    m.serialize_entry("cause", c)?;
                }
                if let Some(st) = status {
                    m.serialize_entry("status", st)?;
                }
                if let Some(h) = headers {
                    m.serialize_entry("headers", &HeadersMap(h))?;
                }
            }
        }
        if let Some(w) = &self.wire {
            if w.bytes > 0 || w.frames > 0 {
                m.serialize_entry("wire_bytes", &w.bytes)?;
            }
            if w.frames > 0 {
                m.serialize_entry("frames", &w.frames)?;
            }
            if let Some(c) = w.compressed_size {
                m.serialize_entry("compressed_size", &c)?;
            }
            if let Some(f) = w.framing_bytes {
                m.serialize_entry("framing_bytes", &f)?;
            }
            if !w.frame_list.is_empty() {
                m.serialize_entry("frame_list", &w.frame_list)?;
            }
            if let Some(h) = &w.handshake {
                m.serialize_entry("request_size", &h.request_size)?;
                m.serialize_entry("response_size", &h.response_size)?;
                if let Some(e) = &h.extensions {
                    m.serialize_entry("extensions", e)?;
                }
            }
        }
        m.end()
    }
}

struct ConnIdStr(ConnId);

impl Serialize for ConnIdStr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // `c` plus at most ten digits: format on the stack.
        let mut buf = [0u8; 11];
        buf[0] = b'c';
        let mut n = self.0.0;
        let mut digits = [0u8; 10];
        let mut len = 0;
        loop {
            digits[len] = b'0' + (n % 10) as u8;
            len += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        for i in 0..len {
            buf[1 + i] = digits[len - 1 - i];
        }
        s.serialize_str(std::str::from_utf8(&buf[..=len]).map_err(serde::ser::Error::custom)?)
    }
}

/// A `headers` object read in the order it was written: a JSON map would sort it, and
/// the order is the peer's.
pub(crate) struct OrderedHeaders(pub(crate) Headers);

impl<'de> Deserialize<'de> for OrderedHeaders {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = OrderedHeaders;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of header names to string values")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some((k, v)) = map.next_entry::<String, serde_json::Value>()? {
                    let v = match v {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    };
                    out.push((k, v));
                }
                Ok(OrderedHeaders(out))
            }
        }
        d.deserialize_map(Visit)
    }
}

/// The flat JSON shape, for reading records back (exports, `sscope chart`, the strict
/// NDJSON reader in `ndjson`, which checks it further before converting).
#[derive(Deserialize)]
pub(crate) struct Flat {
    pub(crate) t: String,
    pub(crate) conn: String,
    pub(crate) proto: String,
    pub(crate) seq: u64,
    pub(crate) dir: String,
    pub(crate) kind: String,
    /// Not kept: it follows from the payload. The strict reader checks that it does.
    pub(crate) size: Option<u64>,
    pub(crate) data: Option<String>,
    pub(crate) data_b64: Option<String>,
    pub(crate) event: Option<String>,
    pub(crate) id: Option<String>,
    pub(crate) retry_ms: Option<u64>,
    pub(crate) code: Option<u16>,
    pub(crate) reason: Option<String>,
    pub(crate) status: Option<u16>,
    pub(crate) headers: Option<OrderedHeaders>,
    pub(crate) subprotocol: Option<String>,
    pub(crate) attempt: Option<u32>,
    pub(crate) last_event_id: Option<String>,
    pub(crate) message: Option<String>,
    pub(crate) cause: Option<Cause>,
    pub(crate) wire_bytes: Option<u64>,
    pub(crate) frames: Option<u32>,
    pub(crate) compressed_size: Option<u64>,
    pub(crate) framing_bytes: Option<u64>,
    pub(crate) frame_list: Option<Vec<WireFrame>>,
    pub(crate) request_size: Option<u64>,
    pub(crate) response_size: Option<u64>,
    pub(crate) extensions: Option<String>,
}

impl Flat {
    /// The record these fields describe, with the lenient defaults records from other
    /// tools and older versions need (an `open` without `status` reads as 0). Errors say
    /// which field is wrong.
    pub(crate) fn into_record(self) -> Result<Record, String> {
        let f = self;
        let t = Timestamp::parse_rfc3339(&f.t)
            .ok_or_else(|| format!("`t` {:?} is not an RFC 3339 time", f.t))?;
        let conn = f.conn.parse::<ConnId>()?;
        let proto = match f.proto.as_str() {
            "ws" => Proto::Ws,
            "sse" => Proto::Sse,
            other => return Err(format!("unknown proto {other:?}")),
        };
        let dir = match f.dir.as_str() {
            "in" => Dir::In,
            "out" => Dir::Out,
            "meta" => Dir::Meta,
            other => return Err(format!("unknown dir {other:?}")),
        };
        let kind = f.kind.as_str();
        let need = |v: Option<String>, field: &str| -> Result<String, String> {
            v.ok_or_else(|| format!("a {kind} record needs `{field}`"))
        };
        let b64 = |v: Option<String>| -> Result<Bytes, String> {
            let text = v.ok_or_else(|| format!("a {kind} record needs `data_b64`"))?;
            BASE64
                .decode(text.as_bytes())
                .map(Bytes::from)
                .map_err(|e| format!("`data_b64` is not base64: {e}"))
        };
        let headers = |h: Option<OrderedHeaders>| -> Headers { h.map(|h| h.0).unwrap_or_default() };
        let body = match kind {
            "open" => Body::Open {
                status: f.status.unwrap_or(0),
                headers: headers(f.headers),
                subprotocol: f.subprotocol,
            },
            "text" => Body::Text(need(f.data, "data")?),
            "binary" => Body::Binary(b64(f.data_b64)?),
            "ping" => Body::Ping(b64(f.data_b64)?),
            "pong" => Body::Pong(b64(f.data_b64)?),
            "close" => Body::Close {
                code: f.code,
                reason: f.reason.unwrap_or_default(),
            },
            "event" => Body::Event {
                event: f.event.unwrap_or_else(|| "message".to_owned()),
                data: need(f.data, "data")?,
                id: f.id,
            },
            "comment" => Body::Comment(need(f.data, "data")?),
            "retry" => Body::Retry {
                retry_ms: f
                    .retry_ms
                    .ok_or_else(|| "a retry record needs `retry_ms`".to_owned())?,
            },
            "reconnect" => Body::Reconnect {
                retry_ms: f.retry_ms.unwrap_or(0),
                attempt: f.attempt.unwrap_or(0),
                last_event_id: f.last_event_id,
            },
            "end" => Body::End,
            "error" => Body::Error {
                message: f.message.unwrap_or_default(),
                cause: f.cause,
                status: f.status,
                headers: f.headers.map(|h| headers(Some(h))),
            },
            other => return Err(format!("unknown kind {other:?}")),
        };
        let handshake = (f.request_size.is_some()
            || f.response_size.is_some()
            || f.extensions.is_some())
        .then(|| Handshake {
            request_size: f.request_size.unwrap_or(0),
            response_size: f.response_size.unwrap_or(0),
            extensions: f.extensions,
        });
        let wire = (f.wire_bytes.is_some()
            || f.frames.is_some()
            || f.compressed_size.is_some()
            || f.framing_bytes.is_some()
            || f.frame_list.is_some()
            || handshake.is_some())
        .then(|| {
            Box::new(Wire {
                bytes: f.wire_bytes.unwrap_or(0),
                frames: f.frames.unwrap_or(0),
                compressed_size: f.compressed_size,
                framing_bytes: f.framing_bytes,
                frame_list: f.frame_list.unwrap_or_default(),
                handshake,
            })
        });
        Ok(Record {
            t,
            conn,
            proto,
            seq: f.seq,
            dir,
            body,
            wire,
        })
    }
}

impl<'de> Deserialize<'de> for Record {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Flat::deserialize(d)?
            .into_record()
            .map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_formats_with_microseconds() {
        let t = Timestamp(1_764_095_198_123_456);
        assert_eq!(t.to_string(), "2025-11-25T18:26:38.123456Z");
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00.000000Z");
    }

    #[test]
    fn timestamp_round_trips_through_rfc3339() {
        for micros in [
            0,
            1,
            951_782_400_000_000,
            1_764_095_198_123_456,
            4_102_444_799_999_999,
        ] {
            let t = Timestamp(micros);
            assert_eq!(Timestamp::parse_rfc3339(&t.to_string()), Some(t));
        }
        assert_eq!(
            Timestamp::parse_rfc3339("2025-11-25T19:26:38.5+01:00"),
            Some(Timestamp(1_764_095_198_500_000))
        );
        assert_eq!(Timestamp::parse_rfc3339("2025-11-25 nope"), None);
    }

    #[test]
    fn kinds_lists_every_body_kind_once() {
        let one_of_each = [
            Body::Open {
                status: 101,
                headers: vec![],
                subprotocol: None,
            },
            Body::Text(String::new()),
            Body::Binary(Bytes::new()),
            Body::Ping(Bytes::new()),
            Body::Pong(Bytes::new()),
            Body::Close {
                code: None,
                reason: String::new(),
            },
            Body::Event {
                event: String::new(),
                data: String::new(),
                id: None,
            },
            Body::Comment(String::new()),
            Body::Retry { retry_ms: 0 },
            Body::Reconnect {
                retry_ms: 0,
                attempt: 0,
                last_event_id: None,
            },
            Body::End,
            Body::Error {
                message: String::new(),
                cause: None,
                status: None,
                headers: None,
            },
        ];
        let kinds: Vec<&str> = one_of_each.iter().map(Body::kind).collect();
        assert_eq!(kinds, Body::KINDS);
    }

    #[test]
    fn records_round_trip_through_json() {
        let bodies = vec![
            Body::Open {
                status: 101,
                headers: vec![("upgrade".into(), "websocket".into())],
                subprotocol: Some("chat".into()),
            },
            Body::Text("héllo\n\"x\"".into()),
            Body::Binary(Bytes::from_static(&[0, 1, 255])),
            Body::Ping(Bytes::new()),
            Body::Close {
                code: Some(1000),
                reason: "bye".into(),
            },
            Body::Close {
                code: None,
                reason: String::new(),
            },
            Body::Event {
                event: "tick".into(),
                data: "a\nb".into(),
                id: Some("7".into()),
            },
            Body::Comment(" keep-alive".into()),
            Body::Retry { retry_ms: 50 },
            Body::Reconnect {
                retry_ms: 3000,
                attempt: 1,
                last_event_id: None,
            },
            Body::End,
            Body::Error {
                message: "boom".into(),
                cause: Some(Cause::HandshakeRejected),
                status: Some(403),
                headers: Some(vec![]),
            },
            Body::Error {
                message: "from elsewhere".into(),
                cause: Some(Cause::Other("quantum_flux".into())),
                status: None,
                headers: None,
            },
            Body::Error {
                message: "old".into(),
                cause: None,
                status: None,
                headers: None,
            },
        ];
        for (i, body) in bodies.into_iter().enumerate() {
            let r = Record {
                t: Timestamp(1_764_095_198_123_456),
                conn: ConnId(3),
                proto: Proto::Ws,
                seq: i as u64 + 1,
                dir: Dir::In,
                body,
                wire: None,
            };
            let json = r.to_json();
            assert_eq!(Record::from_json(&json).expect(&json), r, "{json}");
        }
    }

    #[test]
    fn instants_past_the_writable_years_are_refused() {
        assert_eq!(Timestamp::parse_rfc3339("9999-12-31T23:59:60Z"), None);
        assert_eq!(Timestamp::parse_rfc3339("0000-01-01T00:00:00+00:01"), None);
        assert_eq!(
            Timestamp::parse_rfc3339("9999-12-31T23:59:59.999999Z"),
            Some(Timestamp::MAX)
        );
        assert_eq!(
            Timestamp::parse_rfc3339("0000-01-01T00:00:00Z"),
            Some(Timestamp::MIN)
        );
        assert_eq!(
            Timestamp(i64::MAX).to_string(),
            "9999-12-31T23:59:59.999999Z"
        );
    }

    #[test]
    fn header_order_survives_a_round_trip() {
        let r = Record {
            t: Timestamp(0),
            conn: ConnId(1),
            proto: Proto::Sse,
            seq: 1,
            dir: Dir::Meta,
            body: Body::Open {
                status: 200,
                headers: vec![
                    ("content-type".into(), "text/event-stream".into()),
                    ("cache-control".into(), "no-store".into()),
                ],
                subprotocol: None,
            },
            wire: None,
        };
        assert_eq!(Record::from_json(&r.to_json()).expect("parses"), r);
    }

    #[test]
    fn error_cause_follows_message() {
        let r = Record {
            t: Timestamp(0),
            conn: ConnId(1),
            proto: Proto::Ws,
            seq: 1,
            dir: Dir::Meta,
            body: Body::Error {
                message: "could not connect".into(),
                cause: Some(Cause::Refused),
                status: None,
                headers: None,
            },
            wire: None,
        };
        assert_eq!(
            r.to_json(),
            r#"{"t":"1970-01-01T00:00:00.000000Z","conn":"c1","proto":"ws","seq":1,"dir":"meta","kind":"error","message":"could not connect","cause":"refused"}"#
        );
    }

    #[test]
    fn wire_figures_are_optional_fields_that_round_trip() {
        let mut r = Record::test_at(0, Dir::In, Body::Text("hello".into()));
        r.wire = Some(Box::new(Wire {
            bytes: 13,
            frames: 2,
            compressed_size: Some(5),
            framing_bytes: None,
            frame_list: vec![
                WireFrame {
                    fin: false,
                    opcode: 1,
                    rsv1: true,
                    masked: false,
                    len: 3,
                },
                WireFrame {
                    fin: true,
                    opcode: 0,
                    rsv1: false,
                    masked: false,
                    len: 2,
                },
            ],
            handshake: None,
        }));
        let json = r.to_json();
        assert!(
            json.ends_with(
                r#""wire_bytes":13,"frames":2,"compressed_size":5,"frame_list":[{"fin":false,"opcode":1,"rsv1":true,"masked":false,"len":3},{"fin":true,"opcode":0,"rsv1":false,"masked":false,"len":2}]}"#
            ),
            "{json}"
        );
        assert_eq!(Record::from_json(&json).expect("reads back"), r);

        let mut open = Record::test_at(
            0,
            Dir::Meta,
            Body::Open {
                status: 101,
                headers: Vec::new(),
                subprotocol: None,
            },
        );
        open.wire = Some(Box::new(Wire {
            handshake: Some(Handshake {
                request_size: 200,
                response_size: 150,
                extensions: Some("permessage-deflate".into()),
            }),
            ..Wire::default()
        }));
        let json = open.to_json();
        assert!(
            json.ends_with(
                r#""request_size":200,"response_size":150,"extensions":"permessage-deflate"}"#
            ),
            "{json}"
        );
        assert_eq!(Record::from_json(&json).expect("reads back"), open);

        let mut event = Record::test_at(
            0,
            Dir::In,
            Body::Event {
                event: "message".into(),
                data: "x".into(),
                id: None,
            },
        );
        event.proto = Proto::Sse;
        event.wire = Some(Box::new(Wire {
            bytes: 9,
            framing_bytes: Some(0),
            ..Wire::default()
        }));
        let json = event.to_json();
        assert!(
            json.ends_with(r#""wire_bytes":9,"framing_bytes":0}"#),
            "{json}"
        );
        assert_eq!(Record::from_json(&json).expect("reads back"), event);
    }

    #[test]
    fn text_record_has_contract_fields_in_order() {
        let r = Record {
            t: Timestamp(0),
            conn: ConnId(12),
            proto: Proto::Ws,
            seq: 1,
            dir: Dir::In,
            body: Body::Text("hi".into()),
            wire: None,
        };
        assert_eq!(
            r.to_json(),
            r#"{"t":"1970-01-01T00:00:00.000000Z","conn":"c12","proto":"ws","seq":1,"dir":"in","kind":"text","size":2,"data":"hi"}"#
        );
    }
}
