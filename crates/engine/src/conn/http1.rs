//! The SSE client's HTTP/1.1: the request head, and the response body read by its own
//! framing (RFC 9112 section 6): `Transfer-Encoding: chunked`, `Content-Length`, or to
//! the close of the connection.
//!
//! The chunked decoder is ours so that it can tell which bytes on the wire were framing
//! (chunk-size lines, extensions, the CRLF after each chunk's data, the last chunk and
//! trailers): each piece of data it hands on says how many framing bytes came before it.
//! Everything it reads is bounded; framing that does not parse is an error that says what
//! was wrong, never a guess.

use tokio::io::AsyncReadExt;

use super::handshake::Transport;
use streamscope_model::record::Headers;

/// The longest chunk-size line (the size, its extensions and the CRLF). Real servers
/// send a few bytes; extensions are rare and short.
pub(crate) const MAX_CHUNK_LINE: usize = 4096;

/// The most trailer bytes after the last chunk.
pub(crate) const MAX_TRAILERS: usize = 64 << 10;

/// Bytes asked of the transport per read.
const READ_SIZE: usize = 16 << 10;

/// Why a response body could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BodyError {
    /// The framing is not HTTP/1.1's (a bad chunk size, no CRLF after a chunk).
    #[error("{0}")]
    Framing(String),
    /// The connection closed before the body's framing said it was complete.
    #[error("the connection closed {0}")]
    Truncated(&'static str),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A run of body data and the framing bytes that came on the wire just before it.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Piece {
    pub framing: u64,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading a chunk-size line (size, extensions, CRLF).
    Size,
    /// Inside a chunk's data, with this many bytes to go.
    Data(u64),
    /// After a chunk's data: its CR, then its LF.
    DataCr,
    DataLf,
    /// After the last chunk: trailer lines until an empty one.
    Trailer,
    Done,
}

/// The `Transfer-Encoding: chunked` decoder: a state machine over bytes as they come,
/// however the transport splits them.
#[derive(Debug)]
pub(crate) struct Dechunker {
    state: State,
    /// The line being read (size line or trailer line).
    line: Vec<u8>,
    trailers: usize,
    /// Framing bytes read since the last piece of data.
    pending: u64,
}

impl Default for Dechunker {
    fn default() -> Self {
        Dechunker {
            state: State::Size,
            line: Vec::new(),
            trailers: 0,
            pending: 0,
        }
    }
}

impl Dechunker {
    /// Whether the last chunk and the trailers' end were read.
    pub(crate) fn done(&self) -> bool {
        self.state == State::Done
    }

    /// Framing read after the last piece of data (at the end: the last chunk and the
    /// trailers), which no piece carries.
    #[cfg(test)]
    fn unclaimed(&self) -> u64 {
        self.pending
    }

    /// Decodes `input`, appending its data to `out` as pieces. Bytes after the end of the
    /// body are ignored.
    pub(crate) fn feed(&mut self, mut input: &[u8], out: &mut Vec<Piece>) -> Result<(), String> {
        while !input.is_empty() {
            match self.state {
                State::Done => return Ok(()),
                State::Size | State::Trailer => {
                    let limit = if self.state == State::Size {
                        MAX_CHUNK_LINE
                    } else {
                        MAX_TRAILERS - self.trailers.min(MAX_TRAILERS)
                    };
                    let (taken, complete) = match memchr_lf(input) {
                        Some(i) => (i + 1, true),
                        None => (input.len(), false),
                    };
                    if self.line.len() + taken > limit {
                        return Err(if self.state == State::Size {
                            format!(
                                "a chunk-size line is longer than {MAX_CHUNK_LINE} bytes (malformed chunked framing)"
                            )
                        } else {
                            format!(
                                "the trailers after the last chunk are longer than {} KiB",
                                MAX_TRAILERS >> 10
                            )
                        });
                    }
                    self.line.extend_from_slice(&input[..taken]);
                    self.pending += taken as u64;
                    input = &input[taken..];
                    if !complete {
                        continue;
                    }
                    let line = std::mem::take(&mut self.line);
                    if self.state == State::Size {
                        let size = parse_size_line(&line)?;
                        self.state = if size == 0 {
                            State::Trailer
                        } else {
                            State::Data(size)
                        };
                    } else {
                        self.trailers += line.len();
                        if !line.ends_with(b"\r\n") {
                            return Err(format!(
                                "a trailer line ends without CRLF: {}",
                                shown(&line)
                            ));
                        }
                        if line.len() == 2 {
                            self.state = State::Done;
                        }
                    }
                }
                State::Data(left) => {
                    let take = usize::try_from(left).map_or(input.len(), |l| l.min(input.len()));
                    out.push(Piece {
                        framing: std::mem::take(&mut self.pending),
                        data: input[..take].to_vec(),
                    });
                    input = &input[take..];
                    let left = left - take as u64;
                    self.state = if left == 0 {
                        State::DataCr
                    } else {
                        State::Data(left)
                    };
                }
                State::DataCr | State::DataLf => {
                    let want = if self.state == State::DataCr {
                        b'\r'
                    } else {
                        b'\n'
                    };
                    if input[0] != want {
                        return Err(format!(
                            "a chunk's data is not followed by CRLF (found {:?}): the chunk size does not match its data",
                            char::from(input[0])
                        ));
                    }
                    self.pending += 1;
                    input = &input[1..];
                    self.state = if self.state == State::DataCr {
                        State::DataLf
                    } else {
                        State::Size
                    };
                }
            }
        }
        Ok(())
    }
}

