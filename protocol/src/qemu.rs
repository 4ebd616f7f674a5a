//! QEMU and LXC program arguments and replies.

use crate::remote::NonnullDomain;
use crate::xdr_struct;

xdr_struct! {
    /// QEMU proc 1: a raw monitor command (HMP when flags bit 0 is set).
    pub struct QemuDomainMonitorCommandArgs {
        pub dom: NonnullDomain,
        pub cmd: String,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct QemuDomainMonitorCommandRet {
        pub result: String,
    }
}

xdr_struct! {
    pub struct QemuDomainAgentCommandArgs {
        pub dom: NonnullDomain,
        pub cmd: String,
        pub timeout: i32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct QemuDomainAgentCommandRet {
        pub result: Option<String>,
    }
}

xdr_struct! {
    pub struct QemuConnectDomainMonitorEventRegisterArgs {
        pub dom: Option<NonnullDomain>,
        pub event: Option<String>,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct QemuConnectDomainMonitorEventRegisterRet {
        pub callback_id: i32,
    }
}

xdr_struct! {
    pub struct QemuConnectDomainMonitorEventDeregisterArgs {
        pub callback_id: i32,
    }
}

xdr_struct! {
    pub struct QemuDomainMonitorEventMsg {
        pub callback_id: i32,
        pub dom: NonnullDomain,
        pub event: String,
        pub seconds: i64,
        pub micros: u32,
        pub details: Option<String>,
    }
}

xdr_struct! {
    /// LXC proc 1; the reply carries only file descriptors.
    pub struct LxcDomainOpenNamespaceArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
}
