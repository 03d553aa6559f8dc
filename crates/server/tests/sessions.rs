//! `/api/sessions`, the library of recorded sessions, against a server that records to a
//! data directory: a session recorded by one server is listed and opened by the next one
//! on the same directory with every record and the settings to connect again (never a
//! secret); rename, delete, export as NDJSON and HAR, import of NDJSON and HAR (and a bad
//! file refused with its line), and the disk budget ending a recording without losing
//! what came before.

mod support;

use std::path::PathBuf;

use serde_json::{Value, json};
use streamscope_server::ServerConfig;
use support::{Api, start_with, stop, within};

/// A fresh data directory, removed on drop.
struct DataDir(PathBuf);

impl DataDir {
    fn new(name: &str) -> DataDir {
        let dir = std::env::temp_dir().join(format!(
            "streamscope-sessions-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        DataDir(dir)
    }

    fn config(&self) -> ServerConfig {
        ServerConfig {
            data_dir: Some(self.0.clone()),
            ..ServerConfig::default()
        }
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Strips what differs between a record and its copy shown under another id.
fn without_conn(records: &[Value]) -> Vec<Value> {
    records
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.as_object_mut().map(|o| o.remove("conn"));
            r
        })
        .collect()
}

async fn sessions(api: &Api) -> Value {
    let reply = api.get("/api/sessions").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()
}

#[tokio::test]
async fn a_session_recorded_by_one_server_opens_in_the_next_with_every_record_and_no_secret() {
    within(async {
        let dir = DataDir::new("reopen");
        let server = start_with(dir.config()).await;
        let api = Api::of(&server);
        let addr = server.addr;
        let id = api
            .open(json!({
                "url": format!("ws://{addr}/demo/ws/echo"),
                "bearer": "s3cret-token",
                "headers": [["X-Trace", "yes"], ["Cookie", "session=abc"]],
                "ping_interval_secs": 5.0,
            }))
            .await;
        api.wait_state(&id, "open").await;
        for text in ["one", "two", "three"] {
            let sent = api.send(&id, json!({ "kind": "text", "data": text })).await;
            assert!(sent.status < 300, "{}", sent.text());
        }
        let recorded = api
            .wait_records(&id, |r| {
                r.iter()
                    .filter(|r| r["dir"] == "in" && r["kind"] == "text")
                    .count()
                    == 3
            })
            .await;
        let first = sessions(&api).await;
        let live = first["recording"].as_i64().expect("a session recording");
        assert_eq!(first["sessions"][0]["live"], true);
        // Opening the live session is refused: its connections are here already.
        api.post(&format!("/api/sessions/{live}/open"), &json!({}))
            .await
            .assert_error(400, "bad_request");
        api.delete(&format!("/api/sessions/{live}"))
            .await
            .assert_error(409, "conflict");
        stop(server).await;

        let server = start_with(dir.config()).await;
        let api = Api::of(&server);
        let list = sessions(&api).await;
        let past = list["sessions"]
            .as_array()
            .expect("sessions")
            .iter()
            .find(|s| s["id"] == live)
            .cloned()
            .expect("the earlier session is listed");
        assert_eq!(past["live"], false);
        assert_eq!(past["conns"], 1);
        // The exchange, then the close handshake the shutdown made.
        let total = past["records"].as_u64().expect("records") as usize;
        assert_eq!(total, recorded.len() + 2, "{past}");
        assert!(past["bytes"].as_u64().is_some_and(|b| b > 0));
        assert!(past["duration_ms"].as_i64().is_some(), "{past}");
        assert!(list["disk"]["used"].as_u64().is_some_and(|u| u > 0));

        let opened = api
            .post(&format!("/api/sessions/{live}/open"), &json!({}))
            .await;
        assert_eq!(opened.status, 200, "{}", opened.text());
        let opened = opened.json();
        let conn = &opened["conns"][0];
        assert_eq!(conn["recorded_as"], id.as_str());
        let settings = &conn["settings"];
        assert_eq!(settings["ping_interval_secs"], 5.0);
        assert_eq!(settings["headers"], json!([["X-Trace", "yes"]]));
        assert_eq!(settings["secrets"], json!(["bearer", "header Cookie"]));
        assert!(!opened.to_string().contains("s3cret"), "{opened}");
        assert!(!opened.to_string().contains("abc"), "{opened}");
        let shown = conn["id"].as_str().expect("id");
        let view = api.view(shown).await;
        assert_eq!(view["state"], "closed");
        let back = api.records(shown).await;
        assert_eq!(back.len(), total);
        assert_eq!(
            without_conn(&back[..recorded.len()]),
            without_conn(&recorded),
            "every record, as recorded"
        );
        let closes: Vec<(&Value, &Value)> = back[recorded.len()..]
            .iter()
            .map(|r| (&r["dir"], &r["kind"]))
            .collect();
        assert_eq!(
            closes,
            [
                (&json!("out"), &json!("close")),
                (&json!("in"), &json!("close"))
            ]
        );
        // Read-only: it takes no commands.
        let refused = api
            .send(shown, json!({ "kind": "text", "data": "again" }))
            .await;
        assert!(refused.status >= 400, "{}", refused.text());
        stop(server).await;
    })
    .await;
}

#[tokio::test]
async fn sessions_are_renamed_exported_as_ndjson_and_har_and_deleted() {
    within(async {
        let dir = DataDir::new("manage");
        let server = start_with(dir.config()).await;
        let api = Api::of(&server);
        let addr = server.addr;
        let id = api
            .open(json!({ "url": format!("ws://{addr}/demo/ws/ticker?rate=200&count=20") }))
            .await;
        api.wait_state(&id, "closed").await;
        let recorded = api.records(&id).await;
        let sid = sessions(&api).await["recording"].as_i64().expect("live");

        let renamed = api
            .patch(
                &format!("/api/sessions/{sid}"),
                &json!({ "name": "tickers" }),
            )
            .await;
        assert_eq!(renamed.status, 200, "{}", renamed.text());
        assert_eq!(renamed.json()["name"], "tickers");
        api.patch(&format!("/api/sessions/{sid}"), &json!({ "name": "  " }))
            .await
            .assert_error(400, "bad_request");

        // The live session: its connection has ended, so every record is sealed, and
        // the export waits for the writer.
        let ndjson = api.get(&format!("/api/sessions/{sid}/export")).await;
        assert_eq!(ndjson.status, 200);
        assert_eq!(ndjson.header("content-type"), Some("application/x-ndjson"));
        let lines: Vec<Value> = ndjson
            .text()
            .lines()
            .map(|l| serde_json::from_str(l).expect("a record"))
            .collect();
        assert_eq!(lines, recorded);

        let har = api
            .get(&format!("/api/sessions/{sid}/export?format=har"))
            .await;
        assert_eq!(har.status, 200, "{}", har.text());
        let har = har.json();
        let entry = &har["log"]["entries"][0];
        assert_eq!(entry["_resourceType"], "websocket");
        assert_eq!(
            entry["request"]["url"].as_str(),
            Some(format!("ws://{addr}/demo/ws/ticker?rate=200&count=20").as_str())
        );
        let messages = entry["_webSocketMessages"].as_array().expect("messages");
        let texts = messages
            .iter()
            .filter(|m| m["type"] == "receive" && m["opcode"] == 1)
            .count();
        assert_eq!(texts, 20, "{messages:?}");
        api.get(&format!("/api/sessions/{sid}/export?format=pdf"))
            .await
            .assert_error(400, "bad_request");
        api.get("/api/sessions/999/export")
            .await
            .assert_error(404, "not_found");
        stop(server).await;

        // Deleted once it no longer records: rows and files go.
        let server = start_with(dir.config()).await;
        let api = Api::of(&server);
        let reply = api.delete(&format!("/api/sessions/{sid}")).await;
        assert_eq!(reply.status, 204, "{}", reply.text());
        assert!(!dir.0.join("sessions").join(sid.to_string()).exists());
        let left = sessions(&api).await;
        assert!(
            left["sessions"]
                .as_array()
                .expect("list")
                .iter()
                .all(|s| s["id"] != sid),
            "{left}"
        );
        api.delete(&format!("/api/sessions/{sid}"))
            .await
            .assert_error(404, "not_found");
        stop(server).await;
    })
    .await;
}

#[tokio::test]
async fn an_imported_file_becomes_a_session_and_a_bad_one_is_refused_with_its_line() {
    within(async {
        let dir = DataDir::new("import");
        let server = start_with(dir.config()).await;
        let api = Api::of(&server);
        let ndjson = concat!(
            r#"{"t":"2026-01-01T00:00:00.000001Z","conn":"c7","proto":"sse","seq":1,"dir":"meta","kind":"open","status":200,"headers":{"content-type":"text/event-stream"}}"#,
            "\n",
            r#"{"t":"2026-01-01T00:00:00.000002Z","conn":"c7","proto":"sse","seq":2,"dir":"in","kind":"event","size":2,"data":"hi","event":"message"}"#,
            "\n",
        );
        let reply = api
            .post_raw("/api/sessions/import?name=capture.ndjson", ndjson)
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text());
        let imported = reply.json();
        assert_eq!(imported["origin"], "import");
        assert_eq!(imported["name"], "capture.ndjson");
        assert_eq!((imported["conns"].as_u64(), imported["records"].as_u64()), (Some(1), Some(2)));
        let sid = imported["id"].as_i64().expect("id");
        let opened = api
            .post(&format!("/api/sessions/{sid}/open"), &json!({}))
            .await
            .json();
        let shown = opened["conns"][0]["id"].as_str().expect("id").to_owned();
        let records = api.records(&shown).await;
        assert_eq!(records[1]["data"], "hi");
        assert_eq!(records[1]["t"], "2026-01-01T00:00:00.000002Z");

        let har = json!({ "log": { "version": "1.2", "entries": [{
            "startedDateTime": "2026-01-01T00:00:00.000Z",
            "request": { "method": "GET", "url": "wss://example.test/feed", "headers": [] },
            "response": { "status": 101, "headers": [{ "name": "Upgrade", "value": "websocket" }] },
            "_resourceType": "websocket",
            "_webSocketMessages": [
                { "type": "send", "time": 1767225600.5, "opcode": 1, "data": "hello" },
                { "type": "receive", "time": 1767225600.75, "opcode": 1, "data": "world" }
            ]
        }, {
            "startedDateTime": "2026-01-01T00:00:00.000Z",
            "request": { "method": "GET", "url": "https://example.test/", "headers": [] },
            "response": { "status": 200, "headers": [], "content": { "mimeType": "text/html" } },
            "_resourceType": "document"
        }]}});
        let reply = api
            .post_raw("/api/sessions/import?name=browser.har", har.to_string())
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text());
        let imported = reply.json();
        assert_eq!(imported["conns"], 1, "the document is counted, not imported");
        assert!(
            imported["notes"].to_string().contains("document"),
            "{imported}"
        );

        let bad = "{\"t\":\"2026-01-01T00:00:00Z\",\"conn\":\"c1\",\"proto\":\"ws\",\"seq\":1,\"dir\":\"in\",\"kind\":\"text\",\"size\":1,\"data\":\"a\"}\n{not json\n";
        let before = sessions(&api).await["sessions"].as_array().map(Vec::len);
        let message = api
            .post_raw("/api/sessions/import?name=broken.ndjson", bad)
            .await
            .assert_error(400, "bad_request");
        assert!(message.contains("line 2"), "{message}");
        assert_eq!(
            sessions(&api).await["sessions"].as_array().map(Vec::len),
            before,
            "nothing imported half-way"
        );
        api.post_raw("/api/sessions/import?name=empty.har", "")
            .await
            .assert_error(400, "bad_request");
        stop(server).await;
    })
    .await;
}

