//! Driver API, domain XML model and the hypervisor drivers.
//!
//! The daemon talks to hypervisors only through [`api::Driver`] and [`api::Connection`];
//! drivers never see the wire protocol.

pub mod api;
pub mod domain_list;
pub mod domain_xml;
pub mod fsutil;
pub mod host;
pub mod interface;
pub mod lxc;
pub mod network;
pub mod nodedev;
pub mod qemu;
pub mod secret;
pub mod storage;
pub mod test_driver;
pub mod virconf;
