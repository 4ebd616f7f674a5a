//! The driver API the daemon dispatches to. Plain Rust values only: no XDR, no sockets.

mod agent;
mod blockjob;
mod checkpoint;
mod connection;
mod consts;
mod devices;
mod domain_state;
mod error;
mod extra_calls;
mod interface;
mod live_tuning;
mod migration;
mod network;
mod nodedev;
mod registry;
mod secret;
mod snapshot;
mod stats;
mod storage;
mod tuning;

use std::sync::Arc;

pub use agent::{guest_info_types, GuestAgentCalls, GuestFsInfo, NoGuestAgent};
pub use blockjob::{BlockCopyParams, BlockJobInfo, DomainBlockJobs, BLOCK_RESIZE_BYTES};
pub use checkpoint::{
    checkpoint_create_flags, checkpoint_delete_flags, checkpoint_list_flags, checkpoint_xml_flags,
    DomainCheckpoints,
};
pub use connection::{Connection, Driver, HypervisorTarget};
pub use consts::{
    create_flags, define_flags, event, feature, list_flags, reason, state, undefine_flags,
    vcpu_flags, xml_flags,
};
pub use devices::{device_modify, DomainDevices};
pub use domain_state::DomainState;
pub use error::{codes, domains, DriverError, DriverResult};
pub use extra_calls::DomainExtraCalls;
pub use interface::*;
pub use live_tuning::{set_vcpu_flags, DomainLiveTuning};
pub use migration::{migrate_flags, migrate_param, DomainMigration, MigrationStep};
pub use network::*;
pub use nodedev::*;
pub use registry::DriverRegistry;
pub use secret::*;
pub use snapshot::{
    snapshot_create_flags, snapshot_delete_flags, snapshot_list_flags, snapshot_revert_flags,
    DomainSnapshots,
};
pub use stats::{
    memory_stat, stats_flags, stats_groups, BlockInfo, BlockStats, DomainStatistics,
    DomainStatsRecord, InterfaceStats, StatsRequest,
};
pub use storage::{
    pool_event, InUseProbe, PoolEvent, PoolEventKind, PoolEventSink, PoolHandle, PoolInfo,
    StorageConnection, StorageDriver, TransferChunk, VolumeHandle, VolumeInfo, VolumeReader,
    VolumeTarget, VolumeWriter,
};
pub use tuning::{
    job_operation, job_type, HostCpuMap, JobProgress, NamedParam, ParamValue, VcpuDetail,
};

/// A domain UUID in its 16 raw bytes, as on the wire.
pub type Uuid = [u8; 16];

/// What a client holds for a domain (libvirt's `remote_nonnull_domain`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainHandle {
    pub name: String,
    pub uuid: Uuid,
    /// -1 while the domain is inactive.
    pub id: i32,
}

/// The reference the client sent: the daemon resolves by uuid; name is used only in error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainRef {
    pub name: String,
    pub uuid: Uuid,
}

impl From<&DomainHandle> for DomainRef {
    fn from(handle: &DomainHandle) -> Self {
        DomainRef {
            name: handle.name.clone(),
            uuid: handle.uuid,
        }
    }
}

/// `virDomainGetInfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainInfo {
    pub state: u8,
    pub max_mem_kib: u64,
    pub memory_kib: u64,
    pub nr_virt_cpu: u16,
    pub cpu_time_ns: u64,
}

/// `virDomainGetControlInfo`: how the driver's control of the guest stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ControlInfo {
    /// `VIR_DOMAIN_CONTROL_*`: 0 ok, 1 a job is running.
    pub state: u32,
    /// `VIR_DOMAIN_CONTROL_ERROR_REASON_*` when `state` is an error; else 0.
    pub details: u32,
    /// Milliseconds spent in `state` (0 for ok).
    pub state_time_ms: u64,
}

impl ControlInfo {
    pub const OK: u32 = 0;
    pub const JOB: u32 = 1;
}

/// `virNodeGetInfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeInfo {
    pub model: String,
    pub memory_kib: u64,
    pub cpus: u32,
    pub mhz: u32,
    pub nodes: u32,
    pub sockets: u32,
    pub cores: u32,
    pub threads: u32,
}

/// `virNodeGetSecurityModel`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityModel {
    pub model: String,
    pub doi: String,
}

/// `virDomainGetSecurityLabel`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityLabel {
    pub label: String,
    pub enforcing: bool,
}

