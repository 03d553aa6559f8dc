//! The record of CONTRACT.md, decoded with this crate's own types (never the engine's),
//! and the checks every run's output must pass whatever the test: one JSON object per
//! line, no unknown or `null` fields, `seq` 1, 2, 3 … per `conn`, `t` in RFC 3339 UTC with
//! microseconds, and the per-kind rules of "Details that tests hold you to". Tests then
//! assert what their scenario adds on top.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde::Deserialize;

/// One NDJSON line, field for field as CONTRACT.md names them. Unknown fields are an error:
/// a misspelt field (`retryMs`) must fail the suite, not vanish into a default.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub t: String,
    pub conn: String,
    pub proto: String,
    pub seq: u64,
    pub dir: String,
    pub kind: String,
    pub size: Option<u64>,
    pub data: Option<String>,
    pub data_b64: Option<String>,
    pub event: Option<String>,
    pub id: Option<String>,
    pub retry_ms: Option<u64>,
    pub code: Option<u16>,
    pub reason: Option<String>,
    pub status: Option<u16>,
    pub headers: Option<BTreeMap<String, String>>,
    pub subprotocol: Option<String>,
    pub attempt: Option<u64>,
    pub last_event_id: Option<String>,
    pub message: Option<String>,
    pub cause: Option<String>,
    // Wire figures (README, "Contract additions").
    pub wire_bytes: Option<u64>,
    pub frames: Option<u64>,
    pub compressed_size: Option<u64>,
    /// Chunk framing bytes before an SSE item (a chunked body only).
    pub framing_bytes: Option<u64>,
    pub frame_list: Option<Vec<Frame>>,
    pub request_size: Option<u64>,
    pub response_size: Option<u64>,
    pub extensions: Option<String>,
}

/// One entry of `frame_list`: a frame's header as it crossed the wire.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Frame {
    pub fin: bool,
    pub opcode: u8,
    pub rsv1: bool,
    pub masked: bool,
    pub len: u64,
}

/// RFC 6455 §5.2, written out again here: a frame header's size for a payload of
/// `len` bytes, masked or not.
pub fn frame_header_len(len: u64, masked: bool) -> u64 {
    let ext = match len {
        0..=125 => 0,
        126..=65535 => 2,
        _ => 8,
    };
    2 + ext + if masked { 4 } else { 0 }
}

/// The `cause` codes of an `error` record (README, "Contract additions").
pub const CAUSES: &[&str] = &[
    "refused",
    "dns",
    "connect_timeout",
    "tls_untrusted",
    "tls_other",
    "handshake_rejected",
    "not_event_stream",
    "protocol_violation",
    "too_big",
    "pong_timeout",
    "idle_timeout",
    "transport_lost",
    "close_timeout",
    "attempts_exhausted",
    "count_not_reached",
    "bad_request",
    "memory_budget",
];

impl Record {
    /// `"dir kind"`, e.g. `"in text"`: the shape of a run in one comparable string.
    pub fn dir_kind(&self) -> String {
        format!("{} {}", self.dir, self.kind)
    }

    /// The decoded `data_b64`; panics when absent or not standard padded base64.
    pub fn bytes(&self) -> Vec<u8> {
        let b64 = self
            .data_b64
            .as_deref()
            .unwrap_or_else(|| panic!("record has no data_b64: {self:?}"));
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap_or_else(|e| panic!("data_b64 {b64:?} is not standard base64: {e}"))
    }

    /// The `data` text; panics when absent.
    pub fn text(&self) -> &str {
        self.data
            .as_deref()
            .unwrap_or_else(|| panic!("record has no data: {self:?}"))
    }

    /// When the engine saw it (`t`, already checked to parse).
    pub fn time(&self) -> SystemTime {
        parse_time(&self.t).unwrap_or_else(|e| panic!("`t` {e}: {self:?}"))
    }

