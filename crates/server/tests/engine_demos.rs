//! The engine against every demo endpoint: each test opens a connection through the
//! server's session (as the control API does) to a demo of the same server, and checks the
//! records show what the demo's description in `GET /demo` promises.

mod support;

use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use serde_json::Value;
use streamscope_engine::session::{ConnState, Session};
use streamscope_engine::{Body, Command, ConnId, Dir, Record, SseOptions, WsOptions};
use streamscope_server::Server;
use support::{PATIENCE, with_server};
use tokio::time::{Instant, timeout};
use url::Url;

fn ws_opts(server: &Server, path: &str) -> WsOptions {
    WsOptions::new(Url::parse(&format!("ws://{}{path}", server.addr)).expect("url"))
}

fn sse_opts(server: &Server, path: &str) -> SseOptions {
    let mut o = SseOptions::new(Url::parse(&format!("http://{}{path}", server.addr)).expect("url"));
    // The demos announce their own delays; this one only shows when they did not.
    o.retry = Duration::from_secs(10);
    o
}

fn all(session: &Session, id: ConnId) -> Vec<Record> {
    let mut out = Vec::new();
    session
        .records(id, 1, usize::MAX, &mut out)
        .expect("a known connection");
    out
}

/// `dir kind` of each record, for assertion messages.
fn show(records: &[Record]) -> String {
    records
        .iter()
        .map(|r| format!("{}:{} {}", r.seq, r.dir.as_str(), r.kind()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Waits (on the session's change signal) until the records satisfy `done`.
async fn wait(session: &Session, id: ConnId, done: impl Fn(&[Record]) -> bool) -> Vec<Record> {
    let mut changes = session.subscribe();
    let start = Instant::now();
    loop {
        changes.borrow_and_update();
        let records = all(session, id);
        if done(&records) {
            return records;
        }
        let left = PATIENCE.saturating_sub(start.elapsed());
        if timeout(left, changes.changed()).await.is_err() {
            panic!("{id} never got there: {}", show(&records));
        }
    }
}

/// Waits until the connection's task has ended, and returns its records.
async fn wait_ended(session: &Session, id: ConnId) -> (ConnState, Vec<Record>) {
    wait(session, id, |_| {
        matches!(
            session.brief(id).map(|s| s.listing.state),
            Ok(ConnState::Closed | ConnState::Failed)
        )
    })
    .await;
    let state = session.brief(id).expect("brief").listing.state;
    (state, all(session, id))
}

fn count(records: &[Record], dir: Dir, kind: &str) -> usize {
    records
        .iter()
        .filter(|r| r.dir == dir && r.kind() == kind)
        .count()
}

#[track_caller]
fn assert_seqs_from_one(records: &[Record]) {
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.seq, i as u64 + 1, "{}", show(records));
    }
}

fn event_ids(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .filter_map(|r| match &r.body {
            Body::Event { id, .. } => Some(id.clone().unwrap_or_default()),
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// WebSocket demos
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn ws_echo_sends_back_what_the_engine_sends() {
    with_server(|server, _| async move {
        let session = &server.session;
        let mut o = ws_opts(&server, "/demo/ws/echo");
        o.send = vec![
            Command::Text("round trip".into()),
            Command::Binary(Bytes::from_static(&[0, 1, 2, 255])),
        ];
        let id = session.open_ws(o, None);
        let records = wait(session, id, |r| count(r, Dir::In, "binary") == 1).await;
        let bodies: Vec<(Dir, &Body)> = records.iter().map(|r| (r.dir, &r.body)).collect();
        assert!(matches!(
            bodies[0],
            (Dir::Meta, Body::Open { status: 101, .. })
        ));
        assert_eq!(bodies[1], (Dir::Out, &Body::Text("round trip".into())));
        assert_eq!(
            bodies[2],
            (Dir::Out, &Body::Binary(Bytes::from_static(&[0, 1, 2, 255])))
        );
        assert_eq!(bodies[3], (Dir::In, &Body::Text("round trip".into())));
        assert_eq!(
            bodies[4],
            (Dir::In, &Body::Binary(Bytes::from_static(&[0, 1, 2, 255])))
        );
        // And a message sent later, through the session as the API does.
        session
            .send(id, Command::Text("later".into()))
            .await
            .expect("send");
        wait(session, id, |r| count(r, Dir::In, "text") == 2).await;
        session.close(id).await.expect("close");
        let (state, records) = wait_ended(session, id).await;
        assert_eq!(state, ConnState::Closed, "{}", show(&records));
        assert_seqs_from_one(&records);
    })
    .await;
}

#[tokio::test]
async fn ws_ticker_records_carry_the_send_time_for_latency() {
    with_server(|server, _| async move {
        let session = &server.session;
        let id = session.open_ws(ws_opts(&server, "/demo/ws/ticker?rate=200&count=20"), None);
        let (state, records) = wait_ended(session, id).await;
        assert_eq!(state, ConnState::Closed, "{}", show(&records));
        let ticks: Vec<(&Record, Value)> = records
            .iter()
            .filter_map(|r| match &r.body {
                Body::Text(t) if r.dir == Dir::In => {
                    Some((r, serde_json::from_str(t).expect("a JSON tick")))
                }
                _ => None,
            })
            .collect();
        assert_eq!(ticks.len(), 20);
        for (i, (record, tick)) in ticks.iter().enumerate() {
            assert_eq!(tick["n"], i as u64 + 1);
            assert!(
                tick["sent_at"].as_str().is_some_and(|s| s.ends_with('Z')),
                "{tick}"
            );
            let sent_at_us = tick["sent_at_us"].as_i64().expect("sent_at_us");
            // One-way latency: when the engine saw it minus when the server sent it. Same
            // clock on loopback, so it is small and never negative.
            let latency = record.t.as_micros() - sent_at_us;
            assert!(
                (0..5_000_000).contains(&latency),
                "latency {latency} µs of tick {}",
                i + 1
            );
        }
        // After `count`, the ticker closes with 1000 and the engine answers.
        let close_in = records
            .iter()
            .find(|r| r.dir == Dir::In && r.kind() == "close")
            .expect("the ticker's close");
        assert!(
            matches!(
                close_in.body,
                Body::Close {
                    code: Some(1000),
                    ..
                }
            ),
            "{:?}",
            close_in.body
        );
        assert_eq!(count(&records, Dir::Out, "close"), 1);
    })
    .await;
}

#[tokio::test]
async fn ws_binary_records_carry_the_sequence_number_in_the_first_bytes() {
    with_server(|server, _| async move {
        let session = &server.session;
        let id = session.open_ws(
            ws_opts(&server, "/demo/ws/binary?rate=500&count=10&size=100"),
            None,
        );
        let (state, records) = wait_ended(session, id).await;
        assert_eq!(state, ConnState::Closed);
        let payloads: Vec<&Bytes> = records
            .iter()
            .filter_map(|r| match &r.body {
                Body::Binary(b) if r.dir == Dir::In => Some(b),
                _ => None,
            })
            .collect();
        assert_eq!(payloads.len(), 10);
        for (i, p) in payloads.iter().enumerate() {
            assert_eq!(p.len(), 100);
            assert_eq!(p[..8], (i as u64 + 1).to_be_bytes());
        }
    })
    .await;
}

#[tokio::test]
async fn ws_scripted_peer_pings_sends_fragments_and_closes_with_its_code() {
    with_server(|server, _| async move {
        let session = &server.session;
        let id = session.open_ws(
            ws_opts(
                &server,
                "/demo/ws/scripted?step_ms=30&fragments=4&text=one%20two%20three%20four&code=4123&reason=all%20done&ping=knock",
            ),
            None,
        );
        let (state, records) = wait_ended(session, id).await;
        assert_eq!(state, ConnState::Closed, "{}", show(&records));
        assert_seqs_from_one(&records);
        let seen: Vec<(Dir, &str)> = records.iter().map(|r| (r.dir, r.kind())).collect();
        assert_eq!(
            seen,
            [
                (Dir::Meta, "open"),
                (Dir::In, "text"),
                (Dir::In, "ping"),
                (Dir::Out, "pong"),
                (Dir::In, "text"),
                (Dir::In, "close"),
                (Dir::Out, "close"),
            ],
            "{}",
            show(&records)
        );
        assert!(matches!(&records[1].body, Body::Text(t) if t.starts_with("script:")));
        assert_eq!(records[2].body, Body::Ping(Bytes::from_static(b"knock")));
        // The automatic pong echoes the ping's payload.
        assert_eq!(records[3].body, Body::Pong(Bytes::from_static(b"knock")));
        // Four fragments, one message.
        assert_eq!(records[4].body, Body::Text("one two three four".into()));
        let close = Body::Close {
            code: Some(4123),
            reason: "all done".into(),
        };
        assert_eq!(records[5].body, close);
        assert_eq!(records[6].body, close, "the engine echoes the peer's close");
    })
    .await;
}

#[tokio::test]
async fn ws_silent_peer_is_detected_by_the_ping_deadline() {
    with_server(|server, _| async move {
        let session = &server.session;
        let mut o = ws_opts(&server, "/demo/ws/silent?messages=2&hold_s=30");
        o.ping_interval = Some(Duration::from_millis(200));
        o.pong_timeout = Some(Duration::from_millis(400));
        let id = session.open_ws(o, None);
        let (state, records) = wait_ended(session, id).await;
        assert_eq!(state, ConnState::Failed, "{}", show(&records));
        assert_eq!(count(&records, Dir::In, "text"), 2);
        assert!(count(&records, Dir::Out, "ping") >= 1);
        assert_eq!(count(&records, Dir::In, "pong"), 0);
        assert_eq!(count(&records, Dir::In, "close"), 0);
        let error = records.last().expect("records");
        match &error.body {
            Body::Error { message, .. } => assert!(message.contains("no pong"), "{message}"),
            other => panic!("expected the dead-peer error last, got {other:?}"),
        }
        // Detected within the deadline, not after the peer's hold.
        let first_ping = records.iter().find(|r| r.kind() == "ping").expect("a ping");
        let waited = error.t.as_micros() - first_ping.t.as_micros();
        assert!(
            (300_000..5_000_000).contains(&waited),
            "{waited} µs from the first ping to the verdict"
        );
    })
    .await;
}

#[tokio::test]
async fn ws_chat_relays_one_members_text_to_the_others() {
    with_server(|server, _| async move {
        let session = &server.session;
        let ada = session.open_ws(ws_opts(&server, "/demo/ws/chat?name=ada"), None);
        wait(session, ada, |r| count(r, Dir::In, "text") >= 1).await;
        let bob = session.open_ws(ws_opts(&server, "/demo/ws/chat?name=bob"), None);
        wait(session, bob, |r| count(r, Dir::In, "text") >= 1).await;
        session
            .send(ada, Command::Text("hello bob".into()))
            .await
            .expect("send");
        let relayed = |records: &[Record]| {
            records.iter().find_map(|r| match &r.body {
                Body::Text(t) if r.dir == Dir::In => {
                    let v: Value = serde_json::from_str(t).ok()?;
                    (v["type"] == "message").then_some(v)
                }
                _ => None,
            })
        };
        let records = wait(session, bob, |r| relayed(r).is_some()).await;
        let message = relayed(&records).expect("relayed");
        assert_eq!(message["from"], "ada");
        assert_eq!(message["text"], "hello bob");
        assert!(message["sent_at"].is_string());
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// SSE demos
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn sse_ticker_events_carry_type_id_and_send_time_and_204_after_count_stops_reconnection() {
    with_server(|server, _| async move {
        let session = &server.session;
        let mut o = sse_opts(&server, "/demo/sse/ticker?rate=200&count=5&event=price");
        o.retry = Duration::from_millis(20);
        let id = session.open_sse(o, None);
        let (state, records) = wait_ended(session, id).await;
        assert_eq!(state, ConnState::Closed, "{}", show(&records));
        assert_seqs_from_one(&records);
        assert_eq!(event_ids(&records), ["1", "2", "3", "4", "5"]);
        for r in &records {
            if let Body::Event { event, data, .. } = &r.body {
                assert_eq!(event, "price");
                let tick: Value = serde_json::from_str(data).expect("json");
                let latency = r.t.as_micros() - tick["sent_at_us"].as_i64().expect("sent_at_us");
                assert!((0..5_000_000).contains(&latency), "{latency}");
            }
        }
        let kinds: Vec<&str> = records
            .iter()
            .filter(|r| r.kind() != "event")
            .map(Record::kind)
            .collect();
        // The stream ends after count; the reconnection gets 204, which ends it for good.
        assert_eq!(
            kinds,
            ["open", "end", "reconnect", "end"],
            "{}",
            show(&records)
        );
        let reconnect = records
            .iter()
            .find(|r| r.kind() == "reconnect")
            .expect("reconnect");
        assert_eq!(
            reconnect.body,
            Body::Reconnect {
                retry_ms: 20,
                attempt: 1,
                last_event_id: Some("5".into())
            }
        );
    })
    .await;
}

#[tokio::test]
async fn sse_flaky_stream_breaks_and_resumes_after_last_event_id_with_no_gap() {
    with_server(|server, _| async move {
        let session = &server.session;
        let id = session.open_sse(
            sse_opts(
                &server,
                "/demo/sse/flaky?every=3&retry_ms=30&rate=500&count=10",
            ),
            None,
        );
        let (state, records) = wait_ended(session, id).await;
        assert_eq!(state, ConnState::Closed, "{}", show(&records));
        assert_seqs_from_one(&records);
        // Every id once, in order, across the reconnections.
        let expected: Vec<String> = (1..=10).map(|n| n.to_string()).collect();
        assert_eq!(event_ids(&records), expected, "{}", show(&records));
        // Each drop is an `error` (or an `end`), then a `reconnect` that sends the last id.
        let reconnects: Vec<(usize, &Record)> = records
            .iter()
            .enumerate()
            .filter(|(_, r)| r.kind() == "reconnect")
            .collect();
        assert!(reconnects.len() >= 3, "{}", show(&records));
        let mut last_id = None;
        for (i, r) in &records.iter().enumerate().collect::<Vec<_>>() {
            if let Body::Event { id, .. } = &r.body {
                last_id = id.clone();
            }
            if let Body::Reconnect {
                retry_ms,
                last_event_id,
                ..
            } = &r.body
            {
                assert!(
                    matches!(records[i - 1].kind(), "error" | "end"),
                    "{}",
                    show(&records)
                );
                assert_eq!(*retry_ms, 30, "the delay the stream announced");
                assert_eq!(last_event_id, &last_id);
            }
        }
        assert!(
            records.iter().any(
                |r| matches!(&r.body, Body::Error { message, .. } if message.contains("broke"))
            ),
            "the flaky drops are transport errors: {}",
            show(&records)
        );
        assert_eq!(
            records.last().map(Record::kind),
            Some("end"),
            "204 at the end"
        );
    })
    .await;
}

#[tokio::test]
async fn sse_retry_field_changes_the_reconnection_delay() {
    with_server(|server, _| async move {
        let session = &server.session;
        // The engine's own delay would be 10 s; the stream asks for 300 ms.
        let id = session.open_sse(
            sse_opts(
                &server,
                "/demo/sse/retry?retry_ms=300&per_connection=2&total=4&rate=200",
            ),
            None,
        );
        let (state, records) = wait_ended(session, id).await;
        assert_eq!(state, ConnState::Closed, "{}", show(&records));
        assert_eq!(event_ids(&records), ["1", "2", "3", "4"]);
        let retry = records
            .iter()
            .find(|r| r.kind() == "retry")
            .expect("a retry record");
        assert_eq!(retry.dir, Dir::In);
        assert_eq!(retry.body, Body::Retry { retry_ms: 300 });
        let reconnects: Vec<&Record> = records.iter().filter(|r| r.kind() == "reconnect").collect();
        assert_eq!(reconnects.len(), 2, "{}", show(&records));
        for (i, r) in reconnects.iter().enumerate() {
            let Body::Reconnect {
                retry_ms,
                attempt,
                last_event_id,
            } = &r.body
            else {
                unreachable!()
            };
            assert_eq!(*retry_ms, 300);
            assert_eq!(*attempt, i as u32 + 1);
            assert_eq!(last_event_id.as_deref(), Some(["2", "4"][i]));
            // It waited the announced delay after the end.
            let end = &records[r.seq as usize - 2];
            assert_eq!(end.kind(), "end");
            let waited = r.t.as_micros() - end.t.as_micros();
            assert!(waited >= 290_000, "waited only {waited} µs");
        }
    })
    .await;
}

#[tokio::test]
async fn sse_heartbeat_comments_become_comment_records() {
    with_server(|server, _| async move {
        let session = &server.session;
        let mut o = sse_opts(
            &server,
            "/demo/sse/heartbeat?interval_ms=20&count=3&hold_s=30",
        );
        // The heartbeats stop after three; a read timeout notices the silence.
        o.idle_timeout = Some(Duration::from_millis(500));
        o.reconnect = false;
        let id = session.open_sse(o, None);
        let (state, records) = wait_ended(session, id).await;
        assert_eq!(state, ConnState::Failed, "{}", show(&records));
        let comments: Vec<&str> = records
            .iter()
            .filter_map(|r| match &r.body {
                Body::Comment(c) if r.dir == Dir::In => Some(c.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(comments.len(), 3, "{}", show(&records));
        for (i, c) in comments.iter().enumerate() {
            // The text after the colon, verbatim: the leading space stays.
            assert!(c.starts_with(&format!(" heartbeat {} ", i + 1)), "{c:?}");
        }
        assert_eq!(event_ids(&records).len(), 0, "no events at all");
        match &records.last().expect("records").body {
            Body::Error { message, .. } => assert!(message.contains("no data"), "{message}"),
            other => panic!("expected the idle timeout, got {other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn sse_silent_stream_is_noticed_only_by_a_read_timeout_and_then_resumed() {
    with_server(|server, _| async move {
        let session = &server.session;
        let mut o = sse_opts(&server, "/demo/sse/silent?first=1&hold_s=30");
        o.idle_timeout = Some(Duration::from_millis(300));
        o.retry = Duration::from_millis(20);
        let id = session.open_sse(o, None);
        let records = wait(session, id, |r| count(r, Dir::Meta, "open") == 2).await;
        let kinds: Vec<&str> = records.iter().map(Record::kind).collect();
        assert_eq!(
            kinds[..5],
            ["open", "event", "error", "reconnect", "open"],
            "{}",
            show(&records)
        );
        session.close(id).await.expect("close");
        let (state, _) = wait_ended(session, id).await;
        assert_eq!(state, ConnState::Closed);
    })
    .await;
}

#[tokio::test]
async fn sse_chat_post_streams_the_answer_token_by_token() {
    with_server(|server, _| async move {
        let session = &server.session;
        let mut o = sse_opts(&server, "/demo/sse/chat?rate=1000");
        o.method = streamscope_engine::conn::sse::Method::POST;
        o.body = Some(r#"{"prompt": "what is SSE?"}"#.into());
        o.common
            .headers
            .push(("Content-Type".into(), "application/json".into()));
        o.reconnect = false;
        let id = session.open_sse(o, None);
        let (state, records) = wait_ended(session, id).await;
        assert_eq!(state, ConnState::Closed, "{}", show(&records));
        let data: Vec<&str> = records
            .iter()
            .filter_map(|r| match &r.body {
                Body::Event { data, .. } => Some(data.as_str()),
                _ => None,
            })
            .collect();
        assert!(data.len() > 10, "{}", show(&records));
        assert_eq!(data.last(), Some(&"[DONE]"));
        let answer: String = data[..data.len() - 1]
            .iter()
            .map(|d| {
                let v: Value = serde_json::from_str(d).expect("a JSON token");
                v["token"].as_str().expect("token").to_owned()
            })
            .collect();
        assert!(
            answer.starts_with("You asked: \"what is SSE?\""),
            "{answer}"
        );
        assert_eq!(records.last().map(Record::kind), Some("end"));
    })
    .await;
}

#[tokio::test]
async fn sse_binary_events_carry_the_payloads_as_base64() {
    with_server(|server, _| async move {
        let session = &server.session;
        let mut o = sse_opts(&server, "/demo/sse/binary?rate=500&count=4&size=64");
        o.reconnect = false;
        let id = session.open_sse(o, None);
        let (state, records) = wait_ended(session, id).await;
        assert_eq!(state, ConnState::Closed, "{}", show(&records));
        let mut n = 0u64;
        for r in &records {
            if let Body::Event { data, id, .. } = &r.body {
                n += 1;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(data)
                    .expect("base64");
                assert_eq!(bytes.len(), 64);
                assert_eq!(bytes[..8], n.to_be_bytes());
                assert_eq!(id.as_deref(), Some(n.to_string().as_str()));
                // Base64 costs a third more on the wire than the WS binary frame.
                assert_eq!(r.body.size(), Some(88));
            }
        }
        assert_eq!(n, 4);
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// The labs' peers
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn ws_room_relays_each_message_to_every_member_the_sender_too_and_sse_room_hears_posts() {
    with_server(|server, api| async move {
        let session = &server.session;
        let a = session.open_ws(ws_opts(&server, "/demo/ws/room?room=r1"), None);
        let b = session.open_ws(ws_opts(&server, "/demo/ws/room?room=r1"), None);
        let other = session.open_ws(ws_opts(&server, "/demo/ws/room?room=r2"), None);
        let listen = session.open_sse(sse_opts(&server, "/demo/sse/room?room=r1"), None);
        for id in [a, b, other, listen] {
            wait(session, id, |r| count(r, Dir::Meta, "open") == 1).await;
        }
        session
            .send(a, Command::Text("from a".into()))
            .await
            .expect("send");
        let posted = api
            .post_raw("/demo/sse/room/send?room=r1", "from a post")
            .await;
        assert_eq!(posted.status, 204, "{}", posted.text());
        let texts_in = |r: &[Record]| -> Vec<String> {
            r.iter()
                .filter_map(|r| match (&r.body, r.dir) {
                    (Body::Text(t), Dir::In) => Some(t.clone()),
                    _ => None,
                })
                .collect()
        };
        for id in [a, b] {
            let got = wait(session, id, |r| texts_in(r).len() == 2).await;
            assert_eq!(texts_in(&got), ["from a", "from a post"], "{}", show(&got));
        }
        let heard = wait(session, listen, |r| count(r, Dir::In, "event") == 2).await;
        let data: Vec<&str> = heard
            .iter()
            .filter_map(|r| match &r.body {
                Body::Event { data, .. } => Some(data.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(data, ["from a", "from a post"]);
        assert!(
            texts_in(&all(session, other)).is_empty(),
            "another room hears nothing"
        );
    })
    .await;
}

#[tokio::test]
async fn ws_flaky_drops_after_every_messages_and_numbers_by_its_clock_so_a_reconnection_misses_some()
 {
    with_server(|server, _| async move {
        let session = &server.session;
        let path = "/demo/ws/flaky?every=3&rate=50&feed=f1";
        let first = session.open_ws(ws_opts(&server, path), None);
        let (state, records) = wait_ended(session, first).await;
        assert_eq!(
            state,
            ConnState::Failed,
            "dropped without a close frame: {}",
            show(&records)
        );
        let ns = |records: &[Record]| -> Vec<u64> {
            records
                .iter()
                .filter_map(|r| match (&r.body, r.dir) {
                    (Body::Text(t), Dir::In) => {
                        serde_json::from_str::<Value>(t).ok()?["n"].as_u64()
                    }
                    _ => None,
                })
                .collect()
        };
        assert_eq!(ns(&records), [1, 2, 3]);
        assert_eq!(count(&records, Dir::In, "close"), 0);
        // Away for a while: the feed's clock ran on without us.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let second = session.open_ws(ws_opts(&server, path), None);
        let (_, records) = wait_ended(session, second).await;
        let again = ns(&records);
        assert_eq!(again.len(), 3, "{}", show(&records));
        assert!(again[0] > 4, "ids sent while away are gone: {again:?}");
        assert_eq!(again[1], again[0] + 1);
    })
    .await;
}

#[test]
fn every_demo_in_the_catalog_is_covered_here() {
    // A new demo must get its test above; this list is what they cover.
    let covered = [
        "/ws/echo",
        "/ws/ticker",
        "/ws/binary",
        "/ws/scripted",
        "/ws/silent",
        "/ws/chat",
        "/sse/ticker",
        "/sse/flaky",
        "/sse/heartbeat",
        "/sse/retry",
        "/sse/silent",
        "/sse/chat",
        "/sse/binary",
        "/ws/room",
        "/ws/flaky",
        "/sse/room",
    ];
    let catalog: Vec<&str> = streamscope_server::demo::CATALOG
        .iter()
        .map(|d| d.path)
        .collect();
    assert_eq!(catalog, covered);
}
