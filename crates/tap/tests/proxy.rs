//! The tap as an HTTP proxy between real peers on 127.0.0.1: an app that speaks
//! `CONNECT` and TLS (rustls, trusting only the tap's generated CA), a TLS endpoint whose
//! certificate a private CA signed (given to the proxy as the engine's CA option), a
//! plain HTTP endpoint reached by an absolute-form request, and a raw TCP peer behind a
//! tunnel. Every server listens on port 0 and stops with its test.

mod support;
use support::{DEADLINE, accept_for, next, read_head};

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::pki_types::pem::PemObject;
use streamscope_engine::{Body, Dir, Proto, Record, TlsOptions};
use streamscope_tap::{Ca, Printed, ProxySpec, Tap};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A directory of this test's own, removed on drop.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "sscope-proxy-{tag}-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

async fn proxy(
    decrypt: &[&str],
    ca: Option<Arc<Ca>>,
    tls: TlsOptions,
) -> (Tap, mpsc::Receiver<Record>) {
    let (tx, rx) = mpsc::channel(1024);
    let cancel = CancellationToken::new();
    let spec = ProxySpec {
        listen: "127.0.0.1:0".parse().expect("addr"),
        decrypt: decrypt.iter().map(|s| (*s).to_owned()).collect(),
        tls,
        ca,
    };
    let tap =
        streamscope_tap::start_proxy(spec, Arc::new(Printed::new(tx, cancel.clone())), cancel)
            .await
            .expect("the proxy starts");
    (tap, rx)
}

/// Reads until `needle` has come; returns all read.
async fn read_until<S: AsyncRead + Unpin>(s: &mut S, needle: &str) -> String {
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains(needle) {
        let mut chunk = [0u8; 1024];
        let n = s.read(&mut chunk).await.expect("reads");
        assert!(
            n > 0,
            "ended before {needle:?}: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&chunk[..n]);
    }
    String::from_utf8_lossy(&seen).into_owned()
}

/// An event stream served once on `io`: two events, then held open until dropped.
async fn serve_events<S: AsyncRead + AsyncWrite + Unpin>(mut io: S) {
    let head = read_head(&mut io).await;
    assert!(head.starts_with("GET /events HTTP/1.1"), "{head}");
    let _ = io
        .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\nid: 1\ndata: over tls\n\ndata: two\n\n")
        .await;
    let _ = io.flush().await;
    tokio::time::sleep(Duration::from_secs(30)).await;
}

fn client_trusting(ca_pem: &str) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.expect("a certificate")).expect("added");
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

#[tokio::test]
async fn a_listed_host_is_decrypted_with_the_taps_ca_and_its_stream_recorded() {
    tokio::time::timeout(DEADLINE, async {
        // The endpoint: TLS for "localhost" from a CA of its own, which the proxy is told
        // to trust, as a user gives a private CA.
        let endpoint_dir = TempDir::new("endpoint");
        let endpoint_ca = Ca::load_or_create(&endpoint_dir.0).expect("endpoint CA");
        let endpoint_tls =
            tokio_rustls::TlsAcceptor::from(endpoint_ca.server_config("localhost").expect("leaf"));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.expect("accept");
            let tls = endpoint_tls
                .accept(tcp)
                .await
                .expect("the proxy's TLS to the endpoint");
            serve_events(tls).await;
        });

        let tap_dir = TempDir::new("tap");
        let ca = Arc::new(Ca::load_or_create(&tap_dir.0).expect("tap CA"));
        let (tap, mut rx) = proxy(
            &["LocalHost"],
            Some(ca.clone()),
            TlsOptions {
                insecure: false,
                ca_file: Some(endpoint_ca.cert_path()),
            },
        )
        .await;

        // The app: CONNECT, then TLS trusting only the tap's CA, then the request.
        let mut tcp = TcpStream::connect(tap.addr())
            .await
            .expect("connect to the proxy");
        tcp.write_all(
            format!("CONNECT localhost:{port} HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n")
                .as_bytes(),
        )
        .await
        .expect("writes");
        let head = read_head(&mut tcp).await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        let mut tls = client_trusting(ca.cert_pem())
            .connect(ServerName::try_from("localhost").expect("name"), tcp)
            .await
            .expect("the app trusts the leaf the tap's CA signed for localhost");
        tls.write_all(
            b"GET /events HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n",
        )
        .await
        .expect("writes");
        let seen = read_until(&mut tls, "data: two\n\n").await;
        assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");

        let open = next(&mut rx).await;
        assert_eq!((open.proto, open.kind()), (Proto::Sse, "open"));
        let first = next(&mut rx).await;
        assert_eq!(
            (first.dir, first.body),
            (
                Dir::In,
                Body::Event {
                    event: "message".into(),
                    data: "over tls".into(),
                    id: Some("1".into())
                }
            )
        );
        assert_eq!(next(&mut rx).await.kind(), "event");
        assert_eq!(tap.counts().recorded, 1);
        tap.stop().await;
    })
    .await
    .expect("within the deadline");
}

