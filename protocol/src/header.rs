//! The 24-byte message header that follows every length word.

use crate::xdr::{put_u32, Decoder, Xdr, XdrError};

/// Size of the header: six 4-byte words.
pub const HEADER_LEN: usize = 24;

/// What a message is (header word 4).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageType {
    Call = 0,
    Reply = 1,
    /// Asynchronous messages: events and keepalive.
    Message = 2,
    /// Stream data, sharing the proc and serial of the call that opened it.
    Stream = 3,
    /// A call followed by file descriptors (count word precedes the args).
    CallWithFds = 4,
    ReplyWithFds = 5,
    /// A hole in a sparse stream.
    StreamHole = 6,
}

impl TryFrom<u32> for MessageType {
    type Error = u32;
    fn try_from(v: u32) -> Result<Self, u32> {
        Ok(match v {
            0 => MessageType::Call,
            1 => MessageType::Reply,
            2 => MessageType::Message,
            3 => MessageType::Stream,
            4 => MessageType::CallWithFds,
            5 => MessageType::ReplyWithFds,
            6 => MessageType::StreamHole,
            other => return Err(other),
        })
    }
}

/// Outcome carried by a message (header word 6).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    Ok = 0,
    /// The body is a [`crate::error::RemoteError`].
    Error = 1,
    /// More stream data follows.
    Continue = 2,
}

impl TryFrom<u32> for Status {
    type Error = u32;
    fn try_from(v: u32) -> Result<Self, u32> {
        Ok(match v {
            0 => Status::Ok,
            1 => Status::Error,
            2 => Status::Continue,
            other => return Err(other),
        })
    }
}

/// A decoded header. Type and status stay raw words so that a server can
/// answer (with an error) messages whose type or status it does not know.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    pub prog: u32,
    pub vers: u32,
    pub proc_: i32,
    pub mtype: u32,
    pub serial: u32,
    pub status: u32,
}

impl Header {
    /// A header with the given fields and status OK.
    pub fn new(prog: u32, proc_: i32, mtype: MessageType, serial: u32) -> Header {
        Header {
            prog,
            vers: crate::programs::PROTOCOL_VERSION,
            proc_,
            mtype: mtype as u32,
            serial,
            status: Status::Ok as u32,
        }
    }

    pub fn decode(b: &[u8; HEADER_LEN]) -> Header {
        let word = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        Header {
            prog: word(0),
            vers: word(4),
            proc_: word(8) as i32,
            mtype: word(12),
            serial: word(16),
            status: word(20),
        }
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        put_u32(out, self.prog);
        put_u32(out, self.vers);
        put_u32(out, self.proc_ as u32);
        put_u32(out, self.mtype);
        put_u32(out, self.serial);
        put_u32(out, self.status);
    }

    /// The header of a successful reply to this call: same prog, vers, proc
    /// and serial, type REPLY, status OK.
    pub fn reply_to(&self) -> Header {
        Header {
            mtype: MessageType::Reply as u32,
            status: Status::Ok as u32,
            ..*self
        }
    }

    /// The header of an error reply to this call.
    pub fn error_reply_to(&self) -> Header {
        Header {
            status: Status::Error as u32,
            ..self.reply_to()
        }
    }

    pub fn message_type(&self) -> Option<MessageType> {
        MessageType::try_from(self.mtype).ok()
    }

    pub fn status_kind(&self) -> Option<Status> {
        Status::try_from(self.status).ok()
    }
}

impl Xdr for Header {
    fn encode(&self, out: &mut Vec<u8>) {
        Header::encode(self, out);
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self, XdrError> {
        let b = d.opaque_fixed::<HEADER_LEN>()?;
        Ok(Header::decode(&b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_list_call_header_decodes() {
        let bytes: [u8; 24] = [
            0x20, 0x00, 0x80, 0x86, 0, 0, 0, 1, 0, 0, 0, 0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let h = Header::decode(&bytes);
        assert_eq!(h.prog, 0x2000_8086);
        assert_eq!(h.proc_, 66);
        assert_eq!(h.message_type(), Some(MessageType::Call));
        let mut out = Vec::new();
        h.encode(&mut out);
        assert_eq!(out, bytes);
    }

    #[test]
    fn reply_keeps_identity_and_sets_type() {
        let call = Header {
            prog: 1,
            vers: 1,
            proc_: -5,
            mtype: 0,
            serial: 0xffff_fff0,
            status: 7,
        };
        let r = call.reply_to();
        assert_eq!((r.prog, r.vers, r.proc_, r.serial), (1, 1, -5, 0xffff_fff0));
        assert_eq!(r.message_type(), Some(MessageType::Reply));
        assert_eq!(r.status_kind(), Some(Status::Ok));
        assert_eq!(call.error_reply_to().status_kind(), Some(Status::Error));
        assert_eq!(MessageType::try_from(9), Err(9));
    }
}
