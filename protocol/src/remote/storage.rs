//! Storage pool and volume procedures used by the pool-* and vol-* commands.

use super::limits::STORAGE_POOL_LIST_MAX;
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
