//! One domain object list for every hypervisor driver, after libvirt's
//! `virDomainObjList`: the objects keyed by name, uuid and id, the
//! `virConnectListAllDomains` filter, libvirt's definition-clash rule, the
//! definitions, status files and autostart links on disk, the URI, flag and
//! hook-error conventions and the managed-save policy. Drivers add only what
//! differs: how a guest runs and what a running guest carries.

mod autostart;
mod clash;
mod filter;
mod flags;
mod hook_error;
mod list;
mod load;
mod locking;
mod lookup;
mod managed_save;
mod object;
mod queries;
mod reload;
mod status_file;
mod store;
mod transitions;
mod uri;

pub use clash::check_clash;
pub use filter::{matches_list_flags, ListFacts};
pub use flags::check_flags;
pub use hook_error::hook_error;
pub use list::{DomainList, ListOrder, ListRules};
pub use load::load_definitions;
pub use locking::lock_unpoisoned;
pub use managed_save::{ManagedSave, StartFrom};
pub use object::DomainObj;
pub(crate) use queries::list_queries;
pub use reload::status_files;
pub use status_file::{format_status, parse_status, StatusDoc};
pub use store::{DefinitionStore, LoadedConfig};
pub use uri::{open_system_uri, uri_path};
