//! The control API over real sockets: the whole server on 127.0.0.1:0, driven with reqwest
//! and tokio-tungstenite as the UI and a script would drive it. Every route, its happy path
//! and every error code; and that a bad request never disturbs another running connection.
//! The security rules (token, Origin, Host, CSP, bind, downloads) are in `security.rs`.

mod support;

use std::time::Duration;

use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use support::{
    Api, Reply, assert_seqs_from_one, closed_port, find, has, next_batch, search, summary,
    with_api, with_server,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::{self, Message};

/// An echo connection that is open, for tests that need one running.
async fn open_echo(api: &Api) -> String {
    let id = api.open_demo_ws("/demo/ws/echo").await;
    api.wait_state(&id, "open").await;
    id
}

// ---------------------------------------------------------------------------------------
// Connections: open, list, send, close, forget
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn opening_a_connection_answers_201_and_the_list_shows_its_state_and_statistics() {
    with_server(|server, api| async move {
        let ws_url = format!("ws://{}/demo/ws/echo", server.addr);
        let reply = api
            .post(
                "/api/connections",
                &json!({ "url": ws_url, "name": "echo pane" }),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text());
        let view = reply.json();
        let id = view["id"].as_str().expect("id").to_owned();
        assert!(id.starts_with('c'), "{id}");
        assert_eq!(view["proto"], "ws");
        assert_eq!(view["url"], ws_url);
        assert_eq!(view["name"], "echo pane");
        assert!(
            ["connecting", "open"].contains(&view["state"].as_str().expect("state")),
            "{view}"
        );

        api.wait_state(&id, "open").await;
        assert_eq!(
            api.send(&id, json!({"kind": "text", "data": "hello"}))
                .await
                .status,
            202
        );
        let records = api.wait_records(&id, |r| has(r, "in", "text")).await;
        let open = records.iter().find(|r| r["kind"] == "open").expect("open");
        let handshake = |field: &str| open[field].as_u64().expect("handshake size");

        let list = api.get("/api/connections").await;
        assert_eq!(list.status, 200);
        let list = list.json();
        let list = list.as_array().expect("a list");
        assert_eq!(list.len(), 1);
        let view = &list[0];
        assert_eq!(view["id"], id.as_str());
        assert_eq!(view["state"], "open");
        assert!(
            view["since"].as_str().is_some_and(|s| s.ends_with('Z')),
            "{view}"
        );
        assert!(view["last_seq"].as_u64().expect("last_seq") >= 3, "{view}");
        assert!(view["recorded_bytes"].as_u64().expect("recorded_bytes") > 0);
        assert_eq!(view["totals"]["events_out"], 1, "{view}");
        assert_eq!(view["totals"]["events_in"], 1, "{view}");
        assert_eq!(view["totals"]["bytes_out"], 5, "{view}");
        assert_eq!(view["totals"]["bytes_in"], 5, "{view}");
        // On the wire: the handshake both ways, then "hello" masked out (2 + 4 + 5) and
        // unmasked back (2 + 5); the echo server takes no compression.
        assert_eq!(
            view["totals"]["wire_out"],
            handshake("request_size") + 11,
            "{view}"
        );
        assert_eq!(
            view["totals"]["wire_in"],
            handshake("response_size") + 7,
            "{view}"
        );
        for field in [
            "events_in",
            "events_out",
            "bytes_in",
            "bytes_out",
            "wire_in",
            "wire_out",
        ] {
            assert!(view["rate"][field].is_u64(), "{view}");
        }

        // An SSE connection: proto from the scheme, a default name from the path.
        let sse_id = api
            .open_demo_sse("/demo/sse/ticker?rate=50", json!({}))
            .await;
        let view = api.wait_state(&sse_id, "open").await;
        assert_eq!(view["proto"], "sse");
        assert_eq!(view["name"], "sse/ticker");
        let list = api.get("/api/connections").await.json();
        let ids: Vec<&str> = list
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|v| v["id"].as_str())
            .collect();
        assert_eq!(ids, [id.as_str(), sse_id.as_str()], "listed in id order");
    })
    .await;
}

#[tokio::test]
async fn a_ws_connection_sends_text_json_binary_ping_and_a_close_with_code_and_reason() {
    with_api(|api| async move {
        let id = open_echo(&api).await;
        let sends = [
            json!({"kind": "text", "data": "plain"}),
            json!({"kind": "json", "data": "{\"a\": [1, 2]}"}),
            json!({"kind": "binary", "hex": "00 01 ff"}),
            json!({"kind": "binary", "base64": "aGk="}),
            json!({"kind": "ping", "text": "are you there"}),
            json!({"kind": "ping", "hex": "0102"}),
        ];
        for body in &sends {
            let reply = api.send(&id, body.clone()).await;
            assert_eq!(reply.status, 202, "{body}: {}", reply.text());
            assert!(reply.body.is_empty());
        }
        let records = api
            .wait_records(&id, |r| {
                r.iter()
                    .filter(|r| r["dir"] == "in" && r["kind"] == "pong")
                    .count()
                    == 2
                    && r.iter()
                        .filter(|r| r["dir"] == "in" && r["kind"] == "binary")
                        .count()
                        == 2
            })
            .await;
        let out: Vec<&Value> = records.iter().filter(|r| r["dir"] == "out").collect();
        assert_eq!(out.len(), 6, "{}", summary(&records));
        assert_eq!(
            (&out[0]["kind"], &out[0]["data"]),
            (&json!("text"), &json!("plain"))
        );
        assert_eq!(out[1]["kind"], "text", "JSON goes out as a text message");
        assert_eq!(out[1]["data"], "{\"a\": [1, 2]}", "sent as written");
        assert_eq!(
            (&out[2]["kind"], &out[2]["data_b64"]),
            (&json!("binary"), &json!("AAH/"))
        );
        assert_eq!(out[2]["size"], 3);
        assert_eq!(
            (&out[3]["kind"], &out[3]["data_b64"]),
            (&json!("binary"), &json!("aGk="))
        );
        let b64 = base64::engine::general_purpose::STANDARD;
        assert_eq!(out[4]["kind"], "ping");
        assert_eq!(out[4]["data_b64"], b64.encode("are you there"));
        assert_eq!(out[5]["data_b64"], b64.encode([1u8, 2]));
        // The echo answered in kind.
        let texts: Vec<&Value> = records
            .iter()
            .filter(|r| r["dir"] == "in" && r["kind"] == "text")
            .map(|r| &r["data"])
            .collect();
        assert_eq!(texts, [&json!("plain"), &json!("{\"a\": [1, 2]}")]);

        let reply = api
            .send(
                &id,
                json!({"kind": "close", "code": 4001, "reason": "done here"}),
            )
            .await;
        assert_eq!(reply.status, 202, "{}", reply.text());
        api.wait_state(&id, "closed").await;
        let records = api.records(&id).await;
        let close_out = find(&records, "out", "close").expect("our close");
        assert_eq!(
            (&close_out["code"], &close_out["reason"]),
            (&json!(4001), &json!("done here"))
        );
        assert!(has(&records, "in", "close"), "{}", summary(&records));
        assert_seqs_from_one(&records);
    })
    .await;
}

