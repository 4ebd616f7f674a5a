//! Which body type belongs to which procedure, for checking recorded
//! traffic byte for byte and for fuzzing the decoders. The daemon does its
//! own dispatch; this table only needs to cover the types this crate defines.

use crate::admin as a;
use crate::error::RemoteError;
use crate::header::{Header, MessageType, Status};
use crate::programs::{
    admin_proc as ap, keepalive, lxc_proc, qemu_proc as qp, remote_proc as p, ADMIN_PROGRAM,
    KEEPALIVE_PROGRAM, LXC_PROGRAM, QEMU_PROGRAM, REMOTE_PROGRAM,
};
use crate::qemu as q;
use crate::remote as r;
use crate::xdr::{from_bytes, to_bytes, Decoder, Xdr, XdrError};

/// At most this many file descriptors travel with one message.
pub const MAX_FDS: u32 = 32;

/// The role of a message body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKind {
    /// Arguments of a call.
    Args,
    /// Return value of a successful reply.
    Ret,
    /// An asynchronous message (event or keepalive).
    Msg,
}

/// Decodes a body and encodes the value again.
pub type Reencode = fn(&[u8]) -> Result<Vec<u8>, XdrError>;

fn rt<T: Xdr>(b: &[u8]) -> Result<Vec<u8>, XdrError> {
    from_bytes::<T>(b).map(|v| to_bytes(&v))
}

/// The re-encoder for one body, if this crate has a type for it.
pub fn reencoder(prog: u32, proc_: i32, kind: BodyKind) -> Option<Reencode> {
    match (prog, kind) {
        (REMOTE_PROGRAM, BodyKind::Args) => remote_args(proc_),
        (REMOTE_PROGRAM, BodyKind::Ret) => remote_ret(proc_),
        (REMOTE_PROGRAM, BodyKind::Msg) => remote_msg(proc_),
        (QEMU_PROGRAM, _) => qemu(proc_, kind),
        (LXC_PROGRAM, BodyKind::Args) if proc_ == lxc_proc::DOMAIN_OPEN_NAMESPACE => {
            Some(rt::<q::LxcDomainOpenNamespaceArgs>)
        }
        (LXC_PROGRAM, BodyKind::Ret) if proc_ == lxc_proc::DOMAIN_OPEN_NAMESPACE => Some(rt::<()>),
        (ADMIN_PROGRAM, BodyKind::Args) => admin_args(proc_),
        (ADMIN_PROGRAM, BodyKind::Ret) => admin_ret(proc_),
        (KEEPALIVE_PROGRAM, BodyKind::Msg) if keepalive::name(proc_).is_some() => Some(rt::<()>),
        _ => None,
    }
}

/// Decodes the body of a message as its header says and encodes it again.
/// `None` means the body is raw stream data or has no known type.
pub fn reencode_body(h: &Header, body: &[u8]) -> Option<Result<Vec<u8>, XdrError>> {
    let status = h.status_kind()?;
    let mtype = h.message_type()?;
    if status == Status::Error {
        return Some(rt::<RemoteError>(body));
    }
    match mtype {
        MessageType::Call => Some(reencoder(h.prog, h.proc_, BodyKind::Args)?(body)),
        MessageType::Reply => Some(reencoder(h.prog, h.proc_, BodyKind::Ret)?(body)),
        MessageType::Message => Some(reencoder(h.prog, h.proc_, BodyKind::Msg)?(body)),
        MessageType::CallWithFds => {
            with_fd_count(reencoder(h.prog, h.proc_, BodyKind::Args)?, body)
        }
        MessageType::ReplyWithFds => {
            with_fd_count(reencoder(h.prog, h.proc_, BodyKind::Ret)?, body)
        }
        MessageType::StreamHole => Some(rt::<(i64, u32)>(body)),
        MessageType::Stream => None,
    }
}

/// Bodies of the *_WITH_FDS types start with a full word counting the fds.
fn with_fd_count(inner: Reencode, body: &[u8]) -> Option<Result<Vec<u8>, XdrError>> {
    let mut d = Decoder::new(body);
    let count = match d.u32() {
        Ok(c) if c <= MAX_FDS => c,
        Ok(c) => {
            return Some(Err(XdrError::TooLong {
                what: "fd count",
                len: c as usize,
                max: MAX_FDS as usize,
            }))
        }
        Err(e) => return Some(Err(e)),
    };
    Some(inner(&body[4..]).map(|rest| {
        let mut out = to_bytes(&count);
        out.extend_from_slice(&rest);
        out
    }))
}