/// Lifecycle and other domain events, pushed by drivers to the daemon's fan-out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DomainEventKind {
    /// `VIR_DOMAIN_EVENT_ID_LIFECYCLE` with a [`event`] type and detail.
    Lifecycle { event: i32, detail: i32 },
    /// `VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE`: the guest agent's channel was
    /// connected (1) or disconnected (2), for a reason (2: channel event).
    AgentLifecycle { state: i32, reason: i32 },
    /// `VIR_DOMAIN_EVENT_ID_REBOOT`.
    Reboot,
    /// `VIR_DOMAIN_EVENT_ID_PMSUSPEND` (`to_disk` false) or
    /// `VIR_DOMAIN_EVENT_ID_PMSUSPEND_DISK`, with a reason (0).
    PmSuspend { to_disk: bool, reason: i32 },
    /// `VIR_DOMAIN_EVENT_ID_PMWAKEUP`, with a reason (0).
    PmWakeup { reason: i32 },
    /// `VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED`: the guest let go of the device with this alias.
    DeviceRemoved { alias: String },
    /// `VIR_DOMAIN_EVENT_ID_DEVICE_REMOVAL_FAILED`.
    DeviceRemovalFailed { alias: String },
    /// `VIR_DOMAIN_EVENT_ID_METADATA_CHANGE`: a `virDomainMetadataType` and, for
    /// elements, the namespace URI.
    MetadataChange { kind: i32, nsuri: Option<String> },
    /// `VIR_DOMAIN_EVENT_ID_BLOCK_JOB` (`v2` false: the disk's source path) or
    /// `VIR_DOMAIN_EVENT_ID_BLOCK_JOB_2` (`v2` true: its target, `vda`), with a
    /// `virDomainBlockJobType` and `virConnectDomainEventBlockJobStatus`.
    BlockJob {
        disk: String,
        kind: i32,
        status: i32,
        v2: bool,
    },
    /// `VIR_DOMAIN_EVENT_ID_BLOCK_THRESHOLD`: `dev` (`vda`) was written past
    /// `threshold` by `excess` bytes; `path` is the image's source.
    BlockThreshold {
        dev: String,
        path: Option<String>,
        threshold: u64,
        excess: u64,
    },
    /// `VIR_DOMAIN_EVENT_ID_MIGRATION_ITERATION`: QEMU began pass `iteration`
    /// over the guest's memory.
    MigrationIteration { iteration: i32 },
    /// `VIR_DOMAIN_EVENT_ID_JOB_COMPLETED`: an asynchronous job (a backup) ended,
    /// with its `virDomainJobOperation`, run time and byte counts.
    JobCompleted {
        operation: i32,
        elapsed_ms: u64,
        total: u64,
        processed: u64,
        success: bool,
    },
    /// `VIR_DOMAIN_EVENT_ID_GRAPHICS`: a VNC or SPICE client connected (phase 0),
    /// finished its handshake (1) or left (2).
    Graphics {
        phase: i32,
        local: GraphicsAddress,
        remote: GraphicsAddress,
        auth_scheme: String,
        /// (type, name) pairs: `x509dname`, `saslUsername`.
        subject: Vec<(String, String)>,
    },
    /// A QMP event as QEMU sent it, for `qemu-monitor-event` clients: name,
    /// timestamp and the `data` member's JSON text.
    QemuMonitor {
        event: String,
        seconds: i64,
        micros: u32,
        details: Option<String>,
    },
}

/// One end of a graphics connection: `virDomainEventGraphicsAddressType`
/// (0 IPv4, 1 IPv6, 2 unix), host and port (or socket path).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphicsAddress {
    pub family: i32,
    pub node: String,
    pub service: String,
}

/// One event about one domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainEvent {
    pub domain: DomainHandle,
    pub kind: DomainEventKind,
}

/// Where a driver delivers its events; the daemon fans them out to registered clients.
pub type EventSink = Arc<dyn Fn(DomainEvent) + Send + Sync>;

/// Lower-case hyphenated text form of a UUID ("6695eb01-f6a4-8304-79aa-97f2502e193f").
pub fn format_uuid(uuid: &Uuid) -> String {
    uuid::Uuid::from_bytes(*uuid).hyphenated().to_string()
}

/// Parses a UUID the way libvirt accepts it: 32 hex digits, hyphens anywhere between
/// pairs and surrounding whitespace ignored.
pub fn parse_uuid(text: &str) -> Option<Uuid> {
    let digits: Vec<u8> = text.trim().bytes().filter(|b| *b != b'-').collect();
    if digits.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in digits.chunks(2).enumerate() {
        let text = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(text, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_round_trip() {
        let uuid = parse_uuid("6695eb01-f6a4-8304-79aa-97f2502e193f");
        assert_eq!(
            uuid.map(|u| format_uuid(&u)).as_deref(),
            Some("6695eb01-f6a4-8304-79aa-97f2502e193f")
        );
        assert_eq!(parse_uuid("6695EB01F6A4830479AA97F2502E193F"), uuid);
    }

    #[test]
    fn uuid_rejects_bad_text() {
        assert_eq!(parse_uuid("6695eb01"), None);
        assert_eq!(parse_uuid("zz95eb01-f6a4-8304-79aa-97f2502e193f"), None);
    }

    #[test]
    fn ref_from_handle_keeps_name_and_uuid() {
        let handle = DomainHandle {
            name: "a".into(),
            uuid: [7; 16],
            id: 3,
        };
        let r = DomainRef::from(&handle);
        assert_eq!(r.name, "a");
        assert_eq!(r.uuid, [7; 16]);
    }
}