    /// A response header by lower-case name, from `headers`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.as_ref()?.get(name).map(String::as_str)
    }
}

/// Decodes stdout and checks it against the contract. `window` is when the process ran:
/// every `t` must fall inside it (with slack), which catches local time labelled `Z`.
pub fn decode_ndjson(
    stdout: &str,
    window: (SystemTime, SystemTime),
) -> Result<Vec<Record>, String> {
    let mut records = Vec::new();
    let mut last_seq: HashMap<String, u64> = HashMap::new();
    if !stdout.is_empty() && !stdout.ends_with('\n') {
        return Err("stdout does not end with a newline: the last record is cut".into());
    }
    for (index, line) in stdout.lines().enumerate() {
        let at = format!("line {}", index + 1);
        let record = decode_line(line, window).map_err(|e| format!("{at}: {e}"))?;
        let expected = last_seq.get(&record.conn).map_or(1, |seq| seq + 1);
        if record.seq != expected {
            return Err(format!(
                "{at}: seq {} on {} where {expected} was due (1, 2, 3 … per conn, no gaps): {line}",
                record.seq, record.conn
            ));
        }
        last_seq.insert(record.conn.clone(), record.seq);
        records.push(record);
    }
    Ok(records)
}

/// Decodes and checks one line, everything but `seq` continuity (which needs the lines
/// before it).
pub fn decode_line(line: &str, window: (SystemTime, SystemTime)) -> Result<Record, String> {
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("not JSON ({e}): {line}"))?;
    let object = value
        .as_object()
        .ok_or_else(|| format!("not a JSON object: {line}"))?;
    // Absent and null differ: the contract says "absent", and a reader that checks
    // `"code" in record` would be misled by `"code": null`.
    if let Some((name, _)) = object.iter().find(|(_, v)| v.is_null()) {
        return Err(format!(
            "field {name:?} is null (absent fields must be left out): {line}"
        ));
    }
    let record: Record = serde_json::from_value(value.clone())
        .map_err(|e| format!("does not match the contract's record ({e}): {line}"))?;
    check_record(&record).map_err(|e| format!("{e}: {line}"))?;
    if record.cause.is_some() {
        // `cause` follows `message` (README, "Contract additions").
        let at = |key: &str| line.find(&format!("\"{key}\":"));
        if at("cause") < at("message") {
            return Err(format!("`cause` comes after `message`: {line}"));
        }
    }
    check_time(&record.t, window).map_err(|e| format!("`t` {e}: {line}"))?;
    Ok(record)
}

const WS_KINDS: &[&str] = &["open", "text", "binary", "ping", "pong", "close", "error"];
const SSE_KINDS: &[&str] = &[
    "open",
    "event",
    "comment",
    "retry",
    "reconnect",
    "end",
    "error",
];

