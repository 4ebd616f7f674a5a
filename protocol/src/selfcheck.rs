//! A single entry point that runs arbitrary bytes through framing and every
//! body decoder, for the fuzz target and its stable-toolchain twin test.

use crate::catalog::{reencode, reencode_body, BodyKind};
use crate::frame::{split_message, FrameDecoder};
use crate::header::Status;
use crate::programs::{
    admin_proc, keepalive, lxc_proc, qemu_proc, remote_proc, ADMIN_PROGRAM, KEEPALIVE_PROGRAM,
    LXC_PROGRAM, QEMU_PROGRAM, REMOTE_PROGRAM,
};

/// A broken invariant. Decoding errors are expected on arbitrary input and
/// are not reported; only a value that decodes but does not re-encode to the
/// exact bytes it came from (decoding is canonical and uses the whole body)
/// is. Call arguments go through the daemon's decode path, `Call::decode`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvariantViolation {
    #[error("body of prog {prog:#x} proc {proc_} ({kind:?}) re-encoded to different bytes")]
    NotCanonical {
        prog: u32,
        proc_: i32,
        kind: Option<BodyKind>,
    },
    #[error("incremental framing disagreed with whole-message framing")]
    FramingMismatch,
}

const PROGRAMS: [(u32, i32); 5] = [
    (REMOTE_PROGRAM, remote_proc::MAX),
    (QEMU_PROGRAM, qemu_proc::MAX),
    (LXC_PROGRAM, lxc_proc::MAX),
    (ADMIN_PROGRAM, admin_proc::MAX),
    (KEEPALIVE_PROGRAM, keepalive::MAX),
];

/// Runs `data` through the decoders:
/// 1. as a whole message (length word, header, body decoded per header);
/// 2. through [`FrameDecoder`] in two pieces, which must agree with (1);
/// 3. as `selector (4 bytes) + body`, where the selector picks a program,
///    procedure and body kind, so every decoder is reachable.
pub fn exercise(data: &[u8]) -> Result<(), InvariantViolation> {
    let whole = split_message(data).ok();
    if let Some((h, body)) = whole {
        if let Some(Ok(again)) = reencode_body(&h, body) {
            // An error body may carry a domain or network reference, which
            // the decoder skips on purpose (libvirtd never fills them in):
            // there, encoding what was decoded must only give the same bytes
            // when decoded and encoded again.
            let expected = if h.status_kind() == Some(Status::Error) {
                match reencode_body(&h, &again) {
                    Some(Ok(twice)) => twice,
                    _ => Vec::new(),
                }
            } else {
                body.to_vec()
            };
            if again != expected {
                return Err(InvariantViolation::NotCanonical {
                    prog: h.prog,
                    proc_: h.proc_,
                    kind: None,
                });
            }
        }
    }

    let mut frames = FrameDecoder::new();
    let cut = data.len() / 2;
    frames.push(&data[..cut]);
    let early = frames.next_message();
    frames.push(&data[cut..]);
    let first = match early {
        Ok(Some(m)) => Some(m),
        Ok(None) => frames.next_message().ok().flatten(),
        Err(_) => None,
    };
    let agrees = match (&whole, &first) {
        (Some((h, body)), Some(m)) => m.header == *h && m.body == *body,
        (None, None) => true,
        _ => false,
    };
    if !agrees {
        return Err(InvariantViolation::FramingMismatch);
    }

    if data.len() >= 4 {
        let sel = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
        let (prog, max) = PROGRAMS[(sel % 5) as usize];
        let proc_ = ((sel >> 3) % (max as u32 + 1)) as i32;
        let kind = [BodyKind::Args, BodyKind::Ret, BodyKind::Msg][((sel >> 16) % 3) as usize];
        let body = &data[4..];
        if let Some(Ok(again)) = reencode(prog, proc_, kind, body) {
            if again != body {
                return Err(InvariantViolation::NotCanonical {
                    prog,
                    proc_,
                    kind: Some(kind),
                });
            }
        }
    }
    Ok(())
}
