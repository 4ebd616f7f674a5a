//! The one match over the REMOTE program's calls: every served procedure
//! has its arm here, and the compiler refuses a `serve` row without one.

use std::sync::Arc;

use drivers::api::Connection;
use protocol::header::Header;
use protocol::programs::remote_proc::Call;

use super::{
    blockjob, checkpoint, extra_calls, graphics, interface, network, nodedev, nodedev_events,
    secret, snapshot, storage,
};
use super::{conn_job, reply_err, Action, Session};
use super::{
    connect, console, cpu, devices, domain, events, lifecycle, live_tuning, metadata, migration,
    not_supported, save, stats, tuning,
};
use crate::context::Daemon;
use crate::dispatch::reply::{empty_reply, rpc_error};

/// Runs the handler of a call on an open connection (access already checked).
pub fn route(
    daemon: &Arc<Daemon>,
    session: &mut Session,
    conn: Arc<dyn Connection>,
    h: &Header,
    call: Call,
) -> Action {
    match call {
        // Answered before the connection check, in `super::handle`.
        Call::AuthList(()) | Call::AuthPolkit(()) | Call::ConnectOpen(_) => reply_err(
            h,
            rpc_error(
                protocol::error::codes::INTERNAL_ERROR,
                "internal error: procedure dispatched after the connection check",
            ),
        ),
        Call::ConnectClose(()) => connect::close(session, h),
        Call::ConnectSetIdentity(a) => super::identity::set_identity(session, h, a),
        Call::ConnectSupportsFeature(a) => connect::supports_feature(session, &conn, h, a),
        Call::ConnectRegisterCloseCallback(()) | Call::ConnectUnregisterCloseCallback(()) => {
            Action::Reply(empty_reply(h))
        }
        Call::DomainOpenConsole(a) => console::open(session, &conn, h, a),
        Call::DomainOpenChannel(a) => console::open_channel(session, &conn, h, a),
        Call::DomainScreenshot(a) => console::screenshot(session, &conn, h, a),
        Call::DomainSendKey(a) => console::send_key(&conn, h, a),
        Call::DomainOpenGraphics(a) => graphics::open_graphics(session, &conn, h, a),
        Call::DomainOpenGraphicsFd(a) => graphics::open_graphics_fd(session, &conn, h, a),
        Call::ConnectDomainEventCallbackRegisterAny(a) => {
            events::callback_register_any(daemon, session, h, a)
        }
        Call::ConnectDomainEventCallbackDeregisterAny(a) => {
            events::callback_deregister_any(daemon, session, h, a)
        }
        Call::ConnectDomainEventRegisterAny(a) => events::register_any(daemon, session, h, a),
        Call::ConnectDomainEventDeregisterAny(a) => events::deregister_any(daemon, session, h, a),
        Call::ConnectDomainEventRegister(()) => events::register(daemon, session, h),
        Call::ConnectDomainEventDeregister(()) => events::deregister(daemon, session, h),
        Call::ConnectGetType(()) => connect::connect_get_type(&conn, h),
        Call::ConnectGetVersion(()) => connect::connect_get_version(&conn, h),
        Call::ConnectGetLibVersion(()) => connect::connect_get_lib_version(h),
        Call::ConnectGetHostname(()) => connect::connect_get_hostname(&conn, h),
        Call::ConnectGetUri(()) => connect::connect_get_uri(&conn, h),
        Call::ConnectGetSysinfo(a) => connect::connect_get_sysinfo(&conn, h, a),
        Call::ConnectGetCapabilities(()) => connect::connect_get_capabilities(&conn, h),
        Call::ConnectGetDomainCapabilities(a) => {
            connect::connect_get_domain_capabilities(&conn, h, a)
        }
        Call::ConnectGetMaxVcpus(a) => connect::connect_get_max_vcpus(&conn, h, a),
        Call::ConnectGetCpuModelNames(a) => cpu::connect_get_cpu_model_names(&conn, h, a),
        Call::ConnectCompareCpu(a) => cpu::connect_compare_cpu(&conn, h, a),
        Call::ConnectBaselineCpu(a) => cpu::connect_baseline_cpu(&conn, h, a),
        Call::ConnectCompareHypervisorCpu(a) => cpu::connect_compare_hypervisor_cpu(&conn, h, a),
        Call::ConnectBaselineHypervisorCpu(a) => cpu::connect_baseline_hypervisor_cpu(&conn, h, a),
        Call::ConnectIsSecure(()) => connect::connect_is_secure(&conn, h),
        Call::NodeGetInfo(()) => connect::node_get_info(&conn, h),
        Call::NodeGetFreeMemory(()) => connect::node_get_free_memory(&conn, h),
        Call::NodeGetCellsFreeMemory(a) => connect::node_get_cells_free_memory(&conn, h, a),
        Call::NodeGetSecurityModel(()) => connect::node_get_security_model(&conn, h),
        Call::ConnectListAllDomains(a) => domain::connect_list_all_domains(&conn, h, a),
        Call::ConnectListDomains(a) => domain::connect_list_domains(&conn, h, a),
        Call::ConnectNumOfDomains(()) => domain::connect_num_of_domains(&conn, h),
        Call::ConnectListDefinedDomains(a) => domain::connect_list_defined_domains(&conn, h, a),
        Call::ConnectNumOfDefinedDomains(()) => domain::connect_num_of_defined_domains(&conn, h),
        Call::DomainLookupByName(a) => domain::domain_lookup_by_name(&conn, h, a),
        Call::DomainLookupByUuid(a) => domain::domain_lookup_by_uuid(&conn, h, a),
        Call::DomainLookupById(a) => domain::domain_lookup_by_id(&conn, h, a),
        Call::DomainGetInfo(a) => domain::domain_get_info(&conn, h, a),
        Call::DomainGetState(a) => domain::domain_get_state(&conn, h, a),
        Call::DomainGetXmlDesc(a) => domain::domain_get_xml_desc(&conn, h, a),
        Call::DomainGetAutostart(a) => domain::domain_get_autostart(&conn, h, a),
        Call::DomainIsActive(a) => domain::domain_is_active(&conn, h, a),
        Call::DomainIsPersistent(a) => domain::domain_is_persistent(&conn, h, a),
        Call::DomainIsUpdated(a) => domain::domain_is_updated(&conn, h, a),
        Call::DomainGetOsType(a) => domain::domain_get_os_type(&conn, h, a),
        Call::DomainGetMaxMemory(a) => domain::domain_get_max_memory(&conn, h, a),
        Call::DomainGetControlInfo(a) => domain::domain_get_control_info(&conn, h, a),
        Call::DomainGetMaxVcpus(a) => domain::domain_get_max_vcpus(&conn, h, a),
        Call::DomainGetVcpusFlags(a) => domain::domain_get_vcpus_flags(&conn, h, a),
        Call::DomainHasManagedSaveImage(a) => domain::domain_has_managed_save_image(&conn, h, a),
        Call::DomainSnapshotNum(a) => domain::domain_snapshot_num(&conn, h, a),
        Call::DomainBlockResize(a) => conn_job(&conn, h, move |c| blockjob::resize(c, a)),
        Call::DomainBlockCommit(a) => conn_job(&conn, h, move |c| blockjob::commit(c, a)),
        Call::DomainBlockPull(a) => conn_job(&conn, h, move |c| blockjob::pull(c, a)),
        Call::DomainBlockRebase(a) => conn_job(&conn, h, move |c| blockjob::rebase(c, a)),
        Call::DomainBlockCopy(a) => conn_job(&conn, h, move |c| blockjob::copy(c, a)),
        Call::DomainSetBlockThreshold(a) => {
            conn_job(&conn, h, move |c| blockjob::set_threshold(c, a))
        }
        Call::DomainBlockJobSetSpeed(a) => conn_job(&conn, h, move |c| blockjob::set_speed(c, a)),
        Call::DomainBlockJobAbort(a) => conn_job(&conn, h, move |c| blockjob::abort(c, a)),
        Call::DomainGetBlockJobInfo(a) => conn_job(&conn, h, move |c| blockjob::job_info(c, a)),
        Call::DomainSnapshotCreateXml(a) => snapshot::domain_snapshot_create_xml(&conn, h, a),
        Call::DomainCheckpointCreateXml(a) => checkpoint::domain_checkpoint_create_xml(&conn, h, a),
        Call::DomainCheckpointGetXmlDesc(a) => {
            checkpoint::domain_checkpoint_get_xml_desc(&conn, h, a)
        }
        Call::DomainListAllCheckpoints(a) => checkpoint::domain_list_all_checkpoints(&conn, h, a),
        Call::DomainCheckpointListAllChildren(a) => {
            checkpoint::domain_checkpoint_list_all_children(&conn, h, a)
        }
        Call::DomainCheckpointLookupByName(a) => {
            checkpoint::domain_checkpoint_lookup_by_name(&conn, h, a)
        }
        Call::DomainCheckpointGetParent(a) => checkpoint::domain_checkpoint_get_parent(&conn, h, a),
        Call::DomainCheckpointDelete(a) => checkpoint::domain_checkpoint_delete(&conn, h, a),
        Call::DomainBackupBegin(a) => checkpoint::domain_backup_begin(&conn, h, a),
        Call::DomainBackupGetXmlDesc(a) => checkpoint::domain_backup_get_xml_desc(&conn, h, a),
        Call::DomainSnapshotGetXmlDesc(a) => snapshot::domain_snapshot_get_xml_desc(&conn, h, a),
        Call::DomainSnapshotListNames(a) => snapshot::domain_snapshot_list_names(&conn, h, a),
        Call::DomainListAllSnapshots(a) => snapshot::domain_list_all_snapshots(&conn, h, a),
        Call::DomainSnapshotNumChildren(a) => snapshot::domain_snapshot_num_children(&conn, h, a),
        Call::DomainSnapshotListChildrenNames(a) => {
            snapshot::domain_snapshot_list_children_names(&conn, h, a)
        }
        Call::DomainSnapshotListAllChildren(a) => {
            snapshot::domain_snapshot_list_all_children(&conn, h, a)
        }
        Call::DomainSnapshotLookupByName(a) => {
            snapshot::domain_snapshot_lookup_by_name(&conn, h, a)
        }
        Call::DomainHasCurrentSnapshot(a) => snapshot::domain_has_current_snapshot(&conn, h, a),
        Call::DomainSnapshotCurrent(a) => snapshot::domain_snapshot_current(&conn, h, a),
        Call::DomainSnapshotGetParent(a) => snapshot::domain_snapshot_get_parent(&conn, h, a),
        Call::DomainSnapshotIsCurrent(a) => snapshot::domain_snapshot_is_current(&conn, h, a),
        Call::DomainSnapshotHasMetadata(a) => snapshot::domain_snapshot_has_metadata(&conn, h, a),
        Call::DomainRevertToSnapshot(a) => snapshot::domain_revert_to_snapshot(&conn, h, a),
        Call::DomainSnapshotDelete(a) => snapshot::domain_snapshot_delete(&conn, h, a),
        Call::DomainGetSecurityLabel(a) => domain::domain_get_security_label(&conn, h, a),
        Call::DomainGetMessages(a) => domain::domain_get_messages(&conn, h, a),
        Call::DomainGetTime(a) => super::agent::get_time(&conn, h, a),
        Call::DomainSetTime(a) => super::agent::set_time(&conn, h, a),
        Call::DomainFsfreeze(a) => super::agent::fs_freeze(&conn, h, a),
        Call::DomainFsthaw(a) => super::agent::fs_thaw(&conn, h, a),
        Call::DomainGetFsinfo(a) => super::agent::fs_info(&conn, h, a),
        Call::DomainGetGuestInfo(a) => super::agent::guest_info(&conn, h, a),
        Call::DomainGetGuestVcpus(a) => super::agent::guest_vcpus(&conn, h, a),
        Call::DomainSetGuestVcpus(a) => super::agent::set_guest_vcpus(&conn, h, a),
        Call::DomainSetUserPassword(a) => super::agent::set_user_password(&conn, h, a),
        Call::DomainFstrim(a) => super::agent::fs_trim(&conn, h, a),
        Call::DomainPmSuspendForDuration(a) => super::agent::pm_suspend(&conn, h, a),
        Call::DomainPmWakeup(a) => super::agent::pm_wakeup(&conn, h, a),
        Call::DomainAuthorizedSshKeysGet(a) => super::agent::ssh_keys_get(&conn, h, a),
        Call::DomainAuthorizedSshKeysSet(a) => super::agent::ssh_keys_set(&conn, h, a),
        Call::DomainAgentSetResponseTimeout(a) => super::agent::set_response_timeout(&conn, h, a),
        Call::DomainGetHostname(a) => domain::domain_get_hostname(&conn, h, a),
        Call::DomainDefineXml(a) => lifecycle::domain_define_xml(&conn, h, a),
        Call::DomainDefineXmlFlags(a) => lifecycle::domain_define_xml_flags(&conn, h, a),
        Call::DomainUndefine(a) => lifecycle::domain_undefine(&conn, h, a),
        Call::DomainUndefineFlags(a) => lifecycle::domain_undefine_flags(&conn, h, a),
        Call::DomainCreate(a) => lifecycle::domain_create(&conn, h, a),
        Call::DomainCreateWithFlags(a) => lifecycle::domain_create_with_flags(&conn, h, a),
        Call::DomainCreateXml(a) => lifecycle::domain_create_xml(&conn, h, a),
        Call::DomainCreateXmlWithFiles(a) => {
            lifecycle::domain_create_xml_with_files(session, &conn, h, a)
        }
        Call::DomainCreateWithFiles(a) => lifecycle::domain_create_with_files(session, &conn, h, a),
        Call::DomainDestroy(a) => lifecycle::domain_destroy(&conn, h, a),
        Call::DomainDestroyFlags(a) => lifecycle::domain_destroy_flags(&conn, h, a),
        Call::DomainSuspend(a) => lifecycle::domain_suspend(&conn, h, a),
        Call::DomainResume(a) => lifecycle::domain_resume(&conn, h, a),
        Call::DomainShutdown(a) => lifecycle::domain_shutdown(&conn, h, a),
        Call::DomainShutdownFlags(a) => lifecycle::domain_shutdown_flags(&conn, h, a),
        Call::DomainReboot(a) => lifecycle::domain_reboot(&conn, h, a),
        Call::DomainReset(a) => lifecycle::domain_reset(&conn, h, a),
        Call::DomainSetAutostart(a) => lifecycle::domain_set_autostart(&conn, h, a),
        Call::DomainSetMetadata(a) => metadata::domain_set_metadata(&conn, h, a),
        Call::DomainGetMetadata(a) => metadata::domain_get_metadata(&conn, h, a),
        Call::DomainManagedSave(a) => save::domain_managed_save(&conn, h, a),
        Call::DomainManagedSaveRemove(a) => save::domain_managed_save_remove(&conn, h, a),
        Call::DomainSave(a) => save::domain_save(&conn, h, a),
        Call::DomainSaveFlags(a) => save::domain_save_flags(&conn, h, a),
        Call::DomainRestore(a) => save::domain_restore(&conn, h, a),
        Call::DomainRestoreFlags(a) => save::domain_restore_flags(&conn, h, a),
        Call::DomainSaveImageGetXmlDesc(a) => save::domain_save_image_get_xml_desc(&conn, h, a),
        Call::DomainSaveImageDefineXml(a) => save::domain_save_image_define_xml(&conn, h, a),
        Call::DomainManagedSaveGetXmlDesc(a) => save::domain_managed_save_get_xml_desc(&conn, h, a),
        Call::DomainManagedSaveDefineXml(a) => save::domain_managed_save_define_xml(&conn, h, a),
        Call::DomainSetMemory(a) => save::domain_set_memory(&conn, h, a),
        Call::DomainSetMemoryFlags(a) => save::domain_set_memory_flags(&conn, h, a),
        Call::NodeGetCpuMap(a) => tuning::node_get_cpu_map(&conn, h, a),
        Call::DomainGetVcpus(a) => tuning::domain_get_vcpus(&conn, h, a),
        Call::DomainGetVcpuPinInfo(a) => tuning::domain_get_vcpu_pin_info(&conn, h, a),
        Call::DomainGetSchedulerType(a) => tuning::domain_get_scheduler_type(&conn, h, a),
        Call::DomainGetSchedulerParameters(a) => {
            tuning::domain_get_scheduler_parameters(&conn, h, a)
        }
        Call::DomainGetSchedulerParametersFlags(a) => {
            tuning::domain_get_scheduler_parameters_flags(&conn, h, a)
        }
        Call::DomainSetSchedulerParameters(a) => {
            tuning::domain_set_scheduler_parameters(&conn, h, a)
        }
        Call::DomainSetSchedulerParametersFlags(a) => {
            tuning::domain_set_scheduler_parameters_flags(&conn, h, a)
        }
        Call::DomainMigrateBegin3Params(a) => migration::begin(&conn, h, a),
        Call::DomainMigratePrepare3Params(a) => migration::prepare(&conn, h, a),
        Call::DomainMigratePrepareTunnel3Params(a) => {
            super::migration_tunnel::prepare(session, &conn, h, a)
        }
        Call::DomainMigratePerform3Params(a) => migration::perform(&conn, h, a),
        Call::DomainMigrateFinish3Params(a) => migration::finish(&conn, h, a),
        Call::DomainMigrateConfirm3Params(a) => migration::confirm(&conn, h, a),
        Call::DomainMigrateSetMaxSpeed(a) => migration::set_max_speed(&conn, h, a),
        Call::DomainMigrateGetMaxSpeed(a) => migration::get_max_speed(&conn, h, a),
        Call::DomainMigrateSetMaxDowntime(a) => migration::set_max_downtime(&conn, h, a),
        Call::DomainMigrateGetMaxDowntime(a) => migration::get_max_downtime(&conn, h, a),
        Call::DomainMigrateGetCompressionCache(a) => migration::get_compression_cache(&conn, h, a),
        Call::DomainMigrateSetCompressionCache(a) => migration::set_compression_cache(&conn, h, a),
        Call::DomainAbortJob(a) => migration::abort_job(&conn, h, a),
        Call::DomainAbortJobFlags(a) => migration::abort_job_flags(&conn, h, a),
        Call::DomainMigrateStartPostCopy(a) => migration::start_postcopy(&conn, h, a),
        Call::DomainGetJobInfo(a) => tuning::domain_get_job_info(&conn, h, a),
        Call::DomainGetJobStats(a) => tuning::domain_get_job_stats(&conn, h, a),
        // networks
        Call::ConnectListAllNetworks(a) => network::list_all(session, h, a),
        Call::ConnectListNetworks(a) => network::list_names(session, h, a, true),
        Call::ConnectListDefinedNetworks(a) => network::list_names(session, h, a, false),
        Call::ConnectNumOfNetworks(()) => network::num(session, h, true),
        Call::ConnectNumOfDefinedNetworks(()) => network::num(session, h, false),
        Call::NetworkLookupByName(a) => network::lookup_by_name(session, h, a),
        Call::NetworkLookupByUuid(a) => network::lookup_by_uuid(session, h, a),
        Call::NetworkDefineXml(a) => network::define(session, h, a.xml, 0),
        Call::NetworkDefineXmlFlags(a) => network::define(session, h, a.xml, a.flags),
        Call::NetworkCreateXml(a) => network::create_xml(session, h, a.xml, 0),
        Call::NetworkCreateXmlFlags(a) => network::create_xml(session, h, a.xml, a.flags),
        Call::NetworkUndefine(a) => network::undefine(session, h, a),
        Call::NetworkCreate(a) => network::create(session, h, a),
        Call::NetworkDestroy(a) => network::destroy(session, h, a),
        Call::NetworkGetXmlDesc(a) => network::xml_desc(session, h, a),
        Call::NetworkGetAutostart(a) => network::get_autostart(session, h, a),
        Call::NetworkSetAutostart(a) => network::set_autostart(session, h, a),
        Call::NetworkGetBridgeName(a) => network::bridge_name(session, h, a),
        Call::NetworkIsActive(a) => network::is_active(session, h, a),
        Call::NetworkIsPersistent(a) => network::is_persistent(session, h, a),
        Call::NetworkUpdate(a) => network::update(session, h, a),
        Call::NetworkGetDhcpLeases(a) => network::dhcp_leases(session, h, a),
        Call::ConnectNetworkEventRegisterAny(a) => network::event_register(daemon, session, h, a),
        Call::ConnectNetworkEventDeregisterAny(a) => {
            network::event_deregister(daemon, session, h, a)
        }
        Call::NetworkListAllPorts(a) => network::list_ports(session, h, a),
        Call::NetworkPortLookupByUuid(a) => network::port_lookup(session, h, a),
        Call::NetworkPortCreateXml(a) => network::port_create(session, h, a),
        Call::NetworkPortGetXmlDesc(a) => network::port_xml(session, h, a),
        Call::NetworkPortDelete(a) => network::port_delete(session, h, a),
        Call::NetworkPortGetParameters(a) => network::port_get_parameters(session, h, a),
        Call::NetworkPortSetParameters(a) => network::port_set_parameters(session, h, a),
        Call::DomainInterfaceAddresses(a) => network::domain_interface_addresses(&conn, h, a),
        // storage
        Call::ConnectListAllStoragePools(a) => {
            storage::connect_list_all_storage_pools(session, h, a)
        }
        Call::ConnectNumOfStoragePools(()) => storage::connect_num_of_storage_pools(session, h),
        Call::ConnectListStoragePools(a) => storage::connect_list_storage_pools(session, h, a),
        Call::ConnectNumOfDefinedStoragePools(()) => {
            storage::connect_num_of_defined_storage_pools(session, h)
        }
        Call::ConnectListDefinedStoragePools(a) => {
            storage::connect_list_defined_storage_pools(session, h, a)
        }
        Call::ConnectFindStoragePoolSources(a) => {
            storage::connect_find_storage_pool_sources(session, h, a)
        }
        Call::ConnectGetStoragePoolCapabilities(a) => {
            storage::connect_get_storage_pool_capabilities(session, h, a)
        }
        Call::StoragePoolCreateXml(a) => storage::storage_pool_create_xml(session, h, a),
        Call::StoragePoolDefineXml(a) => storage::storage_pool_define_xml(session, h, a),
        Call::StoragePoolCreate(a) => storage::storage_pool_create(session, h, a),
        Call::StoragePoolBuild(a) => storage::storage_pool_build(session, h, a),
        Call::StoragePoolDestroy(a) => storage::storage_pool_destroy(session, h, a),
        Call::StoragePoolDelete(a) => storage::storage_pool_delete(session, h, a),
        Call::StoragePoolUndefine(a) => storage::storage_pool_undefine(session, h, a),
        Call::StoragePoolRefresh(a) => storage::storage_pool_refresh(session, h, a),
        Call::StoragePoolLookupByName(a) => storage::storage_pool_lookup_by_name(session, h, a),
        Call::StoragePoolLookupByUuid(a) => storage::storage_pool_lookup_by_uuid(session, h, a),
        Call::StoragePoolLookupByVolume(a) => storage::storage_pool_lookup_by_volume(session, h, a),
        Call::StoragePoolLookupByTargetPath(a) => {
            storage::storage_pool_lookup_by_target_path(session, h, a)
        }
        Call::StoragePoolGetInfo(a) => storage::storage_pool_get_info(session, h, a),
        Call::StoragePoolGetXmlDesc(a) => storage::storage_pool_get_xml_desc(session, h, a),
        Call::StoragePoolGetAutostart(a) => storage::storage_pool_get_autostart(session, h, a),
        Call::StoragePoolSetAutostart(a) => storage::storage_pool_set_autostart(session, h, a),
        Call::StoragePoolIsActive(a) => storage::storage_pool_is_active(session, h, a),
        Call::StoragePoolIsPersistent(a) => storage::storage_pool_is_persistent(session, h, a),
        Call::StoragePoolNumOfVolumes(a) => storage::storage_pool_num_of_volumes(session, h, a),
        Call::StoragePoolListVolumes(a) => storage::storage_pool_list_volumes(session, h, a),
        Call::StoragePoolListAllVolumes(a) => storage::storage_pool_list_all_volumes(session, h, a),
        Call::StorageVolCreateXml(a) => storage::storage_vol_create_xml(session, h, a),
        Call::StorageVolCreateXmlFrom(a) => storage::storage_vol_create_xml_from(session, h, a),
        Call::StorageVolDelete(a) => storage::storage_vol_delete(session, h, a),
        Call::StorageVolWipe(a) => storage::storage_vol_wipe(session, h, a),
        Call::StorageVolWipePattern(a) => storage::storage_vol_wipe_pattern(session, h, a),
        Call::StorageVolResize(a) => storage::storage_vol_resize(session, h, a),
        Call::StorageVolLookupByName(a) => storage::storage_vol_lookup_by_name(session, h, a),
        Call::StorageVolLookupByKey(a) => storage::storage_vol_lookup_by_key(session, h, a),
        Call::StorageVolLookupByPath(a) => storage::storage_vol_lookup_by_path(session, h, a),
        Call::StorageVolGetInfo(a) => storage::storage_vol_get_info(session, h, a),
        Call::StorageVolGetInfoFlags(a) => storage::storage_vol_get_info_flags(session, h, a),
        Call::StorageVolGetXmlDesc(a) => storage::storage_vol_get_xml_desc(session, h, a),
        Call::StorageVolGetPath(a) => storage::storage_vol_get_path(session, h, a),
        Call::StorageVolUpload(a) => storage::storage_vol_upload(session, h, a),
        Call::StorageVolDownload(a) => storage::storage_vol_download(session, h, a),
        Call::ConnectStoragePoolEventRegisterAny(a) => {
            storage::connect_storage_pool_event_register_any(daemon, session, h, a)
        }
        Call::ConnectStoragePoolEventDeregisterAny(a) => {
            storage::connect_storage_pool_event_deregister_any(daemon, session, h, a)
        }
        // secrets
        Call::ConnectNumOfSecrets(()) => secret::num(session, h),
        Call::ConnectListSecrets(a) => secret::list_uuids(session, h, a),
        Call::ConnectListAllSecrets(a) => secret::list_all(session, h, a),
        Call::SecretLookupByUuid(a) => secret::lookup_by_uuid(session, h, a),
        Call::SecretLookupByUsage(a) => secret::lookup_by_usage(session, h, a),
        Call::SecretDefineXml(a) => secret::define(session, h, a),
        Call::SecretGetXmlDesc(a) => secret::xml_desc(session, h, a),
        Call::SecretSetValue(a) => secret::set_value(session, h, a),
        Call::SecretGetValue(a) => secret::get_value(session, h, a),
        Call::SecretUndefine(a) => secret::undefine(session, h, a),
        Call::ConnectSecretEventRegisterAny(a) => secret::event_register(daemon, session, h, a),
        Call::ConnectNodeDeviceEventRegisterAny(a) => {
            nodedev_events::register(daemon, session, h, a)
        }
        Call::ConnectNodeDeviceEventDeregisterAny(a) => {
            nodedev_events::deregister(daemon, session, h, a)
        }
        Call::ConnectSecretEventDeregisterAny(a) => secret::event_deregister(daemon, session, h, a),
        // node devices
        Call::NodeNumOfDevices(a) => nodedev::num_of_devices(session, h, a),
        Call::NodeListDevices(a) => nodedev::list_devices(session, h, a),
        Call::ConnectListAllNodeDevices(a) => nodedev::list_all(session, h, a),
        Call::NodeDeviceLookupByName(a) => nodedev::lookup_by_name(session, h, a),
        Call::NodeDeviceGetXmlDesc(a) => nodedev::xml_desc(session, h, a),
        Call::NodeDeviceGetParent(a) => nodedev::parent(session, h, a),
        Call::NodeDeviceNumOfCaps(a) => nodedev::num_of_caps(session, h, a),
        Call::NodeDeviceListCaps(a) => nodedev::list_caps(session, h, a),
        Call::NodeDeviceIsActive(a) => nodedev::flag(session, h, a, |c, n| c.is_active(n)),
        Call::NodeDeviceIsPersistent(a) => nodedev::flag(session, h, a, |c, n| c.is_persistent(n)),
        Call::NodeDeviceGetAutostart(a) => nodedev::flag(session, h, a, |c, n| c.autostart(n)),
        Call::NodeDeviceDettach(_)
        | Call::NodeDeviceDetachFlags(_)
        | Call::NodeDeviceReAttach(_)
        | Call::NodeDeviceReset(_)
        | Call::NodeDeviceCreateXml(_)
        | Call::NodeDeviceDefineXml(_)
        | Call::NodeDeviceCreate(_)
        | Call::NodeDeviceDestroy(_)
        | Call::NodeDeviceUndefine(_)
        | Call::NodeDeviceSetAutostart(_) => nodedev::refuse(session, h),
        // host interfaces
        Call::ConnectNumOfInterfaces(()) => interface::num_of_active(session, h),
        Call::ConnectListInterfaces(a) => interface::list_active(session, h, a),
        Call::ConnectNumOfDefinedInterfaces(()) => interface::num_of_inactive(session, h),
        Call::ConnectListDefinedInterfaces(a) => interface::list_inactive(session, h, a),
        Call::ConnectListAllInterfaces(a) => interface::list_all(session, h, a),
        Call::InterfaceLookupByName(a) => interface::lookup_by_name(session, h, a),
        Call::InterfaceLookupByMacString(a) => interface::lookup_by_mac(session, h, a),
        Call::InterfaceGetXmlDesc(a) => interface::xml_desc(session, h, a),
        Call::InterfaceIsActive(a) => interface::is_active(session, h, a),
        Call::InterfaceDefineXml(_) => {
            interface::refuse::<protocol::remote::InterfaceRefRet>(session, h)
        }
        Call::InterfaceUndefine(_)
        | Call::InterfaceCreate(_)
        | Call::InterfaceDestroy(_)
        | Call::InterfaceChangeBegin(_)
        | Call::InterfaceChangeCommit(_)
        | Call::InterfaceChangeRollback(_) => interface::refuse::<()>(session, h),
        Call::DomainBlockStats(a) => stats::domain_block_stats(&conn, h, a),
        Call::DomainBlockStatsFlags(a) => stats::domain_block_stats_flags(&conn, h, a),
        Call::DomainInterfaceStats(a) => stats::domain_interface_stats(&conn, h, a),
        Call::DomainMemoryStats(a) => stats::domain_memory_stats(&conn, h, a),
        Call::DomainSetMemoryStatsPeriod(a) => stats::domain_set_memory_stats_period(&conn, h, a),
        Call::DomainGetBlockInfo(a) => stats::domain_get_block_info(&conn, h, a),
        Call::DomainGetDiskErrors(a) => stats::domain_get_disk_errors(&conn, h, a),
        Call::DomainGetCpuStats(a) => stats::domain_get_cpu_stats(&conn, h, a),
        Call::ConnectGetAllDomainStats(a) => stats::connect_get_all_domain_stats(&conn, h, a),
        Call::NodeGetCpuStats(a) => stats::node_get_cpu_stats(&conn, h, a),
        Call::NodeGetMemoryStats(a) => stats::node_get_memory_stats(&conn, h, a),
        Call::DomainAttachDevice(a) => devices::attach_device(&conn, h, a),
        Call::DomainAttachDeviceFlags(a) => devices::attach_device_flags(&conn, h, a),
        Call::DomainDetachDevice(a) => devices::detach_device(&conn, h, a),
        Call::DomainDetachDeviceFlags(a) => devices::detach_device_flags(&conn, h, a),
        Call::DomainUpdateDeviceFlags(a) => devices::update_device_flags(&conn, h, a),
        Call::DomainDetachDeviceAlias(a) => devices::detach_device_alias(&conn, h, a),
        Call::DomainSetVcpus(a) => live_tuning::set_vcpus(&conn, h, a),
        Call::DomainSetVcpusFlags(a) => live_tuning::set_vcpus_flags(&conn, h, a),
        Call::DomainGetMemoryParameters(a) => live_tuning::get_memory_parameters(&conn, h, a),
        Call::DomainSetBlockIoTune(a) => extra_calls::set_block_io_tune(&conn, h, a),
        Call::DomainGetBlockIoTune(a) => extra_calls::get_block_io_tune(&conn, h, a),
        Call::DomainInjectNmi(a) => extra_calls::inject_nmi(&conn, h, a),
        Call::DomainSendProcessSignal(a) => extra_calls::send_process_signal(&conn, h, a),
        Call::DomainRename(a) => extra_calls::rename(&conn, h, a),
        Call::NodeGetMemoryParameters(a) => extra_calls::node_get_memory_parameters(&conn, h, a),
        Call::NodeSetMemoryParameters(a) => extra_calls::node_set_memory_parameters(&conn, h, a),
        Call::NodeGetFreePages(a) => extra_calls::node_get_free_pages(&conn, h, a),
        Call::NodeAllocPages(a) => extra_calls::node_alloc_pages(&conn, h, a),
        Call::ConnectDomainXmlToNative(a) => extra_calls::connect_domain_xml_to_native(&conn, h, a),
        Call::DomainBlockPeek(a) => extra_calls::block_peek(&conn, h, a),
        Call::DomainMemoryPeek(a) => extra_calls::memory_peek(&conn, h, a),
        Call::DomainCoreDump(a) => extra_calls::core_dump(&conn, h, a),
        Call::DomainCoreDumpWithFormat(a) => extra_calls::core_dump_with_format(&conn, h, a),
        Call::DomainSaveParams(a) => extra_calls::save_params_call(&conn, h, a),
        Call::DomainRestoreParams(a) => extra_calls::restore_params(&conn, h, a),
        Call::DomainSetLifecycleAction(a) => extra_calls::set_lifecycle_action(&conn, h, a),
        Call::DomainSetIothreadParams(a) => extra_calls::set_iothread_params(&conn, h, a),
        Call::DomainStartDirtyRateCalc(a) => extra_calls::start_dirty_rate_calc(&conn, h, a),
        Call::DomainSetInterfaceParameters(a) => extra_calls::set_interface_parameters(&conn, h, a),
        Call::DomainGetInterfaceParameters(a) => extra_calls::get_interface_parameters(&conn, h, a),
        Call::DomainSetMemoryParameters(a) => live_tuning::set_memory_parameters(&conn, h, a),
        Call::DomainGetBlkioParameters(a) => live_tuning::get_blkio_parameters(&conn, h, a),
        Call::DomainSetBlkioParameters(a) => live_tuning::set_blkio_parameters(&conn, h, a),
        Call::DomainGetPerfEvents(a) => live_tuning::get_perf_events(&conn, h, a),
        Call::DomainSetPerfEvents(a) => live_tuning::set_perf_events(&conn, h, a),
        Call::DomainGetNumaParameters(a) => live_tuning::get_numa_parameters(&conn, h, a),
        Call::DomainSetNumaParameters(a) => live_tuning::set_numa_parameters(&conn, h, a),
        Call::DomainSetVcpu(a) => live_tuning::set_vcpu(&conn, h, a),
        Call::DomainSetMaxMemory(a) => live_tuning::set_max_memory(&conn, h, a),
        Call::DomainPinVcpu(a) => live_tuning::pin_vcpu(&conn, h, a),
        Call::DomainPinVcpuFlags(a) => live_tuning::pin_vcpu_flags(&conn, h, a),
        Call::DomainPinEmulator(a) => live_tuning::pin_emulator(&conn, h, a),
        Call::DomainGetEmulatorPinInfo(a) => live_tuning::get_emulator_pin_info(&conn, h, a),
        Call::DomainGetIothreadInfo(a) => live_tuning::get_iothread_info(&conn, h, a),
        Call::DomainPinIothread(a) => live_tuning::pin_iothread(&conn, h, a),
        Call::DomainAddIothread(a) => live_tuning::add_iothread(&conn, h, a),
        Call::DomainDelIothread(a) => live_tuning::del_iothread(&conn, h, a),
        Call::Unserved(u) => reply_err(h, not_supported(u.info)),
    }
}