/// The per-record rules of CONTRACT.md that hold whatever the scenario.
fn check_record(r: &Record) -> Result<(), String> {
    let kinds = match r.proto.as_str() {
        "ws" => WS_KINDS,
        "sse" => SSE_KINDS,
        other => return Err(format!("proto {other:?} is neither \"ws\" nor \"sse\"")),
    };
    if !kinds.contains(&r.kind.as_str()) {
        return Err(format!("kind {:?} is not a {} kind", r.kind, r.proto));
    }
    let conn_ok = r
        .conn
        .strip_prefix('c')
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    if !conn_ok {
        return Err(format!("conn {:?} is not c1, c2, …", r.conn));
    }
    if r.seq == 0 {
        return Err("seq starts at 1".into());
    }

    // dir: open, end, reconnect and error are meta; retry and comment are in.
    let dir_ok = match r.kind.as_str() {
        "open" | "end" | "reconnect" | "error" => r.dir == "meta",
        "retry" | "comment" | "event" => r.dir == "in",
        _ => r.dir == "in" || r.dir == "out",
    };
    if !dir_ok {
        return Err(format!("dir {:?} is wrong for kind {:?}", r.dir, r.kind));
    }

    // size is present on text, binary, ping, pong, event and comment, and counts bytes.
    let sized = ["text", "binary", "ping", "pong", "event", "comment"].contains(&r.kind.as_str());
    if sized && r.size.is_none() {
        return Err(format!("kind {:?} needs `size`", r.kind));
    }
    match r.kind.as_str() {
        "text" | "event" | "comment" => {
            let data = r.data.as_deref().ok_or("a text payload needs `data`")?;
            if r.data_b64.is_some() {
                return Err("a text payload has `data`, not `data_b64`".into());
            }
            if r.size != Some(data.len() as u64) {
                return Err(format!(
                    "size {:?} is not the {} UTF-8 bytes of data",
                    r.size,
                    data.len()
                ));
            }
        }
        "binary" | "ping" | "pong" => {
            let b64 = r
                .data_b64
                .as_deref()
                .ok_or("a binary payload needs `data_b64` (\"\" when empty)")?;
            if r.data.is_some() {
                return Err("a binary payload has `data_b64`, not `data`".into());
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| format!("data_b64 is not standard padded base64: {e}"))?;
            if r.size != Some(bytes.len() as u64) {
                return Err(format!(
                    "size {:?} is not the {} payload bytes",
                    r.size,
                    bytes.len()
                ));
            }
        }
        _ => {}
    }

    match r.kind.as_str() {
        "event" => {
            let event = r.event.as_deref().ok_or("an event needs `event`")?;
            if event.is_empty() {
                return Err(
                    "`event` is \"message\" when the stream gave no type, never empty".into(),
                );
            }
        }
        "retry" if r.retry_ms.is_none() => return Err("a retry record needs `retry_ms`".into()),
        "reconnect" => {
            if r.retry_ms.is_none() {
                return Err("a reconnect record needs `retry_ms`".into());
            }
            match r.attempt {
                Some(n) if n >= 1 => {}
                _ => return Err("a reconnect record needs `attempt` >= 1".into()),
            }
        }
        "error" if r.message.as_deref().is_none_or(str::is_empty) => {
            return Err("an error record needs a non-empty `message`".into());
        }
        // Every error sscope reports says why as a known code.
        "error" if !r.cause.as_deref().is_some_and(|c| CAUSES.contains(&c)) => {
            return Err(format!(
                "an error record needs a `cause`, one of {CAUSES:?}; got {:?}",
                r.cause
            ));
        }
        "open" => {
            let want = if r.proto == "ws" { 101 } else { 200 };
            if r.status != Some(want) {
                return Err(format!(
                    "a {} open has status {want}, got {:?}",
                    r.proto, r.status
                ));
            }
            if r.headers.is_none() {
                return Err("an open record needs `headers`".into());
            }
        }
        "close" if r.code.is_none() && r.reason.as_deref().is_some_and(|s| !s.is_empty()) => {
            return Err("a close without a code cannot have a reason".into());
        }
        _ => {}
    }

    // Fields that belong to one kind only.
    let only = |present: bool, field: &str, kind: &str| -> Result<(), String> {
        if present && r.kind != kind {
            return Err(format!(
                "`{field}` belongs on {kind} records, not {:?}",
                r.kind
            ));
        }
        Ok(())
    };
    only(r.event.is_some(), "event", "event")?;
    only(r.cause.is_some(), "cause", "error")?;
    only(r.message.is_some(), "message", "error")?;
    only(r.code.is_some(), "code", "close")?;
    only(r.reason.is_some(), "reason", "close")?;
    only(r.subprotocol.is_some(), "subprotocol", "open")?;
    only(r.attempt.is_some(), "attempt", "reconnect")?;
    only(r.last_event_id.is_some(), "last_event_id", "reconnect")?;
    if r.retry_ms.is_some() && r.kind != "retry" && r.kind != "reconnect" {
        return Err(format!(
            "`retry_ms` belongs on retry and reconnect records, not {:?}",
            r.kind
        ));
    }
    if r.subprotocol.is_some() && r.proto != "ws" {
        return Err("`subprotocol` is a WebSocket field".into());
    }
    check_wire(r)?;

    if let Some(name) = r
        .headers
        .iter()
        .flat_map(|h| h.keys())
        .find(|k| k.chars().any(|c| c.is_ascii_uppercase()))
    {
        return Err(format!("header name {name:?} is not lower-case"));
    }
    Ok(())
}

