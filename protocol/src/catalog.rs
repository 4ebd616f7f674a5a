//! Which body type belongs to which message, from the procedure table, for
//! checking recorded traffic byte for byte and for fuzzing the decoders.
//! Call arguments go through the programs' `Call::decode`, the function the
//! daemon serves with.

use crate::error::RemoteError;
use crate::header::{Header, MessageType, Status};
use crate::table::{self, reencode_as};
use crate::xdr::{Decoder, XdrError};

/// At most this many file descriptors travel with one message.
pub const MAX_FDS: u32 = 32;

/// The role of a message body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKind {
    /// Arguments of a call.
    Args,
    /// Return value of a successful reply.
    Ret,
    /// An asynchronous message (event or keepalive).
    Msg,
}

/// Decodes one body as the table says and encodes it again; `None` when the
/// table has no type for it.
pub fn reencode(
    prog: u32,
    proc_: i32,
    kind: BodyKind,
    body: &[u8],
) -> Option<Result<Vec<u8>, XdrError>> {
    match kind {
        BodyKind::Args => table::reencode_args(prog, proc_, body),
        BodyKind::Ret => Some(table::info(prog, proc_)?.ret?(body)),
        BodyKind::Msg => Some(table::info(prog, proc_)?.msg?(body)),
    }
}

/// Decodes the body of a message as its header says and encodes it again.
/// `None` means the body is raw stream data or has no known type.
pub fn reencode_body(h: &Header, body: &[u8]) -> Option<Result<Vec<u8>, XdrError>> {
    let status = h.status_kind()?;
    let mtype = h.message_type()?;
    if status == Status::Error {
        return Some(reencode_as::<RemoteError>(body));
    }
    let kind = match mtype {
        MessageType::Call => BodyKind::Args,
        MessageType::Reply => BodyKind::Ret,
        MessageType::Message => BodyKind::Msg,
        MessageType::CallWithFds => return with_fd_count(h, BodyKind::Args, body),
        MessageType::ReplyWithFds => return with_fd_count(h, BodyKind::Ret, body),
        MessageType::StreamHole => return Some(reencode_as::<(i64, u32)>(body)),
        MessageType::Stream => return None,
    };
    reencode(h.prog, h.proc_, kind, body)
}

/// Bodies of the *_WITH_FDS types start with a full word counting the fds.
fn with_fd_count(h: &Header, kind: BodyKind, body: &[u8]) -> Option<Result<Vec<u8>, XdrError>> {
    let mut d = Decoder::new(body);
    let count = match d.u32() {
        Ok(c) if c <= MAX_FDS => c,
        Ok(c) => {
            return Some(Err(XdrError::TooLong {
                what: "fd count",
                len: c as usize,
                max: MAX_FDS as usize,
            }))
        }
        Err(e) => return Some(Err(e)),
    };
    let rest = reencode(h.prog, h.proc_, kind, &body[4..])?;
    Some(rest.map(|rest| {
        let mut out = count.to_be_bytes().to_vec();
        out.extend_from_slice(&rest);
        out
    }))
}
