//! Typed arguments, return values and event messages of the remote program,
//! split by area. Each `<Proc>Args` / `<Proc>Ret` / `<Event>Msg` struct
//! mirrors the layout of the libvirt 9.0 protocol definition field by field.

mod agent;
mod blockjob;
mod chars;
mod checkpoint;
mod connect;
mod console;
mod domain;
mod domain_devices;
mod domain_extra;
mod domain_info;
mod domain_live_tuning;
mod domain_stats;
mod domain_tuning;
mod events;
mod identity;
mod interface;
pub mod limits;
mod migration;
mod network;
mod node;
mod nodedev;
mod objects;
mod save_image;
mod secret;
mod snapshot;
mod storage;

pub use agent::*;
pub use blockjob::*;
pub use chars::CharArray;
pub use checkpoint::*;
pub use connect::*;
pub use console::*;
pub use domain::*;
pub use domain_devices::*;
pub use domain_extra::*;
pub use domain_info::*;
pub use domain_live_tuning::*;
pub use domain_stats::*;
pub use domain_tuning::*;
pub use events::*;
pub use identity::*;
pub use interface::*;
pub use migration::*;
pub use network::*;
pub use node::*;
pub use nodedev::*;
pub use objects::*;
pub use save_image::*;
pub use secret::*;
pub use snapshot::*;
pub use storage::*;
