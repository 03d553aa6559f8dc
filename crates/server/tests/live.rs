//! `/api/live`, the one WebSocket that streams records and statistics to the UI: batches
//! at most ~30 a second, resumable from a `seq` cursor with no gap and no duplicate, a
//! stalled client that catches up on every record without the server keeping a copy for
//! it, and a last batch and a 1001 close when the server shuts down.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use support::{
    Api, PATIENCE, Reply, assert_seqs_from_one, live, live_url, live_with, next_batch, start, stop,
    summary, with_server, within,
};
use tokio::time::{Instant, sleep, timeout};
use tokio_tungstenite::tungstenite::{self, Message};

/// The records of `conn` in a batch.
fn records_of<'a>(batch: &'a Value, conn: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    batch["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter(move |r| r["conn"] == conn)
}

/// The records of a `format=runs` batch, each run expanded into the contract records it
/// stands for (its `data` as sent: cut to the preview when one was asked for).
fn expand(batch: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for item in batch["items"].as_array().expect("items") {
        let Some(run) = item.get("run") else {
            out.push(item.clone());
            continue;
        };
        let first = run["seq"].as_u64().expect("seq");
        let dirs: Vec<char> = run["dir"].as_str().expect("dir").chars().collect();
        let mut t = 0i64;
        for (i, data) in run["data"].as_array().expect("data").iter().enumerate() {
            t += run["t"][i].as_i64().expect("t");
            let mut r = json!({
                "t": streamscope_engine::Timestamp(t).to_string(),
                "conn": run["conn"],
                "proto": run["proto"],
                "seq": first + i as u64,
                "dir": if dirs[i] == 'o' { "out" } else { "in" },
                "kind": run["kind"],
                "size": run["size"][i],
                "data": data,
            });
            if run["kind"] == "event" {
                r["event"] = run["event"][i].clone();
                if !run["id"][i].is_null() {
                    r["id"] = run["id"][i].clone();
                }
            }
            // A WebSocket record in a run went in one uncompressed frame.
            if let Some(bytes) = run
                .get("wire_bytes")
                .map(|w| &w[i])
                .filter(|w| !w.is_null())
            {
                r["wire_bytes"] = bytes.clone();
                if run["proto"] == "ws" {
                    r["frames"] = json!(1);
                }
            }
            if let Some(framing) = run
                .get("framing_bytes")
                .map(|f| &f[i])
                .filter(|f| !f.is_null())
            {
                r["framing_bytes"] = framing.clone();
            }
            out.push(r);
        }
    }
    out
}

/// Waits until the connection has at least `n` records, by its listing.
async fn wait_last_seq(api: &Api, id: &str, n: u64) -> u64 {
    let start = Instant::now();
    loop {
        let last = api.view(id).await["last_seq"].as_u64().expect("last_seq");
        if last >= n {
            return last;
        }
        assert!(start.elapsed() < PATIENCE, "{id} stuck at {last} of {n}");
        sleep(Duration::from_millis(20)).await;
    }
}

/// Reads batches until each `(conn, seq)` was delivered; every record, by connection.
async fn read_until(ws: &mut support::Ws, wanted: &[(&str, u64)]) -> HashMap<String, Vec<Value>> {
    let mut got: HashMap<String, Vec<Value>> = HashMap::new();
    let reached = |got: &HashMap<String, Vec<Value>>| {
        wanted.iter().all(|(id, seq)| {
            got.get(*id)
                .and_then(|v| v.last())
                .and_then(|r| r["seq"].as_u64())
                .is_some_and(|s| s >= *seq)
        })
    };
    while !reached(&got) {
        let batch = timeout(PATIENCE, next_batch(ws))
            .await
            .expect("a batch in time")
            .expect("open");
        for r in batch["records"].as_array().expect("records") {
            let conn = r["conn"].as_str().expect("conn").to_owned();
            got.entry(conn).or_default().push(r.clone());
        }
    }
    got
}