#[tokio::test]
async fn close_ends_a_connection_properly_and_later_commands_get_409_connection_ended() {
    with_api(|api| async move {
        let id = open_echo(&api).await;
        let reply = api
            .post(&format!("/api/connections/{id}/close"), &json!({}))
            .await;
        assert_eq!(reply.status, 202, "{}", reply.text());
        let view = api.wait_state(&id, "closed").await;
        assert!(view["since"].is_string());
        let records = api.records(&id).await;
        let ours = find(&records, "out", "close").expect("our close");
        assert_eq!(ours["code"], 1000);
        let theirs = find(&records, "in", "close").expect("the peer's answer");
        assert!(theirs["seq"].as_u64() > ours["seq"].as_u64());
        assert!(!has(&records, "meta", "error"), "{}", summary(&records));

        for body in [
            json!({"kind": "text", "data": "too late"}),
            json!({"kind": "ping"}),
            json!({"kind": "close"}),
        ] {
            api.send(&id, body)
                .await
                .assert_error(409, "connection_ended");
        }
        // Closing what has ended is no error: the connection is closed, as asked.
        let again = api
            .post(&format!("/api/connections/{id}/close"), &json!({}))
            .await;
        assert_eq!(again.status, 202);
        // The recording stays readable.
        assert_eq!(api.records(&id).await.len(), records.len());
    })
    .await;
}

/// A WebSocket peer that closes with 1000 "bye", reads the reply, and then keeps TCP open
/// in silence, though RFC 6455 7.1.1 asks the server to close it first.
async fn peer_that_keeps_tcp_open_after_closing() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}/", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.expect("accept");
        // The WebSocket borrows the socket, so dropping it leaves TCP open.
        let mut ws = tokio_tungstenite::accept_async(&mut tcp)
            .await
            .expect("accept websocket");
        let bye = tungstenite::protocol::CloseFrame {
            code: tungstenite::protocol::frame::coding::CloseCode::Normal,
            reason: "bye".into(),
        };
        let _ = ws.send(Message::Close(Some(bye))).await;
        while let Some(Ok(_)) = ws.next().await {}
        drop(ws);
        std::future::pending::<()>().await;
        drop(tcp);
    });
    url
}

#[tokio::test]
async fn a_peer_that_keeps_tcp_open_after_the_close_handshake_does_not_keep_the_connection_open() {
    with_api(|api| async move {
        let url = peer_that_keeps_tcp_open_after_closing().await;
        let reply = api.post("/api/connections", &json!({ "url": url })).await;
        assert_eq!(reply.status, 201, "{}", reply.text());
        let id = reply.json()["id"].as_str().expect("id").to_owned();
        api.wait_records(&id, |r| has(r, "out", "close")).await;
        let reply = api
            .post(&format!("/api/connections/{id}/close"), &json!({}))
            .await;
        assert_eq!(reply.status, 202, "{}", reply.text());
        api.wait_state(&id, "closed").await;
        let records = api.records(&id).await;
        let theirs = find(&records, "in", "close").expect("the peer's close");
        assert_eq!(
            (theirs["code"].clone(), theirs["reason"].clone()),
            (json!(1000), json!("bye"))
        );
        assert!(!has(&records, "meta", "error"), "{}", summary(&records));
    })
    .await;
}

#[tokio::test]
async fn closing_an_sse_connection_stops_it_without_reconnecting() {
    with_api(|api| async move {
        let id = api
            .open_demo_sse("/demo/sse/ticker?rate=100", json!({"retry_ms": 10}))
            .await;
        api.wait_records(&id, |r| has(r, "in", "event")).await;
        let reply = api
            .post(&format!("/api/connections/{id}/close"), &json!({}))
            .await;
        assert_eq!(reply.status, 202);
        api.wait_state(&id, "closed").await;
        let records = api.records(&id).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            api.records(&id).await.len(),
            records.len(),
            "nothing after the close"
        );
        assert!(!has(&records, "meta", "reconnect"), "{}", summary(&records));
    })
    .await;
}

