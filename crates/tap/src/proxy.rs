//! The tap as an HTTP proxy on a loopback port (`HTTP_PROXY`, `HTTPS_PROXY`, a
//! browser's `--proxy-server`). Requests name their own upstream:
//!
//! - an absolute-form `http://host/path` request (or a `ws://` upgrade sent that way) is
//!   relayed and recorded as the reverse tap does, with `http://host` as the upstream;
//! - `CONNECT host:port` to a host the user listed: the proxy answers 200, ends the
//!   app's TLS with a certificate for that host signed by the tap's CA ([`crate::ca`]),
//!   and serves the HTTP inside as the reverse tap does, the upstream `https://host:port`
//!   verified as any connection is;
//! - `CONNECT` to any other host: a byte tunnel, untouched and unread (counted only);
//! - whatever the host, a `CONNECT` inside which the app speaks plain HTTP (a browser
//!   sends `ws://` that way) is read as the reverse tap reads it, to `http://host:port`.
//!   The first byte tells: an HTTP method's letter, or TLS's handshake record (0x16).

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use streamscope_engine::TlsOptions;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use url::Url;

use crate::ca::Ca;
use crate::listen::{Mode, RespBody, Tap, bind, plain, serve};
use crate::{Conns, Ctx, TapError, TapStats};

/// How long a CONNECT waits for the app's first byte before it tunnels unread: clients
/// of HTTP and TLS speak at once; a protocol whose server speaks first must not wait long.
const FIRST_BYTE_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

/// What a proxy is asked to do.
#[derive(Debug, Clone)]
pub struct ProxySpec {
    /// A loopback address; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Hosts whose TLS is ended and read (`CONNECT` to them); any other is tunnelled.
    /// Case-insensitive; a leading `*.` matches every subdomain.
    pub decrypt: Vec<String>,
    /// How upstreams are verified.
    pub tls: TlsOptions,
    /// Signs the leaf certificates; needed when `decrypt` lists any host.
    pub ca: Option<Arc<Ca>>,
}

/// What every request of one proxy shares.
pub(crate) struct ProxyCtx {
    decrypt: Vec<String>,
    ca: Option<Arc<Ca>>,
    tls: TlsOptions,
    conns: Arc<dyn Conns>,
    stats: Arc<TapStats>,
    http: reqwest::Client,
    tasks: TaskTracker,
}

impl ProxyCtx {
    pub(crate) fn decrypts_any(&self) -> bool {
        !self.decrypt.is_empty()
    }

    fn decrypts(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        self.decrypt.iter().any(|d| {
            let d = d.to_ascii_lowercase();
            match d.strip_prefix("*.") {
                Some(suffix) => host.ends_with(&format!(".{suffix}")),
                None => d == host,
            }
        })
    }

    fn ctx_for(&self, upstream: Url) -> Arc<Ctx> {
        Arc::new(Ctx {
            upstream,
            tls: self.tls.clone(),
            conns: self.conns.clone(),
            stats: self.stats.clone(),
            http: self.http.clone(),
        })
    }
}

/// Starts a proxy on `spec.listen` (loopback only), recording into `conns`.
pub async fn start_proxy(
    spec: ProxySpec,
    conns: Arc<dyn Conns>,
    cancel: CancellationToken,
) -> Result<Tap, TapError> {
    if !spec.decrypt.is_empty() && spec.ca.is_none() {
        return Err(TapError::Tls(
            "decrypting hosts needs the tap's CA; none was given".into(),
        ));
    }
    let listener = bind(spec.listen).await?;
    let https: Url = "https://proxy.invalid/"
        .parse()
        .map_err(|e| TapError::Tls(format!("{e}")))?;
    let http = crate::http::client(&https, &spec.tls)
        .await
        .map_err(TapError::Tls)?;
    let stats = Arc::new(TapStats::default());
    let tasks = TaskTracker::new();
    let what = if spec.decrypt.is_empty() {
        "proxy (decrypting no host)".to_owned()
    } else {
        format!("proxy (decrypting {})", spec.decrypt.join(", "))
    };
    let ctx = Arc::new(ProxyCtx {
        decrypt: spec.decrypt,
        ca: spec.ca,
        tls: spec.tls,
        conns,
        stats: stats.clone(),
        http,
        tasks: tasks.clone(),
    });
    Ok(serve(
        listener,
        Mode::Proxy(ctx),
        what,
        stats,
        cancel,
        tasks,
    ))
}

