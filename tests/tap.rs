//! `sscope tap` end to end: the built binary between a raw client and a scripted server
//! on 127.0.0.1, its records decoded with this suite's own reading of the contract.

use std::time::Duration;

use streamscope_e2e::run::Live;
use streamscope_e2e::{RawServer, Script, Sscope};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Waits until sscope names the address to point the app at.
async fn tap_address(live: &Live) -> String {
    for _ in 0..200 {
        let err = live.stderr_so_far();
        if let Some(addr) = err
            .split("point the app at ")
            .nth(1)
            .and_then(|at| at.split_whitespace().next())
        {
            return addr.to_owned();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no address on stderr: {}", live.stderr_so_far());
}

#[tokio::test]
async fn sscope_tap_prints_an_apps_event_stream_as_contract_records_and_exits_0_on_ctrl_c() {
    let server = RawServer::start(vec![Script::sse(
        "id: 7\nevent: tick\ndata: one\n\n: note\n\n",
    )])
    .await;
    let mut live = Sscope::new([
        "tap",
        "--listen",
        "127.0.0.1:0",
        "--upstream",
        &server.url(""),
    ])
    .spawn();
    let addr = tap_address(&live).await;
    let mut app = TcpStream::connect(&addr)
        .await
        .expect("the app connects to the tap");
    app.write_all(b"GET /events HTTP/1.1\r\nHost: app\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n")
        .await
        .expect("writes");
    let open = live.expect("meta open").await;
    assert_eq!(open.proto, "sse");
    let event = live.expect("in event").await;
    assert_eq!(event.data.as_deref(), Some("one"));
    assert_eq!(event.id.as_deref(), Some("7"));
    live.expect("in comment").await;
    live.expect("meta end").await;
    let mut seen = Vec::new();
    app.read_to_end(&mut seen).await.expect("the app reads");
    assert!(String::from_utf8_lossy(&seen).contains("data: one"));
    assert_eq!(server.requests()[0].target, "/events");
    live.signal("INT");
    assert_eq!(live.wait().await, 0);
}

#[tokio::test]
async fn sscope_tap_prints_both_directions_of_an_apps_websocket_in_order() {
    use futures_util::{SinkExt, StreamExt};
    use streamscope_e2e::{WsServer, WsStep};
    use tokio_tungstenite::tungstenite::Message;

    let server = WsServer::start(vec![
        WsStep::Text("welcome".into()),
        WsStep::Recv(1),
        WsStep::Close(Some((1000, "bye".into()))),
    ])
    .await;
    let mut live = Sscope::new([
        "tap",
        "--listen",
        "127.0.0.1:0",
        "--upstream",
        &server.url("/chat"),
    ])
    .spawn();
    let addr = tap_address(&live).await;
    let (mut app, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/"))
        .await
        .expect("the app's handshake goes through the tap");
    let first = app.next().await.expect("a message").expect("no error");
    assert_eq!(first, Message::Text("welcome".into()));
    app.send(Message::Text("hello from the app".into()))
        .await
        .expect("sends");
    // The app reads on to the end: tungstenite answers the endpoint's close (and sends
    // the answer) as it reads.
    while let Some(Ok(_)) = app.next().await {}
    live.expect("meta open").await;
    assert_eq!(
        live.expect("in text").await.data.as_deref(),
        Some("welcome")
    );
    let sent = live.expect("out text").await;
    assert_eq!(sent.data.as_deref(), Some("hello from the app"));
    assert_eq!(live.expect("in close").await.code, Some(1000));
    live.expect("out close").await;
    assert_eq!(
        server.received(),
        vec![
            streamscope_e2e::Received::Text("hello from the app".into()),
            streamscope_e2e::Received::Close(Some((1000, "bye".into())))
        ]
    );
    live.signal("INT");
    assert_eq!(live.wait().await, 0);
}
