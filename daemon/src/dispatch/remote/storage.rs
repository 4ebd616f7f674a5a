//! Storage pool and volume procedures: each asks the session's storage
//! connection (the secondary driver) on a worker thread, since pool and
//! volume calls run host tools (qemu-img, mount, parted).

use std::sync::Arc;

use drivers::api::{PoolHandle, StorageConnection, VolumeHandle, VolumeInfo};
use protocol::error::RemoteError;
use protocol::header::Header;
use protocol::programs::remote_proc as p;
use protocol::remote::limits::{STORAGE_POOL_LIST_MAX, STORAGE_VOL_LIST_MAX};
use protocol::remote::*;

use super::object_events::{checked_deregister, checked_register};
use super::{drv, inline, job, reply_err, Action, Session};
use crate::context::Daemon;
use crate::dispatch::access::not_supported;
use crate::dispatch::reply::rpc_error;
use crate::dispatch::vol_streams;
use crate::storage_events::POOL_EVENT_ID_LAST;

/// The session's storage connection, or libvirt's "not supported" for the call.
fn storage(session: &Session, h: &Header) -> Result<Arc<dyn StorageConnection>, Action> {
    match (session.storage.clone(), p::info(h.proc_)) {
        (Some(st), _) => Ok(st),
        (None, Some(info)) => Err(reply_err(h, not_supported(info))),
        (None, None) => Err(reply_err(
            h,
            rpc_error(protocol::error::codes::RPC, "unknown procedure"),
        )),
    }
}

pub(super) fn pool(p: &NonnullStoragePool) -> PoolHandle {
    PoolHandle {
        name: p.name.clone(),
        uuid: p.uuid,
    }
}

pub(super) fn vol(v: &NonnullStorageVol) -> VolumeHandle {
    VolumeHandle {
        pool: v.pool.clone(),
        name: v.name.clone(),
        key: v.key.clone(),
    }
}

fn wire_pool(p: PoolHandle) -> NonnullStoragePool {
    NonnullStoragePool {
        name: p.name,
        uuid: p.uuid,
    }
}

fn wire_vol(v: VolumeHandle) -> NonnullStorageVol {
    NonnullStorageVol {
        pool: v.pool,
        name: v.name,
        key: v.key,
    }
}

fn pool_ret(p: PoolHandle) -> StoragePoolRefRet {
    StoragePoolRefRet { pool: wire_pool(p) }
}

fn vol_ret(v: VolumeHandle) -> StorageVolLookupByNameRet {
    StorageVolLookupByNameRet { vol: wire_vol(v) }
}

fn vol_info_ret(i: VolumeInfo) -> StorageVolGetInfoRet {
    StorageVolGetInfoRet {
        type_: i.kind,
        capacity: i.capacity,
        allocation: i.allocation,
    }
}

/// The old list calls: a negative or too large count is refused as libvirtd's
/// dispatcher does.
fn check_max(max: i32, limit: usize, name: &str) -> Result<(), RemoteError> {
    if max < 0 || max as usize > limit {
        return Err(rpc_error(
            protocol::error::codes::RPC,
            &format!("maxnames > {name}"),
        ));
    }
    Ok(())
}

/// One handler per procedure: the storage connection or libvirt's "not
/// supported", then the driver call on a worker thread.
macro_rules! storage_calls {
    ($( $name:ident ( $($arg:ident : $args:ty)? ) => |$st:ident| $body:expr; )*) => {
        $(
            pub fn $name(session: &Session, h: &Header $(, $arg: $args)?) -> Action {
                let $st = match storage(session, h) {
                    Ok(st) => st,
                    Err(refused) => return refused,
                };
                job(h, move || drv($body))
            }
        )*
    };
}

