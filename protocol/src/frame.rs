//! Framing: a 4-byte length word (counting itself), the header, the body.
//!
//! libvirtd answers a bad length word by closing the connection, so framing
//! errors carry no libvirt error code: the caller just hangs up.

use crate::header::{Header, HEADER_LEN};
use crate::xdr::{put_u32, Xdr};

/// Largest header + body (32 MiB in libvirt 9.0).
pub const MAX_PAYLOAD: usize = 33_554_432;
/// Size of the length word.
pub const LEN_WORD: usize = 4;
/// Smallest legal length word: a header with an empty body.
pub const MIN_MESSAGE_LEN: usize = LEN_WORD + HEADER_LEN;
/// Largest legal length word.
pub const MAX_MESSAGE_LEN: usize = LEN_WORD + MAX_PAYLOAD;
/// The most file descriptors one CALL_WITH_FDS / REPLY_WITH_FDS message may
/// carry (libvirt's `VIR_NET_MESSAGE_NUM_FDS_MAX`).
pub const NUM_FDS_MAX: u32 = 32;

/// The descriptor count word that opens the body of a `*_WITH_FDS` message:
/// `None` when the body is too short to hold it.
pub fn fd_count(body: &[u8]) -> Option<u32> {
    body.get(..4)
        .map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    /// The length word is below 28 (it cannot even hold a header).
    #[error("message length {0} is shorter than a header")]
    TooShort(u32),
    /// The length word is above 32 MiB + 4.
    #[error("message length {0} exceeds the maximum")]
    TooLong(u32),
    /// A complete message was expected but fewer bytes were given.
    #[error("message declares {declared} bytes but only {available} are present")]
    Incomplete { declared: usize, available: usize },
}

/// Validates a length word and returns the whole message length in bytes,
/// including the 4 bytes of the length word itself.
pub fn message_len(word: [u8; 4]) -> Result<usize, FrameError> {
    let len = u32::from_be_bytes(word);
    let n = len as usize;
    if n < MIN_MESSAGE_LEN {
        Err(FrameError::TooShort(len))
    } else if n > MAX_MESSAGE_LEN {
        Err(FrameError::TooLong(len))
    } else {
        Ok(n)
    }
}

/// Builds a whole message: length word, header, body.
pub fn encode_message(h: &Header, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(MIN_MESSAGE_LEN + body.len());
    put_u32(&mut out, (MIN_MESSAGE_LEN + body.len()) as u32);
    h.encode(&mut out);
    out.extend_from_slice(body);
    out
}

/// Appends a whole message to `out`, so that several replies can share one
/// buffer and one write.
pub fn encode_message_into(out: &mut Vec<u8>, h: &Header, body: &[u8]) {
    out.reserve(MIN_MESSAGE_LEN + body.len());
    put_u32(out, (MIN_MESSAGE_LEN + body.len()) as u32);
    h.encode(out);
    out.extend_from_slice(body);
}

/// Builds a whole message whose body is an XDR value.
pub fn encode_message_with<T: Xdr>(h: &Header, body: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    put_u32(&mut out, 0);
    h.encode(&mut out);
    body.encode(&mut out);
    let len = out.len() as u32;
    out[..LEN_WORD].copy_from_slice(&len.to_be_bytes());
    out
}

/// Splits one whole message (starting with its length word) into header and
/// body. Bytes after the declared length are not part of the message and are
/// ignored.
pub fn split_message(buf: &[u8]) -> Result<(Header, &[u8]), FrameError> {
    let word: [u8; 4] = match buf.get(..LEN_WORD) {
        Some(w) => [w[0], w[1], w[2], w[3]],
        None => {
            return Err(FrameError::Incomplete {
                declared: LEN_WORD,
                available: buf.len(),
            })
        }
    };
    let len = message_len(word)?;
    if buf.len() < len {
        return Err(FrameError::Incomplete {
            declared: len,
            available: buf.len(),
        });
    }
    let mut hb = [0u8; HEADER_LEN];
    hb.copy_from_slice(&buf[LEN_WORD..MIN_MESSAGE_LEN]);
    Ok((Header::decode(&hb), &buf[MIN_MESSAGE_LEN..len]))
}

/// One decoded message with an owned body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub header: Header,
    pub body: Vec<u8>,
}

impl Message {
    /// The bytes of this message as sent on the wire.
    pub fn to_wire(&self) -> Vec<u8> {
        encode_message(&self.header, &self.body)
    }
}

/// Incremental reassembly of messages from a byte stream: push whatever the
/// transport delivered, then pop whole messages.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    start: usize,
}