fn remote_args(proc_: i32) -> Option<Reencode> {
    Some(match proc_ {
        p::CONNECT_CLOSE
        | p::CONNECT_GET_TYPE
        | p::CONNECT_GET_VERSION
        | p::NODE_GET_INFO
        | p::CONNECT_GET_CAPABILITIES
        | p::CONNECT_NUM_OF_DEFINED_DOMAINS
        | p::CONNECT_NUM_OF_DOMAINS
        | p::CONNECT_GET_HOSTNAME
        | p::AUTH_LIST
        | p::AUTH_POLKIT
        | p::NODE_GET_FREE_MEMORY
        | p::CONNECT_DOMAIN_EVENT_REGISTER
        | p::CONNECT_DOMAIN_EVENT_DEREGISTER
        | p::CONNECT_GET_URI
        | p::NODE_GET_SECURITY_MODEL
        | p::CONNECT_IS_SECURE
        | p::CONNECT_GET_LIB_VERSION
        | p::CONNECT_REGISTER_CLOSE_CALLBACK
        | p::CONNECT_UNREGISTER_CLOSE_CALLBACK => rt::<()>,
        p::CONNECT_OPEN => rt::<r::ConnectOpenArgs>,
        p::CONNECT_SUPPORTS_FEATURE => rt::<r::ConnectSupportsFeatureArgs>,
        p::CONNECT_GET_SYSINFO => rt::<r::ConnectGetSysinfoArgs>,
        p::CONNECT_GET_MAX_VCPUS => rt::<r::ConnectGetMaxVcpusArgs>,
        p::CONNECT_GET_DOMAIN_CAPABILITIES => rt::<r::ConnectGetDomainCapabilitiesArgs>,
        p::CONNECT_LIST_DOMAINS => rt::<r::ConnectListDomainsArgs>,
        p::CONNECT_LIST_DEFINED_DOMAINS => rt::<r::ConnectListDefinedDomainsArgs>,
        p::CONNECT_LIST_ALL_DOMAINS => rt::<r::ConnectListAllDomainsArgs>,
        p::NODE_GET_CELLS_FREE_MEMORY => rt::<r::NodeGetCellsFreeMemoryArgs>,
        p::NODE_GET_CPU_STATS => rt::<r::NodeGetCpuStatsArgs>,
        p::NODE_GET_MEMORY_STATS => rt::<r::NodeGetMemoryStatsArgs>,
        p::DOMAIN_LOOKUP_BY_NAME => rt::<r::DomainLookupByNameArgs>,
        p::DOMAIN_LOOKUP_BY_UUID => rt::<r::DomainLookupByUuidArgs>,
        p::DOMAIN_LOOKUP_BY_ID => rt::<r::DomainLookupByIdArgs>,
        p::DOMAIN_DEFINE_XML => rt::<r::DomainDefineXmlArgs>,
        p::DOMAIN_DEFINE_XML_FLAGS => rt::<r::DomainDefineXmlFlagsArgs>,
        p::DOMAIN_CREATE_XML => rt::<r::DomainCreateXmlArgs>,
        p::DOMAIN_UNDEFINE
        | p::DOMAIN_CREATE
        | p::DOMAIN_DESTROY
        | p::DOMAIN_SUSPEND
        | p::DOMAIN_RESUME
        | p::DOMAIN_SHUTDOWN
        | p::DOMAIN_GET_INFO
        | p::DOMAIN_GET_AUTOSTART
        | p::DOMAIN_IS_ACTIVE
        | p::DOMAIN_IS_PERSISTENT
        | p::DOMAIN_IS_UPDATED
        | p::DOMAIN_GET_OS_TYPE
        | p::DOMAIN_GET_MAX_MEMORY
        | p::DOMAIN_GET_MAX_VCPUS
        | p::DOMAIN_GET_SECURITY_LABEL
        | p::DOMAIN_GET_SECURITY_LABEL_LIST => rt::<r::DomainCreateArgs>,
        p::DOMAIN_UNDEFINE_FLAGS
        | p::DOMAIN_CREATE_WITH_FLAGS
        | p::DOMAIN_DESTROY_FLAGS
        | p::DOMAIN_SHUTDOWN_FLAGS
        | p::DOMAIN_REBOOT
        | p::DOMAIN_RESET
        | p::DOMAIN_MANAGED_SAVE
        | p::DOMAIN_MANAGED_SAVE_REMOVE
        | p::DOMAIN_HAS_MANAGED_SAVE_IMAGE
        | p::DOMAIN_GET_STATE
        | p::DOMAIN_GET_XML_DESC
        | p::DOMAIN_GET_VCPUS_FLAGS
        | p::DOMAIN_SNAPSHOT_NUM
        | p::DOMAIN_GET_MESSAGES
        | p::DOMAIN_GET_HOSTNAME => rt::<r::DomainUndefineFlagsArgs>,
        p::DOMAIN_SAVE => rt::<r::DomainSaveArgs>,
        p::DOMAIN_SAVE_FLAGS => rt::<r::DomainSaveFlagsArgs>,
        p::DOMAIN_RESTORE => rt::<r::DomainRestoreArgs>,
        p::DOMAIN_RESTORE_FLAGS => rt::<r::DomainRestoreFlagsArgs>,
        p::DOMAIN_SET_AUTOSTART => rt::<r::DomainSetAutostartArgs>,
        p::DOMAIN_SET_MEMORY | p::DOMAIN_SET_MAX_MEMORY => rt::<r::DomainSetMemoryArgs>,
        p::DOMAIN_SET_MEMORY_FLAGS => rt::<r::DomainSetMemoryFlagsArgs>,
        p::DOMAIN_SET_VCPUS => rt::<r::DomainSetVcpusArgs>,
        p::DOMAIN_SET_VCPUS_FLAGS => rt::<r::DomainSetVcpusFlagsArgs>,
        p::DOMAIN_SET_METADATA => rt::<r::DomainSetMetadataArgs>,
        p::DOMAIN_GET_METADATA => rt::<r::DomainGetMetadataArgs>,
        p::DOMAIN_ATTACH_DEVICE_FLAGS | p::DOMAIN_DETACH_DEVICE_FLAGS => {
            rt::<r::DomainAttachDeviceFlagsArgs>
        }
        p::DOMAIN_FD_ASSOCIATE => rt::<r::DomainFdAssociateArgs>,
        p::CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY => {
            rt::<r::ConnectDomainEventCallbackRegisterAnyArgs>
        }
        p::CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY => {
            rt::<r::ConnectDomainEventCallbackDeregisterAnyArgs>
        }
        p::CONNECT_DOMAIN_EVENT_REGISTER_ANY | p::CONNECT_DOMAIN_EVENT_DEREGISTER_ANY => {
            rt::<r::ConnectDomainEventRegisterAnyArgs>
        }
        p::NETWORK_LOOKUP_BY_NAME => rt::<r::NetworkLookupByNameArgs>,
        p::NETWORK_LOOKUP_BY_UUID => rt::<r::NetworkLookupByUuidArgs>,
        p::NETWORK_CREATE
        | p::NETWORK_DESTROY
        | p::NETWORK_UNDEFINE
        | p::NETWORK_GET_AUTOSTART
        | p::NETWORK_GET_BRIDGE_NAME
        | p::NETWORK_IS_ACTIVE
        | p::NETWORK_IS_PERSISTENT => rt::<r::NetworkRefArgs>,
        p::NETWORK_DEFINE_XML => rt::<r::NetworkDefineXmlArgs>,
        p::NETWORK_DEFINE_XML_FLAGS => rt::<r::NetworkDefineXmlFlagsArgs>,
        p::NETWORK_CREATE_XML => rt::<r::NetworkCreateXmlArgs>,
        p::NETWORK_CREATE_XML_FLAGS => rt::<r::NetworkCreateXmlFlagsArgs>,
        p::NETWORK_GET_XML_DESC => rt::<r::NetworkGetXmlDescArgs>,
        p::NETWORK_SET_AUTOSTART => rt::<r::NetworkSetAutostartArgs>,
        p::CONNECT_LIST_ALL_NETWORKS => rt::<r::ConnectListAllNetworksArgs>,
        p::CONNECT_NETWORK_EVENT_REGISTER_ANY => rt::<r::ConnectNetworkEventRegisterAnyArgs>,
        p::CONNECT_NETWORK_EVENT_DEREGISTER_ANY => rt::<r::ConnectNetworkEventDeregisterAnyArgs>,
        p::STORAGE_POOL_LOOKUP_BY_NAME => rt::<r::StoragePoolLookupByNameArgs>,
        p::STORAGE_POOL_LOOKUP_BY_VOLUME => rt::<r::StoragePoolLookupByVolumeArgs>,
        p::STORAGE_POOL_IS_ACTIVE | p::STORAGE_POOL_GET_INFO | p::STORAGE_POOL_GET_AUTOSTART => {
            rt::<r::StoragePoolRefArgs>
        }
        p::CONNECT_LIST_ALL_STORAGE_POOLS => rt::<r::ConnectListAllStoragePoolsArgs>,
        p::STORAGE_VOL_LOOKUP_BY_NAME => rt::<r::StorageVolLookupByNameArgs>,
        p::STORAGE_VOL_UPLOAD | p::STORAGE_VOL_DOWNLOAD => rt::<r::StorageVolTransferArgs>,
        _ => return None,
    })
}

