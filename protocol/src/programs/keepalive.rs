//! The keepalive program: PING and PONG, both sent as messages with serial 0.
//!
//! One row per procedure; the format is described in `crate::table`.
//! Adding a procedure: give its row types (`typed`) or a `Call` variant
//! (`serve`), and the compiler asks the daemon for its handler.

procedure_table! {
    1 PING "virPing" Keepalive High None allow event(());
    2 PONG "virPong" Keepalive High None allow event(());
}
