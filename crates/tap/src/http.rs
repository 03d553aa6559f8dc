//! The HTTP relay: the app's request goes to the upstream (method, headers, body; `Host`
//! the upstream's), and the answer comes back chunk by chunk as it arrives, never held.
//! An event stream (`200` with `text/event-stream`) is also read by our SSE parser as it
//! passes, so each event is recorded when the app gets it, not when the stream ends.
//! Anything else passes through and is counted, not recorded.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use streamscope_engine::conn::{Emitter, SinkClosed};
use streamscope_engine::{Body, Cause, Command, Dir, Headers, Outcome, Proto};
use streamscope_model::record::Wire;
use streamscope_model::sse::{Item, Limits, Parser};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::listen::{RespBody, plain};
use crate::{Ctx, RelayRun};

/// The largest request body relayed: an SSE request's body (a query, a prompt) is
/// small; a larger upload is refused with 413 rather than held.
const MAX_REQUEST_BODY: usize = 16 << 20;

/// Chunks between the upstream's reader and the app's response. Small: the point is to
/// pass each chunk on at once, and a slow app slows the reading of the upstream.
const CHUNKS_IN_FLIGHT: usize = 16;

/// Headers that belong to one hop, not to the request or response (RFC 9110 §7.6.1).
fn hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
    )
}

/// `text/event-stream`, with any parameters, in any case.
fn is_event_stream(value: Option<&http::HeaderValue>) -> bool {
    value
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("text/event-stream"))
}

