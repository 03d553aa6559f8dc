//! WebSocket frames and messages as they cross the wire (RFC 6455 §5): our own thin layer
//! over tungstenite's frame header codec (`FrameHeader::parse` / `format`).
//!
//! It owns reading frames into a bounded buffer, every check RFC 6455 asks of a client
//! (no mask from a server, reserved bits only as negotiated, control frames whole and
//! short, continuations in order, UTF-8 across fragments, close payloads, nothing after
//! the peer's close), the size limits, putting fragments together, writing masked
//! frames, and counting what each message cost on the wire ([`Wire`]). Compression is
//! [`super::deflate`]'s; what becomes a record, what to answer and when to close is
//! [`super::ws`]'s.

use std::io::Cursor;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;
use tokio_tungstenite::tungstenite::protocol::frame::coding::OpCode;

use super::deflate::{Deflate, InflateError};
use streamscope_model::Cause;
use streamscope_model::record::{Wire, WireFrame};

/// Bytes asked of the socket per read: large enough that a firehose of small frames
/// costs one syscall per many frames, small enough to be nothing beside a message limit.
const READ_CHUNK: usize = 64 << 10;

/// RFC 6455 §5.5: a control frame's payload is at most 125 bytes.
const MAX_CONTROL_PAYLOAD: u64 = 125;

/// Frames listed on one message's record. A peer may cut a message into thousands of
/// one-byte frames; past this many, frames are still counted (`frames`, `bytes`) but
/// not listed, so a record stays small whatever the peer does.
pub(crate) const MAX_FRAME_LIST: usize = 256;

/// Room an inflated message may leave unused before it is given back: small enough that
/// a channel full of records holds little waste, large enough that small messages are
/// never copied for it.
const SHRINK_OVER: usize = 4 << 10;

pub(crate) const OP_CONTINUATION: u8 = 0x0;
pub(crate) const OP_TEXT: u8 = 0x1;
pub(crate) const OP_BINARY: u8 = 0x2;
pub(crate) const OP_CLOSE: u8 = 0x8;
pub(crate) const OP_PING: u8 = 0x9;
pub(crate) const OP_PONG: u8 = 0xA;

/// A message or control frame from the peer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Incoming {
    Text(String),
    Binary(Bytes),
    Ping(Bytes),
    Pong(Bytes),
    /// The peer's close: its code and reason (checked UTF-8), or none for an empty
    /// payload. Whether the code may be sent is for the caller to judge: the record
    /// keeps what came.
    Close(Option<(u16, String)>),
}

/// What came, and what it cost on the wire.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Received {
    pub(crate) msg: Incoming,
    pub(crate) wire: Wire,
}

/// Why reading or writing failed: the cause, the words, and the close code RFC 6455
/// says to send the peer (none when the transport is gone).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Failure {
    pub(crate) cause: Cause,
    pub(crate) message: String,
    pub(crate) close: Option<u16>,
}

impl Failure {
    fn protocol(message: impl Into<String>) -> Failure {
        Failure {
            cause: Cause::ProtocolViolation,
            message: message.into(),
            close: Some(1002),
        }
    }

    fn bad_utf8(what: &str) -> Failure {
        Failure {
            cause: Cause::ProtocolViolation,
            message: format!("the peer sent {what} that is not valid UTF-8"),
            close: Some(1007),
        }
    }

    fn too_big(what: &str, size: u64, limit: usize) -> Failure {
        Failure {
            cause: Cause::TooBig,
            message: format!(
                "{what} too long: {size} > {limit} bytes: the peer sent more than the limit"
            ),
            close: Some(1009),
        }
    }

    pub(crate) fn lost(io: &std::io::Error) -> Failure {
        Failure {
            cause: Cause::TransportLost,
            message: format!("connection lost without a close frame (1006): {io}"),
            close: None,
        }
    }

    /// The transport is gone: nothing can be sent, and after a completed close
    /// handshake it is the expected end.
    pub(crate) fn is_transport(&self) -> bool {
        self.cause == Cause::TransportLost
    }
}

/// A data message whose frames are still coming.
#[derive(Debug)]
struct Partial {
    text: bool,
    compressed: bool,
    /// The payload so far (inflated, when compressed).
    data: Vec<u8>,
    /// How much of `data` is known to be valid UTF-8 (text only): each fragment is
    /// checked as it comes, so bad text fails at its frame, not at the message's end.
    utf8_checked: usize,
    wire: Wire,
}