/// The wire figures, where present, agree with the payload and with each other: the
/// bytes on the wire are exactly the frames' headers (mask keys on what we sent) and
/// payloads, a listed message's frames are a proper fragment sequence, and RSV1 marks
/// a compressed message.
fn check_wire(r: &Record) -> Result<(), String> {
    only_on(r, r.request_size.is_some(), "request_size", &["open"])?;
    only_on(r, r.response_size.is_some(), "response_size", &["open"])?;
    only_on(r, r.extensions.is_some(), "extensions", &["open"])?;
    let ws_frames = ["text", "binary", "ping", "pong", "close"];
    only_on(r, r.frames.is_some(), "frames", &ws_frames)?;
    if r.proto == "sse" {
        // An item's share of a gzip stream's bytes.
        let items = ["event", "comment", "retry"];
        if r.compressed_size.is_some() && !items.contains(&r.kind.as_str()) {
            return Err(format!("`compressed_size` on an SSE {:?} record", r.kind));
        }
        // An item's share of a chunked body's framing: only with its stream bytes.
        if r.framing_bytes.is_some()
            && (!items.contains(&r.kind.as_str()) || r.wire_bytes.is_none())
        {
            return Err(format!(
                "`framing_bytes` on an SSE {:?} record without `wire_bytes`",
                r.kind
            ));
        }
    } else {
        if r.framing_bytes.is_some() {
            return Err("`framing_bytes` on a WebSocket record".into());
        }
        only_on(
            r,
            r.compressed_size.is_some(),
            "compressed_size",
            &["text", "binary"],
        )?;
    }
    only_on(r, r.frame_list.is_some(), "frame_list", &["text", "binary"])?;
    let Some(bytes) = r.wire_bytes else {
        if r.frames.is_some() || r.frame_list.is_some() || r.compressed_size.is_some() {
            return Err("wire figures without `wire_bytes`".into());
        }
        return Ok(());
    };
    if r.proto == "sse" {
        // An item's stream bytes run from the item before it through the line end that
        // completed it: at least that line end. (Which lines go to which item is the
        // model's unit test; lines before a comment go to the comment.)
        if !["event", "comment", "retry"].contains(&r.kind.as_str()) || bytes == 0 {
            return Err(format!("wire_bytes {bytes} on an SSE {:?} record", r.kind));
        }
        return Ok(());
    }
    let frames = r
        .frames
        .ok_or("`wire_bytes` on a WebSocket record needs `frames`")?;
    let masked = r.dir == "out";
    let payload = match r.kind.as_str() {
        "close" => r
            .code
            .map_or(0, |_| 2 + r.reason.as_deref().unwrap_or("").len() as u64),
        _ => r.compressed_size.or(r.size).ok_or("no payload size")?,
    };
    match &r.frame_list {
        None if frames == 1 => {
            let want = frame_header_len(payload, masked) + payload;
            if bytes != want {
                return Err(format!(
                    "wire_bytes {bytes} where one frame of {payload} bytes takes {want}"
                ));
            }
        }
        None => return Err(format!("{frames} frames without a `frame_list`")),
        Some(list) => {
            // At most 256 frames are listed; `frames` counts them all.
            let listed = frames.min(256);
            if list.len() as u64 != listed || frames < 2 {
                return Err(format!("frame_list of {} for {frames} frames", list.len()));
            }
            let want_op = if r.kind == "text" { 1 } else { 2 };
            for (i, f) in list.iter().enumerate() {
                let first = i == 0;
                let last = i as u64 + 1 == frames;
                let op_ok = if first {
                    f.opcode == want_op
                } else {
                    f.opcode == 0
                };
                if !op_ok || f.fin != last || f.masked != masked || (f.rsv1 && !first) {
                    return Err(format!(
                        "frame {i} of the message is not in sequence: {f:?}"
                    ));
                }
            }
            if list[0].rsv1 != r.compressed_size.is_some() {
                return Err("RSV1 on the first frame if and only if compressed".into());
            }
            let sum: u64 = list.iter().map(|f| f.len).sum();
            let on_wire: u64 = list
                .iter()
                .map(|f| frame_header_len(f.len, f.masked) + f.len)
                .sum();
            if frames == listed && (sum != payload || on_wire != bytes) {
                return Err(format!(
                    "frame_list adds up to {sum} payload and {on_wire} wire bytes; the record says {payload} and {bytes}"
                ));
            }
        }
    }
    Ok(())
}

