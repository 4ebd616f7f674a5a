//! Reader for libvirt's "virConf" configuration syntax, shared by libvirtd.conf,
//! qemu.conf and lxc.conf.
//!
//! The syntax is a small subset of Python assignments:
//!
//! ```text
//! # a comment
//! name = "string"          # trailing comments are allowed
//! other = 'single quoted'; count = -3
//! text = """spans
//! several lines"""
//! list = [ "a", "b",
//!          "c", ]
//! ```
//!
//! Entries are kept in file order with the line they start on, and lookups return
//! the *first* entry of a name, because that is what libvirt does: appending a second
//! `key = ...` line to a file has no effect. Unknown names are kept and simply never
//! asked for.
//!
//! Where this reader deliberately differs from libvirt 9.0 (all of them accept more
//! input or report an error instead of a silently wrong value):
//!
//! * comments are allowed inside lists (libvirt reports `expecting a value`);
//! * a file holding only blank lines is empty (libvirt reports `expecting a name`);
//! * integers that do not fit in 64 bits are a syntax error (`number out of range`)
//!   instead of wrapping around;
//! * `"""` always opens a multi-line string, even at the very end of a file.

mod error;
mod getters;
mod parser;
mod value;

#[cfg(test)]
mod tests_getters;
#[cfg(test)]
mod tests_syntax;

pub use error::{ConfError, SyntaxProblem, ValueProblem};
pub use value::{ConfFile, Entry, Value};
