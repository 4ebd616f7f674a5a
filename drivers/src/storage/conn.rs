//! One client's storage connection: the driver API calls on the shared pool list.

use std::sync::Arc;

use super::pool::{Pool, Volume};
use super::pool_def::PoolDef;
use super::vol_def::VolDef;
use super::{backend, errors, persist, volumes, Inner};
use crate::api::{
    format_uuid, pool_event, DriverResult, PoolEventKind, PoolHandle, PoolInfo, StorageConnection,
    Uuid, VolumeHandle, VolumeInfo, VolumeReader, VolumeTarget, VolumeWriter,
};

/// `VIR_CONNECT_LIST_STORAGE_POOLS_*` state bits.
const LIST_INACTIVE: u32 = 1;
const LIST_ACTIVE: u32 = 2;
const LIST_PERSISTENT: u32 = 4;
const LIST_TRANSIENT: u32 = 8;
const LIST_AUTOSTART: u32 = 16;
const LIST_NO_AUTOSTART: u32 = 32;
/// `VIR_STORAGE_POOL_CREATE_WITH_BUILD*`.
const CREATE_WITH_BUILD: u32 = 1;
const CREATE_WITH_BUILD_OVERWRITE: u32 = 2;
const CREATE_WITH_BUILD_NO_OVERWRITE: u32 = 4;
/// `VIR_STORAGE_XML_INACTIVE`.
const XML_INACTIVE: u32 = 1;
/// `VIR_STORAGE_VOL_GET_PHYSICAL`.
const INFO_GET_PHYSICAL: u32 = 1;

pub struct StorageConn {
    inner: Arc<Inner>,
}

impl StorageConn {
    pub fn new(inner: Arc<Inner>, _read_only: bool) -> Self {
        StorageConn { inner }
    }
}

fn check_flags(flags: u32, allowed: u32, function: &str) -> DriverResult<()> {
    if flags & !allowed != 0 {
        return Err(crate::api::DriverError::unsupported_flags(
            errors::FROM_STORAGE,
            flags & !allowed,
            function,
        ));
    }
    Ok(())
}

/// The pool a client handle names (libvirt resolves pool handles by uuid).
fn by_handle<'a>(pools: &'a mut [Pool], h: &PoolHandle) -> DriverResult<&'a mut Pool> {
    pools
        .iter_mut()
        .find(|p| p.def.uuid == h.uuid)
        .ok_or_else(|| {
            errors::no_pool(&format!(
                "no storage pool with matching uuid '{}' ({})",
                format_uuid(&h.uuid),
                h.name
            ))
        })
}

fn index_of(pools: &[Pool], h: &PoolHandle) -> DriverResult<usize> {
    pools
        .iter()
        .position(|p| p.def.uuid == h.uuid)
        .ok_or_else(|| {
            errors::no_pool(&format!(
                "no storage pool with matching uuid '{}' ({})",
                format_uuid(&h.uuid),
                h.name
            ))
        })
}

fn active(pool: &Pool) -> DriverResult<()> {
    if pool.active {
        Ok(())
    } else {
        Err(errors::pool_not_active(&pool.def.name))
    }
}

/// The running pool and the volume a volume handle names.
fn vol_of<'a>(pools: &'a mut [Pool], h: &VolumeHandle) -> DriverResult<(&'a mut Pool, Volume)> {
    let pool = pools
        .iter_mut()
        .find(|p| p.def.name == h.pool)
        .ok_or_else(|| errors::no_pool_name(&h.pool))?;
    active(pool)?;
    if pool.building.contains(&h.name) {
        return Err(errors::operation_invalid(&format!(
            "volume '{}' is still being allocated.",
            h.name
        )));
    }
    let vol = pool.volume(&h.name).cloned().ok_or_else(|| {
        errors::no_vol(&format!("no storage vol with matching name '{}'", h.name))
    })?;
    Ok((pool, vol))
}

fn vol_handle(pool: &Pool, vol: &Volume) -> VolumeHandle {
    VolumeHandle {
        pool: pool.def.name.clone(),
        name: vol.name.clone(),
        key: vol.key(),
    }
}

fn state_event(event: i32) -> PoolEventKind {
    PoolEventKind::Lifecycle { event, detail: 0 }
}

