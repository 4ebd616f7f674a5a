//! Feeds arbitrary bytes to framing and to every body decoder, by header
//! and by a selector that picks program, procedure and body kind.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = protocol::selfcheck::exercise(data) {
        panic!("{violation}");
    }
});
