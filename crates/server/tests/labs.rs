//! The labs, run for real through `/api/labs` with their short parameters, and the physical
//! facts each must show: SSE loses nothing across drops while the WebSocket lists the ids it
//! lost, a silent peer is noticed within ping + pong timeout (plus a stated slack) and not at
//! all without a timer, base64 costs about a third more, a WebSocket frame costs its header
//! and nothing else. Also the byte counters they read (`/demo/wire`) and the API's refusals.

mod support;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use support::{Api, PATIENCE, with_api, with_server};
use tokio::time::{Instant, sleep};
use tokio_tungstenite::tungstenite::Message;

/// How late a timer may fire on a loaded machine before the lab's figure is wrong: timers
/// are never early, and two cores running the whole suite delay them.
const TIMER_SLACK_S: f64 = 1.5;

/// Runs `name` with short parameters and waits for its end; the run as the API reports it.
async fn run_lab(api: &Api, name: &str) -> Value {
    let reply = api
        .post(&format!("/api/labs/{name}"), &json!({"quick": true}))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let run = reply.json()["run"].as_str().expect("a run id").to_owned();
    let start = Instant::now();
    loop {
        let now = api.get(&format!("/api/labs/runs/{run}")).await;
        assert_eq!(now.status, 200, "{}", now.text());
        let v = now.json();
        match v["state"].as_str() {
            Some("running") => {}
            Some("done") => return v,
            _ => panic!("the {name} lab did not finish: {v:#}"),
        }
        assert!(
            start.elapsed() < PATIENCE * 2,
            "{name} still running: {v:#}"
        );
        sleep(Duration::from_millis(100)).await;
    }
}

/// The figure called `name`: its WebSocket and SSE values.
fn figure<'a>(run: &'a Value, name: &str) -> (&'a Value, &'a Value) {
    let f = run["result"]["figures"]
        .as_array()
        .expect("figures")
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no figure {name:?} in {run:#}"));
    (&f["ws"], &f["sse"])
}

fn number(v: &Value, what: &str) -> f64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("{what} is not a number: {v}"))
}

#[tokio::test]
async fn the_list_has_every_lab_and_each_claim_names_its_source_and_an_existing_lab() {
    with_api(|api| async move {
        let v = api.get("/api/labs").await.json();
        let labs = v["labs"].as_array().expect("labs");
        let names: Vec<&str> = labs.iter().filter_map(|l| l["name"].as_str()).collect();
        assert_eq!(
            names,
            [
                "direction",
                "reconnect",
                "dead-peer",
                "binary",
                "connection-limit",
                "overhead"
            ]
        );
        for lab in labs {
            assert!(!lab["steps"].as_array().expect("steps").is_empty(), "{lab}");
            assert!(
                lab["explains"].as_str().is_some_and(|s| s.len() > 100),
                "{lab}"
            );
            let runs_in = if lab["name"] == "connection-limit" {
                "page"
            } else {
                "engine"
            };
            assert_eq!(lab["runs_in"], runs_in, "{lab}");
        }
        let claims = v["claims"].as_array().expect("claims");
        assert!(claims.len() >= 6);
        for c in claims {
            assert!(
                c["source"]["url"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("https://")),
                "{c}"
            );
            assert!(
                ["true", "false", "partly", "outdated"]
                    .contains(&c["verdict"].as_str().unwrap_or("")),
                "{c}"
            );
            if let Some(lab) = c["lab"].as_str() {
                assert!(names.contains(&lab), "{c} names a lab that does not exist");
            }
        }
    })
    .await;
}