#[tokio::test]
async fn live_streams_records_in_batches_with_the_connection_list() {
    with_server(|server, api| async move {
        let id = api.open_demo_ws("/demo/ws/ticker?rate=500").await;
        let mut ws = live(&server, "").await;
        let mut seen = Vec::new();
        let mut listed = None;
        while seen.len() < 100 {
            let batch = timeout(PATIENCE, next_batch(&mut ws))
                .await
                .expect("a batch in time")
                .expect("open");
            seen.extend(records_of(&batch, &id).cloned());
            if let Some(conns) = batch.get("conns") {
                listed = Some(conns.clone());
            }
        }
        assert_seqs_from_one(&seen);
        assert_eq!(seen[0]["kind"], "open");
        let text = seen.iter().find(|r| r["kind"] == "text").expect("a tick");
        assert!(text["data"].as_str().is_some_and(|d| d.contains("sent_at")));
        let conns = listed.expect("the connection list came along");
        let conn = &conns.as_array().expect("list")[0];
        assert_eq!(conn["id"], id.as_str());
        assert_eq!(conn["proto"], "ws");
        assert_eq!(conn["state"], "open");
        assert!(conn["totals"]["events_in"].as_u64().is_some(), "{conn}");
        assert!(conn["rate"]["events_in"].as_u64().is_some(), "{conn}");
    })
    .await;
}

