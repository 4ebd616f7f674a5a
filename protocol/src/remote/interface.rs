//! Host interface procedures. Interfaces travel as `remote_nonnull_interface`
//! (name and MAC address).

use super::limits::INTERFACE_LIST_MAX;
use super::objects::NonnullInterface;
use crate::xdr_struct;

xdr_struct! {
    /// Reply of CONNECT_NUM_OF_INTERFACES and CONNECT_NUM_OF_DEFINED_INTERFACES.
    pub struct ConnectNumOfInterfacesRet {
        pub num: i32,
    }
}

xdr_struct! {
    /// Arguments of CONNECT_LIST_INTERFACES and CONNECT_LIST_DEFINED_INTERFACES.
    pub struct ConnectListInterfacesArgs {
        pub maxnames: i32,
    }
}

xdr_struct! {
    pub struct ConnectListInterfacesRet {
        pub names: Vec<String> [INTERFACE_LIST_MAX],
    }
}

xdr_struct! {
    pub struct InterfaceLookupByNameArgs {
        pub name: String,
    }
}

xdr_struct! {
    pub struct InterfaceLookupByMacStringArgs {
        pub mac: String,
    }
}

xdr_struct! {
    /// Reply of the lookups and of DEFINE_XML.
    pub struct InterfaceRefRet {
        pub iface: NonnullInterface,
    }
}

xdr_struct! {
    /// Arguments of GET_XML_DESC, CREATE and DESTROY.
    pub struct InterfaceFlagsArgs {
        pub iface: NonnullInterface,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct InterfaceGetXmlDescRet {
        pub xml: String,
    }
}

xdr_struct! {
    pub struct InterfaceDefineXmlArgs {
        pub xml: String,
        pub flags: u32,
    }
}

xdr_struct! {
    /// Arguments of UNDEFINE and IS_ACTIVE.
    pub struct InterfaceRefArgs {
        pub iface: NonnullInterface,
    }
}

xdr_struct! {
    pub struct InterfaceIsActiveRet {
        pub active: i32,
    }
}

xdr_struct! {
    /// Arguments of CHANGE_BEGIN, CHANGE_COMMIT and CHANGE_ROLLBACK.
    pub struct InterfaceChangeArgs {
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct ConnectListAllInterfacesArgs {
        pub need_results: i32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct ConnectListAllInterfacesRet {
        pub ifaces: Vec<NonnullInterface> [INTERFACE_LIST_MAX],
        pub ret: u32,
    }
}