/// One request to the proxy.
pub(crate) async fn route(
    mut req: Request<Incoming>,
    p: Arc<ProxyCtx>,
    peer: SocketAddr,
    cancel: CancellationToken,
) -> Response<RespBody> {
    if req.method() == Method::CONNECT {
        let Some(authority) = req.uri().authority().cloned() else {
            return plain(
                StatusCode::BAD_REQUEST,
                "CONNECT needs host:port as its target",
            );
        };
        let host = authority.host().to_owned();
        let port = authority.port_u16().unwrap_or(443);
        let on_upgrade = hyper::upgrade::on(&mut req);
        let (Ok(plain_origin), Ok(tls_origin)) = (
            Url::parse(&format!("http://{host}:{port}/")),
            Url::parse(&format!("https://{host}:{port}/")),
        ) else {
            return plain(
                StatusCode::BAD_REQUEST,
                &format!("CONNECT {authority}: not a host and port"),
            );
        };
        let tls_config = if p.decrypts(&host) {
            let Some(ca) = p.ca.clone() else {
                return plain(StatusCode::BAD_GATEWAY, "the tap has no CA to decrypt with");
            };
            match ca.server_config(&host) {
                Ok(c) => Some(c),
                Err(e) => return plain(StatusCode::BAD_GATEWAY, &e.to_string()),
            }
        } else {
            None
        };
        let task_p = p.clone();
        p.tasks.spawn(async move {
            let Ok(upgraded) = on_upgrade.await else {
                return;
            };
            let mut app = TokioIo::new(upgraded);
            // What the app speaks inside the tunnel, from its first byte: a browser sends
            // plain `ws://` through CONNECT too, and that is readable whatever the host.
            // A protocol whose server speaks first sends nothing: after a short wait the
            // tunnel opens as it is.
            let mut first = [0u8; 1];
            let n = tokio::select! {
                r = app.read(&mut first) => Some(r),
                () = tokio::time::sleep(FIRST_BYTE_WAIT) => None,
                () = cancel.cancelled() => return,
            };
            let first = match n {
                Some(Ok(1)) => Some(first[0]),
                Some(_) => return,
                None => None,
            };
            let prefixed = Prefixed {
                prefix: first,
                inner: app,
            };
            match (first.unwrap_or(0), tls_config) {
                // An HTTP method: plain HTTP (or a ws:// upgrade) to host:port.
                (b'A'..=b'Z', _) => {
                    let ctx = task_p.ctx_for(plain_origin);
                    serve_decrypted(TokioIo::new(prefixed), ctx, peer, cancel).await;
                }
                // A TLS handshake to a listed host: ended here, with the CA's leaf.
                (0x16, Some(config)) => {
                    let acceptor = tokio_rustls::TlsAcceptor::from(config);
                    match acceptor.accept(prefixed).await {
                        Ok(tls) => {
                            let ctx = task_p.ctx_for(tls_origin);
                            serve_decrypted(TokioIo::new(tls), ctx, peer, cancel).await;
                        }
                        // Most often the app does not trust the tap's CA (yet).
                        Err(_) => {
                            task_p.stats.failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                // Anything else: a tunnel, untouched.
                _ => tunnel(prefixed, &host, port, &task_p.stats, &cancel).await,
            }
        });
        return Response::new(crate::listen::empty());
    }
    let uri = req.uri().clone();
    match (uri.scheme_str(), uri.authority()) {
        (Some("http"), Some(authority)) => match Url::parse(&format!("http://{authority}/")) {
            Ok(upstream) => {
                let ctx = p.ctx_for(upstream);
                crate::listen::route(req, ctx, peer, cancel).await
            }
            Err(e) => plain(
                StatusCode::BAD_REQUEST,
                &format!("{uri} names no host the proxy can reach ({e})"),
            ),
        },
        _ => plain(
            StatusCode::BAD_REQUEST,
            "this is Streamscope's tap proxy: send requests through it (HTTP_PROXY, HTTPS_PROXY or a browser's proxy setting), not to it",
        ),
    }
}

/// Serves the HTTP inside a decrypted CONNECT as the reverse tap serves an app's
/// connection, to the one upstream the CONNECT named. (Not through the listener's
/// `serve_connection`, which would make the proxy's future its own caller.)
async fn serve_decrypted<I>(io: I, ctx: Arc<Ctx>, peer: SocketAddr, cancel: CancellationToken)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let stop = cancel.clone();
    let service = hyper::service::service_fn(move |req| {
        let ctx = ctx.clone();
        let cancel = cancel.clone();
        async move {
            Ok::<_, std::convert::Infallible>(crate::listen::route(req, ctx, peer, cancel).await)
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, service)
        .with_upgrades();
    tokio::select! {
        _ = conn => {}
        () = stop.cancelled() => {}
    }
}

/// Relays bytes between the app and `host:port` as they come, unread.
async fn tunnel(
    mut app: Prefixed<TokioIo<hyper::upgrade::Upgraded>>,
    host: &str,
    port: u16,
    stats: &TapStats,
    cancel: &CancellationToken,
) {
    let timeout = streamscope_engine::conn::DEFAULT_CONNECT_TIMEOUT;
    let mut upstream = match tokio::time::timeout(timeout, TcpStream::connect((host, port))).await {
        Ok(Ok(s)) => s,
        // The app sees its tunnel closed; the count says one failed.
        _ => {
            stats.failed.fetch_add(1, Ordering::Relaxed);
            return;
        }
    };
    stats.passed.fetch_add(1, Ordering::Relaxed);
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut app, &mut upstream) => {}
        () = cancel.cancelled() => {}
    }
}

/// The app's side of a tunnel with the byte already read to tell what it speaks put
/// back in front.
struct Prefixed<T> {
    prefix: Option<u8>,
    inner: T,
}

impl<T: AsyncRead + Unpin> AsyncRead for Prefixed<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if let Some(b) = self.prefix.take() {
            if buf.remaining() > 0 {
                buf.put_slice(&[b]);
                return Poll::Ready(Ok(()));
            }
            self.prefix = Some(b);
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Prefixed<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
