//! The security rules over real sockets, which every change must keep passing: the launch
//! token (never in a cookie, never in a URL the UI builds: downloads are one-use links),
//! `Origin` and `Host` on `/api`, the UI and `/demo`, the CSP and the loopback bind, what
//! a demo request may cost, names bounded, every refusal answered as `{code, message}`,
//! and a CA file that cannot stall the server.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{Reply, http, live_url, live_with, start, stop, with_api, with_server, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite;

/// The status and error code of a refused `/api/live` handshake.
fn refused_handshake(result: Result<support::Ws, tungstenite::Error>) -> (u16, Value) {
    match result {
        Err(tungstenite::Error::Http(response)) => {
            let body = response.body().clone().unwrap_or_default();
            let body: Value = serde_json::from_slice(&body).expect("the refusal is JSON");
            (response.status().as_u16(), body)
        }
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
        Ok(_) => panic!("the handshake was accepted"),
    }
}

// ---------------------------------------------------------------------------------------
// The token
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn the_launch_token_is_64_hex_digits_and_new_at_every_launch() {
    within(async {
        let a = start().await;
        let b = start().await;
        for token in [&a.token, &b.token] {
            assert_eq!(token.len(), 64, "256 bits as hex");
            assert!(token.bytes().all(|c| c.is_ascii_hexdigit()), "{token}");
        }
        assert_ne!(a.token, b.token);
        assert!(
            a.ui_url().ends_with(&format!("/#token={}", a.token)),
            "{}",
            a.ui_url()
        );
        stop(a).await;
        stop(b).await;
    })
    .await;
}

#[tokio::test]
async fn api_calls_without_the_right_token_get_401_unauthorized() {
    with_server(|server, api| async move {
        let wrong = "0".repeat(64);
        let prefix = &server.token[..32];
        let attempts: Vec<reqwest::RequestBuilder> = vec![
            api.client.get(api.url("/api/connections")),
            api.client
                .get(api.url("/api/connections"))
                .bearer_auth(&wrong),
            api.client
                .get(api.url("/api/connections"))
                .bearer_auth(prefix),
            api.client
                .get(api.url("/api/connections"))
                .header("authorization", format!("Basic {}", server.token)),
            api.client
                .get(api.url(&format!("/api/connections?token={wrong}"))),
            api.client
                .get(api.url("/api/connections"))
                .header("cookie", format!("sscope_token={wrong}")),
            api.client
                .post(api.url("/api/connections"))
                .header("content-type", "application/json")
                .body(r#"{"url":"ws://127.0.0.1:9/x"}"#),
            api.client.get(api.url("/api/connections/c1/records")),
            api.client.get(api.url("/api/no-such-route")),
        ];
        for request in attempts {
            let reply = Reply::read(request.send().await.expect("request")).await;
            reply.assert_error(401, "unauthorized");
        }
        // Nothing was opened by the refused POST.
        assert_eq!(api.get("/api/connections").await.json(), json!([]));

        // The live socket too.
        let url = format!("ws://{}/api/live", server.addr);
        let (status, body) = refused_handshake(live_with(&url, &[]).await);
        assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));
        let url = format!("ws://{}/api/live?token={wrong}", server.addr);
        let (status, _) = refused_handshake(live_with(&url, &[]).await);
        assert_eq!(status, 401);
    })
    .await;
}

