//! Loopback load generator for Streamscope's receive benchmarks.
//!
//! `loadgen ws|sse --count N --size BYTES [--port P]` listens on 127.0.0.1,
//! prints `ready PORT` on stdout, serves exactly one client and exits:
//!
//! - `ws`: completes the WebSocket handshake, sends N text messages of exactly
//!   SIZE printable ASCII bytes, then a close frame with code 1000, and waits
//!   for the client's close reply. With `--deflate`, and a client that offers
//!   permessage-deflate, it agrees to it without context takeover either way
//!   and sends each message compressed (RSV1), the same compressed bytes every
//!   time, so a client's inflate cost can be measured against plain frames.
//! - `sse`: answers `200 text/event-stream` (chunked) and writes N events
//!   `data: <SIZE bytes>\n\n`, then ends the body and closes the connection.
//!
//! Every byte on the wire is built before the first write: the payload
//! frames go out as large pre-built buffers written again and again, so the
//! generator costs one `write` system call per ~256 KiB and is never what a
//! client benchmark measures (`drain` shows how fast it goes on its own).
//!
//! Exit status: 0 when everything was sent (and, for WS, the close reply
//! came); 1 when the client went away early or broke the protocol; 2 for bad
//! arguments. A one-line summary goes to stderr.

use anyhow::{Context, Result, bail};
use clap::{Parser, ValueEnum};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// Size a pre-built write buffer aims for.
const CHUNK_TARGET: usize = 256 * 1024;
/// Upper bound on request headers.
const MAX_HEAD: usize = 64 * 1024;
/// How long to wait for the client's request or close reply.
const PEER_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Proto {
    Ws,
    Sse,
}

#[derive(Parser)]
#[command(about = "Serve one client N messages of SIZE bytes over WebSocket or SSE, on 127.0.0.1")]
struct Args {
    /// Protocol to serve.
    proto: Proto,
    /// Number of messages.
    #[arg(long)]
    count: u64,
    /// Payload bytes per message.
    #[arg(long)]
    size: usize,
    /// Port to listen on (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// WebSocket: compress each message with permessage-deflate (RFC 7692), if the
    /// client offers it.
    #[arg(long)]
    deflate: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("loadgen: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(args: &Args) -> Result<()> {
    let payload = payload(args.size);
    // Build everything before listening, so the client never waits for it.
    let plain = Plan::new(&ws_frame(&payload), args.count, |body| body.to_vec());
    let plan = match args.proto {
        Proto::Ws if args.deflate => {
            Plan::new(&deflated_frame(&payload)?, args.count, |body| body.to_vec())
        }
        Proto::Ws => plain.clone(),
        Proto::Sse => Plan::new(&sse_event(&payload), args.count, http_chunk),
    };

    let listener = TcpListener::bind(("127.0.0.1", args.port)).context("bind 127.0.0.1")?;
    let port = listener.local_addr()?.port();
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "ready {port}")?;
        out.flush()?;
    }

    let (mut stream, _) = listener.accept().context("accept")?;
    drop(listener);
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(PEER_TIMEOUT))?;
    let head = read_head(&mut stream)?;

    let started = Instant::now();
    match args.proto {
        Proto::Ws => {
            // Compressed only when the client offered it; plain frames otherwise.
            let offered = header(&head, "sec-websocket-extensions")
                .is_some_and(|e| e.contains("permessage-deflate"));
            let deflate = args.deflate && offered;
            serve_ws(
                &mut stream,
                &head,
                if deflate { &plan } else { &plain },
                deflate,
            )?
        }
        Proto::Sse => serve_sse(&mut stream, &plan)?,
    }
    let secs = started.elapsed().as_secs_f64();
    let bytes = args.count * args.size as u64;
    eprintln!(
        "loadgen: {} {} messages x {} B ({:.1} MB payload) in {:.3} s: {:.0} msgs/s",
        if args.proto == Proto::Ws { "ws" } else { "sse" },
        args.count,
        args.size,
        bytes as f64 / 1e6,
        secs,
        args.count as f64 / secs.max(1e-9),
    );
    Ok(())
}

