//! `/api/collections` and `/api/environments` against a real server: collections and
//! saved connections created, renamed, edited, duplicated and deleted; kept in the data
//! directory's `collections.json` for the next server, or in memory (and said so); secrets
//! refused before they are stored; export without secrets, naming those to fill in;
//! import of an exported file, and a bad one refused with the path of what is wrong; the
//! token and Origin checks as on every `/api` route.

mod support;

use std::path::PathBuf;

use serde_json::{Value, json};
use streamscope_server::ServerConfig;
use support::{Api, Reply, start_with, stop, with_api, within};

struct DataDir(PathBuf);

impl DataDir {
    fn new(name: &str) -> DataDir {
        let dir = std::env::temp_dir().join(format!(
            "streamscope-collections-{name}-{}",
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

    fn stored(&self) -> String {
        std::fs::read_to_string(self.0.join("collections.json")).expect("collections.json")
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn put(api: &Api, path: &str, body: &Value) -> Reply {
    Reply::read(
        api.request(reqwest::Method::PUT, path)
            .header("content-type", "application/json")
            .body(serde_json::to_vec(body).expect("json"))
            .send()
            .await
            .expect("PUT"),
    )
    .await
}

fn pane(url: &str) -> Value {
    json!({
        "url": url, "name": "", "auth": "bearer", "bearer": "", "basicUser": "", "basicPass": "",
        "headers": [
            {"name": "X-Team", "value": "{{team}}", "on": true},
            {"name": "X-Api-Key", "value": "", "on": true, "secret": true}
        ],
        "method": "POST", "body": "{\"q\": \"{{query}}\"}", "subprotocols": "", "verifyTls": true
    })
}

async fn create(api: &Api, name: &str) -> String {
    let r = api.post("/api/collections", &json!({ "name": name })).await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["id"].as_str().expect("id").to_owned()
}

async fn add(api: &Api, cid: &str, name: &str, config: Value) -> String {
    let r = api
        .post(
            &format!("/api/collections/{cid}/items"),
            &json!({ "name": name, "config": config }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn collections_and_saved_connections_are_kept_for_the_next_server() {
    within(async {
        let dir = DataDir::new("kept");
        let server = start_with(dir.config()).await;
        let api = Api::of(&server);
        let listing = api.get("/api/collections").await.json();
        assert_eq!(listing["persisted"], true, "{listing}");
        assert_eq!(listing["collections"], json!([]));

        let cid = create(&api, "  Billing  ").await;
        let renamed = api
            .patch(&format!("/api/collections/{cid}"), &json!({"name": "Billing API"}))
            .await;
        assert_eq!(renamed.json()["name"], "Billing API", "{}", renamed.text());

        let iid = add(&api, &cid, "events", pane("http://127.0.0.1:1/{{path}}")).await;
        let copy = api
            .post(&format!("/api/collections/{cid}/items/{iid}/duplicate"), &json!({}))
            .await;
        assert_eq!(copy.status, 201, "{}", copy.text());
        let copy_id = copy.json()["id"].as_str().expect("id").to_owned();
        assert_eq!(copy.json()["name"], "events copy");
        assert_ne!(copy_id, iid);

        // Saving a pane's settings back, and renaming, in one edit.
        let mut edited = pane("ws://127.0.0.1:2/socket");
        edited["subprotocols"] = json!("graphql-transport-ws");
        let r = api
            .patch(
                &format!("/api/collections/{cid}/items/{copy_id}"),
                &json!({"name": "socket", "config": edited}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());

        let envs = put(
            &api,
            "/api/environments",
            &json!({"environments": [
                {"name": "local", "vars": [{"name": "team", "value": "core"}, {"name": "token", "value": "", "secret": true}]},
                {"name": "staging", "vars": [{"name": "team", "value": "ops"}]}
            ]}),
        )
        .await;
        assert_eq!(envs.status, 200, "{}", envs.text());
        stop(server).await;

        // A second server on the same directory lists the same things, in order.
        let server = start_with(dir.config()).await;
        let api = Api::of(&server);
        let listing = api.get("/api/collections").await.json();
        let c = &listing["collections"][0];
        assert_eq!(c["name"], "Billing API", "{listing}");
        let names: Vec<&str> = c["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|i| i["name"].as_str())
            .collect();
        assert_eq!(names, ["events", "socket"]);
        assert_eq!(c["items"][1]["config"]["subprotocols"], "graphql-transport-ws");
        assert_eq!(c["items"][1]["config"]["url"], "ws://127.0.0.1:2/socket");
        assert_eq!(listing["environments"][1]["name"], "staging");
        assert_eq!(listing["environments"][0]["vars"][1]["secret"], true);

        // Deleting a saved connection, then the collection.
        let r = api
            .delete(&format!("/api/collections/{cid}/items/{iid}"))
            .await;
        assert_eq!(r.status, 204, "{}", r.text());
        let listing = api.get("/api/collections").await.json();
        assert_eq!(listing["collections"][0]["items"].as_array().map(Vec::len), Some(1));
        let r = api.delete(&format!("/api/collections/{cid}")).await;
        assert_eq!(r.status, 204, "{}", r.text());
        api.delete(&format!("/api/collections/{cid}"))
            .await
            .assert_error(404, "not_found");
        assert_eq!(api.get("/api/collections").await.json()["collections"], json!([]));
        stop(server).await;
    })
    .await;
}

#[tokio::test]
async fn a_memory_only_server_keeps_collections_and_says_it_does_not_persist_them() {
    with_api(|api| async move {
        let listing = api.get("/api/collections").await.json();
        assert_eq!(listing["persisted"], false, "{listing}");
        let cid = create(&api, "scratch").await;
        add(&api, &cid, "ticker", pane("ws://127.0.0.1:9/x")).await;
        let listing = api.get("/api/collections").await.json();
        assert_eq!(listing["collections"][0]["items"][0]["name"], "ticker");
    })
    .await;
}

#[tokio::test]
async fn secrets_are_refused_before_they_are_stored() {
    within(async {
        let dir = DataDir::new("secrets");
        let server = start_with(dir.config()).await;
        let api = Api::of(&server);
        let cid = create(&api, "c").await;
        let iid = add(&api, &cid, "ok", pane("ws://127.0.0.1:9/x")).await;

        let mut with_token = pane("ws://127.0.0.1:9/x");
        with_token["bearer"] = json!("tok-SECRET-1");
        let path = format!("/api/collections/{cid}/items");
        let m = api
            .post(&path, &json!({"name": "n", "config": with_token}))
            .await
            .assert_error(400, "bad_request");
        assert!(m.contains("config.bearer") && m.contains("never stored"), "{m}");

        let mut with_pass = pane("ws://127.0.0.1:9/x");
        with_pass["basicPass"] = json!("pw-SECRET-2");
        let m = api
            .patch(&format!("{path}/{iid}"), &json!({"config": with_pass}))
            .await
            .assert_error(400, "bad_request");
        assert!(m.contains("config.basicPass"), "{m}");

        let mut with_header = pane("ws://127.0.0.1:9/x");
        with_header["headers"][1]["value"] = json!("key-SECRET-3");
        let m = api
            .post(&path, &json!({"name": "n", "config": with_header}))
            .await
            .assert_error(400, "bad_request");
        assert!(m.contains("config.headers[1].value"), "{m}");

        let m = put(
            &api,
            "/api/environments",
            &json!({"environments": [{"name": "prod", "vars": [{"name": "token", "value": "var-SECRET-4", "secret": true}]}]}),
        )
        .await
        .assert_error(400, "bad_request");
        assert!(m.contains("environments[0].vars[0].value"), "{m}");

        let stored = dir.stored();
        assert!(!stored.contains("SECRET"), "{stored}");
        stop(server).await;
    })
    .await;
}

#[tokio::test]
async fn bad_names_settings_and_ids_are_refused_with_what_is_wrong() {
    with_api(|api| async move {
        let m = api
            .post("/api/collections", &json!({"name": "   "}))
            .await
            .assert_error(400, "bad_request");
        assert!(m.contains("empty"), "{m}");
        let long = "x".repeat(201);
        let m = api
            .post("/api/collections", &json!({"name": long}))
            .await
            .assert_error(400, "bad_request");
        assert!(m.contains("200"), "{m}");
        api.post("/api/collections", &json!({"title": "x"}))
            .await
            .assert_error(400, "bad_request");
        let cid = create(&api, "c").await;
        let m = api
            .post(
                &format!("/api/collections/{cid}/items"),
                &json!({"name": "n", "config": {"name": "no url"}}),
            )
            .await
            .assert_error(400, "bad_request");
        assert!(m.contains("config.url"), "{m}");
        api.post(
            &format!("/api/collections/{cid}/items"),
            &json!({"name": "n", "config": {"url": "ws://x", "body": "b".repeat(300 * 1024)}}),
        )
        .await
        .assert_error(413, "payload_too_large");
        api.post(
            "/api/collections/nope/items",
            &json!({"name": "n", "config": pane("ws://x")}),
        )
        .await
        .assert_error(404, "not_found");
        api.post(
            &format!("/api/collections/{cid}/items/nope/duplicate"),
            &json!({}),
        )
        .await
        .assert_error(404, "not_found");
        for (vars, says) in [
            (json!([{"name": "1abc", "value": ""}]), "vars[0].name"),
            (json!([{"name": "a b", "value": ""}]), "vars[0].name"),
            (
                json!([{"name": "a", "value": "1"}, {"name": "a", "value": "2"}]),
                "defined twice",
            ),
        ] {
            let m = put(
                &api,
                "/api/environments",
                &json!({"environments": [{"name": "e", "vars": vars}]}),
            )
            .await
            .assert_error(400, "bad_request");
            assert!(m.contains(says), "{m}");
        }
        let m = put(
            &api,
            "/api/environments",
            &json!({"environments": [{"name": "e"}, {"name": "e"}]}),
        )
        .await
        .assert_error(400, "bad_request");
        assert!(m.contains("environments[1]"), "{m}");
    })
    .await;
}

#[tokio::test]
async fn an_export_leaves_secrets_out_names_them_and_imports_again() {
    with_api(|api| async move {
        let cid = create(&api, "Team").await;
        let mut basic = pane("ws://127.0.0.1:9/b");
        basic["auth"] = json!("basic");
        basic["basicUser"] = json!("alice");
        add(&api, &cid, "bearer one", pane("http://127.0.0.1:9/a")).await;
        add(&api, &cid, "basic one", basic).await;
        put(
            &api,
            "/api/environments",
            &json!({"environments": [{"name": "local", "vars": [{"name": "team", "value": "core"}, {"name": "key", "secret": true}]}]}),
        )
        .await;

        let file = api
            .get(&format!("/api/collections/export?collection={cid}"))
            .await;
        assert_eq!(file.status, 200, "{}", file.text());
        let file = file.json();
        assert_eq!(file["format"], "streamscope.collections");
        assert_eq!(file["version"], 1);
        let items = &file["collections"][0]["items"];
        assert_eq!(items[0]["to_fill"], json!(["bearer", "header X-Api-Key"]));
        assert_eq!(items[1]["to_fill"], json!(["basic", "header X-Api-Key"]));
        assert_eq!(items[1]["config"]["basicUser"], "alice");
        assert!(file["collections"][0].get("id").is_none(), "{file}");
        assert_eq!(file["environments"][0]["vars"][1]["value"], "");

        // The same file imported: a second collection; the environment of the same name
        // is kept as it was.
        let r = api
            .post_raw("/api/collections/import", serde_json::to_vec(&file).expect("json"))
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let imported = r.json();
        assert_eq!(imported["collections"][0]["name"], "Team");
        assert_ne!(imported["collections"][0]["id"], cid);
        assert_eq!(imported["skipped_environments"], json!(["local"]));
        let listing = api.get("/api/collections").await.json();
        assert_eq!(listing["collections"].as_array().map(Vec::len), Some(2));
        assert_eq!(
            listing["collections"][1]["items"][0]["config"]["headers"][0]["value"],
            "{{team}}"
        );

        // Export of everything.
        let all = api.get("/api/collections/export").await.json();
        assert_eq!(all["collections"].as_array().map(Vec::len), Some(2));
        api.get("/api/collections/export?collection=none")
            .await
            .assert_error(404, "not_found");
    })
    .await;
}

#[tokio::test]
async fn a_bad_import_is_refused_whole_naming_what_is_wrong() {
    with_api(|api| async move {
        let m = api
            .post_raw("/api/collections/import", "{not json")
            .await
            .assert_error(400, "bad_request");
        assert!(m.contains("not a JSON file"), "{m}");
        let good_item = json!({"name": "a", "config": {"url": "ws://x"}});
        for (file, says) in [
            (
                json!({"format": "postman", "version": 1, "collections": []}),
                "format is \"postman\"",
            ),
            (
                json!({"format": "streamscope.collections", "version": 9, "collections": []}),
                "version 9",
            ),
            (
                json!({"format": "streamscope.collections", "version": 1,
                       "collections": [{"name": "c", "items": [good_item, {"name": "b", "config": []}]}]}),
                "collections[0].items[1].config",
            ),
            (
                json!({"format": "streamscope.collections", "version": 1,
                       "collections": [{"name": "c", "items": [{"name": "b", "config": {"url": "ws://x", "bearer": "t"}}]}]}),
                "collections[0].items[0].config.bearer",
            ),
            (
                json!({"format": "streamscope.collections", "version": 1,
                       "collections": [{"name": "", "items": []}]}),
                "collections[0]",
            ),
        ] {
            let m = api
                .post_raw("/api/collections/import", serde_json::to_vec(&file).expect("json"))
                .await
                .assert_error(400, "bad_request");
            assert!(m.contains(says), "{says}: {m}");
        }
        let huge = vec![b' '; (16 << 20) + 1];
        let m = api
            .post_raw("/api/collections/import", huge)
            .await
            .assert_error(413, "payload_too_large");
        assert!(m.contains("16 MiB"), "{m}");
        // Nothing of a refused file was added.
        assert_eq!(api.get("/api/collections").await.json()["collections"], json!([]));
    })
    .await;
}

#[tokio::test]
async fn collections_need_the_token_and_this_apps_origin() {
    with_api(|api| async move {
        let r = Reply::read(
            api.client
                .get(api.url("/api/collections"))
                .send()
                .await
                .expect("GET"),
        )
        .await;
        r.assert_error(401, "unauthorized");
        let r = Reply::read(
            api.request(reqwest::Method::POST, "/api/collections")
                .header("origin", "https://evil.example")
                .header("content-type", "application/json")
                .body(r#"{"name": "x"}"#)
                .send()
                .await
                .expect("POST"),
        )
        .await;
        r.assert_error(403, "bad_origin");
        assert_eq!(
            api.get("/api/collections").await.json()["collections"],
            json!([])
        );
    })
    .await;
}

#[tokio::test]
async fn an_unreadable_store_is_kept_aside_and_the_server_starts() {
    within(async {
        let dir = DataDir::new("unreadable");
        std::fs::create_dir_all(&dir.0).expect("mkdir");
        std::fs::write(dir.0.join("collections.json"), "{\"collections\": 5}").expect("write");
        let server = start_with(dir.config()).await;
        let api = Api::of(&server);
        let listing = api.get("/api/collections").await.json();
        let notice = listing["notice"].as_str().unwrap_or_default().to_owned();
        assert!(notice.contains("unreadable"), "{listing}");
        let aside = std::fs::read_dir(&dir.0)
            .expect("dir")
            .filter_map(Result::ok)
            .find(|e| e.file_name().to_string_lossy().contains("unreadable"))
            .expect("the old file kept aside");
        assert_eq!(
            std::fs::read_to_string(aside.path()).expect("read"),
            "{\"collections\": 5}"
        );
        create(&api, "fresh").await;
        assert!(dir.stored().contains("fresh"));
        stop(server).await;
    })
    .await;
}

#[tokio::test]
async fn a_postman_collections_streams_import_without_their_secrets() {
    with_api(|api| async move {
        let postman = json!({
            "info": {"name": "Realtime API", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
            "item": [
                {"name": "Chat socket", "request": {"method": "GET", "url": {"raw": "wss://{{host}}/chat"},
                    "header": [{"key": "X-Api-Key", "value": "pm-SECRET-1"}]}},
                {"name": "Feeds", "item": [
                    {"name": "Completions", "request": {"method": "POST", "url": "https://{{host}}/v1/stream",
                        "header": [{"key": "Accept", "value": "text/event-stream"}],
                        "body": {"mode": "raw", "raw": "{\"stream\": true}"},
                        "auth": {"type": "bearer", "bearer": [{"key": "token", "value": "pm-SECRET-2"}]}}}
                ]},
                {"name": "List users", "request": {"method": "GET", "url": "https://{{host}}/users"}}
            ],
            "variable": [{"key": "host", "value": "api.example"}, {"key": "token", "value": "pm-SECRET-3"}]
        });
        let r = api
            .post_raw("/api/collections/import", serde_json::to_vec(&postman).expect("json"))
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let text = r.text();
        assert!(!text.contains("SECRET"), "{text}");
        let body = r.json();
        let items = &body["collections"][0]["items"];
        assert_eq!(body["collections"][0]["name"], "Realtime API");
        assert_eq!(items[0]["name"], "Chat socket");
        assert_eq!(items[0]["config"]["headers"][0]["secret"], true);
        assert_eq!(items[1]["name"], "Feeds / Completions");
        assert_eq!(items[1]["config"]["method"], "POST");
        assert_eq!(items[1]["config"]["auth"], "bearer");
        assert_eq!(items.as_array().map(Vec::len), Some(2));
        assert_eq!(body["environments"][0]["name"], "Realtime API");
        assert_eq!(body["environments"][0]["vars"][1]["secret"], true);
        let notes = body["notes"].to_string();
        assert!(notes.contains("1 request(s)") && notes.contains("bearer token was left out"), "{notes}");
        // What it became exports as a Streamscope file naming the secrets to fill.
        let file = api.get("/api/collections/export").await.json();
        assert_eq!(
            file["collections"][0]["items"][1]["to_fill"],
            json!(["bearer"])
        );

        // A Postman collection with no stream in it says so.
        let plain = json!({
            "info": {"name": "REST", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
            "item": [{"name": "x", "request": {"method": "GET", "url": "https://a/b"}}]
        });
        let m = api
            .post_raw("/api/collections/import", serde_json::to_vec(&plain).expect("json"))
            .await
            .assert_error(400, "bad_request");
        assert!(m.contains("no WebSocket"), "{m}");
    })
    .await;
}