fn memchr_lf(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

/// A line for a message: lossy text, cut short.
fn shown(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    let cut: String = text.chars().take(40).collect();
    format!("{cut:?}")
}

/// The size of a chunk-size line (RFC 9112 section 7.1): hex digits, then optional
/// whitespace and `;` extensions, then CRLF.
fn parse_size_line(line: &[u8]) -> Result<u64, String> {
    let bad = |why: &str| {
        format!(
            "malformed chunk-size line {}: {why} (the body is not valid chunked framing)",
            shown(line)
        )
    };
    let Some(body) = line.strip_suffix(b"\r\n") else {
        return Err(bad("it does not end with CRLF"));
    };
    let digits = body.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(bad("it does not start with a hexadecimal size"));
    }
    // Leading zeros are allowed; the value must fit in 64 bits.
    let significant = body[..digits].iter().skip_while(|&&b| b == b'0').count();
    if significant > 16 {
        return Err(bad("the size does not fit in 64 bits"));
    }
    let mut size: u64 = 0;
    for &b in &body[..digits] {
        let v = char::from(b).to_digit(16).map_or(0, u64::from);
        size = (size << 4) | v;
    }
    let rest = &body[digits..];
    let rest_trimmed: &[u8] = {
        let start = rest
            .iter()
            .position(|b| *b != b' ' && *b != b'\t')
            .unwrap_or(rest.len());
        &rest[start..]
    };
    if !(rest_trimmed.is_empty() || rest_trimmed[0] == b';') {
        return Err(bad(
            "the size is followed by something other than `;` extensions",
        ));
    }
    if rest_trimmed.iter().any(|&b| b == b'\r' || b == b'\n') {
        return Err(bad("it holds a bare CR or LF"));
    }
    Ok(size)
}

/// How a response body ends (RFC 9112 section 6.3).
#[derive(Debug)]
pub(crate) enum Framing {
    Chunked(Dechunker),
    Length {
        left: u64,
    },
    /// Read until the server closes the connection.
    Close,
}

impl Framing {
    /// The framing a response head declares; `Err` for a `Content-Length` that is not a
    /// number (or repeats with different values), which leaves the body's end unknown.
    pub(crate) fn of(status: u16, headers: &Headers) -> Result<Framing, String> {
        let get = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        if status == 204 || status == 304 || (100..200).contains(&status) {
            return Ok(Framing::Length { left: 0 });
        }
        if let Some(te) = get("transfer-encoding") {
            let chunked = te
                .rsplit(',')
                .next()
                .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
            return Ok(if chunked {
                Framing::Chunked(Dechunker::default())
            } else {
                Framing::Close
            });
        }
        match get("content-length") {
            None => Ok(Framing::Close),
            Some(v) => {
                let mut values = v.split(',').map(str::trim);
                let first = values.next().unwrap_or_default();
                let n = first.parse::<u64>().map_err(|_| {
                    format!("the response's Content-Length {v:?} is not a number of bytes")
                })?;
                if values.any(|other| other != first) {
                    return Err(format!(
                        "the response has conflicting Content-Length values {v:?}"
                    ));
                }
                Ok(Framing::Length { left: n })
            }
        }
    }

    pub(crate) fn is_chunked(&self) -> bool {
        matches!(self, Framing::Chunked(_))
    }
}

/// Reads a response body from its transport by its framing.
pub(crate) struct BodyReader {
    stream: Transport,
    /// Bytes read with the head, not yet decoded.
    leftover: Vec<u8>,
    framing: Framing,
    buf: Box<[u8]>,
}

impl BodyReader {
    pub(crate) fn new(stream: Transport, leftover: Vec<u8>, framing: Framing) -> BodyReader {
        BodyReader {
            stream,
            leftover,
            framing,
            buf: vec![0u8; READ_SIZE].into_boxed_slice(),
        }
    }

    pub(crate) fn is_chunked(&self) -> bool {
        self.framing.is_chunked()
    }

    fn ended(&self) -> bool {
        match &self.framing {
            Framing::Chunked(d) => d.done(),
            Framing::Length { left } => *left == 0,
            Framing::Close => false,
        }
    }

