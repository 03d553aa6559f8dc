//! `/api/taps` over real sockets: a reverse tap started through the API in front of
//! the server's own echo demo, an engine connection (opened through the API) as the app
//! under debug, and the tapped connection recorded in the same session.

mod support;

use serde_json::{Value, json};
use support::{Api, PATIENCE, summary, with_api};
use tokio::time::{Instant, sleep};

/// Waits for a connection whose listing satisfies `pick`.
async fn wait_conn(api: &Api, what: &str, pick: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let list = api.get("/api/connections").await.json();
        if let Some(c) = list.as_array().and_then(|l| l.iter().find(|c| pick(c))) {
            return c.clone();
        }
        assert!(start.elapsed() < PATIENCE, "no connection {what}: {list}");
        sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_tap_started_through_the_api_records_an_apps_websocket_as_a_connection() {
    with_api(|api| async move {
        let upstream = format!("{}/demo/ws/echo", api.base.replacen("http://", "ws://", 1));
        let reply = api
            .post(
                "/api/taps",
                &json!({"listen": "127.0.0.1:0", "upstream": upstream}),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text());
        let tap = reply.json();
        let listen = tap["listen"].as_str().expect("listen").to_owned();
        assert!(
            listen.starts_with("127.0.0.1:") && !listen.ends_with(":0"),
            "{tap}"
        );
        let id = tap["id"].as_str().expect("id").to_owned();

        // The app: a connection of this same server, through the tap.
        let app = api
            .open(json!({"url": format!("ws://{listen}/"), "name": "the app"}))
            .await;
        api.wait_state(&app, "open").await;
        assert_eq!(
            api.send(&app, json!({"kind": "text", "data": "through the tap"}))
                .await
                .status,
            202
        );
        let tapped = wait_conn(&api, "tapped", |c| c["tap"] == true).await;
        let tapped_id = tapped["id"].as_str().expect("id").to_owned();
        assert_ne!(tapped_id, app);
        assert!(
            tapped["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("tap 127.0.0.1:")),
            "{tapped}"
        );
        let records = api
            .wait_records(&tapped_id, |r| {
                r.iter().any(|r| r["dir"] == "in" && r["kind"] == "text")
            })
            .await;
        let texts: Vec<(String, String)> = records
            .iter()
            .filter(|r| r["kind"] == "text")
            .map(|r| {
                (
                    r["dir"].as_str().unwrap_or("").to_owned(),
                    r["data"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
        assert_eq!(
            texts,
            [
                ("out".to_owned(), "through the tap".to_owned()),
                ("in".to_owned(), "through the tap".to_owned())
            ],
            "{}",
            summary(&records)
        );
        assert_eq!(records[0]["kind"], "open");

        // Another app's connection cannot send from here.
        let refused = api
            .send(&tapped_id, json!({"kind": "text", "data": "x"}))
            .await;
        refused.assert_error(422, "refused");

        let listed = api.get("/api/taps").await.json();
        assert_eq!(listed[0]["id"], id.as_str(), "{listed}");
        assert_eq!(listed[0]["recorded"], 1, "{listed}");

        assert_eq!(api.delete(&format!("/api/taps/{id}")).await.status, 204);
        assert_eq!(api.get("/api/taps").await.json(), json!([]));
        // Stopping the tap ends its relay: both sides go, the recording stays.
        let ended = api
            .wait_records(&tapped_id, |r| {
                r.last().is_some_and(|l| l["kind"] == "error")
            })
            .await;
        let last = ended.last().expect("a record");
        assert!(
            last["message"]
                .as_str()
                .is_some_and(|m| m.contains("the tap stopped")),
            "{last}"
        );
        api.delete(&format!("/api/taps/{id}"))
            .await
            .assert_error(404, "not_found");
    })
    .await;
}

#[tokio::test]
async fn a_tap_is_refused_off_loopback_and_for_an_upstream_it_cannot_speak() {
    with_api(|api| async move {
        api.post(
            "/api/taps",
            &json!({"listen": "0.0.0.0:0", "upstream": "ws://127.0.0.1:1/"}),
        )
        .await
        .assert_error(400, "bad_request");
        api.post("/api/taps", &json!({"upstream": "ftp://example.com/"}))
            .await
            .assert_error(400, "invalid_url");
        api.post(
            "/api/taps",
            &json!({"listen": "here", "upstream": "ws://127.0.0.1:1/"}),
        )
        .await
        .assert_error(400, "bad_request");
        assert_eq!(api.get("/api/taps").await.json(), json!([]));
    })
    .await;
}

#[tokio::test]
async fn a_proxy_from_the_api_records_an_absolute_form_stream_and_its_ca_is_served_and_deleted() {
    support::within(async {
        let dir = std::env::temp_dir().join(format!("sscope-taps-api-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let server = support::start_with(streamscope_server::ServerConfig {
            data_dir: Some(dir.clone()),
            ..Default::default()
        })
        .await;
        let api = Api::of(&server);
        let reply = api
            .post(
                "/api/taps",
                &json!({"proxy": true, "decrypt": ["localhost"]}),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text());
        let tap = reply.json();
        assert_eq!(tap["proxy"], true, "{tap}");
        let listen = tap["listen"].as_str().expect("listen").to_owned();

        // The CA: made on first use, its key readable by the user alone.
        let pem = api.get("/api/taps/ca").await;
        assert_eq!(pem.status, 200);
        assert!(
            pem.text().starts_with("-----BEGIN CERTIFICATE-----"),
            "{}",
            pem.text()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("tap-ca").join("ca-key.pem"))
                .expect("the key file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        api.delete("/api/taps/ca")
            .await
            .assert_error(409, "conflict");

        // An app through the proxy, to this server's own SSE demo, by absolute form.
        let client = reqwest::Client::builder()
            .proxy(reqwest::Proxy::http(format!("http://{listen}")).expect("proxy"))
            .build()
            .expect("client");
        let url = format!("{}/demo/sse/ticker?rate=20&count=3", api.base);
        let body = client
            .get(&url)
            .header("accept", "text/event-stream")
            .send()
            .await
            .expect("through the proxy")
            .text()
            .await
            .expect("the stream");
        assert_eq!(body.matches("data:").count(), 3, "{body}");
        let tapped = wait_conn(&api, "tapped through the proxy", |c| c["tap"] == true).await;
        let id = tapped["id"].as_str().expect("id").to_owned();
        let records = api
            .wait_records(&id, |r| r.iter().any(|r| r["kind"] == "end"))
            .await;
        assert_eq!(
            records.iter().filter(|r| r["kind"] == "event").count(),
            3,
            "{}",
            summary(&records)
        );

        let tap_id = tap["id"].as_str().expect("id");
        assert_eq!(api.delete(&format!("/api/taps/{tap_id}")).await.status, 204);
        assert_eq!(api.delete("/api/taps/ca").await.status, 204);
        assert!(!dir.join("tap-ca").exists());
        support::stop(server).await;
        let _ = std::fs::remove_dir_all(&dir);
    })
    .await;
}

#[tokio::test]
async fn a_memory_only_server_cannot_decrypt_and_says_why() {
    with_api(|api| async move {
        let msg = api
            .post(
                "/api/taps",
                &json!({"proxy": true, "decrypt": ["example.com"]}),
            )
            .await
            .assert_error(422, "refused");
        assert!(msg.contains("data directory"), "{msg}");
        api.get("/api/taps/ca").await.assert_error(422, "refused");
        // Without decrypting, a proxy needs no CA.
        let reply = api.post("/api/taps", &json!({"proxy": true})).await;
        assert_eq!(reply.status, 201, "{}", reply.text());
    })
    .await;
}

#[tokio::test]
async fn taps_need_the_token_and_refuse_other_sites() {
    with_api(|api| async move {
        let anonymous = support::http()
            .post(api.url("/api/taps"))
            .header("content-type", "application/json")
            .body(r#"{"upstream": "ws://127.0.0.1:1/"}"#)
            .send()
            .await
            .expect("answers");
        assert_eq!(anonymous.status(), 401);
        let foreign = api
            .request(reqwest::Method::POST, "/api/taps")
            .header("origin", "http://evil.example")
            .header("content-type", "application/json")
            .body(r#"{"upstream": "ws://127.0.0.1:1/"}"#)
            .send()
            .await
            .expect("answers");
        assert_eq!(foreign.status(), 403);
        let ca = support::http()
            .get(api.url("/api/taps/ca"))
            .send()
            .await
            .expect("answers");
        assert_eq!(ca.status(), 401);
        assert_eq!(
            api.get("/api/taps").await.json(),
            json!([]),
            "nothing started"
        );
    })
    .await;
}
