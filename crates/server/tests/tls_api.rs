//! TLS through the API: a `wss://` peer whose certificate no system root vouches for (the
//! fixture certificate of tests/fixtures/tls, signed by a private CA) fails verification
//! by default and opens with `"insecure": true`, as the CLI's `--insecure` does. The CLI's
//! own TLS rules are in tests/tls.rs and tests/rules.rs.

mod support;

use std::path::PathBuf;
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::json;
use support::{Api, find, has, start, summary, within};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::Message;

fn fixture(name: &str) -> PathBuf {
    // The directory cargo runs the test from, at run time: a binary built in another
    // checkout sharing the target directory must not read that checkout's fixtures.
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .join("../../tests/fixtures/tls")
        .join(name)
}

fn acceptor() -> TlsAcceptor {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(fixture("server.pem"))
        .expect("reading the fixture certificate")
        .collect::<Result<_, _>>()
        .expect("parsing the fixture certificate");
    let key = PrivateKeyDer::from_pem_file(fixture("server.key")).expect("reading the fixture key");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("the fixture certificate and key match");
    TlsAcceptor::from(Arc::new(config))
}

/// A `wss://127.0.0.1:PORT/` peer that greets every client whose TLS handshake succeeds
/// with one text message, then reads until the client goes. Returns the URL and a count
/// of TLS handshakes that failed (the client refused the certificate).
async fn wss_peer() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("wss://{}/feed", listener.local_addr().expect("addr"));
    let refused = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = refused.clone();
    let tls = acceptor();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let tls = tls.clone();
            let counter = counter.clone();
            tokio::spawn(async move {
                let Ok(stream) = tls.accept(tcp).await else {
                    counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    return;
                };
                let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                let _ = ws.send(Message::text("secure")).await;
                while let Some(Ok(_)) = ws.next().await {}
            });
        }
    });
    (url, refused)
}

#[tokio::test]
async fn wss_without_insecure_fails_on_an_untrusted_peer_and_opens_with_it() {
    within(async {
        let server = start().await;
        let api = Api::of(&server);
        let (url, refused) = wss_peer().await;

        let id = api.open(json!({ "url": url })).await;
        // Either outcome ends the wait, so a connection that wrongly opens fails at once.
        let records = api
            .wait_records(&id, |r| has(r, "meta", "error") || has(r, "meta", "open"))
            .await;
        assert!(!has(&records, "meta", "open"), "{}", summary(&records));
        let error = find(&records, "meta", "error").expect("error");
        assert_eq!(error["cause"], "tls_untrusted", "{error}");
        assert_eq!(
            refused.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "the client refused the certificate in the TLS handshake"
        );

        let id = api.open(json!({ "url": url, "insecure": true })).await;
        let records = api.wait_records(&id, |r| has(r, "in", "text")).await;
        let open = find(&records, "meta", "open").expect("open");
        assert_eq!(open["status"], 101, "{open}");
        let text = find(&records, "in", "text").expect("text");
        assert_eq!(text["data"], "secure", "{text}");
        assert!(!has(&records, "meta", "error"), "{}", summary(&records));
    })
    .await;
}
