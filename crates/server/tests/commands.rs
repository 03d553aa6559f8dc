//! Commands the server finishes on a client's behalf, over real sockets: the repeat
//! sender (`POST`/`DELETE /api/connections/{id}/repeat`) and close-then-forget
//! (`DELETE /api/connections/{id}?close=true`), against the demo echo endpoint and raw
//! loopback peers that answer a close, or never do.

mod support;

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use support::{Api, PATIENCE, has, summary, with_api};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::time::{Instant, sleep};
use tokio_tungstenite::tungstenite::Message;

async fn open_echo(api: &Api) -> String {
    let id = api.open_demo_ws("/demo/ws/echo").await;
    api.wait_state(&id, "open").await;
    id
}

/// The `data` of every `out` text record, in order.
fn sent_texts(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .filter(|r| r["dir"] == "out" && r["kind"] == "text")
        .filter_map(|r| r["data"].as_str().map(str::to_owned))
        .collect()
}

async fn repeat(api: &Api, id: &str, body: Value) -> support::Reply {
    api.post(&format!("/api/connections/{id}/repeat"), &body)
        .await
}

/// Waits until the connection's listing satisfies `done`.
async fn wait_view(api: &Api, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let view = api.view(id).await;
        if done(&view) {
            return view;
        }
        assert!(start.elapsed() < PATIENCE, "{id} never {what}: {view}");
        sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until `GET /api/connections/{id}` is 404.
async fn wait_gone(api: &Api, id: &str) {
    let start = Instant::now();
    while api.get(&format!("/api/connections/{id}")).await.status != 404 {
        assert!(start.elapsed() < PATIENCE, "{id} was never forgotten");
        sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_repeat_with_a_count_sends_exactly_that_many_out_records() {
    with_api(|api| async move {
        let id = open_echo(&api).await;
        let reply = repeat(
            &api,
            &id,
            json!({"message": {"kind": "text", "data": "tick"}, "interval_ms": 5, "count": 5}),
        )
        .await;
        assert_eq!(reply.status, 202, "{}", reply.text());
        assert!(
            reply.json()["id"]
                .as_str()
                .is_some_and(|r| r.starts_with('r')),
            "{}",
            reply.text()
        );
        // The repeat leaves the listing once done; by then all five went out.
        wait_view(&api, &id, "finished its repeat", |v| {
            v.get("repeat").is_none()
        })
        .await;
        let records = api
            .wait_records(&id, |r| {
                r.iter()
                    .filter(|r| r["dir"] == "in" && r["kind"] == "text")
                    .count()
                    >= 5
            })
            .await;
        assert_eq!(
            sent_texts(&records),
            vec!["tick"; 5],
            "{}",
            summary(&records)
        );
        // Nothing more follows.
        sleep(Duration::from_millis(100)).await;
        assert_eq!(sent_texts(&api.records(&id).await).len(), 5);
        assert_eq!(api.view(&id).await["state"], "open");
    })
    .await;
}

#[tokio::test]
async fn a_repeat_shows_its_progress_stops_on_delete_and_a_new_one_replaces_the_old() {
    with_api(|api| async move {
        let id = open_echo(&api).await;
        let first = repeat(
            &api,
            &id,
            json!({"message": {"kind": "text", "data": "a"}, "interval_ms": 10}),
        )
        .await;
        assert_eq!(first.status, 202, "{}", first.text());
        let first_id = first.json()["id"].clone();
        let view = wait_view(&api, &id, "sent twice", |v| {
            v["repeat"]["sent"].as_u64() >= Some(2)
        })
        .await;
        assert_eq!(view["repeat"]["id"], first_id);
        assert_eq!(view["repeat"]["interval_ms"], 10);
        assert!(view["repeat"].get("count").is_none(), "{view}");
        // The live socket's `conns` carries the same listing, so every tab sees it.
        let listed = api.get("/api/connections").await.json();
        assert!(listed[0]["repeat"]["sent"].is_u64(), "{listed}");

        let second = repeat(
            &api,
            &id,
            json!({"message": {"kind": "json", "data": "{\"b\":1}"}, "interval_ms": 10, "count": 1000}),
        )
        .await;
        assert_eq!(second.status, 202, "{}", second.text());
        let second_id = second.json()["id"].clone();
        assert_ne!(second_id, first_id);
        wait_view(&api, &id, "ran the second repeat", |v| {
            v["repeat"]["id"] == second_id && v["repeat"]["sent"].as_u64() >= Some(2)
        })
        .await;
        let view = api.view(&id).await;
        assert_eq!(view["repeat"]["count"], 1000);

        let stopped = api.delete(&format!("/api/connections/{id}/repeat")).await;
        assert_eq!(stopped.status, 204, "{}", stopped.text());
        assert!(api.view(&id).await.get("repeat").is_none());
        let records = api.records(&id).await;
        let sent = sent_texts(&records);
        // Replaced: once the second began, the first sent nothing more.
        let first_b = sent.iter().position(|s| s == "{\"b\":1}").expect("b sent");
        assert!(
            sent[first_b..].iter().all(|s| s == "{\"b\":1}"),
            "{sent:?}"
        );
        assert!(sent[..first_b].iter().all(|s| s == "a"), "{sent:?}");
        // Stopped: nothing more goes out.
        sleep(Duration::from_millis(100)).await;
        assert_eq!(sent_texts(&api.records(&id).await).len(), sent.len());
        // Stopping again is no error.
        let again = api.delete(&format!("/api/connections/{id}/repeat")).await;
        assert_eq!(again.status, 204);
    })
    .await;
}

#[tokio::test]
async fn a_repeat_ends_with_its_connection() {
    with_api(|api| async move {
        let id = open_echo(&api).await;
        let reply = repeat(
            &api,
            &id,
            json!({"message": {"kind": "ping", "text": "p"}, "interval_ms": 10}),
        )
        .await;
        assert_eq!(reply.status, 202, "{}", reply.text());
        wait_view(&api, &id, "pinged", |v| {
            v["repeat"]["sent"].as_u64() >= Some(1)
        })
        .await;
        api.post(&format!("/api/connections/{id}/close"), &json!({}))
            .await;
        api.wait_state(&id, "closed").await;
        wait_view(&api, &id, "dropped its repeat", |v| {
            v.get("repeat").is_none()
        })
        .await;
        let records = api.records(&id).await;
        assert!(has(&records, "out", "ping"), "{}", summary(&records));
    })
    .await;
}

#[tokio::test]
async fn a_repeat_that_cannot_run_is_refused_with_a_json_error() {
    with_api(|api| async move {
        let id = open_echo(&api).await;
        let text = json!({"kind": "text", "data": "x"});
        for (body, status, code) in [
            (
                json!({"message": text, "interval_ms": 0}),
                400,
                "bad_request",
            ),
            (
                json!({"message": text, "interval_ms": 86_400_001}),
                400,
                "bad_request",
            ),
            (
                json!({"message": text, "interval_ms": 10, "count": 0}),
                400,
                "bad_request",
            ),
            (
                json!({"message": text, "interval_ms": 10, "count": 10_000_001}),
                400,
                "bad_request",
            ),
            (json!({"message": text}), 400, "bad_request"),
            (
                json!({"message": text, "interval_ms": -5}),
                400,
                "bad_request",
            ),
            (
                json!({"message": {"kind": "close"}, "interval_ms": 10}),
                400,
                "bad_request",
            ),
            (
                json!({"message": {"kind": "json", "data": "{"}, "interval_ms": 10}),
                400,
                "invalid_json",
            ),
            (
                json!({"message": {"kind": "ping", "hex": "00".repeat(126)}, "interval_ms": 10}),
                422,
                "refused",
            ),
        ] {
            let message = repeat(&api, &id, body.clone())
                .await
                .assert_error(status, code);
            if body["interval_ms"] == 0 {
                assert!(message.contains("interval_ms"), "{message}");
            }
        }
        assert!(api.view(&id).await.get("repeat").is_none());

        let sse = api.open_demo_sse("/demo/sse/ticker", json!({})).await;
        repeat(&api, &sse, json!({"message": text, "interval_ms": 10}))
            .await
            .assert_error(422, "refused");
        repeat(&api, "c99", json!({"message": text, "interval_ms": 10}))
            .await
            .assert_error(404, "unknown_connection");
        api.delete("/api/connections/c99/repeat")
            .await
            .assert_error(404, "unknown_connection");
        api.post(&format!("/api/connections/{id}/close"), &json!({}))
            .await;
        api.wait_state(&id, "closed").await;
        repeat(&api, &id, json!({"message": text, "interval_ms": 10}))
            .await
            .assert_error(409, "connection_ended");
    })
    .await;
}

/// A WebSocket peer that, when `answer`, completes the close handshake and reports the
/// close frame it got; otherwise it holds the socket open and never reads again.
async fn close_peer(answer: bool) -> (String, oneshot::Receiver<Option<u16>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}/", listener.local_addr().expect("addr"));
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("accept");
        let mut ws = tokio_tungstenite::accept_async(tcp)
            .await
            .expect("accept websocket");
        if !answer {
            // Silent: hold the socket until the test ends.
            let _ = tx.send(None);
            std::future::pending::<()>().await;
            return;
        }
        while let Some(Ok(msg)) = ws.next().await {
            if let Message::Close(frame) = msg {
                let _ = tx.send(frame.map(|f| u16::from(f.code)));
                // tungstenite answers the close by itself on the next poll.
                while ws.next().await.is_some() {}
                return;
            }
        }
    });
    (url, rx)
}

