//! Object references (`remote_nonnull_*`) shared by many procedures.

use crate::xdr_struct;

xdr_struct! {
    /// A domain reference. `id` is -1 while the domain is not running; libvirtd
    /// resolves incoming references by `uuid` alone.
    pub struct NonnullDomain {
        pub name: String,
        pub uuid: [u8; 16],
        pub id: i32,
    }
}

xdr_struct! {
    /// A virtual network reference.
    pub struct NonnullNetwork {
        pub name: String,
        pub uuid: [u8; 16],
    }
}

xdr_struct! {
    /// A network filter reference.
    pub struct NonnullNwfilter {
        pub name: String,
        pub uuid: [u8; 16],
    }
}

xdr_struct! {
    /// A host interface reference.
    pub struct NonnullInterface {
        pub name: String,
        pub mac: String,
    }
}

xdr_struct! {
    /// A storage pool reference.
    pub struct NonnullStoragePool {
        pub name: String,
        pub uuid: [u8; 16],
    }
}

xdr_struct! {
    /// A storage volume reference.
    pub struct NonnullStorageVol {
        pub pool: String,
        pub name: String,
        pub key: String,
    }
}

xdr_struct! {
    /// A node device reference.
    pub struct NonnullNodeDevice {
        pub name: String,
    }
}

xdr_struct! {
    /// A secret reference.
    pub struct NonnullSecret {
        pub uuid: [u8; 16],
        pub usage_type: i32,
        pub usage_id: String,
    }
}

xdr_struct! {
    /// A domain snapshot reference.
    pub struct NonnullDomainSnapshot {
        pub name: String,
        pub dom: NonnullDomain,
    }
}

xdr_struct! {
    /// `remote_nonnull_domain_checkpoint`.
    pub struct NonnullDomainCheckpoint {
        pub name: String,
        pub dom: NonnullDomain,
    }
}
