//! Event registration procedures and the event messages (type MESSAGE)
//! the server sends. Modern ("callback") messages start with the
//! callbackID returned at registration.

use super::limits::{
    DOMAIN_EVENT_GRAPHICS_IDENTITY_MAX, DOMAIN_EVENT_TUNABLE_MAX, DOMAIN_JOB_STATS_MAX,
};
use super::objects::NonnullDomain;
use crate::typed_param::TypedParam;
use crate::xdr_struct;

xdr_struct! {
    /// Registers for one event ID, for one domain or (absent) all domains.
    pub struct ConnectDomainEventCallbackRegisterAnyArgs {
        pub event_id: i32,
        pub dom: Option<NonnullDomain>,
    }
}

xdr_struct! {
    pub struct ConnectDomainEventCallbackRegisterAnyRet {
        pub callback_id: i32,
    }
}

xdr_struct! {
    pub struct ConnectDomainEventCallbackDeregisterAnyArgs {
        pub callback_id: i32,
    }
}

xdr_struct! {
    /// Legacy lifecycle-only registration (no args).
    pub struct ConnectDomainEventRegisterRet {
        pub cb_registered: i32,
    }
}

xdr_struct! {
    pub struct ConnectDomainEventDeregisterRet {
        pub cb_registered: i32,
    }
}

xdr_struct! {
    /// Legacy per-ID registration, used when feature 14 is not offered.
    pub struct ConnectDomainEventRegisterAnyArgs {
        pub event_id: i32,
    }
}

xdr_struct! {
    pub struct ConnectDomainEventDeregisterAnyArgs {
        pub event_id: i32,
    }
}

xdr_struct! {
    /// Legacy lifecycle event (proc 107).
    pub struct DomainEventLifecycleMsg {
        pub dom: NonnullDomain,
        pub event: i32,
        pub detail: i32,
    }
}

xdr_struct! {
    /// Lifecycle event (proc 318).
    pub struct DomainEventCallbackLifecycleMsg {
        pub callback_id: i32,
        pub dom: NonnullDomain,
        pub event: i32,
        pub detail: i32,
    }
}

xdr_struct! {
    /// Legacy reboot event (proc 169).
    pub struct DomainEventRebootMsg {
        pub dom: NonnullDomain,
    }
}

xdr_struct! {
    pub struct DomainEventCallbackRebootMsg {
        pub callback_id: i32,
        pub dom: NonnullDomain,
    }
}

xdr_struct! {
    /// One end of a VNC/SPICE connection: family (0 IPv4, 1 IPv6, 2 unix),
    /// host and port.
    pub struct DomainEventGraphicsAddress {
        pub family: i32,
        pub node: String,
        pub service: String,
    }
}

xdr_struct! {
    /// Who the graphics client proved to be (`x509dname`, `saslUsername`).
    pub struct DomainEventGraphicsIdentity {
        pub kind: String,
        pub name: String,
    }
}

xdr_struct! {
    pub struct DomainEventGraphicsMsg {
        pub dom: NonnullDomain,
        pub phase: i32,
        pub local: DomainEventGraphicsAddress,
        pub remote: DomainEventGraphicsAddress,
        pub auth_scheme: String,
        pub subject: Vec<DomainEventGraphicsIdentity> [DOMAIN_EVENT_GRAPHICS_IDENTITY_MAX],
    }
}

xdr_struct! {
    /// Graphics event (proc 323).
    pub struct DomainEventCallbackGraphicsMsg {
        pub callback_id: i32,
        pub msg: DomainEventGraphicsMsg,
    }
}

xdr_struct! {
    pub struct DomainEventCallbackRtcChangeMsg {
        pub callback_id: i32,
        pub dom: NonnullDomain,
        pub offset: i64,
    }
}

xdr_struct! {
    pub struct DomainEventCallbackWatchdogMsg {
        pub callback_id: i32,
        pub dom: NonnullDomain,
        pub action: i32,
    }
}

xdr_struct! {
    pub struct DomainEventCallbackIoErrorMsg {
        pub callback_id: i32,
        pub dom: NonnullDomain,
        pub src_path: String,
        pub dev_alias: String,
        pub action: i32,
    }
}

