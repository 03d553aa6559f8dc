//! The WebSocket ceiling for `sscope ws`: the simplest correct client.
//!
//! `bare_ws URL` connects with tokio-tungstenite on a current-thread
//! runtime and prints every inbound text/binary message as one NDJSON record
//! (CONTRACT.md's `text` / `binary` shape, serialized with serde_json) into a
//! buffered stdout that is flushed whenever no further message is ready. It
//! exits 0 when the peer's close handshake completes, 1 on any error.
//!
//! It does what `sscope ws` must do for each message and nothing more
//! (no `open`/`close` records, no channel between engine and printer), so
//! `sscope`'s time over this client's time is the cost of its architecture.

use base64::Engine as _;
use futures_util::{FutureExt as _, StreamExt as _};
use std::io::{BufWriter, Write};
use std::process::ExitCode;
use streamscope_bench::{Record, TIMESTAMP_LEN, now_rfc3339};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: bare_ws URL");
        return ExitCode::from(2);
    };
    match run(&url).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bare_ws: {e}");
            ExitCode::from(1)
        }
    }
}

/// Bytes on the wire of one unmasked frame carrying `len` payload bytes.
fn frame_bytes(len: usize) -> u64 {
    let ext = match len {
        0..=125 => 0,
        126..=65535 => 2,
        _ => 8,
    };
    (2 + ext + len) as u64
}

async fn run(url: &str) -> Result<(), Box<dyn std::error::Error>> {
    let (mut ws, _response) = tokio_tungstenite::connect_async(url).await?;
    let mut out = BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    let mut seq = 0u64;
    let mut ts = [0u8; TIMESTAMP_LEN];
    let mut b64 = String::new();
    loop {
        // Take what is ready; flush before waiting for more.
        let next = match ws.next().now_or_never() {
            Some(next) => next,
            None => {
                out.flush()?;
                ws.next().await
            }
        };
        let msg = match next {
            None | Some(Err(WsError::ConnectionClosed)) => break,
            Some(Err(e)) => return Err(e.into()),
            Some(Ok(msg)) => msg,
        };
        let (kind, size, data, data_b64) = match &msg {
            Message::Text(text) => ("text", text.len(), Some(text.as_str()), None),
            Message::Binary(bytes) => {
                b64.clear();
                base64::engine::general_purpose::STANDARD.encode_string(bytes, &mut b64);
                ("binary", bytes.len(), None, Some(b64.as_str()))
            }
            // tungstenite answers pings and the close handshake by itself.
            _ => continue,
        };
        seq += 1;
        let record = Record {
            t: now_rfc3339(&mut ts),
            conn: "c1",
            proto: "ws",
            seq,
            dir: "in",
            kind,
            size,
            data,
            data_b64,
            event: None,
            id: None,
            // One unmasked frame from the server: its header and payload (RFC 6455 5.2).
            wire_bytes: Some(frame_bytes(size)),
            frames: Some(1),
        };
        serde_json::to_writer(&mut out, &record)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}
