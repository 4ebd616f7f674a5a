//! The procedure table: every procedure of every program, declared once.
//!
//! Each program's rows (in [`crate::programs`]) give a procedure's number,
//! constant name, libvirt API name, family, priority, stream use, read-only
//! access class and, where this crate has them, its argument and reply
//! types. From the rows come the constants, the names, the typed `Call` enum
//! with its decode function, the re-encoders the golden and fuzz tests use,
//! the read-only policy and the coverage report.

#[macro_use]
mod macros;
mod access;
mod coverage;
mod unserved_reasons;

pub use access::{Access, Refusal, Test};
pub use coverage::{
    coverage_markdown, family_coverage, reason_problems, unserved_markdown, FamilyCoverage,
};
pub use unserved_reasons::unserved_reason;

use crate::programs::{
    admin_proc, keepalive, lxc_proc, qemu_proc, remote_proc, ADMIN_PROGRAM, KEEPALIVE_PROGRAM,
    LXC_PROGRAM, QEMU_PROGRAM, REMOTE_PROGRAM,
};
use crate::xdr::{from_bytes_exact, to_bytes, Xdr, XdrError};

/// Decodes a body that must be used up entirely and encodes the value again.
pub type Reencode = fn(&[u8]) -> Result<Vec<u8>, XdrError>;

/// The [`Reencode`] of one type.
pub fn reencode_as<T: Xdr>(body: &[u8]) -> Result<Vec<u8>, XdrError> {
    from_bytes_exact::<T>(body).map(|v| to_bytes(&v))
}

/// The area of the API a procedure belongs to, as the coverage report
/// groups them; it also decides the error domain of refusals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    Connect,
    Domain,
    Network,
    Storage,
    Node,
    Secret,
    Nwfilter,
    Interface,
    Nodedev,
    Snapshot,
    Checkpoint,
    Qemu,
    Lxc,
    Admin,
    Keepalive,
}

impl Family {
    /// Families in report order.
    pub const ALL: [Family; 15] = [
        Family::Connect,
        Family::Domain,
        Family::Network,
        Family::Storage,
        Family::Node,
        Family::Secret,
        Family::Nwfilter,
        Family::Interface,
        Family::Nodedev,
        Family::Snapshot,
        Family::Checkpoint,
        Family::Qemu,
        Family::Lxc,
        Family::Admin,
        Family::Keepalive,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Family::Connect => "connect",
            Family::Domain => "domain",
            Family::Network => "network",
            Family::Storage => "storage",
            Family::Node => "node",
            Family::Secret => "secret",
            Family::Nwfilter => "nwfilter",
            Family::Interface => "interface",
            Family::Nodedev => "nodedev",
            Family::Snapshot => "snapshot",
            Family::Checkpoint => "checkpoint",
            Family::Qemu => "qemu",
            Family::Lxc => "lxc",
            Family::Admin => "admin",
            Family::Keepalive => "keepalive",
        }
    }

    /// libvirt's error domain for errors its public API functions of this
    /// family raise themselves (read-only refusals, "not supported"): the
    /// `VIR_FROM_THIS` of the source file that holds them.
    pub fn error_domain(self) -> i32 {
        use crate::error::domains;
        match self {
            Family::Domain => domains::DOMAIN,
            Family::Network => domains::NETWORK,
            Family::Storage => domains::STORAGE,
            Family::Secret => domains::SECRET,
            Family::Nwfilter => domains::NWFILTER,
            Family::Interface => domains::INTERFACE,
            Family::Nodedev => domains::NODEDEV,
            Family::Snapshot => domains::DOMAIN_SNAPSHOT,
            Family::Checkpoint => domains::DOMAIN_CHECKPOINT,
            Family::Admin => domains::ADMIN,
            Family::Connect | Family::Node | Family::Qemu | Family::Lxc | Family::Keepalive => {
                domains::NONE
            }
        }
    }
}

/// The `@priority` annotation: high-priority calls may run while every
/// ordinary worker is busy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Priority {
    Low,
    High,
}

/// Whether the call opens a data stream, and which way the data flows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    None,
    /// The server sends data (`@readstream`).
    Read,
    /// The client sends data (`@writestream`).
    Write,
}

/// What the crate knows about a procedure's bodies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Typed, with a variant in the program's `Call` enum: the daemon serves it.
    Served,
    /// Typed, but not served: its bodies can be checked, the daemon answers
    /// "not supported".
    Typed,
    /// A message the server sends on its own (an event or keepalive).
    Event,
    /// Neither the bodies nor a handler exist yet.
    Untyped,
}