xdr_struct! {
    pub struct DomainEventCallbackIoErrorReasonMsg {
        pub callback_id: i32,
        pub dom: NonnullDomain,
        pub src_path: String,
        pub dev_alias: String,
        pub action: i32,
        pub reason: String,
    }
}

xdr_struct! {
    pub struct DomainEventCallbackControlErrorMsg {
        pub callback_id: i32,
        pub dom: NonnullDomain,
    }
}

xdr_struct! {
    pub struct DomainEventCallbackBlockJobMsg {
        pub callback_id: i32,
        pub dom: NonnullDomain,
        pub path: String,
        pub type_: i32,
        pub status: i32,
    }
}

xdr_struct! {
    pub struct DomainEventCallbackDiskChangeMsg {
        pub callback_id: i32,
        pub dom: NonnullDomain,
        pub old_src_path: Option<String>,
        pub new_src_path: Option<String>,
        pub dev_alias: String,
        pub reason: i32,
    }
}

xdr_struct! {
    pub struct DomainEventCallbackTrayChangeMsg {
        pub callback_id: i32,
        pub dom: NonnullDomain,
        pub dev_alias: String,
        pub reason: i32,
    }
}

xdr_struct! {
    /// PMWAKEUP, PMSUSPEND and PMSUSPEND_DISK: the reason precedes the domain.
    pub struct DomainEventCallbackPmMsg {
        pub callback_id: i32,
        pub reason: i32,
        pub dom: NonnullDomain,
    }
}

xdr_struct! {
    pub struct DomainEventCallbackBalloonChangeMsg {
        pub callback_id: i32,
        pub dom: NonnullDomain,
        /// KiB.
        pub actual: u64,
    }
}

xdr_struct! {
    /// DEVICE_REMOVED, DEVICE_ADDED and DEVICE_REMOVAL_FAILED.
    pub struct DomainEventCallbackDeviceMsg {
        pub callback_id: i32,
        pub dom: NonnullDomain,
        pub dev_alias: String,
    }
}

xdr_struct! {
    pub struct DomainEventCallbackTunableMsg {
        pub callback_id: i32,
        pub dom: NonnullDomain,
        pub params: Vec<TypedParam> [DOMAIN_EVENT_TUNABLE_MAX],
    }
}

xdr_struct! {
    pub struct DomainEventCallbackAgentLifecycleMsg {
        pub callback_id: i32,
        pub dom: NonnullDomain,
        pub state: i32,
        pub reason: i32,
    }
}

xdr_struct! {
    pub struct DomainEventCallbackMigrationIterationMsg {
        pub callback_id: i32,
        pub dom: NonnullDomain,
        pub iteration: i32,
    }
}

xdr_struct! {
    pub struct DomainEventCallbackJobCompletedMsg {
        pub callback_id: i32,
        pub dom: NonnullDomain,
        pub params: Vec<TypedParam> [DOMAIN_JOB_STATS_MAX],
    }
}

xdr_struct! {
    pub struct DomainEventCallbackMetadataChangeMsg {
        pub callback_id: i32,
        pub dom: NonnullDomain,
        pub type_: i32,
        pub nsuri: Option<String>,
    }
}

xdr_struct! {
    pub struct DomainEventBlockJob2Msg {
        pub callback_id: i32,
        pub dom: NonnullDomain,
        pub dst: String,
        pub type_: i32,
        pub status: i32,
    }
}

xdr_struct! {
    pub struct DomainEventBlockThresholdMsg {
        pub callback_id: i32,
        pub dom: NonnullDomain,
        pub dev: String,
        pub path: Option<String>,
        pub threshold: u64,
        pub excess: u64,
    }
}

xdr_struct! {
    pub struct DomainEventMemoryFailureMsg {
        pub callback_id: i32,
        pub dom: NonnullDomain,
        pub recipient: i32,
        pub action: i32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainEventMemoryDeviceSizeChangeMsg {
        pub callback_id: i32,
        pub dom: NonnullDomain,
        pub alias: String,
        pub size: u64,
    }
}

xdr_struct! {
    /// Sent to clients that registered a close callback when the daemon's
    /// hypervisor connection closes. `reason`: 0 error, 1 EOF, 2 keepalive,
    /// 3 client.
    pub struct ConnectEventConnectionClosedMsg {
        pub reason: i32,
    }
}