#[tokio::test]
async fn a_spent_disk_budget_ends_a_recording_with_an_error_and_keeps_what_came_before() {
    within(async {
        let dir = DataDir::new("budget");
        let server = start_with(ServerConfig {
            disk_budget: Some(64 * 1024),
            ..dir.config()
        })
        .await;
        let api = Api::of(&server);
        let addr = server.addr;
        let id = api
            .open(json!({ "url": format!("ws://{addr}/demo/ws/ticker?rate=2000&size=512") }))
            .await;
        let view = api.wait_state(&id, "failed").await;
        let records = api.records(&id).await;
        let last = records.last().expect("records");
        assert_eq!(last["kind"], "error", "{last}");
        assert_eq!(last["cause"], "disk_budget", "{last}");
        assert!(
            last["message"]
                .as_str()
                .is_some_and(|m| m.contains("budget")),
            "{last}"
        );
        assert_eq!(view["last_seq"].as_u64(), Some(records.len() as u64));
        for (i, r) in records.iter().enumerate() {
            assert_eq!(r["seq"].as_u64(), Some(i as u64 + 1), "no gap");
        }
        assert!(
            records.len() > 100,
            "the records before the budget are kept"
        );
        stop(server).await;
    })
    .await;
}

#[tokio::test]
async fn a_server_in_memory_only_has_an_empty_library_and_says_why_it_cannot_import() {
    within(async {
        let server = start_with(ServerConfig::default()).await;
        let api = Api::of(&server);
        let list = sessions(&api).await;
        assert_eq!(
            list,
            json!({ "sessions": [], "recording": null, "disk": null })
        );
        let message = api
            .post_raw("/api/sessions/import?name=x.ndjson", "{}")
            .await
            .assert_error(422, "refused");
        assert!(message.contains("memory only"), "{message}");
        stop(server).await;
    })
    .await;
}
