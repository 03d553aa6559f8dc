//! The tap: another app's WebSocket and SSE traffic, relayed and recorded both ways.
//!
//! A reverse tap listens on a loopback port; the app under debug connects to it instead
//! of its endpoint, and the tap connects to the endpoint (the upstream) for it. Each
//! WebSocket or event stream that passes becomes one connection in the caller's
//! [`Conns`] (the server's session, or the CLI's printer), recorded like any other:
//! `out` is what the app sent, `in` what the endpoint sent. The bytes are relayed as they
//! came; the records are read from them on the side (`ws.rs`, `http.rs`).
//!
//! It owns listening, the mapping of the app's requests onto the upstream, and the
//! bookkeeping of a running tap ([`TapStats`]). Frames and deflate come from the engine
//! (`conn::deflate`), SSE parsing from the model, TLS to the upstream from `engine::tls`.

// What a peer or a user sends reaches this code: no `unwrap()` outside tests (STYLE.md).
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod ca;
mod http;
mod listen;
mod proxy;
mod ws;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use streamscope_engine::conn::{Emitter, SinkClosed, open_relay};
use streamscope_engine::session::Session;
use streamscope_engine::{Body, Command, ConnId, Dir, Outcome, Proto, RecordSink, TlsOptions};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use url::Url;

pub use ca::Ca;
pub use listen::{Tap, start};
pub use proxy::{ProxySpec, start_proxy};

/// What a relay's task runs: given its emitter, its commands and its cancel token, it
/// relays and records until one side ends.
pub type RelayRun = Box<
    dyn FnOnce(
            Emitter,
            mpsc::Receiver<Command>,
            CancellationToken,
        ) -> Pin<Box<dyn Future<Output = Result<Outcome, SinkClosed>> + Send>>
        + Send,
>;

/// Where a tap's connections are recorded.
pub trait Conns: Send + Sync + 'static {
    /// Registers one relayed connection named `name` (shown in listings and legends) for
    /// `url` (the upstream it went to), and starts `run` for it.
    fn open(&self, proto: Proto, url: String, name: String, run: RelayRun) -> ConnId;
}

impl Conns for Session {
    fn open(&self, proto: Proto, url: String, name: String, run: RelayRun) -> ConnId {
        self.open_relay(proto, url, name, run)
    }
}

/// Connections recorded into one record channel, numbered `c1`, `c2` … : `sscope tap`
/// prints them all as they come.
pub struct Printed {
    sink: RecordSink,
    next: AtomicU32,
    cancel: CancellationToken,
    tasks: TaskTracker,
}

impl Printed {
    /// Every connection's records go to `sink`; `cancel` stops them all.
    pub fn new(sink: RecordSink, cancel: CancellationToken) -> Self {
        Printed {
            sink,
            next: AtomicU32::new(1),
            cancel,
            tasks: TaskTracker::new(),
        }
    }

    /// Waits for every relay to end (after the tap stopped accepting).
    pub async fn wait(&self) {
        self.tasks.close();
        self.tasks.wait().await;
    }
}

impl Conns for Printed {
    fn open(&self, proto: Proto, _url: String, _name: String, run: RelayRun) -> ConnId {
        let id = ConnId(self.next.fetch_add(1, Ordering::Relaxed));
        let handle = open_relay(id, proto, self.sink.clone(), self.cancel.child_token(), run);
        self.tasks.spawn(handle.wait());
        id
    }
}

/// What a tap is asked to do.
#[derive(Debug, Clone)]
pub struct TapSpec {
    /// Where to listen: a loopback address only ([`TapError::NotLoopback`]); port 0
    /// picks a free one.
    pub listen: SocketAddr,
    /// The endpoint: `ws`, `wss`, `http` or `https`. Its path is a prefix: the app's
    /// request for `/` goes to it as it is, `/x` to the prefix followed by `/x`.
    pub upstream: Url,
    /// How the upstream's certificate is verified (as for any connection).
    pub tls: TlsOptions,
}

/// A tap that cannot start.
#[derive(Debug, thiserror::Error)]
pub enum TapError {
    #[error("the tap listens on loopback only: {0} is not a loopback address; use 127.0.0.1:PORT")]
    NotLoopback(SocketAddr),
    #[error("upstream {0}")]
    BadUpstream(String),
    #[error("cannot set up TLS to the upstream: {0}")]
    Tls(String),
    #[error("cannot listen on {addr}: {cause}")]
    Bind { addr: SocketAddr, cause: String },
}

