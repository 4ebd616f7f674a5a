//! Hot plug: attaching, detaching and updating devices described in XML.

use super::objects::NonnullDomain;
use crate::xdr_struct;

xdr_struct! {
    pub struct DomainAttachDeviceArgs {
        pub dom: NonnullDomain,
        pub xml: String,
    }
}

xdr_struct! {
    pub struct DomainDetachDeviceArgs {
        pub dom: NonnullDomain,
        pub xml: String,
    }
}

xdr_struct! {
    pub struct DomainUpdateDeviceFlagsArgs {
        pub dom: NonnullDomain,
        pub xml: String,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainDetachDeviceAliasArgs {
        pub dom: NonnullDomain,
        pub alias: String,
        pub flags: u32,
    }
}
