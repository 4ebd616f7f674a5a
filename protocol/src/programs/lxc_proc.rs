//! The LXC program.
//!
//! One row per procedure; the format is described in `crate::table`.
//! Adding a procedure: give its row types (`typed`) or a `Call` variant
//! (`serve`), and the compiler asks the daemon for its handler.

use crate::qemu::LxcDomainOpenNamespaceArgs;

procedure_table! {
    1 DOMAIN_OPEN_NAMESPACE "virDomainLxcOpenNamespace" Lxc Low None deny serve DomainOpenNamespace(LxcDomainOpenNamespaceArgs => ());
}
