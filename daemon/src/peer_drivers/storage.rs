//! `virtstoraged` seen from `virtqemud`/`virtlxcd`: a `<disk type='volume'>`
//! resolves through `virStoragePoolLookupByName`, `virStorageVolLookupByName`
//! and the volume's XML (its type, target path and format).

use std::path::PathBuf;
use std::sync::Arc;

use drivers::api::{
    codes, DriverError, DriverResult, StorageConnection, StorageDriver, VolumeTarget,
};
use protocol::programs::{remote_proc as p, REMOTE_PROGRAM};
use protocol::remote::{
    StoragePoolLookupByNameArgs, StoragePoolRefRet, StorageVolFlagsArgs,
    StorageVolLookupByNameArgs, StorageVolLookupByNameRet, StorageXmlRet,
};

use super::{close, PeerSocket};

/// `VIR_FROM_STORAGE`.
const FROM_STORAGE: i32 = 18;

/// The storage driver of the `virtstoraged` listening on `socket`.
pub struct PeerStorage {
    socket: PeerSocket,
}

impl PeerStorage {
    pub fn new(socket: PeerSocket) -> Self {
        PeerStorage { socket }
    }

    fn volume_xml(&self, pool: &str, volume: &str) -> DriverResult<String> {
        let mut client = self.socket.open()?;
        let result = (|| {
            let pool: StoragePoolRefRet = client.call(
                REMOTE_PROGRAM,
                p::STORAGE_POOL_LOOKUP_BY_NAME,
                &StoragePoolLookupByNameArgs {
                    name: pool.to_string(),
                },
            )?;
            let vol: StorageVolLookupByNameRet = client.call(
                REMOTE_PROGRAM,
                p::STORAGE_VOL_LOOKUP_BY_NAME,
                &StorageVolLookupByNameArgs {
                    pool: pool.pool,
                    name: volume.to_string(),
                },
            )?;
            let xml: StorageXmlRet = client.call(
                REMOTE_PROGRAM,
                p::STORAGE_VOL_GET_XML_DESC,
                &StorageVolFlagsArgs {
                    vol: vol.vol,
                    flags: 0,
                },
            )?;
            Ok(xml.xml)
        })()
        .map_err(|e| self.socket.error(e));
        close(client);
        result
    }
}

/// The volume's type, `<target><path>` and `<target><format type>`.
fn target_of(xml: &str) -> Option<VolumeTarget> {
    let doc = roxmltree::Document::parse(xml).ok()?;
    let root = doc.root_element();
    let kind = root.attribute("type").unwrap_or("file");
    let target = root.children().find(|c| c.has_tag_name("target"))?;
    let path = target
        .children()
        .find(|c| c.has_tag_name("path"))?
        .text()?
        .trim()
        .to_string();
    let format = target
        .children()
        .find(|c| c.has_tag_name("format"))
        .and_then(|f| f.attribute("type"))
        .unwrap_or("raw")
        .to_string();
    Some(VolumeTarget {
        path: PathBuf::from(path),
        format,
        block: kind == "block",
        directory: kind == "dir",
    })
}

impl StorageDriver for PeerStorage {
    fn open(&self, _read_only: bool) -> DriverResult<Arc<dyn StorageConnection>> {
        Err(DriverError::no_support("virConnectListAllStoragePools"))
    }

    fn resolve_volume(&self, pool: &str, volume: &str) -> DriverResult<VolumeTarget> {
        let xml = self.volume_xml(pool, volume)?;
        target_of(&xml).ok_or_else(|| {
            DriverError::new(
                codes::INTERNAL_ERROR,
                FROM_STORAGE,
                format!("volume '{volume}' of pool '{pool}' has no target path"),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_target_of_a_volume() {
        let xml = "<volume type='block'><name>v</name><target><path>/dev/sdb1</path>\
                   <format type='qcow2'/></target></volume>";
        let t = target_of(xml).expect("target");
        assert_eq!(t.path, PathBuf::from("/dev/sdb1"));
        assert_eq!(t.format, "qcow2");
        assert!(t.block && !t.directory);
        let plain = target_of("<volume><target><path>/p</path></target></volume>").expect("t");
        assert_eq!(plain.format, "raw");
        assert!(!plain.block);
    }
}
