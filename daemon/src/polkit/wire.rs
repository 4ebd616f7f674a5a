//! The few pieces of the D-Bus wire format the polkit check needs: method
//! calls with basic values, structs, arrays and variants, and parsing the
//! method returns and errors that answer them. Written for this one purpose
//! instead of pulling a full D-Bus stack (and its async runtime) into the daemon.

use thiserror::Error;

/// Message types of the D-Bus header.
pub const METHOD_CALL: u8 = 1;
pub const METHOD_RETURN: u8 = 2;
pub const ERROR: u8 = 3;

/// Header field codes.
const FIELD_PATH: u8 = 1;
const FIELD_INTERFACE: u8 = 2;
const FIELD_MEMBER: u8 = 3;
const FIELD_ERROR_NAME: u8 = 4;
const FIELD_REPLY_SERIAL: u8 = 5;
const FIELD_DESTINATION: u8 = 6;
const FIELD_SIGNATURE: u8 = 8;

/// Length of the fixed part of every message header.
pub const FIXED_HEADER_LEN: usize = 16;
/// Replies to our calls are small; anything larger is refused before allocating.
pub const MAX_MESSAGE_LEN: usize = 1 << 20;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum WireError {
    #[error("message truncated")]
    Truncated,
    #[error("invalid endianness byte {0:#x}")]
    BadEndian(u8),
    #[error("message of {0} bytes is too large")]
    TooLarge(usize),
    #[error("invalid UTF-8 in a string")]
    BadString,
    #[error("unexpected type signature '{0}'")]
    UnexpectedSignature(String),
}

/// Builds a little-endian message body or header; alignment is counted
/// from the start of the buffer, which is 8-aligned in the message.
#[derive(Default)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    pub fn align(&mut self, n: usize) {
        while !self.buf.len().is_multiple_of(n) {
            self.buf.push(0);
        }
    }
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    pub fn u32(&mut self, v: u32) {
        self.align(4);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn i32(&mut self, v: i32) {
        self.align(4);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u64(&mut self, v: u64) {
        self.align(8);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn string(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }
    pub fn signature(&mut self, s: &str) {
        self.u8(s.len() as u8);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }
    /// Writes an array whose elements are aligned to `elem_align`; the
    /// length word counts the element bytes only, not the padding before them.
    pub fn array(&mut self, elem_align: usize, elems: impl FnOnce(&mut Writer)) {
        self.u32(0);
        let len_at = self.buf.len() - 4;
        self.align(elem_align);
        let start = self.buf.len();
        elems(self);
        let len = (self.buf.len() - start) as u32;
        self.buf[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
    }
}

/// A value inside a variant, as the polkit subject needs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Basic {
    U32(u32),
    I32(i32),
    U64(u64),
}

impl Basic {
    pub fn write_variant(self, w: &mut Writer) {
        match self {
            Basic::U32(v) => {
                w.signature("u");
                w.u32(v)
            }
            Basic::I32(v) => {
                w.signature("i");
                w.i32(v)
            }
            Basic::U64(v) => {
                w.signature("t");
                w.u64(v)
            }
        }
    }
}

/// Where a method call goes.
pub struct Call<'a> {
    pub destination: &'a str,
    pub path: &'a str,
    pub interface: &'a str,
    pub member: &'a str,
    pub signature: &'a str,
}

/// A complete method call message with `serial` and an already marshalled body.
pub fn method_call(call: &Call<'_>, serial: u32, body: &[u8]) -> Vec<u8> {
    let mut w = Writer::default();
    w.u8(b'l');
    w.u8(METHOD_CALL);
    w.u8(0);
    w.u8(1);
    w.u32(body.len() as u32);
    w.u32(serial);
    w.array(8, |w| {
        field(w, FIELD_PATH, "o", |w| w.string(call.path));
        field(w, FIELD_DESTINATION, "s", |w| w.string(call.destination));
        field(w, FIELD_INTERFACE, "s", |w| w.string(call.interface));
        field(w, FIELD_MEMBER, "s", |w| w.string(call.member));
        if !call.signature.is_empty() {
            field(w, FIELD_SIGNATURE, "g", |w| w.signature(call.signature));
        }
    });
    w.align(8);
    w.buf.extend_from_slice(body);
    w.buf
}

fn field(w: &mut Writer, code: u8, sig: &str, value: impl FnOnce(&mut Writer)) {
    w.align(8);
    w.u8(code);
    w.signature(sig);
    value(w);
}

/// Reads values in either byte order; alignment is relative to `base`.
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    little: bool,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8], little: bool) -> Self {
        Reader {
            data,
            pos: 0,
            little,
        }
    }
    fn align(&mut self, n: usize) -> Result<(), WireError> {
        let pos = self.pos.div_ceil(n) * n;
        if pos > self.data.len() {
            return Err(WireError::Truncated);
        }
        self.pos = pos;
        Ok(())
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let end = self.pos.checked_add(n).ok_or(WireError::Truncated)?;
        let bytes = self.data.get(self.pos..end).ok_or(WireError::Truncated)?;
        self.pos = end;
        Ok(bytes)
    }
    pub fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.take(1)?[0])
    }
    pub fn u32(&mut self) -> Result<u32, WireError> {
        self.align(4)?;
        let b: [u8; 4] = self.take(4)?.try_into().map_err(|_| WireError::Truncated)?;
        Ok(if self.little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }
    #[cfg(test)]
    pub fn u64(&mut self) -> Result<u64, WireError> {
        self.align(8)?;
        let b: [u8; 8] = self.take(8)?.try_into().map_err(|_| WireError::Truncated)?;
        Ok(if self.little {
            u64::from_le_bytes(b)
        } else {
            u64::from_be_bytes(b)
        })
    }
    pub fn string(&mut self) -> Result<String, WireError> {
        let len = self.u32()? as usize;
        let bytes = self.take(len)?;
        self.take(1)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| WireError::BadString)
    }
    pub fn signature(&mut self) -> Result<String, WireError> {
        let len = self.u8()? as usize;
        let bytes = self.take(len)?;
        self.take(1)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| WireError::BadString)
    }
    /// Reads an array of elements aligned to `elem_align`, calling `elem` until its end.
    pub fn array(
        &mut self,
        elem_align: usize,
        mut elem: impl FnMut(&mut Self) -> Result<(), WireError>,
    ) -> Result<(), WireError> {
        let len = self.u32()? as usize;
        self.align(elem_align)?;
        let end = self.pos.checked_add(len).ok_or(WireError::Truncated)?;
        if end > self.data.len() {
            return Err(WireError::Truncated);
        }
        while self.pos < end {
            elem(self)?;
        }
        Ok(())
    }
    pub fn start_struct(&mut self) -> Result<(), WireError> {
        self.align(8)
    }
}

