//! A raw client that receives and discards: the floor of every benchmark.
//!
//! `drain ws|sse HOST:PORT` speaks just enough WebSocket (handshake, frame
//! headers, close reply) or HTTP (one GET, read to end of stream) to take
//! everything `loadgen` sends, with blocking 1 MiB reads and no per-message
//! work. Its time shows how fast the generator and the loopback go by
//! themselves: when it is far below the clients' times, the generator is not
//! what the benchmark measures. Prints the message / byte count on stderr.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(proto), Some(addr)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: drain ws|sse HOST:PORT");
        return ExitCode::from(2);
    };
    let result = match proto.as_str() {
        "ws" => drain_ws(addr),
        "sse" => drain_sse(addr),
        _ => {
            eprintln!("usage: drain ws|sse HOST:PORT");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("drain: {e}");
            ExitCode::from(1)
        }
    }
}

fn connect(addr: &str, request: &str) -> std::io::Result<BufReader<TcpStream>> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    stream.write_all(request.as_bytes())?;
    let mut reader = BufReader::with_capacity(1 << 20, stream);
    // Response head: lines up to the blank one.
    let mut line = Vec::new();
    let mut status_line = true;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Err(std::io::Error::other(
                "connection closed in the response head",
            ));
        }
        if status_line {
            let text = String::from_utf8_lossy(&line);
            if !(text.starts_with("HTTP/1.1 101") || text.starts_with("HTTP/1.1 200")) {
                return Err(std::io::Error::other(format!(
                    "bad status: {}",
                    text.trim()
                )));
            }
            status_line = false;
        }
        if line == b"\r\n" || line == b"\n" {
            return Ok(reader);
        }
    }
}

fn drain_ws(addr: &str) -> std::io::Result<()> {
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    let mut reader = connect(addr, &request)?;
    let mut messages = 0u64;
    loop {
        let mut hdr = [0u8; 2];
        reader.read_exact(&mut hdr)?;
        let len = match hdr[1] & 0x7F {
            126 => {
                let mut b = [0u8; 2];
                reader.read_exact(&mut b)?;
                u64::from(u16::from_be_bytes(b))
            }
            127 => {
                let mut b = [0u8; 8];
                reader.read_exact(&mut b)?;
                u64::from_be_bytes(b)
            }
            n => u64::from(n),
        };
        if hdr[1] & 0x80 != 0 {
            return Err(std::io::Error::other("server sent a masked frame"));
        }
        let skipped = std::io::copy(&mut (&mut reader).take(len), &mut std::io::sink())?;
        if skipped != len {
            return Err(std::io::Error::other("connection ended inside a frame"));
        }
        match hdr[0] & 0x0F {
            0x8 => break,
            0x1 | 0x2 if hdr[0] & 0x80 != 0 => messages += 1,
            _ => {}
        }
    }
    // Masked (all-zero mask) close reply with code 1000.
    reader
        .get_mut()
        .write_all(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xE8])?;
    std::io::copy(&mut reader, &mut std::io::sink())?;
    eprintln!("drain: {messages} messages");
    Ok(())
}

fn drain_sse(addr: &str) -> std::io::Result<()> {
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n"
    );
    let mut reader = connect(addr, &request)?;
    let bytes = std::io::copy(&mut reader, &mut std::io::sink())?;
    eprintln!("drain: {bytes} body bytes");
    Ok(())
}