#[tokio::test]
async fn reconnect_sse_loses_nothing_while_the_websocket_lists_what_it_lost() {
    with_api(|api| async move {
        let run = run_lab(&api, "reconnect").await;
        let (ws_lost, sse_lost) = figure(&run, "ids lost");
        assert_eq!(sse_lost, &json!(0), "{run:#}");
        // "N (a–b, …)": the WebSocket's clock ran on while it was away.
        let ws_lost = ws_lost
            .as_str()
            .unwrap_or_else(|| panic!("ws lost ids: {run:#}"));
        let count: u64 = ws_lost
            .split(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .expect("a count first");
        assert!(count > 0 && ws_lost.contains('('), "{ws_lost}");
        let (ws_twice, sse_twice) = figure(&run, "ids received twice");
        assert_eq!((ws_twice, sse_twice), (&json!(0), &json!(0)));
        let (ws_got, sse_got) = figure(&run, "messages received");
        assert_eq!(sse_got, &json!(12), "every id once: {run:#}");
        assert!(number(ws_got, "ws received") < 12.0, "{run:#}");
        let (ws_said, sse_said) = figure(&run, "reconnections that said where they stopped");
        let (_, sse_reconnections) = figure(&run, "reconnections");
        let n = sse_reconnections.as_u64().expect("a count");
        assert!(n >= 2, "a drop every 4 of 12: {run:#}");
        assert_eq!(sse_said, &json!(format!("{n} of {n}")));
        assert!(
            ws_said.as_str().is_some_and(|s| s.starts_with("0 of ")),
            "{ws_said}"
        );
        // The lab's connections are ordinary ones, in the session.
        let conns = run["conns"].as_array().expect("conns");
        assert!(conns.len() >= 3, "{run:#}");
        for c in conns {
            let id = c["id"].as_str().expect("id");
            assert_eq!(api.get(&format!("/api/connections/{id}")).await.status, 200);
        }
        let conclusion = run["result"]["conclusion"].as_str().expect("conclusion");
        assert!(conclusion.contains("SSE lost nothing"), "{conclusion}");
        assert!(
            conclusion.contains(&format!("lost {count} ids")),
            "{conclusion}"
        );
    })
    .await;
}

#[tokio::test]
async fn dead_peer_is_noticed_within_ping_and_pong_timeout_and_never_without_a_timer() {
    with_api(|api| async move {
        let run = run_lab(&api, "dead-peer").await;
        let (ws, sse) = figure(&run, "time to notice, with the timer");
        let ws = number(ws, "ws time to notice");
        let sse = number(sse, "sse time to notice");
        // Ping every 1 s, pong within 1 s: the first unanswered ping is sent at most 1 s
        // after the silence began, so 1–2 s; timers are late, never early.
        assert!(
            (1.0..=2.0 + TIMER_SLACK_S).contains(&ws),
            "ws noticed after {ws} s"
        );
        // Idle timeout 2 s, counted from the last byte.
        assert!(
            (2.0..=2.0 + TIMER_SLACK_S).contains(&sse),
            "sse noticed after {sse} s"
        );
        let (ws_none, sse_none) = figure(&run, "time to notice, with no timer");
        assert_eq!(ws_none, &json!("not noticed in 4 s"));
        assert_eq!(sse_none, &json!("not noticed in 4 s"));
        let conclusion = run["result"]["conclusion"].as_str().expect("conclusion");
        assert!(conclusion.contains("neither noticed"), "{conclusion}");
    })
    .await;
}

#[tokio::test]
async fn binary_base64_costs_about_a_third_more_and_a_frame_only_its_header() {
    with_api(|api| async move {
        let run = run_lab(&api, "binary").await;
        let (ws, sse) = figure(&run, "bytes on the wire per 4 KiB payload");
        // RFC 6455 5.2: 4096 bytes need the 16-bit length: 2 + 2 header bytes, no mask
        // from a server.
        assert_eq!(number(ws, "ws 4 KiB"), 4100.0, "{run:#}");
        let sse = number(sse, "sse 4 KiB");
        let ratio = sse / 4100.0;
        assert!(
            (1.30..1.42).contains(&ratio),
            "SSE/WS at 4 KiB = {ratio}: {run:#}"
        );
        // base64 of 4096 bytes alone is 5464.
        assert!(sse >= 5464.0, "{sse}");
        let (ws, sse) = figure(&run, "bytes on the wire per 64 B payload");
        assert_eq!(
            number(ws, "ws 64 B"),
            66.0,
            "a 7-bit length: 2 header bytes"
        );
        assert!(number(sse, "sse 64 B") > 64.0 * 4.0 / 3.0, "{run:#}");
    })
    .await;
}

#[tokio::test]
async fn overhead_counts_a_frame_header_against_sse_field_names_and_chunks() {
    with_api(|api| async move {
        let run = run_lab(&api, "overhead").await;
        let (ws, sse) = figure(&run, "overhead per message, 4 KiB asked");
        assert_eq!(number(ws, "ws overhead 4 KiB"), 4.0, "{run:#}");
        // `data: ` and the blank line alone are 8 bytes; the chunk's size line adds more.
        assert!(number(sse, "sse overhead 4 KiB") > 8.0, "{run:#}");
        // The client's own count (each record's `wire_bytes`, and for SSE its chunk
        // `framing_bytes`) agrees with the socket's, for both protocols.
        let (ws_rec, sse_rec) = figure(
            &run,
            "the same, as the client's records count it, 4 KiB asked",
        );
        assert_eq!(number(ws_rec, "ws records 4 KiB"), 4100.0, "{run:#}");
        let (_, sse_sock) = figure(&run, "bytes on the wire per message, 4 KiB asked");
        let (sse_rec, sse_sock) = (
            number(sse_rec, "sse records"),
            number(sse_sock, "sse socket"),
        );
        assert_eq!(sse_rec, sse_sock, "records against socket\n{run:#}");
        assert!(
            run.to_string().contains("equals the socket's"),
            "the lab says the counts agree\n{run:#}"
        );
        let (ws, _) = figure(&run, "overhead per message, 64 B asked");
        assert_eq!(number(ws, "ws overhead small"), 2.0, "{run:#}");
        let (ws_payload, sse_payload) = figure(&run, "payload per message, 4 KiB asked");
        assert_eq!((ws_payload, sse_payload), (&json!(4096.0), &json!(4096.0)));
        for name in [
            "delivery latency, median, 64 B asked",
            "delivery latency, p95, 4 KiB asked",
        ] {
            let (ws, sse) = figure(&run, name);
            assert!(number(ws, name) >= 0.0 && number(sse, name) >= 0.0);
        }
    })
    .await;
}

#[tokio::test]
async fn direction_uses_one_connection_for_websocket_and_a_request_per_message_for_sse() {
    with_api(|api| async move {
        let run = run_lab(&api, "direction").await;
        let (ws, sse) = figure(&run, "connections");
        assert_eq!(ws, &json!(1));
        assert!(
            number(sse, "sse connections") >= 2.0,
            "the stream and the POSTs"
        );
        let (ws, sse) = figure(&run, "HTTP requests");
        assert_eq!(ws, &json!(1), "one upgrade");
        assert_eq!(sse, &json!(9), "the stream and 8 POSTs");
        let (ws, sse) = figure(&run, "bytes on the wire per message, both ways");
        let (ws, sse) = (number(ws, "ws bytes"), number(sse, "sse bytes"));
        // The message is 41 bytes: sent masked (6 + 41) and echoed (2 + 41).
        assert_eq!(ws, 90.0, "{run:#}");
        assert!(sse > ws * 3.0, "requests carry headers: {sse} vs {ws}");
        let (ws, sse) = figure(&run, "round trip, median");
        assert!(number(ws, "ws rtt") >= 0.0 && number(sse, "sse rtt") >= 0.0);
    })
    .await;
}

#[tokio::test]
async fn a_page_lab_an_unknown_lab_and_an_unknown_run_are_refused_clearly() {
    with_api(|api| async move {
        let reply = api.post("/api/labs/connection-limit", &json!({})).await;
        let message = reply.assert_error(409, "runs_in_page");
        assert!(message.contains("runs in the page"), "{message}");
        api.post("/api/labs/nope", &json!({}))
            .await
            .assert_error(404, "not_found");
        api.get("/api/labs/runs/lab-999")
            .await
            .assert_error(404, "not_found");
        let reply = api
            .post("/api/labs/direction", &json!({"quick": "yes"}))
            .await;
        assert!(
            reply.status >= 400 && reply.status < 500,
            "{}",
            reply.text()
        );
    })
    .await;
}

#[tokio::test]
async fn wire_counts_every_byte_of_a_tagged_connection_both_ways() {
    with_server(|server, api| async move {
        let url = format!("ws://{}/demo/ws/echo?wire=echo-test", server.addr);
        let (mut ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("connect");
        let before = api.get("/demo/wire/echo-test").await.json();
        assert_eq!(before["connections"], 1);
        assert_eq!(before["requests"], 1);
        ws.send(Message::text("x".repeat(10))).await.expect("send");
        let echo = ws.next().await.expect("echo").expect("echo");
        assert_eq!(echo.into_text().expect("text").len(), 10);
        let after = api.get("/demo/wire/echo-test").await.json();
        let read = after["read"].as_u64().expect("read") - before["read"].as_u64().expect("read");
        let written =
            after["written"].as_u64().expect("w") - before["written"].as_u64().expect("w");
        // Client to server: 2 header bytes, a 4-byte mask, 10 bytes; back: 2 + 10.
        assert_eq!((read, written), (16, 12));
        let _ = ws.close(None).await;
        let never = api.get("/demo/wire/never-used").await.json();
        assert_eq!(
            never,
            json!({"connections": 0, "requests": 0, "read": 0, "written": 0})
        );
        let bad = api.get("/demo/ws/echo?wire=not%20a%20tag").await;
        assert_eq!(bad.status, 400, "{}", bad.text());
        // The room's sending half names its room plainly, and takes text.
        let bad = api.post_raw("/demo/sse/room/send?room=a%20b", "hi").await;
        assert_eq!(bad.status, 400, "{}", bad.text());
        let bad = api
            .post_raw("/demo/sse/room/send?room=r", vec![0xff_u8, 0xfe])
            .await;
        assert_eq!(bad.status, 400, "{}", bad.text());
        let ok = api.post_raw("/demo/sse/room/send?room=r", "hi").await;
        assert_eq!(ok.status, 204, "{}", ok.text());
    })
    .await;
}