/// Builds the client that carries the app's requests to the upstream: TLS verified as
/// for any connection, no redirects followed (the app sees them and follows them through
/// the tap), no decoding (bytes pass as they came).
pub(crate) async fn client(
    upstream: &Url,
    tls: &streamscope_engine::TlsOptions,
) -> Result<reqwest::Client, String> {
    // A plain upstream never reads the CA file: a bad one must not break what does not
    // use it.
    let tls = if matches!(upstream.scheme(), "https" | "wss") {
        tls.clone()
    } else {
        streamscope_engine::TlsOptions {
            ca_file: None,
            ..tls.clone()
        }
    };
    let config = streamscope_engine::tls::client_config(&tls, streamscope_engine::tls::Alpn::Http)
        .await
        .map_err(|e| e.to_string())?;
    let builder = reqwest::Client::builder()
        .tls_backend_preconfigured((*config).clone())
        .connect_timeout(streamscope_engine::conn::DEFAULT_CONNECT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        // Never through HTTP_PROXY / HTTPS_PROXY: the app was pointed at this tap with
        // those, and the tap would send its requests to itself.
        .no_proxy()
        .no_gzip()
        .tcp_nodelay(true);
    builder
        .build()
        .map_err(|e| format!("cannot set up the HTTP client: {e}"))
}

fn headers_of(map: &http::HeaderMap) -> Headers {
    let mut out: Headers = Vec::new();
    for (k, v) in map {
        let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
        match out.iter_mut().find(|(n, _)| n == k.as_str()) {
            Some((_, existing)) => {
                existing.push_str(", ");
                existing.push_str(&value);
            }
            None => out.push((k.as_str().to_owned(), value)),
        }
    }
    out
}

/// Relays one plain HTTP request of the app to `target`.
pub(crate) async fn relay(
    req: Request<Incoming>,
    ctx: Arc<Ctx>,
    peer: SocketAddr,
    target: Url,
    cancel: CancellationToken,
) -> Response<RespBody> {
    let name = ctx.name(peer, &target);
    let asks_stream = req
        .headers()
        .get_all(http::header::ACCEPT)
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.contains("text/event-stream")));
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_REQUEST_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            return plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!(
                    "the request body could not be relayed ({e}); at most {} MiB is",
                    MAX_REQUEST_BODY >> 20
                ),
            );
        }
    };
    let mut headers = http::HeaderMap::new();
    for (k, v) in &parts.headers {
        let n = k.as_str();
        if hop_by_hop(n) || n == "host" || n == "content-length" {
            continue;
        }
        // The event stream is read as it passes: it must come as text, not gzip.
        if asks_stream && n == "accept-encoding" {
            continue;
        }
        headers.append(k.clone(), v.clone());
    }
    let mut request = ctx
        .http
        .request(parts.method.clone(), target.clone())
        .headers(headers);
    if !body.is_empty() {
        request = request.body(body.clone());
    }
    let sent = tokio::select! {
        r = request.send() => r,
        () = cancel.cancelled() => return plain(StatusCode::SERVICE_UNAVAILABLE, "the tap stopped"),
    };
    let resp = match sent {
        Ok(r) => r,
        Err(e) => {
            let message = describe(&e, &target);
            ctx.stats.failed.fetch_add(1, Ordering::Relaxed);
            if asks_stream {
                let cause = if e.is_timeout() {
                    Cause::ConnectTimeout
                } else if e.is_connect() {
                    Cause::Refused
                } else {
                    Cause::TransportLost
                };
                ctx.record_failure(Proto::Sse, &target, name, error(cause, message.clone()));
            }
            return plain(StatusCode::BAD_GATEWAY, &message);
        }
    };
    let status = resp.status();
    let stream =
        status == StatusCode::OK && is_event_stream(resp.headers().get(http::header::CONTENT_TYPE));
    let mut answer = Response::builder().status(status);
    for (k, v) in resp.headers() {
        if hop_by_hop(k.as_str()) || (stream && k == http::header::CONTENT_LENGTH) {
            continue;
        }
        answer = answer.header(k, v);
    }
    let recorded_headers = headers_of(resp.headers());
    if !stream {
        if asks_stream {
            // Asked for a stream and got something else: the client records this as a
            // refusal, and so does the tap; the app gets the answer as it came.
            let (cause, what) = if status == StatusCode::OK {
                (
                    Cause::NotEventStream,
                    "answered 200 but not with Content-Type: text/event-stream",
                )
            } else {
                (Cause::HandshakeRejected, "refused the stream")
            };
            let record = Body::Error {
                message: format!("{target} {what} ({status})"),
                cause: Some(cause),
                status: Some(status.as_u16()),
                headers: Some(recorded_headers),
            };
            ctx.record_failure(Proto::Sse, &target, name, record);
            ctx.stats.recorded.fetch_add(1, Ordering::Relaxed);
        } else {
            ctx.stats.passed.fetch_add(1, Ordering::Relaxed);
        }
        let body = StreamBody::new(
            resp.bytes_stream()
                .map(|r| r.map(Frame::data).map_err(std::io::Error::other)),
        );
        return answer.body(BodyExt::boxed(body)).unwrap_or_else(|e| {
            plain(
                StatusCode::BAD_GATEWAY,
                &format!("bad answer from {target}: {e}"),
            )
        });
    }

    let (tx, rx) = mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(CHUNKS_IN_FLIGHT);
    let open = Body::Open {
        status: status.as_u16(),
        headers: recorded_headers,
        subprotocol: None,
    };
    let run: RelayRun = Box::new(move |mut em, commands, conn_cancel| {
        Box::pin(async move {
            if !body.is_empty() {
                let sent = match std::str::from_utf8(&body) {
                    Ok(text) => Body::Text(text.to_owned()),
                    Err(_) => Body::Binary(body),
                };
                em.emit(Dir::Out, sent).await?;
            }
            em.emit(Dir::Meta, open).await?;
            stream_events(&mut em, resp, tx, commands, conn_cancel, cancel).await
        })
    });
    ctx.conns.open(Proto::Sse, target.to_string(), name, run);
    ctx.stats.recorded.fetch_add(1, Ordering::Relaxed);
    let body = StreamBody::new(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }));
    answer.body(BodyExt::boxed(body)).unwrap_or_else(|e| {
        plain(
            StatusCode::BAD_GATEWAY,
            &format!("bad answer from {target}: {e}"),
        )
    })
}

fn error(cause: Cause, message: String) -> Body {
    Body::Error {
        message,
        cause: Some(cause),
        status: None,
        headers: None,
    }
}