/// SIZE printable ASCII bytes (letters and digits: nothing JSON must escape).
fn payload(size: usize) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..size).map(|i| ALPHABET[i % ALPHABET.len()]).collect()
}

/// One unmasked server-to-client text frame (FIN, opcode 1).
fn ws_frame(payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(payload.len() + 10);
    f.push(0x81);
    let len = payload.len();
    if len < 126 {
        f.push(len as u8);
    } else if len <= 0xFFFF {
        f.push(126);
        f.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        f.push(127);
        f.extend_from_slice(&(len as u64).to_be_bytes());
    }
    f.extend_from_slice(payload);
    f
}

/// One compressed text frame (FIN, RSV1, opcode 1): the payload deflated on its own
/// (no context takeover), without the 00 00 FF FF tail (RFC 7692 §7.2.1).
fn deflated_frame(payload: &[u8]) -> Result<Vec<u8>> {
    let mut z = flate2::Compress::new(flate2::Compression::default(), false);
    let mut out = Vec::with_capacity(payload.len() + 64);
    z.compress_vec(payload, &mut out, flate2::FlushCompress::Sync)
        .context("deflate")?;
    while out.len() == out.capacity() {
        out.reserve(out.len());
        z.compress_vec(&[], &mut out, flate2::FlushCompress::Sync)
            .context("deflate")?;
    }
    if !out.ends_with(&[0, 0, 0xff, 0xff]) {
        bail!("a sync flush ends with 00 00 ff ff");
    }
    out.truncate(out.len() - 4);
    let mut frame = ws_frame(&out);
    frame[0] |= 0x40;
    Ok(frame)
}

/// One SSE event carrying `payload` as a single data line.
fn sse_event(payload: &[u8]) -> Vec<u8> {
    let mut e = Vec::with_capacity(payload.len() + 8);
    e.extend_from_slice(b"data: ");
    e.extend_from_slice(payload);
    e.extend_from_slice(b"\n\n");
    e
}

/// Wraps `body` as one HTTP/1.1 chunk.
fn http_chunk(body: &[u8]) -> Vec<u8> {
    let mut c = format!("{:x}\r\n", body.len()).into_bytes();
    c.extend_from_slice(body);
    c.extend_from_slice(b"\r\n");
    c
}

/// The whole message stream as `full` written `repeats` times, then `tail`.
#[derive(Clone)]
struct Plan {
    full: Vec<u8>,
    repeats: u64,
    tail: Vec<u8>,
}

impl Plan {
    /// Packs `count` copies of `unit` into buffers of about CHUNK_TARGET
    /// bytes, each wrapped by `wrap` (HTTP chunk framing for SSE).
    fn new(unit: &[u8], count: u64, wrap: impl Fn(&[u8]) -> Vec<u8>) -> Plan {
        let per_chunk = (CHUNK_TARGET / unit.len().max(1)).max(1) as u64;
        let pack = |n: u64| -> Vec<u8> {
            if n == 0 {
                return Vec::new();
            }
            let mut body = Vec::with_capacity(unit.len() * n as usize);
            for _ in 0..n {
                body.extend_from_slice(unit);
            }
            wrap(&body)
        };
        let repeats = count / per_chunk;
        Plan {
            full: if repeats > 0 {
                pack(per_chunk)
            } else {
                Vec::new()
            },
            repeats,
            tail: pack(count % per_chunk),
        }
    }

    fn write_to(&self, stream: &mut TcpStream) -> Result<()> {
        for _ in 0..self.repeats {
            stream
                .write_all(&self.full)
                .context("client stopped reading")?;
        }
        stream
            .write_all(&self.tail)
            .context("client stopped reading")?;
        Ok(())
    }
}