fn remote_ret(proc_: i32) -> Option<Reencode> {
    Some(match proc_ {
        p::CONNECT_OPEN
        | p::CONNECT_CLOSE
        | p::CONNECT_REGISTER_CLOSE_CALLBACK
        | p::CONNECT_UNREGISTER_CLOSE_CALLBACK
        | p::DOMAIN_UNDEFINE
        | p::DOMAIN_UNDEFINE_FLAGS
        | p::DOMAIN_CREATE
        | p::DOMAIN_DESTROY
        | p::DOMAIN_DESTROY_FLAGS
        | p::DOMAIN_SUSPEND
        | p::DOMAIN_RESUME
        | p::DOMAIN_SHUTDOWN
        | p::DOMAIN_SHUTDOWN_FLAGS
        | p::DOMAIN_REBOOT
        | p::DOMAIN_RESET
        | p::DOMAIN_MANAGED_SAVE
        | p::DOMAIN_MANAGED_SAVE_REMOVE
        | p::DOMAIN_SAVE
        | p::DOMAIN_SAVE_FLAGS
        | p::DOMAIN_RESTORE
        | p::DOMAIN_RESTORE_FLAGS
        | p::DOMAIN_SET_AUTOSTART
        | p::DOMAIN_SET_MEMORY
        | p::DOMAIN_SET_MAX_MEMORY
        | p::DOMAIN_SET_MEMORY_FLAGS
        | p::DOMAIN_SET_VCPUS
        | p::DOMAIN_SET_VCPUS_FLAGS
        | p::DOMAIN_SET_METADATA
        | p::DOMAIN_ATTACH_DEVICE_FLAGS
        | p::DOMAIN_DETACH_DEVICE_FLAGS
        | p::DOMAIN_FD_ASSOCIATE
        | p::CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY
        | p::CONNECT_DOMAIN_EVENT_REGISTER_ANY
        | p::CONNECT_DOMAIN_EVENT_DEREGISTER_ANY
        | p::NETWORK_CREATE
        | p::NETWORK_DESTROY
        | p::NETWORK_UNDEFINE
        | p::NETWORK_SET_AUTOSTART
        | p::CONNECT_NETWORK_EVENT_DEREGISTER_ANY
        | p::STORAGE_VOL_UPLOAD
        | p::STORAGE_VOL_DOWNLOAD => rt::<()>,
        p::AUTH_LIST => rt::<r::AuthListRet>,
        p::AUTH_POLKIT => rt::<r::AuthPolkitRet>,
        p::CONNECT_SUPPORTS_FEATURE => rt::<r::ConnectSupportsFeatureRet>,
        p::CONNECT_GET_TYPE => rt::<r::ConnectGetTypeRet>,
        p::CONNECT_GET_VERSION => rt::<r::ConnectGetVersionRet>,
        p::CONNECT_GET_LIB_VERSION => rt::<r::ConnectGetLibVersionRet>,
        p::CONNECT_GET_HOSTNAME => rt::<r::ConnectGetHostnameRet>,
        p::CONNECT_GET_URI => rt::<r::ConnectGetUriRet>,
        p::CONNECT_GET_SYSINFO => rt::<r::ConnectGetSysinfoRet>,
        p::CONNECT_GET_CAPABILITIES => rt::<r::ConnectGetCapabilitiesRet>,
        p::CONNECT_GET_MAX_VCPUS => rt::<r::ConnectGetMaxVcpusRet>,
        p::CONNECT_IS_SECURE => rt::<r::ConnectIsSecureRet>,
        p::CONNECT_GET_DOMAIN_CAPABILITIES => rt::<r::ConnectGetDomainCapabilitiesRet>,
        p::CONNECT_LIST_DOMAINS => rt::<r::ConnectListDomainsRet>,
        p::CONNECT_NUM_OF_DOMAINS => rt::<r::ConnectNumOfDomainsRet>,
        p::CONNECT_LIST_DEFINED_DOMAINS => rt::<r::ConnectListDefinedDomainsRet>,
        p::CONNECT_NUM_OF_DEFINED_DOMAINS => rt::<r::ConnectNumOfDefinedDomainsRet>,
        p::CONNECT_LIST_ALL_DOMAINS => rt::<r::ConnectListAllDomainsRet>,
        p::NODE_GET_INFO => rt::<r::NodeGetInfoRet>,
        p::NODE_GET_FREE_MEMORY => rt::<r::NodeGetFreeMemoryRet>,
        p::NODE_GET_CELLS_FREE_MEMORY => rt::<r::NodeGetCellsFreeMemoryRet>,
        p::NODE_GET_SECURITY_MODEL => rt::<r::NodeGetSecurityModelRet>,
        p::NODE_GET_CPU_STATS => rt::<r::NodeGetCpuStatsRet>,
        p::NODE_GET_MEMORY_STATS => rt::<r::NodeGetMemoryStatsRet>,
        p::DOMAIN_LOOKUP_BY_NAME
        | p::DOMAIN_LOOKUP_BY_UUID
        | p::DOMAIN_LOOKUP_BY_ID
        | p::DOMAIN_DEFINE_XML
        | p::DOMAIN_DEFINE_XML_FLAGS
        | p::DOMAIN_CREATE_WITH_FLAGS
        // All of these return just a domain reference.
        | p::DOMAIN_CREATE_XML => rt::<r::DomainLookupByNameRet>,
        p::DOMAIN_GET_INFO => rt::<r::DomainGetInfoRet>,
        p::DOMAIN_GET_STATE => rt::<r::DomainGetStateRet>,
        p::DOMAIN_GET_XML_DESC => rt::<r::DomainGetXmlDescRet>,
        p::DOMAIN_GET_AUTOSTART => rt::<r::DomainGetAutostartRet>,
        p::DOMAIN_IS_ACTIVE => rt::<r::DomainIsActiveRet>,
        p::DOMAIN_IS_PERSISTENT => rt::<r::DomainIsPersistentRet>,
        p::DOMAIN_IS_UPDATED => rt::<r::DomainIsUpdatedRet>,
        p::DOMAIN_GET_OS_TYPE => rt::<r::DomainGetOsTypeRet>,
        p::DOMAIN_GET_MAX_MEMORY => rt::<r::DomainGetMaxMemoryRet>,
        p::DOMAIN_GET_MAX_VCPUS => rt::<r::DomainGetMaxVcpusRet>,
        p::DOMAIN_GET_VCPUS_FLAGS => rt::<r::DomainGetVcpusFlagsRet>,
        p::DOMAIN_HAS_MANAGED_SAVE_IMAGE => rt::<r::DomainHasManagedSaveImageRet>,
        p::DOMAIN_SNAPSHOT_NUM => rt::<r::DomainSnapshotNumRet>,
        p::DOMAIN_GET_MESSAGES => rt::<r::DomainGetMessagesRet>,
        p::DOMAIN_GET_METADATA => rt::<r::DomainGetMetadataRet>,
        p::DOMAIN_GET_HOSTNAME => rt::<r::DomainGetHostnameRet>,
        p::DOMAIN_GET_SECURITY_LABEL => rt::<r::DomainGetSecurityLabelRet>,
        p::DOMAIN_GET_SECURITY_LABEL_LIST => rt::<r::DomainGetSecurityLabelListRet>,
        p::CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY => {
            rt::<r::ConnectDomainEventCallbackRegisterAnyRet>
        }
        p::CONNECT_DOMAIN_EVENT_REGISTER => rt::<r::ConnectDomainEventRegisterRet>,
        p::CONNECT_DOMAIN_EVENT_DEREGISTER => rt::<r::ConnectDomainEventDeregisterRet>,
        p::NETWORK_LOOKUP_BY_NAME => rt::<r::NetworkLookupByNameRet>,
        p::NETWORK_LOOKUP_BY_UUID => rt::<r::NetworkLookupByUuidRet>,
        p::NETWORK_DEFINE_XML
        | p::NETWORK_DEFINE_XML_FLAGS
        | p::NETWORK_CREATE_XML
        | p::NETWORK_CREATE_XML_FLAGS => rt::<r::NetworkRefRet>,
        p::NETWORK_GET_XML_DESC => rt::<r::NetworkGetXmlDescRet>,
        p::NETWORK_GET_AUTOSTART => rt::<r::NetworkGetAutostartRet>,
        p::NETWORK_GET_BRIDGE_NAME => rt::<r::NetworkGetBridgeNameRet>,
        p::NETWORK_IS_ACTIVE => rt::<r::NetworkIsActiveRet>,
        p::NETWORK_IS_PERSISTENT => rt::<r::NetworkIsPersistentRet>,
        p::CONNECT_LIST_ALL_NETWORKS => rt::<r::ConnectListAllNetworksRet>,
        p::CONNECT_NETWORK_EVENT_REGISTER_ANY => rt::<r::ConnectNetworkEventRegisterAnyRet>,
        p::STORAGE_POOL_LOOKUP_BY_NAME | p::STORAGE_POOL_LOOKUP_BY_VOLUME => {
            rt::<r::StoragePoolRefRet>
        }
        p::STORAGE_POOL_IS_ACTIVE => rt::<r::StoragePoolIsActiveRet>,
        p::STORAGE_POOL_GET_INFO => rt::<r::StoragePoolGetInfoRet>,
        p::STORAGE_POOL_GET_AUTOSTART => rt::<r::StoragePoolGetAutostartRet>,
        p::CONNECT_LIST_ALL_STORAGE_POOLS => rt::<r::ConnectListAllStoragePoolsRet>,
        p::STORAGE_VOL_LOOKUP_BY_NAME => rt::<r::StorageVolLookupByNameRet>,
        _ => return None,
    })
}

