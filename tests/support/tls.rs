//! TLS for the test servers, from the fixed test CA in `fixtures/tls/` (see its README).
//! Also the one listener-side abstraction the servers share: a plain or TLS connection.

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

fn fixture(name: &str) -> PathBuf {
    // The directory cargo runs the test from, at run time: a binary built in another
    // checkout sharing the target directory must not read that checkout's fixtures.
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .join("fixtures/tls")
        .join(name)
}

/// The CA that signed the servers' certificate: what `sscope --ca` is given.
pub fn ca_path() -> PathBuf {
    fixture("ca.pem")
}

/// An acceptor serving `server.pem` (valid for 127.0.0.1 and localhost).
pub fn acceptor() -> TlsAcceptor {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(fixture("server.pem"))
        .expect("reading fixtures/tls/server.pem")
        .collect::<Result<_, _>>()
        .expect("parsing fixtures/tls/server.pem");
    let key = PrivateKeyDer::from_pem_file(fixture("server.key"))
        .expect("reading fixtures/tls/server.key");
    // ring, as the workspace's rustls is built with it; no process-wide default is installed.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("the fixture certificate and key match");
    // The scripted servers speak HTTP/1.1 only; a client offering h2 falls back to it.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    TlsAcceptor::from(Arc::new(config))
}

/// A server-side connection, plain or TLS, so one script runs over either.
pub enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Conn {
    /// Accepts TLS on `tcp` when an acceptor is given. `None` when the handshake fails
    /// (e.g. the client rejected our certificate): nothing left to serve.
    pub async fn accept(tcp: TcpStream, tls: Option<&TlsAcceptor>) -> Option<Conn> {
        // Scripted pauses must reach the client as separate segments.
        let _ = tcp.set_nodelay(true);
        match tls {
            None => Some(Conn::Plain(tcp)),
            Some(acceptor) => acceptor
                .accept(tcp)
                .await
                .ok()
                .map(|s| Conn::Tls(Box::new(s))),
        }
    }

    /// The TCP socket underneath, for socket options such as a zero linger.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(s) => s,
            Conn::Tls(s) => s.get_ref().0,
        }
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
