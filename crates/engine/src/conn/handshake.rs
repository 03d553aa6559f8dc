//! The WebSocket opening handshake (RFC 6455 section 4), done here rather than inside
//! tungstenite so that every failure keeps the response that came (status, headers,
//! the first line of the body) and so that the rules are the RFC's, not stricter: a
//! server may accept none of the offered subprotocols.
//!
//! It owns TCP and TLS setup, the request bytes, reading and checking the response
//! head, including the extensions the server agreed to (only what we offered). Framing
//! after the handshake is [`super::ws_wire`]'s.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use url::Url;

use super::deflate;
use super::error_body;
use crate::tls::{self, Alpn};
use streamscope_model::Cause;
use streamscope_model::record::{Body, Handshake, Headers};

/// The largest response head accepted: real servers send a few hundred bytes; this
/// stops a peer that streams headers forever.
const MAX_HEAD: usize = 64 << 10;

/// Headers accepted in a response head.
const MAX_HEADERS: usize = 128;

/// A connection's byte stream: TCP, or TLS over it.
pub type Transport = MaybeTlsStream<TcpStream>;

/// A completed handshake: the stream, bytes read past the head (the first frames), and
/// the `open` record.
pub(crate) struct Opened {
    pub stream: Transport,
    pub leftover: Vec<u8>,
    pub open: Body,
    /// permessage-deflate as agreed, when we offered it and the server accepted.
    pub deflate: Option<deflate::Params>,
    /// The handshake's sizes and agreed extensions, for the `open` record.
    pub handshake: Handshake,
}

fn error(cause: Cause, message: String) -> Body {
    error_body(cause, message)
}

fn error_with(cause: Cause, message: String, status: u16, headers: Headers) -> Body {
    Body::Error {
        message,
        cause: Some(cause),
        status: Some(status),
        headers: Some(headers),
    }
}

/// The cause of a failed TCP connect: nobody listening is the common slip and gets its
/// own code; anything else (unreachable, reset) is a lost transport.
pub(crate) fn connect_cause(e: &std::io::Error) -> Cause {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => Cause::Refused,
        std::io::ErrorKind::TimedOut => Cause::ConnectTimeout,
        _ => Cause::TransportLost,
    }
}

/// The next error in `e`'s chain. An `io::Error` that wraps another error reports the
/// wrapped error's *source* as its own, skipping the wrapped error itself (where TLS
/// libraries keep the rustls error, sometimes in a second `io::Error`): step into it.
pub(crate) fn next_in_chain<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a (dyn std::error::Error + 'static)> {
    match e
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
    {
        Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
        None => e.source(),
    }
}