/// `<disk type='volume'>` of a guest: the path and format of a running pool's volume.
pub fn resolve(inner: &Inner, pool: &str, volume: &str) -> DriverResult<VolumeTarget> {
    let mut pools = inner.lock();
    let p = pools
        .iter_mut()
        .find(|p| p.def.name == pool)
        .ok_or_else(|| errors::no_pool_name(pool))?;
    active(p)?;
    let _ = backend::refresh(&inner.paths, p);
    let vol = p
        .volume(volume)
        .ok_or_else(|| errors::no_vol(&format!("no storage vol with matching name '{volume}'")))?;
    Ok(VolumeTarget {
        path: vol.path.clone(),
        format: if vol.format == "qcow2" {
            "qcow2"
        } else {
            "raw"
        }
        .to_string(),
        block: vol.kind == 1,
        directory: vol.kind == 2,
    })
}

impl StorageConn {
    fn define(&self, def: PoolDef) -> DriverResult<PoolHandle> {
        let paths = &self.inner.paths;
        let mut pools = self.inner.lock();
        if let Some(existing) = pools.iter().find(|p| p.def.name == def.name) {
            if existing.def.uuid != def.uuid {
                return Err(errors::operation_invalid(&format!(
                    "pool '{}' is already defined with uuid {}",
                    def.name,
                    format_uuid(&existing.def.uuid)
                )));
            }
        } else if let Some(other) = pools.iter().find(|p| p.def.uuid == def.uuid) {
            return Err(errors::operation_invalid(&format!(
                "pool '{}' already exists with uuid {}",
                other.def.name,
                format_uuid(&def.uuid)
            )));
        }
        check_duplicate_source(&pools, &def)?;
        persist::write_config(paths, &def)?;
        let pool = match pools.iter_mut().find(|p| p.def.name == def.name) {
            // A running pool keeps its definition until it stops, as in libvirt.
            Some(p) if p.active => {
                p.new_def = Some(def);
                p.persistent = true;
                p
            }
            Some(p) => {
                p.def = def;
                p.persistent = true;
                p
            }
            None => {
                pools.push(Pool::new(def, true));
                pools.last_mut().expect("just pushed")
            }
        };
        self.inner.emit(pool, state_event(pool_event::DEFINED));
        Ok(pool.handle())
    }
}

/// Two pools may not share a target path or a source device.
fn check_duplicate_source(pools: &[Pool], def: &PoolDef) -> DriverResult<()> {
    for p in pools.iter().filter(|p| p.def.name != def.name) {
        if p.def.target_path == def.target_path && def.kind != super::pool_def::PoolKind::Disk {
            return Err(errors::operation_failed(&format!(
                "Storage source conflict with pool: '{}'",
                p.def.name
            )));
        }
        if def
            .source_devices
            .iter()
            .any(|d| p.def.source_devices.contains(d))
        {
            return Err(errors::operation_failed(&format!(
                "Storage source conflict with pool: '{}'",
                p.def.name
            )));
        }
    }
    Ok(())
}

fn build_flags_of_create(flags: u32) -> DriverResult<Option<u32>> {
    if flags & CREATE_WITH_BUILD_OVERWRITE != 0 && flags & CREATE_WITH_BUILD_NO_OVERWRITE != 0 {
        return Err(errors::invalid_arg(
            "Flags 'VIR_STORAGE_POOL_CREATE_WITH_BUILD_OVERWRITE' and 'VIR_STORAGE_POOL_CREATE_WITH_BUILD_NO_OVERWRITE' are mutually exclusive",
        ));
    }
    Ok(if flags & CREATE_WITH_BUILD_OVERWRITE != 0 {
        Some(backend::BUILD_OVERWRITE)
    } else if flags & CREATE_WITH_BUILD_NO_OVERWRITE != 0 {
        Some(backend::BUILD_NO_OVERWRITE)
    } else if flags & CREATE_WITH_BUILD != 0 {
        Some(0)
    } else {
        None
    })
}

