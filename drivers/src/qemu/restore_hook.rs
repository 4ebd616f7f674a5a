//! The qemu `restore begin -` hook: a filter over the domain XML of a saved guest, run
//! before the guest is restored from an image, both by `virDomainRestore` and by a start
//! from a managed save image. The script's output replaces the XML (empty output keeps
//! it); output that is not a valid definition of the same guest aborts the restore.

use std::path::Path;
use std::sync::Arc;

use hooks::{consumes_output, HookDriver, Hooks};

use super::error::QemuError;
use super::fsutil::remove_if_exists;
use super::lifecycle::StartSource;
use super::managed_save::PAUSED_BY_IMAGE;
use super::save_image::{is_incomplete, read_image};
use super::Inner;
use crate::api::{create_flags, DomainHandle, DomainRef, DriverResult};
use crate::domain_xml::{DomainDef, FormatOptions};

const RESTORE: &str = "restore";

impl Inner {
    /// Runs the restore hook over `xml` (the definition `saved` was read from) and
    /// returns the definition to restore: `None` when no script changed it. A failing
    /// script and output that does not describe the same guest both abort.
    pub(super) fn filter_restore_def(
        &self,
        saved: &DomainDef,
        xml: &str,
    ) -> DriverResult<Option<DomainDef>> {
        let Some(new_xml) = run_restore_hook(self.hooks.as_ref(), &saved.name, xml)? else {
            return Ok(None);
        };
        let filtered = self.parse_def(&new_xml).map_err(|err| {
            QemuError::Failed(format!(
                "the restore hook printed an invalid domain definition: {}",
                err.message
            ))
        })?;
        check_same_guest(saved, &filtered, "the restore hook")?;
        Ok(Some(filtered))
    }

    /// Starts `dom` from its managed save `image`: the definition and the running state
    /// are the image's (as saved, or as `managedsave-define` left them), filtered by
    /// the restore hook. That definition is the live one for this run only; the
    /// persistent one stays and is in effect again once the guest stops (or if the
    /// start fails). An image of a bare migration stream runs the persistent one; an
    /// image a save never finished is removed and the guest boots, as in libvirt.
    pub(super) fn start_from_managed_save(
        self: &Arc<Self>,
        dom: &DomainRef,
        flags: u32,
        image: &Path,
    ) -> DriverResult<DomainHandle> {
        if is_incomplete(image) {
            tracing::warn!("Ignoring incomplete managed state {}", image.display());
            remove_if_exists(image)?;
            return self.start(&dom.uuid, flags, StartSource::Boot);
        }
        let persistent = self.lock().get(dom)?.def.clone();
        let (saved, xml, flags, offset) = match read_image(image)? {
            Some(header) => {
                let saved = self.parse_def(&header.xml)?;
                check_owner(&persistent, &saved)?;
                let paused = if header.was_running || flags & create_flags::START_PAUSED != 0 {
                    0
                } else {
                    create_flags::START_PAUSED | PAUSED_BY_IMAGE
                };
                (saved, header.xml, flags | paused, header.stream_offset)
            }
            None => {
                let xml = persistent.to_xml(FormatOptions {
                    id: None,
                    secure: true,
                });
                (persistent, xml, flags, 0)
            }
        };
        let live = self.filter_restore_def(&saved, &xml)?.unwrap_or(saved);
        let swapped = {
            let mut st = self.lock();
            let obj = st.get_mut(dom)?;
            if obj.is_active() {
                return Err(QemuError::InvalidState("domain is already running".into()).into());
            }
            if obj.def == live {
                false
            } else {
                let persistent = std::mem::replace(&mut obj.def, live);
                obj.new_def = Some(persistent);
                true
            }
        };
        let result = self.start(
            &dom.uuid,
            flags,
            StartSource::Restore(image.to_path_buf(), offset),
        );
        if result.is_err() && swapped {
            let mut st = self.lock();
            if let Ok(obj) = st.get_mut(dom) {
                if !obj.is_active() {
                    if let Some(persistent) = obj.new_def.take() {
                        obj.def = persistent;
                    }
                }
            }
        }
        result
    }
}

/// The hook's replacement XML, if a script printed one. Every failure of the restore
/// hook aborts the restore (it is one of the operations a hook can refuse).
fn run_restore_hook(
    hooks: Option<&Hooks>,
    name: &str,
    xml: &str,
) -> Result<Option<String>, QemuError> {
    let Some(hooks) = hooks else {
        return Ok(None);
    };
    if !hooks.present(HookDriver::Qemu) {
        return Ok(None);
    }
    let filter = consumes_output(HookDriver::Qemu, RESTORE);
    let output = hooks.run(
        HookDriver::Qemu,
        name,
        RESTORE,
        "begin",
        "-",
        Some(xml),
        filter,
    )?;
    Ok(output.filter(|text| !text.trim().is_empty()))
}

