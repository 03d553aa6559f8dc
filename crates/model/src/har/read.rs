//! Reading a HAR: its WebSocket and SSE entries become connections of records; every
//! other entry is counted and left.
//!
//! Memory: the file is parsed once into a list of borrowed slices, one per entry (no tree
//! of the whole file), then each entry is looked at on its own: a cheap probe decides
//! whether it is a connection, and only then is it parsed in full. Strings borrow from the
//! input wherever JSON escapes allow, so a large HAR of pages and images costs little more
//! than its own bytes plus the records it yields.

use std::borrow::Cow;
use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;

use super::{HarError, Import, ImportedConn, Limits};
use crate::record::{
    Body, ConnId, Dir, Handshake, Headers, Proto, Record, Timestamp, Wire, WireFrame,
};
use crate::sse::{Item, Parser};

/// Times at or above this are epoch milliseconds, below it epoch seconds. 1e11 seconds is
/// the year 5138 and 1e11 milliseconds is 1973: no capture sits on the wrong side of it,
/// so Chrome's seconds and Playwright's milliseconds never meet.
const MILLIS_FROM: f64 = 1e11;

/// Message times more than this before their entry started are not wall-clock times
/// (CDP's monotonic clock, or times relative to the connection) and are taken as relative.
const RELATIVE_BELOW_MICROS: i64 = 86_400_000_000;

#[derive(Deserialize)]
struct Top<'a> {
    #[serde(borrow)]
    log: Log<'a>,
}

#[derive(Deserialize)]
struct Log<'a> {
    /// Each entry as its slice of the input, parsed later on its own.
    #[serde(borrow)]
    entries: Vec<&'a RawValue>,
}

/// Just enough of an entry to tell a connection from a page or an image.
#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(rename = "_resourceType", default, borrow)]
    resource_type: Option<Cow<'a, str>>,
    #[serde(rename = "_webSocketMessages", default)]
    ws_messages: Option<IgnoredAny>,
    #[serde(rename = "_eventSourceMessages", default)]
    sse_messages: Option<IgnoredAny>,
    #[serde(borrow)]
    request: ProbeRequest<'a>,
    #[serde(borrow)]
    response: ProbeResponse<'a>,
}

#[derive(Deserialize)]
struct ProbeRequest<'a> {
    #[serde(borrow)]
    url: Cow<'a, str>,
}

#[derive(Deserialize)]
struct ProbeResponse<'a> {
    #[serde(default, borrow)]
    content: Option<ProbeContent<'a>>,
}

#[derive(Deserialize)]
struct ProbeContent<'a> {
    #[serde(rename = "mimeType", default, borrow)]
    mime_type: Option<Cow<'a, str>>,
}

/// An entry that is a connection, with the fields the records take.
#[derive(Deserialize)]
struct Entry<'a> {
    #[serde(rename = "startedDateTime", borrow)]
    started: Cow<'a, str>,
    #[serde(borrow)]
    request: Request<'a>,
    #[serde(borrow)]
    response: Response<'a>,
    #[serde(rename = "_webSocketMessages", default, borrow)]
    ws_messages: Option<Vec<WsMessage<'a>>>,
    #[serde(rename = "_eventSourceMessages", default, borrow)]
    sse_messages: Option<Vec<SseMessage<'a>>>,
}

#[derive(Deserialize)]
struct Request<'a> {
    #[serde(borrow)]
    url: Cow<'a, str>,
    /// Bytes of the request head, -1 when unknown (HAR 1.2): a WebSocket handshake's
    /// `request_size`.
    #[serde(rename = "headersSize", default, deserialize_with = "lenient_size")]
    headers_size: Option<u64>,
}

#[derive(Deserialize)]
struct Response<'a> {
    status: i64,
    /// Bytes of the response head, -1 when unknown: a handshake's `response_size`.
    #[serde(rename = "headersSize", default, deserialize_with = "lenient_size")]
    headers_size: Option<u64>,
    #[serde(rename = "statusText", default, borrow)]
    status_text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    headers: Vec<Header<'a>>,
    #[serde(default, borrow)]
    content: Option<Content<'a>>,
    /// Chrome DevTools: why the request failed.
    #[serde(rename = "_error", default, borrow)]
    error: Option<Cow<'a, str>>,
    /// Playwright: the same.
    #[serde(rename = "_failureText", default, borrow)]
    failure_text: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Header<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow)]
    value: Cow<'a, str>,
}

