//! Why each call the daemon does not serve is left out. `docs/coverage.md`
//! prints the reason beside every unserved call, and the coverage test fails
//! when an unserved call has no reason or a served one still has one, so the
//! list stays honest as calls are added.

/// The reason a call is not served, by its API name.
pub fn unserved_reason(api: &str) -> Option<&'static str> {
    const LEGACY_EVENT: &str = "event message of the registration form libvirt clients \
        older than 1.2.1 used; the daemon sends the callback form of the same event";
    const OLD_MIGRATION: &str = "migration protocol of libvirt before 0.9.x (v1/v2); clients \
        since then use version 3 with parameters, which is served";
    const V3_NO_PARAMS: &str = "version 3 migration without parameters (libvirt before 1.1); \
        clients that know parameters use the served Params form";
    const NWFILTER: &str = "network filter driver (virtnwfilterd) not built: the daemon \
        writes no ebtables/nftables filter rules for guests";
    const SEV: &str = "AMD SEV launch security: no SEV firmware on the hosts this daemon \
        supports yet; domcapabilities reports <sev supported='no'/>";
    Some(match api {
        "virAuthSaslInit" | "virAuthSaslStart" | "virAuthSaslStep" => {
            "SASL authentication is not implemented; a socket configured for SASL stops \
             start-up with a message (libvirtd(8))"
        }
        "virDomainMigratePrepare"
        | "virDomainMigratePerform"
        | "virDomainMigrateFinish"
        | "virDomainMigratePrepare2"
        | "virDomainMigrateFinish2"
        | "virDomainMigratePrepareTunnel" => OLD_MIGRATION,
        "virDomainMigrateBegin3"
        | "virDomainMigratePrepare3"
        | "virDomainMigratePrepareTunnel3"
        | "virDomainMigratePerform3"
        | "virDomainMigrateFinish3"
        | "virDomainMigrateConfirm3" => V3_NO_PARAMS,
        "virDomainEventRtcChange"
        | "virDomainEventWatchdog"
        | "virDomainEventIOError"
        | "virDomainEventGraphics"
        | "virDomainEventIOErrorReason"
        | "virDomainEventControlError"
        | "virDomainEventBlockJob"
        | "virDomainEventDiskChange"
        | "virDomainEventTrayChange"
        | "virDomainEventPmwakeup"
        | "virDomainEventPmsuspend"
        | "virDomainEventBalloonChange"
        | "virDomainEventPmsuspendDisk"
        | "virDomainEventDeviceRemoved" => LEGACY_EVENT,
        "virDomainFDAssociate" => {
            "the descriptors are received and closed, but domains keep no fd groups for \
             `<source fdgroup=...>` disks yet"
        }
        "virDomainGetSecurityLabelList" => {
            "no security driver (SELinux/AppArmor) is implemented; qemu guests run with \
             the daemon's own DAC confinement (libvirtd(8))"
        }
        "virDomainGetLaunchSecurityInfo"
        | "virDomainSetLaunchSecurityState"
        | "virNodeGetSEVInfo" => SEV,
        "virDomainQemuAttach" => {
            "libvirt's own qemu driver stopped supporting attach to a foreign QEMU in 5.5"
        }
        "virConnectDomainXMLFromNative" => {
            "libvirt 9.0's qemu driver no longer converts QEMU command lines to XML"
        }
        "virNodeSuspendForDuration" => {
            "suspending the host (rtcwake) is not offered by this daemon"
        }
        "virNodeDeviceLookupSCSIHostByWWN" => {
            "no Fibre Channel HBAs are modelled by the node-device driver (read-only, \
             PCI/USB/net/storage/SCSI from sysfs)"
        }
        "virNWFilterLookupByName"
        | "virNWFilterLookupByUUID"
        | "virNWFilterGetXMLDesc"
        | "virConnectNumOfNWFilters"
        | "virConnectListNWFilters"
        | "virNWFilterDefineXML"
        | "virNWFilterUndefine"
        | "virConnectListAllNWFilters"
        | "virNWFilterBindingLookupByPortDev"
        | "virNWFilterBindingGetXMLDesc"
        | "virNWFilterBindingCreateXML"
        | "virNWFilterBindingDelete"
        | "virConnectListAllNWFilterBindings"
        | "virNWFilterDefineXMLFlags" => NWFILTER,
        _ => return None,
    })
}