/// One WebSocket connection's stream after the opening handshake, client side.
#[derive(Debug)]
pub(crate) struct WsStream<S> {
    io: S,
    /// Bytes read and not yet framed: at most one frame (≤ `max_frame` plus its
    /// header) and one read's worth beyond it.
    buf: BytesMut,
    max_frame: usize,
    max_message: usize,
    partial: Option<Partial>,
    deflate: Option<Deflate>,
    /// The peer's close frame has come: RFC 6455 §5.5.1, nothing may follow it.
    peer_closed: bool,
    /// The frame being written, reused.
    out: Vec<u8>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> WsStream<S> {
    /// `leftover` are bytes read past the handshake's head: the first frames.
    pub(crate) fn new(
        io: S,
        leftover: &[u8],
        max_frame: usize,
        max_message: usize,
        deflate: Option<Deflate>,
    ) -> Self {
        let mut buf = BytesMut::with_capacity(READ_CHUNK.max(leftover.len()));
        buf.extend_from_slice(leftover);
        WsStream {
            io,
            buf,
            // A single frame is never allowed past the message limit.
            max_frame: max_frame.min(max_message),
            max_message,
            partial: None,
            deflate,
            peer_closed: false,
            out: Vec::new(),
        }
    }

    /// The next message or control frame; `Ok(None)` when the peer closed TCP at a
    /// frame boundary with no message half-way.
    ///
    /// Cancel safe: bytes are only taken from the buffer by the synchronous framing
    /// step, and the one `.await` is a `read_buf` into it.
    pub(crate) async fn next(&mut self) -> Result<Option<Received>, Failure> {
        loop {
            if let Some(received) = self.framed()? {
                return Ok(Some(received));
            }
            if self.buf.capacity() - self.buf.len() < READ_CHUNK / 4 {
                self.buf.reserve(READ_CHUNK);
            }
            let n = self
                .io
                .read_buf(&mut self.buf)
                .await
                .map_err(|e| Failure::lost(&e))?;
            if n == 0 {
                if self.buf.is_empty() && self.partial.is_none() {
                    return Ok(None);
                }
                let what = if self.buf.is_empty() {
                    "between the frames of a message"
                } else {
                    "in the middle of a frame"
                };
                return Err(Failure {
                    cause: Cause::TransportLost,
                    message: format!("connection lost without a close frame (1006) {what}"),
                    close: None,
                });
            }
        }
    }

    /// Takes whole frames from the buffer until one completes a message or is a control
    /// frame; `None` when more bytes are needed.
    fn framed(&mut self) -> Result<Option<Received>, Failure> {
        loop {
            let mut cursor = Cursor::new(&self.buf[..]);
            let (head, len) = match FrameHeader::parse(&mut cursor) {
                Ok(Some(parsed)) => parsed,
                Ok(None) => return Ok(None),
                Err(e) => {
                    return Err(Failure::protocol(format!(
                        "the peer broke the WebSocket protocol: {}",
                        lower_first(&e.to_string())
                    )));
                }
            };
            let head_len = usize::try_from(cursor.position()).unwrap_or(usize::MAX);
            let opcode = u8::from(head.opcode);
            // RFC 6455 §5.5.1: the close frame is the peer's last.
            if self.peer_closed {
                return Err(Failure::protocol(
                    "the peer sent a frame after its close frame",
                ));
            }
            // RFC 6455 §5.1: a client fails the connection on a masked frame.
            if head.mask.is_some() {
                return Err(Failure::protocol(
                    "the peer broke the WebSocket protocol: a server must not mask its frames (RFC 6455 5.1)",
                ));
            }
            if head.rsv2 || head.rsv3 {
                return Err(Failure::protocol(
                    "the peer broke the WebSocket protocol: reserved bits RSV2/RSV3 set, and no extension defines them",
                ));
            }
            let control = matches!(head.opcode, OpCode::Control(_));
            if control {
                if !head.is_final {
                    return Err(Failure::protocol(
                        "the peer broke the WebSocket protocol: a fragmented control frame (RFC 6455 5.5)",
                    ));
                }
                if len > MAX_CONTROL_PAYLOAD {
                    return Err(Failure::protocol(format!(
                        "the peer broke the WebSocket protocol: a control frame of {len} bytes; at most 125 are allowed (RFC 6455 5.5)"
                    )));
                }
            }
            // RFC 7692 §6: RSV1 marks the first frame of a compressed message, and only
            // when permessage-deflate was negotiated.
            if head.rsv1 {
                let why = if self.deflate.is_none() {
                    Some("RSV1 set, but no extension was negotiated")
                } else if control {
                    Some("RSV1 set on a control frame (RFC 7692 6.1)")
                } else if opcode == OP_CONTINUATION {
                    Some("RSV1 set on a continuation frame (RFC 7692 6.1)")
                } else {
                    None
                };
                if let Some(why) = why {
                    return Err(Failure::protocol(format!(
                        "the peer broke the WebSocket protocol: {why}"
                    )));
                }
            }
            if len > self.max_frame as u64 {
                return Err(Failure::too_big("frame", len, self.max_frame));
            }
            // Checked against `max_frame` just above, so it fits in memory's terms.
            let len_usize = len as usize;
            let total = head_len + len_usize;
            if self.buf.len() < total {
                // Room for the rest of this frame in one go.
                self.buf.reserve(total - self.buf.len());
                return Ok(None);
            }
            let _ = self.buf.split_to(head_len);
            let payload = self.buf.split_to(len_usize).freeze();
            let frame = WireFrame {
                fin: head.is_final,
                opcode,
                rsv1: head.rsv1,
                masked: false,
                len,
            };
            let wire_bytes = total as u64;
            if control {
                return self.control(opcode, payload, wire_bytes).map(Some);
            }
            if let Some(done) = self.data(frame, payload, wire_bytes)? {
                return Ok(Some(done));
            }
        }
    }

    fn control(&mut self, opcode: u8, payload: Bytes, bytes: u64) -> Result<Received, Failure> {
        let msg = match opcode {
            OP_PING => Incoming::Ping(payload),
            OP_PONG => Incoming::Pong(payload),
            OP_CLOSE => {
                let close = match payload.len() {
                    0 => None,
                    1 => {
                        return Err(Failure::protocol(
                            "the peer broke the WebSocket protocol: a close frame with a one-byte payload (RFC 6455 5.5.1)",
                        ));
                    }
                    _ => {
                        let code = u16::from_be_bytes([payload[0], payload[1]]);
                        let reason = std::str::from_utf8(&payload[2..])
                            .map_err(|_| Failure::bad_utf8("a close reason"))?;
                        Some((code, reason.to_owned()))
                    }
                };
                self.peer_closed = true;
                Incoming::Close(close)
            }
            other => {
                return Err(Failure::protocol(format!(
                    "the peer broke the WebSocket protocol: unknown control opcode {other}"
                )));
            }
        };
        Ok(Received {
            msg,
            wire: Wire::frame(bytes, None),
        })
    }

    /// Takes one data frame; a message when it completes one.
    fn data(
        &mut self,
        frame: WireFrame,
        payload: Bytes,
        bytes: u64,
    ) -> Result<Option<Received>, Failure> {
        let mut partial = match (frame.opcode, self.partial.take()) {
            (OP_TEXT | OP_BINARY, Some(_)) => {
                return Err(Failure::protocol(
                    "the peer broke the WebSocket protocol: a new message began before the last one's final frame (RFC 6455 5.4)",
                ));
            }
            (OP_CONTINUATION, None) => {
                return Err(Failure::protocol(
                    "the peer broke the WebSocket protocol: a continuation frame with no message to continue (RFC 6455 5.4)",
                ));
            }
            // The common case, one uncompressed frame: no copy into a message buffer.
            (OP_TEXT | OP_BINARY, None) if frame.fin && !frame.rsv1 => {
                let wire = Wire::frame(bytes, None);
                let msg = if frame.opcode == OP_TEXT {
                    let text = std::str::from_utf8(&payload)
                        .map_err(|_| Failure::bad_utf8("a text message"))?;
                    Incoming::Text(text.to_owned())
                } else {
                    Incoming::Binary(payload)
                };
                return Ok(Some(Received { msg, wire }));
            }
            (OP_TEXT | OP_BINARY, None) => Partial {
                text: frame.opcode == OP_TEXT,
                compressed: frame.rsv1,
                data: Vec::new(),
                utf8_checked: 0,
                wire: Wire {
                    bytes: 0,
                    frames: 0,
                    compressed_size: frame.rsv1.then_some(0),
                    ..Wire::default()
                },
            },
            (OP_CONTINUATION, Some(p)) => p,
            (other, _) => {
                return Err(Failure::protocol(format!(
                    "the peer broke the WebSocket protocol: unknown data opcode {other}"
                )));
            }
        };
        partial.wire.bytes += bytes;
        partial.wire.frames = partial.wire.frames.saturating_add(1);
        if partial.wire.frame_list.len() < MAX_FRAME_LIST {
            partial.wire.frame_list.push(frame);
        }
        if partial.compressed {
            if let Some(c) = partial.wire.compressed_size.as_mut() {
                *c += payload.len() as u64;
            }
            let inflater = self.deflate.as_mut().ok_or_else(|| {
                Failure::protocol("the peer broke the WebSocket protocol: RSV1 set, but no extension was negotiated")
            })?;
            inflater
                .inflate(&payload, frame.fin, &mut partial.data, self.max_message)
                .map_err(|e| match e {
                    InflateError::TooBig => Failure {
                        cause: Cause::TooBig,
                        message: format!(
                            "compressed message inflates past {} bytes: the peer sent more than the limit",
                            self.max_message
                        ),
                        close: Some(1009),
                    },
                    InflateError::Corrupt(why) => Failure::protocol(format!(
                        "the peer broke the WebSocket protocol: a compressed message that does not inflate ({why})"
                    )),
                })?;
        } else {
            let size = partial.data.len() as u64 + payload.len() as u64;
            if size > self.max_message as u64 {
                return Err(Failure::too_big("message", size, self.max_message));
            }
            partial.data.extend_from_slice(&payload);
        }
        if partial.text {
            check_utf8(&mut partial, frame.fin)?;
        }
        if !frame.fin {
            self.partial = Some(partial);
            return Ok(None);
        }
        let Partial {
            text,
            data,
            mut wire,
            ..
        } = partial;
        if wire.frames == 1 {
            wire.frame_list = Vec::new();
        }
        // Inflating doubles the buffer: give back what the message did not fill, so a
        // record waiting in the channel holds its payload's size, not twice that.
        let mut data = data;
        if data.capacity() - data.len() > SHRINK_OVER {
            data.shrink_to_fit();
        }
        let msg = if text {
            // Checked fragment by fragment above; this cannot fail, and says so if it did.
            Incoming::Text(
                String::from_utf8(data).map_err(|_| Failure::bad_utf8("a text message"))?,
            )
        } else {
            Incoming::Binary(Bytes::from(data))
        };
        Ok(Some(Received { msg, wire }))
    }

    /// Sends one data message in one frame, compressed when permessage-deflate was
    /// negotiated; returns what it cost on the wire.
    pub(crate) async fn send_data(&mut self, text: bool, payload: &[u8]) -> std::io::Result<Wire> {
        let opcode = if text { OP_TEXT } else { OP_BINARY };
        let compressed = match self.deflate.as_mut() {
            Some(d) => d.deflate(payload),
            None => None,
        };
        let (body, rsv1) = match &compressed {
            Some(c) => (c.as_slice(), true),
            None => (payload, false),
        };
        let bytes = self.write_frame(opcode, rsv1, body).await?;
        Ok(Wire::frame(
            bytes,
            compressed.as_ref().map(|c| c.len() as u64),
        ))
    }

    /// Sends a control frame (ping, pong, close); the payload was checked to be at most
    /// 125 bytes by the caller.
    pub(crate) async fn send_control(
        &mut self,
        opcode: u8,
        payload: &[u8],
    ) -> std::io::Result<Wire> {
        let bytes = self.write_frame(opcode, false, payload).await?;
        Ok(Wire::frame(bytes, None))
    }

    /// Writes one final frame, masked as RFC 6455 §5.3 asks of a client, and flushes it.
    async fn write_frame(
        &mut self,
        opcode: u8,
        rsv1: bool,
        payload: &[u8],
    ) -> std::io::Result<u64> {
        let mask: [u8; 4] = rand::random();
        let head = FrameHeader {
            is_final: true,
            rsv1,
            rsv2: false,
            rsv3: false,
            opcode: OpCode::from(opcode),
            mask: Some(mask),
        };
        self.out.clear();
        head.format(payload.len() as u64, &mut self.out)
            .map_err(std::io::Error::other)?;
        let start = self.out.len();
        self.out.extend_from_slice(payload);
        apply_mask(&mut self.out[start..], mask);
        self.io.write_all(&self.out).await?;
        self.io.flush().await?;
        let written = self.out.len() as u64;
        // A one-off large message must not keep its buffer for the connection's life.
        if self.out.capacity() > READ_CHUNK {
            self.out = Vec::new();
        }
        Ok(written)
    }
}

/// RFC 6455 §5.3: each payload byte XOR the mask key's byte at its position mod 4.
fn apply_mask(bytes: &mut [u8], mask: [u8; 4]) {
    let word = u32::from_ne_bytes(mask);
    let mut chunks = bytes.chunks_exact_mut(4);
    for chunk in &mut chunks {
        let mut v = [0u8; 4];
        v.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u32::from_ne_bytes(v) ^ word).to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= mask[i];
    }
}

