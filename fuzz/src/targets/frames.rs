//! Framing, header and call decoding as the daemon does them: bytes pushed
//! into [`FrameDecoder`] in two pieces, each message's arguments through its
//! program's `Call::decode`, plus the catalog's canonical re-encoding check.

use protocol::frame::FrameDecoder;
use protocol::programs::{
    admin_proc, keepalive, lxc_proc, qemu_proc, remote_proc, ADMIN_PROGRAM, KEEPALIVE_PROGRAM,
    LXC_PROGRAM, QEMU_PROGRAM, REMOTE_PROGRAM,
};
use protocol::Message;

use super::{error_kind, header_fact, Features, Target};
use crate::rng::Rng;

pub const TARGET: Target = Target {
    name: "frames",
    run,
    mutate,
    ci_iterations: 40_000,
};

const MAX_INPUT: usize = 64 * 1024;

fn mutate(rng: &mut Rng, base: &[u8], other: &[u8]) -> Vec<u8> {
    crate::mutate::frames(rng, base, other, MAX_INPUT)
}

fn run(input: &[u8]) -> Features {
    if let Err(violation) = protocol::selfcheck::exercise(input) {
        panic!("{violation}");
    }
    let mut sig = Features::default();
    let mut decoder = FrameDecoder::new();
    let cut = input
        .first()
        .map_or(0, |b| usize::from(*b) % (input.len() + 1));
    for piece in [&input[..cut], &input[cut..]] {
        decoder.push(piece);
        loop {
            match decoder.next_message() {
                Ok(Some(m)) => decode_call(&m, &mut sig),
                Ok(None) => break,
                Err(e) => {
                    sig.add_kind("frame", &e);
                    return sig;
                }
            }
        }
    }
    sig
}

/// Decodes the body as the arguments of the header's procedure.
fn decode_call(m: &Message, sig: &mut Features) {
    let h = &m.header;
    let proc_ = h.proc_;
    let body = &m.body[..];
    let outcome = match h.prog {
        REMOTE_PROGRAM => remote_proc::Call::decode(proc_, body).map(|c| c.number()),
        QEMU_PROGRAM => qemu_proc::Call::decode(proc_, body).map(|c| c.number()),
        LXC_PROGRAM => lxc_proc::Call::decode(proc_, body).map(|c| c.number()),
        ADMIN_PROGRAM => admin_proc::Call::decode(proc_, body).map(|c| c.number()),
        KEEPALIVE_PROGRAM => keepalive::Call::decode(proc_, body).map(|c| c.number()),
        _ => return sig.add("unknown program"),
    };
    // Decoding depends on the program and procedure only.
    sig.add(("header", header_fact(h).2, header_fact(h).3));
    let fact = (header_fact(h).0, header_fact(h).1);
    match outcome {
        Ok(number) => {
            assert_eq!(number, proc_, "Call::decode returned another procedure");
            sig.add((fact, "decoded"));
        }
        Err(e) => sig.add((fact, error_kind(&e))),
    }
}
