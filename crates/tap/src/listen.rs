//! The reverse tap's listener: accepts the app's connections on a loopback port and
//! hands each request to the WebSocket relay (`ws.rs`) or the HTTP relay (`http.rs`).
//!
//! hyper speaks HTTP/1.1 with the app (keep-alive, chunked bodies, the upgrade); what
//! crosses after an upgrade is relayed by us byte for byte.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::BodyExt;
use http_body_util::combinators::BoxBody;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::{Conns, Ctx, TapCounts, TapError, TapSpec, TapStats};

/// A response body: what the upstream sent, passed on as it comes.
pub(crate) type RespBody = BoxBody<Bytes, std::io::Error>;

/// A running tap. Dropping it does not stop it; [`Tap::stop`] does.
pub struct Tap {
    addr: SocketAddr,
    /// The upstream URL (reverse tap), or what the proxy decrypts.
    what: String,
    proxy: bool,
    decrypts: bool,
    stats: Arc<TapStats>,
    cancel: CancellationToken,
    tasks: TaskTracker,
}

impl Tap {
    /// Where the app should connect (the port is the one picked when 0 was asked).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The upstream's URL for a reverse tap; for a proxy, `proxy` and the hosts it
    /// decrypts.
    pub fn upstream(&self) -> &str {
        &self.what
    }

    pub fn is_proxy(&self) -> bool {
        self.proxy
    }

    /// A proxy that decrypts some hosts with the tap's CA.
    pub fn decrypts(&self) -> bool {
        self.decrypts
    }

    pub fn counts(&self) -> TapCounts {
        self.stats.snapshot()
    }

    /// Stops accepting and drops every relayed connection's two sides. Their recordings
    /// stay; each ends with a record saying the tap stopped.
    pub async fn stop(&self) {
        self.cancel.cancel();
        self.tasks.close();
        self.tasks.wait().await;
    }

    /// A token that fires when the tap stops.
    pub fn cancelled(&self) -> CancellationToken {
        self.cancel.clone()
    }
}

/// Starts a reverse tap: binds `spec.listen` (loopback only) and relays every accepted
/// connection to `spec.upstream`, recording into `conns`. Stops when `cancel` fires or
/// [`Tap::stop`] is called.
pub async fn start(
    spec: TapSpec,
    conns: Arc<dyn Conns>,
    cancel: CancellationToken,
) -> Result<Tap, TapError> {
    let listener = bind(spec.listen).await?;
    let bound = listener.local_addr().map_err(|e| TapError::Bind {
        addr: spec.listen,
        cause: e.to_string(),
    })?;
    if is_self(&spec.upstream, bound) {
        return Err(TapError::BadUpstream(format!(
            "{} is the tap itself ({bound}): every request would come back to it; give the endpoint's address",
            spec.upstream
        )));
    }
    let http = crate::http::client(&spec.upstream, &spec.tls)
        .await
        .map_err(TapError::Tls)?;
    let stats = Arc::new(TapStats::default());
    let ctx = Arc::new(Ctx {
        upstream: spec.upstream.clone(),
        tls: spec.tls,
        conns,
        stats: stats.clone(),
        http,
    });
    let tasks = TaskTracker::new();
    Ok(serve(
        listener,
        Mode::Reverse(ctx),
        spec.upstream.to_string(),
        stats,
        cancel,
        tasks,
    ))
}

/// Whether `upstream` names the tap's own address: a loopback host at the port it
/// listens on, which would relay each request back to itself until it runs out of
/// sockets.
fn is_self(upstream: &url::Url, bound: SocketAddr) -> bool {
    let loopback = match upstream.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    loopback && upstream.port_or_known_default() == Some(bound.port())
}

/// Binds a loopback address, refusing any other.
pub(crate) async fn bind(listen: SocketAddr) -> Result<TcpListener, TapError> {
    if !listen.ip().is_loopback() {
        return Err(TapError::NotLoopback(listen));
    }
    TcpListener::bind(listen).await.map_err(|e| TapError::Bind {
        addr: listen,
        cause: e.to_string(),
    })
}