/// Checks the text received so far: valid UTF-8, except that a final frame may not end
/// inside a character while an earlier one may (RFC 6455 §8.1: fail as soon as the
/// bytes cannot be valid).
fn check_utf8(partial: &mut Partial, fin: bool) -> Result<(), Failure> {
    match std::str::from_utf8(&partial.data[partial.utf8_checked..]) {
        Ok(_) => {
            partial.utf8_checked = partial.data.len();
            Ok(())
        }
        Err(e) if e.error_len().is_none() && !fin => {
            partial.utf8_checked += e.valid_up_to();
            Ok(())
        }
        Err(_) => Err(Failure::bad_utf8("a text message")),
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        let head = FrameHeader {
            is_final: fin,
            opcode: OpCode::from(opcode),
            ..FrameHeader::default()
        };
        let mut out = Vec::new();
        head.format(payload.len() as u64, &mut out)
            .expect("format into a Vec");
        out.extend_from_slice(payload);
        out
    }

    fn stream(bytes: &[u8]) -> WsStream<tokio::io::DuplexStream> {
        let (a, _b) = tokio::io::duplex(64);
        WsStream::new(a, bytes, 1 << 20, 1 << 20, None)
    }

    #[test]
    fn text_split_inside_a_character_across_fragments_is_one_valid_message() {
        let euro = "€".as_bytes();
        let mut bytes = frame(false, OP_TEXT, &euro[..1]);
        bytes.extend(frame(true, OP_PING, b"p"));
        bytes.extend(frame(false, OP_CONTINUATION, &euro[1..2]));
        bytes.extend(frame(true, OP_CONTINUATION, &euro[2..]));
        let mut s = stream(&bytes);
        let ping = s.framed().expect("ok").expect("the ping");
        assert_eq!(ping.msg, Incoming::Ping(Bytes::from_static(b"p")));
        let text = s.framed().expect("ok").expect("the text");
        assert_eq!(text.msg, Incoming::Text("€".into()));
        assert_eq!(text.wire.frames, 3);
        assert_eq!(text.wire.bytes, 3 * 2 + 3);
        let lens: Vec<u64> = text.wire.frame_list.iter().map(|f| f.len).collect();
        assert_eq!(lens, [1, 1, 1]);
    }

    #[test]
    fn bad_utf8_fails_at_its_fragment_before_the_message_ends() {
        let mut bytes = frame(false, OP_TEXT, b"ok");
        bytes.extend(frame(false, OP_CONTINUATION, b"\xff"));
        let mut s = stream(&bytes);
        let err = s.framed().expect_err("fails before the final frame");
        assert_eq!(err.close, Some(1007));
    }

    #[test]
    fn a_final_frame_ending_inside_a_character_is_invalid() {
        let s2 = &"€".as_bytes()[..2];
        let mut s = stream(&frame(true, OP_TEXT, s2));
        assert_eq!(s.framed().expect_err("invalid").close, Some(1007));
    }

    #[test]
    fn the_mask_round_trips_at_every_length() {
        for n in 0..20 {
            let data: Vec<u8> = (0..n as u8).collect();
            let mut masked = data.clone();
            apply_mask(&mut masked, [1, 2, 3, 4]);
            for (i, (m, d)) in masked.iter().zip(&data).enumerate() {
                assert_eq!(*m, d ^ [1, 2, 3, 4][i % 4]);
            }
            apply_mask(&mut masked, [1, 2, 3, 4]);
            assert_eq!(masked, data);
        }
    }
}
