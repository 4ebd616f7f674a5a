//! `libvirtd-bench`: this project's libvirtd and the real libvirtd 9.0
//! under the same load in one run, with ratios.
//!
//! Layers: [`wire`] builds the calls and runs a blocking client, [`load`]
//! drives many connections from one epoll loop, [`launch`] and
//! [`isolation`] start and confine the daemons, [`procfs`] reads their
//! memory and CPU, [`phases`] measures one quantity each, [`report`] prints
//! the table and [`run`] ties it together.

pub mod cli;
pub mod isolation;
pub mod launch;
pub mod load;
pub mod machine;
pub mod phases;
pub mod procfs;
pub mod report;
pub mod run;
pub mod stats;
pub mod wire;