/// The cause of a failed TLS handshake: a certificate that does not verify is
/// `tls_untrusted` (the user can add a CA or skip verification); any other rustls error
/// is `tls_other`; `None` when the chain holds no rustls error.
pub(crate) fn tls_cause(e: &(dyn std::error::Error + 'static)) -> Option<Cause> {
    let mut source = Some(e);
    while let Some(s) = source {
        if let Some(r) = s.downcast_ref::<rustls::Error>() {
            return Some(match r {
                rustls::Error::InvalidCertificate(_) => Cause::TlsUntrusted,
                _ => Cause::TlsOther,
            });
        }
        source = next_in_chain(s);
    }
    None
}

/// Connects to `url` and performs the opening handshake. Returns the `error` record's
/// body when anything fails.
pub(crate) async fn open(
    url: &Url,
    headers: &[(String, String)],
    subprotocols: &[String],
    offer_deflate: bool,
    tls_opts: &tls::TlsOptions,
) -> Result<Opened, Body> {
    let mut stream = connect(url, tls_opts, Alpn::None).await?;

    let key = base64::engine::general_purpose::STANDARD.encode(rand_key());
    let request = request_bytes(url, &key, headers, subprotocols, offer_deflate);
    let send_failed = |e: std::io::Error| {
        error(
            Cause::TransportLost,
            format!("connection to {url} failed while sending the handshake: {e}"),
        )
    };
    stream.write_all(&request).await.map_err(send_failed)?;
    stream.flush().await.map_err(send_failed)?;

    let ResponseHead {
        status,
        reason,
        headers,
        head_len,
        leftover,
    } = read_head(&mut stream, url, "the handshake").await?;
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };

    if status != 101 {
        let chunked = get("transfer-encoding").is_some_and(|te| {
            te.rsplit(',')
                .next()
                .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"))
        });
        let line = first_body_line(&mut stream, leftover, get("content-length"), chunked).await;
        let mut message = format!("handshake rejected: {status} {reason} from {url}")
            .trim_end()
            .to_owned();
        if let Some(line) = line {
            message.push_str(": ");
            message.push_str(&line);
        }
        return Err(error_with(
            Cause::HandshakeRejected,
            message,
            status,
            headers,
        ));
    }
    let fail = |why: String| {
        Err(error_with(
            Cause::ProtocolViolation,
            format!("{url} answered 101 but {why}"),
            status,
            headers.clone(),
        ))
    };
    if !get("upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket")) {
        return fail("without `Upgrade: websocket`".into());
    }
    if !get("connection").is_some_and(|v| {
        v.split(',')
            .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
    }) {
        return fail("without `Connection: Upgrade`".into());
    }
    let expected = derive_accept_key(key.as_bytes());
    match get("sec-websocket-accept") {
        Some(v) if v.trim() == expected => {}
        Some(v) => {
            return fail(format!(
                "with Sec-WebSocket-Accept {v:?} where {expected:?} was due"
            ));
        }
        None => return fail("without Sec-WebSocket-Accept".into()),
    }
    // RFC 6455 4.1: a subprotocol the client did not offer fails the connection; no
    // subprotocol at all is allowed (the server accepted none).
    let subprotocol = get("sec-websocket-protocol").map(|p| p.trim().to_owned());
    if let Some(p) = &subprotocol {
        if !subprotocols.iter().any(|o| o == p) {
            let offered = if subprotocols.is_empty() {
                "none was offered".to_owned()
            } else {
                format!("only {} were offered", subprotocols.join(", "))
            };
            return fail(format!("chose subprotocol {p:?}; {offered}"));
        }
    }
    // RFC 6455 4.1: an extension the client did not ask for fails the connection; so
    // does an answer to our offer that RFC 7692 does not allow.
    let extensions = get("sec-websocket-extensions")
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_owned);
    let deflate = match &extensions {
        None => None,
        Some(ext) if !offer_deflate => {
            return fail(format!(
                "enabled extension {ext:?}, which was not requested"
            ));
        }
        Some(ext) => match deflate::accept(ext) {
            Ok(params) => Some(params),
            Err(why) => return fail(why),
        },
    };
    Ok(Opened {
        stream,
        leftover,
        open: Body::Open {
            status,
            headers,
            subprotocol,
        },
        deflate,
        handshake: Handshake {
            request_size: request.len() as u64,
            response_size: head_len as u64,
            extensions,
        },
    })
}

/// A response head as read: status, reason, headers (lower-case names), its size, and
/// the bytes read past it.
pub(crate) struct ResponseHead {
    pub status: u16,
    pub reason: String,
    pub headers: Headers,
    pub head_len: usize,
    pub leftover: Vec<u8>,
}

