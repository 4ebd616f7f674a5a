//! Numeric constants of libvirt's public API that cross the driver boundary unchanged.

/// `virConnectListAllDomainsFlags`.
pub mod list_flags {
    pub const ACTIVE: u32 = 1;
    pub const INACTIVE: u32 = 2;
    pub const PERSISTENT: u32 = 4;
    pub const TRANSIENT: u32 = 8;
    pub const RUNNING: u32 = 16;
    pub const PAUSED: u32 = 32;
    pub const SHUTOFF: u32 = 64;
    pub const OTHER: u32 = 128;
    pub const MANAGEDSAVE: u32 = 256;
    pub const NO_MANAGEDSAVE: u32 = 512;
    pub const AUTOSTART: u32 = 1024;
    pub const NO_AUTOSTART: u32 = 2048;
    pub const HAS_SNAPSHOT: u32 = 4096;
    pub const NO_SNAPSHOT: u32 = 8192;
    pub const HAS_CHECKPOINT: u32 = 16384;
    pub const NO_CHECKPOINT: u32 = 32768;
    /// Every flag libvirt 9.0 accepts for `virConnectListAllDomains`.
    pub const ALL: u32 = 0xffff;
}

/// `virDomainState`, by libvirt's names.
pub mod state {
    pub use super::super::DomainState;

    pub const NOSTATE: DomainState = DomainState::NoState;
    pub const RUNNING: DomainState = DomainState::Running;
    pub const BLOCKED: DomainState = DomainState::Blocked;
    pub const PAUSED: DomainState = DomainState::Paused;
    pub const SHUTDOWN: DomainState = DomainState::Shutdown;
    pub const SHUTOFF: DomainState = DomainState::Shutoff;
    pub const CRASHED: DomainState = DomainState::Crashed;
    pub const PMSUSPENDED: DomainState = DomainState::PmSuspended;
}

/// State reasons (`virDomainRunningReason`, `virDomainPausedReason`, ...).
pub mod reason {
    pub const RUNNING_UNKNOWN: i32 = 0;
    pub const RUNNING_BOOTED: i32 = 1;
    pub const RUNNING_MIGRATED: i32 = 2;
    pub const RUNNING_RESTORED: i32 = 3;
    pub const RUNNING_UNPAUSED: i32 = 5;
    pub const RUNNING_MIGRATION_CANCELED: i32 = 6;
    pub const RUNNING_WAKEUP: i32 = 8;
    pub const PMSUSPENDED_UNKNOWN: i32 = 0;
    pub const PAUSED_UNKNOWN: i32 = 0;
    pub const PAUSED_USER: i32 = 1;
    /// Started from a saved image and left paused (libvirt's incoming-migration reason).
    pub const PAUSED_MIGRATION: i32 = 2;
    /// Paused while its state is written out.
    pub const PAUSED_SAVE: i32 = 3;
    pub const SHUTDOWN_UNKNOWN: i32 = 0;
    pub const SHUTDOWN_USER: i32 = 1;
    pub const SHUTOFF_UNKNOWN: i32 = 0;
    pub const SHUTOFF_SHUTDOWN: i32 = 1;
    pub const SHUTOFF_DESTROYED: i32 = 2;
    pub const SHUTOFF_CRASHED: i32 = 3;
    pub const SHUTOFF_MIGRATED: i32 = 4;
    pub const SHUTOFF_SAVED: i32 = 5;
    pub const SHUTOFF_FAILED: i32 = 6;
    /// Stopped by the daemon itself (e.g. refused by the reconnect hook).
    pub const SHUTOFF_DAEMON: i32 = 8;
}

/// `virDomainEventType` and the detail values of each type.
pub mod event {
    pub const DEFINED: i32 = 0;
    pub const UNDEFINED: i32 = 1;
    pub const STARTED: i32 = 2;
    pub const SUSPENDED: i32 = 3;
    pub const RESUMED: i32 = 4;
    pub const STOPPED: i32 = 5;
    pub const SHUTDOWN: i32 = 6;
    pub const PMSUSPENDED: i32 = 7;
    pub const CRASHED: i32 = 8;

