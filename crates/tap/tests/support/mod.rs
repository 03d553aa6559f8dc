//! What the tap's test files share: the deadline, the next record, and reading an HTTP
//! head off a stream.

use std::time::Duration;

use streamscope_engine::Record;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc;

/// The most a test may take: past it the test fails instead of hanging.
pub(crate) const DEADLINE: Duration = Duration::from_secs(20);

/// The next record the tap printed, within 10 s.
pub(crate) async fn next(rx: &mut mpsc::Receiver<Record>) -> Record {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a record within 10 s")
        .expect("the channel is open")
}

/// The `Sec-WebSocket-Accept` an endpoint answers to the key a forwarded handshake
/// `head` carries (lower-case header names, as the tap forwards them).
pub(crate) fn accept_for(head: &str) -> String {
    let key = head
        .lines()
        .find_map(|l| l.strip_prefix("sec-websocket-key: "))
        .expect("the app's key is forwarded")
        .trim();
    tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes())
}

/// An HTTP head, through its blank line, read a byte at a time so nothing after it is
/// taken.
pub(crate) async fn read_head<S: AsyncRead + Unpin>(s: &mut S) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        let n = s.read(&mut byte).await.expect("reads the head");
        assert!(
            n == 1,
            "closed in the head: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.push(byte[0]);
    }
    String::from_utf8(buf).expect("ASCII head")
}