storage_calls! {
    connect_list_all_storage_pools(a: ConnectListAllStoragePoolsArgs) => |st| st.list_all_pools(a.flags).map(|pools| {
            let ret = pools.len() as u32;
            let pools = if a.need_results != 0 { pools.into_iter().map(wire_pool).collect() } else { Vec::new() };
            ConnectListAllStoragePoolsRet { pools, ret }
        });
    connect_num_of_storage_pools() => |st| st.num_of_pools().map(|num| StorageNumRet { num });
    connect_list_storage_pools(a: ConnectListStoragePoolsArgs) => |st| {
            check_max(a.maxnames, STORAGE_POOL_LIST_MAX, "REMOTE_STORAGE_POOL_LIST_MAX")?;
            st.list_pools(a.maxnames).map(|names| ConnectListStoragePoolsRet { names })
        };
    connect_num_of_defined_storage_pools() => |st| st.num_of_defined_pools().map(|num| StorageNumRet { num });
    connect_list_defined_storage_pools(a: ConnectListStoragePoolsArgs) => |st| {
            check_max(a.maxnames, STORAGE_POOL_LIST_MAX, "REMOTE_STORAGE_POOL_LIST_MAX")?;
            st.list_defined_pools(a.maxnames).map(|names| ConnectListStoragePoolsRet { names })
        };
    connect_find_storage_pool_sources(a: ConnectFindStoragePoolSourcesArgs) => |st| st.find_pool_sources(&a.type_, a.src_spec.as_deref(), a.flags).map(|xml| StorageXmlRet { xml });
    connect_get_storage_pool_capabilities(a: ConnectGetStoragePoolCapabilitiesArgs) => |st| st.pool_capabilities(a.flags).map(|xml| StorageXmlRet { xml });
    storage_pool_create_xml(a: StoragePoolXmlArgs) => |st| st.pool_create_xml(&a.xml, a.flags).map(pool_ret);
    storage_pool_define_xml(a: StoragePoolXmlArgs) => |st| st.pool_define_xml(&a.xml, a.flags).map(pool_ret);
    storage_pool_create(a: StoragePoolFlagsArgs) => |st| st.pool_create(&pool(&a.pool), a.flags);
    storage_pool_build(a: StoragePoolFlagsArgs) => |st| st.pool_build(&pool(&a.pool), a.flags);
    storage_pool_destroy(a: StoragePoolRefArgs) => |st| st.pool_destroy(&pool(&a.pool));
    storage_pool_delete(a: StoragePoolFlagsArgs) => |st| st.pool_delete(&pool(&a.pool), a.flags);
    storage_pool_undefine(a: StoragePoolRefArgs) => |st| st.pool_undefine(&pool(&a.pool));
    storage_pool_refresh(a: StoragePoolFlagsArgs) => |st| st.pool_refresh(&pool(&a.pool), a.flags);
    storage_pool_lookup_by_name(a: StoragePoolLookupByNameArgs) => |st| st.pool_lookup_by_name(&a.name).map(pool_ret);
    storage_pool_lookup_by_uuid(a: StoragePoolLookupByUuidArgs) => |st| st.pool_lookup_by_uuid(&a.uuid).map(pool_ret);
    storage_pool_lookup_by_volume(a: StoragePoolLookupByVolumeArgs) => |st| st.pool_lookup_by_volume(&vol(&a.vol)).map(pool_ret);
    storage_pool_lookup_by_target_path(a: StoragePoolLookupByTargetPathArgs) => |st| st.pool_lookup_by_target_path(&a.path).map(pool_ret);
    storage_pool_get_info(a: StoragePoolRefArgs) => |st| st.pool_info(&pool(&a.pool)).map(|i| StoragePoolGetInfoRet {
            state: i.state,
            capacity: i.capacity,
            allocation: i.allocation,
            available: i.available,
        });
    storage_pool_get_xml_desc(a: StoragePoolFlagsArgs) => |st| st.pool_xml(&pool(&a.pool), a.flags).map(|xml| StorageXmlRet { xml });
    storage_pool_get_autostart(a: StoragePoolRefArgs) => |st| st.pool_autostart(&pool(&a.pool)).map(|on| StoragePoolGetAutostartRet { autostart: on as i32 });
    storage_pool_set_autostart(a: StoragePoolSetAutostartArgs) => |st| st.pool_set_autostart(&pool(&a.pool), a.autostart != 0);
    storage_pool_is_active(a: StoragePoolRefArgs) => |st| st.pool_is_active(&pool(&a.pool)).map(|on| StoragePoolIsActiveRet { active: on as i32 });
    storage_pool_is_persistent(a: StoragePoolRefArgs) => |st| st.pool_is_persistent(&pool(&a.pool)).map(|on| StoragePoolIsPersistentRet { persistent: on as i32 });
    storage_pool_num_of_volumes(a: StoragePoolRefArgs) => |st| st.pool_num_of_volumes(&pool(&a.pool)).map(|num| StorageNumRet { num });
    storage_pool_list_volumes(a: StoragePoolListVolumesArgs) => |st| {
            check_max(a.maxnames, STORAGE_VOL_LIST_MAX, "REMOTE_STORAGE_VOL_LIST_MAX")?;
            st.pool_list_volumes(&pool(&a.pool), a.maxnames).map(|names| StoragePoolListVolumesRet { names })
        };
    storage_pool_list_all_volumes(a: StoragePoolListAllVolumesArgs) => |st| st.pool_list_all_volumes(&pool(&a.pool), a.flags).map(|vols| {
            let ret = vols.len() as u32;
            let vols = if a.need_results != 0 { vols.into_iter().map(wire_vol).collect() } else { Vec::new() };
            StoragePoolListAllVolumesRet { vols, ret }
        });
    storage_vol_create_xml(a: StorageVolCreateXmlArgs) => |st| st.vol_create_xml(&pool(&a.pool), &a.xml, a.flags).map(vol_ret);
    storage_vol_create_xml_from(a: StorageVolCreateXmlFromArgs) => |st| st.vol_create_xml_from(&pool(&a.pool), &a.xml, &vol(&a.clonevol), a.flags).map(vol_ret);
    storage_vol_delete(a: StorageVolFlagsArgs) => |st| st.vol_delete(&vol(&a.vol), a.flags);
    storage_vol_wipe(a: StorageVolFlagsArgs) => |st| st.vol_wipe(&vol(&a.vol), 0, a.flags);
    storage_vol_wipe_pattern(a: StorageVolWipePatternArgs) => |st| st.vol_wipe(&vol(&a.vol), a.algorithm, a.flags);
    storage_vol_resize(a: StorageVolResizeArgs) => |st| st.vol_resize(&vol(&a.vol), a.capacity, a.flags);
    storage_vol_lookup_by_name(a: StorageVolLookupByNameArgs) => |st| st.vol_lookup_by_name(&pool(&a.pool), &a.name).map(vol_ret);
    storage_vol_lookup_by_key(a: StorageVolLookupByStringArgs) => |st| st.vol_lookup_by_key(&a.key).map(vol_ret);
    storage_vol_lookup_by_path(a: StorageVolLookupByStringArgs) => |st| st.vol_lookup_by_path(&a.key).map(vol_ret);
    storage_vol_get_info(a: StorageVolRefArgs) => |st| st.vol_info(&vol(&a.vol), 0).map(vol_info_ret);
    storage_vol_get_info_flags(a: StorageVolFlagsArgs) => |st| st.vol_info(&vol(&a.vol), a.flags).map(vol_info_ret);
    storage_vol_get_xml_desc(a: StorageVolFlagsArgs) => |st| st.vol_xml(&vol(&a.vol), a.flags).map(|xml| StorageXmlRet { xml });
    storage_vol_get_path(a: StorageVolRefArgs) => |st| st.vol_path(&vol(&a.vol)).map(|name| StorageVolGetPathRet { name });
}