/// Reads one HTTP/1.1 response head from `stream`, bounded by [`MAX_HEAD`] bytes and
/// [`MAX_HEADERS`] headers. `what` names the exchange in messages ("the handshake").
pub(crate) async fn read_head(
    stream: &mut Transport,
    url: &Url,
    what: &str,
) -> Result<ResponseHead, Body> {
    let mut buf = Vec::with_capacity(1024);
    let head_len = loop {
        if let Some(end) = find_head_end(&buf) {
            break end;
        }
        if buf.len() > MAX_HEAD {
            return Err(error(
                Cause::TooBig,
                format!(
                    "{url} sent a response head longer than {} KiB",
                    MAX_HEAD >> 10
                ),
            ));
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.map_err(|e| {
            error(
                Cause::TransportLost,
                format!("connection to {url} failed during {what}: {e}"),
            )
        })?;
        if n == 0 {
            let happened = if buf.is_empty() {
                format!("closed the connection without answering {what}")
            } else {
                "closed the connection in the middle of its response".to_owned()
            };
            return Err(error(Cause::TransportLost, format!("{url} {happened}")));
        }
        buf.extend_from_slice(&chunk[..n]);
    };

    let mut parsed_headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut parsed_headers);
    match response.parse(&buf[..head_len]) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) | Err(_) => {
            let first =
                String::from_utf8_lossy(buf.split(|&b| b == b'\n').next().unwrap_or_default())
                    .trim()
                    .chars()
                    .take(80)
                    .collect::<String>();
            return Err(error(
                Cause::ProtocolViolation,
                format!("{url} did not answer with HTTP (first line {first:?})"),
            ));
        }
    }
    let status = response.code.unwrap_or(0);
    let reason = response.reason.unwrap_or("").to_owned();
    let headers = collect(response.headers);
    let leftover = buf[head_len..].to_vec();
    Ok(ResponseHead {
        status,
        reason,
        headers,
        head_len,
        leftover,
    })
}

/// Opens the transport to `url`'s host: TCP, then TLS for `wss://` and `https://`,
/// verified as `tls_opts` says. Also what the tap dials its upstream with. Returns the
/// `error` record's body when anything fails, with the cause told apart (no name, nobody
/// listening, an untrusted certificate).
pub async fn connect(url: &Url, tls_opts: &tls::TlsOptions, alpn: Alpn) -> Result<Transport, Body> {
    let tcp = tcp_connect(url).await?;
    if !matches!(url.scheme(), "wss" | "https") {
        return Ok(MaybeTlsStream::Plain(tcp));
    }
    let config = tls::client_config(tls_opts, alpn)
        .await
        .map_err(|e| error(Cause::TlsOther, e.to_string()))?;
    secure(tcp, url, config).await
}

/// Resolves `url`'s host and connects over TCP.
async fn tcp_connect(url: &Url) -> Result<TcpStream, Body> {
    let host = url
        .host_str()
        .ok_or_else(|| error(Cause::BadRequest, format!("{url} has no host")))?;
    let port = url
        .port_or_known_default()
        .ok_or_else(|| error(Cause::BadRequest, format!("{url} has no port")))?;
    let addr = format!("{host}:{port}");
    // Resolve first, so that a name that does not resolve is told apart from an
    // address where nobody listens.
    let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host(&addr)
        .await
        .map_err(|e| error(Cause::Dns, format!("cannot resolve {host}: {e}")))?
        .collect();
    let tcp = TcpStream::connect(&addrs[..]).await.map_err(|e| {
        error(
            connect_cause(&e),
            format!("could not connect to {addr}: {e}"),
        )
    })?;
    // Interactive traffic: small frames (pings, commands) go out at once.
    let _ = tcp.set_nodelay(true);
    Ok(tcp)
}

/// Opens the transport to `url`'s host with a TLS configuration built beforehand (used
/// only for `https://` and `wss://`).
pub(crate) async fn connect_with(
    url: &Url,
    config: &Arc<rustls::ClientConfig>,
) -> Result<Transport, Body> {
    let tcp = tcp_connect(url).await?;
    if !matches!(url.scheme(), "wss" | "https") {
        return Ok(MaybeTlsStream::Plain(tcp));
    }
    secure(tcp, url, config.clone()).await
}

/// TLS over `tcp`, verified as `config` says, for `url`'s host.
async fn secure(
    tcp: TcpStream,
    url: &Url,
    config: Arc<rustls::ClientConfig>,
) -> Result<Transport, Body> {
    let host = url.host_str().unwrap_or_default();
    let addr = format!("{host}:{}", url.port_or_known_default().unwrap_or(0));
    let bare = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let name = rustls::pki_types::ServerName::try_from(bare).map_err(|_| {
        error(
            Cause::BadRequest,
            format!("{host} is not a valid TLS server name"),
        )
    })?;
    let tls = TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| {
            error(
                tls_cause(&e).unwrap_or(Cause::TlsOther),
                format!("TLS handshake with {addr} failed: {e}"),
            )
        })?;
    Ok(MaybeTlsStream::Rustls(tls))
}