fn remote_msg(proc_: i32) -> Option<Reencode> {
    Some(match proc_ {
        p::DOMAIN_EVENT_LIFECYCLE => rt::<r::DomainEventLifecycleMsg>,
        p::DOMAIN_EVENT_REBOOT => rt::<r::DomainEventRebootMsg>,
        p::DOMAIN_EVENT_CALLBACK_LIFECYCLE => rt::<r::DomainEventCallbackLifecycleMsg>,
        p::DOMAIN_EVENT_CALLBACK_REBOOT => rt::<r::DomainEventCallbackRebootMsg>,
        p::DOMAIN_EVENT_CALLBACK_RTC_CHANGE => rt::<r::DomainEventCallbackRtcChangeMsg>,
        p::DOMAIN_EVENT_CALLBACK_WATCHDOG => rt::<r::DomainEventCallbackWatchdogMsg>,
        p::DOMAIN_EVENT_CALLBACK_IO_ERROR => rt::<r::DomainEventCallbackIoErrorMsg>,
        p::DOMAIN_EVENT_CALLBACK_IO_ERROR_REASON => rt::<r::DomainEventCallbackIoErrorReasonMsg>,
        p::DOMAIN_EVENT_CALLBACK_CONTROL_ERROR => rt::<r::DomainEventCallbackControlErrorMsg>,
        p::DOMAIN_EVENT_CALLBACK_BLOCK_JOB => rt::<r::DomainEventCallbackBlockJobMsg>,
        p::DOMAIN_EVENT_CALLBACK_DISK_CHANGE => rt::<r::DomainEventCallbackDiskChangeMsg>,
        p::DOMAIN_EVENT_CALLBACK_TRAY_CHANGE => rt::<r::DomainEventCallbackTrayChangeMsg>,
        p::DOMAIN_EVENT_CALLBACK_PMWAKEUP
        | p::DOMAIN_EVENT_CALLBACK_PMSUSPEND
        | p::DOMAIN_EVENT_CALLBACK_PMSUSPEND_DISK => rt::<r::DomainEventCallbackPmMsg>,
        p::DOMAIN_EVENT_CALLBACK_BALLOON_CHANGE => rt::<r::DomainEventCallbackBalloonChangeMsg>,
        p::DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED
        | p::DOMAIN_EVENT_CALLBACK_DEVICE_ADDED
        | p::DOMAIN_EVENT_CALLBACK_DEVICE_REMOVAL_FAILED => rt::<r::DomainEventCallbackDeviceMsg>,
        p::DOMAIN_EVENT_CALLBACK_TUNABLE => rt::<r::DomainEventCallbackTunableMsg>,
        p::DOMAIN_EVENT_CALLBACK_AGENT_LIFECYCLE => rt::<r::DomainEventCallbackAgentLifecycleMsg>,
        p::DOMAIN_EVENT_CALLBACK_MIGRATION_ITERATION => {
            rt::<r::DomainEventCallbackMigrationIterationMsg>
        }
        p::DOMAIN_EVENT_CALLBACK_JOB_COMPLETED => rt::<r::DomainEventCallbackJobCompletedMsg>,
        p::DOMAIN_EVENT_CALLBACK_METADATA_CHANGE => rt::<r::DomainEventCallbackMetadataChangeMsg>,
        p::DOMAIN_EVENT_BLOCK_JOB_2 => rt::<r::DomainEventBlockJob2Msg>,
        p::DOMAIN_EVENT_BLOCK_THRESHOLD => rt::<r::DomainEventBlockThresholdMsg>,
        p::DOMAIN_EVENT_MEMORY_FAILURE => rt::<r::DomainEventMemoryFailureMsg>,
        p::DOMAIN_EVENT_MEMORY_DEVICE_SIZE_CHANGE => rt::<r::DomainEventMemoryDeviceSizeChangeMsg>,
        p::CONNECT_EVENT_CONNECTION_CLOSED => rt::<r::ConnectEventConnectionClosedMsg>,
        p::NETWORK_EVENT_LIFECYCLE => rt::<r::NetworkEventLifecycleMsg>,
        _ => return None,
    })
}