pub fn connect_storage_pool_event_register_any(
    daemon: &Daemon,
    session: &mut Session,
    h: &Header,
    a: ConnectStoragePoolEventRegisterAnyArgs,
) -> Action {
    if let Err(refused) = storage(session, h) {
        return refused;
    }
    let client = session.info.id;
    let sender = session.sender();
    inline(h, || {
        let callback_id = checked_register("storage pool", a.event_id, POOL_EVENT_ID_LAST, || {
            let pool = a.pool.map(|p| p.uuid);
            daemon
                .storage_events
                .register(client, a.event_id, pool, sender)
        })?;
        Ok(ConnectStoragePoolEventRegisterAnyRet { callback_id })
    })
}

pub fn connect_storage_pool_event_deregister_any(
    daemon: &Daemon,
    session: &mut Session,
    h: &Header,
    a: ConnectStoragePoolEventDeregisterAnyArgs,
) -> Action {
    let client = session.info.id;
    inline(h, || {
        let removed = daemon.storage_events.deregister(client, a.callback_id);
        checked_deregister("storage pool", a.callback_id, removed)
    })
}

pub fn storage_vol_upload(session: &mut Session, h: &Header, a: StorageVolTransferArgs) -> Action {
    transfer(session, h, a, true)
}

pub fn storage_vol_download(
    session: &mut Session,
    h: &Header,
    a: StorageVolTransferArgs,
) -> Action {
    transfer(session, h, a, false)
}

fn transfer(session: &mut Session, h: &Header, a: StorageVolTransferArgs, upload: bool) -> Action {
    let st = match storage(session, h) {
        Ok(st) => st,
        Err(refused) => return refused,
    };
    if session.streams.is_open(h.serial) {
        return reply_err(
            h,
            rpc_error(
                protocol::error::codes::RPC,
                "a stream with this serial is already open",
            ),
        );
    }
    let t = vol_streams::Transfer {
        vol: vol(&a.vol),
        offset: a.offset,
        length: a.length,
        flags: a.flags,
    };
    if upload {
        vol_streams::upload(session, st, h, t)
    } else {
        vol_streams::download(session, st, h, t)
    }
}