fn rand_key() -> [u8; 16] {
    rand::random()
}

/// The request: the URL's path and query as given, our handshake headers, then the
/// user's. A user header replaces ours of the same name (say `Host` or `Origin`).
pub(crate) fn request_bytes(
    url: &Url,
    key: &str,
    extra: &[(String, String)],
    subprotocols: &[String],
    offer_deflate: bool,
) -> Vec<u8> {
    let mut target = url.path().to_owned();
    if target.is_empty() {
        target.push('/');
    }
    if let Some(q) = url.query() {
        target.push('?');
        target.push_str(q);
    }
    let host = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => String::new(),
    };
    let mut ours: Vec<(String, String)> = vec![
        ("Host".into(), host),
        ("Upgrade".into(), "websocket".into()),
        ("Connection".into(), "Upgrade".into()),
        ("Sec-WebSocket-Key".into(), key.to_owned()),
        ("Sec-WebSocket-Version".into(), "13".into()),
    ];
    if !subprotocols.is_empty() {
        ours.push(("Sec-WebSocket-Protocol".into(), subprotocols.join(", ")));
    }
    if offer_deflate {
        ours.push(("Sec-WebSocket-Extensions".into(), deflate::OFFER.into()));
    }
    if !url.username().is_empty() {
        let user = percent_decode(url.username());
        let pass = url.password().map(percent_decode).unwrap_or_default();
        let cred = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        ours.push(("Authorization".into(), format!("Basic {cred}")));
    }
    ours.retain(|(name, _)| !extra.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)));
    let mut out = format!("GET {target} HTTP/1.1\r\n").into_bytes();
    for (name, value) in ours.iter().chain(extra) {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

/// Lower-case names, repeats joined with `, `, first-seen order.
fn collect(raw: &[httparse::Header<'_>]) -> Headers {
    let mut out: Headers = Vec::new();
    for h in raw {
        let name = h.name.to_ascii_lowercase();
        let value = String::from_utf8_lossy(h.value).trim().to_owned();
        match out.iter_mut().find(|(k, _)| *k == name) {
            Some((_, v)) => {
                v.push_str(", ");
                v.push_str(&value);
            }
            None => out.push((name, value)),
        }
    }
    out
}

/// The most of a refusal's body read for its first line: enough for any error page's
/// opening line, and a firm stop for a body that never ends.
const MAX_BODY_PEEK: usize = 4096;

/// The first non-empty line of a refusal's body, read briefly and in bounds. A chunked
/// body (`Transfer-Encoding: chunked`) is decoded first, so its chunk-size lines are
/// not mistaken for its text.
async fn first_body_line(
    stream: &mut Transport,
    mut raw: Vec<u8>,
    content_length: Option<&str>,
    chunked: bool,
) -> Option<String> {
    let want = content_length
        .filter(|_| !chunked)
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(MAX_BODY_PEEK)
        .min(MAX_BODY_PEEK);
    let body_of = |raw: &[u8]| -> (Vec<u8>, bool) {
        if chunked {
            dechunk(raw)
        } else {
            let body = raw[..raw.len().min(want)].to_vec();
            let done = body.len() >= want;
            (body, done)
        }
    };
    let read = async {
        loop {
            let (body, done) = body_of(&raw);
            if done || raw.len() >= MAX_BODY_PEEK || first_line(&body, false).is_some() {
                break;
            }
            let mut chunk = [0u8; 1024];
            let room = (MAX_BODY_PEEK - raw.len()).min(chunk.len());
            match stream.read(&mut chunk[..room]).await {
                Ok(0) | Err(_) => break,
                Ok(n) => raw.extend_from_slice(&chunk[..n]),
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), read).await;
    let (body, _) = body_of(&raw);
    first_line(&body, true)
}

/// The first non-empty line of `body`, trimmed and cut to 200 characters. Unless `at_end`,
/// only a line that is known complete (a line end follows it) counts.
pub(crate) fn first_line(body: &[u8], at_end: bool) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let mut rest: &str = &text;
    loop {
        let (line, next) = match rest.find('\n') {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None if at_end => (rest, None),
            None => return None,
        };
        let line = line.trim();
        if !line.is_empty() {
            return Some(line.chars().take(200).collect());
        }
        rest = next?;
    }
}

/// Decodes as much of a chunked body (RFC 9112 section 7.1) as `raw` holds: the data
/// of its chunks, and whether the last chunk was seen. Chunk extensions and trailers
/// are skipped; framing that does not parse ends the decoding where it stands.
fn dechunk(raw: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        let Ok(httparse::Status::Complete((used, size))) = httparse::parse_chunk_size(&raw[at..])
        else {
            return (out, false);
        };
        if size == 0 {
            return (out, true);
        }
        at += used;
        let have = raw.len() - at;
        let take = usize::try_from(size).map_or(have, |s| s.min(have));
        out.extend_from_slice(&raw[at..at + take]);
        at += take;
        if (take as u64) < size {
            return (out, false);
        }
        // Each chunk's data ends with CRLF.
        match raw.get(at..at + 2) {
            Some(b"\r\n") => at += 2,
            _ => return (out, false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_carries_path_query_and_replaceable_headers() {
        let url = Url::parse("ws://example.com:8080/a/b?x=1&y=%20").expect("url");
        let req = request_bytes(
            &url,
            "KEY",
            &[
                ("Origin".into(), "http://o".into()),
                ("host".into(), "other".into()),
            ],
            &["chat".into(), "v2".into()],
            true,
        );
        let text = String::from_utf8(req).expect("ascii");
        assert!(
            text.starts_with("GET /a/b?x=1&y=%20 HTTP/1.1\r\n"),
            "{text}"
        );
        assert!(text.contains("Sec-WebSocket-Protocol: chat, v2\r\n"));
        assert!(
            text.contains(
                "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
            )
        );
        assert!(text.contains("host: other\r\n"));
        assert!(!text.contains("Host: example.com"));
        assert!(text.ends_with("\r\n\r\n"));
    }

    #[test]
    fn a_chunked_body_is_read_without_its_framing() {
        let raw = b"22\r\n\r\nnot a websocket endpoint, sorry\n\r\n5;ext=1\r\nmore\n\r\n0\r\n\r\n";
        let (body, done) = dechunk(raw);
        assert!(done);
        assert_eq!(
            first_line(&body, true).as_deref(),
            Some("not a websocket endpoint, sorry")
        );
        // Cut anywhere, the decoded part is a prefix of the whole.
        let (whole, _) = dechunk(raw);
        for cut in 0..raw.len() {
            let (part, _) = dechunk(&raw[..cut]);
            assert!(whole.starts_with(&part), "cut at {cut}");
        }
        // Framing that does not parse gives what came before it.
        assert_eq!(dechunk(b"zz\r\nhello").0, b"");
    }

    #[test]
    fn the_first_line_skips_blank_lines_and_waits_for_a_line_end() {
        assert_eq!(
            first_line(b"\r\n\n  hi there \r\nx", false).as_deref(),
            Some("hi there")
        );
        assert_eq!(first_line(b"\n\npartial", false), None);
        assert_eq!(first_line(b"\n\npartial", true).as_deref(), Some("partial"));
        assert_eq!(first_line(b"", true), None);
    }

    #[test]
    fn repeated_headers_are_joined() {
        let raw = [
            httparse::Header {
                name: "Set-Cookie",
                value: b"a=1",
            },
            httparse::Header {
                name: "X",
                value: b" y ",
            },
            httparse::Header {
                name: "set-cookie",
                value: b"b=2",
            },
        ];
        assert_eq!(
            collect(&raw),
            vec![
                ("set-cookie".to_owned(), "a=1, b=2".to_owned()),
                ("x".to_owned(), "y".to_owned())
            ]
        );
    }
}