#[derive(Deserialize)]
struct Content<'a> {
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    encoding: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct WsMessage<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    time: f64,
    #[serde(default)]
    opcode: Option<i64>,
    #[serde(borrow)]
    data: Cow<'a, str>,
    // The wire figures Streamscope's export adds (README, "Contract additions").
    #[serde(rename = "_wireBytes", default)]
    wire_bytes: Option<u64>,
    #[serde(rename = "_frames", default)]
    frames: Option<u32>,
    #[serde(rename = "_compressedSize", default)]
    compressed_size: Option<u64>,
    #[serde(rename = "_frameList", default)]
    frame_list: Option<Vec<WireFrame>>,
}

impl WsMessage<'_> {
    /// What the message cost on the wire, when the file says (our own exports do).
    fn wire(&self) -> Option<Box<Wire>> {
        let frames = self.frames.filter(|f| *f > 0)?;
        Some(Box::new(Wire {
            bytes: self.wire_bytes.unwrap_or(0),
            frames,
            compressed_size: self.compressed_size,
            framing_bytes: None,
            frame_list: self.frame_list.clone().unwrap_or_default(),
            handshake: None,
        }))
    }
}

#[derive(Deserialize)]
struct SseMessage<'a> {
    time: f64,
    #[serde(rename = "eventName", default, borrow)]
    event_name: Option<Cow<'a, str>>,
    #[serde(rename = "eventId", default, borrow)]
    event_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    data: Cow<'a, str>,
}

/// Reads a HAR's WebSocket and SSE connections as records.
///
/// # Errors
/// The first thing wrong, with where it is: not UTF-8, not JSON, truncated, not a HAR,
/// or an entry (named by its JSON path and line) that cannot be read as a connection.
/// Nothing is returned from a file with an error.
pub fn read(input: &[u8], limits: &Limits) -> Result<Import, HarError> {
    if input.len() > limits.max_input {
        return Err(HarError::TooBig {
            size: input.len(),
            limit: limits.max_input,
        });
    }
    let text = std::str::from_utf8(input).map_err(|e| {
        let before = &input[..e.valid_up_to()];
        HarError::Syntax {
            line: line_at(before),
            column: before.len()
                - before
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |i| i + 1)
                + 1,
            what: "not UTF-8 text: a HAR is JSON, in UTF-8".to_owned(),
        }
    })?;
    // Some Windows tools write a byte order mark; JSON parsers refuse it, browsers skip it.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut de = serde_json::Deserializer::from_str(text);
    let top: Top<'_> = serde_path_to_error::deserialize(&mut de).map_err(top_error)?;
    de.end().map_err(|e| HarError::Syntax {
        line: e.line(),
        column: e.column(),
        what: "more text after the end of the HAR's JSON object".to_owned(),
    })?;

    let mut import = Import::default();
    let mut lines = LineCounter::new(text);
    for (index, raw) in top.log.entries.iter().enumerate() {
        let json = raw.get();
        let at = EntryAt {
            index,
            line: lines.line_of(json),
        };
        let probe: Probe<'_> = at.parse(json)?;
        let proto = match classify(&probe) {
            Ok(proto) => proto,
            Err(label) => {
                *import.skipped.entry(label).or_default() += 1;
                continue;
            }
        };
        let entry: Entry<'_> = at.parse(json)?;
        let conn = ConnId(import.conns.len() as u32 + 1);
        let (events, mut wires) = match proto {
            Proto::Ws => ws_records(&entry, &at, &mut import.notes)?,
            Proto::Sse => (
                sse_records(&entry, &at, limits, &mut import.notes)?,
                Wires::new(),
            ),
        };
        import.conns.push(ImportedConn {
            conn,
            proto,
            entry: index,
            url: entry.request.url.into_owned(),
            records: events.len(),
        });
        // In index order, so each is taken off the end as its record comes.
        wires.reverse();
        import.records.extend(
            events
                .into_iter()
                .enumerate()
                .map(|(i, (t, dir, body))| Record {
                    t,
                    conn,
                    proto,
                    seq: i as u64 + 1,
                    dir,
                    body,
                    wire: match wires.last() {
                        Some((at, _)) if *at == i => wires.pop().map(|(_, w)| w),
                        _ => None,
                    },
                }),
        );
    }
    Ok(import)
}