fn qemu(proc_: i32, kind: BodyKind) -> Option<Reencode> {
    Some(match (proc_, kind) {
        (qp::DOMAIN_MONITOR_COMMAND, BodyKind::Args) => rt::<q::QemuDomainMonitorCommandArgs>,
        (qp::DOMAIN_MONITOR_COMMAND, BodyKind::Ret) => rt::<q::QemuDomainMonitorCommandRet>,
        (qp::DOMAIN_AGENT_COMMAND, BodyKind::Args) => rt::<q::QemuDomainAgentCommandArgs>,
        (qp::DOMAIN_AGENT_COMMAND, BodyKind::Ret) => rt::<q::QemuDomainAgentCommandRet>,
        (qp::CONNECT_DOMAIN_MONITOR_EVENT_REGISTER, BodyKind::Args) => {
            rt::<q::QemuConnectDomainMonitorEventRegisterArgs>
        }
        (qp::CONNECT_DOMAIN_MONITOR_EVENT_REGISTER, BodyKind::Ret) => {
            rt::<q::QemuConnectDomainMonitorEventRegisterRet>
        }
        (qp::CONNECT_DOMAIN_MONITOR_EVENT_DEREGISTER, BodyKind::Args) => {
            rt::<q::QemuConnectDomainMonitorEventDeregisterArgs>
        }
        (qp::CONNECT_DOMAIN_MONITOR_EVENT_DEREGISTER, BodyKind::Ret) => rt::<()>,
        (qp::DOMAIN_MONITOR_EVENT, BodyKind::Msg) => rt::<q::QemuDomainMonitorEventMsg>,
        _ => return None,
    })
}

