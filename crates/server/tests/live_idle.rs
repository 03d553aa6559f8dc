//! `/api/live` at rest: once nothing moves (no connection live, every rate back to zero)
//! the socket sends nothing, so a UI with nothing to show is not woken four times a
//! second; a change in the session still goes out at once.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{PATIENCE, live, next_batch, with_server};
use tokio::time::{Instant, timeout};

/// Long enough for several of the server's stats turns (four a second) to show.
const QUIET: Duration = Duration::from_millis(1500);

/// Reads batches until `done` holds for one; that batch.
async fn batch_until(ws: &mut support::Ws, done: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let batch = timeout(PATIENCE, next_batch(ws))
            .await
            .expect("a batch in time")
            .expect("open");
        if done(&batch) {
            return batch;
        }
        assert!(start.elapsed() < PATIENCE, "still {batch}");
    }
}

/// Asserts that the socket sends nothing for `QUIET`.
async fn assert_quiet(ws: &mut support::Ws, what: &str) {
    if let Ok(msg) = timeout(QUIET, next_batch(ws)).await {
        panic!("{what}: the socket sent {msg:?}");
    }
}

#[tokio::test]
async fn live_sends_nothing_while_there_is_no_connection() {
    with_server(|server, api| async move {
        let mut ws = live(&server, "").await;
        let first = batch_until(&mut ws, |b| b.get("conns").is_some()).await;
        assert_eq!(first["conns"], json!([]), "{first}");
        assert_quiet(&mut ws, "with no connection").await;
        // A new connection still shows at once.
        let id = api.open_demo_ws("/demo/ws/echo").await;
        let listed = batch_until(&mut ws, |b| {
            b["conns"].as_array().is_some_and(|c| !c.is_empty())
        })
        .await;
        assert_eq!(listed["conns"][0]["id"], id.as_str(), "{listed}");
    })
    .await;
}

#[tokio::test]
async fn live_goes_quiet_once_a_closed_connection_s_rate_is_back_to_zero() {
    with_server(|server, api| async move {
        let id = api.open_demo_ws("/demo/ws/ticker?rate=200").await;
        let mut ws = live(&server, "").await;
        // Live: the rate comes through.
        batch_until(&mut ws, |b| {
            b["conns"][0]["rate"]["events_in"]
                .as_u64()
                .is_some_and(|n| n > 0)
        })
        .await;
        let closed = api
            .post(&format!("/api/connections/{id}/close"), &json!({}))
            .await;
        assert!(closed.status < 300, "close: {}", closed.status);
        // The list follows the close and the rate falls to zero...
        batch_until(&mut ws, |b| {
            let c = &b["conns"][0];
            c["state"] == "closed" && c["rate"]["events_in"] == 0 && c["rate"]["bytes_in"] == 0
        })
        .await;
        // ...and then nothing moves, so nothing is sent.
        assert_quiet(&mut ws, "after the connection closed").await;
        // A rename is a change: it goes out.
        let renamed = api
            .patch(&format!("/api/connections/{id}"), &json!({"name": "quiet"}))
            .await;
        assert!(renamed.status < 300, "rename: {}", renamed.status);
        batch_until(&mut ws, |b| b["conns"][0]["name"] == "quiet").await;
    })
    .await;
}