/// HAR's `headersSize`: a size where it is a whole number of bytes; `None` for -1 (HAR's
/// "unknown") and for anything a tool wrote that is not a size (a float, a string, null),
/// which only an informational field would be refused for.
fn lenient_size<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = <Option<serde_json::Value> as Deserialize>::deserialize(d)?;
    Ok(v.and_then(|v| match v {
        serde_json::Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 1e15)
                .map(|f| f as u64)
        }),
        _ => None,
    }))
}

/// A connection's records before they are numbered.
type Events = Vec<(Timestamp, Dir, Body)>;

/// The wire figures of some of a connection's [`Events`], by index.
type Wires = Vec<(usize, Box<Wire>)>;

/// Which connection an entry is, or the label it is counted under when it is none.
fn classify(p: &Probe<'_>) -> Result<Proto, String> {
    let resource = p.resource_type.as_deref().map(str::to_ascii_lowercase);
    let url = p.request.url.to_ascii_lowercase();
    if resource.as_deref() == Some("websocket")
        || p.ws_messages.is_some()
        || url.starts_with("ws://")
        || url.starts_with("wss://")
    {
        return Ok(Proto::Ws);
    }
    let mime = p
        .response
        .content
        .as_ref()
        .and_then(|c| c.mime_type.as_deref())
        .map(|m| {
            m.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    if resource.as_deref() == Some("eventsource")
        || p.sse_messages.is_some()
        || mime == "text/event-stream"
    {
        return Ok(Proto::Sse);
    }
    Err(match resource {
        Some(r) if !r.is_empty() => r,
        _ if !mime.is_empty() => mime,
        _ => "other".to_owned(),
    })
}

/// Where an entry is, for its errors.
struct EntryAt {
    index: usize,
    line: usize,
}

impl EntryAt {
    fn parse<'a, T: Deserialize<'a>>(&self, json: &'a str) -> Result<T, HarError> {
        let mut de = serde_json::Deserializer::from_str(json);
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = format!("log.entries[{}]{}", self.index, suffix(e.path()));
            let inner = e.into_inner();
            HarError::Entry {
                index: self.index,
                path,
                line: self.line + inner.line().saturating_sub(1),
                what: without_position(&inner),
            }
        })
    }

    /// An error at `field` below this entry (`._webSocketMessages[3].time`).
    fn error(&self, field: &str, what: impl Into<String>) -> HarError {
        HarError::Entry {
            index: self.index,
            path: format!("log.entries[{}]{field}", self.index),
            line: self.line,
            what: what.into(),
        }
    }

    fn note(&self, notes: &mut Vec<String>, what: &str) {
        notes.push(format!(
            "log.entries[{}] (line {}): {what}",
            self.index, self.line
        ));
    }
}

/// `.request.url`, `[3]`: a path below the point where parsing started.
fn suffix(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } => {
                out.push('.');
                out.push_str(key);
            }
            Segment::Enum { variant } => {
                out.push('.');
                out.push_str(variant);
            }
            Segment::Unknown => out.push_str(".?"),
        }
    }
    out
}

/// serde_json's message without its ` at line L column C`, which we report our own way.
fn without_position(e: &serde_json::Error) -> String {
    let message = e.to_string();
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message,
    }
}

/// The error for a file that is not a HAR's JSON at all, or is cut short.
fn top_error(e: serde_path_to_error::Error<serde_json::Error>) -> HarError {
    use serde_json::error::Category;
    let entry = {
        let segments: Vec<_> = e.path().iter().collect();
        match segments.as_slice() {
            [_, _, serde_path_to_error::Segment::Seq { index }, ..] => Some(*index),
            _ => None,
        }
    };
    let path = suffix(e.path());
    let inner = e.into_inner();
    let what = without_position(&inner);
    match (inner.classify(), entry) {
        (Category::Eof, Some(index)) => HarError::Entry {
            index,
            path: format!("log.entries[{index}]"),
            line: inner.line(),
            what: format!(
                "the file ends inside this entry ({what}): it is truncated; export or copy it again"
            ),
        },
        (Category::Eof, None) => HarError::Syntax {
            line: inner.line(),
            column: inner.column(),
            what: format!("the file ends early ({what}): it is truncated or empty"),
        },
        (Category::Syntax | Category::Io, Some(index)) => HarError::Entry {
            index,
            path: format!("log.entries[{index}]"),
            line: inner.line(),
            what: format!("not valid JSON: {what}"),
        },
        (Category::Syntax | Category::Io, None) => HarError::Syntax {
            line: inner.line(),
            column: inner.column(),
            what: format!("not valid JSON: {what}"),
        },
        (Category::Data, _) => HarError::NotHar {
            what: format!(
                "{what} at {} (a HAR is {{\"log\": {{\"entries\": [...]}}}})",
                if path.is_empty() {
                    "the top"
                } else {
                    path.trim_start_matches('.')
                }
            ),
        },
    }
}

