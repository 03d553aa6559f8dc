//! The WebSocket opening handshake (RFC 6455 section 4), done here rather than inside
//! tungstenite so that every failure keeps the response that came (status, headers,
//! the first line of the body) and so that the rules are the RFC's, not stricter: a
//! server may accept none of the offered subprotocols.
//!
//! It owns TCP and TLS setup, the request bytes, reading and checking the response
//! head. Framing after the handshake is tungstenite's.

use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use url::Url;

use crate::tls::{self, Alpn, TLS_HINT};
use streamscope_model::record::{Body, Headers};

/// The largest response head accepted: real servers send a few hundred bytes; this
/// stops a peer that streams headers forever.
const MAX_HEAD: usize = 64 << 10;

/// Headers accepted in a response head.
const MAX_HEADERS: usize = 128;

pub(crate) type Transport = MaybeTlsStream<TcpStream>;

/// A completed handshake: the stream, bytes read past the head (the first frames), and
/// the `open` record.
pub(crate) struct Opened {
    pub stream: Transport,
    pub leftover: Vec<u8>,
    pub open: Body,
}

fn error(message: String) -> Body {
    Body::Error {
        message,
        status: None,
        headers: None,
    }
}

fn error_with(message: String, status: u16, headers: Headers) -> Body {
    Body::Error {
        message,
        status: Some(status),
        headers: Some(headers),
    }
}

/// Connects to `url` and performs the opening handshake. Returns the `error` record's
/// body when anything fails.
pub(crate) async fn open(
    url: &Url,
    headers: &[(String, String)],
    subprotocols: &[String],
    tls_opts: &tls::TlsOptions,
) -> Result<Opened, Body> {
    let host = url
        .host_str()
        .ok_or_else(|| error(format!("{url} has no host")))?;
    let port = url
        .port_or_known_default()
        .ok_or_else(|| error(format!("{url} has no port")))?;
    let addr = format!("{host}:{port}");
    let tcp = TcpStream::connect(&addr)
        .await
        .map_err(|e| error(format!("could not connect to {addr}: {e}")))?;
    // Interactive traffic: small frames (pings, commands) go out at once.
    let _ = tcp.set_nodelay(true);

    let mut stream = if url.scheme() == "wss" {
        let config = tls::client_config(tls_opts, Alpn::None)
            .await
            .map_err(|e| error(e.to_string()))?;
        let bare = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let name = rustls::pki_types::ServerName::try_from(bare)
            .map_err(|_| error(format!("{host} is not a valid TLS server name")))?;
        let tls = TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|e| error(format!("TLS handshake with {addr} failed: {e}; {TLS_HINT}")))?;
        MaybeTlsStream::Rustls(tls)
    } else {
        MaybeTlsStream::Plain(tcp)
    };

    let key = base64::engine::general_purpose::STANDARD.encode(rand_key());
    let request = request_bytes(url, &key, headers, subprotocols);
    stream.write_all(&request).await.map_err(|e| {
        error(format!(
            "connection to {url} failed while sending the handshake: {e}"
        ))
    })?;
    stream.flush().await.map_err(|e| {
        error(format!(
            "connection to {url} failed while sending the handshake: {e}"
        ))
    })?;

    let mut buf = Vec::with_capacity(1024);
    let head_len = loop {
        if let Some(end) = find_head_end(&buf) {
            break end;
        }
        if buf.len() > MAX_HEAD {
            return Err(error(format!(
                "{url} sent a response head longer than {} KiB",
                MAX_HEAD >> 10
            )));
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.map_err(|e| {
            error(format!(
                "connection to {url} failed during the handshake: {e}"
            ))
        })?;
        if n == 0 {
            let what = if buf.is_empty() {
                "closed the connection without answering the handshake"
            } else {
                "closed the connection in the middle of its response"
            };
            return Err(error(format!("{url} {what}")));
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
            return Err(error(format!(
                "{url} did not answer with HTTP (first line {first:?}): is it a WebSocket server?"
            )));
        }
    }
    let status = response.code.unwrap_or(0);
    let reason = response.reason.unwrap_or("").to_owned();
    let headers = collect(response.headers);
    let leftover = buf[head_len..].to_vec();
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };

    if status != 101 {
        let line = first_body_line(&mut stream, leftover, get("content-length")).await;
        let mut message = format!("handshake rejected: {status} {reason} from {url}")
            .trim_end()
            .to_owned();
        if let Some(line) = line {
            message.push_str(": ");
            message.push_str(&line);
        }
        return Err(error_with(message, status, headers));
    }
    let fail = |why: String| {
        Err(error_with(
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
    // RFC 6455 4.1: an extension the client did not ask for fails the connection.
    if let Some(ext) = get("sec-websocket-extensions").filter(|e| !e.trim().is_empty()) {
        return fail(format!(
            "enabled extension {ext:?}, which was not requested"
        ));
    }
    Ok(Opened {
        stream,
        leftover,
        open: Body::Open {
            status,
            headers,
            subprotocol,
        },
    })
}

fn rand_key() -> [u8; 16] {
    rand::random()
}

/// The request: the URL's path and query as given, our handshake headers, then the
/// user's. A user header replaces ours of the same name (say `Host` or `Origin`).
fn request_bytes(
    url: &Url,
    key: &str,
    extra: &[(String, String)],
    subprotocols: &[String],
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

fn percent_decode(s: &str) -> String {
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

/// The first non-empty line of a refusal's body, read briefly and in bounds.
async fn first_body_line(
    stream: &mut Transport,
    mut body: Vec<u8>,
    content_length: Option<&str>,
) -> Option<String> {
    const MAX: usize = 4096;
    let want = content_length
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(MAX)
        .min(MAX);
    let read = async {
        while body.len() < want && !body.contains(&b'\n') {
            let mut chunk = [0u8; 1024];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => body.extend_from_slice(&chunk[..n]),
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), read).await;
    let text = String::from_utf8_lossy(&body[..body.len().min(want)]).into_owned();
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(|l| l.chars().take(200).collect())
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
        );
        let text = String::from_utf8(req).expect("ascii");
        assert!(
            text.starts_with("GET /a/b?x=1&y=%20 HTTP/1.1\r\n"),
            "{text}"
        );
        assert!(text.contains("Sec-WebSocket-Protocol: chat, v2\r\n"));
        assert!(text.contains("host: other\r\n"));
        assert!(!text.contains("Host: example.com"));
        assert!(text.ends_with("\r\n\r\n"));
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