impl StorageConnection for StorageConn {
    fn list_all_pools(&self, flags: u32) -> DriverResult<Vec<PoolHandle>> {
        check_flags(flags, 0x3ffff, "virConnectListAllStoragePools")?;
        let pools = self.inner.lock();
        let pick = |bits: u32, on: u32, off: u32, value: bool| {
            bits & (on | off) == 0 || (bits & on != 0 && value) || (bits & off != 0 && !value)
        };
        let types = flags & !0x3f;
        Ok(pools
            .iter()
            .filter(|p| pick(flags, LIST_ACTIVE, LIST_INACTIVE, p.active))
            .filter(|p| pick(flags, LIST_PERSISTENT, LIST_TRANSIENT, p.persistent))
            .filter(|p| pick(flags, LIST_AUTOSTART, LIST_NO_AUTOSTART, p.autostart))
            .filter(|p| types == 0 || types & p.def.kind.list_flag() != 0)
            .map(Pool::handle)
            .collect())
    }

    fn num_of_pools(&self) -> DriverResult<i32> {
        Ok(self.inner.lock().iter().filter(|p| p.active).count() as i32)
    }

    fn list_pools(&self, max: i32) -> DriverResult<Vec<String>> {
        let pools = self.inner.lock();
        Ok(pools
            .iter()
            .filter(|p| p.active)
            .take(max.max(0) as usize)
            .map(|p| p.def.name.clone())
            .collect())
    }

    fn num_of_defined_pools(&self) -> DriverResult<i32> {
        Ok(self.inner.lock().iter().filter(|p| !p.active).count() as i32)
    }

    fn list_defined_pools(&self, max: i32) -> DriverResult<Vec<String>> {
        let pools = self.inner.lock();
        Ok(pools
            .iter()
            .filter(|p| !p.active)
            .take(max.max(0) as usize)
            .map(|p| p.def.name.clone())
            .collect())
    }

    fn find_pool_sources(
        &self,
        kind: &str,
        _spec: Option<&str>,
        flags: u32,
    ) -> DriverResult<String> {
        check_flags(flags, 0, "virConnectFindStoragePoolSources")?;
        match super::pool_def::PoolKind::parse(kind) {
            Some(super::pool_def::PoolKind::Logical) => super::logical::find_sources(),
            Some(_) => Err(crate::api::DriverError::new(
                crate::api::codes::NO_SUPPORT,
                errors::FROM_STORAGE,
                format!("pool type '{kind}' does not support source discovery"),
            )),
            None => Err(errors::internal(&format!(
                "unknown storage pool type {kind}"
            ))),
        }
    }

    fn pool_capabilities(&self, flags: u32) -> DriverResult<String> {
        check_flags(flags, 0, "virConnectGetStoragePoolCapabilities")?;
        Ok(super::transfer::capabilities_xml())
    }

    fn pool_lookup_by_name(&self, name: &str) -> DriverResult<PoolHandle> {
        let pools = self.inner.lock();
        pools
            .iter()
            .find(|p| p.def.name == name)
            .map(Pool::handle)
            .ok_or_else(|| errors::no_pool_name(name))
    }

    fn pool_lookup_by_uuid(&self, uuid: &Uuid) -> DriverResult<PoolHandle> {
        let pools = self.inner.lock();
        pools
            .iter()
            .find(|p| &p.def.uuid == uuid)
            .map(Pool::handle)
            .ok_or_else(|| errors::no_pool_uuid(&format_uuid(uuid)))
    }

    fn pool_lookup_by_volume(&self, vol: &VolumeHandle) -> DriverResult<PoolHandle> {
        let pools = self.inner.lock();
        pools
            .iter()
            .find(|p| p.def.name == vol.pool)
            .map(Pool::handle)
            .ok_or_else(|| errors::no_pool_name(&vol.pool))
    }

    fn pool_lookup_by_target_path(&self, path: &str) -> DriverResult<PoolHandle> {
        let pools = self.inner.lock();
        let clean = path.trim_end_matches('/');
        pools
            .iter()
            .find(|p| p.active && p.def.target_path.trim_end_matches('/') == clean)
            .map(Pool::handle)
            .ok_or_else(|| {
                errors::no_pool(&format!(
                    "no storage pool with matching target path '{path}'"
                ))
            })
    }

    fn pool_define_xml(&self, xml: &str, flags: u32) -> DriverResult<PoolHandle> {
        check_flags(flags, 1, "virStoragePoolDefineXML")?;
        self.define(PoolDef::parse(xml)?)
    }