    pub const DEFINED_ADDED: i32 = 0;
    pub const DEFINED_UPDATED: i32 = 1;
    pub const DEFINED_RENAMED: i32 = 2;
    pub const UNDEFINED_REMOVED: i32 = 0;
    pub const UNDEFINED_RENAMED: i32 = 1;
    pub const STARTED_BOOTED: i32 = 0;
    pub const STARTED_MIGRATED: i32 = 1;
    pub const STARTED_RESTORED: i32 = 2;
    pub const STARTED_WAKEUP: i32 = 4;
    pub const PMSUSPENDED_MEMORY: i32 = 0;
    pub const PMSUSPENDED_DISK: i32 = 1;
    pub const SUSPENDED_PAUSED: i32 = 0;
    pub const SUSPENDED_MIGRATED: i32 = 1;
    /// Restored from an image of a guest that was paused when saved.
    pub const SUSPENDED_RESTORED: i32 = 4;
    pub const RESUMED_UNPAUSED: i32 = 0;
    pub const RESUMED_MIGRATED: i32 = 1;
    pub const STOPPED_SHUTDOWN: i32 = 0;
    pub const STOPPED_DESTROYED: i32 = 1;
    pub const STOPPED_CRASHED: i32 = 2;
    pub const STOPPED_MIGRATED: i32 = 3;
    pub const STOPPED_SAVED: i32 = 4;
    pub const STOPPED_FAILED: i32 = 5;
    pub const SHUTDOWN_FINISHED: i32 = 0;
    pub const SHUTDOWN_GUEST: i32 = 1;
    pub const SHUTDOWN_HOST: i32 = 2;
    pub const STARTED_FROM_SNAPSHOT: i32 = 3;
    pub const SUSPENDED_FROM_SNAPSHOT: i32 = 5;
    pub const RESUMED_FROM_SNAPSHOT: i32 = 2;
    pub const STOPPED_FROM_SNAPSHOT: i32 = 6;
}

/// `virDomainXMLFlags` for `get_xml_desc`.
pub mod xml_flags {
    pub const SECURE: u32 = 1;
    pub const INACTIVE: u32 = 2;
    pub const UPDATE_CPU: u32 = 4;
    pub const MIGRATABLE: u32 = 8;
}

/// `virDomainCreateFlags` for `create` and `create_xml`.
pub mod create_flags {
    pub const START_PAUSED: u32 = 1;
    pub const AUTODESTROY: u32 = 2;
    pub const BYPASS_CACHE: u32 = 4;
    pub const FORCE_BOOT: u32 = 8;
    pub const VALIDATE: u32 = 16;
    pub const RESET_NVRAM: u32 = 32;
}

/// `virDomainDefineFlags`.
pub mod define_flags {
    pub const VALIDATE: u32 = 1;
}

/// `virDomainUndefineFlagsValues`.
pub mod undefine_flags {
    pub const MANAGED_SAVE: u32 = 1;
    pub const SNAPSHOTS_METADATA: u32 = 2;
    pub const NVRAM: u32 = 4;
    pub const KEEP_NVRAM: u32 = 8;
    pub const CHECKPOINTS_METADATA: u32 = 16;
    pub const TPM: u32 = 32;
    pub const KEEP_TPM: u32 = 64;
}

/// `virDomainVcpuFlags` (shares values with `virDomainModificationImpact`).
pub mod vcpu_flags {
    pub const AFFECT_CURRENT: u32 = 0;
    pub const LIVE: u32 = 1;
    pub const CONFIG: u32 = 2;
    pub const MAXIMUM: u32 = 4;
    pub const GUEST: u32 = 8;
    pub const HOTPLUGGABLE: u32 = 16;
}

/// `virDrvFeature` numbers a client may probe with `supports_feature`.
pub mod feature {
    pub const MIGRATION_V1: i32 = 1;
    pub const REMOTE: i32 = 2;
    pub const MIGRATION_V2: i32 = 3;
    pub const MIGRATION_P2P: i32 = 4;
    pub const MIGRATION_DIRECT: i32 = 5;
    pub const MIGRATION_V3: i32 = 6;
    pub const MIGRATE_CHANGE_PROTECTION: i32 = 7;
    pub const FD_PASSING: i32 = 8;
    pub const TYPED_PARAM_STRING: i32 = 9;
    pub const PROGRAM_KEEPALIVE: i32 = 10;
    pub const XML_MIGRATABLE: i32 = 11;
    pub const MIGRATION_OFFLINE: i32 = 12;
    pub const MIGRATION_PARAMS: i32 = 13;
    pub const REMOTE_EVENT_CALLBACK: i32 = 14;
    pub const REMOTE_CLOSE_CALLBACK: i32 = 15;
    pub const NETWORK_UPDATE_HAS_CORRECT_ORDER: i32 = 16;
}
