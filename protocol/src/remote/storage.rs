//! Storage pool and volume procedures used by the pool-* and vol-* commands.

use super::limits::{STORAGE_POOL_LIST_MAX, STORAGE_VOL_LIST_MAX};
use super::objects::{NonnullStoragePool, NonnullStorageVol};
use crate::xdr::{Decoder, Xdr, XdrError};
use crate::xdr_struct;

xdr_struct! {
    pub struct StoragePoolLookupByNameArgs {
        pub name: String,
    }
}

xdr_struct! {
    pub struct StoragePoolLookupByVolumeArgs {
        pub vol: NonnullStorageVol,
    }
}

xdr_struct! {
    /// Reply of the storage pool lookups.
    pub struct StoragePoolRefRet {
        pub pool: NonnullStoragePool,
    }
}

xdr_struct! {
    /// Arguments of calls that take only a pool (IS_ACTIVE, GET_INFO, ...).
    pub struct StoragePoolRefArgs {
        pub pool: NonnullStoragePool,
    }
}

xdr_struct! {
    pub struct StoragePoolIsActiveRet {
        pub active: i32,
    }
}

xdr_struct! {
    pub struct StoragePoolGetAutostartRet {
        pub autostart: i32,
    }
}

/// STORAGE_POOL_GET_INFO reply; `state` is an `unsigned char` (4 bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoragePoolGetInfoRet {
    pub state: u8,
    pub capacity: u64,
    pub allocation: u64,
    pub available: u64,
}

impl Xdr for StoragePoolGetInfoRet {
    fn encode(&self, out: &mut Vec<u8>) {
        u32::from(self.state).encode(out);
        self.capacity.encode(out);
        self.allocation.encode(out);
        self.available.encode(out);
    }

    fn decode(d: &mut Decoder<'_>) -> Result<Self, XdrError> {
        Ok(StoragePoolGetInfoRet {
            state: d.uchar()?,
            capacity: d.u64()?,
            allocation: d.u64()?,
            available: d.u64()?,
        })
    }
}

