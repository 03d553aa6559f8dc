//! Bytes on the wire, counted where they pass: every TCP connection the server accepts is
//! wrapped in a [`Counted`] stream that adds what it reads and writes to shared counters.
//! A demo request that carries `wire=TAG` in its query has its connection's counters filed
//! under that tag, and `GET /demo/wire/TAG` reports them: the labs' figures for bytes per
//! message come from here, so they count frame headers, masks, chunked encoding, HTTP
//! headers and everything else that crossed the socket, exactly.
//!
//! This module counts; it does not judge. What a figure means is the labs' business.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use axum::Json;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::Uri;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Most tags kept at once; the oldest goes first. A lab uses a handful per run.
pub const MAX_TAGS: usize = 1024;
/// Most connections filed under one tag (a tag names one leg of one lab run).
pub const MAX_CONNS_PER_TAG: usize = 256;
/// Longest tag accepted, in bytes.
pub const MAX_TAG_LEN: usize = 64;

/// What one connection has read and written so far.
#[derive(Debug, Default)]
pub struct Counts {
    read: AtomicU64,
    written: AtomicU64,
}

impl Counts {
    pub fn read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }

    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
}

/// The connection's address as axum's `ConnectInfo` sees it: the peer, and the counters of
/// the stream it came on.
#[derive(Debug, Clone)]
pub struct Wire {
    pub peer: SocketAddr,
    pub counts: Arc<Counts>,
}

/// A stream that counts the bytes that pass through it.
#[derive(Debug)]
pub struct Counted<S> {
    inner: S,
    counts: Arc<Counts>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len().saturating_sub(before);
        self.counts.read.fetch_add(n as u64, Ordering::Relaxed);
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &polled {
            self.counts.written.fetch_add(*n as u64, Ordering::Relaxed);
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = &polled {
            self.counts.written.fetch_add(*n as u64, Ordering::Relaxed);
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A TCP listener whose connections count their bytes; serve it with
/// `into_make_service_with_connect_info::<Wire>()` so handlers can find the counters.
pub struct CountingListener(pub TcpListener);

impl axum::serve::Listener for CountingListener {
    type Io = Counted<TcpStream>;
    type Addr = Wire;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, peer) = axum::serve::Listener::accept(&mut self.0).await;
        let counts = Arc::new(Counts::default());
        (
            Counted {
                inner: io,
                counts: Arc::clone(&counts),
            },
            Wire { peer, counts },
        )
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(Wire {
            peer: self.0.local_addr()?,
            counts: Arc::new(Counts::default()),
        })
    }
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, CountingListener>>
    for Wire
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, CountingListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// One tag's connections and how many requests came under it.
#[derive(Debug, Default)]
struct Tagged {
    conns: Vec<Arc<Counts>>,
    requests: u64,
}

/// The tags and their connections. Clones share it.
#[derive(Debug, Clone, Default)]
pub struct Tags(Arc<Mutex<TagsInner>>);

#[derive(Debug, Default)]
struct TagsInner {
    by_tag: HashMap<String, Tagged>,
    order: VecDeque<String>,
}

/// `GET /demo/wire/TAG`: the totals over the tag's connections.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Distinct TCP connections.
    pub connections: u64,
    /// Requests (an upgrade, a stream, a POST) that carried the tag.
    pub requests: u64,
    /// Bytes the server read from them: what the clients wrote.
    pub read: u64,
    /// Bytes the server wrote to them: what the clients read.
    pub written: u64,
}

impl Tags {
    fn lock(&self) -> MutexGuard<'_, TagsInner> {
        // The map holds only counters: one a panicking holder left behind is still whole.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Files `counts` under `tag` (once per connection) and counts the request.
    pub fn file(&self, tag: &str, counts: &Arc<Counts>) {
        let mut inner = self.lock();
        if !inner.by_tag.contains_key(tag) {
            if inner.order.len() >= MAX_TAGS {
                if let Some(old) = inner.order.pop_front() {
                    inner.by_tag.remove(&old);
                }
            }
            inner.order.push_back(tag.to_owned());
        }
        let entry = inner.by_tag.entry(tag.to_owned()).or_default();
        entry.requests += 1;
        if entry.conns.len() < MAX_CONNS_PER_TAG
            && !entry.conns.iter().any(|c| Arc::ptr_eq(c, counts))
        {
            entry.conns.push(Arc::clone(counts));
        }
    }

