//! Length-prefixed messages: gRPC's frames and Connect's streaming envelopes share one
//! layout — a flags byte, a big-endian `u32` length, then the message.

use prost::bytes::{BufMut, Bytes, BytesMut};

/// Bytes before each message.
pub const PREFIX: usize = 5;
/// Flag bit of a compressed message (never sent here; refused when received).
pub const COMPRESSED: u8 = 0x01;
/// Flag bit of Connect's end-of-stream envelope.
pub const END_STREAM: u8 = 0x02;

/// Why framed bytes could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    /// Fewer bytes than a prefix or its length announce.
    #[error("a message is cut short")]
    Truncated,
    /// A compressed message.
    #[error("compressed messages are not supported; send them uncompressed")]
    Compressed,
}

/// `message` behind a prefix with `flags`.
pub fn encode(flags: u8, message: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(PREFIX + message.len());
    out.put_u8(flags);
    out.put_u32(u32::try_from(message.len()).unwrap_or(u32::MAX));
    out.put_slice(message);
    out.freeze()
}

/// One framed message read from a buffer.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Its flags.
    pub flags: u8,
    /// The message.
    pub message: &'a [u8],
    /// Bytes it took, prefix included.
    pub used: usize,
}

/// Splits the first framed message off `buf`: `Ok(None)` when `buf` does not hold a whole
/// one yet.
pub fn split(buf: &[u8]) -> Result<Option<Frame<'_>>, FrameError> {
    if buf.len() < PREFIX {
        return Ok(None);
    }
    let flags = buf[0];
    let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
    let end = PREFIX.saturating_add(len);
    if buf.len() < end {
        return Ok(None);
    }
    if flags & COMPRESSED != 0 {
        return Err(FrameError::Compressed);
    }
    Ok(Some(Frame {
        flags,
        message: &buf[PREFIX..end],
        used: end,
    }))
}

/// The one message of a unary reply (`Ok(None)` when there is none).
pub fn single(buf: &[u8]) -> Result<Option<&[u8]>, FrameError> {
    if buf.is_empty() {
        return Ok(None);
    }
    match split(buf)? {
        Some(f) if f.used == buf.len() => Ok(Some(f.message)),
        _ => Err(FrameError::Truncated),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_partial_ones_wait() {
        let f = encode(0, b"hello");
        assert_eq!(&f[..PREFIX], &[0, 0, 0, 0, 5]);
        let whole = Frame {
            flags: 0,
            message: b"hello",
            used: 10,
        };
        assert_eq!(split(&f), Ok(Some(whole)));
        assert_eq!(split(&f[..7]), Ok(None));
        assert_eq!(single(&f), Ok(Some(&b"hello"[..])));
        assert_eq!(single(&f[..7]), Err(FrameError::Truncated));
        assert_eq!(single(b""), Ok(None));
        assert_eq!(
            split(&encode(COMPRESSED, b"x")),
            Err(FrameError::Compressed)
        );
    }
}