#[tokio::test]
async fn close_then_forget_completes_the_close_handshake_before_forgetting() {
    with_api(|api| async move {
        let (url, closed) = close_peer(true).await;
        let id = api.open(json!({ "url": url })).await;
        api.wait_state(&id, "open").await;
        let reply = api
            .delete(&format!("/api/connections/{id}?close=true"))
            .await;
        assert_eq!(reply.status, 202, "{}", reply.text());
        assert_eq!(closed.await.expect("the peer saw a close"), Some(1000));
        wait_gone(&api, &id).await;
        api.delete(&format!("/api/connections/{id}?close=true"))
            .await
            .assert_error(404, "unknown_connection");
        api.delete(&format!("/api/connections/{id}?close=maybe"))
            .await
            .assert_error(400, "bad_request");
    })
    .await;
}

#[tokio::test]
async fn close_then_forget_waits_for_the_close_deadline_when_the_peer_never_answers() {
    with_api(|api| async move {
        let (url, silent) = close_peer(false).await;
        let id = api.open(json!({ "url": url })).await;
        api.wait_state(&id, "open").await;
        silent.await.expect("the peer is up");
        let reply = api
            .delete(&format!("/api/connections/{id}?close=true"))
            .await;
        assert_eq!(reply.status, 202, "{}", reply.text());
        // Still there while the engine waits for the answer (its close deadline is 3 s):
        // the recording is kept until the close ends, not dropped at once.
        let view = api.view(&id).await;
        assert_eq!(view["state"], "open", "{view}");
        let records = api.wait_records(&id, |r| has(r, "out", "close")).await;
        assert!(!has(&records, "in", "close"), "{}", summary(&records));
        wait_gone(&api, &id).await;
    })
    .await;
}

#[tokio::test]
async fn close_then_forget_of_an_ended_connection_forgets_it_at_once() {
    with_api(|api| async move {
        let id = open_echo(&api).await;
        api.post(&format!("/api/connections/{id}/close"), &json!({}))
            .await;
        api.wait_state(&id, "closed").await;
        let reply = api
            .delete(&format!("/api/connections/{id}?close=true"))
            .await;
        assert_eq!(reply.status, 202, "{}", reply.text());
        wait_gone(&api, &id).await;
        let sse = api.open_demo_sse("/demo/sse/ticker", json!({})).await;
        api.wait_state(&sse, "open").await;
        api.delete(&format!("/api/connections/{sse}?close=true"))
            .await;
        wait_gone(&api, &sse).await;
    })
    .await;
}