    /// The next pieces of the body: `None` at its end. A read may give only framing
    /// (pieces empty, or one piece with no data). Cancel-safe: state changes only after
    /// the one await, the transport's read.
    pub(crate) async fn next(&mut self) -> Result<Option<Vec<Piece>>, BodyError> {
        if self.ended() {
            return Ok(None);
        }
        let leftover = std::mem::take(&mut self.leftover);
        let input: &[u8] = if leftover.is_empty() {
            let n = self.stream.read(&mut self.buf).await?;
            if n == 0 {
                return match &self.framing {
                    Framing::Close => Ok(None),
                    Framing::Chunked(_) => {
                        Err(BodyError::Truncated("before the last chunk of its body"))
                    }
                    Framing::Length { .. } => Err(BodyError::Truncated(
                        "before the end of its body (Content-Length)",
                    )),
                };
            }
            &self.buf[..n]
        } else {
            &leftover
        };
        // Each byte is copied once, from the read buffer into the piece it belongs to.
        let mut pieces = Vec::new();
        match &mut self.framing {
            Framing::Chunked(d) => {
                let before = d.pending;
                d.feed(input, &mut pieces).map_err(BodyError::Framing)?;
                if pieces.is_empty() && d.pending > before {
                    // Framing alone: say so, with no data, so the caller sees bytes came.
                    pieces.push(Piece {
                        framing: std::mem::take(&mut d.pending),
                        data: Vec::new(),
                    });
                }
            }
            Framing::Length { left } => {
                let take = usize::try_from(*left).map_or(input.len(), |l| l.min(input.len()));
                *left -= take as u64;
                pieces.push(Piece {
                    framing: 0,
                    data: input[..take].to_vec(),
                });
            }
            Framing::Close => pieces.push(Piece {
                framing: 0,
                data: input.to_vec(),
            }),
        }
        Ok(Some(pieces))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(wire: &[u8], step: usize) -> Result<(Vec<Piece>, Dechunker), String> {
        let mut d = Dechunker::default();
        let mut out = Vec::new();
        for c in wire.chunks(step) {
            d.feed(c, &mut out)?;
        }
        Ok((out, d))
    }

    #[test]
    fn chunks_decode_to_their_data_and_framing_whatever_the_split() {
        let wire = b"5;name=x\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n";
        for step in 1..wire.len() {
            let (pieces, d) = decode(wire, step).expect("valid");
            let data: Vec<u8> = pieces.iter().flat_map(|p| p.data.clone()).collect();
            assert_eq!(data, b"hello world", "step {step}");
            let framing: u64 = pieces.iter().map(|p| p.framing).sum::<u64>() + d.unclaimed();
            assert_eq!(framing + 11, wire.len() as u64, "step {step}");
            assert!(d.done(), "step {step}");
            // The framing before "hello" is its size line; before " world", the CRLF
            // after "hello" and its own size line.
            let first_world = pieces
                .iter()
                .position(|p| p.data.first() == Some(&b' '))
                .expect("world");
            assert_eq!(pieces[0].framing, 10, "step {step}");
            let before_world: u64 = pieces[1..=first_world].iter().map(|p| p.framing).sum();
            assert_eq!(before_world, 2 + 3, "step {step}");
            assert_eq!(d.unclaimed(), 2 + 3 + 14 + 2, "step {step}");
        }
    }

    #[test]
    fn malformed_framing_is_an_error_that_says_what() {
        for (wire, says) in [
            (&b"zz\r\nhello\r\n"[..], "hexadecimal size"),
            (b"5\r\nhelloXX", "not followed by CRLF"),
            (b"5 junk\r\nhello\r\n", "other than `;`"),
            (b"5\nhello\r\n", "does not end with CRLF"),
            (b"11111111111111111\r\n", "64 bits"),
        ] {
            let err = decode(wire, 3).expect_err("malformed");
            assert!(err.contains(says), "{err}");
        }
        let long = [b"1;".as_slice(), &[b'x'; MAX_CHUNK_LINE]].concat();
        let err = decode(&long, 100).expect_err("too long");
        assert!(err.contains("longer than"), "{err}");
    }

    #[test]
    fn leading_zeros_and_tabs_before_extensions_are_allowed() {
        let (pieces, d) = decode(b"0003\t;a=\"b\"\r\nabc\r\n0\r\n\r\n", 4).expect("valid");
        let data: Vec<u8> = pieces.iter().flat_map(|p| p.data.clone()).collect();
        assert_eq!(data, b"abc");
        assert!(d.done());
    }

    #[test]
    fn framing_is_read_from_the_head() {
        let h = |pairs: &[(&str, &str)]| -> Headers {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        assert!(
            Framing::of(200, &h(&[("transfer-encoding", "gzip, chunked")]))
                .expect("ok")
                .is_chunked()
        );
        assert!(matches!(
            Framing::of(200, &h(&[("content-length", "12")])),
            Ok(Framing::Length { left: 12 })
        ));
        assert!(matches!(Framing::of(200, &h(&[])), Ok(Framing::Close)));
        assert!(Framing::of(200, &h(&[("content-length", "x")])).is_err());
        assert!(Framing::of(200, &h(&[("content-length", "1, 2")])).is_err());
        assert!(matches!(
            Framing::of(204, &h(&[])),
            Ok(Framing::Length { left: 0 })
        ));
    }
}