/// Line numbers of entries, counted once through the file as entries come in order.
struct LineCounter<'a> {
    text: &'a str,
    offset: usize,
    line: usize,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str) -> Self {
        LineCounter {
            text,
            offset: 0,
            line: 1,
        }
    }

    /// The line `part` (a slice of the text) starts on.
    fn line_of(&mut self, part: &str) -> usize {
        let start = (part.as_ptr() as usize).saturating_sub(self.text.as_ptr() as usize);
        if start >= self.offset {
            let between = self.text.as_bytes().get(self.offset..start).unwrap_or(&[]);
            self.line += memchr::memchr_iter(b'\n', between).count();
            self.offset = start;
        }
        self.line
    }
}

fn line_at(bytes: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', bytes).count() + 1
}

/// Response headers as records keep them: lower-case names in order, a repeated name
/// joined into its first place with `, ` (CONTRACT.md).
fn headers(list: &[Header<'_>]) -> Headers {
    let mut out: Headers = Vec::with_capacity(list.len());
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(list.len());
    for h in list {
        let name = h.name.to_ascii_lowercase();
        match seen.get(&name) {
            Some(&i) => {
                out[i].1.push_str(", ");
                out[i].1.push_str(&h.value);
            }
            None => {
                seen.insert(name.clone(), out.len());
                out.push((name, h.value.clone().into_owned()));
            }
        }
    }
    out
}

/// The failure text Chrome (`_error`) or Playwright (`_failureText`) wrote, if any.
fn failure<'a>(r: &'a Response<'_>) -> Option<&'a str> {
    [r.error.as_deref(), r.failure_text.as_deref()]
        .into_iter()
        .flatten()
        .find(|s| !s.trim().is_empty())
}

/// A connection that never opened: one `error` record, as the engine writes for a refused
/// handshake, with the status and headers when a response came.
fn refused(e: &Entry<'_>, t: Timestamp, message: Option<String>, what: &str) -> Events {
    let status = e.response.status;
    let answered = u16::try_from(status).ok().filter(|s| *s > 0);
    let message = message.unwrap_or_else(|| match answered {
        Some(s) => format!(
            "{what} was answered {s}{}",
            e.response
                .status_text
                .as_deref()
                .filter(|t| !t.is_empty())
                .map(|t| format!(" {t}"))
                .unwrap_or_default()
        ),
        None => format!("{what} got no response"),
    });
    vec![(
        t,
        Dir::Meta,
        Body::Error {
            message,
            cause: None,
            status: answered,
            headers: answered.map(|_| headers(&e.response.headers)),
        },
    )]
}

/// Message times to record times: the unit told by magnitude, one unit per entry.
struct Clock {
    started: Timestamp,
    unit: Option<Unit>,
    /// The first message's raw time when times are relative, not wall-clock.
    relative_to: Option<Option<f64>>,
    last: Timestamp,
    missing: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    Seconds,
    Millis,
}

impl Unit {
    fn micros(self) -> f64 {
        match self {
            Unit::Seconds => 1e6,
            Unit::Millis => 1e3,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Unit::Seconds => "seconds",
            Unit::Millis => "milliseconds",
        }
    }
}

impl Clock {
    fn new(started: Timestamp) -> Self {
        Clock {
            started,
            unit: None,
            relative_to: None,
            last: started,
            missing: false,
        }
    }

    /// The record time of a message's `time`; a negative time (Playwright's `-1` when
    /// timing is omitted) takes the time before it.
    fn at(
        &mut self,
        raw: f64,
        at: &EntryAt,
        field: &str,
        notes: &mut Vec<String>,
    ) -> Result<Timestamp, HarError> {
        if raw < 0.0 {
            if !self.missing {
                self.missing = true;
                at.note(
                    notes,
                    "some messages have no time (-1): each is given the time before it",
                );
            }
            return Ok(self.last);
        }
        let unit = if raw >= MILLIS_FROM {
            Unit::Millis
        } else {
            Unit::Seconds
        };
        match self.unit {
            None => self.unit = Some(unit),
            Some(u) if u != unit => {
                return Err(at.error(
                    field,
                    format!(
                        "time {raw} is epoch {}, but earlier times in this entry are epoch {}: one entry's times must share a unit",
                        unit.name(),
                        u.name()
                    ),
                ));
            }
            Some(_) => {}
        }
        let scaled = raw * unit.micros();
        if self.relative_to.is_none() {
            let relative = scaled < (self.started.0 - RELATIVE_BELOW_MICROS) as f64;
            if relative {
                at.note(
                    notes,
                    "message times lie long before the entry started (not wall-clock times): they are taken as time since the first message, placed at the entry's start",
                );
            }
            self.relative_to = Some(relative.then_some(raw));
        }
        let micros = match self.relative_to.flatten() {
            Some(first) => self.started.0 as f64 + (raw - first) * unit.micros(),
            None => scaled,
        }
        .round();
        if !(Timestamp::MIN.0 as f64..=Timestamp::MAX.0 as f64).contains(&micros) {
            return Err(at.error(
                field,
                format!("time {raw} is outside the years 0000 to 9999"),
            ));
        }
        // Past 10^11 seconds (the year 5138) a time in seconds reads as milliseconds, so
        // no HAR, ours included, could carry it back unchanged.
        if micros >= MILLIS_FROM * 1e6 {
            return Err(at.error(
                field,
                format!("time {raw} falls after the year 5138, which a HAR's times cannot tell from milliseconds: is it in the right unit?"),
            ));
        }
        self.last = Timestamp(micros as i64);
        Ok(self.last)
    }
}

fn started(e: &Entry<'_>, at: &EntryAt) -> Result<Timestamp, HarError> {
    let t = Timestamp::parse_rfc3339(&e.started).ok_or_else(|| {
        at.error(
            ".startedDateTime",
            format!(
                "{:?} is not an ISO 8601 date and time (like 2025-11-25T18:26:38.123Z)",
                e.started
            ),
        )
    })?;
    // Its messages' times are written in seconds, which past 10^11 read as milliseconds.
    if t.0 as f64 >= MILLIS_FROM * 1e6 {
        return Err(at.error(
            ".startedDateTime",
            format!(
                "{:?} is after the year 5138, past what a HAR's message times can carry",
                e.started
            ),
        ));
    }
    Ok(t)
}

/// A WebSocket entry's records: `open` from the handshake, then its messages.
fn ws_records(
    e: &Entry<'_>,
    at: &EntryAt,
    notes: &mut Vec<String>,
) -> Result<(Events, Wires), HarError> {
    let t0 = started(e, at)?;
    let messages = e.ws_messages.as_deref().unwrap_or(&[]);
    let exchanged = messages
        .iter()
        .any(|m| m.kind == "send" || m.kind == "receive");
    let status = e.response.status;
    let mut clock = Clock::new(t0);
    if !exchanged && status != 101 && status != 200 {
        // Never opened: the first error message says why, if the file has one.
        let first_error = messages.iter().enumerate().find(|(_, m)| m.kind == "error");
        let (t, message) = match first_error {
            Some((i, m)) => (
                clock.at(m.time, at, &format!("._webSocketMessages[{i}].time"), notes)?,
                Some(m.data.clone().into_owned()),
            ),
            None => (t0, failure(&e.response).map(str::to_owned)),
        };
        return Ok((
            refused(e, t, message, "the WebSocket handshake"),
            Wires::new(),
        ));
    }
    let hdrs = headers(&e.response.headers);
    let subprotocol = hdrs
        .iter()
        .find(|(n, _)| n == "sec-websocket-protocol")
        .map(|(_, v)| v.clone());
    let status = match u16::try_from(status).ok().filter(|s| *s > 0) {
        Some(s) => s,
        None => {
            at.note(
                notes,
                "no handshake status, but messages were exchanged: imported as opened with 101",
            );
            101
        }
    };
    let mut out: Events = Vec::with_capacity(messages.len() + 2);
    let mut wires = Wires::new();
    // The handshake's sizes, where the file knows them (HAR's `headersSize`, -1 if not).
    let (request_size, response_size) = (e.request.headers_size, e.response.headers_size);
    if request_size.is_some() || response_size.is_some() {
        let extensions = hdrs
            .iter()
            .find(|(n, _)| n == "sec-websocket-extensions")
            .map(|(_, v)| v.clone());
        wires.push((
            0,
            Box::new(Wire {
                bytes: 0,
                frames: 0,
                compressed_size: None,
                framing_bytes: None,
                frame_list: Vec::new(),
                handshake: Some(Handshake {
                    request_size: request_size.unwrap_or(0),
                    response_size: response_size.unwrap_or(0),
                    extensions,
                }),
            }),
        ));
    }
    out.push((
        t0,
        Dir::Meta,
        Body::Open {
            status,
            headers: hdrs,
            subprotocol,
        },
    ));
    let mut had_error = false;
    for (i, m) in messages.iter().enumerate() {
        let field = |name: &str| format!("._webSocketMessages[{i}].{name}");
        let t = clock.at(m.time, at, &field("time"), notes)?;
        let dir = match m.kind.as_ref() {
            "send" => Dir::Out,
            "receive" => Dir::In,
            "error" => {
                had_error = true;
                out.push((
                    t,
                    Dir::Meta,
                    Body::Error {
                        message: m.data.clone().into_owned(),
                        cause: None,
                        status: None,
                        headers: None,
                    },
                ));
                continue;
            }
            other => {
                return Err(at.error(
                    &field("type"),
                    format!("{other:?} is not a message type (send, receive or error)"),
                ));
            }
        };
        let opcode = m.opcode.ok_or_else(|| {
            at.error(
                &field("opcode"),
                "a sent or received message needs its opcode",
            )
        })?;
        let payload = || -> Result<Bytes, HarError> {
            BASE64
                .decode(m.data.as_bytes())
                .map(Bytes::from)
                .map_err(|err| {
                    at.error(
                        &field("data"),
                        format!("opcode {opcode}'s data is base64, and this is not ({err})"),
                    )
                })
        };
        let body = match opcode {
            1 => Body::Text(m.data.clone().into_owned()),
            2 => Body::Binary(payload()?),
            8 => close_body(&payload()?).map_err(|what| at.error(&field("data"), what))?,
            9 => Body::Ping(payload()?),
            10 => Body::Pong(payload()?),
            other => {
                return Err(at.error(
                    &field("opcode"),
                    format!("opcode {other} is not a WebSocket message (1 text, 2 binary, 8 close, 9 ping, 10 pong)"),
                ));
            }
        };
        if let Some(w) = m.wire() {
            wires.push((out.len(), w));
        }
        out.push((t, dir, body));
    }
    if let (false, Some(why)) = (had_error, failure(&e.response)) {
        out.push((
            clock.last,
            Dir::Meta,
            Body::Error {
                message: why.to_owned(),
                cause: None,
                status: None,
                headers: None,
            },
        ));
    }
    Ok((out, wires))
}

/// A close frame's payload (RFC 6455 §5.5.1): empty, or a 2-byte code and a UTF-8 reason.
fn close_body(payload: &[u8]) -> Result<Body, String> {
    match payload {
        [] => Ok(Body::Close {
            code: None,
            reason: String::new(),
        }),
        [_] => {
            Err("a close payload of 1 byte: it is empty, or a 2-byte code and a reason".to_owned())
        }
        [hi, lo, reason @ ..] => Ok(Body::Close {
            code: Some(u16::from_be_bytes([*hi, *lo])),
            reason: String::from_utf8(reason.to_vec())
                .map_err(|_| "the close reason is not UTF-8 (RFC 6455 §5.5.1)".to_owned())?,
        }),
    }
}

/// An SSE entry's records: `open` from the response, then its events, from
/// `_eventSourceMessages` (which carry times) and the raw body (which also carries
/// comments and `retry`), merged when they agree.
fn sse_records(
    e: &Entry<'_>,
    at: &EntryAt,
    limits: &Limits,
    notes: &mut Vec<String>,
) -> Result<Events, HarError> {
    let t0 = started(e, at)?;
    let messages = e.sse_messages.as_deref().unwrap_or(&[]);
    let body = body_items(e, at, limits, notes)?;
    let status = e.response.status;
    let streamed = !messages.is_empty() || body.as_ref().is_some_and(|b| !b.is_empty());
    if status != 200 && !(status <= 0 && streamed) {
        return Ok(refused(
            e,
            t0,
            failure(&e.response).map(str::to_owned),
            "the request",
        ));
    }
    let status = match u16::try_from(status).ok().filter(|s| *s > 0) {
        Some(s) => s,
        None => {
            at.note(
                notes,
                "no response status, but events came: imported as opened with 200",
            );
            200
        }
    };
    let mut out: Events = Vec::with_capacity(messages.len() + 2);
    out.push((
        t0,
        Dir::Meta,
        Body::Open {
            status,
            headers: headers(&e.response.headers),
            subprotocol: None,
        },
    ));
    let mut clock = Clock::new(t0);
    let mut times = Vec::with_capacity(messages.len());
    for (i, m) in messages.iter().enumerate() {
        times.push(clock.at(
            m.time,
            at,
            &format!("._eventSourceMessages[{i}].time"),
            notes,
        )?);
    }
    let name = |m: &SseMessage<'_>| -> String {
        m.event_name
            .as_deref()
            .filter(|n| !n.is_empty())
            .unwrap_or("message")
            .to_owned()
    };
    let agrees = |items: &[Item]| -> bool {
        let mut events = items.iter().filter_map(|item| match item {
            Item::Event { event, data, .. } => Some((event, data)),
            _ => None,
        });
        messages.iter().all(|m| {
            events
                .next()
                .is_some_and(|(event, data)| *event == name(m) && *data == m.data)
        }) && events.next().is_none()
    };
    match body {
        Some(items) if !messages.is_empty() && agrees(&items) => {
            // The body has everything in order; the messages give each event its time,
            // and a comment or `retry` the time of the event before it.
            let mut times = times.into_iter();
            let mut last = t0;
            for item in items {
                if matches!(item, Item::Event { .. }) {
                    last = times.next().unwrap_or(last);
                }
                out.push((last, Dir::In, item_body(item)));
            }
        }
        Some(items) if messages.is_empty() => {
            if !items.is_empty() {
                at.note(
                    notes,
                    "the event-stream body carries no times: its events are stamped with the response's start",
                );
            }
            out.extend(items.into_iter().map(|item| (t0, Dir::In, item_body(item))));
        }
        body => {
            if body.is_some() {
                at.note(
                    notes,
                    "the event-stream body and _eventSourceMessages differ: imported _eventSourceMessages, which carry times (comments and retry fields of the body are left out)",
                );
            }
            for (m, t) in messages.iter().zip(times) {
                out.push((
                    t,
                    Dir::In,
                    Body::Event {
                        event: name(m),
                        data: m.data.clone().into_owned(),
                        // CDP reports no id as "": the record has none.
                        id: m
                            .event_id
                            .as_deref()
                            .filter(|id| !id.is_empty())
                            .map(str::to_owned),
                    },
                ));
            }
        }
    }
    if let Some(why) = failure(&e.response) {
        let t = out.last().map_or(t0, |(t, _, _)| *t);
        out.push((
            t,
            Dir::Meta,
            Body::Error {
                message: why.to_owned(),
                cause: None,
                status: None,
                headers: None,
            },
        ));
    }
    Ok(out)
}