    fn pool_create_xml(&self, xml: &str, flags: u32) -> DriverResult<PoolHandle> {
        check_flags(flags, 7, "virStoragePoolCreateXML")?;
        let build = build_flags_of_create(flags)?;
        let def = PoolDef::parse(xml)?;
        let paths = &self.inner.paths;
        let mut pools = self.inner.lock();
        if let Some(p) = pools
            .iter()
            .find(|p| p.def.name == def.name || p.def.uuid == def.uuid)
        {
            return Err(errors::operation_invalid(&format!(
                "pool '{}' already exists",
                p.def.name
            )));
        }
        check_duplicate_source(&pools, &def)?;
        let mut pool = Pool::new(def, false);
        if let Some(bflags) = build {
            super::disk::settle_format(&mut pool);
            backend::build(paths, &pool, bflags)?;
        }
        persist::start_pool(paths, &mut pool)?;
        self.inner.emit(&pool, state_event(pool_event::STARTED));
        let handle = pool.handle();
        pools.push(pool);
        Ok(handle)
    }

    fn pool_create(&self, h: &PoolHandle, flags: u32) -> DriverResult<()> {
        check_flags(flags, 7, "virStoragePoolCreate")?;
        let build = build_flags_of_create(flags)?;
        let paths = &self.inner.paths;
        let mut pools = self.inner.lock();
        let pool = by_handle(&mut pools, h)?;
        if pool.active {
            return Err(errors::pool_active(&pool.def.name));
        }
        if let Some(bflags) = build {
            super::disk::settle_format(pool);
            backend::build(paths, pool, bflags)?;
        }
        persist::start_pool(paths, pool)?;
        self.inner.emit(pool, state_event(pool_event::STARTED));
        Ok(())
    }

    fn pool_build(&self, h: &PoolHandle, flags: u32) -> DriverResult<()> {
        check_flags(flags, 0xf, "virStoragePoolBuild")?;
        let paths = &self.inner.paths;
        let mut pools = self.inner.lock();
        let pool = by_handle(&mut pools, h)?;
        if pool.active {
            return Err(errors::pool_active(&pool.def.name));
        }
        super::disk::settle_format(pool);
        backend::build(paths, pool, flags)?;
        self.inner.emit(pool, state_event(pool_event::CREATED));
        Ok(())
    }

    fn pool_destroy(&self, h: &PoolHandle) -> DriverResult<()> {
        let paths = &self.inner.paths;
        let mut pools = self.inner.lock();
        let index = index_of(&pools, h)?;
        let pool = &mut pools[index];
        active(pool)?;
        pool.check_no_jobs()?;
        if let Some((vol, user)) = pool.volumes.iter().find_map(|v| {
            self.inner
                .user_of(&pool.def.name, &v.name, &v.path)
                .map(|u| (v.name.clone(), u))
        }) {
            return Err(errors::operation_invalid(&format!(
                "storage pool '{}' has volume '{vol}' in use by guest '{user}'",
                pool.def.name
            )));
        }
        backend::stop(paths, pool)?;
        persist::remove_status(paths, &pool.def.name);
        pool.active = false;
        pool.volumes.clear();
        pool.sizes = (0, 0, 0);
        if let Some(def) = pool.new_def.take() {
            pool.def = def;
        }
        self.inner.emit(pool, state_event(pool_event::STOPPED));
        if !pool.persistent {
            persist::remove_formats(paths, &pool.def.name);
            pools.remove(index);
        }
        Ok(())
    }

    fn pool_delete(&self, h: &PoolHandle, flags: u32) -> DriverResult<()> {
        check_flags(flags, 1, "virStoragePoolDelete")?;
        let paths = &self.inner.paths;
        let mut pools = self.inner.lock();
        let pool = by_handle(&mut pools, h)?;
        if pool.active {
            return Err(errors::operation_invalid(&format!(
                "storage pool '{}' is still active",
                pool.def.name
            )));
        }
        backend::delete(paths, pool)?;
        persist::remove_formats(paths, &pool.def.name);
        pool.formats.clear();
        self.inner.emit(pool, state_event(pool_event::DELETED));
        Ok(())
    }

    fn pool_undefine(&self, h: &PoolHandle) -> DriverResult<()> {
        let paths = &self.inner.paths;
        let mut pools = self.inner.lock();
        let index = index_of(&pools, h)?;
        let pool = &mut pools[index];
        if pool.active {
            return Err(errors::operation_invalid(&format!(
                "storage pool '{}' is still active",
                pool.def.name
            )));
        }
        persist::remove_config(paths, &pool.def.name)?;
        persist::remove_formats(paths, &pool.def.name);
        self.inner.emit(pool, state_event(pool_event::UNDEFINED));
        pools.remove(index);
        Ok(())
    }