fn only_on(r: &Record, present: bool, field: &str, kinds: &[&str]) -> Result<(), String> {
    if present && (r.proto != "ws" || !kinds.contains(&r.kind.as_str())) {
        return Err(format!(
            "`{field}` belongs on WebSocket {kinds:?} records, not {} {:?}",
            r.proto, r.kind
        ));
    }
    Ok(())
}

/// RFC 3339 in UTC with exactly six fractional digits, within the run's time window.
fn check_time(t: &str, (started, finished): (SystemTime, SystemTime)) -> Result<(), String> {
    let at = parse_time(t)?;
    // Slack for clock granularity; a local-time offset is whole hours and still fails.
    let slack = Duration::from_secs(5);
    if at + slack < started || at > finished + slack {
        return Err("is not within the run's time window (is it UTC?)".into());
    }
    Ok(())
}

/// Parses `2026-01-02T03:04:05.678901Z` (`+00:00` is accepted as the same offset).
pub fn parse_time(t: &str) -> Result<SystemTime, String> {
    let b = t.as_bytes();
    let body_len = "2026-01-02T03:04:05.678901".len();
    let zone = t.get(body_len..).unwrap_or("");
    if b.len() < body_len || !(zone == "Z" || zone == "+00:00") {
        return Err("is not YYYY-MM-DDTHH:MM:SS.ffffffZ".into());
    }
    let digits = |from: usize, to: usize| -> Result<u64, String> {
        let part = &t[from..to];
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().map_err(|_| "has a bad number".to_string())
        } else {
            Err(format!("has {part:?} where digits belong"))
        }
    };
    for (at, sep) in [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
    ] {
        if b[at] != sep {
            return Err(format!(
                "has {:?} where {:?} belongs",
                b[at] as char, sep as char
            ));
        }
    }
    let (year, month, day) = (digits(0, 4)?, digits(5, 7)?, digits(8, 10)?);
    let (hour, minute, second) = (digits(11, 13)?, digits(14, 16)?, digits(17, 19)?);
    let micros = digits(20, 26)?;
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err("is not a valid date and time".into());
    }
    let seconds = days_from_civil(year as i64, month as i64, day as i64) * 86_400
        + (hour * 3600 + minute * 60 + second) as i64;
    Ok(UNIX_EPOCH + Duration::from_secs(seconds.max(0) as u64) + Duration::from_micros(micros))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window() -> (SystemTime, SystemTime) {
        let now = SystemTime::now();
        (now - Duration::from_secs(1), now)
    }

    fn now_rfc3339() -> String {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970");
        let secs = since.as_secs() as i64;
        let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        // Inverse of days_from_civil, enough for a self-check.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}Z",
            rem / 3600,
            rem % 3600 / 60,
            rem % 60,
            since.subsec_micros()
        )
    }

    #[test]
    fn a_well_formed_stream_decodes() {
        let t = now_rfc3339();
        let stdout = format!(
            "{{\"t\":\"{t}\",\"conn\":\"c1\",\"proto\":\"ws\",\"seq\":1,\"dir\":\"meta\",\"kind\":\"open\",\"status\":101,\"headers\":{{}}}}\n\
             {{\"t\":\"{t}\",\"conn\":\"c1\",\"proto\":\"ws\",\"seq\":2,\"dir\":\"in\",\"kind\":\"text\",\"size\":2,\"data\":\"hi\"}}\n"
        );
        let records = decode_ndjson(&stdout, window()).expect("valid records");
        assert_eq!(records.len(), 2);
    }

    #[test]
    fn a_gap_in_seq_is_rejected() {
        let t = now_rfc3339();
        let stdout = format!(
            "{{\"t\":\"{t}\",\"conn\":\"c1\",\"proto\":\"sse\",\"seq\":1,\"dir\":\"meta\",\"kind\":\"end\"}}\n\
             {{\"t\":\"{t}\",\"conn\":\"c1\",\"proto\":\"sse\",\"seq\":3,\"dir\":\"meta\",\"kind\":\"end\"}}\n"
        );
        assert!(decode_ndjson(&stdout, window()).is_err());
    }

    #[test]
    fn time_without_microseconds_or_utc_is_rejected() {
        let w = window();
        assert!(check_time(&now_rfc3339(), w).is_ok());
        assert!(check_time("2026-01-02T03:04:05Z", w).is_err());
        assert!(check_time("2026-01-02T03:04:05.123Z", w).is_err());
        assert!(check_time("2026-01-02T03:04:05.123456+01:00", w).is_err());
        assert!(check_time("2001-01-02T03:04:05.123456Z", w).is_err());
    }

    #[test]
    fn days_from_civil_matches_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2026, 11, 25), 20_782);
    }
}