/// The raw `text/event-stream` body parsed with our parser, as a browser would read it.
fn body_items(
    e: &Entry<'_>,
    at: &EntryAt,
    limits: &Limits,
    notes: &mut Vec<String>,
) -> Result<Option<Vec<Item>>, HarError> {
    let Some(content) = &e.response.content else {
        return Ok(None);
    };
    let Some(text) = content.text.as_deref() else {
        return Ok(None);
    };
    let decoded;
    let bytes = if content.encoding.as_deref() == Some("base64") {
        decoded = BASE64.decode(text.as_bytes()).map_err(|err| {
            at.error(
                ".response.content.text",
                format!("content.encoding says base64, and the text is not ({err})"),
            )
        })?;
        decoded.as_slice()
    } else {
        text.as_bytes()
    };
    let mut parser = Parser::new(limits.sse);
    let mut items = Vec::new();
    parser
        .feed(bytes, &mut |item| items.push(item))
        .map_err(|err| {
            at.error(
                ".response.content.text",
                format!("the event stream has {err}"),
            )
        })?;
    if parser.has_partial() {
        at.note(
            notes,
            "the event-stream body ends inside an event, which is discarded as a browser would",
        );
    }
    Ok(Some(items))
}

fn item_body(item: Item) -> Body {
    match item {
        Item::Event { event, data, id } => Body::Event { event, data, id },
        Item::Comment(text) => Body::Comment(text),
        Item::Retry(ms) => Body::Retry { retry_ms: ms },
    }
}
