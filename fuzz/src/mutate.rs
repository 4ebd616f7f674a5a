//! Mutations: byte-level ones for text and binary inputs, and one that
//! keeps libvirt framing intact so that the mutation lands in a header or
//! body instead of only breaking the length word.

use crate::rng::Rng;

/// Values that sit on the edges of XDR lengths, counts and enums.
const INTERESTING_U32: [u32; 10] = [
    0,
    1,
    0x7f,
    0xff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0xffff_fffe,
    0x0010_0000,
    0x0400_0000,
];

/// Tokens that steer text parsers into their less travelled branches.
const TEXT_TOKENS: [&str; 16] = [
    "<", ">", "</", "/>", "='", "\"", "&amp;", "&#x", "]", "[", ",", "=", "#", "\n", "{", "}",
];

/// One to four byte-level changes, possibly splicing in part of `other`.
pub fn bytes(rng: &mut Rng, base: &[u8], other: &[u8], max_len: usize) -> Vec<u8> {
    let mut v = base.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(9) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = [0, 0xff, 0x7f, 0x80, 1, b'<', b'"', b'\''][rng.below(8)];
            }
            2 if v.len() >= 4 => {
                let i = rng.below(v.len() - 3);
                let word = INTERESTING_U32[rng.below(INTERESTING_U32.len())];
                v[i..i + 4].copy_from_slice(&word.to_be_bytes());
            }
            3 if !v.is_empty() => {
                let start = rng.below(v.len());
                let end = (start + 1 + rng.below(16)).min(v.len());
                v.drain(start..end);
            }
            4 if !v.is_empty() => {
                let start = rng.below(v.len());
                let end = (start + 1 + rng.below(32)).min(v.len());
                let chunk = v[start..end].to_vec();
                let at = rng.below(v.len() + 1);
                v.splice(at..at, chunk);
            }
            5 if !other.is_empty() => {
                let start = rng.below(other.len());
                let end = (start + 1 + rng.below(64)).min(other.len());
                let at = rng.below(v.len() + 1);
                v.splice(at..at, other[start..end].iter().copied());
            }
            6 => {
                let token = TEXT_TOKENS[rng.below(TEXT_TOKENS.len())];
                let at = rng.below(v.len() + 1);
                v.splice(at..at, token.bytes());
            }
            7 => v.truncate(rng.below(v.len() + 1)),
            _ => {
                let at = rng.below(v.len() + 1);
                let n = 1 + rng.below(8);
                let fill: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
                v.splice(at..at, fill);
            }
        }
    }
    v.truncate(max_len);
    v
}

/// Splits a byte stream into libvirt messages by their length words; the
/// tail that does not form a message is the last element.
pub fn split_frames(stream: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = stream;
    while rest.len() >= 4 {
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if len < 4 || len > rest.len() {
            break;
        }
        out.push(&rest[..len]);
        rest = &rest[len..];
    }
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// Rewrites the length word of a message after its content changed.
fn fix_length(message: &mut [u8]) {
    if message.len() >= 4 {
        let len = message.len() as u32;
        message[..4].copy_from_slice(&len.to_be_bytes());
    }
}

/// Mutates a stream of messages: one message changed (with its length word
/// kept right most of the time), dropped, duplicated or taken from `other`.
pub fn frames(rng: &mut Rng, base: &[u8], other: &[u8], max_len: usize) -> Vec<u8> {
    if rng.chance(8) {
        return bytes(rng, base, other, max_len);
    }
    let mut messages: Vec<Vec<u8>> = split_frames(base).iter().map(|m| m.to_vec()).collect();
    let donors = split_frames(other);
    if messages.is_empty() {
        return bytes(rng, base, other, max_len);
    }
    let i = rng.below(messages.len());
    match rng.below(6) {
        0 => {
            messages.remove(i);
        }
        1 => {
            let copy = messages[i].clone();
            messages.insert(i, copy);
        }
        2 if !donors.is_empty() => {
            let donor = donors[rng.below(donors.len())].to_vec();
            messages.insert(i, donor);
        }
        _ => {
            let body_only = messages[i].get(4..).unwrap_or(&[]).to_vec();
            let changed = bytes(rng, &body_only, other, max_len);
            let mut m = 0u32.to_be_bytes().to_vec();
            m.extend(changed);
            if !rng.chance(16) {
                fix_length(&mut m);
            }
            messages[i] = m;
        }
    }
    let mut out = messages.concat();
    out.truncate(max_len);
    out
}
