//! What a test server saw of a client's request: method, target, headers and body, so tests
//! can assert what `sscope` sent (`Last-Event-ID`, `Accept`, auth, a POST body). Reading a
//! request off a raw socket lives here too; answering it is the servers' business.

use tokio::io::{AsyncRead, AsyncReadExt};

/// One request as received. Header names keep the client's spelling; look-ups ignore case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    pub method: String,
    /// The request target as sent, e.g. `/events?x=1`.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RequestHead {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header, in the order sent.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A request head bigger than this is not one `sscope` would send; stop reading.
const MAX_HEAD: usize = 64 * 1024;

/// Reads one HTTP/1.1 request (head, then a `Content-Length` or chunked body).
/// `None` when the peer closed or sent something that is not a request: the caller just
/// drops the connection, since a broken client is not the server's test to fail.
pub async fn read_request<S: AsyncRead + Unpin>(stream: &mut S) -> Option<RequestHead> {
    let mut buf = Vec::with_capacity(1024);
    let head_end = loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            break end + 4;
        }
        if buf.len() > MAX_HEAD {
            return None;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let mut slots = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Request::new(&mut slots);
    match parsed.parse(&buf[..head_end]) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return None,
    }
    let mut head = RequestHead {
        method: parsed.method?.to_string(),
        target: parsed.path?.to_string(),
        headers: parsed
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_string(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect(),
        body: Vec::new(),
    };
    let mut rest = buf[head_end..].to_vec();
    if let Some(len) = head.header("content-length") {
        let len: usize = len.trim().parse().ok()?;
        while rest.len() < len {
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            rest.extend_from_slice(&chunk[..n]);
        }
        rest.truncate(len);
        head.body = rest;
    } else if head
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        head.body = read_chunked(stream, rest).await?;
    }
    Some(head)
}

/// Decodes a chunked body whose first bytes are already in `pending`.
async fn read_chunked<S: AsyncRead + Unpin>(
    stream: &mut S,
    mut pending: Vec<u8>,
) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        // Chunk-size line, then the chunk and its CRLF; a 0 size ends the body (trailers unused).
        let line_end = loop {
            if let Some(end) = find(&pending, b"\r\n") {
                break end;
            }
            fill(stream, &mut pending).await?;
        };
        let size_text = String::from_utf8_lossy(&pending[..line_end]).into_owned();
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        pending.drain(..line_end + 2);
        if size == 0 {
            return Some(body);
        }
        while pending.len() < size + 2 {
            fill(stream, &mut pending).await?;
        }
        body.extend_from_slice(&pending[..size]);
        pending.drain(..size + 2);
    }
}

async fn fill<S: AsyncRead + Unpin>(stream: &mut S, pending: &mut Vec<u8>) -> Option<()> {
    let mut chunk = [0u8; 4096];
    let n = stream.read(&mut chunk).await.ok()?;
    if n == 0 || pending.len() > MAX_HEAD * 16 {
        return None;
    }
    pending.extend_from_slice(&chunk[..n]);
    Some(())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