/// The validator must refuse what breaks the contract: if it accepted everything, every
/// end-to-end contract check would silently stop checking.
#[cfg(test)]
mod refusals {
    use super::*;

    const T: &str = "2026-01-02T03:04:05.678901Z";

    fn window() -> (SystemTime, SystemTime) {
        let at = parse_time(T).expect("the fixture's time parses");
        (at, at)
    }

    /// A valid record as a JSON object, to break one field at a time.
    fn valid(kind: &str) -> serde_json::Value {
        let mut v = serde_json::json!({"t": T, "conn": "c1", "proto": "ws", "seq": 1});
        let extra = match kind {
            "open" => {
                serde_json::json!({"dir": "meta", "status": 101, "headers": {"upgrade": "websocket"}})
            }
            "text" => serde_json::json!({"dir": "in", "size": 2, "data": "hi"}),
            "binary" => serde_json::json!({"dir": "out", "size": 3, "data_b64": "AQID"}),
            "close" => serde_json::json!({"dir": "in", "code": 1000, "reason": "bye"}),
            "error" => {
                serde_json::json!({"dir": "meta", "message": "connection lost", "cause": "transport_lost"})
            }
            "event" => {
                serde_json::json!({"proto": "sse", "dir": "in", "size": 1, "data": "x", "event": "message"})
            }
            "reconnect" => {
                serde_json::json!({"proto": "sse", "dir": "meta", "retry_ms": 3000, "attempt": 1})
            }
            other => panic!("no fixture for {other}"),
        };
        for (k, val) in extra.as_object().expect("an object") {
            v[k] = val.clone();
        }
        v["kind"] = kind.into();
        v
    }

    /// Writes `v` as one line, with `cause` last as the engine writes it (a JSON object's
    /// keys are otherwise sorted here, and `cause` must follow `message`).
    fn check(v: &serde_json::Value) -> Result<Record, String> {
        let mut v = v.clone();
        let cause = v.as_object_mut().and_then(|o| o.remove("cause"));
        let mut line = v.to_string();
        if let Some(cause) = cause {
            line.pop();
            line.push_str(&format!(",\"cause\":{cause}}}"));
        }
        decode_line(&line, window())
    }