impl FrameDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes received but not yet returned as messages.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Returns the next whole message, `Ok(None)` if more bytes are needed,
    /// or an error for an illegal length word (the stream is then unusable).
    pub fn next_message(&mut self) -> Result<Option<Message>, FrameError> {
        let pending = &self.buf[self.start..];
        let Some(w) = pending.get(..LEN_WORD) else {
            return Ok(None);
        };
        let len = message_len([w[0], w[1], w[2], w[3]])?;
        if pending.len() < len {
            return Ok(None);
        }
        let (header, body) = split_message(&pending[..len])?;
        let msg = Message {
            header,
            body: body.to_vec(),
        };
        self.start += len;
        if self.start > 64 * 1024 && self.start * 2 > self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        Ok(Some(msg))
    }

    /// The buffer a transport reads into, with at least `spare` free bytes:
    /// bytes appended to it are decoded next. Reading straight into it spares
    /// the copy [`FrameDecoder::push`] makes.
    pub fn read_buffer(&mut self, spare: usize) -> &mut Vec<u8> {
        if self.start > 0
            && (self.start == self.buf.len() || self.buf.capacity() - self.buf.len() < spare)
        {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.reserve(spare);
        &mut self.buf
    }

    /// Bytes still missing from the message being received, as far as its
    /// length word tells (0 when no message is partly received).
    pub fn missing(&self) -> usize {
        let pending = &self.buf[self.start..];
        match pending.get(..LEN_WORD) {
            Some(w) => match message_len([w[0], w[1], w[2], w[3]]) {
                Ok(len) => len.saturating_sub(pending.len()),
                Err(_) => 0,
            },
            None => 0,
        }
    }

    /// Like [`FrameDecoder::next_message`] without copying the body: the
    /// header and a view of the body inside the decoder's buffer.
    pub fn next_frame(&mut self) -> Result<Option<(Header, &[u8])>, FrameError> {
        let pending = &self.buf[self.start..];
        let Some(w) = pending.get(..LEN_WORD) else {
            return Ok(None);
        };
        let len = message_len([w[0], w[1], w[2], w[3]])?;
        if pending.len() < len {
            return Ok(None);
        }
        let start = self.start;
        self.start += len;
        let (header, body) = split_message(&self.buf[start..start + len])?;
        Ok(Some((header, body)))
    }

    /// Drops up to `n` received bytes that are not part of any message (the
    /// one-byte carriers of passed descriptors); returns how many it dropped.
    pub fn discard(&mut self, n: usize) -> usize {
        let n = n.min(self.buffered());
        self.start += n;
        n
    }

    /// Returns the buffer to the allocator when nothing is pending and it
    /// grew beyond `keep` bytes (one large message should not pin memory).
    pub fn release_if_idle(&mut self, keep: usize) {
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
            if self.buf.capacity() > keep {
                self.buf = Vec::new();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::MessageType;

    #[test]
    fn length_word_limits() {
        assert_eq!(message_len(28u32.to_be_bytes()), Ok(28));
        assert_eq!(
            message_len(27u32.to_be_bytes()),
            Err(FrameError::TooShort(27))
        );
        let max = MAX_MESSAGE_LEN as u32;
        assert_eq!(message_len(max.to_be_bytes()), Ok(33_554_436));
        assert_eq!(
            message_len((max + 1).to_be_bytes()),
            Err(FrameError::TooLong(max + 1))
        );
    }

    #[test]
    fn decoder_reassembles_split_messages() {
        let h = Header::new(0x6b65_6570, 1, MessageType::Message, 0);
        let one = encode_message(&h, &[]);
        let two = encode_message(&h, &[0, 0, 0, 7]);
        let mut wire = one.clone();
        wire.extend_from_slice(&two);
        let mut dec = FrameDecoder::new();
        dec.push(&wire[..3]);
        assert_eq!(dec.next_message(), Ok(None));
        dec.push(&wire[3..30]);
        assert_eq!(dec.next_message().unwrap().unwrap().to_wire(), one);
        assert_eq!(dec.next_message(), Ok(None));
        dec.push(&wire[30..]);
        let m = dec.next_message().unwrap().unwrap();
        assert_eq!(m.body, vec![0, 0, 0, 7]);
        assert_eq!(dec.buffered(), 0);
    }

    #[test]
    fn frames_read_in_place_match_pushed_messages() {
        let h = Header::new(0x6b65_6570, 1, MessageType::Message, 0);
        let mut wire = encode_message(&h, &[1, 2, 3, 4]);
        encode_message_into(&mut wire, &h, &[]);
        let mut dec = FrameDecoder::new();
        dec.read_buffer(64).extend_from_slice(&wire[..30]);
        assert_eq!(dec.missing(), 2);
        assert_eq!(dec.next_frame(), Ok(None));
        dec.read_buffer(4).extend_from_slice(&wire[30..]);
        let (header, body) = dec.next_frame().unwrap().unwrap();
        assert_eq!((header, body), (h, &[1u8, 2, 3, 4][..]));
        assert_eq!(dec.next_frame().unwrap().unwrap().1, &[] as &[u8]);
        assert_eq!(dec.next_frame(), Ok(None));
        dec.release_if_idle(0);
        assert_eq!((dec.buffered(), dec.missing()), (0, 0));
        dec.read_buffer(4).extend_from_slice(&[0, 0, 0, 1]);
        assert_eq!(dec.next_frame(), Err(FrameError::TooShort(1)));
    }

    #[test]
    fn encode_with_value_matches_encode_raw() {
        let h = Header::new(1, 2, MessageType::Call, 3);
        assert_eq!(
            encode_message_with(&h, &7u32),
            encode_message(&h, &[0, 0, 0, 7])
        );
    }
}