#[tokio::test]
async fn delete_forgets_a_connection_and_its_recording() {
    with_server(|server, api| async move {
        let keep = api.open_demo_ws("/demo/ws/ticker?rate=100").await;
        let gone = api.open_demo_ws("/demo/ws/ticker?rate=100").await;
        api.wait_records(&gone, |r| has(r, "in", "text")).await;
        let reply = api.delete(&format!("/api/connections/{gone}")).await;
        assert_eq!(reply.status, 204, "{}", reply.text());
        api.get(&format!("/api/connections/{gone}"))
            .await
            .assert_error(404, "unknown_connection");
        api.delete(&format!("/api/connections/{gone}"))
            .await
            .assert_error(404, "unknown_connection");
        let list = api.get("/api/connections").await.json();
        assert_eq!(list.as_array().map(Vec::len), Some(1));
        assert_eq!(list[0]["id"], keep.as_str());
        // The demo sees the forgotten connection go: only one ticker socket is left.
        let start = tokio::time::Instant::now();
        while server.demo.live() != 1 {
            assert!(
                start.elapsed() < support::PATIENCE,
                "{} demo sockets",
                server.demo.live()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // A new connection gets a new id, never the forgotten one's.
        let next = api.open_demo_ws("/demo/ws/echo").await;
        assert_ne!(next, gone);
    })
    .await;
}

#[tokio::test]
async fn patch_renames_a_connection_and_refuses_what_it_cannot_take() {
    with_api(|api| async move {
        let id = api.open_demo_ws("/demo/ws/echo").await;
        let path = format!("/api/connections/{id}");
        let patch = |body: Value| {
            let (api, path) = (&api, &path);
            async move { api.patch(path, &body).await }
        };
        let renamed = patch(json!({ "name": "Orders ✓" })).await;
        assert_eq!(renamed.status, 200, "{}", renamed.text());
        assert_eq!(renamed.json()["name"], "Orders ✓");
        assert_eq!(api.view(&id).await["name"], "Orders ✓");
        // An empty name goes back to the URL's, as when a pane has no name.
        let cleared = patch(json!({ "name": "  " })).await;
        assert_eq!(cleared.json()["name"], "ws/echo");
        let long = patch(json!({ "name": "x".repeat(201) })).await;
        assert!(
            long.assert_error(400, "bad_request")
                .contains("at most 200")
        );
        patch(json!({ "title": "x" }))
            .await
            .assert_error(400, "bad_request");
        patch(json!({})).await.assert_error(400, "bad_request");
        // Renaming works after the connection ended too: the recording is still shown.
        api.post(&format!("/api/connections/{id}/close"), &json!({}))
            .await;
        api.wait_state(&id, "closed").await;
        assert_eq!(patch(json!({ "name": "done" })).await.status, 200);
        api.patch("/api/connections/c99", &json!({ "name": "x" }))
            .await
            .assert_error(404, "unknown_connection");
    })
    .await;
}

/// A WebSocket peer that records the handshake request, answers with `subprotocol`, then
/// sends one text message of `len` bytes.
async fn ws_peer(
    subprotocol: &'static str,
    len: usize,
) -> (String, oneshot::Receiver<tungstenite::http::HeaderMap>) {
    use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}/feed?x=1", listener.local_addr().expect("addr"));
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("accept");
        let mut tx = Some(tx);
        // The error type is tungstenite's, fixed by its callback trait.
        #[allow(clippy::result_large_err)]
        let callback = |req: &Request, mut resp: Response| {
            if let Some(tx) = tx.take() {
                let _ = tx.send(req.headers().clone());
            }
            resp.headers_mut().insert(
                "sec-websocket-protocol",
                subprotocol.parse().expect("header"),
            );
            Ok(resp)
        };
        let mut ws = tokio_tungstenite::accept_hdr_async(tcp, callback)
            .await
            .expect("accept websocket");
        let _ = ws.send(Message::text("x".repeat(len))).await;
        while let Some(Ok(_)) = ws.next().await {}
    });
    (url, rx)
}

/// An HTTP peer that records each request (head and body) and answers the first with one
/// event that sets id 42, the second with 204.
async fn sse_peer() -> (String, tokio::sync::mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/events", listener.local_addr().expect("addr"));
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(async move {
        for round in 0..2 {
            let (mut tcp, _) = listener.accept().await.expect("accept");
            let mut request = Vec::new();
            let mut byte = [0u8; 1];
            while !request.ends_with(b"\r\n\r\n") {
                if tcp.read(&mut byte).await.unwrap_or(0) == 0 {
                    return;
                }
                request.push(byte[0]);
            }
            let head = String::from_utf8_lossy(&request).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            let mut body = vec![0u8; length];
            tcp.read_exact(&mut body).await.expect("body");
            request.extend_from_slice(&body);
            let _ = tx
                .send(String::from_utf8_lossy(&request).into_owned())
                .await;
            let response = if round == 0 {
                "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n\
                 id: 42\ndata: first\n\n"
            } else {
                "HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n"
            };
            let _ = tcp.write_all(response.as_bytes()).await;
            let _ = tcp.shutdown().await;
        }
    });
    (url, rx)
}

fn header_line<'a>(request: &'a str, name: &str) -> Option<&'a str> {
    request.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then_some(v.trim())
    })
}

