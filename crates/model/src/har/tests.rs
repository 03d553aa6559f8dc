//! HAR import on the shapes real tools write (fixtures in tests/fixtures/har/, written by
//! hand from Chrome DevTools' Log.ts, Playwright's HAR recorder and cypress-har-generator),
//! malformed and truncated files, export's shape and redaction, and the round trip
//! records → HAR → records against what HAR can carry (`carried`).

use std::collections::BTreeMap;

use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::record::{Body, ConnId, Dir, Proto, Record, Timestamp};

const CHROME: &str = include_str!("../../../../tests/fixtures/har/chrome-devtools.har");
const PLAYWRIGHT: &str = include_str!("../../../../tests/fixtures/har/playwright-ms.har");
const CYPRESS: &str = include_str!("../../../../tests/fixtures/har/cypress-sse.har");
const RAW_SSE: &str = include_str!("../../../../tests/fixtures/har/raw-sse.har");

fn import(text: &str) -> Import {
    read(text.as_bytes(), &Limits::default()).unwrap_or_else(|e| panic!("import failed: {e}"))
}

fn refuse(text: &str) -> String {
    read(text.as_bytes(), &Limits::default())
        .map(|i| format!("imported {} records", i.records.len()))
        .expect_err("the file must be refused")
        .to_string()
}

fn at(rfc3339: &str) -> Timestamp {
    Timestamp::parse_rfc3339(rfc3339).expect("a valid time in the test")
}

fn of(import: &Import, conn: u32) -> Vec<&Record> {
    import
        .records
        .iter()
        .filter(|r| r.conn == ConnId(conn))
        .collect()
}

fn bodies(records: &[&Record]) -> Vec<Body> {
    records.iter().map(|r| r.body.clone()).collect()
}

fn error(message: &str) -> Body {
    Body::Error {
        message: message.into(),
        cause: None,
        status: None,
        headers: None,
    }
}

