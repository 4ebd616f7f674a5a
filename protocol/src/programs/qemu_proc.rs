//! The QEMU program (`virsh qemu-monitor-command` and friends).
//!
//! One row per procedure; the format is described in `crate::table`.
//! Adding a procedure: give its row types (`typed`) or a `Call` variant
//! (`serve`), and the compiler asks the daemon for its handler.

use crate::qemu::*;

procedure_table! {
    1 DOMAIN_MONITOR_COMMAND "virDomainQemuMonitorCommand" Qemu Low None deny serve DomainMonitorCommand(QemuDomainMonitorCommandArgs => QemuDomainMonitorCommandRet);
    2 DOMAIN_ATTACH "virDomainQemuAttach" Qemu Low None deny untyped;
    3 DOMAIN_AGENT_COMMAND "virDomainQemuAgentCommand" Qemu Low None deny serve DomainAgentCommand(QemuDomainAgentCommandArgs => QemuDomainAgentCommandRet);
    4 CONNECT_DOMAIN_MONITOR_EVENT_REGISTER "virConnectDomainQemuMonitorEventRegister" Qemu High None deny serve ConnectDomainMonitorEventRegister(QemuConnectDomainMonitorEventRegisterArgs => QemuConnectDomainMonitorEventRegisterRet);
    5 CONNECT_DOMAIN_MONITOR_EVENT_DEREGISTER "virConnectDomainQemuMonitorEventDeregister" Qemu High None deny serve ConnectDomainMonitorEventDeregister(QemuConnectDomainMonitorEventDeregisterArgs => ());
    6 DOMAIN_MONITOR_EVENT "virDomainMonitorEvent" Qemu Low None allow event(QemuDomainMonitorEventMsg);
    7 DOMAIN_MONITOR_COMMAND_WITH_FILES "virDomainQemuMonitorCommandWithFiles" Qemu Low None deny serve DomainMonitorCommandWithFiles(QemuDomainMonitorCommandArgs => QemuDomainMonitorCommandRet);
}
