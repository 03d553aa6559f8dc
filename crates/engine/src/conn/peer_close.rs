//! The peer's close frame as it came over the wire.
//!
//! tungstenite rewrites a close frame whose code may not be sent (RFC 6455 §7.4: 999,
//! 1005, 1006, 1015, 2999, 5000, …) into `1002 "Protocol violation"` before the
//! connection task sees it, and reports a close reason that is not UTF-8 as the same
//! error as a text message that is not. Records must say what came over the wire, so
//! [`Watched`] follows the inbound bytes alongside tungstenite: it tracks frame
//! boundaries from the headers alone (payloads are skipped, not copied), and keeps the
//! payload of the peer's first close frame with the number of messages the peer
//! completed before it. Framing, validation and replies stay tungstenite's; writes pass
//! through untouched.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// RFC 6455 §5.5: a control frame's payload is at most 125 bytes. A longer close frame
/// is tungstenite's to refuse; only this much of it is kept.
const MAX_CONTROL_PAYLOAD: usize = 125;

/// Opcode of a close frame (RFC 6455 §5.2).
const OPCODE_CLOSE: u8 = 0x8;

/// The peer's first close frame, as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PeerClose {
    /// Messages the peer completed before it (data messages and control frames), so
    /// the reader can tell which message tungstenite is handing over or failing on.
    pub(crate) after_messages: u64,
    /// The payload: empty, or a two-byte code and a reason.
    pub(crate) payload: Vec<u8>,
}

impl PeerClose {
    /// The close code; `None` when the frame had no payload (or, malformed, one byte).
    pub(crate) fn code(&self) -> Option<u16> {
        match self.payload.as_slice() {
            [hi, lo, ..] => Some(u16::from_be_bytes([*hi, *lo])),
            _ => None,
        }
    }

    /// The reason's bytes, which the peer may have sent as invalid UTF-8.
    pub(crate) fn reason(&self) -> &[u8] {
        self.payload.get(2..).unwrap_or_default()
    }
}

/// Follows frame boundaries in the inbound byte stream until the first close frame.
#[derive(Debug, Default)]
struct Tracker {
    /// The current frame's header so far: 2 bytes, up to 8 of extended length, 4 of mask.
    head: [u8; 14],
    head_len: usize,
    /// Payload bytes of the current frame still to come; only meaningful once its
    /// header is complete.
    remaining: u64,
    in_payload: bool,
    /// The current frame is a close frame: its payload is kept.
    in_close: bool,
    /// Whether the current frame completes a message (a control frame, or a data frame
    /// with FIN).
    completes: bool,
    payload: Vec<u8>,
    messages: u64,
    close: Option<PeerClose>,
}

impl Tracker {
    fn feed(&mut self, mut bytes: &[u8]) {
        // After the first close frame the peer may send nothing (RFC 6455 §5.5.1), and
        // nothing after it changes what is kept: stop looking.
        while !bytes.is_empty() && self.close.is_none() {
            if self.in_payload {
                let take =
                    usize::try_from(self.remaining).map_or(bytes.len(), |r| r.min(bytes.len()));
                if self.in_close {
                    let room = MAX_CONTROL_PAYLOAD.saturating_sub(self.payload.len());
                    self.payload.extend_from_slice(&bytes[..take.min(room)]);
                }
                self.remaining -= take as u64;
                bytes = &bytes[take..];
                if self.remaining == 0 {
                    self.frame_done();
                }
                continue;
            }
            let need = self.head_needed();
            let take = (need - self.head_len).min(bytes.len());
            self.head[self.head_len..self.head_len + take].copy_from_slice(&bytes[..take]);
            self.head_len += take;
            bytes = &bytes[take..];
            // The first two bytes say how long the rest of the header is.
            if self.head_len == self.head_needed() {
                self.header_done();
            }
        }
    }