#[tokio::test]
async fn a_host_not_listed_is_tunnelled_untouched_and_not_recorded() {
    tokio::time::timeout(DEADLINE, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            let mut buf = [0u8; 64];
            let n = s.read(&mut buf).await.expect("reads");
            // Not HTTP, not TLS: whatever bytes come, back they go, reversed.
            let mut back = buf[..n].to_vec();
            back.reverse();
            s.write_all(&back).await.expect("writes");
        });
        let tap_dir = TempDir::new("tunnel");
        let ca = Arc::new(Ca::load_or_create(&tap_dir.0).expect("tap CA"));
        let (tap, mut rx) = proxy(&["other.example"], Some(ca), TlsOptions::default()).await;
        let mut tcp = TcpStream::connect(tap.addr()).await.expect("connect");
        tcp.write_all(
            format!("CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n")
                .as_bytes(),
        )
        .await
        .expect("writes");
        let head = read_head(&mut tcp).await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        tcp.write_all(&[1, 2, 3, 0xff]).await.expect("writes");
        let mut back = [0u8; 4];
        tcp.read_exact(&mut back).await.expect("reads");
        assert_eq!(back, [0xff, 3, 2, 1]);
        assert_eq!(tap.counts().passed, 1);
        assert!(rx.try_recv().is_err(), "nothing recorded");
        tap.stop().await;
    })
    .await
    .expect("within the deadline");
}

#[tokio::test]
async fn decrypting_without_a_ca_is_refused_at_start() {
    let (tx, _rx) = mpsc::channel(1);
    let spec = ProxySpec {
        listen: "127.0.0.1:0".parse().expect("addr"),
        decrypt: vec!["example.com".into()],
        tls: TlsOptions::default(),
        ca: None,
    };
    let err = streamscope_tap::start_proxy(
        spec,
        Arc::new(Printed::new(tx, CancellationToken::new())),
        CancellationToken::new(),
    )
    .await
    .err()
    .expect("refused");
    assert!(err.to_string().contains("CA"), "{err}");
}

#[tokio::test]
async fn an_absolute_form_request_is_relayed_and_its_stream_recorded() {
    tokio::time::timeout(DEADLINE, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.expect("accept");
            serve_events(tcp).await;
        });
        let (tap, mut rx) = proxy(&[], None, TlsOptions::default()).await;
        let mut tcp = TcpStream::connect(tap.addr()).await.expect("connect");
        tcp.write_all(
            format!("GET http://127.0.0.1:{port}/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\nProxy-Connection: keep-alive\r\n\r\n").as_bytes(),
        )
        .await
        .expect("writes");
        let seen = read_until(&mut tcp, "data: two\n\n").await;
        assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
        let kinds = [next(&mut rx).await, next(&mut rx).await, next(&mut rx).await]
            .iter()
            .map(|r| r.kind())
            .collect::<Vec<_>>();
        assert_eq!(kinds, ["open", "event", "event"]);
        // A request to the proxy itself, not through it, is told what the proxy is.
        let mut wrong = TcpStream::connect(tap.addr()).await.expect("connect");
        wrong.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("writes");
        let head = read_head(&mut wrong).await;
        assert!(head.starts_with("HTTP/1.1 400"), "{head}");
        tap.stop().await;
    })
    .await
    .expect("within the deadline");
}

#[tokio::test]
async fn a_plain_websocket_inside_connect_is_read_as_a_browser_sends_ws_through_a_proxy() {
    tokio::time::timeout(DEADLINE, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            let accept = accept_for(&read_head(&mut s).await);
            let mut answer = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            )
            .into_bytes();
            answer.extend_from_slice(&[0x81, 2, b'h', b'i']);
            s.write_all(&answer).await.expect("writes");
            tokio::time::sleep(Duration::from_secs(30)).await;
        });
        // Not a host to decrypt: still read, since what goes inside is plain.
        let (tap, mut rx) = proxy(&[], None, TlsOptions::default()).await;
        let mut tcp = TcpStream::connect(tap.addr()).await.expect("connect");
        tcp.write_all(format!("CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").as_bytes())
            .await
            .expect("writes");
        assert!(read_head(&mut tcp).await.starts_with("HTTP/1.1 200"));
        tcp.write_all(format!("GET /feed HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").as_bytes())
            .await
            .expect("writes");
        assert!(read_head(&mut tcp).await.starts_with("HTTP/1.1 101"));
        let mut frame = [0u8; 4];
        tcp.read_exact(&mut frame).await.expect("the endpoint's frame");
        assert_eq!(frame, [0x81, 2, b'h', b'i']);
        let open = next(&mut rx).await;
        assert_eq!((open.proto, open.kind()), (Proto::Ws, "open"));
        assert_eq!(next(&mut rx).await.body, Body::Text("hi".into()));
        assert_eq!(tap.counts().passed, 0, "read, not tunnelled");
        tap.stop().await;
    })
    .await
    .expect("within the deadline");
}

#[tokio::test]
async fn a_tunnel_to_a_server_that_speaks_first_opens_without_the_app_speaking() {
    tokio::time::timeout(DEADLINE, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            s.write_all(b"220 greetings\r\n").await.expect("writes");
            tokio::time::sleep(Duration::from_secs(30)).await;
        });
        let (tap, mut rx) = proxy(&[], None, TlsOptions::default()).await;
        let mut tcp = TcpStream::connect(tap.addr()).await.expect("connect");
        tcp.write_all(
            format!("CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n")
                .as_bytes(),
        )
        .await
        .expect("writes");
        assert!(read_head(&mut tcp).await.starts_with("HTTP/1.1 200"));
        let seen = read_until(&mut tcp, "220 greetings\r\n").await;
        assert_eq!(seen, "220 greetings\r\n");
        assert!(rx.try_recv().is_err(), "nothing recorded");
        tap.stop().await;
    })
    .await
    .expect("within the deadline");
}