/// What the listener does with each request.
#[derive(Clone)]
pub(crate) enum Mode {
    /// Every request goes to one upstream.
    Reverse(Arc<Ctx>),
    /// Requests name their own (absolute-form, CONNECT).
    Proxy(Arc<crate::proxy::ProxyCtx>),
}

/// Accepts the app's connections until `cancel` fires, serving each with HTTP/1.1 and
/// upgrades.
pub(crate) fn serve(
    listener: TcpListener,
    mode: Mode,
    what: String,
    stats: Arc<TapStats>,
    cancel: CancellationToken,
    tasks: TaskTracker,
) -> Tap {
    let addr = listener
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
    let accept_tasks = tasks.clone();
    let accept_cancel = cancel.clone();
    let accept_stats = stats.clone();
    let proxy = matches!(mode, Mode::Proxy(_));
    let decrypts = matches!(&mode, Mode::Proxy(p) if p.decrypts_any());
    tasks.spawn(async move {
        loop {
            let (tcp, peer) = tokio::select! {
                () = accept_cancel.cancelled() => return,
                got = listener.accept() => match got {
                    Ok(got) => got,
                    // Out of descriptors and the like: the next accept may succeed.
                    Err(_) => {
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let _ = tcp.set_nodelay(true);
            accept_stats
                .clients
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let mode = mode.clone();
            let cancel = accept_cancel.clone();
            accept_tasks.spawn(serve_connection(TokioIo::new(tcp), mode, peer, cancel));
        }
    });
    Tap {
        addr,
        what,
        proxy,
        decrypts,
        stats,
        cancel,
        tasks,
    }
}

/// Serves one connection of the app (a TCP connection, or the TLS inside a proxy's
/// CONNECT) until it ends or the tap stops.
pub(crate) async fn serve_connection<I>(
    io: I,
    mode: Mode,
    peer: SocketAddr,
    cancel: CancellationToken,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let stop = cancel.clone();
    let service = service_fn(move |req| {
        let mode = mode.clone();
        let cancel = cancel.clone();
        async move {
            let resp = match mode {
                Mode::Reverse(ctx) => route(req, ctx, peer, cancel).await,
                Mode::Proxy(p) => crate::proxy::route(req, p, peer, cancel).await,
            };
            Ok::<_, Infallible>(resp)
        }
    });
    let conn = http1::Builder::new()
        .serve_connection(io, service)
        .with_upgrades();
    // An app that goes away mid-request is its own business: the relays record what it
    // means for a stream.
    tokio::select! {
        _ = conn => {}
        () = stop.cancelled() => {}
    }
}

pub(crate) async fn route(
    req: Request<Incoming>,
    ctx: Arc<Ctx>,
    peer: SocketAddr,
    cancel: CancellationToken,
) -> Response<RespBody> {
    let path = req
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    if is_ws_upgrade(&req) {
        let target = ctx.target(&path, true);
        crate::ws::relay(req, ctx, peer, target, cancel).await
    } else {
        let target = ctx.target(&path, false);
        crate::http::relay(req, ctx, peer, target, cancel).await
    }
}

fn is_ws_upgrade(req: &Request<Incoming>) -> bool {
    let has = |name: http::header::HeaderName, token: &str| {
        req.headers().get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    req.method() == hyper::Method::GET
        && has(http::header::UPGRADE, "websocket")
        && has(http::header::CONNECTION, "upgrade")
}

/// An empty body: a 101's, or a CONNECT's 200.
pub(crate) fn empty() -> RespBody {
    http_body_util::Empty::new()
        .map_err(|never| match never {})
        .boxed()
}

/// A plain-text answer of the tap's own, for the app: `502` when the upstream could not
/// be reached, with what went wrong.
pub(crate) fn plain(status: StatusCode, message: &str) -> Response<RespBody> {
    let body = http_body_util::Full::new(Bytes::from(format!("streamscope tap: {message}\n")))
        .map_err(|never| match never {})
        .boxed();
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}