/// What the fixed header says about the message that follows.
pub struct Prefix {
    pub little: bool,
    /// Header fields array length (bytes 12..16).
    pub fields_len: usize,
    pub body_len: usize,
}

impl Prefix {
    pub fn parse(fixed: &[u8; FIXED_HEADER_LEN]) -> Result<Prefix, WireError> {
        let little = match fixed[0] {
            b'l' => true,
            b'B' => false,
            other => return Err(WireError::BadEndian(other)),
        };
        let mut r = Reader::new(fixed, little);
        r.take(4)?;
        let body_len = r.u32()? as usize;
        r.u32()?;
        let fields_len = r.u32()? as usize;
        let prefix = Prefix {
            little,
            fields_len,
            body_len,
        };
        let total = prefix.total_len();
        if total > MAX_MESSAGE_LEN {
            return Err(WireError::TooLarge(total));
        }
        Ok(prefix)
    }

    /// Whole message length: fixed header, fields, padding to 8, body.
    pub fn total_len(&self) -> usize {
        (FIXED_HEADER_LEN + self.fields_len).div_ceil(8) * 8 + self.body_len
    }
}

/// A received message, reduced to what answering a call needs.
#[derive(Debug, PartialEq, Eq)]
pub struct Message {
    pub kind: u8,
    pub reply_serial: Option<u32>,
    pub error_name: Option<String>,
    pub signature: String,
    pub little: bool,
    pub body: Vec<u8>,
}