    /// `change` applied to a valid `kind` record makes the validator refuse it, saying
    /// something that contains `why`.
    fn refused(kind: &str, change: impl FnOnce(&mut serde_json::Value), why: &str) {
        let mut v = valid(kind);
        change(&mut v);
        match check(&v) {
            Ok(r) => panic!("accepted a broken {kind} record: {v} → {r:?}"),
            Err(e) => assert!(e.contains(why), "refused {v} for another reason: {e}"),
        }
    }

    #[test]
    fn valid_records_pass() {
        for kind in [
            "open",
            "text",
            "binary",
            "close",
            "error",
            "event",
            "reconnect",
        ] {
            check(&valid(kind)).unwrap_or_else(|e| panic!("{kind}: {e}"));
        }
    }

    #[test]
    fn broken_records_are_refused_with_the_rule_they_break() {
        refused("text", |v| v["retryMs"] = 5.into(), "does not match");
        refused("text", |v| v["size"] = serde_json::Value::Null, "is null");
        refused("text", |v| v["proto"] = "mqtt".into(), "neither");
        refused("text", |v| v["kind"] = "event".into(), "not a ws kind");
        refused("text", |v| v["conn"] = "conn1".into(), "is not c1");
        refused("text", |v| v["seq"] = 0.into(), "seq starts at 1");
        refused("text", |v| v["dir"] = "meta".into(), "is wrong for kind");
        refused("error", |v| v["dir"] = "in".into(), "is wrong for kind");
        refused(
            "text",
            |v| {
                v.as_object_mut().map(|o| o.remove("size"));
            },
            "needs `size`",
        );
        refused("text", |v| v["size"] = 3.into(), "UTF-8 bytes");
        refused("text", |v| v["data_b64"] = "aGk=".into(), "not `data_b64`");
        refused("binary", |v| v["data_b64"] = "AQI".into(), "padded base64");
        refused("binary", |v| v["size"] = 4.into(), "payload bytes");
        refused("event", |v| v["event"] = "".into(), "never empty");
        refused("reconnect", |v| v["attempt"] = 0.into(), "attempt");
        refused("error", |v| v["message"] = "".into(), "non-empty `message`");
        refused(
            "error",
            |v| v["cause"] = "gremlins".into(),
            "needs a `cause`",
        );
        refused(
            "text",
            |v| v["cause"] = "refused".into(),
            "belongs on error",
        );
        refused("open", |v| v["status"] = 200.into(), "status 101");
        refused(
            "open",
            |v| {
                v.as_object_mut().map(|o| o.remove("headers"));
            },
            "needs `headers`",
        );
        refused(
            "open",
            |v| v["headers"] = serde_json::json!({"Upgrade": "websocket"}),
            "lower-case",
        );
        refused(
            "close",
            |v| {
                v.as_object_mut().map(|o| o.remove("code"));
            },
            "without a code",
        );
        refused("text", |v| v["code"] = 1000.into(), "belongs on close");
        refused(
            "text",
            |v| v["subprotocol"] = "chat".into(),
            "belongs on open",
        );
        refused("text", |v| v["t"] = "2026-01-02T03:04:05Z".into(), "`t`");
        refused(
            "text",
            |v| v["t"] = "2026-01-02T04:04:05.678901+01:00".into(),
            "`t`",
        );
        refused(
            "text",
            |v| v["t"] = "2027-01-02T03:04:05.678901Z".into(),
            "time window",
        );
    }

    #[test]
    fn a_line_that_is_not_one_json_object_is_refused() {
        for line in ["", "[]", "{\"t\":", "42"] {
            assert!(decode_line(line, window()).is_err(), "{line:?} accepted");
        }
    }
}