/// A managed save image belongs to the domain it is stored for, as libvirt checks.
fn check_owner(domain: &DomainDef, saved: &DomainDef) -> Result<(), QemuError> {
    if domain.name == saved.name && domain.uuid == saved.uuid {
        return Ok(());
    }
    Err(QemuError::Failed(format!(
        "cannot restore domain '{}' uuid {} from a file which belongs to domain '{}' uuid {}",
        domain.name,
        crate::api::format_uuid(&domain.uuid),
        saved.name,
        crate::api::format_uuid(&saved.uuid)
    )))
}

/// The saved memory image only fits a guest with the same identity and the same
/// virtual hardware size; what a hook may change is the rest (descriptions, disk
/// paths on the host, metadata).
/// `changer` names what supplied the new definition in the error.
pub(super) fn check_same_guest(
    saved: &DomainDef,
    filtered: &DomainDef,
    changer: &str,
) -> Result<(), QemuError> {
    let mismatch = |what: &str, source: String, target: String| {
        Err(QemuError::Unsupported(format!(
            "{changer} changed the guest's {what}: target '{target}' does not match source '{source}'"
        )))
    };
    if filtered.name != saved.name {
        return mismatch("name", saved.name.clone(), filtered.name.clone());
    }
    if filtered.uuid != saved.uuid {
        return mismatch(
            "uuid",
            crate::api::format_uuid(&saved.uuid),
            crate::api::format_uuid(&filtered.uuid),
        );
    }
    if filtered.virt_type != saved.virt_type {
        return mismatch(
            "domain type",
            saved.virt_type.clone(),
            filtered.virt_type.clone(),
        );
    }
    if filtered.max_memory_kib != saved.max_memory_kib {
        return mismatch(
            "maximum memory",
            saved.max_memory_kib.to_string(),
            filtered.max_memory_kib.to_string(),
        );
    }
    if filtered.vcpu.max != saved.vcpu.max {
        return mismatch(
            "vCPU count",
            saved.vcpu.max.to_string(),
            filtered.vcpu.max.to_string(),
        );
    }
    if filtered.os.arch != saved.os.arch {
        return mismatch(
            "architecture",
            saved.os.arch.clone(),
            filtered.os.arch.clone(),
        );
    }
    let kinds = |def: &DomainDef| {
        def.devices
            .iter()
            .map(|d| d.name.clone())
            .collect::<Vec<_>>()
    };
    if kinds(filtered) != kinds(saved) {
        return mismatch(
            "device list",
            kinds(saved).join(","),
            kinds(filtered).join(","),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain_xml::{parse_domain_xml, ParseOptions};

    fn def(name: &str, memory_kib: u64, description: &str) -> DomainDef {
        let xml = format!(
            "<domain type='qemu'><name>{name}</name>\
             <uuid>6a1f7c2e-0d3b-4e5f-9a8b-7c6d5e4f3a21</uuid>\
             <description>{description}</description>\
             <memory unit='KiB'>{memory_kib}</memory><vcpu>1</vcpu>\
             <os><type arch='x86_64'>hvm</type></os></domain>"
        );
        parse_domain_xml(&xml, &ParseOptions::default()).expect("test definition parses")
    }

    fn check_same_guest_hook(saved: &DomainDef, filtered: &DomainDef) -> Result<(), QemuError> {
        check_same_guest(saved, filtered, "the restore hook")
    }

    #[test]
    fn a_changed_description_is_the_same_guest() {
        let saved = def("g", 131072, "before");
        assert!(check_same_guest_hook(&saved, &def("g", 131072, "after")).is_ok());
    }

    #[test]
    fn a_renamed_or_resized_guest_is_refused() {
        let saved = def("g", 131072, "d");
        let renamed = check_same_guest_hook(&saved, &def("other", 131072, "d"))
            .expect_err("a renamed guest must be refused")
            .to_string();
        assert!(renamed.contains("name"), "{renamed}");
        assert!(renamed.contains("'other'"), "{renamed}");
        let resized = check_same_guest_hook(&saved, &def("g", 65536, "d"))
            .expect_err("a resized guest must be refused")
            .to_string();
        assert!(resized.contains("maximum memory"), "{resized}");
    }

    #[test]
    fn without_hooks_nothing_is_filtered() {
        assert_eq!(
            run_restore_hook(None, "g", "<domain/>").expect("no hook"),
            None
        );
    }
}
