//! NDJSON, CONTRACT.md's record stream, read strictly and written: the one way a file of
//! records comes in (`sscope convert`, imports) and goes out.
//!
//! Reading checks every line against the contract's rules (known `kind`, `dir` and
//! `proto`, the fields each kind needs, `size` matching the payload, `seq` 1, 2, 3 … per
//! connection without gaps, a parseable `t`) and returns either every record or the first
//! line that is wrong, never part of a file. `Record::from_json` stays lenient for readers
//! that only draw what they can (`sscope chart`); this module is for imports, where a
//! record that is not what the contract says must not slip into a session.
//!
//! It owns no IO: it reads a byte slice and writes to any `io::Write`.

use std::collections::HashMap;
use std::io::{self, Write};

use crate::record::{Body, ConnId, Flat, Proto, Record};

/// Largest input [`read`] takes by default: 512 MiB. A recording that size is already
/// several million records, held in memory as one import; past it, the file is more
/// likely a mistake (or hostile) than a session, and a clear refusal beats running the
/// machine out of memory.
pub const DEFAULT_MAX_INPUT: usize = 512 << 20;

/// Bounds on what [`read`] accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes of input, [`DEFAULT_MAX_INPUT`] by default.
    pub max_input: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input: DEFAULT_MAX_INPUT,
        }
    }
}

/// Why a file of records was refused. Nothing was read from it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NdjsonError {
    #[error(
        "the input is {size} bytes, over the limit of {limit} bytes for one import: split it, or raise the limit"
    )]
    TooBig { size: usize, limit: usize },
    /// `line` counts from 1, as editors do; `what` says what is wrong with it.
    #[error("line {line}: {what}")]
    Line { line: u64, what: String },
}

/// Record kinds a WebSocket connection has (CONTRACT.md, "Kinds").
const WS_KINDS: &[&str] = &["open", "text", "binary", "ping", "pong", "close", "error"];
/// Record kinds an SSE connection has.
const SSE_KINDS: &[&str] = &[
    "open",
    "event",
    "comment",
    "retry",
    "reconnect",
    "end",
    "error",
];

/// Reads every record of an NDJSON file (one or many connections), checking each line
/// against the contract. Blank lines are skipped; a line may end in CRLF.
///
/// # Errors
/// [`NdjsonError::TooBig`] past `limits.max_input`; otherwise the first line that is not
/// a record as CONTRACT.md fixes it, with its number and what is wrong.
pub fn read(input: &[u8], limits: &Limits) -> Result<Vec<Record>, NdjsonError> {
    if input.len() > limits.max_input {
        return Err(NdjsonError::TooBig {
            size: input.len(),
            limit: limits.max_input,
        });
    }
    let mut records = Vec::new();
    // The last seq and the protocol of each connection seen so far.
    let mut conns: HashMap<ConnId, (u64, Proto)> = HashMap::new();
    for (index, raw) in input.split(|&b| b == b'\n').enumerate() {
        let line = index as u64 + 1;
        let at = |what: String| NdjsonError::Line { line, what };
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let text = std::str::from_utf8(raw).map_err(|e| {
            at(format!(
                "not UTF-8 text (bad byte at column {}): NDJSON is UTF-8",
                e.valid_up_to() + 1
            ))
        })?;
        if text.trim().is_empty() {
            continue;
        }
        let record = read_line(text).map_err(at)?;
        let expected = match conns.get(&record.conn) {
            None => 1,
            Some(&(_, proto)) if proto != record.proto => {
                return Err(at(format!(
                    "{} was a {} connection on an earlier line, and this record says {}: one connection speaks one protocol",
                    record.conn,
                    proto.as_str(),
                    record.proto.as_str()
                )));
            }
            Some(&(last, _)) => last + 1,
        };
        if record.seq != expected {
            let why = if record.seq < expected {
                "repeats or goes back".to_owned()
            } else if expected == 1 {
                format!("leaves out seq 1 to {}", record.seq - 1)
            } else if record.seq == expected + 1 {
                format!("leaves out seq {expected}")
            } else {
                format!("leaves out seq {expected} to {}", record.seq - 1)
            };
            return Err(at(format!(
                "seq {} on {} where {expected} was due: the file {why} (seq counts 1, 2, 3 … per connection, without gaps)",
                record.seq, record.conn
            )));
        }
        conns.insert(record.conn, (record.seq, record.proto));
        records.push(record);
    }
    Ok(records)
}

