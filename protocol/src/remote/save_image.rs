//! The domain XML inside save images: `virDomainSaveImage*XML*` (by file name) and
//! `virDomainManagedSave*XML*` (the domain's managed save image).

use super::objects::NonnullDomain;
use crate::xdr_struct;

xdr_struct! {
    pub struct DomainSaveImageGetXmlDescArgs {
        pub file: String,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainSaveImageGetXmlDescRet {
        pub xml: String,
    }
}

xdr_struct! {
    pub struct DomainSaveImageDefineXmlArgs {
        pub file: String,
        pub dxml: String,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainManagedSaveGetXmlDescArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainManagedSaveGetXmlDescRet {
        pub xml: String,
    }
}

xdr_struct! {
    /// `dxml` may be null: only the running state then changes.
    pub struct DomainManagedSaveDefineXmlArgs {
        pub dom: NonnullDomain,
        pub dxml: Option<String>,
        pub flags: u32,
    }
}