fn admin_args(proc_: i32) -> Option<Reencode> {
    Some(match proc_ {
        ap::CONNECT_OPEN => rt::<a::ConnectOpenArgs>,
        ap::CONNECT_CLOSE | ap::CONNECT_GET_LIB_VERSION => rt::<()>,
        ap::CONNECT_LIST_SERVERS => rt::<a::ConnectListServersArgs>,
        ap::CONNECT_LOOKUP_SERVER => rt::<a::ConnectLookupServerArgs>,
        ap::SERVER_GET_THREADPOOL_PARAMETERS => rt::<a::ServerGetThreadpoolParametersArgs>,
        ap::SERVER_SET_THREADPOOL_PARAMETERS => rt::<a::ServerSetThreadpoolParametersArgs>,
        ap::SERVER_LIST_CLIENTS => rt::<a::ServerListClientsArgs>,
        ap::SERVER_LOOKUP_CLIENT => rt::<a::ServerLookupClientArgs>,
        ap::CLIENT_GET_INFO => rt::<a::ClientGetInfoArgs>,
        ap::CLIENT_CLOSE => rt::<a::ClientCloseArgs>,
        ap::SERVER_GET_CLIENT_LIMITS => rt::<a::ServerGetClientLimitsArgs>,
        ap::SERVER_SET_CLIENT_LIMITS => rt::<a::ServerSetClientLimitsArgs>,
        ap::CONNECT_GET_LOGGING_OUTPUTS => rt::<a::ConnectGetLoggingOutputsArgs>,
        ap::CONNECT_GET_LOGGING_FILTERS => rt::<a::ConnectGetLoggingFiltersArgs>,
        ap::CONNECT_SET_LOGGING_OUTPUTS => rt::<a::ConnectSetLoggingOutputsArgs>,
        ap::CONNECT_SET_LOGGING_FILTERS => rt::<a::ConnectSetLoggingFiltersArgs>,
        ap::SERVER_UPDATE_TLS_FILES => rt::<a::ServerUpdateTlsFilesArgs>,
        ap::CONNECT_SET_DAEMON_TIMEOUT => rt::<a::ConnectSetDaemonTimeoutArgs>,
        _ => return None,
    })
}