xdr_struct! {
    pub struct ConnectListAllStoragePoolsArgs {
        pub need_results: i32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct ConnectListAllStoragePoolsRet {
        pub pools: Vec<NonnullStoragePool> [STORAGE_POOL_LIST_MAX],
        pub ret: u32,
    }
}

xdr_struct! {
    pub struct StorageVolLookupByNameArgs {
        pub pool: NonnullStoragePool,
        pub name: String,
    }
}

xdr_struct! {
    pub struct StorageVolLookupByNameRet {
        pub vol: NonnullStorageVol,
    }
}

xdr_struct! {
    /// STORAGE_VOL_UPLOAD and STORAGE_VOL_DOWNLOAD; data follows as a stream.
    pub struct StorageVolTransferArgs {
        pub vol: NonnullStorageVol,
        pub offset: u64,
        pub length: u64,
        pub flags: u32,
    }
}

xdr_struct! {
    /// Reply of the NUM_OF calls (pools, defined pools, volumes of a pool).
    pub struct StorageNumRet {
        pub num: i32,
    }
}

xdr_struct! {
    pub struct ConnectListStoragePoolsArgs {
        pub maxnames: i32,
    }
}

xdr_struct! {
    /// Reply of LIST_STORAGE_POOLS and LIST_DEFINED_STORAGE_POOLS.
    pub struct ConnectListStoragePoolsRet {
        pub names: Vec<String> [STORAGE_POOL_LIST_MAX],
    }
}

xdr_struct! {
    pub struct ConnectFindStoragePoolSourcesArgs {
        pub type_: String,
        pub src_spec: Option<String>,
        pub flags: u32,
    }
}

xdr_struct! {
    /// Reply of the calls answering one XML document.
    pub struct StorageXmlRet {
        pub xml: String,
    }
}

xdr_struct! {
    pub struct StoragePoolLookupByUuidArgs {
        pub uuid: [u8; 16],
    }
}

xdr_struct! {
    pub struct StoragePoolLookupByTargetPathArgs {
        pub path: String,
    }
}

xdr_struct! {
    /// STORAGE_POOL_CREATE_XML and STORAGE_POOL_DEFINE_XML.
    pub struct StoragePoolXmlArgs {
        pub xml: String,
        pub flags: u32,
    }
}

xdr_struct! {
    /// Calls that take a pool and flags: BUILD, CREATE, DELETE, REFRESH, GET_XML_DESC.
    pub struct StoragePoolFlagsArgs {
        pub pool: NonnullStoragePool,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct StoragePoolSetAutostartArgs {
        pub pool: NonnullStoragePool,
        pub autostart: i32,
    }
}

xdr_struct! {
    pub struct StoragePoolIsPersistentRet {
        pub persistent: i32,
    }
}

xdr_struct! {
    pub struct StoragePoolListVolumesArgs {
        pub pool: NonnullStoragePool,
        pub maxnames: i32,
    }
}

xdr_struct! {
    pub struct StoragePoolListVolumesRet {
        pub names: Vec<String> [STORAGE_VOL_LIST_MAX],
    }
}

xdr_struct! {
    pub struct StoragePoolListAllVolumesArgs {
        pub pool: NonnullStoragePool,
        pub need_results: i32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct StoragePoolListAllVolumesRet {
        pub vols: Vec<NonnullStorageVol> [STORAGE_VOL_LIST_MAX],
        pub ret: u32,
    }
}

xdr_struct! {
    /// STORAGE_VOL_LOOKUP_BY_KEY and STORAGE_VOL_LOOKUP_BY_PATH (a key or a path).
    pub struct StorageVolLookupByStringArgs {
        pub key: String,
    }
}

xdr_struct! {
    pub struct StorageVolCreateXmlArgs {
        pub pool: NonnullStoragePool,
        pub xml: String,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct StorageVolCreateXmlFromArgs {
        pub pool: NonnullStoragePool,
        pub xml: String,
        pub clonevol: NonnullStorageVol,
        pub flags: u32,
    }
}

xdr_struct! {
    /// Calls that take a volume and flags: DELETE, WIPE, GET_XML_DESC, GET_INFO_FLAGS.
    pub struct StorageVolFlagsArgs {
        pub vol: NonnullStorageVol,
        pub flags: u32,
    }
}

xdr_struct! {
    /// STORAGE_VOL_GET_INFO and STORAGE_VOL_GET_PATH.
    pub struct StorageVolRefArgs {
        pub vol: NonnullStorageVol,
    }
}

xdr_struct! {
    pub struct StorageVolWipePatternArgs {
        pub vol: NonnullStorageVol,
        pub algorithm: u32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct StorageVolResizeArgs {
        pub vol: NonnullStorageVol,
        pub capacity: u64,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct StorageVolGetPathRet {
        pub name: String,
    }
}

/// STORAGE_VOL_GET_INFO(_FLAGS) reply; `type` is a C `char` (4 bytes on the wire).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageVolGetInfoRet {
    pub type_: u8,
    pub capacity: u64,
    pub allocation: u64,
}

impl Xdr for StorageVolGetInfoRet {
    fn encode(&self, out: &mut Vec<u8>) {
        crate::xdr::put_char(out, self.type_);
        self.capacity.encode(out);
        self.allocation.encode(out);
    }

    fn decode(d: &mut Decoder<'_>) -> Result<Self, XdrError> {
        Ok(StorageVolGetInfoRet {
            type_: d.char()?,
            capacity: d.u64()?,
            allocation: d.u64()?,
        })
    }
}

xdr_struct! {
    pub struct ConnectStoragePoolEventRegisterAnyArgs {
        pub event_id: i32,
        pub pool: Option<NonnullStoragePool>,
    }
}

xdr_struct! {
    pub struct ConnectStoragePoolEventRegisterAnyRet {
        pub callback_id: i32,
    }
}

xdr_struct! {
    pub struct ConnectStoragePoolEventDeregisterAnyArgs {
        pub callback_id: i32,
    }
}

xdr_struct! {
    pub struct StoragePoolEventLifecycleMsg {
        pub callback_id: i32,
        pub pool: NonnullStoragePool,
        pub event: i32,
        pub detail: i32,
    }
}

xdr_struct! {
    pub struct StoragePoolEventRefreshMsg {
        pub callback_id: i32,
        pub pool: NonnullStoragePool,
    }
}

xdr_struct! {
    pub struct ConnectGetStoragePoolCapabilitiesArgs {
        pub flags: u32,
    }
}