    fn pool_refresh(&self, h: &PoolHandle, flags: u32) -> DriverResult<()> {
        check_flags(flags, 0, "virStoragePoolRefresh")?;
        let paths = &self.inner.paths;
        let mut pools = self.inner.lock();
        let pool = by_handle(&mut pools, h)?;
        active(pool)?;
        pool.check_no_jobs()?;
        backend::refresh(paths, pool)?;
        let _ = persist::write_status(paths, pool);
        self.inner.emit(pool, PoolEventKind::Refresh);
        Ok(())
    }

    fn pool_info(&self, h: &PoolHandle) -> DriverResult<PoolInfo> {
        let mut pools = self.inner.lock();
        let pool = by_handle(&mut pools, h)?;
        let (capacity, allocation, available) = pool.sizes;
        Ok(PoolInfo {
            state: if pool.active { 2 } else { 0 },
            capacity,
            allocation,
            available,
        })
    }

    fn pool_xml(&self, h: &PoolHandle, flags: u32) -> DriverResult<String> {
        check_flags(flags, XML_INACTIVE, "virStoragePoolGetXMLDesc")?;
        let paths = &self.inner.paths;
        let mut pools = self.inner.lock();
        let pool = by_handle(&mut pools, h)?;
        if flags & XML_INACTIVE != 0 || !pool.active {
            let def = pool.new_def.as_ref().unwrap_or(&pool.def);
            return Ok(def.format((0, 0, 0), None));
        }
        let target = backend::target(paths, pool);
        let perms = std::fs::metadata(&target).ok().map(|m| {
            use std::os::unix::fs::MetadataExt;
            (m.mode() & 0o7777, m.uid(), m.gid())
        });
        Ok(pool.def.format(pool.sizes, perms))
    }

    fn pool_autostart(&self, h: &PoolHandle) -> DriverResult<bool> {
        let mut pools = self.inner.lock();
        Ok(by_handle(&mut pools, h)?.autostart)
    }

    fn pool_set_autostart(&self, h: &PoolHandle, on: bool) -> DriverResult<()> {
        let paths = &self.inner.paths;
        let mut pools = self.inner.lock();
        let pool = by_handle(&mut pools, h)?;
        if !pool.persistent {
            return Err(errors::operation_invalid(
                "cannot set autostart for transient pool",
            ));
        }
        if pool.autostart != on {
            persist::set_autostart(paths, &pool.def.name, on)?;
            pool.autostart = on;
        }
        Ok(())
    }

    fn pool_is_active(&self, h: &PoolHandle) -> DriverResult<bool> {
        let mut pools = self.inner.lock();
        Ok(by_handle(&mut pools, h)?.active)
    }

    fn pool_is_persistent(&self, h: &PoolHandle) -> DriverResult<bool> {
        let mut pools = self.inner.lock();
        Ok(by_handle(&mut pools, h)?.persistent)
    }

    fn pool_num_of_volumes(&self, h: &PoolHandle) -> DriverResult<i32> {
        let mut pools = self.inner.lock();
        let pool = by_handle(&mut pools, h)?;
        active(pool)?;
        Ok(pool.volumes.len() as i32)
    }

    fn pool_list_volumes(&self, h: &PoolHandle, max: i32) -> DriverResult<Vec<String>> {
        let mut pools = self.inner.lock();
        let pool = by_handle(&mut pools, h)?;
        active(pool)?;
        Ok(pool
            .volumes
            .iter()
            .take(max.max(0) as usize)
            .map(|v| v.name.clone())
            .collect())
    }

    fn pool_list_all_volumes(&self, h: &PoolHandle, flags: u32) -> DriverResult<Vec<VolumeHandle>> {
        check_flags(flags, 0, "virStoragePoolListAllVolumes")?;
        let mut pools = self.inner.lock();
        let pool = by_handle(&mut pools, h)?;
        active(pool)?;
        Ok(pool.volumes.iter().map(|v| vol_handle(pool, v)).collect())
    }