/// Checks an upstream URL as typed: an absolute `ws`, `wss`, `http` or `https` URL with
/// a host, no credentials and no fragment.
pub fn parse_upstream(text: &str) -> Result<Url, TapError> {
    let url = Url::parse(text.trim()).map_err(|e| {
        TapError::BadUpstream(format!(
            "{text:?} is not a URL ({e}); give one such as wss://host/path or https://host/events"
        ))
    })?;
    if !matches!(url.scheme(), "ws" | "wss" | "http" | "https") {
        return Err(TapError::BadUpstream(format!(
            "{text:?} has scheme {:?}; use ws, wss, http or https",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(TapError::BadUpstream(format!("{text:?} has no host")));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(TapError::BadUpstream(format!(
            "{text:?} carries credentials; the app's own headers go through the tap as they are"
        )));
    }
    if url.fragment().is_some() {
        return Err(TapError::BadUpstream(format!(
            "{text:?} has a fragment (#…), which is never sent; leave it out"
        )));
    }
    Ok(url)
}

/// Counts of a running tap, for listings and the notice in the UI.
#[derive(Debug, Default)]
pub struct TapStats {
    /// TCP connections the app opened to the tap.
    pub clients: AtomicU64,
    /// WebSockets and event streams recorded as connections.
    pub recorded: AtomicU64,
    /// Other requests passed through and counted, not recorded.
    pub passed: AtomicU64,
    /// Requests the upstream could not answer (the app got a 502).
    pub failed: AtomicU64,
}

impl TapStats {
    pub fn snapshot(&self) -> TapCounts {
        TapCounts {
            clients: self.clients.load(Ordering::Relaxed),
            recorded: self.recorded.load(Ordering::Relaxed),
            passed: self.passed.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
        }
    }
}

/// [`TapStats`] at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TapCounts {
    pub clients: u64,
    pub recorded: u64,
    pub passed: u64,
    pub failed: u64,
}

/// What every relay of one tap shares.
pub(crate) struct Ctx {
    pub(crate) upstream: Url,
    pub(crate) tls: TlsOptions,
    pub(crate) conns: Arc<dyn Conns>,
    pub(crate) stats: Arc<TapStats>,
    /// Carries plain HTTP requests to the upstream.
    pub(crate) http: reqwest::Client,
}

impl Ctx {
    /// Records a relay that ended before it began (an upstream that refused or answered
    /// with an error) as a connection of one record, `error`.
    pub(crate) fn record_failure(&self, proto: Proto, target: &Url, name: String, error: Body) {
        let run: RelayRun = Box::new(move |mut em, _, _| {
            Box::pin(async move {
                em.emit(Dir::Meta, error).await?;
                Ok(Outcome::Failed)
            })
        });
        self.conns.open(proto, target.to_string(), name, run);
    }

    /// The upstream URL for the app's request target `path_and_query`, with the scheme
    /// for `ws` (true) or HTTP.
    pub(crate) fn target(&self, path_and_query: &str, ws: bool) -> Url {
        target(&self.upstream, path_and_query, ws)
    }

    /// The name a relayed connection is listed under: who, and to what.
    pub(crate) fn name(&self, peer: SocketAddr, target: &Url) -> String {
        format!("tap {peer} → {target}")
    }
}

/// The upstream URL for the app's request target `path_and_query`, with the scheme for
/// a WebSocket (`ws`) or for HTTP.
fn target(upstream: &Url, path_and_query: &str, ws: bool) -> Url {
    {
        let mut url = upstream.clone();
        let secure = matches!(url.scheme(), "wss" | "https");
        let scheme = match (ws, secure) {
            (true, true) => "wss",
            (true, false) => "ws",
            (false, true) => "https",
            (false, false) => "http",
        };
        // Between these four schemes `set_scheme` cannot fail; the URL stays as it was
        // if it ever did.
        let _ = url.set_scheme(scheme);
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path_and_query, None),
        };
        if path != "/" && !path.is_empty() {
            let base = url.path().trim_end_matches('/').to_owned();
            url.set_path(&format!("{base}{path}"));
        }
        if query.is_some() || path != "/" {
            url.set_query(query);
        }
        url
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Up(Url);
    impl Up {
        fn target(&self, path: &str, ws: bool) -> Url {
            target(&self.0, path, ws)
        }
    }
    fn ctx(upstream: &str) -> Up {
        Up(parse_upstream(upstream).expect("valid"))
    }

    #[test]
    fn the_upstream_path_is_a_prefix_and_root_means_the_upstream_itself() {
        let c = ctx("wss://example.com/socket?room=1");
        assert_eq!(
            c.target("/", true).as_str(),
            "wss://example.com/socket?room=1"
        );
        assert_eq!(
            c.target("/x?y=2", true).as_str(),
            "wss://example.com/socket/x?y=2"
        );
        assert_eq!(
            c.target("/events", false).as_str(),
            "https://example.com/socket/events"
        );
        let plain = ctx("http://127.0.0.1:8080/");
        assert_eq!(
            plain.target("/ws?a", true).as_str(),
            "ws://127.0.0.1:8080/ws?a"
        );
    }

    #[test]
    fn upstreams_are_checked_as_typed() {
        for bad in [
            "example.com",
            "ftp://example.com/",
            "ws://user:pw@example.com/",
            "http://example.com/#x",
        ] {
            assert!(parse_upstream(bad).is_err(), "{bad}");
        }
        assert!(parse_upstream(" wss://example.com/s ").is_ok());
    }
}