    /// Header bytes needed, as far as the bytes so far tell.
    fn head_needed(&self) -> usize {
        if self.head_len < 2 {
            return 2;
        }
        let ext = match self.head[1] & 0x7f {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let mask = if self.head[1] & 0x80 != 0 { 4 } else { 0 };
        2 + ext + mask
    }

    fn header_done(&mut self) {
        let opcode = self.head[0] & 0x0f;
        let fin = self.head[0] & 0x80 != 0;
        self.remaining = match self.head[1] & 0x7f {
            126 => u64::from(u16::from_be_bytes([self.head[2], self.head[3]])),
            127 => {
                let mut len = [0u8; 8];
                len.copy_from_slice(&self.head[2..10]);
                u64::from_be_bytes(len)
            }
            n => u64::from(n),
        };
        self.in_close = opcode == OPCODE_CLOSE;
        // Opcodes 8 and up are control frames, each a message of its own.
        self.completes = opcode >= 0x8 || fin;
        self.in_payload = true;
        if self.remaining == 0 {
            self.frame_done();
        }
    }

    fn frame_done(&mut self) {
        if self.in_close {
            self.close = Some(PeerClose {
                after_messages: self.messages,
                payload: std::mem::take(&mut self.payload),
            });
        } else if self.completes {
            self.messages += 1;
        }
        self.head_len = 0;
        self.in_payload = false;
        self.in_close = false;
    }
}

/// A transport whose inbound bytes are watched for the peer's close frame.
#[derive(Debug)]
pub(crate) struct Watched<S> {
    inner: S,
    tracker: Tracker,
}

impl<S> Watched<S> {
    /// Wraps `inner`; `already_read` are bytes read past the handshake's head, which
    /// reach the frame reader without passing through this transport.
    pub(crate) fn new(inner: S, already_read: &[u8]) -> Self {
        let mut tracker = Tracker::default();
        tracker.feed(already_read);
        Watched { inner, tracker }
    }

    /// The peer's first close frame, once it has been read in full.
    pub(crate) fn peer_close(&self) -> Option<&PeerClose> {
        self.tracker.close.as_ref()
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            this.tracker.feed(&buf.filled()[before..]);
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An unmasked frame as tungstenite's own encoder writes it: the watcher must read
    /// what the library does, not a second hand-written encoder.
    fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        use tokio_tungstenite::tungstenite::protocol::frame::{Frame, FrameHeader};
        let header = FrameHeader {
            is_final: fin,
            opcode: opcode.into(),
            ..FrameHeader::default()
        };
        let mut out = Vec::new();
        Frame::from_payload(header, payload.to_vec().into())
            .format(&mut out)
            .expect("a frame formats into a Vec");
        out
    }

    fn stream() -> Vec<u8> {
        let mut bytes = Vec::new();
        bytes.extend(frame(false, 0x1, b"he"));
        bytes.extend(frame(true, 0x9, b"ping"));
        bytes.extend(frame(true, 0x0, b"llo"));
        bytes.extend(frame(true, 0x2, &[7; 300]));
        bytes.extend(frame(true, 0x2, &[8; 70_000]));
        let mut close = 999u16.to_be_bytes().to_vec();
        close.extend_from_slice(b"bye\xff");
        bytes.extend(frame(true, OPCODE_CLOSE, &close));
        // Nothing after the first close changes what is kept.
        bytes.extend(frame(true, OPCODE_CLOSE, &1000u16.to_be_bytes()));
        bytes
    }

    #[test]
    fn the_first_close_frame_is_kept_as_sent_whatever_the_chunking() {
        let bytes = stream();
        let want = PeerClose {
            // The ping, "hello", and the two binary messages.
            after_messages: 4,
            payload: b"\x03\xe7bye\xff".to_vec(),
        };
        for size in [1, 2, 3, 7, 64, 4096, bytes.len()] {
            let mut t = Tracker::default();
            for piece in bytes.chunks(size) {
                t.feed(piece);
            }
            assert_eq!(t.close.as_ref(), Some(&want), "chunks of {size}");
        }
        assert_eq!(want.code(), Some(999));
        assert_eq!(want.reason(), b"bye\xff");
    }

    #[test]
    fn a_close_without_payload_has_no_code() {
        let mut t = Tracker::default();
        t.feed(&frame(true, OPCODE_CLOSE, b""));
        let close = t.close.expect("a close frame");
        assert_eq!((close.after_messages, close.code()), (0, None));
        assert_eq!(close.reason(), b"");
    }

    #[test]
    fn a_masked_frame_is_stepped_over_by_its_mask() {
        let mut bytes = vec![0x81, 0x80 | 2, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2];
        bytes.extend(frame(true, OPCODE_CLOSE, &1000u16.to_be_bytes()));
        let mut t = Tracker::default();
        t.feed(&bytes);
        let close = t.close.expect("a close frame");
        assert_eq!((close.after_messages, close.code()), (1, Some(1000)));
    }

    #[test]
    fn bytes_read_with_the_handshake_are_watched_too() {
        let w = Watched::new(tokio::io::empty(), &frame(true, OPCODE_CLOSE, b"\x03\xe8"));
        assert_eq!(w.peer_close().and_then(PeerClose::code), Some(1000));
    }
}