#[tokio::test]
async fn a_ws_connection_opens_with_every_option_the_engine_has() {
    with_api(|api| async move {
        let (url, handshake) = ws_peer("json", 2_000).await;
        let reply = api
            .post(
                "/api/connections",
                &json!({
                    "url": url,
                    "proto": "ws",
                    "name": "everything",
                    "headers": [["X-One", "1"], "X-Two: two words"],
                    "subprotocols": ["chat.v2", "json"],
                    "bearer": "s3cret",
                    "insecure": false,
                    "connect_timeout_secs": 5,
                    "ping_interval_secs": 30,
                    "pong_timeout_secs": 10,
                    "max_message": 1_000,
                    "max_frame": 1_000,
                }),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text());
        let view = reply.json();
        assert_eq!(view["name"], "everything");
        let id = view["id"].as_str().expect("id").to_owned();
        let headers = handshake.await.expect("the peer saw the handshake");
        let get = |n: &str| {
            headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        assert_eq!(get("x-one").as_deref(), Some("1"));
        assert_eq!(get("x-two").as_deref(), Some("two words"));
        assert_eq!(get("authorization").as_deref(), Some("Bearer s3cret"));
        assert_eq!(
            get("sec-websocket-protocol").as_deref(),
            Some("chat.v2, json")
        );

        // The peer's 2,000-byte message is over max_message: refused with 1009.
        let records = api.wait_records(&id, |r| has(r, "meta", "error")).await;
        let open = find(&records, "meta", "open").expect("open");
        assert_eq!(open["subprotocol"], "json");
        assert_eq!(open["status"], 101);
        let error = find(&records, "meta", "error").expect("error");
        assert!(!has(&records, "in", "text"), "{}", summary(&records));
        assert!(
            error["message"]
                .as_str()
                .is_some_and(|m| m.contains("limit")),
            "{error}"
        );
    })
    .await;
}

#[tokio::test]
async fn an_sse_connection_opens_with_every_option_the_engine_has() {
    with_api(|api| async move {
        let (url, mut requests) = sse_peer().await;
        let id = api
            .open(json!({
                "url": url,
                "proto": "sse",
                "headers": ["X-Three: 3"],
                "basic": "user:pw",
                "method": "post",
                "body": "{\"prompt\":\"hi\"}",
                "last_event_id": "41",
                "reconnect": true,
                "reconnect_on_end": true,
                "retry_ms": 50,
                "max_attempts": 3,
                "backoff": true,
                "idle_timeout_secs": 5,
                "max_line": 10_000,
                "max_event": 20_000,
                "connect_timeout_secs": 5,
            }))
            .await;
        let first = requests.recv().await.expect("first request");
        assert!(first.starts_with("POST /events HTTP/1.1\r\n"), "{first}");
        assert_eq!(header_line(&first, "x-three"), Some("3"));
        assert_eq!(
            header_line(&first, "authorization"),
            Some("Basic dXNlcjpwdw==")
        );
        assert_eq!(header_line(&first, "last-event-id"), Some("41"));
        assert_eq!(header_line(&first, "accept"), Some("text/event-stream"));
        assert!(first.ends_with("\r\n\r\n{\"prompt\":\"hi\"}"), "{first}");
        let second = requests.recv().await.expect("the reconnection");
        assert_eq!(header_line(&second, "last-event-id"), Some("42"));
        assert!(second.starts_with("POST /events"), "{second}");

        api.wait_state(&id, "closed").await;
        let records = api.records(&id).await;
        let kinds: Vec<&str> = records.iter().filter_map(|r| r["kind"].as_str()).collect();
        assert_eq!(
            kinds,
            ["open", "event", "end", "reconnect", "end"],
            "{}",
            summary(&records)
        );
        assert_eq!(records[1]["id"], "42");
        assert_eq!(records[3]["retry_ms"], 50);
        assert_eq!(records[3]["last_event_id"], "42");
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Records and export
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn records_page_through_a_connection_by_seq_range() {
    with_api(|api| async move {
        let id = api
            .open_demo_ws("/demo/ws/ticker?rate=5000&count=250")
            .await;
        api.wait_state(&id, "closed").await;
        let all = api.records(&id).await;
        assert_seqs_from_one(&all);
        let last = all.len() as u64;
        assert!(last >= 250 + 3, "{}", summary(&all));

        let page = api
            .get(&format!("/api/connections/{id}/records?from=10&limit=25"))
            .await
            .json();
        let records = page["records"].as_array().expect("records");
        assert_eq!(records.len(), 25);
        assert_eq!(records[0]["seq"], 10);
        assert_eq!(records[24]["seq"], 34);
        assert_eq!(page["next"], 35);
        assert_eq!(page["last_seq"], last);
        assert_eq!(records[0], all[9], "a page holds the same records");

        // Without a query: from the first record.
        let page = api
            .get(&format!("/api/connections/{id}/records"))
            .await
            .json();
        assert_eq!(page["records"][0]["seq"], 1);
        // from=0 reads as the first.
        let page = api
            .get(&format!("/api/connections/{id}/records?from=0&limit=1"))
            .await
            .json();
        assert_eq!(page["records"][0]["seq"], 1);
        // Past the end: empty, and `next` stays put.
        let page = api
            .get(&format!("/api/connections/{id}/records?from={}", last + 1))
            .await
            .json();
        assert_eq!(page["records"], json!([]));
        assert_eq!(page["next"], last + 1);
        // A huge limit is capped, not refused.
        let page = api
            .get(&format!("/api/connections/{id}/records?limit=99999999"))
            .await;
        assert_eq!(page.status, 200);
        // The contract's fields on a data record.
        let text = find(&all, "in", "text").expect("a text record");
        for field in ["t", "conn", "proto", "seq", "dir", "kind", "size", "data"] {
            assert!(text.get(field).is_some(), "{field} missing in {text}");
        }
        assert_eq!(text["conn"], id.as_str());
        assert_eq!(text["proto"], "ws");

        // Nonsense in the query is a JSON 400, like every other error.
        for query in ["from=abc", "limit=-1", "from=1.5"] {
            api.get(&format!("/api/connections/{id}/records?{query}"))
                .await
                .assert_error(400, "bad_request");
        }
    })
    .await;
}

#[tokio::test]
async fn export_gives_every_record_as_ndjson() {
    with_api(|api| async move {
        let id = api
            .open_demo_sse(
                "/demo/sse/ticker?rate=2000&count=300",
                json!({"reconnect": false}),
            )
            .await;
        api.wait_state(&id, "closed").await;
        let reply = api.get(&format!("/api/connections/{id}/export")).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("content-type"), Some("application/x-ndjson"));
        assert!(
            reply
                .header("content-disposition")
                .is_some_and(|d| d.contains(&format!("streamscope-{id}.ndjson"))),
            "{:?}",
            reply.header("content-disposition")
        );
        let text = reply.text();
        assert!(text.ends_with('\n'));
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("each line is one JSON record"))
            .collect();
        assert_seqs_from_one(&lines);
        assert_eq!(
            lines,
            api.records(&id).await,
            "the export holds what the pages hold"
        );
        assert_eq!(lines.iter().filter(|r| r["kind"] == "event").count(), 300);
        assert_eq!(lines.last().map(|r| &r["kind"]), Some(&json!("end")));

        // A connection with nothing recorded yet exports an empty file: its peer takes
        // the TCP connection (the listener's backlog) and never answers the handshake.
        let mute = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a mute peer");
        let port = mute.local_addr().expect("its address").port();
        let silent = api
            .open(json!({"url": format!("ws://127.0.0.1:{port}/nothing"), "connect_timeout_secs": 60}))
            .await;
        let reply = api.get(&format!("/api/connections/{silent}/export")).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("content-type"), Some("application/x-ndjson"));
        assert_eq!(reply.text(), "", "nothing recorded, nothing exported");
        drop(mute);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_streams_page_by_page_and_a_stalled_download_blocks_nothing() {
    with_api(|api| async move {
        let big = api
            .open_demo_ws("/demo/ws/ticker?rate=200000&count=100000")
            .await;
        let last = api.wait_state(&big, "closed").await["last_seq"]
            .as_u64()
            .expect("last_seq");
        let ticker = api.open_demo_ws("/demo/ws/ticker?rate=200").await;
        api.wait_records(&ticker, |r| r.len() > 5).await;

        // About 20 MB of NDJSON: more than the socket buffers hold. Take the first part,
        // then stop reading, as a slow disk or a paused download would.
        let mut download = api
            .request(
                reqwest::Method::GET,
                &format!("/api/connections/{big}/export"),
            )
            .send()
            .await
            .expect("GET export");
        assert_eq!(download.status(), 200);
        let mut body = download
            .chunk()
            .await
            .expect("a first part")
            .expect("not empty")
            .to_vec();

        // Meanwhile the other connection keeps recording and the API answers: the export
        // holds the recordings only while it reads a page, never while it waits.
        let before = api.view(&ticker).await["last_seq"]
            .as_u64()
            .expect("last_seq");
        api.wait_records(&ticker, |r| r.len() as u64 >= before + 20)
            .await;
        assert_eq!(api.get("/api/connections").await.status, 200);

        // The download then completes with every record, once, in order.
        while let Some(chunk) = download.chunk().await.expect("the rest") {
            body.extend_from_slice(&chunk);
        }
        let text = String::from_utf8(body).expect("utf-8");
        let mut lines = 0u64;
        for line in text.lines() {
            lines += 1;
            let record: Value = serde_json::from_str(line).expect("a JSON record");
            assert_eq!(record["seq"].as_u64(), Some(lines));
        }
        assert_eq!(lines, last);
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Search
// ---------------------------------------------------------------------------------------

/// A closed ticker connection that recorded `count` messages, and its last seq.
async fn recorded_ticker(api: &Api, count: u64) -> (String, u64) {
    let id = api
        .open_demo_ws(&format!("/demo/ws/ticker?rate=200000&count={count}"))
        .await;
    let last = api.wait_state(&id, "closed").await["last_seq"]
        .as_u64()
        .expect("last_seq");
    (id, last)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_a_message_among_40000_whole_records_and_pages_through_the_rest() {
    with_api(|api| async move {
        let (id, last) = recorded_ticker(&api, 40_000).await;
        assert!(last > 40_000, "{last}");

        // Message 1,234 is far older than any in-memory window of the newest 20,000.
        let (matches, next, scanned) = search(&api, &id, "q=%22N%22:1234,").await;
        assert_eq!(matches.len(), 1, "{matches:?}");
        assert_eq!(next, None, "the whole recording was searched");
        assert_eq!(scanned, last);
        let page = api
            .get(&format!(
                "/api/connections/{id}/records?from={}&limit=1",
                matches[0]
            ))
            .await
            .json();
        let data = page["records"][0]["data"].as_str().expect("a text record");
        assert!(data.starts_with(r#"{"n":1234,"#), "{data}");

        // Case matters only when asked.
        let (none, _, _) = search(&api, &id, "q=%22N%22:1234,&case=1").await;
        assert!(none.is_empty(), "{none:?}");

        // Pages of 5 run newest first and continue below the last match.
        let (first, next, _) = search(&api, &id, "q=%22n%22:3999&limit=5").await;
        assert_eq!(first.len(), 5);
        assert!(first.windows(2).all(|w| w[0] > w[1]), "{first:?}");
        let before = next.expect("more to search");
        assert_eq!(before, first[4]);
        let (second, _, _) = search(
            &api,
            &id,
            &format!("q=%22n%22:3999&limit=5&before={before}"),
        )
        .await;
        assert_eq!(second.len(), 5);
        assert!(second[0] < first[4], "{second:?} after {first:?}");

        // Kinds and directions narrow the search: one open, one close we sent.
        let (open, _, _) = search(&api, &id, "kinds=open").await;
        assert_eq!(open, vec![1]);
        let (meta_text, _, _) = search(&api, &id, "kinds=text&dir=meta").await;
        assert!(meta_text.is_empty(), "{meta_text:?}");
        let (closes, _, _) = search(&api, &id, "kinds=close&dir=out").await;
        assert_eq!(closes.len(), 1, "{closes:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_search_request_reads_a_bounded_number_of_records() {
    with_api(|api| async move {
        let (id, last) = recorded_ticker(&api, 3_000).await;
        // Nothing matches: each request stops at its bound and says where to go on.
        let mut before = None;
        let mut total = 0;
        let mut requests = 0;
        loop {
            let cursor = before.map(|b| format!("&before={b}")).unwrap_or_default();
            let (matches, next, scanned) =
                search(&api, &id, &format!("q=no-such-text&scan=1000{cursor}")).await;
            assert!(matches.is_empty());
            assert!(scanned <= 1000, "{scanned}");
            total += scanned;
            requests += 1;
            match next {
                Some(n) => before = Some(n),
                None => break,
            }
        }
        assert_eq!(total, last, "every record read once");
        assert_eq!(requests, last.div_ceil(1000));
    })
    .await;
}

#[tokio::test]
async fn a_search_with_an_unknown_kind_or_direction_is_400() {
    with_api(|api| async move {
        let id = open_echo(&api).await;
        for query in ["kinds=txt", "dir=up", "case=maybe"] {
            api.get(&format!("/api/connections/{id}/search?{query}"))
                .await
                .assert_error(400, "bad_request");
        }
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn an_unknown_connection_is_404_unknown_connection_on_every_route() {
    with_api(|api| async move {
        for path in [
            "/api/connections/c999",
            "/api/connections/c999/records",
            "/api/connections/c999/records?from=3&limit=2",
            "/api/connections/c999/export",
        ] {
            api.get(path).await.assert_error(404, "unknown_connection");
        }
        api.delete("/api/connections/c999")
            .await
            .assert_error(404, "unknown_connection");
        api.send("c999", json!({"kind": "text", "data": "x"}))
            .await
            .assert_error(404, "unknown_connection");
        api.post("/api/connections/c999/close", &json!({}))
            .await
            .assert_error(404, "unknown_connection");
        // Something that is not an id at all, and an unknown route: 404 JSON as well.
        for path in [
            "/api/connections/bogus",
            "/api/connections/c1x",
            "/api/nothing/here",
        ] {
            api.get(path).await.assert_error(404, "not_found");
        }
    })
    .await;
}

#[tokio::test]
async fn an_invalid_url_is_400_invalid_url() {
    with_api(|api| async move {
        for body in [
            json!({"url": "not a url"}),
            json!({"url": ""}),
            json!({}),
            json!({"url": "ftp://example.com/feed"}),
            json!({"url": "ws://"}),
            json!({"url": "http://[::1"}),
            json!({"url": "mailto:someone@example.com"}),
            json!({"url": "http://127.0.0.1:9/x", "proto": "ws"}),
            json!({"url": "ws://127.0.0.1:9/x", "proto": "sse"}),
        ] {
            let message = api
                .post("/api/connections", &body)
                .await
                .assert_error(400, "invalid_url");
            assert!(!message.contains("panick"), "{message}");
        }
        assert_eq!(api.get("/api/connections").await.json(), json!([]));
    })
    .await;
}

#[tokio::test]
async fn a_malformed_request_is_400_bad_request() {
    with_server(|server, api| async move {
        let ws = format!("ws://{}/demo/ws/echo", server.addr);
        let opens = [
            json!({"url": ws, "proto": "mqtt"}),
            json!({"url": ws, "headers": ["no colon here"]}),
            json!({"url": ws, "headers": [["Bad Name", "v"]]}),
            json!({"url": ws, "headers": [["X-Ok", "line\r\nbreak"]]}),
            json!({"url": ws, "bearer": "a\r\nX-Injected: 1"}),
            json!({"url": ws, "basic": "no-colon"}),
            json!({"url": ws, "ping_interval_secs": -1}),
            json!({"url": ws, "pong_timeout_secs": 0}),
            json!({"url": ws, "connect_timeout_secs": 1e300}),
            json!({"url": ws, "unknown_option": true}),
            json!({"url": ws, "headers": "X-A: 1"}),
            json!({"url": 42}),
            json!({"url": format!("http://{}/demo/sse/ticker", server.addr), "method": "PUT"}),
        ];
        for body in &opens {
            let reply = api.post("/api/connections", body).await;
            reply.assert_error(400, "bad_request");
        }
        for raw in ["", "{", "[1,2]", "null", "{\"url\": \"ws://x\",}"] {
            api.post_raw("/api/connections", raw)
                .await
                .assert_error(400, "bad_request");
        }
        // Without a JSON content type.
        let reply = Reply::read(
            api.request(reqwest::Method::POST, "/api/connections")
                .body(format!("{{\"url\": \"{ws}\"}}"))
                .send()
                .await
                .expect("POST"),
        )
        .await;
        let body = reply.json();
        assert!(
            reply.status == 400 || reply.status == 415,
            "{}",
            reply.status
        );
        assert_eq!(body["code"], "bad_request");
        assert_eq!(api.get("/api/connections").await.json(), json!([]));

        let id = open_echo(&api).await;
        for body in [
            json!({"kind": "shout", "data": "x"}),
            json!({"data": "x"}),
            json!({"kind": "text"}),
            json!({"kind": "text", "data": 5}),
            json!({"kind": "binary", "hex": "zz"}),
            json!({"kind": "binary", "hex": "abc"}),
            json!({"kind": "binary", "base64": "***"}),
            json!({"kind": "binary", "hex": "00", "base64": "AA=="}),
            json!({"kind": "ping", "hex": "00", "text": "x"}),
            json!({"kind": "close", "code": "x"}),
            json!({"kind": "close", "code": 70000}),
            json!({"kind": "text", "data": "x", "extra": 1}),
        ] {
            api.send(&id, body).await.assert_error(400, "bad_request");
        }
        let records = api.records(&id).await;
        assert!(
            !has(&records, "out", "text"),
            "nothing was sent: {}",
            summary(&records)
        );
    })
    .await;
}

#[tokio::test]
async fn sending_invalid_json_is_400_invalid_json_and_sends_nothing() {
    with_api(|api| async move {
        let id = open_echo(&api).await;
        for data in [
            "{a: 1}",
            "",
            "{\"a\": 1",
            "[1, 2,]",
            "nul",
            "{\"a\": 1} trailing",
        ] {
            let message = api
                .send(&id, json!({"kind": "json", "data": data}))
                .await
                .assert_error(400, "invalid_json");
            assert!(message.contains("line 1"), "{message}");
        }
        let reply = api
            .send(&id, json!({"kind": "json", "data": "[true, null]"}))
            .await;
        assert_eq!(reply.status, 202);
        let records = api.wait_records(&id, |r| has(r, "in", "text")).await;
        let out: Vec<&Value> = records.iter().filter(|r| r["dir"] == "out").collect();
        assert_eq!(
            out.len(),
            1,
            "only the valid JSON went out: {}",
            summary(&records)
        );
        assert_eq!(out[0]["data"], "[true, null]");
    })
    .await;
}

#[tokio::test]
async fn an_oversized_request_body_is_413_payload_too_large() {
    with_api(|api| async move {
        let id = open_echo(&api).await;
        let limit = streamscope_server::api::MAX_BODY;
        let huge = format!(
            "{{\"kind\":\"text\",\"data\":\"{}\"}}",
            "x".repeat(limit + 1024)
        );
        api.post_raw(&format!("/api/connections/{id}/send"), huge.clone())
            .await
            .assert_error(413, "payload_too_large");
        api.post_raw("/api/connections", huge)
            .await
            .assert_error(413, "payload_too_large");
        // Just under the limit is fine.
        let big = format!("{{\"kind\":\"text\",\"data\":\"{}\"}}", "y".repeat(1 << 20));
        let reply = api
            .post_raw(&format!("/api/connections/{id}/send"), big)
            .await;
        assert_eq!(reply.status, 202, "{}", reply.text());
        let records = api.wait_records(&id, |r| has(r, "in", "text")).await;
        assert_eq!(find(&records, "in", "text").expect("echo")["size"], 1 << 20);
    })
    .await;
}

#[tokio::test]
async fn what_a_connection_cannot_do_is_422_refused() {
    with_api(|api| async move {
        let sse = api
            .open_demo_sse("/demo/sse/ticker?rate=20", json!({}))
            .await;
        for body in [
            json!({"kind": "text", "data": "hi"}),
            json!({"kind": "json", "data": "{}"}),
            json!({"kind": "binary", "hex": "00"}),
            json!({"kind": "ping"}),
        ] {
            let message = api.send(&sse, body).await.assert_error(422, "refused");
            assert!(message.contains("SSE"), "{message}");
        }
        let ws = open_echo(&api).await;
        for body in [
            json!({"kind": "close", "code": 1005}),
            json!({"kind": "close", "code": 1006}),
            json!({"kind": "close", "code": 999}),
            json!({"kind": "close", "code": 2000}),
            json!({"kind": "close", "code": 1000, "reason": "r".repeat(124)}),
            json!({"kind": "ping", "text": "p".repeat(126)}),
        ] {
            api.send(&ws, body).await.assert_error(422, "refused");
        }
        // Both connections carry on.
        assert_eq!(api.view(&ws).await["state"], "open");
        assert_eq!(
            api.send(&ws, json!({"kind": "text", "data": "still here"}))
                .await
                .status,
            202
        );
        api.wait_records(&ws, |r| has(r, "in", "text")).await;
        let records = api.records(&ws).await;
        assert!(!has(&records, "out", "close"), "{}", summary(&records));
        assert_eq!(api.view(&sse).await["state"], "open");
    })
    .await;
}

#[tokio::test]
async fn a_bad_request_never_disturbs_another_running_connection() {
    with_api(|api| async move {
        let ticker = api.open_demo_ws("/demo/ws/ticker?rate=200").await;
        let sse = api
            .open_demo_sse("/demo/sse/ticker?rate=200", json!({}))
            .await;
        api.wait_records(&ticker, |r| r.len() > 3).await;
        api.wait_records(&sse, |r| r.len() > 3).await;

        let huge = format!(
            "{{\"kind\":\"text\",\"data\":\"{}\"}}",
            "x".repeat(streamscope_server::api::MAX_BODY + 10)
        );
        for _ in 0..3 {
            api.post("/api/connections", &json!({"url": "no url"}))
                .await;
            api.post(
                "/api/connections",
                &json!({"url": format!("ws://127.0.0.1:{}/refused", closed_port())}),
            )
            .await;
            api.post_raw("/api/connections", "{{{{").await;
            api.send(&ticker, json!({"kind": "json", "data": "{"}))
                .await;
            api.send(&ticker, json!({"kind": "close", "code": 1005}))
                .await;
            api.send(&ticker, json!({"kind": "ping", "hex": "00".repeat(200)}))
                .await;
            api.send(&sse, json!({"kind": "text", "data": "x"})).await;
            api.send("c999", json!({"kind": "text", "data": "x"})).await;
            api.post_raw(&format!("/api/connections/{ticker}/send"), huge.clone())
                .await;
            api.get(&format!("/api/connections/{ticker}/records?from=x"))
                .await;
            api.get("/api/connections/c999/export").await;
            api.delete("/api/connections/c999").await;
            Reply::read(
                api.client
                    .get(api.url("/api/connections"))
                    .header("origin", "https://evil.example")
                    .send()
                    .await
                    .expect("GET"),
            )
            .await;
        }

        // Records keep flowing on both, without a gap, and both are still open.
        for id in [&ticker, &sse] {
            let before = api.view(id).await["last_seq"].as_u64().expect("last_seq");
            let records = api
                .wait_records(id, |r| r.len() as u64 >= before + 20)
                .await;
            assert_seqs_from_one(&records);
            assert!(!has(&records, "meta", "error"), "{}", summary(&records));
            assert!(!has(&records, "out", "close"), "{}", summary(&records));
            assert_eq!(api.view(id).await["state"], "open");
        }
    })
    .await;
}

#[tokio::test]
async fn a_connection_that_cannot_connect_fails_with_an_error_record_not_an_http_error() {
    with_api(|api| async move {
        // Nothing listens there; the API accepted the request, the connection failed.
        let port = closed_port();
        let id = api
            .open(json!({"url": format!("ws://127.0.0.1:{port}/x")}))
            .await;
        let view = api.wait_state(&id, "failed").await;
        assert_eq!(view["last_seq"], 1);
        let records = api.records(&id).await;
        assert_eq!(records[0]["kind"], "error", "{}", summary(&records));
        assert!(!has(&records, "meta", "open"));
        // A demo that is not there: the WS handshake is refused with its status.
        let id = api.open_demo_ws("/demo/ws/nothing-here").await;
        api.wait_state(&id, "failed").await;
        let records = api.records(&id).await;
        assert_eq!(records[0]["status"], 404, "{}", summary(&records));
    })
    .await;
}

#[tokio::test]
async fn live_batches_reflect_what_the_api_did() {
    with_server(|server, api| async move {
        let mut live = support::live(&server, "").await;
        let first = next_batch(&mut live).await.expect("a first batch");
        assert_eq!(first["conns"], json!([]), "{first}");
        let id = open_echo(&api).await;
        api.send(&id, json!({"kind": "text", "data": "via the api"}))
            .await;
        let records = support::live_until(&mut live, &id, 3).await;
        assert_eq!(records[0]["kind"], "open");
        assert_eq!(
            find(&records, "out", "text").expect("out")["data"],
            "via the api"
        );
    })
    .await;
}

/// Bodies with a line break in each field the API puts on the wire, and the field the
/// refusal must name.
fn smuggling_opens(ws: &str, sse: &str) -> Vec<(Value, &'static str)> {
    vec![
        (
            json!({"url": ws, "subprotocols": ["chat\r\nX-Injected: yes\r\n\r\nGET /smuggled HTTP/1.1"]}),
            "subprotocols",
        ),
        (
            json!({"url": ws, "headers": [["X-A\r\nX-Injected", "v"]]}),
            "headers",
        ),
        (
            json!({"url": ws, "headers": [["X-A", "v\r\nX-Injected: yes"]]}),
            "headers",
        ),
        (
            json!({"url": sse, "headers": ["X-A: v\nX-Injected: yes"]}),
            "headers",
        ),
        (
            json!({"url": sse, "last_event_id": "1\r\nX-Injected: yes"}),
            "last_event_id",
        ),
        (
            json!({"url": ws, "bearer": "t\r\nX-Injected: yes"}),
            "bearer",
        ),
    ]
}

#[tokio::test]
async fn line_breaks_in_what_goes_on_the_wire_are_refused_naming_the_field() {
    with_api(|api| async move {
        // A raw peer that records whether anything ever connects.
        let peer = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = peer.local_addr().expect("addr");
        let (ws, sse) = (format!("ws://{addr}/x"), format!("http://{addr}/x"));
        for (body, field) in smuggling_opens(&ws, &sse) {
            let reply = api.post("/api/connections", &body).await;
            let message = reply.assert_error(400, "bad_request");
            assert!(
                message.starts_with(&format!("{field}: ")),
                "the refusal of {body} names `{field}`: {message}"
            );
        }
        assert_eq!(api.get("/api/connections").await.json(), json!([]));
        let accepted = tokio::time::timeout(Duration::from_millis(200), peer.accept()).await;
        assert!(accepted.is_err(), "a refused open must not reach the peer");
    })
    .await;
}

#[tokio::test]
async fn deflate_false_offers_no_extension() {
    with_api(|api| async move {
        let peer = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("ws://{}/x", peer.local_addr().expect("addr"));
        api.open(json!({"url": url, "deflate": false})).await;
        let (mut tcp, _) = peer.accept().await.expect("the engine connects");
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            assert_eq!(tcp.read(&mut byte).await.expect("read"), 1, "{head:?}");
            head.push(byte[0]);
        }
        let head = String::from_utf8(head).expect("ASCII head");
        assert!(
            !head
                .to_ascii_lowercase()
                .contains("sec-websocket-extensions"),
            "{head}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_subprotocol_reaches_the_peer_as_one_header_and_nothing_else() {
    with_api(|api| async move {
        let peer = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("ws://{}/x", peer.local_addr().expect("addr"));
        api.open(
            json!({"url": url, "subprotocols": ["chat", "v2.json"], "headers": [["X-Ok", "1"]]}),
        )
        .await;
        let (mut tcp, _) = peer.accept().await.expect("the engine connects");
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            assert_eq!(tcp.read(&mut byte).await.expect("read"), 1, "{head:?}");
            head.push(byte[0]);
        }
        // Nothing follows the head: a smuggled second request would.
        let more = tokio::time::timeout(Duration::from_millis(200), tcp.read(&mut byte)).await;
        assert!(!matches!(more, Ok(Ok(n)) if n > 0), "bytes after the head");
        let head = String::from_utf8(head).expect("ASCII head");
        let lines: Vec<&str> = head.trim_end().split("\r\n").collect();
        assert_eq!(lines[0], "GET /x HTTP/1.1");
        let names: Vec<String> = lines[1..]
            .iter()
            .map(|l| l.split(':').next().unwrap_or("").to_ascii_lowercase())
            .collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(
            sorted,
            [
                "connection",
                "host",
                // permessage-deflate, offered by default as browsers do.
                "sec-websocket-extensions",
                "sec-websocket-key",
                "sec-websocket-protocol",
                "sec-websocket-version",
                "upgrade",
                "x-ok"
            ],
            "{head}"
        );
        assert!(
            head.contains("\r\nSec-WebSocket-Protocol: chat, v2.json\r\n"),
            "{head}"
        );
    })
    .await;
}

/// The reason after `field: ` in the API's message, and after `sscope: FLAG: ` on the
/// command line's stderr.
fn reason_after<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.trim()
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{text:?} does not start with {prefix:?}"))
}

#[tokio::test]
async fn the_api_and_sscope_refuse_the_same_input_with_the_same_reason() {
    with_api(|api| async move {
        let (ws, sse) = ("ws://127.0.0.1:9/x", "http://127.0.0.1:9/x");
        let cases: [(Value, Vec<&str>, &str, &str); 5] = [
            (
                json!({"url": ws, "subprotocols": ["chat\r\nX-Injected: yes"]}),
                vec!["ws", ws, "--subprotocol", "chat\r\nX-Injected: yes"],
                "subprotocols",
                "--subprotocol",
            ),
            (
                json!({"url": ws, "headers": ["X-A: v\r\nX-Injected: yes"]}),
                vec!["ws", ws, "-H", "X-A: v\r\nX-Injected: yes"],
                "headers",
                "-H",
            ),
            (
                json!({"url": sse, "last_event_id": "1\nX"}),
                vec!["sse", sse, "--last-event-id", "1\nX"],
                "last_event_id",
                "--last-event-id",
            ),
            (
                json!({"url": "http://h/x", "proto": "ws"}),
                vec!["ws", "http://h/x"],
                "url",
                "URL",
            ),
            (
                json!({"url": ws, "pong_timeout_secs": 1}),
                vec!["ws", ws, "--pong-timeout", "1"],
                "pong_timeout_secs",
                "--pong-timeout",
            ),
        ];
        for (body, args, key, flag) in cases {
            let reply = api.post("/api/connections", &body).await;
            assert_eq!(reply.status, 400, "{body}");
            let api_message = reply.json()["message"].as_str().unwrap_or("").to_owned();
            let out = std::process::Command::new(support::sscope_bin())
                .args(&args)
                .output()
                .expect("run sscope");
            assert_eq!(out.status.code(), Some(2), "{args:?}");
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            let api_reason = reason_after(&api_message, &format!("{key}: "));
            let cli_reason = reason_after(&stderr, &format!("sscope: {flag}: "));
            // The command line may add which command to run instead; the engine's
            // reason comes first and is the same.
            assert!(
                cli_reason.starts_with(api_reason),
                "API: {api_message}\nCLI: {stderr}"
            );
        }
    })
    .await;
}