/// One line as a record, or what is wrong with it.
fn read_line(text: &str) -> Result<Record, String> {
    if !text.trim_start().starts_with('{') {
        return Err("not a JSON object: each line holds one record, `{\"t\": …}`".to_owned());
    }
    let flat: Flat = serde_json::from_str(text).map_err(|e| {
        // serde_json counts lines within the one line it was given; keep the column only.
        let message = e.to_string();
        let message = message
            .rfind(" at line ")
            .map_or(message.as_str(), |i| &message[..i]);
        format!("column {}: not a record: {message}", e.column())
    })?;
    check_fields(&flat)?;
    let size = flat.size;
    let record = flat.into_record()?;
    if record.seq == 0 {
        return Err("seq 0: seq counts from 1".to_owned());
    }
    if let Some(payload) = record.body.size() {
        match size {
            None => {
                return Err(format!(
                    "a {} record needs `size` (its payload's bytes)",
                    record.kind()
                ));
            }
            Some(size) if size != payload as u64 => {
                return Err(format!(
                    "`size` is {size} but the payload is {payload} bytes: the record was changed or cut"
                ));
            }
            Some(_) => {}
        }
    }
    Ok(record)
}

/// The contract's rules that the lenient reader leaves to its defaults: the kind belongs
/// to the protocol, the direction to the kind, and each kind has its fields.
fn check_fields(f: &Flat) -> Result<(), String> {
    let kinds = match f.proto.as_str() {
        "ws" => WS_KINDS,
        "sse" => SSE_KINDS,
        other => {
            return Err(format!(
                "unknown proto {other:?}: a record's proto is \"ws\" or \"sse\""
            ));
        }
    };
    let kind = f.kind.as_str();
    if !Body::KINDS.contains(&kind) {
        return Err(format!(
            "unknown kind {kind:?}: CONTRACT.md's kinds are {}",
            Body::KINDS.join(", ")
        ));
    }
    if !kinds.contains(&kind) {
        return Err(format!(
            "kind {kind:?} is not a {} kind (those are {})",
            f.proto,
            kinds.join(", ")
        ));
    }
    let dirs: &[&str] = match kind {
        "open" | "end" | "reconnect" | "error" => &["meta"],
        "event" | "comment" | "retry" => &["in"],
        _ => &["in", "out"],
    };
    if !dirs.contains(&f.dir.as_str()) {
        return Err(format!(
            "dir {:?} on a {kind} record, which is {}",
            f.dir,
            dirs.iter()
                .map(|d| format!("{d:?}"))
                .collect::<Vec<_>>()
                .join(" or ")
        ));
    }
    let present = |name: &str| -> bool {
        match name {
            "data" => f.data.is_some(),
            "data_b64" => f.data_b64.is_some(),
            "event" => f.event.is_some(),
            "retry_ms" => f.retry_ms.is_some(),
            "reason" => f.reason.is_some(),
            "status" => f.status.is_some(),
            "headers" => f.headers.is_some(),
            "attempt" => f.attempt.is_some(),
            "message" => f.message.is_some(),
            _ => true,
        }
    };
    let needs: &[&str] = match kind {
        "open" => &["status", "headers"],
        "text" | "comment" => &["data"],
        "binary" | "ping" | "pong" => &["data_b64"],
        "close" => &["reason"],
        "event" => &["event", "data"],
        "retry" => &["retry_ms"],
        "reconnect" => &["retry_ms", "attempt"],
        "error" => &["message"],
        _ => &[],
    };
    match needs.iter().find(|name| !present(name)) {
        Some(missing) => Err(format!("a {kind} record needs `{missing}`")),
        None => Ok(()),
    }
}