fn admin_ret(proc_: i32) -> Option<Reencode> {
    Some(match proc_ {
        ap::CONNECT_OPEN
        | ap::CONNECT_CLOSE
        | ap::SERVER_SET_THREADPOOL_PARAMETERS
        | ap::CLIENT_CLOSE
        | ap::SERVER_SET_CLIENT_LIMITS
        | ap::CONNECT_SET_LOGGING_OUTPUTS
        | ap::CONNECT_SET_LOGGING_FILTERS
        | ap::SERVER_UPDATE_TLS_FILES
        | ap::CONNECT_SET_DAEMON_TIMEOUT => rt::<()>,
        ap::CONNECT_GET_LIB_VERSION => rt::<a::ConnectGetLibVersionRet>,
        ap::CONNECT_LIST_SERVERS => rt::<a::ConnectListServersRet>,
        ap::CONNECT_LOOKUP_SERVER => rt::<a::ConnectLookupServerRet>,
        ap::SERVER_GET_THREADPOOL_PARAMETERS => rt::<a::ServerGetThreadpoolParametersRet>,
        ap::SERVER_LIST_CLIENTS => rt::<a::ServerListClientsRet>,
        ap::SERVER_LOOKUP_CLIENT => rt::<a::ServerLookupClientRet>,
        ap::CLIENT_GET_INFO => rt::<a::ClientGetInfoRet>,
        ap::SERVER_GET_CLIENT_LIMITS => rt::<a::ServerGetClientLimitsRet>,
        ap::CONNECT_GET_LOGGING_OUTPUTS => rt::<a::ConnectGetLoggingOutputsRet>,
        ap::CONNECT_GET_LOGGING_FILTERS => rt::<a::ConnectGetLoggingFiltersRet>,
        _ => return None,
    })
}