/// Parses a whole message (as sized by [`Prefix`]).
pub fn parse_message(data: &[u8]) -> Result<Message, WireError> {
    let fixed: &[u8; FIXED_HEADER_LEN] = data
        .get(..FIXED_HEADER_LEN)
        .and_then(|b| b.try_into().ok())
        .ok_or(WireError::Truncated)?;
    let prefix = Prefix::parse(fixed)?;
    if data.len() < prefix.total_len() {
        return Err(WireError::Truncated);
    }
    let header_end = FIXED_HEADER_LEN + prefix.fields_len;
    let mut r = Reader::new(&data[..header_end], prefix.little);
    r.take(12)?;
    let mut message = Message {
        kind: data[1],
        reply_serial: None,
        error_name: None,
        signature: String::new(),
        little: prefix.little,
        body: data[prefix.total_len() - prefix.body_len..prefix.total_len()].to_vec(),
    };
    r.array(8, |r| {
        r.start_struct()?;
        let code = r.u8()?;
        let sig = r.signature()?;
        match sig.as_str() {
            "s" | "o" => {
                let s = r.string()?;
                if code == FIELD_ERROR_NAME {
                    message.error_name = Some(s);
                }
            }
            "g" => {
                let s = r.signature()?;
                if code == FIELD_SIGNATURE {
                    message.signature = s;
                }
            }
            "u" => {
                let v = r.u32()?;
                if code == FIELD_REPLY_SERIAL {
                    message.reply_serial = Some(v);
                }
            }
            other => return Err(WireError::UnexpectedSignature(other.to_string())),
        }
        Ok(())
    })?;
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_length_excludes_padding_and_empty_arrays_still_pad() {
        let mut w = Writer::default();
        w.u8(7);
        w.array(8, |_| {});
        // 1 byte, 3 padding, length 0, then padding to 8 for the elements.
        assert_eq!(w.buf, vec![7, 0, 0, 0, 0, 0, 0, 0]);
        let mut w = Writer::default();
        w.array(8, |w| {
            w.align(8);
            w.string("ab");
        });
        assert_eq!(&w.buf[..4], &7u32.to_le_bytes());
        assert_eq!(w.buf.len(), 8 + 7);
    }

    #[test]
    fn a_call_parses_back_with_its_fields() {
        let call = Call {
            destination: "org.example",
            path: "/org/example",
            interface: "org.example.Iface",
            member: "Ping",
            signature: "s",
        };
        let mut body = Writer::default();
        body.string("hello");
        let bytes = method_call(&call, 9, &body.buf);
        let fixed: &[u8; FIXED_HEADER_LEN] = bytes[..16].try_into().expect("16 bytes");
        let prefix = Prefix::parse(fixed).expect("prefix");
        assert_eq!(prefix.total_len(), bytes.len());
        let message = parse_message(&bytes).expect("parse");
        assert_eq!(message.kind, METHOD_CALL);
        assert_eq!(message.signature, "s");
        assert_eq!(message.reply_serial, None);
        let mut r = Reader::new(&message.body, true);
        assert_eq!(r.string().expect("string"), "hello");
    }

    #[test]
    fn an_error_reply_in_big_endian_is_understood() {
        // Fields: ERROR_NAME "e.X", REPLY_SERIAL 5, SIGNATURE "s"; body "no".
        let mut fields = Vec::new();
        fields.extend_from_slice(&[4, 1, b's', 0]);
        fields.extend_from_slice(&3u32.to_be_bytes());
        fields.extend_from_slice(b"e.X\0");
        fields.extend_from_slice(&[0; 4]);
        fields.extend_from_slice(&[5, 1, b'u', 0]);
        fields.extend_from_slice(&5u32.to_be_bytes());
        fields.extend_from_slice(&[8, 1, b'g', 0, 1, b's', 0]);
        let body = [&2u32.to_be_bytes()[..], b"no\0"].concat();
        let mut msg = vec![b'B', ERROR, 0, 1];
        msg.extend_from_slice(&(body.len() as u32).to_be_bytes());
        msg.extend_from_slice(&1u32.to_be_bytes());
        msg.extend_from_slice(&(fields.len() as u32).to_be_bytes());
        msg.extend_from_slice(&fields);
        while !msg.len().is_multiple_of(8) {
            msg.push(0);
        }
        msg.extend_from_slice(&body);
        let message = parse_message(&msg).expect("parse");
        assert_eq!(message.kind, ERROR);
        assert_eq!(message.error_name.as_deref(), Some("e.X"));
        assert_eq!(message.reply_serial, Some(5));
        let mut r = Reader::new(&message.body, message.little);
        assert_eq!(r.string().expect("string"), "no");
    }

    #[test]
    fn oversized_and_truncated_messages_are_refused() {
        let mut fixed = [0u8; FIXED_HEADER_LEN];
        fixed[0] = b'l';
        fixed[4..8].copy_from_slice(&(MAX_MESSAGE_LEN as u32).to_le_bytes());
        assert!(matches!(Prefix::parse(&fixed), Err(WireError::TooLarge(_))));
        fixed[0] = b'x';
        assert_eq!(
            Prefix::parse(&fixed).err(),
            Some(WireError::BadEndian(b'x'))
        );
        assert_eq!(parse_message(&[b'l', 2, 0]), Err(WireError::Truncated));
    }
}
