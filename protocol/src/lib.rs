//! The libvirt RPC wire format, sans I/O: bytes in, messages out.
//!
//! Layers: [`xdr`] (primitive encoding with limits enforced before
//! allocation), [`header`] and [`frame`] (message boundaries), [`error`] (the
//! error body and libvirt's code/domain numbers), [`programs`] (program and
//! procedure numbers), the procedure [`table`] every procedure is declared
//! in once (its `Call` enums decode calls), and the typed bodies in
//! [`remote`], [`qemu`] and [`admin`].

// The table macro takes one step per row of the remote program.
#![recursion_limit = "1024"]

#[macro_use]
pub mod table;

pub mod admin;
pub mod catalog;
pub mod error;
pub mod frame;
pub mod header;
pub mod programs;
pub mod qemu;
pub mod remote;
pub mod selfcheck;
pub mod typed_param;
pub mod xdr;

pub use error::RemoteError;
pub use frame::{
    encode_message, encode_message_with, message_len, split_message, FrameDecoder, FrameError,
    Message,
};
pub use header::{Header, MessageType, Status, HEADER_LEN};
pub use typed_param::{TypedParam, TypedParamValue};
pub use xdr::{Decoder, Xdr, XdrError};