/// Writes records as NDJSON, one line each, in the order given.
///
/// # Errors
/// Only what `out` returns.
pub fn write<'r>(
    records: impl IntoIterator<Item = &'r Record>,
    mut out: impl Write,
) -> io::Result<()> {
    // Lines are gathered into one buffer and written in large pieces: most writers given
    // here are files or stdout, where a call per record would cost more than the record.
    let mut buf = Vec::with_capacity(64 * 1024);
    for record in records {
        record.write_ndjson(&mut buf);
        if buf.len() >= 60 * 1024 {
            out.write_all(&buf)?;
            buf.clear();
        }
    }
    out.write_all(&buf)?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Dir, Timestamp};
    use bytes::Bytes;

    fn rec(conn: u32, proto: Proto, seq: u64, dir: Dir, body: Body) -> Record {
        Record {
            t: Timestamp(1_764_095_198_123_456 + seq as i64),
            conn: ConnId(conn),
            proto,
            seq,
            dir,
            body,
            wire: None,
        }
    }

    fn text_of(records: &[Record]) -> String {
        let mut out = Vec::new();
        write(records, &mut out).expect("a Vec takes every byte");
        String::from_utf8(out).expect("records are UTF-8")
    }

    fn err_of(input: &str) -> String {
        read(input.as_bytes(), &Limits::default())
            .expect_err("the input must be refused")
            .to_string()
    }

    const OPEN: &str = r#"{"t":"2025-11-25T18:26:38.000001Z","conn":"c1","proto":"ws","seq":1,"dir":"meta","kind":"open","status":101,"headers":{}}"#;

    #[test]
    fn many_connections_round_trip_through_write_and_read() {
        let records = vec![
            rec(
                1,
                Proto::Ws,
                1,
                Dir::Meta,
                Body::Open {
                    status: 101,
                    headers: vec![("upgrade".into(), "websocket".into())],
                    subprotocol: None,
                },
            ),
            rec(
                2,
                Proto::Sse,
                1,
                Dir::Meta,
                Body::Open {
                    status: 200,
                    headers: vec![],
                    subprotocol: None,
                },
            ),
            rec(1, Proto::Ws, 2, Dir::Out, Body::Text("hi".into())),
            rec(
                2,
                Proto::Sse,
                2,
                Dir::In,
                Body::Event {
                    event: "tick".into(),
                    data: "1".into(),
                    id: Some("1".into()),
                },
            ),
            rec(
                1,
                Proto::Ws,
                3,
                Dir::In,
                Body::Binary(Bytes::from_static(b"\0\xff")),
            ),
            rec(
                1,
                Proto::Ws,
                4,
                Dir::In,
                Body::Close {
                    code: None,
                    reason: String::new(),
                },
            ),
            rec(2, Proto::Sse, 3, Dir::Meta, Body::End),
        ];
        let text = text_of(&records);
        assert_eq!(text.lines().count(), records.len());
        let back = read(text.as_bytes(), &Limits::default()).expect("what we wrote reads back");
        assert_eq!(back, records);
    }

    #[test]
    fn blank_lines_and_crlf_are_accepted() {
        let input = format!("\n{OPEN}\r\n\r\n   \n");
        let records = read(input.as_bytes(), &Limits::default()).expect("one record");
        assert_eq!(records.len(), 1);
        assert_eq!(read(b"", &Limits::default()), Ok(vec![]));
    }

    #[test]
    fn a_gap_in_seq_names_the_line_and_the_missing_seqs() {
        let third = OPEN.replace(r#""seq":1"#, r#""seq":3"#);
        let e = err_of(&format!("{OPEN}\n{third}\n"));
        assert!(e.starts_with("line 2: seq 3 on c1 where 2 was due"), "{e}");
        assert!(e.contains("leaves out seq 2"), "{e}");
        let e = err_of(&format!("{third}\n"));
        assert!(e.contains("leaves out seq 1 to 2"), "{e}");
        let e = err_of(&format!("{OPEN}\n{OPEN}\n"));
        assert!(e.contains("repeats or goes back"), "{e}");
    }

    #[test]
    fn each_broken_rule_is_named() {
        let cases = [
            (
                OPEN.replace(r#""kind":"open""#, r#""kind":"shout""#),
                "unknown kind \"shout\"",
            ),
            (
                OPEN.replace(r#""dir":"meta""#, r#""dir":"in""#),
                "dir \"in\" on a open record",
            ),
            (
                OPEN.replace(r#""proto":"ws""#, r#""proto":"mqtt""#),
                "unknown proto \"mqtt\"",
            ),
            (
                OPEN.replace(r#""kind":"open""#, r#""kind":"event""#),
                "kind \"event\" is not a ws kind",
            ),
            (
                OPEN.replace(r#","status":101"#, ""),
                "a open record needs `status`",
            ),
            (
                OPEN.replace(r#","headers":{}"#, ""),
                "a open record needs `headers`",
            ),
            (
                OPEN.replace("2025-11-25T18:26:38.000001Z", "yesterday"),
                "`t` \"yesterday\" is not an RFC 3339 time",
            ),
            (
                OPEN.replace(r#""conn":"c1""#, r#""conn":"one""#),
                "not of the form c1",
            ),
            (OPEN.replace(r#""seq":1"#, r#""seq":0"#), "seq 0"),
            (OPEN.replace(r#""seq":1,"#, ""), "missing field `seq`"),
            (OPEN[..40].to_owned(), "not a record: EOF while parsing"),
            ("[1,2]".to_owned(), "not a JSON object"),
        ];
        for (line, expected) in cases {
            let e = err_of(&format!("{line}\n"));
            assert!(e.starts_with("line 1: "), "{e}");
            assert!(
                e.contains(expected),
                "{line}\n  gave: {e}\n  wanted: {expected}"
            );
        }
    }

    #[test]
    fn size_must_be_present_and_match_the_payload() {
        let text = |size: &str| {
            format!(
                r#"{{"t":"2025-11-25T18:26:38Z","conn":"c1","proto":"ws","seq":2,"dir":"in","kind":"text"{size},"data":"héllo"}}"#
            )
        };
        let ok = format!("{OPEN}\n{}\n", text(r#","size":6"#));
        assert_eq!(
            read(ok.as_bytes(), &Limits::default()).map(|r| r.len()),
            Ok(2)
        );
        let e = err_of(&format!("{OPEN}\n{}\n", text(r#","size":5"#)));
        assert!(
            e.contains("line 2: `size` is 5 but the payload is 6 bytes"),
            "{e}"
        );
        let e = err_of(&format!("{OPEN}\n{}\n", text("")));
        assert!(e.contains("line 2: a text record needs `size`"), "{e}");
    }

    #[test]
    fn one_connection_cannot_change_protocol() {
        let sse = OPEN
            .replace(r#""proto":"ws""#, r#""proto":"sse""#)
            .replace(r#""seq":1"#, r#""seq":2"#);
        let e = err_of(&format!("{OPEN}\n{sse}\n"));
        assert!(e.contains("line 2: c1 was a ws connection"), "{e}");
    }

    #[test]
    fn non_utf8_and_oversized_inputs_are_refused() {
        let e = read(b"{\"t\":\"\xff\"}\n", &Limits::default()).expect_err("not UTF-8");
        assert_eq!(
            e.to_string(),
            "line 1: not UTF-8 text (bad byte at column 7): NDJSON is UTF-8"
        );
        let e = read(OPEN.as_bytes(), &Limits { max_input: 10 }).expect_err("too big");
        assert!(matches!(e, NdjsonError::TooBig { limit: 10, .. }), "{e}");
    }
}