    /// The totals of `tag`; all zero for a tag never seen.
    pub fn totals(&self, tag: &str) -> Totals {
        let inner = self.lock();
        let Some(t) = inner.by_tag.get(tag) else {
            return Totals::default();
        };
        Totals {
            connections: t.conns.len() as u64,
            requests: t.requests,
            read: t.conns.iter().map(|c| c.read()).sum(),
            written: t.conns.iter().map(|c| c.written()).sum(),
        }
    }
}

/// Whether a name a client chooses (a wire tag; a lab room or feed, demo/lab.rs) is one it
/// may use: 1 to [`MAX_TAG_LEN`] letters, digits, '-', '_' or '.'.
pub(crate) fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_TAG_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Middleware for the demo routes: files the connection under the query's `wire=TAG` and
/// takes the parameter out, so a demo sees only its own parameters. Without a counting
/// listener underneath (a demo router served on its own) the tag is dropped unfiled.
pub async fn file_tagged(State(tags): State<Tags>, mut req: Request, next: Next) -> Response {
    let Some(query) = req.uri().query() else {
        return next.run(req).await;
    };
    let mut tag = None;
    let mut rest = Vec::new();
    for pair in query.split('&') {
        match pair.strip_prefix("wire=") {
            Some(t) if tag.is_none() => tag = Some(t.to_owned()),
            _ => rest.push(pair),
        }
    }
    let Some(tag) = tag else {
        return next.run(req).await;
    };
    if !is_plain_name(&tag) {
        return crate::demo::DemoError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "bad_param",
            format!("wire: a tag is 1 to {MAX_TAG_LEN} letters, digits, '-', '_' or '.'"),
        )
        .into_response();
    }
    if let Some(ConnectInfo(wire)) = req.extensions().get::<ConnectInfo<Wire>>() {
        tags.file(&tag, &wire.counts);
    }
    let path = req.uri().path().to_owned();
    let rebuilt = if rest.is_empty() {
        path
    } else {
        format!("{path}?{}", rest.join("&"))
    };
    if let Ok(uri) = rebuilt.parse::<Uri>() {
        *req.uri_mut() = uri;
    }
    next.run(req).await
}

/// `GET /demo/wire/{tag}`.
pub async fn totals(State(tags): State<Tags>, Path(tag): Path<String>) -> Json<Totals> {
    Json(tags.totals(&tag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_is_counted_once_however_many_requests_it_carries() {
        let tags = Tags::default();
        let a = Arc::new(Counts::default());
        let b = Arc::new(Counts::default());
        a.read.store(10, Ordering::Relaxed);
        a.written.store(100, Ordering::Relaxed);
        b.read.store(1, Ordering::Relaxed);
        tags.file("t", &a);
        tags.file("t", &a);
        tags.file("t", &b);
        assert_eq!(
            tags.totals("t"),
            Totals {
                connections: 2,
                requests: 3,
                read: 11,
                written: 100
            }
        );
        assert_eq!(tags.totals("other"), Totals::default());
    }

    #[test]
    fn the_oldest_tag_goes_when_there_are_too_many() {
        let tags = Tags::default();
        let c = Arc::new(Counts::default());
        for i in 0..=MAX_TAGS {
            tags.file(&format!("t{i}"), &c);
        }
        assert_eq!(tags.totals("t0").requests, 0);
        assert_eq!(tags.totals(&format!("t{MAX_TAGS}")).requests, 1);
    }

    #[test]
    fn tags_are_short_plain_words() {
        assert!(is_plain_name("lab-1.ws_64"));
        assert!(!is_plain_name(""));
        assert!(!is_plain_name("a b"));
        assert!(!is_plain_name(&"x".repeat(MAX_TAG_LEN + 1)));
    }
}
