//! The domain XML kept in a save image: shown by `save-image-dumpxml` and
//! `managedsave-dumpxml`, replaced by `save-image-define` and `managedsave-define`
//! (which may also change whether the guest runs once restored). The XML in the image
//! is what a restore starts, whatever the persistent definition says meanwhile.

use std::path::{Path, PathBuf};

use super::error::QemuError;
use super::lifecycle::check_flags;
use super::managed_save::state_after_restore;
use super::restore_hook::check_same_guest;
use super::save_image::{read_header, rewrite_header};
use super::Inner;
use crate::api::{DomainRef, DriverResult};
use crate::domain_xml::FormatOptions;

/// `VIR_DOMAIN_SAVE_IMAGE_XML_SECURE`.
const XML_SECURE: u32 = 1;
/// `VIR_DOMAIN_SAVE_RUNNING | VIR_DOMAIN_SAVE_PAUSED`.
const STATE_FLAGS: u32 = 2 | 4;

impl Inner {
    /// `virDomainSaveImageGetXMLDesc`.
    pub(super) fn save_image_xml(&self, file: &str, flags: u32) -> DriverResult<String> {
        check_flags(flags, XML_SECURE, "qemuDomainSaveImageGetXMLDesc")?;
        self.image_xml(Path::new(file), flags)
    }

    /// `virDomainSaveImageDefineXML`.
    pub(super) fn save_image_define(&self, file: &str, dxml: &str, flags: u32) -> DriverResult<()> {
        check_flags(flags, STATE_FLAGS, "qemuDomainSaveImageDefineXML")?;
        self.define_image_xml(Path::new(file), Some(dxml), flags)
    }

    /// `virDomainManagedSaveGetXMLDesc`.
    pub(super) fn managed_save_xml(&self, dom: &DomainRef, flags: u32) -> DriverResult<String> {
        check_flags(flags, XML_SECURE, "qemuDomainManagedSaveGetXMLDesc")?;
        let image = self.managed_save_image(dom)?;
        self.image_xml(&image, flags)
    }

    /// `virDomainManagedSaveDefineXML`: without XML only the running state changes.
    pub(super) fn managed_save_define(
        &self,
        dom: &DomainRef,
        dxml: Option<&str>,
        flags: u32,
    ) -> DriverResult<()> {
        check_flags(flags, STATE_FLAGS, "qemuDomainSaveImageDefineXML")?;
        let image = self.managed_save_image(dom)?;
        self.define_image_xml(&image, dxml, flags)
    }

    /// The managed save image of `dom`, which must exist.
    fn managed_save_image(&self, dom: &DomainRef) -> DriverResult<PathBuf> {
        let name = self.lock().get(dom)?.def.name.clone();
        let image = self.paths.managed_saves().image(&name);
        if !image.is_file() {
            return Err(
                QemuError::InvalidState("domain does not have managed save image".into()).into(),
            );
        }
        Ok(image)
    }

    /// The image's definition, formatted as a definition of ours.
    fn image_xml(&self, image: &Path, flags: u32) -> DriverResult<String> {
        let header = read_header(image)?;
        let def = self.parse_def(&header.xml)?;
        Ok(def.to_xml(FormatOptions {
            id: None,
            secure: flags & XML_SECURE != 0,
        }))
    }

    /// Stores `dxml` (checked to describe the same guest, since the memory in the
    /// image only fits that) and the running state the flags ask for into `image`.
    fn define_image_xml(&self, image: &Path, dxml: Option<&str>, flags: u32) -> DriverResult<()> {
        let state = state_after_restore(flags)?;
        let header = read_header(image)?;
        let unchanged_xml = dxml.is_none_or(|x| x == header.xml);
        if unchanged_xml && state.is_none_or(|s| s == header.was_running) {
            return Ok(());
        }
        let xml = match dxml {
            Some(dxml) if !unchanged_xml => {
                let saved = self.parse_def(&header.xml)?;
                let new = self.parse_def(dxml)?;
                check_same_guest(&saved, &new, "the new definition")?;
                new.to_xml(FormatOptions {
                    id: None,
                    secure: true,
                })
            }
            _ => header.xml,
        };
        rewrite_header(image, &xml, state)?;
        Ok(())
    }
}