    fn vol_create_xml(&self, h: &PoolHandle, xml: &str, flags: u32) -> DriverResult<VolumeHandle> {
        check_flags(
            flags,
            volumes::CREATE_PREALLOC_METADATA,
            "virStorageVolCreateXML",
        )?;
        self.create_volume(h, xml, None, flags)
    }

    fn vol_create_xml_from(
        &self,
        h: &PoolHandle,
        xml: &str,
        source: &VolumeHandle,
        flags: u32,
    ) -> DriverResult<VolumeHandle> {
        check_flags(
            flags,
            volumes::CREATE_PREALLOC_METADATA,
            "virStorageVolCreateXMLFrom",
        )?;
        self.create_volume(h, xml, Some(source), flags)
    }

    fn vol_lookup_by_name(&self, h: &PoolHandle, name: &str) -> DriverResult<VolumeHandle> {
        let mut pools = self.inner.lock();
        let pool = by_handle(&mut pools, h)?;
        active(pool)?;
        pool.volume(name)
            .map(|v| vol_handle(pool, v))
            .ok_or_else(|| errors::no_vol(&format!("no storage vol with matching name '{name}'")))
    }

    fn vol_lookup_by_key(&self, key: &str) -> DriverResult<VolumeHandle> {
        let pools = self.inner.lock();
        pools
            .iter()
            .filter(|p| p.active)
            .find_map(|p| {
                p.volumes
                    .iter()
                    .find(|v| v.key() == key)
                    .map(|v| vol_handle(p, v))
            })
            .ok_or_else(|| errors::no_vol(&format!("no storage vol with matching key {key}")))
    }

    fn vol_lookup_by_path(&self, path: &str) -> DriverResult<VolumeHandle> {
        let pools = self.inner.lock();
        let canonical = std::fs::canonicalize(path).ok();
        pools
            .iter()
            .filter(|p| p.active)
            .find_map(|p| {
                p.volumes
                    .iter()
                    .find(|v| {
                        v.path.as_os_str() == path
                            || canonical.as_ref().is_some_and(|c| {
                                std::fs::canonicalize(&v.path).ok().as_ref() == Some(c)
                            })
                    })
                    .map(|v| vol_handle(p, v))
            })
            .ok_or_else(|| errors::no_vol(&format!("no storage vol with matching path '{path}'")))
    }

    fn vol_delete(&self, h: &VolumeHandle, flags: u32) -> DriverResult<()> {
        check_flags(flags, 3, "virStorageVolDelete")?;
        let paths = &self.inner.paths;
        let mut pools = self.inner.lock();
        let (pool, vol) = vol_of(&mut pools, h)?;
        if self.inner.user_of(&h.pool, &vol.name, &vol.path).is_some() {
            return Err(errors::vol_in_use(&vol.name));
        }
        if flags & 1 != 0 {
            volumes::wipe(&vol)?;
        }
        volumes::delete(pool, &vol)?;
        pool.volumes.retain(|v| v.name != vol.name);
        if pool.formats.remove(&vol.name).is_some() {
            persist::write_formats(paths, pool)?;
        }
        let _ = backend::refresh(paths, pool);
        Ok(())
    }

    fn vol_wipe(&self, h: &VolumeHandle, algorithm: u32, flags: u32) -> DriverResult<()> {
        check_flags(flags, 0, "virStorageVolWipe")?;
        if algorithm != 0 {
            return Err(errors::unsupported(&format!(
                "wiping algorithm {algorithm} is not supported (zero only)"
            )));
        }
        let mut pools = self.inner.lock();
        let (pool, vol) = vol_of(&mut pools, h)?;
        if self.inner.user_of(&h.pool, &vol.name, &vol.path).is_some() {
            return Err(errors::vol_in_use(&vol.name));
        }
        volumes::wipe(&vol)?;
        let _ = backend::refresh(&self.inner.paths, pool);
        Ok(())
    }

    fn vol_resize(&self, h: &VolumeHandle, capacity: u64, flags: u32) -> DriverResult<()> {
        check_flags(flags, 7, "virStorageVolResize")?;
        let paths = &self.inner.paths;
        let mut pools = self.inner.lock();
        let (pool, vol) = vol_of(&mut pools, h)?;
        let target = volumes::resize_target(&vol, capacity, flags, pool.sizes.2)?;
        if target == vol.capacity {
            return Ok(());
        }
        volumes::resize(&vol, target, flags)?;
        backend::refresh(paths, pool)
    }