/// Reads the request head (through the blank line). Bytes after it, if
/// any, are not expected from a benchmark client and are ignored.
fn read_head(stream: &mut TcpStream) -> Result<String> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).context("read request")?;
        if n == 0 {
            bail!("client closed before sending a request");
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            head.truncate(end);
            return Ok(String::from_utf8_lossy(&head).into_owned());
        }
        if head.len() > MAX_HEAD {
            bail!("request head longer than {MAX_HEAD} bytes");
        }
    }
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.split("\r\n").skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn serve_ws(stream: &mut TcpStream, head: &str, plan: &Plan, deflate: bool) -> Result<()> {
    let Some(key) = header(head, "sec-websocket-key") else {
        stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")?;
        bail!("request without Sec-WebSocket-Key");
    };
    let extension = if deflate {
        "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; \
         client_no_context_takeover\r\n"
    } else {
        ""
    };
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n{extension}\r\n",
        derive_accept_key(key.as_bytes())
    );
    stream.write_all(response.as_bytes())?;
    plan.write_to(stream)?;
    // Close frame, code 1000, no reason.
    stream.write_all(&[0x88, 0x02, 0x03, 0xE8])?;
    wait_close_reply(stream)?;
    // The server closes the TCP connection first (RFC 6455 §7.1.1).
    let _ = stream.shutdown(Shutdown::Both);
    Ok(())
}

/// Reads client frames until its close frame. Data frames the client may
/// send (e.g. a pong) are skipped.
fn wait_close_reply(stream: &mut TcpStream) -> Result<()> {
    loop {
        let mut hdr = [0u8; 2];
        stream
            .read_exact(&mut hdr)
            .context("connection ended without a close reply")?;
        let opcode = hdr[0] & 0x0F;
        let masked = hdr[1] & 0x80 != 0;
        let len = match hdr[1] & 0x7F {
            126 => {
                let mut b = [0u8; 2];
                stream.read_exact(&mut b)?;
                u64::from(u16::from_be_bytes(b))
            }
            127 => {
                let mut b = [0u8; 8];
                stream.read_exact(&mut b)?;
                u64::from_be_bytes(b)
            }
            n => u64::from(n),
        };
        if masked {
            let mut mask = [0u8; 4];
            stream.read_exact(&mut mask)?;
        }
        let skipped = std::io::copy(&mut (&mut *stream).take(len), &mut std::io::sink())?;
        if skipped != len {
            bail!("connection ended inside a client frame");
        }
        if opcode == 0x8 {
            return Ok(());
        }
    }
}

fn serve_sse(stream: &mut TcpStream, plan: &Plan) -> Result<()> {
    stream.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n\
          Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
    )?;
    plan.write_to(stream)?;
    stream.write_all(b"0\r\n\r\n")?;
    stream.shutdown(Shutdown::Write)?;
    // Let the client read to the end before the socket goes away.
    let _ = std::io::copy(stream, &mut std::io::sink());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_have_the_right_length_encoding() {
        assert_eq!(&ws_frame(&payload(3))[..2], &[0x81, 3]);
        assert_eq!(&ws_frame(&payload(126))[..4], &[0x81, 126, 0, 126]);
        let big = ws_frame(&payload(65536));
        assert_eq!(&big[..10], &[0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
        assert_eq!(big.len(), 65546);
    }

    #[test]
    fn plan_holds_exactly_count_units() {
        let unit = sse_event(&payload(64));
        let plan = Plan::new(&unit, 10_000, |b| b.to_vec());
        let total = plan.full.len() as u64 * plan.repeats + plan.tail.len() as u64;
        assert_eq!(total, unit.len() as u64 * 10_000);
        let plan = Plan::new(&unit, 0, |b| b.to_vec());
        assert!(plan.full.is_empty() && plan.tail.is_empty());
    }

    #[test]
    fn chunk_framing() {
        assert_eq!(http_chunk(b"abc"), b"3\r\nabc\r\n");
    }
}