/// One row of the table.
#[derive(Clone, Copy, Debug)]
pub struct ProcInfo {
    pub number: i32,
    /// The constant's name without program prefix, e.g. `DOMAIN_GET_XML_DESC`.
    pub name: &'static str,
    /// The public API function, e.g. `virDomainGetXMLDesc` (for procedures
    /// without one, the name libvirt's generator would give it).
    pub api: &'static str,
    pub family: Family,
    pub priority: Priority,
    pub stream: Stream,
    pub access: Access,
    pub kind: Kind,
    pub args: Option<Reencode>,
    pub ret: Option<Reencode>,
    pub msg: Option<Reencode>,
}

/// Why a call's bytes were not turned into a `Call`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("unknown procedure: {0}")]
    UnknownProcedure(i32),
    #[error("Unable to decode message payload: {0}")]
    Body(#[from] XdrError),
}

/// A procedure that has no handler: the daemon answers "not supported".
#[derive(Clone, Copy, Debug)]
pub struct Unserved {
    pub info: &'static ProcInfo,
}

impl PartialEq for Unserved {
    fn eq(&self, other: &Self) -> bool {
        self.info.number == other.info.number && self.info.name == other.info.name
    }
}

/// The decode step for rows without a `Call` variant: typed rows have their
/// arguments checked like any other call (libvirtd decodes before it looks
/// for a driver); untyped rows cannot be checked.
pub(crate) fn decode_unserved(
    rows: &'static [ProcInfo],
    proc_: i32,
    body: &[u8],
) -> Result<Unserved, DecodeError> {
    let info = usize::try_from(proc_.wrapping_sub(1))
        .ok()
        .and_then(|i| rows.get(i))
        .filter(|info| info.number == proc_)
        .ok_or(DecodeError::UnknownProcedure(proc_))?;
    if let (Kind::Typed, Some(check)) = (info.kind, info.args) {
        check(body)?;
    }
    Ok(Unserved { info })
}

/// The rows of a program, indexed by procedure number - 1.
pub fn rows(prog: u32) -> Option<&'static [ProcInfo]> {
    Some(match prog {
        REMOTE_PROGRAM => remote_proc::ROWS,
        QEMU_PROGRAM => qemu_proc::ROWS,
        LXC_PROGRAM => lxc_proc::ROWS,
        ADMIN_PROGRAM => admin_proc::ROWS,
        KEEPALIVE_PROGRAM => keepalive::ROWS,
        _ => return None,
    })
}

/// The row of one procedure.
pub fn info(prog: u32, proc_: i32) -> Option<&'static ProcInfo> {
    let rows = rows(prog)?;
    let row = rows.get(usize::try_from(proc_.checked_sub(1)?).ok()?)?;
    (row.number == proc_).then_some(row)
}

/// Decodes the arguments of a call through its program's `Call::decode` and
/// encodes them again: the path the daemon takes, for the golden and fuzz
/// tests. `None` when the procedure has no argument type.
pub fn reencode_args(prog: u32, proc_: i32, body: &[u8]) -> Option<Result<Vec<u8>, XdrError>> {
    fn through<C: CallCodec>(proc_: i32, body: &[u8]) -> Option<Result<Vec<u8>, XdrError>> {
        match C::decode(proc_, body) {
            Ok(call) => match call.encode_args() {
                Some(bytes) => Some(Ok(bytes)),
                // Checked by the decode step already; re-encode for the bytes.
                None => call.unserved()?.info.args.map(|f| f(body)),
            },
            Err(DecodeError::UnknownProcedure(_)) => None,
            Err(DecodeError::Body(e)) => {
                // Untyped rows never fail to decode; typed ones report here.
                Some(Err(e))
            }
        }
    }
    match prog {
        REMOTE_PROGRAM => through::<remote_proc::Call>(proc_, body),
        QEMU_PROGRAM => through::<qemu_proc::Call>(proc_, body),
        LXC_PROGRAM => through::<lxc_proc::Call>(proc_, body),
        ADMIN_PROGRAM => through::<admin_proc::Call>(proc_, body),
        KEEPALIVE_PROGRAM => through::<keepalive::Call>(proc_, body),
        _ => None,
    }
}

/// What code common to all programs needs of a program's `Call` enum.
pub trait CallCodec: Sized {
    fn decode(proc_: i32, body: &[u8]) -> Result<Self, DecodeError>;
    /// The arguments' bytes; `None` for an unserved call.
    fn encode_args(&self) -> Option<Vec<u8>>;
    fn unserved(&self) -> Option<Unserved>;
    /// The procedure's row.
    fn info(&self) -> &'static ProcInfo;
    /// Refuses the call on a read-only connection when its row says so.
    fn read_only_verdict(&self) -> Result<(), Refusal>;
}