    fn vol_info(&self, h: &VolumeHandle, flags: u32) -> DriverResult<VolumeInfo> {
        check_flags(flags, INFO_GET_PHYSICAL, "virStorageVolGetInfoFlags")?;
        let mut pools = self.inner.lock();
        let (_, vol) = vol_of(&mut pools, h)?;
        Ok(VolumeInfo {
            kind: vol.kind,
            capacity: vol.capacity,
            allocation: if flags & INFO_GET_PHYSICAL != 0 {
                vol.physical
            } else {
                vol.allocation
            },
        })
    }

    fn vol_xml(&self, h: &VolumeHandle, flags: u32) -> DriverResult<String> {
        check_flags(flags, 0, "virStorageVolGetXMLDesc")?;
        let mut pools = self.inner.lock();
        let (_, vol) = vol_of(&mut pools, h)?;
        Ok(volumes::format_xml(&vol))
    }

    fn vol_path(&self, h: &VolumeHandle) -> DriverResult<String> {
        let mut pools = self.inner.lock();
        let (_, vol) = vol_of(&mut pools, h)?;
        Ok(vol.key())
    }

    fn vol_upload(
        &self,
        h: &VolumeHandle,
        offset: u64,
        length: u64,
        flags: u32,
    ) -> DriverResult<Box<dyn VolumeWriter>> {
        check_flags(flags, 1, "virStorageVolUpload")?;
        let mut pools = self.inner.lock();
        let (pool, vol) = vol_of(&mut pools, h)?;
        if self.inner.user_of(&h.pool, &vol.name, &vol.path).is_some() {
            return Err(errors::vol_in_use(&vol.name));
        }
        super::transfer::open_upload(self.inner.clone(), pool, &vol, offset, length)
    }

    fn vol_download(
        &self,
        h: &VolumeHandle,
        offset: u64,
        length: u64,
        flags: u32,
    ) -> DriverResult<Box<dyn VolumeReader>> {
        check_flags(flags, 1, "virStorageVolDownload")?;
        let mut pools = self.inner.lock();
        let (_, vol) = vol_of(&mut pools, h)?;
        super::transfer::open_download(&vol, offset, length, flags & 1 != 0)
    }
}

impl StorageConn {
    fn create_volume(
        &self,
        h: &PoolHandle,
        xml: &str,
        source: Option<&VolumeHandle>,
        flags: u32,
    ) -> DriverResult<VolumeHandle> {
        let def = VolDef::parse(xml)?;
        let paths = &self.inner.paths;
        let passphrase = match &def.encryption_secret {
            Some(uuid) => Some(self.inner.secret_value(uuid)?),
            None => None,
        };
        let passphrase = passphrase.as_deref();
        let mut pools = self.inner.lock();
        let source_vol = match source {
            Some(s) => Some(vol_of(&mut pools, s)?.1),
            None => None,
        };
        let pool = by_handle(&mut pools, h)?;
        active(pool)?;
        if pool.volume(&def.name).is_some() || pool.building.contains(&def.name) {
            return Err(errors::vol_exists(&def.name));
        }
        let path = if pool.def.kind.holds_files() {
            // Copying or allocating a file may take long: other calls go on
            // meanwhile, and the pool stays up until the volume is there.
            let shadow = Pool::new(pool.def.clone(), pool.persistent);
            pool.building.push(def.name.clone());
            drop(pools);
            let made =
                volumes::create(paths, &shadow, &def, source_vol.as_ref(), passphrase, flags);
            pools = self.inner.lock();
            let pool = by_handle(&mut pools, h)?;
            pool.building.retain(|n| n != &def.name);
            made?
        } else {
            volumes::create(paths, pool, &def, source_vol.as_ref(), passphrase, flags)?
        };
        let pool = by_handle(&mut pools, h)?;
        if pool.def.kind.holds_files() {
            let format = def.format.clone().unwrap_or_else(|| "raw".to_string());
            pool.formats.insert(def.name.clone(), format);
            persist::write_formats(paths, pool)?;
        }
        backend::refresh(paths, pool)?;
        let vol = pool
            .volumes
            .iter()
            .find(|v| v.path == path)
            .ok_or_else(|| {
                errors::internal(&format!("volume '{}' vanished after creation", def.name))
            })?;
        Ok(vol_handle(pool, vol))
    }
}