#[test]
fn chrome_websocket_and_eventsource_entries_become_connections_and_the_rest_is_counted() {
    let i = import(CHROME);
    let skipped: BTreeMap<String, usize> =
        [("document", 1), ("image", 1), ("script", 1), ("xhr", 1)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
    assert_eq!(i.skipped, skipped);
    assert_eq!(
        i.conns,
        vec![
            ImportedConn {
                conn: ConnId(1),
                proto: Proto::Ws,
                entry: 2,
                url: "wss://chat.example.com/socket".into(),
                records: 6,
            },
            ImportedConn {
                conn: ConnId(2),
                proto: Proto::Sse,
                entry: 4,
                url: "https://chat.example.com/events".into(),
                records: 2,
            },
        ]
    );
    let ws = of(&i, 1);
    assert_eq!(
        ws.iter()
            .map(|r| (r.seq, r.dir, r.proto))
            .collect::<Vec<_>>(),
        (1..=6)
            .zip([Dir::Meta, Dir::Out, Dir::In, Dir::In, Dir::In, Dir::Meta])
            .map(|(s, d)| (s, d, Proto::Ws))
            .collect::<Vec<_>>()
    );
    assert_eq!(ws[0].t, at("2025-11-25T18:26:38.101Z"));
    assert_eq!(
        ws[0].body,
        Body::Open {
            status: 101,
            headers: vec![
                ("upgrade".into(), "websocket".into()),
                ("connection".into(), "Upgrade".into()),
                (
                    "sec-websocket-accept".into(),
                    "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".into()
                ),
                ("sec-websocket-protocol".into(), "chat.v2".into()),
                ("set-cookie".into(), "a=1; Path=/, b=2; Path=/".into()),
            ],
            subprotocol: Some("chat.v2".into()),
        }
    );
    // Chrome's `headersSize` of the handshake are the `open` record's sizes.
    let handshake = ws[0].wire.as_ref().and_then(|w| w.handshake.as_ref());
    assert_eq!(
        handshake.map(|h| (h.request_size, h.response_size)),
        Some((389, 211))
    );
    assert!(ws[1..].iter().all(|r| r.wire.is_none()));
    // Epoch seconds to the microsecond, exactly.
    assert_eq!(ws[1].t, Timestamp(1_764_095_198_123_456));
    assert_eq!(ws[2].t, Timestamp(1_764_095_198_130_001));
    assert_eq!(
        bodies(&ws[1..]),
        vec![
            Body::Text(r#"{"op":"join","room":"lobby"}"#.into()),
            Body::Text(r#"{"op":"joined","users":3}"#.into()),
            Body::Binary(Bytes::from_static(&[0xde, 0xad, 0xbe, 0xef])),
            Body::Text("héllo ✓".into()),
            error("net::ERR_CONNECTION_RESET"),
        ]
    );
    // Chrome keeps no EventSource messages in a HAR: the stream opened, then failed.
    let sse = of(&i, 2);
    assert!(matches!(sse[0].body, Body::Open { status: 200, .. }));
    assert_eq!(sse[1].body, error("net::ERR_ABORTED"));
    assert!(i.notes.is_empty(), "{:?}", i.notes);
}

#[test]
fn playwright_millisecond_times_are_told_from_seconds_by_magnitude() {
    let i = import(PLAYWRIGHT);
    let ws = of(&i, 1);
    let times: Vec<i64> = ws.iter().map(|r| r.t.0).collect();
    assert_eq!(
        times,
        vec![
            1_764_095_198_000_000,
            1_764_095_198_010_250,
            1_764_095_198_011_500,
            1_764_095_199_000_000,
            1_764_095_199_001_125,
            1_764_095_200_250_500,
        ]
    );
    assert_eq!(
        bodies(&ws[1..]),
        vec![
            Body::Text("ping 1".into()),
            Body::Text("ping 1".into()),
            Body::Binary(Bytes::from_static(&[0, 1, 2])),
            Body::Binary(Bytes::from_static(&[0, 1, 2])),
            Body::Close {
                code: Some(1000),
                reason: "bye".into(),
            },
        ]
    );
    assert_eq!(ws[1].dir, Dir::Out);
    assert_eq!(ws[5].dir, Dir::In);
}

#[test]
fn cypress_event_source_messages_become_events_with_their_times() {
    let i = import(CYPRESS);
    let sse = of(&i, 1);
    assert_eq!(
        sse[0].body,
        Body::Open {
            status: 200,
            headers: vec![
                (
                    "content-type".into(),
                    "text/event-stream; charset=utf-8".into()
                ),
                ("x-request-id".into(), "r-1".into()),
            ],
            subprotocol: None,
        }
    );
    assert_eq!(
        sse[1..]
            .iter()
            .map(|r| (r.t.0, r.body.clone()))
            .collect::<Vec<_>>(),
        vec![
            (
                1_764_095_200_500_000,
                Body::Event {
                    event: "tick".into(),
                    data: r#"{"n":42}"#.into(),
                    id: Some("42".into()),
                }
            ),
            (
                1_764_095_201_500_000,
                Body::Event {
                    event: "tick".into(),
                    data: r#"{"n":43}"#.into(),
                    id: Some("43".into()),
                }
            ),
            (
                1_764_095_202_500_000,
                Body::Event {
                    event: "message".into(),
                    data: "line one\nline two".into(),
                    id: None,
                }
            ),
        ]
    );
}

#[test]
fn raw_event_stream_bodies_are_parsed_as_a_browser_would() {
    let i = import(RAW_SSE);
    assert_eq!(
        i.conns.len(),
        2,
        "a fetch with an event-stream body is SSE too"
    );
    let expected = vec![
        Body::Retry { retry_ms: 1500 },
        Body::Comment(" keep-alive".into()),
        Body::Event {
            event: "delta".into(),
            data: r#"{"text":"Hel"}"#.into(),
            id: Some("7".into()),
        },
        Body::Event {
            event: "delta".into(),
            data: r#"{"text":"lo"}"#.into(),
            id: Some("8".into()),
        },
        // The last event ID stays in force; the unterminated `data: cut` is discarded.
        Body::Event {
            event: "message".into(),
            data: "[DONE]".into(),
            id: Some("8".into()),
        },
    ];
    for conn in [1, 2] {
        let sse = of(&i, conn);
        assert_eq!(bodies(&sse[1..]), expected, "c{conn}");
        // No times in a body: everything at the response's start (+01:00 read as such).
        assert!(
            sse.iter()
                .all(|r| r.t == at("2025-11-25T17:26:41Z") || conn == 2)
        );
        assert!(sse.iter().all(|r| r.t == sse[0].t));
    }
    assert_eq!(
        i.conns[0].url,
        "https://llm.example.com/v1/chat?stream=true"
    );
    assert!(
        i.notes
            .iter()
            .any(|n| n.contains("log.entries[0]") && n.contains("no times")),
        "{:?}",
        i.notes
    );
    assert!(
        i.notes.iter().any(|n| n.contains("ends inside an event")),
        "{:?}",
        i.notes
    );
}

/// A minimal HAR with one WebSocket entry whose fields the test fills in.
fn ws_har(status: i64, messages: &str) -> String {
    format!(
        r#"{{"log":{{"version":"1.2","entries":[{{"startedDateTime":"2025-11-25T18:26:38Z","request":{{"url":"ws://h/x"}},"response":{{"status":{status},"headers":[{{"name":"X-Why","value":"no"}}]}},"_resourceType":"websocket","_webSocketMessages":[{messages}]}}]}}}}"#
    )
}

#[test]
fn a_refused_handshake_is_one_error_record_with_status_and_headers() {
    let i = import(&ws_har(403, ""));
    assert_eq!(
        bodies(&of(&i, 1)),
        vec![Body::Error {
            message: "the WebSocket handshake was answered 403".into(),
            cause: None,
            status: Some(403),
            headers: Some(vec![("x-why".into(), "no".into())]),
        }]
    );
}

#[test]
fn missing_and_relative_times_are_assumed_and_noted() {
    // Playwright with omitTiming writes -1.
    let i = import(&ws_har(
        101,
        r#"{"type":"send","time":1764095199.5,"opcode":1,"data":"a"},{"type":"receive","time":-1,"opcode":1,"data":"b"}"#,
    ));
    let ws = of(&i, 1);
    assert_eq!(ws[2].t, ws[1].t);
    assert!(
        i.notes.iter().any(|n| n.contains("no time (-1)")),
        "{:?}",
        i.notes
    );
    // CDP's monotonic clock: seconds since boot, long before the entry started.
    let i = import(&ws_har(
        101,
        r#"{"type":"send","time":1200.25,"opcode":1,"data":"a"},{"type":"receive","time":1201.75,"opcode":1,"data":"b"}"#,
    ));
    let ws = of(&i, 1);
    assert_eq!(ws[1].t, at("2025-11-25T18:26:38Z"));
    assert_eq!(ws[2].t.0 - ws[1].t.0, 1_500_000);
    assert!(
        i.notes.iter().any(|n| n.contains("not wall-clock")),
        "{:?}",
        i.notes
    );
}

#[test]
fn each_malformed_file_names_where_and_what() {
    let msg = |m: &str| ws_har(101, m);
    let cases: Vec<(String, &str, &str)> = vec![
        ("hello".into(), "line 1, column 1", "not valid JSON"),
        ("".into(), "line 1", "ends early"),
        (
            r#"{"foo": 1}"#.into(),
            "not a HAR file",
            "missing field `log`",
        ),
        (
            r#"{"log": {"entries": 5}}"#.into(),
            "not a HAR file",
            "at log.entries",
        ),
        (
            format!("{} trailing", msg("")),
            "line 1",
            "more text after the end",
        ),
        (
            msg(r#"{"type":"send","time":1764095199,"opcode":3,"data":"a"}"#),
            "log.entries[0]._webSocketMessages[0].opcode",
            "opcode 3 is not a WebSocket message",
        ),
        (
            msg(r#"{"type":"receive","time":1764095199,"opcode":2,"data":"not base64!"}"#),
            "log.entries[0]._webSocketMessages[0].data",
            "opcode 2's data is base64, and this is not",
        ),
        (
            msg(r#"{"type":"receive","time":1764095199,"opcode":8,"data":"AQ=="}"#),
            "log.entries[0]._webSocketMessages[0].data",
            "a close payload of 1 byte",
        ),
        (
            msg(r#"{"type":"sent","time":1764095199,"opcode":1,"data":"a"}"#),
            "log.entries[0]._webSocketMessages[0].type",
            "\"sent\" is not a message type",
        ),
        (
            msg(
                r#"{"type":"send","time":1764095199,"opcode":1,"data":"a"},{"type":"send","time":1764095199000,"opcode":1,"data":"b"}"#,
            ),
            "log.entries[0]._webSocketMessages[1].time",
            "epoch milliseconds, but earlier times in this entry are epoch seconds",
        ),
        (
            msg(r#"{"type":"send","time":"soon","opcode":1,"data":"a"}"#),
            "log.entries[0]._webSocketMessages[0].time",
            "invalid type: string \"soon\", expected f64",
        ),
        (
            msg(r#"{"type":"send","opcode":1,"data":"a"}"#),
            "log.entries[0]._webSocketMessages[0]",
            "missing field `time`",
        ),
        (
            ws_har(101, "").replace(r#""startedDateTime":"2025-11-25T18:26:38Z","#, ""),
            "log.entries[0]",
            "missing field `startedDateTime`",
        ),
        (
            ws_har(101, "").replace("2025-11-25T18:26:38Z", "last tuesday"),
            "log.entries[0].startedDateTime",
            "is not an ISO 8601 date and time",
        ),
        (
            ws_har(101, "").replace(r#""status":101"#, r#""status":"101""#),
            "log.entries[0].response.status",
            "invalid type: string \"101\"",
        ),
        (
            ws_har(101, "").replace(r#""request":{"url":"ws://h/x"}"#, r#""request":{}"#),
            "log.entries[0].request",
            "missing field `url`",
        ),
    ];
    for (text, place, what) in cases {
        let e = refuse(&text);
        assert!(
            e.contains(place) && e.contains(what),
            "{text}\n  gave: {e}\n  wanted: {place} … {what}"
        );
    }
}

#[test]
fn a_truncated_har_names_the_entry_it_was_cut_in() {
    // Cut inside the WebSocket entry (the third), after its messages began.
    let cut = CHROME.find("héllo").expect("the fixture has the message");
    let e = read(&CHROME.as_bytes()[..cut], &Limits::default()).expect_err("truncated");
    match &e {
        HarError::Entry {
            index, path, what, ..
        } => {
            assert_eq!((*index, path.as_str()), (2, "log.entries[2]"), "{e}");
            assert!(what.contains("truncated"), "{e}");
        }
        other => panic!("not an entry error: {other}"),
    }
    // Cut between entries: the file, not an entry, is incomplete.
    let between = CHROME.find("\n      {\n        \"_initiator\": {\n          \"type\": \"script\",\n          \"stack\"").expect("entry 2 starts");
    let e = read(&CHROME.as_bytes()[..between], &Limits::default()).expect_err("truncated");
    assert!(e.to_string().contains("truncated"), "{e}");
}

#[test]
fn errors_in_an_entry_give_the_line_in_the_file() {
    let bad = CHROME.replace(r#""opcode": 2,"#, r#""opcode": "two","#);
    let e = read(bad.as_bytes(), &Limits::default()).expect_err("bad opcode");
    let line = bad
        .lines()
        .position(|l| l.contains(r#""two""#))
        .expect("the line")
        + 1;
    match e {
        HarError::Entry {
            line: l, ref path, ..
        } => {
            assert_eq!(l, line, "{e}");
            assert_eq!(path, "log.entries[2]._webSocketMessages[2].opcode");
        }
        other => panic!("not an entry error: {other}"),
    }
}

#[test]
fn non_utf8_and_oversized_files_are_refused() {
    let mut bytes = b"{\"log\":\n{\"entries\": [\"".to_vec();
    bytes.push(0xff);
    assert_eq!(
        read(&bytes, &Limits::default())
            .expect_err("not UTF-8")
            .to_string(),
        "line 2, column 15: not UTF-8 text: a HAR is JSON, in UTF-8"
    );
    let limits = Limits {
        max_input: 100,
        ..Limits::default()
    };
    assert!(matches!(
        read(CHROME.as_bytes(), &limits),
        Err(HarError::TooBig { limit: 100, .. })
    ));
    // An event-stream body past the SSE limits is refused, not cut.
    let limits = Limits {
        sse: crate::sse::Limits {
            max_line: 8,
            max_event: 1 << 20,
        },
        ..Limits::default()
    };
    let e = read(RAW_SSE.as_bytes(), &limits).expect_err("a line over 8 bytes");
    assert!(
        e.to_string()
            .contains("log.entries[0].response.content.text"),
        "{e}"
    );
}

// --- export -----------------------------------------------------------------------------

fn rec(conn: u32, proto: Proto, seq: u64, t: i64, dir: Dir, body: Body) -> Record {
    Record {
        t: Timestamp(t),
        conn: ConnId(conn),
        proto,
        seq,
        dir,
        body,
        wire: None,
    }
}

const T0: i64 = 1_764_095_198_000_000;

fn ws_conn() -> Vec<Record> {
    let bodies = [
        (
            Dir::Meta,
            Body::Open {
                status: 101,
                headers: vec![
                    ("upgrade".into(), "websocket".into()),
                    ("set-cookie".into(), "sid=s3cret".into()),
                    ("sec-websocket-protocol".into(), "chat".into()),
                ],
                subprotocol: Some("chat".into()),
            },
        ),
        (Dir::Out, Body::Text("hello".into())),
        (Dir::In, Body::Binary(Bytes::from_static(&[0, 255]))),
        (Dir::In, Body::Ping(Bytes::from_static(b"p"))),
        (Dir::Out, Body::Pong(Bytes::from_static(b"p"))),
        (Dir::In, error("mid-stream trouble")),
        (
            Dir::In,
            Body::Close {
                code: Some(4000),
                reason: "done ✓".into(),
            },
        ),
        (
            Dir::Out,
            Body::Close {
                code: None,
                reason: String::new(),
            },
        ),
    ];
    bodies
        .into_iter()
        .enumerate()
        .map(|(i, (dir, body))| {
            let dir = if matches!(body, Body::Error { .. }) {
                Dir::Meta
            } else {
                dir
            };
            rec(1, Proto::Ws, i as u64 + 1, T0 + i as i64 * 1_001, dir, body)
        })
        .collect()
}

fn sse_conn() -> Vec<Record> {
    let ev = |event: &str, data: &str, id: Option<&str>| Body::Event {
        event: event.into(),
        data: data.into(),
        id: id.map(Into::into),
    };
    let bodies = [
        (
            Dir::Meta,
            Body::Open {
                status: 200,
                headers: vec![("content-type".into(), "text/event-stream".into())],
                subprotocol: None,
            },
        ),
        (Dir::In, Body::Retry { retry_ms: 250 }),
        (Dir::In, Body::Comment(" hi".into())),
        (Dir::In, ev("message", "a\nb", None)),
        (Dir::In, ev("tick", "", Some("1"))),
        (Dir::In, Body::Comment(String::new())),
        (Dir::In, ev("tick", " lead\n", Some("1"))),
        (Dir::In, ev("message", "x", Some(""))),
    ];
    bodies
        .into_iter()
        .enumerate()
        .map(|(i, (dir, body))| {
            rec(
                7,
                Proto::Sse,
                i as u64 + 1,
                T0 + 5_000_000 + i as i64 * 333,
                dir,
                body,
            )
        })
        .collect()
}

fn export(conns: &[Vec<Record>], infos: &[ConnInfo], opts: &WriteOptions) -> String {
    let exports: Vec<ConnExport<'_>> = conns
        .iter()
        .zip(infos)
        .map(|(records, info)| ConnExport { records, info })
        .collect();
    let mut out = Vec::new();
    write(&exports, opts, &mut out).expect("a Vec takes every byte");
    String::from_utf8(out).expect("HAR is UTF-8")
}

#[test]
fn export_writes_the_entries_chrome_devtools_imports() {
    let info = ConnInfo {
        url: Some("wss://chat.example.com/socket".into()),
        method: None,
        request_headers: vec![("Authorization".into(), "Bearer tok".into())],
    };
    let text = export(
        &[ws_conn(), sse_conn()],
        &[info, ConnInfo::default()],
        &WriteOptions::default(),
    );
    let har: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(har["log"]["version"], "1.2");
    let ws = &har["log"]["entries"][0];
    // Fields Chrome's HAREntry requires, and its own extensions.
    for field in [
        "startedDateTime",
        "time",
        "request",
        "response",
        "cache",
        "timings",
    ] {
        assert!(!ws[field].is_null(), "{field} missing");
    }
    assert_eq!(ws["startedDateTime"], "2025-11-25T18:26:38.000000Z");
    assert_eq!(ws["_resourceType"], "websocket");
    assert_eq!(ws["request"]["method"], "GET");
    assert_eq!(ws["request"]["url"], "wss://chat.example.com/socket");
    assert_eq!(ws["response"]["status"], 101);
    assert_eq!(ws["response"]["statusText"], "Switching Protocols");
    let messages = ws["_webSocketMessages"].as_array().expect("messages");
    assert_eq!(
        messages[0],
        serde_json::json!({"type": "send", "time": 1764095198.001001, "opcode": 1, "data": "hello"})
    );
    assert_eq!(messages[1]["opcode"], 2);
    assert_eq!(messages[1]["data"], "AP8=");
    assert_eq!(messages[4]["type"], "error");
    assert_eq!(messages[4]["opcode"], -1);
    // Close: code 4000 big-endian, then the reason.
    assert_eq!(messages[5]["opcode"], 8);
    assert_eq!(messages[5]["data"], BASE64_CLOSE_4000_DONE);
    assert_eq!(messages[6]["data"], "");
    let sse = &har["log"]["entries"][1];
    assert_eq!(sse["_resourceType"], "eventsource");
    assert_eq!(sse["request"]["url"], "http://unknown.invalid/c7");
    assert_eq!(sse["response"]["content"]["mimeType"], "text/event-stream");
    assert_eq!(
        sse["response"]["content"]["text"],
        "retry: 250\n: hi\ndata: a\ndata: b\n\nid: 1\nevent: tick\ndata: \n\n:\nevent: tick\ndata:  lead\ndata: \n\nid: \ndata: x\n\n"
    );
    assert_eq!(
        sse["_eventSourceMessages"][1],
        serde_json::json!({"time": 1764095203.001332, "eventName": "tick", "eventId": "1", "data": ""})
    );
}

#[test]
fn export_carries_wire_figures_as_custom_fields_and_import_reads_them_back() {
    let mut records = ws_conn();
    let listed = [(false, 1, true, 3), (true, 0, false, 4)].map(|(fin, opcode, rsv1, len)| {
        crate::record::WireFrame {
            fin,
            opcode,
            rsv1,
            masked: false,
            len,
        }
    });
    records[1].wire = Some(Box::new(crate::record::Wire {
        bytes: 11,
        frames: 2,
        compressed_size: Some(7),
        framing_bytes: None,
        frame_list: listed.to_vec(),
        handshake: None,
    }));
    records[0].wire = Some(Box::new(crate::record::Wire {
        handshake: Some(crate::record::Handshake {
            request_size: 240,
            response_size: 129,
            extensions: None,
        }),
        ..crate::record::Wire::frame(0, None)
    }));
    records[0].wire.as_mut().expect("set").frames = 0;
    let text = export(
        &[records.clone()],
        &[ConnInfo::default()],
        &WriteOptions::default(),
    );
    let har: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let messages = har["log"]["entries"][0]["_webSocketMessages"]
        .as_array()
        .expect("messages");
    let first_with_wire = messages
        .iter()
        .find(|m| !m["_wireBytes"].is_null())
        .expect("a message with wire figures");
    assert_eq!(first_with_wire["_wireBytes"], 11);
    assert_eq!(first_with_wire["_frames"], 2);
    assert_eq!(first_with_wire["_compressedSize"], 7);
    assert_eq!(first_with_wire["_frameList"][0]["rsv1"], true);
    assert_eq!(
        messages.iter().filter(|m| !m["_frames"].is_null()).count(),
        1
    );
    let entry = &har["log"]["entries"][0];
    assert_eq!(entry["request"]["headersSize"], 240);
    assert_eq!(entry["response"]["headersSize"], 129);
    // Our reader takes them back; other readers skip what starts with `_`.
    let back = import(&text).records;
    let wires = |rs: &[Record]| rs.iter().map(|r| r.wire.clone()).collect::<Vec<_>>();
    assert_eq!(wires(&back), wires(&records));
}

/// base64 of [0x0f, 0xa0] ++ "done ✓".
const BASE64_CLOSE_4000_DONE: &str = "D6Bkb25lIOKckw==";

#[test]
fn secrets_are_redacted_unless_kept() {
    let info = ConnInfo {
        url: Some("ws://h/".into()),
        method: None,
        request_headers: vec![
            ("Authorization".into(), "Bearer tok".into()),
            ("Cookie".into(), "sid=1".into()),
            ("Proxy-Authorization".into(), "Basic eA==".into()),
            ("X-Trace".into(), "t-1".into()),
        ],
    };
    let text = export(
        &[ws_conn()],
        std::slice::from_ref(&info),
        &WriteOptions::default(),
    );
    for secret in ["Bearer tok", "sid=1", "Basic eA==", "sid=s3cret"] {
        assert!(!text.contains(secret), "{secret} leaked:\n{text}");
    }
    assert_eq!(text.matches(REDACTED).count(), 4, "{text}");
    assert!(text.contains("t-1"));
    let kept = export(&[ws_conn()], &[info], &WriteOptions { redact: false });
    for secret in ["Bearer tok", "sid=1", "Basic eA==", "sid=s3cret"] {
        assert!(kept.contains(secret), "{secret} dropped with redact: false");
    }
}

// --- round trip -------------------------------------------------------------------------

/// What a HAR carries of these connections, as an import gives it back: connections
/// renumbered c1, c2 … in order; `cause` of errors dropped; WS `subprotocol` from the
/// `sec-websocket-protocol` header; a close without a code loses its reason; SSE keeps
/// the first `open`, events, comments and `retry` fields (these two at the time of the
/// event before them), and its first `error` moved to the end; SSE `end`, `reconnect`,
/// later `open`s and later errors are not carried. A connection refused before opening
/// keeps its error, with the status and headers when a response came.
fn carried(conns: &[Vec<Record>]) -> Vec<Record> {
    let mut out = Vec::new();
    for (i, conn) in conns.iter().enumerate() {
        let id = ConnId(i as u32 + 1);
        let Some(first) = conn.first() else { continue };
        let refused = !conn.iter().any(|r| matches!(r.body, Body::Open { .. }));
        let mut mine: Vec<Record> = Vec::new();
        let mut sse_error: Option<String> = None;
        let mut last_event_t = first.t;
        for r in conn {
            let mut r = r.clone();
            r.conn = id;
            let keep = match (&mut r.body, first.proto) {
                (
                    Body::Open {
                        headers,
                        subprotocol,
                        ..
                    },
                    proto,
                ) => {
                    *subprotocol = match proto {
                        Proto::Ws => headers
                            .iter()
                            .find(|(n, _)| n == "sec-websocket-protocol")
                            .map(|(_, v)| v.clone()),
                        Proto::Sse => None,
                    };
                    !mine.iter().any(|m| matches!(m.body, Body::Open { .. }))
                }
                (
                    Body::Error {
                        message,
                        cause,
                        status,
                        headers,
                    },
                    proto,
                ) => {
                    *cause = None;
                    if refused && mine.is_empty() {
                        let answered = status.filter(|s| *s > 0);
                        *headers = answered.map(|_| headers.take().unwrap_or_default());
                        *status = answered;
                        true
                    } else if refused {
                        false
                    } else {
                        *status = None;
                        *headers = None;
                        if proto == Proto::Sse {
                            if !message.trim().is_empty() {
                                sse_error.get_or_insert_with(|| message.clone());
                            }
                            false
                        } else {
                            true
                        }
                    }
                }
                (Body::Close { code: None, reason }, _) => {
                    reason.clear();
                    true
                }
                (Body::Event { .. }, _) => {
                    last_event_t = r.t;
                    true
                }
                (Body::Comment(_) | Body::Retry { .. }, _) => {
                    r.t = last_event_t;
                    true
                }
                (Body::End | Body::Reconnect { .. }, _) => false,
                _ => !refused,
            };
            if keep && (!refused || mine.is_empty()) {
                mine.push(r);
            }
        }
        if let Some(message) = sse_error {
            let t = mine.last().map_or(first.t, |r| r.t);
            mine.push(Record {
                t,
                conn: id,
                proto: Proto::Sse,
                seq: 0,
                dir: Dir::Meta,
                body: error(&message),
                wire: None,
            });
        }
        for (n, r) in mine.iter_mut().enumerate() {
            r.seq = n as u64 + 1;
        }
        out.extend(mine);
    }
    out
}

fn round_trip(conns: &[Vec<Record>]) -> Vec<Record> {
    let infos = vec![ConnInfo::default(); conns.len()];
    let text = export(conns, &infos, &WriteOptions { redact: false });
    read(text.as_bytes(), &Limits::default())
        .unwrap_or_else(|e| panic!("our own export does not import: {e}\n{text}"))
        .records
}

#[test]
fn one_of_every_kind_survives_the_round_trip_as_far_as_har_carries_it() {
    let mut sse = sse_conn();
    let n = sse.len() as u64;
    sse.extend([
        rec(7, Proto::Sse, n + 1, T0 + 9_000_000, Dir::Meta, Body::End),
        rec(
            7,
            Proto::Sse,
            n + 2,
            T0 + 9_000_001,
            Dir::Meta,
            Body::Reconnect {
                retry_ms: 250,
                attempt: 1,
                last_event_id: Some("1".into()),
            },
        ),
        rec(
            7,
            Proto::Sse,
            n + 3,
            T0 + 9_000_002,
            Dir::Meta,
            error("gave up"),
        ),
    ]);
    let refused = vec![rec(
        3,
        Proto::Ws,
        1,
        T0,
        Dir::Meta,
        Body::Error {
            message: "handshake rejected: 403 Forbidden".into(),
            cause: Some(crate::Cause::HandshakeRejected),
            status: Some(403),
            headers: Some(vec![("server".into(), "x".into())]),
        },
    )];
    let conns = vec![ws_conn(), sse, refused];
    assert_eq!(round_trip(&conns), carried(&conns));
}

fn header_map() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::btree_map("[a-z][a-z0-9-]{0,12}", "[ -~]{0,20}", 0..4)
        .prop_map(|m| m.into_iter().collect())
}

/// A line of SSE text: any characters but CR and LF, which end a field.
fn sse_text() -> impl Strategy<Value = String> {
    "[^\r\n]{0,12}"
}

fn ws_body() -> impl Strategy<Value = (Dir, Body)> {
    let dir = prop_oneof![Just(Dir::In), Just(Dir::Out)];
    let bytes = proptest::collection::vec(any::<u8>(), 0..16).prop_map(Bytes::from);
    prop_oneof![
        (dir.clone(), ".{0,16}").prop_map(|(d, s)| (d, Body::Text(s))),
        (dir.clone(), bytes.clone()).prop_map(|(d, b)| (d, Body::Binary(b))),
        (dir.clone(), bytes.clone()).prop_map(|(d, b)| (d, Body::Ping(b))),
        (dir.clone(), bytes).prop_map(|(d, b)| (d, Body::Pong(b))),
        (dir, proptest::option::of(any::<u16>()), ".{0,8}")
            .prop_map(|(d, code, reason)| (d, Body::Close { code, reason })),
        ".{0,12}".prop_map(|m| (Dir::Meta, error(&m))),
    ]
}

/// SSE bodies; an event's `Option<String>` is a new id it sets, turned into the id in
/// force by `sse_conn_of`.
fn sse_body() -> impl Strategy<Value = (Dir, Body)> {
    prop_oneof![
        4 => ("[a-z]{1,6}|message", "[^\r]{0,16}", proptest::option::of("[^\r\n\0]{0,6}"))
            .prop_map(|(event, data, id)| (Dir::In, Body::Event { event, data, id })),
        1 => sse_text().prop_map(|c| (Dir::In, Body::Comment(c))),
        1 => (0..100_000u64).prop_map(|ms| (Dir::In, Body::Retry { retry_ms: ms })),
        1 => Just((Dir::Meta, Body::End)),
        1 => ".{0,8}".prop_map(|m| (Dir::Meta, error(&m))),
    ]
}

/// One connection: `open` (or a refusal), then the bodies, at times within a day after
/// a start between 2001 and 2033, in any order.
fn conn_of(
    proto: Proto,
    refused: Option<u16>,
    open_headers: Vec<(String, String)>,
    bodies: Vec<(Dir, Body)>,
    times: Vec<i64>,
    start: i64,
    conn: u32,
) -> Vec<Record> {
    let mut out = Vec::new();
    let mut push = |dir, body, t| {
        let seq = out.len() as u64 + 1;
        out.push(rec(conn, proto, seq, t, dir, body));
    };
    if let Some(status) = refused {
        push(
            Dir::Meta,
            Body::Error {
                message: "refused".into(),
                cause: Some(crate::Cause::HandshakeRejected),
                status: (status > 0).then_some(status),
                headers: (status > 0).then_some(open_headers),
            },
            start,
        );
        return out;
    }
    let subprotocol = open_headers
        .iter()
        .find(|(n, _)| n == "sec-websocket-protocol")
        .map(|(_, v)| v.clone());
    push(
        Dir::Meta,
        Body::Open {
            status: if proto == Proto::Ws { 101 } else { 200 },
            headers: open_headers,
            subprotocol,
        },
        start,
    );
    let mut id_in_force: Option<String> = None;
    for ((dir, mut body), t) in bodies.into_iter().zip(times) {
        if let Body::Event { id, .. } = &mut body {
            if let Some(new) = id.take() {
                id_in_force = Some(new);
            }
            id.clone_from(&id_in_force);
        }
        push(dir, body, start + t);
    }
    out
}

fn any_conn(conn: u32) -> impl Strategy<Value = Vec<Record>> {
    let refusal = prop_oneof![4 => Just(None), 1 => prop_oneof![Just(0u16), Just(403), Just(500)].prop_map(Some)];
    let times = proptest::collection::vec(0..86_000_000_000i64, 24);
    let start = 1_000_000_000_000_000..2_000_000_000_000_000i64;
    prop_oneof![
        (
            refusal.clone(),
            header_map(),
            proptest::collection::vec(ws_body(), 0..24),
            times.clone(),
            start.clone()
        )
            .prop_map(move |(r, h, b, t, s)| conn_of(Proto::Ws, r, h, b, t, s, conn)),
        (
            refusal,
            header_map(),
            proptest::collection::vec(sse_body(), 0..24),
            times,
            start
        )
            .prop_map(move |(r, h, b, t, s)| conn_of(Proto::Sse, r, h, b, t, s, conn)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn records_survive_ndjson_to_har_to_ndjson_in_everything_har_carries(
        a in any_conn(4), b in any_conn(2), c in any_conn(9),
    ) {
        let conns = vec![a, b, c];
        prop_assert_eq!(round_trip(&conns), carried(&conns));
    }

    #[test]
    fn any_bytes_are_refused_or_read_never_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = read(&bytes, &Limits::default());
    }
}

#[test]
fn a_headers_size_a_tool_wrote_oddly_is_unknown_not_an_error() {
    for (odd, want) in [
        ("-1", None),
        ("389.0", Some(389)),
        ("\"389\"", None),
        ("null", None),
        ("12.5", None),
    ] {
        let text = CHROME.replacen(
            r#""headersSize": 389"#,
            &format!(r#""headersSize": {odd}"#),
            1,
        );
        assert_ne!(text, CHROME, "the fixture has the request's headersSize");
        let i = import(&text);
        let open = &of(&i, 1)[0];
        let size = open
            .wire
            .as_ref()
            .and_then(|w| w.handshake.as_ref())
            .map(|h| h.request_size);
        // The response's 211 still counts; the request's is 0 when unknown.
        assert_eq!(size, Some(want.unwrap_or(0)), "headersSize {odd}");
    }
}

#[test]
fn a_message_time_after_the_year_5138_is_refused_as_a_likely_wrong_unit() {
    // 1.76e14 ms is the year 7560: in seconds it would be read back as milliseconds.
    let text = PLAYWRIGHT.replacen("1764095199001.125", "176409519900152.1", 1);
    assert_ne!(text, PLAYWRIGHT, "the fixture has the message time");
    let e = read(text.as_bytes(), &Limits::default()).expect_err("refused");
    assert!(e.to_string().contains("after the year 5138"), "{e}");
    // An entry that starts then would give its events that time too.
    let late = CHROME.replace(
        "\"startedDateTime\": \"2025-",
        "\"startedDateTime\": \"9705-",
    );
    assert_ne!(late, CHROME);
    let e = read(late.as_bytes(), &Limits::default()).expect_err("refused");
    assert!(e.to_string().contains("after the year 5138"), "{e}");
}