#[tokio::test]
async fn the_token_is_taken_from_the_bearer_header_and_on_the_live_socket_only() {
    with_server(|server, api| async move {
        let token = &server.token;
        let reply = Reply::read(
            api.client
                .get(api.url("/api/connections"))
                .bearer_auth(token)
                .send()
                .await
                .expect("request"),
        )
        .await;
        assert_eq!(reply.status, 200, "{}", reply.text());

        // Not from a cookie, and not from the query of a plain request: a URL with the
        // token in it leaks the API when it is copied, and cookies reach every port.
        let refused = [
            api.client
                .get(api.url(&format!("/api/connections?token={token}"))),
            api.client
                .get(api.url(&format!("/api/connections/c1/export?token={token}"))),
            api.client
                .get(api.url(&format!("/api/chart.svg?token={token}"))),
            api.client
                .get(api.url("/api/connections"))
                .header("cookie", format!("sscope_token={token}")),
            api.client.get(api.url("/api/connections")).header(
                "cookie",
                format!("theme=dark; sscope_token={token}; token={token}"),
            ),
        ];
        for request in refused {
            let reply = Reply::read(request.send().await.expect("request")).await;
            reply.assert_error(401, "unauthorized");
        }

        // The live socket: the token as a subprotocol (what the page does), the server
        // agreeing to `streamscope.live` and never echoing the token; or `?token=` for
        // clients that are not browsers.
        let url = format!("ws://{}/api/live", server.addr);
        let offered = format!("streamscope.live, streamscope.token.{token}");
        let ws = live_with(&url, &[("sec-websocket-protocol", &offered)])
            .await
            .expect("subprotocol token");
        drop(ws);
        let mut request = tungstenite::client::IntoClientRequest::into_client_request(url.as_str())
            .expect("request");
        request
            .headers_mut()
            .insert("sec-websocket-protocol", offered.parse().expect("header"));
        let (_ws, response) = tokio_tungstenite::connect_async(request)
            .await
            .expect("handshake");
        assert_eq!(
            response
                .headers()
                .get("sec-websocket-protocol")
                .map(|v| v.to_str().ok()),
            Some(Some("streamscope.live"))
        );
        drop(
            live_with(&live_url(&server, ""), &[])
                .await
                .expect("query token"),
        );
        let cookie = format!("sscope_token={token}");
        let (status, _) = refused_handshake(live_with(&url, &[("cookie", &cookie)]).await);
        assert_eq!(status, 401, "a cookie opens no live socket");
    })
    .await;
}