// On tokio's paused clock, time moves only when every task waits, straight to the next
// timer: the server's pause between batches is the only way virtual time passes between
// two of them, so the count of batches in a virtual window is exact, whatever the load on
// the machine. Without the pause, every batch would go out at the same virtual instant.
#[tokio::test(start_paused = true)]
async fn live_sends_at_most_one_batch_per_thirty_three_milliseconds_however_fast_records_come() {
    with_server(|server, api| async move {
        let id = api
            .open_demo_ws("/demo/ws/ticker?rate=200000&size=64")
            .await;
        wait_last_seq(&api, &id, 1_000).await;
        let mut ws = live(&server, "").await;
        // Let the backlog go first.
        next_batch(&mut ws).await.expect("open");
        let window = Instant::now();
        let mut batches = 0u32;
        let mut records = 0;
        let mut largest = 0;
        while batches < 40 {
            let Some(Ok(message)) = ws.next().await else {
                panic!("live closed");
            };
            if let Message::Text(text) = message {
                batches += 1;
                let n = text.matches(r#""seq":"#).count();
                records += n;
                largest = largest.max(n);
            }
        }
        let elapsed = window.elapsed();
        // 40 batches after the first need 40 pauses of 33 ms (the first may have begun
        // before the window opened).
        let least = streamscope_server::ui_socket::MIN_GAP * 39;
        assert!(
            elapsed >= least,
            "40 batches in {elapsed:?} of the server's clock; pacing needs at least {least:?}"
        );
        assert!(records > 0);
        assert!(
            largest > 100,
            "batches grow with the rate, not their number: at most {largest} records"
        );
    })
    .await;
}

#[tokio::test]
async fn live_resumes_from_a_cursor_with_no_gap_and_no_duplicate() {
    with_server(|server, api| async move {
        let a = api.open_demo_ws("/demo/ws/ticker?rate=2000").await;
        let b = api
            .open_demo_sse("/demo/sse/ticker?rate=1000", json!({}))
            .await;

        let mut first = live(&server, "").await;
        let got = read_until(&mut first, &[(&a, 200), (&b, 200)]).await;
        drop(first);
        let cursor = |id: &str| got[id].last().and_then(|r| r["seq"].as_u64()).expect("seq");
        let (ka, kb) = (cursor(&a), cursor(&b));
        // Records go on while the UI is away.
        wait_last_seq(&api, &a, ka + 300).await;

        let mut second = live(&server, &format!("from={a}:{ka},{b}:{kb}")).await;
        let resumed = read_until(&mut second, &[(&a, ka + 500), (&b, kb + 50)]).await;
        for (id, k) in [(&a, ka), (&b, kb)] {
            let records = &resumed[id.as_str()];
            assert_eq!(
                records[0]["seq"].as_u64(),
                Some(k + 1),
                "{id} resumes right after its cursor"
            );
            // Together, the two sessions hold every record once, as the recording does.
            let mut joined = got[id.as_str()].clone();
            joined.extend(records.iter().cloned());
            assert_seqs_from_one(&joined);
            let recorded = api.records(id).await;
            assert_eq!(joined[..], recorded[..joined.len()]);
        }
    })
    .await;
}

#[tokio::test]
async fn live_in_runs_carries_every_record_as_recorded() {
    with_server(|server, api| async move {
        let ws = api
            .open_demo_ws("/demo/ws/ticker?rate=2000&count=400")
            .await;
        let sse = api
            .open_demo_sse("/demo/sse/ticker?rate=2000", json!({}))
            .await;
        for (query, preview) in [("format=runs", None), ("format=runs&preview=12", Some(12))] {
            let mut live = live(&server, query).await;
            let mut got: HashMap<String, Vec<Value>> = HashMap::new();
            while got.get(&ws).map_or(0, Vec::len) < 402 || got.get(&sse).map_or(0, Vec::len) < 300
            {
                let batch = timeout(PATIENCE, next_batch(&mut live))
                    .await
                    .expect("a batch in time")
                    .expect("open");
                assert!(batch.get("records").is_none(), "{batch}");
                for r in expand(&batch) {
                    let conn = r["conn"].as_str().expect("conn").to_owned();
                    got.entry(conn).or_default().push(r);
                }
            }
            for id in [&ws, &sse] {
                let records = &got[id.as_str()];
                assert_seqs_from_one(records);
                let mut recorded = api.records(id).await;
                recorded.truncate(records.len());
                if let Some(n) = preview {
                    for r in recorded.iter_mut().filter(|r| r["data"].is_string()) {
                        let cut: String =
                            r["data"].as_str().expect("data").chars().take(n).collect();
                        r["data"] = json!(cut);
                    }
                }
                assert_eq!(records[..], recorded[..], "{id} with {query}");
            }
        }
    })
    .await;
}

#[tokio::test]
async fn live_starts_a_connection_without_a_cursor_at_its_first_record() {
    with_server(|server, api| async move {
        // A cursor for a connection that does not exist (yet) is ignored.
        let mut ws = live(&server, "from=c77:5").await;
        let id = api.open_demo_ws("/demo/ws/ticker?rate=200&count=20").await;
        let records = support::live_until(&mut ws, &id, 20).await;
        assert_seqs_from_one(&records);
    })
    .await;
}

#[tokio::test]
async fn a_live_client_that_stops_reading_catches_up_on_every_record() {
    with_server(|server, api| async move {
        let mut ws = live(&server, "").await;
        next_batch(&mut ws).await.expect("first batch");
        // About 30 MB of JSON: more than the socket buffers hold, so the server's sends
        // block while the client does not read.
        let id = api
            .open_demo_ws("/demo/ws/ticker?rate=200000&count=60000&size=300")
            .await;
        // The stalled UI holds nothing back: the connection records to its end meanwhile.
        let view = api.wait_state(&id, "closed").await;
        let last = view["last_seq"].as_u64().expect("last_seq");
        assert!(last > 60_000, "{view}");
        sleep(Duration::from_millis(500)).await;

        // Back again: every record arrives, in order, once.
        let records = support::live_until(&mut ws, &id, last).await;
        assert_eq!(records.len() as u64, last, "{}", summary(&records));
        assert_seqs_from_one(&records);
        assert_eq!(
            records.iter().filter(|r| r["kind"] == "text").count(),
            60_000
        );
    })
    .await;
}

#[tokio::test]
async fn a_busy_connection_does_not_starve_the_others_on_live() {
    with_server(|server, api| async move {
        // ~40 MB recorded on the first connection, a few records on the second.
        let busy = api
            .open_demo_ws("/demo/ws/ticker?rate=1000&count=400&size=100000")
            .await;
        api.wait_state(&busy, "closed").await;
        let quiet = api.open_demo_ws("/demo/ws/ticker?rate=100&count=3").await;
        api.wait_state(&quiet, "closed").await;

        let mut ws = live(&server, "").await;
        let limit = streamscope_server::ui_socket::MAX_BATCH_BYTES;
        let mut quiet_in = None;
        for i in 0..3 {
            let Some(Ok(Message::Text(text))) = ws.next().await else {
                panic!("expected a batch");
            };
            assert!(
                text.len() <= limit + 200_000,
                "a batch of {} bytes: more than the limit and one record",
                text.len()
            );
            let batch: Value = serde_json::from_str(text.as_str()).expect("json");
            if records_of(&batch, &quiet).next().is_some() {
                quiet_in = Some(i);
                break;
            }
        }
        assert!(
            quiet_in.is_some_and(|i| i <= 1),
            "the quiet connection waited behind the busy one: {quiet_in:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn live_drops_a_forgotten_connection_from_the_list() {
    with_server(|server, api| async move {
        let id = api.open_demo_ws("/demo/ws/echo").await;
        let mut ws = live(&server, "").await;
        support::live_until(&mut ws, &id, 1).await;
        assert_eq!(
            api.delete(&format!("/api/connections/{id}")).await.status,
            204
        );
        let start = Instant::now();
        loop {
            let batch = timeout(PATIENCE, next_batch(&mut ws))
                .await
                .expect("a batch in time")
                .expect("open");
            if batch.get("conns") == Some(&json!([])) {
                break;
            }
            assert!(start.elapsed() < PATIENCE, "{batch}");
        }
    })
    .await;
}

#[tokio::test]
async fn live_refuses_a_malformed_cursor_or_a_plain_request_with_400_bad_request() {
    with_server(|server, _| async move {
        for query in [
            "from=c1",
            "from=x1:3",
            "from=c1:-3",
            "from=c1:3,",
            "from=c1:3;c2:4",
            "format=columns",
            "preview=10",
            "format=runs&preview=0",
        ] {
            let result = live_with(&live_url(&server, query), &[]).await;
            match result {
                Err(tungstenite::Error::Http(response)) => {
                    assert_eq!(response.status(), 400, "{query}");
                    let body: Value =
                        serde_json::from_slice(&response.body().clone().unwrap_or_default())
                            .expect("JSON error");
                    assert_eq!(body["code"], "bad_request", "{query}");
                }
                Err(other) => panic!("{query}: {other}"),
                Ok(_) => panic!("{query}: accepted"),
            }
        }
        // A plain GET (no upgrade) gets the API's JSON error, not axum's text.
        let api = Api::of(&server);
        api.get("/api/live").await.assert_error(400, "bad_request");
        let reply = Reply::read(
            api.client
                .get(api.url("/api/live"))
                .send()
                .await
                .expect("GET"),
        )
        .await;
        reply.assert_error(401, "unauthorized");
    })
    .await;
}

#[tokio::test]
async fn live_sends_the_last_records_and_closes_with_1001_at_shutdown() {
    within(async {
        let server = start().await;
        let api = Api::of(&server);
        let id = api.open_demo_ws("/demo/ws/echo").await;
        api.wait_state(&id, "open").await;
        let mut ws = live(&server, "").await;
        support::live_until(&mut ws, &id, 1).await;

        let stopping = tokio::spawn(stop(server));
        let mut records = Vec::new();
        let close = loop {
            match timeout(PATIENCE, ws.next()).await.expect("in time") {
                Some(Ok(Message::Text(text))) => {
                    let batch: Value = serde_json::from_str(text.as_str()).expect("json");
                    records.extend(records_of(&batch, &id).cloned());
                }
                Some(Ok(Message::Close(frame))) => break frame,
                Some(Ok(_)) => {}
                other => panic!("expected batches then a close frame, got {other:?}"),
            }
        };
        let frame = close.expect("a close frame with a code");
        assert_eq!(u16::from(frame.code), 1001);
        // The connection's own close handshake came through before the socket closed.
        let kinds: Vec<(&str, &str)> = records
            .iter()
            .filter_map(|r| Some((r["dir"].as_str()?, r["kind"].as_str()?)))
            .collect();
        assert_eq!(
            kinds,
            [("out", "close"), ("in", "close")],
            "{}",
            summary(&records)
        );
        assert_eq!(records[0]["code"], 1001);
        timeout(PATIENCE, stopping)
            .await
            .expect("shutdown in time")
            .expect("shutdown task");
    })
    .await;
}

/// The ids of a batch's `conns` or `list`, if it has one.
fn ids_in(batch: &Value, key: &str) -> Option<Vec<String>> {
    Some(
        batch
            .get(key)?
            .as_array()
            .expect("an array")
            .iter()
            .map(|c| c["id"].as_str().expect("id").to_owned())
            .collect(),
    )
}

/// Sends a client message on the live socket.
async fn say(ws: &mut support::Ws, msg: Value) {
    use futures_util::SinkExt;
    ws.send(Message::text(msg.to_string()))
        .await
        .expect("send to /api/live");
}

#[tokio::test]
async fn live_sends_records_only_of_the_watched_connections() {
    with_server(|server, api| async move {
        let a = api.open_demo_ws("/demo/ws/ticker?rate=500").await;
        let b = api.open_demo_ws("/demo/ws/ticker?rate=500").await;
        let mut ws = live(&server, &format!("watch={a}")).await;
        let first = timeout(PATIENCE, next_batch(&mut ws))
            .await
            .expect("a batch in time")
            .expect("open");
        assert_eq!(ids_in(&first, "conns"), Some(vec![a.clone()]), "{first}");
        // The list names every connection, watched or not.
        assert_eq!(ids_in(&first, "list"), Some(vec![a.clone(), b.clone()]));
        let listed = &first["list"][1];
        assert_eq!(listed["proto"], "ws");
        assert!(listed["url"].as_str().is_some_and(|u| u.contains("ticker")));
        let mut seen = records_of(&first, &a).cloned().collect::<Vec<_>>();
        assert_eq!(records_of(&first, &b).count(), 0, "{first}");
        // b records all along while a is read: none of b's may come.
        while seen.len() < 200 {
            let batch = timeout(PATIENCE, next_batch(&mut ws))
                .await
                .expect("a batch in time")
                .expect("open");
            assert_eq!(records_of(&batch, &b).count(), 0, "unwatched {b}: {batch}");
            if let Some(conns) = ids_in(&batch, "conns") {
                assert_eq!(conns, vec![a.clone()], "{batch}");
            }
            seen.extend(records_of(&batch, &a).cloned());
        }
        assert_seqs_from_one(&seen);
        assert!(wait_last_seq(&api, &b, 50).await >= 50);
    })
    .await;
}

#[tokio::test]
async fn a_watch_message_starts_a_connection_at_the_requested_seq_without_gaps() {
    with_server(|server, api| async move {
        let a = api.open_demo_ws("/demo/ws/ticker?rate=500").await;
        let b = api.open_demo_ws("/demo/ws/ticker?rate=500").await;
        let mut ws = live(&server, &format!("watch={a}")).await;
        let mut got = read_until(&mut ws, &[(&a, 50)]).await;
        assert!(!got.contains_key(&b), "unwatched {b} came");
        wait_last_seq(&api, &b, 60).await;
        say(
            &mut ws,
            json!({"type": "watch", "conns": [a, b], "from": {b.as_str(): 20}}),
        )
        .await;
        for (conn, records) in read_until(&mut ws, &[(&a, 150), (&b, 150)]).await {
            got.entry(conn).or_default().extend(records);
        }
        // a stayed watched: its cursor was kept, so nothing repeats and nothing is lost.
        assert_seqs_from_one(&got[&a]);
        let from_b: Vec<u64> = got[&b]
            .iter()
            .map(|r| r["seq"].as_u64().expect("seq"))
            .collect();
        let expected: Vec<u64> = (21..21 + from_b.len() as u64).collect();
        assert_eq!(from_b, expected, "b starts after seq 20, with no gap");

        // Now only b: once a batch lists b alone, a's records stop.
        say(&mut ws, json!({"type": "watch", "conns": [b]})).await;
        let mut switched = false;
        let mut b_seen = 0;
        while b_seen < 100 {
            let batch = timeout(PATIENCE, next_batch(&mut ws))
                .await
                .expect("a batch in time")
                .expect("open");
            if ids_in(&batch, "conns") == Some(vec![b.clone()]) {
                switched = true;
            }
            if switched {
                assert_eq!(records_of(&batch, &a).count(), 0, "{a} unwatched: {batch}");
                b_seen += records_of(&batch, &b).count();
            }
        }
    })
    .await;
}

#[tokio::test]
async fn the_live_list_names_every_connection_and_comes_again_only_when_it_changes() {
    with_server(|server, api| async move {
        let a = api.open_demo_ws("/demo/ws/ticker?rate=200").await;
        // A port nothing listens on: the open is refused and the connection fails.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = closed.local_addr().expect("addr").port();
        drop(closed);
        let refused = api
            .open(json!({ "url": format!("ws://127.0.0.1:{port}/x") }))
            .await;
        api.wait_state(&a, "open").await;
        api.wait_state(&refused, "failed").await;
        // Watching nothing: no records, an empty `conns`, and the list of both.
        let mut ws = live(&server, "watch=").await;
        let first = timeout(PATIENCE, next_batch(&mut ws))
            .await
            .expect("a batch in time")
            .expect("open");
        assert_eq!(first["conns"], json!([]), "{first}");
        assert_eq!(
            ids_in(&first, "list"),
            Some(vec![a.clone(), refused.clone()])
        );
        assert_eq!(first["list"][1]["state"], "failed");
        // Nothing changes in the list while `a` ticks, and nothing watched moves: the
        // socket stays silent (an idle app is idle). The next batch is the changed list.
        assert_eq!(
            api.delete(&format!("/api/connections/{refused}"))
                .await
                .status,
            204
        );
        let batch = timeout(PATIENCE, next_batch(&mut ws))
            .await
            .expect("a batch in time")
            .expect("open");
        assert_eq!(batch["records"], json!([]), "nothing watched: {batch}");
        assert_eq!(ids_in(&batch, "list"), Some(vec![a.clone()]), "{batch}");
    })
    .await;
}

#[tokio::test]
async fn live_answers_a_message_it_cannot_read_and_keeps_streaming() {
    with_server(|server, api| async move {
        let a = api.open_demo_ws("/demo/ws/ticker?rate=200").await;
        let mut ws = live(&server, "watch=").await;
        for bad in [
            json!({"type": "watch", "conns": ["x9"]}),
            json!({"type": "subscribe", "conns": [a]}),
            json!({"type": "watch", "conns": [a], "from": {"c1": -1}}),
        ] {
            say(&mut ws, bad.clone()).await;
            let reply = loop {
                let Some(Ok(Message::Text(text))) = ws.next().await else {
                    panic!("the socket closed after {bad}");
                };
                let msg: Value = serde_json::from_str(text.as_str()).expect("JSON");
                if msg["type"] != "batch" {
                    break msg;
                }
            };
            assert_eq!(reply["type"], "error", "{reply}");
            assert_eq!(reply["code"], "bad_request", "{reply}");
        }
        say(&mut ws, json!({"type": "watch", "conns": [a]})).await;
        let records = support::live_until(&mut ws, &a, 20).await;
        assert_seqs_from_one(&records);
    })
    .await;
}