/// The request error in words, with its chain (reqwest's own message is only the
/// outermost layer).
fn describe(e: &reqwest::Error, target: &Url) -> String {
    let mut chain = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        chain.push_str(": ");
        chain.push_str(&s.to_string());
        source = s.source();
    }
    format!("the upstream {target} could not be reached: {chain}")
}

/// Passes the event stream to the app chunk by chunk and records what each chunk
/// completes, until the upstream ends it, the app leaves, or someone closes it.
async fn stream_events(
    em: &mut Emitter,
    resp: reqwest::Response,
    tx: mpsc::Sender<Result<Frame<Bytes>, std::io::Error>>,
    mut commands: mpsc::Receiver<Command>,
    conn_cancel: CancellationToken,
    tap_cancel: CancellationToken,
) -> Result<Outcome, SinkClosed> {
    // The body is relayed as it came, so a compressed stream reaches the parser
    // compressed: say so once rather than record gibberish. (The tap asks for no
    // compression when the app asked for an event stream; a `fetch` may not have.)
    let coding = resp
        .headers()
        .get(http::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty() && v != "identity");
    let mut chunks = resp.bytes_stream();
    let mut parser = Some(Parser::new(Limits::default()));
    if let Some(coding) = coding {
        parser = None;
        em.error(
            Cause::BadRequest,
            format!(
                "the endpoint sent the event stream with Content-Encoding: {coding}; it is relayed as it came, its events not recorded (have the app send Accept-Encoding: identity)"
            ),
        )
        .await?;
    }
    let mut items: Vec<(Item, u64)> = Vec::new();
    let mut commands_open = true;
    loop {
        tokio::select! {
            chunk = chunks.next() => match chunk {
                Some(Ok(bytes)) => {
                    let gone = tx.send(Ok(Frame::data(bytes.clone()))).await.is_err();
                    if let Some(p) = parser.as_mut() {
                        if let Err(e) = p.feed_counted(&bytes, &mut |item, n| items.push((item, n))) {
                            parser = None;
                            emit_items(em, &mut items).await?;
                            em.error(Cause::TooBig, format!("the endpoint's stream could not be read further ({e}); it is still relayed, not recorded")).await?;
                        }
                    }
                    emit_items(em, &mut items).await?;
                    if gone {
                        em.error(Cause::TransportLost, "the app closed the stream before the endpoint ended it").await?;
                        return Ok(Outcome::Failed);
                    }
                }
                Some(Err(e)) => {
                    let message = format!("the endpoint's stream broke: {e}");
                    let _ = tx.send(Err(std::io::Error::other(message.clone()))).await;
                    em.error(Cause::TransportLost, message).await?;
                    return Ok(Outcome::Failed);
                }
                None => {
                    em.emit(Dir::Meta, Body::End).await?;
                    return Ok(Outcome::Completed);
                }
            },
            () = tx.closed() => {
                em.error(Cause::TransportLost, "the app closed the stream before the endpoint ended it").await?;
                return Ok(Outcome::Failed);
            }
            cmd = commands.recv(), if commands_open => match cmd {
                Some(Command::Close { .. }) => {
                    em.error(Cause::TransportLost, "closed from Streamscope: both sides of the relay were disconnected").await?;
                    return Ok(Outcome::Completed);
                }
                Some(_) => {}
                None => commands_open = false,
            },
            () = conn_cancel.cancelled() => return Ok(Outcome::Cancelled),
            () = tap_cancel.cancelled() => {
                em.error(Cause::TransportLost, "the tap stopped: both sides of the relay were disconnected").await?;
                return Ok(Outcome::Failed);
            }
        }
    }
}

async fn emit_items(em: &mut Emitter, items: &mut Vec<(Item, u64)>) -> Result<(), SinkClosed> {
    for (item, n) in items.drain(..) {
        let (dir, body) = match item {
            Item::Event { event, data, id } => (Dir::In, Body::Event { event, data, id }),
            Item::Comment(text) => (Dir::In, Body::Comment(text)),
            Item::Retry(ms) => (Dir::In, Body::Retry { retry_ms: ms }),
        };
        let wire = Wire {
            bytes: n,
            ..Wire::default()
        };
        em.emit_wire(dir, body, wire).await?;
    }
    Ok(())
}