#[tokio::test]
async fn loading_the_ui_sets_no_cookie_whatever_the_url_carries() {
    with_server(|server, api| async move {
        let with_query = format!("/?token={}", server.token);
        for path in [with_query.as_str(), "/?token=nope", "/", "/index.html"] {
            let reply = Reply::read(api.client.get(api.url(path)).send().await.expect("GET")).await;
            assert_eq!(reply.status, 200, "{path}");
            assert_eq!(reply.header("set-cookie"), None, "{path}");
        }
        // Nor does any API answer.
        let reply = api.get("/api/connections").await;
        assert_eq!(reply.header("set-cookie"), None);
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Origin and Host
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_foreign_origin_gets_403_bad_origin_on_the_api_and_the_live_socket() {
    with_server(|server, api| async move {
        let port = server.addr.port();
        let foreign = [
            "https://evil.example".to_owned(),
            "http://evil.example".to_owned(),
            "null".to_owned(),
            format!("http://127.0.0.1:{}", port.wrapping_add(1)),
            format!("https://127.0.0.1:{port}"),
        ];
        for origin in &foreign {
            let reply = Reply::read(
                api.request(reqwest::Method::GET, "/api/connections")
                    .header("origin", origin)
                    .send()
                    .await
                    .expect("GET"),
            )
            .await;
            reply.assert_error(403, "bad_origin");
            // A page on another site must not open connections either.
            let reply = Reply::read(
                api.request(reqwest::Method::POST, "/api/connections")
                    .header("origin", origin)
                    .header("content-type", "application/json")
                    .body(r#"{"url":"ws://127.0.0.1:9/x"}"#)
                    .send()
                    .await
                    .expect("POST"),
            )
            .await;
            reply.assert_error(403, "bad_origin");
            // Cross-site WebSocket hijacking: refused at the handshake.
            let (status, body) =
                refused_handshake(live_with(&live_url(&server, ""), &[("origin", origin)]).await);
            assert_eq!(
                (status, body["code"].as_str()),
                (403, Some("bad_origin")),
                "{origin}"
            );
        }
        assert_eq!(api.get("/api/connections").await.json(), json!([]));

        // Our own origins are welcome.
        for origin in [
            format!("http://127.0.0.1:{port}"),
            format!("http://localhost:{port}"),
        ] {
            let reply = Reply::read(
                api.request(reqwest::Method::GET, "/api/connections")
                    .header("origin", &origin)
                    .send()
                    .await
                    .expect("GET"),
            )
            .await;
            assert_eq!(reply.status, 200, "{origin}");
            drop(
                live_with(&live_url(&server, ""), &[("origin", &origin)])
                    .await
                    .expect("own origin"),
            );
        }
    })
    .await;
}

#[tokio::test]
async fn a_foreign_host_gets_403_bad_host_even_with_the_token() {
    with_server(|server, api| async move {
        let port = server.addr.port();
        // DNS rebinding: a page on evil.example whose name now points at 127.0.0.1.
        let foreign = [
            format!("evil.example:{port}"),
            "evil.example".to_owned(),
            format!("127.0.0.1:{}", port.wrapping_add(1)),
            "127.0.0.1".to_owned(),
            format!("127.0.0.1.evil.example:{port}"),
        ];
        for host in &foreign {
            let reply = Reply::read(
                api.request(reqwest::Method::GET, "/api/connections")
                    .header("host", host)
                    .send()
                    .await
                    .expect("GET"),
            )
            .await;
            reply.assert_error(403, "bad_host");
            // The UI is confined the same way.
            let reply = Reply::read(
                api.client
                    .get(api.url("/"))
                    .header("host", host)
                    .send()
                    .await
                    .expect("GET /"),
            )
            .await;
            reply.assert_error(403, "bad_host");
            let (status, body) =
                refused_handshake(live_with(&live_url(&server, ""), &[("host", host)]).await);
            assert_eq!(
                (status, body["code"].as_str()),
                (403, Some("bad_host")),
                "{host}"
            );
        }
        for host in [format!("127.0.0.1:{port}"), format!("localhost:{port}")] {
            let reply = Reply::read(
                api.request(reqwest::Method::GET, "/api/connections")
                    .header("host", &host)
                    .send()
                    .await
                    .expect("GET"),
            )
            .await;
            assert_eq!(reply.status, 200, "{host}");
            drop(
                live_with(&live_url(&server, ""), &[("host", &host)])
                    .await
                    .expect("own host"),
            );
        }
    })
    .await;
}

#[tokio::test]
async fn a_request_without_a_host_header_is_refused() {
    with_server(|server, _| async move {
        // HTTP/1.0 allows leaving Host out; no browser does.
        let mut tcp = TcpStream::connect(server.addr).await.expect("connect");
        let request = format!(
            "GET /api/connections HTTP/1.0\r\nAuthorization: Bearer {}\r\n\r\n",
            server.token
        );
        tcp.write_all(request.as_bytes()).await.expect("write");
        let mut response = String::new();
        tcp.read_to_string(&mut response).await.expect("read");
        assert!(response.starts_with("HTTP/1.0 403"), "{response}");
        assert!(response.contains("\"bad_host\""), "{response}");
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Headers, bind, UI
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn every_response_carries_a_strict_content_security_policy() {
    with_server(|server, api| async move {
        let replies = [
            Reply::read(api.client.get(server.ui_url()).send().await.expect("GET /")).await,
            api.get("/api/connections").await,
            Reply::read(
                api.client
                    .get(api.url("/api/connections"))
                    .send()
                    .await
                    .expect("GET"),
            )
            .await,
            api.get("/api/connections/c42").await,
        ];
        for reply in &replies {
            let csp = reply
                .header("content-security-policy")
                .unwrap_or_else(|| panic!("no CSP on a {} response", reply.status));
            let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
            for wanted in [
                "default-src 'self'",
                "script-src 'self'",
                "frame-ancestors 'none'",
                "object-src 'none'",
                "base-uri 'none'",
            ] {
                assert!(directives.contains(&wanted), "{wanted} missing in {csp}");
            }
            assert!(!csp.contains("unsafe-eval"), "{csp}");
            let script = directives
                .iter()
                .find(|d| d.starts_with("script-src"))
                .expect("script-src");
            assert!(!script.contains("unsafe-inline"), "{csp}");
            assert!(!csp.contains('*'), "no wildcard source: {csp}");
            assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
            assert_eq!(reply.header("x-frame-options"), Some("DENY"));
        }
    })
    .await;
}

#[tokio::test]
async fn the_listener_is_bound_to_127_0_0_1_only() {
    with_server(|server, _| async move {
        assert_eq!(
            server.addr.ip(),
            std::net::IpAddr::from([127, 0, 0, 1]),
            "{}",
            server.addr
        );
        assert!(server.base_url().starts_with("http://127.0.0.1:"));
        // Another loopback address reaches a wildcard listener, not ours.
        let other = std::net::SocketAddr::from(([127, 0, 0, 2], server.addr.port()));
        assert!(
            TcpStream::connect(other).await.is_err(),
            "a connection to {other} was accepted: the server listens beyond 127.0.0.1"
        );
        // And so does this machine's address on the network, when it has one.
        if let Some(ip) = outward_ip() {
            let outward = std::net::SocketAddr::new(ip, server.addr.port());
            assert!(
                TcpStream::connect(outward).await.is_err(),
                "a connection to {outward} was accepted"
            );
        }
    })
    .await;
}

/// The address this machine would send from to a private network, if it has a route
/// there (no packet is sent: connecting a UDP socket only picks the route).
fn outward_ip() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("10.255.255.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[tokio::test]
async fn the_root_serves_a_page_that_says_how_to_build_the_ui_when_it_is_not_built() {
    with_server(|server, _| async move {
        assert!(!server.ui_built);
        let reply = Reply::read(http().get(server.base_url()).send().await.expect("GET /")).await;
        assert_eq!(reply.status, 200);
        assert!(
            reply
                .header("content-type")
                .is_some_and(|c| c.starts_with("text/html"))
        );
        let page = reply.text();
        assert!(page.contains("not been built"), "{page}");
        assert!(
            !page.contains(&server.token),
            "the page never shows the token"
        );
    })
    .await;
}

#[tokio::test]
async fn a_built_ui_is_served_with_index_fallback_and_no_way_out_of_its_directory() {
    within(async {
        let dir = std::env::temp_dir().join(format!("streamscope-ui-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("assets")).expect("ui dir");
        std::fs::write(dir.join("index.html"), "<!doctype html><p>the app</p>").expect("index");
        std::fs::write(dir.join("assets/app.js"), "console.log(1)").expect("js");
        let server = streamscope_server::Server::start(streamscope_server::ServerConfig {
            port: 0,
            token: None,
            ui_dir: Some(dir.clone()),
            memory_budget: None,
            ..streamscope_server::ServerConfig::default()
        })
        .await
        .expect("start");
        assert!(server.ui_built);
        let client = http();
        let get = |path: &str| {
            let url = format!("{}{path}", server.base_url());
            let client = client.clone();
            async move { Reply::read(client.get(url).send().await.expect("GET")).await }
        };
        let index = get("/").await;
        assert_eq!(index.status, 200);
        assert!(index.text().contains("the app"));
        let js = get("/assets/app.js").await;
        assert_eq!(js.status, 200);
        assert_eq!(
            js.header("content-type"),
            Some("text/javascript; charset=utf-8")
        );
        // A client-side route gets the app; a missing file does not.
        assert!(get("/connections/c1").await.text().contains("the app"));
        assert_eq!(get("/assets/missing.js").await.status, 404);

        // `..` never leaves the UI directory (sent raw: HTTP clients normalise it away).
        std::fs::write(dir.join("../streamscope-secret.txt"), "secret").expect("secret");
        let mut tcp = TcpStream::connect(server.addr).await.expect("connect");
        let request = format!(
            "GET /../streamscope-secret.txt HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            server.addr
        );
        tcp.write_all(request.as_bytes()).await.expect("write");
        let mut response = String::new();
        tcp.read_to_string(&mut response).await.expect("read");
        assert!(!response.contains("secret"), "{response}");
        assert!(response.starts_with("HTTP/1.1 404"), "{response}");

        stop(server).await;
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_file(dir.join("../streamscope-secret.txt"));
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Downloads: one-use links, no token in any URL
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_download_link_serves_its_file_once_without_the_token_and_then_is_gone() {
    with_server(|server, api| async move {
        let id = api.open_demo_ws("/demo/ws/echo").await;
        api.wait_state(&id, "open").await;
        let path = format!("/api/connections/{id}/export");
        let reply = api.post("/api/downloads", &json!({ "path": path })).await;
        assert_eq!(reply.status, 201, "{}", reply.text());
        let url = reply.json()["url"].as_str().expect("url").to_owned();
        assert!(url.starts_with("/api/downloads/"), "{url}");
        assert!(
            !url.contains(&server.token),
            "the link carries the token: {url}"
        );

        // No token on the GET: the id is the secret.
        let first = Reply::read(http().get(api.url(&url)).send().await.expect("GET")).await;
        assert_eq!(first.status, 200, "{}", first.text());
        assert!(
            first.text().contains(r#""kind":"open""#),
            "{}",
            first.text()
        );
        let again = Reply::read(http().get(api.url(&url)).send().await.expect("GET")).await;
        again.assert_error(410, "gone");
        let made_up = api.url(&format!("/api/downloads/{}", "ab".repeat(32)));
        Reply::read(http().get(made_up).send().await.expect("GET"))
            .await
            .assert_error(410, "gone");

        // A chart too; and from another site's page, not even a fresh link works.
        let reply = api
            .post(
                "/api/downloads",
                &json!({ "path": format!("/api/chart.svg?conns={id}") }),
            )
            .await;
        let url = reply.json()["url"].as_str().expect("url").to_owned();
        let foreign = http()
            .get(api.url(&url))
            .header("origin", "https://evil.example")
            .send()
            .await
            .expect("GET");
        Reply::read(foreign).await.assert_error(403, "bad_origin");
        let svg = Reply::read(http().get(api.url(&url)).send().await.expect("GET")).await;
        assert_eq!(svg.header("content-type"), Some("image/svg+xml"));

        // Links are only made for the token's holder, and only for exports and charts.
        let no_token = http()
            .post(api.url("/api/downloads"))
            .header("content-type", "application/json")
            .body(json!({ "path": path }).to_string())
            .send()
            .await
            .expect("POST");
        Reply::read(no_token)
            .await
            .assert_error(401, "unauthorized");
        for bad in [
            "/api/live",
            "/api/connections",
            "/api/downloads/x",
            "/demo/ws/ticker",
        ] {
            api.post("/api/downloads", &json!({ "path": bad }))
                .await
                .assert_error(400, "bad_request");
        }
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// The demo endpoints
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn the_demos_refuse_other_sites_pages_and_take_the_app_and_non_browsers() {
    with_server(|server, _| async move {
        let port = server.addr.port();
        let ws = format!("ws://{}/demo/ws/ticker?rate=1000000", server.addr);
        let sse = format!("{}/demo/sse/ticker?rate=5&count=1", server.base_url());
        for origin in [
            "https://evil.example",
            "null",
            &format!("http://localhost:{}", port + 1),
        ] {
            let (status, body) = refused_handshake(live_with(&ws, &[("origin", origin)]).await);
            assert_eq!(
                (status, body["code"].as_str()),
                (403, Some("bad_origin")),
                "{origin}"
            );
            assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
            let reply = http()
                .get(&sse)
                .header("origin", origin)
                .send()
                .await
                .expect("GET");
            Reply::read(reply).await.assert_error(403, "bad_origin");
        }
        assert_eq!(server.demo.live(), 0, "no refused demo started");
        let own = format!("http://127.0.0.1:{port}");
        let slow = format!("ws://{}/demo/ws/ticker?rate=5", server.addr);
        for headers in [
            vec![],
            vec![("origin", own.as_str())],
            vec![("origin", "tauri://localhost")],
        ] {
            drop(
                live_with(&slow, &headers)
                    .await
                    .expect("the app's own origin or none"),
            );
        }
        let reply = http()
            .get(&sse)
            .header("origin", &own)
            .send()
            .await
            .expect("GET");
        assert_eq!(reply.status(), 200);
    })
    .await;
}

#[tokio::test]
async fn a_demo_request_above_the_cost_caps_is_refused() {
    with_server(|server, api| async move {
        let too_fast = http()
            .get(api.url("/demo/sse/ticker?rate=1000000&size=1048576"))
            .send()
            .await
            .expect("GET");
        Reply::read(too_fast).await.assert_error(400, "bad_param");
        // Streams beyond the cap get 503 busy, and one is taken again once another ends.
        let url = format!("ws://{}/demo/ws/silent", server.addr);
        let mut open = Vec::new();
        for _ in 0..streamscope_server::demo::MAX_STREAMS {
            open.push(live_with(&url, &[]).await.expect("under the cap"));
        }
        let (status, body) = refused_handshake(live_with(&url, &[]).await);
        assert_eq!((status, body["code"].as_str()), (503, Some("busy")));
        drop(open);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while server.demo.live() >= streamscope_server::demo::MAX_STREAMS {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the demos never noticed the close"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        drop(live_with(&url, &[]).await.expect("room again"));
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Names, and refusals always as {code, message}
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn names_are_bounded_the_same_way_on_open_rename_and_from_the_url() {
    with_server(|server, api| async move {
        let ws = format!("ws://{}/demo/ws/echo", server.addr);
        // A 15 MiB name is refused, not cut: the user typed it and sees why.
        let huge = "n".repeat(15 << 20);
        let reply = api
            .post("/api/connections", &json!({ "url": ws, "name": huge }))
            .await;
        let message = reply.assert_error(400, "bad_request");
        assert!(message.contains("at most 200 characters"), "{message}");
        let reply = api
            .post(
                "/api/connections",
                &json!({ "url": ws, "name": "n".repeat(201) }),
            )
            .await;
        reply.assert_error(400, "bad_request");
        assert_eq!(
            api.get("/api/connections").await.json(),
            json!([]),
            "nothing opened"
        );
        // A name derived from a long URL is cut to the same bound.
        let long = format!("{ws}/{}", "p".repeat(70_000));
        let id = api.open(json!({ "url": long })).await;
        let name = api.view(&id).await["name"]
            .as_str()
            .expect("name")
            .to_owned();
        assert_eq!(name.chars().count(), 200, "{name}");
        assert!(name.ends_with('…'));
        // The chart with it in the legend draws.
        let chart = api.get(&format!("/api/chart.svg?conns={id}")).await;
        assert_eq!(chart.status, 200);
        let reply = api
            .patch(
                &format!("/api/connections/{id}"),
                &json!({ "name": "n".repeat(201) }),
            )
            .await;
        reply.assert_error(400, "bad_request");
    })
    .await;
}

#[tokio::test]
async fn every_refusal_of_the_api_is_json_with_a_code() {
    with_api(|api| async move {
        let get = reqwest::Method::GET;
        let post = reqwest::Method::POST;
        let routes = [
            (get.clone(), "/api/connections/%ff"),
            (reqwest::Method::PATCH, "/api/connections/%ff"),
            (reqwest::Method::DELETE, "/api/connections/%ff"),
            (get.clone(), "/api/connections/%ff/records"),
            (get.clone(), "/api/connections/%ff/export"),
            (post.clone(), "/api/connections/%ff/send"),
            (post.clone(), "/api/connections/%ff/close"),
        ];
        for (method, path) in routes {
            let reply = Reply::read(
                api.request(method.clone(), path)
                    .header("content-type", "application/json")
                    .body(r#"{"name":"x","kind":"text","data":"x"}"#)
                    .send()
                    .await
                    .expect("request"),
            )
            .await;
            reply.assert_error(400, "bad_request");
        }
        // A bad query, a bad body, a wrong method: the same shape.
        api.get("/api/connections/c1/records?from=x")
            .await
            .assert_error(400, "bad_request");
        api.get("/api/chart.svg?window=x")
            .await
            .assert_error(400, "bad_request");
        api.post_raw("/api/connections", "{")
            .await
            .assert_error(400, "bad_request");
        let reply = Reply::read(
            api.request(reqwest::Method::PUT, "/api/connections")
                .send()
                .await
                .expect("PUT"),
        )
        .await;
        reply.assert_error(405, "method_not_allowed");
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// A CA file cannot stall the server
// ---------------------------------------------------------------------------------------

/// A FIFO in a fresh directory; removed with it.
fn fifo() -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!(
        "sscope-sec-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("ca.pem");
    let status = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .expect("mkfifo");
    assert!(status.success());
    (dir, path)
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// A FIFO would hang a reader and `/dev/zero` flood it: a CA file that is not a regular
/// file is refused when the connection is asked for (a stat never blocks), whatever the
/// scheme, and the server goes on answering.
#[tokio::test]
async fn a_fifo_a_device_or_a_directory_as_ca_file_is_refused_up_front() {
    with_server(|server, api| async move {
        let (dir, fifo) = fifo();
        let wss = format!("wss://{}/demo/ws/echo", server.addr);
        let https = format!("https://{}/demo/sse/ticker", server.addr);
        let ws = format!("ws://{}/demo/ws/echo", server.addr);
        for (url, ca) in [
            (&wss, fifo.to_str().expect("utf-8")),
            (&https, fifo.to_str().expect("utf-8")),
            (&ws, fifo.to_str().expect("utf-8")),
            (&wss, "/dev/zero"),
            (&https, "/dev/zero"),
            (&wss, dir.to_str().expect("utf-8")),
        ] {
            let reply = api
                .post(
                    "/api/connections",
                    &json!({ "url": url, "ca_file": ca, "reconnect": false }),
                )
                .await;
            let message = reply.assert_error(400, "bad_request");
            assert!(
                message.contains("ca_file") && message.contains("is not a regular file"),
                "{url} {ca}: {message}"
            );
            assert_eq!(api.get("/api/connections").await.status, 200);
        }
        assert_eq!(
            api.get("/api/connections").await.json(),
            json!([]),
            "nothing was opened"
        );
        let _ = std::fs::remove_dir_all(&dir);
    })
    .await;
}

#[tokio::test]
async fn a_ca_file_over_the_size_bound_is_refused() {
    with_server(|server, api| async move {
        let dir = std::env::temp_dir().join(format!("sscope-sec-big-{}", rand_suffix()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let big = dir.join("big.pem");
        let file = std::fs::File::create(&big).expect("create");
        file.set_len(2 << 20).expect("sparse 2 MiB");
        let id = api
            .open(json!({ "url": format!("wss://{}/x", server.addr), "ca_file": big }))
            .await;
        let records = api
            .wait_records(&id, |r| r.iter().any(|r| r["kind"] == "error"))
            .await;
        let message = records
            .iter()
            .find(|r| r["kind"] == "error")
            .expect("error")["message"]
            .as_str()
            .expect("message")
            .to_owned();
        assert!(message.contains("larger than 1048576 bytes"), "{message}");
        let _ = std::fs::remove_dir_all(&dir);
    })
    .await;
}
